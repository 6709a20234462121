#include "testutil.h"

#include "demographer/dataset.h"
#include "demographer/export_sql.h"
#include "demographer/pace.h"
#include "demographer/train.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One generated set (synth --devices 4000, with its truth file) shared by
 * the tests. */
static char *dir;
static char data[600], truth[600];
static dg_dataset ds;
static dg_features feats;
static dg_supercats sc;

static int setup(void **state)
{
    (void)state;
    dir = tu_tmpdir();
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(truth, sizeof truth, "%s/truth.csv", dir);
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "%s synth --out %s --devices 4000 --seed 5 --truth %s --quiet",
             tu_bin(), data, truth);
    if (tu_run(cmd, NULL) != 0)
        return -1;
    dg_err err;
    char path[600];
    snprintf(path, sizeof path, "%s/supercategories.txt", getenv("DG_ASSETS"));
    memset(&sc, 0, sizeof sc);
    if (dg_supercats_load(&sc, path, &err) != DG_OK)
        return -1;
    dg_dataset_init(&ds);
    dg_load_opts o = {.use_snapshot = 0};
    if (dg_dataset_load(&ds, data, &o, &err) != DG_OK)
        return -1;
    return dg_features_build(&ds, &sc, &feats, NULL, &err) == DG_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    dg_features_free(&feats);
    dg_dataset_free(&ds);
    dg_supercats_free(&sc);
    tu_rmrf(dir);
    free(dir);
    return 0;
}

static void train_into(const char *out, dg_train_result *res, int threads)
{
    dg_train_opts o;
    memset(&o, 0, sizeof o);
    o.out_dir = out;
    o.threads = threads;
    o.folds = 3;
    o.seed = 7;
    /* The baselines and softmax on one parameter: the whole registry's
     * grids take minutes on a shared 2-core machine;
     * every_family_beats_the_prior fits each family. */
    o.families[0] = "brand-model-prior";
    o.families[1] = "softmax";
    o.grids[0] = "softmax:l2=1e-2";
    dg_err err;
    if (dg_train(&ds, &feats, &o, res, &err) != DG_OK)
        fail_msg("train: %s", err.msg);
}

static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* The same seed gives the same runs, on one thread or three; the export
 * reloads to the same test metrics, bit for bit. */
static void cv_determinism_and_export(void **state)
{
    (void)state;
    char o1[700], o2[700];
    snprintf(o1, sizeof o1, "%s/o1", dir);
    snprintf(o2, sizeof o2, "%s/o2", dir);
    dg_train_result a, b;
    train_into(o1, &a, 1);
    train_into(o2, &b, 3);
    assert_int_equal(a.nruns, b.nruns);
    int nfam = 0;
    for (const dg_model_family *const *f = dg_model_families; *f; f++)
        nfam++;
    assert_true(a.nruns >= (size_t)(2 * 4 * 2)); /* prior + brand-model-prior at least */
    for (size_t i = 0; i < a.nruns; i++) {
        assert_string_equal(a.runs[i].family, b.runs[i].family);
        assert_string_equal(a.runs[i].params, b.runs[i].params);
        assert_true(same(a.runs[i].cv_score, b.runs[i].cv_score));
        assert_true(same(a.runs[i].test.log_loss, b.runs[i].test.log_loss));
        assert_true(same(a.runs[i].test.rmse, b.runs[i].test.rmse));
        /* The grid's curve: a score per combination, the run's the lowest
         * of those over every fold (the others are fold 1's screen). */
        const dg_run *r = &a.runs[i];
        if (!r->scenario)
            continue;
        assert_int_equal(r->ngrid, r->ncombos);
        double low = INFINITY;
        for (int c = 0; c < r->ngrid; c++)
            if (r->grid_folds[c] == 3)
                low = fmin(low, r->grid_cv[c]);
        assert_true(same(low, r->cv_score));
    }
    /* Every target of every scenario has a chosen model, and the chosen is
     * the lowest CV score of its target and scenario. */
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++) {
            const dg_run *best = NULL;
            int nchosen = 0;
            for (size_t i = 0; i < a.nruns; i++) {
                const dg_run *r = &a.runs[i];
                if (r->scenario != s || (int)r->target != t)
                    continue;
                if (!best || r->cv_score < best->cv_score)
                    best = r;
                nchosen += r->chosen;
            }
            assert_int_equal(nchosen, 1);
            assert_true(best->chosen);
        }
    dg_model_dir d;
    dg_err err;
    assert_int_equal(dg_model_dir_open(&d, o1, &err), DG_OK);
    assert_int_equal(dg_model_dir_check(&d, &feats, &err), DG_OK);
    assert_true(d.ntest == (size_t)a.ntest[1] + a.ntest[2]);
    dg_labelled l;
    assert_int_equal(dg_labelled_build(&ds, &feats, 0.2, 1, &l, &err), DG_OK);
    assert_true(l.from_mapping);
    assert_true(dg_labelled_checksum(&l) == d.m[1][0].data_checksum);
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++) {
            uint32_t *rows = malloc(d.ntest * sizeof *rows);
            double *y = malloc(d.ntest * sizeof *y), *pred = malloc(d.ntest * 12 * sizeof *pred);
            uint32_t n = 0;
            for (size_t i = 0; i < d.ntest; i++) {
                if (d.test_scenario[i] != s)
                    continue;
                for (uint32_t k = 0; k < l.n; k++)
                    if (l.device_id[k] == d.test_device[i]) {
                        rows[n] = l.row[k];
                        y[n++] = dg_labelled_y(&l, (dg_target)t, k);
                    }
            }
            assert_int_equal(dg_model_dir_predict_target(&d, s, (dg_target)t, &feats, rows, n,
                                                         pred, &err),
                             DG_OK);
            dg_eval e;
            dg_evaluate(dg_target_task((dg_target)t), dg_target_nclasses((dg_target)t), y, pred,
                        n, &e);
            const dg_eval *m = &d.m[s][t].test;
            assert_true(same(e.log_loss, m->log_loss));
            assert_true(same(e.auc, m->auc));
            assert_true(same(e.accuracy, m->accuracy));
            assert_true(same(e.rmse, m->rmse));
            assert_true(same(e.r2, m->r2));
            free(rows);
            free(y);
            free(pred);
        }
    /* Per-device predictions pick the scenario by events. */
    uint32_t rows[50];
    dg_prediction p[50];
    for (uint32_t i = 0; i < 50; i++)
        rows[i] = l.row[i];
    assert_int_equal(dg_model_dir_predict(&d, &feats, rows, 50, p, &err), DG_OK);
    for (uint32_t i = 0; i < 50; i++) {
        assert_int_equal(p[i].scenario, l.has_events[i] ? 1 : 2);
        assert_true(p[i].p_female > 0 && p[i].p_female < 1);
        assert_true(p[i].age > 10 && p[i].age < 90);
        double sum = 0;
        for (int g = 0; g < 12; g++)
            sum += p[i].group12[g];
        assert_true(fabs(sum - 1) < 1e-6);
    }
    dg_labelled_free(&l);

    /* Features of another layout (other super-category rules) are refused. */
    dg_supercats other;
    memset(&other, 0, sizeof other);
    assert_int_equal(dg_supercats_parse(&other, "games: game\n", "t", &err), DG_OK);
    dg_features f2;
    assert_int_equal(dg_features_build(&ds, &other, &f2, NULL, &err), DG_OK);
    assert_int_equal(dg_model_dir_check(&d, &f2, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "the models were trained on feature layout"));
    assert_int_equal(dg_model_dir_predict(&d, &f2, rows, 5, p, &err), DG_ERR);
    dg_features_free(&f2);
    dg_supercats_free(&other);
    dg_model_dir_close(&d);
    (void)nfam;

    /* The generator's posterior is the floor of the group12 log loss on the
     * same test devices; the priors sit above it. */
    FILE *fp = fopen(truth, "r");
    assert_non_null(fp);
    char line[1024];
    double floor_sum = 0;
    uint32_t nfloor = 0;
    assert_int_equal(dg_labelled_build(&ds, &feats, 0.2, 1, &l, &err), DG_OK);
    assert_non_null(fgets(line, sizeof line, fp));
    while (fgets(line, sizeof line, fp)) {
        long long id = strtoll(line, NULL, 10);
        for (uint32_t k = 0; k < l.n; k++)
            if (l.device_id[k] == id && l.is_test[k]) {
                char *c = line;
                for (int skip = 0; skip < 3 + l.group12[k]; skip++)
                    c = strchr(c, ',') + 1;
                floor_sum -= log(fmax(strtod(c, NULL), 1e-15));
                nfloor++;
            }
    }
    fclose(fp);
    double floor_ll = floor_sum / nfloor, prior_ll = NAN, chosen_ll = NAN;
    for (size_t i = 0; i < a.nruns; i++)
        if (a.runs[i].scenario == 0 && a.runs[i].target == DG_TARGET_GROUP12)
            chosen_ll = a.runs[i].test.log_loss;
    /* The prior over both scenarios: its runs' test losses weighted by test size. */
    double sum = 0;
    uint32_t n = 0;
    for (size_t i = 0; i < a.nruns; i++)
        if (a.runs[i].scenario && a.runs[i].target == DG_TARGET_GROUP12 &&
            strcmp(a.runs[i].family, "prior") == 0) {
            sum += a.runs[i].test.log_loss * a.runs[i].ntest;
            n += a.runs[i].ntest;
        }
    prior_ll = sum / n;
    printf("# group12 test log loss on %u devices: generator's posterior (floor) %.4f, chosen "
           "models %.4f (gap %.4f), priors %.4f\n",
           nfloor, floor_ll, chosen_ll, chosen_ll - floor_ll, prior_ll);
    assert_int_equal(nfloor, a.ntest[1] + a.ntest[2]);
    assert_true(prior_ll > floor_ll);
    assert_true(chosen_ll > floor_ll - 0.05); /* nothing beats the Bayes posterior by much */
    dg_labelled_free(&l);
    dg_train_result_free(&a);
    dg_train_result_free(&b);
}

