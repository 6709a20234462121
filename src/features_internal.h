/* What features.c shares with the pushdown path (features_pushdown.c): the
 * dense column layout and the per-device computations that must give the same
 * bits from raw rows and from rows the server aggregated. Not a public
 * header. */
#ifndef DEMOGRAPHER_FEATURES_INTERNAL_H
#define DEMOGRAPHER_FEATURES_INTERNAL_H

#include "demographer/features.h"

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

/* 0..DG_NPARTS-1 from an hour of the day. */
static inline int dg_part_of_hour(int h)
{
    return h / 6;
}

#endif
