/* Softmax (multinomial logistic) regression with an L2 penalty, minimised by
 * liblbfgs. One weight per (column, class) and an unpenalised intercept per
 * class; the loss is the weighted mean log loss, so l2 does not depend on
 * the number of rows. Binary sets are two classes and predict P(y=1); their
 * fit is over one weight per column, the two classes' difference
 * (binary_rows), and the model keeps each class's half. Unlike one-vs-rest, the probabilities come from one model and need no
 * normalising, which is what the 12-class log loss rewards.
 *
 * With rank r below the class count, the weights are a product W A (W one
 * row of r numbers per column, A r numbers per class), and the penalty is on
 * W and A. The twelve groups are six ages of two sexes: what a column says
 * of its devices is mostly a few directions (more or less male, older,
 * younger) rather than twelve free numbers, and the constraint spends the
 * rows on those directions. The loss is no longer convex in W and A: the fit
 * starts from small seeded values (at 0 the gradients vanish), and a penalty
 * path from the point before, so a fit repeats. */
#include "model_softmax.h"

#include "model_family.h"

#include <lbfgs.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 8
/* The objective-decrease stop: L-BFGS also ends when the objective fell by
 * less than delta (relative) over the last SOFTMAX_PAST iterations. 1e-4
 * rather than 1e-5: a third fewer iterations, and train-split CV no worse on
 * any world and target (a little better on some: the last iterations of a
 * weak penalty fit the train rows' noise); 3e-4 lost on one
 * (bench/RESULTS.md, "softmax's stop"). */
#define SOFTMAX_PAST 5
#define SOFTMAX_DELTA 1e-4

typedef struct softmax_model {
    uint32_t ncols;
    uint32_t nclasses;
    uint32_t binary; /* 1: predicts P(class 1) only */
    double *w;       /* (ncols + 1) * nclasses: column-major by class, intercepts last */
    /* A rank-r fit's W, A and intercepts, kept (not saved) as the start of
     * the next point of a penalty path; NULL for the full model. */
    uint32_t rank;
    double *theta;
} softmax_model;

/* Softmax of z (in place) and log-sum-exp of the input, without overflow. */
static double softmax_inplace(double *z, int k)
{
    double top = z[0];
    for (int c = 1; c < k; c++)
        if (z[c] > top)
            top = z[c];
    double sum = 0;
    for (int c = 0; c < k; c++) {
        z[c] = exp(z[c] - top);
        sum += z[c];
    }
    for (int c = 0; c < k; c++)
        z[c] /= sum;
    return top + log(sum);
}

/* The class scores of row r: intercepts plus the row's weighted columns. */
static void row_scores(const dg_csr *x, uint32_t r, const double *w, int k, uint32_t ncols,
                       double *z)
{
    memcpy(z, w + (size_t)ncols * (size_t)k, sizeof *z * (size_t)k);
    for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++) {
        const double *wj = w + (size_t)x->idx[e] * (size_t)k;
        double v = x->val[e];
        for (int c = 0; c < k; c++)
            z[c] += v * wj[c];
    }
}

/* The columns present in at least half of a design's rows (the numeric
 * block: every device has most of them) as a row-major float matrix, and
 * the other entries as CSR. Gathering a dense column's weights and writing
 * its gradient back once per entry is most of a fit's time; with the dense
 * columns in a matrix, SPLIT_BLOCK rows share each column's weight load and
 * gradient write. */
#define SPLIT_BLOCK 4
typedef struct dense_split {
    uint32_t nd;
    uint32_t *col; /* [nd]: each dense column's index in the design */
    float *d;      /* [nrows + SPLIT_BLOCK][nd]: 0 where the row has no entry */
    dg_csr rest;
} dense_split;

typedef struct objective_part {
    const dg_trainset *t;
    const dense_split *split; /* NULL: t->x as it is */
    const double *w;
    double *grad; /* this part's gradient, zeroed by the part */
    uint32_t from, to;
    double loss;
} objective_part;

/* A row's weighted loss from its scores z, which become the loss's
 * derivatives by the scores (times the weight), added to the intercepts'
 * gradient too. */
static inline double row_loss(double *z, int k, int y, double wr, double *bias_grad)
{
    double zy = z[y];
    double loss = wr * (softmax_inplace(z, k) - zy);
    /* d loss / d z_c = p_c - [c == y] */
    z[y] -= 1;
    for (int c = 0; c < k; c++) {
        z[c] *= wr;
        bias_grad[c] += z[c];
    }
    return loss;
}

/* Two classes per instruction. GCC does not vectorise the per-entry loops
 * over the classes on its own (they are most of a training's time), so they
 * are written with vector types. */
typedef double pair __attribute__((vector_size(2 * sizeof(double))));

