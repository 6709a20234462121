/* The workbench's curses-free half: the action table's consistency, text
 * measured by display width, the session log's quoting, and the model driven
 * by actions as the screen and replay drive it. */
#include "testutil.h"
#include "report_check.h"

#include "actions.h"
#include "detail.h"
#include "hints.h"
#include "job.h"
#include "model.h"
#include "model_actions.h"
#include "text.h"

#include "demographer/features.h"
#include "demographer/plot.h"
#include "demographer/source_clickhouse.h"
#include "demographer/source_mysql.h"

#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>


static void every_action_is_named_keyed_and_documented(void **state)
{
    (void)state;
    for (int i = 0; i < ACT_COUNT; i++) {
        const action_info *a = &actions[i];
        assert_true(a->name[0] && a->key[0] && a->help[0]);
        assert_int_equal(action_by_name(a->name), i);
        int known = 0;
        for (size_t c = 0; c < ACTION_NCTX; c++)
            known |= strcmp(a->ctx, action_contexts[c]) == 0;
        assert_true(known);
        for (const char *p = a->name; *p; p++)
            assert_true((*p >= 'a' && *p <= 'z') || *p == '-');
    }
    assert_int_equal(action_by_name("no-such-action"), -1);
    /* The source action's help names every source it takes. */
    for (int s = 0; s < SRC_COUNT; s++)
        if (!strstr(actions[ACT_SOURCE].help, source_names[s]))
            fail_msg("source's help \"%s\" does not name %s", actions[ACT_SOURCE].help,
                     source_names[s]);
    /* Messages name keys through the table. */
    char msg[128] = "{load} loads, {pane-load} goes there, {not-an-action} stays";
    action_keys_expand(msg, sizeof msg);
    assert_string_equal(msg, "L loads, 1 goes there, {not-an-action} stays");
    /* The table's flags: the screen's own actions (help, prompts, :) are not
     * logged; the data actions are; moves are the cursor keys. */
    for (int i = 0; i < ACT_COUNT; i++) {
        if (strcmp(actions[i].ctx, "prompt") == 0 || strcmp(actions[i].ctx, "help") == 0)
            assert_false(action_has(i, ACTION_LOG));
        if (action_has(i, ACTION_DATA))
            assert_true(action_has(i, ACTION_LOG));
        if (action_has(i, ACTION_MOVE))
            assert_string_equal(actions[i].ctx, "global");
    }
    assert_false(action_has(ACT_COMMAND, ACTION_LOG));
    assert_false(action_has(ACT_ROW_DETAIL, ACTION_LOG));
    assert_true(action_has(ACT_LOAD, ACTION_DATA) && action_has(ACT_RULE_SET, ACTION_DATA));
    assert_false(action_has(ACT_MODELS_FILTER, ACTION_DATA));
    assert_true(action_has(ACT_PAGE_DOWN, ACTION_MOVE) && !action_has(ACT_SORT, ACTION_MOVE));
}

static void every_key_is_bound_once_per_context(void **state)
{
    (void)state;
    for (int i = 0; i < ACT_COUNT; i++) {
        const char *keys[] = {actions[i].key, actions[i].key2};
        for (int k = 0; k < 2; k++) {
            if (!keys[k][0])
                continue;
            /* The lookup of this key in this context finds this action... */
            assert_int_equal(action_for_key(actions[i].ctx, keys[k]), i);
            /* ...and no other action of the context has it. */
            for (int j = 0; j < ACT_COUNT; j++)
                if (j != i && strcmp(actions[j].ctx, actions[i].ctx) == 0)
                    assert_true(strcmp(actions[j].key, keys[k]) != 0 &&
                                strcmp(actions[j].key2, keys[k]) != 0);
        }
    }
    /* The shadowing the help describes: q closes a sheet, quits elsewhere. */
    assert_int_equal(action_for_key("sheet", "q"), ACT_SHEET_BACK);
    assert_int_equal(action_for_key("global", "q"), ACT_QUIT);
    assert_int_equal(action_for_key("global", "p"), ACT_SAVE);
    assert_int_equal(action_for_key("global", "C-c"), ACT_CANCEL);
}

/* Every action goes to its context's handler (actions.def's context column),
 * as tig's views handle their own requests: each context the model handles
 * has one, and a handler refuses every action of another context. */
static void each_context_handles_its_own_actions(void **state)
{
    (void)state;
    for (size_t c = 0; c < ACTION_NCTX; c++) {
        const char *ctx = action_contexts[c];
        int screen_only = strcmp(ctx, "help") == 0 || strcmp(ctx, "prompt") == 0;
        assert_true((model_context_handler(ctx) == NULL) == screen_only);
    }
    assert_null(model_context_handler("no-such-context"));
    model m;
    model_init(&m, "/nonexistent-out");
    int refused = 0;
    for (size_t c = 0; c < ACTION_NCTX; c++) {
        model_handler *handle = model_context_handler(action_contexts[c]);
        if (!handle)
            continue;
        for (int id = 0; id < ACT_COUNT; id++) {
            if (strcmp(actions[id].ctx, action_contexts[c]) == 0)
                continue;
            dg_err err;
            model_job *j = NULL;
            char want[128];
            snprintf(want, sizeof want, "%s is not a %s action", actions[id].name,
                     action_contexts[c]);
            assert_int_equal(handle(&m, id, 0, NULL, &j, &err), DG_ERR);
            assert_null(j);
            assert_non_null(strstr(err.msg, want));
            refused++;
        }
    }
    assert_true(refused > ACT_COUNT);
    /* The model's own contexts are the ones the panes report. */
    for (int p = 0; p < PANE_COUNT; p++) {
        m.pane = (pane_id)p;
        assert_non_null(model_context_handler(model_context(&m)));
    }
    model_free(&m);
}

/* ui/panes.def is the one list of the panes: their ids, names and titles,
 * the pane-NAME actions and keys, and the screen's pane table agree. */
static void the_panes_are_one_list(void **state)
{
    (void)state;
    static const struct {
        const char *name, *title, *key, *ops;
    } def[] = {
#define PANE(id, name, title, key, ops) {name, title, key, #ops},
#include "panes.def"
#undef PANE
    };
    assert_int_equal(sizeof def / sizeof def[0], PANE_COUNT);
    assert_int_equal(ACT_PANE_CAMPAIGNS - ACT_PANE_LOAD + 1, PANE_COUNT);
    model m;
    model_init(&m, "/nonexistent-out");
    for (int p = 0; p < PANE_COUNT; p++) {
        const action_info *a = &actions[ACT_PANE_LOAD + p];
        char name[64], ops[64];
        snprintf(name, sizeof name, "pane-%s", pane_names[p]);
        snprintf(ops, sizeof ops, "pane_%s_ops", pane_names[p]);
        assert_string_equal(pane_names[p], def[p].name);
        assert_string_equal(pane_titles[p], def[p].title);
        assert_string_equal(def[p].ops, ops);
        assert_string_equal(a->name, name);
        assert_string_equal(a->key, def[p].key);
        assert_string_equal(a->ctx, "global");
        assert_non_null(strstr(a->help, pane_titles[p]));
        assert_int_equal(action_for_key("global", def[p].key), ACT_PANE_LOAD + p);
        for (int q = 0; q < p; q++)
            assert_true(strcmp(pane_names[q], pane_names[p]) != 0 &&
                        strcmp(def[q].key, def[p].key) != 0);
        dg_err err;
        model_job *j;
        assert_int_equal(model_do(&m, ACT_PANE_LOAD + p, 0, NULL, &j, &err), DG_OK);
        assert_int_equal(m.pane, p);
    }
    model_free(&m);
}

/* The ETA follows the recent pace: 20 cheap fits (0.1 s) then expensive
 * ones (5 s, as xgboost after softmax) of 40; the fits count on across the
 * stages, so a new stage's first report is no burst of speed. */
static void the_eta_follows_the_recent_pace(void **state)
{
    (void)state;
    dg_pace p;
    memset(&p, 0, sizeof p);
    double total = 40, t = 100, rate, eta;
    dg_pace_note(&p, t, 0);
    assert_int_equal(dg_pace_eta(&p, t, total, &rate, &eta), 0); /* one count: too little */
    for (int i = 1; i <= 20; i++)
        dg_pace_note(&p, t += 0.1, i);
    assert_int_equal(dg_pace_eta(&p, t, total, &rate, &eta), 1);
    assert_true(fabs(eta - 20 * 0.1) < 0.05);
    for (int i = 21; i <= 24; i++)
        dg_pace_note(&p, t += 5, i);
    /* From the job's start: 24 fits in 22 s, 16 left, about 15 s. The
     * recent pace: 16 x 5 s. */
    assert_int_equal(dg_pace_eta(&p, t, total, &rate, &eta), 1);
    assert_true(fabs(eta - 16 * 5) < 0.5);
    for (int i = 25; i <= 36; i++)
        dg_pace_note(&p, t += 5, i);
    assert_int_equal(dg_pace_eta(&p, t, total, &rate, &eta), 1);
    assert_true(fabs(eta - 4 * 5) < 0.5);
    assert_true(fabs(rate - 0.2) < 0.01);
    /* A fit that runs long: the ones left are taken to cost as much. */
    assert_int_equal(dg_pace_eta(&p, t + 12, total, &rate, &eta), 1);
    assert_true(fabs(eta - 3 * 12) < 0.5);
    /* Half-way through the next fit, the time already spent is counted. */
    assert_int_equal(dg_pace_eta(&p, t + 2.5, total, &rate, &eta), 1);
    assert_true(fabs(eta - (4 * 5 - 2.5)) < 0.5);
    /* A count that goes back starts the window again. */
    dg_pace_note(&p, t += 1, 0);
    assert_int_equal(dg_pace_eta(&p, t, total, &rate, &eta), 0);
    /* Reports every 10 ms: the window still spans the last seconds. */
    memset(&p, 0, sizeof p);
    for (int i = 0; i <= 600; i++)
        dg_pace_note(&p, 200 + i * 0.01, i);
    assert_int_equal(dg_pace_eta(&p, 206, 1000, &rate, &eta), 1);
    assert_true(p.t[p.n - 1] - p.t[0] > 3);
    assert_true(fabs(rate - 100) < 1 && fabs(eta - 4) < 0.1);
}

/* Training's progress counts fits weighed by their cost (DG_UNIT_WORK): 30
 * prior fits of cost 1 (0.01 s each), then 10 xgboost fits of cost 500
 * (5 s each, as the last run's seconds say). Counted alike, the 30 cheap
 * fits would be three quarters done and the ETA a fraction of a second;
 * weighed, the ETA after them is the xgboost fits' 50 s, and it never says
 * 0 s while a fit is left. */
static void the_eta_weighs_fits_by_their_cost(void **state)
{
    (void)state;
    dg_pace counted, weighed;
    memset(&counted, 0, sizeof counted);
    memset(&weighed, 0, sizeof weighed);
    double t = 10, rate, eta, work = 0;
    const double cheap = 1, dear = 500, total_work = 30 * cheap + 10 * dear;
    dg_pace_note(&counted, t, 0);
    dg_pace_note(&weighed, t, 0);
    for (int i = 1; i <= 30; i++) {
        t += 0.01;
        work += cheap;
        dg_pace_note(&counted, t, i);
        dg_pace_note(&weighed, t, work);
    }
    /* What counting alike claims: near done. */
    assert_int_equal(dg_pace_eta(&counted, t, 40, &rate, &eta), 1);
    assert_true(eta < 2);
    /* Weighed: the ten dear fits left, at the pace of the work done. */
    assert_int_equal(dg_pace_eta(&weighed, t, total_work, &rate, &eta), 1);
    assert_true(fabs(eta - 10 * 5) < 1);
    assert_true(work / total_work < 0.01); /* the bar: not three quarters */
    /* The dear fits take what their cost said: the ETA counts down. */
    for (int i = 1; i <= 9; i++) {
        t += 5;
        work += dear;
        dg_pace_note(&weighed, t, work);
        assert_int_equal(dg_pace_eta(&weighed, t, total_work, &rate, &eta), 1);
        assert_true(fabs(eta - (10 - i) * 5) < 0.5);
    }
    /* The last fit runs past its estimate: the ETA stays above 0 s. */
    assert_int_equal(dg_pace_eta(&weighed, t + 4.99, total_work, &rate, &eta), 1);
    assert_true(eta >= 1);
    assert_int_equal(dg_pace_eta(&weighed, t + 30, total_work, &rate, &eta), 1);
    assert_true(eta >= 1);
    /* The plan grows (the screen adds folds): the ETA grows with it. */
    double before;
    dg_pace_eta(&weighed, t, total_work, &rate, &before);
    assert_int_equal(dg_pace_eta(&weighed, t, total_work + 2 * dear, &rate, &eta), 1);
    assert_true(fabs(eta - before - 2 * 5) < 0.5);
    /* Near the end of the last fit, by a pace that says 0.1 s: a second. */
    dg_pace last;
    memset(&last, 0, sizeof last);
    for (int i = 0; i <= 2; i++)
        dg_pace_note(&last, 5 * i, dear * i);
    assert_int_equal(dg_pace_eta(&last, 14.9, 3 * dear, &rate, &eta), 1);
    assert_true(eta == 1);
    /* Past the plan (work it did not count): no ETA rather than 0 s. */
    dg_pace_note(&weighed, t += 5, work += dear);
    assert_int_equal(dg_pace_eta(&weighed, t + 1, total_work, &rate, &eta), 1);
    assert_true(isnan(eta));
}

/* The estimate beside each family before training: the seconds its runs
 * took in the last training on the scenarios and targets it would train
 * now (its own FAMILY@TARGETS within the chosen), none without such runs. */
static void a_family_is_estimated_from_the_last_training(void **state)
{
    (void)state;
    models_state s;
    models_init(&s);
    int i = -1;
    for (int k = 0; k < s.nfamilies; k++)
        if (strcmp(s.fam[k]->name, "xgboost") == 0)
            i = k;
    assert_true(i >= 0);
    assert_true(isnan(models_family_seconds(&s, i))); /* no training yet */
    static const struct {
        int scenario;
        dg_target t;
        double cv, refit;
    } runs[] = {{1, DG_TARGET_AGE, 40, 2}, {2, DG_TARGET_AGE, 8, 1},
                {1, DG_TARGET_GENDER, 100, 10}, {0, DG_TARGET_AGE, 0, 0}};
    s.res.nruns = 4;
    s.res.runs = calloc(4, sizeof *s.res.runs);
    for (int k = 0; k < 4; k++) {
        snprintf(s.res.runs[k].family, sizeof s.res.runs[k].family, "xgboost");
        s.res.runs[k].scenario = runs[k].scenario;
        s.res.runs[k].target = runs[k].t;
        s.res.runs[k].cv_seconds = runs[k].cv;
        s.res.runs[k].train_seconds = runs[k].refit;
    }
    s.have_result = 1;
    snprintf(s.family_targets[i], sizeof s.family_targets[i], "age");
    assert_true(models_family_seconds(&s, i) == 51);
    s.scenarios = 1;
    assert_true(models_family_seconds(&s, i) == 42);
    s.family_targets[i][0] = '\0'; /* every chosen target */
    assert_true(models_family_seconds(&s, i) == 152);
    s.targets = 1u << DG_TARGET_GROUP6;
    assert_true(isnan(models_family_seconds(&s, i)));
    models_free(&s);
}

static void the_man_page_lists_every_action(void **state)
{
    (void)state;
    const char *man = getenv("DG_MAN");
    assert_non_null(man);
    FILE *f = fopen(man, "r");
    assert_non_null(f);
    static char text[1 << 17];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    for (int i = 0; i < ACT_COUNT; i++) {
        char want[128];
        snprintf(want, sizeof want, ".Ic %s\n", actions[i].name);
        char want_args[128];
        snprintf(want_args, sizeof want_args, ".Ic %s ", actions[i].name);
        assert_true(strstr(text, want) || strstr(text, want_args));
    }
}

