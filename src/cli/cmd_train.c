/* demographer train: designs, cross-validation, refit, test metrics, the
 * comparison table, the selection and the export of the chosen models. */
#include "demographer/train.h"

#include "cli.h"
#include "cli_progress.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    O_OUT = 256,
    O_TARGETS,
    O_SCENARIOS,
    O_TEST_SHARE,
    O_MIN_COUNT,
    O_SUPER,
    O_NO_CHARTS,
    O_SAVE_DESIGN,
    O_QUIET
};

static void print_table(const dg_train_result *r)
{
    printf("%-34s %-4s %-8s %-28s %9s  %-44s %8s %10s\n", "family", "scen", "target", "params",
           "cv", "test metrics", "train s", "bytes");
    for (size_t i = 0; i < r->nruns; i++) {
        const dg_run *x = &r->runs[i];
        char metrics[96], scen[8];
        dg_eval_format(&x->test, 1, " ", "nan", metrics, sizeof metrics);
        snprintf(scen, sizeof scen, x->scenario ? "%d" : "1+2", x->scenario);
        printf("%-34s %-4s %-8s %-28.28s %9.5f  %-44s %8.3f %10" PRIu64 "%s\n", x->family, scen,
               dg_target_name(x->target), x->params, x->cv_score, metrics, x->train_seconds,
               x->model_bytes, x->chosen ? "  *" : "");
    }
}

/* --families' help, the defaults from the one list of them. */
static void families_help(char *buf, size_t cap)
{
    char list[1024];
    cli_default_families_text(list, sizeof list);
    snprintf(buf, cap,
             "comma list of model families (default: %s, as demographer run; 'prior' "
             "always runs); FAMILY@TARGET+TARGET trains a family on those targets only, e.g. "
             "xgboost@age+group12; 'blend' (or blend@gender+group12) adds a softmax combiner "
             "over the other families' out-of-fold probabilities of each classification "
             "target, chosen by CV like any family",
             list);
}

