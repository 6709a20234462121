#include "model.h"
#include "model_charts.h"

#include "text.h"

#include "demographer/plot.h"
#include "demographer/source_http.h"
#include "demographer/source_mysql.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const pane_titles[PANE_COUNT] = {"Load", "Clean", "EDA", "Geo", "Models", "Campaigns"};
const char *const pane_names[PANE_COUNT] = {"load", "clean", "eda", "geo", "models", "campaigns"};
const char *const source_names[SRC_COUNT] = {"dir", "mysql", "mysql-s3"};
const char *const db_fields[] = {"host", "port", "database", "user", "tls", NULL};

struct model_job {
    int id;
    char line[1400];   /* the action as logged */
    char title[128];
    /* load */
    char *dir;
    int db, s3;            /* from MySQL (and the S3 objects) instead of dir */
    dg_sources_config dbcfg; /* ...its settings and password (wiped when freed) */
    char s3paths[2][4096];
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
    int eda;           /* sort, search: the sheet is the EDA pane's */
    /* clean-apply: the rules applied to a fresh load (ds) and what each did */
    dg_rules rules;
    dg_rule_effect *effects;
    /* eda-compute: the data it reads, and the tables it makes */
    const dg_dataset *src;
    int from_cleaned;
    unsigned gen;
    dg_eda edares;
    dg_table tabs[DG_EDA_MAX_TABLES];
    int ntabs, cut_series;
    char missing[512];
    /* device-features: the device asked for, and every device's features */
    int64_t device;
    dg_features feat;
    /* geo-sample */
    geo_job geo;
    /* dbscan-run, dbscan-sweep */
    dbscan_job dbs;
    /* models-train, campaigns-predict */
    models_job models;
    campaigns_job camp;
};

void model_init(model *m, const char *out_dir)
{
    memset(m, 0, sizeof *m);
    dg_dataset_init(&m->found);
    dg_dataset_init(&m->ds);
    m->out_dir = dg_xstrdup(out_dir ? out_dir : ".");
    m->use_snapshot = 1;
    dg_rules_default(&m->cl.rules);
    dg_dataset_init(&m->cl.cleaned);
    dg_dataset_init(&m->undo.cleaned);
    dg_sources_config_init(&m->db);
    dbscan_init(&m->dbs);
    models_init(&m->models);
    campaigns_init(&m->camp);
}

void model_set_password(model *m, const char *password)
{
    if (m->password) {
        explicit_bzero(m->password, strlen(m->password));
        free(m->password);
    }
    m->password = password && password[0] ? dg_xstrdup(password) : NULL;
}

const char *model_db_field(const model *m, const char *field, char *buf, size_t cap)
{
    const dg_mysql_config *c = &m->db.mysql;
    if (strcmp(field, "host") == 0)
        snprintf(buf, cap, "%s", c->host);
    else if (strcmp(field, "port") == 0)
        snprintf(buf, cap, "%u", c->port);
    else if (strcmp(field, "database") == 0)
        snprintf(buf, cap, "%s", c->database);
    else if (strcmp(field, "user") == 0)
        snprintf(buf, cap, "%s", c->user);
    else if (strcmp(field, "tls") == 0)
        snprintf(buf, cap, "%s", dg_tls_mode_name(c->tls));
    else
        snprintf(buf, cap, "%s", "");
    return buf;
}

static void rules_copy(dg_rules *dst, const dg_rules *src)
{
    dg_rules_init(dst);
    for (int i = 0; i < src->n; i++)
        dg_rules_add(dst, &src->v[i]);
}

static void clean_state_free(clean_state *c)
{
    dg_rules_free(&c->rules);
    dg_rules_free(&c->applied);
    free(c->effects);
    dg_dataset_free(&c->cleaned);
    memset(c, 0, sizeof *c);
    dg_dataset_init(&c->cleaned);
}

/* The preview counts belong to the rules and data they were made from. */
static void preview_clear(model *m)
{
    free(m->preview);
    m->preview = NULL;
}

