/* The Models pane's state and actions (see model_models.h). */
#define _XOPEN_SOURCE 700
#include "model_models.h"
#include "text.h"

#include "actions.h"

#include "demographer/pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const models_run_columns[RUNCOL_COUNT] = {
    "chosen", "family", "scen", "target", "params", "cv",
#define DG_METRIC(field, column, label, tasks, brief, format, width) DG_METRIC_IF_BRIEF_##brief(column, )
#include "demographer/metrics.def"
#undef DG_METRIC
    "train_s", "bytes"};

void models_init(models_state *s)
{
    memset(s, 0, sizeof *s);
    /* The registered families, then the default ones that combine them
     * (blend): the list run trains is on, with its targets. */
    for (const dg_model_family *const *k = dg_model_families;
         *k && s->nfamilies < DG_TRAIN_MAX_FAMILIES; k++)
        s->fam[s->nfamilies++] = *k;
    for (const dg_default_family *d = dg_default_families; d->family; d++) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(d->family, "@"), d->family);
        const dg_model_family *f = dg_model_family_find(name);
        int have = 0;
        for (int i = 0; i < s->nfamilies; i++)
            have |= s->fam[i] == f;
        if (f && !have && s->nfamilies < DG_TRAIN_MAX_FAMILIES)
            s->fam[s->nfamilies++] = f;
    }
    for (int i = 0; i < s->nfamilies; i++) {
        size_t n = strlen(s->fam[i]->name);
        for (const dg_default_family *d = dg_default_families; d->family; d++)
            if (strncmp(d->family, s->fam[i]->name, n) == 0 &&
                (d->family[n] == '\0' || d->family[n] == '@')) {
                s->family_on[i] = 1;
                snprintf(s->family_targets[i], sizeof s->family_targets[i], "%s",
                         d->family[n] ? d->family + n + 1 : "");
            }
    }
    s->targets = (1u << DG_TARGET_COUNT) - 1;
    s->scenarios = 3;
    s->folds = DG_TRAIN_FOLDS_DEFAULT;
    s->seed = 1;
    s->sort_col = -1;
    s->filter_target = -1;
    s->filter_scen = -1;
}

static void forget_result(models_state *s)
{
    if (s->have_result) {
        dg_train_result_free(&s->res);
        dg_features_free(&s->feat);
    }
    s->have_result = 0;
    free(s->order);
    s->order = NULL;
    s->cur = s->top = 0;
}

void models_free(models_state *s)
{
    forget_result(s);
    free(s->supercats_path);
    free(s->train_dir);
    memset(s, 0, sizeof *s);
}

void models_set_supercats_path(models_state *s, const char *path)
{
    free(s->supercats_path);
    s->supercats_path = path ? dg_xstrdup(path) : NULL;
}

const dg_run *models_run_at_cursor(const models_state *s)
{
    if (!s->have_result || s->cur >= s->nshown)
        return NULL;
    return &s->res.runs[s->order[s->cur]];
}

static const char *num(double v, const char *fmt, char *buf, size_t cap)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, cap, fmt, v);
    return buf;
}

const char *models_cell(const dg_run *r, int col, char *buf, size_t cap)
{
    switch (col) {
    case RUNCOL_CHOSEN: snprintf(buf, cap, "%s", r->chosen ? "*" : ""); return buf;
    case RUNCOL_FAMILY: snprintf(buf, cap, "%s", r->family); return buf;
    case RUNCOL_SCENARIO: snprintf(buf, cap, r->scenario ? "%d" : "1+2", r->scenario); return buf;
    case RUNCOL_TARGET: snprintf(buf, cap, "%s", dg_target_name(r->target)); return buf;
    case RUNCOL_PARAMS: snprintf(buf, cap, "%s", r->params); return buf;
    case RUNCOL_CV: return num(r->cv_score, "%.4f", buf, cap);
    case RUNCOL_SECONDS: return num(r->train_seconds, "%.3f", buf, cap);
    case RUNCOL_BYTES: return text_count(r->model_bytes, buf, cap);
    default:
        if (col >= RUNCOL_METRICS && col < RUNCOL_SECONDS) {
            dg_metric m = dg_metrics_brief[col - RUNCOL_METRICS];
            return num(dg_eval_has(&r->test, m) ? dg_eval_get(&r->test, m) : NAN,
                       dg_metrics[m].format, buf, cap);
        }
        buf[0] = '\0';
        return buf;
    }
}

