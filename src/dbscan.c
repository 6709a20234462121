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

int dg_dbscan(const float *lat, const float *lon, const float *weights, size_t n, double eps_km,
              double min_pts, int32_t *labels, uint8_t *is_core, dg_dbscan_report *report,
              const dg_progress *progress, dg_err *err)
{
    double t0 = dg_now();
    if (!(eps_km > 0) || eps_km > 10000)
        return dg_fail(err, "eps must be a distance in km above 0 and at most 10000, not %g",
                       eps_km);
    if (!(min_pts > 0))
        return dg_fail(err, "min_pts must be above 0, not %g", min_pts);
    /* Collapse equal locations (bit-equal floats) into weighted ones. */
    keyed *kp = dg_xmalloc((n + 1) * sizeof *kp);
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        labels[i] = -1;
        if (is_core)
            is_core[i] = 0;
        if (isnan(lat[i]) || isnan(lon[i]) || fabsf(lat[i]) > 90 || fabsf(lon[i]) > 180)
            continue;
        uint32_t a, b;
        float fa = lat[i] == 0 ? 0.0f : lat[i], fb = lon[i] == 0 ? 0.0f : lon[i];
        memcpy(&a, &fa, 4);
        memcpy(&b, &fb, 4);
        kp[nv++] = (keyed){(uint64_t)a << 32 | b, i};
    }
    qsort(kp, nv, sizeof *kp, by_key);
    loc *L = dg_xmalloc((nv + 1) * sizeof *L);
    uint32_t *loc_of = dg_xmalloc((nv + 1) * sizeof *loc_of); /* by position in kp */
    uint32_t nl = 0;
    for (size_t k = 0; k < nv; k++) {
        size_t i = kp[k].idx;
        double w = weights ? weights[i] : 1.0;
        if (k == 0 || kp[k].key != kp[k - 1].key) {
            L[nl] = (loc){lat[i] * DEG, lon[i] * DEG, 0, i};
            nl++;
        }
        L[nl - 1].weight += w;
        loc_of[k] = nl - 1;
    }
    /* Seeds in the order of each location's first point. */
    uint32_t *seed = dg_xmalloc(((size_t)nl + 1) * sizeof *seed);
    {
        keyed *fk = dg_xmalloc(((size_t)nl + 1) * sizeof *fk);
        for (uint32_t i = 0; i < nl; i++)
            fk[i] = (keyed){L[i].first, i};
        qsort(fk, nl, sizeof *fk, by_key);
        for (uint32_t i = 0; i < nl; i++)
            seed[i] = (uint32_t)fk[i].idx;
        free(fk);
    }
    double eps = eps_km / EARTH_KM;
    grid g;
    grid_build(&g, L, nl, eps / DEG * 1.000001);
    neigh nb = {0};
    uint8_t *core = dg_xcalloc((size_t)nl + 1, 1);
    int rc = DG_OK;
    for (uint32_t p = 0; p < nl && rc == DG_OK; p++) {
        if (p % 4096 == 0 && dg_progress_report(progress, "dbscan: core points", p, nl, "locations"))
            rc = dg_fail(err, "cancelled");
        neighbours(&g, L, p, eps, &nb);
        double w = 0;
        for (uint32_t k = 0; k < nb.n; k++)
            w += L[nb.v[k]].weight;
        core[p] = w >= min_pts;
    }
    int32_t *lab = dg_xmalloc(((size_t)nl + 1) * sizeof *lab);
    for (uint32_t i = 0; i < nl; i++)
        lab[i] = -1;
    uint32_t *stack = dg_xmalloc(((size_t)nl + 1) * sizeof *stack);
    int32_t clusters = 0;
    for (uint32_t s = 0; s < nl && rc == DG_OK; s++) {
        uint32_t p0 = seed[s];
        if (lab[p0] != -1 || !core[p0])
            continue;
        if (dg_progress_report(progress, "dbscan: clusters", s, nl, "locations")) {
            rc = dg_fail(err, "cancelled");
            break;
        }
        int32_t c = clusters++;
        uint32_t top = 0;
        lab[p0] = c;
        stack[top++] = p0;
        while (top) {
            uint32_t p = stack[--top];
            neighbours(&g, L, p, eps, &nb);
            for (uint32_t k = 0; k < nb.n; k++) {
                uint32_t q = nb.v[k];
                if (lab[q] != -1)
                    continue;
                lab[q] = c;
                if (core[q])
                    stack[top++] = q;
            }
        }
    }
    if (rc == DG_OK) {
        dg_dbscan_report r = {.points = n, .distinct = nl, .clusters = clusters};
        uint64_t *size = dg_xcalloc((size_t)clusters + 1, sizeof *size);
        for (size_t k = 0; k < nv; k++) {
            uint32_t l = loc_of[k];
            size_t i = kp[k].idx;
            labels[i] = lab[l];
            if (is_core)
                is_core[i] = core[l];
            r.core_points += core[l];
            if (lab[l] >= 0)
                size[lab[l]]++;
        }
        for (size_t i = 0; i < n; i++)
            r.noise_points += labels[i] < 0;
        for (int32_t c = 0; c < clusters; c++)
            r.largest_cluster_points = size[c] > r.largest_cluster_points ? size[c]
                                                                           : r.largest_cluster_points;
        free(size);
        r.seconds = dg_now() - t0;
        if (report)
            *report = r;
    } else {
        for (size_t i = 0; i < n; i++)
            labels[i] = -1;
        if (is_core)
            memset(is_core, 0, n);
    }
    free(stack);
    free(lab);
    free(core);
    free(nb.v);
    grid_free(&g);
    free(seed);
    free(loc_of);
    free(L);
    free(kp);
    return rc;
}
