/* blend: a logistic combiner over other families' probabilities (stacking:
 * the families err differently, and a combiner fit out of fold weighs them).
 * Its input per device is, per base model, the logit of P(1) (binary) or the
 * log of each class's probability, and the combiner is one of two, a
 * parameter of the grid: softmax (model_softmax.c) on those columns (pool=0:
 * a weight per input column and class), or the log-linear pool (pool=1: one
 * weight per base and an intercept per class, s_c = a_c + sum_b w_b log
 * p_bc). The pool can always give the best base alone (its weight 1, the
 * others 0) at almost no penalty, where softmax's penalty on its many
 * weights pulls that towards the uniform; on a few hundred rows softmax's
 * combiner lost to its best base (bench/RESULTS.md). For a binary task the
 * two are the same model.
 *
 * Train (train.c) makes it from the jobs of one scenario and target: the
 * combiner is fit on the bases' out-of-fold predictions, and its own CV
 * score is the combiner cross-validated on those rows with the same folds,
 * so the test split chooses nothing. Like group12-sum it is no family one
 * fits on a design (tasks 0); a model directory loads it by name.
 *
 * The design. A model directory keeps one design per model, and the bases
 * read two: the phone-only families the phone blocks (variant V_PHONE), the
 * others the bag variant's full design. The phone design's columns are the
 * full design's brand and model columns (both learnt from the same train
 * rows), so the blend reads the full design, and each base that reads
 * another keeps a map from the full design's columns to its own: predict
 * takes each row's entries through the map, leaving out the columns the
 * base does not read, and gives the base exactly the matrix it was trained
 * on. Train builds the maps by column name and keeps a base only when every
 * one of its columns is reached, in order.
 *
 * The file: our header, the task, classes, design columns and bases (each
 * its family's name, its columns and its map); the combiner is at
 * PATH.combiner (softmax's own file, or the pool's: its header, the bases,
 * the classes, then the weights and the intercepts as doubles), base b its
 * family's file at PATH.base<b>. */
#include "model_blend.h"

#include "model_family.h"
#include "model_softmax.h"

#include "demographer/design.h"

#include <lbfgs.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BASES 32

typedef struct blend_model {
    uint32_t task, nclasses, nout, ncols, nbases;
    dg_blend_base bases[MAX_BASES];
    uint32_t *maps[MAX_BASES]; /* ours: copies, or NULL for the identity */
    int owned;                 /* 1: the base models are ours (a loaded blend) */
    struct combiner *combiner;
} blend_model;

static double clip(double p)
{
    return p < DG_BLEND_CLIP ? DG_BLEND_CLIP : p > 1 - DG_BLEND_CLIP ? 1 - DG_BLEND_CLIP : p;
}

void dg_blend_inputs(const double *const *pred, int nbases, uint32_t n, dg_task task, int nout,
                     dg_csr *z)
{
    uint32_t ncols = (uint32_t)nbases * (uint32_t)nout;
    z->nrows = n;
    z->ncols = ncols;
    z->ptr = dg_xmalloc(((size_t)n + 1) * sizeof *z->ptr);
    z->idx = dg_xmalloc(((size_t)n * ncols + 1) * sizeof *z->idx);
    z->val = dg_xmalloc(((size_t)n * ncols + 1) * sizeof *z->val);
    uint64_t at = 0;
    z->ptr[0] = 0;
    for (uint32_t r = 0; r < n; r++) {
        for (int b = 0; b < nbases; b++)
            for (int j = 0; j < nout; j++) {
                double p = clip(pred[b][(size_t)r * (size_t)nout + (size_t)j]);
                float v = (float)(task == DG_TASK_BINARY ? log(p / (1 - p)) : log(p));
                if (v == 0)
                    continue;
                z->idx[at] = (uint32_t)(b * nout + j);
                z->val[at++] = v;
            }
        z->ptr[r + 1] = at;
    }
    z->nnz = at;
}

/* The combiner: softmax's model (soft), or the pool's numbers (pool: nb
 * weights, then the intercepts: one for a binary task, else one per
 * class). */
