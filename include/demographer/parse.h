/* Field and time parsers, shared by every source: the CSV reader, the MySQL
 * and ClickHouse rows (which arrive as text), the predictions and accuracy
 * files and the pushdown's answers. */
#ifndef DEMOGRAPHER_PARSE_H
#define DEMOGRAPHER_PARSE_H

#include "demographer/table.h"

#include <stddef.h>
#include <stdint.h>

/* Each returns 0 on success or a negative code; dg_parse_expected turns the
 * code into the "expected ..." part of a message. */
enum { DG_PARSE_EMPTY = -1, DG_PARSE_SYNTAX = -2, DG_PARSE_RANGE = -3 };
int dg_parse_i64(const char *s, size_t len, int64_t *out);
int dg_parse_f64(const char *s, size_t len, double *out);
/* "YYYY-MM-DD HH:MM:SS" (UTC) to seconds since the epoch. */
int dg_parse_time(const char *s, size_t len, int64_t *out);
const char *dg_parse_expected(dg_coltype type, int code);

/* 1e0 .. 1e22, each exactly a double: a mantissa of at most 15 digits divided
 * by one is correctly rounded (the fast decimal paths of dg_parse_f64 and the
 * CSV reader's float columns). */
extern const double dg_pow10_exact[23];

/* Formats seconds since the epoch as "YYYY-MM-DD HH:MM:SS" (20 bytes with NUL). */
void dg_format_time(int64_t t, char out[20]);

#endif
