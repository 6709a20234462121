/* The workbench frame: the main loop, pane bar, status line, key hints,
 * prompt and help overlay. Keys become actions only through actions.def; the
 * panes draw the main area and fill in actions' arguments from the cursor. */
#include "app.h"
#include "chart_view.h"

#include "detail.h"
#include "hints.h"
#include "workspace.h"
#include "text.h"

#include <curses.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_USAGE 2

void app_put_row(int y, int x, int width, const app_cell *cells, int n)
{
    char buf[4096], line[8192] = "";
    size_t o = 0;
    for (int i = 0; i < n && o + 1024 < sizeof line; i++) {
        text_fit(cells[i].s, cells[i].w, cells[i].right, buf, sizeof buf);
        o += (size_t)snprintf(line + o, sizeof line - o, "%s%s", i ? " " : "", buf);
    }
    mvaddstr(y, x, text_fit(line, width, 0, buf, sizeof buf));
}

void app_put_plain(int y, int x, int width, const char *text, int attr)
{
    char buf[4096];
    attrset(attr);
    mvaddstr(y, x + 1, text_fit(text, width - 2, 0, buf, sizeof buf));
    attrset(A_NORMAL);
}

void app_put_text(int y, int width, const char *text, int attr)
{
    char expanded[2048];
    snprintf(expanded, sizeof expanded, "%s", text);
    action_keys_expand(expanded, sizeof expanded);
    app_put_plain(y, 0, width, expanded, attr);
}

int app_put_text_wrapped(int y, int width, const char *text, int attr, int max)
{
    char expanded[2048], lines[8][256];
    snprintf(expanded, sizeof expanded, "%s", text);
    action_keys_expand(expanded, sizeof expanded);
    if (max > 8)
        max = 8;
    int n = max > 1 ? text_wrap(expanded, width - 2, 1, lines, max) : 1;
    if (n < 2) {
        app_put_plain(y, 0, width, expanded, attr);
        return 1;
    }
    /* The last line holds the rest (cut only past max lines). */
    const char *rest = expanded;
    for (int i = 0; i < n - 1; i++) {
        app_put_plain(y + i, 0, width, lines[i], attr);
        rest = text_after_line(rest, lines[i] + (i ? 1 : 0));
    }
    app_put_plain(y + n - 1, 1, width - 1, rest, attr);
    return n;
}

int app_attr(const app *a, int pair, int fallback)
{
    return a->color ? (int)(COLOR_PAIR(pair) | ((unsigned)fallback & A_BOLD)) : fallback;
}

void app_prompt(app *a, prompt_kind kind, const char *label, const char *text, const char *arg)
{
    a->pr.kind = kind;
    snprintf(a->pr.label, sizeof a->pr.label, "%s", label);
    snprintf(a->pr.text, sizeof a->pr.text, "%s", text ? text : "");
    snprintf(a->pr.arg, sizeof a->pr.arg, "%s", arg ? arg : "");
}

void app_password_prompt(app *a)
{
    const dg_mysql_config *c = &a->m.db.mysql;
    const dg_ch_config *h = &a->m.db.clickhouse;
    int ch = a->m.src == SRC_CH_PUSHDOWN;
    const char *user = ch ? h->user : c->user;
    char label[128];
    snprintf(label, sizeof label, "password for %.30s@%.40s (not shown, never logged): ",
             user[0] ? user : "(no user)", ch ? h->url : c->host);
    app_prompt(a, PROMPT_PASSWORD, label, "", NULL);
}

static void set_error(app *a, const char *msg)
{
    snprintf(a->m.msg, sizeof a->m.msg, "%s", msg);
    a->msg_error = 1;
}

/* --- drawing ------------------------------------------------------------ */

/* Writes s fitted to exactly width cells at y, x. */
static void put(int y, int x, const char *s, int width, int right)
{
    char buf[4096];
    if (width <= 0)
        return;
    mvaddstr(y, x, text_fit(s, width, right, buf, sizeof buf));
}

static void draw_bar(app *a, int width)
{
    attrset(app_attr(a, COLOR_BAR, A_REVERSE));
    put(0, 0, "", width, 0);
    int x = 1;
    for (int p = 0; p < PANE_COUNT && x < width; p++) {
        char label[64];
        snprintf(label, sizeof label, " %s %s ", actions[ACT_PANE_LOAD + p].key, pane_titles[p]);
        int w = text_width(label);
        if (x + w > width)
            break;
        attrset(p == (int)a->m.pane ? (int)(A_BOLD | A_UNDERLINE) | app_attr(a, COLOR_BAR, A_REVERSE)
                                    : app_attr(a, COLOR_BAR, A_REVERSE));
        put(0, x, label, w, 0);
        x += w + 1;
    }
    attrset(app_attr(a, COLOR_BAR, A_REVERSE));
    const char *right = "? help";
    if (x + 8 < width)
        put(0, width - 7, right, 6, 0);
    attrset(A_NORMAL);
}

static int queue_left(const app *a);

/* The status line at y; a message too wide for it goes on over the key
 * line below when room is 2 (no prompt there), rather than lose its end.
 * Returns the lines drawn. */
