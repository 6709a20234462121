/* The two baselines as model families.
 *
 * "prior": the training classes' shares (binary: P(y=1); multiclass: each
 * class's share) or the training mean (regression), the same for every row.
 *
 * "brand-model-prior": the smoothed class distribution (or mean) of the
 * device's model, backed off to its brand, backed off to the prior:
 *   P_brand = (S_brand + alpha P_prior) / (n_brand + alpha)
 *   P_model = (S_model + alpha P_brand) / (n_model + alpha)
 * where S is the sum of the rows' one-hot classes (or values) and n their
 * count. It reads a design of the phone blocks alone (design.h): a row's
 * lower non-zero column is its brand, a second one its model; a row with
 * none falls back to the prior. */
#include "demographer/model.h"

#include "demographer/textbuf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct prior_model {
    dg_task task;
    int nout;
    double alpha;
    uint32_t ncols;
    double prior[16];
    double *n;      /* ncols: rows per column (brand/model models only) */
    double *sum;    /* ncols * nout */
    int32_t *brand; /* ncols: the brand column a model column was seen with, -1 */
} prior_model;

static int prior_nout(const void *model)
{
    return ((const prior_model *)model)->nout;
}

static void prior_free(void *m)
{
    prior_model *p = m;
    if (!p)
        return;
    free(p->n);
    free(p->sum);
    free(p->brand);
    free(p);
}

/* The row's contribution: one-hot class, or the value. */
static void y_vector(const dg_trainset *t, uint32_t r, int nout, double *v)
{
    for (int k = 0; k < nout; k++)
        v[k] = 0;
    if (t->task == DG_TASK_MULTICLASS)
        v[(int)t->y[r]] = 1;
    else
        v[0] = t->y[r];
}

static int check_set(const dg_trainset *t, dg_err *err)
{
    int nout = dg_task_nout(t->task, t->nclasses);
    if (nout < 1 || nout > 16)
        return dg_fail(err, "prior: %d classes; at most 16", t->nclasses);
    if (t->x->nrows == 0)
        return dg_fail(err, "prior: no training rows");
    for (uint32_t r = 0; r < t->x->nrows; r++)
        if (t->task == DG_TASK_MULTICLASS && (t->y[r] < 0 || t->y[r] >= t->nclasses))
            return dg_fail(err, "prior: row %u has class %g, outside 0..%d", r, t->y[r],
                           t->nclasses - 1);
    return DG_OK;
}

static prior_model *fit_prior_part(const dg_trainset *t)
{
    prior_model *m = dg_xcalloc(1, sizeof *m);
    m->task = t->task;
    m->nout = dg_task_nout(t->task, t->nclasses);
    double v[16], wsum = 0;
    for (uint32_t r = 0; r < t->x->nrows; r++) {
        double w = t->weight ? t->weight[r] : 1;
        y_vector(t, r, m->nout, v);
        for (int k = 0; k < m->nout; k++)
            m->prior[k] += w * v[k];
        wsum += w;
    }
    for (int k = 0; k < m->nout; k++)
        m->prior[k] /= wsum > 0 ? wsum : 1;
    return m;
}

static int prior_fit(const dg_trainset *t, const dg_params *params, void **model,
                     const dg_progress *progress, dg_err *err)
{
    (void)params;
    (void)progress;
    if (check_set(t, err) != DG_OK)
        return DG_ERR;
    *model = fit_prior_part(t);
    return DG_OK;
}

static int prior_predict(const void *model, const dg_csr *x, double *out, dg_err *err)
{
    (void)err;
    const prior_model *m = model;
    for (uint32_t r = 0; r < x->nrows; r++)
        memcpy(out + (size_t)r * m->nout, m->prior, (size_t)m->nout * sizeof *out);
    return DG_OK;
}

