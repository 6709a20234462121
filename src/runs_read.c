/* Reading runs.json back into a dg_train_result: the workbench opens an
 * earlier run or train folder to compare its runs and export its models
 * without training again. It lives in the report library because it reads
 * with jansson, as the report does (the core library has no JSON reader). */
#include "demographer/train.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void jstr(const json_t *o, const char *key, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(out, cap, "%s", s ? s : "");
}

/* One element of "runs"; what it lacks or has wrong is named with its index. */
static int read_run(const json_t *o, size_t i, dg_run *x, const char *path, dg_err *err)
{
    memset(x, 0, sizeof *x);
    if (!json_is_object(o))
        return dg_fail(err, "%s: runs[%zu] is not an object", path, i);
    jstr(o, "family", x->family, sizeof x->family);
    const char *target = json_string_value(json_object_get(o, "target"));
    int t = target ? dg_target_by_name(target) : -1;
    if (!x->family[0] || t < 0)
        return dg_fail(err, "%s: runs[%zu]: expected a \"family\" and a \"target\" (gender, age, "
                            "group6 or group12)",
                       path, i);
    x->target = (dg_target)t;
    const json_t *sc = json_object_get(o, "scenario");
    if (json_is_integer(sc) && (json_integer_value(sc) == 1 || json_integer_value(sc) == 2))
        x->scenario = (int)json_integer_value(sc);
    else if (json_is_string(sc) && strcmp(json_string_value(sc), "1+2") == 0)
        x->scenario = 0;
    else
        return dg_fail(err, "%s: runs[%zu]: \"scenario\" is not 1, 2 or \"1+2\"", path, i);
    jstr(o, "params", x->params, sizeof x->params);
    x->ncombos = (int)json_integer_value(json_object_get(o, "combinations"));
    x->cv_score = jnum(o, "cv_score");
    x->ntrain = (uint32_t)json_integer_value(json_object_get(o, "n_train"));
    x->ntest = (uint32_t)json_integer_value(json_object_get(o, "n_test"));
    x->test.task = dg_target_task(x->target);
    x->test.nclasses = dg_target_nclasses(x->target);
    x->test.n = x->ntest;
    for (int m = 0; m < DG_METRIC_COUNT; m++)
        *dg_eval_at(&x->test, (dg_metric)m) = jnum(o, dg_metrics[m].name);
    x->train_seconds = jnum(o, "train_seconds");
    x->cv_seconds = jnum(o, "cv_seconds");
    x->model_bytes = (uint64_t)json_integer_value(json_object_get(o, "model_bytes"));
    x->chosen = json_is_true(json_object_get(o, "chosen"));
    const json_t *grid = json_object_get(o, "grid");
    for (size_t c = 0; c < json_array_size(grid) && c < DG_RUN_GRID; c++) {
        const json_t *g = json_array_get(grid, c);
        jstr(g, "params", x->grid_params[c], sizeof x->grid_params[c]);
        x->grid_cv[c] = jnum(g, "cv_score");
        x->grid_folds[c] = (int)json_integer_value(json_object_get(g, "folds"));
        x->ngrid = (int)c + 1;
    }
    const json_t *conf = json_object_get(o, "confusion");
    int k = x->test.nclasses;
    if (x->test.task != DG_TASK_REGRESSION && k > 0 && k * k <= 144 &&
        json_array_size(conf) == (size_t)k)
        for (int a = 0; a < k; a++)
            for (int c = 0; c < k; c++)
                x->confusion[a * k + c] =
                    (uint64_t)json_integer_value(json_array_get(json_array_get(conf, a), c));
    return DG_OK;
}

int dg_runs_read(const char *dir, dg_train_result *out, dg_err *err)
{
    memset(out, 0, sizeof *out);
    char *path = dg_path_join(dir, "runs.json");
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        int rc = dg_fail(err, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        free(path);
        return rc;
    }
    const json_t *runs = json_object_get(root, "runs");
    int rc = DG_OK;
    if (!json_is_array(runs) || json_array_size(runs) == 0)
        rc = dg_fail(err, "%s: expected a \"runs\" list with at least one run", path);
    jstr(root, "split", out->split_text, sizeof out->split_text);
    jstr(root, "selection_rule", out->rule, sizeof out->rule);
    jstr(root, "bags", out->bags, sizeof out->bags);
    out->bags_seconds = jnum(root, "bags_cv_seconds");
    out->seconds = jnum(root, "seconds");
    if (rc == DG_OK) {
        out->nruns = json_array_size(runs);
        out->runs = dg_xcalloc(out->nruns, sizeof *out->runs);
        for (size_t i = 0; rc == DG_OK && i < out->nruns; i++)
            rc = read_run(json_array_get(runs, i), i, &out->runs[i], path, err);
        for (size_t i = 0; rc == DG_OK && i < out->nruns; i++)
            if (out->runs[i].scenario && out->ntrain[out->runs[i].scenario] == 0) {
                out->ntrain[out->runs[i].scenario] = out->runs[i].ntrain;
                out->ntest[out->runs[i].scenario] = out->runs[i].ntest;
            }
    }
    json_decref(root);
    free(path);
    if (rc != DG_OK)
        dg_train_result_free(out);
    return rc;
}
