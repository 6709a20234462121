/* Event samples, extents, projections, density grids and the basemap asset
 * (the drawing is geo_plot.c's). */
#include "demographer/geo.h"
#include "demographer/eda.h"

#include "demographer/clean.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAT_LIMIT 85.0
#define DEG (M_PI / 180.0)

/* ---- the sample ---------------------------------------------------------- */

/* Uniform in [0, bound) without modulo bias. */
static uint64_t random_below(uint64_t *state, uint64_t bound)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do
        r = dg_splitmix64(state);
    while (r >= limit);
    return r % bound;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The maps' groups are eda.h's DG_AGES_MAPS, in the same order. */
static int8_t age_group_of(int32_t age)
{
    return (int8_t)dg_age_group_of(DG_AGES_MAPS, age);
}

int dg_geo_sample_events(const dg_dataset *ds, uint32_t n, uint64_t seed, int labelled_only,
                         dg_geo_sample *s, const dg_progress *progress, dg_err *err)
{
    memset(s, 0, sizeof *s);
    const dg_table *ev = dg_dataset_table(ds, DG_T_EVENTS);
    if (!ev)
        return dg_fail(err, "maps need the events table (events.csv), which is not loaded");
    const dg_column *lonc = dg_table_column(ev, "longitude"), *latc = dg_table_column(ev, "latitude");
    const dg_column *devc = dg_table_column(ev, "device_id"), *locc = dg_table_column(ev, "location");
    if (!lonc || !latc || !devc)
        return dg_fail(err, "the events table has no longitude, latitude or device_id column");
    const float *lon = dg_col_f32(lonc), *lat = dg_col_f32(latc);
    const int8_t *loc = locc ? dg_col_i8(locc) : NULL;

    /* The labels: device id -> code, with gender and age group per code. */
    const dg_table *lt = dg_dataset_table(ds, DG_T_LABELS);
    dg_i64map index;
    dg_i64map_init(&index);
    int8_t *gender = NULL, *group = NULL;
    if (lt) {
        const dg_column *idc = dg_table_column(lt, "device_id"), *gc = dg_table_column(lt, "gender");
        const dg_column *ac = dg_table_column(lt, "age");
        gender = dg_xmalloc(lt->nrows + 1);
        group = dg_xmalloc(lt->nrows + 1);
        for (uint64_t i = 0; idc && gc && ac && i < lt->nrows; i++) {
            uint32_t before = index.n, k = dg_i64map_put(&index, dg_col_i64(idc)[i]);
            if (k != before)
                continue; /* a repeated device keeps its first label */
            const char *g = dg_strpool_get(&lt->strings, dg_col_u32(gc)[i]);
            gender[k] = strcmp(g, "M") == 0 ? DG_GEO_MALE : strcmp(g, "F") == 0 ? DG_GEO_FEMALE : -1;
            group[k] = age_group_of(dg_col_i32(ac)[i]);
        }
    } else if (labelled_only) {
        dg_i64map_free(&index);
        return dg_fail(err, "the gender and age maps need the labels table "
                            "(gender_age_train.csv or train.csv), which is not loaded");
    }

    /* Reservoir sampling (Vitter's algorithm R) over the eligible events, in
     * one pass: the reservoir holds row numbers, sorted at the end. */
    uint64_t *rows = dg_xmalloc(((size_t)n + 1) * sizeof *rows);
    uint64_t state = seed, seen = 0, skipped = 0;
    const uint64_t chunk = 1u << 18;
    for (uint64_t i = 0; i < ev->nrows; i++) {
        if (i % chunk == 0 &&
            dg_progress_report(progress, "sample events", (double)i, (double)ev->nrows, "rows")) {
            free(rows);
            free(gender);
            free(group);
            dg_i64map_free(&index);
            return dg_cancel(err, "cancelled");
        }
        if (isnan(lon[i]) || isnan(lat[i]) || (loc && loc[i] != DG_LOC_OBSERVED)) {
            skipped++;
            continue;
        }
        uint32_t k = lt ? dg_i64map_get(&index, dg_col_id(devc, i)) : UINT32_MAX;
        if (labelled_only && k == UINT32_MAX)
            continue;
        seen++;
        if (seen <= n) {
            rows[seen - 1] = i;
        } else {
            uint64_t j = random_below(&state, seen);
            if (j < n)
                rows[j] = i;
        }
    }
    dg_progress_report(progress, "sample events", (double)ev->nrows, (double)ev->nrows, "rows");
    uint32_t taken = seen < n ? (uint32_t)seen : n;
    qsort(rows, taken, sizeof *rows, cmp_u64); /* file order */
    s->n = taken;
    s->lon = dg_xmalloc(((size_t)taken + 1) * sizeof *s->lon);
    s->lat = dg_xmalloc(((size_t)taken + 1) * sizeof *s->lat);
    s->gender = dg_xmalloc((size_t)taken + 1);
    s->age_group = dg_xmalloc((size_t)taken + 1);
    for (uint32_t j = 0; j < taken; j++) {
        uint64_t i = rows[j];
        uint32_t k = lt ? dg_i64map_get(&index, dg_col_id(devc, i)) : UINT32_MAX;
        s->lon[j] = lon[i];
        s->lat[j] = lat[i];
        s->gender[j] = k == UINT32_MAX ? -1 : gender[k];
        s->age_group[j] = k == UINT32_MAX ? -1 : group[k];
    }
    s->eligible = seen;
    s->skipped = skipped;
    s->labelled_only = labelled_only;
    s->seed = seed;
    free(rows);
    free(gender);
    free(group);
    dg_i64map_free(&index);
    return DG_OK;
}

