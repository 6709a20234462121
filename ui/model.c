#include "model.h"

#include "text.h"

#include "demographer/plot.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const pane_titles[PANE_COUNT] = {"Load", "Clean", "EDA", "Geo", "Models", "Campaigns"};
const char *const pane_names[PANE_COUNT] = {"load", "clean", "eda", "geo", "models", "campaigns"};

struct model_job {
    int id;
    char line[1400];   /* the action as logged */
    char title[128];
    /* load */
    char *dir;
    dg_load_opts opts;
    dg_dataset ds;
    dg_tablestats stats[DG_T_COUNT];
    /* sort, search, freq: the table and sheet they work on */
    const dg_table *t;
    int depth;         /* index of the sheet the result belongs to */
    int col, desc;
    const uint32_t *order;
    uint64_t from, found;
    char needle[256];
    const sheet *fs;   /* search of a frequency sheet: the sheet (its values in order) */
    uint64_t keep_row; /* sort: the cursor's row when it started... */
    uint64_t new_cur;  /* ...and where that row is in the new order */
    uint32_t *sorted;
    dg_freq freq;
};

void model_init(model *m, const char *out_dir)
{
    memset(m, 0, sizeof *m);
    dg_dataset_init(&m->found);
    dg_dataset_init(&m->ds);
    m->out_dir = dg_xstrdup(out_dir ? out_dir : ".");
    m->use_snapshot = 1;
}

static void sheet_free(sheet *s)
{
    free(s->order);
    dg_freq_free(&s->freq);
    memset(s, 0, sizeof *s);
}

static void close_sheets(model *m)
{
    while (m->nsheets > 0)
        sheet_free(&m->sheets[--m->nsheets]);
}

void model_free(model *m)
{
    close_sheets(m);
    dg_dataset_free(&m->found);
    dg_dataset_free(&m->ds);
    free(m->dir);
    free(m->out_dir);
    free(m->cache_dir);
    if (m->log)
        fclose(m->log);
    memset(m, 0, sizeof *m);
}

char *model_default_log(void)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char buf[PATH_MAX];
    if (state && state[0] == '/')
        snprintf(buf, sizeof buf, "%s/demographer/session.log", state);
    else
        snprintf(buf, sizeof buf, "%s/.local/state/demographer/session.log",
                 home && home[0] ? home : "/tmp");
    return dg_xstrdup(buf);
}

int model_open_log(model *m, const char *path, dg_err *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (dg_mkdirs(dir, err) != DG_OK)
            return DG_ERR;
    }
    FILE *f = fopen(path, "a");
    if (!f)
        return dg_fail(err, "%s: %s", path, strerror(errno));
    time_t now = time(NULL);
    struct tm tm;
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    fprintf(f, "# demographer %s session, %s\n", DG_VERSION, when);
    fflush(f);
    m->log = f;
    return DG_OK;
}

void model_quote(const char *s, char *out, size_t cap)
{
    size_t o = strlen(out);
    int plain = s[0] != '\0';
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("-_./,:=+@%", *p) || (unsigned char)*p >= 0x80))
            plain = 0;
    if (plain) {
        snprintf(out + o, cap - o, "%s", s);
        return;
    }
    /* Single quotes keep everything but a single quote, written '\'' . */
    if (o + 1 < cap)
        out[o++] = '\'';
    for (const char *p = s; *p && o + 5 < cap; p++) {
        if (*p == '\'') {
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            out[o++] = *p;
        }
    }
    if (o + 1 < cap)
        out[o++] = '\'';
    out[o < cap ? o : cap - 1] = '\0';
}

int model_split(const char *line, char ***argv_out, char **buf_out, dg_err *err)
{
    size_t n = strlen(line);
    char *buf = dg_xmalloc(n + 1);
    char **argv = dg_xmalloc((n / 2 + 2) * sizeof *argv);
    int argc = 0;
    size_t o = 0;
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        argv[argc++] = buf + o;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            if (*p == '\'') {
                const char *e = strchr(p + 1, '\'');
                if (!e)
                    goto unterminated;
                memcpy(buf + o, p + 1, (size_t)(e - p - 1));
                o += (size_t)(e - p - 1);
                p = e + 1;
            } else if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && p[1])
                        p++;
                    buf[o++] = *p++;
                }
                if (!*p)
                    goto unterminated;
                p++;
            } else if (*p == '\\' && p[1]) {
                buf[o++] = p[1];
                p += 2;
            } else {
                buf[o++] = *p++;
            }
        }
        buf[o++] = '\0';
    }
    argv[argc] = NULL;
    *argv_out = argv;
    *buf_out = buf;
    return argc;
