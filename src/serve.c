/* The prediction API's HTTP server on libmicrohttpd: a pool of threads each
 * running epoll over its share of connections, keep-alive, and the limits
 * that keep a hostile client from holding the server (per-connection memory
 * for the request line and headers, a body limit, and the request deadline
 * and eviction below). Every answer is JSON except the try-it page; every
 * error is {"error": ..., "detail": ...}.
 *
 * Slow clients. libmicrohttpd's connection timeout closes only a connection
 * that goes silent: one byte every few seconds keeps one open for ever, and
 * as many such clients as the connection limit lock everyone else out. So
 * each connection is tracked here (MHD_OPTION_NOTIFY_CONNECTION) in a list
 * of the connections waiting for a request, oldest first; a connection
 * leaves it while its request is being answered and joins it again, at the
 * end, when the answer is sent. Two rules act on that list:
 *   - the deadline: a request must arrive whole (request line, headers,
 *     body) within timeout_s of the moment the server began waiting for it
 *     (the connection's opening, or the previous answer on a keep-alive
 *     connection). A thread of ours shuts the socket of any connection past
 *     it down (shutdown(2): libmicrohttpd then sees the end of the stream
 *     and closes it itself; the descriptor stays libmicrohttpd's, and it is
 *     closed only after the CLOSED notification, which takes the list's
 *     lock, so a shutdown never reaches a reused descriptor);
 *   - eviction: a connection that takes the count past max_connections
 *     shuts down the one that has waited longest for its request (an idle
 *     keep-alive connection or a slow client), as nginx reuses idle
 *     keep-alive connections when it runs out. A new client is thus served
 *     at once even when every slot is held by a slow one, and a slot costs
 *     a slow client its place as soon as anyone else needs it.
 * libmicrohttpd's own limit is set above max_connections (twice it, within
 * the open-file limit) so that it keeps accepting while evicted
 * connections close. */
#define _GNU_SOURCE
#include "demographer/serve.h"
#include "demographer/textbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A connection, as the deadline and eviction see it. */
enum { CONN_WAITING, CONN_BUSY, CONN_CLOSING };
enum { SHUT_NONE, SHUT_DEADLINE, SHUT_EVICTED };
typedef struct conn {
    struct conn *prev, *next; /* in the waiting list while CONN_WAITING */
    int fd;
    int state;
    int shut;    /* why it was shut down, for the access log */
    double since; /* waiting for its next request since */
} conn;

struct dg_server {
    struct MHD_Daemon *daemon;
    const dg_predictor *pred;
    dg_serve_opts o;
    unsigned port;
    int listen_fd;
    atomic_uint in_flight;
    char *health;      /* the /health answer less its closing '}' (built once)... */
    size_t health_len; /* ...to which access_log_dropped is added on each request */
    pthread_mutex_t log_lock;     /* one writer of the access log at a time */
    atomic_ulong log_dropped;     /* access-log lines not written (a full disk...) */
    int log_torn;                 /* a line's start is in the log without its end */
    unsigned max_connections; /* in effect (o.max_connections within the open-file limit) */
    pthread_mutex_t lock;     /* the connection list and counts below */
    pthread_cond_t wake;      /* the reaper's */
    pthread_t reaper;
    int reaper_started, stopping;
    conn *head, *tail;        /* waiting for a request, oldest first */
    unsigned waiting, busy;
    unsigned long deadlines, evictions;
};

/* One request, from its request line (uri_log) to its end (completed). */
typedef struct request {
    dg_server *srv;
    double t0;
    char method[12];
    char path[160];    /* printable ASCII only, for the access log */
    int started;       /* the access handler has seen the headers */
    int discarding;    /* the body went over the limit: read on, then 413 */
    size_t body_bytes; /* received, counted even when discarding */
    char *body;
    size_t len, cap;
    long long response_bytes; /* -1: an answer libmicrohttpd made itself */
    dg_route route;
    int64_t device_id;
    int id_ok;
    char id_error[160];
    char path_error[160]; /* the raw path is refused (dg_serve_check_path): 400 */
    int close_after;      /* the answer ends the connection (Connection: close) */
} request;

