/* The Geo pane's DBSCAN tuning section (see model_dbscan.h). */
#include "model_dbscan.h"
#include "text.h"

#include "actions.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const geo_view_names[GEO_VIEWS] = {"map", "clusters", "kdist", "sweep"};
const double dbscan_eps_ladder[DBSCAN_EPS_STEPS] = {0.3, 0.5, 0.8, 1.0, 1.2, 1.5, 2, 3, 5};
const double dbscan_min_ladder[DBSCAN_MIN_STEPS] = {2, 3, 5, 10, 20, 50, 100, 200, 500, 1000};

void dbscan_init(dbscan_state *d)
{
    memset(d, 0, sizeof *d);
    d->eps_km = DBSCAN_DEFAULT_EPS_KM;
    d->min_pts = DBSCAN_DEFAULT_MIN_PTS;
}

static void forget_run(dbscan_state *d)
{
    free(d->summary);
    free(d->top);
    d->summary = NULL;
    d->top = NULL;
    d->have_run = 0;
    d->cluster_cur = 0;
}

void dbscan_forget(dbscan_state *d)
{
    forget_run(d);
    if (d->have_input)
        dg_cluster_input_free(&d->input);
    d->have_input = 0;
    if (d->have_kdist)
        dg_kdist_free(&d->kdist);
    d->have_kdist = 0;
    d->nrows = d->sweep_cur = 0;
}

void dbscan_free(dbscan_state *d)
{
    dbscan_forget(d);
    memset(d, 0, sizeof *d);
}

geo_view dbscan_next_view(const dbscan_state *d)
{
    return (geo_view)((d->view + 1) % GEO_VIEWS);
}

/* The ladder's step below (dir < 0) or above the value, or -1 at its end.
 * A value off the ladder (dbscan-set) steps to its nearest rung that way. */
static int ladder_step(const double *ladder, int n, double v, int dir)
{
    if (dir < 0) {
        for (int i = n - 1; i >= 0; i--)
            if (ladder[i] < v * (1 - 1e-9))
                return i;
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (ladder[i] > v * (1 + 1e-9))
            return i;
    return -1;
}

static int parse_positive(const char *what, const char *s, double min, double max, double *out,
                          dg_err *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || v < min || v > max)
        return dg_fail(err, "dbscan-set: expected %s from %g to %g, found '%s'", what, min, max, s);
    *out = v;
    return DG_OK;
}

static int view_by_name(const char *name)
{
    for (int i = 0; i < GEO_VIEWS; i++)
        if (strcmp(geo_view_names[i], name) == 0)
            return i;
    return -1;
}

int dbscan_action(dbscan_state *d, int id, int argc, char **argv, char *msg, size_t msgcap,
                  dg_err *err)
{
    int want = id == ACT_GEO_VIEW || id == ACT_DBSCAN_VIEW ? 1 : id == ACT_DBSCAN_SET ? 2
               : id == ACT_DBSCAN_ADOPT                  ? 1
                                                         : 0;
    if (argc != want)
        return dg_fail(err, "%s takes %s", actions[id].name,
                       want ? actions[id].args : "no arguments");
    switch (id) {
    case ACT_GEO_VIEW:
    case ACT_DBSCAN_VIEW: {
        int v = view_by_name(argv[0]);
        if (v < 0)
            return dg_fail(err, "%s: expected map, clusters, kdist or sweep, found '%s'",
                           actions[id].name, argv[0]);
        d->view = (geo_view)v;
        return DG_OK;
    }
    case ACT_DBSCAN_EPS_DOWN:
    case ACT_DBSCAN_EPS_UP: {
        int i = ladder_step(dbscan_eps_ladder, DBSCAN_EPS_STEPS, d->eps_km,
                            id == ACT_DBSCAN_EPS_DOWN ? -1 : 1);
        if (i < 0)
            return dg_fail(err, "eps %g km is already the %s step of the ladder", d->eps_km,
                           id == ACT_DBSCAN_EPS_DOWN ? "lowest" : "highest");
        d->eps_km = dbscan_eps_ladder[i];
        break;
    }
    case ACT_DBSCAN_MIN_DOWN:
    case ACT_DBSCAN_MIN_UP: {
        int i = ladder_step(dbscan_min_ladder, DBSCAN_MIN_STEPS, d->min_pts,
                            id == ACT_DBSCAN_MIN_DOWN ? -1 : 1);
        if (i < 0)
            return dg_fail(err, "minPts %g is already the %s step of the ladder", d->min_pts,
                           id == ACT_DBSCAN_MIN_DOWN ? "lowest" : "highest");
        d->min_pts = dbscan_min_ladder[i];
        break;
    }
    case ACT_DBSCAN_SET: {
        double eps = 0, mp = 0;
        if (parse_positive("EPS_KM", argv[0], 0.001, 20000, &eps, err) != DG_OK ||
            parse_positive("MIN_PTS", argv[1], 1, 1e9, &mp, err) != DG_OK)
            return DG_ERR;
        if (mp != floor(mp))
            return dg_fail(err, "dbscan-set: expected MIN_PTS as a whole number, found '%s'",
                           argv[1]);
        d->eps_km = eps;
        d->min_pts = mp;
        break;
    }
    case ACT_DBSCAN_ADOPT: {
        char *end;
        long n = strtol(argv[0], &end, 10);
        if (!d->nrows)
            return dg_fail(err, "no sweep yet (w sweeps eps x minPts around the pair)");
        if (!argv[0][0] || *end || n < 1 || n > d->nrows)
            return dg_fail(err, "dbscan-adopt: expected a sweep row from 1 to %d, found '%s'",
                           d->nrows, argv[0]);
        d->sweep_cur = (int)n - 1;
        d->eps_km = d->rows[n - 1].eps_km;
        d->min_pts = d->rows[n - 1].min_pts;
        break;
    }
    default: return dg_fail(err, "%s is not a DBSCAN action", actions[id].name);
    }
    snprintf(msg, msgcap, "eps %g km, minPts %g ({dbscan-run} runs DBSCAN with them)", d->eps_km,
             d->min_pts);
    return DG_OK;
}

