/* demographer features: per-device features from the cleaned tables. */
#include "demographer/cluster.h"
#include "demographer/features.h"
#include "demographer/pushdown.h"

#include "cli.h"
#include "cli_progress.h"
#include "cli_sources.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* features --db: the aggregation runs on the server (pushdown.h). */
/* features --db --raw: every row fetched (as load-db does), then the local
 * path; what the pushdown is measured against (bench/db.sh). */
static int raw_features(const dg_mysql_config *cfg, const dg_rules *rules,
                        const dg_supercats *sc, double eps, double min_pts, dg_features *f,
                        dg_dataset *ds, dg_dbscan_report *cr, const dg_progress *pr, dg_err *err)
{
    dg_mysql_load_opts lo = {.progress = pr};
    if (dg_mysql_load(ds, cfg, &lo, err) != DG_OK)
        return DG_ERR;
    if (rules) {
        dg_rule_effect *fx = dg_xcalloc((size_t)rules->n + 1, sizeof *fx);
        int rc = dg_clean(ds, rules, fx, NULL, err);
        free(fx);
        if (rc != DG_OK)
            return DG_ERR;
    }
    return dg_features_for_models(ds, sc, eps, min_pts, f, cr, pr, err);
}

/* The same two on ClickHouse. */
static int features_clickhouse(const dg_ch_config *cfg, const dg_rules *rules,
                               const dg_supercats *sc, double eps, double min_pts, int raw,
                               dg_features *f, dg_dataset *ds, dg_dbscan_report *cr,
                               dg_pushdown_report *rep, const dg_progress *pr, dg_err *err)
{
    if (!raw)
        return dg_features_pushdown_clickhouse(cfg, rules, sc, eps, min_pts, f, ds, cr, rep, pr,
                                               err);
    if (dg_ch_load(ds, cfg, NULL, pr, &rep->bytes, err) != DG_OK)
        return DG_ERR;
    if (rules) {
        dg_rule_effect *fx = dg_xcalloc((size_t)rules->n + 1, sizeof *fx);
        int rc = dg_clean(ds, rules, fx, NULL, err);
        free(fx);
        if (rc != DG_OK)
            return DG_ERR;
    }
    return dg_features_for_models(ds, sc, eps, min_pts, f, cr, pr, err);
}

