/* Column statistics, frequency tables, sorting, search and charts: the
 * operations behind the workbench's sheets, on small hand-made tables whose
 * answers are known. */
#include "testutil.h"

#include "demographer/describe.h"
#include "demographer/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A table of 6 rows: an int64 id, a brand string (one empty), a float with a
 * NaN, a time, an int8 flag. */
static void make(dg_table *t)
{
    static const int64_t ids[] = {30, -5, 30, 7, 1000000000000LL, 7};
    static const char *brands[] = {"小米", "三星", "", "小米", "HTC", "三星"};
    static const float xs[] = {1.5f, NAN, -2.25f, 0.0f, 1.5f, -0.0f};
    static const int64_t ts[] = {1462060800, 1461974400, 1462060800, 1462147200, 1461888000,
                                 1462060800};
    static const int8_t fl[] = {1, 0, 1, 1, 0, 1};
    dg_table_init(t, "demo");
    dg_table_add_column(t, "id", DG_COL_I64);
    dg_table_add_column(t, "brand", DG_COL_STR);
    dg_table_add_column(t, "x", DG_COL_F32);
    dg_table_add_column(t, "ts", DG_COL_TIME);
    dg_table_add_column(t, "flag", DG_COL_I8);
    dg_table_resize(t, 6);
    for (int i = 0; i < 6; i++) {
        dg_col_i64(&t->cols[0])[i] = ids[i];
        dg_col_u32(&t->cols[1])[i] = dg_strpool_intern(&t->strings, brands[i], strlen(brands[i]));
        dg_col_f32(&t->cols[2])[i] = xs[i];
        dg_col_i64(&t->cols[3])[i] = ts[i];
        dg_col_i8(&t->cols[4])[i] = fl[i];
    }
}

static const char *cell(const dg_table *t, int col, uint64_t row)
{
    static char buf[64];
    return dg_cell_text(t, &t->cols[col], row, buf, sizeof buf);
}

static void cells_format_as_the_data_does(void **state)
{
    (void)state;
    dg_table t;
    make(&t);
    assert_string_equal(cell(&t, 0, 4), "1000000000000");
    assert_string_equal(cell(&t, 1, 0), "小米");
    assert_string_equal(cell(&t, 2, 2), "-2.25");
    assert_string_equal(cell(&t, 2, 1), "");
    assert_string_equal(cell(&t, 3, 0), "2016-05-01 00:00:00");
    assert_string_equal(cell(&t, 4, 1), "0");
    dg_table_free(&t);
}

static void frequency_most_common_first_ties_by_first_row(void **state)
{
    (void)state;
    dg_table t;
    make(&t);
    dg_freq f;
    dg_err err;
    assert_int_equal(dg_freq_compute(&t, 1, &f, NULL, &err), DG_OK);
    assert_int_equal(f.n, 4);
    assert_int_equal(f.total, 6);
    /* 小米 x2 (first at row 0), 三星 x2 (row 1), "" (row 2), HTC (row 4). */
    assert_string_equal(cell(&t, 1, f.row[0]), "小米");
    assert_int_equal(f.count[0], 2);
    assert_string_equal(cell(&t, 1, f.row[1]), "三星");
    assert_string_equal(cell(&t, 1, f.row[2]), "");
    assert_string_equal(cell(&t, 1, f.row[3]), "HTC");
    dg_freq_free(&f);
    /* Floats: -0 and 0 are one value; NaN is a value of its own. */
    assert_int_equal(dg_freq_compute(&t, 2, &f, NULL, &err), DG_OK);
    assert_int_equal(f.n, 4);
    assert_int_equal(f.count[0], 2); /* 1.5, first at row 0 */
    assert_int_equal(f.row[0], 0);
    assert_int_equal(f.count[1], 2); /* 0 and -0, first at row 3 */
    assert_int_equal(f.row[1], 3);
    assert_int_equal(f.row[2], 1);   /* NaN */
    dg_freq_free(&f);
    dg_table_free(&t);
}

