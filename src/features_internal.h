/* What features.c shares with the pushdown path (features_pushdown.c): the
 * dense column layout and the per-device computations that must give the same
 * bits from raw rows and from rows the server aggregated. Not a public
 * header. */
#ifndef DEMOGRAPHER_FEATURES_INTERNAL_H
#define DEMOGRAPHER_FEATURES_INTERNAL_H

#include "demographer/dataset.h"
#include "demographer/features.h"
#include "demographer/i64map.h"

enum { DG_PART_NIGHT, DG_PART_MORNING, DG_PART_AFTERNOON, DG_PART_EVENING, DG_NPARTS };

/* Column layout: fixed columns first, then one per super-category. */
enum {
    DG_FC_EVENTS,
    DG_FC_ACTIVE_DAYS,
    DG_FC_EVENTS_PER_DAY,
    DG_FC_HOUR0,
    DG_FC_WEEKDAY0 = DG_FC_HOUR0 + 24,
    DG_FC_LAT = DG_FC_WEEKDAY0 + 7,
    DG_FC_LON,
    DG_FC_PART_LAT, /* lat, lon for each part of the day */
    DG_FC_KM_NIGHT_AFTERNOON = DG_FC_PART_LAT + 2 * DG_NPARTS,
    DG_FC_KM_MAX_PARTS,
    DG_FC_KM_SPREAD,
    DG_FC_LOCATIONS,
    DG_FC_LOCATED_SHARE,
    DG_FC_APPS,
    DG_FC_APPS_ACTIVE,
    DG_FC_APP_EVENTS,
    DG_FC_FIXED
};

/* The place columns of one device's row from its observed locations: plat[p],
 * plon[p] for each part of the day p and, at DG_NPARTS, all of them (in any
 * order; sorted here), np[p] their counts; packed[0..np[DG_NPARTS]) the same
 * points as (latitude bits << 32 | longitude bits), sorted here. The spread
 * is summed over the sorted points, so that the order the rows came in does
 * not change a bit. scratch holds np[DG_NPARTS] floats. */
void dg_features_places(float *row, float *plat[DG_NPARTS + 1], float *plon[DG_NPARTS + 1],
                        const size_t np[DG_NPARTS + 1], uint64_t *packed, float *scratch);

/* An empty nrows x ncols CSR (ptr zeroed, rows appended by the caller),
 * after freeing what m held. */
void dg_csr_start(dg_csr *m, uint32_t nrows, uint32_t ncols);

/* The label vocabulary and each app's labels, built the same way by both
 * paths: labels are coded in label_categories' order, then any label only
 * app_labels names; lstart/lidx is a CSR from app code (appmap's codes) to
 * label codes, each app's labels in app_labels' row order; super[l] is label
 * l's super-category (-1 for all without sc; the last one for a label
 * label_categories does not list). Sets f->label_vocab, and starts f's three
 * bags (apps installed, apps active: napps columns; labels: nlabels) as empty
 * CSRs of f->ndevices rows, which the caller fills. */
typedef struct dg_app_labels {
    uint32_t nlabels;
    uint64_t *lstart; /* appmap->n + 1 entries */
    uint32_t *lidx;
    int *super;
} dg_app_labels;
void dg_app_labels_build(const dg_dataset *ds, const dg_supercats *sc, const dg_i64map *appmap,
                         dg_features *f, dg_app_labels *out);
void dg_app_labels_free(dg_app_labels *l);

/* 0..DG_NPARTS-1 from an hour of the day. */
static inline int dg_part_of_hour(int h)
{
    return h / 6;
}

#endif
