#include "demographer/plot.h"
#include "plot_cairo.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_rgb(cairo_t *cr, unsigned rgb)
{
    cairo_set_source_rgb(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                         (rgb & 0xff) / 255.0);
}

/* Text through pango: "sans" resolves by fontconfig, which falls back to a
 * CJK font (fonts-wqy-microhei) for the glyphs the Latin font lacks. */
typedef struct text {
    cairo_t *cr;
    PangoLayout *layout;
} text;

static void text_init(text *tx, cairo_t *cr)
{
    tx->cr = cr;
    tx->layout = pango_cairo_create_layout(cr);
}

static void text_free(text *tx)
{
    g_object_unref(tx->layout);
}

static void text_set(text *tx, const char *s, double size, int bold)
{
    PangoFontDescription *fd = pango_font_description_new();
    pango_font_description_set_family(fd, "sans");
    pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(tx->layout, fd);
    pango_font_description_free(fd);
    pango_layout_set_text(tx->layout, s, -1);
}

static void text_size(text *tx, double *w, double *h)
{
    int iw, ih;
    pango_layout_get_pixel_size(tx->layout, &iw, &ih);
    *w = iw;
    *h = ih;
}

/* Draws the current text with its box's anchor (ax, ay in 0..1 of its width
 * and height) at x, y. */
static void text_draw(text *tx, double x, double y, double ax, double ay)
{
    double w, h;
    text_size(tx, &w, &h);
    cairo_move_to(tx->cr, x - ax * w, y - ay * h);
    pango_cairo_show_layout(tx->cr, tx->layout);
}

/* Series k's line dashes, the terminal's patterns (chart_cells.c) in pixels:
 * solid, dashed, dotted, long dashes. */
static void set_dash(cairo_t *cr, int k)
{
    static const double dashed[] = {10, 7}, dotted[] = {2.5, 5}, longd[] = {18, 6};
    switch (k % 4) {
    case 0: cairo_set_dash(cr, NULL, 0, 0); break;
    case 1: cairo_set_dash(cr, dashed, 2, 0); break;
    case 2: cairo_set_dash(cr, dotted, 2, 0); break;
    default: cairo_set_dash(cr, longd, 2, 0); break;
    }
}

/* Bars of glyph 2 (female, as the terminal's ▒) are hatched: white
 * diagonals over the colour, so the genders differ without colour too. */