/* The value a numeric column sorts by (NaN for none). */
static double cell_value(const dg_run *r, int col)
{
    char buf[64];
    switch (col) {
    case RUNCOL_CHOSEN: return r->chosen;
    case RUNCOL_SCENARIO: return r->scenario ? r->scenario : 3;
    case RUNCOL_TARGET: return r->target;
    case RUNCOL_BYTES: return (double)r->model_bytes;
    default: {
        const char *t = models_cell(r, col, buf, sizeof buf);
        return t[0] ? strtod(t, NULL) : NAN;
    }
    }
}

static int is_text_col(int col)
{
    return col == RUNCOL_FAMILY || col == RUNCOL_PARAMS;
}

const char *models_targets_text(const models_state *s, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int t = 0; t < DG_TARGET_COUNT; t++)
        if (s->targets & (1u << t))
            snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? "," : "",
                     dg_target_name((dg_target)t));
    return buf;
}

const char *models_scenarios_text(const models_state *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", s->scenarios == 3 ? "1,2" : s->scenarios == 1 ? "1" : "2");
    return buf;
}

/* ---- sorting the comparison table ------------------------------------------ */

static const models_state *sort_state;

static int cmp_runs(const void *a, const void *b)
{
    const models_state *s = sort_state;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    const dg_run *ra = &s->res.runs[ia], *rb = &s->res.runs[ib];
    int c = 0;
    if (is_text_col(s->sort_col)) {
        char x[256], y[256];
        c = strcmp(models_cell(ra, s->sort_col, x, sizeof x),
                   models_cell(rb, s->sort_col, y, sizeof y));
    } else {
        double x = cell_value(ra, s->sort_col), y = cell_value(rb, s->sort_col);
        /* Empty cells last, whichever the direction. */
        if (isnan(x) || isnan(y))
            return isnan(x) && isnan(y) ? (ia > ib) - (ia < ib) : isnan(x) ? 1 : -1;
        c = (x > y) - (x < y);
    }
    if (s->sort_desc)
        c = -c;
    /* Stable: equal cells keep train's order. */
    return c ? c : (ia > ib) - (ia < ib);
}

static int passes_filter(const models_state *s, const dg_run *r)
{
    return (s->filter_target < 0 || (int)r->target == s->filter_target) &&
           (s->filter_scen < 0 || r->scenario == s->filter_scen);
}

/* order: the runs that pass the filter, in the sort's order. */
static void sort_runs(models_state *s)
{
    s->nshown = 0;
    for (size_t i = 0; i < s->res.nruns; i++)
        if (passes_filter(s, &s->res.runs[i]))
            s->order[s->nshown++] = i;
    if (s->sort_col < 0)
        return;
    sort_state = s;
    qsort(s->order, s->nshown, sizeof *s->order, cmp_runs);
    sort_state = NULL;
}

const char *models_filter_text(const models_state *s, char *buf, size_t cap)
{
    char scen[32] = "";
    if (s->filter_scen >= 0)
        snprintf(scen, sizeof scen, "scenario %s", s->filter_scen == 0 ? "1+2"
                                                  : s->filter_scen == 1 ? "1" : "2");
    if (s->filter_target < 0 && s->filter_scen < 0)
        snprintf(buf, cap, "all runs");
    else
        snprintf(buf, cap, "%s%s%s", s->filter_target >= 0 ? dg_target_name(s->filter_target) : "",
                 s->filter_target >= 0 && scen[0] ? ", " : "", scen);
    return buf;
}