void dg_serve_opts_init(dg_serve_opts *o)
{
    memset(o, 0, sizeof *o);
    o->access_log_fd = -1;
}

/* The path as the log shows it: no query string (it may carry anything),
 * bytes outside printable ASCII as %XX, cut to fit. */
static void log_path(char *out, size_t cap, const char *uri)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)uri; *p && *p != '?'; p++) {
        if (o + 4 >= cap) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (*p > ' ' && *p < 127 && *p != '%' && *p != '"' && *p != '\\') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

/* ---- the waiting list: deadline and eviction (see the top of the file) ---- */

static void list_remove(dg_server *s, conn *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else
        s->head = k->next;
    if (k->next)
        k->next->prev = k->prev;
    else
        s->tail = k->prev;
    k->prev = k->next = NULL;
    s->waiting--;
}

static void list_append(dg_server *s, conn *k)
{
    k->prev = s->tail;
    k->next = NULL;
    if (s->tail)
        s->tail->next = k;
    else
        s->head = k;
    s->tail = k;
    s->waiting++;
}

/* Shuts a waiting connection down; libmicrohttpd closes it. Under lock. */
static void shut(dg_server *s, conn *k, int why)
{
    list_remove(s, k);
    k->state = CONN_CLOSING;
    k->shut = why;
    shutdown(k->fd, SHUT_RDWR);
    if (why == SHUT_DEADLINE)
        s->deadlines++;
    else
        s->evictions++;
}

static conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    dg_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn *k = dg_xcalloc(1, sizeof *k);
        k->fd = ci ? ci->connect_fd : -1;
        k->since = dg_now();
        *socket_context = k;
        pthread_mutex_lock(&s->lock);
        list_append(s, k);
        /* Past the limit, the oldest waiting connection makes room. When the
         * new one is the only one waiting (all the others are being
         * answered), it stays: libmicrohttpd's own limit bounds that. */
        if (s->waiting + s->busy > s->max_connections && s->head != k)
            shut(s, s->head, SHUT_EVICTED);
        pthread_mutex_unlock(&s->lock);
        return;
    }
    conn *k = *socket_context; /* MHD_CONNECTION_NOTIFY_CLOSED */
    if (!k)
        return;
    *socket_context = NULL;
    pthread_mutex_lock(&s->lock);
    if (k->state == CONN_WAITING)
        list_remove(s, k);
    else if (k->state == CONN_BUSY)
        s->busy--;
    pthread_mutex_unlock(&s->lock);
    free(k);
}

/* The request is in (an answer is being queued): off the waiting list. */
static void conn_busy(dg_server *s, struct MHD_Connection *c)
{
    conn *k = conn_of(c);
    if (!k)
        return;
    pthread_mutex_lock(&s->lock);
    if (k->state == CONN_WAITING) {
        list_remove(s, k);
        k->state = CONN_BUSY;
        s->busy++;
    }
    pthread_mutex_unlock(&s->lock);
}

/* The answer is sent: the connection waits for its next request from now.
 * Returns why the connection was shut down, if it was. */
static int conn_done(dg_server *s, struct MHD_Connection *c)
{
    conn *k = conn_of(c);
    if (!k)
        return SHUT_NONE;
    pthread_mutex_lock(&s->lock);
    if (k->state == CONN_BUSY) {
        s->busy--;
        k->state = CONN_WAITING;
        k->since = dg_now();
        list_append(s, k);
    }
    int why = k->shut;
    pthread_mutex_unlock(&s->lock);
    return why;
}

