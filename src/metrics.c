/* Metrics, as scikit-learn 1.2 defines them (see metrics.h). */
#include "demographer/metrics.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double dg_accuracy_binary(const double *y, const double *p, size_t n)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += (p[i] >= 0.5) == (y[i] > 0.5);
    return n ? (double)ok / (double)n : NAN;
}

typedef struct scored {
    double s;
    size_t i;
} scored;

/* Tied scores: equal, or both NaN (a NaN equals nothing, itself included,
 * so a tie loop on == alone never advanced past one). */
static int same_score(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* Ascending, NaNs last: a total order qsort can rely on. */
static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (!same_score(x->s, y->s))
        return isnan(x->s) ? 1 : isnan(y->s) ? -1 : x->s < y->s ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static scored *sort_scores(const double *score, size_t n)
{
    scored *v = dg_xmalloc((n + 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (scored){score[i], i};
    qsort(v, n, sizeof *v, cmp_scored);
    return v;
}

/* Mann-Whitney: the positives' rank sum, tied scores sharing their average rank. */
double dg_roc_auc(const double *y, const double *score, size_t n)
{
    /* A NaN score has no rank (and compares unequal even to itself, so the
     * tie loop below would never advance): no AUC. */
    for (size_t i = 0; i < n; i++)
        if (isnan(score[i]))
            return NAN;
    scored *v = sort_scores(score, n);
    double rank_sum = 0;
    size_t npos = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && same_score(v[b].s, v[a].s))
            b++;
        double avg = (double)(a + 1 + b) / 2.0; /* ranks a+1..b */
        for (size_t k = a; k < b; k++)
            if (y[v[k].i] > 0.5) {
                rank_sum += avg;
                npos++;
            }
        a = b;
    }
    free(v);
    size_t nneg = n - npos;
    if (npos == 0 || nneg == 0)
        return NAN;
    return (rank_sum - (double)npos * ((double)npos + 1) / 2.0) / ((double)npos * (double)nneg);
}

static double clip(double p)
{
    return p < DG_LOGLOSS_EPS ? DG_LOGLOSS_EPS : p > 1 - DG_LOGLOSS_EPS ? 1 - DG_LOGLOSS_EPS : p;
}

double dg_log_loss_binary(const double *y, const double *p, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double p1 = clip(p[i]), p0 = clip(1 - p[i]), z = p0 + p1;
        sum -= log((y[i] > 0.5 ? p1 : p0) / z);
    }
    return n ? sum / (double)n : NAN;
}

void dg_prf_binary(const double *y, const double *p, size_t n, double *precision,
                   double *recall, double *f1)
{
    size_t tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < n; i++) {
        int pred = p[i] >= 0.5, truth = y[i] > 0.5;
        tp += pred && truth;
        fp += pred && !truth;
        fn += !pred && truth;
    }
    *precision = tp + fp ? (double)tp / (double)(tp + fp) : 0;
    *recall = tp + fn ? (double)tp / (double)(tp + fn) : 0;
    *f1 = *precision + *recall > 0 ? 2 * *precision * *recall / (*precision + *recall) : 0;
}

static int argmax(const double *p, int k)
{
    int best = 0;
    for (int c = 1; c < k; c++)
        if (p[c] > p[best])
            best = c;
    return best;
}

double dg_accuracy_multi(const double *y, const double *prob, size_t n, int k)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += argmax(prob + i * (size_t)k, k) == (int)y[i];
    return n ? (double)ok / (double)n : NAN;
}

double dg_log_loss_multi(const double *y, const double *prob, size_t n, int k)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        const double *row = prob + i * (size_t)k;
        double z = 0;
        for (int c = 0; c < k; c++)
            z += clip(row[c]);
        sum -= log(clip(row[(int)y[i]]) / z);
    }
    return n ? sum / (double)n : NAN;
}

void dg_confusion(const double *y, const double *prob, const double *p, size_t n, int k,
                  uint64_t *counts)
{
    memset(counts, 0, (size_t)k * (size_t)k * sizeof *counts);
    for (size_t i = 0; i < n; i++) {
        int pred = prob ? argmax(prob + i * (size_t)k, k) : p[i] >= 0.5;
        counts[(size_t)y[i] * (size_t)k + (size_t)pred]++;
    }
}

double dg_mae(const double *y, const double *pred, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += fabs(y[i] - pred[i]);
    return n ? s / (double)n : NAN;
}

double dg_rmse(const double *y, const double *pred, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (y[i] - pred[i]) * (y[i] - pred[i]);
    return n ? sqrt(s / (double)n) : NAN;
}

double dg_r2(const double *y, const double *pred, size_t n)
{
    double mean = 0, res = 0, tot = 0;
    for (size_t i = 0; i < n; i++)
        mean += y[i];
    mean /= n ? (double)n : 1;
    for (size_t i = 0; i < n; i++) {
        res += (y[i] - pred[i]) * (y[i] - pred[i]);
        tot += (y[i] - mean) * (y[i] - mean);
    }
    return tot > 0 ? 1 - res / tot : NAN;
}

