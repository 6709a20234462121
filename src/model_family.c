/* Shared parts of the model families: checks, the rand() lock, model files. */
#include "model_family.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *task_name(dg_task task)
{
    switch (task) {
    case DG_TASK_BINARY:
        return "binary classification";
    case DG_TASK_MULTICLASS:
        return "multiclass classification";
    case DG_TASK_REGRESSION:
        return "regression";
    }
    return "an unknown task";
}

int dg_family_check(const dg_model_family *f, const dg_trainset *t, const dg_params *p,
                    dg_err *err)
{
    if ((unsigned)t->task > DG_TASK_REGRESSION || !(f->tasks & (1u << t->task)))
        return dg_fail(err, "%s cannot fit %s", f->name, task_name(t->task));
    if (!t->x || t->x->nrows == 0 || t->x->ncols == 0)
        return dg_fail(err, "%s: the design matrix is empty (%u rows, %u columns)", f->name,
                       t->x ? t->x->nrows : 0, t->x ? t->x->ncols : 0);
    if (t->x->ncols >= INT32_MAX || t->x->nnz >= INT32_MAX)
        return dg_fail(err, "%s: the design matrix is too large (%u columns, %llu entries)",
                       f->name, t->x->ncols, (unsigned long long)t->x->nnz);
    if (t->task == DG_TASK_BINARY && t->nclasses != 2)
        return dg_fail(err, "%s: binary classification needs 2 classes, found %d", f->name,
                       t->nclasses);
    if (t->task == DG_TASK_MULTICLASS && (t->nclasses < 2 || t->nclasses > 1000))
        return dg_fail(err, "%s: multiclass classification needs 2 to 1000 classes, found %d",
                       f->name, t->nclasses);
    for (uint32_t i = 0; i < t->x->nrows; i++) {
        double y = t->y[i];
        if (t->task == DG_TASK_REGRESSION) {
            if (!isfinite(y))
                return dg_fail(err, "%s: row %u's target is %g, expected a finite number",
                               f->name, i, y);
        } else if (!(y >= 0 && y < t->nclasses && y == floor(y))) {
            return dg_fail(err, "%s: row %u's class is %g, expected a whole number in 0..%d",
                           f->name, i, y, t->nclasses - 1);
        }
    }
    if (t->weight) {
        double sum = 0;
        for (uint32_t i = 0; i < t->x->nrows; i++) {
            if (!isfinite(t->weight[i]) || t->weight[i] < 0)
                return dg_fail(err, "%s: row %u's weight is %g, expected a finite number >= 0",
                               f->name, i, t->weight[i]);
            sum += t->weight[i];
        }
        if (!(sum > 0))
            return dg_fail(err, "%s: every row's weight is 0", f->name);
    }
    for (int i = 0; i < p->n; i++) {
        int known = 0;
        for (const char *const *k = f->param_names; *k && !known; k++)
            known = strcmp(*k, p->name[i]) == 0;
        if (!known) {
            char names[256] = "";
            size_t at = 0;
            for (const char *const *k = f->param_names; *k && at < sizeof names; k++)
                at += (size_t)snprintf(names + at, sizeof names - at, "%s%s",
                                       k == f->param_names ? "" : ", ", *k);
            return dg_fail(err, "%s: unknown parameter '%s' (it takes %s)", f->name, p->name[i],
                           names);
        }
    }
    return DG_OK;
}

int dg_family_finite_values(const dg_model_family *f, const dg_csr *x, dg_err *err)
{
    for (uint32_t r = 0; r < x->nrows; r++)
        for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++)
            if (!isfinite(x->val[e]))
                return dg_fail(err, "%s: row %u, column %u holds %g; it needs finite values "
                               "(xgboost takes NaN as missing)",
                               f->name, r, x->idx[e], (double)x->val[e]);
    return DG_OK;
}

int dg_family_no_weights(const dg_model_family *f, const dg_trainset *t, dg_err *err)
{
    for (uint32_t i = 0; t->weight && i < t->x->nrows; i++)
        if (t->weight[i] != 1)
            return dg_fail(err, "%s takes no sample weights (row %u's weight is %g)", f->name,
                           i, t->weight[i]);
    return DG_OK;
}

void dg_family_params_of(const dg_model_family *inner, const dg_params *p, dg_params *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < p->n; i++)
        for (const char *const *k = inner->param_names; k && *k; k++)
            if (strcmp(*k, p->name[i]) == 0) {
                memcpy(out->name[out->n], p->name[i], sizeof out->name[0]);
                out->value[out->n++] = p->value[i];
                break;
            }
}

