#include "testutil.h"

#include "demographer/campaign.h"
#include "demographer/eda.h"
#include "demographer/geo.h"
#include "demographer/plot.h"

#include <cairo.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void age_group_edges(void **state)
{
    (void)state;
    assert_int_equal(dg_age_groups(DG_AGES_EDA), 4);
    assert_int_equal(dg_age_group_of(DG_AGES_EDA, 1), 0);
    assert_int_equal(dg_age_group_of(DG_AGES_EDA, 24), 0);
    assert_int_equal(dg_age_group_of(DG_AGES_EDA, 25), 1);
    assert_int_equal(dg_age_group_of(DG_AGES_EDA, 32), 1);
    assert_int_equal(dg_age_group_of(DG_AGES_EDA, 33), 2);
    assert_int_equal(dg_age_group_of(DG_AGES_EDA, 45), 2);
    assert_int_equal(dg_age_group_of(DG_AGES_EDA, 46), 3);
    assert_int_equal(dg_age_group_of(DG_AGES_EDA, 96), 3);
    assert_int_equal(dg_age_group_of(DG_AGES_EDA, NAN), -1);
    assert_string_equal(dg_age_group_name(DG_AGES_EDA, 3), "46+");
    /* The maps' three: 0-24, 25-32, 33+; a predicted age between whole
     * years belongs to the group above the lower edge. */
    assert_int_equal(dg_age_groups(DG_AGES_MAPS), 3);
    assert_int_equal(dg_age_group_of(DG_AGES_MAPS, -3), 0);
    assert_int_equal(dg_age_group_of(DG_AGES_MAPS, 24), 0);
    assert_int_equal(dg_age_group_of(DG_AGES_MAPS, 24.5), 1);
    assert_int_equal(dg_age_group_of(DG_AGES_MAPS, 32), 1);
    assert_int_equal(dg_age_group_of(DG_AGES_MAPS, 33), 2);
    assert_string_equal(dg_age_group_name(DG_AGES_MAPS, 1), "25-32");
    assert_string_equal(dg_age_group_name(DG_AGES_MAPS, 2), "33+");
    /* ...named the same by the maps and the campaigns (issue 27: the
     * campaigns said 24-32 and 32+, the maps 25-32 and 33+). */
    for (int g = 0; g < DG_AGE_NBUCKETS; g++) {
        char panel[32];
        snprintf(panel, sizeof panel, "Age %s", dg_age_group_name(DG_AGES_MAPS, g));
        assert_string_equal(dg_map_panel_name(DG_MAP_AGE, g), panel);
        assert_string_equal(dg_age_bucket_name(g), dg_age_group_name(DG_AGES_MAPS, g));
        assert_int_equal(dg_age_bucket_of(g == 0 ? 20 : g == 1 ? 30 : 40), g);
    }
    /* 2016-05-01 was a Sunday; 1969-12-31 a Wednesday. */
    assert_int_equal(dg_weekday(1462060800LL), 0);
    assert_int_equal(dg_weekday(1462060800LL + 6 * 86400 + 86399), 6);
    assert_int_equal(dg_weekday(-1), 3);
    assert_int_equal(dg_hour(1462060800LL + 3599), 0);
    assert_int_equal(dg_hour(-1), 23);
}

/* A hand-made set; every expected figure below is worked out by hand. */
static const dg_eda_table *find(const dg_eda *e, const char *slug)
{
    for (int i = 0; i < e->ntables; i++)
        if (strcmp(e->slug[i], slug) == 0)
            return &e->tables[i];
    fail_msg("no table %s", slug);
    return NULL;
}

