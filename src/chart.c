/* What both chart renderers share (chart.h): the palette and the axes. */
#include "demographer/chart.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Okabe & Ito (2008), "Color Universal Design": distinguishable under the
 * common colour-vision deficiencies. Blue first: it reads well on white. */
static const unsigned palette[8] = {0x0072B2, 0xE69F00, 0x009E73, 0xD55E00,
                                    0x56B4E9, 0xCC79A7, 0xF0E442, 0x000000};

unsigned dg_palette(int i)
{
    return palette[((i % 8) + 8) % 8];
}

dg_series_kind dg_chart_kind_of(const dg_chart *c, int i)
{
    return c->kinds ? c->kinds[i] : DG_SERIES_PLAIN;
}

/* The colours of series that are no gender: the palette without the two
 * the genders own, so that a chart of one plain series (events per hour)
 * does not read as a chart of men. Sky blue first. */
static const int plain_colours[6] = {4, 1, 2, 5, 6, 7};

int dg_chart_colour(const dg_chart *c, int i)
{
    switch (dg_chart_kind_of(c, i)) {
    case DG_SERIES_MALE: return DG_COLOUR_MALE;
    case DG_SERIES_FEMALE: return DG_COLOUR_FEMALE;
    default: return c->colours ? c->colours[i] : plain_colours[((i % 6) + 6) % 6];
    }
}

int dg_chart_glyph(const dg_chart *c, int k)
{
    switch (dg_chart_kind_of(c, k)) {
    case DG_SERIES_MALE: return 0;
    case DG_SERIES_FEMALE: return 2;
    default: return k;
    }
}

int dg_chart_nseries(const dg_chart *c)
{
    return c->kind == DG_CHART_BOX ? 5 : c->nseries > 1 ? c->nseries : 1;
}

double dg_chart_value(const dg_chart *c, int i, int s)
{
    double v = c->values[(size_t)i * dg_chart_nseries(c) + s];
    if (!isfinite(v))
        return 0;
    return v < 0 && c->kind != DG_CHART_LINE && c->kind != DG_CHART_POINTS ? 0 : v;
}

int dg_chart_has_value(const dg_chart *c, int i, int s)
{
    double v = c->values[(size_t)i * dg_chart_nseries(c) + s];
    return isfinite(v) && (!c->log_values || v > 0);
}

/* Counts below a million in full with thousands separators (dg_format_count),
 * larger ones in M and G: the same "9,467" as every other count the tool writes. */
void dg_chart_format_value(double v, int integer, char *out, size_t cap)
{
    if (fabs(v) >= 1e9)
        snprintf(out, cap, "%.3gG", v / 1e9);
    else if (fabs(v) >= 1e6)
        snprintf(out, cap, "%.3gM", v / 1e6);
    else if (integer || v == floor(v) || fabs(v) >= 1e4) {
        char n[32];
        dg_format_count((unsigned long long)llround(fabs(v)), n, sizeof n);
        snprintf(out, cap, "%s%s", v < 0 && llround(v) != 0 ? "-" : "", n);
    } else
        snprintf(out, cap, "%.3g", v);
}

