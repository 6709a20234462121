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

#include <getopt.h>

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

#define CLI_MYSQL_LONGOPTS                                                                    \
    {"host", required_argument, NULL, CLI_OPT_HOST},                                          \
        {"port", required_argument, NULL, CLI_OPT_PORT},                                      \
        {"database", required_argument, NULL, CLI_OPT_DATABASE},                              \
        {"user", required_argument, NULL, CLI_OPT_USER},                                      \
        {"tls", required_argument, NULL, CLI_OPT_TLS},                                        \
        {"tls-ca", required_argument, NULL, CLI_OPT_TLS_CA},                                  \
        {"password-file", required_argument, NULL, CLI_OPT_PASSWORD_FILE},                    \
        {"config", required_argument, NULL, CLI_OPT_CONFIG}

/* With CLI_MYSQL_LONGOPTS (--user, --database and --password-file are shared). */
#define CLI_CH_LONGOPTS                                                                       \
    {"engine", required_argument, NULL, CLI_OPT_ENGINE},                                      \
        {"url", required_argument, NULL, CLI_OPT_URL},                                        \
        {"cluster", required_argument, NULL, CLI_OPT_CLUSTER},                                \
        {"shard-url", required_argument, NULL, CLI_OPT_SHARD_URL}

#define CLI_CH_USAGE                                                                           \
    "ClickHouse (--engine clickhouse; HTTP, ClickHouse 18.16 and later):\n"                    \
    "  --engine ENGINE      mysql (default: MariaDB, MySQL, a Spider head) or clickhouse\n"    \
    "  --url URL            the coordinator's HTTP URL (default http://127.0.0.1:8123/)\n"     \
    "  --user NAME          the ClickHouse user (required; never the passwordless default)\n" \
    "  --password-file FILE its password on the first line; the file must be yours, 0600\n"   \
    "  --database NAME      default demographer (A-Z a-z 0-9 _ only)\n"                        \
    "  --cluster NAME       the remote_servers cluster of the tables (default demographer)\n"  \
    "The password travels only in the X-ClickHouse-Key header, never in a URL.\n"

#define CLI_S3_LONGOPTS                                                                       \
    {"cache-dir", required_argument, NULL, CLI_OPT_CACHE_DIR},                                \
        {"url-labels", required_argument, NULL, CLI_OPT_URL_LABELS},                          \
        {"url-categories", required_argument, NULL, CLI_OPT_URL_CATEGORIES},                  \
        {"config", required_argument, NULL, CLI_OPT_CONFIG}

#define CLI_MYSQL_USAGE                                                                        \
    "Connection (defaults from ~/.config/demographer/sources.conf, section [mysql]):\n"       \
    "  --host HOST          server (default 127.0.0.1; the course's is\n"                     \
    "                       mlc-testcapstone.cyaielc9bmnf.us-east-1.rds.amazonaws.com)\n"     \
    "  --port N             default 3306\n"                                                   \
    "  --database NAME      default mlctest\n"                                                \
    "  --user NAME          e.g. student\n"                                                   \
    "  --tls MODE           disabled, preferred (default: TLS when offered), required,\n"     \
    "                       verify_identity (certificate and host name checked)\n"            \
    "  --tls-ca FILE        CA bundle for verify_identity (e.g. the RDS bundle)\n"            \
    "  --password-file FILE the password on its first line; the file must be yours, 0600\n"   \
    "  --config FILE        sources configuration (default\n"                                 \
    "                       $XDG_CONFIG_HOME/demographer/sources.conf)\n"                     \
    "The password is taken from --password-file, else $MYSQL_PWD, else the configuration's\n" \
    "password_file or password, else asked for (not echoed) when stdin is a terminal. It is\n" \
    "never accepted as an argument and never printed.\n"

#define CLI_S3_USAGE                                                                           \
    "S3 objects (defaults from the configuration's [s3] section):\n"                          \
    "  --cache-dir DIR      where downloads are kept (default\n"                              \
    "                       $XDG_CACHE_HOME/demographer/s3)\n"                                \
    "  --url-labels URL     default " DG_S3_LABELS_URL "\n"                                   \
    "  --url-categories URL default " DG_S3_CATEGORIES_URL "\n"

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
/* The ClickHouse connection from the options (--url, --user, --database,
 * --cluster, --password-file; the password file is required). Prints the
 * error and returns DG_ERR (exit status in *exit_code). */
struct dg_ch_config;
int cli_ch_resolve(const char *cmd, const cli_sources *s, struct dg_ch_config *cfg,
                   int *exit_code);

/* Fetches both S3 objects of cfg (printing a line per file unless quiet):
 * paths[0] gets the labels file, paths[1] the categories. Prints errors. */
int cli_fetch_s3(const char *cmd, const dg_sources_config *cfg, const dg_http_opts *base,
                 int quiet, char paths[2][4096]);

#endif
