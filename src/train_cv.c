/* Training's jobs (train_impl.h): each family on each target of each
 * scenario, cross-validated side by side on a pool of threads (fold 1's
 * screen, then every fold for the screen's best), and refitted. */
#define _XOPEN_SOURCE 700
#include "train_impl.h"

#include "demographer/pace.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- jobs: cross-validation side by side -------------------------------------------
 *
 * A job is one family on one target of one scenario. Its work is a task per
 * fold (the fold's matrices are taken once and the whole grid is fit on
 * them, in the order of the family's warm path, each fit starting from the
 * one before) and then the refit on the whole train split. The tasks run on
 * a few worker threads; every fit is single-threaded and seeded by its fold,
 * and a task writes only its own slots, so the results are the same bits
 * whatever the number of threads and whatever order the tasks finish in. */



typedef struct pool {
    trainer *T;
    task *tasks;
    size_t n, next, done;
    size_t cap;            /* room for the other folds a finished screen adds */
    double fits;           /* finished, for the progress */
    double work;           /* ...weighed by their cost (train_cost.c) */
    const char *label;     /* of the job most recently started */
    int stop;
    pthread_mutex_t mu;
    pthread_cond_t cond;
} pool;

int train_job_nout(const job *J)
{
    return dg_task_nout(dg_target_task(J->t), dg_target_nclasses(J->t));
}

/* Whether combinations a and b differ at most in parameter `except`. */
int train_same_but(const dg_params *a, const dg_params *b, const char *except)
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

/* Whether a and b set the same parameters to the same values. */
static int same_params(const dg_params *a, const dg_params *b)
{
    return a->n == b->n && train_same_but(a, b, "");
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
            dup = same_params(&out[e], &p);
        if (!dup)
            out[m++] = p;
    }
    *n = m;
    *own = out;
    return out;
}