static int set_filter(models_state *s, const char *target, const char *scen, char *msg,
                      size_t msgcap, dg_err *err)
{
    int t = -1, c = -1;
    if (strcmp(target, "all") != 0 && (t = dg_target_by_name(target)) < 0)
        return dg_fail(err, "models-filter: no target '%s' (gender, age, group6, group12, all)",
                       target);
    if (strcmp(scen, "1") == 0)
        c = 1;
    else if (strcmp(scen, "2") == 0)
        c = 2;
    else if (strcmp(scen, "1+2") == 0)
        c = 0;
    else if (strcmp(scen, "all") != 0)
        return dg_fail(err, "models-filter: no scenario '%s' (1, 2, 1+2, all)", scen);
    s->filter_target = t;
    s->filter_scen = c;
    if (s->have_result)
        sort_runs(s);
    s->cur = s->top = 0;
    char f[96];
    snprintf(msg, msgcap, "showing %s: %zu of %zu runs", models_filter_text(s, f, sizeof f),
             s->have_result ? s->nshown : 0, s->have_result ? s->res.nruns : 0);
    return DG_OK;
}

/* ---- the training job ------------------------------------------------------- */

int models_job_args(const models_state *s, const char *out_dir, models_job *j, dg_err *err)
{
    memset(j, 0, sizeof *j);
    int n = 0;
    for (int i = 0; i < s->nfamilies; i++)
        if (s->family_on[i] && strcmp(s->fam[i]->name, "prior") != 0) {
            models_family_spec(s, i, j->families[n], sizeof j->families[n]);
            j->opts.families[n] = j->families[n];
            n++;
        }
    /* run's grids for the families trained, as run gives them. */
    int ng = 0;
    for (const dg_default_family *d = dg_default_families;
         d->family && ng < DG_TRAIN_MAX_FAMILIES - 1; d++) {
        if (!d->grid)
            continue;
        size_t len = strcspn(d->grid, ":");
        for (int i = 0; i < s->nfamilies; i++)
            if (s->family_on[i] && strlen(s->fam[i]->name) == len &&
                strncmp(s->fam[i]->name, d->grid, len) == 0) {
                j->opts.grids[ng++] = d->grid;
                break;
            }
    }
    /* Only the baseline: train says so by the one family it always runs. */
    if (n == 0) {
        snprintf(j->families[0], sizeof j->families[0], "prior");
        j->opts.families[0] = j->families[0];
    }
    if (!s->targets || !s->scenarios)
        return dg_fail(err, "no target or no scenario chosen");
    j->opts.targets = s->targets;
    j->opts.scenarios = s->scenarios;
    j->opts.folds = s->folds;
    j->opts.seed = s->seed;
    j->opts.charts = 1;
    j->supercats_path = s->supercats_path ? dg_xstrdup(s->supercats_path) : NULL;
    j->work_dir = dg_path_join(out_dir, ".train-work");
    j->final_dir = dg_path_join(out_dir, "train");
    j->opts.out_dir = j->work_dir;
    return DG_OK;
}

