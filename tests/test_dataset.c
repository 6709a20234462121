#include "testutil.h"

#include "demographer/dataset.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *str_at(const dg_table *t, const char *col, uint64_t row)
{
    const dg_column *c = dg_table_column(t, col);
    assert_non_null(c);
    return dg_strpool_get(&t->strings, dg_col_u32(c)[row]);
}

static int64_t id_at(const dg_table *t, const char *col, uint64_t row)
{
    const dg_column *c = dg_table_column(t, col);
    assert_non_null(c);
    return dg_col_id(c, row);
}

/* The real first lines of every Kaggle file, with CRLF and no final newline. */
static void golden_heads(void **state)
{
    (void)state;
    char *dir = tu_real_path("heads");
    if (!dir)
        skip();
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    dg_load_opts o = {0};
    assert_int_equal(dg_dataset_load(&ds, dir, &o, &err), DG_OK);
    assert_int_equal(ds.shape, DG_SHAPE_KAGGLE);
    assert_false(ds.present[DG_T_LABEL_CATEGORIES]);
    assert_false(ds.present[DG_T_SPLIT]);

    const dg_table *ev = dg_dataset_table(&ds, DG_T_EVENTS);
    assert_non_null(ev);
    assert_int_equal(ev->nrows, 45);
    assert_int_equal(dg_col_i32(dg_table_column(ev, "event_id"))[0], 1);
    assert_true(id_at(ev, "device_id", 0) == 29182687948017175LL);
    char ts[20];
    dg_format_time(id_at(ev, "timestamp", 0), ts);
    assert_string_equal(ts, "2016-05-01 00:55:25");
    assert_true(dg_col_f32(dg_table_column(ev, "longitude"))[0] == 121.38f);
    assert_true(dg_col_f32(dg_table_column(ev, "latitude"))[0] == 31.24f);
    assert_true(id_at(ev, "device_id", 44) == -7733395605616071501LL);
    dg_format_time(id_at(ev, "timestamp", 44), ts);
    assert_string_equal(ts, "2016-05-01 00:33:53");
    assert_true(dg_col_f32(dg_table_column(ev, "latitude"))[44] == 27.31f);

    const dg_table *ae = dg_dataset_table(&ds, DG_T_APP_EVENTS);
    assert_int_equal(ae->nrows, 45);
    assert_true(id_at(ae, "app_id", 0) == 5927333115845830913LL);
    assert_int_equal(dg_col_i8(dg_table_column(ae, "is_active"))[0], 1);
    assert_true(id_at(ae, "app_id", 44) == -628177381309085483LL);
    assert_int_equal(dg_col_i8(dg_table_column(ae, "is_active"))[44], 0);
    assert_int_equal(dg_col_i32(dg_table_column(ae, "event_id"))[44], 6);

    const dg_table *al = dg_dataset_table(&ds, DG_T_APP_LABELS);
    assert_int_equal(al->nrows, 36);
    assert_true(id_at(al, "app_id", 0) == 7324884708820027918LL);
    assert_int_equal(dg_col_i32(dg_table_column(al, "label_id"))[35], 259);

    const dg_table *te = dg_dataset_table(&ds, DG_T_TEST);
    assert_int_equal(te->nrows, 44);
    assert_true(id_at(te, "device_id", 0) == 1002079943728939269LL);
    assert_true(id_at(te, "device_id", 43) == -3215348996589663297LL);

    const dg_table *lb = dg_dataset_table(&ds, DG_T_LABELS);
    assert_int_equal(lb->nrows, 44);
    assert_true(id_at(lb, "device_id", 0) == -8076087639492063270LL);
    assert_string_equal(str_at(lb, "gender", 0), "M");
    assert_int_equal(dg_col_i32(dg_table_column(lb, "age"))[0], 35);
    assert_string_equal(str_at(lb, "group", 0), "M32-38");
    assert_string_equal(str_at(lb, "group", 43), "M29-31");

    const dg_table *ph = dg_dataset_table(&ds, DG_T_PHONES);
    assert_int_equal(ph->nrows, 46);
    assert_true(id_at(ph, "device_id", 0) == -8890648629457979026LL);
    assert_string_equal(str_at(ph, "phone_brand", 0), "小米");
    assert_string_equal(str_at(ph, "device_model", 0), "红米");
    assert_string_equal(str_at(ph, "phone_brand", 45), "三星");
    assert_string_equal(str_at(ph, "device_model", 45), "Galaxy S4");
    dg_dataset_free(&ds);
    free(dir);
}

