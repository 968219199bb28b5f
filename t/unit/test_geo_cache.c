/* test_geo_cache.c — the per-process cache of locations by address gives
 * what the mmdb gives, for IPv4 and IPv6, found and unknown addresses, also
 * when addresses collide in a tiny cache; and ms_geo_check_types tells a
 * City database from an ASN one. The mmdb is the tests' own, written by
 * scripts/mkmmdb.pl (skipped without Perl's MaxMind writer). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "tap.h"
#include "ms_geo.h"

static char dir[] = "/tmp/ms-test-geo-XXXXXX";

static const char *const ADDRS[] = {
    "192.0.2.7", "192.0.2.70", "198.51.100.200", "203.0.113.130", "203.0.113.200",
    "2001:db8:de::1", "2001:db8:1a::5", "2001:db8:ffff::1", "10.0.0.1",
};
#define NADDRS (int)(sizeof(ADDRS) / sizeof(ADDRS[0]))

static int same_location(const ms_location_t *a, const ms_location_t *b)
{
    return !strcmp(a->country, b->country) && !strcmp(a->continent, b->continent)
           && a->has_coords == b->has_coords && a->lat == b->lat && a->lon == b->lon
           && a->asn == b->asn;
}

/* Three rounds over the addresses through a cache of `slots`: every answer
 * equals the uncached one. */
static void check_cache(const char *city, const char *asn, int slots, apr_pool_t *p)
{
    ms_geo_t *plain, *cached;
    const char *err = NULL;
    uint64_t hits, misses;
    int round, i, bad = 0;

    if (ms_geo_open(&plain, city, asn, p, &err) != 0
        || ms_geo_open(&cached, city, asn, p, &err) != 0)
        bail_out("cannot open the test mmdb: %s", err ? err : "?");
    ok(ms_geo_cache_enable(cached, slots, p) == 0, "cache of %d slots", slots);
    for (round = 0; round < 3; round++)
        for (i = 0; i < NADDRS; i++) {
            ms_addr_t addr;
            ms_location_t want, got;
            ms_addr_parse(&addr, ADDRS[i]);
            ms_geo_lookup(&want, plain, &addr, NULL);
            ms_geo_lookup(&got, cached, &addr, NULL);
            if (!same_location(&want, &got) && bad++ < 3)
                diag("%s: %s/%u vs %s/%u", ADDRS[i], got.country, got.asn, want.country,
                     want.asn);
        }
    ms_geo_cache_stats(cached, &hits, &misses);
    ok(bad == 0, "%d slots: every answer as the mmdb's (%llu hits, %llu misses)", slots,
       (unsigned long long)hits, (unsigned long long)misses);
    ok(hits + misses == 3 * NADDRS, "each lookup counted once");
    if (slots >= 1024)
        ok(misses <= NADDRS + 2, "a roomy cache misses about once per address");
    else if (slots == 1)
        ok(misses == 3 * NADDRS, "a one-slot cache keeps missing as addresses collide");
}

int main(void)
{
    apr_pool_t *p;
    const char *city, *asn;
    ms_addr_t addr;
    ms_location_t loc;
    ms_geo_t *geo;

    apr_initialize();
    apr_pool_create(&p, NULL);
    if (!mkdtemp(dir))
        bail_out("mkdtemp failed");
    if (system(apr_psprintf(p, "perl scripts/mkmmdb.pl '%s' >/dev/null 2>&1", dir)) != 0) {
        printf("1..0 # SKIP cannot write a test mmdb (scripts/mkmmdb.pl)\n");
        return 0;
    }
    city = apr_pstrcat(p, dir, "/test-city.mmdb", NULL);
    asn = apr_pstrcat(p, dir, "/test-asn.mmdb", NULL);
    check_cache(city, asn, 4096, p);
    check_cache(city, asn, 1, p);
    check_cache(city, NULL, 64, p);

    ms_geo_open(&geo, city, asn, p, NULL);
    ms_geo_cache_enable(geo, 16, p);
    ms_addr_parse(&addr, "192.0.2.7");
    ms_geo_lookup(&loc, geo, &addr, NULL);
    ms_geo_lookup(&loc, geo, &addr, NULL);
    ok(!strcmp(loc.country, "DE") && loc.asn == 64501 && loc.has_coords,
       "a cached answer: Berlin, AS64501");
    ms_addr_parse(&addr, "203.0.113.200");
    ms_geo_lookup(&loc, geo, &addr, NULL);
    ms_geo_lookup(&loc, geo, &addr, NULL);
    ok(!loc.country[0] && !loc.asn, "a cached unknown stays unknown");

    /* A City mmdb whose metadata is whole but whose search tree is not:
     * it opens, and every lookup fails, says why, and is not cached. */
    {
        const char *damaged = apr_pstrcat(p, dir, "/damaged-city.mmdb", NULL);
        ms_geo_error_t gerr;
        uint64_t hits, misses;
        int rc1, rc2;

        if (system(apr_psprintf(p, "cp '%s' '%s' && head -c 2048 /dev/zero | tr '\\0' '\\377' "
                                "| dd of='%s' conv=notrunc status=none", city, damaged,
                                damaged)) != 0)
            bail_out("cannot write %s", damaged);
        is_int(ms_geo_open(&geo, damaged, asn, p, NULL), 0, "a damaged mmdb still opens");
        ms_geo_cache_enable(geo, 16, p);
        ms_addr_parse(&addr, "192.0.2.7");
        rc1 = ms_geo_lookup(&loc, geo, &addr, &gerr);
        is_int(rc1, -1, "a lookup in its damaged tree fails");
        is_str(gerr.path, damaged, "naming the file");
        ok(gerr.reason && *gerr.reason, "and libmaxminddb's reason (%s)", gerr.reason);
        ok(!loc.country[0] && !loc.has_coords && !loc.asn, "leaving the location empty");
        rc2 = ms_geo_lookup(&loc, geo, &addr, NULL);
        ms_geo_cache_stats(geo, &hits, &misses);
        ok(rc2 == -1 && hits == 0 && misses == 2, "asked again, not answered from the cache");
    }

    /* the kinds of database, by their metadata */
    {
        const char *err = NULL;

        ok(ms_geo_open(&geo, city, asn, p, &err) == 0
           && ms_geo_check_types(geo, p, &err) == 0, "types: City as GeoIP, ASN as ASN");
        ok(ms_geo_check_types(NULL, p, &err) == 0, "types: no databases, nothing to check");
        err = NULL;
        ok(ms_geo_open(&geo, asn, NULL, p, &err) == 0 && ms_geo_check_types(geo, p, &err) != 0
           && err && strstr(err, asn) && strstr(err, "\"GeoLite2-ASN\"")
           && strstr(err, "not a City or Country database"),
           "types: an ASN database as GeoIP refused, file and type named");
        err = NULL;
        ok(ms_geo_open(&geo, NULL, city, p, &err) == 0 && ms_geo_check_types(geo, p, &err) != 0
           && err && strstr(err, city) && strstr(err, "not an ASN database"),
           "types: a City database as ASN refused");
    }

    if (system(apr_psprintf(p, "rm -rf '%s'", dir)) != 0)
        diag("could not remove %s", dir);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
