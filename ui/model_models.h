/* The Models pane's state and actions, without curses: what to train (the
 * families toggled from the registered list, targets, scenarios, folds,
 * seed), the training job (features built with dg_features_for_models on the
 * session's data, then dg_train into <out>/train), the comparison table of
 * every run with its sort and cursor, the export of the chosen models to
 * <out>/models and the charts train drew. model.c hands the models-* actions,
 * the pane's cursor moves and its save here; pane_models.c draws the state.
 * The features and the trained model directory stay for the Campaigns pane. */
#ifndef DEMOGRAPHER_UI_MODEL_MODELS_H
#define DEMOGRAPHER_UI_MODEL_MODELS_H

#include "demographer/model.h"
#include "demographer/train.h"

/* The columns of the comparison table, by the names models-sort takes. */
enum {
    RUNCOL_CHOSEN,
    RUNCOL_FAMILY,
    RUNCOL_SCENARIO,
    RUNCOL_TARGET,
    RUNCOL_PARAMS,
    RUNCOL_CV,
    RUNCOL_METRICS, /* the brief metrics of metrics.def, dg_metrics_brief's order */
    RUNCOL_SECONDS = RUNCOL_METRICS + DG_METRIC_NBRIEF,
    RUNCOL_BYTES,
    RUNCOL_COUNT
};
extern const char *const models_run_columns[RUNCOL_COUNT];

typedef enum models_view { MODELS_VIEW_SETTINGS, MODELS_VIEW_RUNS } models_view;

typedef struct models_state {
    /* What the next training uses. */
    int nfamilies;                        /* the families offered: */
    const dg_model_family *fam[DG_TRAIN_MAX_FAMILIES]; /* the registered ones, then run's
                                             default combiners (blend) */
    int family_on[DG_TRAIN_MAX_FAMILIES]; /* by registry order; prior is always on. A
                                             fresh start: run's defaults
                                             (dg_default_families, train.h) */
    char family_targets[DG_TRAIN_MAX_FAMILIES][48]; /* "": every target; else the
                                             targets it trains, as FAMILY@TARGETS
                                             says them ("age", "gender+group12") */
    unsigned targets;                     /* bits 1u << dg_target */
    unsigned scenarios;                   /* bit 0: scenario 1, bit 1: scenario 2 */
    int folds;
    uint64_t seed;
    int fam_cur;                          /* cursor in the family list */
    models_view view;
    char *supercats_path;                 /* the super-category asset (features) */
    /* The last training that finished. */
    int have_result;
    int exported;                         /* ...and x has exported it */
    int opened;                           /* ...read from an earlier run or train folder
                                             (models-open): its runs and models, no
                                             features in this session */
    uint64_t res_seed;                    /* ...its seed and folds (the settings above
                                             may have changed since) */
    int res_folds;
    dg_train_result res;
    dg_features feat;                     /* the features it was trained on */
    int from_cleaned;
    unsigned gen;                         /* the model's data_gen then */
    char *train_dir;                      /* <out>/train: models/, runs/, charts */
    /* The comparison table on screen. */
    size_t *order;                        /* res.nruns run indexes, sorted */
    int sort_col;                         /* -1: train's order */
    int sort_desc;
    size_t cur, top;                      /* cursor and first row shown (top: the screen's) */
    int filter_target;                    /* models-filter: a dg_target, or -1 for all */
    int filter_scen;                      /* ...1, 2, 0 (the 1+2 rows), or -1 for all */
    size_t nshown;                        /* the runs that pass it: order[0..nshown) */
    int ccol, left;                       /* cursor column and first column shown */
} models_state;

void models_init(models_state *s);
void models_free(models_state *s);
void models_set_supercats_path(models_state *s, const char *path);

/* "gender, scenario 1", "all runs"...: the filter, for the screen. */
const char *models_filter_text(const models_state *s, char *buf, size_t cap);
/* The run under the cursor, or NULL. */
const dg_run *models_run_at_cursor(const models_state *s);
/* A run's cell as text (the screen and the sort share it); numbers use a
 * fixed number of decimals; NaN is "". */
const char *models_cell(const dg_run *r, int col, char *buf, size_t cap);
/* Comma list of the targets / scenarios chosen. */
const char *models_targets_text(const models_state *s, char *buf, size_t cap);
const char *models_scenarios_text(const models_state *s, char *buf, size_t cap);

/* The estimate the settings show beside family i before the next
 * training: the fit seconds its runs took in the last training on the
 * scenarios and targets it would train now (their cross-validation and
 * refits, summed over folds), NaN when the last training has none. */
double models_family_seconds(const models_state *s, int i);
/* A family as train takes it: "xgboost@age", or the name alone. */
const char *models_family_spec(const models_state *s, int i, char *buf, size_t cap);

/* The training job's part: what it reads and what it makes. */
typedef struct models_job {
    char families[DG_TRAIN_MAX_FAMILIES][40];
    dg_train_opts opts;
    const dg_dataset *src;
    int from_cleaned;
    unsigned gen;
    char *supercats_path;
    char *work_dir;   /* <out>/.train-work: trained into, then renamed... */
    char *final_dir;  /* ...to <out>/train when every step succeeded */
    const dg_features *pushed; /* a mysql-pushdown load's features, or NULL */
    dg_features feat;
    int have_feat;
    dg_train_result res;
    dg_train_result history; /* the training in final_dir before, read by the run */
} models_job;

/* Fills j from the settings (the data is the caller's). */
int models_job_args(const models_state *s, const char *out_dir, models_job *j, dg_err *err);
/* Features, training and the commit of the new training directory. */
int models_job_run(models_job *j, const dg_progress *p, dg_err *err);
/* Takes the job's results into s (the job keeps nothing). */
void models_job_finish(models_state *s, models_job *j);
void models_job_free(models_job *j);

/* The immediate models-* actions; msg gets what was done. */
int models_action(models_state *s, int id, int argc, char **argv, const char *out_dir, char *msg,
                  size_t msgcap, dg_err *err);
/* models-open: the runs of an earlier training folder (a train --out, or a
 * run --out holding train/), to compare them and export their models. */
int models_open(models_state *s, const char *dir, char *msg, size_t msgcap, dg_err *err);
/* Cursor moves in the pane (cursor-up ... last-row, page size rows). */
void models_move(models_state *s, int id, long rows);
/* p: the charts train drew for the run under the cursor, copied to
 * <out>/models-<chart>.png; saved gets the (first) path. */
int models_save(models_state *s, const char *out_dir, char *saved, size_t savedcap, char *msg,
                size_t msgcap, dg_err *err);

#endif
