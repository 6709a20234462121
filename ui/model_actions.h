/* The model's actions, dispatched by the context actions.def gives each one,
 * as tig's views each handle their own requests: model.c keeps the global
 * actions and hands every other one to its context's handler. A handler
 * checks the arguments and the state, changes the model (saying what it did
 * with model_say) or starts a job (*job), and returns DG_OK, or DG_ERR with
 * err set and the model as it was. An action of another context is refused.
 * Curses-free. */
#ifndef DEMOGRAPHER_UI_MODEL_ACTIONS_H
#define DEMOGRAPHER_UI_MODEL_ACTIONS_H

#include "model_job.h"

typedef int model_handler(model *m, int id, int argc, char **argv, model_job **job, dg_err *err);

/* The handler of a context of actions.def ("load", "clean", ...), or NULL
 * for the contexts the screen alone handles (help, prompt). "global" has
 * one too: model.c's own. */
model_handler *model_context_handler(const char *ctx);

/* actions_load.c: choose-dir, source, db-set, db-password, load, open-table. */
model_handler load_context_action;
/* actions_clean.c: the rule edits, clean-preview and clean-apply, clean-undo,
 * rules-save and rules-load. */
model_handler clean_context_action;
/* jobs_eda.c: eda-compute, eda-open, device-features. */
model_handler eda_context_action;
/* jobs_sheet.c: sheet-back, sort, sort-desc, search, search-next, freq,
 * sheet-widen. */
model_handler sheet_context_action;
/* actions_analysis.c: the Geo pane's map and DBSCAN views, the Models pane,
 * the Campaigns pane. */
model_handler geo_context_action;
model_handler dbscan_context_action;
model_handler models_context_action;
model_handler campaigns_context_action;

/* actions_save.c: save, the current view as a PNG (EDA: and a CSV). */
int model_save(model *m, dg_err *err);

/* actions_session.c: the session log. A job's or an action's log line; the
 * line written to the log (a comment while restoring); after an action that
 * succeeded without a job, its line when it is logged, files in the output
 * directory relative to it. */
void model_format_line(char *out, size_t cap, int id, int argc, char **argv);
void model_log_line(model *m, const char *line);
void model_log_action(model *m, int id, int argc, char **argv);

/* A file an action names: relative ones are in the output directory, so that
 * a replay with another --out writes (and reads) its own. */
void model_out_path(const model *m, const char *file, char *out, size_t cap);
/* Frees a sheet's order and frequencies. */
void model_sheet_free(sheet *s);
/* Refuses id outside its context's handler (a bug or a bad table). */
int model_not_here(int id, const char *ctx, dg_err *err);

#endif
