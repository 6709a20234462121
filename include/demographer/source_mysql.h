/* The MySQL source: the course's RDS tables (database `mlctest`: `train`,
 * `brand_device` or `brand_devices`, `events`, `app_events`) read through
 * libmysqlclient (Debian's libmariadb) into the same tables the CSV loader
 * fills, and the reverse, `mysql-import`, which copies a CSV set into a
 * database so that a user (and the tests) can build a copy of the course's.
 *
 * Reads are streamed (mysql_use_result: the client holds one row at a time),
 * columns are found by name, and values are parsed with the CSV reader's
 * parsers, so that a value means the same from either source. Every message
 * names the server and the table ("127.0.0.1:3306 mlctest.events: row 12,
 * column 'latitude': expected a number, found NULL"). A failed read leaves no
 * half-filled table behind.
 *
 * The password lives only in dg_mysql_config.password: it is never part of a
 * message, and dg_mysql_config_free wipes it. */
#ifndef DEMOGRAPHER_SOURCE_MYSQL_H
#define DEMOGRAPHER_SOURCE_MYSQL_H

#include "demographer/dataset.h"

/* Whatever the mode, a password never crosses the network in clear text:
 * without TLS only authentication plugins that send no password are
 * allowed (mysql_native_password, client_ed25519), so a server asking for
 * mysql_clear_password (or PAM's dialog) is refused before it gets one. */
typedef enum dg_tls_mode {
    DG_TLS_DISABLED,        /* plain TCP */
    DG_TLS_PREFERRED,       /* TLS when the server offers it, else plain */
    DG_TLS_REQUIRED,        /* TLS or fail before authenticating; the certificate is not
                               checked */
    DG_TLS_VERIFY_IDENTITY, /* TLS, certificate chain and host name checked (tls_ca or the
                               system's CAs) */
    DG_TLS_DEFAULT,         /* not chosen: preferred for a loopback host (127.0.0.0/8, ::1,
                               localhost), required for any other (dg_mysql_tls_effective) */
} dg_tls_mode;

/* "disabled", "preferred", "required", "verify_identity", "default" (any case,
 * '-' for '_'): returns DG_OK and sets *out, or DG_ERR. */
int dg_tls_mode_parse(const char *s, dg_tls_mode *out);
const char *dg_tls_mode_name(dg_tls_mode m);

typedef struct dg_mysql_config {
    char host[256];      /* default 127.0.0.1 */
    unsigned port;       /* default 3306 */
    char database[65];   /* default mlctest */
    char user[128];      /* default: empty (the server decides; usually refused) */
    dg_tls_mode tls;     /* default DG_TLS_DEFAULT */
    char tls_ca[1024];   /* CA bundle for VERIFY_IDENTITY (e.g. the RDS bundle), or empty */
    unsigned connect_timeout; /* seconds, default 10 */
    unsigned read_timeout;    /* seconds without a byte from the server, default 120 */
    char *password;      /* NULL: none; owned, wiped by dg_mysql_config_free */
} dg_mysql_config;

void dg_mysql_config_init(dg_mysql_config *c);
/* The mode a connection uses: c->tls, with DG_TLS_DEFAULT resolved by host. */
dg_tls_mode dg_mysql_tls_effective(const dg_mysql_config *c);
void dg_mysql_config_free(dg_mysql_config *c);
/* Replaces the password (copied; the old one wiped). NULL clears it. */
void dg_mysql_config_set_password(dg_mysql_config *c, const char *password);
/* Reads the password from the first line of a file that only its owner can
 * read: refused unless it is a regular file owned by the calling user with no
 * group or other permission bits (0600 or stricter). */
int dg_mysql_password_from_file(dg_mysql_config *c, const char *path, dg_err *err);
/* Whether a file (st: fstat of the open file) may hold a password: owned by
 * the calling user, no group or other permission bits. DG_ERR says which of
 * the two is wrong and what mends it (chown for the owner, chmod 600 for the
 * mode); `what` names the file in the message ("password file"). */
struct stat;
int dg_mysql_check_private(const char *path, const struct stat *st, const char *what,
                           dg_err *err);

/* An open connection. */
typedef struct dg_mysql dg_mysql;

