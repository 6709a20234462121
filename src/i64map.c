#include "demographer/i64map.h"

#include <stdlib.h>
#include <string.h>

/* Ids are random 64-bit values but not always (event ids, label ids): a
 * multiplicative mix spreads sequential keys too. */
static inline uint32_t slot_of(int64_t key, uint32_t mask)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32) & mask;
}

void dg_i64map_init(dg_i64map *m)
{
    memset(m, 0, sizeof *m);
}

void dg_i64map_free(dg_i64map *m)
{
    free(m->keys);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static void rehash(dg_i64map *m, uint32_t nslots)
{
    free(m->slots);
    m->slots = dg_xcalloc(nslots, sizeof *m->slots);
    m->nslots = nslots;
    uint32_t mask = nslots - 1;
    for (uint32_t code = 0; code < m->n; code++) {
        uint32_t i = slot_of(m->keys[code], mask);
        while (m->slots[i])
            i = (i + 1) & mask;
        m->slots[i] = code + 1;
    }
}

uint32_t dg_i64map_get(const dg_i64map *m, int64_t key)
{
    if (m->nslots == 0)
        return UINT32_MAX;
    uint32_t mask = m->nslots - 1;
    for (uint32_t i = slot_of(key, mask);; i = (i + 1) & mask) {
        uint32_t v = m->slots[i];
        if (v == 0)
            return UINT32_MAX;
        if (m->keys[v - 1] == key)
            return v - 1;
    }
}

uint32_t dg_i64map_put(dg_i64map *m, int64_t key)
{
    if (m->nslots == 0)
        rehash(m, 64);
    uint32_t mask = m->nslots - 1;
    uint32_t i = slot_of(key, mask);
    for (;; i = (i + 1) & mask) {
        uint32_t v = m->slots[i];
        if (v == 0)
            break;
        if (m->keys[v - 1] == key)
            return v - 1;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->keys = dg_xrealloc(m->keys, (size_t)m->cap * sizeof *m->keys);
    }
    uint32_t code = m->n++;
    m->keys[code] = key;
    m->slots[i] = code + 1;
    if ((uint64_t)m->n * 2 > m->nslots)
        rehash(m, m->nslots * 2);
    return code;
}

void dg_i64map_adopt(dg_i64map *m, int64_t *keys, uint32_t n)
{
    dg_i64map_free(m);
    m->keys = keys;
    m->n = m->cap = n;
    uint32_t nslots = 64;
    while ((uint64_t)nslots < (uint64_t)n * 2 + 2)
        nslots *= 2;
    rehash(m, nslots);
}