static int row_of(const dg_eda_table *t, const char *name)
{
    for (int r = 0; r < t->nrows; r++)
        if (strcmp(t->row_names[r], name) == 0)
            return r;
    fail_msg("no row %s in %s", name, t->title);
    return -1;
}

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void ten_tables_by_hand(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "gender_age_train.csv",
                      "device_id,gender,age,group\n1,M,20,M22-\n2,F,24,F24-26\n3,M,25,M23-26\n"
                      "4,F,32,F29-32\n5,M,33,M32-38\n6,F,45,F43+\n7,M,46,M39+\n"));
    free(tu_write_str(dir, "phone_brand_device_model.csv",
                      "device_id,phone_brand,device_model\n1,小米,a\n2,小米,b\n3,三星,c\n"
                      "4,华为,d\n5,小米,e\n6,三星,f\n7,华为,g\n9,OPPO,h\n"));
    free(tu_write_str(dir, "events.csv",
                      "event_id,device_id,timestamp,longitude,latitude\n"
                      "1,1,2016-05-01 10:00:00,116.4,39.9\n"
                      "2,1,2016-05-02 10:30:00,116.4,39.9\n"
                      "3,2,2016-05-01 23:00:00,116.4,39.9\n"
                      "4,3,2016-05-07 00:15:00,116.4,39.9\n"
                      "5,9,2016-04-30 23:55:00,116.4,39.9\n"));
    free(tu_write_str(dir, "app_events.csv",
                      "event_id,app_id,is_installed,is_active\n1,100,1,1\n1,200,1,0\n2,100,1,1\n"
                      "3,100,1,0\n3,300,1,1\n5,400,1,1\n"));
    free(tu_write_str(dir, "app_labels.csv", "app_id,label_id\n100,1\n"));
    free(tu_write_str(dir, "label_categories.csv", "label_id,category\n1,game\n"));
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_OK);
    dg_eda e;
    char missing[128];
    assert_int_equal(dg_eda_compute(&ds, &e, missing, sizeof missing, &err), DG_OK);
    assert_string_equal(missing, "");
    assert_int_equal(e.ntables, 14);

    const dg_eda_table *t = find(&e, "01-age");
    assert_int_equal(t->nrows, 46 - 20 + 1);
    NEAR(dg_eda_value(t, row_of(t, "24"), 0), 1); /* one woman of 24 */
    NEAR(dg_eda_value(t, row_of(t, "24"), 1), 0);
    t = find(&e, "01-gender");
    NEAR(dg_eda_value(t, 1, 0), 4);
    NEAR(dg_eda_value(t, 1, 1), 400.0 / 7);

    /* Women 24, 32, 45; men 20, 25, 33, 46 (linear quantiles). */
    t = find(&e, "02-age-box");
    const double female[9] = {3, 101.0 / 3, 24, 24, 28, 32, 38.5, 45, 45};
    const double male[9] = {4, 31, 20, 20, 23.75, 29, 36.25, 46, 46};
    for (int s = 0; s < 9; s++) {
        NEAR(dg_eda_value(t, 0, s), female[s]);
        NEAR(dg_eda_value(t, 1, s), male[s]);
    }

    t = find(&e, "03-with-events");
    NEAR(dg_eda_value(t, 0, 0), 3);
    NEAR(dg_eda_value(t, 1, 0), 4);
    NEAR(dg_eda_value(t, 0, 1), 300.0 / 7);
    NEAR(dg_eda_value(t, 0, 2), 4); /* devices 1, 2, 3 and 9 of 8 with a phone */
    NEAR(dg_eda_value(t, 0, 3), 50);

    t = find(&e, "04-weekday");
    const double days[7] = {2, 1, 0, 0, 0, 0, 2};
    for (int d = 0; d < 7; d++)
        NEAR(dg_eda_value(t, d, 0), days[d]);

    t = find(&e, "05-week-hours");
    assert_int_equal(t->nrows, 168);
    assert_string_equal(t->row_names[34], "Mon 10");
    double sum = 0;
    for (int h = 0; h < 168; h++)
        sum += dg_eda_value(t, h, 0);
    NEAR(sum, 4); /* event 5 falls before the week */
    NEAR(dg_eda_value(t, 10, 0), 1);
    NEAR(dg_eda_value(t, 23, 0), 1);
    NEAR(dg_eda_value(t, 34, 0), 1);
    NEAR(dg_eda_value(t, 144, 0), 1);
    assert_non_null(strstr(t->title, "2016-05-01 to 2016-05-07"));

    t = find(&e, "06-hour-gender");
    NEAR(dg_eda_value(t, 10, 1), 200.0 / 3);
    NEAR(dg_eda_value(t, 0, 1), 100.0 / 3);
    NEAR(dg_eda_value(t, 23, 0), 100);

    t = find(&e, "07-weekday-age");
    NEAR(dg_eda_value(t, 0, 0), 200.0 / 3);
    NEAR(dg_eda_value(t, 1, 0), 100.0 / 3);
    NEAR(dg_eda_value(t, 6, 1), 100);
    NEAR(dg_eda_value(t, 0, 2), 0);

    t = find(&e, "08-brands-gender");
    assert_int_equal(t->nrows, 3);
    assert_string_equal(t->row_names[0], "小米");
    assert_string_equal(t->row_names[1], "三星");
    assert_string_equal(t->row_names[2], "华为");
    NEAR(dg_eda_value(t, 0, 0), 1);
    NEAR(dg_eda_value(t, 0, 1), 2);

    t = find(&e, "09-apps-gender");
    assert_int_equal(t->nrows, 3);
    assert_string_equal(t->row_names[0], "100 (game), 3 events");
    assert_string_equal(t->row_names[1], "200, 1 events");
    assert_string_equal(t->row_names[2], "300, 1 events");
    NEAR(dg_eda_value(t, 0, 0), 3);
    NEAR(dg_eda_value(t, 0, 1), 200.0 / 3);
    NEAR(dg_eda_value(t, 2, 2), 100);

    t = find(&e, "10-brands-age-25-32");
    assert_int_equal(t->nrows, 2);
    NEAR(dg_eda_value(t, 0, 1), 50);
    t = find(&e, "10-brands-age-46+");
    assert_string_equal(t->row_names[0], "华为");
    NEAR(dg_eda_value(t, 0, 1), 100);

    /* Every table's chart: a 1200x800 PNG with ink on it. */
    for (int i = 0; i < e.ntables; i++) {
        char png[512];
        snprintf(png, sizeof png, "%s/%s.png", dir, e.slug[i]);
        assert_int_equal(dg_eda_save_chart(&e, i, png, &err), DG_OK);
        cairo_surface_t *img = cairo_image_surface_create_from_png(png);
        assert_int_equal(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
        assert_int_equal(cairo_image_surface_get_width(img), 1200);
        assert_int_equal(cairo_image_surface_get_height(img), 800);
        const unsigned char *px = cairo_image_surface_get_data(img);
        int stride = cairo_image_surface_get_stride(img);
        long coloured = 0;
        for (int y = 0; y < 800; y++)
            for (int x = 0; x < 1200; x++) {
                const unsigned char *p = px + y * stride + x * 4;
                coloured += p[0] != p[1] || p[1] != p[2]; /* not white, grey or black */
            }
        assert_true(coloured > 2000); /* the bars, lines or boxes */
        cairo_surface_destroy(img);
    }
    dg_plot_release();

    char path[512];
    snprintf(path, sizeof path, "%s/t.csv", dir);
    assert_int_equal(dg_eda_table_write_csv(find(&e, "08-brands-gender"), path, &err), DG_OK);
    FILE *f = fopen(path, "r");
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "brand,female,male\n");
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "小米,1,2\n");
    fclose(f);
    dg_eda_free(&e);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

