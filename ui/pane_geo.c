/* The Geo pane: a terminal preview of the map the Geo state describes
 * (model_geo.h), one panel per group side by side, in braille: each
 * character holds 2 x 4 dots, a dot is lit where the panel has events
 * (dense characters in bold), and where it has none the basemap's
 * coastlines and borders show dimmed. Keys go to the geo-* actions; p saves
 * the same map as a PNG. v turns to the DBSCAN views (pane_dbscan.c). */
#include "app.h"
#include "pane_dbscan.h"

#include "text.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>

/* One panel in the box (x, y, cols, rows): the dot grid keeps the
 * projection's aspect (braille dots are about square) and is centred. */
static void draw_panel(app *a, int panel, int x, int y, int cols, int rows)
{
    geo_state *g = &a->m.geo;
    const dg_geo_sample *s = geo_sample_shown(g);
    dg_proj p;
    dg_proj_init(&p, g->projection, &g->extent, 0, 0, 1, 1);
    double aspect = p.pw / p.ph;
    int gw = 2 * cols, gh = 4 * rows;
    if ((double)gw / gh > aspect)
        gw = (int)(gh * aspect + 0.5);
    else
        gh = (int)(gw / aspect + 0.5);
    if (gw < 2)
        gw = 2;
    if (gh < 4)
        gh = 4;
    int used_cols = (gw + 1) / 2, used_rows = (gh + 3) / 4;
    int x0 = x + (cols - used_cols) / 2, y0 = y + (rows - used_rows) / 2;
    uint32_t *counts = dg_xcalloc((size_t)gw * gh, sizeof *counts);
    uint8_t *coast = dg_xcalloc((size_t)gw * gh, 1);
    dg_geo_density(s, g->kind, panel, g->projection, &g->extent, gw, gh, counts, NULL);
    const dg_basemap *b = geo_basemap(g);
    if (b)
        dg_basemap_raster(b, g->projection, &g->extent, gw, gh, coast);
    /* A character is bold when it holds a tenth of the densest one's events. */
    uint32_t *cell = dg_xcalloc((size_t)used_cols * used_rows, sizeof *cell), max = 0;
    for (int dy = 0; dy < gh; dy++)
        for (int dx = 0; dx < gw; dx++) {
            uint32_t *c = &cell[(size_t)(dy / 4) * used_cols + dx / 2];
            *c += counts[(size_t)dy * gw + dx];
            if (*c > max)
                max = *c;
        }
    for (int r = 0; r < used_rows; r++) {
        move(y0 + r, x0);
        for (int c = 0; c < used_cols; c++) {
            unsigned ev = 0, co = 0;
            for (int dy = 0; dy < 4; dy++)
                for (int dx = 0; dx < 2; dx++) {
                    int gx = 2 * c + dx, gy = 4 * r + dy;
                    if (gx >= gw || gy >= gh)
                        continue;
                    if (counts[(size_t)gy * gw + gx])
                        ev |= text_braille_bit(dx, dy);
                    if (coast[(size_t)gy * gw + gx])
                        co |= text_braille_bit(dx, dy);
                }
            char ch[4];
            if (ev) {
                int dense = (uint64_t)cell[(size_t)r * used_cols + c] * 10 >= (uint64_t)max;
                attrset(dense ? app_attr(a, COLOR_HIST, A_BOLD) | (int)A_BOLD : app_attr(a, COLOR_HIST, 0));
                text_braille_utf8(ev, ch);
            } else if (co) {
                attrset(A_DIM);
                text_braille_utf8(co, ch);
            } else {
                attrset(A_NORMAL);
                strcpy(ch, " ");
            }
            addstr(ch);
        }
    }
    attrset(A_NORMAL);
    free(cell);
    free(counts);
    free(coast);
}

static void draw(app *a, int top, int height, int width)
{
    model *m = &a->m;
    geo_state *g = &m->geo;
    char line[1024], buf[2048];
    if (m->dbs.view != GEO_VIEW_MAP) {
        pane_dbscan_draw(a, top, height, width);
        return;
    }
    if (!g->have_sample) {
        snprintf(line, sizeof line, "No sample of events yet. %s",
                 !m->loaded           ? "Load data first (1 goes to the Load pane)."
                 : m->cl.have_cleaned ? "c samples 100,000 events of the cleaned data."
                                      : "c samples 100,000 events of the loaded data (2 cleans it).");
        mvaddstr(top + 1, 1, text_fit(line, width - 2, 0, buf, sizeof buf));
        return;
    }
    const dg_geo_sample *s = geo_sample_shown(g);
    char n1[32], n2[32];
    text_count(s->n, n1, sizeof n1);
    text_count(s->eligible, n2, sizeof n2);
    snprintf(line, sizeof line, "Map %s (m: next): %s of %s events%s, seed %llu, %s data%s",
             dg_map_kind_name(g->kind), n1, n2, g->kind == DG_MAP_ALL ? "" : " of labelled devices",
             (unsigned long long)s->seed, g->from_cleaned ? "cleaned" : "loaded",
             g->gen != m->data_gen ? "; data changed: c redraws" : "");
    attrset(A_BOLD);
    mvaddstr(top, 1, text_fit(line, width - 2, 0, buf, sizeof buf));
    attrset(A_NORMAL);
    snprintf(line, sizeof line, "lon %.2f..%.2f lat %.2f..%.2f %s; +/- zoom, arrows pan, 0 resets",
             g->extent.lon0, g->extent.lon1, g->extent.lat0, g->extent.lat1,
             g->projection == DG_PROJ_MERCATOR ? "mercator" : "equirect");
    mvaddstr(top + 1, 1, text_fit(line, width - 2, 0, buf, sizeof buf));
    if (height < 6)
        return;
    int np = dg_map_panels(g->kind), gap = 1;
    int pw = (width - 2 - (np - 1) * gap) / np;
    int rows = height - 4;
    if (g->kind != DG_MAP_ALL && s->n == 0) {
        mvaddstr(top + 3, 1, text_fit("No events of labelled devices: the gender and age maps "
                                      "need the labels table.", width - 2, 0, buf, sizeof buf));
        return;
    }
    for (int k = 0; k < np; k++) {
        int x = 1 + k * (pw + gap);
        uint32_t *one = dg_xcalloc(1, sizeof *one), out = 0;
        uint32_t in = dg_geo_density(s, g->kind, k, g->projection, &g->extent, 1, 1, one, &out);
        free(one);
        text_count(in, n1, sizeof n1);
        const char *name = dg_map_panel_name(g->kind, k);
        if (strncmp(name, "Age ", 4) == 0)
            name += 4; /* "25-32" says enough where three panels share 80 columns */
        snprintf(line, sizeof line, "%s: %s", name, n1);
        if (out) {
            text_count(out, n2, sizeof n2);
            snprintf(line + strlen(line), sizeof line - strlen(line), " (+%s out)", n2);
        }
        attrset(app_attr(a, COLOR_HEADER, A_BOLD | A_UNDERLINE));
        mvaddstr(top + 2, x, text_fit(line, pw, 0, buf, sizeof buf));
        attrset(A_NORMAL);
        draw_panel(a, k, x, top + 3, pw, rows);
    }
    const dg_basemap *b = geo_basemap(g);
    snprintf(line, sizeof line, "⣿ events (bold: dense)  %s  p saves the PNG  v DBSCAN",
             b ? "⠉ coastline, border (dim)" : "no basemap");
    mvaddstr(top + height - 1, 1, text_fit(line, width - 2, 0, buf, sizeof buf));
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
