#include "demographer/strpool.h"

#include <stdlib.h>
#include <string.h>

void dg_strpool_init(dg_strpool *p)
{
    memset(p, 0, sizeof *p);
}

void dg_strpool_free(dg_strpool *p)
{
    free(p->bytes);
    free(p->offsets);
    free(p->lens);
    free(p->slots);
    memset(p, 0, sizeof *p);
}

static uint32_t probe(const dg_strpool *p, const char *s, size_t len, uint64_t h, int *found)
{
    uint32_t mask = p->nslots - 1;
    uint32_t i = (uint32_t)h & mask;
    for (;;) {
        uint32_t v = p->slots[i];
        if (v == 0) {
            *found = 0;
            return i;
        }
        uint32_t id = v - 1;
        if (p->lens[id] == len && memcmp(p->bytes + p->offsets[id], s, len) == 0) {
            *found = 1;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static void rehash(dg_strpool *p, uint32_t nslots)
{
    free(p->slots);
    p->slots = dg_xcalloc(nslots, sizeof *p->slots);
    p->nslots = nslots;
    for (uint32_t id = 0; id < p->n; id++) {
        int found;
        uint64_t h = dg_fnv1a(DG_FNV1A_INIT, p->bytes + p->offsets[id], p->lens[id]);
        uint32_t slot = probe(p, p->bytes + p->offsets[id], p->lens[id], h, &found);
        p->slots[slot] = id + 1;
    }
}

uint32_t dg_strpool_find(const dg_strpool *p, const char *s, size_t len)
{
    if (p->nslots == 0)
        return UINT32_MAX;
    int found;
    uint32_t slot = probe(p, s, len, dg_fnv1a(DG_FNV1A_INIT, s, len), &found);
    return found ? p->slots[slot] - 1 : UINT32_MAX;
}

uint32_t dg_strpool_intern(dg_strpool *p, const char *s, size_t len)
{
    if (p->nslots == 0)
        rehash(p, 64);
    uint64_t h = dg_fnv1a(DG_FNV1A_INIT, s, len);
    int found;
    uint32_t slot = probe(p, s, len, h, &found);
    if (found)
        return p->slots[slot] - 1;
    if (p->n + 1 >= p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->offsets = dg_xrealloc(p->offsets, (size_t)(p->cap + 1) * sizeof *p->offsets);
        p->lens = dg_xrealloc(p->lens, (size_t)p->cap * sizeof *p->lens);
    }
    if (p->nbytes + len + 1 > p->capbytes) {
        size_t c = p->capbytes ? p->capbytes * 2 : 1024;
        while (c < p->nbytes + len + 1)
            c *= 2;
        p->bytes = dg_xrealloc(p->bytes, c);
        p->capbytes = c;
    }
    uint32_t id = p->n++;
    p->offsets[id] = p->nbytes;
    p->lens[id] = (uint32_t)len;
    memcpy(p->bytes + p->nbytes, s, len);
    p->bytes[p->nbytes + len] = '\0';
    p->nbytes += len + 1;
    p->offsets[p->n] = p->nbytes;
    p->slots[slot] = id + 1;
    if ((uint64_t)p->n * 2 > p->nslots)
        rehash(p, p->nslots * 2);
    return id;
}

size_t dg_strpool_memory(const dg_strpool *p)
{
    return p->capbytes + (size_t)p->cap * (sizeof *p->offsets + sizeof *p->lens) +
           (size_t)p->nslots * sizeof *p->slots;
}