static void cjk_text_is_measured_by_display_width(void **state)
{
    (void)state;
    char buf[256];
    assert_int_equal(text_width("红米note"), 8);
    assert_int_equal(text_width("HTC"), 3);
    assert_int_equal(text_width(""), 0);
    assert_string_equal(text_fit("红米note", 10, 0, buf, sizeof buf), "红米note  ");
    assert_string_equal(text_fit("红米note", 10, 1, buf, sizeof buf), "  红米note");
    /* Cut to 5 cells: 红 (2) + 米 (2) + … (1). */
    assert_string_equal(text_fit("红米note", 5, 0, buf, sizeof buf), "红米…");
    /* A wide character that would straddle the edge is dropped, padded. */
    assert_string_equal(text_fit("红米note", 4, 0, buf, sizeof buf), "红… ");
    assert_int_equal(text_width(text_fit("红米note", 4, 0, buf, sizeof buf)), 4);
    assert_string_equal(text_fit("a\tb", 3, 0, buf, sizeof buf), "a?b");
    assert_string_equal(text_fit("\xff", 2, 0, buf, sizeof buf), "? ");
    assert_string_equal(text_count(1234567, buf, sizeof buf), "1,234,567");
    assert_string_equal(text_count(12, buf, sizeof buf), "12");
}

static void log_words_survive_quoting(void **state)
{
    (void)state;
    const char *words[] = {"plain", "两个 字", "it's", "", "a\"b", "tab\there", "小米"};
    char line[1024] = "search";
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        strcat(line, " ");
        model_quote(words[i], line, sizeof line);
    }
    char **argv, *buf;
    dg_err err;
    int argc = model_split(line, &argv, &buf, &err);
    assert_int_equal(argc, 1 + (int)(sizeof words / sizeof *words));
    assert_string_equal(argv[0], "search");
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        assert_string_equal(argv[i + 1], words[i]);
    free(argv);
    free(buf);
    assert_int_equal(model_split("search 'open", &argv, &buf, &err), -1);
    assert_non_null(strstr(err.msg, "unterminated"));
}

/* A small generated set shared by the model tests. */
static char *data_dir, *work;

static int setup(void **state)
{
    (void)state;
    work = tu_tmpdir();
    size_t n = strlen(work) + 16;
    data_dir = malloc(n);
    snprintf(data_dir, n, "%s/data", work);
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, "%s synth --out %s --devices 600 --seed 3 --quiet", tu_bin(),
             data_dir);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fprintf(stderr, "%s\n", out);
    free(out);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmrf(work);
    free(work);
    free(data_dir);
    return 0;
}

/* A message names keys from the table: no "{action-name}" is left in it. */
static void assert_keys_expanded(const char *s)
{
    for (const char *p = strchr(s, '{'); p; p = strchr(p + 1, '{')) {
        const char *close = strchr(p, '}');
        if (!close || close - p >= 64)
            continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
        if (action_by_name(name) >= 0)
            fail_msg("'{%s}' left in: %s", name, s);
    }
}

static int act(model *m, const char *line, dg_err *err)
{
    char **argv, *buf;
    int argc = model_split(line, &argv, &buf, err);
    assert_true(argc > 0);
    int id = action_by_name(argv[0]);
    assert_true(id >= 0);
    model_job *j;
    int rc = model_do(m, id, argc - 1, argv + 1, &j, err);
    if (rc != DG_OK)
        assert_keys_expanded(err->msg);
    assert_keys_expanded(m->msg);
    if (rc == DG_OK && j) {
        rc = model_job_run(j, NULL, err);
        dg_err e = *err;
        model_finish(m, j, rc, &e);
        assert_keys_expanded(m->msg);
    }
    free(argv);
    free(buf);
    return rc;
}

static void actions_drive_the_model_and_the_log(void **state)
{
    (void)state;
    char out[1024], logp[1024], line[2048];
    snprintf(out, sizeof out, "%s/out1", work);
    snprintf(logp, sizeof logp, "%s/state/session.log", work);
    model m;
    model_init(&m, out);
    m.use_snapshot = 0;
    dg_err err;
    assert_int_equal(model_open_log(&m, logp, &err), DG_OK);
    /* Data actions before there is data say what is missing. */
    assert_int_equal(act(&m, "load", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "no data directory"));
    assert_int_equal(act(&m, "open-table phones", &err), DG_ERR);
    snprintf(line, sizeof line, "choose-dir %s", data_dir);
    assert_int_equal(act(&m, line, &err), DG_OK);
    assert_true(m.have_found && !m.loaded);
    assert_int_equal(act(&m, "load", &err), DG_OK);
    assert_true(m.loaded);
    assert_int_equal(m.stats[DG_T_PHONES].nrows, m.ds.tables[DG_T_PHONES].nrows);
    assert_int_equal(act(&m, "open-table phones", &err), DG_OK);
    assert_string_equal(model_context(&m), "sheet");
    assert_int_equal(act(&m, "sort nonesuch", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "no column 'nonesuch'"));
    assert_int_equal(act(&m, "sort-desc phone_brand", &err), DG_OK);
    sheet *s = model_sheet(&m);
    assert_int_equal(s->sort_col, 1);
    assert_int_equal(act(&m, "first-row", &err), DG_OK);
    assert_int_equal(act(&m, "search device_model 'Galaxy'", &err), DG_OK);
    assert_int_equal(act(&m, "page-down 5", &err), DG_OK);
    assert_int_equal(act(&m, "save", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "frequency table (F) first"));
    assert_int_equal(act(&m, "freq phone_brand", &err), DG_OK);
    assert_int_equal(model_sheet(&m)->kind, SHEET_FREQ);
    /* A frequency sheet is searched by its values, in its order. */
    assert_int_equal(act(&m, "search value HTC", &err), DG_OK);
    sheet *fs = model_sheet(&m);
    const dg_table *pt = model_sheet_table(&m, fs);
    char cb[64];
    assert_string_equal(dg_cell_text(pt, &pt->cols[1], fs->freq.row[fs->cur], cb, sizeof cb),
                        "HTC");
    assert_int_equal(act(&m, "search brand HTC", &err), DG_ERR);
    assert_int_equal(act(&m, "save", &err), DG_OK);
    char png[1200];
    snprintf(png, sizeof png, "%s/load-freq-phones-phone_brand.png", out);
    assert_string_equal(m.saved, png);
    struct stat st;
    assert_int_equal(stat(png, &st), 0);
    assert_int_equal(act(&m, "sheet-back", &err), DG_OK);
    assert_int_equal(act(&m, "sheet-back", &err), DG_OK);
    assert_string_equal(model_context(&m), "load");
    assert_int_equal(act(&m, "pane-geo", &err), DG_OK);
    assert_int_equal(act(&m, "save", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "no map yet: c samples the events first"));
    model_free(&m);

    /* The log holds the successful actions, in order, with their arguments. */
    size_t len;
    char *log = tu_read(logp, &len);
    assert_non_null(log);
    assert_non_null(strstr(log, "\nload\nopen-table phones\nsort-desc phone_brand\nfirst-row\n"
                                "search device_model Galaxy\npage-down 5\nfreq phone_brand\n"
                                "search value HTC\nsave\nsheet-back\nsheet-back\npane-geo\n"));
    assert_null(strstr(log, "nonesuch"));
    free(log);

    /* Replayed headless (in process and by the command), the same files. */
    char out2[1024], out3[1024], cmd[4096], *o;
    snprintf(out2, sizeof out2, "%s/out2", work);
    snprintf(out3, sizeof out3, "%s/out3", work);
    model r;
    model_init(&r, out2);
    r.use_snapshot = 0;
    assert_int_equal(model_replay(&r, logp, &err), DG_OK);
    model_free(&r);
    snprintf(cmd, sizeof cmd, "%s replay %s --out %s --no-snapshot", tu_bin(), logp, out3);
    assert_int_equal(tu_run(cmd, &o), 0);
    free(o);
    size_t l1, l2, l3;
    char *a = tu_read(png, &l1);
    snprintf(png, sizeof png, "%s/load-freq-phones-phone_brand.png", out2);
    char *b = tu_read(png, &l2);
    snprintf(png, sizeof png, "%s/load-freq-phones-phone_brand.png", out3);
    char *c = tu_read(png, &l3);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(l1, l2);
    assert_int_equal(l1, l3);
    assert_memory_equal(a, b, l1);
    assert_memory_equal(a, c, l1);
    free(a);
    free(b);
    free(c);
}

static int file_starts_with(const char *path, const char *magic, size_t n)
{
    size_t len;
    char *d = tu_read(path, &len);
    int ok = d && len >= n && memcmp(d, magic, n) == 0;
    free(d);
    return ok;
}

static void same_file(const char *a_path, const char *b_path)
{
    size_t la, lb;
    char *a = tu_read(a_path, &la), *b = tu_read(b_path, &lb);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    free(a);
    free(b);
}

/* A model on work/NAME, its log at work/state/NAME.log, the shared data set
 * loaded and, when clean is set, cleaned by the default rules; the pane is
 * the Clean pane. */
static void session_start(model *m, const char *name, int clean, char *out, size_t outcap,
                          char *logp, size_t logcap)
{
    dg_err err;
    char line[2048];
    snprintf(out, outcap, "%s/%s", work, name);
    snprintf(logp, logcap, "%s/state/%s.log", work, name);
    model_init(m, out);
    m->use_snapshot = 0;
    assert_int_equal(model_open_log(m, logp, &err), DG_OK);
    snprintf(line, sizeof line, "choose-dir %s", data_dir);
    assert_int_equal(act(m, line, &err), DG_OK);
    assert_int_equal(act(m, "load", &err), DG_OK);
    assert_int_equal(act(m, "pane-clean", &err), DG_OK);
    if (clean)
        assert_int_equal(act(m, "clean-apply", &err), DG_OK);
}

static void clean_needs_a_load_and_a_cancelled_apply_changes_nothing(void **state)
{
    (void)state;
    char out[1024], line[2048];
    snprintf(out, sizeof out, "%s/cout0", work);
    model m;
    model_init(&m, out);
    m.use_snapshot = 0;
    dg_err err;
    assert_int_equal(act(&m, "pane-clean", &err), DG_OK);
    assert_string_equal(model_context(&m), "clean");
    assert_int_equal(m.cl.rules.n, 10);
    /* Nothing to clean before a load; nothing to undo before an apply. */
    assert_int_equal(act(&m, "clean-apply", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "nothing loaded"));
    assert_int_equal(act(&m, "clean-undo", &err), DG_ERR);
    snprintf(line, sizeof line, "choose-dir %s", data_dir);
    assert_int_equal(act(&m, line, &err), DG_OK);
    assert_int_equal(act(&m, "load", &err), DG_OK);
    /* A cancelled apply changes nothing. */
    model_job *j;
    assert_int_equal(model_do(&m, ACT_CLEAN_APPLY, 0, NULL, &j, &err), DG_OK);
    assert_non_null(j);
    dg_err cancel;
    dg_cancel(&cancel, "cancelled");
    model_finish(&m, j, DG_ERR, &cancel);
    assert_false(m.cl.have_cleaned);
    assert_false(m.can_undo);
    model_free(&m);
}

