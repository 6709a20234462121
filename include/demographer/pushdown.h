/* Per-device features computed where the data is: the aggregation of the
 * events and app_events tables is sent to the server as plain SQL GROUP BYs
 * (MariaDB, MySQL, a Spider head node; written for TiDB, StarRocks and Doris
 * too), and only per-device rows come back. The small tables (phones, labels,
 * test devices, app labels, label categories, the mapping file) are read
 * whole, as load-db reads them.
 *
 * The result is bit for bit what dg_features_for_models gives on the same
 * data loaded from the CSV files or with load-db, cleaning rules included:
 *   - time-window: a WHERE on the server;
 *   - zero-coords, unit-box-coords: part of the "observed location"
 *     predicate on the server;
 *   - unknown-device-events: on the client, per device, after the fetch
 *     (the phone devices are known there);
 *   - dedupe-phones, labels-without-phone, empty-categories: on the client,
 *     on the small tables, by dg_clean itself;
 *   - impute-median: no effect on the features (they use observed locations
 *     only), so nothing to do.
 * Needs each event id once in `events` (its key in the data; checked), and the
 * `dg_row` column mysql-import adds for the vocabulary and DBSCAN seed order
 * to be the import's (without it the first event id stands in, which is the
 * same order for the Kaggle files). The Upgrad shape (device ids cut in the
 * events) is refused: its reconciliation works on raw rows.
 *
 * Table and column names come from a fixed list; the only values in the SQL
 * are numbers and times the program formats itself. No user text. */
#ifndef DEMOGRAPHER_PUSHDOWN_H
#define DEMOGRAPHER_PUSHDOWN_H

#include "demographer/clean.h"
#include "demographer/dbscan.h"
#include "demographer/features.h"
#include "demographer/source_clickhouse.h"
#include "demographer/source_mysql.h"

/* The aggregating queries. */
enum {
    DG_PD_Q_CHECK,     /* COUNT(*), COUNT(DISTINCT event_id) of events */
    DG_PD_Q_COUNTS,    /* device -> events, distinct days, per hour and weekday */
    DG_PD_Q_LOCATIONS, /* device, latitude, longitude -> events, per part of day, first row */
    DG_PD_Q_APPS,      /* device, app -> app rows, active rows */
    DG_PD_Q_VOCAB,     /* app -> first row */
    DG_PD_NQUERIES
};

typedef struct dg_pushdown_report {
    uint64_t rows[DG_PD_NQUERIES]; /* rows received per query */
    uint64_t small_rows;           /* rows of the small tables read whole */
    double seconds[DG_PD_NQUERIES];
    double seconds_total;
    uint64_t bytes;                /* bytes received, small tables included (ClickHouse only) */
    int ordered;                   /* the tables have dg_row */
    char client_rules[256];        /* the enabled rules applied on the client, or "" */
} dg_pushdown_report;

/* "event counts", ...: query q's name in messages. */
const char *dg_pushdown_query_name(int q);

/* The SQL of query q for these rules (NULL: no cleaning) into buf; ordered:
 * whether dg_row exists. Returns DG_ERR when buf is too small. */
int dg_pushdown_sql(int q, const dg_rules *rules, int ordered, char *buf, size_t cap);

/* Builds the features of the database's data set as dg_features_for_models
 * would (cluster columns when cluster_eps_km > 0). rules: the cleaning rules
 * (NULL: none). `small` (initialised by the caller) receives the small tables,
 * cleaned: out's brand and model point into it, so free it after out.
 * cluster_report and report may be NULL. On failure nothing is kept and the
 * message names the server (a Spider head names the data node that failed). */
int dg_features_pushdown(const dg_mysql_config *cfg, const dg_rules *rules,
                         const dg_supercats *supercats, double cluster_eps_km,
                         double cluster_min_pts, dg_features *out, dg_dataset *small,
                         dg_dbscan_report *cluster_report, dg_pushdown_report *report,
                         const dg_progress *progress, dg_err *err);

/* ClickHouse (db-import --engine clickhouse's layout, source_clickhouse.h):
 * the same queries in the SQL that ClickHouse 18.16 and current releases
 * both take: toHour, toDate, toDayOfWeek (1 is Monday) for MySQL's HOUR, DATE
 * and DAYOFWEEK (1 is Sunday); unqualified column names (table aliases are
 * lost through a Distributed table); GROUP BY, never DISTINCT over a join;
 * and no join at all: an app row carries its event's device and time. */
int dg_pushdown_sql_clickhouse(int q, const dg_rules *rules, char *buf, size_t cap);
/* ClickHouse's DG_PD_Q_COUNTS packs three hours (or weekdays) into each sum,
 * 21 bits apiece; this q asks the form with one sum per hour and weekday,
 * which features --db runs instead when a device has 2^21 events or more. */
enum { DG_PD_CH_COUNTS_UNPACKED = DG_PD_NQUERIES };

/* dg_features_pushdown on a ClickHouse cluster: the same files, byte for
 * byte. A stop asked by progress kills the running query on the server (by
 * its query_id); a shard that does not answer is named in the message. */
int dg_features_pushdown_clickhouse(const dg_ch_config *cfg, const dg_rules *rules,
                                    const dg_supercats *supercats, double cluster_eps_km,
                                    double cluster_min_pts, dg_features *out, dg_dataset *small,
                                    dg_dbscan_report *cluster_report, dg_pushdown_report *report,
                                    const dg_progress *progress, dg_err *err);

#endif
