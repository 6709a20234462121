/* persona-softmax: softmax over the design plus each device's membership of
 * a few kinds of app user ("personas"), found without labels.
 *
 * A device's installed apps are not a sum of independent votes: people of
 * one kind install the apps of their kind, and once a device's kind is
 * plain, more of its apps say little more. A linear model over the app bag
 * adds every app's weight without end; the shared L2 penalty then holds all
 * of them back. Here a mixture of K multivariate Bernoullis over the app
 * block (each component an install probability per app, fit by EM on the
 * train rows that have apps, no labels) gives each device its posterior over
 * the components, and the softmax weighs those K numbers (times `scale`)
 * beside the design. A device without apps gets 0s. The scale sets how
 * lightly the shared L2 penalty holds their weights (10: CV preferred it to
 * 3 for group12 and was level for gender; a grid over both doubles the
 * family's cost). The grid offers rank 0 (the full model) beside rank 3
 * (softmax's weights of rank 3 over the classes; no constraint for gender):
 * the low rank helps where the classes differ along a few directions, and
 * where they do not CV falls back to the full model. With personas=0 the
 * family is softmax; the run trains softmax beside it for that (train.c,
 * dg_default_families).
 *
 * `mixtures` fits that many mixtures from different seeds, side by side,
 * each device's posterior under each a block of columns. EM's kinds depend
 * on where it starts, and the softmax reads more of the kinds from two or
 * three than from one; for the same columns, more mixtures of fewer
 * components did better than fewer of more, so the grid has 3 of 16. The
 * figures of each shape tried: bench/RESULTS.md, "persona-softmax".
 *
 * The app block is the trainset's apps_lo..apps_hi (train.c sets it from the
 * design); without one the family is softmax. The mixture reads no label, so
 * it learns from the trainset's unlabelled rows when given (every device of
 * the scenario: more devices, sharper kinds), else from the rows fit. Along a penalty path (a warm
 * start: the same rows and columns) the mixture is the previous point's:
 * it does not depend on the penalty. EM starts from seeded random
 * responsibilities and runs a fixed number of iterations, so a fit repeats
 * exactly.
 *
 * The file: our header, the mixtures (per component its log-odds per app and
 * its constant), then the softmax's own file as PATH.softmax. No SQL form:
 * the posterior is no linear score. */
#include "model_family.h"
#include "model_softmax.h"

#include "demographer/design.h"

#include <xxhash.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PERSONAS 64
#define MAX_COLUMNS 128 /* personas times mixtures */
#define EM_ITERATIONS 40

typedef struct persona_model {
    uint32_t ncols, apps_lo, apps_hi, k;
    uint32_t per;    /* components per mixture: k / per mixtures side by side */
    double scale;
    double *logodds; /* [k][apps_hi - apps_lo]: log(theta / (1 - theta)) */
    double *cst;     /* [k]: sum over apps of log(1 - theta) + log(pi) */
    void *soft;
} persona_model;

static int persona_nout(const void *model)
{
    const persona_model *m = model;
    return dg_family_softmax.nout(m->soft);
}

static void persona_free(void *model)
{
    persona_model *m = model;
    if (!m)
        return;
    if (m->soft)
        dg_family_softmax.free(m->soft);
    free(m->logodds);
    free(m->cst);
    free(m);
}

/* Row r's posterior over each mixture's components into post[k]; 0 when the
 * row has no app (returns 0 then, else 1). */
static int posterior(const persona_model *m, const dg_csr *x, uint32_t r, double *post)
{
    uint32_t na = m->apps_hi - m->apps_lo;
    int any = 0;
    for (uint32_t c = 0; c < m->k; c++)
        post[c] = m->cst[c];
    for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++) {
        uint32_t j = x->idx[e];
        if (j < m->apps_lo || j >= m->apps_hi || !(x->val[e] > 0))
            continue;
        any = 1;
        for (uint32_t c = 0; c < m->k; c++)
            post[c] += m->logodds[(size_t)c * na + (j - m->apps_lo)];
    }
    if (!any) {
        memset(post, 0, sizeof *post * m->k);
        return 0;
    }
    for (uint32_t lo = 0; lo < m->k; lo += m->per) {
        double top = -INFINITY, sum = 0;
        for (uint32_t c = lo; c < lo + m->per; c++)
            top = fmax(top, post[c]);
        for (uint32_t c = lo; c < lo + m->per; c++)
            sum += post[c] = exp(post[c] - top);
        for (uint32_t c = lo; c < lo + m->per; c++)
            post[c] /= sum;
    }
    return 1;
}