static int draw_status(app *a, int y, int width, int room)
{
    char line[2048];
    if (job_running(&a->jr)) {
        job_progress p;
        job_peek(&a->jr, &p);
        double now = dg_now();
        double frac = p.total > 0 ? p.done / p.total : 0;
        if (frac > 1)
            frac = 1;
        char done[32] = "", rate[32] = "", eta[32] = "", bar[64];
        int wide = width >= 100, bw = wide ? 30 : 10;
        for (int i = 0; i < bw; i++)
            bar[i] = i < (int)(frac * bw) ? '#' : '.';
        bar[bw] = '\0';
        /* An estimated cost (training's fits weighed by what each is
         * expected to cost) has a fraction and an ETA but no amount or
         * rate worth reading. */
        int counted = p.unit[0] && strcmp(p.unit, DG_UNIT_WORK) != 0;
        if (p.unit[0]) {
            /* The rate and ETA of the recent pace (dg_pace_eta): the first
             * units' pace says little of the last ones'. */
            double pace, left;
            int known = dg_pace_eta(&p.pace, now, p.total, &pace, &left);
            dg_format_amount(p.done, p.unit, done, sizeof done);
            dg_format_amount(known ? pace : now > p.started ? p.done / (now - p.started) : 0, p.unit,
                             rate, sizeof rate);
            if (known && p.total > 0 && !isnan(left))
                snprintf(eta, sizeof eta, " ETA %.0fs", ceil(left));
        }
        /* The bar, the amount, the time and the way out keep their room;
         * a narrow terminal cuts the job's title and stage instead. */
        char amount[128] = "", left[1024], right[256];
        if (counted)
            snprintf(amount, sizeof amount, " %s%s%s/s", wide ? done : "", wide ? " " : "", rate);
        char queued[32] = "";
        if (queue_left(a) && !a->restoring)
            snprintf(queued, sizeof queued, "%d queued; ", queue_left(a));
        snprintf(left, sizeof left, " %s%s%s%s%s", queued, p.cancelling ? "cancelling " : "",
                 p.title, p.stage[0] ? ": " : "", p.stage);
        snprintf(right, sizeof right, " %3.0f%% [%s]%s  %.1fs%s  %s ", frac * 100, bar, amount,
                 now - p.started, eta, p.cancelling ? "stopping" : "Esc cancels");
        /* The rate gives its room to a title that would be cut
         * ("training on the cleaned data" was "training on the cleane…" at 80). */
        if (amount[0] && text_width(left) > width - text_width(right))
            snprintf(right, sizeof right, " %3.0f%% [%s]  %.1fs%s  %s ", frac * 100, bar,
                     now - p.started, eta, p.cancelling ? "stopping" : "Esc cancels");
        int rw = text_width(right);
        if (rw > width - 10)
            rw = width - 10;
        attrset(app_attr(a, COLOR_STATUS, A_REVERSE));
        put(y, 0, left, width - rw, 0);
        put(y, width - rw, right, rw, 0);
        attrset(A_NORMAL);
        return 1;
    }
    attrset(a->msg_error ? app_attr(a, COLOR_ERROR, A_REVERSE | A_BOLD)
                         : app_attr(a, COLOR_STATUS, A_REVERSE));
    char lines[2][256];
    int n = room > 1 && text_width(a->m.msg) + 1 > width
                ? text_wrap(a->m.msg, width - 2, 0, lines, 2)
                : 1;
    if (n == 2) {
        snprintf(line, sizeof line, " %s", lines[0]);
        put(y, 0, line, width, 0);
        snprintf(line, sizeof line, " %s", text_after_line(a->m.msg, lines[0]));
        put(y + 1, 0, line, width, 0);
    } else {
        snprintf(line, sizeof line, " %s", a->m.msg);
        put(y, 0, line, width, 0);
    }
    attrset(A_NORMAL);
    return n;
}

/* The bottom line: the prompt, or the live keys of the context, from the
 * action table. */
static void draw_hints(app *a, int y, int width)
{
    if (a->pr.kind) {
        char line[1200];
        if (a->pr.kind == PROMPT_PASSWORD) {
            /* One star per character typed, never the characters. */
            snprintf(line, sizeof line, "%s", a->pr.label);
            size_t o = strlen(line);
            for (const char *p = a->pr.text; *p && o + 1 < sizeof line; p++)
                if ((*p & 0xC0) != 0x80)
                    line[o++] = '*';
            line[o] = '\0';
        } else {
            snprintf(line, sizeof line, "%s%s", a->pr.label, a->pr.text);
        }
        int w = text_width(line);
        /* Keep the end of a long text (the part being typed) in view. */
        const char *show = line;
        while (w >= width && *show) {
            show++;
            while ((*show & 0xC0) == 0x80)
                show++;
            w = text_width(show);
        }
        put(y, 0, show, width, 0);
        move(y, w < width ? w : width - 1);
        curs_set(1);
        return;
    }
    curs_set(0);
    char line[1024];
    model_key_bar(&a->m, a->help ? "help" : model_context(&a->m), width, line, sizeof line);
    attrset(A_DIM);
    put(y, 0, line, width, 0);
    attrset(A_NORMAL);
}

/* The overlay's lines: the help, or the detail view's text wrapped to its width. */
static int overlay_lines(app *a, char lines[][HELP_LINE], int max)
{
    if (a->help != 2)
        return help_lines_wrapped(lines, max, a->overlay_w > 10 ? a->overlay_w - 1 : 79);
    int n = 0;
    const char *p = a->detail;
    while (*p && n < max) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char one[2048];
        snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one ? len : sizeof one - 1), p);
        /* The first line is the title; the fields' values hang under them. */
        n += text_wrap(one, a->overlay_w > 10 ? a->overlay_w - 1 : 70, 4, lines + n, max - n);
        p += len + (nl ? 1 : 0);
    }
    return n;
}

