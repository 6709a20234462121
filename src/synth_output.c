/* The generator's output: files written aside and renamed into place, and
 * the writers of every file. */
#include "synth_format.h"
#include "synth_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const group12_names[12] = {"F23-",   "F24-26", "F27-28", "F29-32",
                                              "F33-42", "F43+",   "M22-",   "M23-26",
                                              "M27-28", "M29-31", "M32-38", "M39+"};
static const char *const group6_names[6] = {"M0-24", "M25-32", "M32+", "F0-24", "F25-32", "F32+"};


void synth_write_chunk(void *ctx, size_t chunk, int worker)
{
    writer *W = ctx;
    gen *G = W->G;
    const world *w = &G->w;
    buf *bev = &W->bev[worker], *bae = &W->bae[worker];
    bev->len = bae->len = 0;
    uint64_t lo = (uint64_t)chunk * EV_CHUNK;
    uint64_t hi = lo + EV_CHUNK < G->n_events ? lo + EV_CHUNK : G->n_events;
    rng r;
    rng_init(&r, w->seed, ST_ROWS, chunk);
    char idbuf[24];
    uint64_t rows = 0;
    for (uint64_t e = lo; e < hi; e++) {
        const event *ev = &G->events[e];
        const dev *d = &G->devs[ev->dev];
        char *p = buf_room(bev, 96);
        char *eid = p;
        p = put_u64(p, e + 1);
        size_t eid_len = (size_t)(p - eid);
        memcpy(idbuf, eid, eid_len);
        *p++ = ',';
        p = put_str(p, W->upgrad ? G->idtrunc[ev->dev] : G->idstr[ev->dev]);
        *p++ = ',';
        p = put_time(p, ev->t);
        *p++ = ',';
        p = put_coord(p, ev->lon);
        *p++ = ',';
        p = put_coord(p, ev->lat);
        *p++ = '\n';
        buf_done(bev, p);
        if (!ev->apps)
            continue;
        const uint32_t *set = G->apps + d->app_off;
        /* a later app event lists a random subset (all of it when the
         * subset would be empty); the first lists the whole set */
        bool all = ev->first;
        uint8_t *listed = W->listed[worker];
        uint32_t n = d->n_apps;
        if (!all) {
            uint32_t any = 0;
            for (uint32_t a = 0; a < n; a++)
                any += listed[a] = rng_unif(&r) < APP_LIST_P;
            all = any == 0;
        }
        p = buf_room(bae, (size_t)n * 48);
        for (uint32_t a = 0; a < n; a++) {
            if (!all && !listed[a])
                continue;
            uint32_t j = set[a];
            double pa = w->app_act[j] * d->act;
            bool active = rng_unif(&r) < (pa < 0.97 ? pa : 0.97);
            memcpy(p, idbuf, eid_len);
            p += eid_len;
            *p++ = ',';
            p = put_i64(p, w->app_id[j]);
            memcpy(p, active ? ",1,1\n" : ",1,0\n", 5);
            p += 5;
            rows++;
        }
        buf_done(bae, p);
    }
    W->chunk_rows[chunk] = rows;

    pthread_mutex_lock(&W->mu);
    while (W->next_write != chunk && !atomic_load(&W->p->stop))
        pthread_cond_wait(&W->cv, &W->mu);
    pthread_mutex_unlock(&W->mu);
    if (!atomic_load(&W->p->stop)) {
        dg_err e;
        if (dg_atomic_write(&W->ev->f, bev->p, bev->len, &e) != DG_OK ||
            dg_atomic_write(&W->ae->f, bae->p, bae->len, &e) != DG_OK) {
            pthread_mutex_lock(&W->mu);
            if (!W->failed) {
                W->failed = 1;
                W->err = e;
            }
            pthread_mutex_unlock(&W->mu);
            atomic_store(&W->p->stop, 1);
        }
    }
    pthread_mutex_lock(&W->mu);
    W->next_write = chunk + 1;
    pthread_cond_broadcast(&W->cv);
    pthread_mutex_unlock(&W->mu);
}

/* ---------------------------------------------------------------------------
 * The small files
 * ------------------------------------------------------------------------- */

static int write_buf(outfile *o, buf *b, dg_err *err)
{
    int rc = dg_atomic_write(&o->f, b->p, b->len, err);
    b->len = 0;
    return rc;
}

