/* Design matrices: a SPEC learnt on the train rows of a dg_features (the
 * vocabularies and the scaling of numeric columns), then APPLIED to any rows
 * of any dg_features to give the CSR matrix a model family fits on. The spec
 * is saved as text next to the model, and applying it depends only on the
 * spec and the features, never on the training data, so the HTTP API can
 * apply it to one unseen device.
 *
 * Columns, in this order (a block is empty when not in the spec's blocks):
 *   brand one-hot      "brand=NAME"       brands seen in >= min_count train rows
 *   model one-hot      "model=BRAND/MODEL" (models repeat across brands, so the
 *                      key is the pair); >= min_count train rows
 *   numeric            every dense feature column, transformed: the count
 *                      columns in the spec's count form (below; log1p, raw
 *                      or with the hours and weekdays as shares alone), the
 *                      other non-negative ones (distances, the located
 *                      share) log1p, the hour/weekday shares and the
 *                      coordinates as they are; then standardised with the
 *                      train mean and sd; NaN (undefined: a device without
 *                      places) becomes 0 = the train mean; then, unless the
 *                      form is shares, each hour's and weekday's event count
 *                      "hour_HH*events", "weekday_DAY*events" (the share
 *                      times the events, in the count form, standardised:
 *                      the shares alone do not say how many events back
 *                      them, and a device's hours weigh in its posterior by
 *                      count), and
 *   missing indicators one column "NAME:missing" = 1 per numeric column that
 *                      had a NaN in a train row. Mean + indicator, not the
 *                      median alone: whether a device has places at all is
 *                      informative, and the indicator lets a linear model use
 *                      it instead of mistaking it for a typical place.
 *   home cluster       "cluster_home=K" one-hot (with the numeric block): the
 *                      device's home DBSCAN cluster is a category, not a
 *                      quantity, so it is not scaled but one-hot over the
 *                      clusters that are home to >= min_count train rows
 *                      (-1, "all noise", is a category too)
 *   apps               installed-app bag over apps on >= min_count train rows
 *   labels             label bag (label of an installed app) likewise
 * Bags are binary (1 when present) or tf-idf (presence * idf, idf =
 * ln((1+n)/(1+df)) + 1 as sklearn's smooth idf, each bag block L2-normalised
 * per row); the trainer picks one by cross-validation.
 *
 * Brand and model columns are always 1.0, and a row holds at most one of
 * each, brand before model: the brand/model prior baseline reads a design of
 * the phone blocks alone by that rule (a row's lower column is its brand, a
 * second one its model; a brand below min_count leaves its model out too,
 * since a model's count never exceeds its brand's). */
#ifndef DEMOGRAPHER_DESIGN_H
#define DEMOGRAPHER_DESIGN_H

#include "demographer/dataset.h"
#include "demographer/features.h"
#include "demographer/labelled.h" /* the labelled set and split, split from the design */
#include "demographer/model.h"

/* Blocks of a design. Scenario 1 (devices with events): all of them;
 * Scenario 2 (devices without events): the phone blocks. */
#define DG_BLOCK_BRAND 1u
#define DG_BLOCK_MODEL 2u
#define DG_BLOCK_NUMERIC 4u
#define DG_BLOCK_APPS 8u
#define DG_BLOCK_LABELS 16u
#define DG_BLOCKS_PHONE (DG_BLOCK_BRAND | DG_BLOCK_MODEL)
#define DG_BLOCKS_ALL 31u

typedef enum dg_bag_weight { DG_BAG_BINARY = 0, DG_BAG_TFIDF = 1 } dg_bag_weight;

/* How the count columns (events, active days, events per day, places, app
 * activity, the apps of each super-category, and each hour's and weekday's
 * events) enter: log1p (then scaled), raw (scaled), or, for the hours and
 * weekdays, their shares alone (no per-hour or per-weekday count; the other
 * counts log1p), or raw and log1p side by side. Which one a data set wants depends on how its counts
 * arise, so the trainer lets cross-validation choose (train.c). The form
 * lives in the spec's columns (each numeric column's log1p flag, the
 * "A*events" products present or not), so applying a saved spec needs no
 * more than design format 2 holds. */
typedef enum dg_count_form {
    DG_COUNTS_LOG1P = 0,
    DG_COUNTS_RAW = 1,
    DG_COUNTS_SHARES = 2,
    /* Each count column twice, raw and log1p, side by side: the penalty
     * weighs the two forms per column instead of the trainer choosing one
     * for every column (a count that is Poisson-like in one block and
     * heavy-tailed in another gets both). */
    DG_COUNTS_RAW_LOG1P = 3,
    DG_COUNTS_FORMS
} dg_count_form;
extern const char *const dg_count_form_names[DG_COUNTS_FORMS];
/* -1 when the name is none of dg_count_form_names. */
int dg_count_form_by_name(const char *name);

