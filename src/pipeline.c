/* The whole pipeline, stage after stage, into a partial directory renamed
 * into place at the end; the report (report.h: report.json, report.md and
 * report.html) sums it up (pipeline.h). */
#define _GNU_SOURCE /* nftw's FTW_PHYS */
#include "demographer/pipeline.h"

#include "demographer/campaign.h"
#include "demographer/clean.h"
#include "demographer/cluster.h"
#include "demographer/dbscan.h"
#include "demographer/eda.h"
#include "demographer/features.h"
#include "demographer/geo.h"
#include "demographer/plot.h"
#include "demographer/prediction.h"
#include "demographer/pushdown.h"
#include "demographer/source_clickhouse.h"
#include "demographer/report.h"
#include "demographer/textbuf.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name;
    int skippable;
    dg_stage needs;
} stage_info[DG_STAGE_COUNT] = {
#define DG_STAGE(id, name, skippable, needs) {name, skippable, DG_STAGE_##needs},
#include "demographer/stages.def"
#undef DG_STAGE
};

/* Cluster defaults: the same as `demographer cluster` and the features. */
#define RUN_EPS_KM DG_CLUSTER_EPS_KM_DEFAULT
#define RUN_MIN_PTS DG_CLUSTER_MIN_PTS_DEFAULT

const char *dg_stage_name(dg_stage s)
{
    return s >= 0 && s < DG_STAGE_COUNT ? stage_info[s].name : "?";
}

int dg_stage_by_name(const char *name)
{
    for (int s = 0; s < DG_STAGE_COUNT; s++)
        if (strcmp(stage_info[s].name, name) == 0)
            return s;
    return -1;
}

int dg_stage_skippable(dg_stage s)
{
    return s >= 0 && s < DG_STAGE_COUNT && stage_info[s].skippable;
}

int dg_stage_needs(dg_stage s)
{
    return s >= 0 && s < DG_STAGE_COUNT ? (int)stage_info[s].needs : DG_STAGE_NONE;
}

/* ---- files and directories ------------------------------------------------ */

/* ---- the run's state ------------------------------------------------------ */

/* One exported model, reloaded and scored again on the test split. */
typedef struct run_eval {
    int scenario;
    dg_target target;
    char family[40];
    char params[200];
    int identical; /* every metric equals train's */
    dg_eval now;
} run_eval;

typedef struct run_state {
    const dg_pipeline_opts *o;
    dg_pipeline_result *r;
    dg_outdir out;    /* DIR, written whole or not at all */
    char *stage_dir;  /* out.partial: DIR.partial-PID */
    char note[DG_STAGE_COUNT][1200]; /* why a stage did not run, or what it left out */
    dg_progress_stage pstage;
    char pstage_prefix[32];
    dg_progress progress;
    dg_dataset ds;
    /* The rows of each table after cleaning, for the report: the event
     * tables are freed once the features are built. */
    uint64_t table_rows[DG_T_COUNT];
    dg_rules rules;
    dg_rule_effect *effects;
    dg_supercats sc;
    dg_eda eda;
    int have_eda;
    /* maps */
    uint32_t map_n[2];
    uint64_t map_eligible[2];
    int nmaps;
    /* cluster */
    int have_cluster;
    dg_dbscan_report crep;
    dg_cluster_summary *csum;
    uint64_t cluster_events;
    size_t cluster_points;
    uint32_t cluster_locations;
    double knee_km;
    int have_kdist_chart;
    /* features and models */
    dg_features f;
    int have_features; /* built by the load stage (from a database) */
    char source[1200]; /* the report's data_dir with a database */
    dg_dbscan_report feature_cluster_rep;
    dg_train_result tr;
    dg_labelled lab;
    int have_lab;
    dg_model_dir md;
    int have_md;
    run_eval evals[2 * DG_TARGET_COUNT];
    int nevals;
    /* predictions and campaigns */
    dg_prediction *pred;
    size_t npred;
    dg_campaign_rules crules;
    dg_deciles dec;
    dg_reach reach;
    int have_reach;
    char *runs_json; /* the report's path of train/runs.json */
} run_state;

/* Inner progress reported as "STAGE: inner" so the bar says which stage. */
static int staged_progress(void *ctx, const char *stage, double done, double total,
                           const char *unit)
{
    run_state *s = ctx;
    char name[64];
    snprintf(name, sizeof name, "%s: %s", s->pstage_prefix, stage);
    return dg_progress_report(s->o->progress, name, done, total, unit);
}

