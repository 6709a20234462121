#include "cli_sources.h"

#include "cli.h"

#include "demographer/source_clickhouse.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

const cli_option cli_mysql_options[] = {
    CLI_TEXT("\nConnection (defaults from ~/.config/demographer/sources.conf, section [mysql]):\n"),
    CLI_VALUE(CLI_OPT_HOST, 0, "host", "HOST",
              "server (default 127.0.0.1; the course's is "
              "mlc-testcapstone.cyaielc9bmnf.us-east-1.rds.amazonaws.com)"),
    CLI_VALUE(CLI_OPT_PORT, 0, "port", "N", "default 3306"),
    CLI_VALUE(CLI_OPT_DATABASE, 0, "database", "NAME", "default mlctest"),
    CLI_VALUE(CLI_OPT_USER, 0, "user", "NAME", "e.g. student"),
    CLI_VALUE(CLI_OPT_TLS, 0, "tls", "MODE",
              "disabled, preferred (default: TLS when offered), required, verify_identity "
              "(certificate and host name checked)"),
    CLI_VALUE(CLI_OPT_TLS_CA, 0, "tls-ca", "FILE",
              "CA bundle for verify_identity (e.g. the RDS bundle)"),
    CLI_VALUE(CLI_OPT_PASSWORD_FILE, 0, "password-file", "FILE",
              "the password on its first line; the file must be yours, 0600"),
    CLI_VALUE(CLI_OPT_CONFIG, 0, "config", "FILE",
              "sources configuration (default $XDG_CONFIG_HOME/demographer/sources.conf)"),
    CLI_TEXT("The password is taken from --password-file, else $MYSQL_PWD, else the "
             "configuration's\npassword_file or password, else asked for (not echoed) when "
             "stdin is a terminal. It is\nnever accepted as an argument and never printed.\n"),
    CLI_OPTIONS_END};

const cli_option cli_import_options[] = {
    CLI_FLAG('l', 'l', "lenient", "skip bad rows of the files (counted) instead of stopping"),
    CLI_FLAG('q', 'q', "quiet", "no progress"),
    CLI_OPTIONS_END};

int cli_import_opt(cli_import_opts *o, int ch)
{
    switch (ch) {
    case 'l': o->lenient = 1; return 1;
    case 'q': o->quiet = 1; return 1;
    default: return 0;
    }
}

void cli_print_import_tables(const char table[][65], const uint64_t *rows)
{
    printf("%-17s %-18s %11s\n", "table", "database table", "rows");
    for (int t = 0; t < DG_T_COUNT; t++)
        if (table[t][0])
            printf("%-17s %-18s %11" PRIu64 "\n", dg_tables[t].name, table[t], rows[t]);
}

const cli_option cli_ch_options[] = {
    CLI_TEXT("\nClickHouse (--engine clickhouse; HTTP, ClickHouse 18.16 and later):\n"),
    CLI_VALUE(CLI_OPT_ENGINE, 0, "engine", "ENGINE",
              "mysql (default: MariaDB, MySQL, a Spider head) or clickhouse"),
    CLI_VALUE(CLI_OPT_URL, 0, "url", "URL",
              "the coordinator's HTTP URL (default http://127.0.0.1:8123/)"),
    CLI_VALUE(CLI_OPT_CLUSTER, 0, "cluster", "NAME",
              "the remote_servers cluster of the tables (default demographer)"),
    CLI_TEXT("With ClickHouse (defaults from the configuration's [clickhouse]), --user is the\n"
             "ClickHouse user (required; never the passwordless default), its password from\n"
             "--password-file, else $CLICKHOUSE_PASSWORD, else the configuration's password_file\n"
             "or password (required), and --database defaults to demographer (A-Z a-z 0-9 _\n"
             "only). The password travels only in the X-ClickHouse-Key header, never in a URL.\n"),
    CLI_OPTIONS_END};

const cli_option cli_s3_options[] = {
    CLI_TEXT("\nS3 objects (defaults from the configuration's [s3] section):\n"),
    CLI_VALUE(CLI_OPT_CACHE_DIR, 0, "cache-dir", "DIR",
              "where downloads are kept (default $XDG_CACHE_HOME/demographer/s3)"),
    CLI_VALUE(CLI_OPT_URL_LABELS, 0, "url-labels", "URL", "default " DG_S3_LABELS_URL),
    CLI_VALUE(CLI_OPT_URL_CATEGORIES, 0, "url-categories", "URL",
              "default " DG_S3_CATEGORIES_URL),
    CLI_OPTIONS_END};

