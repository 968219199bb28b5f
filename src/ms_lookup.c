/* ms_lookup.c — one request decided, the same way for the module and for
 * `mirrorsel explain`. */
#include <string.h>

#include <apr_strings.h>

#include "ms_country.h"
#include "ms_lookup.h"

static const char *const result_names[] = {
    [MS_RESULT_REDIRECT] = "redirect", [MS_RESULT_LOCAL] = "local",
    [MS_RESULT_NOMIRROR] = "nomirror", [MS_RESULT_EXCLUDED] = "excluded",
    [MS_RESULT_ERROR] = "error",
};

const char *ms_result_name(int result)
{
    if (result < MS_RESULT_REDIRECT || result > MS_RESULT_ERROR)
        return "error";
    return result_names[result];
}

int ms_client_locate(ms_client_t *out, const ms_geo_t *geo, const char *ip,
                     const char *country, int https)
{
    const char *continent = NULL;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->https = https;
    out->addr_text = ip ? ip : "";
    if (!ip || ms_addr_parse(&out->addr, ip) != 0) {
        out->addr.family = 4;         /* unknown: no prefix can match 0.0.0.0 usefully */
        rc = -1;
    }
    else
        ms_geo_lookup(&out->loc, geo, &out->addr, &out->geo_err);
    if (country && *country) {
        continent = ms_country_continent(country);
        if (!continent)
            return -1;
        /* The override says where the client wants to be served from; its
         * address's coordinates and network are elsewhere, so distance and
         * the AS tier no longer apply (a mirror's --prefix still does: that
         * is the operator's word about the address itself). */
        out->loc.country[0] = (char)(country[0] & ~0x20);
        out->loc.country[1] = (char)(country[1] & ~0x20);
        out->loc.country[2] = '\0';
        memcpy(out->loc.continent, continent, 3);
        out->loc.has_coords = 0;
        out->loc.asn = 0;
    }
    return rc;
}

/* The origin file as it is now: a caller that stat()ed it knows better than
 * the index when the two disagree (the file changed since `mirrorsel index`);
 * then the hash in the index is not this file's either. Returns 1 when the
 * file was corrected. */
static int apply_stat(ms_file_t *f, const ms_request_t *req)
{
    if (!req->have_stat || (f->size == req->size && f->mtime == req->mtime))
        return 0;
    f->size = req->size;
    f->mtime = req->mtime;
    f->sha256 = NULL;
    f->sha256_raw = NULL;
    return 1;
}

/* From the database, in one read transaction: the mirrors, the file and
 * either its copies (copies != NULL: every detail, for explain and the
 * documents) or only its fresh holders (the redirect) from one snapshot.
 * Returns MS_OK, MS_NOTFOUND (not indexed) or MS_ERR. */
static int read_file(ms_answer_t *a, const ms_mirrors_t **mirrors,
                     apr_array_header_t **copies, ms_holders_t *holders, int64_t *data_gen,
                     ms_db_t *db, const ms_request_t *req, apr_pool_t *p)
{
    int64_t mirrors_gen;
    int rc;

    if (ms_db_begin(db) != MS_OK)
        return MS_ERR;
    /* read in this transaction (not the -wal shortcut's last reading): it
     * labels what the transaction reads, in the file cache too */
    if (ms_db_generation_now(db, &mirrors_gen, data_gen) != MS_OK
        || ms_db_mirrors_at(mirrors, db, mirrors_gen) != MS_OK)
        goto fail;
    if (copies) {
        rc = ms_db_file_get(&a->file, db, req->path, p);
        if (rc == MS_OK && ms_db_copies(copies, db, a->file->id, p) != MS_OK)
            rc = MS_ERR;
    }
    else                               /* one row: the file and its holders' bits */
        rc = ms_db_file_holders(&a->file, holders, db, req->path, p);
    if (rc == MS_ERR)
        goto fail;
    ms_db_rollback(db);               /* read-only: ending it is all there is */
    return rc;

fail:
    ms_db_rollback(db);
    return MS_ERR;
}