static const dg_progress *stage_progress(run_state *s, dg_stage st)
{
    if (!s->o->progress)
        return NULL;
    snprintf(s->pstage_prefix, sizeof s->pstage_prefix, "%s", dg_stage_name(st));
    s->progress = (dg_progress){staged_progress, s};
    return &s->progress;
}

/* A stage checks between its steps whether the user asked to stop. */
static int cancelled(run_state *s, dg_err *err)
{
    if (s->o->should_stop && s->o->should_stop(s->o->stage_ctx))
        return dg_cancel(err, "cancelled");
    return DG_OK;
}

/* ---- the stages ------------------------------------------------------------ */

/* From a database: the features pushed down (the small tables come back in
 * s->ds, cleaned), so the clean and features stages have nothing left to do. */
/* Whether the run reads a database (either engine). */
static int from_db(const dg_pipeline_opts *o)
{
    return o->db || o->db_clickhouse;
}

/* The database's name in notes and the report, never the password. */
static void db_source(const dg_pipeline_opts *o, char *out, size_t cap)
{
    if (o->db_clickhouse)
        snprintf(out, cap, "%.300s %.64s", o->db_clickhouse->url, o->db_clickhouse->database);
    else
        snprintf(out, cap, "mysql://%.255s:%u/%.64s", o->db->host, o->db->port, o->db->database);
}

static int load_pushdown(run_state *s, dg_err *err)
{
    dg_pushdown_report rep;
    const dg_rules *rules = s->o->no_clean ? NULL : &s->rules;
    int rc = s->o->db_clickhouse
                 ? dg_features_pushdown_clickhouse(s->o->db_clickhouse, rules, &s->sc,
                                                   RUN_EPS_KM, RUN_MIN_PTS, &s->f, &s->ds,
                                                   &s->feature_cluster_rep, &rep,
                                                   stage_progress(s, DG_STAGE_LOAD), err)
                 : dg_features_pushdown(s->o->db, rules, &s->sc, RUN_EPS_KM, RUN_MIN_PTS, &s->f,
                                        &s->ds, &s->feature_cluster_rep, &rep,
                                        stage_progress(s, DG_STAGE_LOAD), err);
    if (rc != DG_OK)
        return DG_ERR;
    char where[400]; /* cut to fit the note */
    db_source(s->o, where, sizeof where);
    s->have_features = 1;
    uint64_t agg = 0;
    for (int q = 0; q < DG_PD_NQUERIES; q++)
        agg += rep.rows[q];
    snprintf(s->note[DG_STAGE_LOAD], sizeof s->note[0],
             "from %s: the per-device aggregation pushed down to the server (%" PRIu64
             " aggregated rows) and %" PRIu64 " rows of the small tables read whole; the event "
             "tables were not fetched",
             where, agg, rep.small_rows);
    if (!s->o->no_clean)
        snprintf(s->note[DG_STAGE_CLEAN], sizeof s->note[0],
                 "applied by the load stage: the event rules in the server's queries, "
                 "%s on the small tables",
                 rep.client_rules[0] ? rep.client_rules : "none");
    snprintf(s->note[DG_STAGE_FEATURES], sizeof s->note[0],
             "computed by the load stage from the server's aggregates (as features --db)");
    return DG_OK;
}

static int stage_load(run_state *s, dg_err *err)
{
    const char *from = s->o->db              ? s->o->db->database
                       : s->o->db_clickhouse ? s->o->db_clickhouse->database
                                             : s->o->data_dir;
    if (from_db(s->o)) {
        if (load_pushdown(s, err) != DG_OK)
            return DG_ERR;
    } else {
        dg_load_opts lo = s->o->load;
        lo.progress = stage_progress(s, DG_STAGE_LOAD);
        if (dg_dataset_load(&s->ds, s->o->data_dir, &lo, err) != DG_OK)
            return DG_ERR;
    }
    if (!dg_dataset_table(&s->ds, DG_T_LABELS))
        return dg_fail(err, "%s: no labels table (gender_age_train.csv or train.csv): the "
                            "models need labelled devices",
                       from);
    if (s->ds.snapshot_warning[0])
        snprintf(s->note[DG_STAGE_LOAD], sizeof s->note[0], "%s", s->ds.snapshot_warning);
    return DG_OK;
}

