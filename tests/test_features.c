#include "testutil.h"

#include "demographer/clean.h"
#include "demographer/features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double haversine(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0088, rad = M_PI / 180.0;
    double a = pow(sin((lat2 - lat1) * rad / 2), 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * pow(sin((lon2 - lon1) * rad / 2), 2);
    return 2 * r * asin(sqrt(a));
}

static float at(const dg_features *f, uint32_t d, const char *col)
{
    int c = dg_features_col(f, col);
    if (c < 0)
        fail_msg("no column %s", col);
    return f->dense[(size_t)d * f->ncols + c];
}

#define NEAR(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-4)

static void supercategory_rules(void **state)
{
    (void)state;
    dg_supercats s;
    memset(&s, 0, sizeof s);
    dg_err err;
    assert_int_equal(dg_supercats_parse(&s, "# x\ntravel: air, hotel\ngames: game\n", "t", &err),
                     DG_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.names[2], "other");
    assert_int_equal(dg_supercat_of(&s, "Air tickets"), 0);
    assert_int_equal(dg_supercat_of(&s, "Integrated Air Travel Booking"), 0);
    assert_int_equal(dg_supercat_of(&s, "Hairdressing"), 2); /* not at a word's start */
    assert_int_equal(dg_supercat_of(&s, "game-Racing"), 1);
    assert_int_equal(dg_supercat_of(&s, ""), 2);
    assert_int_equal(dg_supercats_parse(&s, "travel air\n", "s.txt", &err), DG_ERR);
    assert_string_equal(err.msg, "s.txt:1: expected 'name: keyword, keyword, ...', found 'travel air'");
    assert_int_equal(dg_supercats_parse(&s, "games:\n", "s.txt", &err), DG_ERR);
    assert_string_equal(err.msg, "s.txt:1: super-category 'games' has no keywords");
    assert_int_equal(s.n, 3); /* unchanged by failed parses */
    dg_supercats_free(&s);
    /* The shipped file parses and sorts the real categories. */
    char path[1024];
    snprintf(path, sizeof path, "%s/supercategories.txt", getenv("DG_ASSETS"));
    assert_int_equal(dg_supercats_load(&s, path, &err), DG_OK);
    assert_true(s.n > 10);
    assert_string_equal(s.names[dg_supercat_of(&s, "Internet banking")], "finance");
    assert_string_equal(s.names[dg_supercat_of(&s, "game-Racing")], "games");
    assert_string_equal(s.names[dg_supercat_of(&s, "Industry tag")], "industry");
    dg_supercats_free(&s);
}

/* The tables of dir loaded and cleaned of zero coordinates, and their
 * features under the super-category rules `rules`. */
static void build_cleaned(const char *dir, const char *rules, dg_dataset *ds, dg_supercats *sc,
                          dg_features *f)
{
    dg_err err;
    dg_rule_effect fx[1];
    tu_load_cleaned(ds, dir, "zero-coords\n", fx);
    memset(sc, 0, sizeof *sc);
    assert_int_equal(dg_supercats_parse(sc, rules, "t", &err), DG_OK);
    assert_int_equal(dg_features_build(ds, sc, f, NULL, &err), DG_OK);
}

