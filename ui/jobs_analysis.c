/* The analysis panes' job kinds: geo-sample (the Geo pane's map), dbscan-run
 * and dbscan-sweep (its DBSCAN views), models-train (the Models pane) and
 * campaigns-predict (the Campaigns pane). Each is start, run, finish and
 * free over the pane's own job state (model_geo.h, model_dbscan.h,
 * model_models.h, model_campaigns.h). */
#include "model_job.h"

#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char not_loaded[] =
    "nothing loaded yet ({pane-load} goes to the Load pane, {load} loads)";

/* The data the analyses read: the cleaned, else the loaded. */
static const dg_dataset *analysed(const model *m)
{
    return m->cl.have_cleaned ? &m->cl.cleaned : &m->ds;
}

/* ---- geo-sample ---------------------------------------------------------- */

static int geo_kind_run(model_job *j, const dg_progress *p, dg_err *err)
{
    return geo_job_run(j->data, p, err);
}

static int geo_kind_finish(model *m, model_job *j, dg_err *err)
{
    (void)err;
    geo_job_finish(&m->geo, j->data);
    char a[32], b[32];
    text_count(m->geo.all.n, a, sizeof a);
    text_count(m->geo.labelled.n, b, sizeof b);
    model_say(m, "sampled %s events (%s of labelled devices) from the %s data", a, b,
              m->geo.from_cleaned ? "cleaned" : "loaded (not cleaned)");
    return DG_OK;
}

static void geo_kind_free(model_job *j)
{
    if (j->data)
        geo_job_free(j->data);
    free(j->data);
}

static const job_kind geo_kind = {geo_kind_run, geo_kind_finish, geo_kind_free};

model_job *geo_sample_start(model *m, int id, int argc, char **argv, dg_err *err)
{
    geo_job g;
    if (geo_job_args(&g, argc, argv, err) != DG_OK)
        return NULL;
    if (!m->loaded) {
        dg_fail(err, not_loaded);
        return NULL;
    }
    model_job *j = model_job_new(id, argc, argv, &geo_kind);
    geo_job *d = dg_xmalloc(sizeof *d);
    *d = g;
    d->from_cleaned = m->cl.have_cleaned;
    d->src = analysed(m);
    d->gen = m->data_gen;
    j->data = d;
    char n[32];
    snprintf(j->title, sizeof j->title, "sampling %s events", text_count(g.n, n, sizeof n));
    return j;
}

/* ---- dbscan-run, dbscan-sweep ------------------------------------------------ */

static int dbscan_kind_run(model_job *j, const dg_progress *p, dg_err *err)
{
    return dbscan_job_run(j->data, p, err);
}

static int dbscan_kind_finish(model *m, model_job *j, dg_err *err)
{
    (void)err;
    dbscan_job_finish(&m->dbs, j->data, m->msg, sizeof m->msg);
    return DG_OK;
}

static void dbscan_kind_free(model_job *j)
{
    if (j->data)
        dbscan_job_free(j->data);
    free(j->data);
}

static const job_kind dbscan_kind = {dbscan_kind_run, dbscan_kind_finish, dbscan_kind_free};

model_job *dbscan_start(model *m, int id, int argc, char **argv, dg_err *err)
{
    if (model_need_args(id, argc, 0, 0, err) != DG_OK)
        return NULL;
    if (!m->loaded) {
        dg_fail(err, not_loaded);
        return NULL;
    }
    model_job *j = model_job_new(id, argc, argv, &dbscan_kind);
    dbscan_job *d = dg_xcalloc(1, sizeof *d);
    j->data = d;
    dbscan_job_init(d, &m->dbs, id == ACT_DBSCAN_SWEEP, analysed(m), m->cl.have_cleaned,
                    m->data_gen);
    if (id == ACT_DBSCAN_RUN)
        snprintf(j->title, sizeof j->title, "clustering (eps %g km, minPts %g)", m->dbs.eps_km,
                 m->dbs.min_pts);
    else
        snprintf(j->title, sizeof j->title, "sweeping %d eps x %d minPts", d->neps, d->nmin);
    return j;
}

/* ---- models-train -------------------------------------------------------------- */

static int models_kind_run(model_job *j, const dg_progress *p, dg_err *err)
{
    return models_job_run(j->data, p, err);
}

