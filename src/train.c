/* Training: designs per scenario, the bag and count probes, each job's
 * run and the selection rule, and the whole run (see train.h; the jobs'
 * cross-validation and refit are train_cv.c, group12-sum and the blend
 * train_blend.c, the ablation train_ablation.c, the export, charts and runs
 * files train_export.c, train_charts.c and train_runs.c). */
#define _XOPEN_SOURCE 700
#include "train_impl.h"

#include "model_blend.h"
#include "model_softmax.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_COMBOS 512

/* ---- grids ----------------------------------------------------------------- */

/* "C=0.01,0.1,1 eps=0.01" → every combination, as dg_params. */
static int grid_expand(const char *family, const char *grid, const char *const *known,
                       dg_params **out, int *nout, dg_err *err)
{
    char names[DG_PARAMS_MAX][24];
    double values[DG_PARAMS_MAX][32];
    int nvalues[DG_PARAMS_MAX], nparams = 0;
    const char *s = grid;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        const char *eq = s;
        while (*eq && *eq != '=' && *eq != ' ')
            eq++;
        if (*eq != '=' || eq == s)
            return dg_fail(err, "grid of %s '%s': expected NAME=V1,V2,... at '%.*s'", family, grid,
                           (int)strcspn(s, " "), s);
        if (nparams == DG_PARAMS_MAX || (size_t)(eq - s) >= sizeof names[0])
            return dg_fail(err, "grid of %s '%s': too many or too long names", family, grid);
        memcpy(names[nparams], s, (size_t)(eq - s));
        names[nparams][eq - s] = 0;
        int found = !known;
        for (const char *const *k = known; k && *k && !found; k++)
            found = strcmp(*k, names[nparams]) == 0;
        if (!found)
            return dg_fail(err, "grid of %s '%s': %s has no parameter '%s'", family, grid,
                           family, names[nparams]);
        s = eq + 1;
        int nv = 0;
        for (;;) {
            char *end;
            double v = strtod(s, &end);
            if (end == s || !isfinite(v) || (*end && *end != ',' && *end != ' '))
                return dg_fail(err, "grid of %s '%s': '%s' needs numbers, found '%.*s'", family,
                               grid, names[nparams], (int)strcspn(s, " ,"), s);
            if (nv == 32)
                return dg_fail(err, "grid of %s: more than 32 values of '%s'", family,
                               names[nparams]);
            values[nparams][nv++] = v;
            s = end;
            if (*s != ',')
                break;
            s++;
        }
        nvalues[nparams++] = nv;
    }
    long total = 1;
    for (int i = 0; i < nparams; i++) {
        total *= nvalues[i];
        if (total > MAX_COMBOS)
            return dg_fail(err, "grid of %s '%s': more than %d combinations", family, grid,
                           MAX_COMBOS);
    }
    *out = dg_xcalloc((size_t)total, sizeof **out);
    *nout = (int)total;
    for (long c = 0; c < total; c++) {
        long rest = c;
        dg_params *p = &(*out)[c];
        p->n = nparams;
        for (int i = nparams - 1; i >= 0; i--) {
            memcpy(p->name[i], names[i], sizeof names[i]);
            p->value[i] = values[i][rest % nvalues[i]];
            rest /= nvalues[i];
        }
    }
    return DG_OK;
}

/* ---- the defaults ---------------------------------------------------------------- */

/* Every family's grid holds its unconstrained form, so that cross-validation
 * can always fall back to it: softmax (full rank, no mixture) on the targets
 * persona-softmax trains, and persona-softmax's rank 0 beside its rank 3.
 * The constrained forms are there for data whose classes differ along a few
 * directions and whose apps come in a few kinds; on data that does not, CV
 * picks the plain form. The blend combines whichever families were trained.
 * libsvm (its time grows with rows squared), the L1 logistic regression and
 * the LIBLINEAR families (softmax's CV beat them) are left to --families;
 * XGBoost trains age only (its CV won age and lost the classification
 * targets, for a large share of the train stage), on a grid cut to one
 * cheap point. Figures: bench/RESULTS.md, "models". */
const dg_default_family dg_default_families[] = {
    {"prior", NULL},
    {"brand-model-prior", NULL},
    {"softmax@gender+group12", NULL},
    {"persona-softmax@gender+group12", NULL},
    {"phone-softmax@gender+group12", NULL},
    {"xgboost@age", "xgboost:eta=0.2 max_depth=3 rounds=40 subsample=0.8 colsample=0.8"},
    {"blend", NULL},
    {NULL, NULL}};

void dg_train_defaults(dg_train_opts *o)
{
    int nf = 0, ng = 0;
    while (nf < DG_TRAIN_MAX_FAMILIES - 1 && o->families[nf])
        nf++;
    while (ng < DG_TRAIN_MAX_FAMILIES - 1 && o->grids[ng])
        ng++;
    for (int i = 0; !nf && dg_default_families[i].family; i++)
        o->families[i] = dg_default_families[i].family;
    for (int i = 0; dg_default_families[i].family && ng < DG_TRAIN_MAX_FAMILIES - 1; i++) {
        const dg_default_family *d = &dg_default_families[i];
        size_t len = strcspn(d->family, "@");
        if (!d->grid)
            continue;
        int given = 0, trained = 0;
        for (int g = 0; g < ng; g++)
            given |= strncmp(o->grids[g], d->family, len) == 0 && o->grids[g][len] == ':';
        for (int k = 0; o->families[k]; k++)
            trained |= strcspn(o->families[k], "@") == len &&
                       strncmp(o->families[k], d->family, len) == 0;
        if (trained && !given)
            o->grids[ng++] = d->grid;
    }
}