static int stage_clean(run_state *s, dg_err *err)
{
    s->effects = dg_xcalloc((size_t)s->rules.n + 1, sizeof *s->effects);
    return dg_clean(&s->ds, &s->rules, s->effects, stage_progress(s, DG_STAGE_CLEAN), err);
}

static int stage_eda(run_state *s, dg_err *err)
{
    char *dir = dg_path_join(s->stage_dir, "eda");
    int rc = dg_mkdirs(dir, err);
    if (rc == DG_OK)
        rc = dg_eda_compute(&s->ds, &s->eda, s->note[DG_STAGE_EDA], sizeof s->note[0], err);
    s->have_eda = rc == DG_OK;
    for (int i = 0; rc == DG_OK && i < s->eda.ntables; i++) {
        char name[DG_EDA_FILE_NAME_MAX];
        dg_eda_file_name(&s->eda, i, "csv", name);
        char *csv = dg_path_join(dir, name);
        dg_eda_file_name(&s->eda, i, "png", name);
        char *png = dg_path_join(dir, name);
        rc = dg_eda_table_write_csv(&s->eda.tables[i], csv, err);
        if (rc == DG_OK)
            rc = dg_eda_save_chart(&s->eda, i, png, err);
        if (rc == DG_OK)
            rc = cancelled(s, err);
        free(csv);
        free(png);
    }
    free(dir);
    return rc;
}

static int stage_maps(run_state *s, dg_err *err)
{
    if (!dg_dataset_table(&s->ds, DG_T_EVENTS)) {
        snprintf(s->note[DG_STAGE_MAPS], sizeof s->note[0], "%s",
                 from_db(s->o) ? "needs the raw events, which --db does not fetch" : "no events table");
        return DG_OK;
    }
    dg_basemap basemap;
    if (dg_basemap_load(s->o->basemap_path, &basemap, err) != DG_OK)
        return DG_ERR;
    const dg_progress *pr = stage_progress(s, DG_STAGE_MAPS);
    uint32_t n = s->o->map_sample ? s->o->map_sample : 100000;
    dg_geo_sample all, labelled;
    memset(&all, 0, sizeof all);
    memset(&labelled, 0, sizeof labelled);
    dg_extent extent;
    char *dir = dg_path_join(s->stage_dir, "maps");
    int rc = dg_geo_sample_events(&s->ds, n, s->o->seed, 0, &all, pr, err);
    if (rc == DG_OK)
        rc = dg_geo_sample_events(&s->ds, n, s->o->seed, 1, &labelled, pr, err);
    if (rc == DG_OK && all.n == 0) {
        /* Nothing to frame a map around: say what the data lacks and go on. */
        uint64_t rows = s->ds.tables[DG_T_EVENTS].nrows;
        if (rows == 0)
            snprintf(s->note[DG_STAGE_MAPS], sizeof s->note[0],
                     "nothing to map: the events table has no rows");
        else
            snprintf(s->note[DG_STAGE_MAPS], sizeof s->note[0],
                     "nothing to map: none of the %llu events has an observed location (after "
                     "cleaning)", (unsigned long long)rows);
        free(dir);
        dg_geo_sample_free(&all);
        dg_geo_sample_free(&labelled);
        dg_basemap_free(&basemap);
        return DG_OK;
    }
    if (rc == DG_OK)
        rc = dg_extent_of_sample(&all, &extent, err);
    if (rc == DG_OK)
        rc = dg_mkdirs(dir, err);
    s->map_n[0] = all.n;
    s->map_n[1] = labelled.n;
    s->map_eligible[0] = all.eligible;
    s->map_eligible[1] = labelled.eligible;
    for (int k = 0; rc == DG_OK && k < DG_MAP_KINDS; k++) {
        dg_geo_map m = {.kind = (dg_map_kind)k, .projection = DG_PROJ_EQUIRECT,
                        .extent = extent, .basemap = &basemap};
        char name[40];
        snprintf(name, sizeof name, "maps-%s.png", dg_map_kind_name((dg_map_kind)k));
        char *path = dg_path_join(dir, name);
        if (dg_progress_report(pr, "draw maps", k, DG_MAP_KINDS, "maps"))
            rc = dg_cancel(err, "cancelled");
        else
            rc = dg_geo_map_save(k == DG_MAP_ALL ? &all : &labelled, &m, path, err);
        s->nmaps += rc == DG_OK;
        free(path);
    }
    free(dir);
    dg_geo_sample_free(&all);
    dg_geo_sample_free(&labelled);
    dg_basemap_free(&basemap);
    return rc;
}