/* EM for the mixture on the rows of x with apps, over the apps on at least
 * min_devices of those rows: the others keep log-odds 0 and so say nothing.
 * An app on a handful of devices lets EM bend a component around those few
 * rows' other apps, which the likelihood rewards and the classes do not;
 * leaving the rare apps out sharpened the kinds the classes follow (figures:
 * bench/RESULTS.md, "persona-softmax"). Restarts from other seeds, more
 * components, more iterations, a prior towards each app's overall rate and
 * the labels in the E step of the labelled rows did no better. */
static void mixture_fit(persona_model *m, const dg_csr *x, uint32_t min_devices, uint64_t seed)
{
    uint32_t na = m->apps_hi - m->apps_lo, k = m->k;
    m->logodds = dg_xcalloc((size_t)k * na + 1, sizeof *m->logodds);
    m->cst = dg_xcalloc(k, sizeof *m->cst);
    uint32_t *rows = dg_xmalloc(((size_t)x->nrows + 1) * sizeof *rows), n = 0;
    uint32_t *devices = dg_xcalloc((size_t)na + 1, sizeof *devices);
    for (uint32_t r = 0; r < x->nrows; r++) {
        int any = 0;
        for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++)
            if (x->idx[e] >= m->apps_lo && x->idx[e] < m->apps_hi && x->val[e] > 0) {
                devices[x->idx[e] - m->apps_lo]++;
                any = 1;
            }
        if (any)
            rows[n++] = r;
    }
    double *resp = dg_xmalloc(((size_t)n * k + 1) * sizeof *resp);
    uint64_t s = seed ^ 0x243f6a8885a308d3ull;
    /* -log(uniform): each row's responsibilities a flat Dirichlet draw */
    for (size_t i = 0; i < (size_t)n * k; i++)
        resp[i] = -log(dg_uniform_open(&s));
    for (uint32_t i = 0; i < n; i++) {
        double sum = 0;
        for (uint32_t c = 0; c < k; c++)
            sum += resp[(size_t)i * k + c];
        for (uint32_t c = 0; c < k; c++)
            resp[(size_t)i * k + c] /= sum;
    }
    double *count = dg_xmalloc(((size_t)k * na + 1) * sizeof *count), nk[MAX_PERSONAS];
    for (int it = 0; it <= EM_ITERATIONS && n > 0; it++) {
        /* M step: install probabilities, smoothed (0.1 installs in 0.2 rows). */
        memset(count, 0, sizeof *count * (size_t)k * na);
        memset(nk, 0, sizeof nk);
        for (uint32_t i = 0; i < n; i++) {
            const double *q = resp + (size_t)i * k;
            for (uint32_t c = 0; c < k; c++)
                nk[c] += q[c];
            uint32_t r = rows[i];
            for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++) {
                uint32_t j = x->idx[e];
                if (j < m->apps_lo || j >= m->apps_hi || !(x->val[e] > 0))
                    continue;
                for (uint32_t c = 0; c < k; c++)
                    count[(size_t)c * na + (j - m->apps_lo)] += q[c];
            }
        }
        for (uint32_t c = 0; c < k; c++) {
            double cst = log((nk[c] + 1e-9) / n);
            for (uint32_t a = 0; a < na; a++) {
                if (devices[a] < min_devices)
                    continue;
                double th = (count[(size_t)c * na + a] + 0.1) / (nk[c] + 0.2);
                th = th < 1e-6 ? 1e-6 : th > 1 - 1e-6 ? 1 - 1e-6 : th;
                m->logodds[(size_t)c * na + a] = log(th) - log1p(-th);
                cst += log1p(-th);
            }
            m->cst[c] = cst;
        }
        if (it == EM_ITERATIONS)
            break;
        /* E step. */
        for (uint32_t i = 0; i < n; i++)
            posterior(m, x, rows[i], resp + (size_t)i * k);
    }
    free(count);
    free(resp);
    free(rows);
    free(devices);
}

