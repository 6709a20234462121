#include "model.h"
#include "workspace.h"
#include "model_charts.h"
#include "model_actions.h"

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

const char *const pane_titles[PANE_COUNT] = {
#define PANE(id, name, title, key, ops) title,
#include "panes.def"
#undef PANE
};
const char *const pane_names[PANE_COUNT] = {
#define PANE(id, name, title, key, ops) name,
#include "panes.def"
#undef PANE
};
const char *const source_names[SRC_COUNT] = {"dir", "mysql", "mysql-s3", "mysql-pushdown",
                                             "clickhouse-pushdown"};
const char *const db_fields[] = {"host", "port", "database", "user", "tls", NULL};
const char *const ch_fields[] = {"url", "user", "database", "cluster", NULL};

const char *const *model_fields(load_source src)
{
    return src == SRC_CH_PUSHDOWN ? ch_fields : db_fields;
}

const char *model_engine_name(load_source src)
{
    return src == SRC_CH_PUSHDOWN ? "ClickHouse" : "MySQL";
}


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
    if (m->src == SRC_CH_PUSHDOWN) {
        const dg_ch_config *h = &m->db.clickhouse;
        snprintf(buf, cap, "%s",
                 strcmp(field, "url") == 0        ? h->url
                 : strcmp(field, "user") == 0     ? h->user
                 : strcmp(field, "database") == 0 ? h->database
                 : strcmp(field, "cluster") == 0  ? h->cluster
                                                  : "");
        return buf;
    }
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

void model_sheet_free(sheet *s)
{
    free(s->order);
    dg_freq_free(&s->freq);
    memset(s, 0, sizeof *s);
}

