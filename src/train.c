/* Training: designs per scenario, cross-validation over each family's grid,
 * refit, test metrics, the selection rule and the export (see train.h). */
#define _XOPEN_SOURCE 700
#include "demographer/train.h"

#include "demographer/i64map.h"

#include "demographer/plot.h"
#include "demographer/textbuf.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
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

/* ---- small helpers ----------------------------------------------------------- */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

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

/* Design variants of a scenario: 1 has binary bags, tf-idf bags and the phone
 * blocks alone; 2 has the phone blocks alone. */
enum { V_BINARY, V_TFIDF, V_PHONE, NVARIANTS };
static const char *const variant_bags[NVARIANTS] = {"binary", "tfidf", "none"};

typedef struct scenario {
    int s;
    uint32_t ntr, nte;
    uint32_t *tr_lab, *te_lab;   /* indices into the dg_labelled */
    uint32_t *tr_rows, *te_rows; /* rows of the dg_features */
    uint8_t *fold;               /* per train row */
    int has[NVARIANTS];
    dg_design_spec spec[NVARIANTS];
    dg_csr xtr[NVARIANTS], xte[NVARIANTS];
} scenario;

/* The baselines read the phone blocks alone: the brand/model prior by its
 * rule (model_prior.c), the prior reads nothing, so the bag weighting is no
 * choice of theirs. */
static int family_is_phone_only(const dg_model_family *fam)
{
    return strcmp(fam->name, "brand-model-prior") == 0 || strcmp(fam->name, "prior") == 0;
}

typedef struct chosen {
    int have;
    size_t run;       /* index into the runs */
    const dg_model_family *family;
    void *model;
    int variant;
    double cv;
    double *test_pred;
    dg_params params;
} chosen;

typedef struct trainer {
    const dg_dataset *ds;
    const dg_features *f;
    const dg_train_opts *o;
    dg_labelled lab;
    scenario sc[3];
    int folds;
    dg_train_result *res;
    chosen ch[3][DG_TARGET_COUNT];
    char *staging, *staging_runs, *staging_models;
    double steps_done, steps_total;
    uint64_t checksum;
    int bags; /* scenario 1's variant for the families that read the bags */
} trainer;

static void scenario_free(scenario *s)
{
    free(s->tr_lab);
    free(s->te_lab);
    free(s->tr_rows);
    free(s->te_rows);
    free(s->fold);
    for (int v = 0; v < NVARIANTS; v++) {
        dg_design_spec_free(&s->spec[v]);
        dg_csr_free(&s->xtr[v]);
        dg_csr_free(&s->xte[v]);
    }
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
            uint32_t j = (uint32_t)(splitmix(&state) % i), t = members[i - 1];
            members[i - 1] = members[j];
            members[j] = t;
        }
        for (uint32_t i = 0; i < n; i++)
            S->fold[members[i]] = (uint8_t)(i % (uint32_t)T->folds);
    }
    free(members);
    uint32_t minc = T->o->min_count ? T->o->min_count : 2;
    for (int v = 0; v < NVARIANTS; v++) {
        if (s == 2 && v != V_PHONE)
            continue;
        unsigned blocks = v == V_PHONE ? DG_BLOCKS_PHONE : DG_BLOCKS_ALL;
        dg_design_spec_init(&S->spec[v]);
        if (dg_design_learn(&S->spec[v], T->f, S->tr_rows, S->ntr, blocks,
                            v == V_TFIDF ? DG_BAG_TFIDF : DG_BAG_BINARY, minc, err) != DG_OK ||
            dg_design_apply(&S->spec[v], T->f, S->tr_rows, S->ntr, &S->xtr[v], err) != DG_OK ||
            dg_design_apply(&S->spec[v], T->f, S->te_rows, S->nte, &S->xte[v], err) != DG_OK)
            return DG_ERR;
        S->has[v] = 1;
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
    int variant;
    int *order;            /* the combinations in the order a fold fits them */
    double *y;             /* per train row */
    double *oof;           /* [combo][train row][nout]: out-of-fold predictions */
    double *score;         /* per combination */
    int best;
    double cv_seconds;     /* the fold tasks' seconds, summed */
    void *model;           /* the refit */
    double *pred;          /* its test predictions */
    double refit_seconds;
    const job *of;         /* group12-sum: the group12 job it reads */
};

typedef struct task {
    job *j;
    int fold;              /* -1: the refit */
    int rc, combo;         /* the failure and the combination that failed */
    dg_err err;
    double seconds;
} task;

