#include "demographer/reconcile.h"

#include "demographer/i64map.h"

#include <stdlib.h>
#include <string.h>

int64_t dg_id_trunc15(int64_t id)
{
    /* Work on the magnitude as unsigned so that INT64_MIN has one too. */
    uint64_t mag = id < 0 ? (uint64_t)0 - (uint64_t)id : (uint64_t)id;
    uint64_t scale = 1;
    while (mag / scale >= 1000000000000000ULL) /* more than 15 digits left */
        scale *= 10;
    mag = mag / scale * scale;
    return id < 0 ? (int64_t)((uint64_t)0 - mag) : (int64_t)mag;
}

/* The phones' exact ids grouped by truncation: for each truncation, how many
 * distinct exact ids share it and the first of them. */
typedef struct trunc_index {
    dg_i64map exact;  /* distinct exact ids */
    dg_i64map keys;   /* truncations */
    uint32_t *count;  /* per truncation code */
    int64_t *first;
} trunc_index;

static void index_build(trunc_index *ix, const dg_table *phones, const dg_column *c)
{
    dg_i64map_init(&ix->exact);
    dg_i64map_init(&ix->keys);
    uint32_t cap = 1024;
    ix->count = dg_xcalloc(cap, sizeof *ix->count);
    ix->first = dg_xmalloc(cap * sizeof *ix->first);
    for (uint64_t i = 0; i < phones->nrows; i++) {
        int64_t id = dg_col_id(c, i);
        uint32_t before = ix->exact.n;
        dg_i64map_put(&ix->exact, id);
        if (ix->exact.n == before)
            continue; /* a device listed twice is one candidate, not two */
        uint32_t k = dg_i64map_put(&ix->keys, dg_id_trunc15(id));
        if (k >= cap) {
            ix->count = dg_xrealloc(ix->count, 2 * (size_t)cap * sizeof *ix->count);
            ix->first = dg_xrealloc(ix->first, 2 * (size_t)cap * sizeof *ix->first);
            memset(ix->count + cap, 0, cap * sizeof *ix->count);
            cap *= 2;
        }
        if (ix->count[k]++ == 0)
            ix->first[k] = id;
    }
}

static void index_free(trunc_index *ix)
{
    dg_i64map_free(&ix->exact);
    dg_i64map_free(&ix->keys);
    free(ix->count);
    free(ix->first);
}

enum { R_EXACT, R_MATCHED, R_UNMATCHED, R_AMBIGUOUS };

/* What becomes of one distinct id, and the id it becomes. */
static int resolve(const trunc_index *ix, int64_t id, int64_t *to)
{
    *to = id;
    int known = dg_i64map_get(&ix->exact, id) != UINT32_MAX;
    if (dg_id_trunc15(id) != id) /* more than 15 digits: not a cut id */
        return known ? R_EXACT : R_UNMATCHED;
    uint32_t k = dg_i64map_get(&ix->keys, id);
    uint32_t n = k == UINT32_MAX ? 0 : ix->count[k];
    if (n == 0)
        return R_UNMATCHED;
    if (n > 1)
        return R_AMBIGUOUS;
    *to = ix->first[k];
    return *to == id ? R_EXACT : R_MATCHED;
}

static void reconcile_table(const trunc_index *ix, dg_table *t, dg_reconcile_counts *rc)
{
    memset(rc, 0, sizeof *rc);
    dg_column *c = dg_table_column(t, "device_id");
    if (!c || c->type != DG_COL_I64)
        return;
    int64_t *ids = dg_col_i64(c);
    dg_i64map seen;
    dg_i64map_init(&seen);
    uint32_t cap = 1024;
    int64_t *to = dg_xmalloc(cap * sizeof *to);
    for (uint64_t i = 0; i < t->nrows; i++) {
        uint32_t before = seen.n;
        uint32_t k = dg_i64map_put(&seen, ids[i]);
        if (seen.n != before) {
            if (k >= cap) {
                cap *= 2;
                to = dg_xrealloc(to, cap * sizeof *to);
            }
            switch (resolve(ix, ids[i], &to[k])) {
            case R_EXACT: rc->exact++; break;
            case R_MATCHED: rc->matched++; break;
            case R_UNMATCHED: rc->unmatched++; break;
            default: rc->ambiguous++; break;
            }
        }
        if (to[k] != ids[i]) {
            ids[i] = to[k];
            rc->rows_changed++;
        }
    }
    rc->ids = seen.n;
    free(to);
    dg_i64map_free(&seen);
}

void dg_reconcile_ids(dg_table *const tables[DG_T_COUNT], dg_reconcile_report *report)
{
    memset(report, 0, sizeof *report);
    const dg_table *phones = tables[DG_T_PHONES];
    const dg_column *pc = phones ? dg_table_column(phones, "device_id") : NULL;
    if (!pc || (pc->type != DG_COL_I64 && pc->type != DG_COL_KEY))
        return;
    trunc_index ix;
    index_build(&ix, phones, pc);
    report->done = 1;
    report->phone_ids = ix.exact.n;
    for (uint32_t k = 0; k < ix.keys.n; k++)
        report->shared_truncations += ix.count[k] > 1;
    for (int t = 0; t < DG_T_COUNT; t++)
        if (t != DG_T_PHONES && tables[t])
            reconcile_table(&ix, tables[t], &report->tables[t]);
    index_free(&ix);
}

dg_reconcile_counts dg_reconcile_total(const dg_reconcile_report *report)
{
    dg_reconcile_counts s = {0};
    for (int t = 0; t < DG_T_COUNT; t++) {
        const dg_reconcile_counts *c = &report->tables[t];
        s.ids += c->ids;
        s.exact += c->exact;
        s.matched += c->matched;
        s.unmatched += c->unmatched;
        s.ambiguous += c->ambiguous;
        s.rows_changed += c->rows_changed;
    }
    return s;
}
