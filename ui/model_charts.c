/* Chart descriptions of the workbench's views (model_charts.h). */
#include "model_charts.h"
#include "text.h"

#include "demographer/describe.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void freq_chart_of(const model *m, const sheet *s, freq_chart *out)
{
    memset(out, 0, sizeof *out);
    const dg_table *t = model_sheet_table(m, s);
    const dg_column *c = &t->cols[s->col];
    int n = s->freq.n < FREQ_CHART_MAX ? (int)s->freq.n : FREQ_CHART_MAX;
    for (int i = 0; i < n; i++) {
        const char *v = dg_cell_text(t, c, s->freq.row[i], out->text[i], sizeof out->text[i]);
        out->labels[i] = v[0] ? v : "(empty)";
        out->values[i] = (double)s->freq.count[i];
    }
    snprintf(out->title, sizeof out->title, "%s.%s: frequency", t->name, c->name);
    char values[32], rows[32];
    snprintf(out->sub, sizeof out->sub, "the %d most frequent of %s values, %s rows", n,
             text_count(s->freq.n, values, sizeof values),
             text_count(s->freq.total, rows, sizeof rows));
    /* Counts of one column: one colour, the charts' for one quantity (the
     * palette's first, blue, is the male series' in every chart). */
    for (int i = 0; i < FREQ_CHART_MAX; i++)
        out->colours[i] = COLOUR_ONE_QUANTITY;
    out->chart = (dg_chart){
        .kind = DG_CHART_BAR_H,
        .width = 1200,
        .height = 800,
        .title = out->title,
        .subtitle = out->sub,
        .value_label = "rows",
        .category_label = c->name,
        .n = n,
        .labels = out->labels,
        .values = out->values,
        .colours = out->colours,
        .value_labels = 1,
        .integer_values = 1,
    };
}
