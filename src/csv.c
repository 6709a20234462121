#define _GNU_SOURCE /* memrchr */
#include "demographer/csv.h"

#include "demographer/textbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- column specs -------------------------------------------------------- */

int dg_colspec_allows(const dg_colspec *s, const char *v, size_t len)
{
    if (!s->values)
        return 1;
    for (const char *const *a = s->values; *a; a++)
        if (strlen(*a) == len && memcmp(*a, v, len) == 0)
            return 1;
    return 0;
}

const char *dg_colspec_expected(const dg_colspec *s, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (const char *const *a = s->values; a && *a && o < cap; a++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", a == s->values ? "" : a[1] ? ", " : " or ",
                              *a);
    return buf;
}


/* ---- the file ------------------------------------------------------------ */

typedef struct mapped {
    const char *data;
    size_t size;
} mapped;

static int map_file(const char *path, const char *shown, mapped *m, dg_err *err)
{
    m->data = NULL;
    m->size = 0;
    /* Non-blocking, so that a FIFO under a data file's name fails here
     * instead of hanging the load; fstat then accepts regular files only. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return dg_fail(err, "%s: cannot open: %s", shown, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return dg_fail(err, "%s: cannot stat: %s", shown, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return dg_fail(err, "%s: not a regular file (%s)", shown, dg_file_kind(st.st_mode));
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return dg_fail(err, "%s: cannot map: %s", shown, strerror(e));
        }
        madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
        m->data = p;
        m->size = (size_t)st.st_size;
    }
    close(fd);
    return DG_OK;
}

static void unmap_file(mapped *m)
{
    if (m->data)
        munmap((void *)m->data, m->size);
    m->data = NULL;
}

/* ---- the parser ---------------------------------------------------------- */

typedef struct field {
    const char *s;
    size_t len;
    int quoted;
} field;

typedef struct reader {
    const char *shown;       /* file name in messages */
    const char *end;         /* end of the mapped data */
    const dg_colspec *specs;
    int nspecs;
    int nfields;             /* fields in the header */
    int *field_col;          /* header field -> output column, or -1 */
    const char **field_name; /* header field names, for messages */
    size_t max_field;
    dg_table *t;
    const char *cut_line;    /* start of a last line that has no newline, or NULL */
    int fast;                /* no quotes and no string columns: fast_row applies */
} reader;

/* Per-thread state. */
typedef struct worker {
    const reader *r;
    const char *begin, *stop; /* the chunk: whole lines */
    uint64_t first_line;      /* line number of the chunk's first line */
    uint64_t first_row;       /* where its rows go in the table */
    uint64_t max_rows;        /* lines in the chunk: an upper bound of its rows */
    uint64_t rows, bad_rows;
    dg_i64map dicts[DG_MAX_COLS]; /* chunk-local dictionaries of key columns */
    int64_t pending_keys[DG_MAX_COLS]; /* key values of the row being read, put into the
                                        * dictionary only once the whole row is good */
    char *scratch;            /* unescaped quoted field */
    size_t scratch_cap;
    char *fixed;              /* a string field with its invalid UTF-8 replaced */
    size_t fixed_cap;
    uint64_t utf8_replaced, utf8_first_line; /* bytes replaced by U+FFFD, and where first */
    int utf8_first_column;
    uint64_t *row_lines;      /* dg_csv_opts.row_lines: line of each row, or NULL */
    int failed;               /* strict mode: stopped at an error */
    uint64_t error_line;
    int nfirst;
    uint64_t first_lines[DG_CSV_FIRST_ERRORS];
    char first_errors[DG_CSV_FIRST_ERRORS][320];
    int index;
    struct shared *sh;
} worker;

typedef struct shared {
    atomic_ullong bytes_done;
    atomic_int cancel;
    const dg_progress *progress;
    uint64_t total_bytes;
    int lenient;
} shared;

static void show_found(char *out, size_t cap, const char *s, size_t len)
{
    /* The offending bytes, cut to a readable length, on one line, with NULs,
     * control bytes and invalid UTF-8 escaped (a NUL must not end the text). */
    dg_escape_bytes(out, cap, s, len, 40);
}

/* Records a bad row's message; in strict mode the first one ends the chunk. */
static void row_error(worker *w, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void row_error(worker *w, uint64_t line, const char *fmt, ...)
{
    w->bad_rows++;
    if (w->nfirst < DG_CSV_FIRST_ERRORS) {
        char body[300];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(body, sizeof body, fmt, ap);
        va_end(ap);
        snprintf(w->first_errors[w->nfirst], sizeof w->first_errors[0], "%s: line %llu, %s",
                 w->r->shown, (unsigned long long)line, body);
        w->first_lines[w->nfirst] = line;
        w->nfirst++;
    }
    if (!w->sh->lenient) {
        w->failed = 1;
        w->error_line = line;
    }
}

/* Scans one field starting at *pp. Returns the terminator: ',' , '\n' (also
 * for \r\n), 0 at end of data, or -1 on a quoting error (message recorded). */
static int next_field(worker *w, const char **pp, uint64_t *line, int colno, field *f)
{
    const reader *r = w->r;
    const char *p = *pp, *end = r->end;
    if (p < end && *p == '"') {
        uint64_t open_line = *line;
        const char *start = ++p;
        size_t o = 0;
        for (;;) {
            const char *q = memchr(p, '"', (size_t)(end - p));
            if (!q) {
                row_error(w, open_line,
                          "column %d (%s): unterminated quoted field: the quote opened here is "
                          "never closed before the end of the file",
                          colno, r->field_name[colno - 1]);
                return -1;
            }
            size_t piece = (size_t)(q - p);
            if (o + piece > r->max_field) {
                row_error(w, open_line,
                          "column %d (%s): field longer than %zu bytes (a missing closing quote?)",
                          colno, r->field_name[colno - 1], r->max_field);
                return -1;
            }
            if (o + piece + 1 > w->scratch_cap) {
                w->scratch_cap = (o + piece + 1) * 2;
                w->scratch = dg_xrealloc(w->scratch, w->scratch_cap);
            }
            for (const char *c = p; c < q; c++)
                if (*c == '\n')
                    (*line)++;
            memcpy(w->scratch + o, p, piece);
            o += piece;
            if (q + 1 < end && q[1] == '"') { /* "" is a literal quote */
                w->scratch[o++] = '"';
                p = q + 2;
                continue;
            }
            p = q + 1;
            break;
        }
        (void)start;
        f->s = w->scratch;
        f->len = o;
        f->quoted = 1;
        if (p == end) {
            *pp = p;
            return 0;
        }
        if (*p == ',') {
            *pp = p + 1;
            return ',';
        }
        if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
            *pp = p + (*p == '\r' ? 2 : 1);
            return '\n';
        }
        row_error(w, *line, "column %d (%s): unexpected text after a closing quote",
                  colno, r->field_name[colno - 1]);
        return -1;
    }
    const char *s = p;
    while (p < end) {
        char c = *p;
        if (c == ',' || c == '\n' || c == '\r' || c == '"')
            break;
        p++;
    }
    f->s = s;
    f->len = (size_t)(p - s);
    f->quoted = 0;
    if (f->len > r->max_field) {
        row_error(w, *line, "column %d (%s): field longer than %zu bytes", colno,
                  r->field_name[colno - 1], r->max_field);
        return -1;
    }
    if (p == end) {
        *pp = p;
        return 0;
    }
    switch (*p) {
    case ',':
        *pp = p + 1;
        return ',';
    case '\n':
        *pp = p + 1;
        return '\n';
    case '\r':
        if (p + 1 < end && p[1] == '\n') {
            *pp = p + 2;
            return '\n';
        }
        break;
    default:
        break;
    }
    char found[168];
    show_found(found, sizeof found, s, (size_t)(p - s) + 1);
    row_error(w, *line, "column %d (%s): a quote or carriage return inside an unquoted field, "
              "found '%s'", colno, r->field_name[colno - 1], found);
    return -1;
}

/* Skips the rest of a bad row so that lenient mode can go on at the next
 * line (a quoted field is not re-entered: we resume at the next newline). */
static const char *skip_line(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl + 1 : end;
}

/* Converts one field into row `row` of column `col`. */
static int store_field(worker *w, const field *f, int colno, int col, uint64_t row,
                       uint64_t line)
{
    const reader *r = w->r;
    dg_column *c = &r->t->cols[col];
    int rc = 0;
    int64_t iv = 0;
    double dv = 0;
    switch (c->type) {
    case DG_COL_STR: {
        const dg_colspec *spec = &r->specs[col];
        if (!dg_colspec_allows(spec, f->s, f->len)) {
            /* Exactly one of the listed values: 'm' or 'Test' silently
             * dropped labels or put test devices into training. */
            char found[168], want[128];
            show_found(found, sizeof found, f->s, f->len);
            row_error(w, line, "column %d (%s): expected %s, found '%s'", colno,
                      r->field_name[colno - 1], dg_colspec_expected(spec, want, sizeof want),
                      found);
            return -1;
        }
        size_t bad = dg_utf8_check(f->s, f->len);
        if (bad == f->len) {
            dg_col_u32(c)[row] = dg_strpool_intern(&r->t->strings, f->s, f->len);
            return 0;
        }
        /* Invalid UTF-8 (a Latin-1 or GBK export): each bad byte becomes
         * U+FFFD and is counted, so no text renderer meets it later. */
        if (f->len * 3 + 1 > w->fixed_cap) {
            w->fixed_cap = f->len * 3 + 1;
            w->fixed = dg_xrealloc(w->fixed, w->fixed_cap);
        }
        size_t o = bad, i = bad;
        memcpy(w->fixed, f->s, bad);
        uint64_t replaced = 0;
        while (i < f->len) {
            size_t k = dg_utf8_seq(f->s + i, f->len - i);
            if (k) {
                memcpy(w->fixed + o, f->s + i, k);
                o += k;
                i += k;
            } else {
                memcpy(w->fixed + o, "\xEF\xBF\xBD", 3);
                o += 3;
                i++;
                replaced++;
            }
        }
        if (w->utf8_replaced == 0) {
            w->utf8_first_line = line;
            w->utf8_first_column = colno;
        }
        w->utf8_replaced += replaced;
        dg_col_u32(c)[row] = dg_strpool_intern(&r->t->strings, w->fixed, o);
        return 0;
    }
    case DG_COL_F32:
        if (f->len == 0) {
            dg_col_f32(c)[row] = NAN;
            return 0;
        }
        rc = dg_parse_f64(f->s, f->len, &dv);
        if (rc == 0 && fabs(dv) > 3.4e38)
            rc = DG_PARSE_RANGE;
        if (rc == 0)
            dg_col_f32(c)[row] = (float)dv;
        break;
    case DG_COL_TIME:
        rc = dg_parse_time(f->s, f->len, &iv);
        if (rc == 0)
            dg_col_i64(c)[row] = iv;
        break;
    default:
        rc = dg_parse_i64(f->s, f->len, &iv);
        if (rc == 0) {
            if (c->type == DG_COL_I32 && (iv < INT32_MIN || iv > INT32_MAX))
                rc = DG_PARSE_RANGE;
            else if (c->type == DG_COL_I8 && (iv < INT8_MIN || iv > INT8_MAX))
                rc = DG_PARSE_RANGE;
        }
        if (rc != 0)
            break;
        switch (c->type) {
        case DG_COL_I64: dg_col_i64(c)[row] = iv; break;
        case DG_COL_I32: dg_col_i32(c)[row] = (int32_t)iv; break;
        case DG_COL_I8: dg_col_i8(c)[row] = (int8_t)iv; break;
        case DG_COL_KEY: w->pending_keys[col] = iv; break;
        default: break;
        }
        break;
    }
    if (rc != 0) {
        char found[168];
        show_found(found, sizeof found, f->s, f->len);
        if (rc == DG_PARSE_EMPTY)
            row_error(w, line, "column %d (%s): expected %s, found an empty field", colno,
                      r->field_name[colno - 1], dg_parse_expected(c->type, rc));
        else
            row_error(w, line, "column %d (%s): expected %s, found '%s'", colno,
                      r->field_name[colno - 1], dg_parse_expected(c->type, rc), found);
        return -1;
    }
    return 0;
}

/* Puts the row's key values into the chunk's dictionaries. */
static inline void commit_keys(worker *w, uint64_t row)
{
    const reader *r = w->r;
    for (int c = 0; c < r->nspecs; c++)
        if (r->specs[c].type == DG_COL_KEY)
            dg_col_u32(&r->t->cols[c])[row] = dg_i64map_put(&w->dicts[c], w->pending_keys[c]);
}

/* The fast path for the large files: a row of plain unquoted fields, each
 * parsed as it is scanned (one pass over the bytes, no field copy). Returns 0
 * at anything unusual (quotes, long mantissas, blanks, errors) and the
 * general path then reads the row again and says what is wrong with it. */
/* SWAR digit parsing (D. Lemire's): eight ASCII bytes, read as one
 * little-endian word, checked to be all digits and turned into a number
 * with three multiplications. */
static inline int eight_digits(uint64_t v)
{
    return ((v & 0xF0F0F0F0F0F0F0F0u) | (((v + 0x0606060606060606u) & 0xF0F0F0F0F0F0F0F0u) >> 4)) ==
           0x3333333333333333u;
}

static inline uint32_t parse_eight_digits(uint64_t v)
{
    const uint64_t mask = 0x000000FF000000FFu;
    const uint64_t mul1 = 0x000F424000000064u; /* 100 + (1000000 << 32) */
    const uint64_t mul2 = 0x0000271000000001u; /* 1 + (10000 << 32) */
    v -= 0x3030303030303030u;
    v = (v * 10) + (v >> 8);
    v = (((v & mask) * mul1) + (((v >> 16) & mask) * mul2)) >> 32;
    return (uint32_t)v;
}

static inline int fast_int(const char **pp, const char *end, int64_t *out, int wide)
{
    const char *p = *pp;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    const char *s = p;
    uint64_t v = 0;
    /* Ids (wide: 19 digits, mostly) go eight digits at a time while they
     * last; short numbers (flags, event ids) one by one, where the eight-byte
     * test would only fail. */
    uint64_t block;
    while (wide && end - p >= 8 && (memcpy(&block, p, 8), eight_digits(block))) {
        v = v * 100000000u + parse_eight_digits(block);
        p += 8;
        if (p - s > 16)
            return 0; /* would overflow below: the general path says why */
    }
    while (p < end && (unsigned)(*p - '0') < 10)
        v = v * 10 + (uint64_t)(*p++ - '0');
    size_t n = (size_t)(p - s);
    /* 19 digits cannot overflow uint64; int64's range is checked here. */
    if (n == 0 || n > 19 || v > (uint64_t)INT64_MAX + (uint64_t)neg)
        return 0;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    *pp = p;
    return 1;
}

static inline int fast_float(const char **pp, const char *end, float *out)
{
    const char *p = *pp;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    uint64_t mant = 0;
    int nd = 0, frac = 0;
    while (p < end && (unsigned)(*p - '0') < 10) {
        mant = mant * 10 + (uint64_t)(*p++ - '0');
        nd++;
    }
    if (p < end && *p == '.') {
        p++;
        while (p < end && (unsigned)(*p - '0') < 10) {
            mant = mant * 10 + (uint64_t)(*p++ - '0');
            nd++;
            frac++;
        }
    }
    if (nd == 0 || nd > 15)
        return 0;
    double v = (double)mant / dg_pow10_exact[frac];
    *out = (float)(neg ? -v : v);
    *pp = p;
    return 1;
}

/* What the fast path does with each field of a row, prepared once per chunk
 * so that the row loop reads no shared structure. */
typedef struct fast_op {
    int type; /* a dg_coltype, or -1 for a field that is not read */
    int col;
    char *data;
} fast_op;

static int fast_row(worker *w, const fast_op *ops, int nfields, const char **pp,
                    const char *end, uint64_t row)
{
    const char *p = *pp;
    int64_t keys[DG_MAX_COLS];
    for (int f = 0; f < nfields; f++) {
        const fast_op op = ops[f];
        int64_t iv;
        switch (op.type) {
        case -1:
            while (p < end && *p != ',' && *p != '\n' && *p != '\r' && *p != '"')
                p++;
            break;
        case DG_COL_I64:
            if (!fast_int(&p, end, &iv, 1))
                return 0;
            ((int64_t *)op.data)[row] = iv;
            break;
        case DG_COL_I32:
            if (!fast_int(&p, end, &iv, 0) || iv < INT32_MIN || iv > INT32_MAX)
                return 0;
            ((int32_t *)op.data)[row] = (int32_t)iv;
            break;
        case DG_COL_I8:
            if (!fast_int(&p, end, &iv, 0) || iv < INT8_MIN || iv > INT8_MAX)
                return 0;
            ((int8_t *)op.data)[row] = (int8_t)iv;
            break;
        case DG_COL_KEY:
            if (!fast_int(&p, end, &iv, 1))
                return 0;
            keys[op.col] = iv;
            break;
        case DG_COL_F32:
            if (!fast_float(&p, end, &((float *)op.data)[row]))
                return 0;
            break;
        case DG_COL_TIME:
            if (end - p < 19 || dg_parse_time(p, 19, &iv) != 0)
                return 0;
            ((int64_t *)op.data)[row] = iv;
            p += 19;
            break;
        default:
            return 0; /* strings: files with them take the general path */
        }
        if (f + 1 < nfields) {
            if (p >= end || *p != ',')
                return 0;
            p++;
        }
    }
    if (p < end) {
        if (*p == '\n')
            p++;
        else if (*p == '\r' && p + 1 < end && p[1] == '\n')
            p += 2;
        else
            return 0;
    }
    for (int f = 0; f < nfields; f++)
        if (ops[f].type == DG_COL_KEY)
            ((uint32_t *)ops[f].data)[row] = dg_i64map_put(&w->dicts[ops[f].col], keys[ops[f].col]);
    *pp = p;
    return 1;
}

#define PROGRESS_STEP (8u << 20)

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

/* Maps the pages of [from, to) in one call rather than a fault per few
 * pages; on kernels without it nothing happens and faults do the work. */
static void populate_pages(const char *from, const char *to)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)from & ~(page - 1), b = (uintptr_t)to;
    if (b > a)
        madvise((void *)a, b - a, MADV_POPULATE_READ);
}