static void describe_counts_distinct_missing_range_and_top(void **state)
{
    (void)state;
    dg_table t;
    make(&t);
    dg_tablestats st;
    dg_err err;
    assert_int_equal(dg_describe_table(&t, &st, NULL, &err), DG_OK);
    assert_int_equal(st.nrows, 6);
    assert_int_equal(st.cols[0].distinct, 4);
    assert_true(st.cols[0].has_range);
    assert_string_equal(cell(&t, 0, st.cols[0].min_row), "-5");
    assert_string_equal(cell(&t, 0, st.cols[0].max_row), "1000000000000");
    assert_int_equal(st.cols[1].missing, 1);
    assert_false(st.cols[1].has_range);
    assert_int_equal(st.cols[1].ntop, 3);
    assert_int_equal(st.cols[1].top_count[0], 2);
    assert_int_equal(st.cols[2].missing, 1);
    assert_string_equal(cell(&t, 2, st.cols[2].min_row), "-2.25");
    assert_string_equal(cell(&t, 2, st.cols[2].max_row), "1.50");
    assert_string_equal(cell(&t, 3, st.cols[3].min_row), "2016-04-29 00:00:00");
    assert_int_equal(st.cols[4].distinct, 2);
    dg_table_free(&t);
}

static void sort_is_stable_both_ways(void **state)
{
    (void)state;
    dg_table t;
    make(&t);
    uint32_t *o;
    dg_err err;
    assert_int_equal(dg_sort_rows(&t, 0, 0, &o, NULL, &err), DG_OK);
    static const uint32_t id_asc[] = {1, 3, 5, 0, 2, 4};
    assert_memory_equal(o, id_asc, sizeof id_asc);
    free(o);
    assert_int_equal(dg_sort_rows(&t, 0, 1, &o, NULL, &err), DG_OK);
    static const uint32_t id_desc[] = {4, 0, 2, 3, 5, 1};
    assert_memory_equal(o, id_desc, sizeof id_desc);
    free(o);
    /* Strings by bytes: "" < "HTC" < 三星 (E4 B8 89) < 小米 (E5 B0 8F). */
    assert_int_equal(dg_sort_rows(&t, 1, 0, &o, NULL, &err), DG_OK);
    static const uint32_t brand_asc[] = {2, 4, 1, 5, 0, 3};
    assert_memory_equal(o, brand_asc, sizeof brand_asc);
    free(o);
    /* Floats: NaN last, -0 and 0 tie (table order kept). */
    assert_int_equal(dg_sort_rows(&t, 2, 0, &o, NULL, &err), DG_OK);
    static const uint32_t x_asc[] = {2, 3, 5, 0, 4, 1};
    assert_memory_equal(o, x_asc, sizeof x_asc);
    free(o);
    dg_table_free(&t);
}

static void sort_of_many_rows_matches_qsort(void **state)
{
    (void)state;
    dg_table t;
    dg_table_init(&t, "big");
    dg_table_add_column(&t, "v", DG_COL_I64);
    uint64_t n = 200000;
    dg_table_resize(&t, n);
    uint64_t x = 88172645463325252ull;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        dg_col_i64(&t.cols[0])[i] = (int64_t)(x % 5000) - 2500 + (i % 3 ? 0 : (int64_t)x);
    }
    uint32_t *o;
    dg_err err;
    assert_int_equal(dg_sort_rows(&t, 0, 0, &o, NULL, &err), DG_OK);
    const int64_t *v = dg_col_i64(&t.cols[0]);
    for (uint64_t i = 1; i < n; i++) {
        assert_true(v[o[i - 1]] <= v[o[i]]);
        if (v[o[i - 1]] == v[o[i]])
            assert_true(o[i - 1] < o[i]);
    }
    free(o);
    dg_table_free(&t);
}

