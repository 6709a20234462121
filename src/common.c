#define _GNU_SOURCE /* nftw's FTW_PHYS */
#include "demographer/common.h"
#include "demographer/exit_status.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

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
    exit(DG_EXIT_SOFTWARE);
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

const char *dg_file_kind(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFLNK: return "a symbolic link";
    default: return "not a file";
    }
}

FILE *dg_open_regular(const char *path, off_t max_bytes, dg_err *err)
{
    /* Non-blocking open, so that a FIFO fails at the fstat instead of
     * blocking here; then back to blocking reads of the regular file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        dg_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        dg_fail(err, "%s: cannot stat: %s", path, strerror(e));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        dg_fail(err, "%s: not a regular file (%s)", path, dg_file_kind(st.st_mode));
        return NULL;
    }
    if (max_bytes > 0 && st.st_size > max_bytes) {
        close(fd);
        char a[32], b[32];
        dg_fail(err, "%s: %s, more than the %s a file of this kind may hold", path,
                dg_format_bytes((double)st.st_size, a, sizeof a),
                dg_format_bytes((double)max_bytes, b, sizeof b));
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        dg_fail(err, "%s: cannot open: %s", path, strerror(e));
    }
    return f;
}

int dg_file_xxh3(const char *path, uint64_t *hash, dg_err *err)
{
    FILE *f = dg_open_regular(path, 0, err);
    if (!f)
        return DG_ERR;
    XXH3_state_t *st = XXH3_createState();
    if (!st) {
        fclose(f);
        return dg_fail(err, "%s: out of memory", path);
    }
    XXH3_64bits_reset(st);
    char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        XXH3_64bits_update(st, buf, got);
    int bad = ferror(f);
    fclose(f);
    *hash = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    if (bad)
        return dg_fail(err, "%s: read error", path);
    return DG_OK;
}

int dg_read_file(const char *path, char **text, size_t *len, dg_err *err)
{
    FILE *f = dg_open_regular(path, 0, err);
    if (!f)
        return DG_ERR;
    size_t cap = 1 << 16, at = 0;
    char *buf = dg_xmalloc(cap + 1);
    size_t got;
    while ((got = fread(buf + at, 1, cap - at, f)) > 0) {
        at += got;
        if (at == cap) {
            cap *= 2;
            buf = dg_xrealloc(buf, cap + 1);
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return dg_fail(err, "%s: read error", path);
    }
    buf[at] = 0;
    *text = buf;
    *len = at;
    return DG_OK;
}

/* Whether name is BASE, then tag, then a process id (1 to 9 digits, no
 * leading 0) and then what `after` says: nothing (after 0) or '-' and
 * exactly `after` more characters; and that process is gone (never this
 * one; a process we may not signal counts as alive). */
static int left_by_dead_process(const char *name, const char *base, size_t bl, const char *tag,
                                size_t after)
{
    size_t tl = strlen(tag);
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, tag, tl) != 0)
        return 0;
    const char *digits = name + bl + tl;
    size_t nd = strspn(digits, "0123456789");
    if (nd == 0 || nd > 9 || digits[0] == '0')
        return 0;
    if (after ? digits[nd] != '-' || strlen(digits + nd + 1) != after : digits[nd] != '\0')
        return 0;
    long pid = strtol(digits, NULL, 10);
    return !(pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH);
}

/* (common.h) The temporaries are tens of MB each. */
void dg_remove_dead_temps(const char *path)
{
    char *dir = dg_xstrdup(path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash)
        *slash = '\0';
    DIR *d = opendir(slash ? dir : ".");
    size_t bl = strlen(base);
    for (struct dirent *e; d && (e = readdir(d));) {
        const char *name = e->d_name;
        if (!left_by_dead_process(name, base, bl, ".tmp-", 6))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
            unlinkat(dirfd(d), name, 0);
    }
    if (d)
        closedir(d);
    free(dir);
}

/* Small writes gathered up to this; larger ones go straight to the file (a
 * synth run keeps nine files open, each with its buffer). */
#define DG_ATOMIC_BUF (64u << 10)

int dg_atomic_open(dg_atomic_file *f, const char *path, unsigned mode, dg_err *err)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    dg_remove_dead_temps(path);
    /* The writer's pid in the name: a later write of the same path removes
     * the temporary if this process dies before the rename. */
    size_t plen = strlen(path);
    char *tmp = dg_xmalloc(plen + 40);
    snprintf(tmp, plen + 40, "%s.tmp-%ld-XXXXXX", path, (long)getpid());
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return dg_fail(err, "%s: cannot create a temporary file: %s", path, strerror(e));
    }
    if (fchmod(fd, (mode_t)mode) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return dg_fail(err, "%s: cannot set the mode of its temporary file: %s", path,
                       strerror(e));
    }
    f->path = dg_xstrdup(path);
    f->tmp = tmp;
    f->fd = fd;
    return DG_OK;
}

