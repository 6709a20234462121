/* Evaluation metrics, computed as scikit-learn computes them (so that the
 * peer benchmark compares like with like): accuracy, ROC AUC (tied scores
 * take their average rank), log loss (probabilities clipped to
 * [1e-15, 1 - 1e-15] and each row renormalised, as sklearn 1.2), precision /
 * recall / F1 of the positive class, confusion matrix, MAE, RMSE, R²; and
 * the points of a ROC curve and calibration bins for the charts. */
#ifndef DEMOGRAPHER_METRICS_H
#define DEMOGRAPHER_METRICS_H

#include "demographer/model.h"

#define DG_LOGLOSS_EPS 1e-15

/* Binary: y in {0,1}, p = P(y=1). Predicted class is p >= 0.5. */
double dg_accuracy_binary(const double *y, const double *p, size_t n);
/* NaN when y holds only one class. */
double dg_roc_auc(const double *y, const double *score, size_t n);
double dg_log_loss_binary(const double *y, const double *p, size_t n);
/* Precision, recall and F1 of class 1 (0 when undefined, as sklearn's
 * zero_division=0). */
void dg_prf_binary(const double *y, const double *p, size_t n, double *precision,
                   double *recall, double *f1);

/* Multiclass: y in {0..k-1}, prob n*k row-major. Accuracy of the argmax (the
 * first of equal maxima). */
double dg_accuracy_multi(const double *y, const double *prob, size_t n, int k);
double dg_log_loss_multi(const double *y, const double *prob, size_t n, int k);
/* counts[true * k + predicted]; the binary form passes prob = NULL and p. */
void dg_confusion(const double *y, const double *prob, const double *p, size_t n, int k,
                  uint64_t *counts);

/* Regression. R² is 1 - SS_res/SS_tot (NaN when y is constant). */
double dg_mae(const double *y, const double *pred, size_t n);
double dg_rmse(const double *y, const double *pred, size_t n);
double dg_r2(const double *y, const double *pred, size_t n);

/* The ROC curve: points at each distinct score, from (0,0) to (1,1);
 * fpr/tpr are allocated here (*npoints entries, freed by the caller). */
void dg_roc_curve(const double *y, const double *score, size_t n, double **fpr, double **tpr,
                  size_t *npoints);
/* Calibration over nbins equal-width bins of p: per bin the count, the mean
 * p and the share of y = 1 (both NaN in an empty bin). */
void dg_calibration(const double *y, const double *p, size_t n, int nbins, uint64_t *count,
                    double *mean_p, double *observed);

/* The metrics of metrics.def: their ids, and per id its names, tasks and
 * format. */
#define DG_METRIC_BINARY (1u << DG_TASK_BINARY)
#define DG_METRIC_CLASSIFICATION ((1u << DG_TASK_BINARY) | (1u << DG_TASK_MULTICLASS))
#define DG_METRIC_REGRESSION (1u << DG_TASK_REGRESSION)
/* Expands to its arguments for a brief metric, to nothing for the others:
 * DG_METRIC_IF_BRIEF_##brief(...) in a DG_METRIC of metrics.def. */
#define DG_METRIC_IF_BRIEF_1(...) __VA_ARGS__
#define DG_METRIC_IF_BRIEF_0(...)

typedef enum dg_metric {
#define DG_METRIC(field, column, label, tasks, brief, format, width) DG_METRIC_##field,
#include "demographer/metrics.def"
#undef DG_METRIC
    DG_METRIC_COUNT
} dg_metric;

/* How many metrics are brief. */
enum {
    DG_METRIC_NBRIEF = 0
#define DG_METRIC(field, column, label, tasks, brief, format, width) +(brief)
#include "demographer/metrics.def"
#undef DG_METRIC
};

typedef struct dg_metric_info {
    const char *name;   /* dg_eval's field, the key in files */
    const char *column; /* the workbench's column */
    const char *label;  /* for people */
    unsigned tasks;     /* bits 1u << dg_task */
    int brief;
    const char *format;
    int width;
} dg_metric_info;
extern const dg_metric_info dg_metrics[DG_METRIC_COUNT];
/* The brief metrics, in the table's order. */
extern const dg_metric dg_metrics_brief[DG_METRIC_NBRIEF];

/* Every metric of a task at once. Fields a task does not have are NaN. */
typedef struct dg_eval {
    dg_task task;
    int nclasses;
    uint64_t n;
#define DG_METRIC(field, column, label, tasks, brief, format, width) double field;
#include "demographer/metrics.def"
#undef DG_METRIC
} dg_eval;

/* Metric m of e, and where it is kept. */
double dg_eval_get(const dg_eval *e, dg_metric m);
double *dg_eval_at(dg_eval *e, dg_metric m);
/* 1 when metric m is one of e's task's (else it is NaN). */
int dg_eval_has(const dg_eval *e, dg_metric m);
/* e's metrics for people into buf: "label value" for each of its task's
 * (only the brief ones with brief), joined by sep, a value in its format or
 * none when it is not finite. Returns buf. */
char *dg_eval_format(const dg_eval *e, int brief, const char *sep, const char *none, char *buf,
                     size_t cap);

/* pred: nout per row (see model.h). */
void dg_evaluate(dg_task task, int nclasses, const double *y, const double *pred, size_t n,
                 dg_eval *out);
/* Every metric equal (NaN equal to NaN): a reloaded model scores exactly as
 * train measured it. */
int dg_eval_equal(const dg_eval *a, const dg_eval *b);
/* The score cross-validation minimises: log loss for classification, RMSE
 * for regression. */
double dg_eval_score(const dg_eval *e);

#endif
