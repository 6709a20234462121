/* The labelled devices and the train/test split: each labelled device's
 * targets (gender, age and both group codes) and whether it is in the test
 * split, from the labels table and the mapping file or a seeded stratified
 * split; and the targets' names, tasks and classes. */
#include "demographer/labelled.h"

#include "demographer/i64map.h"
#include "demographer/reconcile.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const target_names[DG_TARGET_COUNT] = {"gender", "age", "group6", "group12"};

const char *dg_target_name(dg_target t)
{
    return (unsigned)t < DG_TARGET_COUNT ? target_names[t] : "?";
}

int dg_target_by_name(const char *name)
{
    for (int t = 0; t < DG_TARGET_COUNT; t++)
        if (strcmp(target_names[t], name) == 0)
            return t;
    return -1;
}

dg_task dg_target_task(dg_target t)
{
    return t == DG_TARGET_GENDER ? DG_TASK_BINARY
           : t == DG_TARGET_AGE  ? DG_TASK_REGRESSION
                                 : DG_TASK_MULTICLASS;
}

int dg_target_nclasses(dg_target t)
{
    return t == DG_TARGET_GENDER ? 2 : t == DG_TARGET_GROUP6 ? 6 : t == DG_TARGET_GROUP12 ? 12 : 0;
}

double dg_labelled_y(const dg_labelled *l, dg_target t, uint32_t i)
{
    switch (t) {
    case DG_TARGET_GENDER: return l->female[i];
    case DG_TARGET_AGE: return l->age[i];
    case DG_TARGET_GROUP6: return l->group6[i];
    default: return l->group12[i];
    }
}

void dg_labelled_free(dg_labelled *l)
{
    free(l->row);
    free(l->device_id);
    free(l->female);
    free(l->age);
    free(l->group6);
    free(l->group12);
    free(l->is_test);
    free(l->has_events);
    memset(l, 0, sizeof *l);
}