/* Drops the pages of [from, to) from this process's mapping once they are
 * read: they stay in the page cache, but the load's resident memory is then
 * its tables, not the whole file. */
static void release_pages(const char *from, const char *to)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)from + page - 1) & ~(page - 1), b = (uintptr_t)to & ~(page - 1);
    if (b > a)
        madvise((void *)a, b - a, MADV_DONTNEED);
}

static void *parse_chunk(void *arg)
{
    worker *w = arg;
    const reader *r = w->r;
    shared *sh = w->sh;
    const char *p = w->begin;
    uint64_t line = w->first_line;
    uint64_t row = w->first_row;
    const char *last_report = p;
    fast_op *ops = dg_xmalloc((size_t)r->nfields * sizeof *ops);
    for (int f = 0; f < r->nfields; f++) {
        int col = r->field_col[f];
        ops[f].type = col < 0 ? -1 : (int)r->t->cols[col].type;
        ops[f].col = col;
        ops[f].data = col < 0 ? NULL : r->t->cols[col].data;
    }
    populate_pages(p, p + PROGRESS_STEP < w->stop ? p + PROGRESS_STEP : w->stop);
    while (p < w->stop && !w->failed) {
        if ((size_t)(p - last_report) >= PROGRESS_STEP) {
            release_pages(last_report, p);
            populate_pages(p, p + PROGRESS_STEP < w->stop ? p + PROGRESS_STEP : w->stop);
            atomic_fetch_add(&sh->bytes_done, (unsigned long long)(p - last_report));
            last_report = p;
            if (w->index == 0 && sh->progress &&
                dg_progress_report(sh->progress, "parse", (double)atomic_load(&sh->bytes_done),
                                   (double)sh->total_bytes, "bytes"))
                atomic_store(&sh->cancel, 1);
            if (atomic_load(&sh->cancel))
                break;
        }
        /* Blank lines (and a lone \r) carry no row. */
        if (*p == '\n') {
            p++;
            line++;
            continue;
        }
        if (*p == '\r' && p + 1 < w->stop && p[1] == '\n') {
            p += 2;
            line++;
            continue;
        }
        if (r->fast && p != r->cut_line && fast_row(w, ops, r->nfields, &p, r->end, row)) {
            if (w->row_lines)
                w->row_lines[row] = line;
            row++;
            line++;
            continue;
        }
        uint64_t row_line = line;
        if (p == r->cut_line) {
            /* A last line without its newline and with too few fields is a
             * cut file: say that, rather than what its cut field lacks. */
            int fields = 1;
            for (const char *c = p; c < r->end; c++)
                fields += *c == ',';
            if (fields < r->nfields) {
                row_error(w, row_line, "expected %d fields as in the header, found %d (the last "
                          "line ends early: is the file truncated?)", r->nfields, fields);
                p = r->end;
                break;
            }
        }
        int ok = 1, term = ',', nf = 0;
        while (term == ',') {
            field f;
            nf++;
            term = next_field(w, &p, &line, nf <= r->nfields ? nf : r->nfields, &f);
            if (term < 0) {
                ok = 0;
                break;
            }
            if (nf > r->nfields)
                continue;
            int col = r->field_col[nf - 1];
            if (col >= 0 && store_field(w, &f, nf, col, row, row_line) != 0) {
                ok = 0;
                break;
            }
        }
        if (ok && nf != r->nfields) {
            row_error(w, row_line, "expected %d fields as in the header, found %d", r->nfields,
                      nf);
            ok = 0;
        }
        if (ok) {
            commit_keys(w, row);
            if (w->row_lines)
                w->row_lines[row] = row_line;
            row++;
            if (term == '\n')
                line++;
        } else {
            if (w->failed)
                break;
            /* Lenient: go on at the line after the bad row. A row that failed
             * in a middle field still has its rest to skip. */
            if (term == '\n') {
                line++;
            } else if (term != 0) {
                p = skip_line(p, w->stop);
                line++;
            }
        }
    }
    atomic_fetch_add(&sh->bytes_done, (unsigned long long)(p - last_report));
    w->rows = row - w->first_row;
    free(ops);
    return NULL;
}

