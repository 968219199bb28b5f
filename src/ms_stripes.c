/* ms_stripes.c — the locking and hashing the per-process caches share. */
#include <string.h>

#include "ms_stripes.h"

int ms_stripes_init(ms_stripes_t *s, int slots, int min_slots, apr_pool_t *p)
{
    uint64_t n = 1, want = (uint64_t)(slots > min_slots ? slots : min_slots);
    int i;

    while (n < want)
        n <<= 1;
    s->mask = n - 1;
    for (i = 0; i < MS_STRIPES; i++) {
        s->hits[i] = s->misses[i] = 0;
        if (apr_thread_mutex_create(&s->lock[i], APR_THREAD_MUTEX_DEFAULT, p)
            != APR_SUCCESS)
            return -1;
    }
    return 0;
}

int ms_stripes_lock(ms_stripes_t *s, uint64_t slot)
{
    int stripe = (int)(slot % MS_STRIPES);

    apr_thread_mutex_lock(s->lock[stripe]);
    return stripe;
}

void ms_stripes_unlock(ms_stripes_t *s, int stripe)
{
    apr_thread_mutex_unlock(s->lock[stripe]);
}

void ms_stripes_count(ms_stripes_t *s, int stripe, int hit)
{
    if (hit)
        s->hits[stripe]++;
    else
        s->misses[stripe]++;
}

void ms_stripes_stats(ms_stripes_t *s, uint64_t *hits, uint64_t *misses)
{
    int i;

    *hits = *misses = 0;
    for (i = 0; i < MS_STRIPES; i++) {
        apr_thread_mutex_lock(s->lock[i]);
        *hits += s->hits[i];
        *misses += s->misses[i];
        apr_thread_mutex_unlock(s->lock[i]);
    }
}

uint64_t ms_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t mix64(uint64_t k)
{
    k ^= k >> 31;
    k *= 0xbf58476d1ce4e5b9ULL;
    k ^= k >> 29;
    return k;
}

uint64_t ms_hash64(uint64_t seed, const void *data, size_t n)
{
    const unsigned char *b = data;
    uint64_t h = seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL), k;

    for (; n >= 8; b += 8, n -= 8) {
        memcpy(&k, b, 8);
        h = (h ^ mix64(k * 0x94d049bb133111ebULL)) * 0x9e3779b97f4a7c15ULL;
    }
    if (n > 0) {
        k = 0;
        memcpy(&k, b, n);
        h = (h ^ mix64(k * 0x94d049bb133111ebULL)) * 0x9e3779b97f4a7c15ULL;
    }
    return mix64(h ^ (h >> 32));
}
