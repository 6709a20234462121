#include "demographer/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

/* Layout (native byte order: a snapshot is a cache of this machine's load,
 * never a file to exchange):
 *   "DGSNAP07" | u32 ntables | u32 shape | u32 lenient | u32 reserved | i64 written_ns
 *   per table: u32 present | u32 pathlen | path | i64 size | i64 mtime_ns | i64 ctime_ns | i64 inode
 *   per present table: dg_csv_report | u64 nrows | u32 ncols | u64 XXH3 of those three |
 *     per column: name[32] | u32 type | zero padding to a multiple of 64 |
 *                 data (nrows * width) |
 *                 KEY: u32 ndict | i64 keys[ndict]
 *                 u64 checksum: XXH3 of name, type, data (and ndict, keys)
 *     strings: u32 n | u64 nbytes | bytes (each string NUL-terminated) | u32 lens[n] |
 *              u64 XXH3 of the four
 *   "DGSNAPEND"
 * Column data is aligned so that a reload maps the file and points the
 * columns into it: no copy and no parse. Every column is checksummed (a
 * flipped byte would otherwise change data silently): a mismatch makes the
 * load rebuild from the CSV files and say so. */
#define RACY_NS 2000000000LL

static const char MAGIC[8] = {'D', 'G', 'S', 'N', 'A', 'P', '0', '7'}; /* 07: the sources' ctime */
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
    dg_atomic_file f;
    int failed; /* the first failure's message is in err */
    uint64_t off;
    dg_err err;
} writer;

#define DATA_ALIGN 64