/* Newlines in [p, end), eight bytes at a time: a byte equal to '\n' becomes
 * zero after the xor, and the exact zero-byte test below (no borrows across
 * bytes) marks each with its high bit; a multiply adds the marks up. */
static uint64_t count_newlines(const char *p, const char *end)
{
    const uint64_t lo7 = 0x7F7F7F7F7F7F7F7Fu, nl = 0x0A0A0A0A0A0A0A0Au;
    uint64_t n = 0;
    for (; end - p >= 8; p += 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        x ^= nl;
        uint64_t zeros = ~(((x & lo7) + lo7) | x | lo7);
        n += ((zeros >> 7) * 0x0101010101010101u) >> 56;
    }
    for (; p < end; p++)
        n += *p == '\n';
    return n;
}

typedef struct count_job {
    const char *begin, *stop;
    uint64_t lines;
    int has_quote;
} count_job;

/* Pass 1 over a chunk: its newlines, and whether it holds a quote (a quoted
 * field may hide a newline, so such a file cannot be split at newlines). One
 * window at a time, released once read. */
static void *count_chunk(void *arg)
{
    count_job *j = arg;
    uint64_t n = 0;
    for (const char *w = j->begin; w < j->stop;) {
        const char *wend = (size_t)(j->stop - w) > PROGRESS_STEP ? w + PROGRESS_STEP : j->stop;
        populate_pages(w, wend);
        if (!j->has_quote && memchr(w, '"', (size_t)(wend - w)))
            j->has_quote = 1;
        n += count_newlines(w, wend);
        release_pages(w, wend);
        w = wend;
    }
    j->lines = n;
    return NULL;
}

