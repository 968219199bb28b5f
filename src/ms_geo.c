/* ms_geo.c — client and mirror locations from MaxMind databases.
 *
 * A City database gives country, continent and coordinates; a Country
 * database only the first two, and that is fine: ranking then ignores
 * distance. The ASN database is optional. libmaxminddb lookups on an opened
 * MMDB_s are read-only and safe to share between threads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <maxminddb.h>
#include <apr_strings.h>

#include "ms_geo.h"
#include "ms_stripes.h"

typedef struct geo_cache geo_cache_t;

struct ms_geo {
    MMDB_s city;
    MMDB_s asn;
    int have_city;
    int have_asn;
    geo_cache_t *cache;        /* NULL unless ms_geo_cache_enable */
};

static apr_status_t geo_cleanup(void *data)
{
    ms_geo_t *geo = data;

    if (geo->have_city)
        MMDB_close(&geo->city);
    if (geo->have_asn)
        MMDB_close(&geo->asn);
    geo->have_city = geo->have_asn = 0;
    return APR_SUCCESS;
}

static int open_one(MMDB_s *mmdb, const char *path, apr_pool_t *p, const char **err)
{
    int rc = MMDB_open(path, MMDB_MODE_MMAP, mmdb);

    if (rc == MMDB_SUCCESS)
        return 0;
    if (rc == MMDB_IO_ERROR || rc == MMDB_FILE_OPEN_ERROR)
        *err = apr_psprintf(p, "%s: %s (%s)", path, MMDB_strerror(rc), strerror(errno));
    else
        *err = apr_psprintf(p, "%s: %s", path, MMDB_strerror(rc));
    return -1;
}

int ms_geo_open(ms_geo_t **out, const char *city_path, const char *asn_path,
                apr_pool_t *p, const char **err)
{
    ms_geo_t *geo = apr_pcalloc(p, sizeof(*geo));

    *out = NULL;
    apr_pool_cleanup_register(p, geo, geo_cleanup, apr_pool_cleanup_null);
    if (city_path && *city_path) {
        if (open_one(&geo->city, city_path, p, err) != 0)
            return -1;
        geo->have_city = 1;
    }
    if (asn_path && *asn_path) {
        if (open_one(&geo->asn, asn_path, p, err) != 0)
            return -1;
        geo->have_asn = 1;
    }
    *out = geo;
    return 0;
}

/* 1 when type holds one of words (NULL-terminated), in any case. */
static int type_says(const char *type, const char *const *words)
{
    for (; *words; words++)
        if (type && strcasestr(type, *words))
            return 1;
    return 0;
}

/* NULL when mmdb's type holds one of words, else why not (naming the
 * file as it was opened: libmaxminddb keeps its path). */
static const char *type_check(const MMDB_s *mmdb, const char *role,
                              const char *const *words, const char *want, apr_pool_t *p)
{
    const char *type = mmdb->metadata.database_type, *path = mmdb->filename;

    if (type_says(type, words))
        return NULL;
    if (!type || !*type)
        return apr_psprintf(p, "the %s database %s names no database type: not %s "
                            "database", role, path, want);
    return apr_psprintf(p, "the %s database %s is of type \"%s\": not %s database", role,
                        path, type, want);
}

int ms_geo_check_types(const ms_geo_t *geo, apr_pool_t *p, const char **err)
{
    static const char *const city_words[] = { "City", "Country", "Enterprise", NULL };
    static const char *const asn_words[] = { "ASN", "ISP", NULL };
    const char *why = NULL;

    if (geo && geo->have_city)
        why = type_check(&geo->city, "GeoIP", city_words, "a City or Country", p);
    if (!why && geo && geo->have_asn)
        why = type_check(&geo->asn, "ASN", asn_words, "an ASN", p);
    if (why) {
        *err = why;
        return -1;
    }
    return 0;
}

/* The address as the sockaddr libmaxminddb wants. An IPv4 address goes in
 * as AF_INET, so databases with or without IPv4 aliases both answer. */
static socklen_t to_sockaddr(struct sockaddr_storage *ss, const ms_addr_t *addr)
{
    memset(ss, 0, sizeof(*ss));
    if (addr->family == 4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, addr->b + 12, 4);
        return sizeof(*sin);
    }
    else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, addr->b, 16);
        return sizeof(*sin6);
    }
}

/* MMDB_get_value's status as this file's: MMDB_SUCCESS for a value found
 * or absent (a record without the field), else the error (the data section
 * is corrupt, say). */