static void draw_help(app *a, int top, int height, int width)
{
    static char lines[HELP_MAX_LINES][HELP_LINE];
    int x0 = width > 84 ? (width - 80) / 2 : 1, w = width > 84 ? 80 : width - 2;
    a->overlay_w = w;
    int n = overlay_lines(a, lines, HELP_MAX_LINES);
    int rows = height - 2;
    if (a->help_top > n - rows)
        a->help_top = n - rows > 0 ? n - rows : 0;
    if (a->help_top < 0)
        a->help_top = 0;
    char head[256];
    if (a->help == 2)
        snprintf(head, sizeof head, " %s - {help-close} closes, arrows scroll, {help-search} "
                                    "searches",
                 model_row_detail_title(&a->m));
    else
        snprintf(head, sizeof head, "%s", " Keys - {help} or {help-close} closes, arrows scroll, "
                                          "{help-search} searches; {command} runs an action");
    action_keys_expand(head, sizeof head);
    attrset(app_attr(a, COLOR_HEADER, A_REVERSE));
    put(top, x0, head, w, 0);
    attrset(A_NORMAL);
    for (int r = 0; r < rows; r++) {
        int i = a->help_top + r;
        const char *s = i < n ? lines[i] : "";
        attrset((i < n && s[0] && s[0] != ' ' && (a->help != 2 || i == 0) ? A_BOLD : A_NORMAL) |
                (i == a->help_match ? A_REVERSE : 0));
        put(top + 1 + r, x0, s, w, 0);
    }
    attrset(app_attr(a, COLOR_HEADER, A_REVERSE));
    char foot[64];
    snprintf(foot, sizeof foot, " lines %d-%d of %d", a->help_top + 1,
             a->help_top + rows < n ? a->help_top + rows : n, n);
    put(top + height - 1, x0, foot, w, 0);
    attrset(A_NORMAL);
}

static void draw(app *a)
{
    int h = LINES, w = COLS;
    erase();
    if (h < 8 || w < 40) {
        put(0, 0, "demographer: the terminal is too small (at least 40x8)", w, 0);
        wnoutrefresh(stdscr);
        doupdate();
        return;
    }
    draw_bar(a, w);
    a->main_rows = h - 3;
    if (a->help)
        draw_help(a, 1, h - 3, w);
    else
        a->panes[a->m.pane]->draw(a, 1, h - 3, w);
    if (draw_status(a, h - 2, w, a->pr.kind ? 1 : 2) < 2)
        draw_hints(a, h - 1, w);
    wnoutrefresh(stdscr);
    doupdate();
}

/* --- actions ------------------------------------------------------------- */

static void start_job(app *a, model_job *j)
{
    dg_err err;
    if (job_start(&a->jr, j, &err) != DG_OK) {
        model_finish(&a->m, j, DG_ERR, &err);
        a->msg_error = 1;
    }
}

/* --- the queue of actions waiting for the running job --------------------- */

static void queue_push(app *a, const char *line)
{
    if (a->qnext == a->nqueue) {
        workspace_lines_free(a->queue, a->nqueue);
        a->queue = NULL;
        a->nqueue = a->qnext = 0;
    }
    a->queue = dg_xrealloc(a->queue, (size_t)(a->nqueue + 1) * sizeof *a->queue);
    a->queue[a->nqueue++] = dg_xstrdup(line);
}

static int queue_left(const app *a)
{
    return a->nqueue - a->qnext;
}

/* Stops restoring or running the queue; a workspace only partly restored is
 * set aside first, so that the next change does not write over it. */
static void queue_drop(app *a, const char *why)
{
    int left = queue_left(a);
    workspace_lines_free(a->queue, a->nqueue);
    a->queue = NULL;
    a->nqueue = a->qnext = 0;
    if (!left && !a->restoring)
        return;
    char aside[PATH_MAX] = "";
    dg_err err;
    if (a->restoring && workspace_set_aside(a->m.out_dir, aside, sizeof aside, &err) != DG_OK)
        snprintf(aside, sizeof aside, "(not set aside: %.900s)", err.msg);
    size_t o = strlen(a->m.msg);
    snprintf(a->m.msg + o, sizeof a->m.msg - o, "%s%s: %d queued action%s dropped%s%.900s",
             o ? "; " : "", why, left, left == 1 ? "" : "s",
             aside[0] ? "; the workspace is kept in " : "", aside);
    if (a->restoring) {
        a->restoring = a->m.restoring = 0;
        a->m.keep_workspace = 1;
    }
}

/* Runs the next queued action (no job is out). */
static void run_action(app *a, int id, int argc, char **argv, int from_key);
static void queue_run_next(app *a)
{
    char *line = a->queue[a->qnext++];
    char **argv, *words;
    dg_err err;
    int argc = model_split(line, &argv, &words, &err);
    int id = argc > 0 ? action_by_name(argv[0]) : -1;
    if (id < 0) {
        snprintf(a->m.msg, sizeof a->m.msg, "'%.300s': %.300s", line,
                 argc < 0 ? err.msg : "no such action");
        a->msg_error = 1;
    } else {
        run_action(a, id, argc - 1, argv + 1, 0);
    }
    if (argc >= 0) {
        free(argv);
        free(words);
    }
    if (a->msg_error) {
        char why[400];
        snprintf(why, sizeof why, "stopped at '%.300s'", line);
        queue_drop(a, why);
        return;
    }
}

