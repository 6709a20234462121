/* report-write: the session's report (report.h) in <out>/report, the same
 * three renderings as `demographer run` writes (report.json, report.md and
 * the self-contained report.html), over what the panes have made so far:
 * the loaded (or cleaned) tables, the last apply's rule counts, the EDA
 * tables, the map's sample, the last DBSCAN run and its k-distance curve,
 * the last training and the campaigns' reach. The charts are drawn again
 * from the session's results into the folder, which is written whole
 * (dg_outdir): a cancelled or failed job leaves the one before. The run
 * reads the model's results on the worker thread; report-write is a DATA
 * action, so none of them changes meanwhile (the settings that other
 * actions change are taken at the start). */
#include "model_job.h"

#include "demographer/report.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct report_job {
    const model *m;
    /* Settings that actions outside DATA may change while the job runs,
     * taken when it starts. */
    dg_projection projection;
    char *dir;             /* <out>/report */
    char *train_rel;       /* the training's folder seen from dir */
    char *runs_json;
    dg_report_rule *rules;
    int ncharts;           /* drawn, for the message */
    char sections[200];    /* what the report holds, for the message */
} report_job;

/* The data the panes' analyses read: the cleaned, else the loaded. */
static const dg_dataset *report_data(const model *m)
{
    return m->cl.have_cleaned ? &m->cl.cleaned : &m->ds;
}

/* One step of the job: progress, and a cancel asked for between charts. */
static int step(const dg_progress *p, const char *what, int done, int total, dg_err *err)
{
    if (dg_progress_report(p, what, done, total, "steps"))
        return dg_cancel(err, "cancelled");
    return DG_OK;
}

static void note_section(report_job *d, const char *name)
{
    size_t n = strlen(d->sections);
    snprintf(d->sections + n, sizeof d->sections - n, "%s%s", n ? ", " : "", name);
}

/* The EDA tables as CSV and their charts, under dir/eda. */
static int report_eda(report_job *d, dg_report *r, const char *dir, const dg_progress *p,
                      int *done, int total, dg_err *err)
{
    const model *m = d->m;
    char *sub = dg_path_join(dir, "eda");
    int rc = dg_mkdirs(sub, err);
    free(sub);
    /* An EDA with no table is still a section of the session's report
     * (dg_report_add_eda marks it only with a table). */
    r->have_eda = 1;
    for (int i = 0; rc == DG_OK && i < m->eda.ntables; i++) {
        dg_report_add_eda(r, &m->eda, i);
        const dg_report_eda *x = &r->eda[r->neda - 1];
        char *csv = dg_path_join(dir, x->csv), *png = dg_path_join(dir, x->png);
        rc = dg_eda_table_write_csv(&m->eda.tables[i], csv, err);
        if (rc == DG_OK)
            rc = dg_eda_save_chart(&m->eda, i, png, err);
        if (rc == DG_OK)
            rc = step(p, "EDA charts", ++*done, total, err);
        d->ncharts += rc == DG_OK;
        free(csv);
        free(png);
    }
    return rc;
}

/* The three maps of the sample over its own extent, under dir/maps. */
static int report_maps(report_job *d, dg_report *r, const char *dir, const dg_progress *p,
                       int *done, int total, dg_err *err)
{
    const geo_state *g = &d->m->geo;
    dg_basemap own;
    const dg_basemap *basemap = g->basemap_state == 1 ? &g->basemap : NULL;
    int have_own = 0;
    if (!basemap && g->basemap_path) {
        if (dg_basemap_load(g->basemap_path, &own, err) != DG_OK)
            return DG_ERR;
        basemap = &own;
        have_own = 1;
    }
    char *sub = dg_path_join(dir, "maps");
    int rc = dg_mkdirs(sub, err);
    free(sub);
    r->map_sampled[0] = g->all.n;
    r->map_sampled[1] = g->labelled.n;
    r->map_eligible[0] = g->all.eligible;
    r->map_eligible[1] = g->labelled.eligible;
    for (int k = 0; rc == DG_OK && k < DG_MAP_KINDS; k++) {
        dg_geo_map map = {.kind = (dg_map_kind)k, .projection = d->projection,
                          .extent = g->home, .basemap = basemap};
        dg_report_set_map(r, k);
        char *png = dg_path_join(dir, r->map[k].png);
        rc = dg_geo_map_save(k == DG_MAP_ALL ? &g->all : &g->labelled, &map, png, err);
        free(png);
        if (rc == DG_OK) {
            r->nmaps++;
            d->ncharts++;
            rc = step(p, "maps", ++*done, total, err);
        }
    }
    if (have_own)
        dg_basemap_free(&own);
    return rc;
}

