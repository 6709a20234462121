#define _GNU_SOURCE /* nftw's FTW_PHYS */
#include "demographer/common.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int dg_fail(dg_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = DG_ERR;
    }
    return DG_ERR;
}

int dg_cancel(dg_err *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->status = DG_CANCELLED;
    }
    return DG_ERR;
}

int dg_progress_report(const dg_progress *p, const char *stage, double done, double total,
                       const char *unit)
{
    if (!p || !p->fn)
        return 0;
    return p->fn(p->ctx, stage, done, total, unit);
}

static int restaged(void *ctx, const char *stage, double done, double total, const char *unit)
{
    dg_progress_stage *s = ctx;
    (void)stage;
    return dg_progress_report(s->outer, s->stage, done, total, unit);
}

const dg_progress *dg_progress_restage(dg_progress_stage *s, const dg_progress *outer,
                                       const char *stage)
{
    if (!outer)
        return NULL;
    s->outer = outer;
    snprintf(s->stage, sizeof s->stage, "%s", stage);
    s->as = (dg_progress){restaged, s};
    return &s->as;
}

char *dg_user_path(const char *xdg_var, const char *home_sub, const char *rest)
{
    const char *xdg = getenv(xdg_var), *home = getenv("HOME");
    char buf[4096];
    if (xdg && xdg[0] == '/')
        snprintf(buf, sizeof buf, "%s/%s", xdg, rest);
    else if (home && *home)
        snprintf(buf, sizeof buf, "%s/%s/%s", home, home_sub, rest);
    else
        snprintf(buf, sizeof buf, "/tmp/demographer-%d/%s", (int)getuid(), rest);
    return dg_xstrdup(buf);
}

static void out_of_memory(size_t n)
{
    /* The UI installs no handler: the message goes to stderr, which the
     * workbench restores before any exit path (endwin in an atexit hook). */
    fprintf(stderr, "demographer: out of memory (asked for %zu bytes)\n", n);
    exit(70);
}

void *dg_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *dg_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *dg_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *dg_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = dg_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

int dg_write_file_atomic(const char *path, const void *data, size_t len, dg_err *err)
{
    size_t plen = strlen(path);
    char *tmp = dg_xmalloc(plen + 16);
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return dg_fail(err, "%s: cannot create a temporary file: %s", path, strerror(e));
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return dg_fail(err, "%s: write failed: %s", path, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0 || close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return dg_fail(err, "%s: cannot finish writing: %s", path, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return dg_fail(err, "%s: cannot rename into place: %s", path, strerror(e));
    }
    free(tmp);
    return DG_OK;
}

int dg_mkdirs(const char *path, dg_err *err)
{
    char *buf = dg_xstrdup(path);
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            int rc = dg_fail(err, "%s: cannot create directory: %s", buf, strerror(e));
            free(buf);
            return rc;
        }
        *s = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        int e = errno;
        int rc = dg_fail(err, "%s: cannot create directory: %s", buf, strerror(e));
        free(buf);
        return rc;
    }
    free(buf);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return dg_fail(err, "%s: exists and is not a directory", path);
    return DG_OK;
}

double dg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

char *dg_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = dg_xmalloc(n);
    snprintf(s, n, "%s%s%s", dir, (*dir && dir[strlen(dir) - 1] != '/') ? "/" : "", name);
    return s;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0; /* go on: remove what can be removed */
}

void dg_rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0)
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *dg_format_bytes(double v, char *out, size_t cap)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", v, u[i]);
    return out;
}

char *dg_format_amount(double v, const char *unit, char *out, size_t cap)
{
    if (strcmp(unit, "bytes") == 0)
        return dg_format_bytes(v, out, cap);
    if (v >= 1e6)
        snprintf(out, cap, "%.2f M %s", v / 1e6, unit);
    else
        snprintf(out, cap, "%.0f %s", v, unit);
    return out;
}
