/* sources.conf: keys, errors with file:line, the password rules (MySQL's
 * and ClickHouse's). */
#include "testutil.h"

#include "demographer/sources_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void reads_keys(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *p = tu_write_str(dir, "sources.conf",
                           "; the course's database\n"
                           "[mysql]\n"
                           "host = mlc-testcapstone.cyaielc9bmnf.us-east-1.rds.amazonaws.com\n"
                           "port = 3307\n"
                           "database = mlctest\n"
                           "user = student\n"
                           "tls = Verify-Identity\n"
                           "tls_ca = ~/rds.pem\n"
                           "password_file = /etc/x\n"
                           "read_timeout = 30\n"
                           "[s3]\n"
                           "labels_url = http://127.0.0.1:1/a/app_labels_new.txt\n"
                           "cache_dir = /tmp/c\n");
    dg_sources_config c;
    dg_sources_config_init(&c);
    assert_string_equal(c.mysql.host, "127.0.0.1");
    assert_string_equal(c.categories_url, DG_S3_CATEGORIES_URL);
    dg_err err;
    assert_int_equal(dg_sources_config_read(&c, p, 1, &err), DG_OK);
    assert_string_equal(c.mysql.host,
                        "mlc-testcapstone.cyaielc9bmnf.us-east-1.rds.amazonaws.com");
    assert_int_equal(c.mysql.port, 3307);
    assert_string_equal(c.mysql.user, "student");
    assert_int_equal(c.mysql.tls, DG_TLS_VERIFY_IDENTITY);
    char want[1024];
    snprintf(want, sizeof want, "%s/rds.pem", getenv("HOME"));
    assert_string_equal(c.mysql.tls_ca, want);
    assert_string_equal(c.password_file, "/etc/x");
    assert_int_equal(c.mysql.read_timeout, 30);
    assert_string_equal(c.labels_url, "http://127.0.0.1:1/a/app_labels_new.txt");
    assert_string_equal(c.categories_url, DG_S3_CATEGORIES_URL); /* kept */
    assert_string_equal(c.cache_dir, "/tmp/c");
    assert_null(c.mysql.password);
    dg_sources_config_free(&c);

    /* A missing file is fine unless it was asked for by name. */
    dg_sources_config_init(&c);
    assert_int_equal(dg_sources_config_read(&c, "/nonexistent/sources.conf", 0, &err), DG_OK);
    assert_int_equal(dg_sources_config_read(&c, "/nonexistent/sources.conf", 1, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "/nonexistent/sources.conf: cannot open"));
    dg_sources_config_free(&c);
    free(p);
    tu_rmrf(dir);
    free(dir);
}