/* The k / per mixtures of m, each of per components, each by EM from its
 * own seed (the first's is the seed of a single mixture). Their posteriors
 * are columns side by side: EM's kinds depend on where it starts, and two or
 * three starts see more of the kinds than one. */
static void mixtures_fit(persona_model *m, const dg_csr *x, uint32_t min_devices)
{
    uint32_t na = m->apps_hi - m->apps_lo;
    m->logodds = dg_xmalloc(((size_t)m->k * na + 1) * sizeof *m->logodds);
    m->cst = dg_xmalloc(((size_t)m->k + 1) * sizeof *m->cst);
    for (uint32_t lo = 0; lo < m->k; lo += m->per) {
        persona_model one = *m;
        one.k = one.per;
        mixture_fit(&one, x, min_devices, 0x5eed + lo / m->per);
        memcpy(m->logodds + (size_t)lo * na, one.logodds, sizeof *one.logodds * m->per * na);
        memcpy(m->cst + lo, one.cst, sizeof *one.cst * m->per);
        free(one.logodds);
        free(one.cst);
    }
}

/* The mixture of the unlabelled rows is the same for every fit that is given
 * them (every fold, target and penalty of a training: the same rows, the
 * same seed), so the last one is kept, keyed by the rows' contents, and a
 * fit that finds its key copies it instead of running EM again. One slot:
 * a training has one set of unlabelled rows. */
static struct {
    pthread_mutex_t mu;
    int have;
    uint64_t key;
    uint32_t k, na;
    double *logodds, *cst;
} mixture_cache = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, NULL, NULL};

static uint64_t rows_key(const dg_csr *x, uint32_t lo, uint32_t hi, uint32_t k, uint32_t per,
                         uint32_t min_devices)
{
    uint64_t dims[6] = {x->nrows, x->ncols, x->nnz, ((uint64_t)lo << 32) | hi,
                        ((uint64_t)min_devices << 32) | k, per};
    uint64_t h = XXH3_64bits(dims, sizeof dims);
    h = XXH3_64bits_withSeed(x->ptr, sizeof *x->ptr * ((size_t)x->nrows + 1), h);
    h = XXH3_64bits_withSeed(x->idx, sizeof *x->idx * x->nnz, h);
    return XXH3_64bits_withSeed(x->val, sizeof *x->val * x->nnz, h);
}

static void mixture_of_unlabelled(persona_model *m, const dg_csr *rows, uint32_t min_devices)
{
    uint32_t na = m->apps_hi - m->apps_lo;
    uint64_t key = rows_key(rows, m->apps_lo, m->apps_hi, m->k, m->per, min_devices);
    pthread_mutex_lock(&mixture_cache.mu);
    if (!mixture_cache.have || mixture_cache.key != key || mixture_cache.k != m->k ||
        mixture_cache.na != na) {
        persona_model fresh = *m;
        mixtures_fit(&fresh, rows, min_devices);
        free(mixture_cache.logodds);
        free(mixture_cache.cst);
        mixture_cache.logodds = fresh.logodds;
        mixture_cache.cst = fresh.cst;
        mixture_cache.key = key;
        mixture_cache.k = m->k;
        mixture_cache.na = na;
        mixture_cache.have = 1;
    }
    m->logodds = dg_xmalloc(((size_t)m->k * na + 1) * sizeof *m->logodds);
    m->cst = dg_xmalloc(m->k * sizeof *m->cst);
    memcpy(m->logodds, mixture_cache.logodds, sizeof *m->logodds * (size_t)m->k * na);
    memcpy(m->cst, mixture_cache.cst, sizeof *m->cst * m->k);
    pthread_mutex_unlock(&mixture_cache.mu);
}

/* x with the rows' posteriors (times scale) appended as columns ncols.. */
static void augment(const persona_model *m, const dg_csr *x, dg_csr *out)
{
    float *z = dg_xcalloc((size_t)x->nrows * m->k + 1, sizeof *z);
    double post[MAX_COLUMNS];
    for (uint32_t r = 0; m->k && r < x->nrows; r++)
        if (posterior(m, x, r, post))
            for (uint32_t c = 0; c < m->k; c++)
                z[(size_t)r * m->k + c] = (float)(post[c] * m->scale);
    dg_csr_append_columns(x, z, m->k, out);
    free(z);
}