void dbscan_job_init(dbscan_job *j, const dbscan_state *d, int sweep, const dg_dataset *src,
                     int from_cleaned, unsigned gen)
{
    memset(j, 0, sizeof *j);
    j->sweep = sweep;
    j->eps_km = d->eps_km;
    j->min_pts = d->min_pts;
    j->src = src;
    j->from_cleaned = from_cleaned;
    j->gen = gen;
    j->cached = d->have_input && d->input_gen == gen ? &d->input : NULL;
    j->want_kdist = !sweep && !(d->have_kdist && d->kdist_gen == gen && d->kdist.k == d->min_pts);
    if (sweep) {
        /* The ladder's rung below, the pair itself and the rung above. */
        int lo = ladder_step(dbscan_eps_ladder, DBSCAN_EPS_STEPS, d->eps_km, -1);
        int hi = ladder_step(dbscan_eps_ladder, DBSCAN_EPS_STEPS, d->eps_km, 1);
        if (lo >= 0)
            j->eps_list[j->neps++] = dbscan_eps_ladder[lo];
        j->eps_list[j->neps++] = d->eps_km;
        if (hi >= 0)
            j->eps_list[j->neps++] = dbscan_eps_ladder[hi];
        lo = ladder_step(dbscan_min_ladder, DBSCAN_MIN_STEPS, d->min_pts, -1);
        hi = ladder_step(dbscan_min_ladder, DBSCAN_MIN_STEPS, d->min_pts, 1);
        if (lo >= 0)
            j->min_list[j->nmin++] = dbscan_min_ladder[lo];
        j->min_list[j->nmin++] = d->min_pts;
        if (hi >= 0)
            j->min_list[j->nmin++] = dbscan_min_ladder[hi];
    }
}

typedef struct ranked {
    uint64_t events;
    int32_t id;
} ranked;

static int by_events_desc(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    if (a->events != b->events)
        return a->events > b->events ? -1 : 1;
    return (a->id > b->id) - (a->id < b->id);
}

/* Cluster ids by events, most first (ties: the lower id). */
static int32_t *rank_clusters(const dg_cluster_summary *s, int32_t n)
{
    ranked *r = dg_xcalloc((size_t)n + 1, sizeof *r);
    for (int32_t c = 0; c < n; c++)
        r[c] = (ranked){s[c].events, c};
    qsort(r, (size_t)n, sizeof *r, by_events_desc);
    int32_t *top = dg_xcalloc((size_t)n + 1, sizeof *top);
    for (int32_t c = 0; c < n; c++)
        top[c] = r[c].id;
    free(r);
    return top;
}

