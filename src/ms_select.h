/* ms_select.h — which mirrors may serve a file to a client, in which order.
 * The ranking itself is explained in ms_select.c. */
#ifndef MS_SELECT_H
#define MS_SELECT_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "ms_db.h"
#include "ms_geo.h"

enum {
    MS_TIER_PREFIX        = 1,
    MS_TIER_ASN           = 2,
    MS_TIER_COUNTRY       = 3,
    MS_TIER_OTHER_COUNTRY = 4,
    MS_TIER_CONTINENT     = 5,
    MS_TIER_WORLD         = 6,
};
const char *ms_tier_name(int tier);          /* "prefix" … "world" */

/* Why a mirror cannot serve this request. */
enum {
    MS_EXCL_DISABLED = 1,      /* mirror disabled */
    MS_EXCL_NOT_HELD,          /* no scan saw the file there */
    MS_EXCL_STALE,             /* the copy seen differs from the origin's */
    MS_EXCL_NO_URL,            /* no base URL for the request's scheme */
    MS_EXCL_DOWN,              /* not up for the scheme and address family */
    MS_EXCL_MAX_SIZE,          /* file larger than the mirror's max-size */
    MS_EXCL_SCOPE,             /* the mirror's scope does not admit the client */
};
const char *ms_excl_name(int reason);        /* "disabled", "not-held", … */

typedef struct ms_client {
    ms_addr_t addr;            /* family 4 or 6 */
    const char *addr_text;     /* as given; seeds the draw */
    ms_location_t loc;
    int https;                 /* the request came over https */
    ms_geo_error_t geo_err;    /* .path set: a geo database failed (corrupt) */
} ms_client_t;

typedef struct ms_spread {
    double factor;             /* F of MirrorSelSpread, default 1.5 */
    double km;                 /* K of MirrorSelSpread, default 250 */
} ms_spread_t;

typedef struct ms_ranked {
    const ms_mirror_t *mirror;
    int tier;                  /* MS_TIER_* */
    double distance_km;        /* < 0 when unknown */
    const char *base_url;      /* the base URL this client is sent to */
    int https;                 /* base_url is the https one */
    const ms_copy_t *copy;     /* what the scan saw; NULL for a fallback mirror */
} ms_ranked_t;

typedef struct ms_excluded {
    const ms_mirror_t *mirror;
    int reason;                /* MS_EXCL_* */
    const char *detail;        /* human detail, e.g. "size 10 != 12" */
} ms_excluded_t;

typedef struct ms_choice {
    apr_array_header_t *ranked;    /* ms_ranked_t; element 0 is the chosen one */
    apr_array_header_t *excluded;  /* ms_excluded_t; only when explain was asked */
    int fallback;                  /* 1 when ranked holds fallback mirrors */
    int band;                      /* how many mirrors shared the draw */
} ms_choice_t;

/* Rank the mirrors for one request. copies: ms_copy_t of the file, ordered by
 * mirror id (as ms_db_copies gives them). When no mirror qualifies, the
 * fallback mirrors are ranked instead; when none of those either, ranked is
 * empty. With explain, every mirror left out is listed with its reason.
 * With limit > 0 only the first limit places are ranked and returned (the
 * redirect needs its Link headers' worth); 0 ranks them all. */
int ms_select(ms_choice_t **out, const ms_mirrors_t *mirrors, const ms_file_t *file,
              const apr_array_header_t *copies, const ms_client_t *client,
              const ms_spread_t *spread, int explain, int limit, apr_pool_t *p);

/* --- the redirect's shortcut ---
 *
 * Which mirrors may serve a client in which order depends on the client's
 * location (scheme, address family, AS, country, continent, coordinates)
 * and the mirrors, not on the file: the file only strikes out the mirrors
 * that do not hold it fresh or take no files that large. So the order is
 * worked out once per location (ms_select_order, cached per process by
 * ms_order_cache) and a redirect walks it for the file's holders
 * (ms_select_ordered): the same rules and the same answer as ms_select. The
 * prefix tier is about the address, not the location: the order leaves it
 * out and ms_select_ordered puts the few --prefix mirrors in front. */

/* One place in an order: the mirror's index in the snapshot's mirror array
 * and its tier for the location. */
typedef struct ms_place {
    uint16_t index;
    uint8_t tier;
} ms_place_t;

typedef struct ms_order {
    int count;
    ms_place_t *place;         /* by tier, distance, id */
} ms_order_t;

/* The enabled mirrors that may serve clients at client's location, ordered
 * as ms_select ranks them, the prefix tier aside; from p. Health is left to
 * the walk: a mirror is placed when it has a URL for the client's scheme,
 * up or not, so the order holds for every set of the same order_gen (the
 * mirrors as they are but for probe verdicts). Returns 0, or -1 when the
 * snapshot has more mirrors than a place can index. */
int ms_select_order(ms_order_t **out, const ms_mirrors_t *mirrors,
                    const ms_client_t *client, apr_pool_t *p);

/* ms_select without explain and with limit > 0, by walking order (made by
 * ms_select_order for this client's location and a set of mirrors with the
 * same order_gen) for the file's fresh holders that are up for the client. Returns 1
 * with *out set, or 0 when the caller must ask ms_select: no holder
 * qualifies (the fallback mirrors' turn), mirror ids are too sparse, or the
 * set was not prepared (loaded, or ms_mirrors_prepare). */
int ms_select_ordered(ms_choice_t **out, const ms_order_t *order,
                      const ms_mirrors_t *mirrors, const ms_file_t *file,
                      const ms_holders_t *holders, const ms_client_t *client,
                      const ms_spread_t *spread, int limit, apr_pool_t *p);
/* In the walk's answer each ranked copy is synthesised as an exact copy of
 * the file (holders keep no scan details): a redirect needs none. */

/* The holders among copies (ordered by mirror id): those fresh against f. */
void ms_holders_of(ms_holders_t *out, const ms_file_t *f, const apr_array_header_t *copies,
                   apr_pool_t *p);
/* Holders back as ms_copy_t (exact copies of f, precision 1, never seen),
 * for ms_select when the walk cannot answer. */
apr_array_header_t *ms_holders_copies(const ms_holders_t *h, const ms_file_t *f, apr_pool_t *p);

/* Building blocks, exposed for the tests. */
double ms_distance_km(double lat1, double lon1, double lat2, double lon2);
uint64_t ms_seed(const char *client, const char *path);
/* 1 if the copy matches the origin file: same size, |mtime diff| < precision. */
int ms_copy_fresh(const ms_file_t *f, const ms_copy_t *c);

#endif
