/* The pace of long work and the time it has left, shared by the
 * workbench's status line and the headless commands' progress bar, so both
 * say the same. It reads the amounts a progress callback is given (done of
 * total, in any unit); in the unit "work" (DG_UNIT_WORK) they are estimated
 * costs, not counts: training weighs each fit by what it is expected to
 * cost (an xgboost fit against a prior's), so that the cheap fits done
 * first do not make the dear ones left look near done. */
#ifndef DEMOGRAPHER_PACE_H
#define DEMOGRAPHER_PACE_H

/* The unit of estimated cost: the amounts mean nothing alone, their
 * fractions and the pace do. Displays show no amount or rate for it. */
#define DG_UNIT_WORK "work"

/* The recent pace: when the amount done last grew, over the last reports
 * (a sample at most every DG_PACE_GAP seconds), oldest first. */
#define DG_PACE_SAMPLES 16
#define DG_PACE_GAP 0.25
#define DG_PACE_RECENT 4 /* the last intervals, whose pace wins when slower */

typedef struct dg_pace {
    double t[DG_PACE_SAMPLES], done[DG_PACE_SAMPLES];
    int n;
} dg_pace;

/* Notes that done was reported at time now. An amount that goes back (a new
 * count) starts the window again; one that stays keeps the time it was
 * reached. */
void dg_pace_note(dg_pace *p, double now, double done);

/* The rate (units a second) and the time left to reach total, from the pace
 * of the recent window, not from the work's start: a training's later fits
 * can cost far more than its first, and its stages each start with the
 * amounts of the stages before. The pace is the window's, or its last
 * DG_PACE_RECENT intervals' when slower. While the time since the last report
 * exceeds the window's time per report, the reports left are taken to be as
 * slow as the current one has been so far. While anything is left the ETA is
 * at least a second (0 s is for the end); with nothing left it is NaN: work
 * that goes on past its plan has no ETA to give. Returns 0 when the window
 * holds too little to tell (fewer than two amounts), else 1. */
int dg_pace_eta(const dg_pace *p, double now, double total, double *rate, double *eta);

#endif
