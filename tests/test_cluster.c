#include "testutil.h"

#include "demographer/clean.h"
#include "demographer/cluster.h"
#include "demographer/features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A small point set with the data's traits: two-decimal coordinates around
 * a few centres, repeats, scattered far points, two near the pole and a
 * NaN; weights of 1 to 4. */
static size_t make_points(unsigned seed, size_t n, float *lat, float *lon, float *w)
{
    srand(seed);
    const float centres[][2] = {{39.91f, 116.39f}, {30.0f, 104.0f}, {22.54f, 114.06f}};
    for (size_t i = 0; i < n; i++) {
        int kind = rand() % 10;
        if (kind < 7) {
            const float *c = centres[rand() % 3];
            lat[i] = roundf((c[0] + (rand() % 200 - 100) / 400.0f) * 100) / 100;
            lon[i] = roundf((c[1] + (rand() % 200 - 100) / 400.0f) * 100) / 100;
        } else if (kind < 9 && i > 0) { /* a repeat */
            size_t j = (size_t)rand() % i;
            lat[i] = lat[j];
            lon[i] = lon[j];
        } else {
            lat[i] = 20 + rand() % 2500 / 100.0f;
            lon[i] = 100 + rand() % 2500 / 100.0f;
        }
        w[i] = (float)(1 + rand() % 4);
    }
    lat[0] = 89.95f, lon[0] = 10.0f;
    lat[1] = 89.96f, lon[1] = -170.0f;
    lat[2] = NAN;
    return n;
}

/* The k-distance of every location computed the plain way: all distances,
 * sorted, weights added until k. */
