/* The hostile tester's cases (issue 26), each as the user met it: the real
 * binary on a small synthetic data set, a file edited or replaced, and what
 * the command says and leaves behind. Every command runs under timeout(1):
 * a hang is a failure here, not a stuck suite. */
#include "testutil.h"

#include "demographer/common.h"
#include "demographer/metrics.h"
#include "demographer/model.h"
#include "demographer/train.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The shared fixture: data (3,000 devices), a train --out of the issue's
 * families and a softmax-only one (for the NaN case). */
static char *root, *data, *models, *smodels;

static int run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(char **out, const char *fmt, ...)
{
    char args[8192], cmd[8400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "timeout -s KILL 60 %s %s", tu_bin(), args);
    return tu_run(cmd, out);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *out = NULL;
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("%s: exit %d\n%s", cmd, rc, out ? out : "");
    free(out);
}

/* Expects exit 1 with `want` in the output. */
static void refused(const char *want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refused(const char *want, const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char *out = NULL;
    int rc = run(&out, "%s", args);
    if (rc != 1 || !strstr(out, want))
        fail_msg("%s: expected exit 1 saying '%s', got %d:\n%s", args, want, rc, out);
    free(out);
}

static int is_there(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int setup(void **state)
{
    (void)state;
    root = tu_tmpdir();
    data = dg_path_join(root, "data");
    char *t = dg_path_join(root, "t"), *ts = dg_path_join(root, "ts");
    char *out = NULL;
    int rc = run(&out, "synth --quiet --out %s --devices 3000 --seed 5", data);
    if (rc == 0) {
        free(out);
        rc = run(&out, "train --quiet --no-snapshot %s --out %s --families "
                       "prior,brand-model-prior,softmax --folds 2",
                 data, t);
    }
    if (rc == 0) {
        free(out);
        rc = run(&out, "train --quiet --no-snapshot %s --out %s --families softmax --folds 2 "
                       "--targets gender",
                 data, ts);
    }
    if (rc != 0) {
        fprintf(stderr, "setup failed (%d):\n%s\n", rc, out);
        free(out);
        return -1;
    }
    free(out);
    models = dg_path_join(t, "models");
    smodels = dg_path_join(ts, "models");
    free(t);
    free(ts);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmrf(root);
    free(root);
    free(data);
    free(models);
    free(smodels);
    return 0;
}

/* A copy of the fixture's models/ folder to tamper with; the caller frees. */
static char *copy_models(const char *from, const char *name)
{
    char *to = dg_path_join(root, name);
    sh("rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    return to;
}

/* checksums.txt written again over the tampered files, so that the check
 * under test is the reader's own, not the checksum's. */
static void reseal(const char *dir)
{
    char *p = dg_path_join(dir, DG_MODEL_DIR_CHECKSUMS);
    char *text = tu_read(p, NULL);
    if (!text) { /* a demographer without checksums (DG_BIN of an older build) */
        free(p);
        return;
    }
    char *d = strstr(text, "\ndata ");
    assert_non_null(d);
    uint64_t data_sum = strtoull(d + 6, NULL, 16);
    free(text);
    free(p);
    dg_err err;
    if (dg_model_dir_seal(dir, data_sum, &err) != DG_OK)
        fail_msg("%s", err.msg);
}

/* ---- F1: every writing path through one output discipline -------------- */

/* features --db writes like the local path: apart from its inputs, never
 * into a folder of the user's files. Refused before any connection. */
static void f1_features_db_refuses_like_the_local_path(void **state)
{
    (void)state;
    char *mine = dg_path_join(root, "f1-mine"), *r = dg_path_join(root, "f1-r");
    sh("mkdir -p '%s' '%s' && echo mine > '%s/features.csv' && printf 'zero-coords\\n' > "
       "'%s/labels.csv'",
       mine, r, mine, r);
    const char *db = "MYSQL_PWD=x";
    char *out;
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s timeout -s KILL 60 %s features --db --host 127.0.0.1 --port 1 --out %s --quiet",
             db, tu_bin(), mine);
    int rc = tu_run(cmd, &out);
    if (rc != 1 || !strstr(out, "did not write"))
        fail_msg("features --db over a user's folder: %d\n%s", rc, out);
    free(out);
    snprintf(cmd, sizeof cmd,
             "%s timeout -s KILL 60 %s features --db --host 127.0.0.1 --port 1 --rules "
             "%s/labels.csv --out %s --quiet",
             db, tu_bin(), r, r);
    rc = tu_run(cmd, &out);
    if (rc != 1 || !strstr(out, "refusing"))
        fail_msg("features --db --out over its rules: %d\n%s", rc, out);
    free(out);
    char *f = dg_path_join(mine, "features.csv");
    char *text = tu_read(f, NULL);
    assert_string_equal(text, "mine\n");
    free(text);
    free(f);
    f = dg_path_join(r, "labels.csv");
    text = tu_read(f, NULL);
    assert_string_equal(text, "zero-coords\n");
    free(text);
    free(f);
    free(mine);
    free(r);
}

/* Every option of every command (from `demographer --help` and each
 * command's --help) that names a file or folder is listed here as an input,
 * the product's cache, the workbench's folder, or an output; each output is
 * tried over the user's own files and must be refused with them untouched.
 * A new writing option that is not listed fails this test. */
typedef struct writer {
    const char *cmd, *opt;
    char kind;        /* 'i' input, 'c' cache, 'w' workbench folder, 'o' output */
    const char *args; /* for 'o': %1$s the root, with a user's folder at %1$s/mine */
} writer;

static const writer writers[] = {
    {"run", "--out", 'o', "run %1$s/data --out %1$s/mine"},
    {"run", "--peer-predictions", 'i', NULL},
    {"run", "--synth-truth", 'i', NULL},
    {"run", "--truth", 'i', NULL},
    {"synth", "--out", 'o', "synth --devices 100 --out %1$s/mine"},
    {"synth", "--truth", 'o', "synth --devices 100 --out %1$s/s --truth %1$s/s/truth.csv"},
    {"clean", "--out", 'o', "clean %1$s/data --out %1$s/mine"},
    {"eda", "--out", 'o', "eda %1$s/data --out %1$s/mine"},
    {"maps", "--out", 'o', "maps %1$s/data --out %1$s/mine"},
    {"maps", "--basemap", 'i', NULL},
    {"cluster", "--out", 'o', "cluster %1$s/data --out %1$s/mine"},
    {"cluster", "--kdist", 'o', "cluster %1$s/data --kdist %1$s/data/events.csv"},
    {"features", "--out", 'o', "features %1$s/data --out %1$s/mine"},
    {"train", "--out", 'o', "train %1$s/data --out %1$s/mine --families prior"},
    {"train", "--save-design", 'o',
     "train %1$s/data --out %1$s/tr --families prior --save-design %1$s/mine"},
    {"evaluate", "--models", 'i', NULL},
    {"predict", "--out", 'o', "predict %1$s/data --models %1$s/t --out %1$s/data/events.csv"},
    {"predict", "--kaggle-submission", 'o',
     "predict %1$s/data --models %1$s/t --kaggle-submission %1$s/data/events.csv"},
    {"predict", "--campaigns-out", 'o',
     "predict %1$s/data --models %1$s/t --out %1$s/p.csv --campaigns-out %1$s/mine"},
    {"predict", "--campaign-rules", 'i', NULL},
    {"predict", "--models", 'i', NULL},
    {"export-sql", "--out", 'o',
     "export-sql %1$s/data --models %1$s/t --out %1$s/data/events.csv"},
    {"export-sql", "--models", 'i', NULL},
    {"campaigns", "--out", 'o', "campaigns --predictions %1$s/pred.csv --out %1$s/mine"},
    {"campaigns", "--predictions", 'i', NULL},
    {"campaigns", "--reference", 'i', NULL},
    {"campaigns", "--thresholds", 'i', NULL},
    {"campaigns", "--truth", 'i', NULL},
    {"serve", "--access-log", 'o',
     "serve --predictions %1$s/pred.csv --access-log %1$s/pred.csv"},
    {"serve", "--campaign-rules", 'i', NULL},
    {"serve", "--data", 'i', NULL},
    {"serve", "--models", 'i', NULL},
    {"serve", "--predictions", 'i', NULL},
    {"serve", "--thresholds", 'i', NULL},
    {"replay", "--out", 'w', NULL},
    {"*", "--cache-dir", 'c', NULL},
    {"*", "--config", 'i', NULL},
    {"*", "--password-file", 'i', NULL},
    {"*", "--tls-ca", 'i', NULL},
    {"*", "--file", 'i', NULL},
    {"*", "--rules", 'i', NULL},
    {"*", "--super", 'i', NULL},
};

static const writer *writer_of(const char *cmd, const char *opt)
{
    for (size_t i = 0; i < sizeof writers / sizeof *writers; i++)
        if ((strcmp(writers[i].cmd, cmd) == 0 || strcmp(writers[i].cmd, "*") == 0) &&
            strcmp(writers[i].opt, opt) == 0)
            return &writers[i];
    return NULL;
}

static int path_metavar(const char *m)
{
    static const char *const names[] = {"FILE", "DIR", "TABLE=PATH", "DATA_DIR", "LABELS", NULL};
    for (const char *const *n = names; *n; n++)
        if (strcmp(m, *n) == 0)
            return 1;
    return 0;
}

static void f1_every_writing_option_keeps_the_discipline(void **state)
{
    (void)state;
    char *help;
    assert_int_equal(run(&help, "--help"), 0);
    /* The command list: "  NAME   summary" lines after "Commands:". */
    char *cmds = strstr(help, "Commands:");
    assert_non_null(cmds);
    int checked = 0, listed = 0;
    char *save = NULL;
    for (char *line = strtok_r(cmds, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char cmd[64];
        if (strncmp(line, "  ", 2) != 0 || line[2] == ' ' || sscanf(line, " %63s", cmd) != 1)
            continue;
        char *usage;
        if (run(&usage, "%s --help", cmd) != 0) {
            free(usage);
            continue; /* not a command line (the workbench's note) */
        }
        listed++;
        for (char *p = usage; (p = strstr(p, "--"));) {
            char opt[64], meta[64];
            if (sscanf(p, "%63[-a-z] %63[A-Z_=]", opt, meta) == 2 && path_metavar(meta)) {
                const writer *w = writer_of(cmd, opt);
                if (!w)
                    fail_msg("%s %s %s: a file or folder option this test does not know; add "
                             "it to writers[] (input, cache, or an output with the invocation "
                             "that must be refused)",
                             cmd, opt, meta);
            }
            p += 2;
        }
        free(usage);
    }
    free(help);
    assert_true(listed >= 19);

    char *mine = dg_path_join(root, "mine");
    sh("rm -rf '%s' && mkdir -p '%s' && echo mine > '%s/notes.txt'", mine, mine, mine);
    char *pred = dg_path_join(root, "pred.csv");
    assert_int_equal(run(NULL, "predict --quiet --no-snapshot %s --models %s --out %s", data,
                         models, pred),
                     0);
    char *before = NULL;
    char ls[4096];
    snprintf(ls, sizeof ls, "ls -lAiR --time-style=full-iso '%s' '%s'", mine, data);
    assert_int_equal(tu_run(ls, &before), 0);
    for (size_t i = 0; i < sizeof writers / sizeof *writers; i++) {
        if (writers[i].kind != 'o')
            continue;
        char args[2048];
        snprintf(args, sizeof args, writers[i].args, root);
        int plain = strncmp(args, "campaigns", 9) == 0 || strncmp(args, "synth", 5) == 0 ||
                    strncmp(args, "serve", 5) == 0;
        char *out;
        int rc = plain ? run(&out, "%s", args) : run(&out, "%s --no-snapshot --quiet", args);
        if (rc != 1 || (!strstr(out, "refusing") && !strstr(out, "did not write")))
            fail_msg("%s %s: %s: expected a refusal (exit 1), got %d:\n%s", writers[i].cmd,
                     writers[i].opt, args, rc, out);
        free(out);
        char *after = NULL;
        assert_int_equal(tu_run(ls, &after), 0);
        if (strcmp(before, after) != 0)
            fail_msg("%s changed the user's folder or the data", args);
        free(after);
        checked++;
    }
    assert_true(checked >= 17);
    free(before);
    free(mine);
    free(pred);
}

/* ---- F2: replay writes only inside --out; a long line is an error ------ */

static void f2_replay_stays_inside_its_out(void **state)
{
    (void)state;
    char *dir = dg_path_join(root, "f2");
    sh("rm -rf '%s' && mkdir -p '%s/out' '%s/victim' && echo precious > '%s/victim/v.txt'", dir,
       dir, dir, dir);
    char line[1200];
    snprintf(line, sizeof line, "rules-save %s/victim/v.txt\n", dir);
    char *log = tu_write_str(dir, "abs.log", line);
    refused("refusing to write outside", "replay %s --out %s/out --no-snapshot", log, dir);
    free(log);
    char *v = dg_path_join(dir, "victim/v.txt");
    char *text = tu_read(v, NULL);
    assert_string_equal(text, "precious\n");
    free(text);
    free(v);

    log = tu_write_str(dir, "rel.log", "rules-save ../../f2-escaped/x.txt\n");
    refused(":1: rules-save ../../f2-escaped/x.txt: refusing", "replay %s --out %s/out/a",
            log, dir);
    free(log);
    char *esc = dg_path_join(root, "f2-escaped");
    assert_false(is_there(esc));
    free(esc);

    /* A symlink inside --out that leads out of it. */
    sh("ln -s '%s/victim' '%s/out/link'", dir, dir);
    log = tu_write_str(dir, "link.log", "rules-save link/v.txt\n");
    refused("refusing to write outside", "replay %s --out %s/out", log, dir);
    free(log);

    /* Inside --out it works. */
    log = tu_write_str(dir, "ok.log", "rules-save sub/r.txt\n");
    char *out;
    int rc = run(&out, "replay %s --out %s/out", log, dir);
    if (rc != 0)
        fail_msg("a rules-save inside --out: %d\n%s", rc, out);
    free(out);
    free(log);
    char *r = dg_path_join(dir, "out/sub/r.txt");
    assert_true(is_there(r));
    free(r);

    /* A comment of 9,000 bytes whose tail would have run as an action. */
    size_t n = 9000;
    char *big = malloc(n + 64);
    big[0] = '#';
    memset(big + 1, 'a', 8190);
    snprintf(big + 8191, n + 64 - 8191, "rules-save tail.txt\n");
    log = tu_write_str(dir, "long.log", big);
    refused("long.log:1: line longer than", "replay %s --out %s/out", log, dir);
    free(log);
    free(big);
    r = dg_path_join(dir, "out/tail.txt");
    assert_false(is_there(r));
    free(r);
    free(dir);
}

/* ---- F3: stale-partial cleanup removes only the product's folders ------ */

static void f3_a_users_partial_named_folder_stays(void **state)
{
    (void)state;
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char mine[4096], ours[4096];
    snprintf(mine, sizeof mine, "%s/results.partial-%ld", root, (long)dead);
    sh("mkdir -p '%s' && echo mine > '%s/notes.txt'", mine, mine);
    char *out;
    int rc = run(&out, "clean --no-snapshot --quiet %s --out %s/results", data, root);
    if (rc != 0)
        fail_msg("clean: %d\n%s", rc, out);
    free(out);
    char *notes = dg_path_join(mine, "notes.txt");
    assert_true(is_there(notes));
    free(notes);
    /* A partial the product left (its marker inside) still goes. */
    snprintf(ours, sizeof ours, "%s/results.partial-%ld", root, (long)dead + 100000);
    pid_t dead2 = fork();
    if (dead2 == 0)
        _exit(0);
    waitpid(dead2, NULL, 0);
    snprintf(ours, sizeof ours, "%s/results.partial-%ld", root, (long)dead2);
    sh("mkdir -p '%s' && touch '%s/" DG_OUTDIR_MARKER "' '%s/half.csv'", ours, ours, ours);
    rc = run(&out, "clean --no-snapshot --quiet %s --out %s/results", data, root);
    free(out);
    assert_int_equal(rc, 0);
    assert_false(is_there(ours));
    assert_true(is_there(mine));
    sh("rm -rf '%s' '%s/results'", mine, root);
}

/* ---- F4: a design.txt index out of range ------------------------------- */

static void f4_design_index_is_bounded(void **state)
{
    (void)state;
    const char *vals[] = {"1000000", "99999999999", "-5", "7x"};
    for (size_t i = 0; i < 4; i++) {
        char *m = copy_models(models, "f4");
        /* lon_median's missing-indicator field (the last) */
        sh("sed -i 's/^\\(lon_median\\t.*\\t\\)[-0-9]*$/\\1%s/' '%s/s1-gender/design.txt' && "
           "grep -q 'lon_median.*%s$' '%s/s1-gender/design.txt'",
           vals[i], m, vals[i], m);
        reseal(m);
        refused("s1-gender/design.txt:", "predict --no-snapshot %s --models %s --out %s/f4.csv",
                data, m, root);
        refused("s1-gender/design.txt:", "evaluate --no-snapshot %s --models %s", data, m);
        tu_rmrf(m);
        free(m);
    }
}

/* ---- F5: FIFOs and devices where a file is read ------------------------ */

static void f5_special_files_are_refused(void **state)
{
    (void)state;
    char *m = copy_models(models, "f5");
    sh("rm '%s/s1-gender/model' && mkfifo '%s/s1-gender/model'", m, m);
    refused("s1-gender/model: not a regular file (a FIFO)",
            "predict --no-snapshot %s --models %s --out %s/f5.csv", data, m, root);
    refused("not a regular file (a FIFO)", "evaluate --no-snapshot %s --models %s", data, m);
    sh("rm '%s/s1-gender/model' && ln -s /dev/zero '%s/s1-gender/model'", m, m);
    refused("s1-gender/model: not a regular file (a character device)",
            "predict --no-snapshot %s --models %s --out %s/f5.csv", data, m, root);
    tu_rmrf(m);
    free(m);
    m = copy_models(models, "f5");
    sh("rm '%s/s1-gender/design.txt' && ln -s /dev/zero '%s/s1-gender/design.txt'", m, m);
    refused("design.txt: not a regular file (a character device)",
            "predict --no-snapshot %s --models %s --out %s/f5.csv", data, m, root);
    tu_rmrf(m);
    free(m);
    refused("/dev/zero: not a regular file (a character device)",
            "campaigns --predictions /dev/zero --out %s/f5c", root);
    char *fifo = dg_path_join(root, "f5.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    refused("f5.fifo: not a regular file (a FIFO)", "campaigns --predictions %s --out %s/f5c",
            fifo, root);
    refused("f5.fifo: not a regular file (a FIFO)",
            "clean --no-snapshot %s --rules %s --out %s/f5c", data, fifo, root);
    refused("f5.fifo: not a regular file (a FIFO)",
            "campaigns --predictions %s/pred.csv --rules %s --out %s/f5c", root, fifo, root);
    unlink(fifo);
    free(fifo);
}

/* ---- F5b: NaN in a model ----------------------------------------------- */

static void on_alarm(int sig)
{
    (void)sig;
    _exit(3);
}

static void f5b_nan_never_loops_nor_passes(void **state)
{
    (void)state;
    /* The metrics on NaN scores: they end (an alarm guards the loops). */
    signal(SIGALRM, on_alarm);
    alarm(10);
    double y[4] = {1, 0, 1, 0}, s[4] = {0.2, NAN, 0.7, NAN};
    assert_true(isnan(dg_roc_auc(y, s, 4)));
    double *fpr, *tpr;
    size_t np;
    dg_roc_curve(y, s, 4, &fpr, &tpr, &np);
    assert_true(np >= 2 && np <= 5);
    free(fpr);
    free(tpr);
    alarm(0);

    char *m = copy_models(smodels, "f5b");
    char *p = dg_path_join(m, "s1-gender/model");
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    double nan = NAN;
    assert_int_equal(pwrite(fd, &nan, sizeof nan, 40), (ssize_t)sizeof nan);
    close(fd);
    free(p);
    reseal(m);
    refused("s1-gender: the model gives nan", "predict --no-snapshot %s --models %s --out %s/f5b.csv",
            data, m, root);
    refused("s1-gender: the model gives nan", "evaluate --no-snapshot %s --models %s", data, m);
    tu_rmrf(m);
    free(m);
}

/* ---- F6: labels and split flags exactly as the data set spells them ---- */

static void f6_labels_and_flags_are_exact(void **state)
{
    (void)state;
    char *d = dg_path_join(root, "f6");
    sh("rm -rf '%s' && cp -a '%s' '%s' && sed -i '0,/,M,/s//,m,/' '%s/gender_age_train.csv'",
       d, data, d, d);
    char *out;
    refused("gender_age_train.csv: line ", "load --no-snapshot %s", d);
    int rc = run(&out, "load --no-snapshot %s", d);
    assert_non_null(strstr(out, ", column 2 (gender): expected M or F, found 'm'"));
    free(out);
    refused("expected M or F, found 'm'", "train --no-snapshot --quiet %s --out %s/f6t "
            "--families prior", d, root);
    /* --lenient skips and counts the row, as every bad row. */
    rc = run(&out, "load --no-snapshot --lenient %s", d);
    if (rc != 0 || !strstr(out, "expected M or F"))
        fail_msg("load --lenient: %d\n%s", rc, out);
    free(out);
    tu_rmrf(d);

    sh("%s synth --quiet --out '%s' --devices 300 --seed 4 --shape upgrad && "
       "sed -i '0,/,test$/s//,Test/' '%s/train_test_split.csv'",
       tu_bin(), d, d);
    refused("train_test_split.csv: line ", "load --no-snapshot %s", d);
    rc = run(&out, "load --no-snapshot %s", d);
    assert_non_null(strstr(out, "(train_test_flag): expected train or test, found 'Test'"));
    free(out);
    tu_rmrf(d);
    free(d);
}

/* ---- F7: the model directory's integrity ------------------------------- */

static void f7_model_directory_is_checked(void **state)
{
    (void)state;
    char *m = copy_models(models, "f7");
    char *out;
    /* Untouched: it predicts. */
    int rc = run(&out, "predict --quiet --no-snapshot %s --models %s --out %s/f7.csv", data, m,
                 root);
    if (rc != 0)
        fail_msg("predict on an untouched copy: %d\n%s", rc, out);
    free(out);
    /* A byte flipped in a model. */
    sh("printf '\\x55' | dd of='%s/s1-gender/model' bs=1 seek=60 conv=notrunc status=none", m);
    refused("s1-gender/model: its contents differ from the checksum",
            "predict --no-snapshot %s --models %s --out %s/f7.csv", data, m, root);
    tu_rmrf(m);
    free(m);
    /* A truncated model. */
    m = copy_models(models, "f7");
    sh("truncate -s 20 '%s/s2-age/model'", m);
    refused("s2-age/model: its contents differ",
            "evaluate --no-snapshot %s --models %s", data, m);
    tu_rmrf(m);
    free(m);
    /* An edited mean in design.txt. */
    m = copy_models(models, "f7");
    sh("sed -i 's/^\\(lon_median\\t[01]\\t\\)[-0-9.e+]*/\\112.5/' '%s/s1-gender/design.txt' && "
       "grep -q '^lon_median.[01].12.5' '%s/s1-gender/design.txt'",
       m, m);
    refused("s1-gender/design.txt: its contents differ",
            "predict --no-snapshot %s --models %s --out %s/f7.csv", data, m, root);
    tu_rmrf(m);
    free(m);
    /* A model folder removed: an error, not an empty column. */
    m = copy_models(models, "f7");
    sh("rm -r '%s/s1-gender'", m);
    refused("s1-gender/design.txt: missing, but", "predict --no-snapshot %s --models %s --out %s/f7.csv", data,
            m, root);
    refused("s1-gender/design.txt: missing, but", "evaluate --no-snapshot %s --models %s", data, m);
    tu_rmrf(m);
    free(m);
    /* A model folder from another run (other data), checksums written again
     * so that only the data checksum tells. */
    m = copy_models(models, "f7");
    char *other = dg_path_join(root, "f7-other");
    rc = run(&out, "synth --quiet --out %s/d --devices 800 --seed 9 && %s train --quiet "
                   "--no-snapshot %s/d --out %s/t --families prior --targets gender",
             other, tu_bin(), other, other);
    if (rc != 0)
        fail_msg("the other run: %d\n%s", rc, out);
    free(out);
    sh("rm -r '%s/s2-gender' && cp -a '%s/t/models/s2-gender' '%s/'", m, other, m);
    reseal(m);
    refused("s2-gender/meta.txt: trained on data", "predict --no-snapshot %s --models %s --out "
            "%s/f7.csv", data, m, root);
    tu_rmrf(other);
    free(other);
    tu_rmrf(m);
    free(m);
    /* Another target's model under gender's name, sealed again: its output
     * count is not gender's, and predict must not write past a buffer of
     * gender's size. */
    m = copy_models(models, "f7");
    sh("rm -f '%s'/s1-gender/model* && cp -a '%s'/s1-group12/model* '%s/s1-gender/' && "
       "fam=$(sed -n 's/^family //p' '%s/s1-group12/meta.txt') && "
       "sed -i \"s/^family .*/family $fam/\" '%s/s1-gender/meta.txt'",
       m, m, m, m, m);
    reseal(m);
    refused("gives 12 numbers per device, but gender needs 1",
            "predict --no-snapshot %s --models %s --out %s/f7.csv", data, m, root);
    refused("gives 12 numbers per device, but gender needs 1",
            "evaluate --no-snapshot %s --models %s", data, m);
    tu_rmrf(m);
    free(m);
    /* No checksums.txt (an older folder, or one stripped): train again. */
    m = copy_models(models, "f7");
    sh("rm '%s/" DG_MODEL_DIR_CHECKSUMS "'", m);
    refused(DG_MODEL_DIR_CHECKSUMS ": missing", "predict --no-snapshot %s --models %s --out "
            "%s/f7.csv", data, m, root);
    tu_rmrf(m);
    free(m);
    /* A listed name that leads out of the folder. */
    m = copy_models(models, "f7");
    sh("sed -i 's#^file test_devices.csv#file ../../etc/passwd#' '%s/" DG_MODEL_DIR_CHECKSUMS
       "'", m);
    refused("is not a name inside the folder", "predict --no-snapshot %s --models %s --out "
            "%s/f7.csv", data, m, root);
    tu_rmrf(m);
    free(m);
}

/* ---- F8: probabilities outside [0, 1] ---------------------------------- */

static void f8_probabilities_are_in_range(void **state)
{
    (void)state;
    char *pred = dg_path_join(root, "pred.csv");
    if (!is_there(pred))
        assert_int_equal(run(NULL, "predict --quiet --no-snapshot %s --models %s --out %s", data,
                             models, pred),
                         0);
    const char *bad[] = {"1.5", "-0.5", "nan", "inf"};
    for (size_t i = 0; i < 4; i++) {
        char *p = dg_path_join(root, "f8.csv");
        /* p_female (column 3) of the first data row */
        sh("awk -F, -v OFS=, 'NR==2{$3=\"%s\"}1' '%s' > '%s'", bad[i], pred, p);
        refused("f8.csv:2:", "campaigns --predictions %s --out %s/f8c", p, root);
        if (i < 2)
            refused("expected a probability from 0 to 1 in column p_female",
                    "campaigns --predictions %s --out %s/f8c", p, root);
        refused("f8.csv:2:", "serve --predictions %s --port 0", p);
        free(p);
    }
    free(pred);
}

/* ---- F13, F14: symlinked --out, one path for two outputs --------------- */

static void f13_symlinked_out_updates_its_target(void **state)
{
    (void)state;
    char *c1 = dg_path_join(root, "f13-c1"), *link = dg_path_join(root, "f13-link");
    char *out;
    assert_int_equal(run(&out, "clean --quiet --no-snapshot %s --out %s", data, c1), 0);
    free(out);
    sh("touch '%s/stale.txt' && ln -sfn '%s' '%s'", c1, c1, link);
    assert_int_equal(run(&out, "clean --quiet --no-snapshot %s --out %s", data, link), 0);
    free(out);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    char *stale = dg_path_join(c1, "stale.txt");
    assert_false(is_there(stale));
    char *ev = dg_path_join(c1, "events.csv");
    assert_true(is_there(ev));
    free(ev);
    free(stale);
    free(c1);
    free(link);
}

static void f14_one_path_for_two_outputs_is_refused(void **state)
{
    (void)state;
    refused("refusing", "predict --no-snapshot %s --models %s --out %s/f14.csv "
            "--kaggle-submission %s/f14.csv",
            data, models, root, root);
    char *f = dg_path_join(root, "f14.csv");
    assert_false(is_there(f));
    free(f);
}

/* ---- F16: a failed fit is named, not "cancelled" ----------------------- */

/* liblinear's fit fails at once on C=-1 while softmax's folds, earlier in
 * task order, are still running and stop as "cancelled": the real error
 * must win (it was "cancelled"; the first failure in order won). */
static void f16_the_real_failure_is_reported(void **state)
{
    (void)state;
    refused("liblinear-lr-l2 (C=-1): liblinear-lr-l2: parameter C=-1 is out of range",
            "train --no-snapshot --quiet %s --out %s/f16 --families softmax,liblinear-lr-l2 "
            "--grid 'liblinear-lr-l2:C=-1' --folds 2",
            data, root);
}

/* ---- F15, F20: the snapshot's temporary files and staleness ----------- */

/* The snapshot file's name in cache (the only *.dgsnap there); freed by the
 * caller. */
static char *snapshot_in(const char *cache)
{
    DIR *d = opendir(cache);
    assert_non_null(d);
    char *found = NULL;
    for (struct dirent *e; (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n > 7 && strcmp(e->d_name + n - 7, ".dgsnap") == 0)
            found = dg_path_join(cache, e->d_name);
    }
    closedir(d);
    assert_non_null(found);
    return found;
}

static void f15_dead_writers_temp_files_are_removed(void **state)
{
    (void)state;
    char *d = dg_path_join(root, "f15"), *cache = dg_path_join(root, "f15-cache");
    sh("rm -rf '%s' '%s' && cp -a '%s' '%s'", d, cache, data, d);
    char *out;
    assert_int_equal(run(&out, "load --cache-dir %s %s", cache, d), 0);
    free(out);
    char *snap = snapshot_in(cache);
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char dead_tmp[4200], live_tmp[4200], old_tmp[4200], other[4200];
    /* what a writer killed mid-write leaves, one of a live writer, one of
     * the old naming (not provably ours) and a file that only looks alike */
    snprintf(dead_tmp, sizeof dead_tmp, "%s.tmp-%ld-a1B2c3", snap, (long)dead);
    snprintf(live_tmp, sizeof live_tmp, "%s.tmp-%ld-a1B2c3", snap, (long)getpid());
    snprintf(old_tmp, sizeof old_tmp, "%s.tmpa1B2c3", snap);
    snprintf(other, sizeof other, "%s.tmp-%ld-notes.txt", snap, (long)dead);
    sh("echo x > '%s' && echo x > '%s' && echo x > '%s' && echo x > '%s'", dead_tmp, live_tmp,
       old_tmp, other);
    /* a changed source makes the next load write the snapshot again */
    sh("sleep 1; echo >> '%s/label_categories.csv'", d);
    assert_int_equal(run(&out, "load --cache-dir %s %s", cache, d), 0);
    free(out);
    assert_false(is_there(dead_tmp));
    assert_true(is_there(live_tmp));
    assert_true(is_there(old_tmp));
    assert_true(is_there(other));
    free(snap);
    tu_rmrf(d);
    tu_rmrf(cache);
    free(d);
    free(cache);
}

static void f20_an_edit_with_its_mtime_put_back_is_seen(void **state)
{
    (void)state;
    char *d = dg_path_join(root, "f20"), *cache = dg_path_join(root, "f20-cache");
    sh("rm -rf '%s' '%s' && cp -a '%s' '%s' && sleep 2.2", d, cache, data, d);
    char *out;
    assert_int_equal(run(&out, "load --cache-dir %s %s", cache, d), 0);
    free(out);
    assert_int_equal(run(&out, "load --cache-dir %s %s", cache, d), 0);
    assert_non_null(strstr(out, "loaded from the snapshot"));
    free(out);
    /* The first device's age, one digit changed in place: same size, same
     * inode, and its mtime put back. */
    sh("cd '%s' && touch -r gender_age_train.csv ref && cp gender_age_train.csv edit && "
       "awk -F, -v OFS=, 'NR==2{$3 = $3 %% 10 == 9 ? $3 - 1 : $3 + 1}1' "
       "gender_age_train.csv > edit && "
       "! cmp -s edit gender_age_train.csv && "
       "test $(stat -c %%s edit) = $(stat -c %%s gender_age_train.csv) && "
       "cat edit > gender_age_train.csv && touch -r ref gender_age_train.csv && rm edit ref",
       d);
    assert_int_equal(run(&out, "load --cache-dir %s %s", cache, d), 0);
    if (strstr(out, "loaded from the snapshot"))
        fail_msg("the edited file was read from the snapshot:\n%s", out);
    free(out);
    tu_rmrf(d);
    tu_rmrf(cache);
    free(d);
    free(cache);
}

/* ---- F19: rule files and the terminal ---------------------------------- */

static void f19_rules_are_strict_and_the_terminal_sees_no_escapes(void **state)
{
    (void)state;
    char *dir = dg_path_join(root, "f19");
    sh("rm -rf '%s' && mkdir -p '%s'", dir, dir);
    /* A NUL in a line hid the rest of the file (here: a rule that fails). */
    static const char nul[] = "zero-coords\nempty-categories name=a\0b\nno-such-rule\n";
    char *p = tu_write(dir, "nul.rules", nul, sizeof nul - 1);
    refused("nul.rules:2:24: a NUL byte", "clean --no-snapshot %s --rules %s --out %s/c", data, p,
            dir);
    free(p);
    p = tu_write_str(dir, "dup.rules",
                     "time-window from=2016-05-01T00:00:00 from=2016-04-01T00:00:00 "
                     "to=2016-06-01T00:00:00\n");
    refused("dup.rules:1: rule time-window: from given twice",
            "clean --no-snapshot %s --rules %s --out %s/c", data, p, dir);
    free(p);
    char *many = malloc(101 * 16 + 1);
    many[0] = '\0';
    for (int i = 0; i < 101; i++)
        strcat(many, "zero-coords\n");
    p = tu_write_str(dir, "many.rules", many);
    free(many);
    refused("many.rules:101: more than 100 rules", "clean --no-snapshot %s --rules %s --out %s/c",
            data, p, dir);
    free(p);
    /* An ESC sequence in a rule value, shown on a terminal (script(1) gives
     * the command a pty): escaped, never the raw byte. */
    p = tu_write_str(dir, "esc.rules", "time-window from=\033[31mRED\033]0;title\007 to=x\n");
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "script -qec \"timeout -s KILL 60 %s clean --no-snapshot %s --rules %s --out %s/c\" "
             "/dev/null",
             tu_bin(), data, p, dir);
    int rc = tu_run(cmd, &out);
    if (rc != 1 || !strstr(out, "'\\x1b[31mRED\\x1b]0;title\\x07'") || strchr(out, '\033'))
        fail_msg("on a terminal: %d:\n%s", rc, out);
    free(out);
    free(p);
    tu_rmrf(dir);
    free(dir);
}

/* ---- found by fuzz_models ---------------------------------------------- */

/* A prior model's ncols of 37131782945 wrapped (%u) to 2.8e9 columns and
 * allocated gigabytes (fuzz_models, brand-model-prior, out of memory). */
static void fuzz_prior_column_count_is_bounded(void **state)
{
    (void)state;
    char *p = tu_write_str(root, "fuzz-prior",
                           "demographer-prior 1\ntask 0\nnout 1\nalpha 10\nncols 37131782945\n"
                           "prior 0.5\n0 -1 33 12\n");
    const dg_model_family *fam = dg_model_family_find("brand-model-prior");
    assert_non_null(fam);
    void *model = NULL;
    dg_err err;
    assert_int_equal(fam->load(p, &model, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "ncols 0..4194304"));
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(f1_features_db_refuses_like_the_local_path),
        cmocka_unit_test(f1_every_writing_option_keeps_the_discipline),
        cmocka_unit_test(f2_replay_stays_inside_its_out),
        cmocka_unit_test(f3_a_users_partial_named_folder_stays),
        cmocka_unit_test(f4_design_index_is_bounded),
        cmocka_unit_test(f5_special_files_are_refused),
        cmocka_unit_test(f5b_nan_never_loops_nor_passes),
        cmocka_unit_test(f6_labels_and_flags_are_exact),
        cmocka_unit_test(f7_model_directory_is_checked),
        cmocka_unit_test(f8_probabilities_are_in_range),
        cmocka_unit_test(f13_symlinked_out_updates_its_target),
        cmocka_unit_test(f14_one_path_for_two_outputs_is_refused),
        cmocka_unit_test(f15_dead_writers_temp_files_are_removed),
        cmocka_unit_test(f16_the_real_failure_is_reported),
        cmocka_unit_test(f19_rules_are_strict_and_the_terminal_sees_no_escapes),
        cmocka_unit_test(f20_an_edit_with_its_mtime_put_back_is_seen),
        cmocka_unit_test(fuzz_prior_column_count_is_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
