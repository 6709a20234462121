/* demographer db-import: copies a data directory into a database, MySQL
 * protocol (the same as mysql-import) or a ClickHouse cluster (sharded by
 * device, source_clickhouse.h). */
#include "demographer/source_clickhouse.h"

#include "cli.h"
#include "cli_progress.h"
#include "cli_sources.h"

#include <stdlib.h>
#include <string.h>

/* --engine mysql: mysql-import with the same arguments, --engine left out. */
static int as_mysql_import(int argc, char **argv)
{
    char **rest = dg_xcalloc((size_t)argc + 1, sizeof *rest);
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc) {
            i++;
            continue;
        }
        if (strncmp(argv[i], "--engine=", 9) == 0)
            continue;
        rest[n++] = argv[i];
    }
    rest[0] = (char *)"mysql-import";
    int rc = cli_mysql_import.run(n, rest);
    free(rest);
    return rc;
}

static const cli_option options[] = {
    CLI_VALUE(CLI_OPT_SHARD_URL, 0, "shard-url", "URL",
              "a shard's HTTP URL (repeat, one per shard)"),
    CLI_INCLUDE(cli_import_options),
    CLI_INCLUDE(cli_mysql_options),
    CLI_INCLUDE(cli_ch_options),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    cli_sources src = {0};
    cli_import_opts io = {0};
    int ch;
    cli_parser p;
    cli_parse_start(&p, &cli_db_import, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        if (!cli_sources_opt(&src, ch, optarg) && !cli_import_opt(&io, ch))
            return cli_option_unhandled("db-import", ch);
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
    int engine = cli_sources_engine("db-import", &src);
    if (engine < 0)
        return DG_EXIT_USAGE;
    if (engine == 0) {
        if (src.url || src.cluster || src.nshard_urls)
            return cli_usage_error("db-import", "%s",
                                   "--url, --cluster and --shard-url go with --engine clickhouse");
        return as_mysql_import(argc, argv);
    }
    if (optind + 1 != argc)
        return cli_usage_error("db-import", "%s", "expects exactly one DATA_DIR");
    if (src.too_many_shard_urls)
        return cli_usage_error("db-import", "%s", "at most 64 --shard-url");
    if (src.nshard_urls == 0)
        return cli_usage_error("db-import", "%s",
                               "--engine clickhouse needs --shard-url URL for each shard, in "
                               "the cluster's order (the shards' tables are created there)");
    const char *dir = argv[optind];
    dg_ch_config cfg;
    dg_ch_config_init(&cfg);
    int code;
    if (cli_ch_resolve("db-import", &src, &cfg, &code) != DG_OK) {
        dg_ch_config_free(&cfg);
        return code;
    }
    cli_progress cp;
    dg_progress pr = cli_progress_start(&cp, io.quiet);
    dg_load_opts lo = {.lenient = io.lenient, .progress = &pr, .keep_cut_ids = 1};
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    dg_ch_import_report rep;
    int rc = dg_dataset_load(&ds, dir, &lo, &err);
    if (rc == DG_OK)
        rc = dg_ch_import(&cfg, src.shard_urls, src.nshard_urls, &ds, &pr, &rep, &err);
    cli_progress_done(&cp);
    if (rc != DG_OK) {
        fprintf(stderr, "demographer db-import: %s\n", err.msg);
        dg_dataset_free(&ds);
        dg_ch_config_free(&cfg);
        return 1;
    }
    printf("%s: %s shape, imported into %s database %s (cluster %s, %d shards) in %.2f s\n", dir,
           dg_shape_name(ds.shape), cfg.url, cfg.database, cfg.cluster, rep.shards, rep.seconds);
    cli_print_import_tables(rep.table, rep.rows);
    dg_dataset_free(&ds);
    dg_ch_config_free(&cfg);
    return 0;
}

const cli_command cli_db_import = {
    "db-import", run, "copy a data directory into a database (MySQL protocol or ClickHouse)",
    "Usage: demographer db-import DATA_DIR --engine clickhouse --url URL --user NAME\n"
    "                             --password-file FILE --shard-url URL... [--database NAME]\n"
    "                             [--cluster NAME] [--lenient] [--quiet]\n"
    "       demographer db-import DATA_DIR --engine mysql [mysql-import's options]\n"
    "\n"
    "--engine mysql is mysql-import (see demographer help mysql-import).\n"
    "--engine clickhouse loads DATA_DIR and writes each table into the cluster: on each\n"
    "shard (--shard-url, one per shard of the cluster, in the order of system.clusters) a\n"
    "MergeTree table NAME_local_GEN (GEN names the import), on the coordinator (--url) a\n"
    "Distributed table NAME over them, under mysql-import's table names (train, brand_device, events, app_events,\n"
    "gender_age_test, app_labels, label_categories, train_test_split). The device tables\n"
    "are sharded by cityHash64(device_id); each app event carries its event's device_id\n"
    "and timestamp, so that it lives on its device's shard and the per-device features\n"
    "need no join across shards (features --db --engine clickhouse). A `dg_row` column\n"
    "keeps the file order. Everything is written to new tables and counted; only then\n"
    "does one RENAME on the coordinator put the set in place: a failed or killed import\n"
    "leaves the earlier data whole, and the next import drops what it left. One import\n"
    "at a time. The user needs CREATE, DROP, INSERT and RENAME on the database of every\n"
    "server.\n"
    "\n",
    options,
};
