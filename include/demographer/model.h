/* Models: one interface over every model family (class-prior and brand/model
 * baselines, LIBLINEAR, LIBSVM, softmax regression on liblbfgs, gradient-
 * boosted trees through XGBoost's C API), so training, cross-validation,
 * comparison, export and serving never name a library.
 *
 * A family fits on a CSR design matrix (features.h's dg_csr: rows are
 * devices, values floats) and predicts doubles: class probabilities for the
 * classification tasks, the value for regression. Library output is silenced
 * and every random choice is seeded from dg_trainset.seed, so a fit repeats
 * exactly. */
#ifndef DEMOGRAPHER_MODEL_H
#define DEMOGRAPHER_MODEL_H

#include "demographer/features.h"

typedef enum dg_task {
    DG_TASK_BINARY,     /* y in {0,1}; predicts P(y=1) (nout 1) */
    DG_TASK_MULTICLASS, /* y in {0..nclasses-1}; predicts nclasses probabilities summing to 1 */
    DG_TASK_REGRESSION, /* y real; predicts the value (nout 1) */
} dg_task;

/* The brief's targets. Gender: 1 = female (the campaigns rank P(female)).
 * The Upgrad brief's 6 age groups and Kaggle's 12 gender-age groups. */
typedef enum dg_target {
    DG_TARGET_GENDER,
    DG_TARGET_AGE,
    DG_TARGET_GROUP6,
    DG_TARGET_GROUP12,
    DG_TARGET_COUNT
} dg_target;

/* Hyper-parameters as name=value pairs ("C=0.1 eps=0.01 rows=20000"). */
#define DG_PARAMS_MAX 12
typedef struct dg_params {
    int n;
    char name[DG_PARAMS_MAX][24];
    double value[DG_PARAMS_MAX];
} dg_params;

/* Parses "C=0.1 eps=0.01" (spaces or commas between pairs); "" is no
 * parameters. Fails on a malformed pair or an unknown name when `known` (a
 * NULL-terminated list) is given. */
int dg_params_parse(dg_params *p, const char *text, const char *const *known, dg_err *err);
/* The value of a parameter, or dflt when it is not set. */
double dg_param(const dg_params *p, const char *name, double dflt);
/* Writes "C=0.1 eps=0.01" (shortest round-trip form of each value) into buf. */
void dg_params_format(const dg_params *p, char *buf, size_t size);

typedef struct dg_trainset {
    const dg_csr *x;
    const double *y;      /* x->nrows values: the class index, or the regression value */
    const double *weight; /* NULL: 1 each */
    dg_task task;
    int nclasses;         /* 2 for binary, K for multiclass, 0 for regression */
    uint64_t seed;
    /* Threads a family may use for this fit when its own `threads` parameter
     * is not given; 0: the family's default. Cross-validation runs its fits
     * side by side with 1 each, so their results do not depend on the
     * number of cores. */
    int threads;
    /* A model of the same family fit on the same columns (the previous point
     * of a penalty path, see warm_param): a starting point the family may
     * use. The optimum does not depend on it beyond the solver's tolerance. */
    const void *warm;
    /* The design's app block, columns [apps_lo, apps_hi) (0, 0: none known),
     * for the families that read the apps apart (persona-softmax). */
    uint32_t apps_lo, apps_hi;
    /* Rows of the same design without their labels: every device of the
     * scenario, test and unlabelled ones included, for what a family learns
     * without labels (persona-softmax's mixture); NULL: none. No label of
     * theirs is read, so no choice depends on the test split. */
    const dg_csr *unlabelled;
} dg_trainset;

/* Outputs per row of a prediction: 1 for binary and regression, nclasses for
 * multiclass. */
int dg_task_nout(dg_task task, int nclasses);

/* A linear model as export-sql writes it: score z[c] = bias[c] + sum over
 * design columns j of x[j] * w[j * nclasses + c], biases at w[ncols *
 * nclasses + c], probabilities the softmax of z (binary: predict gives
 * P(class 1)). With map (group12-sum), the 12 probabilities are then summed
 * into nout outputs: out[j] = sum over g of p[g] * map[g * nout + j]. */
