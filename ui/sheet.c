/* Sheets, VisiData-style: a table's rows in a scrollable, sortable grid, and
 * a column's frequency table with a bar histogram. Only the rows on screen
 * are formatted, so drawing costs the same on 2 000 rows and on 32 million. */
#include "app.h"
#include "chart_view.h"
#include "model_charts.h"

#include "text.h"

#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COL_WIDTH 36
#define CELL 256

/* Rows of the grid: the screen's main area less the title and the header. */
static int grid_rows(int height)
{
    return height - 2 > 1 ? height - 2 : 1;
}

static void keep_cursor_visible(sheet *s, int rows)
{
    if (s->cur < s->top)
        s->top = s->cur;
    if (s->cur >= s->top + (uint64_t)rows)
        s->top = s->cur - (uint64_t)rows + 1;
    if (s->nrows <= (uint64_t)rows)
        s->top = 0;
}

static void draw_title(app *a, const sheet *s, const dg_table *t, int y, int width)
{
    char line[1024], pos[96], n1[32], n2[32];
    size_t o;
    (void)a;
    if (s->kind == SHEET_TABLE) {
        o = (size_t)snprintf(line, sizeof line, "%s", t->name);
        if (s->sort_col >= 0)
            o += (size_t)snprintf(line + o, sizeof line - o, "  sorted by %s %s",
                                  t->cols[s->sort_col].name, s->sort_desc ? "desc" : "asc");
    } else {
        text_count(s->freq.total, n1, sizeof n1);
        o = (size_t)snprintf(line, sizeof line, "%s.%s frequency (%s rows)", t->name,
                             t->cols[s->col].name, n1);
        if (s->sort_col >= 0)
            o += (size_t)snprintf(line + o, sizeof line - o, "  sorted by %s %s",
                                  freq_columns[s->sort_col], s->sort_desc ? "desc" : "asc");
    }
    if (s->search_col >= 0)
        snprintf(line + o, sizeof line - o, "  search %s '%s'", t->cols[s->search_col].name,
                 s->search);
    text_count(s->nrows ? s->cur + 1 : 0, n1, sizeof n1);
    text_count(s->nrows, n2, sizeof n2);
    snprintf(pos, sizeof pos, "row %s/%s", n1, n2);
    int pw = text_width(pos);
    char buf[2048];
    attrset(A_BOLD);
    mvaddstr(y, 0, text_fit(line, width - pw - 1, 0, buf, sizeof buf));
    mvaddstr(y, width - pw, pos);
    attrset(A_NORMAL);
}

static int right_aligned(dg_coltype t)
{
    return t != DG_COL_STR && t != DG_COL_TIME;
}