/* A planted signal: 4 brand and 8 model columns (a row's brand before its
 * model, as design.h lays them out); the class or value depends on the brand. */
static uint64_t rng_state;
static double uniform(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

/* Options of a scenario-1 softmax training of one target on a grid, 3
 * folds, seed 7, into out. */
static dg_train_opts softmax_opts(const char *out, const char *grid, dg_target t)
{
    dg_train_opts o;
    memset(&o, 0, sizeof o);
    o.out_dir = out;
    o.folds = 3;
    o.seed = 7;
    o.families[0] = "softmax";
    o.grids[0] = grid;
    o.targets = 1u << t;
    o.scenarios = 1;
    return o;
}

/* A grid of more than two points is screened on fold 1: each warm path
 * ends at its first rising score, only the best (and a runner-up fold 1
 * cannot tell from it) go on to every fold, and the choice is among those
 * on every fold's rows. The same on one thread or three. */
static void screen_then_every_fold(void **state)
{
    (void)state;
    char out[700];
    snprintf(out, sizeof out, "%s/screen", dir);
    dg_train_opts o = softmax_opts(out, "softmax:l2=1e-4,1e-3,1e-2,1e-1,1,10", DG_TARGET_GROUP12);
    dg_train_result res[2];
    dg_err err;
    for (int run = 0; run < 2; run++) {
        o.threads = run ? 3 : 1;
        if (dg_train(&ds, &feats, &o, &res[run], &err) != DG_OK)
            fail_msg("train: %s", err.msg);
    }
    int seen = 0;
    for (size_t i = 0; i < res[0].nruns; i++) {
        const dg_run *r = &res[0].runs[i];
        if (strcmp(r->family, "softmax") != 0 || !r->scenario)
            continue;
        seen = 1;
        assert_int_equal(r->ngrid, 6);
        int every = 0, screened = 0, never = 0, best = -1;
        for (int c = 0; c < r->ngrid; c++) {
            int f = r->grid_folds[c];
            assert_true(f == 0 || f == 1 || f == 3);
            every += f == 3;
            screened += f == 1;
            never += f == 0;
            assert_true(f == 0 ? isnan(r->grid_cv[c]) : isfinite(r->grid_cv[c]));
            if (f == 3 && (best < 0 || r->grid_cv[c] < r->grid_cv[best]))
                best = c;
        }
        assert_true(every >= 1 && every <= 2);
        assert_true(screened + never == 6 - every);
        /* l2 = 10 and 1 underfit and 1e-4 overfits a 4,000-device set: the
         * path (strongest penalty first) turns before its end. */
        assert_true(never >= 1);
        assert_true(same(r->grid_cv[best], r->cv_score));
        assert_non_null(strstr(r->params, r->grid_params[best]));
        /* The same on three threads. */
        const dg_run *q = &res[1].runs[i];
        assert_string_equal(q->params, r->params);
        for (int c = 0; c < r->ngrid; c++) {
            assert_int_equal(q->grid_folds[c], r->grid_folds[c]);
            assert_true(same(q->grid_cv[c], r->grid_cv[c]));
        }
    }
    assert_true(seen);
    dg_train_result_free(&res[0]);
    dg_train_result_free(&res[1]);
}

static void planted(uint32_t n, dg_task task, dg_csr *x, double *y)
{
    x->nrows = n;
    x->ncols = 12;
    x->nnz = 2 * (uint64_t)n;
    x->ptr = malloc((n + 1) * sizeof *x->ptr);
    x->idx = malloc(2 * n * sizeof *x->idx);
    x->val = malloc(2 * n * sizeof *x->val);
    static const double pf[4] = {0.1, 0.9, 0.3, 0.7};
    for (uint32_t r = 0; r < n; r++) {
        uint32_t b = (uint32_t)(uniform() * 4), m = 4 + 2 * b + (uniform() < 0.5);
        x->ptr[r] = 2 * (uint64_t)r;
        x->idx[2 * r] = b;
        x->idx[2 * r + 1] = m;
        x->val[2 * r] = x->val[2 * r + 1] = 1;
        if (task == DG_TASK_BINARY)
            y[r] = uniform() < pf[b];
        else if (task == DG_TASK_REGRESSION)
            y[r] = 20 + 8 * b + 4 * (uniform() - 0.5);
        else
            y[r] = uniform() < 0.7 ? b : (double)(uint32_t)(uniform() * 4);
    }
    x->ptr[n] = x->nnz;
}

static void every_family_beats_the_prior(void **state)
{
    (void)state;
    const dg_model_family *prior = dg_model_family_find("prior");
    assert_non_null(prior);
    dg_err err;
    char *tmp = tu_tmpdir(), path[600];
    for (const dg_model_family *const *f = dg_model_families; *f; f++)
        for (int task = 0; task < 3; task++) {
            if (!((*f)->tasks & (1u << task)))
                continue;
            rng_state = 42;
            dg_csr xtr, xte;
            double ytr[1500], yte[600];
            planted(1500, (dg_task)task, &xtr, ytr);
            planted(600, (dg_task)task, &xte, yte);
            int k = task == DG_TASK_MULTICLASS ? 4 : task == DG_TASK_BINARY ? 2 : 0;
            int nout = dg_task_nout((dg_task)task, k);
            dg_trainset ts = {&xtr, ytr, NULL, (dg_task)task, k, 1, 0, NULL, 0, 0, NULL};
            dg_params none = {0};
            void *m = NULL, *pm = NULL, *back = NULL;
            double *pred = malloc(600 * nout * sizeof *pred), *pp = malloc(600 * nout * sizeof *pp),
                   *again = malloc(600 * nout * sizeof *again);
            if ((*f)->fit(&ts, &none, &m, NULL, &err) != DG_OK)
                fail_msg("%s task %d: %s", (*f)->name, task, err.msg);
            assert_int_equal((*f)->predict(m, &xte, pred, &err), DG_OK);
            assert_int_equal(prior->fit(&ts, &none, &pm, NULL, &err), DG_OK);
            assert_int_equal(prior->predict(pm, &xte, pp, &err), DG_OK);
            dg_eval e, ep;
            dg_evaluate((dg_task)task, k, yte, pred, 600, &e);
            dg_evaluate((dg_task)task, k, yte, pp, 600, &ep);
            printf("# %s task %d: score %.4f, prior %.4f\n", (*f)->name, task,
                   dg_eval_score(&e), dg_eval_score(&ep));
            if (*f != prior)
                assert_true(dg_eval_score(&e) < dg_eval_score(&ep) - 0.05);
            /* Saved and loaded, it predicts the same bits. */
            snprintf(path, sizeof path, "%s/%s-%d.model", tmp, (*f)->name, task);
            assert_int_equal((*f)->save(m, path, &err), DG_OK);
            assert_int_equal((*f)->load(path, &back, &err), DG_OK);
            assert_int_equal((*f)->predict(back, &xte, again, &err), DG_OK);
            assert_memory_equal(pred, again, 600 * nout * sizeof *pred);
            (*f)->free(m);
            (*f)->free(back);
            prior->free(pm);
            free(pred);
            free(pp);
            free(again);
            dg_csr_free(&xtr);
            dg_csr_free(&xte);
        }
    tu_rmrf(tmp);
    free(tmp);
}

/* The commands: train then evaluate agree; another layout is refused. */
static void commands(void **state)
{
    (void)state;
    char cmd[3000], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s train %s --out %s/c --no-snapshot --folds 2 --families brand-model-prior "
             "--targets gender,age --grid brand-model-prior:alpha=2,8 --quiet",
             tu_bin(), data, dir);
    assert_int_equal(tu_run(cmd, &out), 0);
    free(out);
    snprintf(cmd, sizeof cmd, "%s/c/roc_gender.png", dir);
    FILE *fp = fopen(cmd, "rb");
    assert_non_null(fp);
    fclose(fp);
    snprintf(cmd, sizeof cmd, "%s evaluate %s --models %s/c --no-snapshot", tu_bin(), data, dir);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "4 models evaluated: every metric identical to train's"));
    free(out);
    char *rules = tu_write_str(dir, "super.txt", "games: game\n");
    snprintf(cmd, sizeof cmd, "%s evaluate %s --models %s/c --no-snapshot --super %s", tu_bin(),
             data, dir, rules);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "the models were trained on feature layout"));
    free(out);
    free(rules);
    snprintf(cmd, sizeof cmd, "%s train %s --out %s/c --families nosuch --no-snapshot", tu_bin(),
             data, dir);
    assert_int_not_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "no model family 'nosuch' (families: prior, brand-model-prior"));
    free(out);
}