int models_job_run(models_job *j, const dg_progress *p, dg_err *err)
{
    dg_supercats sc;
    memset(&sc, 0, sizeof sc);
    if (j->supercats_path && dg_supercats_load(&sc, j->supercats_path, err) != DG_OK)
        return DG_ERR;
    dg_progress_stage stage;
    int rc = DG_OK;
    if (j->pushed) /* aggregated on the server at the load: the events are not here */
        dg_features_copy(j->pushed, &j->feat);
    else
        rc = dg_features_for_models(j->src, j->supercats_path ? &sc : NULL,
                                    DG_CLUSTER_EPS_KM_DEFAULT, DG_CLUSTER_MIN_PTS_DEFAULT,
                                    &j->feat, NULL, dg_progress_restage(&stage, p, "features"),
                                    err);
    dg_supercats_free(&sc);
    if (rc != DG_OK)
        return DG_ERR;
    j->have_feat = 1;
    dg_rm_tree(j->work_dir);
    /* The last training (none: the designs' sizes) weighs the progress. */
    dg_err no_history;
    if (dg_runs_read(j->final_dir, &j->history, &no_history) == DG_OK)
        j->opts.history = &j->history;
    j->opts.progress = p;
    if (dg_train(j->src, &j->feat, &j->opts, &j->res, err) != DG_OK) {
        dg_rm_tree(j->work_dir);
        return DG_ERR;
    }
    /* The last step that can be cancelled is done: the new training
     * directory replaces the one before, which stays until here. */
    if (dg_dir_publish(j->work_dir, j->final_dir, err) != DG_OK) {
        dg_rm_tree(j->work_dir);
        return DG_ERR;
    }
    return DG_OK;
}

void models_job_finish(models_state *s, models_job *j)
{
    forget_result(s);
    s->res = j->res;
    s->feat = j->feat;
    memset(&j->res, 0, sizeof j->res);
    memset(&j->feat, 0, sizeof j->feat);
    j->have_feat = 0;
    s->have_result = 1;
    s->exported = 0;
    s->opened = 0;
    s->res_seed = j->opts.seed;
    s->res_folds = j->opts.folds;
    s->from_cleaned = j->from_cleaned;
    s->gen = j->gen;
    free(s->train_dir);
    s->train_dir = j->final_dir;
    j->final_dir = NULL;
    s->order = dg_xmalloc((s->res.nruns + 1) * sizeof *s->order);
    sort_runs(s);
    s->cur = s->top = 0;
    s->view = MODELS_VIEW_RUNS;
}

int models_open(models_state *s, const char *dir, char *msg, size_t msgcap, dg_err *err)
{
    /* A run folder holds its training in train/; a train folder is one. */
    char *inner = dg_path_join(dir, "train"), *json = dg_path_join(dir, "runs.json"),
         *inner_json = dg_path_join(inner, "runs.json");
    const char *from = access(json, F_OK) == 0 ? dir : inner;
    dg_train_result r;
    int rc;
    if (from == inner && access(inner_json, F_OK) != 0)
        rc = dg_fail(err, "%s holds no runs.json, nor does %s/train (a folder written by "
                          "demographer train or run)",
                     dir, dir);
    else
        rc = dg_runs_read(from, &r, err);
    free(inner_json);
    if (rc == DG_OK) {
        char *from_copy = dg_xstrdup(from);
        forget_result(s);
        s->res = r;
        memset(&s->feat, 0, sizeof s->feat);
        s->have_result = 1;
        s->opened = 1;
        s->exported = 0;
        s->res_seed = 0;
        s->res_folds = 0;
        free(s->train_dir);
        s->train_dir = from_copy;
        s->order = dg_xmalloc((s->res.nruns + 1) * sizeof *s->order);
        sort_runs(s);
        s->cur = s->top = 0;
        s->view = MODELS_VIEW_RUNS;
        size_t chosen = 0;
        for (size_t i = 0; i < r.nruns; i++)
            chosen += r.runs[i].chosen && r.runs[i].scenario;
        snprintf(msg, msgcap, "opened %zu runs (%zu chosen models) of %.900s: {models-export} "
                              "exports them",
                 r.nruns, chosen, from);
    }
    free(inner);
    free(json);
    return rc;
}

void models_job_free(models_job *j)
{
    dg_train_result_free(&j->res);
    dg_train_result_free(&j->history);
    if (j->have_feat)
        dg_features_free(&j->feat);
    free(j->supercats_path);
    free(j->work_dir);
    free(j->final_dir);
    memset(j, 0, sizeof *j);
}

