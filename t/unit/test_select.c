/* test_select.c — ranking of mirrors for one request (ms_select.h), with the
 * mirrors, the file and its copies built in memory: no database, no mmdb.
 *
 * Each test builds a small world (a fixture), puts one client in it and looks
 * at the choice: who was chosen, in which tier, what the ordered list is, and
 * with explain, who was left out and why. The spread tests draw thousands of
 * distinct clients and compare the shares with the weights. */
#include <stdio.h>
#include <string.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "tap.h"
#include "ms_select.h"

#define MAX_MIRRORS 16
#define FILE_SIZE   1000000
#define FILE_MTIME  1700000000

static apr_pool_t *pool;

/* Cities, for coordinates. */
typedef struct city { double lat, lon; } city_t;
static const city_t BERLIN = { 52.5200, 13.4050 }, POTSDAM = { 52.3906, 13.0645 },
    HAMBURG = { 53.5511, 9.9937 }, MUNICH = { 48.1351, 11.5820 },
    SAARBRUECKEN = { 49.2402, 6.9969 }, METZ = { 49.1193, 6.1757 },
    PARIS = { 48.8566, 2.3522 }, LONDON = { 51.5074, -0.1278 },
    WARSAW = { 52.2297, 21.0122 }, VIENNA = { 48.2082, 16.3738 },
    GRAZ = { 47.0707, 15.4395 }, BRATISLAVA = { 48.1486, 17.1077 },
    AMSTERDAM = { 52.3676, 4.9041 }, COLOGNE = { 50.9375, 6.9603 },
    NEW_YORK = { 40.7128, -74.0060 },
    LOS_ANGELES = { 34.0522, -118.2437 }, SAO_PAULO = { -23.5505, -46.6333 },
    TOKYO = { 35.6762, 139.6503 }, SYDNEY = { -33.8688, 151.2093 };

/* A small world: mirrors, one origin file, and what the scans saw. */
typedef struct fixture {
    ms_mirrors_t mirrors;
    ms_mirror_t *list[MAX_MIRRORS];
    ms_file_t file;
    ms_copy_t copy[MAX_MIRRORS];   /* indexed like list */
    int held[MAX_MIRRORS];         /* 0: no scan saw the file there */
} fixture_t;

static void fx_init(fixture_t *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->mirrors.pool = pool;
    fx->mirrors.generation = 1;
    fx->mirrors.mirror = fx->list;
    fx->file.id = 1;
    fx->file.path = "pub/dist/x.iso";
    fx->file.size = FILE_SIZE;
    fx->file.mtime = FILE_MTIME;
}

static void set_health(ms_mirror_t *m, int scheme, int family, int known, int up)
{
    ms_health_t *h = &m->health[scheme][MS_FAM(family)];

    h->known = known;
    h->up = up;
    h->checked = FILE_MTIME;
    h->error = "";
}

/* An enabled world-scope mirror of weight 1 with http and https URLs, up
 * everywhere, holding a fresh copy seen by a 1-second-precision scan. */
static ms_mirror_t *fx_add(fixture_t *fx, const char *name, const char *cc, const char *cont,
                           const city_t *at)
{
    ms_mirror_t *m = apr_pcalloc(pool, sizeof(*m));
    int i = fx->mirrors.count;
    int s, f;

    if (i >= MAX_MIRRORS)
        bail_out("fixture full");
    m->id = i + 1;
    m->name = name;
    m->http_url = apr_psprintf(pool, "http://%s.example/pub", name);
    m->https_url = apr_psprintf(pool, "https://%s.example/pub/", name);
    m->scan_url = m->http_url;
    apr_cpystrn(m->country, cc, sizeof(m->country));
    apr_cpystrn(m->continent, cont, sizeof(m->continent));
    if (at) {
        m->has_coords = 1;
        m->lat = at->lat;
        m->lon = at->lon;
    }
    m->prefixes = apr_array_make(pool, 1, sizeof(ms_cidr_t));
    m->weight = 1;
    m->scope = MS_SCOPE_WORLD;
    m->other_countries = "";
    m->enabled = 1;
    for (s = MS_HTTP; s <= MS_HTTPS; s++) {
        for (f = 4; f <= 6; f += 2)
            set_health(m, s, f, 1, 1);
    }
    fx->list[i] = m;
    fx->copy[i].mirror_id = m->id;
    fx->copy[i].size = FILE_SIZE;
    fx->copy[i].mtime = FILE_MTIME;
    fx->copy[i].precision = 1;
    fx->copy[i].seen = FILE_MTIME + 3600;
    fx->held[i] = 1;
    fx->mirrors.count = i + 1;
    return m;
}

static void add_prefix(ms_mirror_t *m, const char *cidr)
{
    ms_cidr_t *c = apr_array_push(m->prefixes);

    if (ms_cidr_parse(c, cidr) != 0)
        bail_out("bad prefix %s in a fixture", cidr);
}

static ms_copy_t *copy_of(fixture_t *fx, const ms_mirror_t *m)
{
    return &fx->copy[m->id - 1];
}

/* The copies as ms_db_copies gives them: held ones only, by mirror id. */
static apr_array_header_t *fx_copies(fixture_t *fx, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, MAX_MIRRORS, sizeof(ms_copy_t));
    int i;

    for (i = 0; i < fx->mirrors.count; i++) {
        if (fx->held[i])
            *(ms_copy_t *)apr_array_push(a) = fx->copy[i];
    }
    return a;
}

static ms_client_t client_at(const char *ip, const char *cc, const char *cont,
                             const city_t *at, uint32_t asn, int https)
{
    ms_client_t c;

    memset(&c, 0, sizeof(c));
    if (ms_addr_parse(&c.addr, ip) != 0)
        bail_out("bad client address %s", ip);
    c.addr_text = ip;
    apr_cpystrn(c.loc.country, cc, sizeof(c.loc.country));
    apr_cpystrn(c.loc.continent, cont, sizeof(c.loc.continent));
    if (at) {
        c.loc.has_coords = 1;
        c.loc.lat = at->lat;
        c.loc.lon = at->lon;
    }
    c.loc.asn = asn;
    c.https = https;
    return c;
}

static const ms_spread_t default_spread = { 1.5, 250 };
static const ms_spread_t nearest_only = { 1.0, 0 };

static ms_choice_t *run_in(fixture_t *fx, const ms_client_t *c, const ms_spread_t *sp,
                           int explain, apr_pool_t *p)
{
    ms_choice_t *choice = NULL;
    int rv = ms_select(&choice, &fx->mirrors, &fx->file, fx_copies(fx, p), c, sp, explain, 0, p);

    if (rv != 0 || choice == NULL || choice->ranked == NULL)
        bail_out("ms_select failed (%d)", rv);
    if (explain && choice->excluded == NULL)
        bail_out("ms_select gave no excluded list in explain mode");
    return choice;
}

