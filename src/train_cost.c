/* Training's cost plan (train_impl.h): what each fit is expected to cost, so
 * that the progress counts fits done against fits planned weighted by it
 * (DG_UNIT_WORK) and the ETA does not take an xgboost fit for a prior's.
 * The cost of a job's fit is the seconds the same family took on the same
 * scenario and target in an earlier training (opts.history, its runs.json),
 * scaled to this training's rows; without one, its design's entries times
 * its outputs times a factor of its family, brought to seconds by the
 * families that have both. */
#include "train_impl.h"

#include <math.h>
#include <string.h>

/* A fit's cost relative to softmax's on the same design and its growth
 * with the outputs (classes): softmax-like families share their passes
 * over the rows among the classes, xgboost grows a tree per class and
 * LIBLINEAR and LIBSVM fit one model per class. Rough, as read off a
 * training's runs.json (bench/RESULTS.md); the last training's seconds
 * replace them wherever there is one. */
static void family_factor(const dg_model_family *fam, double *factor, double *per_output)
{
    static const struct {
        const char *name;
        double factor, per_output;
    } factors[] = {
        {"prior", 0.001, 0},         {"brand-model-prior", 0.001, 0}, {"persona-softmax", 3, 0.5},
        {"liblinear-lr-l2", 0.5, 1}, {"liblinear-lr-l1", 0.5, 1},     {"liblinear-svr", 0.5, 1},
        {"xgboost", 40, 1},          {"libsvm-svc", 20, 1},           {"libsvm-svr", 20, 1},
    };
    *factor = 1;
    *per_output = 0.5;
    for (size_t i = 0; i < sizeof factors / sizeof *factors; i++)
        if (strcmp(fam->name, factors[i].name) == 0) {
            *factor = factors[i].factor;
            *per_output = factors[i].per_output;
        }
}

int dg_train_fit_seconds(const dg_train_result *r, const char *family, int scenario,
                         dg_target t, uint32_t ntrain, double *fit, double *refit)
{
    *fit = *refit = NAN;
    for (size_t i = 0; r && i < r->nruns; i++) {
        const dg_run *x = &r->runs[i];
        if (x->scenario != scenario || x->target != t || strcmp(x->family, family) != 0 ||
            !(x->cv_seconds >= 0) || x->ntrain == 0)
            continue;
        /* The fits its cross-validation made: each combination on the folds
         * its score is over (0: its path ended before it), and one each
         * for those past the grid the run keeps. */
        double fits = 0;
        for (int c = 0; c < x->ngrid; c++)
            fits += x->grid_folds[c];
        if (x->ncombos > x->ngrid)
            fits += x->ncombos - x->ngrid;
        if (fits <= 0)
            continue;
        double scale = ntrain ? (double)ntrain / x->ntrain : 1;
        *fit = x->cv_seconds / fits * scale;
        *refit = (x->train_seconds >= 0 ? x->train_seconds : *fit) * scale;
        return 1;
    }
    return 0;
}

/* A fit's cost from its design alone (the unit of the factors). */
static double fit_units(const scenario *S, dg_target t, const dg_model_family *fam,
                        const dg_csr *x)
{
    int nout = dg_task_nout(dg_target_task(t), dg_target_nclasses(t));
    double factor, per_output;
    family_factor(fam, &factor, &per_output);
    return ((double)x->nnz + S->ntr) * pow(nout, per_output) * factor;
}

/* The design a family reads in scenario S before scenario 1's bags are
 * chosen: every bag variant has the same entries. */
static const dg_csr *family_design(const scenario *S, const dg_model_family *fam)
{
    int v = S->s == 2 || fam->phone_only || !S->has[V_BINARY] ? V_PHONE : V_BINARY;
    return &S->xtr[v];
}

/* Seconds per unit of fit_units, from the earlier training's families
 * that are run again; 0 when none is. */
