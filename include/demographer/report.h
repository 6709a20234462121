/* One report, three renderings. The report model is what a run (or a
 * workbench session) found, gathered once into plain data: the facts each
 * stage measured, its tables and the charts it drew, section by section in
 * the workbench's pane order (Load, Clean, EDA, Geo, DBSCAN, Models,
 * Campaigns). It is rendered as
 *   report.json  for tools: every key and value `demographer run` has always
 *                written (tests, bench/run.sh and scripts read them; a
 *                workbench session's has no stages, checksum, evaluation or
 *                predictions);
 *   report.md    for people, the charts linked relatively;
 *   report.html  for people, one self-contained file: the charts inlined as
 *                PNG data URIs, the style inline, nothing fetched from
 *                anywhere, readable on a laptop and on a phone.
 * report.md and report.html come from one document layout (report_doc.c)
 * written through two back ends, so they state the same facts in the same
 * words; report.json is built from the same fields.
 *
 * The model borrows: its strings and arrays point into what the caller
 * built it from (the run's state, the workbench's model), which must live
 * until the report is rendered. */
#ifndef DEMOGRAPHER_REPORT_H
#define DEMOGRAPHER_REPORT_H

#include "demographer/campaign.h"
#include "demographer/clean.h"
#include "demographer/cluster.h"
#include "demographer/eda.h"
#include "demographer/features.h"
#include "demographer/geo.h"
#include "demographer/pipeline.h"
#include "demographer/textbuf.h"

/* How many clusters the report lists: the largest, by events. */
#define DG_REPORT_TOP_CLUSTERS 10

typedef struct dg_report_stage {
    const char *name; /* dg_stage_name */
    int ran;
    double seconds;   /* NaN: not known (the report's own, a stage that did not run) */
    const char *note; /* why it did not run, or what it left out; "" or NULL: nothing */
} dg_report_stage;

typedef struct dg_report_table {
    const char *name; /* dg_tables[].name */
    uint64_t rows;    /* after cleaning */
    const char *file; /* where it was read from ("" when not a file) */
} dg_report_table;

typedef struct dg_report_rule {
    const char *rule;  /* dg_rule_keyword */
    int enabled;
    const char *table; /* the table it works on ("" when none) */
    uint64_t rows_before, rows_after, rows_changed, devices;
    const char *detail; /* what it did, in words */
} dg_report_rule;

typedef struct dg_report_eda {
    int chart;          /* which of the ten charts (1..10) */
    const char *title;
    char csv[80], png[80]; /* relative to the report's folder */
} dg_report_eda;

typedef struct dg_report_chart {
    const char *name; /* the alt text, and the file's stem */
    char png[96];     /* relative to the report's folder */
} dg_report_chart;

typedef struct dg_report_eval {
    int scenario;
    dg_target target;
    const char *family;
    int identical; /* every metric equals train's */
    dg_eval test;
} dg_report_eval;

typedef struct dg_report_campaign {
    int id;
    const char *name;
    char condition[128]; /* dg_campaign_condition_text */
    uint64_t devices, labelled;
    double share, precision, base_rate;
} dg_report_campaign;

typedef struct dg_report {
    const char *title; /* "demographer run" */
    const char *dir;   /* where the report is written: the chart paths are relative to it */
    /* The run: what it read and with which settings. */
    const char *data_dir;
    int upgrad_shape; /* the data's shape: Upgrad's (1) or Kaggle's (0) */
    uint64_t seed;
    int folds;
    /* The stages (a run's; the workbench has none: have_stages 0). */
    int have_stages;
    dg_report_stage stage[DG_STAGE_COUNT];
    double seconds_before_report;
    /* Load: the tables after cleaning. */
    int ntables;
    dg_report_table table[DG_T_COUNT];
    /* Clean: each rule's counts (have_cleaning 0: the rules did not run). */
    int have_cleaning, nrules;
    const dg_report_rule *rule;
    /* EDA: the exploratory tables and their charts. */
    int have_eda, neda;
    dg_report_eda eda[DG_EDA_MAX_TABLES];
    /* Geo: the maps, index 0 over every event, 1 over labelled devices'. */
    int nmaps;
    uint32_t map_sampled[2];
    uint64_t map_eligible[2];
    dg_report_chart map[DG_MAP_KINDS];
    /* DBSCAN. */
    int have_cluster;
    double eps_km, min_pts;
    uint64_t cluster_events;  /* events read */
    uint64_t clustered_events; /* events with an observed location */
    uint32_t distinct_locations;
    int32_t clusters;
    double noise_share, largest_cluster_share, knee_km;
    const dg_cluster_summary *cluster; /* every cluster's, by cluster number */
    int have_kdist_chart;
    /* Models: the features, every run, the chosen ones, the split. */
    int have_features;
    uint32_t feature_devices, feature_apps, feature_labels;
    int feature_columns;
    int have_train;
    const char *train_dir; /* train's folder relative to dir ("train"): its models/ */
    const char *runs_json; /* train's runs.json, absolute: report.json holds it whole */
    const char *selection_rule;
    const dg_run *runs;
    size_t nruns;
    const dg_ablation *ablation; /* train's --ablation rows (report.json has them in train) */
    size_t nablation;
    int ntrain_charts;
    dg_report_chart train_chart[DG_TRAIN_CHARTS];
    const char *split_text; /* NULL: no split made */
    uint32_t labelled, ntrain[3], ntest[3]; /* by scenario 1, 2 (with train) */
    int have_checksum;
    char checksum[17]; /* hex: labelled devices, targets and split */
    int nevals;
    dg_report_eval eval[2 * DG_TARGET_COUNT];
    uint32_t nevals_identical;
    int have_predictions;
    uint64_t npredictions;
    /* The gap to the generator's floor (accuracy.h); NULL: no truth given. */
    const dg_accuracy *accuracy;
    const char *synth_truth, *peer_predictions; /* the files (peer NULL: none) */
    /* Campaigns. */
    int have_campaigns;
    double decile_edge[9];
    uint64_t campaign_devices, campaign_labelled, untargeted;
    int ncampaigns;
    dg_report_campaign campaign[DG_CAMPAIGNS_MAX];
} dg_report;