static int bm_fit(const dg_trainset *t, const dg_params *params, void **model,
                  const dg_progress *progress, dg_err *err)
{
    (void)progress;
    if (check_set(t, err) != DG_OK)
        return DG_ERR;
    prior_model *m = fit_prior_part(t);
    m->alpha = dg_param(params, "alpha", 5);
    if (!(m->alpha >= 0)) {
        double alpha = m->alpha;
        prior_free(m);
        return dg_fail(err, "brand-model-prior: alpha must be >= 0, found %g", alpha);
    }
    m->ncols = t->x->ncols;
    m->n = dg_xcalloc((size_t)m->ncols + 1, sizeof *m->n);
    m->sum = dg_xcalloc(((size_t)m->ncols + 1) * (size_t)m->nout, sizeof *m->sum);
    m->brand = dg_xmalloc(((size_t)m->ncols + 1) * sizeof *m->brand);
    for (uint32_t c = 0; c < m->ncols; c++)
        m->brand[c] = -1;
    double v[16];
    for (uint32_t r = 0; r < t->x->nrows; r++) {
        double w = t->weight ? t->weight[r] : 1;
        y_vector(t, r, m->nout, v);
        uint64_t a = t->x->ptr[r], e = t->x->ptr[r + 1];
        for (uint64_t k = a; k < e && k < a + 2; k++) {
            uint32_t c = t->x->idx[k];
            m->n[c] += w;
            for (int o = 0; o < m->nout; o++)
                m->sum[(size_t)c * m->nout + o] += w * v[o];
        }
        if (e - a >= 2)
            m->brand[t->x->idx[a + 1]] = (int32_t)t->x->idx[a];
    }
    *model = m;
    return DG_OK;
}

static void smooth(const prior_model *m, uint32_t c, const double *base, double *out)
{
    double n = c < m->ncols ? m->n[c] : 0;
    for (int o = 0; o < m->nout; o++) {
        double s = c < m->ncols ? m->sum[(size_t)c * m->nout + o] : 0;
        out[o] = n + m->alpha > 0 ? (s + m->alpha * base[o]) / (n + m->alpha) : base[o];
    }
}

static int bm_predict(const void *model, const dg_csr *x, double *out, dg_err *err)
{
    (void)err;
    const prior_model *m = model;
    double brand[16];
    for (uint32_t r = 0; r < x->nrows; r++) {
        double *o = out + (size_t)r * m->nout;
        uint64_t a = x->ptr[r], e = x->ptr[r + 1];
        if (e == a) {
            memcpy(o, m->prior, (size_t)m->nout * sizeof *o);
            continue;
        }
        smooth(m, x->idx[a], m->prior, brand);
        if (e - a >= 2)
            smooth(m, x->idx[a + 1], brand, o);
        else
            memcpy(o, brand, (size_t)m->nout * sizeof *o);
    }
    return DG_OK;
}

static int prior_save(const void *model, const char *path, dg_err *err)
{
    const prior_model *m = model;
    dg_textbuf b = {0};
    dg_textbuf_printf(&b, "demographer-prior 1\ntask %d\nnout %d\nalpha %.17g\nncols %u\nprior",
                      (int)m->task, m->nout, m->alpha, m->ncols);
    for (int o = 0; o < m->nout; o++)
        dg_textbuf_printf(&b, " %.17g", m->prior[o]);
    dg_textbuf_putc(&b, '\n');
    for (uint32_t c = 0; m->n && c < m->ncols; c++) {
        if (m->n[c] == 0)
            continue;
        dg_textbuf_printf(&b, "%u %d %.17g", c, m->brand[c], m->n[c]);
        for (int o = 0; o < m->nout; o++)
            dg_textbuf_printf(&b, " %.17g", m->sum[(size_t)c * m->nout + o]);
        dg_textbuf_putc(&b, '\n');
    }
    int rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}

#define PRIOR_MAX_COLS (1 << 22)

