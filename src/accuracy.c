/* The closure of the peer-to-floor gap (accuracy.h): the generator's
 * posterior and a peer's predictions, scored on the same test devices as
 * the run's own predictions. */
#include "demographer/accuracy.h"

#include "demographer/parse.h"
#include "demographer/metrics.h"
#include "demographer/prediction.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_prediction(const void *a, const void *b)
{
    int64_t x = ((const dg_prediction *)a)->device_id, y = ((const dg_prediction *)b)->device_id;
    return (x > y) - (x < y);
}

/* The truth file of `synth --truth`: the header
 *   device_id,p_male,expected_age,p_F23-,...,p_M39+
 * (the groups in dg_group12_names order), then one row per device; read as
 * the floor's predictions (P(female) = 1 - p_male, the expected age, the
 * groups; no group6), sorted by device. */
#define POSTERIOR_COLUMNS 15

static int posterior_read(const char *path, dg_prediction **out, size_t *n, dg_err *err)
{
    char *text;
    size_t len;
    if (dg_read_file(path, &text, &len, err) != DG_OK)
        return DG_ERR;
    char want[256] = "device_id,p_male,expected_age";
    for (int g = 0; g < 12; g++)
        snprintf(want + strlen(want), sizeof want - strlen(want), ",p_%s", dg_group12_names[g]);
    const char *end = text + len, *eol = memchr(text, '\n', len);
    size_t head = eol ? (size_t)(eol - text) : len;
    if (head > 0 && text[head - 1] == '\r')
        head--;
    if (head != strlen(want) || memcmp(text, want, head) != 0) {
        dg_fail(err, "%s:1:1: expected the header '%s', found '%.*s'", path, want,
                (int)(head > 200 ? 200 : head), text);
        free(text);
        return DG_ERR;
    }
    size_t cap = 1024, rows = 0;
    dg_prediction *v = dg_xmalloc(cap * sizeof *v);
    const char *s = eol ? eol + 1 : end;
    for (long line = 2; s < end; line++) {
        eol = memchr(s, '\n', (size_t)(end - s));
        if (!eol)
            eol = end;
        const char *stop = eol > s && eol[-1] == '\r' ? eol - 1 : eol;
        if (rows == cap)
            v = dg_xrealloc(v, (cap *= 2) * sizeof *v);
        dg_prediction *p = &v[rows++];
        memset(p, 0, sizeof *p);
        const char *field = s;
        for (int c = 0; c < POSTERIOR_COLUMNS; c++) {
            const char *fe = field;
            while (fe < stop && *fe != ',')
                fe++;
            double x = 0;
            int rc = c == 0 ? dg_parse_i64(field, (size_t)(fe - field), &p->device_id)
                            : dg_parse_f64(field, (size_t)(fe - field), &x);
            const char *name = c == 0 ? "device_id" : c == 1 ? "p_male"
                             : c == 2 ? "expected_age" : dg_group12_names[c - 3];
            if (rc < 0 || (c != 0 && c != 2 && !(x >= 0 && x <= 1))) {
                dg_fail(err, "%s:%ld:%d: expected %s in column %s, found '%.*s'", path, line,
                        (int)(field - s) + 1,
                        rc < 0 ? dg_parse_expected(c == 0 ? DG_COL_I64 : DG_COL_F32, rc)
                               : "a probability (0 to 1)",
                        name, (int)(fe - field > 40 ? 40 : fe - field), field);
                goto fail;
            }
            if (c == 1)
                p->p_female = 1.0 - x;
            else if (c == 2)
                p->age = x;
            else if (c > 2)
                p->group12[c - 3] = x;
            if (c + 1 < POSTERIOR_COLUMNS && fe == stop) {
                dg_fail(err, "%s:%ld:%d: expected %d fields, found %d", path, line,
                        (int)(fe - s) + 1, POSTERIOR_COLUMNS, c + 1);
                goto fail;
            }
            if (c + 1 == POSTERIOR_COLUMNS && fe != stop) {
                dg_fail(err, "%s:%ld:%d: expected the end of the line after %d fields, found "
                             "'%.*s'", path, line, (int)(fe - s) + 1, POSTERIOR_COLUMNS,
                        (int)(stop - fe > 20 ? 20 : stop - fe), fe);
                goto fail;
            }
            field = fe + 1;
        }
        s = eol + 1;
    }
    free(text);
    qsort(v, rows, sizeof *v, cmp_prediction);
    for (size_t i = 1; i < rows; i++)
        if (v[i].device_id == v[i - 1].device_id) {
            int64_t twice = v[i].device_id;
            free(v);
            return dg_fail(err, "%s: expected each device once, found device_id %lld twice", path,
                           (long long)twice);
        }
    *out = v;
    *n = rows;
    return DG_OK;
fail:
    free(text);
    free(v);
    return DG_ERR;
}

/* One source's scores on the n test devices of a scenario (labels[k] their
 * female flag, group and age; src[k] its prediction): gender log loss,
 * group12 log loss, age RMSE. */
typedef struct scores {
    double gender, group12, age;
} scores;