static void the_preview_counts_what_apply_then_changes(void **state)
{
    (void)state;
    char out[1024], logp[1024];
    model m;
    dg_err err;
    session_start(&m, "cpreview", 0, out, sizeof out, logp, sizeof logp);
    int loaded_cols = m.ds.tables[DG_T_EVENTS].ncols;
    uint64_t loaded_phones = m.ds.tables[DG_T_PHONES].nrows;
    /* Preview: per-rule counts only; no cleaned data, nothing to undo, the
     * loaded tables as they were. */
    assert_int_equal(act(&m, "clean-preview", &err), DG_OK);
    assert_non_null(m.preview);
    assert_false(m.cl.have_cleaned);
    assert_false(m.can_undo);
    assert_int_equal(m.cl.applied.n, 0);
    assert_int_equal(m.ds.tables[DG_T_EVENTS].ncols, loaded_cols);
    assert_int_equal(m.ds.tables[DG_T_PHONES].nrows, loaded_phones);
    uint64_t previewed[10];
    for (int i = 0; i < 10; i++)
        previewed[i] = m.preview[i].rows_changed;
    /* A rule change makes the counts stale: they go. */
    assert_int_equal(act(&m, "rule-toggle 1", &err), DG_OK);
    assert_null(m.preview);
    assert_int_equal(act(&m, "rule-toggle 1", &err), DG_OK);
    assert_int_equal(act(&m, "clean-preview", &err), DG_OK);
    assert_non_null(m.preview);
    /* Apply: every rule's effect is recorded; the loaded tables stay as they were. */
    assert_int_equal(act(&m, "clean-apply", &err), DG_OK);
    assert_true(m.cl.have_cleaned);
    assert_int_equal(m.cl.applied.n, 10);
    uint64_t changed = 0;
    for (int i = 0; i < m.cl.applied.n; i++) {
        assert_non_null(m.cl.effects[i].table);
        assert_true(m.cl.effects[i].detail[0]);
        assert_string_not_equal(m.cl.effects[i].detail, "off");
        changed += m.cl.effects[i].rows_changed;
    }
    assert_true(changed > 0);
    /* The preview said what apply did, and apply supersedes it. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(m.cl.effects[i].rows_changed, previewed[i]);
    assert_null(m.preview);
    assert_int_equal(m.ds.tables[DG_T_EVENTS].ncols, loaded_cols);
    assert_int_equal(m.ds.tables[DG_T_PHONES].nrows, loaded_phones);
    assert_int_equal(m.cl.cleaned.tables[DG_T_EVENTS].ncols, loaded_cols + 1);
    model_free(&m);
}

static void a_rule_turned_off_says_off_and_undo_goes_back(void **state)
{
    (void)state;
    char out[1024], logp[1024];
    model m;
    dg_err err;
    session_start(&m, "cundo", 1, out, sizeof out, logp, sizeof logp);
    uint64_t first_changed = m.cl.effects[0].rows_changed;
    assert_int_equal(act(&m, "rule-toggle 1", &err), DG_OK);
    assert_false(m.cl.rules.v[0].enabled);
    assert_int_equal(act(&m, "clean-apply", &err), DG_OK);
    assert_string_equal(m.cl.effects[0].detail, "off");
    assert_int_equal(m.cl.effects[0].rows_changed, 0);
    assert_int_equal(act(&m, "clean-undo", &err), DG_OK);
    assert_true(m.cl.rules.v[0].enabled);
    assert_true(m.cl.have_cleaned);
    assert_string_not_equal(m.cl.effects[0].detail, "off");
    assert_int_equal(m.cl.effects[0].rows_changed, first_changed);
    assert_int_equal(act(&m, "clean-undo", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "nothing to undo"));
    model_free(&m);
}

static void rules_move_and_a_saved_file_reads_back(void **state)
{
    (void)state;
    char out[1024], logp[1024], path[1200];
    model m;
    dg_err err;
    session_start(&m, "crules", 0, out, sizeof out, logp, sizeof logp);
    dg_rule_kind first = m.cl.rules.v[0].kind;
    assert_int_equal(act(&m, "rule-up 1", &err), DG_ERR);
    assert_int_equal(act(&m, "rule-down 1", &err), DG_OK);
    assert_int_equal(m.cl.rules.v[1].kind, first);
    assert_int_equal(m.clean_cur, 1);
    assert_int_equal(act(&m, "rule-toggle 3", &err), DG_OK);
    assert_int_equal(act(&m, "rules-save clean.rules", &err), DG_OK);
    snprintf(path, sizeof path, "%s/clean.rules", out);
    assert_string_equal(m.saved, path);
    char *saved = dg_rules_format(&m.cl.rules);
    assert_int_equal(act(&m, "rule-up 2", &err), DG_OK);
    assert_int_equal(act(&m, "rule-toggle 3", &err), DG_OK);
    assert_int_equal(m.cl.rules.v[0].kind, first);
    assert_int_equal(act(&m, "rules-load clean.rules", &err), DG_OK);
    char *back = dg_rules_format(&m.cl.rules);
    assert_string_equal(saved, back);
    assert_int_equal(m.cl.rules.v[1].kind, first);
    assert_false(m.cl.rules.v[2].enabled);
    free(saved);
    free(back);
    assert_int_equal(act(&m, "rules-load no-such.rules", &err), DG_ERR);
    model_free(&m);
}

static void eda_tables_are_computed_opened_sorted_and_saved(void **state)
{
    (void)state;
    char out[1024], logp[1024], line[2048], path[1200];
    model m;
    dg_err err;
    session_start(&m, "ceda", 1, out, sizeof out, logp, sizeof logp);
    assert_int_equal(act(&m, "pane-eda", &err), DG_OK);
    assert_string_equal(model_context(&m), "eda");
    assert_int_equal(act(&m, "save", &err), DG_ERR);
    assert_int_equal(act(&m, "eda-compute", &err), DG_OK);
    assert_true(m.have_eda && m.eda_from_cleaned);
    assert_int_equal(m.eda.ntables, 14);
    assert_int_equal(m.eda_gen, m.data_gen);
    assert_int_equal(act(&m, "eda-open 15", &err), DG_ERR);
    assert_int_equal(act(&m, "eda-open 1", &err), DG_OK);
    assert_string_equal(model_context(&m), "sheet");
    sheet *s = model_sheet(&m);
    const dg_table *t = model_sheet_table(&m, s);
    assert_int_equal(t->nrows, (uint64_t)m.eda.tables[0].nrows);
    char cb[64];
    assert_string_equal(dg_cell_text(t, &t->cols[0], 0, cb, sizeof cb),
                        m.eda.tables[0].row_names[0]);
    snprintf(line, sizeof line, "sort-desc '%s'", t->cols[1].name);
    assert_int_equal(act(&m, line, &err), DG_OK);
    assert_int_equal(s->sort_col, 1);
    assert_int_equal(act(&m, "freq age", &err), DG_ERR);
    assert_int_equal(act(&m, "sheet-back", &err), DG_OK);
    assert_string_equal(model_context(&m), "eda");
    assert_int_equal(act(&m, "cursor-down", &err), DG_OK);
    assert_int_equal(act(&m, "save", &err), DG_OK);
    snprintf(path, sizeof path, "%s/eda-%s.png", out, m.eda.slug[1]);
    assert_string_equal(m.saved, path);
    assert_true(file_starts_with(path, "\x89PNG\r\n\x1a\n", 8));
    snprintf(path, sizeof path, "%s/eda-%s.csv", out, m.eda.slug[1]);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    model_free(&m);
}

/* One device's features as a sheet: the first labelled device's, built
 * once for all devices, then looked up without a job. */
static void a_devices_features_show_as_a_sheet(void **state)
{
    (void)state;
    char out[1024], logp[1024], line[2048];
    model m;
    dg_err err;
    session_start(&m, "cfeat", 1, out, sizeof out, logp, sizeof logp);
    assert_int_equal(act(&m, "pane-eda", &err), DG_OK);
    const dg_table *lb = &m.cl.cleaned.tables[DG_T_LABELS];
    int64_t dev = dg_col_i64(dg_table_column(lb, "device_id"))[0];
    assert_int_equal(act(&m, "device-features x", &err), DG_ERR);
    snprintf(line, sizeof line, "device-features %lld", (long long)dev);
    assert_int_equal(act(&m, line, &err), DG_OK);
    assert_true(m.have_feat);
    assert_string_equal(model_context(&m), "sheet");
    sheet *s = model_sheet(&m);
    const dg_table *t = model_sheet_table(&m, s);
    char cb[64];
    assert_int_equal(t->nrows, (uint64_t)m.feat.ncols + 2);
    assert_string_equal(dg_cell_text(t, &t->cols[0], 2, cb, sizeof cb), "events");
    uint32_t d = 0;
    while (m.feat.device_id[d] != dev)
        d++;
    assert_true(dg_col_f32(&t->cols[1])[2] == m.feat.dense[(size_t)d * m.feat.ncols]);
    assert_int_equal(act(&m, "save", &err), DG_ERR);
    assert_int_equal(act(&m, "sheet-back", &err), DG_OK);
    assert_int_equal(act(&m, "device-features 1", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "no device 1 in the cleaned data"));
    assert_string_equal(model_context(&m), "eda");
    model_free(&m);
}

/* The EDA tables say when the cleaned data changed under them. */
static void the_eda_tables_say_when_the_cleaned_data_changed(void **state)
{
    (void)state;
    char out[1024], logp[1024];
    model m;
    dg_err err;
    session_start(&m, "cstale", 1, out, sizeof out, logp, sizeof logp);
    assert_int_equal(act(&m, "pane-eda", &err), DG_OK);
    assert_int_equal(act(&m, "eda-compute", &err), DG_OK);
    assert_int_equal(m.eda_gen, m.data_gen);
    assert_int_equal(act(&m, "pane-clean", &err), DG_OK);
    assert_int_equal(act(&m, "clean-apply", &err), DG_OK);
    assert_int_not_equal(m.eda_gen, m.data_gen);
    assert_true(m.have_eda);
    model_free(&m);
}

/* A session of the Clean and EDA panes is logged in the actions' words, a
 * cancelled job as a comment, and replayed headless (in process and by the
 * command) it writes the same files. */
static void a_clean_and_eda_session_replays_to_the_same_files(void **state)
{
    (void)state;
    char out[1024], logp[1024], path[1200], path2[1200];
    model m;
    dg_err err;
    session_start(&m, "cout1", 0, out, sizeof out, logp, sizeof logp);
    model_job *j;
    assert_int_equal(model_do(&m, ACT_CLEAN_APPLY, 0, NULL, &j, &err), DG_OK);
    dg_err cancel;
    dg_cancel(&cancel, "cancelled");
    model_finish(&m, j, DG_ERR, &cancel);
    static const char *const session[] = {
        "clean-preview", "rule-toggle 1", "rule-toggle 1", "clean-preview", "clean-apply",
        "rule-toggle 1", "clean-apply", "clean-undo", "rule-down 1", "rule-toggle 3",
        "rules-save clean.rules", "rules-load clean.rules", "clean-apply", "pane-eda",
        "eda-compute", "eda-open 1", "sheet-back", "cursor-down", "save"};
    for (size_t i = 0; i < sizeof session / sizeof *session; i++)
        if (act(&m, session[i], &err) != DG_OK)
            fail_msg("%s: %s", session[i], err.msg);
    char slug[48];
    snprintf(slug, sizeof slug, "%s", m.eda.slug[1]);
    model_free(&m);

    size_t len;
    char *log = tu_read(logp, &len);
    assert_non_null(log);
    assert_non_null(strstr(log, "\npane-clean\n"));
    assert_non_null(strstr(log, "\nclean-preview\nrule-toggle 1\nrule-toggle 1\nclean-preview\n"
                                "clean-apply\n"));
    assert_non_null(strstr(log, "\nclean-apply\nrule-toggle 1\nclean-apply\nclean-undo\n"
                                "rule-down 1\nrule-toggle 3\nrules-save clean.rules\n"));
    assert_non_null(strstr(log, "\neda-compute\neda-open 1\n"));
    assert_non_null(strstr(log, "# cancelled: clean-apply\n"));
    free(log);

    char out2[1024], out3[1024], cmd[4096], *o;
    snprintf(out2, sizeof out2, "%s/cout2", work);
    snprintf(out3, sizeof out3, "%s/cout3", work);
    model r;
    model_init(&r, out2);
    r.use_snapshot = 0;
    assert_int_equal(model_replay(&r, logp, &err), DG_OK);
    model_free(&r);
    snprintf(cmd, sizeof cmd, "%s replay %s --out %s --no-snapshot", tu_bin(), logp, out3);
    assert_int_equal(tu_run(cmd, &o), 0);
    free(o);
    const char *files[] = {"clean.rules", "eda-%s.png", "eda-%s.csv"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char name[128];
        snprintf(name, sizeof name, files[f], slug);
        for (int k = 0; k < 2; k++) {
            snprintf(path, sizeof path, "%s/%s", out, name);
            snprintf(path2, sizeof path2, "%s/%s", k ? out3 : out2, name);
            same_file(path, path2);
        }
    }
}

/* The Geo pane: a sample drawn in the background, the map switched, zoomed,
 * panned and saved; the log replays to the same PNG. */
static void geo_pane_drives_the_model_and_replay(void **state)
{
    (void)state;
    char out[1024], logp[1024], line[2048], basemap[1024], path[1200], path2[1200];
    snprintf(out, sizeof out, "%s/gout1", work);
    snprintf(logp, sizeof logp, "%s/state/geo.log", work);
    snprintf(basemap, sizeof basemap, "%s/basemap-east-asia.txt", getenv("DG_ASSETS"));
    model m;
    model_init(&m, out);
    geo_set_basemap_path(&m.geo, basemap);
    m.use_snapshot = 0;
    dg_err err;
    assert_int_equal(model_open_log(&m, logp, &err), DG_OK);
    assert_int_equal(act(&m, "pane-geo", &err), DG_OK);
    assert_string_equal(model_context(&m), "geo");
    assert_int_equal(act(&m, "geo-sample", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "nothing loaded"));
    assert_int_equal(act(&m, "geo-zoom-in", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "no sample yet"));
    snprintf(line, sizeof line, "choose-dir %s", data_dir);
    assert_int_equal(act(&m, line, &err), DG_OK);
    assert_int_equal(act(&m, "load", &err), DG_OK);
    assert_int_equal(act(&m, "pane-clean", &err), DG_OK);
    assert_int_equal(act(&m, "clean-apply", &err), DG_OK);
    assert_int_equal(act(&m, "pane-geo", &err), DG_OK);
    assert_int_equal(act(&m, "geo-sample x", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "expected N as a whole number from 1 to 50000000, found 'x'"));
    assert_int_equal(act(&m, "geo-sample 2000 5", &err), DG_OK);
    assert_true(m.geo.have_sample && m.geo.from_cleaned);
    assert_int_equal(m.geo.all.n, 2000);
    assert_int_equal(m.geo.all.seed, 5);
    assert_true(m.geo.labelled.n > 0 && m.geo.labelled.n <= 2000);
    dg_extent home = m.geo.extent;
    assert_int_equal(act(&m, "geo-map sex", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "expected all, gender or age, found 'sex'"));
    assert_int_equal(act(&m, "geo-map gender", &err), DG_OK);
    assert_int_equal(m.geo.kind, DG_MAP_GENDER);
    /* One panel at a time on screen: geo-panel picks it, a new map starts at the first. */
    assert_int_equal(act(&m, "geo-panel 3", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "1 to 2 for the gender map"));
    assert_int_equal(act(&m, "geo-panel 2", &err), DG_OK);
    assert_int_equal(m.geo.panel, 1);
    assert_int_equal(act(&m, "geo-map age", &err), DG_OK);
    assert_int_equal(m.geo.panel, 0);
    assert_int_equal(act(&m, "geo-map gender", &err), DG_OK);
    /* chart-toggle switches the pane between charts and sheets. */
    assert_int_equal(act(&m, "chart-toggle", &err), DG_OK);
    assert_true(m.chart[PANE_GEO]);
    assert_int_equal(act(&m, "chart-toggle x", &err), DG_ERR);
    assert_int_equal(act(&m, "chart-toggle", &err), DG_OK);
    assert_false(m.chart[PANE_GEO]);
    assert_int_equal(act(&m, "geo-zoom-in", &err), DG_OK);
    double w = home.lon1 - home.lon0;
    assert_true(fabs((m.geo.extent.lon1 - m.geo.extent.lon0) - w / 2) < 1e-9);
    assert_int_equal(act(&m, "geo-pan-east", &err), DG_OK);
    assert_true(fabs(m.geo.extent.lon0 - (home.lon0 + w / 4 + w / 8)) < 1e-9);
    assert_int_equal(act(&m, "geo-pan-north", &err), DG_OK);
    assert_int_equal(act(&m, "save", &err), DG_OK);
    snprintf(path, sizeof path, "%s/geo-gender.png", out);
    assert_string_equal(m.saved, path);
    assert_true(file_starts_with(path, "\x89PNG\r\n\x1a\n", 8));
    assert_int_equal(act(&m, "geo-reset", &err), DG_OK);
    assert_memory_equal(&m.geo.extent, &home, sizeof home);
    assert_int_equal(act(&m, "geo-extent 100,120,20,99", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "LAT1 <= 85"));
    assert_int_equal(act(&m, "geo-extent 110,122,28,42", &err), DG_OK);
    assert_true(m.geo.extent.lon0 == 110 && m.geo.extent.lat1 == 42);
    assert_int_equal(act(&m, "geo-projection robinson", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "expected equirect or mercator, found 'robinson'"));
    assert_int_equal(act(&m, "geo-projection mercator", &err), DG_OK);
    assert_int_equal(m.geo.projection, DG_PROJ_MERCATOR);
    assert_int_equal(act(&m, "geo-map age", &err), DG_OK);
    assert_int_equal(act(&m, "save", &err), DG_OK);
    /* A new load forgets the sample. */
    assert_int_equal(act(&m, "load", &err), DG_OK);
    assert_false(m.geo.have_sample);
    model_free(&m);

    size_t len;
    char *log = tu_read(logp, &len);
    assert_non_null(log);
    assert_non_null(strstr(log, "\ngeo-sample 2000 5\ngeo-map gender\ngeo-panel 2\ngeo-map age\n"
                                "geo-map gender\nchart-toggle\nchart-toggle\ngeo-zoom-in\ngeo-pan-east\n"
                                "geo-pan-north\nsave\ngeo-reset\ngeo-extent 110,122,28,42\n"
                                "geo-projection mercator\ngeo-map age\nsave\n"));
    assert_null(strstr(log, "geo-map sex"));
    free(log);

    /* Replayed by the command: the same two PNGs, byte for byte. */
    char out2[1024], cmd[4096], *o;
    snprintf(out2, sizeof out2, "%s/gout2", work);
    snprintf(cmd, sizeof cmd, "DEMOGRAPHER_ASSETS=%s %s replay %s --out %s --no-snapshot",
             getenv("DG_ASSETS"), tu_bin(), logp, out2);
    assert_int_equal(tu_run(cmd, &o), 0);
    free(o);
    const char *files[] = {"geo-gender.png", "geo-age.png"};
    for (int f = 0; f < 2; f++) {
        snprintf(path, sizeof path, "%s/%s", out, files[f]);
        snprintf(path2, sizeof path2, "%s/%s", out2, files[f]);
        same_file(path, path2);
    }
}

static int cancel_at_once(void *ctx, const char *stage, double done, double total,
                          const char *unit)
{
    (void)stage, (void)done, (void)total, (void)unit;
    ++*(int *)ctx;
    return 1;
}

/* The Geo pane's DBSCAN views on the cleaned shared data set. */
static void dbscan_session(model *m, const char *name, char *out, size_t outcap, char *logp,
                           size_t logcap)
{
    dg_err err;
    session_start(m, name, 1, out, outcap, logp, logcap);
    assert_int_equal(act(m, "pane-geo", &err), DG_OK);
    assert_int_equal(act(m, "geo-view clusters", &err), DG_OK);
    assert_string_equal(model_context(m), "dbscan");
}

/* eps and minPts move on their ladders: 1.2 -> 1 -> 1.2 -> 1.5 km; minPts
 * 10 -> 20 -> 10 -> 5; bad values are refused with what was expected. */
static void dbscan_eps_and_min_pts_move_on_their_ladders(void **state)
{
    (void)state;
    char out[1024], logp[1024];
    model m;
    dg_err err;
    model_init(&m, work);
    assert_int_equal(act(&m, "pane-geo", &err), DG_OK);
    assert_int_equal(act(&m, "geo-view clusters", &err), DG_OK);
    assert_string_equal(model_context(&m), "dbscan");
    assert_int_equal(act(&m, "dbscan-run", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "nothing loaded"));
    assert_int_equal(act(&m, "dbscan-view globe", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "expected map, clusters, kdist or sweep, found 'globe'"));
    model_free(&m);

    dbscan_session(&m, "dladder", out, sizeof out, logp, sizeof logp);
    assert_true(m.dbs.eps_km == 1.2 && m.dbs.min_pts == 10);
    assert_int_equal(act(&m, "dbscan-eps-down", &err), DG_OK);
    assert_true(m.dbs.eps_km == 1.0);
    assert_int_equal(act(&m, "dbscan-eps-up", &err), DG_OK);
    assert_int_equal(act(&m, "dbscan-eps-up", &err), DG_OK);
    assert_true(m.dbs.eps_km == 1.5);
    assert_int_equal(act(&m, "dbscan-min-pts-up", &err), DG_OK);
    assert_true(m.dbs.min_pts == 20);
    assert_int_equal(act(&m, "dbscan-min-pts-down", &err), DG_OK);
    assert_int_equal(act(&m, "dbscan-min-pts-down", &err), DG_OK);
    assert_true(m.dbs.min_pts == 5);
    assert_int_equal(act(&m, "dbscan-set 5 1000", &err), DG_OK);
    assert_int_equal(act(&m, "dbscan-eps-up", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "eps 5 km is already the highest step"));
    assert_int_equal(act(&m, "dbscan-min-pts-up", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "minPts 1000 is already the highest step"));
    assert_int_equal(act(&m, "dbscan-set 0 10", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "expected EPS_KM from 0.001 to 20000, found '0'"));
    assert_int_equal(act(&m, "dbscan-set 1 2.5", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "MIN_PTS as a whole number, found '2.5'"));
    /* Off the ladder, a step goes to the nearest rung that way. */
    assert_int_equal(act(&m, "dbscan-set 1.1 7", &err), DG_OK);
    assert_int_equal(act(&m, "dbscan-eps-up", &err), DG_OK);
    assert_int_equal(act(&m, "dbscan-min-pts-down", &err), DG_OK);
    assert_true(m.dbs.eps_km == 1.2 && m.dbs.min_pts == 5);
    assert_int_equal(act(&m, "dbscan-min-pts-up", &err), DG_OK);
    assert_true(m.dbs.min_pts == 10);
    model_free(&m);
    /* A refused action is not logged. */
    size_t len;
    char *log = tu_read(logp, &len);
    assert_non_null(log);
    assert_null(strstr(log, "dbscan-set 0 10"));
    assert_non_null(strstr(log, "dbscan-set 1.1 7"));
    free(log);
}

/* A run gives the core's numbers on the same events, and the top list has
 * every cluster once, by events, most first. */
static void a_dbscan_run_gives_the_cores_numbers(void **state)
{
    (void)state;
    char out[1024], logp[1024];
    model m;
    dg_err err;
    dbscan_session(&m, "drun", out, sizeof out, logp, sizeof logp);
    assert_int_equal(act(&m, "dbscan-run", &err), DG_OK);
    assert_true(m.dbs.have_run && m.dbs.run_from_cleaned);
    assert_true(m.dbs.run_eps_km == 1.2 && m.dbs.run_min_pts == 10);
    int32_t *ev = malloc(m.cl.cleaned.tables[DG_T_EVENTS].nrows * sizeof *ev);
    dg_dbscan_report want;
    assert_int_equal(dg_cluster_events(&m.cl.cleaned, 1.2, 10, ev, &want, NULL, &err), DG_OK);
    free(ev);
    assert_true(want.clusters > 0);
    assert_int_equal(m.dbs.report.clusters, want.clusters);
    assert_true(m.dbs.report.noise_weight == want.noise_weight);
    assert_true(m.dbs.report.largest_cluster_weight == want.largest_cluster_weight);
    uint64_t sum = 0;
    for (int i = 0; i < m.dbs.report.clusters; i++) {
        sum += m.dbs.summary[m.dbs.top[i]].events;
        if (i)
            assert_true(m.dbs.summary[m.dbs.top[i - 1]].events >=
                        m.dbs.summary[m.dbs.top[i]].events);
    }
    assert_true(fabs((double)sum - (want.total_weight - want.noise_weight)) < 0.5);
    assert_true(m.dbs.summary[m.dbs.top[0]].events ==
                (uint64_t)want.largest_cluster_weight);
    assert_true(m.dbs.have_kdist && m.dbs.kdist.k == 10 && m.dbs.kdist.knee_km > 0);
    assert_non_null(strstr(m.msg, "clusters, noise"));
    /* A new load forgets the results and keeps the pair. */
    assert_int_equal(act(&m, "dbscan-eps-up", &err), DG_OK);
    assert_int_equal(act(&m, "load", &err), DG_OK);
    assert_false(m.dbs.have_run || m.dbs.have_kdist || m.dbs.nrows);
    assert_true(m.dbs.eps_km == 1.5);
    model_free(&m);
}

/* A cancelled run leaves the result shown, and no other data job starts
 * while one is out. */
static void a_cancelled_dbscan_run_leaves_the_result_shown(void **state)
{
    (void)state;
    char out[1024], logp[1024];
    model m;
    dg_err err;
    dbscan_session(&m, "dcancel", out, sizeof out, logp, sizeof logp);
    assert_int_equal(act(&m, "dbscan-run", &err), DG_OK);
    dg_dbscan_report before = m.dbs.report;
    const dg_cluster_summary *before_summary = m.dbs.summary;
    assert_int_equal(act(&m, "dbscan-eps-up", &err), DG_OK);
    model_job *j, *none;
    assert_int_equal(model_do(&m, ACT_DBSCAN_RUN, 0, NULL, &j, &err), DG_OK);
    assert_non_null(j);
    assert_int_equal(model_do(&m, ACT_DBSCAN_SWEEP, 0, NULL, &none, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "job is running"));
    int calls = 0;
    dg_progress stop = {cancel_at_once, &calls};
    int rc = model_job_run(j, &stop, &err);
    assert_int_equal(rc, DG_ERR);
    assert_true(calls > 0);
    dg_err e2 = err;
    model_finish(&m, j, rc, &e2);
    assert_non_null(strstr(m.msg, "cancelled; nothing changed"));
    assert_memory_equal(&m.dbs.report, &before, sizeof before);
    assert_ptr_equal(m.dbs.summary, before_summary);
    assert_true(m.dbs.run_eps_km == 1.2);
    model_free(&m);
}

/* The sweep: 3 x 3 around (1.2, 10), the cursor on the pair; its chart and
 * the k-distance curve save as PNGs; row 7 (1.5 km, minPts 5), adopted and
 * run, gives the row's numbers. */
static void the_sweep_saves_its_chart_and_an_adopted_row_runs_to_its_numbers(void **state)
{
    (void)state;
    char out[1024], logp[1024], path[1200];
    model m;
    dg_err err;
    dbscan_session(&m, "dsweep", out, sizeof out, logp, sizeof logp);
    assert_int_equal(act(&m, "dbscan-run", &err), DG_OK);
    int clusters = m.dbs.report.clusters;
    /* p in the k-distance view saves its PNG; elsewhere but the map it says where. */
    assert_int_equal(act(&m, "save", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "v goes to the kdist or sweep view"));
    assert_int_equal(act(&m, "dbscan-view kdist", &err), DG_OK);
    assert_int_equal(act(&m, "save", &err), DG_OK);
    snprintf(path, sizeof path, "%s/geo-kdist.png", out);
    assert_string_equal(m.saved, path);
    assert_true(file_starts_with(path, "\x89PNG\r\n\x1a\n", 8));
    assert_int_equal(act(&m, "dbscan-adopt 1", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "no sweep yet"));
    assert_int_equal(act(&m, "dbscan-sweep", &err), DG_OK);
    assert_int_equal(m.dbs.view, GEO_VIEW_SWEEP);
    assert_int_equal(m.dbs.nrows, 9);
    assert_int_equal(m.dbs.sweep_cur, 4);
    assert_true(m.dbs.rows[0].eps_km == 1.0 && m.dbs.rows[0].min_pts == 5);
    assert_true(m.dbs.rows[8].eps_km == 1.5 && m.dbs.rows[8].min_pts == 20);
    assert_int_equal(m.dbs.rows[4].clusters, clusters);
    assert_int_equal(act(&m, "save", &err), DG_OK);
    snprintf(path, sizeof path, "%s/geo-sweep.png", out);
    assert_string_equal(m.saved, path);
    assert_true(file_starts_with(path, "\x89PNG\r\n\x1a\n", 8));
    dg_sweep_chart *sc = dg_xmalloc(sizeof *sc);
    dg_sweep_chart_of(m.dbs.rows, m.dbs.nrows, m.dbs.eps_km, sc);
    assert_int_equal(sc->chart.n, 3);
    assert_int_equal(sc->chart.nseries, 3);
    assert_true(sc->eps[0] == 1.0 && sc->eps[2] == 1.5 && sc->min_pts[0] == 5);
    assert_true(sc->values[1 * 3 + 1] == (double)clusters);
    free(sc);
    assert_int_equal(act(&m, "cursor-up", &err), DG_OK);
    assert_int_equal(m.dbs.sweep_cur, 3);
    assert_int_equal(act(&m, "dbscan-adopt 10", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "expected a sweep row from 1 to 9, found '10'"));
    assert_int_equal(act(&m, "dbscan-adopt 7", &err), DG_OK);
    assert_true(m.dbs.eps_km == 1.5 && m.dbs.min_pts == 5);
    assert_int_equal(m.dbs.sweep_cur, 6);
    dg_dbscan_sweep_row row = m.dbs.rows[6];
    assert_int_equal(act(&m, "dbscan-run", &err), DG_OK);
    assert_int_equal(m.dbs.report.clusters, row.clusters);
    assert_int_equal(m.dbs.report.core_points > 0, row.core_locations > 0);
    double tw = m.dbs.report.total_weight;
    assert_true(fabs(m.dbs.report.noise_weight / tw - row.noise_share) < 1e-12);
    assert_true(fabs(m.dbs.report.largest_cluster_weight / tw - row.largest_share) < 1e-12);
    assert_true(m.dbs.kdist.k == 5);
    /* The map is still there. */
    assert_int_equal(act(&m, "dbscan-view map", &err), DG_OK);
    assert_string_equal(model_context(&m), "geo");
    model_free(&m);
}

/* A DBSCAN session is logged (a cancelled run as a comment) and, replayed
 * by the command, saves the same k-distance PNG (k = 5). */
static void a_dbscan_session_replays_to_the_same_kdist_png(void **state)
{
    (void)state;
    char out[1024], logp[1024], path[1200], path2[1200];
    model m;
    dg_err err;
    dbscan_session(&m, "dout1", out, sizeof out, logp, sizeof logp);
    assert_int_equal(act(&m, "dbscan-run", &err), DG_OK);
    assert_int_equal(act(&m, "dbscan-eps-up", &err), DG_OK);
    model_job *j;
    assert_int_equal(model_do(&m, ACT_DBSCAN_RUN, 0, NULL, &j, &err), DG_OK);
    int calls = 0;
    dg_progress stop = {cancel_at_once, &calls};
    int rc = model_job_run(j, &stop, &err);
    dg_err e2 = err;
    model_finish(&m, j, rc, &e2);
    static const char *const session[] = {
        "dbscan-eps-down", "dbscan-view kdist", "save", "dbscan-sweep", "save", "cursor-up",
        "dbscan-adopt 7", "dbscan-run", "dbscan-view kdist", "save"};
    for (size_t i = 0; i < sizeof session / sizeof *session; i++)
        if (act(&m, session[i], &err) != DG_OK)
            fail_msg("%s: %s", session[i], err.msg);
    model_free(&m);
    size_t len;
    char *log = tu_read(logp, &len);
    assert_non_null(log);
    assert_non_null(
        strstr(log, "\ndbscan-run\ndbscan-eps-up\n# cancelled: dbscan-run\ndbscan-eps-down\n"));
    assert_non_null(strstr(log, "\ndbscan-view kdist\nsave\ndbscan-sweep\nsave\ncursor-up\n"
                                "dbscan-adopt 7\ndbscan-run\ndbscan-view kdist\nsave\n"));
    free(log);
    char out2[1024], cmd[4096], *o;
    snprintf(out2, sizeof out2, "%s/dout2", work);
    snprintf(cmd, sizeof cmd, "%s replay %s --out %s --no-snapshot", tu_bin(), logp, out2);
    assert_int_equal(tu_run(cmd, &o), 0);
    free(o);
    snprintf(path, sizeof path, "%s/geo-kdist.png", out);
    snprintf(path2, sizeof path2, "%s/geo-kdist.png", out2);
    same_file(path, path2);
}

/* Cancels at the first progress report that comes after `after` of them. */
static int cancel_after(void *ctx, const char *stage, double done, double total, const char *unit)
{
    (void)stage;
    (void)done;
    (void)total;
    (void)unit;
    int *left = ctx;
    return (*left)-- <= 0;
}

static void same_named_files(const char *dir1, const char *dir2, const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        char *a = dg_path_join(dir1, names[i]), *b = dg_path_join(dir2, names[i]);
        same_file(a, b);
        free(a);
        free(b);
    }
}

