/* The Geo pane's DBSCAN views (model_dbscan.h): the last run with its top
 * clusters, the k-distance curve (the PNG's chart description, in braille)
 * with the knee and the current eps, and the eps x minPts sweep as a table with a row cursor
 * (or, with chart-toggle, as clusters against eps, a line per minPts). pane_geo.c
 * hands its drawing and keys here when a DBSCAN view is shown. */
#include "pane_dbscan.h"

#include "chart_view.h"
#include "text.h"

#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double pct(double part, double whole)
{
    return whole > 0 ? 100 * part / whole : 0;
}

static void draw_clusters(app *a, int top, int height, int width)
{
    model *m = &a->m;
    dbscan_state *d = &m->dbs;
    char line[1024], n1[32], n2[32], n3[32], n4[32];
    if (!d->have_run) {
        app_put_text(top + 2, width,
                     !m->loaded
                         ? "No DBSCAN run yet. Load data first ({pane-load} goes to the Load pane)."
                     : m->cl.have_cleaned
                         ? "No DBSCAN run yet: {dbscan-run} clusters the cleaned events' locations."
                         : "No DBSCAN run yet: {dbscan-run} clusters the loaded events' locations "
                           "({pane-clean} cleans).",
                     A_NORMAL);
        return;
    }
    const dg_dbscan_report *r = &d->report;
    snprintf(line, sizeof line, "Last run %g km/%g (%s data): %s clusters; %s of %s events "
                                "core",
             d->run_eps_km, d->run_min_pts, d->run_from_cleaned ? "cleaned" : "loaded",
             text_count((unsigned long long)r->clusters, n1, sizeof n1),
             text_count(r->core_points, n2, sizeof n2),
             text_count((unsigned long long)r->total_weight, n4, sizeof n4));
    app_put_text(top + 1, width, line, A_NORMAL);
    snprintf(line, sizeof line, "noise %.1f%%, largest cluster %.1f%% of the events; %s "
                                "locations; %.2f s%s",
             pct(r->noise_weight, r->total_weight),
             pct(r->largest_cluster_weight, r->total_weight),
             text_count(r->distinct, n3, sizeof n3), r->seconds,
             d->run_gen != m->data_gen ? "; data changed: {dbscan-run} reruns" : "");
    app_put_text(top + 2, width, line, A_NORMAL); /* numbers and the product's words only */
    if (height < 6)
        return;
    app_cell head[] = {{"cluster", 7, 1}, {"events", 10, 1},  {"devices", 8, 1},
                       {"locations", 9, 1}, {"lat", 8, 1}, {"lon", 8, 1}, {"radius km", 9, 1}};
    int nh = (int)(sizeof head / sizeof *head);
    if (r->clusters == 0) {
        app_put_text(top + 3, width, "No clusters: no location has minPts events within eps "
                                     "({dbscan-eps-up} raises eps, {dbscan-min-pts-down} lowers "
                                     "minPts).", A_NORMAL);
        return;
    }
    /* Every cluster, the largest first; the list scrolls with the cursor.
     * A heading too wide for the line takes a second from the list. */
    int head_lines = 1, rows = 0, shown = 0, first = 0;
    if (d->cluster_cur >= r->clusters)
        d->cluster_cur = r->clusters - 1;
    char all[32];
    text_count((unsigned)r->clusters, all, sizeof all);
    for (int pass = 0; pass < 2; pass++) {
        rows = height - 4 - head_lines;
        shown = rows < r->clusters ? rows : r->clusters;
        first = d->cluster_cur >= rows ? d->cluster_cur - rows + 1 : 0;
        if (shown < r->clusters)
            snprintf(line, sizeof line, "Clusters %d-%d of %s, the largest first (radius: to the "
                                        "farthest location)",
                     first + 1, first + shown, all);
        else
            snprintf(line, sizeof line, "%s clusters, the largest first (radius: to the farthest "
                                        "location)",
                     all);
        if (text_width(line) <= width - 2)
            break;
        head_lines = 2;
    }
    app_put_text_wrapped(top + 3, width, line, A_NORMAL, head_lines);
    top += head_lines - 1;
    attrset(app_attr(a, COLOR_HEADER, A_BOLD | A_UNDERLINE));
    app_put_row(top + 4, 1, width - 2, head, nh);
    attrset(A_NORMAL);
    for (int i = 0; i < shown; i++) {
        int32_t c = d->top[first + i];
        const dg_cluster_summary *s = &d->summary[c];
        char id[16], ev[32], dev[32], loc[32], la[16], lo[16], rad[16];
        snprintf(id, sizeof id, "%d", c);
        text_count(s->events, ev, sizeof ev);
        text_count(s->devices, dev, sizeof dev);
        text_count(s->locations, loc, sizeof loc);
        snprintf(la, sizeof la, "%.3f", s->lat);
        snprintf(lo, sizeof lo, "%.3f", s->lon);
        snprintf(rad, sizeof rad, "%.2f", s->radius_km);
        app_cell row[] = {{id, 7, 1}, {ev, 10, 1}, {dev, 8, 1}, {loc, 9, 1},
                          {la, 8, 1}, {lo, 8, 1},  {rad, 9, 1}};
        if (first + i == d->cluster_cur)
            attrset(app_attr(a, COLOR_CURSOR, A_REVERSE));
        app_put_row(top + 5 + i, 1, width - 2, row, nh);
        attrset(A_NORMAL);
    }
}