/* The workspace's last action is done: from now on changes are written. */
static void queue_done(app *a)
{
    a->restoring = a->m.restoring = 0;
    a->m.keep_workspace = 1;
    dg_err err;
    if (workspace_save(&a->m, &err) != DG_OK) {
        snprintf(a->m.msg, sizeof a->m.msg, "workspace not saved: %.1000s", err.msg);
        a->msg_error = 1;
        return;
    }
    snprintf(a->m.msg, sizeof a->m.msg, "restored the workspace of %.1000s", a->m.out_dir);
}

/* An action's arguments are required unless its args are empty or bracketed. */
static int needs_args(int id)
{
    return actions[id].args[0] && actions[id].args[0] != '[';
}

static void run_action(app *a, int id, int argc, char **argv, int from_key)
{
    dg_err err;
    model_job *j = NULL;
    pane_args pa = {0};
    char *pargv[PANE_MAX_ARGS];
    a->msg_error = 0;
    /* Ask first when a key would throw work away. */
    if (a->confirmed) {
        a->confirmed = 0;
    } else if (from_key) {
        char lose[600];
        job_progress jp;
        const char *running = NULL;
        char what[300];
        if (id == ACT_QUIT && job_running(&a->jr)) {
            job_peek(&a->jr, &jp);
            snprintf(what, sizeof what, "%.120s%s", jp.title,
                     queue_left(a) ? ", and the actions queued after it" : "");
            running = what;
        }
        if (model_would_lose(&a->m, id, running, lose, sizeof lose)) {
            char label[128];
            snprintf(a->m.msg, sizeof a->m.msg, "%s %s would lose %s", actions[id].key,
                     actions[id].name, lose);
            snprintf(label, sizeof label, "%s anyway? (y: yes; any other key: no) ",
                     actions[id].name);
            a->pending = id;
            app_prompt(a, PROMPT_CONFIRM, label, "", NULL);
            return;
        }
    }
    switch (id) {
    case ACT_HELP:
        a->help = !a->help;
        a->help_match = -1;
        if (a->help) {
            /* At the section of the keys live where the analyst is. */
            static char lines[HELP_MAX_LINES][HELP_LINE];
            int n = overlay_lines(a, lines, HELP_MAX_LINES);
            a->help_top = help_section(lines, n, model_context(&a->m));
        }
        break;
    case ACT_HELP_CLOSE: a->help = 0; break;
    case ACT_ROW_DETAIL:
        if (model_row_detail(&a->m, a->detail, sizeof a->detail, &err) != DG_OK) {
            set_error(a, err.msg);
            return;
        }
        a->help = 2;
        a->help_top = 0;
        a->help_match = -1;
        return;
    case ACT_COMMAND: app_prompt(a, PROMPT_COMMAND, ":", "", NULL); return;
    case ACT_QUIT:
        job_cancel(&a->jr);
        a->quit = 1;
        break;
    case ACT_CANCEL:
        if (job_running(&a->jr)) {
            job_cancel(&a->jr);
            snprintf(a->m.msg, sizeof a->m.msg, "cancelling");
            queue_drop(a, "cancelled");
        } else {
            snprintf(a->m.msg, sizeof a->m.msg, "no job is running");
        }
        break;
    case ACT_REDRAW: clearok(curscr, TRUE); break;
    default:
        if (argc == 0 && (from_key || needs_args(id)) && a->panes[a->m.pane]->key) {
            if (!a->panes[a->m.pane]->key(a, id, &pa)) {
                /* A pane's message names keys as {action-name}, as the model's do. */
                action_keys_expand(a->m.msg, sizeof a->m.msg);
                return;
            }
            for (int i = 0; i < pa.argc; i++)
                pargv[i] = pa.argv[i];
            argc = pa.argc;
            argv = pargv;
        }
        /* A data action keyed while a job runs waits for it, in order. */
        if (from_key && action_has(id, ACTION_DATA) && (job_running(&a->jr) || queue_left(a))) {
            char line[1400];
            job_progress jp;
            job_peek(&a->jr, &jp);
            snprintf(line, sizeof line, "%s", actions[id].name);
            for (int i = 0; i < argc; i++) {
                size_t o = strlen(line);
                snprintf(line + o, sizeof line - o, " ");
                model_quote(argv[i], line, sizeof line);
            }
            queue_push(a, line);
            snprintf(a->m.msg, sizeof a->m.msg,
                     "queued %.200s: it runs when %.200s is done (%d waiting; %s cancels the job "
                     "and the queue)",
                     actions[id].name, job_running(&a->jr) ? jp.title : "the queue before it",
                     queue_left(a), actions[ACT_CANCEL].key);
            return;
        }
        if (model_do(&a->m, id, argc, argv, &j, &err) != DG_OK) {
            set_error(a, err.msg);
            return;
        }
        if (j)
            start_job(a, j);
        return;
    }
    /* The screen's own actions go in the session log too. */
    model_do(&a->m, id, 0, NULL, &j, &err);
}

/* Longest common prefix of a and b, kept in a. */
static void common_prefix(char *a, const char *b)
{
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    a[i] = '\0';
}

