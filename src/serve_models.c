/* The API's model-directory mode (serve.h): the kept test devices predicted
 * once at start behind a hash index, and any described device predicted on
 * request through the same cleaning, features and models. */
#include "demographer/campaign.h"
#include "demographer/clean.h"
#include "demographer/i64map.h"
#include "demographer/serve.h"
#include "demographer/train.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The rows of a table grouped by the value of an id column: the rows of the
 * id with code c (codes from ids) are row[start[c]..start[c+1]). */
typedef struct row_index {
    dg_i64map ids;
    uint64_t *start;
    uint64_t *row;
} row_index;

static int64_t id_at(const dg_column *c, uint64_t i)
{
    return c->type == DG_COL_I32 ? dg_col_i32(c)[i] : dg_col_id(c, i);
}

static void row_index_build(row_index *x, const dg_table *t, const char *col)
{
    const dg_column *c = dg_table_column(t, col);
    dg_i64map_init(&x->ids);
    uint32_t *code = dg_xmalloc((t->nrows + 1) * sizeof *code);
    for (uint64_t i = 0; i < t->nrows; i++)
        code[i] = dg_i64map_put(&x->ids, id_at(c, i));
    x->start = dg_xcalloc((size_t)x->ids.n + 2, sizeof *x->start);
    for (uint64_t i = 0; i < t->nrows; i++)
        x->start[code[i] + 1]++;
    for (uint32_t k = 0; k < x->ids.n; k++)
        x->start[k + 1] += x->start[k];
    uint64_t *fill = dg_xmalloc(((size_t)x->ids.n + 1) * sizeof *fill);
    memcpy(fill, x->start, (size_t)x->ids.n * sizeof *fill);
    x->row = dg_xmalloc((t->nrows + 1) * sizeof *x->row);
    for (uint64_t i = 0; i < t->nrows; i++) /* ascending rows within an id */
        x->row[fill[code[i]]++] = i;
    free(fill);
    free(code);
}

static void row_index_free(row_index *x)
{
    if (!x->start)
        return;
    dg_i64map_free(&x->ids);
    free(x->start);
    free(x->row);
}

struct dg_models_predictor {
    dg_model_dir dir;
    pthread_mutex_t model_lock; /* around the model families' predict calls */
    /* The kept test devices. */
    dg_prediction *test;
    size_t ntest;
    dg_i64map index; /* device id -> test row; read-only once built */
    /* The data set's app labels and label categories (copied), each
     * indexed by its id column, so that a described device gets the rows
     * of its apps and their labels alone. */
    dg_table app_labels, label_categories;
    int have_app_labels, have_label_categories;
    row_index by_app, by_label;
    dg_shape shape;
    dg_rules clean_rules;
    int clean;
    const dg_supercats *supercats;
    int cluster_cols;          /* the layout has the cluster columns */
    /* Campaigns. */
    dg_campaign_rules rules;
    dg_deciles deciles;
    char deciles_origin[1200];
    char version[160];
};

static int models_lookup(void *ctx, int64_t id, dg_prediction *out, dg_err *err)
{
    (void)err;
    const dg_models_predictor *m = ctx;
    uint32_t row = dg_i64map_get(&m->index, id);
    if (row == UINT32_MAX)
        return 1;
    *out = m->test[row];
    return 0;
}

/* ---- a described device as a one-device data set ---- */

static dg_column *add_col(dg_table *t, const char *name, dg_coltype type)
{
    return dg_table_add_column(t, name, type);
}

/* The phones, events and app_events tables of the device, as a load of its
 * CSV rows would give them (a missing location is NaN, which cleaning and
 * the features both take as no location). */
