/* The panes the workbench will have but does not yet: they say so plainly. */
#include "app.h"

#include "text.h"

#include <curses.h>

static void draw(app *a, int top, int height, int width)
{
    (void)height;
    char line[256], buf[1024];
    snprintf(line, sizeof line, "The %s pane is not built yet.", pane_titles[a->m.pane]);
    mvaddstr(top + 1, 2, text_fit(line, width - 4, 0, buf, sizeof buf));
    mvaddstr(top + 3, 2,
             text_fit("Loading and viewing the data is: press 1 for the Load pane.", width - 4, 0,
                      buf, sizeof buf));
}

const pane_ops pane_unbuilt_ops = {
    .built = 0,
    .draw = draw,
};
