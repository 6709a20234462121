/* The data jobs' kinds: load (a directory, the MySQL tables with or without
 * the two S3 objects, or a MySQL server's or ClickHouse cluster's per-device
 * aggregates; then every table described), clean-preview and clean-apply
 * (the rules applied to a fresh load of the directory, or to a copy of the
 * tables loaded from a database). Each is start, run, finish and
 * free over the job's own state (data_job). */
#include "model_job.h"

#include "text.h"

#include "demographer/pushdown.h"
#include "demographer/source_clickhouse.h"
#include "demographer/source_http.h"
#include "demographer/source_mysql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct data_job {
    /* load */
    char *dir;
    int db, s3;              /* from MySQL (and the S3 objects) instead of dir */
    load_source kind;        /* ...the source, db set */
    dg_sources_config dbcfg; /* ...its settings and password (wiped when freed) */
    char s3paths[2][4096];
    dg_load_opts opts;
    dg_dataset ds;
    dg_tablestats stats[DG_T_COUNT];
    /* clean-apply: the rules applied to a fresh load (ds) and what each did */
    dg_rules rules;
    dg_rule_effect *effects;
    /* clean-apply, clean-preview: the loaded tables to clean a copy of (MySQL) */
    const dg_dataset *src;
    /* load mysql-pushdown, clickhouse-pushdown: the features the server's
     * aggregates give, with the rules (above) applied there and on the small
     * tables; ch: on the ClickHouse cluster of dbcfg.clickhouse */
    int pushdown, ch;
    char *supercats_path;
    dg_features feat;
    int have_feat;
    dg_pushdown_report pdrep;
} data_job;

static data_job *data_job_new(void)
{
    data_job *d = dg_xcalloc(1, sizeof *d);
    dg_dataset_init(&d->ds);
    dg_sources_config_init(&d->dbcfg);
    return d;
}

static void data_job_free(data_job *d)
{
    if (!d)
        return;
    free(d->dir);
    free(d->supercats_path);
    if (d->have_feat)
        dg_features_free(&d->feat);
    dg_sources_config_free(&d->dbcfg);
    dg_dataset_free(&d->ds);
    dg_rules_free(&d->rules);
    free(d->effects);
    free(d);
}

static void data_kind_free(model_job *j)
{
    data_job_free(j->data);
}

/* ---- load ------------------------------------------------------------------- */

/* The MySQL load, as `demographer load-db` does it: the two S3 objects
 * first when asked (bytes, per file), then the tables (rows). The password is
 * wiped as soon as the server has had it, whatever the outcome. */
static int load_db(data_job *d, const dg_progress *p, dg_err *err)
{
    dg_mysql_load_opts lo = {.progress = p};
    if (d->s3) {
        const char *urls[2] = {d->dbcfg.labels_url, d->dbcfg.categories_url};
        dg_http_opts ho = {.progress = p};
        if (d->dbcfg.cache_dir[0])
            ho.cache_dir = d->dbcfg.cache_dir;
        for (int i = 0; i < 2; i++) {
            dg_http_result r;
            if (dg_http_fetch(urls[i], &ho, &r, err) != DG_OK) {
                dg_mysql_config_set_password(&d->dbcfg.mysql, NULL);
                return DG_ERR;
            }
            snprintf(d->s3paths[i], sizeof d->s3paths[i], "%s", r.path);
        }
        lo.files[DG_T_APP_LABELS] = d->s3paths[0];
        lo.files[DG_T_LABEL_CATEGORIES] = d->s3paths[1];
    }
    int rc = dg_mysql_load(&d->ds, &d->dbcfg.mysql, &lo, err);
    dg_mysql_config_set_password(&d->dbcfg.mysql, NULL);
    return rc;
}

/* The MySQL server's or the ClickHouse cluster's per-device aggregates, as
 * `demographer features --db [--engine clickhouse]` computes them: the event
 * tables stay there. A cancel (p) stops the query; on ClickHouse it is killed
 * on the server by its query_id. */
