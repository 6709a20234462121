/* A pane of the workbench: a module that fills this table of operations.
 * The frame (app.c) owns the pane bar, status line, prompt and help overlay;
 * a pane draws its main area and turns key-started actions into actions with
 * arguments (the column under the cursor, the rows a page holds), or opens a
 * prompt for them. Saving a PNG is the model's (replay saves without a
 * screen): see the per-pane savers in model.c. */
#ifndef DEMOGRAPHER_UI_PANE_H
#define DEMOGRAPHER_UI_PANE_H

#include "model.h"

typedef struct app app;

#define PANE_MAX_ARGS 4
#define PANE_ARG_LEN 1024

typedef struct pane_args {
    int argc;
    char argv[PANE_MAX_ARGS][PANE_ARG_LEN];
} pane_args;

typedef struct pane_ops {
    void (*init)(app *a);
    /* Draws rows [top, top+height) of the screen, width columns. */
    void (*draw)(app *a, int top, int height, int width);
    /* Fills the arguments of action id started by a key, from the cursor.
     * Returns 1 to run it now, 0 when it opened a prompt (or there is nothing
     * to do), with a message left in the model. */
    int (*key)(app *a, int id, pane_args *args);
    void (*free)(app *a);
} pane_ops;

/* Each pane's operations, named in panes.def. */
#define PANE(id, name, title, key, ops) extern const pane_ops ops;
#include "panes.def"
#undef PANE

#endif
