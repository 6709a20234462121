/* The Geo pane's DBSCAN views, drawn and keyed for pane_geo.c. */
#ifndef DEMOGRAPHER_UI_PANE_DBSCAN_H
#define DEMOGRAPHER_UI_PANE_DBSCAN_H

#include "app.h"

/* Draws the DBSCAN view shown (a->m.dbs.view, not the map). */
void pane_dbscan_draw(app *a, int top, int height, int width);
/* Fills the arguments of a DBSCAN action started by a key (as pane_ops.key). */
int pane_dbscan_key(app *a, int id, pane_args *args);

#endif
