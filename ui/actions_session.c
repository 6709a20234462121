/* The session log: opening it, the line each action writes (files in the
 * output directory relative to it), the words of a line, and replay, which
 * runs the last session of a log (with the sessions it continues) again. */
#include "model_actions.h"

#include "demographer/common.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A restored workspace's actions go in the log as comments: the session
 * they rebuild is in the log above, marked as continued. */
#define RESTORED_MARK "# restored: "
#define CONTINUES_MARK "# continues the session above: the workspace of "

char *model_default_log(void)
{
    return dg_user_path("XDG_STATE_HOME", ".local/state", "demographer/session.log");
}

int model_open_log(model *m, const char *path, dg_err *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (dg_mkdirs(dir, err) != DG_OK)
            return DG_ERR;
    }
    FILE *f = fopen(path, "a");
    if (!f)
        return dg_fail(err, "%s: %s", path, strerror(errno));
    time_t now = time(NULL);
    struct tm tm;
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    fprintf(f, "# demographer %s session, %s\n", DG_VERSION, when);
    fflush(f);
    m->log = f;
    return DG_OK;
}

void model_quote(const char *s, char *out, size_t cap)
{
    size_t o = strlen(out);
    int plain = s[0] != '\0';
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("-_./,:=+@%", *p) || (unsigned char)*p >= 0x80))
            plain = 0;
    if (plain) {
        snprintf(out + o, cap - o, "%s", s);
        return;
    }
    /* Single quotes keep everything but a single quote, written '\'' . */
    if (o + 1 < cap)
        out[o++] = '\'';
    for (const char *p = s; *p && o + 5 < cap; p++) {
        if (*p == '\'') {
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            out[o++] = *p;
        }
    }
    if (o + 1 < cap)
        out[o++] = '\'';
    out[o < cap ? o : cap - 1] = '\0';
}

int model_split(const char *line, char ***argv_out, char **buf_out, dg_err *err)
{
    size_t n = strlen(line);
    char *buf = dg_xmalloc(n + 1);
    char **argv = dg_xmalloc((n / 2 + 2) * sizeof *argv);
    int argc = 0;
    size_t o = 0;
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            break;
        argv[argc++] = buf + o;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            if (*p == '\'') {
                const char *e = strchr(p + 1, '\'');
                if (!e)
                    goto unterminated;
                memcpy(buf + o, p + 1, (size_t)(e - p - 1));
                o += (size_t)(e - p - 1);
                p = e + 1;
            } else if (*p == '"') {
                p++;
                while (*p && *p != '"') {
                    if (*p == '\\' && p[1])
                        p++;
                    buf[o++] = *p++;
                }
                if (!*p)
                    goto unterminated;
                p++;
            } else if (*p == '\\' && p[1]) {
                buf[o++] = p[1];
                p += 2;
            } else {
                buf[o++] = *p++;
            }
        }
        buf[o++] = '\0';
    }
    argv[argc] = NULL;
    *argv_out = argv;
    *buf_out = buf;
    return argc;
unterminated:
    free(buf);
    free(argv);
    dg_fail(err, "unterminated quote in: %s", line);
    return -1;
}

void model_log_line(model *m, const char *line)
{
    if (!m->log)
        return;
    fprintf(m->log, "%s%s\n", m->restoring && line[0] != '#' ? RESTORED_MARK : "", line);
    fflush(m->log);
}

void model_log_continues(model *m)
{
    if (m->log) {
        fprintf(m->log, "%s%s\n", CONTINUES_MARK, m->out_dir);
        fflush(m->log);
    }
}

void model_format_line(char *out, size_t cap, int id, int argc, char **argv)
{
    snprintf(out, cap, "%s", actions[id].name);
    for (int i = 0; i < argc; i++) {
        size_t o = strlen(out);
        if (o + 2 < cap) {
            out[o] = ' ';
            out[o + 1] = '\0';
        }
        model_quote(argv[i], out, cap);
    }
}

/* The actions whose one argument is a file, relative ones in <out>. */
static int file_action(int id)
{
    return id == ACT_RULES_SAVE || id == ACT_RULES_LOAD || id == ACT_CAMPAIGNS_RULES ||
           id == ACT_CAMPAIGNS_LOAD || id == ACT_MODELS_OPEN;
}

/* path relative to the output directory when it lies in it, else path. */
static const char *out_relative(const model *m, const char *path, char *buf, size_t cap)
{
    char od[PATH_MAX];
    const char *dirs[2] = {m->out_dir, realpath(m->out_dir, od) ? od : NULL};
    if (path[0] != '/')
        return path;
    for (int i = 0; i < 2; i++) {
        if (!dirs[i] || dirs[i][0] != '/')
            continue;
        size_t n = strlen(dirs[i]);
        while (n > 1 && dirs[i][n - 1] == '/')
            n--;
        if (strncmp(path, dirs[i], n) == 0 && path[n] == '/' && path[n + 1]) {
            snprintf(buf, cap, "%s", path + n + 1);
            return buf;
        }
    }
    return path;
}

