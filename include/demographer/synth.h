/* A generator of a realistic TalkingData / Upgrad data set, calibrated to the
 * published statistics of the real data, with a planted, documented
 * dependence of phones, apps, activity and places on gender and age. */
#ifndef DEMOGRAPHER_SYNTH_H
#define DEMOGRAPHER_SYNTH_H

#include "demographer/common.h"
#include "demographer/schema.h"

typedef struct dg_synth_opts {
    const char *out_dir;    /* created when missing */
    const char *truth_path; /* NULL: no truth file */
    uint64_t devices;       /* phone rows' distinct devices (the full set: 186716) */
    uint64_t seed;
    dg_shape shape;
    int threads;            /* 0: one per core */
    const char *world;      /* NULL: the default world, "personas" */
} dg_synth_opts;

/* Counts of what was written, for the CLI's report and the tests. */
typedef struct dg_synth_report {
    uint64_t labelled, unlabelled, phone_rows, events, app_events, app_labels, label_categories;
    double seconds;
} dg_synth_report;

#define DG_SYNTH_DEFAULT_DEVICES 20000u

/* The name of world i (0: the default), NULL past the last one. The worlds
 * differ in how the observed features depend on gender and age
 * (doc/worlds.md). */
const char *dg_synth_world_name(int i);

int dg_synth(const dg_synth_opts *opts, const dg_progress *progress, dg_synth_report *report,
             dg_err *err);

#endif