static int offered(int id)
{
    return strcmp(actions[id].ctx, "prompt") != 0 && strcmp(actions[id].ctx, "help") != 0;
}

static void complete_command(app *a)
{
    char *t = a->pr.text;
    if (strchr(t, ' '))
        return;
    char best[128] = "", list[900] = "";
    int n = 0;
    for (int i = 0; i < ACT_COUNT; i++) {
        if (!offered(i) || strncmp(actions[i].name, t, strlen(t)) != 0)
            continue;
        if (n++ == 0)
            snprintf(best, sizeof best, "%s", actions[i].name);
        else
            common_prefix(best, actions[i].name);
        size_t o = strlen(list);
        snprintf(list + o, sizeof list - o, "%s%s", o ? " " : "", actions[i].name);
    }
    if (n == 0) {
        set_error(a, "no action starts so");
    } else if (n == 1) {
        snprintf(a->pr.text, sizeof a->pr.text, "%s ", best);
    } else {
        snprintf(a->pr.text, sizeof a->pr.text, "%s", best);
        snprintf(a->m.msg, sizeof a->m.msg, "%s", list);
        a->msg_list = 1;
    }
}

/* "~/x" -> "$HOME/x". */
static void expand_home(const char *in, char *out, size_t cap)
{
    const char *home = getenv("HOME");
    if (in[0] == '~' && (in[1] == '/' || in[1] == '\0') && home)
        snprintf(out, cap, "%s%s", home, in + 1);
    else
        snprintf(out, cap, "%s", in);
}

static int cmp_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static void complete_path(app *a)
{
    char path[PATH_MAX], dir[PATH_MAX], list[900] = "", best[NAME_MAX + 1] = "";
    expand_home(a->pr.text, path, sizeof path);
    char *slash = strrchr(path, '/');
    const char *base;
    if (slash) {
        size_t dl = (size_t)(slash - path) + 1;
        memcpy(dir, path, dl);
        dir[dl] = '\0';
        base = slash + 1;
    } else {
        snprintf(dir, sizeof dir, "%s", "");
        base = path;
    }
    DIR *d = opendir(dir[0] ? dir : ".");
    if (!d) {
        set_error(a, strerror(errno));
        return;
    }
    /* The directories whose name starts with base, listed in name order. */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strncmp(e->d_name, base, strlen(base)) != 0 || (e->d_name[0] == '.' && base[0] != '.'))
            continue;
        char full[PATH_MAX + NAME_MAX + 2];
        struct stat st;
        snprintf(full, sizeof full, "%s%s", dir, e->d_name);
        if (stat(full, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = dg_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = dg_xstrdup(e->d_name);
    }
    closedir(d);
    if (n == 0) {
        set_error(a, "no directory starts so");
        return;
    }
    qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        if (i == 0)
            snprintf(best, sizeof best, "%s", names[i]);
        else
            common_prefix(best, names[i]);
        size_t o = strlen(list);
        if (o + strlen(names[i]) + 3 < sizeof list)
            snprintf(list + o, sizeof list - o, "%s%s/", o ? " " : "", names[i]);
        free(names[i]);
    }
    free(names);
    snprintf(a->pr.text, sizeof a->pr.text, "%.700s%.300s%s", dir, best, n == 1 ? "/" : "");
    if (n > 1) {
        snprintf(a->m.msg, sizeof a->m.msg, "%s", list);
        a->msg_list = 1;
    }
}

/* A prompt's Tab candidates go with it. */
static void close_prompt(app *a)
{
    a->pr.kind = PROMPT_NONE;
    if (a->msg_list) {
        a->m.msg[0] = '\0';
        a->msg_error = 0;
        a->msg_list = 0;
    }
}

