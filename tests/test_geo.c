/* Maps: event samples, extents, projections, density grids, the basemap
 * asset, the PNGs (checked by size and pixels) and demographer maps. */
#include "testutil.h"

#include "demographer/clean.h"
#include "demographer/geo.h"
#include "demographer/plot.h"

#include <cairo.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1000 events of 4 devices: event i at (100 + i/100, 20 + i/1000) unless
 * i % 10 == 3 (no coordinates) ; devices 1 (M, 20), 2 (F, 30), 3 (M, 40)
 * are labelled, 4 is not. */
static char *write_set(void)
{
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "gender_age_train.csv",
                      "device_id,gender,age,group\n1,M,20,M22-\n2,F,30,F29-32\n3,M,40,M39+\n"));
    free(tu_write_str(dir, "phone_brand_device_model.csv",
                      "device_id,phone_brand,device_model\n1,a,b\n2,a,b\n3,a,b\n4,a,b\n"));
    size_t cap = 1000 * 64 + 128, n = 0;
    char *csv = malloc(cap);
    n += (size_t)snprintf(csv + n, cap - n, "event_id,device_id,timestamp,longitude,latitude\n");
    for (int i = 0; i < 1000; i++) {
        if (i % 10 == 3)
            n += (size_t)snprintf(csv + n, cap - n, "%d,%d,2016-05-02 10:00:00,,\n", i + 1, i % 4 + 1);
        else
            n += (size_t)snprintf(csv + n, cap - n, "%d,%d,2016-05-02 10:00:00,%.2f,%.3f\n", i + 1,
                                  i % 4 + 1, 100 + i / 100.0, 20 + i / 1000.0);
    }
    free(tu_write_str(dir, "events.csv", csv));
    free(csv);
    return dir;
}

/* The event index a sampled point came from (its longitude encodes it). */
static int event_of(const dg_geo_sample *s, uint32_t j)
{
    return (int)lround((s->lon[j] - 100) * 100);
}

static void sample_is_seeded_and_valid(void **state)
{
    (void)state;
    char *dir = write_set();
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_OK);

    /* Asking for more than exist: every event with coordinates, in order. */
    dg_geo_sample all;
    assert_int_equal(dg_geo_sample_events(&ds, 5000, 1, 0, &all, NULL, &err), DG_OK);
    assert_int_equal(all.n, 900);
    assert_int_equal(all.eligible, 900);
    assert_int_equal(all.skipped, 100);
    for (uint32_t j = 0; j < all.n; j++) {
        int i = event_of(&all, j);
        assert_true(i % 10 != 3);
        assert_true(fabs(all.lat[j] - (20 + i / 1000.0)) < 1e-4);
        int device = i % 4 + 1;
        assert_int_equal(all.gender[j], device == 1 || device == 3 ? DG_GEO_MALE
                                        : device == 2            ? DG_GEO_FEMALE
                                                                 : -1);
        assert_int_equal(all.age_group[j], device == 1   ? DG_GEO_AGE_0_24
                                           : device == 2 ? DG_GEO_AGE_25_32
                                           : device == 3 ? DG_GEO_AGE_33_UP
                                                         : -1);
        if (j)
            assert_true(event_of(&all, j - 1) < i);
    }
    dg_geo_sample_free(&all);

    /* A real sample: the same seed gives the same events, another seed others;
     * only valid coordinates, no event twice. */
    dg_geo_sample a, b, c;
    assert_int_equal(dg_geo_sample_events(&ds, 100, 7, 0, &a, NULL, &err), DG_OK);
    assert_int_equal(dg_geo_sample_events(&ds, 100, 7, 0, &b, NULL, &err), DG_OK);
    assert_int_equal(dg_geo_sample_events(&ds, 100, 8, 0, &c, NULL, &err), DG_OK);
    assert_int_equal(a.n, 100);
    assert_memory_equal(a.lon, b.lon, 100 * sizeof *a.lon);
    assert_memory_equal(a.lat, b.lat, 100 * sizeof *a.lat);
    assert_true(memcmp(a.lon, c.lon, 100 * sizeof *a.lon) != 0);
    int seen[1000] = {0}, late = 0;
    for (uint32_t j = 0; j < a.n; j++) {
        int i = event_of(&a, j);
        assert_false(isnan(a.lon[j]) || isnan(a.lat[j]));
        assert_true(i % 10 != 3);
        assert_int_equal(seen[i]++, 0);
        late += i >= 500;
    }
    /* Uniform, not the first 100: about half from the second half of the file. */
    assert_true(late > 30 && late < 70);
    dg_geo_sample_free(&a);
    dg_geo_sample_free(&b);
    dg_geo_sample_free(&c);

    /* Labelled only: device 4's events never come. */
    dg_geo_sample l;
    assert_int_equal(dg_geo_sample_events(&ds, 5000, 1, 1, &l, NULL, &err), DG_OK);
    assert_int_equal(l.eligible, 700); /* 900 valid, 200 of them device 4's (i % 4 == 3) */
    for (uint32_t j = 0; j < l.n; j++)
        assert_true(l.gender[j] >= 0 && l.age_group[j] >= 0);
    dg_geo_sample_free(&l);

    /* After cleaning, imputed locations are not observed ones: left out. */
    dg_rules rules;
    dg_rules_init(&rules);
    dg_rules_default(&rules);
    dg_rule_effect *fx = calloc((size_t)rules.n + 1, sizeof *fx);
    assert_int_equal(dg_clean(&ds, &rules, fx, NULL, &err), DG_OK);
    free(fx);
    dg_rules_free(&rules);
    dg_geo_sample cl;
    assert_int_equal(dg_geo_sample_events(&ds, 5000, 1, 0, &cl, NULL, &err), DG_OK);
    assert_int_equal(cl.n, 900);
    assert_int_equal(cl.skipped, 100);
    dg_geo_sample_free(&cl);
    dg_dataset_free(&ds);

    /* Without events: said. */
    dg_dataset_init(&ds);
    assert_int_equal(dg_geo_sample_events(&ds, 10, 1, 0, &cl, NULL, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "events table"));
    tu_rmrf(dir);
    free(dir);
}

