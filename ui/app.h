/* The workbench's screen: the frame and what the panes share. */
#ifndef DEMOGRAPHER_UI_APP_H
#define DEMOGRAPHER_UI_APP_H

#include "job.h"
#include "model.h"
#include "pane.h"

#include <stdio.h>

/* PROMPT_ARG: the text is the one argument of the action named by arg.
 * PROMPT_FIELD: the text is the value of the MySQL field named by arg (db-set);
 * accepting it offers the next field, then the password.
 * PROMPT_HELP: the text is searched for in the help overlay.
 * PROMPT_CONFIRM: y runs the pending action (its loss said on the status
 * line), any other key keeps everything.
 * PROMPT_WORDS: arg is an action's name and its first arguments; the text's
 * words are the rest (rule-set N, then K=V...).
 * PROMPT_PASSWORD: shown as one '*' per character, handed to the model
 * (model_set_password) and wiped, never an action's argument. */
typedef enum prompt_kind {
    PROMPT_NONE,
    PROMPT_COMMAND,
    PROMPT_DIR,
    PROMPT_SEARCH,
    PROMPT_ARG,
    PROMPT_FIELD,
    PROMPT_PASSWORD,
    PROMPT_HELP,
    PROMPT_WORDS,
    PROMPT_CONFIRM
} prompt_kind;

typedef struct prompt {
    prompt_kind kind;
    char label[128];
    char text[1024];
    char arg[256]; /* PROMPT_SEARCH: the column searched; PROMPT_ARG: the action */
} prompt;

/* Colour pairs (unused under NO_COLOR: attributes only). */
enum { COLOR_BAR = 1, COLOR_STATUS, COLOR_HEADER, COLOR_CURSOR, COLOR_HIST, COLOR_ERROR };

struct app {
    model m;
    job_runner jr;
    const pane_ops *panes[PANE_COUNT];
    int help;         /* the overlay shows: 1 the help, 2 the cursor's row (detail) */
    char detail[16384]; /* help == 2: the row's lines */
    int overlay_w;    /* the overlay's width at the last draw (wrapping) */
    int help_top;     /* its first line shown */
    int help_match;   /* the line the last help search found (-1: none) */
    char help_search[128]; /* ...and its text (an empty search repeats it) */
    prompt pr;
    int quit;
    int pending;      /* PROMPT_CONFIRM: the action asked about... */
    int confirmed;    /* ...and the answer was yes: run it without asking */
    int color;        /* colours on (a colour terminal and no NO_COLOR) */
    int msg_error;    /* the status message is an error */
    int msg_list;     /* the status message is a prompt's Tab candidates */
    int main_rows;    /* rows of the main area at the last draw (pages) */
    FILE *latency;    /* DG_LATENCY_LOG: key-to-screen times, one per line */
    /* Actions waiting for the running job, in the session log's words: the
     * workspace's when the workbench opens, and data actions keyed while a
     * job runs. One runs each time no job is out. */
    char **queue;
    int nqueue, qnext;
    int restoring;    /* the queue holds the workspace's actions (not written meanwhile) */
};

/* An attribute for a colour pair, or the fallback under NO_COLOR. */
int app_attr(const app *a, int pair, int fallback);

/* One cell of a table row on the screen: text, width in columns, aligned
 * right or left. */
typedef struct app_cell {
    const char *s;
    int w, right;
} app_cell;
/* Draws cells side by side (one blank between), fitted to width by display
 * width, at row y, column x. */
void app_put_row(int y, int x, int width, const app_cell *cells, int n);
/* Draws one line of a pane's text at row y, column 1, fitted to width - 2,
 * in attr, after naming keys from the action table: "{eda-compute}" becomes
 * that action's key, so a hint cannot go wrong when a key is rebound. Only
 * for the product's own text: a user's names are drawn as they are. */
void app_put_text(int y, int width, const char *text, int attr);
/* The same line drawn as it is, with no {action} expansion, from column
 * x + 1 (x: where a chart drawn beside another starts): for a line that
 * carries a user's names, a path or a message made elsewhere, where a key is
 * looked up (actions[ACT_...].key) instead, and for text expanded already. */
void app_put_plain(int y, int x, int width, const char *text, int attr);
/* app_put_text over up to max lines (the ones after the first indented by
 * a blank) when it is too wide for one, rather than cut; returns the lines
 * drawn. */
int app_put_text_wrapped(int y, int width, const char *text, int attr, int max);
/* Opens a prompt. */
void app_prompt(app *a, prompt_kind kind, const char *label, const char *text, const char *arg);

/* Opens the masked password prompt (the Load pane's P, and the last step of e). */
void app_password_prompt(app *a);

/* Runs the workbench; returns the process exit status. asset finds the
 * assets' files (main passes the CLI's lookup). */
int app_main(int argc, char **argv, model_asset_fn asset);

/* Sheet views (sheet.c). */
void sheet_draw(app *a, sheet *s, int top, int height, int width);
int sheet_key(app *a, sheet *s, int id, pane_args *args);

#endif
