/* features --db (pushdown.h) against a real MariaDB (scripts/mariadb.sh) and a
 * Spider cluster (scripts/spider.sh: a head and two data nodes): one generated
 * set is imported, then its features are computed from the CSV files and on
 * the server, under several cleaning rule lists, and compared byte for byte,
 * together with the design matrices built from them. Skipped, with a message,
 * when DG_MYSQL_HOST is not set; the Spider test skips without
 * DG_SPIDER_PORT. */
#define _GNU_SOURCE
#include "testutil.h"

#include "demographer/clean.h"
#include "demographer/design.h"
#include "demographer/export_sql.h"
#include "demographer/i64map.h"
#include "demographer/pushdown.h"
#include "demographer/train.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const rule_lists[] = {
    NULL, /* the default rules */
    "",   /* --no-clean */
    "time-window from=2016-05-02T06:00:00 to=2016-05-06T00:00:00\nzero-coords\n"
    "unknown-device-events\n",
    "unit-box-coords\nlabels-without-phone\nimpute-median\n"
    "time-window from=2016-05-01T00:00:00 to=2016-05-08T00:00:00\n",
};
#define NLISTS (sizeof rule_lists / sizeof *rule_lists)

static void config(dg_mysql_config *c, const char *prefix, const char *db)
{
    char k[64];
    dg_mysql_config_init(c);
    snprintf(k, sizeof k, "%s_HOST", prefix);
    snprintf(c->host, sizeof c->host, "%s", getenv(k));
    snprintf(k, sizeof k, "%s_PORT", prefix);
    c->port = (unsigned)atoi(getenv(k));
    snprintf(k, sizeof k, "%s_USER", prefix);
    snprintf(c->user, sizeof c->user, "%s", getenv(k));
    snprintf(c->database, sizeof c->database, "%s", db);
    c->tls = DG_TLS_DISABLED;
    snprintf(k, sizeof k, "%s_PASSWORD_FILE", prefix);
    dg_err err;
    if (dg_mysql_password_from_file(c, getenv(k), &err) != DG_OK)
        fail_msg("%s", err.msg);
}

/* The mariadb client's command line for PREFIX's server (the password from
 * its file, never on the command line). */
static void client(char *cmd, size_t size, const char *prefix, const char *db)
{
    char k[4][64];
    snprintf(k[0], 64, "%s_PASSWORD_FILE", prefix);
    snprintf(k[1], 64, "%s_HOST", prefix);
    snprintf(k[2], 64, "%s_PORT", prefix);
    snprintf(k[3], 64, "%s_USER", prefix);
    snprintf(cmd, size, "MYSQL_PWD=\"$(cat '%s')\" mariadb --no-defaults -h %s -P %s -u %s %s",
             getenv(k[0]), getenv(k[1]), getenv(k[2]), getenv(k[3]), db);
}

static void sql(const char *prefix, const char *db, const char *stmt)
{
    char cl[2048], cmd[8192];
    client(cl, sizeof cl, prefix, db);
    snprintf(cmd, sizeof cmd, "%s -e \"%s\"", cl, stmt);
    char *out = NULL;
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("mariadb failed (%d): %s", rc, out);
    free(out);
}

static void import_dir(const char *prefix, const char *dir, const char *db)
{
    char cmd[16384], *out = NULL, k[4][64];
    snprintf(k[0], 64, "%s_PASSWORD_FILE", prefix);
    snprintf(k[1], 64, "%s_HOST", prefix);
    snprintf(k[2], 64, "%s_PORT", prefix);
    snprintf(k[3], 64, "%s_USER", prefix);
    snprintf(cmd, sizeof cmd,
             "%s mysql-import '%s' --quiet --tls disabled --host %s --port %s --user %s "
             "--database %s --password-file '%s'",
             tu_bin(), dir, getenv(k[1]), getenv(k[2]), getenv(k[3]), db, getenv(k[0]));
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("mysql-import failed (%d): %s", rc, out);
    free(out);
}

static char *synth_sized(int devices)
{
    char *dir = tu_tmpdir();
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s synth --quiet --out '%s/data' --devices %d --seed 11",
             tu_bin(), dir, devices);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("synth failed (%d): %s", rc, out);
    free(out);
    return dir;
}

static char *synth(void)
{
    return synth_sized(2000);
}

static void parse_rules(dg_rules *r, const char *text)
{
    dg_rules_init(r);
    if (!text) {
        dg_rules_default(r);
        return;
    }
    dg_err err;
    if (*text && dg_rules_parse(r, text, "test", &err) != DG_OK)
        fail_msg("%s", err.msg);
}

static void compare_csr(const dg_csr *a, const dg_csr *b)
{
    assert_int_equal(a->nrows, b->nrows);
    assert_int_equal(a->ncols, b->ncols);
    assert_int_equal(a->nnz, b->nnz);
    assert_memory_equal(a->ptr, b->ptr, ((size_t)a->nrows + 1) * sizeof *a->ptr);
    if (a->nnz) {
        assert_memory_equal(a->idx, b->idx, a->nnz * sizeof *a->idx);
        assert_memory_equal(a->val, b->val, a->nnz * sizeof *a->val);
    }
}

/* Every byte of the features, and of the designs learnt and applied on them. */
static void compare_features(const dg_features *a, const dg_features *b)
{
    assert_int_equal(a->ndevices, b->ndevices);
    assert_int_equal(a->ncols, b->ncols);
    assert_memory_equal(a->device_id, b->device_id, a->ndevices * sizeof *a->device_id);
    for (int c = 0; c < a->ncols; c++)
        assert_string_equal(a->col_names[c], b->col_names[c]);
    for (uint32_t d = 0; d < a->ndevices; d++) {
        assert_string_equal(a->brand[d], b->brand[d]);
        assert_string_equal(a->model[d], b->model[d]);
    }
    size_t cells = (size_t)a->ndevices * a->ncols;
    for (size_t i = 0; i < cells; i++)
        if (memcmp(&a->dense[i], &b->dense[i], sizeof(float)) != 0)
            fail_msg("device %zu, column %s: %.9g locally, %.9g pushed down", i / a->ncols,
                     a->col_names[i % a->ncols], a->dense[i], b->dense[i]);
    compare_csr(&a->apps_installed, &b->apps_installed);
    compare_csr(&a->apps_active, &b->apps_active);
    compare_csr(&a->labels, &b->labels);
    assert_memory_equal(a->app_vocab, b->app_vocab,
                        a->apps_installed.ncols * sizeof *a->app_vocab);
    assert_memory_equal(a->label_vocab, b->label_vocab, a->labels.ncols * sizeof *a->label_vocab);
    uint32_t *rows = malloc(((size_t)a->ndevices + 1) * sizeof *rows);
    for (uint32_t d = 0; d < a->ndevices; d++)
        rows[d] = d;
    for (int bags = 0; bags < 2; bags++) {
        dg_design_spec sa, sb;
        dg_design_spec_init(&sa);
        dg_design_spec_init(&sb);
        dg_err err;
        assert_int_equal(dg_design_learn(&sa, a, rows, a->ndevices, DG_BLOCKS_ALL,
                                         (dg_bag_weight)bags, DG_COUNTS_LOG1P, 2, &err),
                         DG_OK);
        assert_int_equal(dg_design_learn(&sb, b, rows, b->ndevices, DG_BLOCKS_ALL,
                                         (dg_bag_weight)bags, DG_COUNTS_LOG1P, 2, &err),
                         DG_OK);
        dg_csr xa, xb;
        assert_int_equal(dg_design_apply(&sa, a, rows, a->ndevices, &xa, &err), DG_OK);
        assert_int_equal(dg_design_apply(&sb, b, rows, b->ndevices, &xb, &err), DG_OK);
        assert_true(xa.nnz > 0);
        compare_csr(&xa, &xb);
        dg_csr_free(&xa);
        dg_csr_free(&xb);
        dg_design_spec_free(&sa);
        dg_design_spec_free(&sb);
    }
    free(rows);
}

