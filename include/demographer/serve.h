/* The prediction HTTP API: an HTTP/1.1 server (thread pool, keep-alive,
 * pipelining, a strict reading of RFC 9112's framing, timeouts and limits
 * against hostile clients) answering JSON for
 *   GET  /health, /, /openapi.json
 *   GET  /v1/devices/{device_id}   a device the predictor knows
 *   POST /v1/predict               a device described in the body
 * It never names a model: it asks a dg_predictor, which the caller builds
 * from a model directory or from a predictions file (serve_table). */
#ifndef DEMOGRAPHER_SERVE_H
#define DEMOGRAPHER_SERVE_H

#include "demographer/model.h"

#include <stdint.h>

/* Limits of a device description (POST /v1/predict). The body limit of the
 * server (dg_serve_opts.max_body) bounds the whole; these bound its parts. */
#define DG_SERVE_MAX_EVENTS 1000
#define DG_SERVE_MAX_APPS 512        /* apps of one event */
#define DG_SERVE_MAX_TEXT 64         /* bytes of brand and model (UTF-8) */
#define DG_SERVE_MIN_TIME 946684800  /* 2000-01-01 00:00:00 */
#define DG_SERVE_MAX_TIME 4102444799 /* 2099-12-31 23:59:59 */

typedef struct dg_app_use {
    int64_t app_id;
    int installed;
    int active;
} dg_app_use;

typedef struct dg_event_input {
    int64_t timestamp; /* seconds since 1970, the data's local clock taken as UTC */
    int has_location;
    double lat, lon;   /* degrees, when has_location */
    size_t napps;
    dg_app_use *apps;
} dg_event_input;

typedef struct dg_device_input {
    int has_device_id; /* the body may name the device; the answer echoes it */
    int64_t device_id;
    char brand[DG_SERVE_MAX_TEXT + 1];
    char model[DG_SERVE_MAX_TEXT + 1];
    size_t nevents;
    dg_event_input *events;
} dg_device_input;

/* Parses and validates a POST /v1/predict body (JSON, UTF-8). Unknown or
 * duplicate keys, wrong types, values out of range and lists over the limits
 * fail with a message naming where ("events[3].apps[0].app_id: expected ...,
 * found ...", or "line L, column C: ..." for JSON that does not parse). On
 * success the caller frees in with dg_device_input_free. */
int dg_device_input_parse(const char *body, size_t len, dg_device_input *in, dg_err *err);
void dg_device_input_free(dg_device_input *in);

/* A signed 64-bit decimal device id, as in a URL path: an optional '-', then
 * 1 to 19 digits, nothing else, in range. */
int dg_parse_device_id(const char *s, int64_t *out, dg_err *err);

/* Checks a request target as it arrived (percent escapes not yet decoded):
 * its path, once decoded, must hold no NUL byte (a C string would end
 * there: /v1/devices/12%00junk would read as /v1/devices/12) and must be
 * UTF-8. The query string is not looked at. DG_ERR with the reason. */
int dg_serve_check_path(const char *uri, dg_err *err);
/* Decodes the %XX escapes (two hex digits; any other '%' stays) of a path
 * in place; the path the routes see. */
void dg_serve_decode_path(char *path);

/* A request head (request line, header fields, the empty line), as RFC 9112
 * frames it, read strictly: CRLF line ends only, no obs-fold, no control
 * byte in a value, a token for each name, one Host in HTTP/1.1, at most one
 * Content-Length (digits only), Transfer-Encoding only as one 'chunked' and
 * never beside Content-Length. Pointers and offsets refer to the bytes
 * parsed. */
typedef struct dg_http_head {
    char method[16];
    size_t target_off, target_len; /* the request target as sent */
    int minor;                     /* HTTP/1.minor: 0 or 1 */
    int has_length;
    uint64_t length;               /* Content-Length */
    int chunked;                   /* Transfer-Encoding: chunked */
    int keep_alive;                /* by the version and Connection */
    int expect_continue;           /* Expect: 100-continue */
    char content_type[128];        /* "" when absent; cut to fit */
    char content_encoding[64];     /* "" when absent; cut to fit */
} dg_http_head;

/* Parses the len bytes of a head, which end with its empty line. Returns 0,
 * or the HTTP status that refuses it (400, 501 for a method over 15 bytes or
 * a transfer coding other than chunked, 505 for a version other than 1.x)
 * with err saying why. */
int dg_http_parse_head(const char *buf, size_t len, dg_http_head *h, dg_err *err);