int dg_family_param(const dg_model_family *f, const dg_params *p, const char *name, double dflt,
                    double lo, double hi, int integer, double *out, dg_err *err)
{
    double v = dg_param(p, name, dflt);
    if (!(v >= lo && v <= hi) || (integer && v != floor(v)))
        return dg_fail(err, "%s: parameter %s=%g is out of range: expected %s in [%g, %g]",
                       f->name, name, v, integer ? "a whole number" : "a number", lo, hi);
    *out = v;
    return DG_OK;
}

int dg_family_check_cols(const char *family, const dg_csr *x, uint32_t ncols, dg_err *err)
{
    if (x->ncols != ncols)
        return dg_fail(err, "%s: the matrix has %u columns but the model was fit on %u", family,
                       x->ncols, ncols);
    return DG_OK;
}

static pthread_mutex_t rand_mutex = PTHREAD_MUTEX_INITIALIZER;

void dg_family_rand_lock(uint64_t seed)
{
    pthread_mutex_lock(&rand_mutex);
    srand((unsigned)(seed ^ (seed >> 32)));
}

void dg_family_rand_unlock(void)
{
    pthread_mutex_unlock(&rand_mutex);
}

void dg_family_class_counts(const dg_trainset *t, double *counts)
{
    memset(counts, 0, sizeof *counts * (size_t)t->nclasses);
    for (uint32_t i = 0; i < t->x->nrows; i++)
        counts[(int)t->y[i]] += t->weight ? t->weight[i] : 1;
}

void dg_family_put(dg_textbuf *b, const void *p, size_t n)
{
    dg_textbuf_put(b, p, n);
}

void dg_family_put_u32(dg_textbuf *b, uint32_t v)
{
    dg_textbuf_put(b, (const char *)&v, sizeof v);
}

void dg_family_put_f64(dg_textbuf *b, double v)
{
    dg_textbuf_put(b, (const char *)&v, sizeof v);
}

int dg_family_open(dg_family_reader *r, const char *path, const char *magic, dg_err *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    FILE *fp = dg_open_regular(path, 0, err);
    if (!fp)
        return DG_ERR;
    size_t cap = 1 << 16;
    r->data = dg_xmalloc(cap);
    size_t n;
    while ((n = fread(r->data + r->len, 1, cap - r->len, fp)) > 0) {
        r->len += n;
        if (r->len == cap)
            r->data = dg_xrealloc(r->data, cap *= 2);
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        dg_family_close(r);
        return dg_fail(err, "%s: read error", path);
    }
    size_t mlen = strlen(magic);
    if (r->len < mlen || memcmp(r->data, magic, mlen) != 0) {
        dg_family_close(r);
        return dg_fail(err, "%s: not a model file of this kind: expected it to start with '%.*s'",
                       path, (int)mlen - 1, magic);
    }
    r->at = mlen;
    return DG_OK;
}

int dg_family_get(dg_family_reader *r, void *p, size_t n, const char *what, dg_err *err)
{
    if (r->len - r->at < n)
        return dg_fail(err, "%s: the file ends at byte %zu while reading %s (%zu bytes needed)",
                       r->path, r->len, what, n);
    memcpy(p, r->data + r->at, n);
    r->at += n;
    return DG_OK;
}

int dg_family_get_f64s(dg_family_reader *r, size_t n, double **out, const char *what,
                       dg_err *err)
{
    *out = NULL;
    if (n > (r->len - r->at) / sizeof **out)
        return dg_fail(err, "%s: the file ends before its %zu %s", r->path, n, what);
    *out = dg_xmalloc(sizeof **out * n + 1);
    return dg_family_get(r, *out, sizeof **out * n, what, err);
}

int dg_family_get_u32(dg_family_reader *r, uint32_t *v, uint32_t max, const char *what,
                      dg_err *err)
{
    size_t at = r->at;
    if (dg_family_get(r, v, sizeof *v, what, err))
        return DG_ERR;
    if (*v > max) {
        /* Never left above max: blend_load's cleanup looped to an nbases of
         * 33 over its 32 bases (found by fuzz_models, UBSan). */
        uint32_t got = *v;
        *v = 0;
        return dg_fail(err, "%s: byte %zu: %s is %u, expected at most %u", r->path, at, what, got,
                       max);
    }
    return DG_OK;
}

int dg_family_get_f64(dg_family_reader *r, double *v, const char *what, dg_err *err)
{
    return dg_family_get(r, v, sizeof *v, what, err);
}

int dg_family_end(dg_family_reader *r, dg_err *err)
{
    if (r->at != r->len)
        return dg_fail(err, "%s: %zu unexpected bytes after the model at byte %zu", r->path,
                       r->len - r->at, r->at);
    return DG_OK;
}

void dg_family_close(dg_family_reader *r)
{
    free(r->data);
    r->data = NULL;
}

char *dg_family_inner_path(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    char *p = dg_xmalloc(n + e + 1);
    memcpy(p, path, n);
    memcpy(p + n, ext, e + 1);
    return p;
}