static const cli_option options[] = {
    CLI_VALUE(O_OUT, 0, "out", "DIR",
              "where everything goes (written whole or not at all: an earlier DIR is "
              "replaced; never over an input)"),
    CLI_VALUE_MADE(CLI_O_FAMILIES, 0, "families", "LIST", families_help),
    CLI_VALUE(O_TARGETS, 0, "targets", "LIST", "of gender, age, group6, group12 (default: all)"),
    CLI_VALUE(O_SCENARIOS, 0, "scenarios", "LIST", "1, 2 or 1,2 (default)"),
    CLI_VALUE(CLI_O_FOLDS, 0, "folds", "K",
              "cross-validation folds, 2 to 50 (default " CLI_STR(DG_TRAIN_FOLDS_DEFAULT) ")"),
    CLI_VALUE(CLI_O_SEED, 0, "seed", "S",
              "seed of the split, the folds and the families (default 1)"),
    CLI_FLAG(CLI_O_ABLATION, 0, "ablation",
             "also cross-validate each chosen model without each feature block in turn "
             "(brand, model, numeric, apps, labels), on the same folds and parameters; "
             "runs.json's ablation gives each block's change of the CV score (the test split "
             "plays no part)"),
    CLI_VALUE(CLI_O_GRID, 0, "grid", "FAMILY:PARAMS",
              "replaces a family's grid, e.g. 'brand-model-prior:alpha=2,8'; repeatable"),
    CLI_VALUE(O_TEST_SHARE, 0, "test-share", "F",
              "test share of the stratified split without a mapping file (default 0.2)"),
    CLI_VALUE(O_MIN_COUNT, 0, "min-count", "N",
              "devices a brand, model, app or label needs to get a column (default 2)"),
    CLI_VALUE(O_SUPER, 0, "super", "FILE",
              "super-category rules (default: supercategories.txt of the assets)"),
    CLI_FLAG(O_NO_CHARTS, 0, "no-charts",
             "no PNGs (roc_gender, calibration_gender, residuals_age_s1/s2)"),
    CLI_VALUE(O_SAVE_DESIGN, 0, "save-design", "DIR",
              "also write each scenario's design matrices (raw CSR arrays), folds and "
              "targets into DIR, for bench/models_sklearn.py"),
    CLI_INCLUDE(cli_clean_options),
    CLI_INCLUDE(cli_data_options),
    CLI_FLAG(O_QUIET, 0, "quiet", "no progress and no table"),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    dg_load_opts lo = {.use_snapshot = 1};
    dg_train_opts o;
    memset(&o, 0, sizeof o);
    o.charts = 1;
    cli_model_opts mo;
    cli_model_opts_init(&mo);
    const char *super_path = NULL;
    cli_clean_opts co = {0};
    int quiet = 0, ch, taken;
    uint64_t v;
    cli_parser p;
    cli_parse_start(&p, &cli_train, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        if ((taken = cli_data_option("train", ch, optarg, &lo)) != 0 ||
            (taken = cli_model_option("train", ch, optarg, &mo)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        if (cli_clean_option(ch, optarg, &co))
            continue;
        switch (ch) {
        case O_OUT: o.out_dir = optarg; break;
        case O_SUPER: super_path = optarg; break;
        case O_NO_CHARTS: o.charts = 0; break;
        case O_SAVE_DESIGN: o.design_dir = optarg; break;
        case O_QUIET: quiet = 1; break;
        case O_TARGETS: {
            const char *w[8];
            int n = cli_split_list(optarg, w, 8);
            char names[128];
            if (n <= 0)
                return cli_usage_error("train", "--targets expects %s",
                                       cli_join_names(names, sizeof names, cli_target_name,
                                                      DG_TARGET_COUNT, ","));
            for (int i = 0; i < n; i++) {
                int t = dg_target_by_name(w[i]);
                if (t < 0)
                    return cli_usage_error("train", "--targets: no target '%s' (%s)", w[i],
                                           cli_join_names(names, sizeof names,
                                                          cli_target_name, DG_TARGET_COUNT,
                                                          ", "));
                o.targets |= 1u << t;
            }
            break;
        }
        case O_SCENARIOS: {
            const char *w[4];
            int n = cli_split_list(optarg, w, 4);
            for (int i = 0; i < n; i++) {
                if (strcmp(w[i], "1") && strcmp(w[i], "2"))
                    return cli_usage_error("train", "--scenarios: expected 1, 2 or 1,2; found '%s'",
                                           w[i]);
                o.scenarios |= 1u << (w[i][0] - '1');
            }
            if (n <= 0)
                return cli_usage_error("train", "%s", "--scenarios expects 1, 2 or 1,2");
            break;
        }
        case O_MIN_COUNT:
            if (cli_parse_u64("train", "--min-count", optarg, 1, 1000000, &v) != DG_OK)
                return DG_EXIT_USAGE;
            o.min_count = (uint32_t)v;
            break;
        case O_TEST_SHARE: {
            char *end;
            double share = strtod(optarg, &end);
            if (end == optarg || *end || !(share > 0 && share < 1))
                return cli_usage_error("train", "--test-share expects a number between 0 and 1 "
                                                "(exclusive), got '%s'",
                                       optarg);
            o.test_share = share;
            break;
        }
        default: return cli_option_unhandled("train", ch);
        }
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
    if (optind + 1 != argc)
        return cli_usage_error("train", "%s", "expects exactly one DATA_DIR");
    memcpy(o.families, mo.families, sizeof o.families);
    memcpy(o.grids, mo.grids, sizeof o.grids);
    dg_train_defaults(&o);
    o.folds = mo.folds;
    o.seed = mo.seed;
    o.ablation = mo.ablation;
    if (!o.out_dir)
        return cli_usage_error("train", "%s", "--out DIR is required");
    dg_err err;
    dg_supercats sc;
    memset(&sc, 0, sizeof sc);
    const char *inputs[] = {co.rules_path, super_path};
    dg_outdir od = {0}, dd = {0};
    if (cli_output_apart("train", "--out", o.out_dir, argv[optind], &lo, inputs, 2) ||
        (o.design_dir &&
         (cli_output_apart("train", "--save-design", o.design_dir, argv[optind], &lo, inputs, 2) ||
          cli_output_apart("train", "--save-design", o.design_dir, o.out_dir, NULL, NULL, 0) ||
          cli_output_apart("train", "--out", o.out_dir, o.design_dir, NULL, NULL, 0))))
        return 1;
    /* --save-design is a folder written whole too, beside --out. */
    if (cli_outdir_begin("train", &od, o.out_dir))
        return 1;
    if (o.design_dir && cli_outdir_begin("train", &dd, o.design_dir)) {
        dg_outdir_abort(&od);
        return 1;
    }
    const char *out_dir = o.out_dir, *design_dir = o.design_dir;
    o.out_dir = od.partial;
    o.design_dir = dd.partial;
    if (dg_supercats_load(&sc, super_path ? super_path : cli_asset("supercategories.txt"),
                          &err) != DG_OK) {
        fprintf(stderr, "demographer train: %s\n", err.msg);
        dg_outdir_abort(&od);
        dg_outdir_abort(&dd);
        return 1;
    }
    dg_dataset ds;
    dg_dataset_init(&ds);
    double t0 = dg_now();
    int rc = cli_load_cleaned("train", argv[optind], &lo, quiet, co.rules_path, co.no_clean, &ds);
    dg_features f;
    memset(&f, 0, sizeof f);
    dg_train_result res;
    memset(&res, 0, sizeof res);
    /* The training it replaces weighs the progress (none: the designs do). */
    dg_train_result history;
    dg_err no_history;
    if (dg_runs_read(out_dir, &history, &no_history) == DG_OK)
        o.history = &history;
    if (rc == 0) {
        cli_progress cp;
        dg_progress pr = cli_progress_start(&cp, quiet);
        o.progress = &pr;
        if (dg_features_for_models(&ds, &sc, DG_CLUSTER_EPS_KM_DEFAULT,
                                   DG_CLUSTER_MIN_PTS_DEFAULT, &f, NULL, &pr, &err) != DG_OK ||
            dg_train(&ds, &f, &o, &res, &err) != DG_OK) {
            cli_progress_done(&cp);
            fprintf(stderr, "demographer train: %s\n", err.msg);
            rc = 1;
        } else {
            cli_progress_done(&cp);
        }
    }
    rc = cli_outdir_end("train", &dd, rc);
    rc = cli_outdir_end("train", &od, rc);
    o.out_dir = out_dir;
    o.design_dir = design_dir;
    dg_train_result_free(&history);
    o.history = NULL;
    if (rc == 0 && !quiet) {
        printf("%s\n", res.split_text);
        printf("scenario 1 (devices with events): %u train, %u test; scenario 2 (without): %u "
               "train, %u test\n",
               res.ntrain[1], res.ntest[1], res.ntrain[2], res.ntest[2]);
        print_table(&res);
        printf("selection rule: %s; * marks the chosen (the prior rows are the baselines: "
               "majority class, class priors, mean age)\n",
               res.rule);
        printf("written to %s: runs.csv, runs.json, split.csv, models/ (chosen models), runs/ "
               "(every refitted model)%s; %.1f s in all\n",
               o.out_dir, o.charts ? ", roc_gender.png, calibration_gender.png, "
                                     "residuals_age_s1.png, residuals_age_s2.png"
                                   : "",
               dg_now() - t0);
    }
    dg_train_result_free(&res);
    dg_features_free(&f);
    dg_dataset_free(&ds);
    dg_supercats_free(&sc);
    return rc;
}

const cli_command cli_train = {
    "train", run, "train, cross-validate, compare and export the models",
    "Usage: demographer train DATA_DIR --out DIR [--families LIST] [--targets LIST]\n"
    "                         [--scenarios 1,2] [--folds K] [--seed S] [--grid FAMILY:PARAMS]\n"
    "                         [--ablation]\n"
    "                         [--test-share F] [--min-count N] [--super FILE] [--no-charts]\n"
    "                         [--save-design DIR]\n"
    "                         [--rules FILE | --no-clean] [data options] [--quiet]\n"
    "\n"
    "Loads and cleans DATA_DIR, builds the features, and for each scenario (1: labelled\n"
    "devices with events, every feature; 2: labelled devices without events, brand and\n"
    "model only), target and model family: cross-validates the family's grid (and, in\n"
    "scenario 1, binary against tf-idf app and label bags, then log1p against raw counts\n"
    "against hour and weekday shares against raw and log1p side by side) with seeded\n"
    "stratified K-fold on the train split (a grid of more than two points is screened on\n"
    "fold 1, each penalty path ended at its first rising score, and its best one or two\n"
    "go on to every fold), refits the best on the whole train split and scores it on the\n"
    "test split. The split is the data set's mapping file (train_test_flag) when present,\n"
    "else a seeded split stratified by group.\n"
    "Selection rule: per target and scenario, the lowest cross-validation score (log loss;\n"
    "RMSE for age) is chosen and exported to DIR/models/ (model, design.txt, meta.txt per\n"
    "model; test_devices.csv). The 'prior' family always runs: it is the baseline\n"
    "(majority class, class priors, mean age). Writes DIR/runs.csv, DIR/runs.json (every\n"
    "run), DIR/split.csv, DIR/runs/ (every refitted model) and the charts.\n"
    "\n",
    options,
};
