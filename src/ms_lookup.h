/* ms_lookup.h — one request decided: locate the client, find the file and
 * its copies, rank the mirrors. The module and `mirrorsel explain` both call
 * ms_lookup, so they give the same answer for the same input. */
#ifndef MS_LOOKUP_H
#define MS_LOOKUP_H

#include "ms_db.h"
#include "ms_geo.h"
#include "ms_select.h"
#include "ms_cache.h"
#include "ms_order_cache.h"
#include "ms_view.h"

enum {
    MS_RESULT_REDIRECT = 1,    /* ranked mirrors exist */
    MS_RESULT_LOCAL,           /* served by the origin itself */
    MS_RESULT_NOMIRROR,        /* no mirror qualifies and no fallback */
    MS_RESULT_EXCLUDED,        /* an exclusion rule matched */
    MS_RESULT_ERROR,           /* database or geo data unusable */
};
const char *ms_result_name(int result);   /* "redirect", "local", … */

typedef struct ms_request {
    const char *path;          /* normalised, origin-relative */
    const char *client_ip;     /* textual address */
    const char *country;       /* override (?country=CC), or NULL */
    int https;
    int have_stat;             /* the caller stat()ed the origin file: */
    int64_t size, mtime;       /*   its real size and mtime win over the index */
    ms_spread_t spread;
    int explain;               /* list every excluded mirror with its reason */
    int limit;                 /* rank only the first limit mirrors; 0: all */
    ms_cache_t *cache;         /* per-process cache, or NULL */
    ms_order_cache_t *orders;  /* per-process orders by location (redirects
                                * only: needs limit > 0, no explain), or NULL */
    int missed;                /* ms_lookup_cached missed the cache for */
    uint64_t missed_ident;     /*   this database and data generation: */
    int64_t missed_gen;        /*   ms_lookup does not ask it again */
} ms_request_t;

typedef struct ms_answer {
    int result;                /* MS_RESULT_* */
    ms_client_t client;
    ms_file_t *file;           /* NULL when not in the index */
    ms_choice_t *choice;       /* NULL unless the file was found */
    const char *error;         /* with MS_RESULT_ERROR */
} ms_answer_t;

/* geo may be NULL (no location known). Never fails for a request the caller
 * could serve locally: problems come back as MS_RESULT_ERROR with error set.
 *
 * LIFETIME: the answer's mirrors (choice->ranked[i].mirror, .base_url) point
 * into db's cached mirror snapshot, which the next ms_lookup or ms_db_mirrors
 * call on the same handle may replace. Keep the handle to yourself (do not
 * give it back to a resource list) until you are done with the answer, e.g.
 * until the response headers and body are built. */
void ms_lookup(ms_answer_t **out, ms_db_t *db, const ms_geo_t *geo,
               const ms_request_t *req, apr_pool_t *p);

/* The same answer without a database handle, when req->cache holds the
 * file for the view's data generation: the view's mirrors ranked for the
 * cached holders. Returns 1 when it answered; 0 when the file is not in the
 * cache for the view, -1 when the view cannot answer for another reason
 * (the file changed on disk since it was indexed, no cache): then the
 * database must be asked (ms_lookup). The answer's mirrors point into view->mirrors: keep the
 * view's snapshot referenced until done with the answer. */
int ms_lookup_cached(ms_answer_t **out, const ms_view_data_t *view, const ms_geo_t *geo,
                     const ms_request_t *req, apr_pool_t *p);

/* Fill a client from its address and an optional country override: location
 * from geo; an override replaces country and continent and drops coordinates.
 * Returns -1 when the address does not parse or the country is unknown.
 * A geo database that fails for the address (corrupt inside) leaves the
 * location empty and says why in out->geo_err; ms_lookup and
 * ms_lookup_cached then answer MS_RESULT_ERROR. */
int ms_client_locate(ms_client_t *out, const ms_geo_t *geo, const char *ip,
                     const char *country, int https);

#endif
