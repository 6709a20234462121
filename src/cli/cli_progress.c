#include "cli_progress.h"

#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int on_progress(void *ctx, const char *stage, double done, double total, const char *unit)
{
    cli_progress *p = ctx;
    if (p->quiet)
        return 0;
    double now = dg_now();
    if (strcmp(stage, p->stage) != 0) {
        snprintf(p->stage, sizeof p->stage, "%s", stage);
        p->stage_start = now;
    }
    if (strcmp(unit, p->unit) != 0) {
        snprintf(p->unit, sizeof p->unit, "%s", unit);
        p->pace.n = 0;
    }
    dg_pace_note(&p->pace, now, done);
    if (now - p->start < 1.0)
        return 0;
    double interval = p->tty ? 0.1 : 5.0;
    int finished = total > 0 && done >= total;
    if (now - p->last < interval && !finished)
        return 0;
    /* Plain lines are for long stages only: a log needs no line per table. */
    if (!p->tty && now - p->stage_start < 1.0)
        return 0;
    p->last = now;
    /* The rate and ETA of the recent pace (dg_pace_eta), as the workbench
     * says them; before the pace can tell, the stage's average rate. */
    double el = now - p->stage_start, rate, left;
    int known = dg_pace_eta(&p->pace, now, total, &rate, &left);
    if (!known)
        rate = el > 0 ? done / el : 0;
    char d[32], r[32], amount[80] = "", eta[32] = "";
    /* An estimated cost has a fraction and an ETA, no amount worth reading. */
    if (strcmp(unit, DG_UNIT_WORK) != 0) {
        dg_format_amount(done, unit, d, sizeof d);
        dg_format_amount(rate, unit, r, sizeof r);
        snprintf(amount, sizeof amount, p->tty ? " %s %s/s" : " %s (%s/s)", d, r);
    }
    if (total > 0 && known && !isnan(left) && !finished)
        snprintf(eta, sizeof eta, " ETA %.0fs", ceil(left));
    double frac = total > 0 ? done / total : 0;
    if (frac > 1)
        frac = 1;
    if (p->tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        fprintf(cli_tty_raw(), "\r\033[K%-16s [%s] %3.0f%%%s%s", stage, bar, frac * 100, amount,
                eta);
        fflush(cli_tty_raw());
        p->shown = 1;
    } else {
        fprintf(stderr, "%s: %.0f%%%s%s\n", stage, frac * 100, amount, eta);
    }
    fflush(stderr);
    return 0;
}

dg_progress cli_progress_start(cli_progress *p, int quiet)
{
    memset(p, 0, sizeof *p);
    p->tty = isatty(STDERR_FILENO);
    p->quiet = quiet;
    p->start = dg_now();
    return (dg_progress){on_progress, p};
}

void cli_progress_done(cli_progress *p)
{
    if (p->tty && p->shown)
        fprintf(cli_tty_raw(), "\r\033[K");
    p->shown = 0;
}
