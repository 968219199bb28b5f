/* test_select_order.c — the redirect's shortcut gives ms_select's answer.
 *
 * ms_select_ordered walks an order made per client location
 * (ms_select_order, cached by ms_order_cache) instead of ranking every
 * holder of the file. This test builds random worlds — mirrors with and
 * without coordinates, prefixes, AS numbers, scopes, other countries,
 * max-sizes, weights (zero too), health per scheme and family, disabled and
 * fallback mirrors, sparse ids — and random files and clients, and checks
 * that both give the same ranked list (mirror, tier, distance, URL, copy's
 * mirror; the walk gets the holders as ms_holders_of judges them),
 * band and fallback flag, for many limits and spreads. The orders come
 * through a deliberately tiny cache, so colliding locations and copies out
 * of it are exercised as well. */
#include <stdio.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "tap.h"
#include "ms_select.h"
#include "ms_order_cache.h"

#define WORLDS        150
#define FILES         40
#define CLIENTS       40
#define FILE_MTIME    1700000000

static apr_pool_t *pool;
static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int rnd_int(int n) { return (int)(rnd() % (uint64_t)n); }
static double rnd_u(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

/* Few places, so tiers collide often. */
typedef struct place { const char *cc, *cont; double lat, lon; } place_t;
static const place_t PLACES[] = {
    { "DE", "EU", 52.52, 13.40 }, { "DE", "EU", 48.14, 11.58 }, { "AT", "EU", 48.21, 16.37 },
    { "FR", "EU", 48.86, 2.35 },  { "US", "NA", 40.71, -74.0 }, { "US", "NA", 34.05, -118.2 },
    { "BR", "SA", -23.5, -46.6 }, { "JP", "AS", 35.68, 139.65 }, { "AU", "OC", -33.9, 151.2 },
    { "ZA", "AF", -26.2, 28.04 },
};
#define NPLACES (int)(sizeof(PLACES) / sizeof(PLACES[0]))

static const char *rnd_prefix(int v6)
{
    return v6 ? apr_psprintf(pool, "2001:db8:%x::/48", rnd_int(6))
              : apr_psprintf(pool, "10.%d.0.0/16", rnd_int(6));
}

static void rnd_health(ms_mirror_t *m)
{
    int s, f;

    for (s = MS_HTTP; s <= MS_HTTPS; s++)
        for (f = 0; f < 2; f++) {
            ms_health_t *h = &m->health[s][f];
            double u = rnd_u();
            h->known = u > 0.03;
            h->up = u > 0.12;
            h->error = "";
        }
}

static ms_mirror_t *rnd_mirror(int64_t id)
{
    ms_mirror_t *m = apr_pcalloc(pool, sizeof(*m));
    const place_t *pl = &PLACES[rnd_int(NPLACES)];
    double u = rnd_u();

    m->id = id;
    m->name = apr_psprintf(pool, "m%d", (int)id);
    if (u > 0.1)
        m->http_url = apr_psprintf(pool, "http://m%d.example/", (int)id);
    if (u < 0.9)
        m->https_url = apr_psprintf(pool, "https://m%d.example/", (int)id);
    if (rnd_u() < 0.95) {
        apr_cpystrn(m->country, pl->cc, sizeof(m->country));
        apr_cpystrn(m->continent, pl->cont, sizeof(m->continent));
    }
    if (rnd_u() < 0.85) {
        m->has_coords = 1;
        /* some exactly at a place, some nearby: ties and bands */
        m->lat = pl->lat + (rnd_u() < 0.3 ? 0 : rnd_u() * 6 - 3);
        m->lon = pl->lon + (rnd_u() < 0.3 ? 0 : rnd_u() * 6 - 3);
    }
    m->asn = rnd_u() < 0.3 ? 64500 + rnd_int(4) : 0;
    m->prefixes = apr_array_make(pool, 2, sizeof(ms_cidr_t));
    if (rnd_u() < 0.15)
        ms_cidr_parse(apr_array_push(m->prefixes), rnd_prefix(rnd_u() < 0.4));
    m->weight = rnd_u() < 0.1 ? 0 : 1 + rnd_int(200);
    m->max_size = rnd_u() < 0.1 ? 1 + rnd_int(2000) : 0;
    u = rnd_u();
    m->scope = u < 0.05 ? MS_SCOPE_PREFIX : u < 0.1 ? MS_SCOPE_ASN : u < 0.2 ? MS_SCOPE_COUNTRY
               : u < 0.25 ? MS_SCOPE_CONTINENT : MS_SCOPE_WORLD;
    m->other_countries = rnd_u() < 0.1 ? "AT,FR" : "";
    m->fallback = rnd_u() < 0.05;
    m->enabled = rnd_u() < 0.93;
    rnd_health(m);
    return m;
}

static void rnd_world(ms_mirrors_t *ms)
{
    int n = 1 + rnd_int(120), i;
    int64_t id = 0;

    memset(ms, 0, sizeof(*ms));
    ms->pool = pool;
    ms->generation = (int64_t)rnd();
    ms->count = n;
    ms->mirror = apr_palloc(pool, n * sizeof(*ms->mirror));
    for (i = 0; i < n; i++) {
        id += 1 + (rnd_u() < 0.1 ? rnd_int(20) : 0);    /* removed mirrors leave gaps */
        ms->mirror[i] = rnd_mirror(id);
    }
    ms_mirrors_prepare(ms);    /* as ms_db loads them: ids and prefixes side by side */
}

static void rnd_file(ms_file_t *f)
{
    memset(f, 0, sizeof(*f));
    f->id = 1;
    f->path = apr_psprintf(pool, "pub/f%d.iso", rnd_int(1000000));
    f->size = 1 + rnd_int(3000);
    f->mtime = FILE_MTIME;
}

/* Copies ordered by mirror id: a share of the mirrors, some stale. */
static apr_array_header_t *rnd_copies(const ms_mirrors_t *ms, const ms_file_t *f)
{
    apr_array_header_t *a = apr_array_make(pool, ms->count + 1, sizeof(ms_copy_t));
    double share = rnd_u();
    int i;

    for (i = 0; i < ms->count; i++) {
        ms_copy_t *c;
        double u = rnd_u();

        if (u > share)
            continue;
        c = apr_array_push(a);
        c->mirror_id = ms->mirror[i]->id;
        c->size = rnd_u() < 0.05 ? f->size + 1 : f->size;
        c->precision = rnd_u() < 0.5 ? 1 : 60;
        c->mtime = f->mtime + (rnd_u() < 0.1 ? rnd_int(120) - 60 : 0);
        c->seen = FILE_MTIME + 3600;
    }
    return a;
}

static void rnd_client(ms_client_t *c)
{
    const place_t *pl = &PLACES[rnd_int(NPLACES)];
    const char *ip;

    memset(c, 0, sizeof(*c));
    if (rnd_u() < 0.3)
        ip = apr_psprintf(pool, "2001:db8:%x::%x", rnd_int(8), rnd_int(100));
    else
        ip = apr_psprintf(pool, "10.%d.%d.%d", rnd_int(8), rnd_int(4), rnd_int(250));
    ms_addr_parse(&c->addr, ip);
    c->addr_text = ip;
    if (rnd_u() < 0.9) {
        apr_cpystrn(c->loc.country, pl->cc, sizeof(c->loc.country));
        apr_cpystrn(c->loc.continent, pl->cont, sizeof(c->loc.continent));
    }
    else if (rnd_u() < 0.5)
        apr_cpystrn(c->loc.continent, pl->cont, sizeof(c->loc.continent));
    if (rnd_u() < 0.8) {
        c->loc.has_coords = 1;
        c->loc.lat = pl->lat;
        c->loc.lon = pl->lon;
    }
    c->loc.asn = rnd_u() < 0.3 ? 64500 + rnd_int(4) : 0;
    c->https = rnd_u() < 0.3;
}

static int same_ranked(const ms_ranked_t *a, const ms_ranked_t *b)
{
    return a->mirror == b->mirror && a->tier == b->tier && a->distance_km == b->distance_km
           && a->base_url == b->base_url && a->https == b->https
           && !a->copy == !b->copy && (!a->copy || a->copy->mirror_id == b->copy->mirror_id);
}

/* Compare one request both ways; on a difference, say where. */
static int same_answer(const ms_choice_t *want, const ms_choice_t *got, int answered,
                       char *why, size_t len)
{
    int i;

    if (!answered) {
        /* only allowed when the fallback mirrors had their turn, or nobody */
        if (want->ranked->nelts > 0 && !want->fallback) {
            snprintf(why, len, "walk gave up, ms_select ranked %d", want->ranked->nelts);
            return 0;
        }
        return 1;
    }
    if (want->fallback || got->ranked->nelts != want->ranked->nelts || got->band != want->band) {
        snprintf(why, len, "fallback %d, count %d vs %d, band %d vs %d", want->fallback,
                 got->ranked->nelts, want->ranked->nelts, got->band, want->band);
        return 0;
    }
    for (i = 0; i < want->ranked->nelts; i++) {
        const ms_ranked_t *w = &APR_ARRAY_IDX(want->ranked, i, ms_ranked_t);
        const ms_ranked_t *g = &APR_ARRAY_IDX(got->ranked, i, ms_ranked_t);
        if (!same_ranked(w, g)) {
            snprintf(why, len, "place %d: %s tier %d %.3f km vs %s tier %d %.3f km", i,
                     g->mirror->name, g->tier, g->distance_km, w->mirror->name, w->tier,
                     w->distance_km);
            return 0;
        }
    }
    return 1;
}

static const ms_spread_t SPREADS[] = { { 1.5, 250 }, { 1.0, 0 }, { 3.0, 2000 }, { 1.2, 50 } };

/* The holders as the file cache gives them: a bitmap up to the byte of the
 * largest id (shorter than the walk's own when the largest mirrors hold
 * nothing), no ids. */
static void as_bits(ms_holders_t *h, apr_pool_t *p)
{
    unsigned char *bits;
    int i, len = 0;

    for (i = 0; i < h->count; i++)
        if (h->id[i] / 8 + 1 > len)
            len = (int)(h->id[i] / 8 + 1);
    bits = apr_pcalloc(p, len > 0 ? len : 1);
    for (i = 0; i < h->count; i++)
        bits[h->id[i] >> 3] |= (unsigned char)(1u << (h->id[i] & 7));
    h->id = NULL;
    h->bits = bits;
    h->bits_len = len;
}

/* One world: FILES files × CLIENTS clients × a few limits. Returns the
 * number of requests compared and counts differences in *bad. */
static int run_world(ms_order_cache_t *cache, int world, int *bad, int *walked)
{
    ms_mirrors_t ms;
    int f, c, n = 0;

    rnd_world(&ms);
    for (f = 0; f < FILES; f++) {
        apr_pool_t *p;
        ms_file_t file;
        apr_array_header_t *copies;
        ms_holders_t holders;

        apr_pool_create(&p, pool);
        rnd_file(&file);
        copies = rnd_copies(&ms, &file);
        ms_holders_of(&holders, &file, copies, p);
        if (f & 1)
            as_bits(&holders, p);   /* the file cache's form */
        /* A probe run between files: some sides go up or down, the
         * generation moves and the mirror set's does not, so the orders
         * cached so far, made with other verdicts, are walked again. */
        if (f & 2) {
            int k;

            for (k = 0; k < 1 + ms.count / 8; k++)
                rnd_health(ms.mirror[rnd_int(ms.count)]);
            ms.generation++;
        }
        for (c = 0; c < CLIENTS; c++) {
            ms_client_t client;
            const ms_spread_t *sp = &SPREADS[rnd_int(4)];
            int limit = 1 + rnd_int(rnd_u() < 0.2 ? 40 : 6), answered;
            const ms_order_t *order;
            ms_choice_t *want, *got = NULL;
            char why[256];

            rnd_client(&client);
            ms_select(&want, &ms, &file, copies, &client, sp, 0, limit, p);
            if (ms_order_cache_get(&order, cache, 1, &ms, &client, p) != 0)
                bail_out("no order for world %d", world);
            answered = ms_select_ordered(&got, order, &ms, &file, &holders, &client, sp,
                                         limit, p);
            *walked += answered;
            n++;
            if (!same_answer(want, got, answered, why, sizeof(why)) && (*bad)++ < 5)
                diag("world %d file %d client %s limit %d: %s", world, f,
                     client.addr_text, limit, why);
        }
        apr_pool_destroy(p);
    }
    return n;
}

static void test_random_worlds(void)
{
    ms_order_cache_t *cache;
    int w, n = 0, bad = 0, walked = 0;
    uint64_t hits, misses;

    rng_state = 20261129;
    if (ms_order_cache_create(&cache, 8, pool) != 0)
        bail_out("cannot create the order cache");
    for (w = 0; w < WORLDS; w++)
        n += run_world(cache, w, &bad, &walked);
    ms_order_cache_stats(cache, &hits, &misses);
    ok(bad == 0, "%d of %d requests differ from ms_select", bad, n);
    ok(walked > n / 2, "the walk answered %d of %d (the rest: fallback or nobody)",
       walked, n);
    ok(hits > 0 && misses > 0, "order cache: %llu hits, %llu misses",
       (unsigned long long)hits, (unsigned long long)misses);
}

/* A prefix mirror of another location wins for a client inside its prefix,
 * also when the order was made for a client of the same place outside it. */
static void test_prefix_same_location(void)
{
    ms_mirrors_t ms;
    ms_mirror_t *list[2];
    ms_file_t file = { 1, "x.iso", 100, FILE_MTIME, NULL, NULL, 0 };
    int64_t ids[2];
    ms_holders_t holders = { .count = 2, .id = ids };
    ms_client_t in, out;
    ms_spread_t sp = { 1.5, 250 };
    ms_order_cache_t *cache;
    const ms_order_t *order;
    ms_choice_t *got;
    int i;

    rng_state = 7;
    memset(&ms, 0, sizeof(ms));
    ms.pool = pool;
    ms.count = 2;
    ms.mirror = list;
    for (i = 0; i < 2; i++) {
        int s, f;
        list[i] = rnd_mirror(i + 1);
        list[i]->enabled = 1;
        list[i]->max_size = 0;
        list[i]->scope = MS_SCOPE_WORLD;
        list[i]->http_url = "http://x.example/";
        apr_array_clear(list[i]->prefixes);
        for (s = 0; s < 2; s++)
            for (f = 0; f < 2; f++)
                list[i]->health[s][f].known = list[i]->health[s][f].up = 1;
        ids[i] = list[i]->id;
    }
    apr_cpystrn(list[0]->country, "DE", 3);
    apr_cpystrn(list[1]->country, "JP", 3);
    ms_cidr_parse(apr_array_push(list[1]->prefixes), "192.0.2.0/24");
    /* a second network holding the same client: the mirror is still one place */
    ms_cidr_parse(apr_array_push(list[1]->prefixes), "192.0.2.0/25");
    memset(&in, 0, sizeof(in));
    apr_cpystrn(in.loc.country, "DE", 3);
    out = in;
    ms_addr_parse(&in.addr, "192.0.2.7");
    in.addr_text = "192.0.2.7";
    ms_addr_parse(&out.addr, "198.51.100.7");
    out.addr_text = "198.51.100.7";
    {
        ms_order_t *made;

        ok(ms_select_order(&made, &ms, &in, pool) == 0
           && !ms_select_ordered(&got, made, &ms, &file, &holders, &in, &sp, 5, pool),
           "a set made by hand and not prepared: the walk declines (ms_select answers)");
    }
    ms_mirrors_prepare(&ms);
    ms_order_cache_create(&cache, 4, pool);
    ms_order_cache_get(&order, cache, 1, &ms, &out, pool);
    ok(ms_select_ordered(&got, order, &ms, &file, &holders, &out, &sp, 5, pool)
       && APR_ARRAY_IDX(got->ranked, 0, ms_ranked_t).mirror == list[0],
       "outside the prefix: the country's mirror first");
    ms_order_cache_get(&order, cache, 1, &ms, &in, pool);
    ok(ms_select_ordered(&got, order, &ms, &file, &holders, &in, &sp, 5, pool)
       && APR_ARRAY_IDX(got->ranked, 0, ms_ranked_t).mirror == list[1]
       && APR_ARRAY_IDX(got->ranked, 0, ms_ranked_t).tier == MS_TIER_PREFIX
       && got->ranked->nelts == 2,
       "inside it, from the same cached order: the prefix mirror first, then the other");
}

/* Entries of earlier generations are freed as the cache is used, not left
 * to fill the slots: 200 generations (a mirror change each) of
 * 40 places in a cache of 4,096 slots leave about one generation's entries,
 * where eviction alone would keep over a thousand. An outdated entry a
 * request still holds stays whole until the request's pool goes. */
static void test_outdated_freed(void)
{
    ms_mirrors_t ms;
    ms_order_cache_t *cache;
    const ms_order_t *order, *held = NULL;
    ms_order_t *fresh;
    apr_pool_t *req;
    int gen, c, same;
    uint64_t live;

    rng_state = 11;
    rnd_world(&ms);
    if (ms_order_cache_create(&cache, 4096, pool) != 0)
        bail_out("cannot create the order cache");
    apr_pool_create(&req, pool);
    for (gen = 1; gen <= 200; gen++) {
        apr_pool_t *p;

        ms.generation = ms.order_gen = gen;
        rng_state = 12;             /* the same 40 places in each generation */
        apr_pool_create(&p, pool);
        for (c = 0; c < 40; c++) {
            ms_client_t client;

            rnd_client(&client);
            if (ms_order_cache_get(&order, cache, 1, &ms, &client, gen == 1 && c == 0 ? req : p)
                != 0)
                bail_out("no order");
            if (gen == 1 && c == 0)
                held = order;
        }
        apr_pool_destroy(p);
    }
    live = ms_order_cache_live(cache);
    ok(live >= 40 && live <= 120, "200 generations of 40 places: %llu entries live "
       "(the last generation's 40, and few older)", (unsigned long long)live);
    rng_state = 12;
    {
        ms_client_t client;

        rnd_client(&client);
        ms.generation = ms.order_gen = 1;
        if (ms_select_order(&fresh, &ms, &client, pool) != 0)
            bail_out("no order");
        same = held && held->count == fresh->count
               && !memcmp(held->place, fresh->place, fresh->count * sizeof(*fresh->place));
    }
    ok(same, "an outdated entry a request holds is whole until its pool is cleared");
    apr_pool_destroy(req);
}

/* Request threads share one cache while the generation moves under them,
 * as the workers of a child do while probes change mirrors: each takes the
 * order for one of 40 places in the newest generation, reads all of it and
 * lets its pool go, while misses sweep outdated entries that other threads
 * may still hold (freed by their last user: under ASan a read of a freed
 * entry is reported). Every order read must be the one ms_select_order
 * makes for that place. */
enum { SHARE_GENS = 60, SHARE_PLACES = 40, SHARE_THREADS = 4 };

typedef struct share {
    ms_order_cache_t *cache;
    ms_mirrors_t *gens;            /* SHARE_GENS copies, generation 1.. */
    ms_client_t *places;
    ms_order_t **want;             /* per place (the same in every generation) */
    int gen;                       /* atomic: the index of the newest */
    int stop;                      /* atomic */
    long read, wrong;
    unsigned seed;
} share_t;

static void *APR_THREAD_FUNC share_loop(apr_thread_t *t, void *data)
{
    share_t *s = data;
    apr_pool_t *p;

    (void)t;
    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
        int g = __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE);
        int c = (int)(rand_r(&s->seed) % SHARE_PLACES);
        const ms_order_t *o;

        if (ms_order_cache_get(&o, s->cache, 1, &s->gens[g], &s->places[c], p) != 0)
            s->wrong++;
        else if (o->count != s->want[c]->count
                 || memcmp(o->place, s->want[c]->place, o->count * sizeof(*o->place)))
            s->wrong++;
        s->read++;
        apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    return NULL;
}

