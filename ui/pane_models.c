/* The Models pane: two views of the Models state (model_models.h). Settings:
 * the registered model families with their on/off marks and one-line
 * summaries, and the targets, scenarios, folds and seed the next training
 * uses. Runs: the comparison table of every run of the last training, a row
 * per run, the chosen ones marked, sortable by any column, with the split
 * and the selection rule above it. With chart-toggle (.) the runs view shows
 * the charts of the cursor's target, drawn from the PNGs' descriptions: ROC
 * and calibration for gender, the residual boxes of its scenario for age. */
#include "app.h"

#include "chart_view.h"
#include "text.h"

#include <curses.h>
#include <math.h>
#include <string.h>

/* Widths of the comparison table's columns (the params are cut). */
static const int col_width[RUNCOL_COUNT] = {
    1, 17, 4, 7, 20, 7,
#define DG_METRIC(field, column, label, tasks, brief, format, width) DG_METRIC_IF_BRIEF_##brief(width, )
#include "demographer/metrics.def"
#undef DG_METRIC
    7, 9};

/* The mark, family, scenario and target stay on screen; the columns after them scroll. */
#define FROZEN 4

/* The columns drawn, left to right, into cols; returns how many. */
static int shown_columns(const models_state *s, int *cols)
{
    int n = 0;
    for (int c = 0; c < FROZEN; c++)
        cols[n++] = c;
    for (int c = s->left; c < RUNCOL_COUNT; c++)
        cols[n++] = c;
    return n;
}

static int right_aligned(int col)
{
    return col != RUNCOL_FAMILY && col != RUNCOL_TARGET && col != RUNCOL_PARAMS &&
           col != RUNCOL_CHOSEN;
}

static void draw_settings(app *a, int top, int height, int width)
{
    model *m = &a->m;
    models_state *s = &m->models;
    char line[1024], t[128], sc[16];
    int y = top, end = top + height;
    snprintf(line, sizeof line, "Train on the %s data: %d folds ({models-folds}), seed %llu "
             "({models-seed})",
             !m->loaded ? "(nothing loaded yet)" : m->cl.have_cleaned ? "cleaned" : "loaded",
             s->folds, (unsigned long long)s->seed);
    app_put_text(y++, width, line, A_BOLD);
    snprintf(line, sizeof line, "targets %s ({models-targets}), scenarios %s ({models-scenarios})",
             models_targets_text(s, t, sizeof t), models_scenarios_text(s, sc, sizeof sc));
    app_put_text(y++, width, line, A_BOLD);
    snprintf(line, sizeof line, "%s", s->have_result
                                          ? "{models-family} toggles a family, {models-train} "
                                            "trains again, {models-view} shows the runs"
                                          : "{models-family} toggles a family, {models-train} "
                                            "trains (features, then cross-validation per family)");
    app_put_text(y++, width, line, A_NORMAL);
    snprintf(line, sizeof line, "%-3s %-17s %-14s %7s %s", "on", "family", "targets", "est. s",
             "what it is");
    app_put_plain(y++, 0, width, line, app_attr(a, COLOR_HEADER, A_BOLD | A_UNDERLINE));
    int last = end - 1, rows = last - y, first = 0;
    double all = NAN;
    if (s->fam_cur >= rows)
        first = s->fam_cur - rows + 1;
    for (int i = first; i < s->nfamilies && y < last; i++) {
        const dg_model_family *f = s->fam[i];
        int prior = strcmp(f->name, "prior") == 0;
        char secs[32] = "-";
        double sec = models_family_seconds(s, i);
        if (!isnan(sec))
            snprintf(secs, sizeof secs, "%.1f", sec);
        snprintf(line, sizeof line, "%-3s %-17s %-14s %7s %s",
                 prior ? "(x)" : s->family_on[i] ? "[x]" : "[ ]", f->name,
                 s->family_targets[i][0] ? s->family_targets[i] : "all", secs, f->summary);
        app_put_plain(y++, 0, width, line,
                      i == s->fam_cur ? app_attr(a, COLOR_CURSOR, A_REVERSE) : (int)A_NORMAL);
    }
    /* What "est. s" is: the cost each family had the last time on what it
     * would train now, to weigh it before training; and the families on,
     * summed (the fits run side by side: the wall is less). */
    for (int i = 0; i < s->nfamilies; i++) {
        double sec = s->family_on[i] || strcmp(s->fam[i]->name, "prior") == 0
                         ? models_family_seconds(s, i)
                         : NAN;
        if (!isnan(sec))
            all = isnan(all) ? sec : all + sec;
    }
    if (y < end) {
        char devices[32], total[48] = "";
        if (!isnan(all))
            snprintf(total, sizeof total, "; all on: %.1f s", all);
        if (s->have_result)
            snprintf(line, sizeof line, "est. s: seconds in the last training (%s devices%s)%s",
                     text_count(s->res.nlabelled ? s->res.nlabelled
                                                 : s->res.ntrain[1] + s->res.ntest[1] +
                                                       s->res.ntrain[2] + s->res.ntest[2],
                                devices, sizeof devices),
                     s->opened ? ", opened" : "", total);
        else
            snprintf(line, sizeof line, "est. s: no estimate yet (a first training's fit seconds "
                                        "give each family one)");
        app_put_plain(end - 1, 0, width, line, A_DIM);
    }
}

