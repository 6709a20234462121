/* The MySQL source against a real MariaDB (scripts/mariadb.sh, started by
 * scripts/test.sh): generated sets of both shapes imported with
 * `demographer mysql-import`, read back and compared with the CSV load cell
 * by cell; TLS modes; and each failure the issue lists. Skipped, with a
 * message, when DG_MYSQL_HOST is not set. */
#define _GNU_SOURCE
#include "testutil.h"

#include "demographer/source_mysql.h"

#include "fake_mysql.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char password[256];

/* The test server's settings, or NULL (skip) when there is none. */
static int server_config(dg_mysql_config *c, const char *db)
{
    if (tu_server_missing("DG_MYSQL_HOST", "scripts/mariadb.sh"))
        return 0;
    const char *host = getenv("DG_MYSQL_HOST");
    dg_mysql_config_init(c);
    snprintf(c->host, sizeof c->host, "%s", host);
    c->port = (unsigned)atoi(getenv("DG_MYSQL_PORT"));
    snprintf(c->user, sizeof c->user, "%s", getenv("DG_MYSQL_USER"));
    snprintf(c->database, sizeof c->database, "%s", db ? db : getenv("DG_MYSQL_DB"));
    dg_err err;
    if (dg_mysql_password_from_file(c, getenv("DG_MYSQL_PASSWORD_FILE"), &err) != DG_OK)
        fail_msg("%s", err.msg);
    snprintf(password, sizeof password, "%s", c->password);
    return 1;
}

/* Runs SQL as the test user through the mariadb client (the password in its
 * environment, never in an argument). */
static void sql(const char *db, const char *stmt)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "MYSQL_PWD=\"$(cat '%s')\" mariadb --no-defaults -h %s -P %s -u %s %s -e \"%s\"",
             getenv("DG_MYSQL_PASSWORD_FILE"), getenv("DG_MYSQL_HOST"), getenv("DG_MYSQL_PORT"),
             getenv("DG_MYSQL_USER"), db, stmt);
    char *out = NULL;
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("mariadb failed (%d): %s", rc, out);
    free(out);
}

static void create_db(const char *db)
{
    char stmt[256];
    snprintf(stmt, sizeof stmt, "DROP DATABASE IF EXISTS %s; CREATE DATABASE %s", db, db);
    sql("", stmt);
}

/* demographer mysql-import DIR into db, through the command line. */
static void import_dir(const char *dir, const char *db)
{
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s mysql-import '%s' --quiet --host %s --port %s --user %s --database %s "
             "--password-file '%s'",
             tu_bin(), dir, getenv("DG_MYSQL_HOST"), getenv("DG_MYSQL_PORT"),
             getenv("DG_MYSQL_USER"), db, getenv("DG_MYSQL_PASSWORD_FILE"));
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("mysql-import failed (%d): %s", rc, out);
    assert_null(strstr(out, password));
    free(out);
}

static char *synth(const char *shape)
{
    char *dir = tu_tmpdir();
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s synth --quiet --out '%s/data' --devices 2000 --seed 7 --shape %s",
             tu_bin(), dir, shape);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("synth failed (%d): %s", rc, out);
    free(out);
    return dir;
}

static void compare_tables(const dg_table *a, const dg_table *b)
{
    assert_int_equal(a->nrows, b->nrows);
    assert_int_equal(a->ncols, b->ncols);
    for (int c = 0; c < a->ncols; c++) {
        const dg_column *x = &a->cols[c], *y = &b->cols[c];
        assert_string_equal(x->name, y->name);
        assert_int_equal(x->type, y->type);
        for (uint64_t i = 0; i < a->nrows; i++) {
            switch (x->type) {
            case DG_COL_STR: {
                uint32_t ix = dg_col_u32(x)[i], iy = dg_col_u32(y)[i];
                assert_int_equal(dg_strpool_len(&a->strings, ix), dg_strpool_len(&b->strings, iy));
                assert_memory_equal(dg_strpool_get(&a->strings, ix),
                                    dg_strpool_get(&b->strings, iy),
                                    dg_strpool_len(&a->strings, ix));
                break;
            }
            case DG_COL_F32: {
                float fx = dg_col_f32(x)[i], fy = dg_col_f32(y)[i];
                if (!(isnan(fx) && isnan(fy)) && memcmp(&fx, &fy, sizeof fx) != 0)
                    fail_msg("%s.%s row %llu: %.9g != %.9g", a->name, x->name,
                             (unsigned long long)i, (double)fx, (double)fy);
                break;
            }
            case DG_COL_I32: assert_int_equal(dg_col_i32(x)[i], dg_col_i32(y)[i]); break;
            case DG_COL_I8: assert_int_equal(dg_col_i8(x)[i], dg_col_i8(y)[i]); break;
            default:
                if (dg_col_id(x, i) != dg_col_id(y, i))
                    fail_msg("%s.%s row %llu: %lld != %lld", a->name, x->name,
                             (unsigned long long)i, (long long)dg_col_id(x, i),
                             (long long)dg_col_id(y, i));
                break;
            }
        }
    }
}

