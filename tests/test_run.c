/* demographer run end to end on a small generated set: every promised file,
 * report.json against runs.json, --skip, and failures that leave the output
 * directory as it was. */
#include "testutil.h"
#include "report_check.h"

#include "demographer/common.h"
#include "demographer/textbuf.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *tmp, *data, *truth;

static int exists(const char *dir, const char *name)
{
    char *p = dg_path_join(dir, name);
    struct stat st;
    int ok = stat(p, &st) == 0;
    free(p);
    return ok;
}

static int nonempty_file(const char *dir, const char *name)
{
    char *p = dg_path_join(dir, name);
    struct stat st;
    int ok = stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
    free(p);
    return ok;
}

/* Whether tmp holds anything named like a partial or set-aside output. */
static int leftovers(void)
{
    DIR *d = opendir(tmp);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        found |= strstr(e->d_name, ".partial-") != NULL || strstr(e->d_name, ".old-") != NULL;
    closedir(d);
    return found;
}

static json_t *load_json(const char *dir, const char *name)
{
    char *p = dg_path_join(dir, name);
    json_error_t je;
    json_t *j = json_load_file(p, 0, &je);
    if (!j)
        fail_msg("%s:%d:%d: %s", p, je.line, je.column, je.text);
    free(p);
    return j;
}

static int run_cmd(const char *args, const char *out_name, char **output)
{
    char cmd[4096];
    char *out = dg_path_join(tmp, out_name);
    snprintf(cmd, sizeof cmd, "'%s' run '%s' --out '%s' --no-snapshot %s", tu_bin(), data, out,
             args);
    free(out);
    return tu_run(cmd, output);
}

static int setup(void **state)
{
    (void)state;
    tmp = tu_tmpdir();
    data = dg_path_join(tmp, "data");
    truth = dg_path_join(tmp, "truth.csv");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' synth --quiet --out '%s' --devices 3000 --seed 5 --truth '%s'",
             tu_bin(), data, truth);
    char *o = NULL;
    int rc = tu_run(cmd, &o);
    if (rc != 0)
        fprintf(stderr, "%s\n", o);
    free(o);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmrf(tmp);
    free(tmp);
    free(data);
    free(truth);
    return 0;
}

/* report.md and report.html of a real run: the same tables cell by cell,
 * report.json's cleaning counts and reach among their rows, every chart
 * inlined, and nothing fetched from elsewhere. */