int cli_sources_opt(cli_sources *s, int ch, const char *arg)
{
    switch (ch) {
    case CLI_OPT_HOST: s->host = arg; return 1;
    case CLI_OPT_PORT: s->port = arg; return 1;
    case CLI_OPT_DATABASE: s->database = arg; return 1;
    case CLI_OPT_USER: s->user = arg; return 1;
    case CLI_OPT_TLS: s->tls = arg; return 1;
    case CLI_OPT_TLS_CA: s->tls_ca = arg; return 1;
    case CLI_OPT_PASSWORD_FILE: s->password_file = arg; return 1;
    case CLI_OPT_CONFIG: s->config = arg; return 1;
    case CLI_OPT_CACHE_DIR: s->cache_dir = arg; return 1;
    case CLI_OPT_URL_LABELS: s->url_labels = arg; return 1;
    case CLI_OPT_URL_CATEGORIES: s->url_categories = arg; return 1;
    case CLI_OPT_ENGINE: s->engine = arg; return 1;
    case CLI_OPT_URL: s->url = arg; return 1;
    case CLI_OPT_CLUSTER: s->cluster = arg; return 1;
    case CLI_OPT_SHARD_URL:
        if (s->nshard_urls < 64)
            s->shard_urls[s->nshard_urls++] = arg;
        else
            s->too_many_shard_urls = 1;
        return 1;
    default: return 0;
    }
}

static int copy(const char *cmd, const char *opt, char *dst, size_t cap, const char *v)
{
    if (strlen(v) >= cap) {
        cli_usage_error(cmd, "%s: value too long (at most %zu bytes)", opt, cap - 1);
        return DG_ERR;
    }
    snprintf(dst, cap, "%s", v);
    return DG_OK;
}

/* Reads one line from the terminal with echo off. */
static int prompt_password(const char *what, char *buf, size_t cap)
{
    struct termios old, quiet;
    if (tcgetattr(STDIN_FILENO, &old) != 0)
        return DG_ERR;
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    fprintf(stderr, "Password for %s: ", what);
    fflush(stderr);
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0)
        return DG_ERR;
    int ok = fgets(buf, (int)cap, stdin) != NULL;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    if (!ok)
        return DG_ERR;
    buf[strcspn(buf, "\r\n")] = '\0';
    return DG_OK;
}

int cli_sources_resolve(const char *cmd, const cli_sources *s, int want_password,
                        dg_sources_config *cfg, int *exit_code)
{
    dg_err err;
    *exit_code = DG_EXIT_USAGE;
    char *path = s->config ? dg_xstrdup(s->config) : dg_sources_config_default_path();
    int rc = dg_sources_config_read(cfg, path, s->config != NULL, &err);
    free(path);
    if (rc != DG_OK) {
        fprintf(stderr, "demographer %s: %s\n", cmd, err.msg);
        *exit_code = 1;
        return DG_ERR;
    }
    dg_mysql_config *m = &cfg->mysql;
    if (s->host && copy(cmd, "--host", m->host, sizeof m->host, s->host) != DG_OK)
        return DG_ERR;
    if (s->port) {
        uint64_t v;
        if (cli_parse_u64(cmd, "--port", s->port, 1, 65535, &v) != DG_OK)
            return DG_ERR;
        m->port = (unsigned)v;
    }
    if (s->database &&
        copy(cmd, "--database", m->database, sizeof m->database, s->database) != DG_OK)
        return DG_ERR;
    if (s->user && copy(cmd, "--user", m->user, sizeof m->user, s->user) != DG_OK)
        return DG_ERR;
    if (s->tls && dg_tls_mode_parse(s->tls, &m->tls) != DG_OK) {
        cli_usage_error(cmd, "--tls expects disabled, preferred, required, verify_identity or "
                             "default, "
                             "got '%s'", s->tls);
        return DG_ERR;
    }
    if (s->tls_ca && copy(cmd, "--tls-ca", m->tls_ca, sizeof m->tls_ca, s->tls_ca) != DG_OK)
        return DG_ERR;
    if (s->cache_dir &&
        copy(cmd, "--cache-dir", cfg->cache_dir, sizeof cfg->cache_dir, s->cache_dir) != DG_OK)
        return DG_ERR;
    if (s->url_labels && copy(cmd, "--url-labels", cfg->labels_url, sizeof cfg->labels_url,
                              s->url_labels) != DG_OK)
        return DG_ERR;
    if (s->url_categories && copy(cmd, "--url-categories", cfg->categories_url,
                                  sizeof cfg->categories_url, s->url_categories) != DG_OK)
        return DG_ERR;
    if (!want_password)
        return DG_OK;
    *exit_code = 1;
    const char *from; /* where from: for the CLI, the messages say enough */
    if (dg_sources_password(cfg, s->password_file, &from, &err) != DG_OK)
        goto fail;
    if (!m->password && isatty(STDIN_FILENO)) {
        char buf[512], who[512];
        snprintf(who, sizeof who, "%s@%s:%u", m->user[0] ? m->user : "(no user)", m->host,
                 m->port);
        if (prompt_password(who, buf, sizeof buf) == DG_OK)
            dg_mysql_config_set_password(m, buf);
        explicit_bzero(buf, sizeof buf);
    }
    return DG_OK;
fail:
    fprintf(stderr, "demographer %s: %s\n", cmd, err.msg);
    return DG_ERR;
}