typedef struct combiner {
    void *soft;
    uint32_t nb, nout;
    double *pool;
} combiner;

static void combiner_free(combiner *c)
{
    if (!c)
        return;
    if (c->soft)
        dg_family_softmax.free(c->soft);
    free(c->pool);
    free(c);
}

/* z as a dense row-major matrix (the entries z leaves out are 0): row r's
 * input of base b for output j at r * ncols + b * nout + j. */
static void dense_inputs(const dg_csr *z, float *out)
{
    memset(out, 0, sizeof *out * (size_t)z->nrows * z->ncols);
    for (uint32_t r = 0; r < z->nrows; r++)
        for (uint64_t k = z->ptr[r]; k < z->ptr[r + 1]; k++)
            out[(size_t)r * z->ncols + z->idx[k]] = z->val[k];
}

/* The pool's scores of one row (zr: nb * nout inputs) into s[nout]. */
static void pool_scores(const double *theta, uint32_t nb, uint32_t nout, const float *zr,
                        double *s)
{
    for (uint32_t j = 0; j < nout; j++) {
        double v = theta[nb + j];
        for (uint32_t b = 0; b < nb; b++)
            v += theta[b] * zr[b * nout + j];
        s[j] = v;
    }
}

/* The probabilities of one row from its scores: P(1) for a binary task,
 * else the softmax over the classes. */
static void pool_probs(const double *s, uint32_t nout, double *p)
{
    if (nout == 1) {
        p[0] = 1 / (1 + exp(-s[0]));
        return;
    }
    double mx = s[0], z = 0;
    for (uint32_t j = 1; j < nout; j++)
        mx = s[j] > mx ? s[j] : mx;
    for (uint32_t j = 0; j < nout; j++)
        z += p[j] = exp(s[j] - mx);
    for (uint32_t j = 0; j < nout; j++)
        p[j] /= z;
}

typedef struct pool_fit_ctx {
    const float *z;
    const double *y;
    uint32_t n, nb, nout;
    double l2;
} pool_fit_ctx;

/* The mean log loss plus l2/2 times the squared weights (the intercepts
 * unpenalised), and its gradient. */
static lbfgsfloatval_t pool_evaluate(void *inst, const lbfgsfloatval_t *theta,
                                     lbfgsfloatval_t *g, const int nt, const lbfgsfloatval_t step)
{
    (void)step;
    const pool_fit_ctx *c = inst;
    uint32_t nb = c->nb, nout = c->nout;
    double s[1024], p[1024], f = 0;
    memset(g, 0, sizeof *g * (size_t)nt);
    for (uint32_t r = 0; r < c->n; r++) {
        const float *zr = c->z + (size_t)r * nb * nout;
        pool_scores(theta, nb, nout, zr, s);
        pool_probs(s, nout, p);
        int y = (int)c->y[r];
        if (nout == 1) {
            double q = p[0] < 1e-15 ? 1e-15 : p[0] > 1 - 1e-15 ? 1 - 1e-15 : p[0];
            f -= y ? log(q) : log1p(-q);
            p[0] -= y; /* the residual */
        } else {
            f -= log(p[y] < 1e-300 ? 1e-300 : p[y]);
            p[y] -= 1;
        }
        for (uint32_t j = 0; j < nout; j++) {
            g[nb + j] += p[j];
            for (uint32_t b = 0; b < nb; b++)
                g[b] += p[j] * zr[b * nout + j];
        }
    }
    f /= c->n;
    for (int i = 0; i < nt; i++)
        g[i] /= c->n;
    for (uint32_t b = 0; b < nb; b++) {
        f += c->l2 / 2 * theta[b] * theta[b];
        g[b] += c->l2 * theta[b];
    }
    return f;
}

