/* report.json from the report model, and the three files written side by
 * side (report.h). The JSON keeps the keys and values `run` has always
 * written: tests, bench/run.sh and users' scripts read them. */
#include "demographer/report.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *eval_json(const dg_eval *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)e->n));
    for (int m = 0; m < DG_METRIC_COUNT; m++)
        if (dg_eval_has(e, (dg_metric)m))
            json_object_set_new(o, dg_metrics[m].name, num(dg_eval_get(e, (dg_metric)m)));
    return o;
}

/* The gap to the generator's floor: per scenario and target the model's,
 * the peer's and the floor's score and the share of the gap closed. */
static json_t *accuracy_json(const dg_report *r)
{
    json_t *rows = json_array();
    for (int i = 0; i < r->accuracy->n; i++) {
        const dg_closure *c = &r->accuracy->row[i];
        json_t *x = json_object();
        json_object_set_new(x, "scenario", json_integer(c->scenario));
        json_object_set_new(x, "target", json_string(dg_target_name(c->target)));
        json_object_set_new(x, "metric", json_string(dg_metrics[c->metric].name));
        json_object_set_new(x, "devices", json_integer(c->devices));
        json_object_set_new(x, "model", num(c->model));
        json_object_set_new(x, "peer", num(c->peer));
        json_object_set_new(x, "floor", num(c->floor));
        json_object_set_new(x, "closure", num(c->closure));
        json_array_append_new(rows, x);
    }
    json_t *o = json_object();
    json_object_set_new(o, "synth_truth", json_string(r->synth_truth));
    json_object_set_new(o, "peer_predictions",
                        r->peer_predictions ? json_string(r->peer_predictions) : json_null());
    json_object_set_new(o, "closure", json_string("(peer - model) / (peer - floor)"));
    json_object_set_new(o, "rows", rows);
    return o;
}

static json_t *stages_json(const dg_report *r)
{
    json_t *stages = json_array();
    for (int st = 0; st < DG_STAGE_COUNT; st++) {
        const dg_report_stage *x = &r->stage[st];
        json_t *y = json_object();
        json_object_set_new(y, "stage", json_string(x->name));
        json_object_set_new(y, "ran", json_boolean(x->ran));
        json_object_set_new(y, "seconds", num(x->seconds));
        if (x->note && x->note[0])
            json_object_set_new(y, "note", json_string(x->note));
        json_array_append_new(stages, y);
    }
    return stages;
}

static json_t *cleaning_json(const dg_report *r)
{
    json_t *clean = json_array();
    for (int i = 0; r->have_cleaning && i < r->nrules; i++) {
        const dg_report_rule *e = &r->rule[i];
        json_t *x = json_object();
        json_object_set_new(x, "rule", json_string(e->rule));
        json_object_set_new(x, "enabled", json_boolean(e->enabled));
        json_object_set_new(x, "table", json_string(e->table));
        json_object_set_new(x, "rows_before", json_integer((json_int_t)e->rows_before));
        json_object_set_new(x, "rows_after", json_integer((json_int_t)e->rows_after));
        json_object_set_new(x, "rows_changed", json_integer((json_int_t)e->rows_changed));
        json_object_set_new(x, "devices", json_integer((json_int_t)e->devices));
        json_object_set_new(x, "detail", json_string(e->detail));
        json_array_append_new(clean, x);
    }
    return clean;
}

int dg_report_largest_clusters(const dg_report *r, int32_t *id, int cap)
{
    int n = 0;
    /* An insertion into the top cap: clusters are many, cap is small. */
    for (int32_t c = 0; c < r->clusters; c++) {
        uint64_t ev = r->cluster[c].events;
        int at = n;
        while (at > 0 && r->cluster[id[at - 1]].events < ev)
            at--;
        if (at >= cap)
            continue;
        if (n < cap)
            n++;
        memmove(id + at + 1, id + at, (size_t)(n - 1 - at) * sizeof *id);
        id[at] = c;
    }
    return n;
}

