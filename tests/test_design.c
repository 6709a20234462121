#include "testutil.h"

#include "demographer/design.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Four devices by hand: brand/model, two dense columns (a count and a
 * place with NaN), an app bag over apps 100/200/300, a label bag over
 * labels 7/8. */
typedef struct handmade {
    dg_features f;
    int64_t ids[4];
    const char *brand[4], *model[4];
    char *names[2];
    float dense[8];
    uint64_t aptr[5], lptr[5];
    uint32_t aidx[6], lidx[4];
    float aval[6], lval[4];
    int64_t app_vocab[3];
    int32_t label_vocab[2];
} handmade;

static void make(handmade *h)
{
    memset(h, 0, sizeof *h);
    static const int64_t ids[4] = {10, 11, 12, 13};
    static const char *const br[4] = {"A", "A", "B", "C"}, *const mo[4] = {"m1", "m1", "m2", "m3"};
    memcpy(h->ids, ids, sizeof ids);
    for (int i = 0; i < 4; i++) {
        h->brand[i] = br[i];
        h->model[i] = mo[i];
    }
    h->names[0] = "events";
    h->names[1] = "lat_median";
    const float d[8] = {4, 30, 0, NAN, 9, 32, 1, NAN};
    memcpy(h->dense, d, sizeof d);
    /* apps: r0 {100:1, 200:2}, r1 {100:1}, r2 {200:1, 300:1}, r3 {300:5} */
    const uint64_t ap[5] = {0, 2, 3, 5, 6};
    const uint32_t ai[6] = {0, 1, 0, 1, 2, 2};
    const float av[6] = {1, 2, 1, 1, 1, 5};
    /* labels: r0 {7}, r1 {7, 8}, r2 {8}, r3 {} */
    const uint64_t lp[5] = {0, 1, 3, 4, 4};
    const uint32_t li[4] = {0, 0, 1, 1};
    const float lv[4] = {1, 1, 1, 1};
    memcpy(h->aptr, ap, sizeof ap);
    memcpy(h->aidx, ai, sizeof ai);
    memcpy(h->aval, av, sizeof av);
    memcpy(h->lptr, lp, sizeof lp);
    memcpy(h->lidx, li, sizeof li);
    memcpy(h->lval, lv, sizeof lv);
    h->app_vocab[0] = 100;
    h->app_vocab[1] = 200;
    h->app_vocab[2] = 300;
    h->label_vocab[0] = 7;
    h->label_vocab[1] = 8;
    dg_features *f = &h->f;
    f->ndevices = 4;
    f->device_id = h->ids;
    f->brand = h->brand;
    f->model = h->model;
    f->ncols = 2;
    f->col_names = h->names;
    f->dense = h->dense;
    f->apps_installed = (dg_csr){h->aptr, h->aidx, h->aval, 4, 3, 6};
    f->apps_active = (dg_csr){h->aptr, h->aidx, h->aval, 4, 3, 6};
    f->app_vocab = h->app_vocab;
    f->labels = (dg_csr){h->lptr, h->lidx, h->lval, 4, 2, 4};
    f->label_vocab = h->label_vocab;
}

#define NEAR(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-6)

static void row_is(const dg_csr *x, uint32_t r, const uint32_t *cols, const float *vals, int n)
{
    assert_int_equal(x->ptr[r + 1] - x->ptr[r], n);
    for (int k = 0; k < n; k++) {
        assert_int_equal(x->idx[x->ptr[r] + k], cols[k]);
        NEAR(x->val[x->ptr[r] + k], vals[k]);
    }
}

