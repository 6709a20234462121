/* features --db: the per-device aggregation pushed down to the SQL server
 * (pushdown.h). The client turns the aggregated rows into exactly the values
 * features.c computes from raw rows: the same float operations on the same
 * numbers, in an order that does not depend on the order of the rows. */
#include "demographer/pushdown.h"

#include "demographer/parse.h"
#include "demographer/i64map.h"
#include "features_internal.h"

#include <inttypes.h>
#include <stddef.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the SQL ----------------------------------------------------------------- */

typedef struct rule_set {
    int zero, unit_box, unknown_devices;
    int nwindows, too_many; /* too_many: more time windows than the SQL takes */
    int64_t from[16], to[16];
} rule_set;

static void rules_of(const dg_rules *rules, rule_set *rs)
{
    memset(rs, 0, sizeof *rs);
    for (int i = 0; rules && i < rules->n; i++) {
        const dg_rule *r = &rules->v[i];
        if (!r->enabled)
            continue;
        switch (r->kind) {
        case DG_RULE_ZERO_COORDS: rs->zero = 1; break;
        case DG_RULE_UNIT_BOX_COORDS: rs->unit_box = 1; break;
        case DG_RULE_UNKNOWN_DEVICE_EVENTS: rs->unknown_devices = 1; break;
        case DG_RULE_TIME_WINDOW:
            if (rs->nwindows < 16) {
                rs->from[rs->nwindows] = r->from;
                rs->to[rs->nwindows++] = r->to;
            } else {
                rs->too_many = 1;
            }
            break;
        default: break;
        }
    }
}

/* " AND e.`timestamp` >= '...' AND e.`timestamp` < '...'" per time window:
 * times formatted here from numbers. */
static void window_sql(const rule_set *rs, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int w = 0; w < rs->nwindows && o < cap; w++) {
        char a[20], b[20];
        dg_format_time(rs->from[w], a);
        dg_format_time(rs->to[w], b);
        o += (size_t)snprintf(out + o, cap - o,
                              " AND e.`timestamp` >= '%s' AND e.`timestamp` < '%s'", a, b);
    }
}

/* A device's events at a location per part of the day (night 0-5, morning
 * 6-11, afternoon 12-17; the evening's are what remains of COUNT(*)). */
#define PARTS_SQL                                                                               \
    "SUM(CASE WHEN HOUR(e.`timestamp`) < 6 THEN 1 ELSE 0 END), "                                \
    "SUM(CASE WHEN HOUR(e.`timestamp`) >= 6 AND HOUR(e.`timestamp`) < 12 THEN 1 ELSE 0 END), "  \
    "SUM(CASE WHEN HOUR(e.`timestamp`) >= 12 AND HOUR(e.`timestamp`) < 18 THEN 1 ELSE 0 END)"

/* The COUNTS query's per-hour and per-weekday columns, both engines: a
 * conditional sum for each hour 0..23 of hour_of, then for each weekday,
 * Sunday first as MySQL's DAYOFWEEK counts them (1 is Sunday); with
 * monday_first, weekday_of counts Monday 1 .. Sunday 7 (ClickHouse's
 * toDayOfWeek) and the columns keep that Sunday-first order. */
static void hour_weekday_sums(char *sums, size_t cap, const char *hour_of, const char *weekday_of,
                              int monday_first)
{
    size_t o = 0;
    for (int h = 0; h < 24 && o < cap; h++)
        o += (size_t)snprintf(sums + o, cap - o, ", SUM(CASE WHEN %s = %d THEN 1 ELSE 0 END)",
                              hour_of, h);
    for (int w = 1; w <= 7 && o < cap; w++)
        o += (size_t)snprintf(sums + o, cap - o, ", SUM(CASE WHEN %s = %d THEN 1 ELSE 0 END)",
                              weekday_of, monday_first ? (w == 1 ? 7 : w - 1) : w);
}

int dg_pushdown_sql(int q, const dg_rules *rules, int ordered, char *buf, size_t cap)
{
    rule_set rs;
    rules_of(rules, &rs);
    if (rs.too_many)
        return DG_ERR;
    char win[16 * 100];
    window_sql(&rs, win, sizeof win);
    const char *ord = ordered ? "`dg_row`" : "`event_id`";
    int n = -1;
    switch (q) {
    case DG_PD_Q_CHECK:
        n = snprintf(buf, cap, "SELECT COUNT(*), COUNT(DISTINCT e.`event_id`) FROM `events` e");
        break;
    case DG_PD_Q_COUNTS: {
        /* One row per device: its events, distinct days, and its events in
         * each hour and weekday as conditional sums (DAYOFWEEK: 1 is Sunday),
         * instead of a row per device, day and hour: a tenth of the rows. */
        char sums[31 * 72];
        hour_weekday_sums(sums, sizeof sums, "HOUR(e.`timestamp`)", "DAYOFWEEK(e.`timestamp`)",
                          0);
        n = snprintf(buf, cap,
                     "SELECT e.`device_id`, COUNT(*), COUNT(DISTINCT DATE(e.`timestamp`))%s "
                     "FROM `events` e WHERE 1 = 1%s GROUP BY e.`device_id`",
                     sums, win);
        break;
    }
    case DG_PD_Q_LOCATIONS:
        n = snprintf(buf, cap,
                     "SELECT e.`device_id`, e.`latitude`, e.`longitude`, COUNT(*), " PARTS_SQL
                     ", MIN(e.%s) FROM `events` e "
                     "WHERE e.`latitude` IS NOT NULL AND e.`longitude` IS NOT NULL%s%s%s "
                     "GROUP BY e.`device_id`, e.`latitude`, e.`longitude`",
                     ord, rs.zero ? " AND e.`latitude` <> 0 AND e.`longitude` <> 0" : "",
                     rs.unit_box ? " AND NOT (e.`latitude` BETWEEN -1 AND 1 AND "
                                   "e.`longitude` BETWEEN -1 AND 1)"
                                 : "",
                     win);
        break;
    case DG_PD_Q_APPS:
        n = snprintf(buf, cap,
                     "SELECT e.`device_id`, a.`app_id`, COUNT(*), "
                     "SUM(CASE WHEN a.`is_active` <> 0 THEN 1 ELSE 0 END) "
                     "FROM `app_events` a JOIN `events` e ON a.`event_id` = e.`event_id` "
                     "WHERE 1 = 1%s GROUP BY e.`device_id`, a.`app_id`",
                     win);
        break;
    case DG_PD_Q_VOCAB:
        n = snprintf(buf, cap, "SELECT a.`app_id`, MIN(a.%s) FROM `app_events` a GROUP BY a.`app_id`",
                     ord);
        break;
    default: return DG_ERR;
    }
    return n < 0 || (size_t)n >= cap ? DG_ERR : DG_OK;
}

/* ---- parsing the rows ---------------------------------------------------------- */

typedef struct fetch {
    const char *where;  /* "host:port db" for messages */
    const char *what;   /* the query's name */
    uint64_t rows;
    const dg_progress *progress;
    /* what the rows are kept in */
    const dg_i64map *devs, *phones; /* phones: NULL unless unknown-device-events drops */
    dg_features *f;
    uint64_t *nev, *ndays; /* per device: events, distinct days */
    /* a device's events at one location: in all, per part of the day, and
     * the first's row */
    struct locrow { uint32_t d; float lat, lon; uint64_t n, part[DG_NPARTS], first; } *locs;
    size_t nlocs, caplocs;
    struct approw { uint32_t d, code; uint64_t n, active; } *apps;
    size_t napps, capapps;
    struct rawapp { int64_t dev, app; uint64_t n, active; } *raw; /* as received */
    size_t nraw, capraw;
    struct vocrow { int64_t app; uint64_t first; } *voc;
    size_t nvoc, capvoc;
    const dg_i64map *appmap;
    uint64_t check[2];
    int too_many_to_pack; /* a device with PACK_LIMIT events or more (packed counts) */
    int by_device;        /* ClickHouse: events and app events sharded by device */
} fetch;