static void put(writer *w, const void *p, size_t n)
{
    if (!w->failed && n && dg_atomic_write(&w->f, p, n, &w->err) != DG_OK)
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

/* ---- checksums (XXH3, 64 bits: about 10 GB/s a core) --------------------- */

static uint64_t table_head_hash(const dg_csv_report *rep, uint64_t nrows, uint32_t ncols)
{
    XXH64_hash_t h = XXH3_64bits(rep, sizeof *rep);
    h = XXH3_64bits_withSeed(&nrows, sizeof nrows, h);
    return XXH3_64bits_withSeed(&ncols, sizeof ncols, h);
}

static uint64_t column_hash(const char name[32], uint32_t type, const void *data, size_t bytes,
                            int has_dict, uint32_t ndict, const int64_t *keys)
{
    XXH64_hash_t h = XXH3_64bits(name, 32);
    h = XXH3_64bits_withSeed(&type, sizeof type, h);
    h = XXH3_64bits_withSeed(data, bytes, h);
    if (has_dict) {
        h = XXH3_64bits_withSeed(&ndict, sizeof ndict, h);
        h = XXH3_64bits_withSeed(keys, (size_t)ndict * sizeof *keys, h);
    }
    return h;
}

static uint64_t strings_hash(uint32_t n, uint64_t nbytes, const void *bytes, const void *lens)
{
    XXH64_hash_t h = XXH3_64bits(&n, sizeof n);
    h = XXH3_64bits_withSeed(&nbytes, sizeof nbytes, h);
    h = XXH3_64bits_withSeed(bytes, nbytes, h);
    return XXH3_64bits_withSeed(lens, (size_t)n * sizeof(uint32_t), h);
}

/* The checksums of a reload are verified together once the layout is read,
 * spread over a few threads (the hashing is a pass over the whole file). */
typedef struct sum_job {
    uint64_t want, got;
    const char *table;
    char col[33];   /* the column's name; "" for the string pool */
    uint32_t type;  /* column: name[32] and type as stored */
    char name[32];
    const void *data;
    size_t bytes;
    int has_dict;
    uint32_t ndict;
    const int64_t *keys;
    uint32_t nstr;  /* string pool */
    const void *lens;
} sum_job;

typedef struct sum_jobs {
    sum_job *v;
    size_t n, cap;
} sum_jobs;

static sum_job *sum_job_add(sum_jobs *j)
{
    if (j->n == j->cap) {
        j->cap = j->cap ? 2 * j->cap : 64;
        j->v = dg_xrealloc(j->v, j->cap * sizeof *j->v);
    }
    sum_job *x = &j->v[j->n++];
    memset(x, 0, sizeof *x);
    return x;
}

static void sum_job_run(sum_job *x)
{
    x->got = x->col[0] ? column_hash(x->name, x->type, x->data, x->bytes, x->has_dict, x->ndict,
                                     x->keys)
                       : strings_hash(x->nstr, x->bytes, x->data, x->lens);
}

typedef struct sum_worker {
    sum_job **mine;
    size_t n;
    pthread_t tid;
} sum_worker;

static void *sum_worker_main(void *arg)
{
    sum_worker *w = arg;
    for (size_t i = 0; i < w->n; i++)
        sum_job_run(w->mine[i]);
    return NULL;
}

static int by_size_desc(const void *a, const void *b)
{
    size_t x = (*(sum_job *const *)a)->bytes, y = (*(sum_job *const *)b)->bytes;
    return (x < y) - (x > y);
}

/* Runs every job (the largest first, each to the least loaded of up to 4
 * threads); returns the first mismatch, or NULL. */
static const sum_job *sum_jobs_check(sum_jobs *j)
{
    size_t total = 0;
    for (size_t i = 0; i < j->n; i++)
        total += j->v[i].bytes;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nw = total < (8u << 20) || ncpu < 2 ? 1 : ncpu > 4 ? 4 : (int)ncpu;
    sum_job **order = dg_xmalloc((j->n + 1) * sizeof *order);
    for (size_t i = 0; i < j->n; i++)
        order[i] = &j->v[i];
    qsort(order, j->n, sizeof *order, by_size_desc);
    sum_worker w[4];
    size_t load[4] = {0};
    for (int k = 0; k < nw; k++) {
        w[k].mine = dg_xmalloc((j->n + 1) * sizeof *w[k].mine);
        w[k].n = 0;
    }
    for (size_t i = 0; i < j->n; i++) {
        int best = 0;
        for (int k = 1; k < nw; k++)
            if (load[k] < load[best])
                best = k;
        w[best].mine[w[best].n++] = order[i];
        load[best] += order[i]->bytes;
    }
    int started[4] = {0};
    for (int k = 1; k < nw; k++)
        started[k] = pthread_create(&w[k].tid, NULL, sum_worker_main, &w[k]) == 0;
    sum_worker_main(&w[0]);
    for (int k = 1; k < nw; k++) {
        if (started[k])
            pthread_join(w[k].tid, NULL);
        else
            sum_worker_main(&w[k]); /* no thread: here */
    }
    for (int k = 0; k < nw; k++)
        free(w[k].mine);
    free(order);
    for (size_t i = 0; i < j->n; i++)
        if (j->v[i].got != j->v[i].want)
            return &j->v[i];
    return NULL;
}

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
    /* 0600, the mode snapshots have always had (mkstemp's). */
    writer w;
    memset(&w, 0, sizeof w);
    if (dg_atomic_open(&w.f, path, 0600, err) != DG_OK)
        return DG_ERR;
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
        put(&w, &s->ctime_ns, 8);
        put(&w, &s->inode, 8);
    }
    for (int t = 0; t < DG_T_COUNT; t++) {
        if (!ds->present[t])
            continue;
        const dg_table *tb = &ds->tables[t];
        struct {
            dg_csv_report rep;
            uint64_t nrows;
            uint32_t ncols;
        } head;
        memset(&head, 0, sizeof head);
        head.rep = ds->reports[t];
        head.nrows = tb->nrows;
        head.ncols = (uint32_t)tb->ncols;
        put(&w, &head.rep, sizeof head.rep);
        put_u64(&w, head.nrows);
        put_u32(&w, head.ncols);
        put_u64(&w, table_head_hash(&head.rep, head.nrows, head.ncols));
        for (int c = 0; c < tb->ncols; c++) {
            const dg_column *col = &tb->cols[c];
            size_t bytes = tb->nrows * dg_coltype_width(col->type);
            put(&w, col->name, sizeof col->name);
            put_u32(&w, (uint32_t)col->type);
            pad(&w);
            put(&w, col->data, bytes);
            uint32_t ndict = col->type == DG_COL_KEY ? col->dict.n : 0;
            if (col->type == DG_COL_KEY) {
                put_u32(&w, ndict);
                put(&w, col->dict.keys, (size_t)ndict * sizeof(int64_t));
            }
            put_u64(&w, column_hash(col->name, (uint32_t)col->type, col->data, bytes,
                                    col->type == DG_COL_KEY, ndict,
                                    col->type == DG_COL_KEY ? col->dict.keys : NULL));
        }
        put_u32(&w, tb->strings.n);
        put_u64(&w, tb->strings.nbytes);
        put(&w, tb->strings.bytes, tb->strings.nbytes);
        put(&w, tb->strings.lens, (size_t)tb->strings.n * sizeof(uint32_t));
        put_u64(&w, strings_hash(tb->strings.n, tb->strings.nbytes, tb->strings.bytes,
                                 tb->strings.lens));
    }
    put(&w, TRAILER, sizeof TRAILER);
    int rc = DG_OK;
    if (w.failed) {
        *err = w.err;
        rc = DG_ERR;
    } else {
        rc = dg_atomic_commit(&w.f, err);
    }
    dg_atomic_discard(&w.f);
    return rc;
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