static int models_kind_finish(model *m, model_job *j, dg_err *err)
{
    (void)err;
    models_job_finish(&m->models, j->data);
    const dg_train_result *r = &m->models.res;
    /* A chosen row over both scenarios (1+2) combines two models: x
     * exports the models of the rows of one scenario. */
    int chosen = 0, models = 0;
    for (size_t i = 0; i < r->nruns; i++) {
        chosen += r->runs[i].chosen;
        models += r->runs[i].chosen && r->runs[i].scenario != 0;
    }
    char nruns[32], nlabelled[32];
    model_say(m,
              "%s runs on %s labelled devices of the %s data, %d chosen (*); {models-export} "
              "exports %d models",
              text_count(r->nruns, nruns, sizeof nruns), text_count(r->nlabelled, nlabelled, sizeof nlabelled),
              m->models.from_cleaned ? "cleaned"
              : m->have_pushed       ? "aggregated (cleaned on the server at the load)"
                                     : "loaded (not cleaned)",
              chosen, models);
    return DG_OK;
}

static void models_kind_free(model_job *j)
{
    if (j->data)
        models_job_free(j->data);
    free(j->data);
}

static const job_kind models_kind = {models_kind_run, models_kind_finish, models_kind_free};

model_job *models_train_start(model *m, int id, int argc, char **argv, dg_err *err)
{
    if (model_need_args(id, argc, 0, 0, err) != DG_OK)
        return NULL;
    if (!m->loaded) {
        dg_fail(err, not_loaded);
        return NULL;
    }
    model_job *j = model_job_new(id, argc, argv, &models_kind);
    models_job *d = dg_xcalloc(1, sizeof *d);
    j->data = d;
    if (models_job_args(&m->models, m->out_dir, d, err) != DG_OK) {
        models_kind_free(j);
        free(j);
        return NULL;
    }
    d->from_cleaned = m->cl.have_cleaned;
    d->src = analysed(m);
    d->gen = m->data_gen;
    d->pushed = m->have_pushed ? &m->pushed : NULL;
    snprintf(j->title, sizeof j->title, "training on the %s data",
             m->cl.have_cleaned ? "cleaned" : "loaded");
    return j;
}

/* ---- campaigns-predict ---------------------------------------------------------- */

static int campaigns_kind_run(model_job *j, const dg_progress *p, dg_err *err)
{
    return campaigns_job_run(j->data, p, err);
}

static int campaigns_kind_finish(model *m, model_job *j, dg_err *err)
{
    char from[128];
    snprintf(from, sizeof from, "the session's models (%s data)",
             m->models.from_cleaned ? "cleaned" : "loaded");
    if (campaigns_job_finish(&m->camp, j->data, from, err) != DG_OK)
        return DG_ERR;
    char n[32];
    model_say(m, "%s test devices predicted and targeted; {campaigns-write} writes the campaign "
                 "files",
              text_count(m->camp.n, n, sizeof n));
    return DG_OK;
}

static void campaigns_kind_free(model_job *j)
{
    if (j->data)
        campaigns_job_free(j->data);
    free(j->data);
}

static const job_kind campaigns_kind = {campaigns_kind_run, campaigns_kind_finish, campaigns_kind_free};

model_job *campaigns_predict_start(model *m, int id, int argc, char **argv, dg_err *err)
{
    if (model_need_args(id, argc, 0, 0, err) != DG_OK)
        return NULL;
    models_state *ms = &m->models;
    if (!ms->have_result) {
        dg_fail(err, "no trained models in this session ({pane-models} goes to the Models pane, "
                     "{models-train} trains); {campaigns-load} loads a predictions.csv instead");
        return NULL;
    }
    if (ms->opened) {
        dg_fail(err, "the runs shown were opened from %.900s: this session has not built their "
                     "features; train here ({models-train}), or {campaigns-load} that folder's "
                     "predictions.csv",
                ms->train_dir);
        return NULL;
    }
    if (ms->gen != m->data_gen) {
        dg_fail(err, "the data changed since the models were trained: train again (Models "
                     "pane, {models-train})");
        return NULL;
    }
    model_job *j = model_job_new(id, argc, argv, &campaigns_kind);
    campaigns_job *d = dg_xcalloc(1, sizeof *d);
    j->data = d;
    size_t n = strlen(ms->train_dir) + 16;
    d->models_dir = dg_xmalloc(n);
    snprintf(d->models_dir, n, "%s/models", ms->train_dir);
    d->feat = &ms->feat;
    d->src = ms->from_cleaned ? &m->cl.cleaned : &m->ds;
    snprintf(j->title, sizeof j->title, "predicting the test devices");
    return j;
}
