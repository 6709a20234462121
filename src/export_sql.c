/* export-sql: linear models as SQL tables, views and one INSERT ... SELECT
 * per model (see export_sql.h for the script's layout). The feature keys
 * written for the devices and for the design columns are made here, by the
 * same functions, so the two sides of the join cannot disagree. */
#include "demographer/export_sql.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* How a design column reads its feature row (dg_model_columns.kind). */
enum {
    KIND_ONE_HOT = 1,   /* 1 where the device has the row (brand, model, home) */
    KIND_NUMERIC = 2,   /* (log1p?) then standardised, rounded to a float */
    KIND_MISSING = 3,   /* 1 where the row's value is NULL */
    KIND_BAG_BINARY = 4,
    KIND_APP_TFIDF = 5, /* idf over the L2 norm of the device's app idfs */
    KIND_LABEL_TFIDF = 6,
    KIND_NUMERIC_BY_EVENTS = 7 /* "A*events": the row's value times the events, then as 2 */
};

/* Rows per INSERT: about 250 KB, well under any max_allowed_packet (16 MiB by default). */
#define ROWS_PER_INSERT 4000

/* group12's: the widest model. */
#define MAX_CLASSES 12

/* The script being written is ClickHouse's (dg_export_sql_clickhouse): set
 * for the duration of one call, read by the literal writers below, which are
 * shared by every statement. */
static __thread int clickhouse;

static void put_hex(dg_textbuf *b, const char *s, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    /* ClickHouse has no X'..' literal. */
    dg_textbuf_puts(b, clickhouse ? "unhex('" : "X'");
    for (size_t i = 0; i < n; i++) {
        dg_textbuf_putc(b, digits[(unsigned char)s[i] >> 4]);
        dg_textbuf_putc(b, digits[(unsigned char)s[i] & 15]);
    }
    dg_textbuf_puts(b, clickhouse ? "')" : "'");
}

/* A feature key, "PREFIX" + text, as a hex literal. */
static void put_key(dg_textbuf *b, const char *prefix, const char *s, size_t n)
{
    char buf[1024];
    size_t p = strlen(prefix);
    if (p + n > sizeof buf)
        n = sizeof buf - p;
    memcpy(buf, prefix, p);
    memcpy(buf + p, s, n);
    put_hex(b, buf, p + n);
}

/* A double that reads back as itself (weights, means, idfs: all finite). */
static void put_exact(dg_textbuf *b, double v)
{
    if (clickhouse) {
        /* Its float parser is not correctly rounded (one ulp off now and
         * then): the double's bytes instead, little-endian. */
        static const char digits[] = "0123456789ABCDEF";
        unsigned char bytes[8];
        uint64_t u;
        memcpy(&u, &v, 8);
        for (int i = 0; i < 8; i++)
            bytes[i] = (unsigned char)(u >> (8 * i));
        dg_textbuf_puts(b, "reinterpretAsFloat64(unhex('");
        for (int i = 0; i < 8; i++) {
            dg_textbuf_putc(b, digits[bytes[i] >> 4]);
            dg_textbuf_putc(b, digits[bytes[i] & 15]);
        }
        dg_textbuf_puts(b, "'))");
        return;
    }
    char s[32];
    dg_format_exact(v, s);
    dg_textbuf_puts(b, s);
}

/* ---- the feature rows ------------------------------------------------------ */

typedef struct inserter {
    dg_textbuf *b;
    const char *head; /* "INSERT INTO t (...) VALUES\n" */
    uint32_t n;
    uint64_t total;
} inserter;

static void row_begin(inserter *in)
{
    dg_textbuf_puts(in->b, in->n ? ",\n(" : in->head);
    if (!in->n)
        dg_textbuf_putc(in->b, '(');
    in->n++;
    in->total++;
}

static void row_end(inserter *in)
{
    dg_textbuf_putc(in->b, ')');
    if (in->n == ROWS_PER_INSERT) {
        dg_textbuf_puts(in->b, ";\n");
        in->n = 0;
    }
}

static void rows_done(inserter *in)
{
    if (in->n)
        dg_textbuf_puts(in->b, ";\n");
    in->n = 0;
}

/* ClickHouse's feature rows: plain literals, which its VALUES reader takes
 * without the SQL parser (an expression costs it ~0.4 ms a row): the key as
 * '\xNN' escapes (still no byte of the data as syntax), the value as the
 * shortest decimal that reads back as the double. The reader may land one
 * double ulp off; the design rounds each value to a float, which that moves
 * only when it sits within a double ulp of a float rounding boundary. */
static void feature_row_clickhouse(inserter *in, const char *prefix, const char *s, size_t n,
                                   double value)
{
    static const char digits[] = "0123456789ABCDEF";
    dg_textbuf_putc(in->b, '\'');
    for (int part = 0; part < 2; part++) {
        const char *p = part ? s : prefix;
        size_t len = part ? n : strlen(prefix);
        for (size_t i = 0; i < len; i++) {
            dg_textbuf_puts(in->b, "\\x");
            dg_textbuf_putc(in->b, digits[(unsigned char)p[i] >> 4]);
            dg_textbuf_putc(in->b, digits[(unsigned char)p[i] & 15]);
        }
    }
    dg_textbuf_puts(in->b, "',");
    if (isnan(value)) {
        dg_textbuf_puts(in->b, "NULL");
    } else {
        char num[32];
        dg_format_exact(value, num);
        dg_textbuf_puts(in->b, num);
    }
}

