/* Devices, their events and their truth rows; the phases that place flags,
 * fix ids and sort the events. */
#include "synth_format.h"
#include "synth_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    const city *ct = &synth_cities[d->city];
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
    const city *ct = &synth_cities[d->city];
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
            ev->lon = hundredths(synth_cities[away].lon);
            ev->lat = hundredths(synth_cities[away].lat);
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
         * P(h) (1 - a)^(events in h) (a / (synth_cities - 1))^(other placed events),
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
 * The phases
 * ------------------------------------------------------------------------- */

void synth_phase_devices(void *ctx, size_t blk, int worker)
{
    (void)worker;
    gen *G = ctx;
    uint32_t lo = (uint32_t)blk * BLOCK, hi = lo + BLOCK < G->n ? lo + BLOCK : G->n;
    for (uint32_t i = lo; i < hi; i++)
        gen_device(G, i, (uint32_t)blk);
}

void synth_phase_events(void *ctx, size_t blk, int worker)
{
    (void)worker;
    gen *G = ctx;
    uint32_t lo = (uint32_t)blk * BLOCK, hi = lo + BLOCK < G->n ? lo + BLOCK : G->n;
    for (uint32_t i = lo; i < hi; i++)
        gen_events(G, i);
}

/* Exact counts of labelled devices, devices with events, duplicated phone
 * rows and conflicting duplicates, placed by seeded permutations. */
void synth_assign_flags(gen *G)
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
void synth_fix_ids(gen *G)
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
void synth_sort_events(gen *G)
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

