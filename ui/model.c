#include "model.h"
#include "model_charts.h"
#include "model_job.h"

#include "text.h"

#include "demographer/csv.h"
#include "demographer/plot.h"
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
const char *const source_names[SRC_COUNT] = {"dir", "mysql", "mysql-s3", "mysql-pushdown"};
const char *const db_fields[] = {"host", "port", "database", "user", "tls", NULL};


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

void model_use_assets(model *m, model_asset_fn asset)
{
    geo_set_basemap_path(&m->geo, asset("basemap-east-asia.txt"));
    models_set_supercats_path(&m->models, asset("supercategories.txt"));
    campaigns_set_default_rules(&m->camp, asset("campaigns.rules"));
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

void model_rules_copy(dg_rules *dst, const dg_rules *src)
{
    dg_rules_init(dst);
    for (int i = 0; i < src->n; i++)
        dg_rules_add(dst, &src->v[i]);
}

void model_clean_state_free(clean_state *c)
{
    dg_rules_free(&c->rules);
    dg_rules_free(&c->applied);
    free(c->effects);
    dg_dataset_free(&c->cleaned);
    memset(c, 0, sizeof *c);
    dg_dataset_init(&c->cleaned);
}

/* The preview counts belong to the rules and data they were made from. */
void model_preview_clear(model *m)
{
    free(m->preview);
    m->preview = NULL;
}

/* Forgets what apply made (the rules stay): the data it came from is gone. */
void model_clean_forget_data(model *m)
{
    dg_rules keep = m->cl.rules;
    memset(&m->cl.rules, 0, sizeof m->cl.rules);
    model_clean_state_free(&m->cl);
    m->cl.rules = keep;
    model_clean_state_free(&m->undo);
    m->can_undo = 0;
    model_preview_clear(m);
}

static void sheet_free(sheet *s)
{
    free(s->order);
    dg_freq_free(&s->freq);
    memset(s, 0, sizeof *s);
}

void model_close_sheets(model *m)
{
    while (m->nsheets > 0)
        sheet_free(&m->sheets[--m->nsheets]);
}

void model_free_tabs(dg_table *tabs, int n)
{
    for (int i = 0; i < n; i++)
        dg_table_free(&tabs[i]);
}

void model_forget_pushed(model *m)
{
    if (m->have_pushed)
        dg_features_free(&m->pushed);
    m->have_pushed = 0;
}

void model_eda_clear(model *m)
{
    if (m->eda_open)
        sheet_free(&m->eda_sheet);
    m->eda_open = 0;
    if (m->have_feat)
        dg_features_free(&m->feat);
    m->have_feat = 0;
    dg_table_free(&m->dev_tab);
    if (m->have_eda) {
        model_free_tabs(m->eda_tabs, m->eda.ntables);
        dg_eda_free(&m->eda);
    }
    memset(&m->eda, 0, sizeof m->eda);
    m->have_eda = 0;
    m->eda_cur = 0;
}

void model_free(model *m)
{
    model_close_sheets(m);
    model_eda_clear(m);
    geo_free(&m->geo);
    dbscan_free(&m->dbs);
    models_free(&m->models);
    campaigns_free(&m->camp);
    model_preview_clear(m);
    model_clean_state_free(&m->cl);
    model_clean_state_free(&m->undo);
    dg_dataset_free(&m->found);
    model_forget_pushed(m);
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

void model_say(model *m, const char *fmt, ...)
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
int model_show_device(model *m, int64_t device, dg_err *err)
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
    model_say(m, "device %lld: %d features ({sheet-back} goes back)", (long long)device, f->ncols);
    return DG_OK;
}

int model_find_column(const dg_table *t, const char *name, dg_err *err)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return i;
    return dg_fail(err, "%s has no column '%s'", t->name, name);
}

