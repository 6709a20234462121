#include "demographer/sources_config.h"

#include <ini.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void dg_sources_config_init(dg_sources_config *c)
{
    memset(c, 0, sizeof *c);
    dg_mysql_config_init(&c->mysql);
    dg_ch_config_init(&c->clickhouse);
    snprintf(c->labels_url, sizeof c->labels_url, "%s", DG_S3_LABELS_URL);
    snprintf(c->categories_url, sizeof c->categories_url, "%s", DG_S3_CATEGORIES_URL);
}

void dg_sources_config_free(dg_sources_config *c)
{
    dg_mysql_config_free(&c->mysql);
    dg_ch_config_free(&c->clickhouse);
}

char *dg_sources_config_default_path(void)
{
    return dg_user_path("XDG_CONFIG_HOME", ".config", "demographer/sources.conf");
}

typedef struct parse_ctx {
    dg_sources_config *c;
    const char *path;
    int private_file; /* 0600 and ours: may hold a password */
    char why_not[1024]; /* when not: what is wrong with it (dg_mysql_check_private) */
    char error[512];  /* the first error, without the line */
} parse_ctx;

static int set_str(parse_ctx *p, char *dst, size_t cap, const char *value, int path)
{
    const char *home = getenv("HOME");
    int n;
    if (path && strncmp(value, "~/", 2) == 0 && home)
        n = snprintf(dst, cap, "%s/%s", home, value + 2);
    else
        n = snprintf(dst, cap, "%s", value);
    if (n < 0 || (size_t)n >= cap) {
        snprintf(p->error, sizeof p->error, "value too long (at most %zu bytes)", cap - 1);
        return 0;
    }
    return 1;
}

static int set_uint(parse_ctx *p, unsigned *dst, const char *name, const char *value,
                    unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (!*value || *end || *value == '-' || errno || v == 0 || v > max) {
        snprintf(p->error, sizeof p->error, "%s expects a whole number from 1 to %lu, got '%s'",
                 name, max, value);
        return 0;
    }
    *dst = (unsigned)v;
    return 1;
}

static int refuse_password(parse_ctx *p, const char *env)
{
    snprintf(p->error, sizeof p->error,
             "a password is accepted only in a file that is yours with mode 0600 "
             "(%.380s), or use password_file or %s",
             p->why_not, env);
    return 0;
}

static int on_clickhouse_key(parse_ctx *p, const char *name, const char *value)
{
    dg_ch_config *h = &p->c->clickhouse;
    if (strcmp(name, "url") == 0)
        return set_str(p, h->url, sizeof h->url, value, 0);
    if (strcmp(name, "user") == 0)
        return set_str(p, h->user, sizeof h->user, value, 0);
    if (strcmp(name, "database") == 0)
        return set_str(p, h->database, sizeof h->database, value, 0);
    if (strcmp(name, "cluster") == 0)
        return set_str(p, h->cluster, sizeof h->cluster, value, 0);
    if (strcmp(name, "password_file") == 0)
        return set_str(p, p->c->ch_password_file, sizeof p->c->ch_password_file, value, 1);
    if (strcmp(name, "connect_timeout") == 0)
        return set_uint(p, &h->connect_timeout, name, value, 3600);
    if (strcmp(name, "password") == 0) {
        if (!p->private_file)
            return refuse_password(p, "CLICKHOUSE_PASSWORD");
        dg_ch_config_set_password(h, value);
        return 1;
    }
    snprintf(p->error, sizeof p->error,
             "unknown key '%s' in [clickhouse] (keys: url, user, database, cluster, "
             "password_file, password, connect_timeout)",
             name);
    return 0;
}

