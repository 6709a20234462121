/* The command line as a user runs it: the real binary, its exit codes, its
 * messages and what it writes. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
    char args[4096], cmd[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s %s", tu_bin(), args);
    return tu_run(cmd, out);
}

static void help_and_version(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run(&out, "--version"), 0);
    assert_string_equal(out, "demographer 0.1.0\n");
    free(out);
    assert_int_equal(run(&out, "--help"), 0);
    assert_non_null(strstr(out, "Usage: demographer"));
    assert_non_null(strstr(out, "  synth "));
    assert_non_null(strstr(out, "  load "));
    assert_non_null(strstr(out, "  replay "));
    assert_non_null(strstr(out, "opens the ncurses workbench"));
    free(out);
    /* Every option a command's help names is one it accepts: --help lists
     * them, and an unknown one is refused with exit 2. */
    assert_int_equal(run(&out, "synth --help"), 0);
    for (const char *o = "--out\0--devices\0--seed\0--shape\0--truth\0--threads\0--quiet\0"; *o;
         o += strlen(o) + 1)
        assert_non_null(strstr(out, o));
    free(out);
    assert_int_equal(run(&out, "load --help"), 0);
    for (const char *o = "--lenient\0--threads\0--no-snapshot\0--cache-dir\0--file\0--quiet\0";
         *o; o += strlen(o) + 1)
        assert_non_null(strstr(out, o));
    free(out);
    assert_int_equal(run(&out, "help load"), 0);
    assert_non_null(strstr(out, "Usage: demographer load"));
    free(out);
}

static void usage_errors_exit_2(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run(&out, "frobnicate"), 2);
    assert_non_null(strstr(out, "demographer: unknown command 'frobnicate'"));
    free(out);
    assert_int_equal(run(&out, "load"), 2);
    assert_non_null(strstr(out, "demographer load: expects exactly one DATA_DIR"));
    free(out);
    assert_int_equal(run(&out, "load --bogus x"), 2);
    free(out);
    assert_int_equal(run(&out, "load --file nope=x.csv d"), 2);
    assert_non_null(strstr(out, "--file: no table 'nope'"));
    free(out);
    assert_int_equal(run(&out, "synth"), 2);
    assert_non_null(strstr(out, "demographer synth: --out DIR is required"));
    free(out);
    assert_int_equal(run(&out, "synth --out x --devices -5"), 2);
    assert_non_null(strstr(out, "--devices expects a whole number from 100 to 50000000, got '-5'"));
    free(out);
    assert_int_equal(run(&out, "synth --out x --shape csv"), 2);
    assert_non_null(strstr(out, "--shape is kaggle or upgrad, not 'csv'"));
    free(out);
    /* No command, or a data directory, without a terminal: the workbench
     * cannot open, and the message names the headless commands. */
    assert_int_equal(run(&out, "< /dev/null"), 2);
    assert_non_null(strstr(out, "the workbench needs a terminal"));
    assert_non_null(strstr(out, "synth, load and replay"));
    free(out);
    assert_int_equal(run(&out, ". < /dev/null"), 2);
    assert_non_null(strstr(out, "the workbench needs a terminal"));
    free(out);
    assert_int_equal(run(&out, "--bogus < /dev/null"), 2);
    free(out);
}

static void load_errors_exit_1_with_the_message(void **state)
{
    (void)state;
    char *out;
    assert_int_equal(run(&out, "load /nonexistent-data"), 1);
    assert_string_equal(out, "demographer load: /nonexistent-data: cannot open the data "
                             "directory: No such file or directory\n");
    free(out);
    char *dir = tu_tmpdir();
    free(tu_write_str(dir, "gender_age_train.csv",
                      "device_id,gender,age,group\n1,M,35,M32-38\n2,F,x,F23-\n3,M,20,M22-\n"));
    assert_int_equal(run(&out, "load --no-snapshot %s", dir), 1);
    char want[512];
    snprintf(want, sizeof want,
             "demographer load: %s/gender_age_train.csv: line 3, column 3 (age): expected an "
             "integer, found 'x'\n",
             dir);
    assert_string_equal(out, want);
    free(out);
    /* Lenient: loads the good rows and shows the bad one. */
    assert_int_equal(run(&out, "load --no-snapshot --lenient %s", dir), 0);
    assert_non_null(strstr(out, "labels: skipped 1 bad rows; the first:\n  "));
    assert_non_null(strstr(out, "gender_age_train.csv: line 3, column 3 (age)"));
    free(out);
    tu_rmrf(dir);
    free(dir);
}

/* The main job end to end: generate a small set in each shape, load it,
 * load it again from the snapshot. */
static void synth_then_load(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *out;
    for (int shape = 0; shape < 2; shape++) {
        const char *name = shape ? "upgrad" : "kaggle";
        assert_int_equal(run(&out, "synth --quiet --out %s/%s --devices 2000 --seed 3 --shape %s",
                             dir, name, name),
                         0);
        free(out);
        assert_int_equal(
            run(&out, "load --quiet --cache-dir %s/cache %s/%s", dir, dir, name), 0);
        char want[64];
        snprintf(want, sizeof want, ": %s shape, loaded from CSV", name);
        assert_non_null(strstr(out, want));
        for (const char *t = "labels\0phones\0events\0app_events\0app_labels\0label_categories\0split\0";
             *t; t += strlen(t) + 1) {
            char line[64];
            snprintf(line, sizeof line, "\n%-17s ", t);
            char *at = strstr(out, line);
            assert_non_null(at);
            /* A row count, not the "-" of a missing file. */
            unsigned long long rows = 0;
            assert_int_equal(sscanf(at + 1 + 17, "%llu", &rows), 1);
            assert_true(rows > 0);
        }
        free(out);
    }
    tu_rmrf(dir);
    free(dir);
}

