/* The pace of long work and its ETA (pace.h). */
#include "demographer/pace.h"

#include <math.h>
#include <string.h>

void dg_pace_note(dg_pace *p, double now, double done)
{
    int n = p->n;
    if (n && done < p->done[n - 1])
        n = 0;
    if (n && done == p->done[n - 1])
        return;
    if (n >= 2 && now - p->t[n - 2] < DG_PACE_GAP) {
        /* Reports close together: the newest of them stands for them. */
        p->t[n - 1] = now;
        p->done[n - 1] = done;
        return;
    }
    if (n == DG_PACE_SAMPLES) {
        memmove(p->t, p->t + 1, (n - 1) * sizeof *p->t);
        memmove(p->done, p->done + 1, (n - 1) * sizeof *p->done);
        n--;
    }
    p->t[n] = now;
    p->done[n] = done;
    p->n = n + 1;
}

int dg_pace_eta(const dg_pace *p, double now, double total, double *rate, double *eta)
{
    int n = p->n;
    *rate = 0;
    *eta = NAN;
    if (n < 2)
        return 0;
    double span = p->t[n - 1] - p->t[0], units = p->done[n - 1] - p->done[0];
    if (span <= 0 || units <= 0)
        return 0;
    double per = span / units, since = now - p->t[n - 1];
    /* The last few samples' pace, when slower: a window of cheap units
     * followed by a few dear ones would otherwise keep the cheap pace. */
    int k = n > DG_PACE_RECENT ? n - 1 - DG_PACE_RECENT : 0;
    double rspan = p->t[n - 1] - p->t[k], runits = p->done[n - 1] - p->done[k];
    if (runits > 0 && rspan / runits > per)
        per = rspan / runits;
    if (since < 0)
        since = 0;
    /* A report that is late: the amount it will bring (the window's mean
     * step) has taken `since` so far, and the rest is taken to be as slow. */
    double step = units / (n - 1);
    if (since > per * step)
        per = since / step;
    *rate = 1 / per;
    double left = total - p->done[n - 1];
    if (left > 0) {
        *eta = left * per - since;
        if (*eta < 1)
            *eta = 1;
    }
    return 1;
}