static void accept_prompt(app *a)
{
    prompt p = a->pr;
    close_prompt(a);
    if (p.kind == PROMPT_HELP) {
        static char lines[HELP_MAX_LINES][HELP_LINE];
        int n = overlay_lines(a, lines, HELP_MAX_LINES);
        if (p.text[0])
            snprintf(a->help_search, sizeof a->help_search, "%.120s", p.text);
        snprintf(p.text, sizeof p.text, "%s", a->help_search);
        int at = help_find(lines, n, a->help_match >= 0 ? a->help_match + 1 : a->help_top,
                           p.text);
        if (at < 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "no help line holds '%.200s'", p.text);
            set_error(a, msg);
        } else {
            a->help_match = at;
            a->help_top = at > 2 ? at - 2 : 0;
            snprintf(a->m.msg, sizeof a->m.msg, "'%.200s' at help line %d (/ Enter: the next)",
                     p.text, at + 1);
        }
    } else if (p.kind == PROMPT_WORDS) {
        char line[1400], **argv, *buf;
        dg_err err;
        snprintf(line, sizeof line, "%s %s", p.arg, p.text);
        int argc = model_split(line, &argv, &buf, &err);
        if (argc < 0) {
            set_error(a, err.msg);
            return;
        }
        if (argc > 0)
            run_action(a, action_by_name(argv[0]), argc - 1, argv + 1, 0);
        free(argv);
        free(buf);
    } else if (p.kind == PROMPT_DIR) {
        char path[PATH_MAX];
        expand_home(p.text, path, sizeof path);
        char *argv[] = {path};
        run_action(a, ACT_CHOOSE_DIR, 1, argv, 0);
    } else if (p.kind == PROMPT_SEARCH) {
        char *argv[] = {p.arg, p.text};
        run_action(a, ACT_SEARCH, 2, argv, 0);
    } else if (p.kind == PROMPT_ARG) {
        char path[PATH_MAX];
        expand_home(p.text, path, sizeof path);
        char *argv[] = {path};
        run_action(a, action_by_name(p.arg), 1, argv, 0);
    } else if (p.kind == PROMPT_FIELD) {
        char *argv[] = {p.arg, p.text};
        run_action(a, ACT_DB_SET, 2, argv, 0);
        if (a->msg_error)
            return;
        /* The next field, or the password after the last. */
        const char *const *fields = model_fields(a->m.src);
        int i = 0;
        while (fields[i] && strcmp(fields[i], p.arg) != 0)
            i++;
        if (fields[i] && fields[i + 1]) {
            char label[64], v[300];
            snprintf(label, sizeof label, "%s %s: ", model_engine_name(a->m.src), fields[i + 1]);
            app_prompt(a, PROMPT_FIELD, label,
                       model_db_field(&a->m, fields[i + 1], v, sizeof v), fields[i + 1]);
        } else {
            app_password_prompt(a);
        }
    } else if (p.kind == PROMPT_COMMAND) {
        char **argv, *buf;
        dg_err err;
        int argc = model_split(p.text, &argv, &buf, &err);
        if (argc < 0) {
            set_error(a, err.msg);
            return;
        }
        if (argc > 0) {
            int id = action_by_name(argv[0]);
            if (id < 0 || !offered(id)) {
                char msg[300];
                snprintf(msg, sizeof msg, "no action '%.200s' (Tab completes)", argv[0]);
                set_error(a, msg);
            } else {
                run_action(a, id, argc - 1, argv + 1, 0);
            }
        }
        free(argv);
        free(buf);
    }
}

static void prompt_key(app *a, const char *key, const char *utf8)
{
    if (a->pr.kind == PROMPT_CONFIRM) {
        close_prompt(a);
        if (strcmp(key, "y") == 0 || strcmp(key, "Y") == 0) {
            a->confirmed = 1;
            run_action(a, a->pending, 0, NULL, 1);
        } else {
            snprintf(a->m.msg, sizeof a->m.msg, "%s not done: nothing lost",
                     actions[a->pending].name);
            a->msg_error = 0;
        }
        return;
    }
    int id = action_for_key("prompt", key);
    size_t n = strlen(a->pr.text);
    switch (id) {
    case ACT_PROMPT_ACCEPT:
        if (a->pr.kind == PROMPT_PASSWORD) {
            /* Straight to the model's memory, then gone from the prompt; the
             * action logged says only that a password was typed. */
            model_set_password(&a->m, a->pr.text);
            explicit_bzero(a->pr.text, sizeof a->pr.text);
            close_prompt(a);
            run_action(a, ACT_DB_PASSWORD, 0, NULL, 0);
            return;
        }
        accept_prompt(a);
        return;
    case ACT_PROMPT_ABORT:
        explicit_bzero(a->pr.text, sizeof a->pr.text);
        close_prompt(a);
        return;
    case ACT_PROMPT_COMPLETE:
        if (a->pr.kind == PROMPT_COMMAND)
            complete_command(a);
        else if (a->pr.kind == PROMPT_DIR)
            complete_path(a);
        return;
    case ACT_PROMPT_ERASE:
        while (n > 0 && (a->pr.text[n - 1] & 0xC0) == 0x80)
            n--;
        if (n > 0)
            n--;
        a->pr.text[n] = '\0';
        return;
    default: break;
    }
    /* Text: a printable character (Space arrives named). */
    const char *ins = strcmp(key, "Space") == 0 ? " " : utf8;
    if (ins && ins[0] && n + strlen(ins) + 1 < sizeof a->pr.text)
        memcpy(a->pr.text + n, ins, strlen(ins) + 1);
}

static int is_move(int id)
{
    return action_has(id, ACTION_MOVE);
}

static void on_key(app *a, const char *key, const char *utf8)
{
    if (a->pr.kind) {
        prompt_key(a, key, utf8);
        return;
    }
    int id;
    if (a->help) {
        id = action_for_key("help", key);
        if (id < 0)
            id = action_for_key("global", key);
        if (id == ACT_HELP || id == ACT_HELP_CLOSE) {
            if (a->msg_error) { /* what the overlay said goes with it */
                a->m.msg[0] = '\0';
                a->msg_error = 0;
            }
            run_action(a, ACT_HELP_CLOSE, 0, NULL, 1);
            return;
        }
        if (id == ACT_HELP_SEARCH) {
            app_prompt(a, PROMPT_HELP, "search the help: ", "", NULL);
            return;
        }
        if (is_move(id)) {
            int page = a->main_rows - 3;
            a->help_top += id == ACT_UP ? -1 : id == ACT_DOWN ? 1 : id == ACT_PAGE_UP ? -page
                         : id == ACT_PAGE_DOWN ? page : id == ACT_FIRST_ROW ? -100000 : 100000;
            return;
        }
        /* Any other key (Enter among them) leaves the overlay open and does
         * nothing: a key that closed it silently made the next q quit the
         * workbench instead of closing the overlay. */
        snprintf(a->m.msg, sizeof a->m.msg, "%s does nothing in the %s: %s or %s closes it", key,
                 a->help == 2 ? "row view" : "help", actions[ACT_HELP_CLOSE].key,
                 actions[ACT_HELP_CLOSE].key2);
        a->msg_error = 1;
        return;
    } else {
        const char *ctx = model_context(&a->m);
        id = action_for_key(ctx, key);
        if (id < 0)
            id = action_for_key("global", key);
    }
    /* A message lasts until the next key; the cursor keys keep a report
     * (not an error) on screen while the analyst reads the rows it is about. */
    if (a->msg_error || !is_move(id)) {
        a->m.msg[0] = '\0';
        a->msg_error = 0;
    }
    a->msg_list = 0;
    if (id < 0) {
        char msg[128];
        /* Beside the key pressed, the help's key is looked up, not expanded. */
        snprintf(msg, sizeof msg, "%s does nothing here (%s lists the keys)", key,
                 actions[ACT_HELP].key);
        set_error(a, msg);
        return;
    }
    run_action(a, id, 0, NULL, 1);
}

