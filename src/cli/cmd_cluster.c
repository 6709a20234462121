/* demographer cluster: DBSCAN on the cleaned events' locations, a sweep over
 * eps x min_pts, and the k-distance curve that helps choose eps. */
#include "demographer/cluster.h"
#include "demographer/plot.h"

#include "cli.h"
#include "cli_progress.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The defaults: see the man page (chosen on the k-distance curve of the
 * generated full-size set). */
#define DEFAULT_EPS_KM 1.2
#define DEFAULT_MIN_PTS 10
#define MAX_SWEEP 32

/* A distance in km for option opt: a number above 0 and at most 10000. */
static int parse_km(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || !(v > 0) || v > 10000) {
        cli_usage_error("cluster", "%s expects a distance in km above 0 and at most 10000, got '%s'",
                        opt, s);
        return DG_ERR;
    }
    *out = v;
    return DG_OK;
}

/* EPS,EPS,...:MINPTS,MINPTS,... */
static int parse_sweep(const char *arg, double *eps, int *neps, double *minpts, int *nmin)
{
    const char *colon = strchr(arg, ':');
    if (!colon || strchr(colon + 1, ':'))
        return cli_usage_error("cluster",
                               "--sweep expects EPS,EPS,...:MINPTS,MINPTS,... (km, then whole "
                               "numbers; e.g. 0.5,1,2:5,10), got '%s'",
                               arg);
    char *copy = dg_xstrdup(arg);
    copy[colon - arg] = '\0';
    char *parts[2] = {copy, copy + (colon - arg) + 1};
    int rc = 0;
    *neps = *nmin = 0;
    for (int half = 0; half < 2 && rc == 0; half++) {
        char *p = parts[half];
        for (;;) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = '\0';
            int *cnt = half ? nmin : neps;
            if (*cnt == MAX_SWEEP) {
                rc = cli_usage_error("cluster", "--sweep takes at most %d values on each side of ':', got more in '%s'",
                                     MAX_SWEEP, arg);
                break;
            }
            if (half == 0) {
                if (parse_km("--sweep (an eps)", p, &eps[*cnt]) != DG_OK) {
                    rc = DG_EXIT_USAGE;
                    break;
                }
            } else {
                uint64_t v;
                if (cli_parse_u64("cluster", "--sweep (a min-pts)", p, 1, 1000000000, &v) != DG_OK) {
                    rc = DG_EXIT_USAGE;
                    break;
                }
                minpts[*cnt] = (double)v;
            }
            (*cnt)++;
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    free(copy);
    return rc;
}

static void print_sweep(const dg_dbscan_sweep_row *rows, int n)
{
    printf("%10s %8s %9s %14s %9s %9s %9s\n", "eps_km", "min_pts", "clusters", "core_locations",
           "noise_%", "largest_%", "seconds");
    for (int i = 0; i < n; i++)
        printf("%10g %8g %9d %14llu %9.2f %9.2f %9.3f\n", rows[i].eps_km, rows[i].min_pts,
               rows[i].clusters, (unsigned long long)rows[i].core_locations,
               100 * rows[i].noise_share, 100 * rows[i].largest_share, rows[i].seconds);
}

/* The output folder is written as DIR.partial-PID and published whole at
 * the end: the files are named under DIR. */
static const char *partial_dir, *final_dir;

static void print_written(const char *path)
{
    size_t n = partial_dir ? strlen(partial_dir) : 0;
    if (n && strncmp(path, partial_dir, n) == 0)
        printf("written: %s%s\n", final_dir, path + n);
    else
        printf("written: %s\n", path);
}

static char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = dg_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* The work after loading: returns the exit status. */
static int cluster_data(const dg_dataset *ds, double eps, double min_pts, const char *sweep_arg,
                        double *seps, int neps, double *smin, int nmin, const char *kdist_png,
                        const char *out, int quiet)
{
    dg_err err;
    dg_cluster_input in;
    if (dg_cluster_input_build(&in, ds, &err) != DG_OK) {
        fprintf(stderr, "demographer cluster: %s\n", err.msg);
        return 1;
    }
    cli_progress cp;
    dg_progress pr = cli_progress_start(&cp, quiet);
    int rc = 0;
    char *path = NULL;
    printf("events %llu, with an observed location %zu, distinct locations %u\n",
           (unsigned long long)in.nevents, in.n, in.locs.n);
    if (rc == 0 && sweep_arg) {
        dg_dbscan_sweep_row *rows = dg_xcalloc((size_t)neps * nmin, sizeof *rows);
        if (dg_dbscan_sweep(&in.locs, seps, neps, smin, nmin, rows, &pr, &err) != DG_OK)
            rc = 1;
        cli_progress_done(&cp);
        if (rc == 0)
            print_sweep(rows, neps * nmin);
        if (rc == 0 && out) {
            path = path_in(out, "sweep.csv");
            rc = dg_cluster_write_sweep(rows, neps * nmin, path, &err) != DG_OK;
            if (rc == 0) { /* and its chart, as the Geo pane draws it */
                free(path);
                path = path_in(out, "sweep.png");
                dg_sweep_chart *sc = dg_xmalloc(sizeof *sc);
                dg_sweep_chart_of(rows, neps * nmin, eps, sc);
                rc = dg_chart_save(&sc->chart, path, &err) != DG_OK;
                free(sc);
            }
        }
        free(rows);
    } else if (rc == 0) {
        int32_t *label = dg_xmalloc(((size_t)in.locs.n + 1) * sizeof *label);
        uint8_t *core = dg_xmalloc((size_t)in.locs.n + 1);
        dg_dbscan_report r;
        rc = dg_dbscan_run(&in.locs, eps, min_pts, label, core, &r, &pr, &err) != DG_OK;
        cli_progress_done(&cp);
        if (rc == 0) {
            double tw = r.total_weight > 0 ? r.total_weight : 1;
            printf("eps %g km, min_pts %g: %d clusters, %llu core events, %llu noise events "
                   "(%.2f%%), largest cluster %.2f%% of the events, %.3f s\n",
                   eps, min_pts, r.clusters, (unsigned long long)r.core_points,
                   (unsigned long long)r.noise_points, 100 * r.noise_weight / tw,
                   100 * r.largest_cluster_weight / tw, r.seconds);
        }
        if (rc == 0 && out) {
            path = path_in(out, "locations.csv");
            rc = dg_cluster_write_locations(&in.locs, label, core, path, &err) != DG_OK;
            free(path);
            path = NULL;
        }
        if (rc == 0 && out) {
            dg_cluster_summary *s = dg_cluster_summarize(ds, &in, label, r.clusters);
            path = path_in(out, "clusters.csv");
            rc = dg_cluster_write_summary(s, r.clusters, path, &err) != DG_OK;
            free(s);
        }
        free(label);
        free(core);
    }
    if (rc == 0 && !quiet && out)
        print_written(path);
    free(path);
    path = NULL;
    if (rc == 0 && (kdist_png || out)) {
        dg_kdist kd;
        pr = cli_progress_start(&cp, quiet);
        rc = dg_kdist_compute(&in.locs, min_pts, &kd, &pr, &err) != DG_OK;
        int have_kd = rc == 0;
        cli_progress_done(&cp);
        if (rc == 0) {
            printf("k-distance (k = %g, the point itself counted): knee at %.3f km, the "
                   "suggested eps (%u of %u locations below it), %.3f s\n",
                   min_pts, kd.knee_km, kd.knee_index, kd.nsorted, kd.seconds);
            path = kdist_png ? dg_xstrdup(kdist_png) : path_in(out, "kdist.png");
            rc = dg_kdist_chart_save(&kd, eps, path, &err) != DG_OK;
            if (rc == 0 && !quiet)
                print_written(path);
        }
        if (rc == 0 && out) {
            free(path);
            path = path_in(out, "kdist.csv");
            rc = dg_kdist_write_csv(&kd, path, &err) != DG_OK;
            if (rc == 0 && !quiet)
                print_written(path);
        }
        if (have_kd)
            dg_kdist_free(&kd);
        dg_plot_release();
    }
    free(path);
    if (rc != 0)
        fprintf(stderr, "demographer cluster: %s\n", err.msg);
    dg_cluster_input_free(&in);
    return rc;
}



static const cli_option options[] = {
    CLI_VALUE('e', 'e', "eps", "KM",
              "the neighbourhood radius in km (default " CLI_STR(DEFAULT_EPS_KM) ")"),
    CLI_VALUE('m', 'm', "min-pts", "N",
              "events within eps that make a core point (default " CLI_STR(DEFAULT_MIN_PTS) ")"),
    CLI_VALUE('S', 'S', "sweep", "E,..:N,..",
              "run every pair of the eps values (km) and min-pts values and print a table "
              "instead of one run (at most " CLI_STR(MAX_SWEEP) " of each)"),
    CLI_VALUE('k', 'k', "kdist", "FILE.png",
              "draw the sorted k-distance curve (k = --min-pts) with its knee, the suggested "
              "eps"),
    CLI_VALUE('o', 'o', "out", "DIR",
              "write locations.csv (lat,lon,weight,cluster,core per distinct location), "
              "clusters.csv (cluster,events,devices,locations,lat,lon,radius_km), or sweep.csv "
              "and sweep.png with --sweep; and kdist.csv and kdist.png (unless --kdist names "
              "the PNG); the folder is written whole or not at all (an earlier DIR replaced; "
              "never over an input)"),
    CLI_INCLUDE(cli_clean_options),
    CLI_INCLUDE(cli_data_options),
    CLI_FLAG('q', 'q', "quiet", "no progress and no list of files written"),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    dg_load_opts o = {.use_snapshot = 1};
    const char *out = NULL, *sweep_arg = NULL, *kdist_png = NULL;
    cli_clean_opts co = {0};
    double eps = DEFAULT_EPS_KM, min_pts = DEFAULT_MIN_PTS;
    double seps[MAX_SWEEP], smin[MAX_SWEEP];
    int neps = 0, nmin = 0, quiet = 0, ch, taken;
    uint64_t v;
    cli_parser p;
    cli_parse_start(&p, &cli_cluster, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        if ((taken = cli_data_option("cluster", ch, optarg, &o)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        if (cli_clean_option(ch, optarg, &co))
            continue;
        switch (ch) {
        case 'e':
            if (parse_km("--eps", optarg, &eps) != DG_OK)
                return DG_EXIT_USAGE;
            break;
        case 'm':
            if (cli_parse_u64("cluster", "--min-pts", optarg, 1, 1000000000, &v) != DG_OK)
                return DG_EXIT_USAGE;
            min_pts = (double)v;
            break;
        case 'S':
            sweep_arg = optarg;
            if ((taken = parse_sweep(optarg, seps, &neps, smin, &nmin)) != 0)
                return taken;
            break;
        case 'k': kdist_png = optarg; break;
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        default: return cli_option_unhandled("cluster", ch);
        }
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
    if (optind + 1 != argc)
        return cli_usage_error("cluster", "%s", "expects exactly one DATA_DIR");
    /* Nothing over an input, and the PNG of --kdist not inside the folder
     * that --out replaces whole. */
    dg_outdir od = {0};
    if ((out && cli_output_apart("cluster", "--out", out, argv[optind], &o, &co.rules_path, 1)) ||
        (kdist_png &&
         cli_output_apart("cluster", "--kdist", kdist_png, argv[optind], &o, &co.rules_path, 1)))
        return 1;
    if (kdist_png && out && cli_output_apart("cluster", "--kdist", kdist_png, out, NULL, NULL, 0))
        return 1;
    if (out && cli_outdir_begin("cluster", &od, out))
        return 1;
    partial_dir = od.partial;
    final_dir = od.dir;
    dg_dataset ds;
    dg_dataset_init(&ds);
    int rc = cli_load_cleaned("cluster", argv[optind], &o, quiet, co.rules_path, co.no_clean, &ds);
    if (rc == 0)
        rc = cluster_data(&ds, eps, min_pts, sweep_arg, seps, neps, smin, nmin, kdist_png,
                          od.partial, quiet);
    partial_dir = final_dir = NULL;
    rc = cli_outdir_end("cluster", &od, rc);
    dg_dataset_free(&ds);
    return rc;
}


const cli_command cli_cluster = {
    "cluster", run, "DBSCAN on the events' locations, eps x min-pts sweeps, k-distance",
    "Usage: demographer cluster DATA_DIR [--eps KM] [--min-pts N] [--sweep EPS,..:N,..]\n"
    "                           [--kdist FILE.png] [--out DIR] [--rules FILE | --no-clean]\n"
    "                           [data options] [--quiet]\n"
    "\n"
    "Loads and cleans DATA_DIR, then runs DBSCAN with haversine distance on the events\n"
    "whose location was observed (cleaned data; without cleaning, every event with\n"
    "coordinates), equal coordinates collapsed into one weighted location. A location is\n"
    "a core point when N events or more lie within KM of it, its own included (as\n"
    "scikit-learn's min_samples counts). Prints points, distinct locations, clusters,\n"
    "noise share and largest cluster share (of the events) and the seconds taken.\n"
    "\n",
    options,
};
