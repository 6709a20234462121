/* A chart description drawn in a pane: the heading line, then the cells of
 * dg_chart_cells (chart.h) copied to the screen, in the charts' palette when
 * colours are on (glyphs alone under NO_COLOR). */
#ifndef DEMOGRAPHER_UI_CHART_VIEW_H
#define DEMOGRAPHER_UI_CHART_VIEW_H

#include "app.h"

#include "demographer/chart.h"

/* The first colour pair of the palette's eight (app.c sets them up). */
#define COLOR_CHART0 16

/* Draws heading (bold, one line; NULL: none) and c below it in rows
 * [top, top + height), width columns. The heading is drawn as it is
 * (app_put_plain): a caller names its keys as {action} and expands them
 * (action_keys_expand) over the product's words, or looks the key up
 * (actions[ACT_...].key) beside a name from the data. */
void chart_view_draw(app *a, const dg_chart *c, const char *heading, int top, int height,
                     int width);
/* The same from column x0 + 1, width columns wide. */
void chart_view_draw_at(app *a, const dg_chart *c, const char *heading, int top, int height,
                        int x0, int width);
/* The colour pairs of the palette, after start_color(). */
void chart_view_init_colors(void);

#endif