static json_t *cluster_json(const dg_report *r)
{
    json_t *x = json_object();
    json_object_set_new(x, "eps_km", json_real(r->eps_km));
    json_object_set_new(x, "min_pts", json_real(r->min_pts));
    json_object_set_new(x, "events", json_integer((json_int_t)r->cluster_events));
    json_object_set_new(x, "clustered_events", json_integer((json_int_t)r->clustered_events));
    json_object_set_new(x, "distinct_locations", json_integer(r->distinct_locations));
    json_object_set_new(x, "clusters", json_integer(r->clusters));
    json_object_set_new(x, "noise_share", json_real(r->noise_share));
    json_object_set_new(x, "largest_cluster_share", json_real(r->largest_cluster_share));
    json_object_set_new(x, "kdist_knee_km", num(r->knee_km));
    json_t *top = json_array();
    int32_t id[DG_REPORT_TOP_CLUSTERS];
    int n = dg_report_largest_clusters(r, id, DG_REPORT_TOP_CLUSTERS);
    for (int i = 0; i < n; i++) {
        const dg_cluster_summary *m = &r->cluster[id[i]];
        json_t *y = json_object();
        json_object_set_new(y, "cluster", json_integer(id[i]));
        json_object_set_new(y, "events", json_integer((json_int_t)m->events));
        json_object_set_new(y, "devices", json_integer(m->devices));
        json_object_set_new(y, "lat", json_real(m->lat));
        json_object_set_new(y, "lon", json_real(m->lon));
        json_object_set_new(y, "radius_km", json_real(m->radius_km));
        json_array_append_new(top, y);
    }
    json_object_set_new(x, "largest_clusters", top);
    json_object_set_new(x, "files", json_pack("[sss]", "cluster/clusters.csv",
                                              "cluster/kdist.csv", "cluster/kdist.png"));
    return x;
}

/* train (runs.json whole), split, chosen_models, selection_rule, models_dir. */
static int train_json(const dg_report *r, json_t *root, dg_err *err)
{
    /* Every run exactly as runs.json has it: the report is read back from
     * the file train wrote, so the two cannot disagree. */
    json_error_t je;
    json_t *runs = json_load_file(r->runs_json, 0, &je);
    if (!runs)
        return dg_fail(err, "train/runs.json:%d:%d: %s", je.line, je.column, je.text);
    json_object_set_new(root, "train", runs);
    json_t *split = json_object();
    json_object_set_new(split, "text", json_string(r->split_text));
    json_object_set_new(split, "labelled", json_integer(r->labelled));
    for (int sc = 1; sc <= 2; sc++) {
        char k[16];
        snprintf(k, sizeof k, "train_s%d", sc);
        json_object_set_new(split, k, json_integer(r->ntrain[sc]));
        snprintf(k, sizeof k, "test_s%d", sc);
        json_object_set_new(split, k, json_integer(r->ntest[sc]));
    }
    json_object_set_new(root, "split", split);
    json_t *chosen = json_array();
    for (size_t i = 0; i < r->nruns; i++) {
        const dg_run *x = &r->runs[i];
        if (!x->chosen || !x->scenario)
            continue;
        char dir[1100];
        snprintf(dir, sizeof dir, "%.1000s/models/s%d-%s", r->train_dir, x->scenario,
                 dg_target_name(x->target));
        json_t *y = json_object();
        json_object_set_new(y, "scenario", json_integer(x->scenario));
        json_object_set_new(y, "target", json_string(dg_target_name(x->target)));
        json_object_set_new(y, "family", json_string(x->family));
        json_object_set_new(y, "params", json_string(x->params));
        json_object_set_new(y, "cv_score", num(x->cv_score));
        json_object_set_new(y, "model_dir", json_string(dir));
        json_array_append_new(chosen, y);
    }
    json_object_set_new(root, "chosen_models", chosen);
    json_object_set_new(root, "selection_rule", json_string(r->selection_rule));
    char models[1100];
    snprintf(models, sizeof models, "%.1000s/models", r->train_dir);
    json_object_set_new(root, "models_dir", json_string(models));
    return DG_OK;
}

