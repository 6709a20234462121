/* The Campaigns pane's state and actions (see model_campaigns.h). */
#include "model_campaigns.h"
#include "text.h"

#include "demographer/i64map.h"
#include "demographer/prediction.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void campaigns_init(campaigns_state *c)
{
    memset(c, 0, sizeof *c);
    dg_campaign_rules_default(&c->rules);
    snprintf(c->rules_from, sizeof c->rules_from, "the defaults");
}

static void forget(campaigns_state *c)
{
    free(c->pred);
    free(c->truth);
    free(c->tg);
    c->pred = NULL;
    c->truth = NULL;
    c->tg = NULL;
    c->n = c->ntruth = 0;
    c->have = 0;
    c->pred_from[0] = '\0';
}

void campaigns_free(campaigns_state *c)
{
    forget(c);
    free(c->default_rules_path);
    memset(c, 0, sizeof *c);
}

void campaigns_set_default_rules(campaigns_state *c, const char *path)
{
    free(c->default_rules_path);
    c->default_rules_path = path ? dg_xstrdup(path) : NULL;
}

static int cmp_truth(const void *a, const void *b)
{
    int64_t x = ((const dg_truth *)a)->device_id, y = ((const dg_truth *)b)->device_id;
    return (x > y) - (x < y);
}

void campaigns_truth_of(const dg_dataset *ds, dg_truth **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const dg_table *lt = ds ? dg_dataset_table(ds, DG_T_LABELS) : NULL;
    const dg_column *idc = lt ? dg_table_column(lt, "device_id") : NULL,
                    *gc = lt ? dg_table_column(lt, "gender") : NULL,
                    *ac = lt ? dg_table_column(lt, "age") : NULL;
    if (!idc || !gc || !ac)
        return;
    dg_truth *t = dg_xmalloc((lt->nrows + 1) * sizeof *t);
    dg_i64map seen;
    dg_i64map_init(&seen);
    size_t m = 0;
    for (uint64_t i = 0; i < lt->nrows; i++) {
        const char *g = dg_strpool_get(&lt->strings, dg_col_u32(gc)[i]);
        int32_t age = dg_col_i32(ac)[i];
        int female = strcmp(g, "F") == 0 ? 1 : strcmp(g, "M") == 0 ? 0 : -1;
        int64_t id = dg_col_id(idc, i);
        uint32_t before = seen.n;
        dg_i64map_put(&seen, id);
        if (female < 0 || age <= 0 || seen.n == before)
            continue;
        t[m].device_id = id;
        t[m].female = female;
        t[m].age = age;
        m++;
    }
    dg_i64map_free(&seen);
    qsort(t, m, sizeof *t, cmp_truth);
    *out = t;
    *n = m;
}

/* Deciles over the predictions themselves, targeting, reach: the order and
 * the calls of `demographer campaigns` without --thresholds/--reference. On
 * failure c keeps its old predictions and pred/truth are the caller's. */
static int compute(campaigns_state *c, dg_prediction *pred, size_t n, dg_truth *truth,
                   size_t ntruth, const char *from, dg_err *err)
{
    dg_deciles dec;
    if (dg_campaigns_check_unique(pred, n, from, err) != DG_OK ||
        dg_deciles_fit_predictions(&dec, pred, n, from, err) != DG_OK)
        return DG_ERR;
    forget(c);
    c->pred = pred;
    c->n = n;
    c->truth = truth;
    c->ntruth = ntruth;
    c->dec = dec;
    snprintf(c->pred_from, sizeof c->pred_from, "%s", from);
    c->tg = dg_xcalloc(n ? n : 1, sizeof *c->tg);
    for (size_t i = 0; i < n; i++)
        dg_campaigns_assign(&c->rules, &c->dec, &c->pred[i], &c->tg[i]);
    dg_reach_compute(&c->rules, c->pred, c->tg, n, c->truth, c->ntruth, &c->reach);
    c->have = 1;
    return DG_OK;
}

/* New rules: the same predictions and deciles, targeted again. */
static void retarget(campaigns_state *c)
{
    if (!c->have)
        return;
    for (size_t i = 0; i < c->n; i++)
        dg_campaigns_assign(&c->rules, &c->dec, &c->pred[i], &c->tg[i]);
    dg_reach_compute(&c->rules, c->pred, c->tg, c->n, c->truth, c->ntruth, &c->reach);
}

static void in_out(const char *file, const char *out_dir, char *out, size_t cap)
{
    if (file[0] == '/')
        snprintf(out, cap, "%s", file);
    else
        snprintf(out, cap, "%s/%s", out_dir, file);
}

int campaigns_rules(campaigns_state *c, const char *file, const char *out_dir, char *msg,
                    size_t msgcap, dg_err *err)
{
    dg_campaign_rules r;
    char path[1100];
    if (strcmp(file, "default") == 0) {
        if (c->default_rules_path) {
            if (dg_campaign_rules_load(&r, c->default_rules_path, err) != DG_OK)
                return DG_ERR;
            snprintf(path, sizeof path, "%s", c->default_rules_path);
        } else {
            dg_campaign_rules_default(&r);
            snprintf(path, sizeof path, "the defaults");
        }
    } else {
        in_out(file, out_dir, path, sizeof path);
        if (dg_campaign_rules_load(&r, path, err) != DG_OK)
            return DG_ERR;
    }
    /* The decile edges belong to the predictions, not the rules: new
     * female-/male-deciles only pick other edges of the same ten. */
    c->rules = r;
    snprintf(c->rules_from, sizeof c->rules_from, "%s", path);
    retarget(c);
    snprintf(msg, msgcap, "%d campaigns from %.900s%s", r.n, path,
             c->have ? "; reach recomputed" : "");
    return DG_OK;
}

