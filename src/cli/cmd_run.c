/* demographer run: the whole pipeline headless (pipeline.h), one line per
 * stage with its seconds, Ctrl-C cancels and leaves the output as it was. */
#include "demographer/pipeline.h"
#include "demographer/source_clickhouse.h"

#include "cli.h"
#include "cli_progress.h"
#include "cli_sources.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

enum { O_OUT = 256, O_SKIP, O_SUPER, O_SYNTH_TRUTH, O_PEER, O_QUIET, O_DB };

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct run_ui {
    cli_progress bar;
    dg_progress bar_progress; /* the bar's callback */
    int quiet;
} run_ui;

/* The library's progress: the bar, and the answer to whether to stop. */
static int on_progress(void *ctx, const char *stage, double done, double total, const char *unit)
{
    run_ui *u = ctx;
    if (interrupted)
        return 1;
    return u->bar_progress.fn(u->bar_progress.ctx, stage, done, total, unit);
}

/* The pipeline's question between steps. */
static int should_stop(void *ctx)
{
    (void)ctx;
    return interrupted;
}

static void on_stage(void *ctx, dg_stage s, int done, int skipped, double seconds)
{
    run_ui *u = ctx;
    if (u->quiet)
        return;
    if (!done) {
        u->bar.stage[0] = '\0';
        return;
    }
    cli_progress_done(&u->bar);
    if (skipped)
        fprintf(stderr, "%-12s skipped\n", dg_stage_name(s));
    else
        fprintf(stderr, "%-12s %8.2f s\n", dg_stage_name(s), seconds);
}

/* --families' and --grid's help, from the one list of defaults. */
static void families_help(char *buf, size_t cap)
{
    char list[1024];
    cli_default_families_text(list, sizeof list);
    snprintf(buf, cap, "model families (default: %s; see demographer train)", list);
}

static void grid_help(char *buf, size_t cap)
{
    char grids[1024];
    cli_default_grids_text(grids, sizeof grids);
    snprintf(buf, cap, "a family's grid, as demographer train (default for %s)", grids);
}

