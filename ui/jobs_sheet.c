/* The sheets' job kinds: sort and sort-desc of a table sheet, freq (a
 * column's frequency sheet) and search / search-next, each start, run,
 * finish and free; a frequency sheet sorts in place, at once. */
#include "model_actions.h"

#include "text.h"

#include "demographer/describe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sheet_job {
    const dg_table *t;
    int depth;         /* index of the sheet the result belongs to */
    int eda;           /* the sheet is the EDA pane's */
    int col, desc;
    const uint32_t *order;
    uint64_t from, found;
    char needle[256];
    const sheet *fs;   /* search of a frequency sheet: the sheet (its values in order) */
    uint32_t *sorted;
    dg_freq freq;
} sheet_job;

const char *const freq_columns[FREQ_NCOLS] = {"value", "count", "percent", "histogram"};

/* The sheet a job's result belongs to (still open: data actions wait for jobs). */
static sheet *job_sheet(model *m, const sheet_job *q)
{
    return q->eda ? (m->eda_open ? &m->eda_sheet : NULL)
                  : q->depth >= 0 && q->depth < m->nsheets ? &m->sheets[q->depth] : NULL;
}

static void sheet_kind_free(model_job *j)
{
    sheet_job *q = j->data;
    if (q) {
        free(q->sorted);
        dg_freq_free(&q->freq);
    }
    free(q);
}

/* ---- sort ------------------------------------------------------------------- */

static int sort_run(model_job *j, const dg_progress *p, dg_err *err)
{
    sheet_job *q = j->data;
    return dg_sort_rows(q->t, q->col, q->desc, &q->sorted, p, err);
}

static int sort_finish(model *m, model_job *j, dg_err *err)
{
    sheet_job *q = j->data;
    sheet *s = job_sheet(m, q);
    if (!s)
        return dg_fail(err, "its sheet was closed");
    free(s->order);
    s->order = q->sorted;
    q->sorted = NULL;
    s->sort_col = q->col;
    s->sort_desc = q->desc;
    /* The top of the new order, as a sorted list is read. */
    s->cur = s->top = 0;
    model_say(m, "sorted by %s, %s", q->t->cols[q->col].name, q->desc ? "descending" : "ascending");
    return DG_OK;
}

static const job_kind sort_kind = {sort_run, sort_finish, sheet_kind_free};

/* ---- freq ------------------------------------------------------------------- */

static int freq_run(model_job *j, const dg_progress *p, dg_err *err)
{
    sheet_job *q = j->data;
    return dg_freq_compute(q->t, q->col, &q->freq, p, err);
}

static int freq_finish(model *m, model_job *j, dg_err *err)
{
    sheet_job *q = j->data;
    sheet *s = job_sheet(m, q);
    if (!s || m->nsheets >= MODEL_MAX_SHEETS)
        return dg_fail(err, "its sheet was closed");
    sheet *f = &m->sheets[m->nsheets++];
    memset(f, 0, sizeof *f);
    f->kind = SHEET_FREQ;
    f->table = s->table;
    f->col = q->col;
    f->freq = q->freq;
    memset(&q->freq, 0, sizeof q->freq);
    f->nrows = f->freq.n;
    f->sort_col = -1;
    f->search_col = -1;
    char n1[32];
    model_say(m, "%s.%s: %s distinct values", q->t->name, q->t->cols[q->col].name,
              text_count(f->nrows, n1, sizeof n1));
    return DG_OK;
}

static const job_kind freq_kind = {freq_run, freq_finish, sheet_kind_free};

/* ---- search ------------------------------------------------------------------- */

/* A frequency sheet's search: its values are rows of the counted table, in
 * the sheet's order (the freq's row array). */
static int search_run(model_job *j, const dg_progress *p, dg_err *err)
{
    sheet_job *q = j->data;
    if (!q->fs)
        return dg_search_rows(q->t, q->col, q->order, q->from, q->needle, &q->found, p, err);
    const sheet *s = q->fs;
    char buf[64];
    const dg_column *c = &q->t->cols[q->col];
    q->found = DG_NOT_FOUND;
    for (uint64_t k = 0; k < s->freq.n; k++) {
        uint64_t at = (q->from + k) % s->freq.n;
        if (strstr(dg_cell_text(q->t, c, s->freq.row[at], buf, sizeof buf), q->needle)) {
            q->found = at;
            break;
        }
    }
    return DG_OK;
}

static int search_finish(model *m, model_job *j, dg_err *err)
{
    sheet_job *q = j->data;
    sheet *s = job_sheet(m, q);
    if (!s)
        return dg_fail(err, "its sheet was closed");
    char n1[32];
    if (q->found == DG_NOT_FOUND) {
        model_say(m, "'%s' not found in %s", q->needle, q->t->cols[q->col].name);
    } else {
        s->cur = q->found;
        model_say(m, "'%s' found at row %s", q->needle, text_count(q->found + 1, n1, sizeof n1));
    }
    return DG_OK;
}

static const job_kind search_kind = {search_run, search_finish, sheet_kind_free};

/* ---- start ---------------------------------------------------------------------- */

/* A frequency sheet sorted in place (its values are few next to the rows):
 * by the value, or by the count (its percent and its bar). */
static int sort_freq(model *m, sheet *s, int desc, const char *name, dg_err *err)
{
    const dg_table *t = model_sheet_table(m, s);
    int c = 0;
    while (c < FREQ_NCOLS && strcmp(freq_columns[c], name) != 0)
        c++;
    if (c == FREQ_NCOLS && strcmp(name, t->cols[s->col].name) == 0)
        c = FREQ_VALUE;
    if (c == FREQ_NCOLS)
        return dg_fail(err, "a frequency sheet sorts by value, count, percent or histogram, "
                            "not '%s'", name);
    dg_freq_sort(t, s->col, &s->freq, c == FREQ_VALUE, desc);
    s->sort_col = c;
    s->sort_desc = desc;
    s->ccol = c;
    s->cur = s->top = 0;
    model_say(m, "sorted by %s, %s", freq_columns[c], desc ? "descending" : "ascending");
    return DG_OK;
}

