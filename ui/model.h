/* The workbench's state and every action that changes it, without curses:
 * the chosen data directory and the files found there, the loaded data set
 * and its per-table statistics, the current pane, the stack of sheets (table
 * views and frequency tables) with their cursors, the cleaning rules with
 * what they did and the data they made (Clean pane), the EDA tables (EDA
 * pane), the map (Geo pane, model_geo.h), the trainings and their runs
 * (Models pane, model_models.h), the campaigns (Campaigns pane,
 * model_campaigns.h), and the session log.
 *
 * The screen (app.c and the panes) draws this state and turns keys into
 * actions; `demographer replay` runs the same actions from a session log
 * without a screen. Long actions (load, sort, search, frequency, clean-apply,
 * eda-compute, geo-sample, dbscan-run, dbscan-sweep, models-train,
 * campaigns-predict) come back as
 * a job: its work reads the model but never changes it, so it can run on a
 * worker thread while the screen draws, and model_finish applies its result
 * on the main thread (a cancelled or failed job changes nothing). */
#ifndef DEMOGRAPHER_UI_MODEL_H
#define DEMOGRAPHER_UI_MODEL_H

#include "actions.h"
#include "model_campaigns.h"
#include "model_dbscan.h"
#include "model_geo.h"

#include "demographer/clean.h"
#include "demographer/dataset.h"
#include "demographer/describe.h"
#include "demographer/eda.h"
#include "demographer/features.h"
#include "demographer/sources_config.h"

#include <stdio.h>

typedef enum pane_id {
#define PANE(id, name, title, key, ops) PANE_##id,
#include "panes.def"
#undef PANE
    PANE_COUNT
} pane_id;

/* "Load"..., and the lower-case name used in saved file names. */
extern const char *const pane_titles[PANE_COUNT];
extern const char *const pane_names[PANE_COUNT];

/* Where the Load pane loads from: a directory, the MySQL tables, the MySQL
 * tables with the app labels and label categories from the two S3 objects,
 * the MySQL server's per-device aggregates (features --db: the event tables
 * stay on the server; the small tables come whole), or a ClickHouse
 * cluster's (features --db --engine clickhouse). */
typedef enum load_source {
    SRC_DIR,
    SRC_MYSQL,
    SRC_MYSQL_S3,
    SRC_MYSQL_PUSHDOWN,
    SRC_CH_PUSHDOWN,
    SRC_COUNT
} load_source;

/* "dir", "mysql", "mysql-s3", "mysql-pushdown", "clickhouse-pushdown": the
 * words of the source and load actions. */
extern const char *const source_names[SRC_COUNT];
/* The fields db-set takes for a MySQL source and for ClickHouse, in the
 * order the e key offers them; NULL-ended. */
extern const char *const db_fields[];
extern const char *const ch_fields[];
/* Those of source src (db_fields for the directory too). */
const char *const *model_fields(load_source src);
/* "MySQL" or "ClickHouse": the engine of a database source, as messages
 * name it. */
const char *model_engine_name(load_source src);

typedef enum sheet_kind { SHEET_TABLE, SHEET_FREQ } sheet_kind;

/* Columns of a frequency sheet. */
enum { FREQ_VALUE, FREQ_COUNT, FREQ_PERCENT, FREQ_HISTOGRAM, FREQ_NCOLS };
/* ...by the names sort and sort-desc take there ("value" or the counted
 * column's name; the last three sort by count). */
extern const char *const freq_columns[FREQ_NCOLS];

typedef struct sheet {
    sheet_kind kind;
    int table;           /* dg_table_id */
    int col;             /* SHEET_FREQ: the column counted */
    uint32_t *order;     /* SHEET_TABLE: row order (NULL: the table's) */
    int sort_col;        /* -1: unsorted */
    int sort_desc;
    dg_freq freq;        /* SHEET_FREQ */
    uint64_t nrows;
    uint64_t cur;        /* cursor: position in the sheet's order */
    uint64_t top;        /* first position shown (kept by the screen) */
    int ccol;            /* cursor column (SHEET_FREQ: a FREQ_ column) */
    int left;            /* first column shown (kept by the screen) */
    uint32_t wide;       /* columns widened to their whole text (sheet-widen), bit per
                            column (a frequency sheet: its value, bit 0) */
    int search_col;      /* the last search, for search-next (-1: none) */
    char search[256];
    int eda;             /* 1: table is an index into model.eda_tabs, not the data set;
                            2: the sheet shows model.dev_tab (one device's features) */
} sheet;

