/* The project's parallel-for: fn over items 0..n_items-1 on a few threads,
 * items handed out one at a time in order (an atomic counter), the calling
 * thread one of the workers. Progress is reported from the calling thread
 * only (worker 0), after each of its items, so the progress callback never
 * runs concurrently, as done units
 * base + span * items_done / n_items of total; a report that asks to stop,
 * or fn setting p->stop, ends the loop once the running items finish. */
#ifndef DEMOGRAPHER_PAR_H
#define DEMOGRAPHER_PAR_H

#include "demographer/common.h"

#include <stdatomic.h>
#include <stddef.h>

#define DG_PAR_MAX_THREADS 64

typedef struct dg_par {
    size_t n_items;
    void (*fn)(void *ctx, size_t item, int worker); /* worker: 0 .. threads-1 */
    void *ctx;
    atomic_size_t next, done;
    atomic_int stop;
    const dg_progress *progress; /* NULL: none */
    const char *stage, *unit;    /* the progress reports' names */
    double base, span, total;
} dg_par;

/* Runs p on up to `threads` threads (at most DG_PAR_MAX_THREADS and
 * n_items; fewer when a thread cannot be started: the same items, just
 * slower). Returns non-zero when stopped (cancelled, or by fn). */
int dg_par_run(dg_par *p, int threads);

#endif