/* --families blend: a blend run after each classification target's jobs of
 * scenario 1 (none for age, none in scenario 2 where every base reads the
 * phone alone), listed by name with its bases; scenario 1's
 * group12 chooses it (its CV below every other run's). The model directory
 * reloads it to the run's test metrics bit for bit (as evaluate does), the
 * copy in runs/ predicts the same bits as the one in models/, and export-sql
 * refuses it by name. */
static void blend_chosen_and_reloaded(void **state)
{
    (void)state;
    char out[700], path[800];
    snprintf(out, sizeof out, "%s/blend", dir);
    dg_train_opts o;
    memset(&o, 0, sizeof o);
    o.out_dir = out;
    o.folds = 3;
    o.seed = 7;
    o.families[0] = "brand-model-prior";
    o.families[1] = "softmax";
    o.families[2] = "phone-softmax@group12";
    o.families[3] = "blend";
    o.grids[0] = "softmax:l2=3e-2";
    o.grids[1] = "phone-softmax:l2=1e-2 alpha=30";
    dg_train_result res;
    dg_err err;
    if (dg_train(&ds, &feats, &o, &res, &err) != DG_OK)
        fail_msg("train: %s", err.msg);
    int blends[3][DG_TARGET_COUNT] = {{0}};
    const dg_run *chosen = NULL;
    double best_other = INFINITY;
    for (size_t i = 0; i < res.nruns; i++) {
        const dg_run *r = &res.runs[i];
        if (!r->scenario)
            continue;
        if (strcmp(r->family, "blend") == 0) {
            blends[r->scenario][r->target]++;
            assert_non_null(strstr(r->params, "bases=brand-model-prior+softmax"));
            if (r->scenario == 1 && r->target == DG_TARGET_GROUP12)
                chosen = r;
        } else if (r->scenario == 1 && r->target == DG_TARGET_GROUP12) {
            best_other = fmin(best_other, r->cv_score);
        }
    }
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++)
            assert_int_equal(blends[s][t], s == 1 && t != DG_TARGET_AGE);
    assert_non_null(chosen);
    printf("# s1 group12: blend CV %.4f (test %.4f) against the best other run's CV %.4f\n"
           "# %s\n",
           chosen->cv_score, chosen->test.log_loss, best_other, chosen->params);
    assert_true(chosen->chosen);
    assert_true(chosen->cv_score < best_other);
    assert_non_null(strstr(chosen->params, "phone-softmax"));

    dg_model_dir d;
    assert_int_equal(dg_model_dir_open(&d, out, &err), DG_OK);
    const dg_loaded_model *m = &d.m[1][DG_TARGET_GROUP12];
    assert_string_equal(m->family->name, "blend");
    dg_labelled l;
    assert_int_equal(dg_labelled_build(&ds, &feats, 0.2, 1, &l, &err), DG_OK);
    uint32_t *rows = malloc(d.ntest * sizeof *rows), n = 0;
    double *y = malloc(d.ntest * sizeof *y);
    for (size_t i = 0; i < d.ntest; i++)
        for (uint32_t k = 0; d.test_scenario[i] == 1 && k < l.n; k++)
            if (l.device_id[k] == d.test_device[i]) {
                rows[n] = l.row[k];
                y[n++] = dg_labelled_y(&l, DG_TARGET_GROUP12, k);
            }
    assert_int_equal(n, chosen->ntest);
    double *pred = malloc(sizeof *pred * n * 12), *again = malloc(sizeof *again * n * 12);
    assert_int_equal(dg_model_dir_predict_target(&d, 1, DG_TARGET_GROUP12, &feats, rows, n, pred,
                                                 &err),
                     DG_OK);
    dg_eval e;
    dg_evaluate(DG_TASK_MULTICLASS, 12, y, pred, n, &e);
    assert_true(e.log_loss == chosen->test.log_loss);
    assert_true(e.accuracy == chosen->test.accuracy);
    /* The run's own file in runs/, loaded beside the directory's. */
    snprintf(path, sizeof path, "%s/runs/s1-group12-blend.model", out);
    void *copy = NULL;
    if (m->family->load(path, &copy, &err) != DG_OK)
        fail_msg("load %s: %s", path, err.msg);
    dg_csr x;
    assert_int_equal(dg_design_apply(&m->spec, &feats, rows, n, &x, &err), DG_OK);
    assert_int_equal(m->family->predict(copy, &x, again, &err), DG_OK);
    assert_memory_equal(pred, again, sizeof *pred * n * 12);
    m->family->free(copy);
    dg_csr_free(&x);

    dg_textbuf sql = {0};
    dg_sql_export rep;
    memset(&rep, 0, sizeof rep);
    assert_int_equal(dg_export_sql(&d, 1, DG_TARGET_GROUP12, NULL, &sql, &rep, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "no SQL form for s1 group12 (blend)"));
    assert_non_null(strstr(err.msg, "blend and the priors are not exported"));
    dg_textbuf_free(&sql);

    /* Age is not blended: blend@age is refused. */
    o.families[3] = "blend@age";
    dg_train_result none;
    assert_int_equal(dg_train(&ds, &feats, &o, &none, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "age is not blended"));
    free(rows);
    free(y);
    free(pred);
    free(again);
    dg_labelled_free(&l);
    dg_model_dir_close(&d);
    dg_train_result_free(&res);
}