/* The last DBSCAN run: its summary, and the k-distance curve with its chart. */
static int report_cluster(report_job *d, dg_report *r, const char *dir, const dg_progress *p,
                          int *done, int total, dg_err *err)
{
    const dbscan_state *b = &d->m->dbs;
    const dg_dbscan_report *c = &b->report;
    char *sub = dg_path_join(dir, "cluster");
    int rc = dg_mkdirs(sub, err);
    free(sub);
    dg_report_set_cluster(r, c, b->run_eps_km, b->run_min_pts,
                          b->have_input ? b->input.nevents : 0, b->have_input ? b->input.n : 0,
                          b->have_input ? b->input.locs.n : 0, b->summary);
    r->knee_km = NAN;
    char *path = dg_path_join(dir, "cluster/clusters.csv");
    if (rc == DG_OK)
        rc = dg_cluster_write_summary(b->summary, c->clusters, path, err);
    free(path);
    if (rc == DG_OK && b->have_kdist && b->kdist.nsorted > 0) {
        r->knee_km = b->kdist.knee_km;
        char *png = dg_path_join(dir, "cluster/kdist.png");
        char *csv = dg_path_join(dir, "cluster/kdist.csv");
        rc = dg_kdist_chart_save(&b->kdist, b->run_eps_km, png, err);
        if (rc == DG_OK)
            rc = dg_kdist_write_csv(&b->kdist, csv, err);
        r->have_kdist_chart = rc == DG_OK;
        d->ncharts += rc == DG_OK;
        free(png);
        free(csv);
    }
    if (rc == DG_OK)
        rc = step(p, "clusters", ++*done, total, err);
    return rc;
}

/* The last training: its runs (report.json reads its runs.json), its split
 * and the charts train drew in its folder, which the report links. */
static void report_train(report_job *d, dg_report *r)
{
    const model *m = d->m;
    const models_state *s = &m->models;
    size_t out = strlen(m->out_dir);
    /* <out>/train seen from <out>/report. */
    if (strncmp(s->train_dir, m->out_dir, out) == 0 && s->train_dir[out] == '/') {
        size_t n = strlen(s->train_dir + out) + 4;
        d->train_rel = dg_xmalloc(n);
        snprintf(d->train_rel, n, "..%s", s->train_dir + out);
    } else {
        d->train_rel = dg_xstrdup(s->train_dir);
    }
    d->runs_json = dg_path_join(s->train_dir, "runs.json");
    dg_report_set_features(r, &s->feat);
    dg_report_set_train(r, &s->res, d->train_rel, d->runs_json);
    dg_report_add_train_charts(r, s->train_dir, d->train_rel);
    d->ncharts += r->ntrain_charts;
}

/* The campaigns' files (reach.png among them) under dir/campaigns, and
 * their reach. */
static int report_campaigns(report_job *d, dg_report *r, const char *dir, dg_err *err)
{
    const campaigns_state *c = &d->m->camp;
    char *sub = dg_path_join(dir, "campaigns");
    int rc = dg_campaigns_save(sub, &c->rules, &c->dec, c->pred, c->tg, c->n, &c->reach, err);
    free(sub);
    if (rc != DG_OK)
        return DG_ERR;
    d->ncharts++;
    dg_report_set_campaigns(r, &c->rules, &c->dec, &c->reach);
    return DG_OK;
}

