/* Columnar in-memory tables: one contiguous array per column, no row structs,
 * no per-field allocation. String columns hold ids into the table's string
 * pool; key columns hold dense codes into a per-column int64 dictionary. */
#ifndef DEMOGRAPHER_TABLE_H
#define DEMOGRAPHER_TABLE_H

#include "demographer/common.h"
#include "demographer/i64map.h"
#include "demographer/strpool.h"

typedef enum dg_coltype {
    DG_COL_I64,  /* int64_t */
    DG_COL_I32,  /* int32_t */
    DG_COL_I8,   /* int8_t (flags) */
    DG_COL_F32,  /* float (coordinates: 2 decimals in the data) */
    DG_COL_TIME, /* int64_t seconds since 1970-01-01 00:00:00, the data's local clock taken as UTC */
    DG_COL_STR,  /* uint32_t id into dg_table.strings */
    DG_COL_KEY,  /* uint32_t code into dg_column.dict (an int64 id with few distinct values) */
    DG_COL_NTYPES
} dg_coltype;

/* The data's tables have at most 7 columns; the EDA tables shown as sheets
 * need more (the box plot's row name and its 9 statistics): 8 cut them. */
#define DG_MAX_COLS 16

typedef struct dg_column {
    char name[32];
    dg_coltype type;
    void *data;       /* nrows elements of the type's width */
    int borrowed;     /* data lies in the table's mapping, not on the heap */
    dg_i64map dict;   /* DG_COL_KEY only */
} dg_column;

/* A read-only file mapped copy-on-write that column arrays may point into
 * (a snapshot), shared by the tables that use it. */
typedef struct dg_mapping {
    void *base;
    size_t len;
    int refs;
} dg_mapping;

typedef struct dg_table {
    char name[32];
    uint64_t nrows;
    int ncols;
    dg_column cols[DG_MAX_COLS];
    dg_strpool strings;
    dg_mapping *mapping; /* NULL unless some column is borrowed */
} dg_table;

const char *dg_coltype_name(dg_coltype t);
size_t dg_coltype_width(dg_coltype t);

void dg_table_init(dg_table *t, const char *name);
void dg_table_free(dg_table *t);
/* Adds a column (data left NULL; dg_table_alloc sizes every column). */
dg_column *dg_table_add_column(dg_table *t, const char *name, dg_coltype type);
/* (Re)allocates every column's array for nrows rows; contents preserved up to
 * the smaller size (a borrowed column is copied to the heap first). */
void dg_table_resize(dg_table *t, uint64_t nrows);
dg_column *dg_table_column(const dg_table *t, const char *name);
/* A deep copy of src into dst (dst is initialised here): its own arrays,
 * dictionaries and strings, with the same string ids and key codes. */
void dg_table_copy(dg_table *dst, const dg_table *src);
/* Makes the table share (hold a reference to) m. */
void dg_table_use_mapping(dg_table *t, dg_mapping *m);
/* Drops one reference; the last one unmaps. */
void dg_mapping_release(dg_mapping *m);
/* Bytes held by the table's arrays, dictionaries and strings. */
size_t dg_table_memory(const dg_table *t);
/* Distinct values of a column (exact; uses a hash set for numeric columns). */
uint64_t dg_column_distinct(const dg_table *t, const dg_column *c);

static inline int64_t *dg_col_i64(const dg_column *c) { return (int64_t *)c->data; }
static inline int32_t *dg_col_i32(const dg_column *c) { return (int32_t *)c->data; }
static inline int8_t *dg_col_i8(const dg_column *c) { return (int8_t *)c->data; }
static inline float *dg_col_f32(const dg_column *c) { return (float *)c->data; }
static inline uint32_t *dg_col_u32(const dg_column *c) { return (uint32_t *)c->data; }

/* The int64 value of row i of an I64, TIME or KEY column. */
static inline int64_t dg_col_id(const dg_column *c, uint64_t i)
{
    if (c->type == DG_COL_KEY)
        return c->dict.keys[((const uint32_t *)c->data)[i]];
    return ((const int64_t *)c->data)[i];
}

#endif
