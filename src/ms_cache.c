/* ms_cache.c — the per-process cache of files and their fresh holders.
 *
 * Direct-mapped: the path's hash picks one slot, and a new entry replaces
 * what was there. That keeps memory fixed (slots × the entries' sizes), needs
 * no LRU bookkeeping on the hot path, and keeps a hot set resident as long as
 * the slots outnumber it. An entry is valid only for the data generation it
 * was read in; the first request after any change reads the database again.
 *
 * Slots are guarded by striped mutexes (ms_stripes), so threads rarely wait
 * for each other. A mutex is held only to compare and
 * copy an entry out, or to swap one in: allocation, freeing and every query
 * happen outside it. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include "ms_cache.h"
#include "ms_stripes.h"

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

struct ms_cache {
    ms_stripes_t st;           /* st.mask + 1 slots */
    entry **slot;
};

static uint64_t hash_path(const char *s)
{
    return ms_fnv1a(MS_FNV_BASIS, s, strlen(s));
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

    for (i = 0; i <= c->st.mask; i++)
        entry_free(c->slot[i]);
    free(c->slot);
    c->slot = NULL;
    return APR_SUCCESS;
}

int ms_cache_create(ms_cache_t **out, int slots, apr_pool_t *p)
{
    ms_cache_t *c = apr_pcalloc(p, sizeof(*c));

    *out = NULL;
    if (ms_stripes_init(&c->st, slots, 1, p) != 0)
        return -1;
    c->slot = calloc(c->st.mask + 1, sizeof(*c->slot));
    if (!c->slot)
        return -1;
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
    uint64_t h = hash_path(path), slot = h & c->st.mask;
    int stripe = ms_stripes_lock(&c->st, slot), hit;
    entry *e = c->slot[slot];

    hit = e && e->gen == gen && e->db_ident == db_ident && e->hash == h
          && strcmp(e->path, path) == 0;
    if (hit)
        copy_out(e, file, holders, p);
    ms_stripes_count(&c->st, stripe, hit);
    ms_stripes_unlock(&c->st, stripe);
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
    uint64_t h = hash_path(path), slot = h & c->st.mask;
    entry *e = entry_make(db_ident, gen, path, h, f, holders), *old;
    int stripe;

    if (!e)
        return;                /* out of memory: simply not cached */
    stripe = ms_stripes_lock(&c->st, slot);
    old = c->slot[slot];
    c->slot[slot] = e;
    ms_stripes_unlock(&c->st, stripe);
    entry_free(old);
}

void ms_cache_stats(ms_cache_t *c, uint64_t *hits, uint64_t *misses)
{
    ms_stripes_stats(&c->st, hits, misses);
}
