/* ms_order_cache.c — the per-process cache of orders by client location.
 *
 * The key is everything ms_select_order reads of a client: scheme, address
 * family, AS, country, continent and coordinates (not the address: the
 * prefix tier is walked per request). Real clients come from a few thousand
 * distinct places (5,000 GeoLite2 addresses of the benchmark: about 2,600
 * keys), and an order is 4 bytes per mirror; an entry exists only for a key
 * seen, so memory follows the keys (the slots are pointers), and the number
 * of slots bounds it (slots x mirrors x 4 bytes) however many clients come.
 *
 * Two-way: a key may sit in either slot of its pair; a new one goes into
 * the first and moves that one's entry to the second, evicting the second's.
 * Direct mapping lost a third of the keys to collisions, and a miss costs a
 * ranking of every mirror (ms_select_order), ten times a walk; pairs still
 * overflow when the keys fill a quarter of the slots (2 % misses at 8192
 * slots for 2,600 keys), so the module gives it 32768.
 * A hit lends the entry itself: it is counted as in use until the request's
 * pool is cleared, and an entry replaced meanwhile is freed by its last
 * user. Entries are made and freed outside the pair's mutex.
 *
 * An entry of an older mirror-set generation (or of a database since
 * replaced) can never be hit again: every change to the mirrors or their
 * prefixes moves it (not a probe verdict: an order leaves health to the
 * walk), and each place then gets a new entry. Left to eviction, the old ones
 * would fill the slots as changes come (at 500 mirrors, 2 KB each: up to
 * 64 MB a child). Each miss therefore also sweeps the next SWEEP_PAIRS
 * pairs, round the cache, and frees what is older than the entry it makes:
 * at most about pairs / SWEEP_PAIRS outdated entries outlive a change
 * (512 at the module's size), whatever the number of places or changes. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ms_order_cache.h"
#include "ms_stripes.h"

#define SWEEP_PAIRS 32

/* Compared with memcmp: built zeroed, padding included. */
typedef struct key {
    uint64_t db_ident;
    int64_t gen;
    double lat, lon;           /* 0 without coordinates */
    uint32_t asn;
    char country[3], continent[3];
    unsigned char https, family, has_coords;
} place_key;

typedef struct entry {
    place_key key;
    uint64_t hash;
    uint64_t pair_no;
    int users;                 /* requests holding it (under the pair's mutex) */
    int evicted;               /* out of its slot: the last user frees it */
    ms_order_t order;          /* its places malloc'd with the entry */
} entry;

struct ms_order_cache {
    ms_stripes_t st;           /* st.mask + 1 slots, in pairs */
    entry **slot;
    uint64_t *tag;             /* slot[i]'s hash, side by side, so that a
                                * lookup reads only the entry that matches
                                * (entries are scattered on the heap) */
    uint64_t sweep;            /* atomic: the pair the next sweep starts at */
    uint64_t live;             /* atomic: entries allocated */
};

static void key_of(place_key *k, uint64_t db_ident, int64_t gen, const ms_client_t *c)
{
    memset(k, 0, sizeof(*k));
    k->db_ident = db_ident;
    k->gen = gen;
    if (c->loc.has_coords) {
        k->has_coords = 1;
        k->lat = c->loc.lat;
        k->lon = c->loc.lon;
    }
    k->asn = c->loc.asn;
    memcpy(k->country, c->loc.country, sizeof(k->country));
    memcpy(k->continent, c->loc.continent, sizeof(k->continent));
    k->https = c->https ? 1 : 0;
    k->family = c->addr.family == 6 ? 6 : 4;
}

static uint64_t hash_key(const place_key *k)
{
    uint64_t h = ms_hash64(0, k, sizeof(*k));
    return h ^ (h >> 29);
}

static apr_status_t cache_cleanup(void *data)
{
    ms_order_cache_t *c = data;
    uint64_t i;

    for (i = 0; i <= c->st.mask; i++)
        free(c->slot[i]);
    free(c->slot);
    free(c->tag);
    c->slot = NULL;
    c->tag = NULL;
    return APR_SUCCESS;
}

