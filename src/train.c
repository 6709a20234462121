/* Training: designs per scenario, cross-validation over each family's grid,
 * refit, test metrics, the selection rule and the whole run (see train.h;
 * the export, charts and runs files are train_export.c, train_charts.c and
 * train_runs.c). */
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
                         dg_count_form counts, dg_err *err)
{
    uint32_t minc = T->o->min_count ? T->o->min_count : 2;
    dg_design_spec_init(&S->spec[v]);
    if (dg_design_learn(&S->spec[v], T->f, S->tr_rows, S->ntr, blocks, bags, counts, minc,
                        err) != DG_OK ||
        dg_design_apply(&S->spec[v], T->f, S->tr_rows, S->ntr, &S->xtr[v], err) != DG_OK ||
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
        if ((s == 2 && v != V_PHONE) || v == V_RAW || v == V_SHARES)
            continue; /* the count forms' variants once the bags are chosen */
        unsigned blocks = v == V_PHONE ? DG_BLOCKS_PHONE : DG_BLOCKS_ALL;
        if (variant_build(T, S, v, blocks, v == V_TFIDF ? DG_BAG_TFIDF : DG_BAG_BINARY,
                          DG_COUNTS_LOG1P, err) != DG_OK)
            return DG_ERR;
    }
    return DG_OK;
}

/* ---- jobs: cross-validation side by side -------------------------------------------
 *
 * A job is one family on one target of one scenario. Its work is a task per
 * fold (the fold's matrices are taken once and the whole grid is fit on
 * them, in the order of the family's warm path, each fit starting from the
 * one before) and then the refit on the whole train split. The tasks run on
 * a few worker threads; every fit is single-threaded and seeded by its fold,
 * and a task writes only its own slots, so the results are the same bits
 * whatever the number of threads and whatever order the tasks finish in. */

typedef struct job job;
struct job {
    scenario *S;
    dg_target t;
    const dg_model_family *fam;
    const dg_params *combos;
    int ncombos;
    dg_params *own_combos; /* combos when the job's own (job_distinct_combos) */
    int variant;
    int *order;            /* the combinations in the order a fold fits them */
    int *path;             /* per combination: its warm path (the first combination of it) */
    unsigned char *fit;    /* per combination: whether the current phase's folds fit it */
    double *screen;        /* per combination: fold 1's score in the screen (NaN: not fit) */
    int confirmed;         /* 1: only the screen's best went on to every fold */
    void **first;          /* per combination: fold 1's model (warm families), the start
                            * of the other folds' and the refit's fits */
    double *y;             /* per train row */
    double *oof;           /* [combo][train row][nout]: out-of-fold predictions */
    double *score;         /* per combination */
    int best;
    double cv_seconds;     /* the fold tasks' seconds, summed */
    void *model;           /* the refit */
    double *pred;          /* its test predictions */
    double refit_seconds;
    const job *of;         /* group12-sum: the group12 job it reads */
    char bases[160];       /* blend: its bases' families, "bases=A+B" */
    const dg_csr *x;       /* its train design: S->xtr[variant], or an ablation's */
    const dg_csr *all;     /* the scenario's unlabelled rows in that design, or NULL */
};

typedef struct task {
    job *j;
    int fold;              /* -1: the refit */
    int screen;            /* 1: fold 1's whole grid, each path stopped when its score rose */
    int seeded;            /* 1: the first fit starts from fold 1's model (J->first) */
    int rc, combo;         /* the failure and the combination that failed */
    dg_err err;
    double seconds;
} task;

typedef struct pool {
    trainer *T;
    task *tasks;
    size_t n, next, done;
    size_t cap;            /* room for the other folds a finished screen adds */
    double fits;           /* finished, for the progress */
    const char *label;     /* of the job most recently started */
    int stop;
    pthread_mutex_t mu;
    pthread_cond_t cond;
} pool;

static int job_nout(const job *J)
{
    return dg_task_nout(dg_target_task(J->t), dg_target_nclasses(J->t));
}

/* Whether combinations a and b differ at most in parameter `except`. */
static int same_but(const dg_params *a, const dg_params *b, const char *except)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->name[i], except) != 0 &&
            dg_param(b, a->name[i], NAN) != a->value[i])
            return 0;
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->name[i], except) != 0 && isnan(dg_param(a, b->name[i], NAN)))
            return 0;
    return 1;
}

/* The combinations that give different fits on a target of k classes: a
 * softmax "rank" (softmax, phone-softmax, persona-softmax) of k or more is
 * no constraint, the same fit as rank 0 (model_softmax.c), so a grid that
 * offers rank 0 beside a low rank (the unconstrained form beside the
 * constrained, for CV to choose) fits each once on gender's two classes.
 * The first of equal combinations stays; *own is the new array (NULL when
 * none went), the caller frees it. */
static const dg_params *job_distinct_combos(const dg_params *combos, int *n, int k,
                                            dg_params **own)
{
    *own = NULL;
    int any = 0;
    for (int c = 0; c < *n && !any; c++) {
        double r = dg_param(&combos[c], "rank", NAN);
        any = k > 0 && r >= k;
    }
    if (!any)
        return combos;
    dg_params *out = dg_xcalloc((size_t)*n, sizeof *out);
    int m = 0;
    for (int c = 0; c < *n; c++) {
        dg_params p = combos[c];
        for (int i = 0; i < p.n; i++)
            if (strcmp(p.name[i], "rank") == 0 && p.value[i] >= k)
                p.value[i] = 0;
        int dup = 0;
        for (int e = 0; e < m && !dup; e++)
            dup = out[e].n == p.n && same_but(&out[e], &p, "");
        if (!dup)
            out[m++] = p;
    }
    *n = m;
    *own = out;
    return out;
}