static inline pair pair_load(const double *p)
{
    pair v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void pair_store(double *p, pair v) { memcpy(p, &v, sizeof v); }

/* The loss and gradient of rows from..to, for an even number of classes
 * (every target's: 2, 6 or 12) up to MAX_PAIRS * 2; inlined with k a
 * constant, so the loops over the pairs unroll. */
#define MAX_PAIRS 6
static inline __attribute__((always_inline)) void objective_rows_even(objective_part *part,
                                                                      int k)
{
    const dg_trainset *t = part->t;
    const dg_csr *x = t->x;
    const double *w = part->w;
    int h = k / 2;
    memset(part->grad, 0, sizeof *part->grad * ((size_t)x->ncols + 1) * (size_t)k);
    double *bias_grad = part->grad + (size_t)x->ncols * (size_t)k;
    double loss = 0, z[2 * MAX_PAIRS];
    pair acc[MAX_PAIRS];
    for (uint32_t r = part->from; r < part->to; r++) {
        double wr = t->weight ? t->weight[r] : 1;
        if (wr == 0)
            continue;
        for (int i = 0; i < h; i++)
            acc[i] = pair_load(w + (size_t)x->ncols * (size_t)k + 2 * i);
        /* Two entries at a time into two sums, as objective_rows_quads. */
        pair acc2[MAX_PAIRS];
        for (int i = 0; i < h; i++)
            acc2[i] = (pair){0, 0};
        uint64_t e = x->ptr[r], end = x->ptr[r + 1];
        for (; e + 1 < end; e += 2) {
            const double *wj = w + (size_t)x->idx[e] * (size_t)k;
            const double *wj2 = w + (size_t)x->idx[e + 1] * (size_t)k;
            pair v = {x->val[e], x->val[e]}, v2 = {x->val[e + 1], x->val[e + 1]};
            for (int i = 0; i < h; i++) {
                acc[i] += v * pair_load(wj + 2 * i);
                acc2[i] += v2 * pair_load(wj2 + 2 * i);
            }
        }
        if (e < end) {
            const double *wj = w + (size_t)x->idx[e] * (size_t)k;
            pair v = {x->val[e], x->val[e]};
            for (int i = 0; i < h; i++)
                acc[i] += v * pair_load(wj + 2 * i);
        }
        for (int i = 0; i < h; i++)
            pair_store(z + 2 * i, acc[i] + acc2[i]);
        loss += row_loss(z, k, (int)t->y[r], wr, bias_grad);
        for (int i = 0; i < h; i++)
            acc[i] = pair_load(z + 2 * i);
        for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++) {
            double *gj = part->grad + (size_t)x->idx[e] * (size_t)k;
            pair v = {x->val[e], x->val[e]};
            for (int i = 0; i < h; i++)
                pair_store(gj + 2 * i, pair_load(gj + 2 * i) + v * acc[i]);
        }
    }
    part->loss = loss;
}

/* Four classes per instruction, for group12's 12 classes: the target
 * clones of objective_rows (AVX-512, AVX2 and the baseline, chosen when
 * the program starts) do four classes per instruction where the machine
 * can, two pairs where it cannot; FMA fuses a multiply and an add where
 * the machine has it. A fit repeats bit for bit on one machine; on
 * machines of different instruction sets the last bits may differ. */
typedef double quad __attribute__((vector_size(4 * sizeof(double))));

/* Macros, not functions: a function passing a quad by value has a
 * different ABI with and without AVX, which GCC warns of. */
#define quad_load(p) __extension__({ quad v_; memcpy(&v_, (p), sizeof v_); v_; })
#define quad_store(p, v) __extension__({ quad s_ = (v); memcpy((p), &s_, sizeof s_); })

#define MAX_QUADS 3
static inline __attribute__((always_inline)) void objective_rows_quads(objective_part *part,
                                                                       int k)
{
    const dg_trainset *t = part->t;
    const dg_csr *x = t->x;
    const double *w = part->w;
    int h = k / 4;
    memset(part->grad, 0, sizeof *part->grad * ((size_t)x->ncols + 1) * (size_t)k);
    double *bias_grad = part->grad + (size_t)x->ncols * (size_t)k;
    double loss = 0, z[4 * MAX_QUADS];
    quad acc[MAX_QUADS];
    for (uint32_t r = part->from; r < part->to; r++) {
        double wr = t->weight ? t->weight[r] : 1;
        if (wr == 0)
            continue;
        for (int i = 0; i < h; i++)
            acc[i] = quad_load(w + (size_t)x->ncols * (size_t)k + 4 * i);
        /* Two entries at a time into two sums: each sum's additions wait
         * on the one before, and two chains keep the FMA units busy. */
        quad acc2[MAX_QUADS];
        for (int i = 0; i < h; i++)
            acc2[i] = (quad){0, 0, 0, 0};
        uint64_t e = x->ptr[r], end = x->ptr[r + 1];
        for (; e + 1 < end; e += 2) {
            const double *wj = w + (size_t)x->idx[e] * (size_t)k;
            const double *wj2 = w + (size_t)x->idx[e + 1] * (size_t)k;
            double xv = x->val[e], xv2 = x->val[e + 1];
            quad v = {xv, xv, xv, xv}, v2 = {xv2, xv2, xv2, xv2};
            for (int i = 0; i < h; i++) {
                acc[i] += v * quad_load(wj + 4 * i);
                acc2[i] += v2 * quad_load(wj2 + 4 * i);
            }
        }
        if (e < end) {
            const double *wj = w + (size_t)x->idx[e] * (size_t)k;
            double xv = x->val[e];
            quad v = {xv, xv, xv, xv};
            for (int i = 0; i < h; i++)
                acc[i] += v * quad_load(wj + 4 * i);
        }
        for (int i = 0; i < h; i++)
            quad_store(z + 4 * i, acc[i] + acc2[i]);
        loss += row_loss(z, k, (int)t->y[r], wr, bias_grad);
        for (int i = 0; i < h; i++)
            acc[i] = quad_load(z + 4 * i);
        for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++) {
            double *gj = part->grad + (size_t)x->idx[e] * (size_t)k;
            double xv = x->val[e];
            quad v = {xv, xv, xv, xv};
            for (int i = 0; i < h; i++)
                quad_store(gj + 4 * i, quad_load(gj + 4 * i) + v * acc[i]);
        }
    }
    part->loss = loss;
}