static int stop_at_once(void *ctx, const char *stage, double done, double total, const char *unit)
{
    (void)ctx, (void)stage, (void)done, (void)total, (void)unit;
    return 1;
}

static void sample_cancels(void **state)
{
    (void)state;
    char *dir = write_set();
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_OK);
    dg_progress p = {stop_at_once, NULL};
    dg_geo_sample s;
    assert_int_equal(dg_geo_sample_events(&ds, 10, 1, 0, &s, &p, &err), DG_ERR);
    assert_string_equal(err.msg, "cancelled");
    assert_null(s.lon);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

static void projections(void **state)
{
    (void)state;
    dg_extent e = {100, 130, 20, 50};
    for (int kind = DG_PROJ_EQUIRECT; kind <= DG_PROJ_MERCATOR; kind++) {
        dg_proj p;
        dg_proj_init(&p, (dg_projection)kind, &e, 10, 20, 600, 400);
        double x, y, lon, lat;
        /* The extent's corners land on its pixel box, centred in the box. */
        dg_proj_forward(&p, 100, 50, &x, &y);
        assert_true(fabs(x - p.px0) < 1e-9 && fabs(y - p.py0) < 1e-9);
        dg_proj_forward(&p, 130, 20, &x, &y);
        assert_true(fabs(x - (p.px0 + p.pw)) < 1e-9 && fabs(y - (p.py0 + p.ph)) < 1e-9);
        assert_true(fabs(p.ph - 400) < 1e-9 || fabs(p.pw - 600) < 1e-9);
        assert_true(fabs((p.px0 - 10) * 2 + p.pw - 600) < 1e-9);
        assert_true(fabs((p.py0 - 20) * 2 + p.ph - 400) < 1e-9);
        /* Round trips. */
        for (double a = 95; a <= 135; a += 3.7)
            for (double b = 15; b <= 55; b += 4.3) {
                dg_proj_forward(&p, a, b, &x, &y);
                dg_proj_inverse(&p, x, y, &lon, &lat);
                assert_true(fabs(lon - a) < 1e-9 && fabs(lat - b) < 1e-9);
            }
    }
    /* Equirectangular: true scale at the middle latitude (35 N). */
    dg_proj p;
    dg_proj_init(&p, DG_PROJ_EQUIRECT, &e, 0, 0, 1000, 1000);
    double x0, y0, x1, y1;
    dg_proj_forward(&p, 110, 35, &x0, &y0);
    dg_proj_forward(&p, 111, 36, &x1, &y1);
    assert_true(fabs((x1 - x0) / (y0 - y1) - cos(35 * M_PI / 180)) < 1e-9);
    /* Mercator: the known stretch, y = ln tan(pi/4 + lat/2). */
    dg_extent eq = {-30, 30, -60, 60};
    dg_proj_init(&p, DG_PROJ_MERCATOR, &eq, 0, 0, 1000, 1000);
    dg_proj_forward(&p, 0, 0, &x0, &y0);
    assert_true(fabs(x0 - 500) < 1e-9 && fabs(y0 - 500) < 1e-9);
    dg_proj_forward(&p, 0, 45, &x1, &y1);
    dg_proj_forward(&p, 30, 0, &x0, &y0);
    double unit = (x0 - 500) / (30 * M_PI / 180); /* pixels per radian */
    assert_true(fabs((500 - y1) / unit - log(tan(M_PI / 4 + M_PI / 8))) < 1e-9);
}

