/* The prediction API's HTTP/1.1 server: a pool of threads, each running
 * epoll over its share of connections (the listening socket is in every
 * thread's set with EPOLLEXCLUSIVE: a new connection wakes one thread, which
 * keeps it), keep-alive and pipelining, and the limits that keep a hostile
 * client from holding the server (the request head's size, the body's, and
 * the request deadline and eviction below). Every answer is JSON except the
 * try-it page; every error is {"error": ..., "detail": ...}.
 *
 * Why not libmicrohttpd (0.9.75, Debian 12's): it answers some malformed
 * requests itself before the handler sees them (an invalid Content-Length,
 * a head over its memory, a chunk-size line over it) with its status line
 * and headers sent twice, the first block's Content-Length swallowing the
 * second; it cuts a header value at a NUL byte and joins an obs-fold line
 * onto the field name, so neither can be refused. Here the head is read by
 * dg_http_parse_head and a chunked body by dg_chunked_decode
 * (serve_request.c, fuzzed by tests/fuzz_serve.c), which refuse every
 * framing RFC 9112 does not allow, and the answer is always one.
 *
 * Slow clients. A connection that sends a byte every few seconds never goes
 * silent, and as many such clients as the connection limit would lock
 * everyone else out. So each connection is in a list of the connections
 * waiting for a request, oldest first; it leaves the list while its request
 * is being answered and joins it again, at the end, when the answer is sent.
 * Two rules act on that list:
 *   - the deadline: a request must arrive whole (request line, headers,
 *     body) within timeout_s of the moment the server began waiting for it
 *     (the connection's opening, or the previous answer on a keep-alive
 *     connection). The reaper thread shuts the socket of any connection past
 *     it down (shutdown(2): the connection's thread then reads the end of
 *     the stream and closes it; the descriptor is closed only by that
 *     thread, after it took the connection off the list under the list's
 *     lock, so a shutdown never reaches a reused descriptor);
 *   - eviction: a connection that takes the count past max_connections
 *     shuts down the one that has waited longest for its request (an idle
 *     keep-alive connection or a slow client), as nginx reuses idle
 *     keep-alive connections when it runs out. A new client is thus served
 *     at once even when every slot is held by a slow one.
 * A connection whose answer the client does not read (the socket's buffer
 * full) is closed after timeout_s without progress. The number of open
 * connections is capped at twice max_connections (within the open-file
 * limit) so that accepting goes on while evicted connections close. */
#define _GNU_SOURCE
#include "demographer/serve.h"
#include "demographer/textbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum { CONN_WAITING, CONN_BUSY, CONN_CLOSING };
enum { SHUT_NONE, SHUT_DEADLINE, SHUT_EVICTED };
/* A connection reads a head, then its body, writes the answer, and goes
 * back to the head; after an answer that ends it, it lingers: reads and
 * drops what the client still sends until the client closes or the
 * deadline, so that the close does not reset the connection (a reset can
 * destroy the answer before the client has read it). */
enum { PH_HEAD, PH_BODY, PH_WRITE, PH_LINGER };

typedef struct worker worker;

/* One request, from its first byte to its answer's last. */
typedef struct request {
    double t0;
    char method[16];
    char path[160];    /* printable ASCII only, for the access log */
    unsigned status;
    long long response_bytes; /* -1: no answer */
    int head_method;   /* HEAD: the answer has no body */
    int over;          /* logged: answered, or cut */
    dg_route route;
    int64_t device_id;
    int id_ok;
    char id_error[160];
    char path_error[160]; /* the raw path is refused (dg_serve_check_path): 400 */
} request;

typedef struct conn {
    struct conn *prev, *next;   /* in the waiting list while CONN_WAITING */
    struct conn *wprev, *wnext; /* in its worker's list, always */
    worker *w;
    int fd;
    int state;
    int shut;     /* why it was shut down, for the access log */
    double since; /* waiting for its next request since */
    /* What came in: the request being read, and what follows it. */
    char *in;
    size_t len, cap;
    size_t scanned;  /* bytes searched for the head's end */
    int phase;
    int in_flight;   /* counted in the server's in_flight */
    dg_http_head head;
    size_t head_len;
    dg_chunked chunks;
    size_t raw;      /* chunked: where the bytes not yet decoded start */
    size_t body_len; /* body bytes kept (after the head) */
    size_t body_total; /* body bytes received, kept or not */
    int discarding;  /* the body went over the limit: read on, then 413 */
    request r;
    /* What goes out: the head of the answer, then its body. */
    char *out;
    size_t out_len;
    const char *body;
    size_t body_out;
    int body_owned;
    size_t sent;     /* of out_len + body_out */
    double write_since;
    int close_after; /* the connection ends with this answer */
} conn;

