/* The parallel-for (par.h): the generator's phases and writers run on it. */
#include "demographer/par.h"

#include <pthread.h>

typedef struct par_worker {
    dg_par *p;
    int id;
} par_worker;

static void par_loop(dg_par *p, int id)
{
    for (;;) {
        if (atomic_load(&p->stop))
            return;
        size_t it = atomic_fetch_add(&p->next, 1);
        if (it >= p->n_items)
            return;
        p->fn(p->ctx, it, id);
        size_t d = atomic_fetch_add(&p->done, 1) + 1;
        if (id == 0 && dg_progress_report(p->progress, p->stage,
                                          p->base + p->span * (double)d / (double)p->n_items,
                                          p->total, p->unit))
            atomic_store(&p->stop, 1);
    }
}

static void *par_thread(void *arg)
{
    par_worker *w = arg;
    par_loop(w->p, w->id);
    return NULL;
}

int dg_par_run(dg_par *p, int threads)
{
    atomic_store(&p->next, 0);
    atomic_store(&p->done, 0);
    atomic_store(&p->stop, 0);
    if (threads > (int)p->n_items)
        threads = p->n_items ? (int)p->n_items : 1;
    pthread_t tid[DG_PAR_MAX_THREADS];
    par_worker wk[DG_PAR_MAX_THREADS];
    int started = 0;
    for (int i = 1; i < threads && i < DG_PAR_MAX_THREADS; i++) {
        wk[i].p = p;
        wk[i].id = i;
        if (pthread_create(&tid[i], NULL, par_thread, &wk[i]) != 0)
            break; /* fewer threads: same output, just slower */
        started = i;
    }
    par_loop(p, 0);
    for (int i = 1; i <= started; i++)
        pthread_join(tid[i], NULL);
    return atomic_load(&p->stop);
}

