#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* wcwidth; ncursesw's flags set 600 where it is linked */
#endif
#include "text.h"

#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* Decodes one character at s (n bytes left): its byte length, its width and
 * whether it is printable as is. */
static size_t next_char(const char *s, size_t n, int *width, int *ok)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    wchar_t wc;
    size_t len = mbrtowc(&wc, s, n, &st);
    if (len == (size_t)-1 || len == (size_t)-2 || len == 0) {
        *width = 1;
        *ok = 0;
        return 1;
    }
    int w = wcwidth(wc);
    if (w < 0) {
        *width = 1;
        *ok = 0;
        return len;
    }
    *width = w;
    *ok = 1;
    return len;
}

int text_width(const char *s)
{
    size_t n = strlen(s);
    int total = 0;
    while (n) {
        int w, ok;
        size_t len = next_char(s, n, &w, &ok);
        total += w;
        s += len;
        n -= len;
    }
    return total;
}

char *text_fit(const char *s, int width, int right_align, char *out, size_t cap)
{
    if (cap == 0)
        return out;
    if (width < 0)
        width = 0;
    int full = text_width(s);
    /* Room for the text: all of it, or width-1 cells and the ellipsis. */
    int room = full <= width ? width : width - 1;
    size_t o = 0, n = strlen(s);
    int used = 0;
    char body[4096];
    while (n && o + 8 < sizeof body) {
        int w, ok;
        size_t len = next_char(s, n, &w, &ok);
        if (used + w > room)
            break;
        if (ok) {
            memcpy(body + o, s, len);
            o += len;
        } else {
            body[o++] = '?';
        }
        used += w;
        s += len;
        n -= len;
    }
    body[o] = '\0';
    int cut = full > width && width > 0;
    int pad = width - used - cut;
    size_t k = 0;
    if (right_align)
        for (int i = 0; i < pad && k + 1 < cap; i++)
            out[k++] = ' ';
    for (size_t i = 0; i < o && k + 1 < cap; i++)
        out[k++] = body[i];
    if (cut && k + 4 < cap) {
        memcpy(out + k, "\xe2\x80\xa6", 3); /* … */
        k += 3;
    }
    if (!right_align)
        for (int i = 0; i < pad && k + 1 < cap; i++)
            out[k++] = ' ';
    out[k] = '\0';
    return out;
}

char *text_count(unsigned long long v, char *out, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", v);
    size_t k = 0;
    for (int i = 0; i < n && k + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = '\0';
    return out;
}

unsigned text_braille_bit(int x, int y)
{
    static const unsigned bits[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    return bits[y][x];
}

void text_braille_utf8(unsigned bits, char out[4])
{
    unsigned cp = 0x2800 + bits;
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    out[3] = 0;
}

/* The bytes of the first character of s (1 for a bad byte). */
static int char_len(const char *s)
{
    unsigned char c = (unsigned char)*s;
    int n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    for (int i = 1; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            return 1;
    return n;
}

int text_wrap(const char *s, int width, int indent, char (*lines)[256], int max)
{
    int n = 0;
    if (width < indent + 8)
        width = indent + 8;
    const char *p = s;
    do {
        if (n >= max)
            break;
        char *out = lines[n];
        size_t o = 0;
        int w = 0;
        if (n > 0 && p != s)
            for (; w < indent && o + 1 < 256; w++)
                out[o++] = ' ';
        const char *line_start = p, *last_space = NULL;
        size_t o_at_space = 0;
        while (*p) {
            int cl = char_len(p);
            char one[8];
            memcpy(one, p, (size_t)cl);
            one[cl] = '\0';
            int cw = text_width(one);
            if (w + cw > width || o + (size_t)cl + 1 >= 256)
                break;
            if (*p == ' ') {
                last_space = p;
                o_at_space = o;
            }
            memcpy(out + o, p, (size_t)cl);
            o += (size_t)cl;
            w += cw;
            p += cl;
        }
        /* Cut at the last blank, unless the word alone is wider than a line. */
        if (*p && last_space && last_space > line_start) {
            o = o_at_space;
            p = last_space + 1;
        }
        out[o] = '\0';
        n++;
        while (*p == ' ')
            p++;
    } while (*p);
    return n;
}

const char *text_after_line(const char *s, const char *first)
{
    size_t n = strlen(first);
    const char *rest = strncmp(s, first, n) == 0 ? s + n : s;
    while (*rest == ' ')
        rest++;
    return rest;
}