static void draw_table(app *a, sheet *s, int top, int height, int width)
{
    const dg_table *t = model_sheet_table(&a->m, s);
    int rows = grid_rows(height);
    keep_cursor_visible(s, rows);
    uint64_t end = s->top + (uint64_t)rows < s->nrows ? s->top + (uint64_t)rows : s->nrows;
    /* Column widths from the header and the rows on screen. */
    int w[DG_MAX_COLS];
    char cell[CELL];
    for (int c = 0; c < t->ncols; c++) {
        w[c] = text_width(t->cols[c].name) + 1; /* room for the sort mark */
        for (uint64_t p = s->top; p < end; p++) {
            uint64_t row = s->order ? s->order[p] : p;
            int cw = text_width(dg_cell_text(t, &t->cols[c], row, cell, sizeof cell));
            if (cw > w[c])
                w[c] = cw;
        }
        if (w[c] > MAX_COL_WIDTH && !(s->wide & (1u << c)))
            w[c] = MAX_COL_WIDTH;
        if (w[c] > width)
            w[c] = width;
    }
    /* Scroll columns so that the cursor's is in view. The first column (the
     * row's name: a table's key, an EDA table's group) stays pinned at the
     * left when the others scroll. */
    if (s->ccol < s->left)
        s->left = s->ccol;
    for (;;) {
        int x = s->left > 0 ? w[0] + 2 : 0;
        for (int c = s->left; c <= s->ccol; c++)
            x += w[c] + 2;
        if (x <= width || s->left == s->ccol)
            break;
        s->left++;
    }
    int shown[DG_MAX_COLS], nshown = 0;
    if (s->left > 0)
        shown[nshown++] = 0;
    for (int c = s->left; c < t->ncols; c++)
        shown[nshown++] = c;
    int pin_x = s->left > 0 && w[0] < width ? w[0] : -1; /* the pin's rule, in the gap */
    draw_title(a, s, t, top, width);
    char buf[1024];
    int x = 0;
    for (int k = 0; k < nshown && x < width; k++) {
        int c = shown[k];
        char head[64];
        snprintf(head, sizeof head, "%s%s", t->cols[c].name,
                 s->sort_col == c ? (s->sort_desc ? "\xe2\x96\xbc" : "\xe2\x96\xb2") : "");
        int cw = w[c] < width - x ? w[c] : width - x;
        attrset(app_attr(a, COLOR_HEADER, A_BOLD | A_UNDERLINE) |
                (c == s->ccol ? (int)A_REVERSE : 0));
        mvaddstr(top + 1, x, text_fit(head, cw, right_aligned(t->cols[c].type), buf, sizeof buf));
        attrset(A_NORMAL);
        x += w[c] + 2;
    }
    if (pin_x >= 0)
        mvaddstr(top + 1, pin_x, "\xe2\x94\x82");
    for (uint64_t p = s->top; p < end; p++) {
        int y = top + 2 + (int)(p - s->top);
        uint64_t row = s->order ? s->order[p] : p;
        int cur = p == s->cur;
        x = 0;
        for (int k = 0; k < nshown && x < width; k++) {
            int c = shown[k];
            const char *v = dg_cell_text(t, &t->cols[c], row, cell, sizeof cell);
            int cw = w[c] < width - x ? w[c] : width - x;
            int attr = cur ? app_attr(a, COLOR_CURSOR, A_REVERSE) : 0;
            if (cur && c == s->ccol)
                attr |= A_BOLD | A_UNDERLINE;
            attrset(attr);
            mvaddstr(y, x, text_fit(v, cw, right_aligned(t->cols[c].type), buf, sizeof buf));
            if (cur && k + 1 < nshown && x + cw + 2 <= width)
                mvaddstr(y, x + cw, "  ");
            if (k == 0 && pin_x >= 0)
                mvaddstr(y, pin_x, "\xe2\x94\x82");
            attrset(A_NORMAL);
            x += w[c] + 2;
        }
    }
}