static void hatch(cairo_t *cr, int glyph, double x, double y, double w, double h)
{
    if (glyph % 6 != 2 || w <= 0 || h <= 0)
        return;
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_clip(cr);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.55);
    cairo_set_line_width(cr, 2);
    for (double d = -h; d < w; d += 7) {
        cairo_move_to(cr, x + d, y + h);
        cairo_line_to(cr, x + d + h, y);
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* A point's mark by glyph, the terminal's ● ▲ ■ ◆ ✕ ▼, filled in the
 * current colour, r pixels from its centre. */
static void mark(cairo_t *cr, int glyph, double x, double y, double r)
{
    cairo_save(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_new_path(cr);
    switch (glyph % 6) {
    case 0: cairo_arc(cr, x, y, r, 0, 2 * M_PI); break;
    case 1:
        cairo_move_to(cr, x, y - r * 1.2);
        cairo_line_to(cr, x + r * 1.1, y + r * 0.8);
        cairo_line_to(cr, x - r * 1.1, y + r * 0.8);
        cairo_close_path(cr);
        break;
    case 2: cairo_rectangle(cr, x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8); break;
    case 3:
        cairo_move_to(cr, x, y - r * 1.3);
        cairo_line_to(cr, x + r * 1.1, y);
        cairo_line_to(cr, x, y + r * 1.3);
        cairo_line_to(cr, x - r * 1.1, y);
        cairo_close_path(cr);
        break;
    case 4:
        cairo_set_line_width(cr, r * 0.6);
        cairo_move_to(cr, x - r, y - r);
        cairo_line_to(cr, x + r, y + r);
        cairo_move_to(cr, x + r, y - r);
        cairo_line_to(cr, x - r, y + r);
        cairo_stroke(cr);
        cairo_restore(cr);
        return;
    default:
        cairo_move_to(cr, x, y + r * 1.2);
        cairo_line_to(cr, x + r * 1.1, y - r * 0.8);
        cairo_line_to(cr, x - r * 1.1, y - r * 0.8);
        cairo_close_path(cr);
        break;
    }
    cairo_fill(cr);
    cairo_restore(cr);
}

/* The series' keys (and the markers') as one centred row under the titles,
 * so that no data is ever drawn under it. Returns the height it took. */
static double draw_key_row(cairo_t *cr, text *tx, const dg_chart *c, int W, double top, double fs)
{
    int ns = dg_chart_nseries(c);
    int series = ns >= 2 && c->series_names && c->kind != DG_CHART_BOX;
    int items = (series ? ns : 0) + c->nmarkers;
    char counts[128] = "";
    if (c->counts && (c->kind == DG_CHART_LINE || c->kind == DG_CHART_POINTS))
        dg_chart_counts_text(c, counts, sizeof counts);
    if (!items && !counts[0])
        return 0;
    int lines = c->kind == DG_CHART_LINE || c->kind == DG_CHART_POINTS;
    double total = 0, h = 0, tw, th, key = fs * 1.6;
    for (int s = 0; s < items; s++) {
        const char *name = s < (series ? ns : 0) ? c->series_names[s]
                                                 : c->markers[s - (series ? ns : 0)].label;
        text_set(tx, name ? name : "", fs * 0.9, 0);
        text_size(tx, &tw, &th);
        total += key + 6 + tw + 24;
        h = th;
    }
    double x = (W - total) / 2;
    for (int s = 0; s < items; s++) {
        int is_series = s < (series ? ns : 0);
        const char *name = is_series ? c->series_names[s] : c->markers[s - (series ? ns : 0)].label;
        if (is_series && !lines) {
            set_rgb(cr, dg_palette(dg_chart_colour(c, s)));
            cairo_rectangle(cr, x, top + h * 0.2, key, h * 0.6);
            cairo_fill(cr);
            hatch(cr, dg_chart_glyph(c, s), x, top + h * 0.2, key, h * 0.6);
        } else if (is_series && c->kind == DG_CHART_POINTS) {
            set_rgb(cr, dg_palette(dg_chart_colour(c, s)));
            cairo_arc(cr, x + key / 2, top + h / 2, 4, 0, 2 * M_PI);
            cairo_fill(cr);
        } else {
            if (is_series) {
                set_rgb(cr, dg_palette(dg_chart_colour(c, s)));
                set_dash(cr, dg_chart_glyph(c, s));
                cairo_set_line_width(cr, 2.5);
                if (c->point_marks)
                    mark(cr, dg_chart_glyph(c, s), x + key / 2, top + h / 2, 5);
            } else {
                set_rgb(cr, 0x555555);
                set_dash(cr, 1);
                cairo_set_line_width(cr, 1.5);
            }
            cairo_move_to(cr, x, top + h / 2);
            cairo_line_to(cr, x + key, top + h / 2);
            cairo_stroke(cr);
            set_dash(cr, 0);
        }
        set_rgb(cr, 0x000000);
        text_set(tx, name ? name : "", fs * 0.9, 0);
        text_draw(tx, x + key + 6, top, 0, 0);
        text_size(tx, &tw, &th);
        x += key + 6 + tw + 24;
    }
    if (counts[0]) {
        /* The counts' key on a row of its own, centred under the others. */
        text_set(tx, counts, fs * 0.9, 0);
        text_size(tx, &tw, &th);
        double y = items ? top + h + 4 : top, x0 = (W - key - 6 - tw) / 2;
        cairo_set_source_rgba(cr, 0.4, 0.4, 0.4, 0.35);
        cairo_rectangle(cr, x0, y + th * 0.2, key, th * 0.6);
        cairo_fill(cr);
        set_rgb(cr, 0x000000);
        text_draw(tx, x0 + key + 6, y, 0, 0);
        return (items ? h + 4 : 0) + th + 8;
    }
    return h + 8;
}

/* A line chart's counts (c->counts) as pale bars along the bottom fifth of
 * the plot, the series side by side at each point, scaled to the largest
 * count, which the key row names (dg_chart_counts_text). */
static void draw_counts(cairo_t *cr, const dg_chart *c, const dg_chart_axis *ca, double left,
                        double right, double bottom, double span)
{
    int ns = dg_chart_nseries(c);
    double top = 0, gap = right - left, h = span / 5;
    int with = 0;
    for (int k = 0; k < ns; k++) {
        int any = 0;
        for (int i = 0; i < c->n; i++) {
            double v = c->counts[(size_t)i * ns + k];
            if (isfinite(v) && v > 0)
                any = 1, top = fmax(top, v);
        }
        with += any;
    }
    if (!(top > 0))
        return;
    for (int i = 1; i < c->n; i++)
        gap = fmin(gap, (right - left) * (dg_chart_axis_pos(ca, c->n, c->x ? c->x[i] : i) -
                                          dg_chart_axis_pos(ca, c->n, c->x ? c->x[i - 1] : i - 1)));
    double sub = gap * 0.8 / with;
    for (int i = 0; i < c->n; i++) {
        double mid = left + (right - left) * dg_chart_axis_pos(ca, c->n, c->x ? c->x[i] : i);
        int j = 0;
        for (int k = 0; k < ns; k++) {
            int any = 0;
            for (int q = 0; q < c->n && !any; q++)
                any = isfinite(c->counts[(size_t)q * ns + k]) && c->counts[(size_t)q * ns + k] > 0;
            if (!any)
                continue;
            double v = c->counts[(size_t)i * ns + k], x = mid - sub * with / 2 + j * sub;
            j++;
            if (!isfinite(v) || v <= 0)
                continue;
            unsigned rgb = dg_palette(dg_chart_colour(c, k));
            cairo_set_source_rgba(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                                  (rgb & 0xff) / 255.0, 0.35);
            double bh = fmax(1, h * v / top);
            cairo_rectangle(cr, x + 1, bottom - bh, sub - 2, bh);
            cairo_fill(cr);
        }
    }
}

static const char *cat_label(const dg_chart *c, const dg_chart_axis *a, int t)
{
    return a->numeric ? a->label[t] : c->labels ? c->labels[(int)a->tick[t]] : "";
}

static void draw_chart(cairo_t *cr, text *tx, const dg_chart *c, int W, int H)
{
    double top = 20, fs = H / 50.0 < 13 ? 13 : H / 50.0;
    double tw, th;
    set_rgb(cr, 0x000000);
    if (c->title) {
        text_set(tx, c->title, fs * 1.5, 1);
        text_draw(tx, W / 2.0, top, 0.5, 0);
        text_size(tx, &tw, &th);
        top += th + 4;
    }
    if (c->subtitle) {
        set_rgb(cr, 0x444444);
        text_set(tx, c->subtitle, fs, 0);
        text_draw(tx, W / 2.0, top, 0.5, 0);
        text_size(tx, &tw, &th);
        top += th;
    }
    top += 10;
    top += draw_key_row(cr, tx, c, W, top, fs);
    top += 6;
    int ns = dg_chart_nseries(c);
    dg_chart_axes ax;
    dg_chart_axes_of(c, &ax);
    const dg_chart_axis *va = &ax.val, *ca = &ax.cat;
    int horiz = c->kind == DG_CHART_BAR_H;
    /* Room for the category labels: the widest, capped at 45% of the width. */
    double label_w = 0, label_h = 0;
    for (int i = 0; i < c->n && c->labels; i++) {
        text_set(tx, c->labels[i], fs, 0);
        text_size(tx, &tw, &th);
        if (tw > label_w)
            label_w = tw;
        label_h = th;
    }
    if (label_w > W * 0.45)
        label_w = W * 0.45;
    double tick_w = 0;
    for (int t = 0; t < va->nticks; t++) {
        text_set(tx, va->label[t], fs * 0.9, 0);
        text_size(tx, &tw, &th);
        tick_w = fmax(tick_w, tw);
        label_h = fmax(label_h, th);
    }
    double left = horiz ? 30 + label_w + 10 : 46 + tick_w + 14, right = W - 40;
    /* Horizontal bars with their values: room after the longest bar for its value. */
    if (horiz && c->value_labels) {
        double vw = 0;
        for (int i = 0; i < c->n; i++) {
            char b[32];
            double v = 0;
            for (int k = 0; k < ns; k++)
                v = c->stacked ? v + dg_chart_value(c, i, k) : dg_chart_value(c, i, 0);
            double p = dg_chart_axis_pos(va, 0, v);
            dg_chart_format_value(v, c->integer_values, b, sizeof b);
            text_set(tx, b, fs * 0.9, 0);
            text_size(tx, &tw, &th);
            /* The part of the value past the axis' end, were the plot W - 40 wide. */
            vw = fmax(vw, p * (W - 40 - left) + 5 + tw - (W - 40 - left));
        }
        if (vw > 0)
            right -= vw + 4;
    }
    /* Category labels lie flat when each fits its slot, else turn 45 degrees. */
    int rotate = 0;
    if (!horiz && !ca->numeric && ca->nticks > 0) {
        double slot = (right - left) / (c->n ? c->n : 1);
        double per = ca->nticks > 1 ? (ca->tick[1] - ca->tick[0]) * slot : right - left;
        for (int t = 0; t < ca->nticks; t++) {
            text_set(tx, cat_label(c, ca, t), fs * 0.9, 0);
            text_size(tx, &tw, &th);
            if (tw > per * 0.9)
                rotate = 1;
        }
    }
    double bottom = H - (horiz ? 70 : rotate ? 60 + (label_w < 120 ? label_w : 120)
                                             : 50 + label_h + 12);
    if (c->category_label) {
        set_rgb(cr, 0x000000);
        text_set(tx, c->category_label, fs, 1);
        if (horiz)
            text_draw(tx, 20, top - 4, 0, 1);
        else
            text_draw(tx, (left + right) / 2, H - 10, 0.5, 1);
    }
    double span = horiz ? right - left : bottom - top;
    /* Grid and value ticks. */
    for (int t = 0; t < va->nticks; t++) {
        double p = dg_chart_axis_pos(va, 0, va->tick[t]);
        set_rgb(cr, 0xdddddd);
        cairo_set_line_width(cr, 1);
        set_rgb(cr, 0xdddddd);
        if (horiz) {
            double x = left + span * p;
            cairo_move_to(cr, floor(x) + 0.5, top);
            cairo_line_to(cr, floor(x) + 0.5, bottom);
            cairo_stroke(cr);
            set_rgb(cr, 0x333333);
            text_set(tx, va->label[t], fs * 0.9, 0);
            text_draw(tx, x, bottom + 6, 0.5, 0);
        } else {
            double y = bottom - span * p;
            cairo_move_to(cr, left, floor(y) + 0.5);
            cairo_line_to(cr, right, floor(y) + 0.5);
            cairo_stroke(cr);
            set_rgb(cr, 0x333333);
            text_set(tx, va->label[t], fs * 0.9, 0);
            text_draw(tx, left - 8, y, 1, 0.5);
        }
    }
    if (c->value_label) {
        set_rgb(cr, 0x000000);
        text_set(tx, c->value_label, fs, 1);
        if (horiz) {
            text_draw(tx, (left + right) / 2, H - 14, 0.5, 1);
        } else {
            cairo_save(cr);
            cairo_translate(cr, 20, (top + bottom) / 2);
            cairo_rotate(cr, -M_PI / 2);
            text_draw(tx, 0, 0, 0.5, 0);
            cairo_restore(cr);
        }
    }
    int n = c->n ? c->n : 1;
    double slot = (horiz ? bottom - top : right - left) / n;
    double gap = c->kind == DG_CHART_HISTOGRAM ? 1 : slot * 0.2;
    /* A numeric x axis: grid lines and tick labels at its ticks. */
    if (!horiz && ca->numeric) {
        for (int t = 0; t < ca->nticks; t++) {
            double x = left + (right - left) * dg_chart_axis_pos(ca, c->n, ca->tick[t]);
            set_rgb(cr, 0xdddddd);
            cairo_set_line_width(cr, 1);
            cairo_move_to(cr, floor(x) + 0.5, top);
            cairo_line_to(cr, floor(x) + 0.5, bottom);
            cairo_stroke(cr);
            set_rgb(cr, 0x333333);
            text_set(tx, ca->label[t], fs * 0.9, 0);
            text_draw(tx, x, bottom + 8, 0.5, 0);
        }
    } else if (!horiz) {
        for (int t = 0; t < ca->nticks; t++) {
            double x = left + (ca->tick[t] + 0.5) * slot;
            set_rgb(cr, 0x000000);
            text_set(tx, cat_label(c, ca, t), fs * 0.9, 0);
            if (rotate) {
                cairo_save(cr);
                cairo_translate(cr, x, bottom + 8);
                cairo_rotate(cr, -M_PI / 4);
                text_draw(tx, 0, 0, 1, 0.5);
                cairo_restore(cr);
            } else {
                text_draw(tx, x, bottom + 8, 0.5, 0);
            }
        }
    }
    /* Each label's bars: one, several side by side, several stacked, or a box. */
    int bars = c->kind == DG_CHART_BAR_H || c->kind == DG_CHART_BAR_V ||
               c->kind == DG_CHART_HISTOGRAM;
    for (int i = 0; i < c->n; i++) {
        double base = (horiz ? top : left) + i * slot + gap / 2, thick = slot - gap;
        double total = 0;
        for (int k = 0; k < ns && bars; k++) {
            double v = dg_chart_value(c, i, k);
            double off = c->stacked ? span * dg_chart_axis_pos(va, 0, total) : 0;
            double len = span * dg_chart_axis_pos(va, 0, c->stacked ? total + v : v) - off;
            double sub = c->stacked ? thick : thick / ns, at = base + (c->stacked ? 0 : k * sub);
            int who = ns == 1 && (c->colours || c->kinds) ? i : k;
            set_rgb(cr, dg_palette(dg_chart_colour(c, who)));
            /* A zero bar is a visible line on the axis, not a gap. */
            if (len < 2 && !c->stacked && dg_chart_has_value(c, i, k))
                len = 2;
            int glyph = ns == 1 && !c->kinds ? 0 : dg_chart_glyph(c, who);
            if (horiz) {
                cairo_rectangle(cr, left + off, at, len, sub);
                cairo_fill(cr);
                hatch(cr, glyph, left + off, at, len, sub);
            } else {
                cairo_rectangle(cr, at, bottom - off - len, sub, len);
                cairo_fill(cr);
                hatch(cr, glyph, at, bottom - off - len, sub, len);
            }
            total += v;
        }
        if (c->kind == DG_CHART_BOX) {
            double y[5];
            for (int k = 0; k < 5; k++)
                y[k] = bottom - span * dg_chart_axis_pos(va, 0, dg_chart_value(c, i, k));
            double x0 = base + thick * 0.2, x1 = base + thick * 0.8, xm = base + thick / 2;
            set_rgb(cr, dg_palette(dg_chart_colour(c, i)));
            cairo_rectangle(cr, x0, y[3], x1 - x0, y[1] - y[3]);
            cairo_fill(cr);
            set_rgb(cr, 0x000000);
            cairo_set_line_width(cr, 2);
            cairo_move_to(cr, x0, y[2]);
            cairo_line_to(cr, x1, y[2]);
            cairo_move_to(cr, xm, y[1]);
            cairo_line_to(cr, xm, y[0]);
            cairo_move_to(cr, xm, y[3]);
            cairo_line_to(cr, xm, y[4]);
            cairo_move_to(cr, xm - thick * 0.15, y[0]);
            cairo_line_to(cr, xm + thick * 0.15, y[0]);
            cairo_move_to(cr, xm - thick * 0.15, y[4]);
            cairo_line_to(cr, xm + thick * 0.15, y[4]);
            cairo_stroke(cr);
        }
        if (horiz && c->labels) {
            /* A label wider than its column wraps onto a second line when
             * the bar is thick enough for two, and only then is cut. */
            set_rgb(cr, 0x000000);
            text_set(tx, c->labels[i], fs, 0);
            pango_layout_set_width(tx->layout, (int)label_w * PANGO_SCALE);
            pango_layout_set_wrap(tx->layout, PANGO_WRAP_WORD);
            pango_layout_set_height(tx->layout, slot >= 2.2 * label_h ? -2 : -1);
            pango_layout_set_ellipsize(tx->layout, PANGO_ELLIPSIZE_END);
            pango_layout_set_alignment(tx->layout, PANGO_ALIGN_RIGHT);
            double lw_px, lh_px;
            text_size(tx, &lw_px, &lh_px);
            cairo_move_to(cr, left - 10 - label_w, base + thick / 2 - lh_px / 2);
            pango_cairo_show_layout(cr, tx->layout);
            pango_layout_set_width(tx->layout, -1);
            pango_layout_set_height(tx->layout, -1);
            pango_layout_set_ellipsize(tx->layout, PANGO_ELLIPSIZE_NONE);
            pango_layout_set_alignment(tx->layout, PANGO_ALIGN_LEFT);
        }
        if (c->value_labels && bars && (ns == 1 || c->stacked)) {
            char b[32];
            double v = c->stacked ? total : dg_chart_value(c, i, 0);
            dg_chart_format_value(v, c->integer_values, b, sizeof b);
            double len = span * dg_chart_axis_pos(va, 0, v);
            set_rgb(cr, 0x000000);
            text_set(tx, b, fs * 0.9, 0);
            if (horiz)
                text_draw(tx, left + len + 5, base + thick / 2, 0, 0.5);
            else
                text_draw(tx, base + thick / 2, bottom - len - 3, 0.5, 1);
        }
    }
    if ((c->kind == DG_CHART_LINE || c->kind == DG_CHART_POINTS) && c->counts)
        draw_counts(cr, c, ca, left, right, bottom, span);
    if (c->kind == DG_CHART_LINE || c->kind == DG_CHART_POINTS) {
        cairo_set_line_width(cr, 2.5);
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
        for (int k = 0; k < ns; k++) {
            set_rgb(cr, dg_palette(dg_chart_colour(c, k)));
            set_dash(cr, dg_chart_glyph(c, k));
            int have = 0;
            for (int i = 0; i < c->n; i++) {
                if (!dg_chart_has_value(c, i, k))
                    continue; /* left out: the line joins its neighbours */
                double x = left + (right - left) * dg_chart_axis_pos(ca, c->n, c->x ? c->x[i] : i);
                double y = bottom - span * dg_chart_axis_pos(va, 0, dg_chart_value(c, i, k));
                if (c->kind == DG_CHART_POINTS) {
                    cairo_new_sub_path(cr);
                    cairo_arc(cr, x, y, 3.5, 0, 2 * M_PI);
                    cairo_fill(cr);
                } else if (!have) {
                    cairo_move_to(cr, x, y);
                } else {
                    cairo_line_to(cr, x, y);
                }
                have = 1;
            }
            if (c->kind == DG_CHART_LINE)
                cairo_stroke(cr);
            for (int i = 0; i < c->n && c->point_marks && c->kind == DG_CHART_LINE; i++) {
                if (!dg_chart_has_value(c, i, k))
                    continue;
                double x = left + (right - left) * dg_chart_axis_pos(ca, c->n, c->x ? c->x[i] : i);
                double y = bottom - span * dg_chart_axis_pos(va, 0, dg_chart_value(c, i, k));
                mark(cr, dg_chart_glyph(c, k), x, y, 6);
            }
        }
        set_dash(cr, 0);
    }
    /* Markers: dashed lines across the plot, labelled at their end. */
    for (int m = 0; m < c->nmarkers && !horiz; m++) {
        const dg_chart_marker *mk = &c->markers[m];
        double p = dg_chart_axis_pos(mk->on_x ? ca : va, c->n, mk->at);
        if (!(p >= 0 && p <= 1))
            continue;
        set_rgb(cr, 0x444444);
        set_dash(cr, 1);
        cairo_set_line_width(cr, 1.5);
        if (mk->on_x) {
            double x = left + (right - left) * p;
            cairo_move_to(cr, x, top);
            cairo_line_to(cr, x, bottom);
            cairo_stroke(cr);
            set_dash(cr, 0);
            if (mk->label) {
                text_set(tx, mk->label, fs * 0.85, 0);
                text_draw(tx, x - 5, top + 4, 1, 0);
            }
        } else {
            double y = bottom - span * p;
            cairo_move_to(cr, left, y);
            cairo_line_to(cr, right, y);
            cairo_stroke(cr);
            set_dash(cr, 0);
            if (mk->label) {
                text_set(tx, mk->label, fs * 0.85, 0);
                text_draw(tx, left + 6, y - 3, 0, 1);
            }
        }
        set_dash(cr, 0);
    }
    /* The axes' lines. */
    set_rgb(cr, 0x000000);
    cairo_set_line_width(cr, 1.5);
    if (horiz) {
        cairo_move_to(cr, left, top);
        cairo_line_to(cr, left, bottom);
    } else {
        cairo_move_to(cr, left, top);
        cairo_line_to(cr, left, bottom);
        cairo_line_to(cr, right, bottom);
    }
    cairo_stroke(cr);
}

typedef struct membuf {
    unsigned char *p;
    size_t len, cap;
} membuf;

static cairo_status_t write_mem(void *closure, const unsigned char *data, unsigned int len)
{
    membuf *m = closure;
    if (m->len + len > m->cap) {
        m->cap = (m->len + len) * 2;
        m->p = dg_xrealloc(m->p, m->cap);
    }
    memcpy(m->p + m->len, data, len);
    m->len += len;
    return CAIRO_STATUS_SUCCESS;
}

int dg_chart_png(const dg_chart *c, unsigned char **png, size_t *len, dg_err *err)
{
    *png = NULL;
    *len = 0;
    int W = c->width > 0 ? c->width : 1200, H = c->height > 0 ? c->height : 800;
    if (W > 16384 || H > 16384)
        return dg_fail(err, "chart size %dx%d is too large", W, H);
    if (c->kind < DG_CHART_BAR_H || c->kind >= DG_CHART_KINDS)
        return dg_fail(err, "unknown chart kind %d", (int)c->kind);
    if (c->nseries > 1 && !c->series_names)
        return dg_fail(err, "a chart of %d series needs their names", c->nseries);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_status_t cs = cairo_surface_status(s);
    if (cs != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return dg_fail(err, "cairo: %s", cairo_status_to_string(cs));
    }
    cairo_t *cr = cairo_create(s);
    set_rgb(cr, 0xffffff);
    cairo_paint(cr);
    text tx;
    text_init(&tx, cr);
    draw_chart(cr, &tx, c, W, H);
    text_free(&tx);
    cairo_destroy(cr);
    membuf m = {0};
    cairo_status_t st = cairo_surface_write_to_png_stream(s, write_mem, &m);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS) {
        free(m.p);
        return dg_fail(err, "PNG encoding: %s", cairo_status_to_string(st));
    }
    *png = m.p;
    *len = m.len;
    return DG_OK;
}

int dg_chart_save(const dg_chart *c, const char *path, dg_err *err)
{
    unsigned char *png;
    size_t len;
    if (dg_chart_png(c, &png, &len, err) != DG_OK)
        return DG_ERR;
    int rc = dg_write_file_atomic(path, png, len, err);
    free(png);
    return rc;
}

void dg_plot_release(void)
{
    pango_cairo_font_map_set_default(NULL);
    cairo_debug_reset_static_data();
    FcFini();
}

/* ---- for other drawing modules (plot_cairo.h) ----------------------------- */

double dg_plot_text(cairo_t *cr, const char *s, double size, int bold, double x, double y,
                    double ax, double ay)
{
    text tx;
    double w, h;
    text_init(&tx, cr);
    text_set(&tx, s, size, bold);
    text_size(&tx, &w, &h);
    text_draw(&tx, x, y, ax, ay);
    text_free(&tx);
    return w;
}

double dg_plot_text_width(cairo_t *cr, const char *s, double size, int bold)
{
    text tx;
    double w, h;
    text_init(&tx, cr);
    text_set(&tx, s, size, bold);
    text_size(&tx, &w, &h);
    text_free(&tx);
    return w;
}

int dg_plot_surface_png(cairo_surface_t *s, unsigned char **png, size_t *len, dg_err *err)
{
    membuf m = {0};
    cairo_status_t st = cairo_surface_write_to_png_stream(s, write_mem, &m);
    *png = NULL;
    *len = 0;
    if (st != CAIRO_STATUS_SUCCESS) {
        free(m.p);
        return dg_fail(err, "PNG encoding: %s", cairo_status_to_string(st));
    }
    *png = m.p;
    *len = m.len;
    return DG_OK;
}