static void roundtrip(const char *shape, const char *db)
{
    dg_mysql_config cfg;
    if (!server_config(&cfg, db))
        skip();
    char *dir = synth(shape);
    char data[1024];
    snprintf(data, sizeof data, "%s/data", dir);
    create_db(db);
    import_dir(data, db);

    dg_dataset csv, sqlds;
    dg_dataset_init(&csv);
    dg_dataset_init(&sqlds);
    dg_err err;
    dg_load_opts lo = {0};
    assert_int_equal(dg_dataset_load(&csv, data, &lo, &err), DG_OK);
    if (dg_mysql_load(&sqlds, &cfg, NULL, &err) != DG_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(csv.shape, sqlds.shape);
    for (int t = 0; t < DG_T_COUNT; t++) {
        assert_int_equal(csv.present[t], sqlds.present[t]);
        if (csv.present[t])
            compare_tables(&csv.tables[t], &sqlds.tables[t]);
    }
    assert_int_equal(csv.reconcile.done, sqlds.reconcile.done);
    assert_memory_equal(&csv.reconcile, &sqlds.reconcile, sizeof csv.reconcile);
    fprintf(stderr, "# %s: every table equal; %llu app_events rows\n", shape,
            (unsigned long long)sqlds.tables[DG_T_APP_EVENTS].nrows);
    dg_dataset_free(&csv);
    dg_dataset_free(&sqlds);
    dg_mysql_config_free(&cfg);
    tu_rmrf(dir);
    free(dir);
}

static void roundtrip_kaggle(void **state)
{
    (void)state;
    roundtrip("kaggle", "mlctest_kaggle");
}

static void roundtrip_upgrad(void **state)
{
    (void)state;
    roundtrip("upgrad", "mlctest");
    dg_mysql_config cfg;
    server_config(&cfg, "mlctest");
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    assert_int_equal(dg_mysql_load(&ds, &cfg, NULL, &err), DG_OK);
    assert_int_equal(ds.shape, DG_SHAPE_UPGRAD);
    assert_true(ds.reconcile.done);
    dg_dataset_free(&ds);
    dg_mysql_config_free(&cfg);
}

static void tls_modes(void **state)
{
    (void)state;
    dg_mysql_config cfg;
    if (!server_config(&cfg, NULL))
        skip();
    dg_mysql *m;
    dg_err err;
    cfg.tls = DG_TLS_REQUIRED;
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_OK);
    assert_non_null(dg_mysql_tls_version(m));
    dg_mysql_close(m);
    cfg.tls = DG_TLS_DISABLED;
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_OK);
    assert_null(dg_mysql_tls_version(m));
    dg_mysql_close(m);
    /* The server's certificate comes from the test CA: unverifiable without it. */
    cfg.tls = DG_TLS_VERIFY_IDENTITY;
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "--tls-ca"));
    const char *ca = getenv("DG_MYSQL_TLS_CA");
    if (ca) {
        snprintf(cfg.tls_ca, sizeof cfg.tls_ca, "%s", ca);
        assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_OK);
        assert_non_null(dg_mysql_tls_version(m));
        dg_mysql_close(m);
    }
    dg_mysql_config_free(&cfg);
}

static unsigned free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s); /* nothing listens there now */
    return ntohs(a.sin_port);
}