/* report.json as text (the caller frees it), or NULL with err set (runs.json
 * cannot be read back). */
/* The campaigns' part of r (have_campaigns, the decile edges, the reach of
 * each rule) from the rules, the fitted deciles and their reach: the same
 * for a run and for the workbench. Points into rules (names). */
void dg_report_set_campaigns(dg_report *r, const dg_campaign_rules *rules, const dg_deciles *dec,
                             const dg_reach *reach);

/* The other parts of r from the library's results, likewise the same for a
 * run and for the workbench (report_of.c). Each points into what it is
 * given, which must outlive r.
 * The data's tables: each present one's name, rows (rows[t], or the
 * table's own count when rows is NULL) and file. */
void dg_report_set_tables(dg_report *r, const dg_dataset *ds, const uint64_t *rows);
/* The cleaning rules that ran and their effects, one row each into rows
 * (rules->n of them, the caller's). */
void dg_report_set_cleaning(dg_report *r, const dg_rules *rules, const dg_rule_effect *effects,
                            dg_report_rule *rows);
/* EDA table i of e and its files, eda/eda-SLUG.csv and .png (dg_eda_file_name). */
void dg_report_add_eda(dg_report *r, const dg_eda *e, int i);
/* Map k's name and file, maps/maps-NAME.png (nmaps is the caller's to count). */
void dg_report_set_map(dg_report *r, int k);
/* A DBSCAN run: its parameters, what it read and its clusters' shares.
 * knee_km and have_kdist_chart are the caller's. */
void dg_report_set_cluster(dg_report *r, const dg_dbscan_report *c, double eps_km, double min_pts,
                           uint64_t events, uint64_t clustered, uint32_t locations,
                           const dg_cluster_summary *summary);
void dg_report_set_features(dg_report *r, const dg_features *f);
/* A training's runs, ablation, split and sizes; train_dir is its folder as
 * the report links it ("train", "../train"), runs_json its runs.json. */
void dg_report_set_train(dg_report *r, const dg_train_result *res, const char *train_dir,
                         const char *runs_json);
/* The charts train drew in abs_train_dir, linked as train_dir/FILE. */
void dg_report_add_train_charts(dg_report *r, const char *abs_train_dir, const char *train_dir);
char *dg_report_json(const dg_report *r, dg_err *err);
/* The numbers of the largest clusters (by events, then the lower number),
 * at most cap of them, largest first; returns how many. */
int dg_report_largest_clusters(const dg_report *r, int32_t *id, int cap);
/* report.md into b. */
void dg_report_md(const dg_report *r, dg_textbuf *b);
/* report.html into b, reading the charts from r->dir; DG_ERR with err set
 * when a chart the report names cannot be read. */
int dg_report_html(const dg_report *r, dg_textbuf *b, dg_err *err);
/* Writes report.json, report.md and report.html into r->dir, each through a
 * temporary file renamed into place. */
int dg_report_write(const dg_report *r, dg_err *err);

/* HTML text: & < > " ' as entities (safe in elements and quoted attributes). */
void dg_html_escape(dg_textbuf *b, const char *s);
/* n bytes as base64 (RFC 4648, padded, no line breaks). */
void dg_base64(dg_textbuf *b, const unsigned char *p, size_t n);

#endif