/* Counts print as integers; shares and the age statistics keep decimals.
 * What a series is comes from its table's counts flags, never from its name
 * or the table's unit. */
static void counts_are_told_from_shares_and_statistics(void **state)
{
    (void)state;
    char *series[] = {"female", "male", "% of all"};
    char *rows[] = {"小米", "三星"};
    double v[] = {58, 105, 40.5, 56, 99, 38};
    unsigned char counts[] = {1, 1, 0};
    dg_eda_table t = {.nrows = 2, .nseries = 3, .row_names = rows, .series_names = series,
                      .values = v, .counts = counts};
    snprintf(t.unit, sizeof t.unit, "devices");
    assert_true(dg_eda_series_is_count(&t, 0));
    assert_true(dg_eda_series_is_count(&t, 1));
    assert_false(dg_eda_series_is_count(&t, 2));
    /* a name or unit that says "devices" does not make a count */
    char *stats[] = {"devices", "median", "q1"};
    t.series_names = stats;
    counts[0] = counts[1] = 0;
    assert_false(dg_eda_series_is_count(&t, 0));
    counts[0] = 1;
    assert_true(dg_eda_series_is_count(&t, 0));
    assert_false(dg_eda_series_is_count(&t, 1));
    v[0] = 58.5; /* not whole: not a count */
    assert_false(dg_eda_series_is_count(&t, 0));
    t.counts = NULL; /* a table built without flags holds no counts */
    v[0] = 58;
    assert_false(dg_eda_series_is_count(&t, 0));
}

static void missing_inputs_are_named(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "gender_age_train.csv", "device_id,gender,age,group\n1,M,20,M22-\n"));
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_OK);
    dg_eda e;
    char missing[128];
    assert_int_equal(dg_eda_compute(&ds, &e, missing, sizeof missing, &err), DG_OK);
    assert_int_equal(e.ntables, 3);
    assert_string_equal(missing, "charts 3-7 need events; charts 8 and 10 need phones; chart 9 "
                                 "needs events and app_events; ");
    dg_eda_free(&e);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(age_group_edges),
        cmocka_unit_test(ten_tables_by_hand),
        cmocka_unit_test(counts_are_told_from_shares_and_statistics),
        cmocka_unit_test(missing_inputs_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
