/* How much of the reachable gap a run's test predictions close.
 *
 * On data from our own generator the best possible predictions are known:
 * `demographer synth --truth FILE` writes every device's exact posterior
 * given what the files show (p_male, expected_age, p_<group12>). Scored on
 * the test labels, that posterior is the floor no model can beat. A peer's
 * predictions of the same test devices (the notebook's: bench/
 * models_sklearn.py writes them in predictions.csv's format) are the
 * baseline. Per scenario and target, the closure is the share of the
 * peer-to-floor gap the run's chosen models close:
 *     closure = (peer - model) / (peer - floor)
 * 1 is the floor, 0 the peer, below 0 worse than the peer. Targets: gender
 * and group12 by log loss, age by RMSE (the posterior mean is the floor of
 * the squared error). group6 has no floor: the truth holds the Kaggle
 * groups, whose bands do not nest in the Upgrad ones. */
#ifndef DEMOGRAPHER_ACCURACY_H
#define DEMOGRAPHER_ACCURACY_H

#include "demographer/design.h"
#include "demographer/metrics.h"
#include "demographer/model.h"

typedef struct dg_closure {
    int scenario;          /* 1: devices with events, 2: without */
    dg_target target;      /* DG_TARGET_GENDER, DG_TARGET_GROUP12 or DG_TARGET_AGE */
    dg_metric metric;      /* DG_METRIC_log_loss or DG_METRIC_rmse */
    uint32_t devices;      /* test devices of the scenario */
    double model, floor;
    double peer, closure;  /* NaN without peer predictions; closure NaN when peer <= floor */
} dg_closure;

#define DG_CLOSURE_MAX 6

typedef struct dg_accuracy {
    int n;
    dg_closure row[DG_CLOSURE_MAX]; /* scenario 1 then 2; gender, group12, age */
} dg_accuracy;

/* Scores pred (the run's predictions of the test devices of l) against the
 * truth file and, when peer_path is not NULL, the peer's predictions file.
 * Every test device must be in the truth file and the peer's file (an
 * error names the first one missing); a malformed file fails with
 * FILE:LINE:COLUMN. */
int dg_accuracy_compute(const dg_labelled *l, const dg_prediction *pred, size_t npred,
                        const char *truth_path, const char *peer_path, dg_accuracy *out,
                        dg_err *err);

#endif
