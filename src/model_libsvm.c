/* LIBSVM families: C-SVC with an RBF kernel and probability estimates
 * (LIBSVM's pairwise Platt scaling, fit by an internal 5-fold
 * cross-validation), and epsilon-SVR with an RBF kernel. LIBSVM's training
 * time grows with the square of the rows (the kernel matrix), so both train
 * on a seeded random subsample of at most `rows` rows (default 8000) and say
 * so in their summaries. LIBSVM takes no sample weights; they are refused.
 *
 * gamma defaults to (and gamma=0 means) 1 / (the mean squared norm of the
 * training rows), so the kernel's width follows the matrix's scale; C
 * defaults to 1.
 *
 * The model file is ours (LIBSVM's own prints support vector values with 8
 * significant digits and is not atomic): every array as native bits, so a
 * reloaded model predicts the same bits. */
#include "model_family.h"

#include <libsvm/svm.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct svm_owned {
    uint32_t ncols;
    uint32_t task;
    uint32_t nclasses; /* ours: 2, K, or 0 for regression */
    uint32_t sample_rows; /* the rows it trained on */
    struct svm_model m;   /* every array allocated here and freed by svm_owned_free */
} svm_owned;

static void silent(const char *s)
{
    (void)s;
}

static int by_index(const void *a, const void *b)
{
    int ia = ((const struct svm_node *)a)->index, ib = ((const struct svm_node *)b)->index;
    return (ia > ib) - (ia < ib);
}

/* Row r as LIBSVM nodes (1-based indexes in increasing order, as its kernel's
 * sparse dot product needs, then index -1) at `at`; returns the end. */
static struct svm_node *row_nodes(const dg_csr *x, uint32_t r, struct svm_node *at)
{
    struct svm_node *start = at;
    int sorted = 1;
    for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++) {
        *at = (struct svm_node){(int)x->idx[e] + 1, x->val[e]};
        if (at > start && at[-1].index >= at->index)
            sorted = 0;
        at++;
    }
    if (!sorted)
        qsort(start, (size_t)(at - start), sizeof *start, by_index);
    *at++ = (struct svm_node){-1, 0};
    return at;
}

static int svm_nout(const void *model)
{
    const svm_owned *m = model;
    return dg_task_nout((dg_task)m->task, (int)m->nclasses);
}

static void svm_owned_free(void *model)
{
    svm_owned *o = model;
    if (!o)
        return;
    struct svm_model *m = &o->m;
    if (m->SV)
        free(m->SV[0]);
    free(m->SV);
    for (int k = 0; m->sv_coef && k < m->nr_class - 1; k++)
        free(m->sv_coef[k]);
    free(m->sv_coef);
    free(m->rho);
    free(m->probA);
    free(m->probB);
    free(m->label);
    free(m->nSV);
    free(o);
}

static int pairs_of(const struct svm_model *m)
{
    return m->nr_class * (m->nr_class - 1) / 2;
}

static int is_classifier(const struct svm_model *m)
{
    return m->param.svm_type == C_SVC;
}

static size_t sv_nodes(const struct svm_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->l; i++) {
        const struct svm_node *p = m->SV[i];
        while (p->index != -1)
            p++, n++;
        n++;
    }
    return n;
}

/* A copy of a trained model that owns its arrays (LIBSVM's points into the
 * training problem). */
