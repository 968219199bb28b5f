/* ms_cmd_explain.c — `mirrorsel explain PATH`: rank the mirrors for one
 * client through ms_lookup, the module's own code path, and show every step:
 * the client's location, the file, the ranked mirrors with the URL the client
 * would be sent to, and each excluded mirror with its reason. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_strings.h>

#include "ms_cmd.h"
#include "ms_country.h"
#include "ms_lookup.h"
#include "ms_path.h"

typedef struct explain_opts {
    const char *path;          /* normalised: what was asked */
    const char *root;          /* the origin tree (--root, MIRRORSEL_ROOT), or NULL */
    const char *ip;
    const char *country;
    int https;
    int json;
    ms_spread_t spread;
} explain_opts_t;

enum { OPT_IP = 0x100, OPT_COUNTRY, OPT_HTTPS, OPT_JSON, OPT_SPREAD, OPT_ROOT };

/* The origin file as the module sees it (with --root): httpd's stat() of
 * it, through links, and what it resolves to under the root. */
typedef struct origin {
    const char *file;          /* ROOT/PATH */
    const char *error;         /* why it is not a file to redirect, or NULL */
    apr_finfo_t finfo;
    const char *link_to;       /* the origin-relative target of a link, or NULL */
} origin_t;

static void explain_usage(FILE *out)
{
    fputs("usage: mirrorsel explain PATH [--ip ADDR] [--country CC] [--https]\n"
          "                         [--spread F K] [--root DIR] [--json]\n"
          "  Rank the mirrors for PATH (origin-relative) and a client exactly as the\n"
          "  module would, listing every excluded mirror and the reason.\n"
          "  --root DIR      the origin tree (default: $MIRRORSEL_ROOT): PATH is then\n"
          "                  checked on disk as the module does (changed since the\n"
          "                  index, a link, missing); without it, the index is taken\n"
          "                  as the truth\n"
          "  --ip ADDR       the client's address (default: none, location unknown)\n"
          "  --country CC    country override, as ?country=CC\n"
          "  --https         the request came over https\n"
          "  --spread F K    the spread band (default 1.5 250, as MirrorSelSpread)\n"
          "  --json          the same as a JSON object\n", out);
}

/* --- arguments --- */

/* "F K" as two arguments (K taken from argv[optind]), or "F,K". */
static int opt_spread(ms_spread_t *s, const char *arg, int argc, char **argv,
                      apr_pool_t *p)
{
    const char *comma = strchr(arg, ',');
    const char *f = arg, *k = NULL;

    if (comma) {
        f = apr_pstrmemdup(p, arg, (apr_size_t)(comma - arg));
        k = comma + 1;
    }
    else if (optind < argc) {
        k = argv[optind++];
    }
    if (!k || ms_cmd_parse_double(&s->factor, f, 1, 1000)
        || ms_cmd_parse_double(&s->km, k, 0, 40075))
        return ms_cmd_fail(MS_EXIT_USAGE, "explain: --spread takes F K: a factor >= 1 "
                           "and a distance in km >= 0 (e.g. --spread 1.5 250)");
    return MS_EXIT_OK;
}

static int opt_one(explain_opts_t *o, int c, int argc, char **argv, apr_pool_t *p)
{
    ms_addr_t a;

    switch (c) {
    case OPT_IP:
        if (ms_addr_parse(&a, optarg) != 0)
            return ms_cmd_fail(MS_EXIT_USAGE, "explain: --ip '%s': not an IPv4 or "
                               "IPv6 address", optarg);
        o->ip = optarg;
        break;
    case OPT_COUNTRY:
        if (!(o->country = ms_cmd_country(optarg, p)))
            return ms_cmd_fail(MS_EXIT_USAGE, "explain: --country '%s': not an ISO "
                               "3166-1 country code", optarg);
        break;
    case OPT_ROOT:  o->root = *optarg ? optarg : NULL; break;
    case OPT_HTTPS: o->https = 1; break;
    case OPT_JSON:  o->json = 1;  break;
    case OPT_SPREAD:
        return opt_spread(&o->spread, optarg, argc, argv, p);
    }
    return MS_EXIT_OK;
}