static void *reaper(void *arg)
{
    dg_server *s = arg;
    const double limit = (double)s->o.timeout_s;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        double now = dg_now();
        while (s->head && s->head->since + limit <= now)
            shut(s, s->head, SHUT_DEADLINE);
        double next = s->head ? s->head->since + limit : now + limit;
        if (next > now + 1.0)
            next = now + 1.0;
        if (next < now + 0.01)
            next = now + 0.01;
        /* dg_now is CLOCK_MONOTONIC, which the condition variable uses. */
        struct timespec ts = {(time_t)next, (long)((next - (double)(time_t)next) * 1e9)};
        pthread_cond_timedwait(&s->wake, &s->lock, &ts);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)c;
    dg_server *srv = cls;
    request *r = dg_xcalloc(1, sizeof *r);
    r->srv = srv;
    r->t0 = dg_now();
    r->response_bytes = -1;
    snprintf(r->method, sizeof r->method, "-");
    log_path(r->path, sizeof r->path, uri);
    /* Only here is the path seen as it arrived: the access handler gets it
     * decoded, cut at an encoded NUL. */
    dg_err err;
    if (dg_serve_check_path(uri, &err) != DG_OK)
        snprintf(r->path_error, sizeof r->path_error, "%.159s", err.msg);
    atomic_fetch_add(&srv->in_flight, 1);
    return r;
}

/* Writes all of buf or nothing: 0, or -1 with errno. Of a short write
 * whose rest cannot be written, the part written is cut off again (a
 * regular file) so no torn line stays in the log; where it cannot be (a
 * pipe, a terminal), *torn says that the next line must start with a
 * newline to end the fragment. Under log_lock: one line at a time, so the
 * file offset after a write is the end of what this process wrote. */
static int write_whole(int fd, const char *buf, size_t len, int *torn)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        int e = n < 0 ? errno : ENOSPC;
        if (done > 0) {
            off_t end = lseek(fd, 0, SEEK_CUR);
            if (end < (off_t)done || ftruncate(fd, end - (off_t)done) != 0)
                *torn = 1;
        }
        errno = e;
        return -1;
    }
    return 0;
}

/* One access-log line, whole or not at all; a line that cannot be written
 * (a full disk, a file-size limit, a closed pipe) is counted in
 * log_dropped, which /health shows, and never stops the API. */
static void log_line(dg_server *s, const char *line, size_t len)
{
    pthread_mutex_lock(&s->log_lock);
    if (s->log_torn) {
        int still = 0;
        if (write_whole(s->o.access_log_fd, "\n", 1, &still) == 0)
            s->log_torn = 0;
    }
    if (s->log_torn || write_whole(s->o.access_log_fd, line, len, &s->log_torn) != 0)
        atomic_fetch_add(&s->log_dropped, 1);
    pthread_mutex_unlock(&s->log_lock);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    dg_server *srv = cls;
    int why = conn_done(srv, c);
    request *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    if (srv->o.access_log_fd >= 0) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
        unsigned status = ci ? ci->http_status : 0;
        char when[32], bytes[24], line[400];
        time_t now = time(NULL);
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        if (r->response_bytes >= 0)
            snprintf(bytes, sizeof bytes, "%lld", r->response_bytes);
        else
            snprintf(bytes, sizeof bytes, "-");
        int n = snprintf(line, sizeof line,
                         "%s method=%s path=%s status=%u bytes=%s us=%.0f%s\n", when, r->method,
                         r->path, status, bytes, (dg_now() - r->t0) * 1e6,
                         toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
                         : why == SHUT_DEADLINE ? " end=deadline"
                         : why == SHUT_EVICTED ? " end=evicted"
                         : toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " end=timeout"
                         : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? " end=shutdown"
                         : " end=error");
        if (n > 0)
            log_line(srv, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    atomic_fetch_sub(&srv->in_flight, 1);
    free(r->body);
    free(r);
}

static enum MHD_Result send_body(struct MHD_Connection *c, request *r, unsigned status,
                                 const char *type, const char *body, size_t len,
                                 enum MHD_ResponseMemoryMode mode, const char *allow)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, mode);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (r->close_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    r->response_bytes = (long long)len;
    conn_busy(r->srv, c);
    enum MHD_Result ok = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result send_json(struct MHD_Connection *c, request *r, unsigned status,
                                 char *text, size_t len)
{
    return send_body(c, r, status, "application/json", text, len, MHD_RESPMEM_MUST_FREE, NULL);
}

/* The n bytes at s with every byte that is not part of a UTF-8 sequence,
 * and every control byte, written \xHH, so that a message quoting hostile
 * input is still a printable JSON string. */
static void printable_n(const char *s, size_t n, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap;) {
        int k = p[i] < 0x20 || p[i] == 0x7f ? 0 : (int)dg_utf8_seq((const char *)p + i, n - i);
        if (k == 0) {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02X", p[i]);
            i++;
        } else if (o + (size_t)k < cap) {
            memcpy(out + o, p + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
        } else {
            break;
        }
    }
    out[o] = '\0';
}

static void printable(const char *s, char *out, size_t cap)
{
    printable_n(s, strlen(s), out, cap);
}

static enum MHD_Result send_error(struct MHD_Connection *c, request *r, unsigned status,
                                  const char *error, const char *detail, const char *allow)
{
    char clean[1024];
    printable(detail, clean, sizeof clean);
    json_t *o = json_pack("{s:s, s:s}", "error", error, "detail", clean);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        text = dg_xstrdup("{\"error\":\"internal\",\"detail\":\"out of memory\"}");
    return send_body(c, r, status, "application/json", text, strlen(text),
                     MHD_RESPMEM_MUST_FREE, allow);
}

static enum MHD_Result send_answer(struct MHD_Connection *c, request *r, const dg_prediction *p,
                                   int has_device_id)
{
    const dg_predictor *pred = r->srv->pred;
    dg_answer a;
    memset(&a, 0, sizeof a);
    a.p = *p;
    dg_err err;
    if (pred->campaigns && pred->campaigns(pred->ctx, p, &a, &err) != DG_OK)
        return send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "campaigns failed", err.msg,
                          NULL);
    size_t len = 0;
    char *text = dg_answer_json(&a, has_device_id, pred->model_version, &len);
    if (!text)
        return send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "prediction not representable",
                          "the prediction holds an infinity, or a campaign name or model "
                          "version that is not UTF-8", NULL);
    return send_json(c, r, MHD_HTTP_OK, text, len);
}