/* The loss and gradient of rows from..to over a dense split, for an even
 * number of classes: SPLIT_BLOCK rows at a time, each dense column's
 * weights loaded once for the block and its gradient written once. VT is a
 * vector of VW doubles (pair or quad), MAXV the most vectors a row's scores
 * take. Rows of weight 0 add exact zeros, as rows left out. */
#define SPLIT_KERNEL(NAME, VT, VW, VLOAD, VSTORE, MAXV)                                        \
    static inline __attribute__((always_inline)) void NAME(objective_part *part, int k)        \
    {                                                                                          \
        const dg_trainset *t = part->t;                                                        \
        const dense_split *sp = part->split;                                                   \
        const dg_csr *x = &sp->rest;                                                           \
        const double *w = part->w;                                                             \
        uint32_t nd = sp->nd, ncols = t->x->ncols;                                             \
        int h = k / VW;                                                                        \
        memset(part->grad, 0, sizeof *part->grad * ((size_t)ncols + 1) * (size_t)k);           \
        double *bias_grad = part->grad + (size_t)ncols * (size_t)k;                            \
        const double *bias = w + (size_t)ncols * (size_t)k;                                    \
        double loss = 0, z[VW * MAXV];                                                         \
        for (uint32_t r0 = part->from; r0 < part->to; r0 += SPLIT_BLOCK) {                     \
            uint32_t nb = part->to - r0 < SPLIT_BLOCK ? part->to - r0 : SPLIT_BLOCK;           \
            const float *db = sp->d + (size_t)r0 * nd;                                         \
            VT acc[SPLIT_BLOCK][MAXV];                                                         \
            for (int b = 0; b < SPLIT_BLOCK; b++)                                              \
                for (int i = 0; i < h; i++)                                                    \
                    acc[b][i] = VLOAD(bias + VW * i);                                          \
            for (uint32_t j = 0; j < nd; j++) {                                                \
                const double *wj = w + (size_t)sp->col[j] * (size_t)k;                         \
                VT wv[MAXV];                                                                   \
                for (int i = 0; i < h; i++)                                                    \
                    wv[i] = VLOAD(wj + VW * i);                                                \
                for (int b = 0; b < SPLIT_BLOCK; b++) {                                        \
                    double xv = db[(size_t)b * nd + j];                                        \
                    for (int i = 0; i < h; i++)                                                \
                        acc[b][i] += xv * wv[i];                                               \
                }                                                                              \
            }                                                                                  \
            for (int b = 0; b < SPLIT_BLOCK; b++) {                                            \
                uint32_t r = r0 + (uint32_t)b;                                                 \
                double wr = (uint32_t)b < nb ? (t->weight ? t->weight[r] : 1) : 0;             \
                if (wr == 0) {                                                                 \
                    for (int i = 0; i < h; i++)                                                \
                        acc[b][i] = (VT){0};                                                   \
                    continue;                                                                  \
                }                                                                              \
                for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++) {                         \
                    const double *wj = w + (size_t)x->idx[e] * (size_t)k;                      \
                    double xv = x->val[e];                                                     \
                    for (int i = 0; i < h; i++)                                                \
                        acc[b][i] += xv * VLOAD(wj + VW * i);                                  \
                }                                                                              \
                for (int i = 0; i < h; i++)                                                    \
                    VSTORE(z + VW * i, acc[b][i]);                                             \
                loss += row_loss(z, k, (int)t->y[r], wr, bias_grad);                           \
                for (int i = 0; i < h; i++)                                                    \
                    acc[b][i] = VLOAD(z + VW * i);                                             \
                for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++) {                         \
                    double *gj = part->grad + (size_t)x->idx[e] * (size_t)k;                   \
                    double xv = x->val[e];                                                     \
                    for (int i = 0; i < h; i++)                                                \
                        VSTORE(gj + VW * i, VLOAD(gj + VW * i) + xv * acc[b][i]);              \
                }                                                                              \
            }                                                                                  \
            for (uint32_t j = 0; j < nd; j++) {                                                \
                double *gj = part->grad + (size_t)sp->col[j] * (size_t)k;                      \
                VT gv[MAXV];                                                                   \
                for (int i = 0; i < h; i++)                                                    \
                    gv[i] = VLOAD(gj + VW * i);                                                \
                for (int b = 0; b < SPLIT_BLOCK; b++) {                                        \
                    double xv = db[(size_t)b * nd + j];                                        \
                    for (int i = 0; i < h; i++)                                                \
                        gv[i] += xv * acc[b][i];                                               \
                }                                                                              \
                for (int i = 0; i < h; i++)                                                    \
                    VSTORE(gj + VW * i, gv[i]);                                                \
            }                                                                                  \
        }                                                                                      \
        part->loss = loss;                                                                     \
    }

SPLIT_KERNEL(objective_split_pairs, pair, 2, pair_load, pair_store, MAX_PAIRS)
SPLIT_KERNEL(objective_split_quads, quad, 4, quad_load, quad_store, MAX_QUADS)