static int pool_fit(const dg_csr *z, const double *y, int nout, double l2, combiner *c,
                    dg_err *err)
{
    uint32_t nb = z->ncols / (uint32_t)nout;
    if (nout > 1024 || nb == 0)
        return dg_fail(err, "blend: the pool takes 1 to 1024 outputs per base, not %d", nout);
    float *dense = dg_xmalloc(sizeof *dense * ((size_t)z->nrows * z->ncols + 1));
    dense_inputs(z, dense);
    pool_fit_ctx ctx = {dense, y, z->nrows, nb, (uint32_t)nout, l2};
    int nt = (int)(nb + (uint32_t)nout);
    lbfgsfloatval_t *theta = lbfgs_malloc(nt);
    /* From the geometric mean of the bases' probabilities. */
    for (int i = 0; i < nt; i++)
        theta[i] = i < (int)nb ? 1.0 / nb : 0;
    lbfgs_parameter_t lp;
    lbfgs_parameter_init(&lp);
    lp.max_iterations = 500;
    lp.epsilon = 1e-6;
    lbfgsfloatval_t fx = 0;
    int ret = z->nrows ? lbfgs(nt, theta, &fx, pool_evaluate, NULL, &ctx, &lp) : 0;
    free(dense);
    if (!dg_lbfgs_usable(ret) || !isfinite(fx)) {
        lbfgs_free(theta);
        return dg_fail(err, "blend: the pool's L-BFGS failed: %s (code %d)", dg_lbfgs_error(ret),
                       ret);
    }
    c->nb = nb;
    c->nout = (uint32_t)nout;
    c->pool = dg_xmalloc(sizeof *c->pool * (size_t)nt);
    for (int i = 0; i < nt; i++)
        c->pool[i] = theta[i];
    lbfgs_free(theta);
    return DG_OK;
}

static int combiner_predict(const combiner *c, const dg_csr *z, double *out, dg_err *err)
{
    if (c->soft)
        return dg_family_softmax.predict(c->soft, z, out, err);
    if (z->ncols != c->nb * c->nout)
        return dg_fail(err, "blend: the pool reads %u inputs, given %u", c->nb * c->nout,
                       z->ncols);
    float *dense = dg_xmalloc(sizeof *dense * ((size_t)z->nrows * z->ncols + 1));
    dense_inputs(z, dense);
    double s[1024];
    for (uint32_t r = 0; r < z->nrows; r++) {
        pool_scores(c->pool, c->nb, c->nout, dense + (size_t)r * z->ncols, s);
        pool_probs(s, c->nout, out + (size_t)r * c->nout);
    }
    free(dense);
    return DG_OK;
}

static int combiner_fit(const dg_csr *z, const double *y, dg_task task, int nclasses,
                        const dg_params *params, uint64_t seed, int threads, const void *warm,
                        void **out, dg_err *err)
{
    *out = NULL;
    combiner *c = dg_xcalloc(1, sizeof *c);
    int rc;
    if (dg_param(params, "pool", 0) != 0) {
        rc = pool_fit(z, y, dg_task_nout(task, nclasses), dg_param(params, "l2", 1e-2), c, err);
    } else {
        const combiner *w = warm;
        dg_trainset ts = {z,    y, NULL, task, task == DG_TASK_BINARY ? 2 : nclasses, seed,
                          threads, w ? w->soft : NULL, 0, 0, NULL};
        dg_params sp; /* softmax reads no "pool" */
        dg_family_params_of(&dg_family_softmax, params, &sp);
        rc = dg_family_softmax.fit(&ts, &sp, &c->soft, NULL, err);
    }
    if (rc == DG_OK)
        *out = c;
    else
        combiner_free(c);
    return rc;
}

int dg_blend_combiner_predict(const void *combiner, const dg_csr *z, double *out, dg_err *err)
{
    return combiner_predict(combiner, z, out, err);
}

void dg_blend_combiner_free(void *combiner)
{
    combiner_free(combiner);
}

int dg_blend_fit_combiner(const dg_csr *z, const double *y, dg_task task, int nclasses,
                          const dg_params *params, uint64_t seed, int threads, const void *warm,
                          void **combiner, dg_err *err)
{
    return combiner_fit(z, y, task, nclasses, params, seed, threads, warm, combiner, err);
}