/* Forgets what apply made (the rules stay): the data it came from is gone. */
static void clean_forget_data(model *m)
{
    dg_rules keep = m->cl.rules;
    memset(&m->cl.rules, 0, sizeof m->cl.rules);
    clean_state_free(&m->cl);
    m->cl.rules = keep;
    clean_state_free(&m->undo);
    m->can_undo = 0;
    preview_clear(m);
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

static void free_tabs(dg_table *tabs, int n)
{
    for (int i = 0; i < n; i++)
        dg_table_free(&tabs[i]);
}

static void eda_clear(model *m)
{
    if (m->eda_open)
        sheet_free(&m->eda_sheet);
    m->eda_open = 0;
    if (m->have_feat)
        dg_features_free(&m->feat);
    m->have_feat = 0;
    dg_table_free(&m->dev_tab);
    if (m->have_eda) {
        free_tabs(m->eda_tabs, m->eda.ntables);
        dg_eda_free(&m->eda);
    }
    memset(&m->eda, 0, sizeof m->eda);
    m->have_eda = 0;
    m->eda_cur = 0;
}

void model_free(model *m)
{
    close_sheets(m);
    eda_clear(m);
    geo_free(&m->geo);
    dbscan_free(&m->dbs);
    models_free(&m->models);
    campaigns_free(&m->camp);
    preview_clear(m);
    clean_state_free(&m->cl);
    clean_state_free(&m->undo);
    dg_dataset_free(&m->found);
    dg_dataset_free(&m->ds);
    free(m->dir);
    free(m->out_dir);
    free(m->cache_dir);
    model_set_password(m, NULL);
    dg_sources_config_free(&m->db);
    if (m->log)
        fclose(m->log);
    memset(m, 0, sizeof *m);
}

char *model_default_log(void)
{
    return dg_user_path("XDG_STATE_HOME", ".local/state", "demographer/session.log");
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
    switch (m->pane) {
    case PANE_LOAD: return m->nsheets ? "sheet" : "load";
    case PANE_CLEAN: return "clean";
    case PANE_EDA: return m->eda_open ? "sheet" : "eda";
    case PANE_GEO: return m->dbs.view == GEO_VIEW_MAP ? "geo" : "dbscan";
    case PANE_MODELS: return "models";
    case PANE_CAMPAIGNS: return "campaigns";
    default: return "global";
    }
}

sheet *model_sheet(model *m)
{
    if (m->pane == PANE_EDA)
        return m->eda_open ? &m->eda_sheet : NULL;
    if (m->pane != PANE_LOAD)
        return NULL;
    return m->nsheets ? &m->sheets[m->nsheets - 1] : NULL;
}

const dg_table *model_sheet_table(const model *m, const sheet *s)
{
    if (s->eda == 2)
        return &m->dev_tab;
    return s->eda ? &m->eda_tabs[s->table] : &m->ds.tables[s->table];
}

/* Opens one device's features as the EDA pane's sheet: a row per feature
 * (phone brand and model first, as names), its value beside it. */
static int show_device(model *m, int64_t device, dg_err *err)
{
    const dg_features *f = &m->feat;
    uint32_t d = 0;
    while (d < f->ndevices && f->device_id[d] != device)
        d++;
    if (d == f->ndevices)
        return dg_fail(err, "no device %lld in the %s data", (long long)device,
                       m->cl.have_cleaned ? "cleaned" : "loaded");
    dg_table *t = &m->dev_tab;
    dg_table_free(t);
    char name[32];
    snprintf(name, sizeof name, "%lld", (long long)device);
    dg_table_init(t, name);
    dg_table_add_column(t, "feature", DG_COL_STR);
    dg_table_add_column(t, "value", DG_COL_F32);
    dg_table_resize(t, (uint64_t)f->ncols + 2);
    char buf[512];
    for (int r = 0; r < f->ncols + 2; r++) {
        float v = NAN;
        if (r < 2)
            snprintf(buf, sizeof buf, "%s: %s", r ? "device_model" : "phone_brand",
                     r ? f->model[d] : f->brand[d]);
        else {
            snprintf(buf, sizeof buf, "%s", f->col_names[r - 2]);
            v = f->dense[(size_t)d * f->ncols + (r - 2)];
        }
        dg_col_u32(&t->cols[0])[r] = dg_strpool_intern(&t->strings, buf, strlen(buf));
        dg_col_f32(&t->cols[1])[r] = v;
    }
    sheet *s = &m->eda_sheet;
    memset(s, 0, sizeof *s);
    s->kind = SHEET_TABLE;
    s->eda = 2;
    s->sort_col = -1;
    s->search_col = -1;
    s->nrows = t->nrows;
    m->eda_open = 1;
    say(m, "device %lld: %d features (q goes back)", (long long)device, f->ncols);
    return DG_OK;
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
    if (m->pane == PANE_MODELS) {
        models_move(&m->models, id, page);
        return;
    }
    sheet *s = model_sheet(m);
    /* The panes' lists: the Load pane's tables, the rules, the EDA tables. */
    int *list = NULL, len = 0;
    if (!s && m->pane == PANE_LOAD) {
        list = &m->load_cur;
        len = DG_T_COUNT;
    } else if (m->pane == PANE_CLEAN) {
        list = &m->clean_cur;
        len = m->cl.rules.n;
    } else if (!s && m->pane == PANE_EDA) {
        list = &m->eda_cur;
        len = m->have_eda ? m->eda.ntables : 0;
    } else if (m->pane == PANE_GEO && m->dbs.view == GEO_VIEW_SWEEP) {
        list = &m->dbs.sweep_cur;
        len = m->dbs.nrows;
    }
    if (list) {
        int c = *list;
        switch (id) {
        case ACT_UP: c--; break;
        case ACT_DOWN: c++; break;
        case ACT_PAGE_UP: c -= (int)page; break;
        case ACT_PAGE_DOWN: c += (int)page; break;
        case ACT_FIRST_ROW: c = 0; break;
        case ACT_LAST_ROW: c = len - 1; break;
        default: break;
        }
        *list = c >= len ? len - 1 : c;
        if (*list < 0)
            *list = 0;
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
    m->src = SRC_DIR;
    free(m->dir);
    m->dir = dg_xstrdup(abs);
    int n = 0;
    for (int t = 0; t < DG_T_COUNT; t++)
        n += found.present[t];
    say(m, "%s: %s shape, %d of %d tables found; L loads them", abs, dg_shape_name(found.shape),
        n, DG_T_COUNT);
    return DG_OK;
}

/* The frequency sheet's chart: its 20 most frequent values (model_charts.c). */
static int save_freq(model *m, const sheet *s, dg_err *err)
{
    const dg_table *t = model_sheet_table(m, s);
    const dg_column *c = &t->cols[s->col];
    freq_chart *fc = dg_xmalloc(sizeof *fc);
    freq_chart_of(m, s, fc);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s-freq-%s-%s.png", m->out_dir, pane_names[m->pane], t->name,
             c->name);
    int rc = dg_mkdirs(m->out_dir, err);
    if (rc == DG_OK)
        rc = dg_chart_save(&fc->chart, path, err);
    int w = fc->chart.width, h = fc->chart.height;
    free(fc);
    if (rc == DG_OK) {
        snprintf(m->saved, sizeof m->saved, "%.1000s", path);
        say(m, "saved %.1000s (%dx%d PNG)", path, w, h);
    }
    return rc;
}

/* An EDA table's chart and its CSV, named by the table's slug. */
static int save_eda(model *m, int i, dg_err *err)
{
    char png[PATH_MAX], csv[PATH_MAX];
    snprintf(png, sizeof png, "%s/eda-%s.png", m->out_dir, m->eda.slug[i]);
    snprintf(csv, sizeof csv, "%s/eda-%s.csv", m->out_dir, m->eda.slug[i]);
    if (dg_mkdirs(m->out_dir, err) != DG_OK || dg_eda_save_chart(&m->eda, i, png, err) != DG_OK ||
        dg_eda_table_write_csv(&m->eda.tables[i], csv, err) != DG_OK)
        return DG_ERR;
    snprintf(m->saved, sizeof m->saved, "%.1000s", png);
    say(m, "saved %.1000s and its .csv", png);
    return DG_OK;
}

static int save(model *m, dg_err *err)
{
    sheet *s = model_sheet(m);
    if (m->pane == PANE_EDA) {
        if (m->eda_open && m->eda_sheet.eda == 2)
            return dg_fail(err, "a device's features are shown, not charted (demographer "
                                "features --out writes every device's)");
        if (!m->have_eda)
            return dg_fail(err, "no EDA tables yet (c computes them)");
        return save_eda(m, m->eda_open ? m->eda_sheet.table : m->eda_cur, err);
    }
    if (m->pane == PANE_CLEAN)
        return dg_fail(err, "nothing to save as a PNG here: w saves the rules");
    if (m->pane == PANE_GEO && m->dbs.view == GEO_VIEW_KDIST) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/geo-kdist.png", m->out_dir);
        if (dg_mkdirs(m->out_dir, err) != DG_OK || dbscan_save_kdist(&m->dbs, path, err) != DG_OK)
            return DG_ERR;
        snprintf(m->saved, sizeof m->saved, "%.1000s", path);
        say(m, "saved %.1000s (k-distance, k = %g)", path, m->dbs.kdist.k);
        return DG_OK;
    }
    if (m->pane == PANE_GEO && m->dbs.view == GEO_VIEW_SWEEP && m->dbs.nrows) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/geo-sweep.png", m->out_dir);
        dg_sweep_chart *sc = dg_xmalloc(sizeof *sc);
        dg_sweep_chart_of(m->dbs.rows, m->dbs.nrows, m->dbs.eps_km, sc);
        int rc = dg_mkdirs(m->out_dir, err) == DG_OK ? dg_chart_save(&sc->chart, path, err) : DG_ERR;
        free(sc);
        if (rc != DG_OK)
            return DG_ERR;
        snprintf(m->saved, sizeof m->saved, "%.1000s", path);
        say(m, "saved %.1000s (the sweep's clusters by eps and minPts)", path);
        return DG_OK;
    }
    if (m->pane == PANE_GEO && m->dbs.view != GEO_VIEW_MAP)
        return dg_fail(err, "p saves the map, the k-distance chart or the sweep's: v goes to "
                            "the kdist or sweep view");
    if (m->pane == PANE_GEO) {
        char path[PATH_MAX];
        int w, h;
        snprintf(path, sizeof path, "%s/geo-%s.png", m->out_dir, dg_map_kind_name(m->geo.kind));
        if (dg_mkdirs(m->out_dir, err) != DG_OK || geo_save(&m->geo, path, &w, &h, err) != DG_OK)
            return DG_ERR;
        snprintf(m->saved, sizeof m->saved, "%.1000s", path);
        say(m, "saved %.1000s (%dx%d PNG)%s%s", path, w, h,
            m->geo.basemap_state < 0 ? "; no basemap: " : "",
            m->geo.basemap_state < 0 ? m->geo.basemap_error : "");
        return DG_OK;
    }
    if (m->pane == PANE_MODELS)
        return models_save(&m->models, m->out_dir, m->saved, sizeof m->saved, m->msg,
                           sizeof m->msg, err);
    if (m->pane == PANE_CAMPAIGNS)
        return campaigns_save(&m->camp, m->out_dir, m->saved, sizeof m->saved, m->msg,
                              sizeof m->msg, err);
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
    dg_sources_config_init(&j->dbcfg);
    return j;
}