static void job_init(job *J, trainer *T, scenario *S, dg_target t, const dg_model_family *fam,
                     const dg_params *combos, int ncombos, int variant)
{
    memset(J, 0, sizeof *J);
    J->S = S;
    J->t = t;
    J->fam = fam;
    J->ncombos = ncombos;
    J->combos = job_distinct_combos(combos, &J->ncombos, dg_target_nclasses(t), &J->own_combos);
    J->variant = variant;
    J->x = &S->xtr[variant];
    J->all = S->has_all && variant != V_PHONE ? &S->xall : NULL;
    J->y = dg_xmalloc(((size_t)S->ntr + 1) * sizeof *J->y);
    for (uint32_t i = 0; i < S->ntr; i++)
        J->y[i] = dg_labelled_y(&T->lab, t, S->tr_lab[i]);
    ncombos = J->ncombos;
    J->oof = dg_xcalloc((size_t)ncombos * S->ntr * (size_t)job_nout(J) + 1, sizeof *J->oof);
    J->score = dg_xmalloc((size_t)ncombos * sizeof *J->score);
    /* The warm paths: one per setting of the other parameters (in the
     * grid's order of their first combination), each by the family's
     * penalty, the strongest first, so that every fit but a path's first
     * starts from a model of the same settings. A stable order. */
    J->order = dg_xmalloc((size_t)ncombos * sizeof *J->order);
    J->path = dg_xmalloc((size_t)ncombos * sizeof *J->path);
    J->fit = dg_xmalloc((size_t)ncombos);
    memset(J->fit, 1, (size_t)ncombos);
    J->screen = dg_xmalloc((size_t)ncombos * sizeof *J->screen);
    for (int c = 0; c < ncombos; c++)
        J->screen[c] = NAN;
    J->first = dg_xcalloc((size_t)ncombos, sizeof *J->first);
    int *path = J->path;
    for (int c = 0; c < ncombos; c++) {
        J->order[c] = c;
        path[c] = c;
        for (int e = 0; e < c && path[c] == c && fam->warm_param; e++)
            if (same_but(&J->combos[c], &J->combos[e], fam->warm_param))
                path[c] = path[e];
    }
    if (fam->warm_param)
        for (int i = 1; i < ncombos; i++)
            for (int k = i; k > 0; k--) {
                int pa = path[J->order[k - 1]], pb = path[J->order[k]];
                double a = dg_param(&J->combos[J->order[k - 1]], fam->warm_param, 0),
                       b = dg_param(&J->combos[J->order[k]], fam->warm_param, 0);
                if (!(pb < pa || (pb == pa && (fam->warm_descending ? b > a : b < a))))
                    break;
                int x = J->order[k];
                J->order[k] = J->order[k - 1];
                J->order[k - 1] = x;
            }
}

static void job_free(job *J)
{
    free(J->y);
    free(J->oof);
    free(J->score);
    free(J->order);
    free(J->path);
    free(J->fit);
    free(J->screen);
    for (int c = 0; J->first && c < J->ncombos; c++)
        if (J->first[c])
            J->fam->free(J->first[c]);
    free(J->first);
    free(J->own_combos);
    if (J->model)
        J->fam->free(J->model);
    free(J->pred);
    memset(J, 0, sizeof *J);
}

static void block_columns(const dg_design_spec *s, unsigned bit, uint32_t *lo, uint32_t *hi);

/* The job's design's app block and its scenario's unlabelled rows, for the
 * families that learn from the apps without labels. */
