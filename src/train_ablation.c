/* What each feature block of a chosen model is worth, by cross-validation
 * (train --ablation), and the design's block columns. */
#define _XOPEN_SOURCE 700
#include "train_impl.h"

#include "model_blend.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
void train_block_columns(const dg_design_spec *s, unsigned bit, uint32_t *lo, uint32_t *hi)
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

int train_ablate(trainer *T, dg_err *err)
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
                train_block_columns(spec, ablation_blocks[b].bit, &lo, &hi);
                if (!(spec->blocks & ablation_blocks[b].bit) || lo == hi)
                    continue;
                train_job_init(&jobs[n], T, S, (dg_target)t, ch->family, &ch->params, 1, ch->variant);
                csr_without_columns(&S->xtr[ch->variant], lo, hi, &x[n]);
                jobs[n].x = &x[n];
                /* Without the apps nothing may be learnt from them, not even
                 * from the unlabelled rows. */
                if (ablation_blocks[b].bit == DG_BLOCK_APPS)
                    jobs[n].all = NULL;
                block[n++] = b;
            }
        }
    train_plan_jobs(T, jobs, n, 0);
    int rc = train_cross_validate(T, jobs, n, T->folds, "ablation: ", err);
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
        train_job_free(&jobs[i]);
        dg_csr_free(&x[i]);
    }
    free(jobs);
    free(x);
    free(block);
    return rc;
}