int dbscan_job_run(dbscan_job *j, const dg_progress *p, dg_err *err)
{
    const dg_cluster_input *in = j->cached;
    if (!in) {
        /* Building the input reports no progress: a cancel is seen before and after. */
        if (dg_progress_report(p, "locations", 0, 1, ""))
            return dg_cancel(err, "cancelled");
        if (dg_cluster_input_build(&j->own, j->src, err) != DG_OK)
            return DG_ERR;
        j->have_own = 1;
        in = &j->own;
        if (dg_progress_report(p, "locations", 1, 1, ""))
            return dg_cancel(err, "cancelled");
    }
    if (j->sweep) {
        dg_progress_stage st;
        return dg_dbscan_sweep(&in->locs, j->eps_list, j->neps, j->min_list, j->nmin, j->rows,
                               dg_progress_restage(&st, p, "sweep"), err);
    }
    dg_progress_stage st;
    j->label = dg_xcalloc((size_t)in->locs.n + 1, sizeof *j->label);
    if (dg_dbscan_run(&in->locs, j->eps_km, j->min_pts, j->label, NULL, &j->report,
                      dg_progress_restage(&st, p, "dbscan"), err) != DG_OK)
        return DG_ERR;
    j->summary = dg_cluster_summarize(j->src, in, j->label, j->report.clusters);
    j->top = rank_clusters(j->summary, j->report.clusters);
    if (j->want_kdist) {
        if (dg_kdist_compute(&in->locs, j->min_pts, &j->kdist,
                             dg_progress_restage(&st, p, "k-distance"), err) != DG_OK)
            return DG_ERR;
        j->have_kdist = 1;
    }
    return DG_OK;
}

static double share(double part, double whole)
{
    return whole > 0 ? 100 * part / whole : 0;
}

void dbscan_job_finish(dbscan_state *d, dbscan_job *j, char *msg, size_t msgcap)
{
    if (j->have_own) {
        if (d->have_input)
            dg_cluster_input_free(&d->input);
        d->input = j->own;
        d->have_input = 1;
        d->input_gen = j->gen;
        j->have_own = 0;
    }
    if (j->sweep) {
        d->nrows = j->neps * j->nmin;
        memcpy(d->rows, j->rows, sizeof d->rows);
        d->sweep_gen = j->gen;
        /* The cursor starts on the current pair. */
        d->sweep_cur = 0;
        for (int r = 0; r < d->nrows; r++)
            if (d->rows[r].eps_km == j->eps_km && d->rows[r].min_pts == j->min_pts)
                d->sweep_cur = r;
        d->view = GEO_VIEW_SWEEP;
        snprintf(msg, msgcap, "swept %d eps x %d minPts around %g km, %g (Enter adopts a row)",
                 j->neps, j->nmin, j->eps_km, j->min_pts);
        return;
    }
    forget_run(d);
    d->have_run = 1;
    d->run_eps_km = j->eps_km;
    d->run_min_pts = j->min_pts;
    d->run_from_cleaned = j->from_cleaned;
    d->run_gen = j->gen;
    d->report = j->report;
    d->summary = j->summary;
    d->top = j->top;
    j->summary = NULL;
    j->top = NULL;
    if (j->have_kdist) {
        if (d->have_kdist)
            dg_kdist_free(&d->kdist);
        d->kdist = j->kdist;
        d->have_kdist = 1;
        d->kdist_gen = j->gen;
        j->have_kdist = 0;
    }
    if (d->view == GEO_VIEW_MAP)
        d->view = GEO_VIEW_CLUSTERS;
    const dg_dbscan_report *r = &j->report;
    char clusters[32];
    snprintf(msg, msgcap, "eps %g km, minPts %g: %s clusters, noise %.1f%%, largest %.1f%%, "
                          "%.2f s",
             j->eps_km, j->min_pts, text_count((unsigned)r->clusters, clusters, sizeof clusters), share(r->noise_weight, r->total_weight),
             share(r->largest_cluster_weight, r->total_weight), r->seconds);
}

void dbscan_job_free(dbscan_job *j)
{
    if (j->have_own)
        dg_cluster_input_free(&j->own);
    if (j->have_kdist)
        dg_kdist_free(&j->kdist);
    free(j->label);
    free(j->summary);
    free(j->top);
    memset(j, 0, sizeof *j);
}

int dbscan_save_kdist(const dbscan_state *d, const char *path, dg_err *err)
{
    if (!d->have_kdist)
        return dg_fail(err, "no k-distance curve yet ({dbscan-run} runs DBSCAN and draws it)");
    return dg_kdist_chart_save(&d->kdist, d->eps_km, path, err);
}