static void learn_and_apply(void **state)
{
    (void)state;
    handmade h;
    make(&h);
    dg_design_spec s;
    dg_design_spec_init(&s);
    dg_err err;
    const uint32_t train[3] = {0, 1, 2};
    assert_int_equal(dg_design_learn(&s, &h.f, train, 3, DG_BLOCKS_ALL, DG_BAG_BINARY, DG_COUNTS_LOG1P, 2, &err),
                     DG_OK);
    /* brand A (2 rows; B once is dropped), model A/m1, 2 numeric, 1 missing
     * indicator (lat), apps 100 and 200 (300 once), labels 7 and 8. */
    assert_int_equal(dg_design_ncols(&s), 9);
    char name[64];
    static const char *const want[9] = {"brand=A",  "model=A/m1", "events",
                                        "lat_median", "lat_median:missing", "app=100",
                                        "app=200",  "label=7",    "label=8"};
    for (uint32_t c = 0; c < 9; c++) {
        dg_design_colname(&s, c, name, sizeof name);
        assert_string_equal(name, want[c]);
    }
    /* events: log1p of 4, 0, 9, standardised; lat: 30 and 32 as they are. */
    double l4 = log1p(4.0), l9 = log1p(9.0), mean = (l4 + l9) / 3;
    double sd = sqrt((pow(l4 - mean, 2) + pow(mean, 2) + pow(l9 - mean, 2)) / 2);
    assert_true(s.numeric[0].log1p);
    NEAR(s.numeric[0].mean, mean);
    NEAR(s.numeric[0].sd, sd);
    assert_false(s.numeric[1].log1p);
    NEAR(s.numeric[1].mean, 31);
    NEAR(s.numeric[1].sd, sqrt(2.0));
    assert_int_equal(s.numeric[0].missing_col, -1);
    assert_int_equal(s.numeric[1].missing_col, 0);

    const uint32_t rows[4] = {0, 1, 2, 3};
    dg_csr x;
    assert_int_equal(dg_design_apply(&s, &h.f, rows, 4, &x, &err), DG_OK);
    assert_int_equal(x.nrows, 4);
    assert_int_equal(x.ncols, 9);
    const uint32_t c0[] = {0, 1, 2, 3, 5, 6, 7};
    const float v0[] = {1, 1, (float)((l4 - mean) / sd), (float)(-1 / sqrt(2.0)), 1, 1, 1};
    row_is(&x, 0, c0, v0, 7);
    /* NaN place: no value, the indicator instead. */
    const uint32_t c1[] = {0, 1, 2, 4, 5, 7, 8};
    const float v1[] = {1, 1, (float)(-mean / sd), 1, 1, 1, 1};
    row_is(&x, 1, c1, v1, 7);
    /* An unseen brand and model and an unseen app give nothing. */
    const uint32_t c3[] = {2, 4};
    const float v3[] = {(float)((log1p(1.0) - mean) / sd), 1};
    row_is(&x, 3, c3, v3, 2);
    dg_csr_free(&x);

    /* tf-idf: idf ln(4/3) + 1 for every kept app (df 2), L2-normalised per bag. */
    assert_int_equal(dg_design_learn(&s, &h.f, train, 3, DG_BLOCKS_ALL, DG_BAG_TFIDF, DG_COUNTS_LOG1P, 2, &err),
                     DG_OK);
    NEAR(s.app_idf[0], log(4.0 / 3) + 1);
    assert_int_equal(dg_design_apply(&s, &h.f, rows, 1, &x, &err), DG_OK);
    NEAR(x.val[4], 1 / sqrt(2.0));
    NEAR(x.val[5], 1 / sqrt(2.0));
    NEAR(x.val[6], 1); /* the one label, normalised alone */
    dg_csr_free(&x);
    dg_design_spec_free(&s);
}

