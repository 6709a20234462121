/* Background jobs: a model job run on a worker thread. The worker publishes
 * its progress under a mutex and wakes the main loop through a self-pipe (at
 * most every 50 ms, and once when it ends); the main loop polls the pipe with
 * the keyboard, so the screen never waits for the work. Cancelling sets a
 * flag that the progress callback returns, and the core stops with the
 * status DG_CANCELLED (dg_cancel), leaving nothing half-built. Curses-free. */
#ifndef DEMOGRAPHER_UI_JOB_H
#define DEMOGRAPHER_UI_JOB_H

#include "model.h"

#include "demographer/pace.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct job_progress {
    char title[128];
    char stage[64];
    char unit[16];
    double done, total;
    double started;       /* dg_now() when the job started */
    double stage_started; /* ... and when the current stage did */
    int cancelling;
    dg_pace pace;         /* the recent pace, for the rate and ETA (dg_pace_eta) */
} job_progress;

typedef struct job_runner {
    int pipe[2];          /* [0] polled by the main loop */
    pthread_t thread;
    model_job *job;       /* NULL: no job out */
    pthread_mutex_t lock; /* guards prog, rc, err */
    job_progress prog;
    double last_wake;
    atomic_int cancel;
    atomic_int finished;
    int rc;
    dg_err err;
    int delay_ms;         /* DG_JOB_DELAY_MS: test hook, slows each progress report */
} job_runner;

int job_init(job_runner *r, dg_err *err);
void job_close(job_runner *r);
/* Starts j on the worker thread. */
int job_start(job_runner *r, model_job *j, dg_err *err);
int job_running(const job_runner *r);
void job_cancel(job_runner *r);
/* Drains the pipe after poll said it is readable. When the job has ended,
 * joins the thread and returns 1 with *j, *rc and *err set (to hand to
 * model_finish); otherwise returns 0 (progress changed: redraw). */
int job_collect(job_runner *r, model_job **j, int *rc, dg_err *err);
/* A copy of the current progress. */
void job_peek(job_runner *r, job_progress *out);

#endif