static int load_pushdown(data_job *d, const dg_progress *p, dg_err *err)
{
    dg_supercats sc;
    memset(&sc, 0, sizeof sc);
    int rc = d->supercats_path ? dg_supercats_load(&sc, d->supercats_path, err) : DG_OK;
    if (rc == DG_OK && d->ch)
        rc = dg_features_pushdown_clickhouse(&d->dbcfg.clickhouse, &d->rules,
                                             d->supercats_path ? &sc : NULL,
                                             DG_CLUSTER_EPS_KM_DEFAULT,
                                             DG_CLUSTER_MIN_PTS_DEFAULT, &d->feat, &d->ds, NULL,
                                             &d->pdrep, p, err);
    else if (rc == DG_OK)
        rc = dg_features_pushdown(&d->dbcfg.mysql, &d->rules, d->supercats_path ? &sc : NULL,
                                  DG_CLUSTER_EPS_KM_DEFAULT, DG_CLUSTER_MIN_PTS_DEFAULT,
                                  &d->feat, &d->ds, NULL, &d->pdrep, p, err);
    dg_mysql_config_set_password(&d->dbcfg.mysql, NULL);
    dg_ch_config_set_password(&d->dbcfg.clickhouse, NULL);
    dg_supercats_free(&sc);
    d->have_feat = rc == DG_OK;
    return rc;
}

static int load_run(model_job *j, const dg_progress *p, dg_err *err)
{
    data_job *d = j->data;
    d->opts.progress = p;
    if (d->pushdown) {
        if (load_pushdown(d, p, err) != DG_OK)
            return DG_ERR;
    } else if (d->db) {
        if (load_db(d, p, err) != DG_OK)
            return DG_ERR;
    } else if (dg_dataset_load(&d->ds, d->dir, &d->opts, err) != DG_OK) {
        return DG_ERR;
    }
    for (int t = 0; t < DG_T_COUNT; t++) {
        if (!d->ds.present[t])
            continue;
        char name[64];
        snprintf(name, sizeof name, "describe %s", dg_tables[t].name);
        dg_progress_stage stage;
        if (dg_describe_table(&d->ds.tables[t], &d->stats[t],
                              dg_progress_restage(&stage, p, name), err) != DG_OK)
            return DG_ERR;
    }
    return DG_OK;
}

static int load_finish(model *m, model_job *j, dg_err *err)
{
    (void)err;
    data_job *d = j->data;
    char n1[32];
    model_close_sheets(m);
    /* What was made from the old data goes with it. */
    model_clean_forget_data(m);
    model_eda_clear(m);
    model_forget_pushed(m);
    if (d->have_feat) {
        m->pushed = d->feat;
        m->have_pushed = 1;
        d->have_feat = 0;
    }
    geo_forget(&m->geo);
    dbscan_forget(&m->dbs);
    dg_dataset_free(&m->ds);
    m->ds = d->ds;
    dg_dataset_init(&d->ds);
    memcpy(m->stats, d->stats, sizeof m->stats);
    m->loaded = 1;
    m->data_gen++; /* what was trained on the old data no longer fits it */
    m->from_db = d->db ? d->kind : SRC_DIR;
    uint64_t rows = 0;
    for (int t = 0; t < DG_T_COUNT; t++)
        rows += m->ds.present[t] ? m->ds.tables[t].nrows : 0;
    text_count(rows, n1, sizeof n1);
    if (m->have_pushed) {
        uint64_t agg = 0;
        for (int q = 0; q < DG_PD_NQUERIES; q++)
            agg += d->pdrep.rows[q];
        char n2[32];
        text_count(agg, n2, sizeof n2);
        model_say(m, "aggregated on %s %s: %s per-device rows and %s rows of the small "
                     "tables; %d cleaning rules applied there (the events stay on the server)",
                  d->ch ? "ClickHouse" : "MySQL", m->ds.dir, n2, n1, d->rules.n);
        return DG_OK;
    }
    model_say(m, "loaded %s rows from %s%s%s", n1, m->ds.from_snapshot ? "the snapshot of " : "",
        d->db ? "MySQL " : "", d->db ? m->ds.dir : m->dir);
    return DG_OK;
}

