/* report.md and report.html: one document layout (report_document) written
 * through two back ends (md_ops, html_ops), so the two state the same facts
 * in the same words and cannot drift. The layout calls the back end for
 * headings, paragraphs, tables and charts; the back end owns the syntax and
 * the escaping (a '|' in a Markdown cell, '<' '&' '"' in HTML). */
#include "demographer/report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the back ends' operations -------------------------------------------- */

typedef struct doc doc;

typedef struct doc_ops {
    void (*title)(doc *d, const char *text);
    /* A section of pane `pane` (Load, Clean, EDA, ...). */
    void (*section)(doc *d, const char *pane, const char *title);
    void (*subsection)(doc *d, const char *title);
    /* Charts of a gallery may sit side by side (EDA's). */
    void (*gallery)(doc *d, int begin);
    void (*para)(doc *d, int begin);
    void (*text)(doc *d, const char *s); /* prose: the report's words or data */
    void (*code)(doc *d, const char *s);
    void (*link)(doc *d, const char *href, const char *text);
    void (*image)(doc *d, const char *alt, const char *path);
    /* align: one letter a column: 'l' text, 'L' text kept on one line (a
     * rule's name, a run's metrics), 'r' numbers (right, on one line). */
    void (*table)(doc *d, int ncols, const char *const *head, const char *align);
    void (*cell)(doc *d, const char *s, int strong);
    void (*row_end)(doc *d);
    void (*table_end)(doc *d);
} doc_ops;

struct doc {
    const doc_ops *ops;
    const dg_report *r;
    dg_textbuf *b;
    /* HTML */
    int col, ncols;
    char align[16];
    const char *const *head; /* the open table's column names */
    const char *pane; /* the open <section>'s, or NULL */
    int in_card;
    size_t nav_at;    /* where the pane links go, once every pane is known */
    char nav[1024];
    int rc;           /* DG_ERR once a chart could not be read */
    dg_err *err;
};

