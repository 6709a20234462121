/* The generator's CSV formatting: numbers, fields, times and buffers, with
 * no stdio on the hot path. */
#ifndef DEMOGRAPHER_SYNTH_FORMAT_H
#define DEMOGRAPHER_SYNTH_FORMAT_H

#include "synth_internal.h"

#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * Formatting
 * ------------------------------------------------------------------------- */

static inline char *put_u64(char *p, uint64_t v)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = t[--n];
    return p;
}

static inline char *put_i64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return put_u64(p, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(p, (uint64_t)v);
}

static inline char *put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* A CSV field, quoted only when it must be. */
static inline char *put_field(char *p, const char *s)
{
    if (!strpbrk(s, ",\"\n"))
        return put_str(p, s);
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"')
            *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    return p;
}

/* A coordinate in hundredths of a degree: 11639 -> "116.39". */
static inline char *put_coord(char *p, int v)
{
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    p = put_u64(p, (uint64_t)(v / 100));
    *p++ = '.';
    *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

static inline char *put_2d(char *p, unsigned v)
{
    *p++ = (char)('0' + v / 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

static inline char *put_time(char *p, uint32_t t)
{
    unsigned day = t / 86400, s = t % 86400;
    memcpy(p, day == 0 ? "2016-04-" : "2016-05-", 8);
    p = put_2d(p + 8, day == 0 ? 30 : day);
    *p++ = ' ';
    p = put_2d(p, s / 3600);
    *p++ = ':';
    p = put_2d(p, s / 60 % 60);
    *p++ = ':';
    return put_2d(p, s % 60);
}

/* A non-negative number with a fixed number of decimals. */
static inline char *put_fixed(char *p, double v, int decimals)
{
    double scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    if (v < 0)
        v = 0;
    uint64_t x = (uint64_t)llround(v * scale);
    uint64_t ip = x / (uint64_t)scale, fp = x % (uint64_t)scale;
    p = put_u64(p, ip);
    *p++ = '.';
    for (int i = decimals - 1; i >= 0; i--) {
        p[i] = (char)('0' + fp % 10);
        fp /= 10;
    }
    return p + decimals;
}

/* Upgrad's ids: the exact id with every digit after the 15th significant one
 * set to zero (truncation, as in the real mapping file: -7548291590301750136
 * -> -7548291590301750000). */
static inline void truncate_id(char *s)
{
    int digits = 0;
    for (char *p = s; *p; p++)
        if (*p >= '0' && *p <= '9' && ++digits > 15)
            *p = '0';
}


static inline char *buf_room(buf *b, size_t extra)
{
    if (b->len + extra > b->cap) {
        b->cap = (b->len + extra) * 2;
        b->p = dg_xrealloc(b->p, b->cap);
    }
    return b->p + b->len;
}

static inline void buf_done(buf *b, char *end) { b->len = (size_t)(end - b->p); }

#endif
