#define _GNU_SOURCE
#include "testutil.h"

#include "demographer/clean.h"
#include "demographer/dataset.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <strings.h>
#include <unistd.h>

int tu_server_missing(const char *var, const char *starter)
{
    const char *v = getenv(var);
    if (v && *v)
        return 0;
    const char *required = getenv("DG_TEST_SERVERS");
    if (required && strcmp(required, "1") == 0) {
        fprintf(stderr, "%s is not set, though DG_TEST_SERVERS=1 says %s ran\n", var, starter);
        exit(1);
    }
    fprintf(stderr, "# %s is not set (%s starts it): the tests that need it are skipped\n", var,
            starter);
    return 1;
}

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    size_t n = strlen(base) + 32;
    char *p = malloc(n);
    snprintf(p, n, "%s/dgtest.XXXXXX", base);
    if (!mkdtemp(p)) {
        fprintf(stderr, "mkdtemp %s failed\n", p);
        abort();
    }
    return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmrf(const char *path)
{
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_write(const char *dir, const char *name, const void *data, size_t len)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", p);
        abort();
    }
    return p;
}

char *tu_write_str(const char *dir, const char *name, const char *text)
{
    return tu_write(dir, name, text, strlen(text));
}

const char *tu_real_dir(void)
{
    const char *d = getenv("DG_REAL_DATA");
    struct stat st;
    if (!d || stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "# the real data pieces (../shared/data/real) are absent: test skipped\n");
        return NULL;
    }
    return d;
}

char *tu_real_path(const char *name)
{
    const char *dir = tu_real_dir();
    if (!dir)
        return NULL;
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int tu_run(const char *cmd, char **out)
{
    size_t n = strlen(cmd) + 16;
    char *full = malloc(n);
    snprintf(full, n, "(%s) 2>&1", cmd);
    FILE *p = popen(full, "r");
    free(full);
    if (!p)
        return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    int st = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

const char *tu_bin(void)
{
    const char *b = getenv("DG_BIN");
    return b ? b : "./demographer";
}

char *tu_read(const char *path, size_t *len)
{
    if (len)
        *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)(n > 0 ? n : 0) + 1);
    size_t got = n > 0 ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    buf[got] = '\0';
    if (len)
        *len = got;
    return buf;
}

/* cmocka 1.1 writes a skipped test as "not ok N # SKIP", which TAP consumers
 * such as meson read as a failure; TAP's own form is "ok N # SKIP". Before
 * main, every test program under TAP output forks: the child runs the tests
 * with its stdout on a pipe, and the parent copies that output line by line,
 * rewriting only those lines, then ends as the child did (same exit status, or
 * the same signal), so a crash still reads as a crash. */
__attribute__((constructor)) static void tu_tap_skips_as_ok(void)
{
    const char *fmt = getenv("CMOCKA_MESSAGE_OUTPUT");
    if (!fmt || strcasecmp(fmt, "TAP") != 0 || getenv("DG_TAP_CHILD"))
        return;
    int fds[2];
    if (pipe(fds) != 0)
        return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        /* A test that runs this binary again must not fork once more. */
        setenv("DG_TAP_CHILD", "1", 1);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        return;
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (in && (len = getline(&line, &cap, in)) > 0) {
        if (strncmp(line, "not ok ", 7) == 0 && strstr(line, " # SKIP")) {
            fputs("ok ", stdout);
            fwrite(line + 7, 1, (size_t)len - 7, stdout);
        } else {
            fwrite(line, 1, (size_t)len, stdout);
        }
        fflush(stdout);
    }
    free(line);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (WIFSIGNALED(status)) {
        signal(WTERMSIG(status), SIG_DFL);
        raise(WTERMSIG(status));
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

void tu_load_cleaned(dg_dataset *ds, const char *dir, const char *rules_text, dg_rule_effect *fx)
{
    dg_err err;
    dg_dataset_init(ds);
    if (dg_dataset_load(ds, dir, NULL, &err) != DG_OK)
        fail_msg("load %s: %s", dir, err.msg);
    dg_rules rules;
    dg_rules_init(&rules);
    if (dg_rules_parse(&rules, rules_text, "rules", &err) != DG_OK)
        fail_msg("rules: %s", err.msg);
    if (dg_clean(ds, &rules, fx, NULL, &err) != DG_OK)
        fail_msg("clean: %s", err.msg);
    dg_rules_free(&rules);
}
