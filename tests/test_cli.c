/* The command line as a user runs it: the real binary, its exit codes, its
 * messages and what it writes. */
#include "testutil.h"

#include "demographer/common.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
    assert_int_equal(run(&out, "synth --out x --world flat"), 2);
    assert_non_null(strstr(out, "--world is one of personas, groups, smooth, not 'flat'"));
    free(out);
    /* one world per line, the default first; no --out needed */
    assert_int_equal(run(&out, "synth --list-worlds"), 0);
    assert_string_equal(out, "personas\ngroups\nsmooth\n");
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

/* Writes dir/rel, creating the folders on the way. */
static void put_file(const char *dir, const char *rel, const char *text)
{
    char *p = dg_path_join(dir, rel);
    char *slash = strrchr(p, '/');
    *slash = '\0';
    dg_err err;
    assert_int_equal(dg_mkdirs(p, &err), DG_OK);
    *slash = '/';
    assert_int_equal(dg_write_file_atomic(p, text, strlen(text), &err), DG_OK);
    free(p);
}

/* Names, sizes, inodes and times of a folder's entries, to compare. */
static char *listing(const char *dir)
{
    char *o = NULL;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "ls -lAi --time-style=full-iso '%s' | sed 1d", dir);
    assert_int_equal(tu_run(cmd, &o), 0);
    return o;
}

static int is_there(const char *dir, const char *name)
{
    char *p = dg_path_join(dir, name);
    struct stat st;
    int ok = lstat(p, &st) == 0;
    free(p);
    return ok;
}

/* Whether dir holds anything named like a partial or set-aside output. */
static int leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int found = 0;
    for (struct dirent *e; (e = readdir(d));)
        found |= strstr(e->d_name, ".partial-") != NULL || strstr(e->d_name, ".old-") != NULL;
    closedir(d);
    return found;
}

/* Every command that writes refuses an output that is, contains or lies
 * inside one of its inputs (after symlinks), before touching anything. */
static void outputs_never_go_over_inputs(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *out;
    assert_int_equal(run(&out, "synth --quiet --out %s/d --devices 500 --seed 5", dir), 0);
    free(out);
    char *d = dg_path_join(dir, "d"), *link = dg_path_join(dir, "L");
    assert_int_equal(symlink(d, link), 0);
    put_file(dir, "r/x.rules", "zero-coords\n");
    char *before = listing(d);
    const char *cases[] = {
        "clean %1$s/d --out %1$s/d",
        "clean %1$s/d --out %1$s/d/../d/",
        "clean %1$s/d --out %1$s",
        "clean %1$s/d --out %1$s/L",
        "clean %1$s/L --out %1$s/d/cleaned",
        "clean %1$s/d --rules %1$s/r/x.rules --out %1$s/r",
        "clean %1$s/d --file events=%1$s/d/events.csv --out %1$s/d/events.csv",
        "eda %1$s/d --out %1$s/d",
        "maps %1$s/d --out %1$s",
        "cluster %1$s/d --out %1$s/L",
        "cluster %1$s/d --kdist %1$s/d/kdist.png",
        "cluster %1$s/d --out %1$s/c --kdist %1$s/c/kdist.png",
        "features %1$s/d --out %1$s/d",
        "train %1$s/d --out %1$s/L/train",
        "run %1$s/d --out %1$s/d",
        "predict %1$s/d --models %1$s/m --out %1$s/d/p.csv",
        "predict %1$s/d --models %1$s/m --out %1$s/m/p.csv",
        "predict %1$s/d --models %1$s/m --out %1$s/p.csv --campaigns-out %1$s/d",
        "campaigns --predictions %1$s/p/pred.csv --out %1$s/p",
        "serve --predictions %1$s/d/events.csv --access-log %1$s/L/events.csv",
        "synth --out %1$s/s --truth %1$s/s/truth.csv",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char args[2048];
        snprintf(args, sizeof args, cases[i], dir);
        /* campaigns, synth and serve take no data options */
        int plain = strncmp(args, "campaigns", 9) == 0 || strncmp(args, "synth", 5) == 0 ||
                    strncmp(args, "serve", 5) == 0;
        int rc = plain ? run(&out, "%s", args) : run(&out, "%s --no-snapshot --quiet", args);
        if (rc != 1 || !strstr(out, "refusing"))
            fail_msg("%s: expected a refusal (exit 1), got %d:\n%s", args, rc, out);
        free(out);
        char *after = listing(d);
        if (strcmp(before, after) != 0)
            fail_msg("%s changed the data folder", args);
        free(after);
    }
    assert_false(is_there(dir, "d/cleaned"));
    assert_false(is_there(dir, "c"));
    assert_false(is_there(dir, "s"));
    assert_false(leftovers(dir));
    assert_false(leftovers(d));
    free(before);
    free(d);
    free(link);
    tu_rmrf(dir);
    free(dir);
}

