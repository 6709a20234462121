#include "demographer/clean.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *keyword;
    const char *help;
} kinds[DG_RULE_NKINDS] = {
    [DG_RULE_ZERO_COORDS] = {"zero-coords",
                             "events with a coordinate exactly 0 have no location"},
    [DG_RULE_UNIT_BOX_COORDS] = {"unit-box-coords",
                                 "events with both coordinates within [-1, 1] (the (1,1) "
                                 "placeholder) have no location"},
    [DG_RULE_IMPUTE_MEDIAN] = {"impute-median",
                               "a missing location takes the median of the device's valid "
                               "ones; devices with none stay missing and are counted"},
    [DG_RULE_DEDUPE_PHONES] = {"dedupe-phones",
                               "one phone row per device (the first); conflicting duplicates "
                               "are counted"},
    [DG_RULE_LABELS_WITHOUT_PHONE] = {"labels-without-phone",
                                      "labelled, test and mapped devices with no phone row "
                                      "are dropped"},
    [DG_RULE_UNKNOWN_DEVICE_EVENTS] = {"unknown-device-events",
                                       "events of devices with no phone row are dropped"},
    [DG_RULE_TIME_WINDOW] = {"time-window",
                             "events outside [from, to) are dropped"},
    [DG_RULE_EMPTY_CATEGORIES] = {"empty-categories",
                                  "label categories with an empty name are given one"},
    [DG_RULE_BAD_COORDS] = {"bad-coords",
                            "events with a latitude outside [-90, 90] or a longitude outside "
                            "[-180, 180] have no location; counted"},
    [DG_RULE_BAD_AGES] = {"bad-ages",
                          "labelled and mapped devices with an age outside [1, 120] are "
                          "dropped; counted"},
};

/* The data's week: the real events run from 2016-04-30 23:52 to 2016-05-08
 * 00:01; the window keeps those whole days. */
#define DEFAULT_FROM 1461974400LL /* 2016-04-30 00:00:00 */
#define DEFAULT_TO 1462752000LL   /* 2016-05-09 00:00:00 */
#define DEFAULT_CATEGORY "unknown"

const char *dg_rule_keyword(dg_rule_kind k)
{
    return kinds[k].keyword;
}

const char *dg_rule_help(dg_rule_kind k)
{
    return kinds[k].help;
}

void dg_rules_init(dg_rules *r)
{
    memset(r, 0, sizeof *r);
}

void dg_rules_free(dg_rules *r)
{
    free(r->v);
    memset(r, 0, sizeof *r);
}

void dg_rules_add(dg_rules *r, const dg_rule *rule)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->v = dg_xrealloc(r->v, (size_t)r->cap * sizeof *r->v);
    }
    r->v[r->n++] = *rule;
}

static dg_rule make_rule(dg_rule_kind k)
{
    dg_rule rule = {.kind = k, .enabled = 1, .from = DEFAULT_FROM, .to = DEFAULT_TO};
    snprintf(rule.name, sizeof rule.name, "%s", DEFAULT_CATEGORY);
    return rule;
}

void dg_rules_default(dg_rules *r)
{
    /* Phones first (the other rules look devices up in them), then what is
     * dropped, then locations: marking before imputing. */
    static const dg_rule_kind order[] = {
        DG_RULE_DEDUPE_PHONES,   DG_RULE_BAD_AGES,        DG_RULE_LABELS_WITHOUT_PHONE,
        DG_RULE_UNKNOWN_DEVICE_EVENTS, DG_RULE_TIME_WINDOW, DG_RULE_BAD_COORDS,
        DG_RULE_ZERO_COORDS,     DG_RULE_UNIT_BOX_COORDS, DG_RULE_IMPUTE_MEDIAN,
        DG_RULE_EMPTY_CATEGORIES,
    };
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        dg_rule rule = make_rule(order[i]);
        dg_rules_add(r, &rule);
    }
}

/* ---- rule files ------------------------------------------------------------ */

