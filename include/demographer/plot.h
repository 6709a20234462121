/* Charts drawn with cairo into PNG images, text laid out by pango (so that
 * CJK brand names render, through fontconfig's fallback to a CJK font).
 * A chart is described by a plain spec struct; later chart kinds add a kind
 * and the fields they need, and keep this entry point. */
#ifndef DEMOGRAPHER_PLOT_H
#define DEMOGRAPHER_PLOT_H

#include "demographer/common.h"

typedef enum dg_chart_kind {
    DG_CHART_BAR_H, /* one horizontal bar per label, first label on top */
    DG_CHART_BAR_V, /* one vertical bar per label, first label on the left */
    DG_CHART_LINE,  /* one line per series over the labels, left to right */
    DG_CHART_BOX,   /* one vertical box per label: values hold 5 numbers a label,
                       low whisker, q1, median, q3, high whisker */
} dg_chart_kind;

typedef struct dg_chart {
    dg_chart_kind kind;
    int width, height;        /* pixels; 0: 1200 x 800 */
    const char *title;
    const char *subtitle;     /* one line under the title, or NULL */
    const char *value_label;  /* the axis of the values, e.g. "rows" */
    const char *category_label; /* the axis of the labels, e.g. "phone_brand" */
    int n;                    /* bars */
    const char *const *labels;
    const double *values;     /* >= 0; n * nseries, row-major (label by label) */
    int value_labels;         /* print each bar's value at its end (one series, or
                                 the stack's total) */
    int nseries;              /* 0 or 1: one series; more: grouped or stacked bars,
                                 lines, with a legend */
    const char *const *series_names;
    int stacked;              /* bars: stack the series instead of grouping them */
} dg_chart;

/* The chart as a PNG in memory (*png freed by the caller). */
int dg_chart_png(const dg_chart *c, unsigned char **png, size_t *len, dg_err *err);
/* The chart written to path as a PNG, atomically. */
int dg_chart_save(const dg_chart *c, const char *path, dg_err *err);

/* Releases the font caches pango, cairo and fontconfig keep for the life of
 * the process. Call once at exit, after the last chart (leak checkers
 * otherwise report the caches). */
void dg_plot_release(void);

/* The Okabe-Ito palette (colour-blind safe), as 0xRRGGBB: index i % 8. */
unsigned dg_palette(int i);

#endif