static model_job *new_sheet_job(model *m, sheet *s, int id, int argc, char **argv,
                                const job_kind *kind)
{
    model_job *j = model_job_new(id, argc, argv, kind);
    sheet_job *q = dg_xcalloc(1, sizeof *q);
    j->data = q;
    q->eda = s->eda;
    q->t = model_sheet_table(m, s);
    q->depth = m->nsheets - 1;
    return j;
}

/* sheet-back: the top sheet closes, the one below shows. */
static int sheet_back(model *m, int id, int argc, dg_err *err)
{
    sheet *s;
    if (model_need_args(id, argc, 0, 0, err) != DG_OK || !(s = model_need_sheet(m, id, err)))
        return DG_ERR;
    model_sheet_free(s);
    if (m->pane == PANE_EDA)
        m->eda_open = 0;
    else
        m->nsheets--;
    return DG_OK;
}

/* sheet-widen COLUMN: the column at its longest value on screen, or back. */
static int sheet_widen(model *m, int id, int argc, char **argv, dg_err *err)
{
    int col = 0;
    sheet *s;
    if (model_need_args(id, argc, 1, 1, err) != DG_OK || !(s = model_need_sheet(m, id, err)))
        return DG_ERR;
    if (s->kind == SHEET_FREQ ? strcmp(argv[0], "value") != 0 &&
                                    strcmp(argv[0], model_sheet_table(m, s)->cols[s->col].name) != 0
                              : (col = model_find_column(model_sheet_table(m, s), argv[0], err)) < 0)
        return s->kind == SHEET_FREQ ? dg_fail(err, "a frequency sheet widens its value column")
                                     : DG_ERR;
    s->wide ^= 1u << col;
    model_say(m, "%s %s", argv[0], s->wide & (1u << col) ? "widened to its longest value"
                                                             : "back to its usual width");
    return DG_OK;
}

int sheet_context_action(model *m, int id, int argc, char **argv, model_job **job, dg_err *err)
{
    *job = NULL;
    sheet *s;
    int col;
    if (id == ACT_SHEET_BACK)
        return sheet_back(m, id, argc, err);
    if (id == ACT_SHEET_WIDEN)
        return sheet_widen(m, id, argc, argv, err);
    if (id != ACT_SORT && id != ACT_SORT_DESC && id != ACT_FREQ && id != ACT_SEARCH &&
        id != ACT_SEARCH_NEXT)
        return model_not_here(id, "sheet", err);
    if (id == ACT_SORT || id == ACT_SORT_DESC || id == ACT_FREQ) {
        if (model_need_args(id, argc, 1, 1, err) != DG_OK || !(s = model_need_sheet(m, id, err)))
            return DG_ERR;
        if (s->kind == SHEET_FREQ && id != ACT_FREQ)
            return sort_freq(m, s, id == ACT_SORT_DESC, argv[0], err);
        if (s->kind != SHEET_TABLE)
            return dg_fail(err, "%s works on a table sheet", actions[id].name);
        if ((col = model_find_column(model_sheet_table(m, s), argv[0], err)) < 0)
            return DG_ERR;
        if (id == ACT_FREQ && m->nsheets >= MODEL_MAX_SHEETS)
            return dg_fail(err, "too many sheets open");
        /* An EDA table is a few dozen rows: its frequencies say nothing. */
        if (id == ACT_FREQ && s->eda)
            return dg_fail(err, "freq works on the Load pane's sheets");
        model_job *j = new_sheet_job(m, s, id, argc, argv, id == ACT_FREQ ? &freq_kind : &sort_kind);
        sheet_job *q = j->data;
        q->col = col;
        q->desc = id == ACT_SORT_DESC;
        snprintf(j->title, sizeof j->title, "%s %s.%s", id == ACT_FREQ ? "counting" : "sorting",
                 q->t->name, argv[0]);
        *job = j;
        return DG_OK;
    }
    /* search, search-next */
    if (!(s = model_need_sheet(m, id, err)))
        return DG_ERR;
    if (id == ACT_SEARCH) {
        if (model_need_args(id, argc, 2, 2, err) != DG_OK)
            return DG_ERR;
        if (s->kind == SHEET_FREQ) {
            if (strcmp(argv[0], "value") != 0)
                return dg_fail(err, "a frequency sheet is searched by its value column");
            col = s->col;
        } else if ((col = model_find_column(model_sheet_table(m, s), argv[0], err)) < 0) {
            return DG_ERR;
        }
        if (!argv[1][0])
            return dg_fail(err, "search for what?");
        s->search_col = col;
        snprintf(s->search, sizeof s->search, "%s", argv[1]);
    } else {
        if (model_need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        if (s->search_col < 0)
            return dg_fail(err, "no search yet ({search} searches)");
    }
    model_job *j = new_sheet_job(m, s, id, argc, argv, &search_kind);
    sheet_job *q = j->data;
    q->col = s->search_col;
    snprintf(q->needle, sizeof q->needle, "%s", s->search);
    q->order = s->order;
    q->fs = s->kind == SHEET_FREQ ? s : NULL;
    q->from = s->nrows ? (s->cur + 1) % s->nrows : 0;
    snprintf(j->title, sizeof j->title, "searching %s for '%.60s'", q->t->name, q->needle);
    *job = j;
    return DG_OK;
}
