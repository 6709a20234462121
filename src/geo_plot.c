/* Maps drawn with cairo: per panel the basemap, a graticule with degree
 * labels, the events as a density layer and a caption; a title and a legend.
 * Panels of one image share the extent, the projection's scale and the
 * colour scale, so they compare at a glance. */
#include "demographer/geo.h"
#include "demographer/plot.h"

#include "plot_cairo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CELL 3          /* pixels per side of a density cell */
#define TITLE_H 84.0
#define LEGEND_H 52.0
#define CAPTION_H 30.0
#define LEFT_M 52.0     /* latitude labels */
#define BOTTOM_M 26.0   /* longitude labels */
#define GAP 24.0

static void set_rgb(cairo_t *cr, unsigned rgb, double alpha)
{
    cairo_set_source_rgba(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                          (rgb & 0xff) / 255.0, alpha);
}

/* Each panel's colour from the charts' palette: male blue, female vermilion,
 * the age groups green, orange, reddish purple, every event sky blue (no
 * gender's colour). */
static unsigned panel_colour(dg_map_kind k, int panel)
{
    if (k == DG_MAP_GENDER) /* the charts' gender colours (chart.h) */
        return panel == 0 ? dg_palette(DG_COLOUR_MALE) : dg_palette(DG_COLOUR_FEMALE);
    if (k == DG_MAP_AGE)
        return panel == 0 ? dg_palette(2) : panel == 1 ? dg_palette(1) : dg_palette(5);
    return dg_palette(4);
}