int campaigns_load(campaigns_state *c, const char *file, const char *out_dir, dg_truth *truth,
                   size_t ntruth, char *msg, size_t msgcap, dg_err *err)
{
    char path[1100];
    in_out(file, out_dir, path, sizeof path);
    dg_prediction *pred;
    size_t n;
    if (dg_predictions_read(path, &pred, &n, err) != DG_OK) {
        free(truth);
        return DG_ERR;
    }
    if (compute(c, pred, n, truth, ntruth, path, err) != DG_OK) {
        free(pred);
        free(truth);
        return DG_ERR;
    }
    char count[32];
    snprintf(msg, msgcap, "%s predictions from %.900s; %s", text_count(n, count, sizeof count), path,
             c->reach.labelled ? "precision from the session's labels"
                               : "no labels for them: no expected precision");
    return DG_OK;
}

int campaigns_job_run(campaigns_job *j, const dg_progress *p, dg_err *err)
{
    dg_model_dir d;
    if (dg_progress_report(p, "predicting", 0, 1, ""))
        return dg_cancel(err, "cancelled");
    if (dg_model_dir_open(&d, j->models_dir, err) != DG_OK)
        return DG_ERR;
    /* The test devices the directory lists, as rows of the features. */
    dg_i64map rows;
    dg_i64map_init(&rows);
    dg_i64map_adopt(&rows, memcpy(dg_xmalloc(((size_t)j->feat->ndevices + 1) * sizeof(int64_t)),
                                  j->feat->device_id, (size_t)j->feat->ndevices * sizeof(int64_t)),
                    j->feat->ndevices);
    uint32_t *r = dg_xmalloc((d.ntest + 1) * sizeof *r), n = 0, missing = 0;
    for (size_t i = 0; i < d.ntest; i++) {
        uint32_t k = dg_i64map_get(&rows, d.test_device[i]);
        if (k == UINT32_MAX)
            missing++;
        else
            r[n++] = k;
    }
    dg_i64map_free(&rows);
    char count[32];
    int rc = DG_OK;
    if (missing)
        rc = dg_fail(err, "%s test devices of %s/test_devices.csv have no features in the "
                          "session's data",
                     text_count(missing, count, sizeof count), j->models_dir);
    if (rc == DG_OK) {
        j->pred = dg_xcalloc((size_t)n + 1, sizeof *j->pred);
        j->n = n;
        rc = dg_model_dir_predict(&d, j->feat, r, n, j->pred, err);
    }
    free(r);
    dg_model_dir_close(&d);
    if (rc != DG_OK)
        return DG_ERR;
    /* What finishing needs is checked here, so that a prediction that cannot
     * be targeted fails the job (and its replay) rather than its finish. */
    dg_deciles dec;
    if (dg_campaigns_check_unique(j->pred, j->n, "the session's predictions", err) != DG_OK ||
        dg_deciles_fit_predictions(&dec, j->pred, j->n, "the session's predictions", err) != DG_OK)
        return DG_ERR;
    campaigns_truth_of(j->src, &j->truth, &j->ntruth);
    if (dg_progress_report(p, "predicting", 1, 1, ""))
        return dg_cancel(err, "cancelled");
    return DG_OK;
}

int campaigns_job_finish(campaigns_state *c, campaigns_job *j, const char *from, dg_err *err)
{
    if (compute(c, j->pred, j->n, j->truth, j->ntruth, from, err) != DG_OK)
        return DG_ERR;
    j->pred = NULL;
    j->truth = NULL;
    return DG_OK;
}

void campaigns_job_free(campaigns_job *j)
{
    free(j->models_dir);
    free(j->pred);
    free(j->truth);
    memset(j, 0, sizeof *j);
}

int campaigns_write(campaigns_state *c, const char *out_dir, char *saved, size_t savedcap,
                    char *msg, size_t msgcap, dg_err *err)
{
    if (!c->have)
        return dg_fail(err, "no predictions yet: {campaigns-predict} predicts with the session's models, {campaigns-load} loads "
                            "a predictions.csv");
    char dir[1100], pred[1200];
    snprintf(dir, sizeof dir, "%.1000s/campaigns", out_dir);
    snprintf(pred, sizeof pred, "%s/predictions.csv", dir);
    if (dg_campaigns_save(dir, &c->rules, &c->dec, c->pred, c->tg, c->n, &c->reach, err) !=
            DG_OK ||
        dg_predictions_write(c->pred, c->n, pred, err) != DG_OK)
        return DG_ERR;
    snprintf(saved, savedcap, "%s", dir);
    snprintf(msg, msgcap, "wrote %.1000s: device_campaigns.csv, reach.csv, reach.png, "
                          "thresholds.txt, campaigns.rules, predictions.csv",
             dir);
    return DG_OK;
}

int campaigns_save(campaigns_state *c, const char *out_dir, char *saved, size_t savedcap,
                   char *msg, size_t msgcap, dg_err *err)
{
    if (!c->have)
        return dg_fail(err, "no reach to chart yet: {campaigns-predict} predicts with the session's models, {campaigns-load} "
                            "loads a predictions.csv");
    char path[1100];
    snprintf(path, sizeof path, "%.1000s/campaigns-reach.png", out_dir);
    if (dg_mkdirs(out_dir, err) != DG_OK || dg_reach_chart(&c->rules, &c->reach, path, err) != DG_OK)
        return DG_ERR;
    snprintf(saved, savedcap, "%s", path);
    snprintf(msg, msgcap, "saved %s", path);
    return DG_OK;
}
