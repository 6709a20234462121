/* plot.c's pieces for other drawing modules of the core (maps): pango text
 * with the charts' font and CJK fallback, and a cairo surface as PNG bytes.
 * Private to the library: the public plot.h stays free of cairo types. */
#ifndef DEMOGRAPHER_PLOT_CAIRO_H
#define DEMOGRAPHER_PLOT_CAIRO_H

#include "demographer/common.h"

#include <cairo.h>

/* Draws s in the current source colour, size pixels high (bold when bold),
 * with its box's anchor (ax, ay in 0..1 of its width and height) at x, y.
 * Returns the text's width in pixels. */
double dg_plot_text(cairo_t *cr, const char *s, double size, int bold, double x, double y,
                    double ax, double ay);
/* The width of s as dg_plot_text would draw it. */
double dg_plot_text_width(cairo_t *cr, const char *s, double size, int bold);
/* The surface encoded as PNG into *png (freed by the caller). */
int dg_plot_surface_png(cairo_surface_t *s, unsigned char **png, size_t *len, dg_err *err);

#endif