/* A chunked body (RFC 9112 7.1) decoded as it arrives. */
#define DG_HTTP_MAX_CHUNK_EXT 1024 /* bytes of one chunk's extensions */
typedef struct dg_chunked {
    int state, digits;
    uint64_t size;      /* data left in the chunk, or the size being read */
    size_t ext, trailer, line;
} dg_chunked;
void dg_chunked_init(dg_chunked *c);
/* Decodes the n bytes at in, writing their data bytes at out (out may be in,
 * or before it: data never outruns its encoding) and their count to
 * *out_len. Returns the bytes consumed: all n, or fewer once the body's end
 * is reached (dg_chunked_done; what follows is the next request), or -1 with
 * err for a malformed body (a chunk extension over DG_HTTP_MAX_CHUNK_EXT,
 * trailer fields over max_trailer bytes...). */
long dg_chunked_decode(dg_chunked *c, const char *in, size_t n, char *out, size_t *out_len,
                       size_t max_trailer, dg_err *err);
int dg_chunked_done(const dg_chunked *c);

typedef enum dg_route {
    DG_ROUTE_NOT_FOUND,
    DG_ROUTE_INDEX,   /* / */
    DG_ROUTE_HEALTH,  /* /health */
    DG_ROUTE_OPENAPI, /* /openapi.json */
    DG_ROUTE_DEVICE,  /* /v1/devices/{id} */
    DG_ROUTE_PREDICT, /* /v1/predict */
} dg_route;

/* The route of a request path (without query string). For DG_ROUTE_DEVICE,
 * *id_ok tells whether the id parsed into *device_id; when not, err says why. */
dg_route dg_serve_route(const char *path, int64_t *device_id, int *id_ok, dg_err *err);

/* What the API answers for one device: the models' prediction and the
 * campaigns it falls into. */
#define DG_SERVE_MAX_CAMPAIGNS 16
typedef struct dg_answer {
    dg_prediction p;
    int ncampaigns;
    char campaigns[DG_SERVE_MAX_CAMPAIGNS][160]; /* a campaign name (campaign.h allows 159 bytes) */
} dg_answer;

/* Where predictions come from. Callbacks run on the server's threads at the
 * same time: they must be safe to call concurrently. */
typedef struct dg_predictor {
    void *ctx;
    /* The prediction of a known device: 0 found (out->device_id set), 1
     * unknown, DG_ERR on failure. */
    int (*lookup)(void *ctx, int64_t device_id, dg_prediction *out, dg_err *err);
    /* The prediction for a described device; NULL when no model is loaded
     * (POST /v1/predict then answers 503). */
    int (*predict)(void *ctx, const dg_device_input *in, dg_prediction *out, dg_err *err);
    /* The campaigns of a prediction; NULL: none (no campaign rules loaded). */
    int (*campaigns)(void *ctx, const dg_prediction *p, dg_answer *out, dg_err *err);
    const char *model_version; /* shown in every answer and in /health */
    const char *predict_unavailable; /* why predict is NULL, for the 503's detail */
} dg_predictor;

/* The answer's JSON text (device_id as a string: JavaScript numbers lose
 * 64-bit precision), freed by the caller. device_id is null when
 * has_device_id is 0. */
char *dg_answer_json(const dg_answer *a, int has_device_id, const char *model_version,
                     size_t *len);

typedef struct dg_serve_opts {
    const char *bind;         /* IPv4 or IPv6 address; NULL: 127.0.0.1 */
    unsigned port;            /* 0: any free port (dg_server_port tells which) */
    unsigned threads;         /* 0: one per core */
    unsigned timeout_s;       /* 0: 10. A connection silent this long is closed, and so is
                                 one whose request has not arrived whole (request line,
                                 headers, body) this long after the server began waiting
                                 for it (the connection's opening, or its previous answer) */
    unsigned max_connections; /* 0: 1000. Open connections at most: one more closes the
                                 connection that has waited longest for its request (an
                                 idle keep-alive or a slow client), never one being
                                 answered. Lowered to fit the open-file limit (RLIMIT_NOFILE,
                                 about 2 descriptors a connection): see
                                 dg_server_max_connections */
    size_t max_body;          /* bytes of a request body; 0: 1 MiB */
    size_t max_header;        /* bytes of a request head (request line and headers; 414
                                 or 431 past it) and of a chunked body's trailer; 0: 32 KiB */
    int access_log_fd;        /* one line per request, written whole or not at all (a line
                                 that cannot be written is counted: dg_server_log_dropped,
                                 /health's access_log_dropped); -1: none */
} dg_serve_opts;

