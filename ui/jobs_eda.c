/* The EDA pane's job kinds: eda-compute (the ten charts' tables, and each as
 * a table for the sheet view) and device-features (every device's features,
 * built once per data, then one device's shown as a sheet). */
#include "model_actions.h"

#include "demographer/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct eda_job {
    const dg_dataset *src; /* the data read: the cleaned, else the loaded */
    int from_cleaned;
    unsigned gen;          /* the model's data_gen then */
    /* eda-compute */
    dg_eda res;
    dg_table tabs[DG_EDA_MAX_TABLES];
    int ntabs, cut_series;
    char missing[512];
    /* device-features: the device asked for, and every device's features */
    int64_t device;
    dg_features feat;
    const dg_features *pushed; /* the features of a mysql-pushdown load, or NULL */
} eda_job;

static void eda_kind_free(model_job *j)
{
    eda_job *q = j->data;
    if (q) {
        model_free_tabs(q->tabs, q->ntabs);
        dg_eda_free(&q->res);
        dg_features_free(&q->feat);
    }
    free(q);
}

/* An EDA table as a columnar table, so that the sheet view shows it: its row
 * names, then a column per series (up to DG_MAX_COLS - 1). */
static void eda_as_table(const dg_eda_table *e, const char *name, dg_table *t, int *cut)
{
    dg_table_init(t, name);
    dg_table_add_column(t, e->row_label[0] ? e->row_label : "row", DG_COL_STR);
    int ns = e->nseries < DG_MAX_COLS - 1 ? e->nseries : DG_MAX_COLS - 1;
    if (ns < e->nseries)
        *cut = 1;
    /* A series of whole numbers (devices, events) is a count: an integer
     * column, shown as "266", not "266.00". */
    int whole[DG_MAX_COLS];
    for (int k = 0; k < ns; k++) {
        whole[k] = dg_eda_series_is_count(e, k);
        dg_table_add_column(t, e->series_names[k], whole[k] ? DG_COL_I64 : DG_COL_F32);
    }
    dg_table_resize(t, (uint64_t)e->nrows);
    t->nrows = (uint64_t)e->nrows;
    for (int r = 0; r < e->nrows; r++) {
        const char *rn = e->row_names[r] ? e->row_names[r] : "";
        dg_col_u32(&t->cols[0])[r] = dg_strpool_intern(&t->strings, rn, strlen(rn));
        for (int k = 0; k < ns; k++) {
            if (whole[k])
                dg_col_i64(&t->cols[k + 1])[r] = (int64_t)dg_eda_value(e, r, k);
            else
                dg_col_f32(&t->cols[k + 1])[r] = (float)dg_eda_value(e, r, k);
        }
    }
}

static int compute_run(model_job *j, const dg_progress *p, dg_err *err)
{
    eda_job *q = j->data;
    /* dg_eda_compute reports no progress: a cancel is seen before and after. */
    if (dg_progress_report(p, "tables", 0, 1, ""))
        return dg_cancel(err, "cancelled");
    if (dg_eda_compute(q->src, &q->res, q->missing, sizeof q->missing, err) != DG_OK)
        return DG_ERR;
    for (int i = 0; i < q->res.ntables; i++, q->ntabs++)
        eda_as_table(&q->res.tables[i], q->res.slug[i], &q->tabs[i], &q->cut_series);
    if (dg_progress_report(p, "tables", 1, 1, ""))
        return dg_cancel(err, "cancelled");
    return DG_OK;
}

static int compute_finish(model *m, model_job *j, dg_err *err)
{
    (void)err;
    eda_job *q = j->data;
    model_eda_clear(m);
    m->eda = q->res;
    memset(&q->res, 0, sizeof q->res);
    memcpy(m->eda_tabs, q->tabs, sizeof m->eda_tabs);
    q->ntabs = 0;
    m->have_eda = 1;
    m->eda_from_cleaned = q->from_cleaned;
    m->eda_gen = q->gen;
    model_say(m, "%d EDA tables from the %s data%s%s%s", m->eda.ntables,
              q->from_cleaned ? "cleaned" : "loaded (not cleaned)",
              q->cut_series ? "; a sheet shows the first 15 series of a table (its CSV, saved with "
                              "{save}, has them all)" : "",
              q->missing[0] ? "; not computed: " : "", q->missing);
    return DG_OK;
}

static const job_kind compute_kind = {compute_run, compute_finish, eda_kind_free};