static void job_apps(const job *J, dg_trainset *ts)
{
    block_columns(&J->S->spec[J->variant], DG_BLOCK_APPS, &ts->apps_lo, &ts->apps_hi);
    ts->unlabelled = J->all;
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

static int pool_fit_done(pool *P, int fits)
{
    pthread_mutex_lock(&P->mu);
    P->fits += fits;
    int stop = P->stop;
    pthread_cond_broadcast(&P->cond);
    pthread_mutex_unlock(&P->mu);
    return stop;
}

/* One fold of a job: its grid along the warm path. */
static void run_fold(pool *P, task *tk)
{
    trainer *T = P->T;
    job *J = tk->j;
    scenario *S = J->S;
    const dg_model_family *fam = J->fam;
    dg_task kind = dg_target_task(J->t);
    int k = dg_target_nclasses(J->t), nout = job_nout(J), fo = tk->fold;
    uint32_t *in = dg_xmalloc(((size_t)S->ntr + 1) * sizeof *in);
    uint32_t *out = dg_xmalloc(((size_t)S->ntr + 1) * sizeof *out);
    double *yin = dg_xmalloc(((size_t)S->ntr + 1) * sizeof *yin);
    uint32_t nin = 0, nho = 0;
    for (uint32_t i = 0; i < S->ntr; i++) {
        if (S->fold[i] == fo)
            out[nho++] = i;
        else {
            yin[nin] = J->y[i];
            in[nin++] = i;
        }
    }
    dg_csr xin, xout;
    dg_csr_take_rows(J->x, in, nin, &xin);
    dg_csr_take_rows(J->x, out, nho, &xout);
    double *pred = dg_xmalloc(((size_t)nho * nout + 1) * sizeof *pred);
    double *yho = NULL;
    int stopped_path = -1; /* the screen: the path whose score rose */
    double path_best = INFINITY;
    if (tk->screen) {
        yho = dg_xmalloc(((size_t)nho + 1) * sizeof *yho);
        for (uint32_t r = 0; r < nho; r++)
            yho[r] = J->y[out[r]];
    }
    /* The model the next fit starts from: the path's previous point, and
     * on the other folds fold 1's model (the optimum moves little with a
     * fifth of the rows). Fold 1's models stay with the job (J->first). */
    void *prev = NULL;
    int prev_owned = 0;
    tk->rc = DG_OK;
    for (int i = 0; i < J->ncombos && tk->rc == DG_OK; i++) {
        int c = J->order[i];
        if (!J->fit[c])
            continue;
        if (tk->seeded && !prev && fam->warm_param)
            prev = J->first[c];
        if (tk->screen && J->path[c] == stopped_path) {
            /* Counted as done, so that the progress reaches its end. */
            if (pool_fit_done(P, 1)) {
                tk->rc = dg_cancel(&tk->err, "cancelled");
                tk->combo = c;
            }
            continue;
        }
        if (tk->screen && (i == 0 || J->path[c] != J->path[J->order[i - 1]]))
            path_best = INFINITY; /* a new path */
        dg_trainset ts = {&xin, yin, NULL, kind, kind == DG_TASK_BINARY ? 2 : k,
                          T->o->seed + (uint64_t)fo, 1, prev, 0, 0, NULL};
        job_apps(J, &ts);
        void *model = NULL;
        tk->rc = fam->fit(&ts, &J->combos[c], &model, NULL, &tk->err);
        if (tk->rc == DG_OK)
            tk->rc = fam->predict(model, &xout, pred, &tk->err);
        if (tk->rc == DG_OK) {
            double *o = J->oof + (size_t)c * S->ntr * nout;
            for (uint32_t r = 0; r < nho; r++)
                memcpy(o + (size_t)out[r] * nout, pred + (size_t)r * nout,
                       (size_t)nout * sizeof *pred);
            if (tk->screen) {
                /* Along a penalty path the held-out score falls to the
                 * optimum and rises after it: the first rise ends the
                 * path, since its weaker penalties, the slowest fits,
                 * overfit more still. */
                dg_eval e;
                dg_evaluate(kind, k, yho, pred, nho, &e);
                J->screen[c] = dg_eval_score(&e);
                if (J->screen[c] > path_best)
                    stopped_path = J->path[c];
                else
                    path_best = J->screen[c];
            }
        } else {
            tk->combo = c;
        }
        if (prev && prev_owned)
            fam->free(prev);
        prev = NULL;
        prev_owned = 0;
        if (model && fam->warm_param) {
            prev = model;
            if (fo == 0)
                J->first[c] = model;
            else
                prev_owned = 1;
        } else if (model) {
            fam->free(model);
        }
        if (pool_fit_done(P, 1) && tk->rc == DG_OK) {
            tk->rc = dg_cancel(&tk->err, "cancelled");
            tk->combo = c;
        }
    }
    if (prev && prev_owned)
        fam->free(prev);
    free(pred);
    free(yho);
    dg_csr_free(&xin);
    dg_csr_free(&xout);
    free(in);
    free(out);
    free(yin);
}

/* The refit of a job's best combination on the whole train split, and its
 * test predictions. */
static void run_refit(pool *P, task *tk)
{
    trainer *T = P->T;
    job *J = tk->j;
    scenario *S = J->S;
    dg_task kind = dg_target_task(J->t);
    int k = dg_target_nclasses(J->t);
    /* From fold 1's model of the chosen combination: the same optimum, in
     * fewer iterations than from nothing. */
    dg_trainset ts = {J->x, J->y, NULL, kind, kind == DG_TASK_BINARY ? 2 : k, T->o->seed, 1,
                      J->fam->warm_param ? J->first[J->best] : NULL, 0, 0, NULL};
    job_apps(J, &ts);
    J->pred = dg_xmalloc(((size_t)S->nte * job_nout(J) + 1) * sizeof *J->pred);
    double t0 = dg_now();
    tk->rc = J->fam->fit(&ts, &J->combos[J->best], &J->model, NULL, &tk->err);
    J->refit_seconds = dg_now() - t0;
    if (tk->rc == DG_OK)
        tk->rc = J->fam->predict(J->model, &S->xte[J->variant], J->pred, &tk->err);
    tk->combo = J->best;
    if (pool_fit_done(P, 1) && tk->rc == DG_OK)
        tk->rc = dg_cancel(&tk->err, "cancelled");
}

static void screen_done(pool *P, const task *tk);

static void *pool_worker(void *arg)
{
    pool *P = arg;
    for (;;) {
        pthread_mutex_lock(&P->mu);
        /* A screen still running may add tasks: wait for it. */
        while (!P->stop && P->next == P->n && P->done < P->next)
            pthread_cond_wait(&P->cond, &P->mu);
        if (P->stop || P->next == P->n) {
            pthread_mutex_unlock(&P->mu);
            return NULL;
        }
        task *tk = &P->tasks[P->next++];
        P->label = tk->fold < 0 ? "refit" : tk->j->fam->name;
        pthread_mutex_unlock(&P->mu);
        double t0 = dg_now();
        if (tk->fold < 0)
            run_refit(P, tk);
        else
            run_fold(P, tk);
        tk->seconds = dg_now() - t0;
        pthread_mutex_lock(&P->mu);
        P->stop |= tk->rc != DG_OK; /* no more work after a failure */
        if (tk->screen && tk->rc == DG_OK)
            screen_done(P, tk);
        P->done++;
        pthread_cond_broadcast(&P->cond);
        pthread_mutex_unlock(&P->mu);
    }
}

static int train_threads(const trainer *T)
{
    int n = T->o->threads;
    if (n <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? (int)cores : 1;
    }
    return n < 1 ? 1 : n > 16 ? 16 : n;
}

/* Runs the tasks on the worker threads; the calling thread reports the
 * progress (the callback is only ever called from it) and stops the workers
 * when it asks to cancel. Then the first failure in task order, so the
 * message does not depend on timing. */
static int pool_run(trainer *T, task *tasks, size_t n, size_t cap, const char *what,
                    dg_err *err)
{
    pool P;
    memset(&P, 0, sizeof P);
    P.T = T;
    P.tasks = tasks;
    P.n = n;
    P.cap = cap;
    pthread_mutex_init(&P.mu, NULL);
    pthread_cond_init(&P.cond, NULL);
    int want = train_threads(T);
    if ((size_t)want > cap)
        want = (int)cap;
    pthread_t tid[16];
    int started = 0;
    for (int i = 0; i < want; i++, started++)
        if (pthread_create(&tid[i], NULL, pool_worker, &P) != 0)
            break;
    if (!started)
        pool_worker(&P); /* no thread: the tasks run here, and progress after them */
    int cancelled = 0;
    double reported = -1;
    pthread_mutex_lock(&P.mu);
    for (;;) {
        if (P.fits != reported) {
            reported = P.fits;
            char stage[160];
            snprintf(stage, sizeof stage, "%s%s", what, P.label ? P.label : "");
            double done = T->steps_done + P.fits, total = T->steps_total;
            pthread_mutex_unlock(&P.mu);
            int stop = dg_progress_report(T->o->progress, stage, done, total, "fits");
            pthread_mutex_lock(&P.mu);
            if (stop && !P.stop) {
                P.stop = cancelled = 1;
                pthread_cond_broadcast(&P.cond);
            }
        }
        if (P.done == P.next && (P.stop || P.next == P.n))
            break;
        if (P.fits == reported)
            pthread_cond_wait(&P.cond, &P.mu);
    }
    pthread_mutex_unlock(&P.mu);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    T->steps_done += P.fits;
    n = P.n; /* with the tasks the screens added */
    pthread_mutex_destroy(&P.mu);
    pthread_cond_destroy(&P.cond);
    if (cancelled)
        return dg_cancel(err, "cancelled");
    /* The first real failure in job and fold order (the tasks' own order
     * depends on when each screen ended): a task stopped because another
     * failed says "cancelled", and that must not hide the failure (a
     * std::bad_alloc was reported as "cancelled"). */
    int any_cancelled = 0;
    const task *first = NULL;
    for (size_t i = 0; i < n; i++) {
        const task *tk = &tasks[i];
        if (tk->rc == DG_OK)
            continue;
        if (dg_cancelled(&tk->err)) {
            any_cancelled = 1;
            continue;
        }
        if (!first || tk->j < first->j || (tk->j == first->j && tk->fold < first->fold))
            first = tk;
    }
    if (first) {
        char pbuf[160];
        dg_params_format(&first->j->combos[first->combo], pbuf, sizeof pbuf);
        return dg_fail(err, "scenario %d, %s, %s (%s): %s", first->j->S->s,
                       dg_target_name(first->j->t), first->j->fam->name, pbuf,
                       first->err.msg);
    }
    return any_cancelled ? dg_cancel(err, "cancelled") : DG_OK;
}

/* The combinations of a grid that every fold fits: the best of fold 1's
 * screen. */
#define SCREEN_KEEP 2

/* The fits of a job's cross-validation: fold 1's whole grid (a path ended
 * early counts its rest as done) and the kept on the other folds. */
static double job_fits(const trainer *T, const job *J)
{
    if (T->folds > 1 && J->ncombos > SCREEN_KEEP)
        return J->ncombos + (double)SCREEN_KEEP * (T->folds - 1);
    return (double)J->ncombos * T->folds;
}

/* A row's loss under prediction p (its nout numbers): what the fold's score
 * averages (log loss; the squared error for RMSE). */
static double row_loss(dg_task kind, int k, double y, const double *p)
{
    if (kind == DG_TASK_REGRESSION)
        return (p[0] - y) * (p[0] - y);
    return kind == DG_TASK_BINARY ? dg_log_loss_binary(&y, p, 1) : dg_log_loss_multi(&y, p, 1, k);
}

/* Whether fold 1's rows cannot tell combination c from the best b: the
 * mean of their paired per-row loss differences is within two standard
 * errors of 0 (as a racing algorithm drops a candidate once it is
 * significantly worse). */
static int screen_undecided(const job *J, int b, int c)
{
    dg_task kind = dg_target_task(J->t);
    int k = dg_target_nclasses(J->t), nout = job_nout(J);
    const double *pb = J->oof + (size_t)b * J->S->ntr * nout;
    const double *pc = J->oof + (size_t)c * J->S->ntr * nout;
    double sum = 0, sum2 = 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < J->S->ntr; i++)
        if (J->S->fold[i] == 0) {
            double d = row_loss(kind, k, J->y[i], pc + (size_t)i * nout) -
                       row_loss(kind, k, J->y[i], pb + (size_t)i * nout);
            sum += d;
            sum2 += d * d;
            n++;
        }
    if (n < 2)
        return 1;
    double mean = sum / n, var = (sum2 - sum * mean) / (n - 1);
    return mean < 2 * sqrt(var > 0 ? var / n : 0);
}

