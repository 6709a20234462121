/* The synthetic data generator: a TalkingData / Upgrad-shaped data set,
 * calibrated to the published statistics of the real one (shared/DATA.md),
 * with a planted, documented dependence of the observable features on
 * gender and age.
 *
 * GENERATIVE MODEL
 * ================
 * Every device first draws its class c = (gender, age) from the real
 * per-gender age histogram (prior P(c); men 64.18 %, mean ages 31.05 / 32.05,
 * so the 12 Kaggle groups come out at their real shares). Given c, each of the
 * following features is drawn INDEPENDENTLY (a naive-Bayes structure with a
 * latent variable inside some features):
 *
 *  1. Phone. P(brand | c) ∝ lambda[brand][gender] * exp(tilt_brand * u), where
 *     u = (clamp(age, 12, 75) - 31) / 10 and lambda is fitted (iterative
 *     proportional fitting) so that every brand keeps its real share and male
 *     share (stats.json); tilts: OPPO, vivo, 美图 young; 三星, 华为, 金立,
 *     中兴 older. P(model | brand, c) ∝ weight * exp(age_tilt * u +
 *     sex_tilt * s) with s = +1 for men, -1 for women (红米 and 魅蓝 young,
 *     Galaxy Note / Mate older and male, OPPO R7 / vivo X5 young and female...).
 *  2. Number of events (for devices that have events at all, a choice that is
 *     independent of c): n = clamp(floor(exp(x)), 1, 33000) with
 *     x ~ Normal(mu0 + EV_SEX * s + EV_AGE * u (+ EV_TEST_SHIFT for test
 *     devices), EV_SIGMA^2): men and older users log more events (events
 *     come out ~29 % female).
 *  3. Hours of the events: a latent chronotype t (5 types, from "early" to
 *     "night owl") with P(t | c) favouring late types for the young; given t
 *     the hours are i.i.d. from a tilt of the real hour profile.
 *  4. Apps: a latent persona k (24 personas = female / male leaning x six age
 *     centres x light / heavy app user) with P(k | c) ∝ exp(PERS_SEX * G_k * s
 *     - (u - u_k)^2 / (2 PERS_AGE_SD^2)). Given k, every app j of the universe
 *     is installed independently with probability p_kj (Zipf popularity, tilted
 *     by the app's own latent gender lean, age centre and taste), the set
 *     being redrawn when empty. Every event that carries app rows lists a
 *     subset of the installed set, and a device's first such event lists all
 *     of it, so the apps seen for a device are exactly its installed set.
 *     An app's labels follow its latent traits (games lean young and male,
 *     shopping and beauty female, finance and news older...).
 *  5. Place: a home city with P(city | c) ∝ weight * exp(small age and sex
 *     tilts); home and work spots inside the city.
 *
 * Everything else is independent of the class: which devices are labelled,
 * which have events, the day, minute and second of an event given its hour,
 * which events carry app rows, the placeholder coordinates (0,0) / (1,1),
 * the home / work / elsewhere choice, the is_active flags, duplicate phone
 * rows (the 6-in-529 conflicting second rows draw a model from the
 * population marginal, so they carry no information), the device and app ids.
 * City boxes do not overlap, so the city of any event with real coordinates
 * is known exactly.
 *
 * THE TRUTH FILE
 * ==============
 * For every device (labelled and test): the exact Bayes posterior of its
 * class given everything observable about it in the generated files except
 * its label, under the model above:
 *   P(c | x) ∝ P(c) * P(first phone row | c)
 *            * [events]  P(n | c) * sum_t P(t | c) prod_e P(hour_e | t)
 *            * [apps seen] sum_k P(k | c) P(installed set | k, set not empty)
 *            * [city seen] P(city | c)
 * over the (gender, age) classes with a non-zero prior, summed to p_male,
 * expected_age and the 12 Kaggle group probabilities. Nothing is
 * approximated: an event's hour in the file is the drawn hour (the edge
 * minutes of 30 April / 8 May are drawn given the hour), the installed set is
 * exactly what app_events shows, and the terms left out do not depend on c.
 * Its mean -log P(true group) over labelled devices is the best achievable
 * 12-group log loss on that output: at --devices 186716, seed 1, about 2.245
 * (priors 2.427; 1.96 on devices with events, 1.77 with apps, 2.37 without
 * events), and p_male has a gender AUC of about 0.66 (0.79 on devices with
 * events). The train_test_flag of the mapping file is drawn per group and is
 * not used: it is not a feature of the device.
 *
 * CALIBRATION (to shared/DATA.md at --devices 186716)
 * ===================================================
 * labelled round(N*74645/186716), of which 31.23 % have events (test
 * devices 33.51 %); 529/186716 devices have a second phone row; events per
 * device lognormal (sigma 1.6) with mean ~52; hour and weekday profiles of
 * the real train events (timestamps 2016-04-30 23:52 .. 2016-05-08 00:01);
 * 29.8 % of events at (0.00,0.00) and 2.35 % at (1.00,1.00), with
 * device-level placeholder modes (10 % of devices only ever report (0,0),
 * 0.6 % only (1,1), 10 % their city centre); 45.7 % of events carry app rows
 * (34 % of devices never report apps), ~21.8 per
 * such event, 39.2 % active; ~19,200 distinct apps seen in app_events out of
 * a universe of DG_N_APPS installable apps (Zipf-like popularity), and
 * label-only catalogue apps up to ~459,943 app_labels rows (scaled by N).
 *
 * DETERMINISM AND SPEED
 * =====================
 * Every random draw comes from a xoshiro256** stream seeded from (seed,
 * purpose, item index): a device, a bucket of the time sort, a chunk of
 * written events. Work is split into items that threads take in any order,
 * so the output does not depend on the number of threads. */
#include "demographer/synth.h"

#include "synth_tables.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
static const double chrono_tilt[N_CHRONO] = {-0.8, -0.4, 0.0, 0.4, 0.8};
#define CHRONO_AGE 0.35 /* shift of the preferred tilt per 10 years younger */
#define CHRONO_SD 0.35

/* Personas. */
#define N_PERS 24
static const double pers_age[6] = {18, 23, 27, 32, 40, 50};
#define PERS_SEX 0.8
#define PERS_AGE_SD 0.55 /* in units of 10 years */
/* expected apps installed by light / heavy users, 1 % fewer per year of the
 * persona's age centre past 18 */
static const double pers_size[2] = {15.2, 34.6};

/* Apps. */
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

static void rng_init(rng *r, uint64_t seed, uint64_t stream, uint64_t index)
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