unterminated:
    free(buf);
    free(argv);
    dg_fail(err, "unterminated quote in: %s", line);
    return -1;
}

static void log_line(model *m, const char *line)
{
    if (!m->log)
        return;
    fprintf(m->log, "%s\n", line);
    fflush(m->log);
}

static void format_line(char *out, size_t cap, int id, int argc, char **argv)
{
    snprintf(out, cap, "%s", actions[id].name);
    for (int i = 0; i < argc; i++) {
        size_t o = strlen(out);
        if (o + 2 < cap) {
            out[o] = ' ';
            out[o + 1] = '\0';
        }
        model_quote(argv[i], out, cap);
    }
}

static void say(model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(model *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->msg, sizeof m->msg, fmt, ap);
    va_end(ap);
}

const char *model_context(const model *m)
{
    if (m->pane != PANE_LOAD)
        return "global";
    return m->nsheets ? "sheet" : "load";
}

sheet *model_sheet(model *m)
{
    return m->nsheets ? &m->sheets[m->nsheets - 1] : NULL;
}

const dg_table *model_sheet_table(const model *m, const sheet *s)
{
    return &m->ds.tables[s->table];
}

static int find_column(const dg_table *t, const char *name, dg_err *err)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return i;
    return dg_fail(err, "%s has no column '%s'", t->name, name);
}

static int need_args(int id, int argc, int min, int max, dg_err *err)
{
    if (argc < min || argc > max)
        return dg_fail(err, "%s takes %s%s", actions[id].name,
                       actions[id].args[0] ? actions[id].args : "no arguments",
                       min == 0 && max > 0 ? " (optional)" : "");
    return DG_OK;
}

static void move_cursor(model *m, int id, int argc, char **argv)
{
    long page = argc > 0 ? strtol(argv[0], NULL, 10) : 20;
    if (page < 1)
        page = 1;
    sheet *s = m->pane == PANE_LOAD ? model_sheet(m) : NULL;
    if (m->pane == PANE_LOAD && !s) {
        int c = m->load_cur;
        switch (id) {
        case ACT_UP: c--; break;
        case ACT_DOWN: c++; break;
        case ACT_PAGE_UP: c -= (int)page; break;
        case ACT_PAGE_DOWN: c += (int)page; break;
        case ACT_FIRST_ROW: c = 0; break;
        case ACT_LAST_ROW: c = DG_T_COUNT - 1; break;
        default: break;
        }
        m->load_cur = c < 0 ? 0 : c >= DG_T_COUNT ? DG_T_COUNT - 1 : c;
        return;
    }
    if (!s)
        return;
    int64_t cur = (int64_t)s->cur, last = s->nrows ? (int64_t)s->nrows - 1 : 0;
    switch (id) {
    case ACT_UP: cur--; break;
    case ACT_DOWN: cur++; break;
    case ACT_PAGE_UP: cur -= page; break;
    case ACT_PAGE_DOWN: cur += page; break;
    case ACT_FIRST_ROW: cur = 0; break;
    case ACT_LAST_ROW: cur = last; break;
    case ACT_LEFT:
        if (s->kind == SHEET_TABLE && s->ccol > 0)
            s->ccol--;
        break;
    case ACT_RIGHT:
        if (s->kind == SHEET_TABLE && s->ccol + 1 < model_sheet_table(m, s)->ncols)
            s->ccol++;
        break;
    default: break;
    }
    s->cur = (uint64_t)(cur < 0 ? 0 : cur > last ? last : cur);
}

static int choose_dir(model *m, const char *dir, dg_err *err)
{
    char abs[PATH_MAX];
    if (!realpath(dir, abs))
        return dg_fail(err, "%s: %s", dir, strerror(errno));
    dg_dataset found;
    dg_dataset_init(&found);
    dg_load_opts o = {.use_snapshot = 0};
    if (dg_dataset_find(&found, abs, &o, err) != DG_OK) {
        dg_dataset_free(&found);
        return DG_ERR;
    }
    dg_dataset_free(&m->found);
    m->found = found;
    m->have_found = 1;
    free(m->dir);
    m->dir = dg_xstrdup(abs);
    int n = 0;
    for (int t = 0; t < DG_T_COUNT; t++)
        n += found.present[t];
    say(m, "%s: %s shape, %d of %d tables found; L loads them", abs, dg_shape_name(found.shape),
        n, DG_T_COUNT);
    return DG_OK;
}

