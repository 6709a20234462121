/* A data set: the tables found in one directory (either shape), loaded from
 * their CSV files or from a binary snapshot of an earlier load. */
#ifndef DEMOGRAPHER_DATASET_H
#define DEMOGRAPHER_DATASET_H

#include "demographer/reconcile.h"
#include "demographer/schema.h"

typedef struct dg_load_opts {
    int lenient;                   /* skip and count bad rows */
    int threads;                   /* 0: one per core */
    int use_snapshot;              /* reuse and write the binary snapshot */
    const char *cache_dir;         /* NULL: $XDG_CACHE_HOME/demographer or ~/.cache/demographer */
    const char *files[DG_T_COUNT]; /* explicit paths that override discovery */
    const dg_progress *progress;
    int keep_cut_ids;              /* Upgrad shape: leave the cut device ids as the files have
                                      them (mysql-import copies files as they are) */
} dg_load_opts;

/* Where a table comes from, and the identity of that file when it was read
 * (a snapshot is valid while every one of these is unchanged). */
typedef struct dg_source {
    char *path;
    int64_t size, mtime_ns, ctime_ns, inode;
} dg_source;

typedef struct dg_dataset {
    char *dir;
    dg_shape shape;
    int present[DG_T_COUNT];
    dg_source sources[DG_T_COUNT];
    dg_table tables[DG_T_COUNT];
    dg_csv_report reports[DG_T_COUNT];
    int lenient;
    int from_snapshot;           /* the tables came from the snapshot */
    double snapshot_check_seconds; /* of the load, spent verifying its checksums */
    char *snapshot_path;         /* NULL when snapshots are off */
    char snapshot_warning[1100];  /* a snapshot unusable (damaged) or not written: said, not fatal */
    dg_reconcile_report reconcile; /* Upgrad shape: the cut device ids matched to the phones' */
    double seconds;
} dg_dataset;

void dg_dataset_init(dg_dataset *ds);
void dg_dataset_free(dg_dataset *ds);

/* Finds which tables the directory holds and of which shape, without reading
 * them. Fails when the directory is missing or holds none of the files. */
int dg_dataset_find(dg_dataset *ds, const char *dir, const dg_load_opts *opts, dg_err *err);

/* Finds and loads every table present. On failure nothing stays loaded. */
int dg_dataset_load(dg_dataset *ds, const char *dir, const dg_load_opts *opts, dg_err *err);

/* Upgrad shape: replaces the cut device ids of every table by the phones'
 * exact ids where exactly one matches (see reconcile.h) and fills
 * ds->reconcile. Does nothing for the Kaggle shape. Run by dg_dataset_load
 * and by the MySQL load after the tables are read (the snapshot keeps the
 * ids as read, so the report is the same from either). */
void dg_dataset_reconcile(dg_dataset *ds);

/* A deep copy of src's tables and what describes them into dst (initialised
 * here): what cleaning works on when the source cannot be read again. */
void dg_dataset_copy(dg_dataset *dst, const dg_dataset *src);

static inline const dg_table *dg_dataset_table(const dg_dataset *ds, dg_table_id id)
{
    return ds->present[id] ? &ds->tables[id] : NULL;
}

#endif
