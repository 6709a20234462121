/* The options shared by the commands that reach the data sources: the MySQL
 * connection (--host, --port, --database, --user, --tls, --tls-ca,
 * --password-file), the sources configuration file (--config) and, for S3,
 * the cache and URLs. Values come from sources.conf first, then the options.
 *
 * The password never comes from the command line: --password-file FILE (0600),
 * MYSQL_PWD, the configuration's password_file or password, or a prompt that
 * does not echo when stdin is a terminal. */
#ifndef DEMOGRAPHER_CLI_SOURCES_H
#define DEMOGRAPHER_CLI_SOURCES_H

#include "demographer/source_http.h"
#include "demographer/sources_config.h"

#include "cli.h"

enum {
    CLI_OPT_HOST = 1000,
    CLI_OPT_PORT,
    CLI_OPT_DATABASE,
    CLI_OPT_USER,
    CLI_OPT_TLS,
    CLI_OPT_TLS_CA,
    CLI_OPT_PASSWORD_FILE,
    CLI_OPT_CONFIG,
    CLI_OPT_CACHE_DIR,
    CLI_OPT_URL_LABELS,
    CLI_OPT_URL_CATEGORIES,
    CLI_OPT_ENGINE,
    CLI_OPT_URL,
    CLI_OPT_CLUSTER,
    CLI_OPT_SHARD_URL,
};

/* The connection options, under their heading, with the note on the
 * password; the ClickHouse options under theirs (--user, --database and
 * --password-file are the connection options'); and the S3 options under
 * theirs (cli.h's option tables). */
extern const cli_option cli_mysql_options[];
extern const cli_option cli_ch_options[];
extern const cli_option cli_s3_options[];

/* The import commands' own options (mysql-import, db-import): --lenient and
 * --quiet; cli_import_opt takes them (1 when ch was one, else 0). */
extern const cli_option cli_import_options[];
typedef struct cli_import_opts {
    int lenient, quiet;
} cli_import_opts;
int cli_import_opt(cli_import_opts *o, int ch);
/* What an import wrote: each data set table, its database table and rows
 * (the tables written are those with a name in table). */
void cli_print_import_tables(const char table[][65], const uint64_t *rows);

typedef struct cli_sources {
    const char *config;
    const char *host, *port, *database, *user, *tls, *tls_ca, *password_file;
    const char *cache_dir, *url_labels, *url_categories;
    const char *engine, *url, *cluster;
    const char *shard_urls[64];
    int nshard_urls, too_many_shard_urls;
} cli_sources;

/* Records option ch when it is one of the above: returns 1, else 0. */
int cli_sources_opt(cli_sources *s, int ch, const char *arg);
/* Reads the configuration and applies the options over it. With
 * want_password, also finds the password. Prints the error and returns DG_ERR
 * (exit status 1 or 2 in *exit_code). */
int cli_sources_resolve(const char *cmd, const cli_sources *s, int want_password,
                        dg_sources_config *cfg, int *exit_code);

/* Whether the options choose ClickHouse (--engine clickhouse): 1, 0 for the
 * MySQL protocol (no --engine, or mysql); -1 (message printed) for another. */
int cli_sources_engine(const char *cmd, const cli_sources *s);
/* The ClickHouse connection: the configuration's [clickhouse] (--config or
 * the default file), then the options (--url, --user, --database,
 * --cluster); the password from --password-file, else CLICKHOUSE_PASSWORD,
 * else the configuration's password_file or password (required, never
 * asked for). Prints the error and returns DG_ERR (exit status in
 * *exit_code). */
struct dg_ch_config;
int cli_ch_resolve(const char *cmd, const cli_sources *s, struct dg_ch_config *cfg,
                   int *exit_code);

/* Fetches both S3 objects of cfg (printing a line per file unless quiet):
 * paths[0] gets the labels file, paths[1] the categories. Prints errors. */
int cli_fetch_s3(const char *cmd, const dg_sources_config *cfg, const dg_http_opts *base,
                 int quiet, char paths[2][4096]);

#endif