/* The request path's shortcut: the mirrors snapshot for the current
 * generation and the file's fresh holders from the per-process cache.
 * Returns 1 when the cache answered. */
static int read_cached(ms_answer_t *a, const ms_mirrors_t **mirrors, ms_holders_t *holders,
                       ms_db_t *db, const ms_request_t *req, apr_pool_t *p)
{
    int64_t mirrors_gen, data_gen, read_at = 0, since;
    ms_file_t *f;

    if (ms_db_generation(db, &mirrors_gen, &data_gen) != MS_OK)
        return 0;
    if (req->missed && req->missed_ident == ms_db_identity(db) && req->missed_gen == data_gen)
        return 0;              /* ms_lookup_cached asked for this already */
    /* An entry read at this generation, or at an earlier one when the path's
     * bucket has not moved since, as on the view's path: a change pending
     * for the view (or no view) empties no more of the cache than the change
     * itself. Only an earlier entry costs the bucket's statement. */
    if (!ms_cache_get_range(req->cache, ms_db_identity(db), 0, data_gen, req->path, &f,
                            holders, &read_at, p)
        || (read_at < data_gen
            && (ms_db_bucket_since(db, req->path, &since) != MS_OK || since > read_at))) {
        ms_cache_count(req->cache, 0);
        return 0;
    }
    ms_cache_count(req->cache, 1);
    /* The cache holds holders fresh against the index; a file changed on
     * disk since must be judged against the copies themselves. */
    if (f && req->have_stat && (f->size != req->size || f->mtime != req->mtime))
        return 0;
    if (ms_db_mirrors_at(mirrors, db, mirrors_gen) != MS_OK)
        return 0;
    a->file = f;
    return 1;
}

/* A redirect's shortcut: the mirrors in the order cached for the client's
 * location, walked for this file's holders; the same answer as ms_select.
 * Returns 1 when it answered. */
static int select_ordered(ms_answer_t *a, const ms_mirrors_t *mirrors,
                          const ms_holders_t *holders, uint64_t db_ident,
                          const ms_request_t *req, apr_pool_t *p)
{
    const ms_order_t *order;

    if (!req->orders || req->explain || req->limit <= 0
        || ms_order_cache_get(&order, req->orders, db_ident, mirrors,
                              &a->client, p) != 0)
        return 0;
    return ms_select_ordered(&a->choice, order, mirrors, a->file, holders, &a->client,
                             &req->spread, req->limit, p);
}

static void answer_error(ms_answer_t *a, ms_db_t *db, apr_pool_t *p)
{
    a->error = apr_pstrdup(p, ms_db_errmsg(db));
    a->result = MS_RESULT_ERROR;
    a->file = NULL;
}

/* A geo database that cannot be read for the client (corrupt inside)
 * decides nothing: SPEC serves the file locally, as for one that does not
 * open, rather than rank the client as if it were nowhere. Returns 1 then. */
static int geo_failed(ms_answer_t *a, apr_pool_t *p)
{
    if (!a->client.geo_err.path)
        return 0;
    a->error = apr_psprintf(p, "geo database %s: %s", a->client.geo_err.path,
                            a->client.geo_err.reason);
    a->result = MS_RESULT_ERROR;
    a->file = NULL;
    return 1;
}

/* Rank: the ordered walk when it can, else ms_select over copies (the
 * holders as exact copies when the caller read no copies). */
static void rank(ms_answer_t *a, const ms_mirrors_t *mirrors, const ms_holders_t *holders,
                 const apr_array_header_t *copies, uint64_t db_ident, const ms_request_t *req,
                 apr_pool_t *p)
{
    if (!holders || !select_ordered(a, mirrors, holders, db_ident, req, p))
        ms_select(&a->choice, mirrors, a->file,
                  copies ? copies : ms_holders_copies(holders, a->file, p), &a->client,
                  &req->spread, req->explain, req->limit, p);
    a->result = a->choice->ranked->nelts > 0 ? MS_RESULT_REDIRECT : MS_RESULT_NOMIRROR;
}