static void device_tables(dg_dataset *ds, const dg_device_input *in, int64_t device_id)
{
    dg_table *ph = &ds->tables[DG_T_PHONES];
    dg_table_init(ph, dg_tables[DG_T_PHONES].name);
    dg_column *pid = add_col(ph, "device_id", DG_COL_I64);
    dg_column *pbrand = add_col(ph, "phone_brand", DG_COL_STR);
    dg_column *pmodel = add_col(ph, "device_model", DG_COL_STR);
    dg_table_resize(ph, 1);
    ph->nrows = 1;
    dg_col_i64(pid)[0] = device_id;
    dg_col_u32(pbrand)[0] = dg_strpool_intern(&ph->strings, in->brand, strlen(in->brand));
    dg_col_u32(pmodel)[0] = dg_strpool_intern(&ph->strings, in->model, strlen(in->model));
    ds->present[DG_T_PHONES] = 1;

    dg_table *ev = &ds->tables[DG_T_EVENTS];
    dg_table_init(ev, dg_tables[DG_T_EVENTS].name);
    dg_column *eid = add_col(ev, "event_id", DG_COL_I32);
    dg_column *edev = add_col(ev, "device_id", DG_COL_I64);
    dg_column *ets = add_col(ev, "timestamp", DG_COL_TIME);
    dg_column *elon = add_col(ev, "longitude", DG_COL_F32);
    dg_column *elat = add_col(ev, "latitude", DG_COL_F32);
    dg_table_resize(ev, in->nevents);
    ev->nrows = in->nevents;
    size_t napps = 0;
    for (size_t i = 0; i < in->nevents; i++) {
        const dg_event_input *e = &in->events[i];
        dg_col_i32(eid)[i] = (int32_t)(i + 1);
        dg_col_i64(edev)[i] = device_id;
        dg_col_i64(ets)[i] = e->timestamp;
        dg_col_f32(elon)[i] = e->has_location ? (float)e->lon : NAN;
        dg_col_f32(elat)[i] = e->has_location ? (float)e->lat : NAN;
        napps += e->napps;
    }
    ds->present[DG_T_EVENTS] = 1;

    dg_table *ae = &ds->tables[DG_T_APP_EVENTS];
    dg_table_init(ae, dg_tables[DG_T_APP_EVENTS].name);
    dg_column *aeid = add_col(ae, "event_id", DG_COL_I32);
    dg_column *aapp = add_col(ae, "app_id", DG_COL_KEY);
    dg_column *ainst = add_col(ae, "is_installed", DG_COL_I8);
    dg_column *aact = add_col(ae, "is_active", DG_COL_I8);
    dg_table_resize(ae, napps);
    ae->nrows = napps;
    size_t r = 0;
    for (size_t i = 0; i < in->nevents; i++)
        for (size_t k = 0; k < in->events[i].napps; k++, r++) {
            const dg_app_use *a = &in->events[i].apps[k];
            dg_col_i32(aeid)[r] = (int32_t)(i + 1);
            dg_col_u32(aapp)[r] = dg_i64map_put(&aapp->dict, a->app_id);
            dg_col_i8(ainst)[r] = (int8_t)(a->installed != 0);
            dg_col_i8(aact)[r] = (int8_t)(a->active != 0);
        }
    ds->present[DG_T_APP_EVENTS] = 1;
}

/* The data set's app_labels rows of the device's apps, and the
 * label_categories rows of their labels, in the data set's column types: the
 * features of one device read nothing else of those tables, and copying them
 * whole (hundreds of thousands of rows, each category matched against the
 * super-category keywords) for every request would cost far more. */
