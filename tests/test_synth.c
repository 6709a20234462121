/* Tests of the synthetic data generator (src/synth.c): determinism, thread
 * independence, the calibration of a 20,000-device set to the published
 * statistics (shared/DATA.md), the Upgrad shape's quirks, the truth file,
 * and failures (uncreatable directory, cancellation); the worlds (--world):
 * each deterministic and thread-independent, its truth a real posterior
 * (better than the priors and than a fitted softmax). The CSVs are parsed
 * here with plain fgets / strtok. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "demographer/dataset.h"
#include "demographer/features.h"
#include "demographer/model.h"
#include "demographer/synth.h"
#include "demographer/train.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYNTH_TEST_SEED
#define SYNTH_TEST_SEED 20160501u
#endif

/* ---- helpers ------------------------------------------------------------ */

static char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char *path = malloc(strlen(base) + 32);
    assert_non_null(path);
    sprintf(path, "%s/dg_synth_XXXXXX", base);
    assert_non_null(mkdtemp(path));
    return path;
}

static char *join(const char *dir, const char *name)
{
    char *s = malloc(strlen(dir) + strlen(name) + 2);
    assert_non_null(s);
    sprintf(s, "%s/%s", dir, name);
    return s;
}

/* Removes a directory tree of plain files and directories. */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *p = join(path, e->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(p);
            else
                unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(path);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void run_synth(const char *dir, const char *truth, uint64_t devices, uint64_t seed,
                      dg_shape shape, int threads, dg_synth_report *rep)
{
    dg_synth_opts o = {.out_dir = dir, .truth_path = truth, .devices = devices, .seed = seed,
                       .shape = shape, .threads = threads};
    dg_err err = {0};
    int rc = dg_synth(&o, NULL, rep, &err);
    if (rc != DG_OK)
        fail_msg("dg_synth failed: %s", err.msg);
}

/* FNV-1a of a file's bytes. */
static uint64_t hash_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint64_t h = 1469598103934665603ULL;
    static unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 1099511628211ULL;
    fclose(f);
    return h;
}

static const char *const kaggle_files[] = {
    "gender_age_train.csv", "gender_age_test.csv", "phone_brand_device_model.csv",
    "events.csv",           "app_events.csv",      "app_labels.csv",
    "label_categories.csv", "train_test_split.csv"};
#define N_KAGGLE_FILES (sizeof kaggle_files / sizeof kaggle_files[0])

static const char *const upgrad_files[] = {"train.csv",          "brand_device.csv",
                                           "events.csv",         "app_events.csv",
                                           "app_labels_new.txt", "label_categories.csv",
                                           "train_test_split.csv"};
#define N_UPGRAD_FILES (sizeof upgrad_files / sizeof upgrad_files[0])

static uint64_t hash_set(const char *dir, const char *truth)
{
    uint64_t h = 0;
    for (size_t i = 0; i < N_KAGGLE_FILES; i++) {
        char *p = join(dir, kaggle_files[i]);
        h = h * 31 + hash_file(p);
        free(p);
    }
    if (truth)
        h = h * 31 + hash_file(truth);
    return h;
}

static FILE *open_csv(const char *dir, const char *name, const char *header)
{
    char *p = join(dir, name);
    FILE *f = fopen(p, "r");
    if (!f)
        fail_msg("cannot open %s", p);
    free(p);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, header);
    return f;
}

/* A growable set of 64-bit keys (open addressing) for ids. */
typedef struct idset {
    int64_t *k;
    uint32_t *v;
    uint8_t *used;
    size_t cap, n;
} idset;

static void idset_init(idset *s, size_t cap)
{
    s->cap = 1;
    while (s->cap < cap * 2)
        s->cap <<= 1;
    s->k = calloc(s->cap, sizeof *s->k);
    s->v = calloc(s->cap, sizeof *s->v);
    s->used = calloc(s->cap, 1);
    s->n = 0;
    assert_true(s->k && s->v && s->used);
}

static void idset_free(idset *s)
{
    free(s->k);
    free(s->v);
    free(s->used);
}

static size_t idset_slot(const idset *s, int64_t key)
{
    uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ULL;
    size_t i = (size_t)(h >> 20) & (s->cap - 1);
    while (s->used[i] && s->k[i] != key)
        i = (i + 1) & (s->cap - 1);
    return i;
}

/* Adds key with value v; returns 0 when it was there already. */
static int idset_put(idset *s, int64_t key, uint32_t v)
{
    assert_true(s->n * 2 < s->cap);
    size_t i = idset_slot(s, key);
    if (s->used[i])
        return 0;
    s->used[i] = 1;
    s->k[i] = key;
    s->v[i] = v;
    s->n++;
    return 1;
}

static int idset_get(const idset *s, int64_t key, uint32_t *v)
{
    size_t i = idset_slot(s, key);
    if (!s->used[i])
        return 0;
    if (v)
        *v = s->v[i];
    return 1;
}

static const char *const g12[12] = {"F23-",   "F24-26", "F27-28", "F29-32", "F33-42", "F43+",
                                    "M22-",   "M23-26", "M27-28", "M29-31", "M32-38", "M39+"};
static const double g12_share[12] = {0.0677, 0.0561, 0.0418, 0.0620, 0.0745, 0.0562,
                                     0.1003, 0.1287, 0.0729, 0.0979, 0.1269, 0.1150};