/* The real train labels: 74,645 rows and the group shares of DATA.md. */
static void real_train_labels(void **state)
{
    (void)state;
    char *dir = tu_real_path("");
    if (!dir)
        skip();
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    dg_load_opts o = {0};
    assert_int_equal(dg_dataset_load(&ds, dir, &o, &err), DG_OK);
    const dg_table *lb = dg_dataset_table(&ds, DG_T_LABELS);
    assert_int_equal(lb->nrows, 74645);
    static const struct {
        const char *group;
        double share;
    } want[] = {{"F23-", .0677},   {"F24-26", .0561}, {"F27-28", .0418}, {"F29-32", .0620},
                {"F33-42", .0745}, {"F43+", .0562},   {"M22-", .1003},   {"M23-26", .1287},
                {"M27-28", .0729}, {"M29-31", .0979}, {"M32-38", .1269}, {"M39+", .1150}};
    const dg_column *g = dg_table_column(lb, "group");
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        uint32_t id = dg_strpool_find(&lb->strings, want[k].group, strlen(want[k].group));
        assert_int_not_equal(id, UINT32_MAX);
        uint64_t n = 0;
        for (uint64_t i = 0; i < lb->nrows; i++)
            n += dg_col_u32(g)[i] == id;
        double share = (double)n / (double)lb->nrows;
        assert_true(fabs(share - want[k].share) < 0.00006);
    }
    const dg_column *age = dg_table_column(lb, "age");
    const dg_column *gender = dg_table_column(lb, "gender");
    uint32_t m = dg_strpool_find(&lb->strings, "M", 1);
    double sum = 0, males = 0;
    for (uint64_t i = 0; i < lb->nrows; i++) {
        sum += dg_col_i32(age)[i];
        males += dg_col_u32(gender)[i] == m;
    }
    assert_true(fabs(sum / 74645 - 31.41) < 0.005);
    assert_true(fabs(males / 74645 - 0.6418) < 0.00005);

    /* label_categories: 930 rows, quoted fields with commas, 3 empty names,
     * and a last line without a newline. */
    const dg_table *lc = dg_dataset_table(&ds, DG_T_LABEL_CATEGORIES);
    assert_int_equal(lc->nrows, 930);
    const dg_column *lid = dg_table_column(lc, "label_id");
    int empties = 0;
    for (uint64_t i = 0; i < lc->nrows; i++) {
        const char *cat = str_at(lc, "category", i);
        int id = dg_col_i32(lid)[i];
        if (*cat == '\0') {
            empties++;
            assert_true(id == 1 || id == 248 || id == 264);
        }
        if (id == 129)
            assert_string_equal(cat, "online shopping by group, like groupon");
        if (id == 930)
            assert_string_equal(cat, "Europe, the United States and Macao (aviation)");
    }
    assert_int_equal(empties, 3);
    assert_int_equal(dg_col_i32(lid)[929], 1021);
    assert_string_equal(str_at(lc, "category", 929), "Internet Insurance");
    dg_dataset_free(&ds);
    free(dir);
}

/* Cuts an id to 15 significant digits, toward zero: what the Upgrad export
 * did to its ids (checked on all 74,645 rows of the mapping file; DATA.md
 * calls it rounding, but no id there was rounded up). */
static int64_t trunc15(int64_t v)
{
    __int128 x = v, a = x < 0 ? -x : x, p = 1;
    int digits = 0;
    for (__int128 t = a; t > 0; t /= 10)
        digits++;
    for (int i = 15; i < digits; i++)
        p *= 10;
    __int128 r = a / p * p;
    return (int64_t)(x < 0 ? -r : r);
}

