/* The chart description's axes and its terminal renderer (chart.h); the PNG
 * renderer draws every kind from the same description. DG_CHART_DUMP=1
 * prints each grid drawn. */
#include "testutil.h"

#include "demographer/chart.h"
#include "demographer/plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char rows_text[64][1024];

/* Draws c at cols x rows and keeps the rows' text in rows_text. */
static void draw(const dg_chart *c, int cols, int rows, dg_cell_grid *g)
{
    dg_err err;
    assert_int_equal(dg_chart_cells(c, cols, rows, g, &err), DG_OK);
    for (int r = 0; r < rows && r < 64; r++) {
        dg_cell_grid_row(g, r, rows_text[r], sizeof rows_text[r]);
        if (getenv("DG_CHART_DUMP"))
            printf("# |%s|\n", rows_text[r]);
    }
}

static int any_row_has(int rows, const char *s)
{
    for (int r = 0; r < rows; r++)
        if (strstr(rows_text[r], s))
            return r;
    return -1;
}

static void value_ticks_are_round_and_counts_integers(void **state)
{
    (void)state;
    const double v[] = {266, 120, 31};
    const char *labels[] = {"a", "b", "c"};
    dg_chart c = {.kind = DG_CHART_BAR_H, .n = 3, .labels = labels, .values = v,
                  .integer_values = 1};
    dg_chart_axes ax;
    dg_chart_axes_of(&c, &ax);
    assert_true(ax.val.numeric);
    assert_true(ax.val.lo == 0);
    assert_true(ax.val.hi == 300);
    assert_int_equal(ax.val.nticks, 4);
    assert_string_equal(ax.val.label[1], "100");
    char b[32];
    dg_chart_format_value(266, 1, b, sizeof b);
    assert_string_equal(b, "266");
    dg_chart_format_value(0.25, 0, b, sizeof b);
    assert_string_equal(b, "0.25");
    /* One number format everywhere: thousands separators, as dg_format_count. */
    dg_chart_format_value(15300, 1, b, sizeof b);
    assert_string_equal(b, "15,300");
    dg_chart_format_value(9467, 1, b, sizeof b);
    assert_string_equal(b, "9,467");
    dg_chart_format_value(1530000, 1, b, sizeof b);
    assert_string_equal(b, "1.53M");
}

static void numeric_x_gets_numeric_ticks(void **state)
{
    (void)state;
    double x[11], v[11 * 2];
    for (int i = 0; i <= 10; i++) {
        x[i] = i / 10.0;
        v[i * 2] = x[i] * x[i] < 1 ? 1 - (1 - x[i]) * (1 - x[i]) : 1;
        v[i * 2 + 1] = x[i];
    }
    const char *names[] = {"model (AUC 0.70)", "chance"};
    dg_chart c = {.kind = DG_CHART_LINE, .n = 11, .values = v, .x = x, .nseries = 2,
                  .series_names = names, .value_label = "true positive rate",
                  .category_label = "false positive rate"};
    dg_chart_axes ax;
    dg_chart_axes_of(&c, &ax);
    assert_true(ax.cat.numeric);
    assert_int_equal(ax.cat.nticks, 6);
    assert_string_equal(ax.cat.label[0], "0");
    assert_string_equal(ax.cat.label[5], "1");
    dg_cell_grid g;
    draw(&c, 60, 16, &g);
    /* The legend: a solid and a dashed key, the names. */
    assert_non_null(strstr(rows_text[0], "── model (AUC 0.70)"));
    assert_non_null(strstr(rows_text[0], "╌╌ chance"));
    /* The x ticks, flat, in order, and the axis' name under them. */
    int r = any_row_has(16, "false positive rate") - 1;
    assert_true(r > 0);
    char *p0 = strstr(rows_text[r], "0.4"), *p1 = strstr(rows_text[r], "0.8");
    assert_non_null(p0);
    assert_non_null(p1);
    assert_true(p0 < p1);
    /* Braille in the plot. */
    assert_true(any_row_has(16, "⠁") >= 0 || any_row_has(16, "⢀") >= 0 ||
                strstr(rows_text[5], "\xe2\xa0") || strstr(rows_text[8], "\xe2\xa0") ||
                strstr(rows_text[8], "\xe2\xa1") || strstr(rows_text[8], "\xe2\xa2"));
    dg_cell_grid_free(&g);
}

