/* The terminal renderer of a chart description (chart.h): a grid of cells,
 * each a code point with a palette index and a style, that a pane copies to
 * the screen. Lines and points in braille (2 x 4 dots a cell), bars in block
 * characters with eighths along their length, boxes, markers, axes with the
 * ticks of dg_chart_axes_of and a legend. Series differ by colour and by
 * glyph, so the chart reads under NO_COLOR. Curses-free, unit-tested. */
#include "demographer/chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills of bar series (stacked or grouped), in series order. */
static const uint32_t fills[] = {0x2588, 0x2593, 0x2592, 0x2591, 0x259A, 0x2573};
#define NFILLS (int)(sizeof fills / sizeof *fills)
/* Legend keys of line series: solid, dashed, dotted, long dashes. */
static const uint32_t line_keys[] = {0x2500, 0x254C, 0x2508, 0x2550};
#define NLINES (int)(sizeof line_keys / sizeof *line_keys)

/* Marks on the points of a line (point_marks), by glyph: a gender's own
 * (male ●, female ■), other series in order. */
static const uint32_t marks[] = {0x25CF, 0x25B2, 0x25A0, 0x25C6, 0x2715, 0x25BC};
#define NMARKS (int)(sizeof marks / sizeof *marks)

/* The fill of bar k of label i: with one series, a label's own glyph when
 * the labels have kinds (the genders of a one-series chart), else solid. */
static uint32_t bar_fill(const dg_chart *c, int ns, int i, int k)
{
    if (ns == 1)
        return c->kinds ? fills[dg_chart_glyph(c, i) % NFILLS] : fills[0];
    return fills[dg_chart_glyph(c, k) % NFILLS];
}

/* Eighths of a cell: left-to-right (horizontal bars), bottom-up (vertical). */
static const uint32_t eighth_h[8] = {0, 0x258F, 0x258E, 0x258D, 0x258C, 0x258B, 0x258A, 0x2589};
static const uint32_t eighth_v[8] = {0, 0x2581, 0x2582, 0x2583, 0x2584, 0x2585, 0x2586, 0x2587};

/* ---- UTF-8 text in cells -------------------------------------------------------- */

static uint32_t utf8_next(const char **ps)
{
    const unsigned char *s = (const unsigned char *)*ps;
    uint32_t c = s[0];
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0) {
        *ps += 1;
        return '?';
    }
    c = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *ps += i;
            return '?';
        }
        c = (c << 6) | (s[i] & 0x3f);
    }
    *ps += n;
    return c < 0x20 || c == 0x7f ? '?' : c;
}