static scores score(const double *female, const double *group12, const double *age,
                    const dg_prediction *const *src, size_t n)
{
    double *pf = dg_xmalloc((n + 1) * sizeof *pf), *pa = dg_xmalloc((n + 1) * sizeof *pa);
    double *p12 = dg_xmalloc((n + 1) * 12 * sizeof *p12);
    for (size_t k = 0; k < n; k++) {
        pf[k] = src[k]->p_female;
        pa[k] = src[k]->age;
        memcpy(p12 + 12 * k, src[k]->group12, sizeof src[k]->group12);
    }
    scores r = {dg_log_loss_binary(female, pf, n), dg_log_loss_multi(group12, p12, n, 12),
                dg_rmse(age, pa, n)};
    free(pf);
    free(pa);
    free(p12);
    return r;
}

static double closure_of(double model, double peer, double floor)
{
    return isfinite(peer) && peer > floor ? (peer - model) / (peer - floor) : NAN;
}

/* The prediction of device id in the sorted v, or NULL. */
static const dg_prediction *find(const dg_prediction *v, size_t n, int64_t id)
{
    dg_prediction key = {.device_id = id};
    return v ? bsearch(&key, v, n, sizeof *v, cmp_prediction) : NULL;
}

int dg_accuracy_compute(const dg_labelled *l, const dg_prediction *pred, size_t npred,
                        const char *truth_path, const char *peer_path, dg_accuracy *out,
                        dg_err *err)
{
    memset(out, 0, sizeof *out);
    /* The three sources, each sorted by device: the run's, the floor's, the peer's. */
    enum { MINE, FLOOR, PEER };
    dg_prediction *v[3] = {NULL, NULL, NULL};
    size_t nv[3] = {npred, 0, 0};
    const char *what[3] = {"the run's predictions", truth_path, peer_path};
    if (posterior_read(truth_path, &v[FLOOR], &nv[FLOOR], err) != DG_OK)
        return DG_ERR;
    if (peer_path && dg_predictions_read(peer_path, &v[PEER], &nv[PEER], err) != DG_OK) {
        free(v[FLOOR]);
        return DG_ERR;
    }
    v[MINE] = dg_xmalloc((npred + 1) * sizeof *v[MINE]);
    memcpy(v[MINE], pred, npred * sizeof *v[MINE]);
    qsort(v[MINE], npred, sizeof *v[MINE], cmp_prediction);
    if (v[PEER])
        qsort(v[PEER], nv[PEER], sizeof *v[PEER], cmp_prediction);
    int nsrc = peer_path ? 3 : 2, rc = DG_OK;
    double *female = dg_xmalloc(((size_t)l->n + 1) * sizeof *female);
    double *group12 = dg_xmalloc(((size_t)l->n + 1) * sizeof *group12);
    double *age = dg_xmalloc(((size_t)l->n + 1) * sizeof *age);
    const dg_prediction **src[3];
    for (int k = 0; k < 3; k++)
        src[k] = dg_xmalloc(((size_t)l->n + 1) * sizeof *src[k]);
    for (int sc = 1; sc <= 2 && rc == DG_OK; sc++) {
        size_t n = 0;
        for (uint32_t i = 0; i < l->n && rc == DG_OK; i++) {
            if (!l->is_test[i] || (l->has_events[i] ? 1 : 2) != sc)
                continue;
            for (int k = 0; k < nsrc && rc == DG_OK; k++)
                if (!(src[k][n] = find(v[k], nv[k], l->device_id[i])))
                    rc = dg_fail(err, "%s: expected every test device, found no row for "
                                      "device_id %lld", what[k], (long long)l->device_id[i]);
            female[n] = l->female[i] == 1;
            group12[n] = l->group12[i];
            age[n++] = l->age[i];
        }
        if (rc != DG_OK || n == 0)
            continue;
        scores s[3];
        for (int k = 0; k < 3; k++)
            s[k] = k < nsrc ? score(female, group12, age, src[k], n) : (scores){NAN, NAN, NAN};
        const struct {
            dg_target target;
            dg_metric metric;
            double model, floor, peer;
        } row[3] = {{DG_TARGET_GENDER, DG_METRIC_log_loss, s[MINE].gender, s[FLOOR].gender,
                     s[PEER].gender},
                    {DG_TARGET_GROUP12, DG_METRIC_log_loss, s[MINE].group12, s[FLOOR].group12,
                     s[PEER].group12},
                    {DG_TARGET_AGE, DG_METRIC_rmse, s[MINE].age, s[FLOOR].age, s[PEER].age}};
        for (int k = 0; k < 3; k++)
            out->row[out->n++] = (dg_closure){
                sc,          row[k].target, row[k].metric, (uint32_t)n, row[k].model,
                row[k].floor, row[k].peer,  closure_of(row[k].model, row[k].peer, row[k].floor)};
    }
    for (int k = 0; k < 3; k++) {
        free(src[k]);
        free(v[k]);
    }
    free(female);
    free(group12);
    free(age);
    return rc;
}