/* The families of these tests: prior and softmax (run's defaults off but
 * softmax, which is one of them). */
static const char *const families_off[] = {"brand-model-prior", "persona-softmax",
                                           "phone-softmax", "xgboost", "blend"};

/* A session on the cleaned shared data set, in the Models pane, set to train
 * prior and softmax on gender and age with 2 folds; trained when train is set. */
static void models_session(model *m, const char *name, int train, char *out, size_t outcap,
                           char *logp, size_t logcap)
{
    dg_err err;
    char line[2048], path[1200];
    session_start(m, name, 1, out, outcap, logp, logcap);
    snprintf(path, sizeof path, "%s/supercategories.txt", getenv("DG_ASSETS"));
    models_set_supercats_path(&m->models, path);
    snprintf(path, sizeof path, "%s/campaigns.rules", getenv("DG_ASSETS"));
    campaigns_set_default_rules(&m->camp, path);
    assert_int_equal(act(m, "pane-models", &err), DG_OK);
    for (size_t k = 0; k < sizeof families_off / sizeof *families_off; k++) {
        snprintf(line, sizeof line, "models-family %s", families_off[k]);
        if (act(m, line, &err) != DG_OK)
            fail_msg("%s: %s", line, err.msg);
    }
    assert_int_equal(act(m, "models-targets gender,age", &err), DG_OK);
    assert_int_equal(act(m, "models-folds 2", &err), DG_OK);
    if (train)
        assert_int_equal(act(m, "models-train", &err), DG_OK);
}

static void the_models_settings_refuse_bad_values(void **state)
{
    (void)state;
    model m;
    dg_err err;
    model_init(&m, work);
    assert_int_equal(act(&m, "pane-models", &err), DG_OK);
    assert_string_equal(model_context(&m), "models");
    assert_int_equal(act(&m, "models-train", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "nothing loaded"));
    assert_int_equal(act(&m, "models-family lasso", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "no family 'lasso'"));
    assert_int_equal(act(&m, "models-family prior", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "prior always runs"));
    assert_int_equal(act(&m, "models-targets gender,sex", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "expected gender, age, group6 or group12, found 'sex'"));
    assert_int_equal(act(&m, "models-folds 1", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "expected a whole number from 2 to 50, found '1'"));
    assert_int_equal(act(&m, "models-scenarios 3", &err), DG_ERR);
    assert_int_equal(act(&m, "models-sort cv", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "no runs to sort yet"));
    model_free(&m);
}

/* A training runs the families chosen, chooses one model per target and
 * scenario, and its runs filter by target and scenario. */
static void a_training_runs_the_families_chosen_and_its_runs_filter(void **state)
{
    (void)state;
    char out[1024], logp[1024];
    model m;
    dg_err err;
    models_session(&m, "mtrain", 1, out, sizeof out, logp, sizeof logp);
    models_state *ms = &m.models;
    assert_true(ms->have_result && ms->from_cleaned);
    assert_int_equal(ms->view, MODELS_VIEW_RUNS);
    /* c in the runs view, and quitting, would lose the training. */
    char lose[600];
    assert_non_null(model_would_lose(&m, ACT_MODELS_TRAIN, NULL, lose, sizeof lose));
    assert_non_null(strstr(lose, "runs shown (not exported)"));
    assert_non_null(strstr(model_would_lose(&m, ACT_QUIT, NULL, lose, sizeof lose),
                           "the trained models (not exported"));
    assert_int_equal(act(&m, "models-filter gender 1", &err), DG_OK);
    assert_true(ms->nshown > 0 && ms->nshown < ms->res.nruns);
    for (size_t i = 0; i < ms->nshown; i++) {
        const dg_run *fr = &ms->res.runs[ms->order[i]];
        assert_true(fr->target == DG_TARGET_GENDER && fr->scenario == 1);
    }
    assert_int_equal(act(&m, "last-row", &err), DG_OK);
    assert_int_equal(ms->cur, ms->nshown - 1);
    assert_int_equal(act(&m, "models-filter sex 1", &err), DG_ERR);
    assert_int_equal(act(&m, "models-filter all 1+2", &err), DG_OK);
    for (size_t i = 0; i < ms->nshown; i++)
        assert_int_equal(ms->res.runs[ms->order[i]].scenario, 0);
    assert_int_equal(act(&m, "models-filter all all", &err), DG_OK);
    assert_int_equal(ms->nshown, ms->res.nruns);
    int chosen = 0, softmax = 0;
    for (size_t i = 0; i < ms->res.nruns; i++) {
        if (ms->res.runs[i].scenario == 0) /* the chosen pair over both scenarios */
            continue;
        chosen += ms->res.runs[i].chosen;
        softmax += strcmp(ms->res.runs[i].family, "softmax") == 0;
        assert_true(strcmp(ms->res.runs[i].family, "softmax") == 0 ||
                    strcmp(ms->res.runs[i].family, "prior") == 0);
    }
    /* Gender and age in both scenarios: one chosen each; softmax fits gender only. */
    assert_int_equal(chosen, 4);
    assert_int_equal(softmax, 2);
    model_free(&m);
}