static int atomic_put(dg_atomic_file *f, const char *p, size_t left, dg_err *err)
{
    while (left > 0) {
        ssize_t w = write(f->fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return dg_fail(err, "%s: write failed: %s", f->path, strerror(errno));
        }
        p += w;
        left -= (size_t)w;
    }
    return DG_OK;
}

static int atomic_flush(dg_atomic_file *f, dg_err *err)
{
    size_t n = f->len;
    f->len = 0;
    return n ? atomic_put(f, f->buf, n, err) : DG_OK;
}

int dg_atomic_write(dg_atomic_file *f, const void *data, size_t len, dg_err *err)
{
    if (f->len + len <= DG_ATOMIC_BUF && len < DG_ATOMIC_BUF / 2) {
        if (!f->buf)
            f->buf = dg_xmalloc(DG_ATOMIC_BUF);
        memcpy(f->buf + f->len, data, len);
        f->len += len;
        return DG_OK;
    }
    if (atomic_flush(f, err) != DG_OK)
        return DG_ERR;
    if (len < DG_ATOMIC_BUF / 2)
        return dg_atomic_write(f, data, len, err);
    return atomic_put(f, data, len, err);
}

int dg_atomic_close(dg_atomic_file *f, dg_err *err)
{
    if (!f->tmp || f->fd < 0)
        return DG_OK;
    int rc = atomic_flush(f, err);
    free(f->buf);
    f->buf = NULL;
    int fd = f->fd;
    f->fd = -1;
    if (rc != DG_OK) {
        close(fd);
        return DG_ERR;
    }
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return dg_fail(err, "%s: cannot finish writing: %s", f->path, strerror(e));
    }
    if (close(fd) != 0)
        return dg_fail(err, "%s: cannot finish writing: %s", f->path, strerror(errno));
    return DG_OK;
}

int dg_atomic_commit(dg_atomic_file *f, dg_err *err)
{
    if (dg_atomic_close(f, err) != DG_OK)
        return DG_ERR;
    if (rename(f->tmp, f->path) != 0)
        return dg_fail(err, "%s: cannot rename into place: %s", f->path, strerror(errno));
    free(f->tmp);
    f->tmp = NULL;
    free(f->path);
    f->path = NULL;
    return DG_OK;
}

void dg_atomic_discard(dg_atomic_file *f)
{
    if (!f->tmp)
        return; /* never opened (a zeroed struct), or committed */
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->tmp)
        unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    free(f->buf);
    f->tmp = f->path = f->buf = NULL;
    f->len = 0;
}

int dg_write_file_atomic(const char *path, const void *data, size_t len, dg_err *err)
{
    dg_atomic_file f;
    if (dg_atomic_open(&f, path, 0644, err) != DG_OK)
        return DG_ERR;
    int rc = dg_atomic_write(&f, data, len, err);
    if (rc == DG_OK)
        rc = dg_atomic_commit(&f, err);
    dg_atomic_discard(&f);
    return rc;
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

/* ---- outputs: never over an input, never half-written ------------------ */

int dg_path_resolve(const char *path, char *out, size_t cap)
{
    char abs[PATH_MAX];
    if (path[0] == '/') {
        if (snprintf(abs, sizeof abs, "%s", path) >= (int)sizeof abs)
            return DG_ERR;
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd) ||
            snprintf(abs, sizeof abs, "%s/%s", cwd, path) >= (int)sizeof abs)
            return DG_ERR;
    }
    /* The nearest existing parent: strip elements until realpath answers. */
    size_t n = strlen(abs);
    char real[PATH_MAX];
    size_t cut = n;
    for (;;) {
        char save = abs[cut];
        abs[cut] = '\0';
        int ok = realpath(cut ? abs : "/", real) != NULL;
        abs[cut] = save;
        if (ok)
            break;
        while (cut > 0 && abs[cut - 1] == '/')
            cut--;
        while (cut > 0 && abs[cut - 1] != '/')
            cut--;
        if (cut == 0) {
            snprintf(real, sizeof real, "/");
            break;
        }
    }
    /* Then the missing rest, element by element. */
    size_t len = strlen(real);
    const char *p = abs + cut;
    while (*p) {
        while (*p == '/')
            p++;
        const char *e = p;
        while (*e && *e != '/')
            e++;
        size_t el = (size_t)(e - p);
        if (el == 0)
            break;
        if (el == 1 && p[0] == '.') {
            /* nothing */
        } else if (el == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 1 && real[len - 1] != '/')
                len--;
            if (len > 1)
                len--;
            real[len] = '\0';
        } else {
            if (len + el + 2 > sizeof real)
                return DG_ERR;
            if (len > 1)
                real[len++] = '/';
            else
                len = 1;
            memcpy(real + len, p, el);
            len += el;
            real[len] = '\0';
        }
        p = e;
    }
    if (len + 1 > cap)
        return DG_ERR;
    memcpy(out, real, len + 1);
    return DG_OK;
}