static json_t *campaigns_json(const dg_report *r)
{
    json_t *c = json_object();
    json_t *edges = json_array();
    for (int k = 0; k < 9; k++)
        json_array_append_new(edges, num(r->decile_edge[k]));
    json_object_set_new(c, "decile_edges", edges);
    json_object_set_new(c, "devices", json_integer((json_int_t)r->campaign_devices));
    json_object_set_new(c, "labelled", json_integer((json_int_t)r->campaign_labelled));
    json_object_set_new(c, "untargeted", json_integer((json_int_t)r->untargeted));
    json_t *rows = json_array();
    for (int i = 0; i < r->ncampaigns; i++) {
        const dg_report_campaign *w = &r->campaign[i];
        json_t *y = json_object();
        json_object_set_new(y, "campaign", json_integer(w->id));
        json_object_set_new(y, "name", json_string(w->name));
        json_object_set_new(y, "condition", json_string(w->condition));
        json_object_set_new(y, "devices", json_integer((json_int_t)w->devices));
        json_object_set_new(y, "share", num(w->share));
        json_object_set_new(y, "labelled", json_integer((json_int_t)w->labelled));
        json_object_set_new(y, "expected_precision", num(w->precision));
        json_object_set_new(y, "base_rate", num(w->base_rate));
        json_array_append_new(rows, y);
    }
    json_object_set_new(c, "reach", rows);
    json_t *files = json_pack("[sssss]", "campaigns/device_campaigns.csv", "campaigns/reach.csv",
                              "campaigns/reach.png", "campaigns/thresholds.txt",
                              "campaigns/campaigns.rules");
    if (r->campaign_labelled) /* dg_campaigns_save draws it only then */
        json_array_append_new(files, json_string("campaigns/precision.png"));
    json_object_set_new(c, "files", files);
    return c;
}

static json_t *report_tree(const dg_report *r, dg_err *err)
{
    json_t *root = json_object();
    json_object_set_new(root, "version", json_string(DG_VERSION));
    json_object_set_new(root, "data_dir", json_string(r->data_dir));
    json_object_set_new(root, "shape", json_string(r->upgrad_shape ? "upgrad" : "kaggle"));
    json_object_set_new(root, "seed", json_integer((json_int_t)r->seed));
    json_object_set_new(root, "folds", json_integer(r->folds));
    if (r->have_stages)
        json_object_set_new(root, "stages", stages_json(r));

    json_t *tables = json_object();
    for (int t = 0; t < r->ntables; t++) {
        json_t *x = json_object();
        json_object_set_new(x, "rows", json_integer((json_int_t)r->table[t].rows));
        json_object_set_new(x, "file", json_string(r->table[t].file));
        json_object_set_new(tables, r->table[t].name, x);
    }
    json_object_set_new(root, "tables_after_cleaning", tables);
    json_object_set_new(root, "cleaning", cleaning_json(r));

    if (r->have_eda) {
        json_t *eda = json_array();
        for (int i = 0; i < r->neda; i++) {
            json_t *x = json_object();
            json_object_set_new(x, "chart", json_integer(r->eda[i].chart));
            json_object_set_new(x, "title", json_string(r->eda[i].title));
            json_object_set_new(x, "csv", json_string(r->eda[i].csv));
            json_object_set_new(x, "png", json_string(r->eda[i].png));
            json_array_append_new(eda, x);
        }
        json_object_set_new(root, "eda", eda);
    }
    if (r->nmaps) {
        json_t *maps = json_object();
        json_object_set_new(maps, "sampled_events", json_integer(r->map_sampled[0]));
        json_object_set_new(maps, "eligible_events", json_integer((json_int_t)r->map_eligible[0]));
        json_object_set_new(maps, "sampled_labelled_events", json_integer(r->map_sampled[1]));
        json_object_set_new(maps, "eligible_labelled_events",
                            json_integer((json_int_t)r->map_eligible[1]));
        json_t *files = json_array();
        for (int k = 0; k < r->nmaps; k++)
            json_array_append_new(files, json_string(r->map[k].png));
        json_object_set_new(maps, "png", files);
        json_object_set_new(root, "maps", maps);
    }
    if (r->have_cluster)
        json_object_set_new(root, "cluster", cluster_json(r));
    if (r->have_features) {
        json_t *feat = json_object();
        json_object_set_new(feat, "devices", json_integer(r->feature_devices));
        json_object_set_new(feat, "dense_columns", json_integer(r->feature_columns));
        json_object_set_new(feat, "apps", json_integer(r->feature_apps));
        json_object_set_new(feat, "labels", json_integer(r->feature_labels));
        json_object_set_new(root, "features", feat);
    }
    if (r->have_train && train_json(r, root, err) != DG_OK) {
        json_decref(root);
        return NULL;
    }
    if (r->have_checksum)
        json_object_set_new(root, "data_checksum", json_string(r->checksum));
    if (r->split_text && !json_object_get(root, "split"))
        json_object_set_new(root, "split", json_pack("{ss}", "text", r->split_text));
    if (r->nevals) {
        json_t *ev = json_array();
        for (int i = 0; i < r->nevals; i++) {
            const dg_report_eval *e = &r->eval[i];
            json_t *y = json_object();
            json_object_set_new(y, "scenario", json_integer(e->scenario));
            json_object_set_new(y, "target", json_string(dg_target_name(e->target)));
            json_object_set_new(y, "family", json_string(e->family));
            json_object_set_new(y, "identical_to_train", json_boolean(e->identical));
            json_object_set_new(y, "test", eval_json(&e->test));
            json_array_append_new(ev, y);
        }
        json_object_set_new(root, "evaluation", ev);
    }
    if (r->have_predictions) {
        json_t *p = json_object();
        json_object_set_new(p, "devices", json_integer((json_int_t)r->npredictions));
        json_object_set_new(p, "file", json_string("predictions.csv"));
        json_object_set_new(root, "predictions", p);
    }
    if (r->accuracy)
        json_object_set_new(root, "accuracy", accuracy_json(r));
    if (r->have_campaigns)
        json_object_set_new(root, "campaigns", campaigns_json(r));
    return root;
}

