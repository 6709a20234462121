/* demographer load: loads a data directory and reports its tables. */
#include "demographer/dataset.h"

#include "cli.h"
#include "cli_report.h"

#include <getopt.h>
#include <string.h>

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
    printf("%s: %s shape, loaded %s in %.2f s", dir, dg_shape_name(ds.shape),
           ds.from_snapshot ? "from the snapshot" : "from CSV", ds.seconds);
    if (ds.from_snapshot)
        printf(" (%.3f s of it verifying the checksums)", ds.snapshot_check_seconds);
    printf("\n");
    cli_print_tables(&ds);
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