static const job_kind load_kind = {load_run, load_finish, data_kind_free};

/* One of load's KEY=VALUE arguments: DG_OK with the key copied and *value
 * after the '=', 1 for a record to skip, DG_ERR for no KEY=VALUE. Where the
 * password came from (password-from) is a record, not a setting: a replay
 * takes the environment's or the password file's. */
static int load_setting(const char *arg, char *key, size_t size, const char **value, dg_err *err)
{
    const char *eq = strchr(arg, '=');
    if (!eq || (size_t)(eq - arg) >= size)
        return dg_fail(err, "load: expected KEY=VALUE, got '%s'", arg);
    snprintf(key, size, "%.*s", (int)(eq - arg), arg);
    *value = eq + 1;
    return strcmp(key, "password-from") == 0 ? 1 : DG_OK;
}

/* A MySQL load job: the settings (load's KEY=VALUE arguments over the
 * model's, validated on a copy so a bad one changes nothing), the password
 * (the typed one, else MYSQL_PWD, the password_file or sources.conf, as the
 * command line takes it) and a log line that says where the password came
 * from, never what it is. The typed password is wiped once the job has it. */
static model_job *db_load_job(model *m, int kind, int argc, char **argv, dg_err *err)
{
    if (model_need_db(m, err) != DG_OK)
        return NULL;
    dg_mysql_config c = m->db.mysql;
    c.password = NULL;
    for (int i = 1; i < argc; i++) {
        char key[64];
        const char *value = NULL;
        int rc = load_setting(argv[i], key, sizeof key, &value, err);
        if (rc == DG_ERR || (rc == DG_OK && model_set_db_field(&c, key, value, err) != DG_OK))
            return NULL;
    }
    data_job *d = data_job_new();
    d->db = 1;
    d->kind = (load_source)kind;
    d->s3 = kind == SRC_MYSQL_S3;
    d->pushdown = kind == SRC_MYSQL_PUSHDOWN;
    if (d->pushdown) { /* the Clean pane's rules run in the server's queries */
        model_rules_copy(&d->rules, &m->cl.rules);
        if (m->models.supercats_path)
            d->supercats_path = dg_xstrdup(m->models.supercats_path);
    }
    d->dbcfg = m->db;
    d->dbcfg.clickhouse.password = NULL; /* the model's, not the job's */
    d->dbcfg.mysql = c;
    const char *from = "prompt";
    if (m->password) {
        dg_mysql_config_set_password(&d->dbcfg.mysql, m->password);
    } else {
        if (m->db.mysql.password)
            dg_mysql_config_set_password(&d->dbcfg.mysql, m->db.mysql.password);
        if (dg_sources_password(&d->dbcfg, NULL, &from, err) != DG_OK) {
            data_job_free(d);
            return NULL;
        }
    }
    model_set_password(m, NULL);
    /* Committed: the pane shows what was loaded. */
    char *keep = m->db.mysql.password;
    m->db.mysql = c;
    m->db.mysql.password = keep;
    m->src = (load_source)kind;
    /* The line is written here, not from the arguments: it records where
     * the password came from. */
    model_job *j = model_job_new(ACT_LOAD, 0, NULL, &load_kind);
    j->data = d;
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
             d->s3 ? " + S3" : d->pushdown ? " (aggregated there)" : "");
    return j;
}

/* A ClickHouse load job (clickhouse-pushdown), as db_load_job for MySQL: the
 * settings (load's KEY=VALUE over the model's, on a copy), the password
 * (typed, else CLICKHOUSE_PASSWORD, the password_file or sources.conf's) and
 * a log line that says where it came from. */