typedef struct dg_linear_view {
    uint32_t ncols, nclasses;
    int binary;
    /* 1: one-vs-rest, probabilities the sigmoids of z normalised to sum to
     * 1 (LIBLINEAR's multiclass logistic regression) instead of the softmax. */
    int ovr;
    const double *w;
    const double *map; /* NULL, or 12 x nout */
    uint32_t nout;
} dg_linear_view;

typedef struct dg_model_family {
    const char *name;    /* "prior", "liblinear-lr-l2", "softmax", "xgboost", ... */
    const char *summary; /* one line for --help and the Models pane */
    int baseline;        /* a reference a real model must beat (the priors): the
                            report sets the chosen models beside these */
    unsigned tasks;      /* bit (1u << dg_task) for each task it fits */
    const char *const *param_names; /* NULL-terminated: the parameters fit() reads */
    const char *grid;    /* the default cross-validation grid: "C=0.01,0.1,1 eps=0.01" */
    int (*fit)(const dg_trainset *t, const dg_params *params, void **model,
               const dg_progress *progress, dg_err *err);
    /* out holds x->nrows * nout doubles, row-major. */
    int (*predict)(const void *model, const dg_csr *x, double *out, dg_err *err);
    /* The model's own file (written atomically by the family). */
    int (*save)(const void *model, const char *path, dg_err *err);
    int (*load)(const char *path, void **model, dg_err *err);
    /* The numbers predict writes per row, as the model (a loaded file) says:
     * a model folder's reader refuses a model whose count is not its
     * target's, before predict could write past a buffer of the target's
     * size. */
    int (*nout)(const void *model);
    void (*free)(void *model);
    /* The penalty a warm start follows (NULL: the family ignores `warm`):
     * cross-validation fits a fold's grid in the order of this parameter,
     * from its highest value down when warm_descending (a penalty like l2),
     * else up (a cost like C), each fit starting from the one before. */
    const char *warm_param;
    int warm_descending;
    /* The model as weights of one linear layer and a softmax, for export-sql
     * (NULL, or DG_ERR for this model: no SQL form). A view into the model,
     * not a copy. */
    int (*linear)(const void *model, struct dg_linear_view *out);
    /* 1: reads the phone blocks alone (design.h), whatever design it is
     * given, so training gives it that design in every scenario and the
     * bags and counts are no choice of its. */
    int phone_only;
    /* 1: fit learns from dg_trainset.unlabelled too (a model of the same
     * rows differs with and without them). */
    int reads_unlabelled;
} dg_model_family;

/* Every family, NULL-terminated, and lookup by name (NULL when unknown;
 * it also finds group12-sum and blend, which are in no list). */
extern const dg_model_family *const dg_model_families[];
const dg_model_family *dg_model_family_find(const char *name);

/* group12-sum (model_group12.c): gender (task BINARY, nout 1) or group6
 * (MULTICLASS, nout 6) from a group12 model, out[r][j] = sum over g of
 * P(group12 g) * map[g * nout + j]. Train makes it from a fitted group12
 * model, which it keeps and frees itself; a loaded one owns its inner model. */
extern const dg_model_family dg_family_group12_sum;
void *dg_group12_sum_make(const dg_model_family *inner_family, void *inner, dg_task task,
                          const double *map);
void dg_group12_apply(const double *p12, uint32_t n, int nout, const double *map, double *out);

/* What the models predict for one device; what campaigns and the API use. */
typedef struct dg_prediction {
    int64_t device_id;
    int scenario;         /* 1: the device has events, 2: it has none */
    double p_female;
    double age;
    double group6[6];     /* P of each Upgrad group, in dg_group6_names order */
    double group12[12];   /* P of each Kaggle group, in dg_group12_names order */
} dg_prediction;

/* The group names as the label files write them: F0-24 F25-32 F32+ M0-24
 * M25-32 M32+ (where "32+" is 33 and over), and F23- F24-26 F27-28 F29-32
 * F33-42 F43+ M22- M23-26 M27-28 M29-31 M32-38 M39+. */
extern const char *const dg_group6_names[6];
extern const char *const dg_group12_names[12];
/* The index of a group name in either list, or -1. */
int dg_group6_index(const char *name);
int dg_group12_index(const char *name);
/* The group a (female, age) pair belongs to. */
int dg_group6_of(int female, double age);
int dg_group12_of(int female, double age);

#endif