/* Display width: two cells for the East Asian wide ranges, else one. */
static int cp_width(uint32_t c)
{
    return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF && c != 0x303F) ||
                   (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
                   (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
                   (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x20000 && c <= 0x3FFFD)
               ? 2
               : 1;
}

static int text_w(const char *s)
{
    int w = 0;
    while (s && *s)
        w += cp_width(utf8_next(&s));
    return w;
}

static dg_cell *at(dg_cell_grid *g, int x, int y)
{
    return x >= 0 && y >= 0 && x < g->cols && y < g->rows ? &g->cells[(size_t)y * g->cols + x]
                                                           : NULL;
}

static void put(dg_cell_grid *g, int x, int y, uint32_t ch, int colour, int style)
{
    dg_cell *c = at(g, x, y);
    if (!c)
        return;
    /* Overwriting half of a wide character blanks its other half. */
    if (c->ch == 0 && x > 0)
        at(g, x - 1, y)->ch = ' ';
    if (cp_width(c->ch) == 2 && x + 1 < g->cols && at(g, x + 1, y)->ch == 0)
        at(g, x + 1, y)->ch = ' ';
    c->ch = ch;
    c->colour = (int8_t)(colour < 0 ? -1 : colour % 8);
    c->style = (uint8_t)style;
}

/* Writes s at x, y in at most maxw cells, cut with "…". Returns the cells used. */
static int put_text(dg_cell_grid *g, int x, int y, const char *s, int maxw, int colour, int style)
{
    if (!s || maxw <= 0)
        return 0;
    int total = text_w(s), used = 0;
    int room = total > maxw ? maxw - 1 : maxw;
    while (*s) {
        uint32_t c = utf8_next(&s);
        int w = cp_width(c);
        if (used + w > room)
            break;
        put(g, x + used, y, c, colour, style);
        if (w == 2)
            put(g, x + used + 1, y, 0, colour, style);
        used += w;
    }
    if (total > maxw) {
        put(g, x + used, y, 0x2026, colour, style);
        used++;
    }
    return used;
}

/* s cut to maxw cells, centred on x (kept inside [lo, hi)). Returns its first cell. */
static int put_centred(dg_cell_grid *g, int x, int y, const char *s, int maxw, int lo, int hi,
                       int style)
{
    int w = text_w(s);
    if (w > maxw)
        w = maxw;
    int x0 = x - w / 2;
    if (x0 + w > hi)
        x0 = hi - w;
    if (x0 < lo)
        x0 = lo;
    put_text(g, x0, y, s, w, -1, style);
    return x0;
}

static int is_blank(dg_cell_grid *g, int x, int y)
{
    dg_cell *c = at(g, x, y);
    return c && c->ch == ' ';
}

/* ---- braille -------------------------------------------------------------------- */

typedef struct dots {
    int w, h;          /* dots: 2 per cell across, 4 down */
    uint8_t *bits;     /* per cell */
    int8_t *colour;    /* per cell: the last series drawn there */
} dots;

static void dot(dots *d, int x, int y, int colour)
{
    if (x < 0 || y < 0 || x >= d->w || y >= d->h)
        return;
    static const uint8_t bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    size_t cell = (size_t)(y / 4) * (d->w / 2) + x / 2;
    d->bits[cell] |= bit[y % 4][x % 2];
    d->colour[cell] = (int8_t)colour;
}

/* Series k's dash pattern along dot column x: solid, dashed, dotted, long. */
static int dash_on(int k, int x)
{
    switch (k % NLINES) {
    case 0: return 1;
    case 1: return x % 4 < 2;
    case 2: return x % 3 == 0;
    default: return x % 6 < 4;
    }
}

static void dot_line(dots *d, int x0, int y0, int x1, int y1, int k, int colour)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (;;) {
        if (dash_on(k, x0))
            dot(d, x0, y0, colour);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += sy;
        }
    }
}

/* ---- layout ---------------------------------------------------------------------- */

typedef struct frame {
    int x0, y0, w, h; /* the plot area, in cells */
} frame;

/* The row of value v in a vertical plot: the cell its bar would end in. */
static int val_row(const frame *f, const dg_chart_axis *a, double v)
{
    double p = dg_chart_axis_pos(a, 0, v);
    int r = (int)lround((1 - p) * (f->h - 1));
    return f->y0 + (r < 0 ? 0 : r > f->h - 1 ? f->h - 1 : r);
}

/* A key and its name at (*x, *y); an item that does not fit the row starts
 * the next one (at most max_rows rows), cut with "…" only when alone on it. */
static void legend_item(dg_cell_grid *g, int *x, int *y, int y0, int max_rows, uint32_t key,
                        int n_key, int colour, const char *name)
{
    int w = n_key + 1 + text_w(name);
    if (*x > 0 && *x + w > g->cols && *y + 1 < y0 + max_rows) {
        *x = 0;
        (*y)++;
    }
    if (*x + n_key + 2 >= g->cols)
        return;
    for (int i = 0; i < n_key; i++)
        put(g, *x + i, *y, key, colour, 0);
    *x += n_key + 1;
    *x += put_text(g, *x, *y, name, g->cols - *x, -1, 0) + 2;
}

/* The top rows: the axis' name, then a key per series and marker, on as
 * many rows (up to three) as they need. Returns the rows used. */
