/* predictions.csv: what the models predicted per device, the file the
 * campaigns, the API's precomputed mode and the reports share.
 *
 * Header: device_id,scenario,p_female,age,<the 6 group6 names>,<the 12
 * group12 names> (model.h's names). Numbers are written in the shortest form
 * that reads back as the same double, so a write/read round trip is exact;
 * a NaN (a value a model could not give) is an empty field. */
#ifndef DEMOGRAPHER_PREDICTION_H
#define DEMOGRAPHER_PREDICTION_H

#include "demographer/model.h"

#define DG_PREDICTION_COLUMNS (4 + 6 + 12)

int dg_predictions_write(const dg_prediction *p, size_t n, const char *path, dg_err *err);

/* Reads the whole file into *out (the caller frees it). Strict: any header,
 * field count or number that is not as written fails with
 * "FILE:LINE:COLUMN: expected ..., found ...". */
int dg_predictions_read(const char *path, dg_prediction **out, size_t *n, dg_err *err);

/* The Kaggle competition's submission file: the header and column order of
 * sample_submission.csv (device_id, then the 12 groups in dg_group12_names
 * order, which is the competition's), one row per prediction in the order
 * given, each row's 12 probabilities scaled to sum to 1. A prediction without
 * the 12 group probabilities (NaN, or a sum that is not positive) fails,
 * naming the device. Written atomically. */
int dg_kaggle_submission_write(const dg_prediction *p, size_t n, const char *path, dg_err *err);

#endif