static int stage_cluster(run_state *s, dg_err *err)
{
    if (!dg_dataset_table(&s->ds, DG_T_EVENTS)) {
        snprintf(s->note[DG_STAGE_CLUSTER], sizeof s->note[0], "%s",
                 from_db(s->o) ? "needs the raw events, which --db does not fetch" : "no events table");
        return DG_OK;
    }
    const dg_progress *pr = stage_progress(s, DG_STAGE_CLUSTER);
    dg_cluster_input in;
    if (dg_cluster_input_build(&in, &s->ds, err) != DG_OK)
        return DG_ERR;
    if (in.locs.n == 0) {
        /* Say what the data lacks, rather than fail on a chart of nothing. */
        if (in.nevents == 0)
            snprintf(s->note[DG_STAGE_CLUSTER], sizeof s->note[0],
                     "nothing to cluster: the events table has no rows");
        else
            snprintf(s->note[DG_STAGE_CLUSTER], sizeof s->note[0],
                     "nothing to cluster: none of the %llu events has a location (after "
                     "cleaning)", (unsigned long long)in.nevents);
        dg_cluster_input_free(&in);
        return DG_OK;
    }
    char *dir = dg_path_join(s->stage_dir, "cluster");
    int32_t *label = dg_xmalloc(((size_t)in.locs.n + 1) * sizeof *label);
    uint8_t *core = dg_xmalloc((size_t)in.locs.n + 1);
    int rc = dg_mkdirs(dir, err);
    if (rc == DG_OK)
        rc = dg_dbscan_run(&in.locs, RUN_EPS_KM, RUN_MIN_PTS, label, core, &s->crep, pr, err);
    if (rc == DG_OK) {
        s->have_cluster = 1;
        s->cluster_events = in.nevents;
        s->cluster_points = in.n;
        s->cluster_locations = in.locs.n;
        s->csum = dg_cluster_summarize(&s->ds, &in, label, s->crep.clusters);
        char *path = dg_path_join(dir, "clusters.csv");
        rc = dg_cluster_write_summary(s->csum, s->crep.clusters, path, err);
        free(path);
    }
    if (rc == DG_OK) {
        dg_kdist kd;
        rc = dg_kdist_compute(&in.locs, RUN_MIN_PTS, &kd, pr, err);
        if (rc == DG_OK && kd.nsorted == 0) {
            snprintf(s->note[DG_STAGE_CLUSTER], sizeof s->note[0],
                     "no k-distance chart: too few events with a location (%zu) for any "
                     "location to have %g of them near it", in.n, (double)RUN_MIN_PTS);
            dg_kdist_free(&kd);
        } else if (rc == DG_OK) {
            s->knee_km = kd.knee_km;
            char *png = dg_path_join(dir, "kdist.png"), *csv = dg_path_join(dir, "kdist.csv");
            rc = dg_kdist_chart_save(&kd, RUN_EPS_KM, png, err);
            s->have_kdist_chart = rc == DG_OK;
            if (rc == DG_OK)
                rc = dg_kdist_write_csv(&kd, csv, err);
            free(png);
            free(csv);
            dg_kdist_free(&kd);
        }
    }
    free(label);
    free(core);
    free(dir);
    dg_cluster_input_free(&in);
    return rc;
}

static int stage_features(run_state *s, dg_err *err)
{
    if (s->have_features) { /* pushed down by the load stage */
        for (int t = 0; t < DG_T_COUNT; t++)
            s->table_rows[t] = s->ds.tables[t].nrows;
        return DG_OK;
    }
    int rc = dg_features_for_models(&s->ds, &s->sc, RUN_EPS_KM, RUN_MIN_PTS, &s->f,
                                    &s->feature_cluster_rep,
                                    stage_progress(s, DG_STAGE_FEATURES), err);
    /* Every later stage reads the features, the labels, the phones and the
     * split, never the event rows: free those (the app events are most of
     * the data set's memory at full size), keeping their rows for the
     * report. */
    for (int t = 0; t < DG_T_COUNT; t++)
        s->table_rows[t] = s->ds.tables[t].nrows;
    static const int event_tables[] = {DG_T_EVENTS, DG_T_APP_EVENTS, DG_T_APP_LABELS};
    for (size_t i = 0; rc == DG_OK && i < sizeof event_tables / sizeof *event_tables; i++)
        dg_table_free(&s->ds.tables[event_tables[i]]);
    return rc;
}

