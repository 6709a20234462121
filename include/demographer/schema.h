/* The tables of the data, in both shapes it comes in (Kaggle's CSV files and
 * the Upgrad capstone's MySQL tables + S3 objects, exported as files), with
 * the file names and header names each may have. */
#ifndef DEMOGRAPHER_SCHEMA_H
#define DEMOGRAPHER_SCHEMA_H

#include "demographer/csv.h"

/* The two shapes the data comes in. */
typedef enum dg_shape { DG_SHAPE_KAGGLE = 0, DG_SHAPE_UPGRAD = 1 } dg_shape;

const char *dg_shape_name(dg_shape s);

typedef enum dg_table_id {
    DG_T_LABELS,           /* gender_age_train.csv | train.csv */
    DG_T_TEST,             /* gender_age_test.csv */
    DG_T_PHONES,           /* phone_brand_device_model.csv | brand_device.csv */
    DG_T_EVENTS,           /* events.csv */
    DG_T_APP_EVENTS,       /* app_events.csv */
    DG_T_APP_LABELS,       /* app_labels.csv | app_labels_new.txt */
    DG_T_LABEL_CATEGORIES, /* label_categories.csv */
    DG_T_SPLIT,            /* train_test_split.csv: the mapping file */
    DG_T_COUNT
} dg_table_id;

typedef struct dg_tablespec {
    const char *name;        /* the table's name in demographer (and the --file key) */
    const char *files[5];    /* file names it is found under, in order of preference */
    const char *upgrad_file; /* a file name that only the Upgrad shape uses, or NULL */
    const char *what;        /* one line for listings */
    int ncols;
    dg_colspec cols[DG_MAX_COLS];
} dg_tablespec;

extern const dg_tablespec dg_tables[DG_T_COUNT];

/* The table id for a name, or -1. */
int dg_table_by_name(const char *name);

#endif
