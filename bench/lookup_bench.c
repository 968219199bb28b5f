/* lookup_bench.c — the request path's core, timed on `make bench`'s data in
 * one thread: the cached lookup (ms_lookup_cached: file cache, client
 * location, mirror order, walk and draw) and its parts, and the miss path
 * (ms_lookup reading SQLite). Not part of `make test` or `make bench`; for
 * an engineer weighing a change to those functions:
 *
 *   make build/lookup_bench && build/lookup_bench build/bench/data-1000000 \
 *       build/bench/geo/GeoLite2-City.mmdb build/bench/clients-real-*.txt
 *
 * httpd runs the same code several times slower (64 threads on 2 cores leave
 * the CPU caches cold at each request; the "caches cold" line comes closer):
 * compare runs of this program with each other, not with the benchmark's
 * requests/s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "ms_lookup.h"
#include "ms_view.h"

#define ROUNDS 200000

/* Where the buckets read are summed, so that the reads are not optimised away. */
static volatile int64_t bucket_sink;

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The non-empty lines of a file, from p. */
static char **lines(const char *path, int *n, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 1024, sizeof(char *));
    char buf[4096];
    FILE *f = fopen(path, "r");

    if (!f) {
        fprintf(stderr, "lookup_bench: cannot open %s\n", path);
        exit(2);
    }
    while (fgets(buf, sizeof(buf), f)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        if (*buf)
            APR_ARRAY_PUSH(a, char *) = apr_pstrdup(p, buf);
    }
    fclose(f);
    if (a->nelts == 0) {
        fprintf(stderr, "lookup_bench: %s is empty\n", path);
        exit(2);
    }
    *n = a->nelts;
    return (char **)a->elts;
}

/* httpd runs a request on one of 128 threads sharing two cores: its data
 * is rarely still in the core's own caches (L1, L2) from the request before.
 * A read over a buffer larger than L2 before a call leaves them so. */
#define SWEEP_BYTES ((size_t)8 << 20)
#define COLD_ROUNDS 10000

static unsigned char *sweep_buf;
static volatile unsigned sweep_sink;

static void sweep(void)
{
    unsigned s = 0;
    size_t i;

    for (i = 0; i < SWEEP_BYTES; i += 64)
        s += sweep_buf[i];
    sweep_sink = s;
}

static void request(ms_request_t *q, const char *path, const char *ip, ms_cache_t *c,
                    ms_order_cache_t *oc)
{
    memset(q, 0, sizeof(*q));
    q->path = path;
    q->client_ip = ip;
    q->spread.factor = 1.5;
    q->spread.km = 250;
    q->limit = 5;
    q->cache = c;
    q->orders = oc;
}