/* A cancelled training leaves the last one: results, table and files. */
static void a_cancelled_training_leaves_the_last_one(void **state)
{
    (void)state;
    char out[1024], logp[1024], path[1200];
    model m;
    dg_err err;
    models_session(&m, "mcancel", 1, out, sizeof out, logp, sizeof logp);
    size_t nruns = m.models.res.nruns;
    snprintf(path, sizeof path, "%s/train/runs.csv", out);
    size_t len1, len2;
    char *runs1 = tu_read(path, &len1);
    assert_non_null(runs1);
    assert_int_equal(act(&m, "models-folds 3", &err), DG_OK);
    model_job *j;
    assert_int_equal(model_do(&m, ACT_MODELS_TRAIN, 0, NULL, &j, &err), DG_OK);
    int left = 3;
    dg_progress p = {cancel_after, &left};
    assert_int_equal(model_job_run(j, &p, &err), DG_ERR);
    assert_true(dg_cancelled(&err));
    dg_err e = err;
    model_finish(&m, j, DG_ERR, &e);
    assert_non_null(strstr(m.msg, "cancelled; nothing changed"));
    assert_int_equal(m.models.res.nruns, nruns);
    char *runs2 = tu_read(path, &len2);
    assert_non_null(runs2);
    assert_int_equal(len1, len2);
    assert_memory_equal(runs1, runs2, len1);
    free(runs1);
    free(runs2);
    snprintf(path, sizeof path, "%s/.train-work", out);
    struct stat st;
    assert_int_not_equal(stat(path, &st), 0);
    model_free(&m);
}

/* The runs sort by any column, empty cells last; the cursor's run's target
 * gives the chart saved. */
static void the_runs_sort_by_any_column_and_save_the_cursors_chart(void **state)
{
    (void)state;
    char out[1024], logp[1024], path[1200];
    model m;
    dg_err err;
    models_session(&m, "msort", 1, out, sizeof out, logp, sizeof logp);
    models_state *ms = &m.models;
    size_t nruns = ms->res.nruns;
    assert_int_equal(act(&m, "models-sort speed", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "no column 'speed'"));
    assert_int_equal(act(&m, "models-sort cv", &err), DG_OK);
    for (size_t i = 1; i < nruns; i++) {
        double a = ms->res.runs[ms->order[i - 1]].cv_score, b = ms->res.runs[ms->order[i]].cv_score;
        assert_true(isnan(b) || a <= b);
    }
    assert_int_equal(act(&m, "models-sort-desc bytes", &err), DG_OK);
    for (size_t i = 1; i < nruns; i++)
        assert_true(ms->res.runs[ms->order[i - 1]].model_bytes >=
                    ms->res.runs[ms->order[i]].model_bytes);
    assert_int_equal(act(&m, "models-sort family", &err), DG_OK);
    assert_string_equal(ms->res.runs[ms->order[0]].family, "chosen(prior|prior)");
    assert_string_equal(ms->res.runs[ms->order[nruns - 1]].family, "softmax");
    assert_int_equal(act(&m, "models-sort target", &err), DG_OK);
    assert_int_equal(act(&m, "first-row", &err), DG_OK);
    assert_int_equal(models_run_at_cursor(ms)->target, DG_TARGET_GENDER);
    assert_int_equal(act(&m, "save", &err), DG_OK);
    snprintf(path, sizeof path, "%s/models-roc_gender.png", out);
    assert_string_equal(m.saved, path);
    assert_true(file_starts_with(path, "\x89PNG\r\n\x1a\n", 8));
    assert_int_equal(act(&m, "last-row", &err), DG_OK);
    assert_int_equal(models_run_at_cursor(ms)->target, DG_TARGET_AGE);
    model_free(&m);
}

/* The export writes a model directory that opens with the chosen models, and
 * says how many folders it wrote; nothing is then lost at quit. */
static void the_export_writes_the_chosen_models_it_counts(void **state)
{
    (void)state;
    char out[1024], logp[1024], path[1200];
    model m;
    dg_err err;
    models_session(&m, "mexport", 1, out, sizeof out, logp, sizeof logp);
    models_state *ms = &m.models;
    assert_false(ms->exported);
    assert_int_equal(act(&m, "models-export", &err), DG_OK);
    assert_true(ms->exported);
    char lose[600];
    assert_null(model_would_lose(&m, ACT_QUIT, NULL, lose, sizeof lose));
    snprintf(path, sizeof path, "%s/models", out);
    assert_non_null(strstr(m.msg, path));
    int folders = 0;
    DIR *dd = opendir(path);
    assert_non_null(dd);
    struct dirent *e;
    while ((e = readdir(dd))) {
        char sub[2048];
        struct stat sst;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        folders += e->d_name[0] != '.' && stat(sub, &sst) == 0 && S_ISDIR(sst.st_mode);
    }
    closedir(dd);
    char said[64];
    snprintf(said, sizeof said, "exported %d models to ", folders);
    assert_non_null(strstr(m.msg, said));
    dg_model_dir d;
    assert_int_equal(dg_model_dir_open(&d, path, &err), DG_OK);
    assert_true(d.m[1][DG_TARGET_GENDER].present && d.m[2][DG_TARGET_AGE].present);
    assert_false(d.m[1][DG_TARGET_GROUP6].present);
    dg_model_dir_close(&d);
    model_free(&m);
}

static const char *const campaign_files[] = {"device_campaigns.csv", "reach.csv",
                                             "thresholds.txt", "campaigns.rules", "reach.png",
                                             NULL};

/* Campaigns from the session's models: every test device targeted, and the
 * CLI on the same predictions (the truth from the labels file) writes the
 * same files. */
static void campaigns_from_the_sessions_models_match_the_cli(void **state)
{
    (void)state;
    char out[1024], logp[1024], path[1200];
    model m;
    dg_err err;
    models_session(&m, "mcamp", 1, out, sizeof out, logp, sizeof logp);
    /* The test devices: the exported model directory's. */
    assert_int_equal(act(&m, "models-export", &err), DG_OK);
    snprintf(path, sizeof path, "%s/models", out);
    dg_model_dir d;
    assert_int_equal(dg_model_dir_open(&d, path, &err), DG_OK);
    size_t ntest = d.ntest;
    dg_model_dir_close(&d);
    assert_int_equal(act(&m, "pane-campaigns", &err), DG_OK);
    assert_string_equal(model_context(&m), "campaigns");
    assert_int_equal(act(&m, "campaigns-write", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "no predictions yet"));
    assert_int_equal(act(&m, "campaigns-predict", &err), DG_OK);
    assert_true(ntest > 0);
    assert_int_equal(m.camp.n, ntest);
    assert_int_equal(m.camp.reach.labelled, ntest);
    assert_int_equal(m.camp.rules.n, 6);
    assert_int_equal(act(&m, "campaigns-write", &err), DG_OK);
    assert_int_equal(act(&m, "save", &err), DG_OK);
    snprintf(path, sizeof path, "%s/campaigns-reach.png", out);
    assert_true(file_starts_with(path, "\x89PNG\r\n\x1a\n", 8));
    char cli[1024], cmd[4096], *o;
    snprintf(cli, sizeof cli, "%s/mcli", work);
    snprintf(cmd, sizeof cmd,
             "%s campaigns --predictions %s/campaigns/predictions.csv --truth "
             "%s/gender_age_train.csv --out %s --quiet",
             tu_bin(), out, data_dir, cli);
    assert_int_equal(tu_run(cmd, &o), 0);
    free(o);
    snprintf(path, sizeof path, "%s/campaigns", out);
    same_named_files(path, cli, campaign_files);
    /* The data changed: the session's models no longer fit it. */
    assert_int_equal(act(&m, "load", &err), DG_OK);
    assert_int_equal(act(&m, "campaigns-predict", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "data changed"));
    model_free(&m);
}

/* Other rules retarget the same predictions (a bad file changes nothing);
 * a predictions file gives the same numbers. */
static void campaign_rules_and_a_predictions_file_retarget(void **state)
{
    (void)state;
    char out[1024], logp[1024], line[2048];
    model m;
    dg_err err;
    models_session(&m, "mrules", 1, out, sizeof out, logp, sizeof logp);
    assert_int_equal(act(&m, "pane-campaigns", &err), DG_OK);
    assert_int_equal(act(&m, "campaigns-predict", &err), DG_OK);
    assert_int_equal(act(&m, "campaigns-write", &err), DG_OK);
    size_t ntest = m.camp.n;
    char *one = tu_write_str(work, "one-mrules.rules", "campaign 7 \"Women only\" gender=female\n");
    free(tu_write_str(out, "bad.rules", "campaign 7 \"Women only\" gender=woman\n"));
    assert_int_equal(act(&m, "campaigns-rules bad.rules", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "bad.rules:1:"));
    assert_int_equal(m.camp.rules.n, 6);
    uint64_t female = m.camp.reach.row[0].devices;
    snprintf(line, sizeof line, "campaigns-rules %s", one);
    free(one);
    assert_int_equal(act(&m, line, &err), DG_OK);
    assert_int_equal(m.camp.rules.n, 1);
    assert_int_equal(m.camp.reach.row[0].devices, female);
    assert_int_equal(act(&m, "campaigns-rules default", &err), DG_OK);
    assert_int_equal(m.camp.rules.n, 6);
    dg_reach before = m.camp.reach;
    assert_int_equal(act(&m, "campaigns-load nowhere.csv", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "nowhere.csv"));
    assert_int_equal(act(&m, "campaigns-load campaigns/predictions.csv", &err), DG_OK);
    assert_int_equal(m.camp.n, ntest);
    assert_memory_equal(&before, &m.camp.reach, sizeof before);
    model_free(&m);
}

/* A Models and Campaigns session is logged in the actions' words (files in
 * the output directory relative to it, refused actions not at all, a
 * cancelled training as a comment) and, replayed by the command, makes the
 * same models, charts and campaign files. */
static void a_models_and_campaigns_session_replays_to_the_same_files(void **state)
{
    (void)state;
    char out[1024], logp[1024], line[2048], path[1200], path2[1200];
    model m;
    dg_err err;
    models_session(&m, "mout1", 0, out, sizeof out, logp, sizeof logp);
    assert_int_equal(act(&m, "models-family lasso", &err), DG_ERR);
    static const char *const session[] = {
        "models-train", "models-filter gender 1", "last-row", "models-filter all 1+2",
        "models-filter all all", "models-folds 3", NULL, "models-folds 2", "models-sort target",
        "first-row", "save", "models-export", "pane-campaigns", "campaigns-predict",
        "campaigns-write", "save", "campaigns-rules default",
        "campaigns-load campaigns/predictions.csv"};
    for (size_t i = 0; i < sizeof session / sizeof *session; i++) {
        if (!session[i]) { /* a training cancelled */
            model_job *j;
            assert_int_equal(model_do(&m, ACT_MODELS_TRAIN, 0, NULL, &j, &err), DG_OK);
            int left = 3;
            dg_progress p = {cancel_after, &left};
            assert_int_equal(model_job_run(j, &p, &err), DG_ERR);
            dg_err e = err;
            model_finish(&m, j, DG_ERR, &e);
            continue;
        }
        if (act(&m, session[i], &err) != DG_OK)
            fail_msg("%s: %s", session[i], err.msg);
    }
    /* Given by its absolute path, a file in the output directory is logged
     * relative to it: a replay with another --out reads its own. */
    snprintf(line, sizeof line, "campaigns-load %s/campaigns/predictions.csv", out);
    assert_int_equal(act(&m, line, &err), DG_OK);
    assert_int_equal(act(&m, "load", &err), DG_OK);
    model_free(&m);

    size_t len;
    char *log = tu_read(logp, &len);
    assert_non_null(log);
    assert_non_null(strstr(log, "\nmodels-targets gender,age\nmodels-folds 2\nmodels-train\n"
                                "models-filter gender 1\nlast-row\nmodels-filter all 1+2\n"
                                "models-filter all all\n"
                                "models-folds 3\n# cancelled: models-train\nmodels-folds 2\n"));
    assert_non_null(strstr(log, "\nmodels-export\npane-campaigns\ncampaigns-predict\n"
                                "campaigns-write\nsave\n"));
    assert_non_null(strstr(log, "\ncampaigns-load campaigns/predictions.csv\n"
                                "campaigns-load campaigns/predictions.csv\nload\n"));
    assert_null(strstr(log, "lasso"));
    free(log);

    char out2[1024], cmd[4096], *o;
    snprintf(out2, sizeof out2, "%s/mout2", work);
    snprintf(cmd, sizeof cmd, "DEMOGRAPHER_ASSETS=%s %s replay %s --out %s --no-snapshot",
             getenv("DG_ASSETS"), tu_bin(), logp, out2);
    int rc = tu_run(cmd, &o);
    if (rc != 0)
        fprintf(stderr, "%s\n", o);
    assert_int_equal(rc, 0);
    free(o);
    const char *top_files[] = {"models-roc_gender.png", "models-calibration_gender.png",
                               "campaigns-reach.png", "models/test_devices.csv",
                               "models/s1-gender/model", "models/s1-gender/meta.txt",
                               "models/s2-age/model", "models/s2-age/meta.txt",
                               "models/s1-gender/design.txt", NULL};
    same_named_files(out, out2, top_files);
    snprintf(path, sizeof path, "%s/campaigns", out);
    snprintf(path2, sizeof path2, "%s/campaigns", out2);
    const char *more[] = {"predictions.csv", NULL};
    same_named_files(path, path2, campaign_files);
    same_named_files(path, path2, more);
}

static void a_running_job_refuses_data_actions_and_cancel_changes_nothing(void **state)
{
    (void)state;
    model m;
    model_init(&m, work);
    m.use_snapshot = 0;
    dg_err err;
    char line[2048];
    snprintf(line, sizeof line, "choose-dir %s", data_dir);
    assert_int_equal(act(&m, line, &err), DG_OK);
    model_job *j;
    assert_int_equal(model_do(&m, ACT_LOAD, 0, NULL, &j, &err), DG_OK);
    assert_non_null(j);
    model_job *none;
    assert_int_equal(model_do(&m, ACT_LOAD, 0, NULL, &none, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "job is running"));
    /* Moving and switching panes still work while it runs. */
    assert_int_equal(model_do(&m, ACT_DOWN, 0, NULL, &none, &err), DG_OK);
    assert_int_equal(m.load_cur, 1);
    dg_err cancel;
    dg_cancel(&cancel, "%s: cancelled", "events.csv");
    assert_true(dg_cancelled(&cancel));
    model_finish(&m, j, DG_ERR, &cancel);
    assert_false(m.loaded);
    assert_false(m.busy);
    assert_non_null(strstr(m.msg, "cancelled; nothing changed"));
    /* A failure is told from a cancel by its status, not its words. */
    assert_int_equal(model_do(&m, ACT_LOAD, 0, NULL, &j, &err), DG_OK);
    dg_err fail;
    dg_fail(&fail, "disk full: not cancelled");
    assert_false(dg_cancelled(&fail));
    model_finish(&m, j, DG_ERR, &fail);
    assert_non_null(strstr(m.msg, "disk full: not cancelled"));
    assert_null(strstr(m.msg, "nothing changed"));
    model_free(&m);
}

/* Whether a file's whole text holds needle. */
static int file_has(const char *path, const char *needle)
{
    char *text = tu_read(path, NULL);
    int has = text && strstr(text, needle);
    free(text);
    return has;
}

/* report-write: the session's report in <out>/report, in the run's three
 * renderings, over what the panes made so far; a cancelled one leaves the
 * report before it whole. */