static double brute_kdist(const dg_dbscan_locs *d, uint32_t p, double k, double *dist,
                          uint32_t *idx)
{
    for (uint32_t q = 0; q < d->n; q++) {
        dist[q] = q == p ? 0 : dg_haversine_km(d->lat[p], d->lon[p], d->lat[q], d->lon[q]);
        idx[q] = q;
    }
    /* Selection by insertion: n is small. */
    for (uint32_t i = 1; i < d->n; i++)
        for (uint32_t j = i; j > 0 && dist[idx[j]] < dist[idx[j - 1]]; j--) {
            uint32_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    double acc = 0;
    for (uint32_t i = 0; i < d->n; i++) {
        acc += d->weight[idx[i]];
        if (acc >= k)
            return dist[idx[i]];
    }
    return INFINITY;
}

static void kdist_matches_brute_force(void **state)
{
    (void)state;
    enum { N = 600 };
    float lat[N], lon[N], w[N];
    make_points(7, N, lat, lon, w);
    dg_dbscan_locs d;
    dg_err err;
    for (int weighted = 0; weighted < 2; weighted++) {
        assert_int_equal(dg_dbscan_locs_build(&d, lat, lon, weighted ? w : NULL, N, &err), DG_OK);
        assert_true(d.n < N - 1); /* repeats collapsed, the NaN left out */
        assert_int_equal(d.of_point[2], UINT32_MAX);
        double *dist = malloc(d.n * sizeof *dist);
        uint32_t *idx = malloc(d.n * sizeof *idx);
        const double ks[] = {1, 2, 5, 17, 60, 1e9};
        for (size_t t = 0; t < sizeof ks / sizeof *ks; t++) {
            dg_kdist kd;
            assert_int_equal(dg_kdist_compute(&d, ks[t], &kd, NULL, &err), DG_OK);
            assert_int_equal(kd.n, d.n);
            uint32_t finite = 0;
            for (uint32_t p = 0; p < d.n; p++) {
                double want = brute_kdist(&d, p, ks[t], dist, idx);
                if (isinf(want)) {
                    if (!isinf(kd.km[p]))
                        fail_msg("k=%g location %u: %g km, expected none", ks[t], p, kd.km[p]);
                    continue;
                }
                finite++;
                if (fabs(kd.km[p] - want) > 1e-9 * (1 + want))
                    fail_msg("k=%g location %u (%g, %g): %.12g km, brute force %.12g", ks[t], p,
                             d.lat[p], d.lon[p], kd.km[p], want);
            }
            assert_int_equal(kd.nsorted, finite);
            for (uint32_t i = 1; i < kd.nsorted; i++)
                assert_true(kd.sorted[i - 1] <= kd.sorted[i]);
            if (ks[t] == 1)
                assert_true(kd.sorted[kd.nsorted - 1] == 0); /* every point its own neighbour */
            if (ks[t] == 1e9)
                assert_int_equal(kd.nsorted, 0);
            dg_kdist_free(&kd);
        }
        /* The meaning of k = min_pts: core exactly when the k-distance is
         * within eps (away from rounding at the edge). */
        dg_kdist kd;
        assert_int_equal(dg_kdist_compute(&d, 5, &kd, NULL, &err), DG_OK);
        int32_t *lab = malloc(d.n * sizeof *lab);
        uint8_t *core = malloc(d.n);
        assert_int_equal(dg_dbscan_run(&d, 3.0, 5, lab, core, NULL, NULL, &err), DG_OK);
        for (uint32_t p = 0; p < d.n; p++)
            if (fabs(kd.km[p] - 3.0) > 1e-9)
                assert_int_equal(core[p], kd.km[p] <= 3.0);
        free(lab);
        free(core);
        dg_kdist_free(&kd);
        free(dist);
        free(idx);
        dg_dbscan_locs_free(&d);
    }
}

static void knee_of_a_hockey_stick(void **state)
{
    (void)state;
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = i < 80 ? 1 + i * 0.01 : 1.8 + (i - 79) * 50.0;
    uint32_t k = dg_kdist_knee(v, 100);
    assert_true(k >= 75 && k <= 81);
    assert_int_equal(dg_kdist_knee(v, 2), 0);
    double flat[5] = {2, 2, 2, 2, 2};
    assert_int_equal(dg_kdist_knee(flat, 5), 0);
}

/* Loads a fixture of tests/fixtures (eps, min_samples line, then lat,lon,...). */
static size_t load_points(const char *name, float **lat, float **lon)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/dbscan-%s.csv", getenv("DG_FIXTURES"), name);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[256];
    assert_non_null(fgets(line, sizeof line, fp));
    assert_non_null(fgets(line, sizeof line, fp));
    size_t n = 0, cap = 1024;
    *lat = malloc(cap * sizeof **lat);
    *lon = malloc(cap * sizeof **lon);
    double la, lo;
    int a, b;
    while (fscanf(fp, "%lf,%lf,%d,%d\n", &la, &lo, &a, &b) == 4) {
        if (n == cap) {
            cap *= 2;
            *lat = realloc(*lat, cap * sizeof **lat);
            *lon = realloc(*lon, cap * sizeof **lon);
        }
        (*lat)[n] = (float)la;
        (*lon)[n++] = (float)lo;
    }
    fclose(fp);
    return n;
}

