/* Training's charts: ROC and calibration of gender, age residuals per
 * scenario, as numbers in the result (dg_train_chart) and as PNGs. */
#include "train_impl.h"

#include "demographer/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- charts ----------------------------------------------------------------------- */

/* 1 for a female test device of scenario s, else 0, in test order. */
static double *test_female(const trainer *T, int s)
{
    uint32_t n = T->sc[s].nte;
    double *y = dg_xmalloc(((size_t)n + 1) * sizeof *y);
    for (uint32_t i = 0; i < n; i++)
        y[i] = T->lab.female[T->sc[s].te_lab[i]];
    return y;
}

int dg_train_chart(const dg_train_result *r, int which, dg_train_chart_view *out)
{
    /* Bands of one quantity: one colour, not a rainbow. */
    static const int one_colour[DG_RESIDUAL_BANDS] = {4, 4, 4, 4, 4, 4, 4};
    static const char *const bands[DG_RESIDUAL_BANDS] = {"<=22",  "23-26", "27-28", "29-32",
                                                         "33-38", "39-45", "46+"};
    const dg_train_charts *tc = &r->charts;
    memset(out, 0, sizeof *out);
    if (which < 0 || which >= DG_TRAIN_CHARTS || !tc->have[which])
        return 0;
    if (which == DG_TRAIN_CHART_ROC) {
        for (int k = 0; k < tc->roc_series; k++)
            out->names[k] = tc->roc_names[k];
        snprintf(out->file, sizeof out->file, "roc_gender.png");
        out->chart = (dg_chart){.kind = DG_CHART_LINE,
                                .title = "ROC curve: gender (P(female)), test split",
                                .subtitle = tc->split_text,
                                .value_label = "true positive rate",
                                .category_label = "false positive rate",
                                .n = DG_ROC_POINTS,
                                .x = tc->roc_x,
                                .values = tc->roc_v,
                                .nseries = tc->roc_series,
                                .series_names = out->names};
    } else if (which == DG_TRAIN_CHART_CALIBRATION) {
        for (int k = 0; k < tc->cal_series; k++)
            out->names[k] = tc->cal_names[k];
        snprintf(out->file, sizeof out->file, "calibration_gender.png");
        out->chart = (dg_chart){
            .kind = DG_CHART_LINE,
            .title = "Calibration: gender, test split",
            .subtitle = tc->split_text,
            .value_label = "observed share female",
            .category_label = "predicted P(female) (bins of 0.1, at their middle)",
            .n = DG_CALIBRATION_BINS,
            .x = tc->cal_x,
            .x_from_zero = 1,
            .values = tc->cal_v,
            .nseries = tc->cal_series,
            .series_names = out->names,
            .point_marks = 1,
            .counts = tc->cal_count,
            .counts_label = "test devices in the bin"};
    } else {
        int s = which - DG_TRAIN_CHART_RESIDUALS_S1;
        snprintf(out->file, sizeof out->file, "residuals_age_s%d.png", s + 1);
        out->chart = (dg_chart){.kind = DG_CHART_BOX,
                                .title = tc->res_title[s],
                                .subtitle = tc->res_sub[s],
                                .value_label = "predicted age",
                                .category_label = "true age band",
                                .n = DG_RESIDUAL_BANDS,
                                .labels = bands,
                                .values = tc->res_v[s],
                                .colours = one_colour};
    }
    return 1;
}

/* Saves chart which of the result under train's out directory (with charts on). */
static int save_train_chart(const trainer *T, int which, dg_err *err)
{
    dg_train_chart_view v;
    if (!T->o->charts || !dg_train_chart(T->res, which, &v))
        return DG_OK;
    char *path = dg_path_join(T->o->out_dir, v.file);
    int rc = dg_chart_save(&v.chart, path, err);
    free(path);
    return rc;
}

int train_chart_roc(trainer *T, dg_err *err)
{
    enum { NPTS = DG_ROC_POINTS };
    dg_train_charts *tc = &T->res->charts;
    double *xs = tc->roc_x, *values = tc->roc_v;
    for (int i = 0; i < NPTS; i++)
        xs[i] = i / (double)(NPTS - 1);
    char (*name)[96] = tc->roc_names;
    int ns = 0;
    for (int s = 1; s <= 2; s++) {
        chosen *c = &T->ch[s][DG_TARGET_GENDER];
        if (c->have)
            snprintf(name[ns++], sizeof name[0], "scenario %d: %s (AUC %.3f)", s,
                     c->family->name, T->res->runs[c->run].test.auc);
    }
    if (!ns)
        return DG_OK;
    int si = 0;
    for (int s = 1; s <= 2; s++) {
        chosen *c = &T->ch[s][DG_TARGET_GENDER];
        if (!c->have)
            continue;
        uint32_t n = T->sc[s].nte;
        double *y = test_female(T, s), *fpr, *tpr;
        size_t np;
        dg_roc_curve(y, c->test_pred, n, &fpr, &tpr, &np);
        /* The TPR at each grid FPR, on the straight line between the
         * curve's points: tied scores enter together, so between two
         * points the curve is a line (a constant predictor is the
         * diagonal), not a step. */
        for (int g = 0; g < NPTS; g++) {
            double x = g / (double)(NPTS - 1), best = 0;
            for (size_t q = 0; q + 1 < np; q++) {
                if (!(fpr[q] <= x + 1e-12 && x <= fpr[q + 1] + 1e-12))
                    continue;
                double w = fpr[q + 1] - fpr[q];
                double t = w > 0 ? tpr[q] + (tpr[q + 1] - tpr[q]) * (x - fpr[q]) / w
                                 : tpr[q + 1];
                if (t > best)
                    best = t;
            }
            values[g * (ns + 1) + si] = best;
        }
        si++;
        free(y);
        free(fpr);
        free(tpr);
    }
    snprintf(name[ns], sizeof name[ns], "chance");
    for (int g = 0; g < NPTS; g++)
        values[g * (ns + 1) + ns] = g / (double)(NPTS - 1);
    tc->roc_series = ns + 1;
    tc->have[DG_TRAIN_CHART_ROC] = 1;
    snprintf(tc->split_text, sizeof tc->split_text, "%s", T->lab.split_text);
    return save_train_chart(T, DG_TRAIN_CHART_ROC, err);
}

