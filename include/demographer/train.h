/* Training, cross-validation, comparison, selection and export of models,
 * for any family registered in dg_model_families (model.h), by name.
 *
 * For each scenario (1: labelled devices with events, all design blocks; 2:
 * labelled devices without events, the phone blocks), each target and each
 * family: every combination of the family's grid is scored by seeded
 * stratified k-fold cross-validation on the train split only (in scenario 1
 * on the bag weighting, binary or tf-idf, that one probe's cross-validation
 * chose for every family: dg_train_result.bags); the best combination (lowest
 * pooled out-of-fold log loss, or RMSE for age) is refitted on the whole
 * train split and scored on the test split. The SELECTION RULE: per target
 * and scenario, the run with the lowest cross-validation score is chosen
 * (the test split never chooses); it is exported.
 *
 * A model directory (DIR/models):
 *   s1-gender/ s1-age/ ... s2-group12/   one per chosen model:
 *       model         the family's own file
 *       design.txt    the design spec (design.h)
 *       meta.txt      "key value" lines: target, scenario, family, params,
 *                     bags, cv_score, every test metric (%.17g), ncols,
 *                     layout (the features' fingerprint), data (checksum of
 *                     the labelled devices, targets and split), version
 *   test_devices.csv  device_id,scenario of the test split (the API serves it)
 * plus, next to it, runs.csv and runs.json (every run) and the charts. */
#ifndef DEMOGRAPHER_TRAIN_H
#define DEMOGRAPHER_TRAIN_H

#include "demographer/chart.h"
#include "demographer/design.h"
#include "demographer/metrics.h"

#define DG_TRAIN_MAX_FAMILIES 32
/* Cross-validation's folds when none are given. */
#define DG_TRAIN_FOLDS_DEFAULT 5

typedef struct dg_train_opts {
    const char *out_dir;
    const char *families[DG_TRAIN_MAX_FAMILIES]; /* NULL-terminated; none: every registered one */
    unsigned targets;    /* bits (1u << dg_target); 0: all four */
    unsigned scenarios;  /* bit 1: scenario 1, bit 2: scenario 2; 0: both */
    int folds;           /* 0: DG_TRAIN_FOLDS_DEFAULT */
    uint64_t seed;
    double test_share;   /* of the stratified split when there is no mapping file; 0: 0.2 */
    uint32_t min_count;  /* vocabulary min-count; 0: 2 */
    /* Grids replacing a family's default: "FAMILY:C=0.1,1 eps=0.01". */
    const char *grids[DG_TRAIN_MAX_FAMILIES];
    int charts;          /* write the PNGs */
    const char *design_dir; /* also write the design matrices and folds there (for the
                             * peer benchmark); NULL: not */
    int threads;         /* fits side by side; 0: one per core. The results do not
                          * depend on it. */
    int ablation;        /* also cross-validate each chosen model without each block */
    /* An earlier training (dg_runs_read of its folder): the seconds its
     * fits took weigh this one's progress (DG_UNIT_WORK), so the ETA knows
     * an xgboost fit from a prior's. NULL: weighed by the designs' sizes. */
    const struct dg_train_result *history;
    const dg_progress *progress; /* in DG_UNIT_WORK (pace.h): fits weighed by cost */
} dg_train_opts;

#define DG_RUN_GRID 16
typedef struct dg_run {
    char family[40];
    int scenario;          /* 1, 2, or 0 for the chosen models over both */
    dg_target target;
    char params[200];      /* the chosen combination, with bags=binary|tfidf in scenario 1 */
    int ncombos;           /* grid combinations cross-validated */
    double cv_score;       /* NaN for the combined row */
    dg_eval test;
    uint64_t confusion[144]; /* classification: [true * k + predicted], k = test.nclasses */
    uint32_t ntrain, ntest;
    double train_seconds;  /* the refit on the whole train split */
    double cv_seconds;     /* the cross-validation's fits and predictions, summed over
                            * folds (they run side by side: the wall is less) */
    uint64_t model_bytes;
    int chosen;
    /* The cross-validation score of each combination of the grid, in the
     * grid's order (the first DG_RUN_GRID of a longer grid): the curve that
     * shows which points win. */
    int ngrid;
    double grid_cv[DG_RUN_GRID];
    /* The folds each score is over: every fold, 1 for a combination left
     * out by fold 1's screen (train.c, jobs_cross_validate), 0 for one
     * never fit (its path ended before it; the score is NaN). */
    int grid_folds[DG_RUN_GRID];
    char grid_params[DG_RUN_GRID][96]; /* persona-softmax's combinations run to ~80 */
} dg_run;

