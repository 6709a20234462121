/* Chart descriptions (chart.h) of the workbench's own views, built from the
 * model without curses: the PNG a view saves and the chart the pane shows
 * come from the same one. */
#ifndef DEMOGRAPHER_UI_MODEL_CHARTS_H
#define DEMOGRAPHER_UI_MODEL_CHARTS_H

#include "model.h"

#include "demographer/chart.h"

#define FREQ_CHART_MAX 20
/* The palette colour of a one-series view (sky blue, as the report's
 * one-quantity charts): not blue, which is the male series' everywhere. */
#define COLOUR_ONE_QUANTITY 4

/* A frequency sheet's chart: its FREQ_CHART_MAX most frequent values as
 * horizontal bars of counts. */
typedef struct freq_chart {
    dg_chart chart; /* points into the fields below */
    char text[FREQ_CHART_MAX][64];
    const char *labels[FREQ_CHART_MAX];
    double values[FREQ_CHART_MAX];
    int colours[FREQ_CHART_MAX]; /* one quantity: one colour, not gender's blue */
    char title[128], sub[160];
} freq_chart;

void freq_chart_of(const model *m, const sheet *s, freq_chart *out);

#endif