static void connection_errors(void **state)
{
    (void)state;
    dg_mysql_config cfg;
    if (!server_config(&cfg, NULL))
        skip();
    dg_mysql *m = NULL;
    dg_err err;
    unsigned port = cfg.port;

    cfg.port = free_port();
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_ERR);
    char where[300];
    snprintf(where, sizeof where, "cannot connect to 127.0.0.1:%u", cfg.port);
    assert_non_null(strstr(err.msg, where));
    assert_non_null(strstr(err.msg, "is the server running"));
    cfg.port = port;

    dg_mysql_config_set_password(&cfg, "not-the-password");
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "Access denied"));
    assert_null(strstr(err.msg, "not-the-password"));
    dg_mysql_config_set_password(&cfg, password);

    snprintf(cfg.database, sizeof cfg.database, "mlctest_nosuch");
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "mlctest_nosuch"));
    assert_non_null(strstr(err.msg, "no such database"));
    assert_null(strstr(err.msg, password));
    dg_mysql_config_free(&cfg);
}

static void table_errors(void **state)
{
    (void)state;
    dg_mysql_config cfg;
    if (!server_config(&cfg, "mlctest_err"))
        skip();
    create_db("mlctest_err");
    sql("mlctest_err",
        "CREATE TABLE events (event_id INT, device_id BIGINT, timestamp DATETIME, "
        "longitude DOUBLE, latitude DOUBLE);"
        "INSERT INTO events VALUES (1, 5, '2016-05-01 00:00:00', 1.5, 2.5),"
        "(2, 6, '2016-05-01 00:00:01', 1.5, NULL);"
        "CREATE TABLE app_events (event_id INT, app_id BIGINT, is_installed TINYINT);"
        "CREATE TABLE brand_devices (device_id VARCHAR(30), phone_brand TEXT, device_model TEXT);"
        "INSERT INTO brand_devices VALUES ('12', 'vivo', NULL), ('x13', 'OPPO', 'R7')");
    dg_mysql *m;
    dg_err err;
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_OK);
    dg_table t;
    dg_table_init(&t, "events");
    dg_mysql_read_report rr;
    char want[512];

    assert_int_equal(dg_mysql_read_table(m, DG_T_EVENTS, &t, NULL, &rr, &err), DG_ERR);
    snprintf(want, sizeof want,
             "%s mlctest_err.events: row 2, column 'latitude': expected a number, found NULL",
             dg_mysql_where(m));
    assert_string_equal(err.msg, want);
    assert_int_equal(t.nrows, 0);
    assert_int_equal(t.ncols, 0);
    dg_mysql_close(m); /* an interrupted read gives its connection up */
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_OK);

    assert_int_equal(dg_mysql_read_table(m, DG_T_APP_EVENTS, &t, NULL, &rr, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "mlctest_err.app_events: no column 'is_active'"));
    assert_non_null(strstr(err.msg, "the table has: event_id, app_id, is_installed"));

    assert_int_equal(dg_mysql_read_table(m, DG_T_LABELS, &t, NULL, &rr, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "mlctest_err: no table 'train' or 'gender_age_train'"));
    assert_non_null(strstr(err.msg, "the database has: app_events, brand_devices, events"));

    /* The variant name brand_devices is found; a NULL string reads as empty;
     * text where a number belongs is named. */
    assert_int_equal(dg_mysql_read_table(m, DG_T_PHONES, &t, NULL, &rr, &err), DG_ERR);
    assert_string_equal(rr.table, "brand_devices");
    assert_non_null(strstr(err.msg, "brand_devices: row 2, column 'device_id': expected a signed "
                                    "64-bit integer, found 'x13'"));
    dg_mysql_close(m);
    sql("mlctest_err", "DELETE FROM brand_devices WHERE device_id = 'x13'");
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_OK);
    assert_int_equal(dg_mysql_read_table(m, DG_T_PHONES, &t, NULL, &rr, &err), DG_OK);
    assert_int_equal(t.nrows, 1);
    assert_int_equal(rr.ordered, 0);
    assert_string_equal(dg_strpool_get(&t.strings, dg_col_u32(dg_table_column(&t,
                                                                               "device_model"))[0]),
                        "");
    dg_table_free(&t);
    dg_mysql_close(m);

    /* A whole load that fails keeps nothing. */
    dg_dataset ds;
    dg_dataset_init(&ds);
    assert_int_equal(dg_mysql_load(&ds, &cfg, NULL, &err), DG_ERR);
    for (int i = 0; i < DG_T_COUNT; i++) {
        assert_false(ds.present[i]);
        assert_int_equal(ds.tables[i].nrows, 0);
    }
    dg_dataset_free(&ds);
    dg_mysql_config_free(&cfg);
}