/* 0 when read, -1 when malformed, -2 when a checksum does not match (what is
 * damaged said in why). */
static int read_table(reader *r, dg_table *tb, dg_csv_report *rep, dg_mapping *m, char *why,
                      size_t whycap, sum_jobs *jobs)
{
    get(r, rep, sizeof *rep);
    uint64_t nrows = get_u64(r);
    uint32_t ncols = get_u32(r);
    uint64_t head_sum = get_u64(r);
    if (r->failed)
        return -1;
    if (head_sum != table_head_hash(rep, nrows, ncols)) {
        snprintf(why, whycap, "table %s: the header's checksum does not match", tb->name);
        return -2;
    }
    if (ncols > DG_MAX_COLS || nrows > r->len)
        return -1;
    dg_table_use_mapping(tb, m);
    tb->nrows = nrows;
    for (uint32_t c = 0; c < ncols; c++) {
        char name[32];
        get(r, name, sizeof name);
        uint32_t type = get_u32(r);
        if (r->failed || type >= DG_COL_NTYPES)
            return -1;
        char shown[33];
        memcpy(shown, name, sizeof name);
        shown[32] = '\0';
        take(r, (DATA_ALIGN - r->off % DATA_ALIGN) % DATA_ALIGN);
        uint64_t bytes = nrows * dg_coltype_width((dg_coltype)type);
        const void *data = take(r, bytes);
        uint32_t ndict = 0;
        const int64_t *keys = NULL;
        if (!r->failed && type == DG_COL_KEY) {
            ndict = get_u32(r);
            keys = take(r, (uint64_t)ndict * sizeof(int64_t));
        }
        uint64_t sum = get_u64(r);
        if (r->failed)
            return -1;
        sum_job *job = sum_job_add(jobs);
        job->want = sum;
        job->table = tb->name;
        memcpy(job->col, shown, sizeof job->col);
        if (!job->col[0])
            snprintf(job->col, sizeof job->col, "#%u", c + 1);
        memcpy(job->name, name, sizeof name);
        job->type = type;
        job->data = data;
        job->bytes = bytes;
        job->has_dict = type == DG_COL_KEY;
        job->ndict = ndict;
        job->keys = keys;
        name[sizeof name - 1] = '\0';
        dg_column *col = dg_table_add_column(tb, name, (dg_coltype)type);
        /* The column lives in the mapping (copy-on-write: later stages
         * may change it in memory without touching the file). */
        col->data = (void *)data;
        col->borrowed = 1;
        if (col->type == DG_COL_KEY) {
            int64_t *copy = dg_xmalloc((size_t)ndict * sizeof *copy);
            memcpy(copy, keys, (size_t)ndict * sizeof *copy);
            dg_i64map_adopt(&col->dict, copy, ndict);
            const uint32_t *codes = col->data;
            for (uint64_t i = 0; i < nrows; i++)
                if (codes[i] >= ndict)
                    return -1;
        }
    }
    uint32_t n = get_u32(r);
    uint64_t nbytes = get_u64(r);
    const char *bytes = take(r, nbytes);
    const uint32_t *lens = take(r, (uint64_t)n * sizeof *lens);
    uint64_t sum = get_u64(r);
    if (r->failed)
        return -1;
    /* Checked before the strings are interned: they are read below. */
    sum_job sj;
    memset(&sj, 0, sizeof sj);
    sj.want = sum;
    sj.nstr = n;
    sj.data = bytes;
    sj.bytes = nbytes;
    sj.lens = lens;
    sum_job_run(&sj);
    if (sj.got != sj.want) {
        snprintf(why, whycap, "table %s, strings: the checksum does not match", tb->name);
        return -2;
    }
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

int dg_snapshot_read(dg_dataset *ds, const char *path, const dg_progress *progress, char *why,
                     size_t whycap)
{
    if (why && whycap)
        why[0] = '\0';
    char scratch[8];
    if (!why || !whycap) {
        why = scratch;
        whycap = sizeof scratch;
    }
    /* Non-blocking, then regular files only: a FIFO (or a device) at the
     * snapshot's path must not hang the load. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return 1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(why, whycap, "not a regular file");
        return 1;
    }
    if (st.st_size < (off_t)sizeof MAGIC) {
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
    ds->snapshot_check_seconds = 0;
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
        int64_t size, mtime, ctime, inode;
        get(&r, &size, 8);
        get(&r, &mtime, 8);
        get(&r, &ctime, 8);
        get(&r, &inode, 8);
        const dg_source *s = &ds->sources[t];
        if (r.failed || (int)present != ds->present[t] ||
            (present && (strlen(s->path) != len || memcmp(p, s->path, len) != 0 ||
                         size != s->size || mtime != s->mtime_ns || ctime != s->ctime_ns ||
                         inode != s->inode)))
            stale = 1;
        /* A file modified within the clock's granularity of the snapshot's
         * writing could change again with the same size and time stamp
         * (git's "racy" case): such a snapshot is not trusted. */
        if (present && mtime + RACY_NS > written_ns)
            stale = 1;
    }
    sum_jobs jobs = {0};
    for (int t = 0; t < DG_T_COUNT && !stale; t++) {
        if (!ds->present[t])
            continue;
        int got = read_table(&r, &ds->tables[t], &ds->reports[t], m, why, whycap, &jobs);
        if (got == -1)
            snprintf(why, whycap, "table %s: damaged (sizes or codes out of range)",
                     dg_tables[t].name);
        if (got != 0)
            stale = 1;
    }
    if (!stale) {
        double t0 = dg_now();
        const sum_job *bad = sum_jobs_check(&jobs);
        ds->snapshot_check_seconds = dg_now() - t0;
        if (bad) {
            snprintf(why, whycap, "table %s, column %s: the checksum does not match", bad->table,
                     bad->col);
            stale = 1;
        }
    }
    free(jobs.v);
    if (!stale) {
        char trailer[sizeof TRAILER];
        get(&r, trailer, sizeof trailer);
        stale = r.failed || memcmp(trailer, TRAILER, sizeof trailer) != 0;
        if (stale)
            snprintf(why, whycap, "damaged (no end marker)");
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