static void label_tables(const dg_models_predictor *m, dg_dataset *ds,
                         const dg_device_input *in)
{
    if (!m->have_app_labels && !m->have_label_categories)
        return;
    dg_i64map apps, labels;
    dg_i64map_init(&apps);
    dg_i64map_init(&labels);
    for (size_t i = 0; i < in->nevents; i++)
        for (size_t k = 0; k < in->events[i].napps; k++)
            dg_i64map_put(&apps, in->events[i].apps[k].app_id);
    if (m->have_app_labels) {
        const dg_table *src = &m->app_labels;
        const dg_column *sapp = dg_table_column(src, "app_id"),
                        *slab = dg_table_column(src, "label_id");
        uint64_t n = 0;
        for (uint32_t a = 0; a < apps.n; a++) {
            uint32_t c = dg_i64map_get(&m->by_app.ids, apps.keys[a]);
            if (c != UINT32_MAX)
                n += m->by_app.start[c + 1] - m->by_app.start[c];
        }
        dg_table *t = &ds->tables[DG_T_APP_LABELS];
        dg_table_init(t, src->name);
        dg_column *tapp = dg_table_add_column(t, "app_id", sapp->type);
        dg_column *tlab = dg_table_add_column(t, "label_id", slab->type);
        dg_table_resize(t, n);
        uint64_t r = 0;
        for (uint32_t a = 0; a < apps.n; a++) {
            uint32_t c = dg_i64map_get(&m->by_app.ids, apps.keys[a]);
            if (c == UINT32_MAX)
                continue;
            for (uint64_t k = m->by_app.start[c]; k < m->by_app.start[c + 1]; k++, r++) {
                uint64_t i = m->by_app.row[k];
                if (tapp->type == DG_COL_KEY)
                    dg_col_u32(tapp)[r] = dg_i64map_put(&tapp->dict, dg_col_id(sapp, i));
                else
                    dg_col_i64(tapp)[r] = dg_col_i64(sapp)[i];
                dg_col_i32(tlab)[r] = dg_col_i32(slab)[i];
                dg_i64map_put(&labels, dg_col_i32(slab)[i]);
            }
        }
        ds->present[DG_T_APP_LABELS] = 1;
    }
    if (m->have_label_categories) {
        const dg_table *src = &m->label_categories;
        const dg_column *slab = dg_table_column(src, "label_id"),
                        *scat = dg_table_column(src, "category");
        uint64_t n = 0;
        for (uint32_t l = 0; l < labels.n; l++) {
            uint32_t c = dg_i64map_get(&m->by_label.ids, labels.keys[l]);
            if (c != UINT32_MAX)
                n += m->by_label.start[c + 1] - m->by_label.start[c];
        }
        dg_table *t = &ds->tables[DG_T_LABEL_CATEGORIES];
        dg_table_init(t, src->name);
        dg_column *tlab = dg_table_add_column(t, "label_id", DG_COL_I32);
        dg_column *tcat = dg_table_add_column(t, "category", DG_COL_STR);
        dg_table_resize(t, n);
        uint64_t r = 0;
        for (uint32_t l = 0; l < labels.n; l++) {
            uint32_t c = dg_i64map_get(&m->by_label.ids, labels.keys[l]);
            if (c == UINT32_MAX)
                continue;
            for (uint64_t k = m->by_label.start[c]; k < m->by_label.start[c + 1]; k++, r++) {
                uint64_t i = m->by_label.row[k];
                uint32_t sid = dg_col_u32(scat)[i];
                dg_col_i32(tlab)[r] = dg_col_i32(slab)[i];
                dg_col_u32(tcat)[r] = dg_strpool_intern(&t->strings,
                                                        dg_strpool_get(&src->strings, sid),
                                                        dg_strpool_len(&src->strings, sid));
            }
        }
        ds->present[DG_T_LABEL_CATEGORIES] = 1;
    }
    dg_i64map_free(&apps);
    dg_i64map_free(&labels);
}

/* The features of a one-device data set, laid out as the models expect. */
static int device_features(const dg_models_predictor *m, dg_dataset *ds, dg_features *f,
                           dg_err *err)
{
    /* Clustering needs the whole data set: none here, the columns are added
     * below as unknown. */
    if (dg_features_for_models(ds, m->supercats, 0, 0, f, NULL, NULL, err) != DG_OK)
        return DG_ERR;
    if (!m->cluster_cols)
        return DG_OK;
    const dg_table *ev = &ds->tables[DG_T_EVENTS];
    int32_t *took_no_part = dg_xmalloc((ev->nrows + 1) * sizeof *took_no_part);
    for (uint64_t i = 0; i < ev->nrows; i++)
        took_no_part[i] = -2;
    int rc = dg_features_add_clusters(f, ds, took_no_part, err);
    free(took_no_part);
    if (rc != DG_OK)
        dg_features_free(f);
    return rc;
}

static int models_predict(void *ctx, const dg_device_input *in, dg_prediction *out, dg_err *err)
{
    dg_models_predictor *m = ctx;
    int64_t id = in->has_device_id ? in->device_id : 0;
    dg_dataset ds;
    dg_dataset_init(&ds);
    ds.shape = m->shape;
    device_tables(&ds, in, id);
    int rc = DG_OK;
    if (m->clean) {
        dg_rule_effect *fx = dg_xcalloc((size_t)m->clean_rules.n + 1, sizeof *fx);
        rc = dg_clean(&ds, &m->clean_rules, fx, NULL, err);
        free(fx);
    }
    if (rc == DG_OK)
        label_tables(m, &ds, in);
    dg_features f;
    memset(&f, 0, sizeof f);
    if (rc == DG_OK)
        rc = device_features(m, &ds, &f, err);
    if (rc == DG_OK) {
        /* The phone row comes first: the device is row 0. */
        uint32_t row = 0;
        if (f.ndevices != 1 || f.device_id[0] != id) {
            rc = dg_fail(err, "the described device gave %u feature rows, expected 1",
                         f.ndevices);
        } else {
            pthread_mutex_lock(&m->model_lock);
            rc = dg_model_dir_predict(&m->dir, &f, &row, 1, out, err);
            pthread_mutex_unlock(&m->model_lock);
        }
        dg_features_free(&f);
    }
    dg_dataset_free(&ds);
    return rc;
}