static void the_session_report_is_written_whole_in_three_renderings(void **state)
{
    (void)state;
    char out[1024], line[2048], path[1200], html_path[1200], json_path[1200], md_path[1200];
    snprintf(out, sizeof out, "%s/rout", work);
    model m;
    model_init(&m, out);
    snprintf(path, sizeof path, "%s/supercategories.txt", getenv("DG_ASSETS"));
    models_set_supercats_path(&m.models, path);
    snprintf(path, sizeof path, "%s/campaigns.rules", getenv("DG_ASSETS"));
    campaigns_set_default_rules(&m.camp, path);
    snprintf(path, sizeof path, "%s/basemap-east-asia.txt", getenv("DG_ASSETS"));
    geo_set_basemap_path(&m.geo, path);
    m.use_snapshot = 0;
    dg_err err;
    assert_int_equal(act(&m, "report-write", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "nothing loaded"));
    assert_false(model_action_live(&m, ACT_REPORT_WRITE));
    snprintf(line, sizeof line, "choose-dir %s", data_dir);
    assert_int_equal(act(&m, line, &err), DG_OK);
    assert_int_equal(act(&m, "load", &err), DG_OK);
    assert_true(model_action_live(&m, ACT_REPORT_WRITE));
    /* Only the tables so far. */
    assert_int_equal(act(&m, "report-write", &err), DG_OK);
    snprintf(html_path, sizeof html_path, "%s/report/report.html", out);
    snprintf(json_path, sizeof json_path, "%s/report/report.json", out);
    snprintf(md_path, sizeof md_path, "%s/report/report.md", out);
    assert_string_equal(m.saved, html_path);
    assert_non_null(strstr(m.msg, "tables; 0 charts inlined"));
    assert_true(file_has(json_path, "\"tables_after_cleaning\""));
    assert_false(file_has(json_path, "\"train\""));
    assert_true(file_has(md_path, "## Tables"));
    assert_false(file_has(html_path, "<section id=\"eda\">"));

    /* Every pane's result. */
    assert_int_equal(act(&m, "clean-apply", &err), DG_OK);
    assert_int_equal(act(&m, "eda-compute", &err), DG_OK);
    assert_int_equal(act(&m, "geo-sample 5000 1", &err), DG_OK);
    assert_int_equal(act(&m, "dbscan-run", &err), DG_OK);
    assert_int_equal(act(&m, "models-family softmax", &err), DG_OK);
    assert_int_equal(act(&m, "models-family liblinear-lr-l2", &err), DG_OK);
    assert_int_equal(act(&m, "models-family liblinear-svr", &err), DG_OK);
    assert_int_equal(act(&m, "models-targets gender,age", &err), DG_OK);
    assert_int_equal(act(&m, "models-folds 2", &err), DG_OK);
    assert_int_equal(act(&m, "models-train", &err), DG_OK);
    assert_int_equal(act(&m, "campaigns-predict", &err), DG_OK);
    /* The next training's settings are not the last one's. */
    assert_int_equal(act(&m, "models-folds 3", &err), DG_OK);
    if (act(&m, "report-write", &err) != DG_OK)
        fail_msg("report-write: %s", err.msg);
    assert_non_null(strstr(m.msg, "tables, cleaning, EDA, maps, DBSCAN, models, campaigns"));
    json_error_t je;
    json_t *rep = json_load_file(json_path, 0, &je);
    if (!rep)
        fail_msg("%s:%d: %s", json_path, je.line, je.text);
    assert_int_equal(json_array_size(json_object_get(rep, "cleaning")), m.cl.applied.n);
    assert_int_equal(json_array_size(json_object_get(rep, "eda")), m.eda.ntables);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rep, "maps"),
                                                        "sampled_events")),
                     m.geo.all.n);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rep, "cluster"),
                                                        "clusters")),
                     m.dbs.report.clusters);
    assert_int_equal(json_array_size(json_object_get(json_object_get(rep, "train"), "runs")),
                     m.models.res.nruns);
    assert_string_equal(json_string_value(json_object_get(rep, "models_dir")), "../train/models");
    assert_int_equal(json_integer_value(json_object_get(rep, "folds")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rep, "campaigns"),
                                                        "devices")),
                     m.camp.n);
    json_decref(rep);
    /* The two documents agree, and every chart is in the page. */
    char *md = tu_read(md_path, NULL), *html = tu_read(html_path, NULL);
    assert_non_null(md);
    assert_non_null(html);
    size_t nm, nh;
    char **mr = rc_md_rows(md, &nm), **hr = rc_html_rows(html, &nh);
    assert_int_equal(nm, nh);
    for (size_t i = 0; i < nm; i++)
        assert_string_equal(mr[i], hr[i]);
    rc_free_rows(mr, nm);
    rc_free_rows(hr, nh);
    int images = 0, inlined = 0;
    for (const char *c = md; (c = strstr(c, "\n![")); c++)
        images++;
    for (const char *c = html; (c = strstr(c, "src=\"data:image/png;base64,iVBORw0KGgo")); c++)
        inlined++;
    /* The EDA charts, three maps, k-distance, train's charts, reach. */
    assert_true(images >= m.eda.ntables + 3 + 1 + 1 + 1);
    assert_int_equal(inlined, images);
    char why[256];
    assert_int_equal(rc_html_external_refs(html, why, sizeof why), 0);
    free(md);

    /* A cancelled report-write leaves the last one as it was. */
    model_job *j;
    assert_int_equal(model_do(&m, ACT_REPORT_WRITE, 0, NULL, &j, &err), DG_OK);
    int calls = 0;
    dg_progress cancel = {cancel_at_once, &calls};
    int rc = model_job_run(j, &cancel, &err);
    assert_int_equal(rc, DG_ERR);
    assert_true(dg_cancelled(&err));
    model_finish(&m, j, rc, &err);
    char *again = tu_read(html_path, NULL);
    assert_non_null(again);
    assert_string_equal(again, html);
    free(again);
    free(html);
    DIR *d = opendir(out);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".partial-"))
            fail_msg("%s/%s left behind", out, e->d_name);
    closedir(d);
    model_free(&m);
}

/* A sources.conf of its own under XDG_CONFIG_HOME=<work>/NAME, so that the
 * user's real one never leaks into a test. */
static void use_config(const char *name, const char *text)
{
    char dir[1024], sub[1100];
    snprintf(dir, sizeof dir, "%s/%s", work, name);
    snprintf(sub, sizeof sub, "%s/demographer", dir);
    mkdir(dir, 0700);
    mkdir(sub, 0700);
    free(tu_write_str(sub, "sources.conf", text));
    setenv("XDG_CONFIG_HOME", dir, 1);
    unsetenv("MYSQL_PWD");
}

static void mysql_source_is_set_by_actions_and_the_password_never_logged(void **state)
{
    (void)state;
    char logp[1024];
    snprintf(logp, sizeof logp, "%s/state/source.log", work);
    use_config("cfg1", "[mysql]\nhost = db.example\nport = 3307\ndatabase = dgx\nuser = ann\n"
                       "tls = required\n");
    model m;
    model_init(&m, work);
    dg_err err;
    assert_int_equal(model_open_log(&m, logp, &err), DG_OK);
    assert_int_equal(act(&m, "source nowhere", &err), DG_ERR);
    assert_non_null(
        strstr(err.msg, "(dir, mysql, mysql-s3, mysql-pushdown or clickhouse-pushdown)"));
    /* The fields come from sources.conf when MySQL is chosen. */
    assert_int_equal(act(&m, "source mysql", &err), DG_OK);
    assert_int_equal(m.src, SRC_MYSQL);
    assert_string_equal(m.db.mysql.host, "db.example");
    assert_int_equal(m.db.mysql.port, 3307);
    char v[300];
    assert_string_equal(model_db_field(&m, "tls", v, sizeof v), "required");
    assert_int_equal(act(&m, "db-set port 0", &err), DG_ERR);
    assert_int_equal(act(&m, "db-set tls bogus", &err), DG_ERR);
    assert_int_equal(act(&m, "db-set colour red", &err), DG_ERR);
    assert_int_equal(act(&m, "db-set database 'my db'", &err), DG_OK);
    assert_int_equal(act(&m, "db-set port 3308", &err), DG_OK);
    assert_int_equal(m.db.mysql.port, 3308);
    /* The masked field's password: in memory, refused as an argument. */
    model_set_password(&m, "hunter2-secret");
    assert_int_equal(act(&m, "db-password", &err), DG_OK);
    assert_int_equal(act(&m, "db-password hunter2-secret", &err), DG_ERR);
    assert_null(strstr(err.msg, "hunter2"));
    assert_non_null(strstr(err.msg, "P types it in a masked field"));
    assert_int_equal(act(&m, "load mysql port=x", &err), DG_ERR);
    assert_non_null(m.password);
    /* A load takes the password and wipes the model's copy, cancelled or not. */
    model_job *j;
    assert_int_equal(model_do(&m, ACT_LOAD, 0, NULL, &j, &err), DG_OK);
    assert_non_null(j);
    assert_null(m.password);
    dg_err cancel;
    dg_cancel(&cancel, "cancelled");
    model_finish(&m, j, DG_ERR, &cancel);
    assert_false(m.loaded);
    assert_int_equal(act(&m, "source mysql-s3", &err), DG_OK);
    model_set_password(&m, "hunter2-again");
    assert_int_equal(act(&m, "source dir", &err), DG_OK);
    assert_int_equal(m.src, SRC_DIR);
    assert_null(m.password);
    model_free(&m);

    size_t len;
    char *log = tu_read(logp, &len);
    assert_non_null(log);
    assert_non_null(strstr(log, "\nsource mysql\ndb-set database 'my db'\ndb-set port 3308\n"
                                "db-password\n# cancelled: load mysql host=db.example port=3308 "
                                "database='my db' user=ann tls=required password-from=prompt\n"
                                "source mysql-s3\nsource dir\n"));
    assert_null(strstr(log, "hunter2"));
    free(log);
}

/* Runs SQL as the test user through the mariadb client (the password in its
 * environment, never in an argument), as tests/test_mysql.c does. */
static void sql(const char *stmt)
{
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "MYSQL_PWD=\"$(cat '%s')\" mariadb --no-defaults -h %s -P %s -u %s -e \"%s\"",
             getenv("DG_MYSQL_PASSWORD_FILE"), getenv("DG_MYSQL_HOST"), getenv("DG_MYSQL_PORT"),
             getenv("DG_MYSQL_USER"), stmt);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("mariadb failed (%d): %s", rc, out);
    free(out);
}

/* The shared data set imported once into the private MariaDB of
 * scripts/test.sh, sources.conf naming it, and the password as the user
 * would type it in pc. 0: no server (DG_MYSQL_HOST unset), the test skips. */
static int mysql_ready(dg_mysql_config *pc)
{
    static int imported;
    if (tu_server_missing("DG_MYSQL_HOST", "scripts/mariadb.sh"))
        return 0;
    const char *host = getenv("DG_MYSQL_HOST");
    if (!imported) {
        /* The generated set, imported the way a user builds a copy of the course's. */
        sql("DROP DATABASE IF EXISTS mlctest_ui; CREATE DATABASE mlctest_ui");
        char cmd[4096], *out = NULL;
        snprintf(cmd, sizeof cmd,
                 "%s mysql-import '%s' --quiet --host %s --port %s --user %s --database "
                 "mlctest_ui --password-file '%s'",
                 tu_bin(), data_dir, host, getenv("DG_MYSQL_PORT"), getenv("DG_MYSQL_USER"),
                 getenv("DG_MYSQL_PASSWORD_FILE"));
        int rc = tu_run(cmd, &out);
        if (rc != 0)
            fail_msg("mysql-import failed (%d): %s", rc, out);
        free(out);
        imported = 1;
    }
    char conf[2048];
    snprintf(conf, sizeof conf,
             "[mysql]\nhost = %s\nport = %s\ndatabase = mlctest_ui\nuser = %s\n"
             "password_file = %s\n",
             host, getenv("DG_MYSQL_PORT"), getenv("DG_MYSQL_USER"),
             getenv("DG_MYSQL_PASSWORD_FILE"));
    use_config("cfg2", conf);
    dg_err err;
    dg_mysql_config_init(pc);
    assert_int_equal(dg_mysql_password_from_file(pc, getenv("DG_MYSQL_PASSWORD_FILE"), &err),
                     DG_OK);
    return 1;
}

/* A model on work, its log at work/state/NAME.log, loaded from MySQL with
 * the password typed (as in the masked field). */
static void mysql_session(model *m, const char *name, const dg_mysql_config *pc, char *logp,
                          size_t logcap)
{
    dg_err err;
    snprintf(logp, logcap, "%s/state/%s.log", work, name);
    model_init(m, work);
    assert_int_equal(model_open_log(m, logp, &err), DG_OK);
    assert_int_equal(act(m, "source mysql", &err), DG_OK);
    model_set_password(m, pc->password);
    assert_int_equal(act(m, "db-password", &err), DG_OK);
    if (act(m, "load", &err) != DG_OK)
        fail_msg("%s", err.msg);
}

/* The tables arrive as from the directory, and the typed password is wiped
 * once the load took it. */
static void the_load_pane_loads_the_mysql_tables_as_the_files(void **state)
{
    (void)state;
    dg_mysql_config pc;
    if (!mysql_ready(&pc))
        return;
    char logp[1024];
    model m;
    dg_err err;
    mysql_session(&m, "mysql-tables", &pc, logp, sizeof logp);
    assert_true(m.loaded && m.from_db);
    assert_null(m.password);
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_load_opts o = {.use_snapshot = 0};
    assert_int_equal(dg_dataset_load(&ds, data_dir, &o, &err), DG_OK);
    for (int t = 0; t < DG_T_COUNT; t++) {
        if (!ds.present[t])
            continue;
        assert_true(m.ds.present[t]);
        assert_int_equal(m.ds.tables[t].nrows, ds.tables[t].nrows);
        assert_int_equal(m.stats[t].nrows, ds.tables[t].nrows);
    }
    assert_int_equal(act(&m, "open-table events", &err), DG_OK);
    assert_int_equal(act(&m, "sheet-back", &err), DG_OK);
    model_free(&m);
    dg_dataset_free(&ds);
    dg_mysql_config_free(&pc);
}

/* Data from MySQL cannot be read again (the password is gone): apply cleans
 * a copy of the loaded tables, leaves them as they are, and does what the
 * same rules do to the same data loaded from the files. */
static void data_from_mysql_is_cleaned_as_the_files_would_be(void **state)
{
    (void)state;
    dg_mysql_config pc;
    if (!mysql_ready(&pc))
        return;
    char logp[1024];
    model m;
    dg_err err;
    mysql_session(&m, "mysql-clean", &pc, logp, sizeof logp);
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_load_opts o = {.use_snapshot = 0};
    assert_int_equal(dg_dataset_load(&ds, data_dir, &o, &err), DG_OK);
    assert_int_equal(act(&m, "pane-clean", &err), DG_OK);
    uint64_t phones = m.ds.tables[DG_T_PHONES].nrows;
    assert_int_equal(act(&m, "clean-apply", &err), DG_OK);
    assert_true(m.cl.have_cleaned);
    assert_int_equal(m.ds.tables[DG_T_PHONES].nrows, phones);
    dg_rules rules;
    dg_rules_init(&rules);
    dg_rules_default(&rules);
    dg_rule_effect fx[16];
    assert_int_equal(dg_clean(&ds, &rules, fx, NULL, &err), DG_OK);
    for (int i = 0; i < rules.n; i++) {
        assert_int_equal(m.cl.effects[i].rows_changed, fx[i].rows_changed);
        assert_int_equal(m.cl.effects[i].rows_after, fx[i].rows_after);
    }
    assert_int_equal(m.cl.cleaned.tables[DG_T_PHONES].nrows, ds.tables[DG_T_PHONES].nrows);
    dg_rules_free(&rules);
    model_free(&m);
    dg_dataset_free(&ds);
    dg_mysql_config_free(&pc);
}

/* The features of the files in dir under the default rules and the
 * super-categories m's features use (when it has them), into lf. */
static void files_features(const model *m, const char *dir, dg_features *lf)
{
    dg_err err;
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_load_opts o = {.use_snapshot = 0};
    assert_int_equal(dg_dataset_load(&ds, dir, &o, &err), DG_OK);
    dg_rules rules;
    dg_rules_init(&rules);
    dg_rules_default(&rules);
    dg_rule_effect fx[16];
    assert_int_equal(dg_clean(&ds, &rules, fx, NULL, &err), DG_OK);
    dg_rules_free(&rules);
    dg_supercats sc;
    memset(&sc, 0, sizeof sc);
    const char *scp = m->models.supercats_path;
    assert_true(!scp || dg_supercats_load(&sc, scp, &err) == DG_OK);
    assert_int_equal(dg_features_for_models(&ds, scp ? &sc : NULL, DG_CLUSTER_EPS_KM_DEFAULT,
                                            DG_CLUSTER_MIN_PTS_DEFAULT, lf, NULL, NULL, &err),
                     DG_OK);
    dg_supercats_free(&sc);
    dg_dataset_free(&ds);
}

