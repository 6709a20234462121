/* The inside of a workbench job, for the files that define job kinds
 * (jobs_data.c, jobs_sheet.c, jobs_eda.c, jobs_analysis.c, jobs_report.c).
 * A kind is a table of operations: start (a function of the kind's file that
 * checks the arguments and fills the job), run (on the worker thread; reads
 * the model, changes nothing), finish (on the main thread, after a run that
 * succeeded: applies the result) and free; a new kind touches its file and
 * the action table. Curses-free. */
#ifndef DEMOGRAPHER_UI_MODEL_JOB_H
#define DEMOGRAPHER_UI_MODEL_JOB_H

#include "model.h"

typedef struct job_kind {
    int (*run)(model_job *j, const dg_progress *p, dg_err *err);
    /* DG_ERR with err set: the result could not be applied (logged as failed). */
    int (*finish)(model *m, model_job *j, dg_err *err);
    void (*free)(model_job *j); /* the kind's own state; NULL: none */
} job_kind;

struct model_job {
    const job_kind *kind; /* its operations */
    void *data;           /* the kind's own state (jobs_*.c) */
    int id;
    char line[1400];   /* the action as logged */
    char title[128];
};

/* A job of action id with its arguments (for the log line) and kind. */
model_job *model_job_new(int id, int argc, char **argv, const job_kind *kind);
/* need_args: DG_ERR unless min <= argc <= max, saying what id takes. */
int model_need_args(int id, int argc, int min, int max, dg_err *err);
/* A sheet's column by name, or -1 with err set. */
int model_find_column(const dg_table *t, const char *name, dg_err *err);
/* The current pane's top sheet, or NULL with err saying id needs one. */
sheet *model_need_sheet(model *m, int id, dg_err *err);
/* The status line's message. */
void model_say(model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What the data jobs (jobs_data.c) share with model.c: close the Load
 * pane's sheets; forget what apply made and the preview counts; free a clean
 * state; copy a rule list; the MySQL settings read once from sources.conf, one
 * field set in c (or c left as it was), a source by its word (-1: none). */
void model_close_sheets(model *m);
void model_clean_forget_data(model *m);
void model_preview_clear(model *m);
void model_clean_state_free(clean_state *c);
void model_rules_copy(dg_rules *dst, const dg_rules *src);
int model_need_db(model *m, dg_err *err);
int model_set_db_field(dg_mysql_config *c, const char *field, const char *value, dg_err *err);
int model_set_ch_field(dg_ch_config *c, const char *field, const char *value, dg_err *err);
int model_source_by_name(const char *name);
/* source_names as a message says them: "dir, mysql, mysql-s3,
 * mysql-pushdown or clickhouse-pushdown", in buf of cap bytes. */
const char *model_source_names(char *buf, size_t cap);
/* jobs_data.c: load (a directory, MySQL with or without S3, or ClickHouse), and
 * clean-preview and clean-apply. NULL with err set when the arguments or the
 * state do not allow it. */
model_job *load_start(model *m, int id, int argc, char **argv, dg_err *err);
model_job *clean_start(model *m, int id, int argc, char **argv, dg_err *err);

/* What the EDA jobs share with model.c: forget the EDA tables and the
 * features, free sheet tables, show one device's features as a sheet. */
void model_eda_clear(model *m);
/* Forget a mysql-pushdown load's features. */
void model_forget_pushed(model *m);
void model_free_tabs(dg_table *tabs, int n);
int model_show_device(model *m, int64_t device, dg_err *err);
/* The EDA and sheet actions (device-features at once when every device's
 * features are built for the data shown; a frequency sheet sorts at once):
 * model_actions.h's eda_context_action and sheet_context_action. */

/* jobs_analysis.c: geo-sample, dbscan-run and dbscan-sweep, models-train,
 * campaigns-predict. NULL with err set when the arguments or the state do
 * not allow it. */
model_job *geo_sample_start(model *m, int id, int argc, char **argv, dg_err *err);
model_job *dbscan_start(model *m, int id, int argc, char **argv, dg_err *err);
model_job *models_train_start(model *m, int id, int argc, char **argv, dg_err *err);
model_job *campaigns_predict_start(model *m, int id, int argc, char **argv, dg_err *err);
/* jobs_report.c: report-write, the session's report in <out>/report. */
model_job *report_write_start(model *m, int id, int argc, char **argv, dg_err *err);

#endif
