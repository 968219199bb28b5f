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
        ms_geo_lookup(&out->loc, geo, &out->addr);
    if (country && *country) {
        continent = ms_country_continent(country);
        if (!continent)
            return -1;
        /* The override says where the client wants to be served from; its
         * address's coordinates are elsewhere, so distance no longer applies. */
        out->loc.country[0] = (char)(country[0] & ~0x20);
        out->loc.country[1] = (char)(country[1] & ~0x20);
        out->loc.country[2] = '\0';
        memcpy(out->loc.continent, continent, 3);
        out->loc.has_coords = 0;
    }
    return rc;
}

/* The origin file as it is now: a caller that stat()ed it knows better than
 * the index when the two disagree (the file changed since `mirrorsel index`);
 * then the hash in the index is not this file's either. */
static void apply_stat(ms_file_t *f, const ms_request_t *req)
{
    if (!req->have_stat)
        return;
    if (f->size != req->size || f->mtime != req->mtime) {
        f->size = req->size;
        f->mtime = req->mtime;
        f->sha256 = NULL;
    }
}

void ms_lookup(ms_answer_t **out, ms_db_t *db, const ms_geo_t *geo,
               const ms_request_t *req, apr_pool_t *p)
{
    ms_answer_t *a = apr_pcalloc(p, sizeof(*a));
    const ms_mirrors_t *mirrors = NULL;
    apr_array_header_t *copies = NULL;
    int rc;

    *out = a;
    ms_client_locate(&a->client, geo, req->client_ip, req->country, req->https);

    /* One read transaction: mirrors, file and copies from one snapshot. */
    if (ms_db_begin(db) != MS_OK)
        goto fail;
    if (ms_db_mirrors(&mirrors, db) != MS_OK)
        goto fail;
    rc = ms_db_file_get(&a->file, db, req->path, p);
    if (rc == MS_NOTFOUND) {
        ms_db_rollback(db);
        a->result = MS_RESULT_NOMIRROR;
        return;
    }
    if (rc != MS_OK || ms_db_copies(&copies, db, a->file->id, p) != MS_OK)
        goto fail;
    ms_db_rollback(db);               /* read-only: ending it is all there is */

    apply_stat(a->file, req);
    ms_select(&a->choice, mirrors, a->file, copies, &a->client, &req->spread,
              req->explain, p);
    a->result = a->choice->ranked->nelts > 0 ? MS_RESULT_REDIRECT : MS_RESULT_NOMIRROR;
    return;

fail:
    a->error = apr_pstrdup(p, ms_db_errmsg(db));
    ms_db_rollback(db);
    a->result = MS_RESULT_ERROR;
}
