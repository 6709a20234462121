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
    uint64_t points, distinct, core_points, noise_points;
    int32_t clusters;
    uint64_t largest_cluster_points;
    double seconds;
} dg_dbscan_report;

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