/* Any number of classes (a family may fit a trainset of its own). */
static void objective_rows_any(objective_part *part)
{
    const dg_trainset *t = part->t;
    const dg_csr *x = t->x;
    int k = t->nclasses;
    size_t n = ((size_t)x->ncols + 1) * (size_t)k;
    memset(part->grad, 0, sizeof *part->grad * n);
    double *z = dg_xmalloc(sizeof *z * (size_t)k);
    double *bias_grad = part->grad + (size_t)x->ncols * (size_t)k;
    double loss = 0;
    for (uint32_t r = part->from; r < part->to; r++) {
        double wr = t->weight ? t->weight[r] : 1;
        if (wr == 0)
            continue;
        row_scores(x, r, part->w, k, x->ncols, z);
        loss += row_loss(z, k, (int)t->y[r], wr, bias_grad);
        for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++) {
            double *gj = part->grad + (size_t)x->idx[e] * (size_t)k;
            double v = x->val[e];
            for (int c = 0; c < k; c++)
                gj[c] += v * z[c];
        }
    }
    free(z);
    part->loss = loss;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KERNEL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KERNEL_CLONES
#endif

KERNEL_CLONES static void *objective_rows(void *arg)
{
    objective_part *part = arg;
    if (part->split) {
        switch (part->t->nclasses) {
        case 2:
            objective_split_pairs(part, 2);
            return NULL;
        case 6:
            objective_split_pairs(part, 6);
            return NULL;
        case 12:
            objective_split_quads(part, 12);
            return NULL;
        }
    }
    switch (part->t->nclasses) {
    case 2:
        objective_rows_even(part, 2);
        break;
    case 6:
        objective_rows_even(part, 6);
        break;
    case 12:
        objective_rows_quads(part, 12);
        break;
    default:
        objective_rows_any(part);
    }
    return NULL;
}

/* Two classes as one weight per column: the two-class model's scores
 * differ by v x (v the class-1 weights less the class-0 ones), and its
 * penalty is least, for a given v, at weights +-v/2, where it is l2/4 |v|^2
 * (objective() then penalises v by l2/2): the same optimum in half the
 * weights, each row's score one dot product instead of two. The loss of
 * rows from..to and its gradient by v (then by the intercept's difference);
 * the dense split's columns as a dot product of the row's floats. */
KERNEL_CLONES static void *binary_rows(void *arg)
{
    objective_part *part = arg;
    const dg_trainset *t = part->t;
    const dense_split *sp = part->split;
    const dg_csr *x = sp ? &sp->rest : t->x;
    uint32_t ncols = t->x->ncols, nd = sp ? sp->nd : 0;
    const double *v = part->w;
    double *g = part->grad;
    memset(g, 0, sizeof *g * ((size_t)ncols + 1));
    double *vd = dg_xmalloc(sizeof *vd * ((size_t)nd + 1));
    double *gd = dg_xcalloc((size_t)nd + 1, sizeof *gd);
    for (uint32_t j = 0; j < nd; j++)
        vd[j] = v[sp->col[j]];
    double loss = 0, bias_grad = 0;
    for (uint32_t r = part->from; r < part->to; r++) {
        double wr = t->weight ? t->weight[r] : 1;
        if (wr == 0)
            continue;
        const float *dr = nd ? sp->d + (size_t)r * nd : NULL;
        /* two sums of four: each sum's additions wait on the one before */
        quad a0 = {0, 0, 0, 0}, a1 = {0, 0, 0, 0};
        uint32_t j = 0;
        for (; j + 8 <= nd; j += 8) {
            a0 += (quad){dr[j], dr[j + 1], dr[j + 2], dr[j + 3]} * quad_load(vd + j);
            a1 += (quad){dr[j + 4], dr[j + 5], dr[j + 6], dr[j + 7]} * quad_load(vd + j + 4);
        }
        a0 += a1;
        double z = v[ncols] + ((a0[0] + a0[1]) + (a0[2] + a0[3]));
        for (; j < nd; j++)
            z += dr[j] * vd[j];
        for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++)
            z += x->val[e] * v[x->idx[e]];
        /* -log P(y) = log(1 + e^z) - y z, without overflow */
        double y = t->y[r], p = 1 / (1 + exp(-z));
        loss += wr * ((z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - y * z);
        double d = wr * (p - y);
        bias_grad += d;
        for (uint32_t j = 0; j < nd; j++)
            gd[j] += dr[j] * d;
        for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++)
            g[x->idx[e]] += x->val[e] * d;
    }
    for (uint32_t j = 0; j < nd; j++)
        g[sp->col[j]] += gd[j];
    g[ncols] = bias_grad;
    free(vd);
    free(gd);
    part->loss = loss;
    return NULL;
}

typedef struct objective_ctx {
    const dg_trainset *t;
    double l2;
    int threads;
    double weight_sum;
    double *scratch; /* (threads - 1) gradients */
    dense_split *split; /* NULL: the kernels read t->x as it is */
    const dg_progress *progress;
    int max_iterations;
    int cancelled;
    /* rank > 0: the weights are W A, W [ncols][rank], A [rank][nclasses],
     * and these hold the product and its gradient */
    int rank;
    double rank_l2;
    double *w_full, *g_full;
    /* 1: two classes as one weight per column (binary_rows) */
    int binary;
} objective_ctx;

