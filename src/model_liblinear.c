/* LIBLINEAR families: L2- and L1-penalised logistic regression (binary, and
 * one-vs-rest for several classes, whose probabilities LIBLINEAR normalises
 * to sum to 1) and L2-loss support vector regression. A bias column is
 * appended to every row (LIBLINEAR penalises it like any weight), and the
 * regression centres its targets on their mean so the penalty does not pull
 * the prediction towards 0. LIBLINEAR takes no sample weights; they are
 * refused rather than ignored.
 *
 * The model file is ours (the library's own writes 17 significant digits
 * through a locale-dependent printf and not atomically): the weights as
 * native doubles, so a reloaded model predicts the same bits. */
#include "model_family.h"

#include <linear.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct ll_model {
    uint32_t ncols;
    uint32_t task;
    uint32_t nclasses; /* ours: 2, K, or 0 for regression */
    double y_offset;   /* added to a regression's prediction */
    struct model *m;   /* w and label malloc'd, freed by free_and_destroy_model */
    double *view;      /* the weights in our class order (ll_linear), or NULL */
} ll_model;

static void silent(const char *s)
{
    (void)s;
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_liblinear(void)
{
    set_print_string_function(silent);
}

/* The distinct classes in order of first appearance (LIBLINEAR's order of
 * model->label) into order[0..1000); returns how many. */
static int labels_in_order(const dg_trainset *t, int *order)
{
    int n = 0;
    uint8_t seen[1000] = {0};
    for (uint32_t i = 0; i < t->x->nrows; i++) {
        int y = (int)t->y[i];
        if (y >= 0 && y < 1000 && !seen[y]) {
            seen[y] = 1;
            order[n++] = y;
        }
    }
    return n;
}

/* Rows as LIBLINEAR wants them: 1-based indexes, the bias column
 * ncols + 1, then index -1. `nodes` holds nnz + 2 * nrows entries. */
static void rows_to_nodes(const dg_csr *x, struct feature_node *nodes,
                          struct feature_node **rows)
{
    struct feature_node *at = nodes;
    for (uint32_t r = 0; r < x->nrows; r++) {
        if (rows)
            rows[r] = at;
        for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++)
            *at++ = (struct feature_node){(int)x->idx[e] + 1, x->val[e]};
        *at++ = (struct feature_node){(int)x->ncols + 1, 1.0};
        *at++ = (struct feature_node){-1, 0};
    }
}

static int solver_family(int solver, const dg_model_family **f);

static void ll_build_view(ll_model *lm);

static int nr_w_of(const struct model *m)
{
    if (check_regression_model(m))
        return 1;
    return m->nr_class == 2 && m->param.solver_type != MCSVM_CS ? 1 : m->nr_class;
}

