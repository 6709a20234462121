/* DBSCAN on a data set's events: which events take part, their labels, a
 * summary per cluster, the files `demographer cluster` writes and the
 * k-distance chart. The algorithms themselves are in dbscan.h. */
#ifndef DEMOGRAPHER_CLUSTER_H
#define DEMOGRAPHER_CLUSTER_H

#include "demographer/dataset.h"
#include "demographer/chart.h"
#include "demographer/dbscan.h"

/* An event's cluster label when the event took no part in the clustering
 * (no observed location); -1 is noise, 0.. a cluster. */
#define DG_CLUSTER_NONE (-2)

/* The events a clustering works on: the rows of the events table whose
 * location was observed (cleaned data: the "location" column says 0; data not
 * cleaned: every row with both coordinates), collapsed into weighted
 * locations (weight = events). */
typedef struct dg_cluster_input {
    uint64_t nevents;   /* rows of the events table */
    size_t n;           /* of them clustered */
    uint64_t *row;      /* per clustered point: its event row */
    dg_dbscan_locs locs;
} dg_cluster_input;

int dg_cluster_input_build(dg_cluster_input *in, const dg_dataset *ds, dg_err *err);
void dg_cluster_input_free(dg_cluster_input *in);

/* Per event row: its location's label, or DG_CLUSTER_NONE. */
void dg_cluster_event_labels(const dg_cluster_input *in, const int32_t *loc_label,
                             int32_t *event_cluster);

/* The whole way in one call: builds the input, runs DBSCAN and fills
 * event_cluster (one per row of the events table). */
int dg_cluster_events(const dg_dataset *ds, double eps_km, double min_pts, int32_t *event_cluster,
                      dg_dbscan_report *report, const dg_progress *progress, dg_err *err);

/* One cluster: its events and distinct devices, the event-weighted centroid
 * and the largest distance from the centroid to one of its locations. */
typedef struct dg_cluster_summary {
    uint64_t events;
    uint32_t devices, locations;
    double lat, lon, radius_km;
} dg_cluster_summary;

/* out[c] for c in 0..nclusters-1 (freed by the caller). */
dg_cluster_summary *dg_cluster_summarize(const dg_dataset *ds, const dg_cluster_input *in,
                                         const int32_t *loc_label, int32_t nclusters);

/* locations.csv: lat,lon,weight,cluster,core, one row per distinct location. */
int dg_cluster_write_locations(const dg_dbscan_locs *locs, const int32_t *label,
                               const uint8_t *core, const char *path, dg_err *err);
/* clusters.csv: cluster,events,devices,locations,lat,lon,radius_km. */
int dg_cluster_write_summary(const dg_cluster_summary *s, int32_t nclusters, const char *path,
                             dg_err *err);
/* sweep.csv: eps_km,min_pts,clusters,core_locations,noise_share,largest_share,seconds. */
int dg_cluster_write_sweep(const dg_dbscan_sweep_row *rows, int nrows, const char *path,
                           dg_err *err);
/* kdist.csv: rank,share,km over the sorted curve. */
int dg_kdist_write_csv(const dg_kdist *kd, const char *path, dg_err *err);
/* The sorted k-distance curve as a line chart over its quantiles (0..100 %
 * of the locations, a numeric axis), on a log10(1 + km) axis, with the knee
 * and eps (when eps_km > 0) marked: for the PNG and for the Geo pane. */
#define DG_KDIST_CHART_POINTS 201
typedef struct dg_kdist_chart {
    dg_chart chart; /* points into the fields below */
    double x[DG_KDIST_CHART_POINTS], v[DG_KDIST_CHART_POINTS];
    dg_chart_marker mk[2];
    char title[128], sub[256], knee[64], eps[64];
} dg_kdist_chart;
int dg_kdist_chart_of(const dg_kdist *kd, double eps_km, dg_kdist_chart *out, dg_err *err);
int dg_kdist_chart_save(const dg_kdist *kd, double eps_km, const char *path, dg_err *err);

/* A sweep as a line chart: clusters against eps (numeric), a line per
 * minPts, the current eps marked (eps_km > 0); for geo-sweep.png and the
 * Geo pane. Up to DG_SWEEP_CHART_MAX distinct values of each. */
#define DG_SWEEP_CHART_MAX 32 /* the CLI's --sweep takes as many */
typedef struct dg_sweep_chart {
    dg_chart chart; /* points into the fields below */
    double eps[DG_SWEEP_CHART_MAX], min_pts[DG_SWEEP_CHART_MAX];
    double values[DG_SWEEP_CHART_MAX * DG_SWEEP_CHART_MAX];
    char name[DG_SWEEP_CHART_MAX][32];
    const char *names[DG_SWEEP_CHART_MAX];
    dg_chart_marker mk;
    char eps_label[48], sub[96];
} dg_sweep_chart;
void dg_sweep_chart_of(const dg_dbscan_sweep_row *rows, int nrows, double eps_km,
                       dg_sweep_chart *out);

#endif
