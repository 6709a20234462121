/* The workspace: what brings an analyst's work back when the workbench opens
 * again on the same --out. It is <out>/workspace/: `actions`, the actions
 * that rebuild the session's state, in the session log's words (choose the
 * data directory, load it from its snapshot, apply the rules, compute the
 * EDA tables, draw the geo sample, set DBSCAN's pair and the Models pane's
 * settings, open the runs of <out>/train, go to the pane), and the rules
 * (`rules`, and `applied.rules` when they differ from the ones applied).
 * Small files written atomically after every action that changes the state;
 * the data comes back from the load snapshot, the runs and chosen models
 * from the training folder on disk. Curses-free: the screen runs the
 * actions one after another (jobs in turn), replay could too. */
#ifndef DEMOGRAPHER_UI_WORKSPACE_H
#define DEMOGRAPHER_UI_WORKSPACE_H

#include "model.h"

/* Writes <out>/workspace/ for m's state when it differs from what the last
 * call wrote (m->workspace_text). */
int workspace_save(model *m, dg_err *err);

/* The action lines of <out>/workspace/actions (comments left out), n = 0
 * when there is no workspace; free with workspace_lines_free. */
int workspace_load(const char *out_dir, char ***lines, int *n, dg_err *err);
void workspace_lines_free(char **lines, int n);

/* The data directory the lines choose (their choose-dir's), or NULL. */
const char *workspace_data_dir(char **lines, int n, char *buf, size_t cap);

/* Renames <out>/workspace to <out>/workspace.DATE-TIME (aside gets it):
 * a workspace that is not restored is kept, never written over. */
int workspace_set_aside(const char *out_dir, char *aside, size_t cap, dg_err *err);

#endif