/* inih's handler: returns 0 on an error, which inih turns into the line. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *p = user;
    if (p->error[0])
        return 1; /* keep the first error only */
    dg_sources_config *c = p->c;
    dg_mysql_config *m = &c->mysql;
    if (strcmp(section, "mysql") == 0) {
        if (strcmp(name, "host") == 0)
            return set_str(p, m->host, sizeof m->host, value, 0);
        if (strcmp(name, "port") == 0)
            return set_uint(p, &m->port, name, value, 65535);
        if (strcmp(name, "database") == 0)
            return set_str(p, m->database, sizeof m->database, value, 0);
        if (strcmp(name, "user") == 0)
            return set_str(p, m->user, sizeof m->user, value, 0);
        if (strcmp(name, "tls") == 0) {
            if (dg_tls_mode_parse(value, &m->tls) == DG_OK)
                return 1;
            snprintf(p->error, sizeof p->error,
                     "tls expects disabled, preferred, required, verify_identity or default, "
                     "got '%s'",
                     value);
            return 0;
        }
        if (strcmp(name, "tls_ca") == 0)
            return set_str(p, m->tls_ca, sizeof m->tls_ca, value, 1);
        if (strcmp(name, "password_file") == 0)
            return set_str(p, c->password_file, sizeof c->password_file, value, 1);
        if (strcmp(name, "connect_timeout") == 0)
            return set_uint(p, &m->connect_timeout, name, value, 3600);
        if (strcmp(name, "read_timeout") == 0)
            return set_uint(p, &m->read_timeout, name, value, 86400);
        if (strcmp(name, "password") == 0) {
            if (!p->private_file)
                return refuse_password(p, "MYSQL_PWD");
            dg_mysql_config_set_password(m, value);
            return 1;
        }
        snprintf(p->error, sizeof p->error,
                 "unknown key '%s' in [mysql] (keys: host, port, database, user, tls, tls_ca, "
                 "password_file, password, connect_timeout, read_timeout)",
                 name);
        return 0;
    }
    if (strcmp(section, "clickhouse") == 0)
        return on_clickhouse_key(p, name, value);
    if (strcmp(section, "s3") == 0) {
        if (strcmp(name, "labels_url") == 0)
            return set_str(p, c->labels_url, sizeof c->labels_url, value, 0);
        if (strcmp(name, "categories_url") == 0)
            return set_str(p, c->categories_url, sizeof c->categories_url, value, 0);
        if (strcmp(name, "cache_dir") == 0)
            return set_str(p, c->cache_dir, sizeof c->cache_dir, value, 1);
        snprintf(p->error, sizeof p->error,
                 "unknown key '%s' in [s3] (keys: labels_url, categories_url, cache_dir)", name);
        return 0;
    }
    snprintf(p->error, sizeof p->error, "unknown section [%s] (sections: mysql, clickhouse, s3)",
             section);
    return 0;
}

int dg_sources_config_read(dg_sources_config *c, const char *path, int must_exist, dg_err *err)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT && !must_exist)
            return DG_OK;
        return dg_fail(err, "%s: cannot open the sources configuration: %s", path,
                       strerror(errno));
    }
    struct stat st;
    parse_ctx p = {.c = c, .path = path};
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(p.why_not, sizeof p.why_not, "it is not a regular file");
    } else {
        dg_err why;
        p.private_file = dg_mysql_check_private(path, &st, "file with a password", &why) == DG_OK;
        if (!p.private_file)
            snprintf(p.why_not, sizeof p.why_not, "%.1000s", why.msg);
    }
    int line = ini_parse_file(f, on_key, &p);
    fclose(f);
    if (line != 0) {
        if (!p.error[0])
            snprintf(p.error, sizeof p.error, "expected [section] or key = value");
        return dg_fail(err, "%s:%d: %s", path, line, p.error);
    }
    return DG_OK;
}

/* Where a password comes from, the same rule for every engine, first found
 * first: the command line's --password-file, the environment variable env,
 * sources.conf's password_file, sources.conf's password. *from names it for
 * the log (never the password); *path is the file to read, or NULL. */
typedef enum { PASSWORD_FILE, PASSWORD_ENV, PASSWORD_AS_IS } password_source;

static password_source password_where(const char *option_file, const char *env,
                                      const char *conf_file, int conf_password, const char **from,
                                      const char **path)
{
    *path = NULL;
    *from = "none";
    if (option_file) {
        *from = "--password-file";
        *path = option_file;
        return PASSWORD_FILE;
    }
    if (getenv(env)) {
        *from = env;
        return PASSWORD_ENV;
    }
    if (conf_file[0]) {
        *from = "password_file";
        *path = conf_file;
        return PASSWORD_FILE;
    }
    if (conf_password)
        *from = "sources.conf";
    return PASSWORD_AS_IS;
}

int dg_sources_password(dg_sources_config *c, const char *password_file, const char **from,
                        dg_err *err)
{
    const char *path;
    switch (password_where(password_file, "MYSQL_PWD", c->password_file, c->mysql.password != NULL,
                           from, &path)) {
    case PASSWORD_FILE:
        return dg_mysql_password_from_file(&c->mysql, path, err);
    case PASSWORD_ENV:
        dg_mysql_config_set_password(&c->mysql, getenv("MYSQL_PWD"));
        return DG_OK;
    default:
        return DG_OK;
    }
}

int dg_sources_ch_password(dg_sources_config *c, const char *password_file, const char **from,
                           dg_err *err)
{
    const char *path;
    switch (password_where(password_file, "CLICKHOUSE_PASSWORD", c->ch_password_file,
                           c->clickhouse.password != NULL, from, &path)) {
    case PASSWORD_FILE:
        return dg_ch_password_from_file(&c->clickhouse, path, err);
    case PASSWORD_ENV:
        dg_ch_config_set_password(&c->clickhouse, getenv("CLICKHOUSE_PASSWORD"));
        return DG_OK;
    default:
        return DG_OK;
    }
}