static void feature_row(inserter *in, int64_t device, const char *prefix, const char *s,
                        size_t n, double value)
{
    row_begin(in);
    dg_textbuf_i64(in->b, device);
    dg_textbuf_putc(in->b, ',');
    if (clickhouse) {
        feature_row_clickhouse(in, prefix, s, n, value);
        row_end(in);
        return;
    }
    put_key(in->b, prefix, s, n);
    dg_textbuf_putc(in->b, ',');
    if (isnan(value))
        dg_textbuf_puts(in->b, "NULL");
    else
        put_exact(in->b, value);
    row_end(in);
}

static void bag_rows(inserter *in, const dg_features *f, uint32_t d, const dg_csr *bag,
                     const char *prefix, int labels)
{
    for (uint64_t k = bag->ptr[d]; k < bag->ptr[d + 1]; k++) {
        int64_t id = labels ? (int64_t)f->label_vocab[bag->idx[k]] : f->app_vocab[bag->idx[k]];
        char num[32];
        int n = snprintf(num, sizeof num, "%" PRId64, id);
        feature_row(in, f->device_id[d], prefix, num, (size_t)n, bag->val[k]);
    }
}

static uint64_t feature_rows(dg_textbuf *b, const dg_features *f)
{
    dg_textbuf_puts(b, clickhouse ? "TRUNCATE TABLE dg_device_features;\n"
                                  : "DELETE FROM dg_device_features;\n");
    inserter in = {b, "INSERT INTO dg_device_features (device_id, feature, value) VALUES\n", 0,
                   0};
    int home = dg_features_col(f, DG_DESIGN_HOME_COLUMN);
    char key[1024];
    for (uint32_t d = 0; d < f->ndevices; d++) {
        int64_t id = f->device_id[d];
        const char *brand = f->brand[d] ? f->brand[d] : "";
        if (*brand) {
            feature_row(&in, id, "brand=", brand, strlen(brand), 1);
            int n = snprintf(key, sizeof key, "%s%c%s", brand, DG_DESIGN_MODEL_SEP,
                             f->model[d] ? f->model[d] : "");
            feature_row(&in, id, "model=", key, n < 0 ? 0 : (size_t)n, 1);
        }
        const float *dense = f->dense + (size_t)d * f->ncols;
        for (int c = 0; c < f->ncols; c++) {
            if (c == home) {
                if (!isnan(dense[c])) {
                    int n = snprintf(key, sizeof key, "%" PRId64, (int64_t)dense[c]);
                    feature_row(&in, id, "home=", key, (size_t)n, 1);
                }
                continue;
            }
            feature_row(&in, id, "num=", f->col_names[c], strlen(f->col_names[c]), dense[c]);
        }
        bag_rows(&in, f, d, &f->apps_installed, "app=", 0);
        bag_rows(&in, f, d, &f->labels, "label=", 1);
    }
    rows_done(&in);
    return in.total;
}

/* ---- the model tables ------------------------------------------------------ */

static void model_name(char *buf, size_t size, int s, dg_target t)
{
    snprintf(buf, size, "s%d_%s", s, dg_target_name(t));
}

static void column_row(inserter *in, const char *model, uint32_t col, const char *prefix,
                       const char *s, size_t n, int kind, int log1p, double mean, double sd,
                       double idf)
{
    row_begin(in);
    dg_textbuf_printf(in->b, "'%s',%u,", model, col);
    put_key(in->b, prefix, s, n);
    dg_textbuf_printf(in->b, ",%d,%d,", kind, log1p);
    put_exact(in->b, mean);
    dg_textbuf_putc(in->b, ',');
    put_exact(in->b, sd);
    dg_textbuf_putc(in->b, ',');
    put_exact(in->b, idf);
    row_end(in);
}

/* The design columns columns() writes: when a design has more (a block
 * added to design.c and not here), its models are refused, not mis-scored. */
static uint32_t columns_written(const dg_design_spec *s)
{
    return s->brands.n + s->models.n + (uint32_t)s->nnumeric + (uint32_t)s->nmissing + s->nhome +
           s->napps + s->nlabels;
}

/* Products the scoring can read: "A*events" only (the events row is joined
 * for the scenario anyway); a design with another product is refused. */
static int products_written(const dg_design_spec *s)
{
    for (int k = 0; k < s->nnumeric; k++) {
        const char *star = strchr(s->numeric[k].name, DG_DESIGN_PRODUCT_SEP);
        if (star && strcmp(star + 1, "events") != 0)
            return 0;
    }
    return 1;
}