static int explain_args(explain_opts_t *o, ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        MS_GLOBAL_LONGOPTS,
        { "ip",      required_argument, NULL, OPT_IP },
        { "country", required_argument, NULL, OPT_COUNTRY },
        { "https",   no_argument,       NULL, OPT_HTTPS },
        { "json",    no_argument,       NULL, OPT_JSON },
        { "spread",  required_argument, NULL, OPT_SPREAD },
        { "root",    required_argument, NULL, OPT_ROOT },
        { "help",    no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *raw;
    int c, rc;

    memset(o, 0, sizeof(*o));
    o->root = getenv("MIRRORSEL_ROOT");
    if (o->root && !*o->root)
        o->root = NULL;
    o->spread.factor = 1.5;
    o->spread.km = 250;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ms_cmd_global_opt(ctx, c, optarg))
            continue;
        if (c == 'h') {
            explain_usage(stdout);
            return -1;
        }
        if (c == '?' || c == ':')
            return ms_cmd_bad_opt("explain", c, argv);
        if ((rc = opt_one(o, c, argc, argv, ctx->pool)) != MS_EXIT_OK)
            return rc;
    }
    if (argc - optind != 1)
        return ms_cmd_fail(MS_EXIT_USAGE, argc == optind ? "explain: PATH is missing"
                           : "explain: one PATH expected");
    raw = argv[optind];
    if (ms_path_normalise(&o->path, raw, ctx->pool) != 0 || !*o->path)
        return ms_cmd_fail(MS_EXIT_USAGE, "explain: '%s': not a file path (a '..' "
                           "segment, a control byte, a backslash or invalid UTF-8, or "
                           "the root itself)", raw);
    return MS_EXIT_OK;
}

/* --- the origin file (--root) --- */

/* What the module finds on disk for o->path: httpd's stat() (through
 * links), and where links lead (ms_path_resolve_under, as the module). */
static void origin_check(origin_t *og, const explain_opts_t *o, apr_pool_t *p)
{
    size_t rlen = strlen(o->root);
    const char *rel;
    char why[120];
    apr_status_t rv;

    memset(og, 0, sizeof(*og));
    og->file = apr_pstrcat(p, o->root, rlen && o->root[rlen - 1] == '/' ? "" : "/",
                           o->path, NULL);
    if ((rv = apr_stat(&og->finfo, og->file, APR_FINFO_MIN, p)) != APR_SUCCESS) {
        og->error = apr_pstrdup(p, apr_strerror(rv, why, sizeof(why)));
        return;
    }
    if (og->finfo.filetype != APR_REG) {
        og->error = "not a regular file";
        return;
    }
    rel = ms_path_resolve_under(og->file, o->root, p);
    if (rel && strcmp(rel, o->path) != 0)
        og->link_to = rel;
}

/* --- text --- */

static const char *url_for(const ms_ranked_t *r, const char *path, apr_pool_t *p)
{
    return ms_url_join(r->base_url, ms_path_escape(path, p), p);
}

static const char *distance_text(double km, apr_pool_t *p)
{
    return km < 0 ? "-" : apr_psprintf(p, "%.0f km", km);
}

static void text_client(const ms_client_t *c, const explain_opts_t *o, apr_pool_t *p)
{
    const ms_location_t *l = &c->loc;

    printf("client:    %s (IPv%d, %s)%s\n", o->ip ? o->ip : "no address",
           c->addr.family ? c->addr.family : 4, c->https ? "https" : "http",
           o->country ? apr_psprintf(p, ", country override %s", o->country) : "");
    printf("location:  country %s, continent %s, coordinates %s, asn %s\n",
           l->country[0] ? l->country : "-", l->continent[0] ? l->continent : "-",
           l->has_coords ? apr_psprintf(p, "%.4f,%.4f", l->lat, l->lon) : "-",
           l->asn ? apr_psprintf(p, "%u", (unsigned)l->asn) : "-");
}

static void text_file(const ms_file_t *f, const char *path, apr_pool_t *p)
{
    if (!f) {
        printf("file:      %s: not in the index\n", ms_cmd_printable(path, p));
        return;
    }
    printf("file:      %s: %lld bytes, mtime %s, sha256 %s\n", ms_cmd_printable(f->path, p),
           (long long)f->size,
           ms_cmd_time(f->mtime, p), f->sha256 ? f->sha256 : "-");
}

/* 1 when a fallback mirror was considered and excluded (down, disabled, no
 * URL for the scheme, out of scope...): one exists, none qualified. */