/* The redirect's path: fresh holders only, from the cache or the database
 * (then remembered). Returns 0 when the file changed on disk since it was
 * indexed: its holders must then be judged from the copies (lookup_copies). */
static int lookup_holders(ms_answer_t *a, ms_db_t *db, const ms_request_t *req, apr_pool_t *p)
{
    const ms_mirrors_t *mirrors = NULL;
    ms_holders_t holders = { 0, NULL, NULL, 0 };
    int64_t data_gen = 0;

    if (!read_cached(a, &mirrors, &holders, db, req, p)) {
        if (read_file(a, &mirrors, NULL, &holders, &data_gen, db, req, p) == MS_ERR) {
            answer_error(a, db, p);
            return 1;
        }
        ms_cache_put(req->cache, ms_db_identity(db), data_gen, req->path, a->file, &holders);
    }
    if (!a->file) {
        a->result = MS_RESULT_NOMIRROR;
        return 1;
    }
    if (apply_stat(a->file, req))
        return 0;
    rank(a, mirrors, &holders, NULL, ms_db_identity(db), req, p);
    return 1;
}

/* Every copy with its details, judged against the file as it is now. */
static void lookup_copies(ms_answer_t *a, ms_db_t *db, const ms_request_t *req, apr_pool_t *p)
{
    const ms_mirrors_t *mirrors = NULL;
    apr_array_header_t *copies = NULL;
    ms_holders_t holders;
    int64_t data_gen = 0;

    if (read_file(a, &mirrors, &copies, NULL, &data_gen, db, req, p) == MS_ERR) {
        answer_error(a, db, p);
        return;
    }
    if (!a->file) {
        a->result = MS_RESULT_NOMIRROR;
        return;
    }
    apply_stat(a->file, req);
    if (req->orders && !req->explain)
        ms_holders_of(&holders, a->file, copies, p);
    rank(a, mirrors, req->orders && !req->explain ? &holders : NULL, copies,
         ms_db_identity(db), req, p);
}

int ms_lookup_cached(ms_answer_t **out, const ms_view_data_t *view, const ms_geo_t *geo,
                     const ms_request_t *req, apr_pool_t *p)
{
    ms_answer_t *a = apr_pcalloc(p, sizeof(*a));
    ms_holders_t holders = { 0, NULL, NULL, 0 };
    ms_file_t *f;
    int64_t since;

    *out = NULL;
    if (!req->cache || req->explain || !view || !view->mirrors)
        return -1;
    /* Any entry read since the last change to the path's bucket will do. */
    since = view->data_gen;
    if (view->buckets) {
        since = view->buckets[ms_path_bucket(req->path, strlen(req->path))];
        if (since < view->data_floor)
            since = view->data_floor;
    }
    if (!ms_cache_get_range(req->cache, view->ident, since, view->data_gen, req->path, &f,
                            &holders, NULL, p))
        return 0;
    /* Changed on disk since it was indexed: judged from the copies. */
    if (f && req->have_stat && (f->size != req->size || f->mtime != req->mtime))
        return -1;
    ms_client_locate(&a->client, geo, req->client_ip, req->country, req->https);
    if (geo_failed(a, p)) {
        *out = a;
        return 1;
    }
    a->file = f;
    if (!f)
        a->result = MS_RESULT_NOMIRROR;
    else
        rank(a, view->mirrors, &holders, NULL, view->ident, req, p);
    *out = a;
    return 1;
}

void ms_lookup(ms_answer_t **out, ms_db_t *db, const ms_geo_t *geo,
               const ms_request_t *req, apr_pool_t *p)
{
    ms_answer_t *a = apr_pcalloc(p, sizeof(*a));

    *out = a;
    ms_client_locate(&a->client, geo, req->client_ip, req->country, req->https);
    if (geo_failed(a, p))
        return;
    if (!req->cache || req->explain || !lookup_holders(a, db, req, p))
        lookup_copies(a, db, req, p);
}