static int value_status(int status)
{
    return status == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR ? MMDB_SUCCESS : status;
}

static int get_code(char out[3], MMDB_entry_s *entry, const char *a, const char *b)
{
    MMDB_entry_data_s data;
    int status = MMDB_get_value(entry, &data, a, b, NULL);

    if (status == MMDB_SUCCESS && data.has_data
        && data.type == MMDB_DATA_TYPE_UTF8_STRING && data.data_size == 2) {
        out[0] = data.utf8_string[0];
        out[1] = data.utf8_string[1];
        out[2] = '\0';
        if (out[0] >= 'a' && out[0] <= 'z')
            out[0] = (char)(out[0] - 'a' + 'A');
        if (out[1] >= 'a' && out[1] <= 'z')
            out[1] = (char)(out[1] - 'a' + 'A');
    }
    return value_status(status);
}

/* 1 when found (*out set), 0 when absent; -status on an error. */
static int get_double(double *out, MMDB_entry_s *entry, const char *a, const char *b)
{
    MMDB_entry_data_s data;
    int status = MMDB_get_value(entry, &data, a, b, NULL);

    if (status != MMDB_SUCCESS)
        return -value_status(status);
    if (!data.has_data)
        return 0;
    if (data.type == MMDB_DATA_TYPE_DOUBLE)
        *out = data.double_value;
    else if (data.type == MMDB_DATA_TYPE_FLOAT)
        *out = data.float_value;
    else
        return 0;
    return 1;
}

/* Each returns MMDB_SUCCESS (found or not) or the error that kept it from
 * reading the database: a database that opened but whose search tree or
 * data is corrupt fails here, on every lookup that walks into the damage. */
static int lookup_city(ms_location_t *out, const MMDB_s *mmdb, const struct sockaddr *sa)
{
    int mmdb_error = 0, st, lat_ok, lon_ok;
    MMDB_lookup_result_s res = MMDB_lookup_sockaddr(mmdb, sa, &mmdb_error);
    double lat, lon;

    if (mmdb_error != MMDB_SUCCESS)
        return mmdb_error;
    if (!res.found_entry)
        return MMDB_SUCCESS;
    if ((st = get_code(out->country, &res.entry, "country", "iso_code")) != MMDB_SUCCESS)
        return st;
    /* e.g. satellite providers: registered country */
    if (!out->country[0]
        && (st = get_code(out->country, &res.entry, "registered_country", "iso_code")) != MMDB_SUCCESS)
        return st;
    if ((st = get_code(out->continent, &res.entry, "continent", "code")) != MMDB_SUCCESS)
        return st;
    if ((lat_ok = get_double(&lat, &res.entry, "location", "latitude")) < 0)
        return -lat_ok;
    if ((lon_ok = get_double(&lon, &res.entry, "location", "longitude")) < 0)
        return -lon_ok;
    if (lat_ok && lon_ok && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
        out->has_coords = 1;
        out->lat = lat;
        out->lon = lon;
    }
    return MMDB_SUCCESS;
}

static int lookup_asn(ms_location_t *out, const MMDB_s *mmdb, const struct sockaddr *sa)
{
    int mmdb_error = 0, st;
    MMDB_lookup_result_s res = MMDB_lookup_sockaddr(mmdb, sa, &mmdb_error);
    MMDB_entry_data_s data;

    if (mmdb_error != MMDB_SUCCESS)
        return mmdb_error;
    if (!res.found_entry)
        return MMDB_SUCCESS;
    st = MMDB_get_value(&res.entry, &data, "autonomous_system_number", NULL);
    if (st == MMDB_SUCCESS && data.has_data && data.type == MMDB_DATA_TYPE_UINT32)
        out->asn = data.uint32;
    return value_status(st);
}

/* 0, or -1 with *err naming the database and the reason. */
static int lookup_mmdb(ms_location_t *out, const ms_geo_t *geo, const ms_addr_t *addr,
                       ms_geo_error_t *err)
{
    struct sockaddr_storage ss;
    const MMDB_s *failed = NULL;
    int st = MMDB_SUCCESS;

    to_sockaddr(&ss, addr);
    if (geo->have_city
        && (st = lookup_city(out, &geo->city, (const struct sockaddr *)&ss)) != MMDB_SUCCESS)
        failed = &geo->city;
    else if (geo->have_asn
             && (st = lookup_asn(out, &geo->asn, (const struct sockaddr *)&ss)) != MMDB_SUCCESS)
        failed = &geo->asn;
    if (!failed)
        return 0;
    memset(out, 0, sizeof(*out));
    if (err) {
        err->path = failed->filename;
        err->reason = MMDB_strerror(st);
    }
    return -1;
}

