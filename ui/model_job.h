/* The inside of a workbench job, for the files that define job kinds
 * (model.c's, jobs_analysis.c's). A kind is a table of operations: start
 * (a function of the kind's file that checks the arguments and fills the
 * job), run (on the worker thread; reads the model, changes nothing), finish
 * (on the main thread, after a run that succeeded: applies the result) and
 * free; a new kind touches its file and the action table. Curses-free. */
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
    void *data;           /* the kind's own state (jobs_analysis.c) */
    int id;
    char line[1400];   /* the action as logged */
    char title[128];
    /* load */
    char *dir;
    int db, s3;            /* from MySQL (and the S3 objects) instead of dir */
    dg_sources_config dbcfg; /* ...its settings and password (wiped when freed) */
    char s3paths[2][4096];
    dg_load_opts opts;
    dg_dataset ds;
    dg_tablestats stats[DG_T_COUNT];
    /* clean-apply: the rules applied to a fresh load (ds) and what each did */
    dg_rules rules;
    dg_rule_effect *effects;
    /* clean-apply, clean-preview: the loaded tables to clean a copy of (MySQL) */
    const dg_dataset *src;
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

/* What the EDA jobs share with model.c: forget the EDA tables and the
 * features, free sheet tables, show one device's features as a sheet. */
void model_eda_clear(model *m);
void model_free_tabs(dg_table *tabs, int n);
int model_show_device(model *m, int64_t device, dg_err *err);
/* jobs_eda.c: eda-compute, device-features (at once when every device's
 * features are built for the data shown). */
int eda_action(model *m, int id, int argc, char **argv, model_job **job, dg_err *err);

/* jobs_sheet.c: sort, sort-desc, freq, search, search-next on the top sheet
 * (a frequency sheet sorts at once: no job). */
int sheet_action(model *m, int id, int argc, char **argv, model_job **job, dg_err *err);

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
