/* One chart description, two renderers: the cairo PNG (plot.h) and a grid of
 * terminal cells (below), so the workbench shows in its panes the charts the
 * pipeline saves. Both renderers read the axes from dg_chart_axes(): the same
 * ticks in the same order, the same palette index per series. No cairo and
 * no curses here: the cell grid is plain data a pane copies to the screen. */
#ifndef DEMOGRAPHER_CHART_H
#define DEMOGRAPHER_CHART_H

#include "demographer/common.h"

#include <stdint.h>

typedef enum dg_chart_kind {
    DG_CHART_BAR_H,     /* one horizontal bar per label, first label on top */
    DG_CHART_BAR_V,     /* one vertical bar per label, first label on the left */
    DG_CHART_LINE,      /* one line per series over the labels (or over x), left to right */
    DG_CHART_BOX,       /* one vertical box per label: values hold 5 numbers a label,
                           low whisker, q1, median, q3, high whisker */
    DG_CHART_POINTS,    /* one dot per label and series, over the labels (or over x) */
    DG_CHART_HISTOGRAM, /* vertical bars with no gap between them (bins) */
    DG_CHART_KINDS
} dg_chart_kind;

/* What a series is, when the chart must draw it the same way everywhere:
 * a gender has one colour and one glyph (bar fill, line dash, point mark)
 * in every chart, decided here and never by the series' name. */
typedef enum dg_series_kind {
    DG_SERIES_PLAIN = 0, /* by its index: palette colour, fill, dash */
    DG_SERIES_MALE,      /* blue, solid fill, solid line, round marks */
    DG_SERIES_FEMALE,    /* vermilion, shaded fill, dotted line, square marks */
} dg_series_kind;

/* A straight line across the plot at a value of one axis, with a label:
 * the knee and the current eps of a k-distance curve. */
typedef struct dg_chart_marker {
    int on_x;           /* 1: a vertical line at x = at; 0: a horizontal one at value at */
    double at;
    const char *label;
} dg_chart_marker;

typedef struct dg_chart {
    dg_chart_kind kind;
    int width, height;        /* PNG pixels; 0: 1200 x 800 */
    const char *title;
    const char *subtitle;     /* one line under the title, or NULL */
    const char *value_label;  /* the axis of the values, e.g. "rows" */
    const char *category_label; /* the axis of the labels (or of x), e.g. "phone_brand" */
    int n;                    /* labels (bars, points of a line) */
    const char *const *labels;
    const double *values;     /* n * nseries, row-major (label by label); bars >= 0;
                                 lines and points: NaN is no point (left out,
                                 the line joins its neighbours) */
    int value_labels;         /* print each bar's value at its end (one series, or
                                 the stack's total) */
    int nseries;              /* 0 or 1: one series; more: grouped or stacked bars,
                                 lines, with a legend */
    const char *const *series_names;
    int stacked;              /* bars: stack the series instead of grouping them */
    /* Optional, zero for the defaults: */
    const double *x;          /* lines and points: n numeric x values, ascending; the
                                 x axis is then numeric with computed ticks, and labels
                                 may be NULL */
    int x_from_zero;          /* numeric x: the axis starts at 0 (else at the data) */
    int log_values;           /* a true log axis: v at log10(v), ticks at 1, 10, 100...
                                 (or 1, 2, 5 x 10^k over a short range); values
                                 <= 0 are not drawn */
    int point_marks;          /* lines: a mark on every point (each series its shape) */
    int integer_values;       /* values are counts: labels without decimals */
    const int *colours;       /* palette index per series (a box plot or a one-series
                                 bar chart: per label); NULL: the series' index */
    const dg_series_kind *kinds; /* per series (per label where colours are): a
                                 gender's colour and glyph win over colours; NULL:
                                 all plain */
    /* Lines over numeric x: a count per point and series (n * nseries, NaN or
     * 0 for none) drawn as bars along the bottom of the plot, in the series'
     * colours, with counts_label naming them ("devices in the bin"). */
    const double *counts;
    const char *counts_label;
    int nmarkers;
    const dg_chart_marker *markers;
    int scroll_to;            /* text cells of horizontal bars: the label kept in view
                                 when not all fit (the screen scrolls them); 0: the first */
} dg_chart;

/* ---- palette ---------------------------------------------------------------- */

/* The Okabe-Ito palette (colour-blind safe), as 0xRRGGBB: index i % 8. */
unsigned dg_palette(int i);