/* clean: the rules printed, applied, written out with the cleaned tables,
 * and the written rules replayed on the cleaned tables change nothing. */
static void clean_round_trip(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *out;
    assert_int_equal(run(&out, "synth --quiet --out %s/d --devices 500 --seed 5", dir), 0);
    free(out);
    assert_int_equal(run(&out, "clean --print-rules"), 0);
    assert_non_null(strstr(out, "\nimpute-median\n"));
    free(out);
    assert_int_equal(run(&out, "clean --no-snapshot --quiet --out %s/c %s/d", dir, dir), 0);
    assert_non_null(strstr(out, "zero-coords"));
    assert_non_null(strstr(out, "cleaned tables and clean.rules written to"));
    free(out);
    assert_int_equal(
        run(&out, "clean --no-snapshot --quiet --rules %s/c/clean.rules %s/c", dir, dir), 0);
    /* Every rule finds nothing left to change. */
    for (const char *line = strchr(out, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
        unsigned long long before, after, changed;
        char rule[32], table[32];
        int idx;
        assert_int_equal(sscanf(line, "%d %31s %31s %llu %llu %llu", &idx, rule, table, &before,
                                &after, &changed), 6);
        assert_int_equal(changed, 0);
        assert_int_equal(before, after);
    }
    free(out);
    free(tu_write_str(dir, "bad.rules", "zero-coords\nwash-hands\n"));
    assert_int_equal(run(&out, "clean --rules %s/bad.rules %s/d", dir, dir), 1);
    assert_non_null(strstr(out, "bad.rules:2: expected a rule"));
    free(out);
    tu_rmrf(dir);
    free(dir);
}

/* Hostile input from the command line: a directory or FIFO named events.csv
 * is an error (it was "(absent)" and exit 0), a NUL in a number is shown
 * escaped, and invalid UTF-8 in every brand is counted by load and never
 * reaches pango (which printed warnings on the charts). */
static void hostile_input_is_refused_named_or_counted(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *out;
    char d[512], cmd[2048];
    snprintf(d, sizeof d, "%s/d", dir);
    assert_int_equal(run(&out, "synth --quiet --out %s --devices 500 --seed 5", d), 0);
    free(out);
    snprintf(cmd, sizeof cmd, "mv %s/events.csv %s/events.real && mkdir %s/events.csv", d, d, d);
    assert_int_equal(tu_run(cmd, NULL), 0);
    assert_int_equal(run(&out, "load --no-snapshot %s", d), 1);
    assert_non_null(strstr(out, "/events.csv: not a regular file (a directory)"));
    free(out);
    snprintf(cmd, sizeof cmd, "rmdir %s/events.csv && mkfifo %s/events.csv", d, d);
    assert_int_equal(tu_run(cmd, NULL), 0);
    assert_int_equal(run(&out, "load --no-snapshot %s", d), 1);
    assert_non_null(strstr(out, "/events.csv: not a regular file (a FIFO)"));
    free(out);
    snprintf(cmd, sizeof cmd, "rm %s/events.csv && mv %s/events.real %s/events.csv", d, d, d);
    assert_int_equal(tu_run(cmd, NULL), 0);

    /* Every brand gets a byte that is not UTF-8 in front. */
    snprintf(cmd, sizeof cmd,
             "sed -i '2,$ s/^\\([^,]*\\),/\\1,\\xff/' %s/phone_brand_device_model.csv", d);
    assert_int_equal(tu_run(cmd, NULL), 0);
    assert_int_equal(run(&out, "load --no-snapshot %s", d), 0);
    assert_non_null(strstr(out, "phones: "));
    assert_non_null(strstr(out, " bytes of invalid UTF-8 replaced by U+FFFD (the first at line 2, "
                                "column 2)\n"));
    free(out);
    assert_int_equal(run(&out, "eda --no-snapshot --out %s/eda %s", dir, d), 0);
    if (strstr(out, "Pango") || strstr(out, "WARNING") || strstr(out, "UTF-8"))
        fail_msg("eda printed:\n%s", out);
    free(out);

    static const char nul[] = "device_id,gender,age,group\n1,M,12\0,M22-\n";
    char *bad = tu_tmpdir();
    free(tu_write(bad, "gender_age_train.csv", nul, sizeof nul - 1));
    assert_int_equal(run(&out, "load --no-snapshot %s", bad), 1);
    assert_non_null(strstr(out, "gender_age_train.csv: line 2, column 3 (age): expected an "
                                "integer, found '12\\x00'\n"));
    free(out);
    tu_rmrf(bad);
    free(bad);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_and_version),
        cmocka_unit_test(usage_errors_exit_2),
        cmocka_unit_test(load_errors_exit_1_with_the_message),
        cmocka_unit_test(synth_then_load),
        cmocka_unit_test(clean_round_trip),
        cmocka_unit_test(hostile_input_is_refused_named_or_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