static const char *const param_names[] = {"personas", "mixtures", "scale", "min_devices",
                                          "l2",       "rank",     "iterations", "eps",
                                          "delta",    "threads",  NULL};

static int persona_fit(const dg_trainset *t, const dg_params *params, void **out,
                       const dg_progress *progress, dg_err *err)
{
    const dg_model_family *f = &dg_family_persona_softmax;
    *out = NULL;
    double k, mixtures, scale, min_devices;
    if (dg_family_check(f, t, params, err) ||
        dg_family_param(f, params, "personas", 24, 0, MAX_PERSONAS, 1, &k, err) ||
        dg_family_param(f, params, "mixtures", 1, 1, MAX_COLUMNS, 1, &mixtures, err) ||
        dg_family_param(f, params, "scale", 10, 1e-6, 1e6, 0, &scale, err) ||
        dg_family_param(f, params, "min_devices", 25, 1, UINT32_MAX, 1, &min_devices, err))
        return DG_ERR;
    if (k * mixtures > MAX_COLUMNS)
        return dg_fail(err, "persona-softmax: personas=%g times mixtures=%g is over %d columns", k,
                       mixtures, MAX_COLUMNS);
    /* The rest are softmax's. */
    dg_params sp;
    dg_family_params_of(&dg_family_softmax, params, &sp);
    const dg_csr *x = t->x;
    persona_model *m = dg_xcalloc(1, sizeof *m);
    m->ncols = x->ncols;
    m->scale = scale;
    if (t->apps_hi > t->apps_lo && t->apps_hi <= x->ncols) {
        m->apps_lo = t->apps_lo;
        m->apps_hi = t->apps_hi;
        m->per = (uint32_t)k;
        m->k = m->per * (uint32_t)mixtures;
    }
    const persona_model *warm = t->warm;
    int reuse = warm && warm->ncols == m->ncols && warm->k == m->k && warm->per == m->per &&
                warm->apps_lo == m->apps_lo && warm->apps_hi == m->apps_hi;
    uint32_t na = m->apps_hi - m->apps_lo;
    if (reuse && m->k) {
        m->logodds = dg_xmalloc(((size_t)m->k * na + 1) * sizeof *m->logodds);
        m->cst = dg_xmalloc(m->k * sizeof *m->cst);
        memcpy(m->logodds, warm->logodds, sizeof *m->logodds * (size_t)m->k * na);
        memcpy(m->cst, warm->cst, sizeof *m->cst * m->k);
    } else if (m->k) {
        /* Without labels the mixture may learn from every device of the
         * scenario; the same seed for every fit, so the folds' mixtures
         * differ only where their inputs do. */
        if (t->unlabelled && t->unlabelled->ncols == x->ncols)
            mixture_of_unlabelled(m, t->unlabelled, (uint32_t)min_devices);
        else
            mixtures_fit(m, x, (uint32_t)min_devices);
    }
    dg_csr xa;
    augment(m, x, &xa);
    dg_trainset ts = *t;
    ts.x = &xa;
    ts.warm = reuse ? warm->soft : NULL;
    int rc = dg_family_softmax.fit(&ts, &sp, &m->soft, progress, err);
    dg_csr_free(&xa);
    if (rc != DG_OK) {
        persona_free(m);
        return DG_ERR;
    }
    *out = m;
    return DG_OK;
}

static int persona_predict(const void *model, const dg_csr *x, double *out, dg_err *err)
{
    const persona_model *m = model;
    if (dg_family_check_cols("persona-softmax", x, m->ncols, err))
        return DG_ERR;
    dg_csr xa;
    augment(m, x, &xa);
    int rc = dg_family_softmax.predict(m->soft, &xa, out, err);
    dg_csr_free(&xa);
    return rc;
}

/* Version 2 adds the components per mixture after the component count; a
 * version-1 file holds one mixture. */
#define MAGIC "demographer persona-softmax model "
#define VERSION "2\n"

