#include "demographer/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Layout (native byte order: a snapshot is a cache of this machine's load,
 * never a file to exchange):
 *   "DGSNAP04" | u32 ntables | u32 shape | u32 lenient | u32 reserved | i64 written_ns
 *   per table: u32 present | u32 pathlen | path | i64 size | i64 mtime_ns | i64 inode
 *   per present table: dg_csv_report | u64 nrows | u32 ncols |
 *     per column: name[32] | u32 type | zero padding to a multiple of 64 |
 *                 data (nrows * width) |
 *                 KEY: u32 ndict | i64 keys[ndict]
 *     strings: u32 n | u64 nbytes | bytes (each string NUL-terminated) | u32 lens[n]
 *   "DGSNAPEND"
 * Column data is aligned so that a reload maps the file and points the
 * columns into it: no copy and no parse. */
#define RACY_NS 2000000000LL

static const char MAGIC[8] = {'D', 'G', 'S', 'N', 'A', 'P', '0', '5'}; /* 05: csv report's UTF-8 count */
static const char TRAILER[9] = {'D', 'G', 'S', 'N', 'A', 'P', 'E', 'N', 'D'};

char *dg_snapshot_path_for(const char *cache_dir, const char *data_dir)
{
    char *base = cache_dir ? dg_xstrdup(cache_dir)
                           : dg_user_path("XDG_CACHE_HOME", ".cache", "demographer");
    char real[PATH_MAX];
    if (!realpath(data_dir, real))
        snprintf(real, sizeof real, "%s", data_dir);
    /* One snapshot per data directory: its last path element, for people
     * looking in the cache, and a hash of its full path, for uniqueness. */
    const char *name = strrchr(real, '/');
    name = name && name[1] ? name + 1 : "root";
    size_t n = strlen(base) + strlen(name) + 40;
    char *out = dg_xmalloc(n);
    snprintf(out, n, "%s/%s-%016llx.dgsnap", base, name,
             (unsigned long long)dg_fnv1a(DG_FNV1A_INIT, real, strlen(real)));
    free(base);
    return out;
}

/* ---- writing ------------------------------------------------------------- */

typedef struct writer {
    FILE *f;
    int failed;
    uint64_t off;
} writer;

#define DATA_ALIGN 64

static void put(writer *w, const void *p, size_t n)
{
    if (!w->failed && n && fwrite(p, 1, n, w->f) != n)
        w->failed = 1;
    w->off += n;
}

static void pad(writer *w)
{
    static const char zeros[DATA_ALIGN];
    put(w, zeros, (DATA_ALIGN - w->off % DATA_ALIGN) % DATA_ALIGN);
}

static void put_u32(writer *w, uint32_t v) { put(w, &v, sizeof v); }
static void put_u64(writer *w, uint64_t v) { put(w, &v, sizeof v); }

