/* The HTTP source against tests/http_server.py on loopback: download,
 * revalidation, resume, retries, and each failure. */
#define _GNU_SOURCE
#include "testutil.h"

#include "demographer/source_http.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct server {
    pid_t pid;
    int port;
    char *root;  /* the files served */
    char *log;   /* one line per request */
    char *cache; /* a fresh cache directory per test */
} server;

/* 200 KB of lines, a stand-in for app_labels_new.txt. */
static void write_object(const char *dir, const char *name, int variant)
{
    size_t cap = 220000, o = 0;
    char *buf = malloc(cap);
    o += (size_t)snprintf(buf, cap, "app_id,label_id\n");
    for (int i = 0; o + 64 < cap - 20000; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%d,%d\n", i * 7919 + variant, i % 1000);
    free(tu_write(dir, name, buf, o));
    free(buf);
}

static int setup(void **state)
{
    server *s = calloc(1, sizeof *s);
    s->root = tu_tmpdir();
    s->cache = tu_tmpdir();
    char *logdir = tu_tmpdir();
    s->log = dg_path_join(logdir, "requests.log");
    free(logdir);
    write_object(s->root, "app_labels_new.txt", 0);
    int out[2];
    if (pipe(out) != 0)
        return -1;
    s->pid = fork();
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        char script[1024];
        const char *src = getenv("DG_TESTS_SRC");
        snprintf(script, sizeof script, "%s/http_server.py", src ? src : "tests");
        execl("/usr/bin/python3", "python3", script, s->root, s->log, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[32] = "";
    FILE *f = fdopen(out[0], "r");
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        fprintf(stderr, "# the loopback HTTP server did not start\n");
        return -1;
    }
    fclose(f);
    s->port = atoi(line);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    server *s = *state;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    tu_rmrf(s->root);
    tu_rmrf(s->cache);
    char *logdir = strdup(s->log);
    *strrchr(logdir, '/') = '\0';
    tu_rmrf(logdir);
    free(logdir);
    free(s->root);
    free(s->cache);
    free(s->log);
    free(s);
    return 0;
}

/* A fresh cache for each test. */
static int fresh_cache(void **state)
{
    server *s = *state;
    tu_rmrf(s->cache);
    free(s->cache);
    s->cache = tu_tmpdir();
    return 0;
}

static void url_of(const server *s, const char *mode, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "http://127.0.0.1:%d/%s/%s", s->port, mode, name);
}

static dg_http_opts quick(const server *s)
{
    dg_http_opts o = {.cache_dir = s->cache, .connect_timeout = 2, .low_speed_limit = 1000,
                      .low_speed_time = 1, .retries = 2, .backoff_ms = 20};
    return o;
}

static void assert_same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = tu_read(a, &la), *y = tu_read(b, &lb);
    assert_non_null(x);
    assert_non_null(y);
    assert_int_equal(la, lb);
    assert_memory_equal(x, y, la);
    free(x);
    free(y);
}

static int file_exists(const char *dir, const char *name)
{
    char *p = dg_path_join(dir, name);
    struct stat st;
    int e = stat(p, &st) == 0;
    free(p);
    return e;
}

/* The last request line of the server's log. */
static char *last_request(const server *s)
{
    char *all = tu_read(s->log, NULL);
    assert_non_null(all);
    size_t n = strlen(all);
    while (n && all[n - 1] == '\n')
        all[--n] = '\0';
    char *nl = strrchr(all, '\n');
    char *line = strdup(nl ? nl + 1 : all);
    free(all);
    return line;
}