static int draw_legend(dg_cell_grid *g, const dg_chart *c, int y0, const char *prefix)
{
    int x = 0, y = y0, ns = dg_chart_nseries(c), max_rows = g->rows >= 16 ? 3 : 1;
    if (prefix) {
        x += put_text(g, 0, y, prefix, g->cols / 2, -1, DG_CELL_DIM);
        x += 3;
    }
    int lines = c->kind == DG_CHART_LINE || c->kind == DG_CHART_POINTS;
    if (ns > 1 && c->series_names && c->kind != DG_CHART_BOX)
        for (int k = 0; k < ns; k++)
            legend_item(g, &x, &y, y0, max_rows,
                        c->kind == DG_CHART_POINTS ? 0x2022
                        : lines && c->point_marks  ? marks[dg_chart_glyph(c, k) % NMARKS]
                        : lines                    ? line_keys[dg_chart_glyph(c, k) % NLINES]
                                                   : fills[dg_chart_glyph(c, k) % NFILLS],
                        lines && c->point_marks ? 1 : 2, dg_chart_colour(c, k),
                        c->series_names[k]);
    for (int m = 0; m < c->nmarkers; m++)
        legend_item(g, &x, &y, y0, max_rows, c->markers[m].on_x ? 0x2502 : 0x2504, 1, -1,
                    c->markers[m].label ? c->markers[m].label : "");
    if (c->counts && lines) {
        char label[128];
        dg_chart_counts_text(c, label, sizeof label);
        legend_item(g, &x, &y, y0, max_rows, 0x2591, 1, -1, label);
    }
    return y - y0 + 1;
}

static void draw_markers(dg_cell_grid *g, const dg_chart *c, const dg_chart_axes *ax,
                         const frame *f, int horiz)
{
    for (int m = 0; m < c->nmarkers; m++) {
        const dg_chart_marker *mk = &c->markers[m];
        if (mk->on_x == !horiz) { /* across the category axis */
            const dg_chart_axis *a = &ax->cat;
            double p = dg_chart_axis_pos(a, c->n, mk->at);
            if (p < 0 || p > 1)
                continue;
            if (!horiz) {
                int x = f->x0 + (int)lround(p * (f->w - 1));
                for (int y = f->y0; y < f->y0 + f->h; y++)
                    if (is_blank(g, x, y))
                        put(g, x, y, 0x2502, -1, DG_CELL_DIM);
            }
        } else {
            double p = dg_chart_axis_pos(&ax->val, 0, mk->at);
            if (p < 0 || p > 1)
                continue;
            if (!horiz) {
                int y = val_row(f, &ax->val, mk->at);
                for (int x = f->x0; x < f->x0 + f->w; x++)
                    if (is_blank(g, x, y))
                        put(g, x, y, 0x2504, -1, DG_CELL_DIM);
            }
        }
    }
}

/* Value ticks down the left of a vertical plot: labels right-aligned in
 * [0, f->x0 - 1), the axis in column f->x0 - 1; every k-th tick when the
 * rows are too few for all. */
static void draw_value_axis_v(dg_cell_grid *g, const dg_chart_axes *ax, const frame *f)
{
    int ax_x = f->x0 - 1;
    for (int y = f->y0; y < f->y0 + f->h; y++)
        put(g, ax_x, y, 0x2502, -1, DG_CELL_DIM);
    int every = 1;
    while (every < ax->val.nticks && (ax->val.nticks - 1) / every * 2 > f->h - 1 &&
           ax->val.nticks / every > 2)
        every++;
    int last_row = -10;
    for (int t = ax->val.nticks - 1; t >= 0; t--) {
        if (t % every)
            continue;
        int y = val_row(f, &ax->val, ax->val.tick[t]);
        if (y - last_row < 2 && last_row >= 0)
            continue;
        last_row = y;
        put(g, ax_x, y, 0x2524, -1, DG_CELL_DIM);
        const char *s = ax->val.label[t];
        int w = text_w(s);
        put_text(g, ax_x - w > 0 ? ax_x - w : 0, y, s, ax_x, -1, DG_CELL_DIM);
    }
}

static int value_label_width(const dg_chart_axes *ax)
{
    int w = 1;
    for (int t = 0; t < ax->val.nticks; t++)
        if (text_w(ax->val.label[t]) > w)
            w = text_w(ax->val.label[t]);
    return w;
}

/* The category axis under a vertical plot: the line with a ┬ per tick shown
 * and the labels under it, every k-th so that none overlap. */