static void own(svm_owned *o, const struct svm_model *t)
{
    struct svm_model *m = &o->m;
    m->param = t->param;
    m->param.weight_label = NULL;
    m->param.weight = NULL;
    m->param.nr_weight = 0;
    m->nr_class = t->nr_class;
    m->l = t->l;
    int pairs = pairs_of(t);
    m->rho = dg_xmalloc(sizeof *m->rho * (size_t)pairs);
    memcpy(m->rho, t->rho, sizeof *m->rho * (size_t)pairs);
    if (t->probA) {
        int n = is_classifier(t) ? pairs : 1;
        m->probA = dg_xmalloc(sizeof *m->probA * (size_t)n);
        memcpy(m->probA, t->probA, sizeof *m->probA * (size_t)n);
        if (t->probB) {
            m->probB = dg_xmalloc(sizeof *m->probB * (size_t)n);
            memcpy(m->probB, t->probB, sizeof *m->probB * (size_t)n);
        }
    }
    if (t->label) {
        m->label = dg_xmalloc(sizeof *m->label * (size_t)t->nr_class);
        memcpy(m->label, t->label, sizeof *m->label * (size_t)t->nr_class);
    }
    if (t->nSV) {
        m->nSV = dg_xmalloc(sizeof *m->nSV * (size_t)t->nr_class);
        memcpy(m->nSV, t->nSV, sizeof *m->nSV * (size_t)t->nr_class);
    }
    m->sv_coef = dg_xmalloc(sizeof *m->sv_coef * (size_t)(t->nr_class - 1));
    for (int k = 0; k < t->nr_class - 1; k++) {
        m->sv_coef[k] = dg_xmalloc(sizeof **m->sv_coef * ((size_t)t->l + 1));
        memcpy(m->sv_coef[k], t->sv_coef[k], sizeof **m->sv_coef * (size_t)t->l);
    }
    size_t n = sv_nodes(t);
    m->SV = dg_xmalloc(sizeof *m->SV * ((size_t)t->l + 1));
    struct svm_node *block = dg_xmalloc(sizeof *block * (n + 1));
    m->SV[0] = block;
    for (int i = 0; i < t->l; i++) {
        m->SV[i] = block;
        const struct svm_node *p = t->SV[i];
        do
            *block++ = *p;
        while ((p++)->index != -1);
    }
    m->free_sv = 1;
}

static int svm_fit(const dg_model_family *f, int svm_type, const dg_trainset *t,
                   const dg_params *params, void **out, const dg_progress *progress, dg_err *err)
{
    *out = NULL;
    double c, gamma, eps, rows, p = 0;
    int regression = svm_type == EPSILON_SVR;
    if (dg_family_check(f, t, params, err) ||
        dg_family_finite_values(f, t->x, err) || dg_family_no_weights(f, t, err) ||
        dg_family_param(f, params, "C", 1, 1e-9, 1e9, 0, &c, err) ||
        dg_family_param(f, params, "gamma", 0, 0, 1e9, 0, &gamma, err) ||
        dg_family_param(f, params, "eps", 1e-3, 1e-12, 10, 0, &eps, err) ||
        dg_family_param(f, params, "rows", 8000, 10, 1e7, 1, &rows, err) ||
        (regression && dg_family_param(f, params, "p", 0.1, 0, 1e9, 0, &p, err)))
        return DG_ERR;
    const dg_csr *x = t->x;
    /* A seeded subsample, kept in row order. */
    uint32_t n = x->nrows < rows ? x->nrows : (uint32_t)rows;
    uint32_t *pick = dg_xmalloc(sizeof *pick * x->nrows);
    for (uint32_t i = 0; i < x->nrows; i++)
        pick[i] = i;
    uint64_t s = t->seed;
    for (uint32_t i = 0; i < n && n < x->nrows; i++) {
        uint32_t j = i + (uint32_t)(dg_splitmix64(&s) % (x->nrows - i));
        uint32_t tmp = pick[i];
        pick[i] = pick[j];
        pick[j] = tmp;
    }
    for (uint32_t i = 1; i < n; i++) /* insertion sort: ascending rows */
        for (uint32_t j = i; j > 0 && pick[j - 1] > pick[j]; j--) {
            uint32_t tmp = pick[j];
            pick[j] = pick[j - 1];
            pick[j - 1] = tmp;
        }
    if (!regression) {
        int *seen = dg_xcalloc((size_t)t->nclasses, sizeof *seen);
        int present = 0;
        for (uint32_t i = 0; i < n; i++)
            present += !seen[(int)t->y[pick[i]]]++;
        free(seen);
        if (present < 2) {
            free(pick);
            return dg_fail(err, "%s: the training rows hold only one class; 2 are needed",
                           f->name);
        }
    }
    uint64_t nnz = 0;
    double norms = 0;
    for (uint32_t i = 0; i < n; i++)
        for (uint64_t e = x->ptr[pick[i]]; e < x->ptr[pick[i] + 1]; e++, nnz++)
            norms += (double)x->val[e] * x->val[e];
    if (gamma == 0)
        gamma = norms > 0 ? n / norms : 1;

    struct svm_node *nodes = dg_xmalloc(sizeof *nodes * (nnz + n));
    struct svm_node **xs = dg_xmalloc(sizeof *xs * n);
    double *y = dg_xmalloc(sizeof *y * n);
    struct svm_node *at = nodes;
    for (uint32_t i = 0; i < n; i++) {
        xs[i] = at;
        at = row_nodes(x, pick[i], at);
        y[i] = t->y[pick[i]];
    }
    free(pick);
    struct svm_problem prob = {.l = (int)n, .y = y, .x = xs};
    struct svm_parameter param = {.svm_type = svm_type,
                                  .kernel_type = RBF,
                                  .gamma = gamma,
                                  .cache_size = 200,
                                  .eps = eps,
                                  .C = c,
                                  .p = p,
                                  .shrinking = 1,
                                  .probability = !regression};
    int rc = DG_ERR;
    const char *bad = svm_check_parameter(&prob, &param);
    if (bad) {
        dg_fail(err, "%s: LIBSVM refuses the parameters: %s", f->name, bad);
        goto done;
    }
    if (dg_progress_report(progress, f->name, 0, 1, "fits")) {
        dg_cancel(err, "cancelled");
        goto done;
    }
    dg_family_rand_lock(t->seed);
    svm_set_print_string_function(silent);
    struct svm_model *trained = svm_train(&prob, &param);
    dg_family_rand_unlock();
    if (!trained) {
        dg_fail(err, "%s: LIBSVM failed to train", f->name);
        goto done;
    }
    svm_owned *o = dg_xcalloc(1, sizeof *o);
    o->ncols = x->ncols;
    o->task = (uint32_t)t->task;
    o->nclasses = (uint32_t)t->nclasses;
    o->sample_rows = n;
    own(o, trained);
    svm_free_and_destroy_model(&trained);
    if (dg_progress_report(progress, f->name, 1, 1, "fits")) {
        svm_owned_free(o);
        dg_cancel(err, "cancelled");
        goto done;
    }
    *out = o;
    rc = DG_OK;
done:
    free(nodes);
    free(xs);
    free(y);
    return rc;
}