/* The numbers of train's charts, kept in the result so that the workbench
 * draws them from the same description as the PNGs (dg_train_chart). */
enum { DG_TRAIN_CHART_ROC, DG_TRAIN_CHART_CALIBRATION, DG_TRAIN_CHART_RESIDUALS_S1,
       DG_TRAIN_CHART_RESIDUALS_S2, DG_TRAIN_CHARTS };
#define DG_ROC_POINTS 101
#define DG_CALIBRATION_BINS 10
#define DG_RESIDUAL_BANDS 7
typedef struct dg_train_charts {
    int have[DG_TRAIN_CHARTS];
    int roc_series, cal_series;        /* with the reference line (chance, perfect) last */
    double roc_x[DG_ROC_POINTS], roc_v[DG_ROC_POINTS * 3];
    double cal_x[DG_CALIBRATION_BINS], cal_v[DG_CALIBRATION_BINS * 3]; /* NaN: empty bin */
    double cal_count[DG_CALIBRATION_BINS * 3]; /* test devices per bin and series */
    char roc_names[3][96], cal_names[3][96];
    double res_v[2][DG_RESIDUAL_BANDS * 5];
    char res_title[2][160], res_sub[2][200];
    char split_text[160];
} dg_train_charts;

typedef struct dg_train_chart_view {
    dg_chart chart;                    /* points into the result and names */
    const char *names[3];
    char file[64];                     /* its PNG's name under the out directory */
} dg_train_chart_view;

/* One block taken out of one chosen model's design (train's ablation): the
 * same family, parameters and folds, the block's entries dropped. */
typedef struct dg_ablation {
    int scenario;
    dg_target target;
    char family[40];
    char params[200];      /* the chosen run's */
    const char *block;     /* "brand", "model", "numeric", "apps" or "labels" */
    double cv_all;         /* the chosen model's CV score (log loss; RMSE for age) */
    double cv_without;     /* the same without the block: above cv_all, the block helps */
    double cv_seconds;
} dg_ablation;

typedef struct dg_train_result {
    dg_run *runs;
    size_t nruns;
    dg_ablation *ablation; /* with opts.ablation; in the order of scenario, target, block */
    size_t nablation;
    dg_train_charts charts;
    char split_text[160];
    char rule[200];
    uint32_t nlabelled, ntrain[3], ntest[3];
    double seconds;
    char bags[240];        /* scenario 1's bag weighting and how CV chose it; "" without */
    double bags_seconds;   /* that choice's cross-validation seconds, summed over folds */
    char counts[300];      /* scenario 1's count form (dg_count_form) and how CV chose it */
    double counts_seconds; /* likewise */
    char numeric[400];     /* scenario 1's numeric block scale and how CV chose it */
    double numeric_seconds; /* likewise */
} dg_train_result;

/* The default model families of `run` and `train`, the workbench, --help
 * and the man page, in training order: "FAMILY" or "FAMILY@TARGET+TARGET",
 * each with the grid it gets when the user gives none, "FAMILY:PARAMS" as
 * --grid takes it (NULL: the family's own). Ends with {NULL, NULL}. */
typedef struct dg_default_family {
    const char *family;
    const char *grid;
} dg_default_family;
extern const dg_default_family dg_default_families[];
/* Fills o->families with the defaults when it names none, and appends the
 * default grid of every trained family the user gave no grid for. */
void dg_train_defaults(dg_train_opts *o);

/* Loads nothing: works on built features and the data set's labels/split. */
int dg_train(const dg_dataset *ds, const dg_features *f, const dg_train_opts *opts,
             dg_train_result *out, dg_err *err);
