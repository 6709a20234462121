/* Campaigns: rules that turn what the models predicted for a device (model.h's
 * dg_prediction) into the ad campaigns it is targeted by, whatever model made
 * the prediction.
 *
 * Gender (the brief's decile rule). P(female) is ranked into deciles over a
 * reference population (typically the test split's predictions). The 9 decile
 * edges are kept as numbers (dg_deciles, thresholds.txt) so that one device
 * scored later, alone, gets the same decile:
 *   - the reference's n values (n >= 10, all finite) sorted ascending
 *     v[0..n-1]; rank r belongs to decile floor(10 r / n) + 1, so with n not
 *     divisible by 10 the deciles differ in size by at most one device;
 *   - ties: a block of equal values at ranks a..b takes, as a whole, the
 *     decile of its middle rank (a + b) / 2, i.e. floor(10 (a + b) / 2n) + 1
 *     (so a tie that straddles an edge goes to the side most of it is on, and
 *     the targeted shares stay near 30%);
 *   - edge k (k = 1..9) is the smallest reference value whose decile is
 *     above k (+inf when there is none; with distinct values it is
 *     v[ceil(k n / 10)]);
 *   - decile(p) = 1 + the number of edges e with p >= e. This gives every
 *     reference value its decile above, and a value the reference lacks the
 *     decile of the nearest reference value below it (decile 1 below all).
 * The top female_deciles deciles (default 3: deciles 8-10, p >= edge 7) are
 * targeted as female, the bottom male_deciles (default 3: deciles 1-3,
 * p < edge 3) as male, the rest by no gender campaign.
 *
 * Age, at the maps' edges (eda.h's DG_AGES_MAPS): bucket 0-24 is any age <= 24
 * (a regression's rare negative age too), 25-32 is (24,32], 33+ is over 32;
 * NaN has none.
 * Or (rule-file option "age-rule group6") the most probable band of the six
 * group probabilities, F and M of a band added (the bands are the same:
 * 0-24, 25-32, 33+ over whole years, which the data's labels call F32+ and
 * M32+); a tie goes to the younger band.
 *
 * A device's campaigns are a bitmask over the rule list: bit i for rules.v[i]. */
#ifndef DEMOGRAPHER_CAMPAIGN_H
#define DEMOGRAPHER_CAMPAIGN_H

#include "demographer/chart.h"
#include "demographer/model.h"

enum { DG_GENDER_UNTARGETED = 0, DG_GENDER_FEMALE = 1, DG_GENDER_MALE = 2 };
/* The age buckets are eda.h's DG_AGES_MAPS groups, in that order. */
enum { DG_AGE_0_24 = 0, DG_AGE_25_32 = 1, DG_AGE_33_UP = 2, DG_AGE_NBUCKETS = 3 };

typedef enum dg_age_rule {
    DG_AGE_RULE_VALUE,  /* the predicted age at the fixed edges */
    DG_AGE_RULE_GROUP6, /* the most probable of the three age bands of group6 */
} dg_age_rule;

#define DG_CAMPAIGNS_MAX 64
#define DG_CAMPAIGN_NAME_MAX 160

typedef struct dg_campaign {
    int id;                          /* 1..999, unique in a rule list */
    char name[DG_CAMPAIGN_NAME_MAX]; /* UTF-8 */
    unsigned gender_mask;            /* bits 1u << DG_GENDER_FEMALE / _MALE; 0: any gender */
    unsigned age_mask;               /* bits 1u << DG_AGE_...; 0: any age */
} dg_campaign;

typedef struct dg_campaign_rules {
    dg_age_rule age_rule;
    int female_deciles; /* the top deciles targeted as female (default 3) */
    int male_deciles;   /* the bottom deciles targeted as male (default 3) */
    int n;
    dg_campaign v[DG_CAMPAIGNS_MAX];
} dg_campaign_rules;

/* The brief's six campaigns (the same as assets/campaigns.rules). */
void dg_campaign_rules_default(dg_campaign_rules *r);
/* Parses rule-file text (syntax in assets/campaigns.rules); errors read
 * "ORIGIN:LINE:COLUMN: expected ..., found ...". r is changed only on success. */
