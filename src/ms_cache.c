/* ms_cache.c — the per-process cache of files and their fresh holders.
 *
 * Direct-mapped: the path's hash picks one slot, and a new entry replaces
 * what was there. That keeps memory fixed (slots × the entries' sizes), needs
 * no LRU bookkeeping on the hot path, and keeps a hot set resident as long as
 * the slots outnumber it. An entry is valid only for the data generation it
 * was read in; the first request after any change reads the database again.
 *
 * Slots are guarded by a set of mutexes (slot number modulo MS_CACHE_LOCKS),
 * so threads rarely wait for each other. A mutex is held only to compare and
 * copy an entry out, or to swap one in: allocation, freeing and every query
 * happen outside it. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "ms_cache.h"

typedef struct entry {
    char *path;                /* malloc'd; NULL: empty slot */
    uint64_t hash;
    uint64_t db_ident;
    int64_t gen;
    int indexed;               /* 0: the path is not in the index */
    ms_file_t file;            /* file.path and file.sha256 point into path/sha */
    char sha[65];
    int count;                 /* mirror ids holding the file fresh, */
    int bitmap;                /*   as a bit per id (1) or an array (0) */
    size_t held_len;
    void *held;                /*   whichever is smaller: 500 mirrors take
                                *   63 bytes as bits, 8 per holder as ids */
} entry;

#define MS_CACHE_LOCKS 64

struct ms_cache {
    apr_thread_mutex_t *lock[MS_CACHE_LOCKS];
    uint64_t mask;
    entry **slot;
    uint64_t hits[MS_CACHE_LOCKS], misses[MS_CACHE_LOCKS];  /* under lock[i] */
};

static apr_thread_mutex_t *lock_of(ms_cache_t *c, uint64_t slot)
{
    return c->lock[slot % MS_CACHE_LOCKS];
}

