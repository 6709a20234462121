#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int job_init(job_runner *r, dg_err *err)
{
    memset(r, 0, sizeof *r);
    if (pipe(r->pipe) != 0)
        return dg_fail(err, "pipe: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        fcntl(r->pipe[i], F_SETFL, fcntl(r->pipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(r->pipe[i], F_SETFD, FD_CLOEXEC);
    }
    pthread_mutex_init(&r->lock, NULL);
    const char *d = getenv("DG_JOB_DELAY_MS");
    r->delay_ms = d ? atoi(d) : 0;
    return DG_OK;
}

void job_close(job_runner *r)
{
    close(r->pipe[0]);
    close(r->pipe[1]);
    pthread_mutex_destroy(&r->lock);
}

static void wake(job_runner *r)
{
    char c = 1;
    /* A full pipe already holds a wake-up: nothing lost by dropping this one. */
    ssize_t n = write(r->pipe[1], &c, 1);
    (void)n;
}

static int on_progress(void *ctx, const char *stage, double done, double total, const char *unit)
{
    job_runner *r = ctx;
    double now = dg_now();
    pthread_mutex_lock(&r->lock);
    if (strcmp(r->prog.stage, stage) != 0) {
        snprintf(r->prog.stage, sizeof r->prog.stage, "%s", stage);
        r->prog.stage_started = now;
    }
    if (strcmp(r->prog.unit, unit) != 0) {
        snprintf(r->prog.unit, sizeof r->prog.unit, "%s", unit);
        r->prog.pace.n = 0;
    }
    dg_pace_note(&r->prog.pace, now, done);
    r->prog.done = done;
    r->prog.total = total;
    int do_wake = now - r->last_wake >= 0.05;
    if (do_wake)
        r->last_wake = now;
    pthread_mutex_unlock(&r->lock);
    if (do_wake)
        wake(r);
    /* The test hook sleeps in 5 ms slices so that a cancel still lands fast. */
    for (int slept = 0; slept < r->delay_ms && !atomic_load(&r->cancel); slept += 5) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&r->cancel);
}

static void *worker(void *arg)
{
    job_runner *r = arg;
    dg_progress p = {on_progress, r};
    dg_err err = {0};
    int rc = model_job_run(r->job, &p, &err);
    /* A cancel that came after the last progress check still wins: the user
     * asked for nothing to change. */
    if (rc == DG_OK && atomic_load(&r->cancel))
        rc = dg_cancel(&err, "cancelled");
    /* Work that failed while stopping for a cancel (a message wrapped on the
     * way up) was cancelled all the same. */
    if (rc != DG_OK && atomic_load(&r->cancel))
        err.status = DG_CANCELLED;
    pthread_mutex_lock(&r->lock);
    r->rc = rc;
    r->err = err;
    pthread_mutex_unlock(&r->lock);
    atomic_store(&r->finished, 1);
    wake(r);
    return NULL;
}

int job_start(job_runner *r, model_job *j, dg_err *err)
{
    if (r->job)
        return dg_fail(err, "a job is already running");
    r->job = j;
    atomic_store(&r->cancel, 0);
    atomic_store(&r->finished, 0);
    memset(&r->prog, 0, sizeof r->prog);
    snprintf(r->prog.title, sizeof r->prog.title, "%s", model_job_title(j));
    r->prog.started = r->prog.stage_started = dg_now();
    r->last_wake = 0;
    int e = pthread_create(&r->thread, NULL, worker, r);
    if (e != 0) {
        r->job = NULL;
        return dg_fail(err, "cannot start a worker thread: %s", strerror(e));
    }
    return DG_OK;
}

int job_running(const job_runner *r)
{
    return r->job != NULL;
}

void job_cancel(job_runner *r)
{
    if (r->job)
        atomic_store(&r->cancel, 1);
}

int job_collect(job_runner *r, model_job **j, int *rc, dg_err *err)
{
    char buf[256];
    while (read(r->pipe[0], buf, sizeof buf) > 0) {
    }
    if (!r->job || !atomic_load(&r->finished))
        return 0;
    pthread_join(r->thread, NULL);
    *j = r->job;
    *rc = r->rc;
    *err = r->err;
    r->job = NULL;
    return 1;
}

void job_peek(job_runner *r, job_progress *out)
{
    pthread_mutex_lock(&r->lock);
    *out = r->prog;
    pthread_mutex_unlock(&r->lock);
    out->cancelling = atomic_load(&r->cancel);
}