static int bad_field(fetch *x, dg_err *err, int field, const char *s, unsigned long len)
{
    char found[48];
    if (!s)
        snprintf(found, sizeof found, "NULL");
    else
        snprintf(found, sizeof found, "'%.*s'", (int)(len < 40 ? len : 40), s);
    return dg_fail(err, "%s: %s: row %" PRIu64 ", field %d: expected a number, found %s", x->where,
                   x->what, x->rows + 1, field + 1, found);
}

static int get_i64(fetch *x, dg_err *err, char **row, unsigned long *len, int i, int64_t *v)
{
    if (!row[i] || dg_parse_i64(row[i], len[i], v) != 0)
        return bad_field(x, err, i, row[i], len[i]);
    return 0;
}

static int get_u64(fetch *x, dg_err *err, char **row, unsigned long *len, int i, uint64_t *v)
{
    int64_t t;
    if (get_i64(x, err, row, len, i, &t))
        return 1;
    if (t < 0)
        return bad_field(x, err, i, row[i], len[i]);
    *v = (uint64_t)t;
    return 0;
}

static int get_f32(fetch *x, dg_err *err, char **row, unsigned long *len, int i, float *v)
{
    double d;
    if (!row[i] || dg_parse_f64(row[i], len[i], &d) != 0 || fabs(d) > 3.4e38)
        return bad_field(x, err, i, row[i], len[i]);
    *v = (float)d;
    return 0;
}

#define GROW(arr, n, cap)                                                                       \
    do {                                                                                        \
        if ((n) == (cap)) {                                                                     \
            (cap) = (cap) ? (cap) * 2 : 4096;                                                   \
            (arr) = dg_xrealloc((arr), (cap) * sizeof *(arr));                                  \
        }                                                                                       \
    } while (0)

static int tick(fetch *x, dg_err *err)
{
    x->rows++;
    if (x->rows % 16384 == 0 &&
        dg_progress_report(x->progress, x->what, (double)x->rows, 0, "rows"))
        return dg_fail(err, "%s: %s: cancelled", x->where, x->what);
    return 0;
}

/* The device code of a row's device, or UINT32_MAX when its events were
 * dropped (unknown-device-events) or it is not one of the devices. */
static int dropped(const fetch *x, int64_t dev)
{
    return x->phones && dg_i64map_get(x->phones, dev) == UINT32_MAX;
}

static int on_nothing(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    (void)ctx, (void)row, (void)len, (void)nf, (void)err;
    return 0;
}

static int on_check(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    fetch *x = ctx;
    (void)nf;
    if (get_u64(x, err, row, len, 0, &x->check[0]) || get_u64(x, err, row, len, 1, &x->check[1]))
        return 1;
    return tick(x, err);
}

/* ClickHouse's COUNTS query packs three hours (or weekdays) into one sum,
 * PACK_BITS bits each: one aggregate instead of three, where 18.16 spends
 * most of the query calling each aggregate once per row. A field counts some
 * of the device's events, so no field can overflow while the device has
 * fewer than PACK_LIMIT events; a device with more makes the query run again
 * unpacked. */
#define PACK_BITS 21
#define PACK_LIMIT ((uint64_t)1 << PACK_BITS)
#define PACKED_SUMS (24 / 3 + (7 + 2) / 3) /* 8 of hours, 3 of weekdays */

static int on_count(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    fetch *x = ctx;
    int64_t dev;
    uint64_t n, days, by[31];
    int packed = nf == 3 + PACKED_SUMS;
    if (nf != 3 + 31 && !packed)
        return dg_fail(err, "%s: %s: %u fields in a row, expected %d", x->where, x->what, nf,
                       3 + 31);
    if (get_i64(x, err, row, len, 0, &dev) || get_u64(x, err, row, len, 1, &n) ||
        get_u64(x, err, row, len, 2, &days))
        return 1;
    if (packed && n >= PACK_LIMIT) {
        x->too_many_to_pack = 1; /* the caller starts again unpacked */
        return tick(x, err);
    }
    if (packed) {
        /* Sum k holds hours 3k..3k+2 (then weekdays 3k..3k+2, Sunday 0),
         * the lowest field first. */
        for (int k = 0; k < PACKED_SUMS; k++) {
            uint64_t v;
            if (get_u64(x, err, row, len, 3 + k, &v))
                return 1;
            int base = k < 8 ? 3 * k : 24 + 3 * (k - 8);
            for (int j = 0; j < 3; j++) {
                int i = base + j;
                if (i < 31) /* the last sum has one weekday */
                    by[i] = v >> (PACK_BITS * j) & (PACK_LIMIT - 1);
            }
        }
    } else {
        for (int i = 0; i < 31; i++)
            if (get_u64(x, err, row, len, 3 + i, &by[i]))
                return 1;
    }
    uint32_t d = dropped(x, dev) ? UINT32_MAX : dg_i64map_get(x->devs, dev);
    if (d != UINT32_MAX) {
        float *r = x->f->dense + (size_t)d * x->f->ncols;
        for (int h = 0; h < 24; h++)
            r[DG_FC_HOUR0 + h] += (float)by[h];
        for (int w = 0; w < 7; w++)
            r[DG_FC_WEEKDAY0 + w] += (float)by[24 + w];
        x->nev[d] += n;
        x->ndays[d] += days;
    }
    return tick(x, err);
}

static int on_location(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    fetch *x = ctx;
    if (nf != 4 + DG_NPARTS)
        return dg_fail(err, "%s: %s: %u fields in a row, expected %d", x->where, x->what, nf,
                       4 + DG_NPARTS);
    int64_t dev;
    struct locrow l = {0};
    if (get_i64(x, err, row, len, 0, &dev) || get_f32(x, err, row, len, 1, &l.lat) ||
        get_f32(x, err, row, len, 2, &l.lon) || get_u64(x, err, row, len, 3, &l.n) ||
        get_u64(x, err, row, len, 4 + DG_NPARTS - 1, &l.first))
        return 1;
    /* The first parts' counts are sent, the last is what remains. */
    uint64_t rest = l.n;
    for (int p = 0; p + 1 < DG_NPARTS; p++) {
        if (get_u64(x, err, row, len, 4 + p, &l.part[p]))
            return 1;
        if (l.part[p] > rest)
            return bad_field(x, err, 4 + p, row[4 + p], len[4 + p]);
        rest -= l.part[p];
    }
    l.part[DG_NPARTS - 1] = rest;
    if (!dropped(x, dev)) {
        l.d = dg_i64map_get(x->devs, dev);
        GROW(x->locs, x->nlocs, x->caplocs);
        x->locs[x->nlocs++] = l;
    }
    return tick(x, err);
}

/* The app rows are kept as received: they arrive on their own connection
 * (app_fetch below), before the devices and the vocabulary are known. */
static int on_app(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    fetch *x = ctx;
    (void)nf;
    struct rawapp r;
    if (get_i64(x, err, row, len, 0, &r.dev) || get_i64(x, err, row, len, 1, &r.app) ||
        get_u64(x, err, row, len, 2, &r.n) || get_u64(x, err, row, len, 3, &r.active))
        return 1;
    GROW(x->raw, x->nraw, x->capraw);
    x->raw[x->nraw++] = r;
    return tick(x, err);
}

