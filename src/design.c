/* Design specs: learnt on train rows, applied to any rows, saved as text.
 * See design.h for the columns and why they are what they are. */
#include "demographer/design.h"

#include "demographer/eda.h"

#include "demographer/textbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


void dg_design_spec_init(dg_design_spec *s)
{
    memset(s, 0, sizeof *s);
    s->numeric_scale = 1;
    dg_strpool_init(&s->brands);
    dg_strpool_init(&s->models);
}

void dg_design_spec_free(dg_design_spec *s)
{
    dg_strpool_free(&s->brands);
    dg_strpool_free(&s->models);
    for (int i = 0; i < s->nnumeric; i++)
        free(s->numeric[i].name);
    free(s->numeric);
    free(s->home);
    free(s->apps);
    free(s->app_idf);
    free(s->labels);
    free(s->label_idf);
    memset(s, 0, sizeof *s);
}

void dg_csr_free(dg_csr *m)
{
    free(m->ptr);
    free(m->idx);
    free(m->val);
    memset(m, 0, sizeof *m);
}

void dg_csr_append_columns(const dg_csr *m, const float *extra, uint32_t nextra, dg_csr *out)
{
    uint64_t cap = m->nnz + (uint64_t)m->nrows * nextra;
    out->nrows = m->nrows;
    out->ncols = m->ncols + nextra;
    out->ptr = dg_xmalloc(((size_t)m->nrows + 1) * sizeof *out->ptr);
    out->idx = dg_xmalloc((cap + 1) * sizeof *out->idx);
    out->val = dg_xmalloc((cap + 1) * sizeof *out->val);
    uint64_t n = 0;
    out->ptr[0] = 0;
    for (uint32_t r = 0; r < m->nrows; r++) {
        uint64_t a = m->ptr[r], b = m->ptr[r + 1];
        memcpy(out->idx + n, m->idx + a, (b - a) * sizeof *out->idx);
        memcpy(out->val + n, m->val + a, (b - a) * sizeof *out->val);
        n += b - a;
        for (uint32_t j = 0; j < nextra; j++)
            if (extra[(size_t)r * nextra + j] != 0) {
                out->idx[n] = m->ncols + j;
                out->val[n++] = extra[(size_t)r * nextra + j];
            }
        out->ptr[r + 1] = n;
    }
    out->nnz = n;
}

void dg_csr_take_rows(const dg_csr *m, const uint32_t *rows, uint32_t n, dg_csr *out)
{
    uint64_t nnz = 0;
    for (uint32_t i = 0; i < n; i++)
        nnz += m->ptr[rows[i] + 1] - m->ptr[rows[i]];
    out->nrows = n;
    out->ncols = m->ncols;
    out->nnz = nnz;
    out->ptr = dg_xmalloc(((size_t)n + 1) * sizeof *out->ptr);
    out->idx = dg_xmalloc((nnz + 1) * sizeof *out->idx);
    out->val = dg_xmalloc((nnz + 1) * sizeof *out->val);
    uint64_t at = 0;
    out->ptr[0] = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = m->ptr[rows[i]], b = m->ptr[rows[i] + 1];
        memcpy(out->idx + at, m->idx + a, (b - a) * sizeof *out->idx);
        memcpy(out->val + at, m->val + a, (b - a) * sizeof *out->val);
        at += b - a;
        out->ptr[i + 1] = at;
    }
}

uint64_t dg_features_fingerprint(const dg_features *f)
{
    uint64_t h = DG_FNV1A_INIT;
    h = dg_fnv1a(h, "dense:", 6);
    for (int c = 0; c < f->ncols; c++)
        h = dg_fnv1a(h, f->col_names[c], strlen(f->col_names[c]) + 1);
    /* The bags always exist as matrices; what they index is apps and labels. */
    h = dg_fnv1a(h, "bags:apps_installed,labels", 26);
    return h;
}

uint32_t dg_design_ncols(const dg_design_spec *s)
{
    return s->brands.n + s->models.n + (uint32_t)s->nnumeric + (uint32_t)s->nmissing + s->nhome +
           s->napps + s->nlabels;
}

/* The dense column that is a category (design.h: home cluster). */

/* Shares and coordinates are never log-scaled; the other non-negative
 * columns are counts, in the spec's count form. */
static int is_share_or_place(const char *name)
{
    return strncmp(name, "hour_", 5) == 0 || strncmp(name, "weekday_", 8) == 0 ||
           strncmp(name, "lat", 3) == 0 || strncmp(name, "lon", 3) == 0;
}

/* The columns that count something (events, days, places, apps, apps of a
 * super-category): the ones the count form applies to. Distances and the
 * located share keep log1p in every form. */
static int is_count(const char *name)
{
    return !is_share_or_place(name) && strncmp(name, "km_", 3) != 0 &&
           strcmp(name, "located_share") != 0;
}

