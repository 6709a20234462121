/* Requests of the prediction API: the route of a path and the device
 * description of a POST /v1/predict body, validated against serve.h's
 * limits. Everything here takes hostile bytes (tests/fuzz_serve.c). */
#define _GNU_SOURCE
#include "demographer/serve.h"
#include "demographer/textbuf.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int dg_parse_device_id(const char *s, int64_t *out, dg_err *err)
{
    const char *p = s;
    int neg = *p == '-';
    if (neg)
        p++;
    if (*p == '\0')
        return dg_fail(err, "expected a signed 64-bit decimal integer, found '%s'", s);
    /* Magnitude in unsigned arithmetic: -9223372036854775808 is in range. */
    uint64_t v = 0;
    const uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    int ndigits = 0;
    for (; *p; p++, ndigits++) {
        if (*p < '0' || *p > '9' || ndigits >= 19)
            return dg_fail(err, "expected a signed 64-bit decimal integer, found '%.40s%s'", s,
                           strlen(s) > 40 ? "..." : "");
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (limit - d) / 10)
            return dg_fail(err, "device id '%s' is out of the signed 64-bit range", s);
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return DG_OK;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int dg_serve_check_path(const char *uri, dg_err *err)
{
    /* Decoded as dg_serve_decode_path decodes it (%XX with two hex digits;
     * any other '%' stays as it is), up to the query string. */
    size_t n = strcspn(uri, "?#");
    unsigned char *dec = dg_xmalloc(n + 1);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (uri[i] == '%' && i + 2 < n && (hi = hex_value(uri[i + 1])) >= 0 &&
            (lo = hex_value(uri[i + 2])) >= 0) {
            dec[len] = (unsigned char)(hi << 4 | lo);
            if (dec[len] == 0) {
                free(dec);
                return dg_fail(err, "the path holds an encoded NUL byte (%%00) at byte %zu",
                               i);
            }
            len++;
            i += 2;
        } else {
            dec[len++] = (unsigned char)uri[i];
        }
    }
    for (size_t i = 0; i < len;) {
        int k = (int)dg_utf8_seq((const char *)dec + i, len - i);
        if (k == 0) {
            char bytes[16];
            size_t o = 0;
            for (size_t j = i; j < len && j < i + 4; j++)
                o += (size_t)snprintf(bytes + o, sizeof bytes - o, "%%%02X", dec[j]);
            free(dec);
            return dg_fail(err, "the path is not UTF-8: %s at byte %zu of the decoded path",
                           bytes, i);
        }
        i += (size_t)k;
    }
    free(dec);
    return DG_OK;
}

void dg_serve_decode_path(char *path)
{
    char *o = path;
    for (const char *p = path; *p; p++) {
        int hi, lo;
        if (*p == '%' && (hi = hex_value(p[1])) >= 0 && (lo = hex_value(p[2])) >= 0) {
            *o++ = (char)(hi << 4 | lo);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

dg_route dg_serve_route(const char *path, int64_t *device_id, int *id_ok, dg_err *err)
{
    static const char devices[] = "/v1/devices/";
    if (strcmp(path, "/") == 0)
        return DG_ROUTE_INDEX;
    if (strcmp(path, "/health") == 0)
        return DG_ROUTE_HEALTH;
    if (strcmp(path, "/openapi.json") == 0)
        return DG_ROUTE_OPENAPI;
    if (strcmp(path, "/v1/predict") == 0)
        return DG_ROUTE_PREDICT;
    if (strncmp(path, devices, sizeof devices - 1) == 0) {
        const char *id = path + sizeof devices - 1;
        if (strchr(id, '/'))
            return DG_ROUTE_NOT_FOUND;
        *id_ok = dg_parse_device_id(id, device_id, err) == DG_OK;
        return DG_ROUTE_DEVICE;
    }
    return DG_ROUTE_NOT_FOUND;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction or exponent";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "something else";
}

/* Every key of obj must be one of known (NULL-terminated). */
static int check_keys(const json_t *obj, const char *where, const char *const *known, dg_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int ok = 0;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, key) == 0;
        if (!ok)
            return dg_fail(err, "%s: unknown field '%.64s'", where, key);
    }
    return DG_OK;
}

/* A 64-bit id given as a JSON integer or as a decimal string (what
 * JavaScript clients must send, their numbers losing 64-bit precision). */
static int id_value(const json_t *v, const char *where, int64_t *out, dg_err *err)
{
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return DG_OK;
    }
    if (json_is_string(v)) {
        dg_err e;
        if (dg_parse_device_id(json_string_value(v), out, &e) != DG_OK)
            return dg_fail(err, "%s: %s", where, e.msg);
        return DG_OK;
    }
    return dg_fail(err, "%s: expected an integer or a decimal string, found %s", where,
                   json_kind(v));
}