static void columns(dg_textbuf *b, const char *model, const dg_design_spec *s)
{
    inserter in = {b,
                   "INSERT INTO dg_model_columns (model, col, feature, kind, log1p, mean, sd, "
                   "idf) VALUES\n",
                   0, 0};
    uint32_t col = 0;
    for (uint32_t i = 0; i < s->brands.n; i++, col++)
        column_row(&in, model, col, "brand=", dg_strpool_get(&s->brands, i),
                   dg_strpool_len(&s->brands, i), KIND_ONE_HOT, 0, 0, 1, 0);
    for (uint32_t i = 0; i < s->models.n; i++, col++)
        column_row(&in, model, col, "model=", dg_strpool_get(&s->models, i),
                   dg_strpool_len(&s->models, i), KIND_ONE_HOT, 0, 0, 1, 0);
    for (int k = 0; k < s->nnumeric; k++, col++) {
        const dg_design_numeric *nc = &s->numeric[k];
        const char *star = strchr(nc->name, DG_DESIGN_PRODUCT_SEP);
        column_row(&in, model, col, "num=", nc->name, star ? (size_t)(star - nc->name)
                                                           : strlen(nc->name),
                   star ? KIND_NUMERIC_BY_EVENTS : KIND_NUMERIC, nc->log1p, nc->mean, nc->sd,
                   0);
    }
    for (int k = 0; k < s->nnumeric; k++) {
        const dg_design_numeric *nc = &s->numeric[k];
        const char *star = strchr(nc->name, DG_DESIGN_PRODUCT_SEP);
        if (nc->missing_col >= 0)
            column_row(&in, model, col + (uint32_t)nc->missing_col, "num=", nc->name,
                       star ? (size_t)(star - nc->name) : strlen(nc->name), KIND_MISSING, 0, 0,
                       1, 0);
    }
    col += (uint32_t)s->nmissing;
    for (uint32_t i = 0; i < s->nhome; i++, col++) {
        char num[32];
        int n = snprintf(num, sizeof num, "%" PRId64, s->home[i]);
        column_row(&in, model, col, "home=", num, (size_t)n, KIND_ONE_HOT, 0, 0, 1, 0);
    }
    int tfidf = s->bags == DG_BAG_TFIDF;
    for (uint32_t i = 0; i < s->napps; i++, col++) {
        char num[32];
        int n = snprintf(num, sizeof num, "%" PRId64, s->apps[i]);
        column_row(&in, model, col, "app=", num, (size_t)n,
                   tfidf ? KIND_APP_TFIDF : KIND_BAG_BINARY, 0, 0, 1, tfidf ? s->app_idf[i] : 0);
    }
    for (uint32_t i = 0; i < s->nlabels; i++, col++) {
        char num[32];
        int n = snprintf(num, sizeof num, "%" PRId64, s->labels[i]);
        column_row(&in, model, col, "label=", num, (size_t)n,
                   tfidf ? KIND_LABEL_TFIDF : KIND_BAG_BINARY, 0, 0, 1,
                   tfidf ? s->label_idf[i] : 0);
    }
    rows_done(&in);
}

/* One row per design column with a non-zero weight, the class weights side
 * by side (w0 ... w11; 0 past the model's classes): a device's scores are
 * then one GROUP BY over its design values, not one per class. */
static void weights(dg_textbuf *b, const char *model, const dg_linear_view *v)
{
    inserter in = {b,
                   "INSERT INTO dg_model_weights (model, col, w0, w1, w2, w3, w4, w5, w6, w7, "
                   "w8, w9, w10, w11) VALUES\n",
                   0, 0};
    for (uint32_t j = 0; j <= v->ncols; j++) {
        const double *w = v->w + (size_t)j * v->nclasses;
        int any = j == v->ncols; /* the biases are column -1 */
        for (uint32_t c = 0; c < v->nclasses && !any; c++)
            any = w[c] != 0;
        if (!any)
            continue;
        row_begin(&in);
        dg_textbuf_printf(b, "'%s',%d", model, j == v->ncols ? -1 : (int)j);
        for (uint32_t c = 0; c < MAX_CLASSES; c++) {
            dg_textbuf_putc(b, ',');
            put_exact(b, c < v->nclasses ? w[c] : 0);
        }
        row_end(&in);
    }
    rows_done(&in);
    if (!v->map)
        return;
    inserter sums = {b, "INSERT INTO dg_model_sums (model, group12, output, share) VALUES\n", 0,
                     0};
    for (int g = 0; g < 12; g++)
        for (uint32_t o = 0; o < v->nout; o++) {
            row_begin(&sums);
            dg_textbuf_printf(b, "'%s',%d,%u,", model, g, o);
            put_exact(b, v->map[g * v->nout + o]);
            row_end(&sums);
        }
    rows_done(&sums);
}

/* ---- the scoring ------------------------------------------------------------ */

/* "AND e.value > 0": the devices of the scenario as predict decides it
 * (1: events > 0), e being the device's events row. */
static void put_scenario(dg_textbuf *b, int scenario)
{
    dg_textbuf_puts(b, "e.feature = ");
    put_key(b, "num=", "events", 6);
    dg_textbuf_puts(b, scenario == 1 ? " AND e.value > 0" : " AND COALESCE(e.value, 0) <= 0");
}