/* A folder is written whole or not at all: clean on a "full disk" (a file
 * size limit, so that the larger CSVs fail to write) leaves no folder and no
 * partial, and an earlier output stays as it was. A folder of someone
 * else's files, or a file, in the way is refused. */
static void a_failed_folder_write_leaves_nothing(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *out;
    assert_int_equal(run(&out, "synth --quiet --out %s/d --devices 500 --seed 5", dir), 0);
    free(out);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "trap '' XFSZ; ulimit -f 16 && %s clean --no-snapshot --quiet --out %s/c %s/d",
             tu_bin(), dir, dir);
    assert_int_equal(tu_run(cmd, &out), 1);
    if (!strstr(out, "File too large"))
        fail_msg("expected the write to fail with EFBIG, got:\n%s", out);
    free(out);
    assert_false(is_there(dir, "c"));
    assert_false(leftovers(dir));

    /* A finished output, then a failed one over it: the first stays whole. */
    assert_int_equal(run(&out, "clean --no-snapshot --quiet --out %s/c %s/d", dir, dir), 0);
    free(out);
    char *c = dg_path_join(dir, "c");
    assert_true(is_there(c, "events.csv"));
    assert_true(is_there(c, "clean.rules"));
    assert_true(is_there(c, DG_OUTDIR_MARKER));
    char *before = listing(c);
    assert_int_equal(tu_run(cmd, &out), 1);
    free(out);
    char *after = listing(c);
    assert_string_equal(before, after);
    free(after);
    assert_false(leftovers(dir));
    /* A second success replaces it whole (the marker says it is ours). */
    assert_int_equal(run(&out, "clean --no-snapshot --quiet --out %s/c %s/d", dir, dir), 0);
    free(out);
    after = listing(c);
    assert_string_not_equal(before, after);
    free(after);
    free(before);

    /* Someone else's folder, or a file, is not replaced. */
    put_file(dir, "mine/notes.txt", "keep me\n");
    assert_int_equal(run(&out, "clean --no-snapshot --quiet --out %s/mine %s/d", dir, dir), 1);
    assert_non_null(strstr(out, "did not write"));
    free(out);
    assert_true(is_there(dir, "mine/notes.txt"));
    free(tu_write_str(dir, "afile", "x\n"));
    assert_int_equal(run(&out, "clean --no-snapshot --quiet --out %s/afile %s/d", dir, dir), 1);
    assert_non_null(strstr(out, "not a directory"));
    free(out);
    assert_false(leftovers(dir));
    free(c);
    tu_rmrf(dir);
    free(dir);
}

/* A damaged snapshot reaches the user: load says which column failed its
 * checksum and that it loaded from the CSV files instead. */
static void load_says_a_damaged_snapshot_was_rebuilt(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *out;
    assert_int_equal(run(&out, "synth --quiet --out %s/d --devices 500 --seed 5", dir), 0);
    free(out);
    char cmd[4096];
    /* Files older than the snapshot by more than 2 s: it is trusted. */
    snprintf(cmd, sizeof cmd, "touch -d '1 hour ago' %s/d/*.csv", dir);
    assert_int_equal(tu_run(cmd, NULL), 0);
    assert_int_equal(run(&out, "load --quiet --cache-dir %s/cache %s/d", dir, dir), 0);
    free(out);
    assert_int_equal(run(&out, "load --quiet --cache-dir %s/cache %s/d", dir, dir), 0);
    assert_non_null(strstr(out, "loaded from the snapshot"));
    free(out);
    /* One byte in the middle of the file, changed (0xff, or 0 if it was). */
    snprintf(cmd, sizeof cmd,
             "f=$(ls %s/cache/*.dgsnap) && n=$(stat -c %%s \"$f\") && "
             "b=$(od -An -tu1 -j $((n / 2)) -N 1 \"$f\") && "
             "if [ $b = 255 ]; then v='\\000'; else v='\\377'; fi && "
             "printf \"$v\" | dd of=\"$f\" bs=1 seek=$((n / 2)) conv=notrunc status=none",
             dir);
    assert_int_equal(tu_run(cmd, NULL), 0);
    assert_int_equal(run(&out, "load --quiet --cache-dir %s/cache %s/d", dir, dir), 0);
    if (!strstr(out, "the checksum does not match; loaded from the CSV files instead") ||
        !strstr(out, "loaded from CSV"))
        fail_msg("expected the damage said, got:\n%s", out);
    free(out);
    assert_int_equal(run(&out, "load --quiet --cache-dir %s/cache %s/d", dir, dir), 0);
    assert_non_null(strstr(out, "loaded from the snapshot"));
    free(out);
    tu_rmrf(dir);
    free(dir);
}