static size_t model_key(char *buf, size_t size, const char *brand, const char *model)
{
    int n = snprintf(buf, size, "%s%c%s", brand, DG_DESIGN_MODEL_SEP, model);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

/* Keeps the strings of `counts` with count >= min_count, in first-seen order. */
static void keep_frequent(const dg_strpool *seen, const uint32_t *counts, uint32_t min_count,
                          dg_strpool *out)
{
    for (uint32_t i = 0; i < seen->n; i++)
        if (counts[i] >= min_count)
            dg_strpool_intern(out, dg_strpool_get(seen, i), dg_strpool_len(seen, i));
}

static void learn_bag(const dg_csr *m, const int64_t *vocab_ids, const uint32_t *rows,
                      uint32_t nrows, uint32_t min_count, uint32_t *nout, int64_t **ids,
                      double **idf)
{
    uint32_t *df = dg_xcalloc((size_t)m->ncols + 1, sizeof *df);
    for (uint32_t i = 0; i < nrows; i++)
        for (uint64_t k = m->ptr[rows[i]]; k < m->ptr[rows[i] + 1]; k++)
            if (m->val[k] > 0)
                df[m->idx[k]]++;
    uint32_t n = 0;
    for (uint32_t c = 0; c < m->ncols; c++)
        n += df[c] >= min_count && df[c] > 0;
    *ids = dg_xmalloc(((size_t)n + 1) * sizeof **ids);
    *idf = dg_xmalloc(((size_t)n + 1) * sizeof **idf);
    *nout = 0;
    for (uint32_t c = 0; c < m->ncols; c++)
        if (df[c] >= min_count && df[c] > 0) {
            (*ids)[*nout] = vocab_ids[c];
            (*idf)[*nout] = log((1.0 + nrows) / (1.0 + df[c])) + 1.0;
            (*nout)++;
        }
    free(df);
}

/* A numeric column's value in a row: dense column a, or the product of a
 * and b (b >= 0); NaN when undefined. Two floats multiply exactly in a
 * double. */
static double numeric_value(const float *dense, int a, int b)
{
    return b < 0 ? (double)dense[a] : (double)dense[a] * (double)dense[b];
}

/* The dense columns of a numeric column's name, "A" or "A*B" (b -1 for "A"),
 * or -1 in *a when the features lack one. */
static void numeric_cols(const dg_features *f, const char *name, int *a, int *b)
{
    const char *star = strchr(name, DG_DESIGN_PRODUCT_SEP);
    *b = -1;
    if (!star) {
        *a = dg_features_col(f, name);
        return;
    }
    char first[256];
    snprintf(first, sizeof first, "%.*s", (int)(star - name), name);
    *a = dg_features_col(f, first);
    *b = dg_features_col(f, star + 1);
    if (*b < 0)
        *a = -1;
}

/* The scaling of one numeric column over the train rows: log1p when
 * may_log and every defined value is >= 0, then the mean and sd of the
 * defined values. missing_col is set to 1 when a train row is undefined
 * (the caller numbers the indicators). */
static void learn_numeric(dg_design_numeric *nc, const dg_features *f, const uint32_t *rows,
                          uint32_t nrows, int a, int b, int may_log)
{
    double lo = INFINITY, sum = 0, sum2 = 0;
    uint64_t n = 0, nan = 0;
    for (uint32_t i = 0; i < nrows; i++) {
        double v = numeric_value(f->dense + (size_t)rows[i] * f->ncols, a, b);
        if (isnan(v))
            nan++;
        else if (v < lo)
            lo = v;
    }
    nc->log1p = may_log && lo >= 0;
    for (uint32_t i = 0; i < nrows; i++) {
        double v = numeric_value(f->dense + (size_t)rows[i] * f->ncols, a, b);
        if (isnan(v))
            continue;
        sum += nc->log1p ? log1p(v) : v;
        n++;
    }
    nc->mean = n ? sum / (double)n : 0;
    for (uint32_t i = 0; i < nrows; i++) {
        double v = numeric_value(f->dense + (size_t)rows[i] * f->ncols, a, b);
        if (isnan(v))
            continue;
        double t = (nc->log1p ? log1p(v) : v) - nc->mean;
        sum2 += t * t;
    }
    nc->sd = n > 1 ? sqrt(sum2 / (double)(n - 1)) : 0;
    if (!(nc->sd > 0))
        nc->sd = 1;
    nc->missing_col = nan > 0;
}

void dg_design_scale_numeric(dg_design_spec *s, double scale)
{
    for (int i = 0; i < s->nnumeric; i++)
        s->numeric[i].sd /= scale;
    s->numeric_scale *= scale;
}

const char *const dg_count_form_names[DG_COUNTS_FORMS] = {"log1p", "raw", "shares",
                                                          "raw+log1p"};

int dg_count_form_by_name(const char *name)
{
    for (int i = 0; i < DG_COUNTS_FORMS; i++)
        if (strcmp(dg_count_form_names[i], name) == 0)
            return i;
    return -1;
}

/* Appends the numeric column `name` (dense column a, times b when b >= 0)
 * to s, scaled over the train rows; its missing indicator takes the next
 * offset, unless it is the twin of the column before (its log1p form in the
 * raw+log1p form), whose indicator says the same. */
static void add_numeric(dg_design_spec *s, const dg_features *f, const uint32_t *rows,
                        uint32_t nrows, const char *name, int a, int b, int may_log, int twin)
{
    s->numeric = dg_xrealloc(s->numeric, ((size_t)s->nnumeric + 1) * sizeof *s->numeric);
    dg_design_numeric *nc = &s->numeric[s->nnumeric++];
    memset(nc, 0, sizeof *nc);
    nc->name = dg_xstrdup(name);
    learn_numeric(nc, f, rows, nrows, a, b, may_log);
    nc->missing_col = nc->missing_col && !twin ? s->nmissing++ : -1;
}

int dg_design_learn(dg_design_spec *s, const dg_features *f, const uint32_t *rows,
                    uint32_t nrows, unsigned blocks, dg_bag_weight bags, dg_count_form counts,
                    uint32_t min_count, dg_err *err)
{
    if (nrows == 0)
        return dg_fail(err, "design: no train rows to learn the design from");
    dg_design_spec out;
    dg_design_spec_init(&out);
    out.blocks = blocks;
    out.bags = bags;
    out.counts = counts;
    out.min_count = min_count ? min_count : 1;
    out.fingerprint = dg_features_fingerprint(f);
    char key[1024];
    if (blocks & (DG_BLOCK_BRAND | DG_BLOCK_MODEL)) {
        dg_strpool bseen, mseen;
        dg_strpool_init(&bseen);
        dg_strpool_init(&mseen);
        uint32_t *bc = NULL, *mc = NULL;
        for (uint32_t i = 0; i < nrows; i++) {
            const char *b = f->brand[rows[i]], *m = f->model[rows[i]];
            if (!b || !*b)
                continue;
            uint32_t before = bseen.n, id = dg_strpool_intern(&bseen, b, strlen(b));
            if (bseen.n != before) {
                bc = dg_xrealloc(bc, (size_t)bseen.n * sizeof *bc);
                bc[id] = 0;
            }
            bc[id]++;
            size_t len = model_key(key, sizeof key, b, m ? m : "");
            before = mseen.n;
            id = dg_strpool_intern(&mseen, key, len);
            if (mseen.n != before) {
                mc = dg_xrealloc(mc, (size_t)mseen.n * sizeof *mc);
                mc[id] = 0;
            }
            mc[id]++;
        }
        if (blocks & DG_BLOCK_BRAND)
            keep_frequent(&bseen, bc, out.min_count, &out.brands);
        if (blocks & DG_BLOCK_MODEL)
            keep_frequent(&mseen, mc, out.min_count, &out.models);
        free(bc);
        free(mc);
        dg_strpool_free(&bseen);
        dg_strpool_free(&mseen);
    }
    if (blocks & DG_BLOCK_NUMERIC) {
        out.numeric = dg_xcalloc((size_t)f->ncols + 1, sizeof *out.numeric);
        int home = dg_features_col(f, DG_DESIGN_HOME_COLUMN);
        if (home >= 0) {
            /* The home clusters of >= min_count train rows, ascending. */
            int64_t *v = dg_xmalloc(((size_t)nrows + 1) * sizeof *v);
            uint32_t nv = 0;
            for (uint32_t i = 0; i < nrows; i++) {
                float h = f->dense[(size_t)rows[i] * f->ncols + home];
                if (!isnan(h))
                    v[nv++] = (int64_t)h;
            }
            qsort(v, nv, sizeof *v, dg_cmp_i64);
            out.home = dg_xmalloc(((size_t)nv + 1) * sizeof *out.home);
            for (uint32_t i = 0, j; i < nv; i = j) {
                for (j = i; j < nv && v[j] == v[i]; j++)
                    ;
                if (j - i >= out.min_count)
                    out.home[out.nhome++] = v[i];
            }
            free(v);
        }
        int raw = counts == DG_COUNTS_RAW || counts == DG_COUNTS_RAW_LOG1P;
        for (int c = 0; c < f->ncols; c++) {
            if (c == home)
                continue;
            const char *name = f->col_names[c];
            add_numeric(&out, f, rows, nrows, name, c, -1,
                        !is_share_or_place(name) && !(raw && is_count(name)), 0);
            if (counts == DG_COUNTS_RAW_LOG1P && is_count(name))
                add_numeric(&out, f, rows, nrows, name, c, -1, 1, 1);
        }
        /* Each hour's and weekday's event count, share times events: the
         * shares alone say nothing of how many events back them, and a
         * device's hours weigh in its posterior by their counts. In the
         * shares form the shares stand alone (a device's rhythm apart from
         * its volume, which "events" carries). */
        int events = dg_features_col(f, "events");
        for (int h = 0; h < 24 + 7 && events >= 0 && counts != DG_COUNTS_SHARES; h++) {
            char name[64];
            if (h < 24)
                snprintf(name, sizeof name, "hour_%02d", h);
            else
                snprintf(name, sizeof name, "weekday_%s", dg_weekday_names[h - 24]);
            int c = dg_features_col(f, name);
            if (c < 0)
                continue;
            size_t len = strlen(name);
            snprintf(name + len, sizeof name - len, "%cevents", DG_DESIGN_PRODUCT_SEP);
            add_numeric(&out, f, rows, nrows, name, c, events, !raw, 0);
            if (counts == DG_COUNTS_RAW_LOG1P)
                add_numeric(&out, f, rows, nrows, name, c, events, 1, 1);
        }
    }
    if (blocks & DG_BLOCK_APPS)
        learn_bag(&f->apps_installed, f->app_vocab, rows, nrows, out.min_count, &out.napps,
                  &out.apps, &out.app_idf);
    if (blocks & DG_BLOCK_LABELS) {
        int64_t *ids = dg_xmalloc(((size_t)f->labels.ncols + 1) * sizeof *ids);
        for (uint32_t c = 0; c < f->labels.ncols; c++)
            ids[c] = f->label_vocab[c];
        learn_bag(&f->labels, ids, rows, nrows, out.min_count, &out.nlabels, &out.labels,
                  &out.label_idf);
        free(ids);
    }
    dg_design_spec_free(s);
    *s = out;
    return DG_OK;
}

/* ---- applying ------------------------------------------------------------ */

typedef struct entry {
    uint32_t col;
    float val;
} entry;

static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    return (x->col > y->col) - (x->col < y->col);
}

