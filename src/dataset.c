#include "demographer/dataset.h"

#include "demographer/snapshot.h"

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
    src->size = st.st_size;
    src->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
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
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
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
        dg_csv_opts co = {
            .lenient = opts->lenient,
            .threads = opts->threads,
            .progress = dg_progress_restage(&stage, opts->progress, dg_tables[t].name),
        };
        if (dg_csv_read(ds->sources[t].path, dg_tables[t].cols, dg_tables[t].ncols, &co,
                        &ds->tables[t], &ds->reports[t], err) != DG_OK) {
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