/* ---- the helpers, directly ---------------------------------------------------- */

static char hook_old[4096], hook_saw[64];

/* At the moment between the swap and the removal of the old folder: the
 * new one is whole at `to`, the old one whole at `old`. */
static void on_publish(const char *old, const char *to)
{
    snprintf(hook_old, sizeof hook_old, "%s", old ? old : "(none)");
    snprintf(hook_saw, sizeof hook_saw, "%d%d", is_there(to, "new"),
             old ? is_there(old, "old") : 0);
}

/* The publish is one exchange (renameat2 RENAME_EXCHANGE): the old folder
 * lands where the new one was, so no moment without a DIR. */
static void the_publish_is_one_exchange(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *from = dg_path_join(dir, "out.partial-1"), *to = dg_path_join(dir, "out");
    put_file(dir, "out.partial-1/new", "new\n");
    put_file(dir, "out/old", "old\n");
    dg_dir_publish_hook = on_publish;
    dg_err err;
    assert_int_equal(dg_dir_publish(from, to, &err), DG_OK);
    assert_string_equal(hook_old, from); /* exchanged, not moved aside */
    assert_string_equal(hook_saw, "11");
    assert_true(is_there(to, "new"));
    assert_false(is_there(to, "old"));
    assert_false(is_there(dir, "out.partial-1"));
    /* Into a new name: a plain rename. */
    put_file(dir, "out.partial-1/new", "new\n");
    char *fresh = dg_path_join(dir, "fresh");
    assert_int_equal(dg_dir_publish(from, fresh, &err), DG_OK);
    assert_string_equal(hook_old, "(none)");
    assert_true(is_there(fresh, "new"));
    dg_dir_publish_hook = NULL;
    free(fresh);
    free(from);
    free(to);
    tu_rmrf(dir);
    free(dir);
}

/* Stale partials: only DIR.partial-PID of a dead PID, a directory, next to
 * DIR; and the path checks after realpath of the nearest existing parent. */
static void stale_partials_and_path_checks(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char name[128];
    const char *fmts[] = {"out.partial-%ld/x", "out.partial-%ld0x/x", "outx.partial-%ld/x",
                          "out.partial-0%ld/x"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, fmts[i], (long)dead);
        put_file(dir, name, "x\n");
    }
    /* Each with the product's marker, as dg_outdir_begin leaves them (a
     * folder without it is the user's: test_hostile's F3). */
    for (size_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, fmts[i], (long)dead);
        *strrchr(name, '/') = '\0';
        strcat(name, "/" DG_OUTDIR_MARKER);
        put_file(dir, name, "x\n");
    }
    snprintf(name, sizeof name, "out.partial-%ld/x", (long)getppid());
    put_file(dir, name, "x\n");
    snprintf(name, sizeof name, "out.partial-%ld", (long)dead + 1); /* a file, not a folder */
    put_file(dir, name, "x\n");
    char *out = dg_path_join(dir, "out");
    int removed = dg_remove_stale_partials(out);
    assert_int_equal(removed, 1);
    snprintf(name, sizeof name, "out.partial-%ld", (long)dead);
    assert_false(is_there(dir, name));
    snprintf(name, sizeof name, "out.partial-%ld", (long)getppid());
    assert_true(is_there(dir, name));
    snprintf(name, sizeof name, "out.partial-%ld0x", (long)dead);
    assert_true(is_there(dir, name));
    snprintf(name, sizeof name, "outx.partial-%ld", (long)dead);
    assert_true(is_there(dir, name));

    char res[4096];
    char *link = dg_path_join(dir, "L");
    assert_int_equal(symlink(dir, link), 0);
    char p[4096];
    snprintf(p, sizeof p, "%s/no/such/../thing/./x", link);
    assert_int_equal(dg_path_resolve(p, res, sizeof res), DG_OK);
    char want[4200], real[4096];
    assert_non_null(realpath(dir, real));
    snprintf(want, sizeof want, "%s/no/thing/x", real);
    assert_string_equal(res, want);
    dg_err err;
    const char *in[] = {NULL, link};
    assert_int_equal(dg_output_apart("--out", dir, in, 2, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "it is the input"));
    snprintf(p, sizeof p, "%s/sub", dir);
    assert_int_equal(dg_output_apart("--out", p, in, 2, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "lies inside"));
    snprintf(p, sizeof p, "%s/..", link);
    assert_int_equal(dg_output_apart("--out", p, in, 2, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "contains"));
    snprintf(p, sizeof p, "%s-other", dir); /* a common prefix is not inside */
    assert_int_equal(dg_output_apart("--out", p, in, 2, &err), DG_OK);
    free(link);
    free(out);
    tu_rmrf(dir);
    free(dir);
}