/* The features a pushdown load left in m are lf's, to the bit. */
static void pushed_equals(const model *m, const dg_features *lf)
{
    assert_int_equal(m->pushed.ndevices, lf->ndevices);
    assert_int_equal(m->pushed.ncols, lf->ncols);
    assert_memory_equal(m->pushed.dense, lf->dense,
                        (size_t)lf->ndevices * (size_t)lf->ncols * sizeof *lf->dense);
    assert_int_equal(m->pushed.apps_installed.nnz, lf->apps_installed.nnz);
    assert_int_equal(m->pushed.labels.nnz, lf->labels.nnz);
}

/* Aggregated on the server: the small tables and the features the files
 * give under the Clean pane's rules (the defaults), the events left there;
 * the EDA pane's device view reads them, and other rules mean loading again. */
static void a_mysql_pushdown_load_gives_the_files_features(void **state)
{
    (void)state;
    dg_mysql_config pc;
    if (!mysql_ready(&pc))
        return;
    char logp[1024];
    model m;
    dg_err err;
    snprintf(logp, sizeof logp, "%s/state/mysql-pushdown.log", work);
    model_init(&m, work);
    assert_int_equal(model_open_log(&m, logp, &err), DG_OK);
    if (act(&m, "load mysql-pushdown", &err) != DG_OK)
        fail_msg("%s", err.msg);
    assert_true(m.loaded && m.from_db && m.have_pushed);
    assert_false(m.ds.present[DG_T_EVENTS]);
    assert_non_null(strstr(m.msg, "aggregated on MySQL"));
    dg_features lf;
    files_features(&m, data_dir, &lf);
    pushed_equals(&m, &lf);
    const dg_table *lb = &m.ds.tables[DG_T_LABELS];
    int64_t dev = dg_col_i64(dg_table_column(lb, "device_id"))[0];
    uint32_t d = 0;
    while (lf.device_id[d] != dev)
        d++;
    char line[128];
    snprintf(line, sizeof line, "device-features %lld", (long long)dev);
    assert_int_equal(act(&m, "pane-eda", &err), DG_OK);
    if (act(&m, line, &err) != DG_OK)
        fail_msg("%s", err.msg);
    assert_true(m.have_feat);
    assert_true(m.feat.dense[(size_t)d * m.feat.ncols] == lf.dense[(size_t)d * lf.ncols]);
    assert_true(lf.dense[(size_t)d * lf.ncols] >= 0);
    assert_int_equal(act(&m, "sheet-back", &err), DG_OK);
    assert_int_equal(act(&m, "pane-clean", &err), DG_OK);
    assert_int_equal(act(&m, "clean-apply", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "aggregated on the server"));
    dg_features_free(&lf);
    model_free(&m);
    dg_mysql_config_free(&pc);
}

/* The log never holds the password: a typed one is logged as
 * password-from=prompt, the configuration's as password-from=password_file;
 * replayed headless, the loads take the password_file, the last (aggregated)
 * one included. */
static void a_mysql_session_replays_with_the_password_file(void **state)
{
    (void)state;
    dg_mysql_config pc;
    if (!mysql_ready(&pc))
        return;
    char logp[1024];
    model m;
    dg_err err;
    mysql_session(&m, "mysql-replay", &pc, logp, sizeof logp);
    /* No password typed: the configuration's password_file, as load-db takes it. */
    if (act(&m, "load", &err) != DG_OK)
        fail_msg("%s", err.msg);
    if (act(&m, "load mysql-pushdown", &err) != DG_OK)
        fail_msg("%s", err.msg);
    model_free(&m);
    size_t len;
    char *log = tu_read(logp, &len);
    assert_non_null(log);
    assert_null(strstr(log, pc.password));
    char want[1024];
    snprintf(want, sizeof want, "\nload mysql host=%s port=%s database=mlctest_ui user=%s "
             "tls=default password-from=prompt\n", getenv("DG_MYSQL_HOST"),
             getenv("DG_MYSQL_PORT"), getenv("DG_MYSQL_USER"));
    assert_non_null(strstr(log, want));
    assert_non_null(strstr(log, "password-from=password_file\n"));
    assert_non_null(strstr(log, "\nload mysql-pushdown host="));
    free(log);
    model r;
    model_init(&r, work);
    assert_int_equal(model_replay(&r, logp, &err), DG_OK);
    assert_true(r.loaded && r.from_db && r.have_pushed);
    assert_false(r.ds.present[DG_T_EVENTS]);
    model_free(&r);
    dg_mysql_config_free(&pc);
}

/* ---- ClickHouse (scripts/clickhouse.sh) ------------------------------------------ */

/* The ClickHouse source: its fields from sources.conf's [clickhouse], db-set
 * edits them (the names that enter SQL checked), a typed password stays in
 * memory and is forgotten when another engine is chosen; the log says where
 * a load's password came from, never what it is. No server needed. */
static void clickhouse_source_is_set_by_actions_and_the_password_never_logged(void **state)
{
    (void)state;
    char logp[1024];
    snprintf(logp, sizeof logp, "%s/state/ch-source.log", work);
    use_config("cfg-ch1", "[mysql]\nhost = db.example\n[clickhouse]\n"
                          "url = https://ch.example:8443/\nuser = ann\ndatabase = dgx\n");
    unsetenv("CLICKHOUSE_PASSWORD");
    model m;
    model_init(&m, work);
    dg_err err;
    assert_int_equal(model_open_log(&m, logp, &err), DG_OK);
    assert_int_equal(act(&m, "source clickhouse-pushdown", &err), DG_OK);
    assert_int_equal(m.src, SRC_CH_PUSHDOWN);
    char v[300];
    assert_string_equal(model_db_field(&m, "url", v, sizeof v), "https://ch.example:8443/");
    assert_string_equal(model_db_field(&m, "database", v, sizeof v), "dgx");
    assert_string_equal(model_db_field(&m, "cluster", v, sizeof v), "demographer");
    assert_non_null(strstr(m.msg, "ann@https://ch.example:8443/"));
    assert_int_equal(act(&m, "db-set database 'my db'", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "A-Z a-z 0-9 _"));
    assert_int_equal(act(&m, "db-set url http://x:8123/?user=default", &err), DG_ERR);
    assert_int_equal(act(&m, "db-set host db2", &err), DG_ERR);
    assert_int_equal(act(&m, "db-set cluster c2", &err), DG_OK);
    assert_string_equal(m.db.clickhouse.cluster, "c2");
    /* No password anywhere: the load says where one can come from. */
    model_job *j;
    assert_int_equal(model_do(&m, ACT_LOAD, 0, NULL, &j, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "CLICKHOUSE_PASSWORD"));
    model_set_password(&m, "hunter2-secret");
    assert_int_equal(act(&m, "db-password", &err), DG_OK);
    /* Taken by the load, wiped from the model, cancelled or not. */
    assert_int_equal(model_do(&m, ACT_LOAD, 0, NULL, &j, &err), DG_OK);
    assert_null(m.password);
    dg_err cancel;
    dg_cancel(&cancel, "cancelled");
    model_finish(&m, j, DG_ERR, &cancel);
    assert_false(m.loaded);
    /* A password typed for ClickHouse is not MySQL's. */
    model_set_password(&m, "hunter2-again");
    assert_int_equal(act(&m, "source mysql", &err), DG_OK);
    assert_null(m.password);
    model_free(&m);
    size_t len;
    char *log = tu_read(logp, &len);
    assert_non_null(log);
    assert_non_null(strstr(log, "\nsource clickhouse-pushdown\ndb-set cluster c2\ndb-password\n"
                                "# cancelled: load clickhouse-pushdown "
                                "url=https://ch.example:8443/ user=ann database=dgx cluster=c2 "
                                "password-from=prompt\nsource mysql\n"));
    assert_null(strstr(log, "hunter2"));
    free(log);
}

/* The suite's cluster with the shared data set imported once into database
 * dg_ui, and sources.conf's [clickhouse] naming it; 0 (skip) without
 * DG_CH_URL. */
static int clickhouse_ready(dg_ch_config *cfg)
{
    static int imported;
    if (tu_server_missing("DG_CH_URL", "scripts/clickhouse.sh") ||
        tu_server_missing("DG_CH_SHARD_URLS", "scripts/clickhouse.sh"))
        return 0;
    if (!imported) {
        char cmd[8192], *out = NULL;
        snprintf(cmd, sizeof cmd,
                 "%s db-import '%s' --quiet --engine clickhouse --url \"$DG_CH_URL\" --user "
                 "\"$DG_CH_USER\" --password-file \"$DG_CH_PASSWORD_FILE\" --database dg_ui "
                 "$(for u in $DG_CH_SHARD_URLS; do printf -- '--shard-url %%s ' \"$u\"; done)",
                 tu_bin(), data_dir);
        int rc = tu_run(cmd, &out);
        if (rc != 0)
            fail_msg("db-import --engine clickhouse failed (%d): %s", rc, out);
        free(out);
        imported = 1;
    }
    char conf[4096];
    snprintf(conf, sizeof conf,
             "[clickhouse]\nurl = %s\nuser = %s\ndatabase = dg_ui\npassword_file = %s\n",
             getenv("DG_CH_URL"), getenv("DG_CH_USER"), getenv("DG_CH_PASSWORD_FILE"));
    use_config("cfg-ch2", conf);
    unsetenv("CLICKHOUSE_PASSWORD");
    dg_ch_config_init(cfg);
    snprintf(cfg->url, sizeof cfg->url, "%s", getenv("DG_CH_URL"));
    snprintf(cfg->user, sizeof cfg->user, "%s", getenv("DG_CH_USER"));
    snprintf(cfg->database, sizeof cfg->database, "dg_ui");
    dg_err err;
    if (dg_ch_password_from_file(cfg, getenv("DG_CH_PASSWORD_FILE"), &err) != DG_OK)
        fail_msg("%s", err.msg);
    return 1;
}

/* Aggregated on the cluster: the small tables and the features the files
 * give under the Clean pane's rules, the events left there; the log holds
 * where the password came from, and a replay loads the same again. */
static void a_clickhouse_pushdown_load_gives_the_files_features(void **state)
{
    (void)state;
    dg_ch_config cfg;
    if (!clickhouse_ready(&cfg))
        skip();
    char logp[1024];
    snprintf(logp, sizeof logp, "%s/state/ch-pushdown.log", work);
    model m;
    model_init(&m, work);
    dg_err err;
    assert_int_equal(model_open_log(&m, logp, &err), DG_OK);
    assert_int_equal(act(&m, "source clickhouse-pushdown", &err), DG_OK);
    if (act(&m, "load", &err) != DG_OK)
        fail_msg("%s", err.msg);
    assert_true(m.loaded && m.have_pushed);
    assert_int_equal(m.from_db, SRC_CH_PUSHDOWN);
    assert_false(m.ds.present[DG_T_EVENTS]);
    assert_true(m.ds.present[DG_T_PHONES]);
    assert_non_null(strstr(m.msg, "aggregated on ClickHouse"));
    dg_features lf;
    files_features(&m, data_dir, &lf);
    pushed_equals(&m, &lf);
    dg_features_free(&lf);
    uint32_t devices = m.pushed.ndevices;
    model_free(&m);
    size_t len;
    char *log = tu_read(logp, &len);
    assert_non_null(log);
    assert_null(strstr(log, cfg.password));
    char want[2048];
    snprintf(want, sizeof want,
             "\nload clickhouse-pushdown url=%s user=%s database=dg_ui cluster=demographer "
             "password-from=password_file\n",
             getenv("DG_CH_URL"), getenv("DG_CH_USER"));
    if (!strstr(log, want))
        fail_msg("no line '%s' in the log:\n%s", want, log);
    free(log);
    model r;
    model_init(&r, work);
    if (model_replay(&r, logp, &err) != DG_OK)
        fail_msg("%s", err.msg);
    assert_true(r.loaded && r.have_pushed);
    assert_int_equal(r.pushed.ndevices, devices);
    model_free(&r);
    dg_ch_config_free(&cfg);
}

static int cancel_while_the_server_works(void *ctx, const char *stage, double done,
                                         double total, const char *unit)
{
    (void)done, (void)total, (void)unit;
    if (!strstr(stage, "the server is working"))
        return 0;
    (*(int *)ctx)++;
    return 1;
}

static int on_count(void *ctx, char **row, unsigned long *len, unsigned nf, dg_err *err)
{
    (void)len, (void)err;
    if (nf >= 1 && row[0])
        *(uint64_t *)ctx = strtoull(row[0], NULL, 10);
    return 0;
}

/* Esc during a ClickHouse load kills the cluster's query, not only the
 * connection: loaded from a database whose events are a view that sleeps
 * per block, the load is cancelled while the server works; the query named
 * in the message no longer runs, the query log says it was cancelled, and
 * the model is as it was. */
static void cancelling_a_clickhouse_load_kills_its_query(void **state)
{
    (void)state;
    dg_ch_config cfg;
    if (!clickhouse_ready(&cfg))
        skip();
    dg_err err;
    static const char *const stmts[] = {
        "DROP DATABASE IF EXISTS dg_ui_slow", "CREATE DATABASE dg_ui_slow",
        "CREATE VIEW dg_ui_slow.train AS SELECT * FROM dg_ui.train",
        "CREATE VIEW dg_ui_slow.brand_device AS SELECT * FROM dg_ui.brand_device",
        "CREATE VIEW dg_ui_slow.app_events AS SELECT * FROM dg_ui.app_events",
        "CREATE VIEW dg_ui_slow.events AS SELECT * FROM dg_ui.events WHERE sleep(2) = 0"};
    for (size_t i = 0; i < sizeof stmts / sizeof *stmts; i++)
        if (dg_ch_exec(&cfg, NULL, stmts[i], "the slow database", &err) != DG_OK)
            fail_msg("%s", err.msg);
    model m;
    model_init(&m, work);
    assert_int_equal(act(&m, "source clickhouse-pushdown", &err), DG_OK);
    assert_int_equal(act(&m, "db-set database dg_ui_slow", &err), DG_OK);
    model_job *j;
    assert_int_equal(model_do(&m, ACT_LOAD, 0, NULL, &j, &err), DG_OK);
    int asked = 0;
    dg_progress pr = {cancel_while_the_server_works, &asked};
    int rc = model_job_run(j, &pr, &err);
    assert_int_equal(rc, DG_ERR);
    assert_true(dg_cancelled(&err));
    assert_true(asked >= 1);
    const char *id = strstr(err.msg, "(query dg-");
    if (!id)
        fail_msg("no query named in: %s", err.msg);
    char qid[40];
    snprintf(qid, sizeof qid, "%.35s", id + 7);
    /* Not running any more, and ended by the kill (ClickHouse's code 394,
     * "Query was cancelled"), not by finishing its sleeps. */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count() FROM system.processes WHERE query_id = '%s'", qid);
    dg_err qerr;
    uint64_t n = UINT64_MAX;
    dg_ch_call call = {.what = "processes"};
    if (dg_ch_query_rows(&cfg, &call, sql, on_count, &n, &qerr) != DG_OK)
        fail_msg("%s", qerr.msg);
    assert_int_equal(n, 0);
    if (dg_ch_exec(&cfg, NULL, "SYSTEM FLUSH LOGS", "flushing the query log", &qerr) != DG_OK)
        fail_msg("%s", qerr.msg);
    snprintf(sql, sizeof sql,
             "SELECT count() FROM system.query_log WHERE query_id = '%s' AND "
             "startsWith(exception, 'Code: 394,')",
             qid);
    n = UINT64_MAX;
    dg_ch_call log = {.what = "query log"};
    if (dg_ch_query_rows(&cfg, &log, sql, on_count, &n, &qerr) != DG_OK)
        fail_msg("%s", qerr.msg);
    assert_int_equal(n, 1);
    dg_err e = err;
    model_finish(&m, j, DG_ERR, &e);
    assert_false(m.loaded);
    model_free(&m);
    dg_ch_exec(&cfg, NULL, "DROP DATABASE dg_ui_slow", "the slow database", &err);
    dg_ch_config_free(&cfg);
}