typedef struct builder {
    dg_csr *m;
    uint64_t cap;
} builder;

static void put(builder *b, uint32_t col, float v)
{
    if (b->m->nnz == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 1024;
        b->m->idx = dg_xrealloc(b->m->idx, b->cap * sizeof *b->m->idx);
        b->m->val = dg_xrealloc(b->m->val, b->cap * sizeof *b->m->val);
    }
    b->m->idx[b->m->nnz] = col;
    b->m->val[b->m->nnz] = v;
    b->m->nnz++;
}

/* Maps a features bag's vocabulary index to the design column (UINT32_MAX: not in it). */
static uint32_t *bag_map(const int64_t *spec_ids, uint32_t nspec, uint32_t base,
                         const int64_t *vocab, uint32_t nvocab)
{
    dg_i64map ix;
    dg_i64map_init(&ix);
    for (uint32_t i = 0; i < nspec; i++)
        dg_i64map_put(&ix, spec_ids[i]);
    uint32_t *map = dg_xmalloc(((size_t)nvocab + 1) * sizeof *map);
    for (uint32_t v = 0; v < nvocab; v++) {
        uint32_t code = dg_i64map_get(&ix, vocab[v]);
        map[v] = code == UINT32_MAX ? UINT32_MAX : base + code;
    }
    dg_i64map_free(&ix);
    return map;
}