static int group12_of(char g, int age)
{
    if (g == 'F')
        return age <= 23 ? 0 : age <= 26 ? 1 : age <= 28 ? 2 : age <= 32 ? 3 : age <= 42 ? 4 : 5;
    return age <= 22 ? 6 : age <= 26 ? 7 : age <= 28 ? 8 : age <= 31 ? 9 : age <= 38 ? 10 : 11;
}

static const char *group6_of(char g, int age)
{
    static const char *const m[3] = {"M0-24", "M25-32", "M32+"}, *const f[3] = {"F0-24", "F25-32", "F32+"};
    int a = age <= 24 ? 0 : age <= 32 ? 1 : 2;
    return g == 'M' ? m[a] : f[a];
}

/* Digits after the 15th significant one are all zero. */
static int is_truncated_15(const char *s)
{
    int digits = 0;
    for (; *s && *s != ',' && *s != '\n'; s++)
        if (*s >= '0' && *s <= '9' && ++digits > 15 && *s != '0')
            return 0;
    return 1;
}

/* ---- determinism ---------------------------------------------------------- */

static void the_same_seed_gives_the_same_bytes(void **state)
{
    (void)state;
    char *a = make_tmpdir(), *b = make_tmpdir(), *c = make_tmpdir();
    char *ta = join(a, "truth.csv"), *tb = join(b, "truth.csv"), *tc = join(c, "truth.csv");
    run_synth(a, ta, 3000, 7, DG_SHAPE_KAGGLE, 2, NULL);
    run_synth(b, tb, 3000, 7, DG_SHAPE_KAGGLE, 2, NULL);
    run_synth(c, tc, 3000, 8, DG_SHAPE_KAGGLE, 2, NULL);
    assert_true(hash_set(a, ta) == hash_set(b, tb));
    /* a different seed changes every data file (label_categories is fixed) */
    for (size_t i = 0; i < N_KAGGLE_FILES; i++) {
        if (!strcmp(kaggle_files[i], "label_categories.csv"))
            continue;
        char *pa = join(a, kaggle_files[i]), *pc = join(c, kaggle_files[i]);
        if (hash_file(pa) == hash_file(pc))
            fail_msg("%s did not change with the seed", kaggle_files[i]);
        free(pa);
        free(pc);
    }
    free(ta);
    free(tb);
    free(tc);
    remove_tree(a);
    remove_tree(b);
    remove_tree(c);
    free(a);
    free(b);
    free(c);
}

static void the_bytes_do_not_depend_on_the_threads(void **state)
{
    (void)state;
    char *a = make_tmpdir(), *b = make_tmpdir(), *c = make_tmpdir();
    char *ta = join(a, "truth.csv"), *tb = join(b, "truth.csv"), *tc = join(c, "truth.csv");
    run_synth(a, ta, 6000, 11, DG_SHAPE_KAGGLE, 1, NULL);
    run_synth(b, tb, 6000, 11, DG_SHAPE_KAGGLE, 2, NULL);
    run_synth(c, tc, 6000, 11, DG_SHAPE_KAGGLE, 5, NULL);
    uint64_t h = hash_set(a, ta);
    assert_true(h == hash_set(b, tb));
    assert_true(h == hash_set(c, tc));
    free(ta);
    free(tb);
    free(tc);
    remove_tree(a);
    remove_tree(b);
    remove_tree(c);
    free(a);
    free(b);
    free(c);
}

/* ---- calibration of a 20,000-device Kaggle set ------------------------------ */

typedef struct devinfo {
    char gender; /* 'M', 'F' or 0 for test devices */
    int age;
    uint32_t events;
} devinfo;