/* ---- export and charts ------------------------------------------------------ */

static int read_all(const char *path, char **data, size_t *len, dg_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dg_fail(err, "%s: %s", path, strerror(errno));
    size_t cap = 65536, n = 0;
    char *p = dg_xmalloc(cap);
    size_t got;
    while ((got = fread(p + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            p = dg_xrealloc(p, cap *= 2);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(p);
        return dg_fail(err, "%s: read error", path);
    }
    *data = p;
    *len = n;
    return DG_OK;
}

static int copy_file(const char *from, const char *to, dg_err *err)
{
    char *data = NULL;
    size_t len = 0;
    if (read_all(from, &data, &len, err) != DG_OK)
        return DG_ERR;
    int rc = dg_write_file_atomic(to, data, len, err);
    free(data);
    return rc;
}

/* Copies a directory of files and folders of files (a model directory). */
static int copy_tree(const char *from, const char *to, dg_err *err)
{
    if (dg_mkdirs(to, err) != DG_OK)
        return DG_ERR;
    DIR *d = opendir(from);
    if (!d)
        return dg_fail(err, "%s: %s", from, strerror(errno));
    int rc = DG_OK;
    struct dirent *e;
    while (rc == DG_OK && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *a = dg_path_join(from, e->d_name), *b = dg_path_join(to, e->d_name);
        struct stat st;
        if (lstat(a, &st) != 0)
            rc = dg_fail(err, "%s: %s", a, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            rc = copy_tree(a, b, err);
        else
            rc = copy_file(a, b, err);
        free(a);
        free(b);
    }
    closedir(d);
    return rc;
}

/* The folders in dir. */
static int count_dirs(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *a = dg_path_join(dir, e->d_name);
        struct stat st;
        n += stat(a, &st) == 0 && S_ISDIR(st.st_mode);
        free(a);
    }
    closedir(d);
    return n;
}

/* The chosen models of the last training to <out>/models (whole or not at
 * all), and the comparison table beside it (runs.csv, runs.json). */
static int export_models(models_state *s, const char *out_dir, char *msg, size_t msgcap,
                         dg_err *err)
{
    if (!s->have_result)
        return dg_fail(err, "no trained models yet ({models-train} trains)");
    char *from = dg_path_join(s->train_dir, "models"), *stage = dg_path_join(out_dir, ".models-export"),
         *to = dg_path_join(out_dir, "models");
    dg_rm_tree(stage);
    int rc = copy_tree(from, stage, err);
    /* The count is of the model folders written: a chosen run over both
     * scenarios (scen 1+2) is the two scenarios' models, not a folder. */
    int folders = rc == DG_OK ? count_dirs(stage) : 0;
    if (rc == DG_OK)
        rc = dg_dir_publish(stage, to, err);
    if (rc == DG_OK)
        rc = dg_runs_write(&s->res, out_dir, err);
    dg_rm_tree(stage);
    if (rc == DG_OK) {
        s->exported = 1;
        snprintf(msg, msgcap, "exported %d model%s to %.900s (runs.csv beside it)", folders,
                 folders == 1 ? "" : "s", to);
    }
    free(from);
    free(stage);
    free(to);
    return rc;
}

int models_save(models_state *s, const char *out_dir, char *saved, size_t savedcap, char *msg,
                size_t msgcap, dg_err *err)
{
    const dg_run *r = s->view == MODELS_VIEW_RUNS ? models_run_at_cursor(s) : NULL;
    if (!r)
        return dg_fail(err, "no run under the cursor: {models-train} trains, {models-view} shows the runs");
    const char *charts[2] = {NULL, NULL};
    char name[64];
    if (r->target == DG_TARGET_GENDER) {
        charts[0] = "roc_gender.png";
        charts[1] = "calibration_gender.png";
    } else if (r->target == DG_TARGET_AGE && r->scenario) {
        snprintf(name, sizeof name, "residuals_age_s%d.png", r->scenario);
        charts[0] = name;
    } else {
        return dg_fail(err, "train draws no chart for %s runs%s (gender: ROC and calibration; "
                            "age: residuals per scenario)",
                       dg_target_name(r->target), r->scenario ? "" : " over both scenarios");
    }
    if (dg_mkdirs(out_dir, err) != DG_OK)
        return DG_ERR;
    char first[1100] = "";
    int n = 0;
    for (int i = 0; i < 2 && charts[i]; i++) {
        char *from = dg_path_join(s->train_dir, charts[i]), to[1100];
        snprintf(to, sizeof to, "%.900s/models-%s", out_dir, charts[i]);
        int rc = copy_file(from, to, err);
        free(from);
        if (rc != DG_OK)
            return DG_ERR;
        if (!n++)
            snprintf(first, sizeof first, "%s", to);
    }
    snprintf(saved, savedcap, "%s", first);
    snprintf(msg, msgcap, "saved %.900s%s (the chosen %s model%s)", first,
             n > 1 ? " and the calibration chart" : "", dg_target_name(r->target),
             r->target == DG_TARGET_GENDER ? "s of both scenarios" : "");
    return DG_OK;
}

/* ---- the immediate actions -------------------------------------------------- */

static int family_index(const models_state *s, const char *name)
{
    size_t n = strcspn(name, "@");
    for (int i = 0; i < s->nfamilies; i++)
        if (strlen(s->fam[i]->name) == n &&
            strncmp(s->fam[i]->name, name, n) == 0)
            return i;
    return -1;
}

double models_family_seconds(const models_state *s, int i)
{
    /* The targets it trains next: its own (FAMILY@TARGETS) or the chosen. */
    unsigned targets = s->targets;
    if (s->family_targets[i][0]) {
        char buf[64];
        targets = 0;
        snprintf(buf, sizeof buf, "%s", s->family_targets[i]);
        for (char *save, *w = strtok_r(buf, "+", &save); w; w = strtok_r(NULL, "+", &save))
            if (dg_target_by_name(w) >= 0)
                targets |= 1u << dg_target_by_name(w);
        targets &= s->targets;
    }
    double sum = NAN;
    for (size_t k = 0; s->have_result && k < s->res.nruns; k++) {
        const dg_run *r = &s->res.runs[k];
        if (strcmp(r->family, s->fam[i]->name) != 0 || !r->scenario ||
            !(s->scenarios & (1u << (r->scenario - 1))) || !(targets & (1u << r->target)))
            continue;
        double v = (isnan(r->cv_seconds) ? 0 : r->cv_seconds) +
                   (isnan(r->train_seconds) ? 0 : r->train_seconds);
        sum = isnan(sum) ? v : sum + v;
    }
    return sum;
}

const char *models_family_spec(const models_state *s, int i, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s", s->fam[i]->name, s->family_targets[i][0] ? "@" : "",
             s->family_targets[i]);
    return buf;
}

/* FAMILY@TARGETS's targets: "all", or target names joined by '+' (as run's
 * --families writes them). */
static int parse_family_targets(const char *text, char *out, size_t cap, dg_err *err)
{
    if (strcmp(text, "all") == 0) {
        out[0] = '\0';
        return DG_OK;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save, *w = strtok_r(buf, "+", &save); w; w = strtok_r(NULL, "+", &save))
        if (dg_target_by_name(w) < 0)
            return dg_fail(err, "models-family: expected targets joined by + (gender, age, "
                                "group6, group12) or all after @, found '%s'",
                           w);
    if (!text[0] || strlen(text) >= cap)
        return dg_fail(err, "models-family: expected targets after @");
    snprintf(out, cap, "%s", text);
    return DG_OK;
}

static int parse_targets(const char *text, unsigned *out, dg_err *err)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    unsigned bits = 0;
    for (char *save, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        int t = dg_target_by_name(w);
        if (t < 0)
            return dg_fail(err, "models-targets: expected gender, age, group6 or group12, found "
                                "'%s'",
                           w);
        bits |= 1u << t;
    }
    if (!bits)
        return dg_fail(err, "models-targets: expected a comma list of gender, age, group6, "
                            "group12, found '%s'",
                       text);
    *out = bits;
    return DG_OK;
}