/* FAMILY@TARGET+TARGET trains the family on those targets only (the prior
 * on all); a target that does not exist is refused before any work. The
 * design export writes each scenario's CSR arrays, one fold per train row. */
static void family_on_some_targets(void **state)
{
    (void)state;
    char out[700], path[800];
    snprintf(out, sizeof out, "%s/some-targets", dir);
    snprintf(path, sizeof path, "%s/some-targets-design", dir);
    dg_train_opts o;
    memset(&o, 0, sizeof o);
    o.out_dir = out;
    o.folds = 2;
    o.seed = 3;
    o.scenarios = 1u << 1; /* scenario 2: the phone blocks, quick */
    o.families[0] = "brand-model-prior@age+group6";
    o.design_dir = path;
    dg_train_result res;
    dg_err err;
    assert_int_equal(dg_train(&ds, &feats, &o, &res, &err), DG_OK);
    int bmp[DG_TARGET_COUNT] = {0}, prior[DG_TARGET_COUNT] = {0};
    for (size_t i = 0; i < res.nruns; i++) {
        if (!res.runs[i].scenario)
            continue;
        bmp[res.runs[i].target] += strcmp(res.runs[i].family, "brand-model-prior") == 0;
        prior[res.runs[i].target] += strcmp(res.runs[i].family, "prior") == 0;
    }
    for (int t = 0; t < DG_TARGET_COUNT; t++) {
        assert_int_equal(prior[t], 1);
        assert_int_equal(bmp[t], t == DG_TARGET_AGE || t == DG_TARGET_GROUP6);
    }
    uint32_t ntr = res.ntrain[2];
    dg_train_result_free(&res);
    snprintf(path, sizeof path, "%s/some-targets-design/s2-none-train.ptr", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, ((off_t)ntr + 1) * (off_t)sizeof(uint64_t));
    snprintf(path, sizeof path, "%s/some-targets-design/s2-train.csv", dir);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[256];
    uint32_t lines = 0;
    int maxfold = -1;
    while (fgets(line, sizeof line, fp)) {
        int64_t id;
        int fold;
        if (lines++ && sscanf(line, "%" SCNd64 ",%d", &id, &fold) == 2 && fold > maxfold)
            maxfold = fold;
    }
    fclose(fp);
    assert_int_equal(lines, ntr + 1);
    assert_int_equal(maxfold, 1);
    o.families[0] = "brand-model-prior@height";
    assert_int_equal(dg_train(&ds, &feats, &o, &res, &err), DG_ERR);
    assert_string_equal(err.msg, "families: 'brand-model-prior@height': no target 'height' "
                                 "(gender, age, group6, group12)");
}