static int text_value(const json_t *obj, const char *key, char *out, dg_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return dg_fail(err, "%s: missing (a string of 1 to %d bytes)", key, DG_SERVE_MAX_TEXT);
    if (!json_is_string(v))
        return dg_fail(err, "%s: expected a string, found %s", key, json_kind(v));
    size_t n = json_string_length(v);
    if (n == 0 || n > DG_SERVE_MAX_TEXT)
        return dg_fail(err, "%s: expected 1 to %d bytes, found %zu", key, DG_SERVE_MAX_TEXT, n);
    memcpy(out, json_string_value(v), n); /* jansson rejects NUL in strings */
    out[n] = '\0';
    return DG_OK;
}

static int bool_value(const json_t *obj, const char *key, const char *where, int dflt, int *out,
                      dg_err *err)
{
    const json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = dflt;
        return DG_OK;
    }
    if (!json_is_boolean(v))
        return dg_fail(err, "%s.%s: expected true or false, found %s", where, key, json_kind(v));
    *out = json_is_true(v);
    return DG_OK;
}

/* "YYYY-MM-DD HH:MM:SS", the data's own form, in [DG_SERVE_MIN_TIME,
 * DG_SERVE_MAX_TIME]. */
static int timestamp_value(const json_t *v, const char *where, int64_t *out, dg_err *err)
{
    if (!v)
        return dg_fail(err, "%s.timestamp: missing (\"YYYY-MM-DD HH:MM:SS\")", where);
    if (!json_is_string(v))
        return dg_fail(err, "%s.timestamp: expected a string \"YYYY-MM-DD HH:MM:SS\", found %s",
                       where, json_kind(v));
    const char *s = json_string_value(v);
    static const char shape[] = "dddd-dd-dd dd:dd:dd";
    int ok = strlen(s) == sizeof shape - 1;
    for (size_t i = 0; ok && i < sizeof shape - 1; i++)
        ok = shape[i] == 'd' ? (s[i] >= '0' && s[i] <= '9') : s[i] == shape[i];
    if (!ok)
        return dg_fail(err, "%s.timestamp: expected \"YYYY-MM-DD HH:MM:SS\", found \"%.40s\"",
                       where, s);
    struct tm tm = {0};
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    tm.tm_hour = atoi(s + 11);
    tm.tm_min = atoi(s + 14);
    tm.tm_sec = atoi(s + 17);
    struct tm want = tm;
    time_t t = timegm(&tm);
    /* timegm normalises 2016-02-30 into March: a changed field means the
     * date did not exist. */
    if (tm.tm_mon != want.tm_mon || tm.tm_mday != want.tm_mday || tm.tm_hour != want.tm_hour ||
        tm.tm_min != want.tm_min || tm.tm_sec != want.tm_sec)
        return dg_fail(err, "%s.timestamp: \"%s\" is not a date and time that exists", where, s);
    if ((int64_t)t < DG_SERVE_MIN_TIME || (int64_t)t > DG_SERVE_MAX_TIME)
        return dg_fail(err, "%s.timestamp: expected a time from 2000-01-01 to 2099-12-31, found "
                       "\"%s\"", where, s);
    *out = (int64_t)t;
    return DG_OK;
}

