/* Benchmark (not a test): every model family on a planted-signal sparse
 * matrix of the size the brief's data gives (default 50,000 rows x 20,000
 * columns, about 50 entries a row): fit seconds, predict seconds and the test
 * loss (log loss for gender and the 12 groups, RMSE for age) beside the
 * class-prior / mean baseline. The first 80% of rows train, the rest test.
 *
 *   bench_families [ROWS COLS PER_ROW [FAMILY...]]
 *
 * The labels: a 12-class group drawn from a softmax over hidden weights (on a
 * third of the columns, plus a gender part on another third), gender = the
 * group's half (groups 0-5 female, as in the Kaggle names), age = 30 + a
 * hidden linear score + noise.
 *
 * Penalties are matched: LIBLINEAR's C=0.1 on 40,000 rows is softmax's
 * l2 = 1 / (C * rows) = 2.5e-4 for the groups; for two classes softmax's two
 * weight vectors halve the penalty on their difference, so 5e-4. */
#include "demographer/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU seconds of the process (every thread): on a shared machine the wall
 * clock measures the neighbours too. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

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
    return sqrt(-2 * log(uniform(s) + 1e-300)) * cos(6.283185307179586 * uniform(s));
}

enum { K = 12 };

typedef struct run {
    const char *family;
    dg_task task;
    const char *params;
} run;

static const run runs[] = {
    {"softmax", DG_TASK_MULTICLASS, "l2=2.5e-4"},
    {"liblinear-lr-l2", DG_TASK_MULTICLASS, "C=0.1"},
    {"liblinear-lr-l1", DG_TASK_MULTICLASS, "C=0.1"},
    {"xgboost", DG_TASK_MULTICLASS, "rounds=100 max_depth=6 eta=0.2"},
    {"libsvm-svc", DG_TASK_MULTICLASS, "rows=8000"},
    {"softmax", DG_TASK_BINARY, "l2=5e-4"},
    {"liblinear-lr-l2", DG_TASK_BINARY, "C=0.1"},
    {"liblinear-lr-l1", DG_TASK_BINARY, "C=0.1"},
    {"xgboost", DG_TASK_BINARY, "rounds=100 max_depth=6 eta=0.2"},
    {"libsvm-svc", DG_TASK_BINARY, "rows=8000"},
    {"liblinear-svr", DG_TASK_REGRESSION, "C=0.01"},
    {"xgboost", DG_TASK_REGRESSION, "rounds=100 max_depth=6 eta=0.2"},
    {"libsvm-svr", DG_TASK_REGRESSION, "rows=8000 C=10 p=1"},
};

static double loss_of(dg_task task, const double *pred, const double *y, uint32_t n)
{
    double sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (task == DG_TASK_REGRESSION) {
            sum += (pred[i] - y[i]) * (pred[i] - y[i]);
        } else {
            double p = task == DG_TASK_BINARY ? (y[i] == 1 ? pred[i] : 1 - pred[i])
                                              : pred[(size_t)i * K + (size_t)y[i]];
            sum -= log(fmin(fmax(p, 1e-15), 1 - 1e-15));
        }
    }
    return task == DG_TASK_REGRESSION ? sqrt(sum / n) : sum / n;
}

static double baseline(dg_task task, const double *y, uint32_t ntrain, uint32_t n)
{
    int k = task == DG_TASK_MULTICLASS ? K : 1;
    double prior[K] = {0};
    for (uint32_t i = 0; i < ntrain; i++)
        prior[task == DG_TASK_MULTICLASS ? (int)y[i] : 0] +=
            task == DG_TASK_MULTICLASS ? 1.0 / ntrain : y[i] / ntrain;
    double *pred = malloc(sizeof *pred * (n - ntrain) * (size_t)k);
    for (uint32_t i = 0; i < n - ntrain; i++)
        for (int c = 0; c < k; c++)
            pred[(size_t)i * (size_t)k + (size_t)c] = prior[c];
    double l = loss_of(task, pred, y + ntrain, n - ntrain);
    free(pred);
    return l;
}

