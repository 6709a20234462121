/* The jobs made from the others' out-of-fold predictions: group12-sum
 * (gender, age and group6 read off the chosen group12 model) and the blend. */
#define _XOPEN_SOURCE 700
#include "train_impl.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_blend.h"
#include "model_softmax.h"

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
    train_job_init(J, T, S, t, &dg_family_group12_sum, &J12->combos[J12->best], 1, J12->variant);
    J->of = J12;
    dg_task kind = dg_target_task(t);
    int nout = train_job_nout(J);
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
job **train_with_group12_sum(trainer *T, job *jobs, size_t njobs, job *extra, size_t *nout)
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
        train_job_init(J, T, S, t, &dg_family_blend, combos, ncombos, variant);
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
            dg_blend_combiner_free(first[c]);
        free(first);
        J->pred = dg_xmalloc(((size_t)S->nte * nout + 1) * sizeof *J->pred);
        if (rc == DG_OK)
            rc = dg_blend_combiner_predict(combiner, &zte, J->pred, err);
        J->refit_seconds = dg_now() - t0;
        if (rc == DG_OK)
            J->model = dg_blend_make(bases, nb, combiner, kind, k,
                                     dg_design_ncols(&S->spec[variant]));
        else
            dg_blend_combiner_free(combiner);
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
job **train_with_blends(trainer *T, job **list, size_t n, job *extra, const dg_params *combos,
                        int ncombos, size_t *nout, dg_err *err)
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
