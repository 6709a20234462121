/* The ClickHouse source over HTTP (source_clickhouse.h). */
#include "demographer/source_clickhouse.h"

#include "demographer/csv.h"
#include "demographer/i64map.h"
#include "source_rows.h"

#include <curl/curl.h>

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- configuration ------------------------------------------------------ */

void dg_ch_config_init(dg_ch_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->url, sizeof c->url, "http://127.0.0.1:8123/");
    snprintf(c->database, sizeof c->database, "demographer");
    snprintf(c->cluster, sizeof c->cluster, "demographer");
    c->connect_timeout = 10;
}

void dg_ch_config_free(dg_ch_config *c)
{
    if (c->password) {
        explicit_bzero(c->password, strlen(c->password));
        free(c->password);
    }
    c->password = NULL;
}

void dg_ch_config_set_password(dg_ch_config *c, const char *password)
{
    dg_ch_config_free(c);
    c->password = password ? dg_xstrdup(password) : NULL;
}

int dg_ch_password_from_file(dg_ch_config *c, const char *path, dg_err *err)
{
    /* The same file rules as the MySQL source's, by the same code. */
    dg_mysql_config m;
    dg_mysql_config_init(&m);
    if (dg_mysql_password_from_file(&m, path, err) != DG_OK) {
        dg_mysql_config_free(&m);
        return DG_ERR;
    }
    dg_ch_config_free(c);
    c->password = m.password;
    m.password = NULL;
    dg_mysql_config_free(&m);
    return DG_OK;
}

int dg_ch_identifier_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

int dg_ch_config_check(const dg_ch_config *c, dg_err *err)
{
    if (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0)
        return dg_fail(err, "--url expects http://HOST:PORT/ or https://..., got '%s'", c->url);
    if (strchr(c->url, '?') || strchr(c->url, '@'))
        return dg_fail(err, "--url: no query string and no credentials in the URL, got '%s'",
                       c->url);
    if (!c->user[0])
        return dg_fail(err, "%s: no user (--user)", c->url);
    if (!dg_ch_identifier_ok(c->database))
        return dg_fail(err, "--database expects 1 to 64 of A-Z a-z 0-9 _, got '%s'",
                       c->database);
    if (!dg_ch_identifier_ok(c->cluster))
        return dg_fail(err, "--cluster expects 1 to 64 of A-Z a-z 0-9 _, got '%s'", c->cluster);
    return DG_OK;
}

/* ---- one HTTP request ------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

#define MAX_FIELDS 64

typedef struct request {
    const dg_ch_config *cfg;
    dg_ch_call *call;
    dg_mysql_row_fn fn;
    void *ctx;
    dg_err *err;
    long status;
    /* the body: rows parsed as whole lines arrive; an error body kept */
    char *buf;
    size_t len, cap;
    uint64_t rows;
    int failed;      /* fn or the parser stopped the read (err filled) */
    int cancelled;   /* the progress asked to stop */
    double last_report, t0;
    /* an INSERT's body */
    dg_ch_call *feed_call;
    size_t (*feed)(void *ctx, char *buf, size_t cap);
    void *feed_ctx;
} request;

static const char *where_of(const request *r)
{
    return r->call && r->call->url ? r->call->url : r->cfg->url;
}

/* A line that is ClickHouse's error text, not a row ("Code: 241, e.displayText() = ..."). */
static int is_error_line(const char *s, size_t n)
{
    return n > 6 && memcmp(s, "Code: ", 6) == 0 && isdigit((unsigned char)s[6]);
}

/* Unescapes a TabSeparated field in place; returns its new length. */
static size_t unescape(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 == n) {
            s[o++] = s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
        case 't': s[o++] = '\t'; break;
        case 'n': s[o++] = '\n'; break;
        case 'r': s[o++] = '\r'; break;
        case '0': s[o++] = '\0'; break;
        case 'b': s[o++] = '\b'; break;
        case 'f': s[o++] = '\f'; break;
        default: s[o++] = c; break; /* \\ \' and the rest */
        }
    }
    return o;
}

static int parse_line(request *r, char *line, size_t n)
{
    if (is_error_line(line, n)) {
        r->failed = 1;
        return dg_fail(r->err, "%s: %s: the server failed after %" PRIu64 " rows: %.*s",
                       where_of(r), r->call->what, r->rows, (int)(n < 400 ? n : 400), line);
    }
    char *row[MAX_FIELDS];
    unsigned long len[MAX_FIELDS];
    unsigned nf = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && line[i] != '\t')
            continue;
        if (nf == MAX_FIELDS) {
            r->failed = 1;
            return dg_fail(r->err, "%s: %s: row %" PRIu64 " has more than %d fields",
                           where_of(r), r->call->what, r->rows + 1, MAX_FIELDS);
        }
        char *f = line + start;
        size_t fl = i - start;
        if (fl == 2 && f[0] == '\\' && f[1] == 'N') {
            row[nf] = NULL;
            len[nf++] = 0;
        } else {
            fl = unescape(f, fl);
            f[fl] = '\0'; /* the tab or newline after it, or a byte freed by unescaping */
            row[nf] = f;
            len[nf++] = (unsigned long)fl;
        }
        start = i + 1;
    }
    for (unsigned i = nf; i < MAX_FIELDS; i++) { /* a short row reads as NULLs */
        row[i] = NULL;
        len[i] = 0;
    }
    r->rows++;
    if (r->fn && r->fn(r->ctx, row, len, nf, r->err) != 0) {
        r->failed = 1;
        return DG_ERR;
    }
    return DG_OK;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    request *r = ud;
    size_t n = size * nmemb;
    r->call->bytes += n;
    if (r->len + n + 1 > r->cap) {
        while (r->len + n + 1 > r->cap)
            r->cap = r->cap ? r->cap * 2 : 65536;
        r->buf = dg_xrealloc(r->buf, r->cap);
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    if (r->status != 200)
        return n; /* an error body: kept whole for the message */
    size_t start = 0;
    for (size_t i = 0; i < r->len; i++) {
        if (r->buf[i] != '\n')
            continue;
        if (parse_line(r, r->buf + start, i - start) != DG_OK)
            return 0; /* stops the transfer */
        start = i + 1;
    }
    memmove(r->buf, r->buf + start, r->len - start);
    r->len -= start;
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    request *r = ud;
    size_t n = size * nmemb;
    if (n > 9 && memcmp(data, "HTTP/", 5) == 0) {
        const char *sp = memchr(data, ' ', n);
        if (sp)
            r->status = strtol(sp + 1, NULL, 10);
    }
    return n;
}