static void put_bag(builder *b, const dg_csr *bag, uint32_t row, const uint32_t *map,
                    uint32_t base, const double *idf, dg_bag_weight w, entry **scratch,
                    size_t *scap)
{
    uint64_t a = bag->ptr[row], e = bag->ptr[row + 1];
    if ((size_t)(e - a) > *scap) {
        *scap = (size_t)(e - a);
        *scratch = dg_xrealloc(*scratch, *scap * sizeof **scratch);
    }
    size_t n = 0;
    double norm = 0;
    for (uint64_t k = a; k < e; k++) {
        uint32_t col = map[bag->idx[k]];
        if (col == UINT32_MAX || !(bag->val[k] > 0))
            continue;
        double v = w == DG_BAG_TFIDF ? idf[col - base] : 1.0;
        norm += v * v;
        (*scratch)[n++] = (entry){col, (float)v};
    }
    if (n > 1) /* scratch is still NULL when no row has had an entry yet */
        qsort(*scratch, n, sizeof **scratch, cmp_entry);
    norm = sqrt(norm);
    for (size_t i = 0; i < n; i++)
        put(b, (*scratch)[i].col,
            w == DG_BAG_TFIDF ? (float)((*scratch)[i].val / norm) : (*scratch)[i].val);
}

int dg_design_apply(const dg_design_spec *s, const dg_features *f, const uint32_t *rows,
                    uint32_t nrows, dg_csr *out, dg_err *err)
{
    memset(out, 0, sizeof *out);
    uint64_t fp = dg_features_fingerprint(f);
    if (fp != s->fingerprint)
        return dg_fail(err,
                       "design: the features have layout %016" PRIx64
                       " (%d dense columns) but the design was learnt on layout %016" PRIx64
                       "; rebuild the model on these features",
                       fp, f->ncols, s->fingerprint);
    int *numcol = dg_xmalloc(((size_t)s->nnumeric + 1) * 2 * sizeof *numcol);
    for (int i = 0; i < s->nnumeric; i++) {
        numeric_cols(f, s->numeric[i].name, &numcol[2 * i], &numcol[2 * i + 1]);
        if (numcol[2 * i] < 0) {
            free(numcol);
            return dg_fail(err, "design: the features have no column '%s'", s->numeric[i].name);
        }
    }
    int home = s->nhome ? dg_features_col(f, DG_DESIGN_HOME_COLUMN) : -1;
    if (s->nhome && home < 0) {
        free(numcol);
        return dg_fail(err, "design: the features have no column '" DG_DESIGN_HOME_COLUMN "'");
    }
    uint32_t base_model = s->brands.n, base_num = base_model + s->models.n,
             base_miss = base_num + (uint32_t)s->nnumeric,
             base_home = base_miss + (uint32_t)s->nmissing, base_apps = base_home + s->nhome,
             base_labels = base_apps + s->napps;
    uint32_t *appmap = bag_map(s->apps, s->napps, base_apps, f->app_vocab,
                               f->apps_installed.ncols);
    int64_t *lvocab = dg_xmalloc(((size_t)f->labels.ncols + 1) * sizeof *lvocab);
    for (uint32_t c = 0; c < f->labels.ncols; c++)
        lvocab[c] = f->label_vocab[c];
    uint32_t *labmap = bag_map(s->labels, s->nlabels, base_labels, lvocab, f->labels.ncols);
    free(lvocab);

    out->nrows = nrows;
    out->ncols = dg_design_ncols(s);
    out->ptr = dg_xmalloc(((size_t)nrows + 1) * sizeof *out->ptr);
    out->ptr[0] = 0;
    builder b = {out, 0};
    entry *scratch = NULL;
    size_t scap = 0;
    char key[1024];
    for (uint32_t i = 0; i < nrows; i++) {
        uint32_t r = rows[i];
        const char *brand = f->brand[r] ? f->brand[r] : "";
        if (*brand && s->brands.n) {
            uint32_t id = dg_strpool_find(&s->brands, brand, strlen(brand));
            if (id != UINT32_MAX)
                put(&b, id, 1.0f);
        }
        if (*brand && s->models.n) {
            size_t len = model_key(key, sizeof key, brand, f->model[r] ? f->model[r] : "");
            uint32_t id = dg_strpool_find(&s->models, key, len);
            if (id != UINT32_MAX)
                put(&b, base_model + id, 1.0f);
        }
        const float *dense = f->dense + (size_t)r * f->ncols;
        for (int k = 0; k < s->nnumeric; k++) {
            const dg_design_numeric *nc = &s->numeric[k];
            double v = numeric_value(dense, numcol[2 * k], numcol[2 * k + 1]);
            if (isnan(v))
                continue;
            if (nc->log1p)
                v = log1p(v > 0 ? v : 0);
            float z = (float)((v - nc->mean) / nc->sd);
            if (z != 0)
                put(&b, base_num + (uint32_t)k, z);
        }
        for (int k = 0; k < s->nnumeric; k++)
            if (s->numeric[k].missing_col >= 0 &&
                isnan(numeric_value(dense, numcol[2 * k], numcol[2 * k + 1])))
                put(&b, base_miss + (uint32_t)s->numeric[k].missing_col, 1.0f);
        if (home >= 0 && !isnan(dense[home])) {
            int64_t h = (int64_t)dense[home];
            const int64_t *at = bsearch(&h, s->home, s->nhome, sizeof h, dg_cmp_i64);
            if (at)
                put(&b, base_home + (uint32_t)(at - s->home), 1.0f);
        }
        if (s->napps)
            put_bag(&b, &f->apps_installed, r, appmap, base_apps, s->app_idf, s->bags, &scratch,
                    &scap);
        if (s->nlabels)
            put_bag(&b, &f->labels, r, labmap, base_labels, s->label_idf, s->bags, &scratch,
                    &scap);
        out->ptr[i + 1] = out->nnz;
    }
    if (!out->idx) {
        out->idx = dg_xmalloc(sizeof *out->idx);
        out->val = dg_xmalloc(sizeof *out->val);
    }
    free(scratch);
    free(appmap);
    free(labmap);
    free(numcol);
    return DG_OK;
}