int main(int argc, char **argv)
{
    apr_pool_t *p, *rp;
    const char *data, *err = NULL;
    char **hot, **tail, **clients;
    int nhot, ntail, nclients, i, hits = 0;
    ms_view_t *view;
    ms_snap_t *snap = NULL;
    ms_geo_t *geo;
    ms_cache_t *cache;
    ms_order_cache_t *orders;
    ms_db_t *db;
    ms_answer_t *a;
    ms_request_t q;
    unsigned seed = 1;
    double t0;

    if (argc != 4) {
        fprintf(stderr, "usage: lookup_bench DATA-DIR CITY.mmdb CLIENTS.txt\n");
        return 2;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    apr_pool_create(&rp, p);
    data = argv[1];
    hot = lines(apr_pstrcat(p, data, "/hot.txt", NULL), &nhot, p);
    tail = lines(apr_pstrcat(p, data, "/tail.txt", NULL), &ntail, p);
    clients = lines(argv[3], &nclients, p);
    if (ms_view_start(&view, apr_pstrcat(p, data, "/db/mirrorsel.db", NULL), p, &err) != 0
        || ms_geo_open(&geo, argv[2], NULL, p, &err) != 0
        || ms_db_open(&db, apr_pstrcat(p, data, "/db/mirrorsel.db", NULL), MS_DB_READONLY, p,
                      &err) != MS_OK) {
        fprintf(stderr, "lookup_bench: %s\n", err ? err : "cannot start");
        return 1;
    }
    ms_geo_cache_enable(geo, 32768, p);
    ms_cache_create(&cache, 131072, p);
    ms_order_cache_create(&orders, 32768, p);
    for (i = 0; i < 500 && !(snap = ms_view_acquire(view)); i++) {
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    if (!snap) {
        fprintf(stderr, "lookup_bench: no view of the database\n");
        return 1;
    }

    /* warm: the hot set into the cache, every client's location and order */
    for (i = 0; i < nhot; i++) {
        request(&q, hot[i], clients[i % nclients], cache, orders);
        ms_lookup(&a, db, geo, &q, rp);
        apr_pool_clear(rp);
    }
    for (i = 0; i < 2 * nclients; i++) {
        request(&q, hot[i % nhot], clients[i % nclients], cache, orders);
        ms_lookup_cached(&a, &snap->data, geo, &q, rp);
        apr_pool_clear(rp);
    }

    /* the miss path, over tail files no request asked for yet, as the
     * module takes it: the view's cache misses, then the database */
    t0 = now();
    for (i = 0; i < 20000 && i < ntail; i++) {
        request(&q, tail[i], clients[i % nclients], cache, orders);
        if (ms_lookup_cached(&a, &snap->data, geo, &q, rp) == 0) {
            q.missed = 1;
            q.missed_ident = snap->data.ident;
            q.missed_gen = snap->data.data_gen;
        }
        ms_lookup(&a, db, geo, &q, rp);
        apr_pool_clear(rp);
    }
    printf("miss (ms_lookup: the file read from SQLite):        %7.2f us/call over %d files\n",
           (now() - t0) / i * 1e6, i);

    t0 = now();
    for (i = 0; i < ROUNDS; i++) {
        seed = seed * 1103515245u + 12345u;
        request(&q, hot[(seed >> 8) % nhot], clients[(seed >> 3) % nclients], cache, orders);
        hits += ms_lookup_cached(&a, &snap->data, geo, &q, rp) == 1;
        apr_pool_clear(rp);
    }
    printf("hit (ms_lookup_cached):                              %7.2f us/call (%d of %d answered)\n",
           (now() - t0) / ROUNDS * 1e6, hits, ROUNDS);

    sweep_buf = apr_pcalloc(p, SWEEP_BYTES);      /* zeroed: every page is there */
    {
        static const char *const part_names[] = {
            "hit, the core's caches cold (after an 8 MB read):  ",
            "  of which the file cache, cold:                   ",
            "  the client's location, cold:                     ",
            "  location and mirror order, cold:                 ",
            "  the path's bucket (schema 005), cold:            ",
        };
        int part;

        for (part = 0; part < 5; part++) {
            double spent = 0;

            for (i = 0; i < COLD_ROUNDS; i++) {
                ms_file_t *f;
                ms_holders_t h;
                ms_client_t client;
                const ms_order_t *order;
                const char *path, *ip;

                seed = seed * 1103515245u + 12345u;
                path = hot[(seed >> 8) % nhot];
                ip = clients[(seed >> 3) % nclients];
                request(&q, path, ip, cache, orders);
                sweep();
                t0 = now();
                switch (part) {
                case 0:
                    ms_lookup_cached(&a, &snap->data, geo, &q, rp);
                    break;
                case 1:
                    ms_cache_get(cache, snap->data.ident, snap->data.data_gen, path, &f, &h, rp);
                    break;
                case 2:
                    ms_client_locate(&client, geo, ip, NULL, 0);
                    break;
                case 3:
                    ms_client_locate(&client, geo, ip, NULL, 0);
                    ms_order_cache_get(&order, orders, snap->data.ident, snap->data.mirrors,
                                       &client, rp);
                    break;
                default:
                    bucket_sink += snap->data.buckets[ms_path_bucket(path, strlen(path))];
                    break;
                }
                spent += now() - t0;
                apr_pool_clear(rp);
            }
            printf("%s %7.2f us/call\n", part_names[part], spent / COLD_ROUNDS * 1e6);
        }
    }

    t0 = now();
    for (i = 0; i < ROUNDS; i++) {
        ms_file_t *f;
        ms_holders_t h;

        seed = seed * 1103515245u + 12345u;
        ms_cache_get(cache, snap->data.ident, snap->data.data_gen, hot[(seed >> 8) % nhot], &f,
                     &h, rp);
        apr_pool_clear(rp);
    }
    printf("  of which the file cache (ms_cache_get):            %7.2f us\n",
           (now() - t0) / ROUNDS * 1e6);

    t0 = now();
    for (i = 0; i < ROUNDS; i++) {
        const char *path;

        seed = seed * 1103515245u + 12345u;
        path = hot[(seed >> 8) % nhot];
        bucket_sink += snap->data.buckets[ms_path_bucket(path, strlen(path))];
    }
    printf("  the path's bucket (ms_path_bucket, the slot):      %7.2f us\n",
           (now() - t0) / ROUNDS * 1e6);

    t0 = now();
    for (i = 0; i < ROUNDS; i++) {
        ms_client_t client;

        seed = seed * 1103515245u + 12345u;
        ms_client_locate(&client, geo, clients[(seed >> 3) % nclients], NULL, 0);
    }
    printf("  the client's location (ms_client_locate):          %7.2f us\n",
           (now() - t0) / ROUNDS * 1e6);

    t0 = now();
    for (i = 0; i < ROUNDS; i++) {
        ms_client_t client;
        const ms_order_t *order;

        seed = seed * 1103515245u + 12345u;
        ms_client_locate(&client, geo, clients[(seed >> 3) % nclients], NULL, 0);
        ms_order_cache_get(&order, orders, snap->data.ident, snap->data.mirrors, &client, rp);
        apr_pool_clear(rp);
    }
    printf("  location and mirror order (ms_order_cache_get):    %7.2f us\n",
           (now() - t0) / ROUNDS * 1e6);

    ms_view_release(view, snap);
    apr_pool_destroy(p);
    apr_terminate();
    return 0;
}