char *dg_report_json(const dg_report *r, dg_err *err)
{
    json_t *root = report_tree(r, err);
    if (!root)
        return NULL;
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!text)
        dg_fail(err, "report.json: could not format the report (out of memory)");
    return text;
}

int dg_report_write(const dg_report *r, dg_err *err)
{
    char *text = dg_report_json(r, err);
    if (!text)
        return DG_ERR;
    char *path = dg_path_join(r->dir, "report.json");
    int rc = dg_write_file_atomic(path, text, strlen(text), err);
    free(text);
    free(path);
    dg_textbuf b;
    memset(&b, 0, sizeof b);
    if (rc == DG_OK) {
        dg_report_md(r, &b);
        path = dg_path_join(r->dir, "report.md");
        rc = dg_textbuf_save(&b, path, err);
        free(path);
    }
    if (rc == DG_OK)
        rc = dg_report_html(r, &b, err);
    if (rc == DG_OK) {
        path = dg_path_join(r->dir, "report.html");
        rc = dg_textbuf_save(&b, path, err);
        free(path);
    }
    dg_textbuf_free(&b);
    return rc;
}

void dg_report_set_campaigns(dg_report *r, const dg_campaign_rules *rules, const dg_deciles *dec,
                             const dg_reach *reach)
{
    r->have_campaigns = 1;
    for (int k = 0; k < 9; k++)
        r->decile_edge[k] = dec->edge[k];
    r->campaign_devices = reach->devices;
    r->campaign_labelled = reach->labelled;
    r->untargeted = reach->untargeted;
    r->ncampaigns = rules->n;
    for (int i = 0; i < rules->n; i++) {
        const dg_reach_row *w = &reach->row[i];
        dg_report_campaign *x = &r->campaign[i];
        x->id = rules->v[i].id;
        x->name = rules->v[i].name;
        dg_campaign_condition_text(&rules->v[i], x->condition, sizeof x->condition);
        x->devices = w->devices;
        x->share = w->share;
        x->labelled = w->labelled;
        x->precision = w->precision;
        x->base_rate = w->base_rate;
    }
}