/* Splits a line into words at blanks; returns how many (at most max). */
static int split_words(char *line, char **words, int max)
{
    int n = 0;
    for (char *p = line; *p;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            break;
        if (n == max)
            return max + 1;
        words[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

/* strict: a parameter given twice is an error (a rule file), else the later
 * wins (the workbench's rule-set appends the new words to the old ones). */
static int parse_rules(dg_rules *r, const char *text, const char *origin, int strict,
                       dg_err *err)
{
    dg_rules parsed;
    dg_rules_init(&parsed);
    int lineno = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        char line[512];
        if (len >= sizeof line) {
            dg_rules_free(&parsed);
            return dg_fail(err, "%s:%d: line longer than %zu bytes", origin, lineno,
                           sizeof line - 1);
        }
        memcpy(line, p, len);
        line[len] = '\0';
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        p = nl ? nl + 1 : p + len;
        char *w[8];
        int n = split_words(line, w, 6);
        if (n == 0)
            continue;
        int k = 0, enabled = 1;
        if (strcmp(w[0], "off") == 0) {
            enabled = 0;
            k = 1;
        }
        int kind = -1;
        for (int i = 0; k < n && i < DG_RULE_NKINDS; i++)
            if (strcmp(w[k], kinds[i].keyword) == 0)
                kind = i;
        if (kind < 0) {
            char known[512];
            size_t o = 0;
            for (int i = 0; i < DG_RULE_NKINDS; i++)
                o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", i ? ", " : "",
                                      kinds[i].keyword);
            dg_rules_free(&parsed);
            return dg_fail(err, "%s:%d: expected a rule (%s), found '%s'", origin, lineno, known,
                           k < n ? w[k] : "off alone");
        }
        if (parsed.n == DG_RULES_MAX) {
            dg_rules_free(&parsed);
            return dg_fail(err, "%s:%d: more than %d rules (each one is a pass over the data)",
                           origin, lineno, DG_RULES_MAX);
        }
        dg_rule rule = make_rule((dg_rule_kind)kind);
        rule.enabled = enabled;
        unsigned given = 0; /* from, to, name: each at most once */
        for (int i = k + 1; i < n; i++) {
            char *eq = strchr(w[i], '=');
            const char *key = w[i], *val = eq ? eq + 1 : NULL;
            if (eq)
                *eq = '\0';
            unsigned bit = !strcmp(key, "from") ? 1u : !strcmp(key, "to") ? 2u
                           : !strcmp(key, "name") ? 4u : 0u;
            if (strict && bit && (given & bit)) {
                dg_rules_free(&parsed);
                return dg_fail(err, "%s:%d: rule %s: %s given twice", origin, lineno,
                               kinds[kind].keyword, key);
            }
            given |= bit;
            int ok = 0;
            if (val && kind == DG_RULE_TIME_WINDOW && (!strcmp(key, "from") || !strcmp(key, "to"))) {
                int64_t t;
                if (dg_parse_time(val, strlen(val), &t) != 0) {
                    dg_rules_free(&parsed);
                    return dg_fail(err, "%s:%d: %s: expected a time YYYY-MM-DDTHH:MM:SS, found '%s'",
                                   origin, lineno, key, val);
                }
                *(!strcmp(key, "from") ? &rule.from : &rule.to) = t;
                ok = 1;
            } else if (val && kind == DG_RULE_EMPTY_CATEGORIES && !strcmp(key, "name") && *val &&
                       strlen(val) < sizeof rule.name) {
                snprintf(rule.name, sizeof rule.name, "%s", val);
                ok = 1;
            }
            if (!ok) {
                dg_rules_free(&parsed);
                return dg_fail(err, "%s:%d: rule %s takes %s, found '%s%s%s'", origin, lineno,
                               kinds[kind].keyword,
                               kind == DG_RULE_TIME_WINDOW ? "from=TIME and to=TIME"
                               : kind == DG_RULE_EMPTY_CATEGORIES ? "name=WORD (no blanks)"
                                                                  : "no arguments",
                               key, val ? "=" : "", val ? val : "");
            }
        }
        if (kind == DG_RULE_TIME_WINDOW && rule.from >= rule.to) {
            dg_rules_free(&parsed);
            return dg_fail(err, "%s:%d: time-window: from must come before to", origin, lineno);
        }
        dg_rules_add(&parsed, &rule);
    }
    dg_rules_free(r);
    *r = parsed;
    return DG_OK;
}

int dg_rules_parse(dg_rules *r, const char *text, const char *origin, dg_err *err)
{
    return parse_rules(r, text, origin, 0, err);
}

int dg_rules_load(dg_rules *r, const char *path, dg_err *err)
{
    FILE *f = dg_open_regular(path, 0, err);
    if (!f)
        return DG_ERR;
    size_t cap = 4096, len = 0;
    char *text = dg_xmalloc(cap);
    size_t got;
    while ((got = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            if (cap > (1u << 20)) {
                fclose(f);
                free(text);
                return dg_fail(err, "%s: a rule file larger than 1 MiB is not a rule file", path);
            }
            cap *= 2;
            text = dg_xrealloc(text, cap);
        }
    }
    fclose(f);
    text[len] = '\0';
    /* A NUL would end the text early and silently drop the rest. */
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1;
        const char *bol = text;
        for (const char *q = text; q < nul; q++)
            if (*q == '\n') {
                line++;
                bol = q + 1;
            }
        int col = (int)(nul - bol) + 1;
        free(text);
        return dg_fail(err, "%s:%d:%d: a NUL byte: not a rules file", path, line, col);
    }
    int rc = parse_rules(r, text, path, 1, err);
    free(text);
    return rc;
}