/* The k-distance curve: the chart the PNG is drawn from (dg_kdist_chart_of),
 * with the knee and the current eps. */
static void draw_kdist(app *a, int top, int height, int width)
{
    model *m = &a->m;
    dbscan_state *d = &m->dbs;
    char line[1024], n1[32];
    if (!d->have_kdist) {
        app_put_text(top + 2, width,
                     "No k-distance curve yet: {dbscan-run} runs DBSCAN and computes it for "
                     "k = minPts.",
                     A_NORMAL);
        return;
    }
    const dg_kdist *k = &d->kdist;
    snprintf(line, sizeof line, "k = %g, %s locations: knee %.3g km (suggested eps) at %.0f%%%s",
             k->k, text_count(k->nsorted, n1, sizeof n1), k->knee_km,
             k->nsorted > 1 ? 100.0 * k->knee_index / (k->nsorted - 1) : 0,
             d->kdist_gen != m->data_gen ? "; data changed: {dbscan-run} redraws"
                                         : "; {save} saves the PNG");
    action_keys_expand(line, sizeof line); /* numbers and the product's words only */
    dg_kdist_chart kc;
    dg_err err;
    if (dg_kdist_chart_of(k, d->eps_km, &kc, &err) != DG_OK) {
        app_put_plain(top + 1, 0, width, err.msg, A_NORMAL);
        return;
    }
    chart_view_draw(a, &kc.chart, line, top + 1, height - 1, width);
}

/* The sweep as a chart (dg_sweep_chart_of, as geo-sweep.png): clusters
 * found against eps, a line per minPts. */
static void draw_sweep_chart(app *a, int top, int height, int width)
{
    dbscan_state *d = &a->m.dbs;
    dg_sweep_chart *sc = dg_xmalloc(sizeof *sc);
    dg_sweep_chart_of(d->rows, d->nrows, d->eps_km, sc);
    char title[256] = "clusters by eps, a line per minPts ({chart-toggle} the table: "
                      "{dbscan-adopt} adopts a row; {save} saves the PNG)";
    action_keys_expand(title, sizeof title);
    chart_view_draw(a, &sc->chart,
                    title,
                    top + 1, height - 1, width);
    free(sc);
}

