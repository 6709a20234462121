/* The Campaigns pane: the Campaigns state (model_campaigns.h) on one screen:
 * where the rules and the predictions come from, the P(female) decile edges
 * the gender rule uses, and a row per campaign: its condition and name, and
 * once there are predictions its reach (devices, share, expected precision
 * and the base rate beside it). With chart-toggle (.) the reach shows as
 * the chart reach.png is drawn from. */
#include "app.h"

#include "chart_view.h"
#include "text.h"

#include <curses.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *pct(double v, char *buf, size_t cap)
{
    if (isnan(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.1f%%", 100 * v);
    return buf;
}

static void draw(app *a, int top, int height, int width)
{
    model *m = &a->m;
    campaigns_state *c = &m->camp;
    const dg_campaign_rules *r = &c->rules;
    char line[1400], n1[32], n2[32];
    int y = top, end = top + height;
    /* Beside a path the key is looked up, not expanded from {campaigns-rules}. */
    snprintf(line, sizeof line, "%d campaigns: %s (%s: a rule file)", r->n, c->rules_from,
             actions[ACT_CAMPAIGNS_RULES].key);
    if (m->chart[PANE_CAMPAIGNS] && c->have) {
        dg_reach_chart_desc *rc = dg_xmalloc(sizeof *rc);
        dg_reach_chart_of(r, &c->reach, rc);
        rc->chart.scroll_to = c->cur < r->n ? c->cur : r->n - 1; /* the arrows scroll it */
        snprintf(line, sizeof line, "Campaign reach: %s ({chart-toggle} the table, {save} saves "
                 "the PNG)", rc->subtitle);
        action_keys_expand(line, sizeof line); /* a count and the product's words only */
        chart_view_draw(a, &rc->chart, line, top, height, width);
        free(rc);
        return;
    }
    app_put_plain(y++, 0, width, line, A_BOLD); /* a path: drawn as it is */
    if (!c->have) {
        snprintf(line, sizeof line, "No predictions yet: %s",
                 m->models.have_result
                     ? "{campaigns-predict} predicts the test devices with the session's models"
                     : "train in the Models pane ({pane-models}), then {campaigns-predict} here; "
                       "or {campaigns-load} loads a predictions.csv");
        app_put_text(y++, width, line, 0);
    } else {
        text_count(c->n, n1, sizeof n1);
        snprintf(line, sizeof line, "%s devices from %s; %s writes the files", n1, c->pred_from,
                 actions[ACT_CAMPAIGNS_WRITE].key); /* beside a path: not through {...} */
        app_put_plain(y++, 0, width, line, 0);
        /* An edge is inf when no reference value ranks that high (ties). */
        char fe[64] = "", me[64] = "";
        if (r->female_deciles)
            snprintf(fe, sizeof fe, "female >= %.4g (%d-10)", c->dec.edge[9 - r->female_deciles],
                     11 - r->female_deciles);
        if (r->male_deciles)
            snprintf(me, sizeof me, "male < %.4g (1-%d)", c->dec.edge[r->male_deciles - 1],
                     r->male_deciles);
        text_count(c->dec.reference, n2, sizeof n2);
        char ages[48];
        snprintf(ages, sizeof ages, "%s, %s, %s", dg_age_bucket_name(0), dg_age_bucket_name(1),
                 dg_age_bucket_name(2));
        snprintf(line, sizeof line, "P(female) deciles of %s: %s, %s; age %s", n2, fe, me,
                 r->age_rule == DG_AGE_RULE_GROUP6 ? "by group6" : ages);
        y += app_put_text_wrapped(y, width, line, 0, 2);
    }
    y++;
    if (y >= end)
        return;
    /* The name takes what the numbers leave. */
    int nw = width - 2 - (3 + 17 + 8 + 6 + 9 + 6 + 6);
    if (nw < 8)
        nw = 8;
    app_cell head[] = {{"id", 3, 1},    {"targets", 17, 0},  {"devices", 8, 1}, {"share", 6, 1},
                       {"precision", 9, 1}, {"base", 6, 1}, {"campaign", nw, 0}};
    attrset(app_attr(a, COLOR_HEADER, A_BOLD | A_UNDERLINE));
    app_put_row(y++, 1, width - 2, head, 7);
    attrset(A_NORMAL);
    for (int i = 0; i <= r->n && y < end; i++) {
        char id[16], cond[128], dev[32] = "", share[16] = "", prec[16] = "", base[16] = "";
        const char *name;
        if (i == r->n) {
            if (!c->have)
                break;
            snprintf(id, sizeof id, "-");
            cond[0] = '\0';
            name = "(no campaign)";
            text_count(c->reach.untargeted, dev, sizeof dev);
            pct(c->reach.devices ? (double)c->reach.untargeted / (double)c->reach.devices : NAN,
                share, sizeof share);
        } else {
            snprintf(id, sizeof id, "%d", r->v[i].id);
            dg_campaign_condition_text(&r->v[i], cond, sizeof cond);
            name = r->v[i].name;
            if (c->have) {
                const dg_reach_row *row = &c->reach.row[i];
                text_count(row->devices, dev, sizeof dev);
                pct(row->share, share, sizeof share);
                pct(row->precision, prec, sizeof prec);
                pct(row->base_rate, base, sizeof base);
            }
        }
        app_cell cells[] = {{id, 3, 1},    {cond, 17, 0}, {dev, 8, 1},  {share, 6, 1},
                            {prec, 9, 1},  {base, 6, 1},  {name, nw, 0}};
        if (i == c->cur)
            attrset(app_attr(a, COLOR_CURSOR, A_REVERSE));
        app_put_row(y++, 1, width - 2, cells, 7);
        attrset(A_NORMAL);
    }
    if (c->have && y + 1 < end) {
        text_count(c->reach.labelled, n1, sizeof n1);
        snprintf(line, sizeof line,
                 c->reach.labelled
                     ? "precision: of the %s labelled, the targeted that meet it; base: all "
                       "that do; {save}: chart"
                     : "no labels for these devices (%s): no precision; {save}: chart",
                 n1);
        /* a count and the product's words only */
        app_put_text_wrapped(y + 1, width, line, A_DIM, end - (y + 1) > 1 ? 2 : 1);
    }
}

static int key(app *a, int id, pane_args *args)
{
    (void)args;
    switch (id) {
    case ACT_CAMPAIGNS_RULES:
        app_prompt(a, PROMPT_ARG, "campaign rules from (relative: in the output directory; "
                                  "default: the six default campaigns): ",
                   "default", actions[id].name);
        return 0;
    case ACT_CAMPAIGNS_LOAD:
        app_prompt(a, PROMPT_ARG, "predictions.csv (relative: in the output directory): ", "",
                   actions[id].name);
        return 0;
    default: return 1;
    }
}

const pane_ops pane_campaigns_ops = {
    .draw = draw,
    .key = key,
};