static void replay_names_the_failing_line(void **state)
{
    (void)state;
    char *p = tu_write_str(work, "bad.log", "# a comment\n\nload\n");
    model m;
    model_init(&m, work);
    dg_err err;
    assert_int_equal(model_replay(&m, p, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "bad.log:3: load: no data directory"));
    model_free(&m);
    free(p);
    /* A log of two sessions: replay runs the last one's actions; with all,
     * the first session's failing action stops it. */
    p = tu_write_str(work, "two.log",
                     "# demographer 1 session, 2026-01-01 10:00:00\nchoose-dir /no/such/dir\n"
                     "# demographer 1 session, 2026-01-02 10:00:00\npane-clean\n");
    model_init(&m, work);
    assert_int_equal(model_replay(&m, p, &err), DG_OK);
    assert_int_equal(m.pane, PANE_CLEAN);
    model_free(&m);
    model_init(&m, work);
    assert_int_equal(model_replay_sessions(&m, p, 1, NULL, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "two.log:2: choose-dir"));
    model_free(&m);
    free(p);
    p = tu_write_str(work, "bad2.log", "frobnicate now\n");
    model_init(&m, work);
    assert_int_equal(model_replay(&m, p, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "bad2.log:1: no action 'frobnicate'"));
    model_free(&m);
    free(p);
}

/* The key bar holds whole items within the width, always ends with "? help",
 * and offers only the keys that work in the view shown. */
static void assert_key_bar(const model *m, int width, const char *has, const char *lacks)
{
    char bar[1024];
    model_key_bar(m, model_context(m), width, bar, sizeof bar);
    assert_true((int)strlen(bar) <= width);
    size_t n = strlen(bar);
    assert_true(n >= 6 && strcmp(bar + n - 6, "? help") == 0);
    if (has)
        assert_non_null(strstr(bar, has));
    if (lacks)
        assert_null(strstr(bar, lacks));
}

static void the_key_bar_fits_and_offers_only_live_keys(void **state)
{
    (void)state;
    model m;
    model_init(&m, work);
    m.use_snapshot = 0;
    dg_err err;
    char line[2048];
    /* Before a load, nothing to open. */
    assert_key_bar(&m, 80, NULL, "Enter");
    snprintf(line, sizeof line, "choose-dir %s", data_dir);
    assert_int_equal(act(&m, line, &err), DG_OK);
    assert_int_equal(act(&m, "load", &err), DG_OK);
    for (int w = 20; w <= 200; w++)
        assert_key_bar(&m, w, NULL, NULL);
    assert_key_bar(&m, 80, " L load", NULL);
    assert_int_equal(act(&m, "open-table phones", &err), DG_OK);
    assert_key_bar(&m, 80, " F freq", " n search-next");
    assert_int_equal(act(&m, "freq phone_brand", &err), DG_OK);
    /* A frequency sheet has no F; it sorts. */
    assert_key_bar(&m, 80, " s sort", "F freq");
    assert_key_bar(&m, 80, " p save", NULL);
    /* The Models pane's names lose their "models-" prefix. */
    assert_int_equal(act(&m, "pane-models", &err), DG_OK);
    assert_key_bar(&m, 80, " c train", "models-");
    assert_key_bar(&m, 80, NULL, " s sort");
    model_free(&m);
}

static void help_opens_at_a_section_and_is_searched(void **state)
{
    (void)state;
    static char lines[HELP_MAX_LINES][HELP_LINE];
    int n = help_lines(lines, HELP_MAX_LINES);
    assert_true(n > ACT_COUNT);
    assert_string_equal(lines[help_section(lines, n, "sheet")], "Table and frequency sheets");
    assert_string_equal(lines[help_section(lines, n, "models")], "Models pane");
    assert_string_equal(lines[help_section(lines, n, "global")], "Everywhere");
    int at = help_find(lines, n, 0, "DBSCAN-RUN");
    assert_true(at > 0 && strstr(lines[at], "dbscan-run"));
    /* The next match is after it, and the search wraps round. */
    int next = help_find(lines, n, at + 1, "dbscan-run");
    assert_true(next == at || next > at);
    assert_int_equal(help_find(lines, n, n - 1, "Everywhere"), help_section(lines, n, "global"));
    assert_int_equal(help_find(lines, n, 0, "no such words"), -1);
}

static void sorting_shows_the_top_and_frequency_sheets_sort(void **state)
{
    (void)state;
    model m;
    model_init(&m, work);
    m.use_snapshot = 0;
    dg_err err;
    char line[2048], cb[64], cb2[64];
    snprintf(line, sizeof line, "choose-dir %s", data_dir);
    assert_int_equal(act(&m, line, &err), DG_OK);
    assert_int_equal(act(&m, "load", &err), DG_OK);
    assert_int_equal(act(&m, "open-table phones", &err), DG_OK);
    assert_int_equal(act(&m, "last-row", &err), DG_OK);
    assert_int_equal(act(&m, "sort phone_brand", &err), DG_OK);
    assert_int_equal(model_sheet(&m)->cur, 0);
    assert_int_equal(model_sheet(&m)->top, 0);
    assert_int_equal(act(&m, "freq phone_brand", &err), DG_OK);
    sheet *f = model_sheet(&m);
    const dg_table *t = model_sheet_table(&m, f);
    /* The cursor moves across the four columns, and no further. */
    for (int i = 0; i < 6; i++)
        assert_int_equal(act(&m, "cursor-right", &err), DG_OK);
    assert_int_equal(f->ccol, FREQ_HISTOGRAM);
    assert_int_equal(act(&m, "sort value", &err), DG_OK);
    assert_int_equal(f->cur, 0);
    assert_int_equal(f->ccol, FREQ_VALUE);
    for (uint64_t i = 1; i < f->nrows; i++)
        assert_true(strcmp(dg_cell_text(t, &t->cols[f->col], f->freq.row[i - 1], cb, sizeof cb),
                           dg_cell_text(t, &t->cols[f->col], f->freq.row[i], cb2, sizeof cb2)) <
                    0);
    assert_int_equal(act(&m, "sort count", &err), DG_OK);
    for (uint64_t i = 1; i < f->nrows; i++)
        assert_true(f->freq.count[i - 1] <= f->freq.count[i]);
    assert_int_equal(act(&m, "sort-desc percent", &err), DG_OK);
    for (uint64_t i = 1; i < f->nrows; i++)
        assert_true(f->freq.count[i - 1] >= f->freq.count[i]);
    assert_int_equal(act(&m, "sort phone_brand", &err), DG_OK);
    assert_int_equal(f->sort_col, FREQ_VALUE);
    assert_int_equal(act(&m, "sort brand", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "value, count, percent or histogram"));
    model_free(&m);
}

/* Enter's detail view: what 80 columns cut, in full; and the Clean pane's
 * rule parameters, shown and set. */
static void rows_show_in_full_and_rule_parameters_are_set(void **state)
{
    (void)state;
    model m;
    model_init(&m, work);
    m.use_snapshot = 0;
    dg_err err;
    char line[2048], text[16384];
    assert_int_equal(model_row_detail(&m, text, sizeof text, &err), DG_ERR);
    snprintf(line, sizeof line, "choose-dir %s", data_dir);
    assert_int_equal(act(&m, line, &err), DG_OK);
    assert_int_equal(act(&m, "load", &err), DG_OK);
    assert_int_equal(act(&m, "open-table phones", &err), DG_OK);
    assert_int_equal(model_row_detail(&m, text, sizeof text, &err), DG_OK);
    assert_non_null(strstr(text, "phones, row 1 of "));
    assert_non_null(strstr(text, "\ndevice_model: "));
    assert_int_equal(act(&m, "sheet-back", &err), DG_OK);
    /* A rule: its parameters, in the list and in full. */
    assert_int_equal(act(&m, "pane-clean", &err), DG_OK);
    int tw = -1;
    for (int i = 0; i < m.cl.rules.n; i++)
        if (m.cl.rules.v[i].kind == DG_RULE_TIME_WINDOW)
            tw = i;
    assert_true(tw >= 0);
    m.clean_cur = tw;
    assert_int_equal(model_row_detail(&m, text, sizeof text, &err), DG_OK);
    assert_non_null(strstr(text, "time-window (on)"));
    assert_non_null(strstr(text, "parameters: from=2016-"));
    snprintf(line, sizeof line, "rule-set %d to=2016-05-03T12:00:00", tw + 1);
    assert_int_equal(act(&m, line, &err), DG_OK);
    char params[256];
    assert_string_equal(strstr(model_rule_params(&m.cl.rules.v[tw], params, sizeof params), "to="),
                        "to=2016-05-03T12:00:00");
    assert_int_equal(m.cl.rules.v[tw].enabled, 1);
    snprintf(line, sizeof line, "rule-set %d to=yesterday", tw + 1);
    assert_int_equal(act(&m, line, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "expected a time"));
    assert_int_equal(act(&m, "rule-set 1 x=1", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "has no parameters"));
    assert_int_equal(act(&m, "rule-set 1", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "(e on a rule offers its parameters)"));
    /* Campaigns: a cursor, and the whole name. */
    assert_int_equal(act(&m, "pane-campaigns", &err), DG_OK);
    assert_int_equal(act(&m, "cursor-down", &err), DG_OK);
    assert_int_equal(m.camp.cur, 1);
    assert_int_equal(model_row_detail(&m, text, sizeof text, &err), DG_OK);
    assert_non_null(strstr(text, m.camp.rules.v[1].name));
    assert_int_equal(act(&m, "last-row", &err), DG_OK);
    assert_int_equal(m.camp.cur, m.camp.rules.n - 1);
    /* Wrapping: at blanks, indented, nothing lost. */
    char lines[8][256];
    int n = text_wrap("alpha beta gamma delta epsilon", 12, 2, lines, 8);
    assert_true(n >= 3);
    assert_string_equal(lines[0], "alpha beta");
    assert_string_equal(lines[1], "  gamma");
    for (int i = 0; i < n; i++)
        assert_true(text_width(lines[i]) <= 12);
    model_free(&m);
}

/* What a key would throw away, for the question the screen asks first. */
static void a_key_that_would_lose_work_says_what(void **state)
{
    (void)state;
    model m;
    model_init(&m, work);
    m.use_snapshot = 0;
    dg_err err;
    char line[2048], buf[600];
    assert_null(model_would_lose(&m, ACT_QUIT, NULL, buf, sizeof buf));
    assert_string_equal(model_would_lose(&m, ACT_QUIT, "training", buf, sizeof buf),
                        "the running job (training)");
    snprintf(line, sizeof line, "choose-dir %s", data_dir);
    assert_int_equal(act(&m, line, &err), DG_OK);
    assert_null(model_would_lose(&m, ACT_LOAD, NULL, buf, sizeof buf));
    assert_int_equal(act(&m, "load", &err), DG_OK);
    /* A reload of data nothing was made from loses nothing. */
    assert_null(model_would_lose(&m, ACT_LOAD, NULL, buf, sizeof buf));
    assert_int_equal(act(&m, "clean-apply", &err), DG_OK);
    assert_int_equal(act(&m, "eda-compute", &err), DG_OK);
    assert_string_equal(model_would_lose(&m, ACT_LOAD, NULL, buf, sizeof buf),
                        "the cleaned data and the EDA tables");
    assert_null(model_would_lose(&m, ACT_MODELS_TRAIN, NULL, buf, sizeof buf));
    /* The EDA list's labels: one per table, a letter where a chart has several. */
    char label[16], seen[DG_EDA_MAX_TABLES][16];
    for (int i = 0; i < m.eda.ntables; i++) {
        snprintf(seen[i], sizeof seen[i], "%s", model_eda_label(&m.eda, i, label, sizeof label));
        for (int k = 0; k < i; k++)
            assert_string_not_equal(seen[i], seen[k]);
    }
    assert_string_equal(seen[0], "1a");
    assert_string_equal(seen[1], "1b");
    assert_string_equal(seen[2], "2");
    assert_string_equal(seen[m.eda.ntables - 1], "10d");
    model_free(&m);
}

/* The one byte and amount formatter the screen, the CLI and its progress share. */
static void bytes_and_amounts_read_the_same_everywhere(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(dg_format_bytes(512, b, sizeof b), "512 B");
    assert_string_equal(dg_format_bytes(1536, b, sizeof b), "1.5 KiB");
    assert_string_equal(dg_format_bytes(3.2 * 1024 * 1024 * 1024, b, sizeof b), "3.2 GiB");
    assert_string_equal(dg_format_amount(2048, "bytes", b, sizeof b), "2.0 KiB");
    assert_string_equal(dg_format_amount(2.5e6, "rows", b, sizeof b), "2.50 M rows");
    assert_string_equal(dg_format_amount(532, "rows", b, sizeof b), "532 rows");
}

int main(void)
{
    if (!setlocale(LC_CTYPE, "C.UTF-8"))
        setlocale(LC_CTYPE, "en_US.UTF-8");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_action_is_named_keyed_and_documented),
        cmocka_unit_test(every_key_is_bound_once_per_context),
        cmocka_unit_test(each_context_handles_its_own_actions),
        cmocka_unit_test(the_panes_are_one_list),
        cmocka_unit_test(the_eta_follows_the_recent_pace),
        cmocka_unit_test(the_eta_weighs_fits_by_their_cost),
        cmocka_unit_test(a_family_is_estimated_from_the_last_training),
        cmocka_unit_test(the_man_page_lists_every_action),
        cmocka_unit_test(cjk_text_is_measured_by_display_width),
        cmocka_unit_test(bytes_and_amounts_read_the_same_everywhere),
        cmocka_unit_test(log_words_survive_quoting),
        cmocka_unit_test(actions_drive_the_model_and_the_log),
        cmocka_unit_test(the_key_bar_fits_and_offers_only_live_keys),
        cmocka_unit_test(help_opens_at_a_section_and_is_searched),
        cmocka_unit_test(sorting_shows_the_top_and_frequency_sheets_sort),
        cmocka_unit_test(rows_show_in_full_and_rule_parameters_are_set),
        cmocka_unit_test(a_key_that_would_lose_work_says_what),
        cmocka_unit_test(clean_needs_a_load_and_a_cancelled_apply_changes_nothing),
        cmocka_unit_test(the_preview_counts_what_apply_then_changes),
        cmocka_unit_test(a_rule_turned_off_says_off_and_undo_goes_back),
        cmocka_unit_test(rules_move_and_a_saved_file_reads_back),
        cmocka_unit_test(eda_tables_are_computed_opened_sorted_and_saved),
        cmocka_unit_test(a_devices_features_show_as_a_sheet),
        cmocka_unit_test(the_eda_tables_say_when_the_cleaned_data_changed),
        cmocka_unit_test(a_clean_and_eda_session_replays_to_the_same_files),
        cmocka_unit_test(geo_pane_drives_the_model_and_replay),
        cmocka_unit_test(the_models_settings_refuse_bad_values),
        cmocka_unit_test(a_training_runs_the_families_chosen_and_its_runs_filter),
        cmocka_unit_test(a_cancelled_training_leaves_the_last_one),
        cmocka_unit_test(the_runs_sort_by_any_column_and_save_the_cursors_chart),
        cmocka_unit_test(the_export_writes_the_chosen_models_it_counts),
        cmocka_unit_test(campaigns_from_the_sessions_models_match_the_cli),
        cmocka_unit_test(campaign_rules_and_a_predictions_file_retarget),
        cmocka_unit_test(a_models_and_campaigns_session_replays_to_the_same_files),
        cmocka_unit_test(dbscan_eps_and_min_pts_move_on_their_ladders),
        cmocka_unit_test(a_dbscan_run_gives_the_cores_numbers),
        cmocka_unit_test(a_cancelled_dbscan_run_leaves_the_result_shown),
        cmocka_unit_test(the_sweep_saves_its_chart_and_an_adopted_row_runs_to_its_numbers),
        cmocka_unit_test(a_dbscan_session_replays_to_the_same_kdist_png),
        cmocka_unit_test(a_running_job_refuses_data_actions_and_cancel_changes_nothing),
        cmocka_unit_test(the_session_report_is_written_whole_in_three_renderings),
        cmocka_unit_test(replay_names_the_failing_line),
        cmocka_unit_test(mysql_source_is_set_by_actions_and_the_password_never_logged),
        cmocka_unit_test(the_load_pane_loads_the_mysql_tables_as_the_files),
        cmocka_unit_test(data_from_mysql_is_cleaned_as_the_files_would_be),
        cmocka_unit_test(a_mysql_pushdown_load_gives_the_files_features),
        cmocka_unit_test(a_mysql_session_replays_with_the_password_file),
        cmocka_unit_test(clickhouse_source_is_set_by_actions_and_the_password_never_logged),
        cmocka_unit_test(a_clickhouse_pushdown_load_gives_the_files_features),
        cmocka_unit_test(cancelling_a_clickhouse_load_kills_its_query),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    dg_plot_release();
    return failed;
}