void dg_serve_opts_init(dg_serve_opts *o);

typedef struct dg_server dg_server;

/* Starts serving on its own threads. pred must outlive the server. */
int dg_server_start(dg_server **out, const dg_predictor *pred, const dg_serve_opts *o,
                    dg_err *err);
unsigned dg_server_port(const dg_server *s);
/* The connection limit in effect: o->max_connections, or less when the
 * open-file limit has no room for it. */
unsigned dg_server_max_connections(const dg_server *s);
/* Connections open now, and how many have been shut down so far for taking
 * longer than timeout_s to send a request (deadlines) or to make room at the
 * connection limit (evictions). NULL for any not wanted. */
void dg_server_counts(dg_server *s, unsigned *open, unsigned long *deadlines,
                      unsigned long *evictions);
/* Access-log lines that could not be written (a full disk, a file-size
 * limit, a closed pipe) since the start. */
unsigned long dg_server_log_dropped(dg_server *s);
/* Stops accepting connections, waits up to drain_s seconds for the requests
 * under way to finish, then closes everything and frees s. Returns how many
 * requests were still under way when it gave up waiting (0 after a clean
 * drain). */
unsigned dg_server_stop(dg_server *s, double drain_s);

/* The OpenAPI 3 description and the try-it page. */
extern const char dg_serve_openapi_json[];
extern const char dg_serve_index_html[];

/* A predictor answering from a predictions file (prediction.h): lookups only;
 * predict is NULL, so POST /v1/predict says no model directory is loaded.
 * The model version names the file and a hash of its content. */
typedef struct dg_table_predictor dg_table_predictor;
int dg_table_predictor_open(dg_table_predictor **out, const char *path, dg_predictor *pred,
                            dg_err *err);
size_t dg_table_predictor_count(const dg_table_predictor *t);
void dg_table_predictor_free(dg_table_predictor *t);

/* A predictor answering from a model directory (train.h) and the data set it
 * was trained on:
 *   - lookups: every kept test device of the directory (test_devices.csv),
 *     predicted at open from the data set's features (scenario per device);
 *   - predict: a described device becomes a one-device data set (its phone
 *     row, its events and app events), cleaned by the same rules as the data
 *     set, with the data set's app_labels and label_categories (copied at
 *     open) so its label bags are right; then the same features and models.
 *     Its cluster columns are unknown (NaN: a device's own events cannot be
 *     clustered alone, and DBSCAN labels are not kept), which the design
 *     treats as missing (no home-cluster column; the train mean plus the
 *     missing indicator for the three others);
 *   - campaigns: the rules, with P(female) deciles fitted on the test
 *     devices' predictions at open, or read from a thresholds file;
 *   - model version: "models:VERSION:data=CHECKSUM" from the meta.txt files.
 * Callbacks are safe to call concurrently: all state is read-only after
 * open, except the model calls, which take a lock (a model library's
 * predict is not promised to be reentrant). */
struct dg_dataset;
struct dg_rules;
struct dg_supercats;
struct dg_campaign_rules;
typedef struct dg_models_predictor_opts {
    const char *model_dir;        /* a train --out directory or its models/ */
    const struct dg_dataset *ds;  /* loaded and cleaned; not kept after open */
    const struct dg_rules *clean_rules; /* applied to described devices; NULL: none */
    const struct dg_supercats *supercats; /* copied by reference: must outlive the predictor */
    double cluster_eps_km, cluster_min_pts; /* as dg_features_for_models */
    const struct dg_campaign_rules *campaign_rules; /* NULL: the brief's six (copied) */
    const char *thresholds;       /* decile edges file; NULL: MODELS/thresholds.txt when it
                                     exists, else fitted on the test devices' predictions */
    const dg_progress *progress;
} dg_models_predictor_opts;

typedef struct dg_models_predictor dg_models_predictor;
int dg_models_predictor_open(dg_models_predictor **out, const dg_models_predictor_opts *o,
                             dg_predictor *pred, dg_err *err);
/* Kept test devices served by lookup, and where the decile edges came from. */
size_t dg_models_predictor_count(const dg_models_predictor *m);
const char *dg_models_predictor_deciles_origin(const dg_models_predictor *m);
void dg_models_predictor_free(dg_models_predictor *m);

#endif