static int header_error(dg_err *err, const char *shown, const dg_colspec *cols, int ncols,
                        const char *what)
{
    char expected[256] = "";
    size_t o = 0;
    for (int i = 0; i < ncols && o < sizeof expected - 40; i++)
        o += (size_t)snprintf(expected + o, sizeof expected - o, "%s%s", i ? "," : "",
                              cols[i].name);
    return dg_fail(err, "%s: line 1: %s; expected a header with the columns %s", shown, what,
                   expected);
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > 64 ? 64 : (int)n);
}

int dg_csv_read(const char *path, const dg_colspec *cols, int ncols, const dg_csv_opts *opts,
                dg_table *out, dg_csv_report *report, dg_err *err)
{
    static const dg_csv_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    const char *shown = opts->display_name ? opts->display_name : path;
    double t0 = dg_now();
    dg_csv_report rep;
    memset(&rep, 0, sizeof rep);
    if (ncols > DG_MAX_COLS)
        return dg_fail(err, "%s: too many columns asked for (%d)", shown, ncols);

    mapped m;
    if (map_file(path, shown, &m, err) != DG_OK)
        return DG_ERR;
    if (m.size == 0) { /* an empty file maps nothing: m.data is NULL, no arithmetic on it */
        unmap_file(&m);
        return header_error(err, shown, cols, ncols, "the file is empty");
    }
    const char *p = m.data, *end = m.data + m.size;
    if (m.size >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    if (p == end) {
        unmap_file(&m);
        return header_error(err, shown, cols, ncols, "the file is empty");
    }

    /* The header: split it into names (quoted names allowed). */
    reader r = {.shown = shown, .end = end, .specs = cols, .nspecs = ncols,
                .max_field = opts->max_field ? opts->max_field : DG_CSV_MAX_FIELD_DEFAULT,
                .t = out};
    shared sh = {.progress = opts->progress, .total_bytes = m.size, .lenient = opts->lenient};
    atomic_init(&sh.bytes_done, 0);
    atomic_init(&sh.cancel, 0);
    worker hw;
    memset(&hw, 0, sizeof hw);
    hw.r = &r;
    hw.sh = &sh;
    int cap = 16, n = 0;
    field *names = dg_xmalloc((size_t)cap * sizeof *names);
    char **owned = dg_xmalloc((size_t)cap * sizeof *owned);
    uint64_t line = 1;
    int term = ',';
    static const char *unnamed[] = {"header"};
    r.field_name = unnamed;
    r.nfields = 1;
    int rc = DG_OK;
    while (term == ',') {
        if (n == cap) {
            cap *= 2;
            names = dg_xrealloc(names, (size_t)cap * sizeof *names);
            owned = dg_xrealloc(owned, (size_t)cap * sizeof *owned);
        }
        term = next_field(&hw, &p, &line, 1, &names[n]);
        if (term < 0) {
            rc = dg_fail(err, "%s", hw.first_errors[0]);
            break;
        }
        owned[n] = dg_xmalloc(names[n].len + 1);
        memcpy(owned[n], names[n].s, names[n].len);
        owned[n][names[n].len] = '\0';
        n++;
    }
    free(hw.scratch);
    if (rc == DG_OK && n == 1 && owned[0][0] == '\0')
        rc = header_error(err, shown, cols, ncols, "the header line is empty");
    int *field_col = NULL;
    if (rc == DG_OK) {
        field_col = dg_xmalloc((size_t)n * sizeof *field_col);
        for (int i = 0; i < n; i++)
            field_col[i] = -1;
        for (int c = 0; c < ncols && rc == DG_OK; c++) {
            int found = -1;
            for (int i = 0; i < n; i++) {
                if (strcmp(owned[i], cols[c].name) == 0 ||
                    (cols[c].alt && strcmp(owned[i], cols[c].alt) == 0)) {
                    if (found >= 0) {
                        char what[128];
                        snprintf(what, sizeof what, "column '%s' appears twice", owned[i]);
                        rc = header_error(err, shown, cols, ncols, what);
                        break;
                    }
                    found = i;
                }
            }
            if (rc == DG_OK && found < 0) {
                char what[600], have[400] = "";
                size_t o = 0;
                for (int i = 0; i < n && o < sizeof have - 80; i++) {
                    char shownname[168];
                    show_found(shownname, sizeof shownname, owned[i], strlen(owned[i]));
                    o += (size_t)snprintf(have + o, sizeof have - o, "%s%s", i ? "," : "",
                                          shownname);
                }
                snprintf(what, sizeof what, "no column '%s'%s%s%s (the header has: %s)",
                         cols[c].name, cols[c].alt ? " or '" : "", cols[c].alt ? cols[c].alt : "",
                         cols[c].alt ? "'" : "", have);
                rc = header_error(err, shown, cols, ncols, what);
            }
            if (rc == DG_OK)
                field_col[found] = c;
        }
    }
    if (rc != DG_OK) {
        for (int i = 0; i < n; i++)
            free(owned[i]);
        free(owned);
        free(names);
        free(field_col);
        unmap_file(&m);
        return DG_ERR;
    }
    free(names);
    r.nfields = n;
    r.field_col = field_col;
    r.field_name = (const char **)owned;
    if (term == '\n')
        line++;
    const char *data = p;
    if (end > data && end[-1] != '\n') {
        const char *nl = memrchr(data, '\n', (size_t)(end - data));
        r.cut_line = nl ? nl + 1 : data;
    }

    /* Split the body into chunks of whole lines, one per core. Parsing them
     * in parallel is safe only with no quotes anywhere (a quoted newline
     * would break the split) and no string columns (the string pool is not
     * shared between threads); otherwise one thread reads it all. */
    int has_str = 0;
    for (int c = 0; c < ncols; c++)
        has_str |= cols[c].type == DG_COL_STR;
    int nthreads = opts->threads > 0 ? opts->threads : online_cpus();
    if ((size_t)(end - data) < (4u << 20))
        nthreads = 1;
    const char **bounds = dg_xmalloc((size_t)(nthreads + 1) * sizeof *bounds);
    bounds[0] = data;
    for (int k = 1; k < nthreads; k++) {
        const char *b = data + (size_t)(end - data) * (size_t)k / (size_t)nthreads;
        if (b < bounds[k - 1])
            b = bounds[k - 1];
        const char *nl = memchr(b, '\n', (size_t)(end - b));
        bounds[k] = nl ? nl + 1 : end;
    }
    bounds[nthreads] = end;

    /* Pass 1: lines per chunk give every chunk its place in the table. */
    count_job *cj = dg_xcalloc((size_t)nthreads, sizeof *cj);
    pthread_t *tids = dg_xcalloc((size_t)nthreads, sizeof *tids);
    for (int k = 0; k < nthreads; k++) {
        cj[k].begin = bounds[k];
        cj[k].stop = bounds[k + 1];
    }
    for (int k = 1; k < nthreads; k++)
        if (pthread_create(&tids[k], NULL, count_chunk, &cj[k]) != 0)
            count_chunk(&cj[k]), tids[k] = 0;
    count_chunk(&cj[0]);
    for (int k = 1; k < nthreads; k++)
        if (tids[k])
            pthread_join(tids[k], NULL);
    int has_quote = 0;
    for (int k = 0; k < nthreads; k++)
        has_quote |= cj[k].has_quote;
    r.fast = !has_str && !has_quote;
    if (!r.fast && nthreads > 1) {
        /* Read it in one piece after all. */
        for (int k = 1; k < nthreads; k++)
            cj[0].lines += cj[k].lines;
        cj[0].stop = end;
        bounds[1] = end;
        nthreads = 1;
    }
    /* The last line may lack its newline. */
    if (end > data && end[-1] != '\n')
        cj[nthreads - 1].lines++;

    for (int c = 0; c < ncols; c++)
        dg_table_add_column(out, cols[c].name, cols[c].type);
    uint64_t total_lines = 0;
    for (int k = 0; k < nthreads; k++)
        total_lines += cj[k].lines;
    dg_table_resize(out, total_lines);
    uint64_t *row_lines = opts->row_lines ? dg_xmalloc((total_lines + 1) * sizeof *row_lines) : NULL;

    /* Pass 2: parse. */
    worker *ws = dg_xcalloc((size_t)nthreads, sizeof *ws);
    uint64_t row_at = 0, line_at = line;
    for (int k = 0; k < nthreads; k++) {
        worker *w = &ws[k];
        w->r = &r;
        w->sh = &sh;
        w->index = k;
        w->begin = bounds[k];
        w->stop = bounds[k + 1];
        w->first_line = line_at;
        w->first_row = row_at;
        w->max_rows = cj[k].lines;
        w->row_lines = row_lines;
        for (int c = 0; c < ncols; c++)
            dg_i64map_init(&w->dicts[c]);
        row_at += cj[k].lines;
        line_at += cj[k].lines;
    }
    for (int k = 1; k < nthreads; k++)
        if (pthread_create(&tids[k], NULL, parse_chunk, &ws[k]) != 0)
            parse_chunk(&ws[k]), tids[k] = 0;
    parse_chunk(&ws[0]);
    for (int k = 1; k < nthreads; k++)
        if (tids[k])
            pthread_join(tids[k], NULL);
    if (sh.progress && !atomic_load(&sh.cancel))
        dg_progress_report(sh.progress, "parse", (double)m.size, (double)m.size, "bytes");

    /* Errors: the first in file order wins; lenient keeps the first few. */
    int failed = 0;
    for (int k = 0; k < nthreads; k++) {
        rep.bad_rows += ws[k].bad_rows;
        if (ws[k].utf8_replaced && !rep.utf8_replaced) {
            rep.utf8_first_line = ws[k].utf8_first_line;
            rep.utf8_first_column = ws[k].utf8_first_column;
        }
        rep.utf8_replaced += ws[k].utf8_replaced;
        failed |= ws[k].failed;
        for (int i = 0; i < ws[k].nfirst && rep.nfirst < DG_CSV_FIRST_ERRORS; i++)
            memcpy(rep.first_errors[rep.nfirst++], ws[k].first_errors[i],
                   sizeof rep.first_errors[0]);
    }
    if (atomic_load(&sh.cancel))
        rc = dg_cancel(err, "%s: cancelled", shown);
    else if (failed)
        rc = dg_fail(err, "%s", rep.first_errors[0]);

    if (rc == DG_OK) {
        /* Key columns: merge the chunks' dictionaries in chunk order, so the
         * codes follow first appearance in the file, and recode. */
        for (int c = 0; c < ncols; c++) {
            if (cols[c].type != DG_COL_KEY)
                continue;
            dg_i64map *global = &out->cols[c].dict;
            for (int k = 0; k < nthreads; k++) {
                dg_i64map *local = &ws[k].dicts[c];
                if (k == 0) {
                    /* Chunk 0's codes are already global ones. */
                    *global = *local;
                    dg_i64map_init(local);
                    continue;
                }
                uint32_t *remap = dg_xmalloc((size_t)(local->n + 1) * sizeof *remap);
                for (uint32_t i = 0; i < local->n; i++)
                    remap[i] = dg_i64map_put(global, local->keys[i]);
                uint32_t *codes = dg_col_u32(&out->cols[c]) + ws[k].first_row;
                for (uint64_t i = 0; i < ws[k].rows; i++)
                    codes[i] = remap[codes[i]];
                free(remap);
            }
        }
        /* Close the gaps left by skipped rows (lenient mode only). */
        uint64_t rows = ws[0].rows;
        for (int k = 1; k < nthreads; k++) {
            if (ws[k].first_row != rows)
                for (int c = 0; c < ncols; c++) {
                    size_t wdt = dg_coltype_width(cols[c].type);
                    char *base = out->cols[c].data;
                    memmove(base + rows * wdt, base + ws[k].first_row * wdt, ws[k].rows * wdt);
                }
            if (ws[k].first_row != rows && row_lines)
                memmove(row_lines + rows, row_lines + ws[k].first_row,
                        ws[k].rows * sizeof *row_lines);
            rows += ws[k].rows;
        }
        dg_table_resize(out, rows);
        rep.rows = rows;
    }
    for (int k = 0; k < nthreads; k++) {
        for (int c = 0; c < ncols; c++)
            dg_i64map_free(&ws[k].dicts[c]);
        free(ws[k].scratch);
        free(ws[k].fixed);
    }
    free(ws);
    free(cj);
    free(tids);
    free(bounds);
    free(field_col);
    for (int i = 0; i < n; i++)
        free(owned[i]);
    free(owned);
    rep.bytes = m.size;
    rep.threads_used = nthreads;
    unmap_file(&m);
    if (rc != DG_OK) {
        free(row_lines);
        char name[32];
        memcpy(name, out->name, sizeof name);
        dg_table_free(out);
        dg_table_init(out, name);
        return DG_ERR;
    }
    rep.seconds = dg_now() - t0;
    if (report)
        *report = rep;
    if (opts->row_lines)
        *opts->row_lines = row_lines;
    return DG_OK;
}

/* ---- writing ------------------------------------------------------------- */

int dg_csv_write(const dg_table *t, const char *path, dg_err *err)
{
    dg_textbuf o = {0};
    for (int c = 0; c < t->ncols; c++) {
        if (c)
            dg_textbuf_putc(&o, ',');
        dg_textbuf_csv_field(&o, t->cols[c].name, strlen(t->cols[c].name));
    }
    dg_textbuf_putc(&o, '\n');
    for (uint64_t i = 0; i < t->nrows; i++) {
        for (int c = 0; c < t->ncols; c++) {
            const dg_column *col = &t->cols[c];
            if (c)
                dg_textbuf_putc(&o, ',');
            switch (col->type) {
            case DG_COL_STR: {
                uint32_t id = dg_col_u32(col)[i];
                dg_textbuf_csv_field(&o, dg_strpool_get(&t->strings, id),
                                     dg_strpool_len(&t->strings, id));
                break;
            }
            case DG_COL_F32:
                dg_textbuf_num(&o, dg_col_f32(col)[i]);
                break;
            case DG_COL_TIME: {
                char ts[20];
                dg_format_time(dg_col_i64(col)[i], ts);
                dg_textbuf_put(&o, ts, 19);
                break;
            }
            case DG_COL_I32: dg_textbuf_i64(&o, dg_col_i32(col)[i]); break;
            case DG_COL_I8: dg_textbuf_i64(&o, dg_col_i8(col)[i]); break;
            default: dg_textbuf_i64(&o, dg_col_id(col, i)); break;
            }
        }
        dg_textbuf_putc(&o, '\n');
    }
    int rc = dg_textbuf_save(&o, path, err);
    dg_textbuf_free(&o);
    return rc;
}