static void local_features(const char *dir, const char *rules_text, const dg_supercats *sc,
                           dg_dataset *ds, dg_features *f)
{
    dg_err err;
    dg_load_opts o = {.use_snapshot = 0};
    dg_dataset_init(ds);
    if (dg_dataset_load(ds, dir, &o, &err) != DG_OK)
        fail_msg("%s", err.msg);
    if (!rules_text || *rules_text) {
        dg_rules r;
        parse_rules(&r, rules_text);
        dg_rule_effect fx[32];
        assert_int_equal(dg_clean(ds, &r, fx, NULL, &err), DG_OK);
        dg_rules_free(&r);
    }
    if (dg_features_for_models(ds, sc, DG_CLUSTER_EPS_KM_DEFAULT, DG_CLUSTER_MIN_PTS_DEFAULT, f,
                               NULL, NULL, &err) != DG_OK)
        fail_msg("%s", err.msg);
}

static void pushdown_features(const dg_mysql_config *cfg, const char *rules_text,
                              const dg_supercats *sc, dg_dataset *small, dg_features *f,
                              dg_pushdown_report *rep)
{
    dg_err err;
    dg_rules r;
    parse_rules(&r, rules_text);
    dg_dataset_init(small);
    if (dg_features_pushdown(cfg, rules_text && !*rules_text ? NULL : &r, sc,
                             DG_CLUSTER_EPS_KM_DEFAULT, DG_CLUSTER_MIN_PTS_DEFAULT, f, small, NULL,
                             rep, NULL, &err) != DG_OK)
        fail_msg("%s", err.msg);
    dg_rules_free(&r);
}

static void load_supercats(dg_supercats *sc)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/supercategories.txt", getenv("DG_ASSETS"));
    memset(sc, 0, sizeof *sc);
    dg_err err;
    if (dg_supercats_load(sc, path, &err) != DG_OK)
        fail_msg("%s", err.msg);
}

/* Each rule list: the local features equal the pushed-down ones. */
static void all_rule_lists_equal(const char *dir, const dg_mysql_config *cfg)
{
    dg_supercats sc;
    load_supercats(&sc);
    for (size_t k = 0; k < NLISTS; k++) {
        dg_dataset ds, small;
        dg_features a, b;
        dg_pushdown_report rep;
        local_features(dir, rule_lists[k], &sc, &ds, &a);
        pushdown_features(cfg, rule_lists[k], &sc, &small, &b, &rep);
        assert_true(rep.ordered);
        assert_true(dg_features_col(&b, "cluster_home") >= 0);
        compare_features(&a, &b);
        /* Only aggregated rows came back: fewer than the raw event rows. */
        const dg_table *ev = dg_dataset_table(&ds, DG_T_EVENTS);
        const dg_table *ae = dg_dataset_table(&ds, DG_T_APP_EVENTS);
        assert_true(rep.rows[DG_PD_Q_COUNTS] + rep.rows[DG_PD_Q_LOCATIONS] < ev->nrows);
        assert_true(rep.rows[DG_PD_Q_APPS] < ae->nrows / 4);
        dg_features_free(&a);
        dg_features_free(&b);
        dg_dataset_free(&ds);
        dg_dataset_free(&small);
    }
    dg_supercats_free(&sc);
}

/* The command line three ways (CSV files, pushed down, every row fetched with
 * --raw): every file the same bytes. */
static void cli_files_equal(const char *prefix, const char *dir, const char *db,
                            const char *tmp)
{
    char cmd[4096], k[4][64], *out = NULL;
    snprintf(k[0], 64, "%s_PASSWORD_FILE", prefix);
    snprintf(k[1], 64, "%s_HOST", prefix);
    snprintf(k[2], 64, "%s_PORT", prefix);
    snprintf(k[3], 64, "%s_USER", prefix);
    snprintf(cmd, sizeof cmd,
             "%s features '%s' --quiet --no-snapshot --out '%s/local' && "
             "%s features --db --tls disabled --host %s --port %s --user %s --database %s "
             "--password-file '%s' --out '%s/db' && "
             "%s features --db --raw --quiet --tls disabled --host %s --port %s --user %s "
             "--database %s --password-file '%s' --out '%s/raw' && "
             "for f in '%s'/local/*; do cmp \"$f\" '%s'/db/\"$(basename \"$f\")\" || exit 1; "
             "cmp \"$f\" '%s'/raw/\"$(basename \"$f\")\" || exit 1; done "
             "&& ls '%s/db' | wc -l",
             tu_bin(), dir, tmp, tu_bin(), getenv(k[1]), getenv(k[2]), getenv(k[3]), db,
             getenv(k[0]), tmp, tu_bin(), getenv(k[1]), getenv(k[2]), getenv(k[3]), db,
             getenv(k[0]), tmp, tmp, tmp, tmp, tmp);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("features both ways differ (%d): %s", rc, out);
    assert_non_null(strstr(out, "aggregated rows"));
    assert_non_null(strstr(out, "\n7\n"));
    free(out);
}

/* run --db against run on the files: the same predictions, campaigns and
 * runs (their seconds aside); the stages that need raw events say so. */
static void run_both_ways(const char *prefix, const char *dir, const char *db, const char *tmp)
{
    char cmd[6144], k[4][64], *out = NULL;
    snprintf(k[0], 64, "%s_PASSWORD_FILE", prefix);
    snprintf(k[1], 64, "%s_HOST", prefix);
    snprintf(k[2], 64, "%s_PORT", prefix);
    snprintf(k[3], 64, "%s_USER", prefix);
    const char *no_seconds =
        "awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /_seconds$/) drop[i] = 1 } "
        "{ o = \"\"; for (i = 1; i <= NF; i++) if (!drop[i]) o = o $i \",\"; print o }'";
    snprintf(cmd, sizeof cmd,
             "%s run '%s' --quiet --no-snapshot --families prior,softmax --out '%s/run-files' "
             ">/dev/null && "
             "%s run --db --quiet --families prior,softmax --tls disabled --host %s --port %s "
             "--user %s --database %s --password-file '%s' --out '%s/run-db' >/dev/null && "
             "cmp '%s/run-files/predictions.csv' '%s/run-db/predictions.csv' && "
             "cmp '%s/run-files/campaigns/device_campaigns.csv' "
             "'%s/run-db/campaigns/device_campaigns.csv' && "
             "%s '%s/run-files/train/runs.csv' > '%s/runs-files' && "
             "%s '%s/run-db/train/runs.csv' > '%s/runs-db' && "
             "cmp '%s/runs-files' '%s/runs-db' && wc -l < '%s/runs-db' && "
             "grep -c 'which --db does not fetch' '%s/run-db/report.md'",
             tu_bin(), dir, tmp, tu_bin(), getenv(k[1]), getenv(k[2]), getenv(k[3]), db,
             getenv(k[0]), tmp, tmp, tmp, tmp, tmp, no_seconds, tmp, tmp, no_seconds, tmp, tmp,
             tmp, tmp, tmp, tmp);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("run and run --db differ (%d): %s", rc, out);
    unsigned nruns = 0, notes = 0;
    assert_int_equal(sscanf(out, "%u %u", &nruns, &notes), 2);
    assert_true(nruns > 8); /* the header and the runs of both scenarios */
    assert_int_equal(notes, 2); /* maps and cluster */
    free(out);
}

/* Asks to stop at the first report of the named stage. */
static int stop_at(void *ctx, const char *stage, double done, double total, const char *unit)
{
    (void)done, (void)total, (void)unit;
    return strcmp(stage, ctx) == 0;
}