void dg_geo_sample_free(dg_geo_sample *s)
{
    free(s->lon);
    free(s->lat);
    free(s->gender);
    free(s->age_group);
    memset(s, 0, sizeof *s);
}

/* ---- maps: what is shown ------------------------------------------------- */

static const char *const kind_names[DG_MAP_KINDS] = {"all", "gender", "age"};

const char *dg_map_kind_name(dg_map_kind k)
{
    return k >= 0 && k < DG_MAP_KINDS ? kind_names[k] : "?";
}

int dg_map_kind_parse(const char *s)
{
    for (int k = 0; k < DG_MAP_KINDS; k++)
        if (strcmp(s, kind_names[k]) == 0)
            return k;
    return -1;
}

int dg_map_panels(dg_map_kind k)
{
    return k == DG_MAP_GENDER ? 2 : k == DG_MAP_AGE ? DG_GEO_AGE_GROUPS : 1;
}

const char *dg_map_panel_name(dg_map_kind k, int panel)
{
    static const char *const gender[] = {"Male", "Female"};
    static _Thread_local char age[DG_GEO_AGE_GROUPS][24]; /* "Age " and eda.h's name */
    if (k == DG_MAP_GENDER && panel >= 0 && panel < 2)
        return gender[panel];
    if (k == DG_MAP_AGE && panel >= 0 && panel < DG_GEO_AGE_GROUPS) {
        snprintf(age[panel], sizeof age[panel], "Age %s", dg_age_group_name(DG_AGES_MAPS, panel));
        return age[panel];
    }
    return "All events";
}

int dg_map_panel_of(const dg_geo_sample *s, dg_map_kind k, uint32_t i)
{
    switch (k) {
    case DG_MAP_GENDER: /* male first, on the left */
        return s->gender[i] == DG_GEO_MALE ? 0 : s->gender[i] == DG_GEO_FEMALE ? 1 : -1;
    case DG_MAP_AGE:
        return s->age_group[i];
    default:
        return 0;
    }
}

/* ---- extents and projections --------------------------------------------- */

static void extent_clamp(dg_extent *e)
{
    double w = e->lon1 - e->lon0, h = e->lat1 - e->lat0;
    if (w > 360)
        w = 360;
    if (h > 2 * LAT_LIMIT)
        h = 2 * LAT_LIMIT;
    if (e->lon0 < -180)
        e->lon0 = -180;
    if (e->lon0 + w > 180)
        e->lon0 = 180 - w;
    if (e->lat0 < -LAT_LIMIT)
        e->lat0 = -LAT_LIMIT;
    if (e->lat0 + h > LAT_LIMIT)
        e->lat0 = LAT_LIMIT - h;
    e->lon1 = e->lon0 + w;
    e->lat1 = e->lat0 + h;
}