static void check_same_facts(const char *out, int md_images)
{
    char *p = dg_path_join(out, "report.md");
    char *md = tu_read(p, NULL);
    free(p);
    p = dg_path_join(out, "report.html");
    char *html = tu_read(p, NULL);
    free(p);
    assert_non_null(md);
    assert_non_null(html);
    size_t nm, nh;
    char **mr = rc_md_rows(md, &nm), **hr = rc_html_rows(html, &nh);
    assert_int_equal(nm, nh);
    for (size_t i = 0; i < nm; i++)
        if (strcmp(mr[i], hr[i]) != 0)
            fail_msg("row %zu: report.md \"%s\", report.html \"%s\"", i, mr[i], hr[i]);
    json_t *rep = load_json(out, "report.json");
    json_t *clean = json_object_get(rep, "cleaning");
    for (size_t i = 0; i < json_array_size(clean); i++) {
        json_t *x = json_array_get(clean, i);
        char row[2048], n[4][32]; /* counts as the report writes them: 9,467 */
        const char *keys[] = {"rows_before", "rows_after", "rows_changed", "devices"};
        for (int k = 0; k < 4; k++)
            dg_format_count(json_integer_value(json_object_get(x, keys[k])), n[k], sizeof n[k]);
        snprintf(row, sizeof row, "%s%s\t%s\t%s\t%s\t%s\t%s\t%s",
                 json_is_true(json_object_get(x, "enabled")) ? "" : "off ",
                 json_string_value(json_object_get(x, "rule")),
                 json_string_value(json_object_get(x, "table")), n[0], n[1], n[2], n[3],
                 json_string_value(json_object_get(x, "detail")));
        if (rc_find_row(hr, nh, row) < 0)
            fail_msg("report.html has no row \"%s\" (report.json's cleaning %zu)", row, i);
    }
    json_t *reach = json_object_get(json_object_get(rep, "campaigns"), "reach");
    for (size_t i = 0; i < json_array_size(reach); i++) {
        json_t *x = json_array_get(reach, i);
        char row[1024], n[32];
        snprintf(row, sizeof row, "%" JSON_INTEGER_FORMAT "\t%s\t%s\t%s\t%.1f%%",
                 json_integer_value(json_object_get(x, "campaign")),
                 json_string_value(json_object_get(x, "name")),
                 json_string_value(json_object_get(x, "condition")),
                 dg_format_count(json_integer_value(json_object_get(x, "devices")), n, sizeof n),
                 100 * json_number_value(json_object_get(x, "share")));
        int seen = 0;
        for (size_t k = 0; k < nh; k++)
            seen |= strncmp(hr[k], row, strlen(row)) == 0;
        if (!seen)
            fail_msg("report.html has no reach row starting \"%s\"", row);
    }
    /* Every chosen model is a row of the comparison table, with its CV. */
    json_t *chosen = json_object_get(rep, "chosen_models");
    assert_true(json_array_size(chosen) > 0);
    for (size_t i = 0; i < json_array_size(chosen); i++) {
        json_t *x = json_array_get(chosen, i);
        char row[1024];
        snprintf(row, sizeof row, "%s\t%" JSON_INTEGER_FORMAT "\t%s\t%s\t%.4f\t",
                 json_string_value(json_object_get(x, "family")),
                 json_integer_value(json_object_get(x, "scenario")),
                 json_string_value(json_object_get(x, "target")),
                 json_string_value(json_object_get(x, "params")),
                 json_number_value(json_object_get(x, "cv_score")));
        int seen = 0;
        for (size_t k = 0; k < nh; k++)
            seen |= strncmp(hr[k], row, strlen(row)) == 0;
        if (!seen)
            fail_msg("report.html has no run row starting \"%s\"", row);
    }
    json_decref(rep);
    char why[256];
    int leaks = rc_html_external_refs(html, why, sizeof why);
    if (leaks)
        fail_msg("report.html: %d references outside the file, the first %s", leaks, why);
    int inlined = 0;
    for (const char *c = html; (c = strstr(c, "src=\"data:image/png;base64,iVBORw0KGgo")); c++)
        inlined++; /* a PNG's signature, base64 */
    assert_int_equal(inlined, md_images);
    rc_free_rows(mr, nm);
    rc_free_rows(hr, nh);
    free(md);
    free(html);
}

