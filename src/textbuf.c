#include "demographer/textbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void dg_textbuf_reserve(dg_textbuf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    b->p = dg_xrealloc(b->p, cap);
    b->cap = cap;
}

void dg_textbuf_printf(dg_textbuf *b, const char *fmt, ...)
{
    /* Format straight into the buffer's free space; grow and format again
     * only when it does not fit (a NULL, 0 sizing call first trips GCC's
     * format-truncation check under the sanitizers at -O2). */
    dg_textbuf_reserve(b, 64);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        dg_textbuf_reserve(b, (size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

size_t dg_utf8_seq(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned c = u[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else
        return 0;
    if (n < len || u[1] < lo || u[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (u[i] < 0x80 || u[i] > 0xBF)
            return 0;
    return len;
}

size_t dg_utf8_check(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = dg_utf8_seq(s + i, n - i);
        if (!k)
            return i;
        i += k;
    }
    return n;
}

void dg_escape_bytes(char *out, size_t cap, const char *s, size_t len, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    if (cap == 0)
        return;
    size_t n = len < max ? len : max, o = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        char esc[5];
        size_t k = 0, take = 1;
        if (c == '\\') {
            esc[k++] = '\\';
            esc[k++] = '\\';
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[k++] = '\\';
            esc[k++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        } else if (c < 0x20 || c == 0x7F) {
            esc[k++] = '\\';
            esc[k++] = 'x';
            esc[k++] = hex[c >> 4];
            esc[k++] = hex[c & 15];
        } else if (c < 0x80) {
            esc[k++] = (char)c;
        } else if ((take = dg_utf8_seq(s + i, n - i)) > 0) {
            memcpy(esc, s + i, take);
            k = take;
        } else {
            take = 1;
            esc[k++] = '\\';
            esc[k++] = 'x';
            esc[k++] = hex[c >> 4];
            esc[k++] = hex[c & 15];
        }
        if (o + k + 4 > cap) { /* room for "..." and the NUL */
            n = i;
            break;
        }
        memcpy(out + o, esc, k);
        o += k;
        i += take;
    }
    if (n < len && o + 4 <= cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < cap ? o : cap - 1] = '\0';
}

void dg_textbuf_csv_field(dg_textbuf *b, const char *s, size_t n)
{
    int quote = 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
    if (!quote) {
        dg_textbuf_put(b, s, n);
        return;
    }
    dg_textbuf_reserve(b, 2 * n + 2);
    b->p[b->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            b->p[b->len++] = '"';
        b->p[b->len++] = s[i];
    }
    b->p[b->len++] = '"';
}

void dg_textbuf_i64(dg_textbuf *b, int64_t v)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    dg_textbuf_reserve(b, (size_t)n + 1);
    if (v < 0)
        b->p[b->len++] = '-';
    while (n)
        b->p[b->len++] = tmp[--n];
}

void dg_textbuf_num(dg_textbuf *b, double v)
{
    if (isnan(v))
        return;
    /* Counts and flags, most of what the features hold, skip printf. */
    if (v == floor(v) && fabs(v) < 1e15) {
        dg_textbuf_i64(b, (int64_t)v);
        return;
    }
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%.7g", v);
    dg_textbuf_put(b, tmp, (size_t)n);
}

void dg_format_exact(double v, char out[32])
{
    if (isnan(v)) {
        strcpy(out, "nan");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, 32, "%.0f", v);
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
}

void dg_textbuf_exact(dg_textbuf *b, double v)
{
    if (isnan(v))
        return;
    char num[32];
    dg_format_exact(v, num);
    dg_textbuf_puts(b, num);
}

int dg_textbuf_save(dg_textbuf *b, const char *path, dg_err *err)
{
    int rc = dg_write_file_atomic(path, b->p ? b->p : "", b->len, err);
    b->len = 0;
    return rc;
}

void dg_textbuf_free(dg_textbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
