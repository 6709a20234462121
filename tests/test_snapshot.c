#define _GNU_SOURCE /* memmem */
#include "testutil.h"

#include "demographer/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Sets every file of dir an hour back, as data files usually are: files
 * modified just before a snapshot is written are not trusted to it. */
static void age_files(const char *dir)
{
    static const char *names[] = {"phone_brand_device_model.csv", "app_events.csv", "events.csv",
                                  "gender_age_test.csv"};
    struct timespec times[2];
    clock_gettime(CLOCK_REALTIME, &times[0]);
    times[0].tv_sec -= 3600;
    times[1] = times[0];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        utimensat(AT_FDCWD, path, times, 0);
    }
}

typedef struct fixture {
    char *data, *cache;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->data = tu_tmpdir();
    f->cache = tu_tmpdir();
    free(tu_write_str(f->data, "phone_brand_device_model.csv",
                      "device_id,phone_brand,device_model\n1,联想,A\n2,联想 ,B\n3,三星,Galaxy S4\n"));
    free(tu_write_str(f->data, "app_events.csv",
                      "event_id,app_id,is_installed,is_active\n1,-5,1,1\n1,7,1,0\n2,-5,1,0\n"));
    free(tu_write_str(f->data, "events.csv",
                      "event_id,device_id,timestamp,longitude,latitude\n"
                      "1,1,2016-05-01 00:00:00,116.39,39.91\n2,3,2016-05-02 10:11:12,0,0\n"));
    age_files(f->data);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmrf(f->data);
    tu_rmrf(f->cache);
    free(f->data);
    free(f->cache);
    free(f);
    return 0;
}

static void assert_tables_equal(const dg_dataset *a, const dg_dataset *b)
{
    for (int t = 0; t < DG_T_COUNT; t++) {
        assert_int_equal(a->present[t], b->present[t]);
        const dg_table *x = &a->tables[t], *y = &b->tables[t];
        assert_int_equal(x->nrows, y->nrows);
        assert_int_equal(x->ncols, y->ncols);
        for (int c = 0; c < x->ncols; c++) {
            assert_string_equal(x->cols[c].name, y->cols[c].name);
            assert_int_equal(x->cols[c].type, y->cols[c].type);
            assert_memory_equal(x->cols[c].data, y->cols[c].data,
                                x->nrows * dg_coltype_width(x->cols[c].type));
            assert_int_equal(x->cols[c].dict.n, y->cols[c].dict.n);
            for (uint32_t k = 0; k < x->cols[c].dict.n; k++)
                assert_true(dg_i64map_get(&y->cols[c].dict, x->cols[c].dict.keys[k]) == k);
        }
        assert_int_equal(x->strings.n, y->strings.n);
        for (uint32_t s = 0; s < x->strings.n; s++)
            assert_string_equal(dg_strpool_get(&x->strings, s), dg_strpool_get(&y->strings, s));
    }
}

static void reload_is_identical(void **state)
{
    fixture *f = *state;
    dg_load_opts o = {.use_snapshot = 1, .cache_dir = f->cache};
    dg_dataset a, b;
    dg_err err;
    dg_dataset_init(&a);
    dg_dataset_init(&b);
    assert_int_equal(dg_dataset_load(&a, f->data, &o, &err), DG_OK);
    assert_false(a.from_snapshot);
    assert_string_equal(a.snapshot_warning, "");
    assert_int_equal(access(a.snapshot_path, R_OK), 0);
    assert_int_equal(dg_dataset_load(&b, f->data, &o, &err), DG_OK);
    assert_true(b.from_snapshot);
    assert_tables_equal(&a, &b);
    /* The key dictionary works after a reload (it is rebuilt, not copied). */
    const dg_column *app = dg_table_column(&b.tables[DG_T_APP_EVENTS], "app_id");
    assert_int_equal(dg_i64map_get(&app->dict, 7), 1);
    /* Reloaded columns live in the mapped snapshot: they can be changed in
     * memory (copy on write) and grown (copied to the heap), and the file
     * stays as it was. */
    dg_table *ev = &b.tables[DG_T_EVENTS];
    assert_true(ev->cols[0].borrowed);
    dg_col_i32(&ev->cols[0])[0] = 99;
    dg_table_resize(ev, 3);
    assert_false(ev->cols[0].borrowed);
    assert_int_equal(dg_col_i32(&ev->cols[0])[0], 99);
    assert_int_equal(dg_col_i32(&ev->cols[0])[1], 2);
    dg_table_free(&b.tables[DG_T_PHONES]); /* the others keep the mapping */
    assert_int_equal(dg_col_i8(dg_table_column(&b.tables[DG_T_APP_EVENTS], "is_active"))[0], 1);
    dg_dataset c;
    dg_dataset_init(&c);
    assert_int_equal(dg_dataset_load(&c, f->data, &o, &err), DG_OK);
    assert_true(c.from_snapshot);
    assert_int_equal(dg_col_i32(&c.tables[DG_T_EVENTS].cols[0])[0], 1);
    dg_dataset_free(&c);
    dg_dataset_free(&a);
    dg_dataset_free(&b);
}