/* The mapping file in both id forms: the rounded ids parse, and each is the
 * exact id cut to 15 significant digits. */
static void mapping_file_both_id_forms(void **state)
{
    (void)state;
    char *rounded = tu_real_path("train_test_split.csv");
    char *exact = tu_real_path("train_test_split_exact_ids.csv");
    if (!rounded)
        skip();
    const dg_tablespec *spec = &dg_tables[DG_T_SPLIT];
    dg_table a, b;
    dg_err err;
    dg_table_init(&a, "a");
    dg_table_init(&b, "b");
    assert_int_equal(dg_csv_read(rounded, spec->cols, spec->ncols, NULL, &a, NULL, &err), DG_OK);
    assert_int_equal(dg_csv_read(exact, spec->cols, spec->ncols, NULL, &b, NULL, &err), DG_OK);
    assert_int_equal(a.nrows, 74645);
    assert_int_equal(b.nrows, 74645);
    assert_true(id_at(&a, "device_id", 0) == -7548291590301750000LL);
    assert_true(id_at(&b, "device_id", 0) == -7548291590301750136LL);
    uint64_t train = 0;
    const dg_column *flag = dg_table_column(&a, "train_test_flag");
    uint32_t train_id = dg_strpool_find(&a.strings, "train", 5);
    for (uint64_t i = 0; i < a.nrows; i++) {
        assert_true(trunc15(id_at(&b, "device_id", i)) == id_at(&a, "device_id", i));
        train += dg_col_u32(flag)[i] == train_id;
    }
    assert_int_equal(train, 58549);
    assert_string_equal(str_at(&a, "group", 0), "M32+");
    dg_table_free(&a);
    dg_table_free(&b);
    free(rounded);
    free(exact);
}

static void shapes_and_missing_folders(void **state)
{
    (void)state;
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    assert_int_equal(dg_dataset_load(&ds, "/nonexistent-dir", NULL, &err), DG_ERR);
    assert_string_equal(err.msg,
                        "/nonexistent-dir: cannot open the data directory: No such file or directory");
    char *dir = tu_tmpdir();
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_ERR);
    assert_non_null(strstr(err.msg, ": no data files found (looked for gender_age_train.csv, "
                                    "train.csv, gender_age_test.csv"));
    free(tu_write_str(dir, "train.csv", "device_id,gender,age,group_train\n"
                                        "-7548291590301750000,M,33,M32+\n"));
    free(tu_write_str(dir, "app_labels_new.txt", "app_id,label_id\n1,2\n"));
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_OK);
    assert_int_equal(ds.shape, DG_SHAPE_UPGRAD);
    assert_int_equal(ds.tables[DG_T_LABELS].nrows, 1);
    assert_string_equal(str_at(&ds.tables[DG_T_LABELS], "group", 0), "M32+");
    assert_int_equal(ds.tables[DG_T_APP_LABELS].nrows, 1);

    /* A bad table makes the whole load fail and keeps nothing. */
    free(tu_write_str(dir, "events.csv", "event_id,device_id,timestamp,longitude,latitude\n"
                                         "1,2,2016-05-01 00:00:00,1,x\n"));
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "events.csv: line 2, column 5 (latitude): expected a number, "
                                    "found 'x'"));
    for (int t = 0; t < DG_T_COUNT; t++)
        assert_int_equal(ds.tables[t].nrows, 0);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

/* A directory or FIFO named events.csv was skipped as "(absent)" and load
 * exited 0. It is an error naming the path and what it is. */
