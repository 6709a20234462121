#include "demographer/describe.h"

#include "demographer/parse.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Rows between two progress reports: often enough for a cancel to land within
 * a few milliseconds, rarely enough to cost nothing. */
#define STEP (1u << 20)

const char *dg_cell_text(const dg_table *t, const dg_column *c, uint64_t row, char *buf,
                         size_t cap)
{
    switch (c->type) {
    case DG_COL_STR: return dg_strpool_get(&t->strings, dg_col_u32(c)[row]);
    case DG_COL_I64:
    case DG_COL_KEY: snprintf(buf, cap, "%" PRId64, dg_col_id(c, row)); break;
    case DG_COL_I32: snprintf(buf, cap, "%" PRId32, dg_col_i32(c)[row]); break;
    case DG_COL_I8: snprintf(buf, cap, "%d", dg_col_i8(c)[row]); break;
    case DG_COL_F32: {
        float v = dg_col_f32(c)[row];
        if (isnan(v))
            buf[0] = '\0';
        else
            snprintf(buf, cap, "%.2f", (double)v);
        break;
    }
    case DG_COL_TIME: {
        char tb[20];
        dg_format_time(dg_col_i64(c)[row], tb);
        snprintf(buf, cap, "%s", tb);
        break;
    }
    default: buf[0] = '\0';
    }
    return buf;
}

static int cancelled(const dg_progress *p, const char *stage, uint64_t done, uint64_t total,
                     dg_err *err)
{
    if (dg_progress_report(p, stage, (double)done, (double)total, "rows"))
        return dg_cancel(err, "cancelled");
    return DG_OK;
}

/* A 64-bit key per row whose unsigned order is the column's value order:
 * signed integers with the sign bit flipped, floats by the IEEE trick (NaN
 * last), strings and dictionary keys by their rank among the distinct values. */
typedef struct keyer {
    const dg_table *t;
    const dg_column *c;
    uint32_t *rank; /* STR: rank[string id]; KEY: rank[code] */
} keyer;

static const dg_strpool *cmp_pool;
static int cmp_str_ids(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    uint32_t lx = dg_strpool_len(cmp_pool, x), ly = dg_strpool_len(cmp_pool, y);
    int r = memcmp(dg_strpool_get(cmp_pool, x), dg_strpool_get(cmp_pool, y), lx < ly ? lx : ly);
    if (r)
        return r;
    return lx < ly ? -1 : lx > ly;
}

static const int64_t *cmp_keys;
static int cmp_key_codes(const void *a, const void *b)
{
    int64_t x = cmp_keys[*(const uint32_t *)a], y = cmp_keys[*(const uint32_t *)b];
    return x < y ? -1 : x > y;
}

/* The qsort comparators above read a static: ordering is serialised. */
static pthread_mutex_t rank_lock = PTHREAD_MUTEX_INITIALIZER;

static void keyer_init(keyer *k, const dg_table *t, const dg_column *c)
{
    k->t = t;
    k->c = c;
    k->rank = NULL;
    uint32_t n;
    if (c->type == DG_COL_STR)
        n = t->strings.n;
    else if (c->type == DG_COL_KEY)
        n = c->dict.n;
    else
        return;
    uint32_t *ids = dg_xmalloc((size_t)n * sizeof *ids);
    for (uint32_t i = 0; i < n; i++)
        ids[i] = i;
    pthread_mutex_lock(&rank_lock);
    if (c->type == DG_COL_STR) {
        cmp_pool = &t->strings;
        qsort(ids, n, sizeof *ids, cmp_str_ids);
    } else {
        cmp_keys = c->dict.keys;
        qsort(ids, n, sizeof *ids, cmp_key_codes);
    }
    pthread_mutex_unlock(&rank_lock);
    k->rank = dg_xmalloc((size_t)n * sizeof *k->rank + 1);
    for (uint32_t i = 0; i < n; i++)
        k->rank[ids[i]] = i;
    free(ids);
}

