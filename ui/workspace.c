#include "workspace.h"

#include "demographer/textbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* One action line: its name and its words, quoted as the log quotes them. */
static void put_action(dg_textbuf *b, int id, int argc, const char *const *argv)
{
    char line[PATH_MAX + 200];
    snprintf(line, sizeof line, "%s", actions[id].name);
    for (int i = 0; i < argc; i++) {
        size_t o = strlen(line);
        snprintf(line + o, sizeof line - o, " ");
        model_quote(argv[i], line, sizeof line);
    }
    dg_textbuf_printf(b, "%s\n", line);
}

static void put1(dg_textbuf *b, int id, const char *arg)
{
    put_action(b, id, arg ? 1 : 0, &arg);
}

/* path relative to the output directory when it lies in it (the actions read
 * relative names there, so the folder can move), else absolute. */
static const char *in_out(const model *m, const char *path, char *buf, size_t cap)
{
    char od[PATH_MAX], p[PATH_MAX];
    if (!realpath(path, p))
        snprintf(p, sizeof p, "%s", path);
    if (realpath(m->out_dir, od)) {
        size_t n = strlen(od);
        if (strncmp(p, od, n) == 0 && p[n] == '/' && p[n + 1]) {
            snprintf(buf, cap, "%s", p + n + 1);
            return buf;
        }
    }
    snprintf(buf, cap, "%s", p);
    return buf;
}

static void put_sample(dg_textbuf *b, const model *m)
{
    char n[32], seed[32];
    snprintf(n, sizeof n, "%" PRIu32, m->geo.sample_n);
    snprintf(seed, sizeof seed, "%" PRIu64, m->geo.sample_seed);
    const char *argv[] = {n, seed};
    put_action(b, ACT_GEO_SAMPLE, 2, argv);
}

/* The actions that rebuild m's state, in order: the data, what was computed
 * from the loaded data, the cleaning and what was computed from the cleaned
 * data, then the settings, the runs and the pane. */
static void workspace_actions(const model *m, dg_textbuf *b)
{
    char buf[PATH_MAX];
    dg_textbuf_puts(b, "# demographer workspace: the actions that bring this output folder's "
                       "session back (rewritten after every change)\n");
    if (m->src != SRC_DIR)
        put1(b, ACT_SOURCE, source_names[m->src]);
    if (m->dir)
        put1(b, ACT_CHOOSE_DIR, m->dir);
    /* A MySQL load needs the password, which is never kept: the analyst loads. */
    int data = m->loaded && m->src == SRC_DIR;
    if (data) {
        put1(b, ACT_LOAD, NULL);
        if (m->have_eda && !m->eda_from_cleaned)
            put1(b, ACT_EDA_COMPUTE, NULL);
        if (m->geo.have_sample && !m->geo.from_cleaned)
            put_sample(b, m);
        if (m->cl.have_cleaned) {
            put1(b, ACT_RULES_LOAD, "workspace/applied.rules");
            put1(b, ACT_CLEAN_APPLY, NULL);
            if (m->have_eda && m->eda_from_cleaned)
                put1(b, ACT_EDA_COMPUTE, NULL);
            if (m->geo.have_sample && m->geo.from_cleaned)
                put_sample(b, m);
        }
    }
    put1(b, ACT_RULES_LOAD, "workspace/rules");
    if (data && m->geo.have_sample) {
        put1(b, ACT_GEO_MAP, dg_map_kind_name(m->geo.kind));
        put1(b, ACT_GEO_PROJECTION, m->geo.projection == DG_PROJ_MERCATOR ? "mercator" : "equirect");
    }
    char eps[32], mp[32];
    snprintf(eps, sizeof eps, "%.17g", m->dbs.eps_km);
    snprintf(mp, sizeof mp, "%.17g", m->dbs.min_pts);
    const char *pair[] = {eps, mp};
    put_action(b, ACT_DBSCAN_SET, 2, pair);

    const models_state *s = &m->models;
    models_state fresh;
    models_init(&fresh);
    for (int i = 0; i < s->nfamilies && i < fresh.nfamilies; i++) {
        char spec[96];
        if (s->family_on[i] && (!fresh.family_on[i] ||
                                strcmp(s->family_targets[i], fresh.family_targets[i]) != 0)) {
            snprintf(spec, sizeof spec, "%s@%s", s->fam[i]->name,
                     s->family_targets[i][0] ? s->family_targets[i] : "all");
            put1(b, ACT_MODELS_FAMILY, spec);
        } else if (!s->family_on[i] && fresh.family_on[i]) {
            put1(b, ACT_MODELS_FAMILY, s->fam[i]->name);
        }
    }
    char t[128];
    put1(b, ACT_MODELS_TARGETS, models_targets_text(s, t, sizeof t));
    put1(b, ACT_MODELS_SCENARIOS, models_scenarios_text(s, t, sizeof t));
    snprintf(t, sizeof t, "%d", s->folds);
    put1(b, ACT_MODELS_FOLDS, t);
    snprintf(t, sizeof t, "%" PRIu64, s->seed);
    put1(b, ACT_MODELS_SEED, t);
    if (s->have_result && s->train_dir)
        put1(b, ACT_MODELS_OPEN, in_out(m, s->train_dir, buf, sizeof buf));
    put1(b, ACT_PANE_LOAD + (int)m->pane, NULL);
}