int dg_mysql_open(dg_mysql **out, const dg_mysql_config *cfg, dg_err *err);
void dg_mysql_close(dg_mysql *m);
/* "host:port" as used in messages. */
const char *dg_mysql_where(const dg_mysql *m);
/* The server's id of this connection (what KILL takes). */
unsigned long dg_mysql_connection_id(dg_mysql *m);
/* Whether the connection is encrypted, and with what ("TLSv1.3"), or NULL. */
const char *dg_mysql_tls_version(dg_mysql *m);
/* Kills another connection of the same server by its id (KILL CONNECTION). */
int dg_mysql_kill(dg_mysql *m, unsigned long connection_id, dg_err *err);

/* The database table a demographer table is read from: the first name of the
 * list that exists (NULL-terminated), e.g. brand_device then brand_devices. */
const char *const *dg_mysql_table_names(dg_table_id id);

typedef struct dg_mysql_read_report {
    char table[65];      /* the database table read */
    uint64_t rows;
    uint64_t estimate;   /* information_schema's row estimate (0 if none) */
    int ordered;         /* read in import order (ORDER BY dg_row) */
    double seconds;
} dg_mysql_read_report;

/* Streams one table into `out` (initialised by the caller; its columns are
 * added in the order of dg_tables[id].cols). Progress is in rows, the total
 * being the server's estimate. Fails when the table or a column is missing,
 * on a NULL or bad value in a numeric column (NULL strings read as empty),
 * and when the connection breaks; `out` is then left empty. */
int dg_mysql_read_table(dg_mysql *m, dg_table_id id, dg_table *out, const dg_progress *progress,
                        dg_mysql_read_report *report, dg_err *err);

typedef struct dg_mysql_load_opts {
    const dg_progress *progress;
    /* Tables to read from a file instead of the database (e.g. the S3 objects
     * app_labels_new.txt and label_categories.csv), by dg_table_id. */
    const char *files[DG_T_COUNT];
    int keep_cut_ids;    /* skip the reconciliation of the Upgrad device ids */
    int skip[DG_T_COUNT]; /* tables not to read, by dg_table_id (features --db aggregates the
                             events and app_events on the server instead) */
} dg_mysql_load_opts;

/* Loads a data set from the database: the four tables of the brief (train,
 * brand_device(s), events, app_events; all required), the others when the
 * database has them (gender_age_test, app_labels, label_categories,
 * train_test_split), and the files given in opts. The shape is Upgrad when
 * `train` has a group_train column. Reconciles the Upgrad device ids.
 * ds->reports[t] has rows and seconds, ds->sources[t].path "host:port/db.table".
 * On failure nothing stays loaded. */
int dg_mysql_load(dg_dataset *ds, const dg_mysql_config *cfg, const dg_mysql_load_opts *opts,
                  dg_err *err);

/* Runs one statement and streams its result (mysql_use_result): fn gets each
 * row's fields (NULL for an SQL NULL), their lengths and the field count. A
 * nonzero return from fn stops the read (the rest is not read; the connection
 * is closed) and returns DG_ERR with err as fn filled it. Errors name the
 * server, the database and `what`. A statement without a result (SET) calls
 * fn never and succeeds. */
typedef int (*dg_mysql_row_fn)(void *ctx, char **row, unsigned long *len, unsigned nfields,
                               dg_err *err);
int dg_mysql_query_rows(dg_mysql *m, const char *sql, const char *what, dg_mysql_row_fn fn,
                        void *ctx, dg_err *err);
/* Sets *out to whether the current database has table.column. */
int dg_mysql_has_column(dg_mysql *m, const char *table, const char *column, int *out,
                        dg_err *err);

typedef struct dg_mysql_import_report {
    uint64_t rows[DG_T_COUNT];
    char table[DG_T_COUNT][65]; /* the database table written, or "" */
    double seconds;
} dg_mysql_import_report;

/* Writes every table of a loaded data set into the database, one database
 * table each under the brief's names (train, brand_device, events,
 * app_events) and the others' file names (gender_age_test, app_labels,
 * label_categories, train_test_split), with the source's column names, typed
 * columns and an auto-increment `dg_row` that keeps the order (reads sort by
 * it). Bulk path: LOAD DATA LOCAL INFILE fed from memory. Every table is
 * written to NAME__dg_new, then one RENAME TABLE swaps the whole set in (a
 * table of the previous import this data set lacks is dropped with it), so a
 * failed, cancelled or killed import leaves the previous import whole, never
 * a mix; leftovers of a killed one are dropped by the next. */
int dg_mysql_import(dg_mysql *m, const dg_dataset *ds, const dg_progress *progress,
                    dg_mysql_import_report *report, dg_err *err);

#endif
