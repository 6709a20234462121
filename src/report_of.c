/* The report model filled from the work's results, the same way for a run
 * (pipeline.c) and for the workbench's report (ui/jobs_report.c): each part
 * of dg_report from the library's own result of that step. */
#include "demographer/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void dg_report_set_tables(dg_report *r, const dg_dataset *ds, const uint64_t *rows)
{
    for (int t = 0; t < DG_T_COUNT; t++)
        if (ds->present[t])
            r->table[r->ntables++] = (dg_report_table){
                dg_tables[t].name, rows ? rows[t] : ds->tables[t].nrows,
                ds->sources[t].path ? ds->sources[t].path : ""};
}

void dg_report_set_cleaning(dg_report *r, const dg_rules *rules, const dg_rule_effect *effects,
                            dg_report_rule *rows)
{
    for (int i = 0; i < rules->n; i++) {
        const dg_rule_effect *e = &effects[i];
        rows[i] = (dg_report_rule){dg_rule_keyword(rules->v[i].kind), rules->v[i].enabled,
                                   e->table ? e->table : "", e->rows_before, e->rows_after,
                                   e->rows_changed, e->devices, e->detail};
    }
    r->have_cleaning = 1;
    r->nrules = rules->n;
    r->rule = rows;
}

void dg_report_add_eda(dg_report *r, const dg_eda *e, int i)
{
    r->have_eda = 1;
    dg_report_eda *x = &r->eda[r->neda++];
    x->chart = e->chart_of[i];
    x->title = e->tables[i].title;
    char name[DG_EDA_FILE_NAME_MAX];
    dg_eda_file_name(e, i, "csv", name);
    snprintf(x->csv, sizeof x->csv, "eda/%s", name);
    dg_eda_file_name(e, i, "png", name);
    snprintf(x->png, sizeof x->png, "eda/%s", name);
}

void dg_report_set_map(dg_report *r, int k)
{
    r->map[k].name = dg_map_kind_name((dg_map_kind)k);
    snprintf(r->map[k].png, sizeof r->map[k].png, "maps/maps-%s.png", r->map[k].name);
}

void dg_report_set_cluster(dg_report *r, const dg_dbscan_report *c, double eps_km, double min_pts,
                           uint64_t events, uint64_t clustered, uint32_t locations,
                           const dg_cluster_summary *summary)
{
    double tw = c->total_weight > 0 ? c->total_weight : 1;
    r->have_cluster = 1;
    r->eps_km = eps_km;
    r->min_pts = min_pts;
    r->cluster_events = events;
    r->clustered_events = clustered;
    r->distinct_locations = locations;
    r->clusters = c->clusters;
    r->noise_share = c->noise_weight / tw;
    r->largest_cluster_share = c->largest_cluster_weight / tw;
    r->cluster = summary;
}

void dg_report_set_features(dg_report *r, const dg_features *f)
{
    r->have_features = 1;
    r->feature_devices = f->ndevices;
    r->feature_columns = f->ncols;
    r->feature_apps = f->apps_installed.ncols;
    r->feature_labels = f->labels.ncols;
}

void dg_report_set_train(dg_report *r, const dg_train_result *res, const char *train_dir,
                         const char *runs_json)
{
    r->have_train = 1;
    r->train_dir = train_dir;
    r->runs_json = runs_json;
    r->selection_rule = res->rule;
    r->runs = res->runs;
    r->nruns = res->nruns;
    r->ablation = res->ablation;
    r->nablation = res->nablation;
    r->split_text = res->split_text;
    r->labelled = res->nlabelled;
    for (int sc = 1; sc <= 2; sc++) {
        r->ntrain[sc] = res->ntrain[sc];
        r->ntest[sc] = res->ntest[sc];
    }
}

void dg_report_add_train_charts(dg_report *r, const char *abs_train_dir, const char *train_dir)
{
    /* The file stems train_charts.c gives its charts (DG_TRAIN_CHART_* order). */
    static const char *const charts[DG_TRAIN_CHARTS] = {"roc_gender", "calibration_gender",
                                                        "residuals_age_s1", "residuals_age_s2"};
    for (int i = 0; i < DG_TRAIN_CHARTS; i++) {
        dg_report_chart *x = &r->train_chart[r->ntrain_charts];
        char file[64];
        snprintf(file, sizeof file, "%s.png", charts[i]);
        snprintf(x->png, sizeof x->png, "%.60s/%.30s", train_dir, file);
        char *abs = dg_path_join(abs_train_dir, file);
        /* train draws only the charts it has data for */
        if (access(abs, R_OK) == 0) {
            x->name = charts[i];
            r->ntrain_charts++;
        }
        free(abs);
    }
}