void dg_design_colname(const dg_design_spec *s, uint32_t c, char *buf, size_t size)
{
    if (c < s->brands.n) {
        snprintf(buf, size, "brand=%s", dg_strpool_get(&s->brands, c));
        return;
    }
    c -= s->brands.n;
    if (c < s->models.n) {
        snprintf(buf, size, "model=%s", dg_strpool_get(&s->models, c));
        char *sep = strchr(buf, DG_DESIGN_MODEL_SEP);
        if (sep)
            *sep = '/';
        return;
    }
    c -= s->models.n;
    if (c < (uint32_t)s->nnumeric) {
        /* In the raw+log1p form a count's two columns share a name. */
        const dg_design_numeric *nc = &s->numeric[c];
        snprintf(buf, size, s->counts == DG_COUNTS_RAW_LOG1P && nc->log1p &&
                                        (is_count(nc->name) ||
                                         strchr(nc->name, DG_DESIGN_PRODUCT_SEP))
                                ? "log1p(%s)"
                                : "%s",
                 nc->name);
        return;
    }
    c -= (uint32_t)s->nnumeric;
    if (c < (uint32_t)s->nmissing) {
        for (int k = 0; k < s->nnumeric; k++)
            if (s->numeric[k].missing_col == (int)c)
                snprintf(buf, size, "%s:missing", s->numeric[k].name);
        return;
    }
    c -= (uint32_t)s->nmissing;
    if (c < s->nhome) {
        snprintf(buf, size, DG_DESIGN_HOME_COLUMN "=%" PRId64, s->home[c]);
        return;
    }
    c -= s->nhome;
    if (c < s->napps) {
        snprintf(buf, size, "app=%" PRId64, s->apps[c]);
        return;
    }
    c -= s->napps;
    snprintf(buf, size, "label=%" PRId64, c < s->nlabels ? s->labels[c] : -1);
}