static void draw_cat_axis_v(dg_cell_grid *g, const dg_chart *c, const dg_chart_axes *ax,
                            const frame *f)
{
    int y = f->y0 + f->h;
    put(g, f->x0 - 1, y, 0x2514, -1, DG_CELL_DIM);
    for (int x = f->x0; x < f->x0 + f->w; x++)
        put(g, x, y, 0x2500, -1, DG_CELL_DIM);
    const dg_chart_axis *a = &ax->cat;
    int nt = a->nticks;
    if (!nt)
        return;
    double slot = a->numeric ? f->w : (double)f->w / (c->n ? c->n : 1);
    /* The widest label decides how many ticks fit. */
    int maxw = 1;
    for (int t = 0; t < nt; t++) {
        const char *s = a->numeric ? a->label[t] : c->labels ? c->labels[(int)a->tick[t]] : "";
        if (text_w(s) > maxw)
            maxw = text_w(s);
    }
    int every = 1;
    if (!a->numeric) {
        double per_tick = nt > 1 ? (a->tick[1] - a->tick[0]) * slot : f->w;
        while (every < nt && per_tick * every < fmin(maxw, 12) + 1)
            every++;
    } else {
        while (every < nt && (double)f->w / ((nt - 1) / every + 1) < maxw + 1)
            every++;
    }
    int cut = a->numeric ? maxw
                         : (int)fmax(1, floor((nt > 1 ? (a->tick[1] - a->tick[0]) : 1) * slot *
                                              every) - 1);
    int next_free = 0;
    for (int t = 0; t < nt; t += every) {
        double p = dg_chart_axis_pos(a, c->n, a->tick[t]);
        int x = f->x0 + (int)lround(p * (f->w - 1));
        if (!a->numeric)
            x = f->x0 + (int)floor((a->tick[t] + 0.5) * slot);
        put(g, x, y, 0x252C, -1, DG_CELL_DIM);
        const char *s = a->numeric ? a->label[t] : c->labels ? c->labels[(int)a->tick[t]] : "";
        int w = text_w(s) < cut ? text_w(s) : cut;
        int x0 = x - w / 2;
        if (x0 < next_free)
            continue;
        x0 = put_centred(g, x, y + 1, s, cut, next_free, g->cols, 0);
        next_free = x0 + w + 1;
    }
    if (c->category_label && y + 2 < g->rows)
        put_centred(g, f->x0 + f->w / 2, y + 2, c->category_label, f->w, f->x0, g->cols,
                    DG_CELL_DIM);
}

/* ---- the kinds -------------------------------------------------------------------- */

/* A line chart's counts (c->counts) as bars along the bottom fifth of the
 * plot, each series' bar in its colour beside the others at its point,
 * scaled to the largest count, which the legend names (dg_chart_counts_text). */
static void draw_counts(dg_cell_grid *g, const dg_chart *c, const dg_chart_axes *ax,
                        const frame *f)
{
    int ns = dg_chart_nseries(c), h = f->h / 5 < 2 ? 2 : f->h / 5;
    double top = dg_chart_counts_top(c);
    if (!(top > 0))
        return;
    /* The cells between two points: the narrowest gap decides the width. */
    double gap = f->w;
    for (int i = 1; i < c->n; i++) {
        double a = dg_chart_axis_pos(&ax->cat, c->n, c->x ? c->x[i - 1] : i - 1);
        double b = dg_chart_axis_pos(&ax->cat, c->n, c->x ? c->x[i] : i);
        gap = fmin(gap, (b - a) * (f->w - 1));
    }
    int with = 0;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < c->n; i++)
            if (isfinite(c->counts[(size_t)i * ns + k]) && c->counts[(size_t)i * ns + k] > 0) {
                with++;
                break;
            }
    int sub = (int)floor((gap - 1) / (with ? with : 1));
    if (sub < 1)
        sub = 1;
    for (int i = 0; i < c->n; i++) {
        double xp = dg_chart_axis_pos(&ax->cat, c->n, c->x ? c->x[i] : i);
        int mid = f->x0 + (int)lround(xp * (f->w - 1)), j = 0;
        for (int k = 0; k < ns; k++) {
            double v = c->counts[(size_t)i * ns + k];
            int has_any = 0;
            for (int q = 0; q < c->n && !has_any; q++)
                has_any = isfinite(c->counts[(size_t)q * ns + k]) && c->counts[(size_t)q * ns + k] > 0;
            if (!has_any)
                continue;
            int x0 = mid - sub * with / 2 + j * sub;
            j++;
            if (!isfinite(v) || v <= 0)
                continue;
            int e = (int)lround(v / top * h * 8);
            if (e < 1)
                e = 1;
            for (int x = x0; x < x0 + sub; x++) {
                if (x < f->x0 || x >= f->x0 + f->w)
                    continue;
                for (int r = 0; r < e / 8; r++)
                    put(g, x, f->y0 + f->h - 1 - r, 0x2591, dg_chart_colour(c, k), 0);
                if (e % 8)
                    put(g, x, f->y0 + f->h - 1 - e / 8, eighth_v[e % 8], dg_chart_colour(c, k),
                        DG_CELL_DIM);
            }
        }
    }
}