static void save_load_identity(void **state)
{
    (void)state;
    handmade h;
    make(&h);
    /* A brand with a tab, a backslash and a newline survives the text form. */
    h.brand[0] = h.brand[1] = "A\tb\\c\nd";
    dg_design_spec s, t;
    dg_design_spec_init(&s);
    dg_design_spec_init(&t);
    dg_err err;
    const uint32_t train[3] = {0, 1, 2}, rows[4] = {0, 1, 2, 3};
    assert_int_equal(dg_design_learn(&s, &h.f, train, 3, DG_BLOCKS_ALL, DG_BAG_TFIDF, DG_COUNTS_LOG1P, 1, &err),
                     DG_OK);
    char *dir = tu_tmpdir(), path1[512], path2[512];
    snprintf(path1, sizeof path1, "%s/a.txt", dir);
    snprintf(path2, sizeof path2, "%s/b.txt", dir);
    assert_int_equal(dg_design_save(&s, path1, &err), DG_OK);
    assert_int_equal(dg_design_load(&t, path1, &err), DG_OK);
    assert_int_equal(dg_design_save(&t, path2, &err), DG_OK);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cmp %s %s", path1, path2);
    assert_int_equal(tu_run(cmd, NULL), 0);
    dg_csr x, y;
    assert_int_equal(dg_design_apply(&s, &h.f, rows, 4, &x, &err), DG_OK);
    assert_int_equal(dg_design_apply(&t, &h.f, rows, 4, &y, &err), DG_OK);
    assert_int_equal(x.nnz, y.nnz);
    assert_memory_equal(x.ptr, y.ptr, 5 * sizeof *x.ptr);
    assert_memory_equal(x.idx, y.idx, x.nnz * sizeof *x.idx);
    assert_memory_equal(x.val, y.val, x.nnz * sizeof *x.val);
    dg_csr_free(&x);
    dg_csr_free(&y);

    /* Another feature layout is refused, naming both. */
    h.names[1] = "lon_median";
    assert_int_equal(dg_design_apply(&t, &h.f, rows, 4, &x, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "but the design was learnt on layout"));
    h.names[1] = "lat_median";

    /* Malformed files name the line. */
    char *bad = tu_write_str(dir, "bad.txt", "demographer-design 2\nblocks 3\nbags sometimes\n");
    assert_int_equal(dg_design_load(&t, bad, &err), DG_ERR);
    char want[700];
    snprintf(want, sizeof want, "%s:3: expected bags binary or tfidf, found 'sometimes'", bad);
    assert_string_equal(err.msg, want);
    free(bad);
    bad = tu_write_str(dir, "bad2.txt", "demographer-design 1\n");
    assert_int_equal(dg_design_load(&t, bad, &err), DG_ERR);
    assert_non_null(strstr(err.msg, ":1: design format version 1; this demographer reads version 2"));
    free(bad);
    dg_design_spec_free(&s);
    dg_design_spec_free(&t);
    tu_rmrf(dir);
    free(dir);
}

/* make's four devices with events and a home cluster as their dense
 * columns (row 3: no home). */
static void make_with_home(handmade *h)
{
    make(h);
    h->names[1] = "cluster_home";
    const float d[8] = {4, 3, 0, 3, 9, -1, 1, NAN};
    memcpy(h->dense, d, sizeof d);
}

static const uint32_t home_rows[4] = {0, 1, 2, 3};

/* make_with_home's devices, the numeric block learnt over all four into s
 * (log1p counts, min_count 1); t an empty spec for a reload. */
static void learn_with_home(handmade *h, dg_design_spec *s, dg_design_spec *t)
{
    make_with_home(h);
    dg_design_spec_init(s);
    dg_design_spec_init(t);
    dg_err err;
    assert_int_equal(dg_design_learn(s, &h->f, home_rows, 4, DG_BLOCK_NUMERIC, DG_BAG_BINARY,
                                     DG_COUNTS_LOG1P, 1, &err),
                     DG_OK);
}

/* s saved to a new folder's design.txt and loaded into t; the folder,
 * for the caller to remove. */
static char *reloaded(const dg_design_spec *s, dg_design_spec *t)
{
    char *dir = tu_tmpdir(), path[1024];
    dg_err err;
    snprintf(path, sizeof path, "%s/design.txt", dir);
    assert_int_equal(dg_design_save(s, path, &err), DG_OK);
    assert_int_equal(dg_design_load(t, path, &err), DG_OK);
    return dir;
}

/* The home cluster is a category: one-hot over the clusters home to
 * >= min_count train rows, never scaled; a saved spec keeps it. */