static int coord_value(const json_t *v, const char *where, const char *key, double lo, double hi,
                       double *out, dg_err *err)
{
    if (!json_is_number(v))
        return dg_fail(err, "%s.%s: expected a number, found %s", where, key, json_kind(v));
    double d = json_number_value(v);
    if (!isfinite(d) || d < lo || d > hi)
        return dg_fail(err, "%s.%s: expected degrees from %g to %g, found %.17g", where, key, lo,
                       hi, d);
    *out = d;
    return DG_OK;
}

static int parse_app(const json_t *a, const char *where, dg_app_use *out, dg_err *err)
{
    static const char *const keys[] = {"app_id", "installed", "active", NULL};
    if (!json_is_object(a))
        return dg_fail(err, "%s: expected an object, found %s", where, json_kind(a));
    if (check_keys(a, where, keys, err) != DG_OK)
        return DG_ERR;
    const json_t *id = json_object_get(a, "app_id");
    char at[96];
    snprintf(at, sizeof at, "%s.app_id", where);
    if (!id)
        return dg_fail(err, "%s: missing (an integer or a decimal string)", at);
    if (id_value(id, at, &out->app_id, err) != DG_OK)
        return DG_ERR;
    if (bool_value(a, "installed", where, 1, &out->installed, err) != DG_OK ||
        bool_value(a, "active", where, 0, &out->active, err) != DG_OK)
        return DG_ERR;
    return DG_OK;
}

static int parse_event(const json_t *e, const char *where, dg_event_input *out, dg_err *err)
{
    static const char *const keys[] = {"timestamp", "latitude", "longitude", "apps", NULL};
    if (!json_is_object(e))
        return dg_fail(err, "%s: expected an object, found %s", where, json_kind(e));
    if (check_keys(e, where, keys, err) != DG_OK ||
        timestamp_value(json_object_get(e, "timestamp"), where, &out->timestamp, err) != DG_OK)
        return DG_ERR;
    const json_t *lat = json_object_get(e, "latitude"), *lon = json_object_get(e, "longitude");
    if (!lat != !lon)
        return dg_fail(err, "%s: latitude and longitude go together (found only %s)", where,
                       lat ? "latitude" : "longitude");
    out->has_location = lat != NULL;
    if (lat && (coord_value(lat, where, "latitude", -90, 90, &out->lat, err) != DG_OK ||
                coord_value(lon, where, "longitude", -180, 180, &out->lon, err) != DG_OK))
        return DG_ERR;
    const json_t *apps = json_object_get(e, "apps");
    if (!apps)
        return DG_OK;
    if (!json_is_array(apps))
        return dg_fail(err, "%s.apps: expected an array, found %s", where, json_kind(apps));
    size_t n = json_array_size(apps);
    if (n > DG_SERVE_MAX_APPS)
        return dg_fail(err, "%s.apps: at most %d apps per event, found %zu", where,
                       DG_SERVE_MAX_APPS, n);
    out->apps = n ? dg_xcalloc(n, sizeof *out->apps) : NULL;
    out->napps = n;
    for (size_t i = 0; i < n; i++) {
        char at[80];
        snprintf(at, sizeof at, "%s.apps[%zu]", where, i);
        if (parse_app(json_array_get(apps, i), at, &out->apps[i], err) != DG_OK)
            return DG_ERR;
    }
    return DG_OK;
}

static int parse_device(const json_t *root, dg_device_input *in, dg_err *err)
{
    static const char *const keys[] = {"device_id", "brand", "model", "events", NULL};
    if (!json_is_object(root))
        return dg_fail(err, "body: expected a JSON object, found %s", json_kind(root));
    if (check_keys(root, "body", keys, err) != DG_OK)
        return DG_ERR;
    const json_t *id = json_object_get(root, "device_id");
    if (id) {
        if (id_value(id, "device_id", &in->device_id, err) != DG_OK)
            return DG_ERR;
        in->has_device_id = 1;
    }
    if (text_value(root, "brand", in->brand, err) != DG_OK ||
        text_value(root, "model", in->model, err) != DG_OK)
        return DG_ERR;
    const json_t *events = json_object_get(root, "events");
    if (!events)
        return DG_OK;
    if (!json_is_array(events))
        return dg_fail(err, "events: expected an array, found %s", json_kind(events));
    size_t n = json_array_size(events);
    if (n > DG_SERVE_MAX_EVENTS)
        return dg_fail(err, "events: at most %d events, found %zu", DG_SERVE_MAX_EVENTS, n);
    in->events = n ? dg_xcalloc(n, sizeof *in->events) : NULL;
    in->nevents = n;
    for (size_t i = 0; i < n; i++) {
        char at[32];
        snprintf(at, sizeof at, "events[%zu]", i);
        if (parse_event(json_array_get(events, i), at, &in->events[i], err) != DG_OK)
            return DG_ERR;
    }
    return DG_OK;
}