static int fallback_excluded(const ms_choice_t *ch)
{
    int i;

    for (i = 0; ch && ch->excluded && i < ch->excluded->nelts; i++)
        if (APR_ARRAY_IDX(ch->excluded, i, ms_excluded_t).mirror->fallback)
            return 1;
    return 0;
}

static void text_result(const ms_answer_t *a, apr_pool_t *p)
{
    const ms_ranked_t *r;

    printf("result:    %s", ms_result_name(a->result));
    if (a->result == MS_RESULT_REDIRECT) {
        r = &APR_ARRAY_IDX(a->choice->ranked, 0, ms_ranked_t);
        printf(" to %s (tier %s%s; %d mirror%s shared the draw)", r->mirror->name,
               ms_tier_name(r->tier), a->choice->fallback ? ", fallback" : "",
               a->choice->band, a->choice->band == 1 ? "" : "s");
    }
    else if (a->result == MS_RESULT_ERROR)
        printf(": %s", a->error ? ms_cmd_printable(a->error, p) : "unknown error");
    else if (a->result == MS_RESULT_LOCAL)
        printf(" (not a file on the origin)");
    else if (!a->file)
        printf(" (not in the index: served locally)");
    else if (fallback_excluded(a->choice))
        printf(" (neither a mirror nor a fallback mirror qualifies: served locally)");
    else
        printf(" (no mirror qualifies and no fallback mirror exists: served locally)");
    putchar('\n');
}

static void text_ranked(const ms_choice_t *ch, const char *path, apr_pool_t *p)
{
    const ms_ranked_t *r;
    int i, w = 6;

    if (!ch || ch->ranked->nelts == 0) {
        printf("ranked:    none\n");
        return;
    }
    for (i = 0; i < ch->ranked->nelts; i++) {
        r = &APR_ARRAY_IDX(ch->ranked, i, ms_ranked_t);
        if ((int)strlen(r->mirror->name) > w)
            w = (int)strlen(r->mirror->name);
    }
    printf("ranked%s:\n", ch->fallback ? " (fallback mirrors: no mirror holding the "
                                         "file qualified)" : "");
    printf("  %3s  %-*s  %-13s  %9s  %s\n", "#", w, "MIRROR", "TIER", "DISTANCE", "URL");
    for (i = 0; i < ch->ranked->nelts; i++) {
        r = &APR_ARRAY_IDX(ch->ranked, i, ms_ranked_t);
        printf("  %2d%c  %-*s  %-13s  %9s  %s%s\n", i + 1, i == 0 ? '*' : ' ', w,
               r->mirror->name, ms_tier_name(r->tier), distance_text(r->distance_km, p),
               url_for(r, path, p), ch->fallback ? "  (fallback)" : "");
    }
}

static void text_excluded(const ms_choice_t *ch, apr_pool_t *p)
{
    const ms_excluded_t *e;
    int i, w = 6;

    if (!ch || !ch->excluded || ch->excluded->nelts == 0) {
        printf("excluded:  none\n");
        return;
    }
    for (i = 0; i < ch->excluded->nelts; i++) {
        e = &APR_ARRAY_IDX(ch->excluded, i, ms_excluded_t);
        if ((int)strlen(e->mirror->name) > w)
            w = (int)strlen(e->mirror->name);
    }
    printf("excluded:\n");
    for (i = 0; i < ch->excluded->nelts; i++) {
        e = &APR_ARRAY_IDX(ch->excluded, i, ms_excluded_t);
        if (e->detail && *e->detail)
            printf("  %-*s  %-9s  %s\n", w, e->mirror->name, ms_excl_name(e->reason),
                   ms_cmd_printable(e->detail, p));
        else
            printf("  %-*s  %s\n", w, e->mirror->name, ms_excl_name(e->reason));
    }
}

static void text_origin(const origin_t *og, int followed, apr_pool_t *p)
{
    if (!og->file) {
        printf("origin:    not checked (no --root): the index is taken as the truth\n");
        return;
    }
    if (og->error) {
        printf("origin:    %s: %s: not redirected, httpd answers it itself\n",
               ms_cmd_printable(og->file, p), og->error);
        return;
    }
    printf("origin:    %s: %lld bytes, mtime %s", ms_cmd_printable(og->file, p),
           (long long)og->finfo.size, ms_cmd_time(apr_time_sec(og->finfo.mtime), p));
    if (followed)
        printf("; a link to %s, answered as that file", ms_cmd_printable(og->link_to, p));
    putchar('\n');
}