static enum MHD_Result get_device(struct MHD_Connection *c, request *r, int64_t id)
{
    const dg_predictor *pred = r->srv->pred;
    dg_prediction p;
    dg_err err;
    int found = pred->lookup ? pred->lookup(pred->ctx, id, &p, &err) : 1;
    if (found == DG_ERR)
        return send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "lookup failed", err.msg, NULL);
    if (found != 0) {
        char detail[96];
        snprintf(detail, sizeof detail, "no prediction for device %lld", (long long)id);
        return send_error(c, r, MHD_HTTP_NOT_FOUND, "unknown device", detail, NULL);
    }
    p.device_id = id;
    return send_answer(c, r, &p, 1);
}

static enum MHD_Result post_predict(struct MHD_Connection *c, request *r)
{
    const dg_predictor *pred = r->srv->pred;
    dg_device_input in;
    dg_err err;
    if (dg_device_input_parse(r->body ? r->body : "", r->len, &in, &err) != DG_OK)
        return send_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid device description", err.msg,
                          NULL);
    dg_prediction p;
    memset(&p, 0, sizeof p);
    int rc = pred->predict(pred->ctx, &in, &p, &err);
    p.device_id = in.device_id;
    int has_id = in.has_device_id;
    dg_device_input_free(&in);
    if (rc != DG_OK)
        return send_error(c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "prediction failed", err.msg,
                          NULL);
    return send_answer(c, r, &p, has_id);
}

static int is_json_type(const char *t)
{
    static const char want[] = "application/json";
    if (!t || strncasecmp(t, want, sizeof want - 1) != 0)
        return 0;
    t += sizeof want - 1;
    while (*t == ' ' || *t == '\t')
        t++;
    return *t == '\0' || *t == ';';
}

/* The first call for a POST /v1/predict: decide from the headers alone
 * whether to read the body. Returns MHD_YES with nothing queued to read on. */