int dg_campaign_rules_parse(dg_campaign_rules *r, const char *text, const char *origin,
                            dg_err *err);
int dg_campaign_rules_load(dg_campaign_rules *r, const char *path, dg_err *err);
/* The rules as a rule file that parses back to the same rules; caller frees. */
char *dg_campaign_rules_format(const dg_campaign_rules *r);
/* "female", "male", "female or male", "age 0-24", ... "female, age 25-32", or
 * "anyone": the condition in words (into buf). */
void dg_campaign_condition_text(const dg_campaign *c, char *buf, size_t size);

/* The names the rule file and the output files use for the classes. */
extern const char *const dg_gender_class_names[3];  /* "-", "female", "male" */
/* "0-24", "25-32", "33+" (eda.h's table); the rule files of earlier versions'
 * "24-32" and "32+" still parse. */
const char *dg_age_bucket_name(int bucket);

/* ---- the decile rule ------------------------------------------------------ */

typedef struct dg_deciles {
    uint64_t reference; /* how many predictions the edges came from */
    double edge[9];     /* non-decreasing; +inf: no reference value is above decile k */
} dg_deciles;

/* The edges of n reference P(female) values (not changed). Fails on n < 10
 * or a value that is not finite (naming its index). */
int dg_deciles_fit(dg_deciles *d, const double *p_female, size_t n, dg_err *err);
/* The edges over the P(female) of n predictions; errors name origin. */
int dg_deciles_fit_predictions(dg_deciles *d, const dg_prediction *p, size_t n,
                               const char *origin, dg_err *err);
/* 1..10, or 0 for NaN. */
int dg_decile_of(const dg_deciles *d, double p_female);
/* thresholds.txt: comment lines, then "reference N" and "edge K VALUE" for
 * K = 1..9, values in their shortest exact form or "inf" (a save/load round
 * trip is exact). Loading is strict (FILE:LINE:COLUMN errors). */
int dg_deciles_save(const dg_deciles *d, const char *path, dg_err *err);
int dg_deciles_parse(dg_deciles *d, const char *text, const char *origin, dg_err *err);
int dg_deciles_load(dg_deciles *d, const char *path, dg_err *err);

/* ---- one device ----------------------------------------------------------- */

/* DG_AGE_... for an age, or -1 for NaN. */
int dg_age_bucket_of(double age);
/* The most probable band of group6 probabilities (F + M of each band), or -1
 * when one is NaN. */
int dg_age_bucket_of_group6(const double group6[6]);

typedef struct dg_targeting {
    int8_t decile;     /* 1..10, 0 when P(female) is NaN */
    int8_t gender;     /* DG_GENDER_... */
    int8_t age_bucket; /* DG_AGE_..., -1 when none */
    uint64_t campaigns; /* bit i: rules->v[i] */
} dg_targeting;

void dg_campaigns_assign(const dg_campaign_rules *r, const dg_deciles *d, const dg_prediction *p,
                         dg_targeting *out);
/* Whether a device of this gender class and age bucket meets a campaign's
 * condition (gender DG_GENDER_UNTARGETED or age -1 meets only "any"). */
int dg_campaign_matches(const dg_campaign *c, int gender, int age_bucket);

/* ---- truth and reach ------------------------------------------------------ */

/* A labelled device: what it truly is. */
typedef struct dg_truth {
    int64_t device_id;
    int female; /* 1 female, 0 male */
    double age;
} dg_truth;

/* Reads a labels file (header with device_id, gender and age; other columns
 * such as group ignored): gender M or F, age a whole number. A mapping file
 * (with a train_test_flag column, train or test) gives its test rows only.
 * Sorted by device_id on return; a device listed twice is an error. */
int dg_truth_read(const char *path, dg_truth **out, size_t *n, dg_err *err);
/* The truth of a device in a sorted list, or NULL. */
const dg_truth *dg_truth_find(const dg_truth *t, size_t n, int64_t device_id);