/* ---- text form ----------------------------------------------------------- */

/* Strings are written with \\, \n, \t and \r escaped, one a line. */
static void put_escaped(dg_textbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' || c == '\n' || c == '\t' || c == '\r') {
            dg_textbuf_putc(b, '\\');
            c = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : '\\';
        }
        dg_textbuf_putc(b, c);
    }
}

static void put_pool(dg_textbuf *b, const char *what, const dg_strpool *p)
{
    dg_textbuf_printf(b, "%s %u\n", what, p->n);
    for (uint32_t i = 0; i < p->n; i++) {
        put_escaped(b, dg_strpool_get(p, i), dg_strpool_len(p, i));
        dg_textbuf_putc(b, '\n');
    }
}

int dg_design_save(const dg_design_spec *s, const char *path, dg_err *err)
{
    dg_textbuf b = {0};
    dg_textbuf_printf(&b, "demographer-design 2\nblocks %u\nbags %s\nmin_count %u\n"
                          "fingerprint %016" PRIx64 "\n",
                      s->blocks, s->bags == DG_BAG_TFIDF ? "tfidf" : "binary", s->min_count,
                      s->fingerprint);
    put_pool(&b, "brands", &s->brands);
    put_pool(&b, "models", &s->models);
    dg_textbuf_printf(&b, "numeric %d\n", s->nnumeric);
    for (int i = 0; i < s->nnumeric; i++) {
        const dg_design_numeric *n = &s->numeric[i];
        put_escaped(&b, n->name, strlen(n->name));
        dg_textbuf_printf(&b, "\t%d\t%.17g\t%.17g\t%d\n", n->log1p, n->mean, n->sd,
                          n->missing_col);
    }
    dg_textbuf_printf(&b, "home_clusters %u\n", s->nhome);
    for (uint32_t i = 0; i < s->nhome; i++)
        dg_textbuf_printf(&b, "%" PRId64 "\n", s->home[i]);
    dg_textbuf_printf(&b, "apps %u\n", s->napps);
    for (uint32_t i = 0; i < s->napps; i++)
        dg_textbuf_printf(&b, "%" PRId64 "\t%.17g\n", s->apps[i], s->app_idf[i]);
    dg_textbuf_printf(&b, "labels %u\n", s->nlabels);
    for (uint32_t i = 0; i < s->nlabels; i++)
        dg_textbuf_printf(&b, "%" PRId64 "\t%.17g\n", s->labels[i], s->label_idf[i]);
    dg_textbuf_puts(&b, "end\n");
    int rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}

typedef struct reader {
    char *text, *at;
    const char *path;
    int line;
    dg_err *err;
} reader;

/* The next line, NUL-terminated in place, or NULL at the end. */
static char *next_line(reader *r)
{
    if (!*r->at)
        return NULL;
    char *s = r->at, *nl = strchr(s, '\n');
    if (nl) {
        *nl = 0;
        r->at = nl + 1;
    } else {
        r->at = s + strlen(s);
    }
    r->line++;
    return s;
}

static int expect(reader *r, const char *what, const char *fmt, void *a, void *b)
{
    char *line = next_line(r);
    if (!line)
        return dg_fail(r->err, "%s:%d: expected %s, found the end of the file", r->path,
                       r->line + 1, what);
    int want = b ? 2 : 1;
    if (sscanf(line, fmt, a, b) != want)
        return dg_fail(r->err, "%s:%d: expected %s, found '%.60s'", r->path, r->line, what, line);
    return DG_OK;
}

static size_t unescape(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            *w++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p;
        } else {
            *w++ = *p;
        }
    }
    *w = 0;
    return (size_t)(w - s);
}

/* "LOG1P<TAB>MEAN<TAB>SD<TAB>MISSING" of a numeric column, each field whole
 * and in range (sscanf's %d overflowed silently on 99999999999). */
