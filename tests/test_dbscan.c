#include "testutil.h"

#include "demographer/dbscan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One agreement fixture: points and scikit-learn's labels and core flags
 * (tests/dbscan/make_expected.py). */
typedef struct fixture {
    double eps_km;
    int min_samples;
    size_t n;
    float *lat, *lon;
    int32_t *label;
    uint8_t *core;
} fixture;

static void load_fixture(const char *name, fixture *f)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/dbscan-%s.csv", getenv("DG_FIXTURES"), name);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    memset(f, 0, sizeof *f);
    assert_int_equal(fscanf(fp, "# eps_km=%lf min_samples=%d\n", &f->eps_km, &f->min_samples), 2);
    char line[256];
    assert_non_null(fgets(line, sizeof line, fp)); /* header */
    size_t cap = 0;
    double la, lo;
    int lab, core;
    while (fscanf(fp, "%lf,%lf,%d,%d\n", &la, &lo, &lab, &core) == 4) {
        if (f->n == cap) {
            cap = cap ? cap * 2 : 1024;
            f->lat = realloc(f->lat, cap * sizeof *f->lat);
            f->lon = realloc(f->lon, cap * sizeof *f->lon);
            f->label = realloc(f->label, cap * sizeof *f->label);
            f->core = realloc(f->core, cap);
        }
        f->lat[f->n] = (float)la;
        f->lon[f->n] = (float)lo;
        f->label[f->n] = lab;
        f->core[f->n++] = (uint8_t)core;
    }
    fclose(fp);
    assert_true(f->n > 1000);
}

static void free_fixture(fixture *f)
{
    free(f->lat);
    free(f->lon);
    free(f->label);
    free(f->core);
}

static void agrees_with(const char *name)
{
    fixture f;
    load_fixture(name, &f);
    int32_t *labels = malloc(f.n * sizeof *labels);
    uint8_t *core = malloc(f.n);
    dg_dbscan_report rep;
    dg_err err;
    assert_int_equal(dg_dbscan(f.lat, f.lon, NULL, f.n, f.eps_km, f.min_samples, labels, core,
                               &rep, NULL, &err),
                     DG_OK);
    /* Same core points, same noise, and the same labels: clusters are grown
     * in the same order, so even border points agree. */
    for (size_t i = 0; i < f.n; i++) {
        if (core[i] != f.core[i])
            fail_msg("%s: point %zu: core %d, scikit-learn %d", name, i, core[i], f.core[i]);
        if (labels[i] != f.label[i])
            fail_msg("%s: point %zu: label %d, scikit-learn %d", name, i, labels[i], f.label[i]);
    }
    int32_t max = -1;
    for (size_t i = 0; i < f.n; i++)
        max = f.label[i] > max ? f.label[i] : max;
    assert_int_equal(rep.clusters, max + 1);
    assert_true(rep.distinct < rep.points); /* duplicates were collapsed */
    free(labels);
    free(core);
    free_fixture(&f);
}

static void cities(void **state) { (void)state; agrees_with("cities"); }
static void dense(void **state) { (void)state; agrees_with("dense"); }
static void sparse(void **state) { (void)state; agrees_with("sparse"); }
static void north(void **state) { (void)state; agrees_with("north"); }

/* Weights stand for repeated points: a location given weight k clusters as k
 * copies of it do. */
static void weights_are_repeats(void **state)
{
    (void)state;
    float lat[] = {30.00f, 30.00f, 30.00f, 30.01f, 31.00f, NAN};
    float lon[] = {104.00f, 104.00f, 104.00f, 104.00f, 104.00f, 104.00f};
    float wlat[] = {30.00f, 30.01f, 31.00f}, wlon[] = {104.00f, 104.00f, 104.00f};
    float w[] = {3, 1, 1};
    int32_t a[6], b[3];
    uint8_t ca[6], cb[3];
    dg_err err;
    dg_dbscan_report ra, rb;
    assert_int_equal(dg_dbscan(lat, lon, NULL, 6, 2.0, 4, a, ca, &ra, NULL, &err), DG_OK);
    assert_int_equal(dg_dbscan(wlat, wlon, w, 3, 2.0, 4, b, cb, &rb, NULL, &err), DG_OK);
    /* 30.00 and 30.01 are 1.1 km apart: together 4 points, both core. */
    assert_int_equal(a[0], 0);
    assert_int_equal(a[3], 0);
    assert_int_equal(a[4], -1);
    assert_int_equal(a[5], -1); /* NaN: noise */
    assert_int_equal(b[0], 0);
    assert_int_equal(b[1], 0);
    assert_int_equal(b[2], -1);
    assert_int_equal(ca[3], 1);
    assert_int_equal(cb[1], 1);
    assert_int_equal(ra.distinct, 3);
    assert_int_equal(ra.clusters, 1);
    assert_int_equal(dg_dbscan(lat, lon, NULL, 6, 0, 4, a, ca, &ra, NULL, &err), DG_ERR);
    assert_string_equal(err.msg, "eps must be a distance in km above 0 and at most 10000, not 0");
    /* The distance: Beijing to Shanghai, 1068.457 km (Python: the same formula). */
    assert_true(fabs(dg_haversine_km(39.91, 116.39, 31.23, 121.47) - 1068.4568) < 1e-3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cities), cmocka_unit_test(dense), cmocka_unit_test(sparse),
        cmocka_unit_test(north),  cmocka_unit_test(weights_are_repeats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