static const cli_option options[] = {
    CLI_VALUE(O_OUT, 0, "out", "DIR", "the output directory"),
    CLI_FLAG(O_DB, 0, "db", "read the database given by the connection options"),
    CLI_VALUE_MADE(CLI_O_FAMILIES, 0, "families", "LIST", families_help),
    CLI_VALUE_MADE(CLI_O_GRID, 0, "grid", "FAMILY:PARAMS", grid_help),
    CLI_VALUE(CLI_O_FOLDS, 0, "folds", "K",
              "cross-validation folds, 2 to 50 (default " CLI_STR(DG_TRAIN_FOLDS_DEFAULT) ")"),
    CLI_VALUE(CLI_O_SEED, 0, "seed", "S",
              "seed of the split, folds, families and map sample (default 1)"),
    CLI_FLAG(CLI_O_ABLATION, 0, "ablation",
             "also cross-validate each chosen model without each feature block in turn "
             "(brand, model, numeric, apps, labels): train/runs.json and the report give each "
             "block's change of the CV score"),
    CLI_VALUE(O_SKIP, 0, "skip", "LIST",
              "stages not to run: clean, eda, maps, cluster, train, evaluate, predictions, "
              "campaigns (skipping train skips evaluate, predictions and campaigns; "
              "predictions skips campaigns)"),
    CLI_VALUE(O_SUPER, 0, "super", "FILE",
              "super-category rules (default: supercategories.txt of the assets)"),
    CLI_VALUE(O_SYNTH_TRUTH, 0, "synth-truth", "FILE",
              "the generator's posterior of every device (demographer synth --truth FILE on "
              "the same data): the report states the floor of the gender and group12 log "
              "loss and of the age RMSE on the test devices, next to the chosen models'"),
    CLI_VALUE(O_PEER, 0, "peer-predictions", "FILE",
              "another system's predictions of the test devices (the format of "
              "predictions.csv): the report states the share of the peer-to-floor gap the "
              "chosen models close, (peer - model) / (peer - floor), per scenario and target "
              "(needs --synth-truth)"),
    CLI_INCLUDE(cli_clean_options),
    CLI_INCLUDE(cli_data_options),
    CLI_FLAG(O_QUIET, 0, "quiet", "no progress and no stage lines; only the report line"),
    CLI_INCLUDE(cli_mysql_options),
    CLI_INCLUDE(cli_ch_options),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    cli_sources src = {0};
    int db = 0;
    dg_pipeline_opts o;
    memset(&o, 0, sizeof o);
    o.load.use_snapshot = 1;
    cli_model_opts mo;
    cli_model_opts_init(&mo);
    const char *super_path = NULL;
    cli_clean_opts co = {0};
    int quiet = 0, ch, taken;
    cli_parser p;
    cli_parse_start(&p, &cli_run, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        if ((taken = cli_data_option("run", ch, optarg, &o.load)) != 0 ||
            (taken = cli_model_option("run", ch, optarg, &mo)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        if (cli_sources_opt(&src, ch, optarg) ||
            cli_clean_option(ch, optarg, &co))
            continue;
        switch (ch) {
        case O_DB: db = 1; break;
        case O_OUT: o.out_dir = optarg; break;
        case O_SUPER: super_path = optarg; break;
        case O_SYNTH_TRUTH: o.synth_truth_path = optarg; break;
        case O_PEER: o.peer_predictions_path = optarg; break;
        case O_QUIET: quiet = 1; break;
        case O_SKIP: {
            const char *w[DG_STAGE_COUNT + 1];
            int n = cli_split_list(optarg, w, DG_STAGE_COUNT);
            if (n <= 0)
                return cli_usage_error("run", "--skip expects a comma list of stages, got '%s'",
                                       optarg);
            for (int i = 0; i < n; i++) {
                int s = dg_stage_by_name(w[i]);
                if (s < 0 || !dg_stage_skippable((dg_stage)s)) {
                    char names[256];
                    return cli_usage_error("run",
                                           "--skip: '%s' is not a stage that can be skipped "
                                           "(%s)",
                                           w[i],
                                           cli_join_names(names, sizeof names,
                                                          cli_skippable_stage, DG_STAGE_COUNT,
                                                          ", "));
                }
                o.skip |= 1u << s;
            }
            break;
        }
        default: return cli_option_unhandled("run", ch);
        }
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
    if (db && optind != argc)
        return cli_usage_error("run", "%s", "--db reads the database: no DATA_DIR");
    if (!db && optind + 1 != argc)
        return cli_usage_error("run", "%s", "expects exactly one DATA_DIR (or --db)");
    memcpy(o.families, mo.families, sizeof o.families);
    memcpy(o.grids, mo.grids, sizeof o.grids);
    o.folds = mo.folds;
    o.seed = mo.seed;
    o.ablation = mo.ablation;
    o.rules_path = co.rules_path;
    o.no_clean = co.no_clean;
    if (!o.out_dir)
        return cli_usage_error("run", "%s", "--out DIR is required");
    if (o.rules_path && o.no_clean)
        return cli_usage_error("run", "%s", "--rules and --no-clean exclude each other");
    if (o.peer_predictions_path && !o.synth_truth_path)
        return cli_usage_error("run", "%s",
                               "--peer-predictions needs --synth-truth (the floor of the gap)");
    dg_sources_config cfg;
    dg_sources_config_init(&cfg);
    dg_ch_config chc;
    dg_ch_config_init(&chc);
    int engine = cli_sources_engine("run", &src);
    if (engine < 0)
        return DG_EXIT_USAGE;
    if (!db && (src.engine || src.url || src.cluster))
        return cli_usage_error("run", "%s", "--engine, --url and --cluster go with --db");
    if (db && engine == 1) {
        int code;
        if (cli_ch_resolve("run", &src, &chc, &code) != DG_OK) {
            dg_ch_config_free(&chc);
            return code;
        }
        o.db_clickhouse = &chc;
    } else if (db) {
        int code;
        if (cli_sources_resolve("run", &src, 1, &cfg, &code) != DG_OK) {
            dg_sources_config_free(&cfg);
    dg_ch_config_free(&chc);
            return code;
        }
        o.db = &cfg.mysql;
    } else {
        o.data_dir = argv[optind];
    }
    /* cli_asset returns a static buffer: copy each path. */
    char *super = dg_xstrdup(super_path ? super_path : cli_asset("supercategories.txt"));
    char *basemap = dg_xstrdup(cli_asset("basemap-east-asia.txt"));
    o.supercats_path = super;
    o.basemap_path = basemap;

    run_ui u;
    memset(&u, 0, sizeof u);
    u.quiet = quiet;
    u.bar_progress = cli_progress_start(&u.bar, quiet);
    dg_progress pr = {on_progress, &u};
    o.progress = &pr;
    o.on_stage = on_stage;
    o.should_stop = should_stop;
    o.stage_ctx = &u;

    /* Ctrl-C and TERM ask the pipeline to stop at its next progress report;
     * it then removes its partial output. */
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    interrupted = 0;

    dg_pipeline_result r;
    dg_err err;
    int rc = dg_pipeline_run(&o, &r, &err);
    cli_progress_done(&u.bar);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc != DG_OK) {
        fprintf(stderr, "demographer run: %s\n", err.msg);
        fprintf(stderr, "demographer run: nothing written to %s (it is as it was)\n", o.out_dir);
        rc = interrupted ? DG_EXIT_INTERRUPTED : DG_EXIT_FAILURE;
    } else {
        if (!quiet) {
            if (r.ran[DG_STAGE_TRAIN])
                printf("%u runs, %u chosen models in %s/train/models\n", r.nruns, r.nchosen,
                       o.out_dir);
            if (r.ran[DG_STAGE_EVALUATE])
                printf("evaluate: %u of %u exported models give train's test metrics exactly\n",
                       r.nmodels_identical, r.nmodels_evaluated);
            if (r.ran[DG_STAGE_PREDICTIONS])
                printf("predictions for %u test devices: %s/predictions.csv\n",
                       r.ntest_predicted, o.out_dir);
            for (int i = 0; i < r.accuracy.n; i++) {
                const dg_closure *c = &r.accuracy.row[i];
                printf("scenario %d %-7s %s %.4f, floor %.4f", c->scenario,
                       dg_target_name(c->target), dg_metrics[c->metric].label, c->model,
                       c->floor);
                if (isfinite(c->peer))
                    printf(", peer %.4f: %.0f %% of the gap closed", c->peer, 100 * c->closure);
                printf("\n");
            }
        }
        printf("report: %s (and %s, %s), %.1f s in all\n", r.report_html, r.report_md,
               r.report_json, r.total_seconds);
        if (r.ran[DG_STAGE_EVALUATE] && r.nmodels_identical != r.nmodels_evaluated) {
            fprintf(stderr, "demographer run: %u exported models give other test metrics than "
                            "train measured (see report.md, Evaluation)\n",
                    r.nmodels_evaluated - r.nmodels_identical);
            rc = 1;
        }
    }
    free(super);
    free(basemap);
    dg_sources_config_free(&cfg);
    dg_ch_config_free(&chc);
    return rc;
}

const cli_command cli_run = {
    "run", run, "the whole pipeline headless: report.json, report.md and report.html",
    "Usage: demographer run DATA_DIR --out DIR [--families LIST] [--folds K] [--seed S]\n"
    "                       [--grid FAMILY:PARAMS] [--skip STAGE,...] [--super FILE] [--ablation]\n"
    "                       [--synth-truth FILE [--peer-predictions FILE]]\n"
    "                       [--rules FILE | --no-clean] [data options] [--quiet]\n"
    "       demographer run --db [connection options] --out DIR [the options above]\n"
    "\n"
    "Runs every stage on DATA_DIR (or the database) and writes into DIR:\n"
    "  load, clean      the tables and the cleaning rules' counts\n"
    "  eda              DIR/eda/: the ten exploratory tables (CSV) and charts (PNG)\n"
    "  maps             DIR/maps/: maps-all.png, maps-gender.png, maps-age.png\n"
    "  cluster          DIR/cluster/: DBSCAN at 1.2 km, 10 events: clusters.csv, and the\n"
    "                   k-distance curve kdist.csv, kdist.png\n"
    "  features         the model features (as demographer features, with clusters)\n"
    "  train            DIR/train/: as demographer train (runs.csv, runs.json, charts);\n"
    "                   the chosen models in DIR/train/models/\n"
    "  evaluate         the exported models reloaded and scored on the test split (the\n"
    "                   run fails when a metric differs from train's)\n"
    "  predictions      DIR/predictions.csv: the chosen models on the test devices\n"
    "  campaigns        DIR/campaigns/: P(female) deciles over the test predictions,\n"
    "                   reach and expected precision from the test labels\n"
    "  report           DIR/report.json (every metric of every run as in runs.json, the\n"
    "                   chosen models and the selection rule, table rows, cleaning\n"
    "                   counts, cluster summary, campaign reach, stage seconds, split,\n"
    "                   data checksum, version), DIR/report.md (the same as tables,\n"
    "                   with the charts linked relatively) and DIR/report.html (the\n"
    "                   same in one self-contained page, the charts inlined)\n"
    "Each stage prints its seconds on stderr. The run builds DIR.partial-PID and swaps it\n"
    "with DIR in one step only when every stage succeeded (a DIR from an earlier run is\n"
    "replaced whole; a folder of other files is refused); a failed stage is named, Ctrl-C\n"
    "stops the run, and either way DIR is left as it was (exit 1, or 130 on Ctrl-C). The\n"
    "partial folders of killed runs are removed by the next run. DIR may not be, contain\n"
    "or lie inside DATA_DIR or another input (refused before anything is touched).\n"
    "\n"
    "With --db --engine clickhouse the same runs on a ClickHouse cluster (db-import).\n"
    "With --db the load stage pushes the per-device aggregation down to the MySQL-protocol\n"
    "server as demographer features --db does (plain GROUP BYs; the event tables are not\n"
    "fetched) and reads the small tables whole; it applies the cleaning rules (the clean\n"
    "stage is then skipped, its note says where each rule ran) and builds the features.\n"
    "The stages that need the raw events have none: the event charts of eda, maps and\n"
    "cluster say so in the report. The models, predictions and campaigns are those of the\n"
    "same data read from files.\n"
    "\n",
    options,
};