/* The progress callback of a streamed read kills the reading connection from
 * a second one, as a DBA's KILL or a server restart would. */
typedef struct killer {
    dg_mysql_config *cfg;
    unsigned long victim;
    int calls;
} killer;

static int kill_on_first(void *ctx, const char *stage, double done, double total,
                         const char *unit)
{
    killer *k = ctx;
    (void)stage;
    (void)done;
    (void)total;
    (void)unit;
    if (k->calls++ == 0) {
        dg_mysql *other;
        dg_err err;
        if (dg_mysql_open(&other, k->cfg, &err) != DG_OK ||
            dg_mysql_kill(other, k->victim, &err) != DG_OK)
            fail_msg("%s", err.msg);
        dg_mysql_close(other);
        usleep(200000); /* let the server act on it */
    }
    return 0;
}

static int cancel_at_once(void *ctx, const char *stage, double done, double total,
                          const char *unit)
{
    (void)ctx;
    (void)stage;
    (void)done;
    (void)total;
    (void)unit;
    return 1;
}

static void kill_and_cancel_mid_stream(void **state)
{
    (void)state;
    dg_mysql_config cfg;
    if (!server_config(&cfg, "mlctest_big"))
        skip();
    /* More rows than the socket buffers hold, so that the server is still
     * sending when the kill lands. */
    create_db("mlctest_big");
    sql("mlctest_big", "CREATE TABLE events (event_id INT, device_id BIGINT, timestamp DATETIME, "
                       "longitude DOUBLE, latitude DOUBLE);"
                       "INSERT INTO events SELECT seq, seq * 1000003, '2016-05-01 00:00:00', "
                       "116.39, 39.91 FROM seq_1_to_1000000");
    dg_mysql *m;
    dg_err err;
    dg_table t;
    dg_table_init(&t, "events");
    dg_mysql_read_report rr;
    /* Over TLS (the default here) and in plain TCP the break looks different
     * to the client library; both must read as the server going away. */
    for (int plain = 0; plain < 2; plain++) {
        cfg.tls = plain ? DG_TLS_DISABLED : DG_TLS_PREFERRED;
        assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_OK);
        killer k = {&cfg, dg_mysql_connection_id(m), 0};
        dg_progress pr = {kill_on_first, &k};
        assert_int_equal(dg_mysql_read_table(m, DG_T_EVENTS, &t, &pr, &rr, &err), DG_ERR);
        fprintf(stderr, "# %s\n", err.msg);
        assert_non_null(strstr(err.msg, "mlctest_big.events: the server went away after row"));
        assert_int_equal(t.nrows, 0);
        assert_int_equal(t.ncols, 0);
        dg_mysql_close(m);
    }

    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_OK);
    dg_progress stop = {cancel_at_once, NULL};
    assert_int_equal(dg_mysql_read_table(m, DG_T_EVENTS, &t, &stop, &rr, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "mlctest_big.events: cancelled"));
    assert_int_equal(t.nrows, 0);
    dg_mysql_close(m);

    /* A full read of the same table works, with an estimate for the ETA. */
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_OK);
    assert_int_equal(dg_mysql_read_table(m, DG_T_EVENTS, &t, NULL, &rr, &err), DG_OK);
    assert_int_equal(t.nrows, 1000000);
    assert_true(rr.estimate > 0);
    assert_true(dg_col_f32(dg_table_column(&t, "latitude"))[999999] == 39.91f);
    dg_table_free(&t);
    dg_mysql_close(m);
    sql("", "DROP DATABASE mlctest_big");
    dg_mysql_config_free(&cfg);
}