static void the_statistics_are_kaggles(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char *truth = join(dir, "truth.csv");
    dg_synth_report rep;
    const uint64_t N = 20000;
    run_synth(dir, truth, N, SYNTH_TEST_SEED, DG_SHAPE_KAGGLE, 0, &rep);
    char line[1024];

    /* labels */
    idset ids;
    idset_init(&ids, N);
    devinfo *dv = calloc(N, sizeof *dv);
    assert_non_null(dv);
    uint32_t nd = 0, labelled = 0, male = 0, groups[12] = {0};
    double age_sum = 0;
    FILE *f = open_csv(dir, "gender_age_train.csv", "device_id,gender,age,group\n");
    while (fgets(line, sizeof line, f)) {
        char *id = strtok(line, ","), *g = strtok(NULL, ","), *a = strtok(NULL, ","),
             *grp = strtok(NULL, "\n");
        assert_true(id && g && a && grp);
        assert_true(nd < N);
        assert_true(idset_put(&ids, strtoll(id, NULL, 10), nd));
        dv[nd].gender = g[0];
        dv[nd].age = atoi(a);
        int k = group12_of(g[0], dv[nd].age);
        assert_string_equal(grp, g12[k]);
        groups[k]++;
        male += g[0] == 'M';
        age_sum += dv[nd].age;
        labelled++;
        nd++;
    }
    fclose(f);
    assert_int_equal(labelled, (uint32_t)llround(N * 74645.0 / 186716.0));
    assert_int_equal(rep.labelled, labelled);
    double male_share = (double)male / labelled, age_mean = age_sum / labelled;
    assert_true(fabs(male_share - 0.6418) < 0.02);
    assert_true(fabs(age_mean - 31.4) < 1.0);
    for (int k = 0; k < 12; k++)
        if (fabs((double)groups[k] / labelled - g12_share[k]) > 0.02)
            fail_msg("group %s share %.4f, expected %.4f", g12[k], (double)groups[k] / labelled,
                     g12_share[k]);
    f = open_csv(dir, "gender_age_test.csv", "device_id\n");
    while (fgets(line, sizeof line, f)) {
        assert_true(nd < N);
        assert_true(idset_put(&ids, strtoll(line, NULL, 10), nd));
        nd++;
    }
    fclose(f);
    assert_int_equal(nd, N);

    /* phones: every device, a few twice */
    uint32_t phone_rows = 0;
    f = open_csv(dir, "phone_brand_device_model.csv", "device_id,phone_brand,device_model\n");
    while (fgets(line, sizeof line, f)) {
        assert_true(idset_get(&ids, strtoll(line, NULL, 10), NULL));
        phone_rows++;
    }
    fclose(f);
    assert_int_equal(phone_rows, rep.phone_rows);
    assert_int_equal(phone_rows, N + (uint64_t)llround(N * 529.0 / 186716.0));

    /* events */
    double hours[24] = {0};
    uint64_t n_events = 0, zero = 0, one = 0, last_id = 0;
    f = open_csv(dir, "events.csv", "event_id,device_id,timestamp,longitude,latitude\n");
    while (fgets(line, sizeof line, f)) {
        char *eid = strtok(line, ","), *id = strtok(NULL, ","), *ts = strtok(NULL, ","),
             *lon = strtok(NULL, ","), *lat = strtok(NULL, "\n");
        assert_true(eid && id && ts && lon && lat);
        uint64_t e = strtoull(eid, NULL, 10);
        assert_true(e == last_id + 1); /* sequential from 1 */
        last_id = e;
        uint32_t d = 0;
        assert_true(idset_get(&ids, strtoll(id, NULL, 10), &d));
        dv[d].events++;
        assert_int_equal(strlen(ts), 19);
        if (strcmp(ts, "2016-04-30 23:52:00") < 0 || strcmp(ts, "2016-05-08 00:01:59") > 0)
            fail_msg("timestamp %s outside the window", ts);
        if (dv[d].gender)
            hours[atoi(ts + 11)]++;
        /* two decimals */
        const char *dot = strchr(lon, '.');
        assert_true(dot && strlen(dot) == 3);
        dot = strchr(lat, '.');
        assert_true(dot && strlen(dot) == 3);
        zero += !strcmp(lon, "0.00") && !strcmp(lat, "0.00");
        one += !strcmp(lon, "1.00") && !strcmp(lat, "1.00");
        n_events++;
    }
    fclose(f);
    assert_int_equal(n_events, rep.events);
    uint32_t lab_with = 0;
    uint64_t lab_events = 0;
    for (uint32_t i = 0; i < labelled; i++)
        if (dv[i].events) {
            lab_with++;
            lab_events += dv[i].events;
        }
    double share_with = (double)lab_with / labelled, mean_events = (double)lab_events / lab_with;
    assert_true(fabs(share_with - 0.312) < 0.03);
    assert_true(fabs(mean_events - 52) < 15);
    assert_true(fabs((double)zero / n_events - 0.298) < 0.03);
    assert_true(fabs((double)one / n_events - 0.0235) < 0.01);
    static const double real_hours[24] = {44864, 27090, 20248, 16991, 16282, 24536, 43970, 55583,
                                          59032, 62226, 68578, 62920, 62584, 58304, 56324, 55224,
                                          57002, 58200, 57610, 61947, 65099, 67498, 61978, 51508};
    double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
    for (int h = 0; h < 24; h++) {
        ma += hours[h] / 24;
        mb += real_hours[h] / 24;
    }
    for (int h = 0; h < 24; h++) {
        sab += (hours[h] - ma) * (real_hours[h] - mb);
        saa += (hours[h] - ma) * (hours[h] - ma);
        sbb += (real_hours[h] - mb) * (real_hours[h] - mb);
    }
    assert_true(sab / sqrt(saa * sbb) > 0.95);

    /* app labels: the apps and the label ids they use */
    uint8_t valid_label[1100] = {0};
    f = open_csv(dir, "label_categories.csv", "label_id,category\n");
    uint32_t n_cat = 0;
    while (fgets(line, sizeof line, f)) {
        long id = strtol(line, NULL, 10);
        assert_true(id > 0 && id < 1100);
        valid_label[id] = 1;
        n_cat++;
    }
    fclose(f);
    assert_int_equal(n_cat, 930);
    idset apps;
    idset_init(&apps, 1 << 19);
    uint64_t label_rows = 0;
    f = open_csv(dir, "app_labels.csv", "app_id,label_id\n");
    while (fgets(line, sizeof line, f)) {
        char *a = strtok(line, ","), *l = strtok(NULL, "\n");
        assert_true(a && l);
        long lid = strtol(l, NULL, 10);
        assert_true(lid > 0 && lid < 1100 && valid_label[lid]);
        idset_put(&apps, strtoll(a, NULL, 10), 0);
        label_rows++;
    }
    fclose(f);
    assert_int_equal(label_rows, rep.app_labels);

    /* app events */
    uint64_t rows = 0, active = 0, events_with_rows = 0, prev_event = 0, missing = 0;
    f = open_csv(dir, "app_events.csv", "event_id,app_id,is_installed,is_active\n");
    while (fgets(line, sizeof line, f)) {
        char *eid = strtok(line, ","), *app = strtok(NULL, ","), *inst = strtok(NULL, ","),
             *act = strtok(NULL, "\n");
        assert_true(eid && app && inst && act);
        uint64_t e = strtoull(eid, NULL, 10);
        assert_true(e >= prev_event && e >= 1 && e <= n_events);
        if (e != prev_event)
            events_with_rows++;
        prev_event = e;
        assert_string_equal(inst, "1");
        assert_true(!strcmp(act, "0") || !strcmp(act, "1"));
        active += act[0] == '1';
        missing += !idset_get(&apps, strtoll(app, NULL, 10), NULL);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, rep.app_events);
    assert_int_equal(missing, 0); /* every app in app_events has labels */
    assert_true(fabs((double)active / rows - 0.392) < 0.03);
    assert_true(fabs((double)rows / events_with_rows - 21.8) < 3);
    assert_true(fabs((double)events_with_rows / n_events - 0.457) < 0.05);

    /* the mapping file */
    uint32_t map_rows = 0, map_train = 0;
    f = open_csv(dir, "train_test_split.csv", "device_id,gender,age,group,train_test_flag\n");
    while (fgets(line, sizeof line, f)) {
        char *id = strtok(line, ","), *g = strtok(NULL, ","), *a = strtok(NULL, ","),
             *grp = strtok(NULL, ","), *flag = strtok(NULL, "\n");
        assert_true(id && g && a && grp && flag);
        uint32_t d = 0;
        assert_true(idset_get(&ids, strtoll(id, NULL, 10), &d));
        assert_true(d < labelled && dv[d].gender == g[0] && dv[d].age == atoi(a));
        assert_string_equal(grp, group6_of(g[0], atoi(a)));
        assert_true(!strcmp(flag, "train") || !strcmp(flag, "test"));
        map_train += !strcmp(flag, "train");
        map_rows++;
    }
    fclose(f);
    assert_int_equal(map_rows, labelled);
    assert_true(fabs((double)map_train / map_rows - 0.784) < 0.02);

    /* the truth: one row per device, a distribution over the 12 groups */
    uint32_t truth_rows = 0;
    uint8_t *seen = calloc(N, 1);
    f = fopen(truth, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "device_id,p_male,expected_age,p_F23-,p_F24-26,p_F27-28,p_F29-32,"
                              "p_F33-42,p_F43+,p_M22-,p_M23-26,p_M27-28,p_M29-31,p_M32-38,"
                              "p_M39+\n");
    double ll = 0;
    while (fgets(line, sizeof line, f)) {
        uint32_t d = 0;
        assert_true(idset_get(&ids, strtoll(strtok(line, ","), NULL, 10), &d));
        assert_false(seen[d]);
        seen[d] = 1;
        double pm = strtod(strtok(NULL, ","), NULL), age = strtod(strtok(NULL, ","), NULL);
        assert_true(pm >= 0 && pm <= 1 && age >= 1 && age <= 96);
        double sum = 0, sum_m = 0, p[12];
        for (int k = 0; k < 12; k++) {
            char *t = strtok(NULL, ",\n");
            assert_non_null(t);
            p[k] = strtod(t, NULL);
            assert_true(p[k] >= 0 && p[k] <= 1);
            sum += p[k];
            sum_m += k >= 6 ? p[k] : 0;
        }
        assert_true(fabs(sum - 1) < 1e-6);
        assert_true(fabs(sum_m - pm) < 1e-6);
        if (dv[d].gender)
            ll -= log(fmax(p[group12_of(dv[d].gender, dv[d].age)], 1e-15));
        truth_rows++;
    }
    fclose(f);
    assert_int_equal(truth_rows, N);
    /* the planted signal: the Bayes log loss beats the priors (2.43) but is
     * not absurdly good */
    ll /= labelled;
    assert_true(ll > 2.0 && ll < 2.36);

    free(seen);
    idset_free(&apps);
    idset_free(&ids);
    free(dv);
    free(truth);
    remove_tree(dir);
    free(dir);
}

