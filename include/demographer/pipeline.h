/* The whole pipeline in one call, for `demographer run` (and the workbench
 * later): load -> clean -> eda -> maps -> cluster -> features -> train ->
 * evaluate -> predictions -> campaigns -> report, into one output directory.
 *
 * Layout of the output directory DIR:
 *   eda/          the ten exploratory tables (CSV) and their charts (PNG)
 *   maps/         maps-all.png, maps-gender.png, maps-age.png
 *   cluster/      clusters.csv (per-cluster summary), kdist.csv, kdist.png
 *   train/        runs.csv, runs.json, split.csv, runs/, the charts, and
 *   train/models/ the chosen models (train.h's model directory)
 *   predictions.csv  the chosen models' predictions for the test devices
 *                 (with the generator's truth: scored against its floor and
 *                 a peer's predictions, accuracy.h; the report states it)
 *   campaigns/    device_campaigns.csv, reach.csv, reach.png, thresholds.txt,
 *                 campaigns.rules (deciles over the test predictions,
 *                 expected precision from the test labels)
 *   report.json   every metric of every run and what each stage found
 *   report.md     the same for people, with the charts linked relatively
 *   report.html   the same in one self-contained page (the charts inlined),
 *                 for a laptop's or a phone's browser (report.h)
 *
 * Nothing half-written, nothing lost (common.h, dg_outdir): the run refuses
 * an output that is, contains or lies inside one of its inputs (data
 * folder, --file paths, rules) before touching anything; it builds
 * DIR.partial-PID beside DIR (removing the partials of dead runs) and, only
 * when every stage succeeded, exchanges it with DIR in one step (an existing
 * DIR is replaced as a whole, and only when empty or written by
 * demographer). A failed or cancelled run removes the partial directory and
 * leaves DIR as it was. */
#ifndef DEMOGRAPHER_PIPELINE_H
#define DEMOGRAPHER_PIPELINE_H

#include "demographer/accuracy.h"
#include "demographer/dataset.h"
#include "demographer/train.h"

typedef enum dg_stage {
    DG_STAGE_NONE = -1, /* no stage: what a stage needs when it needs none */
#define DG_STAGE(id, name, skippable, needs) DG_STAGE_##id,
#include "demographer/stages.def"
#undef DG_STAGE
    DG_STAGE_COUNT
} dg_stage;

/* "load", "clean", ... "report". */
const char *dg_stage_name(dg_stage s);
/* The stage of a name, or -1. */
int dg_stage_by_name(const char *name);
/* The stages --skip may name: every one but load, features and report
 * (the ones everything else needs). */
int dg_stage_skippable(dg_stage s);
/* The stage s needs (its output), or DG_STAGE_NONE (-1): a skipped stage
 * skips those that need it. */
int dg_stage_needs(dg_stage s);

/* The default model families of a run are train's (dg_default_families,
 * train.h). */

typedef struct dg_pipeline_opts {
    const char *data_dir;         /* NULL with db */
    /* NULL, or the database to read instead of data_dir: the load stage
     * pushes the per-device aggregation down to it (pushdown.h) and reads the
     * small tables whole; the cleaning rules run in its queries and on the
     * small tables, and the stages that need raw events (the event charts,
     * maps and cluster) say so in their notes. */
    const struct dg_mysql_config *db;
    /* Or a ClickHouse cluster (db-import --engine clickhouse's tables), the
     * same way (dg_features_pushdown_clickhouse). */
    const struct dg_ch_config *db_clickhouse;
    const char *out_dir;
    dg_load_opts load;            /* its progress is set by the run */
    const char *rules_path;       /* cleaning rules; NULL: the brief's defaults */
    int no_clean;                 /* skip cleaning (as --skip clean) */
    const char *supercats_path;   /* required: the super-category rules */
    const char *basemap_path;     /* required unless maps are skipped */
    const char *campaign_rules_path; /* NULL: the brief's six campaigns */
    const char *synth_truth_path; /* NULL, or the generator's posterior (accuracy.h) */
    const char *peer_predictions_path; /* NULL, or a peer's predictions (needs the truth) */
    const char *families[DG_TRAIN_MAX_FAMILIES]; /* NULL-terminated; none: the defaults */
    const char *grids[DG_TRAIN_MAX_FAMILIES];    /* as dg_train_opts */
    int folds;                    /* 0: DG_TRAIN_FOLDS_DEFAULT */
    uint64_t seed;                /* the split, folds, families and map sample */
    int ablation;                 /* train's (dg_train_opts.ablation) */
    uint32_t map_sample;          /* events per map sample; 0: 100000 */
    unsigned skip;                /* bits 1u << dg_stage */
    const dg_progress *progress;  /* stage names are "STAGE" or "STAGE: inner step" */
    /* Called when a stage starts (done 0) and ends (done 1, with its
     * seconds; skipped 1 when it did not run). May be NULL. */
    void (*on_stage)(void *ctx, dg_stage s, int done, int skipped, double seconds);
    /* Asked between a stage's steps, with no amount to show, whether to stop
     * (non-zero: the run fails as cancelled). May be NULL: then only the
     * progress's answers stop the run. */
    int (*should_stop)(void *ctx);
    void *stage_ctx;              /* on_stage's and should_stop's */
} dg_pipeline_opts;

typedef struct dg_pipeline_result {
    double seconds[DG_STAGE_COUNT]; /* NaN for a stage that did not run */
    int ran[DG_STAGE_COUNT];
    double total_seconds;
    int failed_stage;             /* -1, or the stage that failed */
    char report_json[4096];       /* paths of the finished files */
    char report_md[4096];
    char report_html[4096];
    /* What the CLI prints at the end. */
    uint32_t nruns, nchosen, ntest_predicted, nmodels_identical, nmodels_evaluated;
    dg_accuracy accuracy; /* n 0 without --synth-truth */
} dg_pipeline_result;

/* Runs the pipeline. On failure err reads "STAGE: why" and r->failed_stage
 * names the stage; DIR is left as it was. */
int dg_pipeline_run(const dg_pipeline_opts *o, dg_pipeline_result *r, dg_err *err);

#endif
