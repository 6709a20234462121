#include "cli_report.h"

#include "cli.h"

#include <inttypes.h>

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

static void print_reconcile(const dg_reconcile_report *r)
{
    if (!r->done)
        return;
    printf("device ids: the Upgrad tables' ids (cut to 15 digits) matched against %" PRIu64
           " phone ids (%" PRIu64 " truncations shared by several phones):\n",
           r->phone_ids, r->shared_truncations);
    for (int t = 0; t < DG_T_COUNT; t++) {
        const dg_reconcile_counts *c = &r->tables[t];
        if (!c->ids)
            continue;
        printf("  %-16s %9" PRIu64 " ids: %" PRIu64 " matched, %" PRIu64 " already exact, %" PRIu64
               " unmatched, %" PRIu64 " ambiguous (left as they are); %" PRIu64 " rows changed\n",
               dg_tables[t].name, c->ids, c->matched, c->exact, c->unmatched, c->ambiguous,
               c->rows_changed);
    }
}

void cli_print_tables(const dg_dataset *ds)
{
    printf("%-17s %11s %10s %-10s %10s %8s %7s  %s\n", "table", "rows", "distinct", "of", "memory",
           "seconds", "bad", "source");
    size_t total_mem = 0;
    for (int t = 0; t < DG_T_COUNT; t++) {
        if (!ds->present[t]) {
            printf("%-17s %11s  (absent: %s)\n", dg_tables[t].name, "-", dg_tables[t].files[0]);
            continue;
        }
        const dg_table *tb = &ds->tables[t];
        const dg_column *key = key_column(tb);
        char mem[32];
        size_t m = dg_table_memory(tb);
        total_mem += m;
        dg_format_bytes((double)m, mem, sizeof mem);
        printf("%-17s %11" PRIu64 " %10" PRIu64 " %-10s %10s %8.2f %7" PRIu64 "  %s\n",
               dg_tables[t].name, tb->nrows, key ? dg_column_distinct(tb, key) : 0,
               key ? key->name : "", mem, ds->from_snapshot ? 0.0 : ds->reports[t].seconds,
               ds->reports[t].bad_rows, ds->sources[t].path);
    }
    char mem[32];
    dg_format_bytes((double)total_mem, mem, sizeof mem);
    printf("total memory in tables: %s\n", mem);
    for (int t = 0; t < DG_T_COUNT; t++) {
        if (!ds->present[t] || ds->reports[t].bad_rows == 0)
            continue;
        printf("%s: skipped %" PRIu64 " bad rows; the first:\n", dg_tables[t].name,
               ds->reports[t].bad_rows);
        for (int i = 0; i < ds->reports[t].nfirst; i++)
            printf("  %s\n", ds->reports[t].first_errors[i]);
    }
    for (int t = 0; t < DG_T_COUNT; t++)
        if (ds->present[t] && ds->reports[t].utf8_replaced)
            printf("%s: %" PRIu64 " bytes of invalid UTF-8 replaced by U+FFFD (the first at line "
                   "%" PRIu64 ", column %d)\n", dg_tables[t].name, ds->reports[t].utf8_replaced,
                   ds->reports[t].utf8_first_line, ds->reports[t].utf8_first_column);
    print_reconcile(&ds->reconcile);
}
