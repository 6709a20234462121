/* A growing text buffer for the files demographer writes (cleaned tables,
 * features, EDA tables): fast number formatting, CSV quoting, and an atomic
 * save. */
#ifndef DEMOGRAPHER_TEXTBUF_H
#define DEMOGRAPHER_TEXTBUF_H

#include "demographer/common.h"

#include <string.h>

typedef struct dg_textbuf {
    char *p;
    size_t len, cap;
} dg_textbuf;

void dg_textbuf_reserve(dg_textbuf *b, size_t n);

static inline void dg_textbuf_putc(dg_textbuf *b, char c)
{
    if (b->len + 1 > b->cap)
        dg_textbuf_reserve(b, 1);
    b->p[b->len++] = c;
}

static inline void dg_textbuf_put(dg_textbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap)
        dg_textbuf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static inline void dg_textbuf_puts(dg_textbuf *b, const char *s)
{
    dg_textbuf_put(b, s, strlen(s));
}

void dg_textbuf_printf(dg_textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A CSV field: quoted (quotes doubled) when it holds a comma, quote or line break. */
void dg_textbuf_csv_field(dg_textbuf *b, const char *s, size_t n);
void dg_textbuf_i64(dg_textbuf *b, int64_t v);
/* A number: whole numbers as integers, others with 7 significant digits (a
 * float's precision), NaN as nothing (an empty CSV field). */
void dg_textbuf_num(dg_textbuf *b, double v);
/* The shortest decimal that reads back as exactly v: whole numbers as
 * integers (20, not %g's 2e+01), else %.15g, %.16g or %.17g, the first that
 * reads back (any decimal of up to 15 significant digits survives a double,
 * so 0.1 stays "0.1"). NaN is "nan". */
void dg_format_exact(double v, char out[32]);
/* dg_format_exact into the buffer, NaN as nothing (an empty CSV field). */
void dg_textbuf_exact(dg_textbuf *b, double v);

/* UTF-8: the length of the valid sequence that starts s (1 to 4 bytes, no
 * overlong forms, surrogates or code points past U+10FFFF), or 0 when the
 * bytes at s are not one. n > 0. */
size_t dg_utf8_seq(const char *s, size_t n);
/* The offset of the first byte of s that is not valid UTF-8, or n. */
size_t dg_utf8_check(const char *s, size_t n);
/* Bytes shown on one line for a message: valid UTF-8 text as it is, control
 * bytes, invalid bytes and backslashes escaped (\x00, \n, \xff, \\). At
 * most `max` input bytes are shown, then "..."; out always ends in NUL. */
void dg_escape_bytes(char *out, size_t cap, const char *s, size_t len, size_t max);

/* Writes the text to path atomically and empties the buffer. */
int dg_textbuf_save(dg_textbuf *b, const char *path, dg_err *err);
void dg_textbuf_free(dg_textbuf *b);

#endif
