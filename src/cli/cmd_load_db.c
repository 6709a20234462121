/* demographer load-db: loads the data set as the brief has it, from the MySQL
 * tables, optionally with the two S3 objects (app labels and label
 * categories) downloaded into the cache. */
#include "demographer/source_http.h"
#include "demographer/source_mysql.h"

#include "cli.h"
#include "cli_progress.h"
#include "cli_report.h"
#include "cli_sources.h"

#include <string.h>

static const cli_option options[] = {
    CLI_FLAG('s', 0, "s3",
             "also download app_labels_new.txt and label_categories.csv (see `demographer "
             "fetch`) and use them for app_labels and label_categories"),
    CLI_FLAG('k', 0, "keep-cut-ids", "leave the Upgrad device ids as the database has them"),
    CLI_FLAG('q', 'q', "quiet", "no progress"),
    CLI_INCLUDE(cli_mysql_options),
    CLI_INCLUDE(cli_s3_options),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    cli_sources src = {0};
    int quiet = 0, s3 = 0, keep = 0, ch;
    cli_parser p;
    cli_parse_start(&p, &cli_load_db, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        if (cli_sources_opt(&src, ch, optarg))
            continue;
        switch (ch) {
        case 's': s3 = 1; break;
        case 'k': keep = 1; break;
        case 'q': quiet = 1; break;
        default: return cli_option_unhandled("load-db", ch);
        }
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
    if (optind != argc)
        return cli_usage_error("load-db", "%s", "takes no arguments besides options");
    dg_sources_config cfg;
    dg_sources_config_init(&cfg);
    int code;
    if (cli_sources_resolve("load-db", &src, 1, &cfg, &code) != DG_OK) {
        dg_sources_config_free(&cfg);
        return code;
    }
    dg_mysql_load_opts lo = {.keep_cut_ids = keep};
    char paths[2][4096];
    if (s3) {
        dg_http_opts ho = {0};
        if (cli_fetch_s3("load-db", &cfg, &ho, quiet, paths) != DG_OK) {
            dg_sources_config_free(&cfg);
            return 1;
        }
        lo.files[DG_T_APP_LABELS] = paths[0];
        lo.files[DG_T_LABEL_CATEGORIES] = paths[1];
    }
    cli_progress cp;
    dg_progress pr = cli_progress_start(&cp, quiet);
    lo.progress = &pr;
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    int rc = dg_mysql_load(&ds, &cfg.mysql, &lo, &err);
    cli_progress_done(&cp);
    dg_sources_config_free(&cfg);
    if (rc != DG_OK) {
        fprintf(stderr, "demographer load-db: %s\n", err.msg);
        dg_dataset_free(&ds);
        return 1;
    }
    printf("%s: %s shape, loaded from MySQL%s in %.2f s\n", ds.dir, dg_shape_name(ds.shape),
           s3 ? " and S3" : "", ds.seconds);
    cli_print_tables(&ds);
    dg_dataset_free(&ds);
    return 0;
}

const cli_command cli_load_db = {
    "load-db", run, "load the data set from the MySQL tables (and the S3 objects)",
    "Usage: demographer load-db [connection options] [--s3 [S3 options]] [--keep-cut-ids]\n"
    "                           [--quiet]\n"
    "\n"
    "Loads the data set the way the brief has it: the MySQL tables train, brand_device\n"
    "(or brand_devices), events and app_events (all four required; gender_age_train and\n"
    "phone_brand_device_model are accepted too), and gender_age_test, app_labels,\n"
    "label_categories and train_test_split when the database has them. Rows are\n"
    "streamed (the client holds one at a time), with progress and an ETA from the\n"
    "server's row estimates. The shape is Upgrad when `train` has group_train; its\n"
    "device ids, cut to 15 digits in the course's tables, are matched to the phones'\n"
    "exact ids, and the report says how many stay unmatched or ambiguous. Prints the\n"
    "same table report as `demographer load`.\n"
    "\n",
    options,
};
