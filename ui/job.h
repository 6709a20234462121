/* Background jobs: a model job run on a worker thread. The worker publishes
 * its progress under a mutex and wakes the main loop through a self-pipe (at
 * most every 50 ms, and once when it ends); the main loop polls the pipe with
 * the keyboard, so the screen never waits for the work. Cancelling sets a
 * flag that the progress callback returns, and the core stops with the
 * status DG_CANCELLED (dg_cancel), leaving nothing half-built. Curses-free. */
#ifndef DEMOGRAPHER_UI_JOB_H
#define DEMOGRAPHER_UI_JOB_H

#include "model.h"

#include <pthread.h>
#include <stdatomic.h>

/* The recent pace of a job: when its amount done last grew, over the last
 * reports (a sample at most every JOB_PACE_GAP seconds). */
#define JOB_PACE_SAMPLES 16
#define JOB_PACE_GAP 0.25
#define JOB_PACE_RECENT 4 /* the last intervals, whose pace wins when slower */

typedef struct job_progress {
    char title[128];
    char stage[64];
    char unit[16];
    double done, total;
    double started;       /* dg_now() when the job started */
    double stage_started; /* ... and when the current stage did */
    int cancelling;
    double pace_t[JOB_PACE_SAMPLES], pace_done[JOB_PACE_SAMPLES]; /* oldest first */
    int pace_n;
} job_progress;

/* Notes that done was reported at time now in p's pace window. A count that
 * goes back (a new count) starts the window again; one that stays keeps the
 * time it was reached. */
void job_pace_note(job_progress *p, double now, double done);
/* The rate (units a second) and the time left, from the pace of the recent
 * window, not from the job's start: a training's later fits can cost far
 * more than its first (xgboost after softmax), and its stages each start
 * with the fits of the stages before. The pace is the window's, or its last
 * JOB_PACE_RECENT intervals' when slower. While the last unit takes longer than
 * the window's pace, the units left are taken to cost as much as it has so
 * far. 0 when the window holds too little to tell (fewer than two counts),
 * else 1. */
int job_pace(const job_progress *p, double now, double *rate, double *eta);

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
