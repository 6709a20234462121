/* The detail view's text: the cursor's row in full, one "field: value" line
 * each (a sheet's row, a cleaning rule with its parameters and effects, a
 * run of the comparison table, a campaign). Curses-free. */
#ifndef DEMOGRAPHER_UI_DETAIL_H
#define DEMOGRAPHER_UI_DETAIL_H

#include "model.h"

#include <stddef.h>

/* Fills out with lines ending in '\n'; DG_ERR with err saying why when the
 * view has no row under a cursor. */
int model_row_detail(model *m, char *out, size_t cap, dg_err *err);
/* What that view lists, for its title: the cursor's row, or on the Geo
 * pane's map the cities labelled on it. */
const char *model_row_detail_title(model *m);

#endif