static int stage_train(run_state *s, dg_err *err)
{
    dg_train_opts t;
    memset(&t, 0, sizeof t);
    char *dir = dg_path_join(s->stage_dir, "train");
    t.out_dir = dir;
    /* The training of the run this one replaces weighs the progress. */
    char *history_dir = dg_path_join(s->o->out_dir, "train");
    dg_train_result history;
    dg_err no_history;
    if (dg_runs_read(history_dir, &history, &no_history) == DG_OK)
        t.history = &history;
    free(history_dir);
    for (int nf = 0; s->o->families[nf]; nf++)
        t.families[nf] = s->o->families[nf];
    for (int ng = 0; s->o->grids[ng]; ng++)
        t.grids[ng] = s->o->grids[ng];
    dg_train_defaults(&t);
    t.folds = s->o->folds;
    t.seed = s->o->seed;
    t.ablation = s->o->ablation;
    t.charts = 1;
    t.progress = stage_progress(s, DG_STAGE_TRAIN);
    int rc = dg_train(&s->ds, &s->f, &t, &s->tr, err);
    free(dir);
    dg_train_result_free(&history);
    return rc;
}

/* The labelled devices and the split, as train made them. */
static int need_labelled(run_state *s, dg_err *err)
{
    if (s->have_lab)
        return DG_OK;
    if (dg_labelled_build(&s->ds, &s->f, 0.2, s->o->seed, &s->lab, err) != DG_OK)
        return DG_ERR;
    s->have_lab = 1;
    return DG_OK;
}

/* Reopens the exported models from disk and scores each on the test devices
 * of its scenario: the numbers must equal train's. */
/* The exported models, opened once for evaluate and predictions. */
static int open_models(run_state *s, dg_err *err)
{
    if (s->have_md)
        return DG_OK;
    char *dir = dg_path_join(s->stage_dir, "train/models");
    int rc = dg_model_dir_open(&s->md, dir, err);
    free(dir);
    if (rc != DG_OK)
        return DG_ERR;
    s->have_md = 1;
    return dg_model_dir_check(&s->md, &s->f, err);
}

static int stage_evaluate(run_state *s, dg_err *err)
{
    if (open_models(s, err) != DG_OK || need_labelled(s, err) != DG_OK)
        return DG_ERR;
    int rc = DG_OK;
    for (int sc = 1; sc <= 2 && rc == DG_OK; sc++)
        for (int t = 0; t < DG_TARGET_COUNT && rc == DG_OK; t++) {
            const dg_loaded_model *m = &s->md.m[sc][t];
            if (!m->present)
                continue;
            run_eval *e = &s->evals[s->nevals];
            rc = dg_model_dir_evaluate(&s->md, sc, (dg_target)t, &s->f, &s->lab, &e->now, err);
            if (rc != DG_OK)
                break;
            s->nevals++;
            e->scenario = sc;
            e->target = (dg_target)t;
            snprintf(e->family, sizeof e->family, "%s", m->family->name);
            snprintf(e->params, sizeof e->params, "%s", m->params);
            e->identical = dg_eval_equal(&e->now, &m->test);
            s->r->nmodels_evaluated++;
            s->r->nmodels_identical += e->identical;
            rc = cancelled(s, err);
        }
    return rc;
}