static ms_choice_t *run(fixture_t *fx, const ms_client_t *c, const ms_spread_t *sp,
                        int explain)
{
    return run_in(fx, c, sp, explain, pool);
}

static const ms_ranked_t *ranked_at(const ms_choice_t *ch, int i)
{
    return &APR_ARRAY_IDX(ch->ranked, i, ms_ranked_t);
}

static const char *chosen(const ms_choice_t *ch)
{
    return ch->ranked->nelts > 0 ? ranked_at(ch, 0)->mirror->name : "(none)";
}

static const ms_ranked_t *find_ranked(const ms_choice_t *ch, const char *name)
{
    int i;

    for (i = 0; i < ch->ranked->nelts; i++) {
        if (strcmp(ranked_at(ch, i)->mirror->name, name) == 0)
            return ranked_at(ch, i);
    }
    return NULL;
}

/* The tier a mirror got, 0 when it is not in the ranked list. */
static int tier_of(const ms_choice_t *ch, const char *name)
{
    const ms_ranked_t *r = find_ranked(ch, name);

    return r ? r->tier : 0;
}

/* The reason a mirror was excluded, 0 when it is not listed as excluded. */
static int reason_of(const ms_choice_t *ch, const char *name)
{
    int i, found = 0;

    if (ch->excluded == NULL)
        return 0;
    for (i = 0; i < ch->excluded->nelts; i++) {
        const ms_excluded_t *e = &APR_ARRAY_IDX(ch->excluded, i, ms_excluded_t);

        if (strcmp(e->mirror->name, name) == 0) {
            if (found)
                return -1;          /* listed twice */
            found = e->reason;
        }
    }
    return found;
}

/* ---- building blocks ---- */

static void test_names(void)
{
    is_str(ms_tier_name(MS_TIER_PREFIX), "prefix", "tier 1 is prefix");
    is_str(ms_tier_name(MS_TIER_ASN), "asn", "tier 2 is asn");
    is_str(ms_tier_name(MS_TIER_COUNTRY), "country", "tier 3 is country");
    is_str(ms_tier_name(MS_TIER_OTHER_COUNTRY), "other-country", "tier 4 is other-country");
    is_str(ms_tier_name(MS_TIER_CONTINENT), "continent", "tier 5 is continent");
    is_str(ms_tier_name(MS_TIER_WORLD), "world", "tier 6 is world");
    is_str(ms_excl_name(MS_EXCL_DISABLED), "disabled", "reason disabled");
    is_str(ms_excl_name(MS_EXCL_NOT_HELD), "not-held", "reason not-held");
    ok(ms_excl_name(MS_EXCL_STALE) && ms_excl_name(MS_EXCL_NO_URL) && ms_excl_name(MS_EXCL_DOWN)
       && ms_excl_name(MS_EXCL_MAX_SIZE) && ms_excl_name(MS_EXCL_SCOPE),
       "every exclusion reason has a name");
}

static void test_distance(void)
{
    double d;

    is_double(ms_distance_km(LONDON.lat, LONDON.lon, PARIS.lat, PARIS.lon), 344, 3.44,
              "London-Paris is about 344 km");
    is_double(ms_distance_km(NEW_YORK.lat, NEW_YORK.lon, LOS_ANGELES.lat, LOS_ANGELES.lon),
              3936, 39.36, "New York-Los Angeles is about 3936 km");
    is_double(ms_distance_km(SYDNEY.lat, SYDNEY.lon, TOKYO.lat, TOKYO.lon), 7827, 78.27,
              "Sydney-Tokyo is about 7827 km");
    d = ms_distance_km(TOKYO.lat, TOKYO.lon, SYDNEY.lat, SYDNEY.lon);
    is_double(d, ms_distance_km(SYDNEY.lat, SYDNEY.lon, TOKYO.lat, TOKYO.lon), 1e-6,
              "distance is symmetric");
    is_double(ms_distance_km(BERLIN.lat, BERLIN.lon, BERLIN.lat, BERLIN.lon), 0, 1e-6,
              "a point is 0 km from itself");
    is_double(ms_distance_km(0, 179.5, 0, -179.5), 111.2, 1.2,
              "across the date line it is the short way round");
    is_double(ms_distance_km(90, 0, -90, 0), 20015, 200, "pole to pole is half the globe");
    is_double(ms_distance_km(0, 0, 0, 180), 20015, 200, "antipodes on the equator");
    d = ms_distance_km(10, 20, 10, 20 + 1e-9);
    ok(d >= 0 && d < 0.001, "nearly equal points give a tiny non-negative distance");
}

static void test_seed(void)
{
    uint64_t s = ms_seed("192.0.2.1", "pub/x.iso");

    ok(s == ms_seed("192.0.2.1", "pub/x.iso"), "the seed is a function of its inputs");
    ok(s != ms_seed("192.0.2.2", "pub/x.iso"), "another client, another seed");
    ok(s != ms_seed("192.0.2.1", "pub/y.iso"), "another path, another seed");
}

static int fresh(int64_t size, int64_t mtime_diff, int precision)
{
    ms_file_t f = { 1, "x", FILE_SIZE, FILE_MTIME, NULL, NULL, 0 };
    ms_copy_t c = { 1, size, FILE_MTIME + mtime_diff, precision, FILE_MTIME };

    return ms_copy_fresh(&f, &c);
}

static void test_freshness(void)
{
    static const int precisions[] = { 1, 60, 86400 };
    size_t i;

    for (i = 0; i < 3; i++) {
        int p = precisions[i];

        is_int(fresh(FILE_SIZE, 0, p), 1, "precision %d: same size and mtime is fresh", p);
        is_int(fresh(FILE_SIZE, p - 1, p), 1, "precision %d: mtime +%d is fresh", p, p - 1);
        is_int(fresh(FILE_SIZE, -(p - 1), p), 1, "precision %d: mtime -%d is fresh", p, p - 1);
        is_int(fresh(FILE_SIZE, p, p), 0, "precision %d: mtime +%d is stale", p, p);
        is_int(fresh(FILE_SIZE, -p, p), 0, "precision %d: mtime -%d is stale", p, p);
        is_int(fresh(FILE_SIZE + 1, 0, p), 0, "precision %d: one byte more is stale", p);
        is_int(fresh(FILE_SIZE - 1, 0, p), 0, "precision %d: one byte less is stale", p);
        is_int(fresh(0, 0, p), 0, "precision %d: an empty copy is stale", p);
    }
}

/* ---- tiers ---- */

