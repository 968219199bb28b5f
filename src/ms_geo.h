/* ms_geo.h — where a client or a mirror is: country, continent, coordinates
 * and AS number, from a City or Country mmdb and an optional ASN mmdb. */
#ifndef MS_GEO_H
#define MS_GEO_H

#include <stdint.h>
#include <apr_pools.h>
#include "ms_net.h"

typedef struct ms_geo ms_geo_t;

typedef struct ms_location {
    char country[3];           /* ISO 3166-1 alpha-2, upper case; "" unknown */
    char continent[3];         /* AF AN AS EU NA OC SA; "" unknown */
    int has_coords;
    double lat, lon;           /* degrees, valid when has_coords */
    uint32_t asn;              /* 0 unknown */
} ms_location_t;

/* Open the geo databases. city_path may name a City or a Country mmdb;
 * asn_path may be NULL. Either path may be NULL, in which case lookups
 * simply find nothing for that part. The databases are closed by a cleanup
 * on pool p. On error returns non-zero and sets *err (allocated from p),
 * naming the file and the reason. */
int ms_geo_open(ms_geo_t **out, const char *city_path, const char *asn_path,
                apr_pool_t *p, const char **err);

/* Why a lookup failed: the database's file and libmaxminddb's reason,
 * both living as long as the databases are open. */
typedef struct ms_geo_error {
    const char *path;
    const char *reason;
} ms_geo_error_t;

/* Check the kinds of the databases open in geo by their metadata's
 * database_type: the GeoIP one must say "City", "Country" or "Enterprise"
 * (GeoLite2-City, GeoIP2-Country, DBIP-City-Lite ...), the ASN one "ASN" or
 * "ISP" (GeoLite2-ASN, GeoIP2-ISP), in any case. A database of another kind
 * opens and is read without error, but finds nothing: every address would be
 * "not in the geo databases". Returns 0, or -1 with *err (from p) naming the
 * file, its type and the kind wanted. The tool refuses such a database; the
 * module logs a warning once per process and answers as before. */
int ms_geo_check_types(const ms_geo_t *geo, apr_pool_t *p, const char **err);

/* Look an address up. Fills *out (zeroed first); an address found in
 * neither database is not an error: *out stays empty. Returns 0, or -1 when
 * a database could not be read for it (one that opened but is corrupt
 * inside): *out is then empty and *err (when not NULL) says why; such a
 * lookup is not cached. Thread-safe. */
int ms_geo_lookup(ms_location_t *out, const ms_geo_t *geo, const ms_addr_t *addr,
                  ms_geo_error_t *err);

/* Remember locations by address from now on (per process, for the module):
 * a direct-mapped cache of `slots` (rounded up to a power of two) entries of
 * 64 bytes, never invalidated — the databases do not change once open.
 * ms_geo_lookup stays thread-safe. Freed by a cleanup on p. Returns 0, or
 * -1 when out of memory (lookups then go to the mmdb as before). */
int ms_geo_cache_enable(ms_geo_t *geo, int slots, apr_pool_t *p);

/* Cache hits and misses so far; 0 without a cache. */
void ms_geo_cache_stats(const ms_geo_t *geo, uint64_t *hits, uint64_t *misses);

#endif