/* ---- the Upgrad shape ------------------------------------------------------- */

static void the_upgrad_shape_is_upgrads(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    dg_synth_report rep;
    const uint64_t N = 4000;
    run_synth(dir, NULL, N, 5, DG_SHAPE_UPGRAD, 2, &rep);
    assert_int_equal(count_entries(dir), (int)N_UPGRAD_FILES);
    char line[1024];

    /* brand_device keeps exact ids, English brands, mis-encoded models */
    idset exact;
    idset_init(&exact, N);
    uint32_t rows = 0, untruncated = 0, mojibake = 0, chinese = 0;
    FILE *f = open_csv(dir, "brand_device.csv", "device_id,phone_brand,device_model\n");
    while (fgets(line, sizeof line, f)) {
        char *id = strtok(line, ","), *brand = strtok(NULL, ","), *model = strtok(NULL, "\n");
        assert_true(id && brand && model);
        idset_put(&exact, strtoll(id, NULL, 10), 0);
        untruncated += !is_truncated_15(id);
        for (const unsigned char *p = (const unsigned char *)brand; *p; p++)
            if (*p >= 0x80 || *p == '"')
                fail_msg("brand not in English: %s", brand);
        /* "è" (C3 A8) and "é" (C3 A9) start the mojibake of most Chinese
         * characters; no model keeps its Chinese characters */
        if (strstr(model, "\xC3\xA8") || strstr(model, "\xC3\xA9"))
            mojibake++;
        for (const unsigned char *p = (const unsigned char *)model; *p; p++)
            if (*p >= 0xE4 && *p <= 0xE9 && p[1] >= 0x80 && p[1] <= 0xBF && p[2] >= 0x80 &&
                p[2] <= 0xBF)
                chinese++;
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, rep.phone_rows);
    assert_int_equal(exact.n, N);
    assert_true(untruncated > N / 2); /* exact ids */
    assert_true(mojibake > N / 10);
    assert_int_equal(chinese, 0);
    /* 荣耀3C's mojibake, byte for byte, is one of the models */
    char *p = join(dir, "brand_device.csv");
    f = fopen(p, "r");
    free(p);
    assert_non_null(f);
    int found = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, ",Huawei,\xC3\xA8\xC2\x8D\xC2\xA3\xC3\xA8\xE2\x82\xAC\xE2\x82\xAC" "3C\n"))
            found = 1;
    fclose(f);
    assert_true(found);

    /* train.csv: 15-digit ids, six groups */
    uint32_t labelled = 0;
    f = open_csv(dir, "train.csv", "device_id,gender,age,group_train\n");
    while (fgets(line, sizeof line, f)) {
        char *id = strtok(line, ","), *g = strtok(NULL, ","), *a = strtok(NULL, ","),
             *grp = strtok(NULL, "\n");
        assert_true(id && g && a && grp);
        assert_true(is_truncated_15(id));
        assert_string_equal(grp, group6_of(g[0], atoi(a)));
        labelled++;
    }
    fclose(f);
    assert_int_equal(labelled, rep.labelled);

    f = open_csv(dir, "events.csv", "event_id,device_id,timestamp,longitude,latitude\n");
    uint32_t n_events = 0;
    while (fgets(line, sizeof line, f)) {
        char *eid = strtok(line, ","), *id = strtok(NULL, ",");
        assert_true(eid && id);
        assert_true(is_truncated_15(id));
        n_events++;
    }
    fclose(f);
    assert_int_equal(n_events, rep.events);

    uint32_t map_rows = 0, map_train = 0;
    f = open_csv(dir, "train_test_split.csv", "device_id,gender,age,group,train_test_flag\n");
    while (fgets(line, sizeof line, f)) {
        char *id = strtok(line, ","), *g = strtok(NULL, ","), *a = strtok(NULL, ","),
             *grp = strtok(NULL, ","), *flag = strtok(NULL, "\n");
        assert_true(id && g && a && grp && flag);
        assert_true(is_truncated_15(id));
        assert_string_equal(grp, group6_of(g[0], atoi(a)));
        map_train += !strcmp(flag, "train");
        map_rows++;
    }
    fclose(f);
    assert_int_equal(map_rows, labelled);
    assert_true(fabs((double)map_train / map_rows - 0.784) < 0.02);

    f = open_csv(dir, "app_labels_new.txt", "app_id,label_id\n");
    fclose(f);
    f = open_csv(dir, "app_events.csv", "event_id,app_id,is_installed,is_active\n");
    fclose(f);
    f = open_csv(dir, "label_categories.csv", "label_id,category\n");
    fclose(f);
    idset_free(&exact);
    remove_tree(dir);
    free(dir);
}