static double units_scale(trainer *T)
{
    if (T->cost_scale_done)
        return T->cost_scale;
    double sec = 0, units = 0;
    for (size_t i = 0; i < (T->hist ? T->hist->nruns : 0); i++) {
        const dg_run *x = &T->hist->runs[i];
        const dg_model_family *fam = dg_model_family_find(x->family);
        if (!fam || x->scenario < 1 || x->scenario > 2 || !T->sc[x->scenario].ntr)
            continue;
        const scenario *S = &T->sc[x->scenario];
        double fit, refit;
        if (!dg_train_fit_seconds(T->hist, x->family, x->scenario, x->target, S->ntr, &fit,
                                  &refit))
            continue;
        sec += fit;
        units += fit_units(S, x->target, fam, family_design(S, fam));
    }
    T->cost_scale = sec > 0 && units > 0 ? sec / units : 0;
    T->cost_scale_done = 1;
    return T->cost_scale;
}

/* The cost of one cross-validation fit and of the refit of fam on (S, t)
 * on design x. */
static void fit_cost(trainer *T, const scenario *S, dg_target t, const dg_model_family *fam,
                     const dg_csr *x, double *fit, double *refit)
{
    if (!dg_train_fit_seconds(T->hist, fam->name, S->s, t, S->ntr, fit, refit)) {
        double scale = units_scale(T);
        *fit = *refit = fit_units(S, t, fam, x) * (scale > 0 ? scale : 1);
        return;
    }
    /* A fit the last training timed at 0 s (a prior's) still costs its
     * bookkeeping: a plan of such fits alone still has a length. */
    const double least = 1e-4;
    if (!(*fit > least))
        *fit = least;
    if (!(*refit > least))
        *refit = least;
}

void train_job_cost(trainer *T, job *J)
{
    fit_cost(T, J->S, J->t, J->fam, J->x, &J->fit_cost, &J->refit_cost);
}

void train_plan(trainer *T, const dg_model_family *const *fams, int nf, const int *ncombos,
                const unsigned *ftargets, unsigned scen)
{
    T->work_total = T->work_done;
    double probe = 0;
    int nprobe = 0;
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++)
            for (int j = 0; j < nf; j++) {
                if (!(scen & (1u << (s - 1))) || !(ftargets[j] & (1u << t)) ||
                    !(fams[j]->tasks & (1u << dg_target_task((dg_target)t))))
                    continue;
                const scenario *S = &T->sc[s];
                double fits = T->folds > 1 && ncombos[j] > SCREEN_KEEP
                                  ? ncombos[j] + (double)SCREEN_KEEP * (T->folds - 1)
                                  : (double)ncombos[j] * T->folds;
                double fit, refit;
                fit_cost(T, S, (dg_target)t, fams[j], family_design(S, fams[j]), &fit, &refit);
                T->work_total += fits * fit + refit;
                if (s == 1 && !fams[j]->phone_only) {
                    probe += fit;
                    nprobe++;
                }
            }
    /* Scenario 1's probes (train.c's choose_bags): a fit of one family that
     * reads the bags for each of binary and tf-idf and the three other count
     * forms, taken at the mean of those families' fits; the numeric scale's
     * screens are planned as they start. */
    if ((scen & 1) && nprobe)
        T->work_total += (2 + 3) * probe / nprobe;
}

void train_plan_screens(trainer *T, const job *jobs, size_t njobs)
{
    /* a path ended early counts its rest as done */
    for (size_t i = 0; i < njobs; i++)
        T->work_total += jobs[i].ncombos * jobs[i].fit_cost;
}

void train_plan_jobs(trainer *T, const job *jobs, size_t njobs, int refit)
{
    for (size_t i = 0; i < njobs; i++) {
        double fits = train_job_fits(T, &jobs[i]);
        T->work_total += fits * jobs[i].fit_cost + (refit ? jobs[i].refit_cost : 0);
    }
}