/* The one streaming atomic file (common.c), which the snapshot, synth and
 * dg_write_file_atomic write through: nothing at PATH until commit, the
 * bytes whole (small writes gathered, a large one straight through), the
 * mode asked for, a discard leaves nothing, and a dead writer's temporary of
 * the same path is removed by the next open while a live one's stays. */
static void the_atomic_file_is_whole_or_absent(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *path = dg_path_join(dir, "f.bin");
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char name[128];
    snprintf(name, sizeof name, "f.bin.tmp-%ld-a1B2c3", (long)dead);
    put_file(dir, name, "x\n");
    snprintf(name, sizeof name, "f.bin.tmp-%ld-a1B2c3", (long)getpid());
    put_file(dir, name, "x\n");
    dg_atomic_file f;
    dg_err err;
    assert_int_equal(dg_atomic_open(&f, path, 0600, &err), DG_OK);
    snprintf(name, sizeof name, "f.bin.tmp-%ld-a1B2c3", (long)dead);
    assert_false(is_there(dir, name));
    snprintf(name, sizeof name, "f.bin.tmp-%ld-a1B2c3", (long)getpid());
    assert_true(is_there(dir, name));
    size_t big = (size_t)3 << 20, n = 0;
    char *want = malloc(big + 4096);
    for (int i = 0; i < 1000; i++) { /* small writes */
        char line[16];
        int len = snprintf(line, sizeof line, "%d\n", i);
        memcpy(want + n, line, (size_t)len);
        n += (size_t)len;
        assert_int_equal(dg_atomic_write(&f, line, (size_t)len, &err), DG_OK);
    }
    for (size_t i = 0; i < big; i++)
        want[n + i] = (char)('a' + i % 26);
    assert_int_equal(dg_atomic_write(&f, want + n, big, &err), DG_OK); /* one large */
    n += big;
    assert_int_equal(dg_atomic_write(&f, "end\n", 4, &err), DG_OK);
    memcpy(want + n, "end\n", 4);
    n += 4;
    assert_false(is_there(dir, "f.bin"));
    assert_int_equal(dg_atomic_commit(&f, &err), DG_OK);
    dg_atomic_discard(&f); /* after commit: nothing to do */
    char *got;
    size_t len;
    assert_int_equal(dg_read_file(path, &got, &len, &err), DG_OK);
    assert_int_equal(len, n);
    assert_memory_equal(got, want, n);
    free(got);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* a discarded write leaves the old file and no temporary */
    assert_int_equal(dg_atomic_open(&f, path, 0644, &err), DG_OK);
    assert_int_equal(dg_atomic_write(&f, "new\n", 4, &err), DG_OK);
    dg_atomic_discard(&f);
    assert_int_equal(dg_read_file(path, &got, &len, &err), DG_OK);
    assert_int_equal(len, n);
    free(got);
    DIR *d = opendir(dir);
    int others = 0;
    for (struct dirent *e; (e = readdir(d));)
        others += strncmp(e->d_name, "f.bin.tmp-", 10) == 0;
    closedir(d);
    assert_int_equal(others, 1); /* the live writer's, only */
    free(want);
    free(path);
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
        cmocka_unit_test(outputs_never_go_over_inputs),
        cmocka_unit_test(a_failed_folder_write_leaves_nothing),
        cmocka_unit_test(load_says_a_damaged_snapshot_was_rebuilt),
        cmocka_unit_test(the_publish_is_one_exchange),
        cmocka_unit_test(stale_partials_and_path_checks),
        cmocka_unit_test(the_atomic_file_is_whole_or_absent),
        cmocka_unit_test(hostile_input_is_refused_named_or_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