static int on_xfer(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
    (void)dltotal, (void)ultotal, (void)ulnow;
    request *r = ud;
    double now = dg_now();
    if (!r->call->progress || now - r->last_report < 0.25)
        return 0;
    r->last_report = now;
    char stage[160];
    snprintf(stage, sizeof stage, "%s (the server is working)", r->call->what);
    if (dg_progress_report(r->call->progress, stage, dlnow > 0 ? (double)dlnow : now - r->t0, 0,
                           dlnow > 0 ? "bytes" : "s")) {
        r->cancelled = 1;
        return 1;
    }
    return 0;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    request *r = ud;
    size_t got = r->feed(r->feed_ctx, buf, size * nitems);
    if (got == (size_t)-1) {
        r->cancelled = 1;
        return CURL_READFUNC_ABORT;
    }
    return got;
}

static void url_escape_into(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

static void new_query_id(char out[40])
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static uint64_t state;
    pthread_mutex_lock(&lock);
    if (!state) {
        FILE *f = fopen("/dev/urandom", "rb");
        if (!f || fread(&state, sizeof state, 1, f) != 1)
            state = (uint64_t)(dg_now() * 1e9) ^ (uint64_t)getpid();
        if (f)
            fclose(f);
    }
    uint64_t a = dg_splitmix64(&state), b = dg_splitmix64(&state);
    pthread_mutex_unlock(&lock);
    snprintf(out, 40, "dg-%016" PRIx64 "%016" PRIx64, a, b);
}

/* An error body on one line: newlines and runs of blanks as one space,
 * ClickHouse's ", e.what() = ..." tails left out, repeated lines once (a
 * failed connection is logged once per try). */
static void error_text(const request *r, char *out, size_t cap)
{
    size_t o = 0;
    const char *b = r->buf ? r->buf : "";
    size_t n = r->len;
    char prev[512] = "";
    for (size_t i = 0; i < n && o + 1 < cap;) {
        size_t e = i;
        while (e < n && b[e] != '\n')
            e++;
        size_t m = e - i;
        for (size_t k = i; k + 12 <= e; k++)
            if (memcmp(b + k, ", e.what() =", 12) == 0) {
                m = k - i;
                break;
            }
        while (m > 0 && (b[i + m - 1] == ' ' || b[i + m - 1] == '\r'))
            m--;
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(m < 511 ? m : 511), b + i);
        if (m > 0 && strcmp(line, prev) != 0) {
            o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? " " : "", line);
            snprintf(prev, sizeof prev, "%s", line);
        }
        i = e + 1;
    }
    if (o >= cap)
        o = cap - 1;
    out[o] = '\0';
}

/* Appends to msg which shard of the cluster an address in it belongs to. */
static void name_shard(const dg_ch_config *c, char *msg, size_t cap);

static int perform(const dg_ch_config *c, dg_ch_call *call, const char *sql, int sql_in_url,
                   request *r, dg_err *err)
{
    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK)
        return dg_fail(err, "libcurl did not initialise: %s", curl_easy_strerror(curl_init_rc));
    new_query_id(call->query_id);
    call->bytes = 0;
    const char *base = call->url ? call->url : c->url;
    size_t qcap = sql_in_url ? strlen(sql) * 3 + 1 : 1;
    char *q = dg_xmalloc(qcap);
    q[0] = '\0';
    if (sql_in_url)
        url_escape_into(q, qcap, sql);
    size_t ucap = strlen(base) + qcap + 256 + (call->settings ? strlen(call->settings) : 0);
    char *url = dg_xmalloc(ucap);
    snprintf(url, ucap,
             "%s%s?%s%s%squery_id=%s&wait_end_of_query=1&insert_distributed_sync=1%s%s%s%s",
             base, base[strlen(base) - 1] == '/' ? "" : "/", call->no_database ? "" : "database=",
             call->no_database ? "" : c->database, call->no_database ? "" : "&", call->query_id,
             call->settings ? "&" : "", call->settings ? call->settings : "",
             sql_in_url ? "&query=" : "", q);
    free(q);
    CURL *h = curl_easy_init();
    if (!h) {
        free(url);
        return dg_fail(err, "%s: %s: libcurl could not start a request", base, call->what);
    }
    /* The credentials in headers, never in the URL (which servers log). */
    char user[200], key[300];
    snprintf(user, sizeof user, "X-ClickHouse-User: %s", c->user);
    snprintf(key, sizeof key, "X-ClickHouse-Key: %s", c->password ? c->password : "");
    struct curl_slist *hdrs = curl_slist_append(NULL, user);
    hdrs = curl_slist_append(hdrs, key);
    explicit_bzero(key, sizeof key);
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)c->connect_timeout);
    if (call->timeout_s > 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT, call->timeout_s);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "demographer/" DG_VERSION);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xfer);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, r);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    if (r->feed) {
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, r);
    } else {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, sql);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(sql));
    }
    r->cfg = c;
    r->call = call;
    r->err = err;
    r->t0 = r->last_report = dg_now();
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    free(url);
    int out = DG_OK;
    if (r->cancelled) {
        dg_err ignored;
        (void)dg_ch_kill(c, base, call->query_id, &ignored);
        out = dg_cancel(err, "%s: %s: cancelled (query %s killed)", base, call->what,
                        call->query_id);
    } else if (r->failed) {
        dg_err ignored;
        (void)dg_ch_kill(c, base, call->query_id, &ignored);
        out = DG_ERR; /* err filled by the parser or fn */
    } else if (rc != CURLE_OK) {
        out = dg_fail(err, "%s: %s: %s", base, call->what, curl_easy_strerror(rc));
    } else if (r->status != 200) {
        char text[600];
        error_text(r, text, sizeof text);
        dg_fail(err, "%s: %s: HTTP %ld: %s", base, call->what, r->status, text);
        if (!call->no_shard_naming)
            name_shard(c, err->msg, sizeof err->msg);
        out = DG_ERR;
    } else if (r->len > 0) {
        /* A last line without its newline: the error text ClickHouse appends
         * when a query fails after its first block, or a cut transfer. */
        if (is_error_line(r->buf, r->len)) {
            char text[600];
            error_text(r, text, sizeof text);
            dg_fail(err, "%s: %s: the server failed after %" PRIu64 " rows: %s", base,
                    call->what, r->rows, text);
            if (!call->no_shard_naming)
                name_shard(c, err->msg, sizeof err->msg);
        } else {
            dg_fail(err, "%s: %s: the result ends in the middle of a row (after %" PRIu64
                    " rows)", base, call->what, r->rows);
        }
        out = DG_ERR;
    }
    free(r->buf);
    r->buf = NULL;
    return out;
}