struct worker {
    dg_server *s;
    pthread_t thread;
    int ep, wake;
    int listening;
    conn *conns;
};

struct dg_server {
    const dg_predictor *pred;
    dg_serve_opts o;
    unsigned port;
    int listen_fd;
    atomic_uint in_flight;
    atomic_uint open;         /* connections open, for the hard cap */
    atomic_int stopping_workers;
    unsigned hard_limit;
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
    unsigned nworkers;
    worker *workers;
};

void dg_serve_opts_init(dg_serve_opts *o)
{
    memset(o, 0, sizeof *o);
    o->access_log_fd = -1;
}

/* The path as the log shows it: no query string (it may carry anything),
 * bytes outside printable ASCII as %XX, cut to fit. */
static void log_path(char *out, size_t cap, const char *uri, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)uri;
         p < (const unsigned char *)uri + n && *p != '?'; p++) {
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

/* Shuts a waiting connection down; its thread closes it. Under lock. */
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

/* The request is in: off the waiting list. 0 when the connection was shut
 * down meanwhile (it is closing, and the request is not answered). */
static int conn_busy(dg_server *s, conn *k)
{
    pthread_mutex_lock(&s->lock);
    int ok = k->state != CONN_CLOSING;
    if (k->state == CONN_WAITING) {
        list_remove(s, k);
        k->state = CONN_BUSY;
        s->busy++;
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

/* The answer is sent: the connection waits for its next request from now. */
static void conn_done(dg_server *s, conn *k)
{
    pthread_mutex_lock(&s->lock);
    if (k->state == CONN_BUSY) {
        s->busy--;
        k->state = CONN_WAITING;
        k->since = dg_now();
        list_append(s, k);
    }
    pthread_mutex_unlock(&s->lock);
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

/* ---- the access log ---- */

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

/* The request of k is over: answered (end NULL), or cut (end says why). */
static void request_over(conn *k, const char *end)
{
    dg_server *s = k->w->s;
    k->r.over = 1;
    if (s->o.access_log_fd >= 0) {
        const request *r = &k->r;
        char when[32], bytes[24], line[400];
        time_t now = time(NULL);
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
        if (r->response_bytes >= 0)
            snprintf(bytes, sizeof bytes, "%lld", r->response_bytes);
        else
            snprintf(bytes, sizeof bytes, "-");
        int n = snprintf(line, sizeof line,
                         "%s method=%s path=%s status=%u bytes=%s us=%.0f%s%s\n", when,
                         r->method[0] ? r->method : "-", r->path[0] ? r->path : "-",
                         r->status, bytes, (dg_now() - r->t0) * 1e6, end ? " end=" : "",
                         end ? end : "");
        if (n > 0)
            log_line(s, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    if (k->in_flight) {
        k->in_flight = 0;
        atomic_fetch_sub(&s->in_flight, 1);
    }
}

/* ---- answers ---- */

static const char *reason(unsigned status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}

/* Queues the answer: its head built here, its body sent after it (owned:
 * freed once sent). */
static void send_body(conn *k, unsigned status, const char *type, const char *body,
                      size_t len, int owned, const char *allow)
{
    request *r = &k->r;
    if (!k->head.keep_alive)
        k->close_after = 1;
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n"
                     "%s%s%s%s\r\n",
                     status, reason(status), type, len, allow ? "Allow: " : "",
                     allow ? allow : "", allow ? "\r\n" : "",
                     k->close_after           ? "Connection: close\r\n"
                     : k->head.minor == 0 ? "Connection: keep-alive\r\n"
                                          : "");
    free(k->out);
    k->out = dg_xmalloc((size_t)n + 1);
    memcpy(k->out, head, (size_t)n + 1);
    k->out_len = (size_t)n;
    if (r->head_method) {
        if (owned)
            free((void *)body);
        body = NULL;
        owned = 0;
        k->body_out = 0;
    } else {
        k->body_out = len;
    }
    k->body = body;
    k->body_owned = owned;
    k->sent = 0;
    k->write_since = dg_now();
    r->status = status;
    r->response_bytes = (long long)len;
    k->phase = PH_WRITE;
}

static void send_json(conn *k, unsigned status, char *text, size_t len)
{
    send_body(k, status, "application/json", text, len, 1, NULL);
}

/* The n bytes at s with every byte that is not part of a UTF-8 sequence,
 * and every control byte, written \xHH, so that a message quoting hostile
 * input is still a printable JSON string. */
static void printable(const char *s, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), o = 0;
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

static void send_error(conn *k, unsigned status, const char *error, const char *detail,
                       const char *allow)
{
    char clean[1024];
    printable(detail, clean, sizeof clean);
    json_t *o = json_pack("{s:s, s:s}", "error", error, "detail", clean);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        text = dg_xstrdup("{\"error\":\"internal\",\"detail\":\"out of memory\"}");
    send_body(k, status, "application/json", text, strlen(text), 1, allow);
}

/* An answer that ends the connection: the request's framing cannot be
 * trusted, or its body is refused unread. */
static void refuse(conn *k, unsigned status, const char *error, const char *detail,
                   const char *allow)
{
    k->close_after = 1;
    send_error(k, status, error, detail, allow);
}

static void send_answer(conn *k, const dg_prediction *p, int has_device_id)
{
    const dg_predictor *pred = k->w->s->pred;
    dg_answer a;
    memset(&a, 0, sizeof a);
    a.p = *p;
    dg_err err;
    if (pred->campaigns && pred->campaigns(pred->ctx, p, &a, &err) != DG_OK) {
        send_error(k, 500, "campaigns failed", err.msg, NULL);
        return;
    }
    size_t len = 0;
    char *text = dg_answer_json(&a, has_device_id, pred->model_version, &len);
    if (!text) {
        send_error(k, 500, "prediction not representable",
                   "the prediction holds an infinity, or a campaign name or model "
                   "version that is not UTF-8", NULL);
        return;
    }
    send_json(k, 200, text, len);
}

static void get_device(conn *k, int64_t id)
{
    const dg_predictor *pred = k->w->s->pred;
    dg_prediction p;
    dg_err err;
    int found = pred->lookup ? pred->lookup(pred->ctx, id, &p, &err) : 1;
    if (found == DG_ERR) {
        send_error(k, 500, "lookup failed", err.msg, NULL);
        return;
    }
    if (found != 0) {
        char detail[96];
        snprintf(detail, sizeof detail, "no prediction for device %lld", (long long)id);
        send_error(k, 404, "unknown device", detail, NULL);
        return;
    }
    p.device_id = id;
    send_answer(k, &p, 1);
}

static void post_predict(conn *k, const char *body, size_t len)
{
    const dg_predictor *pred = k->w->s->pred;
    dg_device_input in;
    dg_err err;
    if (dg_device_input_parse(body, len, &in, &err) != DG_OK) {
        send_error(k, 400, "invalid device description", err.msg, NULL);
        return;
    }
    dg_prediction p;
    memset(&p, 0, sizeof p);
    int rc = pred->predict(pred->ctx, &in, &p, &err);
    p.device_id = in.device_id;
    int has_id = in.has_device_id;
    dg_device_input_free(&in);
    if (rc != DG_OK) {
        send_error(k, 500, "prediction failed", err.msg, NULL);
        return;
    }
    send_answer(k, &p, has_id);
}

static int is_json_type(const char *t)
{
    static const char want[] = "application/json";
    if (strncasecmp(t, want, sizeof want - 1) != 0)
        return 0;
    t += sizeof want - 1;
    while (*t == ' ' || *t == '\t')
        t++;
    return *t == '\0' || *t == ';';
}

/* A POST /v1/predict, from its head alone: whether to read the body. 0
 * with a refusal queued (the connection then closes: the body is not
 * read). */
static int start_predict(conn *k)
{
    const dg_server *s = k->w->s;
    const dg_http_head *h = &k->head;
    if (!s->pred->predict) {
        refuse(k, 503, "no model loaded",
               s->pred->predict_unavailable ? s->pred->predict_unavailable
                                            : "this server has no model directory loaded; "
                                              "it answers GET /v1/devices/{device_id} only",
               NULL);
        return 0;
    }
    if (!is_json_type(h->content_type)) {
        char detail[160], shown[96];
        printable(h->content_type, shown, sizeof shown);
        snprintf(detail, sizeof detail, "expected Content-Type application/json, found %.80s",
                 h->content_type[0] ? shown : "none");
        refuse(k, 415, "unsupported media type", detail, NULL);
        return 0;
    }
    /* A content coding (gzip, deflate, br...) is refused, not decoded: a
     * device description is at most max_body bytes of JSON, and decoding
     * would let a few compressed bytes expand past that limit. */
    if (h->content_encoding[0] && strcasecmp(h->content_encoding, "identity") != 0) {
        char detail[160], shown[64];
        printable(h->content_encoding, shown, sizeof shown);
        snprintf(detail, sizeof detail,
                 "the body must not be encoded (found Content-Encoding '%s'): send plain JSON",
                 shown);
        refuse(k, 415, "unsupported content encoding", detail, NULL);
        return 0;
    }
    if (!h->has_length && !h->chunked) {
        refuse(k, 411, "length required",
               "a POST body needs Content-Length (or chunked transfer encoding)", NULL);
        return 0;
    }
    return 1;
}

/* The request's head is in: route it, and refuse what can be refused before
 * its body is read. Returns 1 when the body is to be read. */
static int start_request(conn *k)
{
    dg_server *s = k->w->s;
    const dg_http_head *h = &k->head;
    request *r = &k->r;
    snprintf(r->method, sizeof r->method, "%s", h->method);
    r->head_method = strcmp(h->method, "HEAD") == 0;
    const char *target = k->in + h->target_off;
    log_path(r->path, sizeof r->path, target, h->target_len);
    /* The target as a string, and its path decoded (%XX) for the route. */
    char *raw = dg_xmalloc(h->target_len + 1);
    memcpy(raw, target, h->target_len);
    raw[h->target_len] = '\0';
    dg_err err;
    int path_ok = dg_serve_check_path(raw, &err) == DG_OK;
    if (!path_ok)
        snprintf(r->path_error, sizeof r->path_error, "%.159s", err.msg);
    raw[strcspn(raw, "?#")] = '\0';
    dg_serve_decode_path(raw);
    if (path_ok) {
        r->route = dg_serve_route(raw, &r->device_id, &r->id_ok, &err);
        if (r->route == DG_ROUTE_DEVICE && !r->id_ok)
            snprintf(r->id_error, sizeof r->id_error, "%.159s", err.msg);
    }
    free(raw);
    const int has_body = h->chunked || (h->has_length && h->length > 0);
    if (h->has_length && h->length > s->o.max_body) {
        char detail[160];
        snprintf(detail, sizeof detail, "the body limit is %zu bytes, Content-Length is %llu",
                 s->o.max_body, (unsigned long long)h->length);
        refuse(k, 413, "body too large", detail, NULL);
        return 0;
    }
    if (!path_ok || r->route == DG_ROUTE_NOT_FOUND)
        return 1; /* 400 or 404 once the request is in */
    if (r->route == DG_ROUTE_PREDICT) {
        if (strcmp(h->method, "POST") != 0) {
            k->close_after = has_body;
            send_error(k, 405, "method not allowed", "/v1/predict takes POST", "POST");
            return 0;
        }
        return start_predict(k);
    }
    if (strcmp(h->method, "GET") != 0 && !r->head_method) {
        char detail[200];
        snprintf(detail, sizeof detail, "%s takes GET or HEAD",
                 r->route == DG_ROUTE_DEVICE ? "/v1/devices/{device_id}" : r->path);
        k->close_after = has_body;
        send_error(k, 405, "method not allowed", detail, "GET, HEAD");
        return 0;
    }
    /* A GET with a body: its bytes are read and dropped. */
    return 1;
}

/* The answer to a whole request. */
static void answer(conn *k, const char *body, size_t len)
{
    const dg_server *s = k->w->s;
    request *r = &k->r;
    if (k->discarding) {
        char detail[96];
        snprintf(detail, sizeof detail, "the body limit is %zu bytes", s->o.max_body);
        send_error(k, 413, "body too large", detail, NULL);
        return;
    }
    if (r->path_error[0]) {
        send_error(k, 400, "bad path", r->path_error, NULL);
        return;
    }
    switch (r->route) {
    case DG_ROUTE_NOT_FOUND:
        send_error(k, 404, "not found", "no such path; the API is described at /openapi.json",
                   NULL);
        return;
    case DG_ROUTE_PREDICT:
        post_predict(k, body, len);
        return;
    case DG_ROUTE_INDEX:
        send_body(k, 200, "text/html; charset=utf-8", dg_serve_index_html,
                  strlen(dg_serve_index_html), 0, NULL);
        return;
    case DG_ROUTE_OPENAPI:
        send_body(k, 200, "application/json", dg_serve_openapi_json,
                  strlen(dg_serve_openapi_json), 0, NULL);
        return;
    case DG_ROUTE_HEALTH: {
        size_t cap = s->health_len + 64;
        char *text = dg_xmalloc(cap);
        int n = snprintf(text, cap, "%s,\"access_log_dropped\":%lu}", s->health,
                         atomic_load(&s->log_dropped));
        send_json(k, 200, text, (size_t)n);
        return;
    }
    case DG_ROUTE_DEVICE:
        if (!r->id_ok)
            send_error(k, 400, "invalid device id", r->id_error, NULL);
        else
            get_device(k, r->device_id);
        return;
    }
}

/* ---- connections ---- */

static void watch(conn *k, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = k};
    epoll_ctl(k->w->ep, EPOLL_CTL_MOD, k->fd, &ev);
}

static void close_conn(conn *k, const char *end)
{
    dg_server *s = k->w->s;
    pthread_mutex_lock(&s->lock);
    if (k->state == CONN_WAITING)
        list_remove(s, k);
    else if (k->state == CONN_BUSY)
        s->busy--;
    k->state = CONN_CLOSING;
    pthread_mutex_unlock(&s->lock);
    /* A request under way is logged, with why it ended. */
    if (k->r.t0 != 0 && !k->r.over) {
        if (!end)
            end = k->shut == SHUT_DEADLINE ? "deadline"
                  : k->shut == SHUT_EVICTED ? "evicted"
                                            : "error";
        request_over(k, end);
    }
    epoll_ctl(k->w->ep, EPOLL_CTL_DEL, k->fd, NULL);
    close(k->fd);
    if (k->wprev)
        k->wprev->wnext = k->wnext;
    else
        k->w->conns = k->wnext;
    if (k->wnext)
        k->wnext->wprev = k->wprev;
    if (k->body_owned)
        free((void *)k->body);
    free(k->out);
    free(k->in);
    free(k);
    atomic_fetch_sub(&s->open, 1);
}

/* Sends what is queued. 1: all sent; 0: the socket is full (watch for
 * EPOLLOUT); -1: the connection is gone. */
static int flush(conn *k)
{
    while (k->sent < k->out_len + k->body_out) {
        struct iovec iov[2];
        int n = 0;
        if (k->sent < k->out_len)
            iov[n++] = (struct iovec){k->out + k->sent, k->out_len - k->sent};
        size_t boff = k->sent > k->out_len ? k->sent - k->out_len : 0;
        if (k->body_out > boff)
            iov[n++] = (struct iovec){(void *)(k->body + boff), k->body_out - boff};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(k->fd, &m, MSG_NOSIGNAL);
        if (w > 0) {
            k->sent += (size_t)w;
            k->write_since = dg_now();
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        } else {
            return -1;
        }
    }
    return 1;
}

/* Ready for the next request on k. */
static void next_request(conn *k)
{
    if (k->body_owned)
        free((void *)k->body);
    k->body = NULL;
    k->body_owned = 0;
    k->body_out = k->out_len = k->sent = 0;
    k->phase = PH_HEAD;
    k->scanned = 0;
    k->head_len = k->raw = k->body_len = k->body_total = 0;
    k->discarding = 0;
    memset(&k->r, 0, sizeof k->r);
    k->r.response_bytes = -1;
}

/* Drops the first n bytes of the input (a request done with). */
static void consume(conn *k, size_t n)
{
    memmove(k->in, k->in + n, k->len - n);
    k->len -= n;
}

/* Room for more input: at most the head limit while reading a head, at most
 * the head, the body limit and some slack (chunk framing) while reading a
 * body. 0 when the buffer is at that limit. */
static size_t room(conn *k)
{
    const dg_server *s = k->w->s;
    size_t limit = k->phase == PH_HEAD ? s->o.max_header
                                       : k->head_len + s->o.max_body + 65536;
    if (k->len >= limit)
        return 0;
    if (k->cap - k->len < 4096 && k->cap < limit) {
        size_t cap = k->cap * 2;
        if (cap > limit)
            cap = limit;
        k->in = dg_xrealloc(k->in, cap);
        k->cap = cap;
    }
    return k->cap - k->len;
}

/* Where the head ends (the byte after its empty line), or 0; *bare_lf set
 * when an LF without its CR came first (the head would never end: it is
 * refused at once rather than at the deadline). */
static size_t head_end(conn *k, int *bare_lf)
{
    size_t from = k->scanned > 3 ? k->scanned - 3 : 0;
    const char *e = k->len >= 4 ? memmem(k->in + from, k->len - from, "\r\n\r\n", 4) : NULL;
    size_t end = e ? (size_t)(e - k->in) + 4 : k->len;
    *bare_lf = 0;
    for (const char *lf = k->in + k->scanned; lf < k->in + end;) {
        lf = memchr(lf, '\n', (size_t)(k->in + end - lf));
        if (!lf)
            break;
        if (lf == k->in || lf[-1] != '\r') {
            *bare_lf = 1;
            return 0;
        }
        lf++;
    }
    k->scanned = k->len;
    return e ? end : 0;
}

/* The answer that ends the connection is sent: no more is sent, and what
 * comes in is dropped until the client closes; the deadline ends a client
 * that does not (the connection waits in the list like any other). */
static void linger(conn *k)
{
    shutdown(k->fd, SHUT_WR);
    k->phase = PH_LINGER;
    k->len = 0;
    watch(k, EPOLLIN);
}

/* Works through what has come in: heads, bodies, answers, as many
 * pipelined requests as are there, until one is waiting for more bytes or
 * for the socket to take its answer. 0: k was closed. */
static int advance(conn *k)
{
    dg_server *s = k->w->s;
    for (;;) {
        if (k->phase == PH_HEAD) {
            /* Empty lines before a request line are ignored (RFC 9112 2.2). */
            size_t blank = 0;
            while (blank + 1 < k->len && k->in[blank] == '\r' && k->in[blank + 1] == '\n')
                blank += 2;
            if (blank) {
                consume(k, blank);
                k->scanned = 0;
            }
            if (k->len == 0)
                return 1;
            if (k->r.t0 == 0)
                k->r.t0 = dg_now();
            int bare_lf;
            size_t end = head_end(k, &bare_lf);
            if (bare_lf) {
                refuse(k, 400, "bad request",
                       "a line of the head ends in LF without CR: lines end in CRLF "
                       "(RFC 9112 2.2)", NULL);
                k->len = 0;
            } else if (!end) {
                if (k->len < s->o.max_header)
                    return 1;
                /* Over the limit without its end: refused, never read on. */
                int line_done = memmem(k->in, k->len, "\r\n", 2) != NULL;
                char detail[160];
                snprintf(detail, sizeof detail, "the %s is over the limit of %zu bytes",
                         line_done ? "request head" : "request line", s->o.max_header);
                refuse(k, line_done ? 431 : 414,
                       line_done ? "request header fields too large" : "URI too long", detail,
                       NULL);
                k->len = 0;
            } else {
                k->head_len = end;
                dg_err err;
                int status = dg_http_parse_head(k->in, end, &k->head, &err);
                k->in_flight = 1;
                atomic_fetch_add(&s->in_flight, 1);
                if (status) {
                    k->head.keep_alive = 0;
                    /* The request line, when it was read, names the request in the log. */
                    snprintf(k->r.method, sizeof k->r.method, "%s", k->head.method);
                    if (k->head.target_len)
                        log_path(k->r.path, sizeof k->r.path, k->in + k->head.target_off,
                                 k->head.target_len);
                    refuse(k, (unsigned)status,
                           status == 505   ? "HTTP version not supported"
                           : status == 501 ? "not implemented"
                                           : "bad request",
                           err.msg, NULL);
                } else if (start_request(k)) {
                    k->phase = PH_BODY;
                    k->raw = end;
                    dg_chunked_init(&k->chunks);
                    if (k->head.expect_continue &&
                        (k->head.chunked ||
                         (k->head.has_length && k->len < end + k->head.length))) {
                        static const char go[] = "HTTP/1.1 100 Continue\r\n\r\n";
                        if (send(k->fd, go, sizeof go - 1, MSG_NOSIGNAL) < 0) {
                            /* the client is gone: the read will tell */
                        }
                    }
                }
            }
        }
        if (k->phase == PH_BODY) {
            const dg_http_head *h = &k->head;
            size_t next; /* where the next request starts */
            if (h->chunked) {
                size_t got = 0;
                dg_err err;
                long used = dg_chunked_decode(&k->chunks, k->in + k->raw, k->len - k->raw,
                                              k->in + k->head_len + k->body_len, &got,
                                              s->o.max_header, &err);
                if (used < 0) {
                    refuse(k, 400, "bad request", err.msg, NULL);
                    k->len = 0;
                    if (!conn_busy(s, k))
                        return close_conn(k, NULL), 0;
                    goto write;
                }
                k->body_total += got;
                if (k->r.route == DG_ROUTE_PREDICT && !k->discarding &&
                    k->body_total <= s->o.max_body)
                    k->body_len += got;
                else if (k->r.route == DG_ROUTE_PREDICT)
                    k->discarding = 1, k->body_len = 0;
                if (k->body_total > 4 * s->o.max_body + 65536)
                    return close_conn(k, "error"), 0; /* read on, but not for ever */
                /* What is left undecoded moves down to the end of the body kept. */
                size_t keep_to = k->head_len + k->body_len;
                k->raw += (size_t)used;
                memmove(k->in + keep_to, k->in + k->raw, k->len - k->raw);
                k->len = keep_to + (k->len - k->raw);
                k->raw = keep_to;
                if (!dg_chunked_done(&k->chunks))
                    return 1;
                next = k->raw;
            } else {
                uint64_t want = h->has_length ? h->length : 0;
                if (k->len - k->head_len < want)
                    return 1;
                k->body_len = (size_t)want;
                next = k->head_len + (size_t)want;
            }
            if (!conn_busy(s, k))
                return close_conn(k, NULL), 0;
            answer(k, k->in + k->head_len, k->body_len);
            consume(k, next);
        } else if (k->phase == PH_WRITE) {
            /* A refusal from the head: off the waiting list like an answer. */
            if (!conn_busy(s, k))
                return close_conn(k, NULL), 0;
        }
    write:
        if (k->phase != PH_WRITE)
            return 1;
        int sent = flush(k);
        if (sent < 0)
            return close_conn(k, "error"), 0;
        if (sent == 0) {
            watch(k, EPOLLOUT);
            return 1;
        }
        request_over(k, NULL);
        conn_done(s, k);
        if (k->close_after) {
            linger(k);
            return 1;
        }
        next_request(k);
    }
}

/* Reads what the socket has, as far as room() allows, working through it
 * as it comes. */
static void on_readable(conn *k)
{
    for (;;) {
        if (k->phase == PH_WRITE)
            return;
        if (k->phase == PH_LINGER) {
            char drop[4096];
            ssize_t n = recv(k->fd, drop, sizeof drop, 0);
            if (n > 0 || (n < 0 && errno == EINTR))
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            close_conn(k, NULL);
            return;
        }
        size_t free_bytes = room(k);
        if (free_bytes == 0) {
            /* A head over its limit is answered by advance(), and a body
             * always fits (room() covers the limits): no room here is a
             * bug, and the connection is dropped rather than spun on. */
            if (!advance(k))
                return;
            if (k->phase != PH_WRITE && k->phase != PH_LINGER && room(k) == 0) {
                close_conn(k, "error");
                return;
            }
            continue;
        }
        ssize_t n = recv(k->fd, k->in + k->len, free_bytes, 0);
        if (n > 0) {
            k->len += (size_t)n;
            if (!advance(k))
                return;
            /* A short read drained the socket: epoll (level-triggered) says
             * when more comes, which saves a recv that would find nothing. */
            if ((size_t)n < free_bytes)
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        close_conn(k, NULL); /* the end of the stream, or an error */
        return;
    }
}

static void on_writable(conn *k)
{
    int sent = flush(k);
    if (sent < 0) {
        close_conn(k, "error");
        return;
    }
    if (sent == 0)
        return;
    dg_server *s = k->w->s;
    request_over(k, NULL);
    conn_done(s, k);
    if (k->close_after) {
        linger(k);
        return;
    }
    next_request(k);
    watch(k, EPOLLIN);
    if (advance(k))
        on_readable(k);
}

static void accept_all(worker *w)
{
    dg_server *s = w->s;
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                struct timespec ts = {0, 10 * 1000 * 1000}; /* let connections close */
                nanosleep(&ts, NULL);
            } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                /* The listener was shut down (dg_server_stop): stop accepting. */
                epoll_ctl(w->ep, EPOLL_CTL_DEL, s->listen_fd, NULL);
                w->listening = 0;
            }
            return;
        }
        if (atomic_fetch_add(&s->open, 1) >= s->hard_limit) {
            atomic_fetch_sub(&s->open, 1);
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn *k = dg_xcalloc(1, sizeof *k);
        k->w = w;
        k->fd = fd;
        k->cap = 4096;
        k->in = dg_xmalloc(k->cap);
        k->since = dg_now();
        k->r.response_bytes = -1;
        k->wnext = w->conns;
        if (w->conns)
            w->conns->wprev = k;
        w->conns = k;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = k};
        epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev);
        pthread_mutex_lock(&s->lock);
        list_append(s, k);
        /* Past the limit, the oldest waiting connection makes room. When the
         * new one is the only one waiting (all the others are being
         * answered), it stays: the hard limit bounds that. */
        if (s->waiting + s->busy > s->max_connections && s->head != k)
            shut(s, s->head, SHUT_EVICTED);
        pthread_mutex_unlock(&s->lock);
    }
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    dg_server *s = w->s;
    struct epoll_event ev[64];
    double next_check = dg_now() + 0.5;
    while (!atomic_load(&s->stopping_workers)) {
        int n = epoll_wait(w->ep, ev, 64, 500);
        for (int i = 0; i < n; i++) {
            void *p = ev[i].data.ptr;
            if (p == (void *)&s->listen_fd) {
                accept_all(w);
            } else if (p == (void *)w) {
                uint64_t v;
                if (read(w->wake, &v, sizeof v) < 0) {
                    /* nothing to read: woken already */
                }
            } else {
                conn *k = p;
                if (k->phase == PH_WRITE)
                    on_writable(k);
                else
                    on_readable(k);
            }
        }
        /* An answer the client does not take is dropped after timeout_s. */
        double now = dg_now();
        if (now >= next_check) {
            next_check = now + 0.5;
            for (conn *k = w->conns, *nx; k; k = nx) {
                nx = k->wnext;
                if (k->phase == PH_WRITE && k->write_since + s->o.timeout_s <= now)
                    close_conn(k, "timeout");
            }
        }
    }
    while (w->conns)
        close_conn(w->conns, "shutdown");
    return NULL;
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

/* Stops the workers started so far and frees what dg_server_start made. */
static void teardown(dg_server *s, unsigned started)
{
    atomic_store(&s->stopping_workers, 1);
    for (unsigned i = 0; i < started; i++) {
        uint64_t one = 1;
        if (write(s->workers[i].wake, &one, sizeof one) < 0) {
            /* the worker wakes within 0.5 s anyway */
        }
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(s->workers[i].thread, NULL);
    for (unsigned i = 0; i < s->nworkers; i++) {
        if (s->workers[i].ep >= 0)
            close(s->workers[i].ep);
        if (s->workers[i].wake >= 0)
            close(s->workers[i].wake);
    }
    free(s->workers);
    close(s->listen_fd);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->log_lock);
    free(s->health);
    free(s);
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
    /* Descriptors: one per connection, at most twice max_connections open
     * (evicted connections close while new ones come), and a reserve for
     * the process (files, log, the epoll and event descriptors). */
    struct rlimit rl;
    unsigned long avail = 1000000;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        unsigned long reserve = 64 + 4ul * s->o.threads;
        avail = rl.rlim_cur > reserve + 32 ? (unsigned long)rl.rlim_cur - reserve : 32;
    }
    unsigned long hard = 2ul * s->o.max_connections;
    s->max_connections = s->o.max_connections;
    if (hard > avail) {
        hard = avail;
        if (s->max_connections > avail * 2 / 3)
            s->max_connections = (unsigned)(avail * 2 / 3);
    }
    if (hard < s->o.threads)
        hard = s->o.threads;
    s->hard_limit = (unsigned)hard;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->log_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &ca);
    pthread_condattr_destroy(&ca);
    s->nworkers = s->o.threads;
    s->workers = dg_xcalloc(s->nworkers, sizeof *s->workers);
    for (unsigned i = 0; i < s->nworkers; i++) {
        worker *w = &s->workers[i];
        w->s = s;
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        struct epoll_event le = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &s->listen_fd};
        struct epoll_event we = {.events = EPOLLIN, .data.ptr = w};
        if (w->ep < 0 || w->wake < 0 ||
            epoll_ctl(w->ep, EPOLL_CTL_ADD, s->listen_fd, &le) != 0 ||
            epoll_ctl(w->ep, EPOLL_CTL_ADD, w->wake, &we) != 0) {
            int e = errno;
            for (unsigned j = i + 1; j < s->nworkers; j++)
                s->workers[j].ep = s->workers[j].wake = -1;
            teardown(s, 0);
            return dg_fail(err, "cannot set up the server's event loop: %s", strerror(e));
        }
        w->listening = 1;
    }
    for (unsigned i = 0; i < s->nworkers; i++) {
        if (pthread_create(&s->workers[i].thread, NULL, worker_run, &s->workers[i]) != 0) {
            int e = errno;
            teardown(s, i);
            return dg_fail(err, "cannot start the server's threads: %s", strerror(e));
        }
    }
    if (pthread_create(&s->reaper, NULL, reaper, s) != 0) {
        int e = errno;
        teardown(s, s->nworkers);
        return dg_fail(err, "cannot start the request-deadline thread: %s", strerror(e));
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
    /* Stop accepting: a listening socket shut down refuses new connections
     * (the kernel answers them with a reset), and each worker's accept then
     * fails, which takes the socket out of its epoll set. The descriptor
     * stays open until the workers are gone, so its number is never reused
     * under them. Connections already open go on being served while they
     * drain. */
    shutdown(s->listen_fd, SHUT_RDWR);
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
    teardown(s, s->nworkers);
    return left;
}