/* The received app rows of known, kept devices and known apps, as codes. */
static void code_apps(fetch *x, const fetch *from)
{
    for (size_t i = 0; i < from->nraw; i++) {
        const struct rawapp *r = &from->raw[i];
        uint32_t d = dropped(x, r->dev) ? UINT32_MAX : dg_i64map_get(x->devs, r->dev);
        uint32_t code = dg_i64map_get(x->appmap, r->app);
        if (d != UINT32_MAX && code != UINT32_MAX) {
            GROW(x->apps, x->napps, x->capapps);
            x->apps[x->napps++] = (struct approw){d, code, r->n, r->active};
        }
    }
}

static int on_vocab(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    fetch *x = ctx;
    (void)nf;
    int64_t app;
    uint64_t first;
    if (get_i64(x, err, row, len, 0, &app) || get_u64(x, err, row, len, 1, &first))
        return 1;
    GROW(x->voc, x->nvoc, x->capvoc);
    x->voc[x->nvoc++] = (struct vocrow){app, first};
    return tick(x, err);
}

/* ---- building the features -------------------------------------------------------- */

static int cmp_voc(const void *a, const void *b)
{
    const struct vocrow *x = a, *y = b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return (x->app > y->app) - (x->app < y->app);
}

static int cmp_first(const void *a, const void *b)
{
    const struct locrow *const *x = a, *const *y = b;
    return ((*x)->first > (*y)->first) - ((*x)->first < (*y)->first);
}

/* Rows grouped by device (counting sort): device d's are idx[start[d]..start[d+1]). */
static void group_by(const void *base, size_t off, size_t n, uint32_t ndev, size_t stride,
                     size_t **start_out, size_t **idx_out)
{
    const char *dev = n ? (const char *)base + off : NULL;
    size_t *start = dg_xcalloc((size_t)ndev + 2, sizeof *start);
    for (size_t i = 0; i < n; i++) {
        uint32_t d = *(const uint32_t *)(const void *)(dev + i * stride);
        if (d != UINT32_MAX)
            start[d + 1]++;
    }
    for (uint32_t d = 0; d < ndev; d++)
        start[d + 1] += start[d];
    size_t *fill = dg_xmalloc(((size_t)ndev + 1) * sizeof *fill);
    memcpy(fill, start, (size_t)ndev * sizeof *fill);
    size_t *idx = dg_xmalloc((start[ndev] + 1) * sizeof *idx);
    for (size_t i = 0; i < n; i++) {
        uint32_t d = *(const uint32_t *)(const void *)(dev + i * stride);
        if (d != UINT32_MAX)
            idx[fill[d]++] = i;
    }
    free(fill);
    *start_out = start;
    *idx_out = idx;
}

static void event_columns(fetch *x)
{
    dg_features *f = x->f;
    for (uint32_t d = 0; d < f->ndevices; d++) {
        uint64_t n = x->nev[d];
        if (!n)
            continue;
        float *row = f->dense + (size_t)d * f->ncols;
        row[DG_FC_EVENTS] = (float)n;
        row[DG_FC_ACTIVE_DAYS] = (float)x->ndays[d];
        row[DG_FC_EVENTS_PER_DAY] = (float)n / row[DG_FC_ACTIVE_DAYS];
        for (int h = 0; h < 24; h++)
            row[DG_FC_HOUR0 + h] /= (float)n;
        for (int w = 0; w < 7; w++)
            row[DG_FC_WEEKDAY0 + w] /= (float)n;
    }
}

static void place_columns(fetch *x)
{
    dg_features *f = x->f;
    size_t *start, *idx;
    group_by(x->locs, offsetof(struct locrow, d), x->nlocs, f->ndevices, sizeof *x->locs, &start, &idx);
    uint64_t most = 0;
    for (uint32_t d = 0; d < f->ndevices; d++) {
        uint64_t located = 0;
        for (size_t k = start[d]; k < start[d + 1]; k++)
            located += x->locs[idx[k]].n;
        most = located > most ? located : most;
    }
    float *plat[DG_NPARTS + 1], *plon[DG_NPARTS + 1];
    for (int p = 0; p <= DG_NPARTS; p++) {
        plat[p] = dg_xmalloc((most + 1) * sizeof(float));
        plon[p] = dg_xmalloc((most + 1) * sizeof(float));
    }
    uint64_t *packed = dg_xmalloc((most + 1) * sizeof *packed);
    float *scratch = dg_xmalloc((most + 1) * sizeof *scratch);
    for (uint32_t d = 0; d < f->ndevices; d++) {
        uint64_t n = x->nev[d];
        if (!n)
            continue;
        float *row = f->dense + (size_t)d * f->ncols;
        size_t np[DG_NPARTS + 1] = {0};
        for (size_t k = start[d]; k < start[d + 1]; k++) {
            const struct locrow *l = &x->locs[idx[k]];
            uint32_t a, b;
            memcpy(&a, &l->lat, 4);
            memcpy(&b, &l->lon, 4);
            for (int p = 0; p < DG_NPARTS; p++)
                for (uint64_t r = 0; r < l->part[p]; r++) {
                    plat[p][np[p]] = l->lat;
                    plon[p][np[p]++] = l->lon;
                }
            for (uint64_t r = 0; r < l->n; r++) {
                packed[np[DG_NPARTS]] = (uint64_t)a << 32 | b;
                plat[DG_NPARTS][np[DG_NPARTS]] = l->lat;
                plon[DG_NPARTS][np[DG_NPARTS]++] = l->lon;
            }
        }
        row[DG_FC_LOCATED_SHARE] = (float)np[DG_NPARTS] / (float)n;
        dg_features_places(row, plat, plon, np, packed, scratch);
    }
    for (int p = 0; p <= DG_NPARTS; p++) {
        free(plat[p]);
        free(plon[p]);
    }
    free(packed);
    free(scratch);
    free(start);
    free(idx);
}

