/* DBSCAN on (latitude, longitude) with haversine distance and eps in
 * kilometres, over a grid index. Duplicate locations (very common: the data
 * has two decimals) are collapsed and weighted, so the cost follows the
 * distinct locations, not the events.
 *
 * The definition is the textbook one, as scikit-learn's
 * DBSCAN(metric='haversine') computes it with sample weights: a location is a
 * core point when the weights within eps (itself included, distance <= eps)
 * add up to min_pts or more; core points within eps of each other share a
 * cluster; a non-core point within eps of a core point is a border point of
 * one of those clusters; the rest is noise (-1).
 * Tie rule for border points: a border point joins the cluster of the first
 * core point, in the order the clusters are grown, that reaches it. Clusters
 * are grown from core points in increasing order of their first input index,
 * and numbered 0, 1, ... in that order (scikit-learn's order too). */
#ifndef DEMOGRAPHER_DBSCAN_H
#define DEMOGRAPHER_DBSCAN_H

#include "demographer/common.h"

typedef struct dg_dbscan_report {
    uint64_t points, distinct, core_points, noise_points; /* noise: invalid points too */
    int32_t clusters;
    uint64_t largest_cluster_points;
    /* The same in weights (events when a location's weight is its event
     * count), over the valid points only: the shares to show are
     * noise_weight / total_weight and largest_cluster_weight / total_weight. */
    double total_weight, noise_weight, largest_cluster_weight;
    double seconds;
} dg_dbscan_report;

/* ---- the pieces, for callers that run DBSCAN more than once ---------------
 * Every function here is safe to call from a worker thread: no printing, no
 * globals, progress and cancel through `progress`, results in plain arrays. */

/* The distinct valid locations of a point set: equal (bit-equal float)
 * coordinates collapsed, their weights added. Points with a NaN coordinate,
 * a latitude beyond +-90 or a longitude beyond +-180 belong to no location. */
struct dg_dbscan_order;
typedef struct dg_dbscan_locs {
    size_t npoints;        /* points given */
    uint32_t n;            /* distinct valid locations */
    float *lat, *lon;      /* per location, degrees as given */
    double *weight;        /* per location: the weights of its points */
    uint32_t *count;       /* per location: its points */
    uint32_t *of_point;    /* per point: its location, or UINT32_MAX */
    double total_weight;
    struct dg_dbscan_order *order; /* radians and the seed order (private) */
} dg_dbscan_locs;

/* weights may be NULL (1 each); a weight must be finite and >= 0. */
int dg_dbscan_locs_build(dg_dbscan_locs *locs, const float *lat, const float *lon,
                         const float *weights, size_t n, dg_err *err);
void dg_dbscan_locs_free(dg_dbscan_locs *locs);

/* DBSCAN over the locations: label[l] (cluster or -1) and core[l] (may be
 * NULL) per location; report as dg_dbscan's for the points behind them. */
int dg_dbscan_run(const dg_dbscan_locs *locs, double eps_km, double min_pts, int32_t *label,
                  uint8_t *core, dg_dbscan_report *report, const dg_progress *progress,
                  dg_err *err);

/* One (eps, min_pts) pair of a sweep. */
typedef struct dg_dbscan_sweep_row {
    double eps_km, min_pts;
    int32_t clusters;
    uint64_t core_locations;
    double noise_share;    /* of the weight (events), 0..1 */
    double largest_share;  /* the largest cluster's weight over the total, 0..1 */
    double seconds;        /* this pair alone: its eps's index and neighbour
                              weights (shared by the pairs of that eps) plus
                              its own clustering */
} dg_dbscan_sweep_row;

/* Runs every pair of eps_km[0..neps) x min_pts[0..nmin) into
 * rows[e * nmin + m] (eps-major). The grid index and the neighbour weights
 * of one eps are built once and serve all its min_pts. The values equal
 * dg_dbscan_run's for the same pair. */
int dg_dbscan_sweep(const dg_dbscan_locs *locs, const double *eps_km, int neps,
                    const double *min_pts, int nmin, dg_dbscan_sweep_row *rows,
                    const dg_progress *progress, dg_err *err);

/* The k-distance of every location: the distance (km) at which the weights
 * within reach, the location's own included, first add up to k, i.e. the
 * k-th nearest neighbour counting weights and counting the point itself, as
 * scikit-learn's min_samples does. Take k = min_pts: a location is then a
 * core point at eps exactly when its k-distance is <= eps. INFINITY when all
 * the weight together is below k. Found over grids of growing cells (0.01
 * degree doubling), so the search radius grows only where points are
 * sparse. */
typedef struct dg_kdist {
    double k;
    uint32_t n;            /* locations */
    double *km;            /* per location */
    double *sorted;        /* the finite values, ascending */
    uint32_t nsorted;
    /* The suggested eps: the knee of the sorted curve, see dg_kdist_knee. */
    double knee_km;
    uint32_t knee_index;   /* in sorted */
    double seconds;
} dg_kdist;

int dg_kdist_compute(const dg_dbscan_locs *locs, double k, dg_kdist *out,
                     const dg_progress *progress, dg_err *err);
void dg_kdist_free(dg_kdist *kd);
/* The knee of an ascending curve v[0..n): the point farthest below the chord
 * from the first to the last point when the rank (x) and log10(1 + v) (y)
 * are both scaled to 0..1 (the "kneedle" rule on a log axis: the distances
 * span metres to thousands of km, and on a linear axis the last few points
 * would decide alone). Returns its index (0 when n < 3). */
uint32_t dg_kdist_knee(const double *v, uint32_t n);

/* labels[i] gets point i's cluster (0..clusters-1) or -1 for noise;
 * is_core (may be NULL) gets 1 for core points. Points with a NaN coordinate
 * are noise and are not counted as neighbours. weights may be NULL (1 each). */
int dg_dbscan(const float *lat, const float *lon, const float *weights, size_t n, double eps_km,
              double min_pts, int32_t *labels, uint8_t *is_core, dg_dbscan_report *report,
              const dg_progress *progress, dg_err *err);

/* The great-circle distance in km on a sphere of 6371.0088 km (the mean
 * Earth radius scikit-learn's users divide by). */
double dg_haversine_km(double lat1, double lon1, double lat2, double lon2);

#endif