/* A graticule step giving a handful of lines over span degrees. */
static double graticule_step(double span)
{
    static const double steps[] = {0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (span / steps[i] <= 8)
            return steps[i];
    return 45;
}

static void format_degree(double v, int is_lon, double step, char *out, size_t cap)
{
    const char *hemi = is_lon ? (v < 0 ? "W" : v > 0 ? "E" : "") : (v < 0 ? "S" : v > 0 ? "N" : "");
    int decimals = step >= 1 ? 0 : step >= 0.1 ? 1 : 2;
    snprintf(out, cap, "%.*f°%s", decimals, fabs(v), hemi);
}

static void draw_graticule(cairo_t *cr, const dg_proj *p, int lat_labels)
{
    const dg_extent *e = &p->extent;
    double step = graticule_step(fmax(e->lon1 - e->lon0, e->lat1 - e->lat0));
    char label[32];
    cairo_set_line_width(cr, 0.8);
    for (double lon = ceil(e->lon0 / step) * step; lon <= e->lon1 + 1e-9; lon += step) {
        double x0, y0, x1, y1;
        dg_proj_forward(p, lon, e->lat1, &x0, &y0);
        dg_proj_forward(p, lon, e->lat0, &x1, &y1);
        set_rgb(cr, 0xd8d8d8, 1);
        cairo_move_to(cr, x0, y0);
        cairo_line_to(cr, x1, y1);
        cairo_stroke(cr);
        format_degree(lon, 1, step, label, sizeof label);
        set_rgb(cr, 0x444444, 1);
        dg_plot_text(cr, label, 12, 0, x1, y1 + 4, 0.5, 0);
    }
    for (double lat = ceil(e->lat0 / step) * step; lat <= e->lat1 + 1e-9; lat += step) {
        double x0, y0, x1, y1;
        dg_proj_forward(p, e->lon0, lat, &x0, &y0);
        dg_proj_forward(p, e->lon1, lat, &x1, &y1);
        set_rgb(cr, 0xd8d8d8, 1);
        cairo_move_to(cr, x0, y0);
        cairo_line_to(cr, x1, y1);
        cairo_stroke(cr);
        if (!lat_labels)
            continue;
        format_degree(lat, 0, step, label, sizeof label);
        set_rgb(cr, 0x444444, 1);
        dg_plot_text(cr, label, 12, 0, x0 - 5, y0, 1, 0.5);
    }
}

static void draw_basemap(cairo_t *cr, const dg_proj *p, const dg_basemap *b)
{
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (int pass = 0; pass < 2; pass++) { /* borders under coastlines */
        uint8_t want = pass == 0 ? DG_BASEMAP_BORDER : DG_BASEMAP_COAST;
        set_rgb(cr, want == DG_BASEMAP_COAST ? 0x5a5a5a : 0x9a9a9a, 1);
        cairo_set_line_width(cr, want == DG_BASEMAP_COAST ? 0.9 : 0.8);
        for (uint32_t l = 0; l < b->nlines; l++) {
            if (b->kind[l] != want)
                continue;
            for (uint32_t i = b->start[l]; i < b->start[l + 1]; i++) {
                double x, y;
                dg_proj_forward(p, b->lon[i], b->lat[i], &x, &y);
                if (i == b->start[l])
                    cairo_move_to(cr, x, y);
                else
                    cairo_line_to(cr, x, y);
            }
            cairo_stroke(cr);
        }
    }
}

/* The cities (geo.h) inside the frame, in two layers: their rings under the
 * density (a city's own events lie on and around its ring, and must stay
 * visible), their names over it, above the ring, dark on a light halo. */
static void draw_cities(cairo_t *cr, const dg_proj *p, int names)
{
    const dg_extent *e = &p->extent;
    for (int i = 0; i < dg_ncities; i++) {
        const dg_city *c = &dg_cities[i];
        if (c->lon < e->lon0 || c->lon > e->lon1 || c->lat < e->lat0 || c->lat > e->lat1)
            continue;
        double x, y;
        dg_proj_forward(p, c->lon, c->lat, &x, &y);
        if (!names) {
            set_rgb(cr, 0x222222, 1);
            cairo_set_line_width(cr, 1.5);
            cairo_new_sub_path(cr);
            cairo_arc(cr, x, y, 3.5, 0, 2 * M_PI);
            cairo_stroke(cr);
            continue;
        }
        double w = dg_plot_text_width(cr, c->name, 12, 0);
        /* Centred above the ring, kept inside the frame at its edges. */
        double tx = x - w / 2, ty = y - 15;
        if (tx < p->px0)
            tx = p->px0;
        if (tx + w > p->px0 + p->pw)
            tx = p->px0 + p->pw - w;
        if (ty - 8 < p->py0)
            ty = y + 15; /* below at the top edge */
        set_rgb(cr, 0xffffff, 0.75);
        cairo_rectangle(cr, tx - 2, ty - 8, w + 4, 16);
        cairo_fill(cr);
        set_rgb(cr, 0x222222, 1);
        dg_plot_text(cr, c->name, 12, 0, tx, ty, 0, 0.5);
    }
}

/* Shade of a cell: a floor so single events show, then the log of the
 * count against the largest cell of any panel. */
static double cell_alpha(uint32_t c, double log_max)
{
    return 0.22 + 0.78 * (log_max > 0 ? log1p((double)c) / log_max : 1.0);
}

static void draw_density(cairo_t *cr, const dg_proj *p, const uint32_t *counts, int cols, int rows,
                         unsigned rgb, double log_max)
{
    double cw = p->pw / cols, ch = p->ph / rows;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            uint32_t n = counts[(size_t)r * cols + c];
            if (!n)
                continue;
            set_rgb(cr, rgb, cell_alpha(n, log_max));
            cairo_rectangle(cr, p->px0 + c * cw, p->py0 + r * ch, cw, ch);
            cairo_fill(cr);
        }
}

static void draw_legend(cairo_t *cr, const dg_geo_map *m, double y, int W, uint32_t max_cell,
                        double log_max)
{
    double x = GAP;
    char label[64];
    set_rgb(cr, 0x222222, 1);
    x += dg_plot_text(cr, "Events per 3×3-pixel cell (one scale for every panel):", 13, 0, x, y, 0,
                      0.5) + 10;
    int np = dg_map_panels(m->kind);
    for (uint32_t v = 1; v <= max_cell && x < W - 300; v *= 10) {
        /* One stripe per panel, in the panel's colour: the scale is every panel's. */
        for (int k = 0; k < np; k++) {
            set_rgb(cr, panel_colour(m->kind, k), cell_alpha(v, log_max));
            cairo_rectangle(cr, x + 18.0 * k / np, y - 8, 18.0 / np, 16);
            cairo_fill(cr);
        }
        dg_format_count(v, label, sizeof label);
        set_rgb(cr, 0x222222, 1);
        x += 22 + dg_plot_text(cr, label, 13, 0, x + 22, y, 0, 0.5) + 14;
        if (v > UINT32_MAX / 10)
            break;
    }
    x += 16;
    static const struct { unsigned rgb; double w; const char *name; } lines[] = {
        {0x5a5a5a, 1.5, "coastline"}, {0x9a9a9a, 1.5, "land border"}, {0xd8d8d8, 1.5, "graticule"}};
    for (int i = 0; i < 3; i++) {
        if (i < 2 && !m->basemap)
            continue;
        set_rgb(cr, lines[i].rgb, 1);
        cairo_set_line_width(cr, lines[i].w);
        cairo_move_to(cr, x, y);
        cairo_line_to(cr, x + 24, y);
        cairo_stroke(cr);
        set_rgb(cr, 0x222222, 1);
        x += 30 + dg_plot_text(cr, lines[i].name, 13, 0, x + 30, y, 0, 0.5) + 14;
    }
    if (!m->basemap) {
        set_rgb(cr, 0x222222, 1);
        dg_plot_text(cr, "(no basemap)", 13, 0, x, y, 0, 0.5);
    }
}