/* A round step for about `ticks` ticks over span: 1, 2 or 5 times a power of ten. */
static double nice_step(double span, int ticks)
{
    if (!(span > 0))
        return 1;
    double raw = span / ticks, p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/* Ticks at round steps covering [lo, hi], the range widened to them. */
static void linear_ticks(dg_chart_axis *a, double lo, double hi, int integer)
{
    if (!(hi > lo)) {
        hi = lo + 1;
    }
    double step = nice_step(hi - lo, 5);
    if (integer && step < 1)
        step = 1;
    double t0 = floor(lo / step + 1e-9) * step, t1 = ceil(hi / step - 1e-9) * step;
    a->lo = t0;
    a->hi = t1 > t0 ? t1 : t0 + step;
    a->nticks = 0;
    for (int k = 0; a->nticks < DG_CHART_MAX_TICKS; k++) {
        double v = t0 + k * step;
        if (v > a->hi + step * 1e-6)
            break;
        if (fabs(v) < step * 1e-9)
            v = 0;
        a->tick[a->nticks] = v;
        dg_chart_format_value(v, integer, a->label[a->nticks], sizeof a->label[0]);
        a->nticks++;
    }
}

/* Ticks of a log10 axis over [lo, hi] (lo > 0): the axis widened to the
 * powers of ten around the data, a tick at each; with fewer than three
 * powers, 2 and 5 x 10^k between them as well. */
static void log_ticks(dg_chart_axis *a, double lo, double hi)
{
    if (!(lo > 0))
        lo = 1;
    if (!(hi > lo))
        hi = lo * 10;
    int e0 = (int)floor(log10(lo) + 1e-9), e1 = (int)ceil(log10(hi) - 1e-9);
    if (e1 <= e0)
        e1 = e0 + 1;
    a->lo = pow(10, e0);
    a->hi = pow(10, e1);
    int with_25 = e1 - e0 < 3;
    a->nticks = 0;
    for (int e = e0; e <= e1 && a->nticks < DG_CHART_MAX_TICKS; e++)
        for (int m = 0; m < (with_25 && e < e1 ? 3 : 1) && a->nticks < DG_CHART_MAX_TICKS; m++) {
            double v = (m == 0 ? 1 : m == 1 ? 2 : 5) * pow(10, e);
            a->tick[a->nticks] = v;
            dg_chart_format_value(v, 0, a->label[a->nticks], sizeof a->label[0]);
            a->nticks++;
        }
}

void dg_chart_axes_of(const dg_chart *c, dg_chart_axes *ax)
{
    memset(ax, 0, sizeof *ax);
    int ns = dg_chart_nseries(c);
    /* The value range: bars from 0, with stacks summed. */
    double vmin = INFINITY, vmax = -INFINITY;
    for (int i = 0; i < c->n; i++) {
        double sum = 0;
        for (int k = 0; k < ns; k++) {
            if (!dg_chart_has_value(c, i, k))
                continue;
            double v = dg_chart_value(c, i, k);
            sum += v;
            vmin = fmin(vmin, v);
            vmax = fmax(vmax, v);
        }
        if (c->stacked)
            vmax = fmax(vmax, sum);
    }
    for (int m = 0; m < c->nmarkers; m++)
        if (!c->markers[m].on_x && isfinite(c->markers[m].at) &&
            (!c->log_values || c->markers[m].at > 0)) {
            vmin = fmin(vmin, c->markers[m].at);
            vmax = fmax(vmax, c->markers[m].at);
        }
    if (!isfinite(vmin))
        vmin = 0, vmax = 1;
    int from_zero = c->log_values || c->kind == DG_CHART_BOX ? 0
                    : c->kind != DG_CHART_LINE && c->kind != DG_CHART_POINTS ? 1
                                                                             : vmin >= 0;
    if (from_zero && vmin > 0)
        vmin = 0;
    ax->val.numeric = 1;
    if (c->log_values) {
        ax->val.log = 1;
        log_ticks(&ax->val, vmin, vmax);
    } else {
        linear_ticks(&ax->val, vmin, vmax, c->integer_values);
    }
    /* Along the labels: numeric when x is given, else one slot per label. */
    if (c->x && c->n > 0) {
        double x0 = c->x[0], x1 = c->x[c->n - 1];
        for (int i = 0; i < c->n; i++)
            x0 = fmin(x0, c->x[i]), x1 = fmax(x1, c->x[i]);
        if (c->x_from_zero && x0 > 0)
            x0 = 0;
        ax->cat.numeric = 1;
        linear_ticks(&ax->cat, x0, x1, 0);
    } else {
        int every = c->n <= 30 ? 1 : (c->n + 29) / 30;
        ax->cat.lo = 0;
        ax->cat.hi = c->n;
        for (int i = 0; i < c->n && ax->cat.nticks < DG_CHART_MAX_TICKS; i += every)
            ax->cat.tick[ax->cat.nticks++] = i;
    }
}

double dg_chart_axis_pos(const dg_chart_axis *a, int n, double v)
{
    if (!a->numeric)
        return n > 0 ? (v + 0.5) / n : 0.5;
    if (a->log) {
        double l0 = log10(a->lo), l1 = log10(a->hi);
        return l1 > l0 && v > 0 ? (log10(v) - l0) / (l1 - l0) : 0;
    }
    return a->hi > a->lo ? (v - a->lo) / (a->hi - a->lo) : 0;
}

double dg_chart_counts_top(const dg_chart *c)
{
    double top = 0;
    int ns = dg_chart_nseries(c);
    for (int i = 0; c->counts && i < c->n; i++)
        for (int k = 0; k < ns; k++) {
            double v = c->counts[(size_t)i * ns + k];
            if (isfinite(v) && v > top)
                top = v;
        }
    return top;
}

void dg_chart_counts_text(const dg_chart *c, char *out, size_t cap)
{
    char n[32];
    dg_format_count((unsigned long long)llround(dg_chart_counts_top(c)), n, sizeof n);
    snprintf(out, cap, "%s (tallest bar %s)", c->counts_label ? c->counts_label : "count", n);
}
