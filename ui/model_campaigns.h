/* The Campaigns pane's state and actions, without curses: the campaign rules
 * (the asset's, or a file's), the predictions they are applied to (the
 * session's trained models on the test devices, or a predictions.csv), the
 * P(female) decile edges fitted over them, each device's targeting and the
 * reach table (with the expected precision from the labels of the session's
 * data). model.c hands the campaigns-* actions and the pane's save here;
 * pane_campaigns.c draws the state. The numbers are those `demographer
 * campaigns --predictions FILE --truth LABELS` computes for the same
 * predictions: the same library calls in the same order. */
#ifndef DEMOGRAPHER_UI_MODEL_CAMPAIGNS_H
#define DEMOGRAPHER_UI_MODEL_CAMPAIGNS_H

#include "model_models.h"

#include "demographer/campaign.h"

typedef struct campaigns_state {
    dg_campaign_rules rules;
    char rules_from[1100];       /* "the defaults" or the file */
    char *default_rules_path;    /* the asset campaigns.rules, or NULL: the built-in six */
    /* The predictions and what was made of them (n == 0: none yet). */
    dg_prediction *pred;
    size_t n;
    char pred_from[1100];        /* where they came from, for the screen */
    dg_truth *truth;             /* the labels of the session's data (sorted), or NULL */
    size_t ntruth;
    dg_deciles dec;
    dg_targeting *tg;
    dg_reach reach;
    int have;
    int cur;                     /* cursor in the campaign list (rules.n: the untargeted row) */
} campaigns_state;

void campaigns_init(campaigns_state *c);
void campaigns_free(campaigns_state *c);
/* The rules campaigns-rules default reads (the asset); NULL: the built-in six. */
void campaigns_set_default_rules(campaigns_state *c, const char *path);

/* The truth of every labelled device of a data set (its labels table: gender
 * F or M, age > 0; a device listed twice keeps its first row), sorted, for
 * the expected precision. *n = 0 and NULL without a labels table. */
void campaigns_truth_of(const dg_dataset *ds, dg_truth **out, size_t *n);

/* The prediction job's part: the session's model directory applied to the
 * test devices it lists. */
typedef struct campaigns_job {
    char *models_dir;          /* <out>/train/models */
    const dg_features *feat;   /* the features the models were trained on */
    const dg_dataset *src;     /* ...and their data (the truth) */
    dg_prediction *pred;
    size_t n;
    dg_truth *truth;
    size_t ntruth;
} campaigns_job;

int campaigns_job_run(campaigns_job *j, const dg_progress *p, dg_err *err);
/* Takes the job's predictions into c and computes the rest; fails (c as it
 * was) when the deciles cannot be fitted. */
int campaigns_job_finish(campaigns_state *c, campaigns_job *j, const char *from, dg_err *err);
void campaigns_job_free(campaigns_job *j);

/* campaigns-rules FILE|default and campaigns-load FILE (relative paths are
 * in out_dir, as the Clean pane's rule files). truth: the session's labels
 * for campaigns-load (may be NULL). */
int campaigns_rules(campaigns_state *c, const char *file, const char *out_dir, char *msg,
                    size_t msgcap, dg_err *err);
int campaigns_load(campaigns_state *c, const char *file, const char *out_dir, dg_truth *truth,
                   size_t ntruth, char *msg, size_t msgcap, dg_err *err);
/* campaigns-write: dg_campaigns_save into <out>/campaigns, plus the
 * predictions used (predictions.csv). */
int campaigns_write(campaigns_state *c, const char *out_dir, char *saved, size_t savedcap,
                    char *msg, size_t msgcap, dg_err *err);
/* p: the reach chart as <out>/campaigns-reach.png. */
int campaigns_save(campaigns_state *c, const char *out_dir, char *saved, size_t savedcap,
                   char *msg, size_t msgcap, dg_err *err);

#endif