void train_job_init(job *J, trainer *T, scenario *S, dg_target t, const dg_model_family *fam,
                     const dg_params *combos, int ncombos, int variant)
{
    memset(J, 0, sizeof *J);
    J->S = S;
    J->t = t;
    J->fam = fam;
    J->ncombos = ncombos;
    /* group12-sum's combination is its group12 model's, a rank among 12
     * classes whatever target it gives. */
    int k = fam == &dg_family_group12_sum ? 12 : dg_target_nclasses(t);
    J->combos = job_distinct_combos(combos, &J->ncombos, k, &J->own_combos);
    J->variant = variant;
    J->x = &S->xtr[variant];
    J->all = S->has_all && variant != V_PHONE ? &S->xall : NULL;
    train_job_cost(T, J);
    J->y = dg_xmalloc(((size_t)S->ntr + 1) * sizeof *J->y);
    for (uint32_t i = 0; i < S->ntr; i++)
        J->y[i] = dg_labelled_y(&T->lab, t, S->tr_lab[i]);
    ncombos = J->ncombos;
    J->oof = dg_xcalloc((size_t)ncombos * S->ntr * (size_t)train_job_nout(J) + 1, sizeof *J->oof);
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
            if (train_same_but(&J->combos[c], &J->combos[e], fam->warm_param))
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

void train_job_free(job *J)
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

/* The job's design's app block and its scenario's unlabelled rows, for the
 * families that learn from the apps without labels. */
static void job_apps(const job *J, dg_trainset *ts)
{
    train_block_columns(&J->S->spec[J->variant], DG_BLOCK_APPS, &ts->apps_lo, &ts->apps_hi);
    ts->unlabelled = J->all;
}


static int pool_fit_done(pool *P, int fits, double work)
{
    pthread_mutex_lock(&P->mu);
    P->fits += fits;
    P->work += work;
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
    int k = dg_target_nclasses(J->t), nout = train_job_nout(J), fo = tk->fold;
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
    /* The model the next fit starts from: the path's previous point on
     * this fold. Never another fold's model: fold 1's was fit on this
     * fold's held-out rows, and a start keeps some of what it learnt of
     * them (the stop is relative), which made the held-out scores of weak
     * penalties optimistic. Fold 1's models stay with the job (J->first),
     * the start of the refit, which holds no row out. */
    void *prev = NULL;
    int prev_owned = 0;
    tk->rc = DG_OK;
    for (int i = 0; i < J->ncombos && tk->rc == DG_OK; i++) {
        int c = J->order[i];
        if (!J->fit[c])
            continue;
        if (tk->screen && J->path[c] == stopped_path) {
            /* Counted as done, so that the progress reaches its end. */
            if (pool_fit_done(P, 1, J->fit_cost)) {
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
        if (pool_fit_done(P, 1, J->fit_cost) && tk->rc == DG_OK) {
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
    J->pred = dg_xmalloc(((size_t)S->nte * train_job_nout(J) + 1) * sizeof *J->pred);
    double t0 = dg_now();
    tk->rc = J->fam->fit(&ts, &J->combos[J->best], &J->model, NULL, &tk->err);
    J->refit_seconds = dg_now() - t0;
    if (tk->rc == DG_OK)
        tk->rc = J->fam->predict(J->model, &S->xte[J->variant], J->pred, &tk->err);
    tk->combo = J->best;
    if (pool_fit_done(P, 1, J->refit_cost) && tk->rc == DG_OK)
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
            double done = T->work_done + P.work, total = T->work_total;
            pthread_mutex_unlock(&P.mu);
            int stop = dg_progress_report(T->o->progress, stage, done, total, DG_UNIT_WORK);
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
    T->work_done += P.work;
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


/* The fits of a job's cross-validation: fold 1's whole grid (a path ended
 * early counts its rest as done) and the kept on the other folds. */
double train_job_fits(const trainer *T, const job *J)
{
    if (J->screen_given)
        return (double)SCREEN_KEEP * (T->folds - 1);
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
    int k = dg_target_nclasses(J->t), nout = train_job_nout(J);
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

/* After fold 1's screen of J (job_keep_screened): its kept combinations
 * go on to every other fold, as tasks appended to tasks[n..cap), and the
 * plan drops the folds of those not kept. Returns the tasks' new count. */
static size_t job_other_folds(trainer *T, job *J, task *tasks, size_t n, size_t cap)
{
    int kept = 0;
    for (int c = 0; c < J->ncombos; c++)
        kept += J->fit[c];
    /* train_job_fits's, weighed */
    T->work_total -= (double)(SCREEN_KEEP - kept) * (T->folds - 1) * J->fit_cost;
    for (int fo = 1; fo < T->folds && n < cap; fo++)
        tasks[n++] = (task){.j = J, .fold = fo};
    return n;
}

/* A screen is done (called with the pool's lock held): its job's kept
 * combinations go on to the other folds, as new tasks. */
static void screen_done(pool *P, const task *tk)
{
    job_keep_screened(tk->j);
    if (tk->screen != SCREEN_ONLY)
        P->n = job_other_folds(P->T, tk->j, P->tasks, P->n, P->cap);
}

int train_job_take_screen(const trainer *T, job *J, job *from)
{
    if (T->folds < 2 || J->ncombos <= SCREEN_KEEP || J->fam != from->fam || J->t != from->t ||
        J->S != from->S || J->x != from->x ||
        (J->fam->reads_unlabelled && J->all != from->all))
        return 0;
    int nout = train_job_nout(J), taken = 0;
    const scenario *S = J->S;
    unsigned char *used = dg_xcalloc((size_t)from->ncombos + 1, 1);
    for (int c = 0; c < J->ncombos; c++)
        for (int e = 0; e < from->ncombos; e++) {
            if (used[e] || isnan(from->screen[e]) ||
                !same_params(&J->combos[c], &from->combos[e]))
                continue;
            used[e] = 1;
            J->screen[c] = from->screen[e];
            J->first[c] = from->first[e];
            from->first[e] = NULL;
            double *to = J->oof + (size_t)c * S->ntr * nout;
            const double *fo = from->oof + (size_t)e * S->ntr * nout;
            for (uint32_t i = 0; i < S->ntr; i++)
                if (S->fold[i] == 0)
                    memcpy(to + (size_t)i * nout, fo + (size_t)i * nout,
                           (size_t)nout * sizeof *to);
            taken++;
            break;
        }
    free(used);
    J->screen_given = taken > 0;
    return taken;
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
static int cross_validate(trainer *T, job *jobs, size_t njobs, int nfolds, int screen_only,
                          const char *what, dg_err *err)
{
    int screen = screen_only || (nfolds == T->folds && nfolds > 1);
    size_t n = 0, cap = njobs * (size_t)nfolds;
    task *tasks = dg_xcalloc(cap + 1, sizeof *tasks);
    for (size_t j = 0; j < njobs; j++) {
        int first = screen && jobs[j].ncombos > SCREEN_KEEP;
        if (first && jobs[j].screen_given && !screen_only) {
            /* fold 1's screen is done */
            job_keep_screened(&jobs[j]);
            n = job_other_folds(T, &jobs[j], tasks, n, cap);
            continue;
        }
        for (int fo = 0; fo < (first ? 1 : nfolds); fo++)
            tasks[n++] = (task){.j = &jobs[j], .fold = fo,
                                .screen = !first ? 0 : screen_only ? SCREEN_ONLY : 1};
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
        int k = dg_target_nclasses(J->t), nout = train_job_nout(J);
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

int train_cross_validate(trainer *T, job *jobs, size_t njobs, int nfolds, const char *what,
                         dg_err *err)
{
    return cross_validate(T, jobs, njobs, nfolds, 0, what, err);
}

int train_screen(trainer *T, job *jobs, size_t njobs, const char *what, dg_err *err)
{
    int rc = cross_validate(T, jobs, njobs, 1, 1, what, err);
    /* A grid too small to screen was fit on fold 1 whole: its scores there
     * are its screen (train_job_take_screen reads it). */
    for (size_t j = 0; j < njobs && rc == DG_OK; j++)
        for (int c = 0; c < jobs[j].ncombos; c++)
            if (isnan(jobs[j].screen[c]))
                jobs[j].screen[c] = jobs[j].score[c];
    return rc;
}

/* The refits, the longest first (by their cross-validation's seconds), so
 * that no long one starts last while the other cores idle; the results do
 * not depend on the order. */
int train_refit(trainer *T, job *jobs, size_t njobs, dg_err *err)
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

