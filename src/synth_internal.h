/* The generator's internals (src/synth*.c), shared by its parts:
 *   synth_world.c    the worlds' models: classes, phones, events, apps, places
 *   synth_devices.c  devices, events and each device's truth row; the phases
 *   synth_output.c   the output files (written aside, renamed into place) and
 *                    their writers
 *   synth.c          dg_synth: the order of the phases
 * synth_format.h holds the CSV formatting helpers. */
#ifndef DEMOGRAPHER_SYNTH_INTERNAL_H
#define DEMOGRAPHER_SYNTH_INTERNAL_H

#include "demographer/par.h"
#include "demographer/synth.h"

#include "synth_tables.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* ---------------------------------------------------------------------------
 * Model constants (the planted signal and the calibration knobs)
 * ------------------------------------------------------------------------- */

/* Real counts used for the proportions of the generated set. */
#define REAL_DEVICES 186716.0
#define REAL_LABELLED 74645.0
#define REAL_DUPLICATED 529.0
#define REAL_CONFLICTING 6.0
#define REAL_LABELLED_WITH_EVENTS 23309.0
#define REAL_TEST_WITH_EVENTS 37556.0 /* 60865 - 23309 */
#define REAL_MAPPING_TRAIN 58549.0
#define REAL_APP_LABEL_ROWS 459943.0

#define MAX_DEVICES 10000000u

/* Phones: scale of the planted brand and model tilts. */
#define BRAND_TILT_SCALE 1.0
#define MODEL_TILT_SCALE 1.0

/* Events per device. */
#define EV_SIGMA 1.6
#define EV_SEX 0.165 /* women log ~0.72 times as many events as men: ~29 % female */
#define EV_AGE 0.12  /* per 10 years */
#define EV_MEAN 52.15
/* test devices log a little more (54.25 per device with events: 3.25M in all) */
#define EV_TEST_SHIFT 0.0395
#define EV_CAP 33000u

/* Chronotypes: hour profile tilts and their dependence on age. */
#define N_CHRONO 5
#define CHRONO_AGE 0.35 /* shift of the preferred tilt per 10 years younger */
#define CHRONO_SD 0.35

/* Personas. */
#define N_PERS 24
#define PERS_SEX 0.8
#define PERS_AGE_SD 0.55 /* in units of 10 years */

/* Apps. */
#define MAX_APP_LABELS 16 /* labels of one app in app_labels */
#define DG_N_APPS 40000u /* installable apps, ~19,200 of them seen at full size */
#define APP_ZIPF_S 1.5   /* popularity of the app of rank j: (j + J0)^-S */
#define APP_ZIPF_J0 10.0
#define APP_PCAP 0.95    /* no app is installed with a higher probability */
#define APP_SEX 0.7      /* weight of app gender lean x persona gender */
#define APP_AGE_W 0.8    /* width (10 years) of an app's age appeal */
#define APP_TASTE 0.5    /* weight of app taste x light / heavy persona */
#define APP_LIST_P 0.9    /* an installed app is listed by a later app event */
#define APP_NONE_SHARE 0.34 /* devices that never report apps */

/* Places. */
#define LOC_ZERO_DEV 0.10   /* devices that only ever report (0,0) */
#define LOC_ONE_DEV 0.006   /* ... only (1,1) */
#define LOC_CENTRE_DEV 0.10 /* ... the city centre itself (IP geolocation) */
#define LOC_ZERO_EV 0.2215  /* per event, other devices */
#define LOC_ONE_EV 0.01957 /* per event, other devices */

/* Activity: P(is_active) = min(0.97, app activity * device factor), the
 * device factor lognormal with this sd and mean ACT_SCALE. */
#define ACT_DEV_SD 0.35
#define ACT_SCALE 0.82

/* ---------------------------------------------------------------------------
 * Random numbers: splitmix64 seeding, xoshiro256**
 * ------------------------------------------------------------------------- */

enum {
    ST_ASSIGN = 1,
    ST_DEVICE,
    ST_EVENTS,
    ST_APPS,
    ST_SORT,
    ST_ROWS,
    ST_IDFIX,
    ST_SHUFFLE,
    ST_MAPPING,
    ST_CATALOGUE,
    ST_EFFECTS, /* the per-group / per-app effects of the worlds other than personas */
};

typedef struct rng {
    uint64_t s[4];
} rng;

static inline void rng_init(rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
    uint64_t x = seed;
    uint64_t a = dg_splitmix64(&x);
    x = a ^ ((stream + 1) * 0xd1b54a32d192ed03ULL);
    uint64_t b = dg_splitmix64(&x);
    x = b ^ ((index + 1) * 0x8cb92ba72f3d8dd7ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = dg_splitmix64(&x);
}

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rng_u64(rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return res;
}

/* Uniform in [0, 1). */
static inline double rng_unif(rng *r) { return (double)(rng_u64(r) >> 11) * 0x1.0p-53; }

/* Uniform integer in [0, n). */
static inline uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_u64(r) >> 32) * (uint64_t)n) >> 32);
}