int ms_order_cache_create(ms_order_cache_t **out, int slots, apr_pool_t *p)
{
    ms_order_cache_t *c = apr_pcalloc(p, sizeof(*c));

    *out = NULL;
    if (ms_stripes_init(&c->st, slots, 2, p) != 0)   /* at least one pair */
        return -1;
    c->slot = calloc(c->st.mask + 1, sizeof(*c->slot));
    c->tag = calloc(c->st.mask + 1, sizeof(*c->tag));
    if (!c->slot || !c->tag) {
        free(c->slot);
        free(c->tag);
        return -1;
    }
    apr_pool_cleanup_register(p, c, cache_cleanup, apr_pool_cleanup_null);
    *out = c;
    return 0;
}

/* The order's places laid out after the struct at `to`; returns its size. */
static size_t order_copy(ms_order_t *to, const ms_order_t *from)
{
    char *base = (char *)(to + 1);
    size_t places = from->count * sizeof(*from->place);

    to->count = from->count;
    to->place = (ms_place_t *)base;
    memcpy(to->place, from->place, places);
    return sizeof(*to) + places;
}

static size_t order_size(const ms_order_t *o)
{
    return sizeof(*o) + o->count * sizeof(*o->place);
}

/* One malloc: the entry with its order's places behind it. */
static entry *entry_make(ms_order_cache_t *c, const place_key *k, uint64_t h,
                         const ms_order_t *o)
{
    entry *e = malloc(offsetof(entry, order) + order_size(o));

    if (!e)
        return NULL;
    __atomic_add_fetch(&c->live, 1, __ATOMIC_RELAXED);
    e->key = *k;
    e->hash = h;
    e->pair_no = 0;
    e->users = 0;
    e->evicted = 0;
    order_copy(&e->order, o);
    return e;
}

static void entry_free(ms_order_cache_t *c, entry *e)
{
    free(e);
    __atomic_sub_fetch(&c->live, 1, __ATOMIC_RELAXED);
}

static int is_key(const entry *e, const place_key *k, uint64_t h)
{
    return e && e->hash == h && memcmp(&e->key, k, sizeof(*k)) == 0;
}

/* Slot i's entry when it holds k (its tag read first). */
static entry *holding(const ms_order_cache_t *c, uint64_t i, const place_key *k, uint64_t h)
{
    return c->tag[i] == h && is_key(c->slot[i], k, h) ? c->slot[i] : NULL;
}

static void put_slot(ms_order_cache_t *c, uint64_t i, entry *e)
{
    c->slot[i] = e;
    c->tag[i] = e ? e->hash : 0;
}

typedef struct loan {
    ms_order_cache_t *c;
    entry *e;
} loan;

/* The request is done with the entry (a cleanup on its pool). */
static apr_status_t give_back(void *data)
{
    loan *l = data;
    int stripe = ms_stripes_lock(&l->c->st, l->e->pair_no), last;

    last = --l->e->users == 0 && l->e->evicted;
    ms_stripes_unlock(&l->c->st, stripe);
    if (last)
        entry_free(l->c, l->e);
    return APR_SUCCESS;
}

/* Lend k's order for the life of p if the pair holds it; 1 on a hit. */
static int lookup(const ms_order_t **out, ms_order_cache_t *c, const place_key *k, uint64_t h,
                  apr_pool_t *p)
{
    uint64_t pair_no, first = ms_stripes_pair(&c->st, h, &pair_no);
    int stripe = ms_stripes_lock(&c->st, pair_no);
    entry *e;
    loan *l;

    if (!(e = holding(c, first, k, h)))
        e = holding(c, first + 1, k, h);
    if (e)
        e->users++;
    ms_stripes_count(&c->st, stripe, e != NULL);
    ms_stripes_unlock(&c->st, stripe);
    *out = e ? &e->order : NULL;
    if (!e)
        return 0;
    l = apr_palloc(p, sizeof(*l));
    l->c = c;
    l->e = e;
    apr_pool_cleanup_register(p, l, give_back, apr_pool_cleanup_null);
    return 1;
}

