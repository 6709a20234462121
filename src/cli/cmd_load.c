/* demographer load: loads a data directory and reports its tables. */
#include "demographer/dataset.h"

#include "cli.h"
#include "cli_report.h"

#include <string.h>

static const cli_option options[] = {
    CLI_INCLUDE(cli_data_options),
    CLI_FLAG('q', 'q', "quiet", "no progress"),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    dg_load_opts o = {.use_snapshot = 1};
    int quiet = 0, ch, taken;
    cli_parser p;
    cli_parse_start(&p, &cli_load, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        if ((taken = cli_data_option("load", ch, optarg, &o)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        switch (ch) {
        case 'q': quiet = 1; break;
        default: return cli_option_unhandled("load", ch);
        }
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
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
     "\n",
    options,
};