/* --- the per-process cache of locations by address ---
 *
 * Clients come back: a download manager opens a connection per chunk, a
 * browser fetches a file's signature with it. The mmdb walk costs a few
 * hundred nanoseconds in a tree that cannot sit in the CPU's caches, plus
 * MMDB_get_value's decoding per field (6 % of a redirect's time); a hit
 * here is a hash and a 64-byte copy. Two-way on the 16 address bytes and
 * the family; never invalidated, since the mmdb is opened once per
 * process and never changes under it. Striped mutexes (ms_stripes) as in
 * the other caches. */

typedef struct geo_slot {
    unsigned char b[16];
    unsigned char family;      /* 0: empty */
    ms_location_t loc;
} geo_slot_t;

struct geo_cache {
    ms_stripes_t st;           /* st.mask + 1 slots */
    geo_slot_t *slot;          /* calloc'd: untouched slots cost no memory */
};

static uint64_t hash_addr(const ms_addr_t *addr)
{
    unsigned char family = (unsigned char)addr->family;
    uint64_t h = ms_hash64(family, addr->b, 16);

    return h ^ (h >> 32);
}

static apr_status_t geo_cache_cleanup(void *data)
{
    ms_geo_t *geo = data;

    if (geo->cache)
        free(geo->cache->slot);
    geo->cache = NULL;
    return APR_SUCCESS;
}

int ms_geo_cache_enable(ms_geo_t *geo, int slots, apr_pool_t *p)
{
    geo_cache_t *c = apr_pcalloc(p, sizeof(*c));

    if (ms_stripes_init(&c->st, slots, 2, p) != 0
        || !(c->slot = calloc(c->st.mask + 1, sizeof(*c->slot))))
        return -1;
    geo->cache = c;
    apr_pool_cleanup_register(p, geo, geo_cache_cleanup, apr_pool_cleanup_null);
    return 0;
}

static int slot_is(const geo_slot_t *s, const ms_addr_t *addr)
{
    return s->family == (unsigned char)addr->family && memcmp(s->b, addr->b, 16) == 0;
}

/* From the cache, or from the mmdb and then remembered. Two-way: an
 * address may sit in either slot of its pair; a newcomer takes the first and
 * moves that one's entry to the second (direct mapping lost 8 % of the
 * benchmark's 5,000 clients to collisions). */
static int lookup_cached(ms_location_t *out, const ms_geo_t *geo, const ms_addr_t *addr,
                         ms_geo_error_t *err)
{
    geo_cache_t *c = geo->cache;
    uint64_t pair_no, i = ms_stripes_pair(&c->st, hash_addr(addr), &pair_no);
    geo_slot_t *pair = &c->slot[i];
    int stripe = ms_stripes_lock(&c->st, pair_no), hit = 1;

    if (slot_is(&pair[0], addr))
        *out = pair[0].loc;
    else if (slot_is(&pair[1], addr))
        *out = pair[1].loc;
    else
        hit = 0;
    ms_stripes_count(&c->st, stripe, hit);
    ms_stripes_unlock(&c->st, stripe);
    if (hit)
        return 0;
    if (lookup_mmdb(out, geo, addr, err) != 0)
        return -1;                      /* not remembered: asked again */
    stripe = ms_stripes_lock(&c->st, pair_no);
    if (!slot_is(&pair[0], addr)) {     /* another thread may have put it */
        pair[1] = pair[0];
        memcpy(pair[0].b, addr->b, 16);
        pair[0].family = (unsigned char)addr->family;
        pair[0].loc = *out;
    }
    ms_stripes_unlock(&c->st, stripe);
    return 0;
}

void ms_geo_cache_stats(const ms_geo_t *geo, uint64_t *hits, uint64_t *misses)
{
    *hits = *misses = 0;
    if (geo && geo->cache)
        ms_stripes_stats(&geo->cache->st, hits, misses);
}

int ms_geo_lookup(ms_location_t *out, const ms_geo_t *geo, const ms_addr_t *addr,
                  ms_geo_error_t *err)
{
    memset(out, 0, sizeof(*out));
    if (err)
        err->path = err->reason = NULL;
    if (!geo || (addr->family != 4 && addr->family != 6))
        return 0;
    if (geo->cache)
        return lookup_cached(out, geo, addr, err);
    return lookup_mmdb(out, geo, addr, err);
}
