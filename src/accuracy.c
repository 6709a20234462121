/* The closure of the peer-to-floor gap (accuracy.h): the generator's
 * posterior and a peer's predictions, scored on the same test devices as
 * the run's own predictions. */
#include "demographer/accuracy.h"

#include "demographer/csv.h"
#include "demographer/metrics.h"
#include "demographer/prediction.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One device's posterior: P(male), E[age] and P of each Kaggle group. */
typedef struct posterior {
    int64_t device_id;
    double p_male, expected_age, group12[12];
} posterior;

static int cmp_posterior(const void *a, const void *b)
{
    int64_t x = ((const posterior *)a)->device_id, y = ((const posterior *)b)->device_id;
    return (x > y) - (x < y);
}

static int cmp_prediction(const void *a, const void *b)
{
    int64_t x = ((const dg_prediction *)a)->device_id, y = ((const dg_prediction *)b)->device_id;
    return (x > y) - (x < y);
}

/* The truth file of `synth --truth`: the header
 *   device_id,p_male,expected_age,p_F23-,...,p_M39+
 * (the groups in dg_group12_names order), then one row per device. */
#define POSTERIOR_COLUMNS 15

static int posterior_read(const char *path, posterior **out, size_t *n, dg_err *err)
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
    posterior *v = dg_xmalloc(cap * sizeof *v);
    const char *s = eol ? eol + 1 : end;
    for (long line = 2; s < end; line++) {
        eol = memchr(s, '\n', (size_t)(end - s));
        if (!eol)
            eol = end;
        const char *stop = eol > s && eol[-1] == '\r' ? eol - 1 : eol;
        if (rows == cap)
            v = dg_xrealloc(v, (cap *= 2) * sizeof *v);
        posterior *p = &v[rows++];
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
                p->p_male = x;
            else if (c == 2)
                p->expected_age = x;
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
    qsort(v, rows, sizeof *v, cmp_posterior);
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

/* The scores of one set of predictions of the test devices of a scenario:
 * gender log loss, group12 log loss, age RMSE. */
typedef struct scores {
    double gender, group12, age;
} scores;

/* The targets' values of the n devices, and the three columns to score. */
typedef struct scored_set {
    size_t n;
    double *female, *group12, *age; /* labels */
    double *p_female, *p12, *pred_age;
} scored_set;

static void set_alloc(scored_set *s, size_t n)
{
    s->n = 0;
    s->female = dg_xmalloc((n + 1) * sizeof *s->female);
    s->group12 = dg_xmalloc((n + 1) * sizeof *s->group12);
    s->age = dg_xmalloc((n + 1) * sizeof *s->age);
    s->p_female = dg_xmalloc((n + 1) * sizeof *s->p_female);
    s->p12 = dg_xmalloc((n + 1) * 12 * sizeof *s->p12);
    s->pred_age = dg_xmalloc((n + 1) * sizeof *s->pred_age);
}

static void set_free(scored_set *s)
{
    free(s->female);
    free(s->group12);
    free(s->age);
    free(s->p_female);
    free(s->p12);
    free(s->pred_age);
}

static scores set_score(const scored_set *s)
{
    return (scores){dg_log_loss_binary(s->female, s->p_female, s->n),
                    dg_log_loss_multi(s->group12, s->p12, s->n, 12),
                    dg_rmse(s->age, s->pred_age, s->n)};
}

static double closure_of(double model, double peer, double floor)
{
    return isfinite(peer) && peer > floor ? (peer - model) / (peer - floor) : NAN;
}

int dg_accuracy_compute(const dg_labelled *l, const dg_prediction *pred, size_t npred,
                        const char *truth_path, const char *peer_path, dg_accuracy *out,
                        dg_err *err)
{
    memset(out, 0, sizeof *out);
    posterior *post = NULL;
    size_t npost = 0;
    dg_prediction *peer = NULL;
    size_t npeer = 0;
    if (posterior_read(truth_path, &post, &npost, err) != DG_OK)
        return DG_ERR;
    if (peer_path) {
        if (dg_predictions_read(peer_path, &peer, &npeer, err) != DG_OK) {
            free(post);
            return DG_ERR;
        }
        qsort(peer, npeer, sizeof *peer, cmp_prediction);
    }
    /* The labels of the predicted devices, by device id. */
    dg_prediction *mine = dg_xmalloc((npred + 1) * sizeof *mine);
    memcpy(mine, pred, npred * sizeof *mine);
    qsort(mine, npred, sizeof *mine, cmp_prediction);
    int rc = DG_OK;
    for (int sc = 1; sc <= 2 && rc == DG_OK; sc++) {
        scored_set model, floor, base;
        set_alloc(&model, l->n);
        set_alloc(&floor, l->n);
        set_alloc(&base, l->n);
        for (uint32_t i = 0; i < l->n && rc == DG_OK; i++) {
            if (!l->is_test[i] || (l->has_events[i] ? 1 : 2) != sc)
                continue;
            int64_t id = l->device_id[i];
            dg_prediction key = {.device_id = id};
            posterior pkey = {.device_id = id};
            const dg_prediction *m = bsearch(&key, mine, npred, sizeof *mine, cmp_prediction);
            const posterior *t = bsearch(&pkey, post, npost, sizeof *post, cmp_posterior);
            const dg_prediction *b =
                peer ? bsearch(&key, peer, npeer, sizeof *peer, cmp_prediction) : NULL;
            if (!m)
                rc = dg_fail(err, "the run's predictions: test device %lld is not predicted",
                             (long long)id);
            else if (!t)
                rc = dg_fail(err, "%s: expected every test device, found no row for device_id "
                                  "%lld", truth_path, (long long)id);
            else if (peer && !b)
                rc = dg_fail(err, "%s: expected every test device, found no row for device_id "
                                  "%lld", peer_path, (long long)id);
            if (rc != DG_OK)
                break;
            scored_set *sets[3] = {&model, &floor, &base};
            for (int k = 0; k < (peer ? 3 : 2); k++) {
                scored_set *s = sets[k];
                size_t j = s->n++;
                s->female[j] = l->female[i] == 1;
                s->group12[j] = l->group12[i];
                s->age[j] = l->age[i];
                if (k == 1) {
                    s->p_female[j] = 1.0 - t->p_male;
                    memcpy(s->p12 + 12 * j, t->group12, sizeof t->group12);
                    s->pred_age[j] = t->expected_age;
                } else {
                    const dg_prediction *p = k == 0 ? m : b;
                    s->p_female[j] = p->p_female;
                    memcpy(s->p12 + 12 * j, p->group12, sizeof p->group12);
                    s->pred_age[j] = p->age;
                }
            }
        }
        if (rc == DG_OK && model.n > 0) {
            scores sm = set_score(&model), sf = set_score(&floor);
            scores sb = peer ? set_score(&base) : (scores){NAN, NAN, NAN};
            const struct {
                dg_target target;
                dg_metric metric;
                double model, floor, peer;
            } row[3] = {{DG_TARGET_GENDER, DG_METRIC_log_loss, sm.gender, sf.gender, sb.gender},
                        {DG_TARGET_GROUP12, DG_METRIC_log_loss, sm.group12, sf.group12,
                         sb.group12},
                        {DG_TARGET_AGE, DG_METRIC_rmse, sm.age, sf.age, sb.age}};
            for (int k = 0; k < 3; k++)
                out->row[out->n++] = (dg_closure){sc,
                                                  row[k].target,
                                                  row[k].metric,
                                                  (uint32_t)model.n,
                                                  row[k].model,
                                                  row[k].floor,
                                                  row[k].peer,
                                                  closure_of(row[k].model, row[k].peer,
                                                             row[k].floor)};
        }
        set_free(&model);
        set_free(&floor);
        set_free(&base);
    }
    free(mine);
    free(peer);
    free(post);
    return rc;
}