static enum MHD_Result start_predict(struct MHD_Connection *c, request *r)
{
    const dg_serve_opts *o = &r->srv->o;
    if (!r->srv->pred->predict)
        return send_error(c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "no model loaded",
                          r->srv->pred->predict_unavailable
                              ? r->srv->pred->predict_unavailable
                              : "this server has no model directory loaded; it answers "
                                "GET /v1/devices/{device_id} only", NULL);
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!is_json_type(type)) {
        char detail[160];
        snprintf(detail, sizeof detail, "expected Content-Type application/json, found %.80s",
                 type ? type : "none");
        return send_error(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported media type",
                          detail, NULL);
    }
    /* A content coding (gzip, deflate, br...) is refused, not decoded: a
     * device description is at most max_body bytes of JSON, and decoding
     * would let a few compressed bytes expand past that limit. */
    const char *coding = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (coding && strcasecmp(coding, "identity") != 0) {
        char detail[160], shown[64];
        printable(coding, shown, sizeof shown);
        snprintf(detail, sizeof detail,
                 "the body must not be encoded (found Content-Encoding '%s'): send plain JSON",
                 shown);
        return send_error(c, r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported content encoding",
                          detail, NULL);
    }
    const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (!length && !(te && strcasestr(te, "chunked")))
        return send_error(c, r, MHD_HTTP_LENGTH_REQUIRED, "length required",
                          "a POST body needs Content-Length (or chunked transfer encoding)",
                          NULL);
    if (length) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(length, &end, 10);
        if (end == length || *end || *length == '-') {
            char detail[160];
            snprintf(detail, sizeof detail, "expected a Content-Length of digits, found %.60s",
                     length);
            return send_error(c, r, MHD_HTTP_BAD_REQUEST, "bad request", detail, NULL);
        }
        if (errno == ERANGE || n > o->max_body) {
            char detail[160];
            snprintf(detail, sizeof detail, "the body limit is %zu bytes, Content-Length is %.30s",
                     o->max_body, length);
            return send_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, "body too large", detail, NULL);
        }
        r->cap = (size_t)n + 1;
        r->body = dg_xmalloc(r->cap);
    }
    return MHD_YES;
}

static enum MHD_Result take_body(request *r, const char *data, size_t *size)
{
    const size_t max = r->srv->o.max_body;
    r->body_bytes += *size;
    if (r->route != DG_ROUTE_PREDICT) { /* a body nobody asked for */
        *size = 0;
        return r->body_bytes > max ? MHD_NO : MHD_YES;
    }
    if (r->body_bytes > max) {
        /* Over the limit (chunked): discard what comes, answer 413 at the
         * end, but do not read forever. */
        r->discarding = 1;
        free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
        *size = 0;
        return r->body_bytes > 4 * max + 65536 ? MHD_NO : MHD_YES;
    }
    if (r->len + *size + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + *size + 1)
            cap *= 2;
        r->body = dg_xrealloc(r->body, cap);
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, *size);
    r->len += *size;
    r->body[r->len] = '\0';
    *size = 0;
    return MHD_YES;
}

/* The answer to a whole request (every body byte received). */
static enum MHD_Result answer(struct MHD_Connection *c, request *r)
{
    const dg_server *srv = r->srv;
    conn_busy(r->srv, c); /* the request is in: no deadline or eviction while answered */
    if (r->discarding) {
        char detail[96];
        snprintf(detail, sizeof detail, "the body limit is %zu bytes", srv->o.max_body);
        return send_error(c, r, MHD_HTTP_CONTENT_TOO_LARGE, "body too large", detail, NULL);
    }
    if (r->path_error[0])
        return send_error(c, r, MHD_HTTP_BAD_REQUEST, "bad path", r->path_error, NULL);
    switch (r->route) {
    case DG_ROUTE_NOT_FOUND:
        return send_error(c, r, MHD_HTTP_NOT_FOUND, "not found",
                          "no such path; the API is described at /openapi.json", NULL);
    case DG_ROUTE_PREDICT:
        return post_predict(c, r);
    case DG_ROUTE_INDEX:
        return send_body(c, r, MHD_HTTP_OK, "text/html; charset=utf-8", dg_serve_index_html,
                         strlen(dg_serve_index_html), MHD_RESPMEM_PERSISTENT, NULL);
    case DG_ROUTE_OPENAPI:
        return send_body(c, r, MHD_HTTP_OK, "application/json", dg_serve_openapi_json,
                         strlen(dg_serve_openapi_json), MHD_RESPMEM_PERSISTENT, NULL);
    case DG_ROUTE_HEALTH: {
        size_t cap = srv->health_len + 64;
        char *text = dg_xmalloc(cap);
        int n = snprintf(text, cap, "%s,\"access_log_dropped\":%lu}", srv->health,
                         atomic_load(&srv->log_dropped));
        return send_json(c, r, MHD_HTTP_OK, text, (size_t)n);
    }
    case DG_ROUTE_DEVICE:
        if (!r->id_ok)
            return send_error(c, r, MHD_HTTP_BAD_REQUEST, "invalid device id", r->id_error,
                              NULL);
        return get_device(c, r, r->device_id);
    }
    return MHD_NO;
}