/* The 15-digit truncation of ids, as the real mapping file shows it. */
static void upgrad_ids_match_kaggles(void **state)
{
    (void)state;
    char *k = make_tmpdir(), *u = make_tmpdir();
    run_synth(k, NULL, 2000, 9, DG_SHAPE_KAGGLE, 2, NULL);
    run_synth(u, NULL, 2000, 9, DG_SHAPE_UPGRAD, 2, NULL);
    char *pk = join(k, "gender_age_train.csv"), *pu = join(u, "train.csv");
    FILE *fk = fopen(pk, "r"), *fu = fopen(pu, "r");
    assert_true(fk && fu);
    char a[256], b[256];
    assert_non_null(fgets(a, sizeof a, fk));
    assert_non_null(fgets(b, sizeof b, fu));
    int n = 0;
    while (fgets(a, sizeof a, fk)) {
        assert_non_null(fgets(b, sizeof b, fu));
        /* same device, same order: the Upgrad id is the Kaggle id with every
         * digit after the 15th significant one set to 0 */
        char *ea = strchr(a, ','), *eb = strchr(b, ',');
        assert_true(ea && eb && ea - a == eb - b);
        int digits = 0;
        for (char *p = a, *q = b; p < ea; p++, q++) {
            if (*p >= '0' && *p <= '9' && ++digits > 15)
                assert_int_equal(*q, '0');
            else
                assert_int_equal(*q, *p);
        }
        n++;
    }
    assert_null(fgets(b, sizeof b, fu));
    assert_true(n > 700);
    fclose(fk);
    fclose(fu);
    free(pk);
    free(pu);
    remove_tree(k);
    remove_tree(u);
    free(k);
    free(u);
}