static int parse_scenarios(const char *text, unsigned *out, dg_err *err)
{
    if (strcmp(text, "1") == 0)
        *out = 1;
    else if (strcmp(text, "2") == 0)
        *out = 2;
    else if (strcmp(text, "1,2") == 0 || strcmp(text, "2,1") == 0)
        *out = 3;
    else
        return dg_fail(err, "models-scenarios: expected 1, 2 or 1,2, found '%s'", text);
    return DG_OK;
}

static int parse_whole(const char *what, const char *s, uint64_t min, uint64_t max,
                       uint64_t *out, dg_err *err)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *s == '-' || *end || errno || v < min || v > max)
        return dg_fail(err, "%s: expected a whole number from %llu to %llu, found '%s'", what,
                       (unsigned long long)min, (unsigned long long)max, s);
    *out = v;
    return DG_OK;
}

static int column_by_name(const char *name)
{
    for (int i = 0; i < RUNCOL_COUNT; i++)
        if (strcmp(models_run_columns[i], name) == 0)
            return i;
    return -1;
}

int models_action(models_state *s, int id, int argc, char **argv, const char *out_dir, char *msg,
                  size_t msgcap, dg_err *err)
{
    int want = id == ACT_MODELS_EXPORT ? 0 : id == ACT_MODELS_FILTER ? 2 : 1;
    if (argc != want)
        return dg_fail(err, "%s takes %s", actions[id].name,
                       want ? actions[id].args : "no arguments");
    char buf[128];
    uint64_t v = 0; /* set by parse_whole on DG_OK; GCC -O3 cannot see that dg_fail returns DG_ERR */
    switch (id) {
    case ACT_MODELS_VIEW:
        if (strcmp(argv[0], "settings") == 0)
            s->view = MODELS_VIEW_SETTINGS;
        else if (strcmp(argv[0], "runs") == 0)
            s->view = MODELS_VIEW_RUNS;
        else
            return dg_fail(err, "models-view: expected settings or runs, found '%s'", argv[0]);
        snprintf(msg, msgcap, "%s", s->view == MODELS_VIEW_RUNS
                                        ? (s->have_result ? "the runs: {models-sort}/{models-sort-desc} sort by the cursor's "
                                                            "column, {models-export} exports the chosen"
                                                          : "no runs yet: {models-train} trains")
                                        : "the settings: {models-family} toggles a family, {models-train} trains");
        return DG_OK;
    case ACT_MODELS_FAMILY: {
        int i = family_index(s, argv[0]);
        if (i < 0)
            return dg_fail(err, "models-family: no family '%s' (the list shows the registered "
                                "ones)",
                           argv[0]);
        if (strncmp(argv[0], "prior", strcspn(argv[0], "@")) == 0 && i == family_index(s, "prior"))
            return dg_fail(err, "prior always runs: it is every run's baseline");
        const char *at = strchr(argv[0], '@');
        /* NAME toggles; NAME@TARGETS turns it on for those targets. */
        if (at) {
            if (parse_family_targets(at + 1, s->family_targets[i], sizeof s->family_targets[i],
                                     err) != DG_OK)
                return DG_ERR;
            s->family_on[i] = 1;
        } else {
            s->family_on[i] = !s->family_on[i];
        }
        s->fam_cur = i;
        char spec[96];
        snprintf(msg, msgcap, "%s %s ({models-train} trains)",
                 models_family_spec(s, i, spec, sizeof spec), s->family_on[i] ? "on" : "off");
        return DG_OK;
    }
    case ACT_MODELS_TARGETS:
        if (parse_targets(argv[0], &s->targets, err) != DG_OK)
            return DG_ERR;
        snprintf(msg, msgcap, "targets: %s", models_targets_text(s, buf, sizeof buf));
        return DG_OK;
    case ACT_MODELS_SCENARIOS:
        if (parse_scenarios(argv[0], &s->scenarios, err) != DG_OK)
            return DG_ERR;
        snprintf(msg, msgcap, "scenarios: %s", models_scenarios_text(s, buf, sizeof buf));
        return DG_OK;
    case ACT_MODELS_FOLDS:
        if (parse_whole("models-folds", argv[0], 2, 50, &v, err) != DG_OK)
            return DG_ERR;
        s->folds = (int)v;
        snprintf(msg, msgcap, "%d-fold cross-validation", s->folds);
        return DG_OK;
    case ACT_MODELS_SEED:
        if (parse_whole("models-seed", argv[0], 0, UINT64_MAX, &v, err) != DG_OK)
            return DG_ERR;
        s->seed = v;
        snprintf(msg, msgcap, "seed %" PRIu64, s->seed);
        return DG_OK;
    case ACT_MODELS_SORT:
    case ACT_MODELS_SORT_DESC: {
        int col = column_by_name(argv[0]);
        if (col < 0)
            return dg_fail(err, "%s: no column '%s' (chosen, family, scen, target, params, cv, "
                                "acc, auc, logloss, mae, rmse, r2, train_s, bytes)",
                           actions[id].name, argv[0]);
        if (!s->have_result)
            return dg_fail(err, "no runs to sort yet ({models-train} trains)");
        s->sort_col = col;
        s->sort_desc = id == ACT_MODELS_SORT_DESC;
        s->ccol = col;
        sort_runs(s);
        /* The top of the new order, as a sorted list is read. */
        s->cur = s->top = 0;
        snprintf(msg, msgcap, "runs sorted by %s, %s", argv[0],
                 s->sort_desc ? "descending" : "ascending");
        return DG_OK;
    }
    case ACT_MODELS_EXPORT: return export_models(s, out_dir, msg, msgcap, err);
    case ACT_MODELS_FILTER: return set_filter(s, argv[0], argv[1], msg, msgcap, err);
    default: return dg_fail(err, "%s is not a Models pane action", actions[id].name);
    }
}

