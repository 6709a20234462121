/* The Geo pane: a terminal preview of the map the Geo state describes
 * (model_geo.h), one panel at a time over the whole area (f flips between
 * male and female, or the age groups): events as shaded cells, the
 * basemap's coastlines and borders as dim braille dots, degree labels and a
 * few cities. Keys go to the geo-* actions; p saves
 * the same map as a PNG. v turns to the DBSCAN views (pane_dbscan.c). */
#include "app.h"
#include "pane_dbscan.h"

#include "chart_view.h"
#include "model_charts.h"
#include "text.h"

#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The panel's colour: the charts' palette (chart.h), gender as everywhere. */
static int panel_palette(dg_map_kind k, int panel)
{
    if (k == DG_MAP_GENDER)
        return panel == 0 ? DG_COLOUR_MALE : DG_COLOUR_FEMALE;
    if (k == DG_MAP_AGE)
        return panel == 0 ? 2 : panel == 1 ? 1 : 5;
    return COLOUR_ONE_QUANTITY; /* all events: not the male panel's blue */
}

/* A graticule step giving a handful of lines over span degrees. */
static double grat_step(double span)
{
    static const double steps[] = {0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (span / steps[i] <= 6)
            return steps[i];
    return 45;
}

static void degree(double v, int lon, double step, char *out, size_t cap)
{
    const char *h = lon ? (v < 0 ? "W" : v > 0 ? "E" : "") : (v < 0 ? "S" : v > 0 ? "N" : "");
    snprintf(out, cap, "%.*f°%s", step >= 1 ? 0 : step >= 0.1 ? 1 : 2, fabs(v), h);
}

#define LAT_W 6 /* columns of the latitude labels */

/* One panel in the box (x, y, cols, rows): latitude labels on the left,
 * longitude labels under it, and the map between, in the projection's aspect
 * (braille dots are about square). Events are shaded cells ░ ▒ ▓ █ by the
 * log of their count, in the panel's colour; the basemap's coastlines and
 * borders are dim braille dots, so the two differ without colour; cities are
 * ◆ with their names. */
static void draw_panel(app *a, int panel, int x, int y, int cols, int rows)
{
    geo_state *g = &a->m.geo;
    const dg_geo_sample *s = geo_sample_shown(g);
    int mcols = cols - LAT_W, mrows = rows - 1;
    if (mcols < 4 || mrows < 2)
        return;
    dg_proj p;
    dg_proj_init(&p, g->projection, &g->extent, 0, 0, 1, 1);
    double aspect = p.pw / p.ph;
    int gw = 2 * mcols, gh = 4 * mrows;
    if ((double)gw / gh > aspect)
        gw = (int)(gh * aspect + 0.5);
    else
        gh = (int)(gw / aspect + 0.5);
    if (gw < 2)
        gw = 2;
    if (gh < 4)
        gh = 4;
    int uc = (gw + 1) / 2, ur = (gh + 3) / 4;
    int x0 = x + LAT_W + (mcols - uc) / 2, y0 = y + (mrows - ur) / 2;
    uint32_t *counts = dg_xcalloc((size_t)gw * gh, sizeof *counts);
    uint8_t *coast = dg_xcalloc((size_t)gw * gh, 1);
    dg_geo_density(s, g->kind, panel, g->projection, &g->extent, gw, gh, counts, NULL);
    const dg_basemap *b = geo_basemap(g);
    if (b)
        dg_basemap_raster(b, g->projection, &g->extent, gw, gh, coast);
    uint32_t *cell = dg_xcalloc((size_t)uc * ur, sizeof *cell), max = 0;
    unsigned *co = dg_xcalloc((size_t)uc * ur, sizeof *co);
    for (int dy = 0; dy < gh; dy++)
        for (int dx = 0; dx < gw; dx++) {
            size_t c = (size_t)(dy / 4) * uc + dx / 2;
            cell[c] += counts[(size_t)dy * gw + dx];
            if (cell[c] > max)
                max = cell[c];
            if (coast[(size_t)dy * gw + dx])
                co[c] |= text_braille_bit(dx % 2, dy % 4);
        }
    /* Labels over the map: city markers and names, kept off each other and
     * off the markers (geo_place_labels); the list is behind {row-detail}. */
    uint32_t *label = dg_xcalloc((size_t)uc * ur, sizeof *label);
    unsigned char *grid = dg_xmalloc((size_t)uc * ur);
    dg_proj q;
    dg_proj_init(&q, g->projection, &g->extent, 0, 0, gw, gh);
    if (!g->labels)
        g->labels = dg_xcalloc((size_t)dg_ncities, sizeof *g->labels);
    g->nlabels = geo_place_labels(&q, &g->extent, uc, ur, g->labels, grid);
    for (int i = 0; i < g->nlabels; i++) {
        const geo_label *l = &g->labels[i];
        label[(size_t)l->row * uc + l->col] = 0x25C6;
        const char *name = dg_cities[l->city].name;
        for (int k = 0; l->name_col >= 0 && name[k]; k++)
            label[(size_t)l->row * uc + l->name_col + k] = (unsigned char)name[k];
    }
    for (size_t i = 0; i < (size_t)uc * ur; i++)
        if (grid[i] == GEO_CELL_BLANK)
            label[i] = ' ';
    free(grid);
    int colour = panel_palette(g->kind, panel);
    double lmax = log1p((double)max);
    static const char *const shade[4] = {"░", "▒", "▓", "█"};
    for (int r = 0; r < ur; r++) {
        move(y0 + r, x0);
        for (int c = 0; c < uc; c++) {
            size_t i = (size_t)r * uc + c;
            char ch[8];
            if (label[i]) {
                attrset(label[i] == 0x25C6 ? A_BOLD : A_NORMAL);
                if (label[i] == 0x25C6)
                    strcpy(ch, "◆");
                else
                    ch[0] = (char)label[i], ch[1] = 0;
            } else if (cell[i]) {
                int lv = lmax > 0 ? (int)(4 * log1p((double)cell[i]) / lmax) : 3;
                lv = lv < 0 ? 0 : lv > 3 ? 3 : lv;
                attrset((lv == 3 ? A_BOLD : 0) |
                        (a->color ? COLOR_PAIR(COLOR_CHART0 + colour) : 0));
                strcpy(ch, shade[lv]);
            } else if (co[i]) {
                attrset(A_DIM);
                text_braille_utf8(co[i], ch);
            } else {
                attrset(A_NORMAL);
                strcpy(ch, " ");
            }
            addstr(ch);
        }
    }
    attrset(A_DIM);
    /* Degree labels: latitudes left of their row, longitudes under their column. */
    const dg_extent *e = &g->extent;
    double step = grat_step(fmax(e->lon1 - e->lon0, e->lat1 - e->lat0));
    char lab[32], buf[64];
    int last_r = -10;
    for (double lat = ceil(e->lat0 / step) * step; lat <= e->lat1 + 1e-9; lat += step) {
        double px, py;
        dg_proj_forward(&q, e->lon0, lat, &px, &py);
        int r = (int)(py / 4);
        if (r < 0 || r >= ur || abs(r - last_r) < 2)
            continue;
        last_r = r;
        degree(lat, 0, step, lab, sizeof lab);
        mvaddstr(y0 + r, x0 - LAT_W, text_fit(lab, LAT_W - 1, 1, buf, sizeof buf));
        addstr("┤");
    }
    int next_free = 0;
    for (double lon = ceil(e->lon0 / step) * step; lon <= e->lon1 + 1e-9; lon += step) {
        double px, py;
        dg_proj_forward(&q, lon, e->lat0, &px, &py);
        int c = (int)(px / 2);
        degree(lon, 1, step, lab, sizeof lab);
        int w = text_width(lab), at = c - w / 2;
        if (c < 0 || c >= uc || at < next_free)
            continue;
        if (at + w > uc)
            at = uc - w;
        mvaddstr(y0 + ur, x0 + at, lab);
        next_free = at + w + 1;
    }
    attrset(A_NORMAL);
    free(label);
    free(co);
    free(cell);
    free(counts);
    free(coast);
}

static void draw(app *a, int top, int height, int width)
{
    model *m = &a->m;
    geo_state *g = &m->geo;
    char line[1024];
    if (m->dbs.view != GEO_VIEW_MAP) {
        pane_dbscan_draw(a, top, height, width);
        return;
    }
    if (!g->have_sample) {
        snprintf(line, sizeof line, "No sample of events yet. %s",
                 !m->loaded           ? "Load data first ({pane-load} goes to the Load pane)."
                 : m->cl.have_cleaned ? "{geo-sample} samples 100,000 events of the cleaned data."
                                      : "{geo-sample} samples 100,000 events of the loaded data "
                                        "({pane-clean} cleans it).");
        app_put_text(top + 1, width, line, A_NORMAL);
        return;
    }
    const dg_geo_sample *s = geo_sample_shown(g);
    char n1[32], n2[32];
    text_count(s->n, n1, sizeof n1);
    text_count(s->eligible, n2, sizeof n2);
    snprintf(line, sizeof line, "Map %s ({geo-map}: next): %s of %s events%s, seed %llu, %s data%s",
             dg_map_kind_name(g->kind), n1, n2, g->kind == DG_MAP_ALL ? "" : " of labelled devices",
             (unsigned long long)s->seed, g->from_cleaned ? "cleaned" : "loaded",
             g->gen != m->data_gen ? "; data changed: {geo-sample} redraws" : "");
    /* numbers and the product's words only; the map gives a row to keep
     * its end (the data it was drawn from) */
    int head = app_put_text_wrapped(top, width, line, A_BOLD, 2) - 1;
    top += head;
    height -= head;
    /* "arrows": the four geo-pan keys as one word (their keys, Up Down Left
     * Right, would not fit at 80 columns). */
    snprintf(line, sizeof line, "lon %.2f..%.2f lat %.2f..%.2f %s; {geo-zoom-in}/{geo-zoom-out} "
                                "zoom, arrows pan, {geo-reset} resets",
             g->extent.lon0, g->extent.lon1, g->extent.lat0, g->extent.lat1,
             g->projection == DG_PROJ_MERCATOR ? "mercator" : "equirect");
    app_put_text(top + 1, width, line, A_NORMAL);
    if (height < 6)
        return;
    int np = dg_map_panels(g->kind), k = g->panel < np ? g->panel : 0;
    if (g->kind != DG_MAP_ALL && s->n == 0) {
        app_put_text(top + 3, width, "No events of labelled devices: the gender and age maps "
                                     "need the labels table.", A_NORMAL);
        return;
    }
    /* One panel at a time, the whole area: f flips to the next. */
    uint32_t *one = dg_xcalloc(1, sizeof *one), out = 0;
    uint32_t in = dg_geo_density(s, g->kind, k, g->projection, &g->extent, 1, 1, one, &out);
    free(one);
    text_count(in, n1, sizeof n1);
    snprintf(line, sizeof line, "%s: %s events", dg_map_panel_name(g->kind, k), n1);
    if (out) {
        text_count(out, n2, sizeof n2);
        snprintf(line + strlen(line), sizeof line - strlen(line), " (+%s out of the frame)", n2);
    }
    if (np > 1)
        snprintf(line + strlen(line), sizeof line - strlen(line), "; panel %d of %d, {geo-panel}: "
                 "%s", k + 1, np, dg_map_panel_name(g->kind, (k + 1) % np));
    action_keys_expand(line, sizeof line); /* numbers and the panels' names only */
    app_put_plain(top + 2, 0, width, line, app_attr(a, COLOR_HEADER, A_BOLD | A_UNDERLINE));
    draw_panel(a, k, 1, top + 3, width - 2, height - 4);
    const dg_basemap *b = geo_basemap(g);
    snprintf(line, sizeof line, "░▒▓█ events (few to many)  %s  ◆ city  {save} PNG  {geo-view} "
                                "DBSCAN", b ? "⠉ coast, border (dim)" : "no basemap");
    app_put_text(top + height - 1, width, line, A_NORMAL);
}

static int key(app *a, int id, pane_args *args)
{
    model *m = &a->m;
    switch (id) {
    case ACT_GEO_MAP:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%s",
                 dg_map_kind_name((dg_map_kind)((m->geo.kind + 1) % DG_MAP_KINDS)));
        return 1;
    case ACT_GEO_PANEL:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%d",
                 (m->geo.panel + 1) % dg_map_panels(m->geo.kind) + 1);
        return 1;
    case ACT_GEO_PROJECTION:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%s",
                 m->geo.projection == DG_PROJ_MERCATOR ? "equirect" : "mercator");
        return 1;
    case ACT_GEO_EXTENT: {
        char now[128];
        snprintf(now, sizeof now, "%.2f,%.2f,%.2f,%.2f", m->geo.extent.lon0, m->geo.extent.lon1,
                 m->geo.extent.lat0, m->geo.extent.lat1);
        app_prompt(a, PROMPT_ARG, "extent (LON0,LON1,LAT0,LAT1): ", now, actions[id].name);
        return 0;
    }
    default: return pane_dbscan_key(a, id, args);
    }
}

const pane_ops pane_geo_ops = {
    .draw = draw,
    .key = key,
};
