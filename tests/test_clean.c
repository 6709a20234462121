#include "testutil.h"

#include "demographer/clean.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A hand-made data set where every rule has something to do; the expected
 * figures are worked out by hand in the comments. */
static const char *EVENTS =
    "event_id,device_id,timestamp,longitude,latitude\n"
    "1,10,2016-05-01 10:00:00,116.40,39.90\n" /* valid */
    "2,10,2016-05-01 11:00:00,0.00,0.00\n"    /* zero -> missing -> imputed */
    "3,10,2016-05-02 10:00:00,116.20,39.70\n" /* valid */
    "4,10,2016-05-02 12:00:00,1.00,1.00\n"    /* unit box -> missing -> imputed */
    "5,20,2016-05-03 10:00:00,0.00,0.00\n"    /* zero -> missing; device 20 has no valid one */
    "6,30,2016-05-03 10:00:00,121.47,31.23\n" /* device 30 has no phone: dropped */
    "7,10,2016-04-29 10:00:00,116.30,39.80\n" /* before the window: dropped */
    "8,10,2016-05-04 10:00:00,116.00,0.50\n"  /* one coordinate in [-1,1] only: kept */
    "9,20,2016-05-05 10:00:00,0.50,-0.50\n";  /* unit box -> missing, stays */
static const char *PHONES = "device_id,phone_brand,device_model\n"
                            "10,小米,MI 3\n20,三星,Galaxy S4\n10,小米,MI 3\n20,华为,荣耀6\n";
static const char *LABELS = "device_id,gender,age,group\n"
                            "10,M,30,M29-31\n20,F,25,F24-26\n40,M,50,M39+\n";
static const char *CATEGORIES = "label_id,category\n1,\n2,game\n";

static void load(dg_dataset *ds, char **dir)
{
    *dir = tu_tmpdir();
    free(tu_write_str(*dir, "events.csv", EVENTS));
    free(tu_write_str(*dir, "phone_brand_device_model.csv", PHONES));
    free(tu_write_str(*dir, "gender_age_train.csv", LABELS));
    free(tu_write_str(*dir, "label_categories.csv", CATEGORIES));
    dg_dataset_init(ds);
    dg_err err;
    assert_int_equal(dg_dataset_load(ds, *dir, NULL, &err), DG_OK);
}

/* The effect of the first rule of this kind. */
static dg_rule_effect *effect_of(const dg_rules *r, dg_rule_effect *fx, dg_rule_kind k)
{
    for (int i = 0; i < r->n; i++)
        if (r->v[i].kind == k)
            return &fx[i];
    fail_msg("no rule %s", dg_rule_keyword(k));
    return NULL;
}

static void default_rules_on_crafted_rows(void **state)
{
    (void)state;
    dg_dataset ds;
    char *dir;
    load(&ds, &dir);
    dg_rules rules;
    dg_rules_init(&rules);
    dg_rules_default(&rules);
    assert_int_equal(rules.n, 10);
    dg_rule_effect fxv[10];
    dg_err err;
    assert_int_equal(dg_clean(&ds, &rules, fxv, NULL, &err), DG_OK);

    /* dedupe-phones: two duplicates, one of them conflicting. */
    assert_int_equal(rules.v[0].kind, DG_RULE_DEDUPE_PHONES);
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_DEDUPE_PHONES)->rows_before, 4);
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_DEDUPE_PHONES)->rows_after, 2);
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_DEDUPE_PHONES)->rows_changed, 2);
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_DEDUPE_PHONES)->devices, 2);
    assert_non_null(strstr(effect_of(&rules, fxv, DG_RULE_DEDUPE_PHONES)->detail, "1 of them disagreed"));
    const dg_table *ph = &ds.tables[DG_T_PHONES];
    assert_string_equal(dg_strpool_get(&ph->strings, dg_col_u32(&ph->cols[1])[1]), "三星");
    /* labels-without-phone: device 40. */
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_LABELS_WITHOUT_PHONE)->rows_changed, 1);
    assert_int_equal(ds.tables[DG_T_LABELS].nrows, 2);
    /* unknown-device-events: event 6. time-window: event 7. */
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_UNKNOWN_DEVICE_EVENTS)->rows_changed, 1);
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_UNKNOWN_DEVICE_EVENTS)->devices, 1);
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_TIME_WINDOW)->rows_changed, 1);
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_TIME_WINDOW)->rows_after, 7);
    /* zero-coords: events 2 and 5 (devices 10, 20); unit-box: 4 and 9. */
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_ZERO_COORDS)->rows_changed, 2);
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_ZERO_COORDS)->devices, 2);
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_UNIT_BOX_COORDS)->rows_changed, 2);
    /* impute-median: device 10's valid latitudes 39.90, 39.70, 0.50 have the
     * median 39.70; longitudes 116.40, 116.20, 116.00 -> 116.20. Device 20
     * has none: its 2 events stay missing. */
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_IMPUTE_MEDIAN)->rows_changed, 2);
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_IMPUTE_MEDIAN)->devices, 1);
    assert_non_null(strstr(effect_of(&rules, fxv, DG_RULE_IMPUTE_MEDIAN)->detail, "2 events of 1 devices with no valid location"));
    const dg_table *ev = &ds.tables[DG_T_EVENTS];
    const int32_t *eid = dg_col_i32(dg_table_column(ev, "event_id"));
    const float *lat = dg_col_f32(dg_table_column(ev, "latitude"));
    const float *lon = dg_col_f32(dg_table_column(ev, "longitude"));
    const int8_t *loc = dg_col_i8(dg_table_column(ev, "location"));
    static const int want_ids[] = {1, 2, 3, 4, 5, 8, 9};
    static const int want_loc[] = {0, 1, 0, 1, 2, 0, 2};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(eid[i], want_ids[i]);
        assert_int_equal(loc[i], want_loc[i]);
    }
    assert_true(lat[1] == 39.70f && lon[1] == 116.20f);
    assert_true(lat[3] == 39.70f && lon[3] == 116.20f);
    assert_true(isnan(lat[4]) && isnan(lon[6]));
    assert_true(lat[5] == 0.50f);
    /* empty-categories */
    assert_int_equal(effect_of(&rules, fxv, DG_RULE_EMPTY_CATEGORIES)->rows_changed, 1);
    const dg_table *lc = &ds.tables[DG_T_LABEL_CATEGORIES];
    assert_string_equal(dg_strpool_get(&lc->strings, dg_col_u32(&lc->cols[1])[0]), "unknown");

    dg_rules_free(&rules);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

