/* Progress for the headless commands: a bar with rate and ETA (pace.h) on a terminal
 * (shown once the work has run for a second), plain lines every few seconds
 * otherwise, nothing with --quiet. */
#ifndef DEMOGRAPHER_CLI_PROGRESS_H
#define DEMOGRAPHER_CLI_PROGRESS_H

#include "demographer/common.h"
#include "demographer/pace.h"

typedef struct cli_progress {
    int tty, quiet, shown;
    double start, last;
    char stage[64];
    double stage_start;
    char unit[16];
    dg_pace pace; /* the recent pace, for the rate and ETA (as the workbench's) */
} cli_progress;

/* Fills p and returns the dg_progress to hand to the library. */
dg_progress cli_progress_start(cli_progress *p, int quiet);
/* Clears the bar line, if one is drawn. */
void cli_progress_done(cli_progress *p);

#endif
