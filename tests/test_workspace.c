/* The workbench keeps the analyst's work: the workspace written after each
 * change brings the session back in a new model on the same output folder,
 * models-open reads an earlier training folder, and replay runs a session
 * with the ones it continues. */
#include "testutil.h"

#include "actions.h"
#include "hints.h"
#include "model.h"
#include "workspace.h"

#include "demographer/pipeline.h"
#include "demographer/plot.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* One action line run to its end, its job on this thread (as replay does). */
static int act(model *m, const char *line, dg_err *err)
{
    char **argv, *buf;
    int argc = model_split(line, &argv, &buf, err);
    assert_true(argc > 0);
    int id = action_by_name(argv[0]);
    assert_true(id >= 0);
    model_job *j;
    int rc = model_do(m, id, argc - 1, argv + 1, &j, err);
    if (rc == DG_OK && j) {
        rc = model_job_run(j, NULL, err);
        dg_err e = *err;
        model_finish(m, j, rc, &e);
    }
    free(argv);
    free(buf);
    return rc;
}

static void act_ok(model *m, const char *line)
{
    dg_err err;
    if (act(m, line, &err) != DG_OK)
        fail_msg("%s: %s", line, err.msg);
}

/* A new model on the same output folder runs the workspace's actions, as the
 * screen does when it opens. */
static void restore(model *r, const char *out)
{
    char **lines;
    int n;
    dg_err err;
    model_init(r, out);
    if (workspace_load(out, &lines, &n, &err) != DG_OK)
        fail_msg("%s", err.msg);
    assert_true(n > 0);
    for (int i = 0; i < n; i++)
        act_ok(r, lines[i]);
    workspace_lines_free(lines, n);
}

static char *rules_text(const dg_rules *r)
{
    return dg_rules_format(r);
}

static void a_new_session_on_the_same_folder_finds_the_work(void **state)
{
    (void)state;
    char out[1024], line[2048];
    snprintf(out, sizeof out, "%s/ws", work);
    model m;
    model_init(&m, out);
    m.keep_workspace = 1;
    snprintf(line, sizeof line, "choose-dir %s", data_dir);
    act_ok(&m, line);
    act_ok(&m, "load");
    /* EDA from the loaded data, then the rules changed, applied, changed again. */
    act_ok(&m, "eda-compute");
    act_ok(&m, "rule-toggle 2");
    act_ok(&m, "clean-apply");
    act_ok(&m, "geo-sample 3000 7");
    act_ok(&m, "rule-toggle 3");
    act_ok(&m, "dbscan-set 0.8 5");
    act_ok(&m, "models-family softmax");
    act_ok(&m, "models-targets gender");
    act_ok(&m, "models-scenarios 2");
    act_ok(&m, "models-folds 2");
    act_ok(&m, "models-seed 9");
    act_ok(&m, "models-train");
    act_ok(&m, "pane-geo");
    struct stat st;
    char p[1100];
    snprintf(p, sizeof p, "%s/workspace/actions", out);
    assert_int_equal(stat(p, &st), 0);

    model r;
    restore(&r, out);
    assert_string_equal(r.dir, m.dir);
    assert_true(r.loaded);
    assert_int_equal(r.pane, PANE_GEO);
    /* The rules edited since the apply, and the ones applied. */
    char *a = rules_text(&m.cl.rules), *b = rules_text(&r.cl.rules);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_true(r.cl.have_cleaned);
    a = rules_text(&m.cl.applied);
    b = rules_text(&r.cl.applied);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(r.cl.cleaned.tables[DG_T_EVENTS].nrows, m.cl.cleaned.tables[DG_T_EVENTS].nrows);
    /* The EDA tables of the loaded data, as they were. */
    assert_true(r.have_eda);
    assert_false(r.eda_from_cleaned);
    assert_int_equal(r.eda.ntables, m.eda.ntables);
    for (int t = 0; t < m.eda.ntables; t++)
        assert_int_equal(r.eda_tabs[t].nrows, m.eda_tabs[t].nrows);
    /* The geo sample drawn again: the same events. */
    assert_true(r.geo.have_sample && r.geo.from_cleaned);
    assert_int_equal(r.geo.sample_n, 3000);
    assert_int_equal(r.geo.all.n, m.geo.all.n);
    assert_memory_equal(&r.geo.home, &m.geo.home, sizeof r.geo.home);
    /* DBSCAN's pair and the Models pane's settings. */
    assert_true(r.dbs.eps_km == 0.8 && r.dbs.min_pts == 5);
    assert_int_equal(r.models.folds, 2);
    assert_true(r.models.seed == 9);
    assert_int_equal(r.models.targets, m.models.targets);
    assert_int_equal(r.models.scenarios, m.models.scenarios);
    assert_memory_equal(r.models.family_on, m.models.family_on, sizeof r.models.family_on);
    /* The runs, read back from <out>/train as train wrote them. */
    assert_true(r.models.have_result && r.models.opened);
    assert_int_equal(r.models.res.nruns, m.models.res.nruns);
    for (size_t i = 0; i < m.models.res.nruns; i++) {
        const dg_run *x = &m.models.res.runs[i], *y = &r.models.res.runs[i];
        assert_string_equal(x->family, y->family);
        assert_string_equal(x->params, y->params);
        assert_int_equal(x->scenario, y->scenario);
        assert_int_equal(x->target, y->target);
        assert_int_equal(x->chosen, y->chosen);
        assert_true(x->cv_score == y->cv_score);
        for (int k = 0; k < DG_METRIC_COUNT; k++) {
            double u = dg_eval_get(&x->test, (dg_metric)k), v = dg_eval_get(&y->test, (dg_metric)k);
            assert_true((isnan(u) && isnan(v)) || u == v);
        }
    }
    /* Quitting loses nothing now: the models come back from <out>/train. */
    char buf[600];
    assert_null(model_would_lose(&m, ACT_QUIT, NULL, buf, sizeof buf));
    model_free(&r);
    model_free(&m);
}