void dg_geo_map_default_size(dg_map_kind k, int *width, int *height)
{
    int n = dg_map_panels(k);
    *width = (int)(GAP + LEFT_M + n * (900 + GAP));
    *height = (int)(TITLE_H + CAPTION_H + 650 + BOTTOM_M + LEGEND_H + 10);
}

/* Panels share the extent: latitude labels only left of the first. */
static double panel_width(int W, int npanels)
{
    return (W - GAP - LEFT_M) / npanels - GAP;
}

static double map_height(int H)
{
    return H - TITLE_H - CAPTION_H - BOTTOM_M - LEGEND_H - 10;
}

void dg_geo_map_panel_proj(const dg_geo_map *m, int W, int H, int k, dg_proj *out)
{
    double panel_w = panel_width(W, dg_map_panels(m->kind));
    double x = GAP + LEFT_M + k * (panel_w + GAP);
    dg_proj_init(out, m->projection, &m->extent, x, TITLE_H + CAPTION_H, panel_w, map_height(H));
}

int dg_geo_map_png(const dg_geo_sample *s, const dg_geo_map *m, unsigned char **png,
                   size_t *len, dg_err *err)
{
    *png = NULL;
    *len = 0;
    int W = m->width, H = m->height;
    if (W <= 0 || H <= 0)
        dg_geo_map_default_size(m->kind, &W, &H);
    if (m->kind < 0 || m->kind >= DG_MAP_KINDS)
        return dg_fail(err, "unknown map kind %d", (int)m->kind);
    int npanels = dg_map_panels(m->kind);
    double panel_w = panel_width(W, npanels), map_h = map_height(H);
    if (W > 16384 || H > 16384)
        return dg_fail(err, "map size %dx%d is too large (at most 16384 pixels a side)", W, H);
    if (panel_w < 100 || map_h < 100)
        return dg_fail(err, "map size %dx%d is too small for %d panel%s: each needs at least "
                            "100x100 pixels of map",
                       W, H, npanels, npanels > 1 ? "s" : "");
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_status_t cs = cairo_surface_status(surf);
    if (cs != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return dg_fail(err, "cairo: %s", cairo_status_to_string(cs));
    }
    cairo_t *cr = cairo_create(surf);
    set_rgb(cr, 0xffffff, 1);
    cairo_paint(cr);

    /* Every panel's projection (the same scale: the boxes are equal) and its
     * density grid, before drawing, for the shared colour scale. */
    dg_proj proj[DG_GEO_AGE_GROUPS];
    uint32_t *grid[DG_GEO_AGE_GROUPS], in[DG_GEO_AGE_GROUPS], out[DG_GEO_AGE_GROUPS];
    int cols = 1, rows = 1;
    uint32_t max_cell = 0, shown = 0;
    for (int k = 0; k < npanels; k++) {
        dg_geo_map_panel_proj(m, W, H, k, &proj[k]);
        cols = (int)fmax(1, floor(proj[k].pw / CELL));
        rows = (int)fmax(1, floor(proj[k].ph / CELL));
        grid[k] = dg_xmalloc((size_t)cols * rows * sizeof *grid[k]);
        in[k] = dg_geo_density(s, m->kind, k, m->projection, &m->extent, cols, rows, grid[k], &out[k]);
        shown += in[k] + out[k];
        for (size_t i = 0; i < (size_t)cols * rows; i++)
            if (grid[k][i] > max_cell)
                max_cell = grid[k][i];
    }
    double log_max = log1p((double)max_cell);

    char a[32], b[32], c[32], text[512];
    dg_format_count(s->n, a, sizeof a);
    dg_format_count(s->eligible, b, sizeof b);
    static const char *const titles[DG_MAP_KINDS] = {
        "Where events happen", "Where events happen: male and female users",
        "Where events happen: by age group"};
    set_rgb(cr, 0x111111, 1);
    dg_plot_text(cr, titles[m->kind], 22, 1, GAP, 10, 0, 0);
    snprintf(text, sizeof text,
             "%s events sampled (seed %llu) of %s %swith observed coordinates", a,
             (unsigned long long)s->seed, b, s->labelled_only ? "events of labelled devices " : "");
    set_rgb(cr, 0x444444, 1);
    dg_plot_text(cr, text, 14, 0, GAP, 40, 0, 0);
    int n = snprintf(text, sizeof text,
                     "%s projection; longitude %.2f° to %.2f°, latitude %.2f° to %.2f°",
                     m->projection == DG_PROJ_MERCATOR ? "Mercator" : "Equirectangular",
                     m->extent.lon0, m->extent.lon1, m->extent.lat0, m->extent.lat1);
    const dg_extent *bw = m->basemap ? &m->basemap->window : NULL, *e = &m->extent;
    if (bw && (e->lon0 < bw->lon0 || e->lon1 > bw->lon1 || e->lat0 < bw->lat0 || e->lat1 > bw->lat1))
        snprintf(text + n, sizeof text - n, "; the basemap covers %g° to %g° E, %g° to %g° N only",
                 bw->lon0, bw->lon1, bw->lat0, bw->lat1);
    dg_plot_text(cr, text, 14, 0, GAP, 60, 0, 0);

    for (int k = 0; k < npanels; k++) {
        const dg_proj *p = &proj[k];
        dg_format_count(in[k], a, sizeof a);
        dg_format_count(out[k], c, sizeof c);
        int n = snprintf(text, sizeof text, "%s: %s events", dg_map_panel_name(m->kind, k), a);
        if (npanels > 1 && shown)
            n += snprintf(text + n, sizeof text - n, " (%.1f%% of this map's)",
                          100.0 * (in[k] + out[k]) / shown);
        if (out[k])
            snprintf(text + n, sizeof text - n, ", %s outside the frame", c);
        set_rgb(cr, panel_colour(m->kind, k), 1);
        dg_plot_text(cr, text, 15, 1, p->px0, p->py0 - 6, 0, 1); /* just above its frame */

        cairo_save(cr);
        cairo_rectangle(cr, p->px0, p->py0, p->pw, p->ph);
        cairo_clip(cr);
        set_rgb(cr, 0xf4f7fa, 1);
        cairo_paint(cr);
        cairo_restore(cr);
        draw_graticule(cr, p, k == 0); /* the labels lie outside the frame: drawn unclipped */
        cairo_save(cr);
        cairo_rectangle(cr, p->px0, p->py0, p->pw, p->ph);
        cairo_clip(cr);
        if (m->basemap)
            draw_basemap(cr, p, m->basemap);
        draw_cities(cr, p, 0);
        draw_density(cr, p, grid[k], cols, rows, panel_colour(m->kind, k), log_max);
        draw_cities(cr, p, 1);
        cairo_restore(cr);
        set_rgb(cr, 0x333333, 1);
        cairo_set_line_width(cr, 1);
        cairo_rectangle(cr, p->px0 + 0.5, p->py0 + 0.5, p->pw - 1, p->ph - 1);
        cairo_stroke(cr);
        free(grid[k]);
    }
    draw_legend(cr, m, H - LEGEND_H / 2, W, max_cell, log_max);
    cairo_destroy(cr);
    int rc = dg_plot_surface_png(surf, png, len, err);
    cairo_surface_destroy(surf);
    return rc;
}

int dg_geo_map_save(const dg_geo_sample *s, const dg_geo_map *m, const char *path, dg_err *err)
{
    unsigned char *png;
    size_t len;
    if (dg_geo_map_png(s, m, &png, &len, err) != DG_OK)
        return DG_ERR;
    int rc = dg_write_file_atomic(path, png, len, err);
    free(png);
    return rc;
}