int dg_blend_cross_validate(const dg_csr *z, const double *y, dg_task task, int nclasses,
                            const uint8_t *fold, int nfolds, const dg_params *params,
                            const int *order, int ncombos, uint64_t seed, int threads,
                            double *oof, void **first, dg_err *err)
{
    int nout = dg_task_nout(task, nclasses);
    uint32_t n = z->nrows;
    uint32_t *in = dg_xmalloc(((size_t)n + 1) * sizeof *in);
    uint32_t *out = dg_xmalloc(((size_t)n + 1) * sizeof *out);
    double *yin = dg_xmalloc(((size_t)n + 1) * sizeof *yin);
    double *pred = dg_xmalloc(((size_t)n * (size_t)nout + 1) * sizeof *pred);
    void **fold0 = dg_xcalloc((size_t)ncombos + 1, sizeof *fold0);
    int rc = DG_OK;
    for (int fo = 0; fo < nfolds && rc == DG_OK; fo++) {
        uint32_t nin = 0, nho = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (fold[i] == fo) {
                out[nho++] = i;
            } else {
                yin[nin] = y[i];
                in[nin++] = i;
            }
        }
        dg_csr zin, zout;
        dg_csr_take_rows(z, in, nin, &zin);
        dg_csr_take_rows(z, out, nho, &zout);
        void *prev = NULL;
        for (int i = 0; i < ncombos && rc == DG_OK; i++) {
            int c = order ? order[i] : i;
            void *m = NULL;
            /* Each fold along the path from its own previous fit: never from
             * another fold's, which was fit on this fold's held-out rows
             * (its trace would make the held-out score optimistic). */
            rc = combiner_fit(&zin, yin, task, nclasses, &params[c], seed + (uint64_t)fo, threads,
                              prev, &m, err);
            if (rc == DG_OK)
                rc = combiner_predict(m, &zout, pred, err);
            if (rc == DG_OK) {
                double *o = oof + (size_t)c * n * (size_t)nout;
                for (uint32_t r = 0; r < nho; r++)
                    memcpy(o + (size_t)out[r] * nout, pred + (size_t)r * nout,
                           (size_t)nout * sizeof *pred);
            }
            if (fo != 0 && prev)
                combiner_free(prev);
            if (fo == 0)
                fold0[c] = m;
            prev = m;
        }
        if (fo != 0 && prev)
            combiner_free(prev);
        dg_csr_free(&zin);
        dg_csr_free(&zout);
    }
    for (int c = 0; c < ncombos; c++) {
        if (first && rc == DG_OK)
            first[c] = fold0[c];
        else
            combiner_free(fold0[c]);
    }
    free(fold0);
    free(in);
    free(out);
    free(yin);
    free(pred);
    return rc;
}

void *dg_blend_make(const dg_blend_base *bases, int nbases, void *combiner, dg_task task,
                    int nclasses, uint32_t ncols)
{
    blend_model *m = dg_xcalloc(1, sizeof *m);
    m->task = (uint32_t)task;
    m->nclasses = (uint32_t)(task == DG_TASK_BINARY ? 2 : nclasses);
    m->nout = (uint32_t)dg_task_nout(task, nclasses);
    m->ncols = ncols;
    m->nbases = (uint32_t)(nbases < MAX_BASES ? nbases : MAX_BASES);
    for (uint32_t b = 0; b < m->nbases; b++) {
        m->bases[b] = bases[b];
        if (bases[b].map) {
            m->maps[b] = dg_xmalloc(((size_t)ncols + 1) * sizeof *m->maps[b]);
            memcpy(m->maps[b], bases[b].map, (size_t)ncols * sizeof *m->maps[b]);
        }
        m->bases[b].map = m->maps[b];
    }
    m->combiner = combiner;
    return m;
}

static int blend_fit(const dg_trainset *t, const dg_params *params, void **out,
                     const dg_progress *progress, dg_err *err)
{
    (void)t, (void)params, (void)progress;
    *out = NULL;
    return dg_fail(err, "blend is made by train from the other families' models, not fit");
}