static void test_shared_while_sweeping(void)
{
    ms_mirrors_t ms, gens[SHARE_GENS];
    ms_client_t places[SHARE_PLACES];
    ms_order_t *want[SHARE_PLACES];
    share_t sh[SHARE_THREADS];
    apr_thread_t *th[SHARE_THREADS];
    ms_order_cache_t *cache;
    int i, g, gen = 0;
    long read = 0, wrong = 0;
    apr_status_t rv;

    rng_state = 21;
    rnd_world(&ms);
    for (i = 0; i < SHARE_PLACES; i++) {
        rnd_client(&places[i]);
        if (ms_select_order(&want[i], &ms, &places[i], pool) != 0)
            bail_out("no order");
    }
    for (g = 0; g < SHARE_GENS; g++) {
        gens[g] = ms;
        gens[g].generation = gens[g].order_gen = g + 1;
    }
    if (ms_order_cache_create(&cache, 256, pool) != 0)
        bail_out("cannot create the order cache");
    for (i = 0; i < SHARE_THREADS; i++) {
        sh[i] = (share_t){ cache, gens, places, want, 0, 0, 0, 0, 77u + (unsigned)i };
        if (apr_thread_create(&th[i], NULL, share_loop, &sh[i], pool) != APR_SUCCESS)
            bail_out("thread");
    }
    for (g = 1; g < SHARE_GENS; g++) {
        apr_sleep(3000);
        gen = g;
        for (i = 0; i < SHARE_THREADS; i++)
            __atomic_store_n(&sh[i].gen, gen, __ATOMIC_RELEASE);
    }
    apr_sleep(3000);
    for (i = 0; i < SHARE_THREADS; i++)
        __atomic_store_n(&sh[i].stop, 1, __ATOMIC_RELAXED);
    for (i = 0; i < SHARE_THREADS; i++) {
        apr_thread_join(&rv, th[i]);
        read += sh[i].read;
        wrong += sh[i].wrong;
    }
    ok(read > 0 && wrong == 0, "%d threads, %d generations: %ld orders read, %ld wrong",
       SHARE_THREADS, SHARE_GENS, read, wrong);
    ok(ms_order_cache_live(cache) <= 3 * SHARE_PLACES,
       "and %llu entries live at the end (%d places)",
       (unsigned long long)ms_order_cache_live(cache), SHARE_PLACES);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_outdated_freed();
    test_shared_while_sweeping();
    test_prefix_same_location();
    test_random_worlds();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
