#include "demographer/dataset.h"

#include "demographer/i64map.h"
#include "demographer/snapshot.h"
#include "demographer/textbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void dg_dataset_init(dg_dataset *ds)
{
    memset(ds, 0, sizeof *ds);
    for (int i = 0; i < DG_T_COUNT; i++)
        dg_table_init(&ds->tables[i], dg_tables[i].name);
}

static void free_tables(dg_dataset *ds)
{
    for (int i = 0; i < DG_T_COUNT; i++) {
        dg_table_free(&ds->tables[i]);
        dg_table_init(&ds->tables[i], dg_tables[i].name);
    }
}

void dg_dataset_free(dg_dataset *ds)
{
    for (int i = 0; i < DG_T_COUNT; i++) {
        dg_table_free(&ds->tables[i]);
        free(ds->sources[i].path);
    }
    free(ds->dir);
    free(ds->snapshot_path);
    memset(ds, 0, sizeof *ds);
}

static int stat_source(dg_source *src, dg_err *err)
{
    struct stat st;
    if (stat(src->path, &st) != 0)
        return dg_fail(err, "%s: %s", src->path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return dg_fail(err, "%s: not a regular file (%s)", src->path, dg_file_kind(st.st_mode));
    src->size = st.st_size;
    src->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    /* ctime too: an in-place edit with its mtime put back (touch -d) still
     * moves ctime, which no user call can set. */
    src->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
    src->inode = (int64_t)st.st_ino;
    return DG_OK;
}

int dg_dataset_find(dg_dataset *ds, const char *dir, const dg_load_opts *opts, dg_err *err)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return dg_fail(err, "%s: cannot open the data directory: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return dg_fail(err, "%s: not a directory", dir);
    free(ds->dir);
    ds->dir = dg_xstrdup(dir);
    ds->shape = DG_SHAPE_KAGGLE;
    int found = 0;
    for (int t = 0; t < DG_T_COUNT; t++) {
        free(ds->sources[t].path);
        memset(&ds->sources[t], 0, sizeof ds->sources[t]);
        ds->present[t] = 0;
        const char *given = opts ? opts->files[t] : NULL;
        if (given) {
            ds->sources[t].path = dg_xstrdup(given);
            if (stat_source(&ds->sources[t], err) != DG_OK)
                return DG_ERR;
            ds->present[t] = 1;
            found++;
            continue;
        }
        for (int f = 0; dg_tables[t].files[f]; f++) {
            char *path = dg_path_join(dir, dg_tables[t].files[f]);
            if (stat(path, &st) == 0) {
                if (!S_ISREG(st.st_mode)) {
                    /* A directory or FIFO under a data file's name is a
                     * mistake to report, not a table to call absent. */
                    dg_fail(err, "%s: not a regular file (%s); the %s table is read from a file "
                            "of this name", path, dg_file_kind(st.st_mode), dg_tables[t].name);
                    free(path);
                    return DG_ERR;
                }
                ds->sources[t].path = path;
                if (stat_source(&ds->sources[t], err) != DG_OK)
                    return DG_ERR;
                ds->present[t] = 1;
                found++;
                if (dg_tables[t].upgrad_file &&
                    strcmp(dg_tables[t].files[f], dg_tables[t].upgrad_file) == 0)
                    ds->shape = DG_SHAPE_UPGRAD;
                break;
            }
            free(path);
        }
    }
    if (!found) {
        char names[1024];
        size_t o = 0;
        for (int t = 0; t < DG_T_COUNT; t++)
            for (int f = 0; dg_tables[t].files[f] && o < sizeof names - 64; f++)
                o += (size_t)snprintf(names + o, sizeof names - o, "%s%s", o ? ", " : "",
                                      dg_tables[t].files[f]);
        return dg_fail(err, "%s: no data files found (looked for %s)", dir, names);
    }
    return DG_OK;
}

/* One row's labels (every column but device_id), for a message. */
static void row_labels(const dg_table *t, uint64_t row, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int c = 0; c < t->ncols && o + 1 < cap; c++) {
        const dg_column *col = &t->cols[c];
        if (strcmp(col->name, "device_id") == 0)
            continue;
        char v[64];
        if (col->type == DG_COL_STR) {
            uint32_t id = dg_col_u32(col)[row];
            dg_escape_bytes(v, sizeof v, dg_strpool_get(&t->strings, id),
                            dg_strpool_len(&t->strings, id), 16);
        } else if (col->type == DG_COL_I32) {
            snprintf(v, sizeof v, "%d", (int)dg_col_i32(col)[row]);
        } else {
            continue;
        }
        int k = snprintf(out + o, cap - o, "%s%s %s", o ? ", " : "", col->name, v);
        o = k < 0 ? o : o + (size_t)k >= cap ? cap - 1 : o + (size_t)k;
    }
}

