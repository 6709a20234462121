/* The EDA pane: the exploratory tables (computed in the background from the
 * cleaned data when there is some, else the loaded), one row each with its
 * chart number, title and size; Enter opens one in the sheet view (sheet.c)
 * and p saves its chart and CSV. With chart-toggle (.) the pane draws the
 * chart of the open table, or of the cursor's (Up/Down flip through them):
 * the same description the PNG is drawn from. */
#include "app.h"
#include "hints.h"

#include "chart_view.h"
#include "text.h"

#include <curses.h>
#include <string.h>

/* Table i's chart, in rows [top, top + height). */
static void draw_chart(app *a, int i, int top, int height, int width)
{
    model *m = &a->m;
    dg_eda_chart ec;
    dg_err err;
    char head[512], label[16];
    if (dg_eda_chart_of(&m->eda, i, &ec, &err) != DG_OK) {
        app_put_plain(top + 1, 0, width, err.msg, A_NORMAL);
        return;
    }
    /* The list's own label (1a, 1b, 10a ...), so the two say the same. */
    snprintf(head, sizeof head, "Chart %s: %s (table %d of %d; %s)",
             model_eda_label(&m->eda, i, label, sizeof label), m->eda.tables[i].title, i + 1,
             m->eda.ntables,
             m->eda_open ? "{chart-toggle} the table, {sheet-back} the list"
                         : "{chart-toggle} the list, {cursor-up}/{cursor-down} the next chart");
    action_keys_expand(head, sizeof head); /* the product's titles and words only */
    chart_view_draw(a, &ec.chart, head, top, height, width);
    dg_eda_chart_free(&ec);
}

static void draw(app *a, int top, int height, int width)
{
    model *m = &a->m;
    sheet *s = model_sheet(m);
    if (m->chart[PANE_EDA] && m->have_eda && (!s || s->eda == 1)) {
        draw_chart(a, s ? s->table : m->eda_cur, top, height, width);
        return;
    }
    if (s) {
        sheet_draw(a, s, top, height, width);
        return;
    }
    char line[1024];
    int y = top, end = top + height;
    if (!m->have_eda) {
        snprintf(line, sizeof line, "No EDA tables yet. %s",
                 !m->loaded           ? "Load data first ({pane-load} goes to the Load pane)."
                 : m->cl.have_cleaned ? "{eda-compute} computes them from the cleaned data."
                                      : "{eda-compute} computes them from the loaded data "
                                        "({pane-clean} cleans it).");
        app_put_text(y + 1, width, line, A_NORMAL);
        return;
    }
    snprintf(line, sizeof line, "%d tables from the %s data%s", m->eda.ntables,
             m->eda_from_cleaned ? "cleaned" : "loaded (not cleaned)",
             m->eda_gen != m->data_gen ? "; the data changed since: {eda-compute} recomputes" : "");
    app_put_text(y++, width, line, A_BOLD);
    int tw = width - 2 - (5 + 2 + 1 + 6 + 1 + 7);
    snprintf(line, sizeof line, "%5s  %-*s %6s %7s", "chart", tw, "title", "rows", "series");
    app_put_plain(y++, 0, width, line, app_attr(a, COLOR_HEADER, A_BOLD | A_UNDERLINE));
    /* Scroll so that the cursor's row is in view. */
    int rows = end - y, first = 0;
    if (m->eda_cur >= rows)
        first = m->eda_cur - rows + 1;
    for (int i = first; i < m->eda.ntables && y < end; i++) {
        const dg_eda_table *t = &m->eda.tables[i];
        char title[512], tb[1024];
        snprintf(title, sizeof title, "%s", t->title);
        char label[16];
        snprintf(line, sizeof line, "%5s  %s %6d %7d", model_eda_label(&m->eda, i, label, sizeof label),
                 text_fit(title, tw, 0, tb, sizeof tb), t->nrows, t->nseries);
        app_put_plain(y++, 0, width, line,
                      i == m->eda_cur ? app_attr(a, COLOR_CURSOR, A_REVERSE) : (int)A_NORMAL);
    }
}

static int key(app *a, int id, pane_args *args)
{
    model *m = &a->m;
    sheet *s = model_sheet(m);
    if (s)
        return sheet_key(a, s, id, args);
    switch (id) {
    case ACT_EDA_OPEN:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%d", m->eda_cur + 1);
        return 1;
    case ACT_DEVICE_FEATURES:
        app_prompt(a, PROMPT_ARG, "features of device (its id): ", "", actions[id].name);
        return 0;
    case ACT_PAGE_UP:
    case ACT_PAGE_DOWN:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%d", a->main_rows > 4 ? a->main_rows - 3 : 1);
        return 1;
    default: return 1;
    }
}

const pane_ops pane_eda_ops = {
    .draw = draw,
    .key = key,
};