void model_close_sheets(model *m)
{
    while (m->nsheets > 0)
        model_sheet_free(&m->sheets[--m->nsheets]);
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
        model_sheet_free(&m->eda_sheet);
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
    free(m->workspace_text);
    model_set_password(m, NULL);
    dg_sources_config_free(&m->db);
    if (m->log)
        fclose(m->log);
    memset(m, 0, sizeof *m);
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
    } else if (m->pane == PANE_GEO && m->dbs.view == GEO_VIEW_CLUSTERS) {
        list = &m->dbs.cluster_cur;
        len = m->dbs.have_run ? m->dbs.report.clusters : 0;
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

model_job *model_job_new(int id, int argc, char **argv, const job_kind *kind)
{
    model_job *j = dg_xcalloc(1, sizeof *j);
    j->kind = kind;
    j->id = id;
    model_format_line(j->line, sizeof j->line, id, argc, argv);
    return j;
}

static void job_free(model_job *j)
{
    if (j->kind && j->kind->free)
        j->kind->free(j);
    free(j);
}

sheet *model_need_sheet(model *m, int id, dg_err *err)
{
    sheet *s = model_sheet(m);
    if (!s)
        dg_fail(err, "%s works on an open table sheet", actions[id].name);
    return s;
}

void model_out_path(const model *m, const char *file, char *out, size_t cap)
{
    if (file[0] == '/')
        snprintf(out, cap, "%s", file);
    else
        snprintf(out, cap, "%s/%s", m->out_dir, file);
}

static int do_action(model *m, int id, int argc, char **argv, model_job **job, dg_err *err);

/* After a change: the workspace follows (a failure to write it is said, the
 * action stands). */
static void keep_workspace(model *m)
{
    dg_err err;
    if (m->keep_workspace && workspace_save(m, &err) != DG_OK) {
        size_t o = strlen(m->msg);
        snprintf(m->msg + o, sizeof m->msg - o, "%sworkspace not saved: %s", o ? "; " : "",
                 err.msg);
    }
}

/* Messages name keys as {action-name}: the table gives the key. */
int model_do(model *m, int id, int argc, char **argv, model_job **job, dg_err *err)
{
    int rc = do_action(m, id, argc, argv, job, err);
    if (rc != DG_OK)
        action_keys_expand(err->msg, sizeof err->msg);
    else if (!*job)
        keep_workspace(m);
    action_keys_expand(m->msg, sizeof m->msg);
    return rc;
}

/* The actions of context "global": moving, the panes, the chart toggle,
 * save and the report. The screen's own (help, command, quit, cancel-job,
 * redraw, row-detail) change nothing here but are logged when the table
 * says so. */
static int global_action(model *m, int id, int argc, char **argv, model_job **job, dg_err *err)
{
    switch (id) {
    case ACT_UP:
    case ACT_DOWN:
    case ACT_LEFT:
    case ACT_RIGHT:
    case ACT_FIRST_ROW:
    case ACT_LAST_ROW:
    case ACT_PAGE_UP:
    case ACT_PAGE_DOWN:
        if (model_need_args(id, argc, 0, id == ACT_PAGE_UP || id == ACT_PAGE_DOWN, err) != DG_OK)
            return DG_ERR;
        move_cursor(m, id, argc, argv);
        return DG_OK;
    case ACT_NEXT_PANE: m->pane = (m->pane + 1) % PANE_COUNT; return DG_OK;
    case ACT_CHART_TOGGLE:
        if (model_need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        m->chart[m->pane] = !m->chart[m->pane];
        model_say(m, "the %s pane shows its views as %s ({chart-toggle}: as %s; the arrows "
                     "scroll)",
                  pane_titles[m->pane], m->chart[m->pane] ? "charts" : "tables",
                  m->chart[m->pane] ? "tables" : "charts");
        return DG_OK;
#define PANE(pid, name, title, key, ops) case ACT_PANE_##pid:
#include "panes.def"
#undef PANE
        m->pane = (pane_id)(id - ACT_PANE_LOAD);
        return DG_OK;
    case ACT_SAVE:
        if (model_need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        return model_save(m, err);
    case ACT_REPORT_WRITE:
        return (*job = report_write_start(m, id, argc, argv, err)) ? DG_OK : DG_ERR;
    default:
        if (strcmp(actions[id].ctx, "global") != 0)
            return model_not_here(id, "global", err);
        /* help, command, quit, cancel-job, redraw, row-detail: the screen's. */
        return DG_OK;
    }
}

int model_not_here(int id, const char *ctx, dg_err *err)
{
    return dg_fail(err, "%s is not a %s action (its context is %s)", actions[id].name, ctx,
                   actions[id].ctx);
}

static const struct {
    const char *ctx;
    model_handler *handle;
} context_handlers[] = {
    {"global", global_action},
    {"load", load_context_action},
    {"clean", clean_context_action},
    {"eda", eda_context_action},
    {"geo", geo_context_action},
    {"dbscan", dbscan_context_action},
    {"models", models_context_action},
    {"campaigns", campaigns_context_action},
    {"sheet", sheet_context_action},
};

model_handler *model_context_handler(const char *ctx)
{
    for (size_t i = 0; i < sizeof context_handlers / sizeof context_handlers[0]; i++)
        if (strcmp(context_handlers[i].ctx, ctx) == 0)
            return context_handlers[i].handle;
    return NULL;
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
    model_handler *handle = model_context_handler(actions[id].ctx);
    model_job *j = NULL;
    /* help and prompt actions are the screen's alone. */
    if (handle && handle(m, id, argc, argv, &j, err) != DG_OK)
        return DG_ERR;
    if (j) {
        m->busy = 1;
        *job = j;
        return DG_OK;
    }
    model_log_action(m, id, argc, argv);
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
    if (rc == DG_OK)
        keep_workspace(m);
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
        model_log_line(m, line);
        job_free(j);
        return;
    }
    dg_err e2;
    if (j->kind->finish(m, j, &e2) != DG_OK) {
        model_say(m, "%s: %s", j->title, e2.msg);
        char line[1600];
        snprintf(line, sizeof line, "# failed: %s", j->line);
        model_log_line(m, line);
        job_free(j);
        return;
    }
    model_log_line(m, j->line);
    job_free(j);
}