static int features_run(model_job *j, const dg_progress *p, dg_err *err)
{
    eda_job *q = j->data;
    /* The server's aggregates are the features: the events are not here. */
    if (q->pushed) {
        dg_features_copy(q->pushed, &q->feat);
        return DG_OK;
    }
    /* Super-categories are left to demographer features (an asset file). */
    return dg_features_build(q->src, NULL, &q->feat, p, err);
}

static int features_finish(model *m, model_job *j, dg_err *err)
{
    (void)err;
    eda_job *q = j->data;
    if (m->have_feat)
        dg_features_free(&m->feat);
    m->feat = q->feat;
    memset(&q->feat, 0, sizeof q->feat);
    m->have_feat = 1;
    m->feat_gen = q->gen;
    dg_err e2;
    if (m->pane == PANE_EDA && !m->eda_open && model_show_device(m, q->device, &e2) != DG_OK)
        model_say(m, "%s", e2.msg);
    return DG_OK;
}

static const job_kind features_kind = {features_run, features_finish, eda_kind_free};

static model_job *new_eda_job(model *m, int id, int argc, char **argv, const job_kind *kind)
{
    model_job *j = model_job_new(id, argc, argv, kind);
    eda_job *q = dg_xcalloc(1, sizeof *q);
    j->data = q;
    q->from_cleaned = m->cl.have_cleaned;
    q->src = q->from_cleaned ? &m->cl.cleaned : &m->ds;
    q->gen = m->data_gen;
    q->pushed = m->have_pushed ? &m->pushed : NULL;
    return j;
}

/* eda-open N: EDA table N as the pane's sheet. */
static int eda_open(model *m, int id, int argc, char **argv, dg_err *err)
{
    if (model_need_args(id, argc, 1, 1, err) != DG_OK)
        return DG_ERR;
    char *end;
    long n = strtol(argv[0], &end, 10);
    if (!m->have_eda)
        return dg_fail(err, "no EDA tables yet ({eda-compute} computes them)");
    if (*end || n < 1 || n > m->eda.ntables)
        return dg_fail(err, "no EDA table '%s' (there are %d)", argv[0], m->eda.ntables);
    if (m->pane != PANE_EDA || m->eda_open)
        return dg_fail(err, "eda-open works in the EDA pane's table list");
    sheet *s = &m->eda_sheet;
    memset(s, 0, sizeof *s);
    s->kind = SHEET_TABLE;
    s->eda = 1;
    s->table = (int)n - 1;
    s->sort_col = -1;
    s->search_col = -1;
    s->nrows = m->eda_tabs[s->table].nrows;
    m->eda_open = 1;
    m->eda_cur = s->table;
    model_say(m, "%s: {save} saves its chart and CSV", m->eda.tables[s->table].title);
    return DG_OK;
}

int eda_context_action(model *m, int id, int argc, char **argv, model_job **job, dg_err *err)
{
    *job = NULL;
    if (id == ACT_EDA_OPEN)
        return eda_open(m, id, argc, argv, err);
    if (id != ACT_EDA_COMPUTE && id != ACT_DEVICE_FEATURES)
        return model_not_here(id, "eda", err);
    if (id == ACT_EDA_COMPUTE) {
        if (model_need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        if (!m->loaded)
            return dg_fail(err, "nothing loaded yet ({pane-load} goes to the Load pane, {load} "
                                "loads)");
        *job = new_eda_job(m, id, argc, argv, &compute_kind);
        snprintf((*job)->title, sizeof (*job)->title, "computing the EDA tables");
        return DG_OK;
    }
    if (model_need_args(id, argc, 1, 1, err) != DG_OK)
        return DG_ERR;
    int64_t device;
    if (dg_parse_i64(argv[0], strlen(argv[0]), &device) != 0)
        return dg_fail(err, "a device id is a whole number, not '%s'", argv[0]);
    if (!m->loaded)
        return dg_fail(err, "nothing loaded yet ({pane-load} goes to the Load pane, {load} loads)");
    if (m->pane != PANE_EDA || m->eda_open)
        return dg_fail(err, "device-features works in the EDA pane's table list");
    if (m->have_feat && m->feat_gen == m->data_gen)
        return model_show_device(m, device, err);
    model_job *j = new_eda_job(m, id, argc, argv, &features_kind);
    ((eda_job *)j->data)->device = device;
    snprintf(j->title, sizeof j->title, "building the features of every device");
    *job = j;
    return DG_OK;
}
