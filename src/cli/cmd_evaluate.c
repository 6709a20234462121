/* demographer evaluate: reloads a model directory and recomputes its test
 * metrics on the test devices it lists. */
#include "demographer/train.h"

#include "cli.h"
#include "cli_progress.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { O_MODELS = 256, O_SUPER, O_QUIET };

static void print_eval(const char *what, const dg_eval *e)
{
    printf("  %-6s", what);
    for (int m = 0; m < DG_METRIC_COUNT; m++)
        if (dg_eval_has(e, (dg_metric)m))
            printf(" %s %.6f", dg_metrics[m].label, dg_eval_get(e, (dg_metric)m));
    printf("\n");
}

static const cli_option options[] = {
    CLI_VALUE(O_MODELS, 0, "models", "DIR", "the model directory"),
    CLI_VALUE(O_SUPER, 0, "super", "FILE",
              "super-category rules (default: supercategories.txt of the assets)"),
    CLI_INCLUDE(cli_clean_options),
    CLI_INCLUDE(cli_data_options),
    CLI_FLAG(O_QUIET, 0, "quiet", "only the summary line"),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    dg_load_opts lo = {.use_snapshot = 1};
    const char *models = NULL, *super_path = NULL;
    cli_clean_opts co = {0};
    int quiet = 0, ch, taken;
    cli_parser p;
    cli_parse_start(&p, &cli_evaluate, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        if ((taken = cli_data_option("evaluate", ch, optarg, &lo)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        if (cli_clean_option(ch, optarg, &co))
            continue;
        switch (ch) {
        case O_MODELS: models = optarg; break;
        case O_SUPER: super_path = optarg; break;
        case O_QUIET: quiet = 1; break;
        default: return cli_option_unhandled("evaluate", ch);
        }
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
    if (optind + 1 != argc)
        return cli_usage_error("evaluate", "%s", "expects exactly one DATA_DIR");
    if (!models)
        return cli_usage_error("evaluate", "%s", "--models DIR is required");
    dg_err err;
    dg_model_dir d;
    if (dg_model_dir_open(&d, models, &err) != DG_OK) {
        fprintf(stderr, "demographer evaluate: %s\n", err.msg);
        return 1;
    }
    dg_supercats sc;
    dg_dataset ds;
    dg_features f;
    int rc = cli_model_features("evaluate", argv[optind], &lo, quiet, co.rules_path, co.no_clean,
                                super_path, 0, &d, &sc, &ds, &f);
    dg_labelled l;
    memset(&l, 0, sizeof l);
    if (rc == 0 && dg_labelled_build(&ds, &f, 0.2, 1, &l, &err) != DG_OK) {
        fprintf(stderr, "demographer evaluate: %s\n", err.msg);
        rc = 1;
    }
    int ndiff = 0, nmodels = 0, checksum_differs = 0;
    for (int s = 1; s <= 2 && rc == 0; s++)
        for (int t = 0; t < DG_TARGET_COUNT && rc == 0; t++) {
            const dg_loaded_model *m = &d.m[s][t];
            if (!m->present)
                continue;
            dg_eval e;
            if (dg_model_dir_evaluate(&d, s, (dg_target)t, &f, &l, &e, &err) != DG_OK) {
                fprintf(stderr, "demographer evaluate: %s\n", err.msg);
                rc = 1;
                break;
            }
            nmodels++;
            int ok = dg_eval_equal(&e, &m->test);
            ndiff += !ok;
            checksum_differs |= m->data_checksum != dg_labelled_checksum(&l);
            if (!quiet) {
                printf("scenario %d %-8s %s (%s) on %" PRIu64 " test devices: %s\n", s,
                       dg_target_name((dg_target)t), m->family->name, m->params, e.n,
                       ok ? "identical to train's" : "DIFFERS from train's");
                print_eval("now", &e);
                if (!ok)
                    print_eval("train", &m->test);
            }
        }
    if (rc == 0) {
        if (checksum_differs)
            printf("note: the labelled devices, their targets or the split differ from the "
                   "data the models were trained on (data checksum)\n");
        printf("%d models evaluated: %s\n", nmodels,
               ndiff ? "some metrics differ from train's" : "every metric identical to train's");
        rc = ndiff ? 1 : 0;
    }
    dg_labelled_free(&l);
    dg_features_free(&f);
    dg_dataset_free(&ds);
    dg_supercats_free(&sc);
    dg_model_dir_close(&d);
    return rc;
}

const cli_command cli_evaluate = {
    "evaluate", run, "reload a model directory and recompute its test metrics",
    "Usage: demographer evaluate DATA_DIR --models DIR [--super FILE]\n"
    "                            [--rules FILE | --no-clean] [data options] [--quiet]\n"
    "\n"
    "Loads and cleans DATA_DIR, builds its features, reloads every model of DIR (a train\n"
    "--out directory or its models/ folder) and recomputes each one's test metrics on the\n"
    "test devices the directory lists (test_devices.csv). Prints them beside train's and\n"
    "exits 1 when any differs. A model directory trained on another feature layout (other\n"
    "super-category rules, another demographer) is refused.\n"
    "\n",
    options,
};