/* A cancelled import leaves the tables of the previous import as they were. */
static void import_cancel_keeps_old_tables(void **state)
{
    (void)state;
    dg_mysql_config cfg;
    if (!server_config(&cfg, "mlctest_cancel"))
        skip();
    create_db("mlctest_cancel");
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "label_categories.csv", "label_id,category\n1,one\n2,two\n"));
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_OK);
    dg_mysql *m;
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_OK);
    dg_mysql_import_report rep;
    assert_int_equal(dg_mysql_import(m, &ds, NULL, &rep, &err), DG_OK);
    free(tu_write_str(dir, "label_categories.csv", "label_id,category\n1,\"tab\there\"\n"));
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_OK);
    dg_progress stop = {cancel_at_once, NULL};
    assert_int_equal(dg_mysql_import(m, &ds, &stop, &rep, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "cancelled"));
    dg_table t;
    dg_table_init(&t, "label_categories");
    dg_mysql_read_report rr;
    assert_int_equal(dg_mysql_read_table(m, DG_T_LABEL_CATEGORIES, &t, NULL, &rr, &err), DG_OK);
    assert_int_equal(t.nrows, 2);
    /* And an import that completes replaces them, escapes and all. */
    assert_int_equal(dg_mysql_import(m, &ds, NULL, &rep, &err), DG_OK);
    assert_int_equal(dg_mysql_read_table(m, DG_T_LABEL_CATEGORIES, &t, NULL, &rr, &err), DG_OK);
    assert_int_equal(t.nrows, 1);
    assert_true(rr.ordered);
    assert_string_equal(dg_strpool_get(&t.strings, dg_col_u32(&t.cols[1])[0]), "tab\there");
    dg_table_free(&t);
    dg_mysql_close(m);
    dg_dataset_free(&ds);
    sql("", "DROP DATABASE mlctest_cancel");
    tu_rmrf(dir);
    free(dir);
    dg_mysql_config_free(&cfg);
}

/* Cancels when the import reaches the table named ctx. */
static int cancel_at_table(void *ctx, const char *stage, double done, double total,
                           const char *unit)
{
    (void)done;
    (void)total;
    (void)unit;
    return strcmp(stage, (const char *)ctx) == 0;
}

/* Rows of db.table whose name ends in __dg_ (a staging table left). */
static int staging_tables(const char *db)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "MYSQL_PWD=\"$(cat '%s')\" mariadb --no-defaults -N -h %s -P %s -u %s %s -e "
             "\"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '%s' AND "
             "table_name LIKE '%%\\_\\_dg\\_%%'\"",
             getenv("DG_MYSQL_PASSWORD_FILE"), getenv("DG_MYSQL_HOST"), getenv("DG_MYSQL_PORT"),
             getenv("DG_MYSQL_USER"), db, db);
    char *out = NULL;
    if (tu_run(cmd, &out) != 0)
        fail_msg("mariadb failed: %s", out);
    int n = atoi(out);
    free(out);
    return n;
}

/* Issue 26, F18: an import that stops after its first table (a cancel here;
 * a kill -9 on main) left the new app_labels beside the old label_categories,
 * and a __dg_new table. Now every table is staged and one RENAME TABLE swaps
 * the set in: the previous import stays whole, and no staging table stays. */