/* Keeps fold 1's best for the other folds, and the next best while fold 1
 * cannot tell them apart (up to SCREEN_KEEP; ties keep the earlier
 * combination of the grid; NaN never stays). */
static void job_keep_screened(job *J)
{
    memset(J->fit, 0, (size_t)J->ncombos);
    int first = -1;
    for (int kept = 0; kept < SCREEN_KEEP; kept++) {
        int best = -1;
        for (int c = 0; c < J->ncombos; c++)
            if (!J->fit[c] && !isnan(J->screen[c]) && (best < 0 || J->screen[c] < J->screen[best]))
                best = c;
        if (best < 0 || (first >= 0 && !screen_undecided(J, first, best)))
            break;
        J->fit[best] = 1;
        if (first < 0)
            first = best;
    }
    J->confirmed = 1;
}

/* A fold task's work, for the order the tasks start in. */
static double task_cost(const task *tk)
{
    const job *J = tk->j;
    int fits = 0;
    for (int c = 0; c < J->ncombos; c++)
        fits += J->fit[c];
    return (double)fits * (double)J->x->nnz * dg_target_nclasses(J->t);
}

/* A screen is done (called with the pool's lock held): its job's kept
 * combinations go on to the other folds, as new tasks. */
static void screen_done(pool *P, const task *tk)
{
    job *J = tk->j;
    int folds = P->T->folds;
    job_keep_screened(J);
    int kept = 0;
    for (int c = 0; c < J->ncombos; c++)
        kept += J->fit[c];
    P->T->steps_total -= (double)(SCREEN_KEEP - kept) * (folds - 1); /* job_fits's */
    for (int fo = 1; fo < folds && P->n < P->cap; fo++)
        P->tasks[P->n++] = (task){.j = J, .fold = fo, .seeded = 1};
}

/* Cross-validates the jobs side by side, then scores every combination
 * (pooled out-of-fold log loss, or RMSE) and picks each job's best: NaN
 * never wins, ties keep the earlier combination of the grid. With nfolds
 * less than the folds, only the first nfolds are held out and scored (on
 * their rows alone).
 *
 * A job of more than SCREEN_KEEP combinations is cross-validated in two
 * steps, as successive halving does: fold 1 fits the whole grid along its
 * warm paths (each path ended when its held-out score rose), and only its
 * best, with the runner-up while fold 1 cannot tell them apart, go on to
 * the other folds, where the choice between them is made on every fold's
 * rows. Most of a grid's cost is its weakest
 * penalties (many iterations), and most of those lose on fold 1 already;
 * the other combinations keep fold 1's score in the report. */
