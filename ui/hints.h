/* What the frame's bottom line and help overlay say, curses-free (so the UI
 * tests read them): which actions are live in the current view, the key bar
 * fitted to the screen's width, and the help text with its pane sections. */
#ifndef DEMOGRAPHER_UI_HINTS_H
#define DEMOGRAPHER_UI_HINTS_H

#include "model.h"

#include <stddef.h>

/* Whether action id does something in the model's current view: the key bar
 * offers only those (the keys still answer, with a message saying why not). */
int model_action_live(const model *m, int id);

/* The key bar of context ctx: " key name" items of the live actions, then a
 * few global ones, whole items only, within width columns; "? help" (which
 * lists the rest) always ends it. */
void model_key_bar(const model *m, const char *ctx, int width, char *out, size_t cap);

/* What action id would throw away, for a question before it ("the cleaned
 * data, the EDA tables and the sample"), or NULL when it loses nothing: a
 * reload drops what was made from the loaded data; quit drops a running job
 * (running: its title, or NULL) and a training not exported; models-train
 * from the runs view replaces the runs on screen. The screen asks; replay
 * and the : prompt do not. */
const char *model_would_lose(const model *m, int id, const char *running, char *buf,
                             size_t cap);

/* EDA table i's chart label: its chart's number, and a letter when the chart
 * has several tables ("1a", "1b", "2", ..., "10a" to "10d"). Returns buf. */
const char *model_eda_label(const dg_eda *e, int i, char *buf, size_t cap);

#define HELP_MAX_LINES (ACT_COUNT * 4 + 32)
#define HELP_LINE 256

/* The help overlay's lines: per context a blank line, a title, then one line
 * per action. Returns the count. */
int help_lines(char lines[][HELP_LINE], int max);
/* The same wrapped to width cells (each description hangs under its own
 * column): the help overlay shows every word at 80 columns. */
int help_lines_wrapped(char lines[][HELP_LINE], int max, int width);
/* The line of context ctx's title ("sheet", "models", ...), or 0. */
int help_section(const char lines[][HELP_LINE], int n, const char *ctx);
/* The first line from `from` on (wrapping round) holding text, case-insensitively, or -1. */
int help_find(const char lines[][HELP_LINE], int n, int from, const char *text);

#endif