static void text_answer(const ms_answer_t *a, const explain_opts_t *o, const origin_t *og,
                        int followed, apr_pool_t *p)
{
    text_client(&a->client, o, p);
    text_origin(og, followed, p);
    text_file(a->file, followed ? og->link_to : o->path, p);
    text_result(a, p);
    text_ranked(a->choice, followed ? og->link_to : o->path, p);
    text_excluded(a->choice, p);
}

/* --- JSON --- */

static void json_client(ms_jw_t *j, const ms_client_t *c, const explain_opts_t *o)
{
    const ms_location_t *l = &c->loc;

    ms_jw_object(j, "client");
    ms_jw_str(j, "ip", o->ip);
    ms_jw_int(j, "family", c->addr.family ? c->addr.family : 4);
    ms_jw_bool(j, "https", c->https);
    ms_jw_str(j, "country_override", o->country);
    ms_jw_str(j, "country", l->country[0] ? l->country : NULL);
    ms_jw_str(j, "continent", l->continent[0] ? l->continent : NULL);
    if (l->has_coords) {
        ms_jw_num(j, "lat", l->lat);
        ms_jw_num(j, "lon", l->lon);
    }
    else {
        ms_jw_null(j, "lat");
        ms_jw_null(j, "lon");
    }
    if (l->asn)
        ms_jw_int(j, "asn", l->asn);
    else
        ms_jw_null(j, "asn");
    ms_jw_end(j);
}

static void json_file(ms_jw_t *j, const ms_file_t *f)
{
    if (!f) {
        ms_jw_null(j, "file");
        return;
    }
    ms_jw_object(j, "file");
    ms_jw_str(j, "path", f->path);
    ms_jw_int(j, "size", f->size);
    ms_jw_int(j, "mtime", f->mtime);
    ms_jw_str(j, "sha256", f->sha256);
    ms_jw_end(j);
}

static void json_copy(ms_jw_t *j, const ms_copy_t *c)
{
    if (!c) {
        ms_jw_null(j, "copy");
        return;
    }
    ms_jw_object(j, "copy");
    ms_jw_int(j, "size", c->size);
    ms_jw_int(j, "mtime", c->mtime);
    ms_jw_int(j, "precision", c->precision);
    ms_jw_int(j, "seen", c->seen);
    ms_jw_end(j);
}

static void json_ranked(ms_jw_t *j, const ms_choice_t *ch, const char *path, apr_pool_t *p)
{
    const ms_ranked_t *r;
    int i;

    ms_jw_array(j, "ranked");
    for (i = 0; ch && i < ch->ranked->nelts; i++) {
        r = &APR_ARRAY_IDX(ch->ranked, i, ms_ranked_t);
        ms_jw_object(j, NULL);
        ms_jw_int(j, "rank", i + 1);
        ms_jw_str(j, "name", r->mirror->name);
        ms_jw_str(j, "tier", ms_tier_name(r->tier));
        if (r->distance_km < 0)
            ms_jw_null(j, "distance_km");
        else
            ms_jw_num(j, "distance_km", (double)(int64_t)(r->distance_km * 10 + 0.5) / 10);
        ms_jw_str(j, "url", url_for(r, path, p));
        ms_jw_bool(j, "https", r->https);
        ms_jw_bool(j, "chosen", i == 0);
        ms_jw_bool(j, "fallback", ch->fallback);
        ms_jw_str(j, "country", r->mirror->country[0] ? r->mirror->country : NULL);
        ms_jw_int(j, "weight", r->mirror->weight);
        json_copy(j, r->copy);
        ms_jw_end(j);
    }
    ms_jw_end(j);
}

static void json_excluded(ms_jw_t *j, const ms_choice_t *ch)
{
    const ms_excluded_t *e;
    int i;

    ms_jw_array(j, "excluded");
    for (i = 0; ch && ch->excluded && i < ch->excluded->nelts; i++) {
        e = &APR_ARRAY_IDX(ch->excluded, i, ms_excluded_t);
        ms_jw_object(j, NULL);
        ms_jw_str(j, "name", e->mirror->name);
        ms_jw_str(j, "reason", ms_excl_name(e->reason));
        ms_jw_str(j, "detail", e->detail ? e->detail : "");
        ms_jw_end(j);
    }
    ms_jw_end(j);
}