/* group12-sum's run names the group12 model it reads: a rank-3 softmax is
 * rank 3 in the gender run too (a rank of the target's 2 classes or more
 * would be no constraint on a gender fit, but this is a group12 fit). */
static void group12_sum_names_its_model(void **state)
{
    (void)state;
    char out[700];
    snprintf(out, sizeof out, "%s/g12sum", dir);
    dg_train_opts o = softmax_opts(out, "softmax:rank=3 l2=1", DG_TARGET_GROUP12);
    o.targets |= 1u << DG_TARGET_GENDER;
    o.folds = 2;
    dg_train_result res;
    dg_err err;
    if (dg_train(&ds, &feats, &o, &res, &err) != DG_OK)
        fail_msg("train: %s", err.msg);
    int seen = 0;
    for (size_t i = 0; i < res.nruns; i++)
        if (strcmp(res.runs[i].family, "group12-sum") == 0 &&
            res.runs[i].target == DG_TARGET_GENDER) {
            seen = 1;
            if (!strstr(res.runs[i].params, "rank=3"))
                fail_msg("group12-sum's params: '%s'", res.runs[i].params);
        }
    for (size_t i = 0; !seen && i < res.nruns; i++)
        print_message("# %s s%d %s %s cv %.4f\n", res.runs[i].family, res.runs[i].scenario,
                      dg_target_name(res.runs[i].target), res.runs[i].params,
                      res.runs[i].cv_score);
    assert_true(seen);
    dg_train_result_free(&res);
}

static int cancel_at(void *ctx, const char *stage, double done, double total, const char *unit)
{
    (void)stage;
    (void)total;
    (void)unit;
    return done >= *(double *)ctx;
}

/* Cancelled, training fails with "cancelled" and leaves no model behind.
 * Cancelled at its first report of work done: in the cross-validation,
 * and (with softmax, whose bags scenario 1 chooses first) in the bag
 * probe. */
static void cancel_leaves_nothing(void **state)
{
    (void)state;
    for (int round = 0; round < 2; round++) {
        char out[700], path[800];
        snprintf(out, sizeof out, "%s/cancelled%d", dir, round);
        double at = 1e-300; /* the first fit's work, whatever it weighs */
        dg_progress pr = {cancel_at, &at};
        dg_train_opts o;
        memset(&o, 0, sizeof o);
        o.out_dir = out;
        o.folds = 2;
        o.families[0] = round && dg_model_family_find("softmax") ? "softmax" : "brand-model-prior";
        o.progress = &pr;
        dg_train_result res;
        dg_err err;
        assert_int_equal(dg_train(&ds, &feats, &o, &res, &err), DG_ERR);
        assert_string_equal(err.msg, "cancelled");
        snprintf(path, sizeof path, "%s/models", out);
        assert_int_not_equal(access(path, F_OK), 0);
        snprintf(path, sizeof path, "%s/.train-staging", out);
        assert_int_not_equal(access(path, F_OK), 0);
        snprintf(path, sizeof path, "%s/runs.csv", out);
        assert_int_not_equal(access(path, F_OK), 0);
    }
}

/* The progress of a training, every report. */
typedef struct progress_log {
    size_t n;
    double done[4096], total[4096];
    int other_unit;
} progress_log;

static int log_progress(void *ctx, const char *stage, double done, double total, const char *unit)
{
    (void)stage;
    progress_log *l = ctx;
    l->other_unit |= strcmp(unit, DG_UNIT_WORK) != 0;
    if (l->n < sizeof l->done / sizeof *l->done) {
        l->done[l->n] = done;
        l->total[l->n++] = total;
    }
    return 0;
}

/* A run's fit seconds: its cross-validation's over the fits it made (each
 * combination on the folds its score is over, none for one never fit),
 * scaled to the rows of the next training; its refit's likewise. */
static void fit_seconds_of_a_run(void **state)
{
    (void)state;
    dg_run runs[2];
    memset(runs, 0, sizeof runs);
    snprintf(runs[0].family, sizeof runs[0].family, "prior");
    runs[0].scenario = 1;
    runs[0].target = DG_TARGET_GENDER;
    runs[0].ntrain = 100;
    runs[0].cv_seconds = 0.3;
    runs[0].ncombos = runs[0].ngrid = 1;
    runs[0].grid_folds[0] = 3;
    snprintf(runs[1].family, sizeof runs[1].family, "xgboost");
    runs[1].scenario = 1;
    runs[1].target = DG_TARGET_GENDER;
    runs[1].ntrain = 100;
    runs[1].cv_seconds = 8;
    runs[1].train_seconds = 2.5;
    runs[1].ncombos = runs[1].ngrid = 3;
    runs[1].grid_folds[0] = 3;
    runs[1].grid_folds[1] = 1;
    runs[1].grid_folds[2] = 0;
    dg_train_result r = {.runs = runs, .nruns = 2};
    double fit, refit;
    assert_int_equal(dg_train_fit_seconds(&r, "xgboost", 1, DG_TARGET_GENDER, 200, &fit, &refit),
                     1);
    assert_true(fabs(fit - 8.0 / 4 * 2) < 1e-12 && fabs(refit - 5) < 1e-12);
    assert_int_equal(dg_train_fit_seconds(&r, "prior", 1, DG_TARGET_GENDER, 0, &fit, &refit), 1);
    assert_true(fabs(fit - 0.1) < 1e-12);
    assert_int_equal(dg_train_fit_seconds(&r, "xgboost", 2, DG_TARGET_GENDER, 0, &fit, &refit),
                     0);
    assert_true(isnan(fit) && isnan(refit));
}