typedef struct dg_design_numeric {
    char *name;
    int log1p;        /* log(1 + x) before scaling */
    double mean, sd;  /* of the (transformed) defined train values; sd 1 when 0 */
    int missing_col;  /* its indicator column offset within the indicator block, or -1 */
} dg_design_numeric;

/* The model block's strings are BRAND, this byte, MODEL; the home cluster
 * block reads this dense column (export_sql.c writes the same keys). */
#define DG_DESIGN_MODEL_SEP '\x1f'
#define DG_DESIGN_HOME_COLUMN "cluster_home"
/* A numeric column named "A*B" is the product of dense columns A and B. */
#define DG_DESIGN_PRODUCT_SEP '*'

typedef struct dg_design_spec {
    unsigned blocks;
    dg_bag_weight bags;
    dg_count_form counts;   /* not a line of design.txt: load reads it from the columns */
    double numeric_scale;   /* dg_design_scale_numeric's; not a line of design.txt either:
                               folded into the numeric columns' sd (1 after a load) */
    uint32_t min_count;
    uint64_t fingerprint;   /* dg_features_fingerprint of the features it was learnt on */
    dg_strpool brands;      /* id = column within the brand block */
    dg_strpool models;      /* "BRAND\x1fMODEL"; id = column within the model block */
    int nnumeric, nmissing;
    dg_design_numeric *numeric;
    uint32_t nhome;
    int64_t *home;          /* home cluster per column of its block, ascending */
    uint32_t napps, nlabels;
    int64_t *apps;          /* app id per column of the app block */
    double *app_idf;
    int64_t *labels;        /* label id per column of the label block */
    double *label_idf;
} dg_design_spec;

void dg_design_spec_init(dg_design_spec *s);
void dg_design_spec_free(dg_design_spec *s);

/* The feature layout a spec expects: a hash of the dense column names in
 * order and the bags' presence. A model directory whose fingerprint differs
 * from the features' is refused. */
uint64_t dg_features_fingerprint(const dg_features *f);

/* Learns a spec from rows[0..nrows) of f. */
int dg_design_learn(dg_design_spec *s, const dg_features *f, const uint32_t *rows,
                    uint32_t nrows, unsigned blocks, dg_bag_weight bags, dg_count_form counts,
                    uint32_t min_count, dg_err *err);
/* Multiplies every numeric column's value by scale (> 0) by dividing its
 * sd: under one L2 penalty for every column, the numeric block's weights
 * are penalised 1/scale^2 as much as the one-hot blocks'. design.txt keeps
 * the divided sd, so predict, serve and export-sql apply it unchanged. */
void dg_design_scale_numeric(dg_design_spec *s, double scale);
/* Applies the spec to rows[0..nrows) of f: out (a fresh dg_csr, freed with
 * dg_csr_free) has nrows rows and dg_design_ncols columns, each row's
 * columns ascending. Fails when f's layout fingerprint differs from the
 * spec's. */
int dg_design_apply(const dg_design_spec *s, const dg_features *f, const uint32_t *rows,
                    uint32_t nrows, dg_csr *out, dg_err *err);
uint32_t dg_design_ncols(const dg_design_spec *s);
/* The name of column c ("brand=Xiaomi", "events", "events:missing",
 * "app=123", "label=7") into buf. */
void dg_design_colname(const dg_design_spec *s, uint32_t c, char *buf, size_t size);

/* The spec as text and back (the model directory's design.txt). */
int dg_design_save(const dg_design_spec *s, const char *path, dg_err *err);
int dg_design_load(dg_design_spec *s, const char *path, dg_err *err);

void dg_csr_free(dg_csr *m);
/* Rows rows[0..n) of m as a new matrix. */
void dg_csr_take_rows(const dg_csr *m, const uint32_t *rows, uint32_t n, dg_csr *out);
/* m with nextra columns appended (m->ncols ..): row r's values are
 * extra[r * nextra ..], its zeros left out. */
void dg_csr_append_columns(const dg_csr *m, const float *extra, uint32_t nextra, dg_csr *out);

/* Writes x with labels y in svmlight/libsvm format ("y idx:val ...",
 * indices from 1), atomically. */
int dg_design_write_svmlight(const dg_csr *x, const double *y, const char *path, dg_err *err);

#endif