static int same_labels(const dg_table *t, uint64_t a, uint64_t b)
{
    for (int c = 0; c < t->ncols; c++) {
        const dg_column *col = &t->cols[c];
        if (col->type == DG_COL_STR && dg_col_u32(col)[a] != dg_col_u32(col)[b])
            return 0; /* one pool: equal strings have equal ids */
        if (col->type == DG_COL_I32 && dg_col_i32(col)[a] != dg_col_i32(col)[b])
            return 0;
    }
    return 1;
}

/* A device labelled twice is a load error naming both lines: conflicting
 * labels cannot both be true, and even the same labels twice would weigh
 * the device double in training and could put it on both sides of a split.
 * `lines` gives each row's file line, or is NULL (then rows are named). */
static int check_repeated_labels(const dg_table *t, const char *shown, const uint64_t *lines,
                                 dg_err *err)
{
    const dg_column *idc = dg_table_column(t, "device_id");
    if (!idc)
        return DG_OK;
    const int64_t *id = dg_col_i64(idc);
    dg_i64map seen;
    dg_i64map_init(&seen);
    uint64_t *first = dg_xmalloc((t->nrows + 1) * sizeof *first);
    int rc = DG_OK;
    for (uint64_t i = 0; i < t->nrows && rc == DG_OK; i++) {
        uint32_t n = seen.n, k = dg_i64map_put(&seen, id[i]);
        if (k == n) {
            first[k] = i;
            continue;
        }
        uint64_t f = first[k];
        char where[96], a[160], b[160];
        if (lines)
            snprintf(where, sizeof where, "lines %llu and %llu", (unsigned long long)lines[f],
                     (unsigned long long)lines[i]);
        else
            snprintf(where, sizeof where, "rows %llu and %llu", (unsigned long long)f + 1,
                     (unsigned long long)i + 1);
        if (same_labels(t, f, i)) {
            row_labels(t, f, a, sizeof a);
            rc = dg_fail(err, "%s: %s: device %lld is labelled twice (%s both times); keep one "
                         "row per device", shown, where, (long long)id[i], a);
        } else {
            row_labels(t, f, a, sizeof a);
            row_labels(t, i, b, sizeof b);
            rc = dg_fail(err, "%s: %s: device %lld is labelled twice with conflicting labels "
                         "(%s; then %s)", shown, where, (long long)id[i], a, b);
        }
    }
    free(first);
    dg_i64map_free(&seen);
    return rc;
}

static int labelled_table(int t)
{
    return t == DG_T_LABELS || t == DG_T_SPLIT;
}

