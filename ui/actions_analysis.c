/* The analysis panes' actions: the Geo pane's map (model_geo.c) and its
 * DBSCAN views (model_dbscan.c), the Models pane (model_models.c) and the
 * Campaigns pane (model_campaigns.c); their jobs start in jobs_analysis.c. */
#include "model_actions.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* The DBSCAN views' settings and view changes; geo-view (the Geo map's way
 * to the DBSCAN views) is one of them. */
static int dbscan_setting(model *m, int id, int argc, char **argv, dg_err *err)
{
    if (dbscan_action(&m->dbs, id, argc, argv, m->msg, sizeof m->msg, err) != DG_OK)
        return DG_ERR;
    if (id == ACT_GEO_VIEW || id == ACT_DBSCAN_VIEW) {
        static const char *const said[GEO_VIEWS] = {
            "the map ({geo-view}: the DBSCAN views)",
            "DBSCAN clusters ({dbscan-run} runs, {dbscan-view}: the next view)",
            "k-distance curve ({save} saves its PNG)",
            "eps x minPts sweep ({dbscan-sweep} sweeps, {dbscan-adopt} adopts)"};
        model_say(m, "%s", said[m->dbs.view]);
    }
    return DG_OK;
}

int geo_context_action(model *m, int id, int argc, char **argv, model_job **job, dg_err *err)
{
    switch (id) {
    case ACT_GEO_SAMPLE: return (*job = geo_sample_start(m, id, argc, argv, err)) ? DG_OK : DG_ERR;
    case ACT_GEO_VIEW: return dbscan_setting(m, id, argc, argv, err);
    case ACT_GEO_MAP:
    case ACT_GEO_PANEL:
    case ACT_GEO_ZOOM_IN:
    case ACT_GEO_ZOOM_OUT:
    case ACT_GEO_PAN_NORTH:
    case ACT_GEO_PAN_SOUTH:
    case ACT_GEO_PAN_WEST:
    case ACT_GEO_PAN_EAST:
    case ACT_GEO_RESET:
    case ACT_GEO_EXTENT:
    case ACT_GEO_PROJECTION: return geo_action(&m->geo, id, argc, argv, err);
    default: return model_not_here(id, "geo", err);
    }
}

int dbscan_context_action(model *m, int id, int argc, char **argv, model_job **job, dg_err *err)
{
    switch (id) {
    case ACT_DBSCAN_RUN:
    case ACT_DBSCAN_SWEEP: return (*job = dbscan_start(m, id, argc, argv, err)) ? DG_OK : DG_ERR;
    case ACT_DBSCAN_VIEW:
    case ACT_DBSCAN_EPS_DOWN:
    case ACT_DBSCAN_EPS_UP:
    case ACT_DBSCAN_MIN_DOWN:
    case ACT_DBSCAN_MIN_UP:
    case ACT_DBSCAN_SET:
    case ACT_DBSCAN_ADOPT: return dbscan_setting(m, id, argc, argv, err);
    default: return model_not_here(id, "dbscan", err);
    }
}

int models_context_action(model *m, int id, int argc, char **argv, model_job **job, dg_err *err)
{
    switch (id) {
    case ACT_MODELS_TRAIN:
        return (*job = models_train_start(m, id, argc, argv, err)) ? DG_OK : DG_ERR;
    case ACT_MODELS_OPEN: {
        if (model_need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        char path[PATH_MAX];
        model_out_path(m, argv[0], path, sizeof path);
        return models_open(&m->models, path, m->msg, sizeof m->msg, err);
    }
    case ACT_MODELS_VIEW:
    case ACT_MODELS_FAMILY:
    case ACT_MODELS_TARGETS:
    case ACT_MODELS_SCENARIOS:
    case ACT_MODELS_FOLDS:
    case ACT_MODELS_SEED:
    case ACT_MODELS_SORT:
    case ACT_MODELS_SORT_DESC:
    case ACT_MODELS_EXPORT:
    case ACT_MODELS_FILTER:
        if (models_action(&m->models, id, argc, argv, m->out_dir, m->msg, sizeof m->msg, err) !=
            DG_OK)
            return DG_ERR;
        if (id == ACT_MODELS_EXPORT)
            snprintf(m->saved, sizeof m->saved, "%.1000s/models", m->out_dir);
        return DG_OK;
    default: return model_not_here(id, "models", err);
    }
}

int campaigns_context_action(model *m, int id, int argc, char **argv, model_job **job,
                             dg_err *err)
{
    switch (id) {
    case ACT_CAMPAIGNS_PREDICT:
        return (*job = campaigns_predict_start(m, id, argc, argv, err)) ? DG_OK : DG_ERR;
    case ACT_CAMPAIGNS_RULES:
        if (model_need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        return campaigns_rules(&m->camp, argv[0], m->out_dir, m->msg, sizeof m->msg, err);
    case ACT_CAMPAIGNS_LOAD: {
        if (model_need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        dg_truth *truth;
        size_t ntruth;
        campaigns_truth_of(!m->loaded ? NULL : m->cl.have_cleaned ? &m->cl.cleaned : &m->ds,
                           &truth, &ntruth);
        return campaigns_load(&m->camp, argv[0], m->out_dir, truth, ntruth, m->msg,
                              sizeof m->msg, err);
    }
    case ACT_CAMPAIGNS_WRITE:
        if (model_need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        return campaigns_write(&m->camp, m->out_dir, m->saved, sizeof m->saved, m->msg,
                               sizeof m->msg, err);
    default: return model_not_here(id, "campaigns", err);
    }
}
