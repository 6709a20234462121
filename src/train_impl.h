/* What the files of training share (private to src/): the state of one
 * dg_train call and the steps the other files do for it. train.c holds the
 * grids, the probes and the whole run; train_cv.c the jobs' cross-validation
 * and refit; train_blend.c group12-sum and the blend; train_ablation.c the
 * ablation; train_export.c the model directory it writes; train_charts.c
 * the charts; train_runs.c the runs files; model_dir.c reads a model
 * directory back. */
#ifndef DEMOGRAPHER_TRAIN_IMPL_H
#define DEMOGRAPHER_TRAIN_IMPL_H

#include "demographer/train.h"

/* Design variants of a scenario: 1 has binary bags, tf-idf bags (both with
 * log1p counts), the phone blocks alone, and the chosen bags with raw counts
 * and with hour and weekday shares (dg_count_form); 2 has the phone blocks
 * alone. */
/* V_SCALED_1..3 are the chosen bags and count form with the numeric block
 * scaled (dg_design_scale_numeric), for the scale probe. */
enum {
    V_BINARY, V_TFIDF, V_PHONE, V_RAW, V_SHARES, V_RAW_LOG1P,
    V_SCALED_1, V_SCALED_2, V_SCALED_3, NVARIANTS
};
struct scenario;
/* The bag weighting and count form of variant v ("none" for the phone
 * blocks), as runs, meta.txt and the design files name them. */
const char *train_variant_bags(const struct scenario *S, int v);
const char *train_variant_counts(const struct scenario *S, int v);

typedef struct scenario {
    int s;
    uint32_t ntr, nte;
    uint32_t *tr_lab, *te_lab;   /* indices into the dg_labelled */
    uint32_t *tr_rows, *te_rows; /* rows of the dg_features */
    uint8_t *fold;               /* per train row */
    int has[NVARIANTS];
    dg_design_spec spec[NVARIANTS];
    dg_csr xtr[NVARIANTS], xte[NVARIANTS];
    /* Every device of the scenario in the chosen bag variant's design, labels
     * unread (dg_trainset.unlabelled); built for scenario 1 once the bags
     * are chosen. */
    int has_all;
    dg_csr xall;
} scenario;

typedef struct chosen {
    int have;
    size_t run;       /* index into the runs */
    const dg_model_family *family;
    void *model;
    int variant;
    double cv;
    double *test_pred;
    dg_params params;
    /* The job the model and test_pred came from: they go back to it when a
     * later job is chosen instead, since a blend or group12-sum job may be
     * reading them (train.c). */
    struct job *from;
} chosen;

typedef struct trainer {
    const dg_dataset *ds;
    const dg_features *f;
    const dg_train_opts *o;
    dg_labelled lab;
    scenario sc[3];
    int folds;
    dg_train_result *res;
    chosen ch[3][DG_TARGET_COUNT];
    char *staging, *staging_runs, *staging_models;
    /* The progress: the fits weighed by their cost (train_cost.c), done and
     * planned; the plan grows when work is added (the ablation) and shrinks
     * when a screen keeps fewer combinations. */
    double work_done, work_total;
    const dg_train_result *hist; /* opts.history: an earlier training, or NULL */
    double cost_scale;     /* seconds per unit of a design's cost, from hist; 0: none */
    int cost_scale_done;
    uint64_t checksum;
    int bags; /* scenario 1's variant for the families that read the bags (bags and counts) */
    /* The numeric scale probe's job at the chosen scale (NULL: none): its
     * fold-1 screen is its family's job's on that target (train.c). */
    struct job *probe;
    unsigned blend_targets; /* the targets with a blend job (bit 1u << target) */
} trainer;

/* ---- jobs (train_cv.c): a family on one target of one scenario, its
 * cross-validation side by side with the others and its refit ---------- */

/* The combinations of a grid that every fold fits: the best of fold 1's
 * screen (train_cv.c). */
#define SCREEN_KEEP 2
#define SCREEN_ONLY 2

typedef struct job job;
struct job {
    scenario *S;
    dg_target t;
    const dg_model_family *fam;
    const dg_params *combos;
    int ncombos;
    dg_params *own_combos; /* combos when the job's own (job_distinct_combos) */
    int variant;
    int *order;            /* the combinations in the order a fold fits them */
    int *path;             /* per combination: its warm path (the first combination of it) */
    unsigned char *fit;    /* per combination: whether the current phase's folds fit it */
    double *screen;        /* per combination: fold 1's score in the screen (NaN: not fit) */
    int confirmed;         /* 1: only the screen's best went on to every fold */
    int screen_given;      /* 1: fold 1's screen came from another job (train_job_take_screen) */
    void **first;          /* per combination: fold 1's model (warm families), the start
                            * of the refit's fit */
    double *y;             /* per train row */
    double *oof;           /* [combo][train row][nout]: out-of-fold predictions */
    double *score;         /* per combination */
    int best;
    double cv_seconds;     /* the fold tasks' seconds, summed */
    void *model;           /* the refit */
    double *pred;          /* its test predictions */
    double refit_seconds;
    const job *of;         /* group12-sum: the group12 job it reads */
    char bases[160];       /* blend: its bases' families, "bases=A+B" */
    const dg_csr *x;       /* its train design: S->xtr[variant], or an ablation's */
    const dg_csr *all;     /* the scenario's unlabelled rows in that design, or NULL */
    double fit_cost, refit_cost; /* a fold's fit and the refit, for the progress */
};

