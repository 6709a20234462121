#include "demographer/source_http.h"

#include <curl/curl.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *dg_fetch_outcome_name(dg_fetch_outcome o)
{
    switch (o) {
    case DG_FETCH_RESUMED: return "resumed";
    case DG_FETCH_NOT_MODIFIED: return "not modified";
    default: return "downloaded";
    }
}

char *dg_http_default_cache_dir(void)
{
    return dg_user_path("XDG_CACHE_HOME", ".cache", "demographer/s3");
}

/* Copies src into dst, cut to fit (header values and messages). */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- the sidecar files ---------------------------------------------------- */

/* What is known of a cached file or a partial download. */
typedef struct meta {
    char url[2048];
    char etag[256];
    char last_modified[128];
    uint64_t size; /* the object's full size, 0 when unknown */
} meta;

static int meta_read(const char *path, meta *m)
{
    memset(m, 0, sizeof *m);
    FILE *f = fopen(path, "re");
    if (!f)
        return DG_ERR;
    char line[2400];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(line, "url") == 0)
            copy_str(m->url, sizeof m->url, v);
        else if (strcmp(line, "etag") == 0)
            copy_str(m->etag, sizeof m->etag, v);
        else if (strcmp(line, "last_modified") == 0)
            copy_str(m->last_modified, sizeof m->last_modified, v);
        else if (strcmp(line, "size") == 0)
            m->size = strtoull(v, NULL, 10);
    }
    fclose(f);
    return DG_OK;
}

static int meta_write(const char *path, const meta *m, dg_err *err)
{
    char buf[3000];
    int n = snprintf(buf, sizeof buf, "url=%s\netag=%s\nlast_modified=%s\nsize=%" PRIu64 "\n",
                     m->url, m->etag, m->last_modified, m->size);
    return dg_write_file_atomic(path, buf, (size_t)n, err);
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
}

/* ---- one transfer ------------------------------------------------------------ */

typedef struct transfer {
    const char *part_path;
    const char *partmeta_path;
    const char *url;
    uint64_t offset;       /* bytes already in .part when a Range was asked */
    long status;           /* of the last response seen */
    int64_t content_length;
    uint64_t range_start, range_total;
    int has_range;
    char etag[256], last_modified[128];
    FILE *out;             /* open once a 200/206 body starts */
    int write_failed;
    uint64_t received;
    const dg_progress *progress;
    const char *stage;
    double *last_done, *last_total; /* what progress last said (kept across attempts) */
    double last_report;    /* when */
    int cancelled;
    char fail[512];        /* an error found in a callback */
} transfer;

static void trim_value(const char *v, size_t n, char *out, size_t cap)
{
    while (n && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    snprintf(out, cap, "%.*s", (int)n, v);
}

/* Headers arrive one line at a time; a new status line (a redirect's target)
 * starts over, and the blank line ending a final 200/206 opens the file. */
static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    transfer *t = ud;
    size_t n = size * nitems;
    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        const char *sp = memchr(buf, ' ', n);
        t->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        t->content_length = -1;
        t->has_range = 0;
        t->etag[0] = t->last_modified[0] = '\0';
        return n;
    }
    const char *colon = memchr(buf, ':', n);
    if (colon) {
        size_t klen = (size_t)(colon - buf);
        const char *v = colon + 1;
        size_t vlen = n - klen - 1;
        char val[256];
        trim_value(v, vlen, val, sizeof val);
        if (klen == 4 && strncasecmp(buf, "ETag", 4) == 0)
            copy_str(t->etag, sizeof t->etag, val);
        else if (klen == 13 && strncasecmp(buf, "Last-Modified", 13) == 0)
            copy_str(t->last_modified, sizeof t->last_modified, val);
        else if (klen == 14 && strncasecmp(buf, "Content-Length", 14) == 0)
            t->content_length = strtoll(val, NULL, 10);
        else if (klen == 13 && strncasecmp(buf, "Content-Range", 13) == 0) {
            unsigned long long a, b, total;
            if (sscanf(val, "bytes %llu-%llu/%llu", &a, &b, &total) == 3) {
                t->range_start = a;
                t->range_total = total;
                t->has_range = 1;
            }
        }
        return n;
    }
    if (n <= 2 && (t->status == 200 || t->status == 206)) { /* end of the final headers */
        if (t->status == 206 && (!t->has_range || t->range_start != t->offset)) {
            snprintf(t->fail, sizeof t->fail,
                     "the server answered the resume from byte %" PRIu64
                     " with a range that does not start there",
                     t->offset);
            return 0;
        }
        /* Note what this .part is a piece of before its first byte lands, so
         * that an interrupted download can be resumed against the same object. */
        if (t->status == 200) {
            meta pm = {0};
            copy_str(pm.url, sizeof pm.url, t->url);
            copy_str(pm.etag, sizeof pm.etag, t->etag);
            copy_str(pm.last_modified, sizeof pm.last_modified, t->last_modified);
            pm.size = t->content_length > 0 ? (uint64_t)t->content_length : 0;
            dg_err e;
            if (meta_write(t->partmeta_path, &pm, &e) != DG_OK) {
                copy_str(t->fail, sizeof t->fail, e.msg);
                return 0;
            }
            t->offset = 0;
        }
        t->out = fopen(t->part_path, t->status == 200 ? "we" : "ae");
        if (!t->out) {
            snprintf(t->fail, sizeof t->fail, "%s: %s", t->part_path, strerror(errno));
            return 0;
        }
    }
    return n;
}