/* a is b or lies inside it. */
static int path_within(const char *a, const char *b)
{
    size_t n = strlen(b);
    if (n == 1 && b[0] == '/')
        return 1;
    return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

int dg_output_apart(const char *what, const char *out, const char *const *inputs, size_t ninputs,
                    dg_err *err)
{
    char ro[PATH_MAX], ri[PATH_MAX];
    if (dg_path_resolve(out, ro, sizeof ro) != DG_OK)
        return dg_fail(err, "%s %s: cannot resolve the path", what, out);
    for (size_t i = 0; i < ninputs; i++) {
        if (!inputs[i])
            continue;
        if (dg_path_resolve(inputs[i], ri, sizeof ri) != DG_OK)
            return dg_fail(err, "%s: cannot resolve the path", inputs[i]);
        const char *how = NULL;
        if (strcmp(ro, ri) == 0)
            how = "is";
        else if (path_within(ri, ro))
            how = "contains";
        else if (path_within(ro, ri))
            how = "lies inside";
        if (!how)
            continue;
        char resolved[2 * PATH_MAX + 32] = "";
        if (strcmp(out, ro) != 0 || strcmp(inputs[i], ri) != 0)
            snprintf(resolved, sizeof resolved, " (after symlinks: %s and %s)", ro, ri);
        return dg_fail(err,
                       "refusing %s %s: it %s the input %s%s; an output never goes over what "
                       "the command reads, choose another %s",
                       what, out, how, inputs[i], resolved, what);
    }
    return DG_OK;
}

void (*dg_dir_publish_hook)(const char *old, const char *to);

int dg_dir_publish(const char *from, const char *to, dg_err *err)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE) == 0) {
        /* from now holds the old folder. */
        if (dg_dir_publish_hook)
            dg_dir_publish_hook(from, to);
        dg_rm_tree(from);
        return DG_OK;
    }
    int e = errno;
    struct stat st;
    if (e == ENOENT && lstat(from, &st) == 0) {
        /* No previous folder: a plain rename. */
        if (rename(from, to) != 0) {
            e = errno;
            return dg_fail(err, "%s: cannot rename %s to it: %s", to, from, strerror(e));
        }
        if (dg_dir_publish_hook)
            dg_dir_publish_hook(NULL, to);
        return DG_OK;
    }
    if (e != EINVAL && e != ENOSYS && e != ENOTSUP)
        return dg_fail(err, "%s: cannot exchange it with %s: %s", to, from, strerror(e));
    /* A file system without RENAME_EXCHANGE: the old one aside, then the new
     * one in (for a moment there is no folder at to). */
    size_t n = strlen(to) + 32;
    char *old = dg_xmalloc(n);
    snprintf(old, n, "%s.old-%ld", to, (long)getpid());
    dg_rm_tree(old);
    if (rename(to, old) != 0) {
        e = errno;
        free(old);
        return dg_fail(err, "%s: cannot move the previous one aside: %s", to, strerror(e));
    }
    if (rename(from, to) != 0) {
        e = errno;
        if (rename(old, to) != 0)
            dg_fail(err, "%s: cannot rename %s to it (%s); the previous one is in %s", to, from,
                    strerror(e), old);
        else
            dg_fail(err, "%s: cannot rename %s to it: %s", to, from, strerror(e));
        free(old);
        return DG_ERR;
    }
    if (dg_dir_publish_hook)
        dg_dir_publish_hook(old, to);
    dg_rm_tree(old);
    free(old);
    return DG_OK;
}

/* dir's parent folder and last element, trailing slashes ignored. */
static void split_dir(const char *dir, char **parent, char **base)
{
    char *d = dg_xstrdup(dir);
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/')
        d[--n] = '\0';
    char *slash = strrchr(d, '/');
    if (!slash) {
        *parent = dg_xstrdup(".");
        *base = d;
        return;
    }
    *base = dg_xstrdup(slash + 1);
    if (slash == d)
        slash[1] = '\0';
    else
        *slash = '\0';
    *parent = d;
}