static int svm_predict_rows(const void *model, const dg_csr *x, double *out, dg_err *err)
{
    const svm_owned *o = model;
    const struct svm_model *m = &o->m;
    if (dg_family_check_cols(is_classifier(m) ? "libsvm-svc" : "libsvm-svr", x, o->ncols, err))
        return DG_ERR;
    uint64_t widest = 0;
    for (uint32_t r = 0; r < x->nrows; r++)
        if (x->ptr[r + 1] - x->ptr[r] > widest)
            widest = x->ptr[r + 1] - x->ptr[r];
    struct svm_node *nodes = dg_xmalloc(sizeof *nodes * (widest + 1));
    double *prob = dg_xmalloc(sizeof *prob * (size_t)m->nr_class);
    size_t nout = (size_t)dg_task_nout((dg_task)o->task, (int)o->nclasses);
    for (uint32_t r = 0; r < x->nrows; r++) {
        row_nodes(x, r, nodes);
        double *row = out + (size_t)r * nout;
        if (!is_classifier(m)) {
            *row = svm_predict(m, nodes);
            continue;
        }
        svm_predict_probability(m, nodes, prob);
        memset(row, 0, sizeof *row * nout);
        /* Classes absent from the training rows keep probability 0. */
        for (int k = 0; k < m->nr_class; k++) {
            if (o->task == DG_TASK_BINARY) {
                if (m->label[k] == 1)
                    *row = prob[k];
            } else {
                row[m->label[k]] = prob[k];
            }
        }
    }
    free(nodes);
    free(prob);
    return DG_OK;
}

#define MAGIC "demographer libsvm model 1\n"