/* Class c's unnormalised probability from its score z{c} (scoring()). */
static void put_term(dg_textbuf *b, const dg_linear_view *v, uint32_t c)
{
    if (v->ovr)
        dg_textbuf_printf(b,
                          "(CASE WHEN z%u >= 0 THEN 1 / (1 + EXP(-z%u)) "
                          "ELSE EXP(z%u) / (1 + EXP(z%u)) END)",
                          c, c, c, c);
    else
        dg_textbuf_printf(b, "EXP(z%u - top)", c);
}

/* ClickHouse's greatest takes two arguments: greatest(z0, greatest(z1, ...)). */
static void put_greatest(dg_textbuf *b, uint32_t from, uint32_t k)
{
    if (from + 1 == k) {
        dg_textbuf_printf(b, "z%u", from);
        return;
    }
    dg_textbuf_printf(b, "greatest(z%u, ", from);
    put_greatest(b, from + 1, k);
    dg_textbuf_putc(b, ')');
}

/* "INSERT INTO dg_scores (model, device_id, z0, ..., z{k-1})", both dialects. */
static void put_scores_insert(dg_textbuf *b, uint32_t k)
{
    dg_textbuf_puts(b, "INSERT INTO dg_scores (model, device_id");
    for (uint32_t c = 0; c < k; c++)
        dg_textbuf_printf(b, ", z%u", c);
    dg_textbuf_puts(b, ")\n");
}

/* The probabilities' columns and the derived tables under them, the same in
 * both dialects but for the largest score (GREATEST of all, or ClickHouse's
 * nested greatest): p{c} = term{c} / total over the scores of model m. The
 * caller closes the derived tables, each dialect its way (aliases or none). */
static void put_probabilities(dg_textbuf *b, const dg_linear_view *v, uint32_t k, const char *m,
                              int clickhouse)
{
    for (uint32_t c = 0; c < k; c++) {
        dg_textbuf_puts(b, ", ");
        put_term(b, v, c);
        dg_textbuf_printf(b, " / total AS p%u", c);
    }
    dg_textbuf_puts(b, "\n      FROM (SELECT device_id, top");
    for (uint32_t c = 0; c < k; c++)
        dg_textbuf_printf(b, ", z%u", c);
    dg_textbuf_puts(b, ", ");
    for (uint32_t c = 0; c < k; c++) {
        dg_textbuf_puts(b, c ? " + " : "");
        put_term(b, v, c);
    }
    dg_textbuf_puts(b, " AS total\n            FROM (SELECT device_id, ");
    if (clickhouse) {
        put_greatest(b, 0, k);
    } else {
        dg_textbuf_puts(b, "GREATEST(");
        for (uint32_t c = 0; c < k; c++)
            dg_textbuf_printf(b, "%sz%u", c ? ", " : "", c);
        dg_textbuf_puts(b, ")");
    }
    dg_textbuf_puts(b, " AS top");
    for (uint32_t c = 0; c < k; c++)
        dg_textbuf_printf(b, ", z%u", c);
    dg_textbuf_printf(b, " FROM dg_scores WHERE model = '%s')", m);
}

/* Three statements per model, on base tables with keys:
 *   1. dg_norms: each device's L2 norm of its tf-idf bag entries;
 *   2. dg_scores: the scoring SELECT, every device's score per class: the
 *      bias (column -1, value 1) plus its design values, as
 *      dg_design_apply makes them (log1p as LN(1 + x): the same double to
 *      an ulp, so the same float after the rounding; standardised; rounded
 *      to a float as the design's CSR holds them), times the weights;
 *   3. the softmax into dg_predictions, the largest score taken out first
 *      and the terms summed in class order as predict does; group12-sum
 *      then sums the 12 probabilities into its outputs; a binary model's
 *      output is P(class 1). */