static void import_swaps_the_whole_set_at_once(void **state)
{
    (void)state;
    dg_mysql_config cfg;
    if (!server_config(&cfg, "mlctest_swap"))
        skip();
    create_db("mlctest_swap");
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "app_labels.csv", "app_id,label_id\n1,1\n2,2\n"));
    free(tu_write_str(dir, "label_categories.csv", "label_id,category\n1,one\n2,two\n"));
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_OK);
    dg_mysql *m;
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_OK);
    dg_mysql_import_report rep;
    assert_int_equal(dg_mysql_import(m, &ds, NULL, &rep, &err), DG_OK);
    /* the second data set: 3 app labels, 1 category; stopped at its second table */
    free(tu_write_str(dir, "app_labels.csv", "app_id,label_id\n7,1\n8,1\n9,1\n"));
    free(tu_write_str(dir, "label_categories.csv", "label_id,category\n1,uno\n"));
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_OK);
    dg_progress stop = {cancel_at_table, (void *)"label_categories"};
    assert_int_equal(dg_mysql_import(m, &ds, &stop, &rep, &err), DG_ERR);
    dg_table t;
    dg_table_init(&t, "app_labels");
    dg_mysql_read_report rr;
    assert_int_equal(dg_mysql_read_table(m, DG_T_APP_LABELS, &t, NULL, &rr, &err), DG_OK);
    assert_int_equal(t.nrows, 2); /* the first import's, not a mix */
    dg_table_free(&t);
    assert_int_equal(staging_tables("mlctest_swap"), 0);
    /* A completed import swaps both in. */
    assert_int_equal(dg_mysql_import(m, &ds, NULL, &rep, &err), DG_OK);
    dg_table_init(&t, "app_labels");
    assert_int_equal(dg_mysql_read_table(m, DG_T_APP_LABELS, &t, NULL, &rr, &err), DG_OK);
    assert_int_equal(t.nrows, 3);
    dg_table_free(&t);
    dg_table_init(&t, "label_categories");
    assert_int_equal(dg_mysql_read_table(m, DG_T_LABEL_CATEGORIES, &t, NULL, &rr, &err), DG_OK);
    assert_int_equal(t.nrows, 1);
    dg_table_free(&t);
    assert_int_equal(staging_tables("mlctest_swap"), 0);
    dg_mysql_close(m);
    dg_dataset_free(&ds);
    sql("", "DROP DATABASE mlctest_swap");
    tu_rmrf(dir);
    free(dir);
    dg_mysql_config_free(&cfg);
}

/* ---- without a server: what a hostile one, or none, gets --------------- */

#define FAKE_SECRET "pw-Never-In-Clear-7f3a"

/* A server offering no TLS and asking for the password in clear text gets
 * no password in any TLS mode, and the message says why. */
static void cleartext_password_never_sent(void **state)
{
    (void)state;
    const char *greetings[] = {"mysql_native_password", "mysql_clear_password", ""};
    for (int g = 0; g < 3; g++) {
        fake_mysql *f = fake_mysql_start(greetings[g]);
        for (int mode = DG_TLS_DISABLED; mode <= DG_TLS_DEFAULT; mode++) {
            dg_mysql_config cfg;
            dg_mysql_config_init(&cfg);
            cfg.port = fake_mysql_port(f);
            cfg.connect_timeout = 5;
            cfg.read_timeout = 5;
            snprintf(cfg.user, sizeof cfg.user, "victim");
            cfg.tls = (dg_tls_mode)mode;
            dg_mysql_config_set_password(&cfg, FAKE_SECRET);
            dg_mysql *m = NULL;
            dg_err err;
            int rc = dg_mysql_open(&m, &cfg, &err);
            int conns = 0;
            int leaked = fake_mysql_received(f, FAKE_SECRET, &conns);
            fprintf(stderr, "# greeting %s, --tls %s: %d connection(s), %s; %s\n",
                    greetings[g][0] ? greetings[g] : "without CLIENT_PLUGIN_AUTH",
                    dg_tls_mode_name(cfg.tls), conns,
                    leaked ? "PASSWORD SENT IN CLEAR" : "no password", rc ? err.msg : "connected");
            assert_false(leaked);
            assert_int_equal(rc, DG_ERR);
            assert_null(strstr(err.msg, FAKE_SECRET));
            assert_null(strstr(err.msg, "wrong user or password"));
            if (!greetings[g][0] && mode == DG_TLS_REQUIRED)
                /* Without CLIENT_PLUGIN_AUTH the library answers the greeting
                 * with mysql_native_password (a hash of the password, not
                 * the password) before anything of ours runs: what stops
                 * the switch to clear text is the guarded plugin. */
                assert_non_null(strstr(err.msg, "in clear text"));
            else if (mode == DG_TLS_REQUIRED || mode == DG_TLS_VERIFY_IDENTITY)
                assert_non_null(strstr(err.msg, "offers no TLS"));
            else
                assert_non_null(strstr(err.msg, "in clear text"));
            dg_mysql_config_free(&cfg);
        }
        fake_mysql_stop(f);
    }
}

/* What --tls means when it is not given: preferred on this machine,
 * required for any other host. */