static void sweep_equals_single_runs(void **state)
{
    (void)state;
    float *lat, *lon;
    size_t n = load_points("cities", &lat, &lon);
    dg_dbscan_locs d;
    dg_err err;
    assert_int_equal(dg_dbscan_locs_build(&d, lat, lon, NULL, n, &err), DG_OK);
    const double eps[] = {0.5, 2, 5}, mp[] = {1, 4, 12, 40};
    dg_dbscan_sweep_row rows[12];
    assert_int_equal(dg_dbscan_sweep(&d, eps, 3, mp, 4, rows, NULL, &err), DG_OK);
    int32_t *lab = malloc(d.n * sizeof *lab);
    uint8_t *core = malloc(d.n);
    int distinct_results = 0;
    for (int e = 0; e < 3; e++)
        for (int m = 0; m < 4; m++) {
            dg_dbscan_report r;
            assert_int_equal(dg_dbscan_run(&d, eps[e], mp[m], lab, core, &r, NULL, &err), DG_OK);
            const dg_dbscan_sweep_row *row = &rows[e * 4 + m];
            uint64_t ncore = 0;
            for (uint32_t l = 0; l < d.n; l++)
                ncore += core[l];
            assert_true(row->eps_km == eps[e] && row->min_pts == mp[m]);
            assert_int_equal(row->clusters, r.clusters);
            assert_int_equal(row->core_locations, ncore);
            assert_true(row->noise_share == r.noise_weight / r.total_weight);
            assert_true(row->largest_share == r.largest_cluster_weight / r.total_weight);
            assert_true(row->seconds >= 0);
            distinct_results += e * 4 + m > 0 && row->clusters != rows[e * 4 + m - 1].clusters;
        }
    assert_true(distinct_results > 5); /* the pairs differ: the test compares something */
    assert_true(rows[0].noise_share == 0); /* min_pts 1: every location its own core */
    /* The single run agrees with the per-point DBSCAN that the scikit-learn
     * fixtures check. */
    int32_t *plab = malloc(n * sizeof *plab);
    dg_dbscan_report pr, lr;
    assert_int_equal(dg_dbscan(lat, lon, NULL, n, 2, 12, plab, NULL, &pr, NULL, &err), DG_OK);
    assert_int_equal(dg_dbscan_run(&d, 2, 12, lab, core, &lr, NULL, &err), DG_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(plab[i], d.of_point[i] == UINT32_MAX ? -1 : lab[d.of_point[i]]);
    assert_int_equal(pr.noise_points, lr.noise_points);
    assert_int_equal(pr.largest_cluster_points, lr.largest_cluster_points);
    free(plab);
    free(lab);
    free(core);
    dg_dbscan_locs_free(&d);
    free(lat);
    free(lon);
}

static int cancel_at_once(void *ctx, const char *stage, double done, double total, const char *unit)
{
    (void)stage, (void)done, (void)total, (void)unit;
    ++*(int *)ctx;
    return 1;
}

static void bad_input_and_cancel(void **state)
{
    (void)state;
    float lat[] = {30, 30.01f, 31}, lon[] = {104, 104, 104}, w[] = {1, -2, 1};
    dg_dbscan_locs d;
    dg_err err;
    int32_t lab[3];
    uint8_t core[3];
    assert_int_equal(dg_dbscan_locs_build(&d, lat, lon, w, 3, &err), DG_ERR);
    assert_string_equal(err.msg, "the weight of point 1 is -2: weights must be finite and >= 0");
    assert_int_equal(dg_dbscan_locs_build(&d, lat, lon, NULL, 3, &err), DG_OK);
    assert_int_equal(dg_dbscan_run(&d, -1, 5, lab, core, NULL, NULL, &err), DG_ERR);
    assert_string_equal(err.msg, "eps must be a distance in km above 0 and at most 10000, not -1");
    assert_int_equal(dg_dbscan_run(&d, 1, 0, lab, core, NULL, NULL, &err), DG_ERR);
    assert_string_equal(err.msg, "min_pts must be above 0, not 0");
    const double eps[] = {1, 0}, mp[] = {2};
    dg_dbscan_sweep_row rows[2];
    assert_int_equal(dg_dbscan_sweep(&d, eps, 2, mp, 1, rows, NULL, &err), DG_ERR);
    assert_string_equal(err.msg, "eps must be a distance in km above 0 and at most 10000, not 0");
    assert_int_equal(dg_dbscan_sweep(&d, eps, 1, mp, 0, rows, NULL, &err), DG_ERR);
    assert_string_equal(err.msg, "a sweep needs at least one eps and one min_pts (got 1 and 0)");
    dg_kdist kd;
    assert_int_equal(dg_kdist_compute(&d, 0, &kd, NULL, &err), DG_ERR);
    assert_string_equal(err.msg, "k must be above 0, not 0");
    /* Cancelled work fails with "cancelled" and leaves every location noise. */
    int calls = 0;
    dg_progress cancel = {cancel_at_once, &calls};
    assert_int_equal(dg_dbscan_run(&d, 2, 1, lab, core, NULL, &cancel, &err), DG_ERR);
    assert_string_equal(err.msg, "cancelled");
    for (uint32_t l = 0; l < d.n; l++)
        assert_true(lab[l] == -1 && core[l] == 0);
    rows[0].clusters = 99;
    assert_int_equal(dg_dbscan_sweep(&d, eps, 1, mp, 1, rows, &cancel, &err), DG_ERR);
    assert_string_equal(err.msg, "cancelled");
    assert_int_equal(rows[0].clusters, 0);
    assert_int_equal(dg_kdist_compute(&d, 2, &kd, &cancel, &err), DG_ERR);
    assert_string_equal(err.msg, "cancelled");
    assert_true(kd.km == NULL && kd.sorted == NULL);
    assert_true(calls >= 3);
    dg_dbscan_locs_free(&d);
}

static float at(const dg_features *f, uint32_t d, const char *col)
{
    int c = dg_features_col(f, col);
    if (c < 0)
        fail_msg("no column %s", col);
    return f->dense[(size_t)d * f->ncols + c];
}

/* Cluster features from labels given by hand, and from a real clustering of
 * the same little data set. */
static void cluster_features_by_hand(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "phone_brand_device_model.csv",
                      "device_id,phone_brand,device_model\n1,a,x\n2,b,y\n3,c,z\n4,d,w\n"));
    /* Device 1: 3 events near Beijing's centre, 1 at a Chengdu spot, 1 far
     * away; device 2: 1 event far away, 1 at (0,0) (cleaned away); device 3:
     * one at (0,0) only; device 4: none. */
    free(tu_write_str(dir, "events.csv",
                      "event_id,device_id,timestamp,longitude,latitude\n"
                      "1,1,2016-05-01 02:00:00,116.39,39.91\n"
                      "2,1,2016-05-01 03:00:00,116.39,39.91\n"
                      "3,1,2016-05-01 04:00:00,116.40,39.91\n"
                      "4,1,2016-05-01 05:00:00,104.00,30.00\n"
                      "5,1,2016-05-01 06:00:00,90.00,45.00\n"
                      "6,2,2016-05-01 07:00:00,80.00,35.00\n"
                      "7,2,2016-05-01 08:00:00,0,0\n"
                      "8,3,2016-05-01 09:00:00,0,0\n"
                      "9,3,2016-05-01 09:30:00,104.00,30.00\n"
                      "10,3,2016-05-01 09:40:00,104.00,30.00\n"));
    dg_dataset ds;
    dg_err err;
    dg_rule_effect fx[1];
    tu_load_cleaned(&ds, dir, "zero-coords\n", fx);

    /* Labels by hand: device 3 has a tie between clusters 5 and 2. */
    const int32_t hand[] = {0, 0, 1, 2, -1, -1, DG_CLUSTER_NONE, DG_CLUSTER_NONE, 5, 2};
    dg_features f;
    assert_int_equal(dg_features_build(&ds, NULL, &f, NULL, &err), DG_OK);
    int before = f.ncols;
    float events0 = at(&f, 0, "events");
    assert_int_equal(dg_features_add_clusters(&f, &ds, hand, &err), DG_OK);
    assert_int_equal(f.ncols, before + 6);
    assert_true(at(&f, 0, "events") == events0); /* old columns kept in place */
    assert_true(at(&f, 0, "cluster_home") == 0);
    assert_true(at(&f, 0, "cluster_count") == 3);
    assert_true(fabsf(at(&f, 0, "cluster_top_share") - 0.4f) < 1e-6);
    assert_true(fabsf(at(&f, 0, "cluster_noise_share") - 0.2f) < 1e-6);
    /* The counts behind the shares: 2 of its 5 located events at home. */
    assert_true(at(&f, 0, "cluster_home_events") == 2);
    assert_true(at(&f, 0, "cluster_away_events") == 3);
    assert_true(at(&f, 1, "cluster_home") == -1); /* all noise */
    assert_true(at(&f, 1, "cluster_count") == 0);
    assert_true(at(&f, 1, "cluster_top_share") == 0);
    assert_true(at(&f, 1, "cluster_noise_share") == 1);
    assert_true(at(&f, 1, "cluster_home_events") == 0);
    assert_true(at(&f, 1, "cluster_away_events") > 0);
    assert_true(at(&f, 2, "cluster_home") == 2); /* a tie goes to the lower number */
    assert_true(at(&f, 2, "cluster_count") == 2);
    assert_true(at(&f, 2, "cluster_top_share") == 0.5f);
    assert_true(isnan(at(&f, 3, "cluster_home"))); /* no events */
    assert_true(isnan(at(&f, 3, "cluster_noise_share")));
    assert_true(isnan(at(&f, 3, "cluster_home_events")));
    assert_true(isnan(at(&f, 3, "cluster_away_events")));
    assert_int_equal(dg_features_add_clusters(&f, &ds, hand, &err), DG_ERR);
    assert_string_equal(err.msg, "the features already have the cluster columns (cluster_home, ...)");
    dg_features_free(&f);

    /* The real thing, eps 2 km, min_pts 2: the two Beijing spots (0.85 km
     * apart, 3 events) are cluster 0, the Chengdu spot (3 events from two
     * devices) cluster 1, the far points noise; (0,0) takes no part. */
    int32_t ec[10];
    dg_dbscan_report r;
    assert_int_equal(dg_cluster_events(&ds, 2, 2, ec, &r, NULL, &err), DG_OK);
    const int32_t want[] = {0, 0, 0, 1, -1, -1, DG_CLUSTER_NONE, DG_CLUSTER_NONE, 1, 1};
    for (int i = 0; i < 10; i++)
        assert_int_equal(ec[i], want[i]);
    assert_int_equal(r.clusters, 2);
    assert_int_equal(r.points, 8);
    assert_int_equal(r.distinct, 5);
    assert_true(r.noise_weight == 2 && r.total_weight == 8);
    dg_cluster_input in;
    assert_int_equal(dg_cluster_input_build(&in, &ds, &err), DG_OK);
    int32_t lab[5];
    uint8_t core[5];
    assert_int_equal(dg_dbscan_run(&in.locs, 2, 2, lab, core, NULL, NULL, &err), DG_OK);
    dg_cluster_summary *s = dg_cluster_summarize(&ds, &in, lab, 2);
    assert_int_equal(s[0].events, 3);
    assert_int_equal(s[0].devices, 1);
    assert_int_equal(s[0].locations, 2);
    assert_true(fabs(s[0].lon - (116.39 * 2 + 116.40) / 3) < 1e-4);
    assert_true(fabs(s[0].radius_km - dg_haversine_km(39.91, s[0].lon, 39.91, 116.40)) < 1e-3);
    assert_int_equal(s[1].events, 3);
    assert_int_equal(s[1].devices, 2);
    assert_true(s[1].radius_km < 1e-3);
    free(s);
    dg_cluster_input_free(&in);
    assert_int_equal(dg_features_build(&ds, NULL, &f, NULL, &err), DG_OK);
    assert_int_equal(dg_features_add_clusters(&f, &ds, ec, &err), DG_OK);
    assert_true(at(&f, 0, "cluster_home") == 0);
    assert_true(at(&f, 0, "cluster_count") == 2);
    assert_true(fabsf(at(&f, 0, "cluster_top_share") - 0.6f) < 1e-6);
    assert_true(at(&f, 2, "cluster_home") == 1);
    assert_true(at(&f, 2, "cluster_top_share") == 1);
    dg_features_free(&f);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