/* ---- small helpers ----------------------------------------------------------- */

static uint64_t file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

uint64_t dg_labelled_checksum(const dg_labelled *l)
{
    uint64_t h = DG_FNV1A_INIT;
    for (uint32_t i = 0; i < l->n; i++) {
        h = dg_fnv1a(h, &l->device_id[i], sizeof l->device_id[i]);
        h = dg_fnv1a(h, &l->female[i], 1);
        h = dg_fnv1a(h, &l->age[i], sizeof l->age[i]);
        h = dg_fnv1a(h, &l->is_test[i], 1);
    }
    return h;
}
/* ---- the training state ---------------------------------------------------------- */

const char *train_variant_bags(const scenario *S, int v)
{
    return v == V_PHONE ? "none" : S->spec[v].bags == DG_BAG_TFIDF ? "tfidf" : "binary";
}

const char *train_variant_counts(const scenario *S, int v)
{
    return v == V_PHONE ? "none" : dg_count_form_names[S->spec[v].counts];
}

/* Variant v of scenario S: its spec, learnt on the train rows, applied to
 * the train and test rows. */
static int variant_build(trainer *T, scenario *S, int v, unsigned blocks, dg_bag_weight bags,
                         dg_count_form counts, double numeric_scale, dg_err *err)
{
    uint32_t minc = T->o->min_count ? T->o->min_count : 2;
    dg_design_spec_init(&S->spec[v]);
    if (dg_design_learn(&S->spec[v], T->f, S->tr_rows, S->ntr, blocks, bags, counts, minc,
                        err) != DG_OK)
        return DG_ERR;
    dg_design_scale_numeric(&S->spec[v], numeric_scale);
    if (dg_design_apply(&S->spec[v], T->f, S->tr_rows, S->ntr, &S->xtr[v], err) != DG_OK ||
        dg_design_apply(&S->spec[v], T->f, S->te_rows, S->nte, &S->xte[v], err) != DG_OK)
        return DG_ERR;
    S->has[v] = 1;
    return DG_OK;
}

static void variant_free(scenario *S, int v)
{
    dg_design_spec_free(&S->spec[v]);
    dg_csr_free(&S->xtr[v]);
    dg_csr_free(&S->xte[v]);
    S->has[v] = 0;
}

static void scenario_free(scenario *s)
{
    free(s->tr_lab);
    free(s->te_lab);
    free(s->tr_rows);
    free(s->te_rows);
    free(s->fold);
    for (int v = 0; v < NVARIANTS; v++)
        variant_free(s, v);
    dg_csr_free(&s->xall);
}

static int scenario_build(trainer *T, int s, dg_err *err)
{
    scenario *S = &T->sc[s];
    memset(S, 0, sizeof *S);
    S->s = s;
    const dg_labelled *l = &T->lab;
    S->tr_lab = dg_xmalloc(((size_t)l->n + 1) * sizeof *S->tr_lab);
    S->te_lab = dg_xmalloc(((size_t)l->n + 1) * sizeof *S->te_lab);
    for (uint32_t i = 0; i < l->n; i++) {
        if ((l->has_events[i] ? 1 : 2) != s)
            continue;
        if (l->is_test[i])
            S->te_lab[S->nte++] = i;
        else
            S->tr_lab[S->ntr++] = i;
    }
    if (S->ntr < (uint32_t)T->folds * 2)
        return dg_fail(err, "scenario %d has %u train devices; %d-fold cross-validation needs "
                            "at least %d (--scenarios %d trains the other scenario alone)",
                       s, S->ntr, T->folds, T->folds * 2, 3 - s);
    S->tr_rows = dg_xmalloc(((size_t)S->ntr + 1) * sizeof *S->tr_rows);
    S->te_rows = dg_xmalloc(((size_t)S->nte + 1) * sizeof *S->te_rows);
    for (uint32_t i = 0; i < S->ntr; i++)
        S->tr_rows[i] = l->row[S->tr_lab[i]];
    for (uint32_t i = 0; i < S->nte; i++)
        S->te_rows[i] = l->row[S->te_lab[i]];
    /* Stratified folds: each group12's train devices shuffled (seeded), then
     * dealt round-robin. */
    S->fold = dg_xmalloc((size_t)S->ntr + 1);
    uint32_t *members = dg_xmalloc(((size_t)S->ntr + 1) * sizeof *members);
    for (int g = 0; g < 12; g++) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < S->ntr; i++)
            if (l->group12[S->tr_lab[i]] == g)
                members[n++] = i;
        uint64_t state = T->o->seed ^ (0x5eedull * (uint64_t)(s * 16 + g + 1));
        for (uint32_t i = n; i > 1; i--) {
            uint32_t j = (uint32_t)(dg_splitmix64(&state) % i), t = members[i - 1];
            members[i - 1] = members[j];
            members[j] = t;
        }
        for (uint32_t i = 0; i < n; i++)
            S->fold[members[i]] = (uint8_t)(i % (uint32_t)T->folds);
    }
    free(members);
    for (int v = 0; v < NVARIANTS; v++) {
        /* the count forms' and scales' variants once the bags are chosen */
        if (v != V_PHONE && (s == 2 || (v != V_BINARY && v != V_TFIDF)))
            continue;
        unsigned blocks = v == V_PHONE ? DG_BLOCKS_PHONE : DG_BLOCKS_ALL;
        if (variant_build(T, S, v, blocks, v == V_TFIDF ? DG_BAG_TFIDF : DG_BAG_BINARY,
                          DG_COUNTS_LOG1P, 1, err) != DG_OK)
            return DG_ERR;
    }
    return DG_OK;
}

