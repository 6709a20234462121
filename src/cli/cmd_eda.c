/* demographer eda: the brief's ten exploratory tables, computed on the
 * cleaned tables and written as CSV files. */
#include "demographer/eda.h"
#include "demographer/plot.h"

#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void print_table(const dg_eda_table *t)
{
    printf("\n%s (%s)\n%-24s", t->title, t->unit, t->row_label);
    for (int s = 0; s < t->nseries; s++)
        printf(" %14.14s", t->series_names[s]);
    printf("\n");
    for (int r = 0; r < t->nrows; r++) {
        printf("%-24.24s", t->row_names[r]);
        for (int s = 0; s < t->nseries; s++)
            printf(dg_eda_series_is_count(t, s) ? " %14.0f" : " %14.2f", dg_eda_value(t, r, s));
        printf("\n");
    }
}

static const cli_option options[] = {
    CLI_VALUE('o', 'o', "out", "DIR",
              "write each table as DIR/eda-NN-name.csv and its chart as DIR/eda-NN-name.png "
              "(1200x800), the folder whole or not at all (an earlier DIR is replaced; never "
              "over an input)"),
    CLI_FLAG('p', 'p', "print", "print the tables"),
    CLI_INCLUDE(cli_clean_options),
    CLI_INCLUDE(cli_data_options),
    CLI_FLAG('q', 'q', "quiet", "no progress and no list of files written"),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    dg_load_opts o = {.use_snapshot = 1};
    const char *out = NULL;
    cli_clean_opts co = {0};
    int quiet = 0, print = 0, ch, taken;
    cli_parser p;
    cli_parse_start(&p, &cli_eda, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        if ((taken = cli_data_option("eda", ch, optarg, &o)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        if (cli_clean_option(ch, optarg, &co))
            continue;
        switch (ch) {
        case 'o': out = optarg; break;
        case 'p': print = 1; break;
        case 'q': quiet = 1; break;
        default: return cli_option_unhandled("eda", ch);
        }
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
    if (optind + 1 != argc)
        return cli_usage_error("eda", "%s", "expects exactly one DATA_DIR");
    if (!out && !print)
        return cli_usage_error("eda", "%s", "give --out DIR, --print or both");
    dg_outdir od = {0};
    if (out && (cli_output_apart("eda", "--out", out, argv[optind], &o, &co.rules_path, 1) ||
                cli_outdir_begin("eda", &od, out)))
        return 1;
    dg_err err;
    dg_dataset ds;
    dg_dataset_init(&ds);
    int rc = cli_load_cleaned("eda", argv[optind], &o, quiet, co.rules_path, co.no_clean, &ds);
    dg_eda eda;
    char missing[256];
    memset(&eda, 0, sizeof eda);
    if (rc == 0 && dg_eda_compute(&ds, &eda, missing, sizeof missing, &err) != DG_OK) {
        fprintf(stderr, "demographer eda: %s\n", err.msg);
        rc = 1;
    }
    for (int i = 0; rc == 0 && i < eda.ntables; i++) {
        if (print)
            print_table(&eda.tables[i]);
        if (!out)
            continue;
        char name[DG_EDA_FILE_NAME_MAX];
        dg_eda_file_name(&eda, i, "csv", name);
        char *csv = dg_path_join(od.partial, name);
        dg_eda_file_name(&eda, i, "png", name);
        char *png = dg_path_join(od.partial, name);
        if (dg_eda_table_write_csv(&eda.tables[i], csv, &err) != DG_OK ||
            dg_eda_save_chart(&eda, i, png, &err) != DG_OK) {
            fprintf(stderr, "demographer eda: %s\n", err.msg);
            rc = 1;
        }
        free(csv);
        free(png);
    }
    rc = cli_outdir_end("eda", &od, rc);
    for (int i = 0; rc == 0 && out && !quiet && i < eda.ntables; i++) {
        char csv[DG_EDA_FILE_NAME_MAX], png[DG_EDA_FILE_NAME_MAX];
        dg_eda_file_name(&eda, i, "csv", csv);
        dg_eda_file_name(&eda, i, "png", png);
        printf("chart %2d: %s/%s, %s/%s\n", eda.chart_of[i], out, csv, out, png);
    }
    if (rc == 0 && missing[0])
        fprintf(stderr, "demographer eda: not computed: %s\n", missing);
    dg_eda_free(&eda);
    dg_plot_release();
    dg_dataset_free(&ds);
    return rc;
}

const cli_command cli_eda = {
    "eda", run, "compute the ten exploratory tables of the brief",
    "Usage: demographer eda DATA_DIR [--out DIR] [--print] [--rules FILE | --no-clean]\n"
    "                       [data options] [--quiet]\n"
    "\n"
    "Loads DATA_DIR, cleans it (the default rules, or --rules FILE; --no-clean skips\n"
    "cleaning), and computes ten exploratory tables: age and gender, age by\n"
    "gender, devices with events, events by weekday, events per hour over one week,\n"
    "hourly shares by gender, weekday shares by age group, top brands by gender, top\n"
    "apps with their gender split, top brands per age group.\n"
    "\n",
    options,
};