static int ll_fit(const dg_model_family *f, int solver, const dg_trainset *t,
                  const dg_params *params, void **out, const dg_progress *progress, dg_err *err)
{
    *out = NULL;
    double c, eps, p = 0;
    int regression = solver == L2R_L2LOSS_SVR;
    if (dg_family_check(f, t, params, err) ||
        dg_family_finite_values(f, t->x, err) || dg_family_no_weights(f, t, err) ||
        dg_family_param(f, params, "C", 1, 1e-9, 1e9, 0, &c, err) ||
        dg_family_param(f, params, "eps", regression ? 1e-3 : 1e-2, 1e-12, 10, 0, &eps, err) ||
        (regression && dg_family_param(f, params, "p", 0.1, 0, 1e9, 0, &p, err)))
        return DG_ERR;
    const dg_csr *x = t->x;
    double y_offset = 0;
    if (regression) {
        for (uint32_t i = 0; i < x->nrows; i++)
            y_offset += t->y[i];
        y_offset /= x->nrows;
    } else {
        int present = 0;
        double *counts = dg_xmalloc(sizeof *counts * (size_t)t->nclasses);
        dg_family_class_counts(t, counts);
        for (int k = 0; k < t->nclasses; k++)
            present += counts[k] > 0;
        free(counts);
        if (present < 2)
            return dg_fail(err, "%s: the training rows hold only one class; 2 are needed",
                           f->name);
    }
    if (dg_progress_report(progress, f->name, 0, 1, "fits"))
        return dg_cancel(err, "cancelled");

    struct feature_node *nodes = dg_xmalloc(sizeof *nodes * (x->nnz + 2 * (size_t)x->nrows));
    struct feature_node **rows = dg_xmalloc(sizeof *rows * x->nrows);
    double *y = dg_xmalloc(sizeof *y * x->nrows);
    rows_to_nodes(x, nodes, rows);
    for (uint32_t i = 0; i < x->nrows; i++)
        y[i] = t->y[i] - y_offset;
    struct problem prob = {.l = (int)x->nrows, .n = (int)x->ncols + 1, .y = y, .x = rows,
                           .bias = 1};
    struct parameter param = {.solver_type = solver, .eps = eps, .C = c, .p = p};
    /* A warm start from the previous point of the C path: LIBLINEAR 2.30
     * takes an initial w (of a model's w layout) for L2R_LR only. */
    const ll_model *warm = t->warm;
    if (warm && solver == L2R_LR && warm->ncols == x->ncols && warm->m &&
        warm->m->param.solver_type == solver && warm->m->nr_feature == (int)x->ncols &&
        warm->m->bias >= 0 && warm->nclasses == (uint32_t)t->nclasses) {
        /* The labels (classes in order of first appearance) must agree, or
         * the weights would start on the wrong classes. */
        int same = 1;
        if (!regression) {
            int order[1000], n = labels_in_order(t, order);
            same = warm->m->label && warm->m->nr_class == n;
            for (int k = 0; same && k < n; k++)
                same = warm->m->label[k] == order[k];
        }
        if (same)
            param.init_sol = warm->m->w;
    }
    const char *bad = check_parameter(&prob, &param);
    struct model *m = NULL;
    if (!bad) {
        pthread_once(&quiet_once, quiet_liblinear);
        /* Only the coordinate-descent solver (L1R_LR) draws from rand(); the
         * others run side by side without the lock. */
        if (solver == L1R_LR)
            dg_family_rand_lock(t->seed);
        m = train(&prob, &param);
        if (solver == L1R_LR)
            dg_family_rand_unlock();
    }
    free(nodes);
    free(rows);
    free(y);
    if (bad)
        return dg_fail(err, "%s: LIBLINEAR refuses the parameters: %s", f->name, bad);
    if (!m)
        return dg_fail(err, "%s: LIBLINEAR failed to train", f->name);
    if (dg_progress_report(progress, f->name, 1, 1, "fits")) {
        free_and_destroy_model(&m);
        return dg_cancel(err, "cancelled");
    }
    ll_model *lm = dg_xcalloc(1, sizeof *lm);
    lm->ncols = x->ncols;
    lm->task = (uint32_t)t->task;
    lm->nclasses = (uint32_t)t->nclasses;
    lm->y_offset = y_offset;
    lm->m = m;
    ll_build_view(lm);
    *out = lm;
    return DG_OK;
}

static int ll_predict(const void *model, const dg_csr *x, double *out, dg_err *err)
{
    const ll_model *lm = model;
    const dg_model_family *f = &dg_family_liblinear_lr_l2;
    solver_family(lm->m->param.solver_type, &f); /* known: load checked it */
    if (dg_family_check_cols(f->name, x, lm->ncols, err))
        return DG_ERR;
    uint64_t widest = 0;
    for (uint32_t r = 0; r < x->nrows; r++)
        if (x->ptr[r + 1] - x->ptr[r] > widest)
            widest = x->ptr[r + 1] - x->ptr[r];
    struct feature_node *nodes = dg_xmalloc(sizeof *nodes * (widest + 2));
    int nr_class = lm->m->nr_class;
    double *prob = dg_xmalloc(sizeof *prob * (size_t)nr_class);
    size_t nout = (size_t)dg_task_nout((dg_task)lm->task, (int)lm->nclasses);
    for (uint32_t r = 0; r < x->nrows; r++) {
        dg_csr one = {.ptr = x->ptr + r, .idx = x->idx, .val = x->val, .nrows = 1,
                      .ncols = x->ncols};
        rows_to_nodes(&one, nodes, NULL);
        double *o = out + (size_t)r * nout;
        if (lm->task == DG_TASK_REGRESSION) {
            *o = predict(lm->m, nodes) + lm->y_offset;
            continue;
        }
        predict_probability(lm->m, nodes, prob);
        memset(o, 0, sizeof *o * nout);
        /* Classes absent from the training rows keep probability 0. */
        for (int k = 0; k < nr_class; k++) {
            int label = lm->m->label[k];
            if (lm->task == DG_TASK_BINARY) {
                if (label == 1)
                    *o = prob[k];
            } else {
                o[label] = prob[k];
            }
        }
    }
    free(nodes);
    free(prob);
    return DG_OK;
}

#define MAGIC "demographer liblinear model 1\n"