static int persona_save(const void *model, const char *path, dg_err *err)
{
    const persona_model *m = model;
    char *sp = dg_family_inner_path(path, ".softmax");
    int rc = dg_family_softmax.save(m->soft, sp, err);
    free(sp);
    if (rc != DG_OK)
        return rc;
    dg_textbuf b = {0};
    dg_family_put(&b, MAGIC VERSION, strlen(MAGIC VERSION));
    dg_family_put_u32(&b, m->ncols);
    dg_family_put_u32(&b, m->apps_lo);
    dg_family_put_u32(&b, m->apps_hi);
    dg_family_put_u32(&b, m->k);
    dg_family_put_u32(&b, m->per);
    dg_family_put_f64(&b, m->scale);
    size_t nw = (size_t)m->k * (m->apps_hi - m->apps_lo);
    if (m->k) {
        dg_family_put(&b, m->logodds, sizeof *m->logodds * nw);
        dg_family_put(&b, m->cst, sizeof *m->cst * m->k);
    }
    rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}

static int persona_load(const char *path, void **out, dg_err *err)
{
    *out = NULL;
    dg_family_reader r;
    if (dg_family_open(&r, path, MAGIC, err))
        return DG_ERR;
    persona_model *m = dg_xcalloc(1, sizeof *m);
    int rc = DG_ERR;
    char version[2] = {0};
    if (dg_family_get(&r, version, 2, "the version", err))
        goto done;
    if (version[1] != '\n' || (version[0] != '1' && version[0] != '2')) {
        dg_fail(err, "%s: version '%c' of the persona-softmax model file is not known (1 or 2)",
                path, version[0]);
        goto done;
    }
    if (dg_family_get_u32(&r, &m->ncols, UINT32_MAX - MAX_COLUMNS, "the column count", err) ||
        dg_family_get_u32(&r, &m->apps_lo, m->ncols, "the app block's first column", err) ||
        dg_family_get_u32(&r, &m->apps_hi, m->ncols, "the app block's end", err) ||
        dg_family_get_u32(&r, &m->k, MAX_COLUMNS, "the component count", err))
        goto done;
    m->per = m->k;
    if ((version[0] == '2' &&
         dg_family_get_u32(&r, &m->per, MAX_PERSONAS, "the components per mixture", err)) ||
        dg_family_get_f64(&r, &m->scale, "the scale", err))
        goto done;
    if ((m->k && (!m->per || m->k % m->per)) || (!m->k && m->per)) {
        dg_fail(err, "%s: %u components are not mixtures of %u", path, m->k, m->per);
        goto done;
    }
    if (m->apps_hi < m->apps_lo || (m->k && m->apps_hi == m->apps_lo)) {
        dg_fail(err, "%s: an app block %u..%u does not suit %u personas", path, m->apps_lo,
                m->apps_hi, m->k);
        goto done;
    }
    size_t nw = (size_t)m->k * (m->apps_hi - m->apps_lo);
    if (m->k && (dg_family_get_f64s(&r, nw, &m->logodds, "the personas' log-odds", err) ||
                 dg_family_get_f64s(&r, m->k, &m->cst, "the personas' constants", err)))
        goto done;
    if (dg_family_end(&r, err))
        goto done;
    char *sp = dg_family_inner_path(path, ".softmax");
    rc = dg_family_softmax.load(sp, &m->soft, err);
    free(sp);
done:
    dg_family_close(&r);
    if (rc) {
        persona_free(m);
        return DG_ERR;
    }
    *out = m;
    return DG_OK;
}

const dg_model_family dg_family_persona_softmax = {
    .name = "persona-softmax",
    .summary = "softmax over the design and each device's posterior over K kinds of app "
               "user (a Bernoulli mixture over its apps, found without labels)",
    .tasks = (1u << DG_TASK_BINARY) | (1u << DG_TASK_MULTICLASS),
    .param_names = param_names,
    /* Train-split CV put the optimum at either edge of 3e-3..3e-2 on some
     * synth world, then at 1e-3 (groups' group12, smooth's gender) once
     * the grid reached it (bench/RESULTS.md, "models"), so the grid reaches
     * a step past each. Fold 1's screen ends a path at its first rising
     * score (train.c): a point past the optimum costs one fit on one fold. */
    .grid = "personas=16 mixtures=3 scale=10 min_devices=25 rank=0,3 l2=3e-4,1e-3,3e-3,1e-2,3e-2,1e-1",
    .fit = persona_fit,
    .predict = persona_predict,
    .save = persona_save,
    .load = persona_load,
    .nout = persona_nout,
    .free = persona_free,
    .warm_param = "l2",
    .warm_descending = 1,
    .reads_unlabelled = 1,
};