/* The name actions.def gives the key get_wch returned, or NULL. */
static const char *key_label(int r, wint_t wc, char *buf, size_t cap, char *utf8, size_t ucap)
{
    utf8[0] = '\0';
    if (r == KEY_CODE_YES) {
        switch (wc) {
        case KEY_UP: return "Up";
        case KEY_DOWN: return "Down";
        case KEY_LEFT: return "Left";
        case KEY_RIGHT: return "Right";
        case KEY_PPAGE: return "PgUp";
        case KEY_NPAGE: return "PgDn";
        case KEY_HOME: return "Home";
        case KEY_END: return "End";
        case KEY_ENTER: return "Enter";
        case KEY_BACKSPACE: return "Backspace";
        case KEY_BTAB: return "S-Tab";
        default: return NULL;
        }
    }
    switch (wc) {
    case 27: return "Esc";
    case '\r':
    case '\n': return "Enter";
    case '\t': return "Tab";
    case 127:
    case 8: return "Backspace";
    case ' ': return "Space";
    default: break;
    }
    if (wc < 32) {
        snprintf(buf, cap, "C-%c", (char)('a' + wc - 1));
        return buf;
    }
    wchar_t ws[2] = {(wchar_t)wc, 0};
    if (wcstombs(utf8, ws, ucap) == (size_t)-1)
        utf8[0] = '\0';
    snprintf(buf, cap, "%s", utf8);
    return buf;
}

/* --- setup and the loop --------------------------------------------------- */

static void restore_terminal(void)
{
    if (!isendwin())
        endwin();
}

static const char usage[] =
    "Usage: demographer [--out DIR] [--log FILE] [--no-snapshot] [--cache-dir DIR] [DATA_DIR]\n"
    "\n"
    "Opens the workbench (needs a terminal). See 'man demographer' for its keys.\n"
    "  --out DIR        where saved PNGs and the workspace go (default: the current\n"
    "                   directory); opened again there, the workbench restores its work\n"
    "  --log FILE       the session log (default $XDG_STATE_HOME/demographer/session.log)\n"
    "  --no-snapshot    neither read nor write load snapshots\n"
    "  --cache-dir DIR  where snapshots live\n";

/* The workspace of --out comes back unless the workbench was opened on
 * another data directory: then the old one is set aside, not written over. */
static void open_workspace(app *a, const char *dir)
{
    char **lines, wdir[PATH_MAX], d1[PATH_MAX], d2[PATH_MAX], aside[PATH_MAX] = "";
    int n;
    dg_err err;
    if (workspace_load(a->m.out_dir, &lines, &n, &err) != DG_OK) {
        snprintf(a->m.msg, sizeof a->m.msg, "workspace not read (%.900s); it is kept, not "
                                            "written over",
                 err.msg);
        a->msg_error = 1;
        return; /* keep_workspace stays 0 */
    }
    const char *wd = workspace_data_dir(lines, n, wdir, sizeof wdir);
    int same = !dir || (wd && realpath(dir, d1) && realpath(wd, d2) && strcmp(d1, d2) == 0);
    if (n > 0 && same) {
        for (int i = 0; i < n; i++)
            queue_push(a, lines[i]);
        a->restoring = a->m.restoring = 1;
        model_log_continues(&a->m);
        snprintf(a->m.msg, sizeof a->m.msg, "restoring the workspace of %.900s (%s stops)",
                 a->m.out_dir, actions[ACT_CANCEL].key);
    } else {
        char said[1200] = "";
        if (n > 0 && workspace_set_aside(a->m.out_dir, aside, sizeof aside, &err) == DG_OK)
            snprintf(said, sizeof said, "; the workspace for %.300s is kept in %.500s",
                     wd ? wd : "no data", aside);
        else if (n > 0)
            snprintf(said, sizeof said, "; the workspace could not be set aside (%.900s) and "
                                        "will not be written",
                     err.msg);
        a->m.keep_workspace = n == 0 || aside[0];
        if (dir) {
            char *argv1[] = {(char *)dir};
            run_action(a, ACT_CHOOSE_DIR, 1, argv1, 0);
        }
        size_t o = strlen(a->m.msg);
        snprintf(a->m.msg + o, sizeof a->m.msg - o, "%s", said);
    }
    workspace_lines_free(lines, n);
}