static double objective(objective_ctx *ctx, const double *w, double *grad)
{
    const dg_trainset *t = ctx->t;
    size_t n = ((size_t)t->x->ncols + 1) * (size_t)(ctx->binary ? 1 : t->nclasses);
    void *(*rows_of)(void *) = ctx->binary ? binary_rows : objective_rows;
    objective_part parts[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int threads = ctx->threads;
    uint32_t rows = t->x->nrows;
    for (int i = 0; i < threads; i++) {
        parts[i] = (objective_part){
            .t = t,
            .split = ctx->split,
            .w = w,
            .grad = i == 0 ? grad : ctx->scratch + (size_t)(i - 1) * n,
            .from = (uint32_t)((uint64_t)rows * (uint64_t)i / (uint64_t)threads),
            .to = (uint32_t)((uint64_t)rows * (uint64_t)(i + 1) / (uint64_t)threads),
        };
    }
    int started = 1;
    for (int i = 1; i < threads; i++, started++)
        if (pthread_create(&tid[i], NULL, rows_of, &parts[i]) != 0)
            break;
    rows_of(&parts[0]);
    /* A thread that could not start runs here: the sums are the same. */
    for (int i = started; i < threads; i++)
        rows_of(&parts[i]);
    for (int i = 1; i < started; i++)
        pthread_join(tid[i], NULL);
    /* Summed in a fixed order, so a fit repeats bit for bit. */
    double loss = parts[0].loss;
    for (int i = 1; i < threads; i++) {
        loss += parts[i].loss;
        const double *g = parts[i].grad;
        for (size_t j = 0; j < n; j++)
            grad[j] += g[j];
    }
    double scale = 1 / ctx->weight_sum;
    loss *= scale;
    for (size_t j = 0; j < n; j++)
        grad[j] *= scale;
    size_t penalised = n - (ctx->binary ? 1 : (size_t)t->nclasses);
    double l2 = ctx->binary ? ctx->l2 / 2 : ctx->l2, norm = 0;
    for (size_t j = 0; j < penalised; j++) {
        norm += w[j] * w[j];
        grad[j] += l2 * w[j];
    }
    return loss + 0.5 * l2 * norm;
}

/* The dense split of x (dense_split), or NULL when it has fewer than
 * SPLIT_MIN_DENSE columns in half its rows or its class count has no split
 * kernel. */
#define SPLIT_MIN_DENSE 8
static dense_split *split_make(const dg_csr *x, int k)
{
    if (k != 2 && k != 6 && k != 12)
        return NULL;
    uint32_t *count = dg_xcalloc((size_t)x->ncols + 1, sizeof *count);
    for (uint64_t e = 0; e < x->nnz; e++)
        count[x->idx[e]]++;
    int32_t *slot = dg_xmalloc(((size_t)x->ncols + 1) * sizeof *slot);
    uint32_t nd = 0;
    for (uint32_t c = 0; c < x->ncols; c++)
        slot[c] = 2 * (uint64_t)count[c] >= x->nrows && count[c] > 0 ? (int32_t)nd++ : -1;
    free(count);
    if (nd < SPLIT_MIN_DENSE) {
        free(slot);
        return NULL;
    }
    dense_split *sp = dg_xcalloc(1, sizeof *sp);
    sp->nd = nd;
    sp->col = dg_xmalloc(sizeof *sp->col * nd);
    for (uint32_t c = 0; c < x->ncols; c++)
        if (slot[c] >= 0)
            sp->col[slot[c]] = c;
    sp->d = dg_xcalloc(((size_t)x->nrows + SPLIT_BLOCK) * nd, sizeof *sp->d);
    uint64_t rest = 0;
    for (uint64_t e = 0; e < x->nnz; e++)
        rest += slot[x->idx[e]] < 0;
    dg_csr *o = &sp->rest;
    o->nrows = x->nrows;
    o->ncols = x->ncols;
    o->ptr = dg_xmalloc(sizeof *o->ptr * ((size_t)x->nrows + 1));
    o->idx = dg_xmalloc(sizeof *o->idx * (rest + 1));
    o->val = dg_xmalloc(sizeof *o->val * (rest + 1));
    for (uint32_t r = 0; r < x->nrows; r++) {
        o->ptr[r] = o->nnz;
        for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++) {
            int32_t j = slot[x->idx[e]];
            if (j >= 0) {
                sp->d[(size_t)r * nd + (uint32_t)j] += x->val[e];
            } else {
                o->idx[o->nnz] = x->idx[e];
                o->val[o->nnz++] = x->val[e];
            }
        }
    }
    o->ptr[x->nrows] = o->nnz;
    free(slot);
    return sp;
}

static void split_free(dense_split *sp)
{
    if (!sp)
        return;
    free(sp->col);
    free(sp->d);
    free(sp->rest.ptr);
    free(sp->rest.idx);
    free(sp->rest.val);
    free(sp);
}

static void objective_free(objective_ctx *ctx)
{
    free(ctx->scratch);
    ctx->scratch = NULL;
    split_free(ctx->split);
    ctx->split = NULL;
}

static int objective_setup(objective_ctx *ctx, const dg_trainset *t, double l2, int threads)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->t = t;
    ctx->l2 = l2;
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if ((uint32_t)threads > t->x->nrows)
        threads = (int)t->x->nrows;
    ctx->threads = threads;
    size_t n = ((size_t)t->x->ncols + 1) * (size_t)t->nclasses;
    ctx->scratch = threads > 1 ? dg_xmalloc(sizeof *ctx->scratch * n * (size_t)(threads - 1))
                               : NULL;
    ctx->weight_sum = 0;
    for (uint32_t i = 0; i < t->x->nrows; i++)
        ctx->weight_sum += t->weight ? t->weight[i] : 1;
    if (!(ctx->weight_sum > 0)) {
        objective_free(ctx);
        return DG_ERR;
    }
    ctx->split = split_make(t->x, t->nclasses);
    return DG_OK;
}