static void features_by_hand(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "phone_brand_device_model.csv",
                      "device_id,phone_brand,device_model\n1,小米,MI 3\n2,三星,\"Galaxy, S4\"\n"));
    free(tu_write_str(dir, "gender_age_train.csv", "device_id,gender,age,group\n1,M,30,M29-31\n"
                                                   "3,F,40,F33-42\n"));
    free(tu_write_str(dir, "events.csv",
                      "event_id,device_id,timestamp,longitude,latitude\n"
                      "1,1,2016-05-01 02:00:00,116.0,40.0\n"
                      "2,1,2016-05-01 14:00:00,116.2,40.2\n"
                      "3,1,2016-05-02 14:30:00,116.4,40.4\n"
                      "4,1,2016-05-02 20:00:00,0,0\n"));
    free(tu_write_str(dir, "app_events.csv", "event_id,app_id,is_installed,is_active\n"
                                             "1,100,1,1\n1,200,1,0\n2,100,1,0\n3,300,1,1\n"));
    free(tu_write_str(dir, "app_labels.csv", "app_id,label_id\n100,1\n100,2\n200,2\n"));
    free(tu_write_str(dir, "label_categories.csv", "label_id,category\n1,game-Racing\n"
                                                   "2,Bank Credit Card\n3,unused\n"));
    dg_dataset ds;
    dg_err err;
    dg_rule_effect fx[1];
    dg_supercats sc;
    dg_features f;
    build_cleaned(dir, "games: game\nfinance: bank\n", &ds, &sc, &f);

    /* Devices: the phones' (1, 2), then labelled ones without a phone (3). */
    assert_int_equal(f.ndevices, 3);
    assert_true(f.device_id[2] == 3);
    assert_string_equal(f.brand[0], "小米");
    assert_string_equal(f.brand[2], "");
    NEAR(at(&f, 0, "events"), 4);
    NEAR(at(&f, 0, "active_days"), 2);
    NEAR(at(&f, 0, "events_per_day"), 2);
    NEAR(at(&f, 0, "hour_02"), 0.25);
    NEAR(at(&f, 0, "hour_14"), 0.5);
    NEAR(at(&f, 0, "hour_20"), 0.25);
    NEAR(at(&f, 0, "weekday_Sun"), 0.5);
    NEAR(at(&f, 0, "weekday_Mon"), 0.5);
    NEAR(at(&f, 0, "located_share"), 0.75);
    NEAR(at(&f, 0, "lat_median"), 40.2);
    NEAR(at(&f, 0, "lon_median"), 116.2);
    NEAR(at(&f, 0, "lat_night"), 40.0);
    NEAR(at(&f, 0, "lat_afternoon"), 40.3);
    NEAR(at(&f, 0, "lon_afternoon"), 116.3);
    assert_true(isnan(at(&f, 0, "lat_morning")));
    assert_true(isnan(at(&f, 0, "lon_evening"))); /* its one event has no location */
    double km = haversine(40.0, 116.0, 40.3, 116.3);
    assert_true(fabs(at(&f, 0, "km_night_afternoon") - km) < 1e-3);
    assert_true(fabs(at(&f, 0, "km_max_between_parts") - km) < 1e-3);
    double spread = (haversine(40.0, 116.0, 40.2, 116.2) + 0 + haversine(40.4, 116.4, 40.2, 116.2)) / 3;
    assert_true(fabs(at(&f, 0, "km_spread") - spread) < 1e-2);
    NEAR(at(&f, 0, "locations"), 3);
    NEAR(at(&f, 0, "apps"), 3);
    NEAR(at(&f, 0, "apps_active"), 2);
    NEAR(at(&f, 0, "app_events"), 4);
    NEAR(at(&f, 0, "super_games"), 1);
    NEAR(at(&f, 0, "super_finance"), 2);
    NEAR(at(&f, 0, "super_other"), 0);
    NEAR(at(&f, 1, "events"), 0);
    assert_true(isnan(at(&f, 1, "lat_median")));

    /* Bags: apps 100 x2, 200, 300 installed; 100 and 300 active; labels 1
     * (one app), 2 (two apps). */
    assert_int_equal(f.apps_installed.ptr[1] - f.apps_installed.ptr[0], 3);
    assert_true(f.app_vocab[f.apps_installed.idx[0]] == 100);
    NEAR(f.apps_installed.val[0], 2);
    assert_int_equal(f.apps_active.ptr[1], 2);
    assert_int_equal(f.labels.ptr[1], 2);
    assert_int_equal(f.label_vocab[f.labels.idx[1]], 2);
    NEAR(f.labels.val[1], 2);
    assert_int_equal(f.apps_installed.ptr[3], 3); /* devices 2 and 3 have none */

    char out[512];
    snprintf(out, sizeof out, "%s/out", dir);
    assert_int_equal(dg_features_write(&f, out, &err), DG_OK);
    snprintf(out, sizeof out, "%s/out/features.csv", dir);
    FILE *fp = fopen(out, "r");
    char line[4096];
    assert_non_null(fgets(line, sizeof line, fp));
    assert_non_null(fgets(line, sizeof line, fp));
    assert_non_null(fgets(line, sizeof line, fp));
    assert_true(strncmp(line, "2,三星,\"Galaxy, S4\",0,", strlen("2,三星,\"Galaxy, S4\",0,")) == 0);
    fclose(fp);
    snprintf(out, sizeof out, "%s/out/labels.csv", dir);
    fp = fopen(out, "r");
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "device_id,label_id,count\n");
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "1,1,1\n");
    fclose(fp);
    /* The same app rows in another order (event 1's apps not adjacent) take
     * the other grouping path and give the same bags. */
    free(tu_write_str(dir, "app_events.csv", "event_id,app_id,is_installed,is_active\n"
                                             "1,100,1,1\n2,100,1,0\n1,200,1,0\n3,300,1,1\n"));
    dg_dataset ds2;
    tu_load_cleaned(&ds2, dir, "zero-coords\n", fx);
    dg_features g;
    assert_int_equal(dg_features_build(&ds2, &sc, &g, NULL, &err), DG_OK);
    assert_int_equal(g.apps_installed.nnz, f.apps_installed.nnz);
    assert_int_equal(g.labels.nnz, f.labels.nnz);
    for (uint64_t k = 0; k < f.apps_installed.nnz; k++) {
        assert_true(g.app_vocab[g.apps_installed.idx[k]] == f.app_vocab[f.apps_installed.idx[k]]);
        assert_true(g.apps_installed.val[k] == f.apps_installed.val[k]);
    }
    for (uint32_t d = 0; d <= f.ndevices; d++)
        assert_int_equal(g.apps_active.ptr[d], f.apps_active.ptr[d]);
    NEAR(at(&g, 0, "app_events"), 4);
    NEAR(at(&g, 0, "super_finance"), 2);
    dg_features_free(&g);
    dg_dataset_free(&ds2);

    dg_features_free(&f);
    dg_supercats_free(&sc);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