int dg_ch_query_rows(const dg_ch_config *c, dg_ch_call *call, const char *sql,
                     dg_mysql_row_fn fn, void *ctx, dg_err *err)
{
    request r;
    memset(&r, 0, sizeof r);
    r.fn = fn;
    r.ctx = ctx;
    size_t n = strlen(sql) + 32;
    char *full = dg_xmalloc(n);
    /* FORMAT only on a SELECT: other statements take none. */
    snprintf(full, n, "%s%s", sql, strncmp(sql, "SELECT", 6) == 0 ? " FORMAT TabSeparated" : "");
    int rc = perform(c, call, full, 0, &r, err);
    free(full);
    return rc;
}

int dg_ch_exec(const dg_ch_config *c, const char *url, const char *sql, const char *what,
               dg_err *err)
{
    dg_ch_call call = {.url = url, .what = what};
    return dg_ch_query_rows(c, &call, sql, NULL, NULL, err);
}

/* How long a cancel waits for a killed query to end. */
#define KILL_WAIT_S 3

static int on_count(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err);

int dg_ch_kill(const dg_ch_config *c, const char *url, const char *query_id, dg_err *err)
{
    /* The id is ours (dg- and hex digits): checked all the same, as it enters SQL. */
    if (strncmp(query_id, "dg-", 3) != 0 || !dg_ch_identifier_ok(query_id + 3))
        return dg_fail(err, "not a query id of demographer's: '%s'", query_id);
    /* ASYNC, then a bounded wait: KILL ... SYNC waits for the query to end,
     * and a coordinator's query waiting on a shard that hangs ends only at
     * the server's receive_timeout (300 s by default), which the cancel
     * would wait too. Each request has a limit of its own, for a coordinator
     * that hangs itself. */
    char sql[160];
    snprintf(sql, sizeof sql, "KILL QUERY WHERE query_id = '%s' ASYNC", query_id);
    dg_ch_call call = {.url = url, .what = "KILL QUERY", .timeout_s = 10};
    request r;
    memset(&r, 0, sizeof r);
    if (perform(c, &call, sql, 0, &r, err) != DG_OK)
        return DG_ERR;
    snprintf(sql, sizeof sql, "SELECT count() FROM system.processes WHERE query_id = '%s'",
             query_id);
    double t0 = dg_now();
    for (;;) {
        uint64_t n = UINT64_MAX;
        dg_ch_call look = {.url = url, .what = "the killed query", .timeout_s = 5};
        if (dg_ch_query_rows(c, &look, sql, on_count, &n, err) != DG_OK)
            return DG_ERR;
        if (n == 0)
            return DG_OK;
        if (dg_now() - t0 > KILL_WAIT_S)
            return dg_fail(err,
                           "%s: query %s is still running %d s after KILL QUERY (a shard that "
                           "does not answer holds it until the server's receive_timeout)",
                           url ? url : c->url, query_id, KILL_WAIT_S);
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

typedef struct sharding {
    int device[2]; /* events, app_events: sharded by cityHash64(device_id) */
} sharding;

static int on_sharding(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    (void)len, (void)err;
    sharding *sh = ctx;
    if (nf < 2 || !row[0] || !row[1])
        return 0;
    /* The engine's text without blanks and quotes, whichever way the
     * server's version writes it. */
    char e[512];
    size_t n = 0;
    for (const char *p = row[1]; *p && n + 1 < sizeof e; p++)
        if (*p != ' ' && *p != '`' && *p != '"' && *p != '\'')
            e[n++] = *p;
    e[n] = '\0';
    static const char tail[] = ",cityHash64(device_id))";
    int yes = strncmp(e, "Distributed(", 12) == 0 && n >= sizeof tail - 1 &&
              strcmp(e + n - (sizeof tail - 1), tail) == 0;
    if (strcmp(row[0], "events") == 0)
        sh->device[0] = yes;
    else if (strcmp(row[0], "app_events") == 0)
        sh->device[1] = yes;
    return 0;
}

int dg_ch_sharded_by_device(const dg_ch_config *c, int *yes, dg_err *err)
{
    *yes = 0;
    if (!dg_ch_identifier_ok(c->database))
        return dg_fail(err, "--database expects 1 to 64 of A-Z a-z 0-9 _, got '%s'",
                       c->database);
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT name, engine_full FROM system.tables WHERE database = '%s' AND name IN "
             "('events', 'app_events')",
             c->database);
    sharding sh = {{0, 0}};
    dg_ch_call call = {.what = "the catalogue"};
    if (dg_ch_query_rows(c, &call, sql, on_sharding, &sh, err) != DG_OK)
        return DG_ERR;
    *yes = sh.device[0] && sh.device[1];
    return DG_OK;
}

/* ---- naming a shard ------------------------------------------------------------ */

typedef struct shard_list {
    int n;
    int num[64];
    char addr[64][80]; /* host_address:port */
    char name[64][80]; /* host_name:port */
} shard_list;

static int on_shard(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    (void)len, (void)err;
    shard_list *l = ctx;
    if (nf != 4 || l->n >= 64 || !row[0] || !row[1] || !row[2] || !row[3])
        return 0;
    l->num[l->n] = atoi(row[0]);
    snprintf(l->addr[l->n], sizeof l->addr[0], "%s:%s", row[2], row[3]);
    snprintf(l->name[l->n], sizeof l->name[0], "%s:%s", row[1], row[3]);
    l->n++;
    return 0;
}

static int list_shards(const dg_ch_config *c, shard_list *l, dg_err *err)
{
    memset(l, 0, sizeof *l);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT shard_num, host_name, host_address, port FROM system.clusters "
             "WHERE cluster = '%s' ORDER BY shard_num",
             c->cluster);
    /* Its own failure is not explained by listing the shards again. */
    dg_ch_call call = {.what = "the cluster's shards", .no_shard_naming = 1, .no_database = 1};
    return dg_ch_query_rows(c, &call, sql, on_shard, l, err);
}