int dg_device_input_parse(const char *body, size_t len, dg_device_input *in, dg_err *err)
{
    memset(in, 0, sizeof *in);
    json_error_t je;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!root)
        return dg_fail(err, "body line %d, column %d: %s", je.line, je.column, je.text);
    int rc = parse_device(root, in, err);
    json_decref(root);
    if (rc != DG_OK)
        dg_device_input_free(in);
    return rc;
}

void dg_device_input_free(dg_device_input *in)
{
    for (size_t i = 0; i < in->nevents; i++)
        free(in->events[i].apps);
    free(in->events);
    memset(in, 0, sizeof *in);
}

/* A number in the shortest form that reads back as the same double, or null
 * for NaN (a value the model could not give: predictions.csv's empty field). */
static void put_double(dg_textbuf *b, double v)
{
    if (isnan(v)) {
        dg_textbuf_puts(b, "null");
        return;
    }
    char num[32];
    dg_format_exact(v, num);
    dg_textbuf_puts(b, num);
}

/* A JSON string of at most max bytes of s; 0 when it is not UTF-8. */
static int put_string(dg_textbuf *b, const char *s, size_t max)
{
    json_t *j = json_stringn(s, strnlen(s, max));
    char *text = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!text)
        return 0;
    dg_textbuf_puts(b, text);
    free(text);
    return 1;
}

static void put_groups(dg_textbuf *b, const char *key, const double *p,
                       const char *const *names, int n)
{
    dg_textbuf_printf(b, ",\"%s\":[", key);
    for (int i = 0; i < n; i++) {
        /* The group names are plain ASCII without quotes (model.h). */
        dg_textbuf_printf(b, "%s{\"group\":\"%s\",\"p\":", i ? "," : "", names[i]);
        put_double(b, p[i]);
        dg_textbuf_putc(b, '}');
    }
    dg_textbuf_putc(b, ']');
}

/* Written by hand rather than through jansson, whose reals print with a
 * fixed precision: the numbers here read back exactly as the models wrote
 * them. NaN is null; an infinity has no JSON form and fails. */
char *dg_answer_json(const dg_answer *a, int has_device_id, const char *model_version,
                     size_t *len)
{
    const dg_prediction *p = &a->p;
    double all[2 + 6 + 12] = {p->p_female, p->age};
    memcpy(all + 2, p->group6, sizeof p->group6);
    memcpy(all + 8, p->group12, sizeof p->group12);
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (isinf(all[i]))
            return NULL;
    dg_textbuf b = {0};
    dg_textbuf_reserve(&b, 1024);
    if (has_device_id)
        dg_textbuf_printf(&b, "{\"device_id\":\"%lld\"", (long long)p->device_id);
    else
        dg_textbuf_puts(&b, "{\"device_id\":null");
    dg_textbuf_printf(&b, ",\"scenario\":%d,\"p_female\":", p->scenario);
    put_double(&b, p->p_female);
    dg_textbuf_puts(&b, ",\"predicted_age\":");
    put_double(&b, p->age);
    put_groups(&b, "group6", p->group6, dg_group6_names, 6);
    put_groups(&b, "group12", p->group12, dg_group12_names, 12);
    dg_textbuf_puts(&b, ",\"campaigns\":[");
    int ok = 1;
    for (int i = 0; i < a->ncampaigns && i < DG_SERVE_MAX_CAMPAIGNS && ok; i++) {
        if (i)
            dg_textbuf_putc(&b, ',');
        ok = put_string(&b, a->campaigns[i], sizeof a->campaigns[i] - 1);
    }
    dg_textbuf_puts(&b, "],\"model_version\":");
    ok = ok && put_string(&b, model_version ? model_version : "", SIZE_MAX);
    dg_textbuf_puts(&b, "}");
    if (!ok) {
        dg_textbuf_free(&b);
        return NULL;
    }
    dg_textbuf_putc(&b, '\0');
    if (len)
        *len = b.len - 1;
    return b.p;
}