int dg_extent_parse(const char *s, dg_extent *e, dg_err *err)
{
    double v[4];
    const char *p = s;
    static const char *const names[4] = {"LON0", "LON1", "LAT0", "LAT1"};
    for (int i = 0; i < 4; i++) {
        char *end;
        errno = 0;
        v[i] = strtod(p, &end);
        if (end == p || errno || !isfinite(v[i]))
            return dg_fail(err, "extent '%s': expected a number for %s at character %d, found '%s'",
                           s, names[i], (int)(p - s) + 1, *p ? p : "the end");
        p = end;
        if (i < 3) {
            if (*p != ',')
                return dg_fail(err, "extent '%s': expected ',' after %s at character %d, found '%s'",
                               s, names[i], (int)(p - s) + 1, *p ? p : "the end");
            p++;
        }
    }
    if (*p)
        return dg_fail(err, "extent '%s': expected the end after LAT1, found '%s'", s, p);
    if (v[0] < -180 || v[1] > 180 || v[0] >= v[1])
        return dg_fail(err, "extent '%s': expected -180 <= LON0 < LON1 <= 180, found %g and %g", s,
                       v[0], v[1]);
    if (v[2] < -LAT_LIMIT || v[3] > LAT_LIMIT || v[2] >= v[3])
        return dg_fail(err, "extent '%s': expected -85 <= LAT0 < LAT1 <= 85, found %g and %g", s,
                       v[2], v[3]);
    e->lon0 = v[0];
    e->lon1 = v[1];
    e->lat0 = v[2];
    e->lat1 = v[3];
    return DG_OK;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void robust_range(const float *v, uint32_t n, double *lo, double *hi)
{
    float *sorted = dg_xmalloc(((size_t)n + 1) * sizeof *sorted);
    memcpy(sorted, v, (size_t)n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_float);
    *lo = sorted[(size_t)((n - 1) * 0.001)];
    *hi = sorted[(size_t)ceil((n - 1) * 0.999)];
    free(sorted);
}

int dg_extent_of_sample(const dg_geo_sample *s, dg_extent *e, dg_err *err)
{
    if (s->n == 0)
        return dg_fail(err, "no events with observed coordinates to frame a map around");
    /* (0, 0) is the data's placeholder for "no position", not a place in
     * the Gulf of Guinea: it stays out of the frame. */
    float *lon = dg_xmalloc(((size_t)s->n + 1) * sizeof *lon);
    float *lat = dg_xmalloc(((size_t)s->n + 1) * sizeof *lat);
    uint32_t m = 0;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->lon[i] != 0 || s->lat[i] != 0) {
            lon[m] = s->lon[i];
            lat[m++] = s->lat[i];
        }
    if (m == 0) {
        free(lon);
        free(lat);
        return dg_fail(err, "no events with observed coordinates to frame a map around (only "
                            "(0, 0) placeholders)");
    }
    robust_range(lon, m, &e->lon0, &e->lon1);
    robust_range(lat, m, &e->lat0, &e->lat1);
    free(lon);
    free(lat);
    double w = fmax(e->lon1 - e->lon0, 1.0), h = fmax(e->lat1 - e->lat0, 1.0);
    double cx = (e->lon0 + e->lon1) / 2, cy = (e->lat0 + e->lat1) / 2;
    w *= 1.1;
    h *= 1.1;
    e->lon0 = cx - w / 2;
    e->lon1 = cx + w / 2;
    e->lat0 = cy - h / 2;
    e->lat1 = cy + h / 2;
    extent_clamp(e);
    return DG_OK;
}

void dg_extent_zoom(dg_extent *e, double factor)
{
    double cx = (e->lon0 + e->lon1) / 2, cy = (e->lat0 + e->lat1) / 2;
    double w = (e->lon1 - e->lon0) / factor, h = (e->lat1 - e->lat0) / factor;
    if (w < 0.01 || h < 0.01)
        return; /* finer than the data's two decimals shows nothing more */
    e->lon0 = cx - w / 2;
    e->lon1 = cx + w / 2;
    e->lat0 = cy - h / 2;
    e->lat1 = cy + h / 2;
    extent_clamp(e);
}

void dg_extent_pan(dg_extent *e, double dx, double dy)
{
    double w = e->lon1 - e->lon0, h = e->lat1 - e->lat0;
    e->lon0 += dx * w;
    e->lon1 += dx * w;
    e->lat0 += dy * h;
    e->lat1 += dy * h;
    extent_clamp(e);
}

static double proj_y(dg_projection kind, double lat)
{
    return kind == DG_PROJ_MERCATOR ? log(tan(M_PI / 4 + lat * DEG / 2)) : lat * DEG;
}

static double proj_x(const dg_proj *p, double lon)
{
    return p->kind == DG_PROJ_MERCATOR ? lon * DEG : lon * DEG * p->k;
}

void dg_proj_init(dg_proj *p, dg_projection kind, const dg_extent *e, double x, double y,
                  double w, double h)
{
    p->kind = kind;
    p->extent = *e;
    p->k = cos((e->lat0 + e->lat1) / 2 * DEG);
    double uw = proj_x(p, e->lon1) - proj_x(p, e->lon0);
    double uh = proj_y(kind, e->lat1) - proj_y(kind, e->lat0);
    p->scale = fmin(w / uw, h / uh);
    p->pw = uw * p->scale;
    p->ph = uh * p->scale;
    p->px0 = x + (w - p->pw) / 2;
    p->py0 = y + (h - p->ph) / 2;
}