static void json_origin(ms_jw_t *j, const origin_t *og, int followed)
{
    if (!og->file) {
        ms_jw_null(j, "origin");
        return;
    }
    ms_jw_object(j, "origin");
    ms_jw_str(j, "file", og->file);
    ms_jw_str(j, "error", og->error);
    if (og->error) {
        ms_jw_null(j, "size");
        ms_jw_null(j, "mtime");
    }
    else {
        ms_jw_int(j, "size", og->finfo.size);
        ms_jw_int(j, "mtime", apr_time_sec(og->finfo.mtime));
    }
    ms_jw_str(j, "link_to", followed ? og->link_to : NULL);
    ms_jw_end(j);
}

static int json_answer(const ms_answer_t *a, const explain_opts_t *o, const origin_t *og,
                       int followed, apr_pool_t *p)
{
    const ms_choice_t *ch = a->choice;
    const ms_ranked_t *first = (ch && ch->ranked->nelts)
        ? &APR_ARRAY_IDX(ch->ranked, 0, ms_ranked_t) : NULL;
    ms_jw_t j;

    ms_cmd_json_begin(&j, p);
    ms_jw_object(&j, NULL);
    ms_jw_str(&j, "path", o->path);
    json_client(&j, &a->client, o);
    json_origin(&j, og, followed);
    json_file(&j, a->file);
    ms_jw_str(&j, "result", ms_result_name(a->result));
    ms_jw_str(&j, "error", a->result == MS_RESULT_ERROR ? a->error : NULL);
    ms_jw_str(&j, "mirror", first ? first->mirror->name : NULL);
    ms_jw_str(&j, "tier", first ? ms_tier_name(first->tier) : NULL);
    ms_jw_bool(&j, "fallback", ch ? ch->fallback : 0);
    ms_jw_int(&j, "band", ch ? ch->band : 0);
    ms_jw_object(&j, "spread");
    ms_jw_num(&j, "factor", o->spread.factor);
    ms_jw_num(&j, "km", o->spread.km);
    ms_jw_end(&j);
    json_ranked(&j, ch, followed ? og->link_to : o->path, p);
    json_excluded(&j, ch);
    ms_jw_end(&j);
    return ms_cmd_json_print(&j);
}

/* --- the command --- */

int ms_cmd_explain(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    explain_opts_t o;
    ms_request_t req;
    ms_answer_t *a = NULL;
    ms_geo_t *geo = NULL;
    ms_db_t *db = NULL;
    origin_t og;
    int rc, followed = 0;

    if ((rc = explain_args(&o, ctx, argc, argv)) != MS_EXIT_OK)
        return rc < 0 ? MS_EXIT_OK : rc;
    if ((rc = ms_cmd_open_geo(&geo, ctx)) != MS_EXIT_OK)
        return rc;
    if ((rc = ms_cmd_open_db(&db, ctx, MS_DB_READONLY)) != MS_EXIT_OK)
        return rc;
    memset(&req, 0, sizeof(req));
    memset(&og, 0, sizeof(og));
    req.path = o.path;
    req.client_ip = o.ip ? o.ip : "0.0.0.0";
    req.country = o.country;
    req.https = o.https;
    req.spread = o.spread;
    req.explain = 1;
    if (o.root) {
        origin_check(&og, &o, ctx->pool);
        req.have_stat = !og.error;
        req.size = og.finfo.size;
        req.mtime = apr_time_sec(og.finfo.mtime);
    }
    if (og.error) {
        /* no file for the module to answer: httpd's own 404 (or index) */
        a = apr_pcalloc(ctx->pool, sizeof(*a));
        ms_client_locate(&a->client, geo, req.client_ip, req.country, req.https);
        a->result = MS_RESULT_LOCAL;
    }
    else {
        ms_lookup(&a, db, geo, &req, ctx->pool);
        /* as the module: a path not indexed that links to a file under the
         * root is answered as that file */
        if (og.link_to && a->result == MS_RESULT_NOMIRROR && !a->file) {
            req.path = og.link_to;
            followed = 1;
            ms_lookup(&a, db, geo, &req, ctx->pool);
        }
    }
    if (o.json)
        rc = json_answer(a, &o, &og, followed, ctx->pool);
    else
        text_answer(a, &o, &og, followed, ctx->pool);
    if (rc == MS_EXIT_OK && a->result == MS_RESULT_ERROR)
        rc = ms_cmd_fail(MS_EXIT_FAIL, "explain: %s", a->error ? a->error : "lookup failed");
    ms_db_close(db);
    return rc;
}