/* xall of scenario 1: every device with events, in the design of variant v. */
static int scenario_all_rows(trainer *T, scenario *S, int v, dg_err *err)
{
    const dg_features *f = T->f;
    int evcol = dg_features_col(f, "events");
    uint32_t *rows = dg_xmalloc(((size_t)f->ndevices + 1) * sizeof *rows), n = 0;
    for (uint32_t r = 0; evcol >= 0 && r < f->ndevices; r++)
        if (f->dense[(size_t)r * f->ncols + evcol] > 0)
            rows[n++] = r;
    int rc = dg_design_apply(&S->spec[v], f, rows, n, &S->xall, err);
    free(rows);
    S->has_all = rc == DG_OK;
    return rc;
}

static const char *family_grid(const trainer *T, const dg_model_family *fam)
{
    size_t n = strlen(fam->name);
    for (int i = 0; i < DG_TRAIN_MAX_FAMILIES && T->o->grids[i]; i++)
        if (strncmp(T->o->grids[i], fam->name, n) == 0 && T->o->grids[i][n] == ':')
            return T->o->grids[i] + n + 1;
    return fam->grid ? fam->grid : "";
}

void train_add_run(dg_train_result *r, const dg_run *run)
{
    r->runs = dg_xrealloc(r->runs, (r->nruns + 1) * sizeof *r->runs);
    r->runs[r->nruns++] = *run;
}

/* A cross-validated and refitted job: its run, its model file in runs/, and
 * the selection rule against the scenario and target's choice so far. */
static int job_finish(trainer *T, job *J, dg_err *err)
{
    scenario *S = J->S;
    dg_target t = J->t;
    const dg_model_family *fam = J->fam;
    dg_task kind = dg_target_task(t);
    int k = dg_target_nclasses(t);
    double *yte = dg_xmalloc(((size_t)S->nte + 1) * sizeof *yte);
    for (uint32_t i = 0; i < S->nte; i++)
        yte[i] = dg_labelled_y(&T->lab, t, S->te_lab[i]);
    dg_run run;
    memset(&run, 0, sizeof run);
    snprintf(run.family, sizeof run.family, "%s", fam->name);
    run.scenario = S->s;
    run.target = t;
    if (J->of)
        snprintf(run.params, sizeof run.params, "%s ", J->of->fam->name);
    else if (J->bases[0])
        snprintf(run.params, sizeof run.params, "%s ", J->bases);
    size_t at = strlen(run.params);
    dg_params_format(&J->combos[J->best], run.params + at, sizeof run.params - at);
    if (J->variant != V_PHONE) {
        size_t len = strlen(run.params);
        snprintf(run.params + len, sizeof run.params - len, "%sbags=%s", len ? " " : "",
                 train_variant_bags(S, J->variant));
        /* log1p, the form the first probe reads, goes unsaid */
        if (S->spec[J->variant].counts != DG_COUNTS_LOG1P) {
            len = strlen(run.params);
            snprintf(run.params + len, sizeof run.params - len, " counts=%s",
                     train_variant_counts(S, J->variant));
        }
        if (S->spec[J->variant].numeric_scale != 1) {
            len = strlen(run.params);
            snprintf(run.params + len, sizeof run.params - len, " numeric=x%g",
                     S->spec[J->variant].numeric_scale);
        }
    }
    run.ncombos = J->ncombos;
    run.cv_score = J->score[J->best];
    run.ntrain = S->ntr;
    run.ntest = S->nte;
    run.train_seconds = J->refit_seconds;
    run.cv_seconds = J->cv_seconds;
    run.ngrid = J->ncombos < DG_RUN_GRID ? J->ncombos : DG_RUN_GRID;
    for (int c = 0; c < run.ngrid; c++) {
        /* A combination the screen left out shows fold 1's score. */
        int every = !J->confirmed || J->fit[c];
        run.grid_cv[c] = every ? J->score[c] : J->screen[c];
        run.grid_folds[c] = every ? T->folds : isnan(J->screen[c]) ? 0 : 1;
        dg_params_format(&J->combos[c], run.grid_params[c], sizeof run.grid_params[c]);
    }
    dg_evaluate(kind, k, yte, J->pred, S->nte, &run.test);
    if (kind != DG_TASK_REGRESSION)
        dg_confusion(yte, kind == DG_TASK_MULTICLASS ? J->pred : NULL, J->pred, S->nte, k,
                     run.confusion);
    free(yte);
    char name[128];
    snprintf(name, sizeof name, "s%d-%s-%s.model", S->s, dg_target_name(t), fam->name);
    char *path = dg_path_join(T->staging_runs, name);
    int rc = fam->save(J->model, path, err);
    run.model_bytes = file_bytes(path);
    free(path);
    if (rc != DG_OK)
        return DG_ERR;
    train_add_run(T->res, &run);
    chosen *ch = &T->ch[S->s][t];
    double best = run.cv_score;
    if (!ch->have || best < ch->cv) {
        if (ch->have) { /* back to its job, which frees it after the blends */
            ch->from->model = ch->model;
            ch->from->pred = ch->test_pred;
        }
        *ch = (chosen){1, T->res->nruns - 1, fam, J->model, J->variant, best, J->pred,
                       J->combos[J->best], J};
        J->model = NULL;
        J->pred = NULL;
    }
    return DG_OK;
}