/* Out of its slot: freed now, or by its last user. */
static void evict(entry *e, int *free_now)
{
    *free_now = 0;
    if (!e)
        return;
    e->evicted = 1;
    *free_now = e->users == 0;
}

static void store(ms_order_cache_t *c, const place_key *k, uint64_t h, const ms_order_t *o)
{
    uint64_t pair_no, first = ms_stripes_pair(&c->st, h, &pair_no);
    entry *e = entry_make(c, k, h, o), *old;
    int stripe, free_old;

    if (!e)
        return;                /* out of memory: simply not cached */
    e->pair_no = pair_no;
    stripe = ms_stripes_lock(&c->st, pair_no);
    if (holding(c, first, k, h)) {       /* another thread made it meanwhile */
        old = c->slot[first];
        put_slot(c, first, e);
    }
    else {
        old = c->slot[first + 1];
        put_slot(c, first + 1, c->slot[first]);
        put_slot(c, first, e);
    }
    evict(old, &free_old);
    ms_stripes_unlock(&c->st, stripe);
    if (free_old)
        entry_free(c, old);
}

/* Whether e was made for an earlier state of the database than key k. */
static int outdated(const entry *e, const place_key *k)
{
    return e->key.db_ident != k->db_ident || e->key.gen < k->gen;
}

/* Free the outdated entries of the next SWEEP_PAIRS pairs (see the top). */
static void sweep(ms_order_cache_t *c, const place_key *k)
{
    uint64_t pairs = (c->st.mask + 1) / 2;
    uint64_t from = __atomic_fetch_add(&c->sweep, SWEEP_PAIRS, __ATOMIC_RELAXED);
    entry *gone[2 * SWEEP_PAIRS];
    int i, j, n = 0;

    for (i = 0; i < SWEEP_PAIRS && (uint64_t)i < pairs; i++) {
        uint64_t pair_no = (from + i) % pairs;
        int stripe = ms_stripes_lock(&c->st, pair_no), free_now;

        for (j = 0; j < 2; j++) {
            entry *e = c->slot[2 * pair_no + j];

            if (e && outdated(e, k)) {
                put_slot(c, 2 * pair_no + j, NULL);
                evict(e, &free_now);
                if (free_now)
                    gone[n++] = e;
            }
        }
        if (!c->slot[2 * pair_no] && c->slot[2 * pair_no + 1]) {  /* keep the first one filled */
            put_slot(c, 2 * pair_no, c->slot[2 * pair_no + 1]);
            put_slot(c, 2 * pair_no + 1, NULL);
        }
        ms_stripes_unlock(&c->st, stripe);
    }
    for (i = 0; i < n; i++)
        entry_free(c, gone[i]);
}

int ms_order_cache_get(const ms_order_t **out, ms_order_cache_t *c, uint64_t db_ident,
                       const ms_mirrors_t *mirrors, const ms_client_t *client,
                       apr_pool_t *p)
{
    ms_order_t *made;
    place_key k;
    uint64_t h;

    key_of(&k, db_ident, mirrors->order_gen, client);
    h = hash_key(&k);
    if (lookup(out, c, &k, h, p))
        return 0;
    if (ms_select_order(&made, mirrors, client, p) != 0)
        return -1;
    store(c, &k, h, made);
    sweep(c, &k);
    *out = made;
    return 0;
}

void ms_order_cache_stats(ms_order_cache_t *c, uint64_t *hits, uint64_t *misses)
{
    ms_stripes_stats(&c->st, hits, misses);
}

uint64_t ms_order_cache_live(ms_order_cache_t *c)
{
    return __atomic_load_n(&c->live, __ATOMIC_RELAXED);
}
