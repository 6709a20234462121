/* Gradient-boosted trees through XGBoost's C API: binary:logistic,
 * multi:softprob and reg:squarederror, the hist tree method on 2 threads.
 *
 * Missing versus zero: the CSR matrix goes in as it is
 * (XGDMatrixCreateFromCSREx), so an entry the matrix does not store is
 * *missing* to XGBoost, which learns for every split which side missing
 * values take, and a stored value, 0 included, is a value. For demographer's
 * matrices (one-hot and bag columns, which store only their non-zeros) this
 * reads "absent" as absent; a NaN stored in the matrix is missing too.
 *
 * Every fit is seeded (seed, for subsample and colsample), logs go to a
 * callback that drops them (XGBoost's log settings are per thread, so every
 * entry point sets them), and the model file is our header followed by
 * XGBoost's own UBJSON model, written in one atomic write. */
#include "model_family.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

_Static_assert(sizeof(size_t) == sizeof(uint64_t), "dg_csr row offsets are XGBoost's size_t");
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "dg_csr column indexes are unsigned");

typedef struct xgb_model {
    uint32_t ncols;
    uint32_t task;
    uint32_t nclasses;
    BoosterHandle booster;
} xgb_model;

static void drop_log(const char *msg)
{
    (void)msg;
}

/* Quiet XGBoost on the calling thread. */
static void quiet(void)
{
    XGBSetGlobalConfig("{\"verbosity\":0}");
    XGBRegisterLogCallback(drop_log);
}

static int xgb_fail(dg_err *err, const char *what)
{
    return dg_fail(err, "xgboost: %s: %s", what, XGBGetLastError());
}

static int make_dmatrix(const dg_csr *x, DMatrixHandle *dm, dg_err *err)
{
    if (XGDMatrixCreateFromCSREx((const size_t *)x->ptr, x->idx, x->val, (size_t)x->nrows + 1,
                                 x->nnz, x->ncols, dm))
        return xgb_fail(err, "building the matrix");
    return DG_OK;
}

static const char *const param_names[] = {"eta",      "max_depth", "rounds", "subsample",
                                          "colsample", "lambda",   "min_child_weight",
                                          "threads",  NULL};

static int set_param(BoosterHandle b, const char *name, double v, dg_err *err)
{
    char text[32];
    snprintf(text, sizeof text, "%.17g", v);
    if (XGBoosterSetParam(b, name, text)) {
        char what[64];
        snprintf(what, sizeof what, "setting %s=%s", name, text);
        return xgb_fail(err, what);
    }
    return DG_OK;
}

extern const dg_model_family dg_family_xgboost;