static int cmp_u32v(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void csr_push(dg_csr *m, uint64_t *cap, uint32_t c, float v)
{
    if (m->nnz == *cap) {
        *cap = *cap * 2 + 1024;
        m->idx = dg_xrealloc(m->idx, *cap * sizeof *m->idx);
        m->val = dg_xrealloc(m->val, *cap * sizeof *m->val);
    }
    m->idx[m->nnz] = c;
    m->val[m->nnz++] = v;
}

static int cmp_app_code(const void *a, const void *b)
{
    const struct approw *x = a, *y = b;
    return (x->code > y->code) - (x->code < y->code);
}

/* The bags and the app and super-category columns, as app_features in
 * features.c computes them. */
static void app_columns(fetch *x, const dg_dataset *ds, const dg_supercats *sc,
                        const dg_i64map *appmap)
{
    dg_features *f = x->f;
    uint32_t napps = appmap->n;
    f->app_vocab = dg_xmalloc(((size_t)napps + 1) * sizeof *f->app_vocab);
    if (napps)
        memcpy(f->app_vocab, appmap->keys, (size_t)napps * sizeof *f->app_vocab);
    /* Labels of each app, as in features.c. */
    dg_app_labels lab;
    dg_app_labels_build(ds, sc, appmap, f, &lab);
    uint32_t nlabels = lab.nlabels;
    const uint64_t *lstart = lab.lstart;
    const uint32_t *lidx = lab.lidx;
    const int *super = lab.super;
    uint64_t cap_i = 0, cap_a = 0, cap_l = 0;
    /* Rows of a device together, in app code order. */
    size_t *start, *idx;
    group_by(x->apps, offsetof(struct approw, d), x->napps, f->ndevices, sizeof *x->apps, &start, &idx);
    struct approw *mine = dg_xmalloc((x->napps + 1) * sizeof *mine);
    float *lcount = dg_xcalloc((size_t)nlabels + 1, sizeof *lcount);
    uint32_t *touched = dg_xmalloc(((size_t)nlabels + 1) * sizeof *touched);
    for (uint32_t d = 0; d < f->ndevices; d++) {
        float *row = f->dense + (size_t)d * f->ncols;
        size_t m = start[d + 1] - start[d];
        for (size_t k = 0; k < m; k++)
            mine[k] = x->apps[idx[start[d] + k]];
        qsort(mine, m, sizeof *mine, cmp_app_code);
        uint64_t rows = 0;
        uint32_t nact = 0, ntouched = 0;
        for (size_t k = 0; k < m; k++) {
            rows += mine[k].n;
            csr_push(&f->apps_installed, &cap_i, mine[k].code, (float)mine[k].n);
            if (mine[k].active) {
                csr_push(&f->apps_active, &cap_a, mine[k].code, (float)mine[k].active);
                nact++;
            }
            uint32_t a = mine[k].code;
            for (uint64_t j = lstart[a]; j < lstart[a + 1]; j++) {
                uint32_t l = lidx[j];
                if (lcount[l] == 0)
                    touched[ntouched++] = l;
                lcount[l] += 1;
            }
        }
        row[DG_FC_APP_EVENTS] = (float)rows;
        row[DG_FC_APPS] = (float)m;
        row[DG_FC_APPS_ACTIVE] = (float)nact;
        for (uint32_t k = 0; sc && k < ntouched; k++)
            row[DG_FC_FIXED + super[touched[k]]] += lcount[touched[k]];
        qsort(touched, ntouched, sizeof *touched, cmp_u32v);
        for (uint32_t k = 0; k < ntouched; k++) {
            csr_push(&f->labels, &cap_l, touched[k], lcount[touched[k]]);
            lcount[touched[k]] = 0;
        }
        f->apps_installed.ptr[d + 1] = f->apps_installed.nnz;
        f->apps_active.ptr[d + 1] = f->apps_active.nnz;
        f->labels.ptr[d + 1] = f->labels.nnz;
    }
    free(mine);
    free(lcount);
    free(touched);
    free(start);
    free(idx);
    dg_app_labels_free(&lab);
}

typedef struct labcount {
    int32_t lab;
    uint64_t n;
} labcount;

static int cmp_labcount(const void *a, const void *b)
{
    const labcount *x = a, *y = b;
    return (x->lab > y->lab) - (x->lab < y->lab);
}

/* DBSCAN over the observed events (the located rows expanded, in the order of
 * their first event row, which is the order of the raw rows' seeds), then the
 * four cluster columns as dg_features_add_clusters computes them. */
static int cluster_columns(fetch *x, double eps_km, double min_pts, dg_dbscan_report *report,
                           const dg_progress *progress, dg_err *err)
{
    dg_features *f = x->f;
    const struct locrow **by_first = dg_xmalloc((x->nlocs + 1) * sizeof *by_first);
    uint64_t total = 0;
    for (size_t i = 0; i < x->nlocs; i++) {
        by_first[i] = &x->locs[i];
        total += x->locs[i].n;
    }
    qsort(by_first, x->nlocs, sizeof *by_first, cmp_first);
    /* One point per row, weighted by its events, instead of one per event:
     * the locations, their weights (sums of whole numbers, exact), their
     * numbering and their seed order (by first point; the rows' order keeps
     * the events' order of first points) are the same, for a third of the
     * points to sort. The per-location point counts and the point total,
     * which the report gives, are put back to events below. A weight must
     * be exact as a float: a row of over 2^24 events is expanded instead. */
    int weighted = 1;
    for (size_t i = 0; i < x->nlocs; i++)
        weighted &= x->locs[i].n <= ((uint64_t)1 << 24);
    uint64_t npoints = weighted ? x->nlocs : total;
    float *lat = dg_xmalloc((npoints + 1) * sizeof *lat),
          *lon = dg_xmalloc((npoints + 1) * sizeof *lon);
    float *weight = weighted ? dg_xmalloc((npoints + 1) * sizeof *weight) : NULL;
    uint64_t *first_point = dg_xmalloc((x->nlocs + 1) * sizeof *first_point);
    uint64_t k = 0;
    for (size_t i = 0; i < x->nlocs; i++) {
        const struct locrow *l = by_first[i];
        first_point[l - x->locs] = k;
        if (weighted) {
            lat[k] = l->lat;
            lon[k] = l->lon;
            weight[k++] = (float)l->n;
            continue;
        }
        for (uint64_t r = 0; r < l->n; r++) {
            lat[k] = l->lat;
            lon[k++] = l->lon;
        }
    }
    dg_dbscan_locs locs;
    int rc = dg_dbscan_locs_build(&locs, lat, lon, weight, npoints, err);
    free(lat);
    free(lon);
    free(weight);
    if (rc == DG_OK && weighted) {
        memset(locs.count, 0, (size_t)locs.n * sizeof *locs.count);
        for (size_t i = 0; i < x->nlocs; i++) {
            uint32_t l = locs.of_point[i];
            if (l != UINT32_MAX)
                locs.count[l] += (uint32_t)by_first[i]->n;
        }
        locs.npoints = total;
    }
    free(by_first);
    if (rc != DG_OK) {
        free(first_point);
        return DG_ERR;
    }
    int32_t *label = dg_xmalloc(((size_t)locs.n + 1) * sizeof *label);
    rc = dg_dbscan_run(&locs, eps_km, min_pts, label, NULL, report, progress, err);
    if (rc != DG_OK) {
        free(label);
        free(first_point);
        dg_dbscan_locs_free(&locs);
        return DG_ERR;
    }
    size_t *start, *idx;
    group_by(x->locs, offsetof(struct locrow, d), x->nlocs, f->ndevices, sizeof *x->locs, &start, &idx);
    labcount *lc = dg_xmalloc((x->nlocs + 1) * sizeof *lc);
    int old = f->ncols, nc = old + DG_CLUSTER_NCOLS;
    float *dense = dg_xmalloc(((size_t)f->ndevices * nc + 1) * sizeof *dense);
    for (uint32_t d = 0; d < f->ndevices; d++) {
        float *row = dense + (size_t)d * nc;
        memcpy(row, f->dense + (size_t)d * old, (size_t)old * sizeof *row);
        size_t m = start[d + 1] - start[d];
        uint64_t n = 0;
        for (size_t j = 0; j < m; j++) {
            size_t g = idx[start[d] + j];
            uint32_t l = locs.of_point[first_point[g]];
            lc[j] = (labcount){l == UINT32_MAX ? -1 : label[l], x->locs[g].n};
            n += x->locs[g].n;
        }
        qsort(lc, m, sizeof *lc, cmp_labcount);
        uint64_t noise = 0, best_n = 0;
        int32_t best = -1, count = 0;
        for (size_t i = 0; i < m;) {
            size_t j = i;
            uint64_t sum = 0;
            while (j < m && lc[j].lab == lc[i].lab)
                sum += lc[j++].n;
            if (lc[i].lab < 0) {
                noise = sum;
            } else {
                count++;
                if (sum > best_n) {
                    best_n = sum;
                    best = lc[i].lab;
                }
            }
            i = j;
        }
        dg_cluster_values(best, count, best_n, noise, n, row + old);
    }
    free(lc);
    free(start);
    free(idx);
    free(label);
    free(first_point);
    dg_dbscan_locs_free(&locs);
    free(f->dense);
    f->dense = dense;
    f->col_names = dg_xrealloc(f->col_names, (size_t)nc * sizeof *f->col_names);
    for (int c = 0; c < DG_CLUSTER_NCOLS; c++)
        f->col_names[old + c] = dg_xstrdup(dg_cluster_cols[c]);
    f->ncols = nc;
    return DG_OK;
}

static void fetch_free(fetch *x)
{
    free(x->nev);
    free(x->ndays);
    free(x->locs);
    free(x->apps);
    free(x->raw);
    free(x->voc);
}

const char *dg_pushdown_query_name(int q)
{
    static const char *const names[DG_PD_NQUERIES] = {
        "event id check", "event counts", "located events", "app rows", "app vocabulary"};
    return q >= 0 && q < DG_PD_NQUERIES ? names[q] : "?";
}

static int run_query(dg_mysql *m, fetch *x, int q, const dg_rules *rules, int ordered,
                     dg_mysql_row_fn fn, dg_pushdown_report *rep, dg_err *err)
{
    char sql[4096];
    if (dg_pushdown_sql(q, rules, ordered, sql, sizeof sql) != DG_OK)
        return dg_fail(err, "%s: %s: query too long (at most 16 time windows)", x->where,
                       dg_pushdown_query_name(q));
    if (dg_progress_report(x->progress, dg_pushdown_query_name(q), q, DG_PD_NQUERIES, "queries"))
        return dg_fail(err, "%s: cancelled", x->where);
    x->what = dg_pushdown_query_name(q);
    x->rows = 0;
    double t0 = dg_now();
    int rc = dg_mysql_query_rows(m, sql, dg_pushdown_query_name(q), fn, x, err);
    rep->rows[q] = x->rows;
    rep->seconds[q] = dg_now() - t0;
    return rc;
}

/* A connection with the session settings the aggregations need. A GROUP BY
 * sends nothing until it is done: the read timeout that guards a stream of
 * raw rows would cut a large aggregation off, so it is at least an hour here
 * (the password is shared, not copied). */
static int open_session(dg_mysql **out, const dg_mysql_config *cfg, dg_err *err)
{
    dg_mysql_config long_reads = *cfg;
    if (long_reads.read_timeout < 3600)
        long_reads.read_timeout = 3600;
    if (dg_mysql_open(out, &long_reads, err) != DG_OK)
        return DG_ERR;
    /* MariaDB joins app_events to events (no index on event_id in the
     * imported tables) with a block nested loop unless hashed joins are on:
     * 10 minutes instead of seconds for 2000 devices; the hash table is the
     * join buffer (256 KiB by default: the events are then scanned again and
     * again), and the GROUP BY's temporary table goes to disk above 16 MiB.
     * join_buffer_space_limit caps all join buffers of a query (2 MiB by
     * default) whatever join_buffer_size says, and optimize_join_buffer_size
     * sizes the buffer from the optimizer's row estimate, which Spider's
     * statistics can put at 4 rows for 43,000 events: through Spider every
     * refill is one more full scan of app_events on every data node (226
     * scans and over 10 minutes at 2000 devices; 4 s with both set).
     * Session settings only; other engines refuse the variables and hash-join
     * anyway, which is fine. */
    static const char *const settings[] = {
        "SET SESSION join_cache_level = 4",
        "SET SESSION join_buffer_size = 268435456",
        "SET SESSION join_buffer_space_limit = 1073741824",
        "SET SESSION optimizer_switch = 'optimize_join_buffer_size=off'",
        "SET SESSION max_heap_table_size = 1073741824",
        "SET SESSION tmp_table_size = 1073741824",
    };
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++) {
        dg_err ignored;
        (void)dg_mysql_query_rows(*out, settings[i], "session setting", on_nothing, NULL,
                                  &ignored);
    }
    return DG_OK;
}