static void home_cluster_is_one_hot(void **state)
{
    (void)state;
    handmade h;
    dg_design_spec s, t;
    learn_with_home(&h, &s, &t);
    dg_err err;
    assert_int_equal(s.nnumeric, 1); /* events only */
    assert_int_equal(s.nhome, 2);
    assert_int_equal(dg_design_ncols(&s), 3);
    char name[64];
    dg_design_colname(&s, 1, name, sizeof name);
    assert_string_equal(name, "cluster_home=-1");
    dg_design_colname(&s, 2, name, sizeof name);
    assert_string_equal(name, "cluster_home=3");
    char *dir = reloaded(&s, &t);
    dg_csr x;
    assert_int_equal(dg_design_apply(&t, &h.f, home_rows, 4, &x, &err), DG_OK);
    /* Row 0 and 1: home 3 (column 2); row 2: -1 (column 1); row 3: none. */
    assert_int_equal(x.idx[x.ptr[1] - 1], 2);
    assert_true(x.val[x.ptr[1] - 1] == 1.0f);
    assert_int_equal(x.idx[x.ptr[3] - 1], 1);
    for (uint64_t k = x.ptr[3]; k < x.ptr[4]; k++)
        assert_true(x.idx[k] == 0);
    dg_csr_free(&x);
    /* With min_count 2, only cluster 3 (two rows) keeps a column. */
    assert_int_equal(dg_design_learn(&s, &h.f, home_rows, 4, DG_BLOCK_NUMERIC, DG_BAG_BINARY, DG_COUNTS_LOG1P, 2, &err),
                     DG_OK);
    assert_int_equal(s.nhome, 1);
    assert_true(s.home[0] == 3);
    dg_design_spec_free(&s);
    dg_design_spec_free(&t);
    tu_rmrf(dir);
    free(dir);
}

/* dg_design_scale_numeric multiplies the numeric columns' values (and
 * nothing else: the home cluster's one-hot stays 1), and a saved and
 * reloaded spec applies the same scale. */
static void numeric_scale_saved(void **state)
{
    (void)state;
    handmade h;
    dg_design_spec s, t;
    learn_with_home(&h, &s, &t);
    dg_err err;
    dg_csr plain, scaled, again;
    assert_true(s.numeric_scale == 1);
    assert_int_equal(dg_design_apply(&s, &h.f, home_rows, 4, &plain, &err), DG_OK);
    dg_design_scale_numeric(&s, 4);
    assert_true(s.numeric_scale == 4);
    assert_int_equal(dg_design_apply(&s, &h.f, home_rows, 4, &scaled, &err), DG_OK);
    char *dir = reloaded(&s, &t);
    assert_int_equal(dg_design_apply(&t, &h.f, home_rows, 4, &again, &err), DG_OK);
    assert_int_equal(plain.nnz, scaled.nnz);
    int numeric = 0;
    for (uint64_t k = 0; k < plain.nnz; k++) {
        assert_int_equal(plain.idx[k], scaled.idx[k]);
        if (plain.idx[k] == 0) { /* events */
            numeric += plain.val[k] != 0;
            assert_float_equal(scaled.val[k], 4 * plain.val[k], 1e-5);
        } else {
            assert_true(scaled.val[k] == plain.val[k]);
        }
    }
    assert_true(numeric >= 2);
    assert_int_equal(again.nnz, scaled.nnz);
    assert_memory_equal(again.idx, scaled.idx, scaled.nnz * sizeof *scaled.idx);
    assert_memory_equal(again.val, scaled.val, scaled.nnz * sizeof *scaled.val);
    dg_csr_free(&plain);
    dg_csr_free(&scaled);
    dg_csr_free(&again);
    dg_design_spec_free(&s);
    dg_design_spec_free(&t);
    tu_rmrf(dir);
    free(dir);
}

static void phone_blocks_and_svmlight(void **state)
{
    (void)state;
    handmade h;
    make(&h);
    dg_design_spec s;
    dg_design_spec_init(&s);
    dg_err err;
    const uint32_t train[3] = {0, 1, 2}, rows[2] = {0, 2};
    assert_int_equal(dg_design_learn(&s, &h.f, train, 3, DG_BLOCKS_PHONE, DG_BAG_BINARY, DG_COUNTS_LOG1P, 2, &err),
                     DG_OK);
    assert_int_equal(dg_design_ncols(&s), 2);
    dg_csr x;
    assert_int_equal(dg_design_apply(&s, &h.f, rows, 2, &x, &err), DG_OK);
    char *dir = tu_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/x.svm", dir);
    const double yv[2] = {1, 0};
    assert_int_equal(dg_design_write_svmlight(&x, yv, path, &err), DG_OK);
    FILE *fp = fopen(path, "r");
    char buf[128] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    assert_string_equal(buf, "1 1:1 2:1\n0\n");
    dg_csr_free(&x);
    dg_design_spec_free(&s);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(learn_and_apply),
        cmocka_unit_test(save_load_identity),
        cmocka_unit_test(home_cluster_is_one_hot),
        cmocka_unit_test(numeric_scale_saved),
        cmocka_unit_test(phone_blocks_and_svmlight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
