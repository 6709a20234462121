#include "demographer/table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const struct {
    const char *name;
    size_t width;
} coltypes[DG_COL_NTYPES] = {
    [DG_COL_I64] = {"int64", 8}, [DG_COL_I32] = {"int32", 4}, [DG_COL_I8] = {"int8", 1},
    [DG_COL_F32] = {"float", 4}, [DG_COL_TIME] = {"time", 8}, [DG_COL_STR] = {"string", 4},
    [DG_COL_KEY] = {"key", 4},
};

const char *dg_coltype_name(dg_coltype t)
{
    return coltypes[t].name;
}

size_t dg_coltype_width(dg_coltype t)
{
    return coltypes[t].width;
}

void dg_table_init(dg_table *t, const char *name)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    dg_strpool_init(&t->strings);
}

void dg_mapping_release(dg_mapping *m)
{
    if (m && --m->refs == 0) {
        munmap(m->base, m->len);
        free(m);
    }
}

void dg_table_use_mapping(dg_table *t, dg_mapping *m)
{
    if (t->mapping == m)
        return;
    dg_mapping_release(t->mapping);
    m->refs++;
    t->mapping = m;
}

/* Gives the pages of a borrowed column back to the system: the mapping
 * stays while other tables use it, but a freed table's pages (a snapshot's
 * app events are most of it) need not stay resident. Whole pages inside
 * the column only; the mapping is private, so they are simply dropped. */
static void mapping_drop(const dg_mapping *m, const void *data, size_t bytes)
{
    long page = sysconf(_SC_PAGESIZE);
    if (!m || page <= 0 || bytes == 0)
        return;
    uintptr_t lo = (uintptr_t)data, hi = lo + bytes, base = (uintptr_t)m->base;
    if (lo < base || hi > base + m->len)
        return;
    lo = (lo + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    hi &= ~((uintptr_t)page - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void dg_table_free(dg_table *t)
{
    for (int i = 0; i < t->ncols; i++) {
        if (!t->cols[i].borrowed)
            free(t->cols[i].data);
        else if (t->mapping && t->mapping->refs > 1)
            mapping_drop(t->mapping, t->cols[i].data,
                         (size_t)t->nrows * dg_coltype_width(t->cols[i].type));
        dg_i64map_free(&t->cols[i].dict);
    }
    dg_strpool_free(&t->strings);
    dg_mapping_release(t->mapping);
    memset(t, 0, sizeof *t);
}

dg_column *dg_table_add_column(dg_table *t, const char *name, dg_coltype type)
{
    if (t->ncols >= DG_MAX_COLS)
        return NULL;
    dg_column *c = &t->cols[t->ncols++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->type = type;
    return c;
}

/* Large columns are asked to live in huge pages: filling a 130 MB column
 * then costs a few hundred page faults instead of tens of thousands. */
static void advise_huge(void *p, size_t n)
{
    const uintptr_t huge = 2u << 20;
    if (n < 4 * huge)
        return;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1), b = ((uintptr_t)p + n) & ~(huge - 1);
    if (b > a)
        madvise((void *)a, b - a, MADV_HUGEPAGE);
}

void dg_table_resize(dg_table *t, uint64_t nrows)
{
    for (int i = 0; i < t->ncols; i++) {
        dg_column *c = &t->cols[i];
        size_t width = dg_coltype_width(c->type), n = nrows * width;
        if (c->borrowed) {
            size_t keep = (nrows < t->nrows ? nrows : t->nrows) * width;
            void *copy = dg_xmalloc(n);
            memcpy(copy, c->data, keep);
            c->data = copy;
            c->borrowed = 0;
            continue;
        }
        int grow = nrows > t->nrows;
        c->data = dg_xrealloc(c->data, n);
        if (grow)
            advise_huge(c->data, n);
    }
    t->nrows = nrows;
}

dg_column *dg_table_column(const dg_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return (dg_column *)&t->cols[i];
    return NULL;
}

size_t dg_table_memory(const dg_table *t)
{
    size_t m = dg_strpool_memory(&t->strings);
    for (int i = 0; i < t->ncols; i++) {
        m += t->nrows * dg_coltype_width(t->cols[i].type);
        m += (size_t)t->cols[i].dict.cap * sizeof(int64_t) +
             (size_t)t->cols[i].dict.nslots * sizeof(uint32_t);
    }
    return m;
}

uint64_t dg_column_distinct(const dg_table *t, const dg_column *c)
{
    switch (c->type) {
    case DG_COL_KEY:
        return c->dict.n;
    case DG_COL_STR: {
        /* Every interned string may not be used by this column (the pool is
         * shared by the table's string columns): mark the ids it uses. */
        uint8_t *seen = dg_xcalloc(t->strings.n + 1, 1);
        uint64_t n = 0;
        const uint32_t *v = dg_col_u32(c);
        for (uint64_t i = 0; i < t->nrows; i++)
            if (!seen[v[i]]) {
                seen[v[i]] = 1;
                n++;
            }
        free(seen);
        return n;
    }
    default: {
        dg_i64map set;
        dg_i64map_init(&set);
        for (uint64_t i = 0; i < t->nrows; i++) {
            int64_t key;
            switch (c->type) {
            case DG_COL_I32: key = dg_col_i32(c)[i]; break;
            case DG_COL_I8: key = dg_col_i8(c)[i]; break;
            case DG_COL_F32: {
                float f = dg_col_f32(c)[i];
                int32_t bits;
                if (f == 0.0f)
                    f = 0.0f; /* -0 and +0 are one value */
                if (isnan(f))
                    f = NAN;
                memcpy(&bits, &f, sizeof bits);
                key = bits;
                break;
            }
            default: key = dg_col_i64(c)[i]; break;
            }
            dg_i64map_put(&set, key);
        }
        uint64_t n = set.n;
        dg_i64map_free(&set);
        return n;
    }
    }
}

void dg_table_copy(dg_table *dst, const dg_table *src)
{
    dg_table_init(dst, src->name);
    for (int c = 0; c < src->ncols; c++) {
        const dg_column *from = &src->cols[c];
        dg_column *to = dg_table_add_column(dst, from->name, from->type);
        size_t n = src->nrows * dg_coltype_width(from->type);
        to->data = dg_xmalloc(n ? n : 1);
        memcpy(to->data, from->data, n);
        if (from->type == DG_COL_KEY) {
            int64_t *keys = dg_xmalloc(((size_t)from->dict.n + 1) * sizeof *keys);
            memcpy(keys, from->dict.keys, (size_t)from->dict.n * sizeof *keys);
            dg_i64map_adopt(&to->dict, keys, from->dict.n);
        }
    }
    dst->nrows = src->nrows;
    /* Interning in id order gives every string its id again. */
    for (uint32_t i = 0; i < src->strings.n; i++)
        dg_strpool_intern(&dst->strings, dg_strpool_get(&src->strings, i),
                          dg_strpool_len(&src->strings, i));
}
