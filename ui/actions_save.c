/* save: the current view as a PNG, named by the pane and the view, in the
 * output directory (an EDA table: its CSV beside it). */
#include "model_actions.h"
#include "model_charts.h"

#include "demographer/plot.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The frequency sheet's chart: its 20 most frequent values (model_charts.c). */
static int save_freq(model *m, const sheet *s, dg_err *err)
{
    const dg_table *t = model_sheet_table(m, s);
    const dg_column *c = &t->cols[s->col];
    freq_chart *fc = dg_xmalloc(sizeof *fc);
    freq_chart_of(m, s, fc);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s-freq-%s-%s.png", m->out_dir, pane_names[m->pane], t->name,
             c->name);
    int rc = dg_mkdirs(m->out_dir, err);
    if (rc == DG_OK)
        rc = dg_chart_save(&fc->chart, path, err);
    int w = fc->chart.width, h = fc->chart.height;
    free(fc);
    if (rc == DG_OK) {
        snprintf(m->saved, sizeof m->saved, "%.1000s", path);
        model_say(m, "saved %.1000s (%dx%d PNG)", path, w, h);
    }
    return rc;
}

/* An EDA table's chart and its CSV, named by the table's slug. */
static int save_eda(model *m, int i, dg_err *err)
{
    char png[PATH_MAX], csv[PATH_MAX], name[DG_EDA_FILE_NAME_MAX];
    dg_eda_file_name(&m->eda, i, "png", name);
    snprintf(png, sizeof png, "%s/%s", m->out_dir, name);
    dg_eda_file_name(&m->eda, i, "csv", name);
    snprintf(csv, sizeof csv, "%s/%s", m->out_dir, name);
    if (dg_mkdirs(m->out_dir, err) != DG_OK || dg_eda_save_chart(&m->eda, i, png, err) != DG_OK ||
        dg_eda_table_write_csv(&m->eda.tables[i], csv, err) != DG_OK)
        return DG_ERR;
    snprintf(m->saved, sizeof m->saved, "%.1000s", png);
    model_say(m, "saved %.1000s and its .csv", png);
    return DG_OK;
}

int model_save(model *m, dg_err *err)
{
    sheet *s = model_sheet(m);
    if (m->pane == PANE_EDA) {
        if (m->eda_open && m->eda_sheet.eda == 2)
            return dg_fail(err, "a device's features are shown, not charted (demographer "
                                "features --out writes every device's)");
        if (!m->have_eda)
            return dg_fail(err, "no EDA tables yet ({eda-compute} computes them)");
        return save_eda(m, m->eda_open ? m->eda_sheet.table : m->eda_cur, err);
    }
    if (m->pane == PANE_CLEAN)
        return dg_fail(err, "nothing to save as a PNG here: {rules-save} saves the rules");
    if (m->pane == PANE_GEO && m->dbs.view == GEO_VIEW_KDIST) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/geo-kdist.png", m->out_dir);
        if (dg_mkdirs(m->out_dir, err) != DG_OK || dbscan_save_kdist(&m->dbs, path, err) != DG_OK)
            return DG_ERR;
        snprintf(m->saved, sizeof m->saved, "%.1000s", path);
        model_say(m, "saved %.1000s (k-distance, k = %g)", path, m->dbs.kdist.k);
        return DG_OK;
    }
    if (m->pane == PANE_GEO && m->dbs.view == GEO_VIEW_SWEEP && m->dbs.nrows) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/geo-sweep.png", m->out_dir);
        dg_sweep_chart *sc = dg_xmalloc(sizeof *sc);
        dg_sweep_chart_of(m->dbs.rows, m->dbs.nrows, m->dbs.eps_km, sc);
        int rc = dg_mkdirs(m->out_dir, err) == DG_OK ? dg_chart_save(&sc->chart, path, err) : DG_ERR;
        free(sc);
        if (rc != DG_OK)
            return DG_ERR;
        snprintf(m->saved, sizeof m->saved, "%.1000s", path);
        model_say(m, "saved %.1000s (the sweep's clusters by eps and minPts)", path);
        return DG_OK;
    }
    if (m->pane == PANE_GEO && m->dbs.view != GEO_VIEW_MAP)
        return dg_fail(err, "{save} saves the map, the k-distance chart or the sweep's: "
                            "{dbscan-view} goes to the kdist or sweep view");
    if (m->pane == PANE_GEO) {
        char path[PATH_MAX];
        int w, h;
        snprintf(path, sizeof path, "%s/geo-%s.png", m->out_dir, dg_map_kind_name(m->geo.kind));
        if (dg_mkdirs(m->out_dir, err) != DG_OK || geo_save(&m->geo, path, &w, &h, err) != DG_OK)
            return DG_ERR;
        snprintf(m->saved, sizeof m->saved, "%.1000s", path);
        model_say(m, "saved %.1000s (%dx%d PNG)%s%s", path, w, h,
            m->geo.basemap_state < 0 ? "; no basemap: " : "",
            m->geo.basemap_state < 0 ? m->geo.basemap_error : "");
        return DG_OK;
    }
    if (m->pane == PANE_MODELS)
        return models_save(&m->models, m->out_dir, m->saved, sizeof m->saved, m->msg,
                           sizeof m->msg, err);
    if (m->pane == PANE_CAMPAIGNS)
        return campaigns_save(&m->camp, m->out_dir, m->saved, sizeof m->saved, m->msg,
                              sizeof m->msg, err);
    if (!s || s->kind != SHEET_FREQ)
        return dg_fail(err, "nothing to save here: open a column's frequency table ({freq}) first");
    return save_freq(m, s, err);
}