static void init_colors(app *a)
{
    const char *nc = getenv("NO_COLOR");
    a->color = has_colors() && !(nc && nc[0]);
    if (!a->color)
        return;
    start_color();
    use_default_colors();
    init_pair(COLOR_BAR, COLOR_WHITE, COLOR_BLUE);
    init_pair(COLOR_STATUS, COLOR_BLACK, COLOR_CYAN);
    init_pair(COLOR_HEADER, COLOR_BLACK, COLOR_YELLOW);
    init_pair(COLOR_CURSOR, COLOR_BLACK, COLOR_CYAN);
    init_pair(COLOR_HIST, COLOR_BLUE, -1);
    init_pair(COLOR_ERROR, COLOR_WHITE, COLOR_RED);
    chart_view_init_colors();
}

int app_main(int argc, char **argv, model_asset_fn asset)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},       {"log", required_argument, NULL, 'L'},
        {"no-snapshot", no_argument, NULL, 'N'},     {"cache-dir", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
    const char *out = ".", *log = NULL, *cache = NULL;
    int snapshot = 1, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "+o:L:Nc:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'L': log = optarg; break;
        case 'N': snapshot = 0; break;
        case 'c': cache = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    const char *dir = optind < argc ? argv[optind] : NULL;
    if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
        fprintf(stderr, "demographer: the workbench needs a terminal, and %s is not one.\n"
                        "The headless commands work without one: demographer synth, load and "
                        "replay (demographer --help).\n",
                isatty(STDOUT_FILENO) ? "stdin" : "stdout");
        return EXIT_USAGE;
    }
    setlocale(LC_ALL, "");
    if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0 && !setlocale(LC_CTYPE, "C.UTF-8"))
        setlocale(LC_CTYPE, "en_US.UTF-8");

    static app a;
    memset(&a, 0, sizeof a);
    model_init(&a.m, out);
    model_use_assets(&a.m, asset);
    a.m.use_snapshot = snapshot;
    if (cache)
        a.m.cache_dir = dg_xstrdup(cache);
    dg_err err;
    char *logpath = log ? dg_xstrdup(log) : model_default_log();
    if (model_open_log(&a.m, logpath, &err) != DG_OK) {
        fprintf(stderr, "demographer: session log: %s\n", err.msg);
        free(logpath);
        model_free(&a.m);
        return 1;
    }
    if (job_init(&a.jr, &err) != DG_OK) {
        fprintf(stderr, "demographer: %s\n", err.msg);
        free(logpath);
        model_free(&a.m);
        return 1;
    }
    const char *lat = getenv("DG_LATENCY_LOG");
    if (lat && lat[0])
        a.latency = fopen(lat, "w");
    static const pane_ops *const pane_table[PANE_COUNT] = {
#define PANE(id, name, title, key, ops) &ops,
#include "panes.def"
#undef PANE
    };
    for (int p = 0; p < PANE_COUNT; p++)
        a.panes[p] = pane_table[p];

    set_escdelay(25);
    initscr();
    atexit(restore_terminal);
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    timeout(0);
    curs_set(0);
    init_colors(&a);
    for (int p = 0; p < PANE_COUNT; p++)
        if (a.panes[p]->init)
            a.panes[p]->init(&a);
    snprintf(a.m.msg, sizeof a.m.msg, "session log: %s", logpath);
    free(logpath);
    open_workspace(&a, dir);

    int dirty = 1;
    double key_time = 0;
    while (!a.quit || job_running(&a.jr)) {
        if (dirty) {
            draw(&a);
            if (key_time > 0 && a.latency) {
                fprintf(a.latency, "%.3f\n", (dg_now() - key_time) * 1000);
                fflush(a.latency);
            }
            key_time = 0;
            dirty = 0;
        }
        struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {a.jr.pipe[0], POLLIN, 0}};
        int pr = poll(fds, 2, 50);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr > 0 && (fds[1].revents & POLLIN)) {
            model_job *j;
            int rc;
            if (job_collect(&a.jr, &j, &rc, &err)) {
                model_finish(&a.m, j, rc, &err);
                a.msg_error = rc != DG_OK && !dg_cancelled(&err);
                if (rc != DG_OK)
                    queue_drop(&a, dg_cancelled(&err) ? "cancelled" : "the job failed");
            }
            dirty = 1;
        }
        /* The queue runs one action each time no job is out (not under a prompt). */
        if (!job_running(&a.jr) && !a.pr.kind && !a.quit) {
            if (queue_left(&a)) {
                queue_run_next(&a);
                dirty = 1;
                continue;
            }
            if (a.restoring) {
                queue_done(&a);
                dirty = 1;
            }
        }
        /* The elapsed time and ETA move even between progress reports. */
        if (job_running(&a.jr))
            dirty = 1;
        wint_t wc;
        int r;
        while ((r = get_wch(&wc)) != ERR) {
            if (key_time == 0)
                key_time = dg_now();
            dirty = 1;
            if (r == KEY_CODE_YES && wc == KEY_RESIZE)
                continue;
            char buf[32], utf8[16];
            const char *key = key_label(r, wc, buf, sizeof buf, utf8, sizeof utf8);
            if (key)
                on_key(&a, key, utf8);
            if (a.quit && !job_running(&a.jr))
                break;
        }
    }
    endwin();
    for (int p = 0; p < PANE_COUNT; p++)
        if (a.panes[p]->free)
            a.panes[p]->free(&a);
    if (a.latency)
        fclose(a.latency);
    job_close(&a.jr);
    workspace_lines_free(a.queue, a.nqueue);
    model_free(&a.m);
    return 0;
}