static void download_and_revalidate(void **state)
{
    server *s = *state;
    char url[256];
    url_of(s, "files", "app_labels_new.txt", url, sizeof url);
    dg_http_opts o = quick(s);
    dg_http_result r;
    dg_err err;
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_OK);
    assert_int_equal(r.outcome, DG_FETCH_DOWNLOADED);
    assert_int_equal(r.attempts, 1);
    assert_true(r.etag[0] == '"');
    char *src = dg_path_join(s->root, "app_labels_new.txt");
    assert_same_file(r.path, src);
    assert_true(file_exists(s->cache, "app_labels_new.txt.meta"));
    assert_false(file_exists(s->cache, "app_labels_new.txt.part"));

    /* Again: a conditional request, answered 304, no body. */
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_OK);
    assert_int_equal(r.outcome, DG_FETCH_NOT_MODIFIED);
    assert_int_equal(r.transferred, 0);
    char *req = last_request(s);
    assert_non_null(strstr(req, "\t304\t"));
    assert_non_null(strstr(req, r.etag));
    free(req);

    /* The object changes: its new bytes replace the cached ones. */
    write_object(s->root, "app_labels_new.txt", 1);
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_OK);
    assert_int_equal(r.outcome, DG_FETCH_DOWNLOADED);
    assert_same_file(r.path, src);

    /* A cached file whose size no longer matches its sidecar is not trusted. */
    char *cached = dg_path_join(s->cache, "app_labels_new.txt");
    free(tu_write_str(s->cache, "app_labels_new.txt", "tampered"));
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_OK);
    assert_int_equal(r.outcome, DG_FETCH_DOWNLOADED);
    assert_same_file(cached, src);
    free(cached);
    free(src);
}

static void resume_partial(void **state)
{
    server *s = *state;
    char url[256];
    url_of(s, "files", "app_labels_new.txt", url, sizeof url);
    dg_http_opts o = quick(s);
    dg_http_result r;
    dg_err err;
    /* A download cut after 1000 bytes, as a crash or Ctrl-C leaves it. */
    char *src = dg_path_join(s->root, "app_labels_new.txt");
    size_t len;
    char *body = tu_read(src, &len);
    free(tu_write(s->cache, "app_labels_new.txt.part", body, 1000));
    /* Learn the object's ETag the way the client would have. */
    char *probe = tu_tmpdir();
    dg_http_opts po = quick(s);
    po.cache_dir = probe;
    assert_int_equal(dg_http_fetch(url, &po, &r, &err), DG_OK);
    tu_rmrf(probe);
    free(probe);
    char meta[1024];
    snprintf(meta, sizeof meta, "url=%s\netag=%s\nlast_modified=\nsize=%zu\n", url, r.etag, len);
    free(tu_write_str(s->cache, "app_labels_new.txt.part.meta", meta));
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_OK);
    assert_int_equal(r.outcome, DG_FETCH_RESUMED);
    assert_int_equal(r.transferred, len - 1000);
    assert_same_file(r.path, src);
    char *req = last_request(s);
    assert_non_null(strstr(req, "\t206\tbytes=1000-\t"));
    free(req);
    assert_false(file_exists(s->cache, "app_labels_new.txt.part"));
    assert_false(file_exists(s->cache, "app_labels_new.txt.part.meta"));

    /* A .part of an older version (its ETag differs): If-Range makes the
     * server send the whole object, which replaces the stale piece. */
    fresh_cache(state);
    o.cache_dir = s->cache; /* the new one */
    free(tu_write(s->cache, "app_labels_new.txt.part", "stale stale stale", 17));
    snprintf(meta, sizeof meta, "url=%s\netag=\"old\"\nlast_modified=\nsize=%zu\n", url, len);
    free(tu_write_str(s->cache, "app_labels_new.txt.part.meta", meta));
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_OK);
    assert_int_equal(r.outcome, DG_FETCH_DOWNLOADED);
    assert_same_file(r.path, src);
    free(body);
    free(src);
}

static void retries(void **state)
{
    server *s = *state;
    char url[256];
    dg_http_opts o = quick(s);
    dg_http_result r;
    dg_err err;
    char *src = dg_path_join(s->root, "app_labels_new.txt");

    url_of(s, "flaky", "app_labels_new.txt", url, sizeof url);
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_OK);
    assert_int_equal(r.attempts, 2); /* 500, then 200 */
    assert_same_file(r.path, src);

    /* Cut off half-way once: the retry resumes from where the cut was. */
    fresh_cache(state);
    o.cache_dir = s->cache; /* the new one */
    url_of(s, "truncated-once", "app_labels_new.txt", url, sizeof url);
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_OK);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.outcome, DG_FETCH_RESUMED);
    assert_same_file(r.path, src);
    free(src);
}