int dg_snapshot_write(const dg_dataset *ds, const char *path, dg_err *err)
{
    char *dir = dg_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        if (dg_mkdirs(dir, err) != DG_OK) {
            free(dir);
            return DG_ERR;
        }
    }
    free(dir);
    size_t plen = strlen(path);
    char *tmp = dg_xmalloc(plen + 16);
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return dg_fail(err, "%s: cannot create: %s", path, strerror(e));
    }
    writer w = {fdopen(fd, "wb"), 0, 0};
    if (!w.f) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return dg_fail(err, "%s: cannot open for writing", path);
    }
    setvbuf(w.f, NULL, _IOFBF, 1 << 20);
    put(&w, MAGIC, sizeof MAGIC);
    put_u32(&w, DG_T_COUNT);
    put_u32(&w, (uint32_t)ds->shape);
    put_u32(&w, (uint32_t)ds->lenient);
    put_u32(&w, 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    put_u64(&w, (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
    for (int t = 0; t < DG_T_COUNT; t++) {
        const dg_source *s = &ds->sources[t];
        uint32_t len = s->path ? (uint32_t)strlen(s->path) : 0;
        put_u32(&w, (uint32_t)ds->present[t]);
        put_u32(&w, len);
        put(&w, s->path, len);
        put(&w, &s->size, 8);
        put(&w, &s->mtime_ns, 8);
        put(&w, &s->inode, 8);
    }
    for (int t = 0; t < DG_T_COUNT; t++) {
        if (!ds->present[t])
            continue;
        const dg_table *tb = &ds->tables[t];
        put(&w, &ds->reports[t], sizeof ds->reports[t]);
        put_u64(&w, tb->nrows);
        put_u32(&w, (uint32_t)tb->ncols);
        for (int c = 0; c < tb->ncols; c++) {
            const dg_column *col = &tb->cols[c];
            put(&w, col->name, sizeof col->name);
            put_u32(&w, (uint32_t)col->type);
            pad(&w);
            put(&w, col->data, tb->nrows * dg_coltype_width(col->type));
            if (col->type == DG_COL_KEY) {
                put_u32(&w, col->dict.n);
                put(&w, col->dict.keys, (size_t)col->dict.n * sizeof(int64_t));
            }
        }
        put_u32(&w, tb->strings.n);
        put_u64(&w, tb->strings.nbytes);
        put(&w, tb->strings.bytes, tb->strings.nbytes);
        put(&w, tb->strings.lens, (size_t)tb->strings.n * sizeof(uint32_t));
    }
    put(&w, TRAILER, sizeof TRAILER);
    int ok = !w.failed && fflush(w.f) == 0 && fsync(fileno(w.f)) == 0;
    int e = errno;
    if (fclose(w.f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            e = errno;
        unlink(tmp);
        free(tmp);
        return dg_fail(err, "%s: cannot write: %s", path, strerror(e));
    }
    free(tmp);
    return DG_OK;
}

/* ---- reading ------------------------------------------------------------- */

typedef struct reader {
    const char *base;
    uint64_t off, len;
    int failed;
} reader;

static const void *take(reader *r, uint64_t n)
{
    if (r->failed || n > r->len - r->off) {
        r->failed = 1;
        return NULL;
    }
    const void *p = r->base + r->off;
    r->off += n;
    return p;
}

static void get(reader *r, void *out, size_t n)
{
    const void *p = take(r, n);
    if (p)
        memcpy(out, p, n);
    else
        memset(out, 0, n);
}

static uint32_t get_u32(reader *r)
{
    uint32_t v;
    get(r, &v, sizeof v);
    return v;
}

static uint64_t get_u64(reader *r)
{
    uint64_t v;
    get(r, &v, sizeof v);
    return v;
}

static int read_table(reader *r, dg_table *tb, dg_csv_report *rep, dg_mapping *m)
{
    get(r, rep, sizeof *rep);
    uint64_t nrows = get_u64(r);
    uint32_t ncols = get_u32(r);
    if (r->failed || ncols > DG_MAX_COLS || nrows > r->len)
        return -1;
    dg_table_use_mapping(tb, m);
    tb->nrows = nrows;
    for (uint32_t c = 0; c < ncols; c++) {
        char name[32];
        get(r, name, sizeof name);
        uint32_t type = get_u32(r);
        if (r->failed || type >= DG_COL_NTYPES)
            return -1;
        name[sizeof name - 1] = '\0';
        dg_column *col = dg_table_add_column(tb, name, (dg_coltype)type);
        take(r, (DATA_ALIGN - r->off % DATA_ALIGN) % DATA_ALIGN);
        /* The column lives in the mapping (copy-on-write: later stages
         * may change it in memory without touching the file). */
        col->data = (void *)take(r, nrows * dg_coltype_width(col->type));
        col->borrowed = 1;
        if (r->failed)
            return -1;
        if (col->type == DG_COL_KEY) {
            uint32_t n = get_u32(r);
            const void *keys = take(r, (uint64_t)n * sizeof(int64_t));
            if (!keys)
                return -1;
            int64_t *copy = dg_xmalloc((size_t)n * sizeof *copy);
            memcpy(copy, keys, (size_t)n * sizeof *copy);
            dg_i64map_adopt(&col->dict, copy, n);
            const uint32_t *codes = col->data;
            for (uint64_t i = 0; i < nrows; i++)
                if (codes[i] >= n)
                    return -1;
        }
    }
    uint32_t n = get_u32(r);
    uint64_t nbytes = get_u64(r);
    const char *bytes = take(r, nbytes);
    const uint32_t *lens = take(r, (uint64_t)n * sizeof *lens);
    if (r->failed)
        return -1;
    /* Re-interning in id order gives every string its old id back. */
    uint64_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len;
        memcpy(&len, (const char *)lens + (size_t)i * sizeof len, sizeof len);
        if (off + len + 1 > nbytes || dg_strpool_intern(&tb->strings, bytes + off, len) != i)
            return -1;
        off += len + 1;
    }
    /* A string column must not point past the pool. */
    for (int c = 0; c < tb->ncols; c++) {
        if (tb->cols[c].type != DG_COL_STR)
            continue;
        const uint32_t *v = dg_col_u32(&tb->cols[c]);
        for (uint64_t i = 0; i < nrows; i++)
            if (v[i] >= tb->strings.n)
                return -1;
    }
    return 0;
}

int dg_snapshot_read(dg_dataset *ds, const char *path, const dg_progress *progress)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof MAGIC) {
        close(fd);
        return 1;
    }
    /* MAP_POPULATE: the tables are in memory when the load returns, as
     * they are after a CSV parse, so the two are compared fairly. */
    void *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_POPULATE,
                      fd, 0);
    close(fd);
    if (base == MAP_FAILED)
        return 1;
    dg_mapping *m = dg_xcalloc(1, sizeof *m);
    m->base = base;
    m->len = (size_t)st.st_size;
    m->refs = 1;
    if (dg_progress_report(progress, "snapshot", (double)m->len, (double)m->len, "bytes")) {
        dg_mapping_release(m);
        return -1;
    }
    reader r = {base, 0, (uint64_t)st.st_size, 0};
    char magic[8];
    get(&r, magic, sizeof magic);
    uint32_t ntables = get_u32(&r), shape = get_u32(&r), lenient = get_u32(&r);
    (void)get_u32(&r);
    int64_t written_ns = (int64_t)get_u64(&r);
    int stale = r.failed || memcmp(magic, MAGIC, sizeof magic) != 0 || ntables != DG_T_COUNT ||
                shape != (uint32_t)ds->shape || lenient != (uint32_t)ds->lenient;
    for (int t = 0; t < DG_T_COUNT && !stale; t++) {
        uint32_t present = get_u32(&r), len = get_u32(&r);
        const char *p = take(&r, len);
        int64_t size, mtime, inode;
        get(&r, &size, 8);
        get(&r, &mtime, 8);
        get(&r, &inode, 8);
        const dg_source *s = &ds->sources[t];
        if (r.failed || (int)present != ds->present[t] ||
            (present && (strlen(s->path) != len || memcmp(p, s->path, len) != 0 ||
                         size != s->size || mtime != s->mtime_ns || inode != s->inode)))
            stale = 1;
        /* A file modified within the clock's granularity of the snapshot's
         * writing could change again with the same size and time stamp
         * (git's "racy" case): such a snapshot is not trusted. */
        if (present && mtime + RACY_NS > written_ns)
            stale = 1;
    }
    for (int t = 0; t < DG_T_COUNT && !stale; t++) {
        if (!ds->present[t])
            continue;
        if (read_table(&r, &ds->tables[t], &ds->reports[t], m) != 0)
            stale = 1;
    }
    if (!stale) {
        char trailer[sizeof TRAILER];
        get(&r, trailer, sizeof trailer);
        stale = r.failed || memcmp(trailer, TRAILER, sizeof trailer) != 0;
    }
    dg_mapping_release(m); /* the tables hold their own references */
    if (stale) {
        for (int t = 0; t < DG_T_COUNT; t++) {
            dg_table_free(&ds->tables[t]);
            dg_table_init(&ds->tables[t], dg_tables[t].name);
        }
        return 1;
    }
    return 0;
}