static void extents(void **state)
{
    (void)state;
    dg_extent e;
    dg_err err;
    assert_int_equal(dg_extent_parse("73.5,135,18,53.6", &e, &err), DG_OK);
    assert_true(e.lon0 == 73.5 && e.lon1 == 135 && e.lat0 == 18 && e.lat1 == 53.6);
    assert_int_equal(dg_extent_parse("73,135,18", &e, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "expected ',' after LAT0"));
    assert_int_equal(dg_extent_parse("73,x,18,50", &e, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "expected a number for LON1 at character 4, found 'x,18,50'"));
    assert_int_equal(dg_extent_parse("135,73,18,50", &e, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "LON0 < LON1"));
    assert_int_equal(dg_extent_parse("73,135,18,90", &e, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "LAT1 <= 85"));
    assert_int_equal(dg_extent_parse("73,135,18,50x", &e, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "expected the end after LAT1, found 'x'"));

    /* The sample's extent: its points' range (stray ones aside), 5% margin. */
    float lon[2001], lat[2001];
    int8_t none[2001];
    for (int i = 0; i < 2000; i++) {
        lon[i] = 100 + 20 * (i / 1999.0f);
        lat[i] = 30 + 10 * (i / 1999.0f);
        none[i] = -1;
    }
    lon[2000] = 0; /* a stray point at (0, 0) */
    lat[2000] = 0;
    dg_geo_sample s = {.n = 2001, .lon = lon, .lat = lat, .gender = none, .age_group = none};
    assert_int_equal(dg_extent_of_sample(&s, &e, &err), DG_OK);
    assert_true(e.lon0 > 98 && e.lon0 < 99.5 && e.lon1 > 120.5 && e.lon1 < 121.5);
    assert_true(e.lat0 > 29 && e.lat0 < 29.8 && e.lat1 > 40.2 && e.lat1 < 41);
    /* Uncleaned data: (0, 0) and (1, 1) placeholders by the hundred, more
     * than the robust range's tails, stay out of the frame all the same. */
    float plon[3000], plat[3000];
    int8_t pnone[3000];
    for (int i = 0; i < 3000; i++) {
        plon[i] = i < 2000 ? lon[i] : i < 2500 ? 1 : 0;
        plat[i] = i < 2000 ? lat[i] : i < 2500 ? 1 : 0;
        pnone[i] = -1;
    }
    dg_geo_sample ps = {.n = 3000, .lon = plon, .lat = plat, .gender = pnone, .age_group = pnone};
    assert_int_equal(dg_extent_of_sample(&ps, &e, &err), DG_OK);
    assert_true(e.lon0 > 98 && e.lat0 > 29);
    ps.n = 1;
    ps.lon = plon + 2500;
    ps.lat = plat + 2500;
    assert_int_equal(dg_extent_of_sample(&ps, &e, &err), DG_ERR);
    s.n = 0;
    assert_int_equal(dg_extent_of_sample(&s, &e, &err), DG_ERR);

    /* Zoom and pan keep the centre and the size, and stay on the globe. */
    dg_extent z = {100, 120, 30, 40};
    dg_extent_zoom(&z, 2);
    assert_true(fabs(z.lon0 - 105) < 1e-9 && fabs(z.lon1 - 115) < 1e-9 && fabs(z.lat0 - 32.5) < 1e-9);
    dg_extent_pan(&z, 0.5, -0.2);
    assert_true(fabs(z.lon0 - 110) < 1e-9 && fabs(z.lat0 - 31.5) < 1e-9);
    dg_extent w = {170, 180, 80, 85};
    dg_extent_pan(&w, 1, 1);
    assert_true(w.lon1 <= 180 && w.lat1 <= 85 && fabs(w.lon1 - w.lon0 - 10) < 1e-9);
}