static void pushdown_equals_local(void **state)
{
    (void)state;
    char *tmp = synth();
    char dir[1024];
    snprintf(dir, sizeof dir, "%.1000s/data", tmp);
    sql("DG_MYSQL", "", "DROP DATABASE IF EXISTS mlctest_pd; CREATE DATABASE mlctest_pd");
    import_dir("DG_MYSQL", dir, "mlctest_pd");
    dg_mysql_config cfg;
    config(&cfg, "DG_MYSQL", "mlctest_pd");
    all_rule_lists_equal(dir, &cfg);
    cli_files_equal("DG_MYSQL", dir, "mlctest_pd", tmp);
    run_both_ways("DG_MYSQL", dir, "mlctest_pd", tmp);

    /* Cancelled at the first query or the last on the main connection,
     * while the app rows may still run on theirs (they are then killed):
     * nothing kept, no thread left. */
    static const char *const stops[] = {"event counts", "app vocabulary"};
    for (int i = 0; i < 2; i++) {
        dg_supercats sc0;
        load_supercats(&sc0);
        dg_features f0;
        dg_dataset small0;
        dg_dataset_init(&small0);
        dg_err err0;
        dg_progress stop = {stop_at, (void *)stops[i]};
        int rc0 = dg_features_pushdown(&cfg, NULL, &sc0, 0, 0, &f0, &small0, NULL, NULL, &stop,
                                       &err0);
        assert_int_equal(rc0, DG_ERR);
        assert_non_null(strstr(err0.msg, "cancelled"));
        assert_int_equal(f0.ndevices, 0);
        assert_false(small0.present[DG_T_PHONES]);
        dg_dataset_free(&small0);
        dg_supercats_free(&sc0);
    }

    /* An event id twice: refused, by name, with nothing kept. */
    sql("DG_MYSQL", "mlctest_pd",
        "INSERT INTO events (event_id, device_id, timestamp, longitude, latitude) "
        "SELECT event_id, device_id, timestamp, longitude, latitude FROM events LIMIT 1");
    dg_supercats sc;
    load_supercats(&sc);
    dg_features f;
    dg_dataset small;
    dg_dataset_init(&small);
    dg_err err;
    assert_int_equal(dg_features_pushdown(&cfg, NULL, &sc, 0, 0, &f, &small, NULL, NULL, NULL,
                                          &err),
                     DG_ERR);
    assert_non_null(strstr(err.msg, "distinct event ids"));
    assert_non_null(strstr(err.msg, cfg.host));
    assert_int_equal(f.ndevices, 0);
    assert_false(small.present[DG_T_PHONES]);
    dg_dataset_free(&small);
    dg_supercats_free(&sc);
    sql("DG_MYSQL", "", "DROP DATABASE mlctest_pd");
    dg_mysql_config_free(&cfg);
    tu_rmrf(tmp);
    free(tmp);
}

static void spider_script(const char *args)
{
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/../scripts/spider.sh' %s", getenv("DG_TESTS_SRC"), args);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("spider.sh %s failed (%d): %s", args, rc, out);
    free(out);
}

/* The Spider cluster: the set imported through the head into a staging
 * database, sharded by device over the two data nodes, and the features
 * through the head equal the local ones. With a data node stopped the error
 * names it and nothing is kept. */
static void spider_equals_local(void **state)
{
    (void)state;
    const char *sdir = getenv("DG_SPIDER_DIR");
    if (tu_server_missing("DG_SPIDER_PORT", "scripts/spider.sh") ||
        tu_server_missing("DG_SPIDER_DIR", "scripts/spider.sh"))
        skip();
    char *tmp = synth();
    char dir[1024], args[2048];
    snprintf(dir, sizeof dir, "%.1000s/data", tmp);
    sql("DG_SPIDER", "", "DROP DATABASE IF EXISTS mlctest_stage; CREATE DATABASE mlctest_stage");
    import_dir("DG_SPIDER", dir, "mlctest_stage");
    snprintf(args, sizeof args, "shard '%.1000s' mlctest_stage", sdir);
    spider_script(args);
    /* The rows are on the data nodes, split by device. */
    for (int n = 1; n <= 2; n++) {
        char cmd[2048], *out = NULL;
        snprintf(cmd, sizeof cmd,
                 "mariadb --no-defaults --socket='%.1000s/n%d/run/mysqld.sock' -u root mlctest -N "
                 "-e 'SELECT COUNT(*) FROM events'",
                 sdir, n);
        assert_int_equal(tu_run(cmd, &out), 0);
        assert_true(atol(out) > 1000);
        free(out);
    }
    dg_mysql_config cfg;
    config(&cfg, "DG_SPIDER", getenv("DG_SPIDER_DB"));
    dg_supercats sc;
    load_supercats(&sc);
    static const size_t lists[] = {0, 3};
    for (size_t i = 0; i < 2; i++) {
        dg_dataset ds, small;
        dg_features a, b;
        dg_pushdown_report rep;
        local_features(dir, rule_lists[lists[i]], &sc, &ds, &a);
        pushdown_features(&cfg, rule_lists[lists[i]], &sc, &small, &b, &rep);
        compare_features(&a, &b);
        dg_features_free(&a);
        dg_features_free(&b);
        dg_dataset_free(&ds);
        dg_dataset_free(&small);
    }
    /* Data node 2 down: the error names it (Spider calls it s2). */
    snprintf(args, sizeof args, "stop-node '%.1000s' 2", sdir);
    spider_script(args);
    dg_features f;
    dg_dataset small;
    dg_dataset_init(&small);
    dg_err err;
    int rc = dg_features_pushdown(&cfg, NULL, &sc, 0, 0, &f, &small, NULL, NULL, NULL, &err);
    snprintf(args, sizeof args, "start-node '%.1000s' 2", sdir);
    spider_script(args);
    assert_int_equal(rc, DG_ERR);
    printf("# with data node 2 stopped: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "s2"));
    assert_int_equal(f.ndevices, 0);
    assert_false(small.present[DG_T_PHONES]);
    dg_dataset_free(&small);
    dg_supercats_free(&sc);
    dg_mysql_config_free(&cfg);
    tu_rmrf(tmp);
    free(tmp);
}

/* The SQL holds no user text: a rule's name never reaches it, times are
 * formatted from numbers, and the statements are the plain subset. */
static void sql_is_plain(void **state)
{
    (void)state;
    dg_rules r;
    parse_rules(&r, "empty-categories name=x';DROP\n"
                    "time-window from=2016-05-01T00:00:00 to=2016-05-08T00:00:00\n"
                    "zero-coords\nunit-box-coords\n");
    char buf[4096];
    for (int q = 0; q < DG_PD_NQUERIES; q++) {
        assert_int_equal(dg_pushdown_sql(q, &r, 1, buf, sizeof buf), DG_OK);
        assert_null(strstr(buf, "DROP"));
        assert_null(strstr(buf, "x'"));
        assert_null(strstr(buf, "MEDIAN"));
        assert_null(strstr(buf, "PERCENTILE"));
        assert_null(strchr(buf, ';'));
    }
    assert_int_equal(dg_pushdown_sql(DG_PD_Q_LOCATIONS, &r, 1, buf, sizeof buf), DG_OK);
    assert_non_null(strstr(buf, "'2016-05-01 00:00:00'"));
    assert_non_null(strstr(buf, "BETWEEN -1 AND 1"));
    assert_non_null(strstr(buf, "MIN(e.`dg_row`)"));
    assert_int_equal(dg_pushdown_sql(DG_PD_Q_VOCAB, &r, 0, buf, sizeof buf), DG_OK);
    assert_non_null(strstr(buf, "MIN(a.`event_id`)"));
    assert_int_equal(dg_pushdown_sql(DG_PD_Q_APPS, &r, 1, buf, 40), DG_ERR);
    dg_rules_free(&r);
}

static void run_or_fail(const char *what, const char *cmd, char **out)
{
    int rc = tu_run(cmd, out);
    if (rc != 0)
        fail_msg("%s failed (%d): %s", what, rc, *out);
}

/* The engine's dg_predictions (device_id, target, class, probability, as the
 * client prints doubles: the shortest decimal that reads back) against
 * predict's for every scenario 1 device; returns the rows compared. */
/* The rows of dg_predictions (device_id, scenario, target, class,
 * probability; tab-separated lines, as the clients print them) against
 * predict's, within tol; out is consumed. Returns the rows compared. */
static size_t predictions_text_equal(char *out, const dg_model_dir *d, const dg_features *f,
                                     double tol)
{
    uint32_t n = f->ndevices;
    uint32_t *rows = dg_xmalloc(((size_t)n + 1) * sizeof *rows);
    for (uint32_t i = 0; i < n; i++)
        rows[i] = i;
    dg_prediction *p = dg_xcalloc((size_t)n + 1, sizeof *p);
    dg_err err;
    if (dg_model_dir_predict(d, f, rows, n, p, &err) != DG_OK)
        fail_msg("%s", err.msg);
    dg_i64map ix;
    dg_i64map_init(&ix);
    uint32_t ns1 = 0;
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(dg_i64map_put(&ix, p[i].device_id), i);
        ns1 += p[i].scenario == 1;
    }
    size_t count = 0;
    double worst = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        long long dev;
        int scen, cls;
        char target[16];
        double v;
        if (sscanf(line, "%lld\t%d\t%15s\t%d\t%lf", &dev, &scen, target, &cls, &v) != 5)
            fail_msg("dg_predictions row '%s'", line);
        uint32_t i = dg_i64map_get(&ix, dev);
        assert_int_not_equal(i, UINT32_MAX);
        assert_int_equal(scen, p[i].scenario);
        double want = strcmp(target, "gender") == 0    ? (cls == 0 ? p[i].p_female : NAN)
                      : strcmp(target, "group6") == 0  ? (cls < 6 ? p[i].group6[cls] : NAN)
                      : strcmp(target, "group12") == 0 ? (cls < 12 ? p[i].group12[cls] : NAN)
                                                       : NAN;
        if (!(fabs(want - v) <= tol))
            fail_msg("device %lld %s class %d: %.17g in the engine, %.17g by predict", dev,
                     target, cls, v, want);
        if (fabs(want - v) > worst)
            worst = fabs(want - v);
        count++;
    }
    /* Every scenario 1 device, each output of the three models. */
    assert_int_equal(count, (size_t)ns1 * (1 + 6 + 12));
    printf("# %zu probabilities of %u devices equal predict's (largest difference %.3g)\n",
           count, ns1, worst);
    dg_i64map_free(&ix);
    free(p);
    free(rows);
    return count;
}