/* ---- the request head, as RFC 9112 frames a message ----
 * libmicrohttpd 0.9.75 reads a body as chunked whenever Transfer-Encoding is
 * there, whatever Content-Length says, takes the first of two
 * Content-Lengths, and does not look at Host. A request whose framing two
 * readers could read two ways (a proxy in front reading Content-Length, this
 * server reading chunked) is how a smuggled request gets in: such a request
 * is refused before its body is read, and the connection closed, so nothing
 * that follows on it is answered. */
typedef struct head_facts {
    unsigned content_length, transfer_encoding, host;
    const char *te;
    size_t te_len;
    const char *bad_name; /* a field name that is not a token */
    size_t bad_name_len;
} head_facts;

static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static enum MHD_Result note_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    head_facts *f = cls;
    if (!f->bad_name) {
        /* libmicrohttpd joins an obs-fold continuation line onto the field
         * NAME (process_broken_line), so a folded line shows here as a name
         * holding a space or other non-token byte. */
        int ok = key_size > 0;
        for (size_t i = 0; ok && i < key_size; i++)
            ok = is_tchar((unsigned char)key[i]);
        if (!ok) {
            f->bad_name = key;
            f->bad_name_len = key_size;
        }
    }
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        f->content_length++;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->transfer_encoding++;
        f->te = value;
        f->te_len = value_size;
    } else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0) {
        f->host++;
    }
    return MHD_YES;
}

/* Exactly "chunked", in any case, with optional white space around. */
static int is_chunked(const char *v, size_t n)
{
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return n == 7 && strncasecmp(v, "chunked", 7) == 0;
}

/* The head's framing and Host checked; an answer queued (and the connection
 * to be closed) when the request is refused. *refused tells which. */
static enum MHD_Result check_head(struct MHD_Connection *c, request *r, const char *version,
                                  int *refused)
{
    head_facts f;
    memset(&f, 0, sizeof f);
    MHD_get_connection_values_n(c, MHD_HEADER_KIND, note_header, &f);
    const int http11 = strcmp(version, MHD_HTTP_VERSION_1_1) == 0;
    char detail[200];
    unsigned status = MHD_HTTP_BAD_REQUEST;
    const char *error = "bad request";
    if (f.bad_name) {
        char name[64];
        printable_n(f.bad_name, f.bad_name_len, name, sizeof name);
        snprintf(detail, sizeof detail,
                 "a header field name is not a token (RFC 9110 5.1), or a header line was "
                 "folded onto the next (obs-fold, RFC 9112 5.2): '%s'", name);
    } else if (f.content_length > 1) {
        snprintf(detail, sizeof detail,
                 "%u Content-Length headers: a request has one (RFC 9112 6.3)",
                 f.content_length);
    } else if (f.transfer_encoding && f.content_length) {
        snprintf(detail, sizeof detail,
                 "both Transfer-Encoding and Content-Length: the body's length is ambiguous "
                 "(RFC 9112 6.3); send one of them");
    } else if (f.transfer_encoding && !http11) {
        snprintf(detail, sizeof detail,
                 "Transfer-Encoding in an %s request (RFC 9112 6.1)", version);
    } else if (f.transfer_encoding > 1 || (f.transfer_encoding && !is_chunked(f.te, f.te_len))) {
        char te[64];
        printable_n(f.te, f.te_len, te, sizeof te);
        status = MHD_HTTP_NOT_IMPLEMENTED;
        error = "transfer coding not implemented";
        snprintf(detail, sizeof detail,
                 "the only Transfer-Encoding taken is one 'chunked', found '%s'%s", te,
                 f.transfer_encoding > 1 ? " and more" : "");
    } else if (http11 && f.host == 0) {
        snprintf(detail, sizeof detail, "an HTTP/1.1 request needs a Host header (RFC 9112 3.2)");
    } else if (f.host > 1) {
        snprintf(detail, sizeof detail, "%u Host headers: a request has one (RFC 9112 3.2)",
                 f.host);
    } else {
        *refused = 0;
        return MHD_YES;
    }
    *refused = 1;
    r->close_after = 1;
    return send_error(c, r, status, error, detail, NULL);
}