static int ll_save(const void *model, const char *path, dg_err *err)
{
    const ll_model *lm = model;
    const struct model *m = lm->m;
    dg_textbuf b = {0};
    dg_family_put(&b, MAGIC, strlen(MAGIC));
    dg_family_put_u32(&b, lm->ncols);
    dg_family_put_u32(&b, lm->task);
    dg_family_put_u32(&b, lm->nclasses);
    dg_family_put_f64(&b, lm->y_offset);
    dg_family_put_u32(&b, (uint32_t)m->param.solver_type);
    dg_family_put_u32(&b, (uint32_t)m->nr_class);
    dg_family_put_u32(&b, (uint32_t)m->nr_feature);
    dg_family_put_f64(&b, m->bias);
    uint32_t has_labels = m->label != NULL;
    dg_family_put_u32(&b, has_labels);
    for (int k = 0; has_labels && k < m->nr_class; k++)
        dg_family_put_u32(&b, (uint32_t)m->label[k]);
    size_t nw = ((size_t)m->nr_feature + (m->bias >= 0)) * (size_t)nr_w_of(m);
    dg_family_put(&b, m->w, sizeof *m->w * nw);
    int rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}

static int ll_nout(const void *model)
{
    const ll_model *m = model;
    return dg_task_nout((dg_task)m->task, (int)m->nclasses);
}

static void ll_free(void *model)
{
    ll_model *lm = model;
    if (!lm)
        return;
    if (lm->m)
        free_and_destroy_model(&lm->m);
    free(lm->view);
    free(lm);
}

/* The weights as export-sql reads them (model.h's dg_linear_view): a row of
 * nclasses per column, the bias's last, in our class order. LIBLINEAR keeps
 * one weight vector per class in the order the classes were first seen
 * (binary: one, for label[0], whose probability is the sigmoid of its
 * score: a softmax over that score and 0). Logistic regression with every
 * class in its training rows only: a class it never saw has probability 0,
 * which no score gives. */
static void ll_build_view(ll_model *lm)
{
    const struct model *m = lm->m;
    if (lm->task == DG_TASK_REGRESSION || (uint32_t)m->nr_class != lm->nclasses ||
        m->bias < 0 || m->nr_feature != (int)lm->ncols ||
        (m->param.solver_type != L2R_LR && m->param.solver_type != L1R_LR))
        return;
    uint32_t k = lm->nclasses, nr_w = (uint32_t)nr_w_of(m);
    lm->view = dg_xcalloc(((size_t)lm->ncols + 1) * k, sizeof *lm->view);
    for (uint32_t j = 0; j <= lm->ncols; j++)
        for (uint32_t c = 0; c < nr_w; c++)
            lm->view[(size_t)j * k + (uint32_t)m->label[c]] = m->w[(size_t)j * nr_w + c];
}

static int ll_linear(const void *model, dg_linear_view *out)
{
    const ll_model *lm = model;
    if (!lm->view)
        return DG_ERR;
    *out = (dg_linear_view){.ncols = lm->ncols, .nclasses = lm->nclasses,
                            .binary = lm->task == DG_TASK_BINARY,
                            .ovr = lm->task == DG_TASK_MULTICLASS, .w = lm->view,
                            .nout = lm->task == DG_TASK_BINARY ? 1 : lm->nclasses};
    return DG_OK;
}