typedef struct task {
    job *j;
    int fold;              /* -1: the refit */
    int screen;            /* 1: fold 1's whole grid, each path stopped when its score rose,
                            * then the other folds; SCREEN_ONLY: fold 1's alone */
    int rc, combo;         /* the failure and the combination that failed */
    dg_err err;
    double seconds;
} task;

int train_job_nout(const job *J);
/* Whether combinations a and b differ at most in parameter `except` ("":
 * in none). */
int train_same_but(const dg_params *a, const dg_params *b, const char *except);
void train_job_init(job *J, trainer *T, scenario *S, dg_target t, const dg_model_family *fam,
                    const dg_params *combos, int ncombos, int variant);
void train_job_free(job *J);
/* The fits of a job's cross-validation, for the progress. */
double train_job_fits(const trainer *T, const job *J);
/* train_cost.c: the progress's plan, fits weighed by their cost. */
/* Sets J's fit_cost and refit_cost (train_job_init calls it). */
void train_job_cost(trainer *T, job *J);
/* The plan of the whole training before its jobs are made (the families'
 * jobs over the built scenarios, and scenario 1's probes), from what is
 * done so far. */
void train_plan(trainer *T, const dg_model_family *const *fams, int nf, const int *ncombos,
                const unsigned *ftargets, unsigned scen);
/* Adds the jobs' cross-validation (and refits) to the plan. */
void train_plan_jobs(trainer *T, const job *jobs, size_t njobs, int refit);
/* Adds the jobs' fold-1 screens (train_screen) to the plan. */
void train_plan_screens(trainer *T, const job *jobs, size_t njobs);
/* Gives J the fold-1 screen `from` made of the same family, target and
 * design: each combination both have keeps from's fold-1 score, held-out
 * predictions and model, and J's cross-validation goes on from the screen
 * to the other folds. Returns the combinations taken (0: J screens as it
 * would). */
int train_job_take_screen(const trainer *T, job *J, job *from);
/* Cross-validates the jobs side by side (nfolds below the folds: only the
 * first nfolds held out, as the bag and count probes do), then each job's
 * scores and best combination. */
int train_cross_validate(trainer *T, job *jobs, size_t njobs, int nfolds, const char *what,
                         dg_err *err);
/* Fold 1's screen of each job alone: its whole grid along the warm paths,
 * each path ended at its first rising score; each job's score and best
 * combination on fold 1's rows (the numeric scale's probe). */
int train_screen(trainer *T, job *jobs, size_t njobs, const char *what, dg_err *err);
/* Refits each job's best combination on the whole train split. */
int train_refit(trainer *T, job *jobs, size_t njobs, dg_err *err);

/* train_blend.c: the group12-sum and blend jobs made from the others (a new
 * list of pointers, extra holding the jobs it adds; NULL on failure). */
job **train_with_group12_sum(trainer *T, job *jobs, size_t njobs, job *extra, size_t *nout);
job **train_with_blends(trainer *T, job **list, size_t n, job *extra, const dg_params *combos,
                        int ncombos, size_t *nout, dg_err *err);

/* train_ablation.c: the design columns [lo, hi) of one block of a spec, and
 * the ablation of the chosen models (--ablation). */
void train_block_columns(const dg_design_spec *s, unsigned bit, uint32_t *lo, uint32_t *hi);
int train_ablate(trainer *T, dg_err *err);

/* Appends a run to the result (train.c). */
void train_add_run(dg_train_result *r, const dg_run *run);

/* train_export.c: the chosen model of (s, t) into models/, the test devices,
 * split.csv, and the row of the chosen models of both scenarios. */
int train_export_chosen(trainer *T, int s, dg_target t, dg_err *err);
int train_export_test_devices(trainer *T, dg_err *err);
int train_write_split(trainer *T, dg_err *err);
void train_add_combined(trainer *T, dg_target t);
int train_export_designs(trainer *T, const char *dir, dg_err *err);

/* train_charts.c: the charts' numbers into the result, and their PNGs with
 * charts on. */
int train_chart_roc(trainer *T, dg_err *err);
int train_chart_calibration(trainer *T, dg_err *err);
int train_chart_residuals(trainer *T, int s, dg_err *err);

#endif