double dg_softmax_objective(const dg_trainset *t, double l2, const double *w, double *grad,
                            int threads)
{
    objective_ctx ctx;
    if (objective_setup(&ctx, t, l2, threads))
        return NAN;
    double f = objective(&ctx, w, grad);
    objective_free(&ctx);
    return f;
}

/* Makes ctx a rank-r objective: the penalty moves from the product to W
 * and A, and the product and its gradient get their room. */
static void rank_setup(objective_ctx *ctx, int r, double l2)
{
    size_t n = ((size_t)ctx->t->x->ncols + 1) * (size_t)ctx->t->nclasses;
    ctx->rank = r;
    ctx->rank_l2 = l2;
    ctx->l2 = 0;
    ctx->w_full = dg_xmalloc(sizeof *ctx->w_full * n);
    ctx->g_full = dg_xmalloc(sizeof *ctx->g_full * n);
}

/* The objective of a rank-r fit: theta is W (ncols x r), then A (r x k),
 * then the k intercepts. The product W A is the full model's weights, so the
 * loss and its gradient G come from objective(); the chain rule gives
 * G A' for W and W' G for A, and the penalty is on W and A. */
static void rank_product(const double *theta, uint32_t p, int k, int r, double *w)
{
    const double *W = theta, *A = theta + (size_t)p * r, *b = A + (size_t)r * k;
    for (uint32_t j = 0; j < p; j++)
        for (int c = 0; c < k; c++) {
            double v = 0;
            for (int a = 0; a < r; a++)
                v += W[(size_t)j * r + a] * A[(size_t)a * k + c];
            w[(size_t)j * k + c] = v;
        }
    memcpy(w + (size_t)p * k, b, sizeof *b * (size_t)k);
}

static double objective_rank(objective_ctx *ctx, const double *theta, double *grad)
{
    uint32_t p = ctx->t->x->ncols;
    int k = ctx->t->nclasses, r = ctx->rank;
    const double *W = theta, *A = theta + (size_t)p * r;
    rank_product(theta, p, k, r, ctx->w_full);
    double f = objective(ctx, ctx->w_full, ctx->g_full);
    const double *G = ctx->g_full;
    double *gW = grad, *gA = grad + (size_t)p * r, *gb = gA + (size_t)r * k;
    double norm = 0;
    for (uint32_t j = 0; j < p; j++)
        for (int a = 0; a < r; a++) {
            double v = 0, wa = W[(size_t)j * r + a];
            for (int c = 0; c < k; c++)
                v += G[(size_t)j * k + c] * A[(size_t)a * k + c];
            gW[(size_t)j * r + a] = v + ctx->rank_l2 * wa;
            norm += wa * wa;
        }
    for (int a = 0; a < r; a++)
        for (int c = 0; c < k; c++) {
            double v = 0, aa = A[(size_t)a * k + c];
            for (uint32_t j = 0; j < p; j++)
                v += W[(size_t)j * r + a] * G[(size_t)j * k + c];
            gA[(size_t)a * k + c] = v + ctx->rank_l2 * aa;
            norm += aa * aa;
        }
    memcpy(gb, G + (size_t)p * k, sizeof *gb * (size_t)k);
    return f + 0.5 * ctx->rank_l2 * norm;
}

double dg_softmax_rank_objective(const dg_trainset *t, double l2, int rank, const double *theta,
                                 double *grad, int threads)
{
    objective_ctx ctx;
    if (objective_setup(&ctx, t, 0, threads))
        return NAN;
    rank_setup(&ctx, rank, l2);
    double f = objective_rank(&ctx, theta, grad);
    free(ctx.w_full);
    free(ctx.g_full);
    objective_free(&ctx);
    return f;
}

static lbfgsfloatval_t evaluate(void *instance, const lbfgsfloatval_t *x, lbfgsfloatval_t *g,
                                const int n, const lbfgsfloatval_t step)
{
    (void)n;
    (void)step;
    objective_ctx *ctx = instance;
    return ctx->rank ? objective_rank(ctx, x, g) : objective(ctx, x, g);
}

static int progress_cb(void *instance, const lbfgsfloatval_t *x, const lbfgsfloatval_t *g,
                       const lbfgsfloatval_t fx, const lbfgsfloatval_t xnorm,
                       const lbfgsfloatval_t gnorm, const lbfgsfloatval_t step, int n, int k,
                       int ls)
{
    (void)x, (void)g, (void)fx, (void)xnorm, (void)gnorm, (void)step, (void)n, (void)ls;
    objective_ctx *ctx = instance;
    if (dg_progress_report(ctx->progress, "softmax", k, ctx->max_iterations, "iterations")) {
        ctx->cancelled = 1;
        return 1;
    }
    return 0;
}

int dg_lbfgs_usable(int ret)
{
    return ret >= 0 || ret == LBFGSERR_ROUNDING_ERROR || ret == LBFGSERR_MAXIMUMITERATION ||
           ret == LBFGSERR_MAXIMUMLINESEARCH || ret == LBFGSERR_MINIMUMSTEP ||
           ret == LBFGSERR_MAXIMUMSTEP;
}

const char *dg_lbfgs_error(int ret)
{
    switch (ret) {
    case LBFGSERR_OUTOFMEMORY:
        return "out of memory";
    case LBFGSERR_INVALID_N:
        return "invalid number of variables";
    case LBFGSERR_INVALID_EPSILON:
        return "invalid epsilon";
    case LBFGSERR_OUTOFINTERVAL:
        return "the line search left its interval";
    case LBFGSERR_INCORRECT_TMINMAX:
        return "the line search's bounds crossed";
    case LBFGSERR_WIDTHTOOSMALL:
        return "the line search's interval became too small";
    case LBFGSERR_INVALIDPARAMETERS:
        return "a logic error (negative line-search step)";
    case LBFGSERR_INCREASEGRADIENT:
        return "the search direction increases the objective";
    default:
        return "an unexpected error";
    }
}

