#include "demographer/dbscan.h"

#include "demographer/i64map.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EARTH_KM 6371.0088
#define DEG (M_PI / 180.0)

double dg_haversine_km(double lat1, double lon1, double lat2, double lon2)
{
    double a = sin((lat2 - lat1) * DEG / 2), b = sin((lon2 - lon1) * DEG / 2);
    double h = a * a + cos(lat1 * DEG) * cos(lat2 * DEG) * b * b;
    return 2 * EARTH_KM * asin(sqrt(h < 1 ? h : 1));
}

/* One distinct location: its coordinates in radians, the weight of the
 * points at it, and the first input index among them (the seed order). */
typedef struct loc {
    double lat, lon;
    double weight;
    size_t first;
} loc;

typedef struct keyed {
    uint64_t key;
    size_t idx;
} keyed;

static int by_key(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* The grid: cells of `cell` degrees in both directions; the locations sorted
 * by cell, and a map from a cell to its range. */
typedef struct grid {
    double cell;
    uint32_t *order;  /* location ids by cell */
    uint32_t *start;  /* per cell code: order[start[c]..start[c+1]) */
    dg_i64map cells;  /* packed (row, col) -> cell code */
    int32_t *row, *col;
} grid;

static int64_t pack(int32_t r, int32_t c)
{
    return (int64_t)(((uint64_t)(uint32_t)r << 32) | (uint32_t)c);
}

static void grid_build(grid *g, const loc *L, uint32_t n, double cell)
{
    g->cell = cell;
    g->row = dg_xmalloc(((size_t)n + 1) * sizeof *g->row);
    g->col = dg_xmalloc(((size_t)n + 1) * sizeof *g->col);
    dg_i64map_init(&g->cells);
    uint32_t *code = dg_xmalloc(((size_t)n + 1) * sizeof *code);
    for (uint32_t i = 0; i < n; i++) {
        g->row[i] = (int32_t)floor(L[i].lat / DEG / cell);
        g->col[i] = (int32_t)floor(L[i].lon / DEG / cell);
        code[i] = dg_i64map_put(&g->cells, pack(g->row[i], g->col[i]));
    }
    uint32_t nc = g->cells.n;
    g->start = dg_xcalloc((size_t)nc + 2, sizeof *g->start);
    for (uint32_t i = 0; i < n; i++)
        g->start[code[i] + 1]++;
    for (uint32_t c = 0; c < nc; c++)
        g->start[c + 1] += g->start[c];
    uint32_t *fill = dg_xmalloc(((size_t)nc + 1) * sizeof *fill);
    memcpy(fill, g->start, (size_t)nc * sizeof *fill);
    g->order = dg_xmalloc(((size_t)n + 1) * sizeof *g->order);
    for (uint32_t i = 0; i < n; i++)
        g->order[fill[code[i]]++] = i;
    free(fill);
    free(code);
}

static void grid_free(grid *g)
{
    free(g->order);
    free(g->start);
    free(g->row);
    free(g->col);
    dg_i64map_free(&g->cells);
}

/* Calls visit(q) for every location q within eps (radians) of location p,
 * p included. Rows within one cell of p's hold every latitude within eps;
 * across those rows, longitudes within eps are within eps / cos(the largest
 * latitude reached) degrees (no wrap at the antimeridian). */
typedef struct neigh {
    uint32_t *v;
    uint32_t n, cap;
} neigh;

static void neighbours(const grid *g, const loc *L, uint32_t p, double eps, neigh *out)
{
    out->n = 0;
    double maxlat = fabs(L[p].lat / DEG) + g->cell;
    double c = maxlat >= 89.9 ? 0 : cos(maxlat * DEG);
    int32_t span = c <= 0 ? 0 : (int32_t)ceil(1.0 / c) + 1;
    int32_t cells_lon = (int32_t)ceil(360.0 / g->cell);
    if (c <= 0 || span * 2 + 1 > cells_lon)
        span = cells_lon; /* near a pole: every column */
    double sin_half_sq_eps = sin(eps / 2) * sin(eps / 2);
    double clat = cos(L[p].lat);
    for (int32_t r = g->row[p] - 1; r <= g->row[p] + 1; r++)
        for (int32_t k = g->col[p] - span; k <= g->col[p] + span; k++) {
            uint32_t code = dg_i64map_get(&g->cells, pack(r, k));
            if (code == UINT32_MAX)
                continue;
            for (uint32_t x = g->start[code]; x < g->start[code + 1]; x++) {
                uint32_t q = g->order[x];
                /* The haversine term compared with eps's: d <= eps exactly
                 * when it is (both sides are monotonic in the distance). */
                double a = sin((L[q].lat - L[p].lat) / 2), b = sin((L[q].lon - L[p].lon) / 2);
                double h = a * a + clat * cos(L[q].lat) * b * b;
                if (h > sin_half_sq_eps * (1 + 1e-9))
                    continue;
                /* Close to the edge: decide as scikit-learn does, on the
                 * distance in radians. */
                if (h > sin_half_sq_eps * (1 - 1e-9) && 2 * asin(sqrt(h < 1 ? h : 1)) > eps)
                    continue;
                if (out->n == out->cap) {
                    out->cap = out->cap ? out->cap * 2 : 64;
                    out->v = dg_xrealloc(out->v, (size_t)out->cap * sizeof *out->v);
                }
                out->v[out->n++] = q;
            }
        }
}

/* ---- distinct locations ---------------------------------------------------- */

struct dg_dbscan_order {
    loc *L;         /* radians, weight, first point */
    uint32_t *seed; /* locations in the order of their first point */
};

void dg_dbscan_locs_free(dg_dbscan_locs *d)
{
    free(d->lat);
    free(d->lon);
    free(d->weight);
    free(d->count);
    free(d->of_point);
    if (d->order) {
        free(d->order->L);
        free(d->order->seed);
        free(d->order);
    }
    memset(d, 0, sizeof *d);
}

int dg_dbscan_locs_build(dg_dbscan_locs *d, const float *lat, const float *lon,
                         const float *weights, size_t n, dg_err *err)
{
    memset(d, 0, sizeof *d);
    for (size_t i = 0; weights && i < n; i++)
        if (!isfinite(weights[i]) || weights[i] < 0)
            return dg_fail(err, "the weight of point %zu is %g: weights must be finite and >= 0",
                           i, weights[i]);
    if (n >= UINT32_MAX)
        return dg_fail(err, "%zu points: at most %u can be clustered at once", n,
                       UINT32_MAX - 1);
    /* Collapse equal locations (bit-equal floats, -0 as 0) into weighted ones. */
    keyed *kp = dg_xmalloc((n + 1) * sizeof *kp);
    size_t nv = 0;
    d->npoints = n;
    d->of_point = dg_xmalloc((n + 1) * sizeof *d->of_point);
    for (size_t i = 0; i < n; i++) {
        d->of_point[i] = UINT32_MAX;
        if (isnan(lat[i]) || isnan(lon[i]) || fabsf(lat[i]) > 90 || fabsf(lon[i]) > 180)
            continue;
        uint32_t a, b;
        float fa = lat[i] == 0 ? 0.0f : lat[i], fb = lon[i] == 0 ? 0.0f : lon[i];
        memcpy(&a, &fa, 4);
        memcpy(&b, &fb, 4);
        kp[nv++] = (keyed){(uint64_t)a << 32 | b, i};
    }
    qsort(kp, nv, sizeof *kp, by_key);
    d->order = dg_xcalloc(1, sizeof *d->order);
    loc *L = d->order->L = dg_xmalloc((nv + 1) * sizeof *L);
    uint32_t nl = 0;
    for (size_t k = 0; k < nv; k++) {
        size_t i = kp[k].idx;
        if (k == 0 || kp[k].key != kp[k - 1].key)
            L[nl++] = (loc){lat[i] * DEG, lon[i] * DEG, 0, i};
        L[nl - 1].weight += weights ? weights[i] : 1.0;
        d->of_point[i] = nl - 1;
    }
    d->n = nl;
    d->lat = dg_xmalloc(((size_t)nl + 1) * sizeof *d->lat);
    d->lon = dg_xmalloc(((size_t)nl + 1) * sizeof *d->lon);
    d->weight = dg_xmalloc(((size_t)nl + 1) * sizeof *d->weight);
    d->count = dg_xcalloc((size_t)nl + 1, sizeof *d->count);
    for (uint32_t l = 0; l < nl; l++) {
        d->lat[l] = lat[L[l].first];
        d->lon[l] = lon[L[l].first];
        d->weight[l] = L[l].weight;
        d->total_weight += L[l].weight;
    }
    for (size_t k = 0; k < nv; k++)
        d->count[d->of_point[kp[k].idx]]++;
    /* Seeds in the order of each location's first point. */
    uint32_t *seed = d->order->seed = dg_xmalloc(((size_t)nl + 1) * sizeof *seed);
    for (uint32_t l = 0; l < nl; l++)
        kp[l] = (keyed){L[l].first, l};
    qsort(kp, nl, sizeof *kp, by_key);
    for (uint32_t l = 0; l < nl; l++)
        seed[l] = (uint32_t)kp[l].idx;
    free(kp);
    return DG_OK;
}

/* ---- one eps: the grid and every location's neighbour weight ---------------- */

typedef struct eps_index {
    double eps; /* radians */
    grid g;
    double *wsum; /* per location: the weight within eps, itself included */
    double seconds;
} eps_index;

static int check_params(double eps_km, double min_pts, dg_err *err)
{
    if (!(eps_km > 0) || eps_km > 10000)
        return dg_fail(err, "eps must be a distance in km above 0 and at most 10000, not %g",
                       eps_km);
    if (!(min_pts > 0))
        return dg_fail(err, "min_pts must be above 0, not %g", min_pts);
    return DG_OK;
}

static void eps_index_free(eps_index *x)
{
    grid_free(&x->g);
    free(x->wsum);
}

static int eps_index_build(const dg_dbscan_locs *d, double eps_km, eps_index *x, neigh *nb,
                           const dg_progress *progress, dg_err *err)
{
    double t0 = dg_now();
    const loc *L = d->order->L;
    x->eps = eps_km / EARTH_KM;
    grid_build(&x->g, L, d->n, x->eps / DEG * 1.000001);
    x->wsum = dg_xmalloc(((size_t)d->n + 1) * sizeof *x->wsum);
    for (uint32_t p = 0; p < d->n; p++) {
        if (p % 4096 == 0 &&
            dg_progress_report(progress, "dbscan: core points", p, d->n, "locations")) {
            eps_index_free(x);
            return dg_cancel(err, "cancelled");
        }
        neighbours(&x->g, L, p, x->eps, nb);
        double w = 0;
        for (uint32_t k = 0; k < nb->n; k++)
            w += L[nb->v[k]].weight;
        x->wsum[p] = w;
    }
    x->seconds = dg_now() - t0;
    return DG_OK;
}

/* Grows the clusters for min_pts over an index: lab and core per location. */
static int expand(const dg_dbscan_locs *d, const eps_index *x, double min_pts, int32_t *lab,
                  uint8_t *core, int32_t *nclusters, neigh *nb, const dg_progress *progress,
                  dg_err *err)
{
    const loc *L = d->order->L;
    const uint32_t *seed = d->order->seed;
    uint32_t nl = d->n;
    for (uint32_t i = 0; i < nl; i++) {
        lab[i] = -1;
        core[i] = x->wsum[i] >= min_pts;
    }
    uint32_t *stack = dg_xmalloc(((size_t)nl + 1) * sizeof *stack);
    int32_t clusters = 0;
    int rc = DG_OK;
    for (uint32_t s = 0; s < nl; s++) {
        uint32_t p0 = seed[s];
        if (lab[p0] != -1 || !core[p0])
            continue;
        if (dg_progress_report(progress, "dbscan: clusters", s, nl, "locations")) {
            rc = dg_cancel(err, "cancelled");
            break;
        }
        int32_t c = clusters++;
        uint32_t top = 0;
        lab[p0] = c;
        stack[top++] = p0;
        while (top) {
            uint32_t p = stack[--top];
            neighbours(&x->g, L, p, x->eps, nb);
            for (uint32_t k = 0; k < nb->n; k++) {
                uint32_t q = nb->v[k];
                if (lab[q] != -1)
                    continue;
                lab[q] = c;
                if (core[q])
                    stack[top++] = q;
            }
        }
    }
    free(stack);
    *nclusters = clusters;
    return rc;
}

static void fill_report(const dg_dbscan_locs *d, const int32_t *lab, const uint8_t *core,
                        int32_t clusters, dg_dbscan_report *r)
{
    memset(r, 0, sizeof *r);
    r->points = d->npoints;
    r->distinct = d->n;
    r->clusters = clusters;
    r->total_weight = d->total_weight;
    uint64_t *size = dg_xcalloc((size_t)clusters + 1, sizeof *size);
    double *wsize = dg_xcalloc((size_t)clusters + 1, sizeof *wsize);
    uint64_t located = 0;
    for (uint32_t l = 0; l < d->n; l++) {
        located += d->count[l];
        r->core_points += core[l] ? d->count[l] : 0;
        if (lab[l] >= 0) {
            size[lab[l]] += d->count[l];
            wsize[lab[l]] += d->weight[l];
        } else {
            r->noise_points += d->count[l];
            r->noise_weight += d->weight[l];
        }
    }
    r->noise_points += d->npoints - located;
    for (int32_t c = 0; c < clusters; c++) {
        if (size[c] > r->largest_cluster_points)
            r->largest_cluster_points = size[c];
        if (wsize[c] > r->largest_cluster_weight)
            r->largest_cluster_weight = wsize[c];
    }
    free(size);
    free(wsize);
}

int dg_dbscan_run(const dg_dbscan_locs *d, double eps_km, double min_pts, int32_t *label,
                  uint8_t *core, dg_dbscan_report *report, const dg_progress *progress,
                  dg_err *err)
{
    double t0 = dg_now();
    if (check_params(eps_km, min_pts, err) != DG_OK)
        return DG_ERR;
    neigh nb = {0};
    eps_index x;
    if (eps_index_build(d, eps_km, &x, &nb, progress, err) != DG_OK) {
        free(nb.v);
        for (uint32_t l = 0; l < d->n; l++)
            label[l] = -1;
        if (core)
            memset(core, 0, d->n);
        return DG_ERR;
    }
    uint8_t *own_core = core ? NULL : dg_xmalloc((size_t)d->n + 1);
    uint8_t *cf = core ? core : own_core;
    int32_t clusters = 0;
    int rc = expand(d, &x, min_pts, label, cf, &clusters, &nb, progress, err);
    if (rc == DG_OK && report) {
        fill_report(d, label, cf, clusters, report);
        report->seconds = dg_now() - t0;
    }
    if (rc != DG_OK) { /* nothing half-built: every location noise */
        for (uint32_t l = 0; l < d->n; l++)
            label[l] = -1;
        memset(cf, 0, d->n);
    }
    free(own_core);
    eps_index_free(&x);
    free(nb.v);
    return rc;
}

int dg_dbscan_sweep(const dg_dbscan_locs *d, const double *eps_km, int neps,
                    const double *min_pts, int nmin, dg_dbscan_sweep_row *rows,
                    const dg_progress *progress, dg_err *err)
{
    if (neps < 1 || nmin < 1)
        return dg_fail(err, "a sweep needs at least one eps and one min_pts (got %d and %d)",
                       neps, nmin);
    for (int e = 0; e < neps; e++)
        for (int m = 0; m < nmin; m++)
            if (check_params(eps_km[e], min_pts[m], err) != DG_OK)
                return DG_ERR;
    int32_t *lab = dg_xmalloc(((size_t)d->n + 1) * sizeof *lab);
    uint8_t *core = dg_xmalloc((size_t)d->n + 1);
    neigh nb = {0};
    int rc = DG_OK;
    for (int e = 0; e < neps && rc == DG_OK; e++) {
        eps_index x;
        if (dg_progress_report(progress, "dbscan sweep", (double)e * nmin,
                               (double)neps * nmin, "pairs")) {
            rc = dg_cancel(err, "cancelled");
            break;
        }
        if (eps_index_build(d, eps_km[e], &x, &nb, progress, err) != DG_OK) {
            rc = DG_ERR;
            break;
        }
        for (int m = 0; m < nmin && rc == DG_OK; m++) {
            double t0 = dg_now();
            int32_t clusters;
            if (expand(d, &x, min_pts[m], lab, core, &clusters, &nb, progress, err) != DG_OK) {
                rc = DG_ERR;
                break;
            }
            dg_dbscan_report r;
            fill_report(d, lab, core, clusters, &r);
            dg_dbscan_sweep_row *row = &rows[e * nmin + m];
            row->eps_km = eps_km[e];
            row->min_pts = min_pts[m];
            row->clusters = clusters;
            row->core_locations = 0;
            for (uint32_t l = 0; l < d->n; l++)
                row->core_locations += core[l];
            row->noise_share = r.total_weight > 0 ? r.noise_weight / r.total_weight : 0;
            row->largest_share = r.total_weight > 0 ? r.largest_cluster_weight / r.total_weight : 0;
            row->seconds = x.seconds + (dg_now() - t0);
        }
        eps_index_free(&x);
    }
    if (rc != DG_OK) /* nothing half-filled */
        memset(rows, 0, (size_t)neps * nmin * sizeof *rows);
    free(nb.v);
    free(lab);
    free(core);
    return rc;
}

/* ---- the points' DBSCAN ------------------------------------------------------- */

int dg_dbscan(const float *lat, const float *lon, const float *weights, size_t n, double eps_km,
              double min_pts, int32_t *labels, uint8_t *is_core, dg_dbscan_report *report,
              const dg_progress *progress, dg_err *err)
{
    double t0 = dg_now();
    for (size_t i = 0; i < n; i++) {
        labels[i] = -1;
        if (is_core)
            is_core[i] = 0;
    }
    if (check_params(eps_km, min_pts, err) != DG_OK)
        return DG_ERR;
    dg_dbscan_locs d;
    if (dg_dbscan_locs_build(&d, lat, lon, weights, n, err) != DG_OK)
        return DG_ERR;
    int32_t *lab = dg_xmalloc(((size_t)d.n + 1) * sizeof *lab);
    uint8_t *core = dg_xmalloc((size_t)d.n + 1);
    int rc = dg_dbscan_run(&d, eps_km, min_pts, lab, core, report, progress, err);
    if (rc == DG_OK) {
        for (size_t i = 0; i < n; i++) {
            uint32_t l = d.of_point[i];
            if (l == UINT32_MAX)
                continue;
            labels[i] = lab[l];
            if (is_core)
                is_core[i] = core[l];
        }
        if (report)
            report->seconds = dg_now() - t0;
    }
    free(lab);
    free(core);
    dg_dbscan_locs_free(&d);
    return rc;
}

/* ---- k-distance ---------------------------------------------------------------- */

#define KDIST_CELL0 0.01 /* degrees: about the data's two-decimal step */
#define KDIST_LEVELS 16  /* 0.01 * 2^15 = 327 degrees: the last level holds the globe */

typedef struct dist_w {
    double d, w;
} dist_w;

static int by_dist(const void *a, const void *b)
{
    const dist_w *x = a, *y = b;
    return (x->d > y->d) - (x->d < y->d);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

uint32_t dg_kdist_knee(const double *v, uint32_t n)
{
    if (n < 3)
        return 0;
    double y0 = log10(1 + v[0]), y1 = log10(1 + v[n - 1]);
    if (!(y1 > y0))
        return 0;
    /* Chord from (0, 0) to (1, 1) in scaled units: the distance below it is
     * x - y up to a constant factor. */
    uint32_t best = 0;
    double best_gap = -1;
    for (uint32_t i = 0; i < n; i++) {
        double x = (double)i / (n - 1), y = (log10(1 + v[i]) - y0) / (y1 - y0);
        if (x - y > best_gap) {
            best_gap = x - y;
            best = i;
        }
    }
    return best;
}

void dg_kdist_free(dg_kdist *kd)
{
    free(kd->km);
    free(kd->sorted);
    memset(kd, 0, sizeof *kd);
}

int dg_kdist_compute(const dg_dbscan_locs *d, double k, dg_kdist *out,
                     const dg_progress *progress, dg_err *err)
{
    double t0 = dg_now();
    memset(out, 0, sizeof *out);
    if (!(k > 0))
        return dg_fail(err, "k must be above 0, not %g", k);
    const loc *L = d->order->L;
    grid levels[KDIST_LEVELS];
    int built[KDIST_LEVELS] = {0};
    double *km = dg_xmalloc(((size_t)d->n + 1) * sizeof *km);
    neigh nb = {0};
    dist_w *dw = NULL;
    size_t dwcap = 0;
    int rc = DG_OK;
    for (uint32_t p = 0; p < d->n; p++) {
        if (p % 4096 == 0 && dg_progress_report(progress, "k-distance", p, d->n, "locations")) {
            rc = dg_cancel(err, "cancelled");
            break;
        }
        km[p] = INFINITY;
        if (L[p].weight >= k) {
            km[p] = 0;
            continue;
        }
        for (int j = 0; j < KDIST_LEVELS; j++) {
            double cell = KDIST_CELL0 * (double)(1u << j);
            if (!built[j]) {
                grid_build(&levels[j], L, d->n, cell);
                built[j] = 1;
            }
            /* Every location within `radius` of p is in the 3 rows of cells
             * around p's (neighbours' condition: cells no smaller than it). */
            double radius = cell * DEG / 1.000001;
            if (radius > M_PI) /* the haversine test is monotonic up to half the globe */
                radius = M_PI;
            neighbours(&levels[j], L, p, radius, &nb);
            double w = 0;
            for (uint32_t i = 0; i < nb.n; i++)
                w += L[nb.v[i]].weight;
            if (w < k)
                continue;
            if (nb.n > dwcap) {
                dwcap = (size_t)nb.n * 2;
                dw = dg_xrealloc(dw, dwcap * sizeof *dw);
            }
            for (uint32_t i = 0; i < nb.n; i++) {
                const loc *q = &L[nb.v[i]];
                double a = sin((q->lat - L[p].lat) / 2), b = sin((q->lon - L[p].lon) / 2);
                double h = a * a + cos(L[p].lat) * cos(q->lat) * b * b;
                dw[i] = (dist_w){nb.v[i] == p ? 0 : 2 * asin(sqrt(h < 1 ? h : 1)), q->weight};
            }
            qsort(dw, nb.n, sizeof *dw, by_dist);
            double acc = 0;
            for (uint32_t i = 0; i < nb.n; i++) {
                acc += dw[i].w;
                if (acc >= k) {
                    km[p] = dw[i].d * EARTH_KM;
                    break;
                }
            }
            break;
        }
    }
    for (int j = 0; j < KDIST_LEVELS; j++)
        if (built[j])
            grid_free(&levels[j]);
    free(nb.v);
    free(dw);
    if (rc != DG_OK) {
        free(km);
        return rc;
    }
    out->k = k;
    out->n = d->n;
    out->km = km;
    out->sorted = dg_xmalloc(((size_t)d->n + 1) * sizeof *out->sorted);
    for (uint32_t p = 0; p < d->n; p++)
        if (isfinite(km[p]))
            out->sorted[out->nsorted++] = km[p];
    qsort(out->sorted, out->nsorted, sizeof *out->sorted, cmp_double);
    out->knee_index = dg_kdist_knee(out->sorted, out->nsorted);
    out->knee_km = out->nsorted ? out->sorted[out->knee_index] : NAN;
    out->seconds = dg_now() - t0;
    dg_progress_report(progress, "k-distance", d->n, d->n, "locations");
    return DG_OK;
}
