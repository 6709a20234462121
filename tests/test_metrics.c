#include "testutil.h"

#include "demographer/metrics.h"

#include <math.h>
#include <stdlib.h>

#define NEAR(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-12)

/* Expected values marked "sklearn" were computed once with Debian's
 * python3-sklearn 1.2.1 on the same vectors:
 *   roc_auc_score(y, p), log_loss(y, p, eps=1e-15), precision_recall_fscore_support(
 *   y, p >= 0.5, average='binary'), log_loss(ym, P, labels=[0,1,2], eps=1e-15),
 *   mean_absolute_error, mean_squared_error(squared=False), r2_score,
 *   roc_curve(y, p, drop_intermediate=False).
 * (eps is given: sklearn 1.2's default, "auto", clips at float64's machine
 * epsilon instead, 2.2e-16, which gives 7.7041 on the multiclass case.) */
static const double y[10] = {1, 0, 1, 1, 0, 0, 1, 0, 1, 0};
static const double p[10] = {0.9, 0.3, 0.6, 0.6, 0.6, 0.1, 0.2, 0.0, 1.0, 0.45};

static void binary_metrics(void **state)
{
    (void)state;
    /* By hand: of the 25 positive-negative pairs, the positives win 21 with
     * the tie at 0.6 counting half: (5 + 4.5 + 4.5 + 2 + 5) / 25. */
    NEAR(dg_roc_auc(y, p, 10), 21.0 / 25.0);
    NEAR(dg_roc_auc(y, p, 10), 0.8400000000000001); /* sklearn */
    NEAR(dg_log_loss_binary(y, p, 10), 0.47126128678502444); /* sklearn: clips 0.0 and 1.0 */
    NEAR(dg_accuracy_binary(y, p, 10), 0.8);
    double pr, rc, f1;
    dg_prf_binary(y, p, 10, &pr, &rc, &f1);
    NEAR(pr, 0.8);
    NEAR(rc, 0.8);
    NEAR(f1, 0.8000000000000002);
    uint64_t cm[4];
    dg_confusion(y, NULL, p, 10, 2, cm);
    assert_int_equal(cm[0], 4); /* true 0, predicted 0 */
    assert_int_equal(cm[1], 1);
    assert_int_equal(cm[2], 1);
    assert_int_equal(cm[3], 4);
    /* One class only: AUC undefined. Clipping: a certain wrong answer costs
     * -log(1e-15), not infinity. */
    const double ones[2] = {1, 1}, zero[1] = {0}, one[1] = {1};
    assert_true(isnan(dg_roc_auc(ones, p, 2)));
    NEAR(dg_log_loss_binary(one, zero, 1), -log(1e-15));
    /* All tied: AUC one half. */
    const double same[4] = {0.5, 0.5, 0.5, 0.5}, y4[4] = {0, 1, 0, 1};
    NEAR(dg_roc_auc(y4, same, 4), 0.5);
}

static void roc_curve_points(void **state)
{
    (void)state;
    double *fpr, *tpr;
    size_t n;
    dg_roc_curve(y, p, 10, &fpr, &tpr, &n);
    /* sklearn */
    static const double efpr[] = {0.0, 0.0, 0.0, 0.2, 0.4, 0.6, 0.6, 0.8, 1.0};
    static const double etpr[] = {0.0, 0.2, 0.4, 0.8, 0.8, 0.8, 1.0, 1.0, 1.0};
    assert_int_equal(n, 9);
    for (size_t i = 0; i < n; i++) {
        NEAR(fpr[i], efpr[i]);
        NEAR(tpr[i], etpr[i]);
    }
    free(fpr);
    free(tpr);
}

static void multiclass_metrics(void **state)
{
    (void)state;
    const double ym[5] = {0, 2, 1, 2, 0};
    const double P[15] = {0.7, 0.2, 0.1, 0.1, 0.1, 0.8, 0.3, 0.3, 0.4,
                          0.0, 1.0, 0.0, 0.5, 0.25, 0.25};
    NEAR(dg_log_loss_multi(ym, P, 5, 3), 7.403142975009902); /* sklearn */
    /* By hand: -(ln .7 + ln .8 + ln .3 + ln 1e-15 + ln .5) / 5, the rows
     * renormalised after clipping (a change below 1e-14). */
    assert_true(fabs(dg_log_loss_multi(ym, P, 5, 3) -
                     -(log(0.7) + log(0.8) + log(0.3) + log(1e-15) + log(0.5)) / 5) < 1e-9);
    /* argmax: 0, 2, 2, 1, 0 → right on rows 0, 1, 4. */
    NEAR(dg_accuracy_multi(ym, P, 5, 3), 0.6);
    uint64_t cm[9];
    dg_confusion(ym, P, NULL, 5, 3, cm);
    assert_int_equal(cm[0 * 3 + 0], 2);
    assert_int_equal(cm[1 * 3 + 2], 1);
    assert_int_equal(cm[2 * 3 + 2], 1);
    assert_int_equal(cm[2 * 3 + 1], 1);
}

static void regression_metrics(void **state)
{
    (void)state;
    const double yr[5] = {20, 35, 41, 28, 30.5}, pr[5] = {22, 30, 45, 28, 31};
    NEAR(dg_mae(yr, pr, 5), 2.3);                 /* (2 + 5 + 4 + 0 + .5) / 5 */
    NEAR(dg_rmse(yr, pr, 5), sqrt(45.25 / 5));    /* (4 + 25 + 16 + 0 + .25) / 5 */
    NEAR(dg_rmse(yr, pr, 5), 3.0083217912982647); /* sklearn */
    NEAR(dg_r2(yr, pr, 5), 0.8162063363119415);   /* sklearn */
    const double flat[3] = {30, 30, 30};
    assert_true(isnan(dg_r2(flat, pr, 3)));
    dg_eval e;
    dg_evaluate(DG_TASK_REGRESSION, 0, yr, pr, 5, &e);
    NEAR(dg_eval_score(&e), dg_rmse(yr, pr, 5));
    assert_true(isnan(e.log_loss));
}

static void calibration_bins(void **state)
{
    (void)state;
    uint64_t count[4];
    double mp[4], obs[4];
    dg_calibration(y, p, 10, 4, count, mp, obs);
    /* bins [0,.25): .1 .2 0  [.25,.5): .3 .45  [.5,.75): .6 .6 .6  [.75,1]: .9 1 */
    assert_int_equal(count[0], 3);
    assert_int_equal(count[1], 2);
    assert_int_equal(count[2], 3);
    assert_int_equal(count[3], 2);
    NEAR(mp[0], 0.1);
    NEAR(obs[0], 1.0 / 3);
    NEAR(obs[1], 0);
    NEAR(obs[2], 2.0 / 3);
    NEAR(obs[3], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binary_metrics),
        cmocka_unit_test(roc_curve_points),
        cmocka_unit_test(multiclass_metrics),
        cmocka_unit_test(regression_metrics),
        cmocka_unit_test(calibration_bins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
