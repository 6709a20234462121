/* The labelled devices of a data set's features, with their targets and
 * their train/test split; and each target's name, task and classes. */
#ifndef DEMOGRAPHER_LABELLED_H
#define DEMOGRAPHER_LABELLED_H

#include "demographer/dataset.h"
#include "demographer/features.h"
#include "demographer/model.h"

/* The labelled devices of f with their targets and split. */
typedef struct dg_labelled {
    uint32_t n;
    uint32_t *row;       /* row in the dg_features */
    int64_t *device_id;
    int8_t *female;      /* 1 = female */
    double *age;
    int8_t *group6, *group12;
    int8_t *is_test;
    int8_t *has_events;  /* scenario 1 when 1, else 2 */
    int from_mapping;    /* the split is the data set's mapping file */
    uint32_t unmapped;   /* labelled devices the mapping file does not list (taken as train) */
    uint32_t skipped;    /* labels rows without a usable gender or age, or without features */
    char split_text[160]; /* how the split was made, for every report */
} dg_labelled;

/* Targets from the labels table (gender F/M, age; both group codes computed
 * from them). The split: the mapping file (table `split`, its device ids
 * already reconciled to the exact ids) when present, else a stratified
 * (by group12) seeded split with test_share of each group in the test. */
int dg_labelled_build(const dg_dataset *ds, const dg_features *f, double test_share,
                      uint64_t seed, dg_labelled *out, dg_err *err);
void dg_labelled_free(dg_labelled *l);
/* The value of target t for labelled device i, as a model's y. */
double dg_labelled_y(const dg_labelled *l, dg_target t, uint32_t i);

/* The task, classes and name of each target. */
dg_task dg_target_task(dg_target t);
int dg_target_nclasses(dg_target t);
const char *dg_target_name(dg_target t);
int dg_target_by_name(const char *name);

#endif