#define FLUSH_AT (8u << 20)

int synth_write_labels_file(gen *G, outfile *o, bool upgrad, dg_err *err)
{
    buf b = {0};
    char *p = buf_room(&b, 64);
    p = put_str(p, upgrad ? "device_id,gender,age,group_train\n" : "device_id,gender,age,group\n");
    buf_done(&b, p);
    int rc = DG_OK;
    for (uint32_t i = 0; i < G->n && rc == DG_OK; i++) {
        const dev *d = &G->devs[i];
        if (!(d->flags & F_LABELLED))
            continue;
        int male = G->w.cls_male[d->cls], age = G->w.cls_age[d->cls];
        p = buf_room(&b, 64);
        p = put_str(p, upgrad ? G->idtrunc[i] : G->idstr[i]);
        p = put_str(p, male ? ",M," : ",F,");
        p = put_u64(p, (uint64_t)age);
        *p++ = ',';
        p = put_str(p, upgrad ? group6_names[group6(male, age)] : group12_names[group12(male, age)]);
        *p++ = '\n';
        buf_done(&b, p);
        o->rows++;
        if (b.len > FLUSH_AT)
            rc = write_buf(o, &b, err);
    }
    if (rc == DG_OK)
        rc = write_buf(o, &b, err);
    free(b.p);
    return rc;
}

int synth_write_test_file(gen *G, outfile *o, dg_err *err)
{
    buf b = {0};
    char *p = buf_room(&b, 16);
    p = put_str(p, "device_id\n");
    buf_done(&b, p);
    for (uint32_t i = 0; i < G->n; i++) {
        if (G->devs[i].flags & F_LABELLED)
            continue;
        p = buf_room(&b, 32);
        p = put_str(p, G->idstr[i]);
        *p++ = '\n';
        buf_done(&b, p);
        o->rows++;
    }
    int rc = write_buf(o, &b, err);
    free(b.p);
    return rc;
}