int workspace_save(model *m, dg_err *err)
{
    dg_textbuf b = {0};
    workspace_actions(m, &b);
    char *rules = dg_rules_format(&m->cl.rules),
         *applied = m->cl.have_cleaned ? dg_rules_format(&m->cl.applied) : dg_xstrdup("");
    /* Most actions change none of it: write only what differs from the last. */
    size_t n = b.len + strlen(rules) + strlen(applied) + 3;
    char *all = dg_xmalloc(n);
    snprintf(all, n, "%.*s\x1f%s\x1f%s", (int)b.len, b.p ? b.p : "", rules, applied);
    int rc = DG_OK;
    if (!m->workspace_text || strcmp(all, m->workspace_text) != 0) {
        char *dir = dg_path_join(m->out_dir, "workspace");
        char *rpath = dg_path_join(dir, "rules"), *apath = dg_path_join(dir, "applied.rules"),
             *acts = dg_path_join(dir, "actions");
        rc = dg_mkdirs(dir, err);
        if (rc == DG_OK)
            rc = dg_write_file_atomic(rpath, rules, strlen(rules), err);
        if (rc == DG_OK && m->cl.have_cleaned)
            rc = dg_write_file_atomic(apath, applied, strlen(applied), err);
        /* The actions last: they name the rules files. */
        if (rc == DG_OK)
            rc = dg_textbuf_save(&b, acts, err);
        if (rc == DG_OK) {
            free(m->workspace_text);
            m->workspace_text = all;
            all = NULL;
        }
        free(dir);
        free(rpath);
        free(apath);
        free(acts);
    }
    dg_textbuf_free(&b);
    free(all);
    free(rules);
    free(applied);
    return rc;
}

int workspace_load(const char *out_dir, char ***lines, int *n, dg_err *err)
{
    *lines = NULL;
    *n = 0;
    char *path = dg_path_join(out_dir, "workspace/actions"), *text = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        int rc = errno == ENOENT ? DG_OK : dg_fail(err, "%s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    fclose(f);
    if (dg_read_file(path, &text, &len, err) != DG_OK) {
        free(path);
        return DG_ERR;
    }
    free(path);
    int cap = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        while (*line == ' ' || *line == '\t')
            line++;
        if (!*line || *line == '#')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            *lines = dg_xrealloc(*lines, (size_t)cap * sizeof **lines);
        }
        (*lines)[(*n)++] = dg_xstrdup(line);
    }
    free(text);
    return DG_OK;
}

void workspace_lines_free(char **lines, int n)
{
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

const char *workspace_data_dir(char **lines, int n, char *buf, size_t cap)
{
    const char *name = actions[ACT_CHOOSE_DIR].name;
    size_t k = strlen(name);
    for (int i = 0; i < n; i++) {
        if (strncmp(lines[i], name, k) != 0 || lines[i][k] != ' ')
            continue;
        char **argv, *words;
        dg_err err;
        int argc = model_split(lines[i], &argv, &words, &err);
        const char *r = NULL;
        if (argc == 2) {
            snprintf(buf, cap, "%s", argv[1]);
            r = buf;
        }
        if (argc >= 0) {
            free(argv);
            free(words);
        }
        return r;
    }
    return NULL;
}

int workspace_set_aside(const char *out_dir, char *aside, size_t cap, dg_err *err)
{
    char *dir = dg_path_join(out_dir, "workspace");
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime_r(&now, &tm));
    int rc = DG_OK;
    for (int k = 0;; k++) {
        if (k)
            snprintf(aside, cap, "%s.%s-%d", dir, stamp, k);
        else
            snprintf(aside, cap, "%s.%s", dir, stamp);
        struct stat st;
        if (lstat(aside, &st) != 0)
            break;
    }
    if (rename(dir, aside) != 0)
        rc = dg_fail(err, "%s -> %s: %s", dir, aside, strerror(errno));
    free(dir);
    return rc;
}