static int stage_predictions(run_state *s, dg_err *err)
{
    if (open_models(s, err) != DG_OK || need_labelled(s, err) != DG_OK)
        return DG_ERR;
    const dg_labelled *l = &s->lab;
    uint32_t *rows = dg_xmalloc(((size_t)l->n + 1) * sizeof *rows);
    uint32_t n = 0;
    for (uint32_t i = 0; i < l->n; i++)
        if (l->is_test[i])
            rows[n++] = l->row[i];
    s->pred = dg_xcalloc((size_t)n + 1, sizeof *s->pred);
    s->npred = n;
    int rc = dg_model_dir_predict(&s->md, &s->f, rows, n, s->pred, err);
    free(rows);
    if (rc == DG_OK) {
        char *path = dg_path_join(s->stage_dir, "predictions.csv");
        rc = dg_predictions_write(s->pred, s->npred, path, err);
        free(path);
    }
    if (rc == DG_OK && s->o->synth_truth_path)
        rc = dg_accuracy_compute(l, s->pred, s->npred, s->o->synth_truth_path,
                                 s->o->peer_predictions_path, &s->r->accuracy, err);
    s->r->ntest_predicted = n;
    return rc;
}

static int truth_cmp(const void *a, const void *b)
{
    int64_t x = ((const dg_truth *)a)->device_id, y = ((const dg_truth *)b)->device_id;
    return (x > y) - (x < y);
}

static int stage_campaigns(run_state *s, dg_err *err)
{
    if (s->o->campaign_rules_path) {
        if (dg_campaign_rules_load(&s->crules, s->o->campaign_rules_path, err) != DG_OK)
            return DG_ERR;
    } else {
        dg_campaign_rules_default(&s->crules);
    }
    if (dg_deciles_fit_predictions(&s->dec, s->pred, s->npred, "the test predictions", err) !=
        DG_OK)
        return DG_ERR;
    /* The truth of the test devices, for each campaign's expected precision. */
    const dg_labelled *l = &s->lab;
    dg_truth *truth = dg_xmalloc(((size_t)l->n + 1) * sizeof *truth);
    size_t nt = 0;
    for (uint32_t i = 0; i < l->n; i++)
        if (l->is_test[i])
            truth[nt++] = (dg_truth){l->device_id[i], l->female[i] == 1, l->age[i]};
    qsort(truth, nt, sizeof *truth, truth_cmp);
    dg_targeting *tg = dg_xcalloc(s->npred + 1, sizeof *tg);
    for (size_t i = 0; i < s->npred; i++)
        dg_campaigns_assign(&s->crules, &s->dec, &s->pred[i], &tg[i]);
    dg_reach_compute(&s->crules, s->pred, tg, s->npred, truth, nt, &s->reach);
    s->have_reach = 1;
    char *dir = dg_path_join(s->stage_dir, "campaigns");
    int rc = dg_campaigns_save(dir, &s->crules, &s->dec, s->pred, tg, s->npred, &s->reach, err);
    free(dir);
    free(tg);
    free(truth);
    return rc;
}

/* ---- the report ------------------------------------------------------------ */

/* The report model of the run so far (report.h): every fact gathered here
 * once, rendered as report.json, report.md and report.html. rules holds one
 * row per cleaning rule (freed by the caller). */
