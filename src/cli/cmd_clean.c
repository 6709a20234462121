/* demographer clean: applies the cleaning rules to a data directory's tables
 * and reports what each rule changed; optionally writes the cleaned tables. */
#include "demographer/clean.h"

#include "cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Into out, the partial folder of DIR (published whole by the caller). */
static int write_tables(const dg_dataset *ds, const dg_rules *rules, const char *out)
{
    dg_err err;
    for (int t = 0; t < DG_T_COUNT; t++) {
        if (!ds->present[t])
            continue;
        /* The cleaned files keep the names they were found under. */
        const char *slash = strrchr(ds->sources[t].path, '/');
        const char *name = slash ? slash + 1 : ds->sources[t].path;
        size_t n = strlen(out) + strlen(name) + 2;
        char *path = dg_xmalloc(n);
        snprintf(path, n, "%s/%s", out, name);
        int rc = dg_csv_write(&ds->tables[t], path, &err);
        free(path);
        if (rc != DG_OK) {
            fprintf(stderr, "demographer clean: %s\n", err.msg);
            return 1;
        }
    }
    size_t n = strlen(out) + 16;
    char *path = dg_xmalloc(n);
    snprintf(path, n, "%s/clean.rules", out);
    int rc = dg_rules_save(rules, path, &err);
    free(path);
    if (rc != DG_OK) {
        fprintf(stderr, "demographer clean: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static const cli_option options[] = {
    CLI_VALUE('r', 'r', "rules", "FILE",
              "the rules to apply (default: the brief's rules; see --print-rules)"),
    CLI_FLAG('P', 'P', "print-rules", "print the rules (default or --rules) as a rule file and exit"),
    CLI_VALUE('o', 'o', "out", "DIR",
              "write the cleaned tables (CSV, same file names) and the rules used "
              "(clean.rules) to DIR, whole or not at all (DIR.partial-PID renamed in place; an "
              "earlier DIR is replaced); DIR may not be, contain or lie inside DATA_DIR or the "
              "rules file"),
    CLI_INCLUDE(cli_data_options),
    CLI_FLAG('q', 'q', "quiet", "no progress"),
    CLI_OPTIONS_END};

static int run(int argc, char **argv)
{
    dg_load_opts o = {.use_snapshot = 1};
    const char *rules_path = NULL, *out = NULL;
    int quiet = 0, print_rules = 0, ch, taken;
    cli_parser p;
    cli_parse_start(&p, &cli_clean, argc, argv);
    while ((ch = cli_parse_next(&p)) > 0) {
        if ((taken = cli_data_option("clean", ch, optarg, &o)) != 0) {
            if (taken != 1)
                return taken;
            continue;
        }
        switch (ch) {
        case 'r': rules_path = optarg; break;
        case 'P': print_rules = 1; break;
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        default: return cli_option_unhandled("clean", ch);
        }
    }
    if (ch == CLI_PARSE_STOP)
        return p.exit_status;
    dg_rules rules;
    dg_rules_init(&rules);
    dg_err err;
    if (rules_path) {
        if (dg_rules_load(&rules, rules_path, &err) != DG_OK) {
            fprintf(stderr, "demographer clean: %s\n", err.msg);
            return 1;
        }
    } else {
        dg_rules_default(&rules);
    }
    if (print_rules) {
        char *text = dg_rules_format(&rules);
        fputs(text, stdout);
        for (int k = 0; k < DG_RULE_NKINDS; k++)
            printf("#   %-22s %s\n", dg_rule_keyword((dg_rule_kind)k),
                   dg_rule_help((dg_rule_kind)k));
        free(text);
        dg_rules_free(&rules);
        return optind == argc ? 0 : cli_usage_error("clean", "%s", "--print-rules takes no DATA_DIR");
    }
    if (optind + 1 != argc) {
        dg_rules_free(&rules);
        return cli_usage_error("clean", "%s", "expects exactly one DATA_DIR");
    }
    /* The cleaned tables never go over the sources: refused before anything
     * is read or written. */
    dg_outdir od = {0};
    if (out && (cli_output_apart("clean", "--out", out, argv[optind], &o, &rules_path, 1) ||
                cli_outdir_begin("clean", &od, out))) {
        dg_rules_free(&rules);
        return 1;
    }
    dg_dataset ds;
    dg_dataset_init(&ds);
    int rc = cli_load_data("clean", argv[optind], &o, quiet, &ds);
    dg_rule_effect *fx = dg_xcalloc((size_t)rules.n + 1, sizeof *fx);
    if (rc == 0 && dg_clean(&ds, &rules, fx, NULL, &err) != DG_OK) {
        fprintf(stderr, "demographer clean: %s\n", err.msg);
        rc = 1;
    }
    if (rc == 0) {
        printf("%-2s %-22s %-16s %10s %10s %10s %8s  %s\n", "#", "rule", "table", "before",
               "after", "changed", "devices", "what it did");
        for (int i = 0; i < rules.n; i++)
            printf("%-2d %-22s %-16s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %8" PRIu64 "  %s\n",
                   i + 1, dg_rule_keyword(rules.v[i].kind), fx[i].table, fx[i].rows_before,
                   fx[i].rows_after, fx[i].rows_changed, fx[i].devices, fx[i].detail);
        if (out) {
            rc = cli_outdir_end("clean", &od, write_tables(&ds, &rules, od.partial));
            if (rc == 0)
                printf("cleaned tables and clean.rules written to %s\n", out);
        }
    }
    cli_outdir_end("clean", &od, 1); /* a failure before the writing: nothing left */
    free(fx);
    dg_dataset_free(&ds);
    dg_rules_free(&rules);
    return rc;
}

const cli_command cli_clean = {
    "clean", run, "apply the cleaning rules and report what each changed",
    "Usage: demographer clean DATA_DIR [--rules FILE] [--out DIR] [data options] [--quiet]\n"
    "       demographer clean --print-rules [--rules FILE]\n"
    "\n"
    "Loads DATA_DIR and applies the cleaning rules in order to the tables in memory (the\n"
    "source files are never changed), then prints, per rule, the rows before and after,\n"
    "the rows changed or dropped, the devices they belong to, and what it did.\n"
    "\n",
    options,
};
