#include "testutil.h"

#include "demographer/csv.h"

#include "demographer/textbuf.h"

#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static const dg_colspec EVENT_COLS[] = {
    {"event_id", NULL, DG_COL_I32, NULL},    {"device_id", NULL, DG_COL_I64, NULL},
    {"timestamp", NULL, DG_COL_TIME, NULL},  {"longitude", NULL, DG_COL_F32, NULL},
    {"latitude", NULL, DG_COL_F32, NULL},
};
static const dg_colspec PHONE_COLS[] = {
    {"device_id", NULL, DG_COL_I64, NULL},
    {"phone_brand", NULL, DG_COL_STR, NULL},
    {"device_model", NULL, DG_COL_STR, NULL},
};
static const dg_colspec APP_EVENT_COLS[] = {
    {"event_id", NULL, DG_COL_I32, NULL},
    {"app_id", NULL, DG_COL_KEY, NULL},
    {"is_installed", NULL, DG_COL_I8, NULL},
    {"is_active", NULL, DG_COL_I8, NULL},
};

/* Reads `text` as file `name` with the given columns; returns the status and
 * leaves the message in err. */
static int read_text(const char *name, const char *text, size_t len, const dg_colspec *cols,
                     int ncols, int lenient, dg_table *t, dg_csv_report *rep, dg_err *err)
{
    char *dir = tu_tmpdir();
    char *path = tu_write(dir, name, text, len);
    dg_csv_opts o = {.lenient = lenient, .display_name = name};
    dg_table_init(t, name);
    int rc = dg_csv_read(path, cols, ncols, &o, t, rep, err);
    tu_rmrf(dir);
    free(path);
    free(dir);
    return rc;
}

static void expect_error(const char *text, const dg_colspec *cols, int ncols,
                         const char *message)
{
    dg_table t;
    dg_csv_report rep;
    dg_err err;
    int rc = read_text("f.csv", text, strlen(text), cols, ncols, 0, &t, &rep, &err);
    assert_int_equal(rc, DG_ERR);
    assert_string_equal(err.msg, message);
    /* Nothing half-filled stays behind. */
    assert_int_equal(t.nrows, 0);
    assert_int_equal(t.ncols, 0);
    dg_table_free(&t);
}

static void columns_by_name_any_order_extra_ignored(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBFlatitude,extra,timestamp,device_id,event_id,longitude\r\n"
                       "31.24,x,2016-05-01 00:55:25,29182687948017175,1,121.38\r\n"
                       "\r\n"
                       "-0.5,\"y,z\",2016-05-07 23:59:59,-6401643145415154744,2,\r\n";
    dg_table t;
    dg_csv_report rep;
    dg_err err;
    assert_int_equal(read_text("e.csv", text, strlen(text), EVENT_COLS, 5, 0, &t, &rep, &err),
                     DG_OK);
    assert_int_equal(t.nrows, 2);
    assert_int_equal(t.ncols, 5);
    assert_string_equal(t.cols[0].name, "event_id");
    assert_int_equal(dg_col_i32(&t.cols[0])[1], 2);
    assert_true(dg_col_i64(&t.cols[1])[0] == 29182687948017175LL);
    assert_true(dg_col_i64(&t.cols[1])[1] == -6401643145415154744LL);
    char ts[20];
    dg_format_time(dg_col_i64(&t.cols[2])[0], ts);
    assert_string_equal(ts, "2016-05-01 00:55:25");
    dg_format_time(dg_col_i64(&t.cols[2])[1], ts);
    assert_string_equal(ts, "2016-05-07 23:59:59");
    assert_true(dg_col_f32(&t.cols[3])[0] == 121.38f);
    assert_true(isnan(dg_col_f32(&t.cols[3])[1])); /* empty float: missing */
    assert_true(dg_col_f32(&t.cols[4])[1] == -0.5f);
    dg_table_free(&t);
}