static int ll_load(const char *path, void **out, dg_err *err)
{
    *out = NULL;
    dg_family_reader r;
    if (dg_family_open(&r, path, MAGIC, err))
        return DG_ERR;
    ll_model *lm = dg_xcalloc(1, sizeof *lm);
    struct model *m = lm->m = dg_xcalloc(1, sizeof *m);
    uint32_t solver, nr_class, nr_feature, has_labels;
    const dg_model_family *f;
    int rc = DG_ERR;
    if (dg_family_get_u32(&r, &lm->ncols, INT32_MAX - 1, "the column count", err) ||
        dg_family_get_u32(&r, &lm->task, DG_TASK_REGRESSION, "the task", err) ||
        dg_family_get_u32(&r, &lm->nclasses, 1000, "the class count", err) ||
        dg_family_get_f64(&r, &lm->y_offset, "the target offset", err) ||
        dg_family_get_u32(&r, &solver, 100, "the solver", err) ||
        dg_family_get_u32(&r, &nr_class, 1000, "LIBLINEAR's class count", err) ||
        dg_family_get_u32(&r, &nr_feature, lm->ncols, "LIBLINEAR's feature count", err) ||
        dg_family_get_f64(&r, &m->bias, "the bias", err) ||
        dg_family_get_u32(&r, &has_labels, 1, "the label flag", err))
        goto done;
    if (solver_family((int)solver, &f)) {
        dg_fail(err, "%s: solver %u is not one demographer fits", path, solver);
        goto done;
    }
    m->param.solver_type = (int)solver;
    m->nr_class = (int)nr_class;
    m->nr_feature = (int)nr_feature;
    if (has_labels != !check_regression_model(m) || nr_class < 2 ||
        (lm->task != DG_TASK_REGRESSION) != has_labels) {
        dg_fail(err, "%s: the model's classes (%u) do not suit its solver %u", path, nr_class,
                solver);
        goto done;
    }
    if (has_labels) {
        m->label = dg_xmalloc(sizeof *m->label * nr_class);
        for (uint32_t k = 0; k < nr_class; k++) {
            uint32_t label;
            uint32_t top = lm->task == DG_TASK_BINARY ? 1 : lm->nclasses - 1;
            if (dg_family_get_u32(&r, &label, top, "a class label", err))
                goto done;
            m->label[k] = (int)label;
        }
    }
    size_t nw = ((size_t)nr_feature + (m->bias >= 0)) * (size_t)nr_w_of(m);
    if (dg_family_get_f64s(&r, nw, &m->w, "weights", err) || dg_family_end(&r, err))
        goto done;
    ll_build_view(lm);
    rc = DG_OK;
done:
    dg_family_close(&r);
    if (rc)
        ll_free(lm);
    else
        *out = lm;
    return rc;
}

static int fit_lr_l2(const dg_trainset *t, const dg_params *params, void **out,
                     const dg_progress *progress, dg_err *err)
{
    return ll_fit(&dg_family_liblinear_lr_l2, L2R_LR, t, params, out, progress, err);
}

static int fit_lr_l1(const dg_trainset *t, const dg_params *params, void **out,
                     const dg_progress *progress, dg_err *err)
{
    return ll_fit(&dg_family_liblinear_lr_l1, L1R_LR, t, params, out, progress, err);
}

static int fit_svr(const dg_trainset *t, const dg_params *params, void **out,
                   const dg_progress *progress, dg_err *err)
{
    return ll_fit(&dg_family_liblinear_svr, L2R_L2LOSS_SVR, t, params, out, progress, err);
}

static const char *const lr_params[] = {"C", "eps", NULL};
static const char *const svr_params[] = {"C", "eps", "p", NULL};

#define CLASSES ((1u << DG_TASK_BINARY) | (1u << DG_TASK_MULTICLASS))

const dg_model_family dg_family_liblinear_lr_l2 = {
    .name = "liblinear-lr-l2",
    .summary = "LIBLINEAR logistic regression, L2 penalty (one-vs-rest for several classes)",
    .tasks = CLASSES,
    .param_names = lr_params,
    .grid = "C=0.01,0.1,1,10",
    .fit = fit_lr_l2,
    .predict = ll_predict,
    .save = ll_save,
    .load = ll_load,
    .nout = ll_nout,
    .free = ll_free,
    .linear = ll_linear,
    .warm_param = "C",
};

const dg_model_family dg_family_liblinear_lr_l1 = {
    .name = "liblinear-lr-l1",
    .summary = "LIBLINEAR logistic regression, L1 penalty: sparse weights (one-vs-rest)",
    .tasks = CLASSES,
    .param_names = lr_params,
    .grid = "C=0.1,1,10",
    .fit = fit_lr_l1,
    .predict = ll_predict,
    .save = ll_save,
    .load = ll_load,
    .nout = ll_nout,
    .free = ll_free,
    .linear = ll_linear,
};

const dg_model_family dg_family_liblinear_svr = {
    .name = "liblinear-svr",
    .summary = "LIBLINEAR linear support vector regression, L2 loss, insensitivity p",
    .tasks = 1u << DG_TASK_REGRESSION,
    .param_names = svr_params,
    .grid = "C=0.001,0.01,0.1,1",
    .fit = fit_svr,
    .predict = ll_predict,
    .save = ll_save,
    .load = ll_load,
    .nout = ll_nout,
    .free = ll_free,
};

static int solver_family(int solver, const dg_model_family **f)
{
    switch (solver) {
    case L2R_LR:
        *f = &dg_family_liblinear_lr_l2;
        return DG_OK;
    case L1R_LR:
        *f = &dg_family_liblinear_lr_l1;
        return DG_OK;
    case L2R_L2LOSS_SVR:
        *f = &dg_family_liblinear_svr;
        return DG_OK;
    }
    return DG_ERR;
}
