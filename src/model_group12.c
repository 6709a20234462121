/* group12-sum: gender, group6 and age read off a group12 model. Its
 * probabilities times a 12 x nout table: for gender, P(female) is the sum of
 * the six female groups; for group6 (whose age bands cut across two of the
 * group12 bands), each group12's share of every group6 as the training
 * labels give it; for age, the expected age: each group's mean train age. Train makes these runs from the chosen group12 model of a scenario
 * (train.c) and the selection rule keeps one only where its CV beats the
 * direct models; it is no family one fits on its own (tasks 0, so it is in
 * no default list), but a model directory loads it by name.
 *
 * The file: our header, the inner family's name and the table; the inner
 * model is its family's own file, written next to it as PATH.group12. */
#include "model_family.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct g12_model {
    const dg_model_family *inner_family;
    void *inner;
    int owned;        /* 1: inner is ours to free (a loaded model) */
    uint32_t task;
    uint32_t nout;
    double map[12 * 6];
} g12_model;

void dg_group12_apply(const double *p12, uint32_t n, int nout, const double *map, double *out)
{
    for (uint32_t r = 0; r < n; r++) {
        const double *p = p12 + (size_t)r * 12;
        double *o = out + (size_t)r * (size_t)nout;
        for (int j = 0; j < nout; j++) {
            double v = 0;
            for (int g = 0; g < 12; g++)
                v += p[g] * map[g * nout + j];
            o[j] = v;
        }
    }
}

void *dg_group12_sum_make(const dg_model_family *inner_family, void *inner, dg_task task,
                          const double *map)
{
    g12_model *m = dg_xcalloc(1, sizeof *m);
    m->inner_family = inner_family;
    m->inner = inner;
    m->task = (uint32_t)task;
    m->nout = task == DG_TASK_MULTICLASS ? 6 : 1;
    memcpy(m->map, map, sizeof *map * 12 * m->nout);
    return m;
}

static int g12_fit(const dg_trainset *t, const dg_params *params, void **out,
                   const dg_progress *progress, dg_err *err)
{
    (void)t, (void)params, (void)progress;
    *out = NULL;
    return dg_fail(err, "group12-sum is made by train from a group12 model, not fit");
}

static int g12_predict(const void *model, const dg_csr *x, double *out, dg_err *err)
{
    const g12_model *m = model;
    double *p12 = dg_xmalloc(sizeof *p12 * ((size_t)x->nrows * 12 + 1));
    int rc = m->inner_family->predict(m->inner, x, p12, err);
    if (rc == DG_OK)
        dg_group12_apply(p12, x->nrows, (int)m->nout, m->map, out);
    free(p12);
    return rc;
}

#define MAGIC "demographer group12-sum model 1\n"

static int g12_save(const void *model, const char *path, dg_err *err)
{
    const g12_model *m = model;
    char *ip = dg_family_inner_path(path, ".group12");
    int rc = m->inner_family->save(m->inner, ip, err);
    free(ip);
    if (rc != DG_OK)
        return rc;
    dg_textbuf b = {0};
    dg_family_put(&b, MAGIC, strlen(MAGIC));
    uint32_t len = (uint32_t)strlen(m->inner_family->name);
    dg_family_put_u32(&b, len);
    dg_family_put(&b, m->inner_family->name, len);
    dg_family_put_u32(&b, m->task);
    dg_family_put_u32(&b, m->nout);
    dg_family_put(&b, m->map, sizeof *m->map * 12 * m->nout);
    rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}

static int g12_nout(const void *model)
{
    const g12_model *m = model;
    return (int)m->nout;
}

static void g12_free(void *model)
{
    g12_model *m = model;
    if (!m)
        return;
    if (m->owned && m->inner)
        m->inner_family->free(m->inner);
    free(m);
}

static int g12_load(const char *path, void **out, dg_err *err)
{
    *out = NULL;
    dg_family_reader r;
    if (dg_family_open(&r, path, MAGIC, err))
        return DG_ERR;
    g12_model *m = dg_xcalloc(1, sizeof *m);
    m->owned = 1;
    uint32_t len;
    char name[64];
    int rc = DG_ERR;
    if (dg_family_get_u32(&r, &len, sizeof name - 1, "the inner family's name length", err) ||
        dg_family_get(&r, name, len, "the inner family's name", err))
        goto done;
    name[len] = 0;
    m->inner_family = dg_model_family_find(name);
    if (!m->inner_family || m->inner_family == &dg_family_group12_sum) {
        dg_fail(err, "%s: no model family '%s' to read the group12 model with", path, name);
        goto done;
    }
    if (dg_family_get_u32(&r, &m->task, DG_TASK_REGRESSION, "the task", err) ||
        dg_family_get_u32(&r, &m->nout, 6, "the output count", err))
        goto done;
    if (m->nout != (m->task == DG_TASK_MULTICLASS ? 6u : 1u)) {
        dg_fail(err, "%s: %u outputs do not suit the task", path, m->nout);
        goto done;
    }
    if (dg_family_get(&r, m->map, sizeof *m->map * 12 * m->nout, "the table", err) ||
        dg_family_end(&r, err))
        goto done;
    char *ip = dg_family_inner_path(path, ".group12");
    rc = m->inner_family->load(ip, &m->inner, err);
    if (rc == DG_OK && m->inner_family->nout(m->inner) != 12)
        rc = dg_fail(err, "%s: its group12 model gives %d numbers per device, expected 12", ip,
                     m->inner_family->nout(m->inner));
    free(ip);
done:
    dg_family_close(&r);
    if (rc)
        g12_free(m);
    else
        *out = m;
    return rc;
}

static const char *const no_params[] = {NULL};

/* The inner group12 model's layer, then the sums: an SQL form exactly when
 * the inner model has one, for probabilities (the SQL's outputs are
 * classes' probabilities: an expected age has none). */
static int g12_linear(const void *model, dg_linear_view *out)
{
    const g12_model *m = model;
    if (m->task == DG_TASK_REGRESSION || !m->inner_family->linear || m->inner_family->linear(m->inner, out) != DG_OK ||
        out->nclasses != 12 || out->binary)
        return DG_ERR;
    out->map = m->map;
    out->nout = m->nout;
    return DG_OK;
}

const dg_model_family dg_family_group12_sum = {
    .name = "group12-sum",
    .summary = "gender, group6 or the expected age from the chosen group12 model's "
               "probabilities",
    .tasks = 0,
    .param_names = no_params,
    .grid = "",
    .fit = g12_fit,
    .predict = g12_predict,
    .save = g12_save,
    .load = g12_load,
    .nout = g12_nout,
    .free = g12_free,
    .linear = g12_linear,
};