static void failures(void **state)
{
    server *s = *state;
    char url[256];
    dg_http_opts o = quick(s);
    dg_http_result r;
    dg_err err;

    url_of(s, "missing", "app_labels_new.txt", url, sizeof url);
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_ERR);
    assert_non_null(strstr(err.msg, url));
    assert_non_null(strstr(err.msg, "HTTP 404 Not Found"));
    assert_int_equal(r.attempts, 1); /* not retried */

    url_of(s, "forbidden", "app_labels_new.txt", url, sizeof url);
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "HTTP 403 Forbidden"));
    assert_int_equal(r.attempts, 1);

    url_of(s, "down", "app_labels_new.txt", url, sizeof url);
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "HTTP 503 Service Unavailable (gave up after 3 attempts)"));

    /* Always cut: an error, the piece kept for later, never the file itself. */
    url_of(s, "truncated", "app_labels_new.txt", url, sizeof url);
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_ERR);
    assert_non_null(strstr(err.msg, url));
    assert_non_null(strstr(err.msg, "truncated"));
    assert_false(file_exists(s->cache, "app_labels_new.txt"));
    assert_true(file_exists(s->cache, "app_labels_new.txt.part"));

    /* Stalled: the low-speed limit ends each attempt after a second. */
    double t0 = dg_now();
    o.retries = -1;
    url_of(s, "slow", "app_labels_new.txt", url, sizeof url);
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "timed out"));
    assert_true(dg_now() - t0 < 10);
    assert_false(file_exists(s->cache, "app_labels_new.txt"));

    /* Nobody listening. */
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    bind(sock, (struct sockaddr *)&a, sizeof a);
    getsockname(sock, (struct sockaddr *)&a, &alen);
    close(sock);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/files/app_labels_new.txt", ntohs(a.sin_port));
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "connect"));

    /* Not a URL we take. */
    assert_int_equal(dg_http_fetch("ftp://example.org/x.csv", &o, &r, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "not an http"));
    assert_int_equal(dg_http_fetch("http://example.org/", &o, &r, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "names no file"));
}

static int cancel_now(void *ctx, const char *stage, double done, double total, const char *unit)
{
    (void)ctx;
    (void)stage;
    (void)total;
    (void)unit;
    return done > 0;
}

static void cancel(void **state)
{
    server *s = *state;
    char url[256];
    url_of(s, "files", "app_labels_new.txt", url, sizeof url);
    dg_http_opts o = quick(s);
    dg_progress pr = {cancel_now, NULL};
    o.progress = &pr;
    dg_http_result r;
    dg_err err;
    assert_int_equal(dg_http_fetch(url, &o, &r, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "cancelled"));
    assert_false(file_exists(s->cache, "app_labels_new.txt"));
}

/* demographer fetch, then demographer load of the cache directory. */
static void cli_fetch_then_load(void **state)
{
    server *s = *state;
    char asset[1024];
    snprintf(asset, sizeof asset, "%s/label_categories.csv", getenv("DG_ASSETS"));
    size_t len;
    char *body = tu_read(asset, &len);
    assert_non_null(body);
    free(tu_write(s->root, "label_categories.csv", body, len));
    free(body);
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s fetch --cache-dir '%s' --url-labels http://127.0.0.1:%d/files/app_labels_new.txt "
             "--url-categories http://127.0.0.1:%d/flaky/label_categories.csv",
             tu_bin(), s->cache, s->port, s->port);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "app_labels_new.txt: downloaded"));
    assert_non_null(strstr(out, "label_categories.csv: downloaded"));
    assert_non_null(strstr(out, "2 attempts"));
    free(out);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "app_labels_new.txt: not modified"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s load --quiet --no-snapshot '%s'", tu_bin(), s->cache);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "upgrad shape"));
    assert_non_null(strstr(out, "930        930 label_id"));
    free(out);
    snprintf(cmd, sizeof cmd,
             "%s fetch --cache-dir '%s' --url-labels http://127.0.0.1:%d/missing/x.txt",
             tu_bin(), s->cache, s->port);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "/missing/x.txt: HTTP 404"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(download_and_revalidate, fresh_cache),
        cmocka_unit_test_setup(resume_partial, fresh_cache),
        cmocka_unit_test_setup(retries, fresh_cache),
        cmocka_unit_test_setup(failures, fresh_cache),
        cmocka_unit_test_setup(cancel, fresh_cache),
        cmocka_unit_test_setup(cli_fetch_then_load, fresh_cache),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
