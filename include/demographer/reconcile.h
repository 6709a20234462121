/* Reconciliation of the Upgrad tables' cut device ids.
 *
 * In the Upgrad copy of the data (the course's MySQL tables and the mapping
 * file) the device ids of `train` and `events` lost their last digits: they
 * were truncated toward zero to 15 significant digits
 * (6943568600617765064 became 6943568600617760000, -5393876656119459700 became
 * -5393876656119450000), while `brand_device` kept the exact ids. A cut id
 * cannot be joined with the phones as it is.
 *
 * Reconciliation indexes the exact phone ids by their 15-digit truncation. A
 * cut id with exactly one candidate is replaced by it; with none or several
 * it is left as it is and counted (unmatched, ambiguous), so that a report can
 * say how many devices stay unjoinable. */
#ifndef DEMOGRAPHER_RECONCILE_H
#define DEMOGRAPHER_RECONCILE_H

#include "demographer/schema.h"

/* The id truncated toward zero to 15 significant digits (ids of 15 digits or
 * fewer are their own truncation). */
int64_t dg_id_trunc15(int64_t id);

/* Outcome for the distinct device ids of one table. */
typedef struct dg_reconcile_counts {
    uint64_t ids;          /* distinct device ids in the table */
    uint64_t exact;        /* already a phone id: kept */
    uint64_t matched;      /* cut ids with one candidate: replaced by it */
    uint64_t unmatched;    /* no phone id truncates to it: kept, unjoinable */
    uint64_t ambiguous;    /* several phone ids truncate to it: kept, unjoinable */
    uint64_t rows_changed; /* rows whose device id was replaced */
} dg_reconcile_counts;

typedef struct dg_reconcile_report {
    int done;                        /* reconciliation ran */
    uint64_t phone_ids;              /* distinct exact ids indexed */
    uint64_t shared_truncations;     /* truncations shared by several phone ids */
    dg_reconcile_counts tables[DG_T_COUNT]; /* per table id; zero for tables not touched */
} dg_reconcile_report;

/* Reconciles the device_id column of every table in `tables` (indexed by
 * dg_table_id; NULL entries are skipped) against the exact ids of
 * tables[DG_T_PHONES], which is left unchanged. Does nothing (done = 0) when
 * there is no phones table. Cannot fail. */
void dg_reconcile_ids(dg_table *const tables[DG_T_COUNT], dg_reconcile_report *report);

/* Sums of the counts over every table touched. */
dg_reconcile_counts dg_reconcile_total(const dg_reconcile_report *report);

#endif