char *dg_rules_format(const dg_rules *r)
{
    size_t cap = 256 + (size_t)r->n * 160, o = 0;
    char *s = dg_xmalloc(cap);
    o += (size_t)snprintf(s + o, cap - o, "# demographer cleaning rules, applied in order\n");
    for (int i = 0; i < r->n; i++) {
        const dg_rule *rule = &r->v[i];
        o += (size_t)snprintf(s + o, cap - o, "%s%s", rule->enabled ? "" : "off ",
                              kinds[rule->kind].keyword);
        if (rule->kind == DG_RULE_TIME_WINDOW) {
            char a[20], b[20];
            dg_format_time(rule->from, a);
            dg_format_time(rule->to, b);
            a[10] = b[10] = 'T';
            o += (size_t)snprintf(s + o, cap - o, " from=%s to=%s", a, b);
        } else if (rule->kind == DG_RULE_EMPTY_CATEGORIES) {
            o += (size_t)snprintf(s + o, cap - o, " name=%s", rule->name);
        }
        o += (size_t)snprintf(s + o, cap - o, "\n");
    }
    return s;
}

int dg_rules_save(const dg_rules *r, const char *path, dg_err *err)
{
    char *text = dg_rules_format(r);
    int rc = dg_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

/* ---- applying them ---------------------------------------------------------- */

/* The devices that have a phone row. */
static void phone_devices(const dg_dataset *ds, dg_i64map *out)
{
    dg_i64map_init(out);
    const dg_table *ph = dg_dataset_table(ds, DG_T_PHONES);
    if (!ph)
        return;
    const dg_column *id = dg_table_column(ph, "device_id");
    for (uint64_t i = 0; i < ph->nrows; i++)
        dg_i64map_put(out, dg_col_i64(id)[i]);
}

/* Keeps the rows of t whose keep[i] is set, in order. */
static void keep_rows(dg_table *t, const uint8_t *keep)
{
    uint64_t o = 0;
    for (int c = 0; c < t->ncols; c++) {
        size_t w = dg_coltype_width(t->cols[c].type);
        char *d = t->cols[c].data;
        o = 0;
        for (uint64_t i = 0; i < t->nrows; i++)
            if (keep[i]) {
                if (o != i)
                    memcpy(d + o * w, d + i * w, w);
                o++;
            }
    }
    if (t->ncols == 0)
        return;
    dg_table_resize(t, o);
}

/* Counts distinct device ids among the rows of t marked in `mark`. */
static uint64_t devices_marked(const dg_table *t, const uint8_t *mark)
{
    const dg_column *id = dg_table_column(t, "device_id");
    if (!id)
        return 0;
    dg_i64map set;
    dg_i64map_init(&set);
    for (uint64_t i = 0; i < t->nrows; i++)
        if (mark[i])
            dg_i64map_put(&set, dg_col_i64(id)[i]);
    uint64_t n = set.n;
    dg_i64map_free(&set);
    return n;
}

/* Drops the rows of t for which drop[i] is set and fills the effect. */
static void drop_rows(dg_table *t, uint8_t *drop, dg_rule_effect *e)
{
    e->rows_before = t->nrows;
    e->devices = devices_marked(t, drop);
    uint64_t n = 0;
    for (uint64_t i = 0; i < t->nrows; i++) {
        n += drop[i];
        drop[i] = !drop[i];
    }
    e->rows_changed = n;
    if (n)
        keep_rows(t, drop);
    e->rows_after = t->nrows;
}

/* The events' location column, added (all observed, or missing where a
 * coordinate is not a number) the first time a rule needs it. */
static int8_t *location_column(dg_table *ev)
{
    dg_column *c = dg_table_column(ev, "location");
    if (c) {
        if (c->borrowed)
            dg_table_resize(ev, ev->nrows); /* own it before writing */
        return dg_col_i8(c);
    }
    c = dg_table_add_column(ev, "location", DG_COL_I8);
    c->data = dg_xmalloc(ev->nrows ? ev->nrows : 1);
    const float *lat = dg_col_f32(dg_table_column(ev, "latitude"));
    const float *lon = dg_col_f32(dg_table_column(ev, "longitude"));
    int8_t *loc = dg_col_i8(c);
    for (uint64_t i = 0; i < ev->nrows; i++)
        loc[i] = isnan(lat[i]) || isnan(lon[i]) ? DG_LOC_MISSING : DG_LOC_OBSERVED;
    return loc;
}

/* A coordinate test: nonzero when the pair is no location; its bits say why
 * (bit 0 and bit 1 are counted apart). */
typedef unsigned (*coord_test)(float lat, float lon);

static unsigned zero_coords(float lat, float lon)
{
    return lat == 0.0f || lon == 0.0f;
}

static unsigned unit_box_coords(float lat, float lon)
{
    return fabsf(lat) <= 1.0f && fabsf(lon) <= 1.0f;
}

/* Coordinates no place on Earth has: a broken fix, not a location. */
static unsigned out_of_range_coords(float lat, float lon)
{
    return (unsigned)(lat < -90.0f || lat > 90.0f) | (unsigned)(lon < -180.0f || lon > 180.0f) << 1;
}

/* The one way a rule takes locations away: every located event that `bad`
 * rejects gets NaN coordinates and DG_LOC_MISSING; the effect counts the
 * events and their devices, and why[b] the events whose verdict has bit b. */
static uint64_t forget_locations(dg_table *ev, coord_test bad, dg_rule_effect *e,
                                 uint64_t why[2])
{
    int8_t *loc = location_column(ev);
    float *lat = dg_col_f32(dg_table_column(ev, "latitude"));
    float *lon = dg_col_f32(dg_table_column(ev, "longitude"));
    uint8_t *mark = dg_xcalloc(ev->nrows + 1, 1);
    uint64_t n = 0;
    why[0] = why[1] = 0;
    for (uint64_t i = 0; i < ev->nrows; i++) {
        if (loc[i] == DG_LOC_MISSING)
            continue;
        unsigned v = bad(lat[i], lon[i]);
        if (v) {
            why[0] += v & 1;
            why[1] += v >> 1 & 1;
            lat[i] = lon[i] = NAN;
            loc[i] = DG_LOC_MISSING;
            mark[i] = 1;
            n++;
        }
    }
    e->rows_before = e->rows_after = ev->nrows;
    e->rows_changed = n;
    e->devices = devices_marked(ev, mark);
    free(mark);
    return n;
}

static double share_pct(uint64_t n, uint64_t of)
{
    return of ? 100.0 * (double)n / (double)of : 0.0;
}

static void mark_missing(dg_table *ev, int unit_box, dg_rule_effect *e)
{
    uint64_t why[2];
    uint64_t n = forget_locations(ev, unit_box ? unit_box_coords : zero_coords, e, why);
    snprintf(e->detail, sizeof e->detail, "%llu events (%.2f%%) marked as having no location",
             (unsigned long long)n, share_pct(n, ev->nrows));
}

static void mark_out_of_range(dg_table *ev, dg_rule_effect *e)
{
    uint64_t why[2];
    uint64_t n = forget_locations(ev, out_of_range_coords, e, why);
    snprintf(e->detail, sizeof e->detail,
             "%llu events (%.2f%%) of %llu devices marked as having no location: %llu with a "
             "latitude outside [-90, 90], %llu with a longitude outside [-180, 180]",
             (unsigned long long)n, share_pct(n, ev->nrows), (unsigned long long)e->devices,
             (unsigned long long)why[0], (unsigned long long)why[1]);
}

/* Ages no phone user has (-5, 300): the label is wrong, so the labelled
 * row goes, from the labels and from the mapping file. */
static void drop_bad_ages(dg_dataset *ds, dg_rule_effect *e)
{
    static const dg_table_id tables[] = {DG_T_LABELS, DG_T_SPLIT};
    uint64_t per[2] = {0, 0};
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    for (int k = 0; k < 2; k++) {
        if (!ds->present[tables[k]])
            continue;
        dg_table *t = &ds->tables[tables[k]];
        const dg_column *agec = dg_table_column(t, "age");
        if (!agec)
            continue;
        const int32_t *age = dg_col_i32(agec);
        uint8_t *drop = dg_xcalloc(t->nrows + 1, 1);
        for (uint64_t i = 0; i < t->nrows; i++) {
            drop[i] = age[i] < DG_AGE_MIN || age[i] > DG_AGE_MAX;
            if (drop[i]) {
                lo = age[i] < lo ? age[i] : lo;
                hi = age[i] > hi ? age[i] : hi;
            }
        }
        dg_rule_effect one = {0};
        drop_rows(t, drop, &one);
        free(drop);
        per[k] = one.rows_changed;
        if (k == 0 || !ds->present[DG_T_LABELS]) {
            e->rows_before = one.rows_before;
            e->rows_after = one.rows_after;
        }
        e->rows_changed += one.rows_changed;
        e->devices += one.devices;
    }
    if (per[0] + per[1] == 0)
        snprintf(e->detail, sizeof e->detail,
                 "no labelled device with an age outside [%d, %d]", DG_AGE_MIN, DG_AGE_MAX);
    else
        snprintf(e->detail, sizeof e->detail,
                 "devices with an age outside [%d, %d] dropped: %llu labelled, %llu in the "
                 "mapping file (ages from %d to %d among them)",
                 DG_AGE_MIN, DG_AGE_MAX, (unsigned long long)per[0], (unsigned long long)per[1],
                 (int)lo, (int)hi);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The median as pandas computes it: the mean of the two middle values when
 * their number is even. */
static float median(float *v, uint32_t n)
{
    qsort(v, n, sizeof *v, cmp_float);
    if (n % 2)
        return v[n / 2];
    return (float)(((double)v[n / 2 - 1] + (double)v[n / 2]) / 2.0);
}

static void impute_median(dg_table *ev, dg_rule_effect *e)
{
    int8_t *loc = location_column(ev);
    float *lat = dg_col_f32(dg_table_column(ev, "latitude"));
    float *lon = dg_col_f32(dg_table_column(ev, "longitude"));
    const int64_t *dev = dg_col_i64(dg_table_column(ev, "device_id"));
    /* Group the valid locations by device (counting sort on dense codes). */
    dg_i64map codes;
    dg_i64map_init(&codes);
    uint32_t *code = dg_xmalloc((ev->nrows + 1) * sizeof *code);
    for (uint64_t i = 0; i < ev->nrows; i++)
        code[i] = dg_i64map_put(&codes, dev[i]);
    uint32_t nd = codes.n;
    uint64_t *start = dg_xcalloc((size_t)nd + 1, sizeof *start);
    for (uint64_t i = 0; i < ev->nrows; i++)
        if (loc[i] == DG_LOC_OBSERVED)
            start[code[i] + 1]++;
    for (uint32_t d = 0; d < nd; d++)
        start[d + 1] += start[d];
    uint64_t nvalid = start[nd];
    float *vlat = dg_xmalloc((nvalid + 1) * sizeof *vlat), *vlon = dg_xmalloc((nvalid + 1) * sizeof *vlon);
    uint64_t *fill = dg_xmalloc(((size_t)nd + 1) * sizeof *fill);
    memcpy(fill, start, (size_t)nd * sizeof *fill);
    for (uint64_t i = 0; i < ev->nrows; i++)
        if (loc[i] == DG_LOC_OBSERVED) {
            vlat[fill[code[i]]] = lat[i];
            vlon[fill[code[i]]++] = lon[i];
        }
    float *mlat = dg_xmalloc(((size_t)nd + 1) * sizeof *mlat), *mlon = dg_xmalloc(((size_t)nd + 1) * sizeof *mlon);
    for (uint32_t d = 0; d < nd; d++) {
        uint32_t n = (uint32_t)(start[d + 1] - start[d]);
        mlat[d] = n ? median(vlat + start[d], n) : NAN;
        mlon[d] = n ? median(vlon + start[d], n) : NAN;
    }
    uint64_t imputed = 0, left = 0;
    uint8_t *mark = dg_xcalloc(ev->nrows + 1, 1);
    uint8_t *unplaced = dg_xcalloc((size_t)nd + 1, 1);
    for (uint64_t i = 0; i < ev->nrows; i++) {
        if (loc[i] != DG_LOC_MISSING)
            continue;
        uint32_t d = code[i];
        if (isnan(mlat[d])) {
            left++;
            unplaced[d] = 1;
            continue;
        }
        lat[i] = mlat[d];
        lon[i] = mlon[d];
        loc[i] = DG_LOC_IMPUTED;
        mark[i] = 1;
        imputed++;
    }
    uint64_t devices_without = 0;
    for (uint32_t d = 0; d < nd; d++)
        devices_without += unplaced[d];
    e->rows_before = e->rows_after = ev->nrows;
    e->rows_changed = imputed;
    e->devices = devices_marked(ev, mark);
    snprintf(e->detail, sizeof e->detail,
             "%llu events given their device's median location; %llu events of %llu devices "
             "with no valid location stay missing (those devices are flagged)",
             (unsigned long long)imputed, (unsigned long long)left,
             (unsigned long long)devices_without);
    free(unplaced);
    free(mark);
    free(mlat);
    free(mlon);
    free(fill);
    free(vlat);
    free(vlon);
    free(start);
    free(code);
    dg_i64map_free(&codes);
}

static void dedupe_phones(dg_table *ph, dg_rule_effect *e)
{
    const int64_t *id = dg_col_i64(dg_table_column(ph, "device_id"));
    const uint32_t *brand = dg_col_u32(dg_table_column(ph, "phone_brand"));
    const uint32_t *model = dg_col_u32(dg_table_column(ph, "device_model"));
    dg_i64map seen;
    dg_i64map_init(&seen);
    uint64_t *first = dg_xmalloc((ph->nrows + 1) * sizeof *first);
    uint8_t *drop = dg_xcalloc(ph->nrows + 1, 1);
    uint64_t conflicts = 0;
    for (uint64_t i = 0; i < ph->nrows; i++) {
        uint32_t n = seen.n, c = dg_i64map_put(&seen, id[i]);
        if (c == n) {
            first[c] = i;
            continue;
        }
        drop[i] = 1;
        uint64_t f = first[c];
        conflicts += brand[f] != brand[i] || model[f] != model[i];
    }
    drop_rows(ph, drop, e);
    snprintf(e->detail, sizeof e->detail,
             "%llu duplicate phone rows dropped (the first row of each device kept); %llu of "
             "them disagreed with the kept row on brand or model",
             (unsigned long long)e->rows_changed, (unsigned long long)conflicts);
    free(drop);
    free(first);
    dg_i64map_free(&seen);
}

static void drop_devices_without_phone(dg_dataset *ds, const dg_i64map *phones,
                                       dg_rule_effect *e)
{
    static const dg_table_id tables[] = {DG_T_LABELS, DG_T_TEST, DG_T_SPLIT};
    memset(e, 0, sizeof *e);
    e->table = "labels";
    uint64_t per[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (!ds->present[tables[k]])
            continue;
        dg_table *t = &ds->tables[tables[k]];
        const int64_t *id = dg_col_i64(dg_table_column(t, "device_id"));
        uint8_t *drop = dg_xcalloc(t->nrows + 1, 1);
        for (uint64_t i = 0; i < t->nrows; i++)
            drop[i] = dg_i64map_get(phones, id[i]) == UINT32_MAX;
        dg_rule_effect one = {0};
        drop_rows(t, drop, &one);
        free(drop);
        per[k] = one.rows_changed;
        if (tables[k] == DG_T_LABELS || (!ds->present[DG_T_LABELS] && k == 2)) {
            e->rows_before = one.rows_before;
            e->rows_after = one.rows_after;
        }
        e->rows_changed += one.rows_changed;
        e->devices += one.devices;
    }
    snprintf(e->detail, sizeof e->detail,
             "devices with no phone row dropped: %llu labelled, %llu test, %llu in the mapping "
             "file",
             (unsigned long long)per[0], (unsigned long long)per[1], (unsigned long long)per[2]);
}

int dg_clean(dg_dataset *ds, const dg_rules *rules, dg_rule_effect *effects,
             const dg_progress *progress, dg_err *err)
{
    for (int i = 0; i < rules->n; i++) {
        const dg_rule *rule = &rules->v[i];
        dg_rule_effect *e = &effects[i];
        memset(e, 0, sizeof *e);
        if (dg_progress_report(progress, kinds[rule->kind].keyword, i, rules->n, "rules"))
            return dg_fail(err, "cleaning cancelled at rule %d (%s); the tables are as the rules "
                           "before it left them", i + 1, kinds[rule->kind].keyword);
        static const dg_table_id table_of[DG_RULE_NKINDS] = {
            [DG_RULE_ZERO_COORDS] = DG_T_EVENTS,         [DG_RULE_UNIT_BOX_COORDS] = DG_T_EVENTS,
            [DG_RULE_IMPUTE_MEDIAN] = DG_T_EVENTS,       [DG_RULE_DEDUPE_PHONES] = DG_T_PHONES,
            [DG_RULE_LABELS_WITHOUT_PHONE] = DG_T_LABELS, [DG_RULE_UNKNOWN_DEVICE_EVENTS] = DG_T_EVENTS,
            [DG_RULE_TIME_WINDOW] = DG_T_EVENTS,          [DG_RULE_EMPTY_CATEGORIES] = DG_T_LABEL_CATEGORIES,
            [DG_RULE_BAD_COORDS] = DG_T_EVENTS,           [DG_RULE_BAD_AGES] = DG_T_LABELS,
        };
        dg_table_id tid = table_of[rule->kind];
        e->table = dg_tables[tid].name;
        if (!rule->enabled) {
            snprintf(e->detail, sizeof e->detail, "off");
            continue;
        }
        int needs_phones = rule->kind == DG_RULE_LABELS_WITHOUT_PHONE ||
                           rule->kind == DG_RULE_UNKNOWN_DEVICE_EVENTS;
        if (!ds->present[tid] || (needs_phones && !ds->present[DG_T_PHONES])) {
            snprintf(e->detail, sizeof e->detail, "not applied: no %s table",
                     ds->present[tid] ? "phones" : dg_tables[tid].name);
            continue;
        }
        dg_table *t = &ds->tables[tid];
        switch (rule->kind) {
        case DG_RULE_ZERO_COORDS:
        case DG_RULE_UNIT_BOX_COORDS:
            mark_missing(t, rule->kind == DG_RULE_UNIT_BOX_COORDS, e);
            break;
        case DG_RULE_BAD_COORDS:
            mark_out_of_range(t, e);
            break;
        case DG_RULE_BAD_AGES:
            drop_bad_ages(ds, e);
            e->table = "labels";
            break;
        case DG_RULE_IMPUTE_MEDIAN:
            impute_median(t, e);
            break;
        case DG_RULE_DEDUPE_PHONES:
            dedupe_phones(t, e);
            break;
        case DG_RULE_LABELS_WITHOUT_PHONE: {
            dg_i64map phones;
            phone_devices(ds, &phones);
            drop_devices_without_phone(ds, &phones, e);
            dg_i64map_free(&phones);
            break;
        }
        case DG_RULE_UNKNOWN_DEVICE_EVENTS: {
            dg_i64map phones;
            phone_devices(ds, &phones);
            const int64_t *id = dg_col_i64(dg_table_column(t, "device_id"));
            uint8_t *drop = dg_xcalloc(t->nrows + 1, 1);
            for (uint64_t r = 0; r < t->nrows; r++)
                drop[r] = dg_i64map_get(&phones, id[r]) == UINT32_MAX;
            drop_rows(t, drop, e);
            free(drop);
            dg_i64map_free(&phones);
            snprintf(e->detail, sizeof e->detail,
                     "%llu events of %llu devices with no phone row dropped",
                     (unsigned long long)e->rows_changed, (unsigned long long)e->devices);
            break;
        }
        case DG_RULE_TIME_WINDOW: {
            const int64_t *ts = dg_col_i64(dg_table_column(t, "timestamp"));
            uint8_t *drop = dg_xcalloc(t->nrows + 1, 1);
            for (uint64_t r = 0; r < t->nrows; r++)
                drop[r] = ts[r] < rule->from || ts[r] >= rule->to;
            drop_rows(t, drop, e);
            free(drop);
            char a[20], b[20];
            dg_format_time(rule->from, a);
            dg_format_time(rule->to, b);
            snprintf(e->detail, sizeof e->detail, "%llu events outside [%s, %s) dropped",
                     (unsigned long long)e->rows_changed, a, b);
            break;
        }
        case DG_RULE_EMPTY_CATEGORIES: {
            dg_column *cat = dg_table_column(t, "category");
            if (cat->borrowed)
                dg_table_resize(t, t->nrows);
            uint32_t *v = dg_col_u32(cat);
            uint32_t named = dg_strpool_intern(&t->strings, rule->name, strlen(rule->name));
            for (uint64_t r = 0; r < t->nrows; r++)
                if (dg_strpool_len(&t->strings, v[r]) == 0) {
                    v[r] = named;
                    e->rows_changed++;
                }
            e->rows_before = e->rows_after = t->nrows;
            snprintf(e->detail, sizeof e->detail, "%llu empty category names set to '%s'",
                     (unsigned long long)e->rows_changed, rule->name);
            break;
        }
        default:
            break;
        }
    }
    dg_progress_report(progress, "clean", rules->n, rules->n, "rules");
    return DG_OK;
}
