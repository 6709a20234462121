/* demographer maps: the brief's three maps of a seeded sample of events (all
 * events; male and female; the three age groups) as PNG images. */
#include "demographer/geo.h"
#include "demographer/plot.h"

#include "cli.h"
#include "cli_progress.h"

#include <stdlib.h>
#include <string.h>

/* "WxH" with each side in [200, 16384]. */
static int parse_size(const char *s, int *w, int *h)
{
    char *end;
    long a = strtol(s, &end, 10), b;
    if (end == s || (*end != 'x' && *end != 'X'))
        return cli_usage_error("maps", "--size '%s': expected WIDTHxHEIGHT in pixels, e.g. 1900x800", s);
    const char *q = end + 1;
    b = strtol(q, &end, 10);
    if (end == q || *end)
        return cli_usage_error("maps", "--size '%s': expected WIDTHxHEIGHT in pixels, e.g. 1900x800", s);
    if (a < 200 || a > 16384 || b < 200 || b > 16384)
        return cli_usage_error("maps", "--size '%s': expected each side in 200..16384 pixels, found %ldx%ld",
                               s, a, b);
    *w = (int)a;
    *h = (int)b;
    return 0;
}

static const cli_option options[] = {
    CLI_VALUE('o', 'o', "out", "DIR",
              "where to write the maps (created if missing; written whole or not at all, an "
              "earlier DIR replaced; never over an input)"),
    CLI_VALUE('n', 'n', "sample", "N", "events per sample (default 100000; fewer when fewer exist)"),
    CLI_VALUE('s', 's', "seed", "S", "the sample's seed (default 1): same data, N and S, same maps"),
    CLI_VALUE('e', 'e', "extent", "LON0,LON1,LAT0,LAT1",
              "the area shown, in degrees (default: the sample's extent, from its 0.1st to "
              "99.9th percentile, with a 5% margin)"),
    CLI_VALUE('z', 'z', "size", "WxH",
              "pixels of each image (default: 900x650 of map per panel plus margins: "
              "1000x852, 1924x852, 2848x852)"),
    CLI_VALUE('P', 'P', "projection", "P",
              "equirect (default; true scale at the middle latitude) or mercator"),
    CLI_VALUE('b', 'b', "basemap", "FILE",
              "another basemap in the asset's format (default: the installed "
              "basemap-east-asia.txt)"),
    CLI_INCLUDE(cli_clean_options),
    CLI_INCLUDE(cli_data_options),
    CLI_FLAG('q', 'q', "quiet", "no progress and no list of files written"),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    dg_load_opts o = {.use_snapshot = 1};
    const char *out = NULL, *basemap_path = NULL;
    cli_clean_opts co = {0};
    int quiet = 0, have_extent = 0, width = 0, height = 0, ch, taken;
    uint64_t sample = 100000, seed = 1;
    dg_projection projection = DG_PROJ_EQUIRECT;
    dg_extent extent;
    dg_err err;
    cli_parser p;
    cli_parse_start(&p, &cli_maps, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        if ((taken = cli_data_option("maps", ch, optarg, &o)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        if (cli_clean_option(ch, optarg, &co))
            continue;
        switch (ch) {
        case 'o': out = optarg; break;
        case 'n':
            if (cli_parse_u64("maps", "--sample", optarg, 1, 50000000, &sample) != 0)
                return DG_EXIT_USAGE;
            break;
        case 's':
            if (cli_parse_u64("maps", "--seed", optarg, 0, UINT64_MAX, &seed) != 0)
                return DG_EXIT_USAGE;
            break;
        case 'e':
            if (dg_extent_parse(optarg, &extent, &err) != DG_OK)
                return cli_usage_error("maps", "--extent: %s", err.msg);
            have_extent = 1;
            break;
        case 'z':
            if (parse_size(optarg, &width, &height) != 0)
                return DG_EXIT_USAGE;
            break;
        case 'P':
            if (strcmp(optarg, "equirect") == 0)
                projection = DG_PROJ_EQUIRECT;
            else if (strcmp(optarg, "mercator") == 0)
                projection = DG_PROJ_MERCATOR;
            else
                return cli_usage_error("maps", "--projection '%s': expected equirect or mercator",
                                       optarg);
            break;
        case 'b': basemap_path = optarg; break;
        case 'q': quiet = 1; break;
        default: return cli_option_unhandled("maps", ch);
        }
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
    if (optind + 1 != argc)
        return cli_usage_error("maps", "%s", "expects exactly one DATA_DIR");
    if (!out)
        return cli_usage_error("maps", "%s", "give --out DIR");

    dg_basemap basemap;
    const char *bpath = basemap_path ? basemap_path : cli_asset("basemap-east-asia.txt");
    const char *inputs[] = {co.rules_path, bpath};
    dg_outdir od = {0};
    if (cli_output_apart("maps", "--out", out, argv[optind], &o, inputs, 2))
        return 1;
    if (dg_basemap_load(bpath, &basemap, &err) != DG_OK) {
        fprintf(stderr, "demographer maps: %s\n", err.msg);
        return 1;
    }
    if (cli_outdir_begin("maps", &od, out)) {
        dg_basemap_free(&basemap);
        return 1;
    }
    dg_dataset ds;
    dg_dataset_init(&ds);
    int rc = cli_load_cleaned("maps", argv[optind], &o, quiet, co.rules_path, co.no_clean, &ds);
    dg_geo_sample all, labelled;
    memset(&all, 0, sizeof all);
    memset(&labelled, 0, sizeof labelled);
    cli_progress bar;
    dg_progress progress = cli_progress_start(&bar, quiet);
    double t0 = dg_now();
    /* Without labels the map of all events is still drawn; the other two are
     * said to be missing. */
    int kinds = rc == 0 && dg_dataset_table(&ds, DG_T_LABELS) ? DG_MAP_KINDS : 1;
    if (rc == 0 && (dg_geo_sample_events(&ds, (uint32_t)sample, seed, 0, &all, &progress, &err) != DG_OK ||
                    (kinds > 1 && dg_geo_sample_events(&ds, (uint32_t)sample, seed, 1, &labelled,
                                                       &progress, &err) != DG_OK) ||
                    (!have_extent && dg_extent_of_sample(&all, &extent, &err) != DG_OK))) {
        cli_progress_done(&bar);
        fprintf(stderr, "demographer maps: %s\n", err.msg);
        rc = 1;
    }
    for (int k = 0; rc == 0 && k < kinds; k++) {
        dg_geo_map m = {.kind = (dg_map_kind)k, .projection = projection, .extent = extent,
                        .width = width, .height = height, .basemap = &basemap};
        size_t n = strlen(od.partial) + 32;
        char *path = dg_xmalloc(n);
        snprintf(path, n, "%s/maps-%s.png", od.partial, dg_map_kind_name((dg_map_kind)k));
        if (dg_progress_report(&progress, "draw maps", k, DG_MAP_KINDS, "maps")) {
            rc = 1; /* interrupted: nothing is left (the folder is written whole) */
        } else if (dg_geo_map_save(k == DG_MAP_ALL ? &all : &labelled, &m, path, &err) != DG_OK) {
            cli_progress_done(&bar);
            fprintf(stderr, "demographer maps: %s\n", err.msg);
            rc = 1;
        }
        free(path);
    }
    cli_progress_done(&bar);
    rc = cli_outdir_end("maps", &od, rc);
    for (int k = 0; rc == 0 && !quiet && k < kinds; k++)
        printf("map: %s/maps-%s.png\n", out, dg_map_kind_name((dg_map_kind)k));
    if (rc == 0 && kinds == 1)
        fprintf(stderr, "demographer maps: not drawn: maps-gender.png and maps-age.png need the "
                        "labels table (gender_age_train.csv or train.csv)\n");
    if (rc == 0 && !quiet)
        printf("%u of %llu events sampled (seed %llu), %u of %llu from labelled devices; "
               "extent %.2f,%.2f,%.2f,%.2f; %.2f s after loading\n",
               all.n, (unsigned long long)all.eligible, (unsigned long long)seed, labelled.n,
               (unsigned long long)labelled.eligible, extent.lon0, extent.lon1, extent.lat0,
               extent.lat1, dg_now() - t0);
    dg_geo_sample_free(&all);
    dg_geo_sample_free(&labelled);
    dg_basemap_free(&basemap);
    dg_plot_release();
    dg_dataset_free(&ds);
    return rc;
}

const cli_command cli_maps = {
    "maps", run, "draw the three maps of a sample of events on the East Asia basemap",
    "Usage: demographer maps DATA_DIR --out DIR [--sample N] [--seed S]\n"
    "                        [--extent LON0,LON1,LAT0,LAT1] [--size WxH]\n"
    "                        [--projection equirect|mercator] [--basemap FILE]\n"
    "                        [--rules FILE | --no-clean] [data options] [--quiet]\n"
    "\n"
    "Loads DATA_DIR, cleans it (the default rules, or --rules FILE; --no-clean skips\n"
    "cleaning), draws a seeded sample of events with observed coordinates (missing and\n"
    "imputed locations are left out) and writes three maps on a basemap of East Asia's\n"
    "coastlines and land borders (Natural Earth), with a graticule, the events as a\n"
    "density layer and each panel's counts:\n"
    "  DIR/maps-all.png     all sampled events\n"
    "  DIR/maps-gender.png  male and female side by side (a second sample of the same\n"
    "                       size, from events of labelled devices only)\n"
    "  DIR/maps-age.png     age groups 0-24, 25-32 and 33+ side by side (that sample)\n"
    "Panels of one map share the extent, the scale and the colour scale. Each file is\n"
    "written atomically. Without cleaning, placeholder locations such as (0,0) are\n"
    "not marked missing and are drawn like any other.\n"
    "\n",
    options,
};