/* ---- campaigns ---- */

/* Copies a name into a fixed buffer, cut at a UTF-8 character boundary. */
static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int models_campaigns(void *ctx, const dg_prediction *p, dg_answer *out, dg_err *err)
{
    (void)err;
    const dg_models_predictor *m = ctx;
    dg_targeting t;
    dg_campaigns_assign(&m->rules, &m->deciles, p, &t);
    out->ncampaigns = 0;
    for (int i = 0; i < m->rules.n && out->ncampaigns < DG_SERVE_MAX_CAMPAIGNS; i++)
        if (t.campaigns & (1ull << i))
            copy_name(out->campaigns[out->ncampaigns++], sizeof out->campaigns[0],
                      m->rules.v[i].name);
    return DG_OK;
}

/* The decile edges: a given file, the model directory's thresholds.txt, or
 * fitted on the test devices whose P(female) the models could give. */
static int deciles_setup(dg_models_predictor *m, const char *path, dg_err *err)
{
    char own[1100];
    struct stat st;
    snprintf(own, sizeof own, "%s/thresholds.txt", m->dir.path);
    if (!path && stat(own, &st) == 0)
        path = own;
    if (path) {
        snprintf(m->deciles_origin, sizeof m->deciles_origin, "%s", path);
        return dg_deciles_load(&m->deciles, path, err);
    }
    double *pf = dg_xmalloc((m->ntest + 1) * sizeof *pf);
    size_t n = 0;
    for (size_t i = 0; i < m->ntest; i++)
        if (isfinite(m->test[i].p_female))
            pf[n++] = m->test[i].p_female;
    int rc = n >= 10 ? dg_deciles_fit(&m->deciles, pf, n, err)
                     : dg_fail(err, "%s: the gender models give P(female) for %zu of the %zu "
                                    "test devices; the campaigns' deciles need at least 10",
                               m->dir.path, n, m->ntest);
    free(pf);
    snprintf(m->deciles_origin, sizeof m->deciles_origin,
             "the P(female) of %zu test devices of %s", n, m->dir.path);
    return rc;
}

/* ---- the model version ---- */

/* "models:VERSION:data=CHECKSUM" from the first model's meta.txt (train
 * writes the same version and checksum into each). */
static int read_version(dg_models_predictor *m, dg_err *err)
{
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++) {
            if (!m->dir.m[s][t].present)
                continue;
            char path[1200];
            snprintf(path, sizeof path, "%s/s%d-%s/meta.txt", m->dir.path, s,
                     dg_target_name((dg_target)t));
            FILE *fp = dg_open_regular(path, 1 << 20, err);
            if (!fp)
                return DG_ERR;
            char line[256], version[64] = "";
            const size_t vmax = sizeof version - 1;
            while (fgets(line, sizeof line, fp))
                if (strncmp(line, "version ", 8) == 0) {
                    line[strcspn(line, "\r\n")] = '\0';
                    snprintf(version, sizeof version, "%.*s", (int)vmax, line + 8);
                }
            fclose(fp);
            if (!*version)
                return dg_fail(err, "%s: expected a 'version' line, found none", path);
            snprintf(m->version, sizeof m->version, "models:%s:data=%016" PRIx64, version,
                     m->dir.m[s][t].data_checksum);
            return DG_OK;
        }
    return dg_fail(err, "%s: no model", m->dir.path);
}

/* ---- open ---- */

/* Predicts every kept test device of the directory from the data set's
 * features. */