/* ---- failures ---------------------------------------------------------------- */

static void an_uncreatable_dir_is_an_error(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char *file = join(dir, "plain");
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    char *out = join(file, "sub"); /* below a regular file */
    dg_synth_opts o = {.out_dir = out, .devices = 100, .seed = 1, .threads = 1};
    dg_err err = {0};
    assert_int_equal(dg_synth(&o, NULL, NULL, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "plain"));
    assert_int_equal(count_entries(dir), 1);
    free(out);
    free(file);
    remove_tree(dir);
    free(dir);
}

static void bad_options_are_refused(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    dg_synth_opts o = {.out_dir = dir, .devices = 0, .seed = 1};
    dg_err err = {0};
    assert_int_equal(dg_synth(&o, NULL, NULL, &err), DG_ERR);
    assert_true(strlen(err.msg) > 0);
    assert_int_equal(count_entries(dir), 0);
    remove_tree(dir);
    free(dir);
}

/* A write error half way (the file size limit standing in for a full disk):
 * a message naming the file and the reason, and nothing left behind. Run in
 * a child process so that the limit does not outlive the test. */
static void a_write_error_leaves_nothing_behind(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {4u << 20, 4u << 20};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
            _exit(10);
        dg_synth_opts o = {.out_dir = dir, .devices = 20000, .seed = 2, .threads = 2};
        dg_err err = {0};
        if (dg_synth(&o, NULL, NULL, &err) != DG_ERR)
            _exit(11);
        if (!strstr(err.msg, dir) || !strstr(err.msg, "File too large"))
            _exit(12);
        _exit(count_entries(dir) == 0 ? 0 : 13);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    remove_tree(dir);
    free(dir);
}

/* Cancels once the work is `at` (a fraction) done. */
typedef struct cancel_ctx {
    double at;
    int calls;
} cancel_ctx;

static int cancel_at(void *ctx, const char *stage, double done, double total, const char *unit)
{
    (void)stage;
    assert_string_equal(unit, "devices");
    cancel_ctx *c = ctx;
    c->calls++;
    return done >= c->at * total;
}

static void run_cancelled(double at)
{
    char *dir = make_tmpdir();
    char *truth = join(dir, "truth.csv");
    cancel_ctx c = {at, 0};
    dg_progress prog = {cancel_at, &c};
    dg_synth_opts o = {.out_dir = dir, .truth_path = truth, .devices = 30000, .seed = 3,
                       .threads = 2};
    dg_err err = {0};
    assert_int_equal(dg_synth(&o, &prog, NULL, &err), DG_ERR);
    assert_string_equal(err.msg, "cancelled");
    assert_true(c.calls >= 2);
    assert_int_equal(count_entries(dir), 0); /* no files, no temporaries */
    free(truth);
    remove_tree(dir);
    free(dir);
}

/* early (while drawing devices) and late (while writing the big files) */
static void a_cancel_leaves_nothing_behind(void **state)
{
    (void)state;
    run_cancelled(0.05);
    run_cancelled(0.6);
}

static int count_progress(void *ctx, const char *stage, double done, double total, const char *unit)
{
    (void)unit;
    double *last = ctx;
    assert_string_equal(stage, "synth");
    assert_true(done >= last[0] - 1e-9 && done <= total + 1e-9);
    last[0] = done;
    last[1]++;
    return 0;
}

static void progress_and_report_are_given(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    double last[2] = {0, 0};
    dg_progress prog = {count_progress, last};
    dg_synth_opts o = {.out_dir = dir, .devices = 5000, .seed = 4, .threads = 2};
    dg_synth_report rep;
    dg_err err = {0};
    assert_int_equal(dg_synth(&o, &prog, &rep, &err), DG_OK);
    assert_true(last[1] >= 3);
    assert_true(fabs(last[0] - 5000) < 1e-9);
    assert_int_equal(rep.labelled + rep.unlabelled, 5000);
    assert_int_equal(rep.label_categories, 930);
    assert_true(rep.events > 0 && rep.app_events > rep.events);
    assert_true(rep.seconds > 0);
    assert_int_equal(count_entries(dir), (int)N_KAGGLE_FILES);
    remove_tree(dir);
    free(dir);
}

/* ---- the worlds ------------------------------------------------------------ */

static int n_worlds(void)
{
    int n = 0;
    while (dg_synth_world_name(n))
        n++;
    return n;
}

static void run_world(const char *dir, const char *truth, const char *world, uint64_t devices,
                      uint64_t seed, int threads)
{
    dg_synth_opts o = {.out_dir = dir, .truth_path = truth, .devices = devices, .seed = seed,
                       .shape = DG_SHAPE_KAGGLE, .threads = threads, .world = world};
    dg_err err = {0};
    if (dg_synth(&o, NULL, NULL, &err) != DG_OK)
        fail_msg("dg_synth --world %s failed: %s", world, err.msg);
}

/* The default world is personas, the one of the tests above; names are
 * distinct; the list ends. */