static void name_shard(const dg_ch_config *c, char *msg, size_t cap)
{
    if (!dg_ch_identifier_ok(c->cluster))
        return;
    shard_list l;
    dg_err ignored;
    if (list_shards(c, &l, &ignored) != DG_OK)
        return;
    for (int i = 0; i < l.n; i++) {
        if (!strstr(msg, l.addr[i]) && !strstr(msg, l.name[i]))
            continue;
        size_t o = strlen(msg);
        snprintf(msg + o, cap - o, " [shard %d of cluster %s (%s) does not answer]", l.num[i],
                 c->cluster, l.name[i]);
        return;
    }
}

/* ---- the catalogue and reading tables ------------------------------------------------ */

typedef struct name_set {
    char names[128][80];
    int n;
} name_set;

static int on_name(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    (void)err;
    name_set *s = ctx;
    if (nf >= 1 && row[0] && s->n < 128)
        snprintf(s->names[s->n++], sizeof s->names[0], "%.*s", (int)len[0], row[0]);
    return 0;
}

static int has_name(const name_set *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return 1;
    return 0;
}

/* db-import's local tables on a shard (names with "_local"; is_local_table
 * picks them out). */
static int list_local_tables(const dg_ch_config *c, const char *url, name_set *s, dg_err *err)
{
    memset(s, 0, sizeof *s);
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT name FROM system.tables WHERE database = '%s' AND "
             "position(name, '_local') > 0",
             c->database);
    dg_ch_call call = {.url = url, .what = "the catalogue"};
    return dg_ch_query_rows(c, &call, sql, on_name, s, err);
}

/* ---- which import a table is of ----------------------------------------------------
 * db-import writes a table's rows, on each shard, into NAME_local_GEN, GEN a
 * random name of that import, and the coordinator's Distributed table NAME
 * reads NAME_local_GEN (system.tables' engine_full says so). The new set is
 * staged as NAME__dg_new and put in place by one RENAME of the coordinator's
 * tables; the shards' tables are never renamed, so no moment has some shards
 * of one import and some of another. */

static const char *const stage_suffix[3] = {"", "__dg_new", "__dg_old"};

#define CAT_MAX (DG_T_COUNT * 3)

/* The coordinator's tables of the import names, staged ones included. */
typedef struct catalogue {
    int n;
    char name[CAT_MAX][80];  /* NAME, NAME__dg_new or NAME__dg_old */
    char reads[CAT_MAX][96]; /* the local table a Distributed table reads, or "" */
} catalogue;

/* The table a Distributed engine reads: its third argument
 * ("Distributed(cluster, db, events_local_x, key)", names bare or quoted as
 * the server's version writes them); "" for any other engine. */
static void distributed_reads(const char *engine, char *out, size_t cap)
{
    out[0] = '\0';
    if (strncmp(engine, "Distributed(", 12) != 0)
        return;
    const char *p = engine + 12;
    for (int k = 0; k < 2; k++) {
        p = strchr(p, ',');
        if (!p)
            return;
        p++;
    }
    while (*p == ' ' || *p == '\'' || *p == '`' || *p == '"')
        p++;
    size_t n = 0;
    while (isalnum((unsigned char)p[n]) || p[n] == '_')
        n++;
    snprintf(out, cap, "%.*s", (int)n, p);
}

/* The import that wrote `table`, one of demographer table name's local
 * tables: the GEN of NAME_local_GEN, "" for NAME_local (an import by an
 * earlier version, which renamed the shards' tables), NULL when table is
 * neither (a layout not db-import's). */
static const char *generation_of(const char *name, const char *table)
{
    size_t n = strlen(name);
    if (strncmp(table, name, n) != 0 || strncmp(table + n, "_local", 6) != 0)
        return NULL;
    if (table[n + 6] == '\0')
        return table + n + 6;
    if (table[n + 6] == '_')
        return table + n + 7;
    return NULL;
}

static int is_local_table(const char *table)
{
    for (int t = 0; t < DG_T_COUNT; t++)
        if (generation_of(dg_mysql_table_names((dg_table_id)t)[0], table))
            return 1;
    return 0;
}

static int on_catalogue(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    (void)err;
    catalogue *cat = ctx;
    if (nf < 2 || !row[0] || cat->n >= CAT_MAX)
        return 0;
    snprintf(cat->name[cat->n], sizeof cat->name[0], "%.*s", (int)len[0], row[0]);
    distributed_reads(row[1] ? row[1] : "", cat->reads[cat->n], sizeof cat->reads[0]);
    cat->n++;
    return 0;
}

static int read_catalogue(const dg_ch_config *c, catalogue *cat, dg_err *err)
{
    memset(cat, 0, sizeof *cat);
    char sql[2048];
    size_t o = (size_t)snprintf(sql, sizeof sql,
                                "SELECT name, engine_full FROM system.tables WHERE database = "
                                "'%s' AND name IN (",
                                c->database);
    for (int t = 0; t < DG_T_COUNT; t++)
        for (int s = 0; s < 3; s++)
            o += (size_t)snprintf(sql + o, sizeof sql - o, "%s'%s%s'", t || s ? ", " : "",
                                  dg_mysql_table_names((dg_table_id)t)[0], stage_suffix[s]);
    snprintf(sql + o, sizeof sql - o, ")");
    dg_ch_call call = {.what = "the catalogue"};
    return dg_ch_query_rows(c, &call, sql, on_catalogue, cat, err);
}

