/* The synthetic data generator: a TalkingData / Upgrad-shaped data set,
 * calibrated to the published statistics of the real one (shared/DATA.md),
 * with a planted, documented dependence of the observable features on
 * gender and age.
 *
 * Below: the default world, personas. The other worlds (groups, smooth)
 * change how apps, event counts, hours, places and phones depend on the
 * class, and their truths integrate their own latent variables: see
 * synth_world.c and doc/worlds.md.
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
#include "synth_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    synth_world_free(&G->w);
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
    const synth_world *kind = synth_world_find(opts->world, err);
    if (!kind)
        return DG_ERR;
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
    int rc = DG_OK;
    bool cancelled = false;

    if (dg_progress_report(progress, "synth", 0, total, "devices"))
        return dg_cancel(err, "cancelled");
    synth_world_build(&G.w, kind, opts->seed, opts->devices);

    /* devices */
    G.devs = dg_xcalloc(G.n, sizeof(dev));
    uint32_t n_blocks = (G.n + BLOCK - 1) / BLOCK;
    G.blk_apps = dg_xcalloc(n_blocks, sizeof(uint32_t *));
    G.blk_n_apps = dg_xcalloc(n_blocks, sizeof(uint64_t));
    G.blk_cap = dg_xcalloc(n_blocks, sizeof(uint64_t));
    synth_assign_flags(&G);
    dg_par P = {.n_items = n_blocks, .fn = synth_phase_devices, .ctx = &G, .progress = progress,
                .stage = "synth", .unit = "devices", .base = 0, .span = 0.1 * total,
                .total = total};
    if (dg_par_run(&P, threads)) {
        cancelled = true;
        goto done;
    }
    synth_fix_ids(&G);
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
    P.fn = synth_phase_events;
    P.base = 0.1 * total;
    P.span = 0.1 * total;
    if (dg_par_run(&P, threads)) {
        cancelled = true;
        goto done;
    }
    synth_sort_events(&G);
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
                rc = dg_atomic_open(&out[f].f, opts->truth_path, 0644, err);
            continue;
        }
        if (!names[upgrad][f])
            continue;
        char *path = dg_path_join(opts->out_dir, names[upgrad][f]);
        rc = dg_atomic_open(&out[f].f, path, 0644, err);
        free(path);
    }
    if (rc != DG_OK)
        goto done;
    rc = synth_write_labels_file(&G, &out[O_LABELS], upgrad, err);
    if (rc == DG_OK && !upgrad)
        rc = synth_write_test_file(&G, &out[O_TEST], err);
    if (rc == DG_OK)
        rc = synth_write_phone_file(&G, &out[O_PHONE], upgrad, err);
    if (rc == DG_OK)
        rc = synth_write_app_labels_file(&G, &out[O_APP_LABELS], err);
    if (rc == DG_OK) {
        rc = dg_atomic_write(&out[O_CATEGORIES].f, dg_synth_label_categories_csv,
                       sizeof dg_synth_label_categories_csv - 1, err);
        out[O_CATEGORIES].rows = synth_count_lines(dg_synth_label_categories_csv) - 1;
    }
    if (rc == DG_OK)
        rc = synth_write_mapping_file(&G, &out[O_MAPPING], upgrad, err);
    if (rc == DG_OK && opts->truth_path)
        rc = synth_write_truth_file(&G, &out[O_TRUTH], err);
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
        dg_par PW = {.n_items = W.n_chunks, .fn = synth_write_chunk, .ctx = &W,
                     .progress = progress, .stage = "synth", .unit = "devices",
                     .base = 0.25 * total, .span = 0.7 * total, .total = total};
        W.p = &PW;
        static const char ev_head[] = "event_id,device_id,timestamp,longitude,latitude\n";
        static const char ae_head[] = "event_id,app_id,is_installed,is_active\n";
        rc = dg_atomic_write(&W.ev->f, ev_head, sizeof ev_head - 1, err);
        if (rc == DG_OK)
            rc = dg_atomic_write(&W.ae->f, ae_head, sizeof ae_head - 1, err);
        if (rc == DG_OK && dg_par_run(&PW, threads)) {
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
        if (out[f].f.tmp)
            rc = dg_atomic_close(&out[f].f, err);
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
        if (out[f].f.tmp && rc == DG_OK)
            rc = dg_atomic_commit(&out[f].f, err);
    if (report)
        report->seconds = dg_now() - t0;
    dg_progress_report(progress, "synth", total, total, "devices");

done:
    for (int f = 0; f < O_COUNT; f++)
        dg_atomic_discard(&out[f].f);
    gen_free(&G);
    if (cancelled)
        return dg_cancel(err, "cancelled");
    return rc;
}

