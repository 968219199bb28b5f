/* ms_select.c — the ranking of mirrors for one request.
 *
 * 1. Qualify. A mirror may serve the request when it is enabled, admits the
 *    file's size, holds the file fresh (the size its last scan saw equals the
 *    origin's and the mtime agrees within the listing's precision), has a base
 *    URL for the request's scheme and is up there for the client's address
 *    family, and its scope admits the client. An https request needs an https
 *    URL; an http request takes the http URL when the mirror has one and it is
 *    up, else the https URL.
 *
 * 2. Tier. Each qualified mirror gets the closest tier that applies to this
 *    client: 1 prefix (client inside one of its CIDRs), 2 asn, 3 country,
 *    4 other-country (client's country in its --other-countries), 5 continent,
 *    6 world. A scoped mirror may not go wider than its scope: prefix → 1,
 *    asn → 2, country → 4 (its --other-countries are an explicit extension
 *    of its country), continent → 5. The lowest tier with a mirror wins.
 *
 * 3. Spread. Inside the winning tier, mirrors are ordered by great-circle
 *    distance to the client. With nearest distance d0, every mirror no farther
 *    than max(F × d0, d0 + K) is in the band; the band shares the traffic in
 *    proportion to its weights. Without client coordinates (or when no mirror
 *    of the tier has any) the whole tier is the band.
 *
 * 4. Draw. u ∈ [0,1) comes from a hash of (client address, path), so a client
 *    gets the same mirror for the same file on every request, while many
 *    clients spread by weight. The chosen mirror is the one whose cumulative
 *    weight interval, in band order, contains u × total weight.
 *
 * 5. Order. The chosen mirror, the rest of its tier by distance, then the
 *    following tiers, each by distance.
 *
 * Worked example, F = 1.5, K = 250, a client in Munich (48.14 N, 11.58 E),
 * tier 3 (DE) holding:  berlin 504 km w100 · frankfurt 304 km w100 ·
 * nuremberg 151 km w50 · hamburg 612 km w100.  d0 = 151, limit =
 * max(226, 401) = 401 km: the band is nuremberg (50) and frankfurt (100), so
 * a third of Munich's clients go to nuremberg and two thirds to frankfurt;
 * berlin and hamburg only appear in the ordered list, after them. If u = 0.5,
 * u × 150 = 75 falls past nuremberg's interval [0, 50) into frankfurt's
 * [50, 150): the list is frankfurt, nuremberg, berlin, hamburg, then the
 * mirrors of tiers 4–6.
 *
 * If no mirror qualifies, the mirrors flagged fallback (assumed to hold every
 * file) are put through the same steps, freshness aside. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ms_select.h"

static const char *const tier_names[] = {
    [MS_TIER_PREFIX] = "prefix", [MS_TIER_ASN] = "asn", [MS_TIER_COUNTRY] = "country",
    [MS_TIER_OTHER_COUNTRY] = "other-country", [MS_TIER_CONTINENT] = "continent",
    [MS_TIER_WORLD] = "world",
};

const char *ms_tier_name(int tier)
{
    if (tier < MS_TIER_PREFIX || tier > MS_TIER_WORLD)
        return "none";
    return tier_names[tier];
}

static const char *const excl_names[] = {
    [MS_EXCL_DISABLED] = "disabled", [MS_EXCL_NOT_HELD] = "not-held",
    [MS_EXCL_STALE] = "stale", [MS_EXCL_NO_URL] = "no-url", [MS_EXCL_DOWN] = "down",
    [MS_EXCL_MAX_SIZE] = "max-size", [MS_EXCL_SCOPE] = "scope",
};

const char *ms_excl_name(int reason)
{
    if (reason < MS_EXCL_DISABLED || reason > MS_EXCL_SCOPE)
        return "unknown";
    return excl_names[reason];
}

double ms_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0088;          /* mean Earth radius, km */
    const double rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2)
               + cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);

    if (a > 1)
        a = 1;
    return 2 * r * asin(sqrt(a));
}

