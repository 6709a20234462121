/* What the files of training share (private to src/): the state of one
 * dg_train call and the steps the other files do for it. train.c holds the
 * grids, the cross-validation and the whole run; train_export.c the model
 * directory it writes; train_charts.c the charts; train_runs.c the runs
 * files; model_dir.c reads a model directory back. */
#ifndef DEMOGRAPHER_TRAIN_IMPL_H
#define DEMOGRAPHER_TRAIN_IMPL_H

#include "demographer/train.h"

/* Design variants of a scenario: 1 has binary bags, tf-idf bags (both with
 * log1p counts), the phone blocks alone, and the chosen bags with raw counts
 * and with hour and weekday shares (dg_count_form); 2 has the phone blocks
 * alone. */
enum { V_BINARY, V_TFIDF, V_PHONE, V_RAW, V_SHARES, NVARIANTS };
struct scenario;
/* The bag weighting and count form of variant v ("none" for the phone
 * blocks), as runs, meta.txt and the design files name them. */
const char *train_variant_bags(const struct scenario *S, int v);
const char *train_variant_counts(const struct scenario *S, int v);

typedef struct scenario {
    int s;
    uint32_t ntr, nte;
    uint32_t *tr_lab, *te_lab;   /* indices into the dg_labelled */
    uint32_t *tr_rows, *te_rows; /* rows of the dg_features */
    uint8_t *fold;               /* per train row */
    int has[NVARIANTS];
    dg_design_spec spec[NVARIANTS];
    dg_csr xtr[NVARIANTS], xte[NVARIANTS];
    /* Every device of the scenario in the chosen bag variant's design, labels
     * unread (dg_trainset.unlabelled); built for scenario 1 once the bags
     * are chosen. */
    int has_all;
    dg_csr xall;
} scenario;

typedef struct chosen {
    int have;
    size_t run;       /* index into the runs */
    const dg_model_family *family;
    void *model;
    int variant;
    double cv;
    double *test_pred;
    dg_params params;
    /* The job the model and test_pred came from: they go back to it when a
     * later job is chosen instead, since a blend or group12-sum job may be
     * reading them (train.c). */
    struct job *from;
} chosen;

typedef struct trainer {
    const dg_dataset *ds;
    const dg_features *f;
    const dg_train_opts *o;
    dg_labelled lab;
    scenario sc[3];
    int folds;
    dg_train_result *res;
    chosen ch[3][DG_TARGET_COUNT];
    char *staging, *staging_runs, *staging_models;
    double steps_done, steps_total;
    uint64_t checksum;
    int bags; /* scenario 1's variant for the families that read the bags (bags and counts) */
    unsigned blend_targets; /* the targets with a blend job (bit 1u << target) */
} trainer;

/* Appends a run to the result (train.c). */
void train_add_run(dg_train_result *r, const dg_run *run);

/* train_export.c: the chosen model of (s, t) into models/, the test devices,
 * split.csv, and the row of the chosen models of both scenarios. */
int train_export_chosen(trainer *T, int s, dg_target t, dg_err *err);
int train_export_test_devices(trainer *T, dg_err *err);
int train_write_split(trainer *T, dg_err *err);
void train_add_combined(trainer *T, dg_target t);
int train_export_designs(trainer *T, const char *dir, dg_err *err);

/* train_charts.c: the charts' numbers into the result, and their PNGs with
 * charts on. */
int train_chart_roc(trainer *T, dg_err *err);
int train_chart_calibration(trainer *T, dg_err *err);
int train_chart_residuals(trainer *T, int s, dg_err *err);

#endif