static int run_db(const cli_sources *src, const char *out, const char *rules_path, int no_clean,
                  const char *super_path, double cluster_eps, double cluster_min_pts, int quiet,
                  int raw)
{
    /* The same output discipline as the local path: apart from the inputs,
     * written in OUT.partial-PID and published whole. */
    const char *inputs[] = {rules_path, super_path, src->config, src->password_file,
                            src->tls_ca};
    if (cli_output_apart("features", "--out", out, NULL, NULL, inputs, 5))
        return 1;
    dg_sources_config cfg;
    dg_sources_config_init(&cfg);
    dg_ch_config chc;
    dg_ch_config_init(&chc);
    int code, engine = cli_sources_engine("features", src);
    if (engine < 0)
        return CLI_EXIT_USAGE;
    if (engine == 0 && (src->url || src->cluster || src->nshard_urls))
        return cli_usage_error("features", "%s", "--url and --cluster go with --engine clickhouse");
    if (engine == 1 ? cli_ch_resolve("features", src, &chc, &code) != DG_OK
                    : cli_sources_resolve("features", src, 1, &cfg, &code) != DG_OK) {
        dg_sources_config_free(&cfg);
        dg_ch_config_free(&chc);
        return code;
    }
    char server[1200];
    if (engine == 1)
        snprintf(server, sizeof server, "%s %s", chc.url, chc.database);
    else
        snprintf(server, sizeof server, "%s:%u/%s", cfg.mysql.host, cfg.mysql.port,
                 cfg.mysql.database);
    dg_outdir od = {0};
    if (cli_outdir_begin("features", &od, out)) {
        dg_sources_config_free(&cfg);
        dg_ch_config_free(&chc);
        return 1;
    }
    dg_err err;
    dg_supercats sc;
    memset(&sc, 0, sizeof sc);
    dg_rules rules;
    dg_rules_init(&rules);
    int rc = 0;
    if (dg_supercats_load(&sc, super_path ? super_path : cli_asset("supercategories.txt"),
                          &err) != DG_OK)
        rc = 1;
    else if (rules_path && dg_rules_load(&rules, rules_path, &err) != DG_OK)
        rc = 1;
    else if (!rules_path)
        dg_rules_default(&rules);
    dg_features f;
    memset(&f, 0, sizeof f);
    dg_dataset small;
    dg_dataset_init(&small);
    dg_dbscan_report cr;
    memset(&cr, 0, sizeof cr);
    dg_pushdown_report rep;
    memset(&rep, 0, sizeof rep);
    if (rc == 0) {
        cli_progress cp;
        dg_progress pr = cli_progress_start(&cp, quiet);
        if (engine == 1)
            rc = features_clickhouse(&chc, no_clean ? NULL : &rules, &sc, cluster_eps,
                                     cluster_min_pts, raw, &f, &small, &cr, &rep, &pr,
                                     &err) != DG_OK;
        else if (raw)
            rc = raw_features(&cfg.mysql, no_clean ? NULL : &rules, &sc, cluster_eps,
                              cluster_min_pts, &f, &small, &cr, &pr, &err) != DG_OK;
        else
            rc = dg_features_pushdown(&cfg.mysql, no_clean ? NULL : &rules, &sc, cluster_eps,
                                      cluster_min_pts, &f, &small, &cr, &rep, &pr,
                                      &err) != DG_OK;
        rc = rc || dg_features_write(&f, od.partial, &err) != DG_OK;
        cli_progress_done(&cp);
    }
    if (rc)
        fprintf(stderr, "demographer features: %s\n", err.msg);
    rc = cli_outdir_end("features", &od, rc);
    if (rc == 0 && !quiet && raw)
        printf("%s: every row fetched, features computed here\n", server);
    if (rc == 0 && !quiet && !raw) {
        uint64_t agg = 0;
        for (int q = 0; q < DG_PD_NQUERIES; q++)
            agg += rep.rows[q];
        if (engine == 1)
            printf("%s: %.1f MiB received\n", server,
                   (double)rep.bytes / 1048576);
        printf("%s: %llu aggregated rows and %llu rows of the small tables received in "
               "%.2f s%s%s%s\n",
               server, (unsigned long long)agg,
               (unsigned long long)rep.small_rows, rep.seconds_total,
               rep.client_rules[0] ? "; on the client: " : "", rep.client_rules,
               rep.ordered ? "" : "; no dg_row column: first event ids give the order");
        /* The app rows run on a connection of their own, beside the rest. */
        printf("queries:");
        for (int q = 0; q < DG_PD_NQUERIES; q++)
            printf("%s %s %.2f s%s", q ? "," : "", dg_pushdown_query_name(q), rep.seconds[q],
                   q == DG_PD_Q_APPS && engine == 0 ? " (beside the others)" : "");
        printf("\n");
    }
    if (rc == 0 && !quiet) {
        if (dg_features_col(&f, "cluster_home") >= 0)
            printf("clusters: eps %g km, min_pts %g: %d clusters over %llu distinct locations, "
                   "noise %.2f%% of the located events\n",
                   cluster_eps, cluster_min_pts, cr.clusters, (unsigned long long)cr.distinct,
                   cr.total_weight > 0 ? 100 * cr.noise_weight / cr.total_weight : 0);
        printf("%u devices x %d dense features, %llu app and %llu label entries written to %s\n",
               f.ndevices, f.ncols, (unsigned long long)f.apps_installed.nnz,
               (unsigned long long)f.labels.nnz, out);
    }
    dg_features_free(&f);
    dg_dataset_free(&small);
    dg_rules_free(&rules);
    dg_supercats_free(&sc);
    dg_sources_config_free(&cfg);
    dg_ch_config_free(&chc);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_DATA_LONGOPTS,
        CLI_CLEAN_LONGOPTS,
        {"out", required_argument, NULL, 'o'},
        {"super", required_argument, NULL, 's'},
        {"cluster-eps", required_argument, NULL, 'E'},
        {"cluster-min-pts", required_argument, NULL, 'M'},
        {"no-clusters", no_argument, NULL, 'X'},
        {"db", no_argument, NULL, 'D'},
        {"raw", no_argument, NULL, 'R'},
        CLI_MYSQL_LONGOPTS,
        CLI_CH_LONGOPTS,
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    dg_load_opts o = {.use_snapshot = 1};
    cli_sources src = {0};
    int db = 0, raw = 0;
    const char *out = NULL, *rules_path = NULL, *super_path = NULL;
    int quiet = 0, no_clean = 0, no_clusters = 0, ch, taken;
    double cluster_eps = DG_CLUSTER_EPS_KM_DEFAULT, cluster_min_pts = DG_CLUSTER_MIN_PTS_DEFAULT;
    uint64_t v;
    char *end;
    optind = 1;
    while ((ch = getopt_long(argc, argv, CLI_DATA_SHORTOPTS CLI_CLEAN_SHORTOPTS "o:s:E:M:Xqh", longopts, NULL)) != -1) {
        if ((taken = cli_data_option("features", ch, optarg, &o)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        if (cli_sources_opt(&src, ch, optarg))
            continue;
        switch (ch) {
        case 'D': db = 1; break;
        case 'R': raw = 1; break;
        case 'o': out = optarg; break;
        case 'r': rules_path = optarg; break;
        case 'C': no_clean = 1; break;
        case 's': super_path = optarg; break;
        case 'E':
            errno = 0;
            cluster_eps = strtod(optarg, &end);
            if (!*optarg || *end || errno == ERANGE || !(cluster_eps > 0) || cluster_eps > 10000)
                return cli_usage_error("features",
                                       "--cluster-eps expects a distance in km above 0 and at "
                                       "most 10000, got '%s'",
                                       optarg);
            break;
        case 'M':
            if (cli_parse_u64("features", "--cluster-min-pts", optarg, 1, 1000000000, &v) != DG_OK)
                return CLI_EXIT_USAGE;
            cluster_min_pts = (double)v;
            break;
        case 'X': no_clusters = 1; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(cli_features.usage, stdout); return 0;
        default: return cli_usage_error("features", "%s", "unknown option");
        }
    }
    if (db && optind != argc)
        return cli_usage_error("features", "%s", "--db reads the database: no DATA_DIR");
    if (!db && optind + 1 != argc)
        return cli_usage_error("features", "%s", "expects exactly one DATA_DIR (or --db)");
    if (!out)
        return cli_usage_error("features", "%s", "--out DIR is required");
    if (db)
        return run_db(&src, out, rules_path, no_clean, super_path,
                      no_clusters ? 0 : cluster_eps, cluster_min_pts, quiet, raw);
    if (raw)
        return cli_usage_error("features", "%s", "--raw goes with --db");
    dg_err err;
    dg_supercats sc;
    memset(&sc, 0, sizeof sc);
    const char *inputs[] = {rules_path, super_path};
    dg_outdir od = {0};
    if (cli_output_apart("features", "--out", out, argv[optind], &o, inputs, 2) ||
        cli_outdir_begin("features", &od, out))
        return 1;
    if (dg_supercats_load(&sc, super_path ? super_path : cli_asset("supercategories.txt"),
                          &err) != DG_OK) {
        fprintf(stderr, "demographer features: %s\n", err.msg);
        dg_outdir_abort(&od);
        return 1;
    }
    dg_dataset ds;
    dg_dataset_init(&ds);
    int rc = cli_load_cleaned("features", argv[optind], &o, quiet, rules_path, no_clean, &ds);
    dg_features f;
    memset(&f, 0, sizeof f);
    err.msg[0] = '\0';
    dg_dbscan_report cr;
    memset(&cr, 0, sizeof cr);
    if (rc == 0) {
        cli_progress cp;
        dg_progress pr = cli_progress_start(&cp, quiet);
        rc = dg_features_for_models(&ds, &sc, no_clusters ? 0 : cluster_eps, cluster_min_pts, &f,
                                    &cr, &pr, &err) != DG_OK ||
             dg_features_write(&f, od.partial, &err) != DG_OK;
        cli_progress_done(&cp);
        if (rc)
            fprintf(stderr, "demographer features: %s\n", err.msg);
    }
    rc = cli_outdir_end("features", &od, rc);
    if (rc == 0 && !quiet && dg_features_col(&f, "cluster_home") >= 0)
        printf("clusters: eps %g km, min_pts %g: %d clusters over %llu distinct locations, "
               "noise %.2f%% of the located events\n",
               cluster_eps, cluster_min_pts, cr.clusters, (unsigned long long)cr.distinct,
               cr.total_weight > 0 ? 100 * cr.noise_weight / cr.total_weight : 0);
    if (rc == 0 && !quiet)
        printf("%u devices x %d dense features, %llu app and %llu label entries written to %s\n",
               f.ndevices, f.ncols, (unsigned long long)f.apps_installed.nnz,
               (unsigned long long)f.labels.nnz, out);
    dg_features_free(&f);
    dg_dataset_free(&ds);
    dg_supercats_free(&sc);
    return rc;
}

#define STR2(x) #x
#define STR(x) STR2(x)

const cli_command cli_features = {
    "features", run, "build per-device features (CSV, binary, sparse bags)",
    "Usage: demographer features DATA_DIR --out DIR [--super FILE] [--rules FILE | --no-clean]\n"
    "                            [data options] [--quiet]\n"
    "       demographer features --db [connection options] --out DIR [--super FILE]\n"
    "                            [--rules FILE | --no-clean] [--quiet]\n"
    "       demographer features --db --engine clickhouse --url URL --user NAME\n"
    "                            --password-file FILE [--database NAME] --out DIR ...\n"
    "\n"
    "Loads and cleans DATA_DIR, then writes per device: event count, active days, events\n"
    "per day, hour-of-day and weekday shares, median latitude and longitude overall and\n"
    "per part of the day (night 0-5, morning 6-11, afternoon 12-17, evening 18-23), the\n"
    "distance between those medians, the spread and number of distinct locations, app\n"
    "and label counts and label super-category counts, brand and model; and from a DBSCAN\n"
    "of the events' observed locations: the home cluster (-1: all noise), clusters\n"
    "visited, share of the events in the home cluster, noise share (NaN, an empty field,\n"
    "for a device without located events).\n"
    "Files: features.csv, features.bin, apps_installed.csv, apps_active.csv, labels.csv,\n"
    "app_vocab.csv, label_vocab.csv.\n"
    "With --db the per-device aggregation runs on the MySQL-protocol server (MariaDB,\n"
    "a Spider head; TiDB, StarRocks, Doris) as plain GROUP BYs and only per-device rows\n"
    "come back; the files are byte for byte those of the local path on the same data.\n"
    "With --engine clickhouse the same runs on a ClickHouse cluster over HTTP, on the\n"
    "tables db-import --engine clickhouse wrote (the same bytes again).\n"
    "\n"
    "  --db               read the database given by the connection options\n"
    "  --raw              with --db: fetch every row (as load-db) and compute here, for\n"
    "                     comparison\n"
    "  --out DIR          where the files go (the folder written whole or not at all; an\n"
    "                     earlier DIR replaced; never over an input)\n"
    "  --super FILE       super-category rules (default: supercategories.txt of the\n"
    "                     assets: $DEMOGRAPHER_ASSETS, " DG_ASSET_DIR ")\n"
    "  --cluster-eps KM   DBSCAN radius for the cluster columns (default "
    STR(DG_CLUSTER_EPS_KM_DEFAULT) "; see\n"
    "                     demographer cluster --kdist)\n"
    "  --cluster-min-pts N  events within the radius that make a core point (default "
    STR(DG_CLUSTER_MIN_PTS_DEFAULT) ")\n"
    "  --no-clusters      leave the cluster columns out\n"
    CLI_CLEAN_HELP
    CLI_DATA_HELP
    "  --quiet            no progress and no summary\n"
    "\n" CLI_MYSQL_USAGE "\n" CLI_CH_USAGE,
};