static int svm_save_owned(const void *model, const char *path, dg_err *err)
{
    const svm_owned *o = model;
    const struct svm_model *m = &o->m;
    dg_textbuf b = {0};
    dg_family_put(&b, MAGIC, strlen(MAGIC));
    dg_family_put_u32(&b, o->ncols);
    dg_family_put_u32(&b, o->task);
    dg_family_put_u32(&b, o->nclasses);
    dg_family_put_u32(&b, o->sample_rows);
    dg_family_put_u32(&b, (uint32_t)m->param.svm_type);
    dg_family_put_f64(&b, m->param.gamma);
    dg_family_put_u32(&b, (uint32_t)m->nr_class);
    dg_family_put_u32(&b, (uint32_t)m->l);
    int pairs = pairs_of(m);
    dg_family_put(&b, m->rho, sizeof *m->rho * (size_t)pairs);
    uint32_t has_prob = is_classifier(m) && m->probA && m->probB;
    dg_family_put_u32(&b, has_prob);
    if (has_prob) {
        dg_family_put(&b, m->probA, sizeof *m->probA * (size_t)pairs);
        dg_family_put(&b, m->probB, sizeof *m->probB * (size_t)pairs);
    }
    if (is_classifier(m))
        for (int k = 0; k < m->nr_class; k++) {
            dg_family_put_u32(&b, (uint32_t)m->label[k]);
            dg_family_put_u32(&b, (uint32_t)m->nSV[k]);
        }
    for (int k = 0; k < m->nr_class - 1; k++)
        dg_family_put(&b, m->sv_coef[k], sizeof **m->sv_coef * (size_t)m->l);
    uint64_t n = sv_nodes(m);
    dg_family_put(&b, &n, sizeof n);
    for (int i = 0; i < m->l; i++) {
        const struct svm_node *p = m->SV[i];
        do {
            dg_family_put_u32(&b, (uint32_t)p->index);
            dg_family_put_f64(&b, p->value);
        } while ((p++)->index != -1);
    }
    int rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}

static int svm_load_owned(const char *path, void **out, dg_err *err)
{
    *out = NULL;
    dg_family_reader r;
    if (dg_family_open(&r, path, MAGIC, err))
        return DG_ERR;
    svm_owned *o = dg_xcalloc(1, sizeof *o);
    struct svm_model *m = &o->m;
    uint32_t svm_type, nr_class, l, has_prob;
    uint64_t n;
    int rc = DG_ERR;
    if (dg_family_get_u32(&r, &o->ncols, INT32_MAX - 1, "the column count", err) ||
        dg_family_get_u32(&r, &o->task, DG_TASK_REGRESSION, "the task", err) ||
        dg_family_get_u32(&r, &o->nclasses, 1000, "the class count", err) ||
        dg_family_get_u32(&r, &o->sample_rows, INT32_MAX, "the training rows", err) ||
        dg_family_get_u32(&r, &svm_type, EPSILON_SVR, "the SVM type", err) ||
        dg_family_get_f64(&r, &m->param.gamma, "gamma", err) ||
        dg_family_get_u32(&r, &nr_class, 1000, "LIBSVM's class count", err) ||
        dg_family_get_u32(&r, &l, o->sample_rows, "the support vector count", err))
        goto done;
    if ((svm_type != C_SVC && svm_type != EPSILON_SVR) || nr_class < 2 ||
        (svm_type == EPSILON_SVR) != (o->task == DG_TASK_REGRESSION) ||
        (svm_type == EPSILON_SVR && nr_class != 2)) {
        dg_fail(err, "%s: SVM type %u with %u classes is not a model demographer fits", path,
                svm_type, nr_class);
        goto done;
    }
    m->param.svm_type = (int)svm_type;
    m->param.kernel_type = RBF;
    m->nr_class = (int)nr_class;
    m->l = (int)l;
    m->free_sv = 1;
    int pairs = pairs_of(m);
    m->rho = dg_xmalloc(sizeof *m->rho * (size_t)pairs);
    if (dg_family_get(&r, m->rho, sizeof *m->rho * (size_t)pairs, "rho", err) ||
        dg_family_get_u32(&r, &has_prob, 1, "the probability flag", err))
        goto done;
    if (has_prob) {
        m->probA = dg_xmalloc(sizeof *m->probA * (size_t)pairs);
        m->probB = dg_xmalloc(sizeof *m->probB * (size_t)pairs);
        if (dg_family_get(&r, m->probA, sizeof *m->probA * (size_t)pairs, "probA", err) ||
            dg_family_get(&r, m->probB, sizeof *m->probB * (size_t)pairs, "probB", err))
            goto done;
    } else if (svm_type == C_SVC) {
        dg_fail(err, "%s: the classifier has no probability model", path);
        goto done;
    }
    if (svm_type == C_SVC) {
        m->label = dg_xmalloc(sizeof *m->label * nr_class);
        m->nSV = dg_xmalloc(sizeof *m->nSV * nr_class);
        uint32_t top = o->task == DG_TASK_BINARY ? 1 : o->nclasses - 1, total = 0;
        for (uint32_t k = 0; k < nr_class; k++) {
            uint32_t label, nsv;
            if (dg_family_get_u32(&r, &label, top, "a class label", err) ||
                dg_family_get_u32(&r, &nsv, l, "a class's support vectors", err))
                goto done;
            m->label[k] = (int)label;
            m->nSV[k] = (int)nsv;
            total += nsv;
        }
        if (total != l) {
            dg_fail(err, "%s: the classes' support vectors add to %u, expected %u", path, total,
                    l);
            goto done;
        }
    }
    m->sv_coef = dg_xcalloc(nr_class - 1, sizeof *m->sv_coef);
    for (uint32_t k = 0; k < nr_class - 1; k++) {
        m->sv_coef[k] = dg_xmalloc(sizeof **m->sv_coef * ((size_t)l + 1));
        if (dg_family_get(&r, m->sv_coef[k], sizeof **m->sv_coef * l, "the coefficients", err))
            goto done;
    }
    if (dg_family_get(&r, &n, sizeof n, "the node count", err))
        goto done;
    if (n > (r.len - r.at) / 12 || n < l) {
        dg_fail(err, "%s: %llu support vector entries do not fit the file", path,
                (unsigned long long)n);
        goto done;
    }
    m->SV = dg_xcalloc((size_t)l + 1, sizeof *m->SV);
    struct svm_node *block = dg_xmalloc(sizeof *block * (n + 1));
    m->SV[0] = block;
    uint32_t sv = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t index;
        if (dg_family_get(&r, &index, sizeof index, "a support vector index", err) ||
            dg_family_get_f64(&r, &block[i].value, "a support vector value", err))
            goto done;
        block[i].index = (int)index;
        if (block[i].index == -1) {
            /* A vector ends; the next starts after it. */
            if (++sv < l)
                m->SV[sv] = block + i + 1;
        } else if (index == 0 || index > o->ncols) {
            dg_fail(err, "%s: a support vector's column %u is outside 1..%u", path, index,
                    o->ncols);
            goto done;
        }
    }
    if (sv != l) {
        dg_fail(err, "%s: %u support vectors found, expected %u", path, sv, l);
        goto done;
    }
    if (dg_family_end(&r, err))
        goto done;
    rc = DG_OK;
