/* The Geo pane's state and actions (see model_geo.h). */
#include "model_geo.h"

#include "actions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const dg_geo_sample *geo_sample_shown(const geo_state *g)
{
    return g->kind == DG_MAP_ALL ? &g->all : &g->labelled;
}

void geo_set_basemap_path(geo_state *g, const char *path)
{
    free(g->basemap_path);
    g->basemap_path = path ? dg_xstrdup(path) : NULL;
    if (g->basemap_state == 1)
        dg_basemap_free(&g->basemap);
    g->basemap_state = 0;
}

const dg_basemap *geo_basemap(geo_state *g)
{
    if (g->basemap_state == 0) {
        dg_err err;
        if (!g->basemap_path) {
            g->basemap_state = -1;
            snprintf(g->basemap_error, sizeof g->basemap_error, "no basemap asset given");
        } else if (dg_basemap_load(g->basemap_path, &g->basemap, &err) != DG_OK) {
            g->basemap_state = -1;
            snprintf(g->basemap_error, sizeof g->basemap_error, "%s", err.msg);
        } else {
            g->basemap_state = 1;
        }
    }
    return g->basemap_state == 1 ? &g->basemap : NULL;
}

void geo_forget(geo_state *g)
{
    dg_geo_sample_free(&g->all);
    dg_geo_sample_free(&g->labelled);
    g->have_sample = 0;
}

void geo_free(geo_state *g)
{
    free(g->labels);
    geo_forget(g);
    if (g->basemap_state == 1)
        dg_basemap_free(&g->basemap);
    free(g->basemap_path);
    memset(g, 0, sizeof *g);
}

static int parse_whole(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out,
                       dg_err *err)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *s == '-' || *end || errno || v < min || v > max)
        return dg_fail(err, "geo-sample: expected %s as a whole number from %llu to %llu, found '%s'",
                       what, (unsigned long long)min, (unsigned long long)max, s);
    *out = v;
    return DG_OK;
}

int geo_job_args(geo_job *j, int argc, char **argv, dg_err *err)
{
    memset(j, 0, sizeof *j);
    uint64_t n = GEO_DEFAULT_SAMPLE, seed = 1;
    if (argc > 2)
        return dg_fail(err, "geo-sample takes [N [SEED]], found %d arguments", argc);
    if (argc >= 1 && parse_whole("N", argv[0], 1, 50000000, &n, err) != DG_OK)
        return DG_ERR;
    if (argc == 2 && parse_whole("SEED", argv[1], 0, UINT64_MAX, &seed, err) != DG_OK)
        return DG_ERR;
    j->n = (uint32_t)n;
    j->seed = seed;
    return DG_OK;
}

int geo_job_run(geo_job *j, const dg_progress *p, dg_err *err)
{
    if (dg_geo_sample_events(j->src, j->n, j->seed, 0, &j->all, p, err) != DG_OK)
        return DG_ERR;
    /* The gender and age maps need labels; without them the pane still shows
     * every event, and says so. */
    if (dg_dataset_table(j->src, DG_T_LABELS) &&
        dg_geo_sample_events(j->src, j->n, j->seed, 1, &j->labelled, p, err) != DG_OK)
        return DG_ERR;
    return dg_extent_of_sample(&j->all, &j->home, err);
}

void geo_job_finish(geo_state *g, geo_job *j)
{
    geo_forget(g);
    g->all = j->all;
    g->labelled = j->labelled;
    memset(&j->all, 0, sizeof j->all);
    memset(&j->labelled, 0, sizeof j->labelled);
    g->have_sample = 1;
    g->from_cleaned = j->from_cleaned;
    g->gen = j->gen;
    g->sample_n = j->n;
    g->sample_seed = j->seed;
    g->home = g->extent = j->home;
}

void geo_job_free(geo_job *j)
{
    dg_geo_sample_free(&j->all);
    dg_geo_sample_free(&j->labelled);
}