int dg_dataset_load(dg_dataset *ds, const char *dir, const dg_load_opts *opts, dg_err *err)
{
    static const dg_load_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    double t0 = dg_now();
    free_tables(ds);
    memset(&ds->reconcile, 0, sizeof ds->reconcile);
    if (dg_dataset_find(ds, dir, opts, err) != DG_OK)
        return DG_ERR;
    ds->lenient = opts->lenient;
    ds->from_snapshot = 0;
    ds->snapshot_warning[0] = '\0';
    free(ds->snapshot_path);
    ds->snapshot_path = NULL;
    if (opts->use_snapshot) {
        ds->snapshot_path = dg_snapshot_path_for(opts->cache_dir, dir);
        char why[600];
        int got = dg_snapshot_read(ds, ds->snapshot_path, opts->progress, why, sizeof why);
        if (got < 0)
            return dg_cancel(err, "%s: cancelled", dir);
        /* A snapshot is written only after the checks below passed; one from
         * before them that fails is ignored, and the CSV read names the lines. */
        for (int t = 0; got == 0 && t < DG_T_COUNT; t++) {
            dg_err cerr;
            if (ds->present[t] && labelled_table(t) &&
                check_repeated_labels(&ds->tables[t], ds->sources[t].path, NULL, &cerr) != DG_OK)
                got = 1;
        }
        if (got > 0)
            free_tables(ds);
        if (got == 0) {
            ds->from_snapshot = 1;
            if (!opts->keep_cut_ids)
                dg_dataset_reconcile(ds);
            ds->seconds = dg_now() - t0;
            return DG_OK;
        }
        if (got > 0 && why[0])
            snprintf(ds->snapshot_warning, sizeof ds->snapshot_warning,
                     "snapshot %.400s: %s; loaded from the CSV files instead", ds->snapshot_path,
                     why);
    }
    for (int t = 0; t < DG_T_COUNT; t++) {
        if (!ds->present[t])
            continue;
        dg_progress_stage stage;
        uint64_t *lines = NULL;
        dg_csv_opts co = {
            .lenient = opts->lenient,
            .threads = opts->threads,
            .progress = dg_progress_restage(&stage, opts->progress, dg_tables[t].name),
            .row_lines = labelled_table(t) ? &lines : NULL,
        };
        if (dg_csv_read(ds->sources[t].path, dg_tables[t].cols, dg_tables[t].ncols, &co,
                        &ds->tables[t], &ds->reports[t], err) != DG_OK) {
            free_tables(ds);
            return DG_ERR;
        }
        int rc = labelled_table(t) ? check_repeated_labels(&ds->tables[t], ds->sources[t].path,
                                                           lines, err)
                                   : DG_OK;
        free(lines);
        if (rc != DG_OK) {
            free_tables(ds);
            return DG_ERR;
        }
    }
    if (ds->snapshot_path) {
        dg_err werr;
        if (dg_snapshot_write(ds, ds->snapshot_path, &werr) != DG_OK) {
            size_t used = strlen(ds->snapshot_warning);
            snprintf(ds->snapshot_warning + used, sizeof ds->snapshot_warning - used,
                     "%ssnapshot not written: %.700s", used ? "; " : "", werr.msg);
        } else if (ds->snapshot_warning[0]) {
            size_t used = strlen(ds->snapshot_warning);
            snprintf(ds->snapshot_warning + used, sizeof ds->snapshot_warning - used,
                     ", and the snapshot rebuilt");
        }
    }
    if (!opts->keep_cut_ids)
        dg_dataset_reconcile(ds);
    ds->seconds = dg_now() - t0;
    return DG_OK;
}

void dg_dataset_reconcile(dg_dataset *ds)
{
    memset(&ds->reconcile, 0, sizeof ds->reconcile);
    if (ds->shape != DG_SHAPE_UPGRAD)
        return;
    dg_table *tables[DG_T_COUNT];
    for (int t = 0; t < DG_T_COUNT; t++)
        tables[t] = ds->present[t] ? &ds->tables[t] : NULL;
    dg_reconcile_ids(tables, &ds->reconcile);
}

void dg_dataset_copy(dg_dataset *dst, const dg_dataset *src)
{
    dg_dataset_init(dst);
    dst->dir = src->dir ? dg_xstrdup(src->dir) : NULL;
    dst->shape = src->shape;
    dst->lenient = src->lenient;
    dst->reconcile = src->reconcile;
    for (int t = 0; t < DG_T_COUNT; t++) {
        dst->present[t] = src->present[t];
        dst->sources[t] = src->sources[t];
        dst->sources[t].path = src->sources[t].path ? dg_xstrdup(src->sources[t].path) : NULL;
        dst->reports[t] = src->reports[t];
        dg_table_free(&dst->tables[t]);
        if (src->present[t])
            dg_table_copy(&dst->tables[t], &src->tables[t]);
        else
            dg_table_init(&dst->tables[t], dg_tables[t].name);
    }
}