int model_need_args(int id, int argc, int min, int max, dg_err *err)
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
    } else if (m->pane == PANE_CAMPAIGNS) {
        list = &m->camp.cur;
        len = m->camp.rules.n + (m->camp.have ? 1 : 0);
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
        if (s->ccol > 0)
            s->ccol--;
        break;
    case ACT_RIGHT:
        if (s->ccol + 1 < (s->kind == SHEET_FREQ ? FREQ_NCOLS : model_sheet_table(m, s)->ncols))
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
    model_say(m, "%s: %s shape, %d of %d tables found; {load} loads them", abs, dg_shape_name(found.shape),
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
        model_say(m, "saved %.1000s (%dx%d PNG)", path, w, h);
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
    model_say(m, "saved %.1000s and its .csv", png);
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
            return dg_fail(err, "no EDA tables yet ({eda-compute} computes them)");
        return save_eda(m, m->eda_open ? m->eda_sheet.table : m->eda_cur, err);
    }
    if (m->pane == PANE_CLEAN)
        return dg_fail(err, "nothing to save as a PNG here: {rules-save} saves the rules");
    if (m->pane == PANE_GEO && m->dbs.view == GEO_VIEW_KDIST) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/geo-kdist.png", m->out_dir);
        if (dg_mkdirs(m->out_dir, err) != DG_OK || dbscan_save_kdist(&m->dbs, path, err) != DG_OK)
            return DG_ERR;
        snprintf(m->saved, sizeof m->saved, "%.1000s", path);
        model_say(m, "saved %.1000s (k-distance, k = %g)", path, m->dbs.kdist.k);
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
        model_say(m, "saved %.1000s (the sweep's clusters by eps and minPts)", path);
        return DG_OK;
    }
    if (m->pane == PANE_GEO && m->dbs.view != GEO_VIEW_MAP)
        return dg_fail(err, "{save} saves the map, the k-distance chart or the sweep's: "
                            "{dbscan-view} goes to the kdist or sweep view");
    if (m->pane == PANE_GEO) {
        char path[PATH_MAX];
        int w, h;
        snprintf(path, sizeof path, "%s/geo-%s.png", m->out_dir, dg_map_kind_name(m->geo.kind));
        if (dg_mkdirs(m->out_dir, err) != DG_OK || geo_save(&m->geo, path, &w, &h, err) != DG_OK)
            return DG_ERR;
        snprintf(m->saved, sizeof m->saved, "%.1000s", path);
        model_say(m, "saved %.1000s (%dx%d PNG)%s%s", path, w, h,
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
        return dg_fail(err, "nothing to save here: open a column's frequency table ({freq}) first");
    return save_freq(m, s, err);
}

model_job *model_job_new(int id, int argc, char **argv, const job_kind *kind)
{
    model_job *j = dg_xcalloc(1, sizeof *j);
    j->kind = kind;
    j->id = id;
    format_line(j->line, sizeof j->line, id, argc, argv);
    return j;
}

static void job_free(model_job *j)
{
    if (j->kind && j->kind->free)
        j->kind->free(j);
    free(j);
}

/* The actions whose one argument is a file, relative ones in <out>. */
static int file_action(int id)
{
    return id == ACT_RULES_SAVE || id == ACT_RULES_LOAD || id == ACT_CAMPAIGNS_RULES ||
           id == ACT_CAMPAIGNS_LOAD;
}

/* path relative to the output directory when it lies in it, else path. */
static const char *out_relative(const model *m, const char *path, char *buf, size_t cap)
{
    char od[PATH_MAX];
    const char *dirs[2] = {m->out_dir, realpath(m->out_dir, od) ? od : NULL};
    if (path[0] != '/')
        return path;
    for (int i = 0; i < 2; i++) {
        if (!dirs[i] || dirs[i][0] != '/')
            continue;
        size_t n = strlen(dirs[i]);
        while (n > 1 && dirs[i][n - 1] == '/')
            n--;
        if (strncmp(path, dirs[i], n) == 0 && path[n] == '/' && path[n + 1]) {
            snprintf(buf, cap, "%s", path + n + 1);
            return buf;
        }
    }
    return path;
}

sheet *model_need_sheet(model *m, int id, dg_err *err)
{
    sheet *s = model_sheet(m);
    if (!s)
        dg_fail(err, "%s works on an open table sheet", actions[id].name);
    return s;
}

/* Rule N (1-based, as the pane numbers them) -> its index, or -1. */
static int rule_arg(model *m, int id, int argc, char **argv, dg_err *err)
{
    if (model_need_args(id, argc, 1, 1, err) != DG_OK)
        return -1;
    char *end;
    long n = strtol(argv[0], &end, 10);
    if (*end || n < 1 || n > m->cl.rules.n) {
        dg_fail(err, "no rule '%s' (there are %d)", argv[0], m->cl.rules.n);
        return -1;
    }
    return (int)n - 1;
}

const char *model_rule_params(const dg_rule *r, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (r->kind == DG_RULE_TIME_WINDOW) {
        char a[20], b[20];
        dg_format_time(r->from, a);
        dg_format_time(r->to, b);
        a[10] = b[10] = 'T';
        snprintf(buf, cap, "from=%s to=%s", a, b);
    } else if (r->kind == DG_RULE_EMPTY_CATEGORIES) {
        snprintf(buf, cap, "name=%s", r->name);
    }
    return buf;
}

/* rule-set N K=V...: the rule's current parameters, then the ones given
 * (later words win), read as a rule-file line. */
static int rule_set(model *m, int argc, char **argv, dg_err *err)
{
    if (argc < 2)
        return dg_fail(err, "rule-set takes N K=V... ({rule-set} on a rule offers its parameters)");
    int i = rule_arg(m, ACT_RULE_SET, 1, argv, err);
    if (i < 0)
        return DG_ERR;
    dg_rule *r = &m->cl.rules.v[i];
    char line[2048], params[256];
    snprintf(line, sizeof line, "%s %s", dg_rule_keyword(r->kind),
             model_rule_params(r, params, sizeof params));
    if (!params[0])
        return dg_fail(err, "rule %d %s has no parameters", i + 1, dg_rule_keyword(r->kind));
    for (int k = 1; k < argc; k++) {
        size_t o = strlen(line);
        snprintf(line + o, sizeof line - o, " %s", argv[k]);
    }
    dg_rules one;
    dg_rules_init(&one);
    char origin[32];
    snprintf(origin, sizeof origin, "rule %d", i + 1);
    if (dg_rules_parse(&one, line, origin, err) != DG_OK)
        return DG_ERR;
    /* A blank-separated word list is one line: anything else was not K=V. */
    if (one.n != 1) {
        dg_rules_free(&one);
        return dg_fail(err, "rule-set takes K=V words");
    }
    int on = r->enabled;
    *r = one.v[0];
    r->enabled = on;
    dg_rules_free(&one);
    model_preview_clear(m);
    m->clean_cur = i;
    model_say(m, "rule %d %s: %s ({clean-apply} applies)", i + 1, dg_rule_keyword(r->kind),
        model_rule_params(r, params, sizeof params));
    return DG_OK;
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
    model_say(m, "saved the %d rules to %.1000s", m->cl.rules.n, path);
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
    model_preview_clear(m);
    if (m->clean_cur >= r.n)
        m->clean_cur = r.n ? r.n - 1 : 0;
    model_say(m, "loaded %d rules from %.1000s", r.n, path);
    return DG_OK;
}

static int clean_undo(model *m, dg_err *err)
{
    if (!m->can_undo)
        return dg_fail(err, "nothing to undo (undo goes back one apply)");
    model_clean_state_free(&m->cl);
    m->cl = m->undo;
    memset(&m->undo, 0, sizeof m->undo);
    dg_dataset_init(&m->undo.cleaned);
    m->can_undo = 0;
    m->data_gen++;
    model_preview_clear(m);
    if (m->clean_cur >= m->cl.rules.n)
        m->clean_cur = m->cl.rules.n ? m->cl.rules.n - 1 : 0;
    model_say(m, "undone: %s", m->cl.have_cleaned ? "back to the data and rules of the apply before"
                                           : "back to the loaded data, no rules applied");
    return DG_OK;
}

/* The MySQL settings start from sources.conf, read once, when MySQL is first
 * chosen or set: later db-set values are not overwritten by a reread. */
int model_need_db(model *m, dg_err *err)
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
int model_set_db_field(dg_mysql_config *c, const char *field, const char *value, dg_err *err)
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

int model_source_by_name(const char *name)
{
    for (int i = 0; i < SRC_COUNT; i++)
        if (strcmp(source_names[i], name) == 0)
            return i;
    return -1;
}

static void say_db(model *m)
{
    const dg_mysql_config *c = &m->db.mysql;
    model_say(m, "source: MySQL%s %s@%s:%u/%s, tls %s; password: %s ({db-set} edits, {db-password} types it, {load} loads)",
        m->src == SRC_MYSQL_S3 ? " + S3" : m->src == SRC_MYSQL_PUSHDOWN ? " (aggregated there)" : "", c->user[0] ? c->user : "(no user)", c->host,
        c->port, c->database, dg_tls_mode_name(c->tls),
        m->password              ? "typed"
        : getenv("MYSQL_PWD")    ? "MYSQL_PWD"
        : m->db.password_file[0] ? "password_file"
        : c->password            ? "sources.conf"
                                 : "none yet");
}

static int do_action(model *m, int id, int argc, char **argv, model_job **job, dg_err *err);

/* Messages name keys as {action-name}: the table gives the key. */
int model_do(model *m, int id, int argc, char **argv, model_job **job, dg_err *err)
{
    int rc = do_action(m, id, argc, argv, job, err);
    if (rc != DG_OK)
        action_keys_expand(err->msg, sizeof err->msg);
    action_keys_expand(m->msg, sizeof m->msg);
    return rc;
}

static int do_action(model *m, int id, int argc, char **argv, model_job **job, dg_err *err)
{
    *job = NULL;
    if (id < 0 || id >= ACT_COUNT)
        return dg_fail(err, "no such action");
    /* The data actions are refused while a job is out: the job reads the
     * data and the sheet it was started on. */
    if (m->busy && action_has(id, ACTION_DATA))
        return dg_fail(err, "a job is running: wait, or cancel it with {cancel-job}");
    model_job *j = NULL;
    sheet *s;
    switch (id) {
    case ACT_UP:
    case ACT_DOWN:
    case ACT_LEFT:
    case ACT_RIGHT:
    case ACT_FIRST_ROW:
    case ACT_LAST_ROW:
        if (model_need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        move_cursor(m, id, argc, argv);
        break;
    case ACT_PAGE_UP:
    case ACT_PAGE_DOWN:
        if (model_need_args(id, argc, 0, 1, err) != DG_OK)
            return DG_ERR;
        move_cursor(m, id, argc, argv);
        break;
    case ACT_NEXT_PANE: m->pane = (m->pane + 1) % PANE_COUNT; break;
    case ACT_CHART_TOGGLE:
        if (model_need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        m->chart[m->pane] = !m->chart[m->pane];
        model_say(m, "%s shows %s", pane_titles[m->pane], m->chart[m->pane] ? "charts" : "sheets");
        break;
    case ACT_PANE_LOAD:
    case ACT_PANE_CLEAN:
    case ACT_PANE_EDA:
    case ACT_PANE_GEO:
    case ACT_PANE_MODELS:
    case ACT_PANE_CAMPAIGNS: m->pane = (pane_id)(id - ACT_PANE_LOAD); break;
    case ACT_CHOOSE_DIR:
        if (model_need_args(id, argc, 1, 1, err) != DG_OK || choose_dir(m, argv[0], err) != DG_OK)
            return DG_ERR;
        break;
    case ACT_SOURCE: {
        if (model_need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        int k = model_source_by_name(argv[0]);
        if (k < 0)
            return dg_fail(err, "no source '%s' (dir, mysql, mysql-s3 or mysql-pushdown)", argv[0]);
        if (k != SRC_DIR && model_need_db(m, err) != DG_OK)
            return DG_ERR;
        m->src = (load_source)k;
        if (k == SRC_DIR) {
            /* A typed password is for the MySQL load only: leaving MySQL forgets it. */
            model_set_password(m, NULL);
            model_say(m, "source: %s ({choose-dir} chooses the directory, {load} loads)",
                m->dir ? m->dir : "a directory");
        } else {
            say_db(m);
        }
        break;
    }
    case ACT_DB_SET: {
        if (model_need_args(id, argc, 2, 2, err) != DG_OK || model_need_db(m, err) != DG_OK)
            return DG_ERR;
        if (model_set_db_field(&m->db.mysql, argv[0], argv[1], err) != DG_OK)
            return DG_ERR;
        char v[300];
        model_say(m, "%s = %s", argv[0], model_db_field(m, argv[0], v, sizeof v));
        break;
    }
    case ACT_DB_PASSWORD:
        if (argc > 0)
            return dg_fail(err, "a password is never an argument (it would be logged): "
                                "{db-password} types it in a masked field");
        model_say(m, "%s", m->password ? "password typed: kept in memory until the next MySQL load, "
                                   "never logged"
                                 : "no password typed: a load takes MYSQL_PWD, the password_file "
                                   "or sources.conf's");
        break;
    case ACT_LOAD:
        if (!(j = load_start(m, id, argc, argv, err)))
            return DG_ERR;
        break;
    case ACT_OPEN_TABLE: {
        if (model_need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        int t = dg_table_by_name(argv[0]);
        if (t < 0)
            return dg_fail(err, "no table '%s'", argv[0]);
        if (!m->loaded)
            return dg_fail(err, "nothing loaded yet ({load} loads the chosen directory)");
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
        model_say(m, "%s: %s rows", argv[0], text_count(s->nrows, rows, sizeof rows));
        break;
    }
    case ACT_SHEET_BACK:
        if (model_need_args(id, argc, 0, 0, err) != DG_OK || !(s = model_need_sheet(m, id, err)))
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
        model_preview_clear(m);
        if (id == ACT_RULE_TOGGLE) {
            v[i].enabled = !v[i].enabled;
            m->clean_cur = i;
            model_say(m, "rule %d %s %s ({clean-apply} applies)", i + 1, dg_rule_keyword(v[i].kind),
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
        model_say(m, "%s is now rule %d ({clean-apply} applies)", dg_rule_keyword(v[to].kind), to + 1);
        break;
    }
    case ACT_RULE_SET:
        if (rule_set(m, argc, argv, err) != DG_OK)
            return DG_ERR;
        break;
    case ACT_CLEAN_APPLY:
    case ACT_CLEAN_PREVIEW:
        if (!(j = clean_start(m, id, argc, argv, err)))
            return DG_ERR;
        break;
    case ACT_CLEAN_UNDO:
        if (model_need_args(id, argc, 0, 0, err) != DG_OK || clean_undo(m, err) != DG_OK)
            return DG_ERR;
        break;
    case ACT_RULES_SAVE:
    case ACT_RULES_LOAD:
        if (model_need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        if ((id == ACT_RULES_SAVE ? rules_save : rules_load)(m, argv[0], err) != DG_OK)
            return DG_ERR;
        break;
    case ACT_EDA_COMPUTE:
    case ACT_DEVICE_FEATURES:
        if (eda_action(m, id, argc, argv, &j, err) != DG_OK)
            return DG_ERR;
        break;
    case ACT_EDA_OPEN: {
        if (model_need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        char *end;
        long n = strtol(argv[0], &end, 10);
        if (!m->have_eda)
            return dg_fail(err, "no EDA tables yet ({eda-compute} computes them)");
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
        model_say(m, "%s: {save} saves its chart and CSV", m->eda.tables[s->table].title);
        break;
    }
    case ACT_SORT:
    case ACT_SORT_DESC:
    case ACT_FREQ:
    case ACT_SEARCH:
    case ACT_SEARCH_NEXT:
        if (sheet_action(m, id, argc, argv, &j, err) != DG_OK)
            return DG_ERR;
        break;
    case ACT_SAVE:
        if (model_need_args(id, argc, 0, 0, err) != DG_OK || save(m, err) != DG_OK)
            return DG_ERR;
        break;
    case ACT_GEO_SAMPLE:
        if (!(j = geo_sample_start(m, id, argc, argv, err)))
            return DG_ERR;
        break;
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
                "the map ({geo-view}: the DBSCAN views)", "DBSCAN clusters ({dbscan-run} runs, {dbscan-view}: the next view)",
                "k-distance curve ({save} saves its PNG)", "eps x minPts sweep ({dbscan-sweep} sweeps, {dbscan-adopt} adopts)"};
            model_say(m, "%s", said[m->dbs.view]);
        }
        break;
    case ACT_DBSCAN_RUN:
    case ACT_DBSCAN_SWEEP:
        if (!(j = dbscan_start(m, id, argc, argv, err)))
            return DG_ERR;
        break;
    case ACT_MODELS_TRAIN:
        if (!(j = models_train_start(m, id, argc, argv, err)))
            return DG_ERR;
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
    case ACT_MODELS_FILTER:
        if (models_action(&m->models, id, argc, argv, m->out_dir, m->msg, sizeof m->msg, err) !=
            DG_OK)
            return DG_ERR;
        if (id == ACT_MODELS_EXPORT)
            snprintf(m->saved, sizeof m->saved, "%.1000s/models", m->out_dir);
        break;
    case ACT_CAMPAIGNS_PREDICT:
        if (!(j = campaigns_predict_start(m, id, argc, argv, err)))
            return DG_ERR;
        break;
    case ACT_REPORT_WRITE:
        if (!(j = report_write_start(m, id, argc, argv, err)))
            return DG_ERR;
        break;
    case ACT_CAMPAIGNS_RULES:
        if (model_need_args(id, argc, 1, 1, err) != DG_OK ||
            campaigns_rules(&m->camp, argv[0], m->out_dir, m->msg, sizeof m->msg, err) != DG_OK)
            return DG_ERR;
        break;
    case ACT_CAMPAIGNS_LOAD: {
        if (model_need_args(id, argc, 1, 1, err) != DG_OK)
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
        if (model_need_args(id, argc, 0, 0, err) != DG_OK ||
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
    if (action_has(id, ACTION_LOG)) {
        char line[1400], rel[PATH_MAX];
        char *largv[1];
        /* A file in the output directory is logged relative to it, as the
         * action reads relative names: a replay with another --out reads its
         * own, not the old folder's. */
        if (file_action(id) && argc == 1) {
            largv[0] = (char *)out_relative(m, argv[0], rel, sizeof rel);
            argv = largv;
        }
        format_line(line, sizeof line, id, argc, argv);
        log_line(m, line);
    }
    return DG_OK;
}

const char *model_job_title(const model_job *j)
{
    return j->title;
}

int model_job_run(model_job *j, const dg_progress *p, dg_err *err)
{
    return j->kind->run(j, p, err);
}

static void finish_job(model *m, model_job *j, int rc, const dg_err *err);

void model_finish(model *m, model_job *j, int rc, const dg_err *err)
{
    finish_job(m, j, rc, err);
    action_keys_expand(m->msg, sizeof m->msg);
}

static void finish_job(model *m, model_job *j, int rc, const dg_err *err)
{
    m->busy = 0;
    if (rc != DG_OK) {
        int cancel = dg_cancelled(err);
        model_say(m, "%s: %s", j->title, cancel ? "cancelled; nothing changed" : err->msg);
        char line[1600];
        snprintf(line, sizeof line, "# %s: %s", cancel ? "cancelled" : "failed", j->line);
        log_line(m, line);
        job_free(j);
        return;
    }
    dg_err e2;
    if (j->kind->finish(m, j, &e2) != DG_OK) {
        model_say(m, "%s: %s", j->title, e2.msg);
        char line[1600];
        snprintf(line, sizeof line, "# failed: %s", j->line);
        log_line(m, line);
        job_free(j);
        return;
    }
    log_line(m, j->line);
    job_free(j);
}

/* Whether a log line is the mark model_open_log writes at a session's start. */
static int session_mark(const char *line)
{
    return strncmp(line, "# demographer ", 14) == 0 && strstr(line, " session, ");
}

/* Whether the file an action writes, FILE as the log gives it, lies inside
 * the output directory once resolved (symlinks, "..", absolute paths): a
 * replay writes only there, whatever an edited log says. */
static int inside_out_dir(const model *m, const char *file)
{
    char joined[PATH_MAX], path[PATH_MAX], od[PATH_MAX];
    out_path(m, file, joined, sizeof joined);
    if (dg_path_resolve(joined, path, sizeof path) != DG_OK ||
        dg_path_resolve(m->out_dir, od, sizeof od) != DG_OK)
        return 0;
    size_t n = strlen(od);
    if (n > 1 && od[n - 1] == '/')
        n--;
    return strncmp(path, od, n) == 0 && path[n] == '/' && path[n + 1];
}

int model_replay(model *m, const char *path, dg_err *err)
{
    return model_replay_sessions(m, path, 0, err);
}

int model_replay_sessions(model *m, const char *path, int all, dg_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return dg_fail(err, "%s: %s", path, strerror(errno));
    char line[8192];
    int lineno = 0, rc = DG_OK, start = 0;
    /* The log is appended to by every session: the last one's mark is where
     * its actions start. A line longer than the buffer is an error, never
     * two lines (its tail would run as an action). */
    if (!all) {
        while (fgets(line, sizeof line, f)) {
            lineno++;
            if (!strchr(line, '\n') && !feof(f)) {
                fclose(f);
                return dg_fail(err, "%s:%d: line longer than %zu bytes", path, lineno,
                               sizeof line - 2);
            }
            if (session_mark(line))
                start = lineno;
        }
        rewind(f);
        lineno = 0;
    }
    while (rc == DG_OK && fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            rc = dg_fail(err, "%s:%d: line longer than %zu bytes", path, lineno,
                         sizeof line - 2);
            break;
        }
        if (lineno < start)
            continue;
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
        } else if (id == ACT_RULES_SAVE && argc == 2 && !inside_out_dir(m, argv[1])) {
            rc = dg_fail(err, "%s:%d: %s %s: refusing to write outside the output directory "
                              "%s (a replay writes only there)",
                         path, lineno, argv[0], argv[1], m->out_dir);
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