#define MODEL_MAX_SHEETS 16

/* The Clean pane's state: the rules being edited, and what the last apply
 * used, did and made. Kept whole so that undo can swap in the one before. */
typedef struct clean_state {
    dg_rules rules;            /* the rules shown and edited */
    dg_rules applied;          /* the rules of the last apply (n == 0: none yet) */
    dg_rule_effect *effects;   /* applied.n effects */
    dg_dataset cleaned;        /* the data that apply made */
    int have_cleaned;
} clean_state;

typedef struct model {
    pane_id pane;
    char *dir;                     /* the chosen data directory, absolute */
    dg_dataset found;              /* what dg_dataset_find saw there (no tables) */
    int have_found;
    dg_dataset ds;                 /* the loaded data */
    int loaded;
    dg_tablestats stats[DG_T_COUNT];
    int load_cur;                  /* cursor in the Load pane's table list */
    load_source src;               /* what load reads */
    dg_sources_config db;          /* MySQL, ClickHouse and S3 settings: sources.conf,
                                      then db-set */
    int have_db;                   /* ...sources.conf has been read into db */
    char *password;                /* typed in the masked field: memory only, never logged,
                                      wiped when a load takes it */
    load_source from_db;           /* the database source ds came from (clean-apply cannot
                                      reread it), SRC_DIR (0) for a directory */
    sheet sheets[MODEL_MAX_SHEETS];
    int nsheets;
    clean_state cl;                /* the Clean pane */
    clean_state undo;              /* the state before the last apply */
    int can_undo;
    int clean_cur;                 /* cursor in the rule list */
    dg_rule_effect *preview;       /* clean-preview: what each of cl.rules would change (NULL:
                                      none, or the rules changed since) */
    dg_eda eda;                    /* the EDA tables */
    dg_table eda_tabs[DG_EDA_MAX_TABLES]; /* ...as tables, for the sheet view */
    int have_eda;
    int eda_from_cleaned;          /* computed from the cleaned data, not the loaded */
    unsigned data_gen;             /* bumped when the data EDA reads changes (apply, undo) */
    unsigned eda_gen;              /* ...and its value when the EDA tables were computed */
    int eda_cur;                   /* cursor in the EDA pane's table list */
    sheet eda_sheet;               /* the EDA table (or device) open as a sheet */
    dg_features pushed;            /* a mysql-pushdown or clickhouse-pushdown load's
                                      features (the Clean pane's rules applied at the load) */
    int have_pushed;
    dg_features feat;              /* every device's features, built on demand */
    int have_feat;
    unsigned feat_gen;             /* data_gen when they were built */
    dg_table dev_tab;              /* one device's features, for the sheet view */
    int eda_open;
    geo_state geo;                 /* the Geo pane: the sample and the map shown */
    dbscan_state dbs;              /* ...and its DBSCAN views: the pair tuned, run, sweep */
    models_state models;           /* the Models pane: settings, the last training, its table */
    campaigns_state camp;          /* the Campaigns pane: rules, predictions, reach */
    int chart[PANE_COUNT];         /* chart-toggle: the pane shows its view as a chart */
    char *out_dir;                 /* where saved PNGs go */
    int use_snapshot;
    char *cache_dir;               /* NULL: the library's default */
    FILE *log;                     /* the session log, or NULL */
    int keep_workspace;            /* write <out>/workspace/ after each change (workspace.h) */
    int restoring;                 /* the workspace's actions run: the log gets them as
                                      comments (replay runs the session they continue) */
    char *workspace_text;          /* ...what it last wrote */
    int busy;                      /* a job is out (refuses data actions until it finishes) */
    char msg[1200];                /* what the last action did, for the status line */
    char saved[1100];              /* the last file saved */
} model;

