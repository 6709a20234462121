/* demographer mysql-import: copies a data directory into a MySQL database
 * under the brief's table names, the way a user builds a copy of the course's
 * database (and the way the tests get one). */
#include "demographer/source_mysql.h"

#include "cli.h"
#include "cli_progress.h"
#include "cli_sources.h"

#include <string.h>

static const cli_option options[] = {
    CLI_INCLUDE(cli_import_options),
    CLI_INCLUDE(cli_mysql_options),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    cli_sources src = {0};
    cli_import_opts io = {0};
    int ch;
    cli_parser p;
    cli_parse_start(&p, &cli_mysql_import, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        if (!cli_sources_opt(&src, ch, optarg) && !cli_import_opt(&io, ch))
            return cli_option_unhandled("mysql-import", ch);
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
    if (optind + 1 != argc)
        return cli_usage_error("mysql-import", "%s", "expects exactly one DATA_DIR");
    const char *dir = argv[optind];
    dg_sources_config cfg;
    dg_sources_config_init(&cfg);
    int code;
    if (cli_sources_resolve("mysql-import", &src, 1, &cfg, &code) != DG_OK) {
        dg_sources_config_free(&cfg);
        return code;
    }
    cli_progress cp;
    dg_progress pr = cli_progress_start(&cp, io.quiet);
    /* The files as they are: the Upgrad ids stay cut, as in the course's tables. */
    dg_load_opts lo = {.lenient = io.lenient, .progress = &pr, .keep_cut_ids = 1};
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    dg_mysql *m = NULL;
    dg_mysql_import_report rep;
    int rc = dg_dataset_load(&ds, dir, &lo, &err);
    if (rc == DG_OK)
        rc = dg_mysql_open(&m, &cfg.mysql, &err);
    if (rc == DG_OK)
        rc = dg_mysql_import(m, &ds, &pr, &rep, &err);
    cli_progress_done(&cp);
    if (rc != DG_OK) {
        fprintf(stderr, "demographer mysql-import: %s\n", err.msg);
        dg_mysql_close(m);
        dg_dataset_free(&ds);
        dg_sources_config_free(&cfg);
        return 1;
    }
    const char *tls = dg_mysql_tls_version(m);
    printf("%s: %s shape, imported into %s database %s (%s) in %.2f s\n", dir,
           dg_shape_name(ds.shape), dg_mysql_where(m), cfg.mysql.database,
           tls ? tls : "no TLS", rep.seconds);
    cli_print_import_tables(rep.table, rep.rows);
    dg_mysql_close(m);
    dg_dataset_free(&ds);
    dg_sources_config_free(&cfg);
    return 0;
}

const cli_command cli_mysql_import = {
    "mysql-import", run, "copy a data directory into a MySQL database (the brief's tables)",
    "Usage: demographer mysql-import DATA_DIR [connection options] [--lenient] [--quiet]\n"
    "\n"
    "Loads DATA_DIR (Kaggle or Upgrad shape) and writes each table into the database:\n"
    "labels as `train`, phones as `brand_device`, `events`, `app_events`, and the other\n"
    "tables under their file names (gender_age_test, app_labels, label_categories,\n"
    "train_test_split). Columns keep the files' names and get SQL types (BIGINT ids,\n"
    "DATETIME timestamps, DOUBLE coordinates, utf8mb4 strings) and an auto-increment\n"
    "`dg_row` that keeps the file order. Upgrad device ids are written as the files have\n"
    "them (cut to 15 digits), as in the course's database. Rows travel in bulk through\n"
    "LOAD DATA LOCAL INFILE (the server needs local_infile=1). Every table is written\n"
    "to NAME__dg_new, and one RENAME TABLE swaps the whole set in at the end (a table\n"
    "of the previous import that this data set lacks goes with it): a failed, cancelled\n"
    "or killed import leaves the previous import whole, never a mix of two data sets.\n"
    "The user needs CREATE, DROP, INSERT and ALTER on the database.\n"
    "\n",
    options,
};