static int report_build(report_job *d, dg_report *r, const char *dir, const dg_progress *p,
                        dg_err *err)
{
    const model *m = d->m;
    const dg_dataset *ds = report_data(m);
    memset(r, 0, sizeof *r);
    r->title = "demographer workbench session";
    r->dir = dir;
    r->data_dir = !m->from_db                ? m->dir ? m->dir : ""
                  : m->from_db == SRC_CH_PUSHDOWN ? "the ClickHouse tables"
                                              : "the MySQL tables";
    r->upgrad_shape = ds->shape == DG_SHAPE_UPGRAD;
    /* The last training's (the next one's settings without one). */
    r->seed = m->models.have_result ? m->models.res_seed : m->models.seed;
    r->folds = m->models.have_result ? m->models.res_folds : m->models.folds;
    dg_report_set_tables(r, ds, NULL);
    note_section(d, "tables");
    if (m->cl.have_cleaned && m->cl.effects) {
        const dg_rules *rules = &m->cl.applied;
        d->rules = dg_xcalloc((size_t)rules->n + 1, sizeof *d->rules);
        dg_report_set_cleaning(r, rules, m->cl.effects, d->rules);
        note_section(d, "cleaning");
    }
    int done = 0, total = 1 + (m->have_eda ? m->eda.ntables : 0) +
                          (m->geo.have_sample && m->geo.all.n ? DG_MAP_KINDS : 0) +
                          m->dbs.have_run;
    int rc = DG_OK;
    if (m->have_eda) {
        rc = report_eda(d, r, dir, p, &done, total, err);
        note_section(d, "EDA");
    }
    if (rc == DG_OK && m->geo.have_sample && m->geo.all.n) {
        rc = report_maps(d, r, dir, p, &done, total, err);
        note_section(d, "maps");
    }
    if (rc == DG_OK && m->dbs.have_run) {
        rc = report_cluster(d, r, dir, p, &done, total, err);
        note_section(d, "DBSCAN");
    }
    if (rc == DG_OK && m->models.have_result) {
        report_train(d, r);
        note_section(d, "models");
    }
    if (rc == DG_OK && m->camp.have) {
        rc = report_campaigns(d, r, dir, err);
        note_section(d, "campaigns");
    }
    return rc;
}

static int report_kind_run(model_job *j, const dg_progress *p, dg_err *err)
{
    report_job *d = j->data;
    dg_outdir od;
    if (dg_mkdirs(d->m->out_dir, err) != DG_OK || dg_outdir_begin(&od, d->dir, err) != DG_OK)
        return DG_ERR;
    dg_report r;
    int rc = report_build(d, &r, od.partial, p, err);
    if (rc == DG_OK)
        rc = step(p, "report", 0, 1, err);
    if (rc == DG_OK)
        rc = dg_report_write(&r, err);
    if (rc == DG_OK)
        return dg_outdir_commit(&od, err);
    dg_outdir_abort(&od);
    return rc;
}

static int report_kind_finish(model *m, model_job *j, dg_err *err)
{
    (void)err;
    report_job *d = j->data;
    snprintf(m->saved, sizeof m->saved, "%.1000s/report.html", d->dir);
    model_say(m, "wrote %.600s (and report.md, report.json): %s; %d charts inlined", m->saved,
              d->sections, d->ncharts);
    return DG_OK;
}

static void report_kind_free(model_job *j)
{
    report_job *d = j->data;
    if (!d)
        return;
    free(d->dir);
    free(d->train_rel);
    free(d->runs_json);
    free(d->rules);
    free(d);
}

static const job_kind report_kind = {report_kind_run, report_kind_finish, report_kind_free};

model_job *report_write_start(model *m, int id, int argc, char **argv, dg_err *err)
{
    if (model_need_args(id, argc, 0, 0, err) != DG_OK)
        return NULL;
    if (!m->loaded) {
        dg_fail(err, "nothing loaded yet ({pane-load} goes to the Load pane, {load} loads): "
                     "the report sums up what the panes made");
        return NULL;
    }
    model_job *j = model_job_new(id, argc, argv, &report_kind);
    report_job *d = dg_xcalloc(1, sizeof *d);
    d->m = m;
    d->projection = m->geo.projection;
    d->dir = dg_path_join(m->out_dir, "report");
    j->data = d;
    snprintf(j->title, sizeof j->title, "writing the report");
    return j;
}