static void a_full_run_writes_every_stage(void **state)
{
    (void)state;
    char *o = NULL;
    int rc = run_cmd("--families prior,softmax --folds 2", "full", &o);
    if (rc != 0)
        fail_msg("run failed (%d): %s", rc, o);
    /* One line per stage with its seconds, and where the report is. */
    const char *stages[] = {"load", "clean", "eda", "maps", "cluster", "features", "train",
                            "evaluate", "predictions", "campaigns", "report"};
    for (size_t i = 0; i < sizeof stages / sizeof *stages; i++) {
        char line[64];
        snprintf(line, sizeof line, "\n%-12s ", stages[i]);
        if (!strstr(o, line) && strncmp(o, line + 1, strlen(line) - 1) != 0)
            fail_msg("no line for stage %s in:\n%s", stages[i], o);
    }
    assert_non_null(strstr(o, "report.md"));
    free(o);

    char *out = dg_path_join(tmp, "full");
    const char *files[] = {"report.json", "report.md", "report.html", "predictions.csv",
                           "eda/eda-01-age.csv", "eda/eda-01-age.png",
                           "maps/maps-all.png", "maps/maps-gender.png", "maps/maps-age.png",
                           "cluster/kdist.png", "cluster/kdist.csv", "cluster/clusters.csv",
                           "train/runs.json", "train/runs.csv", "train/roc_gender.png",
                           "train/models/test_devices.csv", "train/models/s1-gender/meta.txt",
                           "train/models/s2-group12/model",
                           "campaigns/device_campaigns.csv", "campaigns/reach.csv",
                           "campaigns/reach.png", "campaigns/thresholds.txt"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (!nonempty_file(out, files[i]))
            fail_msg("%s/%s missing or empty", out, files[i]);
    assert_false(leftovers());

    json_t *rep = load_json(out, "report.json"), *runs = load_json(out, "train/runs.json");
    /* Every metric of every run: the report's train section is runs.json. */
    json_t *train = json_object_get(rep, "train");
    assert_non_null(train);
    assert_true(json_equal(train, runs));
    json_t *rr = json_object_get(runs, "runs");
    assert_true(json_array_size(rr) >= 16); /* 2 families x 4 targets x 2 scenarios */
    json_t *first = json_array_get(json_object_get(train, "runs"), 0);
    assert_non_null(json_object_get(first, "log_loss"));

    assert_string_equal(json_string_value(json_object_get(rep, "version")), "0.1.0");
    assert_non_null(json_string_value(json_object_get(rep, "selection_rule")));
    assert_int_equal(json_array_size(json_object_get(rep, "chosen_models")), 8);
    assert_int_equal(strlen(json_string_value(json_object_get(rep, "data_checksum"))), 16);
    /* The stages each with their seconds (the report's own is not known). */
    json_t *st = json_object_get(rep, "stages");
    assert_int_equal(json_array_size(st), 11);
    for (size_t i = 0; i + 1 < json_array_size(st); i++) {
        json_t *x = json_array_get(st, i);
        assert_true(json_is_true(json_object_get(x, "ran")));
        assert_true(json_number_value(json_object_get(x, "seconds")) >= 0);
    }
    /* Tables, cleaning, cluster, evaluation, campaigns. */
    json_t *tables = json_object_get(rep, "tables_after_cleaning");
    assert_true(json_integer_value(json_object_get(json_object_get(tables, "phones"), "rows")) >
                2900);
    assert_int_equal(json_array_size(json_object_get(rep, "cleaning")), 10);
    json_t *cl = json_object_get(rep, "cluster");
    assert_true(json_integer_value(json_object_get(cl, "clusters")) > 0);
    json_t *ev = json_object_get(rep, "evaluation");
    assert_int_equal(json_array_size(ev), 8);
    for (size_t i = 0; i < json_array_size(ev); i++)
        assert_true(json_is_true(json_object_get(json_array_get(ev, i), "identical_to_train")));
    json_t *camp = json_object_get(rep, "campaigns");
    json_t *reach = json_object_get(camp, "reach");
    assert_int_equal(json_array_size(reach), 6);
    json_int_t npred = json_integer_value(json_object_get(json_object_get(rep, "predictions"),
                                                          "devices"));
    assert_true(npred > 0);
    assert_int_equal(json_integer_value(json_object_get(camp, "devices")), npred);
    assert_int_equal(json_integer_value(json_object_get(camp, "labelled")), npred);
    double p = json_number_value(json_object_get(json_array_get(reach, 0), "expected_precision"));
    assert_true(p >= 0 && p <= 1);
    json_decref(rep);
    json_decref(runs);

    /* report.md links the charts relatively, and they exist. */
    char *md_path = dg_path_join(out, "report.md");
    FILE *f = fopen(md_path, "r");
    assert_non_null(f);
    char line[4096];
    int images = 0, table_cells = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        /* Every row of a table has its header's cells (a '|' in a cell is
         * escaped). */
        if (line[0] == '|') {
            int cells = 0;
            for (char *c = line; *c; c++)
                cells += *c == '|' && (c == line || c[-1] != '\\');
            if (!table_cells)
                table_cells = cells;
            else if (cells != table_cells)
                fail_msg("report.md:%d: %d cells, the table's header has %d: %s", lineno, cells,
                         table_cells, line);
        } else {
            table_cells = 0;
        }
        char *img = strstr(line, "](");
        if (strncmp(line, "![", 2) != 0 || !img)
            continue;
        char *end = strchr(img + 2, ')');
        assert_non_null(end);
        *end = '\0';
        assert_true(img[2] != '/');
        if (!nonempty_file(out, img + 2))
            fail_msg("report.md links %s, which %s lacks", img + 2, out);
        images++;
    }
    fclose(f);
    free(md_path);
    assert_true(images >= 20); /* 14 EDA, 3 maps, k-distance, reach, 4 of train */
    check_same_facts(out, images);
    free(out);
}