static size_t predictions_equal(const char *prefix, const char *db, const dg_model_dir *d,
                                const dg_features *f)
{
    char cl[2048], cmd[4096], *out = NULL;
    client(cl, sizeof cl, prefix, db);
    snprintf(cmd, sizeof cmd,
             "%s -N -e 'SELECT device_id, scenario, target, class, probability FROM "
             "dg_predictions'",
             cl);
    run_or_fail("reading dg_predictions", cmd, &out);
    size_t n = predictions_text_equal(out, d, f, 1e-12);
    free(out);
    return n;
}

/* DIR/SCRIPT run on the private MariaDB in a fresh database DB: its
 * predictions equal predict's with the models of d; then DB is dropped. */
static void script_equals_predict(const char *db, const char *dir, const char *script,
                                  const dg_model_dir *d, const dg_features *f)
{
    char cl[2048], cmd[4096], drop[256], *out = NULL;
    snprintf(drop, sizeof drop, "DROP DATABASE IF EXISTS %s; CREATE DATABASE %s", db, db);
    sql("DG_MYSQL", "", drop);
    client(cl, sizeof cl, "DG_MYSQL", db);
    snprintf(cmd, sizeof cmd, "%s < '%s/%s'", cl, dir, script);
    run_or_fail("the script on MariaDB", cmd, &out);
    free(out);
    assert_true(predictions_equal("DG_MYSQL", db, d, f) > 0);
    snprintf(drop, sizeof drop, "DROP DATABASE %s", db);
    sql("DG_MYSQL", "", drop);
}

/* export-sql: softmax models for gender (binary), group6 and group12 scored
 * by MariaDB equal predict's probabilities; on the Spider cluster too, the
 * feature rows sharded by device over the data nodes; then LIBLINEAR's. A
 * family without an SQL form is refused by name. */
static void sql_scorer_equals_predict(void **state)
{
    (void)state;
    char *tmp = synth_sized(4000);
    char cmd[8192], cl[2048], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s train '%s/data' --out '%s/train' --families softmax --scenarios 1 --targets "
             "gender,group6,group12 --no-charts --quiet && "
             "%s export-sql '%s/data' --models '%s/train' --out '%s/score.sql' --quiet && "
             "%s export-sql --models '%s/train' --out '%s/models.sql' --quiet",
             tu_bin(), tmp, tmp, tu_bin(), tmp, tmp, tmp, tu_bin(), tmp, tmp);
    run_or_fail("train and export-sql", cmd, &out);
    free(out);
    char path[2048];
    snprintf(path, sizeof path, "%s/train", tmp);
    dg_model_dir d;
    dg_err err;
    if (dg_model_dir_open(&d, path, &err) != DG_OK)
        fail_msg("%s", err.msg);
    for (int t = 0; t < DG_TARGET_COUNT; t++)
        if (t != DG_TARGET_AGE && strcmp(d.m[1][t].family->name, "softmax") != 0)
            fail_msg("s1 %s chose %s: the test needs softmax everywhere",
                     dg_target_name((dg_target)t), d.m[1][t].family->name);
    char dir[1024];
    snprintf(dir, sizeof dir, "%.1000s/data", tmp);
    /* The default rules, as export-sql and predict apply them. */
    dg_dataset ds;
    dg_supercats sc;
    load_supercats(&sc);
    dg_features f;
    local_features(dir, NULL, &sc, &ds, &f);

    script_equals_predict("mlctest_sc", tmp, "score.sql", &d, &f);

    const char *sdir = getenv("DG_SPIDER_DIR");
    if (!tu_server_missing("DG_SPIDER_PORT", "scripts/spider.sh") &&
        !tu_server_missing("DG_SPIDER_DIR", "scripts/spider.sh")) {
        /* The feature rows through the head into a staging database, sharded
         * into the cluster's database by device; then the models alone. */
        sql("DG_SPIDER", "", "DROP DATABASE IF EXISTS mlctest_scf; CREATE DATABASE mlctest_scf");
        client(cl, sizeof cl, "DG_SPIDER", "mlctest_scf");
        snprintf(cmd, sizeof cmd,
                 "sed '/^-- scenario/,$d' '%s/score.sql' | %s && %s -e 'DROP TABLE "
                 "dg_model_columns, dg_model_weights, dg_model_sums, dg_norms, dg_scores, "
                 "dg_classes, dg_predictions' && bash '%s/../scripts/spider.sh' shard '%s' "
                 "mlctest_scf",
                 tmp, cl, cl, getenv("DG_TESTS_SRC"), sdir);
        run_or_fail("the feature rows sharded", cmd, &out);
        free(out);
        const char *db = getenv("DG_SPIDER_DB");
        client(cl, sizeof cl, "DG_SPIDER", db);
        snprintf(cmd, sizeof cmd,
                 "%s -N -e 'SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_NAME = "
                 "\"dg_device_features\" AND TABLE_SCHEMA = DATABASE()' && %s < '%s/models.sql'",
                 cl, cl, tmp);
        run_or_fail("the models' script on the Spider head", cmd, &out);
        assert_non_null(strstr(out, "SPIDER"));
        free(out);
        assert_true(predictions_equal("DG_SPIDER", db, &d, &f) > 0);
        sql("DG_SPIDER", db,
            "DROP TABLE dg_device_features, dg_model_columns, dg_model_weights, "
            "dg_model_sums, dg_norms, dg_scores, dg_classes, dg_predictions");
    } else {
        printf("# DG_SPIDER_PORT is not set: the Spider half is not run\n");
    }

    /* LIBLINEAR's logistic regressions too: a binary one as the softmax of
     * its score and 0, a multiclass one as its classes' sigmoids normalised
     * (one-vs-rest), and group6 read off that group12 model. */
    dg_model_dir_close(&d);
    snprintf(cmd, sizeof cmd,
             "%s train '%s/data' --out '%s/ll' --families liblinear-lr-l2 --grid "
             "liblinear-lr-l2:C=0.01 --scenarios 1 --targets gender,group6,group12 --no-charts "
             "--quiet && %s export-sql '%s/data' --models '%s/ll' --out '%s/ll.sql' --quiet",
             tu_bin(), tmp, tmp, tu_bin(), tmp, tmp, tmp);
    run_or_fail("train LIBLINEAR and export-sql", cmd, &out);
    free(out);
    snprintf(path, sizeof path, "%s/ll", tmp);
    if (dg_model_dir_open(&d, path, &err) != DG_OK)
        fail_msg("%s", err.msg);
    for (int t = 0; t < DG_TARGET_COUNT; t++)
        if (t != DG_TARGET_AGE && strcmp(d.m[1][t].family->name, "liblinear-lr-l2") != 0 &&
            strcmp(d.m[1][t].family->name, "group12-sum") != 0)
            fail_msg("s1 %s chose %s: the test needs LIBLINEAR everywhere",
                     dg_target_name((dg_target)t), d.m[1][t].family->name);
    script_equals_predict("mlctest_ll", tmp, "ll.sql", &d, &f);

    /* No SQL form: the priors (and xgboost, LIBSVM) are refused by name. */
    snprintf(cmd, sizeof cmd,
             "%s train '%s/data' --out '%s/prior' --families prior --scenarios 1 --targets "
             "gender --no-charts --quiet && %s export-sql --models '%s/prior' --out "
             "'%s/prior.sql' 2>&1; echo \"rc=$?\"; test ! -e '%s/prior.sql'",
             tu_bin(), tmp, tmp, tu_bin(), tmp, tmp, tmp);
    run_or_fail("export-sql of a prior", cmd, &out);
    assert_non_null(strstr(out, "no SQL form for s1 gender (prior)"));
    assert_non_null(strstr(out, "rc=1"));
    free(out);

    dg_features_free(&f);
    dg_supercats_free(&sc);
    dg_dataset_free(&ds);
    dg_model_dir_close(&d);
    tu_rmrf(tmp);
    free(tmp);
}


