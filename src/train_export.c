/* Training's export: the chosen models into models/ (model, design.txt,
 * meta.txt), test_devices.csv, split.csv, and the chosen models' row. */
#include "train_impl.h"

#include "demographer/textbuf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- export -------------------------------------------------------------------- */

static void meta_num(dg_textbuf *b, const char *key, double v)
{
    dg_textbuf_printf(b, "%s %.17g\n", key, v);
}

int train_export_chosen(trainer *T, int s, dg_target t, dg_err *err)
{
    chosen *ch = &T->ch[s][t];
    const dg_run *run = &T->res->runs[ch->run];
    char name[64];
    snprintf(name, sizeof name, "s%d-%s", s, dg_target_name(t));
    char *dir = dg_path_join(T->staging_models, name);
    char *model_path = dg_path_join(dir, "model"), *design_path = dg_path_join(dir, "design.txt"),
         *meta_path = dg_path_join(dir, "meta.txt");
    int rc = dg_mkdirs(dir, err);
    if (rc == DG_OK)
        rc = ch->family->save(ch->model, model_path, err);
    if (rc == DG_OK)
        rc = dg_design_save(&T->sc[s].spec[ch->variant], design_path, err);
    if (rc == DG_OK) {
        dg_textbuf b = {0};
        dg_params_format(&ch->params, name, sizeof name);
        dg_textbuf_printf(&b, "format demographer-model 1\nversion %s\ntarget %s\nscenario %d\n"
                              "family %s\nparams %s\nbags %s\ncounts %s\n",
                          DG_VERSION, dg_target_name(t), s, ch->family->name, name,
                          train_variant_bags(&T->sc[s], ch->variant),
                          train_variant_counts(&T->sc[s], ch->variant));
        meta_num(&b, "cv_score", run->cv_score);
        dg_textbuf_printf(&b, "n_train %u\nn_test %u\n", run->ntrain, run->ntest);
        for (int m = 0; m < DG_METRIC_COUNT; m++)
            meta_num(&b, dg_metrics[m].name, dg_eval_get(&run->test, (dg_metric)m));
        dg_textbuf_printf(&b, "ncols %u\nlayout %016" PRIx64 "\ndata %016" PRIx64 "\nsplit %s\n",
                          dg_design_ncols(&T->sc[s].spec[ch->variant]),
                          T->sc[s].spec[ch->variant].fingerprint, T->checksum,
                          T->lab.split_text);
        rc = dg_textbuf_save(&b, meta_path, err);
        dg_textbuf_free(&b);
    }
    free(dir);
    free(model_path);
    free(design_path);
    free(meta_path);
    return rc;
}

int train_export_test_devices(trainer *T, dg_err *err)
{
    dg_textbuf b = {0};
    dg_textbuf_puts(&b, "device_id,scenario\n");
    for (int s = 1; s <= 2; s++)
        for (uint32_t i = 0; i < T->sc[s].nte; i++) {
            dg_textbuf_i64(&b, T->lab.device_id[T->sc[s].te_lab[i]]);
            dg_textbuf_printf(&b, ",%d\n", s);
        }
    char *path = dg_path_join(T->staging_models, "test_devices.csv");
    int rc = dg_textbuf_save(&b, path, err);
    free(path);
    dg_textbuf_free(&b);
    return rc;
}

/* Every labelled device's scenario and split, for the peer benchmark. */
int train_write_split(trainer *T, dg_err *err)
{
    dg_textbuf b = {0};
    dg_textbuf_puts(&b, "device_id,scenario,is_test\n");
    for (uint32_t i = 0; i < T->lab.n; i++) {
        dg_textbuf_i64(&b, T->lab.device_id[i]);
        dg_textbuf_printf(&b, ",%d,%d\n", T->lab.has_events[i] ? 1 : 2, T->lab.is_test[i]);
    }
    char *path = dg_path_join(T->o->out_dir, "split.csv");
    int rc = dg_textbuf_save(&b, path, err);
    free(path);
    dg_textbuf_free(&b);
    return rc;
}