void model_log_action(model *m, int id, int argc, char **argv)
{
    if (!action_has(id, ACTION_LOG))
        return;
    char line[1400], rel[PATH_MAX];
    char *largv[1];
    /* A file in the output directory is logged relative to it, as the
     * action reads relative names: a replay with another --out reads its
     * own, not the old folder's. */
    if (file_action(id) && argc == 1) {
        largv[0] = (char *)out_relative(m, argv[0], rel, sizeof rel);
        argv = largv;
    }
    model_format_line(line, sizeof line, id, argc, argv);
    model_log_line(m, line);
}

/* Whether a log line is the mark model_open_log writes at a session's start. */
static int continues_mark(const char *line)
{
    return strncmp(line, CONTINUES_MARK, strlen(CONTINUES_MARK)) == 0;
}

static int session_mark(const char *line)
{
    return strncmp(line, "# demographer ", 14) == 0 && strstr(line, " session, ");
}

/* Whether the file an action writes, FILE as the log gives it, lies inside
 * the output directory once resolved (symlinks, "..", absolute paths): a
 * replay writes only there, whatever an edited log says. */
static int inside_out_dir(const model *m, const char *file)
{
    char joined[PATH_MAX], path[PATH_MAX], od[PATH_MAX];
    model_out_path(m, file, joined, sizeof joined);
    if (dg_path_resolve(joined, path, sizeof path) != DG_OK ||
        dg_path_resolve(m->out_dir, od, sizeof od) != DG_OK)
        return 0;
    size_t n = strlen(od);
    if (n > 1 && od[n - 1] == '/')
        n--;
    return strncmp(path, od, n) == 0 && path[n] == '/' && path[n + 1];
}

int model_replay(model *m, const char *path, dg_err *err)
{
    return model_replay_sessions(m, path, 0, NULL, err);
}

int model_replay_sessions(model *m, const char *path, int all, model_replay_info *info,
                          dg_err *err)
{
    model_replay_info none;
    if (!info)
        info = &none;
    memset(info, 0, sizeof *info);
    FILE *f = fopen(path, "r");
    if (!f)
        return dg_fail(err, "%s: %s", path, strerror(errno));
    char line[8192];
    int lineno = 0, rc = DG_OK, start = 0, mark = 0, prev_start = 0, prev_sessions = 0;
    char prev_when[64] = "";
    /* The log is appended to by every session: the last one's mark is where
     * its actions start, unless the line after it says it continues the one
     * before (a restored workspace): then that one's start is theirs. A line
     * longer than the buffer is an error, never two lines (its tail would
     * run as an action). */
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            fclose(f);
            return dg_fail(err, "%s:%d: line longer than %zu bytes", path, lineno,
                           sizeof line - 2);
        }
        if (session_mark(line)) {
            mark = lineno;
            prev_start = start;
            prev_sessions = info->sessions;
            snprintf(prev_when, sizeof prev_when, "%s", info->when);
            if (all && start) {
                info->sessions++;
                continue;
            }
            start = lineno;
            info->sessions = all ? info->sessions + 1 : 1;
            const char *w = strstr(line, " session, ") + 10;
            snprintf(info->when, sizeof info->when, "%.*s", (int)strcspn(w, "\n"), w);
        } else if (!all && mark && mark == lineno - 1 && continues_mark(line)) {
            start = prev_start;
            info->sessions = prev_sessions + 1;
            snprintf(info->when, sizeof info->when, "%s", prev_when);
        }
    }
    if (all)
        start = 0;
    info->first_line = start ? start : 1;
    info->last_line = lineno;
    rewind(f);
    lineno = 0;
    while (rc == DG_OK && fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno < start)
            continue;
        char **argv, *buf;
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        int argc = model_split(p, &argv, &buf, err);
        if (argc < 0) {
            rc = dg_fail(err, "%s:%d: %s", path, lineno, err->msg);
            break;
        }
        int id = action_by_name(argv[0]);
        dg_err aerr;
        model_job *j = NULL;
        if (id < 0) {
            rc = dg_fail(err, "%s:%d: no action '%s'", path, lineno, argv[0]);
        } else if (id == ACT_RULES_SAVE && argc == 2 && !inside_out_dir(m, argv[1])) {
            rc = dg_fail(err, "%s:%d: %s %s: refusing to write outside the output directory "
                              "%s (a replay writes only there)",
                         path, lineno, argv[0], argv[1], m->out_dir);
        } else if (info->actions++, model_do(m, id, argc - 1, argv + 1, &j, &aerr) != DG_OK) {
            rc = dg_fail(err, "%s:%d: %s: %s", path, lineno, argv[0], aerr.msg);
        } else if (j) {
            char title[128];
            snprintf(title, sizeof title, "%s", j->title);
            int jr = model_job_run(j, NULL, &aerr);
            model_finish(m, j, jr, &aerr);
            if (jr != DG_OK)
                rc = dg_fail(err, "%s:%d: %s: %s", path, lineno, title, aerr.msg);
        }
        free(argv);
        free(buf);
    }
    fclose(f);
    return rc;
}