/* What table `name` of the catalogue reads ("" when it is not Distributed),
 * or NULL when there is no such table. */
static const char *cat_reads(const catalogue *cat, const char *name)
{
    for (int i = 0; i < cat->n; i++)
        if (strcmp(cat->name[i], name) == 0)
            return cat->reads[i];
    return NULL;
}

static int cat_reads_table(const catalogue *cat, const char *table)
{
    for (int i = 0; i < cat->n; i++)
        if (strcmp(cat->reads[i], table) == 0)
            return 1;
    return 0;
}

/* Tables read together must be of one import. db-import's swap is one RENAME
 * statement, which a killed client does not cut (the server finishes it),
 * but ClickHouse renames its tables one after the other (18.16 has no atomic
 * EXCHANGE): a server stopping in the middle leaves some tables of the new
 * import, some of the old, and perhaps one renamed out with its successor
 * not yet in. Both are refused here rather than read as one data set. */
static int check_one_import(const dg_ch_config *c, const catalogue *cat, dg_err *err)
{
    const char *live = NULL, *live_name = NULL, *live_reads = NULL;
    for (int t = 0; t < DG_T_COUNT; t++) {
        const char *name = dg_mysql_table_names((dg_table_id)t)[0];
        const char *reads = cat_reads(cat, name);
        const char *gen = reads ? generation_of(name, reads) : NULL;
        if (!gen)
            continue;
        if (!live) {
            live = gen;
            live_name = name;
            live_reads = reads;
        } else if (strcmp(gen, live) != 0) {
            return dg_fail(err,
                           "%s %s: '%s' reads %s but '%s' reads %s: the tables are of two "
                           "imports (a db-import stopped during its final RENAME); run "
                           "db-import again",
                           c->url, c->database, live_name, live_reads, name, reads);
        }
    }
    if (!live)
        return DG_OK;
    for (int t = 0; t < DG_T_COUNT; t++) {
        const char *name = dg_mysql_table_names((dg_table_id)t)[0];
        if (cat_reads(cat, name))
            continue;
        for (int s = 1; s < 3; s++) {
            char staged[96];
            snprintf(staged, sizeof staged, "%s%s", name, stage_suffix[s]);
            const char *reads = cat_reads(cat, staged);
            const char *gen = reads ? generation_of(name, reads) : NULL;
            if (gen && strcmp(gen, live) == 0)
                return dg_fail(err,
                               "%s %s: no table '%s', but '%s' of the same import as '%s' "
                               "is there: a db-import stopped during its final RENAME; run "
                               "db-import again",
                               c->url, c->database, name, staged, live_name);
        }
    }
    return DG_OK;
}

static int list_columns(const dg_ch_config *c, const char *table, name_set *s, dg_err *err)
{
    memset(s, 0, sizeof *s);
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT name FROM system.columns WHERE database = '%s' AND table = '%s'",
             c->database, table);
    dg_ch_call call = {.what = "the catalogue"};
    return dg_ch_query_rows(c, &call, sql, on_name, s, err);
}

typedef struct table_read {
    const dg_ch_config *cfg;
    const char *tname;
    dg_table *out;
    uint64_t n, cap;
    const dg_progress *progress;
} table_read;

static int on_table_row(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    table_read *t = ctx;
    dg_table *out = t->out;
    if (nf != (unsigned)out->ncols)
        return dg_fail(err, "%s %s.%s: row %" PRIu64 ": %u fields, expected %d", t->cfg->url,
                       t->cfg->database, t->tname, t->n + 1, nf, out->ncols);
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 65536;
        dg_table_resize(out, t->cap);
    }
    for (int c = 0; c < out->ncols; c++) {
        const dg_column *col = &out->cols[c];
        int code = 0;
        if (!row[c] && col->type != DG_COL_STR)
            return dg_fail(err, "%s %s.%s: row %" PRIu64 ", column '%s': expected %s, found NULL",
                           t->cfg->url, t->cfg->database, t->tname, t->n + 1, col->name,
                           dg_parse_expected(col->type, DG_PARSE_SYNTAX));
        if (dg_rows_store_value(out, c, t->n, row[c], len[c], &code) != 0)
            return dg_fail(err, "%s %s.%s: row %" PRIu64 ", column '%s': expected %s, found '%.*s'",
                           t->cfg->url, t->cfg->database, t->tname, t->n + 1, col->name,
                           dg_parse_expected(col->type, code), (int)(len[c] < 40 ? len[c] : 40),
                           row[c]);
    }
    t->n++;
    if (t->n % 65536 == 0 &&
        dg_progress_report(t->progress, t->tname, (double)t->n, 0, "rows"))
        return dg_cancel(err, "%s %s.%s: cancelled", t->cfg->url, t->cfg->database, t->tname);
    return 0;
}

static const int required[DG_T_COUNT] = {
    [DG_T_LABELS] = 1, [DG_T_PHONES] = 1, [DG_T_EVENTS] = 1, [DG_T_APP_EVENTS] = 1};

static int read_table(const dg_ch_config *c, dg_table_id id, const char *tname, int upgrad,
                      dg_table *out, const dg_progress *progress, uint64_t *bytes, dg_err *err)
{
    const dg_tablespec *spec = &dg_tables[id];
    char sql[600];
    size_t o = (size_t)snprintf(sql, sizeof sql, "SELECT ");
    for (int k = 0; k < spec->ncols; k++) {
        const dg_colspec *cs = &spec->cols[k];
        o += (size_t)snprintf(sql + o, sizeof sql - o, "%s`%s`", k ? ", " : "",
                              upgrad && cs->alt ? cs->alt : cs->name);
    }
    snprintf(sql + o, sizeof sql - o, " FROM `%s` ORDER BY `dg_row`", tname);
    dg_rows_reset_table(out);
    for (int k = 0; k < spec->ncols; k++)
        dg_table_add_column(out, spec->cols[k].name, spec->cols[k].type);
    table_read t = {.cfg = c, .tname = tname, .out = out, .progress = progress};
    dg_ch_call call = {.what = tname, .progress = progress};
    int rc = dg_ch_query_rows(c, &call, sql, on_table_row, &t, err);
    *bytes += call.bytes;
    if (rc != DG_OK) {
        dg_rows_reset_table(out);
        return DG_ERR;
    }
    dg_table_resize(out, t.n);
    out->nrows = t.n;
    return DG_OK;
}

