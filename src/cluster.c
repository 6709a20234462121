#include "demographer/cluster.h"

#include "demographer/clean.h"
#include "demographer/i64map.h"
#include "demographer/plot.h"
#include "demographer/textbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dg_cluster_input_build(dg_cluster_input *in, const dg_dataset *ds, dg_err *err)
{
    memset(in, 0, sizeof *in);
    const dg_table *ev = dg_dataset_table(ds, DG_T_EVENTS);
    if (!ev)
        return dg_fail(err, "clustering needs the events table, and the data set has none");
    const dg_column *clat = dg_table_column(ev, "latitude"), *clon = dg_table_column(ev, "longitude");
    if (!clat || !clon)
        return dg_fail(err, "the events table has no latitude and longitude columns");
    const float *lat = dg_col_f32(clat), *lon = dg_col_f32(clon);
    const dg_column *locc = dg_table_column(ev, "location");
    const int8_t *loc = locc ? dg_col_i8(locc) : NULL;
    in->nevents = ev->nrows;
    in->row = dg_xmalloc((ev->nrows + 1) * sizeof *in->row);
    float *plat = dg_xmalloc((ev->nrows + 1) * sizeof *plat);
    float *plon = dg_xmalloc((ev->nrows + 1) * sizeof *plon);
    for (uint64_t i = 0; i < ev->nrows; i++) {
        if (loc ? loc[i] != DG_LOC_OBSERVED : isnan(lat[i]) || isnan(lon[i]))
            continue;
        plat[in->n] = lat[i];
        plon[in->n] = lon[i];
        in->row[in->n++] = i;
    }
    int rc = dg_dbscan_locs_build(&in->locs, plat, plon, NULL, in->n, err);
    free(plat);
    free(plon);
    if (rc != DG_OK)
        dg_cluster_input_free(in);
    return rc;
}

void dg_cluster_input_free(dg_cluster_input *in)
{
    free(in->row);
    dg_dbscan_locs_free(&in->locs);
    memset(in, 0, sizeof *in);
}

void dg_cluster_event_labels(const dg_cluster_input *in, const int32_t *loc_label,
                             int32_t *event_cluster)
{
    for (uint64_t i = 0; i < in->nevents; i++)
        event_cluster[i] = DG_CLUSTER_NONE;
    for (size_t k = 0; k < in->n; k++) {
        uint32_t l = in->locs.of_point[k];
        event_cluster[in->row[k]] = l == UINT32_MAX ? -1 : loc_label[l];
    }
}