static void a_changed_source_rebuilds(void **state)
{
    fixture *f = *state;
    dg_load_opts o = {.use_snapshot = 1, .cache_dir = f->cache};
    dg_dataset a;
    dg_err err;
    dg_dataset_init(&a);
    assert_int_equal(dg_dataset_load(&a, f->data, &o, &err), DG_OK);
    /* Same size, new content: the snapshot must not be used. */
    char *p = tu_write_str(f->data, "app_events.csv",
                           "event_id,app_id,is_installed,is_active\n1,-5,1,1\n1,8,1,0\n2,-5,1,0\n");
    assert_int_equal(dg_dataset_load(&a, f->data, &o, &err), DG_OK);
    assert_false(a.from_snapshot);
    assert_true(dg_col_id(dg_table_column(&a.tables[DG_T_APP_EVENTS], "app_id"), 1) == 8);
    /* A new table file appearing also invalidates it. */
    free(tu_write_str(f->data, "gender_age_test.csv", "device_id\n9\n"));
    age_files(f->data);
    assert_int_equal(dg_dataset_load(&a, f->data, &o, &err), DG_OK);
    assert_false(a.from_snapshot);
    assert_int_equal(a.tables[DG_T_TEST].nrows, 1);
    assert_int_equal(dg_dataset_load(&a, f->data, &o, &err), DG_OK);
    assert_true(a.from_snapshot);
    /* Lenient and strict loads keep separate content. */
    o.lenient = 1;
    assert_int_equal(dg_dataset_load(&a, f->data, &o, &err), DG_OK);
    assert_false(a.from_snapshot);
    dg_dataset_free(&a);
    free(p);
}

static void a_damaged_snapshot_is_ignored(void **state)
{
    fixture *f = *state;
    dg_load_opts o = {.use_snapshot = 1, .cache_dir = f->cache};
    dg_dataset a, b;
    dg_err err;
    dg_dataset_init(&a);
    dg_dataset_init(&b);
    assert_int_equal(dg_dataset_load(&a, f->data, &o, &err), DG_OK);
    struct stat st;
    assert_int_equal(stat(a.snapshot_path, &st), 0);
    /* Cut it in the middle of a table: the load falls back to the CSV. */
    assert_int_equal(truncate(a.snapshot_path, st.st_size / 2), 0);
    assert_int_equal(dg_dataset_load(&b, f->data, &o, &err), DG_OK);
    assert_false(b.from_snapshot);
    assert_tables_equal(&a, &b);
    /* ... and wrote a good one again. */
    assert_int_equal(dg_dataset_load(&b, f->data, &o, &err), DG_OK);
    assert_true(b.from_snapshot);
    dg_dataset_free(&a);
    dg_dataset_free(&b);
}

/* One flipped byte in a column's data (the latitude 39.91 of the first
 * event) is found by the column's checksum: the load rebuilds from the CSV,
 * says so, and the tables are the CSV's. */
static void a_flipped_byte_is_detected_and_rebuilt(void **state)
{
    fixture *f = *state;
    dg_load_opts o = {.use_snapshot = 1, .cache_dir = f->cache};
    dg_dataset a, b;
    dg_err err;
    dg_dataset_init(&a);
    dg_dataset_init(&b);
    assert_int_equal(dg_dataset_load(&a, f->data, &o, &err), DG_OK);
    size_t len;
    char *bytes = tu_read(a.snapshot_path, &len);
    assert_non_null(bytes);
    const dg_column *lat = dg_table_column(&a.tables[DG_T_EVENTS], "latitude");
    assert_non_null(lat);
    size_t w = dg_coltype_width(lat->type);
    char *at = memmem(bytes, len, lat->data, w * a.tables[DG_T_EVENTS].nrows);
    assert_non_null(at);
    at[1] ^= 0x10;
    free(tu_write(f->cache, strrchr(a.snapshot_path, '/') + 1, bytes, len));
    assert_int_equal(dg_dataset_load(&b, f->data, &o, &err), DG_OK);
    assert_false(b.from_snapshot);
    if (!strstr(b.snapshot_warning, "events, column latitude: the checksum does not match") ||
        !strstr(b.snapshot_warning, "loaded from the CSV files instead"))
        fail_msg("expected the mismatch said, got '%s'", b.snapshot_warning);
    assert_tables_equal(&a, &b);
    /* The snapshot was written again, whole: the next load uses it. */
    assert_int_equal(dg_dataset_load(&b, f->data, &o, &err), DG_OK);
    assert_true(b.from_snapshot);
    assert_string_equal(b.snapshot_warning, "");
    assert_tables_equal(&a, &b);
    free(bytes);
    dg_dataset_free(&a);
    dg_dataset_free(&b);
}