static void horizontal_bars_scale_and_show_their_values(void **state)
{
    (void)state;
    const char *labels[] = {"小米", "三星", "HTC"};
    const double v[] = {464, 232, 29};
    dg_chart c = {.kind = DG_CHART_BAR_H, .n = 3, .labels = labels, .values = v,
                  .value_labels = 1, .integer_values = 1, .value_label = "devices",
                  .category_label = "brand"};
    dg_cell_grid g;
    draw(&c, 50, 10, &g);
    assert_non_null(strstr(rows_text[0], "brand"));
    assert_non_null(strstr(rows_text[1], "小米 │"));
    assert_non_null(strstr(rows_text[1], "464"));
    /* A blank row between the bars, when there is room. */
    assert_non_null(strstr(rows_text[5], " HTC │"));
    /* The first bar is twice the second: count the full blocks. */
    int n1 = 0, n2 = 0;
    for (char *p = rows_text[1]; (p = strstr(p, "█")); p += 3)
        n1++;
    for (char *p = rows_text[3]; (p = strstr(p, "█")); p += 3)
        n2++;
    assert_true(n1 >= 2 * n2 - 1 && n1 <= 2 * n2 + 1);
    assert_true(any_row_has(10, "devices") > 5);
    dg_cell_grid_free(&g);
}

static void stacked_series_differ_by_glyph_without_colour(void **state)
{
    (void)state;
    const char *labels[] = {"20", "30", "40", "50"};
    const double v[] = {10, 20, 30, 10, 20, 30, 5, 5};
    const char *names[] = {"female", "male"};
    const dg_series_kind kinds[] = {DG_SERIES_FEMALE, DG_SERIES_MALE};
    dg_chart c = {.kind = DG_CHART_BAR_V, .n = 4, .labels = labels, .values = v, .nseries = 2,
                  .series_names = names, .stacked = 1, .kinds = kinds,
                  .value_label = "devices", .category_label = "age"};
    dg_cell_grid g;
    draw(&c, 40, 14, &g);
    assert_non_null(strstr(rows_text[0], "▒▒ female"));
    assert_non_null(strstr(rows_text[0], "██ male"));
    assert_true(any_row_has(14, "▒▒▒▒") > 3);
    /* Colours: female's cells carry female's palette index. */
    int female_cells = 0;
    for (int i = 0; i < g.cols * g.rows; i++)
        if (g.cells[i].ch == 0x2592 && g.cells[i].colour == DG_COLOUR_FEMALE)
            female_cells++;
    assert_true(female_cells > 4);
    /* Labels flat under their bars, in order. */
    int r = any_row_has(14, "age") - 1;
    assert_true(r > 5);
    assert_true(strstr(rows_text[r], "20") < strstr(rows_text[r], "50"));
    dg_cell_grid_free(&g);
}

/* Counts the cells of glyph ch and palette colour (-2: any) in g, below
 * its first row (the legend's keys). */
static int cells_of(const dg_cell_grid *g, uint32_t ch, int colour)
{
    int n = 0;
    for (int i = g->cols; i < g->cols * g->rows; i++)
        n += g->cells[i].ch == ch && (colour == -2 || g->cells[i].colour == colour);
    return n;
}

/* Issue 27: female was ██ in one chart and male ██ in another, because the
 * glyph followed the series' order. The kind decides: male █ blue, female ▒
 * vermilion, in either order, stacked or side by side, horizontal or not;
 * and a series merely named "female" is not drawn as one. */