/* The phone rows, shuffled (duplicated devices' second rows land anywhere). */
int synth_write_phone_file(gen *G, outfile *o, bool upgrad, dg_err *err)
{
    uint32_t rows = G->n;
    for (uint32_t i = 0; i < G->n; i++)
        rows += (G->devs[i].flags & F_DUP) != 0;
    uint32_t *order = dg_xmalloc(sizeof(uint32_t) * rows);
    uint32_t k = 0;
    for (uint32_t i = 0; i < G->n; i++) {
        order[k++] = i << 1;
        if (G->devs[i].flags & F_DUP)
            order[k++] = (i << 1) | 1;
    }
    rng r;
    rng_init(&r, G->w.seed, ST_SHUFFLE, 0);
    for (uint32_t i = rows; i > 1; i--) {
        uint32_t j = rng_below(&r, i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    buf b = {0};
    char *p = buf_room(&b, 64);
    p = put_str(p, "device_id,phone_brand,device_model\n");
    buf_done(&b, p);
    for (uint32_t q = 0; q < rows; q++) {
        uint32_t i = order[q] >> 1;
        const dev *d = &G->devs[i];
        uint32_t m = (order[q] & 1) ? d->model2 : d->model;
        const dg_synth_brand *br = &dg_synth_brands[G->w.model_brand[m]];
        p = buf_room(&b, 256);
        p = put_str(p, G->idstr[i]);
        *p++ = ',';
        p = put_field(p, upgrad ? br->en : br->zh);
        *p++ = ',';
        p = put_field(p, upgrad ? G->w.model_mojibake[m] : dg_synth_models[m].name);
        *p++ = '\n';
        buf_done(&b, p);
    }
    o->rows = rows;
    free(order);
    int rc = write_buf(o, &b, err);
    free(b.p);
    return rc;
}

int synth_write_app_labels_file(gen *G, outfile *o, dg_err *err)
{
    const world *w = &G->w;
    uint32_t n = w->n_catalogue;
    uint32_t *order = dg_xmalloc(sizeof(uint32_t) * n);
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    rng r;
    rng_init(&r, w->seed, ST_SHUFFLE, 1);
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rng_below(&r, i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    buf b = {0};
    char *p = buf_room(&b, 32);
    p = put_str(p, "app_id,label_id\n");
    buf_done(&b, p);
    int rc = DG_OK;
    for (uint32_t q = 0; q < n && rc == DG_OK; q++) {
        uint32_t a = order[q];
        p = buf_room(&b, 32 * MAX_APP_LABELS);
        for (uint32_t l = w->label_off[a]; l < w->label_off[a + 1]; l++) {
            p = put_i64(p, w->app_id[a]);
            *p++ = ',';
            p = put_u64(p, w->labels[l]);
            *p++ = '\n';
        }
        buf_done(&b, p);
        if (b.len > FLUSH_AT)
            rc = write_buf(o, &b, err);
    }
    o->rows = w->n_label_rows;
    free(order);
    if (rc == DG_OK)
        rc = write_buf(o, &b, err);
    free(b.p);
    return rc;
}

uint32_t synth_count_lines(const char *s)
{
    uint32_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The Upgrad mapping file: labelled devices with their 6-group label and a
 * train / test flag drawn with exact counts inside each group. */
int synth_write_mapping_file(gen *G, outfile *o, bool upgrad, dg_err *err)
{
    uint32_t *by[6], cnt[6] = {0};
    for (int g = 0; g < 6; g++)
        by[g] = dg_xmalloc(sizeof(uint32_t) * (G->n ? G->n : 1));
    for (uint32_t i = 0; i < G->n; i++) {
        const dev *d = &G->devs[i];
        if (!(d->flags & F_LABELLED))
            continue;
        int g = group6(G->w.cls_male[d->cls], G->w.cls_age[d->cls]);
        by[g][cnt[g]++] = i;
    }
    rng r;
    rng_init(&r, G->w.seed, ST_MAPPING, 0);
    for (int g = 0; g < 6; g++) {
        uint32_t n = cnt[g], ntrain = (uint32_t)llround(n * REAL_MAPPING_TRAIN / REAL_LABELLED);
        for (uint32_t i = n; i > 1; i--) {
            uint32_t j = rng_below(&r, i), t = by[g][i - 1];
            by[g][i - 1] = by[g][j];
            by[g][j] = t;
        }
        for (uint32_t i = 0; i < n; i++)
            if (i < ntrain)
                G->devs[by[g][i]].flags |= F_TRAIN;
        free(by[g]);
    }
    buf b = {0};
    char *p = buf_room(&b, 64);
    p = put_str(p, "device_id,gender,age,group,train_test_flag\n");
    buf_done(&b, p);
    for (uint32_t i = 0; i < G->n; i++) {
        const dev *d = &G->devs[i];
        if (!(d->flags & F_LABELLED))
            continue;
        int male = G->w.cls_male[d->cls], age = G->w.cls_age[d->cls];
        p = buf_room(&b, 80);
        p = put_str(p, upgrad ? G->idtrunc[i] : G->idstr[i]);
        p = put_str(p, male ? ",M," : ",F,");
        p = put_u64(p, (uint64_t)age);
        *p++ = ',';
        p = put_str(p, group6_names[group6(male, age)]);
        p = put_str(p, (d->flags & F_TRAIN) ? ",train\n" : ",test\n");
        buf_done(&b, p);
        o->rows++;
    }
    int rc = write_buf(o, &b, err);
    free(b.p);
    return rc;
}

int synth_write_truth_file(gen *G, outfile *o, dg_err *err)
{
    buf b = {0};
    char *p = buf_room(&b, 256);
    p = put_str(p, "device_id,p_male,expected_age");
    for (int g = 0; g < 12; g++) {
        p = put_str(p, ",p_");
        p = put_str(p, group12_names[g]);
    }
    *p++ = '\n';
    buf_done(&b, p);
    int rc = DG_OK;
    for (uint32_t i = 0; i < G->n && rc == DG_OK; i++) {
        const double *t = G->truth + (size_t)i * TRUTH_COLS;
        p = buf_room(&b, 256);
        p = put_str(p, G->idstr[i]);
        *p++ = ',';
        p = put_fixed(p, t[0], 9);
        *p++ = ',';
        p = put_fixed(p, t[1], 4);
        for (int g = 0; g < 12; g++) {
            *p++ = ',';
            p = put_fixed(p, t[2 + g], 9);
        }
        *p++ = '\n';
        buf_done(&b, p);
        o->rows++;
        if (b.len > FLUSH_AT)
            rc = write_buf(o, &b, err);
    }
    if (rc == DG_OK)
        rc = write_buf(o, &b, err);
    free(b.p);
    return rc;
}