static int cancel_at_once(void *ctx, const char *stage, double done, double total,
                          const char *unit)
{
    (void)ctx, (void)stage, (void)done, (void)total, (void)unit;
    return 1;
}

static void cancelled_work_leaves_nothing(void **state)
{
    (void)state;
    dg_table t;
    make(&t);
    dg_progress p = {cancel_at_once, NULL};
    dg_err err;
    uint32_t *o = (uint32_t *)&err;
    assert_int_equal(dg_sort_rows(&t, 0, 0, &o, &p, &err), DG_ERR);
    assert_string_equal(err.msg, "cancelled");
    assert_null(o);
    dg_freq f;
    assert_int_equal(dg_freq_compute(&t, 1, &f, &p, &err), DG_ERR);
    assert_null(f.row);
    assert_int_equal(f.n, 0);
    uint64_t pos;
    assert_int_equal(dg_search_rows(&t, 1, NULL, 0, "x", &pos, &p, &err), DG_ERR);
    dg_table_free(&t);
}

static void search_wraps_round(void **state)
{
    (void)state;
    dg_table t;
    make(&t);
    uint64_t pos;
    dg_err err;
    assert_int_equal(dg_search_rows(&t, 1, NULL, 0, "三", &pos, NULL, &err), DG_OK);
    assert_int_equal(pos, 1);
    assert_int_equal(dg_search_rows(&t, 1, NULL, 2, "三", &pos, NULL, &err), DG_OK);
    assert_int_equal(pos, 5);
    assert_int_equal(dg_search_rows(&t, 1, NULL, 6, "三", &pos, NULL, &err), DG_OK);
    assert_int_equal(pos, 1);
    assert_int_equal(dg_search_rows(&t, 0, NULL, 3, "30", &pos, NULL, &err), DG_OK);
    assert_int_equal(pos, 0); /* from row 3 on: none, then row 0 after wrapping */
    /* Positions are in the given order. */
    static const uint32_t order[] = {5, 4, 3, 2, 1, 0};
    assert_int_equal(dg_search_rows(&t, 1, order, 0, "HTC", &pos, NULL, &err), DG_OK);
    assert_int_equal(pos, 1);
    assert_int_equal(dg_search_rows(&t, 1, NULL, 0, "nokia", &pos, NULL, &err), DG_OK);
    assert_true(pos == DG_NOT_FOUND);
    dg_table_free(&t);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void bar_chart_is_a_png_of_the_asked_size(void **state)
{
    (void)state;
    const char *labels[] = {"小米", "三星", "红米note", "HTC"};
    const double values[] = {464, 364, 50, 29};
    dg_chart c = {.kind = DG_CHART_BAR_H, .width = 640, .height = 400, .title = "brands",
                  .value_label = "rows", .n = 4, .labels = labels, .values = values,
                  .value_labels = 1};
    unsigned char *png;
    size_t len;
    dg_err err;
    assert_int_equal(dg_chart_png(&c, &png, &len, &err), DG_OK);
    assert_true(len > 1000);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    assert_int_equal(be32(png + 16), 640);
    assert_int_equal(be32(png + 20), 400);
    free(png);
    c.kind = DG_CHART_BAR_V;
    assert_int_equal(dg_chart_png(&c, &png, &len, &err), DG_OK);
    free(png);
    c.width = 100000;
    assert_int_equal(dg_chart_png(&c, &png, &len, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "too large"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cells_format_as_the_data_does),
        cmocka_unit_test(frequency_most_common_first_ties_by_first_row),
        cmocka_unit_test(describe_counts_distinct_missing_range_and_top),
        cmocka_unit_test(sort_is_stable_both_ways),
        cmocka_unit_test(sort_of_many_rows_matches_qsort),
        cmocka_unit_test(cancelled_work_leaves_nothing),
        cmocka_unit_test(search_wraps_round),
        cmocka_unit_test(bar_chart_is_a_png_of_the_asked_size),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    dg_plot_release();
    return failed;
}