static double rng_normal(rng *r)
{
    double u1 = 1.0 - rng_unif(r); /* (0, 1] */
    double u2 = rng_unif(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Index i with cdf[i-1] <= u*cdf[n-1] < cdf[i] (cdf is cumulative). */
static uint32_t pick_cdf(const double *cdf, uint32_t n, double u)
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

static const char *const group12_names[12] = {"F23-",   "F24-26", "F27-28", "F29-32",
                                              "F33-42", "F43+",   "M22-",   "M23-26",
                                              "M27-28", "M29-31", "M32-38", "M39+"};
static const char *const group6_names[6] = {"M0-24", "M25-32", "M32+", "F0-24", "F25-32", "F32+"};

static int group12(int male, int age)
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
static int group6(int male, int age)
{
    int a = age <= 24 ? 0 : age <= 32 ? 1 : 2;
    return male ? a : 3 + a;
}

static double age_pos(int age)
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

static const city cities[] = {
    {116.39, 39.91, 10, -0.10, 0.05}, /* Beijing */
    {121.47, 31.23, 9, -0.10, 0.00},  /* Shanghai */
    {113.26, 23.13, 8, -0.15, 0.05},  /* Guangzhou */
    {114.06, 22.54, 6, -0.25, 0.10},  /* Shenzhen */
    {104.06, 30.67, 6, 0.00, -0.05},  /* Chengdu */
    {106.55, 29.56, 5, 0.05, 0.00},   /* Chongqing */
    {113.62, 34.74, 5, 0.00, 0.05},   /* Zhengzhou */
    {114.30, 30.59, 5, -0.05, 0.00},  /* Wuhan */
    {120.16, 30.27, 5, -0.05, -0.05}, /* Hangzhou */
    {118.78, 32.06, 4, 0.00, 0.00},   /* Nanjing */
    {108.94, 34.34, 4, 0.05, 0.05},   /* Xi'an */
    {117.20, 39.13, 3, 0.10, 0.00},   /* Tianjin */
    {114.51, 38.04, 3, 0.10, 0.05},   /* Shijiazhuang */
    {117.00, 36.67, 3, 0.10, 0.00},   /* Jinan */
    {120.38, 36.07, 2, 0.05, 0.00},   /* Qingdao */
    {123.43, 41.80, 3, 0.15, 0.00},   /* Shenyang */
    {126.63, 45.75, 2, 0.15, 0.00},   /* Harbin */
    {125.32, 43.82, 2, 0.15, 0.00},   /* Changchun */
    {112.94, 28.23, 3, -0.05, 0.00},  /* Changsha */
    {115.89, 28.68, 2, 0.00, 0.00},   /* Nanchang */
    {119.30, 26.08, 2, 0.00, 0.00},   /* Fuzhou */
    {118.09, 24.48, 2, -0.05, 0.00},  /* Xiamen */
    {117.23, 31.82, 3, 0.00, 0.00},   /* Hefei */
    {102.71, 25.04, 2, 0.05, 0.00},   /* Kunming */
    {106.63, 26.65, 2, 0.05, 0.00},   /* Guiyang */
    {108.37, 22.82, 2, 0.00, 0.00},   /* Nanning */
    {112.55, 37.87, 2, 0.10, 0.05},   /* Taiyuan */
    {103.83, 36.06, 1, 0.10, 0.05},   /* Lanzhou */
    {87.62, 43.83, 1, 0.05, 0.10},    /* Urumqi */
    {111.75, 40.84, 1, 0.10, 0.05},   /* Hohhot */
    {110.35, 20.02, 1, 0.00, 0.00},   /* Haikou */
    {120.62, 31.30, 2, -0.10, 0.00},  /* Suzhou */
};
#define N_CITIES (sizeof cities / sizeof cities[0])

/* ---------------------------------------------------------------------------
 * App topics: latent traits -> labels of label_categories.csv
 * ------------------------------------------------------------------------- */

typedef struct topic {
    double sex, age, weight; /* sex lean (+ male), age centre (u units) */
    uint16_t labels[16];     /* 0-terminated */
} topic;

static const topic topics[] = {
    {1.0, -1.0, 3.0, {28, 29, 30, 34, 36, 37, 63, 66, 93, 796, 797, 801, 802, 805}},   /* core games */
    {-0.8, -0.8, 3.0, {5, 8, 13, 21, 23, 24, 25, 26, 49, 810, 812, 813, 969, 970}},    /* casual games */
    {0.7, 1.2, 1.5, {41, 42, 43, 44, 45, 47, 811, 973, 978}},                          /* poker, chess */
    {-0.8, 0.0, 2.5, {127, 128, 129, 130, 131, 132, 213, 565}},                        /* shopping */
    {-1.0, -0.5, 1.2, {224, 281, 282, 283, 284, 891, 892, 1003}},                      /* beauty, fashion */
    {-1.0, 0.3, 1.2, {270, 271, 272, 273, 840, 841, 842, 843, 844}},                   /* mother, baby */
    {0.6, 1.0, 2.0, {251, 252, 253, 256, 262, 263, 731, 737, 751, 756, 757, 1004, 1007, 1012}}, /* finance */
    {0.8, 0.6, 0.6, {261, 791, 1006}},                                                 /* lottery */
    {0.4, 1.2, 1.5, {157, 158, 161, 162, 163}},                                        /* news */
    {0.0, -0.5, 2.5, {172, 165, 166, 167, 168, 169, 171, 173}},                        /* social, IM */
    {0.0, -0.7, 2.5, {176, 177, 178, 179, 180, 181, 899, 907}},                        /* video, music */
    {-0.6, -0.4, 1.2, {145, 148, 149, 150, 152, 818, 820, 822}},                       /* reading */
    {0.2, 0.4, 1.5, {182, 183, 184, 186, 188, 190, 191, 192, 932, 936, 949}},          /* travel */
    {1.0, 0.5, 0.8, {187, 222, 278, 279, 280, 547}},                                   /* cars */
    {-0.2, -0.2, 1.0, {133, 135, 137, 138, 142, 228, 229}},                            /* study, jobs */
    {-0.4, 0.8, 0.8, {202, 203, 204, 205, 206, 207}},                                  /* health */
    {0.0, 0.0, 3.0, {239, 240, 241, 242, 243, 244, 245, 247, 250}},                    /* tools */
    {-0.1, 0.3, 2.0, {208, 209, 211, 214, 215, 217, 218, 219, 220, 223}},              /* living */
    {0.3, 0.8, 0.6, {265, 266, 267, 268, 269, 196, 197}},                              /* housing */
    {0.7, -0.3, 0.8, {95, 161, 204, 343, 465, 807}},                                   /* sports */
};
#define N_TOPICS (sizeof topics / sizeof topics[0])
#define TOPIC_FINANCE 6
#define TOPIC_SOCIAL 9

/* Generic labels, frequent on active rows in the real data, with the share
 * of ordinary apps and of the 500 most popular apps that carry them. */
static const struct {
    uint16_t label;
    double p, p_top;
} generic_labels[] = {
    {548, 0.55, 1.00}, {549, 0.35, 0.70}, {704, 0.35, 0.70}, {713, 0.30, 0.60},
    {405, 0.12, 0.30}, {302, 0.12, 0.25}, {730, 0.10, 0.25}, {710, 0.10, 0.25},
    {756, 0.02, 0.20}, {172, 0.02, 0.20},
};
#define N_GENERIC (sizeof generic_labels / sizeof generic_labels[0])
#define MAX_APP_LABELS 16

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

static const synth_world synth_worlds[] = {
    {"personas", APPS_PERSONAS, HOURS_CHRONO, COUNT_LOGNORMAL, PLACE_HOME, 1.0, 1.0},
    {"groups", APPS_GROUPS, HOURS_GROUPS, COUNT_LEVELS, PLACE_TRAVEL, 0.3, 0.0},
    {"smooth", APPS_SMOOTH, HOURS_SMOOTH, COUNT_NEGBIN, PLACE_HOME, 1.8, 2.5},
};
#define N_WORLDS (sizeof synth_worlds / sizeof synth_worlds[0])

const char *dg_synth_world_name(int i)
{
    return i >= 0 && (size_t)i < N_WORLDS ? synth_worlds[i].name : NULL;
}

/* groups: activity levels of the devices (independent of the class), and
 * the negative binomial's shape within a level (near-Poisson) */
#define N_LEVELS 6
static const double level_p[N_LEVELS] = {0.30, 0.25, 0.20, 0.13, 0.08, 0.04};
static const double level_a[N_LEVELS] = {0.04, 0.15, 0.5, 1.3, 3.5, 10.0};
#define LEVELS_R 20.0
/* smooth: the negative binomial's shape (heavy-tailed: a gamma-mixed Poisson) */
#define NEGBIN_R 0.55
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
    /* cities */
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

static void world_free(world *w)
{
    free(w->model_logp);
    free(w->model_cdf);
    for (int m = 0; m < DG_SYNTH_N_MODELS; m++)
        free(w->model_mojibake[m]);
    free(w->app_id);
    free(w->app_p);
    free(w->app_logodds);
    free(w->app_order);
    free(w->app_act);
    free(w->label_off);
    free(w->labels);
}

static void build_classes(world *w)
{
    double total = 0;
    for (int g = 0; g < 2; g++)
        for (int a = 0; a < 97; a++)
            total += dg_synth_age_counts[g][a];
    int n = 0;
    double cum = 0;
    for (int g = 0; g < 2; g++)
        for (int a = 0; a < 97; a++) {
            if (!dg_synth_age_counts[g][a])
                continue;
            double p = dg_synth_age_counts[g][a] / total;
            w->cls_male[n] = (uint8_t)g;
            w->cls_age[n] = (uint8_t)a;
            w->log_prior[n] = log(p);
            cum += p;
            w->prior_cdf[n] = cum;
            n++;
        }
    w->n_cls = n;
}

/* Brand choice: lambda[b][g] * exp(tilt_b * u), fitted so that every brand
 * keeps its share and male share. Then models within the brand. */
static void build_phones(world *w)
{
    const int nc = w->n_cls, nb = DG_SYNTH_N_BRANDS, nm = DG_SYNTH_N_MODELS;
    double p_male = 0;
    for (int c = 0; c < nc; c++)
        if (w->cls_male[c])
            p_male += exp(w->log_prior[c]);
    double target[DG_SYNTH_N_BRANDS][2], lambda[DG_SYNTH_N_BRANDS][2];
    double tsum[2] = {0, 0};
    for (int b = 0; b < nb; b++) {
        target[b][1] = dg_synth_brands[b].share * dg_synth_brands[b].male;
        target[b][0] = dg_synth_brands[b].share * (1 - dg_synth_brands[b].male);
        tsum[0] += target[b][0];
        tsum[1] += target[b][1];
    }
    for (int b = 0; b < nb; b++)
        for (int g = 0; g < 2; g++) {
            target[b][g] /= tsum[g];
            lambda[b][g] = target[b][g];
        }
    double *tilt = dg_xmalloc(sizeof(double) * (size_t)nc * nb);
    for (int c = 0; c < nc; c++)
        for (int b = 0; b < nb; b++)
            tilt[c * nb + b] =
                exp(BRAND_TILT_SCALE * w->kind->phone_scale * dg_synth_brands[b].age_tilt *
                    age_pos(w->cls_age[c]));
    double pg[2] = {1 - p_male, p_male};
    for (int it = 0; it < 200; it++) {
        double marg[DG_SYNTH_N_BRANDS][2];
        memset(marg, 0, sizeof marg);
        for (int c = 0; c < nc; c++) {
            int g = w->cls_male[c];
            double z = 0;
            for (int b = 0; b < nb; b++)
                z += lambda[b][g] * tilt[c * nb + b];
            double pc = exp(w->log_prior[c]) / pg[g];
            for (int b = 0; b < nb; b++)
                marg[b][g] += pc * lambda[b][g] * tilt[c * nb + b] / z;
        }
        for (int b = 0; b < nb; b++)
            for (int g = 0; g < 2; g++)
                lambda[b][g] *= target[b][g] / marg[b][g];
    }
    w->model_logp = dg_xmalloc(sizeof(double) * (size_t)nc * nm);
    w->model_cdf = dg_xmalloc(sizeof(double) * (size_t)nc * nm);
    double marg[DG_SYNTH_N_MODELS];
    memset(marg, 0, sizeof marg);
    for (int b = 0; b < nb; b++)
        for (uint32_t m = 0; m < dg_synth_brands[b].n_models; m++)
            w->model_brand[dg_synth_brands[b].first_model + m] = (uint16_t)b;
    for (int c = 0; c < nc; c++) {
        int g = w->cls_male[c];
        double u = age_pos(w->cls_age[c]), s = g ? 1.0 : -1.0;
        double z = 0;
        for (int b = 0; b < nb; b++)
            z += lambda[b][g] * tilt[c * nb + b];
        double *lp = w->model_logp + (size_t)c * nm;
        for (int b = 0; b < nb; b++) {
            const dg_synth_brand *br = &dg_synth_brands[b];
            double pb = lambda[b][g] * tilt[c * nb + b] / z;
            double zm = 0;
            for (uint32_t i = 0; i < br->n_models; i++) {
                const dg_synth_model *mo = &dg_synth_models[br->first_model + i];
                double v = mo->weight *
                           exp(MODEL_TILT_SCALE * w->kind->phone_scale *
                               (mo->age_tilt * u + mo->sex_tilt * s));
                lp[br->first_model + i] = v;
                zm += v;
            }
            for (uint32_t i = 0; i < br->n_models; i++) {
                double p = pb * lp[br->first_model + i] / zm;
                lp[br->first_model + i] = p;
            }
        }
        double cum = 0, pc = exp(w->log_prior[c]);
        for (int m = 0; m < nm; m++) {
            cum += lp[m];
            w->model_cdf[(size_t)c * nm + m] = cum;
            marg[m] += pc * lp[m];
            lp[m] = log(lp[m]);
        }
    }
    double cum = 0;
    for (int m = 0; m < nm; m++) {
        cum += marg[m];
        w->marg_cdf[m] = cum;
    }
    free(tilt);
}

/* UTF-8 bytes read as Windows-1252 (its five holes as the C1 controls, as
 * MySQL's latin1 does) and written back as UTF-8: 荣耀3C -> "è\u008d£è€€3C". */
static char *mojibake(const char *s)
{
    static const uint16_t cp1252[32] = {
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};
    size_t n = strlen(s);
    char *out = dg_xmalloc(3 * n + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned cp = *p < 0x80 ? *p : *p < 0xA0 ? cp1252[*p - 0x80] : *p;
        if (cp < 0x80) {
            *o++ = (char)cp;
        } else if (cp < 0x800) {
            *o++ = (char)(0xC0 | (cp >> 6));
            *o++ = (char)(0x80 | (cp & 0x3F));
        } else {
            *o++ = (char)(0xE0 | (cp >> 12));
            *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
            *o++ = (char)(0x80 | (cp & 0x3F));
        }
    }
    *o = '\0';
    return out;
}

/* The world's fixed random effects: one standard normal per (tag, item),
 * each from its own stream, so that they do not depend on the order of use. */
static double effect_normal(const world *w, uint64_t tag, uint64_t item)
{
    rng r;
    rng_init(&r, w->seed, ST_EFFECTS, (tag << 40) | item);
    return rng_normal(&r);
}

static double effect_unif(const world *w, uint64_t tag, uint64_t item)
{
    rng r;
    rng_init(&r, w->seed, ST_EFFECTS, (tag << 40) | item);
    return rng_unif(&r);
}

enum { FX_HOURS = 1, FX_COUNT, FX_AWAY, FX_APPS, FX_SIZE };

/* Means of n - 1 (the number of events minus one) for the negative binomial
 * worlds: exp(effect of class c), scaled so that the population mean of n is
 * EV_MEAN (levels: the level's activity multiplies it). */
static void build_count_means(world *w)
{
    const int nc = w->n_cls;
    double ea = 0, m = 0, eff[MAX_CLS];
    for (int l = 0; l < N_LEVELS; l++)
        ea += level_p[l] * level_a[l];
    for (int c = 0; c < nc; c++) {
        double u = age_pos(w->cls_age[c]), s = w->cls_male[c] ? 1 : -1;
        if (w->kind->count == COUNT_LEVELS)
            eff[c] = EV_SEX * s + EV_AGE * u +
                     0.3 * effect_normal(w, FX_COUNT, (uint64_t)group12(w->cls_male[c], w->cls_age[c]));
        else
            eff[c] = EV_SEX * s + EV_AGE * u + 0.08 * s * u - 0.06 * u * u;
        m += exp(w->log_prior[c]) * exp(eff[c]);
    }
    double scale = (EV_MEAN - 1) / (m * (w->kind->count == COUNT_LEVELS ? ea : 1.0));
    for (int c = 0; c < nc; c++)
        w->ev_mu[c] = scale * exp(eff[c]);
}

/* log P(k | negative binomial of shape r and mean m), without the terms
 * that depend on k only: r log(r / (r + m)) + k log(m / (r + m)). */
static double negbin_logpmf_m(uint32_t k, double r, double m)
{
    return r * log(r / (r + m)) + k * log(m / (r + m));
}

/* A negative binomial draw (shape r, mean m) by inversion, at most cap. */
static uint32_t negbin_draw(rng *rg, double r, double m, uint32_t cap)
{
    double u = rng_unif(rg), q = m / (r + m);
    double p = exp(r * log(r / (r + m))), cdf = p;
    uint32_t k = 0;
    while (u >= cdf && k < cap) {
        p *= (k + r) / (k + 1.0) * q;
        k++;
        cdf += p;
    }
    return k;
}

/* Hour profiles of the worlds without chronotypes: the real profile tilted
 * by tau[profile][h], divided by the population mixture of the tilts. */
static void build_hour_profiles(world *w)
{
    const int nc = w->n_cls;
    double tau[MAX_CLS][24];
    const bool groups = w->kind->hours == HOURS_GROUPS;
    w->n_hprof = groups ? 12 : nc;
    for (int c = 0; c < nc; c++)
        w->hprof_of_cls[c] = groups ? group12(w->cls_male[c], w->cls_age[c]) : c;
    for (int k = 0; k < w->n_hprof; k++) {
        double u = groups ? 0 : age_pos(w->cls_age[k]), s = groups ? 0 : (w->cls_male[k] ? 1 : -1);
        for (int h = 0; h < 24; h++) {
            double late = cos(6.283185307179586 * (h - 1) / 24.0);
            double morning = cos(6.283185307179586 * (h - 8) / 24.0);
            if (groups) /* independent, strong effects per group and hour */
                tau[k][h] = 0.14 * effect_normal(w, FX_HOURS, (uint64_t)(k * 24 + h));
            else /* smooth in age, with sex x age terms */
                tau[k][h] = (-0.27 * u + 0.09 * u * u - 0.06 * s + 0.09 * s * u) * late +
                            (0.15 * u - 0.09 * s * u) * morning;
        }
    }
    double mix[24] = {0};
    for (int c = 0; c < nc; c++)
        for (int h = 0; h < 24; h++)
            mix[h] += exp(w->log_prior[c]) * exp(tau[w->hprof_of_cls[c]][h]);
    for (int k = 0; k < w->n_hprof; k++) {
        double z = 0, v[24];
        for (int h = 0; h < 24; h++) {
            v[h] = dg_synth_hour_counts[h] * exp(tau[k][h]) / mix[h];
            z += v[h];
        }
        double cum = 0;
        for (int h = 0; h < 24; h++) {
            w->hour_logp[k][h] = log(v[h] / z);
            cum += v[h] / z;
            w->hour_cdf[k][h] = cum;
        }
    }
}

static void build_events_model(world *w)
{
    const int nc = w->n_cls;
    if (w->kind->count != COUNT_LOGNORMAL)
        build_count_means(w);
    if (w->kind->hours != HOURS_CHRONO)
        build_hour_profiles(w);
    else
        w->n_hprof = N_CHRONO;
    for (int c = 0; c < nc; c++) {
        w->hprof_of_cls[c] = w->kind->hours == HOURS_CHRONO ? -1 : w->hprof_of_cls[c];
        w->away_p[c] = w->kind->place == PLACE_TRAVEL
                           ? 0.03 + 0.2 * effect_unif(w, FX_AWAY,
                                                       (uint64_t)group12(w->cls_male[c], w->cls_age[c]))
                           : 0;
    }
    /* mu0 such that the mean of floor(exp(x)) over labelled devices is EV_MEAN
     * (E floor(e^x) ~ E e^x - 1/2; the cap is far in the tail) */
    double m = 0;
    for (int c = 0; c < nc; c++)
        m += exp(w->log_prior[c]) * exp(EV_SEX * (w->cls_male[c] ? 1 : -1) +
                                        EV_AGE * age_pos(w->cls_age[c]));
    double mu0 = log((EV_MEAN + 0.5) / (m * exp(EV_SIGMA * EV_SIGMA / 2)));
    for (int c = 0; c < nc && w->kind->count == COUNT_LOGNORMAL; c++)
        w->ev_mu[c] =
            mu0 + EV_SEX * (w->cls_male[c] ? 1 : -1) + EV_AGE * age_pos(w->cls_age[c]);

    /* chronotypes */
    double pop[N_CHRONO] = {0};
    for (int c = 0; c < nc; c++) {
        double pref = -CHRONO_AGE * age_pos(w->cls_age[c]), z = 0;
        for (int t = 0; t < N_CHRONO; t++) {
            double d = chrono_tilt[t] - pref;
            w->chrono_p[c][t] = exp(-d * d / (2 * CHRONO_SD * CHRONO_SD));
            z += w->chrono_p[c][t];
        }
        double cum = 0;
        for (int t = 0; t < N_CHRONO; t++) {
            w->chrono_p[c][t] /= z;
            cum += w->chrono_p[c][t];
            w->chrono_cdf[c][t] = cum;
            pop[t] += exp(w->log_prior[c]) * w->chrono_p[c][t];
        }
    }
    /* hour profiles: the real one tilted towards the night (peak 1 am) or the
     * day, divided by the population mixture of the tilts so that the
     * population profile stays the real one */
    double late[24], mix[24];
    for (int h = 0; h < 24; h++) {
        late[h] = cos(6.283185307179586 * (h - 1) / 24.0);
        mix[h] = 0;
        for (int t = 0; t < N_CHRONO; t++)
            mix[h] += pop[t] * exp(chrono_tilt[t] * late[h]);
    }
    for (int t = 0; t < N_CHRONO && w->kind->hours == HOURS_CHRONO; t++) {
        double z = 0, v[24];
        for (int h = 0; h < 24; h++) {
            v[h] = dg_synth_hour_counts[h] * exp(chrono_tilt[t] * late[h]) / mix[h];
            z += v[h];
        }
        double cum = 0;
        for (int h = 0; h < 24; h++) {
            w->hour_logp[t][h] = log(v[h] / z);
            cum += v[h] / z;
            w->hour_cdf[t][h] = cum;
        }
    }
    /* day given the hour: 1..7 May by the real weekday counts; the last
     * minutes of 30 April only at 23h and the first of 8 May only at 0h */
    double mean_day = 0;
    for (int d = 0; d < 7; d++)
        mean_day += dg_synth_day_counts[d] / 7;
    for (int h = 0; h < 24; h++) {
        double cum = 0;
        for (int d = 0; d < 9; d++) {
            double v = 0;
            if (d >= 1 && d <= 7)
                v = dg_synth_day_counts[d - 1];
            else if (d == 0 && h == 23)
                v = 0.05 * mean_day * 8 / 60;
            else if (d == 8 && h == 0)
                v = 0.05 * mean_day * 2 / 60;
            cum += v;
            w->day_cdf[h][d] = cum;
        }
    }
    /* cities */
    for (int c = 0; c < nc; c++) {
        double u = age_pos(w->cls_age[c]), s = w->cls_male[c] ? 1 : -1, z = 0;
        for (size_t k = 0; k < N_CITIES; k++) {
            double v = cities[k].weight *
                       exp(w->kind->city_scale * (cities[k].age_tilt * u + cities[k].sex_tilt * s));
            w->city_logp[c][k] = v;
            z += v;
        }
        double cum = 0;
        for (size_t k = 0; k < N_CITIES; k++) {
            cum += w->city_logp[c][k] / z;
            w->city_cdf[c][k] = cum;
            w->city_logp[c][k] = log(w->city_logp[c][k] / z);
        }
    }
}

static int persona_male(int k) { return k / 12; }
static int persona_agei(int k) { return (k / 2) % 6; }
static int persona_heavy(int k) { return k % 2; }

/* The age of app profile k of the smooth world. */
static int smooth_prof_age(int k) { return 12 + k % SMOOTH_AGES; }

static void build_personas(world *w)
{
    if (w->kind->apps != APPS_PERSONAS) {
        bool groups = w->kind->apps == APPS_GROUPS;
        w->n_prof = groups ? 12 : 2 * SMOOTH_AGES;
        for (int c = 0; c < w->n_cls; c++) {
            int a = w->cls_age[c] < 12 ? 12 : w->cls_age[c] > 75 ? 75 : w->cls_age[c];
            w->prof_of_cls[c] = groups ? group12(w->cls_male[c], w->cls_age[c])
                                       : w->cls_male[c] * SMOOTH_AGES + (a - 12);
        }
        return;
    }
    w->n_prof = N_PERS;
    for (int c = 0; c < w->n_cls; c++) {
        w->prof_of_cls[c] = -1;
        double u = age_pos(w->cls_age[c]), s = w->cls_male[c] ? 1 : -1, z = 0;
        for (int k = 0; k < N_PERS; k++) {
            double G = persona_male(k) ? 1 : -1;
            double d = u - age_pos((int)pers_age[persona_agei(k)]);
            double v = exp(PERS_SEX * G * s - d * d / (2 * PERS_AGE_SD * PERS_AGE_SD));
            w->pers_p[c][k] = v;
            z += v;
        }
        double cum = 0;
        for (int k = 0; k < N_PERS; k++) {
            w->pers_p[c][k] /= z;
            cum += w->pers_p[c][k];
            w->pers_cdf[c][k] = cum;
        }
    }
}

static int cmp_u16(const void *a, const void *b)
{
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* The label ids of the embedded label_categories.csv. */
static uint32_t parse_label_ids(uint16_t *ids, uint32_t cap)
{
    uint32_t n = 0;
    const char *p = strchr(dg_synth_label_categories_csv, '\n');
    while (p && p[1] && n < cap) {
        p++;
        ids[n++] = (uint16_t)strtoul(p, NULL, 10);
        /* quoted categories hold no newline */
        p = strchr(p, '\n');
    }
    return n;
}

typedef struct app_traits {
    double sex, age, taste;
} app_traits;

/* An app's traits and labels, from its own random stream. */
static void draw_app(const world *w, uint32_t j, const uint16_t *misc, uint32_t n_misc,
                     app_traits *tr, int64_t *id, uint16_t *lab, int *n_lab)
{
    rng r;
    rng_init(&r, w->seed, ST_APPS, j);
    *id = (int64_t)rng_u64(&r);
    tr->sex = rng_normal(&r);
    tr->age = -1.7 + 3.2 * rng_unif(&r); /* 14 .. 46 years ... */
    if (rng_unif(&r) < 0.25)
        tr->age += 1.5 * rng_unif(&r); /* ... and some for the older */
    tr->taste = rng_normal(&r);
    double tw[N_TOPICS], cum = 0;
    for (size_t t = 0; t < N_TOPICS; t++) {
        double d = tr->age - topics[t].age;
        cum += topics[t].weight * exp(0.9 * tr->sex * topics[t].sex - d * d / (2 * 0.7 * 0.7));
        tw[t] = cum;
    }
    int t = (int)pick_cdf(tw, N_TOPICS, rng_unif(&r));
    int nl = 0, nt = 0;
    while (topics[t].labels[nt])
        nt++;
    lab[nl++] = topics[t].labels[rng_below(&r, (uint32_t)nt)];
    if (rng_unif(&r) < 0.7)
        lab[nl++] = topics[t].labels[rng_below(&r, (uint32_t)nt)];
    if (rng_unif(&r) < 0.3)
        lab[nl++] = topics[t].labels[rng_below(&r, (uint32_t)nt)];
    if (t == TOPIC_FINANCE && rng_unif(&r) < 0.5)
        lab[nl++] = 756;
    if (t == TOPIC_SOCIAL && rng_unif(&r) < 0.6)
        lab[nl++] = 172;
    bool top = j < 500;
    for (size_t g = 0; g < N_GENERIC; g++)
        if (rng_unif(&r) < (top ? generic_labels[g].p_top : generic_labels[g].p))
            lab[nl++] = generic_labels[g].label;
    if (n_misc && rng_unif(&r) < 0.25)
        lab[nl++] = misc[rng_below(&r, n_misc)];
    qsort(lab, (size_t)nl, sizeof *lab, cmp_u16);
    int k = 0;
    for (int i = 0; i < nl; i++)
        if (i == 0 || lab[i] != lab[k - 1])
            lab[k++] = lab[i];
    *n_lab = k;
}

/* order[] = 0..n-1 sorted by decreasing p, ties by increasing index: a
 * stable LSD radix sort on the complemented bits of the (positive) floats. */
static void sort_by_p_desc(const float *p, uint32_t n, uint32_t *order)
{
    uint32_t *key = dg_xmalloc(sizeof(uint32_t) * n), *key2 = dg_xmalloc(sizeof(uint32_t) * n);
    uint32_t *idx2 = dg_xmalloc(sizeof(uint32_t) * n);
    for (uint32_t j = 0; j < n; j++) {
        uint32_t bits;
        memcpy(&bits, &p[j], sizeof bits);
        key[j] = ~bits;
        order[j] = j;
    }
    for (int shift = 0; shift < 32; shift += 8) {
        uint32_t count[257] = {0};
        for (uint32_t j = 0; j < n; j++)
            count[((key[j] >> shift) & 0xFF) + 1]++;
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (uint32_t j = 0; j < n; j++) {
            uint32_t at = count[(key[j] >> shift) & 0xFF]++;
            key2[at] = key[j];
            idx2[at] = order[j];
        }
        memcpy(key, key2, sizeof(uint32_t) * n);
        memcpy(order, idx2, sizeof(uint32_t) * n);
    }
    free(key);
    free(key2);
    free(idx2);
}

static void build_apps(world *w, uint64_t n_devices)
{
    const uint32_t U = DG_N_APPS;
    uint16_t all_ids[1100], misc[1100];
    uint32_t n_ids = parse_label_ids(all_ids, 1100), n_misc = 0;
    /* the "misc" pool: every other label not used by topics or generics */
    for (uint32_t i = 0; i < n_ids; i++) {
        uint16_t id = all_ids[i];
        bool used = false;
        for (size_t t = 0; t < N_TOPICS && !used; t++)
            for (int k = 0; topics[t].labels[k]; k++)
                if (topics[t].labels[k] == id)
                    used = true;
        for (size_t g = 0; g < N_GENERIC; g++)
            if (generic_labels[g].label == id)
                used = true;
        if (!used && id % 2 == 0)
            misc[n_misc++] = id;
    }

    /* installable apps, then catalogue-only apps until app_labels reaches its
     * size scaled to the number of devices */
    uint64_t target_rows = (uint64_t)llround(REAL_APP_LABEL_ROWS * (double)n_devices / REAL_DEVICES);
    size_t cap = U + 1024;
    app_traits *tr = dg_xmalloc(sizeof *tr * U);
    w->app_id = dg_xmalloc(sizeof(int64_t) * cap);
    w->label_off = dg_xmalloc(sizeof(uint32_t) * (cap + 1));
    size_t lcap = cap * 5;
    w->labels = dg_xmalloc(sizeof(uint16_t) * lcap);
    uint32_t n = 0, rows = 0;
    w->label_off[0] = 0;
    for (;;) {
        if (n >= U && rows >= target_rows)
            break;
        if (n + 1 >= cap) {
            cap *= 2;
            w->app_id = dg_xrealloc(w->app_id, sizeof(int64_t) * cap);
            w->label_off = dg_xrealloc(w->label_off, sizeof(uint32_t) * (cap + 1));
        }
        if (rows + MAX_APP_LABELS >= lcap) {
            lcap *= 2;
            w->labels = dg_xrealloc(w->labels, sizeof(uint16_t) * lcap);
        }
        app_traits t;
        int nl;
        draw_app(w, n, misc, n_misc, &t, &w->app_id[n], w->labels + rows, &nl);
        if (n < U)
            tr[n] = t;
        rows += (uint32_t)nl;
        w->label_off[++n] = rows;
    }
    w->n_catalogue = n;
    w->n_label_rows = rows;

    /* ids unique (a collision of two random 64-bit ids is a 1e-10 event, but
     * a redraw costs nothing) */
    int64_t *sorted = dg_xmalloc(sizeof(int64_t) * n);
    for (int attempt = 0;; attempt++) {
        memcpy(sorted, w->app_id, sizeof(int64_t) * n);
        qsort(sorted, n, sizeof *sorted, dg_cmp_i64);
        bool dup = false;
        for (uint32_t i = 1; i < n; i++)
            if (sorted[i] == sorted[i - 1]) {
                dup = true;
                int64_t v = sorted[i];
                for (uint32_t j = n; j-- > 0;)
                    if (w->app_id[j] == v) {
                        rng r;
                        rng_init(&r, w->seed, ST_IDFIX, ((uint64_t)attempt << 32) | j);
                        w->app_id[j] = (int64_t)rng_u64(&r);
                        break;
                    }
            }
        if (!dup)
            break;
    }
    free(sorted);

    /* the smooth world's per-app coefficients of age, age^2 and sex x age */
    double(*coef)[3] = NULL;
    if (w->kind->apps == APPS_SMOOTH) {
        coef = dg_xmalloc(sizeof *coef * U);
        for (uint32_t j = 0; j < U; j++) {
            rng r;
            rng_init(&r, w->seed, ST_EFFECTS, ((uint64_t)FX_APPS << 40) | j);
            coef[j][0] = 0.3 * tr[j].age + 0.15 * rng_normal(&r);
            coef[j][1] = 0.15 * rng_normal(&r);
            coef[j][2] = 0.2 * rng_normal(&r);
        }
    }
    /* install probabilities per profile */
    const int np = w->n_prof;
    w->app_p = dg_xmalloc(sizeof(float) * (size_t)np * U);
    w->app_logodds = dg_xmalloc(sizeof(float) * (size_t)np * U);
    w->app_order = dg_xmalloc(sizeof(uint32_t) * (size_t)np * U);
    double *e = dg_xmalloc(sizeof(double) * U);
    for (int k = 0; k < np; k++) {
        double size;
        if (w->kind->apps == APPS_PERSONAS) {
            double G = persona_male(k) ? 1 : -1, V = persona_heavy(k) ? 1 : -1;
            double ua = age_pos((int)pers_age[persona_agei(k)]);
            size = pers_size[persona_heavy(k)] * (1.1 - 0.01 * (pers_age[persona_agei(k)] - 18));
            for (uint32_t j = 0; j < U; j++) {
                /* the most popular apps are everybody's; the tail is personal */
                double f = j < 30 ? 0.2 : j < 300 ? 0.2 + 0.8 * (j - 30) / 270.0 : 1.0;
                double d = tr[j].age - ua;
                double aff = APP_SEX * tr[j].sex * G - d * d / (2 * APP_AGE_W * APP_AGE_W) +
                             APP_TASTE * tr[j].taste * V;
                e[j] = pow(j + APP_ZIPF_J0, -APP_ZIPF_S) * exp(f * aff);
            }
        } else if (w->kind->apps == APPS_GROUPS) {
            /* every group has its own, independent propensity for every app */
            size = 25.0 * exp(0.3 * effect_normal(w, FX_SIZE, (uint64_t)k));
            for (uint32_t j = 0; j < U; j++) {
                double f = j < 30 ? 0.2 : j < 300 ? 0.2 + 0.8 * (j - 30) / 270.0 : 1.0;
                double aff = 0.35 * effect_normal(w, FX_APPS, ((uint64_t)k << 24) | j);
                e[j] = pow(j + APP_ZIPF_J0, -APP_ZIPF_S) * exp(f * aff);
            }
        } else {
            /* log-odds smooth in the exact age (clamped to 12 .. 75), with
             * sex and sex x age terms */
            int age = smooth_prof_age(k);
            double s = k >= SMOOTH_AGES ? 1 : -1, u = age_pos(age);
            size = 25.0 * (1.1 - 0.01 * (age - 18)) * (1 + 0.05 * s);
            if (size < 8)
                size = 8;
            for (uint32_t j = 0; j < U; j++) {
                double f = j < 30 ? 0.2 : j < 300 ? 0.2 + 0.8 * (j - 30) / 270.0 : 1.0;
                double aff = 0.4 * tr[j].sex * s + coef[j][0] * u +
                             coef[j][1] * (u * u - 1) / 2 + coef[j][2] * s * u;
                e[j] = pow(j + APP_ZIPF_J0, -APP_ZIPF_S) * exp(f * aff);
            }
        }
        /* scale (in logs) so that the expected set size is `size` */
        double lo = -80, hi = 80;
        for (int it = 0; it < 64; it++) {
            double mid = (lo + hi) / 2, s = 0, f = exp(mid);
            for (uint32_t j = 0; j < U; j++) {
                double v = f * e[j];
                s += v < APP_PCAP ? v : APP_PCAP;
            }
            if (s > size)
                hi = mid;
            else
                lo = mid;
        }
        double scale = exp((lo + hi) / 2), base = 0;
        float *p = w->app_p + (size_t)k * U, *lo_ = w->app_logodds + (size_t)k * U;
        for (uint32_t j = 0; j < U; j++) {
            double v = fmin(APP_PCAP, scale * e[j]);
            p[j] = (float)v;
            double pv = p[j];
            lo_[j] = (float)(log(pv) - log1p(-pv));
            base += log1p(-pv);
        }
        /* the set is redrawn when empty: condition on it not being empty */
        w->pers_base[k] = base - log1p(-exp(base));
        sort_by_p_desc(p, U, w->app_order + (size_t)k * U);
    }
    free(e);
    free(coef);

    /* activity: messaging and the top apps are used, the tail mostly sits */
    w->app_act = dg_xmalloc(sizeof(float) * U);
    for (uint32_t j = 0; j < U; j++) {
        rng r;
        rng_init(&r, w->seed, ST_CATALOGUE, j);
        double a = 0.15 + 0.5 * rng_unif(&r) * rng_unif(&r) + (j < 20 ? 0.35 : j < 200 ? 0.15 : 0);
        w->app_act[j] = (float)a;
    }
    free(tr);
}

static void world_build(world *w, const synth_world *kind, uint64_t seed, uint64_t n_devices)
{
    memset(w, 0, sizeof *w);
    w->kind = kind;
    w->seed = seed;
    build_classes(w);
    build_phones(w);
    for (int m = 0; m < DG_SYNTH_N_MODELS; m++)
        w->model_mojibake[m] = mojibake(dg_synth_models[m].name);
    build_events_model(w);
    build_personas(w);
    build_apps(w, n_devices);
}

/* log P(n events | class) of the discretised lognormal. */
static double ev_logpmf(uint32_t n, double mu)
{
    const double k = 1.0 / (EV_SIGMA * 1.4142135623730951);
    if (n >= EV_CAP)
        return log(0.5 * erfc((log((double)EV_CAP) - mu) * k));
    double z1 = n <= 1 ? -INFINITY : (log((double)n) - mu) * k;
    double z2 = (log((double)n + 1) - mu) * k;
    double p;
    if (z1 > 0) /* upper tail: difference of small upper tails */
        p = 0.5 * (erfc(z1) - erfc(z2));
    else
        p = 0.5 * (erfc(-z2) - (n <= 1 ? 0 : erfc(-z1)));
    return log(p > 1e-300 ? p : 1e-300);
}

/* The lognormal's mu of the event count of a device of class c (test
 * devices log a little more). */
static double lognormal_mu(const world *w, int c, bool labelled)
{
    return w->ev_mu[c] + (labelled ? 0.0 : EV_TEST_SHIFT);
}

/* The number of events of a device of class c that has events. */
uint32_t synth_draw_n_events(const world *w, int c, bool labelled, rng *r)
{
    if (w->kind->count == COUNT_LOGNORMAL) {
        double x = lognormal_mu(w, c, labelled) + EV_SIGMA * rng_normal(r);
        double n = floor(exp(x));
        return n < 1 ? 1 : n >= EV_CAP ? EV_CAP : (uint32_t)n;
    }
    if (w->kind->count == COUNT_LEVELS) {
        double u = rng_unif(r), cum = 0;
        int l = 0;
        for (; l < N_LEVELS - 1; l++) {
            cum += level_p[l];
            if (u < cum)
                break;
        }
        return 1 + negbin_draw(r, LEVELS_R, w->ev_mu[c] * level_a[l], EV_CAP - 1);
    }
    return 1 + negbin_draw(r, NEGBIN_R, w->ev_mu[c], EV_CAP - 1);
}

/* lp[c] += log P(n events | class c) for every class: exact (the levels
 * summed over; the negative binomials' mass past EV_CAP is below 1e-100 at
 * these means, so n is never capped). */
void synth_add_n_events_loglik(const world *w, uint32_t n, bool labelled, double *lp)
{
    const int nc = w->n_cls;
    if (w->kind->count == COUNT_LOGNORMAL) {
        for (int c = 0; c < nc; c++)
            lp[c] += ev_logpmf(n, lognormal_mu(w, c, labelled));
        return;
    }
    double r = w->kind->count == COUNT_LEVELS ? LEVELS_R : NEGBIN_R, k = n - 1.0;
    double lgk = lgamma(k + r) - lgamma(r) - lgamma(k + 1);
    for (int c = 0; c < nc; c++) {
        if (w->kind->count == COUNT_NEGBIN) {
            lp[c] += lgk + negbin_logpmf_m(n - 1, NEGBIN_R, w->ev_mu[c]);
            continue;
        }
        double v[N_LEVELS], m = -INFINITY, z = 0;
        for (int l = 0; l < N_LEVELS; l++) {
            v[l] = log(level_p[l]) + negbin_logpmf_m(n - 1, LEVELS_R, w->ev_mu[c] * level_a[l]);
            m = fmax(m, v[l]);
        }
        for (int l = 0; l < N_LEVELS; l++)
            z += exp(v[l] - m);
        lp[c] += lgk + m + log(z);
    }
}

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

static void draw_app_set(const world *w, rng *r, int k, uint32_t *out, uint16_t *n_out)
{
    const uint32_t U = DG_N_APPS;
    const float *p = w->app_p + (size_t)k * U;
    const uint32_t *order = w->app_order + (size_t)k * U;
    uint32_t n;
    do {
        n = 0;
        /* independent Bernoulli(p_j) over apps in decreasing p: jump by
         * geometric gaps drawn at the current (largest remaining) p and thin
         * by p_j / p_max; every app still gets exactly one trial */
        uint32_t i = 0;
        while (i < U) {
            uint32_t j = order[i];
            double pm = p[j]; /* the largest p of the apps not yet tried */
            if (pm >= 0.25) {
                if (rng_unif(r) < pm && n < 65535)
                    out[n++] = j;
                i++;
                continue;
            }
            if (pm <= 0)
                break; /* the rest are never installed */
            double g = floor(log(1.0 - rng_unif(r)) / log1p(-pm));
            if (g >= (double)(U - i))
                break;
            i += (uint32_t)g;
            j = order[i];
            if (rng_unif(r) * pm < p[j] && n < 65535)
                out[n++] = j;
            i++;
        }
    } while (n == 0);
    /* listing order of the apps in the events: shuffled once per device */
    for (uint32_t a = n; a > 1; a--) {
        uint32_t b = rng_below(r, a);
        uint32_t t = out[a - 1];
        out[a - 1] = out[b];
        out[b] = t;
    }
    *n_out = (uint16_t)n;
}

static int16_t hundredths(double v) { return (int16_t)lround(v * 100); }

static void gen_device(gen *G, uint32_t i, uint32_t blk)
{
    const world *w = &G->w;
    dev *d = &G->devs[i];
    rng r;
    rng_init(&r, w->seed, ST_DEVICE, i);
    d->id = (int64_t)rng_u64(&r);
    int c = (int)pick_cdf(w->prior_cdf, (uint32_t)w->n_cls, rng_unif(&r));
    d->cls = (uint16_t)c;
    d->model = pick_cdf(w->model_cdf + (size_t)c * DG_SYNTH_N_MODELS, DG_SYNTH_N_MODELS,
                        rng_unif(&r));
    d->model2 = d->model;
    if (d->flags & F_CONFLICT)
        while (d->model2 == d->model)
            d->model2 = pick_cdf(w->marg_cdf, DG_SYNTH_N_MODELS, rng_unif(&r));
    d->chrono = w->hprof_of_cls[c] >= 0
                    ? (uint8_t)w->hprof_of_cls[c]
                    : (uint8_t)pick_cdf(w->chrono_cdf[c], N_CHRONO, rng_unif(&r));
    d->persona = w->prof_of_cls[c] >= 0 ? (uint8_t)w->prof_of_cls[c]
                                        : (uint8_t)pick_cdf(w->pers_cdf[c], N_PERS, rng_unif(&r));
    d->city = (uint8_t)pick_cdf(w->city_cdf[c], N_CITIES, rng_unif(&r));
    d->n_events = 0;
    d->n_apps = 0;
    d->app_off = 0;
    if (!(d->flags & F_EVENTS))
        return;
    d->n_events = synth_draw_n_events(w, c, (d->flags & F_LABELLED) != 0, &r);
    double u = rng_unif(&r);
    d->loc_mode = u < LOC_ZERO_DEV                 ? LOC_ZERO
                  : u < LOC_ZERO_DEV + LOC_ONE_DEV ? LOC_ONE
                  : u < LOC_ZERO_DEV + LOC_ONE_DEV + LOC_CENTRE_DEV ? LOC_CENTRE
                                                                      : LOC_NORMAL;
    const city *ct = &cities[d->city];
    d->home_lon = hundredths(ct->lon + 0.5 * (rng_unif(&r) - 0.5));
    d->home_lat = hundredths(ct->lat + 0.5 * (rng_unif(&r) - 0.5));
    d->work_lon = hundredths(ct->lon + 0.5 * (rng_unif(&r) - 0.5));
    d->work_lat = hundredths(ct->lat + 0.5 * (rng_unif(&r) - 0.5));
    d->app_rate = rng_unif(&r) < APP_NONE_SHARE ? 0.0f
                                                : (float)(0.25 + 0.75 * pow(rng_unif(&r), 0.7));
    d->act = (float)(ACT_SCALE * exp(ACT_DEV_SD * rng_normal(&r) - ACT_DEV_SD * ACT_DEV_SD / 2));
    if (d->app_rate > 0) {
        uint64_t *len = &G->blk_n_apps[blk], *cap = &G->blk_cap[blk];
        if (*len + 65536 > *cap) {
            *cap = (*len + 65536) * 2;
            G->blk_apps[blk] = dg_xrealloc(G->blk_apps[blk], sizeof(uint32_t) * *cap);
        }
        d->app_off = *len;
        draw_app_set(w, &r, d->persona, G->blk_apps[blk] + *len, &d->n_apps);
        *len += d->n_apps;
    }
}

/* Events of one device, and its truth row. */
static void gen_events(gen *G, uint32_t i)
{
    const world *w = &G->w;
    dev *d = &G->devs[i];
    rng r;
    rng_init(&r, w->seed, ST_EVENTS, i);
    uint32_t hours[24] = {0}, placed[N_CITIES] = {0}, n_placed = 0;
    const bool travel = w->kind->place == PLACE_TRAVEL;
    bool app_seen = false, city_seen = false;
    const city *ct = &cities[d->city];
    int16_t clon = hundredths(ct->lon), clat = hundredths(ct->lat);
    for (uint32_t e = 0; e < d->n_events; e++) {
        event *ev = &G->events[d->ev_off + e];
        int h = (int)pick_cdf(w->hour_cdf[d->chrono], 24, rng_unif(&r));
        int day = (int)pick_cdf(w->day_cdf[h], 9, rng_unif(&r));
        int minute = day == 0 ? 52 + (int)rng_below(&r, 8) : day == 8 ? (int)rng_below(&r, 2)
                                                                     : (int)rng_below(&r, 60);
        int sec = (int)rng_below(&r, 60);
        hours[h]++;
        ev->dev = i;
        ev->t = (uint32_t)(day * 86400 + h * 3600 + minute * 60 + sec);
        ev->apps = d->app_rate > 0 && rng_unif(&r) < d->app_rate;
        ev->first = 0;
        app_seen |= ev->apps;
        int mode = d->loc_mode;
        if (mode == LOC_NORMAL || mode == LOC_CENTRE) {
            double u = rng_unif(&r);
            if (u < LOC_ZERO_EV)
                mode = LOC_ZERO;
            else if (u < LOC_ZERO_EV + LOC_ONE_EV)
                mode = LOC_ONE;
        }
        int away = -1; /* travel: the city visited, when not the home city */
        if (travel && (mode == LOC_NORMAL || mode == LOC_CENTRE)) {
            if (rng_unif(&r) < w->away_p[d->cls]) {
                away = (int)rng_below(&r, N_CITIES - 1);
                away += away >= d->city;
            }
            placed[away >= 0 ? away : d->city]++;
            n_placed++;
        }
        if (mode == LOC_ZERO) {
            ev->lon = ev->lat = 0;
        } else if (away >= 0) {
            /* within +-0.32 degrees of the centre: inside the city's box */
            ev->lon = hundredths(cities[away].lon);
            ev->lat = hundredths(cities[away].lat);
            if (mode == LOC_NORMAL) {
                ev->lon = (int16_t)(ev->lon + (int)rng_below(&r, 65) - 32);
                ev->lat = (int16_t)(ev->lat + (int)rng_below(&r, 65) - 32);
            }
        } else if (mode == LOC_ONE) {
            ev->lon = ev->lat = 100;
        } else if (mode == LOC_CENTRE) {
            ev->lon = clon;
            ev->lat = clat;
            city_seen = true;
        } else {
            /* 3 May to 6 May are working days (1-2 May: Labour Day) */
            bool work_time = day >= 3 && day <= 6 && h >= 9 && h <= 18;
            double u = rng_unif(&r), p_work = work_time ? 0.65 : 0.10;
            if (u < p_work) {
                ev->lon = d->work_lon;
                ev->lat = d->work_lat;
            } else if (u < 0.9) {
                ev->lon = d->home_lon;
                ev->lat = d->home_lat;
            } else {
                ev->lon = (int16_t)(clon + (int)rng_below(&r, 61) - 30);
                ev->lat = (int16_t)(clat + (int)rng_below(&r, 61) - 30);
            }
            if (rng_unif(&r) < 0.5) {
                ev->lon = (int16_t)(ev->lon + (int)rng_below(&r, 5) - 2);
                ev->lat = (int16_t)(ev->lat + (int)rng_below(&r, 5) - 2);
            }
            city_seen = true;
        }
    }
    if (!G->truth)
        return;

    /* the Bayes posterior of the class given what the files show */
    const int nc = w->n_cls;
    double lp[MAX_CLS];
    const double *ml = w->model_logp + d->model;
    for (int c = 0; c < nc; c++)
        lp[c] = w->log_prior[c] + ml[(size_t)c * DG_SYNTH_N_MODELS];
    if (d->n_events) {
        /* hours: log P(hours | profile), then mixed over the chronotypes */
        double lh[MAX_CLS], mx = -INFINITY;
        for (int t = 0; t < w->n_hprof; t++) {
            lh[t] = 0;
            for (int h = 0; h < 24; h++)
                lh[t] += hours[h] * w->hour_logp[t][h];
            mx = fmax(mx, lh[t]);
        }
        if (w->kind->hours == HOURS_CHRONO)
            for (int t = 0; t < N_CHRONO; t++)
                lh[t] = exp(lh[t] - mx);
        /* apps: log P(installed set | profile), mixed over the personas */
        double la[MAX_PROF], ma = -INFINITY;
        if (app_seen) {
            const uint32_t *set = G->apps + d->app_off;
            for (int k = 0; k < w->n_prof; k++) {
                const float *lo = w->app_logodds + (size_t)k * DG_N_APPS;
                double s = w->pers_base[k];
                for (uint32_t a = 0; a < d->n_apps; a++)
                    s += lo[set[a]];
                la[k] = s;
                ma = fmax(ma, s);
            }
            if (w->kind->apps == APPS_PERSONAS)
                for (int k = 0; k < N_PERS; k++)
                    la[k] = exp(la[k] - ma);
        }
        /* travel: sum over the (unobserved) home city h of
         * P(h) (1 - a)^(events in h) (a / (cities - 1))^(other placed events),
         * one value per away probability a (per group) */
        double lt[12] = {0};
        if (travel && n_placed)
            for (int g = 0; g < 12; g++) {
                int c0 = 0;
                while (c0 < nc && group12(w->cls_male[c0], w->cls_age[c0]) != g)
                    c0++;
                if (c0 == nc)
                    continue;
                double a = w->away_p[c0], l1 = log1p(-a), l2 = log(a / (N_CITIES - 1));
                double v[N_CITIES], m = -INFINITY, z = 0;
                for (size_t h = 0; h < N_CITIES; h++) {
                    v[h] = w->city_logp[c0][h] + placed[h] * l1 + (n_placed - placed[h]) * l2;
                    m = fmax(m, v[h]);
                }
                for (size_t h = 0; h < N_CITIES; h++)
                    z += exp(v[h] - m);
                lt[g] = m + log(z);
            }
        synth_add_n_events_loglik(w, d->n_events, (d->flags & F_LABELLED) != 0, lp);
        for (int c = 0; c < nc; c++) {
            if (w->kind->hours == HOURS_CHRONO) {
                double s = 0;
                for (int t = 0; t < N_CHRONO; t++)
                    s += w->chrono_p[c][t] * lh[t];
                lp[c] += log(s);
            } else {
                lp[c] += lh[w->hprof_of_cls[c]];
            }
            if (app_seen) {
                if (w->kind->apps == APPS_PERSONAS) {
                    double s = 0;
                    for (int k = 0; k < N_PERS; k++)
                        s += w->pers_p[c][k] * la[k];
                    lp[c] += log(s);
                } else {
                    lp[c] += la[w->prof_of_cls[c]];
                }
            }
            if (travel)
                lp[c] += lt[group12(w->cls_male[c], w->cls_age[c])];
            else if (city_seen)
                lp[c] += w->city_logp[c][d->city];
        }
    }
    double mx = -INFINITY, z = 0;
    for (int c = 0; c < nc; c++)
        mx = fmax(mx, lp[c]);
    for (int c = 0; c < nc; c++) {
        lp[c] = exp(lp[c] - mx);
        z += lp[c];
    }
    double *out = G->truth + (size_t)i * TRUTH_COLS;
    memset(out, 0, sizeof(double) * TRUTH_COLS);
    for (int c = 0; c < nc; c++) {
        double p = lp[c] / z;
        if (w->cls_male[c])
            out[0] += p;
        out[1] += p * w->cls_age[c];
        out[2 + group12(w->cls_male[c], w->cls_age[c])] += p;
    }
}

/* ---------------------------------------------------------------------------
 * Formatting
 * ------------------------------------------------------------------------- */

static inline char *put_u64(char *p, uint64_t v)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = t[--n];
    return p;
}

static inline char *put_i64(char *p, int64_t v)
{
    if (v < 0) {
        *p++ = '-';
        return put_u64(p, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(p, (uint64_t)v);
}

static inline char *put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* A CSV field, quoted only when it must be. */
static char *put_field(char *p, const char *s)
{
    if (!strpbrk(s, ",\"\n"))
        return put_str(p, s);
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"')
            *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    return p;
}

/* A coordinate in hundredths of a degree: 11639 -> "116.39". */
static inline char *put_coord(char *p, int v)
{
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    p = put_u64(p, (uint64_t)(v / 100));
    *p++ = '.';
    *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

static inline char *put_2d(char *p, unsigned v)
{
    *p++ = (char)('0' + v / 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

static char *put_time(char *p, uint32_t t)
{
    unsigned day = t / 86400, s = t % 86400;
    memcpy(p, day == 0 ? "2016-04-" : "2016-05-", 8);
    p = put_2d(p + 8, day == 0 ? 30 : day);
    *p++ = ' ';
    p = put_2d(p, s / 3600);
    *p++ = ':';
    p = put_2d(p, s / 60 % 60);
    *p++ = ':';
    return put_2d(p, s % 60);
}

/* A non-negative number with a fixed number of decimals. */
static char *put_fixed(char *p, double v, int decimals)
{
    double scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    if (v < 0)
        v = 0;
    uint64_t x = (uint64_t)llround(v * scale);
    uint64_t ip = x / (uint64_t)scale, fp = x % (uint64_t)scale;
    p = put_u64(p, ip);
    *p++ = '.';
    for (int i = decimals - 1; i >= 0; i--) {
        p[i] = (char)('0' + fp % 10);
        fp /= 10;
    }
    return p + decimals;
}

/* Upgrad's ids: the exact id with every digit after the 15th significant one
 * set to zero (truncation, as in the real mapping file: -7548291590301750136
 * -> -7548291590301750000). */
static void truncate_id(char *s)
{
    int digits = 0;
    for (char *p = s; *p; p++)
        if (*p >= '0' && *p <= '9' && ++digits > 15)
            *p = '0';
}

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static inline char *buf_room(buf *b, size_t extra)
{
    if (b->len + extra > b->cap) {
        b->cap = (b->len + extra) * 2;
        b->p = dg_xrealloc(b->p, b->cap);
    }
    return b->p + b->len;
}

static inline void buf_done(buf *b, char *end) { b->len = (size_t)(end - b->p); }

/* ---------------------------------------------------------------------------
 * Output files: DIR/.name.tmp, renamed into place when everything succeeded
 * ------------------------------------------------------------------------- */

typedef struct outfile {
    char *path, *tmp;
    int fd;
    uint64_t rows;
} outfile;

static int out_open(outfile *o, const char *path, dg_err *err)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path + 1) : 0;
    o->path = dg_xstrdup(path);
    o->tmp = dg_xmalloc(strlen(path) + 8);
    memcpy(o->tmp, path, dlen);
    sprintf(o->tmp + dlen, ".%s.tmp", path + dlen);
    o->rows = 0;
    o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o->fd < 0)
        return dg_fail(err, "%s: cannot create: %s", o->tmp, strerror(errno));
    return DG_OK;
}

static int out_write(outfile *o, const void *data, size_t len, dg_err *err)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(o->fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return dg_fail(err, "%s: write failed: %s", o->path, strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return DG_OK;
}

static int out_close(outfile *o, dg_err *err)
{
    int fd = o->fd;
    o->fd = -1;
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return dg_fail(err, "%s: cannot finish writing: %s", o->path, strerror(e));
    }
    if (close(fd) != 0)
        return dg_fail(err, "%s: cannot finish writing: %s", o->path, strerror(errno));
    return DG_OK;
}

static void out_discard(outfile *o)
{
    if (!o->tmp)
        return;
    if (o->fd >= 0)
        close(o->fd);
    unlink(o->tmp);
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
    o->fd = -1;
}

static int out_commit(outfile *o, dg_err *err)
{
    int rc = DG_OK;
    if (rename(o->tmp, o->path) != 0) {
        rc = dg_fail(err, "%s: cannot rename into place: %s", o->path, strerror(errno));
        unlink(o->tmp);
    }
    free(o->path);
    free(o->tmp);
    o->path = o->tmp = NULL;
    return rc;
}

/* ---------------------------------------------------------------------------
 * A tiny parallel-for. The calling thread works too and is the only one that
 * reports progress, so the progress callback never runs concurrently.
 * ------------------------------------------------------------------------- */

typedef struct par {
    size_t n_items;
    void (*fn)(void *ctx, size_t item, int worker);
    void *ctx;
    atomic_size_t next, done;
    atomic_int stop;
    /* progress mapping: done units = base + span * done / n_items */
    const dg_progress *progress;
    double base, span, total;
} par;

typedef struct par_worker {
    par *p;
    int id;
} par_worker;

static void par_loop(par *p, int id)
{
    for (;;) {
        if (atomic_load(&p->stop))
            return;
        size_t it = atomic_fetch_add(&p->next, 1);
        if (it >= p->n_items)
            return;
        p->fn(p->ctx, it, id);
        size_t d = atomic_fetch_add(&p->done, 1) + 1;
        if (id == 0 && dg_progress_report(p->progress, "synth",
                                          p->base + p->span * (double)d / (double)p->n_items,
                                          p->total, "devices"))
            atomic_store(&p->stop, 1);
    }
}

static void *par_thread(void *arg)
{
    par_worker *w = arg;
    par_loop(w->p, w->id);
    return NULL;
}

/* Returns non-zero when cancelled (or stopped by fn through p->stop). */
static int par_run(par *p, int threads)
{
    atomic_store(&p->next, 0);
    atomic_store(&p->done, 0);
    atomic_store(&p->stop, 0);
    if (threads > (int)p->n_items)
        threads = p->n_items ? (int)p->n_items : 1;
    pthread_t tid[64];
    par_worker wk[64];
    int started = 0;
    for (int i = 1; i < threads && i < 64; i++) {
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

/* ---------------------------------------------------------------------------
 * The phases
 * ------------------------------------------------------------------------- */

static void phase_devices(void *ctx, size_t blk, int worker)
{
    (void)worker;
    gen *G = ctx;
    uint32_t lo = (uint32_t)blk * BLOCK, hi = lo + BLOCK < G->n ? lo + BLOCK : G->n;
    for (uint32_t i = lo; i < hi; i++)
        gen_device(G, i, (uint32_t)blk);
}

static void phase_events(void *ctx, size_t blk, int worker)
{
    (void)worker;
    gen *G = ctx;
    uint32_t lo = (uint32_t)blk * BLOCK, hi = lo + BLOCK < G->n ? lo + BLOCK : G->n;
    for (uint32_t i = lo; i < hi; i++)
        gen_events(G, i);
}

/* Exact counts of labelled devices, devices with events, duplicated phone
 * rows and conflicting duplicates, placed by seeded permutations. */
static void assign_flags(gen *G)
{
    uint32_t n = G->n;
    uint32_t *perm = dg_xmalloc(sizeof(uint32_t) * n);
    rng r;
    rng_init(&r, G->w.seed, ST_ASSIGN, 0);
    for (uint32_t i = 0; i < n; i++)
        perm[i] = i;
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rng_below(&r, i), t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    uint32_t L = (uint32_t)llround(n * REAL_LABELLED / REAL_DEVICES);
    uint32_t EL = (uint32_t)llround(L * REAL_LABELLED_WITH_EVENTS / REAL_LABELLED);
    uint32_t ET = (uint32_t)llround((n - L) * REAL_TEST_WITH_EVENTS / (REAL_DEVICES - REAL_LABELLED));
    for (uint32_t i = 0; i < n; i++) {
        uint8_t f = 0;
        if (i < L)
            f |= F_LABELLED | (i < EL ? F_EVENTS : 0);
        else if (i - L < ET)
            f |= F_EVENTS;
        G->devs[perm[i]].flags = f;
    }
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rng_below(&r, i), t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    uint32_t D = (uint32_t)llround(n * REAL_DUPLICATED / REAL_DEVICES);
    uint32_t C = (uint32_t)llround(D * REAL_CONFLICTING / REAL_DUPLICATED);
    for (uint32_t i = 0; i < D; i++)
        G->devs[perm[i]].flags |= F_DUP | (i < C ? F_CONFLICT : 0);
    free(perm);
}

typedef struct idx_id {
    int64_t key;
    uint32_t i;
} idx_id;

static int cmp_idx_id(const void *a, const void *b)
{
    const idx_id *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int64_t truncated_value(int64_t id)
{
    char s[24];
    *put_i64(s, id) = '\0';
    truncate_id(s);
    return strtoll(s, NULL, 10);
}

/* Device ids unique, and unique even once truncated to 15 digits. */
static void fix_ids(gen *G)
{
    idx_id *v = dg_xmalloc(sizeof *v * G->n);
    for (int attempt = 0;; attempt++) {
        for (uint32_t i = 0; i < G->n; i++) {
            v[i].key = truncated_value(G->devs[i].id);
            v[i].i = i;
        }
        qsort(v, G->n, sizeof *v, cmp_idx_id);
        bool dup = false;
        for (uint32_t k = 1; k < G->n; k++)
            if (v[k].key == v[k - 1].key) {
                rng r;
                rng_init(&r, G->w.seed, ST_IDFIX, ((uint64_t)attempt << 32) | v[k].i);
                G->devs[v[k].i].id = (int64_t)rng_u64(&r);
                dup = true;
            }
        if (!dup)
            break;
    }
    free(v);
    G->idstr = dg_xmalloc(sizeof *G->idstr * G->n);
    G->idtrunc = dg_xmalloc(sizeof *G->idtrunc * G->n);
    for (uint32_t i = 0; i < G->n; i++) {
        *put_i64(G->idstr[i], G->devs[i].id) = '\0';
        memcpy(G->idtrunc[i], G->idstr[i], sizeof G->idstr[i]);
        truncate_id(G->idtrunc[i]);
    }
}

/* Events in file order: by hour of the week, shuffled within the hour, as in
 * the real events.csv; each device's first event with app rows marked. */
static void sort_events(gen *G)
{
    enum { NB = 9 * 24 };
    uint64_t start[NB + 1] = {0};
    for (uint64_t e = 0; e < G->n_events; e++)
        start[G->events[e].t / 3600 + 1]++;
    for (int b = 0; b < NB; b++)
        start[b + 1] += start[b];
    event *out = dg_xmalloc(sizeof(event) * (G->n_events ? G->n_events : 1));
    uint64_t pos[NB];
    memcpy(pos, start, sizeof pos);
    for (uint64_t e = 0; e < G->n_events; e++)
        out[pos[G->events[e].t / 3600]++] = G->events[e];
    free(G->events);
    G->events = out;
    for (int b = 0; b < NB; b++) {
        rng r;
        rng_init(&r, G->w.seed, ST_SORT, (uint64_t)b);
        event *s = out + start[b];
        uint64_t n = start[b + 1] - start[b];
        for (uint64_t i = n; i > 1; i--) {
            uint64_t j = (uint64_t)(rng_unif(&r) * (double)i);
            event t = s[i - 1];
            s[i - 1] = s[j];
            s[j] = t;
        }
    }
    uint8_t *seen = dg_xcalloc(G->n, 1);
    for (uint64_t e = 0; e < G->n_events; e++)
        if (out[e].apps && !seen[out[e].dev]) {
            seen[out[e].dev] = 1;
            out[e].first = 1;
        }
    free(seen);
}

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
    par *p;
    int failed;
    dg_err err;
} writer;

static void write_chunk(void *ctx, size_t chunk, int worker)
{
    writer *W = ctx;
    gen *G = W->G;
    const world *w = &G->w;
    buf *bev = &W->bev[worker], *bae = &W->bae[worker];
    bev->len = bae->len = 0;
    uint64_t lo = (uint64_t)chunk * EV_CHUNK;
    uint64_t hi = lo + EV_CHUNK < G->n_events ? lo + EV_CHUNK : G->n_events;
    rng r;
    rng_init(&r, w->seed, ST_ROWS, chunk);
    char idbuf[24];
    uint64_t rows = 0;
    for (uint64_t e = lo; e < hi; e++) {
        const event *ev = &G->events[e];
        const dev *d = &G->devs[ev->dev];
        char *p = buf_room(bev, 96);
        char *eid = p;
        p = put_u64(p, e + 1);
        size_t eid_len = (size_t)(p - eid);
        memcpy(idbuf, eid, eid_len);
        *p++ = ',';
        p = put_str(p, W->upgrad ? G->idtrunc[ev->dev] : G->idstr[ev->dev]);
        *p++ = ',';
        p = put_time(p, ev->t);
        *p++ = ',';
        p = put_coord(p, ev->lon);
        *p++ = ',';
        p = put_coord(p, ev->lat);
        *p++ = '\n';
        buf_done(bev, p);
        if (!ev->apps)
            continue;
        const uint32_t *set = G->apps + d->app_off;
        /* a later app event lists a random subset (all of it when the
         * subset would be empty); the first lists the whole set */
        bool all = ev->first;
        uint8_t *listed = W->listed[worker];
        uint32_t n = d->n_apps;
        if (!all) {
            uint32_t any = 0;
            for (uint32_t a = 0; a < n; a++)
                any += listed[a] = rng_unif(&r) < APP_LIST_P;
            all = any == 0;
        }
        p = buf_room(bae, (size_t)n * 48);
        for (uint32_t a = 0; a < n; a++) {
            if (!all && !listed[a])
                continue;
            uint32_t j = set[a];
            double pa = w->app_act[j] * d->act;
            bool active = rng_unif(&r) < (pa < 0.97 ? pa : 0.97);
            memcpy(p, idbuf, eid_len);
            p += eid_len;
            *p++ = ',';
            p = put_i64(p, w->app_id[j]);
            memcpy(p, active ? ",1,1\n" : ",1,0\n", 5);
            p += 5;
            rows++;
        }
        buf_done(bae, p);
    }
    W->chunk_rows[chunk] = rows;

    pthread_mutex_lock(&W->mu);
    while (W->next_write != chunk && !atomic_load(&W->p->stop))
        pthread_cond_wait(&W->cv, &W->mu);
    pthread_mutex_unlock(&W->mu);
    if (!atomic_load(&W->p->stop)) {
        dg_err e;
        if (out_write(W->ev, bev->p, bev->len, &e) != DG_OK ||
            out_write(W->ae, bae->p, bae->len, &e) != DG_OK) {
            pthread_mutex_lock(&W->mu);
            if (!W->failed) {
                W->failed = 1;
                W->err = e;
            }
            pthread_mutex_unlock(&W->mu);
            atomic_store(&W->p->stop, 1);
        }
    }
    pthread_mutex_lock(&W->mu);
    W->next_write = chunk + 1;
    pthread_cond_broadcast(&W->cv);
    pthread_mutex_unlock(&W->mu);
}

/* ---------------------------------------------------------------------------
 * The small files
 * ------------------------------------------------------------------------- */

static int write_buf(outfile *o, buf *b, dg_err *err)
{
    int rc = out_write(o, b->p, b->len, err);
    b->len = 0;
    return rc;
}

#define FLUSH_AT (8u << 20)

static int write_labels_file(gen *G, outfile *o, bool upgrad, dg_err *err)
{
    buf b = {0};
    char *p = buf_room(&b, 64);
    p = put_str(p, upgrad ? "device_id,gender,age,group_train\n" : "device_id,gender,age,group\n");
    buf_done(&b, p);
    int rc = DG_OK;
    for (uint32_t i = 0; i < G->n && rc == DG_OK; i++) {
        const dev *d = &G->devs[i];
        if (!(d->flags & F_LABELLED))
            continue;
        int male = G->w.cls_male[d->cls], age = G->w.cls_age[d->cls];
        p = buf_room(&b, 64);
        p = put_str(p, upgrad ? G->idtrunc[i] : G->idstr[i]);
        p = put_str(p, male ? ",M," : ",F,");
        p = put_u64(p, (uint64_t)age);
        *p++ = ',';
        p = put_str(p, upgrad ? group6_names[group6(male, age)] : group12_names[group12(male, age)]);
        *p++ = '\n';
        buf_done(&b, p);
        o->rows++;
        if (b.len > FLUSH_AT)
            rc = write_buf(o, &b, err);
    }
    if (rc == DG_OK)
        rc = write_buf(o, &b, err);
    free(b.p);
    return rc;
}

static int write_test_file(gen *G, outfile *o, dg_err *err)
{
    buf b = {0};
    char *p = buf_room(&b, 16);
    p = put_str(p, "device_id\n");
    buf_done(&b, p);
    for (uint32_t i = 0; i < G->n; i++) {
        if (G->devs[i].flags & F_LABELLED)
            continue;
        p = buf_room(&b, 32);
        p = put_str(p, G->idstr[i]);
        *p++ = '\n';
        buf_done(&b, p);
        o->rows++;
    }
    int rc = write_buf(o, &b, err);
    free(b.p);
    return rc;
}

/* The phone rows, shuffled (duplicated devices' second rows land anywhere). */
static int write_phone_file(gen *G, outfile *o, bool upgrad, dg_err *err)
{
    uint32_t rows = G->n;
    for (uint32_t i = 0; i < G->n; i++)
        rows += (G->devs[i].flags & F_DUP) != 0;
    uint32_t *order = dg_xmalloc(sizeof(uint32_t) * rows);
    uint32_t k = 0;
    for (uint32_t i = 0; i < G->n; i++) {
        order[k++] = i << 1;
        if (G->devs[i].flags & F_DUP)
            order[k++] = (i << 1) | 1;
    }
    rng r;
    rng_init(&r, G->w.seed, ST_SHUFFLE, 0);
    for (uint32_t i = rows; i > 1; i--) {
        uint32_t j = rng_below(&r, i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    buf b = {0};
    char *p = buf_room(&b, 64);
    p = put_str(p, "device_id,phone_brand,device_model\n");
    buf_done(&b, p);
    for (uint32_t q = 0; q < rows; q++) {
        uint32_t i = order[q] >> 1;
        const dev *d = &G->devs[i];
        uint32_t m = (order[q] & 1) ? d->model2 : d->model;
        const dg_synth_brand *br = &dg_synth_brands[G->w.model_brand[m]];
        p = buf_room(&b, 256);
        p = put_str(p, G->idstr[i]);
        *p++ = ',';
        p = put_field(p, upgrad ? br->en : br->zh);
        *p++ = ',';
        p = put_field(p, upgrad ? G->w.model_mojibake[m] : dg_synth_models[m].name);
        *p++ = '\n';
        buf_done(&b, p);
    }
    o->rows = rows;
    free(order);
    int rc = write_buf(o, &b, err);
    free(b.p);
    return rc;
}

static int write_app_labels_file(gen *G, outfile *o, dg_err *err)
{
    const world *w = &G->w;
    uint32_t n = w->n_catalogue;
    uint32_t *order = dg_xmalloc(sizeof(uint32_t) * n);
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    rng r;
    rng_init(&r, w->seed, ST_SHUFFLE, 1);
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rng_below(&r, i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    buf b = {0};
    char *p = buf_room(&b, 32);
    p = put_str(p, "app_id,label_id\n");
    buf_done(&b, p);
    int rc = DG_OK;
    for (uint32_t q = 0; q < n && rc == DG_OK; q++) {
        uint32_t a = order[q];
        p = buf_room(&b, 32 * MAX_APP_LABELS);
        for (uint32_t l = w->label_off[a]; l < w->label_off[a + 1]; l++) {
            p = put_i64(p, w->app_id[a]);
            *p++ = ',';
            p = put_u64(p, w->labels[l]);
            *p++ = '\n';
        }
        buf_done(&b, p);
        if (b.len > FLUSH_AT)
            rc = write_buf(o, &b, err);
    }
    o->rows = w->n_label_rows;
    free(order);
    if (rc == DG_OK)
        rc = write_buf(o, &b, err);
    free(b.p);
    return rc;
}

static uint32_t count_lines(const char *s)
{
    uint32_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The Upgrad mapping file: labelled devices with their 6-group label and a
 * train / test flag drawn with exact counts inside each group. */
static int write_mapping_file(gen *G, outfile *o, bool upgrad, dg_err *err)
{
    uint32_t *by[6], cnt[6] = {0};
    for (int g = 0; g < 6; g++)
        by[g] = dg_xmalloc(sizeof(uint32_t) * (G->n ? G->n : 1));
    for (uint32_t i = 0; i < G->n; i++) {
        const dev *d = &G->devs[i];
        if (!(d->flags & F_LABELLED))
            continue;
        int g = group6(G->w.cls_male[d->cls], G->w.cls_age[d->cls]);
        by[g][cnt[g]++] = i;
    }
    rng r;
    rng_init(&r, G->w.seed, ST_MAPPING, 0);
    for (int g = 0; g < 6; g++) {
        uint32_t n = cnt[g], ntrain = (uint32_t)llround(n * REAL_MAPPING_TRAIN / REAL_LABELLED);
        for (uint32_t i = n; i > 1; i--) {
            uint32_t j = rng_below(&r, i), t = by[g][i - 1];
            by[g][i - 1] = by[g][j];
            by[g][j] = t;
        }
        for (uint32_t i = 0; i < n; i++)
            if (i < ntrain)
                G->devs[by[g][i]].flags |= F_TRAIN;
        free(by[g]);
    }
    buf b = {0};
    char *p = buf_room(&b, 64);
    p = put_str(p, "device_id,gender,age,group,train_test_flag\n");
    buf_done(&b, p);
    for (uint32_t i = 0; i < G->n; i++) {
        const dev *d = &G->devs[i];
        if (!(d->flags & F_LABELLED))
            continue;
        int male = G->w.cls_male[d->cls], age = G->w.cls_age[d->cls];
        p = buf_room(&b, 80);
        p = put_str(p, upgrad ? G->idtrunc[i] : G->idstr[i]);
        p = put_str(p, male ? ",M," : ",F,");
        p = put_u64(p, (uint64_t)age);
        *p++ = ',';
        p = put_str(p, group6_names[group6(male, age)]);
        p = put_str(p, (d->flags & F_TRAIN) ? ",train\n" : ",test\n");
        buf_done(&b, p);
        o->rows++;
    }
    int rc = write_buf(o, &b, err);
    free(b.p);
    return rc;
}

static int write_truth_file(gen *G, outfile *o, dg_err *err)
{
    buf b = {0};
    char *p = buf_room(&b, 256);
    p = put_str(p, "device_id,p_male,expected_age");
    for (int g = 0; g < 12; g++) {
        p = put_str(p, ",p_");
        p = put_str(p, group12_names[g]);
    }
    *p++ = '\n';
    buf_done(&b, p);
    int rc = DG_OK;
    for (uint32_t i = 0; i < G->n && rc == DG_OK; i++) {
        const double *t = G->truth + (size_t)i * TRUTH_COLS;
        p = buf_room(&b, 256);
        p = put_str(p, G->idstr[i]);
        *p++ = ',';
        p = put_fixed(p, t[0], 9);
        *p++ = ',';
        p = put_fixed(p, t[1], 4);
        for (int g = 0; g < 12; g++) {
            *p++ = ',';
            p = put_fixed(p, t[2 + g], 9);
        }
        *p++ = '\n';
        buf_done(&b, p);
        o->rows++;
        if (b.len > FLUSH_AT)
            rc = write_buf(o, &b, err);
    }
    if (rc == DG_OK)
        rc = write_buf(o, &b, err);
    free(b.p);
    return rc;
}

/* ---------------------------------------------------------------------------
 * dg_synth
 * ------------------------------------------------------------------------- */

enum {
    O_LABELS,
    O_TEST,
    O_PHONE,
    O_EVENTS,
    O_APP_EVENTS,
    O_APP_LABELS,
    O_CATEGORIES,
    O_MAPPING,
    O_TRUTH,
    O_COUNT
};

static void gen_free(gen *G)
{
    world_free(&G->w);
    if (G->blk_apps) {
        for (uint32_t b = 0; b < (G->n + BLOCK - 1) / BLOCK; b++)
            free(G->blk_apps[b]);
    }
    free(G->blk_apps);
    free(G->blk_n_apps);
    free(G->blk_cap);
    free(G->apps);
    free(G->devs);
    free(G->events);
    free(G->truth);
    free(G->idstr);
    free(G->idtrunc);
}

int dg_synth(const dg_synth_opts *opts, const dg_progress *progress, dg_synth_report *report,
             dg_err *err)
{
    double t0 = dg_now();
    if (!opts || !opts->out_dir || !*opts->out_dir)
        return dg_fail(err, "synth: no output directory");
    if (opts->devices < 1 || opts->devices > MAX_DEVICES)
        return dg_fail(err, "synth: the number of devices must be between 1 and %u", MAX_DEVICES);
    if (opts->shape != DG_SHAPE_KAGGLE && opts->shape != DG_SHAPE_UPGRAD)
        return dg_fail(err, "synth: unknown shape %d", (int)opts->shape);
    const synth_world *kind = &synth_worlds[0];
    if (opts->world) {
        kind = NULL;
        for (size_t i = 0; i < N_WORLDS && !kind; i++)
            if (strcmp(opts->world, synth_worlds[i].name) == 0)
                kind = &synth_worlds[i];
        if (!kind) {
            char names[256] = "";
            for (size_t i = 0; i < N_WORLDS; i++) {
                if (i)
                    strcat(names, ", ");
                strcat(names, synth_worlds[i].name);
            }
            return dg_fail(err, "synth: unknown world '%s' (the worlds: %s)", opts->world, names);
        }
    }
    if (dg_mkdirs(opts->out_dir, err) != DG_OK)
        return DG_ERR;
    if (opts->truth_path) {
        char *dir = dg_xstrdup(opts->truth_path);
        char *slash = strrchr(dir, '/');
        int rc = DG_OK;
        if (slash && slash != dir) {
            *slash = '\0';
            rc = dg_mkdirs(dir, err);
        }
        free(dir);
        if (rc != DG_OK)
            return DG_ERR;
    }
    int threads = opts->threads;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    if (threads > 64)
        threads = 64;
    const bool upgrad = opts->shape == DG_SHAPE_UPGRAD;
    const double total = (double)opts->devices;

    gen G;
    memset(&G, 0, sizeof G);
    G.n = (uint32_t)opts->devices;
    outfile out[O_COUNT];
    memset(out, 0, sizeof out);
    for (int i = 0; i < O_COUNT; i++)
        out[i].fd = -1;
    int rc = DG_OK;
    bool cancelled = false;

    if (dg_progress_report(progress, "synth", 0, total, "devices"))
        return dg_cancel(err, "cancelled");
    world_build(&G.w, kind, opts->seed, opts->devices);

    /* devices */
    G.devs = dg_xcalloc(G.n, sizeof(dev));
    uint32_t n_blocks = (G.n + BLOCK - 1) / BLOCK;
    G.blk_apps = dg_xcalloc(n_blocks, sizeof(uint32_t *));
    G.blk_n_apps = dg_xcalloc(n_blocks, sizeof(uint64_t));
    G.blk_cap = dg_xcalloc(n_blocks, sizeof(uint64_t));
    assign_flags(&G);
    par P = {.n_items = n_blocks, .fn = phase_devices, .ctx = &G, .progress = progress,
             .base = 0, .span = 0.1 * total, .total = total};
    if (par_run(&P, threads)) {
        cancelled = true;
        goto done;
    }
    fix_ids(&G);
    uint64_t n_app_total = 0;
    for (uint32_t b = 0; b < n_blocks; b++)
        n_app_total += G.blk_n_apps[b];
    G.apps = dg_xmalloc(sizeof(uint32_t) * (n_app_total ? n_app_total : 1));
    {
        uint64_t off = 0;
        for (uint32_t b = 0; b < n_blocks; b++) {
            if (G.blk_n_apps[b])
                memcpy(G.apps + off, G.blk_apps[b], sizeof(uint32_t) * G.blk_n_apps[b]);
            uint32_t lo = b * BLOCK, hi = lo + BLOCK < G.n ? lo + BLOCK : G.n;
            for (uint32_t i = lo; i < hi; i++)
                G.devs[i].app_off += off;
            off += G.blk_n_apps[b];
            free(G.blk_apps[b]);
            G.blk_apps[b] = NULL;
        }
    }
    for (uint32_t i = 0; i < G.n; i++) {
        G.devs[i].ev_off = (uint32_t)G.n_events;
        G.n_events += G.devs[i].n_events;
        if (G.n_events >= UINT32_MAX) {
            rc = dg_fail(err, "synth: too many events for %u devices", G.n);
            goto done;
        }
    }

    /* events (and the truth) */
    G.events = dg_xmalloc(sizeof(event) * (G.n_events ? G.n_events : 1));
    if (opts->truth_path)
        G.truth = dg_xmalloc(sizeof(double) * TRUTH_COLS * G.n);
    P.fn = phase_events;
    P.base = 0.1 * total;
    P.span = 0.1 * total;
    if (par_run(&P, threads)) {
        cancelled = true;
        goto done;
    }
    sort_events(&G);
    if (dg_progress_report(progress, "synth", 0.22 * total, total, "devices")) {
        cancelled = true;
        goto done;
    }

    /* files */
    static const char *const names[2][O_COUNT] = {
        {"gender_age_train.csv", "gender_age_test.csv", "phone_brand_device_model.csv",
         "events.csv", "app_events.csv", "app_labels.csv", "label_categories.csv",
         "train_test_split.csv", NULL},
        {"train.csv", NULL, "brand_device.csv", "events.csv", "app_events.csv",
         "app_labels_new.txt", "label_categories.csv", "train_test_split.csv", NULL},
    };
    for (int f = 0; f < O_COUNT && rc == DG_OK; f++) {
        if (f == O_TRUTH) {
            if (opts->truth_path)
                rc = out_open(&out[f], opts->truth_path, err);
            continue;
        }
        if (!names[upgrad][f])
            continue;
        char *path = dg_path_join(opts->out_dir, names[upgrad][f]);
        rc = out_open(&out[f], path, err);
        free(path);
    }
    if (rc != DG_OK)
        goto done;
    rc = write_labels_file(&G, &out[O_LABELS], upgrad, err);
    if (rc == DG_OK && !upgrad)
        rc = write_test_file(&G, &out[O_TEST], err);
    if (rc == DG_OK)
        rc = write_phone_file(&G, &out[O_PHONE], upgrad, err);
    if (rc == DG_OK)
        rc = write_app_labels_file(&G, &out[O_APP_LABELS], err);
    if (rc == DG_OK) {
        rc = out_write(&out[O_CATEGORIES], dg_synth_label_categories_csv,
                       sizeof dg_synth_label_categories_csv - 1, err);
        out[O_CATEGORIES].rows = count_lines(dg_synth_label_categories_csv) - 1;
    }
    if (rc == DG_OK)
        rc = write_mapping_file(&G, &out[O_MAPPING], upgrad, err);
    if (rc == DG_OK && opts->truth_path)
        rc = write_truth_file(&G, &out[O_TRUTH], err);
    if (rc != DG_OK)
        goto done;
    if (dg_progress_report(progress, "synth", 0.25 * total, total, "devices")) {
        cancelled = true;
        goto done;
    }

    {
        writer W;
        memset(&W, 0, sizeof W);
        W.G = &G;
        W.ev = &out[O_EVENTS];
        W.ae = &out[O_APP_EVENTS];
        W.upgrad = upgrad;
        W.n_chunks = (G.n_events + EV_CHUNK - 1) / EV_CHUNK;
        W.chunk_rows = dg_xcalloc(W.n_chunks ? W.n_chunks : 1, sizeof(uint64_t));
        for (int i = 0; i < threads; i++)
            W.listed[i] = dg_xmalloc(65536);
        pthread_mutex_init(&W.mu, NULL);
        pthread_cond_init(&W.cv, NULL);
        par PW = {.n_items = W.n_chunks, .fn = write_chunk, .ctx = &W, .progress = progress,
                  .base = 0.25 * total, .span = 0.7 * total, .total = total};
        W.p = &PW;
        static const char ev_head[] = "event_id,device_id,timestamp,longitude,latitude\n";
        static const char ae_head[] = "event_id,app_id,is_installed,is_active\n";
        rc = out_write(W.ev, ev_head, sizeof ev_head - 1, err);
        if (rc == DG_OK)
            rc = out_write(W.ae, ae_head, sizeof ae_head - 1, err);
        if (rc == DG_OK && par_run(&PW, threads)) {
            if (W.failed) {
                *err = W.err;
                rc = DG_ERR;
            } else {
                cancelled = true;
            }
        }
        out[O_EVENTS].rows = G.n_events;
        for (uint64_t c = 0; c < W.n_chunks; c++)
            out[O_APP_EVENTS].rows += W.chunk_rows[c];
        for (int i = 0; i < 64; i++) {
            free(W.bev[i].p);
            free(W.bae[i].p);
            free(W.listed[i]);
        }
        free(W.chunk_rows);
        pthread_mutex_destroy(&W.mu);
        pthread_cond_destroy(&W.cv);
        if (rc != DG_OK || cancelled)
            goto done;
    }

    for (int f = 0; f < O_COUNT && rc == DG_OK; f++)
        if (out[f].tmp)
            rc = out_close(&out[f], err);
    if (rc != DG_OK)
        goto done;
    if (report) {
        memset(report, 0, sizeof *report);
        report->labelled = out[O_LABELS].rows;
        report->unlabelled = G.n - out[O_LABELS].rows;
        report->phone_rows = out[O_PHONE].rows;
        report->events = out[O_EVENTS].rows;
        report->app_events = out[O_APP_EVENTS].rows;
        report->app_labels = out[O_APP_LABELS].rows;
        report->label_categories = out[O_CATEGORIES].rows;
    }
    for (int f = 0; f < O_COUNT; f++)
        if (out[f].tmp && rc == DG_OK)
            rc = out_commit(&out[f], err);
    if (report)
        report->seconds = dg_now() - t0;
    dg_progress_report(progress, "synth", total, total, "devices");

done:
    for (int f = 0; f < O_COUNT; f++)
        out_discard(&out[f]);
    gen_free(&G);
    if (cancelled)
        return dg_cancel(err, "cancelled");
    return rc;
}