void dg_train_result_free(dg_train_result *r);

/* Chart which (DG_TRAIN_CHART_*) of a training; 0 when it has none (no
 * chosen gender model, no age model of that scenario). */
int dg_train_chart(const dg_train_result *r, int which, dg_train_chart_view *out);

/* The seconds of one cross-validation fit (*fit) and of the refit (*refit)
 * of family on (scenario, target) in the training r, scaled to ntrain train
 * rows (0: as they were): what training weighs that fit by next time, and
 * the estimate the workbench shows before it. Returns 0 (both NaN) when r
 * has no such run with its fits recorded. */
int dg_train_fit_seconds(const dg_train_result *r, const char *family, int scenario,
                         dg_target t, uint32_t ntrain, double *fit, double *refit);

/* The comparison table as CSV and JSON text (runs.csv, runs.json). */
int dg_runs_write(const dg_train_result *r, const char *dir, dg_err *err);
/* Reads DIR/runs.json back (the runs, split, rule and bags; no charts, no
 * ablation). In the report library, which links jansson. */
int dg_runs_read(const char *dir, dg_train_result *out, dg_err *err);

/* ---- a model directory, opened for predictions --------------------------- */

typedef struct dg_loaded_model {
    int present;
    const dg_model_family *family;
    void *model;
    dg_design_spec spec;
    char params[200];
    double cv_score;
    dg_eval test;          /* as train measured it */
    uint64_t data_checksum;
} dg_loaded_model;

typedef struct dg_model_dir {
    char *path;
    dg_loaded_model m[3][DG_TARGET_COUNT]; /* [scenario][target], scenario 1 and 2 */
    uint64_t fingerprint;
    size_t ntest;
    int64_t *test_device;
    int8_t *test_scenario;
} dg_model_dir;

/* The name of the file that seals a models/ folder: the XXH3 of every file
 * in it and the data checksum its models were trained on. */
#define DG_MODEL_DIR_CHECKSUMS "checksums.txt"
/* Writes DIR/checksums.txt (DIR: a models/ folder being written) over every
 * regular file of DIR and of its model folders; data is the training data's
 * checksum. */
int dg_model_dir_seal(const char *dir, uint64_t data, dg_err *err);
/* Opens DIR (a train --out directory or its models/ folder). Fails, naming
 * the file, when it holds no model, a file is malformed, a file differs from
 * its checksum in checksums.txt (or is missing, or is not a regular file), a
 * model folder is not listed there, the models were trained on different
 * data, or a design's column count differs from its meta.txt. A models/
 * folder without checksums.txt (before demographer 0.1.0's checksums) is
 * refused: train it again. */
int dg_model_dir_open(dg_model_dir *d, const char *dir, dg_err *err);
void dg_model_dir_close(dg_model_dir *d);
/* Refuses (with the reason) features of a different layout. */
int dg_model_dir_check(const dg_model_dir *d, const dg_features *f, dg_err *err);
/* Predictions for rows[0..n) of f: scenario 1 for a device with events,
 * else 2; a target without a model for that scenario is NaN. */
int dg_model_dir_predict(const dg_model_dir *d, const dg_features *f, const uint32_t *rows,
                         uint32_t n, dg_prediction *out, dg_err *err);
/* One target of one scenario on rows (all of that scenario): nout doubles a row. */
int dg_model_dir_predict_target(const dg_model_dir *d, int scenario, dg_target t,
                                const dg_features *f, const uint32_t *rows, uint32_t n,
                                double *out, dg_err *err);

/* Scores the model of (scenario, target) again on the test devices the
 * directory lists (test_devices.csv) of that scenario, with their labels
 * from l; fails when one of them is not a labelled device of l. Compare
 * with the directory's own numbers with dg_eval_equal. */
int dg_model_dir_evaluate(const dg_model_dir *d, int scenario, dg_target t,
                          const dg_features *f, const dg_labelled *l, dg_eval *out,
                          dg_err *err);

/* The checksum of a labelled set (device ids, gender, age, split), FNV-1a. */
uint64_t dg_labelled_checksum(const dg_labelled *l);

#endif
