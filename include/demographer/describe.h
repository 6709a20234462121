/* What a table holds, column by column, and the operations an analyst runs on
 * a table view: per-column statistics (type, distinct, missing, min/max, top
 * values), a column's frequency table, a sorted row order and a value search.
 * All of them read the table and never change it, so they can run on a worker
 * thread while the table is drawn; the long ones report progress and stop
 * (failing with "cancelled") when the callback asks. */
#ifndef DEMOGRAPHER_DESCRIBE_H
#define DEMOGRAPHER_DESCRIBE_H

#include "demographer/table.h"

/* The text of one cell: for string columns a pointer into the table's pool,
 * otherwise `buf` filled (floats with the data's two decimals, NaN as "",
 * times as "YYYY-MM-DD HH:MM:SS"). */
const char *dg_cell_text(const dg_table *t, const dg_column *c, uint64_t row, char *buf,
                         size_t cap);

/* A column's frequency table: one entry per distinct value, most frequent
 * first, ties in order of first appearance (so the result is deterministic).
 * A value is named by the first row holding it, which dg_cell_text formats. */
typedef struct dg_freq {
    uint64_t n;       /* distinct values */
    uint64_t total;   /* rows counted (the table's rows) */
    uint64_t *row;    /* row[i]: first row holding value i */
    uint64_t *count;  /* count[i]: rows holding value i */
} dg_freq;

int dg_freq_compute(const dg_table *t, int col, dg_freq *out, const dg_progress *p, dg_err *err);
void dg_freq_free(dg_freq *f);
/* Reorders f's values (of column col of t): by value, in the column's order
 * (as dg_sort_rows), or by count; ascending, or descending when desc. Ties
 * keep their order, so a sort by count after one by value ranks equal counts
 * by value. */
void dg_freq_sort(const dg_table *t, int col, dg_freq *f, int by_value, int desc);

#define DG_DESCRIBE_TOP 3

typedef struct dg_colstats {
    dg_coltype type;
    uint64_t distinct;
    uint64_t missing;   /* empty strings, NaN floats (other types cannot be missing) */
    int has_range;      /* numeric and time columns: min/max rows below are set */
    uint64_t min_row, max_row;
    int ntop;           /* string and key columns: their most frequent values */
    uint64_t top_row[DG_DESCRIBE_TOP], top_count[DG_DESCRIBE_TOP];
} dg_colstats;

typedef struct dg_tablestats {
    uint64_t nrows;
    int ncols;
    dg_colstats cols[DG_MAX_COLS];
} dg_tablestats;

int dg_describe_table(const dg_table *t, dg_tablestats *out, const dg_progress *p, dg_err *err);

/* The rows of t in the order of column col (ascending, or descending when
 * desc), stable: equal values keep their table order. Strings sort by their
 * bytes (UTF-8 code point order), NaN floats last. *order gets nrows row
 * numbers, freed by the caller. Tables of 2^32 rows or more are refused. */
int dg_sort_rows(const dg_table *t, int col, int desc, uint32_t **order, const dg_progress *p,
                 dg_err *err);

#define DG_NOT_FOUND UINT64_MAX

/* Finds the first position, from `from` on and wrapping round to it, whose
 * cell (row order[pos], or row pos when order is NULL) in column col contains
 * needle (bytes, case-sensitive). *pos is DG_NOT_FOUND when none does. */
int dg_search_rows(const dg_table *t, int col, const uint32_t *order, uint64_t from,
                   const char *needle, uint64_t *pos, const dg_progress *p, dg_err *err);

#endif