static void tls_default_by_host(void **state)
{
    (void)state;
    dg_mysql_config c;
    dg_mysql_config_init(&c);
    assert_int_equal(c.tls, DG_TLS_DEFAULT);
    const char *local[] = {"127.0.0.1", "127.1.2.3", "localhost", "::1", "LOCALHOST"};
    for (size_t i = 0; i < sizeof local / sizeof *local; i++) {
        snprintf(c.host, sizeof c.host, "%s", local[i]);
        assert_int_equal(dg_mysql_tls_effective(&c), DG_TLS_PREFERRED);
    }
    const char *remote[] = {"db.example.com", "10.0.0.5", "192.168.1.1", "::ffff:10.0.0.1",
                            "localhost.example.com", "128.0.0.1"};
    for (size_t i = 0; i < sizeof remote / sizeof *remote; i++) {
        snprintf(c.host, sizeof c.host, "%s", remote[i]);
        assert_int_equal(dg_mysql_tls_effective(&c), DG_TLS_REQUIRED);
    }
    c.tls = DG_TLS_DISABLED;
    assert_int_equal(dg_mysql_tls_effective(&c), DG_TLS_DISABLED);
    dg_tls_mode m;
    assert_int_equal(dg_tls_mode_parse("default", &m), DG_OK);
    assert_int_equal(m, DG_TLS_DEFAULT);
    dg_mysql_config_free(&c);
}

/* This machine's first IPv4 address that is not loopback, or 0. */
static int non_loopback_ipv4(char *out, size_t cap)
{
    struct ifaddrs *ifs = NULL;
    int found = 0;
    if (getifaddrs(&ifs) != 0)
        return 0;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK))
            continue;
        found = inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, out,
                          (socklen_t)cap) != NULL;
    }
    freeifaddrs(ifs);
    return found;
}

/* Not given, --tls is required for a host other than this machine: the
 * fake server, on this machine's own non-loopback address, is refused
 * before authentication, and the message says that this is the default. */
static void tls_default_required_off_loopback(void **state)
{
    (void)state;
    char addr[64];
    if (!non_loopback_ipv4(addr, sizeof addr)) {
        fprintf(stderr, "# no IPv4 address but loopback here: not tried\n");
        return;
    }
    fake_mysql *f = fake_mysql_start_on(addr, "mysql_native_password");
    dg_mysql_config cfg;
    dg_mysql_config_init(&cfg);
    snprintf(cfg.host, sizeof cfg.host, "%s", addr);
    cfg.port = fake_mysql_port(f);
    snprintf(cfg.user, sizeof cfg.user, "victim");
    dg_mysql_config_set_password(&cfg, FAKE_SECRET);
    dg_mysql *m = NULL;
    dg_err err;
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_ERR);
    int conns = 0;
    assert_false(fake_mysql_received(f, FAKE_SECRET, &conns));
    fprintf(stderr, "# %s\n", err.msg);
    assert_int_equal(conns, 1); /* no fallback to plain text */
    assert_non_null(strstr(err.msg, "offers no TLS, and TLS is required (the default for a "
                                    "host other than this machine)"));
    /* --tls preferred, given, still connects without TLS (and is then refused the
     * clear text). */
    cfg.tls = DG_TLS_PREFERRED;
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_ERR);
    assert_false(fake_mysql_received(f, FAKE_SECRET, &conns));
    assert_int_equal(conns, 2);
    assert_non_null(strstr(err.msg, "in clear text"));
    dg_mysql_config_free(&cfg);
    fake_mysql_stop(f);
}

/* A closed port is "connection refused", not an errno number. */
static void closed_port_refused(void **state)
{
    (void)state;
    dg_mysql_config cfg;
    dg_mysql_config_init(&cfg);
    cfg.port = free_port();
    snprintf(cfg.user, sizeof cfg.user, "u");
    dg_mysql *m = NULL;
    dg_err err;
    assert_int_equal(dg_mysql_open(&m, &cfg, &err), DG_ERR);
    fprintf(stderr, "# %s\n", err.msg);
    char where[300];
    snprintf(where, sizeof where, "cannot connect to 127.0.0.1:%u", cfg.port);
    assert_non_null(strstr(err.msg, where));
    assert_non_null(strstr(err.msg, "connection refused"));
    assert_null(strstr(err.msg, "(115)"));
    dg_mysql_config_free(&cfg);
}