/* Whatever byte is flipped, a load gives the CSV's tables: either the
 * snapshot is refused (and rebuilt) or the byte changed nothing (padding). */
static void no_flipped_byte_changes_data(void **state)
{
    fixture *f = *state;
    dg_load_opts o = {.use_snapshot = 1, .cache_dir = f->cache};
    dg_dataset a, b;
    dg_err err;
    dg_dataset_init(&a);
    dg_dataset_init(&b);
    assert_int_equal(dg_dataset_load(&a, f->data, &o, &err), DG_OK);
    size_t len;
    char *pristine = tu_read(a.snapshot_path, &len);
    assert_non_null(pristine);
    char *copy = malloc(len);
    const char *name = strrchr(a.snapshot_path, '/') + 1;
    size_t refused = 0, tried = 0;
    for (size_t i = 0; i < len; i += 3, tried++) {
        memcpy(copy, pristine, len);
        copy[i] ^= 0x04;
        free(tu_write(f->cache, name, copy, len));
        assert_int_equal(dg_dataset_load(&b, f->data, &o, &err), DG_OK);
        refused += !b.from_snapshot;
        assert_tables_equal(&a, &b);
    }
    /* Most bytes matter (the rest are alignment padding and the reports'
     * unused message space, which the header checksum covers too). */
    assert_true(refused > tried / 2);
    free(copy);
    free(pristine);
    dg_dataset_free(&a);
    dg_dataset_free(&b);
}

/* A FIFO at the snapshot's path: the load neither blocks on it nor reads
 * it; it loads the CSV, says so, and puts a real snapshot in its place. */
static void a_fifo_at_the_snapshot_path_does_not_hang(void **state)
{
    fixture *f = *state;
    dg_load_opts o = {.use_snapshot = 1, .cache_dir = f->cache};
    char *path = dg_snapshot_path_for(f->cache, f->data);
    assert_int_equal(mkfifo(path, 0600), 0);
    dg_dataset a;
    dg_err err;
    dg_dataset_init(&a);
    alarm(60); /* a hang ends the test (SIGALRM) instead of the suite's timeout */
    assert_int_equal(dg_dataset_load(&a, f->data, &o, &err), DG_OK);
    alarm(0);
    assert_false(a.from_snapshot);
    assert_non_null(strstr(a.snapshot_warning, "not a regular file"));
    assert_int_equal(a.tables[DG_T_PHONES].nrows, 3);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(dg_dataset_load(&a, f->data, &o, &err), DG_OK);
    assert_true(a.from_snapshot);
    dg_dataset_free(&a);
    free(path);
}

static void an_unwritable_cache_is_a_warning(void **state)
{
    fixture *f = *state;
    dg_load_opts o = {.use_snapshot = 1, .cache_dir = "/proc/demographer-cannot-write-here"};
    dg_dataset a;
    dg_err err;
    dg_dataset_init(&a);
    assert_int_equal(dg_dataset_load(&a, f->data, &o, &err), DG_OK);
    assert_false(a.from_snapshot);
    assert_non_null(strstr(a.snapshot_warning, "snapshot not written: "));
    assert_int_equal(a.tables[DG_T_PHONES].nrows, 3);
    dg_dataset_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(reload_is_identical, setup, teardown),
        cmocka_unit_test_setup_teardown(a_changed_source_rebuilds, setup, teardown),
        cmocka_unit_test_setup_teardown(a_damaged_snapshot_is_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(an_unwritable_cache_is_a_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(a_flipped_byte_is_detected_and_rebuilt, setup, teardown),
        cmocka_unit_test_setup_teardown(no_flipped_byte_changes_data, setup, teardown),
        cmocka_unit_test_setup_teardown(a_fifo_at_the_snapshot_path_does_not_hang, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