uint64_t ms_seed(const char *client, const char *path)
{
    uint64_t h = 0xcbf29ce484222325ULL;  /* FNV-1a, then a splitmix64 finish */
    const unsigned char *s;

    for (s = (const unsigned char *)(client ? client : ""); *s; s++)
        h = (h ^ *s) * 0x100000001b3ULL;
    h = (h ^ 0xff) * 0x100000001b3ULL;   /* separator no text byte can forge */
    for (s = (const unsigned char *)(path ? path : ""); *s; s++)
        h = (h ^ *s) * 0x100000001b3ULL;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

int ms_copy_fresh(const ms_file_t *f, const ms_copy_t *c)
{
    int64_t diff = f->mtime - c->mtime;
    int precision = c->precision > 0 ? c->precision : 1;

    if (c->size != f->size)
        return 0;
    return (diff < 0 ? -diff : diff) < precision;
}

/* --- qualifying one mirror --- */

typedef struct qualify_ctx {
    const ms_file_t *file;
    const ms_client_t *client;
    int fallback_pass;
    int explain;               /* details are only worth building for explain */
    apr_pool_t *p;
} qualify_ctx;

/* A human detail for explain; nothing is built on the request path. */
static const char *why(const qualify_ctx *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *why(const qualify_ctx *q, const char *fmt, ...)
{
    va_list ap;
    const char *s;

    if (!q->explain)
        return NULL;
    va_start(ap, fmt);
    s = apr_pvsprintf(q->p, fmt, ap);
    va_end(ap);
    return s;
}

static int max_tier_of_scope(int scope)
{
    switch (scope) {
    case MS_SCOPE_PREFIX:    return MS_TIER_PREFIX;
    case MS_SCOPE_ASN:       return MS_TIER_ASN;
    case MS_SCOPE_COUNTRY:   return MS_TIER_OTHER_COUNTRY;
    case MS_SCOPE_CONTINENT: return MS_TIER_CONTINENT;
    default:                 return MS_TIER_WORLD;
    }
}

/* Is cc in a comma-separated list of codes ("AT,CH")? */
static int code_in_list(const char *list, const char *cc)
{
    const char *s = list;

    while (s && *s) {
        if (s[0] == cc[0] && s[1] == cc[1] && (s[2] == ',' || s[2] == '\0'))
            return 1;
        s = strchr(s, ',');
        if (s)
            s++;
    }
    return 0;
}

static int tier_of(const ms_mirror_t *m, const ms_client_t *c)
{
    const ms_location_t *loc = &c->loc;
    int i;

    for (i = 0; m->prefixes && i < m->prefixes->nelts; i++)
        if (ms_cidr_contains(&APR_ARRAY_IDX(m->prefixes, i, ms_cidr_t), &c->addr))
            return MS_TIER_PREFIX;
    if (loc->asn && m->asn == loc->asn)
        return MS_TIER_ASN;
    if (loc->country[0] && strcmp(m->country, loc->country) == 0)
        return MS_TIER_COUNTRY;
    if (loc->country[0] && code_in_list(m->other_countries, loc->country))
        return MS_TIER_OTHER_COUNTRY;
    if (loc->continent[0] && strcmp(m->continent, loc->continent) == 0)
        return MS_TIER_CONTINENT;
    return MS_TIER_WORLD;
}

/* Never probed is never up, whatever the flag says. */
static int is_up(const ms_health_t *h)
{
    return h->known && h->up;
}

/* The base URL the client would be sent to, and whether it is up there.
 * Returns 0, or MS_EXCL_NO_URL / MS_EXCL_DOWN. */
static int pick_url(ms_ranked_t *r, const ms_mirror_t *m, const ms_client_t *c)
{
    int fam = MS_FAM(c->addr.family == 6 ? 6 : 4);

    if (!c->https && m->http_url && is_up(&m->health[MS_HTTP][fam])) {
        r->base_url = m->http_url;
        r->https = 0;
        return 0;
    }
    if (m->https_url && is_up(&m->health[MS_HTTPS][fam])) {
        r->base_url = m->https_url;
        r->https = 1;
        return 0;
    }
    if (c->https ? !m->https_url : (!m->http_url && !m->https_url))
        return MS_EXCL_NO_URL;
    return MS_EXCL_DOWN;
}

/* 0 when m may serve the request (r filled), else an MS_EXCL_* reason. */
static int qualify(ms_ranked_t *r, const char **detail, const ms_mirror_t *m,
                   const ms_copy_t *copy, const qualify_ctx *q)
{
    int reason;

    memset(r, 0, sizeof(*r));
    *detail = NULL;
    if (!m->enabled)
        return MS_EXCL_DISABLED;
    if (m->max_size > 0 && q->file->size > m->max_size) {
        *detail = why(q, "%" APR_INT64_T_FMT " > %" APR_INT64_T_FMT,
                      (apr_int64_t)q->file->size, (apr_int64_t)m->max_size);
        return MS_EXCL_MAX_SIZE;
    }
    if (!q->fallback_pass) {
        if (!copy)
            return MS_EXCL_NOT_HELD;
        if (!ms_copy_fresh(q->file, copy)) {
            *detail = why(q, "mirror has size %" APR_INT64_T_FMT " mtime %"
                          APR_INT64_T_FMT " (±%d s), origin size %" APR_INT64_T_FMT
                          " mtime %" APR_INT64_T_FMT,
                          (apr_int64_t)copy->size, (apr_int64_t)copy->mtime,
                          copy->precision, (apr_int64_t)q->file->size,
                          (apr_int64_t)q->file->mtime);
            return MS_EXCL_STALE;
        }
    }
    if ((reason = pick_url(r, m, q->client)) != 0) {
        *detail = why(q, "%s over IPv%d", q->client->https ? "https" : "http",
                      q->client->addr.family == 6 ? 6 : 4);
        return reason;
    }
    r->tier = tier_of(m, q->client);
    if (r->tier > max_tier_of_scope(m->scope)) {
        *detail = why(q, "scope %s, client would be tier %s",
                      ms_scope_name(m->scope), ms_tier_name(r->tier));
        return MS_EXCL_SCOPE;
    }
    r->mirror = m;
    r->copy = q->fallback_pass ? NULL : copy;
    r->distance_km = -1;             /* measured by rank(), tier by tier */
    return 0;
}

/* --- ordering --- */

/* By tier, then distance (unknown last), then mirror id. */
static int by_tier_distance(const void *a, const void *b)
{
    const ms_ranked_t *x = a, *y = b;

    if (x->tier != y->tier)
        return x->tier < y->tier ? -1 : 1;
    if ((x->distance_km < 0) != (y->distance_km < 0))
        return x->distance_km < 0 ? 1 : -1;
    if (x->distance_km != y->distance_km)
        return x->distance_km < y->distance_km ? -1 : 1;
    return x->mirror->id < y->mirror->id ? -1 : x->mirror->id > y->mirror->id;
}

/* How many of the first mirrors of the (sorted) winning tier form the band. */
static int band_size(const ms_ranked_t *tier, int n, const ms_spread_t *spread)
{
    double d0 = tier[0].distance_km, limit;
    int i;

    if (d0 < 0)                       /* no distances known: the whole tier */
        return n;
    limit = d0 * spread->factor;
    if (d0 + spread->km > limit)
        limit = d0 + spread->km;
    for (i = 1; i < n; i++)
        if (tier[i].distance_km < 0 || tier[i].distance_km > limit)
            break;
    return i;
}

/* Index into band of the mirror the seeded draw picks. */
static int draw(const ms_ranked_t *band, int n, uint64_t seed)
{
    double total = 0, u, acc = 0;
    int i, uniform;

    for (i = 0; i < n; i++)
        total += band[i].mirror->weight > 0 ? band[i].mirror->weight : 0;
    uniform = total <= 0;             /* all weights zero: share evenly */
    if (uniform)
        total = n;
    u = (double)(seed >> 11) * (1.0 / 9007199254740992.0) * total;
    for (i = 0; i < n; i++) {
        acc += uniform ? 1 : (band[i].mirror->weight > 0 ? band[i].mirror->weight : 0);
        if (u < acc)
            return i;
    }
    return n - 1;
}

static void measure(ms_ranked_t *r, int n, const ms_client_t *client)
{
    int i;

    if (!client->loc.has_coords)
        return;
    for (i = 0; i < n; i++)
        if (r[i].mirror->has_coords)
            r[i].distance_km = ms_distance_km(client->loc.lat, client->loc.lon,
                                              r[i].mirror->lat, r[i].mirror->lon);
}

/* The winning tier, ordered: band, draw, chosen mirror first. */
static void order_winners(ms_choice_t *choice, ms_ranked_t *r, int n,
                          const ms_client_t *client, const char *path,
                          const ms_spread_t *spread)
{
    const char *seed_text = client->addr_text;
    char text[64];
    int chosen;

    choice->band = client->loc.has_coords ? band_size(r, n, spread) : n;
    /* Seed from the canonical address, so "::ffff:192.0.2.1" and "192.0.2.1"
     * are one client. */
    if (client->addr.family == 4 || client->addr.family == 6)
        seed_text = ms_addr_format(&client->addr, text, sizeof(text));
    chosen = draw(r, choice->band, ms_seed(seed_text, path));
    if (chosen > 0) {                 /* move it to the front, keep the rest in order */
        ms_ranked_t pick = r[chosen];
        memmove(r + 1, r, chosen * sizeof(*r));
        r[0] = pick;
    }
}

/* Order the qualified mirrors, tier by tier, measuring distances only for the
 * tiers that make it into the first `limit` places (all with limit 0): the
 * request path usually needs one tier and a handful of mirrors. */
static void rank(ms_choice_t *choice, const ms_client_t *client, const char *path,
                 const ms_spread_t *spread, int limit, apr_pool_t *p)
{
    ms_ranked_t *all = (ms_ranked_t *)choice->ranked->elts;
    int n = choice->ranked->nelts, i, tier, done = 0;
    ms_ranked_t *out;

    if (n == 0)
        return;
    out = apr_palloc(p, n * sizeof(*out));
    for (tier = MS_TIER_PREFIX; tier <= MS_TIER_WORLD && done < n; tier++) {
        ms_ranked_t *group = out + done;
        int count = 0;

        if (limit > 0 && done >= limit)
            break;
        for (i = 0; i < n; i++)
            if (all[i].tier == tier)
                group[count++] = all[i];
        if (count == 0)
            continue;
        measure(group, count, client);
        qsort(group, count, sizeof(*group), by_tier_distance);
        if (done == 0)
            order_winners(choice, group, count, client, path, spread);
        done += count;
    }
    if (limit > 0 && done > limit)
        done = limit;
    choice->ranked->elts = (char *)out;
    choice->ranked->nelts = done;
    choice->ranked->nalloc = n;
}

/* --- the whole selection --- */

/* The copy of mirror id in copies (ordered by mirror id), or NULL. */
static const ms_copy_t *copy_of(const apr_array_header_t *copies, int64_t id)
{
    const ms_copy_t *c = copies ? (const ms_copy_t *)copies->elts : NULL;
    int lo = 0, hi = copies ? copies->nelts - 1 : -1;

    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (c[mid].mirror_id == id)
            return &c[mid];
        if (c[mid].mirror_id < id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

static void note_excluded(ms_choice_t *choice, const ms_mirror_t *m, int reason,
                          const char *detail)
{
    ms_excluded_t *e;

    if (!choice->excluded)
        return;
    e = apr_array_push(choice->excluded);
    e->mirror = m;
    e->reason = reason;
    e->detail = detail ? detail : "";
}

static void consider(ms_choice_t *choice, const ms_mirror_t *m, const ms_copy_t *copy,
                     const qualify_ctx *q)
{
    ms_ranked_t r;
    const char *detail;
    int reason = qualify(&r, &detail, m, copy, q);

    if (reason == 0)
        *(ms_ranked_t *)apr_array_push(choice->ranked) = r;
    else
        note_excluded(choice, m, reason, detail);
}

/* One pass: the fresh holders, or (fallback_pass) the fallback mirrors.
 * On the request path only mirrors with a copy can qualify, so the pass walks
 * the copies; explain and the fallback pass walk every mirror. */
static void collect(ms_choice_t *choice, const ms_mirrors_t *mirrors,
                    const apr_array_header_t *copies, const qualify_ctx *q)
{
    int i;

    if (!q->fallback_pass && !q->explain) {
        for (i = 0; copies && i < copies->nelts; i++) {
            const ms_copy_t *c = &APR_ARRAY_IDX(copies, i, ms_copy_t);
            const ms_mirror_t *m = ms_mirrors_find(mirrors, c->mirror_id);
            if (m)
                consider(choice, m, c, q);
        }
        return;
    }
    for (i = 0; i < mirrors->count; i++) {
        const ms_mirror_t *m = mirrors->mirror[i];
        if (!q->fallback_pass || m->fallback)
            consider(choice, m, copy_of(copies, m->id), q);
    }
}

int ms_select(ms_choice_t **out, const ms_mirrors_t *mirrors, const ms_file_t *file,
              const apr_array_header_t *copies, const ms_client_t *client,
              const ms_spread_t *spread, int explain, int limit, apr_pool_t *p)
{
    ms_choice_t *choice = apr_pcalloc(p, sizeof(*choice));
    qualify_ctx q = { file, client, 0, explain, p };

    choice->ranked = apr_array_make(p, 8, sizeof(ms_ranked_t));
    if (explain)
        choice->excluded = apr_array_make(p, 8, sizeof(ms_excluded_t));
    collect(choice, mirrors, copies, &q);
    if (choice->ranked->nelts == 0) {
        /* Nobody holds it fresh: the fallback mirrors' exclusions from the
         * first pass no longer matter, the second pass says why they fail. */
        if (choice->excluded) {
            int i, kept = 0;
            ms_excluded_t *e = (ms_excluded_t *)choice->excluded->elts;
            for (i = 0; i < choice->excluded->nelts; i++)
                if (!e[i].mirror->fallback)
                    e[kept++] = e[i];
            choice->excluded->nelts = kept;
        }
        q.fallback_pass = 1;
        collect(choice, mirrors, copies, &q);
        choice->fallback = choice->ranked->nelts > 0;
    }
    rank(choice, client, file->path, spread, limit, p);
    *out = choice;
    return 0;
}