static int parse_numeric(const char *s, dg_design_numeric *n)
{
    char *end;
    errno = 0;
    long log1p = strtol(s, &end, 10);
    if (end == s || *end != '\t' || errno || (log1p != 0 && log1p != 1))
        return DG_ERR;
    s = end + 1;
    n->mean = strtod(s, &end);
    if (end == s || *end != '\t')
        return DG_ERR;
    s = end + 1;
    n->sd = strtod(s, &end);
    if (end == s || *end != '\t')
        return DG_ERR;
    s = end + 1;
    errno = 0;
    long miss = strtol(s, &end, 10);
    if (end == s || (*end && *end != '\r') || errno || miss < -1 || miss > INT_MAX)
        return DG_ERR;
    n->log1p = (int)log1p;
    n->missing_col = (int)miss;
    return DG_OK;
}

/* A count read from the file bounded by what is left of it (each item is at
 * least a line): a huge count is an error, not an allocation of gigabytes. */
static int count_fits(reader *r, const char *what, unsigned n)
{
    if ((size_t)n > strlen(r->at))
        return dg_fail(r->err, "%s:%d: %u %s announced, but the rest of the file is %zu bytes",
                       r->path, r->line, n, what, strlen(r->at));
    return DG_OK;
}

static int read_pool(reader *r, const char *what, dg_strpool *p)
{
    char fmt[64];
    unsigned n;
    snprintf(fmt, sizeof fmt, "%s %%u", what);
    if (expect(r, what, fmt, &n, NULL) != DG_OK || count_fits(r, what, n) != DG_OK)
        return DG_ERR;
    for (unsigned i = 0; i < n; i++) {
        char *line = next_line(r);
        if (!line)
            return dg_fail(r->err, "%s:%d: expected %u %s, found %u before the end", r->path,
                           r->line + 1, n, what, i);
        size_t len = unescape(line);
        if (dg_strpool_intern(p, line, len) != i)
            return dg_fail(r->err, "%s:%d: %s '%.60s' is listed twice", r->path, r->line, what,
                           line);
    }
    return DG_OK;
}

static int read_bag(reader *r, const char *what, uint32_t *n, int64_t **ids, double **idf)
{
    char fmt[64];
    unsigned count;
    snprintf(fmt, sizeof fmt, "%s %%u", what);
    if (expect(r, what, fmt, &count, NULL) != DG_OK || count_fits(r, what, count) != DG_OK)
        return DG_ERR;
    *ids = dg_xmalloc(((size_t)count + 1) * sizeof **ids);
    *idf = dg_xmalloc(((size_t)count + 1) * sizeof **idf);
    *n = count;
    for (unsigned i = 0; i < count; i++)
        if (expect(r, "ID<TAB>IDF", "%" SCNd64 "\t%lg", &(*ids)[i], &(*idf)[i]) != DG_OK)
            return DG_ERR;
    return DG_OK;
}