/* Frees scenario S's design variants but the phone blocks' and `keep`. */
static void free_unread_variants(scenario *S, int keep)
{
    for (int v = 0; v < NVARIANTS; v++)
        if (v != V_PHONE && v != keep)
            variant_free(S, v);
}

/* Frees the scale probe's job, if any. */
static void drop_probe(trainer *T)
{
    if (T->probe) {
        train_job_free(T->probe);
        free(T->probe);
        T->probe = NULL;
    }
}

/* Into sub: combination b of the grid and its neighbours along the
 * family's warm parameter (the penalty), the others' values as b's: the
 * points a scale is scored at once b is the best found. The whole grid
 * when the family has no warm parameter. Returns their count. */
static int penalty_neighbours(const dg_model_family *fam, const dg_params *combos, int ncombos,
                              int b, dg_params *sub)
{
    if (!fam->warm_param) {
        memcpy(sub, combos, sizeof *sub * (size_t)ncombos);
        return ncombos;
    }
    double v = dg_param(&combos[b], fam->warm_param, NAN), below = -INFINITY, above = INFINITY;
    int lo = -1, hi = -1;
    for (int c = 0; c < ncombos; c++) {
        if (!train_same_but(&combos[c], &combos[b], fam->warm_param))
            continue;
        double x = dg_param(&combos[c], fam->warm_param, NAN);
        if (x < v && x > below)
            below = x, lo = c;
        if (x > v && x < above)
            above = x, hi = c;
    }
    int n = 0;
    if (hi >= 0)
        sub[n++] = combos[hi]; /* the warm path starts at the strongest */
    sub[n++] = combos[b];
    if (lo >= 0)
        sub[n++] = combos[lo];
    return n;
}

/* The numeric block's scale against the one-hot blocks' (the two blocks'
 * relative L2 penalty, dg_design_scale_numeric), chosen after the bags and
 * the count form by the same family on the same fold. Standardised counts
 * and binary bags are on no common scale, so which block deserves the
 * larger weights depends on the data. Each scale is scored at its best
 * penalty on fold 1: at one penalty a scale mostly moves the numeric
 * weights to where a weaker penalty would put them anyway (at the grid's
 * middle the smooth world's probe chose x4, which lost to x1 at every
 * fold's best penalty). x1 and x2 by fold 1's screen of the whole grid
 * (each path ended at its first rising score), side by side; then the way
 * that won (x2 up, else x1/2 down) walked by factors of 2, two steps at a
 * time while the farther step wins, to x1/64 or x64, each step scored at
 * the best scale's best penalty and its two neighbours (the bags' best
 * penalty moves little with the numeric block's scale). Ties keep the
 * smaller step from x1. */
