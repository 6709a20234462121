/* The Clean pane's actions: turning, moving and setting rules, preview and
 * apply (jobs of jobs_data.c), undo, and the rule files. */
#include "model_actions.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rule N (1-based, as the pane numbers them) -> its index, or -1. */
static int rule_arg(model *m, int id, int argc, char **argv, dg_err *err)
{
    if (model_need_args(id, argc, 1, 1, err) != DG_OK)
        return -1;
    char *end;
    long n = strtol(argv[0], &end, 10);
    if (*end || n < 1 || n > m->cl.rules.n) {
        dg_fail(err, "no rule '%s' (there are %d)", argv[0], m->cl.rules.n);
        return -1;
    }
    return (int)n - 1;
}

const char *model_rule_params(const dg_rule *r, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (r->kind == DG_RULE_TIME_WINDOW) {
        char a[20], b[20];
        dg_format_time(r->from, a);
        dg_format_time(r->to, b);
        a[10] = b[10] = 'T';
        snprintf(buf, cap, "from=%s to=%s", a, b);
    } else if (r->kind == DG_RULE_EMPTY_CATEGORIES) {
        snprintf(buf, cap, "name=%s", r->name);
    }
    return buf;
}

/* rule-set N K=V...: the rule's current parameters, then the ones given
 * (later words win), read as a rule-file line. */
static int rule_set(model *m, int argc, char **argv, dg_err *err)
{
    if (argc < 2)
        return dg_fail(err, "rule-set takes N K=V... ({rule-set} on a rule offers its parameters)");
    int i = rule_arg(m, ACT_RULE_SET, 1, argv, err);
    if (i < 0)
        return DG_ERR;
    dg_rule *r = &m->cl.rules.v[i];
    char line[2048], params[256];
    snprintf(line, sizeof line, "%s %s", dg_rule_keyword(r->kind),
             model_rule_params(r, params, sizeof params));
    if (!params[0])
        return dg_fail(err, "rule %d %s has no parameters", i + 1, dg_rule_keyword(r->kind));
    for (int k = 1; k < argc; k++) {
        size_t o = strlen(line);
        snprintf(line + o, sizeof line - o, " %s", argv[k]);
    }
    dg_rules one;
    dg_rules_init(&one);
    char origin[32];
    snprintf(origin, sizeof origin, "rule %d", i + 1);
    if (dg_rules_parse(&one, line, origin, err) != DG_OK)
        return DG_ERR;
    /* A blank-separated word list is one line: anything else was not K=V. */
    if (one.n != 1) {
        dg_rules_free(&one);
        return dg_fail(err, "rule-set takes K=V words");
    }
    int on = r->enabled;
    *r = one.v[0];
    r->enabled = on;
    dg_rules_free(&one);
    model_preview_clear(m);
    m->clean_cur = i;
    model_say(m, "rule %d %s: %s ({clean-apply} applies)", i + 1, dg_rule_keyword(r->kind),
        model_rule_params(r, params, sizeof params));
    return DG_OK;
}

static int rules_save(model *m, const char *file, dg_err *err)
{
    char path[PATH_MAX], dir[PATH_MAX];
    model_out_path(m, file, path, sizeof path);
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (dg_mkdirs(dir, err) != DG_OK)
            return DG_ERR;
    }
    if (dg_rules_save(&m->cl.rules, path, err) != DG_OK)
        return DG_ERR;
    snprintf(m->saved, sizeof m->saved, "%.1000s", path);
    model_say(m, "saved the %d rules to %.1000s", m->cl.rules.n, path);
    return DG_OK;
}

static int rules_load(model *m, const char *file, dg_err *err)
{
    char path[PATH_MAX];
    model_out_path(m, file, path, sizeof path);
    dg_rules r;
    dg_rules_init(&r);
    if (dg_rules_load(&r, path, err) != DG_OK) {
        dg_rules_free(&r);
        return DG_ERR;
    }
    dg_rules_free(&m->cl.rules);
    m->cl.rules = r;
    model_preview_clear(m);
    if (m->clean_cur >= r.n)
        m->clean_cur = r.n ? r.n - 1 : 0;
    model_say(m, "loaded %d rules from %.1000s", r.n, path);
    return DG_OK;
}

static int clean_undo(model *m, dg_err *err)
{
    if (!m->can_undo)
        return dg_fail(err, "nothing to undo (undo goes back one apply)");
    model_clean_state_free(&m->cl);
    m->cl = m->undo;
    memset(&m->undo, 0, sizeof m->undo);
    dg_dataset_init(&m->undo.cleaned);
    m->can_undo = 0;
    m->data_gen++;
    model_preview_clear(m);
    if (m->clean_cur >= m->cl.rules.n)
        m->clean_cur = m->cl.rules.n ? m->cl.rules.n - 1 : 0;
    model_say(m, "undone: %s", m->cl.have_cleaned ? "back to the data and rules of the apply before"
                                           : "back to the loaded data, no rules applied");
    return DG_OK;
}

int clean_context_action(model *m, int id, int argc, char **argv, model_job **job, dg_err *err)
{
    switch (id) {
    case ACT_RULE_TOGGLE:
    case ACT_RULE_UP:
    case ACT_RULE_DOWN: {
        int i = rule_arg(m, id, argc, argv, err);
        if (i < 0)
            return DG_ERR;
        dg_rule *v = m->cl.rules.v;
        model_preview_clear(m);
        if (id == ACT_RULE_TOGGLE) {
            v[i].enabled = !v[i].enabled;
            m->clean_cur = i;
            model_say(m, "rule %d %s %s ({clean-apply} applies)", i + 1, dg_rule_keyword(v[i].kind),
                v[i].enabled ? "on" : "off");
            return DG_OK;
        }
        int to = id == ACT_RULE_UP ? i - 1 : i + 1;
        if (to < 0 || to >= m->cl.rules.n)
            return dg_fail(err, "rule %d is already %s", i + 1, to < 0 ? "first" : "last");
        dg_rule t = v[i];
        v[i] = v[to];
        v[to] = t;
        m->clean_cur = to;
        model_say(m, "%s is now rule %d ({clean-apply} applies)", dg_rule_keyword(v[to].kind), to + 1);
        return DG_OK;
    }
    case ACT_RULE_SET: return rule_set(m, argc, argv, err);
    case ACT_CLEAN_APPLY:
    case ACT_CLEAN_PREVIEW: return (*job = clean_start(m, id, argc, argv, err)) ? DG_OK : DG_ERR;
    case ACT_CLEAN_UNDO:
        if (model_need_args(id, argc, 0, 0, err) != DG_OK)
            return DG_ERR;
        return clean_undo(m, err);
    case ACT_RULES_SAVE:
    case ACT_RULES_LOAD:
        if (model_need_args(id, argc, 1, 1, err) != DG_OK)
            return DG_ERR;
        return (id == ACT_RULES_SAVE ? rules_save : rules_load)(m, argv[0], err);
    default: return model_not_here(id, "clean", err);
    }
}