static int jobs_cross_validate(trainer *T, job *jobs, size_t njobs, int nfolds, const char *what,
                               dg_err *err)
{
    int screen = nfolds == T->folds && nfolds > 1;
    size_t n = 0, cap = njobs * (size_t)nfolds;
    task *tasks = dg_xcalloc(cap + 1, sizeof *tasks);
    for (size_t j = 0; j < njobs; j++) {
        int first = screen && jobs[j].ncombos > SCREEN_KEEP;
        for (int fo = 0; fo < (first ? 1 : nfolds); fo++)
            tasks[n++] = (task){.j = &jobs[j], .fold = fo, .screen = first};
    }
    /* The costliest first (a task's fits times its rows' entries times the
     * classes), so that no long one starts last while the other cores
     * idle; a finished screen adds its other folds after them. */
    for (size_t i = 1; i < n; i++)
        for (size_t at = i; at > 0 && task_cost(&tasks[at - 1]) < task_cost(&tasks[at]); at--) {
            task x = tasks[at];
            tasks[at] = tasks[at - 1];
            tasks[at - 1] = x;
        }
    int rc = pool_run(T, tasks, n, cap, what, err);
    n = cap;
    while (n > 0 && !tasks[n - 1].j)
        n--;
    for (size_t j = 0; j < njobs && rc == DG_OK; j++) {
        job *J = &jobs[j];
        J->cv_seconds = 0;
        for (size_t i = 0; i < n; i++)
            if (tasks[i].j == J)
                J->cv_seconds += tasks[i].seconds;
        dg_task kind = dg_target_task(J->t);
        int k = dg_target_nclasses(J->t), nout = job_nout(J);
        /* The held-out rows: every train row, or those of the folds run. */
        uint32_t nrows = J->S->ntr, *rows = NULL;
        double *y = J->y, *p = NULL;
        if (nfolds < T->folds) {
            rows = dg_xmalloc(((size_t)J->S->ntr + 1) * sizeof *rows);
            nrows = 0;
            for (uint32_t i = 0; i < J->S->ntr; i++)
                if (J->S->fold[i] < nfolds)
                    rows[nrows++] = i;
            y = dg_xmalloc(((size_t)nrows + 1) * sizeof *y);
            p = dg_xmalloc(((size_t)nrows * nout + 1) * sizeof *p);
            for (uint32_t i = 0; i < nrows; i++)
                y[i] = J->y[rows[i]];
        }
        double best = INFINITY;
        J->best = 0;
        for (int c = 0; c < J->ncombos; c++) {
            J->score[c] = NAN;
            if (!J->fit[c])
                continue; /* screened out on fold 1 */
            const double *oof = J->oof + (size_t)c * J->S->ntr * nout;
            if (rows)
                for (uint32_t i = 0; i < nrows; i++)
                    memcpy(p + (size_t)i * nout, oof + (size_t)rows[i] * nout,
                           (size_t)nout * sizeof *p);
            dg_eval e;
            dg_evaluate(kind, k, y, rows ? p : oof, nrows, &e);
            J->score[c] = dg_eval_score(&e);
            if (J->score[c] < best) {
                best = J->score[c];
                J->best = c;
            }
        }
        if (rows) {
            free(rows);
            free(y);
            free(p);
        }
    }
    free(tasks);
    return rc;
}

/* The refits, the longest first (by their cross-validation's seconds), so
 * that no long one starts last while the other cores idle; the results do
 * not depend on the order. */
