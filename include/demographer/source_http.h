/* Downloads of public objects (the brief's two S3 files) over HTTP(S) into a
 * cache directory, with libcurl.
 *
 * A download goes to NAME.part and is renamed to NAME only when its size is
 * the one the server announced, so a truncated file is never taken for a
 * complete one. NAME.meta keeps the URL, ETag, Last-Modified and size of the
 * cached file: the next fetch revalidates it (If-None-Match /
 * If-Modified-Since) and a 304 costs no body. A .part left by an interrupted
 * download is resumed with a Range request, guarded by If-Range so that an
 * object that changed meanwhile is fetched whole. 5xx answers, timeouts and
 * broken connections are retried with exponential backoff; 403, 404 and the
 * like are not. TLS peers are always verified. */
#ifndef DEMOGRAPHER_SOURCE_HTTP_H
#define DEMOGRAPHER_SOURCE_HTTP_H

#include "demographer/common.h"

typedef struct dg_http_opts {
    const char *cache_dir;  /* NULL: dg_http_default_cache_dir() */
    long connect_timeout;   /* seconds; 0: 15 */
    long low_speed_limit;   /* bytes/s below which a transfer is stalled; 0: 1024 */
    long low_speed_time;    /* seconds of stall before giving up the attempt; 0: 30 */
    int retries;            /* further attempts after a transient failure; -1: none, 0: 4 */
    long backoff_ms;        /* first wait between attempts, doubled each time; 0: 1000 */
    const dg_progress *progress; /* bytes; the stage is the file name */
} dg_http_opts;

typedef enum dg_fetch_outcome {
    DG_FETCH_DOWNLOADED,   /* the whole object was downloaded */
    DG_FETCH_RESUMED,      /* a partial download was completed with a Range request */
    DG_FETCH_NOT_MODIFIED, /* the cached copy is current (304) */
} dg_fetch_outcome;

typedef struct dg_http_result {
    char path[4096];        /* the cached file */
    dg_fetch_outcome outcome;
    uint64_t size;          /* bytes of the file */
    uint64_t transferred;   /* body bytes received by this call */
    int attempts;
    double seconds;
    char etag[256];
    char last_modified[128];
} dg_http_result;

const char *dg_fetch_outcome_name(dg_fetch_outcome o);

/* $XDG_CACHE_HOME/demographer/s3 or ~/.cache/demographer/s3 (malloc'd). */
char *dg_http_default_cache_dir(void);

/* Fetches url into the cache directory under the last segment of its path
 * (app_labels_new.txt, label_categories.csv), so that the directory can be
 * loaded like any data directory. Errors name the URL and what happened. */
int dg_http_fetch(const char *url, const dg_http_opts *opts, dg_http_result *res, dg_err *err);

#endif
