/* A hash map from int64 keys (device ids, app ids) to dense uint32 codes in
 * order of first insertion: the dictionary behind key columns and joins. */
#ifndef DEMOGRAPHER_I64MAP_H
#define DEMOGRAPHER_I64MAP_H

#include "demographer/common.h"

typedef struct dg_i64map {
    int64_t *keys;     /* keys[code], in insertion order */
    uint32_t n, cap;
    uint32_t *slots;   /* code+1, 0 = empty */
    uint32_t nslots;   /* power of two */
} dg_i64map;

void dg_i64map_init(dg_i64map *m);
void dg_i64map_free(dg_i64map *m);
/* Returns the code of key, adding it when new. */
uint32_t dg_i64map_put(dg_i64map *m, int64_t key);
/* Returns the code of key or UINT32_MAX. */
uint32_t dg_i64map_get(const dg_i64map *m, int64_t key);
/* Takes ownership of keys[0..n) (which must be distinct) as the map's content. */
void dg_i64map_adopt(dg_i64map *m, int64_t *keys, uint32_t n);

#endif