static model_job *ch_load_job(model *m, int argc, char **argv, dg_err *err)
{
    if (model_need_db(m, err) != DG_OK)
        return NULL;
    dg_ch_config c = m->db.clickhouse;
    c.password = NULL;
    for (int i = 1; i < argc; i++) {
        char key[64];
        const char *value = NULL;
        int rc = load_setting(argv[i], key, sizeof key, &value, err);
        if (rc == DG_ERR || (rc == DG_OK && model_set_ch_field(&c, key, value, err) != DG_OK))
            return NULL;
    }
    if (dg_ch_config_check(&c, err) != DG_OK)
        return NULL;
    data_job *d = data_job_new();
    d->db = d->pushdown = d->ch = 1;
    d->kind = SRC_CH_PUSHDOWN;
    model_rules_copy(&d->rules, &m->cl.rules);
    if (m->models.supercats_path)
        d->supercats_path = dg_xstrdup(m->models.supercats_path);
    d->dbcfg = m->db;
    d->dbcfg.mysql.password = NULL; /* the model's, not the job's */
    d->dbcfg.clickhouse = c;
    const char *from = "prompt";
    if (m->password) {
        dg_ch_config_set_password(&d->dbcfg.clickhouse, m->password);
    } else {
        if (m->db.clickhouse.password)
            dg_ch_config_set_password(&d->dbcfg.clickhouse, m->db.clickhouse.password);
        if (dg_sources_ch_password(&d->dbcfg, NULL, &from, err) != DG_OK) {
            data_job_free(d);
            return NULL;
        }
    }
    if (!d->dbcfg.clickhouse.password) {
        dg_fail(err, "no ClickHouse password: {db-password} types it, or set "
                     "CLICKHOUSE_PASSWORD or sources.conf's [clickhouse] password_file");
        data_job_free(d);
        return NULL;
    }
    model_set_password(m, NULL);
    char *keep = m->db.clickhouse.password;
    m->db.clickhouse = c;
    m->db.clickhouse.password = keep;
    m->src = SRC_CH_PUSHDOWN;
    model_job *j = model_job_new(ACT_LOAD, 0, NULL, &load_kind);
    j->data = d;
    snprintf(j->line, sizeof j->line, "load %s url=", source_names[SRC_CH_PUSHDOWN]);
    model_quote(c.url, j->line, sizeof j->line);
    size_t o = strlen(j->line);
    snprintf(j->line + o, sizeof j->line - o, " user=");
    model_quote(c.user, j->line, sizeof j->line);
    o = strlen(j->line);
    snprintf(j->line + o, sizeof j->line - o, " database=%s cluster=%s password-from=%s",
             c.database, c.cluster, from);
    snprintf(j->title, sizeof j->title, "loading %.50s %.30s (aggregated there)", c.url,
             c.database);
    return j;
}

model_job *load_start(model *m, int id, int argc, char **argv, dg_err *err)
{
    if (model_need_args(id, argc, 0, 8, err) != DG_OK)
        return NULL;
    int kind = argc ? model_source_by_name(argv[0]) : (int)m->src;
    if (kind < 0) {
        char names[80];
        dg_fail(err, "no source '%s' (%s)", argv[0], model_source_names(names, sizeof names));
        return NULL;
    }
    if (kind == SRC_CH_PUSHDOWN)
        return ch_load_job(m, argc, argv, err);
    if (kind != SRC_DIR)
        return db_load_job(m, kind, argc, argv, err);
    if (argc > 1) {
        dg_fail(err, "load dir takes no settings (choose-dir chooses the directory)");
        return NULL;
    }
    if (!m->dir) {
        dg_fail(err, "no data directory chosen yet ({choose-dir} chooses one)");
        return NULL;
    }
    model_job *j = model_job_new(id, argc, argv, &load_kind);
    data_job *d = data_job_new();
    j->data = d;
    d->dir = dg_xstrdup(m->dir);
    d->opts.use_snapshot = m->use_snapshot;
    d->opts.cache_dir = m->cache_dir;
    snprintf(j->title, sizeof j->title, "loading");
    m->src = SRC_DIR;
    return j;
}

/* ---- clean-preview, clean-apply ------------------------------------------------ */

