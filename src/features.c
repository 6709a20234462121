#include "demographer/features.h"
#include "features_internal.h"

#include "demographer/clean.h"
#include "demographer/eda.h"
#include "demographer/textbuf.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- super-categories ---------------------------------------------------- */

void dg_supercats_free(dg_supercats *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->names[i]);
        for (char **k = s->keywords[i]; k && *k; k++)
            free(*k);
        free(s->keywords[i]);
    }
    free(s->names);
    free(s->keywords);
    memset(s, 0, sizeof *s);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

static void supercats_add(dg_supercats *s, const char *name)
{
    s->names = dg_xrealloc(s->names, ((size_t)s->n + 1) * sizeof *s->names);
    s->keywords = dg_xrealloc(s->keywords, ((size_t)s->n + 1) * sizeof *s->keywords);
    s->names[s->n] = dg_xstrdup(name);
    s->keywords[s->n] = dg_xcalloc(1, sizeof(char *));
    s->n++;
}

int dg_supercats_parse(dg_supercats *s, const char *text, const char *origin, dg_err *err)
{
    dg_supercats out;
    memset(&out, 0, sizeof out);
    char *copy = dg_xstrdup(text), *save = NULL;
    int lineno = 0;
    for (char *p = copy, *line; p; p = save) {
        char *nl = strchr(p, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        line = p;
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        line = trim(line);
        if (!*line)
            continue;
        char *colon = strchr(line, ':');
        if (!colon || colon == line) {
            dg_fail(err, "%s:%d: expected 'name: keyword, keyword, ...', found '%.60s'", origin,
                    lineno, line);
            goto fail;
        }
        *colon = '\0';
        char *name = trim(line);
        if (strcmp(name, "other") == 0) {
            dg_fail(err, "%s:%d: 'other' is where unmatched categories go; it takes no keywords",
                    origin, lineno);
            goto fail;
        }
        supercats_add(&out, name);
        int nk = 0;
        for (char *k = strtok(colon + 1, ","); k; k = strtok(NULL, ",")) {
            k = trim(k);
            if (!*k)
                continue;
            for (char *c = k; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            char ***kw = &out.keywords[out.n - 1];
            *kw = dg_xrealloc(*kw, ((size_t)nk + 2) * sizeof **kw);
            (*kw)[nk++] = dg_xstrdup(k);
            (*kw)[nk] = NULL;
        }
        if (nk == 0) {
            dg_fail(err, "%s:%d: super-category '%s' has no keywords", origin, lineno, name);
            goto fail;
        }
    }
    free(copy);
    supercats_add(&out, "other");
    dg_supercats_free(s);
    *s = out;
    return DG_OK;
fail:
    free(copy);
    dg_supercats_free(&out);
    return DG_ERR;
}

int dg_supercats_load(dg_supercats *s, const char *path, dg_err *err)
{
    FILE *f = dg_open_regular(path, 0, err);
    if (!f)
        return DG_ERR;
    char *text = dg_xmalloc(1 << 20);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    int big = !feof(f);
    fclose(f);
    text[n] = '\0';
    int rc = big ? dg_fail(err, "%s: larger than 1 MiB", path) : dg_supercats_parse(s, text, path, err);
    free(text);
    return rc;
}

/* Does `kw` (lower case) occur in `s` at the start of a word? */
static int word_prefix(const char *s, const char *kw)
{
    size_t n = strlen(kw);
    for (const char *p = s; *p; p++) {
        if (p != s && isalnum((unsigned char)p[-1]))
            continue;
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == kw[i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

int dg_supercat_of(const dg_supercats *s, const char *category)
{
    for (int i = 0; i < s->n - 1; i++)
        for (char **k = s->keywords[i]; *k; k++)
            if (word_prefix(category, *k))
                return i;
    return s->n - 1;
}

/* ---- dense columns -------------------------------------------------------- */

/* Short names for the shared layout (features_internal.h). */
#define NPARTS DG_NPARTS
#define PART_NIGHT DG_PART_NIGHT
#define PART_AFTERNOON DG_PART_AFTERNOON
#define C_EVENTS DG_FC_EVENTS
#define C_ACTIVE_DAYS DG_FC_ACTIVE_DAYS
#define C_EVENTS_PER_DAY DG_FC_EVENTS_PER_DAY
#define C_HOUR0 DG_FC_HOUR0
#define C_WEEKDAY0 DG_FC_WEEKDAY0
#define C_LAT DG_FC_LAT
#define C_LON DG_FC_LON
#define C_PART_LAT DG_FC_PART_LAT
#define C_KM_NIGHT_AFTERNOON DG_FC_KM_NIGHT_AFTERNOON
#define C_KM_MAX_PARTS DG_FC_KM_MAX_PARTS
#define C_KM_SPREAD DG_FC_KM_SPREAD
#define C_LOCATIONS DG_FC_LOCATIONS
#define C_LOCATED_SHARE DG_FC_LOCATED_SHARE
#define C_APPS DG_FC_APPS
#define C_APPS_ACTIVE DG_FC_APPS_ACTIVE
#define C_APP_EVENTS DG_FC_APP_EVENTS
#define C_FIXED DG_FC_FIXED

static const char *const part_names[NPARTS] = {"night", "morning", "afternoon", "evening"};

static char **column_names(const dg_supercats *sc, int *ncols)
{
    int n = C_FIXED + (sc ? sc->n : 0);
    char **names = dg_xcalloc((size_t)n, sizeof *names);
    char buf[64];
    static const char *fixed[] = {"events", "active_days", "events_per_day"};
    for (int i = 0; i < 3; i++)
        names[i] = dg_xstrdup(fixed[i]);
    for (int h = 0; h < 24; h++) {
        snprintf(buf, sizeof buf, "hour_%02d", h);
        names[C_HOUR0 + h] = dg_xstrdup(buf);
    }
    for (int d = 0; d < 7; d++) {
        snprintf(buf, sizeof buf, "weekday_%s", dg_weekday_names[d]);
        names[C_WEEKDAY0 + d] = dg_xstrdup(buf);
    }
    names[C_LAT] = dg_xstrdup("lat_median");
    names[C_LON] = dg_xstrdup("lon_median");
    for (int p = 0; p < NPARTS; p++) {
        snprintf(buf, sizeof buf, "lat_%s", part_names[p]);
        names[C_PART_LAT + 2 * p] = dg_xstrdup(buf);
        snprintf(buf, sizeof buf, "lon_%s", part_names[p]);
        names[C_PART_LAT + 2 * p + 1] = dg_xstrdup(buf);
    }
    static const char *rest[] = {"km_night_afternoon", "km_max_between_parts", "km_spread",
                                 "locations", "located_share", "apps", "apps_active",
                                 "app_events"};
    for (int i = 0; i < C_FIXED - C_KM_NIGHT_AFTERNOON; i++)
        names[C_KM_NIGHT_AFTERNOON + i] = dg_xstrdup(rest[i]);
    for (int i = 0; sc && i < sc->n; i++) {
        snprintf(buf, sizeof buf, "super_%s", sc->names[i]);
        names[C_FIXED + i] = dg_xstrdup(buf);
    }
    *ncols = n;
    return names;
}

static double haversine_km(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0088, rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * r * asin(sqrt(a < 1 ? a : 1));
}

static int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Median as pandas computes it (mean of the middle two for an even count);
 * sorts v. */
static float median_of(float *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_f);
    return n % 2 ? v[n / 2] : (float)(((double)v[n / 2 - 1] + (double)v[n / 2]) / 2);
}

/* Groups rows by a dense key (counting sort): order lists the rows of key k
 * at order[start[k]..start[k+1]), in their original order. */
static void group_rows(const uint32_t *key, uint64_t nrows, uint32_t nkeys, uint64_t **start_out,
                       uint64_t **order_out)
{
    uint64_t *start = dg_xcalloc((size_t)nkeys + 2, sizeof *start);
    for (uint64_t i = 0; i < nrows; i++)
        if (key[i] != UINT32_MAX)
            start[key[i] + 1]++;
    for (uint32_t k = 0; k < nkeys; k++)
        start[k + 1] += start[k];
    uint64_t *fill = dg_xmalloc(((size_t)nkeys + 1) * sizeof *fill);
    memcpy(fill, start, (size_t)nkeys * sizeof *fill);
    uint64_t *order = dg_xmalloc((start[nkeys] + 1) * sizeof *order);
    for (uint64_t i = 0; i < nrows; i++)
        if (key[i] != UINT32_MAX)
            order[fill[key[i]]++] = i;
    free(fill);
    *start_out = start;
    *order_out = order;
}

void dg_features_places(float *row, float *plat[NPARTS + 1], float *plon[NPARTS + 1],
                        const size_t np[NPARTS + 1], uint64_t *packed, float *scratch)
{
    size_t located = np[NPARTS];
    double clat = NAN, clon = NAN;
    if (located) {
        memcpy(scratch, plat[NPARTS], np[NPARTS] * sizeof *scratch);
        double mlat = median_of(scratch, np[NPARTS]);
        memcpy(scratch, plon[NPARTS], np[NPARTS] * sizeof *scratch);
        double mlon = median_of(scratch, np[NPARTS]);
        clat = mlat;
        clon = mlon;
        /* The spread over the points in their sorted order (not the rows'):
         * the same sum, bit for bit, whichever order the rows came in. */
        qsort(packed, located, sizeof *packed, cmp_u64);
        double spread = 0;
        size_t distinct = 1;
        for (size_t k = 0; k < located; k++) {
            uint32_t a = (uint32_t)(packed[k] >> 32), b = (uint32_t)packed[k];
            float la, lo;
            memcpy(&la, &a, 4);
            memcpy(&lo, &b, 4);
            spread += haversine_km(la, lo, mlat, mlon);
            distinct += k > 0 && packed[k] != packed[k - 1];
        }
        row[C_KM_SPREAD] = (float)(spread / (double)np[NPARTS]);
        row[C_LOCATIONS] = (float)distinct;
    }
    row[C_LAT] = (float)clat;
    row[C_LON] = (float)clon;
    double maxkm = NAN;
    for (int p = 0; p < NPARTS; p++) {
        row[C_PART_LAT + 2 * p] = median_of(plat[p], np[p]);
        row[C_PART_LAT + 2 * p + 1] = median_of(plon[p], np[p]);
    }
    for (int p = 0; p < NPARTS; p++)
        for (int q = p + 1; q < NPARTS; q++) {
            if (!np[p] || !np[q])
                continue;
            double km = haversine_km(row[C_PART_LAT + 2 * p], row[C_PART_LAT + 2 * p + 1],
                                     row[C_PART_LAT + 2 * q], row[C_PART_LAT + 2 * q + 1]);
            if (isnan(maxkm) || km > maxkm)
                maxkm = km;
            if (p == PART_NIGHT && q == PART_AFTERNOON)
                row[C_KM_NIGHT_AFTERNOON] = (float)km;
        }
    row[C_KM_MAX_PARTS] = (float)maxkm;
}

static void event_features(const dg_dataset *ds, const dg_i64map *devs, dg_features *f)
{
    const dg_table *ev = dg_dataset_table(ds, DG_T_EVENTS);
    const int64_t *dev = dg_col_i64(dg_table_column(ev, "device_id"));
    const int64_t *ts = dg_col_i64(dg_table_column(ev, "timestamp"));
    const float *lat = dg_col_f32(dg_table_column(ev, "latitude"));
    const float *lon = dg_col_f32(dg_table_column(ev, "longitude"));
    const dg_column *locc = dg_table_column(ev, "location");
    const int8_t *loc = locc ? dg_col_i8(locc) : NULL;
    uint32_t *key = dg_xmalloc((ev->nrows + 1) * sizeof *key);
    for (uint64_t i = 0; i < ev->nrows; i++)
        key[i] = dg_i64map_get(devs, dev[i]);
    uint64_t *start, *order;
    group_rows(key, ev->nrows, f->ndevices, &start, &order);
    uint64_t most = 0;
    for (uint32_t d = 0; d < f->ndevices; d++)
        most = start[d + 1] - start[d] > most ? start[d + 1] - start[d] : most;
    float *plat[NPARTS + 1], *plon[NPARTS + 1];
    for (int p = 0; p <= NPARTS; p++) {
        plat[p] = dg_xmalloc((most + 1) * sizeof(float));
        plon[p] = dg_xmalloc((most + 1) * sizeof(float));
    }
    uint64_t *packed = dg_xmalloc((most + 1) * sizeof *packed);
    float *scratch = dg_xmalloc((most + 1) * sizeof *scratch);
    int64_t *day_scratch = dg_xmalloc((most + 1) * sizeof *day_scratch);
    for (uint32_t d = 0; d < f->ndevices; d++) {
        float *row = f->dense + (size_t)d * f->ncols;
        uint64_t n = start[d + 1] - start[d];
        if (n == 0)
            continue;
        size_t np[NPARTS + 1] = {0};
        /* Distinct days: a bit per day when they span fewer than 64 (the
         * data spans nine), else the sorted days counted. */
        uint64_t days = 0;
        int64_t first_day = INT64_MAX, last_day = INT64_MIN;
        for (uint64_t k = start[d]; k < start[d + 1]; k++) {
            int64_t day = ts[order[k]] / 86400;
            first_day = day < first_day ? day : first_day;
            last_day = day > last_day ? day : last_day;
        }
        uint64_t ndays = 0;
        if (last_day - first_day < 64) {
            for (uint64_t k = start[d]; k < start[d + 1]; k++)
                days |= 1ull << (ts[order[k]] / 86400 - first_day);
            ndays = (uint64_t)__builtin_popcountll(days);
        } else {
            for (uint64_t k = start[d]; k < start[d + 1]; k++)
                day_scratch[k - start[d]] = ts[order[k]] / 86400;
            qsort(day_scratch, n, sizeof *day_scratch, dg_cmp_i64);
            for (uint64_t k = 0; k < n; k++)
                ndays += k == 0 || day_scratch[k] != day_scratch[k - 1];
        }
        size_t located = 0; /* = np[NPARTS] */
        for (uint64_t k = start[d]; k < start[d + 1]; k++) {
            uint64_t i = order[k];
            int h = dg_hour(ts[i]);
            row[C_HOUR0 + h]++;
            row[C_WEEKDAY0 + dg_weekday(ts[i])]++;
            int observed = loc ? loc[i] == DG_LOC_OBSERVED : !isnan(lat[i]) && !isnan(lon[i]);
            if (!observed)
                continue;
            int p = h / 6;
            plat[p][np[p]] = lat[i];
            plon[p][np[p]++] = lon[i];
            plat[NPARTS][np[NPARTS]] = lat[i];
            plon[NPARTS][np[NPARTS]++] = lon[i];
            uint32_t a, b;
            memcpy(&a, &lat[i], 4);
            memcpy(&b, &lon[i], 4);
            packed[located++] = (uint64_t)a << 32 | b;
        }
        row[C_EVENTS] = (float)n;
        row[C_ACTIVE_DAYS] = (float)ndays;
        row[C_EVENTS_PER_DAY] = (float)n / row[C_ACTIVE_DAYS];
        for (int h = 0; h < 24; h++)
            row[C_HOUR0 + h] /= (float)n;
        for (int w = 0; w < 7; w++)
            row[C_WEEKDAY0 + w] /= (float)n;
        row[C_LOCATED_SHARE] = (float)located / (float)n;
        dg_features_places(row, plat, plon, np, packed, scratch);
    }
    for (int p = 0; p <= NPARTS; p++) {
        free(plat[p]);
        free(plon[p]);
    }
    free(packed);
    free(scratch);
    free(day_scratch);
    free(start);
    free(order);
    free(key);
}

/* ---- bags ------------------------------------------------------------------ */

/* Counts per column in a scratch array, remembering which were touched, and
 * appends them to a CSR row in column order. */
typedef struct bag {
    float *count;
    uint32_t *touched;
    uint32_t ntouched;
} bag;

static void csr_append_row(dg_csr *m, bag *b, uint64_t *cap)
{
    qsort(b->touched, b->ntouched, sizeof *b->touched, cmp_u32);
    if (m->nnz + b->ntouched > *cap) {
        *cap = (m->nnz + b->ntouched) * 2 + 1024;
        m->idx = dg_xrealloc(m->idx, *cap * sizeof *m->idx);
        m->val = dg_xrealloc(m->val, *cap * sizeof *m->val);
    }
    for (uint32_t k = 0; k < b->ntouched; k++) {
        uint32_t c = b->touched[k];
        m->idx[m->nnz] = c;
        m->val[m->nnz++] = b->count[c];
        b->count[c] = 0;
    }
    b->ntouched = 0;
}

static void bag_add(bag *b, uint32_t c, float v)
{
    if (b->count[c] == 0)
        b->touched[b->ntouched++] = c;
    b->count[c] += v;
}

void dg_csr_start(dg_csr *m, uint32_t nrows, uint32_t ncols)
{
    free(m->ptr);
    free(m->idx);
    free(m->val);
    memset(m, 0, sizeof *m);
    m->nrows = nrows;
    m->ncols = ncols;
    m->ptr = dg_xcalloc((size_t)nrows + 1, sizeof *m->ptr);
}

void dg_app_labels_build(const dg_dataset *ds, const dg_supercats *sc, const dg_i64map *appmap,
                         dg_features *f, dg_app_labels *out)
{
    uint32_t napps = appmap->n;
    const dg_table *al = dg_dataset_table(ds, DG_T_APP_LABELS);
    const dg_table *lc = dg_dataset_table(ds, DG_T_LABEL_CATEGORIES);
    dg_i64map labels;
    dg_i64map_init(&labels);
    if (lc) {
        const int32_t *lid = dg_col_i32(dg_table_column(lc, "label_id"));
        for (uint64_t i = 0; i < lc->nrows; i++)
            dg_i64map_put(&labels, lid[i]);
    }
    out->lstart = dg_xcalloc((size_t)napps + 2, sizeof *out->lstart);
    out->lidx = dg_xmalloc(((al ? al->nrows : 0) + 1) * sizeof *out->lidx);
    if (al) {
        const int64_t *aid = dg_col_i64(dg_table_column(al, "app_id"));
        const int32_t *lab = dg_col_i32(dg_table_column(al, "label_id"));
        uint32_t *code = dg_xmalloc((al->nrows + 1) * sizeof *code);
        for (uint64_t i = 0; i < al->nrows; i++) {
            code[i] = dg_i64map_get(appmap, aid[i]);
            dg_i64map_put(&labels, lab[i]);
        }
        uint64_t *ord;
        free(out->lstart);
        group_rows(code, al->nrows, napps, &out->lstart, &ord);
        for (uint64_t k = 0; k < out->lstart[napps]; k++)
            out->lidx[k] = dg_i64map_get(&labels, lab[ord[k]]);
        free(ord);
        free(code);
    }
    uint32_t nlabels = out->nlabels = labels.n;
    f->label_vocab = dg_xmalloc(((size_t)nlabels + 1) * sizeof *f->label_vocab);
    for (uint32_t i = 0; i < nlabels; i++)
        f->label_vocab[i] = (int32_t)labels.keys[i];
    out->super = dg_xmalloc(((size_t)nlabels + 1) * sizeof *out->super);
    for (uint32_t i = 0; i < nlabels; i++)
        out->super[i] = sc ? sc->n - 1 : -1;
    if (sc && lc) {
        const int32_t *lid = dg_col_i32(dg_table_column(lc, "label_id"));
        const uint32_t *cat = dg_col_u32(dg_table_column(lc, "category"));
        for (uint64_t i = 0; i < lc->nrows; i++)
            out->super[dg_i64map_get(&labels, lid[i])] =
                dg_supercat_of(sc, dg_strpool_get(&lc->strings, cat[i]));
    }
    dg_i64map_free(&labels);
    dg_csr_start(&f->apps_installed, f->ndevices, napps);
    dg_csr_start(&f->apps_active, f->ndevices, napps);
    dg_csr_start(&f->labels, f->ndevices, nlabels);
}

void dg_app_labels_free(dg_app_labels *l)
{
    free(l->lstart);
    free(l->lidx);
    free(l->super);
    memset(l, 0, sizeof *l);
}

static void csr_free(dg_csr *m)
{
    free(m->ptr);
    free(m->idx);
    free(m->val);
    memset(m, 0, sizeof *m);
}

static void app_features(const dg_dataset *ds, const dg_i64map *devs, const dg_supercats *sc,
                         dg_features *f)
{
    const dg_table *ev = dg_dataset_table(ds, DG_T_EVENTS);
    const dg_table *ae = dg_dataset_table(ds, DG_T_APP_EVENTS);
    const int32_t *eid = dg_col_i32(dg_table_column(ev, "event_id"));
    const int64_t *dev = dg_col_i64(dg_table_column(ev, "device_id"));
    int32_t max_id = 0;
    for (uint64_t i = 0; i < ev->nrows; i++)
        max_id = eid[i] > max_id ? eid[i] : max_id;
    uint32_t *dev_of_event = dg_xmalloc(((size_t)max_id + 1) * sizeof *dev_of_event);
    memset(dev_of_event, 0xFF, ((size_t)max_id + 1) * sizeof *dev_of_event);
    for (uint64_t i = 0; i < ev->nrows; i++)
        if (eid[i] >= 0)
            dev_of_event[eid[i]] = dg_i64map_get(devs, dev[i]);
    const dg_column *appc = dg_table_column(ae, "app_id");
    const uint32_t *app = dg_col_u32(appc);
    const int32_t *aeid = dg_col_i32(dg_table_column(ae, "event_id"));
    const int8_t *active = dg_col_i8(dg_table_column(ae, "is_active"));
    uint32_t napps = appc->dict.n;
    f->app_vocab = dg_xmalloc(((size_t)napps + 1) * sizeof *f->app_vocab);
    if (napps) /* an event without apps (one device served alone): no dictionary */
        memcpy(f->app_vocab, appc->dict.keys, (size_t)napps * sizeof *f->app_vocab);
    /* A device's app rows. The files list an event's apps on consecutive
     * rows: then each event id's [first, end) row range, reached through the
     * device's events, is enough (no 33 M-entry index, reads in order).
     * Otherwise the rows are grouped by device one by one. */
    uint32_t *first = dg_xmalloc(((size_t)max_id + 1) * sizeof *first);
    uint32_t *end = dg_xmalloc(((size_t)max_id + 1) * sizeof *end);
    memset(first, 0xFF, ((size_t)max_id + 1) * sizeof *first);
    int contiguous = ae->nrows < UINT32_MAX;
    int32_t prev = -1;
    for (uint64_t i = 0; i < ae->nrows && contiguous; i++) {
        int32_t id = aeid[i];
        if (id < 0 || id > max_id)
            continue;
        if (id != prev) {
            if (first[id] != UINT32_MAX)
                contiguous = 0; /* this event's rows came earlier too */
            first[id] = (uint32_t)i;
            prev = id;
        }
        end[id] = (uint32_t)i + 1;
    }
    uint64_t *start = NULL, *order = NULL, *ev_start = NULL, *ev_order = NULL;
    uint32_t *visited = NULL;
    if (contiguous) {
        uint32_t *ev_key = dg_xmalloc((ev->nrows + 1) * sizeof *ev_key);
        for (uint64_t i = 0; i < ev->nrows; i++)
            ev_key[i] = dg_i64map_get(devs, dev[i]);
        group_rows(ev_key, ev->nrows, f->ndevices, &ev_start, &ev_order);
        free(ev_key);
        visited = dg_xcalloc((size_t)max_id + 1, sizeof *visited);
    } else {
        uint32_t *key = dg_xmalloc((ae->nrows + 1) * sizeof *key);
        for (uint64_t i = 0; i < ae->nrows; i++)
            key[i] = aeid[i] >= 0 && aeid[i] <= max_id ? dev_of_event[aeid[i]] : UINT32_MAX;
        group_rows(key, ae->nrows, f->ndevices, &start, &order);
        free(key);
    }

    /* Labels of each app (apps by their code in app_events). */
    dg_app_labels lab;
    dg_app_labels_build(ds, sc, &appc->dict, f, &lab);
    uint32_t nlabels = lab.nlabels;
    const uint64_t *lstart = lab.lstart;
    const uint32_t *lidx = lab.lidx;
    const int *super = lab.super;

    uint64_t cap_i = 0, cap_a = 0, cap_l = 0;
    bag bi = {dg_xcalloc((size_t)napps + 1, sizeof(float)), dg_xmalloc(((size_t)napps + 1) * 4), 0};
    bag ba = {dg_xcalloc((size_t)napps + 1, sizeof(float)), dg_xmalloc(((size_t)napps + 1) * 4), 0};
    bag bl = {dg_xcalloc((size_t)nlabels + 1, sizeof(float)),
              dg_xmalloc(((size_t)nlabels + 1) * 4), 0};
    for (uint32_t d = 0; d < f->ndevices; d++) {
        float *row = f->dense + (size_t)d * f->ncols;
        uint64_t rows = 0;
        if (contiguous) {
            for (uint64_t k = ev_start[d]; k < ev_start[d + 1]; k++) {
                int32_t id = eid[ev_order[k]];
                /* An event id belongs to the device that has it last (as in
                 * the other path), and counts once. */
                if (id < 0 || dev_of_event[id] != d || visited[id] == d + 1 ||
                    first[id] == UINT32_MAX)
                    continue;
                visited[id] = d + 1;
                for (uint64_t i = first[id]; i < end[id]; i++) {
                    bag_add(&bi, app[i], 1);
                    if (active[i])
                        bag_add(&ba, app[i], 1);
                }
                rows += end[id] - first[id];
            }
        } else {
            for (uint64_t k = start[d]; k < start[d + 1]; k++) {
                uint64_t i = order[k];
                bag_add(&bi, app[i], 1);
                if (active[i])
                    bag_add(&ba, app[i], 1);
            }
            rows = start[d + 1] - start[d];
        }
        row[C_APP_EVENTS] = (float)rows;
        row[C_APPS] = (float)bi.ntouched;
        row[C_APPS_ACTIVE] = (float)ba.ntouched;
        for (uint32_t k = 0; k < bi.ntouched; k++) {
            uint32_t a = bi.touched[k];
            for (uint64_t j = lstart[a]; j < lstart[a + 1]; j++)
                bag_add(&bl, lidx[j], 1);
        }
        for (uint32_t k = 0; sc && k < bl.ntouched; k++)
            row[C_FIXED + super[bl.touched[k]]] += bl.count[bl.touched[k]];
        csr_append_row(&f->apps_installed, &bi, &cap_i);
        csr_append_row(&f->apps_active, &ba, &cap_a);
        csr_append_row(&f->labels, &bl, &cap_l);
        f->apps_installed.ptr[d + 1] = f->apps_installed.nnz;
        f->apps_active.ptr[d + 1] = f->apps_active.nnz;
        f->labels.ptr[d + 1] = f->labels.nnz;
    }
    free(bi.count);
    free(bi.touched);
    free(ba.count);
    free(ba.touched);
    free(bl.count);
    free(bl.touched);
    dg_app_labels_free(&lab);
    free(start);
    free(order);
    free(ev_start);
    free(ev_order);
    free(visited);
    free(first);
    free(end);
    free(dev_of_event);
}

int dg_features_col(const dg_features *f, const char *name)
{
    for (int c = 0; c < f->ncols; c++)
        if (strcmp(f->col_names[c], name) == 0)
            return c;
    return -1;
}

int dg_features_build(const dg_dataset *ds, const dg_supercats *sc, dg_features *f,
                      const dg_progress *progress, dg_err *err)
{
    memset(f, 0, sizeof *f);
    const dg_table *ph = dg_dataset_table(ds, DG_T_PHONES);
    const dg_table *lb = dg_dataset_table(ds, DG_T_LABELS);
    if (!ph && !lb)
        return dg_fail(err, "features need the phones or the labelled devices");
    /* The devices: every phone row's device, then labelled and test devices
     * without one. */
    dg_i64map devs;
    dg_i64map_init(&devs);
    size_t cap = (ph ? ph->nrows : 0) + (lb ? lb->nrows : 0) + 1;
    const dg_table *te = dg_dataset_table(ds, DG_T_TEST);
    cap += te ? te->nrows : 0;
    f->brand = dg_xmalloc(cap * sizeof *f->brand);
    f->model = dg_xmalloc(cap * sizeof *f->model);
    if (ph) {
        const int64_t *id = dg_col_i64(dg_table_column(ph, "device_id"));
        const uint32_t *b = dg_col_u32(dg_table_column(ph, "phone_brand"));
        const uint32_t *m = dg_col_u32(dg_table_column(ph, "device_model"));
        for (uint64_t i = 0; i < ph->nrows; i++) {
            uint32_t before = devs.n;
            if (dg_i64map_put(&devs, id[i]) != before)
                continue;
            f->brand[before] = dg_strpool_get(&ph->strings, b[i]);
            f->model[before] = dg_strpool_get(&ph->strings, m[i]);
        }
    }
    const dg_table *others[2] = {lb, te};
    for (int k = 0; k < 2; k++) {
        if (!others[k])
            continue;
        const int64_t *id = dg_col_i64(dg_table_column(others[k], "device_id"));
        for (uint64_t i = 0; i < others[k]->nrows; i++) {
            uint32_t before = devs.n;
            if (dg_i64map_put(&devs, id[i]) == before)
                f->brand[before] = f->model[before] = "";
        }
    }
    f->ndevices = devs.n;
    f->device_id = dg_xmalloc(((size_t)devs.n + 1) * sizeof *f->device_id);
    memcpy(f->device_id, devs.keys, (size_t)devs.n * sizeof *f->device_id);
    f->col_names = column_names(sc, &f->ncols);
    size_t cells = (size_t)f->ndevices * (size_t)f->ncols;
    f->dense = dg_xmalloc((cells + 1) * sizeof *f->dense);
    for (uint32_t d = 0; d < f->ndevices; d++) {
        float *row = f->dense + (size_t)d * f->ncols;
        for (int c = 0; c < f->ncols; c++)
            row[c] = 0;
        /* Places are undefined, not zero, for a device without them. */
        for (int c = C_LAT; c <= C_KM_SPREAD; c++)
            row[c] = NAN;
    }
    int rc = DG_OK;
    if (dg_progress_report(progress, "features: events", 0, 2, "stages"))
        rc = dg_cancel(err, "cancelled");
    if (rc == DG_OK && ds->present[DG_T_EVENTS])
        event_features(ds, &devs, f);
    if (rc == DG_OK && dg_progress_report(progress, "features: apps", 1, 2, "stages"))
        rc = dg_cancel(err, "cancelled");
    if (rc == DG_OK && ds->present[DG_T_EVENTS] && ds->present[DG_T_APP_EVENTS])
        app_features(ds, &devs, sc, f);
    else {
        dg_csr_start(&f->apps_installed, f->ndevices, 0);
        dg_csr_start(&f->apps_active, f->ndevices, 0);
        dg_csr_start(&f->labels, f->ndevices, 0);
    }
    dg_i64map_free(&devs);
    if (rc != DG_OK) {
        dg_features_free(f);
        return rc;
    }
    dg_progress_report(progress, "features", 2, 2, "stages");
    return DG_OK;
}

void dg_features_free(dg_features *f)
{
    for (int c = 0; c < f->ncols; c++)
        free(f->col_names[c]);
    free(f->col_names);
    free(f->dense);
    free(f->device_id);
    free(f->brand);
    free(f->model);
    csr_free(&f->apps_installed);
    csr_free(&f->apps_active);
    csr_free(&f->labels);
    free(f->app_vocab);
    free(f->label_vocab);
    memset(f, 0, sizeof *f);
}

static void *copy_of(const void *p, size_t n)
{
    void *q = dg_xmalloc(n + 1);
    if (n)
        memcpy(q, p, n);
    return q;
}

static void csr_copy(const dg_csr *a, dg_csr *b)
{
    *b = *a;
    b->ptr = copy_of(a->ptr, ((size_t)a->nrows + 1) * sizeof *a->ptr);
    b->idx = copy_of(a->idx, a->nnz * sizeof *a->idx);
    b->val = copy_of(a->val, a->nnz * sizeof *a->val);
}

void dg_features_copy(const dg_features *f, dg_features *out)
{
    size_t nd = f->ndevices;
    *out = *f;
    out->device_id = copy_of(f->device_id, nd * sizeof *f->device_id);
    out->brand = copy_of(f->brand, nd * sizeof *f->brand);
    out->model = copy_of(f->model, nd * sizeof *f->model);
    out->col_names = dg_xmalloc(((size_t)f->ncols + 1) * sizeof *out->col_names);
    for (int c = 0; c < f->ncols; c++)
        out->col_names[c] = dg_xstrdup(f->col_names[c]);
    out->dense = copy_of(f->dense, nd * (size_t)f->ncols * sizeof *f->dense);
    csr_copy(&f->apps_installed, &out->apps_installed);
    csr_copy(&f->apps_active, &out->apps_active);
    csr_copy(&f->labels, &out->labels);
    out->app_vocab = copy_of(f->app_vocab, f->apps_installed.ncols * sizeof *f->app_vocab);
    out->label_vocab = copy_of(f->label_vocab, f->labels.ncols * sizeof *f->label_vocab);
}

/* ---- writing ------------------------------------------------------------- */

static int save_in(dg_textbuf *b, const char *dir, const char *name, dg_err *err)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = dg_xmalloc(n);
    snprintf(path, n, "%s/%s", dir, name);
    int rc = dg_textbuf_save(b, path, err);
    free(path);
    return rc;
}

static int write_bag(const dg_features *f, const dg_csr *m, const char *dir, const char *name,
                     const char *idname, int is_label, dg_textbuf *o, dg_err *err)
{
    dg_textbuf_printf(o, "device_id,%s,count\n", idname);
    for (uint32_t d = 0; d < m->nrows; d++)
        for (uint64_t k = m->ptr[d]; k < m->ptr[d + 1]; k++) {
            dg_textbuf_i64(o, f->device_id[d]);
            dg_textbuf_putc(o, ',');
            dg_textbuf_i64(o, is_label ? f->label_vocab[m->idx[k]] : f->app_vocab[m->idx[k]]);
            dg_textbuf_putc(o, ',');
            dg_textbuf_num(o, m->val[k]);
            dg_textbuf_putc(o, '\n');
        }
    return save_in(o, dir, name, err);
}

static int write_all(const dg_features *f, const char *dir, dg_textbuf *o, dg_err *err)
{
    dg_textbuf_puts(o, "device_id,phone_brand,device_model");
    for (int c = 0; c < f->ncols; c++) {
        dg_textbuf_putc(o, ',');
        dg_textbuf_puts(o, f->col_names[c]);
    }
    dg_textbuf_putc(o, '\n');
    for (uint32_t d = 0; d < f->ndevices; d++) {
        dg_textbuf_i64(o, f->device_id[d]);
        dg_textbuf_putc(o, ',');
        dg_textbuf_csv_field(o, f->brand[d], strlen(f->brand[d]));
        dg_textbuf_putc(o, ',');
        dg_textbuf_csv_field(o, f->model[d], strlen(f->model[d]));
        const float *row = f->dense + (size_t)d * f->ncols;
        for (int c = 0; c < f->ncols; c++) {
            dg_textbuf_putc(o, ',');
            dg_textbuf_num(o, row[c]);
        }
        dg_textbuf_putc(o, '\n');
    }
    if (save_in(o, dir, "features.csv", err) != DG_OK)
        return DG_ERR;
    /* The binary table: "DGFEAT01", u32 rows, u32 cols, the names each
     * NUL-terminated, then the device ids (int64) and the matrix (float,
     * row-major), native byte order. */
    uint32_t hdr[2] = {f->ndevices, (uint32_t)f->ncols};
    dg_textbuf_put(o, "DGFEAT01", 8);
    dg_textbuf_put(o, (const char *)hdr, sizeof hdr);
    for (int c = 0; c < f->ncols; c++)
        dg_textbuf_put(o, f->col_names[c], strlen(f->col_names[c]) + 1);
    dg_textbuf_put(o, (const char *)f->device_id, (size_t)f->ndevices * sizeof *f->device_id);
    dg_textbuf_put(o, (const char *)f->dense, (size_t)f->ndevices * f->ncols * sizeof *f->dense);
    if (save_in(o, dir, "features.bin", err) != DG_OK ||
        write_bag(f, &f->apps_installed, dir, "apps_installed.csv", "app_id", 0, o, err) ||
        write_bag(f, &f->apps_active, dir, "apps_active.csv", "app_id", 0, o, err) ||
        write_bag(f, &f->labels, dir, "labels.csv", "label_id", 1, o, err))
        return DG_ERR;
    dg_textbuf_puts(o, "index,app_id\n");
    for (uint32_t i = 0; i < f->apps_installed.ncols; i++)
        dg_textbuf_printf(o, "%u,%lld\n", i, (long long)f->app_vocab[i]);
    if (save_in(o, dir, "app_vocab.csv", err) != DG_OK)
        return DG_ERR;
    dg_textbuf_puts(o, "index,label_id\n");
    for (uint32_t i = 0; i < f->labels.ncols; i++)
        dg_textbuf_printf(o, "%u,%d\n", i, f->label_vocab[i]);
    return save_in(o, dir, "label_vocab.csv", err);
}

int dg_features_write(const dg_features *f, const char *dir, dg_err *err)
{
    if (dg_mkdirs(dir, err) != DG_OK)
        return DG_ERR;
    dg_textbuf o = {0};
    int rc = write_all(f, dir, &o, err);
    dg_textbuf_free(&o);
    return rc;
}
