/* Interned UTF-8 strings: each distinct byte string is stored once and named
 * by a dense uint32 id, so a string column is an array of ids. Strings are
 * kept byte-exact ("联想 " with its trailing space is not "联想"). */
#ifndef DEMOGRAPHER_STRPOOL_H
#define DEMOGRAPHER_STRPOOL_H

#include "demographer/common.h"

typedef struct dg_strpool {
    char *bytes;        /* every string, each followed by a NUL */
    size_t nbytes, capbytes;
    uint64_t *offsets;  /* offsets[id] into bytes; offsets[n] is the end */
    uint32_t *lens;
    uint32_t n, cap;
    uint32_t *slots;    /* open-addressing hash table of id+1, 0 = empty */
    uint32_t nslots;    /* power of two */
} dg_strpool;

void dg_strpool_init(dg_strpool *p);
void dg_strpool_free(dg_strpool *p);
/* Returns the id of the string, adding it when new. */
uint32_t dg_strpool_intern(dg_strpool *p, const char *s, size_t len);
/* Returns the id or UINT32_MAX when the string is not in the pool. */
uint32_t dg_strpool_find(const dg_strpool *p, const char *s, size_t len);
static inline const char *dg_strpool_get(const dg_strpool *p, uint32_t id)
{
    return p->bytes + p->offsets[id];
}
static inline uint32_t dg_strpool_len(const dg_strpool *p, uint32_t id)
{
    return p->lens[id];
}
size_t dg_strpool_memory(const dg_strpool *p);

#endif