static void report_of_run(run_state *s, dg_report *m, dg_report_rule *rules)
{
    const dg_pipeline_opts *o = s->o;
    memset(m, 0, sizeof *m);
    m->title = "demographer run";
    m->dir = s->stage_dir;
    if (from_db(o)) /* where the data came from, never the password */
        db_source(o, s->source, sizeof s->source);
    m->data_dir = from_db(o) ? s->source : o->data_dir;
    m->upgrad_shape = s->ds.shape == DG_SHAPE_UPGRAD;
    m->seed = o->seed;
    m->folds = o->folds ? o->folds : DG_TRAIN_FOLDS_DEFAULT;
    m->have_stages = 1;
    for (int st = 0; st < DG_STAGE_COUNT; st++) {
        m->stage[st].name = dg_stage_name((dg_stage)st);
        m->stage[st].ran = s->r->ran[st];
        /* The report's own seconds are not known while it is written. */
        m->stage[st].seconds = st == DG_STAGE_REPORT ? NAN : s->r->seconds[st];
        m->stage[st].note = s->note[st];
    }
    m->seconds_before_report = s->r->total_seconds;
    dg_report_set_tables(m, &s->ds, s->r->ran[DG_STAGE_FEATURES] ? s->table_rows : NULL);
    m->rule = rules;
    if (s->r->ran[DG_STAGE_CLEAN])
        dg_report_set_cleaning(m, &s->rules, s->effects, rules);
    m->have_eda = s->have_eda;
    for (int i = 0; s->have_eda && i < s->eda.ntables; i++)
        dg_report_add_eda(m, &s->eda, i);
    m->nmaps = s->nmaps;
    for (int k = 0; k < 2; k++) {
        m->map_sampled[k] = s->map_n[k];
        m->map_eligible[k] = s->map_eligible[k];
    }
    for (int k = 0; k < s->nmaps; k++)
        dg_report_set_map(m, k);
    if (s->have_cluster) {
        dg_report_set_cluster(m, &s->crep, RUN_EPS_KM, RUN_MIN_PTS, s->cluster_events,
                              s->cluster_points, s->cluster_locations, s->csum);
        m->knee_km = s->knee_km;
        m->have_kdist_chart = s->have_kdist_chart;
    }
    dg_report_set_features(m, &s->f);
    if (s->r->ran[DG_STAGE_TRAIN]) {
        s->runs_json = dg_path_join(s->stage_dir, "train/runs.json");
        dg_report_set_train(m, &s->tr, "train", s->runs_json);
        char *abs = dg_path_join(s->stage_dir, "train");
        dg_report_add_train_charts(m, abs, "train");
        free(abs);
    } else if (s->have_lab) {
        m->split_text = s->lab.split_text;
    }
    if (s->have_lab) {
        m->have_checksum = 1;
        snprintf(m->checksum, sizeof m->checksum, "%016" PRIx64, dg_labelled_checksum(&s->lab));
    }
    for (int i = 0; i < s->nevals; i++)
        m->eval[m->nevals++] = (dg_report_eval){s->evals[i].scenario, s->evals[i].target,
                                                s->evals[i].family, s->evals[i].identical,
                                                s->evals[i].now};
    m->nevals_identical = s->r->nmodels_identical;
    m->have_predictions = s->r->ran[DG_STAGE_PREDICTIONS];
    m->npredictions = s->npred;
    if (s->r->accuracy.n) {
        m->accuracy = &s->r->accuracy;
        m->synth_truth = s->o->synth_truth_path;
        m->peer_predictions = s->o->peer_predictions_path;
    }
    if (s->have_reach)
        dg_report_set_campaigns(m, &s->crules, &s->dec, &s->reach);
}

static int stage_report(run_state *s, dg_err *err)
{
    /* The split and the data checksum are reported even when train did not
     * run. */
    if (need_labelled(s, err) != DG_OK)
        return DG_ERR;
    dg_report m;
    dg_report_rule *rules = dg_xcalloc((size_t)s->rules.n + 1, sizeof *rules);
    report_of_run(s, &m, rules);
    int rc = dg_report_write(&m, err);
    free(rules);
    return rc;
}

/* ---- the run -------------------------------------------------------------- */

static int (*const stage_fn[DG_STAGE_COUNT])(run_state *, dg_err *) = {
    stage_load,  stage_clean,    stage_eda,         stage_maps,      stage_cluster, stage_features,
    stage_train, stage_evaluate, stage_predictions, stage_campaigns, stage_report};

static void state_free(run_state *s)
{
    if (s->have_md)
        dg_model_dir_close(&s->md);
    if (s->have_lab)
        dg_labelled_free(&s->lab);
    dg_train_result_free(&s->tr);
    dg_features_free(&s->f);
    free(s->csum);
    free(s->pred);
    free(s->runs_json);
    if (s->have_eda)
        dg_eda_free(&s->eda);
    free(s->effects);
    dg_rules_free(&s->rules);
    dg_supercats_free(&s->sc);
    dg_dataset_free(&s->ds);
    dg_plot_release();
}