void dg_proj_forward(const dg_proj *p, double lon, double lat, double *x, double *y)
{
    *x = p->px0 + (proj_x(p, lon) - proj_x(p, p->extent.lon0)) * p->scale;
    *y = p->py0 + (proj_y(p->kind, p->extent.lat1) - proj_y(p->kind, lat)) * p->scale;
}

void dg_proj_inverse(const dg_proj *p, double x, double y, double *lon, double *lat)
{
    double ux = (x - p->px0) / p->scale + proj_x(p, p->extent.lon0);
    double uy = proj_y(p->kind, p->extent.lat1) - (y - p->py0) / p->scale;
    *lon = (p->kind == DG_PROJ_MERCATOR ? ux : ux / p->k) / DEG;
    *lat = (p->kind == DG_PROJ_MERCATOR ? 2 * atan(exp(uy)) - M_PI / 2 : uy) / DEG;
}

uint32_t dg_geo_density(const dg_geo_sample *s, dg_map_kind k, int panel, dg_projection proj,
                        const dg_extent *e, int cols, int rows, uint32_t *counts,
                        uint32_t *outside)
{
    memset(counts, 0, (size_t)cols * (size_t)rows * sizeof *counts);
    /* The grid spans the projected extent exactly (cells need not be square:
     * the preview's character cells are not). */
    dg_proj p;
    dg_proj_init(&p, proj, e, 0, 0, 1, 1);
    double sx = cols / p.pw, sy = rows / p.ph;
    uint32_t in = 0, out = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        if (dg_map_panel_of(s, k, i) != panel)
            continue;
        if (s->lon[i] < e->lon0 || s->lon[i] > e->lon1 || s->lat[i] < e->lat0 ||
            s->lat[i] > e->lat1) {
            out++;
            continue;
        }
        double x, y;
        dg_proj_forward(&p, s->lon[i], s->lat[i], &x, &y);
        int c = (int)((x - p.px0) * sx), r = (int)((y - p.py0) * sy);
        c = c < 0 ? 0 : c >= cols ? cols - 1 : c; /* the east and south edges belong to the grid */
        r = r < 0 ? 0 : r >= rows ? rows - 1 : r;
        counts[(size_t)r * cols + c]++;
        in++;
    }
    if (outside)
        *outside = out;
    return in;
}

/* ---- the basemap --------------------------------------------------------- */

static int read_ints(const char *path, int lineno, char **p, long *out, int count, dg_err *err)
{
    for (int i = 0; i < count; i++) {
        char *end;
        errno = 0;
        out[i] = strtol(*p, &end, 10);
        if (end == *p || errno)
            return dg_fail(err, "%s:%d: expected a whole number, found '%.20s'", path, lineno,
                           **p ? *p : "the end of the line");
        *p = end;
    }
    return DG_OK;
}