static void clear_dataset(dg_dataset *ds)
{
    for (int t = 0; t < DG_T_COUNT; t++) {
        dg_rows_reset_table(&ds->tables[t]);
        ds->present[t] = 0;
        free(ds->sources[t].path);
        memset(&ds->sources[t], 0, sizeof ds->sources[t]);
        memset(&ds->reports[t], 0, sizeof ds->reports[t]);
    }
    memset(&ds->reconcile, 0, sizeof ds->reconcile);
}

int dg_ch_load(dg_dataset *ds, const dg_ch_config *c, const int skip[DG_T_COUNT],
               const dg_progress *progress, uint64_t *bytes, dg_err *err)
{
    uint64_t received = 0;
    if (dg_ch_config_check(c, err) != DG_OK)
        return DG_ERR;
    double t0 = dg_now();
    clear_dataset(ds);
    free(ds->dir);
    size_t n = strlen(c->url) + strlen(c->database) + 4;
    ds->dir = dg_xmalloc(n);
    snprintf(ds->dir, n, "%s %s", c->url, c->database);
    ds->shape = DG_SHAPE_KAGGLE;
    ds->from_snapshot = 0;
    catalogue cat;
    if (read_catalogue(c, &cat, err) != DG_OK || check_one_import(c, &cat, err) != DG_OK)
        goto fail;
    int upgrad = 0;
    for (int t = 0; t < DG_T_COUNT; t++) {
        if (skip && skip[t])
            continue;
        const char *tname = dg_mysql_table_names((dg_table_id)t)[0];
        if (!cat_reads(&cat, tname)) {
            if (!required[t])
                continue;
            dg_fail(err, "%s %s: no table '%s' (db-import --engine clickhouse writes it)",
                    c->url, c->database, tname);
            goto fail;
        }
        if (t == DG_T_LABELS || t == DG_T_SPLIT) {
            name_set cols;
            if (list_columns(c, tname, &cols, err) != DG_OK)
                goto fail;
            upgrad = has_name(&cols, "group_train");
            if (t == DG_T_LABELS && upgrad)
                ds->shape = DG_SHAPE_UPGRAD;
        }
        double t1 = dg_now();
        if (read_table(c, (dg_table_id)t, tname, upgrad, &ds->tables[t], progress, &received,
                       err) != DG_OK)
            goto fail;
        size_t pn = strlen(c->url) + strlen(c->database) + strlen(tname) + 4;
        ds->sources[t].path = dg_xmalloc(pn);
        snprintf(ds->sources[t].path, pn, "%s %s.%s", c->url, c->database, tname);
        ds->reports[t].rows = ds->tables[t].nrows;
        ds->reports[t].seconds = dg_now() - t1;
        ds->present[t] = 1;
    }
    dg_dataset_reconcile(ds);
    ds->seconds = dg_now() - t0;
    if (bytes)
        *bytes = received;
    return DG_OK;
fail:
    clear_dataset(ds);
    return DG_ERR;
}

/* ---- import ------------------------------------------------------------------- */

static const char *ch_type(const dg_column *col)
{
    switch (col->type) {
    case DG_COL_I64:
    case DG_COL_KEY: return "Int64";
    case DG_COL_I32: return "Int32";
    case DG_COL_I8: return "Int8";
    /* Float64 from the shortest decimal form of the float: ClickHouse's
     * parser may land one double ulp off the decimal, but never off the float
     * it came from (the decimal is within half a float ulp of it, a double
     * ulp is 2^29 times smaller), so a value read back and rounded to float is
     * the float sent, and equal floats are equal doubles on the server. */
    case DG_COL_F32: return "Nullable(Float64)";
    case DG_COL_TIME: return "DateTime";
    default: return "String";
    }
}

/* The columns of table id's ClickHouse form, "(`dg_row` UInt64, ...)". */
static void columns_sql(const dg_dataset *ds, dg_table_id id, char *out, size_t cap)
{
    const dg_table *t = &ds->tables[id];
    size_t o = (size_t)snprintf(out, cap, "(`dg_row` UInt64");
    for (int c = 0; c < t->ncols; c++) {
        const dg_colspec *cs = &dg_tables[id].cols[c];
        const char *name = ds->shape == DG_SHAPE_UPGRAD && cs->alt ? cs->alt : cs->name;
        o += (size_t)snprintf(out + o, cap - o, ", `%s` %s", name, ch_type(&t->cols[c]));
    }
    if (id == DG_T_APP_EVENTS)
        o += (size_t)snprintf(out + o, cap - o,
                              ", `device_id` Int64, `timestamp` DateTime, `dg_has_event` UInt8");
    snprintf(out + o, cap - o, ")");
}

/* The shards' sort key. The events and app events are kept in device order:
 * the features' GROUP BYs (per device; per device and place; per device and
 * app) then meet each group's rows one after another, so the hash table's
 * entry for a group stays in cache instead of being looked up at random for
 * every row (the rows in file order are in time order, every device's
 * scattered). dg_row last keeps the order whole and unique; the raw reads ask
 * ORDER BY dg_row anyway. The coordinates are Nullable, which 18.16 refuses
 * in a sort key. */
static const char *sort_key(dg_table_id id)
{
    switch (id) {
    case DG_T_EVENTS: return "(`device_id`, `dg_row`)";
    case DG_T_APP_EVENTS: return "(`device_id`, `app_id`, `dg_row`)";
    default: return "`dg_row`";
    }
}

static const char *shard_key(dg_table_id id)
{
    switch (id) {
    case DG_T_LABELS:
    case DG_T_TEST:
    case DG_T_PHONES:
    case DG_T_EVENTS:
    case DG_T_APP_EVENTS:
    case DG_T_SPLIT: return "cityHash64(`device_id`)";
    default: return "`dg_row`";
    }
}

/* The rows of one table as TabSeparated, dg_row first (app events: with
 * their event's device and time). */