static int choose_numeric_scale(trainer *T, scenario *S, const dg_model_family *fam, dg_target t,
                                const dg_params *combos, int ncombos, dg_err *err)
{
    enum { MAX_STEPS = 6, MAX_TRIED = 2 + 2 * MAX_STEPS };
    static const int slots[] = {V_SCALED_1, V_SCALED_2, V_SCALED_3};
    const dg_bag_weight bags = S->spec[T->bags].bags;
    const dg_count_form counts = S->spec[T->bags].counts;
    double tried[MAX_TRIED], score[MAX_TRIED], seconds = 0;
    int ntried = 0, best = T->bags, rc = DG_OK, nsub = 0;
    double best_scale = 1, best_score = INFINITY, step = 0;
    char best_params[96] = "";
    dg_params *sub = dg_xcalloc((size_t)ncombos + 1, sizeof *sub);
    for (int round = 0; rc == DG_OK && round <= MAX_STEPS; round++) {
        double want[2];
        int n = 0;
        if (round == 0) {
            want[n++] = 1;
            want[n++] = 2;
        } else {
            /* two steps at once, one per core */
            for (double next = best_scale * step;
                 step != 0 && n < 2 && fabs(log2(next)) <= MAX_STEPS; next *= step)
                want[n++] = next;
        }
        if (!n)
            break;
        /* x1 is the variant chosen so far; the others go in the scaled
         * slots but the best's */
        int slot[2] = {T->bags, slots[0]};
        if (round > 0)
            for (int k = 0, ns = 0; k < 3 && ns < n; k++)
                if (slots[k] != best)
                    slot[ns++] = slots[k];
        job jobs[2];
        int njobs = 0;
        for (int k = 0; k < n && rc == DG_OK; k++)
            if (want[k] != 1) {
                variant_free(S, slot[k]);
                rc = variant_build(T, S, slot[k], DG_BLOCKS_ALL, bags, counts, want[k], err);
            }
        if (rc == DG_OK) {
            for (int k = 0; k < n; k++)
                train_job_init(&jobs[k], T, S, t, fam, round ? sub : combos,
                               round ? nsub : ncombos, slot[k]);
            njobs = n;
            train_plan_screens(T, jobs, (size_t)n);
            rc = train_screen(T, jobs, (size_t)n, "cross-validation: scenario 1 numeric: ", err);
        }
        double before = best_score;
        int best_combo = -1, keep = -1;
        for (int k = 0; k < njobs && rc == DG_OK; k++) {
            const job *J = &jobs[k];
            tried[ntried] = want[k];
            score[ntried++] = J->score[J->best];
            seconds += J->cv_seconds;
            if (J->score[J->best] < best_score) {
                best = slot[k];
                best_scale = want[k];
                best_score = J->score[J->best];
                dg_params_format(&J->combos[J->best], best_params, sizeof best_params);
                best_combo = J->best;
                keep = k;
            }
        }
        if (round == 0 && best_combo >= 0)
            nsub = penalty_neighbours(fam, combos, ncombos, best_combo, sub);
        for (int k = 0; k < njobs; k++) {
            if (k != keep) {
                train_job_free(&jobs[k]);
                continue;
            }
            /* The best scale's screen so far: the family's job on this
             * target takes it (dg_train), as its own fold-1 screen. */
            drop_probe(T);
            T->probe = dg_xmalloc(sizeof *T->probe);
            *T->probe = jobs[k];
            if (round > 0 && !T->probe->own_combos) { /* sub is freed below */
                T->probe->own_combos = dg_xmalloc((size_t)nsub * sizeof *sub);
                memcpy(T->probe->own_combos, sub, (size_t)nsub * sizeof *sub);
                T->probe->combos = T->probe->own_combos;
            }
        }
        if (round == 0)
            step = best_scale == 1 ? 0.5 : 2; /* the way to walk: x2 won, or try below x1 */
        else if (!(best_score < before) || best_scale != want[n - 1])
            step = 0; /* no gain, or the nearer step won: the turn is passed */
    }
    free(sub);
    if (rc == DG_OK) {
        char scores[200];
        int at = 0;
        scores[0] = 0;
        for (int k = 0; k < ntried && at >= 0 && (size_t)at < sizeof scores; k++)
            at += snprintf(scores + at, sizeof scores - (size_t)at, "%sx%g %.4f", k ? ", " : "",
                           tried[k], score[k]);
        snprintf(T->res->numeric, sizeof T->res->numeric,
                 "scenario 1: x%g, by fold 1 of the %d-fold cross-validation of %s on %s at its "
                 "best penalty (%s) with %s bags and %s counts (%s)",
                 best_scale, T->folds, fam->name, dg_target_name(t), best_params,
                 train_variant_bags(S, best), train_variant_counts(S, best), scores);
        T->res->numeric_seconds = seconds;
        T->bags = best;
    }
    free_unread_variants(S, T->bags);
    return rc;
}

/* The bag weighting of scenario 1, chosen once for every family: binary
 * against tf-idf app and label bags, by one probe (the first family that
 * reads the bags, on group12 when it is trained, at the middle of its grid)
 * scored on the first fold held out: a fifth of five folds' fits. Where the
 * weightings differ by more than the folds' noise one fold sees it, and
 * where they do not either is as good. Ties keep binary. */