int dg_basemap_load(const char *path, dg_basemap *b, dg_err *err)
{
    memset(b, 0, sizeof *b);
    FILE *f = fopen(path, "r");
    if (!f)
        return dg_fail(err, "cannot open the basemap %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, npts = 0, ptcap = 0, lcap = 0;
    long unit = 0;
    int lineno = 0, have_window = 0, rc = DG_OK;
    while (rc == DG_OK && getline(&line, &cap, f) >= 0) {
        lineno++;
        char *p = line;
        if (*p == '#' || *p == '\n' || *p == 0)
            continue;
        if (strncmp(p, "window ", 7) == 0) {
            if (sscanf(p + 7, "%lf %lf %lf %lf", &b->window.lon0, &b->window.lon1,
                       &b->window.lat0, &b->window.lat1) != 4) {
                rc = dg_fail(err, "%s:%d: expected 'window LON0 LON1 LAT0 LAT1'", path, lineno);
                break;
            }
            have_window = 1;
            continue;
        }
        if (strncmp(p, "unit ", 5) == 0) {
            if (sscanf(p + 5, "%ld", &unit) != 1 || unit <= 0)
                rc = dg_fail(err, "%s:%d: expected 'unit N' with N > 0", path, lineno);
            continue;
        }
        if ((*p != 'c' && *p != 'b') || p[1] != ' ') {
            rc = dg_fail(err, "%s:%d: expected a polyline starting with 'c ' or 'b ', found '%.20s'",
                         path, lineno, p);
            break;
        }
        if (!unit || !have_window) {
            rc = dg_fail(err, "%s:%d: expected the 'window' and 'unit' lines before the first polyline",
                         path, lineno);
            break;
        }
        uint8_t kind = *p == 'c' ? DG_BASEMAP_COAST : DG_BASEMAP_BORDER;
        p += 2;
        long count;
        if (read_ints(path, lineno, &p, &count, 1, err) != DG_OK) {
            rc = DG_ERR;
            break;
        }
        if (count < 2 || count > 10000000) {
            rc = dg_fail(err, "%s:%d: expected a point count of at least 2, found %ld", path, lineno,
                         count);
            break;
        }
        if (b->nlines + 2 > lcap) {
            lcap = lcap ? 2 * lcap : 1024;
            b->start = dg_xrealloc(b->start, lcap * sizeof *b->start);
            b->kind = dg_xrealloc(b->kind, lcap);
        }
        if (npts + (size_t)count > ptcap) {
            ptcap = (npts + (size_t)count) * 2;
            b->lon = dg_xrealloc(b->lon, ptcap * sizeof *b->lon);
            b->lat = dg_xrealloc(b->lat, ptcap * sizeof *b->lat);
        }
        b->start[b->nlines] = (uint32_t)npts;
        b->kind[b->nlines] = kind;
        long xy[2] = {0, 0}, x = 0, y = 0;
        for (long i = 0; i < count; i++) {
            if (read_ints(path, lineno, &p, xy, 2, err) != DG_OK) {
                rc = DG_ERR;
                break;
            }
            x = i ? x + xy[0] : xy[0];
            y = i ? y + xy[1] : xy[1];
            b->lon[npts + i] = (float)((double)x / unit);
            b->lat[npts + i] = (float)((double)y / unit);
        }
        if (rc != DG_OK)
            break;
        while (*p == ' ' || *p == '\n' || *p == '\r')
            p++;
        if (*p) {
            rc = dg_fail(err, "%s:%d: expected %ld points, found more numbers: '%.20s'", path, lineno,
                         count, p);
            break;
        }
        npts += (size_t)count;
        b->nlines++;
        b->start[b->nlines] = (uint32_t)npts;
    }
    if (rc == DG_OK && ferror(f))
        rc = dg_fail(err, "cannot read the basemap %s: %s", path, strerror(errno));
    if (rc == DG_OK && b->nlines == 0)
        rc = dg_fail(err, "%s: expected polylines, found none", path);
    free(line);
    fclose(f);
    if (rc != DG_OK)
        dg_basemap_free(b);
    return rc;
}

void dg_basemap_free(dg_basemap *b)
{
    free(b->start);
    free(b->kind);
    free(b->lon);
    free(b->lat);
    memset(b, 0, sizeof *b);
}

void dg_basemap_raster(const dg_basemap *b, dg_projection proj, const dg_extent *e, int cols,
                       int rows, uint8_t *mask)
{
    dg_proj p;
    dg_proj_init(&p, proj, e, 0, 0, 1, 1);
    double sx = cols / p.pw, sy = rows / p.ph;
    for (uint32_t l = 0; l < b->nlines; l++) {
        double px = 0, py = 0;
        for (uint32_t i = b->start[l]; i < b->start[l + 1]; i++) {
            double x, y;
            dg_proj_forward(&p, b->lon[i], b->lat[i], &x, &y);
            x = (x - p.px0) * sx;
            y = (y - p.py0) * sy;
            if (i > b->start[l]) {
                /* Steps of at most half a cell along the segment. */
                double len = fmax(fabs(x - px), fabs(y - py));
                if (len > 4.0 * (cols + rows))
                    len = 0; /* far outside: not worth walking */
                int steps = (int)ceil(len * 2) + 1;
                for (int k = 0; k <= steps; k++) {
                    double t = (double)k / steps, cx = px + (x - px) * t, cy = py + (y - py) * t;
                    if (cx >= 0 && cx < cols && cy >= 0 && cy < rows)
                        mask[(size_t)cy * cols + (size_t)cx] = 1;
                }
            }
            px = x;
            py = y;
        }
    }
}

const dg_city dg_cities[] = {
    {"Beijing", 116.40, 39.90},  {"Shanghai", 121.47, 31.23}, {"Guangzhou", 113.26, 23.13},
    {"Chengdu", 104.07, 30.67},  {"Wuhan", 114.31, 30.59},    {"Xi'an", 108.94, 34.34},
    {"Harbin", 126.63, 45.75},   {"Urumqi", 87.62, 43.83},    {"Kunming", 102.83, 24.88},
    {"Shenyang", 123.43, 41.80}, {"Lhasa", 91.11, 29.65},     {"Hong Kong", 114.17, 22.32},
};
const int dg_ncities = (int)(sizeof dg_cities / sizeof *dg_cities);