static void scoring(dg_textbuf *b, const char *m, int scenario, dg_target t,
                    const dg_linear_view *v)
{
    dg_textbuf_printf(b,
                      "INSERT INTO dg_norms (model, device_id, kind, norm)\n"
                      "SELECT '%s', f.device_id, c.kind, SQRT(SUM(c.idf * c.idf))\n"
                      "FROM dg_device_features f\n"
                      "JOIN dg_model_columns c ON c.model = '%s' AND c.feature = f.feature\n"
                      "WHERE c.kind IN (%d, %d) AND f.value > 0\n"
                      "GROUP BY f.device_id, c.kind;\n",
                      m, m, KIND_APP_TFIDF, KIND_LABEL_TFIDF);
    uint32_t k = v->nclasses;
    put_scores_insert(b, k);
    dg_textbuf_printf(b, "SELECT '%s', x.device_id", m);
    for (uint32_t c = 0; c < k; c++)
        dg_textbuf_printf(b, ", SUM(x.v * w.w%u)", c);
    dg_textbuf_puts(b, "\nFROM (\n"
                       "  SELECT e.device_id, -1 AS col, CAST(1 AS DOUBLE) AS v\n"
                       "  FROM dg_device_features e WHERE ");
    put_scenario(b, scenario);
    dg_textbuf_printf(
        b,
        "\n  UNION ALL\n"
        "  SELECT f.device_id, c.col,\n"
        "    CASE c.kind\n"
        "      WHEN %d THEN CAST(CAST(((CASE WHEN c.log1p = 1 THEN LN(1 + GREATEST(f.value, 0)) "
        "ELSE f.value END) - c.mean) / c.sd AS FLOAT) AS DOUBLE)\n"
        "      WHEN %d THEN CAST(CAST(((CASE WHEN c.log1p = 1 THEN LN(1 + GREATEST(f.value * "
        "e.value, 0)) ELSE f.value * e.value END) - c.mean) / c.sd AS FLOAT) AS DOUBLE)\n"
        "      WHEN %d THEN CAST(CAST(CAST(CAST(c.idf AS FLOAT) AS DOUBLE) / n.norm AS FLOAT) "
        "AS DOUBLE)\n"
        "      WHEN %d THEN CAST(CAST(CAST(CAST(c.idf AS FLOAT) AS DOUBLE) / n.norm AS FLOAT) "
        "AS DOUBLE)\n"
        "      ELSE CAST(1 AS DOUBLE)\n"
        "    END AS v\n"
        "  FROM dg_device_features f\n"
        "  JOIN dg_device_features e ON e.device_id = f.device_id AND ",
        KIND_NUMERIC, KIND_NUMERIC_BY_EVENTS, KIND_APP_TFIDF, KIND_LABEL_TFIDF);
    put_scenario(b, scenario);
    dg_textbuf_printf(
        b,
        "\n  JOIN dg_model_columns c ON c.model = '%s' AND c.feature = f.feature\n"
        "  LEFT JOIN dg_norms n ON n.model = '%s' AND n.device_id = f.device_id AND n.kind = "
        "c.kind\n"
        "  WHERE (c.kind IN (%d, %d) AND f.value IS NOT NULL)\n"
        "     OR (c.kind = %d AND f.value IS NULL)\n"
        "     OR (c.kind IN (%d, %d, %d) AND f.value > 0)\n"
        "     OR c.kind = %d\n"
        ") x\n"
        "JOIN dg_model_weights w ON w.model = '%s' AND w.col = x.col\n"
        "GROUP BY x.device_id;\n",
        m, m, KIND_NUMERIC, KIND_NUMERIC_BY_EVENTS, KIND_MISSING, KIND_BAG_BINARY, KIND_APP_TFIDF, KIND_LABEL_TFIDF,
        KIND_ONE_HOT, m);
    /* p{c} = term{c} / total, from the innermost derived table out: term{c}
     * is EXP(z{c} - top) for a softmax, the sigmoid of z{c} for one-vs-rest
     * (every EXP of a value <= 0, so none overflows). */
    dg_textbuf_puts(b, "INSERT INTO dg_predictions (device_id, scenario, target, class, "
                       "probability)\n"
                       "SELECT p.device_id, ");
    dg_textbuf_printf(b, "%d, '%s', ", scenario, dg_target_name(t));
    if (v->map)
        dg_textbuf_puts(b, "s.output, SUM(CASE k.class");
    else
        dg_textbuf_puts(b, "k.class, CASE k.class");
    for (uint32_t c = 0; c < (v->map ? k : v->nout); c++)
        dg_textbuf_printf(b, " WHEN %u THEN p.p%u", c, v->binary ? 1 : c);
    dg_textbuf_puts(b, v->map ? " END * s.share)\nFROM (SELECT device_id" : " END\nFROM (SELECT device_id");
    put_probabilities(b, v, k, m, 0);
    dg_textbuf_puts(b, " a) t) p\n");
    if (v->map)
        dg_textbuf_printf(b,
                          "JOIN dg_classes k ON k.class < 12\n"
                          "JOIN dg_model_sums s ON s.model = '%s' AND s.group12 = k.class\n"
                          "GROUP BY p.device_id, s.output;\n",
                          m);
    else
        dg_textbuf_printf(b, "JOIN dg_classes k ON k.class < %u;\n", v->nout);
}

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS dg_device_features (\n"
    "  device_id BIGINT NOT NULL,\n"
    "  feature VARBINARY(1024) NOT NULL,\n"
    "  value DOUBLE NULL,\n"
    "  PRIMARY KEY (device_id, feature));\n"
    "DROP TABLE IF EXISTS dg_model_columns;\n"
    "CREATE TABLE dg_model_columns (\n"
    "  model VARCHAR(32) NOT NULL,\n"
    "  col INT NOT NULL,\n"
    "  feature VARBINARY(1024) NOT NULL,\n"
    "  kind TINYINT NOT NULL,\n"
    "  log1p TINYINT NOT NULL,\n"
    "  mean DOUBLE NOT NULL,\n"
    "  sd DOUBLE NOT NULL,\n"
    "  idf DOUBLE NOT NULL,\n"
    "  PRIMARY KEY (model, col, kind),\n"
    "  KEY (model, feature));\n"
    "DROP TABLE IF EXISTS dg_model_weights;\n"
    "CREATE TABLE dg_model_weights (\n"
    "  model VARCHAR(32) NOT NULL,\n"
    "  col INT NOT NULL,\n"
    "  w0 DOUBLE NOT NULL, w1 DOUBLE NOT NULL, w2 DOUBLE NOT NULL, w3 DOUBLE NOT NULL,\n"
    "  w4 DOUBLE NOT NULL, w5 DOUBLE NOT NULL, w6 DOUBLE NOT NULL, w7 DOUBLE NOT NULL,\n"
    "  w8 DOUBLE NOT NULL, w9 DOUBLE NOT NULL, w10 DOUBLE NOT NULL, w11 DOUBLE NOT NULL,\n"
    "  PRIMARY KEY (model, col));\n"
    "DROP TABLE IF EXISTS dg_model_sums;\n"
    "CREATE TABLE dg_model_sums (\n"
    "  model VARCHAR(32) NOT NULL,\n"
    "  group12 INT NOT NULL,\n"
    "  output INT NOT NULL,\n"
    "  share DOUBLE NOT NULL,\n"
    "  PRIMARY KEY (model, group12, output));\n"
    "DROP TABLE IF EXISTS dg_norms;\n"
    "CREATE TABLE dg_norms (\n"
    "  model VARCHAR(32) NOT NULL,\n"
    "  device_id BIGINT NOT NULL,\n"
    "  kind TINYINT NOT NULL,\n"
    "  norm DOUBLE NOT NULL,\n"
    "  PRIMARY KEY (model, device_id, kind));\n"
    "DROP TABLE IF EXISTS dg_scores;\n"
    "CREATE TABLE dg_scores (\n"
    "  model VARCHAR(32) NOT NULL,\n"
    "  device_id BIGINT NOT NULL,\n"
    "  z0 DOUBLE NULL, z1 DOUBLE NULL, z2 DOUBLE NULL, z3 DOUBLE NULL,\n"
    "  z4 DOUBLE NULL, z5 DOUBLE NULL, z6 DOUBLE NULL, z7 DOUBLE NULL,\n"
    "  z8 DOUBLE NULL, z9 DOUBLE NULL, z10 DOUBLE NULL, z11 DOUBLE NULL,\n"
    "  PRIMARY KEY (model, device_id));\n"
    "DROP TABLE IF EXISTS dg_classes;\n"
    "CREATE TABLE dg_classes (class INT NOT NULL PRIMARY KEY);\n"
    "INSERT INTO dg_classes (class) VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), "
    "(10), (11);\n"
    "DROP TABLE IF EXISTS dg_predictions;\n"
    "CREATE TABLE dg_predictions (\n"
    "  device_id BIGINT NOT NULL,\n"
    "  scenario TINYINT NOT NULL,\n"
    "  target VARCHAR(16) NOT NULL,\n"
    "  class INT NOT NULL,\n"
    "  probability DOUBLE NOT NULL,\n"
    "  PRIMARY KEY (device_id, target, class));\n";


/* ---- the scoring, ClickHouse's form ---------------------------------------------- */

/* The same three statements for ClickHouse 18.16 and later: one JOIN per
 * SELECT (18.16 takes no more), joined USING columns of equal types (no
 * aliases, no conditions in ON), the model's rows picked in subqueries;
 * greatest of two arguments, nested; unhex for the keys, the doubles as
 * their bytes (put_exact). */
static void put_scenario_ch(dg_textbuf *b, int scenario)
{
    dg_textbuf_puts(b, "feature = ");
    put_key(b, "num=", "events", 6);
    dg_textbuf_puts(b, scenario == 1 ? " AND value > 0" : " AND coalesce(value, 0) <= 0");
}

static void scoring_clickhouse(dg_textbuf *b, const char *m, int scenario, dg_target t,
                               const dg_linear_view *v)
{
    dg_textbuf_printf(b,
                      "INSERT INTO dg_norms (model, device_id, kind, norm)\n"
                      "SELECT '%s', device_id, kind, sqrt(sum(idf * idf))\n"
                      "FROM (SELECT device_id, feature FROM dg_device_features WHERE value > 0)\n"
                      "ALL INNER JOIN (SELECT feature, kind, idf FROM dg_model_columns "
                      "WHERE model = '%s' AND kind IN (%d, %d)) USING feature\n"
                      "GROUP BY device_id, kind;\n",
                      m, m, KIND_APP_TFIDF, KIND_LABEL_TFIDF);
    uint32_t k = v->nclasses;
    put_scores_insert(b, k);
    dg_textbuf_printf(b, "SELECT '%s', device_id", m);
    for (uint32_t c = 0; c < k; c++)
        dg_textbuf_printf(b, ", sum(v * w%u)", c);
    dg_textbuf_puts(b, "\nFROM (\n"
                       "  SELECT device_id, toInt32(-1) AS col, CAST(1 AS DOUBLE) AS v\n"
                       "  FROM dg_device_features WHERE ");
    put_scenario_ch(b, scenario);
    dg_textbuf_printf(
        b,
        "\n  UNION ALL\n"
        "  SELECT device_id, col, ifNull(multiIf(\n"
        "      kind = %d, CAST(CAST(((CASE WHEN log1p = 1 THEN log(1 + greatest(x, "
        "toFloat64(0))) ELSE x END) - mean) / sd AS FLOAT) AS DOUBLE),\n"
        "      kind = %d, CAST(CAST(((CASE WHEN log1p = 1 THEN log(1 + greatest(x * e, "
        "toFloat64(0))) ELSE x * e END) - mean) / sd AS FLOAT) AS DOUBLE),\n"
        "      kind IN (%d, %d), CAST(CAST(CAST(CAST(idf AS FLOAT) AS DOUBLE) / norm AS FLOAT) "
        "AS DOUBLE),\n"
        "      CAST(1 AS DOUBLE)), CAST(0 AS DOUBLE)) AS v\n"
        "  FROM (\n"
        "    SELECT device_id, feature, value, ev, col, kind, log1p, mean, sd, idf,\n"
        "      ifNull(value, toFloat64(0)) AS x, ifNull(ev, toFloat64(0)) AS e FROM (\n"
        "      SELECT device_id, feature, value, ev\n"
        "      FROM (SELECT device_id, feature, value FROM dg_device_features)\n"
        "      ALL INNER JOIN (SELECT device_id, value AS ev FROM dg_device_features WHERE ",
        KIND_NUMERIC, KIND_NUMERIC_BY_EVENTS, KIND_APP_TFIDF, KIND_LABEL_TFIDF);
    put_scenario_ch(b, scenario);
    dg_textbuf_printf(
        b,
        ") USING device_id)\n"
        "    ALL INNER JOIN (SELECT feature, col, kind, log1p, mean, sd, idf FROM "
        "dg_model_columns WHERE model = '%s') USING feature)\n"
        "  ANY LEFT JOIN (SELECT device_id, kind, norm FROM dg_norms WHERE model = '%s') "
        "USING device_id, kind\n"
        "  WHERE (kind IN (%d, %d) AND value IS NOT NULL)\n"
        "     OR (kind = %d AND value IS NULL)\n"
        "     OR (kind IN (%d, %d, %d) AND value > 0)\n"
        "     OR kind = %d\n"
        ")\n"
        "ALL INNER JOIN (SELECT col",
        m, m, KIND_NUMERIC, KIND_NUMERIC_BY_EVENTS, KIND_MISSING, KIND_BAG_BINARY,
        KIND_APP_TFIDF, KIND_LABEL_TFIDF, KIND_ONE_HOT);
    for (uint32_t c = 0; c < k; c++)
        dg_textbuf_printf(b, ", w%u", c);
    dg_textbuf_printf(b, " FROM dg_model_weights WHERE model = '%s') USING col\n"
                         "GROUP BY device_id;\n",
                      m);
    dg_textbuf_puts(b, "INSERT INTO dg_predictions (device_id, scenario, target, class, "
                       "probability)\n"
                       "SELECT device_id, ");
    dg_textbuf_printf(b, "%d, '%s', ", scenario, dg_target_name(t));
    /* multiIf, not CASE class WHEN: 18.16 wants constants after THEN there. */
    dg_textbuf_puts(b, v->map ? "output, sum(multiIf(" : "class, multiIf(");
    for (uint32_t c = 0; c < (v->map ? k : v->nout); c++)
        dg_textbuf_printf(b, "class = %u, p%u, ", c, v->binary ? 1 : c);
    dg_textbuf_puts(b, v->map ? "nan) * share)\nFROM (SELECT device_id" : "nan)\nFROM (SELECT device_id");
    put_probabilities(b, v, k, m, 1);
    dg_textbuf_puts(b, "))\n");
    if (v->map)
        dg_textbuf_printf(b,
                          "CROSS JOIN (SELECT group12 AS class, output, share FROM dg_model_sums "
                          "WHERE model = '%s')\n"
                          "GROUP BY device_id, output;\n",
                          m);
    else
        dg_textbuf_printf(b, "CROSS JOIN (SELECT class FROM dg_classes WHERE class < %u);\n",
                          v->nout);
}

static const char schema_clickhouse[] =
    "CREATE TABLE IF NOT EXISTS dg_device_features (\n"
    "  device_id Int64, feature String, value Nullable(Float64))\n"
    "  ENGINE = MergeTree ORDER BY (device_id, feature);\n"
    "DROP TABLE IF EXISTS dg_model_columns;\n"
    "CREATE TABLE dg_model_columns (\n"
    "  model String, col Int32, feature String, kind Int8, log1p Int8,\n"
    "  mean Float64, sd Float64, idf Float64)\n"
    "  ENGINE = MergeTree ORDER BY (model, col, kind);\n"
    "DROP TABLE IF EXISTS dg_model_weights;\n"
    "CREATE TABLE dg_model_weights (\n"
    "  model String, col Int32,\n"
    "  w0 Float64, w1 Float64, w2 Float64, w3 Float64, w4 Float64, w5 Float64,\n"
    "  w6 Float64, w7 Float64, w8 Float64, w9 Float64, w10 Float64, w11 Float64)\n"
    "  ENGINE = MergeTree ORDER BY (model, col);\n"
    "DROP TABLE IF EXISTS dg_model_sums;\n"
    "CREATE TABLE dg_model_sums (model String, group12 Int32, output Int32, share Float64)\n"
    "  ENGINE = MergeTree ORDER BY (model, group12, output);\n"
    "DROP TABLE IF EXISTS dg_norms;\n"
    "CREATE TABLE dg_norms (model String, device_id Int64, kind Int8, norm Float64)\n"
    "  ENGINE = MergeTree ORDER BY (model, device_id, kind);\n"
    "DROP TABLE IF EXISTS dg_scores;\n"
    "CREATE TABLE dg_scores (\n"
    "  model String, device_id Int64,\n"
    "  z0 Float64, z1 Float64, z2 Float64, z3 Float64, z4 Float64, z5 Float64,\n"
    "  z6 Float64, z7 Float64, z8 Float64, z9 Float64, z10 Float64, z11 Float64)\n"
    "  ENGINE = MergeTree ORDER BY (model, device_id);\n"
    "DROP TABLE IF EXISTS dg_classes;\n"
    "CREATE TABLE dg_classes (class Int32) ENGINE = MergeTree ORDER BY class;\n"
    "INSERT INTO dg_classes (class) VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), "
    "(10), (11);\n"
    "DROP TABLE IF EXISTS dg_predictions;\n"
    "CREATE TABLE dg_predictions (\n"
    "  device_id Int64, scenario Int8, target String, class Int32, probability Float64)\n"
    "  ENGINE = MergeTree ORDER BY (device_id, target, class);\n";

static int export_script(const dg_model_dir *d, int scenario, int target, const dg_features *f,
                  dg_textbuf *out, dg_sql_export *rep, dg_err *err)
{
    memset(rep, 0, sizeof *rep);
    dg_linear_view views[3][DG_TARGET_COUNT];
    int ok[3][DG_TARGET_COUNT] = {{0}};
    size_t used = 0;
    int selected = 0;
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++) {
            const dg_loaded_model *m = &d->m[s][t];
            if (!m->present || (scenario && s != scenario) || (target >= 0 && t != target))
                continue;
            selected++;
            if (m->family->linear && m->family->linear(m->model, &views[s][t]) == DG_OK &&
                views[s][t].ncols == dg_design_ncols(&m->spec) &&
                columns_written(&m->spec) == views[s][t].ncols && products_written(&m->spec)) {
                ok[s][t] = 1;
                rep->nmodels++;
                continue;
            }
            int n = snprintf(rep->refused + used, sizeof rep->refused - used, "%ss%d %s (%s)",
                             rep->nrefused ? ", " : "", s, dg_target_name((dg_target)t),
                             m->family->name);
            if (n > 0 && used + (size_t)n < sizeof rep->refused)
                used += (size_t)n;
            rep->nrefused++;
        }
    if (!selected)
        return dg_fail(err, "%s: no model%s%s to export", d->path,
                       scenario ? (scenario == 1 ? " of scenario 1" : " of scenario 2") : "",
                       target >= 0 ? " for that target" : "");
    if (!rep->nmodels || (scenario && target >= 0 && rep->nrefused))
        return dg_fail(err,
                       "%s: no SQL form for %s: only softmax and LIBLINEAR's logistic "
                       "regressions (and group12-sum over one) are linear scores an engine "
                       "can compute; xgboost, LIBSVM, liblinear-svr, phone-softmax, "
                       "persona-softmax, blend and the "
                       "priors are not exported",
                       d->path, rep->refused);
    dg_textbuf_puts(out, "-- demographer export-sql: the chosen linear models of a model "
                         "directory, scored by the engine.\n"
                         "-- Writes dg_predictions (device_id, scenario, target, class, "
                         "probability).\n");
    if (rep->nrefused)
        dg_textbuf_printf(out, "-- Not exported (no SQL form): %s.\n", rep->refused);
    dg_textbuf_puts(out, clickhouse ? schema_clickhouse : schema);
    if (f)
        rep->nfeature_rows = feature_rows(out, f);
    char m[64];
    for (int s = 1; s <= 2; s++)
        for (int t = 0; t < DG_TARGET_COUNT; t++) {
            if (!ok[s][t])
                continue;
            model_name(m, sizeof m, s, (dg_target)t);
            dg_textbuf_printf(out, "\n-- scenario %d, %s: %s %s\n", s,
                              dg_target_name((dg_target)t), d->m[s][t].family->name,
                              d->m[s][t].params);
            columns(out, m, &d->m[s][t].spec);
            weights(out, m, &views[s][t]);
            if (clickhouse)
                scoring_clickhouse(out, m, s, (dg_target)t, &views[s][t]);
            else
                scoring(out, m, s, (dg_target)t, &views[s][t]);
        }
    return DG_OK;
}

int dg_export_sql(const dg_model_dir *d, int scenario, int target, const dg_features *f,
                  dg_textbuf *out, dg_sql_export *rep, dg_err *err)
{
    clickhouse = 0;
    return export_script(d, scenario, target, f, out, rep, err);
}

int dg_export_sql_clickhouse(const dg_model_dir *d, int scenario, int target,
                             const dg_features *f, dg_textbuf *out, dg_sql_export *rep,
                             dg_err *err)
{
    clickhouse = 1;
    int rc = export_script(d, scenario, target, f, out, rep, err);
    clickhouse = 0;
    return rc;
}