static void skipped_stages_are_not_run(void **state)
{
    (void)state;
    char *o = NULL;
    int rc = run_cmd("--skip eda,maps,cluster,train --quiet", "skipped", &o);
    if (rc != 0)
        fail_msg("run failed (%d): %s", rc, o);
    free(o);
    char *out = dg_path_join(tmp, "skipped");
    assert_true(nonempty_file(out, "report.json"));
    assert_true(nonempty_file(out, "report.md"));
    assert_true(nonempty_file(out, "report.html"));
    assert_false(exists(out, "eda"));
    assert_false(exists(out, "maps"));
    assert_false(exists(out, "cluster"));
    assert_false(exists(out, "train"));
    assert_false(exists(out, "predictions.csv"));
    assert_false(exists(out, "campaigns"));
    json_t *rep = load_json(out, "report.json");
    json_t *st = json_object_get(rep, "stages");
    const int ran[] = {1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    for (size_t i = 0; i < 11; i++)
        assert_int_equal(json_is_true(json_object_get(json_array_get(st, i), "ran")), ran[i]);
    /* evaluate was not asked to be skipped: it says why it did not run. */
    const char *note = json_string_value(json_object_get(json_array_get(st, 7), "note"));
    assert_non_null(note);
    assert_non_null(strstr(note, "needs train"));
    assert_null(json_object_get(rep, "train"));
    /* Without train, the split and the data checksum are still reported. */
    assert_non_null(json_string_value(json_object_get(json_object_get(rep, "split"), "text")));
    assert_int_equal(strlen(json_string_value(json_object_get(rep, "data_checksum"))), 16);
    json_decref(rep);

    /* A stage that cannot be skipped is refused. */
    rc = run_cmd("--skip load", "refused", &o);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(o, "'load' is not a stage that can be skipped"));
    free(o);
    assert_false(exists(tmp, "refused"));
    free(out);
}

/* A failed run names its stage and leaves DIR as it was: here, the output
 * of skipped_stages_are_not_run stays byte for byte. */