typedef struct pool {
    trainer *T;
    task *tasks;
    size_t n, next, done;
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

static void job_init(job *J, trainer *T, scenario *S, dg_target t, const dg_model_family *fam,
                     const dg_params *combos, int ncombos, int variant)
{
    memset(J, 0, sizeof *J);
    J->S = S;
    J->t = t;
    J->fam = fam;
    J->combos = combos;
    J->ncombos = ncombos;
    J->variant = variant;
    J->y = dg_xmalloc(((size_t)S->ntr + 1) * sizeof *J->y);
    for (uint32_t i = 0; i < S->ntr; i++)
        J->y[i] = dg_labelled_y(&T->lab, t, S->tr_lab[i]);
    J->oof = dg_xcalloc((size_t)ncombos * S->ntr * (size_t)job_nout(J) + 1, sizeof *J->oof);
    J->score = dg_xmalloc((size_t)ncombos * sizeof *J->score);
    /* The warm path: by the family's penalty, the strongest first; a stable
     * order, so equal values keep the grid's order. */
    J->order = dg_xmalloc((size_t)ncombos * sizeof *J->order);
    for (int c = 0; c < ncombos; c++)
        J->order[c] = c;
    if (fam->warm_param)
        for (int i = 1; i < ncombos; i++)
            for (int k = i; k > 0; k--) {
                double a = dg_param(&combos[J->order[k - 1]], fam->warm_param, 0),
                       b = dg_param(&combos[J->order[k]], fam->warm_param, 0);
                if (!(fam->warm_descending ? b > a : b < a))
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
    if (J->model)
        J->fam->free(J->model);
    free(J->pred);
    memset(J, 0, sizeof *J);
}

static int pool_fit_done(pool *P)
{
    pthread_mutex_lock(&P->mu);
    P->fits++;
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
    dg_csr_take_rows(&S->xtr[J->variant], in, nin, &xin);
    dg_csr_take_rows(&S->xtr[J->variant], out, nho, &xout);
    double *pred = dg_xmalloc(((size_t)nho * nout + 1) * sizeof *pred);
    void *prev = NULL;
    tk->rc = DG_OK;
    for (int i = 0; i < J->ncombos && tk->rc == DG_OK; i++) {
        int c = J->order[i];
        dg_trainset ts = {&xin, yin, NULL, kind, kind == DG_TASK_BINARY ? 2 : k,
                          T->o->seed + (uint64_t)fo, 1, prev};
        void *model = NULL;
        tk->rc = fam->fit(&ts, &J->combos[c], &model, NULL, &tk->err);
        if (tk->rc == DG_OK)
            tk->rc = fam->predict(model, &xout, pred, &tk->err);
        if (tk->rc == DG_OK) {
            double *o = J->oof + (size_t)c * S->ntr * nout;
            for (uint32_t r = 0; r < nho; r++)
                memcpy(o + (size_t)out[r] * nout, pred + (size_t)r * nout,
                       (size_t)nout * sizeof *pred);
        } else {
            tk->combo = c;
        }
        if (prev)
            fam->free(prev);
        prev = NULL;
        if (model && fam->warm_param)
            prev = model;
        else if (model)
            fam->free(model);
        if (pool_fit_done(P) && tk->rc == DG_OK) {
            tk->rc = dg_cancel(&tk->err, "cancelled");
            tk->combo = c;
        }
    }
    if (prev)
        fam->free(prev);
    free(pred);
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
    dg_trainset ts = {&S->xtr[J->variant], J->y, NULL, kind, kind == DG_TASK_BINARY ? 2 : k,
                      T->o->seed, 1, NULL};
    J->pred = dg_xmalloc(((size_t)S->nte * job_nout(J) + 1) * sizeof *J->pred);
    double t0 = dg_now();
    tk->rc = J->fam->fit(&ts, &J->combos[J->best], &J->model, NULL, &tk->err);
    J->refit_seconds = dg_now() - t0;
    if (tk->rc == DG_OK)
        tk->rc = J->fam->predict(J->model, &S->xte[J->variant], J->pred, &tk->err);
    tk->combo = J->best;
    if (pool_fit_done(P) && tk->rc == DG_OK)
        tk->rc = dg_cancel(&tk->err, "cancelled");
}

static void *pool_worker(void *arg)
{
    pool *P = arg;
    for (;;) {
        pthread_mutex_lock(&P->mu);
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
static int pool_run(trainer *T, task *tasks, size_t n, const char *what, dg_err *err)
{
    pool P;
    memset(&P, 0, sizeof P);
    P.T = T;
    P.tasks = tasks;
    P.n = n;
    pthread_mutex_init(&P.mu, NULL);
    pthread_cond_init(&P.cond, NULL);
    int want = train_threads(T);
    if ((size_t)want > n)
        want = (int)n;
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
            double done = T->steps_done + P.fits;
            pthread_mutex_unlock(&P.mu);
            int stop = dg_progress_report(T->o->progress, stage, done, T->steps_total, "fits");
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
    pthread_mutex_destroy(&P.mu);
    pthread_cond_destroy(&P.cond);
    if (cancelled)
        return dg_cancel(err, "cancelled");
    for (size_t i = 0; i < n; i++) {
        task *tk = &tasks[i];
        if (tk->rc == DG_OK)
            continue;
        if (dg_cancelled(&tk->err))
            return dg_cancel(err, "cancelled");
        char pbuf[160];
        dg_params_format(&tk->j->combos[tk->combo], pbuf, sizeof pbuf);
        return dg_fail(err, "scenario %d, %s, %s (%s): %s", tk->j->S->s,
                       dg_target_name(tk->j->t), tk->j->fam->name, pbuf, tk->err.msg);
    }
    return DG_OK;
}

/* Cross-validates the jobs side by side, then scores every combination
 * (pooled out-of-fold log loss, or RMSE) and picks each job's best: NaN
 * never wins, ties keep the earlier combination of the grid. */
static int jobs_cross_validate(trainer *T, job *jobs, size_t njobs, const char *what,
                               dg_err *err)
{
    size_t n = njobs * (size_t)T->folds;
    task *tasks = dg_xcalloc(n + 1, sizeof *tasks);
    for (size_t j = 0; j < njobs; j++)
        for (int fo = 0; fo < T->folds; fo++)
            tasks[j * (size_t)T->folds + (size_t)fo] = (task){.j = &jobs[j], .fold = fo};
    int rc = pool_run(T, tasks, n, what, err);
    for (size_t j = 0; j < njobs && rc == DG_OK; j++) {
        job *J = &jobs[j];
        J->cv_seconds = 0;
        for (int fo = 0; fo < T->folds; fo++)
            J->cv_seconds += tasks[j * (size_t)T->folds + (size_t)fo].seconds;
        dg_task kind = dg_target_task(J->t);
        int k = dg_target_nclasses(J->t), nout = job_nout(J);
        double best = INFINITY;
        J->best = 0;
        for (int c = 0; c < J->ncombos; c++) {
            dg_eval e;
            dg_evaluate(kind, k, J->y, J->oof + (size_t)c * J->S->ntr * nout, J->S->ntr, &e);
            J->score[c] = dg_eval_score(&e);
            if (J->score[c] < best) {
                best = J->score[c];
                J->best = c;
            }
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
    int rc = pool_run(T, tasks, njobs, "", err);
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

static void add_run(dg_train_result *r, const dg_run *run)
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
    size_t at = strlen(run.params);
    dg_params_format(&J->combos[J->best], run.params + at, sizeof run.params - at);
    if (J->variant != V_PHONE) {
        size_t len = strlen(run.params);
        snprintf(run.params + len, sizeof run.params - len, "%sbags=%s", len ? " " : "",
                 variant_bags[J->variant]);
    }
    run.ncombos = J->ncombos;
    run.cv_score = J->score[J->best];
    run.ntrain = S->ntr;
    run.ntest = S->nte;
    run.train_seconds = J->refit_seconds;
    run.cv_seconds = J->cv_seconds;
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
    add_run(T->res, &run);
    chosen *ch = &T->ch[S->s][t];
    double best = run.cv_score;
    if (!ch->have || best < ch->cv) {
        if (ch->have) {
            ch->family->free(ch->model);
            free(ch->test_pred);
        }
        *ch = (chosen){1, T->res->nruns - 1, fam, J->model, J->variant, best, J->pred,
                       J->combos[J->best]};
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
 * ones of gender and group6 where the scenario trains group12. */
static job **jobs_with_group12_sum(trainer *T, job *jobs, size_t njobs, job *extra,
                                   size_t *nout)
{
    job **list = dg_xcalloc(njobs + 5, sizeof *list);
    size_t n = 0, nextra = 0;
    for (size_t i = 0; i < njobs; i++) {
        list[n++] = &jobs[i];
        int last = i + 1 == njobs || jobs[i + 1].S != jobs[i].S || jobs[i + 1].t != jobs[i].t;
        dg_target t = jobs[i].t;
        if (!last || (t != DG_TARGET_GENDER && t != DG_TARGET_GROUP6))
            continue;
        const job *best = NULL;
        for (size_t j = 0; j < njobs; j++)
            if (jobs[j].S == jobs[i].S && jobs[j].t == DG_TARGET_GROUP12 &&
                (!best || jobs[j].score[jobs[j].best] < best->score[best->best]))
                best = &jobs[j];
        /* A baseline's group12 says no more than its own gender or group6. */
        if (!best || !best->model || family_is_phone_only(best->fam) || nextra == 4)
            continue;
        job_group12_sum(T, &extra[nextra], best, t);
        list[n++] = &extra[nextra++];
    }
    *nout = n;
    return list;
}

/* The bag weighting of scenario 1, chosen once for every family: binary
 * against tf-idf app and label bags, by the cross-validation of one probe
 * (the first family that reads the bags, on group12 when it is trained, at
 * the middle of its grid). Ties keep binary. */
static int choose_bags(trainer *T, const dg_model_family *const *fams, int nf,
                       dg_params *const *combos, const int *ncombos, unsigned targets,
                       dg_err *err)
{
    scenario *S = &T->sc[1];
    T->bags = V_BINARY;
    const dg_model_family *fam = NULL;
    int j = -1;
    dg_target t = DG_TARGET_GROUP12;
    for (int pass = 0; pass < 2 && !fam; pass++)
        for (int i = 0; i < nf && !fam; i++) {
            if (family_is_phone_only(fams[i]))
                continue;
            for (int x = pass ? 0 : DG_TARGET_GROUP12;
                 x < (pass ? DG_TARGET_COUNT : DG_TARGET_GROUP12 + 1) && !fam; x++)
                if ((targets & (1u << x)) && (fams[i]->tasks & (1u << dg_target_task(x)))) {
                    fam = fams[i];
                    j = i;
                    t = (dg_target)x;
                }
        }
    if (!fam)
        return DG_OK;
    job jobs[2];
    const dg_params *mid = &combos[j][ncombos[j] / 2];
    job_init(&jobs[0], T, S, t, fam, mid, 1, V_BINARY);
    job_init(&jobs[1], T, S, t, fam, mid, 1, V_TFIDF);
    int rc = jobs_cross_validate(T, jobs, 2, "cross-validation: scenario 1 bags: ", err);
    if (rc == DG_OK) {
        T->bags = jobs[1].score[0] < jobs[0].score[0] ? V_TFIDF : V_BINARY;
        char pbuf[160];
        dg_params_format(mid, pbuf, sizeof pbuf);
        snprintf(T->res->bags, sizeof T->res->bags,
                 "scenario 1: %s, by %d-fold cross-validation of %s%s%s on %s (binary %.4f, "
                 "tfidf %.4f)",
                 variant_bags[T->bags], T->folds, fam->name, pbuf[0] ? " " : "", pbuf,
                 dg_target_name(t), jobs[0].score[0], jobs[1].score[0]);
        T->res->bags_seconds = jobs[0].cv_seconds + jobs[1].cv_seconds;
    }
    job_free(&jobs[0]);
    job_free(&jobs[1]);
    return rc;
}

/* ---- export -------------------------------------------------------------------- */

static void meta_num(dg_textbuf *b, const char *key, double v)
{
    dg_textbuf_printf(b, "%s %.17g\n", key, v);
}

static int export_chosen(trainer *T, int s, dg_target t, dg_err *err)
{
    chosen *ch = &T->ch[s][t];
    const dg_run *run = &T->res->runs[ch->run];
    char name[64];
    snprintf(name, sizeof name, "s%d-%s", s, dg_target_name(t));
    char *dir = dg_path_join(T->staging_models, name);
    char *model_path = dg_path_join(dir, "model"), *design_path = dg_path_join(dir, "design.txt"),
         *meta_path = dg_path_join(dir, "meta.txt");
    int rc = dg_mkdirs(dir, err);
    if (rc == DG_OK)
        rc = ch->family->save(ch->model, model_path, err);
    if (rc == DG_OK)
        rc = dg_design_save(&T->sc[s].spec[ch->variant], design_path, err);
    if (rc == DG_OK) {
        dg_textbuf b = {0};
        dg_params_format(&ch->params, name, sizeof name);
        dg_textbuf_printf(&b, "format demographer-model 1\nversion %s\ntarget %s\nscenario %d\n"
                              "family %s\nparams %s\nbags %s\n",
                          DG_VERSION, dg_target_name(t), s, ch->family->name, name,
                          variant_bags[ch->variant]);
        meta_num(&b, "cv_score", run->cv_score);
        dg_textbuf_printf(&b, "n_train %u\nn_test %u\n", run->ntrain, run->ntest);
        meta_num(&b, "accuracy", run->test.accuracy);
        meta_num(&b, "auc", run->test.auc);
        meta_num(&b, "log_loss", run->test.log_loss);
        meta_num(&b, "precision", run->test.precision);
        meta_num(&b, "recall", run->test.recall);
        meta_num(&b, "f1", run->test.f1);
        meta_num(&b, "mae", run->test.mae);
        meta_num(&b, "rmse", run->test.rmse);
        meta_num(&b, "r2", run->test.r2);
        dg_textbuf_printf(&b, "ncols %u\nlayout %016" PRIx64 "\ndata %016" PRIx64 "\nsplit %s\n",
                          dg_design_ncols(&T->sc[s].spec[ch->variant]),
                          T->sc[s].spec[ch->variant].fingerprint, T->checksum,
                          T->lab.split_text);
        rc = dg_textbuf_save(&b, meta_path, err);
        dg_textbuf_free(&b);
    }
    free(dir);
    free(model_path);
    free(design_path);
    free(meta_path);
    return rc;
}

static int export_test_devices(trainer *T, dg_err *err)
{
    dg_textbuf b = {0};
    dg_textbuf_puts(&b, "device_id,scenario\n");
    for (int s = 1; s <= 2; s++)
        for (uint32_t i = 0; i < T->sc[s].nte; i++) {
            dg_textbuf_i64(&b, T->lab.device_id[T->sc[s].te_lab[i]]);
            dg_textbuf_printf(&b, ",%d\n", s);
        }
    char *path = dg_path_join(T->staging_models, "test_devices.csv");
    int rc = dg_textbuf_save(&b, path, err);
    free(path);
    dg_textbuf_free(&b);
    return rc;
}

/* Every labelled device's scenario and split, for the peer benchmark. */
static int write_split(trainer *T, dg_err *err)
{
    dg_textbuf b = {0};
    dg_textbuf_puts(&b, "device_id,scenario,is_test\n");
    for (uint32_t i = 0; i < T->lab.n; i++) {
        dg_textbuf_i64(&b, T->lab.device_id[i]);
        dg_textbuf_printf(&b, ",%d,%d\n", T->lab.has_events[i] ? 1 : 2, T->lab.is_test[i]);
    }
    char *path = dg_path_join(T->o->out_dir, "split.csv");
    int rc = dg_textbuf_save(&b, path, err);
    free(path);
    dg_textbuf_free(&b);
    return rc;
}

/* The combined rows: the chosen models of both scenarios over all test devices. */
static void add_combined(trainer *T, dg_target t)
{
    chosen *a = &T->ch[1][t], *b = &T->ch[2][t];
    if (!a->have || !b->have)
        return;
    dg_task task = dg_target_task(t);
    int k = dg_target_nclasses(t), nout = dg_task_nout(task, k);
    uint32_t n1 = T->sc[1].nte, n2 = T->sc[2].nte, n = n1 + n2;
    double *y = dg_xmalloc(((size_t)n + 1) * sizeof *y);
    double *p = dg_xmalloc(((size_t)n * nout + 1) * sizeof *p);
    for (uint32_t i = 0; i < n1; i++)
        y[i] = dg_labelled_y(&T->lab, t, T->sc[1].te_lab[i]);
    for (uint32_t i = 0; i < n2; i++)
        y[n1 + i] = dg_labelled_y(&T->lab, t, T->sc[2].te_lab[i]);
    memcpy(p, a->test_pred, (size_t)n1 * nout * sizeof *p);
    memcpy(p + (size_t)n1 * nout, b->test_pred, (size_t)n2 * nout * sizeof *p);
    dg_run run;
    memset(&run, 0, sizeof run);
    snprintf(run.family, sizeof run.family, "chosen(%s|%s)", a->family->name, b->family->name);
    snprintf(run.params, sizeof run.params, "s1 or s2 model by events");
    run.target = t;
    run.cv_score = NAN;
    run.ntrain = T->sc[1].ntr + T->sc[2].ntr;
    run.ntest = n;
    dg_evaluate(task, k, y, p, n, &run.test);
    if (task != DG_TASK_REGRESSION)
        dg_confusion(y, task == DG_TASK_MULTICLASS ? p : NULL, p, n, k, run.confusion);
    run.chosen = 1;
    add_run(T->res, &run);
    free(y);
    free(p);
}

/* ---- charts ----------------------------------------------------------------------- */

/* 1 for a female test device of scenario s, else 0, in test order. */
static double *test_female(const trainer *T, int s)
{
    uint32_t n = T->sc[s].nte;
    double *y = dg_xmalloc(((size_t)n + 1) * sizeof *y);
    for (uint32_t i = 0; i < n; i++)
        y[i] = T->lab.female[T->sc[s].te_lab[i]];
    return y;
}

int dg_train_chart(const dg_train_result *r, int which, dg_train_chart_view *out)
{
    /* Bands of one quantity: one colour, not a rainbow. */
    static const int one_colour[DG_RESIDUAL_BANDS] = {4, 4, 4, 4, 4, 4, 4};
    static const char *const bands[DG_RESIDUAL_BANDS] = {"<=22",  "23-26", "27-28", "29-32",
                                                         "33-38", "39-45", "46+"};
    const dg_train_charts *tc = &r->charts;
    memset(out, 0, sizeof *out);
    if (which < 0 || which >= DG_TRAIN_CHARTS || !tc->have[which])
        return 0;
    if (which == DG_TRAIN_CHART_ROC) {
        for (int k = 0; k < tc->roc_series; k++)
            out->names[k] = tc->roc_names[k];
        snprintf(out->file, sizeof out->file, "roc_gender.png");
        out->chart = (dg_chart){.kind = DG_CHART_LINE,
                                .title = "ROC curve: gender (P(female)), test split",
                                .subtitle = tc->split_text,
                                .value_label = "true positive rate",
                                .category_label = "false positive rate",
                                .n = DG_ROC_POINTS,
                                .x = tc->roc_x,
                                .values = tc->roc_v,
                                .nseries = tc->roc_series,
                                .series_names = out->names};
    } else if (which == DG_TRAIN_CHART_CALIBRATION) {
        for (int k = 0; k < tc->cal_series; k++)
            out->names[k] = tc->cal_names[k];
        snprintf(out->file, sizeof out->file, "calibration_gender.png");
        out->chart = (dg_chart){
            .kind = DG_CHART_LINE,
            .title = "Calibration: gender, test split (empty bins drawn at 0)",
            .subtitle = tc->split_text,
            .value_label = "observed share female",
            .category_label = "predicted P(female) (bins of 0.1, at their middle)",
            .n = DG_CALIBRATION_BINS,
            .x = tc->cal_x,
            .x_from_zero = 1,
            .values = tc->cal_v,
            .nseries = tc->cal_series,
            .series_names = out->names};
    } else {
        int s = which - DG_TRAIN_CHART_RESIDUALS_S1;
        snprintf(out->file, sizeof out->file, "residuals_age_s%d.png", s + 1);
        out->chart = (dg_chart){.kind = DG_CHART_BOX,
                                .title = tc->res_title[s],
                                .subtitle = tc->res_sub[s],
                                .value_label = "predicted age",
                                .category_label = "true age band",
                                .n = DG_RESIDUAL_BANDS,
                                .labels = bands,
                                .values = tc->res_v[s],
                                .colours = one_colour};
    }
    return 1;
}

/* Saves chart which of the result under train's out directory (with charts on). */
static int save_train_chart(const trainer *T, int which, dg_err *err)
{
    dg_train_chart_view v;
    if (!T->o->charts || !dg_train_chart(T->res, which, &v))
        return DG_OK;
    char *path = dg_path_join(T->o->out_dir, v.file);
    int rc = dg_chart_save(&v.chart, path, err);
    free(path);
    return rc;
}

static int chart_roc(trainer *T, dg_err *err)
{
    enum { NPTS = DG_ROC_POINTS };
    dg_train_charts *tc = &T->res->charts;
    double *xs = tc->roc_x, *values = tc->roc_v;
    for (int i = 0; i < NPTS; i++)
        xs[i] = i / (double)(NPTS - 1);
    char (*name)[96] = tc->roc_names;
    int ns = 0;
    for (int s = 1; s <= 2; s++) {
        chosen *c = &T->ch[s][DG_TARGET_GENDER];
        if (c->have)
            snprintf(name[ns++], sizeof name[0], "scenario %d: %s (AUC %.3f)", s,
                     c->family->name, T->res->runs[c->run].test.auc);
    }
    if (!ns)
        return DG_OK;
    int si = 0;
    for (int s = 1; s <= 2; s++) {
        chosen *c = &T->ch[s][DG_TARGET_GENDER];
        if (!c->have)
            continue;
        uint32_t n = T->sc[s].nte;
        double *y = test_female(T, s), *fpr, *tpr;
        size_t np;
        dg_roc_curve(y, c->test_pred, n, &fpr, &tpr, &np);
        /* The TPR at each grid FPR, on the straight line between the
         * curve's points: tied scores enter together, so between two
         * points the curve is a line (a constant predictor is the
         * diagonal), not a step. */
        for (int g = 0; g < NPTS; g++) {
            double x = g / (double)(NPTS - 1), best = 0;
            for (size_t q = 0; q + 1 < np; q++) {
                if (!(fpr[q] <= x + 1e-12 && x <= fpr[q + 1] + 1e-12))
                    continue;
                double w = fpr[q + 1] - fpr[q];
                double t = w > 0 ? tpr[q] + (tpr[q + 1] - tpr[q]) * (x - fpr[q]) / w
                                 : tpr[q + 1];
                if (t > best)
                    best = t;
            }
            values[g * (ns + 1) + si] = best;
        }
        si++;
        free(y);
        free(fpr);
        free(tpr);
    }
    snprintf(name[ns], sizeof name[ns], "chance");
    for (int g = 0; g < NPTS; g++)
        values[g * (ns + 1) + ns] = g / (double)(NPTS - 1);
    tc->roc_series = ns + 1;
    tc->have[DG_TRAIN_CHART_ROC] = 1;
    snprintf(tc->split_text, sizeof tc->split_text, "%s", T->lab.split_text);
    return save_train_chart(T, DG_TRAIN_CHART_ROC, err);
}

static int chart_calibration(trainer *T, dg_err *err)
{
    enum { NB = DG_CALIBRATION_BINS };
    dg_train_charts *tc = &T->res->charts;
    double *xs = tc->cal_x, *values = tc->cal_v;
    for (int b = 0; b < NB; b++)
        xs[b] = (b + 0.5) / NB; /* the bin's middle, on a numeric axis */
    char (*name)[96] = tc->cal_names;
    int ns = 0;
    for (int s = 1; s <= 2; s++)
        if (T->ch[s][DG_TARGET_GENDER].have)
            ns++;
    if (!ns)
        return DG_OK;
    int si = 0;
    for (int s = 1; s <= 2; s++) {
        chosen *c = &T->ch[s][DG_TARGET_GENDER];
        if (!c->have)
            continue;
        uint32_t n = T->sc[s].nte;
        double *y = test_female(T, s);
        uint64_t count[NB];
        double mean_p[NB], obs[NB];
        dg_calibration(y, c->test_pred, n, NB, count, mean_p, obs);
        for (int b = 0; b < NB; b++)
            values[b * (ns + 1) + si] = isnan(obs[b]) ? 0 : obs[b];
        snprintf(name[si], sizeof name[si], "scenario %d: %s, observed share female", s,
                 c->family->name);
        si++;
        free(y);
    }
    snprintf(name[ns], sizeof name[ns], "perfect calibration (bin middle)");
    for (int b = 0; b < NB; b++)
        values[b * (ns + 1) + ns] = (b + 0.5) / NB;
    tc->cal_series = ns + 1;
    tc->have[DG_TRAIN_CHART_CALIBRATION] = 1;
    return save_train_chart(T, DG_TRAIN_CHART_CALIBRATION, err);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    return lo + 1 < n ? v[lo] + (pos - (double)lo) * (v[lo + 1] - v[lo]) : v[n - 1];
}

/* Predicted age per true-age band as boxes (whiskers at the 5th and 95th
 * percentiles): a band's residual is how far its box sits from the band. */
static int chart_residuals(trainer *T, int s, dg_err *err)
{
    chosen *c = &T->ch[s][DG_TARGET_AGE];
    if (!c->have)
        return DG_OK;
    static const double top[] = {22, 26, 28, 32, 38, 45, 1e9};
    enum { NB = DG_RESIDUAL_BANDS };
    dg_train_charts *tc = &T->res->charts;
    double *values = tc->res_v[s - 1];
    uint32_t n = T->sc[s].nte;
    double *band = dg_xmalloc(((size_t)n + 1) * sizeof *band);
    for (int b = 0; b < NB; b++) {
        size_t m = 0;
        for (uint32_t i = 0; i < n; i++) {
            double age = T->lab.age[T->sc[s].te_lab[i]];
            int bi = 0;
            while (age > top[bi])
                bi++;
            if (bi == b)
                band[m++] = c->test_pred[i];
        }
        qsort(band, m, sizeof *band, cmp_double);
        double qs[5] = {0.05, 0.25, 0.5, 0.75, 0.95};
        for (int q = 0; q < 5; q++)
            values[b * 5 + q] = m ? fmax(0, quantile(band, m, qs[q])) : 0;
    }
    free(band);
    char *title = tc->res_title[s - 1], *sub = tc->res_sub[s - 1];
    const dg_eval *e = &T->res->runs[c->run].test;
    snprintf(title, sizeof tc->res_title[0],
             "Age residuals, scenario %d (%s): predicted age by true age band", s,
             c->family->name);
    snprintf(sub, sizeof tc->res_sub[0],
             "test split: MAE %.2f, RMSE %.2f, R2 %.3f; boxes 25-75%%, whiskers 5-95%%", e->mae,
             e->rmse, e->r2);
    tc->have[DG_TRAIN_CHART_RESIDUALS_S1 + s - 1] = 1;
    return save_train_chart(T, DG_TRAIN_CHART_RESIDUALS_S1 + s - 1, err);
}

/* ---- the whole run ------------------------------------------------------------------ */

void dg_train_result_free(dg_train_result *r)
{
    free(r->runs);
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
    T.folds = o->folds ? o->folds : 5;
    if (T.folds < 2 || T.folds > 50)
        return dg_fail(err, "folds: %d; expected 2 to 50", T.folds);
    unsigned targets = o->targets ? o->targets : (1u << DG_TARGET_COUNT) - 1;
    unsigned scen = o->scenarios ? o->scenarios : 3;
    /* Families by name; the prior always runs (it is every run's baseline). */
    const dg_model_family *fams[DG_TRAIN_MAX_FAMILIES + 2];
    int nf = 0;
    fams[nf++] = dg_model_family_find("prior");
    if (o->families[0]) {
        for (int i = 0; i < DG_TRAIN_MAX_FAMILIES && o->families[i]; i++) {
            const dg_model_family *fam = dg_model_family_find(o->families[i]);
            if (!fam) {
                char known[1024] = "";
                for (const dg_model_family *const *k = dg_model_families; *k; k++)
                    snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                             known[0] ? ", " : "", (*k)->name);
                return dg_fail(err, "no model family '%s' (families: %s)", o->families[i],
                               known);
            }
            int dup = 0;
            for (int j = 0; j < nf; j++)
                dup |= fams[j] == fam;
            if (!dup)
                fams[nf++] = fam;
        }
    } else {
        for (const dg_model_family *const *k = dg_model_families; *k && nf < DG_TRAIN_MAX_FAMILIES;
             k++)
            if (*k != fams[0])
                fams[nf++] = *k;
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
        if (!found)
            return dg_fail(err, "grid '%s': expected FAMILY:PARAMS with a family being trained",
                           o->grids[i]);
    }
    int rc = DG_OK;
    for (int j = 0; j < nf && rc == DG_OK; j++)
        rc = grid_expand(fams[j]->name, family_grid(&T, fams[j]), fams[j]->param_names,
                         &combos[j], &ncombos[j], err);
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
    /* The jobs, in the order of the runs: scenario, target, family. */
    job *jobs = NULL;
    size_t njobs = 0;
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++)
            for (int j = 0; j < nf; j++)
                if ((scen & (1u << (s - 1))) && (targets & (1u << t)) &&
                    (fams[j]->tasks & (1u << dg_target_task((dg_target)t))))
                    njobs++;
    /* Progress in fits: folds per combination, plus the refit; scenario 1's
     * bag probe is two combinations. */
    T.steps_total = (scen & 1) ? 2.0 * T.folds : 0;
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++)
            for (int j = 0; j < nf; j++)
                if ((scen & (1u << (s - 1))) && (targets & (1u << t)) &&
                    (fams[j]->tasks & (1u << dg_target_task((dg_target)t))))
                    T.steps_total += (double)ncombos[j] * T.folds + 1;
    if (rc == DG_OK && (scen & 1))
        rc = choose_bags(&T, fams, nf, combos, ncombos, targets, err);
    if (rc != DG_OK)
        njobs = 0; /* none made */
    if (rc == DG_OK) {
        jobs = dg_xcalloc(njobs + 1, sizeof *jobs);
        njobs = 0;
        for (int s = 1; s <= 2; s++)
            for (int t = 0; t < DG_TARGET_COUNT; t++)
                for (int j = 0; j < nf; j++)
                    if ((scen & (1u << (s - 1))) && (targets & (1u << t)) &&
                        (fams[j]->tasks & (1u << dg_target_task((dg_target)t))))
                        job_init(&jobs[njobs++], &T, &T.sc[s], (dg_target)t, fams[j], combos[j],
                                 ncombos[j],
                                 s == 2 || family_is_phone_only(fams[j]) ? V_PHONE : T.bags);
        rc = jobs_cross_validate(&T, jobs, njobs, "cross-validation: ", err);
    }
    if (rc == DG_OK)
        rc = jobs_refit(&T, jobs, njobs, err);
    job extra[4];
    memset(extra, 0, sizeof extra);
    size_t nlist = 0;
    job **list = rc == DG_OK ? jobs_with_group12_sum(&T, jobs, njobs, extra, &nlist) : NULL;
    for (size_t i = 0; i < nlist && rc == DG_OK; i++) {
        rc = job_finish(&T, list[i], err);
        int s = list[i]->S->s;
        dg_target t = list[i]->t;
        int last = i + 1 == nlist || list[i + 1]->S->s != s || list[i + 1]->t != t;
        if (rc == DG_OK && last && T.ch[s][t].have) {
            out->runs[T.ch[s][t].run].chosen = 1;
            rc = export_chosen(&T, s, t, err);
        }
    }
    free(list);
    /* The group12-sum models borrow their group12 model: free them first. */
    for (int i = 0; i < 4; i++)
        if (extra[i].S)
            job_free(&extra[i]);
    for (size_t i = 0; i < njobs; i++)
        job_free(&jobs[i]);
    free(jobs);
    for (int t = 0; t < DG_TARGET_COUNT && rc == DG_OK; t++)
        add_combined(&T, (dg_target)t);
    if (rc == DG_OK)
        rc = export_test_devices(&T, err);
    if (rc == DG_OK)
        rc = write_split(&T, err);
    if (rc == DG_OK) { /* the charts' numbers always; their PNGs with o->charts */
        rc = chart_roc(&T, err);
        if (rc == DG_OK)
            rc = chart_calibration(&T, err);
        for (int s = 1; s <= 2 && rc == DG_OK; s++)
            rc = chart_residuals(&T, s, err);
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
    dg_labelled_free(&T.lab);
    if (rc != DG_OK)
        dg_train_result_free(out);
    return rc;
}

/* ---- the comparison table --------------------------------------------------------- */

static void csv_num(dg_textbuf *b, double v)
{
    dg_textbuf_putc(b, ',');
    if (!isnan(v))
        dg_textbuf_printf(b, "%.17g", v);
}

static void json_num(dg_textbuf *b, const char *key, double v)
{
    if (isnan(v) || isinf(v))
        dg_textbuf_printf(b, ",\"%s\":null", key);
    else
        dg_textbuf_printf(b, ",\"%s\":%.17g", key, v);
}

static void json_str(dg_textbuf *b, const char *s)
{
    dg_textbuf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            dg_textbuf_putc(b, '\\');
        if ((unsigned char)*s < 0x20)
            dg_textbuf_printf(b, "\\u%04x", *s);
        else
            dg_textbuf_putc(b, *s);
    }
    dg_textbuf_putc(b, '"');
}

int dg_runs_write(const dg_train_result *r, const char *dir, dg_err *err)
{
    dg_textbuf b = {0};
    dg_textbuf_puts(&b, "family,scenario,target,params,combinations,cv_score,n_train,n_test,"
                        "accuracy,auc,log_loss,precision,recall,f1,mae,rmse,r2,train_seconds,"
                        "cv_seconds,model_bytes,chosen\n");
    for (size_t i = 0; i < r->nruns; i++) {
        const dg_run *x = &r->runs[i];
        dg_textbuf_csv_field(&b, x->family, strlen(x->family));
        if (x->scenario)
            dg_textbuf_printf(&b, ",%d,%s,", x->scenario, dg_target_name(x->target));
        else
            dg_textbuf_printf(&b, ",1+2,%s,", dg_target_name(x->target));
        dg_textbuf_csv_field(&b, x->params, strlen(x->params));
        dg_textbuf_printf(&b, ",%d", x->ncombos);
        csv_num(&b, x->cv_score);
        dg_textbuf_printf(&b, ",%u,%u", x->ntrain, x->ntest);
        csv_num(&b, x->test.accuracy);
        csv_num(&b, x->test.auc);
        csv_num(&b, x->test.log_loss);
        csv_num(&b, x->test.precision);
        csv_num(&b, x->test.recall);
        csv_num(&b, x->test.f1);
        csv_num(&b, x->test.mae);
        csv_num(&b, x->test.rmse);
        csv_num(&b, x->test.r2);
        csv_num(&b, x->train_seconds);
        csv_num(&b, x->cv_seconds);
        dg_textbuf_printf(&b, ",%" PRIu64 ",%d\n", x->model_bytes, x->chosen);
    }
    char *path = dg_path_join(dir, "runs.csv");
    int rc = dg_textbuf_save(&b, path, err);
    free(path);
    if (rc == DG_OK) {
        dg_textbuf_puts(&b, "{\"split\":");
        json_str(&b, r->split_text);
        dg_textbuf_puts(&b, ",\"selection_rule\":");
        json_str(&b, r->rule);
        dg_textbuf_puts(&b, ",\"bags\":");
        json_str(&b, r->bags);
        json_num(&b, "bags_cv_seconds", r->bags_seconds);
        json_num(&b, "seconds", r->seconds);
        dg_textbuf_puts(&b, ",\"runs\":[");
        for (size_t i = 0; i < r->nruns; i++) {
            const dg_run *x = &r->runs[i];
            dg_textbuf_puts(&b, i ? ",\n{\"family\":" : "\n{\"family\":");
            json_str(&b, x->family);
            if (x->scenario)
                dg_textbuf_printf(&b, ",\"scenario\":%d", x->scenario);
            else
                dg_textbuf_puts(&b, ",\"scenario\":\"1+2\"");
            dg_textbuf_printf(&b, ",\"target\":\"%s\",\"params\":", dg_target_name(x->target));
            json_str(&b, x->params);
            dg_textbuf_printf(&b, ",\"combinations\":%d", x->ncombos);
            json_num(&b, "cv_score", x->cv_score);
            dg_textbuf_printf(&b, ",\"n_train\":%u,\"n_test\":%u", x->ntrain, x->ntest);
            json_num(&b, "accuracy", x->test.accuracy);
            json_num(&b, "auc", x->test.auc);
            json_num(&b, "log_loss", x->test.log_loss);
            json_num(&b, "precision", x->test.precision);
            json_num(&b, "recall", x->test.recall);
            json_num(&b, "f1", x->test.f1);
            json_num(&b, "mae", x->test.mae);
            json_num(&b, "rmse", x->test.rmse);
            json_num(&b, "r2", x->test.r2);
            json_num(&b, "train_seconds", x->train_seconds);
            json_num(&b, "cv_seconds", x->cv_seconds);
            dg_textbuf_printf(&b, ",\"model_bytes\":%" PRIu64 ",\"chosen\":%s", x->model_bytes,
                              x->chosen ? "true" : "false");
            /* Rows: the true class; columns: the predicted one. */
            int k = x->test.task == DG_TASK_REGRESSION ? 0 : x->test.nclasses;
            if (k) {
                dg_textbuf_puts(&b, ",\"confusion\":[");
                for (int a = 0; a < k; a++) {
                    dg_textbuf_puts(&b, a ? ",[" : "[");
                    for (int c = 0; c < k; c++)
                        dg_textbuf_printf(&b, "%s%" PRIu64, c ? "," : "",
                                          x->confusion[a * k + c]);
                    dg_textbuf_putc(&b, ']');
                }
                dg_textbuf_putc(&b, ']');
            }
            dg_textbuf_putc(&b, '}');
        }
        dg_textbuf_puts(&b, "\n]}\n");
        path = dg_path_join(dir, "runs.json");
        rc = dg_textbuf_save(&b, path, err);
        free(path);
    }
    dg_textbuf_free(&b);
    return rc;
}

/* ---- model directories ---------------------------------------------------------------- */

typedef struct meta {
    char target[16], family[48], params[200], layout[20], data[20];
    int scenario;
    double v[12];
} meta;

static const char *const meta_nums[] = {"cv_score", "accuracy", "auc", "log_loss",
                                        "precision", "recall", "f1", "mae", "rmse", "r2", NULL};

static int meta_read(const char *path, meta *m, dg_err *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return dg_fail(err, "%s: cannot open: %s", path, strerror(errno));
    memset(m, 0, sizeof *m);
    for (int i = 0; i < 12; i++)
        m->v[i] = NAN;
    char line[512];
    int lineno = 0, rc = DG_OK, have_format = 0;
    while (rc == DG_OK && fgets(line, sizeof line, fp)) {
        lineno++;
        line[strcspn(line, "\n")] = 0;
        char *sp = strchr(line, ' ');
        if (!sp) {
            rc = dg_fail(err, "%s:%d: expected 'KEY VALUE', found '%.60s'", path, lineno, line);
            break;
        }
        *sp = 0;
        const char *key = line, *val = sp + 1;
        if (strcmp(key, "format") == 0) {
            have_format = strcmp(val, "demographer-model 1") == 0;
            if (!have_format)
                rc = dg_fail(err, "%s:%d: format '%s'; this demographer reads "
                                  "'demographer-model 1'",
                             path, lineno, val);
        } else if (strcmp(key, "target") == 0)
            snprintf(m->target, sizeof m->target, "%s", val);
        else if (strcmp(key, "family") == 0)
            snprintf(m->family, sizeof m->family, "%s", val);
        else if (strcmp(key, "params") == 0)
            snprintf(m->params, sizeof m->params, "%s", val);
        else if (strcmp(key, "layout") == 0)
            snprintf(m->layout, sizeof m->layout, "%s", val);
        else if (strcmp(key, "data") == 0)
            snprintf(m->data, sizeof m->data, "%s", val);
        else if (strcmp(key, "scenario") == 0)
            m->scenario = atoi(val);
        else
            for (int i = 0; meta_nums[i]; i++)
                if (strcmp(key, meta_nums[i]) == 0) {
                    char *end;
                    m->v[i] = strtod(val, &end);
                    if (end == val || *end)
                        rc = dg_fail(err, "%s:%d: %s needs a number, found '%s'", path, lineno,
                                     key, val);
                }
    }
    fclose(fp);
    if (rc == DG_OK && !have_format)
        rc = dg_fail(err, "%s: no 'format demographer-model 1' line: not a model's meta.txt",
                     path);
    return rc;
}

void dg_model_dir_close(dg_model_dir *d)
{
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++) {
            dg_loaded_model *m = &d->m[s][t];
            if (m->model)
                m->family->free(m->model);
            dg_design_spec_free(&m->spec);
        }
    free(d->path);
    free(d->test_device);
    free(d->test_scenario);
    memset(d, 0, sizeof *d);
}

static int read_test_devices(dg_model_dir *d, const char *path, dg_err *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return dg_fail(err, "%s: cannot open: %s", path, strerror(errno));
    char line[128];
    int lineno = 0, rc = DG_OK;
    size_t cap = 0;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        if (lineno == 1) {
            if (strcmp(line, "device_id,scenario\n") != 0)
                rc = dg_fail(err, "%s:1: expected the header 'device_id,scenario'", path);
            if (rc != DG_OK)
                break;
            continue;
        }
        int64_t id;
        int s;
        if (sscanf(line, "%" SCNd64 ",%d", &id, &s) != 2 || (s != 1 && s != 2)) {
            rc = dg_fail(err, "%s:%d: expected DEVICE_ID,SCENARIO (1 or 2), found '%.40s'", path,
                         lineno, line);
            break;
        }
        if (d->ntest == cap) {
            cap = cap ? 2 * cap : 1024;
            d->test_device = dg_xrealloc(d->test_device, cap * sizeof *d->test_device);
            d->test_scenario = dg_xrealloc(d->test_scenario, cap);
        }
        d->test_device[d->ntest] = id;
        d->test_scenario[d->ntest++] = (int8_t)s;
    }
    fclose(fp);
    return rc;
}

int dg_model_dir_open(dg_model_dir *d, const char *dir, dg_err *err)
{
    memset(d, 0, sizeof *d);
    /* A train --out directory holds models/; accept either. */
    char *sub = dg_path_join(dir, "models");
    struct stat st;
    d->path = stat(sub, &st) == 0 && S_ISDIR(st.st_mode) ? sub : (free(sub), dg_xstrdup(dir));
    int rc = DG_OK, found = 0;
    for (int s = 1; s <= 2 && rc == DG_OK; s++)
        for (int t = 0; t < DG_TARGET_COUNT && rc == DG_OK; t++) {
            char name[64];
            snprintf(name, sizeof name, "s%d-%s", s, dg_target_name((dg_target)t));
            char *mdir = dg_path_join(d->path, name);
            char *metap = dg_path_join(mdir, "meta.txt"), *designp = dg_path_join(mdir, "design.txt"),
                 *modelp = dg_path_join(mdir, "model");
            if (stat(metap, &st) == 0) {
                dg_loaded_model *m = &d->m[s][t];
                meta mt;
                dg_design_spec_init(&m->spec);
                rc = meta_read(metap, &mt, err);
                if (rc == DG_OK && (mt.scenario != s || strcmp(mt.target, name + 3) != 0))
                    rc = dg_fail(err, "%s: says scenario %d target '%s' but lies in %s", metap,
                                 mt.scenario, mt.target, name);
                if (rc == DG_OK && !(m->family = dg_model_family_find(mt.family)))
                    rc = dg_fail(err, "%s: model family '%s' is not in this demographer", metap,
                                 mt.family);
                if (rc == DG_OK)
                    rc = dg_design_load(&m->spec, designp, err);
                uint64_t layout = strtoull(mt.layout, NULL, 16);
                if (rc == DG_OK && layout != m->spec.fingerprint)
                    rc = dg_fail(err, "%s: layout %s differs from its design.txt's %016" PRIx64,
                                 metap, mt.layout, m->spec.fingerprint);
                if (rc == DG_OK && found && layout != d->fingerprint)
                    rc = dg_fail(err, "%s: layout %s differs from the other models' %016" PRIx64,
                                 metap, mt.layout, d->fingerprint);
                if (rc == DG_OK)
                    rc = m->family->load(modelp, &m->model, err);
                if (rc == DG_OK) {
                    d->fingerprint = layout;
                    m->present = 1;
                    snprintf(m->params, sizeof m->params, "%s", mt.params);
                    m->cv_score = mt.v[0];
                    m->test = (dg_eval){dg_target_task((dg_target)t),
                                        dg_target_nclasses((dg_target)t),
                                        0,
                                        mt.v[1],
                                        mt.v[2],
                                        mt.v[3],
                                        mt.v[4],
                                        mt.v[5],
                                        mt.v[6],
                                        mt.v[7],
                                        mt.v[8],
                                        mt.v[9]};
                    m->data_checksum = strtoull(mt.data, NULL, 16);
                    found++;
                }
            }
            free(mdir);
            free(metap);
            free(designp);
            free(modelp);
        }
    if (rc == DG_OK && !found)
        rc = dg_fail(err, "%s: no model here (expected s1-gender/meta.txt ... s2-group12/meta.txt, "
                          "as demographer train --out writes under models/)",
                     d->path);
    if (rc == DG_OK) {
        char *tp = dg_path_join(d->path, "test_devices.csv");
        rc = read_test_devices(d, tp, err);
        free(tp);
    }
    if (rc != DG_OK)
        dg_model_dir_close(d);
    return rc;
}

int dg_model_dir_check(const dg_model_dir *d, const dg_features *f, dg_err *err)
{
    uint64_t fp = dg_features_fingerprint(f);
    if (fp != d->fingerprint)
        return dg_fail(err,
                       "%s: the models were trained on feature layout %016" PRIx64
                       " but these features have layout %016" PRIx64
                       " (%d dense columns: %s ... %s); train again on these features, or use "
                       "the features (super-category rules) the models were trained with",
                       d->path, d->fingerprint, fp, f->ncols, f->ncols ? f->col_names[0] : "",
                       f->ncols ? f->col_names[f->ncols - 1] : "");
    return DG_OK;
}

int dg_model_dir_predict_target(const dg_model_dir *d, int scenario, dg_target t,
                                const dg_features *f, const uint32_t *rows, uint32_t n,
                                double *out, dg_err *err)
{
    const dg_loaded_model *m = &d->m[scenario][t];
    if (!m->present)
        return dg_fail(err, "%s: no model for scenario %d %s", d->path, scenario,
                       dg_target_name(t));
    dg_csr x;
    if (dg_design_apply(&m->spec, f, rows, n, &x, err) != DG_OK)
        return DG_ERR;
    int rc = m->family->predict(m->model, &x, out, err);
    dg_csr_free(&x);
    return rc;
}

int dg_model_dir_predict(const dg_model_dir *d, const dg_features *f, const uint32_t *rows,
                         uint32_t n, dg_prediction *out, dg_err *err)
{
    if (dg_model_dir_check(d, f, err) != DG_OK)
        return DG_ERR;
    int evcol = dg_features_col(f, "events");
    uint32_t *part = dg_xmalloc(((size_t)n + 1) * sizeof *part);
    uint32_t *where = dg_xmalloc(((size_t)n + 1) * sizeof *where);
    double *buf = dg_xmalloc(((size_t)n * 12 + 1) * sizeof *buf);
    for (uint32_t i = 0; i < n; i++) {
        dg_prediction *p = &out[i];
        memset(p, 0, sizeof *p);
        p->device_id = f->device_id[rows[i]];
        p->scenario = evcol >= 0 && f->dense[(size_t)rows[i] * f->ncols + evcol] > 0 ? 1 : 2;
        p->p_female = p->age = NAN;
        for (int g = 0; g < 6; g++)
            p->group6[g] = NAN;
        for (int g = 0; g < 12; g++)
            p->group12[g] = NAN;
    }
    int rc = DG_OK;
    for (int s = 1; s <= 2 && rc == DG_OK; s++) {
        uint32_t m = 0;
        for (uint32_t i = 0; i < n; i++)
            if (out[i].scenario == s) {
                where[m] = i;
                part[m++] = rows[i];
            }
        if (!m)
            continue;
        for (int t = 0; t < DG_TARGET_COUNT && rc == DG_OK; t++) {
            if (!d->m[s][t].present)
                continue;
            rc = dg_model_dir_predict_target(d, s, (dg_target)t, f, part, m, buf, err);
            int k = dg_task_nout(dg_target_task((dg_target)t), dg_target_nclasses((dg_target)t));
            for (uint32_t i = 0; rc == DG_OK && i < m; i++) {
                dg_prediction *p = &out[where[i]];
                const double *v = buf + (size_t)i * k;
                if (t == DG_TARGET_GENDER)
                    p->p_female = v[0];
                else if (t == DG_TARGET_AGE)
                    p->age = v[0];
                else if (t == DG_TARGET_GROUP6)
                    memcpy(p->group6, v, 6 * sizeof *v);
                else
                    memcpy(p->group12, v, 12 * sizeof *v);
            }
        }
    }
    free(part);
    free(where);
    free(buf);
    return rc;
}

int dg_model_dir_evaluate(const dg_model_dir *d, int s, dg_target t, const dg_features *f,
                          const dg_labelled *l, dg_eval *out, dg_err *err)
{
    dg_i64map ids;
    dg_i64map_init(&ids);
    for (uint32_t i = 0; i < l->n; i++)
        dg_i64map_put(&ids, l->device_id[i]);
    uint32_t *rows = dg_xmalloc((d->ntest + 1) * sizeof *rows);
    double *y = dg_xmalloc((d->ntest + 1) * sizeof *y);
    uint32_t n = 0, missing = 0;
    for (size_t i = 0; i < d->ntest; i++) {
        if (d->test_scenario[i] != s)
            continue;
        uint32_t k = dg_i64map_get(&ids, d->test_device[i]);
        if (k == UINT32_MAX) {
            missing++;
            continue;
        }
        rows[n] = l->row[k];
        y[n++] = dg_labelled_y(l, t, k);
    }
    dg_i64map_free(&ids);
    int rc = DG_OK;
    if (missing)
        rc = dg_fail(err, "%u test devices of scenario %d listed in %s/test_devices.csv are not "
                          "labelled devices of this data set",
                     missing, s, d->path);
    int k = dg_target_nclasses(t), nout = dg_task_nout(dg_target_task(t), k);
    double *pred = dg_xmalloc(((size_t)n * nout + 1) * sizeof *pred);
    if (rc == DG_OK)
        rc = dg_model_dir_predict_target(d, s, t, f, rows, n, pred, err);
    if (rc == DG_OK)
        dg_evaluate(dg_target_task(t), k, y, pred, n, out);
    free(rows);
    free(y);
    free(pred);
    return rc;
}
