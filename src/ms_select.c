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
#include "ms_stripes.h"

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
    /* each sine once: the compiler may not merge the calls (errno) */
    double slat = sin(dlat / 2), slon = sin(dlon / 2);
    double a = slat * slat + cos(lat1 * rad) * cos(lat2 * rad) * slon * slon;

    if (a > 1)
        a = 1;
    return 2 * r * asin(sqrt(a));
}

uint64_t ms_seed(const char *client, const char *path)
{
    static const unsigned char separator = 0xff;   /* no text byte can forge it */
    uint64_t h;

    client = client ? client : "";
    path = path ? path : "";
    h = ms_fnv1a(MS_FNV_BASIS, client, strlen(client));
    h = ms_fnv1a(h, &separator, 1);
    h = ms_fnv1a(h, path, strlen(path));
    h ^= h >> 30;                                  /* splitmix64's finish */
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

void ms_holders_of(ms_holders_t *out, const ms_file_t *f, const apr_array_header_t *copies,
                   apr_pool_t *p)
{
    int64_t *id = apr_palloc(p, sizeof(*id) * (copies && copies->nelts ? copies->nelts : 1));
    int i;

    memset(out, 0, sizeof(*out));
    out->id = id;
    for (i = 0; copies && i < copies->nelts; i++) {
        const ms_copy_t *c = &APR_ARRAY_IDX(copies, i, ms_copy_t);
        if (ms_copy_fresh(f, c))
            id[out->count++] = c->mirror_id;
    }
}

/* An exact copy of f on mirror id, as the cache and the walk synthesise. */
static void exact_copy(ms_copy_t *c, int64_t id, const ms_file_t *f)
{
    c->mirror_id = id;
    c->size = f->size;
    c->mtime = f->mtime;
    c->precision = 1;
    c->seen = 0;
}

apr_array_header_t *ms_holders_copies(const ms_holders_t *h, const ms_file_t *f, apr_pool_t *p)
{
    apr_array_header_t *list = apr_array_make(p, h->count > 0 ? h->count : 1, sizeof(ms_copy_t));
    int i;

    if (!h->id) {
        for (i = 0; i < h->bits_len * 8; i++)
            if (h->bits[i >> 3] & (1u << (i & 7)))
                exact_copy(apr_array_push(list), i, f);
        return list;
    }
    for (i = 0; i < h->count; i++)
        exact_copy(apr_array_push(list), h->id[i], f);
    return list;
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

/* Is the address inside one of the mirror's --prefix networks? */
static int in_prefixes(const ms_mirror_t *m, const ms_addr_t *addr)
{
    int i;

    for (i = 0; m->prefixes && i < m->prefixes->nelts; i++)
        if (ms_cidr_contains(&APR_ARRAY_IDX(m->prefixes, i, ms_cidr_t), addr))
            return 1;
    return 0;
}

static int tier_of(const ms_mirror_t *m, const ms_client_t *c, int no_prefixes)
{
    const ms_location_t *loc = &c->loc;

    if (!no_prefixes && in_prefixes(m, &c->addr))
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

/* The file's half of the rules: does the mirror take files this large? */
static int too_large(const ms_mirror_t *m, const ms_file_t *f)
{
    return m->max_size > 0 && f->size > m->max_size;
}

/* Does the mirror hold the file fresh? 0, MS_EXCL_NOT_HELD or MS_EXCL_STALE. */
static int copy_reason(const char **detail, const ms_copy_t *copy, const qualify_ctx *q)
{
    if (!copy)
        return MS_EXCL_NOT_HELD;
    if (ms_copy_fresh(q->file, copy))
        return 0;
    *detail = why(q, "mirror has size %" APR_INT64_T_FMT " mtime %"
                  APR_INT64_T_FMT " (±%d s), origin size %" APR_INT64_T_FMT
                  " mtime %" APR_INT64_T_FMT,
                  (apr_int64_t)copy->size, (apr_int64_t)copy->mtime,
                  copy->precision, (apr_int64_t)q->file->size,
                  (apr_int64_t)q->file->mtime);
    return MS_EXCL_STALE;
}

/* The client's half of the rules: a URL up for its scheme and family, and a
 * tier within the mirror's scope. Fills r's URL and tier; 0 or a reason. */
static int client_reason(ms_ranked_t *r, const char **detail, const ms_mirror_t *m,
                         const qualify_ctx *q)
{
    int reason;

    if ((reason = pick_url(r, m, q->client)) != 0) {
        *detail = why(q, "%s over IPv%d", q->client->https ? "https" : "http",
                      q->client->addr.family == 6 ? 6 : 4);
        return reason;
    }
    r->tier = tier_of(m, q->client, 0);
    if (r->tier > max_tier_of_scope(m->scope)) {
        *detail = why(q, "scope %s, client would be tier %s",
                      ms_scope_name(m->scope), ms_tier_name(r->tier));
        return MS_EXCL_SCOPE;
    }
    return 0;
}

/* 0 when m may serve the request (r filled), else an MS_EXCL_* reason.
 * The one statement of step 1; ms_select_ordered applies the same halves
 * (the client's ahead of time, per location, the file's per request). */
static int qualify(ms_ranked_t *r, const char **detail, const ms_mirror_t *m,
                   const ms_copy_t *copy, const qualify_ctx *q)
{
    int reason;

    memset(r, 0, sizeof(*r));
    *detail = NULL;
    if (!m->enabled)
        return MS_EXCL_DISABLED;
    if (too_large(m, q->file)) {
        *detail = why(q, "%" APR_INT64_T_FMT " > %" APR_INT64_T_FMT,
                      (apr_int64_t)q->file->size, (apr_int64_t)m->max_size);
        return MS_EXCL_MAX_SIZE;
    }
    if (!q->fallback_pass && (reason = copy_reason(detail, copy, q)) != 0)
        return reason;
    if ((reason = client_reason(r, detail, m, q)) != 0)
        return reason;
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

/* The band's outer edge for a nearest distance d0 >= 0. */
static double band_edge(double d0, const ms_spread_t *spread)
{
    double limit = d0 * spread->factor;

    if (d0 + spread->km > limit)
        limit = d0 + spread->km;
    return limit;
}

static int in_band(const ms_ranked_t *r, double edge)
{
    return r->distance_km >= 0 && r->distance_km <= edge;
}

/* How many of the first mirrors of the (sorted) winning tier form the band. */
static int band_size(const ms_ranked_t *tier, int n, const ms_spread_t *spread)
{
    double edge;
    int i;

    if (tier[0].distance_km < 0)      /* no distances known: the whole tier */
        return n;
    edge = band_edge(tier[0].distance_km, spread);
    for (i = 1; i < n; i++)
        if (!in_band(&tier[i], edge))
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

/* --- the redirect's shortcut: an order per location, walked per file --- */

/* The position of mirror id in the snapshot (ordered by id), or -1. */
static int index_of(const ms_mirrors_t *mirrors, int64_t id)
{
    int lo = 0, hi = mirrors->count - 1;

    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (mirrors->mirror[mid]->id == id)
            return mid;
        if (mirrors->mirror[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* The client's half of the rules but for health (which moves with every
 * probe run, and the walk judges per request): a URL the client's scheme
 * may use, and a tier within the mirror's scope. Fills r's tier. */
static int order_reason(ms_ranked_t *r, const ms_mirror_t *m, const ms_client_t *c)
{
    if (c->https ? !m->https_url : (!m->http_url && !m->https_url))
        return MS_EXCL_NO_URL;
    r->tier = tier_of(m, c, 1);         /* the prefix tier is walked apart */
    return r->tier > max_tier_of_scope(m->scope) ? MS_EXCL_SCOPE : 0;
}

int ms_select_order(ms_order_t **out, const ms_mirrors_t *mirrors,
                    const ms_client_t *client, apr_pool_t *p)
{
    ms_order_t *o = apr_pcalloc(p, sizeof(*o));
    ms_ranked_t *all;
    int i, n = 0;

    *out = NULL;
    if (mirrors->count > UINT16_MAX)
        return -1;
    all = apr_palloc(p, (mirrors->count + 1) * sizeof(*all));
    for (i = 0; i < mirrors->count; i++) {
        const ms_mirror_t *m = mirrors->mirror[i];
        ms_ranked_t *r = &all[n];

        memset(r, 0, sizeof(*r));
        if (!m->enabled || order_reason(r, m, client) != 0)
            continue;
        r->mirror = m;
        r->distance_km = -1;
        measure(r, 1, client);
        n++;
    }
    qsort(all, n, sizeof(*all), by_tier_distance);
    o->place = apr_pcalloc(p, (n + 1) * sizeof(*o->place));   /* padding too: */
    for (i = 0; i < n; i++) {                                  /* memcmp-able */
        o->place[i].index = (uint16_t)index_of(mirrors, all[i].mirror->id);
        o->place[i].tier = (uint8_t)all[i].tier;
    }
    o->count = n;
    *out = o;
    return 0;
}

/* One redirect's walk along an order. */
typedef struct walk {
    const ms_mirrors_t *mirrors;
    const ms_file_t *file;
    const ms_holders_t *holders;
    const ms_client_t *client;
    const ms_spread_t *spread;
    int limit;
    const unsigned char *held; /* a bit per mirror id: holds the file fresh */
    int64_t max_id;
    int matched[8];            /* indexes of mirrors whose --prefix holds the */
    int matched_count;         /*   client, walked apart; -1: too many */
    apr_array_header_t *ranked;
    int win_tier, n_win;       /* the winning tier, and how many of it so far */
    int band_open;             /* the band may still grow */
    int whole_tier;            /* the band is the whole tier (no distances) */
    double edge;
} walk_t;

/* A bit per mirror id for the fresh holders: the file's half of step 1
 * (copy_reason), judged already (ms_holders_of, ms_db_fresh_holders). 0, or
 * -1 when the ids are too sparse for a bitmap. */
static int walk_holders(walk_t *w, apr_pool_t *p)
{
    unsigned char *held;
    int i;

    w->max_id = w->mirrors->count ? w->mirrors->mirror[w->mirrors->count - 1]->id : 0;
    if (w->max_id < 0 || w->max_id > MS_HOLDERS_MAX_ID)
        return -1;
    if (!w->holders->id && w->holders->bits_len >= w->max_id / 8 + 1) {
        w->held = w->holders->bits;         /* the cache's bitmap, as it is */
        return 0;
    }
    w->held = held = apr_pcalloc(p, w->max_id / 8 + 1);
    if (!w->holders->id) {
        if (w->holders->bits_len > 0)
            memcpy(held, w->holders->bits, w->holders->bits_len);
        return 0;
    }
    for (i = 0; i < w->holders->count; i++) {
        int64_t id = w->holders->id[i];
        if (id >= 0 && id <= w->max_id)
            held[id >> 3] |= (unsigned char)(1u << (id & 7));
    }
    return 0;
}

static int walk_holds(const walk_t *w, const ms_mirror_t *m)
{
    return m->id >= 0 && m->id <= w->max_id && (w->held[m->id >> 3] & (1u << (m->id & 7)))
           && !too_large(m, w->file);
}

/* Take a qualified mirror (r: mirror, tier, URL). Returns 1 when the walk has
 * all it needs: the winning tier's band complete and limit places. */
static int walk_take(walk_t *w, const ms_ranked_t *r)
{
    ms_ranked_t *o = apr_array_push(w->ranked);
    ms_copy_t *c;

    *o = *r;
    c = apr_palloc(w->ranked->pool, sizeof(*c));
    exact_copy(c, o->mirror->id, w->file);
    o->copy = c;
    o->distance_km = -1;
    measure(o, 1, w->client);
    if (w->ranked->nelts == 1) {
        w->win_tier = o->tier;
        w->n_win = 1;
        w->band_open = 1;
        /* as order_winners and band_size decide */
        w->whole_tier = !w->client->loc.has_coords || o->distance_km < 0;
        if (!w->whole_tier)
            w->edge = band_edge(o->distance_km, w->spread);
        return 0;
    }
    if (o->tier == w->win_tier)
        w->n_win++;
    if (w->band_open && (o->tier != w->win_tier || (!w->whole_tier && !in_band(o, w->edge))))
        w->band_open = 0;
    return !w->band_open && w->ranked->nelts >= w->limit;
}

static int walk_matched(const walk_t *w, int index)
{
    int i;

    for (i = 0; i < w->matched_count; i++)
        if (w->matched[i] == index)
            return 1;
    return 0;
}

/* The prefix tier: the mirrors whose --prefix holds the client's address,
 * qualified as ms_select does, by distance. Returns 1 when the walk is done,
 * -1 when more mirrors match than the walk keeps apart. */
/* Mirror `index` holds the client in a prefix: kept apart from the order,
 * and a candidate of the prefix tier when it qualifies. -1 when more
 * mirrors match than the walk keeps apart. */
static int prefix_matched(walk_t *w, int index, ms_ranked_t *tier, int *n,
                          const qualify_ctx *q)
{
    const ms_mirror_t *m = w->mirrors->mirror[index];
    const char *detail;

    if (w->matched_count == (int)(sizeof(w->matched) / sizeof(w->matched[0])))
        return -1;
    w->matched[w->matched_count++] = index;
    memset(&tier[*n], 0, sizeof(tier[*n]));
    if (!walk_holds(w, m) || client_reason(&tier[*n], &detail, m, q) != 0)
        return 0;
    tier[*n].mirror = m;
    tier[*n].distance_km = -1;
    measure(&tier[*n], 1, w->client);
    (*n)++;
    return 0;
}

static int walk_prefix_tier(walk_t *w, apr_pool_t *p)
{
    qualify_ctx q = { w->file, w->client, 0, 0, p };
    const ms_prefix_entry_t *pe = w->mirrors->prefixes;
    ms_ranked_t tier[8];
    int i, n = 0, last = -1;

    for (i = 0; i < w->mirrors->prefix_count; i++) {   /* the snapshot's flat table */
        if (pe[i].index == last || !ms_cidr_contains(&pe[i].cidr, &w->client->addr))
            continue;
        last = pe[i].index;
        if (prefix_matched(w, last, tier, &n, &q) < 0)
            return -1;
    }
    qsort(tier, n, sizeof(*tier), by_tier_distance);
    for (i = 0; i < n; i++)
        if (walk_take(w, &tier[i]))
            return 1;
    return 0;
}

/* The location's order, minus the mirrors already placed by their prefix. */
static void walk_order(walk_t *w, const ms_order_t *o)
{
    int i;

    for (i = 0; i < o->count; i++) {
        const ms_place_t *pl = &o->place[i];
        const ms_mirror_t *m;
        ms_ranked_t r;

        /* most places do not hold the file: skip them without reading
         * their mirror; for the rest only the size is left to judge */
        uint32_t id = w->mirrors->ids[pl->index];

        if (id > w->max_id || !(w->held[id >> 3] & (1u << (id & 7))))
            continue;
        m = w->mirrors->mirror[pl->index];
        if (too_large(m, w->file) || (w->matched_count && walk_matched(w, pl->index)))
            continue;
        memset(&r, 0, sizeof(r));
        if (pick_url(&r, m, w->client) != 0)      /* down for this client now */
            continue;
        r.mirror = m;
        r.tier = pl->tier;
        if (walk_take(w, &r))
            return;
    }
}

int ms_select_ordered(ms_choice_t **out, const ms_order_t *order,
                      const ms_mirrors_t *mirrors, const ms_file_t *file,
                      const ms_holders_t *holders, const ms_client_t *client,
                      const ms_spread_t *spread, int limit, apr_pool_t *p)
{
    walk_t w;
    ms_choice_t *choice;
    int done;

    *out = NULL;
    memset(&w, 0, sizeof(w));
    w.mirrors = mirrors;
    w.file = file;
    w.holders = holders;
    w.client = client;
    w.spread = spread;
    w.limit = limit;
    /* a set not prepared (ms_mirrors_prepare) has no ids or prefix table,
     * and one whose ids do not fit 32 bits no ids */
    if (limit <= 0 || !mirrors->ids || !mirrors->prefixes || walk_holders(&w, p) != 0)
        return 0;
    w.ranked = apr_array_make(p, limit + 4, sizeof(ms_ranked_t));
    done = walk_prefix_tier(&w, p);
    if (done < 0)
        return 0;
    if (!done)
        walk_order(&w, order);
    if (w.ranked->nelts == 0)
        return 0;
    choice = apr_pcalloc(p, sizeof(*choice));
    choice->ranked = w.ranked;
    order_winners(choice, (ms_ranked_t *)w.ranked->elts, w.n_win, client, file->path,
                  spread);
    if (w.ranked->nelts > limit)
        w.ranked->nelts = limit;
    *out = choice;
    return 1;
}