void models_move(models_state *s, int id, long rows)
{
    if (s->view == MODELS_VIEW_SETTINGS) {
        int c = s->fam_cur, last = s->nfamilies - 1;
        switch (id) {
        case ACT_UP: c--; break;
        case ACT_DOWN: c++; break;
        case ACT_PAGE_UP: c -= (int)rows; break;
        case ACT_PAGE_DOWN: c += (int)rows; break;
        case ACT_FIRST_ROW: c = 0; break;
        case ACT_LAST_ROW: c = last; break;
        default: break;
        }
        s->fam_cur = c < 0 ? 0 : c > last ? last : c;
        return;
    }
    if (!s->have_result)
        return;
    int64_t c = (int64_t)s->cur, last = (int64_t)s->nshown - 1;
    switch (id) {
    case ACT_UP: c--; break;
    case ACT_DOWN: c++; break;
    case ACT_PAGE_UP: c -= rows; break;
    case ACT_PAGE_DOWN: c += rows; break;
    case ACT_FIRST_ROW: c = 0; break;
    case ACT_LAST_ROW: c = last; break;
    case ACT_LEFT:
        if (s->ccol > 0)
            s->ccol--;
        break;
    case ACT_RIGHT:
        if (s->ccol + 1 < RUNCOL_COUNT)
            s->ccol++;
        break;
    default: break;
    }
    s->cur = (size_t)(c < 0 ? 0 : c > last ? last : c);
}
