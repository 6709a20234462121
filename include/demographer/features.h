/* Per-device features from the (cleaned) tables: activity, time profiles,
 * places, apps, labels and label super-categories, phone brand and model.
 * Dense features are a row-major float matrix; the app and label bags are
 * sparse (CSR) over vocabularies. */
#ifndef DEMOGRAPHER_FEATURES_H
#define DEMOGRAPHER_FEATURES_H

#include "demographer/dataset.h"

/* Label super-categories: keyword rules over category names (see
 * assets/supercategories.txt for the format). */
typedef struct dg_supercats {
    int n;                 /* super-categories, "other" last */
    char **names;
    char ***keywords;      /* keywords[i] is NULL-terminated */
} dg_supercats;

int dg_supercats_parse(dg_supercats *s, const char *text, const char *origin, dg_err *err);
int dg_supercats_load(dg_supercats *s, const char *path, dg_err *err);
void dg_supercats_free(dg_supercats *s);
/* The super-category index of a category name (the last, "other", when no
 * rule matches). Keywords match at the start of a word, ignoring case. */
int dg_supercat_of(const dg_supercats *s, const char *category);

/* A sparse matrix in compressed rows: row r's entries are idx/val[ptr[r]..ptr[r+1]). */
typedef struct dg_csr {
    uint64_t *ptr;
    uint32_t *idx;
    float *val;
    uint32_t nrows, ncols;
    uint64_t nnz;
} dg_csr;

typedef struct dg_features {
    uint32_t ndevices;
    int64_t *device_id;      /* the devices: phone rows first, then labelled ones without */
    const char **brand;      /* point into the data set's phone strings ("" without a phone) */
    const char **model;
    int ncols;
    char **col_names;
    float *dense;            /* ndevices * ncols, row-major; NaN where undefined */
    dg_csr apps_installed;   /* columns: app_vocab */
    dg_csr apps_active;
    int64_t *app_vocab;
    dg_csr labels;           /* columns: label_vocab; value: the device's apps with the label */
    int32_t *label_vocab;
} dg_features;

/* Builds the features of every device of the data set. `supercats` may be
 * NULL (no super-category columns). */
int dg_features_build(const dg_dataset *ds, const dg_supercats *supercats, dg_features *out,
                      const dg_progress *progress, dg_err *err);
void dg_features_free(dg_features *f);
/* A deep copy (brand and model still point into the same data set). */
void dg_features_copy(const dg_features *f, dg_features *out);
int dg_features_col(const dg_features *f, const char *name);

/* Writes features.csv (device, brand, model, dense columns), features.bin
 * (the dense matrix with its names, native floats), apps.csv and labels.csv
 * (the bags as device,id,value triplets) and app_vocab.csv, label_vocab.csv. */
int dg_features_write(const dg_features *f, const char *dir, dg_err *err);

/* The columns a clustering of the events adds (cluster.h): cluster_home
 * (the cluster with most of the device's events, ties to the lower number;
 * -1 when all its events are noise: a category, for the model design to
 * one-hot), cluster_count (distinct clusters visited), cluster_top_share
 * (share of its events that took part in the home cluster),
 * cluster_noise_share, and the counts behind the shares,
 * cluster_home_events and cluster_away_events. A device none of whose events
 * took part gets NaN in all of them. */
#define DG_CLUSTER_NCOLS 6
extern const char *const dg_cluster_cols[DG_CLUSTER_NCOLS];
/* One device's cluster columns into out[DG_CLUSTER_NCOLS]: n events took
 * part, best_n of them in cluster `best` (-1: none), noise of them noise,
 * `count` clusters visited. Both feature paths (this file's and the SQL
 * pushdown's) fill the columns through it. */
void dg_cluster_values(int32_t best, int32_t count, uint64_t best_n, uint64_t noise, uint64_t n,
                       float *out);

/* Appends the cluster columns. event_cluster has one label per row of the
 * events table: 0.. a cluster, -1 noise, below -1 an event that took no
 * part (no observed location). */
int dg_features_add_clusters(dg_features *f, const dg_dataset *ds, const int32_t *event_cluster,
                             dg_err *err);

/* The features every model sees, built one way for features, train,
 * predict, run and serve so their layouts agree: dg_features_build, then
 * (when cluster_eps_km > 0 and the data set has events) the cluster columns
 * of a DBSCAN of the events at cluster_eps_km / cluster_min_pts. The
 * defaults come from the k-distance knee of the generated full-size set
 * (see the man page, cluster). `cluster_report` may be NULL. */
#define DG_CLUSTER_EPS_KM_DEFAULT 1.2
#define DG_CLUSTER_MIN_PTS_DEFAULT 10
struct dg_dbscan_report;
int dg_features_for_models(const dg_dataset *ds, const dg_supercats *supercats,
                           double cluster_eps_km, double cluster_min_pts, dg_features *out,
                           struct dg_dbscan_report *cluster_report, const dg_progress *progress,
                           dg_err *err);

#endif