static void draw_freq(app *a, sheet *s, int top, int height, int width)
{
    const dg_table *t = model_sheet_table(&a->m, s);
    const dg_column *col = &t->cols[s->col];
    int rows = grid_rows(height);
    keep_cursor_visible(s, rows);
    uint64_t end = s->top + (uint64_t)rows < s->nrows ? s->top + (uint64_t)rows : s->nrows;
    char cell[CELL], buf[2048];
    int vw = text_width(col->name) + 1; /* room for the sort mark */
    for (uint64_t p = s->top; p < end; p++) {
        int cw = text_width(dg_cell_text(t, col, s->freq.row[p], cell, sizeof cell));
        if (cw > vw)
            vw = cw;
    }
    if (vw > MAX_COL_WIDTH && !(s->wide & 1u))
        vw = MAX_COL_WIDTH;
    if (vw > width - 30)
        vw = width - 30 > 7 ? width - 30 : 7;
    if (vw < 7)
        vw = 7;
    int cw = 11, pw = 7;
    int hw = width - (vw + cw + pw + 6);
    if (hw < 0)
        hw = 0;
    /* The largest count: first as computed, last sorted by count ascending,
     * found by a look at each value sorted by value. */
    uint64_t maxc = 1;
    if (s->freq.n && (s->sort_col < 0 || (s->sort_col != FREQ_VALUE && s->sort_desc)))
        maxc = s->freq.count[0];
    else if (s->freq.n && s->sort_col != FREQ_VALUE)
        maxc = s->freq.count[s->freq.n - 1];
    else
        for (uint64_t i = 0; i < s->freq.n; i++)
            if (s->freq.count[i] > maxc)
                maxc = s->freq.count[i];
    draw_title(a, s, t, top, width);
    /* The header, the cursor's column marked as in a table sheet. */
    const int hx[FREQ_NCOLS] = {0, vw + 2, vw + cw + 4, vw + cw + pw + 6};
    const int hwid[FREQ_NCOLS] = {vw, cw, pw, hw > 9 ? hw : 9};
    for (int c = 0; c < FREQ_NCOLS && hx[c] < width; c++) {
        char head[128];
        snprintf(head, sizeof head, "%s%s", c == FREQ_VALUE ? col->name : freq_columns[c],
                 s->sort_col == c ? (s->sort_desc ? "\xe2\x96\xbc" : "\xe2\x96\xb2") : "");
        int w = hwid[c] < width - hx[c] ? hwid[c] : width - hx[c];
        attrset(app_attr(a, COLOR_HEADER, A_BOLD | A_UNDERLINE) |
                (c == s->ccol ? (int)A_REVERSE : 0));
        mvaddstr(top + 1, hx[c], text_fit(head, w, c == FREQ_COUNT, buf, sizeof buf));
    }
    attrset(A_NORMAL);
    for (uint64_t p = s->top; p < end; p++) {
        int y = top + 2 + (int)(p - s->top);
        const char *v = dg_cell_text(t, col, s->freq.row[p], cell, sizeof cell);
        char vb[1024], cnt[32], cb[64], pct[16], line[4096];
        text_count(s->freq.count[p], cnt, sizeof cnt);
        snprintf(pct, sizeof pct, "%6.2f%%",
                 s->freq.total ? 100.0 * (double)s->freq.count[p] / (double)s->freq.total : 0);
        snprintf(line, sizeof line, "%s  %s  %s  ",
                 text_fit(v[0] ? v : "(empty)", vw, 0, vb, sizeof vb),
                 text_fit(cnt, cw, 1, cb, sizeof cb), pct);
        int cur = p == s->cur;
        attrset(cur ? app_attr(a, COLOR_CURSOR, A_REVERSE) : 0);
        mvaddstr(y, 0, text_fit(line, width, 0, buf, sizeof buf));
        int bars = (int)((double)hw * (double)s->freq.count[p] / (double)maxc + 0.5);
        if (bars < 1 && s->freq.count[p] > 0 && hw > 0)
            bars = 1;
        attrset(cur ? app_attr(a, COLOR_CURSOR, A_REVERSE) : app_attr(a, COLOR_HIST, 0));
        size_t o = 0;
        for (int i = 0; i < bars && o + 4 < sizeof line; i++) {
            memcpy(line + o, "\xe2\x96\x88", 3); /* █ */
            o += 3;
        }
        line[o] = '\0';
        int x = vw + cw + pw + 6;
        if (x < width)
            mvaddstr(y, x, line);
        attrset(A_NORMAL);
    }
}

void sheet_draw(app *a, sheet *s, int top, int height, int width)
{
    if (s->kind == SHEET_FREQ && a->m.chart[a->m.pane]) {
        freq_chart *fc = dg_xmalloc(sizeof *fc);
        freq_chart_of(&a->m, s, fc);
        fc->chart.scroll_to = (int)(s->cur < (uint64_t)fc->chart.n ? s->cur : (uint64_t)fc->chart.n - 1);
        char head[512];
        /* The title names the data's table and column: the key is looked up,
         * not expanded from {chart-toggle}. */
        snprintf(head, sizeof head, "%s: %s (%s the table)", fc->title, fc->sub,
                 actions[ACT_CHART_TOGGLE].key);
        chart_view_draw(a, &fc->chart, head, top, height, width);
        free(fc);
        return;
    }
    if (s->kind == SHEET_TABLE)
        draw_table(a, s, top, height, width);
    else
        draw_freq(a, s, top, height, width);
}

int sheet_key(app *a, sheet *s, int id, pane_args *args)
{
    const dg_table *t = model_sheet_table(&a->m, s);
    const char *colname = s->kind == SHEET_TABLE ? t->cols[s->ccol].name : "value";
    switch (id) {
    case ACT_PAGE_UP:
    case ACT_PAGE_DOWN:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%d", grid_rows(a->main_rows));
        return 1;
    case ACT_SHEET_WIDEN:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%s", s->kind == SHEET_FREQ ? "value" : colname);
        return 1;
    case ACT_SORT:
    case ACT_SORT_DESC:
    case ACT_FREQ:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%s",
                 s->kind == SHEET_FREQ ? freq_columns[s->ccol] : colname);
        return 1;
    case ACT_SEARCH: {
        char label[128];
        snprintf(label, sizeof label, "search %s: ", colname);
        app_prompt(a, PROMPT_SEARCH, label, "", colname);
        return 0;
    }
    default: return 1;
    }
}
