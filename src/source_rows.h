/* What the database sources share (source_mysql.c, source_clickhouse.c): a
 * text value received from a server stored into a typed table column, and a
 * table row formatted as tab-separated text for a bulk load (the format both
 * LOAD DATA and ClickHouse's TabSeparated read: backslash escapes, \N for
 * NULL). Internal to the library. */
#ifndef DEMOGRAPHER_SOURCE_ROWS_H
#define DEMOGRAPHER_SOURCE_ROWS_H

#include "demographer/table.h"

/* Parses s (len bytes; NULL for an SQL NULL, which a string column reads as
 * empty) into column c of row `row` with the CSV reader's parsers, so that a
 * value means the same from any source. Returns 0, or the parse code (also
 * in *code) for dg_parse_expected. */
int dg_rows_store_value(dg_table *t, int c, uint64_t row, const char *s, unsigned long len,
                        int *code);

/* Empties a table and its columns, keeping its name. */
void dg_rows_reset_table(dg_table *t);

/* One formatted row: buf[off..len) is what remains to be sent. */
typedef struct dg_tsv_row {
    char *buf;
    size_t len, off, cap;
} dg_tsv_row;

void dg_tsv_put(dg_tsv_row *f, const char *s, size_t n);
/* s with backslash escapes for backslash, tab, newline, return and NUL. */
void dg_tsv_put_escaped(dg_tsv_row *f, const char *s, size_t n);
/* The shortest decimal form that reads back as the same float (121.38, not
 * 121.379997); its length. */
int dg_tsv_format_float(char *buf, size_t cap, float v);
/* Replaces f's content with row r of t, tab-separated, newline-terminated
 * (NaN floats as \N, times as YYYY-MM-DD HH:MM:SS). */
void dg_tsv_format_row(dg_tsv_row *f, const dg_table *t, uint64_t r);

#endif