static void draw_sweep(app *a, int top, int height, int width)
{
    model *m = &a->m;
    dbscan_state *d = &m->dbs;
    if (d->nrows && m->chart[PANE_GEO]) {
        draw_sweep_chart(a, top, height, width);
        return;
    }
    if (!d->nrows) {
        app_put_text(top + 2, width,
                     m->loaded ? "No sweep yet: {dbscan-sweep} runs eps x minPts over the ladder "
                                 "steps around the pair."
                               : "No sweep yet. Load data first ({pane-load} goes to the Load "
                                 "pane).",
                     A_NORMAL);
        return;
    }
    app_put_text(top + 1, width,
                 d->sweep_gen != m->data_gen
                     ? "{cursor-up}/{cursor-down} choose a row, {dbscan-adopt} adopts it; data "
                       "changed: {dbscan-sweep} sweeps again"
                     : "{cursor-up}/{cursor-down} choose a row, {dbscan-adopt} adopts its eps "
                       "and minPts (* the current pair)",
                 A_NORMAL);
    app_cell head[] = {{"", 1, 0},           {"eps km", 7, 1},  {"minPts", 7, 1},
                       {"clusters", 8, 1},   {"core locs", 10, 1}, {"noise %", 8, 1},
                       {"largest %", 9, 1},  {"seconds", 9, 1}};
    int nh = (int)(sizeof head / sizeof *head);
    attrset(app_attr(a, COLOR_HEADER, A_BOLD | A_UNDERLINE));
    app_put_row(top + 3, 1, width - 2, head, nh);
    attrset(A_NORMAL);
    for (int i = 0; i < d->nrows && i < height - 4; i++) {
        const dg_dbscan_sweep_row *r = &d->rows[i];
        char eps[16], mp[16], cl[32], core[32], noise[16], larg[16], sec[16];
        snprintf(eps, sizeof eps, "%g", r->eps_km);
        snprintf(mp, sizeof mp, "%g", r->min_pts);
        text_count((unsigned long long)r->clusters, cl, sizeof cl);
        text_count(r->core_locations, core, sizeof core);
        snprintf(noise, sizeof noise, "%.1f", 100 * r->noise_share);
        snprintf(larg, sizeof larg, "%.1f", 100 * r->largest_share);
        snprintf(sec, sizeof sec, "%.3f s", r->seconds);
        int current = r->eps_km == d->eps_km && r->min_pts == d->min_pts;
        app_cell row[] = {{current ? "*" : "", 1, 0}, {eps, 7, 1},   {mp, 7, 1},
                          {cl, 8, 1},                 {core, 10, 1}, {noise, 8, 1},
                          {larg, 9, 1},               {sec, 9, 1}};
        if (i == d->sweep_cur)
            attrset(app_attr(a, COLOR_CURSOR, A_REVERSE));
        app_put_row(top + 4 + i, 1, width - 2, row, nh);
        attrset(A_NORMAL);
    }
}

void pane_dbscan_draw(app *a, int top, int height, int width)
{
    dbscan_state *d = &a->m.dbs;
    char line[512];
    snprintf(line, sizeof line, "DBSCAN %s  eps %g km {dbscan-eps-down} {dbscan-eps-up}  minPts %g "
                                "{dbscan-min-pts-down} {dbscan-min-pts-up}  {dbscan-run} run  "
                                "{dbscan-sweep} sweep  {dbscan-view} view",
             d->view == GEO_VIEW_CLUSTERS ? "clusters"
             : d->view == GEO_VIEW_KDIST  ? "k-distance"
                                          : "sweep",
             d->eps_km, d->min_pts);
    app_put_text(top, width, line, A_BOLD); /* numbers and the product's words only */
    switch (d->view) {
    case GEO_VIEW_CLUSTERS: draw_clusters(a, top, height, width); break;
    case GEO_VIEW_KDIST: draw_kdist(a, top, height, width); break;
    case GEO_VIEW_SWEEP: draw_sweep(a, top, height, width); break;
    default: break;
    }
}

int pane_dbscan_key(app *a, int id, pane_args *args)
{
    dbscan_state *d = &a->m.dbs;
    switch (id) {
    case ACT_GEO_VIEW:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%s", geo_view_names[GEO_VIEW_CLUSTERS]);
        return 1;
    case ACT_DBSCAN_VIEW:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%s", geo_view_names[dbscan_next_view(d)]);
        return 1;
    case ACT_DBSCAN_ADOPT:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%d", d->sweep_cur + 1);
        return 1;
    case ACT_DBSCAN_SET: {
        char now[128];
        snprintf(now, sizeof now, "dbscan-set %g %g", d->eps_km, d->min_pts);
        app_prompt(a, PROMPT_COMMAND, ":", now, NULL);
        return 0;
    }
    default: return 1;
    }
}
