#include "hints.h"
#include "text.h"

#include <strings.h>
#include <string.h>

int model_action_live(const model *m, int id)
{
    const sheet *s = model_sheet((model *)m);
    switch (id) {
    case ACT_DB_SET:
    case ACT_DB_PASSWORD: return m->src != SRC_DIR;
    case ACT_LOAD: return m->have_found || m->src != SRC_DIR;
    case ACT_OPEN_TABLE: return m->loaded;
    case ACT_FREQ: return s && s->kind == SHEET_TABLE && !s->eda;
    case ACT_SEARCH_NEXT: return s && s->search_col >= 0;
    case ACT_CLEAN_UNDO: return m->can_undo;
    case ACT_EDA_OPEN: return m->have_eda;
    case ACT_SAVE:
        if (m->pane == PANE_CLEAN)
            return 0;
        if (m->pane == PANE_LOAD)
            return s && s->kind == SHEET_FREQ;
        if (m->pane == PANE_EDA)
            return m->have_eda && !(m->eda_open && m->eda_sheet.eda == 2);
        if (m->pane == PANE_GEO)
            return m->dbs.view == GEO_VIEW_MAP || m->dbs.view == GEO_VIEW_KDIST;
        return 1;
    case ACT_DBSCAN_ADOPT: return m->dbs.view == GEO_VIEW_SWEEP;
    case ACT_MODELS_FAMILY: return m->models.view == MODELS_VIEW_SETTINGS;
    case ACT_MODELS_SORT:
    case ACT_MODELS_SORT_DESC:
        return m->models.view == MODELS_VIEW_RUNS && m->models.have_result;
    case ACT_MODELS_EXPORT: return m->models.have_result;
    case ACT_MODELS_FILTER: return m->models.view == MODELS_VIEW_RUNS && m->models.have_result;
    case ACT_CAMPAIGNS_WRITE: return m->camp.n > 0;
    case ACT_REPORT_WRITE: return m->loaded;
    default: return 1;
    }
}

/* The name the key bar shows: the long name less its context's prefix
 * ("models-sort" in the Models pane is "sort"). */
static const char *short_name(int id)
{
    const char *n = actions[id].name, *c = actions[id].ctx;
    size_t cl = strlen(c);
    if (strncmp(n, c, cl) == 0 && n[cl] == '-' && n[cl + 1])
        return n + cl + 1;
    return n;
}

void model_key_bar(const model *m, const char *ctx, int width, char *out, size_t cap)
{
    static const int globals[] = {ACT_COMMAND, ACT_QUIT, ACT_SAVE};
    const char *tail = "  ? help";
    int tw = (int)strlen(tail), used = 0, gap = 0;
    size_t o = 0;
    out[0] = '\0';
    int ids[ACT_COUNT], n = 0;
    for (int i = 0; i < ACT_COUNT; i++)
        if (strcmp(actions[i].ctx, ctx) == 0 && strcmp(ctx, "global") != 0)
            ids[n++] = i;
    for (size_t g = 0; g < sizeof globals / sizeof *globals; g++)
        /* A context's own key shadows the global one (q closes a sheet). */
        if (strcmp(ctx, "help") != 0 && action_for_key(ctx, actions[globals[g]].key) < 0)
            ids[n++] = globals[g];
    for (int k = 0; k < n; k++) {
        int id = ids[k];
        if (strcmp(ctx, "help") != 0 && !model_action_live(m, id))
            continue;
        char item[96];
        int w = snprintf(item, sizeof item, "%s%s %s", gap ? "  " : " ", actions[id].key,
                         short_name(id));
        /* Display width: keys and names are ASCII. */
        if (used + w + tw > width || o + (size_t)w + 1 >= cap)
            break;
        memcpy(out + o, item, (size_t)w + 1);
        o += (size_t)w;
        used += w;
        gap = 1;
    }
    if (strcmp(ctx, "help") != 0 && used + tw <= width && o + (size_t)tw + 1 < cap)
        snprintf(out + o, cap - o, "%s", gap ? tail : tail + 1);
}