static void quoted_fields_and_byte_exact_strings(void **state)
{
    (void)state;
    const char *text = "device_id,phone_brand,device_model\n"
                       "1,联想,\"A\"\"B\"\n"
                       "2,联想 ,\"two\nlines\"\n"
                       "3,,\"x,y\"\n"
                       "4,\"三星\",Galaxy S4";
    dg_table t;
    dg_csv_report rep;
    dg_err err;
    assert_int_equal(read_text("p.csv", text, strlen(text), PHONE_COLS, 3, 0, &t, &rep, &err),
                     DG_OK);
    assert_int_equal(t.nrows, 4);
    const uint32_t *brand = dg_col_u32(&t.cols[1]), *model = dg_col_u32(&t.cols[2]);
    assert_string_equal(dg_strpool_get(&t.strings, brand[0]), "联想");
    assert_string_equal(dg_strpool_get(&t.strings, brand[1]), "联想 ");
    assert_int_not_equal(brand[0], brand[1]);
    assert_string_equal(dg_strpool_get(&t.strings, brand[2]), "");
    assert_string_equal(dg_strpool_get(&t.strings, model[0]), "A\"B");
    assert_string_equal(dg_strpool_get(&t.strings, model[1]), "two\nlines");
    assert_string_equal(dg_strpool_get(&t.strings, model[2]), "x,y");
    assert_string_equal(dg_strpool_get(&t.strings, brand[3]), "三星");
    assert_string_equal(dg_strpool_get(&t.strings, model[3]), "Galaxy S4");
    dg_table_free(&t);
}