static void gender_has_one_glyph_and_colour_by_kind(void **state)
{
    (void)state;
    const char *labels[] = {"a", "b", "c"};
    const double v[] = {10, 20, 30, 10, 20, 30};
    const char *fm[] = {"female", "male"}, *mf[] = {"% male", "% female"};
    const dg_series_kind kfm[] = {DG_SERIES_FEMALE, DG_SERIES_MALE};
    const dg_series_kind kmf[] = {DG_SERIES_MALE, DG_SERIES_FEMALE};
    for (int order = 0; order < 2; order++)
        for (int kind = 0; kind < 2; kind++)
            for (int stacked = 0; stacked < 2; stacked++) {
                dg_chart c = {.kind = kind ? DG_CHART_BAR_H : DG_CHART_BAR_V, .n = 3,
                              .labels = labels, .values = v, .nseries = 2,
                              .series_names = order ? mf : fm, .stacked = stacked,
                              .kinds = order ? kmf : kfm};
                dg_cell_grid g;
                draw(&c, 50, 20, &g);
                assert_true(cells_of(&g, 0x2588, DG_COLOUR_MALE) > 3);
                assert_true(cells_of(&g, 0x2592, DG_COLOUR_FEMALE) > 3);
                assert_int_equal(cells_of(&g, 0x2588, DG_COLOUR_FEMALE), 0);
                assert_int_equal(cells_of(&g, 0x2592, DG_COLOUR_MALE), 0);
                dg_cell_grid_free(&g);
            }
    /* One series, the labels the genders (a share by gender). */
    const char *gl[] = {"female", "male"};
    const double share[] = {36, 64};
    dg_chart one = {.kind = DG_CHART_BAR_H, .n = 2, .labels = gl, .values = share,
                    .kinds = kfm};
    dg_cell_grid g;
    draw(&one, 50, 12, &g);
    assert_true(cells_of(&g, 0x2592, DG_COLOUR_FEMALE) > 3);
    assert_true(cells_of(&g, 0x2588, DG_COLOUR_MALE) > 3);
    dg_cell_grid_free(&g);
    /* Names alone decide nothing. */
    dg_chart plain = {.kind = DG_CHART_BAR_V, .n = 3, .labels = labels, .values = v,
                      .nseries = 2, .series_names = fm};
    /* Plain series take no gender's colour. */
    for (int i = 0; i < 12; i++) {
        assert_int_not_equal(dg_chart_colour(&plain, i), DG_COLOUR_MALE);
        assert_int_not_equal(dg_chart_colour(&plain, i), DG_COLOUR_FEMALE);
    }
    assert_int_not_equal(dg_chart_colour(&plain, 0), dg_chart_colour(&plain, 1));
    draw(&plain, 50, 20, &g);
    assert_int_equal(cells_of(&g, 0x2592, -2), 0);
    dg_cell_grid_free(&g);
    assert_int_equal(dg_chart_colour(&one, 0), DG_COLOUR_FEMALE);
    assert_int_equal(dg_chart_colour(&one, 1), DG_COLOUR_MALE);
}

/* Two lines of the genders that run close together stay apart without
 * colour (NO_COLOR): the female line is dotted, so in every cell where only
 * it runs fewer dots are set than where the solid male line runs. */
static void gender_lines_differ_without_colour(void **state)
{
    (void)state;
    double v[48];
    for (int h = 0; h < 24; h++) {
        v[h * 2] = 4 + 2 * sin(h / 4.0);       /* female */
        v[h * 2 + 1] = 4.3 + 2 * sin(h / 4.0); /* male, just above */
    }
    const char *names[] = {"female", "male"};
    const dg_series_kind kinds[] = {DG_SERIES_FEMALE, DG_SERIES_MALE};
    dg_chart c = {.kind = DG_CHART_LINE, .n = 24, .values = v, .nseries = 2,
                  .series_names = names, .kinds = kinds};
    dg_cell_grid g;
    draw(&c, 60, 16, &g);
    /* The legend keys differ: solid for male, dotted for female. */
    assert_non_null(strstr(rows_text[0], "┈┈ female"));
    assert_non_null(strstr(rows_text[0], "── male"));
    int dots[2] = {0, 0}, cells[2] = {0, 0};
    for (int i = 0; i < g.cols * g.rows; i++) {
        uint32_t ch = g.cells[i].ch;
        if (ch < 0x2801 || ch > 0x28FF)
            continue;
        int k = g.cells[i].colour == DG_COLOUR_FEMALE ? 0 : 1;
        dots[k] += __builtin_popcount(ch - 0x2800);
        cells[k]++;
    }
    assert_true(cells[0] > 0 && cells[1] > 0);
    /* Dots per cell: the dotted line sets clearly fewer. */
    assert_true((double)dots[0] / cells[0] < 0.75 * dots[1] / cells[1]);
    dg_cell_grid_free(&g);
}

/* Calibration (issue 27): an empty bin is left out, not drawn at 0, and
 * each bin's count stands under the curve. */
