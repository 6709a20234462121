/* demographer load: loads a data directory and reports its tables. */
#include "demographer/dataset.h"

#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <string.h>

/* The column whose distinct count says most about a table: its id. */
static const dg_column *key_column(const dg_table *t)
{
    static const char *keys[] = {"device_id", "app_id", "label_id", "event_id"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        const dg_column *c = dg_table_column(t, keys[k]);
        if (c)
            return c;
    }
    return t->ncols ? &t->cols[0] : NULL;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_DATA_LONGOPTS, {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    dg_load_opts o = {.use_snapshot = 1};
    int quiet = 0, ch, taken;
    optind = 1;
    while ((ch = getopt_long(argc, argv, CLI_DATA_SHORTOPTS "qh", longopts, NULL)) != -1) {
        if ((taken = cli_data_option("load", ch, optarg, &o)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        switch (ch) {
        case 'q': quiet = 1; break;
        case 'h': fputs(cli_load.usage, stdout); return 0;
        default: return cli_usage_error("load", "%s", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("load", "%s", "expects exactly one DATA_DIR");
    const char *dir = argv[optind];
    dg_dataset ds;
    dg_dataset_init(&ds);
    if (cli_load_data("load", dir, &o, quiet, &ds) != 0) {
        dg_dataset_free(&ds);
        return 1;
    }
    printf("%s: %s shape, loaded %s in %.2f s\n", dir, dg_shape_name(ds.shape),
           ds.from_snapshot ? "from the snapshot" : "from CSV", ds.seconds);
    printf("%-17s %11s %10s %-10s %10s %8s %7s  %s\n", "table", "rows", "distinct", "of", "memory",
           "seconds", "bad", "file");
    size_t total_mem = 0;
    for (int t = 0; t < DG_T_COUNT; t++) {
        if (!ds.present[t]) {
            printf("%-17s %11s  (no file: %s)\n", dg_tables[t].name, "-", dg_tables[t].files[0]);
            continue;
        }
        const dg_table *tb = &ds.tables[t];
        const dg_column *key = key_column(tb);
        char mem[32];
        size_t m = dg_table_memory(tb);
        total_mem += m;
        cli_human_bytes((double)m, mem, sizeof mem);
        printf("%-17s %11" PRIu64 " %10" PRIu64 " %-10s %10s %8.2f %7" PRIu64 "  %s\n",
               dg_tables[t].name, tb->nrows, key ? dg_column_distinct(tb, key) : 0,
               key ? key->name : "", mem, ds.from_snapshot ? 0.0 : ds.reports[t].seconds,
               ds.reports[t].bad_rows, ds.sources[t].path);
    }
    char mem[32];
    cli_human_bytes((double)total_mem, mem, sizeof mem);
    printf("total memory in tables: %s\n", mem);
    for (int t = 0; t < DG_T_COUNT; t++) {
        if (!ds.present[t] || ds.reports[t].bad_rows == 0)
            continue;
        printf("%s: skipped %" PRIu64 " bad rows; the first:\n", dg_tables[t].name,
               ds.reports[t].bad_rows);
        for (int i = 0; i < ds.reports[t].nfirst; i++)
            printf("  %s\n", ds.reports[t].first_errors[i]);
    }
    dg_dataset_free(&ds);
    return 0;
}

const cli_command cli_load = {
    "load", run, "load a data directory and report its tables",
    "Usage: demographer load DATA_DIR [--lenient] [--threads N] [--no-snapshot]\n"
     "                        [--cache-dir DIR] [--file TABLE=PATH]... [--quiet]\n"
     "\n"
     "Finds the data files in DATA_DIR (Kaggle or Upgrad shape), loads them and prints,\n"
     "per table, its rows, distinct ids, memory, parse time and skipped rows. A binary\n"
     "snapshot of the loaded tables is kept in the cache directory and reused while no\n"
     "source file changes.\n"
     "\n"
     CLI_DATA_HELP
    "  --quiet            no progress\n",
};