static int jobs_refit(trainer *T, job *jobs, size_t njobs, dg_err *err)
{
    task *tasks = dg_xcalloc(njobs + 1, sizeof *tasks);
    for (size_t j = 0; j < njobs; j++) {
        size_t at = j;
        while (at > 0 && tasks[at - 1].j->cv_seconds < jobs[j].cv_seconds) {
            tasks[at] = tasks[at - 1];
            at--;
        }
        tasks[at] = (task){.j = &jobs[j], .fold = -1};
    }
    int rc = pool_run(T, tasks, njobs, njobs, "", err);
    free(tasks);
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

/* group12-sum for gender or group6 (t) from the best group12 job of its
 * scenario (the one the selection rule chooses): the 12 x nout table, from
 * the train rows outside `fold` (-1: every train row). For gender it is the
 * sum of the female groups; for group6 each group12's share of the group6s
 * in those rows, with a little weight on the group6s its ages can reach. */
static void group12_map(const trainer *T, const scenario *S, dg_target t, int fold, double *map)
{
    if (t == DG_TARGET_GENDER) {
        for (int g = 0; g < 12; g++)
            map[g] = g < 6;
        return;
    }
    if (t == DG_TARGET_AGE) {
        /* Each group's mean age (a group no row has: the mean of all). */
        double sum[13] = {0}, n[13] = {0};
        for (uint32_t i = 0; i < S->ntr; i++)
            if (fold < 0 || S->fold[i] != fold) {
                uint32_t l = S->tr_lab[i];
                sum[T->lab.group12[l]] += T->lab.age[l];
                n[T->lab.group12[l]] += 1;
                sum[12] += T->lab.age[l];
                n[12] += 1;
            }
        for (int g = 0; g < 12; g++)
            map[g] = n[g] > 0 ? sum[g] / n[g] : n[12] > 0 ? sum[12] / n[12] : 0;
        return;
    }
    double c[12][6] = {{0}};
    for (int female = 0; female < 2; female++)
        for (int age = 1; age < 100; age++)
            c[dg_group12_of(female, age)][dg_group6_of(female, age)] = 1e-3;
    for (uint32_t i = 0; i < S->ntr; i++)
        if (fold < 0 || S->fold[i] != fold) {
            uint32_t l = S->tr_lab[i];
            c[T->lab.group12[l]][T->lab.group6[l]] += 1;
        }
    for (int g = 0; g < 12; g++) {
        double sum = 0;
        for (int h = 0; h < 6; h++)
            sum += c[g][h];
        for (int h = 0; h < 6; h++)
            map[g * 6 + h] = sum > 0 ? c[g][h] / sum : 0;
    }
}

static void job_group12_sum(trainer *T, job *J, const job *J12, dg_target t)
{
    scenario *S = J12->S;
    job_init(J, T, S, t, &dg_family_group12_sum, &J12->combos[J12->best], 1, J12->variant);
    J->of = J12;
    dg_task kind = dg_target_task(t);
    int nout = job_nout(J);
    double map[12 * 6];
    const double *p12 = J12->oof + (size_t)J12->best * S->ntr * 12;
    double *row = dg_xmalloc(sizeof *row * 6);
    for (int fo = 0; fo < T->folds; fo++) {
        group12_map(T, S, t, fo, map);
        for (uint32_t i = 0; i < S->ntr; i++)
            if (S->fold[i] == fo) {
                dg_group12_apply(p12 + (size_t)i * 12, 1, nout, map, row);
                memcpy(J->oof + (size_t)i * nout, row, sizeof *row * (size_t)nout);
            }
    }
    free(row);
    dg_eval e;
    dg_evaluate(kind, dg_target_nclasses(t), J->y, J->oof, S->ntr, &e);
    J->score[0] = dg_eval_score(&e);
    J->best = 0;
    group12_map(T, S, t, -1, map);
    J->pred = dg_xmalloc(((size_t)S->nte * nout + 1) * sizeof *J->pred);
    dg_group12_apply(J12->pred, S->nte, nout, map, J->pred);
    J->model = dg_group12_sum_make(J12->fam, J12->model, kind, map);
}

/* The jobs in the order of the runs, with a group12-sum job after the direct
 * ones of gender, age and group6 where the scenario trains group12. */
static job **jobs_with_group12_sum(trainer *T, job *jobs, size_t njobs, job *extra,
                                   size_t *nout)
{
    job **list = dg_xcalloc(njobs + 2 * 3 + 1, sizeof *list);
    size_t n = 0, nextra = 0;
    for (size_t i = 0; i < njobs; i++) {
        list[n++] = &jobs[i];
        int last = i + 1 == njobs || jobs[i + 1].S != jobs[i].S || jobs[i + 1].t != jobs[i].t;
        dg_target t = jobs[i].t;
        if (!last || t == DG_TARGET_GROUP12)
            continue;
        const job *best = NULL;
        for (size_t j = 0; j < njobs; j++)
            if (jobs[j].S == jobs[i].S && jobs[j].t == DG_TARGET_GROUP12 &&
                (!best || jobs[j].score[jobs[j].best] < best->score[best->best]))
                best = &jobs[j];
        /* A baseline's group12 says no more than its own gender or group6. */
        if (!best || !best->model || best->fam->phone_only || nextra == 6)
            continue;
        job_group12_sum(T, &extra[nextra], best, t);
        list[n++] = &extra[nextra++];
    }
    *nout = n;
    return list;
}

/* ---- blend: a combiner over the jobs of a scenario and target ----------------------
 *
 * After the direct jobs of (scenario, target) and its group12-sum, one more
 * job: model_blend.c's combiner over every job of them with a model (the
 * prior aside: its constant probabilities are the combiner's intercept),
 * fit on their out-of-fold predictions at their best combinations and
 * cross-validated on those rows with the same folds; its test predictions
 * are the combiner's on the bases' test predictions. It reads the design of
 * the bases that read the bags, a phone-only base through a map by column
 * name. */

/* The map from spec `to`'s columns (the blend's design) to spec `from`'s
 * (the base's): 0 and a new map in *out, or DG_ERR when a column of `from`
 * has no column of `to` of its name or the map would not keep a row's
 * columns ascending. */
static int blend_map(const dg_design_spec *to, const dg_design_spec *from, uint32_t **out)
{
    uint32_t nto = dg_design_ncols(to), nfrom = dg_design_ncols(from);
    dg_strpool names;
    dg_strpool_init(&names);
    char buf[256];
    for (uint32_t c = 0; c < nfrom; c++) {
        dg_design_colname(from, c, buf, sizeof buf);
        dg_strpool_intern(&names, buf, strlen(buf));
    }
    uint32_t *map = dg_xmalloc(((size_t)nto + 1) * sizeof *map), reached = 0, last = 0;
    int ok = names.n == nfrom; /* the names tell the columns apart */
    for (uint32_t c = 0; c < nto && ok; c++) {
        dg_design_colname(to, c, buf, sizeof buf);
        uint32_t id = dg_strpool_find(&names, buf, strlen(buf));
        map[c] = id == UINT32_MAX ? DG_BLEND_NONE : id;
        if (map[c] != DG_BLEND_NONE) {
            ok = !reached || map[c] > last;
            last = map[c];
            reached++;
        }
    }
    dg_strpool_free(&names);
    if (!ok || reached != nfrom) {
        free(map);
        return DG_ERR;
    }
    *out = map;
    return DG_OK;
}

/* The blend job of the jobs group[0..n) (one scenario and target) into J:
 * *made 0 when fewer than two of them can be its bases, or when none reads
 * more than the phone blocks. */
static int job_blend(trainer *T, job *J, job *const *group, size_t n, const dg_params *combos,
                     int ncombos, int *made, dg_err *err)
{
    *made = 0;
    scenario *S = group[0]->S;
    dg_target t = group[0]->t;
    dg_task kind = dg_target_task(t);
    int k = dg_target_nclasses(t), nout = dg_task_nout(kind, k);
    const job *bj[32];
    int nb = 0, variant = V_PHONE;
    for (size_t i = 0; i < n; i++)
        if (group[i]->model && group[i]->variant != V_PHONE)
            variant = group[i]->variant;
    dg_blend_base bases[32];
    uint32_t *maps[32];
    for (size_t i = 0; i < n && nb < 32; i++) {
        const job *G = group[i];
        if (!G->model || strcmp(G->fam->name, "prior") == 0)
            continue;
        maps[nb] = NULL;
        if (G->variant != variant &&
            blend_map(&S->spec[variant], &S->spec[G->variant], &maps[nb]) != DG_OK)
            continue; /* its design is not within the blend's */
        bases[nb] = (dg_blend_base){G->fam, G->model, dg_design_ncols(&S->spec[G->variant]),
                                    maps[nb]};
        bj[nb++] = G;
    }
    int rc = DG_OK;
    /* Bases that all read the phone blocks alone (scenario 2) see the same
     * two columns of a device: there the blend's CV lost to phone-softmax
     * at 40,000 and 186,716 devices (group12 2.3947 against 2.3931, 2.3834
     * against 2.3823), for half of the blends' seconds, so none is made. */
    if (nb >= 2 && variant != V_PHONE) {
        double t0 = dg_now();
        const double *oof[32], *pte[32];
        for (int b = 0; b < nb; b++) {
            oof[b] = bj[b]->oof + (size_t)bj[b]->best * S->ntr * (size_t)nout;
            pte[b] = bj[b]->pred;
        }
        dg_csr ztr, zte;
        dg_blend_inputs(oof, nb, S->ntr, kind, nout, &ztr);
        dg_blend_inputs(pte, nb, S->nte, kind, nout, &zte);
        job_init(J, T, S, t, &dg_family_blend, combos, ncombos, variant);
        size_t at = 0;
        for (int b = 0; b < nb; b++) {
            int w = snprintf(J->bases + at, sizeof J->bases - at, "%s%s", b ? "+" : "bases=",
                             bj[b]->of ? "group12-sum" : bj[b]->fam->name);
            if (w > 0 && at + (size_t)w < sizeof J->bases)
                at += (size_t)w;
        }
        /* Two threads per fit whatever the cores: the same bits everywhere. */
        void **first = dg_xcalloc((size_t)ncombos + 1, sizeof *first);
        rc = dg_blend_cross_validate(&ztr, J->y, kind, k, S->fold, T->folds, combos, J->order,
                                     ncombos, T->o->seed, 2, J->oof, first, err);
        double best = INFINITY;
        for (int c = 0; c < ncombos && rc == DG_OK; c++) {
            dg_eval e;
            dg_evaluate(kind, k, J->y, J->oof + (size_t)c * S->ntr * nout, S->ntr, &e);
            J->score[c] = dg_eval_score(&e);
            if (J->score[c] < best) {
                best = J->score[c];
                J->best = c;
            }
        }
        J->cv_seconds = dg_now() - t0;
        void *combiner = NULL;
        t0 = dg_now();
        if (rc == DG_OK)
            rc = dg_blend_fit_combiner(&ztr, J->y, kind, k, &J->combos[J->best], T->o->seed, 2,
                                       first[J->best], &combiner, err);
        for (int c = 0; c < ncombos; c++)
            if (first[c])
                dg_family_softmax.free(first[c]);
        free(first);
        J->pred = dg_xmalloc(((size_t)S->nte * nout + 1) * sizeof *J->pred);
        if (rc == DG_OK)
            rc = dg_family_softmax.predict(combiner, &zte, J->pred, err);
        J->refit_seconds = dg_now() - t0;
        if (rc == DG_OK)
            J->model = dg_blend_make(bases, nb, combiner, kind, k,
                                     dg_design_ncols(&S->spec[variant]));
        else if (combiner)
            dg_family_softmax.free(combiner);
        dg_csr_free(&ztr);
        dg_csr_free(&zte);
        if (rc != DG_OK && !dg_cancelled(err)) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", err->msg);
            rc = dg_fail(err, "scenario %d, %s, blend: %s", S->s, dg_target_name(t), why);
        }
        *made = 1;
    }
    for (int b = 0; b < nb; b++)
        free(maps[b]);
    return rc;
}