static void an_earlier_training_folder_opens_and_exports(void **state)
{
    (void)state;
    char out[1024], line[2048], *o;
    snprintf(out, sizeof out, "%s/old", work);
    /* A folder written by demographer train. */
    snprintf(line, sizeof line, "%s train %s --out %s/old/run1 --targets gender --folds 2 --quiet",
             tu_bin(), data_dir, work);
    int rc = tu_run(line, &o);
    if (rc != 0)
        fail_msg("%s", o);
    free(o);
    model m;
    model_init(&m, out);
    dg_err err;
    assert_int_equal(act(&m, "models-open nowhere", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "holds no runs.json"));
    assert_false(m.models.have_result);
    /* A damaged runs.json is named with what it lacks, not taken for a missing one. */
    char bad[1100];
    snprintf(bad, sizeof bad, "%s/bad/train", out);
    assert_int_equal(dg_mkdirs(bad, &err), DG_OK);
    char *b = tu_write_str(bad, "runs.json", "{\"runs\":[{\"family\":\"x\",\"target\":\"sex\"}]}");
    free(b);
    assert_int_equal(act(&m, "models-open bad", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "runs[0]: expected a \"family\" and a \"target\""));
    assert_false(m.models.have_result);
    act_ok(&m, "models-open run1");
    assert_true(m.models.have_result && m.models.opened);
    assert_true(m.models.res.nruns > 0);
    assert_int_equal(m.models.view, MODELS_VIEW_RUNS);
    act_ok(&m, "models-sort-desc cv");
    act_ok(&m, "models-export");
    char p[1100];
    struct stat st;
    snprintf(p, sizeof p, "%s/models/s1-gender/meta.txt", out);
    assert_int_equal(stat(p, &st), 0);
    /* Campaigns need this session's features: said, not attempted. */
    act_ok(&m, "pane-campaigns");
    assert_int_equal(act(&m, "campaigns-predict", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "opened from"));
    model_free(&m);
}