static int clean_run(model_job *j, const dg_progress *p, dg_err *err)
{
    data_job *d = j->data;
    d->opts.progress = p;
    if (d->src) {
        /* The data actions wait while a job is out: src stays as it is. */
        dg_dataset_free(&d->ds);
        dg_dataset_copy(&d->ds, d->src);
    } else if (dg_dataset_load(&d->ds, d->dir, &d->opts, err) != DG_OK) {
        return DG_ERR;
    }
    return dg_clean(&d->ds, &d->rules, d->effects, p, err);
}

static int preview_finish(model *m, model_job *j, dg_err *err)
{
    (void)err;
    data_job *d = j->data;
    char n1[32];
    /* Only the counts stay: the cleaned copy goes with the job, and the
     * loaded and cleaned data are as they were. */
    model_preview_clear(m);
    m->preview = d->effects;
    d->effects = NULL;
    uint64_t rows = 0;
    for (int i = 0; i < d->rules.n; i++)
        rows += m->preview[i].rows_changed;
    model_say(m, "preview: the %d rules would change %s rows ({clean-apply} applies them)",
        d->rules.n, text_count(rows, n1, sizeof n1));
    return DG_OK;
}

static int apply_finish(model *m, model_job *j, dg_err *err)
{
    (void)err;
    data_job *d = j->data;
    model_preview_clear(m);
    /* The state before goes to undo; its rules are those of the apply
     * before (or, with none, the ones just applied). */
    clean_state old = m->cl;
    if (old.applied.n) {
        dg_rules_free(&old.rules);
        model_rules_copy(&old.rules, &old.applied);
    }
    model_clean_state_free(&m->undo);
    m->undo = old;
    m->can_undo = 1;
    memset(&m->cl, 0, sizeof m->cl);
    model_rules_copy(&m->cl.rules, &d->rules);
    m->cl.applied = d->rules;
    memset(&d->rules, 0, sizeof d->rules);
    m->cl.effects = d->effects;
    d->effects = NULL;
    m->cl.cleaned = d->ds;
    dg_dataset_init(&d->ds);
    m->cl.have_cleaned = 1;
    m->data_gen++;
    int on = 0;
    for (int i = 0; i < m->cl.applied.n; i++)
        on += m->cl.applied.v[i].enabled;
    model_say(m, "applied %d of %d rules; the EDA pane now uses the cleaned data ({clean-undo} "
        "undoes)", on, m->cl.applied.n);
    return DG_OK;
}

static const job_kind preview_kind = {clean_run, preview_finish, data_kind_free};
static const job_kind apply_kind = {clean_run, apply_finish, data_kind_free};

model_job *clean_start(model *m, int id, int argc, char **argv, dg_err *err)
{
    if (model_need_args(id, argc, 0, 0, err) != DG_OK)
        return NULL;
    if (!m->loaded) {
        dg_fail(err, "nothing loaded yet ({pane-load} goes to the Load pane, {load} loads)");
        return NULL;
    }
    if (m->have_pushed) {
        dg_fail(err, "the data was aggregated on the server with the rules of its load: "
                     "{load} again to apply these");
        return NULL;
    }
    /* The job cleans a fresh load of the same directory (the snapshot
     * makes it fast), never the loaded tables: a cancel or a failure
     * leaves them, and the cleaned data of the last apply, as they were.
     * Data from MySQL cannot be read again (its password is gone): the
     * job cleans a copy of the loaded tables instead. */
    model_job *j = model_job_new(id, argc, argv,
                                 id == ACT_CLEAN_APPLY ? &apply_kind : &preview_kind);
    data_job *d = data_job_new();
    j->data = d;
    if (m->from_db)
        d->src = &m->ds;
    else
        d->dir = dg_xstrdup(m->ds.dir);
    d->opts.use_snapshot = m->use_snapshot;
    d->opts.cache_dir = m->cache_dir;
    model_rules_copy(&d->rules, &m->cl.rules);
    d->effects = dg_xcalloc((size_t)d->rules.n + 1, sizeof *d->effects);
    snprintf(j->title, sizeof j->title, "%s",
             id == ACT_CLEAN_PREVIEW ? "previewing the rules" : "cleaning");
    return j;
}