static void draw_runs(app *a, int top, int height, int width)
{
    model *m = &a->m;
    models_state *s = &m->models;
    char line[1024], buf[2048], cell[256];
    int y = top, end = top + height;
    if (!s->have_result) {
        app_put_text(y + 1, width,
                     "No runs yet: {models-train} trains, {models-open} opens an earlier run or "
                     "train folder ({models-view} shows the settings).",
                     A_NORMAL);
        return;
    }
    const dg_train_result *r = &s->res;
    char shown[160] = "", f[96];
    if (s->nshown != r->nruns)
        snprintf(shown, sizeof shown, " (%zu shown: %s)", s->nshown,
                 models_filter_text(s, f, sizeof f));
    if (s->opened)
        snprintf(line, sizeof line, "%zu runs%s of %s; %s", r->nruns, shown, s->train_dir,
                 r->split_text);
    else
        snprintf(line, sizeof line, "%zu runs%s, %s data%s; %s", r->nruns, shown,
                 s->from_cleaned ? "cleaned" : "loaded",
                 s->gen != m->data_gen ? " (changed since)" : "", r->split_text);
    app_put_plain(y++, 0, width, line, A_BOLD);
    snprintf(line, sizeof line, "* chosen: %s", r->rule);
    app_put_plain(y++, 0, width, line, A_NORMAL);
    /* Scroll the columns after the frozen ones so that the cursor's is in view. */
    int frozen_w = 0;
    for (int c = 0; c < FROZEN; c++)
        frozen_w += col_width[c] + 1;
    /* Back on a frozen column, the columns after it from their start
     * (they stayed scrolled right: Left never brought params back). */
    if (s->left < FROZEN || s->ccol < FROZEN)
        s->left = FROZEN;
    if (s->ccol >= FROZEN && s->ccol < s->left)
        s->left = s->ccol;
    for (;;) {
        int x = frozen_w;
        for (int c = s->left; c <= s->ccol; c++)
            x += col_width[c] + 1;
        if (x <= width - 1 || s->left >= s->ccol)
            break;
        s->left++;
    }
    int cols[RUNCOL_COUNT], ncols = shown_columns(s, cols);
    int x = 1;
    for (int k = 0; k < ncols && x < width - 1; k++) {
        int c = cols[k];
        char head[64];
        snprintf(head, sizeof head, "%s%s", c == RUNCOL_CHOSEN ? "*" : models_run_columns[c],
                 s->sort_col == c ? (s->sort_desc ? "\xe2\x96\xbc" : "\xe2\x96\xb2") : "");
        int cw = col_width[c] < width - 1 - x ? col_width[c] : width - 1 - x;
        attrset(app_attr(a, COLOR_HEADER, A_BOLD | A_UNDERLINE) |
                (c == s->ccol ? (int)A_REVERSE : 0));
        mvaddstr(y, x, text_fit(head, cw, right_aligned(c), buf, sizeof buf));
        attrset(A_NORMAL);
        x += col_width[c] + 1;
    }
    y++;
    int rows = end - y;
    if (rows < 1)
        return;
    if (s->cur < s->top)
        s->top = s->cur;
    if (s->cur >= s->top + (size_t)rows)
        s->top = s->cur - (size_t)rows + 1;
    for (size_t p = s->top; p < s->nshown && y < end; p++, y++) {
        const dg_run *run = &r->runs[s->order[p]];
        int cur = p == s->cur;
        x = 1;
        for (int k = 0; k < ncols && x < width - 1; k++) {
            int c = cols[k];
            int cw = col_width[c] < width - 1 - x ? col_width[c] : width - 1 - x;
            int attr = cur ? app_attr(a, COLOR_CURSOR, A_REVERSE) : run->chosen ? (int)A_BOLD : 0;
            if (cur && c == s->ccol)
                attr |= A_BOLD | A_UNDERLINE;
            attrset(attr);
            mvaddstr(y, x, text_fit(models_cell(run, c, cell, sizeof cell), cw, right_aligned(c),
                                    buf, sizeof buf));
            if (cur && x + cw < width - 1)
                mvaddstr(y, x + cw, " ");
            attrset(A_NORMAL);
            x += col_width[c] + 1;
        }
    }
}

/* The cursor's run's charts: one, or two one above the other (or side by
 * side) when the screen has room. */