static inline double rng_normal(rng *r)
{
    double u1 = 1.0 - rng_unif(r); /* (0, 1] */
    double u2 = rng_unif(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Index i with cdf[i-1] <= u*cdf[n-1] < cdf[i] (cdf is cumulative). */
static inline uint32_t pick_cdf(const double *cdf, uint32_t n, double u)
{
    double x = u * cdf[n - 1];
    uint32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (cdf[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---------------------------------------------------------------------------
 * Classes and groups
 * ------------------------------------------------------------------------- */

#define MAX_CLS 194


static inline int group12(int male, int age)
{
    if (!male) {
        if (age <= 23) return 0;
        if (age <= 26) return 1;
        if (age <= 28) return 2;
        if (age <= 32) return 3;
        if (age <= 42) return 4;
        return 5;
    }
    if (age <= 22) return 6;
    if (age <= 26) return 7;
    if (age <= 28) return 8;
    if (age <= 31) return 9;
    if (age <= 38) return 10;
    return 11;
}

/* Upgrad's six groups: 0-24, 25-32, 33+ ("32+"), men first. */
static inline int group6(int male, int age)
{
    int a = age <= 24 ? 0 : age <= 32 ? 1 : 2;
    return male ? a : 3 + a;
}

static inline double age_pos(int age)
{
    double a = age < 12 ? 12 : age > 75 ? 75 : age;
    return (a - 31.0) / 10.0;
}

/* ---------------------------------------------------------------------------
 * Cities (boxes of +-0.36 degrees around the centres never overlap)
 * ------------------------------------------------------------------------- */

typedef struct city {
    double lon, lat, weight, age_tilt, sex_tilt;
} city;

#define N_CITIES 32
extern const city synth_cities[N_CITIES];

/* ---------------------------------------------------------------------------
 * The worlds: how the observed features depend on the class, axis by axis
 * (doc/worlds.md says what each assumes and what its truth integrates)
 * ------------------------------------------------------------------------- */

enum { APPS_PERSONAS, APPS_GROUPS, APPS_SMOOTH };   /* app propensities */
enum { HOURS_CHRONO, HOURS_GROUPS, HOURS_SMOOTH };  /* hour-of-day profile */
enum { COUNT_LOGNORMAL, COUNT_LEVELS, COUNT_NEGBIN }; /* events per device */
enum { PLACE_HOME, PLACE_TRAVEL };                  /* where the location signal is */

typedef struct synth_world {
    const char *name;
    int apps, hours, count, place;
    double phone_scale; /* of the brand and model age / sex tilts */
    double city_scale;  /* of the home city's age / sex tilts */
} synth_world;

/* The world called `name`; an error naming every world when there is none. */
const synth_world *synth_world_find(const char *name, dg_err *err);

/* smooth: one app profile per sex and clamped age (12 .. 75) */
#define SMOOTH_AGES 64
#define MAX_PROF (N_PERS > 2 * SMOOTH_AGES ? N_PERS : 2 * SMOOTH_AGES)
/* ---------------------------------------------------------------------------
 * The world: everything fixed before devices are drawn
 * ------------------------------------------------------------------------- */

typedef struct world {
    uint64_t seed;
    const synth_world *kind;
    /* classes */
    int n_cls;
    uint8_t cls_male[MAX_CLS], cls_age[MAX_CLS];
    double log_prior[MAX_CLS], prior_cdf[MAX_CLS];
    /* phones */
    uint16_t model_brand[DG_SYNTH_N_MODELS];
    double *model_logp;   /* [n_cls][models] log P(model | class) */
    double *model_cdf;    /* [n_cls][models] */
    double marg_cdf[DG_SYNTH_N_MODELS];
    char *model_mojibake[DG_SYNTH_N_MODELS];
    /* events */
    double ev_mu[MAX_CLS]; /* lognormal: mu; levels and negbin: the mean of n - 1 */
    double chrono_p[MAX_CLS][N_CHRONO], chrono_cdf[MAX_CLS][N_CHRONO];
    /* hour profiles: the chronotypes (personas), else one per group / class */
    int n_hprof;
    int hprof_of_cls[MAX_CLS]; /* -1: a latent chronotype */
    double hour_logp[MAX_CLS][24], hour_cdf[MAX_CLS][24];
    double day_cdf[24][9]; /* day 0 = 30 April .. 8 = 8 May, given the hour */
    /* app profiles: the personas (a latent mixture), else one per group or
     * per sex and clamped age */
    int n_prof;
    int prof_of_cls[MAX_CLS]; /* -1: a latent persona */
    double pers_p[MAX_CLS][N_PERS], pers_cdf[MAX_CLS][N_PERS];
    double pers_base[MAX_PROF]; /* sum_j log(1 - p_kj) - log(1 - P(empty set)) */
    /* synth_cities */
    double city_logp[MAX_CLS][N_CITIES], city_cdf[MAX_CLS][N_CITIES];
    double away_p[MAX_CLS]; /* travel: P(an event with a place is away from home) */
    /* apps: the first DG_N_APPS are installable, the rest catalogue only */
    uint32_t n_catalogue;
    int64_t *app_id;
    float *app_p;       /* [n_prof][DG_N_APPS] */
    float *app_logodds; /* [n_prof][DG_N_APPS] */
    uint32_t *app_order; /* [n_prof][DG_N_APPS], by decreasing p */
    float *app_act;
    uint32_t *label_off; /* [n_catalogue + 1] */
    uint16_t *labels;
    uint64_t n_label_rows;
} world;

void synth_world_build(world *w, const synth_world *kind, uint64_t seed, uint64_t n_devices);
void synth_world_free(world *w);
/* The number of events of a device of class c that has events. */
uint32_t synth_draw_n_events(const world *w, int c, bool labelled, rng *r);
/* lp[c] += log P(n events | class c), for every class. */
void synth_add_n_events_loglik(const world *w, uint32_t n, bool labelled, double *lp);
/* ---------------------------------------------------------------------------
 * Devices and events
 * ------------------------------------------------------------------------- */

enum {
    F_LABELLED = 1,
    F_EVENTS = 2,
    F_DUP = 4,
    F_CONFLICT = 8,
    F_TRAIN = 16, /* mapping file flag */
};

enum { LOC_NORMAL, LOC_ZERO, LOC_ONE, LOC_CENTRE };

typedef struct dev {
    int64_t id;
    uint32_t model, model2;
    uint32_t n_events, ev_off;
    uint64_t app_off;
    float app_rate, act;
    uint16_t n_apps, cls;
    uint8_t flags, chrono, persona, city, loc_mode;
    int16_t home_lon, home_lat, work_lon, work_lat;
} dev;

typedef struct event {
    uint32_t dev;
    uint32_t t; /* seconds since 2016-04-30 00:00:00 */
    int16_t lon, lat;
    uint8_t apps, first;
} event;

#define BLOCK 2048u
#define TRUTH_COLS 14

typedef struct gen {
    world w;
    uint32_t n; /* devices */
    dev *devs;
    /* per-block app sets, joined into apps after the device phase */
    uint32_t **blk_apps;
    uint64_t *blk_n_apps, *blk_cap;
    uint32_t *apps;
    event *events;
    uint64_t n_events;
    double *truth; /* [n][TRUTH_COLS] or NULL */
    char (*idstr)[24]; /* exact ids, formatted */
    char (*idtrunc)[24]; /* 15 significant digits (Upgrad) */
} gen;

/* The phases, each item a block of BLOCK devices (dg_par's fn). */
void synth_phase_devices(void *ctx, size_t blk, int worker);
void synth_phase_events(void *ctx, size_t blk, int worker);
void synth_assign_flags(gen *G);
void synth_fix_ids(gen *G);
void synth_sort_events(gen *G);
/* ---------------------------------------------------------------------------
 * Output files: streamed aside (dg_atomic_file), all closed, then all
 * renamed into place when everything succeeded
 * ------------------------------------------------------------------------- */

typedef struct outfile {
    dg_atomic_file f;
    uint64_t rows;
} outfile;
/* ---------------------------------------------------------------------------
 * Writers
 * ------------------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

/* events.csv and app_events.csv, formatted in chunks by all threads and
 * written in chunk order. */
#define EV_CHUNK 32768u

typedef struct writer {
    gen *G;
    outfile *ev, *ae;
    bool upgrad;
    uint64_t n_chunks;
    buf bev[64], bae[64];
    uint8_t *listed[64]; /* per worker, one flag per installed app */
    uint64_t *chunk_rows;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t next_write;
    dg_par *p;
    int failed;
    dg_err err;
} writer;

/* Formats and writes the chunk-th EV_CHUNK events (dg_par's fn). */
void synth_write_chunk(void *ctx, size_t chunk, int worker);

int synth_write_labels_file(gen *G, outfile *o, bool upgrad, dg_err *err);
int synth_write_test_file(gen *G, outfile *o, dg_err *err);
int synth_write_phone_file(gen *G, outfile *o, bool upgrad, dg_err *err);
int synth_write_app_labels_file(gen *G, outfile *o, dg_err *err);
uint32_t synth_count_lines(const char *s);
int synth_write_mapping_file(gen *G, outfile *o, bool upgrad, dg_err *err);
int synth_write_truth_file(gen *G, outfile *o, dg_err *err);

#endif