static void test_tier_prefix(void)
{
    fixture_t fx;
    ms_client_t c;
    ms_choice_t *ch;

    fx_init(&fx);
    fx_add(&fx, "near", "DE", "EU", &BERLIN)->asn = 3320;
    add_prefix(fx_add(&fx, "pfx", "US", "NA", &NEW_YORK), "192.0.2.0/24");
    add_prefix(fx.list[1], "2001:db8:1::/48");

    c = client_at("192.0.2.10", "DE", "EU", &BERLIN, 3320, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_str(chosen(ch), "pfx", "v4 prefix: the prefix mirror wins over asn and country");
    is_int(tier_of(ch, "pfx"), MS_TIER_PREFIX, "v4 prefix: tier prefix");
    is_int(tier_of(ch, "near"), MS_TIER_ASN, "v4 prefix: the same-AS mirror is next, tier asn");

    c = client_at("::ffff:192.0.2.99", "DE", "EU", &BERLIN, 3320, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_int(tier_of(ch, "pfx"), MS_TIER_PREFIX, "a mapped IPv4 client matches the IPv4 prefix");

    c = client_at("192.0.3.10", "DE", "EU", &BERLIN, 3320, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_str(chosen(ch), "near", "v4 outside the prefix: the asn tier wins");
    is_int(tier_of(ch, "pfx"), MS_TIER_WORLD, "v4 outside its prefix the mirror is only world");

    c = client_at("2001:db8:1:2::5", "DE", "EU", &BERLIN, 3320, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_str(chosen(ch), "pfx", "v6 prefix: the prefix mirror wins over asn and country");
    is_int(tier_of(ch, "pfx"), MS_TIER_PREFIX, "v6 prefix: tier prefix");

    c = client_at("2001:db8:2::5", "DE", "EU", &BERLIN, 3320, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_str(chosen(ch), "near", "v6 outside the prefix: the asn tier wins");
    is_int(tier_of(ch, "pfx"), MS_TIER_WORLD, "v6 outside its prefix the mirror is only world");
}

/* A prefix of one family never holds a client of the other. */
static void test_tier_prefix_family(void)
{
    fixture_t fx;
    ms_client_t c;
    ms_choice_t *ch;

    fx_init(&fx);
    add_prefix(fx_add(&fx, "v4all", "US", "NA", &LOS_ANGELES), "0.0.0.0/0");
    add_prefix(fx_add(&fx, "v6all", "US", "NA", &LOS_ANGELES), "::/0");

    c = client_at("192.0.2.10", "DE", "EU", &BERLIN, 0, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_int(tier_of(ch, "v4all"), MS_TIER_PREFIX, "0.0.0.0/0 holds an IPv4 client");
    is_int(tier_of(ch, "v6all"), MS_TIER_WORLD, "::/0 does not hold an IPv4 client");

    c = client_at("2001:db8::10", "DE", "EU", &BERLIN, 0, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_int(tier_of(ch, "v6all"), MS_TIER_PREFIX, "::/0 holds an IPv6 client");
    is_int(tier_of(ch, "v4all"), MS_TIER_WORLD, "0.0.0.0/0 does not hold an IPv6 client");
}

static void test_tier_asn(void)
{
    fixture_t fx;
    ms_client_t c;
    ms_choice_t *ch;

    fx_init(&fx);
    fx_add(&fx, "as", "NL", "EU", &AMSTERDAM)->asn = 3320;
    fx_add(&fx, "de", "DE", "EU", &BERLIN);
    fx_add(&fx, "fr", "FR", "EU", &PARIS);

    c = client_at("192.0.2.10", "DE", "EU", &BERLIN, 3320, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_str(chosen(ch), "as", "asn: same-AS mirror abroad wins over the country");
    is_int(tier_of(ch, "as"), MS_TIER_ASN, "asn: tier asn");
    is_int(tier_of(ch, "de"), MS_TIER_COUNTRY, "asn: the country mirror is tier country");

    c = client_at("192.0.2.10", "FR", "EU", &PARIS, 0, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_int(tier_of(ch, "de"), MS_TIER_CONTINENT, "unknown AS (0) never matches an AS-less mirror");
}

static void test_tier_country(void)
{
    fixture_t fx;
    ms_client_t c;
    ms_choice_t *ch;

    fx_init(&fx);
    fx_add(&fx, "fr", "FR", "EU", &METZ);
    fx_add(&fx, "de", "DE", "EU", &BERLIN);

    c = client_at("192.0.2.10", "DE", "EU", &SAARBRUECKEN, 3320, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_str(chosen(ch), "de", "country: the own country wins over a closer neighbour");
    is_int(tier_of(ch, "de"), MS_TIER_COUNTRY, "country: tier country");
    is_int(tier_of(ch, "fr"), MS_TIER_CONTINENT, "country: the neighbour is tier continent");
    is_str(ranked_at(ch, 1)->mirror->name, "fr", "country: then the continent");

    c = client_at("192.0.2.10", "", "", NULL, 0, 0);
    fx.list[0]->country[0] = '\0';
    fx.list[0]->continent[0] = '\0';
    ch = run(&fx, &c, &default_spread, 0);
    is_int(tier_of(ch, "fr"), MS_TIER_WORLD, "unknown country never matches an unknown one");
}

static void test_tier_other_country(void)
{
    fixture_t fx;
    ms_client_t c;
    ms_choice_t *ch;

    fx_init(&fx);
    fx_add(&fx, "sk", "SK", "EU", &BRATISLAVA);
    fx_add(&fx, "de", "DE", "EU", &MUNICH)->other_countries = "AT,CH";

    c = client_at("192.0.2.10", "AT", "EU", &VIENNA, 0, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_str(chosen(ch), "de", "other-country: wins over a closer continent mirror");
    is_int(tier_of(ch, "de"), MS_TIER_OTHER_COUNTRY, "other-country: tier other-country");
    is_int(tier_of(ch, "sk"), MS_TIER_CONTINENT, "other-country: the neighbour is continent");

    c = client_at("192.0.2.10", "CH", "EU", &VIENNA, 0, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_int(tier_of(ch, "de"), MS_TIER_OTHER_COUNTRY, "other-country: second code of the list");

    c = client_at("192.0.2.10", "HU", "EU", &VIENNA, 0, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_int(tier_of(ch, "de"), MS_TIER_CONTINENT, "other-country: a country not listed");

    fx_add(&fx, "at", "AT", "EU", &GRAZ);
    c = client_at("192.0.2.10", "AT", "EU", &VIENNA, 0, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_str(chosen(ch), "at", "other-country: not used when the country tier has a mirror");
    is_int(tier_of(ch, "at"), MS_TIER_COUNTRY, "other-country: the own country is tier country");
    /* Whether de then ranks as other-country or continent, the SPEC leaves
     * open; only that it follows the country tier is checked. */
    ok(ch->ranked->nelts == 3 && strcmp(ranked_at(ch, 1)->mirror->name, "at") != 0
       && tier_of(ch, "de") >= MS_TIER_OTHER_COUNTRY,
       "other-country: the extra country follows the country tier");
}

static void test_tier_continent_world(void)
{
    fixture_t fx;
    ms_client_t c;
    ms_choice_t *ch;

    fx_init(&fx);
    fx_add(&fx, "de", "DE", "EU", &BERLIN);
    fx_add(&fx, "us", "US", "NA", &LOS_ANGELES);
    fx_add(&fx, "br", "BR", "SA", &SAO_PAULO);

    c = client_at("192.0.2.10", "PL", "EU", &WARSAW, 0, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_str(chosen(ch), "de", "continent: the same continent wins");
    is_int(tier_of(ch, "de"), MS_TIER_CONTINENT, "continent: tier continent");
    is_int(tier_of(ch, "us"), MS_TIER_WORLD, "continent: the others are world");

    c = client_at("192.0.2.10", "JP", "AS", &TOKYO, 0, 0);
    ch = run(&fx, &c, &nearest_only, 0);
    is_str(chosen(ch), "us", "world: the nearest wins");
    is_int(tier_of(ch, "us"), MS_TIER_WORLD, "world: tier world");
    is_int(ch->ranked->nelts, 3, "world: every mirror is ranked");
    ok(ch->ranked->nelts == 3 && strcmp(ranked_at(ch, 1)->mirror->name, "de") == 0
       && strcmp(ranked_at(ch, 2)->mirror->name, "br") == 0, "world: then by distance");
    is_double(ranked_at(ch, 0)->distance_km,
              ms_distance_km(TOKYO.lat, TOKYO.lon, LOS_ANGELES.lat, LOS_ANGELES.lon), 1e-6,
              "the ranked distance is the great-circle distance");
}

/* ---- scopes ---- */

static void test_scope(void)
{
    fixture_t fx;
    ms_client_t c;
    ms_choice_t *ch;
    ms_mirror_t *m;

    fx_init(&fx);
    m = fx_add(&fx, "p", "DE", "EU", &BERLIN);
    m->scope = MS_SCOPE_PREFIX;
    add_prefix(m, "10.0.0.0/8");
    m = fx_add(&fx, "a", "DE", "EU", &BERLIN);
    m->scope = MS_SCOPE_ASN;
    m->asn = 64500;
    fx_add(&fx, "c", "DE", "EU", &BERLIN)->scope = MS_SCOPE_COUNTRY;
    fx_add(&fx, "k", "DE", "EU", &BERLIN)->scope = MS_SCOPE_CONTINENT;
    fx_add(&fx, "w", "US", "NA", &NEW_YORK);

    c = client_at("192.0.2.10", "DE", "EU", &BERLIN, 3320, 0);
    ch = run(&fx, &c, &default_spread, 1);
    is_int(tier_of(ch, "p"), 0, "scope prefix: a client outside is not served, same country or not");
    is_int(reason_of(ch, "p"), MS_EXCL_SCOPE, "scope prefix: reason scope");
    is_int(tier_of(ch, "a"), 0, "scope asn: a client of another AS is not served");
    is_int(reason_of(ch, "a"), MS_EXCL_SCOPE, "scope asn: reason scope");
    is_int(tier_of(ch, "c"), MS_TIER_COUNTRY, "scope country: own country served");
    is_int(tier_of(ch, "k"), MS_TIER_COUNTRY, "scope continent: own country served");

    c = client_at("10.1.2.3", "DE", "EU", &BERLIN, 64500, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_str(chosen(ch), "p", "scope prefix: a client inside is served");
    is_int(tier_of(ch, "p"), MS_TIER_PREFIX, "scope prefix: tier prefix");
    is_int(tier_of(ch, "a"), MS_TIER_ASN, "scope asn: a client of the AS is tier asn");

    c = client_at("192.0.2.10", "FR", "EU", &PARIS, 0, 0);
    ch = run(&fx, &c, &default_spread, 1);
    is_int(reason_of(ch, "c"), MS_EXCL_SCOPE, "scope country: another country is refused");
    is_int(tier_of(ch, "k"), MS_TIER_CONTINENT, "scope continent: same continent served");
    is_str(chosen(ch), "k", "scope continent: the only mirror of the continent tier wins");

    c = client_at("192.0.2.10", "JP", "AS", &TOKYO, 0, 0);
    ch = run(&fx, &c, &default_spread, 1);
    is_int(reason_of(ch, "k"), MS_EXCL_SCOPE, "scope continent: another continent is refused");
    is_int(reason_of(ch, "c"), MS_EXCL_SCOPE, "scope country: never reaches world");
    is_int(ch->ranked->nelts, 1, "only the world mirror is left for a client far away");
    is_str(chosen(ch), "w", "the world-scope mirror serves the world");
}

static void test_scope_other_countries(void)
{
    fixture_t fx;
    ms_client_t c;
    ms_choice_t *ch;
    ms_mirror_t *m;

    fx_init(&fx);
    m = fx_add(&fx, "de", "DE", "EU", &MUNICH);
    m->scope = MS_SCOPE_COUNTRY;
    m->other_countries = "AT";
    c = client_at("192.0.2.10", "AT", "EU", &VIENNA, 0, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_int(tier_of(ch, "de"), MS_TIER_OTHER_COUNTRY,
           "scope country: its --other-countries extend its country");
    c = client_at("192.0.2.10", "CZ", "EU", &VIENNA, 0, 0);
    ch = run(&fx, &c, &default_spread, 1);
    is_int(reason_of(ch, "de"), MS_EXCL_SCOPE, "scope country: but no further");
}

/* ---- qualification ---- */

static void test_fallback(void)
{
    fixture_t fx;
    ms_client_t c = client_at("192.0.2.10", "DE", "EU", &BERLIN, 0, 0);
    ms_choice_t *ch;
    ms_mirror_t *fb, *fbde;

    fx_init(&fx);
    fx_add(&fx, "m", "FR", "EU", &PARIS);
    fb = fx_add(&fx, "fb", "US", "NA", &NEW_YORK);
    fb->fallback = 1;
    fx.held[1] = 0;

    ch = run(&fx, &c, &default_spread, 0);
    is_int(ch->ranked->nelts, 1, "fallback: not ranked while a candidate exists");
    is_str(chosen(ch), "m", "fallback: the candidate is chosen");
    is_int(ch->fallback, 0, "fallback: flag off");

    copy_of(&fx, fx.list[0])->size = 1;
    ch = run(&fx, &c, &default_spread, 0);
    is_str(chosen(ch), "fb", "fallback: used when no mirror qualifies");
    is_int(ch->fallback, 1, "fallback: flag on");
    ok(ch->ranked->nelts == 1 && ranked_at(ch, 0)->copy == NULL, "fallback: no copy attached");

    fbde = fx_add(&fx, "fbde", "DE", "EU", &HAMBURG);
    fbde->fallback = 1;
    fx.held[2] = 0;
    ch = run(&fx, &c, &default_spread, 0);
    is_str(chosen(ch), "fbde", "fallback: ranked by tier like any mirror");
    is_int(tier_of(ch, "fbde"), MS_TIER_COUNTRY, "fallback: tier country");
    is_int(ch->ranked->nelts, 2, "fallback: every fallback is ranked");

    fbde->enabled = 0;
    set_health(fb, MS_HTTP, 4, 1, 0);
    set_health(fb, MS_HTTPS, 4, 1, 0);
    ch = run(&fx, &c, &default_spread, 0);
    is_int(ch->ranked->nelts, 0, "fallback: disabled or down fallbacks are not used");

    fb->fallback = 0;
    ch = run(&fx, &c, &default_spread, 0);
    ok(ch->ranked->nelts == 0 && ch->fallback == 0, "no candidate, no fallback: nothing ranked");
}

static void test_max_size_disabled(void)
{
    fixture_t fx;
    ms_client_t c = client_at("192.0.2.10", "DE", "EU", &BERLIN, 0, 0);
    ms_choice_t *ch;

    fx_init(&fx);
    fx_add(&fx, "small", "DE", "EU", &BERLIN)->max_size = FILE_SIZE / 2;
    fx_add(&fx, "small1", "DE", "EU", &BERLIN)->max_size = FILE_SIZE - 1;
    fx_add(&fx, "exact", "DE", "EU", &BERLIN)->max_size = FILE_SIZE;
    fx_add(&fx, "nolimit", "DE", "EU", &BERLIN)->max_size = 0;
    fx_add(&fx, "off", "DE", "EU", &BERLIN)->enabled = 0;

    ch = run(&fx, &c, &default_spread, 1);
    is_int(reason_of(ch, "small"), MS_EXCL_MAX_SIZE, "max-size below the file: excluded");
    is_int(reason_of(ch, "small1"), MS_EXCL_MAX_SIZE, "max-size one byte short: excluded");
    is_int(tier_of(ch, "exact"), MS_TIER_COUNTRY, "max-size equal to the file: admitted");
    is_int(tier_of(ch, "nolimit"), MS_TIER_COUNTRY, "max-size 0: no limit");
    is_int(reason_of(ch, "off"), MS_EXCL_DISABLED, "disabled: excluded");
    is_int(tier_of(ch, "off"), 0, "disabled: never ranked");
}

static void test_health_family(void)
{
    fixture_t fx;
    ms_client_t c;
    ms_choice_t *ch;
    ms_mirror_t *m;

    fx_init(&fx);
    m = fx_add(&fx, "v4only", "DE", "EU", &BERLIN);
    set_health(m, MS_HTTP, 6, 1, 0);
    set_health(m, MS_HTTPS, 6, 1, 0);
    m = fx_add(&fx, "never6", "DE", "EU", &BERLIN);
    set_health(m, MS_HTTP, 6, 0, 0);
    set_health(m, MS_HTTPS, 6, 0, 0);
    m = fx_add(&fx, "v6only", "DE", "EU", &BERLIN);
    set_health(m, MS_HTTP, 4, 1, 0);
    set_health(m, MS_HTTPS, 4, 1, 0);

    c = client_at("2001:db8::9", "DE", "EU", &BERLIN, 0, 0);
    ch = run(&fx, &c, &default_spread, 1);
    is_int(ch->ranked->nelts, 1, "IPv6 client: only mirrors up over IPv6");
    is_str(chosen(ch), "v6only", "IPv6 client: the IPv6 mirror");
    is_int(reason_of(ch, "v4only"), MS_EXCL_DOWN, "IPv6 client: down over IPv6 is excluded");
    is_int(reason_of(ch, "never6"), MS_EXCL_DOWN, "IPv6 client: never probed over IPv6 is down");

    c = client_at("192.0.2.10", "DE", "EU", &BERLIN, 0, 0);
    ch = run(&fx, &c, &default_spread, 1);
    is_int(reason_of(ch, "v6only"), MS_EXCL_DOWN, "IPv4 client: down over IPv4 is excluded");
    is_int(ch->ranked->nelts, 2, "IPv4 client: the two mirrors up over IPv4");
    c = client_at("::ffff:192.0.2.10", "DE", "EU", &BERLIN, 0, 0);
    ch = run(&fx, &c, &default_spread, 1);
    is_int(reason_of(ch, "v6only"), MS_EXCL_DOWN, "mapped IPv4 client is an IPv4 client");
}

/* A health record that was never filled by a probe (known = 0) is not up,
 * whatever its up field says. */
static void test_health_known(void)
{
    fixture_t fx;
    ms_client_t c = client_at("2001:db8::9", "DE", "EU", &BERLIN, 0, 0);
    ms_choice_t *ch;
    ms_mirror_t *m;

    fx_init(&fx);
    m = fx_add(&fx, "bogus6", "DE", "EU", &BERLIN);
    set_health(m, MS_HTTP, 6, 0, 1);
    set_health(m, MS_HTTPS, 6, 0, 1);
    ch = run(&fx, &c, &default_spread, 1);
    is_int(reason_of(ch, "bogus6"), MS_EXCL_DOWN, "up without known is not up");
}

static void test_health_scheme(void)
{
    fixture_t fx;
    ms_client_t c;
    ms_choice_t *ch;
    ms_mirror_t *m;
    const ms_ranked_t *r;

    fx_init(&fx);
    fx_add(&fx, "httponly", "DE", "EU", &BERLIN)->https_url = NULL;
    fx_add(&fx, "httpsonly", "DE", "EU", &BERLIN)->http_url = NULL;
    m = fx_add(&fx, "tlsdown", "DE", "EU", &BERLIN);
    set_health(m, MS_HTTPS, 4, 1, 0);
    fx_add(&fx, "both", "DE", "EU", &BERLIN);
    m = fx_add(&fx, "plaindown", "DE", "EU", &BERLIN);
    set_health(m, MS_HTTP, 4, 1, 0);
    m = fx_add(&fx, "tlsnever", "DE", "EU", &BERLIN);
    m->http_url = NULL;
    set_health(m, MS_HTTPS, 4, 0, 0);

    c = client_at("192.0.2.10", "DE", "EU", &BERLIN, 0, 1);
    ch = run(&fx, &c, &default_spread, 1);
    is_int(reason_of(ch, "httponly"), MS_EXCL_NO_URL, "https request: no https URL, excluded");
    is_int(reason_of(ch, "tlsdown"), MS_EXCL_DOWN, "https request: https down, excluded");
    is_int(reason_of(ch, "tlsnever"), MS_EXCL_DOWN, "https request: https never probed, excluded");
    r = find_ranked(ch, "both");
    ok(r && r->https == 1 && strcmp(r->base_url, "https://both.example/pub/") == 0,
       "https request: sent to the https URL");
    ok(find_ranked(ch, "plaindown") && find_ranked(ch, "plaindown")->https == 1,
       "https request: http health does not matter");

    c = client_at("192.0.2.10", "DE", "EU", &BERLIN, 0, 0);
    ch = run(&fx, &c, &default_spread, 1);
    r = find_ranked(ch, "both");
    ok(r && r->https == 0 && strcmp(r->base_url, "http://both.example/pub") == 0,
       "http request: sent to the http URL when there is one");
    r = find_ranked(ch, "httpsonly");
    ok(r && r->https == 1 && strcmp(r->base_url, "https://httpsonly.example/pub/") == 0,
       "http request: else to the https URL");
    r = find_ranked(ch, "httponly");
    ok(r && r->https == 0, "http request: an http-only mirror serves");
    r = find_ranked(ch, "tlsdown");
    ok(r && r->https == 0, "http request: https health does not matter when http is up");
    r = find_ranked(ch, "plaindown");
    ok(r && r->https == 1, "http request: http down, https up: the https URL");
    is_int(reason_of(ch, "tlsnever"), MS_EXCL_DOWN, "http request: https-only, never probed");
}

static void test_freshness_select(void)
{
    fixture_t fx;
    ms_client_t c = client_at("192.0.2.10", "DE", "EU", &BERLIN, 0, 0);
    ms_choice_t *ch;
    ms_copy_t *cp;

    fx_init(&fx);
    fx_add(&fx, "gone", "DE", "EU", &BERLIN);
    fx.held[0] = 0;
    copy_of(&fx, fx_add(&fx, "bigger", "DE", "EU", &BERLIN))->size = FILE_SIZE + 1;
    copy_of(&fx, fx_add(&fx, "second", "DE", "EU", &BERLIN))->mtime = FILE_MTIME - 1;
    cp = copy_of(&fx, fx_add(&fx, "minute", "DE", "EU", &BERLIN));
    cp->mtime = FILE_MTIME - 59;
    cp->precision = 60;
    cp = copy_of(&fx, fx_add(&fx, "day", "DE", "EU", &BERLIN));
    cp->mtime = FILE_MTIME + 86399;
    cp->precision = 86400;
    cp = copy_of(&fx, fx_add(&fx, "dayold", "DE", "EU", &BERLIN));
    cp->mtime = FILE_MTIME - 86400;
    cp->precision = 86400;

    ch = run(&fx, &c, &default_spread, 1);
    is_int(reason_of(ch, "gone"), MS_EXCL_NOT_HELD, "no copy seen: not-held");
    is_int(reason_of(ch, "bigger"), MS_EXCL_STALE, "size differs: stale");
    is_int(reason_of(ch, "second"), MS_EXCL_STALE, "1 s off at 1 s precision: stale");
    is_int(tier_of(ch, "minute"), MS_TIER_COUNTRY, "59 s off at 60 s precision: fresh");
    is_int(tier_of(ch, "day"), MS_TIER_COUNTRY, "86399 s off at 1 day precision: fresh");
    is_int(reason_of(ch, "dayold"), MS_EXCL_STALE, "a day off at 1 day precision: stale");
    ok(find_ranked(ch, "minute") && find_ranked(ch, "minute")->copy
       && find_ranked(ch, "minute")->copy->precision == 60, "the ranked entry carries its copy");
}

/* One mirror for each reason, and one good one. */
static void test_explain(void)
{
    fixture_t fx;
    ms_client_t c = client_at("192.0.2.10", "DE", "EU", &BERLIN, 0, 1);
    ms_choice_t *ch;
    ms_mirror_t *m;
    int i, described = 1;

    fx_init(&fx);
    fx_add(&fx, "off", "DE", "EU", &BERLIN)->enabled = 0;
    fx_add(&fx, "gone", "DE", "EU", &BERLIN);
    fx.held[1] = 0;
    copy_of(&fx, fx_add(&fx, "stale", "DE", "EU", &BERLIN))->size = 12;
    fx_add(&fx, "nourl", "DE", "EU", &BERLIN)->https_url = NULL;
    set_health(fx_add(&fx, "down", "DE", "EU", &BERLIN), MS_HTTPS, 4, 1, 0);
    fx_add(&fx, "small", "DE", "EU", &BERLIN)->max_size = 10;
    m = fx_add(&fx, "scoped", "FR", "EU", &PARIS);
    m->scope = MS_SCOPE_COUNTRY;
    fx_add(&fx, "good", "DE", "EU", &BERLIN);

    ch = run(&fx, &c, &default_spread, 1);
    is_int(ch->ranked->nelts, 1, "explain: one mirror qualifies");
    is_str(chosen(ch), "good", "explain: the good one");
    is_int(ch->excluded->nelts, 7, "explain: seven excluded");
    is_int(reason_of(ch, "off"), MS_EXCL_DISABLED, "explain: disabled");
    is_int(reason_of(ch, "gone"), MS_EXCL_NOT_HELD, "explain: not-held");
    is_int(reason_of(ch, "stale"), MS_EXCL_STALE, "explain: stale");
    is_int(reason_of(ch, "nourl"), MS_EXCL_NO_URL, "explain: no-url");
    is_int(reason_of(ch, "down"), MS_EXCL_DOWN, "explain: down");
    is_int(reason_of(ch, "small"), MS_EXCL_MAX_SIZE, "explain: max-size");
    is_int(reason_of(ch, "scoped"), MS_EXCL_SCOPE, "explain: scope");
    for (i = 0; i < ch->excluded->nelts; i++) {
        const ms_excluded_t *e = &APR_ARRAY_IDX(ch->excluded, i, ms_excluded_t);

        if (e->detail == NULL)
            described = 0;
    }
    ok(described, "explain: every exclusion has a detail");

    ch = run(&fx, &c, &default_spread, 0);
    ok(ch->excluded == NULL || ch->excluded->nelts == 0, "no explain: nothing listed as excluded");
    is_str(chosen(ch), "good", "no explain: the same choice");
}

/* ---- spread, weights, order ---- */

/* Draw n distinct clients "10.a.b.c" through ms_select; count[i] is how often
 * mirror i was chosen. Each client's choice is made in a scratch pool. */
static void draw(fixture_t *fx, const ms_client_t *proto, const ms_spread_t *sp, int n,
                 int *count, int *band)
{
    apr_pool_t *scratch;
    int i;

    apr_pool_create(&scratch, pool);
    for (i = 0; i < n; i++) {
        ms_client_t c = *proto;
        ms_choice_t *ch;
        char ip[32];

        snprintf(ip, sizeof(ip), "10.%d.%d.%d", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
        if (ms_addr_parse(&c.addr, ip) != 0)
            bail_out("bad generated address %s", ip);
        c.addr_text = ip;
        ch = run_in(fx, &c, sp, 0, scratch);
        if (ch->ranked->nelts > 0)
            count[ranked_at(ch, 0)->mirror->id - 1]++;
        if (band)
            *band = ch->band;
        apr_pool_clear(scratch);
    }
    apr_pool_destroy(scratch);
}

/* A mirror at `km` kilometres north of (50 N, 10 E), along the meridian. */
static city_t north_of_50(double km)
{
    city_t at = { 50.0 + km / 111.19492664, 10.0 };

    return at;
}

static city_t east_of_0(double km)
{
    city_t at = { 0.0, km / 111.19492664 };

    return at;
}

static void test_spread_weights(void)
{
    static const city_t origin = { 50.0, 10.0 };
    fixture_t fx;
    ms_client_t c = client_at("10.0.0.0", "DE", "EU", &origin, 0, 0);
    int count[MAX_MIRRORS] = { 0 }, band = 0;
    city_t a = north_of_50(55.6), d = north_of_50(166.8), b = north_of_50(222.4),
        far = north_of_50(333.6);
    const int n = 10000;

    fx_init(&fx);
    fx_add(&fx, "a", "DE", "EU", &a)->weight = 1;
    fx_add(&fx, "d", "DE", "EU", &d)->weight = 6;
    fx_add(&fx, "b", "DE", "EU", &b)->weight = 3;
    fx_add(&fx, "far", "DE", "EU", &far)->weight = 100;   /* beyond 55.6 + 250 km */

    draw(&fx, &c, &default_spread, n, count, &band);
    is_int(band, 3, "band: three mirrors within max(1.5 x 55.6, 55.6 + 250) km");
    is_double(100.0 * count[0] / n, 10, 3, "weight 1 of 10: share %.1f%%", 100.0 * count[0] / n);
    is_double(100.0 * count[1] / n, 60, 3, "weight 6 of 10: share %.1f%%", 100.0 * count[1] / n);
    is_double(100.0 * count[2] / n, 30, 3, "weight 3 of 10: share %.1f%%", 100.0 * count[2] / n);
    is_int(count[3], 0, "a heavy mirror outside the band is never chosen first");
}

static void test_spread_band(void)
{
    static const city_t origin = { 0.0, 0.0 };
    fixture_t fx;
    ms_client_t c = client_at("10.0.0.0", "BR", "SA", &origin, 0, 0);
    int count[MAX_MIRRORS] = { 0 }, band = 0;
    city_t n1000 = east_of_0(1000), in = east_of_0(1460), out = east_of_0(1540);
    city_t n100 = east_of_0(100), in2 = east_of_0(330), out2 = east_of_0(370);

    /* F dominates: nearest 1000 km, limit max(1500, 1250) = 1500 km. */
    fx_init(&fx);
    fx_add(&fx, "n", "BR", "SA", &n1000);
    fx_add(&fx, "in", "BR", "SA", &in);
    fx_add(&fx, "out", "BR", "SA", &out)->weight = 1000;
    draw(&fx, &c, &default_spread, 2000, count, &band);
    is_int(band, 2, "F x nearest: the band is 1.5 x 1000 km");
    is_int(count[2], 0, "F x nearest: 1540 km is never chosen first");
    is_double(count[1] / 2000.0, 0.5, 0.05, "F x nearest: 1460 km shares equally");

    /* K dominates: nearest 100 km, limit max(150, 350) = 350 km. */
    memset(count, 0, sizeof(count));
    fx_init(&fx);
    fx_add(&fx, "n", "BR", "SA", &n100);
    fx_add(&fx, "in", "BR", "SA", &in2);
    fx_add(&fx, "out", "BR", "SA", &out2)->weight = 1000;
    draw(&fx, &c, &default_spread, 2000, count, &band);
    is_int(band, 2, "nearest + K: the band is 100 + 250 km");
    is_int(count[2], 0, "nearest + K: 370 km is never chosen first");
    is_double(count[1] / 2000.0, 0.5, 0.05, "nearest + K: 330 km shares equally");

    /* MirrorSelSpread 1 0: the nearest only. */
    memset(count, 0, sizeof(count));
    draw(&fx, &c, &nearest_only, 500, count, &band);
    is_int(band, 1, "spread 1 0: a band of one");
    is_int(count[0], 500, "spread 1 0: always the nearest");
}

static void test_spread_no_coords(void)
{
    fixture_t fx;
    ms_client_t c = client_at("10.0.0.0", "DE", "EU", NULL, 0, 0);
    int count[MAX_MIRRORS] = { 0 }, band = 0, i, unknown = 1;
    const int n = 10000;
    ms_choice_t *ch;

    fx_init(&fx);
    fx_add(&fx, "berlin", "DE", "EU", &BERLIN);
    fx_add(&fx, "munich", "DE", "EU", &MUNICH);
    fx_add(&fx, "hamburg", "DE", "EU", &HAMBURG)->weight = 2;
    draw(&fx, &c, &default_spread, n, count, &band);
    is_int(band, 3, "no client coordinates: the whole tier is the band");
    is_double(100.0 * count[0] / n, 25, 3, "no coordinates, weight 1 of 4: %.1f%%",
              100.0 * count[0] / n);
    is_double(100.0 * count[1] / n, 25, 3, "no coordinates, weight 1 of 4: %.1f%%",
              100.0 * count[1] / n);
    is_double(100.0 * count[2] / n, 50, 3, "no coordinates, weight 2 of 4: %.1f%%",
              100.0 * count[2] / n);
    ch = run(&fx, &c, &default_spread, 0);
    for (i = 0; i < ch->ranked->nelts; i++)
        unknown &= ranked_at(ch, i)->distance_km < 0;
    ok(unknown, "no coordinates: every distance is unknown (< 0)");
}

/* A mirror without coordinates has an unknown distance, not a short one: it
 * comes after the measured mirrors of its tier and stays out of the band,
 * however heavy. And "no farther than" the band's edge includes it: with
 * MirrorSelSpread 1 0, mirrors at the very same distance still share. */
static void test_spread_unknown_and_ties(void)
{
    fixture_t fx;
    ms_client_t c = client_at("10.0.0.0", "DE", "EU", &BERLIN, 0, 0);
    int count[MAX_MIRRORS] = { 0 }, band = 0;
    ms_choice_t *ch;

    fx_init(&fx);
    fx_add(&fx, "nowhere", "DE", "EU", NULL)->weight = 100;
    fx_add(&fx, "munich", "DE", "EU", &MUNICH);
    draw(&fx, &c, &default_spread, 500, count, &band);
    is_int(band, 1, "a mirror without coordinates is outside the band");
    is_int(count[1], 500, "the measured mirror is always chosen, not the heavy unknown one");
    ch = run(&fx, &c, &default_spread, 0);
    ok(ch->ranked->nelts == 2 && strcmp(ranked_at(ch, 1)->mirror->name, "nowhere") == 0
       && ranked_at(ch, 1)->distance_km < 0,
       "unknown distance: last of its tier");

    fx_init(&fx);
    fx_add(&fx, "p1", "DE", "EU", &POTSDAM);
    fx_add(&fx, "p2", "DE", "EU", &POTSDAM);
    memset(count, 0, sizeof(count));
    draw(&fx, &c, &nearest_only, 2000, count, &band);
    is_int(band, 2, "spread 1 0: two mirrors at the nearest distance are both in the band");
    is_double(count[1] / 2000.0, 0.5, 0.05, "spread 1 0: they share equally (%.2f)",
              count[1] / 2000.0);
}

static void test_sticky(void)
{
    fixture_t fx;
    ms_client_t c = client_at("10.0.0.0", "DE", "EU", &BERLIN, 0, 0);
    int i, same = 1, seen[MAX_MIRRORS] = { 0 }, distinct = 0;
    char ip[32], path[64];

    fx_init(&fx);
    fx_add(&fx, "b1", "DE", "EU", &BERLIN);
    fx_add(&fx, "b2", "DE", "EU", &POTSDAM)->weight = 2;
    fx_add(&fx, "b3", "DE", "EU", &BERLIN)->weight = 3;
    for (i = 0; i < 300; i++) {
        ms_client_t c1 = c, c2 = c;
        const char *first;

        snprintf(ip, sizeof(ip), "192.0.%d.%d", i / 256, i % 256);
        ms_addr_parse(&c1.addr, ip);
        c1.addr_text = apr_pstrdup(pool, ip);
        ms_addr_parse(&c2.addr, ip);
        c2.addr_text = apr_pstrdup(pool, ip);     /* another copy of the same text */
        first = chosen(run(&fx, &c1, &default_spread, 0));
        if (strcmp(first, chosen(run(&fx, &c2, &default_spread, 0))) != 0)
            same = 0;
    }
    ok(same, "the same client and path always get the same mirror");

    c.addr_text = "192.0.2.77";
    ms_addr_parse(&c.addr, c.addr_text);
    for (i = 0; i < 300; i++) {
        ms_choice_t *ch;

        snprintf(path, sizeof(path), "pub/file-%d.iso", i);
        fx.file.path = path;
        ch = run(&fx, &c, &default_spread, 0);
        if (ch->ranked->nelts > 0)
            seen[ranked_at(ch, 0)->mirror->id - 1] = 1;
    }
    for (i = 0; i < MAX_MIRRORS; i++)
        distinct += seen[i];
    is_int(distinct, 3, "one client spreads over the band across different files");

    /* One client however its address is spelt: a dual-stack listener's
     * "::ffff:192.0.2.77", or IPv6 in capitals with zeros written out. */
    {
        static const char *const spelt[][2] = {
            { "192.0.2.77", "::ffff:192.0.2.77" },
            { "2001:db8::7", "2001:DB8:0:0::7" },
        };
        int k, agree = 1;

        for (k = 0; k < 2; k++) {
            ms_client_t c1 = c, c2 = c;

            ms_addr_parse(&c1.addr, spelt[k][0]);
            c1.addr_text = spelt[k][0];
            ms_addr_parse(&c2.addr, spelt[k][1]);
            c2.addr_text = spelt[k][1];
            for (i = 0; i < 100; i++) {
                snprintf(path, sizeof(path), "pub/file-%d.iso", i);
                fx.file.path = path;
                agree &= strcmp(chosen(run(&fx, &c1, &default_spread, 0)),
                                chosen(run(&fx, &c2, &default_spread, 0))) == 0;
            }
        }
        ok(agree, "one client, however its address is spelt: the same mirror for each file");
    }
}

/* The ordered list: chosen, the rest of its tier by distance, then each
 * following tier by distance. Checked for many clients, as the chosen varies. */
static void test_order(void)
{
    static const char *const tier3[] = { "b1", "b2", "cgn", "mu" };
    static const char *const after[] = { "pl", "at", "fr", "us", "jp", "au" };
    fixture_t fx;
    ms_client_t c = client_at("10.0.0.0", "DE", "EU", &BERLIN, 0, 0);
    int i, j, good = 0, chosen_b1 = 0, chosen_b2 = 0;
    apr_pool_t *scratch;

    fx_init(&fx);
    fx_add(&fx, "us", "US", "NA", &NEW_YORK);
    fx_add(&fx, "mu", "DE", "EU", &MUNICH);
    fx_add(&fx, "pl", "PL", "EU", &WARSAW);
    fx_add(&fx, "b2", "DE", "EU", &POTSDAM);
    fx_add(&fx, "jp", "JP", "AS", &TOKYO);
    fx_add(&fx, "fr", "FR", "EU", &PARIS);
    fx_add(&fx, "cgn", "DE", "EU", &COLOGNE);
    fx_add(&fx, "au", "AU", "OC", &SYDNEY);
    fx_add(&fx, "b1", "DE", "EU", &BERLIN);
    fx_add(&fx, "at", "AT", "EU", &VIENNA);

    apr_pool_create(&scratch, pool);
    for (i = 0; i < 300; i++) {
        ms_choice_t *ch;
        char ip[32];
        int pass = 1, k = 1;

        snprintf(ip, sizeof(ip), "10.9.%d.%d", i / 256, i % 256);
        ms_addr_parse(&c.addr, ip);
        c.addr_text = ip;
        ch = run_in(&fx, &c, &default_spread, 0, scratch);
        pass &= ch->ranked->nelts == 10;
        pass &= strcmp(chosen(ch), "b1") == 0 || strcmp(chosen(ch), "b2") == 0;
        chosen_b1 += strcmp(chosen(ch), "b1") == 0;
        chosen_b2 += strcmp(chosen(ch), "b2") == 0;
        /* the rest of tier 3, by distance, without the chosen one */
        for (j = 0; pass && j < 4; j++) {
            if (strcmp(tier3[j], chosen(ch)) == 0)
                continue;
            pass &= strcmp(ranked_at(ch, k)->mirror->name, tier3[j]) == 0
                && ranked_at(ch, k)->tier == MS_TIER_COUNTRY;
            k++;
        }
        for (j = 0; pass && j < 6; j++, k++)
            pass &= strcmp(ranked_at(ch, k)->mirror->name, after[j]) == 0;
        if (pass)
            good++;
        else
            diag("order wrong for client %s", ip);
        apr_pool_clear(scratch);
    }
    apr_pool_destroy(scratch);
    is_int(good, 300, "ordered list: chosen, rest of tier by distance, then tiers by distance");
    ok(chosen_b1 > 0 && chosen_b2 > 0, "ordered list: both band mirrors were chosen (%d, %d)",
       chosen_b1, chosen_b2);
}

static void test_empty(void)
{
    fixture_t fx;
    ms_client_t c = client_at("192.0.2.1", "DE", "EU", &BERLIN, 0, 0);
    ms_choice_t *ch;

    fx_init(&fx);
    ch = run(&fx, &c, &default_spread, 1);
    ok(ch->ranked->nelts == 0 && ch->excluded->nelts == 0 && ch->fallback == 0,
       "no mirrors at all: nothing ranked, nothing excluded");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);

    test_names();
    test_distance();
    test_seed();
    test_freshness();
    test_tier_prefix();
    test_tier_prefix_family();
    test_tier_asn();
    test_tier_country();
    test_tier_other_country();
    test_tier_continent_world();
    test_scope();
    test_scope_other_countries();
    test_fallback();
    test_max_size_disabled();
    test_health_family();
    test_health_known();
    test_health_scheme();
    test_freshness_select();
    test_explain();
    test_spread_weights();
    test_spread_band();
    test_spread_no_coords();
    test_spread_unknown_and_ties();
    test_sticky();
    test_order();
    test_empty();

    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
