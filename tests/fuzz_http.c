/* libFuzzer target for the API's HTTP framing: any bytes as a request head
 * (dg_http_parse_head) and as a chunked body (dg_chunked_decode). A head
 * that is accepted must be one RFC 9112 allows; a chunked body decoded in
 * two pieces, in place, must give what it gives whole into another buffer.
 * The sanitizers catch the rest. */
#define _GNU_SOURCE
#include "demographer/serve.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_head(const char *p, size_t n)
{
    dg_http_head h;
    dg_err err;
    int status = dg_http_parse_head(p, n, &h, &err);
    if (status != 0) {
        if (status != 400 && status != 501 && status != 505)
            abort();
        if (!memchr(err.msg, '\0', sizeof err.msg) || !err.msg[0])
            abort();
        return;
    }
    /* Accepted: it ends with its empty line, holds no NUL, no bare CR or
     * LF, no folded line; the target is inside it and visible bytes only. */
    if (n < 4 || memcmp(p + n - 4, "\r\n\r\n", 4) != 0 || memchr(p, '\0', n))
        abort();
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
            abort();
        if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
            abort();
        if (p[i] == '\n' && i + 1 < n && (p[i + 1] == ' ' || p[i + 1] == '\t'))
            abort();
    }
    if (!h.method[0] || h.target_len == 0 || h.target_off + h.target_len > n)
        abort();
    for (size_t i = 0; i < h.target_len; i++)
        if ((unsigned char)p[h.target_off + i] <= 0x20 || p[h.target_off + i] == 0x7f)
            abort();
    if ((h.minor != 0 && h.minor != 1) || (h.chunked && h.has_length) ||
        (h.chunked && h.minor == 0))
        abort();
    if (h.minor == 1 && !strcasestr(p, "\r\nhost:"))
        abort(); /* p holds no NUL before the one after the copy */
}

static void check_chunked(const char *p, size_t n)
{
    /* Whole, into another buffer. */
    char *whole = malloc(n + 1);
    dg_chunked c;
    dg_chunked_init(&c);
    size_t got = 0;
    dg_err err;
    long used = dg_chunked_decode(&c, p, n, whole, &got, 256, &err);
    if (used > (long)n || got > n)
        abort();
    /* In two pieces, in place: the data moved down as it is decoded. */
    char *buf = malloc(n + 1);
    memcpy(buf, p, n);
    size_t cut = n ? (unsigned char)p[0] % (n + 1) : 0;
    dg_chunked d;
    dg_chunked_init(&d);
    size_t got1 = 0, got2 = 0;
    long used1 = dg_chunked_decode(&d, buf, cut, buf, &got1, 256, &err);
    long used_all = used1;
    size_t total = got1;
    if (used1 >= 0 && !dg_chunked_done(&d)) {
        if ((size_t)used1 != cut)
            abort(); /* all of a piece is taken unless the body ended */
        /* The rest follows the data decoded so far, as the server lays it. */
        memmove(buf + got1, buf + cut, n - cut);
        long used2 = dg_chunked_decode(&d, buf + got1, n - cut, buf + got1, &got2, 256, &err);
        used_all = used2 < 0 ? -1 : used1 + used2;
        total += got2;
    }
    if ((used < 0) != (used_all < 0))
        abort();
    if (used >= 0) {
        if (used != used_all || got != total || memcmp(whole, buf, got) != 0 ||
            dg_chunked_done(&c) != dg_chunked_done(&d))
            abort();
    }
    free(buf);
    free(whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy with a NUL after it, so the strcasestr above stays inside. */
    char *p = malloc(size + 1);
    memcpy(p, data, size);
    p[size] = '\0';
    check_head(p, size);
    check_chunked(p, size);
    free(p);
    return 0;
}
