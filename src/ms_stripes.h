/* ms_stripes.h — what the per-process caches (files, mirror orders,
 * locations) share: a power-of-two number of slots, mutexes striped over the
 * slots so threads rarely wait for each other, hit and miss counters kept
 * under those mutexes, the pairs of two-way caches, and the hashes the slots
 * are picked by. */
#ifndef MS_STRIPES_H
#define MS_STRIPES_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include <apr_thread_mutex.h>

#define MS_STRIPES   64
#define MS_FNV_BASIS 0xcbf29ce484222325ULL

typedef struct ms_stripes {
    uint64_t mask;                          /* slots - 1 */
    apr_thread_mutex_t *lock[MS_STRIPES];
    uint64_t hits[MS_STRIPES];              /* under lock[i] */
    uint64_t misses[MS_STRIPES];
} ms_stripes_t;

/* Round slots up to a power of two, at least min_slots, and create the
 * mutexes in p. Returns 0, or -1 when a mutex cannot be made. */
int ms_stripes_init(ms_stripes_t *s, int slots, int min_slots, apr_pool_t *p);

/* Two-way caches: the first of the pair of slots hash h may use (the
 * second follows it); *pair_no, the pair's number, is what to lock. */
static inline uint64_t ms_stripes_pair(const ms_stripes_t *s, uint64_t h, uint64_t *pair_no)
{
    uint64_t first = h & s->mask & ~(uint64_t)1;

    *pair_no = first >> 1;
    return first;
}

/* Lock the stripe guarding slot; returns the stripe for the calls below. */
int ms_stripes_lock(ms_stripes_t *s, uint64_t slot);
void ms_stripes_unlock(ms_stripes_t *s, int stripe);
/* Count a hit or a miss, with the stripe locked. */
void ms_stripes_count(ms_stripes_t *s, int stripe, int hit);
/* Hits and misses so far, over all stripes. */
void ms_stripes_stats(ms_stripes_t *s, uint64_t *hits, uint64_t *misses);

/* FNV-1a over n bytes, continuing from h (MS_FNV_BASIS to start): a byte
 * at a time, kept where its values are part of the behaviour (ms_seed). */
uint64_t ms_fnv1a(uint64_t h, const void *data, size_t n);

/* A 64-bit hash of n bytes for the caches' slots and tags, eight bytes per
 * step (FNV-1a's byte steps, each waiting on the last multiply, cost a
 * tenth of a redirect's time over the paths). Different seeds give
 * unrelated hashes. Not for anything stored or shown. */
uint64_t ms_hash64(uint64_t seed, const void *data, size_t n);

#endif