static uint64_t hash_path(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static void entry_free(entry *e)
{
    if (!e)
        return;
    free(e->path);
    free(e->held);
    free(e);
}

static apr_status_t cache_cleanup(void *data)
{
    ms_cache_t *c = data;
    uint64_t i;

    for (i = 0; i <= c->mask; i++)
        entry_free(c->slot[i]);
    free(c->slot);
    c->slot = NULL;
    return APR_SUCCESS;
}

int ms_cache_create(ms_cache_t **out, int slots, apr_pool_t *p)
{
    ms_cache_t *c = apr_pcalloc(p, sizeof(*c));
    uint64_t n = 1;
    int i;

    *out = NULL;
    while (n < (uint64_t)(slots > 0 ? slots : 1))
        n <<= 1;
    c->mask = n - 1;
    c->slot = calloc(n, sizeof(*c->slot));
    if (!c->slot)
        return -1;
    for (i = 0; i < MS_CACHE_LOCKS; i++)
        if (apr_thread_mutex_create(&c->lock[i], APR_THREAD_MUTEX_DEFAULT, p)
            != APR_SUCCESS) {
            free(c->slot);
            return -1;
        }
    apr_pool_cleanup_register(p, c, cache_cleanup, apr_pool_cleanup_null);
    *out = c;
    return 0;
}

/* The holders' ids (ascending) from a bitmap of n bytes, into id. */
static void bits_to_ids(int64_t *id, const unsigned char *bits, size_t n)
{
    size_t i;
    int b, k = 0;

    for (i = 0; i < n; i++)
        for (b = 0; bits[i] && b < 8; b++)
            if (bits[i] & (1u << b))
                id[k++] = (int64_t)(i * 8 + b);
}

/* Copy an entry out into p: the file, and its holders' ids (the walk wants
 * nothing else of them). */
static void copy_out(const entry *e, ms_file_t **file, ms_holders_t *holders, apr_pool_t *p)
{
    int64_t *id = NULL;

    *file = NULL;
    holders->count = 0;
    holders->id = NULL;
    if (!e->indexed)
        return;
    *file = apr_pmemdup(p, &e->file, sizeof(e->file));
    (*file)->path = apr_pstrdup(p, e->path);
    (*file)->sha256 = e->file.sha256 ? apr_pstrdup(p, e->sha) : NULL;
    if (e->count > 0 && e->bitmap) {
        id = apr_palloc(p, e->count * sizeof(*id));
        bits_to_ids(id, e->held, e->held_len);
    }
    else if (e->count > 0)
        id = apr_pmemdup(p, e->held, e->held_len);
    holders->count = e->count;
    holders->id = id;
}

int ms_cache_get(ms_cache_t *c, uint64_t db_ident, int64_t gen, const char *path, ms_file_t **file,
                 ms_holders_t *holders, apr_pool_t *p)
{
    uint64_t h = hash_path(path), slot = h & c->mask;
    apr_thread_mutex_t *lock = lock_of(c, slot);
    entry *e;
    int hit = 0;

    apr_thread_mutex_lock(lock);
    e = c->slot[slot];
    if (e && e->gen == gen && e->db_ident == db_ident && e->hash == h
        && strcmp(e->path, path) == 0) {
        copy_out(e, file, holders, p);
        hit = 1;
        c->hits[slot % MS_CACHE_LOCKS]++;
    }
    else
        c->misses[slot % MS_CACHE_LOCKS]++;
    apr_thread_mutex_unlock(lock);
    return hit;
}

/* Keep the holders (ascending ids) as a bitmap when that is smaller than
 * the ids, as it is for any file held by more than a sixty-fourth of the
 * mirrors. 0, or -1 when out of memory. */
static int pack_holders(entry *e, const ms_holders_t *h)
{
    int64_t max = 0, min = 0;
    size_t ids_len = h->count * sizeof(*h->id), j;
    int i;

    for (i = 0; i < h->count; i++) {
        max = h->id[i] > max ? h->id[i] : max;
        min = h->id[i] < min ? h->id[i] : min;
    }
    e->count = h->count;
    e->bitmap = min >= 0 && (uint64_t)max / 8 + 1 < ids_len;
    e->held_len = e->bitmap ? (size_t)max / 8 + 1 : ids_len;
    if (!(e->held = e->bitmap ? calloc(1, e->held_len) : malloc(e->held_len)))
        return -1;
    if (!e->bitmap) {
        memcpy(e->held, h->id, ids_len);
        return 0;
    }
    for (i = 0; i < h->count; i++)
        ((unsigned char *)e->held)[h->id[i] >> 3] |= (unsigned char)(1u << (h->id[i] & 7));
    for (j = 0, e->count = 0; j < e->held_len; j++)   /* a repeated id counts once */
        e->count += __builtin_popcount(((unsigned char *)e->held)[j]);
    return 0;
}

static entry *entry_make(uint64_t db_ident, int64_t gen, const char *path, uint64_t h, const ms_file_t *f,
                         const ms_holders_t *holders)
{
    entry *e = calloc(1, sizeof(*e));
    int n = f && holders ? holders->count : 0;

    if (!e || !(e->path = strdup(path)))
        goto fail;
    e->hash = h;
    e->db_ident = db_ident;
    e->gen = gen;
    if (!f)
        return e;
    e->indexed = 1;
    e->file = *f;
    e->file.path = NULL;
    if (f->sha256 && strlen(f->sha256) == 64) {
        memcpy(e->sha, f->sha256, 65);
        e->file.sha256 = e->sha;
    }
    else
        e->file.sha256 = NULL;
    if (n > 0 && pack_holders(e, holders) != 0)
        goto fail;
    return e;

fail:
    entry_free(e);
    return NULL;
}

void ms_cache_put(ms_cache_t *c, uint64_t db_ident, int64_t gen, const char *path, const ms_file_t *f,
                  const ms_holders_t *holders)
{
    uint64_t h = hash_path(path), slot = h & c->mask;
    apr_thread_mutex_t *lock = lock_of(c, slot);
    entry *e = entry_make(db_ident, gen, path, h, f, holders), *old;

    if (!e)
        return;                /* out of memory: simply not cached */
    apr_thread_mutex_lock(lock);
    old = c->slot[slot];
    c->slot[slot] = e;
    apr_thread_mutex_unlock(lock);
    entry_free(old);
}

void ms_cache_stats(ms_cache_t *c, uint64_t *hits, uint64_t *misses)
{
    int i;

    *hits = *misses = 0;
    for (i = 0; i < MS_CACHE_LOCKS; i++) {
        apr_thread_mutex_lock(c->lock[i]);
        *hits += c->hits[i];
        *misses += c->misses[i];
        apr_thread_mutex_unlock(c->lock[i]);
    }
}