static void draw_charts(app *a, int top, int height, int width)
{
    models_state *s = &a->m.models;
    const dg_run *r = models_run_at_cursor(s);
    int which[2] = {-1, -1};
    if (r && r->target == DG_TARGET_GENDER) {
        which[0] = DG_TRAIN_CHART_ROC;
        which[1] = DG_TRAIN_CHART_CALIBRATION;
    } else if (r && r->target == DG_TARGET_AGE && r->scenario) {
        which[0] = DG_TRAIN_CHART_RESIDUALS_S1 + r->scenario - 1;
    }
    dg_train_chart_view v[2];
    int n = 0;
    for (int i = 0; i < 2; i++)
        if (which[i] >= 0 && dg_train_chart(&s->res, which[i], &v[n]))
            n++;
    char line[512];
    if (!n) {
        snprintf(line, sizeof line, "No chart for %s runs%s: gender has ROC and calibration, "
                                    "age its residuals per scenario ({chart-toggle} the table)",
                 r ? dg_target_name(r->target) : "these",
                 r && !r->scenario ? " over both scenarios" : "");
        app_put_text(top + 1, width, line, A_NORMAL);
        return;
    }
    int side = n == 2 && height < 30 && width >= 140, stack = n == 2 && height >= 30;
    if (n == 2 && !side && !stack)
        n = 1;
    for (int i = 0; i < n; i++) {
        snprintf(line, sizeof line, "%s%s", v[i].chart.title,
                 i == 0 ? (n == 1 && which[1] >= 0
                               ? " (calibration: a taller screen; {chart-toggle} the table)"
                               : " ({chart-toggle} the table)")
                        : "");
        action_keys_expand(line, sizeof line); /* the chart's title: the product's words */
        int t = top, h = height, x0 = 0, w = width;
        if (stack) {
            h = height / 2;
            t = top + i * h;
        } else if (side) {
            w = width / 2;
            x0 = i * w;
        }
        chart_view_draw_at(a, &v[i].chart, line, t, h, x0, w);
    }
}

static void draw(app *a, int top, int height, int width)
{
    if (a->m.chart[PANE_MODELS] && a->m.models.view == MODELS_VIEW_RUNS &&
        a->m.models.have_result) {
        draw_charts(a, top, height, width);
        return;
    }
    if (a->m.models.view == MODELS_VIEW_RUNS)
        draw_runs(a, top, height, width);
    else
        draw_settings(a, top, height, width);
}

static int key(app *a, int id, pane_args *args)
{
    models_state *s = &a->m.models;
    char now[128];
    switch (id) {
    case ACT_MODELS_VIEW:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%s",
                 s->view == MODELS_VIEW_RUNS ? "settings" : "runs");
        return 1;
    case ACT_MODELS_FAMILY:
        if (s->view != MODELS_VIEW_SETTINGS) {
            snprintf(a->m.msg, sizeof a->m.msg, "{models-view} shows the families to toggle");
            return 0;
        }
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%s", s->fam[s->fam_cur]->name);
        return 1;
    case ACT_MODELS_FILTER: {
        char f[64];
        snprintf(f, sizeof f, "%s %s",
                 s->filter_target < 0 ? "all" : dg_target_name(s->filter_target),
                 s->filter_scen < 0 ? "all" : s->filter_scen == 0 ? "1+2"
                                  : s->filter_scen == 1 ? "1" : "2");
        app_prompt(a, PROMPT_WORDS, "show the runs of (TARGET SCENARIO, each may be all): ", f,
                   actions[id].name);
        return 0;
    }
    case ACT_MODELS_TARGETS:
        app_prompt(a, PROMPT_ARG, "targets (gender,age,group6,group12): ",
                   models_targets_text(s, now, sizeof now), actions[id].name);
        return 0;
    case ACT_MODELS_SCENARIOS:
        app_prompt(a, PROMPT_ARG, "scenarios (1, 2 or 1,2): ",
                   models_scenarios_text(s, now, sizeof now), actions[id].name);
        return 0;
    case ACT_MODELS_FOLDS:
        snprintf(now, sizeof now, "%d", s->folds);
        app_prompt(a, PROMPT_ARG, "cross-validation folds (2-50): ", now, actions[id].name);
        return 0;
    case ACT_MODELS_SEED:
        snprintf(now, sizeof now, "%llu", (unsigned long long)s->seed);
        app_prompt(a, PROMPT_ARG, "seed: ", now, actions[id].name);
        return 0;
    case ACT_MODELS_OPEN:
        app_prompt(a, PROMPT_ARG, "open the runs of (a run or train folder; relative: in the "
                                  "output directory): ",
                   "train", actions[id].name);
        return 0;
    case ACT_MODELS_SORT:
    case ACT_MODELS_SORT_DESC:
        if (s->view != MODELS_VIEW_RUNS) {
            snprintf(a->m.msg, sizeof a->m.msg, "{models-view} shows the runs to sort");
            return 0;
        }
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%s", models_run_columns[s->ccol]);
        return 1;
    case ACT_PAGE_UP:
    case ACT_PAGE_DOWN:
        args->argc = 1;
        snprintf(args->argv[0], PANE_ARG_LEN, "%d", a->main_rows > 5 ? a->main_rows - 4 : 1);
        return 1;
    default: return 1;
    }
}

const pane_ops pane_models_ops = {
    .draw = draw,
    .key = key,
};