/* x's entries through a base's map: the base's own design. */
static void remap(const dg_csr *x, const uint32_t *map, uint32_t ncols, dg_csr *out)
{
    out->nrows = x->nrows;
    out->ncols = ncols;
    out->ptr = dg_xmalloc(((size_t)x->nrows + 1) * sizeof *out->ptr);
    out->idx = dg_xmalloc((x->nnz + 1) * sizeof *out->idx);
    out->val = dg_xmalloc((x->nnz + 1) * sizeof *out->val);
    uint64_t n = 0;
    out->ptr[0] = 0;
    for (uint32_t r = 0; r < x->nrows; r++) {
        for (uint64_t k = x->ptr[r]; k < x->ptr[r + 1]; k++)
            if (map[x->idx[k]] != DG_BLEND_NONE) {
                out->idx[n] = map[x->idx[k]];
                out->val[n++] = x->val[k];
            }
        out->ptr[r + 1] = n;
    }
    out->nnz = n;
}

static int blend_predict(const void *model, const dg_csr *x, double *out, dg_err *err)
{
    const blend_model *m = model;
    if (dg_family_check_cols("blend", x, m->ncols, err))
        return DG_ERR;
    double *pred[MAX_BASES];
    int rc = DG_OK;
    for (uint32_t b = 0; b < m->nbases; b++) {
        const dg_blend_base *base = &m->bases[b];
        pred[b] = dg_xmalloc(((size_t)x->nrows * m->nout + 1) * sizeof *pred[b]);
        if (rc != DG_OK)
            continue;
        if (base->map) {
            dg_csr xb;
            remap(x, base->map, base->ncols, &xb);
            rc = base->family->predict(base->model, &xb, pred[b], err);
            dg_csr_free(&xb);
        } else {
            rc = base->family->predict(base->model, x, pred[b], err);
        }
    }
    if (rc == DG_OK) {
        dg_csr z;
        dg_blend_inputs((const double *const *)pred, (int)m->nbases, x->nrows,
                        (dg_task)m->task, (int)m->nout, &z);
        rc = combiner_predict(m->combiner, &z, out, err);
        dg_csr_free(&z);
    }
    for (uint32_t b = 0; b < m->nbases; b++)
        free(pred[b]);
    return rc;
}

#define MAGIC "demographer blend model 1\n"

static char *base_path(const char *path, uint32_t b)
{
    char ext[24];
    snprintf(ext, sizeof ext, ".base%u", b);
    return dg_family_inner_path(path, ext);
}

#define POOL_MAGIC "demographer blend pool 1\n"

static int combiner_save(const combiner *c, const char *path, dg_err *err)
{
    if (c->soft)
        return dg_family_softmax.save(c->soft, path, err);
    dg_textbuf buf = {0};
    dg_family_put(&buf, POOL_MAGIC, strlen(POOL_MAGIC));
    dg_family_put_u32(&buf, c->nb);
    dg_family_put_u32(&buf, c->nout);
    dg_family_put(&buf, c->pool, sizeof *c->pool * (size_t)(c->nb + c->nout));
    int rc = dg_textbuf_save(&buf, path, err);
    dg_textbuf_free(&buf);
    return rc;
}

