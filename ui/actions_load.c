/* The Load pane's actions: the directory, the MySQL or the ClickHouse source
 * and its settings, load (a job of jobs_data.c), and a table opened as a
 * sheet. */
#include "model_actions.h"

#include "text.h"

#include "demographer/source_mysql.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One ClickHouse field (url, user, database, cluster) set in c, or an error
 * that leaves c as it was. The names that enter SQL are checked as the
 * command line checks them (dg_ch_config_check). */
int model_set_ch_field(dg_ch_config *c, const char *field, const char *value, dg_err *err)
{
    dg_ch_config t = *c;
    t.password = NULL;
    char *dst = strcmp(field, "url") == 0        ? t.url
                : strcmp(field, "user") == 0     ? t.user
                : strcmp(field, "database") == 0 ? t.database
                : strcmp(field, "cluster") == 0  ? t.cluster
                                                 : NULL;
    size_t cap = strcmp(field, "url") == 0    ? sizeof t.url
                 : strcmp(field, "user") == 0 ? sizeof t.user
                                              : sizeof t.database;
    if (!dst)
        return dg_fail(err, "no ClickHouse field '%s' (url, user, database, cluster)", field);
    if (strlen(value) >= cap)
        return dg_fail(err, "%s: too long (at most %zu bytes)", field, cap - 1);
    snprintf(dst, cap, "%s", value);
    /* The user may still be empty while the fields are filled in turn. */
    if (!t.user[0])
        snprintf(t.user, sizeof t.user, "-");
    if (dg_ch_config_check(&t, err) != DG_OK)
        return DG_ERR;
    snprintf(t.user, sizeof t.user, "%s", strcmp(field, "user") == 0 ? value : c->user);
    t.password = c->password;
    *c = t;
    return DG_OK;
}

int model_source_by_name(const char *name)
{
    for (int i = 0; i < SRC_COUNT; i++)
        if (strcmp(source_names[i], name) == 0)
            return i;
    return -1;
}

const char *model_source_names(char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < SRC_COUNT && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s",
                                i == 0 ? "" : i == SRC_COUNT - 1 ? " or " : ", ", source_names[i]);
    return buf;
}

/* 0 for the directory, 1 for MySQL's sources, 2 for ClickHouse. */
static int engine_of(load_source src)
{
    return src == SRC_DIR ? 0 : src == SRC_CH_PUSHDOWN ? 2 : 1;
}

/* Where the password of a load of source src will come from. */
static const char *password_from(const model *m, load_source src)
{
    if (m->password)
        return "typed";
    if (src == SRC_CH_PUSHDOWN)
        return getenv("CLICKHOUSE_PASSWORD") ? "CLICKHOUSE_PASSWORD"
               : m->db.ch_password_file[0]   ? "password_file"
               : m->db.clickhouse.password   ? "sources.conf"
                                             : "none yet";
    return getenv("MYSQL_PWD")        ? "MYSQL_PWD"
           : m->db.password_file[0]   ? "password_file"
           : m->db.mysql.password     ? "sources.conf"
                                      : "none yet";
}

static void say_db(model *m)
{
    if (m->src == SRC_CH_PUSHDOWN) {
        const dg_ch_config *h = &m->db.clickhouse;
        model_say(m, "source: ClickHouse (aggregated there) %s@%s, database %s, cluster %s; "
                     "password: %s ({db-set} edits, {db-password} types it, {load} loads)",
                  h->user[0] ? h->user : "(no user)", h->url, h->database, h->cluster,
                  password_from(m, m->src));
        return;
    }
    const dg_mysql_config *c = &m->db.mysql;
    model_say(m, "source: MySQL%s %s@%s:%u/%s, tls %s; password: %s ({db-set} edits, {db-password} types it, {load} loads)",
        m->src == SRC_MYSQL_S3 ? " + S3" : m->src == SRC_MYSQL_PUSHDOWN ? " (aggregated there)" : "", c->user[0] ? c->user : "(no user)", c->host,
        c->port, c->database, dg_tls_mode_name(c->tls), password_from(m, m->src));
}

int load_context_action(model *m, int id, int argc, char **argv, model_job **job, dg_err *err)
{
    switch (id) {
    case ACT_CHOOSE_DIR:
        if (model_need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        return choose_dir(m, argv[0], err);
    case ACT_SOURCE: {
        if (model_need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        int k = model_source_by_name(argv[0]);
        char names[80];
        if (k < 0)
            return dg_fail(err, "no source '%s' (%s)", argv[0],
                           model_source_names(names, sizeof names));
        if (k != SRC_DIR && model_need_db(m, err) != DG_OK)
            return DG_ERR;
        /* A typed password is for its engine's load only: another engine
         * (or the directory) forgets it. */
        if (engine_of((load_source)k) != engine_of(m->src))
            model_set_password(m, NULL);
        m->src = (load_source)k;
        if (k == SRC_DIR) {
            model_say(m, "source: %s ({choose-dir} chooses the directory, {load} loads)",
                m->dir ? m->dir : "a directory");
        } else {
            say_db(m);
        }
        return DG_OK;
    }
    case ACT_DB_SET: {
        if (model_need_args(id, argc, 2, 2, err) != DG_OK || model_need_db(m, err) != DG_OK)
            return DG_ERR;
        if (m->src == SRC_CH_PUSHDOWN
                ? model_set_ch_field(&m->db.clickhouse, argv[0], argv[1], err) != DG_OK
                : model_set_db_field(&m->db.mysql, argv[0], argv[1], err) != DG_OK)
            return DG_ERR;
        char v[300];
        model_say(m, "%s = %s", argv[0], model_db_field(m, argv[0], v, sizeof v));
        return DG_OK;
    }
    case ACT_DB_PASSWORD:
        if (argc > 0)
            return dg_fail(err, "a password is never an argument (it would be logged): "
                                "{db-password} types it in a masked field");
        model_say(m, "%s", m->password ? "password typed: kept in memory until the next load, "
                                   "never logged"
                     : m->src == SRC_CH_PUSHDOWN
                         ? "no password typed: a load takes CLICKHOUSE_PASSWORD, the "
                           "password_file or sources.conf's"
                         : "no password typed: a load takes MYSQL_PWD, the password_file "
                           "or sources.conf's");
        return DG_OK;
    case ACT_LOAD: return (*job = load_start(m, id, argc, argv, err)) ? DG_OK : DG_ERR;
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
        sheet *s = &m->sheets[m->nsheets++];
        memset(s, 0, sizeof *s);
        s->kind = SHEET_TABLE;
        s->table = t;
        s->sort_col = -1;
        s->search_col = -1;
        s->nrows = m->ds.tables[t].nrows;
        m->load_cur = t;
        char rows[32];
        model_say(m, "%s: %s rows", argv[0], text_count(s->nrows, rows, sizeof rows));
        return DG_OK;
    }
    default: return model_not_here(id, "load", err);
    }
}