/* The combined rows: the chosen models of both scenarios over all test devices. */
void train_add_combined(trainer *T, dg_target t)
{
    chosen *a = &T->ch[1][t], *b = &T->ch[2][t];
    if (!a->have || !b->have)
        return;
    dg_task task = dg_target_task(t);
    int k = dg_target_nclasses(t), nout = dg_task_nout(task, k);
    uint32_t n1 = T->sc[1].nte, n2 = T->sc[2].nte, n = n1 + n2;
    double *y = dg_xmalloc(((size_t)n + 1) * sizeof *y);
    double *p = dg_xmalloc(((size_t)n * nout + 1) * sizeof *p);
    for (uint32_t i = 0; i < n1; i++)
        y[i] = dg_labelled_y(&T->lab, t, T->sc[1].te_lab[i]);
    for (uint32_t i = 0; i < n2; i++)
        y[n1 + i] = dg_labelled_y(&T->lab, t, T->sc[2].te_lab[i]);
    memcpy(p, a->test_pred, (size_t)n1 * nout * sizeof *p);
    memcpy(p + (size_t)n1 * nout, b->test_pred, (size_t)n2 * nout * sizeof *p);
    dg_run run;
    memset(&run, 0, sizeof run);
    snprintf(run.family, sizeof run.family, "chosen(%s|%s)", a->family->name, b->family->name);
    snprintf(run.params, sizeof run.params, "s1 or s2 model by events");
    run.target = t;
    run.cv_score = NAN;
    run.ntrain = T->sc[1].ntr + T->sc[2].ntr;
    run.ntest = n;
    dg_evaluate(task, k, y, p, n, &run.test);
    if (task != DG_TASK_REGRESSION)
        dg_confusion(y, task == DG_TASK_MULTICLASS ? p : NULL, p, n, k, run.confusion);
    run.chosen = 1;
    train_add_run(T->res, &run);
    free(y);
    free(p);
}

/* The design matrices of every variant built, with each train row's fold
 * and targets, for the peer benchmark (bench/models_sklearn.py): per
 * scenario s and variant V, sS-V-{train,test}.{ptr,idx,val} (the CSR's
 * arrays raw: u64, u32, f32, native order) and sS-{train,test}.csv. */
int train_export_designs(trainer *T, const char *dir, dg_err *err)
{
    int rc = dg_mkdirs(dir, err);
    for (int s = 1; s <= 2 && rc == DG_OK; s++) {
        const scenario *S = &T->sc[s];
        if (!S->ntr)
            continue;
        for (int part = 0; part < 2 && rc == DG_OK; part++) {
            const char *what = part ? "test" : "train";
            uint32_t n = part ? S->nte : S->ntr;
            const uint32_t *lab = part ? S->te_lab : S->tr_lab;
            dg_textbuf b = {0};
            dg_textbuf_puts(&b, "device_id,fold,female,age,group6,group12\n");
            for (uint32_t i = 0; i < n; i++) {
                uint32_t l = lab[i];
                dg_textbuf_i64(&b, T->lab.device_id[l]);
                dg_textbuf_printf(&b, ",%d,%d,%g,%d,%d\n", part ? -1 : S->fold[i],
                                  T->lab.female[l], (double)T->lab.age[l], T->lab.group6[l],
                                  T->lab.group12[l]);
            }
            char name[64];
            snprintf(name, sizeof name, "s%d-%s.csv", s, what);
            char *path = dg_path_join(dir, name);
            rc = dg_textbuf_save(&b, path, err);
            free(path);
            dg_textbuf_free(&b);
            for (int v = 0; v < NVARIANTS && rc == DG_OK; v++) {
                if (!S->has[v])
                    continue;
                const dg_csr *x = part ? &S->xte[v] : &S->xtr[v];
                static const char *const ext[3] = {"ptr", "idx", "val"};
                const void *data[3] = {x->ptr, x->idx, x->val};
                size_t len[3] = {((size_t)x->nrows + 1) * sizeof *x->ptr,
                                 (size_t)x->nnz * sizeof *x->idx, (size_t)x->nnz * sizeof *x->val};
                for (int a = 0; a < 3 && rc == DG_OK; a++) {
                    snprintf(name, sizeof name, "s%d-%s-%s.%s", s, train_variant_bags(S, v), what,
                             ext[a]);
                    path = dg_path_join(dir, name);
                    rc = dg_write_file_atomic(path, data[a], len[a], err);
                    free(path);
                }
            }
        }
    }
    return rc;
}