static void the_worlds_are_named_and_listed(void **state)
{
    (void)state;
    int n = n_worlds();
    assert_true(n >= 3);
    assert_string_equal(dg_synth_world_name(0), "personas");
    assert_null(dg_synth_world_name(-1));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            assert_string_not_equal(dg_synth_world_name(i), dg_synth_world_name(j));
    /* world NULL and world "personas" are the same bytes */
    char *a = make_tmpdir(), *b = make_tmpdir();
    char *ta = join(a, "truth.csv"), *tb = join(b, "truth.csv");
    run_synth(a, ta, 1500, 3, DG_SHAPE_KAGGLE, 2, NULL);
    run_world(b, tb, "personas", 1500, 3, 2);
    assert_true(hash_set(a, ta) == hash_set(b, tb));
    free(ta);
    free(tb);
    remove_tree(a);
    remove_tree(b);
    free(a);
    free(b);
}

/* An unknown world is an error that names every world; nothing is written. */
static void an_unknown_world_is_an_error(void **state)
{
    (void)state;
    char *dir = make_tmpdir(), *out = join(dir, "out");
    dg_synth_opts o = {.out_dir = out, .devices = 1000, .seed = 1, .world = "flatland"};
    dg_err err = {0};
    assert_int_equal(dg_synth(&o, NULL, NULL, &err), DG_ERR);
    assert_non_null(strstr(err.msg, "flatland"));
    for (int i = 0; dg_synth_world_name(i); i++)
        assert_non_null(strstr(err.msg, dg_synth_world_name(i)));
    assert_int_equal(count_entries(dir), 0);
    free(out);
    remove_tree(dir);
    free(dir);
}

/* Every world: the same seed gives the same bytes on 1 or 3 threads, another
 * seed other bytes, and the worlds differ from each other. */
static void every_world_is_deterministic(void **state)
{
    (void)state;
    uint64_t prev[16];
    for (int w = 0; w < n_worlds() && w < 16; w++) {
        const char *name = dg_synth_world_name(w);
        char *a = make_tmpdir(), *b = make_tmpdir(), *c = make_tmpdir();
        char *ta = join(a, "truth.csv"), *tb = join(b, "truth.csv"), *tc = join(c, "truth.csv");
        run_world(a, ta, name, 2500, 9, 1);
        run_world(b, tb, name, 2500, 9, 3);
        run_world(c, tc, name, 2500, 10, 2);
        uint64_t h = hash_set(a, ta);
        if (h != hash_set(b, tb))
            fail_msg("world %s: 1 and 3 threads differ", name);
        if (h == hash_set(c, tc))
            fail_msg("world %s: seeds 9 and 10 give the same bytes", name);
        for (int v = 0; v < w; v++)
            if (prev[v] == h)
                fail_msg("worlds %s and %s give the same bytes", dg_synth_world_name(v), name);
        prev[w] = h;
        free(ta);
        free(tb);
        free(tc);
        remove_tree(a);
        remove_tree(b);
        remove_tree(c);
        free(a);
        free(b);
        free(c);
    }
}

/* The CV log loss of softmax (one l2) on scenario 1's group12, on the train
 * split of the set in `dir`. */
static double softmax_cv_group12(const char *dir, const char *out)
{
    dg_err err;
    char path[600];
    snprintf(path, sizeof path, "%s/supercategories.txt", getenv("DG_ASSETS"));
    dg_supercats sc;
    memset(&sc, 0, sizeof sc);
    if (dg_supercats_load(&sc, path, &err) != DG_OK)
        fail_msg("supercategories: %s", err.msg);
    dg_dataset ds;
    dg_dataset_init(&ds);
    dg_load_opts lo = {.use_snapshot = 0};
    if (dg_dataset_load(&ds, dir, &lo, &err) != DG_OK)
        fail_msg("load: %s", err.msg);
    dg_features feats;
    if (dg_features_build(&ds, &sc, &feats, NULL, &err) != DG_OK)
        fail_msg("features: %s", err.msg);
    dg_train_opts o;
    memset(&o, 0, sizeof o);
    o.out_dir = out;
    o.folds = 3;
    o.seed = 7;
    o.scenarios = 1;
    o.targets = 1u << DG_TARGET_GROUP12;
    o.families[0] = "softmax";
    o.grids[0] = "softmax:l2=0.3,3,30";
    dg_train_result res;
    if (dg_train(&ds, &feats, &o, &res, &err) != DG_OK)
        fail_msg("train: %s", err.msg);
    double cv = NAN;
    for (size_t i = 0; i < res.nruns; i++)
        if (!strcmp(res.runs[i].family, "softmax") && res.runs[i].scenario == 1 &&
            res.runs[i].target == DG_TARGET_GROUP12)
            cv = res.runs[i].cv_score;
    dg_train_result_free(&res);
    dg_features_free(&feats);
    dg_dataset_free(&ds);
    dg_supercats_free(&sc);
    return cv;
}

/* Every world's truth: rows are distributions (p_male the men's groups' sum),
 * and it is a real posterior: on the labelled devices with events (scenario
 * 1), its log loss is below the class priors' and below a softmax fitted
 * by the product (its CV score on the train split). A truth that left out a
 * term, or used the wrong one, loses to the fitted model. */
