#include "demographer/eda.h"

#include "demographer/textbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared definitions ------------------------------------------------ */

/* The age groups' table (eda.h): upper edges (the last group has none) and
 * names written from the edges, whole years. */
static const struct {
    int n;
    int upper[DG_AGE_GROUPS4 - 1];
    const char *name[DG_AGE_GROUPS4];
} age_sets[] = {
    [DG_AGES_EDA] = {4, {24, 32, 45}, {"0-24", "25-32", "33-45", "46+"}},
    [DG_AGES_MAPS] = {3, {24, 32}, {"0-24", "25-32", "33+"}},
};
const char *const dg_weekday_names[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

int dg_age_groups(dg_age_set set)
{
    return age_sets[set].n;
}

int dg_age_group_of(dg_age_set set, double age)
{
    if (isnan(age))
        return -1;
    for (int g = 0; g < age_sets[set].n - 1; g++)
        if (age <= age_sets[set].upper[g])
            return g;
    return age_sets[set].n - 1;
}

const char *dg_age_group_name(dg_age_set set, int group)
{
    return group >= 0 && group < age_sets[set].n ? age_sets[set].name[group] : "";
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

int dg_weekday(int64_t t)
{
    /* 1970-01-01 was a Thursday (4 with Sunday as 0). */
    return (int)((floor_div(t, 86400) % 7 + 7 + 4) % 7);
}

int dg_hour(int64_t t)
{
    return (int)((t - floor_div(t, 86400) * 86400) / 3600);
}

/* ---- tables -------------------------------------------------------------- */

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return dg_xstrdup(buf);
}

static dg_eda_table *add_table(dg_eda *e, int chart, const char *slug, const char *title,
                               const char *row_label, const char *unit, int nrows, int nseries)
{
    int i = e->ntables++;
    e->chart_of[i] = chart;
    snprintf(e->slug[i], sizeof e->slug[i], "%s", slug);
    dg_eda_table *t = &e->tables[i];
    memset(t, 0, sizeof *t);
    snprintf(t->title, sizeof t->title, "%s", title);
    snprintf(t->row_label, sizeof t->row_label, "%s", row_label);
    snprintf(t->unit, sizeof t->unit, "%s", unit);
    t->nrows = nrows;
    t->nseries = nseries;
    t->row_names = dg_xcalloc((size_t)nrows + 1, sizeof *t->row_names);
    t->series_names = dg_xcalloc((size_t)nseries + 1, sizeof *t->series_names);
    t->values = dg_xcalloc((size_t)nrows * (size_t)nseries + 1, sizeof *t->values);
    t->counts = dg_xcalloc((size_t)nseries + 1, sizeof *t->counts);
    return t;
}

static void free_table(dg_eda_table *t)
{
    for (int r = 0; r < t->nrows; r++)
        free(t->row_names[r]);
    for (int s = 0; s < t->nseries; s++)
        free(t->series_names[s]);
    free(t->row_names);
    free(t->series_names);
    free(t->values);
    free(t->counts);
}

void dg_eda_free(dg_eda *e)
{
    for (int i = 0; i < e->ntables; i++)
        free_table(&e->tables[i]);
    memset(e, 0, sizeof *e);
}

static double *cell(dg_eda_table *t, int r, int s)
{
    return &t->values[r * t->nseries + s];
}

/* ---- the labelled devices ------------------------------------------------ */

typedef struct labels {
    dg_i64map index; /* device id -> row in gender/age */
    int8_t *male;    /* 1 M, 0 F, -1 anything else */
    int32_t *age;
    uint32_t n;
} labels;

static void labels_build(const dg_table *t, labels *l)
{
    dg_i64map_init(&l->index);
    l->n = 0;
    l->male = dg_xmalloc(t->nrows + 1);
    l->age = dg_xmalloc((t->nrows + 1) * sizeof *l->age);
    const int64_t *id = dg_col_i64(dg_table_column(t, "device_id"));
    const uint32_t *g = dg_col_u32(dg_table_column(t, "gender"));
    const int32_t *age = dg_col_i32(dg_table_column(t, "age"));
    for (uint64_t i = 0; i < t->nrows; i++) {
        uint32_t before = l->index.n, k = dg_i64map_put(&l->index, id[i]);
        if (k != before)
            continue; /* a repeated device keeps its first label */
        const char *s = dg_strpool_get(&t->strings, g[i]);
        l->male[k] = strcmp(s, "M") == 0 ? 1 : strcmp(s, "F") == 0 ? 0 : -1;
        l->age[k] = age[i];
        l->n++;
    }
}

static void labels_free(labels *l)
{
    dg_i64map_free(&l->index);
    free(l->male);
    free(l->age);
}

/* ---- statistics ---------------------------------------------------------- */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* pandas' default quantile: linear between the two nearest ranks. */
static double quantile(const int *sorted, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    double frac = pos - (double)lo;
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

/* ---- the charts ---------------------------------------------------------- */

static void chart_age_gender(dg_eda *e, const labels *l)
{
    int lo = 1000, hi = -1000;
    for (uint32_t i = 0; i < l->n; i++) {
        lo = l->age[i] < lo ? l->age[i] : lo;
        hi = l->age[i] > hi ? l->age[i] : hi;
    }
    if (l->n == 0)
        lo = hi = 0;
    dg_eda_table *t = add_table(e, 1, "01-age", "Age of labelled devices, by gender", "age",
                                "devices", hi - lo + 1, 2);
    t->series_names[0] = xprintf("female");
    t->series_names[1] = xprintf("male");
    t->counts[0] = t->counts[1] = 1;
    for (int a = lo; a <= hi; a++)
        t->row_names[a - lo] = xprintf("%d", a);
    double n[2] = {0, 0};
    for (uint32_t i = 0; i < l->n; i++)
        if (l->male[i] >= 0) {
            (*cell(t, l->age[i] - lo, l->male[i]))++;
            n[l->male[i]]++;
        }
    dg_eda_table *g = add_table(e, 1, "01-gender", "Gender of labelled devices", "gender",
                                "devices / %", 2, 2);
    g->series_names[0] = xprintf("devices");
    g->series_names[1] = xprintf("%% of devices");
    g->counts[0] = 1;
    g->row_names[0] = xprintf("female");
    g->row_names[1] = xprintf("male");
    for (int k = 0; k < 2; k++) {
        *cell(g, k, 0) = n[k];
        *cell(g, k, 1) = n[0] + n[1] > 0 ? 100.0 * n[k] / (n[0] + n[1]) : 0;
    }
}

static void chart_age_box(dg_eda *e, const labels *l)
{
    static const char *stats[] = {"devices",     "mean",   "min",   "lower whisker", "q1",
                                  "median",      "q3",     "upper whisker", "max"};
    dg_eda_table *t = add_table(e, 2, "02-age-box", "Age by gender (box plot statistics)",
                                "gender", "years", 2, 9);
    for (int s = 0; s < 9; s++)
        t->series_names[s] = xprintf("%s", stats[s]);
    t->counts[0] = 1; /* devices; the rest are statistics of ages */
    t->row_names[0] = xprintf("female");
    t->row_names[1] = xprintf("male");
    int *ages = dg_xmalloc(((size_t)l->n + 1) * sizeof *ages);
    for (int k = 0; k < 2; k++) {
        size_t n = 0;
        double sum = 0;
        for (uint32_t i = 0; i < l->n; i++)
            if (l->male[i] == k) {
                ages[n++] = l->age[i];
                sum += l->age[i];
            }
        if (n == 0)
            continue;
        qsort(ages, n, sizeof *ages, cmp_int);
        double q1 = quantile(ages, n, 0.25), q3 = quantile(ages, n, 0.75), iqr = q3 - q1;
        /* Whiskers as matplotlib draws them: the furthest data within 1.5 IQR. */
        double wlo = ages[n - 1], whi = ages[0];
        for (size_t i = 0; i < n; i++) {
            if (ages[i] >= q1 - 1.5 * iqr && ages[i] < wlo)
                wlo = ages[i];
            if (ages[i] <= q3 + 1.5 * iqr && ages[i] > whi)
                whi = ages[i];
        }
        double v[9] = {(double)n, sum / (double)n, ages[0], wlo, q1, quantile(ages, n, 0.5), q3,
                       whi, ages[n - 1]};
        for (int s = 0; s < 9; s++)
            *cell(t, k, s) = v[s];
    }
    free(ages);
}

static void chart_with_events(dg_eda *e, const dg_dataset *ds, const labels *l)
{
    const dg_table *ev = dg_dataset_table(ds, DG_T_EVENTS);
    const int64_t *dev = dg_col_i64(dg_table_column(ev, "device_id"));
    dg_i64map with;
    dg_i64map_init(&with);
    for (uint64_t i = 0; i < ev->nrows; i++)
        dg_i64map_put(&with, dev[i]);
    uint64_t lab_with = 0;
    for (uint32_t i = 0; i < l->n; i++)
        lab_with += dg_i64map_get(&with, l->index.keys[i]) != UINT32_MAX;
    /* All devices: those with a phone row when there is a phone table. */
    uint64_t all = 0, all_with = 0;
    const dg_table *ph = dg_dataset_table(ds, DG_T_PHONES);
    if (ph) {
        dg_i64map seen;
        dg_i64map_init(&seen);
        const int64_t *pid = dg_col_i64(dg_table_column(ph, "device_id"));
        for (uint64_t i = 0; i < ph->nrows; i++) {
            uint32_t before = seen.n;
            if (dg_i64map_put(&seen, pid[i]) == before)
                all_with += dg_i64map_get(&with, pid[i]) != UINT32_MAX;
        }
        all = seen.n;
        dg_i64map_free(&seen);
    }
    dg_eda_table *t = add_table(e, 3, "03-with-events", "Devices with and without event data",
                                "devices", "devices / %", 2, ph ? 4 : 2);
    t->row_names[0] = xprintf("with events");
    t->row_names[1] = xprintf("without events");
    t->series_names[0] = xprintf("labelled devices");
    t->series_names[1] = xprintf("%% of labelled");
    t->counts[0] = 1;
    *cell(t, 0, 0) = (double)lab_with;
    *cell(t, 1, 0) = (double)(l->n - lab_with);
    *cell(t, 0, 1) = l->n ? 100.0 * (double)lab_with / l->n : 0;
    *cell(t, 1, 1) = l->n ? 100.0 - *cell(t, 0, 1) : 0;
    if (ph) {
        t->series_names[2] = xprintf("all devices");
        t->series_names[3] = xprintf("%% of all");
        t->counts[2] = 1;
        *cell(t, 0, 2) = (double)all_with;
        *cell(t, 1, 2) = (double)(all - all_with);
        *cell(t, 0, 3) = all ? 100.0 * (double)all_with / (double)all : 0;
        *cell(t, 1, 3) = all ? 100.0 - *cell(t, 0, 3) : 0;
    }
    dg_i64map_free(&with);
}

/* The week the event charts show: from the first Sunday 00:00 at or after
 * the earliest event, seven days. */
static int64_t week_start(const int64_t *ts, uint64_t n)
{
    int64_t first = INT64_MAX;
    for (uint64_t i = 0; i < n; i++)
        first = ts[i] < first ? ts[i] : first;
    int64_t day = floor_div(first, 86400) * 86400;
    if (day < first)
        day += 86400;
    while (dg_weekday(day) != 0)
        day += 86400;
    return day;
}

static void charts_events(dg_eda *e, const dg_dataset *ds, const labels *l)
{
    const dg_table *ev = dg_dataset_table(ds, DG_T_EVENTS);
    const int64_t *dev = dg_col_i64(dg_table_column(ev, "device_id"));
    const int64_t *ts = dg_col_i64(dg_table_column(ev, "timestamp"));
    int64_t w0 = ev->nrows ? week_start(ts, ev->nrows) : 0;
    char a[20], b[20];
    dg_format_time(w0, a);
    dg_format_time(w0 + 7 * 86400 - 1, b);
    a[10] = b[10] = '\0';

    dg_eda_table *wd = add_table(e, 4, "04-weekday", "Events by day of the week", "day",
                                 "events", 7, 1);
    wd->series_names[0] = xprintf("events");
    wd->counts[0] = 1;
    char title[160];
    snprintf(title, sizeof title, "Events per hour, week of %s to %s", a, b);
    dg_eda_table *wk = add_table(e, 5, "05-week-hours", title, "hour", "events", 168, 1);
    wk->series_names[0] = xprintf("events");
    wk->counts[0] = 1;
    snprintf(title, sizeof title,
             "Share of each gender's events by hour of day, week of %s to %s", a, b);
    dg_eda_table *hg = add_table(e, 6, "06-hour-gender", title, "hour", "% of the gender's events",
                                 24, 2);
    hg->series_names[0] = xprintf("female");
    hg->series_names[1] = xprintf("male");
    dg_eda_table *ag = add_table(e, 7, "07-weekday-age",
                                 "Share of each age group's events by day of the week", "day",
                                 "% of the group's events", 7, DG_AGE_GROUPS4);
    for (int d = 0; d < 7; d++) {
        wd->row_names[d] = xprintf("%s", dg_weekday_names[d]);
        ag->row_names[d] = xprintf("%s", dg_weekday_names[d]);
    }
    for (int h = 0; h < 168; h++)
        wk->row_names[h] = xprintf("%s %02d", dg_weekday_names[h / 24], h % 24);
    for (int h = 0; h < 24; h++)
        hg->row_names[h] = xprintf("%02d", h);
    for (int g = 0; g < DG_AGE_GROUPS4; g++)
        ag->series_names[g] = xprintf("%s", dg_age_group_name(DG_AGES_EDA, g));

    double gender_total[2] = {0, 0}, group_total[DG_AGE_GROUPS4] = {0};
    for (uint64_t i = 0; i < ev->nrows; i++) {
        int d = dg_weekday(ts[i]);
        (*cell(wd, d, 0))++;
        int in_week = ts[i] >= w0 && ts[i] < w0 + 7 * 86400;
        if (in_week)
            (*cell(wk, (int)((ts[i] - w0) / 3600), 0))++;
        uint32_t k = dg_i64map_get(&l->index, dev[i]);
        if (k == UINT32_MAX)
            continue;
        if (in_week && l->male[k] >= 0) {
            (*cell(hg, dg_hour(ts[i]), l->male[k]))++;
            gender_total[l->male[k]]++;
        }
        int g = dg_age_group_of(DG_AGES_EDA, l->age[k]);
        (*cell(ag, d, g))++;
        group_total[g]++;
    }
    for (int h = 0; h < 24; h++)
        for (int s = 0; s < 2; s++)
            *cell(hg, h, s) = gender_total[s] > 0 ? 100.0 * *cell(hg, h, s) / gender_total[s] : 0;
    for (int d = 0; d < 7; d++)
        for (int g = 0; g < DG_AGE_GROUPS4; g++)
            *cell(ag, d, g) = group_total[g] > 0 ? 100.0 * *cell(ag, d, g) / group_total[g] : 0;
}

typedef struct ranked {
    uint32_t id;
    double count;
} ranked;

static int by_count_desc(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id); /* ties: first seen first */
}

/* Each labelled device's brand (a string id of the phone table), or
 * UINT32_MAX without a phone row. */
static uint32_t *device_brands(const dg_table *ph, const labels *l)
{
    uint32_t *brand = dg_xmalloc(((size_t)l->n + 1) * sizeof *brand);
    for (uint32_t i = 0; i < l->n; i++)
        brand[i] = UINT32_MAX;
    const int64_t *pid = dg_col_i64(dg_table_column(ph, "device_id"));
    const uint32_t *pb = dg_col_u32(dg_table_column(ph, "phone_brand"));
    for (uint64_t i = 0; i < ph->nrows; i++) {
        uint32_t k = dg_i64map_get(&l->index, pid[i]);
        if (k != UINT32_MAX && brand[k] == UINT32_MAX)
            brand[k] = pb[i];
    }
    return brand;
}

static void charts_brands(dg_eda *e, const dg_dataset *ds, const labels *l)
{
    const dg_table *ph = dg_dataset_table(ds, DG_T_PHONES);
    uint32_t *brand = device_brands(ph, l);
    uint32_t nb = ph->strings.n;
    ranked *rank = dg_xmalloc(((size_t)nb + 1) * sizeof *rank);
    double *male = dg_xcalloc((size_t)nb + 1, sizeof *male), *female = dg_xcalloc((size_t)nb + 1, sizeof *female);
    for (uint32_t b = 0; b < nb; b++)
        rank[b] = (ranked){b, 0};
    for (uint32_t i = 0; i < l->n; i++) {
        if (brand[i] == UINT32_MAX || l->male[i] < 0)
            continue;
        rank[brand[i]].count++;
        (l->male[i] ? male : female)[brand[i]]++;
    }
    qsort(rank, nb, sizeof *rank, by_count_desc);
    int top = nb < 10 ? (int)nb : 10;
    while (top > 0 && rank[top - 1].count == 0)
        top--;
    dg_eda_table *t = add_table(e, 8, "08-brands-gender", "Top 10 phone brands by gender", "brand",
                                "devices", top, 2);
    t->series_names[0] = xprintf("female");
    t->series_names[1] = xprintf("male");
    t->counts[0] = t->counts[1] = 1;
    for (int r = 0; r < top; r++) {
        t->row_names[r] = xprintf("%s", dg_strpool_get(&ph->strings, rank[r].id));
        *cell(t, r, 0) = female[rank[r].id];
        *cell(t, r, 1) = male[rank[r].id];
    }
    /* Chart 10: the top brands within each age group. */
    for (int g = 0; g < DG_AGE_GROUPS4; g++) {
        double total = 0;
        for (uint32_t b = 0; b < nb; b++)
            rank[b] = (ranked){b, 0};
        for (uint32_t i = 0; i < l->n; i++)
            if (brand[i] != UINT32_MAX && dg_age_group_of(DG_AGES_EDA, l->age[i]) == g) {
                rank[brand[i]].count++;
                total++;
            }
        qsort(rank, nb, sizeof *rank, by_count_desc);
        top = nb < 10 ? (int)nb : 10;
        while (top > 0 && rank[top - 1].count == 0)
            top--;
        char slug[48], title[160];
        snprintf(slug, sizeof slug, "10-brands-age-%s", dg_age_group_name(DG_AGES_EDA, g));
        snprintf(title, sizeof title, "Top 10 phone brands, age group %s", dg_age_group_name(DG_AGES_EDA, g));
        dg_eda_table *a = add_table(e, 10, slug, title, "brand", "devices / %", top, 2);
        a->series_names[0] = xprintf("devices");
        a->series_names[1] = xprintf("%% of the group");
        a->counts[0] = 1;
        for (int r = 0; r < top; r++) {
            a->row_names[r] = xprintf("%s", dg_strpool_get(&ph->strings, rank[r].id));
            *cell(a, r, 0) = rank[r].count;
            *cell(a, r, 1) = total > 0 ? 100.0 * rank[r].count / total : 0;
        }
    }
    free(rank);
    free(male);
    free(female);
    free(brand);
}

/* The first label category of an app, for a readable row name. */
static const char *app_category(const dg_dataset *ds, int64_t app)
{
    const dg_table *al = dg_dataset_table(ds, DG_T_APP_LABELS);
    const dg_table *lc = dg_dataset_table(ds, DG_T_LABEL_CATEGORIES);
    if (!al || !lc)
        return NULL;
    const int64_t *aid = dg_col_i64(dg_table_column(al, "app_id"));
    const int32_t *lab = dg_col_i32(dg_table_column(al, "label_id"));
    const int32_t *cid = dg_col_i32(dg_table_column(lc, "label_id"));
    const uint32_t *cat = dg_col_u32(dg_table_column(lc, "category"));
    for (uint64_t i = 0; i < al->nrows; i++)
        if (aid[i] == app)
            for (uint64_t j = 0; j < lc->nrows; j++)
                if (cid[j] == lab[i])
                    return dg_strpool_get(&lc->strings, cat[j]);
    return NULL;
}

static void chart_apps(dg_eda *e, const dg_dataset *ds, const labels *l)
{
    const dg_table *ev = dg_dataset_table(ds, DG_T_EVENTS);
    const dg_table *ae = dg_dataset_table(ds, DG_T_APP_EVENTS);
    const int32_t *eid = dg_col_i32(dg_table_column(ev, "event_id"));
    const int64_t *dev = dg_col_i64(dg_table_column(ev, "device_id"));
    /* Event id -> the labelled device's gender (event ids are dense). */
    int32_t max_id = 0;
    for (uint64_t i = 0; i < ev->nrows; i++)
        max_id = eid[i] > max_id ? eid[i] : max_id;
    int8_t *gender_of_event = dg_xmalloc((size_t)max_id + 1);
    memset(gender_of_event, -1, (size_t)max_id + 1);
    for (uint64_t i = 0; i < ev->nrows; i++) {
        uint32_t k = dg_i64map_get(&l->index, dev[i]);
        if (eid[i] >= 0 && k != UINT32_MAX)
            gender_of_event[eid[i]] = l->male[k];
    }
    const dg_column *app = dg_table_column(ae, "app_id");
    const int32_t *aeid = dg_col_i32(dg_table_column(ae, "event_id"));
    const uint32_t *code = dg_col_u32(app);
    uint32_t na = app->dict.n;
    ranked *rank = dg_xmalloc(((size_t)na + 1) * sizeof *rank);
    double *male = dg_xcalloc((size_t)na + 1, sizeof *male);
    for (uint32_t a = 0; a < na; a++)
        rank[a] = (ranked){a, 0};
    for (uint64_t i = 0; i < ae->nrows; i++) {
        int32_t id = aeid[i];
        if (id < 0 || id > max_id || gender_of_event[id] < 0)
            continue;
        rank[code[i]].count++;
        male[code[i]] += gender_of_event[id];
    }
    qsort(rank, na, sizeof *rank, by_count_desc);
    int top = na < 10 ? (int)na : 10;
    while (top > 0 && rank[top - 1].count == 0)
        top--;
    /* An app counts once per event that lists it (installed or active). */
    dg_eda_table *t = add_table(e, 9, "09-apps-gender",
                                "Top 10 apps by events of labelled devices, % male and female",
                                "app", "events / %", top, 3);
    t->series_names[0] = xprintf("events");
    t->series_names[1] = xprintf("%% male");
    t->counts[0] = 1;
    t->series_names[2] = xprintf("%% female");
    for (int r = 0; r < top; r++) {
        int64_t id = app->dict.keys[rank[r].id];
        const char *cat = app_category(ds, id);
        char n[32];
        dg_format_count((unsigned long long)rank[r].count, n, sizeof n);
        t->row_names[r] = cat ? xprintf("%lld (%s), %s events", (long long)id,
                                        *cat ? cat : "unnamed", n)
                              : xprintf("%lld, %s events", (long long)id, n);
        *cell(t, r, 0) = rank[r].count;
        *cell(t, r, 1) = 100.0 * male[rank[r].id] / rank[r].count;
        *cell(t, r, 2) = 100.0 - *cell(t, r, 1);
    }
    free(rank);
    free(male);
    free(gender_of_event);
}

int dg_eda_compute(const dg_dataset *ds, dg_eda *out, char *missing, size_t missing_cap,
                   dg_err *err)
{
    memset(out, 0, sizeof *out);
    if (missing && missing_cap)
        missing[0] = '\0';
    const dg_table *lt = dg_dataset_table(ds, DG_T_LABELS);
    if (!lt)
        return dg_fail(err, "the exploratory charts need the labelled devices (%s or %s)",
                       dg_tables[DG_T_LABELS].files[0], dg_tables[DG_T_LABELS].files[1]);
    labels l;
    labels_build(lt, &l);
    chart_age_gender(out, &l);
    chart_age_box(out, &l);
    size_t o = 0;
#define SAY_MISSING(...)                                                                  \
    do {                                                                                  \
        if (missing && o < missing_cap)                                                   \
            o += (size_t)snprintf(missing + o, missing_cap - o, __VA_ARGS__);             \
    } while (0)
    if (ds->present[DG_T_EVENTS]) {
        chart_with_events(out, ds, &l);
        charts_events(out, ds, &l);
    } else {
        SAY_MISSING("charts 3-7 need events; ");
    }
    if (ds->present[DG_T_PHONES])
        charts_brands(out, ds, &l);
    else
        SAY_MISSING("charts 8 and 10 need phones; ");
    if (ds->present[DG_T_EVENTS] && ds->present[DG_T_APP_EVENTS])
        chart_apps(out, ds, &l);
    else
        SAY_MISSING("chart 9 needs events and app_events; ");
#undef SAY_MISSING
    labels_free(&l);
    /* In the brief's order (chart 9 is computed after chart 10's tables). */
    for (int i = 1; i < out->ntables; i++)
        for (int j = i; j > 0 && out->chart_of[j - 1] > out->chart_of[j]; j--) {
            dg_eda_table t = out->tables[j];
            out->tables[j] = out->tables[j - 1];
            out->tables[j - 1] = t;
            int c = out->chart_of[j];
            out->chart_of[j] = out->chart_of[j - 1];
            out->chart_of[j - 1] = c;
            char slug[sizeof out->slug[0]];
            memcpy(slug, out->slug[j], sizeof slug);
            memcpy(out->slug[j], out->slug[j - 1], sizeof slug);
            memcpy(out->slug[j - 1], slug, sizeof slug);
        }
    return DG_OK;
}

void dg_eda_file_name(const dg_eda *e, int i, const char *ext, char out[DG_EDA_FILE_NAME_MAX])
{
    snprintf(out, DG_EDA_FILE_NAME_MAX, "eda-%.*s.%.3s", DG_EDA_FILE_NAME_MAX - 9, e->slug[i], ext);
}

int dg_eda_series_is_count(const dg_eda_table *t, int s)
{
    if (!t->counts || !t->counts[s])
        return 0;
    for (int r = 0; r < t->nrows; r++) {
        double v = dg_eda_value(t, r, s);
        if (v != floor(v) || fabs(v) >= 9e15)
            return 0;
    }
    return 1;
}

int dg_eda_table_write_csv(const dg_eda_table *t, const char *path, dg_err *err)
{
    dg_textbuf o = {0};
    dg_textbuf_csv_field(&o, t->row_label, strlen(t->row_label));
    for (int s = 0; s < t->nseries; s++) {
        dg_textbuf_putc(&o, ',');
        dg_textbuf_csv_field(&o, t->series_names[s], strlen(t->series_names[s]));
    }
    dg_textbuf_putc(&o, '\n');
    for (int r = 0; r < t->nrows; r++) {
        dg_textbuf_csv_field(&o, t->row_names[r], strlen(t->row_names[r]));
        /* Shares keep ten digits: a reader summing them gets 100. */
        for (int s = 0; s < t->nseries; s++)
            dg_textbuf_printf(&o, ",%.10g", dg_eda_value(t, r, s));
        dg_textbuf_putc(&o, '\n');
    }
    int rc = dg_textbuf_save(&o, path, err);
    dg_textbuf_free(&o);
    return rc;
}