typedef struct dg_reach_row {
    uint64_t devices;   /* targeted devices */
    double share;       /* devices / all devices */
    uint64_t labelled;  /* targeted devices with a truth */
    uint64_t correct;   /* ... that truly meet the condition */
    double precision;   /* correct / labelled (NaN without labelled ones) */
    double base_rate;   /* share of all labelled devices that meet it: what
                           targeting at random would reach */
    /* The same per scenario ([0]: devices with events, [1]: without). */
    uint64_t scenario_devices[2], scenario_labelled[2], scenario_correct[2];
    double scenario_precision[2];
} dg_reach_row;

typedef struct dg_reach {
    uint64_t devices;  /* all devices */
    uint64_t labelled; /* devices with a truth (0: no precision) */
    uint64_t untargeted; /* devices with no campaign */
    int n;
    dg_reach_row row[DG_CAMPAIGNS_MAX];
} dg_reach;

/* The reach of every campaign over n devices; truth (sorted, may be NULL)
 * gives the expected precision. */
void dg_reach_compute(const dg_campaign_rules *r, const dg_prediction *p, const dg_targeting *t,
                      size_t n, const dg_truth *truth, size_t ntruth, dg_reach *out);

/* reach.csv: campaign,name,condition,devices,share,labelled,correct,precision,
 * base_rate, then devices, labelled, correct and precision of scenario 1 and of
 * scenario 2 (suffixes _s1, _s2); one row per campaign, then "none" for the
 * untargeted devices. Without truth the labelled and precision fields are empty. */
int dg_reach_write(const dg_campaign_rules *r, const dg_reach *reach, const char *path,
                   dg_err *err);
/* reach.png: per campaign, grouped horizontal bars of the share of devices
 * reached and, with truth, the expected precision beside the base rate. The
 * description (for the PNG and the Campaigns pane) points into the struct. */
typedef struct dg_reach_chart_desc {
    dg_chart chart;
    char label[DG_CAMPAIGNS_MAX][DG_CAMPAIGN_NAME_MAX + 32]; /* id, whole name, a note */
    const char *labels[DG_CAMPAIGNS_MAX];
    double values[DG_CAMPAIGNS_MAX * 3];
    char subtitle[160];
} dg_reach_chart_desc;
/* reach.png: each campaign's reach as a share of all devices (one series). */
void dg_reach_chart_of(const dg_campaign_rules *r, const dg_reach *reach,
                       dg_reach_chart_desc *out);
int dg_reach_chart(const dg_campaign_rules *r, const dg_reach *reach, const char *path,
                   dg_err *err);
/* precision.png: per campaign, the share of labelled devices that truly meet
 * its condition among the targeted (precision) and among all (base rate).
 * Returns 0 (and draws nothing) without labelled devices. */
int dg_precision_chart_of(const dg_campaign_rules *r, const dg_reach *reach,
                          dg_reach_chart_desc *out);
int dg_precision_chart(const dg_campaign_rules *r, const dg_reach *reach, const char *path,
                       dg_err *err);
/* device_campaigns.csv: device_id,scenario,p_female,decile,gender,age,
 * age_bucket,campaigns (ids joined by ';') and one 0/1 column per campaign,
 * campaign_ID. */
int dg_device_campaigns_write(const dg_campaign_rules *r, const dg_prediction *p,
                              const dg_targeting *t, size_t n, const char *path, dg_err *err);

/* Fails (naming origin and the device) when a device appears twice in a
 * predictions list: it would be counted twice in the reach. */
int dg_campaigns_check_unique(const dg_prediction *p, size_t n, const char *origin, dg_err *err);

/* What the campaigns command writes, each file atomically, into dir (made
 * when missing): device_campaigns.csv, reach.csv, reach.png, thresholds.txt
 * and campaigns.rules (the rules used). */
int dg_campaigns_save(const char *dir, const dg_campaign_rules *r, const dg_deciles *d,
                      const dg_prediction *p, const dg_targeting *t, size_t n,
                      const dg_reach *reach, dg_err *err);

#endif