int main(int argc, char **argv)
{
    uint32_t rows = argc > 3 ? (uint32_t)atol(argv[1]) : 50000;
    uint32_t cols = argc > 3 ? (uint32_t)atol(argv[2]) : 20000;
    int per_row = argc > 3 ? atoi(argv[3]) : 50;
    uint64_t s = 1;
    double *truth = malloc(sizeof *truth * cols * (K + 1));
    for (size_t i = 0; i < (size_t)cols * (K + 1); i++)
        truth[i] = (i / (K + 1)) % 3 == 0 ? 0.4 * gaussian(&s) : 0;
    /* A gender component shared by the six female groups (against the male
     * six), on another third of the columns, as brands and apps lean. */
    for (uint32_t col = 1; col < cols; col += 3) {
        double g = 0.25 * gaussian(&s);
        for (int c = 0; c < K; c++)
            truth[(size_t)col * (K + 1) + (size_t)c] += c < 6 ? g : -g;
    }
    dg_csr x = {.nrows = rows, .ncols = cols};
    x.ptr = malloc(sizeof *x.ptr * (rows + 1));
    x.idx = malloc(sizeof *x.idx * (size_t)rows * (size_t)per_row * 2);
    x.val = malloc(sizeof *x.val * (size_t)rows * (size_t)per_row * 2);
    double *group = malloc(sizeof *group * rows), *gender = malloc(sizeof *gender * rows),
           *age = malloc(sizeof *age * rows);
    uint64_t nnz = 0;
    for (uint32_t r = 0; r < rows; r++) {
        x.ptr[r] = nnz;
        double z[K + 1] = {0};
        for (uint32_t col = 0;;) {
            col += 1 + (uint32_t)(next_u64(&s) % (2 * cols / (uint32_t)per_row));
            if (col >= cols || nnz - x.ptr[r] == 2 * (uint64_t)per_row)
                break;
            x.idx[nnz] = col;
            x.val[nnz] = col < cols / 2 ? 1.0f : (float)(1 + next_u64(&s) % 3);
            for (int c = 0; c <= K; c++)
                z[c] += x.val[nnz] * truth[(size_t)col * (K + 1) + (size_t)c];
            nnz++;
        }
        double top = z[0], sum = 0;
        for (int c = 1; c < K; c++)
            top = fmax(top, z[c]);
        double p[K];
        for (int c = 0; c < K; c++)
            sum += (p[c] = exp(z[c] - top));
        double u = uniform(&s) * sum;
        int c = 0;
        while (c < K - 1 && (u -= p[c]) > 0)
            c++;
        group[r] = c;
        gender[r] = c < 6;
        age[r] = 30 + 3 * z[K] + 4 * gaussian(&s);
    }
    x.ptr[rows] = x.nnz = nnz;
    uint32_t ntrain = rows / 5 * 4, ntest = rows - ntrain;
    uint64_t *test_ptr = malloc(sizeof *test_ptr * (ntest + 1));
    for (uint32_t r = 0; r <= ntest; r++)
        test_ptr[r] = x.ptr[ntrain + r] - x.ptr[ntrain];
    dg_csr train = x, test = x;
    train.nrows = ntrain;
    train.nnz = x.ptr[ntrain];
    test.nrows = ntest;
    test.ptr = test_ptr;
    test.idx = x.idx + x.ptr[ntrain];
    test.val = x.val + x.ptr[ntrain];
    test.nnz = nnz - x.ptr[ntrain];
    printf("%u rows (%u train, %u test) x %u columns, %.1f entries a row\n", rows, ntrain, ntest,
           cols, (double)nnz / rows);
    printf("%-16s %-7s %-32s %8s %8s %8s %9s %9s\n", "family", "target", "params", "fit s",
           "fit cpu", "pred s", "test loss", "baseline");
    double *pred = malloc(sizeof *pred * ntest * K);
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        const run *rn = &runs[i];
        int wanted = argc <= 4;
        for (int a = 4; a < argc; a++)
            wanted |= strcmp(argv[a], rn->family) == 0;
        if (!wanted)
            continue;
        const dg_model_family *f = dg_model_family_find(rn->family);
        const double *y = rn->task == DG_TASK_MULTICLASS ? group
                          : rn->task == DG_TASK_BINARY   ? gender
                                                         : age;
        dg_trainset t = {.x = &train, .y = y, .task = rn->task,
                         .nclasses = rn->task == DG_TASK_MULTICLASS ? K
                                     : rn->task == DG_TASK_BINARY   ? 2
                                                                    : 0,
                         .seed = 1};
        dg_params params;
        dg_err err;
        void *m = NULL;
        if (!f || dg_params_parse(&params, rn->params, f->param_names, &err)) {
            fprintf(stderr, "%s: %s\n", rn->family, f ? err.msg : "unknown family");
            return 1;
        }
        double c0 = cpu_now(), t0 = dg_now();
        if (f->fit(&t, &params, &m, NULL, &err)) {
            fprintf(stderr, "%s: %s\n", rn->family, err.msg);
            return 1;
        }
        double t1 = dg_now(), c1 = cpu_now();
        if (f->predict(m, &test, pred, &err)) {
            fprintf(stderr, "%s: %s\n", rn->family, err.msg);
            return 1;
        }
        double t2 = dg_now();
        const char *target = rn->task == DG_TASK_MULTICLASS ? "group12"
                             : rn->task == DG_TASK_BINARY   ? "gender"
                                                            : "age";
        printf("%-16s %-7s %-32s %8.2f %8.2f %8.2f %9.4f %9.4f\n", rn->family, target,
               rn->params, t1 - t0, c1 - c0, t2 - t1, loss_of(rn->task, pred, y + ntrain, ntest),
               baseline(rn->task, y, ntrain, rows));
        fflush(stdout);
        f->free(m);
    }
    printf("(test loss: log loss for gender and group12, RMSE in years for age)\n");
    free(pred);
    free(test_ptr);
    free(x.ptr);
    free(x.idx);
    free(x.val);
    free(group);
    free(gender);
    free(age);
    free(truth);
    return 0;
}