static void a_directory_or_fifo_under_a_data_name_is_an_error(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "gender_age_train.csv", "device_id,gender,age,group\n1,M,30,M29-31\n"));
    char path[512];
    snprintf(path, sizeof path, "%s/events.csv", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_ERR);
    char want[1024];
    snprintf(want, sizeof want, "%s: not a regular file (a directory); the events table is read "
             "from a file of this name", path);
    assert_string_equal(err.msg, want);
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_ERR);
    snprintf(want, sizeof want, "%s: not a regular file (a FIFO); the events table is read "
             "from a file of this name", path);
    assert_string_equal(err.msg, want);
    /* Given explicitly (--file events=...), the same. */
    unlink(path);
    dg_load_opts o = {0};
    o.files[DG_T_EVENTS] = dir;
    assert_int_equal(dg_dataset_load(&ds, dir, &o, &err), DG_ERR);
    snprintf(want, sizeof want, "%s: not a regular file (a directory)", dir);
    assert_string_equal(err.msg, want);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

static int load_labels(const char *file, const char *text, dg_err *err)
{
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, file, text));
    dg_dataset ds;
    dg_dataset_init(&ds);
    int rc = dg_dataset_load(&ds, dir, NULL, err);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
    return rc;
}

/* A labelled device repeated with other labels was kept (EDA took the first,
 * training both). It is a load error naming both lines of the file. */
static void a_device_labelled_twice_is_an_error_naming_both_lines(void **state)
{
    (void)state;
    dg_err err;
    assert_int_equal(load_labels("gender_age_train.csv", "device_id,gender,age,group\n"
                                                         "7,M,30,M29-31\n"
                                                         "8,F,25,F24-26\n"
                                                         "\n"
                                                         "7,F,27,F27-28\n", &err),
                     DG_ERR);
    assert_non_null(strstr(err.msg, "gender_age_train.csv: lines 2 and 5: device 7 is labelled "
                                    "twice with conflicting labels (gender M, age 30, group "
                                    "M29-31; then gender F, age 27, group F27-28)"));
    /* The same labels twice: still one row too many. */
    assert_int_equal(load_labels("gender_age_train.csv", "device_id,gender,age,group\n"
                                                         "-9,M,30,M29-31\n"
                                                         "-9,M,30,M29-31\n", &err),
                     DG_ERR);
    assert_non_null(strstr(err.msg, "gender_age_train.csv: lines 2 and 3: device -9 is labelled "
                                    "twice (gender M, age 30, group M29-31 both times)"));
    /* The mapping file too, train/test flag included. */
    assert_int_equal(load_labels("train_test_split.csv",
                                 "device_id,gender,age,group,train_test_flag\n"
                                 "5,M,30,M25-32,train\n5,M,30,M25-32,test\n", &err),
                     DG_ERR);
    assert_non_null(strstr(err.msg, "train_test_split.csv: lines 2 and 3: device 5 is labelled "
                                    "twice with conflicting labels (gender M, age 30, group "
                                    "M25-32, train_test_flag train; then gender M, age 30, group "
                                    "M25-32, train_test_flag test)"));
    assert_int_equal(load_labels("gender_age_train.csv",
                                 "device_id,gender,age,group\n7,M,30,M29-31\n8,M,30,M29-31\n", &err),
                     DG_OK);
}

/* The invalid UTF-8 count of a table reaches the data set's report. */
static void invalid_utf8_count_reaches_the_load_report(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "phone_brand_device_model.csv",
                      "device_id,phone_brand,device_model\n1,\xc3\xd7,x\n2,ok,\xff\xfe\n"));
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_err err;
    assert_int_equal(dg_dataset_load(&ds, dir, NULL, &err), DG_OK);
    assert_int_equal(ds.reports[DG_T_PHONES].utf8_replaced, 4);
    assert_int_equal(ds.reports[DG_T_PHONES].utf8_first_line, 2);
    assert_int_equal(ds.reports[DG_T_PHONES].utf8_first_column, 2);
    dg_dataset_free(&ds);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(golden_heads),
        cmocka_unit_test(real_train_labels),
        cmocka_unit_test(mapping_file_both_id_forms),
        cmocka_unit_test(shapes_and_missing_folders),
        cmocka_unit_test(a_directory_or_fifo_under_a_data_name_is_an_error),
        cmocka_unit_test(a_device_labelled_twice_is_an_error_naming_both_lines),
        cmocka_unit_test(invalid_utf8_count_reaches_the_load_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