/* Active days are distinct calendar days however far apart: a device seen
 * on three days months apart has three, not only those within 64 days of its
 * first. */
static void active_days_far_apart(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "phone_brand_device_model.csv",
                      "device_id,phone_brand,device_model\n1,小米,MI 3\n"));
    free(tu_write_str(dir, "gender_age_train.csv", "device_id,gender,age,group\n1,M,30,M29-31\n"));
    free(tu_write_str(dir, "events.csv",
                      "event_id,device_id,timestamp,longitude,latitude\n"
                      "1,1,2016-01-01 02:00:00,116.0,40.0\n"
                      "2,1,2016-01-01 23:59:59,116.0,40.0\n"
                      "3,1,2016-03-15 12:00:00,116.0,40.0\n"
                      "4,1,2016-05-01 00:00:00,116.0,40.0\n"));
    free(tu_write_str(dir, "app_events.csv", "event_id,app_id,is_installed,is_active\n1,100,1,1\n"));
    free(tu_write_str(dir, "app_labels.csv", "app_id,label_id\n100,1\n"));
    free(tu_write_str(dir, "label_categories.csv", "label_id,category\n1,game-Racing\n"));
    dg_dataset ds;
    dg_supercats sc;
    dg_features f;
    build_cleaned(dir, "games: game\n", &ds, &sc, &f);
    NEAR(at(&f, 0, "events"), 4);
    NEAR(at(&f, 0, "active_days"), 3);
    NEAR(at(&f, 0, "events_per_day"), 4.0 / 3);
    dg_features_free(&f);
    dg_supercats_free(&sc);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(supercategory_rules),
        cmocka_unit_test(features_by_hand),
        cmocka_unit_test(active_days_far_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
