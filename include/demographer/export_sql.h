/* export-sql: the chosen linear models of a model directory as SQL, so that
 * the engine that holds the data scores every device itself.
 *
 * The script (plain SQL of the subset the README lists; every name from a
 * fixed list, every string a hex literal, so no text of the data or of the
 * user is ever part of a statement's syntax):
 *   - dg_device_features (device_id, feature, value): the per-device feature
 *     rows the models read, in long form: the dense columns by name (value
 *     NULL where the features have none), brand=, model=, home=, app=,
 *     label= rows with their raw values. With features, the script fills it;
 *     without, it only creates it when absent (the rows are loaded apart).
 *   - dg_model_columns: per model, every design column: the feature row it
 *     reads and how the design scales it (one-hot, log1p and
 *     standardisation, missing indicator, binary or tf-idf bag with its idf);
 *   - dg_model_weights (the class weights of a column side by side, w0 ...
 *     w11; the biases are column -1), dg_model_sums (group12-sum's table);
 *   - per model: dg_norms (the tf-idf norms), the scoring SELECT into
 *     dg_scores (z0 ... z11 per device), and one INSERT ... SELECT of the
 *     softmax into dg_predictions (device_id, scenario, target, class,
 *     probability; class is the output column as predict gives it: 0 =
 *     P(female) for gender).
 * The design's float rounding is repeated with CAST(... AS FLOAT), so the
 * engine's probabilities equal predict's to rounding (tested to 1e-12). */
#ifndef DEMOGRAPHER_EXPORT_SQL_H
#define DEMOGRAPHER_EXPORT_SQL_H

#include "demographer/features.h"
#include "demographer/textbuf.h"
#include "demographer/train.h"

typedef struct dg_sql_export {
    int nmodels;        /* models written */
    int nrefused;       /* chosen models without an SQL form, named in `refused` */
    char refused[1024]; /* "s1 age (xgboost), s2 gender (prior)" */
    uint64_t nfeature_rows;
} dg_sql_export;

/* Writes the script for the models of d that have an SQL form (scenario 0:
 * both; target -1: all) into out, and the feature rows of f when f is not
 * NULL. Fails when no selected model has an SQL form (the message names
 * each model and its family), or when an explicitly selected one (a given
 * scenario and target) has none. */
int dg_export_sql(const dg_model_dir *d, int scenario, int target, const dg_features *f,
                  dg_textbuf *out, dg_sql_export *rep, dg_err *err);

/* The same script for ClickHouse (18.16 and later; export-sql --dialect
 * clickhouse): MergeTree tables, one JOIN per SELECT, unhex keys, every
 * double as its 8 bytes (ClickHouse's float parser is not correctly
 * rounded). Run it with clickhouse-client --multiquery. */
int dg_export_sql_clickhouse(const dg_model_dir *d, int scenario, int target,
                             const dg_features *f, dg_textbuf *out, dg_sql_export *rep,
                             dg_err *err);

#endif