static void density_counts(void **state)
{
    (void)state;
    /* Four points in a 2x2 grid over (0..10, 0..10) (near the equator the
     * equirectangular grid is almost even), one outside. */
    float lon[] = {1, 2, 9, 1, 50}, lat[] = {9, 8, 9, 1, 5};
    int8_t gender[] = {DG_GEO_MALE, DG_GEO_FEMALE, DG_GEO_MALE, DG_GEO_MALE, DG_GEO_MALE};
    int8_t age[] = {0, 1, 2, -1, 0};
    dg_geo_sample s = {.n = 5, .lon = lon, .lat = lat, .gender = gender, .age_group = age};
    dg_extent e = {0, 10, 0, 10};
    uint32_t g[4], out;
    assert_int_equal(dg_geo_density(&s, DG_MAP_ALL, 0, DG_PROJ_EQUIRECT, &e, 2, 2, g, &out), 4);
    assert_int_equal(out, 1);
    assert_int_equal(g[0], 2); /* north-west: (1,9) and (2,8) */
    assert_int_equal(g[1], 1); /* north-east */
    assert_int_equal(g[2], 1); /* south-west */
    assert_int_equal(g[3], 0);
    assert_int_equal(dg_geo_density(&s, DG_MAP_GENDER, 1, DG_PROJ_EQUIRECT, &e, 2, 2, g, &out), 1);
    assert_int_equal(g[0], 1);
    assert_int_equal(out, 0);
    assert_int_equal(dg_geo_density(&s, DG_MAP_AGE, 0, DG_PROJ_MERCATOR, &e, 2, 2, g, &out), 1);
    assert_int_equal(out, 1);
    /* The east and south edges are inside. */
    float elon[] = {10}, elat[] = {0};
    dg_geo_sample edge = {.n = 1, .lon = elon, .lat = elat, .gender = gender, .age_group = age};
    assert_int_equal(dg_geo_density(&edge, DG_MAP_ALL, 0, DG_PROJ_EQUIRECT, &e, 2, 2, g, NULL), 1);
    assert_int_equal(g[3], 1);
    assert_int_equal(dg_map_kind_parse("gender"), DG_MAP_GENDER);
    assert_int_equal(dg_map_kind_parse("sex"), -1);
    assert_string_equal(dg_map_panel_name(DG_MAP_AGE, 2), "Age 33+");
}

static char *asset_path(void)
{
    char *p = malloc(4096);
    snprintf(p, 4096, "%s/basemap-east-asia.txt", getenv("DG_ASSETS"));
    return p;
}