/* Waits on `finished` (its lock held) for at most a quarter of a second:
 * the app rows' waiters look for a cancel between waits. */
static void wait_a_quarter(pthread_cond_t *finished, pthread_mutex_t *lock)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 250 * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(finished, lock, &until);
}

/* The end of an app rows' worker: its thread joined (when it started), its
 * lock and condition destroyed. */
static void worker_end(pthread_t tid, int *started, pthread_mutex_t *lock,
                       pthread_cond_t *finished)
{
    if (*started)
        pthread_join(tid, NULL);
    *started = 0;
    pthread_mutex_destroy(lock);
    pthread_cond_destroy(finished);
}

/* The app rows are the longest query (the join of the largest table, then
 * its GROUP BY), so they run on a connection of their own from the start,
 * beside the small tables and the other queries on the main one: the server
 * works on both at once, and the whole takes about as long as that query
 * alone instead of the sum. */
typedef struct app_fetch {
    const dg_mysql_config *cfg;
    const dg_rules *rules;
    fetch x; /* its own counters and rows */
    dg_pushdown_report rep;
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t finished;
    unsigned long conn_id; /* 0 until connected */
    int started, done, cancelled, rc;
    dg_err err;
} app_fetch;

static void *app_fetch_main(void *arg)
{
    app_fetch *a = arg;
    dg_mysql *m = NULL;
    int rc = open_session(&m, a->cfg, &a->err);
    if (rc == DG_OK) {
        pthread_mutex_lock(&a->lock);
        a->conn_id = dg_mysql_connection_id(m);
        int cancelled = a->cancelled;
        pthread_mutex_unlock(&a->lock);
        rc = cancelled ? dg_fail(&a->err, "%s: app rows: cancelled", a->x.where)
                       : run_query(m, &a->x, DG_PD_Q_APPS, a->rules, 0, on_app, &a->rep, &a->err);
        dg_mysql_close(m);
    }
    pthread_mutex_lock(&a->lock);
    a->rc = rc;
    a->done = 1;
    pthread_cond_signal(&a->finished);
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

static void app_fetch_start(app_fetch *a, const dg_mysql_config *cfg, const dg_rules *rules,
                            const char *where)
{
    memset(a, 0, sizeof *a);
    a->cfg = cfg;
    a->rules = rules;
    a->x.where = where;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->finished, NULL);
    a->started = pthread_create(&a->tid, NULL, app_fetch_main, a) == 0;
}

/* Waits for the app rows, reporting the wait; with cancel (or when the
 * progress asks to stop) their query is killed first, through m when open.
 * err (NULL when cancelling on another failure) gets the reason. */
static int app_fetch_wait(app_fetch *a, dg_mysql *m, int cancel, const dg_progress *progress,
                          dg_err *err)
{
    if (!a->started && cancel) {
        a->done = a->cancelled = 1;
        a->rc = DG_ERR;
    } else if (!a->started) {
        app_fetch_main(a); /* no thread to be had: the query runs here */
    }
    double t0 = dg_now();
    pthread_mutex_lock(&a->lock);
    while (!a->done) {
        if (!cancel && !a->cancelled) {
            pthread_mutex_unlock(&a->lock);
            cancel = dg_progress_report(progress, "app rows (the server is joining)",
                                        dg_now() - t0, 0, "s");
            pthread_mutex_lock(&a->lock);
        }
        if (cancel && !a->cancelled) {
            a->cancelled = 1;
            unsigned long id = a->conn_id;
            pthread_mutex_unlock(&a->lock);
            if (id) {
                dg_err ignored;
                dg_mysql *k = m;
                if (k || dg_mysql_open(&k, a->cfg, &ignored) == DG_OK)
                    (void)dg_mysql_kill(k, id, &ignored);
                if (k != m)
                    dg_mysql_close(k);
            }
            pthread_mutex_lock(&a->lock);
            continue;
        }
        wait_a_quarter(&a->finished, &a->lock);
    }
    pthread_mutex_unlock(&a->lock);
    worker_end(a->tid, &a->started, &a->lock, &a->finished);
    if (a->rc == DG_OK)
        return DG_OK;
    if (err && a->cancelled)
        return dg_fail(err, "%s: app rows: cancelled", a->x.where);
    if (err)
        *err = a->err;
    return DG_ERR;
}

/* The receiving side: the devices (and, with unknown-device-events, the
 * phones' devices) as maps; appmap filled from the vocabulary later. */