static void textf(doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void textf(doc *d, const char *fmt, ...)
{
    char s[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    d->ops->text(d, s);
}

static void cellf(doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cellf(doc *d, const char *fmt, ...)
{
    char s[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    d->ops->cell(d, s, 0);
}

/* A count as every count of the tool is written: 9,467. */
static void cell_count(doc *d, uint64_t v)
{
    char s[32];
    d->ops->cell(d, dg_format_count(v, s, sizeof s), 0);
}

/* A number, or "–" when there is none (NaN: no CV for a combined row). */
static void cell_num(doc *d, double v, const char *fmt)
{
    char s[64];
    if (isfinite(v))
        snprintf(s, sizeof s, fmt, v);
    else
        snprintf(s, sizeof s, "–");
    d->ops->cell(d, s, 0);
}

/* ---- the layout ----------------------------------------------------------- */

/* What the run read and with which settings: version, data, seed, split
 * and checksum, after the results. */
static void about(doc *d)
{
    const dg_report *r = d->r;
    const doc_ops *o = d->ops;
    char a[32], b[32], c[32], e[32], f[32];
    o->section(d, "Run", "The run");
    o->para(d, 1);
    textf(d, "demographer %s on ", DG_VERSION);
    o->code(d, r->data_dir);
    textf(d, " (%s shape), seed %" PRIu64 ", %d folds.", r->upgrad_shape ? "Upgrad" : "Kaggle",
          r->seed, r->folds);
    o->para(d, 0);
    if (r->have_train) {
        o->para(d, 1);
        o->text(d, r->split_text);
        textf(d, ". Labelled devices: %s (scenario 1, with events: %s train, %s test; scenario "
                 "2, without: %s train, %s test).",
              dg_format_count(r->labelled, a, sizeof a), dg_format_count(r->ntrain[1], b, sizeof b),
              dg_format_count(r->ntest[1], c, sizeof c), dg_format_count(r->ntrain[2], e, sizeof e),
              dg_format_count(r->ntest[2], f, sizeof f));
        o->para(d, 0);
    } else if (r->split_text) {
        o->para(d, 1);
        o->text(d, r->split_text);
        o->text(d, ".");
        o->para(d, 0);
    }
    if (r->have_checksum) {
        o->para(d, 1);
        o->text(d, "Data checksum (labelled devices, targets, split): ");
        o->code(d, r->checksum);
        o->text(d, ".");
        o->para(d, 0);
    }
}

static void stages(doc *d)
{
    const dg_report *r = d->r;
    const doc_ops *o = d->ops;
    static const char *const head[] = {"stage", "seconds", "note"};
    o->section(d, "Run", "Stages");
    o->table(d, 3, head, "Lrl");
    for (int st = 0; st < DG_STAGE_REPORT; st++) { /* the report's own is not done */
        o->cell(d, r->stage[st].name, 0);
        if (r->stage[st].ran)
            cellf(d, "%.2f", r->stage[st].seconds);
        else
            o->cell(d, "skipped", 0);
        o->cell(d, r->stage[st].note ? r->stage[st].note : "", 0);
        o->row_end(d);
    }
    o->cell(d, "all stages before the report", 0);
    cellf(d, "%.2f", r->seconds_before_report);
    o->cell(d, "", 0);
    o->row_end(d);
    o->table_end(d);
}

static void tables(doc *d)
{
    const dg_report *r = d->r;
    const doc_ops *o = d->ops;
    static const char *const head[] = {"table", "rows (after cleaning)", "file"};
    o->section(d, "Load", "Tables");
    o->table(d, 3, head, "lrl");
    for (int t = 0; t < r->ntables; t++) {
        o->cell(d, r->table[t].name, 0);
        cell_count(d, r->table[t].rows);
        o->cell(d, r->table[t].file, 0);
        o->row_end(d);
    }
    o->table_end(d);
}

static void cleaning(doc *d)
{
    const dg_report *r = d->r;
    const doc_ops *o = d->ops;
    static const char *const head[] = {"rule",         "table",   "rows before", "rows after",
                                       "rows changed", "devices", "what it did"};
    o->section(d, "Clean", "Cleaning");
    o->table(d, 7, head, "LLrrrrl");
    for (int i = 0; i < r->nrules; i++) {
        const dg_report_rule *e = &r->rule[i];
        cellf(d, "%s%s", e->enabled ? "" : "off ", e->rule);
        o->cell(d, e->table, 0);
        cell_count(d, e->rows_before);
        cell_count(d, e->rows_after);
        cell_count(d, e->rows_changed);
        cell_count(d, e->devices);
        o->cell(d, e->detail, 0);
        o->row_end(d);
    }
    o->table_end(d);
}

static void eda(doc *d)
{
    const dg_report *r = d->r;
    const doc_ops *o = d->ops;
    o->section(d, "EDA", "Exploratory tables");
    o->gallery(d, 1);
    for (int i = 0; i < r->neda; i++) {
        char title[256];
        snprintf(title, sizeof title, "%d. %s", r->eda[i].chart, r->eda[i].title);
        o->subsection(d, title);
        o->para(d, 1);
        o->link(d, r->eda[i].csv, "table (CSV)");
        o->para(d, 0);
        o->image(d, r->eda[i].title, r->eda[i].png);
    }
    o->gallery(d, 0);
}

static void maps(doc *d)
{
    const dg_report *r = d->r;
    const doc_ops *o = d->ops;
    o->section(d, "Geo", "Maps");
    o->para(d, 1);
    char a[32], b[32], c[32], e[32];
    textf(d, "%s of %s events with an observed location (seed %" PRIu64 "); the "
             "gender and age maps: %s of %s events of labelled devices.",
          dg_format_count(r->map_sampled[0], a, sizeof a),
          dg_format_count(r->map_eligible[0], b, sizeof b), r->seed,
          dg_format_count(r->map_sampled[1], c, sizeof c),
          dg_format_count(r->map_eligible[1], e, sizeof e));
    o->para(d, 0);
    for (int k = 0; k < r->nmaps; k++)
        o->image(d, r->map[k].name, r->map[k].png);
}

static void cluster(doc *d)
{
    const dg_report *r = d->r;
    const doc_ops *o = d->ops;
    char a[32], b[32];
    o->section(d, "DBSCAN", "Location clusters (DBSCAN)");
    o->para(d, 1);
    textf(d, "eps %g km, min_pts %g: %d clusters over %s events with an observed "
             "location (%s distinct locations); noise %.2f%%, largest cluster %.2f%% of the "
             "events. The k-distance knee (the suggested eps) is at %.3f km. ",
          r->eps_km, r->min_pts, r->clusters, dg_format_count(r->clustered_events, a, sizeof a),
          dg_format_count(r->distinct_locations, b, sizeof b), 100 * r->noise_share,
          100 * r->largest_cluster_share, r->knee_km);
    o->link(d, "cluster/clusters.csv", "Per-cluster summary");
    o->text(d, ".");
    o->para(d, 0);
    if (r->have_kdist_chart)
        o->image(d, "k-distance", "cluster/kdist.png");
    if (r->clusters > 0) {
        int32_t id[DG_REPORT_TOP_CLUSTERS];
        int n = dg_report_largest_clusters(r, id, DG_REPORT_TOP_CLUSTERS);
        o->para(d, 1);
        if (n < r->clusters)
            textf(d, "The %d largest of the %d clusters, by events:", n, r->clusters);
        else
            textf(d, "The clusters, largest first (by events):");
        o->para(d, 0);
        static const char *const head[] = {"cluster", "events", "devices",
                                           "lat",     "lon",    "radius km"};
        o->table(d, 6, head, "rrrrrr");
        for (int i = 0; i < n; i++) {
            const dg_cluster_summary *c = &r->cluster[id[i]];
            cellf(d, "%d", id[i]);
            cell_count(d, c->events);
            cell_count(d, c->devices);
            cellf(d, "%.3f", c->lat);
            cellf(d, "%.3f", c->lon);
            cellf(d, "%.2f", c->radius_km);
            o->row_end(d);
        }
        o->table_end(d);
    }
}

/* A run's test metrics in one cell: the brief ones of its task, from the
 * metrics table (metrics.def). */
static void metrics_text(const dg_eval *e, char *out, size_t cap)
{
    dg_eval_format(e, 1, ", ", "–", out, cap);
}

/* Each block out of each chosen model, by cross-validation (train.h). */
static void ablation(doc *d)
{
    const dg_report *r = d->r;
    const doc_ops *o = d->ops;
    o->section(d, "Models", "Ablation");
    o->para(d, 1);
    o->text(d, "Each chosen model cross-validated again on the same folds and parameters with "
               "one feature block taken out; a positive change (a worse score without it) is "
               "what the block brings. Log loss; RMSE for age. The test split plays no part.");
    o->para(d, 0);
    static const char *const head[] = {"scenario", "target", "family", "block",
                                       "CV",       "CV without", "change"};
    o->table(d, 7, head, "LLlLrrr");
    for (size_t i = 0; i < r->nablation; i++) {
        const dg_ablation *a = &r->ablation[i];
        cellf(d, "%d", a->scenario);
        o->cell(d, dg_target_name(a->target), 0);
        o->cell(d, a->family, 0);
        o->cell(d, a->block, 0);
        cell_num(d, a->cv_all, "%.4f");
        cell_num(d, a->cv_without, "%.4f");
        cell_num(d, a->cv_without - a->cv_all, "%+.4f");
        o->row_end(d);
    }
    o->table_end(d);
}

/* The gap to the generator's floor (accuracy.h). */
static void accuracy(doc *d)
{
    const dg_report *r = d->r;
    const doc_ops *o = d->ops;
    o->section(d, "Models", "Accuracy against the floor");
    o->para(d, 1);
    o->text(d, "The floor is the generator's exact posterior (");
    o->code(d, r->synth_truth);
    o->text(d, ") scored on the same test devices: no model can do better.");
    if (r->peer_predictions) {
        o->text(d, " The peer is ");
        o->code(d, r->peer_predictions);
        o->text(d, "; closed is the share of the peer-to-floor gap the chosen models close, "
                   "(peer - model) / (peer - floor).");
    }
    o->para(d, 0);
    static const char *const head[] = {"scenario", "target", "metric", "devices",
                                       "model",    "peer",   "floor",  "closed"};
    o->table(d, 8, head, "LLLrrrrr");
    for (int i = 0; i < r->accuracy->n; i++) {
        const dg_closure *c = &r->accuracy->row[i];
        cellf(d, "%d", c->scenario);
        o->cell(d, dg_target_name(c->target), 0);
        o->cell(d, dg_metrics[c->metric].label, 0);
        cell_count(d, c->devices);
        cell_num(d, c->model, "%.4f");
        cell_num(d, c->peer, "%.4f");
        cell_num(d, c->floor, "%.4f");
        if (isfinite(c->closure))
            cellf(d, "%.0f %%", 100 * c->closure);
        else
            o->cell(d, "–", 0);
        o->row_end(d);
    }
    o->table_end(d);
}

static void models(doc *d)
{
    const dg_report *r = d->r;
    const doc_ops *o = d->ops;
    if (r->have_features) {
        o->section(d, "Models", "Features");
        o->para(d, 1);
        char a[32], b[32], c[32];
        textf(d, "%s devices, %d dense columns, %s apps, %s labels (app and label bags).",
              dg_format_count(r->feature_devices, a, sizeof a), r->feature_columns,
              dg_format_count(r->feature_apps, b, sizeof b),
              dg_format_count(r->feature_labels, c, sizeof c));
        o->para(d, 0);
    }
    if (r->have_train) {
        o->section(d, "Models", "Every run");
        o->para(d, 1);
        char path[1100];
        textf(d, "Selection rule: %s. The chosen models are in ", r->selection_rule);
        snprintf(path, sizeof path, "%.1000s/models/", r->train_dir);
        o->code(d, path);
        o->text(d, " (bold rows); every run is in ");
        snprintf(path, sizeof path, "%.1000s/runs.json", r->train_dir);
        o->code(d, path);
        o->text(d, ".");
        o->para(d, 0);
        static const char *const head[] = {"family", "scenario",     "target", "params",
                                           "CV",     "test metrics", "train s"};
        o->table(d, 7, head, "lLLlrLr");
        for (size_t i = 0; i < r->nruns; i++) {
            const dg_run *x = &r->runs[i];
            char m[256];
            o->cell(d, x->family, x->chosen && x->scenario); /* the combined rows read chosen(a|b) */
            if (x->scenario)
                cellf(d, "%d", x->scenario);
            else
                o->cell(d, "1+2 (chosen)", 0);
            o->cell(d, dg_target_name(x->target), 0);
            o->cell(d, x->params, 0);
            cell_num(d, x->cv_score, "%.4f");
            metrics_text(&x->test, m, sizeof m);
            o->cell(d, m, 0);
            cell_num(d, x->train_seconds, "%.2f");
            o->row_end(d);
        }
        o->table_end(d);
        for (int i = 0; i < r->ntrain_charts; i++)
            o->image(d, r->train_chart[i].name, r->train_chart[i].png);
    }
    if (r->nablation)
        ablation(d);
    if (r->nevals) {
        o->section(d, "Models", "Evaluation of the exported models");
        o->para(d, 1);
        char path[1100];
        snprintf(path, sizeof path, "%.1000s/models/", r->train_dir);
        o->text(d, "The chosen models, reloaded from ");
        o->code(d, path);
        textf(d, ", on the test split: %u of %d give metrics identical to train's.",
              r->nevals_identical, r->nevals);
        o->para(d, 0);
        static const char *const head[] = {"scenario", "target", "family", "test metrics",
                                           "identical"};
        o->table(d, 5, head, "LLlLL");
        for (int i = 0; i < r->nevals; i++) {
            const dg_report_eval *e = &r->eval[i];
            char m[256];
            cellf(d, "%d", e->scenario);
            o->cell(d, dg_target_name(e->target), 0);
            o->cell(d, e->family, 0);
            metrics_text(&e->test, m, sizeof m);
            o->cell(d, m, 0);
            o->cell(d, e->identical ? "yes" : "no", !e->identical);
            o->row_end(d);
        }
        o->table_end(d);
    }
    if (r->have_predictions) {
        o->section(d, "Models", "Predictions");
        o->para(d, 1);
        o->link(d, "predictions.csv", "predictions.csv");
        char a[32];
        textf(d, ": the chosen models' predictions for the %s test devices.",
              dg_format_count(r->npredictions, a, sizeof a));
        o->para(d, 0);
    }
    if (r->accuracy)
        accuracy(d);
}

static void campaigns(doc *d)
{
    const dg_report *r = d->r;
    const doc_ops *o = d->ops;
    o->section(d, "Campaigns", "Campaigns: reach");
    o->para(d, 1);
    char a[32], b[32];
    textf(d, "P(female) deciles over the %s test predictions; expected precision from "
             "the test labels (%s labelled): the share of targeted devices that truly "
             "meet the campaign's condition, beside the base rate (untargeted sending). Per "
             "device: ",
          dg_format_count(r->campaign_devices, a, sizeof a),
          dg_format_count(r->campaign_labelled, b, sizeof b));
    o->link(d, "campaigns/device_campaigns.csv", "device_campaigns.csv");
    o->text(d, ".");
    o->para(d, 0);
    static const char *const head[] = {"id",    "campaign",           "targets",  "devices",
                                       "share", "expected precision", "base rate"};
    o->table(d, 7, head, "rlLrrrr");
    for (int i = 0; i < r->ncampaigns; i++) {
        const dg_report_campaign *w = &r->campaign[i];
        cellf(d, "%d", w->id);
        o->cell(d, w->name, 0);
        o->cell(d, w->condition, 0);
        cell_count(d, w->devices);
        cell_num(d, 100 * w->share, "%.1f%%");
        cell_num(d, 100 * w->precision, "%.1f%%");
        cell_num(d, 100 * w->base_rate, "%.1f%%");
        o->row_end(d);
    }
    o->table_end(d);
    o->para(d, 1);
    textf(d, "%s devices get no campaign.", dg_format_count(r->untargeted, a, sizeof a));
    o->para(d, 0);
    o->image(d, "reach", "campaigns/reach.png");
    if (r->campaign_labelled)
        o->image(d, "precision against the base rate", "campaigns/precision.png");
}

/* What the analyst came for, first: per scenario and target the chosen
 * model beside the baselines (the families marked baseline) it must beat,
 * by cross-validation and on the test split. */
static void results(doc *d)
{
    const dg_report *r = d->r;
    const doc_ops *o = d->ops;
    o->section(d, "Results", "Chosen models against the baselines");
    o->para(d, 1);
    textf(d, "Per scenario (1: devices with events, 2: without) and target, the model chosen "
             "by cross-validation on the train split (bold) and the baselines; the test split "
             "only reports. Selection rule: %s.",
          r->selection_rule);
    o->para(d, 0);
    static const char *const head[] = {"scenario", "target", "model", "CV", "test metrics"};
    o->table(d, 5, head, "LLLrL");
    for (size_t i = 0; i < r->nruns; i++) {
        const dg_run *x = &r->runs[i];
        if (!x->chosen || !x->scenario)
            continue;
        for (int pass = 0; pass < 2; pass++)
            for (size_t j = 0; j < r->nruns; j++) {
                const dg_run *y = &r->runs[j];
                const dg_model_family *f = dg_model_family_find(y->family);
                int baseline = f && f->baseline && !y->chosen;
                if (y->scenario != x->scenario || y->target != x->target ||
                    (pass == 0 ? j != i : !baseline))
                    continue;
                char m[256];
                cellf(d, "%d", y->scenario);
                o->cell(d, dg_target_name(y->target), 0);
                if (pass == 0)
                    o->cell(d, y->family, 1);
                else
                    cellf(d, "%s (baseline)", y->family);
                cell_num(d, y->cv_score, "%.4f");
                metrics_text(&y->test, m, sizeof m);
                o->cell(d, m, 0);
                o->row_end(d);
            }
    }
    o->table_end(d);
}

/* The results first (models against the baselines, the campaigns' reach),
 * then the details of each stage in the pipeline's order, then what the
 * run read (version, split, checksum) and its stages' seconds last. */
static void report_document(doc *d)
{
    const dg_report *r = d->r;
    d->ops->title(d, r->title);
    if (r->have_train)
        results(d);
    if (r->have_campaigns)
        campaigns(d);
    models(d);
    tables(d);
    if (r->have_cleaning)
        cleaning(d);
    if (r->have_eda)
        eda(d);
    if (r->nmaps)
        maps(d);
    if (r->have_cluster)
        cluster(d);
    about(d);
    if (r->have_stages)
        stages(d);
}

/* ---- Markdown ------------------------------------------------------------- */

/* One blank line before a block, however the last one ended. */
static void md_block(doc *d)
{
    dg_textbuf *b = d->b;
    if (b->len == 0)
        return;
    if (b->p[b->len - 1] != '\n')
        dg_textbuf_putc(b, '\n');
    if (b->len < 2 || b->p[b->len - 2] != '\n')
        dg_textbuf_putc(b, '\n');
}

static void md_title(doc *d, const char *text)
{
    md_block(d);
    dg_textbuf_printf(d->b, "# %s\n", text);
}

static void md_section(doc *d, const char *pane, const char *title)
{
    (void)pane;
    md_block(d);
    dg_textbuf_printf(d->b, "## %s\n", title);
}

static void md_subsection(doc *d, const char *title)
{
    md_block(d);
    dg_textbuf_printf(d->b, "### %s\n", title);
}

static void md_gallery(doc *d, int begin)
{
    (void)d;
    (void)begin;
}

static void md_para(doc *d, int begin)
{
    if (begin)
        md_block(d);
    else
        dg_textbuf_putc(d->b, '\n');
}

static void md_text(doc *d, const char *s)
{
    dg_textbuf_puts(d->b, s);
}

static void md_code(doc *d, const char *s)
{
    dg_textbuf_printf(d->b, "`%s`", s);
}

static void md_link(doc *d, const char *href, const char *text)
{
    dg_textbuf_printf(d->b, "[%s](%s)", text, href);
}

static void md_image(doc *d, const char *alt, const char *path)
{
    md_block(d);
    dg_textbuf_printf(d->b, "![%s](%s)\n", alt, path);
}

/* A table cell: '|' and line breaks would break the row. */
static void md_cell_text(dg_textbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            dg_textbuf_puts(b, "\\|");
        else if (*s == '\n' || *s == '\r')
            dg_textbuf_putc(b, ' ');
        else
            dg_textbuf_putc(b, *s);
    }
}

static void md_table(doc *d, int ncols, const char *const *head, const char *align)
{
    md_block(d);
    for (int c = 0; c < ncols; c++)
        dg_textbuf_printf(d->b, "| %s ", head[c]);
    dg_textbuf_puts(d->b, "|\n");
    for (int c = 0; c < ncols; c++)
        dg_textbuf_puts(d->b, align[c] == 'r' ? "|---:" : "|---");
    dg_textbuf_puts(d->b, "|\n");
}

static void md_cell(doc *d, const char *s, int strong)
{
    dg_textbuf_puts(d->b, strong ? "| **" : "| ");
    md_cell_text(d->b, s);
    dg_textbuf_puts(d->b, strong ? "** " : " ");
}

static void md_row_end(doc *d)
{
    dg_textbuf_puts(d->b, "|\n");
}

static void md_table_end(doc *d)
{
    (void)d;
}

static const doc_ops md_ops = {md_title, md_section, md_subsection, md_gallery, md_para,
                               md_text,  md_code,    md_link,       md_image,   md_table,
                               md_cell,  md_row_end, md_table_end};

void dg_report_md(const dg_report *r, dg_textbuf *b)
{
    doc d = {.ops = &md_ops, .r = r, .b = b};
    report_document(&d);
}

/* ---- HTML ----------------------------------------------------------------- */

void dg_html_escape(dg_textbuf *b, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '&': dg_textbuf_puts(b, "&amp;"); break;
        case '<': dg_textbuf_puts(b, "&lt;"); break;
        case '>': dg_textbuf_puts(b, "&gt;"); break;
        case '"': dg_textbuf_puts(b, "&quot;"); break;
        case '\'': dg_textbuf_puts(b, "&#39;"); break;
        default: dg_textbuf_putc(b, *s);
        }
}

void dg_base64(dg_textbuf *b, const unsigned char *p, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    dg_textbuf_reserve(b, (n + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        char q[4] = {abc[v >> 18], abc[v >> 12 & 63], abc[v >> 6 & 63], abc[v & 63]};
        dg_textbuf_put(b, q, 4);
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        char q[4] = {abc[v >> 18], abc[v >> 12 & 63], i + 1 < n ? abc[v >> 6 & 63] : '=', '='};
        dg_textbuf_put(b, q, 4);
    }
}

/* The page's style: one column of at most 70 rem, charts scaled to it,
 * tables and charts that scroll sideways in their own box when a phone is
 * narrower than they are, and the pane links kept at the top while scrolling. */
static const char html_style[] =
    ":root{--fg:#1c2230;--muted:#5a6275;--line:#dde1e8;--soft:#f3f5f8;--accent:#1f5fae}\n"
    "*{box-sizing:border-box}\n"
    "html{-webkit-text-size-adjust:100%}\n"
    "body{margin:0;background:#eef0f4;color:var(--fg);"
    "font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif}\n"
    "main{max-width:70rem;margin:0 auto;padding:1rem 1.5rem 3rem;background:#fff;"
    "min-height:100vh}\n"
    "h1{font-size:1.7rem;margin:.4rem 0 .6rem}\n"
    "h2{font-size:1.35rem;margin:2.2rem 0 .6rem;padding-bottom:.2rem;"
    "border-bottom:2px solid var(--accent)}\n"
    "h3{font-size:1.1rem;margin:1.4rem 0 .4rem}\n"
    "h4{font-size:1rem;margin:.2rem 0}\n"
    "p{margin:.5rem 0;overflow-wrap:break-word}\n"
    "a{color:var(--accent)}\n"
    "code{font:.88em ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;"
    "background:var(--soft);padding:.05em .3em;border-radius:3px;overflow-wrap:anywhere}\n"
    "nav{position:sticky;top:0;z-index:1;background:#fff;border-bottom:1px solid var(--line);"
    "margin:0 -1.5rem;padding:.5rem 1.5rem;display:flex;flex-wrap:wrap;gap:.3rem .5rem}\n"
    "nav a{text-decoration:none;padding:.15rem .6rem;border:1px solid var(--line);"
    "border-radius:1rem;font-size:.92rem;white-space:nowrap}\n"
    "nav a:hover{background:var(--soft)}\n"
    "img{display:block;max-width:100%;height:auto;margin:.6rem auto;"
    "border:1px solid var(--line);border-radius:4px}\n"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.6rem 0;"
    "width:fit-content;max-width:100%;border:1px solid var(--line);border-radius:4px}\n"
    "table{border-collapse:collapse;font-size:.9rem}\n"
    "th,td{padding:.35rem .6rem;text-align:left;vertical-align:top;"
    "border-bottom:1px solid var(--line)}\n"
    "tbody tr:last-child td{border-bottom:0}\n"
    "th{background:var(--soft);font-weight:600;white-space:nowrap}\n"
    "td.k{white-space:nowrap}\n"
    /* A text column narrower than this on a phone wraps a word a line. */
    "td:not(.n):not(.k){min-width:10rem}\n"
    "th.n,td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
    "tbody tr:nth-child(even){background:#fafbfc}\n"
    ".gallery{display:grid;gap:1rem 1.5rem;"
    "grid-template-columns:repeat(auto-fill,minmax(min(100%,28rem),1fr))}\n"
    ".card{min-width:0}\n"
    ".card p{margin:.1rem 0;font-size:.9rem}\n"
    ".chart{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}\n"
    /* A phone: a chart keeps 840 px (its text at 10-11 px, as a table's
     * smallest) and scrolls sideways in its own box, as the tables do. */
    "@media (max-width:40rem){body{font-size:15px}main{padding:.6rem .8rem 2rem}"
    "nav{margin:0 -.8rem;padding:.4rem .8rem}h1{font-size:1.35rem}h2{font-size:1.2rem}"
    "th,td{padding:.3rem .45rem}"
    ".chart{border:1px solid var(--line);border-radius:4px}"
    ".chart img{max-width:none;width:840px;margin:0;border:0}"
    ".stack{border:0;width:auto}"
    ".stack table,.stack tbody,.stack tr{display:block}.stack td{display:inline-block}"
    ".stack thead{display:none}"
    ".stack tr{border:1px solid var(--line);border-radius:4px;margin:.4rem 0;padding:.2rem 0}"
    ".stack td{border:0;padding:.1rem .5rem;min-width:0!important;text-align:left!important;"
    "white-space:normal!important}"
    ".stack td::before{content:attr(data-label) \": \";color:var(--muted)}}\n"
    /* On paper: no link bar, tables whole, a chart never split over pages. */
    "@media print{body{background:#fff}main{max-width:none;padding:0}nav{display:none}"
    ".scroll{overflow:visible;border:0}img{break-inside:avoid}}\n";

static void html_slug(const char *pane, char *out, size_t cap)
{
    size_t n = 0;
    for (; *pane && n + 1 < cap; pane++)
        out[n++] = *pane >= 'A' && *pane <= 'Z' ? (char)(*pane - 'A' + 'a') : *pane;
    out[n] = '\0';
}

static void html_title(doc *d, const char *text)
{
    dg_textbuf *b = d->b;
    dg_textbuf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<title>");
    dg_html_escape(b, text);
    dg_textbuf_puts(b, " — ");
    dg_html_escape(b, d->r->data_dir);
    dg_textbuf_printf(b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<h1>",
                      html_style);
    dg_html_escape(b, text);
    dg_textbuf_puts(b, "</h1>\n");
}

static void html_card_end(doc *d)
{
    if (d->in_card)
        dg_textbuf_puts(d->b, "</div>\n");
    d->in_card = 0;
}

static void html_section(doc *d, const char *pane, const char *title)
{
    dg_textbuf *b = d->b;
    char id[32];
    html_slug(pane, id, sizeof id);
    int opened = !d->pane || strcmp(d->pane, pane) != 0;
    if (opened) {
        if (d->pane)
            dg_textbuf_puts(b, "</section>\n");
        else
            d->nav_at = b->len; /* the pane links go before the first section */
        dg_textbuf_printf(b, "<section id=\"%s\">\n<h2>%s</h2>\n", id, pane);
        size_t n = strlen(d->nav);
        snprintf(d->nav + n, sizeof d->nav - n, "<a href=\"#%s\">%s</a>", id, pane);
        d->pane = pane;
    }
    /* A pane's first section named as the pane needs no heading of its own. */
    if (!opened || strcmp(title, pane) != 0) {
        dg_textbuf_puts(b, "<h3>");
        dg_html_escape(b, title);
        dg_textbuf_puts(b, "</h3>\n");
    }
}

static void html_subsection(doc *d, const char *title)
{
    html_card_end(d);
    dg_textbuf_puts(d->b, "<div class=\"card\">\n<h4>");
    dg_html_escape(d->b, title);
    dg_textbuf_puts(d->b, "</h4>\n");
    d->in_card = 1;
}

static void html_gallery(doc *d, int begin)
{
    if (!begin)
        html_card_end(d);
    dg_textbuf_puts(d->b, begin ? "<div class=\"gallery\">\n" : "</div>\n");
}

static void html_para(doc *d, int begin)
{
    dg_textbuf_puts(d->b, begin ? "<p>" : "</p>\n");
}

static void html_text(doc *d, const char *s)
{
    dg_html_escape(d->b, s);
}

static void html_code(doc *d, const char *s)
{
    dg_textbuf_puts(d->b, "<code>");
    dg_html_escape(d->b, s);
    dg_textbuf_puts(d->b, "</code>");
}

static void html_link(doc *d, const char *href, const char *text)
{
    dg_textbuf_puts(d->b, "<a href=\"");
    dg_html_escape(d->b, href);
    dg_textbuf_puts(d->b, "\">");
    dg_html_escape(d->b, text);
    dg_textbuf_puts(d->b, "</a>");
}

/* The chart inlined as a PNG data URI: the page needs no other file. */
static void html_image(doc *d, const char *alt, const char *path)
{
    if (d->rc != DG_OK)
        return;
    char *abs = dg_path_join(d->r->dir, path);
    FILE *f = fopen(abs, "rb");
    unsigned char *data = NULL;
    size_t n = 0, cap = 0;
    if (f) {
        for (;;) {
            if (n == cap)
                data = dg_xrealloc(data, cap = cap ? 2 * cap : 1 << 16);
            size_t got = fread(data + n, 1, cap - n, f);
            n += got;
            if (got == 0)
                break;
        }
    }
    if (!f || ferror(f)) {
        d->rc = dg_fail(d->err, "report.html: cannot read the chart %s: %s", abs,
                        strerror(errno ? errno : EIO));
    } else {
        dg_textbuf_puts(d->b, "<div class=\"chart\"><img alt=\"");
        dg_html_escape(d->b, alt);
        dg_textbuf_puts(d->b, "\" src=\"data:image/png;base64,");
        dg_base64(d->b, data, n);
        dg_textbuf_puts(d->b, "\"></div>\n");
    }
    if (f)
        fclose(f);
    free(data);
    free(abs);
}

static void html_table(doc *d, int ncols, const char *const *head, const char *align)
{
    dg_textbuf *b = d->b;
    d->ncols = ncols;
    d->col = 0;
    d->head = head;
    snprintf(d->align, sizeof d->align, "%s", align);
    /* A table of a few columns becomes a card per row on a phone (its cells
     * labelled by their columns), so its last columns (the metrics) are on
     * the screen; a wider one scrolls sideways in its box. */
    dg_textbuf_puts(b, ncols <= 5 ? "<div class=\"scroll stack\"><table>\n<thead><tr>"
                                  : "<div class=\"scroll\"><table>\n<thead><tr>");
    for (int c = 0; c < ncols; c++) {
        dg_textbuf_puts(b, align[c] == 'r' ? "<th class=\"n\">" : "<th>");
        dg_html_escape(b, head[c]);
        dg_textbuf_puts(b, "</th>");
    }
    dg_textbuf_puts(b, "</tr></thead>\n<tbody>\n");
}

static void html_cell(doc *d, const char *s, int strong)
{
    dg_textbuf *b = d->b;
    if (d->col == 0)
        dg_textbuf_puts(b, "<tr>");
    char a = d->col < (int)strlen(d->align) ? d->align[d->col] : 'l';
    dg_textbuf_puts(b, a == 'r' ? "<td class=\"n\"" : a == 'L' ? "<td class=\"k\"" : "<td");
    if (d->head && d->col < d->ncols) {
        dg_textbuf_puts(b, " data-label=\"");
        dg_html_escape(b, d->head[d->col]);
        dg_textbuf_puts(b, "\"");
    }
    dg_textbuf_puts(b, ">");
    if (strong)
        dg_textbuf_puts(b, "<strong>");
    dg_html_escape(b, s);
    if (strong)
        dg_textbuf_puts(b, "</strong>");
    dg_textbuf_puts(b, "</td>");
    d->col++;
}

static void html_row_end(doc *d)
{
    dg_textbuf_puts(d->b, "</tr>\n");
    d->col = 0;
}

static void html_table_end(doc *d)
{
    dg_textbuf_puts(d->b, "</tbody>\n</table></div>\n");
}

static const doc_ops html_ops = {html_title, html_section, html_subsection, html_gallery,
                                 html_para,  html_text,    html_code,       html_link,
                                 html_image, html_table,   html_cell,       html_row_end,
                                 html_table_end};

int dg_report_html(const dg_report *r, dg_textbuf *b, dg_err *err)
{
    doc d = {.ops = &html_ops, .r = r, .b = b, .rc = DG_OK, .err = err};
    size_t start = b->len;
    report_document(&d);
    if (d.pane)
        dg_textbuf_puts(b, "</section>\n");
    dg_textbuf_puts(b, "</main>\n</body>\n</html>\n");
    if (d.rc != DG_OK) {
        b->len = start;
        return DG_ERR;
    }
    if (d.nav[0]) {
        /* The pane links, now that every pane is known, before the first one. */
        size_t at = d.nav_at, tail = b->len - at;
        char *rest = dg_xmalloc(tail);
        memcpy(rest, b->p + at, tail);
        b->len = at;
        dg_textbuf_printf(b, "<nav>%s</nav>\n", d.nav);
        dg_textbuf_put(b, rest, tail);
        free(rest);
    }
    return DG_OK;
}
