/* Training's runs files: runs.csv and runs.json, every run of a result. */
#include "train_impl.h"

#include "demographer/textbuf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the comparison table --------------------------------------------------------- */

static void csv_num(dg_textbuf *b, double v)
{
    dg_textbuf_putc(b, ',');
    if (!isnan(v))
        dg_textbuf_printf(b, "%.17g", v);
}

static void json_num(dg_textbuf *b, const char *key, double v)
{
    if (isnan(v) || isinf(v))
        dg_textbuf_printf(b, ",\"%s\":null", key);
    else
        dg_textbuf_printf(b, ",\"%s\":%.17g", key, v);
}

static void json_str(dg_textbuf *b, const char *s)
{
    dg_textbuf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            dg_textbuf_putc(b, '\\');
        if ((unsigned char)*s < 0x20)
            dg_textbuf_printf(b, "\\u%04x", *s);
        else
            dg_textbuf_putc(b, *s);
    }
    dg_textbuf_putc(b, '"');
}

int dg_runs_write(const dg_train_result *r, const char *dir, dg_err *err)
{
    dg_textbuf b = {0};
    dg_textbuf_puts(&b, "family,scenario,target,params,combinations,cv_score,n_train,n_test");
    for (int m = 0; m < DG_METRIC_COUNT; m++)
        dg_textbuf_printf(&b, ",%s", dg_metrics[m].name);
    dg_textbuf_puts(&b, ",train_seconds,cv_seconds,model_bytes,chosen\n");
    for (size_t i = 0; i < r->nruns; i++) {
        const dg_run *x = &r->runs[i];
        dg_textbuf_csv_field(&b, x->family, strlen(x->family));
        if (x->scenario)
            dg_textbuf_printf(&b, ",%d,%s,", x->scenario, dg_target_name(x->target));
        else
            dg_textbuf_printf(&b, ",1+2,%s,", dg_target_name(x->target));
        dg_textbuf_csv_field(&b, x->params, strlen(x->params));
        dg_textbuf_printf(&b, ",%d", x->ncombos);
        csv_num(&b, x->cv_score);
        dg_textbuf_printf(&b, ",%u,%u", x->ntrain, x->ntest);
        for (int m = 0; m < DG_METRIC_COUNT; m++)
            csv_num(&b, dg_eval_get(&x->test, (dg_metric)m));
        csv_num(&b, x->train_seconds);
        csv_num(&b, x->cv_seconds);
        dg_textbuf_printf(&b, ",%" PRIu64 ",%d\n", x->model_bytes, x->chosen);
    }
    char *path = dg_path_join(dir, "runs.csv");
    int rc = dg_textbuf_save(&b, path, err);
    free(path);
    if (rc == DG_OK) {
        dg_textbuf_puts(&b, "{\"split\":");
        json_str(&b, r->split_text);
        dg_textbuf_puts(&b, ",\"selection_rule\":");
        json_str(&b, r->rule);
        dg_textbuf_puts(&b, ",\"bags\":");
        json_str(&b, r->bags);
        json_num(&b, "bags_cv_seconds", r->bags_seconds);
        dg_textbuf_puts(&b, ",\"counts\":");
        json_str(&b, r->counts);
        json_num(&b, "counts_cv_seconds", r->counts_seconds);
        dg_textbuf_puts(&b, ",\"numeric\":");
        json_str(&b, r->numeric);
        json_num(&b, "numeric_cv_seconds", r->numeric_seconds);
        json_num(&b, "seconds", r->seconds);
        dg_textbuf_puts(&b, ",\"runs\":[");
        for (size_t i = 0; i < r->nruns; i++) {
            const dg_run *x = &r->runs[i];
            dg_textbuf_puts(&b, i ? ",\n{\"family\":" : "\n{\"family\":");
            json_str(&b, x->family);
            if (x->scenario)
                dg_textbuf_printf(&b, ",\"scenario\":%d", x->scenario);
            else
                dg_textbuf_puts(&b, ",\"scenario\":\"1+2\"");
            dg_textbuf_printf(&b, ",\"target\":\"%s\",\"params\":", dg_target_name(x->target));
            json_str(&b, x->params);
            dg_textbuf_printf(&b, ",\"combinations\":%d", x->ncombos);
            json_num(&b, "cv_score", x->cv_score);
            dg_textbuf_printf(&b, ",\"n_train\":%u,\"n_test\":%u", x->ntrain, x->ntest);
            for (int m = 0; m < DG_METRIC_COUNT; m++)
                json_num(&b, dg_metrics[m].name, dg_eval_get(&x->test, (dg_metric)m));
            json_num(&b, "train_seconds", x->train_seconds);
            json_num(&b, "cv_seconds", x->cv_seconds);
            if (x->ngrid) {
                dg_textbuf_puts(&b, ",\"grid\":[");
                for (int c = 0; c < x->ngrid; c++) {
                    dg_textbuf_puts(&b, c ? ",{\"params\":" : "{\"params\":");
                    json_str(&b, x->grid_params[c]);
                    json_num(&b, "cv_score", x->grid_cv[c]);
                    dg_textbuf_printf(&b, ",\"folds\":%d", x->grid_folds[c]);
                    dg_textbuf_putc(&b, '}');
                }
                dg_textbuf_putc(&b, ']');
            }
            dg_textbuf_printf(&b, ",\"model_bytes\":%" PRIu64 ",\"chosen\":%s", x->model_bytes,
                              x->chosen ? "true" : "false");
            /* Rows: the true class; columns: the predicted one. */
            int k = x->test.task == DG_TASK_REGRESSION ? 0 : x->test.nclasses;
            if (k) {
                dg_textbuf_puts(&b, ",\"confusion\":[");
                for (int a = 0; a < k; a++) {
                    dg_textbuf_puts(&b, a ? ",[" : "[");
                    for (int c = 0; c < k; c++)
                        dg_textbuf_printf(&b, "%s%" PRIu64, c ? "," : "",
                                          x->confusion[a * k + c]);
                    dg_textbuf_putc(&b, ']');
                }
                dg_textbuf_putc(&b, ']');
            }
            dg_textbuf_putc(&b, '}');
        }
        dg_textbuf_putc(&b, ']');
        if (r->ablation) {
            /* Each block out of each chosen model: its CV score without it. */
            dg_textbuf_puts(&b, ",\"ablation\":[");
            for (size_t i = 0; i < r->nablation; i++) {
                const dg_ablation *a = &r->ablation[i];
                dg_textbuf_printf(&b, "%s{\"scenario\":%d,\"target\":\"%s\",\"family\":",
                                  i ? ",\n" : "\n", a->scenario, dg_target_name(a->target));
                json_str(&b, a->family);
                dg_textbuf_puts(&b, ",\"params\":");
                json_str(&b, a->params);
                dg_textbuf_puts(&b, ",\"block\":");
                json_str(&b, a->block);
                json_num(&b, "cv_score", a->cv_all);
                json_num(&b, "cv_score_without", a->cv_without);
                json_num(&b, "cv_change", a->cv_without - a->cv_all);
                json_num(&b, "cv_seconds", a->cv_seconds);
                dg_textbuf_putc(&b, '}');
            }
            dg_textbuf_puts(&b, "\n]");
        }
        dg_textbuf_puts(&b, "}\n");
        path = dg_path_join(dir, "runs.json");
        rc = dg_textbuf_save(&b, path, err);
        free(path);
    }
    dg_textbuf_free(&b);
    return rc;
}