static void draw_vertical(dg_cell_grid *g, const dg_chart *c, const dg_chart_axes *ax)
{
    int legend_rows = draw_legend(g, c, 0, c->value_label), axis_rows = c->category_label ? 3 : 2;
    int lw = value_label_width(ax);
    frame f = {lw + 1, legend_rows, g->cols - lw - 1, g->rows - legend_rows - axis_rows};
    draw_value_axis_v(g, ax, &f);
    int ns = dg_chart_nseries(c), n = c->n ? c->n : 1;
    double slot = (double)f.w / n;
    if (c->kind == DG_CHART_BAR_V || c->kind == DG_CHART_HISTOGRAM) {
        for (int i = 0; i < c->n; i++) {
            int s0 = f.x0 + (int)floor(i * slot), s1 = f.x0 + (int)floor((i + 1) * slot);
            int gap = c->kind == DG_CHART_HISTOGRAM ? 0 : s1 - s0 >= 3 ? 1 : 0;
            int width = s1 - s0 - gap;
            if (width < 1)
                width = 1;
            double base = 0;
            int groups = c->stacked ? 1 : ns, sub = width / groups;
            if (sub < 1)
                sub = 1;
            for (int k = 0; k < ns; k++) {
                double v = dg_chart_value(c, i, k);
                int colour = dg_chart_colour(c, ns == 1 && (c->colours || c->kinds) ? i : k);
                uint32_t fill = bar_fill(c, ns, i, k);
                double p0 = c->stacked ? dg_chart_axis_pos(&ax->val, 0, base) : 0;
                double p1 = dg_chart_axis_pos(&ax->val, 0, c->stacked ? base + v : v);
                base += v;
                /* In eighths of a cell; a stack's segments and patterned
                 * fills end on whole cells (rounded), solid bars on eighths. */
                int e0 = (int)lround(p0 * f.h * 8), e1 = (int)lround(p1 * f.h * 8);
                int whole = c->stacked || fill != fills[0];
                if (whole)
                    e0 = (e0 + 4) / 8 * 8, e1 = (e1 + 4) / 8 * 8;
                int x0 = c->stacked ? s0 : s0 + k * sub, x1 = c->stacked ? s0 + width : x0 + sub;
                /* A zero bar is a visible line on the axis, not a gap. */
                if (e1 == 0 && !c->stacked && dg_chart_has_value(c, i, k))
                    e1 = 1;
                for (int x = x0; x < x1 && x < f.x0 + f.w; x++) {
                    for (int r = e0 / 8; r < e1 / 8; r++)
                        put(g, x, f.y0 + f.h - 1 - r, fill, colour, 0);
                    if (e1 % 8)
                        put(g, x, f.y0 + f.h - 1 - e1 / 8, eighth_v[e1 % 8], colour, 0);
                }
            }
        }
    } else if (c->kind == DG_CHART_BOX) {
        for (int i = 0; i < c->n; i++) {
            int s0 = f.x0 + (int)floor(i * slot), s1 = f.x0 + (int)floor((i + 1) * slot);
            int mid = (s0 + s1) / 2, half = (s1 - s0) / 5;
            if (half > 4)
                half = 4;
            int colour = dg_chart_colour(c, i);
            int r[5];
            for (int k = 0; k < 5; k++)
                r[k] = val_row(&f, &ax->val, dg_chart_value(c, i, k));
            for (int y = r[4]; y <= r[0]; y++)
                put(g, mid, y, 0x2502, -1, 0);
            for (int x = mid - half; x <= mid + half; x++) {
                put(g, x, r[0], 0x2500, -1, 0);
                put(g, x, r[4], 0x2500, -1, 0);
                for (int y = r[3]; y <= r[1]; y++)
                    put(g, x, y, 0x2592, colour, 0);
                put(g, x, r[2], 0x2501, colour, DG_CELL_BOLD);
            }
        }
    } else { /* lines and points, in braille */
        dots d = {2 * f.w, 4 * f.h, NULL, NULL};
        d.bits = dg_xcalloc((size_t)f.w * f.h + 1, 1);
        d.colour = dg_xcalloc((size_t)f.w * f.h + 1, 1);
        if (c->counts)
            draw_counts(g, c, ax, &f);
        for (int k = 0; k < ns; k++) {
            int px = 0, py = 0, have = 0, colour = dg_chart_colour(c, k);
            int glyph = dg_chart_glyph(c, k);
            for (int i = 0; i < c->n; i++) {
                if (!dg_chart_has_value(c, i, k))
                    continue; /* left out: the line joins its neighbours */
                double xp = dg_chart_axis_pos(&ax->cat, c->n, c->x ? c->x[i] : i);
                double yp = dg_chart_axis_pos(&ax->val, 0, dg_chart_value(c, i, k));
                int x = (int)lround(xp * (d.w - 1)), y = (int)lround((1 - yp) * (d.h - 1));
                if (c->kind == DG_CHART_POINTS || !have)
                    dot(&d, x, y, colour);
                else
                    dot_line(&d, px, py, x, y, glyph, colour);
                px = x;
                py = y;
                have = 1;
            }
        }
        for (int y = 0; y < f.h; y++)
            for (int x = 0; x < f.w; x++) {
                uint8_t b = d.bits[(size_t)y * f.w + x];
                if (b)
                    put(g, f.x0 + x, f.y0 + y, 0x2800 + b, d.colour[(size_t)y * f.w + x],
                        DG_CELL_BOLD);
            }
        /* The marks go over the lines, one cell each. */
        for (int k = 0; k < ns && c->point_marks && c->kind == DG_CHART_LINE; k++)
            for (int i = 0; i < c->n; i++) {
                if (!dg_chart_has_value(c, i, k))
                    continue;
                double xp = dg_chart_axis_pos(&ax->cat, c->n, c->x ? c->x[i] : i);
                double yp = dg_chart_axis_pos(&ax->val, 0, dg_chart_value(c, i, k));
                int x = (int)lround(xp * (d.w - 1)) / 2, y = (int)lround((1 - yp) * (d.h - 1)) / 4;
                put(g, f.x0 + x, f.y0 + y, marks[dg_chart_glyph(c, k) % NMARKS],
                    dg_chart_colour(c, k), DG_CELL_BOLD);
            }
        free(d.bits);
        free(d.colour);
    }
    draw_markers(g, c, ax, &f, 0);
    draw_cat_axis_v(g, c, ax, &f);
}