static void rounded_and_exponent_ids(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(dg_parse_i64("-7548291590301750000", 20, &v), 0);
    assert_true(v == -7548291590301750000LL);
    assert_int_equal(dg_parse_i64("-7.54829159030175e+18", 21, &v), 0);
    assert_true(v == -7548291590301750000LL);
    assert_int_equal(dg_parse_i64("6.94356860061776E18", 19, &v), 0);
    assert_true(v == 6943568600617760000LL);
    assert_int_equal(dg_parse_i64("41160829119269700", 17, &v), 0);
    assert_true(v == 41160829119269700LL);
    /* Past the edge of int64 is out of range, never clamped (two phones
     * clamped to INT64_MAX would be one device), rounded or not. */
    assert_int_equal(dg_parse_i64("9223372036854780000", 19, &v), DG_PARSE_RANGE);
    assert_int_equal(dg_parse_i64("-9223372036854780000", 20, &v), DG_PARSE_RANGE);
    assert_int_equal(dg_parse_i64("9.22337203685478e+18", 20, &v), DG_PARSE_RANGE);
    assert_int_equal(dg_parse_i64("-9223372036854775809", 20, &v), DG_PARSE_RANGE);
    assert_int_equal(dg_parse_i64("9223372036854775807", 19, &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(dg_parse_i64("-9223372036854775808", 20, &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(dg_parse_i64("9223372036854775808", 19, &v), DG_PARSE_RANGE);
    assert_int_equal(dg_parse_i64("99999999999999999999", 20, &v), DG_PARSE_RANGE);
    assert_int_equal(dg_parse_i64("1.5", 3, &v), DG_PARSE_SYNTAX);
    assert_int_equal(dg_parse_i64("12a", 3, &v), DG_PARSE_SYNTAX);
    assert_int_equal(dg_parse_i64("-", 1, &v), DG_PARSE_SYNTAX);
    assert_int_equal(dg_parse_i64("", 0, &v), DG_PARSE_EMPTY);
}

static void floats_and_times(void **state)
{
    (void)state;
    double d;
    assert_int_equal(dg_parse_f64("121.38", 6, &d), 0);
    assert_true(d == 121.38);
    assert_int_equal(dg_parse_f64("-0.01", 5, &d), 0);
    assert_true(d == -0.01);
    assert_int_equal(dg_parse_f64("1e3", 3, &d), 0);
    assert_true(d == 1000.0);
    assert_int_equal(dg_parse_f64("nan", 3, &d), DG_PARSE_SYNTAX);
    assert_int_equal(dg_parse_f64("1e999", 5, &d), DG_PARSE_RANGE);
    assert_int_equal(dg_parse_f64("1.2.3", 5, &d), DG_PARSE_SYNTAX);
    int64_t t;
    assert_int_equal(dg_parse_time("2016-05-01 00:00:00", 19, &t), 0);
    assert_true(t == 1462060800LL); /* date -u -d '2016-05-01' +%s */
    assert_int_equal(dg_parse_time("2016-02-29T12:00:00", 19, &t), 0);
    assert_int_equal(dg_parse_time("2015-02-29 12:00:00", 19, &t), DG_PARSE_RANGE);
    assert_int_equal(dg_parse_time("2016-13-01 00:00:00", 19, &t), DG_PARSE_RANGE);
    assert_int_equal(dg_parse_time("2016-05-01", 10, &t), DG_PARSE_SYNTAX);
    char buf[20];
    for (int64_t s = 1462060800LL - 86400 * 3; s < 1462060800LL + 86400 * 9; s += 3599) {
        dg_format_time(s, buf);
        int64_t back;
        assert_int_equal(dg_parse_time(buf, 19, &back), 0);
        assert_true(back == s);
    }
}

static void missing_and_empty_files(void **state)
{
    (void)state;
    dg_table t;
    dg_err err;
    dg_table_init(&t, "x");
    assert_int_equal(dg_csv_read("/nonexistent/events.csv", EVENT_COLS, 5, NULL, &t, NULL, &err),
                     DG_ERR);
    assert_string_equal(err.msg, "/nonexistent/events.csv: cannot open: No such file or directory");
    dg_table_free(&t);
    expect_error("", EVENT_COLS, 5,
                 "f.csv: line 1: the file is empty; expected a header with the columns "
                 "event_id,device_id,timestamp,longitude,latitude");
    expect_error("\n1,2,3\n", PHONE_COLS, 3,
                 "f.csv: line 1: the header line is empty; expected a header with the columns "
                 "device_id,phone_brand,device_model");
}

static void wrong_or_missing_header(void **state)
{
    (void)state;
    expect_error("device_id,brand,device_model\n1,a,b\n", PHONE_COLS, 3,
                 "f.csv: line 1: no column 'phone_brand' (the header has: "
                 "device_id,brand,device_model); expected a header with the columns "
                 "device_id,phone_brand,device_model");
    /* A file without a header: its first row is taken as one, and says so. */
    expect_error("1,a,b\n2,c,d\n", PHONE_COLS, 3,
                 "f.csv: line 1: no column 'device_id' (the header has: 1,a,b); expected a "
                 "header with the columns device_id,phone_brand,device_model");
    expect_error("device_id,phone_brand,device_model,device_id\n1,a,b,1\n", PHONE_COLS, 3,
                 "f.csv: line 1: column 'device_id' appears twice; expected a header with the "
                 "columns device_id,phone_brand,device_model");
}

static void bad_values_name_line_column_expected_found(void **state)
{
    (void)state;
    const char *head = "event_id,device_id,timestamp,longitude,latitude\n";
    char text[512];
    snprintf(text, sizeof text, "%s1,5,2016-05-01 00:00:00,1,2\n2,abc,2016-05-01 00:00:00,1,2\n",
             head);
    expect_error(text, EVENT_COLS, 5,
                 "f.csv: line 3, column 2 (device_id): expected a signed 64-bit integer, found "
                 "'abc'");
    snprintf(text, sizeof text, "%s1,99999999999999999999,2016-05-01 00:00:00,1,2\n", head);
    expect_error(text, EVENT_COLS, 5,
                 "f.csv: line 2, column 2 (device_id): expected a signed 64-bit integer (out of "
                 "range), found '99999999999999999999'");
    snprintf(text, sizeof text, "%s3000000000,1,2016-05-01 00:00:00,1,2\n", head);
    expect_error(text, EVENT_COLS, 5,
                 "f.csv: line 2, column 1 (event_id): expected an integer in [-2147483648, "
                 "2147483647], found '3000000000'");
    snprintf(text, sizeof text, "%s1,1,2016-05-32 00:00:00,1,2\n", head);
    expect_error(text, EVENT_COLS, 5,
                 "f.csv: line 2, column 3 (timestamp): expected a valid date and time "
                 "(YYYY-MM-DD HH:MM:SS), found '2016-05-32 00:00:00'");
    snprintf(text, sizeof text, "%s1,1,May 1st,1,2\n", head);
    expect_error(text, EVENT_COLS, 5,
                 "f.csv: line 2, column 3 (timestamp): expected a timestamp YYYY-MM-DD "
                 "HH:MM:SS, found 'May 1st'");
    snprintf(text, sizeof text, "%s1,1,2016-05-01 00:00:00,east,2\n", head);
    expect_error(text, EVENT_COLS, 5,
                 "f.csv: line 2, column 4 (longitude): expected a number, found 'east'");
    snprintf(text, sizeof text, "%s,1,2016-05-01 00:00:00,1,2\n", head);
    expect_error(text, EVENT_COLS, 5,
                 "f.csv: line 2, column 1 (event_id): expected an integer, found an empty field");
    snprintf(text, sizeof text, "%s1,1,2016-05-01 00:00:00,1,2,9\n", head);
    expect_error(text, EVENT_COLS, 5,
                 "f.csv: line 2, expected 5 fields as in the header, found 6");
}

static void unterminated_quote_and_truncated_last_line(void **state)
{
    (void)state;
    expect_error("device_id,phone_brand,device_model\n1,a,b\n2,\"open,b\n3,c,d\n", PHONE_COLS, 3,
                 "f.csv: line 3, column 2 (phone_brand): unterminated quoted field: the quote "
                 "opened here is never closed before the end of the file");
    expect_error("event_id,device_id,timestamp,longitude,latitude\n"
                 "1,5,2016-05-01 00:00:00,1,2\n2,5,2016-05-0",
                 EVENT_COLS, 5,
                 "f.csv: line 3, expected 5 fields as in the header, found 3 (the last line "
                 "ends early: is the file truncated?)");
}

static void huge_field_is_refused(void **state)
{
    (void)state;
    size_t big = 10u << 20;
    const char *head = "device_id,phone_brand,device_model\n1,a,";
    size_t hl = strlen(head);
    char *text = malloc(hl + big + 2);
    memcpy(text, head, hl);
    memset(text + hl, 'm', big);
    text[hl + big] = '\n';
    dg_table t;
    dg_csv_report rep;
    dg_err err;
    assert_int_equal(read_text("f.csv", text, hl + big + 1, PHONE_COLS, 3, 0, &t, &rep, &err),
                     DG_ERR);
    assert_string_equal(err.msg,
                        "f.csv: line 2, column 3 (device_model): field longer than 1048576 bytes");
    dg_table_free(&t);
    /* Quoted, the same. */
    text[hl] = '"';
    text[hl + big - 1] = '"';
    assert_int_equal(read_text("f.csv", text, hl + big + 1, PHONE_COLS, 3, 0, &t, &rep, &err),
                     DG_ERR);
    assert_string_equal(err.msg, "f.csv: line 2, column 3 (device_model): field longer than "
                                 "1048576 bytes (a missing closing quote?)");
    dg_table_free(&t);
    free(text);
}

static void lenient_skips_counts_and_reports(void **state)
{
    (void)state;
    const char *text = "event_id,device_id,timestamp,longitude,latitude\n"
                       "1,5,2016-05-01 00:00:00,1,2\n"
                       "x,5,2016-05-01 00:00:00,1,2\n"
                       "3,5,2016-05-01 00:00:00,1\n"
                       "4,5,2016-05-01 00:00:00,1,2\n"
                       "5,5,bad,1,2\n"
                       "6,5,2016-05-01 00:00:00,1,2";
    dg_table t;
    dg_csv_report rep;
    dg_err err;
    assert_int_equal(read_text("f.csv", text, strlen(text), EVENT_COLS, 5, 1, &t, &rep, &err),
                     DG_OK);
    assert_int_equal(t.nrows, 3);
    assert_int_equal(rep.bad_rows, 3);
    assert_int_equal(rep.nfirst, 3);
    assert_string_equal(rep.first_errors[0],
                        "f.csv: line 3, column 1 (event_id): expected an integer, found 'x'");
    assert_string_equal(rep.first_errors[1],
                        "f.csv: line 4, expected 5 fields as in the header, found 4");
    assert_string_equal(rep.first_errors[2],
                        "f.csv: line 6, column 3 (timestamp): expected a timestamp YYYY-MM-DD "
                        "HH:MM:SS, found 'bad'");
    assert_int_equal(dg_col_i32(&t.cols[0])[0], 1);
    assert_int_equal(dg_col_i32(&t.cols[0])[1], 4);
    assert_int_equal(dg_col_i32(&t.cols[0])[2], 6);
    dg_table_free(&t);
}

/* A file big enough to be split over threads gives the same table (values,
 * key codes, row order) with one thread and with four. */
static void parallel_equals_serial(void **state)
{
    (void)state;
    size_t cap = 12u << 20, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "event_id,app_id,is_installed,is_active\n");
    uint64_t x = 88172645463325252ull;
    int row = 0;
    while (len + 100 < cap) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t app = (int64_t)(x % 5000) * 1000003 - 2500000000LL;
        row++;
        len += (size_t)snprintf(text + len, cap - len, "%d,%lld,1,%d%s", row, (long long)app,
                                (int)(x >> 60) & 1, row % 1000 == 0 ? "\r\n" : "\n");
    }
    char *dir = tu_tmpdir();
    char *path = tu_write(dir, "app_events.csv", text, len);
    dg_table a, b;
    dg_csv_report ra, rb;
    dg_err err;
    dg_csv_opts o1 = {.threads = 1}, o4 = {.threads = 4};
    dg_table_init(&a, "a");
    dg_table_init(&b, "b");
    assert_int_equal(dg_csv_read(path, APP_EVENT_COLS, 4, &o1, &a, &ra, &err), DG_OK);
    assert_int_equal(dg_csv_read(path, APP_EVENT_COLS, 4, &o4, &b, &rb, &err), DG_OK);
    assert_int_equal(ra.threads_used, 1);
    assert_int_equal(rb.threads_used, 4);
    assert_int_equal(a.nrows, (uint64_t)row);
    assert_int_equal(b.nrows, (uint64_t)row);
    for (int c = 0; c < 4; c++)
        assert_memory_equal(a.cols[c].data, b.cols[c].data,
                            a.nrows * dg_coltype_width(a.cols[c].type));
    assert_int_equal(a.cols[1].dict.n, b.cols[1].dict.n);
    assert_memory_equal(a.cols[1].dict.keys, b.cols[1].dict.keys, a.cols[1].dict.n * 8);
    dg_table_free(&a);
    dg_table_free(&b);

    /* An error in the second half is found by its thread with the right line. */
    char *mid = text + len / 2;
    char *nl = strchr(mid, '\n');
    memcpy(nl + 1, "zz", 2);
    long line = 2;
    for (char *p = text; p <= nl; p++)
        line += *p == '\n';
    free(path);
    path = tu_write(dir, "app_events.csv", text, len);
    dg_table_init(&b, "b");
    assert_int_equal(dg_csv_read(path, APP_EVENT_COLS, 4, &o4, &b, &rb, &err), DG_ERR);
    char want[200];
    snprintf(want, sizeof want, "%s: line %ld, column 1 (event_id): expected an integer, found",
             path, line - 1);
    assert_true(strncmp(err.msg, want, strlen(want)) == 0);
    dg_table_free(&b);
    tu_rmrf(dir);
    free(dir);
    free(path);
    free(text);
}

/* Files without quotes take a fused fast path that hands unusual rows to the
 * general one; a quote anywhere sends every row through the general one.
 * Both must give the same table. */
static void fast_and_general_paths_agree(void **state)
{
    (void)state;
    const char *rows = "1,-9223372036854775808,2016-05-01 00:00:00,121.38,31.24\n"
                       "2,9223372036854775807,2016-05-01 00:00:01,,-0.5\r\n"
                       "3,+5,2016-05-01T00:00:02,1e2,1.25E-1\n"
                       "4,-7.54829159030175e+18,2016-05-01 00:00:03,0,0\n"
                       "5,41160829119269700,2016-05-01 00:00:04,1234567.1234567891,1\n";
    char plain[1024], quoted[1024];
    snprintf(plain, sizeof plain, "event_id,device_id,timestamp,longitude,latitude\n%s", rows);
    snprintf(quoted, sizeof quoted, "event_id,device_id,timestamp,longitude,\"latitude\"\n%s", rows);
    dg_table a, b;
    dg_csv_report rep;
    dg_err err;
    assert_int_equal(read_text("a.csv", plain, strlen(plain), EVENT_COLS, 5, 0, &a, &rep, &err),
                     DG_OK);
    assert_int_equal(read_text("b.csv", quoted, strlen(quoted), EVENT_COLS, 5, 0, &b, &rep, &err),
                     DG_OK);
    assert_int_equal(a.nrows, 5);
    assert_int_equal(b.nrows, 5);
    for (int c = 0; c < 5; c++)
        assert_memory_equal(a.cols[c].data, b.cols[c].data,
                            a.nrows * dg_coltype_width(a.cols[c].type));
    assert_true(dg_col_i64(&a.cols[1])[0] == INT64_MIN);
    assert_true(dg_col_i64(&a.cols[1])[2] == 5);
    assert_true(dg_col_i64(&a.cols[1])[3] == -7548291590301750000LL);
    assert_true(isnan(dg_col_f32(&a.cols[3])[1]));
    assert_true(dg_col_f32(&a.cols[3])[2] == 100.0f);
    assert_true(dg_col_f32(&a.cols[4])[2] == 0.125f);
    dg_table_free(&a);
    dg_table_free(&b);
}

/* Two phones above 2^63-1 were both clamped to INT64_MAX: one device. Now the
 * load stops, naming the file, line and column, on both read paths (a file
 * with strings and one without). */
static void ids_above_int64_are_errors_with_line_and_column(void **state)
{
    (void)state;
    expect_error("device_id,phone_brand,device_model\n1,a,b\n9223372036854775808,a,b\n"
                 "9223372036854780000,c,d\n",
                 PHONE_COLS, 3,
                 "f.csv: line 3, column 1 (device_id): expected a signed 64-bit integer (out of "
                 "range), found '9223372036854775808'");
    expect_error("device_id,phone_brand,device_model\n9223372036854780000,c,d\n", PHONE_COLS, 3,
                 "f.csv: line 2, column 1 (device_id): expected a signed 64-bit integer (out of "
                 "range), found '9223372036854780000'");
    expect_error("event_id,device_id,timestamp,longitude,latitude\n"
                 "1,9223372036854780000,2016-05-01 00:00:00,1,2\n",
                 EVENT_COLS, 5,
                 "f.csv: line 2, column 2 (device_id): expected a signed 64-bit integer (out of "
                 "range), found '9223372036854780000'");
}

/* A NUL ended the message's text: found '12'. The bytes are shown escaped. */
static void nul_and_control_bytes_are_shown_escaped(void **state)
{
    (void)state;
    static const char text[] = "event_id,device_id,timestamp,longitude,latitude\n"
                               "12\0,1,2016-05-01 00:00:00,1,2\n";
    dg_table t;
    dg_csv_report rep;
    dg_err err;
    assert_int_equal(read_text("f.csv", text, sizeof text - 1, EVENT_COLS, 5, 0, &t, &rep, &err),
                     DG_ERR);
    assert_string_equal(err.msg, "f.csv: line 2, column 1 (event_id): expected an integer, "
                                 "found '12\\x00'");
    dg_table_free(&t);
    static const char text2[] = "event_id,device_id,timestamp,longitude,latitude\n"
                                "1,\x01\xff\\9,2016-05-01 00:00:00,1,2\n";
    assert_int_equal(read_text("f.csv", text2, sizeof text2 - 1, EVENT_COLS, 5, 0, &t, &rep,
                               &err),
                     DG_ERR);
    assert_string_equal(err.msg, "f.csv: line 2, column 2 (device_id): expected a signed 64-bit "
                                 "integer, found '\\x01\\xff\\\\9'");
    dg_table_free(&t);
    char out[64];
    dg_escape_bytes(out, sizeof out, "小米\t\x7f", 8, 40);
    assert_string_equal(out, "小米\\t\\x7f");
    dg_escape_bytes(out, sizeof out, "abcdef", 6, 3);
    assert_string_equal(out, "abc...");
    dg_escape_bytes(out, 8, "\x01\x02\x03", 3, 40); /* no room: cut, still terminated */
    assert_string_equal(out, "\\x01...");
}

static void utf8_sequences_are_checked_strictly(void **state)
{
    (void)state;
    assert_int_equal(dg_utf8_check("小米 红米note", strlen("小米 红米note")),
                     strlen("小米 红米note"));
    assert_int_equal(dg_utf8_check("ab\xff", 3), 2);
    assert_int_equal(dg_utf8_check("\xc0\xaf", 2), 0);         /* overlong '/' */
    assert_int_equal(dg_utf8_check("\xed\xa0\x80", 3), 0);     /* a surrogate */
    assert_int_equal(dg_utf8_check("\xf4\x90\x80\x80", 4), 0); /* past U+10FFFF */
    assert_int_equal(dg_utf8_check("x\xe5\xb0", 3), 1);        /* cut short */
    assert_int_equal(dg_utf8_check("\xf0\x9f\x98\x80", 4), 4); /* an emoji */
}

/* Invalid UTF-8 in a brand went on to pango, which printed warnings. Each bad
 * byte is now U+FFFD, counted with where the first one was. */
static void invalid_utf8_in_strings_is_replaced_and_counted(void **state)
{
    (void)state;
    static const char text[] = "device_id,phone_brand,device_model\n"
                               "1,小米,MI 3\n"
                               "2,\xd0\xa1\xc3\xd7,\"x\xe5\xb0\"\n"
                               "3,\xff,ok\n";
    dg_table t;
    dg_csv_report rep;
    dg_err err;
    assert_int_equal(read_text("f.csv", text, sizeof text - 1, PHONE_COLS, 3, 0, &t, &rep, &err),
                     DG_OK);
    assert_int_equal(t.nrows, 3);
    const uint32_t *brand = dg_col_u32(&t.cols[1]), *model = dg_col_u32(&t.cols[2]);
    assert_string_equal(dg_strpool_get(&t.strings, brand[0]), "小米");
    /* GBK's 小米 (D0A1 C3D7): D0A1 happens to be valid UTF-8 (U+0421), C3D7 is not. */
    assert_string_equal(dg_strpool_get(&t.strings, brand[1]), "\xd0\xa1\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(dg_strpool_get(&t.strings, model[1]), "x\xef\xbf\xbd\xef\xbf\xbd");
    assert_string_equal(dg_strpool_get(&t.strings, brand[2]), "\xef\xbf\xbd");
    assert_int_equal(rep.utf8_replaced, 5);
    assert_int_equal(rep.utf8_first_line, 3);
    assert_int_equal(rep.utf8_first_column, 2);
    for (uint32_t i = 0; i < t.strings.n; i++)
        assert_int_equal(dg_utf8_check(dg_strpool_get(&t.strings, i), dg_strpool_len(&t.strings, i)),
                         dg_strpool_len(&t.strings, i));
    dg_table_free(&t);
    /* Valid files count nothing. */
    const char *good = "device_id,phone_brand,device_model\n1,小米,MI 3\n";
    assert_int_equal(read_text("f.csv", good, strlen(good), PHONE_COLS, 3, 0, &t, &rep, &err),
                     DG_OK);
    assert_int_equal(rep.utf8_replaced, 0);
    dg_table_free(&t);
}

/* A FIFO under a file's name hung the read (open blocked); a directory said
 * "not a regular file" without saying what it was. */
static void fifos_and_directories_are_refused_at_once(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char fifo[512];
    snprintf(fifo, sizeof fifo, "%s/events.csv", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    dg_table t;
    dg_err err;
    dg_table_init(&t, "events");
    dg_csv_opts o = {.display_name = "events.csv"};
    assert_int_equal(dg_csv_read(fifo, EVENT_COLS, 5, &o, &t, NULL, &err), DG_ERR);
    assert_string_equal(err.msg, "events.csv: not a regular file (a FIFO)");
    assert_int_equal(dg_csv_read(dir, EVENT_COLS, 5, &o, &t, NULL, &err), DG_ERR);
    assert_string_equal(err.msg, "events.csv: not a regular file (a directory)");
    dg_table_free(&t);
    tu_rmrf(dir);
    free(dir);
}

/* The file line of each row read, through blank lines, a quoted line break
 * and (lenient) a skipped row. */
static void row_lines_are_file_lines(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = tu_write_str(dir, "p.csv", "device_id,phone_brand,device_model\n"
                                            "1,a,b\n\n2,\"a\nb\",c\nx,a,b\n3,a,b\n");
    for (int lenient = 0; lenient < 2; lenient++) {
        dg_table t;
        dg_err err;
        uint64_t *lines = NULL;
        dg_table_init(&t, "p");
        dg_csv_opts o = {.lenient = lenient, .row_lines = &lines};
        int rc = dg_csv_read(path, PHONE_COLS, 3, &o, &t, NULL, &err);
        if (!lenient) {
            assert_int_equal(rc, DG_ERR);
            assert_null(lines);
            assert_non_null(strstr(err.msg, "line 6, column 1"));
            continue;
        }
        assert_int_equal(rc, DG_OK);
        assert_int_equal(t.nrows, 3);
        assert_non_null(lines);
        assert_int_equal(lines[0], 2);
        assert_int_equal(lines[1], 4);
        assert_int_equal(lines[2], 7);
        free(lines);
        dg_table_free(&t);
    }
    free(path);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(columns_by_name_any_order_extra_ignored),
        cmocka_unit_test(quoted_fields_and_byte_exact_strings),
        cmocka_unit_test(rounded_and_exponent_ids),
        cmocka_unit_test(floats_and_times),
        cmocka_unit_test(missing_and_empty_files),
        cmocka_unit_test(wrong_or_missing_header),
        cmocka_unit_test(bad_values_name_line_column_expected_found),
        cmocka_unit_test(unterminated_quote_and_truncated_last_line),
        cmocka_unit_test(huge_field_is_refused),
        cmocka_unit_test(lenient_skips_counts_and_reports),
        cmocka_unit_test(parallel_equals_serial),
        cmocka_unit_test(fast_and_general_paths_agree),
        cmocka_unit_test(ids_above_int64_are_errors_with_line_and_column),
        cmocka_unit_test(nul_and_control_bytes_are_shown_escaped),
        cmocka_unit_test(utf8_sequences_are_checked_strictly),
        cmocka_unit_test(invalid_utf8_in_strings_is_replaced_and_counted),
        cmocka_unit_test(fifos_and_directories_are_refused_at_once),
        cmocka_unit_test(row_lines_are_file_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
