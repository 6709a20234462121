/* The brief's exploratory analysis: ten tables (each later drawn as a chart),
 * computed from the (cleaned) tables of a data set. */
#ifndef DEMOGRAPHER_EDA_H
#define DEMOGRAPHER_EDA_H

#include "demographer/chart.h"
#include "demographer/dataset.h"

/* Age groups: the one table of their edges and names, for every chart, map
 * and campaign. The brief asks for two sets: the EDA's 0-24, 25-32, 33-45,
 * 46+, and the maps' 0-24, 25-32, 33+ (the campaigns' and the data's six
 * groups use these three; the data's labels write the last "32+", meaning
 * 33 and over). A group holds the ages over the previous group's upper edge
 * up to its own, inclusive: whole years 25 to 32, or a predicted 24.3. */
typedef enum dg_age_set { DG_AGES_EDA, DG_AGES_MAPS } dg_age_set;
#define DG_AGE_GROUPS4 4 /* DG_AGES_EDA */
#define DG_AGE_GROUPS3 3 /* DG_AGES_MAPS */
int dg_age_groups(dg_age_set set); /* how many groups */
/* The group of an age (0 for any age up to the first edge, a negative one
 * too), or -1 for NaN. */
int dg_age_group_of(dg_age_set set, double age);
/* "0-24", "25-32", "33-45", "46+" or "0-24", "25-32", "33+". */
const char *dg_age_group_name(dg_age_set set, int group);

/* Days of the week as the brief orders them, Sunday first. */
int dg_weekday(int64_t t); /* 0 = Sunday ... 6 = Saturday */
int dg_hour(int64_t t);
extern const char *const dg_weekday_names[7];

/* One table of numbers: rows by series, row-major, with names. */
typedef struct dg_eda_table {
    char title[160];
    char row_label[32];  /* what the rows are: "age", "hour", "brand"... */
    char unit[32];       /* of the values: "devices", "% of events"... */
    int nrows, nseries;
    char **row_names;
    char **series_names;
    double *values;      /* values[r * nseries + s] */
    /* counts[s]: series s holds counts of devices or events, as its table's
     * builder says (NULL: none does); not its name or unit. */
    unsigned char *counts;
} dg_eda_table;

#define DG_EDA_CHARTS 10
#define DG_EDA_MAX_TABLES 16

typedef struct dg_eda {
    int ntables;
    int chart_of[DG_EDA_MAX_TABLES]; /* which of the ten charts (1..10) a table belongs to */
    char slug[DG_EDA_MAX_TABLES][48]; /* file name part: "01-age" */
    dg_eda_table tables[DG_EDA_MAX_TABLES];
} dg_eda;

static inline double dg_eda_value(const dg_eda_table *t, int row, int series)
{
    return t->values[row * t->nseries + series];
}

/* Series s of t holds counts: t->counts[s] is set and its values are whole
 * numbers. Counts print as integers ("266", not "266.00") everywhere. */
int dg_eda_series_is_count(const dg_eda_table *t, int s);

/* Computes the ten tables. Needs the labels table; the event charts need
 * events, the brand charts phones, the app chart app_events. A table whose
 * input is absent is left out and said so in `missing` (may be NULL). */
int dg_eda_compute(const dg_dataset *ds, dg_eda *out, char *missing, size_t missing_cap,
                   dg_err *err);
void dg_eda_free(dg_eda *e);

/* Table i's chart as the brief asks it (kind, series, axis, colours), for the
 * PNG and for the terminal; the chart points into out and into the table. */
typedef struct dg_eda_chart {
    dg_chart chart;
    double *values;
    const char **series;
    int *colours;
    dg_series_kind *kinds;
    char subtitle[128];
} dg_eda_chart;
int dg_eda_chart_of(const dg_eda *e, int i, dg_eda_chart *out, dg_err *err);
void dg_eda_chart_free(dg_eda_chart *c);

/* Draws table i as a PNG chart (atomically): the kind, series and axis the
 * brief asks of its chart. */
int dg_eda_save_chart(const dg_eda *e, int i, const char *path, dg_err *err);

/* The file name of table i's CSV (ext "csv") or chart (ext "png"), the one
 * name every writer of them uses: "eda-01-age.csv". */
#define DG_EDA_FILE_NAME_MAX 64
void dg_eda_file_name(const dg_eda *e, int i, const char *ext, char out[DG_EDA_FILE_NAME_MAX]);

/* Writes a table as CSV (atomically). */
int dg_eda_table_write_csv(const dg_eda_table *t, const char *path, dg_err *err);

#endif