/* Gender has one colour in every chart and map. */
#define DG_COLOUR_MALE 0   /* blue */
#define DG_COLOUR_FEMALE 3 /* vermilion */
/* The palette index of series (or label) i of c: its gender's colour, else
 * colours[i], else the i-th of the palette's colours that no gender owns. */
int dg_chart_colour(const dg_chart *c, int i);
/* The kind of series (or label) i of c. */
dg_series_kind dg_chart_kind_of(const dg_chart *c, int i);
/* Which glyph series k of c draws with (an index into the renderers' fills,
 * dashes and marks): a gender's own (male 0, female 2), else k. */
int dg_chart_glyph(const dg_chart *c, int k);

/* ---- axes ---------------------------------------------------------------------- */

#define DG_CHART_MAX_TICKS 32

typedef struct dg_chart_axis {
    int numeric;        /* 0: categorical, one slot per label (ticks are label indices) */
    int log;            /* numeric: positions are log10(v), lo > 0 */
    double lo, hi;      /* the range shown, in data units */
    int nticks;
    double tick[DG_CHART_MAX_TICKS];    /* value (numeric) or label index (categorical) */
    char label[DG_CHART_MAX_TICKS][24]; /* the tick's text (categorical: empty, use the label) */
} dg_chart_axis;

typedef struct dg_chart_axes {
    dg_chart_axis cat;  /* along the labels (or x): horizontal, vertical for BAR_H */
    dg_chart_axis val;  /* along the values */
} dg_chart_axes;

/* The axes of c, computed once for both renderers: value ticks at round
 * steps (1, 2, 5 x 10^k; on a log axis the powers of ten, with 2 and 5
 * between them when there are few), the category axis'
 * labels thinned to at most about 30 (a renderer with less room shows every
 * k-th of these, never others). */
void dg_chart_axes_of(const dg_chart *c, dg_chart_axes *ax);
/* Where v lies along the axis, 0 at lo and 1 at hi (categorical: the middle
 * of slot v). */
double dg_chart_axis_pos(const dg_chart_axis *a, int n, double v);
/* A value as the charts write it: "266", "9,467", "1.53M", "0.25". */
void dg_chart_format_value(double v, int integer, char *out, size_t cap);
/* The number of series c draws (5 for a box plot's five numbers). */
int dg_chart_nseries(const dg_chart *c);
/* Value s of label i, 0 when not finite (and, but on a log axis, when < 0). */
double dg_chart_value(const dg_chart *c, int i, int s);
/* Whether value s of label i is drawn: finite, and > 0 on a log axis. Lines
 * and points leave the others out. */
int dg_chart_has_value(const dg_chart *c, int i, int s);

/* The largest of c's counts (0 without any), and the counts' key as both
 * renderers write it: "devices in the bin (tallest bar 700)". */
double dg_chart_counts_top(const dg_chart *c);
void dg_chart_counts_text(const dg_chart *c, char *out, size_t cap);

/* ---- terminal cells ------------------------------------------------------------ */

enum { DG_CELL_BOLD = 1, DG_CELL_DIM = 2, DG_CELL_REVERSE = 4 };

typedef struct dg_cell {
    uint32_t ch;        /* a Unicode code point (' ' when empty) */
    int8_t colour;      /* palette index, or -1 for the terminal's default */
    uint8_t style;      /* DG_CELL_* bits */
} dg_cell;

typedef struct dg_cell_grid {
    int cols, rows;
    dg_cell *cells;     /* rows * cols, row-major */
} dg_cell_grid;

/* Draws c into a cols x rows grid (freed with dg_cell_grid_free): legend,
 * value axis with tick labels, the bars (block characters, eighths along
 * their length), lines and points (braille), boxes, markers, the category
 * axis with its labels and the axis names. Series differ by colour and also
 * by glyph (bar fills █ ▓ ▒ ░, line dashes), so the chart reads under
 * NO_COLOR. The title is the pane's to show. Returns DG_ERR when the grid is
 * too small to hold a chart (err says what fits). */
int dg_chart_cells(const dg_chart *c, int cols, int rows, dg_cell_grid *g, dg_err *err);
void dg_cell_grid_free(dg_cell_grid *g);
/* Row r of the grid as UTF-8 (trailing blanks kept), for tests and logs. */
void dg_cell_grid_row(const dg_cell_grid *g, int r, char *out, size_t cap);

#endif
