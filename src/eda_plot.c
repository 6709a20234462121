/* The ten EDA tables drawn as charts: which chart kind, series and labels
 * each table gets. */
#include "demographer/eda.h"
#include "demographer/plot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The columns of a table a chart shows (-1 ends the list), and which of
 * them (or, for a chart of one series, which rows) are a gender: "FM" is
 * female then male, '-' a plain series. eda.c writes these tables with the
 * genders in that order. */
typedef struct view {
    const char *slug_prefix;
    dg_chart_kind kind;
    int stacked;
    int cols[6];
    const char *value_label;
    const char *genders;     /* per column, or per row when rows_gendered; NULL: none */
    int rows_gendered;
    int value_labels;        /* print each bar's value (or its stack's total) */
} view;

static const view views[] = {
    {"01-age", DG_CHART_BAR_V, 1, {0, 1, -1}, "devices", "FM", 0, 0},
    {"01-gender", DG_CHART_BAR_H, 0, {1, -1}, "% of labelled devices", "FM", 1, 1},
    {"02-age-box", DG_CHART_BOX, 0, {3, 4, 5, 6, 7, -1}, "age (years)", "FM", 1, 0},
    {"03-with-events", DG_CHART_BAR_H, 0, {1, 3, -1}, "% of devices", NULL, 0, 0},
    {"04-weekday", DG_CHART_BAR_V, 0, {0, -1}, "events", NULL, 0, 0},
    {"05-week-hours", DG_CHART_LINE, 0, {0, -1}, "events per hour", NULL, 0, 0},
    {"06-hour-gender", DG_CHART_LINE, 0, {0, 1, -1}, "% of the gender's events in the week",
     "FM", 0, 0},
    {"07-weekday-age", DG_CHART_BAR_V, 0, {0, 1, 2, 3, -1}, "% of the age group's events", NULL,
     0, 0},
    {"08-brands-gender", DG_CHART_BAR_H, 1, {0, 1, -1}, "labelled devices", "FM", 0, 1},
    {"09-apps-gender", DG_CHART_BAR_H, 1, {1, 2, -1}, "% of the app's events", "MF", 0, 0},
    {"10-brands-age", DG_CHART_BAR_H, 0, {1, -1}, "% of the age group's devices", NULL, 0, 1},
};

/* Palette indices for series that are neither gender: the age groups'
 * colours of the maps first, never the genders' blue and vermilion. */
static const int other_colours[] = {2, 1, 5, 4, 6, 7};

static dg_series_kind kind_of_letter(char g)
{
    return g == 'F' ? DG_SERIES_FEMALE : g == 'M' ? DG_SERIES_MALE : DG_SERIES_PLAIN;
}

int dg_eda_chart_of(const dg_eda *e, int i, dg_eda_chart *out, dg_err *err)
{
    memset(out, 0, sizeof *out);
    const dg_eda_table *t = &e->tables[i];
    const view *v = NULL;
    for (size_t k = 0; k < sizeof views / sizeof *views; k++)
        if (strncmp(e->slug[i], views[k].slug_prefix, strlen(views[k].slug_prefix)) == 0)
            v = &views[k];
    if (!v)
        return dg_fail(err, "no chart for table %s", e->slug[i]);
    int ns = 0;
    while (ns < 6 && v->cols[ns] >= 0)
        ns++;
    out->values = dg_xmalloc(((size_t)t->nrows * ns + 1) * sizeof *out->values);
    out->series = dg_xmalloc(((size_t)ns + 1) * sizeof *out->series);
    int nc = ns > t->nrows ? ns : t->nrows;
    out->colours = dg_xmalloc(((size_t)nc + 1) * sizeof *out->colours);
    out->kinds = dg_xcalloc((size_t)nc + 1, sizeof *out->kinds);
    for (int s = 0; s < ns; s++)
        out->series[s] = t->series_names[v->cols[s]];
    for (int r = 0; r < t->nrows; r++)
        for (int s = 0; s < ns; s++)
            out->values[r * ns + s] = dg_eda_value(t, r, v->cols[s]);
    /* A colour per series (per label for a box plot or a one-series bar
     * chart): a gender's own where the view says so, else the others'. */
    int per_label = v->kind == DG_CHART_BOX || ns == 1;
    int nkeys = per_label ? t->nrows : ns;
    for (int k = 0; k < nkeys; k++) {
        out->colours[k] = per_label && v->kind != DG_CHART_BOX && !v->genders ? 0
                                                                               : other_colours[k % 6];
        if (v->genders && (per_label == v->rows_gendered) && k < (int)strlen(v->genders))
            out->kinds[k] = kind_of_letter(v->genders[k]);
    }
    snprintf(out->subtitle, sizeof out->subtitle, "%s", t->unit);
    /* Counts of devices or events print as integers, shares keep decimals. */
    int counts = !strchr(v->value_label, '%');
    for (int s = 0; s < ns && counts; s++)
        counts = dg_eda_series_is_count(t, v->cols[s]);
    out->chart = (dg_chart){
        .kind = v->kind,
        .title = t->title,
        .subtitle = out->subtitle,
        .value_label = v->value_label,
        .category_label = t->row_label,
        .n = t->nrows,
        .labels = (const char *const *)t->row_names,
        .values = out->values,
        .value_labels = v->value_labels,
        .nseries = v->kind == DG_CHART_BOX ? 0 : ns,
        .series_names = out->series,
        .stacked = v->stacked,
        .integer_values = counts,
        .colours = per_label && !v->genders && v->kind != DG_CHART_BOX ? NULL : out->colours,
        .kinds = v->genders ? out->kinds : NULL,
    };
    return DG_OK;
}

void dg_eda_chart_free(dg_eda_chart *c)
{
    free(c->values);
    free(c->series);
    free(c->colours);
    free(c->kinds);
    memset(c, 0, sizeof *c);
}

int dg_eda_save_chart(const dg_eda *e, int i, const char *path, dg_err *err)
{
    dg_eda_chart c;
    if (dg_eda_chart_of(e, i, &c, err) != DG_OK)
        return DG_ERR;
    int rc = dg_chart_save(&c.chart, path, err);
    dg_eda_chart_free(&c);
    return rc;
}
