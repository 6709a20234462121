/* A binary snapshot of a loaded data set: the column arrays as they are in
 * memory, so a reload is a few large reads instead of a parse. A snapshot
 * records the size, mtime and inode of every source file and is used only
 * while all of them are unchanged, and not when a source was modified less
 * than two seconds before the snapshot was written (it could have changed
 * again without its size or time stamp showing it). */
#ifndef DEMOGRAPHER_SNAPSHOT_H
#define DEMOGRAPHER_SNAPSHOT_H

#include "demographer/dataset.h"

/* The snapshot file for a data directory inside cache_dir (NULL: the default
 * cache directory). The caller frees the result. */
char *dg_snapshot_path_for(const char *cache_dir, const char *data_dir);

/* Writes the data set's tables atomically to path (its folder is created). */
int dg_snapshot_write(const dg_dataset *ds, const char *path, dg_err *err);

/* Loads the tables from path when the snapshot matches ds->sources and
 * ds->lenient; returns 1 (and loads nothing) when it is missing, stale or
 * unreadable, 0 when loaded, -1 when the progress callback cancelled it. */
int dg_snapshot_read(dg_dataset *ds, const char *path, const dg_progress *progress);

#endif