/* 1 when dir may be replaced: empty, or holding the marker. */
static int replaceable(const char *dir)
{
    char *marker = dg_path_join(dir, DG_OUTDIR_MARKER);
    struct stat st;
    int ok = lstat(marker, &st) == 0 && S_ISREG(st.st_mode);
    free(marker);
    if (ok)
        return 1;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int empty = 1;
    for (struct dirent *e; empty && (e = readdir(d));)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

int dg_remove_stale_partials(const char *dir)
{
    char *parent, *base;
    split_dir(dir, &parent, &base);
    int removed = 0;
    DIR *d = opendir(parent);
    size_t bl = strlen(base);
    for (struct dirent *e; d && (e = readdir(d));) {
        const char *name = e->d_name;
        if (!left_by_dead_process(name, base, bl, ".partial-", 0))
            continue; /* not the pattern; ours, or alive (or not ours to judge) */
        char *path = dg_path_join(parent, name);
        struct stat st;
        /* Only a folder demographer made: one holding the marker, or still
         * empty (begin died between its mkdir and the marker). A user's
         * "results.partial-2023" has neither. */
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && replaceable(path)) {
            dg_rm_tree(path);
            removed++;
        }
        free(path);
    }
    if (d)
        closedir(d);
    free(parent);
    free(base);
    return removed;
}

int dg_outdir_begin(dg_outdir *o, const char *dir, dg_err *err)
{
    memset(o, 0, sizeof *o);
    char *d = dg_xstrdup(dir);
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/')
        d[--n] = '\0';
    char res[PATH_MAX];
    if (!*d || dg_path_resolve(d, res, sizeof res) != DG_OK || strcmp(res, "/") == 0) {
        int rc = dg_fail(err, "%s: not a folder that can be written whole", dir);
        free(d);
        return rc;
    }
    struct stat st;
    if (lstat(d, &st) == 0 && S_ISLNK(st.st_mode)) {
        /* A symlink to an earlier output: the new output goes where it
         * points (the link stays a link; replacing the link by a real folder
         * left its target stale). */
        free(d);
        d = dg_xstrdup(res);
        n = strlen(d);
    }
    if (stat(d, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            int rc = dg_fail(err, "%s: exists and is not a directory (expected the output "
                                  "directory)", dir);
            free(d);
            return rc;
        }
        if (!replaceable(d)) {
            int rc = dg_fail(err,
                             "%s: exists and holds files demographer did not write (no "
                             DG_OUTDIR_MARKER "); the output folder is replaced whole, so "
                             "choose a new or empty folder, or remove this one",
                             dir);
            free(d);
            return rc;
        }
    }
    char *parent, *base;
    split_dir(d, &parent, &base);
    free(base);
    int rc = dg_mkdirs(parent, err);
    free(parent);
    if (rc != DG_OK) {
        free(d);
        return DG_ERR;
    }
    dg_remove_stale_partials(d);
    size_t pn = n + 32;
    o->dir = d;
    o->partial = dg_xmalloc(pn);
    snprintf(o->partial, pn, "%s.partial-%ld", d, (long)getpid());
    dg_rm_tree(o->partial);
    if (mkdir(o->partial, 0755) != 0) {
        rc = dg_fail(err, "%s: cannot create directory: %s", o->partial, strerror(errno));
        dg_outdir_abort(o);
        return rc;
    }
    char *marker = dg_path_join(o->partial, DG_OUTDIR_MARKER);
    static const char note[] =
        "written by demographer: this folder is replaced whole by the next command that\n"
        "writes here\n";
    rc = dg_write_file_atomic(marker, note, sizeof note - 1, err);
    free(marker);
    if (rc != DG_OK) {
        dg_outdir_abort(o);
        return DG_ERR;
    }
    return DG_OK;
}

int dg_outdir_commit(dg_outdir *o, dg_err *err)
{
    int rc = dg_dir_publish(o->partial, o->dir, err);
    if (rc != DG_OK) {
        dg_outdir_abort(o);
        return rc;
    }
    free(o->partial);
    free(o->dir);
    memset(o, 0, sizeof *o);
    return DG_OK;
}

void dg_outdir_abort(dg_outdir *o)
{
    if (o->partial)
        dg_rm_tree(o->partial);
    free(o->partial);
    free(o->dir);
    memset(o, 0, sizeof *o);
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

char *dg_format_count(unsigned long long v, char *out, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", v);
    size_t k = 0;
    for (int i = 0; i < n && k + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    if (cap)
        out[k < cap ? k : cap - 1] = '\0';
    return out;
}

char *dg_format_amount(double v, const char *unit, char *out, size_t cap)
{
    if (strcmp(unit, "bytes") == 0)
        return dg_format_bytes(v, out, cap);
    if (v >= 1e6)
        snprintf(out, cap, "%.2f M %s", v / 1e6, unit);
    else {
        char n[32];
        dg_format_count(v > 0 ? (unsigned long long)(v + 0.5) : 0, n, sizeof n);
        snprintf(out, cap, "%s %s", n, unit);
    }
    return out;
}
