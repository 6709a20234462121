/* demographer export-sql: the chosen linear models of a model directory as
 * an SQL script that scores every device inside the engine (export_sql.h). */
#include "demographer/export_sql.h"
#include "demographer/train.h"

#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

enum { O_MODELS = 256, O_OUT, O_SCENARIO, O_TARGET, O_SUPER, O_QUIET, O_HELP, O_DIALECT };

static int fail(const dg_err *err)
{
    fprintf(stderr, "demographer export-sql: %s\n", err->msg);
    return 1;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_DATA_LONGOPTS,
        CLI_CLEAN_LONGOPTS,
        {"models", required_argument, NULL, O_MODELS},
        {"out", required_argument, NULL, O_OUT},
        {"scenario", required_argument, NULL, O_SCENARIO},
        {"target", required_argument, NULL, O_TARGET},
        {"super", required_argument, NULL, O_SUPER},
        {"dialect", required_argument, NULL, O_DIALECT},
        {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    dg_load_opts lo = {.use_snapshot = 1};
    const char *models = NULL, *out = NULL, *rules_path = NULL, *super_path = NULL;
    int quiet = 0, no_clean = 0, scenario = 0, target = -1, ch, taken, clickhouse = 0;
    uint64_t v;
    optind = 1;
    while ((ch = getopt_long(argc, argv, CLI_DATA_SHORTOPTS CLI_CLEAN_SHORTOPTS, longopts,
                             NULL)) != -1) {
        if ((taken = cli_data_option("export-sql", ch, optarg, &lo)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        switch (ch) {
        case 'r': rules_path = optarg; break;
        case 'C': no_clean = 1; break;
        case O_MODELS: models = optarg; break;
        case O_OUT: out = optarg; break;
        case O_SCENARIO:
            if (cli_parse_u64("export-sql", "--scenario", optarg, 1, 2, &v))
                return 2;
            scenario = (int)v;
            break;
        case O_TARGET:
            target = dg_target_by_name(optarg);
            if (target < 0)
                return cli_usage_error("export-sql",
                                       "--target: expected gender, age, group6 or group12, "
                                       "found '%s'",
                                       optarg);
            break;
        case O_SUPER: super_path = optarg; break;
        case O_DIALECT:
            if (strcmp(optarg, "clickhouse") == 0)
                clickhouse = 1;
            else if (strcmp(optarg, "mysql") != 0)
                return cli_usage_error("export-sql", "--dialect expects mysql or clickhouse, "
                                                     "found '%s'",
                                       optarg);
            break;
        case O_QUIET: quiet = 1; break;
        case O_HELP: fputs(cli_export_sql.usage, stdout); return 0;
        default: return cli_usage_error("export-sql", "%s", "unknown option");
        }
    }
    if (optind + 1 < argc)
        return cli_usage_error("export-sql", "%s", "expects at most one DATA_DIR");
    if (!models)
        return cli_usage_error("export-sql", "%s", "--models DIR is required");
    if (!out)
        return cli_usage_error("export-sql", "%s", "--out FILE is required");
    const char *data = optind < argc ? argv[optind] : NULL;
    const char *inputs[] = {models, rules_path, super_path};
    if (cli_output_apart("export-sql", "--out", out, data, data ? &lo : NULL, inputs, 3))
        return 1;
    dg_err err;
    dg_model_dir d;
    if (dg_model_dir_open(&d, models, &err) != DG_OK)
        return fail(&err);
    double t0 = dg_now();
    dg_features f;
    dg_dataset ds;
    dg_supercats sc;
    int rc = 0;
    if (data) {
        rc = cli_model_features("export-sql", data, &lo, quiet, rules_path, no_clean, super_path,
                                1, &d, &sc, &ds, &f);
    } else {
        memset(&f, 0, sizeof f);
        dg_dataset_init(&ds);
        memset(&sc, 0, sizeof sc);
    }
    dg_textbuf b = {0};
    dg_sql_export rep;
    if (rc == 0 && ((clickhouse ? dg_export_sql_clickhouse : dg_export_sql)(
                        &d, scenario, target, data ? &f : NULL, &b, &rep, &err) != DG_OK ||
                    dg_textbuf_save(&b, out, &err) != DG_OK))
        rc = fail(&err);
    if (rc == 0 && !quiet) {
        printf("%d model%s written as SQL to %s", rep.nmodels, rep.nmodels == 1 ? "" : "s", out);
        if (data)
            printf(" with %llu feature rows of %u devices", (unsigned long long)rep.nfeature_rows,
                   f.ndevices);
        printf(" in %.1f s\n", dg_now() - t0);
        if (rep.nrefused)
            printf("not exported (no SQL form): %s\n", rep.refused);
    }
    dg_textbuf_free(&b);
    dg_features_free(&f);
    dg_dataset_free(&ds);
    dg_supercats_free(&sc);
    dg_model_dir_close(&d);
    return rc;
}

const cli_command cli_export_sql = {
    "export-sql", run, "write the chosen linear models as SQL that scores devices in the engine",
    "Usage: demographer export-sql [DATA_DIR] --models DIR --out FILE\n"
    "                              [--scenario 1|2] [--target T] [--super FILE]\n"
    "                              [--rules FILE | --no-clean] [--dialect D]\n"
    "                              [data options] [--quiet]\n"
    "\n"
    "Writes an SQL script that scores devices inside a MySQL-protocol engine (MariaDB,\n"
    "Spider; plain SQL: see the README's engines section): the tables\n"
    "dg_model_columns (every design column: the feature row it reads and the design's\n"
    "scaling), dg_model_weights and dg_model_sums, per model three views (design\n"
    "values, scores, softmax probabilities) and one INSERT ... SELECT into\n"
    "dg_predictions (device_id, scenario, target, class, probability; class 0 of\n"
    "gender is P(female)). The devices' feature rows are read from\n"
    "dg_device_features (device_id, feature, value), created when absent; with\n"
    "DATA_DIR the script also fills it with that data set's features, built as predict\n"
    "builds them. Scenario 1 models score the devices with events, scenario 2 the\n"
    "others. Softmax, LIBLINEAR's logistic regressions (one-vs-rest for several\n"
    "classes, each class's sigmoid normalised) and group12-sum over either have an\n"
    "SQL form; the others (xgboost, LIBSVM, liblinear-svr, phone-softmax,\n"
    "persona-softmax, blend, the priors, an expected age) are listed as not exported,\n"
    "and refused when none is left or when --scenario and --target name one. The script\n"
    "replaces the dg_ tables and views it writes.\n"
    "\n"
    "  --models DIR       the model directory (a train --out directory or its models/)\n"
    "  --out FILE         the script (written atomically; never over an input)\n"
    "  --scenario N       only the models of scenario 1 or 2\n"
    "  --target T         only gender, age, group6 or group12\n"
    "  --super FILE       super-category rules (default: supercategories.txt of the\n"
    "                     assets; those the models were trained with)\n"
    "  --dialect D        mysql (default) or clickhouse: the same tables and scores for\n"
    "                     ClickHouse 18.16 and later (MergeTree tables, one JOIN per\n"
    "                     SELECT, doubles as their bytes); run it with\n"
    "                     clickhouse-client --multiquery\n"
    CLI_CLEAN_HELP
    CLI_DATA_HELP
    "  --quiet            no progress, no summary\n",
};