/* list[0..n) with a blend job after the jobs of each scenario and target
 * that T->blend_targets names (extra holds up to 6); *nout their count. */
static job **jobs_with_blends(trainer *T, job **list, size_t n, job *extra,
                              const dg_params *combos, int ncombos, size_t *nout, dg_err *err)
{
    job **out = dg_xcalloc(n + 6 + 1, sizeof *out);
    size_t m = 0, nextra = 0, first = 0;
    int rc = DG_OK;
    for (size_t i = 0; i < n && rc == DG_OK; i++) {
        out[m++] = list[i];
        int last = i + 1 == n || list[i + 1]->S != list[i]->S || list[i + 1]->t != list[i]->t;
        if (!last)
            continue;
        if ((T->blend_targets & (1u << list[i]->t)) && nextra < 6) {
            int made = 0;
            rc = job_blend(T, &extra[nextra], list + first, i + 1 - first, combos, ncombos,
                           &made, err);
            if (made)
                out[m++] = &extra[nextra++];
        }
        first = i + 1;
    }
    *nout = m;
    if (rc != DG_OK) {
        free(out);
        return NULL;
    }
    return out;
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
    job jobs[4];
    const dg_params *mid = &combos[j][ncombos[j] / 2];
    job_init(&jobs[0], T, S, t, fam, mid, 1, V_BINARY);
    job_init(&jobs[1], T, S, t, fam, mid, 1, V_TFIDF);
    int rc = jobs_cross_validate(T, jobs, 2, 1, "cross-validation: scenario 1 bags: ", err);
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
    /* Then the count form, on the chosen bags, by the same probe: raw and
     * shares against the log1p the bags' probe scored. */
    dg_bag_weight w = S->spec[T->bags].bags;
    if (rc == DG_OK)
        rc = variant_build(T, S, V_RAW, DG_BLOCKS_ALL, w, DG_COUNTS_RAW, err);
    if (rc == DG_OK)
        rc = variant_build(T, S, V_SHARES, DG_BLOCKS_ALL, w, DG_COUNTS_SHARES, err);
    int ncounts = 0;
    if (rc == DG_OK) {
        job_init(&jobs[2], T, S, t, fam, mid, 1, V_RAW);
        job_init(&jobs[3], T, S, t, fam, mid, 1, V_SHARES);
        ncounts = 2;
        rc = jobs_cross_validate(T, jobs + 2, 2, 1, "cross-validation: scenario 1 counts: ",
                                 err);
    }
    if (rc == DG_OK) {
        double log_score = jobs[T->bags == V_TFIDF].score[0];
        int best = T->bags;
        double best_score = log_score;
        for (int k = 2; k < 4; k++)
            if (jobs[k].score[0] < best_score) { /* ties keep log1p */
                best = jobs[k].variant;
                best_score = jobs[k].score[0];
            }
        snprintf(T->res->counts, sizeof T->res->counts,
                 "scenario 1: %s, by fold 1 of the %d-fold cross-validation of %s%s%s on %s "
                 "with %s bags (log1p %.4f, raw %.4f, shares %.4f)",
                 dg_count_form_names[S->spec[best].counts], T->folds, fam->name,
                 pbuf[0] ? " " : "", pbuf, dg_target_name(t), train_variant_bags(S, T->bags),
                 log_score, jobs[2].score[0], jobs[3].score[0]);
        T->res->counts_seconds = jobs[2].cv_seconds + jobs[3].cv_seconds;
        T->bags = best;
    }
    for (int k = 0; k < 2 + ncounts; k++)
        job_free(&jobs[k]);
    /* The variants no family reads. */
    for (int v = 0; v < NVARIANTS && rc == DG_OK; v++)
        if (v != V_PHONE && v != T->bags)
            variant_free(S, v);
    return rc;
}

/* ---- the whole run ------------------------------------------------------------------ */

/* ---- ablation: each block's worth, by cross-validation ------------------------------
 *
 * For each chosen model that reads a design of several blocks, the same
 * family at the same parameters is cross-validated on the same folds with
 * one block taken out at a time (its entries dropped: the columns stay, and
 * empty). The difference to the chosen CV score is what the block brings;
 * the test split plays no part. */

static const struct {
    unsigned bit;
    const char *name;
} ablation_blocks[] = {{DG_BLOCK_BRAND, "brand"},
                       {DG_BLOCK_MODEL, "model"},
                       {DG_BLOCK_NUMERIC, "numeric"},
                       {DG_BLOCK_APPS, "apps"},
                       {DG_BLOCK_LABELS, "labels"}};
#define NABLATION_BLOCKS (sizeof ablation_blocks / sizeof *ablation_blocks)

/* The design columns [lo, hi) of one block of a spec (dg_design_apply's
 * order: brands, models, numeric + missing + home, apps, labels). */