static inline uint64_t keyer_key(const keyer *k, uint64_t row)
{
    const dg_column *c = k->c;
    switch (c->type) {
    case DG_COL_I64:
    case DG_COL_TIME: return (uint64_t)dg_col_i64(c)[row] ^ (1ull << 63);
    case DG_COL_I32: return (uint64_t)(int64_t)dg_col_i32(c)[row] ^ (1ull << 63);
    case DG_COL_I8: return (uint64_t)(int64_t)dg_col_i8(c)[row] ^ (1ull << 63);
    case DG_COL_F32: {
        float v = dg_col_f32(c)[row];
        if (isnan(v))
            return UINT32_MAX;
        if (v == 0)
            v = 0; /* -0 and 0 are one value */
        uint32_t b;
        memcpy(&b, &v, sizeof b);
        return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
    }
    case DG_COL_STR:
    case DG_COL_KEY: return k->rank[dg_col_u32(c)[row]];
    default: return 0;
    }
}

typedef struct freq_key {
    uint64_t key, idx;
} freq_key;

static int cmp_freq_key(const void *a, const void *b)
{
    const freq_key *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

void dg_freq_sort(const dg_table *t, int col, dg_freq *f, int by_value, int desc)
{
    if (f->n < 2)
        return;
    keyer k;
    if (by_value)
        keyer_init(&k, t, &t->cols[col]);
    freq_key *v = dg_xmalloc(f->n * sizeof *v);
    for (uint64_t i = 0; i < f->n; i++) {
        v[i].key = by_value ? keyer_key(&k, f->row[i]) : f->count[i];
        if (desc)
            v[i].key = ~v[i].key;
        v[i].idx = i;
    }
    qsort(v, f->n, sizeof *v, cmp_freq_key);
    uint64_t *row = dg_xmalloc(f->n * sizeof *row), *count = dg_xmalloc(f->n * sizeof *count);
    for (uint64_t i = 0; i < f->n; i++) {
        row[i] = f->row[v[i].idx];
        count[i] = f->count[v[i].idx];
    }
    free(f->row);
    free(f->count);
    f->row = row;
    f->count = count;
    free(v);
    if (by_value)
        free(k.rank);
}

void dg_freq_free(dg_freq *f)
{
    free(f->row);
    free(f->count);
    memset(f, 0, sizeof *f);
}

/* Sorts value indices by count descending, then first row ascending. */
static const dg_freq *cmp_freq;
static int cmp_freq_idx(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    if (cmp_freq->count[x] != cmp_freq->count[y])
        return cmp_freq->count[x] > cmp_freq->count[y] ? -1 : 1;
    return cmp_freq->row[x] < cmp_freq->row[y] ? -1 : cmp_freq->row[x] > cmp_freq->row[y];
}

int dg_freq_compute(const dg_table *t, int col, dg_freq *out, const dg_progress *p, dg_err *err)
{
    memset(out, 0, sizeof *out);
    if (col < 0 || col >= t->ncols)
        return dg_fail(err, "%s: no column %d", t->name, col);
    const dg_column *c = &t->cols[col];
    const char *stage = "frequency";
    uint64_t n = t->nrows;
    uint64_t cap = 0, nv = 0;
    uint64_t *first = NULL, *count = NULL;
    /* Values with a small dense code (string ids, dictionary codes, int8)
     * are counted in an array; the others go through a hash map. */
    int dense = c->type == DG_COL_STR || c->type == DG_COL_KEY || c->type == DG_COL_I8;
    dg_i64map map;
    dg_i64map_init(&map);
    if (dense) {
        cap = c->type == DG_COL_STR ? t->strings.n : c->type == DG_COL_KEY ? c->dict.n : 256;
        first = dg_xmalloc((cap ? cap : 1) * sizeof *first);
        count = dg_xcalloc(cap ? cap : 1, sizeof *count);
    }
    for (uint64_t i = 0; i < n; i++) {
        if ((i & (STEP - 1)) == 0 && cancelled(p, stage, i, n, err) != DG_OK)
            goto fail;
        uint64_t code;
        if (dense) {
            code = c->type == DG_COL_I8 ? (uint64_t)(uint8_t)dg_col_i8(c)[i] : dg_col_u32(c)[i];
        } else {
            int64_t key;
            if (c->type == DG_COL_F32) {
                float v = dg_col_f32(c)[i];
                if (isnan(v))
                    v = NAN;
                if (v == 0)
                    v = 0;
                uint32_t b;
                memcpy(&b, &v, sizeof b);
                key = b;
            } else if (c->type == DG_COL_I32) {
                key = dg_col_i32(c)[i];
            } else {
                key = dg_col_i64(c)[i];
            }
            code = dg_i64map_put(&map, key);
            if (code >= cap) {
                uint64_t ncap = cap ? cap * 2 : 1024;
                first = dg_xrealloc(first, ncap * sizeof *first);
                count = dg_xrealloc(count, ncap * sizeof *count);
                memset(count + cap, 0, (ncap - cap) * sizeof *count);
                cap = ncap;
            }
        }
        if (count[code]++ == 0)
            first[code] = i;
    }
    dg_i64map_free(&map);
    /* Compact to the values seen (dense arrays have holes), then order them. */
    for (uint64_t v = 0; v < cap; v++)
        if (count[v]) {
            first[nv] = first[v];
            count[nv] = count[v];
            nv++;
        }
    out->n = nv;
    out->total = n;
    out->row = first;
    out->count = count;
    uint64_t *idx = dg_xmalloc((nv ? nv : 1) * sizeof *idx);
    for (uint64_t v = 0; v < nv; v++)
        idx[v] = v;
    pthread_mutex_lock(&rank_lock);
    cmp_freq = out;
    qsort(idx, nv, sizeof *idx, cmp_freq_idx);
    pthread_mutex_unlock(&rank_lock);
    uint64_t *r2 = dg_xmalloc((nv ? nv : 1) * sizeof *r2);
    uint64_t *c2 = dg_xmalloc((nv ? nv : 1) * sizeof *c2);
    for (uint64_t v = 0; v < nv; v++) {
        r2[v] = first[idx[v]];
        c2[v] = count[idx[v]];
    }
    free(idx);
    free(first);
    free(count);
    out->row = r2;
    out->count = c2;
    dg_progress_report(p, stage, (double)n, (double)n, "rows");
    return DG_OK;
fail:
    dg_i64map_free(&map);
    free(first);
    free(count);
    memset(out, 0, sizeof *out);
    return DG_ERR;
}

static int is_missing(const dg_table *t, const dg_column *c, uint64_t row)
{
    if (c->type == DG_COL_STR)
        return dg_strpool_len(&t->strings, dg_col_u32(c)[row]) == 0;
    if (c->type == DG_COL_F32)
        return isnan(dg_col_f32(c)[row]);
    return 0;
}

int dg_describe_table(const dg_table *t, dg_tablestats *out, const dg_progress *p, dg_err *err)
{
    memset(out, 0, sizeof *out);
    out->nrows = t->nrows;
    out->ncols = t->ncols;
    for (int ci = 0; ci < t->ncols; ci++) {
        const dg_column *c = &t->cols[ci];
        dg_colstats *s = &out->cols[ci];
        s->type = c->type;
        dg_freq f;
        if (dg_freq_compute(t, ci, &f, p, err) != DG_OK)
            return DG_ERR;
        s->distinct = f.n;
        if (c->type == DG_COL_STR || c->type == DG_COL_KEY) {
            for (uint64_t v = 0; v < f.n && s->ntop < DG_DESCRIBE_TOP; v++) {
                s->top_row[s->ntop] = f.row[v];
                s->top_count[s->ntop] = f.count[v];
                s->ntop++;
            }
        }
        if (c->type == DG_COL_STR || c->type == DG_COL_F32) {
            for (uint64_t v = 0; v < f.n; v++)
                if (is_missing(t, c, f.row[v]))
                    s->missing += f.count[v];
        }
        if (c->type != DG_COL_STR && c->type != DG_COL_KEY && f.n > 0) {
            /* Min and max over the distinct values: their keys order them. */
            keyer k;
            keyer_init(&k, t, c);
            uint64_t lo = UINT64_MAX, hi = 0;
            int any = 0;
            for (uint64_t v = 0; v < f.n; v++) {
                if (is_missing(t, c, f.row[v]))
                    continue;
                uint64_t key = keyer_key(&k, f.row[v]);
                if (!any || key < lo) {
                    lo = key;
                    s->min_row = f.row[v];
                }
                if (!any || key > hi) {
                    hi = key;
                    s->max_row = f.row[v];
                }
                any = 1;
            }
            s->has_range = any;
            free(k.rank);
        }
        dg_freq_free(&f);
    }
    return DG_OK;
}

/* One LSD radix pass over the digit of `bits` bits at `shift` of the keys:
 * stable, so passes from the low digit up sort by the whole key. idx, when
 * not NULL, moves with the keys. */
#define DIGIT_BITS 11
static void radix_pass(const uint64_t *src, uint64_t *dst, const uint32_t *isrc, uint32_t *idst,
                       uint64_t n, int shift)
{
    static const uint64_t mask = (1u << DIGIT_BITS) - 1;
    uint64_t *pos = dg_xcalloc(1u << DIGIT_BITS, sizeof *pos);
    for (uint64_t i = 0; i < n; i++)
        pos[(src[i] >> shift) & mask]++;
    uint64_t sum = 0;
    for (uint64_t d = 0; d <= mask; d++) {
        uint64_t c = pos[d];
        pos[d] = sum;
        sum += c;
    }
    for (uint64_t i = 0; i < n; i++) {
        uint64_t at = pos[(src[i] >> shift) & mask]++;
        dst[at] = src[i];
        if (isrc)
            idst[at] = isrc[i];
    }
    free(pos);
}

/* Arrays of a row count: on 2 MiB boundaries with transparent huge pages
 * asked for, since first-touch page faults cost as much as the sorting
 * itself on 32 M rows (measured: 0.78 s to fill 256 MiB with 4 KiB pages,
 * 0.43 s with huge pages, on the 2-core VM). Freed with free(). */
static void *big_alloc(size_t bytes)
{
    void *p = NULL;
    if (bytes < (4u << 20))
        return dg_xmalloc(bytes ? bytes : 1);
    if (posix_memalign(&p, 2u << 20, bytes) != 0)
        return dg_xmalloc(bytes); /* ends the process with a message */
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

static int bits_for(uint64_t v)
{
    return v ? 64 - __builtin_clzll(v) : 0;
}

int dg_sort_rows(const dg_table *t, int col, int desc, uint32_t **order, const dg_progress *p,
                 dg_err *err)
{
    *order = NULL;
    if (col < 0 || col >= t->ncols)
        return dg_fail(err, "%s: no column %d", t->name, col);
    uint64_t n = t->nrows;
    if (n >= UINT32_MAX)
        return dg_fail(err, "%s: %" PRIu64 " rows are too many to sort", t->name, n);
    const char *stage = "sort";
    keyer k;
    keyer_init(&k, t, &t->cols[col]);
    uint64_t *key = big_alloc(n * sizeof *key), *key2 = NULL;
    uint32_t *idx = NULL, *idx2 = NULL;
    uint64_t lo = UINT64_MAX, hi = 0;
    int in_order = 1, rc = DG_ERR;
    for (uint64_t i = 0; i < n; i++) {
        if ((i & (STEP - 1)) == 0 && cancelled(p, stage, i, n * 2, err) != DG_OK)
            goto done;
        uint64_t kv = keyer_key(&k, i);
        if (desc)
            kv = ~kv;
        key[i] = kv;
        if (i > 0 && kv < key[i - 1])
            in_order = 0;
        if (kv < lo)
            lo = kv;
        if (kv > hi)
            hi = kv;
    }
    uint32_t *out = big_alloc(n * sizeof *out);
    int kbits = n ? bits_for(hi - lo) : 0, ibits = bits_for(n ? n - 1 : 0);
    if (in_order || kbits == 0) {
        /* Already in order (ids often are): nothing to move. */
        for (uint64_t i = 0; i < n; i++)
            out[i] = (uint32_t)i;
    } else if (kbits + ibits <= 64) {
        /* Key and row number packed in one word: half the memory traffic of
         * moving them apart, and ties stay in row order. */
        for (uint64_t i = 0; i < n; i++)
            key[i] = ((key[i] - lo) << ibits) | i;
        key2 = big_alloc(n * sizeof *key2);
        int pass = 0;
        for (int shift = ibits; shift < ibits + kbits; shift += DIGIT_BITS, pass++) {
            if (cancelled(p, stage, n + n * (uint64_t)shift / 64, n * 2, err) != DG_OK) {
                free(out);
                goto done;
            }
            radix_pass(key, key2, NULL, NULL, n, shift);
            uint64_t *tk = key;
            key = key2;
            key2 = tk;
        }
        uint64_t imask = ibits == 64 ? UINT64_MAX : (1ull << ibits) - 1;
        for (uint64_t i = 0; i < n; i++)
            out[i] = (uint32_t)(key[i] & imask);
    } else {
        idx = big_alloc(n * sizeof *idx);
        idx2 = big_alloc(n * sizeof *idx2);
        key2 = big_alloc(n * sizeof *key2);
        for (uint64_t i = 0; i < n; i++) {
            key[i] -= lo;
            idx[i] = (uint32_t)i;
        }
        for (int shift = 0; shift < kbits; shift += DIGIT_BITS) {
            if (cancelled(p, stage, n + n * (uint64_t)shift / 64, n * 2, err) != DG_OK) {
                free(out);
                goto done;
            }
            radix_pass(key, key2, idx, idx2, n, shift);
            uint64_t *tk = key;
            key = key2;
            key2 = tk;
            uint32_t *ti = idx;
            idx = idx2;
            idx2 = ti;
        }
        memcpy(out, idx, n * sizeof *out);
    }
    dg_progress_report(p, stage, (double)(n * 2), (double)(n * 2), "rows");
    *order = out;
    rc = DG_OK;
done:
    free(key);
    free(key2);
    free(idx);
    free(idx2);
    free(k.rank);
    return rc;
}

int dg_search_rows(const dg_table *t, int col, const uint32_t *order, uint64_t from,
                   const char *needle, uint64_t *pos, const dg_progress *p, dg_err *err)
{
    *pos = DG_NOT_FOUND;
    if (col < 0 || col >= t->ncols)
        return dg_fail(err, "%s: no column %d", t->name, col);
    const dg_column *c = &t->cols[col];
    uint64_t n = t->nrows;
    if (n == 0)
        return DG_OK;
    if (from >= n)
        from = 0;
    /* For strings, decide once per distinct string rather than per row. */
    uint8_t *match = NULL;
    char buf[64];
    if (c->type == DG_COL_STR) {
        match = dg_xmalloc(t->strings.n + 1);
        for (uint32_t s = 0; s < t->strings.n; s++)
            match[s] = strstr(dg_strpool_get(&t->strings, s), needle) != NULL;
    } else if (c->type == DG_COL_KEY) {
        match = dg_xmalloc(c->dict.n + 1);
        for (uint32_t d = 0; d < c->dict.n; d++) {
            snprintf(buf, sizeof buf, "%" PRId64, c->dict.keys[d]);
            match[d] = strstr(buf, needle) != NULL;
        }
    }
    int rc = DG_OK;
    for (uint64_t k = 0; k < n; k++) {
        if ((k & (STEP - 1)) == 0 && cancelled(p, "search", k, n, err) != DG_OK) {
            rc = DG_ERR;
            break;
        }
        uint64_t at = (from + k) % n;
        uint64_t row = order ? order[at] : at;
        int hit = match ? match[dg_col_u32(c)[row]]
                        : strstr(dg_cell_text(t, c, row, buf, sizeof buf), needle) != NULL;
        if (hit) {
            *pos = at;
            break;
        }
    }
    free(match);
    return rc;
}
