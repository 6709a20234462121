/* The worlds: how the observed features depend on the class (gender and
 * exact age), and everything fixed before the devices are drawn. */
#include "synth_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* chronotypes: tilts of the hour profile towards the night */
static const double chrono_tilt[N_CHRONO] = {-0.8, -0.4, 0.0, 0.4, 0.8};
/* personas: their age centres */
static const double pers_age[6] = {18, 23, 27, 32, 40, 50};
/* expected apps installed by light / heavy users, 1 % fewer per year of the
 * persona's age centre past 18 */
static const double pers_size[2] = {15.2, 34.6};

/* home cities: centre, weight, age and sex tilts */
const city synth_cities[N_CITIES] = {
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


const synth_world *synth_world_find(const char *name, dg_err *err)
{
    if (!name)
        return &synth_worlds[0];
    for (size_t i = 0; i < N_WORLDS; i++)
        if (strcmp(name, synth_worlds[i].name) == 0)
            return &synth_worlds[i];
    char names[256] = "";
    for (size_t i = 0; i < N_WORLDS; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                 synth_worlds[i].name);
    dg_fail(err, "synth: unknown world '%s' (the worlds: %s)", name, names);
    return NULL;
}

void synth_world_free(world *w)
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
    /* synth_cities */
    for (int c = 0; c < nc; c++) {
        double u = age_pos(w->cls_age[c]), s = w->cls_male[c] ? 1 : -1, z = 0;
        for (size_t k = 0; k < N_CITIES; k++) {
            double v = synth_cities[k].weight *
                       exp(w->kind->city_scale * (synth_cities[k].age_tilt * u + synth_cities[k].sex_tilt * s));
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

void synth_world_build(world *w, const synth_world *kind, uint64_t seed, uint64_t n_devices)
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

