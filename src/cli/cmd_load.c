/* demographer load: loads a data directory and reports its tables. */
#include "demographer/dataset.h"

#include "cli.h"
#include "cli_progress.h"
#include "cli_report.h"

#include <getopt.h>
#include <string.h>

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"lenient", no_argument, NULL, 'l'},       {"threads", required_argument, NULL, 'j'},
        {"no-snapshot", no_argument, NULL, 'N'},   {"cache-dir", required_argument, NULL, 'c'},
        {"file", required_argument, NULL, 'f'},    {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    dg_load_opts o = {.use_snapshot = 1};
    int quiet = 0, ch;
    uint64_t v;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "lj:Nc:f:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l': o.lenient = 1; break;
        case 'j':
            if (cli_parse_u64("load", "--threads", optarg, 1, 64, &v) != DG_OK)
                return CLI_EXIT_USAGE;
            o.threads = (int)v;
            break;
        case 'N': o.use_snapshot = 0; break;
        case 'c': o.cache_dir = optarg; break;
        case 'f': {
            char *eq = strchr(optarg, '=');
            if (!eq)
                return cli_usage_error("load", "--file expects TABLE=PATH, got '%s'", optarg);
            *eq = '\0';
            int t = dg_table_by_name(optarg);
            if (t < 0)
                return cli_usage_error("load",
                                   "--file: no table '%s' (tables: labels, test, phones, "
                                   "events, app_events, app_labels, label_categories, split)",
                                   optarg);
            o.files[t] = eq + 1;
            break;
        }
        case 'q': quiet = 1; break;
        case 'h': fputs(cli_load.usage, stdout); return 0;
        default: return cli_usage_error("load", "%s", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("load", "%s", "expects exactly one DATA_DIR");
    const char *dir = argv[optind];
    cli_progress cp;
    dg_progress pr = cli_progress_start(&cp, quiet);
    o.progress = &pr;
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    int rc = dg_dataset_load(&ds, dir, &o, &err);
    cli_progress_done(&cp);
    if (rc != DG_OK) {
        fprintf(stderr, "demographer load: %s\n", err.msg);
        dg_dataset_free(&ds);
        return 1;
    }
    printf("%s: %s shape, loaded %s in %.2f s\n", dir, dg_shape_name(ds.shape),
           ds.from_snapshot ? "from the snapshot" : "from CSV", ds.seconds);
    cli_print_tables(&ds);
    if (ds.snapshot_warning[0])
        fprintf(stderr, "demographer load: warning: %s\n", ds.snapshot_warning);
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
     "  --lenient          skip bad rows (counted; the first few shown) instead of stopping\n"
     "  --threads N        parser threads (default: one per core)\n"
     "  --no-snapshot      neither read nor write the snapshot\n"
     "  --cache-dir DIR    where snapshots live (default $XDG_CACHE_HOME/demographer or\n"
     "                     ~/.cache/demographer)\n"
     "  --file TABLE=PATH  read TABLE from PATH instead of its usual file name; tables:\n"
     "                     labels, test, phones, events, app_events, app_labels,\n"
     "                     label_categories, split\n"
     "  --quiet            no progress\n",
};
