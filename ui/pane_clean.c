/* The Clean pane: the cleaning rules in order (on or off, and what each one
 * would change, from its help line), then, once applied, what each rule of
 * that apply did: its table, rows before and after, rows changed or dropped,
 * the devices they belong to, and a sentence. */
#include "app.h"

#include "text.h"

#include <curses.h>
#include <inttypes.h>
#include <string.h>

/* Writes cells left to right: each (text, width, right-aligned) with one
 * space between. */
static void header(app *a, int y, int width, const app_cell *cells, int n)
{
    attrset(app_attr(a, COLOR_HEADER, A_BOLD | A_UNDERLINE));
    app_put_row(y, 1, width - 2, cells, n);
    attrset(A_NORMAL);
}

static void draw_effects(app *a, int y, int end, int width)
{
    const clean_state *c = &a->m.cl;
    int rest = width - 2 - (2 + 21 + 16 + 8 + 8 + 8 + 7 + 7);
    app_cell head[] = {{"#", 2, 1},        {"rule applied", 21, 0}, {"table", 16, 0},
                   {"before", 8, 1},   {"after", 8, 1},        {"changed", 8, 1},
                   {"devices", 7, 1},  {"what it did", rest, 0}};
    /* Too narrow for the sentences: they go on a line of their own, the
     * cursor's rule's, under the table. */
    int ncells = rest >= 12 ? 8 : 7;
    header(a, y++, width, head, ncells);
    /* The effects scroll with the rule list: the cursor's rule is in view
     * (rules 9 and 10 of 10 were out of reach at 80x24). */
    int room = end - y - (ncells == 7 ? 1 : 0), first = 0;
    if (room < 1)
        room = 1;
    if (a->m.clean_cur >= room)
        first = a->m.clean_cur - room + 1;
    if (first > c->applied.n - room)
        first = c->applied.n - room > 0 ? c->applied.n - room : 0;
    for (int i = first; i < c->applied.n && i < first + room && y < end; i++) {
        const dg_rule_effect *e = &c->effects[i];
        char n[16], b[32] = "", af[32] = "", ch[32] = "", dv[32] = "";
        snprintf(n, sizeof n, "%d", i + 1);
        /* A rule that was off says so, not a row of blanks. */
        const char *table = e->table ? e->table : "", *detail = e->detail;
        if (!c->applied.v[i].enabled) {
            table = "(off)";
            detail = "off in this apply: changed nothing";
        } else {
            text_count(e->rows_before, b, sizeof b);
            text_count(e->rows_after, af, sizeof af);
            text_count(e->rows_changed, ch, sizeof ch);
            text_count(e->devices, dv, sizeof dv);
        }
        app_cell row[] = {{n, 2, 1},
                      {dg_rule_keyword(c->applied.v[i].kind), 21, 0},
                      {table, 16, 0},
                      {b, 8, 1},
                      {af, 8, 1},
                      {ch, 8, 1},
                      {dv, 7, 1},
                      {detail, rest, 0}};
        if (!c->applied.v[i].enabled)
            attrset(A_DIM);
        app_put_row(y++, 1, width - 2, row, ncells);
        attrset(A_NORMAL);
    }
    int i = a->m.clean_cur;
    if (ncells == 7 && y < end && i < c->applied.n) {
        char line[512];
        snprintf(line, sizeof line, "%d %s: %s", i + 1, dg_rule_keyword(c->applied.v[i].kind),
                 c->effects[i].detail);
        app_put_plain(y, 0, width, line, A_NORMAL);
    }
}

