/* The row under the cursor in full, for the detail view (Enter): what a
 * column on an 80-column screen cuts. Curses-free. */
#include "detail.h"

#include "demographer/pipeline.h"

#include "text.h"

#include "demographer/describe.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

static void add(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *out, size_t cap, const char *fmt, ...)
{
    size_t o = strlen(out);
    if (o + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + o, cap - o, fmt, ap);
    va_end(ap);
}

static int sheet_row(model *m, sheet *s, char *out, size_t cap, dg_err *err)
{
    const dg_table *t = model_sheet_table(m, s);
    char cell[1024], n1[32], n2[32];
    if (!s->nrows)
        return dg_fail(err, "the sheet has no rows");
    text_count(s->cur + 1, n1, sizeof n1);
    text_count(s->nrows, n2, sizeof n2);
    if (s->kind == SHEET_FREQ) {
        const dg_column *c = &t->cols[s->col];
        const char *v = dg_cell_text(t, c, s->freq.row[s->cur], cell, sizeof cell);
        snprintf(out, cap, "%s.%s frequency, value %s of %s\n", t->name, c->name, n1, n2);
        add(out, cap, "%s: %s\n", c->name, v[0] ? v : "(empty)");
        text_count(s->freq.count[s->cur], n1, sizeof n1);
        text_count(s->freq.total, n2, sizeof n2);
        add(out, cap, "count: %s of %s rows (%.2f%%)\n", n1, n2,
            s->freq.total ? 100.0 * (double)s->freq.count[s->cur] / (double)s->freq.total : 0);
        return DG_OK;
    }
    uint64_t row = s->order ? s->order[s->cur] : s->cur;
    snprintf(out, cap, "%s, row %s of %s\n", t->name, n1, n2);
    for (int c = 0; c < t->ncols; c++)
        add(out, cap, "%s: %s\n", t->cols[c].name,
            dg_cell_text(t, &t->cols[c], row, cell, sizeof cell));
    return DG_OK;
}

static int rule_row(model *m, char *out, size_t cap, dg_err *err)
{
    const clean_state *c = &m->cl;
    int i = m->clean_cur;
    if (i < 0 || i >= c->rules.n)
        return dg_fail(err, "no rules");
    const dg_rule *r = &c->rules.v[i];
    char params[256];
    snprintf(out, cap, "rule %d of %d: %s (%s)\n", i + 1, c->rules.n, dg_rule_keyword(r->kind),
             r->enabled ? "on" : "off");
    add(out, cap, "what it does: %s\n", dg_rule_help(r->kind));
    if (model_rule_params(r, params, sizeof params)[0])
        add(out, cap, "parameters: %s ({rule-set} edits them)\n", params);
    else
        add(out, cap, "parameters: none\n");
    if (m->preview) {
        const dg_rule_effect *e = &m->preview[i];
        char rows[32], dv[32];
        if (r->enabled)
            add(out, cap, "preview: %s rows, %s devices: %s\n",
                text_count(e->rows_changed, rows, sizeof rows),
                text_count(e->devices, dv, sizeof dv), e->detail);
        else
            add(out, cap, "preview: off, would change nothing\n");
    }
    if (i < c->applied.n) {
        const dg_rule *ar = &c->applied.v[i];
        const dg_rule_effect *e = &c->effects[i];
        add(out, cap, "last apply, rule %d: %s (%s)\n", i + 1, dg_rule_keyword(ar->kind),
            ar->enabled ? "on" : "off");
        if (ar->enabled) {
            char b[32], af[32], ch[32], dv[32];
            add(out, cap, "  table: %s; rows %s before, %s after; %s changed, of %s devices\n",
                e->table ? e->table : "-", text_count(e->rows_before, b, sizeof b),
                text_count(e->rows_after, af, sizeof af), text_count(e->rows_changed, ch, sizeof ch),
                text_count(e->devices, dv, sizeof dv));
            add(out, cap, "  what it did: %s\n", e->detail);
        }
    }
    return DG_OK;
}

/* The settings view's cursor family: its whole description (the list cuts it). */
static int family_row(const models_state *s, char *out, size_t cap)
{
    const dg_model_family *f = s->fam[s->fam_cur];
    char spec[96];
    snprintf(out, cap, "%s: %s\n", f->name, s->family_on[s->fam_cur] ? "on" : "off");
    add(out, cap, "trains: %s\n", s->family_targets[s->fam_cur][0]
                                       ? models_family_spec(s, s->fam_cur, spec, sizeof spec)
                                       : "every target");
    add(out, cap, "what it is: %s\n", f->summary);
    const char *grid = f->grid ? f->grid : "";
    size_t n = strlen(f->name);
    /* The grid run gives it, when run gives it its own. */
    for (const dg_default_family *d = dg_default_families; d->family; d++)
        if (d->grid && strncmp(d->grid, f->name, n) == 0 && d->grid[n] == ':')
            grid = d->grid + n + 1;
    add(out, cap, "cross-validation grid: %s\n", grid[0] ? grid : "(none: nothing to tune)");
    double sec = models_family_seconds(s, s->fam_cur);
    if (!isnan(sec))
        add(out, cap, "estimated fit seconds: %.1f (what its targets and scenarios took in the last "
                      "training, cross-validation and refits summed over folds)\n",
            sec);
    else
        add(out, cap, "estimated fit seconds: no estimate yet (a training of its targets and "
                      "scenarios gives one)\n");
    return DG_OK;
}