static int xgb_fit(const dg_trainset *t, const dg_params *params, void **out,
                   const dg_progress *progress, dg_err *err)
{
    const dg_model_family *f = &dg_family_xgboost;
    *out = NULL;
    double eta, depth, rounds, subsample, colsample, lambda, min_child, threads;
    if (dg_family_check(f, t, params, err) ||
        dg_family_param(f, params, "eta", 0.1, 1e-6, 1, 0, &eta, err) ||
        dg_family_param(f, params, "max_depth", 6, 1, 32, 1, &depth, err) ||
        dg_family_param(f, params, "rounds", 200, 1, 100000, 1, &rounds, err) ||
        dg_family_param(f, params, "subsample", 1, 1e-6, 1, 0, &subsample, err) ||
        dg_family_param(f, params, "colsample", 1, 1e-6, 1, 0, &colsample, err) ||
        dg_family_param(f, params, "lambda", 1, 0, 1e9, 0, &lambda, err) ||
        dg_family_param(f, params, "min_child_weight", 1, 0, 1e9, 0, &min_child, err) ||
        dg_family_param(f, params, "threads", t->threads > 0 ? t->threads : 2, 1, 64, 1,
                        &threads, err))
        return DG_ERR;
    quiet();
    const dg_csr *x = t->x;
    DMatrixHandle dm = NULL;
    BoosterHandle b = NULL;
    float *fl = dg_xmalloc(sizeof *fl * x->nrows);
    int rc = DG_ERR;
    if (make_dmatrix(x, &dm, err))
        goto done;
    double mean = 0;
    for (uint32_t i = 0; i < x->nrows; i++) {
        fl[i] = (float)t->y[i];
        mean += t->y[i];
    }
    mean /= x->nrows;
    if (XGDMatrixSetFloatInfo(dm, "label", fl, x->nrows)) {
        xgb_fail(err, "setting the labels");
        goto done;
    }
    if (t->weight) {
        for (uint32_t i = 0; i < x->nrows; i++)
            fl[i] = (float)t->weight[i];
        if (XGDMatrixSetFloatInfo(dm, "weight", fl, x->nrows)) {
            xgb_fail(err, "setting the weights");
            goto done;
        }
    }
    if (XGBoosterCreate(&dm, 1, &b)) {
        xgb_fail(err, "creating the booster");
        goto done;
    }
    const char *objective = t->task == DG_TASK_BINARY       ? "binary:logistic"
                            : t->task == DG_TASK_MULTICLASS ? "multi:softprob"
                                                            : "reg:squarederror";
    if (XGBoosterSetParam(b, "objective", objective) ||
        XGBoosterSetParam(b, "tree_method", "hist") || XGBoosterSetParam(b, "verbosity", "0")) {
        xgb_fail(err, "setting the objective");
        goto done;
    }
    /* The regression starts from the mean age rather than XGBoost's 0.5. */
    if ((t->task == DG_TASK_MULTICLASS && set_param(b, "num_class", t->nclasses, err)) ||
        (t->task == DG_TASK_REGRESSION && set_param(b, "base_score", mean, err)) ||
        set_param(b, "eta", eta, err) || set_param(b, "max_depth", depth, err) ||
        set_param(b, "subsample", subsample, err) ||
        set_param(b, "colsample_bytree", colsample, err) || set_param(b, "lambda", lambda, err) ||
        set_param(b, "min_child_weight", min_child, err) ||
        set_param(b, "nthread", threads, err) ||
        set_param(b, "seed", (double)(t->seed % 2147483647u), err))
        goto done;
    for (int round = 0; round < (int)rounds; round++) {
        if (dg_progress_report(progress, "xgboost", round, rounds, "rounds")) {
            dg_cancel(err, "cancelled");
            goto done;
        }
        if (XGBoosterUpdateOneIter(b, round, dm)) {
            xgb_fail(err, "boosting");
            goto done;
        }
    }
    xgb_model *m = dg_xcalloc(1, sizeof *m);
    m->ncols = x->ncols;
    m->task = (uint32_t)t->task;
    m->nclasses = (uint32_t)t->nclasses;
    m->booster = b;
    b = NULL;
    *out = m;
    rc = DG_OK;
done:
    if (b)
        XGBoosterFree(b);
    if (dm)
        XGDMatrixFree(dm);
    free(fl);
    return rc;
}

static int xgb_predict(const void *model, const dg_csr *x, double *out, dg_err *err)
{
    const xgb_model *m = model;
    if (dg_family_check_cols("xgboost", x, m->ncols, err))
        return DG_ERR;
    if (x->nrows == 0)
        return DG_OK;
    quiet();
    DMatrixHandle dm;
    if (make_dmatrix(x, &dm, err))
        return DG_ERR;
    bst_ulong len = 0;
    const float *res = NULL;
    int rc = XGBoosterPredict(m->booster, dm, 0, 0, 0, &len, &res);
    size_t nout = (size_t)dg_task_nout((dg_task)m->task, (int)m->nclasses);
    if (rc) {
        xgb_fail(err, "predicting");
    } else if (len != (bst_ulong)x->nrows * nout) {
        rc = dg_fail(err, "xgboost: %llu predictions for %u rows of %zu, expected %llu",
                     (unsigned long long)len, x->nrows, nout,
                     (unsigned long long)x->nrows * nout);
    } else {
        for (size_t i = 0; i < (size_t)len; i++)
            out[i] = res[i];
        /* XGBoost's softmax is in floats: sum to 1 in doubles. */
        for (uint32_t r = 0; m->task == DG_TASK_MULTICLASS && r < x->nrows; r++) {
            double *o = out + (size_t)r * nout, sum = 0;
            for (size_t c = 0; c < nout; c++)
                sum += o[c];
            for (size_t c = 0; c < nout; c++)
                o[c] /= sum;
        }
    }
    XGDMatrixFree(dm);
    return rc ? DG_ERR : DG_OK;
}