typedef struct model_job model_job;

void model_init(model *m, const char *out_dir);
/* The assets the panes read (basemap, super-categories, default campaign
 * rules), found by asset(name): the caller's lookup (the CLI's cli_asset),
 * so that the UI depends on no CLI header. */
typedef const char *(*model_asset_fn)(const char *name);
void model_use_assets(model *m, model_asset_fn asset);
void model_free(model *m);

/* Opens (appending; creating its directory) the session log. */
int model_open_log(model *m, const char *path, dg_err *err);
/* The default log path: $XDG_STATE_HOME/demographer/session.log, or
 * ~/.local/state/demographer/session.log (freed by the caller). */
char *model_default_log(void);

/* Which context's keys are live: "load", "clean", "eda", "sheet" or "global". */
const char *model_context(const model *m);
/* The current pane's top sheet (the Load pane's stack, the EDA pane's open
 * table), or NULL. */
sheet *model_sheet(model *m);
/* The table a sheet shows (its data set table). */
const dg_table *model_sheet_table(const model *m, const sheet *s);

/* Runs an action with its arguments. Immediate actions are done on return;
 * long ones set *job, which the caller runs (model_job_run, on any thread)
 * and hands back to model_finish. Actions the screen handles itself (help,
 * quit, prompts...) do nothing here. On failure err says why and the model is
 * unchanged. Every action that succeeds is appended to the log. */
int model_do(model *m, int id, int argc, char **argv, model_job **job, dg_err *err);

/* The job's work; reads the model, changes nothing in it. */
int model_job_run(model_job *j, const dg_progress *p, dg_err *err);
/* What the job is doing, for the status line ("loading", "sorting ..."). */
const char *model_job_title(const model_job *j);
/* Applies a job that succeeded (rc == DG_OK), logs it, frees the job; a failed
 * or cancelled one only leaves a message and a comment in the log. */
void model_finish(model *m, model_job *j, int rc, const dg_err *err);

/* The masked field's password: kept (copied) until the next database load
 * takes it, then wiped; choosing another engine's source forgets it. Not an action: a password is never an argument, so it
 * never reaches the session log; the db-password action that follows only
 * says that one was typed. NULL or "" forgets it. */
void model_set_password(model *m, const char *password);
/* A field's current value as db-set takes it ("3306" for the port), of the
 * chosen source's engine (model_fields). */
const char *model_db_field(const model *m, const char *field, char *buf, size_t cap);

/* A rule's parameters as rule files and rule-set write them ("from=... to=...",
 * "name=..."), "" for a rule without any. Returns buf. */
const char *model_rule_params(const dg_rule *r, char *buf, size_t cap);

/* Splits a log line into words (shell-like: '...', "..." and backslash
 * escapes); argv points into a copy owned by *buf. Returns the word count, or
 * -1 with err set on an unterminated quote. */
int model_split(const char *line, char ***argv, char **buf, dg_err *err);
/* Appends s to out quoted so that model_split reads it back as one word. */
void model_quote(const char *s, char *out, size_t cap);

/* Marks the session as continuing the one before it in the log (the
 * workbench restored its workspace), so that replay runs both. */
void model_log_continues(model *m);

/* What a replay ran, for its report. */
typedef struct model_replay_info {
    int first_line, last_line; /* of the log, the sessions replayed */
    int sessions;              /* how many (a session and those that continue it) */
    int actions;               /* the actions run */
    char when[64];             /* the first session's date, from its mark */
} model_replay_info;

/* Runs the actions of a session log on m, no screen: those of its last
 * session (from the last "# demographer ... session, ..." mark that
 * model_open_log writes; a session that continues the one before it, as
 * model_log_continues marks, takes that one along), or with all every
 * session's, in order. info (may be NULL) says what ran. */
int model_replay(model *m, const char *path, dg_err *err);
int model_replay_sessions(model *m, const char *path, int all, model_replay_info *info,
                          dg_err *err);

#endif