static void the_median_of_an_even_count_is_the_mean_of_the_middle_two(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "events.csv", "event_id,device_id,timestamp,longitude,latitude\n"
                                         "1,7,2016-05-01 10:00:00,110.00,30.00\n"
                                         "2,7,2016-05-01 10:00:00,112.00,31.00\n"
                                         "3,7,2016-05-01 10:00:00,0,0\n"));
    dg_dataset ds;
    dg_rule_effect fx[2];
    tu_load_cleaned(&ds, dir, "zero-coords\nimpute-median\n", fx);
    const dg_table *ev = &ds.tables[DG_T_EVENTS];
    assert_true(dg_col_f32(dg_table_column(ev, "longitude"))[2] == 111.0f);
    assert_true(dg_col_f32(dg_table_column(ev, "latitude"))[2] == 30.5f);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

static void off_rules_change_nothing(void **state)
{
    (void)state;
    dg_dataset ds;
    char *dir;
    load(&ds, &dir);
    dg_rules rules;
    dg_rules_init(&rules);
    dg_err err;
    assert_int_equal(dg_rules_parse(&rules, "off dedupe-phones\noff zero-coords\n", "t", &err),
                     DG_OK);
    dg_rule_effect fx[2];
    assert_int_equal(dg_clean(&ds, &rules, fx, NULL, &err), DG_OK);
    assert_string_equal(fx[0].detail, "off");
    assert_int_equal(ds.tables[DG_T_PHONES].nrows, 4);
    assert_null(dg_table_column(&ds.tables[DG_T_EVENTS], "location"));
    dg_rules_free(&rules);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

static void rule_files_round_trip_and_errors_name_the_line(void **state)
{
    (void)state;
    dg_rules a, b;
    dg_rules_init(&a);
    dg_rules_init(&b);
    dg_err err;
    const char *text = "# mine\n"
                       "dedupe-phones\n"
                       "off zero-coords   # not this time\n"
                       "time-window from=2016-05-01T00:00:00 to=2016-05-08T00:00:00\r\n"
                       "empty-categories name=none\n";
    assert_int_equal(dg_rules_parse(&a, text, "mine.rules", &err), DG_OK);
    assert_int_equal(a.n, 4);
    assert_false(a.v[1].enabled);
    assert_true(a.v[2].from == 1462060800LL);
    assert_string_equal(a.v[3].name, "none");
    char *formatted = dg_rules_format(&a);
    assert_string_equal(formatted, "# demographer cleaning rules, applied in order\n"
                                   "dedupe-phones\n"
                                   "off zero-coords\n"
                                   "time-window from=2016-05-01T00:00:00 to=2016-05-08T00:00:00\n"
                                   "empty-categories name=none\n");
    char *dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/r.rules", dir);
    assert_int_equal(dg_rules_save(&a, path, &err), DG_OK);
    assert_int_equal(dg_rules_load(&b, path, &err), DG_OK);
    char *again = dg_rules_format(&b);
    assert_string_equal(formatted, again);
    free(again);
    free(formatted);

    assert_int_equal(dg_rules_parse(&b, "dedupe-phones\nfix-everything\n", "x.rules", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "x.rules:2: expected a rule (zero-coords, "));
    assert_non_null(strstr(err.msg, "found 'fix-everything'"));
    assert_int_equal(b.n, 4); /* a failed parse keeps the rules as they were */
    assert_int_equal(dg_rules_parse(&b, "time-window from=yesterday\n", "x.rules", &err), DG_ERR);
    assert_string_equal(err.msg, "x.rules:1: from: expected a time YYYY-MM-DDTHH:MM:SS, found "
                                 "'yesterday'");
    assert_int_equal(dg_rules_parse(&b, "zero-coords now\n", "x.rules", &err), DG_ERR);
    assert_string_equal(err.msg, "x.rules:1: rule zero-coords takes no arguments, found 'now'");
    assert_int_equal(dg_rules_parse(&b, "time-window from=2016-05-02T00:00:00 "
                                        "to=2016-05-01T00:00:00\n", "x.rules", &err), DG_ERR);
    assert_string_equal(err.msg, "x.rules:1: time-window: from must come before to");
    assert_int_equal(dg_rules_load(&b, "/nonexistent.rules", &err), DG_ERR);
    assert_string_equal(err.msg, "/nonexistent.rules: cannot open: No such file or directory");
    dg_rules_free(&a);
    dg_rules_free(&b);
    tu_rmrf(dir);
    free(dir);
}

/* Ages of -5 and 300 and coordinates off the Earth were kept (EDA showed ages
 * from -5 to 300). bad-ages drops those labelled rows and bad-coords marks
 * those events as having no location, both counted. */
static void bad_ages_and_coordinates_are_cleaned_and_counted(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "events.csv", "event_id,device_id,timestamp,longitude,latitude\n"
                                         "1,10,2016-05-01 10:00:00,116.40,39.90\n"
                                         "2,10,2016-05-01 11:00:00,116.40,95.00\n"
                                         "3,20,2016-05-01 12:00:00,-200.50,39.90\n"
                                         "4,20,2016-05-01 13:00:00,181.00,-91.00\n"
                                         "5,20,2016-05-01 14:00:00,-180.00,-90.00\n"
                                         "6,20,2016-05-01 15:00:00,,\n"));
    free(tu_write_str(dir, "gender_age_train.csv", "device_id,gender,age,group\n"
                                                   "10,M,30,M29-31\n20,F,-5,F23-\n"
                                                   "30,M,300,M39+\n40,M,1,M22-\n50,F,120,F43+\n"));
    free(tu_write_str(dir, "train_test_split.csv", "device_id,gender,age,group,train_test_flag\n"
                                                   "10,M,30,M25-32,train\n30,M,300,M32+,test\n"));
    dg_dataset ds;
    dg_rule_effect fx[2];
    tu_load_cleaned(&ds, dir, "bad-ages\nbad-coords\n", fx);
    /* bad-ages: devices 20 (-5) and 30 (300) from the labels, 30 from the map. */
    assert_string_equal(fx[0].table, "labels");
    assert_int_equal(fx[0].rows_before, 5);
    assert_int_equal(fx[0].rows_after, 3);
    assert_int_equal(fx[0].rows_changed, 3);
    assert_string_equal(fx[0].detail, "devices with an age outside [1, 120] dropped: 2 labelled, "
                                      "1 in the mapping file (ages from -5 to 300 among them)");
    const dg_table *lb = &ds.tables[DG_T_LABELS];
    const int32_t *age = dg_col_i32(dg_table_column(lb, "age"));
    assert_int_equal(age[0], 30);
    assert_int_equal(age[1], 1);
    assert_int_equal(age[2], 120);
    assert_int_equal(ds.tables[DG_T_SPLIT].nrows, 1);
    /* bad-coords: events 2 (lat 95), 3 (lon -200.5), 4 (both); 5 is on the edge. */
    assert_int_equal(fx[1].rows_changed, 3);
    assert_int_equal(fx[1].devices, 2);
    assert_string_equal(fx[1].detail, "3 events (50.00%) of 2 devices marked as having no "
                                      "location: 2 with a latitude outside [-90, 90], 2 with a "
                                      "longitude outside [-180, 180]");
    const dg_table *ev = &ds.tables[DG_T_EVENTS];
    const int8_t *loc = dg_col_i8(dg_table_column(ev, "location"));
    const float *lat = dg_col_f32(dg_table_column(ev, "latitude"));
    static const int want[] = {0, 2, 2, 2, 0, 2};
    for (int i = 0; i < 6; i++)
        assert_int_equal(loc[i], want[i]);
    assert_true(isnan(lat[1]) && lat[4] == -90.0f);
    /* Both are among the defaults. */
    dg_rules def;
    dg_rules_init(&def);
    dg_rules_default(&def);
    int seen = 0;
    for (int i = 0; i < def.n; i++)
        seen |= (def.v[i].kind == DG_RULE_BAD_AGES) | (def.v[i].kind == DG_RULE_BAD_COORDS) << 1;
    assert_int_equal(seen, 3);
    dg_rules_free(&def);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_rules_on_crafted_rows),
        cmocka_unit_test(the_median_of_an_even_count_is_the_mean_of_the_middle_two),
        cmocka_unit_test(off_rules_change_nothing),
        cmocka_unit_test(rule_files_round_trip_and_errors_name_the_line),
        cmocka_unit_test(bad_ages_and_coordinates_are_cleaned_and_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