/* The progress counts fits weighed by their cost (DG_UNIT_WORK): it never
 * goes back, never passes its plan (which shrinks when a screen keeps
 * fewer combinations) and ends on it. With the training before as its
 * history, the plan is in that training's seconds: its fits' seconds
 * summed, give or take the screens' paths and the bag probes, where the
 * designs' sizes alone weigh in entries (far more than seconds). */
static void progress_weighs_fits_by_cost(void **state)
{
    (void)state;
    assert_non_null(dg_model_family_find("softmax"));
    dg_train_result res[2];
    static progress_log log[2];
    for (int k = 0; k < 2; k++) {
        char out[700];
        snprintf(out, sizeof out, "%s/weighed%d", dir, k);
        memset(&log[k], 0, sizeof log[k]);
        dg_progress pr = {log_progress, &log[k]};
        dg_train_opts o;
        memset(&o, 0, sizeof o);
        o.out_dir = out;
        o.threads = 2;
        o.folds = 3;
        o.seed = 7;
        o.families[0] = "brand-model-prior";
        o.families[1] = "softmax";
        o.grids[0] = "softmax:l2=1e-3,1e-2,1e-1,1";
        o.targets = (1u << DG_TARGET_GENDER) | (1u << DG_TARGET_GROUP12);
        o.progress = &pr;
        o.history = k ? &res[0] : NULL;
        dg_err err;
        if (dg_train(&ds, &feats, &o, &res[k], &err) != DG_OK)
            fail_msg("train: %s", err.msg);
        const progress_log *l = &log[k];
        assert_true(l->n > 10);
        assert_int_equal(l->other_unit, 0);
        for (size_t i = 0; i < l->n; i++) {
            assert_true(l->done[i] <= l->total[i] * (1 + 1e-9));
            if (i)
                assert_true(l->done[i] >= l->done[i - 1]);
        }
        assert_true(fabs(l->done[l->n - 1] - l->total[l->n - 1]) <= 1e-9 * l->total[l->n - 1]);
    }
    double seconds = 0;
    for (size_t i = 0; i < res[0].nruns; i++)
        if (res[0].runs[i].scenario &&
            (!strcmp(res[0].runs[i].family, "softmax") ||
             !strcmp(res[0].runs[i].family, "brand-model-prior")))
            seconds += res[0].runs[i].cv_seconds + res[0].runs[i].train_seconds;
    double planned = log[1].total[log[1].n - 1];
    assert_true(planned > seconds / 5 && planned < seconds * 5);
    /* Without it the plan is in entries: no such match. */
    double unweighed = log[0].total[log[0].n - 1];
    assert_true(unweighed > seconds * 100);
    for (int k = 0; k < 2; k++)
        dg_train_result_free(&res[k]);
}

/* --ablation: each chosen model that reads a design is cross-validated
 * again without each of its blocks: one row per block (scenario 1: all
 * five; scenario 2: the phone blocks), the chosen CV score beside the score
 * without the block, the same on one thread or three. */
static void ablation_by_block(void **state)
{
    (void)state;
    assert_non_null(dg_model_family_find("softmax"));
    dg_train_result res[2];
    for (int k = 0; k < 2; k++) {
        char out[700];
        snprintf(out, sizeof out, "%s/ablation%d", dir, k);
        dg_train_opts o;
        memset(&o, 0, sizeof o);
        o.out_dir = out;
        o.threads = k ? 3 : 1;
        o.folds = 3;
        o.seed = 7;
        o.families[0] = "softmax";
        o.grids[0] = "softmax:l2=3e-1";
        o.targets = (1u << DG_TARGET_GROUP6) | (1u << DG_TARGET_GROUP12);
        o.ablation = 1;
        dg_err err;
        if (dg_train(&ds, &feats, &o, &res[k], &err) != DG_OK)
            fail_msg("train: %s", err.msg);
    }
    static const char *const blocks[] = {"brand", "model", "numeric", "apps", "labels"};
    size_t want = 0;
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++) {
            const dg_run *ch = NULL;
            for (size_t i = 0; i < res[0].nruns; i++)
                if (res[0].runs[i].scenario == s && res[0].runs[i].target == (dg_target)t &&
                    res[0].runs[i].chosen)
                    ch = &res[0].runs[i];
            if (!ch || strcmp(ch->family, "softmax") != 0)
                continue;
            int nb = s == 1 ? 5 : 2;
            for (int b = 0; b < nb; b++, want++) {
                assert_true(want < res[0].nablation);
                const dg_ablation *a = &res[0].ablation[want];
                assert_int_equal(a->scenario, s);
                assert_int_equal(a->target, t);
                assert_string_equal(a->family, "softmax");
                assert_string_equal(a->params, ch->params);
                assert_string_equal(a->block, blocks[b]);
                assert_true(a->cv_all == ch->cv_score);
                assert_true(isfinite(a->cv_without) && a->cv_without != a->cv_all);
                assert_true(a->cv_without == res[1].ablation[want].cv_without);
            }
        }
    /* On this small set softmax wins at least group6 in both scenarios over
     * the prior. */
    assert_true(want >= 7);
    assert_int_equal(res[0].nablation, want);
    assert_int_equal(res[1].nablation, want);
    for (int k = 0; k < 2; k++)
        dg_train_result_free(&res[k]);
}

/* The scenario 1 gender model in the model directory `out`, trained on g:
 * it scores the test split to the same bits as chosen run ch did; its
 * design's count form is returned. */
static int reloaded_gender(const char *out, const dg_features *g, const dg_run *ch)
{
    dg_err err;
    dg_model_dir d;
    if (dg_model_dir_open(&d, out, &err) != DG_OK)
        fail_msg("open: %s", err.msg);
    dg_labelled l2;
    if (dg_labelled_build(&ds, g, 0.2, 7, &l2, &err) != DG_OK)
        fail_msg("labels: %s", err.msg);
    dg_eval again;
    if (dg_model_dir_evaluate(&d, 1, DG_TARGET_GENDER, g, &l2, &again, &err) != DG_OK)
        fail_msg("evaluate: %s", err.msg);
    assert_true(dg_eval_equal(&again, &ch->test));
    int counts = d.m[1][DG_TARGET_GENDER].spec.counts;
    dg_labelled_free(&l2);
    dg_model_dir_close(&d);
    return counts;
}