static void job_free(model_job *j)
{
    free(j->dir);
    dg_sources_config_free(&j->dbcfg);
    dg_dataset_free(&j->ds);
    free(j->sorted);
    dg_freq_free(&j->freq);
    dg_rules_free(&j->rules);
    free(j->effects);
    free_tabs(j->tabs, j->ntabs);
    dg_eda_free(&j->edares);
    dg_features_free(&j->feat);
    geo_job_free(&j->geo);
    dbscan_job_free(&j->dbs);
    models_job_free(&j->models);
    campaigns_job_free(&j->camp);
    free(j);
}

/* The data actions are refused while a job is out: the job reads the data and
 * the sheet it was started on. */
static int data_action(int id)
{
    switch (id) {
    case ACT_CHOOSE_DIR:
    case ACT_SOURCE:
    case ACT_DB_SET:
    case ACT_LOAD:
    case ACT_OPEN_TABLE:
    case ACT_SHEET_BACK:
    case ACT_SORT:
    case ACT_SORT_DESC:
    case ACT_SEARCH:
    case ACT_SEARCH_NEXT:
    case ACT_FREQ:
    case ACT_SAVE:
    case ACT_RULE_TOGGLE:
    case ACT_RULE_UP:
    case ACT_RULE_DOWN:
    case ACT_CLEAN_APPLY:
    case ACT_CLEAN_PREVIEW:
    case ACT_CLEAN_UNDO:
    case ACT_RULES_SAVE:
    case ACT_RULES_LOAD:
    case ACT_EDA_COMPUTE:
    case ACT_EDA_OPEN:
    case ACT_DEVICE_FEATURES:
    case ACT_GEO_SAMPLE:
    case ACT_DBSCAN_RUN:
    case ACT_DBSCAN_SWEEP:
    case ACT_MODELS_TRAIN:
    case ACT_MODELS_EXPORT:
    case ACT_CAMPAIGNS_RULES:
    case ACT_CAMPAIGNS_PREDICT:
    case ACT_CAMPAIGNS_LOAD:
    case ACT_CAMPAIGNS_WRITE: return 1;
    default: return 0;
    }
}

static sheet *need_sheet(model *m, int id, dg_err *err)
{
    sheet *s = model_sheet(m);
    if (!s)
        dg_fail(err, "%s works on an open table sheet", actions[id].name);
    return s;
}

/* Rule N (1-based, as the pane numbers them) -> its index, or -1. */
static int rule_arg(model *m, int id, int argc, char **argv, dg_err *err)
{
    if (need_args(id, argc, 1, 1, err) != DG_OK)
        return -1;
    char *end;
    long n = strtol(argv[0], &end, 10);
    if (*end || n < 1 || n > m->cl.rules.n) {
        dg_fail(err, "no rule '%s' (there are %d)", argv[0], m->cl.rules.n);
        return -1;
    }
    return (int)n - 1;
}

/* A rule file's path: relative ones are in the output directory, so that a
 * replay with another --out writes (and reads) its own. */
static void out_path(const model *m, const char *file, char *out, size_t cap)
{
    if (file[0] == '/')
        snprintf(out, cap, "%s", file);
    else
        snprintf(out, cap, "%s/%s", m->out_dir, file);
}

static int rules_save(model *m, const char *file, dg_err *err)
{
    char path[PATH_MAX], dir[PATH_MAX];
    out_path(m, file, path, sizeof path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (dg_mkdirs(dir, err) != DG_OK)
            return DG_ERR;
    }
    if (dg_rules_save(&m->cl.rules, path, err) != DG_OK)
        return DG_ERR;
    snprintf(m->saved, sizeof m->saved, "%.1000s", path);
    say(m, "saved the %d rules to %.1000s", m->cl.rules.n, path);
    return DG_OK;
}

static int rules_load(model *m, const char *file, dg_err *err)
{
    char path[PATH_MAX];
    out_path(m, file, path, sizeof path);
    dg_rules r;
    dg_rules_init(&r);
    if (dg_rules_load(&r, path, err) != DG_OK) {
        dg_rules_free(&r);
        return DG_ERR;
    }
    dg_rules_free(&m->cl.rules);
    m->cl.rules = r;
    preview_clear(m);
    if (m->clean_cur >= r.n)
        m->clean_cur = r.n ? r.n - 1 : 0;
    say(m, "loaded %d rules from %.1000s", r.n, path);
    return DG_OK;
}