static void block_columns(const dg_design_spec *s, unsigned bit, uint32_t *lo, uint32_t *hi)
{
    uint32_t base_model = s->brands.n, base_num = base_model + s->models.n,
             base_apps = base_num + (uint32_t)s->nnumeric + (uint32_t)s->nmissing + s->nhome,
             base_labels = base_apps + s->napps, end = base_labels + s->nlabels;
    *lo = bit == DG_BLOCK_BRAND     ? 0
          : bit == DG_BLOCK_MODEL   ? base_model
          : bit == DG_BLOCK_NUMERIC ? base_num
          : bit == DG_BLOCK_APPS    ? base_apps
                                    : base_labels;
    *hi = bit == DG_BLOCK_BRAND     ? base_model
          : bit == DG_BLOCK_MODEL   ? base_num
          : bit == DG_BLOCK_NUMERIC ? base_apps
          : bit == DG_BLOCK_APPS    ? base_labels
                                    : end;
}

/* m without the entries of columns [lo, hi). */
static void csr_without_columns(const dg_csr *m, uint32_t lo, uint32_t hi, dg_csr *out)
{
    out->nrows = m->nrows;
    out->ncols = m->ncols;
    out->ptr = dg_xmalloc(((size_t)m->nrows + 1) * sizeof *out->ptr);
    out->idx = dg_xmalloc((m->nnz + 1) * sizeof *out->idx);
    out->val = dg_xmalloc((m->nnz + 1) * sizeof *out->val);
    uint64_t n = 0;
    out->ptr[0] = 0;
    for (uint32_t r = 0; r < m->nrows; r++) {
        for (uint64_t k = m->ptr[r]; k < m->ptr[r + 1]; k++)
            if (m->idx[k] < lo || m->idx[k] >= hi) {
                out->idx[n] = m->idx[k];
                out->val[n++] = m->val[k];
            }
        out->ptr[r + 1] = n;
    }
    out->nnz = n;
}

static int ablate(trainer *T, dg_err *err)
{
    size_t cap = 2 * DG_TARGET_COUNT * NABLATION_BLOCKS;
    job *jobs = dg_xcalloc(cap + 1, sizeof *jobs);
    dg_csr *x = dg_xcalloc(cap + 1, sizeof *x);
    size_t *block = dg_xcalloc(cap + 1, sizeof *block), n = 0;
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++) {
            const chosen *ch = &T->ch[s][t];
            /* The priors read no design; group12-sum is its group12 model's, and
             * a blend its bases'. */
            if (!ch->have || ch->family->phone_only ||
                ch->family == &dg_family_group12_sum || ch->family == &dg_family_blend)
                continue;
            scenario *S = &T->sc[s];
            const dg_design_spec *spec = &S->spec[ch->variant];
            for (size_t b = 0; b < NABLATION_BLOCKS; b++) {
                uint32_t lo, hi;
                block_columns(spec, ablation_blocks[b].bit, &lo, &hi);
                if (!(spec->blocks & ablation_blocks[b].bit) || lo == hi)
                    continue;
                job_init(&jobs[n], T, S, (dg_target)t, ch->family, &ch->params, 1, ch->variant);
                csr_without_columns(&S->xtr[ch->variant], lo, hi, &x[n]);
                jobs[n].x = &x[n];
                /* Without the apps nothing may be learnt from them, not even
                 * from the unlabelled rows. */
                if (ablation_blocks[b].bit == DG_BLOCK_APPS)
                    jobs[n].all = NULL;
                block[n++] = b;
            }
        }
    T->steps_total += (double)n * T->folds;
    int rc = jobs_cross_validate(T, jobs, n, T->folds, "ablation: ", err);
    dg_train_result *r = T->res;
    r->ablation = dg_xcalloc(n + 1, sizeof *r->ablation);
    for (size_t i = 0; i < n && rc == DG_OK; i++) {
        const job *J = &jobs[i];
        const chosen *ch = &T->ch[J->S->s][J->t];
        dg_ablation *a = &r->ablation[r->nablation++];
        a->scenario = J->S->s;
        a->target = J->t;
        snprintf(a->family, sizeof a->family, "%s", ch->family->name);
        snprintf(a->params, sizeof a->params, "%s", r->runs[ch->run].params);
        a->block = ablation_blocks[block[i]].name;
        a->cv_all = ch->cv;
        a->cv_without = J->score[0];
        a->cv_seconds = J->cv_seconds;
    }
    for (size_t i = 0; i < n; i++) {
        job_free(&jobs[i]);
        dg_csr_free(&x[i]);
    }
    free(jobs);
    free(x);
    free(block);
    return rc;
}

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
                /* No direct job: a blend after the others (jobs_with_blends). */
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
    /* Progress in fits: folds per combination, plus the refit; scenario 1's
     * bag and count probes are four fits. */
    T.steps_total = (scen & 1) ? 4.0 : 0;
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++)
            for (int j = 0; j < nf; j++)
                if ((scen & (1u << (s - 1))) && (ftargets[j] & (1u << t)) &&
                    (fams[j]->tasks & (1u << dg_target_task((dg_target)t))))
                    T.steps_total += (T.folds > 1 && ncombos[j] > SCREEN_KEEP
                                          ? ncombos[j] + (double)SCREEN_KEEP * (T.folds - 1)
                                          : (double)ncombos[j] * T.folds) + 1;
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
                        job_init(&jobs[njobs++], &T, &T.sc[s], (dg_target)t, fams[j], combos[j],
                                 ncombos[j],
                                 s == 2 || fams[j]->phone_only ? V_PHONE : T.bags);
        /* A job may fit fewer combinations than its family's grid holds. */
        T.steps_total = (scen & 1) ? 4.0 : 0;
        for (size_t i = 0; i < njobs; i++)
            T.steps_total += job_fits(&T, &jobs[i]) + 1;
        rc = jobs_cross_validate(&T, jobs, njobs, T.folds, "cross-validation: ", err);
    }
    if (rc == DG_OK)
        rc = jobs_refit(&T, jobs, njobs, err);
    job extra[6]; /* group12-sum of gender, age and group6 in each scenario */
    memset(extra, 0, sizeof extra);
    size_t nlist = 0;
    job **list = rc == DG_OK ? jobs_with_group12_sum(&T, jobs, njobs, extra, &nlist) : NULL;
    job blends[6]; /* a blend per scenario and classification target */
    memset(blends, 0, sizeof blends);
    if (list && T.blend_targets) {
        job **with = jobs_with_blends(&T, list, nlist, blends, blend_combos, nblend_combos,
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
            job_free(&blends[i]);
    for (int i = 0; i < 6; i++)
        if (extra[i].S)
            job_free(&extra[i]);
    for (size_t i = 0; i < njobs; i++)
        job_free(&jobs[i]);
    free(jobs);
    if (rc == DG_OK && o->ablation)
        rc = ablate(&T, err);
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