/* The frequency sheet's chart: its 20 most frequent values. */
static int save_freq(model *m, const sheet *s, dg_err *err)
{
    const dg_table *t = model_sheet_table(m, s);
    const dg_column *c = &t->cols[s->col];
    int n = s->freq.n < 20 ? (int)s->freq.n : 20;
    char (*bufs)[64] = dg_xcalloc((size_t)n + 1, sizeof *bufs);
    const char **labels = dg_xcalloc((size_t)n + 1, sizeof *labels);
    double *values = dg_xcalloc((size_t)n + 1, sizeof *values);
    for (int i = 0; i < n; i++) {
        const char *v = dg_cell_text(t, c, s->freq.row[i], bufs[i], sizeof bufs[i]);
        labels[i] = v[0] ? v : "(empty)";
        values[i] = (double)s->freq.count[i];
    }
    char title[128], sub[160], path[PATH_MAX];
    snprintf(title, sizeof title, "%s.%s: frequency", t->name, c->name);
    snprintf(sub, sizeof sub, "the %d most frequent of %" PRIu64 " values, %" PRIu64 " rows", n,
             s->freq.n, s->freq.total);
    dg_chart ch = {
        .kind = DG_CHART_BAR_H,
        .width = 1200,
        .height = 800,
        .title = title,
        .subtitle = sub,
        .value_label = "rows",
        .category_label = c->name,
        .n = n,
        .labels = labels,
        .values = values,
        .value_labels = 1,
    };
    snprintf(path, sizeof path, "%s/%s-freq-%s-%s.png", m->out_dir, pane_names[m->pane], t->name,
             c->name);
    int rc = dg_mkdirs(m->out_dir, err);
    if (rc == DG_OK)
        rc = dg_chart_save(&ch, path, err);
    free(bufs);
    free(labels);
    free(values);
    if (rc == DG_OK) {
        snprintf(m->saved, sizeof m->saved, "%.1000s", path);
        say(m, "saved %.1000s (%dx%d PNG)", path, ch.width, ch.height);
    }
    return rc;
}

static int save(model *m, dg_err *err)
{
    sheet *s = model_sheet(m);
    if (m->pane != PANE_LOAD)
        return dg_fail(err, "the %s pane is not built yet: nothing to save", pane_titles[m->pane]);
    if (!s || s->kind != SHEET_FREQ)
        return dg_fail(err, "nothing to save here: open a column's frequency table (F) first");
    return save_freq(m, s, err);
}

static model_job *new_job(int id, int argc, char **argv)
{
    model_job *j = dg_xcalloc(1, sizeof *j);
    j->id = id;
    format_line(j->line, sizeof j->line, id, argc, argv);
    dg_dataset_init(&j->ds);
    return j;
}

static void job_free(model_job *j)
{
    free(j->dir);
    dg_dataset_free(&j->ds);
    free(j->sorted);
    dg_freq_free(&j->freq);
    free(j);
}

/* The data actions are refused while a job is out: the job reads the data and
 * the sheet it was started on. */
static int data_action(int id)
{
    switch (id) {
    case ACT_CHOOSE_DIR:
    case ACT_LOAD:
    case ACT_OPEN_TABLE:
    case ACT_SHEET_BACK:
    case ACT_SORT:
    case ACT_SORT_DESC:
    case ACT_SEARCH:
    case ACT_SEARCH_NEXT:
    case ACT_FREQ:
    case ACT_SAVE: return 1;
    default: return 0;
    }
}

static sheet *need_sheet(model *m, int id, dg_err *err)
{
    sheet *s = m->pane == PANE_LOAD ? model_sheet(m) : NULL;
    if (!s)
        dg_fail(err, "%s works on an open table sheet", actions[id].name);
    return s;
}