int geo_action(geo_state *g, int id, int argc, char **argv, dg_err *err)
{
    int want = id == ACT_GEO_MAP || id == ACT_GEO_EXTENT || id == ACT_GEO_PROJECTION ||
               id == ACT_GEO_PANEL;
    if (id == ACT_GEO_PANEL) {
        int np = dg_map_panels(g->kind);
        char *end;
        long k = argc == 1 ? strtol(argv[0], &end, 10) : 0;
        if (argc != 1 || *end || k < 1 || k > np)
            return dg_fail(err, "geo-panel takes N: 1 to %d for the %s map", np,
                           dg_map_kind_name(g->kind));
        g->panel = (int)k - 1;
        return DG_OK;
    }
    if (id == ACT_GEO_MAP && argc != 1)
        return dg_fail(err, "geo-map takes KIND: all, gender or age");
    if (id == ACT_GEO_EXTENT && argc != 1)
        return dg_fail(err, "geo-extent takes LON0,LON1,LAT0,LAT1");
    if (id == ACT_GEO_PROJECTION && argc != 1)
        return dg_fail(err, "geo-projection takes KIND: equirect or mercator");
    if (!want && argc != 0)
        return dg_fail(err, "%s takes no arguments", actions[id].name);
    if (id == ACT_GEO_MAP) {
        int k = dg_map_kind_parse(argv[0]);
        if (k < 0)
            return dg_fail(err, "geo-map: expected all, gender or age, found '%s'", argv[0]);
        g->kind = (dg_map_kind)k;
        g->panel = 0;
        return DG_OK;
    }
    if (id == ACT_GEO_PROJECTION) {
        if (strcmp(argv[0], "equirect") == 0)
            g->projection = DG_PROJ_EQUIRECT;
        else if (strcmp(argv[0], "mercator") == 0)
            g->projection = DG_PROJ_MERCATOR;
        else
            return dg_fail(err, "geo-projection: expected equirect or mercator, found '%s'", argv[0]);
        return DG_OK;
    }
    if (!g->have_sample)
        return dg_fail(err, "no sample yet: c draws one");
    dg_extent e = g->extent;
    switch (id) {
    case ACT_GEO_ZOOM_IN: dg_extent_zoom(&e, 2); break;
    case ACT_GEO_ZOOM_OUT: dg_extent_zoom(&e, 0.5); break;
    case ACT_GEO_PAN_NORTH: dg_extent_pan(&e, 0, 0.25); break;
    case ACT_GEO_PAN_SOUTH: dg_extent_pan(&e, 0, -0.25); break;
    case ACT_GEO_PAN_WEST: dg_extent_pan(&e, -0.25, 0); break;
    case ACT_GEO_PAN_EAST: dg_extent_pan(&e, 0.25, 0); break;
    case ACT_GEO_RESET: e = g->home; break;
    case ACT_GEO_EXTENT:
        if (dg_extent_parse(argv[0], &e, err) != DG_OK)
            return DG_ERR;
        break;
    default: return dg_fail(err, "%s is not a Geo pane action", actions[id].name);
    }
    g->extent = e;
    return DG_OK;
}

int geo_save(geo_state *g, const char *path, int *width, int *height, dg_err *err)
{
    if (!g->have_sample)
        return dg_fail(err, "no map yet: {geo-sample} samples the events first");
    const dg_geo_sample *s = geo_sample_shown(g);
    if (g->kind != DG_MAP_ALL && s->n == 0)
        return dg_fail(err, "no labelled events to draw the %s map from", dg_map_kind_name(g->kind));
    dg_geo_map m = {.kind = g->kind, .projection = g->projection, .extent = g->extent,
                    .basemap = geo_basemap(g)};
    dg_geo_map_default_size(g->kind, width, height);
    return dg_geo_map_save(s, &m, path, err);
}

/* Whether name cells [from, from+n) of row r are free and the cell at pad
 * (outside the grid: the edge) is free or a blank. */
static int name_fits(const unsigned char *grid, int cols, int r, int from, int n, int pad)
{
    if (from < 0 || from + n > cols)
        return 0;
    for (int k = from; k < from + n; k++)
        if (grid[(size_t)r * cols + k] != GEO_CELL_FREE)
            return 0;
    return pad < 0 || pad >= cols || grid[(size_t)r * cols + pad] == GEO_CELL_FREE ||
           grid[(size_t)r * cols + pad] == GEO_CELL_BLANK;
}

int geo_place_labels(const dg_proj *q, const dg_extent *e, int cols, int rows, geo_label *out,
                     unsigned char *grid)
{
    memset(grid, GEO_CELL_FREE, (size_t)cols * rows);
    int n = 0;
    for (int i = 0; i < dg_ncities; i++) {
        const dg_city *ct = &dg_cities[i];
        if (ct->lon < e->lon0 || ct->lon > e->lon1 || ct->lat < e->lat0 || ct->lat > e->lat1)
            continue;
        double px, py;
        dg_proj_forward(q, ct->lon, ct->lat, &px, &py);
        int c = (int)(px / 2), r = (int)(py / 4);
        if (c < 0 || c >= cols || r < 0 || r >= rows || grid[(size_t)r * cols + c])
            continue;
        grid[(size_t)r * cols + c] = GEO_CELL_MARKER;
        out[n++] = (geo_label){.city = i, .col = c, .row = r, .name_col = -1};
    }
    for (int i = 0; i < n; i++) {
        geo_label *l = &out[i];
        int len = (int)strlen(dg_cities[l->city].name), c = l->col, r = l->row;
        if (name_fits(grid, cols, r, c + 1, len, c + 1 + len))
            l->name_col = c + 1;
        else if (name_fits(grid, cols, r, c - len, len, c - len - 1))
            l->name_col = c - len;
        else
            continue;
        for (int k = 0; k < len; k++)
            grid[(size_t)r * cols + l->name_col + k] = GEO_CELL_NAME;
        int pad = l->name_col > c ? c + 1 + len : c - len - 1;
        if (pad >= 0 && pad < cols)
            grid[(size_t)r * cols + pad] = GEO_CELL_BLANK;
    }
    return n;
}