static size_t on_body(char *buf, size_t size, size_t nmemb, void *ud)
{
    transfer *t = ud;
    size_t n = size * nmemb;
    if (!t->out)
        return n; /* an error page: not kept */
    if (fwrite(buf, 1, n, t->out) != n) {
        snprintf(t->fail, sizeof t->fail, "%s: %s", t->part_path, strerror(errno));
        return 0;
    }
    t->received += n;
    return n;
}

static int on_xfer(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
    transfer *t = ud;
    (void)ultotal;
    (void)ulnow;
    double base = t->status == 206 ? (double)t->offset : 0;
    double done = base + (double)dlnow, total = dltotal > 0 ? base + (double)dltotal : 0;
    /* libcurl calls often, also when nothing moved: pass on changes, and a
     * heartbeat twice a second so that a cancel is heard during a stall. */
    double now = dg_now();
    if (done == *t->last_done && total == *t->last_total && now - t->last_report < 0.5)
        return 0;
    *t->last_done = done;
    *t->last_total = total;
    t->last_report = now;
    if (dg_progress_report(t->progress, t->stage, done, total, "bytes")) {
        t->cancelled = 1;
        return 1;
    }
    return 0;
}

/* ---- the fetch ---------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The file name an URL is cached under: the last segment of its path. */
static int name_for(const char *url, char *out, size_t cap, dg_err *err)
{
    const char *p = strstr(url, "://");
    if (!p || (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
        return dg_fail(err, "%s: not an http:// or https:// URL", url);
    p += 3;
    const char *end = p + strcspn(p, "?#");
    const char *slash = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '/')
            slash = q;
    if (!slash || slash + 1 >= end)
        return dg_fail(err, "%s: the URL names no file (nothing after the last '/')", url);
    size_t n = (size_t)(end - slash - 1);
    if (n >= cap)
        return dg_fail(err, "%s: the file name is too long", url);
    for (size_t i = 0; i < n; i++) {
        char c = slash[1 + i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return dg_fail(err, "%s: the file name may hold only letters, digits, '.', '_' "
                                "and '-'", url);
    }
    memcpy(out, slash + 1, n);
    out[n] = '\0';
    if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
        return dg_fail(err, "%s: the URL names no file", url);
    return DG_OK;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static const char *status_text(long s)
{
    switch (s) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden (S3 answers 403 for an object that is private or absent)";
    case 404: return "Not Found (no object at this URL)";
    case 410: return "Gone";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
    }
}

int dg_http_fetch(const char *url, const dg_http_opts *opts, dg_http_result *res, dg_err *err)
{
    static const dg_http_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    double t0 = dg_now();
    memset(res, 0, sizeof *res);
    long connect_timeout = opts->connect_timeout > 0 ? opts->connect_timeout : 15;
    long low_limit = opts->low_speed_limit > 0 ? opts->low_speed_limit : 1024;
    long low_time = opts->low_speed_time > 0 ? opts->low_speed_time : 30;
    int retries = opts->retries < 0 ? 0 : opts->retries > 0 ? opts->retries : 4;
    long backoff = opts->backoff_ms > 0 ? opts->backoff_ms : 1000;

    char name[256];
    if (name_for(url, name, sizeof name, err) != DG_OK)
        return DG_ERR;
    char *dir = opts->cache_dir ? dg_xstrdup(opts->cache_dir) : dg_http_default_cache_dir();
    if (dg_mkdirs(dir, err) != DG_OK) {
        free(dir);
        return DG_ERR;
    }
    char final[4096], part[4200], metap[4200], partmeta[4300];
    snprintf(final, sizeof final, "%s/%s", dir, name);
    snprintf(part, sizeof part, "%s.part", final);
    snprintf(metap, sizeof metap, "%s.meta", final);
    snprintf(partmeta, sizeof partmeta, "%s.part.meta", final);
    free(dir);
    copy_str(res->path, sizeof res->path, final);

    pthread_once(&curl_once, init_curl);
    if (curl_init_rc != CURLE_OK)
        return dg_fail(err, "%s: libcurl did not initialise: %s", url,
                       curl_easy_strerror(curl_init_rc));
    CURL *h = curl_easy_init();
    if (!h)
        return dg_fail(err, "%s: libcurl could not make a handle", url);

    /* A cached copy is revalidated only when it is the one its sidecar
     * describes (same URL and size). */
    meta cached;
    int have_cached = meta_read(metap, &cached) == DG_OK && strcmp(cached.url, url) == 0 &&
                      (cached.etag[0] || cached.last_modified[0]) &&
                      file_size(final) == (int64_t)cached.size;
    int rc = DG_ERR;
    char last_error[700] = "";
    double last_done = -1, last_total = -1;
    for (int attempt = 0; attempt <= retries; attempt++) {
        if (attempt > 0) {
            /* Wait in slices, so that a cancel is heard during a long backoff. */
            long wait = backoff << (attempt - 1 < 10 ? attempt - 1 : 10);
            for (long waited = 0; waited < wait; waited += 100) {
                sleep_ms(wait - waited < 100 ? wait - waited : 100);
                if (dg_progress_report(opts->progress, name, last_done > 0 ? last_done : 0,
                                       last_total > 0 ? last_total : 0, "bytes")) {
                    dg_cancel(err, "%s: cancelled", url);
                    goto done;
                }
            }
        }
        res->attempts = attempt + 1;
        transfer t = {.part_path = part, .partmeta_path = partmeta, .url = url,
                      .content_length = -1, .progress = opts->progress, .stage = name,
                      .last_done = &last_done, .last_total = &last_total};
        struct curl_slist *hdrs = NULL;
        char hdr[600];
        /* Resume a partial download of the same object (If-Range: the server
         * sends the whole object instead when it changed). */
        meta pm;
        int64_t have = file_size(part);
        if (have > 0 && meta_read(partmeta, &pm) == DG_OK && strcmp(pm.url, url) == 0 &&
            (pm.etag[0] || pm.last_modified[0]) && (pm.size == 0 || (uint64_t)have < pm.size)) {
            t.offset = (uint64_t)have;
            snprintf(hdr, sizeof hdr, "Range: bytes=%" PRId64 "-", have);
            hdrs = curl_slist_append(hdrs, hdr);
            snprintf(hdr, sizeof hdr, "If-Range: %s", pm.etag[0] ? pm.etag : pm.last_modified);
            hdrs = curl_slist_append(hdrs, hdr);
        } else if (have_cached) {
            if (cached.etag[0]) {
                snprintf(hdr, sizeof hdr, "If-None-Match: %s", cached.etag);
                hdrs = curl_slist_append(hdrs, hdr);
            }
            if (cached.last_modified[0]) {
                snprintf(hdr, sizeof hdr, "If-Modified-Since: %s", cached.last_modified);
                hdrs = curl_slist_append(hdrs, hdr);
            }
        }
        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        /* A redirect may not downgrade an https download to plain http. */
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
                         strncasecmp(url, "https:", 6) == 0 ? "https" : "http,https");
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, connect_timeout);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, low_limit);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, low_time);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "demographer/" DG_VERSION);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_xfer);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        CURLcode cc = curl_easy_perform(h);
        curl_slist_free_all(hdrs);
        res->transferred += t.received;
        if (t.out) {
            int bad = fflush(t.out) != 0 || fsync(fileno(t.out)) != 0;
            bad |= fclose(t.out) != 0;
            if (bad && cc == CURLE_OK) {
                dg_fail(err, "%s: cannot write %s: %s", url, part, strerror(errno));
                goto done;
            }
        }
        if (t.cancelled) {
            dg_fail(err, "%s: cancelled (the partial download is kept for a resume)", url);
            goto done;
        }
        if (t.fail[0]) {
            dg_fail(err, "%s: %s", url, t.fail);
            goto done;
        }
        if (cc != CURLE_OK) {
            /* Network trouble is worth another try; TLS and URL errors are not. */
            int transient = cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_COULDNT_CONNECT ||
                            cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_PARTIAL_FILE ||
                            cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
                            cc == CURLE_GOT_NOTHING;
            if (cc == CURLE_OPERATION_TIMEDOUT)
                snprintf(last_error, sizeof last_error,
                         "timed out (no connection within %ld s, or under %ld bytes/s for %ld s)",
                         connect_timeout, low_limit, low_time);
            else if (cc == CURLE_PARTIAL_FILE)
                snprintf(last_error, sizeof last_error,
                         "truncated body: the connection closed after %" PRIu64
                         " of %" PRId64 " bytes (the partial download is kept for a resume)",
                         t.offset + t.received,
                         t.content_length >= 0 ? (int64_t)t.offset + t.content_length : -1);
            else
                copy_str(last_error, sizeof last_error, curl_easy_strerror(cc));
            if (transient)
                continue;
            dg_fail(err, "%s: %s", url, last_error);
            goto done;
        }
        if (t.status == 304 && have_cached) {
            res->outcome = DG_FETCH_NOT_MODIFIED;
            res->size = cached.size;
            copy_str(res->etag, sizeof res->etag, cached.etag);
            copy_str(res->last_modified, sizeof res->last_modified, cached.last_modified);
            rc = DG_OK;
            goto done;
        }
        if (t.status == 416) { /* the .part no longer fits the object: start afresh */
            unlink(part);
            unlink(partmeta);
            snprintf(last_error, sizeof last_error, "HTTP 416 on a resume");
            continue;
        }
        if (t.status >= 500) {
            snprintf(last_error, sizeof last_error, "HTTP %ld %s", t.status,
                     status_text(t.status));
            continue;
        }
        if (t.status != 200 && t.status != 206) {
            dg_fail(err, "%s: HTTP %ld %s", url, t.status, status_text(t.status));
            goto done;
        }
        /* The body is complete only at the announced size. */
        uint64_t expect = t.status == 206 ? t.range_total
                          : t.content_length >= 0 ? (uint64_t)t.content_length : 0;
        int64_t got = file_size(part);
        if (got < 0) {
            dg_fail(err, "%s: %s vanished during the download", url, part);
            goto done;
        }
        if (expect && (uint64_t)got != expect) {
            snprintf(last_error, sizeof last_error,
                     "truncated body: %" PRId64 " of %" PRIu64 " bytes arrived", got, expect);
            if ((uint64_t)got > expect) { /* cannot be resumed */
                unlink(part);
                unlink(partmeta);
            }
            continue;
        }
        meta fin = {0};
        copy_str(fin.url, sizeof fin.url, url);
        copy_str(fin.etag, sizeof fin.etag, t.etag);
        copy_str(fin.last_modified, sizeof fin.last_modified, t.last_modified);
        fin.size = (uint64_t)got;
        if (t.status == 206 && meta_read(partmeta, &pm) == DG_OK) {
            /* A 206 may omit the validators: keep the ones the download began with. */
            if (!fin.etag[0])
                copy_str(fin.etag, sizeof fin.etag, pm.etag);
            if (!fin.last_modified[0])
                copy_str(fin.last_modified, sizeof fin.last_modified, pm.last_modified);
        }
        /* The old sidecar goes first: a crash between the two renames then
         * leaves a file without a sidecar (downloaded again), never a sidecar
         * vouching for the wrong file. */
        unlink(metap);
        if (rename(part, final) != 0) {
            dg_fail(err, "%s: cannot rename %s to %s: %s", url, part, final, strerror(errno));
            goto done;
        }
        unlink(partmeta);
        if (meta_write(metap, &fin, err) != DG_OK)
            goto done;
        res->outcome = t.status == 206 ? DG_FETCH_RESUMED : DG_FETCH_DOWNLOADED;
        res->size = fin.size;
        copy_str(res->etag, sizeof res->etag, fin.etag);
        copy_str(res->last_modified, sizeof res->last_modified, fin.last_modified);
        rc = DG_OK;
        goto done;
    }
    dg_fail(err, "%s: %s (gave up after %d attempts)", url, last_error, res->attempts);
done:
    curl_easy_cleanup(h);
    res->seconds = dg_now() - t0;
    return rc;
}
