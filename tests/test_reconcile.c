#include "testutil.h"

#include "demographer/dataset.h"
#include "demographer/reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void truncation(void **state)
{
    (void)state;
    /* The lead's verified examples, and the edges. */
    assert_true(dg_id_trunc15(6943568600617765064LL) == 6943568600617760000LL);
    assert_true(dg_id_trunc15(-5393876656119459700LL) == -5393876656119450000LL);
    assert_true(dg_id_trunc15(-7548291590301750136LL) == -7548291590301750000LL);
    assert_true(dg_id_trunc15(999999999999999LL) == 999999999999999LL); /* 15 digits */
    assert_true(dg_id_trunc15(1999999999999999LL) == 1999999999999990LL);
    assert_true(dg_id_trunc15(0) == 0);
    assert_true(dg_id_trunc15(-42) == -42);
    assert_true(dg_id_trunc15(INT64_MAX) == 9223372036854770000LL);
    assert_true(dg_id_trunc15(INT64_MIN) == -9223372036854770000LL);
}

/* A hand-made Upgrad set: one id per outcome. */
static void fixture_outcomes(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "brand_device.csv",
                      "device_id,phone_brand,device_model\n"
                      "6943568600617765064,Xiaomi,MI 3\n"   /* alone under its truncation */
                      "6943568600617765064,Xiaomi,MI 3\n"   /* listed twice: still one */
                      "-5393876656119459700,Huawei,P8\n"    /* alone */
                      "1111111111111110001,vivo,X5\n"        /* two ids share a truncation */
                      "1111111111111110002,vivo,X6\n"
                      "123,OPPO,R7\n"));                     /* short id: its own truncation */
    free(tu_write_str(dir, "train.csv",
                      "device_id,gender,age,group_train\n"
                      "6943568600617760000,M,30,M25-32\n"    /* matched */
                      "-5393876656119450000,F,40,F33+\n"     /* matched */
                      "1111111111111110000,M,20,M0-24\n"     /* ambiguous */
                      "2222222222222220000,F,22,F0-24\n"     /* unmatched */
                      "123,M,50,M33+\n"));                   /* exact */
    free(tu_write_str(dir, "events.csv",
                      "event_id,device_id,timestamp,longitude,latitude\n"
                      "1,6943568600617760000,2016-05-01 00:00:00,1,1\n"
                      "2,6943568600617760000,2016-05-01 00:00:01,1,1\n"
                      "3,6943568600617765064,2016-05-01 00:00:02,1,1\n" /* already exact */
                      "4,1111111111111110000,2016-05-01 00:00:03,1,1\n"));
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    dg_load_opts o = {0};
    assert_int_equal(dg_dataset_load(&ds, dir, &o, &err), DG_OK);
    assert_int_equal(ds.shape, DG_SHAPE_UPGRAD);
    const dg_reconcile_report *r = &ds.reconcile;
    assert_true(r->done);
    assert_int_equal(r->phone_ids, 5);
    assert_int_equal(r->shared_truncations, 1);
    const dg_reconcile_counts *l = &r->tables[DG_T_LABELS];
    assert_int_equal(l->ids, 5);
    assert_int_equal(l->matched, 2);
    assert_int_equal(l->ambiguous, 1);
    assert_int_equal(l->unmatched, 1);
    assert_int_equal(l->exact, 1);
    assert_int_equal(l->rows_changed, 2);
    const int64_t *lid = dg_col_i64(dg_table_column(&ds.tables[DG_T_LABELS], "device_id"));
    assert_true(lid[0] == 6943568600617765064LL);
    assert_true(lid[1] == -5393876656119459700LL);
    assert_true(lid[2] == 1111111111111110000LL); /* ambiguous: left as it is */
    assert_true(lid[3] == 2222222222222220000LL);
    assert_true(lid[4] == 123);
    const dg_reconcile_counts *e = &r->tables[DG_T_EVENTS];
    assert_int_equal(e->ids, 3);
    assert_int_equal(e->matched, 1);
    assert_int_equal(e->exact, 1);
    assert_int_equal(e->ambiguous, 1);
    assert_int_equal(e->rows_changed, 2);
    const int64_t *eid = dg_col_i64(dg_table_column(&ds.tables[DG_T_EVENTS], "device_id"));
    for (int i = 0; i < 3; i++)
        assert_true(eid[i] == 6943568600617765064LL);
    dg_reconcile_counts tot = dg_reconcile_total(r);
    assert_int_equal(tot.ambiguous, 2);

    /* keep_cut_ids leaves the files' ids alone (what mysql-import copies). */
    o.keep_cut_ids = 1;
    assert_int_equal(dg_dataset_load(&ds, dir, &o, &err), DG_OK);
    assert_false(ds.reconcile.done);
    lid = dg_col_i64(dg_table_column(&ds.tables[DG_T_LABELS], "device_id"));
    assert_true(lid[0] == 6943568600617760000LL);

    /* The snapshot keeps the ids as read: a reload from it reconciles the same. */
    char cache[512];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    dg_load_opts so = {.use_snapshot = 1, .cache_dir = cache};
    assert_int_equal(dg_dataset_load(&ds, dir, &so, &err), DG_OK);
    assert_int_equal(ds.reconcile.tables[DG_T_LABELS].matched, 2);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