/* libmicrohttpd calls this once when the headers are in, once per piece of
 * body, and once more at the end. Answers are queued at the end: one queued
 * before the whole request is read makes libmicrohttpd close the connection,
 * which is right only for a refused body (405, 411, 413, 415, 503 on
 * /v1/predict) and would cost every keep-alive client its connection. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)cls;
    request *r = *con_cls;
    if (!r) /* on_request_line always runs first; this is only a guard */
        return MHD_NO;
    if (r->started) {
        if (*upload_size)
            return take_body(r, upload_data, upload_size);
        return answer(c, r);
    }
    r->started = 1;
    snprintf(r->method, sizeof r->method, "%s", method);
    int refused;
    enum MHD_Result head = check_head(c, r, version, &refused);
    if (refused)
        return head;
    if (r->path_error[0])
        return MHD_YES; /* 400 once the request is in; r->path keeps the raw path */
    log_path(r->path, sizeof r->path, url);
    dg_err err;
    r->route = dg_serve_route(url, &r->device_id, &r->id_ok, &err);
    if (r->route == DG_ROUTE_DEVICE && !r->id_ok)
        snprintf(r->id_error, sizeof r->id_error, "%.159s", err.msg);
    if (r->route == DG_ROUTE_NOT_FOUND)
        return MHD_YES;
    if (r->route == DG_ROUTE_PREDICT) {
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
            return send_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
                              "/v1/predict takes POST", "POST");
        return start_predict(c, r);
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        char detail[200];
        snprintf(detail, sizeof detail, "%s takes GET or HEAD",
                 r->route == DG_ROUTE_DEVICE ? "/v1/devices/{device_id}" : r->path);
        return send_error(c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", detail,
                          "GET, HEAD");
    }
    /* A GET with a body: its bytes are read and dropped (take_body keeps
     * none for routes other than /v1/predict, and bounds them). */
    return MHD_YES;
}

