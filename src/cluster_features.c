/* The cluster columns of the per-device features (features.h). */
#include "demographer/cluster.h"
#include "demographer/features.h"

#include "demographer/i64map.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The shares say where a device's located events are; the two counts say
 * how many back them, as the hours' counts do (design.c): a device's
 * evidence from where it goes grows with its events at home and away, not
 * with their share alone. */
const char *const dg_cluster_cols[DG_CLUSTER_NCOLS] = {
    "cluster_home",      "cluster_count",       "cluster_top_share",
    "cluster_noise_share", "cluster_home_events", "cluster_away_events"};

void dg_cluster_values(int32_t best, int32_t count, uint64_t best_n, uint64_t noise, uint64_t n,
                       float *out)
{
    if (n == 0) { /* no located event, or none that took part (serve's described device) */
        for (int c = 0; c < DG_CLUSTER_NCOLS; c++)
            out[c] = NAN;
        return;
    }
    out[0] = (float)best;
    out[1] = (float)count;
    out[2] = (float)((double)best_n / (double)n);
    out[3] = (float)((double)noise / (double)n);
    out[4] = (float)best_n;
    out[5] = (float)(n - best_n);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The columns of one device from its events' labels (sorts them). */
static void device_values(int32_t *lab, size_t n, float *out)
{
    qsort(lab, n, sizeof *lab, cmp_i32);
    size_t noise = 0, best_n = 0;
    int32_t best = -1, count = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && lab[j] == lab[i])
            j++;
        if (lab[i] < 0) {
            noise = j - i;
        } else {
            count++;
            if (j - i > best_n) { /* ascending labels: a tie keeps the lower */
                best_n = j - i;
                best = lab[i];
            }
        }
        i = j;
    }
    dg_cluster_values(best, count, best_n, noise, n, out);
}

int dg_features_add_clusters(dg_features *f, const dg_dataset *ds, const int32_t *event_cluster,
                             dg_err *err)
{
    if (dg_features_col(f, dg_cluster_cols[0]) >= 0)
        return dg_fail(err, "the features already have the cluster columns (%s, ...)",
                       dg_cluster_cols[0]);
    const dg_table *ev = dg_dataset_table(ds, DG_T_EVENTS);
    if (!ev)
        return dg_fail(err, "cluster features need the events table, and the data set has none");
    const int64_t *dev = dg_col_i64(dg_table_column(ev, "device_id"));
    dg_i64map devs;
    dg_i64map_init(&devs);
    for (uint32_t d = 0; d < f->ndevices; d++)
        dg_i64map_put(&devs, f->device_id[d]);
    /* Group the events that took part by device (counting sort). */
    uint64_t *start = dg_xcalloc((size_t)f->ndevices + 2, sizeof *start);
    uint32_t *key = dg_xmalloc((ev->nrows + 1) * sizeof *key);
    for (uint64_t i = 0; i < ev->nrows; i++) {
        key[i] = event_cluster[i] < -1 ? UINT32_MAX : dg_i64map_get(&devs, dev[i]);
        if (key[i] != UINT32_MAX)
            start[key[i] + 1]++;
    }
    dg_i64map_free(&devs);
    for (uint32_t d = 0; d < f->ndevices; d++)
        start[d + 1] += start[d];
    uint64_t *fill = dg_xmalloc(((size_t)f->ndevices + 1) * sizeof *fill);
    memcpy(fill, start, (size_t)f->ndevices * sizeof *fill);
    int32_t *lab = dg_xmalloc((start[f->ndevices] + 1) * sizeof *lab);
    for (uint64_t i = 0; i < ev->nrows; i++)
        if (key[i] != UINT32_MAX)
            lab[fill[key[i]]++] = event_cluster[i];
    free(fill);
    free(key);
    /* The wider matrix, old columns first. */
    int old = f->ncols, nc = old + DG_CLUSTER_NCOLS;
    float *dense = dg_xmalloc(((size_t)f->ndevices * nc + 1) * sizeof *dense);
    for (uint32_t d = 0; d < f->ndevices; d++) {
        float *row = dense + (size_t)d * nc;
        memcpy(row, f->dense + (size_t)d * old, (size_t)old * sizeof *row);
        device_values(lab + start[d], start[d + 1] - start[d], row + old);
    }
    free(lab);
    free(start);
    free(f->dense);
    f->dense = dense;
    f->col_names = dg_xrealloc(f->col_names, (size_t)nc * sizeof *f->col_names);
    for (int c = 0; c < DG_CLUSTER_NCOLS; c++)
        f->col_names[old + c] = dg_xstrdup(dg_cluster_cols[c]);
    f->ncols = nc;
    return DG_OK;
}

int dg_features_for_models(const dg_dataset *ds, const dg_supercats *supercats,
                           double cluster_eps_km, double cluster_min_pts, dg_features *out,
                           dg_dbscan_report *cluster_report, const dg_progress *progress,
                           dg_err *err)
{
    if (dg_features_build(ds, supercats, out, progress, err) != DG_OK)
        return DG_ERR;
    const dg_table *ev = dg_dataset_table(ds, DG_T_EVENTS);
    if (!(cluster_eps_km > 0) || !ev)
        return DG_OK; /* no events: no cluster columns, as no other event column */
    int32_t *event_cluster = dg_xmalloc((ev->nrows + 1) * sizeof *event_cluster);
    dg_dbscan_report r;
    int rc = dg_cluster_events(ds, cluster_eps_km, cluster_min_pts, event_cluster, &r, progress,
                               err) != DG_OK ||
             dg_features_add_clusters(out, ds, event_cluster, err) != DG_OK;
    free(event_cluster);
    if (rc) {
        dg_features_free(out);
        return DG_ERR;
    }
    if (cluster_report)
        *cluster_report = r;
    return DG_OK;
}
