/* The data sources' settings, from ~/.config/demographer/sources.conf (or
 * $XDG_CONFIG_HOME/demographer/sources.conf), an INI-style file:
 *
 *     [mysql]
 *     host = mlc-testcapstone.cyaielc9bmnf.us-east-1.rds.amazonaws.com
 *     port = 3306
 *     database = mlctest
 *     user = student
 *     tls = preferred          ; disabled | preferred | required | verify_identity
 *     tls_ca = /etc/ssl/certs/rds-global-bundle.pem
 *     password_file = ~/.config/demographer/mysql.password
 *     connect_timeout = 10
 *     read_timeout = 120
 *     [clickhouse]
 *     url = https://coordinator.example:8443/
 *     user = analyst
 *     database = demographer
 *     cluster = demographer    ; the remote_servers cluster of the tables
 *     password_file = ~/.config/demographer/clickhouse.password
 *     connect_timeout = 10
 *     [s3]
 *     labels_url = https://capstone-project-mlc-metadata.s3.amazonaws.com/app_labels_new.txt
 *     categories_url = https://capstone-project-mlc-metadata.s3.amazonaws.com/label_categories.csv
 *     cache_dir = ~/.cache/demographer/s3
 *
 * A `password` key ([mysql] or [clickhouse]) is accepted only when the file
 * itself is 0600 (or stricter) and owned by the user. Unknown sections and keys are errors with
 * the file and line, so that a typo is not silently ignored. */
#ifndef DEMOGRAPHER_SOURCES_CONFIG_H
#define DEMOGRAPHER_SOURCES_CONFIG_H

#include "demographer/source_clickhouse.h"
#include "demographer/source_mysql.h"

#define DG_S3_LABELS_URL "https://capstone-project-mlc-metadata.s3.amazonaws.com/app_labels_new.txt"
#define DG_S3_CATEGORIES_URL \
    "https://capstone-project-mlc-metadata.s3.amazonaws.com/label_categories.csv"

typedef struct dg_sources_config {
    dg_mysql_config mysql;
    char password_file[1024]; /* [mysql]'s; empty: none */
    dg_ch_config clickhouse;
    char ch_password_file[1024]; /* [clickhouse]'s; empty: none */
    char labels_url[1024];
    char categories_url[1024];
    char cache_dir[1024];     /* empty: the default (dg_http_default_cache_dir) */
} dg_sources_config;

void dg_sources_config_init(dg_sources_config *c);
void dg_sources_config_free(dg_sources_config *c);
/* The default path (malloc'd). */
char *dg_sources_config_default_path(void);
/* Reads the file into c (keys it has override c's values). A missing file is
 * not an error unless must_exist. A leading ~/ in paths is expanded. */
int dg_sources_config_read(dg_sources_config *c, const char *path, int must_exist, dg_err *err);

/* Sets c->mysql.password the way every non-interactive reader does, first
 * found wins: password_file (an explicit --password-file; NULL: none), then
 * MYSQL_PWD, then the configuration's password_file, then the configuration's
 * own password (already in c). *from names where it came from, for logs that
 * must never hold the password itself: "--password-file", "MYSQL_PWD",
 * "password_file", "sources.conf" or "none". A file that cannot be used is an
 * error. The CLI prompts on a terminal when this finds none. */
int dg_sources_password(dg_sources_config *c, const char *password_file, const char **from,
                        dg_err *err);
/* The same for c->clickhouse.password: password_file, then
 * CLICKHOUSE_PASSWORD, then [clickhouse]'s password_file, then its password;
 * *from as above ("CLICKHOUSE_PASSWORD" for the environment). */
int dg_sources_ch_password(dg_sources_config *c, const char *password_file, const char **from,
                           dg_err *err);

#endif
