/* A CSV reader for the data's files: mmap, no copy of the file, columns found
 * by header name (any order, extra columns ignored), quoted fields, CRLF, a
 * UTF-8 BOM, empty fields. Large unquoted files are parsed on every core.
 *
 * Bad input stops the read with a message naming the file, line, column,
 * what was expected and what was found (bytes escaped: '12\x00'); in lenient
 * mode bad rows are skipped, counted and the first few reported. Numbers out
 * of their column's range are errors, never clamped. Invalid UTF-8 in string
 * fields is replaced by U+FFFD, byte by byte, and counted in the report. */
#ifndef DEMOGRAPHER_CSV_H
#define DEMOGRAPHER_CSV_H

#include "demographer/common.h"
#include "demographer/parse.h" /* the field parsers, split from the reader */
#include "demographer/table.h"

/* One column to read: the header name (or an alternative one) and its type.
 * Empty fields are empty strings in string columns and NaN in float columns;
 * in integer, time and key columns they are an error. */
typedef struct dg_colspec {
    const char *name;
    const char *alt; /* another accepted header name, or NULL */
    dg_coltype type;
    /* For a string column: the only values it may hold (NULL-terminated),
     * e.g. gender's M and F; anything else is a bad row (an error naming
     * line and column, or skipped and counted with --lenient). NULL: any. */
    const char *const *values;
} dg_colspec;

/* Whether a field of column s may hold v (len bytes): always, unless s
 * lists its values. */
int dg_colspec_allows(const dg_colspec *s, const char *v, size_t len);
/* "M or F", "train or test": what column s expects, for messages. */
const char *dg_colspec_expected(const dg_colspec *s, char *buf, size_t cap);

#define DG_CSV_MAX_FIELD_DEFAULT (1u << 20) /* a longer field is an error */
#define DG_CSV_FIRST_ERRORS 5

typedef struct dg_csv_opts {
    int lenient;            /* skip and count bad rows instead of stopping */
    int threads;            /* 0: one per core */
    size_t max_field;       /* 0: DG_CSV_MAX_FIELD_DEFAULT */
    const dg_progress *progress;
    const char *display_name; /* name used in messages (default: the path) */
    uint64_t **row_lines;   /* if set: gets a malloc'd array, the file line of each row
                               read (for messages about rows), freed by the caller */
} dg_csv_opts;

typedef struct dg_csv_report {
    uint64_t rows, bad_rows, bytes;
    int threads_used;
    int nfirst;             /* messages kept in first_errors */
    char first_errors[DG_CSV_FIRST_ERRORS][320];
    double seconds;
    /* Bytes of string fields that were not valid UTF-8, each replaced by
     * U+FFFD, and where the first was (line, 1-based column). */
    uint64_t utf8_replaced, utf8_first_line;
    int utf8_first_column;
} dg_csv_report;

/* Reads `path` into `out` (initialised by the caller with dg_table_init; its
 * columns are added here in the order of `cols`). On failure `out` is left
 * empty (no half-filled table) and err says why. */
int dg_csv_read(const char *path, const dg_colspec *cols, int ncols, const dg_csv_opts *opts,
                dg_table *out, dg_csv_report *report, dg_err *err);

/* Writes a table as CSV (header from the column names; floats with up to 7
 * significant digits, NaN as an empty field; times as YYYY-MM-DD HH:MM:SS;
 * strings quoted when they hold a comma, quote or line break), atomically. */
int dg_csv_write(const dg_table *t, const char *path, dg_err *err);

#endif