static void missing_points_are_left_out_and_counts_drawn(void **state)
{
    (void)state;
    double x[10], v[20], counts[20];
    for (int b = 0; b < 10; b++) {
        x[b] = (b + 0.5) / 10;
        v[b * 2] = b < 7 ? 0.5 + 0.05 * b : NAN; /* bins 8-10 empty */
        counts[b * 2] = b < 7 ? 100 * (7 - b) : 0;
        v[b * 2 + 1] = x[b];
        counts[b * 2 + 1] = NAN;
    }
    const char *names[] = {"model", "perfect"};
    dg_chart c = {.kind = DG_CHART_LINE, .n = 10, .values = v, .x = x, .x_from_zero = 1,
                  .nseries = 2, .series_names = names, .point_marks = 1, .counts = counts,
                  .counts_label = "devices in the bin"};
    assert_false(dg_chart_has_value(&c, 8, 0));
    assert_true(dg_chart_has_value(&c, 8, 1));
    dg_cell_grid g;
    draw(&c, 60, 20, &g);
    /* Model's marks: one per non-empty bin, none drawn at 0 for the empty ones. */
    assert_int_equal(cells_of(&g, 0x25CF, dg_chart_colour(&c, 0)), 7);
    assert_true(any_row_has(20, "░ devices in the bin (tallest bar 700)") >= 0);
    assert_true(cells_of(&g, 0x2591, dg_chart_colour(&c, 0)) > 3); /* the counts' bars, in the model's colour */
    /* The right third of the plot, past bin 7, holds no dot of the model. */
    for (int i = 0; i < g.cols * g.rows; i++)
        if (i % g.cols > 46 && g.cells[i].colour == dg_chart_colour(&c, 0))
            assert_true(g.cells[i].ch < 0x2800 || g.cells[i].ch > 0x28FF);
    dg_cell_grid_free(&g);
    unsigned char *png;
    size_t len;
    dg_err err;
    assert_int_equal(dg_chart_png(&c, &png, &len, &err), DG_OK);
    free(png);
}

/* A sweep of three eps per minPts: a mark on every point of every line. */
static void point_marks_on_every_point(void **state)
{
    (void)state;
    const double x[] = {0.5, 1, 2};
    const double v[] = {40, 60, 30, 50, 10, 20};
    const char *names[] = {"minPts 5", "minPts 10"};
    dg_chart c = {.kind = DG_CHART_LINE, .n = 3, .values = v, .x = x, .nseries = 2,
                  .series_names = names, .point_marks = 1, .integer_values = 1};
    dg_cell_grid g;
    draw(&c, 50, 16, &g);
    assert_int_equal(cells_of(&g, 0x25CF, dg_chart_colour(&c, 0)), 3);
    assert_int_equal(cells_of(&g, 0x25B2, dg_chart_colour(&c, 1)), 3);
    assert_non_null(strstr(rows_text[0], "● minPts 5"));
    assert_non_null(strstr(rows_text[0], "▲ minPts 10"));
    dg_cell_grid_free(&g);
}

/* Reach (issue 27): a campaign that reaches nobody is a visible zero bar
 * with its value, and a name too long for the label column is written
 * whole on its own row above its bar. */
static void zero_bars_and_long_names(void **state)
{
    (void)state;
    const char *labels[] = {"1 Personalised fashion-related campaigns", "4 Bundled smartphone offers",
                            "6 Cashback offers for Privilege Membership"};
    const double v[] = {31.5, 0, 44};
    dg_chart c = {.kind = DG_CHART_BAR_H, .n = 3, .labels = labels, .values = v,
                  .value_labels = 1, .value_label = "% of all devices reached"};
    dg_cell_grid g;
    draw(&c, 60, 16, &g);
    for (int i = 0; i < 3; i++)
        assert_true(any_row_has(16, labels[i]) >= 0);
    int r = any_row_has(16, "4 Bundled smartphone offers");
    assert_non_null(strstr(rows_text[r + 1], "│▏ 0"));
    assert_null(strstr(rows_text[r + 1], "…"));
    dg_cell_grid_free(&g);
}

