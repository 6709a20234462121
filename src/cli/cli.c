#define _GNU_SOURCE /* fopencookie */
#include "cli.h"

#include "cli_progress.h"
#include "demographer/clean.h"
#include "demographer/dataset.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "demographer %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'demographer %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t min, uint64_t max,
                  uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '\0' || *s == '-' || *end != '\0' || errno == ERANGE || v < min || v > max) {
        cli_usage_error(cmd, "%s expects a whole number from %" PRIu64 " to %" PRIu64 ", got '%s'",
                        opt, min, max, s);
        return DG_ERR;
    }
    *out = v;
    return DG_OK;
}

void cli_model_opts_init(cli_model_opts *m)
{
    memset(m, 0, sizeof *m);
    m->seed = 1;
}

int cli_model_option(const char *cmd, int ch, char *arg, cli_model_opts *m)
{
    uint64_t v;
    switch (ch) {
    case CLI_O_FAMILIES:
        if (cli_split_list(arg, m->families, DG_TRAIN_MAX_FAMILIES - 1) <= 0)
            return cli_usage_error(cmd, "--families expects a comma list of at most %d family "
                                        "names",
                                   DG_TRAIN_MAX_FAMILIES - 1);
        return 1;
    case CLI_O_GRID:
        if (!strchr(arg, ':'))
            return cli_usage_error(cmd, "--grid expects FAMILY:PARAMS, got '%s'", arg);
        /* Room is left for run's default grids. */
        if (m->ngrids == DG_TRAIN_MAX_FAMILIES - 2)
            return cli_usage_error(cmd, "%s", "too many --grid options");
        m->grids[m->ngrids++] = arg;
        return 1;
    case CLI_O_FOLDS:
        if (cli_parse_u64(cmd, "--folds", arg, 2, 50, &v) != DG_OK)
            return CLI_EXIT_USAGE;
        m->folds = (int)v;
        return 1;
    case CLI_O_SEED:
        if (cli_parse_u64(cmd, "--seed", arg, 0, UINT64_MAX, &v) != DG_OK)
            return CLI_EXIT_USAGE;
        m->seed = v;
        return 1;
    case CLI_O_ABLATION:
        m->ablation = 1;
        return 1;
    default:
        return 0;
    }
}

int cli_data_option(const char *cmd, int ch, char *arg, dg_load_opts *o)
{
    uint64_t v;
    switch (ch) {
    case 'l': o->lenient = 1; return 1;
    case 'N': o->use_snapshot = 0; return 1;
    case 'c': o->cache_dir = arg; return 1;
    case 'j':
        if (cli_parse_u64(cmd, "--threads", arg, 1, 64, &v) != DG_OK)
            return CLI_EXIT_USAGE;
        o->threads = (int)v;
        return 1;
    case 'f': {
        char *eq = strchr(arg, '=');
        if (!eq)
            return cli_usage_error(cmd, "--file expects TABLE=PATH, got '%s'", arg);
        *eq = '\0';
        int t = dg_table_by_name(arg);
        if (t < 0)
            return cli_usage_error(cmd,
                                   "--file: no table '%s' (tables: labels, test, phones, "
                                   "events, app_events, app_labels, label_categories, split)",
                                   arg);
        o->files[t] = eq + 1;
        return 1;
    }
    default:
        return 0;
    }
}

int cli_load_data(const char *cmd, const char *dir, dg_load_opts *o, int quiet, dg_dataset *ds)
{
    cli_progress cp;
    dg_progress pr = cli_progress_start(&cp, quiet);
    o->progress = &pr;
    dg_err err;
    int rc = dg_dataset_load(ds, dir, o, &err);
    cli_progress_done(&cp);
    o->progress = NULL;
    if (rc != DG_OK) {
        fprintf(stderr, "demographer %s: %s\n", cmd, err.msg);
        return 1;
    }
    if (ds->snapshot_warning[0])
        fprintf(stderr, "demographer %s: warning: %s\n", cmd, ds->snapshot_warning);
    return 0;
}

const char *cli_asset(const char *name)
{
    static char path[4096];
    const char *dirs[] = {getenv("DEMOGRAPHER_ASSETS"), DG_ASSET_DIR, DG_SOURCE_ASSET_DIR};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        snprintf(path, sizeof path, "%s/%s", dirs[i], name);
        if (access(path, R_OK) == 0)
            return path;
    }
    /* None found: the installed path, so that the message names it. */
    snprintf(path, sizeof path, "%s/%s", DG_ASSET_DIR, name);
    return path;
}