/* ---- a killed import ------------------------------------------------------------- */

static int on_number(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    (void)len, (void)err;
    if (nf >= 1 && row[0])
        *(uint64_t *)ctx = strtoull(row[0], NULL, 10);
    return 0;
}

typedef int (*loading_fn)(void *ctx);

/* Runs argv (the binary under test, its output to /dev/null) and SIGKILLs it
 * as soon as loading(ctx), asked of the server, says it is in the middle of
 * its load. Fails when the import ends first. */
static void kill_mid_load(char *const argv[], loading_fn loading, void *ctx)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    double t0 = dg_now();
    int status;
    while (!loading(ctx)) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            fail_msg("the import ended (status %d) before it staged app_events", status);
        if (dg_now() - t0 > 120) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("no staged app_events after 120 s");
        }
        usleep(2000);
    }
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    /* Killed, not finished in the meantime. */
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* Asserts that the database's features are dir's, under the default rules
 * (features_of's). */
static void features_are(const char *dir, int (*features_of)(void *ctx, const dg_supercats *sc,
                                                            dg_dataset *small, dg_features *f,
                                                            dg_err *err),
                         void *ctx)
{
    dg_supercats sc;
    load_supercats(&sc);
    dg_dataset ds, small;
    dg_features a, b;
    dg_err err;
    local_features(dir, NULL, &sc, &ds, &a);
    if (features_of(ctx, &sc, &small, &b, &err) != DG_OK)
        fail_msg("%s", err.msg);
    compare_features(&a, &b);
    dg_features_free(&a);
    dg_features_free(&b);
    dg_dataset_free(&ds);
    dg_dataset_free(&small);
    dg_supercats_free(&sc);
}

typedef struct mysql_target {
    dg_mysql_config cfg;
    dg_mysql *m;
    const char *db;
} mysql_target;

static int mysql_loading(void *ctx)
{
    mysql_target *t = ctx;
    char q[512];
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '%s' AND "
             "table_name = 'app_events__dg_new'",
             t->db);
    uint64_t n = 0;
    dg_err err;
    if (dg_mysql_query_rows(t->m, q, "polling", on_number, &n, &err) != DG_OK)
        fail_msg("%s", err.msg);
    return n > 0;
}

static uint64_t mysql_staged(mysql_target *t)
{
    char q[512];
    snprintf(q, sizeof q,
             "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '%s' AND "
             "table_name LIKE '%%\\_\\_dg\\_%%'",
             t->db);
    uint64_t n = UINT64_MAX;
    dg_err err;
    if (dg_mysql_query_rows(t->m, q, "staged tables", on_number, &n, &err) != DG_OK)
        fail_msg("%s", err.msg);
    return n;
}

static int mysql_features_of(void *ctx, const dg_supercats *sc, dg_dataset *small,
                             dg_features *f, dg_err *err)
{
    mysql_target *t = ctx;
    dg_rules r;
    parse_rules(&r, NULL);
    dg_dataset_init(small);
    int rc = dg_features_pushdown(&t->cfg, &r, sc, DG_CLUSTER_EPS_KM_DEFAULT,
                                  DG_CLUSTER_MIN_PTS_DEFAULT, f, small, NULL, NULL, NULL, err);
    dg_rules_free(&r);
    return rc;
}

/* mysql-import of set B SIGKILLed while it loads app_events: the tables
 * still hold set A, features and all; the next import of B replaces them
 * and leaves no staged table. */
static void mysql_killed_import_keeps_the_previous_set(void **state)
{
    (void)state;
    char *a = synth_sized(500), *b = synth_sized(2000);
    char da[1024], dbdir[1024];
    snprintf(da, sizeof da, "%.1000s/data", a);
    snprintf(dbdir, sizeof dbdir, "%.1000s/data", b);
    sql("DG_MYSQL", "", "DROP DATABASE IF EXISTS mlctest_kill; CREATE DATABASE mlctest_kill");
    import_dir("DG_MYSQL", da, "mlctest_kill");
    mysql_target t = {.db = "mlctest_kill"};
    config(&t.cfg, "DG_MYSQL", t.db);
    dg_err err;
    if (dg_mysql_open(&t.m, &t.cfg, &err) != DG_OK)
        fail_msg("%s", err.msg);
    char *argv[] = {(char *)tu_bin(), "mysql-import", dbdir, "--quiet", "--tls", "disabled",
                    "--host", getenv("DG_MYSQL_HOST"), "--port", getenv("DG_MYSQL_PORT"),
                    "--user", getenv("DG_MYSQL_USER"), "--database", (char *)t.db,
                    "--password-file", getenv("DG_MYSQL_PASSWORD_FILE"), NULL};
    kill_mid_load(argv, mysql_loading, &t);
    assert_true(mysql_staged(&t) > 0); /* killed before its swap */
    features_are(da, mysql_features_of, &t);
    import_dir("DG_MYSQL", dbdir, t.db);
    features_are(dbdir, mysql_features_of, &t);
    assert_int_equal(mysql_staged(&t), 0);
    dg_mysql_close(t.m);
    dg_mysql_config_free(&t.cfg);
    sql("DG_MYSQL", "", "DROP DATABASE mlctest_kill");
    tu_rmrf(a);
    tu_rmrf(b);
    free(a);
    free(b);
}


/* ---- ClickHouse (scripts/clickhouse.sh) ------------------------------------------ */

static void ch_config(dg_ch_config *c, const char *envfile_dir)
{
    dg_ch_config_init(c);
    char path[2048];
    if (envfile_dir) {
        /* Another cluster of this test: its env file's values. */
        snprintf(path, sizeof path, "%s/env", envfile_dir);
        size_t n;
        char *text = tu_read(path, &n);
        char *u = strstr(text, "DG_CH_URL=");
        assert_non_null(u);
        u += 10;
        snprintf(c->url, sizeof c->url, "%.*s", (int)strcspn(u, "\n"), u);
        free(text);
        snprintf(path, sizeof path, "%s/password", envfile_dir);
    } else {
        snprintf(c->url, sizeof c->url, "%s", getenv("DG_CH_URL"));
        snprintf(path, sizeof path, "%s", getenv("DG_CH_PASSWORD_FILE"));
    }
    snprintf(c->user, sizeof c->user, "%s", getenv("DG_CH_USER"));
    snprintf(c->database, sizeof c->database, "%s", getenv("DG_CH_DB"));
    dg_err err;
    if (dg_ch_password_from_file(c, path, &err) != DG_OK)
        fail_msg("%s", err.msg);
}

static void ch_script(const char *args)
{
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "bash '%s/../scripts/clickhouse.sh' %s", getenv("DG_TESTS_SRC"),
             args);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("clickhouse.sh %s failed (%d): %s", args, rc, out);
    free(out);
}