static void draw_horizontal(dg_cell_grid *g, const dg_chart *c, const dg_chart_axes *ax)
{
    int ns = dg_chart_nseries(c), per = c->stacked || ns == 1 ? 1 : ns;
    int axis_rows = c->value_label ? 3 : 2;
    /* Labels on the left: the widest, at most a third of the width. */
    int lw = 1, widest = 1;
    for (int i = 0; i < c->n; i++)
        if (c->labels && text_w(c->labels[i]) > widest)
            widest = text_w(c->labels[i]);
    lw = widest > g->cols / 3 ? g->cols / 3 : widest;
    /* A label that would be cut goes whole on its own row above its bar,
     * when the rows allow a label row and a bar row for every label. */
    int legend_guess = c->nmarkers || (ns > 1 && c->series_names) ? 2 : 1;
    int above = widest > lw && c->n * (per + 1) <= g->rows - legend_guess - axis_rows;
    if (above)
        lw = 0;
    /* Room at the bars' end for their values, and for the last tick's label. */
    int vw = 0;
    char b[32];
    if (c->value_labels)
        for (int i = 0; i < c->n; i++) {
            double v = 0;
            for (int k = 0; k < ns; k++)
                v = c->stacked ? v + dg_chart_value(c, i, k) : dg_chart_value(c, i, 0);
            dg_chart_format_value(v, c->integer_values, b, sizeof b);
            if (text_w(b) + 1 > vw)
                vw = text_w(b) + 1;
        }
    int tail = ax->val.nticks ? text_w(ax->val.label[ax->val.nticks - 1]) / 2 + 1 : 1;
    if (vw < tail)
        vw = tail;
    int legend_rows = draw_legend(g, c, 0, c->category_label);
    frame f = {lw + 2, legend_rows, g->cols - lw - 2 - vw, g->rows - legend_rows - axis_rows};
    if (f.w < 4)
        f.w = 4;
    /* A blank row between labels when there is room for it, and one-row
     * bars up to three rows thick when there is room for that (labels
     * above their bars take that row). */
    int thick = 1;
    if (per == 1 && c->n > 0 && !above) {
        thick = f.h / c->n - 1;
        thick = thick < 1 ? 1 : thick > 3 ? 3 : thick;
    }
    int step = above ? per + 1 : per * thick + (f.h >= (per * thick + 1) * c->n ? 1 : 0);
    int shown = f.h / step;
    if (shown > c->n)
        shown = c->n;
    if (shown < c->n && shown > 0)
        shown--; /* the last row says how many more */
    for (int y = f.y0; y < f.y0 + f.h; y++)
        put(g, f.x0 - 1, y, 0x2502, -1, DG_CELL_DIM);
    for (int i = 0; i < shown; i++) {
        int y = f.y0 + i * step + above, ymid = y + (thick - 1) / 2;
        if (c->labels && above) {
            put_text(g, f.x0, y - 1, c->labels[i], g->cols - f.x0, -1, 0);
        } else if (c->labels) {
            int w = text_w(c->labels[i]) < lw ? text_w(c->labels[i]) : lw;
            put_text(g, lw - w, ymid, c->labels[i], lw, -1, 0);
        }
        int e_base = 0;
        double base = 0;
        for (int k = 0; k < ns; k++) {
            double v = dg_chart_value(c, i, k);
            int colour = dg_chart_colour(c, ns == 1 && (c->colours || c->kinds) ? i : k);
            uint32_t fill = bar_fill(c, ns, i, k);
            int row = c->stacked ? y : y + (per > 1 ? k : 0);
            double p = dg_chart_axis_pos(&ax->val, 0, c->stacked ? base + v : v);
            base += v;
            int e1 = (int)lround(p * f.w * 8), e0 = c->stacked ? e_base : 0;
            if (c->stacked || fill != fills[0])
                e1 = (e1 + 4) / 8 * 8;
            /* A zero bar is a visible line on the axis, not a gap. */
            if (e1 == 0 && !c->stacked && dg_chart_has_value(c, i, k))
                e1 = 1;
            for (int t = 0; t < thick; t++) {
                for (int x = e0 / 8; x < e1 / 8; x++)
                    put(g, f.x0 + x, row + t, fill, colour, 0);
                if (e1 % 8)
                    put(g, f.x0 + e1 / 8, row + t, eighth_h[e1 % 8], colour, 0);
            }
            if (c->stacked)
                e_base = e1;
        }
        if (c->value_labels && (ns == 1 || c->stacked)) {
            double v = c->stacked ? base : dg_chart_value(c, i, 0);
            double p = dg_chart_axis_pos(&ax->val, 0, v);
            dg_chart_format_value(v, c->integer_values, b, sizeof b);
            int end = (int)ceil(p * f.w);
            put_text(g, f.x0 + (end < 1 ? 1 : end) + 1, ymid, b, vw + f.w, -1, DG_CELL_DIM);
        }
    }
    if (shown < c->n) {
        char more[64];
        snprintf(more, sizeof more, "… %d more", c->n - shown);
        put_text(g, 0, f.y0 + shown * step, more, lw > 12 ? lw : g->cols, -1, DG_CELL_DIM);
    }
    /* The value axis under the bars. */
    int y = f.y0 + f.h;
    put(g, f.x0 - 1, y, 0x2514, -1, DG_CELL_DIM);
    for (int x = f.x0; x < f.x0 + f.w; x++)
        put(g, x, y, 0x2500, -1, DG_CELL_DIM);
    int maxw = value_label_width(ax), every = 1, nt = ax->val.nticks;
    while (every < nt && (double)f.w / ((nt - 1) / every + 1) < maxw + 1)
        every++;
    int next_free = 0;
    for (int t = 0; t < nt; t += every) {
        double p = dg_chart_axis_pos(&ax->val, 0, ax->val.tick[t]);
        int x = f.x0 + (int)lround(p * f.w);
        if (x > f.x0 + f.w - 1)
            x = f.x0 + f.w - 1;
        put(g, x, y, 0x252C, -1, DG_CELL_DIM);
        int w = text_w(ax->val.label[t]);
        if (x - w / 2 < next_free)
            continue;
        int x0 = put_centred(g, x, y + 1, ax->val.label[t], w, next_free, g->cols, DG_CELL_DIM);
        next_free = x0 + w + 1;
    }
    if (c->value_label && y + 2 < g->rows)
        put_centred(g, f.x0 + f.w / 2, y + 2, c->value_label, g->cols, 0, g->cols, DG_CELL_DIM);
}

