#include "demographer/plot.h"
#include "plot_cairo.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Okabe & Ito (2008), "Color Universal Design": distinguishable under the
 * common colour-vision deficiencies. Blue first: it reads well on white. */
static const unsigned palette[8] = {0x0072B2, 0xE69F00, 0x009E73, 0xD55E00,
                                    0x56B4E9, 0xCC79A7, 0xF0E442, 0x000000};

unsigned dg_palette(int i)
{
    return palette[((i % 8) + 8) % 8];
}

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

/* A round step for value ticks: 1, 2 or 5 times a power of ten. */
static double nice_step(double max, int ticks)
{
    if (max <= 0)
        return 1;
    double raw = max / ticks, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static void format_value(double v, char *out, size_t cap)
{
    if (fabs(v) >= 1e9)
        snprintf(out, cap, "%.3gG", v / 1e9);
    else if (fabs(v) >= 1e6)
        snprintf(out, cap, "%.3gM", v / 1e6);
    else if (fabs(v) >= 1e4)
        snprintf(out, cap, "%.3gk", v / 1e3);
    else if (v == floor(v))
        snprintf(out, cap, "%.0f", v);
    else
        snprintf(out, cap, "%.3g", v);
}

static int nseries_of(const dg_chart *c)
{
    return c->kind == DG_CHART_BOX ? 5 : c->nseries > 1 ? c->nseries : 1;
}

static double value_at(const dg_chart *c, int i, int s)
{
    double v = c->values[i * nseries_of(c) + s];
    return v > 0 && isfinite(v) ? v : 0;
}

/* Labels along a horizontal axis are thinned so that no more than about 30
 * are written (a week of hours has 168). */
static int label_every(int n)
{
    return n <= 30 ? 1 : (n + 29) / 30;
}

/* The series' names as one centred row of colour keys under the titles, so
 * that no data is ever drawn under it. Returns the height it took. */
static double draw_legend(cairo_t *cr, text *tx, const dg_chart *c, int W, double top, double fs)
{
    int ns = nseries_of(c);
    if (ns < 2 || !c->series_names || c->kind == DG_CHART_BOX)
        return 0;
    double total = 0, h = 0, tw, th, key = fs * 1.4;
    for (int s = 0; s < ns; s++) {
        text_set(tx, c->series_names[s], fs * 0.9, 0);
        text_size(tx, &tw, &th);
        total += key + 6 + tw + 24;
        h = th;
    }
    double x = (W - total) / 2;
    for (int s = 0; s < ns; s++) {
        set_rgb(cr, dg_palette(s));
        cairo_rectangle(cr, x, top + h * 0.2, key, h * 0.6);
        cairo_fill(cr);
        set_rgb(cr, 0x000000);
        text_set(tx, c->series_names[s], fs * 0.9, 0);
        text_draw(tx, x + key + 6, top, 0, 0);
        text_size(tx, &tw, &th);
        x += key + 6 + tw + 24;
    }
    return h + 8;
}

static void draw_bars(cairo_t *cr, text *tx, const dg_chart *c, int W, int H)
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
    top += draw_legend(cr, tx, c, W, top, fs);
    top += 6;
    int ns = nseries_of(c);
    double vmax = 0;
    for (int i = 0; i < c->n; i++) {
        double sum = 0;
        for (int k = 0; k < ns; k++) {
            double v = value_at(c, i, k);
            sum += v;
            if (v > vmax)
                vmax = v;
        }
        if (c->stacked && sum > vmax)
            vmax = sum;
    }
    double step = nice_step(vmax, 5), axis_max = step * ceil(vmax / step);
    if (axis_max <= 0)
        axis_max = 1;
    int horiz = c->kind == DG_CHART_BAR_H, every = horiz ? 1 : label_every(c->n);
    /* Room for the category labels: the widest one, capped at 45% of the width. */
    double label_w = 0, label_h = 0;
    for (int i = 0; i < c->n; i++) {
        text_set(tx, c->labels[i], fs, 0);
        text_size(tx, &tw, &th);
        if (tw > label_w)
            label_w = tw;
        label_h = th;
    }
    if (label_w > W * 0.45)
        label_w = W * 0.45;
    double left = horiz ? 30 + label_w + 10 : 90, right = W - 40;
    double bottom = H - (horiz ? 70 : 60 + (label_w < 120 ? label_w : 120));
    if (c->category_label) {
        set_rgb(cr, 0x000000);
        text_set(tx, c->category_label, fs, 1);
        if (horiz)
            text_draw(tx, 20, top - 4, 0, 1);
        else
            text_draw(tx, (left + right) / 2, H - 10, 0.5, 1);
    }
    /* Grid and value ticks. */
    text_set(tx, "0", fs * 0.9, 0);
    for (double v = 0; v <= axis_max * 1.0001; v += step) {
        char b[32];
        format_value(v, b, sizeof b);
        set_rgb(cr, 0xdddddd);
        cairo_set_line_width(cr, 1);
        if (horiz) {
            double x = left + (right - left) * v / axis_max;
            cairo_move_to(cr, floor(x) + 0.5, top);
            cairo_line_to(cr, floor(x) + 0.5, bottom);
            cairo_stroke(cr);
            set_rgb(cr, 0x333333);
            text_set(tx, b, fs * 0.9, 0);
            text_draw(tx, x, bottom + 6, 0.5, 0);
        } else {
            double y = bottom - (bottom - top) * v / axis_max;
            cairo_move_to(cr, left, floor(y) + 0.5);
            cairo_line_to(cr, right, floor(y) + 0.5);
            cairo_stroke(cr);
            set_rgb(cr, 0x333333);
            text_set(tx, b, fs * 0.9, 0);
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
    double slot = (horiz ? bottom - top : right - left) / n, gap = slot * 0.2;
    double span = horiz ? right - left : bottom - top;
    /* Each label's bars: one, several side by side, several stacked, one
     * line point per series, or a box. */
    for (int i = 0; i < c->n; i++) {
        double base = (horiz ? top : left) + i * slot + gap / 2, thick = slot - gap;
        double total = 0;
        for (int k = 0; k < ns && c->kind != DG_CHART_LINE && c->kind != DG_CHART_BOX; k++) {
            double v = value_at(c, i, k), len = span * v / axis_max;
            double off = c->stacked ? span * total / axis_max : 0;
            double sub = c->stacked ? thick : thick / ns, at = base + (c->stacked ? 0 : k * sub);
            set_rgb(cr, dg_palette(k));
            if (horiz)
                cairo_rectangle(cr, left + off, at, len, sub);
            else
                cairo_rectangle(cr, at, bottom - off - len, sub, len);
            cairo_fill(cr);
            total += v;
        }
        if (c->kind == DG_CHART_BOX) {
            double y[5];
            for (int k = 0; k < 5; k++)
                y[k] = bottom - span * value_at(c, i, k) / axis_max;
            double x0 = base + thick * 0.2, x1 = base + thick * 0.8, xm = base + thick / 2;
            set_rgb(cr, dg_palette(i));
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
        char b[32];
        format_value(c->stacked || ns == 1 ? (c->stacked ? total : value_at(c, i, 0)) : 0, b,
                     sizeof b);
        double len = span * (c->stacked ? total : value_at(c, i, 0)) / axis_max;
        int show_value = c->value_labels && (ns == 1 || c->stacked) &&
                         c->kind != DG_CHART_LINE && c->kind != DG_CHART_BOX;
        if (horiz) {
            set_rgb(cr, 0x000000);
            text_set(tx, c->labels[i], fs, 0);
            pango_layout_set_width(tx->layout, (int)label_w * PANGO_SCALE);
            pango_layout_set_ellipsize(tx->layout, PANGO_ELLIPSIZE_END);
            pango_layout_set_alignment(tx->layout, PANGO_ALIGN_RIGHT);
            cairo_move_to(cr, left - 10 - label_w, base + thick / 2 - label_h / 2);
            pango_cairo_show_layout(cr, tx->layout);
            pango_layout_set_width(tx->layout, -1);
            pango_layout_set_alignment(tx->layout, PANGO_ALIGN_LEFT);
            if (show_value) {
                text_set(tx, b, fs * 0.9, 0);
                text_draw(tx, left + len + 5, base + thick / 2, 0, 0.5);
            }
        } else {
            if (i % every == 0) {
                set_rgb(cr, 0x000000);
                cairo_save(cr);
                cairo_translate(cr, base + thick / 2, bottom + 8);
                cairo_rotate(cr, -M_PI / 4);
                text_set(tx, c->labels[i], fs * 0.9, 0);
                text_draw(tx, 0, 0, 1, 0.5);
                cairo_restore(cr);
            }
            if (show_value) {
                text_set(tx, b, fs * 0.9, 0);
                text_draw(tx, base + thick / 2, bottom - len - 3, 0.5, 1);
            }
        }
    }
    if (c->kind == DG_CHART_LINE) {
        cairo_set_line_width(cr, 2.5);
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
        for (int k = 0; k < ns; k++) {
            set_rgb(cr, dg_palette(k));
            for (int i = 0; i < c->n; i++) {
                double x = left + (i + 0.5) * slot, y = bottom - span * value_at(c, i, k) / axis_max;
                if (i == 0)
                    cairo_move_to(cr, x, y);
                else
                    cairo_line_to(cr, x, y);
            }
            cairo_stroke(cr);
        }
    }
    /* The value axis line over the bars' base. */
    set_rgb(cr, 0x000000);
    cairo_set_line_width(cr, 1.5);
    if (horiz) {
        cairo_move_to(cr, left, top);
        cairo_line_to(cr, left, bottom);
    } else {
        cairo_move_to(cr, left, bottom);
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
    if (c->kind < DG_CHART_BAR_H || c->kind > DG_CHART_BOX)
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
    draw_bars(cr, &tx, c, W, H);
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
