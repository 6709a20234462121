/* The model families on planted-signal matrices built here: every family
 * beats the class-prior (or mean) baseline, repeats exactly with the same
 * seed, predicts the same bits after save and load, prints nothing, keeps
 * its probabilities in [0,1] summing to 1, and refuses bad parameters and
 * tasks it cannot fit. The softmax gradient is checked against finite
 * differences. */
#include "testutil.h"

#include "demographer/design.h"
#include "demographer/metrics.h"
#include "demographer/model.h"
#include "model_blend.h"
#include "model_softmax.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* splitmix64: a tiny seeded generator, so the matrices are the same on every machine. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
    return (double)(next_u64(s) >> 11) / 9007199254740992.0;
}

static double gaussian(uint64_t *s)
{
    double u = uniform(s), v = uniform(s);
    return sqrt(-2 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

typedef struct planted {
    dg_csr x;
    double *y;
} planted;

/* rows x cols, about `per_row` entries a row (value 1, or a count 1..3 for
 * the columns past the middle), with labels drawn from a softmax over a
 * hidden weight matrix (nclasses >= 2) or, for nclasses 0, a linear age with
 * noise. */
static void planted_make(planted *p, uint32_t rows, uint32_t cols, int per_row, int nclasses,
                         uint64_t seed)
{
    uint64_t s = seed;
    int k = nclasses ? nclasses : 1;
    double *truth = malloc(sizeof *truth * cols * (size_t)k);
    for (size_t i = 0; i < (size_t)cols * (size_t)k; i++)
        truth[i] = (i / (size_t)k) % 3 == 0 ? 1.2 * gaussian(&s) : 0;
    p->x.nrows = rows;
    p->x.ncols = cols;
    p->x.ptr = malloc(sizeof *p->x.ptr * (rows + 1));
    p->x.idx = malloc(sizeof *p->x.idx * (size_t)rows * (size_t)per_row);
    p->x.val = malloc(sizeof *p->x.val * (size_t)rows * (size_t)per_row);
    p->y = malloc(sizeof *p->y * rows);
    uint64_t nnz = 0;
    double *z = malloc(sizeof *z * (size_t)k);
    for (uint32_t r = 0; r < rows; r++) {
        p->x.ptr[r] = nnz;
        uint32_t col = 0;
        for (int e = 0; e < per_row; e++) {
            /* Increasing columns with random gaps: sorted, no repeats. */
            col += 1 + (uint32_t)(next_u64(&s) % (2 * cols / (uint32_t)per_row));
            if (col >= cols)
                break;
            p->x.idx[nnz] = col;
            p->x.val[nnz] = col < cols / 2 ? 1.0f : (float)(1 + next_u64(&s) % 3);
            nnz++;
        }
        for (int c = 0; c < k; c++)
            z[c] = 0;
        for (uint64_t e = p->x.ptr[r]; e < nnz; e++)
            for (int c = 0; c < k; c++)
                z[c] += p->x.val[e] * truth[(size_t)p->x.idx[e] * (size_t)k + (size_t)c];
        if (nclasses == 0) {
            p->y[r] = 30 + 3 * z[0] + 2 * gaussian(&s);
        } else {
            double top = z[0], sum = 0;
            for (int c = 1; c < k; c++)
                top = fmax(top, z[c]);
            for (int c = 0; c < k; c++)
                sum += (z[c] = exp(z[c] - top));
            double u = uniform(&s) * sum;
            int c = 0;
            while (c < k - 1 && (u -= z[c]) > 0)
                c++;
            p->y[r] = c;
        }
    }
    p->x.ptr[rows] = nnz;
    p->x.nnz = nnz;
    free(z);
    free(truth);
}

/* Rows [from, to) of p as their own matrix (pointers into p). */
static dg_csr rows_of(const planted *p, uint32_t from, uint32_t to, uint64_t *ptr)
{
    for (uint32_t r = from; r <= to; r++)
        ptr[r - from] = p->x.ptr[r] - p->x.ptr[from];
    dg_csr x = {.ptr = ptr,
                .idx = p->x.idx + p->x.ptr[from],
                .val = p->x.val + p->x.ptr[from],
                .nrows = to - from,
                .ncols = p->x.ncols,
                .nnz = p->x.ptr[to] - p->x.ptr[from]};
    return x;
}

static void planted_free(planted *p)
{
    free(p->x.ptr);
    free(p->x.idx);
    free(p->x.val);
    free(p->y);
}

/* Everything the code under test writes to stdout and stderr between begin
 * and end goes to a file; end returns how many bytes it wrote. */
typedef struct capture {
    int saved_out, saved_err;
    char path[256];
} capture;

static void capture_begin(capture *c, const char *dir)
{
    fflush(stdout);
    fflush(stderr);
    snprintf(c->path, sizeof c->path, "%s/captured.txt", dir);
    int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    c->saved_out = dup(1);
    c->saved_err = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

static long capture_end(capture *c)
{
    fflush(stdout);
    fflush(stderr);
    dup2(c->saved_out, 1);
    dup2(c->saved_err, 2);
    close(c->saved_out);
    close(c->saved_err);
    struct stat st;
    assert_int_equal(stat(c->path, &st), 0);
    return (long)st.st_size;
}

typedef struct family_case {
    const char *family;
    dg_task task;
    int nclasses;
    const char *params;
    const char *bad_params;  /* a value out of range */
    const char *bad_message; /* what the error says about it */
    dg_task wrong_task;      /* a task the family refuses */
    double margin;           /* the model's loss must be below margin * the baseline's */
} family_case;

/* Mean log loss (classification, probabilities clipped at 1e-15) or mean
 * squared error (regression) of predictions on test rows. */
static double loss_of(const family_case *fc, const double *pred, const double *y, uint32_t n)
{
    double sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (fc->task == DG_TASK_REGRESSION) {
            sum += (pred[i] - y[i]) * (pred[i] - y[i]);
        } else {
            double p = fc->task == DG_TASK_BINARY
                           ? (y[i] == 1 ? pred[i] : 1 - pred[i])
                           : pred[(size_t)i * (size_t)fc->nclasses + (size_t)y[i]];
            sum -= log(fmax(p, 1e-15));
        }
    }
    return sum / n;
}

/* The same loss for the baseline fit on the train rows: class priors, or the mean. */
static double baseline_loss(const family_case *fc, const double *ytrain, uint32_t ntrain,
                            const double *ytest, uint32_t ntest)
{
    int k = fc->nclasses ? fc->nclasses : 1;
    double *prior = calloc((size_t)k, sizeof *prior);
    for (uint32_t i = 0; i < ntrain; i++)
        prior[fc->nclasses ? (int)ytrain[i] : 0] += fc->nclasses ? 1.0 / ntrain : ytrain[i] / ntrain;
    uint32_t nout = (uint32_t)dg_task_nout(fc->task, fc->nclasses);
    double *pred = malloc(sizeof *pred * ntest * nout);
    for (uint32_t i = 0; i < ntest; i++)
        for (uint32_t c = 0; c < nout; c++)
            pred[i * nout + c] = fc->task == DG_TASK_BINARY ? prior[1] : prior[c];
    double loss = loss_of(fc, pred, ytest, ntest);
    free(pred);
    free(prior);
    return loss;
}

enum { NROWS = 3000, NTRAIN = 2000, NCOLS = 400, PER_ROW = 20 };

static void family_behaves(void **state)
{
    const family_case *fc = *state;
    const dg_model_family *f = dg_model_family_find(fc->family);
    assert_non_null(f);
    assert_true(f->tasks & (1u << fc->task));
    assert_non_null(f->summary);
    assert_non_null(f->grid);
    dg_err err;
    dg_params params;
    assert_int_equal(dg_params_parse(&params, fc->params, f->param_names, &err), DG_OK);
    /* The default grid names only the family's parameters. */
    dg_params grid_names;
    char grid_pairs[256];
    snprintf(grid_pairs, sizeof grid_pairs, "%s", f->grid);
    for (char *c = grid_pairs; *c; c++)
        if (*c == ',') /* keep the first value of each list */
            for (char *e = c; *e && *e != ' '; e++)
                *e = ' ';
    assert_int_equal(dg_params_parse(&grid_names, grid_pairs, f->param_names, &err), DG_OK);

    planted p;
    planted_make(&p, NROWS, NCOLS, PER_ROW, fc->nclasses, 42);
    uint64_t *ptr_train = malloc(sizeof *ptr_train * (NTRAIN + 1));
    uint64_t *ptr_test = malloc(sizeof *ptr_test * (NROWS - NTRAIN + 1));
    dg_csr xtrain = rows_of(&p, 0, NTRAIN, ptr_train);
    dg_csr xtest = rows_of(&p, NTRAIN, NROWS, ptr_test);
    dg_trainset t = {.x = &xtrain, .y = p.y, .task = fc->task, .nclasses = fc->nclasses,
                     .seed = 7};
    uint32_t ntest = NROWS - NTRAIN;
    size_t nout = (size_t)dg_task_nout(fc->task, fc->nclasses);
    double *p1 = malloc(sizeof *p1 * ntest * nout);
    double *p2 = malloc(sizeof *p2 * ntest * nout);
    double *p3 = malloc(sizeof *p3 * ntest * nout);
    char *dir = tu_tmpdir();
    char path1[512], path2[512];
    snprintf(path1, sizeof path1, "%s/one.model", dir);
    snprintf(path2, sizeof path2, "%s/two.model", dir);

    capture cap;
    capture_begin(&cap, dir);
    void *m1 = NULL, *m2 = NULL, *m3 = NULL;
    int rc_fit1 = f->fit(&t, &params, &m1, NULL, &err);
    int rc_fit2 = rc_fit1 ? DG_ERR : f->fit(&t, &params, &m2, NULL, &err);
    int rc_pred = rc_fit2 ? DG_ERR
                          : f->predict(m1, &xtest, p1, &err) | f->predict(m2, &xtest, p2, &err);
    int rc_save = rc_pred ? DG_ERR : f->save(m1, path1, &err) | f->save(m2, path2, &err);
    int rc_load = rc_save ? DG_ERR : f->load(path1, &m3, &err);
    int rc_pred3 = rc_load ? DG_ERR : f->predict(m3, &xtest, p3, &err);
    long printed = capture_end(&cap);
    if (rc_fit1 || rc_fit2 || rc_pred || rc_save || rc_load || rc_pred3)
        fail_msg("%s: %s", fc->family, err.msg);
    assert_int_equal(printed, 0);

    /* Probabilities. */
    for (uint32_t i = 0; i < ntest; i++) {
        if (fc->task == DG_TASK_REGRESSION) {
            assert_true(isfinite(p1[i]));
            continue;
        }
        double sum = 0;
        for (size_t c = 0; c < nout; c++) {
            double v = p1[i * nout + c];
            assert_true(v >= 0 && v <= 1);
            sum += v;
        }
        if (fc->task == DG_TASK_MULTICLASS)
            assert_true(fabs(sum - 1) < 1e-9);
    }
    /* Determinism and save/load identity, bit for bit. */
    assert_memory_equal(p1, p2, sizeof *p1 * ntest * nout);
    assert_memory_equal(p1, p3, sizeof *p1 * ntest * nout);
    size_t len1, len2;
    char *bytes1 = tu_read(path1, &len1), *bytes2 = tu_read(path2, &len2);
    assert_non_null(bytes1);
    assert_non_null(bytes2);
    assert_int_equal(len1, len2);
    assert_memory_equal(bytes1, bytes2, len1);
    free(bytes1);
    free(bytes2);

    /* Better than the baseline on rows it has not seen. */
    double loss = loss_of(fc, p1, p.y + NTRAIN, ntest);
    double base = baseline_loss(fc, p.y, NTRAIN, p.y + NTRAIN, ntest);
    print_message("# %s (%s): test loss %.4f, baseline %.4f\n", fc->family, fc->params, loss,
                  base);
    assert_true(loss < fc->margin * base);

    /* A warm start (the previous point of a penalty path) reaches the same
     * optimum to within the solver's tolerance, and every family takes one
     * or ignores it. */
    {
        dg_trainset tw = t;
        tw.warm = m1;
        void *mw = NULL;
        double *pw = malloc(sizeof *pw * ntest * nout);
        if (f->fit(&tw, &params, &mw, NULL, &err) || f->predict(mw, &xtest, pw, &err))
            fail_msg("%s warm: %s", fc->family, err.msg);
        double worst = 0;
        for (size_t i = 0; i < ntest * nout; i++)
            worst = fmax(worst, fabs(pw[i] - p1[i]));
        assert_true(worst < (fc->task == DG_TASK_REGRESSION ? 0.05 : 0.01));
        f->free(mw);
        free(pw);
    }

    /* A family with an SQL form (export-sql): its linear view, scored by hand
     * as the SQL scores it (softmax, or one-vs-rest sigmoids normalised),
     * gives predict's probabilities. */
    if (f->linear && fc->task != DG_TASK_REGRESSION) {
        dg_linear_view v;
        assert_int_equal(f->linear(m3, &v), DG_OK);
        assert_int_equal(v.ncols, NCOLS);
        assert_int_equal(v.nout, nout);
        double worst = 0, z[16], q[16];
        for (uint32_t r = 0; r < ntest; r++) {
            for (uint32_t c = 0; c < v.nclasses; c++)
                z[c] = v.w[(size_t)v.ncols * v.nclasses + c];
            for (uint64_t e = xtest.ptr[r]; e < xtest.ptr[r + 1]; e++)
                for (uint32_t c = 0; c < v.nclasses; c++)
                    z[c] += xtest.val[e] * v.w[(size_t)xtest.idx[e] * v.nclasses + c];
            double top = z[0], sum = 0;
            for (uint32_t c = 1; c < v.nclasses; c++)
                top = fmax(top, z[c]);
            for (uint32_t c = 0; c < v.nclasses; c++)
                sum += q[c] = v.ovr ? 1 / (1 + exp(-z[c])) : exp(z[c] - top);
            for (size_t o = 0; o < nout; o++)
                worst = fmax(worst, fabs(q[v.binary ? 1 : o] / sum - p3[r * nout + o]));
        }
        assert_true(worst < 1e-9);
    }

    /* A model refuses a matrix with other columns. */
    dg_csr narrow = xtest;
    narrow.ncols = NCOLS - 1;
    assert_int_equal(f->predict(m3, &narrow, p3, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "columns"));

    /* Errors: an out-of-range parameter, an unknown one, a task it cannot fit,
     * a damaged model file. */
    void *m4 = NULL;
    assert_int_equal(dg_params_parse(&params, fc->bad_params, NULL, &err), DG_OK);
    assert_int_equal(f->fit(&t, &params, &m4, NULL, &err), DG_ERR);
    if (!strstr(err.msg, fc->bad_message))
        fail_msg("'%s' does not say '%s'", err.msg, fc->bad_message);
    assert_null(m4);
    assert_int_equal(dg_params_parse(&params, "nonsense=1", NULL, &err), DG_OK);
    assert_int_equal(f->fit(&t, &params, &m4, NULL, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "unknown parameter 'nonsense'"));
    dg_trainset wrong = t;
    wrong.task = fc->wrong_task;
    wrong.nclasses = fc->wrong_task == DG_TASK_REGRESSION ? 0 : 2;
    dg_params none = {0};
    assert_int_equal(f->fit(&wrong, &none, &m4, NULL, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "cannot fit"));
    /* Sample weights: LIBLINEAR and LIBSVM have none and refuse them; softmax
     * takes the weighted mean loss, so doubling every weight changes no bit. */
    double *twos = malloc(sizeof *twos * NTRAIN);
    for (int i = 0; i < NTRAIN; i++)
        twos[i] = 2;
    dg_trainset weighted = t;
    weighted.weight = twos;
    assert_int_equal(dg_params_parse(&params, fc->params, NULL, &err), DG_OK);
    int weighted_rc = f->fit(&weighted, &params, &m4, NULL, &err);
    if (strncmp(fc->family, "lib", 3) == 0) {
        assert_int_equal(weighted_rc, DG_ERR);
        assert_non_null(strstr(err.msg, "takes no sample weights"));
    } else {
        assert_int_equal(weighted_rc, DG_OK);
        assert_int_equal(f->predict(m4, &xtest, p2, &err), DG_OK);
        if (strcmp(fc->family, "softmax") == 0)
            assert_memory_equal(p1, p2, sizeof *p1 * ntest * nout);
        f->free(m4);
        m4 = NULL;
    }
    free(twos);

    /* A NaN in the matrix: missing to xgboost, refused by the others. */
    float keep = xtrain.val[3];
    xtrain.val[3] = NAN;
    assert_int_equal(dg_params_parse(&params, fc->params, NULL, &err), DG_OK);
    int nan_rc = f->fit(&t, &params, &m4, NULL, &err);
    xtrain.val[3] = keep;
    if (strcmp(fc->family, "xgboost") == 0) {
        assert_int_equal(nan_rc, DG_OK);
        f->free(m4);
        m4 = NULL;
    } else {
        assert_int_equal(nan_rc, DG_ERR);
        assert_non_null(strstr(err.msg, "needs finite values"));
    }
    FILE *fp = fopen(path1, "r+b");
    assert_non_null(fp);
    assert_int_equal(ftruncate(fileno(fp), (off_t)(len1 / 2)), 0);
    fclose(fp);
    assert_int_equal(f->load(path1, &m4, &err), DG_ERR);
    assert_non_null(strstr(err.msg, path1));
    char *junk = tu_write_str(dir, "junk.model", "not a model\n");
    assert_int_equal(f->load(junk, &m4, &err), DG_ERR);
    assert_non_null(strstr(err.msg, junk));
    free(junk);

    f->free(m1);
    f->free(m2);
    f->free(m3);
    free(p1);
    free(p2);
    free(p3);
    free(ptr_train);
    free(ptr_test);
    planted_free(&p);
    tu_rmrf(dir);
    free(dir);
}

static int cancel_at_once(void *ctx, const char *stage, double done, double total,
                          const char *unit)
{
    (void)stage, (void)done, (void)total, (void)unit;
    ++*(int *)ctx;
    return 1;
}

/* A fit whose progress asks to stop fails with "cancelled" and returns no model. */
static void fits_cancel(void **state)
{
    const char *name = *state;
    const dg_model_family *f = dg_model_family_find(name);
    assert_non_null(f);
    planted p;
    planted_make(&p, 500, 100, 10, 2, 3);
    dg_trainset t = {.x = &p.x, .y = p.y, .task = DG_TASK_BINARY, .nclasses = 2, .seed = 1};
    int calls = 0;
    dg_progress progress = {.fn = cancel_at_once, .ctx = &calls};
    dg_params none = {0};
    void *m = NULL;
    dg_err err;
    assert_int_equal(f->fit(&t, &none, &m, &progress, &err), DG_ERR);
    assert_string_equal(err.msg, "cancelled");
    assert_null(m);
    assert_true(calls >= 1);
    planted_free(&p);
}

/* The softmax gradient agrees with central differences of its objective, and
 * two threads give the one-thread value. */
static void softmax_gradient(void **state)
{
    (void)state;
    planted p;
    planted_make(&p, 60, 12, 5, 3, 11);
    double weight[60];
    uint64_t s = 5;
    for (int i = 0; i < 60; i++)
        weight[i] = 0.5 + uniform(&s);
    dg_trainset t = {.x = &p.x, .y = p.y, .weight = weight, .task = DG_TASK_MULTICLASS,
                     .nclasses = 3, .seed = 1};
    enum { N = (12 + 1) * 3 };
    double w[N], g[N], g2[N], scratch[N];
    for (int i = 0; i < N; i++)
        w[i] = gaussian(&s);
    double f = dg_softmax_objective(&t, 0.3, w, g, 1);
    double f2 = dg_softmax_objective(&t, 0.3, w, g2, 2);
    assert_true(isfinite(f));
    assert_true(fabs(f - f2) < 1e-12 * fabs(f));
    for (int i = 0; i < N; i++) {
        assert_true(fabs(g[i] - g2[i]) < 1e-12);
        double h = 1e-5, keep = w[i];
        w[i] = keep + h;
        double up = dg_softmax_objective(&t, 0.3, w, scratch, 1);
        w[i] = keep - h;
        double down = dg_softmax_objective(&t, 0.3, w, scratch, 1);
        w[i] = keep;
        double numeric = (up - down) / (2 * h);
        if (fabs(numeric - g[i]) > 1e-7 * fmax(1, fabs(numeric)))
            fail_msg("weight %d: gradient %.10g, finite difference %.10g", i, g[i], numeric);
    }
    /* Weights count: rows weighted 0 are rows left out. */
    for (int i = 0; i < 60; i++)
        weight[i] = i < 30;
    double f_weighted = dg_softmax_objective(&t, 0.3, w, g, 1);
    dg_csr half = p.x;
    half.nrows = 30;
    dg_trainset t_half = t;
    t_half.x = &half;
    t_half.weight = NULL;
    double f_half = dg_softmax_objective(&t_half, 0.3, w, g2, 1);
    assert_true(f_weighted == f_half);
    assert_memory_equal(g, g2, sizeof g);
    assert_true(fabs(f_weighted - f) > 1e-6);

    /* Large scores do not overflow: the log-sum-exp is shifted. */
    for (int i = 0; i < N; i++)
        w[i] = 400 * (i % 2 ? 1 : -1);
    assert_true(isfinite(dg_softmax_objective(&t, 0, w, g, 1)));
    for (int i = 0; i < N; i++)
        assert_true(isfinite(g[i]));
    planted_free(&p);
}

/* The softmax objective of t at w by the definition, row by row (the
 * reference for the kernels). */
static double softmax_reference(const dg_trainset *t, double l2, const double *w, double *grad)
{
    const dg_csr *x = t->x;
    int k = t->nclasses;
    size_t n = ((size_t)x->ncols + 1) * (size_t)k;
    memset(grad, 0, sizeof *grad * n);
    double loss = 0, wsum = 0, z[16];
    const double *bias = w + (size_t)x->ncols * (size_t)k;
    for (uint32_t r = 0; r < x->nrows; r++) {
        double wr = t->weight ? t->weight[r] : 1;
        wsum += wr;
        for (int c = 0; c < k; c++)
            z[c] = bias[c];
        for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++)
            for (int c = 0; c < k; c++)
                z[c] += x->val[e] * w[(size_t)x->idx[e] * (size_t)k + (size_t)c];
        double top = z[0], sum = 0;
        for (int c = 1; c < k; c++)
            top = fmax(top, z[c]);
        for (int c = 0; c < k; c++)
            sum += exp(z[c] - top);
        int y = (int)t->y[r];
        loss += wr * (top + log(sum) - z[y]);
        for (int c = 0; c < k; c++) {
            double d = wr * (exp(z[c] - top) / sum - (c == y));
            grad[(size_t)x->ncols * (size_t)k + (size_t)c] += d;
            for (uint64_t e = x->ptr[r]; e < x->ptr[r + 1]; e++)
                grad[(size_t)x->idx[e] * (size_t)k + (size_t)c] += x->val[e] * d;
        }
    }
    double norm = 0;
    for (size_t j = 0; j < n; j++) {
        grad[j] /= wsum;
        if (j < (size_t)x->ncols * (size_t)k) {
            norm += w[j] * w[j];
            grad[j] += l2 * w[j];
        }
    }
    return loss / wsum + 0.5 * l2 * norm;
}

/* A design with a dense block (columns every row has, as the numeric
 * features) beside sparse ones takes the kernels' dense split: for 2, 6 and
 * 12 classes, one thread and three, the objective and its gradient are the
 * definition's, and rows of weight 0 are rows left out, to the bit. */
enum { SPLIT_ROWS = 203, SPLIT_DENSE = 20, SPLIT_COLS = SPLIT_DENSE + 60 };

/* SPLIT_ROWS rows: SPLIT_DENSE columns in nearly every row (the dense
 * split's), the others in few; a weight per row. */
static void split_design(dg_csr *x, double *weight, uint64_t *s)
{
    *x = (dg_csr){.nrows = SPLIT_ROWS, .ncols = SPLIT_COLS};
    x->ptr = malloc(sizeof *x->ptr * (SPLIT_ROWS + 1));
    x->idx = malloc(sizeof *x->idx * SPLIT_ROWS * SPLIT_COLS);
    x->val = malloc(sizeof *x->val * SPLIT_ROWS * SPLIT_COLS);
    for (uint32_t r = 0; r < SPLIT_ROWS; r++) {
        x->ptr[r] = x->nnz;
        for (uint32_t c = 0; c < SPLIT_COLS; c++) {
            int on = c < SPLIT_DENSE ? next_u64(s) % 10 != 0 : next_u64(s) % 8 == 0;
            if (!on)
                continue;
            x->idx[x->nnz] = c;
            x->val[x->nnz++] = c < SPLIT_DENSE ? (float)gaussian(s) : 1.0f;
        }
        weight[r] = 0.5 + uniform(s);
    }
    x->ptr[SPLIT_ROWS] = x->nnz;
}

static void softmax_dense_split(void **state)
{
    (void)state;
    enum { ROWS = SPLIT_ROWS, COLS = SPLIT_COLS };
    dg_csr x;
    double y[ROWS], weight[ROWS];
    uint64_t s = 17;
    split_design(&x, weight, &s);
    static const int ks[] = {2, 6, 12};
    for (int q = 0; q < 3; q++) {
        int k = ks[q];
        for (uint32_t r = 0; r < ROWS; r++)
            y[r] = (double)(next_u64(&s) % (uint64_t)k);
        dg_trainset t = {.x = &x, .y = y, .weight = weight, .task = DG_TASK_MULTICLASS,
                         .nclasses = k, .seed = 1};
        size_t n = (COLS + 1) * (size_t)k;
        double *w = malloc(sizeof *w * n), *g = malloc(sizeof *g * n),
               *g3 = malloc(sizeof *g3 * n), *gr = malloc(sizeof *gr * n);
        for (size_t i = 0; i < n; i++)
            w[i] = 0.3 * gaussian(&s);
        double f = dg_softmax_objective(&t, 0.1, w, g, 1);
        double f3 = dg_softmax_objective(&t, 0.1, w, g3, 3);
        double fr = softmax_reference(&t, 0.1, w, gr);
        if (!(fabs(f - fr) < 1e-12 * fabs(fr)) || !(fabs(f3 - fr) < 1e-12 * fabs(fr)))
            fail_msg("k %d: objective %.17g (3 threads %.17g), definition %.17g", k, f, f3, fr);
        for (size_t i = 0; i < n; i++)
            if (!(fabs(g[i] - gr[i]) < 1e-12 && fabs(g3[i] - gr[i]) < 1e-12))
                fail_msg("k %d: gradient %zu %.17g (3 threads %.17g), definition %.17g", k, i,
                         g[i], g3[i], gr[i]);
        /* Weight 0 past row 100: the first 100 rows alone, to the bit. */
        double w0[ROWS];
        for (uint32_t r = 0; r < ROWS; r++)
            w0[r] = r < 100 ? weight[r] : 0;
        dg_trainset tz = t;
        tz.weight = w0;
        dg_csr head = x;
        head.nrows = 100;
        head.nnz = x.ptr[100];
        dg_trainset th = t;
        th.x = &head;
        double fz = dg_softmax_objective(&tz, 0.1, w, g, 1);
        double fh = dg_softmax_objective(&th, 0.1, w, g3, 1);
        assert_true(fz == fh);
        assert_memory_equal(g, g3, sizeof *g * n);
        free(w);
        free(g);
        free(g3);
        free(gr);
    }
    free(x.ptr);
    free(x.idx);
    free(x.val);
}

/* Two classes are fit as one weight per column (class 1's less class
 * 0's), saved as +-half of it: the point the fit ends at is the two-class
 * objective's optimum (its gradient vanishes there), on one thread or three,
 * from a cold start and from a warm one, with the dense split and without. */
static void softmax_binary_at_two_class_optimum(void **state)
{
    (void)state;
    dg_csr x;
    double y[SPLIT_ROWS], weight[SPLIT_ROWS];
    uint64_t s = 23;
    split_design(&x, weight, &s);
    for (uint32_t r = 0; r < SPLIT_ROWS; r++) {
        double z = 0;
        for (uint64_t e = x.ptr[r]; e < x.ptr[r + 1]; e++)
            z += x.idx[e] % 3 == 0 ? x.val[e] : 0;
        y[r] = uniform(&s) < 1 / (1 + exp(-z));
    }
    /* the sparse columns alone: too few dense ones for a split */
    dg_csr sparse = {.nrows = SPLIT_ROWS, .ncols = SPLIT_COLS};
    sparse.ptr = malloc(sizeof *sparse.ptr * (SPLIT_ROWS + 1));
    sparse.idx = malloc(sizeof *sparse.idx * (x.nnz + 1));
    sparse.val = malloc(sizeof *sparse.val * (x.nnz + 1));
    for (uint32_t r = 0; r < SPLIT_ROWS; r++) {
        sparse.ptr[r] = sparse.nnz;
        for (uint64_t e = x.ptr[r]; e < x.ptr[r + 1]; e++)
            if (x.idx[e] >= SPLIT_DENSE) {
                sparse.idx[sparse.nnz] = x.idx[e];
                sparse.val[sparse.nnz++] = x.val[e];
            }
    }
    sparse.ptr[SPLIT_ROWS] = sparse.nnz;
    for (int form = 0; form < 2; form++) {
        const dg_csr *xs = form ? &x : &sparse;
        dg_trainset t = {.x = xs, .y = y, .weight = weight, .task = DG_TASK_BINARY,
                         .nclasses = 2, .seed = 1};
        void *prev = NULL;
        static const char *const fits[] = {
            "l2=0.3 delta=0 eps=1e-10 iterations=5000 threads=1",
            "l2=0.03 delta=0 eps=1e-10 iterations=5000 threads=3"};
        for (int f = 0; f < 2; f++) {
            dg_params p;
            dg_err err;
            assert_int_equal(dg_params_parse(&p, fits[f], dg_family_softmax.param_names, &err),
                             DG_OK);
            t.warm = prev; /* the second fit starts from the first */
            void *m = NULL;
            if (dg_family_softmax.fit(&t, &p, &m, NULL, &err) != DG_OK)
                fail_msg("fit: %s", err.msg);
            dg_linear_view v;
            assert_int_equal(dg_family_softmax.linear(m, &v), DG_OK);
            assert_int_equal(v.nclasses, 2);
            size_t n = ((size_t)xs->ncols + 1) * 2;
            double *g = malloc(sizeof *g * n), top = 0;
            dg_softmax_objective(&t, f ? 0.03 : 0.3, v.w, g, 1);
            for (size_t i = 0; i < n; i++)
                top = fmax(top, fabs(g[i]));
            print_message("# %s: largest gradient %.3g\n", fits[f], top);
            assert_true(top < 1e-6);
            for (uint32_t j = 0; j <= xs->ncols; j++) /* +-half */
                assert_true(v.w[2 * j] == -v.w[2 * j + 1]);
            free(g);
            if (prev)
                dg_family_softmax.free(prev);
            prev = m;
        }
        dg_family_softmax.free(prev);
    }
    free(x.ptr);
    free(x.idx);
    free(x.val);
    free(sparse.ptr);
    free(sparse.idx);
    free(sparse.val);
}

static family_case cases[] = {
    {"softmax", DG_TASK_MULTICLASS, 6, "l2=1e-3", "l2=-1", "l2=-1 is out of range",
     DG_TASK_REGRESSION, 0.95},
    {"softmax", DG_TASK_BINARY, 2, "l2=1e-3 threads=1", "iterations=0.5", "whole number",
     DG_TASK_REGRESSION, 0.9},
    {"persona-softmax", DG_TASK_MULTICLASS, 6, "l2=1e-3 personas=4", "personas=100",
     "personas=100 is out of range", DG_TASK_REGRESSION, 0.95},
    {"phone-softmax", DG_TASK_MULTICLASS, 6, "l2=1e-3 alpha=10", "alpha=-1",
     "alpha=-1 is out of range", DG_TASK_REGRESSION, 0.95},
    {"phone-softmax", DG_TASK_BINARY, 2, "l2=1e-3 alpha=5 threads=1", "l2=-1",
     "l2=-1 is out of range", DG_TASK_REGRESSION, 0.9},
    {"liblinear-lr-l2", DG_TASK_BINARY, 2, "C=1", "C=0", "C=0 is out of range",
     DG_TASK_REGRESSION, 0.9},
    {"liblinear-lr-l2", DG_TASK_MULTICLASS, 6, "C=0.3", "eps=-1", "eps=-1 is out of range",
     DG_TASK_REGRESSION, 0.95},
    {"liblinear-lr-l1", DG_TASK_MULTICLASS, 4, "C=1", "C=-2", "C=-2 is out of range",
     DG_TASK_REGRESSION, 0.95},
    {"liblinear-svr", DG_TASK_REGRESSION, 0, "C=0.1", "p=-1", "p=-1 is out of range",
     DG_TASK_BINARY, 0.5},
    {"xgboost", DG_TASK_BINARY, 2, "rounds=60 max_depth=3", "eta=0", "eta=0 is out of range",
     DG_TASK_REGRESSION + 1, 0.95},
    {"xgboost", DG_TASK_MULTICLASS, 4, "rounds=30 max_depth=3 subsample=0.8 colsample=0.8 threads=1",
     "max_depth=2.5", "whole number", DG_TASK_REGRESSION + 1, 0.95},
    {"xgboost", DG_TASK_REGRESSION, 0, "rounds=40 max_depth=3 threads=1", "rounds=0",
     "rounds=0 is out of range", DG_TASK_REGRESSION + 1, 0.7},
    {"libsvm-svc", DG_TASK_BINARY, 2, "C=1 rows=1000", "gamma=-1", "gamma=-1 is out of range",
     DG_TASK_REGRESSION, 0.95},
    {"libsvm-svc", DG_TASK_MULTICLASS, 4, "C=1 rows=800", "rows=5", "rows=5 is out of range",
     DG_TASK_REGRESSION, 0.97},
    {"libsvm-svr", DG_TASK_REGRESSION, 0, "C=10 p=1 rows=1000", "p=-1", "p=-1 is out of range",
     DG_TASK_BINARY, 0.8},
};

/* group12-sum over a softmax group12 model: gender (the female groups'
 * sum), group6 (a 12 x 6 table) and age (each group's mean age) are the
 * inner model's probabilities times the table, and a saved model reloads
 * to the same outputs; an expected age has no SQL form. */
/* softmax's rank: the rank objective's gradient is its finite differences;
 * on classes whose scores lie on a line (one hidden direction, each class a
 * point on it) and few rows, rank 1 beats the full model at the same
 * penalty on held-out rows; a rank of the class count or more is the full
 * model, the same bits. */
static void softmax_rank(void **state)
{
    (void)state;
    const dg_model_family *sm = dg_model_family_find("softmax");
    assert_non_null(sm);
    enum { ROWS = 2400, TRAIN = 400, COLS = 40, K = 6, R = 1 };
    planted p;
    planted_make(&p, ROWS, COLS, 6, K, 23);
    /* Relabel: score_c = (x . v) * a_c with a_c on a line. */
    uint64_t s = 29;
    double v[COLS], a[K], z[K];
    for (int j = 0; j < COLS; j++)
        v[j] = gaussian(&s);
    for (int c = 0; c < K; c++)
        a[c] = -1 + 2.0 * c / (K - 1);
    for (uint32_t r = 0; r < ROWS; r++) {
        double dot = 0, top = -INFINITY, sum = 0;
        for (uint64_t e = p.x.ptr[r]; e < p.x.ptr[r + 1]; e++)
            dot += p.x.val[e] * v[p.x.idx[e]];
        for (int c = 0; c < K; c++)
            top = fmax(top, z[c] = dot * a[c]);
        for (int c = 0; c < K; c++)
            sum += (z[c] = exp(z[c] - top));
        double u = uniform(&s) * sum;
        int c = 0;
        while (c < K - 1 && (u -= z[c]) > 0)
            c++;
        p.y[r] = c;
    }
    uint64_t ptr_tr[TRAIN + 1], ptr_te[ROWS - TRAIN + 1];
    dg_csr xtr = rows_of(&p, 0, TRAIN, ptr_tr), xte = rows_of(&p, TRAIN, ROWS, ptr_te);
    dg_trainset t = {.x = &xtr, .y = p.y, .task = DG_TASK_MULTICLASS, .nclasses = K, .seed = 3};
    /* The gradient, at a random point. */
    enum { NT = COLS * 2 + 2 * K + K };
    double th[NT], g[NT], scratch[NT];
    for (int i = 0; i < NT; i++)
        th[i] = 0.3 * gaussian(&s);
    double f = dg_softmax_rank_objective(&t, 0.05, 2, th, g, 2);
    assert_true(isfinite(f));
    for (int i = 0; i < NT; i++) {
        double h = 1e-5, keep = th[i];
        th[i] = keep + h;
        double up = dg_softmax_rank_objective(&t, 0.05, 2, th, scratch, 1);
        th[i] = keep - h;
        double down = dg_softmax_rank_objective(&t, 0.05, 2, th, scratch, 1);
        th[i] = keep;
        double numeric = (up - down) / (2 * h);
        if (fabs(numeric - g[i]) > 1e-7 * fmax(1, fabs(numeric)))
            fail_msg("theta %d: gradient %.10g, finite difference %.10g", i, g[i], numeric);
    }
    dg_err err;
    dg_params full, low, high;
    assert_int_equal(dg_params_parse(&full, "l2=0.003", sm->param_names, &err), DG_OK);
    assert_int_equal(dg_params_parse(&low, "l2=0.003 rank=1", sm->param_names, &err), DG_OK);
    assert_int_equal(dg_params_parse(&high, "l2=0.003 rank=6", sm->param_names, &err), DG_OK);
    void *mf = NULL, *ml = NULL, *mh = NULL;
    if (sm->fit(&t, &full, &mf, NULL, &err) || sm->fit(&t, &low, &ml, NULL, &err) ||
        sm->fit(&t, &high, &mh, NULL, &err))
        fail_msg("fit: %s", err.msg);
    uint32_t nte = ROWS - TRAIN;
    double *pf = malloc(sizeof *pf * nte * K), *pl = malloc(sizeof *pl * nte * K);
    double *ph = malloc(sizeof *ph * nte * K);
    assert_int_equal(sm->predict(mf, &xte, pf, &err), DG_OK);
    assert_int_equal(sm->predict(ml, &xte, pl, &err), DG_OK);
    assert_int_equal(sm->predict(mh, &xte, ph, &err), DG_OK);
    family_case fc = {.task = DG_TASK_MULTICLASS, .nclasses = K};
    double lf = loss_of(&fc, pf, p.y + TRAIN, nte), ll = loss_of(&fc, pl, p.y + TRAIN, nte);
    print_message("# softmax rank %d %.4f, full %.4f on held-out rows\n", R, ll, lf);
    assert_true(ll < lf - 0.02);
    assert_memory_equal(pf, ph, sizeof *pf * nte * K);
    sm->free(mf);
    sm->free(ml);
    sm->free(mh);
    free(pf);
    free(pl);
    free(ph);
    planted_free(&p);
}

static void group12_sum_outputs(void **state)
{
    (void)state;
    const dg_model_family *sm = dg_model_family_find("softmax");
    assert_non_null(sm); /* built in always: a missing one is a failure, not a skip */
    planted p;
    planted_make(&p, 1500, 200, 15, 12, 9);
    dg_trainset t = {.x = &p.x, .y = p.y, .task = DG_TASK_MULTICLASS, .nclasses = 12,
                     .seed = 3};
    dg_err err;
    dg_params params;
    assert_int_equal(dg_params_parse(&params, "l2=1e-2", sm->param_names, &err), DG_OK);
    void *inner = NULL;
    if (sm->fit(&t, &params, &inner, NULL, &err) != DG_OK)
        fail_msg("softmax: %s", err.msg);
    double *p12 = malloc(sizeof *p12 * p.x.nrows * 12);
    assert_int_equal(sm->predict(inner, &p.x, p12, &err), DG_OK);
    char *dir = tu_tmpdir();
    static const dg_task tasks[3] = {DG_TASK_BINARY, DG_TASK_MULTICLASS, DG_TASK_REGRESSION};
    for (int k = 0; k < 3; k++) {
        int nout = tasks[k] == DG_TASK_MULTICLASS ? 6 : 1;
        double map[12 * 6];
        for (int g = 0; g < 12; g++)
            for (int j = 0; j < nout; j++)
                map[g * nout + j] = tasks[k] == DG_TASK_BINARY       ? g < 6
                                    : tasks[k] == DG_TASK_REGRESSION ? 20.0 + 2.5 * g
                                                                     : (g + j) % 6 == 0;
        void *m = dg_group12_sum_make(sm, inner, tasks[k], map);
        double *want = malloc(sizeof *want * p.x.nrows * (size_t)nout);
        double *got = malloc(sizeof *got * p.x.nrows * (size_t)nout);
        double *back = malloc(sizeof *back * p.x.nrows * (size_t)nout);
        dg_group12_apply(p12, p.x.nrows, nout, map, want);
        assert_int_equal(dg_family_group12_sum.predict(m, &p.x, got, &err), DG_OK);
        char path[600];
        snprintf(path, sizeof path, "%s/g12-%d.model", dir, k);
        assert_int_equal(dg_family_group12_sum.save(m, path, &err), DG_OK);
        void *loaded = NULL;
        if (dg_family_group12_sum.load(path, &loaded, &err) != DG_OK)
            fail_msg("load: %s", err.msg);
        assert_int_equal(dg_family_group12_sum.predict(loaded, &p.x, back, &err), DG_OK);
        for (size_t i = 0; i < (size_t)p.x.nrows * (size_t)nout; i++) {
            assert_true(got[i] == want[i]);
            assert_true(back[i] == want[i]);
        }
        if (tasks[k] == DG_TASK_REGRESSION) /* an expected age, between the groups' ages */
            for (uint32_t i = 0; i < p.x.nrows; i++)
                assert_true(got[i] >= 20.0 - 1e-9 && got[i] <= 47.5 + 1e-9);
        dg_linear_view v;
        assert_int_equal(dg_family_group12_sum.linear(m, &v) == DG_OK,
                         tasks[k] != DG_TASK_REGRESSION);
        dg_family_group12_sum.free(loaded);
        dg_family_group12_sum.free(m); /* made: the inner model stays ours */
        free(want);
        free(got);
        free(back);
    }
    sm->free(inner);
    free(p12);
    tu_rmrf(dir);
    free(dir);
    planted_free(&p);
}

/* The blend on planted devices whose class is the sum of two parts' effects,
 * part A in columns 0..9 (a one-hot), part B in 10..19: base A reads only
 * A's columns (its own 10-column design, through a map), base B only B's.
 * Each knows half the signal, so the blend of the two beats each, by its own
 * cross-validation on their out-of-fold predictions and on the test rows;
 * predict from the full design gives the combiner's predictions on the
 * bases' test predictions, and a saved blend the same bits. Binary and
 * multiclass. */
static void blend_beats_its_bases(void **state)
{
    (void)state;
    const dg_model_family *sm = &dg_family_softmax;
    enum { NTR = 3000, NTE = 1500, N = NTR + NTE, NFOLDS = 5, PART = 10 };
    char *dir = tu_tmpdir();
    for (int kind = 0; kind < 2; kind++) {
        dg_task task = kind ? DG_TASK_MULTICLASS : DG_TASK_BINARY;
        int k = kind ? 4 : 2, nout = kind ? 4 : 1;
        uint64_t s = 11 + (uint64_t)kind;
        double w[2][PART][4];
        for (int h = 0; h < 2; h++)
            for (int v = 0; v < PART; v++)
                for (int c = 0; c < k; c++)
                    w[h][v][c] = 1.2 * gaussian(&s);
        /* full: both parts (columns 0..19); part[h]: one part (0..9). */
        dg_csr full = {malloc(sizeof(uint64_t) * (N + 1)), malloc(sizeof(uint32_t) * 2 * N),
                       malloc(sizeof(float) * 2 * N), N, 2 * PART, 2 * N};
        dg_csr part[2];
        for (int h = 0; h < 2; h++)
            part[h] = (dg_csr){malloc(sizeof(uint64_t) * (N + 1)), malloc(sizeof(uint32_t) * N),
                               malloc(sizeof(float) * N), N, PART, N};
        double *y = malloc(sizeof *y * N);
        for (uint32_t r = 0; r < N; r++) {
            int a = (int)(next_u64(&s) % PART), b = (int)(next_u64(&s) % PART);
            full.ptr[r] = 2 * (uint64_t)r;
            full.idx[2 * r] = (uint32_t)a;
            full.idx[2 * r + 1] = PART + (uint32_t)b;
            full.val[2 * r] = full.val[2 * r + 1] = 1;
            for (int h = 0; h < 2; h++) {
                part[h].ptr[r] = r;
                part[h].idx[r] = (uint32_t)(h ? b : a);
                part[h].val[r] = 1;
            }
            double z[4], top = -INFINITY, sum = 0;
            for (int c = 0; c < k; c++) {
                z[c] = w[0][a][c] + w[1][b][c];
                top = fmax(top, z[c]);
            }
            for (int c = 0; c < k; c++)
                sum += (z[c] = exp(z[c] - top));
            double u = uniform(&s) * sum;
            int c = 0;
            while (c < k - 1 && (u -= z[c]) > 0)
                c++;
            y[r] = c;
        }
        full.ptr[N] = 2 * (uint64_t)N;
        for (int h = 0; h < 2; h++)
            part[h].ptr[N] = N;
        uint32_t tr[NTR], te[NTE];
        uint8_t fold[NTR];
        for (uint32_t i = 0; i < NTR; i++) {
            tr[i] = i;
            fold[i] = (uint8_t)(i % NFOLDS);
        }
        for (uint32_t i = 0; i < NTE; i++)
            te[i] = NTR + i;
        dg_csr fte;
        dg_csr_take_rows(&full, te, NTE, &fte);
        dg_err err;
        dg_params params;
        assert_int_equal(dg_params_parse(&params, "l2=1e-3", sm->param_names, &err), DG_OK);
        /* Each base: out-of-fold predictions on the train rows, the refit's
         * on the test rows, its CV and test log loss. */
        double *oof[2], *pte[2], cv[2], test[2];
        void *model[2];
        uint32_t map[2][2 * PART];
        dg_blend_base bases[2];
        for (int h = 0; h < 2; h++) {
            oof[h] = malloc(sizeof *oof[h] * NTR * (size_t)nout);
            pte[h] = malloc(sizeof *pte[h] * NTE * (size_t)nout);
            for (int fo = 0; fo < NFOLDS; fo++) {
                uint32_t in[NTR], ho[NTR], nin = 0, nho = 0;
                double yin[NTR];
                for (uint32_t i = 0; i < NTR; i++) {
                    if (fold[i] == fo) {
                        ho[nho++] = i;
                    } else {
                        yin[nin] = y[i];
                        in[nin++] = i;
                    }
                }
                dg_csr xin, xho;
                dg_csr_take_rows(&part[h], in, nin, &xin);
                dg_csr_take_rows(&part[h], ho, nho, &xho);
                dg_trainset t = {.x = &xin, .y = yin, .task = task, .nclasses = k, .seed = 3};
                void *m = NULL;
                double *p = malloc(sizeof *p * nho * (size_t)nout);
                assert_int_equal(sm->fit(&t, &params, &m, NULL, &err), DG_OK);
                assert_int_equal(sm->predict(m, &xho, p, &err), DG_OK);
                for (uint32_t i = 0; i < nho; i++)
                    memcpy(oof[h] + (size_t)ho[i] * nout, p + (size_t)i * nout,
                           sizeof *p * (size_t)nout);
                free(p);
                sm->free(m);
                dg_csr_free(&xin);
                dg_csr_free(&xho);
            }
            dg_csr xtr, xte;
            dg_csr_take_rows(&part[h], tr, NTR, &xtr);
            dg_csr_take_rows(&part[h], te, NTE, &xte);
            dg_trainset t = {.x = &xtr, .y = y, .task = task, .nclasses = k, .seed = 3};
            assert_int_equal(sm->fit(&t, &params, &model[h], NULL, &err), DG_OK);
            assert_int_equal(sm->predict(model[h], &xte, pte[h], &err), DG_OK);
            dg_eval e;
            dg_evaluate(task, k, y, oof[h], NTR, &e);
            cv[h] = e.log_loss;
            dg_evaluate(task, k, y + NTR, pte[h], NTE, &e);
            test[h] = e.log_loss;
            dg_csr_free(&xtr);
            dg_csr_free(&xte);
            for (uint32_t c = 0; c < 2 * PART; c++)
                map[h][c] = (c >= PART) == h ? c % PART : DG_BLEND_NONE;
            bases[h] = (dg_blend_base){sm, model[h], PART, map[h]};
        }
        /* The combiner's CV on the bases' out-of-fold predictions. */
        dg_csr ztr, zte;
        dg_blend_inputs((const double *const *)oof, 2, NTR, task, nout, &ztr);
        dg_blend_inputs((const double *const *)pte, 2, NTE, task, nout, &zte);
        assert_int_equal(ztr.ncols, 2 * (uint32_t)nout);
        /* The softmax combiner and the log-linear pool. */
        static const char *const combos[2] = {"l2=1e-4", "pool=1 l2=1e-4"};
        for (int pool = 0; pool < 2; pool++) {
            dg_params bp;
            assert_int_equal(
                dg_params_parse(&bp, combos[pool], dg_family_blend.param_names, &err), DG_OK);
            double *boof = malloc(sizeof *boof * NTR * (size_t)nout);
            assert_int_equal(dg_blend_cross_validate(&ztr, y, task, k, fold, NFOLDS, &bp, NULL, 1,
                                                     5, 2, boof, NULL, &err),
                             DG_OK);
            dg_eval e;
            dg_evaluate(task, k, y, boof, NTR, &e);
            double bcv = e.log_loss;
            void *combiner = NULL;
            assert_int_equal(
                dg_blend_fit_combiner(&ztr, y, task, k, &bp, 5, 2, NULL, &combiner, &err), DG_OK);
            double *want = malloc(sizeof *want * NTE * (size_t)nout);
            assert_int_equal(dg_blend_combiner_predict(combiner, &zte, want, &err), DG_OK);
            void *blend = dg_blend_make(bases, 2, combiner, task, k, 2 * PART);
            double *got = malloc(sizeof *got * NTE * (size_t)nout);
            double *back = malloc(sizeof *back * NTE * (size_t)nout);
            assert_int_equal(dg_family_blend.predict(blend, &fte, got, &err), DG_OK);
            dg_evaluate(task, k, y + NTR, got, NTE, &e);
            double btest = e.log_loss;
            printf("# blend (%s, %s): CV %.4f against the bases' %.4f and %.4f; test %.4f against "
                   "%.4f and %.4f\n",
                   kind ? "4 classes" : "binary", combos[pool], bcv, cv[0], cv[1], btest, test[0],
                   test[1]);
            assert_true(bcv < cv[0] - 0.02 && bcv < cv[1] - 0.02);
            assert_true(btest < test[0] - 0.02 && btest < test[1] - 0.02);
            char path[600];
            snprintf(path, sizeof path, "%s/blend-%d-%d.model", dir, kind, pool);
            assert_int_equal(dg_family_blend.save(blend, path, &err), DG_OK);
            void *loaded = NULL;
            if (dg_family_blend.load(path, &loaded, &err) != DG_OK)
                fail_msg("load: %s", err.msg);
            assert_int_equal(dg_family_blend.predict(loaded, &fte, back, &err), DG_OK);
            assert_memory_equal(got, want, sizeof *got * NTE * (size_t)nout);
            assert_memory_equal(back, want, sizeof *back * NTE * (size_t)nout);
            /* Another design's width is refused, and it cannot be fit alone. */
            assert_int_equal(dg_family_blend.predict(loaded, &part[0], back, &err), DG_ERR);
            dg_trainset t = {.x = &full, .y = y, .task = task, .nclasses = k};
            void *none = NULL;
            assert_int_equal(dg_family_blend.fit(&t, &bp, &none, NULL, &err), DG_ERR);
            assert_null(none);
            dg_family_blend.free(loaded);
            dg_family_blend.free(blend); /* made: the bases stay ours */
            free(boof);
            free(want);
            free(got);
            free(back);
        }
        for (int h = 0; h < 2; h++) {
            sm->free(model[h]);
            free(oof[h]);
            free(pte[h]);
            dg_csr_free(&part[h]);
        }
        free(y);
        dg_csr_free(&ztr);
        dg_csr_free(&zte);
        dg_csr_free(&fte);
        dg_csr_free(&full);
    }
    tu_rmrf(dir);
    free(dir);
}

/* persona-softmax on devices whose class comes from a hidden kind of user
 * that also decides which apps they install: its mixture finds the kinds
 * without labels, so it beats softmax on the same design at the same
 * penalty; a saved model predicts the same bits, and a warm start (the same
 * rows) keeps the mixture. */
static void persona_softmax_finds_kinds(void **state)
{
    (void)state;
    const dg_model_family *pf = dg_model_family_find("persona-softmax");
    const dg_model_family *sm = dg_model_family_find("softmax");
    assert_non_null(pf);
    assert_non_null(sm);
    enum { ROWS = 3000, TRAIN = 2000, APPS = 60, KINDS = 4, OTHER = 10 };
    uint64_t s = 17;
    dg_csr x = {.nrows = ROWS, .ncols = OTHER + APPS};
    x.ptr = malloc(sizeof *x.ptr * (ROWS + 1));
    x.idx = malloc(sizeof *x.idx * ROWS * (OTHER + APPS));
    x.val = malloc(sizeof *x.val * ROWS * (OTHER + APPS));
    double *y = malloc(sizeof *y * ROWS);
    uint64_t nnz = 0;
    for (uint32_t r = 0; r < ROWS; r++) {
        int kind = (int)(next_u64(&s) % KINDS);
        x.ptr[r] = nnz;
        /* A weak numeric column, then the apps: each kind installs its own
         * 15 apps often and the others rarely. */
        x.idx[nnz] = 0;
        x.val[nnz++] = (float)gaussian(&s);
        for (uint32_t a = 0; a < APPS; a++)
            if (uniform(&s) < ((int)(a / 15) == kind ? 0.35 : 0.04)) {
                x.idx[nnz] = OTHER + a;
                x.val[nnz++] = 1;
            }
        /* Each kind leans to one class, the rest is noise. */
        y[r] = uniform(&s) < 0.6 ? kind : (double)(next_u64(&s) % KINDS);
    }
    x.ptr[ROWS] = nnz;
    x.nnz = nnz;
    uint64_t ptr_tr[TRAIN + 1], ptr_te[ROWS - TRAIN + 1];
    for (uint32_t r = 0; r <= TRAIN; r++)
        ptr_tr[r] = x.ptr[r];
    for (uint32_t r = TRAIN; r <= ROWS; r++)
        ptr_te[r - TRAIN] = x.ptr[r] - x.ptr[TRAIN];
    dg_csr xtr = {ptr_tr, x.idx, x.val, TRAIN, x.ncols, x.ptr[TRAIN]};
    dg_csr xte = {ptr_te, x.idx + x.ptr[TRAIN], x.val + x.ptr[TRAIN], ROWS - TRAIN, x.ncols,
                  nnz - x.ptr[TRAIN]};
    dg_trainset t = {.x = &xtr, .y = y, .task = DG_TASK_MULTICLASS, .nclasses = KINDS,
                     .seed = 5, .apps_lo = OTHER, .apps_hi = OTHER + APPS};
    dg_err err;
    dg_params pp, sp;
    assert_int_equal(dg_params_parse(&pp, "personas=4 l2=0.03", pf->param_names, &err), DG_OK);
    assert_int_equal(dg_params_parse(&sp, "l2=0.03", sm->param_names, &err), DG_OK);
    void *pm = NULL, *smm = NULL, *back = NULL, *warm = NULL;
    if (pf->fit(&t, &pp, &pm, NULL, &err) || sm->fit(&t, &sp, &smm, NULL, &err))
        fail_msg("fit: %s", err.msg);
    uint32_t nte = ROWS - TRAIN;
    double *p1 = malloc(sizeof *p1 * nte * KINDS), *p2 = malloc(sizeof *p2 * nte * KINDS);
    double *p3 = malloc(sizeof *p3 * nte * KINDS);
    assert_int_equal(pf->predict(pm, &xte, p1, &err), DG_OK);
    assert_int_equal(sm->predict(smm, &xte, p2, &err), DG_OK);
    family_case fc = {.task = DG_TASK_MULTICLASS, .nclasses = KINDS};
    double lp = loss_of(&fc, p1, y + TRAIN, nte), ls = loss_of(&fc, p2, y + TRAIN, nte);
    print_message("# persona-softmax %.4f, softmax %.4f on the same design\n", lp, ls);
    assert_true(lp < ls - 0.02);
    char *dir = tu_tmpdir(), path[600];
    snprintf(path, sizeof path, "%s/p.model", dir);
    assert_int_equal(pf->save(pm, path, &err), DG_OK);
    if (pf->load(path, &back, &err) != DG_OK)
        fail_msg("load: %s", err.msg);
    assert_int_equal(pf->predict(back, &xte, p3, &err), DG_OK);
    assert_memory_equal(p1, p3, sizeof *p1 * nte * KINDS);
    /* The next point of the penalty path, warm: the same mixture, the
     * softmax moved. */
    dg_trainset tw = t;
    tw.warm = pm;
    assert_int_equal(dg_params_parse(&pp, "personas=4 l2=0.01", pf->param_names, &err), DG_OK);
    if (pf->fit(&tw, &pp, &warm, NULL, &err) != DG_OK)
        fail_msg("warm fit: %s", err.msg);
    assert_int_equal(pf->predict(warm, &xte, p3, &err), DG_OK);
    assert_true(memcmp(p1, p3, sizeof *p1 * nte * KINDS) != 0);
    pf->free(warm);
    /* Every row as the unlabelled rows (their labels unread): the mixture
     * learns from them, so it differs, and it still finds the kinds. */
    dg_trainset tu = t;
    tu.unlabelled = &x;
    assert_int_equal(dg_params_parse(&pp, "personas=4 l2=0.03", pf->param_names, &err), DG_OK);
    if (pf->fit(&tu, &pp, &warm, NULL, &err) != DG_OK)
        fail_msg("fit with unlabelled rows: %s", err.msg);
    assert_int_equal(pf->predict(warm, &xte, p3, &err), DG_OK);
    assert_true(memcmp(p1, p3, sizeof *p1 * nte * KINDS) != 0);
    double lu = loss_of(&fc, p3, y + TRAIN, nte);
    print_message("# with every row unlabelled for the mixture: %.4f\n", lu);
    assert_true(lu < ls - 0.02);
    pf->free(warm);
    /* min_devices: the apps on fewer rows than that keep log-odds 0 in the
     * saved mixture (read from the file: our header, 5 u32 and the scale,
     * then the log-odds per component and app), the others do not. The
     * threshold is the median of the apps' row counts, so both kinds occur. */
    uint32_t count[APPS] = {0}, sorted[APPS];
    for (uint64_t e = 0; e < xtr.nnz; e++)
        if (x.idx[e] >= OTHER)
            count[x.idx[e] - OTHER]++;
    for (uint32_t a = 0; a < APPS; a++) { /* insertion sort */
        uint32_t i = a;
        for (; i > 0 && sorted[i - 1] > count[a]; i--)
            sorted[i] = sorted[i - 1];
        sorted[i] = count[a];
    }
    uint32_t median = sorted[APPS / 2];
    char spec[80];
    snprintf(spec, sizeof spec, "personas=4 l2=0.03 min_devices=%u", median);
    assert_int_equal(dg_params_parse(&pp, spec, pf->param_names, &err), DG_OK);
    if (pf->fit(&t, &pp, &warm, NULL, &err) != DG_OK)
        fail_msg("fit with min_devices: %s", err.msg);
    snprintf(path, sizeof path, "%s/rare.model", dir);
    assert_int_equal(pf->save(warm, path, &err), DG_OK);
    pf->free(warm);
    size_t len = 0;
    char *file = tu_read(path, &len);
    const char *magic = "demographer persona-softmax model 2\n";
    assert_memory_equal(file, magic, strlen(magic));
    size_t at = strlen(magic) + 5 * sizeof(uint32_t) + sizeof(double);
    assert_true(len >= at + sizeof(double) * KINDS * APPS);
    int zero = 0, kept = 0;
    for (int c = 0; c < KINDS; c++)
        for (uint32_t a = 0; a < APPS; a++) {
            double lo;
            memcpy(&lo, file + at + sizeof lo * ((size_t)c * APPS + a), sizeof lo);
            if (count[a] < median) {
                assert_true(lo == 0);
                zero++;
            } else {
                assert_true(lo != 0);
                kept++;
            }
        }
    assert_true(zero > 0 && kept > 0);
    /* The same model as a version-1 file (no components per mixture: one
     * mixture) loads and predicts the same bits. */
    void *v2 = NULL, *v1 = NULL;
    if (pf->load(path, &v2, &err) != DG_OK)
        fail_msg("load: %s", err.msg);
    size_t per_at = strlen(magic) + 4 * sizeof(uint32_t);
    char *old = malloc(len);
    memcpy(old, file, per_at);
    memcpy(old + per_at, file + per_at + sizeof(uint32_t), len - per_at - sizeof(uint32_t));
    old[strlen(magic) - 2] = '1';
    char *softmax_file = malloc(strlen(path) + 16), *old_softmax = malloc(strlen(path) + 16);
    snprintf(softmax_file, strlen(path) + 16, "%s.softmax", path);
    size_t slen = 0;
    char *inner = tu_read(softmax_file, &slen);
    char *old_path = tu_write(dir, "old.model", old, len - sizeof(uint32_t));
    snprintf(old_softmax, strlen(path) + 16, "%s.softmax", old_path);
    FILE *fp = fopen(old_softmax, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(inner, 1, slen, fp), slen);
    fclose(fp);
    if (pf->load(old_path, &v1, &err) != DG_OK)
        fail_msg("load of a version-1 file: %s", err.msg);
    assert_int_equal(pf->predict(v2, &xte, p1, &err), DG_OK);
    assert_int_equal(pf->predict(v1, &xte, p3, &err), DG_OK);
    assert_memory_equal(p1, p3, sizeof *p1 * nte * KINDS);
    pf->free(v1);
    pf->free(v2);
    /* Two mixtures side by side: twice the components, in mixtures of the
     * personas' count. */
    assert_int_equal(dg_params_parse(&pp, "personas=4 mixtures=2 l2=0.03", pf->param_names, &err),
                     DG_OK);
    if (pf->fit(&t, &pp, &warm, NULL, &err) != DG_OK)
        fail_msg("fit with two mixtures: %s", err.msg);
    snprintf(path, sizeof path, "%s/two.model", dir);
    assert_int_equal(pf->save(warm, path, &err), DG_OK);
    pf->free(warm);
    size_t len2 = 0;
    char *two = tu_read(path, &len2);
    uint32_t k2, per2;
    memcpy(&k2, two + strlen(magic) + 3 * sizeof(uint32_t), sizeof k2);
    memcpy(&per2, two + strlen(magic) + 4 * sizeof(uint32_t), sizeof per2);
    assert_int_equal(k2, 2 * KINDS);
    assert_int_equal(per2, KINDS);
    free(two);
    free(inner);
    free(old);
    free(old_path);
    free(softmax_file);
    free(old_softmax);
    free(file);
    pf->free(back);
    pf->free(pm);
    sm->free(smm);
    tu_rmrf(dir);
    free(dir);
    free(p1);
    free(p2);
    free(p3);
    free(y);
    free(x.ptr);
    free(x.idx);
    free(x.val);
}

int main(void)
{
    /* Six engineers share two cores here: OpenMP threads (XGBoost's) that
     * spin while they wait make an oversubscribed machine crawl. */
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    static const char *cancellable[] = {"softmax", "liblinear-lr-l2", "xgboost", "libsvm-svc"};
    struct CMUnitTest tests[64];
    size_t n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(softmax_gradient);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(softmax_rank);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(group12_sum_outputs);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(blend_beats_its_bases);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(persona_softmax_finds_kinds);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(softmax_dense_split);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(softmax_binary_at_two_class_optimum);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        tests[n++] = (struct CMUnitTest)cmocka_unit_test_prestate(family_behaves, &cases[i]);
    for (size_t i = 0; i < sizeof cancellable / sizeof cancellable[0]; i++)
        tests[n++] =
            (struct CMUnitTest)cmocka_unit_test_prestate(fits_cancel, (void *)cancellable[i]);
    return _cmocka_run_group_tests("families", tests, n, NULL, NULL);
}