/* ---- HTTP/1.1 message framing (RFC 9112), strict ---- */

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A field value's byte: SP, HTAB, VCHAR or obs-text; never NUL, CR, LF or
 * another control byte. */
static int is_field_byte(unsigned char c)
{
    return c == ' ' || c == '\t' || (c > 0x20 && c != 0x7f);
}

static int name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* Whether the comma-separated list v (n bytes) holds token, in any case. */
static int list_has(const char *v, size_t n, const char *token)
{
    size_t t = strlen(token), i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == t && strncasecmp(v + s, token, t) == 0)
            return 1;
    }
    return 0;
}

/* The value quoted for a message: printable ASCII, the rest as \xHH. */
static void quote(const char *v, size_t n, char *out, size_t cap)
{
    size_t o = 0, i = 0;
    for (; i < n && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02X", c);
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static int refuse(dg_err *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(dg_err *err, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return status;
}

int dg_http_parse_head(const char *buf, size_t len, dg_http_head *h, dg_err *err)
{
    memset(h, 0, sizeof *h);
    const unsigned char *p = (const unsigned char *)buf;
    size_t i = 0;
    /* The request line: method SP request-target SP HTTP-version CRLF. */
    size_t m = 0;
    while (i < len && is_tchar(p[i]))
        i++, m++;
    if (m == 0 || i >= len || p[i] != ' ')
        return refuse(err, 400, "the request line is not METHOD SP TARGET SP HTTP/1.x "
                      "(RFC 9112 3): byte %zu is 0x%02X", i, i < len ? p[i] : 0);
    if (m >= sizeof h->method)
        return refuse(err, 501, "method '%.*s...' is not implemented", 15, buf);
    memcpy(h->method, buf, m);
    h->method[m] = '\0';
    i++;
    h->target_off = i;
    while (i < len && p[i] > 0x20 && p[i] != 0x7f)
        i++;
    h->target_len = i - h->target_off;
    if (h->target_len == 0 || i >= len || p[i] != ' ')
        return refuse(err, 400, "the request target holds byte 0x%02X at byte %zu of the "
                      "request line (a target is visible bytes only, RFC 9112 3.2)",
                      i < len ? p[i] : 0, i);
    i++;
    if (len - i < 10 || memcmp(buf + i, "HTTP/", 5) != 0 || p[i + 5] < '0' || p[i + 5] > '9' ||
        p[i + 6] != '.' || p[i + 7] < '0' || p[i + 7] > '9' || p[i + 8] != '\r' ||
        p[i + 9] != '\n') {
        char v[40];
        size_t e = i;
        while (e < len && e < i + 12 && p[e] != '\r')
            e++;
        quote(buf + i, e - i, v, sizeof v);
        return refuse(err, 400, "expected HTTP/1.1 or HTTP/1.0 at the end of the request "
                      "line, found '%s'", v);
    }
    if (p[i + 5] != '1')
        return refuse(err, 505, "HTTP/%c.%c is not supported: send HTTP/1.1", p[i + 5],
                      p[i + 7]);
    h->minor = p[i + 7] == '0' ? 0 : 1; /* HTTP/1.2 to 1.9 are read as 1.1 (RFC 9110 2.5) */
    h->keep_alive = h->minor >= 1;
    i += 10;
    /* Header fields: name ":" OWS value OWS CRLF, until the empty line. */
    unsigned hosts = 0, lengths = 0, codings = 0, line = 1;
    const char *te = NULL;
    size_t te_len = 0;
    for (;;) {
        line++;
        if (i + 1 < len && p[i] == '\r' && p[i + 1] == '\n') {
            i += 2;
            break;
        }
        if (i >= len)
            return refuse(err, 400, "the head ends without an empty line");
        if (p[i] == ' ' || p[i] == '\t')
            return refuse(err, 400, "line %u of the head starts with white space: a folded "
                          "header line (obs-fold) is refused (RFC 9112 5.2)", line);
        size_t ns = i;
        while (i < len && is_tchar(p[i]))
            i++;
        size_t nlen = i - ns;
        if (nlen == 0 || i >= len || p[i] != ':') {
            char v[40];
            quote(buf + ns, i - ns + (i < len), v, sizeof v);
            return refuse(err, 400, "line %u of the head is not NAME: VALUE (a field name is "
                          "a token, with no white space before the colon): '%s'", line, v);
        }
        const char *name = buf + ns;
        i++;
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        size_t vs = i;
        while (i < len && is_field_byte(p[i]))
            i++;
        if (i + 1 >= len || p[i] != '\r' || p[i + 1] != '\n') {
            char n[40];
            quote(name, nlen, n, sizeof n);
            return refuse(err, 400, "header %s (line %u of the head) holds byte 0x%02X at "
                          "column %zu: a field value holds no control byte (RFC 9110 5.5)",
                          n, line, i < len ? p[i] : 0, i - ns + 1);
        }
        size_t ve = i;
        while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
            ve--;
        const char *v = buf + vs;
        size_t vlen = ve - vs;
        i += 2;
        char shown[80];
        if (name_is(name, nlen, "content-length")) {
            if (++lengths > 1)
                return refuse(err, 400, "two Content-Length headers: a request has one "
                              "(RFC 9112 6.3)");
            uint64_t n = 0;
            size_t k = 0;
            for (; k < vlen && v[k] >= '0' && v[k] <= '9' && n <= (UINT64_MAX - 9) / 10; k++)
                n = n * 10 + (uint64_t)(v[k] - '0');
            if (vlen == 0 || k < vlen) {
                quote(v, vlen, shown, sizeof shown);
                return refuse(err, 400, "Content-Length must be digits only, within 64 bits; "
                              "found '%s'", shown);
            }
            h->has_length = 1;
            h->length = n;
        } else if (name_is(name, nlen, "transfer-encoding")) {
            codings++;
            te = v;
            te_len = vlen;
        } else if (name_is(name, nlen, "host")) {
            if (++hosts > 1)
                return refuse(err, 400, "two Host headers: a request has one (RFC 9112 3.2)");
        } else if (name_is(name, nlen, "connection")) {
            if (list_has(v, vlen, "close"))
                h->keep_alive = 0;
            else if (list_has(v, vlen, "keep-alive"))
                h->keep_alive = 1;
        } else if (name_is(name, nlen, "expect")) {
            h->expect_continue = vlen == 12 && strncasecmp(v, "100-continue", 12) == 0;
        } else if (name_is(name, nlen, "content-type")) {
            size_t n = vlen < sizeof h->content_type - 1 ? vlen : sizeof h->content_type - 1;
            memcpy(h->content_type, v, n);
            h->content_type[n] = '\0';
        } else if (name_is(name, nlen, "content-encoding")) {
            size_t n = vlen < sizeof h->content_encoding - 1 ? vlen
                                                             : sizeof h->content_encoding - 1;
            memcpy(h->content_encoding, v, n);
            h->content_encoding[n] = '\0';
        }
    }
    if (i != len)
        return refuse(err, 400, "bytes after the head's empty line");
    if (codings) {
        if (lengths)
            return refuse(err, 400, "both Transfer-Encoding and Content-Length: the body's "
                          "length is ambiguous (RFC 9112 6.3); send one of them");
        if (h->minor == 0)
            return refuse(err, 400, "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 6.1)");
        char shown[80];
        quote(te, te_len, shown, sizeof shown);
        if (codings > 1 || te_len != 7 || strncasecmp(te, "chunked", 7) != 0)
            return refuse(err, 501, "the only Transfer-Encoding taken is one 'chunked', "
                          "found '%s'%s", shown, codings > 1 ? " and more" : "");
        h->chunked = 1;
    }
    if (h->minor >= 1 && hosts == 0)
        return refuse(err, 400, "an HTTP/1.1 request needs a Host header (RFC 9112 3.2)");
    return 0;
}

enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER,
       CH_TRAILER_LF, CH_LAST_LF, CH_DONE };

void dg_chunked_init(dg_chunked *c)
{
    memset(c, 0, sizeof *c);
}

int dg_chunked_done(const dg_chunked *c)
{
    return c->state == CH_DONE;
}

long dg_chunked_decode(dg_chunked *c, const char *in, size_t n, char *out, size_t *out_len,
                       size_t max_trailer, dg_err *err)
{
    size_t i = 0, o = 0;
    while (i < n && c->state != CH_DONE) {
        unsigned char b = (unsigned char)in[i];
        switch (c->state) {
        case CH_SIZE: {
            int d = hex_value(b);
            if (d >= 0) {
                if (++c->digits > 15)
                    return dg_fail(err, "a chunk size of more than 15 hex digits");
                c->size = c->size * 16 + (uint64_t)d;
                i++;
                break;
            }
            if (c->digits == 0)
                return dg_fail(err, "expected a chunk size (hex digits), found byte 0x%02X", b);
            if (b == '\r') {
                c->state = CH_SIZE_LF;
            } else if (b == ';' || b == ' ' || b == '\t') {
                c->state = CH_EXT;
                c->ext = 0;
            } else {
                return dg_fail(err, "expected CRLF or ';' after a chunk size, found byte 0x%02X",
                               b);
            }
            i++;
            break;
        }
        case CH_EXT:
            if (b == '\r') {
                c->state = CH_SIZE_LF;
            } else if (b == '\n' || (b < 0x20 && b != '\t') || b == 0x7f) {
                return dg_fail(err, "a chunk extension holds byte 0x%02X", b);
            } else if (++c->ext > DG_HTTP_MAX_CHUNK_EXT) {
                return dg_fail(err, "a chunk extension longer than %d bytes",
                               DG_HTTP_MAX_CHUNK_EXT);
            }
            i++;
            break;
        case CH_SIZE_LF:
            if (b != '\n')
                return dg_fail(err, "expected LF after CR in a chunk-size line");
            i++;
            c->digits = 0;
            if (c->size == 0) {
                c->state = CH_TRAILER;
                c->line = 0;
            } else {
                c->state = CH_DATA;
            }
            break;
        case CH_DATA: {
            size_t take = n - i;
            if ((uint64_t)take > c->size)
                take = (size_t)c->size;
            memmove(out + o, in + i, take);
            o += take;
            i += take;
            c->size -= take;
            if (c->size == 0)
                c->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (b != '\r')
                return dg_fail(err, "expected CRLF after a chunk's data, found byte 0x%02X", b);
            c->state = CH_DATA_LF;
            i++;
            break;
        case CH_DATA_LF:
            if (b != '\n')
                return dg_fail(err, "expected LF after CR after a chunk's data");
            c->state = CH_SIZE;
            c->size = 0;
            i++;
            break;
        case CH_TRAILER:
            /* Trailer fields are read and dropped: none is acted upon. */
            if (++c->trailer > max_trailer)
                return dg_fail(err, "trailer fields longer than %zu bytes", max_trailer);
            if (b == '\r') {
                c->state = c->line == 0 ? CH_LAST_LF : CH_TRAILER_LF;
            } else if (b == '\n' || (b < 0x20 && b != '\t') || b == 0x7f) {
                return dg_fail(err, "a trailer field holds byte 0x%02X", b);
            } else {
                c->line++;
            }
            i++;
            break;
        case CH_TRAILER_LF:
        case CH_LAST_LF:
            if (b != '\n')
                return dg_fail(err, "expected LF after CR in the trailer section");
            c->state = c->state == CH_LAST_LF ? CH_DONE : CH_TRAILER;
            c->line = 0;
            i++;
            break;
        }
    }
    *out_len = o;
    return (long)i;
}