done:
    dg_family_close(&r);
    if (rc)
        svm_owned_free(o);
    else
        *out = o;
    return rc;
}

static int fit_svc(const dg_trainset *t, const dg_params *params, void **out,
                   const dg_progress *progress, dg_err *err)
{
    return svm_fit(&dg_family_libsvm_svc, C_SVC, t, params, out, progress, err);
}

static int fit_svr(const dg_trainset *t, const dg_params *params, void **out,
                   const dg_progress *progress, dg_err *err)
{
    return svm_fit(&dg_family_libsvm_svr, EPSILON_SVR, t, params, out, progress, err);
}

static const char *const svc_params[] = {"C", "gamma", "eps", "rows", NULL};
static const char *const svr_params[] = {"C", "gamma", "eps", "rows", "p", NULL};

const dg_model_family dg_family_libsvm_svc = {
    .name = "libsvm-svc",
    .summary = "LIBSVM C-SVC, RBF kernel, probabilities; trains on a seeded subsample of "
               "`rows` rows (default 8000): time grows with rows squared",
    .tasks = (1u << DG_TASK_BINARY) | (1u << DG_TASK_MULTICLASS),
    .param_names = svc_params,
    .grid = "C=0.3,1,3",
    .fit = fit_svc,
    .predict = svm_predict_rows,
    .save = svm_save_owned,
    .load = svm_load_owned,
    .nout = svm_nout,
    .free = svm_owned_free,
};

const dg_model_family dg_family_libsvm_svr = {
    .name = "libsvm-svr",
    .summary = "LIBSVM epsilon-SVR, RBF kernel; trains on a seeded subsample of `rows` rows "
               "(default 8000): time grows with rows squared",
    .tasks = 1u << DG_TASK_REGRESSION,
    .param_names = svr_params,
    .grid = "C=1,10,100 p=1",
    .fit = fit_svr,
    .predict = svm_predict_rows,
    .save = svm_save_owned,
    .load = svm_load_owned,
    .nout = svm_nout,
    .free = svm_owned_free,
};