static void basemap_asset(void **state)
{
    (void)state;
    char *path = asset_path();
    dg_basemap b;
    dg_err err;
    assert_int_equal(dg_basemap_load(path, &b, &err), DG_OK);
    assert_true(b.window.lon0 == 70 && b.window.lon1 == 145 && b.window.lat0 == 10 &&
                b.window.lat1 == 55);
    assert_true(b.nlines > 200);
    uint32_t coast = 0, border = 0, near_shanghai = 0, near_beijing_border = 0;
    for (uint32_t l = 0; l < b.nlines; l++) {
        *(b.kind[l] == DG_BASEMAP_COAST ? &coast : &border) += 1;
        assert_true(b.start[l + 1] - b.start[l] >= 2);
        for (uint32_t i = b.start[l]; i < b.start[l + 1]; i++) {
            /* Within the window's 1-degree margin, but for the one point
             * just past it that lets a line reach the edge. */
            int in = b.lon[i] >= 69 && b.lon[i] <= 146 && b.lat[i] >= 9 && b.lat[i] <= 56;
            if (!in)
                assert_true(i == b.start[l] || i + 1 == b.start[l + 1]);
            if (b.kind[l] == DG_BASEMAP_COAST && fabs(b.lon[i] - 121.9) < 0.4 &&
                fabs(b.lat[i] - 30.9) < 0.4)
                near_shanghai++;
            /* China-Mongolia border passes north of Beijing near 112 E, 42.6 N. */
            if (b.kind[l] == DG_BASEMAP_BORDER && fabs(b.lon[i] - 112) < 1 && fabs(b.lat[i] - 42.6) < 1)
                near_beijing_border++;
        }
    }
    assert_true(coast > 100 && border > 20);
    assert_true(near_shanghai > 0);
    assert_true(near_beijing_border > 0);
    dg_basemap_free(&b);
    free(path);

    /* The preview's raster: a line along 7.5 N from 1.5 E to 8.5 E crosses
     * the north row of a 10 x 2 grid over (0..10, 0..10) in columns 1 to 8;
     * a line wholly outside marks nothing. */
    char *dir0 = tu_tmpdir();
    char *line = tu_write_str(dir0, "l.txt",
                              "window 0 10 0 10\nunit 100\nb 2 150 750 700 0\nc 2 2000 2000 100 0\n");
    assert_int_equal(dg_basemap_load(line, &b, &err), DG_OK);
    uint8_t mask[20] = {0};
    dg_extent ten = {0, 10, 0, 10};
    dg_basemap_raster(&b, DG_PROJ_EQUIRECT, &ten, 10, 2, mask);
    for (int c = 0; c < 10; c++) {
        assert_int_equal(mask[c], c >= 1 && c <= 8);
        assert_int_equal(mask[10 + c], 0);
    }
    dg_basemap_free(&b);
    free(line);
    tu_rmrf(dir0);
    free(dir0);

    /* Bad files say where. */
    char *dir = tu_tmpdir();
    char *bad = tu_write_str(dir, "b.txt", "window 0 10 0 10\nunit 100\nc 3 1 2 3 4\n");
    assert_int_equal(dg_basemap_load(bad, &b, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "b.txt:3: expected a whole number"));
    free(bad);
    bad = tu_write_str(dir, "c.txt", "unit 100\nc 2 1 2 3 4\n");
    assert_int_equal(dg_basemap_load(bad, &b, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "c.txt:2: expected the 'window' and 'unit' lines"));
    free(bad);
    bad = tu_write_str(dir, "d.txt", "window 0 10 0 10\nunit 100\nx 2 1 2 3 4\n");
    assert_int_equal(dg_basemap_load(bad, &b, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "d.txt:3: expected a polyline"));
    free(bad);
    assert_int_equal(dg_basemap_load("/nonexistent/basemap.txt", &b, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "/nonexistent/basemap.txt"));
    tu_rmrf(dir);
    free(dir);
}

static int near_colour(const unsigned char *p, unsigned rgb, int tol)
{
    /* cairo's RGB24 in memory: B, G, R, unused (little endian). */
    return abs(p[2] - (int)((rgb >> 16) & 0xff)) <= tol && abs(p[1] - (int)((rgb >> 8) & 0xff)) <= tol &&
           abs(p[0] - (int)(rgb & 0xff)) <= tol;
}

/* Pixels in [x0, x1) that are "tinted" towards rgb (more of its dominant
 * channel than of the others: a translucent shade of it on the map). */
static long tinted(cairo_surface_t *img, int x0, int x1, unsigned rgb)
{
    int W = cairo_image_surface_get_width(img), H = cairo_image_surface_get_height(img);
    int stride = cairo_image_surface_get_stride(img);
    const unsigned char *px = cairo_image_surface_get_data(img);
    int blue = (rgb & 0xff) > ((rgb >> 16) & 0xff);
    long n = 0;
    for (int y = 0; y < H; y++)
        for (int x = x0; x < x1 && x < W; x++) {
            const unsigned char *p = px + y * stride + x * 4;
            n += blue ? p[0] > p[2] + 60 : p[2] > p[0] + 60;
        }
    return n;
}

static long count_colour(cairo_surface_t *img, unsigned rgb)
{
    int W = cairo_image_surface_get_width(img), H = cairo_image_surface_get_height(img);
    int stride = cairo_image_surface_get_stride(img);
    const unsigned char *px = cairo_image_surface_get_data(img);
    long n = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            n += near_colour(px + y * stride + x * 4, rgb, 12);
    return n;
}