int train_chart_calibration(trainer *T, dg_err *err)
{
    enum { NB = DG_CALIBRATION_BINS };
    dg_train_charts *tc = &T->res->charts;
    double *xs = tc->cal_x, *values = tc->cal_v;
    for (int b = 0; b < NB; b++)
        xs[b] = (b + 0.5) / NB; /* the bin's middle, on a numeric axis */
    char (*name)[96] = tc->cal_names;
    int ns = 0;
    for (int s = 1; s <= 2; s++)
        if (T->ch[s][DG_TARGET_GENDER].have)
            ns++;
    if (!ns)
        return DG_OK;
    int si = 0;
    for (int s = 1; s <= 2; s++) {
        chosen *c = &T->ch[s][DG_TARGET_GENDER];
        if (!c->have)
            continue;
        uint32_t n = T->sc[s].nte;
        double *y = test_female(T, s);
        uint64_t count[NB];
        double mean_p[NB], obs[NB];
        dg_calibration(y, c->test_pred, n, NB, count, mean_p, obs);
        /* An empty bin has no observed share: it is left out of the curve
         * (as scikit-learn's calibration_curve does), not drawn at 0. */
        for (int b = 0; b < NB; b++) {
            values[b * (ns + 1) + si] = count[b] ? obs[b] : NAN;
            tc->cal_count[b * (ns + 1) + si] = (double)count[b];
        }
        snprintf(name[si], sizeof name[si], "scenario %d: %s, observed share female", s,
                 c->family->name);
        si++;
        free(y);
    }
    snprintf(name[ns], sizeof name[ns], "perfect calibration (bin middle)");
    for (int b = 0; b < NB; b++) {
        values[b * (ns + 1) + ns] = (b + 0.5) / NB;
        tc->cal_count[b * (ns + 1) + ns] = NAN;
    }
    tc->cal_series = ns + 1;
    tc->have[DG_TRAIN_CHART_CALIBRATION] = 1;
    return save_train_chart(T, DG_TRAIN_CHART_CALIBRATION, err);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    return lo + 1 < n ? v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]) : v[n - 1];
}

/* Predicted age per true-age band as boxes (whiskers at the 5th and 95th
 * percentiles): a band's residual is how far its box sits from the band. */
int train_chart_residuals(trainer *T, int s, dg_err *err)
{
    chosen *c = &T->ch[s][DG_TARGET_AGE];
    if (!c->have)
        return DG_OK;
    static const double top[] = {22, 26, 28, 32, 38, 45, 1e9};
    enum { NB = DG_RESIDUAL_BANDS };
    dg_train_charts *tc = &T->res->charts;
    double *values = tc->res_v[s - 1];
    uint32_t n = T->sc[s].nte;
    double *band = dg_xmalloc(((size_t)n + 1) * sizeof *band);
    for (int b = 0; b < NB; b++) {
        size_t m = 0;
        for (uint32_t i = 0; i < n; i++) {
            double age = T->lab.age[T->sc[s].te_lab[i]];
            int bi = 0;
            while (age > top[bi])
                bi++;
            if (bi == b)
                band[m++] = c->test_pred[i];
        }
        qsort(band, m, sizeof *band, cmp_double);
        double qs[5] = {0.05, 0.25, 0.5, 0.75, 0.95};
        for (int q = 0; q < 5; q++)
            values[b * 5 + q] = m ? fmax(0, quantile(band, m, qs[q])) : 0;
    }
    free(band);
    char *title = tc->res_title[s - 1], *sub = tc->res_sub[s - 1];
    const dg_eval *e = &T->res->runs[c->run].test;
    snprintf(title, sizeof tc->res_title[0],
             "Age residuals, scenario %d (%s): predicted age by true age band", s,
             c->family->name);
    snprintf(sub, sizeof tc->res_sub[0],
             "test split: MAE %.2f, RMSE %.2f, R2 %.3f; boxes 25-75%%, whiskers 5-95%%", e->mae,
             e->rmse, e->r2);
    tc->have[DG_TRAIN_CHART_RESIDUALS_S1 + s - 1] = 1;
    return save_train_chart(T, DG_TRAIN_CHART_RESIDUALS_S1 + s - 1, err);
}