int model_do(model *m, int id, int argc, char **argv, model_job **job, dg_err *err)
{
    *job = NULL;
    if (id < 0 || id >= ACT_COUNT)
        return dg_fail(err, "no such action");
    if (m->busy && data_action(id))
        return dg_fail(err, "a job is running: wait, or cancel it with Esc");
    model_job *j = NULL;
    sheet *s;
    int col;
    switch (id) {
    case ACT_UP:
    case ACT_DOWN:
    case ACT_LEFT:
    case ACT_RIGHT:
    case ACT_FIRST_ROW:
    case ACT_LAST_ROW:
        if (need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        move_cursor(m, id, argc, argv);
        break;
    case ACT_PAGE_UP:
    case ACT_PAGE_DOWN:
        if (need_args(id, argc, 0, 1, err) != DG_OK)
            return DG_ERR;
        move_cursor(m, id, argc, argv);
        break;
    case ACT_NEXT_PANE: m->pane = (m->pane + 1) % PANE_COUNT; break;
    case ACT_PANE_LOAD:
    case ACT_PANE_CLEAN:
    case ACT_PANE_EDA:
    case ACT_PANE_GEO:
    case ACT_PANE_MODELS:
    case ACT_PANE_CAMPAIGNS: m->pane = (pane_id)(id - ACT_PANE_LOAD); break;
    case ACT_CHOOSE_DIR:
        if (need_args(id, argc, 1, 1, err) != DG_OK || choose_dir(m, argv[0], err) != DG_OK)
            return DG_ERR;
        break;
    case ACT_LOAD:
        if (need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        if (!m->dir)
            return dg_fail(err, "no data directory chosen yet (o chooses one)");
        j = new_job(id, argc, argv);
        j->dir = dg_xstrdup(m->dir);
        j->opts.use_snapshot = m->use_snapshot;
        j->opts.cache_dir = m->cache_dir;
        snprintf(j->title, sizeof j->title, "loading");
        break;
    case ACT_OPEN_TABLE: {
        if (need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        int t = dg_table_by_name(argv[0]);
        if (t < 0)
            return dg_fail(err, "no table '%s'", argv[0]);
        if (!m->loaded)
            return dg_fail(err, "nothing loaded yet (L loads the chosen directory)");
        if (!m->ds.present[t])
            return dg_fail(err, "%s: no file for this table in %s", argv[0], m->dir);
        if (m->pane != PANE_LOAD || m->nsheets >= MODEL_MAX_SHEETS)
            return dg_fail(err, "open-table works in the Load pane, below %d sheets",
                           MODEL_MAX_SHEETS);
        s = &m->sheets[m->nsheets++];
        memset(s, 0, sizeof *s);
        s->kind = SHEET_TABLE;
        s->table = t;
        s->sort_col = -1;
        s->search_col = -1;
        s->nrows = m->ds.tables[t].nrows;
        m->load_cur = t;
        char rows[32];
        say(m, "%s: %s rows", argv[0], text_count(s->nrows, rows, sizeof rows));
        break;
    }
    case ACT_SHEET_BACK:
        if (need_args(id, argc, 0, 0, err) != DG_OK || !(s = need_sheet(m, id, err)))
            return DG_ERR;
        sheet_free(s);
        m->nsheets--;
        break;
    case ACT_SORT:
    case ACT_SORT_DESC:
    case ACT_FREQ:
        if (need_args(id, argc, 1, 1, err) != DG_OK || !(s = need_sheet(m, id, err)))
            return DG_ERR;
        if (s->kind != SHEET_TABLE)
            return dg_fail(err, "%s works on a table sheet", actions[id].name);
        if ((col = find_column(model_sheet_table(m, s), argv[0], err)) < 0)
            return DG_ERR;
        if (id == ACT_FREQ && m->nsheets >= MODEL_MAX_SHEETS)
            return dg_fail(err, "too many sheets open");
        j = new_job(id, argc, argv);
        j->t = model_sheet_table(m, s);
        j->depth = m->nsheets - 1;
        j->col = col;
        j->desc = id == ACT_SORT_DESC;
        j->keep_row = s->nrows == 0 ? 0 : s->order ? s->order[s->cur] : s->cur;
        snprintf(j->title, sizeof j->title, "%s %s.%s",
                 id == ACT_FREQ ? "counting" : "sorting", j->t->name, argv[0]);
        break;
    case ACT_SEARCH:
    case ACT_SEARCH_NEXT:
        if (!(s = need_sheet(m, id, err)))
            return DG_ERR;
        if (id == ACT_SEARCH) {
            if (need_args(id, argc, 2, 2, err) != DG_OK)
                return DG_ERR;
            if (s->kind == SHEET_FREQ) {
                if (strcmp(argv[0], "value") != 0)
                    return dg_fail(err, "a frequency sheet is searched by its value column");
                col = s->col;
            } else if ((col = find_column(model_sheet_table(m, s), argv[0], err)) < 0) {
                return DG_ERR;
            }
            if (!argv[1][0])
                return dg_fail(err, "search for what?");
            s->search_col = col;
            snprintf(s->search, sizeof s->search, "%s", argv[1]);
        } else {
            if (need_args(id, argc, 0, 0, err) != DG_OK)
                return DG_ERR;
            if (s->search_col < 0)
                return dg_fail(err, "no search yet (/ searches)");
        }
        j = new_job(id, argc, argv);
        j->t = model_sheet_table(m, s);
        j->depth = m->nsheets - 1;
        j->col = s->search_col;
        snprintf(j->needle, sizeof j->needle, "%s", s->search);
        j->order = s->order;
        j->fs = s->kind == SHEET_FREQ ? s : NULL;
        j->from = s->nrows ? (s->cur + 1) % s->nrows : 0;
        snprintf(j->title, sizeof j->title, "searching %s for '%.60s'", j->t->name, j->needle);
        break;
    case ACT_SAVE:
        if (need_args(id, argc, 0, 0, err) != DG_OK || save(m, err) != DG_OK)
            return DG_ERR;
        break;
    default:
        /* help, command, quit, cancel-job, redraw, prompts: the screen's. */
        break;
    }
    if (j) {
        m->busy = 1;
        *job = j;
        return DG_OK;
    }
    if (id < ACT_HELP_CLOSE && id != ACT_COMMAND) {
        char line[1400];
        format_line(line, sizeof line, id, argc, argv);
        log_line(m, line);
    }
    return DG_OK;
}

const char *model_job_title(const model_job *j)
{
    return j->title;
}

/* A frequency sheet's search: its values are rows of the counted table, in
 * the sheet's order (the freq's row array). */
static int search_freq(model_job *j, const sheet *s)
{
    char buf[64];
    const dg_column *c = &j->t->cols[j->col];
    j->found = DG_NOT_FOUND;
    for (uint64_t k = 0; k < s->freq.n; k++) {
        uint64_t at = (j->from + k) % s->freq.n;
        if (strstr(dg_cell_text(j->t, c, s->freq.row[at], buf, sizeof buf), j->needle)) {
            j->found = at;
            break;
        }
    }
    return DG_OK;
}

/* Where a row went in a new order (the cursor stays on its row when sorting). */
static uint64_t position_of(const uint32_t *order, uint64_t n, uint64_t row)
{
    for (uint64_t i = 0; i < n; i++)
        if (order[i] == row)
            return i;
    return 0;
}

/* Passes describe's progress on as the stage "describe <table>". */
typedef struct describe_progress {
    const dg_progress *outer;
    char stage[64];
} describe_progress;

static int forward_describe(void *ctx, const char *stage, double done, double total,
                            const char *unit)
{
    describe_progress *dp = ctx;
    (void)stage;
    return dg_progress_report(dp->outer, dp->stage, done, total, unit);
}

int model_job_run(model_job *j, const dg_progress *p, dg_err *err)
{
    switch (j->id) {
    case ACT_LOAD:
        j->opts.progress = p;
        if (dg_dataset_load(&j->ds, j->dir, &j->opts, err) != DG_OK)
            return DG_ERR;
        for (int t = 0; t < DG_T_COUNT; t++) {
            if (!j->ds.present[t])
                continue;
            describe_progress dp = {p, ""};
            snprintf(dp.stage, sizeof dp.stage, "describe %s", dg_tables[t].name);
            dg_progress fwd = {forward_describe, &dp};
            if (dg_describe_table(&j->ds.tables[t], &j->stats[t], p ? &fwd : NULL, err) != DG_OK)
                return DG_ERR;
        }
        return DG_OK;
    case ACT_SORT:
    case ACT_SORT_DESC:
        if (dg_sort_rows(j->t, j->col, j->desc, &j->sorted, p, err) != DG_OK)
            return DG_ERR;
        /* Found here, not on the screen's thread: 32 M rows take a while. */
        j->new_cur = position_of(j->sorted, j->t->nrows, j->keep_row);
        return DG_OK;
    case ACT_FREQ: return dg_freq_compute(j->t, j->col, &j->freq, p, err);
    case ACT_SEARCH:
    case ACT_SEARCH_NEXT:
        if (j->fs)
            return search_freq(j, j->fs);
        return dg_search_rows(j->t, j->col, j->order, j->from, j->needle, &j->found, p, err);
    default: return DG_OK;
    }
}

void model_finish(model *m, model_job *j, int rc, const dg_err *err)
{
    m->busy = 0;
    if (rc != DG_OK) {
        int cancel = strcmp(err->msg, "cancelled") == 0 || strstr(err->msg, ": cancelled");
        say(m, "%s: %s", j->title, cancel ? "cancelled; nothing changed" : err->msg);
        char line[1600];
        snprintf(line, sizeof line, "# %s: %s", cancel ? "cancelled" : "failed", j->line);
        log_line(m, line);
        job_free(j);
        return;
    }
    sheet *s = j->depth >= 0 && j->depth < m->nsheets ? &m->sheets[j->depth] : NULL;
    char n1[32];
    switch (j->id) {
    case ACT_LOAD: {
        close_sheets(m);
        dg_dataset_free(&m->ds);
        m->ds = j->ds;
        dg_dataset_init(&j->ds);
        memcpy(m->stats, j->stats, sizeof m->stats);
        m->loaded = 1;
        uint64_t rows = 0;
        for (int t = 0; t < DG_T_COUNT; t++)
            rows += m->ds.present[t] ? m->ds.tables[t].nrows : 0;
        text_count(rows, n1, sizeof n1);
        say(m, "loaded %s rows from %s%s", n1, m->ds.from_snapshot ? "the snapshot of " : "",
            m->dir);
        break;
    }
    case ACT_SORT:
    case ACT_SORT_DESC: {
        free(s->order);
        s->order = j->sorted;
        j->sorted = NULL;
        s->sort_col = j->col;
        s->sort_desc = j->desc;
        s->cur = j->new_cur;
        say(m, "sorted by %s, %s", j->t->cols[j->col].name, j->desc ? "descending" : "ascending");
        break;
    }
    case ACT_FREQ: {
        sheet *f = &m->sheets[m->nsheets++];
        memset(f, 0, sizeof *f);
        f->kind = SHEET_FREQ;
        f->table = s->table;
        f->col = j->col;
        f->freq = j->freq;
        memset(&j->freq, 0, sizeof j->freq);
        f->nrows = f->freq.n;
        f->sort_col = -1;
        f->search_col = -1;
        say(m, "%s.%s: %s distinct values", j->t->name, j->t->cols[j->col].name,
            text_count(f->nrows, n1, sizeof n1));
        break;
    }
    case ACT_SEARCH:
    case ACT_SEARCH_NEXT:
        if (j->found == DG_NOT_FOUND) {
            say(m, "'%s' not found in %s", j->needle, j->t->cols[j->col].name);
        } else {
            s->cur = j->found;
            say(m, "'%s' found at row %s", j->needle, text_count(j->found + 1, n1, sizeof n1));
        }
        break;
    default: break;
    }
    log_line(m, j->line);
    job_free(j);
}

int model_replay(model *m, const char *path, dg_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return dg_fail(err, "%s: %s", path, strerror(errno));
    char line[8192];
    int lineno = 0, rc = DG_OK;
    while (rc == DG_OK && fgets(line, sizeof line, f)) {
        lineno++;
        char **argv, *buf;
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        int argc = model_split(p, &argv, &buf, err);
        if (argc < 0) {
            rc = dg_fail(err, "%s:%d: %s", path, lineno, err->msg);
            break;
        }
        int id = action_by_name(argv[0]);
        dg_err aerr;
        model_job *j = NULL;
        if (id < 0) {
            rc = dg_fail(err, "%s:%d: no action '%s'", path, lineno, argv[0]);
        } else if (model_do(m, id, argc - 1, argv + 1, &j, &aerr) != DG_OK) {
            rc = dg_fail(err, "%s:%d: %s: %s", path, lineno, argv[0], aerr.msg);
        } else if (j) {
            char title[128];
            snprintf(title, sizeof title, "%s", j->title);
            int jr = model_job_run(j, NULL, &aerr);
            model_finish(m, j, jr, &aerr);
            if (jr != DG_OK)
                rc = dg_fail(err, "%s:%d: %s: %s", path, lineno, title, aerr.msg);
        }
        free(argv);
        free(buf);
    }
    fclose(f);
    return rc;
}