static void a_worlds_truth_is_a_posterior(void **state)
{
    (void)state;
    assert_non_null(dg_model_family_find("softmax"));
    for (int w = 0; w < n_worlds(); w++) {
        const char *name = dg_synth_world_name(w);
        const uint32_t N = 5000;
        char *dir = make_tmpdir(), *data = join(dir, "data"), *truth = join(dir, "truth.csv");
        char *out = join(dir, "train");
        run_world(data, truth, name, N, 5, 0);
        char line[1024];
        idset ids;
        idset_init(&ids, N);
        int *grp = malloc(sizeof(int) * N);
        uint8_t *has_ev = calloc(N, 1);
        assert_true(grp && has_ev);
        uint32_t nd = 0;
        FILE *f = open_csv(data, "gender_age_train.csv", "device_id,gender,age,group\n");
        while (fgets(line, sizeof line, f)) {
            char *id = strtok(line, ","), *g = strtok(NULL, ","), *a = strtok(NULL, ",");
            assert_true(idset_put(&ids, strtoll(id, NULL, 10), nd));
            grp[nd++] = group12_of(g[0], atoi(a));
        }
        fclose(f);
        f = open_csv(data, "events.csv", "event_id,device_id,timestamp,longitude,latitude\n");
        while (fgets(line, sizeof line, f)) {
            uint32_t d;
            strtok(line, ",");
            if (idset_get(&ids, strtoll(strtok(NULL, ","), NULL, 10), &d))
                has_ev[d] = 1;
        }
        fclose(f);
        double ll = 0, gap = 0, gap2 = 0;
        uint32_t n1 = 0, nl = 0, count[12] = {0};
        f = fopen(truth, "r");
        assert_non_null(f);
        assert_non_null(fgets(line, sizeof line, f));
        uint32_t rows = 0;
        while (fgets(line, sizeof line, f)) {
            uint32_t d = 0;
            int labelled = idset_get(&ids, strtoll(strtok(line, ","), NULL, 10), &d);
            double pm = strtod(strtok(NULL, ","), NULL);
            strtok(NULL, ",");
            double sum = 0, sum_m = 0, p[12];
            for (int k = 0; k < 12; k++) {
                p[k] = strtod(strtok(NULL, ",\n"), NULL);
                assert_true(p[k] >= 0 && p[k] <= 1);
                sum += p[k];
                sum_m += k >= 6 ? p[k] : 0;
            }
            if (fabs(sum - 1) > 1e-6 || fabs(sum_m - pm) > 1e-6)
                fail_msg("world %s: a truth row sums to %.9f (men %.9f, p_male %.9f)", name, sum,
                         sum_m, pm);
            rows++;
            if (labelled) {
                /* -log p(true group) minus its expectation under p itself */
                double h = 0;
                for (int k = 0; k < 12; k++)
                    h -= p[k] > 0 ? p[k] * log(p[k]) : 0;
                double g = -log(fmax(p[grp[d]], 1e-15)) - h;
                gap += g;
                gap2 += g * g;
                nl++;
            }
            if (labelled && has_ev[d]) {
                ll -= log(fmax(p[grp[d]], 1e-15));
                count[grp[d]]++;
                n1++;
            }
        }
        fclose(f);
        assert_int_equal(rows, N);
        assert_true(n1 > 300);
        double prior = 0;
        for (int k = 0; k < 12; k++)
            if (count[k])
                prior -= count[k] * log((double)count[k] / n1);
        prior /= n1;
        ll /= n1;
        /* calibrated: on the labelled devices, the log loss is the mean
         * entropy of the rows, within 4 standard errors */
        double gm = gap / nl, se = sqrt(fmax(gap2 / nl - gm * gm, 0) / nl);
        print_message("# world %s: log loss minus mean entropy on %u labelled devices: %+.4f "
                      "(se %.4f)\n", name, nl, gm, se);
        if (fabs(gm) > 4 * se)
            fail_msg("world %s: the truth is not calibrated: its log loss exceeds its own "
                     "expectation by %.4f (%.1f standard errors)", name, gm, gm / se);
        double cv = softmax_cv_group12(data, out);
        print_message("# world %s: scenario 1 group12 on %u devices: truth %.4f, priors %.4f, "
                      "softmax CV %.4f\n", name, n1, ll, prior, cv);
        if (!(ll < prior - 0.1))
            fail_msg("world %s: the truth's log loss %.4f is not below the priors' %.4f", name, ll,
                     prior);
        if (!(ll < cv))
            fail_msg("world %s: the truth's log loss %.4f is not below softmax's CV %.4f", name,
                     ll, cv);
        idset_free(&ids);
        free(grp);
        free(has_ev);
        free(out);
        free(truth);
        free(data);
        remove_tree(dir);
        free(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_same_seed_gives_the_same_bytes),
        cmocka_unit_test(the_bytes_do_not_depend_on_the_threads),
        cmocka_unit_test(the_statistics_are_kaggles),
        cmocka_unit_test(the_upgrad_shape_is_upgrads),
        cmocka_unit_test(upgrad_ids_match_kaggles),
        cmocka_unit_test(an_uncreatable_dir_is_an_error),
        cmocka_unit_test(bad_options_are_refused),
        cmocka_unit_test(a_write_error_leaves_nothing_behind),
        cmocka_unit_test(a_cancel_leaves_nothing_behind),
        cmocka_unit_test(progress_and_report_are_given),
        cmocka_unit_test(the_worlds_are_named_and_listed),
        cmocka_unit_test(an_unknown_world_is_an_error),
        cmocka_unit_test(every_world_is_deterministic),
        cmocka_unit_test(a_worlds_truth_is_a_posterior),
    };
    return cmocka_run_group_tests_name("synth", tests, NULL, NULL);
}