static int choose_bags(trainer *T, const dg_model_family *const *fams, int nf,
                       dg_params *const *combos, const int *ncombos, const unsigned *ftargets,
                       dg_err *err)
{
    scenario *S = &T->sc[1];
    T->bags = V_BINARY;
    const dg_model_family *fam = NULL;
    int j = -1;
    dg_target t = DG_TARGET_GROUP12;
    for (int pass = 0; pass < 2 && !fam; pass++)
        for (int i = 0; i < nf && !fam; i++) {
            if (fams[i]->phone_only)
                continue;
            for (int x = pass ? 0 : DG_TARGET_GROUP12;
                 x < (pass ? DG_TARGET_COUNT : DG_TARGET_GROUP12 + 1) && !fam; x++)
                if ((ftargets[i] & (1u << x)) && (fams[i]->tasks & (1u << dg_target_task(x)))) {
                    fam = fams[i];
                    j = i;
                    t = (dg_target)x;
                }
        }
    if (!fam)
        return DG_OK;
    /* The count forms the probe tries after the bags' (which scored log1p). */
    static const dg_count_form count_forms[] = {DG_COUNTS_RAW, DG_COUNTS_SHARES,
                                                DG_COUNTS_RAW_LOG1P};
    static const int count_variants[] = {V_RAW, V_SHARES, V_RAW_LOG1P};
    enum { NCOUNTS = sizeof count_forms / sizeof *count_forms };
    job jobs[2 + NCOUNTS];
    const dg_params *mid = &combos[j][ncombos[j] / 2];
    train_job_init(&jobs[0], T, S, t, fam, mid, 1, V_BINARY);
    train_job_init(&jobs[1], T, S, t, fam, mid, 1, V_TFIDF);
    int rc = train_cross_validate(T, jobs, 2, 1, "cross-validation: scenario 1 bags: ", err);
    char pbuf[96];
    dg_params_format(mid, pbuf, sizeof pbuf);
    if (rc == DG_OK) {
        T->bags = jobs[1].score[0] < jobs[0].score[0] ? V_TFIDF : V_BINARY;
        snprintf(T->res->bags, sizeof T->res->bags,
                 "scenario 1: %s, by fold 1 of the %d-fold cross-validation of %s%s%s on %s "
                 "(binary %.4f, tfidf %.4f)",
                 train_variant_bags(S, T->bags), T->folds, fam->name, pbuf[0] ? " " : "", pbuf,
                 dg_target_name(t), jobs[0].score[0], jobs[1].score[0]);
        T->res->bags_seconds = jobs[0].cv_seconds + jobs[1].cv_seconds;
    }
    /* Then the count form, on the chosen bags, by the same probe. */
    dg_bag_weight w = S->spec[T->bags].bags;
    for (int k = 0; k < NCOUNTS && rc == DG_OK; k++)
        rc = variant_build(T, S, count_variants[k], DG_BLOCKS_ALL, w, count_forms[k], 1, err);
    int ncounts = 0;
    if (rc == DG_OK) {
        for (int k = 0; k < NCOUNTS; k++)
            train_job_init(&jobs[2 + k], T, S, t, fam, mid, 1, count_variants[k]);
        ncounts = NCOUNTS;
        rc = train_cross_validate(T, jobs + 2, NCOUNTS, 1, "cross-validation: scenario 1 counts: ",
                                 err);
    }
    if (rc == DG_OK) {
        double log_score = jobs[T->bags == V_TFIDF].score[0];
        int best = T->bags;
        double best_score = log_score;
        for (int k = 2; k < 2 + NCOUNTS; k++)
            if (jobs[k].score[0] < best_score) { /* ties keep log1p */
                best = jobs[k].variant;
                best_score = jobs[k].score[0];
            }
        snprintf(T->res->counts, sizeof T->res->counts,
                 "scenario 1: %s, by fold 1 of the %d-fold cross-validation of %s%s%s on %s "
                 "with %s bags (log1p %.4f, raw %.4f, shares %.4f, raw+log1p %.4f)",
                 dg_count_form_names[S->spec[best].counts], T->folds, fam->name,
                 pbuf[0] ? " " : "", pbuf, dg_target_name(t), train_variant_bags(S, T->bags),
                 log_score, jobs[2].score[0], jobs[3].score[0], jobs[4].score[0]);
        T->res->counts_seconds = 0;
        for (int k = 2; k < 2 + NCOUNTS; k++)
            T->res->counts_seconds += jobs[k].cv_seconds;
        T->bags = best;
    }
    for (int k = 0; k < 2 + ncounts; k++)
        train_job_free(&jobs[k]);
    free_unread_variants(S, T->bags);
    if (rc == DG_OK)
        rc = choose_numeric_scale(T, S, fam, t, combos[j], ncombos[j], err);
    return rc;
}

/* ---- the whole run ------------------------------------------------------------------ */

void dg_train_result_free(dg_train_result *r)
{
    free(r->runs);
    free(r->ablation);
    memset(r, 0, sizeof *r);
}