#define MAGIC "demographer xgboost model 1\n"

static int xgb_save(const void *model, const char *path, dg_err *err)
{
    const xgb_model *m = model;
    quiet();
    bst_ulong len = 0;
    const char *bytes = NULL;
    if (XGBoosterSaveModelToBuffer(m->booster, "{\"format\":\"ubj\"}", &len, &bytes))
        return xgb_fail(err, "saving the model");
    dg_textbuf b = {0};
    dg_family_put(&b, MAGIC, strlen(MAGIC));
    dg_family_put_u32(&b, m->ncols);
    dg_family_put_u32(&b, m->task);
    dg_family_put_u32(&b, m->nclasses);
    uint64_t n = len;
    dg_family_put(&b, &n, sizeof n);
    dg_family_put(&b, bytes, (size_t)len);
    int rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}

static int xgb_nout(const void *model)
{
    const xgb_model *m = model;
    return dg_task_nout((dg_task)m->task, (int)m->nclasses);
}

static void xgb_free(void *model)
{
    xgb_model *m = model;
    if (!m)
        return;
    if (m->booster)
        XGBoosterFree(m->booster);
    free(m);
}

static int xgb_load(const char *path, void **out, dg_err *err)
{
    *out = NULL;
    dg_family_reader r;
    if (dg_family_open(&r, path, MAGIC, err))
        return DG_ERR;
    quiet();
    xgb_model *m = dg_xcalloc(1, sizeof *m);
    uint64_t len;
    int rc = DG_ERR;
    if (dg_family_get_u32(&r, &m->ncols, INT32_MAX - 1, "the column count", err) ||
        dg_family_get_u32(&r, &m->task, DG_TASK_REGRESSION, "the task", err) ||
        dg_family_get_u32(&r, &m->nclasses, 1000, "the class count", err) ||
        dg_family_get(&r, &len, sizeof len, "the model length", err))
        goto done;
    if (len != r.len - r.at) {
        dg_fail(err, "%s: the XGBoost model should take %llu bytes, the file holds %zu", path,
                (unsigned long long)len, r.len - r.at);
        goto done;
    }
    if (XGBoosterCreate(NULL, 0, &m->booster)) {
        xgb_fail(err, "creating the booster");
        goto done;
    }
    if (XGBoosterLoadModelFromBuffer(m->booster, r.data + r.at, len)) {
        dg_fail(err, "%s: XGBoost cannot read the model: %s", path, XGBGetLastError());
        goto done;
    }
    bst_ulong nfeat = 0;
    if (XGBoosterGetNumFeature(m->booster, &nfeat) || nfeat > m->ncols) {
        dg_fail(err, "%s: the XGBoost model uses %llu features, the header says %u", path,
                (unsigned long long)nfeat, m->ncols);
        goto done;
    }
    if (XGBoosterSetParam(m->booster, "nthread", "2")) {
        xgb_fail(err, "setting nthread");
        goto done;
    }
    rc = DG_OK;
done:
    dg_family_close(&r);
    if (rc)
        xgb_free(m);
    else
        *out = m;
    return rc;
}

const dg_model_family dg_family_xgboost = {
    .name = "xgboost",
    .summary = "gradient-boosted trees (XGBoost hist, 2 threads); an absent entry is missing",
    .tasks = (1u << DG_TASK_BINARY) | (1u << DG_TASK_MULTICLASS) | (1u << DG_TASK_REGRESSION),
    .param_names = param_names,
    .grid = "eta=0.1 max_depth=4,6 rounds=100,300 subsample=0.8 colsample=0.8",
    .fit = xgb_fit,
    .predict = xgb_predict,
    .save = xgb_save,
    .load = xgb_load,
    .nout = xgb_nout,
    .free = xgb_free,
};