static int clean_undo(model *m, dg_err *err)
{
    if (!m->can_undo)
        return dg_fail(err, "nothing to undo (undo goes back one apply)");
    clean_state_free(&m->cl);
    m->cl = m->undo;
    memset(&m->undo, 0, sizeof m->undo);
    dg_dataset_init(&m->undo.cleaned);
    m->can_undo = 0;
    m->data_gen++;
    preview_clear(m);
    if (m->clean_cur >= m->cl.rules.n)
        m->clean_cur = m->cl.rules.n ? m->cl.rules.n - 1 : 0;
    say(m, "undone: %s", m->cl.have_cleaned ? "back to the data and rules of the apply before"
                                           : "back to the loaded data, no rules applied");
    return DG_OK;
}

/* The MySQL settings start from sources.conf, read once, when MySQL is first
 * chosen or set: later db-set values are not overwritten by a reread. */
static int need_db(model *m, dg_err *err)
{
    if (m->have_db)
        return DG_OK;
    dg_sources_config c;
    dg_sources_config_init(&c);
    char *path = dg_sources_config_default_path();
    int rc = dg_sources_config_read(&c, path, 0, err);
    free(path);
    if (rc != DG_OK) {
        dg_sources_config_free(&c);
        return DG_ERR;
    }
    dg_sources_config_free(&m->db);
    m->db = c;
    m->have_db = 1;
    return DG_OK;
}

/* One MySQL field (as db-set and load's KEY=VALUE name them) set in c, or an
 * error that leaves c as it was. */
static int set_db_field(dg_mysql_config *c, const char *field, const char *value, dg_err *err)
{
    if (strcmp(field, "port") == 0) {
        char *end;
        long v = strtol(value, &end, 10);
        if (!value[0] || *end || v < 1 || v > 65535)
            return dg_fail(err, "port: expected 1 to 65535, got '%s'", value);
        c->port = (unsigned)v;
        return DG_OK;
    }
    if (strcmp(field, "tls") == 0) {
        if (dg_tls_mode_parse(value, &c->tls) != DG_OK)
            return dg_fail(err, "tls: expected disabled, preferred, required or "
                                "verify_identity, got '%s'", value);
        return DG_OK;
    }
    char *dst = strcmp(field, "host") == 0       ? c->host
                : strcmp(field, "database") == 0 ? c->database
                : strcmp(field, "user") == 0     ? c->user
                                                 : NULL;
    size_t cap = strcmp(field, "host") == 0       ? sizeof c->host
                 : strcmp(field, "database") == 0 ? sizeof c->database
                                                  : sizeof c->user;
    if (!dst)
        return dg_fail(err, "no MySQL field '%s' (host, port, database, user, tls)", field);
    if (strlen(value) >= cap)
        return dg_fail(err, "%s: too long (at most %zu bytes)", field, cap - 1);
    if (strcmp(field, "user") != 0 && !value[0])
        return dg_fail(err, "%s: empty", field);
    snprintf(dst, cap, "%s", value);
    return DG_OK;
}

static int source_by_name(const char *name)
{
    for (int i = 0; i < SRC_COUNT; i++)
        if (strcmp(source_names[i], name) == 0)
            return i;
    return -1;
}

static void say_db(model *m)
{
    const dg_mysql_config *c = &m->db.mysql;
    say(m, "source: MySQL%s %s@%s:%u/%s, tls %s; password: %s (e edits, P types it, L loads)",
        m->src == SRC_MYSQL_S3 ? " + S3" : "", c->user[0] ? c->user : "(no user)", c->host,
        c->port, c->database, dg_tls_mode_name(c->tls),
        m->password              ? "typed"
        : getenv("MYSQL_PWD")    ? "MYSQL_PWD"
        : m->db.password_file[0] ? "password_file"
        : c->password            ? "sources.conf"
                                 : "none yet");
}

/* A MySQL load job: the settings (load's KEY=VALUE arguments over the
 * model's, validated on a copy so a bad one changes nothing), the password
 * (the typed one, else MYSQL_PWD, the password_file or sources.conf, as the
 * command line takes it) and a log line that says where the password came
 * from, never what it is. The typed password is wiped once the job has it. */