static void setup_fetch(fetch *x, dg_features *out, const dg_dataset *small, const rule_set *rs,
                        dg_i64map *devs, dg_i64map *phones, dg_i64map *appmap, const char *where,
                        const dg_progress *progress)
{
    memset(x, 0, sizeof *x);
    x->where = where;
    x->progress = progress;
    x->f = out;
    dg_i64map_init(devs);
    dg_i64map_init(phones);
    dg_i64map_init(appmap);
    for (uint32_t d = 0; d < out->ndevices; d++)
        dg_i64map_put(devs, out->device_id[d]);
    const dg_table *ph = dg_dataset_table(small, DG_T_PHONES);
    if (rs->unknown_devices && ph) {
        const int64_t *id = dg_col_i64(dg_table_column(ph, "device_id"));
        for (uint64_t i = 0; i < ph->nrows; i++)
            dg_i64map_put(phones, id[i]);
        x->phones = phones;
    }
    x->devs = devs;
    x->appmap = appmap;
    x->nev = dg_xcalloc((size_t)out->ndevices + 1, sizeof *x->nev);
    x->ndays = dg_xcalloc((size_t)out->ndevices + 1, sizeof *x->ndays);
}

/* Every column from the received rows, as features.c computes them. */
static int build_columns(fetch *x, const dg_dataset *small, const dg_supercats *sc,
                         const dg_i64map *appmap, double eps_km, double min_pts,
                         dg_dbscan_report *cluster_report, const dg_progress *progress,
                         dg_err *err)
{
    event_columns(x);
    place_columns(x);
    app_columns(x, small, sc, appmap);
    if (eps_km > 0) {
        dg_dbscan_report cr;
        memset(&cr, 0, sizeof cr);
        if (cluster_columns(x, eps_km, min_pts, &cr, progress, err) != DG_OK)
            return DG_ERR;
        if (cluster_report)
            *cluster_report = cr;
    }
    return DG_OK;
}

/* The small tables as read (small), checked and cleaned; the devices and
 * their empty matrix in out. */
static int prepare_small(dg_dataset *small, const dg_rules *rules, const dg_supercats *sc,
                         dg_features *out, dg_pushdown_report *rep, const char *where,
                         dg_err *err)
{
    if (small->shape == DG_SHAPE_UPGRAD) {
        dg_fail(err,
                "%s: the Upgrad shape's cut device ids are matched to the phones' on the raw "
                "rows, which features --db does not fetch: use load-db, then features",
                where);
        return DG_ERR;
    }
    for (int t = 0; t < DG_T_COUNT; t++)
        rep->small_rows += small->reports[t].rows;
    if (rules) {
        dg_rule_effect *fx = dg_xcalloc((size_t)rules->n + 1, sizeof *fx);
        int rc = dg_clean(small, rules, fx, NULL, err);
        free(fx);
        if (rc != DG_OK)
            return DG_ERR;
        size_t o = 0;
        for (int i = 0; i < rules->n; i++) {
            dg_rule_kind k = rules->v[i].kind;
            if (rules->v[i].enabled &&
                (k == DG_RULE_DEDUPE_PHONES || k == DG_RULE_LABELS_WITHOUT_PHONE ||
                 k == DG_RULE_UNKNOWN_DEVICE_EVENTS || k == DG_RULE_EMPTY_CATEGORIES) &&
                o < sizeof rep->client_rules)
                o += (size_t)snprintf(rep->client_rules + o, sizeof rep->client_rules - o,
                                      "%s%s", o ? ", " : "", dg_rule_keyword(k));
        }
    }
    /* The devices, their brand and model and the empty matrix, as
     * dg_features_build makes them (it sees no events here). */
    return dg_features_build(small, sc, out, NULL, err);
}

/* The app codes, both engines: the vocabulary's apps in cmp_voc's order
 * (by their first row), so the codes are the ones the local path gives. */
static void code_vocabulary(fetch *x, dg_i64map *appmap)
{
    if (x->nvoc)
        qsort(x->voc, x->nvoc, sizeof *x->voc, cmp_voc);
    for (size_t i = 0; i < x->nvoc; i++)
        dg_i64map_put(appmap, x->voc[i].app);
}

int dg_features_pushdown(const dg_mysql_config *cfg, const dg_rules *rules,
                         const dg_supercats *sc, double eps_km, double min_pts, dg_features *out,
                         dg_dataset *small, dg_dbscan_report *cluster_report,
                         dg_pushdown_report *report, const dg_progress *progress, dg_err *err)
{
    double t0 = dg_now();
    dg_pushdown_report rep_local;
    dg_pushdown_report *rep = report ? report : &rep_local;
    memset(rep, 0, sizeof *rep);
    memset(out, 0, sizeof *out);
    char where[400];
    snprintf(where, sizeof where, "%s:%u %s", cfg->host, cfg->port, cfg->database);
    rule_set rs;
    rules_of(rules, &rs);
    if (rs.too_many)
        return dg_fail(err, "%s: query too long (at most 16 time windows)", where);
    app_fetch apps;
    app_fetch_start(&apps, cfg, rules, where);
    dg_mysql *m = NULL;
    /* The small tables, read whole and cleaned here. */
    dg_mysql_load_opts lo = {.progress = NULL};
    lo.skip[DG_T_EVENTS] = lo.skip[DG_T_APP_EVENTS] = 1;
    if (dg_mysql_load(small, cfg, &lo, err) != DG_OK)
        goto fail_small;
    if (prepare_small(small, rules, sc, out, rep, where, err) != DG_OK)
        goto fail_small;
    if (open_session(&m, cfg, err) != DG_OK)
        goto fail_features;
    int has_ev = 0, has_ae = 0;
    if (dg_mysql_has_column(m, "events", "dg_row", &has_ev, err) != DG_OK ||
        dg_mysql_has_column(m, "app_events", "dg_row", &has_ae, err) != DG_OK)
        goto fail_features;
    rep->ordered = has_ev && has_ae;
    fetch x;
    dg_i64map devs, phones, appmap;
    setup_fetch(&x, out, small, &rs, &devs, &phones, &appmap, where, progress);
    int rc = run_query(m, &x, DG_PD_Q_CHECK, rules, rep->ordered, on_check, rep, err);
    if (rc == DG_OK && x.check[0] != x.check[1])
        rc = dg_fail(err,
                     "%s: events has %" PRIu64 " rows but %" PRIu64 " distinct event ids; "
                     "features --db needs each event id once (load-db, then features, takes "
                     "the rows as they are)",
                     where, x.check[0], x.check[1]);
    if (rc == DG_OK)
        rc = run_query(m, &x, DG_PD_Q_COUNTS, rules, rep->ordered, on_count, rep, err);
    if (rc == DG_OK)
        rc = run_query(m, &x, DG_PD_Q_LOCATIONS, rules, rep->ordered, on_location, rep, err);
    if (rc == DG_OK)
        rc = run_query(m, &x, DG_PD_Q_VOCAB, rules, rep->ordered, on_vocab, rep, err);
    if (rc == DG_OK)
        code_vocabulary(&x, &appmap);
    rc = app_fetch_wait(&apps, m, rc != DG_OK, progress, rc == DG_OK ? err : NULL) == DG_OK
             ? rc
             : DG_ERR;
    rep->rows[DG_PD_Q_APPS] = apps.rep.rows[DG_PD_Q_APPS];
    rep->seconds[DG_PD_Q_APPS] = apps.rep.seconds[DG_PD_Q_APPS];
    if (rc == DG_OK)
        code_apps(&x, &apps.x);
    fetch_free(&apps.x);
    dg_mysql_close(m);
    m = NULL;
    if (rc == DG_OK)
        rc = build_columns(&x, small, sc, &appmap, eps_km, min_pts, cluster_report, progress, err);
    fetch_free(&x);
    dg_i64map_free(&devs);
    dg_i64map_free(&phones);
    dg_i64map_free(&appmap);
    if (rc != DG_OK)
        goto fail_features;
    rep->seconds_total = dg_now() - t0;
    dg_progress_report(progress, "features --db", DG_PD_NQUERIES, DG_PD_NQUERIES, "queries");
    return DG_OK;
fail_features:
    dg_features_free(out);
fail_small:
    if (apps.started) {
        (void)app_fetch_wait(&apps, m, 1, NULL, NULL);
        fetch_free(&apps.x);
    }
    dg_mysql_close(m);
    dg_dataset_free(small);
    dg_dataset_init(small);
    return DG_ERR;
}