static int predict_test(dg_models_predictor *m, const dg_features *f, dg_err *err)
{
    dg_i64map rows;
    dg_i64map_init(&rows);
    for (uint32_t r = 0; r < f->ndevices; r++)
        dg_i64map_put(&rows, f->device_id[r]);
    uint32_t *want = dg_xmalloc((m->dir.ntest + 1) * sizeof *want);
    size_t missing = 0;
    int64_t first_missing = 0;
    for (size_t i = 0; i < m->dir.ntest; i++) {
        want[i] = dg_i64map_get(&rows, m->dir.test_device[i]);
        if (want[i] == UINT32_MAX && missing++ == 0)
            first_missing = m->dir.test_device[i];
    }
    dg_i64map_free(&rows);
    int rc = DG_OK;
    if (missing)
        rc = dg_fail(err, "%s/test_devices.csv: %zu of its %zu test devices (the first: %" PRId64
                          ") are not devices of the data set: serve the data set the models "
                          "were trained on",
                     m->dir.path, missing, m->dir.ntest, first_missing);
    if (rc == DG_OK && m->dir.ntest >= UINT32_MAX)
        rc = dg_fail(err, "%s: %zu test devices are more than this server indexes", m->dir.path,
                     m->dir.ntest);
    if (rc == DG_OK) {
        m->ntest = m->dir.ntest;
        m->test = dg_xcalloc(m->ntest + 1, sizeof *m->test);
        rc = dg_model_dir_predict(&m->dir, f, want, (uint32_t)m->ntest, m->test, err);
    }
    for (size_t i = 0; rc == DG_OK && i < m->ntest; i++)
        if (dg_i64map_put(&m->index, m->test[i].device_id) != i)
            rc = dg_fail(err, "%s/test_devices.csv: device %" PRId64 " is listed twice",
                         m->dir.path, m->test[i].device_id);
    free(want);
    return rc;
}

int dg_models_predictor_open(dg_models_predictor **out, const dg_models_predictor_opts *o,
                             dg_predictor *pred, dg_err *err)
{
    dg_models_predictor *m = dg_xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->model_lock, NULL);
    dg_i64map_init(&m->index);
    dg_table_init(&m->app_labels, "app_labels");
    dg_table_init(&m->label_categories, "label_categories");
    dg_rules_init(&m->clean_rules);
    m->supercats = o->supercats;
    m->shape = o->ds->shape;
    if (o->campaign_rules)
        m->rules = *o->campaign_rules;
    else
        dg_campaign_rules_default(&m->rules);
    if (o->clean_rules) {
        m->clean = 1;
        for (int i = 0; i < o->clean_rules->n; i++)
            dg_rules_add(&m->clean_rules, &o->clean_rules->v[i]);
    }
    if (dg_model_dir_open(&m->dir, o->model_dir, err) != DG_OK) {
        dg_rules_free(&m->clean_rules);
        dg_i64map_free(&m->index);
        pthread_mutex_destroy(&m->model_lock);
        free(m);
        return DG_ERR;
    }
    dg_features f;
    memset(&f, 0, sizeof f);
    int rc = dg_features_for_models(o->ds, o->supercats, o->cluster_eps_km, o->cluster_min_pts,
                                    &f, NULL, o->progress, err);
    if (rc == DG_OK) {
        rc = dg_model_dir_check(&m->dir, &f, err);
        m->cluster_cols = dg_features_col(&f, "cluster_home") >= 0;
        if (rc == DG_OK)
            rc = predict_test(m, &f, err);
        dg_features_free(&f);
    }
    if (rc == DG_OK)
        rc = deciles_setup(m, o->thresholds, err);
    if (rc == DG_OK)
        rc = read_version(m, err);
    if (rc == DG_OK && o->ds->present[DG_T_APP_LABELS]) {
        dg_table_copy(&m->app_labels, &o->ds->tables[DG_T_APP_LABELS]);
        row_index_build(&m->by_app, &m->app_labels, "app_id");
        m->have_app_labels = 1;
    }
    if (rc == DG_OK && o->ds->present[DG_T_LABEL_CATEGORIES]) {
        dg_table_copy(&m->label_categories, &o->ds->tables[DG_T_LABEL_CATEGORIES]);
        row_index_build(&m->by_label, &m->label_categories, "label_id");
        m->have_label_categories = 1;
    }
    if (rc != DG_OK) {
        dg_models_predictor_free(m);
        return DG_ERR;
    }
    memset(pred, 0, sizeof *pred);
    pred->ctx = m;
    pred->lookup = models_lookup;
    pred->predict = models_predict;
    pred->campaigns = models_campaigns;
    pred->model_version = m->version;
    *out = m;
    return DG_OK;
}

size_t dg_models_predictor_count(const dg_models_predictor *m)
{
    return m->ntest;
}

const char *dg_models_predictor_deciles_origin(const dg_models_predictor *m)
{
    return m->deciles_origin;
}

void dg_models_predictor_free(dg_models_predictor *m)
{
    if (!m)
        return;
    dg_model_dir_close(&m->dir);
    pthread_mutex_destroy(&m->model_lock);
    free(m->test);
    dg_i64map_free(&m->index);
    row_index_free(&m->by_app);
    row_index_free(&m->by_label);
    dg_table_free(&m->app_labels);
    dg_table_free(&m->label_categories);
    dg_rules_free(&m->clean_rules);
    free(m);
}