typedef struct feed {
    const dg_table *t;
    dg_table_id id;
    uint64_t row;
    dg_tsv_row line;
    const dg_i64map *events;     /* event_id -> its index */
    const uint32_t *event_row;   /* index -> its first row in events */
    const dg_table *ev;
    const dg_progress *progress;
    const char *stage;
} feed;

static void format_feed_row(feed *f)
{
    dg_tsv_row tail;
    memset(&tail, 0, sizeof tail);
    dg_tsv_format_row(&tail, f->t, f->row);
    f->line.len = f->line.off = 0;
    char num[64];
    int n = snprintf(num, sizeof num, "%" PRIu64 "\t", f->row + 1);
    dg_tsv_put(&f->line, num, (size_t)n);
    dg_tsv_put(&f->line, tail.buf, tail.len - 1); /* without its newline */
    free(tail.buf);
    if (f->id == DG_T_APP_EVENTS) {
        int32_t eid = dg_col_i32(&f->t->cols[0])[f->row];
        uint32_t e = f->events ? dg_i64map_get(f->events, eid) : UINT32_MAX;
        int64_t dev = 0, ts = 0;
        if (e != UINT32_MAX) {
            e = f->event_row[e];
            dev = dg_col_id(&f->ev->cols[1], e);
            ts = dg_col_i64(&f->ev->cols[2])[e];
        }
        char when[24];
        dg_format_time(ts, when);
        n = snprintf(num, sizeof num, "\t%" PRId64 "\t%s\t%d", dev, when, e != UINT32_MAX);
        dg_tsv_put(&f->line, num, (size_t)n);
    }
    dg_tsv_put(&f->line, "\n", 1);
    f->row++;
}

static size_t feed_read(void *ctx, char *buf, size_t cap)
{
    feed *f = ctx;
    size_t o = 0;
    while (o < cap) {
        if (f->line.off == f->line.len) {
            if (f->row == f->t->nrows)
                break;
            if (f->row % 65536 == 0 &&
                dg_progress_report(f->progress, f->stage, (double)f->row, (double)f->t->nrows,
                                   "rows"))
                return (size_t)-1;
            format_feed_row(f);
        }
        size_t take = f->line.len - f->line.off;
        if (take > cap - o)
            take = cap - o;
        memcpy(buf + o, f->line.buf + f->line.off, take);
        f->line.off += take;
        o += take;
    }
    return o;
}

static int on_count(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    (void)len, (void)err;
    if (nf >= 1 && row[0])
        *(uint64_t *)ctx = strtoull(row[0], NULL, 10);
    return 0;
}

static int count_rows(const dg_ch_config *c, const char *url, const char *sql, uint64_t *n,
                      dg_err *err)
{
    dg_ch_call call = {.url = url, .what = "counting rows"};
    *n = UINT64_MAX;
    return dg_ch_query_rows(c, &call, sql, on_count, n, err);
}

/* Runs sql on every shard. */
static int on_shards(const dg_ch_config *c, const char *const *urls, int n, const char *sql,
                     const char *what, dg_err *err)
{
    for (int k = 0; k < n; k++)
        if (dg_ch_exec(c, urls[k], sql, what, err) != DG_OK)
            return DG_ERR;
    return DG_OK;
}

/* Table id of ds into NAME_local_GEN on every shard, through a Distributed
 * NAME__dg_new over them on the coordinator, and counted there. */
static int import_table(const dg_ch_config *c, const char *const *urls, int nshards,
                        const char *gen, const dg_dataset *ds, dg_table_id id,
                        const dg_i64map *events, const uint32_t *event_row,
                        const dg_progress *progress, dg_err *err)
{
    const char *name = dg_mysql_table_names(id)[0];
    const char *db = c->database;
    char cols[1024], sql[2048], what[128];
    columns_sql(ds, id, cols, sizeof cols);
    snprintf(what, sizeof what, "importing %s", name);
    snprintf(sql, sizeof sql,
             "CREATE TABLE `%s`.`%s_local_%s` %s ENGINE = MergeTree ORDER BY %s", db, name, gen,
             cols, sort_key(id));
    if (on_shards(c, urls, nshards, sql, what, err) != DG_OK)
        return DG_ERR;
    snprintf(sql, sizeof sql,
             "CREATE TABLE `%s`.`%s__dg_new` %s ENGINE = Distributed(%s, %s, %s_local_%s, %s)", db,
             name, cols, c->cluster, db, name, gen, shard_key(id));
    if (dg_ch_exec(c, NULL, sql, what, err) != DG_OK)
        return DG_ERR;
    /* Through the Distributed table, synchronously (insert_distributed_sync=1
     * on every request): each row reaches its shard before the answer. */
    snprintf(sql, sizeof sql, "INSERT INTO `%s`.`%s__dg_new` FORMAT TabSeparated", db, name);
    feed f = {.t = &ds->tables[id], .id = id, .events = events, .event_row = event_row,
              .ev = &ds->tables[DG_T_EVENTS], .progress = progress, .stage = name};
    request r;
    memset(&r, 0, sizeof r);
    r.feed = feed_read;
    r.feed_ctx = &f;
    dg_ch_call call = {.what = what};
    int rc = perform(c, &call, sql, 1, &r, err);
    free(f.line.buf);
    if (rc != DG_OK)
        return DG_ERR;
    uint64_t got;
    snprintf(sql, sizeof sql, "SELECT count() FROM `%s`.`%s__dg_new`", db, name);
    if (count_rows(c, NULL, sql, &got, err) != DG_OK)
        return DG_ERR;
    if (got != ds->tables[id].nrows)
        return dg_fail(err, "%s %s.%s: %" PRIu64 " rows sent, %" PRIu64 " arrived", c->url, db,
                       name, ds->tables[id].nrows, got);
    dg_progress_report(progress, name, (double)ds->tables[id].nrows,
                       (double)ds->tables[id].nrows, "rows");
    return DG_OK;
}

/* What killed, failed or replaced imports left: the coordinator's staged
 * tables (NAME__dg_new, NAME__dg_old), then each shard's local tables that
 * no table of the coordinator reads. Never run after a RENAME that failed
 * part-way: its NAME__dg_old may be the only copy of a table. */