static void a_bad_data_dir_fails_and_leaves_the_output(void **state)
{
    (void)state;
    char *out = dg_path_join(tmp, "skipped");
    char *rep = dg_path_join(out, "report.json");
    struct stat before, after;
    assert_int_equal(stat(rep, &before), 0);
    char cmd[4096], *o = NULL;
    snprintf(cmd, sizeof cmd, "'%s' run '%s/no-such-dir' --out '%s' --no-snapshot", tu_bin(), tmp,
             out);
    int rc = tu_run(cmd, &o);
    assert_int_equal(rc, 1);
    if (!strstr(o, "stage load") || !strstr(o, "no-such-dir"))
        fail_msg("expected the stage and the directory named, got:\n%s", o);
    free(o);
    assert_int_equal(stat(rep, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    assert_int_equal(before.st_mtime, after.st_mtime);
    assert_false(leftovers());

    /* Into a new directory: nothing at all is left. */
    snprintf(cmd, sizeof cmd, "'%s' run '%s/no-such-dir' --out '%s/fresh' --no-snapshot",
             tu_bin(), tmp, tmp);
    assert_int_equal(tu_run(cmd, NULL), 1);
    assert_false(exists(tmp, "fresh"));
    assert_false(leftovers());
    free(rep);
    free(out);
}

/* What a folder holds: names, sizes, inodes and modification times, one line
 * each (ls), so that "left as it was" compares two strings. */
static char *listing(const char *dir)
{
    char cmd[4096], *o = NULL;
    snprintf(cmd, sizeof cmd, "ls -lAi --time-style=full-iso '%s' | sed 1d", dir);
    assert_int_equal(tu_run(cmd, &o), 0);
    return o;
}

/* An output over an input is refused before anything is touched: DATA itself,
 * DATA's parent (which would be replaced whole), DATA through a symlink, and
 * a folder inside DATA reached through a symlink. The 8 input CSVs stay. */
static void an_output_over_an_input_is_refused(void **state)
{
    (void)state;
    char *before = listing(data);
    char *link = dg_path_join(tmp, "data-link");
    assert_int_equal(symlink(data, link), 0);
    const char *outs[] = {"%s", "%s/..", "%s", "%s/sub"};
    const char *bases[] = {data, data, link, link};
    for (size_t i = 0; i < sizeof outs / sizeof *outs; i++) {
        char out[2048], cmd[4096], *o = NULL;
        snprintf(out, sizeof out, outs[i], bases[i]);
        snprintf(cmd, sizeof cmd, "'%s' run '%s' --out '%s' --no-snapshot --quiet", tu_bin(), data,
                 out);
        int rc = tu_run(cmd, &o);
        if (rc != 1 || !strstr(o, "refusing --out") || !strstr(o, data))
            fail_msg("run --out %s: expected a refusal naming both paths, got %d:\n%s", out, rc,
                     o);
        free(o);
        char *after = listing(data);
        if (strcmp(before, after) != 0)
            fail_msg("run --out %s changed the data folder:\n%s\nnow:\n%s", out, before, after);
        free(after);
    }
    /* The inputs listed are all there, untouched: 8 CSVs. */
    int csvs = 0;
    for (const char *p = before; (p = strstr(p, ".csv\n")); p++)
        csvs++;
    assert_int_equal(csvs, 8);
    assert_false(leftovers());
    unlink(link);
    free(link);
    free(before);
}

/* kill -9 leaves DIR.partial-PID: a later run into DIR removes those of dead
 * processes, and only those (a live process's, a name that only looks
 * alike and a plain file of the same pattern stay). */
static void stale_partials_are_removed(void **state)
{
    (void)state;
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    assert_true(dead > 0);
    waitpid(dead, NULL, 0);
    char name[256];
    snprintf(name, sizeof name, "stale.partial-%ld", (long)dead);
    char *stale = dg_path_join(tmp, name);
    assert_int_equal(mkdir(stale, 0755), 0);
    free(tu_write_str(stale, "report.json", "{}"));
    /* the marker dg_outdir_begin writes: without it the folder is the user's */
    free(tu_write_str(stale, DG_OUTDIR_MARKER, "x\n"));
    snprintf(name, sizeof name, "stale.partial-%ld", (long)getpid()); /* alive: this test */
    char *alive = dg_path_join(tmp, name);
    assert_int_equal(mkdir(alive, 0755), 0);
    snprintf(name, sizeof name, "stale.partial-%ldx", (long)dead);
    char *alike = dg_path_join(tmp, name);
    assert_int_equal(mkdir(alike, 0755), 0);

    char *o = NULL;
    int rc = run_cmd("--skip eda,maps,cluster,train --quiet", "stale", &o);
    if (rc != 0)
        fail_msg("run failed (%d): %s", rc, o);
    free(o);
    assert_true(exists(tmp, "stale/report.json"));
    struct stat st;
    assert_int_not_equal(stat(stale, &st), 0);
    assert_int_equal(stat(alive, &st), 0);
    assert_int_equal(stat(alike, &st), 0);
    tu_rmrf(alive);
    tu_rmrf(alike);
    assert_false(leftovers());
    free(stale);
    free(alive);
    free(alike);
}

static void help_and_usage_errors(void **state)
{
    (void)state;
    char cmd[4096], *o = NULL;
    snprintf(cmd, sizeof cmd, "'%s' run --help", tu_bin());
    assert_int_equal(tu_run(cmd, &o), 0);
    for (const char *opt = "--out\0--families\0--folds\0--seed\0--grid\0--skip\0--super\0"
                           "--rules\0--no-clean\0--no-snapshot\0--quiet\0report.json\0"
                           "report.md\0train/models\0";
         *opt; opt += strlen(opt) + 1)
        if (!strstr(o, opt))
            fail_msg("run --help does not name %s", opt);
    free(o);
    snprintf(cmd, sizeof cmd, "'%s' run '%s'", tu_bin(), data);
    assert_int_equal(tu_run(cmd, &o), 2);
    assert_non_null(strstr(o, "--out DIR is required"));
    free(o);
    snprintf(cmd, sizeof cmd, "'%s' run '%s' --out '%s/x' --folds 1", tu_bin(), data, tmp);
    assert_int_equal(tu_run(cmd, &o), 2);
    assert_non_null(strstr(o, "--folds expects a whole number from 2 to 50, got '1'"));
    free(o);
    assert_false(exists(tmp, "x"));
}

/* A header-only events.csv failed the run in the cluster stage, naming a
 * kdist.png inside the .partial folder (and, with maps on, in the maps
 * stage). Each stage now says what the data lacks, and the run goes on. */
static void header_only_events_say_what_is_missing(void **state)
{
    (void)state;
    char cmd[4096], *o = NULL;
    char *hdr = dg_path_join(tmp, "header-only");
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s' && head -n 1 '%s/events.csv' > '%s/events.csv'",
             data, hdr, data, hdr);
    assert_int_equal(tu_run(cmd, NULL), 0);
    char *out = dg_path_join(tmp, "header-only-out");
    snprintf(cmd, sizeof cmd, "'%s' run '%s' --out '%s' --no-snapshot --skip eda,train --quiet",
             tu_bin(), hdr, out);
    int rc = tu_run(cmd, &o);
    if (rc != 0)
        fail_msg("run failed (%d): %s", rc, o);
    assert_null(strstr(o, "kdist.png"));
    free(o);
    json_t *rep = load_json(out, "report.json");
    json_t *st = json_array_get(json_object_get(rep, "stages"), 4);
    assert_string_equal(json_string_value(json_object_get(st, "stage")), "cluster");
    const char *note = json_string_value(json_object_get(st, "note"));
    assert_non_null(note);
    assert_string_equal(note, "nothing to cluster: the events table has no rows");
    assert_null(json_object_get(rep, "cluster"));
    /* The maps stage, before it, failed on the same data: it says so too. */
    st = json_array_get(json_object_get(rep, "stages"), 3);
    assert_string_equal(json_string_value(json_object_get(st, "stage")), "maps");
    assert_string_equal(json_string_value(json_object_get(st, "note")),
                        "nothing to map: the events table has no rows");
    json_decref(rep);
    assert_false(leftovers());

    /* Three events with a location: maps are drawn, DBSCAN finds nothing,
     * and the k-distance chart that cannot be drawn is a note, not a failure. */
    snprintf(cmd, sizeof cmd,
             "head -n 1 '%s/events.csv' > '%s/events.csv' && "
             "awk -F, 'NR > 1 && NR < 5 { print NR \",\" $1 \",2016-05-02 10:00:00,\" "
             "100 + NR \",\" 30 + NR }' '%s/phone_brand_device_model.csv' >> '%s/events.csv'",
             data, hdr, data, hdr);
    assert_int_equal(tu_run(cmd, NULL), 0);
    char *out2 = dg_path_join(tmp, "three-events-out");
    snprintf(cmd, sizeof cmd, "'%s' run '%s' --out '%s' --no-snapshot --skip eda,train --quiet",
             tu_bin(), hdr, out2);
    rc = tu_run(cmd, &o);
    if (rc != 0)
        fail_msg("run failed (%d): %s", rc, o);
    free(o);
    rep = load_json(out2, "report.json");
    st = json_array_get(json_object_get(rep, "stages"), 4);
    assert_string_equal(json_string_value(json_object_get(st, "note")),
                        "no k-distance chart: too few events with a location (3) for any location "
                        "to have 10 of them near it");
    assert_null(json_object_get(json_array_get(json_object_get(rep, "stages"), 3), "note"));
    json_decref(rep);
    assert_false(leftovers());
    free(out2);
    free(out);
    free(hdr);
}

/* The truth file as predictions (accuracy.h): P(female) = 1 - p_male, the
 * expected age, the 12 group probabilities; group6 0 (unused). Without the
 * device of keep_out (0: none). */
static char *truth_as_predictions(const char *name, const char *keep_out)
{
    size_t len;
    char *text = tu_read(truth, &len);
    assert_non_null(text);
    dg_textbuf b = {0};
    dg_textbuf_puts(&b, "device_id,scenario,p_female,age,F0-24,F25-32,F32+,M0-24,M25-32,"
                        "M32+,F23-,F24-26,F27-28,F29-32,F33-42,F43+,M22-,M23-26,M27-28,"
                        "M29-31,M32-38,M39+\n");
    char *save = NULL;
    strtok_r(text, "\n", &save); /* the header */
    for (char *line; (line = strtok_r(NULL, "\n", &save));) {
        char *f[15], *fs = NULL;
        int n = 0;
        for (char *x = strtok_r(line, ",", &fs); x && n < 15; x = strtok_r(NULL, ",", &fs))
            f[n++] = x;
        assert_int_equal(n, 15);
        if (keep_out && strcmp(f[0], keep_out) == 0)
            continue;
        dg_textbuf_printf(&b, "%s,1,%.17g,%s,0,0,0,0,0,0", f[0], 1.0 - strtod(f[1], NULL), f[2]);
        for (int g = 3; g < 15; g++)
            dg_textbuf_printf(&b, ",%s", f[g]);
        dg_textbuf_putc(&b, '\n');
    }
    char *path = tu_write(tmp, name, b.p, b.len);
    dg_textbuf_free(&b);
    free(text);
    return path;
}

static double row_num(json_t *row, const char *key)
{
    json_t *v = json_object_get(row, key);
    assert_true(json_is_real(v));
    return json_real_value(v);
}

/* A run of prior and softmax on 2 folds with the truth and a peer's file,
 * into tmp/NAME: its report.json (the caller frees it). */
static json_t *run_with_peer(const char *peer, const char *name)
{
    char args[4096], *o = NULL;
    snprintf(args, sizeof args, "--skip eda,maps,cluster --families prior,softmax --folds 2 "
                                "--synth-truth '%s' --peer-predictions '%s' --quiet", truth,
             peer);
    int rc = run_cmd(args, name, &o);
    if (rc != 0)
        fail_msg("run failed (%d): %s", rc, o);
    free(o);
    char *out = dg_path_join(tmp, name);
    json_t *rep = load_json(out, "report.json");
    free(out);
    return rep;
}

/* --synth-truth and --peer-predictions: the floor is the truth scored like
 * any predictions, the closure (peer - model) / (peer - floor) is 0 for a
 * peer that is the run itself and undefined for a peer that is the floor;
 * a test device missing from either file fails the run, naming the file. */
static void accuracy_is_measured_against_the_floor(void **state)
{
    (void)state;
    char *o = NULL, args[4096];
    snprintf(args, sizeof args, "--skip eda,maps,cluster --families prior,softmax --folds 2 "
                                "--synth-truth '%s' --ablation", truth);
    int rc = run_cmd(args, "acc", &o);
    if (rc != 0)
        fail_msg("run failed (%d): %s", rc, o);
    assert_non_null(strstr(o, "scenario 1 group12 log loss"));
    free(o);
    char *out = dg_path_join(tmp, "acc");
    json_t *rep = load_json(out, "report.json");
    json_t *acc = json_object_get(rep, "accuracy");
    json_t *rows = json_object_get(acc, "rows");
    assert_int_equal(json_array_size(rows), 6);
    assert_true(json_is_null(json_object_get(acc, "peer_predictions")));
    double floor[6], model[6];
    static const char *const targets[3] = {"gender", "group12", "age"};
    for (size_t i = 0; i < 6; i++) {
        json_t *r = json_array_get(rows, i);
        assert_int_equal(json_integer_value(json_object_get(r, "scenario")), i < 3 ? 1 : 2);
        assert_string_equal(json_string_value(json_object_get(r, "target")),
                            targets[i % 3]);
        assert_true(json_is_null(json_object_get(r, "peer")));
        assert_true(json_is_null(json_object_get(r, "closure")));
        floor[i] = row_num(r, "floor");
        model[i] = row_num(r, "model");
        assert_true(json_integer_value(json_object_get(r, "devices")) > 0);
    }
    /* The floor beats a softmax on the scenario-1 groups by far at this size. */
    assert_true(floor[1] < model[1]);
    /* --ablation: train's rows are in report.json (train is runs.json) and
     * report.md has them as a table. */
    json_t *abl = json_object_get(json_object_get(rep, "train"), "ablation");
    assert_true(json_array_size(abl) > 0);
    json_decref(rep);
    char *md_path = dg_path_join(out, "report.md");
    char *md = tu_read(md_path, NULL);
    assert_non_null(strstr(md, "## Accuracy against the floor"));
    assert_non_null(strstr(md, "## Ablation"));
    free(md);
    free(md_path);

    /* The run's own predictions as the peer: nothing closed, nothing lost. */
    char *own = dg_path_join(out, "predictions.csv");
    char *own_copy = dg_path_join(tmp, "own-predictions.csv");
    size_t len;
    char *text = tu_read(own, &len);
    free(tu_write(tmp, "own-predictions.csv", text, len));
    free(text);
    rep = run_with_peer(own_copy, "acc-own");
    rows = json_object_get(json_object_get(rep, "accuracy"), "rows");
    for (size_t i = 0; i < 6; i++) {
        json_t *r = json_array_get(rows, i);
        assert_true(row_num(r, "peer") == model[i]);
        assert_true(row_num(r, "model") == model[i]);
        assert_true(row_num(r, "floor") == floor[i]);
        assert_true(row_num(r, "closure") == 0.0);
    }
    json_decref(rep);

    /* The truth as the peer: its score is the floor, so no gap to close. */
    char *as_peer = truth_as_predictions("truth-peer.csv", NULL);
    rep = run_with_peer(as_peer, "acc-floor");
    rows = json_object_get(json_object_get(rep, "accuracy"), "rows");
    for (size_t i = 0; i < 6; i++) {
        json_t *r = json_array_get(rows, i);
        assert_true(fabs(row_num(r, "peer") - floor[i]) < 1e-12 * (1 + floor[i]));
        assert_true(json_is_null(json_object_get(r, "closure")));
    }
    json_decref(rep);

    /* A test device missing from the peer's file: the run fails and names it. */
    char *split_path = dg_path_join(out, "train/split.csv");
    text = tu_read(split_path, NULL);
    char first_test[32] = "";
    for (char *line = strchr(text, '\n'); line && !first_test[0]; line = strchr(line, '\n')) {
        line++;
        long long id;
        int sc, is_test;
        if (sscanf(line, "%lld,%d,%d", &id, &sc, &is_test) == 3 && is_test)
            snprintf(first_test, sizeof first_test, "%lld", id);
    }
    free(text);
    assert_true(first_test[0]);
    char *short_peer = truth_as_predictions("short-peer.csv", first_test);
    snprintf(args, sizeof args, "--skip eda,maps,cluster --families prior --folds 2 "
                                "--synth-truth '%s' --peer-predictions '%s' --quiet", truth,
             short_peer);
    rc = run_cmd(args, "acc-short", &o);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(o, "short-peer.csv: expected every test device, found no row for "
                              "device_id"));
    assert_non_null(strstr(o, first_test));
    free(o);
    assert_false(exists(tmp, "acc-short"));
    /* A peer without the truth is refused before anything runs. */
    snprintf(args, sizeof args, "--peer-predictions '%s'", own_copy);
    rc = run_cmd(args, "acc-refused", &o);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(o, "--peer-predictions needs --synth-truth"));
    free(o);
    free(split_path);
    free(short_peer);
    free(as_peer);
    free(own);
    free(own_copy);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_and_usage_errors),
        cmocka_unit_test(a_full_run_writes_every_stage),
        cmocka_unit_test(skipped_stages_are_not_run),
        cmocka_unit_test(a_bad_data_dir_fails_and_leaves_the_output),
        cmocka_unit_test(an_output_over_an_input_is_refused),
        cmocka_unit_test(stale_partials_are_removed),
        cmocka_unit_test(header_only_events_say_what_is_missing),
        cmocka_unit_test(accuracy_is_measured_against_the_floor),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