/* The real mapping file (cut ids) against its exact twin as the phones: every
 * id that reconciles must land on the exact id of the same row. */
static void real_mapping_pair(void **state)
{
    (void)state;
    char *cut = tu_real_path("train_test_split.csv");
    if (!cut)
        skip();
    char *exact = tu_real_path("train_test_split_exact_ids.csv");
    const dg_tablespec *sp = &dg_tables[DG_T_SPLIT];
    dg_table a, b;
    dg_table_init(&a, "split");
    dg_table_init(&b, "phones");
    dg_csv_report rep;
    dg_err err;
    dg_csv_opts co = {0};
    assert_int_equal(dg_csv_read(cut, sp->cols, sp->ncols, &co, &a, &rep, &err), DG_OK);
    assert_int_equal(dg_csv_read(exact, sp->cols, 1, &co, &b, &rep, &err), DG_OK);
    assert_int_equal(a.nrows, 74645);
    const int64_t *want = dg_col_i64(dg_table_column(&b, "device_id"));
    const int64_t *before = dg_col_i64(dg_table_column(&a, "device_id"));
    for (uint64_t i = 0; i < a.nrows; i++)
        assert_true(dg_id_trunc15(want[i]) == before[i]); /* truncated, not rounded */

    dg_table *tables[DG_T_COUNT] = {0};
    tables[DG_T_PHONES] = &b;
    tables[DG_T_SPLIT] = &a;
    dg_reconcile_report r;
    dg_reconcile_ids(tables, &r);
    const dg_reconcile_counts *c = &r.tables[DG_T_SPLIT];
    assert_int_equal(c->ids, 74645);
    assert_int_equal(c->unmatched, 0);
    assert_int_equal(c->matched + c->ambiguous + c->exact, 74645);
    const int64_t *got = dg_col_i64(dg_table_column(&a, "device_id"));
    uint64_t right = 0, left_cut = 0;
    for (uint64_t i = 0; i < a.nrows; i++) {
        if (got[i] == want[i])
            right++;
        else
            assert_true(got[i] == dg_id_trunc15(want[i])), left_cut++;
    }
    assert_int_equal(left_cut, c->ambiguous); /* each ambiguous id is one row here */
    assert_int_equal(right, c->matched + c->exact);
    fprintf(stderr, "# real mapping file: %llu matched, %llu exact, %llu ambiguous, "
                    "%llu truncations shared\n",
            (unsigned long long)c->matched, (unsigned long long)c->exact,
            (unsigned long long)c->ambiguous, (unsigned long long)r.shared_truncations);
    dg_table_free(&a);
    dg_table_free(&b);
    free(cut);
    free(exact);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(truncation),
        cmocka_unit_test(fixture_outcomes),
        cmocka_unit_test(real_mapping_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