void dg_roc_curve(const double *y, const double *score, size_t n, double **fpr, double **tpr,
                  size_t *npoints)
{
    scored *v = sort_scores(score, n);
    size_t npos = 0;
    for (size_t i = 0; i < n; i++)
        npos += y[i] > 0.5;
    size_t nneg = n - npos;
    *fpr = dg_xmalloc((n + 2) * sizeof **fpr);
    *tpr = dg_xmalloc((n + 2) * sizeof **tpr);
    size_t m = 0, tp = 0, fp = 0;
    (*fpr)[m] = 0;
    (*tpr)[m++] = 0;
    /* Thresholds from the highest score down; tied scores enter together. */
    for (size_t b = n; b > 0;) {
        size_t a = b;
        while (a > 0 && same_score(v[a - 1].s, v[b - 1].s))
            a--;
        for (size_t k = a; k < b; k++) {
            if (y[v[k].i] > 0.5)
                tp++;
            else
                fp++;
        }
        (*fpr)[m] = nneg ? (double)fp / (double)nneg : 0;
        (*tpr)[m++] = npos ? (double)tp / (double)npos : 0;
        b = a;
    }
    free(v);
    *npoints = m;
}

void dg_calibration(const double *y, const double *p, size_t n, int nbins, uint64_t *count,
                    double *mean_p, double *observed)
{
    for (int b = 0; b < nbins; b++) {
        count[b] = 0;
        mean_p[b] = observed[b] = 0;
    }
    for (size_t i = 0; i < n; i++) {
        int b = (int)(p[i] * nbins);
        b = b < 0 ? 0 : b >= nbins ? nbins - 1 : b;
        count[b]++;
        mean_p[b] += p[i];
        observed[b] += y[i] > 0.5;
    }
    for (int b = 0; b < nbins; b++) {
        mean_p[b] = count[b] ? mean_p[b] / (double)count[b] : NAN;
        observed[b] = count[b] ? observed[b] / (double)count[b] : NAN;
    }
}

const dg_metric_info dg_metrics[DG_METRIC_COUNT] = {
#define DG_METRIC(field, column, label, tasks, brief, format, width) \
    {#field, column, label, tasks, brief, format, width},
#include "demographer/metrics.def"
#undef DG_METRIC
};

const dg_metric dg_metrics_brief[DG_METRIC_NBRIEF] = {
#define DG_METRIC(field, column, label, tasks, brief, format, width) \
    DG_METRIC_IF_BRIEF_##brief(DG_METRIC_##field, )
#include "demographer/metrics.def"
#undef DG_METRIC
};

static const size_t metric_offset[DG_METRIC_COUNT] = {
#define DG_METRIC(field, column, label, tasks, brief, format, width) offsetof(dg_eval, field),
#include "demographer/metrics.def"
#undef DG_METRIC
};

double dg_eval_get(const dg_eval *e, dg_metric m)
{
    return *(const double *)((const char *)e + metric_offset[m]);
}

double *dg_eval_at(dg_eval *e, dg_metric m)
{
    return (double *)((char *)e + metric_offset[m]);
}

int dg_eval_has(const dg_eval *e, dg_metric m)
{
    return (dg_metrics[m].tasks >> e->task) & 1;
}

char *dg_eval_format(const dg_eval *e, int brief, const char *sep, const char *none, char *buf,
                     size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int m = 0; m < DG_METRIC_COUNT && at < cap; m++) {
        const dg_metric_info *mi = &dg_metrics[m];
        if (!dg_eval_has(e, (dg_metric)m) || (brief && !mi->brief))
            continue;
        double v = dg_eval_get(e, (dg_metric)m);
        char val[64];
        if (isfinite(v))
            snprintf(val, sizeof val, mi->format, v);
        else
            snprintf(val, sizeof val, "%s", none);
        int w = snprintf(buf + at, cap - at, "%s%s %s", at ? sep : "", mi->label, val);
        at = w < 0 ? cap : at + (size_t)w;
    }
    return buf;
}

void dg_evaluate(dg_task task, int nclasses, const double *y, const double *pred, size_t n,
                 dg_eval *e)
{
    e->task = task;
    e->nclasses = nclasses;
    e->n = n;
    for (int m = 0; m < DG_METRIC_COUNT; m++)
        *dg_eval_at(e, (dg_metric)m) = NAN;
    switch (task) {
    case DG_TASK_BINARY:
        e->accuracy = dg_accuracy_binary(y, pred, n);
        e->auc = dg_roc_auc(y, pred, n);
        e->log_loss = dg_log_loss_binary(y, pred, n);
        dg_prf_binary(y, pred, n, &e->precision, &e->recall, &e->f1);
        break;
    case DG_TASK_MULTICLASS:
        e->accuracy = dg_accuracy_multi(y, pred, n, nclasses);
        e->log_loss = dg_log_loss_multi(y, pred, n, nclasses);
        break;
    case DG_TASK_REGRESSION:
        e->mae = dg_mae(y, pred, n);
        e->rmse = dg_rmse(y, pred, n);
        e->r2 = dg_r2(y, pred, n);
        break;
    }
}

double dg_eval_score(const dg_eval *e)
{
    return e->task == DG_TASK_REGRESSION ? e->rmse : e->log_loss;
}

static int same_value(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

int dg_eval_equal(const dg_eval *a, const dg_eval *b)
{
    for (int m = 0; m < DG_METRIC_COUNT; m++)
        if (!same_value(dg_eval_get(a, (dg_metric)m), dg_eval_get(b, (dg_metric)m)))
            return 0;
    return 1;
}
