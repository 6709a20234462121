/* The API's predictions-file mode: answers GET /v1/devices/{id} from a
 * predictions.csv (prediction.h) held in memory behind a hash index. It has
 * no model, so it serves no POST /v1/predict. */
#include "demographer/i64map.h"
#include "demographer/prediction.h"
#include "demographer/serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dg_table_predictor {
    dg_prediction *rows;
    size_t n;
    dg_i64map index;  /* device id -> row; only read once built, so lookups share it */
    char version[160];
};

static int table_lookup(void *ctx, int64_t id, dg_prediction *out, dg_err *err)
{
    (void)err;
    const dg_table_predictor *t = ctx;
    uint32_t row = dg_i64map_get(&t->index, id);
    if (row == UINT32_MAX)
        return 1;
    *out = t->rows[row];
    return 0;
}

/* FNV-1a over the file: the model version changes when the content does. */
static int hash_file(const char *path, uint64_t *out, dg_err *err)
{
    FILE *f = dg_open_regular(path, 0, err);
    if (!f)
        return DG_ERR;
    uint64_t h = DG_FNV1A_INIT;
    unsigned char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        h = dg_fnv1a(h, buf, got);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return dg_fail(err, "%s: read error", path);
    *out = h;
    return DG_OK;
}

int dg_table_predictor_open(dg_table_predictor **out, const char *path, dg_predictor *pred,
                            dg_err *err)
{
    dg_table_predictor *t = dg_xcalloc(1, sizeof *t);
    uint64_t hash;
    if (hash_file(path, &hash, err) != DG_OK ||
        dg_predictions_read(path, &t->rows, &t->n, err) != DG_OK) {
        free(t);
        return DG_ERR;
    }
    if (t->n >= UINT32_MAX) {
        dg_table_predictor_free(t);
        return dg_fail(err, "%s: %zu rows are more than this server indexes", path, t->n);
    }
    dg_i64map_init(&t->index);
    for (size_t i = 0; i < t->n; i++) {
        uint32_t code = dg_i64map_put(&t->index, t->rows[i].device_id);
        if (code != i) {
            /* Data lines start at line 2. */
            dg_fail(err, "%s:%zu: device %lld appears a second time (first on line %u)", path,
                    i + 2, (long long)t->rows[i].device_id, code + 2);
            dg_table_predictor_free(t);
            return DG_ERR;
        }
    }
    const char *base = strrchr(path, '/');
    snprintf(t->version, sizeof t->version, "predictions:%.100s:%016llx", base ? base + 1 : path,
             (unsigned long long)hash);
    memset(pred, 0, sizeof *pred);
    pred->ctx = t;
    pred->lookup = table_lookup;
    pred->model_version = t->version;
    pred->predict_unavailable = "this server answers from a predictions file and has no model "
                                "directory loaded: POST /v1/predict is not served, "
                                "GET /v1/devices/{device_id} is";
    *out = t;
    return DG_OK;
}

size_t dg_table_predictor_count(const dg_table_predictor *t)
{
    return t->n;
}

void dg_table_predictor_free(dg_table_predictor *t)
{
    if (!t)
        return;
    dg_i64map_free(&t->index);
    free(t->rows);
    free(t);
}