/* The count form is cross-validation's choice: with gender planted in the
 * events of hour 03 (each labelled device with events gets c more there,
 * drawn by its gender), exponential c makes the log-odds linear in the raw
 * count, and exponential log1p(c) linear in its log; the probe must choose
 * raw in the first and log1p in the second (the shares form holds no
 * per-hour count, so it can fit neither). In the third, c is exponential
 * for one gender and log1p(c) for the other: the log-odds are a sum of
 * both, which raw+log1p alone can fit. The chosen model, saved and
 * reloaded, scores the test split to the same bits as in the run. */
static void counts_form_chosen_by_cv(void **state)
{
    (void)state;
    assert_non_null(dg_model_family_find("softmax"));
    int ev = dg_features_col(&feats, "events"), h3 = dg_features_col(&feats, "hour_03");
    assert_true(ev >= 0 && h3 >= 0);
    static const dg_count_form forms[] = {DG_COUNTS_RAW, DG_COUNTS_LOG1P, DG_COUNTS_RAW_LOG1P};
    for (int form = 0; form < 3; form++) {
        dg_features g;
        dg_features_copy(&feats, &g);
        dg_labelled lab;
        dg_err err;
        if (dg_labelled_build(&ds, &g, 0.2, 7, &lab, &err) != DG_OK)
            fail_msg("labels: %s", err.msg);
        rng_state = 99 + (uint64_t)form;
        for (uint32_t i = 0; i < lab.n; i++) {
            if (!lab.has_events[i])
                continue;
            double e = -log1p(-uniform()), mean = lab.female[i] ? 4.0 : 1.0;
            double c = form == 0   ? floor(10 * mean * e)
                       : form == 1 ? floor(expm1(mean * e))
                       : lab.female[i] ? floor(40 * e)
                                       : floor(expm1(1.5 * e));
            float *row = g.dense + (size_t)lab.row[i] * g.ncols;
            double base = row[ev];
            for (int h = 0; h < 24; h++)
                row[h3 - 3 + h] = (float)(row[h3 - 3 + h] * base / (base + c));
            row[h3] = (float)((row[h3] * (base + c) + c) / (base + c));
            row[ev] = (float)(base + c);
        }
        dg_labelled_free(&lab);
        char out[700];
        snprintf(out, sizeof out, "%s/counts%d", dir, form);
        dg_train_opts o = softmax_opts(out, "softmax:l2=3e-1", DG_TARGET_GENDER);
        dg_train_result res;
        if (dg_train(&ds, &g, &o, &res, &err) != DG_OK)
            fail_msg("train: %s", err.msg);
        char want[64];
        snprintf(want, sizeof want, "scenario 1: %s,", dg_count_form_names[forms[form]]);
        if (strncmp(res.counts, want, strlen(want)) != 0)
            fail_msg("expected '%s...', got '%s'", want, res.counts);
        const dg_run *ch = NULL;
        for (size_t i = 0; i < res.nruns; i++)
            if (res.runs[i].chosen && res.runs[i].scenario == 1 &&
                strcmp(res.runs[i].family, "softmax") == 0)
                ch = &res.runs[i];
        for (size_t i = 0; !ch && i < res.nruns; i++)
            print_message("# %s s%d %s %s cv %.4f chosen %d\n", res.runs[i].family,
                          res.runs[i].scenario, dg_target_name(res.runs[i].target),
                          res.runs[i].params, res.runs[i].cv_score, res.runs[i].chosen);
        print_message("# %s\n", res.counts);
        assert_non_null(ch);
        char counts_param[64];
        snprintf(counts_param, sizeof counts_param, "counts=%s ", dg_count_form_names[forms[form]]);
        char params[sizeof ch->params + 1];
        snprintf(params, sizeof params, "%s ", ch->params);
        assert_true((strstr(params, counts_param) != NULL) == (forms[form] != DG_COUNTS_LOG1P));
        assert_int_equal(reloaded_gender(out, &g, ch), forms[form]);
        dg_train_result_free(&res);
        dg_features_free(&g);
    }
}

/* The features with gender planted in the event count: a labelled
 * female device with events has six times its events. */
static void planted_count_signal(dg_features *g)
{
    int ev = dg_features_col(&feats, "events");
    assert_true(ev >= 0);
    dg_features_copy(&feats, g);
    dg_labelled lab;
    dg_err err;
    if (dg_labelled_build(&ds, g, 0.2, 7, &lab, &err) != DG_OK)
        fail_msg("labels: %s", err.msg);
    for (uint32_t i = 0; i < lab.n; i++)
        if (lab.has_events[i] && lab.female[i])
            g->dense[(size_t)lab.row[i] * g->ncols + ev] *= 6;
    dg_labelled_free(&lab);
}

/* Softmax on gender over `grid` with the planted count signal (into *g),
 * trained into dir/NAME (out): the result, and the numeric scale it chose. */
static double planted_scale(const char *name, const char *grid, dg_features *g,
                            dg_train_result *res, char *out, size_t size)
{
    planted_count_signal(g);
    snprintf(out, size, "%s/%s", dir, name);
    dg_train_opts o = softmax_opts(out, grid, DG_TARGET_GENDER);
    dg_err err;
    if (dg_train(&ds, g, &o, res, &err) != DG_OK)
        fail_msg("train: %s", err.msg);
    print_message("# %s\n", res->numeric);
    double scale = 0;
    assert_int_equal(sscanf(res->numeric, "scenario 1: x%lf,", &scale), 1);
    return scale;
}

/* The numeric block's scale, chosen by the probe: where gender is in the
 * event count and the penalty is strong (l2 3e-1, which shrinks the count's
 * weight as much as every app's), the probe walks up from x1 and keeps a
 * scale above 1; the run names it, and the saved design applies it, so the
 * reloaded model scores the test split to the same bits. */
static void numeric_scale_chosen_by_cv(void **state)
{
    (void)state;
    dg_features g;
    dg_train_result res;
    char out[700];
    double scale = planted_scale("scale", "softmax:l2=3e-1", &g, &res, out, sizeof out);
    assert_true(scale > 1);
    const dg_run *ch = NULL;
    for (size_t i = 0; i < res.nruns; i++)
        if (res.runs[i].chosen && res.runs[i].scenario == 1 &&
            strcmp(res.runs[i].family, "softmax") == 0)
            ch = &res.runs[i];
    assert_non_null(ch);
    char want[64];
    snprintf(want, sizeof want, "numeric=x%g", scale);
    assert_non_null(strstr(ch->params, want));
    reloaded_gender(out, &g, ch);
    dg_train_result_free(&res);
    dg_features_free(&g);
}