static void draw(app *a, int top, int height, int width)
{
    model *m = &a->m;
    const clean_state *c = &m->cl;
    char line[1024];
    int y = top, end = top + height;
    int on = 0;
    for (int i = 0; i < c->rules.n; i++)
        on += c->rules.v[i].enabled;
    snprintf(line, sizeof line, "Rules: %d, %d on.  Data: %s", c->rules.n, on,
             !m->loaded          ? "none loaded ({pane-load} goes to the Load pane)"
             : c->have_cleaned   ? "cleaned by the apply below (the EDA pane uses it)"
             : m->have_pushed    ? "aggregated on the server with the rules as they were at the load"
                                 : "loaded, not cleaned: {clean-apply} applies the rules");
    app_put_text(y++, width, line, A_BOLD);
    int hw = width - 2 - (2 + 3 + 21 + 3);
    app_cell head[] = {{"#", 2, 1},
                   {"on", 3, 0},
                   {"rule", 21, 0},
                   {m->preview ? "what it would change (preview: rows, devices)"
                               : "what it would change",
                    hw, 0}};
    header(a, y++, width, head, 4);
    /* A long rule file scrolls: the list keeps the cursor in view and, once
     * applied, leaves half the area to the effects. */
    int room = c->applied.n ? (end - y - 1) / 2 : end - y - 1, first = 0;
    if (room < 1)
        room = 1;
    if (m->clean_cur >= room)
        first = m->clean_cur - room + 1;
    if (c->rules.n <= room)
        first = 0;
    for (int i = first; i < c->rules.n && i < first + room && y < end; i++) {
        const dg_rule *r = &c->rules.v[i];
        char n[16], what[512];
        snprintf(n, sizeof n, "%d", i + 1);
        /* The rule's parameters before its description; after a preview, its
         * counts in place of the description. */
        char params[256];
        if (model_rule_params(r, params, sizeof params)[0])
            snprintf(what, sizeof what, "%s: %s", params, dg_rule_help(r->kind));
        else
            snprintf(what, sizeof what, "%s", dg_rule_help(r->kind));
        if (m->preview && r->enabled) {
            const dg_rule_effect *e = &m->preview[i];
            char rows[32], dv[32];
            snprintf(what, sizeof what, "%s rows, %s devices: %s",
                     text_count(e->rows_changed, rows, sizeof rows),
                     text_count(e->devices, dv, sizeof dv), e->detail);
        } else if (m->preview) {
            snprintf(what, sizeof what, "%s", "off: would change nothing");
        }
        app_cell row[] = {{n, 2, 1},
                      {r->enabled ? "on" : "off", 3, 0},
                      {dg_rule_keyword(r->kind), 21, 0},
                      {what, hw, 0}};
        if (i == m->clean_cur)
            attrset(app_attr(a, COLOR_CURSOR, A_REVERSE));
        else if (!r->enabled)
            attrset(A_DIM);
        app_put_row(y++, 1, width - 2, row, 4);
        attrset(A_NORMAL);
    }
    y++;
    if (y >= end)
        return;
    if (c->applied.n)
        draw_effects(a, y, end, width);
    else
        app_put_text(y, width,
                     "{rule-toggle} turns the cursor's rule on or off, {rule-up} and {rule-down} "
                     "move it, {rule-set} sets its parameters, {row-detail} shows it in full, "
                     "{clean-preview} previews what they would change, {clean-apply} applies "
                     "(on a fresh load: {cancel-job} cancels), {rules-save} and {rules-load} "
                     "save and load the rules.",
                     A_NORMAL);
}

static int key(app *a, int id, pane_args *args)
{
    model *m = &a->m;
    switch (id) {
    case ACT_RULE_TOGGLE:
    case ACT_RULE_UP:
    case ACT_RULE_DOWN:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%d", m->clean_cur + 1);
        return 1;
    case ACT_RULE_SET: {
        if (m->clean_cur >= m->cl.rules.n)
            return 1;
        const dg_rule *r = &m->cl.rules.v[m->clean_cur];
        char params[256], label[128], arg[64];
        if (!model_rule_params(r, params, sizeof params)[0]) {
            snprintf(m->msg, sizeof m->msg, "rule %d %s has no parameters", m->clean_cur + 1,
                     dg_rule_keyword(r->kind));
            return 0;
        }
        snprintf(label, sizeof label, "rule %d %s (K=V...): ", m->clean_cur + 1,
                 dg_rule_keyword(r->kind));
        snprintf(arg, sizeof arg, "%s %d", actions[id].name, m->clean_cur + 1);
        app_prompt(a, PROMPT_WORDS, label, params, arg);
        return 0;
    }
    case ACT_RULES_SAVE:
        app_prompt(a, PROMPT_ARG, "save the rules to (relative: in the output directory): ",
                   "clean.rules", actions[id].name);
        return 0;
    case ACT_RULES_LOAD:
        app_prompt(a, PROMPT_ARG, "load the rules from (relative: in the output directory): ",
                   "clean.rules", actions[id].name);
        return 0;
    case ACT_PAGE_UP:
    case ACT_PAGE_DOWN:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%d", m->cl.rules.n);
        return 1;
    default: return 1;
    }
}

const pane_ops pane_clean_ops = {
    .draw = draw,
    .key = key,
};