static const char *const param_names[] = {"l2",    "rank",    "iterations", "eps",
                                          "delta", "threads", NULL};

/* A seeded normal draw (Box-Muller) for the rank-r start. */
static double seeded_normal(uint64_t *state)
{
    double u = dg_uniform_open(state), v = dg_uniform_open(state);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static int softmax_fit(const dg_trainset *t, const dg_params *params, void **out,
                       const dg_progress *progress, dg_err *err)
{
    const dg_model_family *f = &dg_family_softmax;
    *out = NULL;
    double l2, rank, iterations, eps, delta, threads;
    if (dg_family_check(f, t, params, err) ||
        dg_family_finite_values(f, t->x, err) ||
        dg_family_param(f, params, "l2", 1e-3, 0, 1e6, 0, &l2, err) ||
        dg_family_param(f, params, "rank", 0, 0, 64, 1, &rank, err) ||
        dg_family_param(f, params, "iterations", 300, 1, 1e6, 1, &iterations, err) ||
        dg_family_param(f, params, "eps", 1e-4, 1e-12, 1, 0, &eps, err) ||
        dg_family_param(f, params, "delta", SOFTMAX_DELTA, 0, 1, 0, &delta, err) ||
        dg_family_param(f, params, "threads", t->threads > 0 ? t->threads : 2, 1, MAX_THREADS,
                        1, &threads, err))
        return DG_ERR;
    int k = t->nclasses;
    size_t n = ((size_t)t->x->ncols + 1) * (size_t)k;
    if (n > INT32_MAX)
        return dg_fail(err, "softmax: %u columns x %d classes is too many weights", t->x->ncols,
                       k);
    objective_ctx ctx;
    objective_setup(&ctx, t, l2, (int)threads);
    ctx.progress = progress;
    ctx.max_iterations = (int)iterations;
    /* A rank of k or more is no constraint: the full model. */
    int r = rank >= 1 && rank < k ? (int)rank : 0;
    size_t nt = n;
    ctx.binary = k == 2 && !r;
    if (ctx.binary)
        nt = (size_t)t->x->ncols + 1;
    if (r) {
        rank_setup(&ctx, r, l2);
        nt = (size_t)t->x->ncols * (size_t)r + (size_t)r * (size_t)k + (size_t)k;
    }

    lbfgsfloatval_t *w = lbfgs_malloc((int)nt);
    if (!w) {
        objective_free(&ctx);
        free(ctx.w_full);
        free(ctx.g_full);
        return dg_fail(err, "softmax: out of memory for %zu weights", nt);
    }
    const softmax_model *warm = t->warm;
    double *intercepts = w + nt - (size_t)k;
    int warm_fits = warm && warm->ncols == t->x->ncols && warm->nclasses == (uint32_t)k &&
                    warm->rank == (uint32_t)r && (!r || warm->theta);
    if (warm_fits && ctx.binary) {
        /* The previous point of the path, as class 1's weights less class 0's */
        for (size_t j = 0; j < nt; j++)
            w[j] = warm->w[2 * j + 1] - warm->w[2 * j];
    } else if (warm_fits) {
        /* The previous point of the path: the optimum moves little. */
        memcpy(w, r ? warm->theta : warm->w, sizeof *w * nt);
    } else {
        /* Full rank: from 0. Rank r: W and A small and seeded (at 0 their
         * gradients vanish), so a fit repeats. */
        memset(w, 0, sizeof *w * nt);
        uint64_t state = t->seed ^ 0x5a17ull;
        for (size_t i = 0; r && i < nt - (size_t)k; i++)
            w[i] = 0.1 * seeded_normal(&state);
        /* Start the intercepts at the log class shares (plus 1e-3 for a
         * class with no rows): fewer iterations, same optimum. Shares, not
         * counts, so scaling every weight changes nothing. */
        double *counts = dg_xmalloc(sizeof *counts * (size_t)k);
        dg_family_class_counts(t, counts);
        if (ctx.binary) /* one intercept: class 1's less class 0's */
            w[nt - 1] = log(counts[1] / ctx.weight_sum + 1e-3) -
                        log(counts[0] / ctx.weight_sum + 1e-3);
        else
            for (int c = 0; c < k; c++)
                intercepts[c] = log(counts[c] / ctx.weight_sum + 1e-3);
        free(counts);
    }

    lbfgs_parameter_t lp;
    lbfgs_parameter_init(&lp);
    lp.max_iterations = (int)iterations;
    lp.epsilon = eps;
    if (delta > 0) {
        lp.past = SOFTMAX_PAST;
        lp.delta = delta;
    }
    lbfgsfloatval_t fx = 0;
    int ret = lbfgs((int)nt, w, &fx, evaluate, progress_cb, &ctx, &lp);
    objective_free(&ctx);
    free(ctx.g_full);
    if (ctx.cancelled) {
        lbfgs_free(w);
        free(ctx.w_full);
        return dg_cancel(err, "cancelled");
    }
    if (!dg_lbfgs_usable(ret) || !isfinite(fx)) {
        lbfgs_free(w);
        free(ctx.w_full);
        return dg_fail(err, "softmax: L-BFGS failed: %s (code %d)", dg_lbfgs_error(ret), ret);
    }
    softmax_model *m = dg_xcalloc(1, sizeof *m);
    m->ncols = t->x->ncols;
    m->nclasses = (uint32_t)k;
    m->binary = t->task == DG_TASK_BINARY;
    m->w = dg_xmalloc(sizeof *m->w * n);
    if (r) {
        /* The model is the product: predict, save and the SQL form do not
         * know the rank. */
        rank_product(w, t->x->ncols, k, r, m->w);
        m->rank = (uint32_t)r;
        m->theta = dg_xmalloc(sizeof *m->theta * nt);
        memcpy(m->theta, w, sizeof *m->theta * nt);
        free(ctx.w_full);
    } else if (ctx.binary) {
        /* the two classes' weights: -v/2 and +v/2 (the least penalty) */
        for (size_t j = 0; j < nt; j++) {
            m->w[2 * j] = -w[j] / 2;
            m->w[2 * j + 1] = w[j] / 2;
        }
    } else {
        memcpy(m->w, w, sizeof *m->w * n);
    }
    lbfgs_free(w);
    *out = m;
    return DG_OK;
}

static int softmax_predict(const void *model, const dg_csr *x, double *out, dg_err *err)
{
    const softmax_model *m = model;
    if (dg_family_check_cols("softmax", x, m->ncols, err))
        return DG_ERR;
    int k = (int)m->nclasses;
    double *z = dg_xmalloc(sizeof *z * (size_t)k);
    for (uint32_t r = 0; r < x->nrows; r++) {
        row_scores(x, r, m->w, k, m->ncols, z);
        softmax_inplace(z, k);
        if (m->binary)
            out[r] = z[1];
        else
            memcpy(out + (size_t)r * (size_t)k, z, sizeof *z * (size_t)k);
    }
    free(z);
    return DG_OK;
}

#define MAGIC "demographer softmax model 1\n"

static int softmax_save(const void *model, const char *path, dg_err *err)
{
    const softmax_model *m = model;
    dg_textbuf b = {0};
    dg_family_put(&b, MAGIC, strlen(MAGIC));
    dg_family_put_u32(&b, m->ncols);
    dg_family_put_u32(&b, m->nclasses);
    dg_family_put_u32(&b, m->binary);
    dg_family_put(&b, m->w, sizeof *m->w * ((size_t)m->ncols + 1) * m->nclasses);
    int rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}

static int softmax_nout(const void *model)
{
    const softmax_model *m = model;
    return m->binary ? 1 : (int)m->nclasses;
}

static void softmax_free(void *model)
{
    softmax_model *m = model;
    if (!m)
        return;
    free(m->w);
    free(m->theta);
    free(m);
}

static int softmax_load(const char *path, void **out, dg_err *err)
{
    *out = NULL;
    dg_family_reader r;
    if (dg_family_open(&r, path, MAGIC, err))
        return DG_ERR;
    softmax_model *m = dg_xcalloc(1, sizeof *m);
    int rc = DG_ERR;
    if (dg_family_get_u32(&r, &m->ncols, INT32_MAX - 1, "the column count", err) ||
        dg_family_get_u32(&r, &m->nclasses, 1000, "the class count", err) ||
        dg_family_get_u32(&r, &m->binary, 1, "the binary flag", err))
        goto done;
    if (m->nclasses < 2 || (m->binary && m->nclasses != 2)) {
        dg_fail(err, "%s: %u classes%s, expected 2 or more (2 for a binary model)", path,
                m->nclasses, m->binary ? " in a binary model" : "");
        goto done;
    }
    size_t n = ((size_t)m->ncols + 1) * m->nclasses;
    if (dg_family_get_f64s(&r, n, &m->w, "weights", err) || dg_family_end(&r, err))
        goto done;
    rc = DG_OK;
done:
    dg_family_close(&r);
    if (rc)
        softmax_free(m);
    else
        *out = m;
    return rc;
}

static int softmax_linear(const void *model, dg_linear_view *out)
{
    const softmax_model *m = model;
    *out = (dg_linear_view){.ncols = m->ncols, .nclasses = m->nclasses, .binary = m->binary,
                            .w = m->w, .nout = m->binary ? 1 : m->nclasses};
    return DG_OK;
}

const dg_model_family dg_family_softmax = {
    .name = "softmax",
    .summary = "multinomial logistic regression, L2 penalty l2, fit by L-BFGS (liblbfgs)",
    .tasks = (1u << DG_TASK_BINARY) | (1u << DG_TASK_MULTICLASS),
    .param_names = param_names,
    /* Wide enough that CV's optimum is inside it at every size: at full
     * size it falls between 3e-4 (an edge the smooth world's gender
     * reached, hence 1e-4) and 3e-3 on the synth worlds (bench/RESULTS.md,
     * "models"), while on a few hundred devices (a 4,000-device synth's
     * scenario 1) 3e-2 still overfits and loses to the class priors. The
     * warm path starts at the highest l2, where fits are quickest, and fold
     * 1's screen ends it at its first rising score (train.c). */
    .grid = "l2=1e-4,3e-4,1e-3,3e-3,1e-2,3e-2,1e-1,3e-1",
    .fit = softmax_fit,
    .predict = softmax_predict,
    .save = softmax_save,
    .load = softmax_load,
    .nout = softmax_nout,
    .free = softmax_free,
    .linear = softmax_linear,
    .warm_param = "l2",
    .warm_descending = 1,
};