static int open_listener(const char *bind_addr, unsigned port, int *fd_out, unsigned *port_out,
                         dg_err *err)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, bind_addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        sl = sizeof *v4;
    } else if (inet_pton(AF_INET6, bind_addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        sl = sizeof *v6;
    } else {
        return dg_fail(err, "bind address '%s' is not an IPv4 or IPv6 address", bind_addr);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return dg_fail(err, "cannot create a socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0) {
        int e = errno;
        close(fd);
        return dg_fail(err, "cannot listen on %s port %u: %s", bind_addr, port, strerror(e));
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        int e = errno;
        close(fd);
        return dg_fail(err, "cannot read the bound port: %s", strerror(e));
    }
    *port_out = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
    *fd_out = fd;
    return DG_OK;
}

int dg_server_start(dg_server **out, const dg_predictor *pred, const dg_serve_opts *opts,
                    dg_err *err)
{
    dg_server *s = dg_xcalloc(1, sizeof *s);
    s->pred = pred;
    s->o = *opts;
    if (!s->o.bind)
        s->o.bind = "127.0.0.1";
    if (!s->o.threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->o.threads = n > 0 ? (unsigned)n : 1;
    }
    if (!s->o.timeout_s)
        s->o.timeout_s = 10;
    if (!s->o.max_connections)
        s->o.max_connections = 1000;
    if (!s->o.max_body)
        s->o.max_body = 1u << 20;
    if (!s->o.max_header)
        s->o.max_header = 32u << 10;
    if (opts->port > 65535) {
        free(s);
        return dg_fail(err, "port %u is out of range (0 to 65535)", opts->port);
    }
    json_t *h = json_pack("{s:s, s:s, s:s, s:b}", "status", "ok", "version", DG_VERSION,
                          "model_version", pred->model_version ? pred->model_version : "",
                          "predict", pred->predict != NULL);
    s->health = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    if (!s->health) {
        free(s);
        return dg_fail(err, "the model version is not UTF-8 text");
    }
    s->health_len = strlen(s->health) - 1; /* without the closing '}' */
    s->health[s->health_len] = '\0';
    if (open_listener(s->o.bind, s->o.port, &s->listen_fd, &s->port, err) != DG_OK) {
        free(s->health);
        free(s);
        return DG_ERR;
    }
    /* Descriptors: one per connection, libmicrohttpd's own limit being
     * twice max_connections (evicted connections close while new ones come),
     * and a reserve for the process (files, log, epoll, the ITC pipes). */
    struct rlimit rl;
    unsigned long avail = 1000000;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        unsigned long reserve = 64 + 4ul * s->o.threads;
        avail = rl.rlim_cur > reserve + 32 ? (unsigned long)rl.rlim_cur - reserve : 32;
    }
    unsigned long mhd_limit = 2ul * s->o.max_connections;
    s->max_connections = s->o.max_connections;
    if (mhd_limit > avail) {
        mhd_limit = avail;
        if (s->max_connections > avail * 2 / 3)
            s->max_connections = (unsigned)(avail * 2 / 3);
    }
    if (mhd_limit < s->o.threads)
        mhd_limit = s->o.threads;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->log_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC, 0, NULL, NULL,
        on_request, s,
        MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)s->o.threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)s->o.timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)mhd_limit,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, s->o.max_header,
        MHD_OPTION_URI_LOG_CALLBACK, on_request_line, s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_END);
    if (!s->daemon) {
        close(s->listen_fd);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        pthread_mutex_destroy(&s->log_lock);
        free(s->health);
        free(s);
        return dg_fail(err, "libmicrohttpd could not start the server (threads %u, "
                       "connections %u)", opts->threads, opts->max_connections);
    }
    if (pthread_create(&s->reaper, NULL, reaper, s) != 0) {
        MHD_stop_daemon(s->daemon);
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        pthread_mutex_destroy(&s->log_lock);
        free(s->health);
        free(s);
        return dg_fail(err, "cannot start the request-deadline thread: %s", strerror(errno));
    }
    s->reaper_started = 1;
    *out = s;
    return DG_OK;
}

unsigned dg_server_max_connections(const dg_server *s)
{
    return s->max_connections;
}

void dg_server_counts(dg_server *s, unsigned *open, unsigned long *deadlines,
                      unsigned long *evictions)
{
    pthread_mutex_lock(&s->lock);
    if (open)
        *open = s->waiting + s->busy;
    if (deadlines)
        *deadlines = s->deadlines;
    if (evictions)
        *evictions = s->evictions;
    pthread_mutex_unlock(&s->lock);
}

unsigned long dg_server_log_dropped(dg_server *s)
{
    return atomic_load(&s->log_dropped);
}

unsigned dg_server_port(const dg_server *s)
{
    return s->port;
}

unsigned dg_server_stop(dg_server *s, double drain_s)
{
    /* Stop accepting: new connections are refused by the kernel from here;
     * connections already open go on being served while they drain. */
    MHD_socket lfd = MHD_quiesce_daemon(s->daemon);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    double deadline = dg_now() + drain_s;
    while (atomic_load(&s->in_flight) > 0 && dg_now() < deadline) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    unsigned left = atomic_load(&s->in_flight);
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    if (s->reaper_started)
        pthread_join(s->reaper, NULL);
    MHD_stop_daemon(s->daemon);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->log_lock);
    free(s->health);
    free(s);
    return left;
}
