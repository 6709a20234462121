/* The ClickHouse source: a cluster reached over its HTTP interface with
 * libcurl (ClickHouse 18.16, Debian's, has no MySQL protocol), for
 * `db-import --engine clickhouse` and `features --db --engine clickhouse`.
 *
 * Layout written by dg_ch_import, in database D of the coordinator and of each
 * shard of cluster C (remote_servers):
 *   - on each shard, a MergeTree table <name>_local_<gen> per demographer
 *     table (names as mysql-import's: train, brand_device, events,
 *     app_events, gender_age_test, app_labels, label_categories,
 *     train_test_split; gen: 16 random hex digits naming the import), with
 *     the files' columns and a `dg_row` UInt64 that keeps the file order;
 *   - on the coordinator, a Distributed table <name> over them, sharded by
 *     cityHash64(device_id) for the device tables and by dg_row for the
 *     others;
 *   - app_events also holds each row's event's device_id and timestamp (and
 *     dg_has_event: 0 for a row whose event is not in events), so that an app
 *     row lives on the shard of its device and the per-device aggregation
 *     needs no join across shards.
 *
 * Safety: the password travels only in the X-ClickHouse-Key header (never in a
 * URL, a message or a log); the database and cluster names are checked
 * against [A-Za-z0-9_]; every other word of the SQL is the program's own.
 * Every request waits for the end of the query before the first byte
 * (wait_end_of_query=1), so that an error always comes as a non-200 status,
 * and a result's tail is checked anyway. A request carries a query_id; a stop
 * asked by the progress callback kills the query on the server by it. */
#ifndef DEMOGRAPHER_SOURCE_CLICKHOUSE_H
#define DEMOGRAPHER_SOURCE_CLICKHOUSE_H

#include "demographer/dataset.h"
#include "demographer/source_mysql.h"

typedef struct dg_ch_config {
    char url[1024];      /* the coordinator's HTTP(S) URL (no query string), e.g.
                            http://127.0.0.1:8123/ */
    char user[128];
    char database[65];   /* default demographer */
    char cluster[65];    /* the remote_servers cluster the tables are spread over,
                            default demographer */
    unsigned connect_timeout; /* seconds, default 10 (no transfer timeout: a GROUP BY
                                 sends nothing until it is done) */
    char *password;      /* owned, wiped by dg_ch_config_free */
} dg_ch_config;

void dg_ch_config_init(dg_ch_config *c);
void dg_ch_config_free(dg_ch_config *c);
/* Sets (a copy of) the password, wiping the one before; NULL forgets it. */
void dg_ch_config_set_password(dg_ch_config *c, const char *password);
/* The password from the first line of a file only its owner can read (the
 * rules of dg_mysql_password_from_file). */
int dg_ch_password_from_file(dg_ch_config *c, const char *path, dg_err *err);
/* Whether s is a name that may enter SQL: 1 to 64 of [A-Za-z0-9_]. */
int dg_ch_identifier_ok(const char *s);
/* The URL is http:// or https:// without '?', user set, database and cluster
 * identifiers. */
int dg_ch_config_check(const dg_ch_config *c, dg_err *err);

/* One request. */
typedef struct dg_ch_call {
    const char *url;             /* the server; NULL: the config's */
    const char *what;            /* what the messages call it */
    const dg_progress *progress; /* polled while waiting; a stop kills the query */
    char query_id[40];           /* set by the call (dg-<random hex>) */
    uint64_t bytes;              /* bytes received */
    int no_shard_naming;         /* a failure is not followed by a listing of the
                                    cluster's shards (set by that listing itself) */
    int no_database;             /* sent without the config's database as the default
                                    (which may not exist yet) */
    const char *settings;        /* more URL parameters ("name=value&..."), the
                                    program's own constants; NULL: none */
    long timeout_s;              /* the whole request's limit; 0: none (a GROUP BY
                                    sends nothing until it is done) */
} dg_ch_call;

/* Runs sql (a SELECT, sent in TabSeparated) and streams its rows to fn as
 * dg_mysql_query_rows does (NULL fields for \N). fn may be NULL for a
 * statement without rows. A nonzero return from fn stops the read, kills the
 * query and returns DG_ERR with err as fn filled it. Errors name the server
 * and `what`; when the server's message names a shard of the cluster that
 * does not answer, the message says which shard. */
int dg_ch_query_rows(const dg_ch_config *c, dg_ch_call *call, const char *sql,
                     dg_mysql_row_fn fn, void *ctx, dg_err *err);
/* A statement without rows on url (NULL: the config's). */
int dg_ch_exec(const dg_ch_config *c, const char *url, const char *sql, const char *what,
               dg_err *err);
/* Whether the coordinator's `events` and `app_events` are Distributed tables
 * sharded by cityHash64(device_id), as db-import writes them: every row of a
 * device then lives on one shard, and a GROUP BY whose key holds device_id
 * may skip the coordinator's merge (distributed_group_by_no_merge). */
int dg_ch_sharded_by_device(const dg_ch_config *c, int *yes, dg_err *err);
/* KILL QUERY WHERE query_id = id (id as dg_ch_call made it), on url, then
 * waits a few seconds at most for the query to leave system.processes:
 * returns promptly even when a shard hangs (a stopped process, not a closed
 * port), which holds a killed query on the coordinator until the server's
 * receive_timeout. DG_ERR when the query is still listed after the wait. */
int dg_ch_kill(const dg_ch_config *c, const char *url, const char *query_id, dg_err *err);

/* Loads the data set's tables from the coordinator (ORDER BY dg_row), as
 * dg_mysql_load does: train and brand_device required (and events and
 * app_events unless skipped), the others when present; Upgrad shape when
 * train has group_train. Tables of two imports (a swap the server stopped
 * in the middle of) are refused. bytes (may be NULL): the bytes received.
 * On failure nothing stays loaded. */
int dg_ch_load(dg_dataset *ds, const dg_ch_config *c, const int skip[DG_T_COUNT],
               const dg_progress *progress, uint64_t *bytes, dg_err *err);

typedef struct dg_ch_import_report {
    uint64_t rows[DG_T_COUNT];
    char table[DG_T_COUNT][65]; /* the Distributed table written, or "" */
    int shards;
    double seconds;
} dg_ch_import_report;

/* Writes every table of ds into the cluster (layout above). shard_urls: the
 * HTTP URL of each shard of the cluster (as many as system.clusters lists, in
 * its shard order), where the local tables are created. Everything is
 * written to new tables first (the shards' under this import's gen, the
 * coordinator's as <name>__dg_new) and checked (row counts); only then does
 * one RENAME of the coordinator's tables swap the set in (a table of the
 * earlier import that ds lacks goes too), so that a failed or killed import
 * leaves the earlier data whole. What earlier imports left (staged tables,
 * shards' tables no Distributed table reads) is dropped first and last. One
 * import at a time per database. */
int dg_ch_import(const dg_ch_config *c, const char *const *shard_urls, int nshards,
                 const dg_dataset *ds, const dg_progress *progress, dg_ch_import_report *report,
                 dg_err *err);

#endif