/* ---- ClickHouse ------------------------------------------------------------------ */

static void window_sql_clickhouse(const rule_set *rs, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int w = 0; w < rs->nwindows && o < cap; w++) {
        char a[20], b[20];
        dg_format_time(rs->from[w], a);
        dg_format_time(rs->to[w], b);
        o += (size_t)snprintf(out + o, cap - o,
                              " AND `timestamp` >= toDateTime('%s') AND `timestamp` < "
                              "toDateTime('%s')",
                              a, b);
    }
}

#define PARTS_SQL_CH                                                                          \
    "SUM(CASE WHEN toHour(`timestamp`) < 6 THEN 1 ELSE 0 END), "                              \
    "SUM(CASE WHEN toHour(`timestamp`) >= 6 AND toHour(`timestamp`) < 12 THEN 1 ELSE 0 END), " \
    "SUM(CASE WHEN toHour(`timestamp`) >= 12 AND toHour(`timestamp`) < 18 THEN 1 ELSE 0 END)"

/* The COUNTS query's per-hour and per-weekday columns packed (on_count):
 * sum k adds 1 << (PACK_BITS * j) for an event of hour 3k + j, then for
 * weekday 3k + j, counted Sunday 0 as MySQL's DAYOFWEEK orders them
 * (toDayOfWeek % 7: Monday 1 .. Saturday 6, Sunday 7 -> 0). */
static void packed_sums(char *sums, size_t cap)
{
    size_t o = 0;
    for (int k = 0; k < PACKED_SUMS && o < cap; k++) {
        const char *of = k < 8 ? "toHour(`timestamp`)" : "(toDayOfWeek(`timestamp`) % 7)";
        o += (size_t)snprintf(sums + o, cap - o,
                              ", SUM(bitShiftLeft(toUInt64(intDiv(%s, 3) = %d), %d * (%s %% 3)))",
                              of, k < 8 ? k : k - 8, PACK_BITS, of);
    }
}

int dg_pushdown_sql_clickhouse(int q, const dg_rules *rules, char *buf, size_t cap)
{
    rule_set rs;
    rules_of(rules, &rs);
    if (rs.too_many)
        return DG_ERR;
    char win[16 * 120];
    window_sql_clickhouse(&rs, win, sizeof win);
    int n = -1;
    switch (q) {
    case DG_PD_Q_CHECK:
        n = snprintf(buf, cap, "SELECT COUNT(*), COUNT(DISTINCT `event_id`) FROM `events`");
        break;
    case DG_PD_Q_COUNTS:
    case DG_PD_CH_COUNTS_UNPACKED: {
        char sums[31 * 90];
        if (q == DG_PD_Q_COUNTS)
            packed_sums(sums, sizeof sums);
        else
            hour_weekday_sums(sums, sizeof sums, "toHour(`timestamp`)", "toDayOfWeek(`timestamp`)",
                              1);
        n = snprintf(buf, cap,
                     "SELECT `device_id`, COUNT(*), COUNT(DISTINCT toDate(`timestamp`))%s "
                     "FROM `events` WHERE 1 = 1%s GROUP BY `device_id`",
                     sums, win);
        break;
    }
    case DG_PD_Q_LOCATIONS:
        n = snprintf(buf, cap,
                     "SELECT `device_id`, `latitude`, `longitude`, COUNT(*), " PARTS_SQL_CH
                     ", MIN(`dg_row`) FROM `events` "
                     "WHERE `latitude` IS NOT NULL AND `longitude` IS NOT NULL%s%s%s "
                     "GROUP BY `device_id`, `latitude`, `longitude`",
                     rs.zero ? " AND `latitude` <> 0 AND `longitude` <> 0" : "",
                     rs.unit_box ? " AND NOT (`latitude` BETWEEN -1 AND 1 AND "
                                   "`longitude` BETWEEN -1 AND 1)"
                                 : "",
                     win);
        break;
    case DG_PD_Q_APPS:
        /* The inner join of the MySQL form: only app rows whose event exists. */
        n = snprintf(buf, cap,
                     "SELECT `device_id`, `app_id`, COUNT(*), "
                     "SUM(CASE WHEN `is_active` <> 0 THEN 1 ELSE 0 END) "
                     "FROM `app_events` WHERE `dg_has_event` = 1%s GROUP BY `device_id`, `app_id`",
                     win);
        break;
    case DG_PD_Q_VOCAB:
        n = snprintf(buf, cap, "SELECT `app_id`, MIN(`dg_row`) FROM `app_events` GROUP BY `app_id`");
        break;
    default: return DG_ERR;
    }
    return n < 0 || (size_t)n >= cap ? DG_ERR : DG_OK;
}

/* Whether query q's rows may come from the shards unmerged: its GROUP BY
 * key holds device_id, and (by_device) every row of a device lives on one
 * shard, so each group is whole on its shard and the coordinator's merge of
 * the shards' partial groups (a second hash table as large as the result)
 * can be skipped. Never for the check and the vocabulary, whose keys are not
 * the device (the setting gives wrong answers there). */
static const char *no_merge(int q, int by_device)
{
    int keyed = q == DG_PD_Q_COUNTS || q == DG_PD_CH_COUNTS_UNPACKED ||
                q == DG_PD_Q_LOCATIONS || q == DG_PD_Q_APPS;
    return by_device && keyed ? "distributed_group_by_no_merge=1" : NULL;
}

static int run_query_clickhouse(const dg_ch_config *cfg, fetch *x, int q, const dg_rules *rules,
                                dg_mysql_row_fn fn, dg_pushdown_report *rep, dg_err *err)
{
    char sql[4096];
    int slot = q == DG_PD_CH_COUNTS_UNPACKED ? DG_PD_Q_COUNTS : q; /* its name and report */
    if (dg_pushdown_sql_clickhouse(q, rules, sql, sizeof sql) != DG_OK)
        return dg_fail(err, "%s: %s: query too long (at most 16 time windows)", x->where,
                       dg_pushdown_query_name(slot));
    if (dg_progress_report(x->progress, dg_pushdown_query_name(slot), slot, DG_PD_NQUERIES,
                           "queries"))
        return dg_cancel(err, "%s: cancelled", x->where);
    x->what = dg_pushdown_query_name(slot);
    x->rows = 0;
    double t0 = dg_now();
    dg_ch_call call = {.what = dg_pushdown_query_name(slot), .progress = x->progress,
                       .settings = no_merge(q, x->by_device)};
    int rc = dg_ch_query_rows(cfg, &call, sql, fn, x, err);
    rep->rows[slot] = x->rows;
    rep->seconds[slot] += dg_now() - t0;
    rep->bytes += call.bytes;
    return rc;
}

/* The app rows and the app vocabulary, the two queries over the largest
 * table, run on a request of their own from the start, beside the small
 * tables and the event queries on the calling thread: the servers work on
 * both at once, and the client parses one query's rows while the cluster
 * computes the other's (18.16 sends a GROUP BY's rows only once it is done,
 * and the whole result with wait_end_of_query=1). The lane keeps its rows as
 * received (the devices and the vocabulary are known only later). It never
 * reports progress itself (the caller's callback may not be thread-safe):
 * its requests poll `stop`, which the waiting thread sets on a cancel, and a
 * stopped request kills its query by query_id. */