static int prior_load(const char *path, void **model, dg_err *err)
{
    FILE *f = dg_open_regular(path, 0, err);
    if (!f)
        return DG_ERR;
    prior_model *m = dg_xcalloc(1, sizeof *m);
    int task, version;
    long long ncols = -1;
    int rc = DG_OK, line = 5;
    /* ncols read wide and bounded: %u wrapped 37131782945 to 2.8e9 columns,
     * gigabytes of per-column arrays (fuzz_models). A design has some 10^5. */
    if (fscanf(f, "demographer-prior %d task %d nout %d alpha %lg ncols %lld prior", &version,
               &task, &m->nout, &m->alpha, &ncols) != 5 ||
        version != 1 || m->nout < 1 || m->nout > 16 || task < 0 || task > 2 || ncols < 0 ||
        ncols > PRIOR_MAX_COLS)
        rc = dg_fail(err, "%s: not a demographer prior model (expected the header "
                          "'demographer-prior 1', task, nout 1..16, alpha, ncols 0..%d, prior)",
                     path, PRIOR_MAX_COLS);
    m->ncols = rc == DG_OK ? (uint32_t)ncols : 0;
    m->task = (dg_task)task;
    for (int o = 0; rc == DG_OK && o < m->nout; o++)
        if (fscanf(f, "%lg", &m->prior[o]) != 1)
            rc = dg_fail(err, "%s:%d: expected %d prior values", path, line + 1, m->nout);
    if (rc == DG_OK && m->ncols > 0) {
        m->n = dg_xcalloc((size_t)m->ncols + 1, sizeof *m->n);
        m->sum = dg_xcalloc(((size_t)m->ncols + 1) * (size_t)m->nout, sizeof *m->sum);
        m->brand = dg_xmalloc(((size_t)m->ncols + 1) * sizeof *m->brand);
        for (uint32_t c = 0; c < m->ncols; c++)
            m->brand[c] = -1;
        unsigned c;
        int br;
        double n;
        while (rc == DG_OK && fscanf(f, "%u %d %lg", &c, &br, &n) == 3) {
            line++;
            if (c >= m->ncols) {
                rc = dg_fail(err, "%s:%d: column %u outside 0..%u", path, line + 1, c,
                             m->ncols - 1);
                break;
            }
            m->n[c] = n;
            m->brand[c] = br;
            for (int o = 0; rc == DG_OK && o < m->nout; o++)
                if (fscanf(f, "%lg", &m->sum[(size_t)c * m->nout + o]) != 1)
                    rc = dg_fail(err, "%s:%d: expected %d sums", path, line + 1, m->nout);
        }
        if (rc == DG_OK && !feof(f)) {
            int ch;
            while ((ch = fgetc(f)) == ' ' || ch == '\n')
                ;
            if (ch != EOF)
                rc = dg_fail(err, "%s:%d: expected COLUMN BRAND N SUMS..., found '%c'", path,
                             line + 1, ch);
        }
    }
    fclose(f);
    if (rc != DG_OK) {
        prior_free(m);
        return rc;
    }
    *model = m;
    return DG_OK;
}

static const char *const no_params[] = {NULL};
static const char *const bm_params[] = {"alpha", NULL};
#define ALL_TASKS ((1u << DG_TASK_BINARY) | (1u << DG_TASK_MULTICLASS) | (1u << DG_TASK_REGRESSION))

const dg_model_family dg_family_prior = {
    .name = "prior",
    .summary = "baseline: the training class shares (or mean), the same for every device",
    .baseline = 1,
    .tasks = ALL_TASKS,
    .param_names = no_params,
    .grid = "",
    .phone_only = 1,
    .fit = prior_fit,
    .predict = prior_predict,
    .save = prior_save,
    .load = prior_load,
    .nout = prior_nout,
    .free = prior_free,
};

const dg_model_family dg_family_brand_model_prior = {
    .name = "brand-model-prior",
    .summary =
        "baseline: the smoothed classes (or mean age) of the device's model, then brand, then all",
    .baseline = 1,
    .tasks = ALL_TASKS,
    .param_names = bm_params,
    .grid = "alpha=2,10,50,200",
    .phone_only = 1,
    .fit = bm_fit,
    .predict = bm_predict,
    .save = prior_save,
    .load = prior_load,
    .nout = prior_nout,
    .free = prior_free,
};