int dg_chart_cells(const dg_chart *c, int cols, int rows, dg_cell_grid *g, dg_err *err)
{
    g->cols = g->rows = 0;
    g->cells = NULL;
    if (c->kind < 0 || c->kind >= DG_CHART_KINDS)
        return dg_fail(err, "unknown chart kind %d", (int)c->kind);
    if (cols < 20 || rows < 6)
        return dg_fail(err, "a chart needs at least 20x6 cells, not %dx%d", cols, rows);
    g->cols = cols;
    g->rows = rows;
    g->cells = dg_xmalloc((size_t)cols * rows * sizeof *g->cells);
    for (size_t i = 0; i < (size_t)cols * rows; i++)
        g->cells[i] = (dg_cell){' ', -1, 0};
    if (c->n <= 0 || !c->values) {
        put_text(g, 0, rows / 2, "(nothing to draw)", cols, -1, DG_CELL_DIM);
        return DG_OK;
    }
    dg_chart_axes ax;
    dg_chart_axes_of(c, &ax);
    if (c->kind == DG_CHART_BAR_H)
        draw_horizontal(g, c, &ax);
    else
        draw_vertical(g, c, &ax);
    return DG_OK;
}

void dg_cell_grid_free(dg_cell_grid *g)
{
    free(g->cells);
    g->cells = NULL;
    g->cols = g->rows = 0;
}

void dg_cell_grid_row(const dg_cell_grid *g, int r, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0)
        return;
    for (int x = 0; r >= 0 && r < g->rows && x < g->cols; x++) {
        uint32_t c = g->cells[(size_t)r * g->cols + x].ch;
        if (c == 0)
            continue;
        char b[4];
        int n;
        if (c < 0x80)
            b[0] = (char)c, n = 1;
        else if (c < 0x800)
            b[0] = (char)(0xC0 | c >> 6), b[1] = (char)(0x80 | (c & 0x3f)), n = 2;
        else if (c < 0x10000)
            b[0] = (char)(0xE0 | c >> 12), b[1] = (char)(0x80 | ((c >> 6) & 0x3f)),
            b[2] = (char)(0x80 | (c & 0x3f)), n = 3;
        else
            b[0] = (char)(0xF0 | c >> 18), b[1] = (char)(0x80 | ((c >> 12) & 0x3f)),
            b[2] = (char)(0x80 | ((c >> 6) & 0x3f)), b[3] = (char)(0x80 | (c & 0x3f)), n = 4;
        if (o + n + 1 > cap)
            break;
        memcpy(out + o, b, n);
        o += n;
    }
    out[o] = 0;
}