typedef struct ch_lane {
    const dg_ch_config *cfg;
    const dg_rules *rules;
    fetch x; /* its own counters and rows: raw (app rows) and voc */
    dg_pushdown_report rep;
    dg_progress stop;
    atomic_int stopping;
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t finished;
    int started, done, rc;
    dg_err err;
} ch_lane;

static int lane_stopped(void *ctx, const char *stage, double done, double total,
                        const char *unit)
{
    (void)stage, (void)done, (void)total, (void)unit;
    return atomic_load(&((ch_lane *)ctx)->stopping);
}

static int run_query_clickhouse(const dg_ch_config *cfg, fetch *x, int q, const dg_rules *rules,
                                dg_mysql_row_fn fn, dg_pushdown_report *rep, dg_err *err);

static void *ch_lane_main(void *arg)
{
    ch_lane *a = arg;
    int rc = run_query_clickhouse(a->cfg, &a->x, DG_PD_Q_APPS, a->rules, on_app, &a->rep, &a->err);
    if (rc == DG_OK)
        rc = run_query_clickhouse(a->cfg, &a->x, DG_PD_Q_VOCAB, a->rules, on_vocab, &a->rep,
                                  &a->err);
    pthread_mutex_lock(&a->lock);
    a->rc = rc;
    a->done = 1;
    pthread_cond_signal(&a->finished);
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

static void ch_lane_start(ch_lane *a, const dg_ch_config *cfg, const dg_rules *rules,
                          const char *where, int by_device)
{
    memset(a, 0, sizeof *a);
    a->cfg = cfg;
    a->rules = rules;
    a->x.where = where;
    a->x.by_device = by_device;
    a->stop = (dg_progress){.fn = lane_stopped, .ctx = a};
    a->x.progress = &a->stop;
    atomic_init(&a->stopping, 0);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->finished, NULL);
    a->started = pthread_create(&a->tid, NULL, ch_lane_main, a) == 0;
}

/* Waits for the lane, reporting the wait; with cancel (or when the progress
 * asks to stop) its requests are stopped first. err (NULL when cancelling on
 * another failure) gets the reason. */
static int ch_lane_wait(ch_lane *a, int cancel, const dg_progress *progress, dg_err *err)
{
    if (!a->started && cancel) {
        a->done = 1;
        a->rc = dg_cancel(&a->err, "%s: app rows: cancelled", a->x.where);
    } else if (!a->started) {
        ch_lane_main(a); /* no thread to be had: the queries run here */
    }
    double t0 = dg_now();
    pthread_mutex_lock(&a->lock);
    while (!a->done) {
        if (!cancel) {
            pthread_mutex_unlock(&a->lock);
            cancel = dg_progress_report(progress, "app rows (the server is working)",
                                        dg_now() - t0, 0, "s");
            pthread_mutex_lock(&a->lock);
        }
        if (cancel)
            atomic_store(&a->stopping, 1);
        wait_a_quarter(&a->finished, &a->lock);
    }
    pthread_mutex_unlock(&a->lock);
    worker_end(a->tid, &a->started, &a->lock, &a->finished);
    if (a->rc == DG_OK)
        return DG_OK;
    if (err && atomic_load(&a->stopping))
        return dg_cancel(err, "%s: app rows: cancelled", a->x.where);
    if (err)
        *err = a->err;
    return DG_ERR;
}

int dg_features_pushdown_clickhouse(const dg_ch_config *cfg, const dg_rules *rules,
                                    const dg_supercats *sc, double eps_km, double min_pts,
                                    dg_features *out, dg_dataset *small,
                                    dg_dbscan_report *cluster_report, dg_pushdown_report *report,
                                    const dg_progress *progress, dg_err *err)
{
    double t0 = dg_now();
    dg_pushdown_report rep_local;
    dg_pushdown_report *rep = report ? report : &rep_local;
    memset(rep, 0, sizeof *rep);
    memset(out, 0, sizeof *out);
    char where[1200];
    snprintf(where, sizeof where, "%s %s", cfg->url, cfg->database);
    rule_set rs;
    rules_of(rules, &rs);
    if (rs.too_many)
        return dg_fail(err, "%s: query too long (at most 16 time windows)", where);
    int skip[DG_T_COUNT] = {0};
    skip[DG_T_EVENTS] = skip[DG_T_APP_EVENTS] = 1;
    ch_lane lane;
    lane.started = 0;
    int by_device;
    if (dg_ch_config_check(cfg, err) != DG_OK ||
        dg_ch_sharded_by_device(cfg, &by_device, err) != DG_OK)
        goto fail_small;
    ch_lane_start(&lane, cfg, rules, where, by_device);
    if (dg_ch_load(small, cfg, skip, NULL, &rep->bytes, err) != DG_OK)
        goto fail_small;
    if (prepare_small(small, rules, sc, out, rep, where, err) != DG_OK)
        goto fail_features;
    rep->ordered = 1; /* db-import writes dg_row */
    fetch x;
    dg_i64map devs, phones, appmap;
    setup_fetch(&x, out, small, &rs, &devs, &phones, &appmap, where, progress);
    x.by_device = by_device;
    int rc = run_query_clickhouse(cfg, &x, DG_PD_Q_CHECK, rules, on_check, rep, err);
    if (rc == DG_OK && x.check[0] != x.check[1])
        rc = dg_fail(err,
                     "%s: events has %" PRIu64 " rows but %" PRIu64 " distinct event ids; "
                     "features --db needs each event id once",
                     where, x.check[0], x.check[1]);
    if (rc == DG_OK)
        rc = run_query_clickhouse(cfg, &x, DG_PD_Q_COUNTS, rules, on_count, rep, err);
    if (rc == DG_OK && x.too_many_to_pack) {
        /* The packed fields could have overflowed: the counts again, whole. */
        for (uint32_t d = 0; d < out->ndevices; d++) {
            float *r = out->dense + (size_t)d * out->ncols;
            for (int h = 0; h < 24; h++)
                r[DG_FC_HOUR0 + h] = 0;
            for (int w = 0; w < 7; w++)
                r[DG_FC_WEEKDAY0 + w] = 0;
            x.nev[d] = x.ndays[d] = 0;
        }
        rc = run_query_clickhouse(cfg, &x, DG_PD_CH_COUNTS_UNPACKED, rules, on_count, rep, err);
    }
    if (rc == DG_OK)
        rc = run_query_clickhouse(cfg, &x, DG_PD_Q_LOCATIONS, rules, on_location, rep, err);
    rc = ch_lane_wait(&lane, rc != DG_OK, progress, rc == DG_OK ? err : NULL) == DG_OK ? rc
                                                                                       : DG_ERR;
    for (int q = DG_PD_Q_APPS; q <= DG_PD_Q_VOCAB; q++) {
        rep->rows[q] = lane.rep.rows[q];
        rep->seconds[q] = lane.rep.seconds[q];
    }
    rep->bytes += lane.rep.bytes;
    if (rc == DG_OK) {
        code_vocabulary(&lane.x, &appmap);
        code_apps(&x, &lane.x);
    }
    fetch_free(&lane.x);
    if (rc == DG_OK)
        rc = build_columns(&x, small, sc, &appmap, eps_km, min_pts, cluster_report, progress, err);
    fetch_free(&x);
    dg_i64map_free(&devs);
    dg_i64map_free(&phones);
    dg_i64map_free(&appmap);
    if (rc != DG_OK)
        goto fail_features;
    rep->seconds_total = dg_now() - t0;
    dg_progress_report(progress, "features --db", DG_PD_NQUERIES, DG_PD_NQUERIES, "queries");
    return DG_OK;
fail_features:
    dg_features_free(out);
fail_small:
    if (lane.started) {
        (void)ch_lane_wait(&lane, 1, NULL, NULL);
        fetch_free(&lane.x);
    }
    dg_dataset_free(small);
    dg_dataset_init(small);
    return DG_ERR;
}