static model_job *db_load_job(model *m, int kind, int argc, char **argv, dg_err *err)
{
    if (need_db(m, err) != DG_OK)
        return NULL;
    dg_mysql_config c = m->db.mysql;
    c.password = NULL;
    for (int i = 1; i < argc; i++) {
        char key[64];
        const char *eq = strchr(argv[i], '=');
        if (!eq || (size_t)(eq - argv[i]) >= sizeof key) {
            dg_fail(err, "load: expected KEY=VALUE, got '%s'", argv[i]);
            return NULL;
        }
        snprintf(key, sizeof key, "%.*s", (int)(eq - argv[i]), argv[i]);
        /* Where the password came from is a record, not a setting: a replay
         * takes MYSQL_PWD or the password_file. */
        if (strcmp(key, "password-from") == 0)
            continue;
        if (set_db_field(&c, key, eq + 1, err) != DG_OK)
            return NULL;
    }
    model_job *j = dg_xcalloc(1, sizeof *j);
    dg_dataset_init(&j->ds);
    j->id = ACT_LOAD;
    j->db = 1;
    j->s3 = kind == SRC_MYSQL_S3;
    j->dbcfg = m->db;
    j->dbcfg.mysql = c;
    const char *from = "prompt";
    if (m->password) {
        dg_mysql_config_set_password(&j->dbcfg.mysql, m->password);
    } else {
        if (m->db.mysql.password)
            dg_mysql_config_set_password(&j->dbcfg.mysql, m->db.mysql.password);
        if (dg_sources_password(&j->dbcfg, NULL, &from, err) != DG_OK) {
            job_free(j);
            return NULL;
        }
    }
    model_set_password(m, NULL);
    /* Committed: the pane shows what was loaded. */
    char *keep = m->db.mysql.password;
    m->db.mysql = c;
    m->db.mysql.password = keep;
    m->src = (load_source)kind;
    snprintf(j->line, sizeof j->line, "load %s host=", source_names[kind]);
    model_quote(c.host, j->line, sizeof j->line);
    size_t o = strlen(j->line);
    snprintf(j->line + o, sizeof j->line - o, " port=%u database=", c.port);
    model_quote(c.database, j->line, sizeof j->line);
    o = strlen(j->line);
    snprintf(j->line + o, sizeof j->line - o, " user=");
    model_quote(c.user, j->line, sizeof j->line);
    o = strlen(j->line);
    snprintf(j->line + o, sizeof j->line - o, " tls=%s password-from=%s",
             dg_tls_mode_name(c.tls), from);
    snprintf(j->title, sizeof j->title, "loading %.50s:%u/%.40s%s", c.host, c.port, c.database,
             j->s3 ? " + S3" : "");
    return j;
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
    case ACT_CHART_TOGGLE:
        if (need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        m->chart[m->pane] = !m->chart[m->pane];
        say(m, "%s shows %s", pane_titles[m->pane], m->chart[m->pane] ? "charts" : "sheets");
        break;
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
    case ACT_SOURCE: {
        if (need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        int k = source_by_name(argv[0]);
        if (k < 0)
            return dg_fail(err, "no source '%s' (dir, mysql or mysql-s3)", argv[0]);
        if (k != SRC_DIR && need_db(m, err) != DG_OK)
            return DG_ERR;
        m->src = (load_source)k;
        if (k == SRC_DIR) {
            /* A typed password is for the MySQL load only: leaving MySQL forgets it. */
            model_set_password(m, NULL);
            say(m, "source: %s (o chooses the directory, L loads)",
                m->dir ? m->dir : "a directory");
        } else {
            say_db(m);
        }
        break;
    }
    case ACT_DB_SET: {
        if (need_args(id, argc, 2, 2, err) != DG_OK || need_db(m, err) != DG_OK)
            return DG_ERR;
        if (set_db_field(&m->db.mysql, argv[0], argv[1], err) != DG_OK)
            return DG_ERR;
        char v[300];
        say(m, "%s = %s", argv[0], model_db_field(m, argv[0], v, sizeof v));
        break;
    }
    case ACT_DB_PASSWORD:
        if (argc > 0)
            return dg_fail(err, "a password is never an argument (it would be logged): "
                                "P types it in a masked field");
        say(m, "%s", m->password ? "password typed: kept in memory until the next MySQL load, "
                                   "never logged"
                                 : "no password typed: a load takes MYSQL_PWD, the password_file "
                                   "or sources.conf's");
        break;
    case ACT_LOAD: {
        if (need_args(id, argc, 0, 8, err) != DG_OK)
            return DG_ERR;
        int kind = argc ? source_by_name(argv[0]) : (int)m->src;
        if (kind < 0)
            return dg_fail(err, "no source '%s' (dir, mysql or mysql-s3)", argv[0]);
        if (kind != SRC_DIR) {
            if (!(j = db_load_job(m, kind, argc, argv, err)))
                return DG_ERR;
            break;
        }
        if (argc > 1)
            return dg_fail(err, "load dir takes no settings (choose-dir chooses the directory)");
        if (!m->dir)
            return dg_fail(err, "no data directory chosen yet (o chooses one)");
        j = new_job(id, argc, argv);
        j->dir = dg_xstrdup(m->dir);
        j->opts.use_snapshot = m->use_snapshot;
        j->opts.cache_dir = m->cache_dir;
        snprintf(j->title, sizeof j->title, "loading");
        m->src = SRC_DIR;
        break;
    }
    case ACT_OPEN_TABLE: {
        if (need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        int t = dg_table_by_name(argv[0]);
        if (t < 0)
            return dg_fail(err, "no table '%s'", argv[0]);
        if (!m->loaded)
            return dg_fail(err, "nothing loaded yet (L loads the chosen directory)");
        if (!m->ds.present[t])
            return dg_fail(err, "%s: no file for this table in %s", argv[0], m->ds.dir);
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
        if (m->pane == PANE_EDA)
            m->eda_open = 0;
        else
            m->nsheets--;
        break;
    case ACT_RULE_TOGGLE:
    case ACT_RULE_UP:
    case ACT_RULE_DOWN: {
        int i = rule_arg(m, id, argc, argv, err);
        if (i < 0)
            return DG_ERR;
        dg_rule *v = m->cl.rules.v;
        preview_clear(m);
        if (id == ACT_RULE_TOGGLE) {
            v[i].enabled = !v[i].enabled;
            m->clean_cur = i;
            say(m, "rule %d %s %s (a applies)", i + 1, dg_rule_keyword(v[i].kind),
                v[i].enabled ? "on" : "off");
            break;
        }
        int to = id == ACT_RULE_UP ? i - 1 : i + 1;
        if (to < 0 || to >= m->cl.rules.n)
            return dg_fail(err, "rule %d is already %s", i + 1, to < 0 ? "first" : "last");
        dg_rule t = v[i];
        v[i] = v[to];
        v[to] = t;
        m->clean_cur = to;
        say(m, "%s is now rule %d (a applies)", dg_rule_keyword(v[to].kind), to + 1);
        break;
    }
    case ACT_CLEAN_APPLY:
    case ACT_CLEAN_PREVIEW:
        if (need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        if (!m->loaded)
            return dg_fail(err, "nothing loaded yet (1 goes to the Load pane, L loads)");
        /* The job cleans a fresh load of the same directory (the snapshot
         * makes it fast), never the loaded tables: a cancel or a failure
         * leaves them, and the cleaned data of the last apply, as they were.
         * Data from MySQL cannot be read again (its password is gone): the
         * job cleans a copy of the loaded tables instead. */
        j = new_job(id, argc, argv);
        if (m->from_db)
            j->src = &m->ds;
        else
            j->dir = dg_xstrdup(m->ds.dir);
        j->opts.use_snapshot = m->use_snapshot;
        j->opts.cache_dir = m->cache_dir;
        rules_copy(&j->rules, &m->cl.rules);
        j->effects = dg_xcalloc((size_t)j->rules.n + 1, sizeof *j->effects);
        snprintf(j->title, sizeof j->title, "%s",
                 id == ACT_CLEAN_PREVIEW ? "previewing the rules" : "cleaning");
        break;
    case ACT_CLEAN_UNDO:
        if (need_args(id, argc, 0, 0, err) != DG_OK || clean_undo(m, err) != DG_OK)
            return DG_ERR;
        break;
    case ACT_RULES_SAVE:
    case ACT_RULES_LOAD:
        if (need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        if ((id == ACT_RULES_SAVE ? rules_save : rules_load)(m, argv[0], err) != DG_OK)
            return DG_ERR;
        break;
    case ACT_EDA_COMPUTE:
        if (need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        if (!m->loaded)
            return dg_fail(err, "nothing loaded yet (1 goes to the Load pane, L loads)");
        j = new_job(id, argc, argv);
        j->from_cleaned = m->cl.have_cleaned;
        j->src = j->from_cleaned ? &m->cl.cleaned : &m->ds;
        j->gen = m->data_gen;
        snprintf(j->title, sizeof j->title, "computing the EDA tables");
        break;
    case ACT_EDA_OPEN: {
        if (need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        char *end;
        long n = strtol(argv[0], &end, 10);
        if (!m->have_eda)
            return dg_fail(err, "no EDA tables yet (c computes them)");
        if (*end || n < 1 || n > m->eda.ntables)
            return dg_fail(err, "no EDA table '%s' (there are %d)", argv[0], m->eda.ntables);
        if (m->pane != PANE_EDA || m->eda_open)
            return dg_fail(err, "eda-open works in the EDA pane's table list");
        s = &m->eda_sheet;
        memset(s, 0, sizeof *s);
        s->kind = SHEET_TABLE;
        s->eda = 1;
        s->table = (int)n - 1;
        s->sort_col = -1;
        s->search_col = -1;
        s->nrows = m->eda_tabs[s->table].nrows;
        m->eda_open = 1;
        m->eda_cur = s->table;
        say(m, "%s: p saves its chart and CSV", m->eda.tables[s->table].title);
        break;
    }
    case ACT_DEVICE_FEATURES: {
        if (need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        int64_t device;
        if (dg_parse_i64(argv[0], strlen(argv[0]), &device) != 0)
            return dg_fail(err, "a device id is a whole number, not '%s'", argv[0]);
        if (!m->loaded)
            return dg_fail(err, "nothing loaded yet (1 goes to the Load pane, L loads)");
        if (m->pane != PANE_EDA || m->eda_open)
            return dg_fail(err, "device-features works in the EDA pane's table list");
        if (m->have_feat && m->feat_gen == m->data_gen) {
            if (show_device(m, device, err) != DG_OK)
                return DG_ERR;
            break;
        }
        j = new_job(id, argc, argv);
        j->device = device;
        j->from_cleaned = m->cl.have_cleaned;
        j->src = j->from_cleaned ? &m->cl.cleaned : &m->ds;
        j->gen = m->data_gen;
        snprintf(j->title, sizeof j->title, "building the features of every device");
        break;
    }
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
        /* An EDA table is a few dozen rows: its frequencies say nothing. */
        if (id == ACT_FREQ && s->eda)
            return dg_fail(err, "freq works on the Load pane's sheets");
        j = new_job(id, argc, argv);
        j->eda = s->eda;
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
        j->eda = s->eda;
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
    case ACT_GEO_SAMPLE: {
        geo_job g;
        if (geo_job_args(&g, argc, argv, err) != DG_OK)
            return DG_ERR;
        if (!m->loaded)
            return dg_fail(err, "nothing loaded yet (1 goes to the Load pane, L loads)");
        j = new_job(id, argc, argv);
        j->geo = g;
        j->geo.from_cleaned = m->cl.have_cleaned;
        j->geo.src = m->cl.have_cleaned ? &m->cl.cleaned : &m->ds;
        j->geo.gen = m->data_gen;
        snprintf(j->title, sizeof j->title, "sampling %u events", g.n);
        break;
    }
    case ACT_GEO_MAP:
    case ACT_GEO_PANEL:
    case ACT_GEO_ZOOM_IN:
    case ACT_GEO_ZOOM_OUT:
    case ACT_GEO_PAN_NORTH:
    case ACT_GEO_PAN_SOUTH:
    case ACT_GEO_PAN_WEST:
    case ACT_GEO_PAN_EAST:
    case ACT_GEO_RESET:
    case ACT_GEO_EXTENT:
    case ACT_GEO_PROJECTION:
        if (geo_action(&m->geo, id, argc, argv, err) != DG_OK)
            return DG_ERR;
        break;
    case ACT_GEO_VIEW:
    case ACT_DBSCAN_VIEW:
    case ACT_DBSCAN_EPS_DOWN:
    case ACT_DBSCAN_EPS_UP:
    case ACT_DBSCAN_MIN_DOWN:
    case ACT_DBSCAN_MIN_UP:
    case ACT_DBSCAN_SET:
    case ACT_DBSCAN_ADOPT:
        if (dbscan_action(&m->dbs, id, argc, argv, m->msg, sizeof m->msg, err) != DG_OK)
            return DG_ERR;
        if (id == ACT_GEO_VIEW || id == ACT_DBSCAN_VIEW) {
            static const char *const said[GEO_VIEWS] = {
                "the map (v: the DBSCAN views)", "DBSCAN clusters (r runs, v: the next view)",
                "k-distance curve (p saves its PNG)", "eps x minPts sweep (w sweeps, Enter adopts)"};
            say(m, "%s", said[m->dbs.view]);
        }
        break;
    case ACT_DBSCAN_RUN:
    case ACT_DBSCAN_SWEEP:
        if (need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        if (!m->loaded)
            return dg_fail(err, "nothing loaded yet (1 goes to the Load pane, L loads)");
        j = new_job(id, argc, argv);
        dbscan_job_init(&j->dbs, &m->dbs, id == ACT_DBSCAN_SWEEP,
                        m->cl.have_cleaned ? &m->cl.cleaned : &m->ds, m->cl.have_cleaned,
                        m->data_gen);
        if (id == ACT_DBSCAN_RUN)
            snprintf(j->title, sizeof j->title, "clustering (eps %g km, minPts %g)",
                     m->dbs.eps_km, m->dbs.min_pts);
        else
            snprintf(j->title, sizeof j->title, "sweeping %d eps x %d minPts", j->dbs.neps,
                     j->dbs.nmin);
        break;
    case ACT_MODELS_TRAIN:
        if (need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        if (!m->loaded)
            return dg_fail(err, "nothing loaded yet (1 goes to the Load pane, L loads)");
        j = new_job(id, argc, argv);
        if (models_job_args(&m->models, m->out_dir, &j->models, err) != DG_OK) {
            job_free(j);
            return DG_ERR;
        }
        j->models.from_cleaned = m->cl.have_cleaned;
        j->models.src = m->cl.have_cleaned ? &m->cl.cleaned : &m->ds;
        j->models.gen = m->data_gen;
        snprintf(j->title, sizeof j->title, "training on the %s data",
                 m->cl.have_cleaned ? "cleaned" : "loaded");
        break;
    case ACT_MODELS_VIEW:
    case ACT_MODELS_FAMILY:
    case ACT_MODELS_TARGETS:
    case ACT_MODELS_SCENARIOS:
    case ACT_MODELS_FOLDS:
    case ACT_MODELS_SEED:
    case ACT_MODELS_SORT:
    case ACT_MODELS_SORT_DESC:
    case ACT_MODELS_EXPORT:
        if (models_action(&m->models, id, argc, argv, m->out_dir, m->msg, sizeof m->msg, err) !=
            DG_OK)
            return DG_ERR;
        if (id == ACT_MODELS_EXPORT)
            snprintf(m->saved, sizeof m->saved, "%.1000s/models", m->out_dir);
        break;
    case ACT_CAMPAIGNS_PREDICT: {
        if (need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        models_state *ms = &m->models;
        if (!ms->have_result)
            return dg_fail(err, "no trained models in this session (5 goes to the Models pane, c "
                                "trains); o loads a predictions.csv instead");
        if (ms->gen != m->data_gen)
            return dg_fail(err, "the data changed since the models were trained: train again "
                                "(Models pane, c)");
        j = new_job(id, argc, argv);
        size_t n = strlen(ms->train_dir) + 16;
        j->camp.models_dir = dg_xmalloc(n);
        snprintf(j->camp.models_dir, n, "%s/models", ms->train_dir);
        j->camp.feat = &ms->feat;
        j->camp.src = ms->from_cleaned ? &m->cl.cleaned : &m->ds;
        snprintf(j->title, sizeof j->title, "predicting the test devices");
        break;
    }
    case ACT_CAMPAIGNS_RULES:
        if (need_args(id, argc, 1, 1, err) != DG_OK ||
            campaigns_rules(&m->camp, argv[0], m->out_dir, m->msg, sizeof m->msg, err) != DG_OK)
            return DG_ERR;
        break;
    case ACT_CAMPAIGNS_LOAD: {
        if (need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        dg_truth *truth;
        size_t ntruth;
        campaigns_truth_of(!m->loaded ? NULL : m->cl.have_cleaned ? &m->cl.cleaned : &m->ds,
                           &truth, &ntruth);
        if (campaigns_load(&m->camp, argv[0], m->out_dir, truth, ntruth, m->msg, sizeof m->msg,
                           err) != DG_OK)
            return DG_ERR;
        break;
    }
    case ACT_CAMPAIGNS_WRITE:
        if (need_args(id, argc, 0, 0, err) != DG_OK ||
            campaigns_write(&m->camp, m->out_dir, m->saved, sizeof m->saved, m->msg,
                            sizeof m->msg, err) != DG_OK)
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

/* An EDA table as a columnar table, so that the sheet view shows it: its row
 * names, then a float column per series (the sheet has room for 7). */
static void eda_as_table(const dg_eda_table *e, const char *name, dg_table *t, int *cut)
{
    dg_table_init(t, name);
    dg_table_add_column(t, e->row_label[0] ? e->row_label : "row", DG_COL_STR);
    int ns = e->nseries < DG_MAX_COLS - 1 ? e->nseries : DG_MAX_COLS - 1;
    if (ns < e->nseries)
        *cut = 1;
    /* A series of whole numbers (devices, events) is a count: an integer
     * column, shown as "266", not "266.00". */
    int whole[DG_MAX_COLS];
    for (int k = 0; k < ns; k++) {
        whole[k] = dg_eda_series_is_count(e, k);
        dg_table_add_column(t, e->series_names[k], whole[k] ? DG_COL_I64 : DG_COL_F32);
    }
    dg_table_resize(t, (uint64_t)e->nrows);
    t->nrows = (uint64_t)e->nrows;
    for (int r = 0; r < e->nrows; r++) {
        const char *rn = e->row_names[r] ? e->row_names[r] : "";
        dg_col_u32(&t->cols[0])[r] = dg_strpool_intern(&t->strings, rn, strlen(rn));
        for (int k = 0; k < ns; k++) {
            if (whole[k])
                dg_col_i64(&t->cols[k + 1])[r] = (int64_t)dg_eda_value(e, r, k);
            else
                dg_col_f32(&t->cols[k + 1])[r] = (float)dg_eda_value(e, r, k);
        }
    }
}

/* The MySQL load, as `demographer load-db` does it: the two S3 objects
 * first when asked (bytes, per file), then the tables (rows). The password is
 * wiped as soon as the server has had it, whatever the outcome. */
static int load_db(model_job *j, const dg_progress *p, dg_err *err)
{
    dg_mysql_load_opts lo = {.progress = p};
    if (j->s3) {
        const char *urls[2] = {j->dbcfg.labels_url, j->dbcfg.categories_url};
        dg_http_opts ho = {.progress = p};
        if (j->dbcfg.cache_dir[0])
            ho.cache_dir = j->dbcfg.cache_dir;
        for (int i = 0; i < 2; i++) {
            dg_http_result r;
            if (dg_http_fetch(urls[i], &ho, &r, err) != DG_OK) {
                dg_mysql_config_set_password(&j->dbcfg.mysql, NULL);
                return DG_ERR;
            }
            snprintf(j->s3paths[i], sizeof j->s3paths[i], "%s", r.path);
        }
        lo.files[DG_T_APP_LABELS] = j->s3paths[0];
        lo.files[DG_T_LABEL_CATEGORIES] = j->s3paths[1];
    }
    int rc = dg_mysql_load(&j->ds, &j->dbcfg.mysql, &lo, err);
    dg_mysql_config_set_password(&j->dbcfg.mysql, NULL);
    return rc;
}

int model_job_run(model_job *j, const dg_progress *p, dg_err *err)
{
    switch (j->id) {
    case ACT_LOAD:
        j->opts.progress = p;
        if (j->db) {
            if (load_db(j, p, err) != DG_OK)
                return DG_ERR;
        } else if (dg_dataset_load(&j->ds, j->dir, &j->opts, err) != DG_OK) {
            return DG_ERR;
        }
        for (int t = 0; t < DG_T_COUNT; t++) {
            if (!j->ds.present[t])
                continue;
            char name[64];
            snprintf(name, sizeof name, "describe %s", dg_tables[t].name);
            dg_progress_stage stage;
            if (dg_describe_table(&j->ds.tables[t], &j->stats[t],
                                  dg_progress_restage(&stage, p, name), err) != DG_OK)
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
    case ACT_CLEAN_APPLY:
    case ACT_CLEAN_PREVIEW:
        j->opts.progress = p;
        if (j->src) {
            /* The data actions wait while a job is out: src stays as it is. */
            dg_dataset_free(&j->ds);
            dg_dataset_copy(&j->ds, j->src);
        } else if (dg_dataset_load(&j->ds, j->dir, &j->opts, err) != DG_OK) {
            return DG_ERR;
        }
        return dg_clean(&j->ds, &j->rules, j->effects, p, err);
    case ACT_EDA_COMPUTE:
        /* dg_eda_compute reports no progress: a cancel is seen before and after. */
        if (dg_progress_report(p, "tables", 0, 1, ""))
            return dg_fail(err, "cancelled");
        if (dg_eda_compute(j->src, &j->edares, j->missing, sizeof j->missing, err) != DG_OK)
            return DG_ERR;
        for (int i = 0; i < j->edares.ntables; i++, j->ntabs++)
            eda_as_table(&j->edares.tables[i], j->edares.slug[i], &j->tabs[i], &j->cut_series);
        if (dg_progress_report(p, "tables", 1, 1, ""))
            return dg_fail(err, "cancelled");
        return DG_OK;
    case ACT_GEO_SAMPLE: return geo_job_run(&j->geo, p, err);
    case ACT_MODELS_TRAIN: return models_job_run(&j->models, p, err);
    case ACT_CAMPAIGNS_PREDICT: return campaigns_job_run(&j->camp, p, err);
    case ACT_DBSCAN_RUN:
    case ACT_DBSCAN_SWEEP: return dbscan_job_run(&j->dbs, p, err);
    case ACT_DEVICE_FEATURES:
        /* Super-categories are left to demographer features (an asset file). */
        return dg_features_build(j->src, NULL, &j->feat, p, err);
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
    sheet *s = j->eda ? (m->eda_open ? &m->eda_sheet : NULL)
                      : j->depth >= 0 && j->depth < m->nsheets ? &m->sheets[j->depth] : NULL;
    char n1[32];
    switch (j->id) {
    case ACT_LOAD: {
        close_sheets(m);
        /* What was made from the old data goes with it. */
        clean_forget_data(m);
        eda_clear(m);
        geo_forget(&m->geo);
        dbscan_forget(&m->dbs);
        dg_dataset_free(&m->ds);
        m->ds = j->ds;
        dg_dataset_init(&j->ds);
        memcpy(m->stats, j->stats, sizeof m->stats);
        m->loaded = 1;
        m->data_gen++; /* what was trained on the old data no longer fits it */
        m->from_db = j->db;
        uint64_t rows = 0;
        for (int t = 0; t < DG_T_COUNT; t++)
            rows += m->ds.present[t] ? m->ds.tables[t].nrows : 0;
        text_count(rows, n1, sizeof n1);
        say(m, "loaded %s rows from %s%s%s", n1, m->ds.from_snapshot ? "the snapshot of " : "",
            j->db ? "MySQL " : "", j->db ? m->ds.dir : m->dir);
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
    case ACT_CLEAN_PREVIEW: {
        /* Only the counts stay: the cleaned copy goes with the job, and the
         * loaded and cleaned data are as they were. */
        preview_clear(m);
        m->preview = j->effects;
        j->effects = NULL;
        uint64_t rows = 0;
        for (int i = 0; i < j->rules.n; i++)
            rows += m->preview[i].rows_changed;
        say(m, "preview: the %d rules would change %s rows (a applies them)", j->rules.n,
            text_count(rows, n1, sizeof n1));
        break;
    }
    case ACT_CLEAN_APPLY: {
        preview_clear(m);
        /* The state before goes to undo; its rules are those of the apply
         * before (or, with none, the ones just applied). */
        clean_state old = m->cl;
        if (old.applied.n) {
            dg_rules_free(&old.rules);
            rules_copy(&old.rules, &old.applied);
        }
        clean_state_free(&m->undo);
        m->undo = old;
        m->can_undo = 1;
        memset(&m->cl, 0, sizeof m->cl);
        rules_copy(&m->cl.rules, &j->rules);
        m->cl.applied = j->rules;
        memset(&j->rules, 0, sizeof j->rules);
        m->cl.effects = j->effects;
        j->effects = NULL;
        m->cl.cleaned = j->ds;
        dg_dataset_init(&j->ds);
        m->cl.have_cleaned = 1;
        m->data_gen++;
        int on = 0;
        for (int i = 0; i < m->cl.applied.n; i++)
            on += m->cl.applied.v[i].enabled;
        say(m, "applied %d of %d rules; the EDA pane now uses the cleaned data (u undoes)", on,
            m->cl.applied.n);
        break;
    }
    case ACT_GEO_SAMPLE: {
        geo_job_finish(&m->geo, &j->geo);
        char a[32], b[32];
        text_count(m->geo.all.n, a, sizeof a);
        text_count(m->geo.labelled.n, b, sizeof b);
        say(m, "sampled %s events (%s of labelled devices) from the %s data", a, b,
            m->geo.from_cleaned ? "cleaned" : "loaded (not cleaned)");
        break;
    }
    case ACT_DBSCAN_RUN:
    case ACT_DBSCAN_SWEEP: dbscan_job_finish(&m->dbs, &j->dbs, m->msg, sizeof m->msg); break;
    case ACT_MODELS_TRAIN: {
        models_job_finish(&m->models, &j->models);
        const dg_train_result *r = &m->models.res;
        int chosen = 0;
        for (size_t i = 0; i < r->nruns; i++)
            chosen += r->runs[i].chosen;
        say(m, "%zu runs on %u labelled devices of the %s data, %d chosen (*); x exports them",
            r->nruns, r->nlabelled, m->models.from_cleaned ? "cleaned" : "loaded (not cleaned)",
            chosen);
        break;
    }
    case ACT_CAMPAIGNS_PREDICT: {
        dg_err e2;
        char from[128];
        snprintf(from, sizeof from, "the session's models (%s data)",
                 m->models.from_cleaned ? "cleaned" : "loaded");
        if (campaigns_job_finish(&m->camp, &j->camp, from, &e2) != DG_OK) {
            say(m, "%s: %s", j->title, e2.msg);
            char line[1600];
            snprintf(line, sizeof line, "# failed: %s", j->line);
            log_line(m, line);
            job_free(j);
            return;
        }
        say(m, "%zu test devices predicted and targeted; w writes the campaign files",
            m->camp.n);
        break;
    }
    case ACT_EDA_COMPUTE:
        eda_clear(m);
        m->eda = j->edares;
        memset(&j->edares, 0, sizeof j->edares);
        memcpy(m->eda_tabs, j->tabs, sizeof m->eda_tabs);
        j->ntabs = 0;
        m->have_eda = 1;
        m->eda_from_cleaned = j->from_cleaned;
        m->eda_gen = j->gen;
        say(m, "%d EDA tables from the %s data%s%s%s", m->eda.ntables,
            j->from_cleaned ? "cleaned" : "loaded (not cleaned)",
            j->cut_series ? "; sheets show 7 series at most" : "",
            j->missing[0] ? "; not computed: " : "", j->missing);
        break;
    case ACT_DEVICE_FEATURES: {
        if (m->have_feat)
            dg_features_free(&m->feat);
        m->feat = j->feat;
        memset(&j->feat, 0, sizeof j->feat);
        m->have_feat = 1;
        m->feat_gen = j->gen;
        dg_err e2;
        if (m->pane == PANE_EDA && !m->eda_open && show_device(m, j->device, &e2) != DG_OK)
            say(m, "%s", e2.msg);
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