static void maps_drawn(void **state)
{
    (void)state;
    /* Men in the north-east (Beijing), women in the south (Guangzhou). */
    enum { N = 4000 };
    float lon[N], lat[N];
    int8_t gender[N], age[N];
    for (int i = 0; i < N; i++) {
        int male = i % 3 != 0;
        lon[i] = male ? 116.4f + (i % 50) * 0.01f : 113.3f + (i % 40) * 0.01f;
        lat[i] = male ? 39.9f + (i % 7) * 0.01f : 23.1f + (i % 9) * 0.01f;
        gender[i] = male ? DG_GEO_MALE : DG_GEO_FEMALE;
        age[i] = (int8_t)(i % 3);
    }
    dg_geo_sample s = {.n = N, .lon = lon, .lat = lat, .gender = gender, .age_group = age,
                       .eligible = N, .seed = 1};
    char *path = asset_path();
    dg_basemap b;
    dg_err err;
    assert_int_equal(dg_basemap_load(path, &b, &err), DG_OK);
    free(path);
    char *dir = tu_tmpdir();
    dg_extent e = {100, 130, 18, 45};
    for (int kind = 0; kind < DG_MAP_KINDS; kind++) {
        dg_geo_map m = {.kind = (dg_map_kind)kind, .projection = DG_PROJ_EQUIRECT, .extent = e,
                        .basemap = &b};
        char png[512];
        snprintf(png, sizeof png, "%s/%s.png", dir, dg_map_kind_name((dg_map_kind)kind));
        assert_int_equal(dg_geo_map_save(&s, &m, png, &err), DG_OK);
        int W, H;
        dg_geo_map_default_size((dg_map_kind)kind, &W, &H);
        cairo_surface_t *img = cairo_image_surface_create_from_png(png);
        assert_int_equal(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
        assert_int_equal(cairo_image_surface_get_width(img), W);
        assert_int_equal(cairo_image_surface_get_height(img), H);
        assert_true(count_colour(img, 0x5a5a5a) > 500); /* coastlines */
        if (kind == DG_MAP_GENDER) {
            /* Male blue on the left panel only, female vermilion on the right. */
            assert_true(tinted(img, 0, W / 2, dg_palette(0)) > 50);
            assert_true(tinted(img, W / 2, W, dg_palette(0)) < 5);
            assert_true(tinted(img, W / 2, W, dg_palette(3)) > 50);
        }
        if (kind == DG_MAP_ALL) {
            /* Ink where Beijing is, none in the empty west: the panel's own
             * projection, not a copy of its layout. */
            dg_proj p;
            dg_geo_map_panel_proj(&m, W, H, 0, &p);
            double x, y;
            dg_proj_forward(&p, 116.6, 39.93, &x, &y);
            const unsigned char *px = cairo_image_surface_get_data(img);
            int stride = cairo_image_surface_get_stride(img);
            const unsigned char *at = px + (int)y * stride + (int)x * 4;
            assert_true(at[0] > at[2] + 60); /* blue */
            dg_proj_forward(&p, 103, 35, &x, &y);
            at = px + (int)y * stride + (int)x * 4;
            assert_false(at[0] > at[2] + 60);
        }
        cairo_surface_destroy(img);
    }
    /* Too small an image is refused, with the size named. */
    dg_geo_map m = {.kind = DG_MAP_AGE, .extent = e, .width = 300, .height = 300};
    unsigned char *png;
    size_t len;
    assert_int_equal(dg_geo_map_png(&s, &m, &png, &len, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "300x300 is too small for 3 panels"));
    dg_basemap_free(&b);
    dg_plot_release();
    tu_rmrf(dir);
    free(dir);
}

static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
    char args[4096], cmd[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "DEMOGRAPHER_ASSETS=%s %s %s", getenv("DG_ASSETS"), tu_bin(), args);
    return tu_run(cmd, out);
}