int help_lines(char lines[][HELP_LINE], int max)
{
    int n = 0;
    for (int c = 0; c < ACTION_NCTX; c++) {
        if (n < max)
            snprintf(lines[n++], HELP_LINE, "%s", "");
        if (n < max)
            snprintf(lines[n++], HELP_LINE, "%s", action_context_titles[c]);
        for (int i = 0; i < ACT_COUNT && n < max; i++) {
            if (strcmp(actions[i].ctx, action_contexts[c]) != 0)
                continue;
            char keys[32], name[40];
            snprintf(keys, sizeof keys, "%s%s%s", actions[i].key, actions[i].key2[0] ? " " : "",
                     actions[i].key2);
            snprintf(name, sizeof name, "%s%s%s", actions[i].name, actions[i].args[0] ? " " : "",
                     actions[i].args);
            snprintf(lines[n++], HELP_LINE, " %-9s %-18s %s", keys, name, actions[i].help);
        }
    }
    return n;
}

int help_lines_wrapped(char lines[][HELP_LINE], int max, int width)
{
    static char one[HELP_MAX_LINES][HELP_LINE];
    int n1 = help_lines(one, HELP_MAX_LINES), n = 0;
    /* " %-9s %-18s ": the description starts at column 30. */
    int indent = width > 50 ? 30 : 4;
    for (int i = 0; i < n1 && n < max; i++)
        n += text_wrap(one[i], width, indent, lines + n, max - n);
    return n;
}

int help_section(const char lines[][HELP_LINE], int n, const char *ctx)
{
    for (int c = 0; c < ACTION_NCTX; c++) {
        if (strcmp(action_contexts[c], ctx) != 0)
            continue;
        for (int i = 0; i < n; i++)
            if (strcmp(lines[i], action_context_titles[c]) == 0)
                return i;
    }
    return 0;
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, nl) == 0)
            return 1;
    return 0;
}

int help_find(const char lines[][HELP_LINE], int n, int from, const char *text)
{
    if (!text[0] || n <= 0)
        return -1;
    for (int k = 0; k < n; k++) {
        int i = ((from % n) + n + k) % n;
        if (contains_nocase(lines[i], text))
            return i;
    }
    return -1;
}

/* Appends item to a list "a, b and c" of n items so far. */
static void list_add(char *buf, size_t cap, int *n, int last, const char *item)
{
    size_t o = strlen(buf);
    snprintf(buf + o, cap - o, "%s%s", *n == 0 ? "" : last ? " and " : ", ", item);
    (*n)++;
}

const char *model_would_lose(const model *m, int id, const char *running, char *buf, size_t cap)
{
    const char *items[8];
    int k = 0;
    char job[160], runs[96];
    buf[0] = '\0';
    if (id == ACT_LOAD && m->loaded) {
        if (m->cl.have_cleaned)
            items[k++] = "the cleaned data";
        if (m->have_eda)
            items[k++] = "the EDA tables";
        if (m->geo.have_sample)
            items[k++] = "the map's sample";
        if (m->dbs.have_run || m->dbs.have_kdist || m->dbs.nrows)
            items[k++] = "the DBSCAN results";
    } else if (id == ACT_QUIT) {
        if (running) {
            snprintf(job, sizeof job, "the running job (%.120s)", running);
            items[k++] = job;
        }
        /* Without a workspace the trained models are gone at quit; with
         * one, they come back from <out>/train. */
        if (m->models.have_result && !m->models.exported && !m->models.opened &&
            !m->keep_workspace)
            items[k++] = "the trained models (not exported: x in the Models pane)";
    } else if (id == ACT_MODELS_TRAIN && m->models.have_result &&
               m->models.view == MODELS_VIEW_RUNS) {
        snprintf(runs, sizeof runs, "the %zu runs shown%s", m->models.res.nruns,
                 m->models.exported ? "" : " (not exported)");
        items[k++] = runs;
    }
    if (k == 0)
        return NULL;
    int n = 0;
    for (int i = 0; i < k; i++)
        list_add(buf, cap, &n, i == k - 1, items[i]);
    return buf;
}

const char *model_eda_label(const dg_eda *e, int i, char *buf, size_t cap)
{
    int c = e->chart_of[i], before = 0, all = 0;
    for (int k = 0; k < e->ntables; k++) {
        all += e->chart_of[k] == c;
        before += k < i && e->chart_of[k] == c;
    }
    if (all > 1 && before < 26)
        snprintf(buf, cap, "%d%c", c, 'a' + before);
    else
        snprintf(buf, cap, "%d", c);
    return buf;
}