/* The scale probe's screen at the scale it chose is the softmax job's own
 * fold-1 screen, not made twice. When a step past x2 won, that screen holds
 * the best penalty and its two neighbours only: the job fits nothing else,
 * while a screen of its own always fits its path's start, the strongest
 * penalty. The planted count signal of numeric_scale_chosen_by_cv walks the
 * scale up. */
static void scale_probe_screen_taken(void **state)
{
    (void)state;
    dg_features g;
    dg_train_result res;
    char out[700];
    double scale = planted_scale("probe-screen", "softmax:l2=30,10,3,1,3e-1,1e-1,3e-2,1e-2,3e-3",
                                 &g, &res, out, sizeof out);
    const dg_run *r = NULL;
    for (size_t i = 0; i < res.nruns; i++)
        if (res.runs[i].scenario == 1 && strcmp(res.runs[i].family, "softmax") == 0)
            r = &res.runs[i];
    assert_non_null(r);
    int lo = -1, hi = -1, fit = 0;
    for (int c = 0; c < r->ngrid; c++) {
        print_message("# %s: %d folds\n", r->grid_params[c], r->grid_folds[c]);
        if (r->grid_folds[c] > 0) {
            fit++;
            hi = c;
            if (lo < 0)
                lo = c;
        }
    }
    assert_true(scale > 2); /* a step won */
    assert_true(fit >= 1 && fit <= 3 && hi - lo + 1 == fit);
    assert_int_equal(r->grid_folds[0], 0); /* the strongest, never fit */
    dg_train_result_free(&res);
    dg_features_free(&g);
}

/* Softmax on gender over `grid`, 5 folds: the cross-validated score of
 * the combination every fold fit (the best when several), into *cv, and
 * its parameters into params. */
static void softmax_cv(const char *grid, const char *name, double *cv, char *params, size_t size)
{
    char out[800];
    snprintf(out, sizeof out, "%s/%s", dir, name);
    dg_train_opts o = softmax_opts(out, grid, DG_TARGET_GENDER);
    o.folds = 5;
    dg_train_result res;
    dg_err err;
    if (dg_train(&ds, &feats, &o, &res, &err) != DG_OK)
        fail_msg("train: %s", err.msg);
    *cv = NAN;
    for (size_t i = 0; i < res.nruns; i++)
        for (int c = 0; c < res.runs[i].ngrid; c++)
            if (res.runs[i].scenario == 1 && strcmp(res.runs[i].family, "softmax") == 0 &&
                res.runs[i].grid_folds[c] == 5 && !(res.runs[i].grid_cv[c] >= *cv)) {
                *cv = res.runs[i].grid_cv[c];
                snprintf(params, size, "%s", res.runs[i].grid_params[c]);
            }
    dg_train_result_free(&res);
}

/* A fold's held-out rows never reach its fits, not even through a warm
 * start. A grid of one penalty three times is screened on fold 1 (its
 * first point starts cold, the others from the one before), and its first
 * point, kept, is fit on the other folds: from the same cold start as
 * when it is alone in its grid, so the two cross-validated scores are the
 * same bits. A fold started from fold 1's model, which was fit on the
 * other folds' held-out rows, keeps some of what it memorised of their
 * labels (its stop is relative) and scores otherwise. */
static void held_out_rows_never_fit(void **state)
{
    (void)state;
    double screened, alone;
    char kept[64], again[64];
    softmax_cv("softmax:l2=3e-4,3e-4,3e-4", "screened", &screened, kept, sizeof kept);
    softmax_cv("softmax:l2=3e-4", "alone", &alone, again, sizeof again);
    print_message("# %s: kept by the screen %.9f, alone %.9f\n", kept, screened, alone);
    assert_string_equal(kept, again);
    assert_true(isfinite(alone) && isfinite(screened));
    assert_true(same(screened, alone));
}

/* Whether text names `name` as a whole word (softmax@... inside
 * persona-softmax@... does not count). */
static int names(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *at = strstr(text, name); at; at = strstr(at + 1, name))
        if ((at == text || (at[-1] != '-' && !isalnum((unsigned char)at[-1]))) &&
            !isalnum((unsigned char)at[n]) && at[n] != '@' && at[n] != '-')
            return 1;
    return 0;
}

/* The default families are one list (dg_default_families): run's and
 * train's --help and the man page name every one of them. Line breaks and
 * indentation are taken out of the help, roff's \- out of the man page. */
static void defaults_in_help_and_man(void **state)
{
    (void)state;
    const char *man = getenv("DG_MAN");
    char *page = man ? tu_read(man, NULL) : NULL;
    assert_non_null(page);
    char *w = page;
    for (const char *r = page; *r; r++)
        if (!(r[0] == '\\' && r[1] == '-') && *r != '\n')
            *w++ = *r;
    *w = 0;
    static const char *const cmds[] = {"run", "train"};
    for (int c = 0; c < 2; c++) {
        char cmd[700], *out = NULL;
        snprintf(cmd, sizeof cmd, "%s %s --help", tu_bin(), cmds[c]);
        assert_int_equal(tu_run(cmd, &out), 0);
        char *o = out;
        for (const char *r = out; *r; r++) {
            if (*r == '\n') {
                while (r[1] == ' ')
                    r++;
                *o++ = ' ';
            } else
                *o++ = *r;
        }
        *o = 0;
        for (int i = 0; dg_default_families[i].family; i++) {
            if (!names(out, dg_default_families[i].family))
                fail_msg("%s --help does not name %s", cmds[c], dg_default_families[i].family);
            if (c == 0 && !names(page, dg_default_families[i].family))
                fail_msg("the man page does not name %s", dg_default_families[i].family);
        }
        free(out);
    }
    free(page);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cv_determinism_and_export),
        cmocka_unit_test(screen_then_every_fold),
        cmocka_unit_test(fit_seconds_of_a_run),
        cmocka_unit_test(progress_weighs_fits_by_cost),
        cmocka_unit_test(ablation_by_block),
        cmocka_unit_test(counts_form_chosen_by_cv),
        cmocka_unit_test(held_out_rows_never_fit),
        cmocka_unit_test(numeric_scale_chosen_by_cv),
        cmocka_unit_test(scale_probe_screen_taken),
        cmocka_unit_test(defaults_in_help_and_man),
        cmocka_unit_test(every_family_beats_the_prior),
        cmocka_unit_test(commands),
        cmocka_unit_test(family_on_some_targets),
        cmocka_unit_test(blend_chosen_and_reloaded),
        cmocka_unit_test(cancel_leaves_nothing),
        cmocka_unit_test(group12_sum_names_its_model),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