/* A password file of mode 0600 that belongs to someone else: the message
 * names the owner, not the mode. Needs root (to chown). */
static void password_file_owner(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *pw = tu_write_str(dir, "pw", "secret\n");
    chmod(pw, 0600);
    dg_mysql_config c;
    dg_mysql_config_init(&c);
    dg_err err;
    assert_int_equal(dg_mysql_password_from_file(&c, pw, &err), DG_OK);
    assert_string_equal(c.password, "secret");
    chmod(pw, 0640);
    assert_int_equal(dg_mysql_password_from_file(&c, pw, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "mode 640"));
    assert_non_null(strstr(err.msg, "chmod 600"));
    chmod(pw, 0600);
    if (geteuid() != 0) {
        fprintf(stderr, "# not root: the other-owner case is not tried\n");
    } else {
        assert_int_equal(chown(pw, 12345, 12345), 0);
        assert_int_equal(dg_mysql_password_from_file(&c, pw, &err), DG_ERR);
        fprintf(stderr, "# %s\n", err.msg);
        assert_non_null(strstr(err.msg, "owned by uid 12345"));
        assert_non_null(strstr(err.msg, "chown"));
        assert_null(strstr(err.msg, "chmod"));
        /* Someone else's and readable by others: both are said. */
        chmod(pw, 0644);
        assert_int_equal(dg_mysql_password_from_file(&c, pw, &err), DG_ERR);
        assert_non_null(strstr(err.msg, "chown"));
        assert_non_null(strstr(err.msg, "chmod 600"));
    }
    dg_mysql_config_free(&c);
    tu_rmrf(dir);
    free(pw);
    free(dir);
}

/* The command line: the password file's mode is checked and no password is
 * ever printed. */
static void cli_password_handling(void **state)
{
    (void)state;
    dg_mysql_config cfg;
    if (!server_config(&cfg, NULL))
        skip();
    char *dir = tu_tmpdir();
    char *pw = tu_write_str(dir, "pw", password);
    chmod(pw, 0644);
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s load-db --quiet --host %s --port %s --user %s --password-file '%s' </dev/null",
             tu_bin(), cfg.host, getenv("DG_MYSQL_PORT"), cfg.user, pw);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "refusing a password file that others can read"));
    free(out);
    chmod(pw, 0600);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "upgrad shape, loaded from MySQL"));
    assert_null(strstr(out, password));
    free(out);
    /* MYSQL_PWD works too; a wrong one is refused without being echoed. */
    snprintf(cmd, sizeof cmd,
             "MYSQL_PWD=wrong-secret %s load-db --quiet --host %s --port %s --user %s "
             "</dev/null",
             tu_bin(), cfg.host, getenv("DG_MYSQL_PORT"), cfg.user);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "Access denied"));
    assert_null(strstr(out, "wrong-secret"));
    free(out);
    free(pw);
    tu_rmrf(dir);
    free(dir);
    dg_mysql_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest alone[] = {
        cmocka_unit_test(cleartext_password_never_sent),
        cmocka_unit_test(tls_default_by_host),
        cmocka_unit_test(tls_default_required_off_loopback),
        cmocka_unit_test(closed_port_refused),
        cmocka_unit_test(password_file_owner),
    };
    /* Without a server only the tests that need none run. */
    if (tu_server_missing("DG_MYSQL_HOST", "scripts/mariadb.sh"))
        return cmocka_run_group_tests(alone, NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cleartext_password_never_sent),
        cmocka_unit_test(tls_default_by_host),
        cmocka_unit_test(tls_default_required_off_loopback),
        cmocka_unit_test(closed_port_refused),
        cmocka_unit_test(password_file_owner),
        cmocka_unit_test(roundtrip_kaggle),
        cmocka_unit_test(roundtrip_upgrad),
        cmocka_unit_test(tls_modes),
        cmocka_unit_test(connection_errors),
        cmocka_unit_test(table_errors),
        cmocka_unit_test(kill_and_cancel_mid_stream),
        cmocka_unit_test(import_cancel_keeps_old_tables),
        cmocka_unit_test(import_swaps_the_whole_set_at_once),
        cmocka_unit_test(cli_password_handling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
