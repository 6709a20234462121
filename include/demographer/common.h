/* Conventions shared by every module of the core library.
 *
 * The library never prints and never exits: a function that can fail returns
 * DG_OK (0) or DG_ERR (-1) and, on failure, leaves a message in a dg_err the
 * caller passed in. main and the UI decide what to do with it. */
#ifndef DEMOGRAPHER_COMMON_H
#define DEMOGRAPHER_COMMON_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <stdint.h>

#define DG_OK 0
#define DG_ERR (-1)
/* Not a return value: the status a dg_err records when the work stopped
 * because its progress callback asked it to (see dg_cancel). */
#define DG_CANCELLED (-2)

#define DG_VERSION "0.1.0"

typedef struct dg_err {
    char msg[1024];
    int status; /* DG_ERR, or DG_CANCELLED: the work was cancelled */
} dg_err;

/* Formats msg into err (when err is not NULL), sets its status to DG_ERR and
 * returns DG_ERR, so that a failure path reads `return dg_fail(err, "...");`. */
int dg_fail(dg_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for work stopped by its progress callback: the status is
 * DG_CANCELLED, so callers tell a cancel from a failure by dg_cancelled, never
 * by the message. Returns DG_ERR. */
int dg_cancel(dg_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int dg_cancelled(const dg_err *err)
{
    return err && err->status == DG_CANCELLED;
}

/* Progress of long work. done/total are in the unit named by `unit` ("bytes",
 * "rows", ...); total may be 0 when unknown. Returning non-zero asks the work
 * to stop: it then fails through dg_cancel (status DG_CANCELLED, message
 * "cancelled") and leaves nothing half-built behind. */
typedef int (*dg_progress_fn)(void *ctx, const char *stage, double done, double total,
                              const char *unit);

typedef struct dg_progress {
    dg_progress_fn fn;
    void *ctx;
} dg_progress;

/* Progress passed on under another stage name (a table's name, "describe
 * events"...): restage fills s and returns the progress to hand down, or
 * NULL when outer is NULL. s must outlive the work. */
typedef struct dg_progress_stage {
    const dg_progress *outer;
    char stage[64];
    dg_progress as;
} dg_progress_stage;
const dg_progress *dg_progress_restage(dg_progress_stage *s, const dg_progress *outer,
                                       const char *stage);

/* The path of a per-user file or folder: $XDG_VAR/rest when that variable
 * holds an absolute path, else $HOME/home_sub/rest, else
 * /tmp/demographer-UID/rest. The caller frees it. */
char *dg_user_path(const char *xdg_var, const char *home_sub, const char *rest);

/* Calls p->fn when set; returns non-zero when the work must stop. */
int dg_progress_report(const dg_progress *p, const char *stage, double done, double total,
                       const char *unit);

/* Allocation that cannot fail silently: on exhaustion the process ends with a
 * message (a data tool that runs out of memory has no sensible way on). */
void *dg_xmalloc(size_t n);
void *dg_xcalloc(size_t count, size_t size);
void *dg_xrealloc(void *p, size_t n);
char *dg_xstrdup(const char *s);

/* Writes `len` bytes to `path` atomically: a temporary file in the same
 * directory, fsync, then rename, so a crash never leaves half a file. */
int dg_write_file_atomic(const char *path, const void *data, size_t len, dg_err *err);
/* A file written as a stream and put in place whole (what
 * dg_write_file_atomic does for data held in memory at once): open creates
 * PATH.tmp-PID-XXXXXX beside PATH with the given mode, after removing such
 * temporaries of writers that died (dg_remove_dead_temps); write appends
 * (small writes are gathered, large ones go straight to the file); close
 * flushes, fsyncs and closes; commit closes when not yet closed and renames
 * the file over PATH; discard removes the temporary (after a failure, or
 * as the cleanup after commit, when it does nothing). Each call that fails
 * says why in err, naming PATH. */
typedef struct dg_atomic_file {
    char *path, *tmp; /* NULL when not open */
    int fd;           /* -1 once closed */
    char *buf;        /* writes gathered, flushed at DG_ATOMIC_BUF bytes */
    size_t len;
} dg_atomic_file;
int dg_atomic_open(dg_atomic_file *f, const char *path, unsigned mode, dg_err *err);
int dg_atomic_write(dg_atomic_file *f, const void *data, size_t len, dg_err *err);
int dg_atomic_close(dg_atomic_file *f, dg_err *err);
int dg_atomic_commit(dg_atomic_file *f, dg_err *err);
void dg_atomic_discard(dg_atomic_file *f);
/* Removes the temporaries PATH.tmp-PID-XXXXXX that a writer killed mid-write
 * left: only that exact pattern, only regular files, only when process PID
 * is gone (never this process's own). */
void dg_remove_dead_temps(const char *path);
/* What a file of this st_mode is, for messages: "a directory", "a FIFO", ... */
const char *dg_file_kind(unsigned mode);
/* Opens path for reading only when it is a regular file of at most max_bytes
 * (0: any size): a FIFO, a device (/dev/zero) or a directory is refused with
 * "PATH: not a regular file (a FIFO)" instead of blocking or growing memory
 * without end. NULL with the reason in err otherwise. Every file the product
 * reads goes through here (or through load's own mapping, the same check). */
FILE *dg_open_regular(const char *path, off_t max_bytes, dg_err *err);
/* XXH3 (64 bits) of a regular file's bytes (dg_open_regular), for
 * integrity checks of files the product wrote. */
int dg_file_xxh3(const char *path, uint64_t *hash, dg_err *err);
/* The whole file into *text (NUL-terminated, *len bytes; the caller frees
 * it), or DG_ERR with "PATH: why". */
int dg_read_file(const char *path, char **text, size_t *len, dg_err *err);

/* "dir/name" (no second slash when dir ends with one); the caller frees it. */
char *dg_path_join(const char *dir, const char *name);

/* Removes a file or a directory tree (like rm -rf); what cannot be removed
 * stays, silently: callers use it to clean up work that failed. */
void dg_rm_tree(const char *path);

/* ---- outputs: never over an input, never half-written ------------------ */

/* The absolute, symlink-free form of path, which need not exist: realpath
 * of its nearest existing parent, then the missing rest ("." and ".."
 * taken lexically). Returns DG_ERR only when out (PATH_MAX bytes) is too
 * small or the current directory is unknown. */
int dg_path_resolve(const char *path, char *out, size_t cap);

/* Refuses (DG_ERR, naming both paths) an output path that is, contains or
 * lies inside one of the inputs, compared after dg_path_resolve (so
 * symlinks count). NULL inputs are skipped. `what` names the output in the
 * message ("--out"). Touches nothing. */
int dg_output_apart(const char *what, const char *out, const char *const *inputs, size_t ninputs,
                    dg_err *err);

/* Puts the directory from in place of to in one step (renameat2 with
 * RENAME_EXCHANGE, so to is always whole: the old one or the new one; a
 * plain rename when to does not exist), then removes the old one. */
int dg_dir_publish(const char *from, const char *to, dg_err *err);

/* Removes the DIR.partial-PID folders next to dir whose process is gone
 * (the exact pattern only, directories only, never this process's own, and
 * only folders holding DG_OUTDIR_MARKER or empty: a user's folder that
 * happens to match the name stays). Returns how many were removed. */
int dg_remove_stale_partials(const char *dir);

/* The marker every folder written through dg_outdir holds: an existing
 * folder is replaced only when it is empty or holds it. */
#define DG_OUTDIR_MARKER ".demographer-output"

/* A folder written whole or not at all: begin makes DIR.partial-PID (after
 * removing stale partials of dead processes) where the work writes;
 * commit publishes it as DIR (dg_dir_publish); abort removes it. begin
 * refuses a DIR that exists and is not a folder, or is a folder of files
 * demographer did not write (not empty, no marker). A DIR that is a symlink
 * is followed: the output replaces the folder it points to, and the link
 * stays. commit and abort
 * free what begin allocated; commit removes the partial when it fails. */
typedef struct dg_outdir {
    char *dir;     /* as given, trailing slashes removed */
    char *partial; /* DIR.partial-PID: where the work writes */
} dg_outdir;
int dg_outdir_begin(dg_outdir *o, const char *dir, dg_err *err);
int dg_outdir_commit(dg_outdir *o, dg_err *err);
void dg_outdir_abort(dg_outdir *o);

/* Test hook: when set, dg_dir_publish calls it once the new folder is at
 * `to` and the old one (NULL when there was none) at `old`, just before the
 * old one is removed (tests check the swap happened in one step). */
extern void (*dg_dir_publish_hook)(const char *old, const char *to);

/* Creates a directory and its parents (like mkdir -p). */
int dg_mkdirs(const char *path, dg_err *err);

/* FNV-1a, 64 bits: start from DG_FNV1A_INIT and feed bytes; for hash
 * tables, fingerprints and checksums (not for security). */
#define DG_FNV1A_INIT 14695981039346656037ull
/* splitmix64: the next of a small, well-mixed sequence of 64-bit numbers;
 * the same seed gives the same sequence on every machine (not for
 * security). */
static inline uint64_t dg_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A uniform double in (0, 1), never 0 or 1, from dg_splitmix64. */
static inline double dg_uniform_open(uint64_t *state)
{
    return ((double)(dg_splitmix64(state) >> 11) + 0.5) / 9007199254740992.0;
}

/* qsort and bsearch order of int64_t values. */
static inline int dg_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static inline uint64_t dg_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Monotonic clock in seconds. */
double dg_now(void);

/* Bytes for people: 1536 -> "1.5 KiB" (B, KiB, MiB, GiB, TiB; whole bytes
 * below 1 KiB). Returns out. */
char *dg_format_bytes(double v, char *out, size_t cap);
/* A count for people, one format everywhere: 9467 -> "9,467". Returns out. */
char *dg_format_count(unsigned long long v, char *out, size_t cap);
/* A progress amount in unit: bytes as dg_format_bytes, other units as
 * "1.23 M rows" from a million on, else "532 rows". Returns out. */
char *dg_format_amount(double v, const char *unit, char *out, size_t cap);

#endif