/* The combiner at path: the pool's file, or else softmax's. */
static int combiner_load(const char *path, combiner **out, dg_err *err)
{
    *out = NULL;
    char head[sizeof POOL_MAGIC] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(head, 1, strlen(POOL_MAGIC), f) : 0;
    if (f)
        fclose(f);
    combiner *c = dg_xcalloc(1, sizeof *c);
    int rc;
    if (got == strlen(POOL_MAGIC) && memcmp(head, POOL_MAGIC, got) == 0) {
        dg_family_reader r;
        rc = dg_family_open(&r, path, POOL_MAGIC, err);
        if (rc == DG_OK) {
            rc = dg_family_get_u32(&r, &c->nb, MAX_BASES, "the pool's base count", err) ||
                         dg_family_get_u32(&r, &c->nout, 1024, "the pool's outputs", err)
                     ? DG_ERR
                     : DG_OK;
            if (rc == DG_OK && (!c->nb || !c->nout))
                rc = dg_fail(err, "%s: a pool of %u bases and %u outputs", path, c->nb, c->nout);
            if (rc == DG_OK) {
                c->pool = dg_xmalloc(sizeof *c->pool * (size_t)(c->nb + c->nout));
                rc = dg_family_get(&r, c->pool, sizeof *c->pool * (size_t)(c->nb + c->nout),
                                   "the pool's weights", err)
                         ? DG_ERR
                         : dg_family_end(&r, err) ? DG_ERR : DG_OK;
            }
            dg_family_close(&r);
        }
        for (uint32_t i = 0; rc == DG_OK && i < c->nb + c->nout; i++)
            if (!isfinite(c->pool[i]))
                rc = dg_fail(err, "%s: the pool's weight %u is not finite", path, i);
    } else {
        rc = dg_family_softmax.load(path, &c->soft, err);
    }
    if (rc == DG_OK)
        *out = c;
    else
        combiner_free(c);
    return rc;
}

static int combiner_nout(const combiner *c)
{
    return c->soft ? dg_family_softmax.nout(c->soft) : (int)c->nout;
}

static int blend_save(const void *model, const char *path, dg_err *err)
{
    const blend_model *m = model;
    char *cp = dg_family_inner_path(path, ".combiner");
    int rc = combiner_save(m->combiner, cp, err);
    free(cp);
    for (uint32_t b = 0; b < m->nbases && rc == DG_OK; b++) {
        char *bp = base_path(path, b);
        rc = m->bases[b].family->save(m->bases[b].model, bp, err);
        free(bp);
    }
    if (rc != DG_OK)
        return rc;
    dg_textbuf buf = {0};
    dg_family_put(&buf, MAGIC, strlen(MAGIC));
    dg_family_put_u32(&buf, m->task);
    dg_family_put_u32(&buf, m->nclasses);
    dg_family_put_u32(&buf, m->ncols);
    dg_family_put_u32(&buf, m->nbases);
    for (uint32_t b = 0; b < m->nbases; b++) {
        const dg_blend_base *base = &m->bases[b];
        uint32_t len = (uint32_t)strlen(base->family->name);
        dg_family_put_u32(&buf, len);
        dg_family_put(&buf, base->family->name, len);
        dg_family_put_u32(&buf, base->ncols);
        dg_family_put_u32(&buf, base->map != NULL);
        if (base->map)
            dg_family_put(&buf, base->map, (size_t)m->ncols * sizeof *base->map);
    }
    rc = dg_textbuf_save(&buf, path, err);
    dg_textbuf_free(&buf);
    return rc;
}

static int blend_nout(const void *model)
{
    const blend_model *m = model;
    return (int)m->nout;
}

static void blend_free(void *model)
{
    blend_model *m = model;
    if (!m)
        return;
    for (uint32_t b = 0; b < m->nbases; b++) {
        if (m->owned && m->bases[b].model)
            m->bases[b].family->free((void *)m->bases[b].model);
        free(m->maps[b]);
    }
    combiner_free(m->combiner);
    free(m);
}