static void log_axis_and_markers(void **state)
{
    (void)state;
    double x[50], v[50];
    for (int i = 0; i < 50; i++) {
        x[i] = i / 49.0;
        v[i] = i < 40 ? 0.1 + i * 0.02 : 2000.0 * (i - 39) / 10;
    }
    dg_chart_marker mk[] = {{1, 40 / 49.0, "knee 0.9 km"}, {0, 1.0, "eps 1 km"}};
    dg_chart c = {.kind = DG_CHART_LINE, .n = 50, .values = v, .x = x, .log_values = 1,
                  .nmarkers = 2, .markers = mk, .value_label = "km"};
    dg_chart_axes ax;
    dg_chart_axes_of(&c, &ax);
    assert_true(ax.val.log);
    /* A true log axis (issue 27: it was log10(1 + v) with ticks 0, 1, 10,
     * 20): 0.1 ... 2000 spans five powers of ten, a tick at each, evenly
     * spaced, the axis ending on the power above the data. */
    assert_int_equal(ax.val.nticks, 6);
    assert_string_equal(ax.val.label[0], "0.1");
    assert_string_equal(ax.val.label[1], "1");
    assert_string_equal(ax.val.label[2], "10");
    assert_string_equal(ax.val.label[ax.val.nticks - 1], "10,000");
    for (int t = 0; t < ax.val.nticks; t++)
        assert_true(fabs(dg_chart_axis_pos(&ax.val, 0, ax.val.tick[t]) - t / 5.0) < 1e-9);
    /* Over less than three powers, 1-2-5 ticks. */
    double short_v[] = {3, 40, 90};
    dg_chart s2 = {.kind = DG_CHART_LINE, .n = 3, .values = short_v, .log_values = 1};
    dg_chart_axes a2;
    dg_chart_axes_of(&s2, &a2);
    assert_string_equal(a2.val.label[0], "1");
    assert_string_equal(a2.val.label[1], "2");
    assert_string_equal(a2.val.label[2], "5");
    assert_string_equal(a2.val.label[3], "10");
    assert_string_equal(a2.val.label[a2.val.nticks - 1], "100");
    dg_cell_grid g;
    draw(&c, 60, 18, &g);
    assert_non_null(strstr(rows_text[0], "│ knee 0.9 km"));
    assert_non_null(strstr(rows_text[0], "┄ eps 1 km"));
    assert_true(any_row_has(18, "┄┄") > 0);
    int vertical = 0; /* the knee's line, past the value axis */
    for (int r = 1; r < 16; r++)
        for (int x = 10; x < g.cols; x++)
            vertical += g.cells[r * g.cols + x].ch == 0x2502;
    assert_true(vertical > 5);
    dg_cell_grid_free(&g);
}

static void box_plot_draws_boxes_and_whiskers(void **state)
{
    (void)state;
    const char *labels[] = {"female", "male"};
    const double v[] = {18, 25, 29, 36, 60, 19, 27, 31, 38, 62};
    const int colours[] = {DG_COLOUR_FEMALE, DG_COLOUR_MALE};
    dg_chart c = {.kind = DG_CHART_BOX, .n = 2, .labels = labels, .values = v,
                  .colours = colours, .value_label = "age (years)"};
    dg_cell_grid g;
    draw(&c, 40, 16, &g);
    assert_true(any_row_has(16, "▒") > 0);
    assert_true(any_row_has(16, "━") > 0);
    int r = any_row_has(16, "female");
    assert_true(r > 10);
    assert_non_null(strstr(rows_text[r], "male"));
    dg_cell_grid_free(&g);
}

static void a_long_legend_wraps_onto_more_rows(void **state)
{
    (void)state;
    const char *labels[] = {"1 fashion", "2 cashback"};
    const double v[] = {20, 30, 25, 18, 40, 25};
    const char *names[] = {"devices reached (% of all)", "expected precision (% of targeted)",
                           "base rate (% of all labelled)"};
    dg_chart c = {.kind = DG_CHART_BAR_H, .n = 2, .labels = labels, .values = v, .nseries = 3,
                  .series_names = names, .value_label = "%", .category_label = "campaign"};
    dg_cell_grid g;
    draw(&c, 50, 20, &g);
    /* Every series keeps its key: none is cut off the right edge. */
    assert_true(any_row_has(3, "██ devices reached (% of all)") >= 0);
    assert_true(any_row_has(3, "▓▓ expected precision (% of targeted)") >= 0);
    assert_true(any_row_has(3, "▒▒ base rate (% of all labelled)") >= 0);
    /* ...and the bars start under the legend. */
    int r = any_row_has(20, "1 fashion");
    assert_true(r >= 3);
    dg_cell_grid_free(&g);
}