int dg_cluster_events(const dg_dataset *ds, double eps_km, double min_pts, int32_t *event_cluster,
                      dg_dbscan_report *report, const dg_progress *progress, dg_err *err)
{
    dg_cluster_input in;
    if (dg_cluster_input_build(&in, ds, err) != DG_OK)
        return DG_ERR;
    int32_t *label = dg_xmalloc(((size_t)in.locs.n + 1) * sizeof *label);
    int rc = dg_dbscan_run(&in.locs, eps_km, min_pts, label, NULL, report, progress, err);
    if (rc == DG_OK)
        dg_cluster_event_labels(&in, label, event_cluster);
    free(label);
    dg_cluster_input_free(&in);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

dg_cluster_summary *dg_cluster_summarize(const dg_dataset *ds, const dg_cluster_input *in,
                                         const int32_t *loc_label, int32_t nclusters)
{
    const dg_dbscan_locs *d = &in->locs;
    dg_cluster_summary *s = dg_xcalloc((size_t)nclusters + 1, sizeof *s);
    for (uint32_t l = 0; l < d->n; l++) {
        int32_t c = loc_label[l];
        if (c < 0)
            continue;
        s[c].events += d->count[l];
        s[c].locations++;
        s[c].lat += d->lat[l] * d->weight[l];
        s[c].lon += d->lon[l] * d->weight[l];
    }
    /* Centroids from the weights (events), then the farthest location. */
    double *wsum = dg_xcalloc((size_t)nclusters + 1, sizeof *wsum);
    for (uint32_t l = 0; l < d->n; l++)
        if (loc_label[l] >= 0)
            wsum[loc_label[l]] += d->weight[l];
    for (int32_t c = 0; c < nclusters; c++)
        if (wsum[c] > 0) {
            s[c].lat /= wsum[c];
            s[c].lon /= wsum[c];
        }
    free(wsum);
    for (uint32_t l = 0; l < d->n; l++) {
        int32_t c = loc_label[l];
        if (c < 0)
            continue;
        double km = dg_haversine_km(s[c].lat, s[c].lon, d->lat[l], d->lon[l]);
        if (km > s[c].radius_km)
            s[c].radius_km = km;
    }
    /* Distinct devices: (cluster, device code) pairs, sorted. */
    const dg_table *ev = dg_dataset_table(ds, DG_T_EVENTS);
    const int64_t *dev = dg_col_i64(dg_table_column(ev, "device_id"));
    dg_i64map codes;
    dg_i64map_init(&codes);
    uint64_t *pair = dg_xmalloc((in->n + 1) * sizeof *pair);
    size_t np = 0;
    for (size_t k = 0; k < in->n; k++) {
        uint32_t l = d->of_point[k];
        if (l == UINT32_MAX || loc_label[l] < 0)
            continue;
        uint32_t code = dg_i64map_put(&codes, dev[in->row[k]]);
        pair[np++] = (uint64_t)(uint32_t)loc_label[l] << 32 | code;
    }
    qsort(pair, np, sizeof *pair, cmp_u64);
    for (size_t k = 0; k < np; k++)
        if (k == 0 || pair[k] != pair[k - 1])
            s[pair[k] >> 32].devices++;
    free(pair);
    dg_i64map_free(&codes);
    return s;
}

int dg_cluster_write_locations(const dg_dbscan_locs *d, const int32_t *label, const uint8_t *core,
                               const char *path, dg_err *err)
{
    dg_textbuf o = {0};
    dg_textbuf_puts(&o, "lat,lon,weight,cluster,core\n");
    for (uint32_t l = 0; l < d->n; l++) {
        dg_textbuf_num(&o, d->lat[l]);
        dg_textbuf_putc(&o, ',');
        dg_textbuf_num(&o, d->lon[l]);
        dg_textbuf_putc(&o, ',');
        dg_textbuf_num(&o, d->weight[l]);
        dg_textbuf_printf(&o, ",%d,%d\n", label[l], core[l]);
    }
    int rc = dg_textbuf_save(&o, path, err);
    dg_textbuf_free(&o);
    return rc;
}

int dg_cluster_write_summary(const dg_cluster_summary *s, int32_t nclusters, const char *path,
                             dg_err *err)
{
    dg_textbuf o = {0};
    dg_textbuf_puts(&o, "cluster,events,devices,locations,lat,lon,radius_km\n");
    for (int32_t c = 0; c < nclusters; c++)
        dg_textbuf_printf(&o, "%d,%llu,%u,%u,%.6f,%.6f,%.4f\n", c,
                          (unsigned long long)s[c].events, s[c].devices, s[c].locations,
                          s[c].lat, s[c].lon, s[c].radius_km);
    int rc = dg_textbuf_save(&o, path, err);
    dg_textbuf_free(&o);
    return rc;
}

int dg_cluster_write_sweep(const dg_dbscan_sweep_row *rows, int nrows, const char *path,
                           dg_err *err)
{
    dg_textbuf o = {0};
    dg_textbuf_puts(&o, "eps_km,min_pts,clusters,core_locations,noise_share,largest_share,seconds\n");
    for (int i = 0; i < nrows; i++)
        dg_textbuf_printf(&o, "%g,%g,%d,%llu,%.6f,%.6f,%.4f\n", rows[i].eps_km, rows[i].min_pts,
                          rows[i].clusters, (unsigned long long)rows[i].core_locations,
                          rows[i].noise_share, rows[i].largest_share, rows[i].seconds);
    int rc = dg_textbuf_save(&o, path, err);
    dg_textbuf_free(&o);
    return rc;
}

int dg_kdist_write_csv(const dg_kdist *kd, const char *path, dg_err *err)
{
    dg_textbuf o = {0};
    dg_textbuf_puts(&o, "rank,share,km\n");
    for (uint32_t i = 0; i < kd->nsorted; i++)
        dg_textbuf_printf(&o, "%u,%.6f,%.6f\n", i,
                          kd->nsorted > 1 ? (double)i / (kd->nsorted - 1) : 0, kd->sorted[i]);
    int rc = dg_textbuf_save(&o, path, err);
    dg_textbuf_free(&o);
    return rc;
}

int dg_kdist_chart_of(const dg_kdist *kd, double eps_km, dg_kdist_chart *out, dg_err *err)
{
    memset(out, 0, sizeof *out);
    if (kd->nsorted == 0)
        return dg_fail(err, "no k-distance to draw: no location has %g points within reach",
                       kd->k);
    for (int q = 0; q < DG_KDIST_CHART_POINTS; q++) {
        double at = (double)q / (DG_KDIST_CHART_POINTS - 1) * (kd->nsorted - 1);
        out->x[q] = 100.0 * q / (DG_KDIST_CHART_POINTS - 1);
        out->v[q] = kd->sorted[(uint32_t)llround(at)];
    }
    double knee_share = kd->nsorted > 1 ? 100.0 * kd->knee_index / (kd->nsorted - 1) : 0;
    snprintf(out->title, sizeof out->title, "k-distance, k = %g (the point itself counted)",
             kd->k);
    char nloc[32];
    uint32_t zero = 0; /* sorted ascending: the distances of 0 come first */
    while (zero < kd->nsorted && !(kd->sorted[zero] > 0))
        zero++;
    int len = snprintf(out->sub, sizeof out->sub,
                       "%s locations sorted; knee at %.0f%% of them: %.3f km (suggested eps); "
                       "max %.1f km",
                       dg_format_count(kd->nsorted, nloc, sizeof nloc), knee_share, kd->knee_km,
                       kd->sorted[kd->nsorted - 1]);
    if (zero && len > 0 && (size_t)len < sizeof out->sub)
        snprintf(out->sub + len, sizeof out->sub - (size_t)len,
                 "; the first %.0f%% at 0 km, off the log axis",
                 100.0 * zero / kd->nsorted);
    snprintf(out->knee, sizeof out->knee, "knee %.3g km", kd->knee_km);
    out->mk[0] = (dg_chart_marker){1, knee_share, out->knee};
    int nm = 1;
    if (eps_km > 0) {
        snprintf(out->eps, sizeof out->eps, "eps %g km", eps_km);
        out->mk[nm++] = (dg_chart_marker){0, eps_km, out->eps};
    }
    /* A log axis (ticks 0.01, 0.1, 1, 10 ... km): the distances span metres
     * to thousands of km. A distance of 0 (k = 1) has no place on it. */
    out->chart = (dg_chart){.kind = DG_CHART_LINE,
                            .title = out->title,
                            .subtitle = out->sub,
                            .value_label = "km to the k-th neighbour (log axis)",
                            .category_label = "% of the distinct locations, sorted",
                            .n = DG_KDIST_CHART_POINTS,
                            .values = out->v,
                            .x = out->x,
                            .log_values = 1,
                            .nmarkers = nm,
                            .markers = out->mk};
    return DG_OK;
}

int dg_kdist_chart_save(const dg_kdist *kd, double eps_km, const char *path, dg_err *err)
{
    dg_kdist_chart c;
    if (dg_kdist_chart_of(kd, eps_km, &c, err) != DG_OK)
        return dg_fail(err, "%s: %s", path, err->msg);
    return dg_chart_save(&c.chart, path, err);
}

void dg_sweep_chart_of(const dg_dbscan_sweep_row *rows, int nrows, double eps_km,
                       dg_sweep_chart *out)
{
    memset(out, 0, sizeof *out);
    int ne = 0, nm = 0;
    for (int i = 0; i < nrows; i++) {
        int e = 0, k = 0;
        while (e < ne && out->eps[e] != rows[i].eps_km)
            e++;
        if (e == ne && ne < DG_SWEEP_CHART_MAX)
            out->eps[ne++] = rows[i].eps_km;
        while (k < nm && out->min_pts[k] != rows[i].min_pts)
            k++;
        if (k == nm && nm < DG_SWEEP_CHART_MAX)
            out->min_pts[nm++] = rows[i].min_pts;
    }
    /* Ascending eps along x, ascending minPts as the series. */
    for (int i = 1; i < ne; i++)
        for (int j = i; j > 0 && out->eps[j - 1] > out->eps[j]; j--) {
            double t = out->eps[j];
            out->eps[j] = out->eps[j - 1];
            out->eps[j - 1] = t;
        }
    for (int i = 1; i < nm; i++)
        for (int j = i; j > 0 && out->min_pts[j - 1] > out->min_pts[j]; j--) {
            double t = out->min_pts[j];
            out->min_pts[j] = out->min_pts[j - 1];
            out->min_pts[j - 1] = t;
        }
    for (int k = 0; k < nm; k++) {
        snprintf(out->name[k], sizeof out->name[k], "minPts %g", out->min_pts[k]);
        out->names[k] = out->name[k];
    }
    for (int i = 0; i < nrows; i++)
        for (int e = 0; e < ne; e++)
            for (int k = 0; k < nm; k++)
                if (out->eps[e] == rows[i].eps_km && out->min_pts[k] == rows[i].min_pts)
                    out->values[e * nm + k] = (double)rows[i].clusters;
    snprintf(out->eps_label, sizeof out->eps_label, "eps %g km", eps_km);
    out->mk = (dg_chart_marker){1, eps_km, out->eps_label};
    snprintf(out->sub, sizeof out->sub, "%d eps x %d minPts; the line marks the current eps", ne,
             nm);
    out->chart = (dg_chart){.kind = DG_CHART_LINE,
                            .title = "DBSCAN sweep: clusters by eps and minPts",
                            .subtitle = out->sub,
                            .value_label = "clusters",
                            .category_label = "eps (km)",
                            .n = ne,
                            .x = out->eps,
                            .values = out->values,
                            .nseries = nm,
                            .series_names = out->names,
                            .integer_values = 1,
                            .point_marks = 1,
                            .nmarkers = eps_km > 0 ? 1 : 0,
                            .markers = &out->mk};
}