static int blend_load(const char *path, void **out, dg_err *err)
{
    *out = NULL;
    dg_family_reader r;
    if (dg_family_open(&r, path, MAGIC, err))
        return DG_ERR;
    blend_model *m = dg_xcalloc(1, sizeof *m);
    m->owned = 1;
    int rc = DG_ERR;
    if (dg_family_get_u32(&r, &m->task, DG_TASK_MULTICLASS, "the task", err) ||
        dg_family_get_u32(&r, &m->nclasses, 1000, "the class count", err) ||
        dg_family_get_u32(&r, &m->ncols, INT32_MAX - 1, "the design's column count", err) ||
        dg_family_get_u32(&r, &m->nbases, MAX_BASES, "the base count", err))
        goto done;
    if (m->nclasses < 2 || (m->task == DG_TASK_BINARY && m->nclasses != 2) || !m->nbases) {
        dg_fail(err, "%s: %u classes and %u bases do not make a blend", path, m->nclasses,
                m->nbases);
        goto done;
    }
    m->nout = (uint32_t)dg_task_nout((dg_task)m->task, (int)m->nclasses);
    for (uint32_t b = 0; b < m->nbases; b++) {
        dg_blend_base *base = &m->bases[b];
        uint32_t len, has_map;
        char name[64];
        if (dg_family_get_u32(&r, &len, sizeof name - 1, "a base's family name length", err) ||
            dg_family_get(&r, name, len, "a base's family name", err))
            goto done;
        name[len] = 0;
        base->family = dg_model_family_find(name);
        if (!base->family || base->family == &dg_family_blend) {
            dg_fail(err, "%s: no model family '%s' to read base %u with", path, name, b);
            goto done;
        }
        if (dg_family_get_u32(&r, &base->ncols, INT32_MAX - 1, "a base's column count", err) ||
            dg_family_get_u32(&r, &has_map, 1, "a base's map flag", err))
            goto done;
        if (has_map) {
            m->maps[b] = dg_xmalloc(((size_t)m->ncols + 1) * sizeof *m->maps[b]);
            if (dg_family_get(&r, m->maps[b], (size_t)m->ncols * sizeof *m->maps[b],
                              "a base's column map", err))
                goto done;
            for (uint32_t c = 0; c < m->ncols; c++)
                if (m->maps[b][c] != DG_BLEND_NONE && m->maps[b][c] >= base->ncols) {
                    dg_fail(err, "%s: base %u's map reaches column %u of %u", path, b,
                            m->maps[b][c], base->ncols);
                    goto done;
                }
        } else if (base->ncols != m->ncols) {
            dg_fail(err, "%s: base %u reads %u columns without a map from %u", path, b,
                    base->ncols, m->ncols);
            goto done;
        }
        base->map = m->maps[b];
    }
    if (dg_family_end(&r, err))
        goto done;
    char *cp = dg_family_inner_path(path, ".combiner");
    combiner *c = NULL;
    rc = combiner_load(cp, &c, err);
    m->combiner = c;
    if (rc == DG_OK && combiner_nout(c) != (int)m->nout)
        rc = dg_fail(err, "%s: gives %d numbers per device, the blend %u", cp, combiner_nout(c),
                     m->nout);
    if (rc == DG_OK && c->pool && c->nb != m->nbases)
        rc = dg_fail(err, "%s: pools %u bases, the blend has %u", cp, c->nb, m->nbases);
    free(cp);
    /* Each base writes m->nout numbers per device into the blend's buffers. */
    for (uint32_t b = 0; b < m->nbases && rc == DG_OK; b++) {
        char *bp = base_path(path, b);
        void *bm = NULL;
        rc = m->bases[b].family->load(bp, &bm, err);
        m->bases[b].model = bm;
        if (rc == DG_OK && m->bases[b].family->nout(bm) != (int)m->nout)
            rc = dg_fail(err, "%s: gives %d numbers per device, the blend %u", bp,
                         m->bases[b].family->nout(bm), m->nout);
        free(bp);
    }
done:
    dg_family_close(&r);
    if (rc)
        blend_free(m);
    else
        *out = m;
    return rc;
}

static const char *const param_names[] = {"pool", "l2", "iterations", "eps", "delta", NULL};

const dg_model_family dg_family_blend = {
    .name = "blend",
    .summary = "a combiner (softmax, or a log-linear pool) over the other families' out-of-fold probabilities",
    .tasks = 0,
    .param_names = param_names,
    .grid = "pool=0,1 l2=1e-2,1e-1",
    .fit = blend_fit,
    .predict = blend_predict,
    .save = blend_save,
    .load = blend_load,
    .nout = blend_nout,
    .free = blend_free,
    .warm_param = "l2",
    .warm_descending = 1,
};