int cli_load_cleaned(const char *cmd, const char *dir, dg_load_opts *o, int quiet,
                     const char *rules_path, int no_clean, dg_dataset *ds)
{
    dg_err err;
    dg_rules rules;
    dg_rules_init(&rules);
    if (rules_path) {
        if (dg_rules_load(&rules, rules_path, &err) != DG_OK) {
            fprintf(stderr, "demographer %s: %s\n", cmd, err.msg);
            return 1;
        }
    } else {
        dg_rules_default(&rules);
    }
    int rc = cli_load_data(cmd, dir, o, quiet, ds);
    if (rc == 0 && !no_clean) {
        dg_rule_effect *fx = dg_xcalloc((size_t)rules.n + 1, sizeof *fx);
        if (dg_clean(ds, &rules, fx, NULL, &err) != DG_OK) {
            fprintf(stderr, "demographer %s: %s\n", cmd, err.msg);
            rc = 1;
        }
        free(fx);
    }
    dg_rules_free(&rules);
    return rc;
}

int cli_model_features(const char *cmd, const char *dir, dg_load_opts *o, int quiet,
                       const char *rules_path, int no_clean, const char *super_path,
                       int progress, const dg_model_dir *d, dg_supercats *sc, dg_dataset *ds,
                       dg_features *f)
{
    memset(sc, 0, sizeof *sc);
    dg_dataset_init(ds);
    memset(f, 0, sizeof *f);
    dg_err err;
    /* The super-categories first: a bad file fails before the data loads. */
    if (dg_supercats_load(sc, super_path ? super_path : cli_asset("supercategories.txt"),
                          &err) != DG_OK) {
        fprintf(stderr, "demographer %s: %s\n", cmd, err.msg);
        return 1;
    }
    int rc = cli_load_cleaned(cmd, dir, o, quiet, rules_path, no_clean, ds);
    if (rc != 0)
        return rc;
    cli_progress cp;
    dg_progress pr = cli_progress_start(&cp, quiet);
    int ok = dg_features_for_models(ds, sc, DG_CLUSTER_EPS_KM_DEFAULT, DG_CLUSTER_MIN_PTS_DEFAULT,
                                    f, NULL, progress ? &pr : NULL, &err) == DG_OK &&
             dg_model_dir_check(d, f, &err) == DG_OK;
    cli_progress_done(&cp);
    if (!ok) {
        fprintf(stderr, "demographer %s: %s\n", cmd, err.msg);
        return 1;
    }
    return 0;
}

static FILE *raw_stderr;

static ssize_t guarded_write(void *cookie, const char *buf, size_t n)
{
    int fd = (int)(intptr_t)cookie;
    char out[4096];
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
        if (o > sizeof out - 8 || i + 1 == n) {
            for (size_t w = 0; w < o;) {
                ssize_t k = write(fd, out + w, o - w);
                if (k < 0 && errno == EINTR)
                    continue;
                if (k <= 0)
                    return -1;
                w += (size_t)k;
            }
            o = 0;
        }
    }
    return (ssize_t)n;
}

static FILE *guarded(FILE *f, int line_buffered)
{
    int fd = fileno(f);
    if (fd < 0 || !isatty(fd))
        return f;
    cookie_io_functions_t io = {.write = guarded_write};
    FILE *g = fopencookie((void *)(intptr_t)fd, "w", io);
    if (!g)
        return f;
    fflush(f);
    setvbuf(g, NULL, line_buffered ? _IOLBF : _IONBF, 0);
    return g;
}

void cli_tty_guard(void)
{
    raw_stderr = stderr;
    stdout = guarded(stdout, 1);
    stderr = guarded(stderr, 0);
}

FILE *cli_tty_raw(void)
{
    return raw_stderr ? raw_stderr : stderr;
}

int cli_split_list(char *s, const char **out, int max)
{
    int n = 0;
    for (char *w = strtok(s, ","); w; w = strtok(NULL, ","))
        if (*w) {
            if (n == max)
                return -1;
            out[n++] = w;
        }
    return n;
}

int cli_output_apart(const char *cmd, const char *what, const char *out, const char *data_dir,
                     const dg_load_opts *lo, const char *const *more, size_t nmore)
{
    const char *in[DG_T_COUNT + 1 + 16];
    size_t n = 0;
    in[n++] = data_dir;
    for (int t = 0; t < DG_T_COUNT; t++)
        in[n++] = lo ? lo->files[t] : NULL;
    for (size_t i = 0; i < nmore && n < sizeof in / sizeof *in; i++)
        in[n++] = more[i];
    dg_err err;
    if (dg_output_apart(what, out, in, n, &err) != DG_OK) {
        fprintf(stderr, "demographer %s: %s\n", cmd, err.msg);
        return 1;
    }
    return 0;
}

int cli_outdir_begin(const char *cmd, dg_outdir *od, const char *dir)
{
    dg_err err;
    if (dg_outdir_begin(od, dir, &err) != DG_OK) {
        fprintf(stderr, "demographer %s: %s\n", cmd, err.msg);
        return 1;
    }
    return 0;
}

int cli_outdir_end(const char *cmd, dg_outdir *od, int rc)
{
    if (!od->partial)
        return rc;
    if (rc != 0) {
        dg_outdir_abort(od);
        return rc;
    }
    dg_err err;
    if (dg_outdir_commit(od, &err) != DG_OK) {
        fprintf(stderr, "demographer %s: %s\n", cmd, err.msg);
        return 1;
    }
    return 0;
}