static void maps_command(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *out;
    assert_int_equal(run(&out, "synth --quiet --out %s/d --devices 1500 --seed 4", dir), 0);
    free(out);
    assert_int_equal(run(&out, "maps %s/d --no-snapshot --out %s/m --sample 3000 --seed 2 "
                               "--size 1400x700",
                         dir, dir),
                     0);
    assert_non_null(strstr(out, "maps-gender.png"));
    assert_non_null(strstr(out, "3000 of "));
    free(out);
    static const char *const names[] = {"all", "gender", "age"};
    for (int k = 0; k < 3; k++) {
        char png[512];
        snprintf(png, sizeof png, "%s/m/maps-%s.png", dir, names[k]);
        cairo_surface_t *img = cairo_image_surface_create_from_png(png);
        assert_int_equal(cairo_surface_status(img), CAIRO_STATUS_SUCCESS);
        assert_int_equal(cairo_image_surface_get_width(img), 1400);
        assert_int_equal(cairo_image_surface_get_height(img), 700);
        assert_true(count_colour(img, 0x5a5a5a) > 300);
        assert_true(tinted(img, 0, 1400, k == 0 ? dg_palette(4) : dg_palette(0)) > 100);
        cairo_surface_destroy(img);
    }
    /* Same seed, same bytes. */
    assert_int_equal(run(&out, "maps %s/d --no-snapshot --quiet --out %s/m2 --sample 3000 --seed 2 "
                               "--size 1400x700 && cmp %s/m/maps-age.png %s/m2/maps-age.png",
                         dir, dir, dir, dir),
                     0);
    free(out);

    /* Bad input, named. */
    assert_int_equal(run(&out, "maps %s/d --out %s/x --extent 120,100,20,40", dir, dir), 2);
    assert_non_null(strstr(out, "demographer maps: --extent: extent '120,100,20,40': expected -180 "
                                "<= LON0 < LON1 <= 180, found 120 and 100"));
    free(out);
    assert_int_equal(run(&out, "maps %s/d --out %s/x --extent 100,120,20", dir, dir), 2);
    assert_non_null(strstr(out, "expected ',' after LAT0"));
    free(out);
    assert_int_equal(run(&out, "maps %s/d --out %s/x --size 800", dir, dir), 2);
    assert_non_null(strstr(out, "--size '800': expected WIDTHxHEIGHT in pixels"));
    free(out);
    assert_int_equal(run(&out, "maps %s/d --out %s/x --size 100x50", dir, dir), 2);
    assert_non_null(strstr(out, "expected each side in 200..16384 pixels, found 100x50"));
    free(out);
    assert_int_equal(run(&out, "maps %s/d --out %s/x --sample 0", dir, dir), 2);
    assert_non_null(strstr(out, "--sample expects a whole number from 1"));
    free(out);
    assert_int_equal(run(&out, "maps %s/d --out %s/x --projection robinson", dir, dir), 2);
    assert_non_null(strstr(out, "expected equirect or mercator"));
    free(out);
    assert_int_equal(run(&out, "maps %s/d", dir), 2);
    assert_non_null(strstr(out, "give --out DIR"));
    free(out);
    /* Three panels do not fit in 300 pixels: nothing written. */
    assert_int_equal(run(&out, "maps %s/d --no-snapshot --out %s/y --size 300x300", dir, dir), 1);
    assert_non_null(strstr(out, "too small"));
    free(out);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -e %s/y/maps-all.png", dir);
    assert_int_equal(tu_run(cmd, NULL), 1);
    /* Without the labels: the map of all events, and the others said missing. */
    snprintf(cmd, sizeof cmd, "cp -r %s/d %s/nolabels && rm %s/nolabels/gender_age_train.csv", dir,
             dir, dir);
    assert_int_equal(tu_run(cmd, NULL), 0);
    assert_int_equal(run(&out, "maps %s/nolabels --no-snapshot --quiet --out %s/z --sample 500", dir,
                         dir),
                     0);
    assert_non_null(strstr(out, "not drawn: maps-gender.png and maps-age.png need the labels table"));
    free(out);
    snprintf(cmd, sizeof cmd, "test -s %s/z/maps-all.png && test ! -e %s/z/maps-gender.png", dir, dir);
    assert_int_equal(tu_run(cmd, NULL), 0);
    assert_int_equal(run(&out, "maps %s/d --out %s/x --basemap %s/none.txt", dir, dir, dir), 1);
    assert_non_null(strstr(out, "cannot open the basemap"));
    free(out);
    /* --help names every option it accepts. */
    assert_int_equal(run(&out, "maps --help"), 0);
    for (const char *o = "--out\0--sample\0--seed\0--extent\0--size\0--projection\0--basemap\0"
                         "--rules\0--no-clean\0--quiet\0";
         *o; o += strlen(o) + 1)
        assert_non_null(strstr(out, o));
    free(out);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sample_is_seeded_and_valid),
        cmocka_unit_test(sample_cancels),
        cmocka_unit_test(projections),
        cmocka_unit_test(extents),
        cmocka_unit_test(density_counts),
        cmocka_unit_test(basemap_asset),
        cmocka_unit_test(maps_drawn),
        cmocka_unit_test(maps_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