int cli_sources_engine(const char *cmd, const cli_sources *s)
{
    if (!s->engine || strcmp(s->engine, "mysql") == 0)
        return 0;
    if (strcmp(s->engine, "clickhouse") == 0)
        return 1;
    cli_usage_error(cmd, "--engine expects mysql or clickhouse, got '%s'", s->engine);
    return -1;
}

int cli_ch_resolve(const char *cmd, const cli_sources *s, dg_ch_config *cfg, int *exit_code)
{
    *exit_code = DG_EXIT_USAGE;
    if (s->host || s->port || s->tls || s->tls_ca) {
        cli_usage_error(cmd, "%s", "--host, --port, --tls and --tls-ca are for the MySQL "
                                   "protocol: give ClickHouse's --url");
        return DG_ERR;
    }
    /* The configuration's [clickhouse] first, the options over it. */
    dg_sources_config conf;
    dg_sources_config_init(&conf);
    dg_err err;
    char *path = s->config ? dg_xstrdup(s->config) : dg_sources_config_default_path();
    int rc = dg_sources_config_read(&conf, path, s->config != NULL, &err);
    free(path);
    if (rc != DG_OK) {
        fprintf(stderr, "demographer %s: %s\n", cmd, err.msg);
        dg_sources_config_free(&conf);
        *exit_code = 1;
        return DG_ERR;
    }
    dg_ch_config_free(cfg);
    *cfg = conf.clickhouse;
    dg_ch_config_init(&conf.clickhouse);
    if (s->url && copy(cmd, "--url", cfg->url, sizeof cfg->url, s->url) != DG_OK)
        goto fail;
    if (s->user && copy(cmd, "--user", cfg->user, sizeof cfg->user, s->user) != DG_OK)
        goto fail;
    if (s->database &&
        copy(cmd, "--database", cfg->database, sizeof cfg->database, s->database) != DG_OK)
        goto fail;
    if (s->cluster && copy(cmd, "--cluster", cfg->cluster, sizeof cfg->cluster, s->cluster) != DG_OK)
        goto fail;
    if (dg_ch_config_check(cfg, &err) != DG_OK) {
        cli_usage_error(cmd, "%s", err.msg);
        goto fail;
    }
    /* The password as the MySQL path takes it, the file first; no prompt. */
    conf.clickhouse = *cfg;
    const char *from;
    if (dg_sources_ch_password(&conf, s->password_file, &from, &err) != DG_OK) {
        *cfg = conf.clickhouse;
        dg_ch_config_init(&conf.clickhouse);
        fprintf(stderr, "demographer %s: %s\n", cmd, err.msg);
        *exit_code = 1;
        goto fail;
    }
    *cfg = conf.clickhouse;
    dg_ch_config_init(&conf.clickhouse);
    dg_sources_config_free(&conf);
    if (!cfg->password) {
        cli_usage_error(cmd, "%s",
                        "--engine clickhouse needs a password: --password-file FILE (0600), "
                        "CLICKHOUSE_PASSWORD, or password_file in sources.conf's [clickhouse]");
        return DG_ERR;
    }
    return DG_OK;
fail:
    dg_sources_config_free(&conf);
    return DG_ERR;
}