int dg_labelled_build(const dg_dataset *ds, const dg_features *f, double test_share,
                      uint64_t seed, dg_labelled *out, dg_err *err)
{
    memset(out, 0, sizeof *out);
    const dg_table *lt = dg_dataset_table(ds, DG_T_LABELS);
    if (!lt)
        return dg_fail(err, "the data set has no labels table (gender_age_train.csv or "
                            "train.csv): nothing to train on");
    const dg_column *idc = dg_table_column(lt, "device_id"), *gc = dg_table_column(lt, "gender"),
                    *ac = dg_table_column(lt, "age");
    if (!idc || !gc || !ac)
        return dg_fail(err, "the labels table lacks device_id, gender or age");
    int evcol = dg_features_col(f, "events");
    dg_i64map rows;
    dg_i64map_init(&rows);
    dg_i64map_adopt(&rows, memcpy(dg_xmalloc(((size_t)f->ndevices + 1) * sizeof(int64_t)),
                                  f->device_id, (size_t)f->ndevices * sizeof(int64_t)),
                    f->ndevices);
    size_t cap = lt->nrows + 1;
    out->row = dg_xmalloc(cap * sizeof *out->row);
    out->device_id = dg_xmalloc(cap * sizeof *out->device_id);
    out->female = dg_xmalloc(cap);
    out->age = dg_xmalloc(cap * sizeof *out->age);
    out->group6 = dg_xmalloc(cap);
    out->group12 = dg_xmalloc(cap);
    out->is_test = dg_xcalloc(cap, 1);
    out->has_events = dg_xmalloc(cap);
    dg_i64map seen;
    dg_i64map_init(&seen);
    for (uint64_t i = 0; i < lt->nrows; i++) {
        int64_t id = dg_col_id(idc, i);
        const char *g = dg_strpool_get(&lt->strings, dg_col_u32(gc)[i]);
        int32_t age = dg_col_i32(ac)[i];
        uint32_t r = dg_i64map_get(&rows, id);
        int female = strcmp(g, "F") == 0 ? 1 : strcmp(g, "M") == 0 ? 0 : -1;
        uint32_t before = seen.n;
        dg_i64map_put(&seen, id);
        if (female < 0 || age <= 0 || r == UINT32_MAX || seen.n == before) {
            out->skipped++;
            continue;
        }
        uint32_t k = out->n++;
        out->row[k] = r;
        out->device_id[k] = id;
        out->female[k] = (int8_t)female;
        out->age[k] = age;
        out->group6[k] = (int8_t)dg_group6_of(female, age);
        out->group12[k] = (int8_t)dg_group12_of(female, age);
        out->has_events[k] = evcol >= 0 && f->dense[(size_t)r * f->ncols + evcol] > 0;
    }
    dg_i64map_free(&seen);
    dg_i64map_free(&rows);
    const dg_table *st = dg_dataset_table(ds, DG_T_SPLIT);
    const dg_column *sid = st ? dg_table_column(st, "device_id") : NULL;
    const dg_column *sfl = st ? dg_table_column(st, "train_test_flag") : NULL;
    if (sid && sfl && st->nrows > 0) {
        dg_i64map ids;
        dg_i64map_init(&ids);
        int8_t *flag = dg_xmalloc(st->nrows + 1);
        for (uint64_t i = 0; i < st->nrows; i++) {
            uint32_t code = dg_i64map_put(&ids, dg_col_id(sid, i));
            const char *v = dg_strpool_get(&st->strings, dg_col_u32(sfl)[i]);
            if (code + 1 == ids.n)
                flag[code] = strcmp(v, "test") == 0;
        }
        uint32_t ntest = 0;
        for (uint32_t k = 0; k < out->n; k++) {
            uint32_t code = dg_i64map_get(&ids, out->device_id[k]);
            /* A mapping file with the Upgrad copy's cut ids (15 significant
             * digits) beside exact ids elsewhere: match by the cut form. */
            if (code == UINT32_MAX)
                code = dg_i64map_get(&ids, dg_id_trunc15(out->device_id[k]));
            if (code == UINT32_MAX)
                out->unmapped++;
            else
                out->is_test[k] = flag[code];
            ntest += out->is_test[k];
        }
        free(flag);
        dg_i64map_free(&ids);
        out->from_mapping = 1;
        snprintf(out->split_text, sizeof out->split_text,
                 "split: the mapping file's train_test_flag (%u test of %u devices, %u not "
                 "listed taken as train)",
                 ntest, out->n, out->unmapped);
    } else {
        /* Stratified by group12: each group's devices shuffled, the first
         * round(share * n) to the test split. */
        uint32_t ntest = 0;
        for (int g = 0; g < 12; g++) {
            uint32_t n = 0;
            uint32_t *members = dg_xmalloc(((size_t)out->n + 1) * sizeof *members);
            for (uint32_t k = 0; k < out->n; k++)
                if (out->group12[k] == g)
                    members[n++] = k;
            uint64_t state = seed * 0x100000001b3ull + (uint64_t)g;
            for (uint32_t i = n; i > 1; i--) {
                uint32_t j = (uint32_t)(dg_splitmix64(&state) % i), t = members[i - 1];
                members[i - 1] = members[j];
                members[j] = t;
            }
            uint32_t take = (uint32_t)floor(test_share * n + 0.5);
            for (uint32_t i = 0; i < take; i++)
                out->is_test[members[i]] = 1;
            ntest += take;
            free(members);
        }
        snprintf(out->split_text, sizeof out->split_text,
                 "split: seeded stratified (no mapping file): %.0f%% of each group12 to test, "
                 "seed %" PRIu64 " (%u test of %u devices)",
                 100 * test_share, seed, ntest, out->n);
    }
    if (out->n == 0) {
        dg_labelled_free(out);
        return dg_fail(err, "no labelled device has a gender (F/M), an age and features");
    }
    return DG_OK;
}
