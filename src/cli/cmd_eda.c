/* demographer eda: the brief's ten exploratory tables, computed on the
 * cleaned tables and written as CSV files. */
#include "demographer/eda.h"
#include "demographer/plot.h"

#include "cli.h"

#include <getopt.h>
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

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_DATA_LONGOPTS,
        CLI_CLEAN_LONGOPTS,
        {"out", required_argument, NULL, 'o'},
        {"print", no_argument, NULL, 'p'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    dg_load_opts o = {.use_snapshot = 1};
    const char *out = NULL, *rules_path = NULL;
    int quiet = 0, no_clean = 0, print = 0, ch, taken;
    optind = 1;
    while ((ch = getopt_long(argc, argv, CLI_DATA_SHORTOPTS CLI_CLEAN_SHORTOPTS "o:pqh", longopts, NULL)) != -1) {
        if ((taken = cli_data_option("eda", ch, optarg, &o)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        switch (ch) {
        case 'o': out = optarg; break;
        case 'r': rules_path = optarg; break;
        case 'C': no_clean = 1; break;
        case 'p': print = 1; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(cli_eda.usage, stdout); return 0;
        default: return cli_usage_error("eda", "%s", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("eda", "%s", "expects exactly one DATA_DIR");
    if (!out && !print)
        return cli_usage_error("eda", "%s", "give --out DIR, --print or both");
    dg_outdir od = {0};
    if (out && (cli_output_apart("eda", "--out", out, argv[optind], &o, &rules_path, 1) ||
                cli_outdir_begin("eda", &od, out)))
        return 1;
    dg_err err;
    dg_dataset ds;
    dg_dataset_init(&ds);
    int rc = cli_load_cleaned("eda", argv[optind], &o, quiet, rules_path, no_clean, &ds);
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
        size_t n = strlen(od.partial) + 64;
        char *csv = dg_xmalloc(n), *png = dg_xmalloc(n);
        snprintf(csv, n, "%s/eda-%s.csv", od.partial, eda.slug[i]);
        snprintf(png, n, "%s/eda-%s.png", od.partial, eda.slug[i]);
        if (dg_eda_table_write_csv(&eda.tables[i], csv, &err) != DG_OK ||
            dg_eda_save_chart(&eda, i, png, &err) != DG_OK) {
            fprintf(stderr, "demographer eda: %s\n", err.msg);
            rc = 1;
        }
        free(csv);
        free(png);
    }
    rc = cli_outdir_end("eda", &od, rc);
    for (int i = 0; rc == 0 && out && !quiet && i < eda.ntables; i++)
        printf("chart %2d: %s/eda-%s.csv, %s/eda-%s.png\n", eda.chart_of[i], out,
               eda.slug[i], out, eda.slug[i]);
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
    "\n"
    "  --out DIR          write each table as DIR/eda-NN-name.csv and its chart as\n"
    "                     DIR/eda-NN-name.png (1200x800), the folder whole or not at all\n"
    "                     (an earlier DIR is replaced; never over an input)\n"
    "  --print            print the tables\n"
    CLI_CLEAN_HELP
    CLI_DATA_HELP
    "  --quiet            no progress and no list of files written\n",
};
