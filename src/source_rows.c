/* The values and rows the database sources share (source_rows.h). */
#include "source_rows.h"

#include "demographer/parse.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dg_rows_store_value(dg_table *t, int c, uint64_t row, const char *s, unsigned long len,
                       int *code)
{
    dg_column *col = &t->cols[c];
    int64_t iv;
    double dv;
    int rc;
    switch (col->type) {
    case DG_COL_STR:
        dg_col_u32(col)[row] = dg_strpool_intern(&t->strings, s ? s : "", s ? len : 0);
        return 0;
    case DG_COL_F32:
        rc = dg_parse_f64(s, len, &dv);
        if (rc == 0 && fabs(dv) > 3.4e38)
            rc = DG_PARSE_RANGE;
        if (rc == 0)
            dg_col_f32(col)[row] = (float)dv;
        break;
    case DG_COL_TIME:
        rc = dg_parse_time(s, len, &iv);
        if (rc == 0)
            dg_col_i64(col)[row] = iv;
        break;
    default:
        rc = dg_parse_i64(s, len, &iv);
        if (rc == 0 && col->type == DG_COL_I32 && (iv < INT32_MIN || iv > INT32_MAX))
            rc = DG_PARSE_RANGE;
        if (rc == 0 && col->type == DG_COL_I8 && (iv < INT8_MIN || iv > INT8_MAX))
            rc = DG_PARSE_RANGE;
        if (rc != 0)
            break;
        switch (col->type) {
        case DG_COL_I64: dg_col_i64(col)[row] = iv; break;
        case DG_COL_I32: dg_col_i32(col)[row] = (int32_t)iv; break;
        case DG_COL_I8: dg_col_i8(col)[row] = (int8_t)iv; break;
        case DG_COL_KEY: dg_col_u32(col)[row] = dg_i64map_put(&col->dict, iv); break;
        default: break;
        }
        break;
    }
    *code = rc;
    return rc;
}

void dg_rows_reset_table(dg_table *t)
{
    char name[sizeof t->name];
    memcpy(name, t->name, sizeof name);
    dg_table_free(t);
    dg_table_init(t, name);
}

void dg_tsv_put(dg_tsv_row *f, const char *s, size_t n)
{
    if (f->len + n + 1 > f->cap) {
        while (f->len + n + 1 > f->cap)
            f->cap = f->cap ? f->cap * 2 : 4096;
        f->buf = dg_xrealloc(f->buf, f->cap);
    }
    memcpy(f->buf + f->len, s, n);
    f->len += n;
}

void dg_tsv_put_escaped(dg_tsv_row *f, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = NULL;
        switch (s[i]) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\0': esc = "\\0"; break;
        default: continue;
        }
        dg_tsv_put(f, s + start, i - start);
        dg_tsv_put(f, esc, 2);
        start = i + 1;
    }
    dg_tsv_put(f, s + start, n - start);
}

int dg_tsv_format_float(char *buf, size_t cap, float v)
{
    int n = 0;
    for (int prec = 6; prec <= 9; prec++) {
        n = snprintf(buf, cap, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v)
            break;
    }
    return n;
}

void dg_tsv_format_row(dg_tsv_row *f, const dg_table *t, uint64_t r)
{
    char num[64];
    f->len = f->off = 0;
    for (int c = 0; c < t->ncols; c++) {
        const dg_column *col = &t->cols[c];
        int n = 0;
        if (c)
            dg_tsv_put(f, "\t", 1);
        switch (col->type) {
        case DG_COL_STR: {
            uint32_t id = dg_col_u32(col)[r];
            dg_tsv_put_escaped(f, dg_strpool_get(&t->strings, id), dg_strpool_len(&t->strings, id));
            continue;
        }
        case DG_COL_F32: {
            float v = dg_col_f32(col)[r];
            if (isnan(v))
                n = snprintf(num, sizeof num, "\\N");
            else
                n = dg_tsv_format_float(num, sizeof num, v);
            break;
        }
        case DG_COL_TIME: dg_format_time(dg_col_i64(col)[r], num); n = (int)strlen(num); break;
        case DG_COL_I32: n = snprintf(num, sizeof num, "%" PRId32, dg_col_i32(col)[r]); break;
        case DG_COL_I8: n = snprintf(num, sizeof num, "%d", dg_col_i8(col)[r]); break;
        default: n = snprintf(num, sizeof num, "%" PRId64, dg_col_id(col, r)); break;
        }
        dg_tsv_put(f, num, (size_t)n);
    }
    dg_tsv_put(f, "\n", 1);
}