/* The renderers cannot drift: every value tick the cells write is one of
 * the description's, in its order (bottom up), and a tall grid writes them all. */
static void the_cells_write_the_descriptions_ticks(void **state)
{
    (void)state;
    const char *labels[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    const double v[] = {3900, 4400, 5100, 4700, 4500, 4600, 4300};
    dg_chart c = {.kind = DG_CHART_BAR_V, .n = 7, .labels = labels, .values = v,
                  .integer_values = 1, .value_label = "events", .category_label = "day"};
    dg_chart_axes ax;
    dg_chart_axes_of(&c, &ax);
    for (int rows = 8; rows <= 40; rows += 16) {
        dg_cell_grid g;
        draw(&c, 60, rows, &g);
        int next = 0, seen = 0;
        for (int r = rows - 1; r >= 0; r--) {
            char *bar = strstr(rows_text[r], "┤");
            if (!bar)
                continue;
            *bar = 0;
            char *lab = rows_text[r];
            while (*lab == ' ')
                lab++;
            while (next < ax.val.nticks && strcmp(ax.val.label[next], lab) != 0)
                next++;
            assert_true(next < ax.val.nticks); /* found, after the one before */
            next++;
            seen++;
        }
        if (rows == 40)
            assert_int_equal(seen, ax.val.nticks);
        else
            assert_true(seen >= 2);
        /* The day labels in the description's order. */
        int r = any_row_has(rows, "Sun");
        assert_true(r > 0);
        assert_true(strstr(rows_text[r], "Sun") < strstr(rows_text[r], "Sat"));
        dg_cell_grid_free(&g);
    }
}

static void too_small_a_grid_is_refused(void **state)
{
    (void)state;
    const double v[] = {1};
    dg_chart c = {.kind = DG_CHART_BAR_H, .n = 1, .values = v};
    dg_cell_grid g;
    dg_err err;
    assert_int_equal(dg_chart_cells(&c, 10, 3, &g, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "at least"));
    assert_null(g.cells);
}

static void every_kind_renders_as_png(void **state)
{
    (void)state;
    const char *labels[] = {"a", "b", "c", "d"};
    const double v[] = {1, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    const double x[] = {0, 0.3, 0.6, 1};
    dg_chart_marker mk[] = {{1, 0.5, "half"}, {0, 2, "two"}};
    for (int k = 0; k < DG_CHART_KINDS; k++) {
        dg_chart c = {.kind = (dg_chart_kind)k, .width = 400, .height = 300, .title = "t",
                      .n = 4, .labels = labels, .values = v, .nmarkers = 2, .markers = mk,
                      .x = k == DG_CHART_LINE || k == DG_CHART_POINTS ? x : NULL,
                      .log_values = k == DG_CHART_POINTS};
        unsigned char *png;
        size_t len;
        dg_err err;
        assert_int_equal(dg_chart_png(&c, &png, &len, &err), DG_OK);
        assert_true(len > 500);
        free(png);
        dg_cell_grid g;
        draw(&c, 40, 12, &g);
        dg_cell_grid_free(&g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(value_ticks_are_round_and_counts_integers),
        cmocka_unit_test(numeric_x_gets_numeric_ticks),
        cmocka_unit_test(horizontal_bars_scale_and_show_their_values),
        cmocka_unit_test(stacked_series_differ_by_glyph_without_colour),
        cmocka_unit_test(log_axis_and_markers),
        cmocka_unit_test(box_plot_draws_boxes_and_whiskers),
        cmocka_unit_test(a_long_legend_wraps_onto_more_rows),
        cmocka_unit_test(the_cells_write_the_descriptions_ticks),
        cmocka_unit_test(too_small_a_grid_is_refused),
        cmocka_unit_test(gender_has_one_glyph_and_colour_by_kind),
        cmocka_unit_test(gender_lines_differ_without_colour),
        cmocka_unit_test(missing_points_are_left_out_and_counts_drawn),
        cmocka_unit_test(point_marks_on_every_point),
        cmocka_unit_test(zero_bars_and_long_names),
        cmocka_unit_test(every_kind_renders_as_png),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    dg_plot_release();
    return failed;
}