static int run_row(model *m, char *out, size_t cap, dg_err *err)
{
    const models_state *s = &m->models;
    if (s->view != MODELS_VIEW_RUNS)
        return family_row(s, out, cap);
    const dg_run *r = models_run_at_cursor(s);
    if (!r)
        return dg_fail(err, "no runs yet ({models-train} trains)");
    char cell[256];
    snprintf(out, cap, "run %zu of %zu%s\n", s->cur + 1, s->nshown,
             r->chosen ? ", chosen" : "");
    for (int c = 0; c < RUNCOL_COUNT; c++) {
        if (c == RUNCOL_CHOSEN)
            continue;
        const char *v = models_cell(r, c, cell, sizeof cell);
        if (v[0])
            add(out, cap, "%s: %s\n", models_run_columns[c], v);
    }
    add(out, cap, "grid combinations cross-validated: %d\n", r->ncombos);
    add(out, cap, "devices: %" PRIu32 " train, %" PRIu32 " test\n", r->ntrain, r->ntest);
    return DG_OK;
}

static int campaign_row(model *m, char *out, size_t cap, dg_err *err)
{
    const campaigns_state *c = &m->camp;
    const dg_campaign_rules *r = &c->rules;
    int i = c->cur;
    if (i < 0 || i > r->n || (i == r->n && !c->have))
        return dg_fail(err, "no campaigns");
    char n1[32];
    if (i == r->n) {
        snprintf(out, cap, "(no campaign): the devices no rule targets\n");
        add(out, cap, "devices: %s\n", text_count(c->reach.untargeted, n1, sizeof n1));
        return DG_OK;
    }
    char cond[256];
    dg_campaign_condition_text(&r->v[i], cond, sizeof cond);
    snprintf(out, cap, "campaign %d: %s\n", r->v[i].id, r->v[i].name);
    add(out, cap, "targets: %s\n", cond);
    if (c->have) {
        const dg_reach_row *row = &c->reach.row[i];
        add(out, cap, "devices: %s\n", text_count(row->devices, n1, sizeof n1));
        if (!isnan(row->share))
            add(out, cap, "share: %.1f%%\n", 100 * row->share);
        if (!isnan(row->precision))
            add(out, cap, "expected precision: %.1f%% (base rate %.1f%%)\n", 100 * row->precision,
                100 * row->base_rate);
    } else {
        add(out, cap, "reach: none yet ({campaigns-predict} predicts)\n");
    }
    return DG_OK;
}

static int row_detail(model *m, char *out, size_t cap, dg_err *err);

int model_row_detail(model *m, char *out, size_t cap, dg_err *err)
{
    int rc = row_detail(m, out, cap, err);
    if (rc == DG_OK)
        action_keys_expand(out, cap);
    else
        action_keys_expand(err->msg, sizeof err->msg);
    return rc;
}

/* The cities of the map on screen, with the names the map had no room for. */
static int city_list(model *m, char *out, size_t cap, dg_err *err)
{
    const geo_state *g = &m->geo;
    if (!g->have_sample || !g->labels)
        return dg_fail(err, "no map yet ({geo-sample} samples the events)");
    int left_out = 0;
    for (int i = 0; i < g->nlabels; i++)
        left_out += g->labels[i].name_col < 0;
    snprintf(out, cap, "Cities on the map: %d", g->nlabels);
    if (left_out)
        add(out, cap, ", %d of them unnamed (no room at this size: {geo-zoom-in} zooms in)",
            left_out);
    add(out, cap, "\n");
    for (int i = 0; i < g->nlabels; i++) {
        const dg_city *c = &dg_cities[g->labels[i].city];
        add(out, cap, "%-12s %6.2f°%c %7.2f°%c%s\n", c->name, fabs(c->lat), c->lat < 0 ? 'S' : 'N',
            fabs(c->lon), c->lon < 0 ? 'W' : 'E', g->labels[i].name_col < 0 ? "  (unnamed on the map)" : "");
    }
    return DG_OK;
}

const char *model_row_detail_title(model *m)
{
    if (!model_sheet(m) && m->pane == PANE_GEO && m->dbs.view == GEO_VIEW_MAP)
        return "The cities labelled on the map";
    return "The cursor's row in full";
}

static int row_detail(model *m, char *out, size_t cap, dg_err *err)
{
    out[0] = '\0';
    sheet *s = model_sheet(m);
    if (s)
        return sheet_row(m, s, out, cap, err);
    switch (m->pane) {
    case PANE_CLEAN: return rule_row(m, out, cap, err);
    case PANE_MODELS: return run_row(m, out, cap, err);
    case PANE_CAMPAIGNS: return campaign_row(m, out, cap, err);
    case PANE_GEO:
        if (m->dbs.view == GEO_VIEW_MAP)
            return city_list(m, out, cap, err);
        return dg_fail(err, "no row to show in full here");
    default: return dg_fail(err, "no row to show in full here");
    }
}