int dg_train(const dg_dataset *ds, const dg_features *f, const dg_train_opts *o,
             dg_train_result *out, dg_err *err)
{
    memset(out, 0, sizeof *out);
    double started = dg_now();
    trainer T;
    memset(&T, 0, sizeof T);
    T.ds = ds;
    T.f = f;
    T.o = o;
    T.res = out;
    T.hist = o->history;
    T.folds = o->folds ? o->folds : DG_TRAIN_FOLDS_DEFAULT;
    if (T.folds < 2 || T.folds > 50)
        return dg_fail(err, "folds: %d; expected 2 to 50", T.folds);
    unsigned targets = o->targets ? o->targets : (1u << DG_TARGET_COUNT) - 1;
    unsigned scen = o->scenarios ? o->scenarios : 3;
    /* Families by name; the prior always runs (it is every run's baseline). */
    const dg_model_family *fams[DG_TRAIN_MAX_FAMILIES + 2];
    unsigned ftargets[DG_TRAIN_MAX_FAMILIES + 2]; /* the targets each family trains */
    int nf = 0;
    ftargets[nf] = targets;
    fams[nf++] = dg_model_family_find("prior");
    if (o->families[0]) {
        for (int i = 0; i < DG_TRAIN_MAX_FAMILIES && o->families[i]; i++) {
            /* NAME, or NAME@TARGET+TARGET...: the family on those targets only. */
            char name[64];
            const char *at = strchr(o->families[i], '@');
            size_t len = at ? (size_t)(at - o->families[i]) : strlen(o->families[i]);
            snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1),
                     o->families[i]);
            unsigned only = at ? 0 : targets;
            for (const char *w = at; w && *w;) {
                w++;
                size_t wl = strcspn(w, "+");
                char tname[16];
                snprintf(tname, sizeof tname, "%.*s", (int)(wl < sizeof tname ? wl : 15), w);
                int t = dg_target_by_name(tname);
                if (t < 0 || wl >= sizeof tname)
                    return dg_fail(err, "families: '%s': no target '%.*s' (gender, age, group6, "
                                        "group12)",
                                   o->families[i], (int)wl, w);
                only |= targets & (1u << t);
                w += wl;
            }
            const dg_model_family *fam = dg_model_family_find(name);
            if (fam == &dg_family_blend) {
                /* No direct job: a blend after the others (train_with_blends). */
                unsigned classify = targets & ~(1u << DG_TARGET_AGE);
                if (at && (only & (1u << DG_TARGET_AGE)))
                    return dg_fail(err, "families: '%s': blend combines the classifiers' "
                                        "probabilities; age is not blended",
                                   o->families[i]);
                T.blend_targets |= at ? only : classify;
                continue;
            }
            if (!fam) {
                char known[1024] = "";
                for (const dg_model_family *const *k = dg_model_families; *k; k++)
                    snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                             known[0] ? ", " : "", (*k)->name);
                return dg_fail(err, "no model family '%s' (families: %s, blend)",
                               o->families[i], known);
            }
            int dup = -1;
            for (int j = 0; j < nf; j++)
                if (fams[j] == fam)
                    dup = j;
            if (dup < 0) {
                ftargets[nf] = only;
                fams[nf++] = fam;
            } else if (dup > 0) {
                ftargets[dup] |= only;
            }
        }
    } else {
        for (const dg_model_family *const *k = dg_model_families; *k && nf < DG_TRAIN_MAX_FAMILIES;
             k++)
            if (*k != fams[0]) {
                ftargets[nf] = targets;
                fams[nf++] = *k;
            }
    }
    /* The grids, checked before any work. */
    dg_params *combos[DG_TRAIN_MAX_FAMILIES + 2];
    int ncombos[DG_TRAIN_MAX_FAMILIES + 2];
    memset(combos, 0, sizeof combos);
    for (int i = 0; i < DG_TRAIN_MAX_FAMILIES && o->grids[i]; i++) {
        const char *colon = strchr(o->grids[i], ':');
        int found = 0;
        for (int j = 0; colon && j < nf; j++)
            found |= strlen(fams[j]->name) == (size_t)(colon - o->grids[i]) &&
                     strncmp(fams[j]->name, o->grids[i], (size_t)(colon - o->grids[i])) == 0;
        found |= T.blend_targets && colon && colon - o->grids[i] == 5 &&
                 strncmp(o->grids[i], "blend", 5) == 0;
        if (!found)
            return dg_fail(err, "grid '%s': expected FAMILY:PARAMS with a family being trained",
                           o->grids[i]);
    }
    dg_params *blend_combos = NULL;
    int nblend_combos = 0;
    int rc = DG_OK;
    for (int j = 0; j < nf && rc == DG_OK; j++)
        rc = grid_expand(fams[j]->name, family_grid(&T, fams[j]), fams[j]->param_names,
                         &combos[j], &ncombos[j], err);
    if (rc == DG_OK && T.blend_targets)
        rc = grid_expand(dg_family_blend.name, family_grid(&T, &dg_family_blend),
                         dg_family_blend.param_names, &blend_combos, &nblend_combos, err);
    if (rc == DG_OK)
        rc = dg_labelled_build(ds, f, o->test_share > 0 ? o->test_share : 0.2, o->seed, &T.lab,
                               err);
    if (rc != DG_OK)
        goto done;
    T.checksum = dg_labelled_checksum(&T.lab);
    snprintf(out->split_text, sizeof out->split_text, "%s", T.lab.split_text);
    snprintf(out->rule, sizeof out->rule,
             "per target and scenario, the lowest %d-fold cross-validation score on the train "
             "split (log loss; RMSE for age) is chosen",
             T.folds);
    out->nlabelled = T.lab.n;
    rc = dg_mkdirs(o->out_dir, err);
    if (rc != DG_OK)
        goto done;
    T.staging = dg_path_join(o->out_dir, ".train-staging");
    dg_rm_tree(T.staging);
    T.staging_runs = dg_path_join(T.staging, "runs");
    T.staging_models = dg_path_join(T.staging, "models");
    rc = dg_mkdirs(T.staging_runs, err);
    if (rc == DG_OK)
        rc = dg_mkdirs(T.staging_models, err);
    for (int s = 1; s <= 2 && rc == DG_OK; s++)
        if (scen & (1u << (s - 1))) {
            rc = scenario_build(&T, s, err);
            out->ntrain[s] = T.sc[s].ntr;
            out->ntest[s] = T.sc[s].nte;
        }
    if (rc == DG_OK && o->design_dir)
        rc = train_export_designs(&T, o->design_dir, err);
    /* The jobs, in the order of the runs: scenario, target, family. */
    job *jobs = NULL;
    size_t njobs = 0;
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++)
            for (int j = 0; j < nf; j++)
                if ((scen & (1u << (s - 1))) && (ftargets[j] & (1u << t)) &&
                    (fams[j]->tasks & (1u << dg_target_task((dg_target)t))))
                    njobs++;
    /* Progress in fits weighed by their cost: folds per combination, plus
     * the refit, and scenario 1's bag and count probes. */
    if (rc == DG_OK)
        train_plan(&T, fams, nf, ncombos, ftargets, scen);
    if (rc == DG_OK && (scen & 1))
        rc = choose_bags(&T, fams, nf, combos, ncombos, ftargets, err);
    if (rc == DG_OK && (scen & 1) && T.bags != V_PHONE)
        rc = scenario_all_rows(&T, &T.sc[1], T.bags, err);
    if (rc != DG_OK)
        njobs = 0; /* none made */
    if (rc == DG_OK) {
        jobs = dg_xcalloc(njobs + 1, sizeof *jobs);
        njobs = 0;
        for (int s = 1; s <= 2; s++)
            for (int t = 0; t < DG_TARGET_COUNT; t++)
                for (int j = 0; j < nf; j++)
                    if ((scen & (1u << (s - 1))) && (ftargets[j] & (1u << t)) &&
                        (fams[j]->tasks & (1u << dg_target_task((dg_target)t))))
                        train_job_init(&jobs[njobs++], &T, &T.sc[s], (dg_target)t, fams[j], combos[j],
                                 ncombos[j],
                                 s == 2 || fams[j]->phone_only ? V_PHONE : T.bags);
        /* The scale probe's screen at the chosen scale is its family's
         * job's on the probe's target: not screened twice. */
        for (size_t i = 0; T.probe && i < njobs; i++)
            if (train_job_take_screen(&T, &jobs[i], T.probe))
                break;
        drop_probe(&T);
        /* A job may fit fewer combinations than its family's grid holds. */
        T.work_total = T.work_done;
        train_plan_jobs(&T, jobs, njobs, 1);
        rc = train_cross_validate(&T, jobs, njobs, T.folds, "cross-validation: ", err);
    }
    if (rc == DG_OK)
        rc = train_refit(&T, jobs, njobs, err);
    job extra[6]; /* group12-sum of gender, age and group6 in each scenario */
    memset(extra, 0, sizeof extra);
    size_t nlist = 0;
    job **list = rc == DG_OK ? train_with_group12_sum(&T, jobs, njobs, extra, &nlist) : NULL;
    job blends[6]; /* a blend per scenario and classification target */
    memset(blends, 0, sizeof blends);
    if (list && T.blend_targets) {
        job **with = train_with_blends(&T, list, nlist, blends, blend_combos, nblend_combos,
                                      &nlist, err);
        free(list);
        list = with;
        rc = with ? DG_OK : DG_ERR;
        if (!with)
            nlist = 0;
    }
    for (size_t i = 0; i < nlist && rc == DG_OK; i++) {
        rc = job_finish(&T, list[i], err);
        int s = list[i]->S->s;
        dg_target t = list[i]->t;
        int last = i + 1 == nlist || list[i + 1]->S->s != s || list[i + 1]->t != t;
        if (rc == DG_OK && last && T.ch[s][t].have) {
            out->runs[T.ch[s][t].run].chosen = 1;
            rc = train_export_chosen(&T, s, t, err);
        }
    }
    free(list);
    /* The blend and group12-sum models borrow other jobs' models: free them
     * first. */
    for (int i = 0; i < 6; i++)
        if (blends[i].S)
            train_job_free(&blends[i]);
    for (int i = 0; i < 6; i++)
        if (extra[i].S)
            train_job_free(&extra[i]);
    for (size_t i = 0; i < njobs; i++)
        train_job_free(&jobs[i]);
    free(jobs);
    if (rc == DG_OK && o->ablation)
        rc = train_ablate(&T, err);
    for (int t = 0; t < DG_TARGET_COUNT && rc == DG_OK; t++)
        train_add_combined(&T, (dg_target)t);
    if (rc == DG_OK)
        rc = train_export_test_devices(&T, err);
    if (rc == DG_OK) /* last: it seals every file of models/ */
        rc = dg_model_dir_seal(T.staging_models, T.checksum, err);
    if (rc == DG_OK)
        rc = train_write_split(&T, err);
    if (rc == DG_OK) { /* the charts' numbers always; their PNGs with o->charts */
        rc = train_chart_roc(&T, err);
        if (rc == DG_OK)
            rc = train_chart_calibration(&T, err);
        for (int s = 1; s <= 2 && rc == DG_OK; s++)
            rc = train_chart_residuals(&T, s, err);
    }
    out->seconds = dg_now() - started;
    if (rc == DG_OK)
        rc = dg_runs_write(out, o->out_dir, err);
    if (rc == DG_OK) {
        char *runs = dg_path_join(o->out_dir, "runs"), *models = dg_path_join(o->out_dir, "models");
        rc = dg_dir_publish(T.staging_runs, runs, err);
        if (rc == DG_OK)
            rc = dg_dir_publish(T.staging_models, models, err);
        free(runs);
        free(models);
    }
done:
    drop_probe(&T);
    if (T.staging)
        dg_rm_tree(T.staging);
    free(T.staging);
    free(T.staging_runs);
    free(T.staging_models);
    for (int s = 1; s <= 2; s++) {
        scenario_free(&T.sc[s]);
        for (int t = 0; t < DG_TARGET_COUNT; t++)
            if (T.ch[s][t].have) {
                T.ch[s][t].family->free(T.ch[s][t].model);
                free(T.ch[s][t].test_pred);
            }
    }
    for (int j = 0; j < nf; j++)
        free(combos[j]);
    free(blend_combos);
    dg_labelled_free(&T.lab);
    if (rc != DG_OK)
        dg_train_result_free(out);
    return rc;
}