static void replay_runs_a_session_with_the_ones_it_continues(void **state)
{
    (void)state;
    char *p = tu_write_str(work, "cont.log",
                           "# demographer 1 session, 2026-01-01 10:00:00\npane-clean\n"
                           "# demographer 1 session, 2026-01-02 10:00:00\n"
                           "# continues the session above: the workspace of out\n"
                           "# restored: pane-clean\n"
                           "pane-eda\n"
                           "# demographer 1 session, 2026-01-03 10:00:00\n"
                           "# continues the session above: the workspace of out\n"
                           "quit\n");
    model m;
    model_init(&m, work);
    model_replay_info info;
    dg_err err;
    assert_int_equal(model_replay_sessions(&m, p, 0, &info, &err), DG_OK);
    assert_int_equal(m.pane, PANE_EDA);
    assert_int_equal(info.sessions, 3);
    assert_int_equal(info.actions, 3);
    assert_int_equal(info.first_line, 1);
    assert_string_equal(info.when, "2026-01-01 10:00:00");
    model_free(&m);
    free(p);
    /* A fresh session after them replays alone. */
    p = tu_write_str(work, "fresh.log",
                     "# demographer 1 session, 2026-01-01 10:00:00\npane-clean\n"
                     "# demographer 1 session, 2026-01-02 10:00:00\npane-geo\n");
    model_init(&m, work);
    assert_int_equal(model_replay_sessions(&m, p, 0, &info, &err), DG_OK);
    assert_int_equal(info.sessions, 1);
    assert_int_equal(info.actions, 1);
    assert_int_equal(info.first_line, 3);
    model_free(&m);
    free(p);
}

/* One list of default families for run, train and the workbench. */
static void the_workbench_trains_runs_default_families(void **state)
{
    (void)state;
    models_state s;
    models_init(&s);
    int on = 0;
    for (int i = 0; i < s.nfamilies; i++)
        on += s.family_on[i];
    int n = 0;
    for (const dg_default_family *d = dg_default_families; d->family; d++, n++) {
        int found = 0;
        char spec[96];
        for (int i = 0; i < s.nfamilies; i++)
            found |= s.family_on[i] &&
                     strcmp(models_family_spec(&s, i, spec, sizeof spec), d->family) == 0;
        if (!found)
            fail_msg("run's default %s is not on in the workbench", d->family);
    }
    assert_int_equal(on, n);
    /* FAMILY@TARGET as run's --families takes it; a bad target is named. */
    model m;
    model_init(&m, work);
    dg_err err;
    act_ok(&m, "models-family liblinear-svr@age");
    int i = 0;
    while (strcmp(m.models.fam[i]->name, "liblinear-svr") != 0)
        i++;
    assert_true(m.models.family_on[i]);
    assert_string_equal(m.models.family_targets[i], "age");
    assert_int_equal(act(&m, "models-family xgboost@sex", &err), DG_ERR);
    assert_non_null(strstr(err.msg, "found 'sex'"));
    act_ok(&m, "models-family xgboost@all");
    while (strcmp(m.models.fam[i]->name, "xgboost") != 0)
        i = (i + 1) % m.models.nfamilies;
    assert_string_equal(m.models.family_targets[i], "");
    model_free(&m);
}

int main(void)
{
    if (!setlocale(LC_CTYPE, "C.UTF-8"))
        setlocale(LC_CTYPE, "en_US.UTF-8");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_new_session_on_the_same_folder_finds_the_work),
        cmocka_unit_test(an_earlier_training_folder_opens_and_exports),
        cmocka_unit_test(replay_runs_a_session_with_the_ones_it_continues),
        cmocka_unit_test(the_workbench_trains_runs_default_families),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    dg_plot_release(); /* fontconfig's caches, for the leak checker */
    return failed;
}