static int tidy(const dg_ch_config *c, const char *const *urls, int nshards, dg_err *err)
{
    const char *db = c->database;
    char sql[512];
    for (int t = 0; t < DG_T_COUNT; t++)
        for (int s = 1; s < 3; s++) {
            snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS `%s`.`%s%s`", db,
                     dg_mysql_table_names((dg_table_id)t)[0], stage_suffix[s]);
            if (dg_ch_exec(c, NULL, sql, "dropping a staged table", err) != DG_OK)
                return DG_ERR;
        }
    catalogue cat;
    if (read_catalogue(c, &cat, err) != DG_OK)
        return DG_ERR;
    for (int k = 0; k < nshards; k++) {
        name_set tables;
        if (list_local_tables(c, urls[k], &tables, err) != DG_OK)
            return DG_ERR;
        for (int i = 0; i < tables.n; i++) {
            if (!is_local_table(tables.names[i]) || cat_reads_table(&cat, tables.names[i]))
                continue;
            snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS `%s`.`%s`", db, tables.names[i]);
            if (dg_ch_exec(c, urls[k], sql, "dropping an earlier import's table", err) != DG_OK)
                return DG_ERR;
        }
    }
    return DG_OK;
}

/* The new set in place of the old, in one statement on the coordinator:
 * each NAME to NAME__dg_old (a table this data set lacks too), each
 * NAME__dg_new to NAME. The client cannot cut it; a server stopping inside
 * it leaves what check_one_import refuses. */
static int swap_in(const dg_ch_config *c, const dg_dataset *ds, dg_err *err)
{
    catalogue cat;
    if (read_catalogue(c, &cat, err) != DG_OK)
        return DG_ERR;
    const char *db = c->database;
    char sql[4096];
    size_t o = (size_t)snprintf(sql, sizeof sql, "RENAME TABLE");
    int pairs = 0;
    for (int t = 0; t < DG_T_COUNT; t++) {
        const char *name = dg_mysql_table_names((dg_table_id)t)[0];
        if (cat_reads(&cat, name))
            o += (size_t)snprintf(sql + o, sizeof sql - o, "%s `%s`.`%s` TO `%s`.`%s__dg_old`",
                                  pairs++ ? "," : "", db, name, db, name);
        if (ds->present[t])
            o += (size_t)snprintf(sql + o, sizeof sql - o, "%s `%s`.`%s__dg_new` TO `%s`.`%s`",
                                  pairs++ ? "," : "", db, name, db, name);
    }
    if (!pairs)
        return DG_OK;
    return dg_ch_exec(c, NULL, sql, "putting the imported tables in place", err);
}

int dg_ch_import(const dg_ch_config *c, const char *const *urls, int nshards,
                 const dg_dataset *ds, const dg_progress *progress, dg_ch_import_report *report,
                 dg_err *err)
{
    double t0 = dg_now();
    memset(report, 0, sizeof *report);
    if (dg_ch_config_check(c, err) != DG_OK)
        return DG_ERR;
    shard_list l;
    if (list_shards(c, &l, err) != DG_OK)
        return DG_ERR;
    if (l.n == 0)
        return dg_fail(err, "%s: the server has no cluster '%s' in its remote_servers", c->url,
                       c->cluster);
    if (l.n != nshards)
        return dg_fail(err,
                       "%s: cluster '%s' has %d shards but %d shard URLs were given "
                       "(--shard-url, one per shard in order)",
                       c->url, c->cluster, l.n, nshards);
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE IF NOT EXISTS `%s`", c->database);
    for (int k = -1; k < nshards; k++) {
        dg_ch_call call = {.url = k < 0 ? NULL : urls[k], .what = "creating the database",
                           .no_database = 1};
        if (dg_ch_query_rows(c, &call, sql, NULL, NULL, err) != DG_OK)
            return DG_ERR;
    }
    if (tidy(c, urls, nshards, err) != DG_OK)
        return DG_ERR;
    /* This import's name: 16 hex digits of a fresh query id. */
    char id[40], gen[17];
    new_query_id(id);
    memcpy(gen, id + 3, 16);
    gen[16] = '\0';
    /* Each app event's device and time, from the events (the first row of
     * an event id that occurs twice): event_row[index of the id]. */
    dg_i64map events;
    dg_i64map_init(&events);
    const dg_table *ev = &ds->tables[DG_T_EVENTS];
    int have_events = ds->present[DG_T_EVENTS];
    uint32_t *event_row = dg_xmalloc((ev->nrows + 1) * sizeof *event_row);
    if (have_events) {
        const int32_t *eid = dg_col_i32(&ev->cols[0]);
        uint32_t seen = 0;
        for (uint64_t i = 0; i < ev->nrows; i++)
            if (dg_i64map_put(&events, eid[i]) == seen)
                event_row[seen++] = (uint32_t)i;
    }
    int rc = DG_OK;
    for (int t = 0; t < DG_T_COUNT && rc == DG_OK; t++)
        if (ds->present[t])
            rc = import_table(c, urls, nshards, gen, ds, (dg_table_id)t,
                              have_events ? &events : NULL, event_row, progress, err);
    dg_i64map_free(&events);
    free(event_row);
    if (rc != DG_OK) {
        /* The half-written new tables go; the old ones were never touched. */
        dg_err ignored;
        (void)tidy(c, urls, nshards, &ignored);
        return DG_ERR;
    }
    /* A swap that failed is left as it is (the next import tidies): a RENAME
     * stopped part-way may hold the only copy of a table in NAME__dg_old. */
    if (swap_in(c, ds, err) != DG_OK)
        return DG_ERR;
    /* The replaced tables go; a failure here leaves them to the next import. */
    dg_err ignored;
    (void)tidy(c, urls, nshards, &ignored);
    for (int t = 0; t < DG_T_COUNT; t++) {
        if (!ds->present[t])
            continue;
        report->rows[t] = ds->tables[t].nrows;
        snprintf(report->table[t], sizeof report->table[t], "%s",
                 dg_mysql_table_names((dg_table_id)t)[0]);
    }
    report->shards = nshards;
    report->seconds = dg_now() - t0;
    return DG_OK;
}
