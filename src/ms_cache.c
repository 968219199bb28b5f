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
#include "ms_select.h"

typedef struct entry {
    char *path;                /* malloc'd; NULL: empty slot */
    uint64_t hash;
    uint64_t db_ident;
    int64_t gen;
    int indexed;               /* 0: the path is not in the index */
    ms_file_t file;            /* file.path and file.sha256 point into path/sha */
    char sha[65];
    int count;
    int64_t *holders;          /* mirror ids holding the file fresh */
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
    free(e->holders);
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

/* Copy an entry out into p: the file, and each holder as an exact copy. */
static void copy_out(const entry *e, ms_file_t **file, apr_array_header_t **copies,
                     apr_pool_t *p)
{
    apr_array_header_t *list;
    int i;

    *file = NULL;
    *copies = NULL;
    if (!e->indexed)
        return;
    *file = apr_pmemdup(p, &e->file, sizeof(e->file));
    (*file)->path = apr_pstrdup(p, e->path);
    (*file)->sha256 = e->file.sha256 ? apr_pstrdup(p, e->sha) : NULL;
    list = apr_array_make(p, e->count > 0 ? e->count : 1, sizeof(ms_copy_t));
    for (i = 0; i < e->count; i++) {
        ms_copy_t *cp = apr_array_push(list);
        cp->mirror_id = e->holders[i];
        cp->size = e->file.size;
        cp->mtime = e->file.mtime;
        cp->precision = 1;
        cp->seen = 0;
    }
    *copies = list;
}

int ms_cache_get(ms_cache_t *c, uint64_t db_ident, int64_t gen, const char *path, ms_file_t **file,
                 apr_array_header_t **copies, apr_pool_t *p)
{
    uint64_t h = hash_path(path), slot = h & c->mask;
    apr_thread_mutex_t *lock = lock_of(c, slot);
    entry *e;
    int hit = 0;

    apr_thread_mutex_lock(lock);
    e = c->slot[slot];
    if (e && e->gen == gen && e->db_ident == db_ident && e->hash == h
        && strcmp(e->path, path) == 0) {
        copy_out(e, file, copies, p);
        hit = 1;
        c->hits[slot % MS_CACHE_LOCKS]++;
    }
    else
        c->misses[slot % MS_CACHE_LOCKS]++;
    apr_thread_mutex_unlock(lock);
    return hit;
}

static entry *entry_make(uint64_t db_ident, int64_t gen, const char *path, uint64_t h, const ms_file_t *f,
                         const apr_array_header_t *copies)
{
    entry *e = calloc(1, sizeof(*e));
    int i, n = copies ? copies->nelts : 0;

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
    if (n > 0 && !(e->holders = malloc(n * sizeof(*e->holders))))
        goto fail;
    for (i = 0; i < n; i++) {
        const ms_copy_t *cp = &APR_ARRAY_IDX(copies, i, ms_copy_t);
        if (ms_copy_fresh(f, cp))
            e->holders[e->count++] = cp->mirror_id;
    }
    return e;

fail:
    entry_free(e);
    return NULL;
}

void ms_cache_put(ms_cache_t *c, uint64_t db_ident, int64_t gen, const char *path, const ms_file_t *f,
                  const apr_array_header_t *copies)
{
    uint64_t h = hash_path(path), slot = h & c->mask;
    apr_thread_mutex_t *lock = lock_of(c, slot);
    entry *e = entry_make(db_ident, gen, path, h, f, copies), *old;

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
