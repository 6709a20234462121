/* Charts drawn with cairo into PNG images, text laid out by pango (so that
 * CJK brand names render, through fontconfig's fallback to a CJK font).
 * A chart is described by dg_chart (chart.h), which the terminal renderer
 * draws too, from the same axes. */
#ifndef DEMOGRAPHER_PLOT_H
#define DEMOGRAPHER_PLOT_H

#include "demographer/chart.h"
#include "demographer/common.h"

/* The chart as a PNG in memory (*png freed by the caller). */
int dg_chart_png(const dg_chart *c, unsigned char **png, size_t *len, dg_err *err);
/* The chart written to path as a PNG, atomically. */
int dg_chart_save(const dg_chart *c, const char *path, dg_err *err);

/* Releases the font caches pango, cairo and fontconfig keep for the life of
 * the process. Call once at exit, after the last chart (leak checkers
 * otherwise report the caches). */
void dg_plot_release(void);

#endif