/* The command on a small generated set: the report, the files, a sweep, and
 * the errors for bad values. */
static void cli_on_generated_data(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s synth --quiet --out %s/data --devices 1500 --seed 5", tu_bin(),
             dir);
    assert_int_equal(tu_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd,
             "%s cluster %s/data --no-snapshot --quiet --eps 2 --min-pts 5 --out %s/out", tu_bin(),
             dir, dir);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("%s: exit %d: %s", cmd, rc, out);
    unsigned long long events, located;
    unsigned distinct;
    int clusters;
    assert_int_equal(sscanf(out, "events %llu, with an observed location %llu, distinct locations %u",
                            &events, &located, &distinct),
                     3);
    assert_true(located > 1000 && located < events && distinct < located);
    const char *run_line = strstr(out, "eps 2 km, min_pts 5: ");
    assert_non_null(run_line);
    assert_int_equal(sscanf(run_line, "eps 2 km, min_pts 5: %d clusters", &clusters), 1);
    assert_true(clusters > 1);
    assert_non_null(strstr(out, "k-distance (k = 5, the point itself counted): knee at "));
    free(out);
    /* clusters.csv has one row per cluster; locations.csv one per distinct
     * location; the chart is a PNG. */
    snprintf(cmd, sizeof cmd, "wc -l < %s/out/clusters.csv; wc -l < %s/out/locations.csv; "
             "head -1 %s/out/locations.csv; head -c 4 %s/out/kdist.png | od -An -c",
             dir, dir, dir, dir);
    assert_int_equal(tu_run(cmd, &out), 0);
    int nc, nl;
    char header[128];
    assert_int_equal(sscanf(out, "%d %d %127s", &nc, &nl, header), 3);
    assert_int_equal(nc, clusters + 1);
    assert_int_equal((unsigned)nl, distinct + 1);
    assert_string_equal(header, "lat,lon,weight,cluster,core");
    assert_non_null(strstr(out, "P   N   G"));
    free(out);
    /* The sweep's row for (2, 5) is the single run's. */
    snprintf(cmd, sizeof cmd,
             "%s cluster %s/data --no-snapshot --quiet --sweep 1,2:5,20 --out %s/sweep", tu_bin(),
             dir, dir);
    assert_int_equal(tu_run(cmd, &out), 0);
    char row[64];
    snprintf(row, sizeof row, "%10g %8g %9d ", 2.0, 5.0, clusters);
    assert_non_null(strstr(out, row));
    free(out);
    snprintf(cmd, sizeof cmd, "wc -l < %s/sweep/sweep.csv", dir);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_int_equal(atoi(out), 5);
    free(out);
    struct {
        const char *args, *message;
    } bad[] = {
        {"--eps 0", "--eps expects a distance in km above 0 and at most 10000, got '0'"},
        {"--eps -3", "--eps expects a distance in km above 0 and at most 10000, got '-3'"},
        {"--eps 2km", "--eps expects a distance in km above 0 and at most 10000, got '2km'"},
        {"--min-pts 0", "--min-pts expects a whole number from 1 to 1000000000, got '0'"},
        {"--sweep 1,2", "--sweep expects EPS,EPS,...:MINPTS,MINPTS,... (km, then whole numbers; "
                        "e.g. 0.5,1,2:5,10), got '1,2'"},
        {"--sweep 1,,2:5", "--sweep (an eps) expects a distance in km above 0 and at most 10000, "
                           "got ''"},
        {"--sweep 1:5,x", "--sweep (a min-pts) expects a whole number from 1 to 1000000000, got 'x'"},
        {"--sweep 1:5:6", "--sweep expects EPS,EPS,...:MINPTS,MINPTS,..."},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(cmd, sizeof cmd, "%s cluster %s/data --no-snapshot --quiet %s", tu_bin(), dir,
                 bad[i].args);
        rc = tu_run(cmd, &out);
        if (rc != 2 || !strstr(out, bad[i].message))
            fail_msg("%s: exit %d, output: %s", bad[i].args, rc, out);
        free(out);
    }
    /* features: the cluster columns by default, none with --no-clusters. */
    snprintf(cmd, sizeof cmd,
             "%s features %s/data --no-snapshot --quiet --cluster-eps 2 --cluster-min-pts 5 "
             "--out %s/f && head -1 %s/f/features.csv | tr , '\\n' | grep -c '^cluster_'",
             tu_bin(), dir, dir, dir);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_int_equal(atoi(out), 6);
    free(out);
    snprintf(cmd, sizeof cmd,
             "%s features %s/data --no-snapshot --quiet --no-clusters --out %s/g && "
             "head -1 %s/g/features.csv | tr , '\\n' | grep -c '^cluster_'",
             tu_bin(), dir, dir, dir);
    tu_run(cmd, &out);
    assert_int_equal(atoi(out), 0);
    free(out);
    snprintf(cmd, sizeof cmd, "%s features %s/data --quiet --cluster-eps 0 --out %s/h", tu_bin(),
             dir, dir);
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "--cluster-eps expects a distance in km above 0 and at most 10000, got '0'"));
    free(out);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kdist_matches_brute_force), cmocka_unit_test(knee_of_a_hockey_stick),
        cmocka_unit_test(sweep_equals_single_runs), cmocka_unit_test(bad_input_and_cancel),
        cmocka_unit_test(cluster_features_by_hand), cmocka_unit_test(cli_on_generated_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
