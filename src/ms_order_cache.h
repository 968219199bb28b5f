/* ms_order_cache.h — a per-process cache of the mirrors' order per client
 * location (ms_select_order), so a redirect walks a ready list instead of
 * ranking every holder of the file. Shared by the threads of one process,
 * like ms_cache: two-way, striped short mutexes, nothing built or freed
 * under a lock. Entries are tagged with the database's identity and the
 * snapshot's mirror-set generation (ms_mirrors_t.order_gen), which moves with
 * any change to mirrors or prefixes but not with health, left to the walk:
 * a change is seen by the next request. */
#ifndef MS_ORDER_CACHE_H
#define MS_ORDER_CACHE_H

#include <stdint.h>
#include <apr_pools.h>
#include "ms_select.h"

typedef struct ms_order_cache ms_order_cache_t;

/* `slots` entries (rounded up to a power of two, at least 2); freed by a
 * cleanup on p. */
int ms_order_cache_create(ms_order_cache_t **out, int slots, apr_pool_t *p);

/* The order for client's location in the snapshot `mirrors` of database
 * db_ident, from the cache or made and remembered; *out is valid as long
 * as p (a cached one stays allocated until p is cleared; p must not outlive
 * the cache's own pool). Returns 0,
 * or -1 when there is none to be had (see ms_select_order). */
int ms_order_cache_get(const ms_order_t **out, ms_order_cache_t *c, uint64_t db_ident,
                       const ms_mirrors_t *mirrors, const ms_client_t *client,
                       apr_pool_t *p);

/* Hits and misses so far (for the benchmark and debug logging). */
void ms_order_cache_stats(ms_order_cache_t *c, uint64_t *hits, uint64_t *misses);

/* Entries allocated now: those in the slots, and those out of them that a
 * request still holds. */
uint64_t ms_order_cache_live(ms_order_cache_t *c);

#endif