/* db-import --engine clickhouse of dir into the cluster whose env file is in
 * envdir (NULL: the suite's, from the environment). */
static void ch_import(const char *dir, const char *envdir)
{
    char cmd[16384], *out = NULL;
    if (envdir)
        snprintf(cmd, sizeof cmd,
                 "set -a; . '%s/env'; set +a; %s db-import '%s' --quiet --engine clickhouse "
                 "--url \"$DG_CH_URL\" --user \"$DG_CH_USER\" --password-file "
                 "\"$DG_CH_PASSWORD_FILE\" --database \"$DG_CH_DB\" "
                 "$(for u in $DG_CH_SHARD_URLS; do printf -- '--shard-url %%s ' \"$u\"; done)",
                 envdir, tu_bin(), dir);
    else
        snprintf(cmd, sizeof cmd,
                 "%s db-import '%s' --quiet --engine clickhouse --url \"$DG_CH_URL\" --user "
                 "\"$DG_CH_USER\" --password-file \"$DG_CH_PASSWORD_FILE\" --database "
                 "\"$DG_CH_DB\" $(for u in $DG_CH_SHARD_URLS; do printf -- '--shard-url %%s ' "
                 "\"$u\"; done)",
                 tu_bin(), dir);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("db-import --engine clickhouse failed (%d): %s", rc, out);
    free(out);
}

static int ch_features(const dg_ch_config *cfg, const char *rules_text, const dg_supercats *sc,
                       dg_dataset *small, dg_features *f, const dg_progress *pr, dg_err *err)
{
    dg_rules r;
    parse_rules(&r, rules_text);
    dg_dataset_init(small);
    int rc = dg_features_pushdown_clickhouse(cfg, rules_text && !*rules_text ? NULL : &r, sc,
                                             DG_CLUSTER_EPS_KM_DEFAULT,
                                             DG_CLUSTER_MIN_PTS_DEFAULT, f, small, NULL, NULL,
                                             pr, err);
    dg_rules_free(&r);
    return rc;
}

static void ch_skip_unless_cluster(void)
{
    if (tu_server_missing("DG_CH_URL", "scripts/clickhouse.sh") ||
        tu_server_missing("DG_CH_DIR", "scripts/clickhouse.sh"))
        skip();
}

/* Every rule list: the cluster's features equal the local ones, byte for byte. */
static void clickhouse_equals_local(void **state)
{
    (void)state;
    ch_skip_unless_cluster();
    char *tmp = synth();
    char dir[1024];
    snprintf(dir, sizeof dir, "%.1000s/data", tmp);
    ch_import(dir, NULL);
    dg_ch_config cfg;
    ch_config(&cfg, NULL);
    dg_supercats sc;
    load_supercats(&sc);
    for (size_t k = 0; k < NLISTS; k++) {
        dg_dataset ds, small;
        dg_features a, b;
        dg_err err;
        local_features(dir, rule_lists[k], &sc, &ds, &a);
        if (ch_features(&cfg, rule_lists[k], &sc, &small, &b, NULL, &err) != DG_OK)
            fail_msg("%s", err.msg);
        compare_features(&a, &b);
        dg_features_free(&a);
        dg_features_free(&b);
        dg_dataset_free(&ds);
        dg_dataset_free(&small);
    }
    /* And through the command: the same files. */
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s features '%s' --quiet --out '%s/local' && %s features --db --engine clickhouse "
             "--quiet --url \"$DG_CH_URL\" --user \"$DG_CH_USER\" --password-file "
             "\"$DG_CH_PASSWORD_FILE\" --database \"$DG_CH_DB\" --out '%s/ch' && "
             "diff -r -x .demographer-output '%s/local' '%s/ch'",
             tu_bin(), dir, tmp, tu_bin(), tmp, tmp, tmp);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("features differ (%d): %s", rc, out);
    free(out);
    dg_supercats_free(&sc);
    dg_ch_config_free(&cfg);
    tu_rmrf(tmp);
    free(tmp);
}

/* A stopped shard: the message names it, the command leaves no output. */
static void clickhouse_stopped_shard(void **state)
{
    (void)state;
    ch_skip_unless_cluster();
    char *tmp = synth();
    char dir[1024], args[2048];
    snprintf(dir, sizeof dir, "%.1000s/data", tmp);
    ch_import(dir, NULL);
    snprintf(args, sizeof args, "stop-node '%.1000s' 2", getenv("DG_CH_DIR"));
    ch_script(args);
    dg_ch_config cfg;
    ch_config(&cfg, NULL);
    dg_supercats sc;
    load_supercats(&sc);
    dg_dataset small;
    dg_features f;
    dg_err err;
    int rc = ch_features(&cfg, NULL, &sc, &small, &f, NULL, &err);
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s features --db --engine clickhouse --quiet --url \"$DG_CH_URL\" --user "
             "\"$DG_CH_USER\" --password-file \"$DG_CH_PASSWORD_FILE\" --database \"$DG_CH_DB\" "
             "--out '%s/out'",
             tu_bin(), tmp);
    int cli_rc = tu_run(cmd, &out);
    snprintf(args, sizeof args, "start-node '%.1000s' 2", getenv("DG_CH_DIR"));
    ch_script(args);
    assert_int_equal(rc, DG_ERR);
    if (!strstr(err.msg, "shard 2 of cluster demographer"))
        fail_msg("the message does not name shard 2: %s", err.msg);
    assert_int_equal(f.ndevices, 0);
    assert_int_equal(small.tables[DG_T_PHONES].nrows, 0);
    assert_int_not_equal(cli_rc, 0);
    assert_non_null(strstr(out, "shard 2"));
    char path[2048];
    snprintf(path, sizeof path, "%s/out", tmp);
    assert_int_not_equal(access(path, F_OK), 0);
    free(out);
    /* Back, it answers again. */
    rc = ch_features(&cfg, NULL, &sc, &small, &f, NULL, &err);
    if (rc != DG_OK)
        fail_msg("after start-node: %s", err.msg);
    dg_features_free(&f);
    dg_dataset_free(&small);
    dg_supercats_free(&sc);
    dg_ch_config_free(&cfg);
    tu_rmrf(tmp);
    free(tmp);
}

static int stop_while_working(void *ctx, const char *stage, double done, double total,
                              const char *unit)
{
    (void)done, (void)total, (void)unit;
    int *asked = ctx;
    if (strstr(stage, "the server is working")) {
        (*asked)++;
        return 1;
    }
    return 0;
}

typedef struct processes {
    uint64_t n;
} processes;

static int on_processes(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    (void)len, (void)nf, (void)err;
    ((processes *)ctx)->n = strtoull(row[0], NULL, 10);
    return 0;
}

/* A stop kills the server's query: after the cancel it is not running. */
static void clickhouse_cancel_kills(void **state)
{
    (void)state;
    ch_skip_unless_cluster();
    dg_ch_config cfg;
    ch_config(&cfg, NULL);
    int asked = 0;
    dg_progress pr = {.fn = stop_while_working, .ctx = &asked};
    dg_ch_call call = {.what = "a long sum", .progress = &pr};
    dg_err err;
    double t0 = dg_now();
    /* Minutes of work on this machine. */
    int rc = dg_ch_query_rows(&cfg, &call,
                              "SELECT sum(cityHash64(number)) FROM numbers(100000000000)", NULL,
                              NULL, &err);
    assert_int_equal(rc, DG_ERR);
    assert_true(dg_cancelled(&err));
    assert_true(asked >= 1);
    assert_true(dg_now() - t0 < 60);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count() FROM system.processes WHERE query_id = '%s'",
             call.query_id);
    processes p = {UINT64_MAX};
    dg_ch_call look = {.what = "processes"};
    if (dg_ch_query_rows(&cfg, &look, sql, on_processes, &p, &err) != DG_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(p.n, 0);
    dg_ch_config_free(&cfg);
}

/* A cancel returns promptly while a shard hangs (SIGSTOP: the port still
 * accepts, nothing answers): the coordinator's query then waits for the
 * shard up to its receive_timeout (300 s), and so did KILL QUERY ... SYNC. */