int dg_design_load(dg_design_spec *s, const char *path, dg_err *err)
{
    FILE *fp = dg_open_regular(path, 0, err);
    if (!fp)
        return DG_ERR;
    dg_textbuf tb = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, fp)) > 0)
        dg_textbuf_put(&tb, chunk, got);
    fclose(fp);
    dg_textbuf_putc(&tb, 0);
    reader r = {tb.p, tb.p, path, 0, err};
    dg_design_spec out;
    dg_design_spec_init(&out);
    char bags[16];
    int version = 0;
    uint64_t fpv = 0;
    int rc = expect(&r, "'demographer-design 2'", "demographer-design %d", &version, NULL);
    if (rc == DG_OK && version != 2)
        rc = dg_fail(err, "%s:1: design format version %d; this demographer reads version 2",
                     path, version);
    if (rc == DG_OK)
        rc = expect(&r, "'blocks N'", "blocks %u", &out.blocks, NULL);
    if (rc == DG_OK)
        rc = expect(&r, "'bags binary|tfidf'", "bags %15s", bags, NULL);
    if (rc == DG_OK) {
        if (strcmp(bags, "binary") == 0)
            out.bags = DG_BAG_BINARY;
        else if (strcmp(bags, "tfidf") == 0)
            out.bags = DG_BAG_TFIDF;
        else
            rc = dg_fail(err, "%s:%d: expected bags binary or tfidf, found '%s'", path, r.line,
                         bags);
    }
    if (rc == DG_OK)
        rc = expect(&r, "'min_count N'", "min_count %u", &out.min_count, NULL);
    if (rc == DG_OK)
        rc = expect(&r, "'fingerprint HEX'", "fingerprint %" SCNx64, &fpv, NULL);
    out.fingerprint = fpv;
    if (rc == DG_OK)
        rc = read_pool(&r, "brands", &out.brands);
    if (rc == DG_OK)
        rc = read_pool(&r, "models", &out.models);
    if (rc == DG_OK)
        rc = expect(&r, "'numeric N'", "numeric %d", &out.nnumeric, NULL);
    if (rc == DG_OK && (out.nnumeric < 0 || out.nnumeric > 100000))
        rc = dg_fail(err, "%s:%d: numeric count %d out of range", path, r.line, out.nnumeric);
    if (rc == DG_OK)
        out.numeric = dg_xcalloc((size_t)out.nnumeric + 1, sizeof *out.numeric);
    for (int i = 0; rc == DG_OK && i < out.nnumeric; i++) {
        char *line = next_line(&r);
        char *tab = line ? strchr(line, '\t') : NULL;
        dg_design_numeric *n = &out.numeric[i];
        if (!tab || parse_numeric(tab + 1, n) != DG_OK) {
            rc = dg_fail(err, "%s:%d: expected NAME<TAB>LOG1P<TAB>MEAN<TAB>SD<TAB>MISSING, "
                              "found '%.60s'",
                         path, r.line, line ? line : "the end of the file");
            break;
        }
        *tab = 0;
        unescape(line);
        n->name = dg_xstrdup(line);
        /* The indicator columns are numbered in order (dg_design_learn): an
         * offset other than the next one would index past the block. */
        if (n->missing_col >= 0 && n->missing_col != out.nmissing)
            rc = dg_fail(err, "%s:%d: column '%s' has missing-indicator column %d; expected -1 "
                              "or %d (the next one)",
                         path, r.line, n->name, n->missing_col, out.nmissing);
        else if (n->missing_col >= 0)
            out.nmissing++;
        if (rc == DG_OK && !(n->sd > 0 && isfinite(n->sd) && isfinite(n->mean)))
            rc = dg_fail(err, "%s:%d: column '%s' has sd %g; it must be positive", path, r.line,
                         n->name, n->sd);
    }
    /* The count form, from the columns that carry it (design.h). */
    int products = 0, raw_count = 0, log_count = 0;
    for (int i = 0; rc == DG_OK && i < out.nnumeric; i++) {
        products |= strchr(out.numeric[i].name, DG_DESIGN_PRODUCT_SEP) != NULL;
        raw_count |= is_count(out.numeric[i].name) && !out.numeric[i].log1p;
        log_count |= is_count(out.numeric[i].name) && out.numeric[i].log1p;
    }
    out.counts = raw_count && log_count ? DG_COUNTS_RAW_LOG1P
                 : raw_count            ? DG_COUNTS_RAW
                 : !products && (out.blocks & DG_BLOCK_NUMERIC) ? DG_COUNTS_SHARES
                                                                : DG_COUNTS_LOG1P;
    unsigned nhome = 0;
    if (rc == DG_OK)
        rc = expect(&r, "'home_clusters N'", "home_clusters %u", &nhome, NULL);
    if (rc == DG_OK)
        rc = count_fits(&r, "home clusters", nhome);
    if (rc == DG_OK && nhome > 10000000)
        rc = dg_fail(err, "%s:%d: home cluster count %u out of range", path, r.line, nhome);
    if (rc == DG_OK)
        out.home = dg_xmalloc(((size_t)nhome + 1) * sizeof *out.home);
    for (unsigned i = 0; rc == DG_OK && i < nhome; i++) {
        rc = expect(&r, "a home cluster number", "%" SCNd64, &out.home[i], NULL);
        if (rc == DG_OK && i && out.home[i] <= out.home[i - 1])
            rc = dg_fail(err, "%s:%d: home clusters must be ascending", path, r.line);
        if (rc == DG_OK)
            out.nhome++;
    }
    if (rc == DG_OK)
        rc = read_bag(&r, "apps", &out.napps, &out.apps, &out.app_idf);
    if (rc == DG_OK)
        rc = read_bag(&r, "labels", &out.nlabels, &out.labels, &out.label_idf);
    if (rc == DG_OK) {
        char *line = next_line(&r);
        if (!line || strcmp(line, "end") != 0)
            rc = dg_fail(err, "%s:%d: expected 'end', found '%.60s'", path, r.line,
                         line ? line : "the end of the file");
    }
    dg_textbuf_free(&tb);
    if (rc != DG_OK) {
        dg_design_spec_free(&out);
        return rc;
    }
    dg_design_spec_free(s);
    *s = out;
    return DG_OK;
}

int dg_design_write_svmlight(const dg_csr *x, const double *y, const char *path, dg_err *err)
{
    dg_textbuf b = {0};
    for (uint32_t r = 0; r < x->nrows; r++) {
        dg_textbuf_printf(&b, "%.17g", y[r]);
        for (uint64_t k = x->ptr[r]; k < x->ptr[r + 1]; k++)
            dg_textbuf_printf(&b, " %u:%.9g", x->idx[k] + 1, (double)x->val[k]);
        dg_textbuf_putc(&b, '\n');
    }
    int rc = dg_textbuf_save(&b, path, err);
    dg_textbuf_free(&b);
    return rc;
}