static void errors_name_the_line(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    dg_sources_config c;
    dg_err err;
    char want[512];
    struct {
        const char *text, *msg;
    } cases[] = {
        {"[mysql]\nhost = h\nhots = x\n", ":3: unknown key 'hots' in [mysql]"},
        {"[mysql]\nport = 99999\n", ":2: port expects a whole number from 1 to 65535"},
        {"[mysql]\ntls = maybe\n", ":2: tls expects disabled, preferred, required, "
                                   "verify_identity or default, got 'maybe'"},
        {"[ftp]\nx = 1\n", ":2: unknown section [ftp]"},
        {"[s3]\nthis line has no equals sign\n", ":2: expected [section] or key = value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *p = tu_write_str(dir, "sources.conf", cases[i].text);
        dg_sources_config_init(&c);
        assert_int_equal(dg_sources_config_read(&c, p, 1, &err), DG_ERR);
        snprintf(want, sizeof want, "%s%s", p, cases[i].msg);
        if (strncmp(err.msg, want, strlen(want)) != 0)
            fail_msg("got '%s', want '%s...'", err.msg, want);
        dg_sources_config_free(&c);
        free(p);
    }
    tu_rmrf(dir);
    free(dir);
}

static void password_rules(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *p = tu_write_str(dir, "sources.conf", "[mysql]\npassword = s3cret\n");
    dg_sources_config c;
    dg_err err;
    /* Others can read the file: the password is refused, and not repeated. */
    chmod(p, 0644);
    dg_sources_config_init(&c);
    assert_int_equal(dg_sources_config_read(&c, p, 1, &err), DG_ERR);
    assert_non_null(strstr(err.msg, ":2: a password is accepted only in a file that is yours "
                                    "with mode 0600"));
    assert_null(strstr(err.msg, "s3cret"));
    dg_sources_config_free(&c);
    assert_non_null(strstr(err.msg, "chmod 600"));
    chmod(p, 0600);
    dg_sources_config_init(&c);
    assert_int_equal(dg_sources_config_read(&c, p, 1, &err), DG_OK);
    assert_string_equal(c.mysql.password, "s3cret");
    dg_sources_config_free(&c);
    assert_null(c.mysql.password);
    /* Mode 0600 but someone else's: the owner is what is wrong (root only:
     * it takes a chown). */
    if (geteuid() == 0) {
        assert_int_equal(chown(p, 12345, 12345), 0);
        dg_sources_config_init(&c);
        assert_int_equal(dg_sources_config_read(&c, p, 1, &err), DG_ERR);
        fprintf(stderr, "# %s\n", err.msg);
        assert_non_null(strstr(err.msg, "owned by uid 12345"));
        assert_non_null(strstr(err.msg, "chown"));
        assert_null(strstr(err.msg, "chmod"));
        assert_null(strstr(err.msg, "s3cret"));
        dg_sources_config_free(&c);
        assert_int_equal(chown(p, 0, 0), 0);
    }

    /* A password file: first line only, and only when private. */
    char *pw = tu_write_str(dir, "pw", "line one\nline two\n");
    chmod(pw, 0640);
    dg_mysql_config m;
    dg_mysql_config_init(&m);
    assert_int_equal(dg_mysql_password_from_file(&m, pw, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "mode 640; run chmod 600"));
    chmod(pw, 0400);
    assert_int_equal(dg_mysql_password_from_file(&m, pw, &err), DG_OK);
    assert_string_equal(m.password, "line one");
    dg_mysql_config_free(&m);
    assert_int_equal(dg_mysql_password_from_file(&m, "/nonexistent/pw", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "cannot open the password file"));
    free(pw);
    free(p);
    tu_rmrf(dir);
    free(dir);
}

/* [clickhouse]: its keys, and its password by the rules of [mysql]'s, from
 * CLICKHOUSE_PASSWORD before the configuration's. */
static void clickhouse_section(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *pw = tu_write_str(dir, "ch.pw", "from-file\n");
    chmod(pw, 0600);
    char text[2048];
    snprintf(text, sizeof text,
             "[clickhouse]\nurl = https://ch.example:8443/\nuser = ann\ndatabase = dgx\n"
             "cluster = c2\nconnect_timeout = 5\npassword_file = %s\n",
             pw);
    char *p = tu_write_str(dir, "sources.conf", text);
    dg_sources_config c;
    dg_sources_config_init(&c);
    assert_string_equal(c.clickhouse.url, "http://127.0.0.1:8123/");
    dg_err err;
    assert_int_equal(dg_sources_config_read(&c, p, 1, &err), DG_OK);
    assert_string_equal(c.clickhouse.url, "https://ch.example:8443/");
    assert_string_equal(c.clickhouse.user, "ann");
    assert_string_equal(c.clickhouse.database, "dgx");
    assert_string_equal(c.clickhouse.cluster, "c2");
    assert_int_equal(c.clickhouse.connect_timeout, 5);
    assert_string_equal(c.ch_password_file, pw);
    assert_null(c.clickhouse.password);
    const char *from;
    setenv("CLICKHOUSE_PASSWORD", "from-env", 1);
    assert_int_equal(dg_sources_ch_password(&c, NULL, &from, &err), DG_OK);
    assert_string_equal(from, "CLICKHOUSE_PASSWORD");
    assert_string_equal(c.clickhouse.password, "from-env");
    unsetenv("CLICKHOUSE_PASSWORD");
    assert_int_equal(dg_sources_ch_password(&c, NULL, &from, &err), DG_OK);
    assert_string_equal(from, "password_file");
    assert_string_equal(c.clickhouse.password, "from-file");
    /* MySQL's password is not ClickHouse's. */
    assert_null(c.mysql.password);
    dg_sources_config_free(&c);
    free(p);

    p = tu_write_str(dir, "sources.conf", "[clickhouse]\npassword = s3cret\n");
    chmod(p, 0644);
    dg_sources_config_init(&c);
    assert_int_equal(dg_sources_config_read(&c, p, 1, &err), DG_ERR);
    assert_non_null(strstr(err.msg, ":2: a password is accepted only in a file that is yours "
                                    "with mode 0600"));
    assert_non_null(strstr(err.msg, "CLICKHOUSE_PASSWORD"));
    assert_null(strstr(err.msg, "s3cret"));
    dg_sources_config_free(&c);
    chmod(p, 0600);
    dg_sources_config_init(&c);
    assert_int_equal(dg_sources_config_read(&c, p, 1, &err), DG_OK);
    assert_int_equal(dg_sources_ch_password(&c, NULL, &from, &err), DG_OK);
    assert_string_equal(from, "sources.conf");
    assert_string_equal(c.clickhouse.password, "s3cret");
    dg_sources_config_free(&c);
    free(p);

    p = tu_write_str(dir, "sources.conf", "[clickhouse]\nhost = h\n");
    dg_sources_config_init(&c);
    assert_int_equal(dg_sources_config_read(&c, p, 1, &err), DG_ERR);
    assert_non_null(strstr(err.msg, ":2: unknown key 'host' in [clickhouse] (keys: url,"));
    dg_sources_config_free(&c);
    free(p);
    free(pw);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_keys),
        cmocka_unit_test(errors_name_the_line),
        cmocka_unit_test(password_rules),
        cmocka_unit_test(clickhouse_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