static void clickhouse_cancel_with_a_hung_shard(void **state)
{
    (void)state;
    ch_skip_unless_cluster();
    char path[1100];
    snprintf(path, sizeof path, "%.1000s/s2/dg.pid", getenv("DG_CH_DIR"));
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 1)
        fail_msg("no pid in %s", path);
    fclose(f);
    dg_ch_config cfg;
    ch_config(&cfg, NULL);
    int asked = 0;
    dg_progress pr = {.fn = stop_while_working, .ctx = &asked};
    dg_ch_call call = {.what = "a count over the shards", .progress = &pr};
    dg_err err;
    assert_int_equal(kill((pid_t)pid, SIGSTOP), 0);
    double t0 = dg_now();
    int rc = dg_ch_query_rows(&cfg, &call, "SELECT count() FROM events", NULL, NULL, &err);
    double took = dg_now() - t0;
    assert_int_equal(kill((pid_t)pid, SIGCONT), 0);
    assert_int_equal(rc, DG_ERR);
    assert_true(dg_cancelled(&err));
    assert_true(asked >= 1);
    assert_true(took < 30);
    dg_ch_config_free(&cfg);
}

/* The same set on 1 and on 3 shards: the same features. */
static void clickhouse_shard_counts(void **state)
{
    (void)state;
    ch_skip_unless_cluster();
    char *tmp = synth();
    char dir[1024];
    snprintf(dir, sizeof dir, "%.1000s/data", tmp);
    dg_supercats sc;
    load_supercats(&sc);
    dg_dataset ds;
    dg_features local;
    local_features(dir, NULL, &sc, &ds, &local);
    static const int counts[] = {1, 3};
    for (int i = 0; i < 2; i++) {
        char cdir[1100], args[2400];
        snprintf(cdir, sizeof cdir, "%.1000s/ch%d", tmp, counts[i]);
        snprintf(args, sizeof args, "start '%s' --shards %d", cdir, counts[i]);
        ch_script(args);
        ch_import(dir, cdir);
        dg_ch_config cfg;
        ch_config(&cfg, cdir);
        dg_dataset small;
        dg_features f;
        dg_err err;
        int rc = ch_features(&cfg, NULL, &sc, &small, &f, NULL, &err);
        snprintf(args, sizeof args, "stop '%s'", cdir);
        ch_script(args);
        if (rc != DG_OK)
            fail_msg("%d shards: %s", counts[i], err.msg);
        compare_features(&local, &f);
        dg_features_free(&f);
        dg_dataset_free(&small);
        dg_ch_config_free(&cfg);
    }
    dg_features_free(&local);
    dg_dataset_free(&ds);
    dg_supercats_free(&sc);
    tu_rmrf(tmp);
    free(tmp);
}

/* One number from the cluster: url NULL is the coordinator. */
static uint64_t ch_number(const dg_ch_config *cfg, const char *url, const char *sql)
{
    uint64_t n = UINT64_MAX;
    dg_ch_call call = {.url = url, .what = "a number"};
    dg_err err;
    if (dg_ch_query_rows(cfg, &call, sql, on_number, &n, &err) != DG_OK)
        fail_msg("%s", err.msg);
    return n;
}

static void ch_sql(const dg_ch_config *cfg, const char *sql)
{
    dg_err err;
    if (dg_ch_exec(cfg, NULL, sql, "the test's statement", &err) != DG_OK)
        fail_msg("%s", err.msg);
}

/* The coordinator's merge is skipped only for tables sharded by device:
 * Distributed tables over nothing in a database of their own, keyed by
 * device, then by rand(). */
static void clickhouse_no_merge_only_by_device(void **state)
{
    (void)state;
    ch_skip_unless_cluster();
    dg_ch_config cfg;
    ch_config(&cfg, NULL);
    ch_sql(&cfg, "DROP DATABASE IF EXISTS dg_sharding_test");
    ch_sql(&cfg, "CREATE DATABASE dg_sharding_test");
    snprintf(cfg.database, sizeof cfg.database, "dg_sharding_test");
    static const char *const keys[] = {"cityHash64(`device_id`)", "rand()"};
    for (int k = 0; k < 2; k++) {
        char sql[400];
        for (int t = 0; t < 2; t++) {
            const char *name = t ? "app_events" : "events";
            snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS dg_sharding_test.%s", name);
            ch_sql(&cfg, sql);
            snprintf(sql, sizeof sql,
                     "CREATE TABLE dg_sharding_test.%s (`device_id` Int64) ENGINE = "
                     "Distributed(demographer, dg_sharding_test, %s_local, %s)",
                     name, name, keys[k]);
            ch_sql(&cfg, sql);
        }
        int yes = -1;
        dg_err err;
        if (dg_ch_sharded_by_device(&cfg, &yes, &err) != DG_OK)
            fail_msg("%s", err.msg);
        assert_int_equal(yes, k == 0);
    }
    ch_sql(&cfg, "DROP DATABASE dg_sharding_test");
    dg_ch_config_free(&cfg);
}

static int ch_loading(void *ctx)
{
    return ch_number(ctx, NULL,
                     "SELECT count() FROM system.tables WHERE database = currentDatabase() "
                     "AND name = 'app_events__dg_new'") > 0;
}

static int ch_features_of(void *ctx, const dg_supercats *sc, dg_dataset *small, dg_features *f,
                          dg_err *err)
{
    return ch_features(ctx, NULL, sc, small, f, NULL, err);
}

/* features --db's error on the cluster's tables, which must contain want. */
static void ch_features_refused(dg_ch_config *cfg, const char *want)
{
    dg_supercats sc;
    load_supercats(&sc);
    dg_dataset small;
    dg_features f;
    dg_err err;
    assert_int_equal(ch_features_of(cfg, &sc, &small, &f, &err), DG_ERR);
    if (!strstr(err.msg, want))
        fail_msg("expected '%s' in: %s", want, err.msg);
    assert_int_equal(f.ndevices, 0);
    dg_dataset_free(&small);
    dg_supercats_free(&sc);
}

/* db-import of set B SIGKILLed while it loads app_events: the cluster still
 * holds set A. A server stopping inside the final RENAME (played here by
 * doing its first renames by hand) leaves tables of two imports: refused by
 * name, never read as one set. The next import of B replaces everything and
 * leaves no staged table, on the coordinator or the shards. */
static void clickhouse_killed_import_keeps_the_previous_set(void **state)
{
    (void)state;
    ch_skip_unless_cluster();
    char *a = synth_sized(500), *b = synth_sized(2000);
    char da[1024], dbdir[1024];
    snprintf(da, sizeof da, "%.1000s/data", a);
    snprintf(dbdir, sizeof dbdir, "%.1000s/data", b);
    ch_import(da, NULL);
    dg_ch_config cfg;
    ch_config(&cfg, NULL);
    char *argv[64] = {(char *)tu_bin(), "db-import", dbdir, "--quiet", "--engine", "clickhouse",
                      "--url", getenv("DG_CH_URL"), "--user", getenv("DG_CH_USER"),
                      "--password-file", getenv("DG_CH_PASSWORD_FILE"), "--database",
                      getenv("DG_CH_DB")};
    int n = 14;
    char *urls = strdup(getenv("DG_CH_SHARD_URLS")), *save = NULL;
    for (char *u = strtok_r(urls, " ", &save); u && n < 60; u = strtok_r(NULL, " ", &save)) {
        argv[n++] = "--shard-url";
        argv[n++] = u;
    }
    argv[n] = NULL;
    kill_mid_load(argv, ch_loading, &cfg);
    const char *staged = "SELECT count() FROM system.tables WHERE database = currentDatabase() "
                         "AND position(name, '__dg_') > 0";
    assert_true(ch_number(&cfg, NULL, staged) > 0); /* killed before its swap */
    features_are(da, ch_features_of, &cfg);

    ch_sql(&cfg, "RENAME TABLE train TO train__dg_old");
    ch_features_refused(&cfg, "no table 'train', but 'train__dg_old' of the same import");
    ch_sql(&cfg, "RENAME TABLE train__dg_new TO train");
    ch_features_refused(&cfg, "the tables are of two imports");

    ch_import(dbdir, NULL);
    features_are(dbdir, ch_features_of, &cfg);
    assert_int_equal(ch_number(&cfg, NULL, staged), 0);
    uint64_t tables = ch_number(&cfg, NULL,
                                "SELECT count() FROM system.tables WHERE database = "
                                "currentDatabase() AND engine = 'Distributed'");
    save = NULL;
    snprintf(urls, strlen(getenv("DG_CH_SHARD_URLS")) + 1, "%s", getenv("DG_CH_SHARD_URLS"));
    for (char *u = strtok_r(urls, " ", &save); u; u = strtok_r(NULL, " ", &save))
        assert_int_equal(ch_number(&cfg, u,
                                   "SELECT count() FROM system.tables WHERE database = "
                                   "currentDatabase()"),
                         tables);
    free(urls);
    dg_ch_config_free(&cfg);
    tu_rmrf(a);
    tu_rmrf(b);
    free(a);
    free(b);
}

