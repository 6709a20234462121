/* A binary snapshot of a loaded data set: the column arrays as they are in
 * memory, so a reload is a few large reads instead of a parse. A snapshot
 * records the size, mtime and inode of every source file and is used only
 * while all of them are unchanged, and not when a source was modified less
 * than two seconds before the snapshot was written (it could have changed
 * again without its size or time stamp showing it). Every column carries an
 * XXH3 checksum: a damaged snapshot is rebuilt from the CSV files, and the
 * load says so (dg_dataset.snapshot_warning). */
#ifndef DEMOGRAPHER_SNAPSHOT_H
#define DEMOGRAPHER_SNAPSHOT_H

#include "demographer/dataset.h"

/* The snapshot file for a data directory inside cache_dir (NULL: the default
 * cache directory). The caller frees the result. */
char *dg_snapshot_path_for(const char *cache_dir, const char *data_dir);

/* Writes the data set's tables atomically to path (its folder is created). */
int dg_snapshot_write(const dg_dataset *ds, const char *path, dg_err *err);

/* Loads the tables from path when the snapshot matches ds->sources and
 * ds->lenient, and every column's checksum matches; returns 1 (and loads
 * nothing) when it is missing, stale or unusable, 0 when loaded, -1 when
 * the progress callback cancelled it. Only a regular file is read (opened
 * non-blocking: a FIFO there does not hang). When the file is there but
 * unusable for another reason than being out of date (not a regular file,
 * a checksum mismatch, damaged), why (when not NULL) says so; it is empty
 * otherwise. */
int dg_snapshot_read(dg_dataset *ds, const char *path, const dg_progress *progress, char *why,
                     size_t whycap);

#endif