int dg_pipeline_run(const dg_pipeline_opts *o, dg_pipeline_result *r, dg_err *err)
{
    memset(r, 0, sizeof *r);
    r->failed_stage = -1;
    for (int st = 0; st < DG_STAGE_COUNT; st++)
        r->seconds[st] = NAN;
    if ((!o->data_dir && !from_db(o)) || (o->data_dir && from_db(o)) ||
        (o->db && o->db_clickhouse) || !o->out_dir ||
        !o->supercats_path)
        return dg_fail(err, "run: a data directory or a database, an output directory and the "
                            "super-category rules are required");
    /* Before anything is touched: the output never goes over an input
     * (the old DIR is replaced whole). */
    const char *inputs[DG_T_COUNT + 7] = {o->data_dir,          o->rules_path,
                                          o->supercats_path,     o->basemap_path,
                                          o->campaign_rules_path, o->synth_truth_path,
                                          o->peer_predictions_path};
    for (int t = 0; t < DG_T_COUNT; t++)
        inputs[7 + t] = o->load.files[t];
    if (dg_output_apart("--out", o->out_dir, inputs, DG_T_COUNT + 7, err) != DG_OK)
        return DG_ERR;
    size_t outlen = strlen(o->out_dir);
    while (outlen > 1 && o->out_dir[outlen - 1] == '/')
        outlen--;

    run_state *s = dg_xcalloc(1, sizeof *s);
    s->o = o;
    s->r = r;
    dg_dataset_init(&s->ds);
    dg_rules_init(&s->rules);

    unsigned skip = o->skip;
    if (o->no_clean)
        skip |= 1u << DG_STAGE_CLEAN;

    for (int st2 = 0; st2 < DG_STAGE_COUNT; st2++) {
        int need = dg_stage_needs((dg_stage)st2);
        if (need >= 0 && (skip >> need & 1u) && !(skip >> st2 & 1u)) {
            skip |= 1u << st2;
            snprintf(s->note[st2], sizeof s->note[0], "skipped: needs %s, which was skipped",
                     dg_stage_name((dg_stage)need));
        }
    }
    /* From a database the load stage cleans (load_pushdown's note says how);
     * nothing needs the clean stage itself. */
    if (from_db(o))
        skip |= 1u << DG_STAGE_CLEAN;
    int rc = DG_OK;
    if (o->rules_path)
        rc = dg_rules_load(&s->rules, o->rules_path, err);
    else
        dg_rules_default(&s->rules);
    if (rc == DG_OK)
        rc = dg_supercats_load(&s->sc, o->supercats_path, err);
    if (rc == DG_OK && (rc = dg_outdir_begin(&s->out, o->out_dir, err)) == DG_OK)
        s->stage_dir = s->out.partial;
    if (rc != DG_OK) {
        state_free(s);
        free(s);
        return DG_ERR;
    }
    double t0 = dg_now();
    for (int st2 = 0; st2 < DG_STAGE_COUNT && rc == DG_OK; st2++) {
        dg_stage stg = (dg_stage)st2;
        if (skip >> st2 & 1u) {
            if (!s->note[st2][0])
                snprintf(s->note[st2], sizeof s->note[0], "skipped (--skip%s)",
                         st2 == DG_STAGE_CLEAN && o->no_clean ? " or --no-clean" : "");
            if (o->on_stage)
                o->on_stage(o->stage_ctx, stg, 1, 1, 0);
            continue;
        }
        if (o->on_stage)
            o->on_stage(o->stage_ctx, stg, 0, 0, 0);
        double ts = dg_now();
        r->ran[st2] = 1;
        if (st2 == DG_STAGE_REPORT) /* the report shows the seconds so far */
            r->total_seconds = ts - t0;
        rc = stage_fn[st2](s, err);
        if (rc == DG_OK)
            rc = cancelled(s, err);
        r->seconds[st2] = dg_now() - ts;
        if (rc != DG_OK) {
            r->failed_stage = st2;
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%s", err->msg);
            dg_fail(err, "stage %s: %s", dg_stage_name(stg), msg);
        } else if (o->on_stage) {
            o->on_stage(o->stage_ctx, stg, 1, 0, r->seconds[st2]);
        }
    }
    s->stage_dir = NULL;
    if (rc == DG_OK)
        rc = dg_outdir_commit(&s->out, err); /* one step: DIR is old or new, whole */
    else
        dg_outdir_abort(&s->out);
    if (rc == DG_OK) {
        snprintf(r->report_json, sizeof r->report_json, "%.*s/report.json", (int)outlen,
                 o->out_dir);
        snprintf(r->report_md, sizeof r->report_md, "%.*s/report.md", (int)outlen, o->out_dir);
        snprintf(r->report_html, sizeof r->report_html, "%.*s/report.html", (int)outlen,
                 o->out_dir);
        for (size_t i = 0; i < s->tr.nruns; i++) {
            r->nruns += s->tr.runs[i].scenario != 0;
            r->nchosen += s->tr.runs[i].chosen && s->tr.runs[i].scenario;
        }
    }
    r->total_seconds = dg_now() - t0;
    state_free(s);
    free(s);
    return rc;
}