/* Only the program's words in the SQL: each query in ClickHouse's form. */
static void clickhouse_sql_is_plain(void **state)
{
    (void)state;
    dg_rules r;
    parse_rules(&r, rule_lists[2]);
    char buf[8192];
    for (int q = 0; q < DG_PD_NQUERIES; q++) {
        assert_int_equal(dg_pushdown_sql_clickhouse(q, &r, buf, sizeof buf), DG_OK);
        assert_null(strstr(buf, "DISTINCT e."));
        assert_null(strstr(buf, " JOIN "));
        assert_null(strstr(buf, "HOUR("));
        assert_null(strstr(buf, "DAYOFWEEK("));
    }
    assert_int_equal(dg_pushdown_sql_clickhouse(DG_PD_Q_COUNTS, &r, buf, sizeof buf), DG_OK);
    /* Packed: MySQL's DAYOFWEEK order, Sunday (7 in toDayOfWeek) as 0. */
    assert_non_null(strstr(buf, "(toDayOfWeek(`timestamp`) % 7)"));
    assert_null(strstr(buf, "toDayOfWeek(`timestamp`) = "));
    assert_non_null(strstr(buf, "toDateTime('2016-05-02 06:00:00')"));
    assert_int_equal(dg_pushdown_sql_clickhouse(DG_PD_CH_COUNTS_UNPACKED, &r, buf, sizeof buf),
                     DG_OK);
    /* Unpacked: MySQL's DAYOFWEEK order, Sunday (7 in toDayOfWeek) first. */
    const char *sun = strstr(buf, "toDayOfWeek(`timestamp`) = 7");
    const char *mon = strstr(buf, "toDayOfWeek(`timestamp`) = 1");
    assert_non_null(sun);
    assert_non_null(mon);
    assert_true(sun < mon);
    assert_non_null(strstr(buf, "toDateTime('2016-05-02 06:00:00')"));
    dg_rules_free(&r);
    assert_int_equal(dg_ch_identifier_ok("demographer_1"), 1);
    assert_int_equal(dg_ch_identifier_ok("x`; DROP"), 0);
    assert_int_equal(dg_ch_identifier_ok(""), 0);
}


typedef struct text_rows {
    dg_textbuf b;
} text_rows;

/* Rows back as the clients print them: fields tab-separated, a line each. */
static int on_text_row(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    (void)err;
    text_rows *t = ctx;
    for (unsigned i = 0; i < nf; i++) {
        if (i)
            dg_textbuf_putc(&t->b, '\t');
        dg_textbuf_printf(&t->b, "%.*s", (int)len[i], row[i] ? row[i] : "NULL");
    }
    dg_textbuf_putc(&t->b, '\n');
    return 0;
}

/* export-sql --dialect clickhouse: the script run statement by statement on
 * the cluster's coordinator (as clickhouse-client --multiquery would), its
 * probabilities equal predict's within 1e-9. */
static void clickhouse_scorer_equals_predict(void **state)
{
    (void)state;
    ch_skip_unless_cluster();
    char *tmp = synth_sized(4000);
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s train '%s/data' --out '%s/train' --families softmax --scenarios 1 --targets "
             "gender,group6,group12 --no-charts --quiet && "
             "%s export-sql '%s/data' --models '%s/train' --out '%s/score.sql' --dialect "
             "clickhouse --quiet",
             tu_bin(), tmp, tmp, tu_bin(), tmp, tmp, tmp);
    run_or_fail("train and export-sql --dialect clickhouse", cmd, &out);
    free(out);
    char path[2048];
    snprintf(path, sizeof path, "%s/train", tmp);
    dg_model_dir d;
    dg_err err;
    if (dg_model_dir_open(&d, path, &err) != DG_OK)
        fail_msg("%s", err.msg);
    for (int t = 0; t < DG_TARGET_COUNT; t++)
        if (t != DG_TARGET_AGE && strcmp(d.m[1][t].family->name, "softmax") != 0)
            fail_msg("s1 %s chose %s: the test needs softmax everywhere",
                     dg_target_name((dg_target)t), d.m[1][t].family->name);
    char dir[1024];
    snprintf(dir, sizeof dir, "%.1000s/data", tmp);
    dg_dataset ds;
    dg_supercats sc;
    load_supercats(&sc);
    dg_features f;
    local_features(dir, NULL, &sc, &ds, &f);
    dg_ch_config cfg;
    ch_config(&cfg, NULL);
    snprintf(path, sizeof path, "%s/score.sql", tmp);
    size_t n;
    char *script = tu_read(path, &n);
    int statements = 0;
    for (char *st = script, *end; st && *st; st = end ? end + 2 : NULL) {
        end = strstr(st, ";\n");
        if (end)
            *end = '\0';
        /* Blank and comment lines before a statement are not part of it. */
        for (;;) {
            while (*st == '\n' || *st == ' ')
                st++;
            if (st[0] != '-' || st[1] != '-')
                break;
            char *nl = strchr(st, '\n');
            st = nl ? nl + 1 : st + strlen(st);
        }
        if (!*st)
            continue;
        if (dg_ch_exec(&cfg, NULL, st, "the scoring script", &err) != DG_OK)
            fail_msg("statement %d: %s", statements + 1, err.msg);
        statements++;
    }
    free(script);
    assert_true(statements > 10);
    text_rows rows = {{0}};
    dg_ch_call call = {.what = "dg_predictions"};
    if (dg_ch_query_rows(&cfg, &call,
                         "SELECT device_id, scenario, target, class, probability FROM "
                         "dg_predictions",
                         on_text_row, &rows, &err) != DG_OK)
        fail_msg("%s", err.msg);
    dg_textbuf_putc(&rows.b, '\0');
    assert_true(predictions_text_equal(rows.b.p, &d, &f, 1e-9) > 0);
    dg_textbuf_free(&rows.b);
    dg_ch_config_free(&cfg);
    dg_features_free(&f);
    dg_supercats_free(&sc);
    dg_dataset_free(&ds);
    dg_model_dir_close(&d);
    tu_rmrf(tmp);
    free(tmp);
}

int main(void)
{
    /* The MySQL tests first, when there is a MariaDB; the ClickHouse ones
     * skip themselves without a cluster. One group: one TAP plan. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sql_is_plain),
        cmocka_unit_test(pushdown_equals_local),
        cmocka_unit_test(spider_equals_local),
        cmocka_unit_test(sql_scorer_equals_predict),
        cmocka_unit_test(mysql_killed_import_keeps_the_previous_set),
        cmocka_unit_test(clickhouse_sql_is_plain),
        cmocka_unit_test(clickhouse_equals_local),
        cmocka_unit_test(clickhouse_cancel_kills),
        cmocka_unit_test(clickhouse_stopped_shard),
        cmocka_unit_test(clickhouse_cancel_with_a_hung_shard),
        cmocka_unit_test(clickhouse_shard_counts),
        cmocka_unit_test(clickhouse_no_merge_only_by_device),
        cmocka_unit_test(clickhouse_killed_import_keeps_the_previous_set),
        cmocka_unit_test(clickhouse_scorer_equals_predict),
    };
    size_t first = 0, n = sizeof tests / sizeof *tests;
    if (tu_server_missing("DG_MYSQL_HOST", "scripts/mariadb.sh"))
        first = 5; /* the MySQL tests are left out */
    return _cmocka_run_group_tests("pushdown", tests + first, n - first, NULL, NULL);
}
