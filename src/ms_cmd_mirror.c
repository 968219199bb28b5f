/* ms_cmd_mirror.c — `mirrorsel mirror add|edit|enable|disable|remove`: the
 * mirror registry. (list and show are in ms_cmd_mirror_show.c.)
 *
 * Every option is checked before the database is touched; a bad value is one
 * line on stderr naming the option and what is wrong, exit 2. Every write is
 * one transaction, so a failed command leaves the database as it was. */
#include <ctype.h>
#include <getopt.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <apr_uri.h>

#include "ms_cmd.h"
#include "ms_cmd_scan.h"
#include "ms_country.h"
#include "ms_net.h"
#include "ms_path.h"

/* What the options of add/edit said. have_* tells which were given. */
typedef struct mirror_opts {
    const char *http_url, *https_url;  /* normalised */
    const char *first_url;             /* the first --url given */
    const char *first_host;            /* its host, for the geo lookup */
    int have_urls;
    const char *scan_url;              /* normalised, or NULL */
    const char *country;               /* upper case; "" to clear */
    int have_country;
    const char *continent;             /* upper case; "" to clear */
    int have_continent;
    double lat, lon;
    int have_lat, have_lon, no_coords;
    uint32_t asn;
    int have_asn;
    apr_array_header_t *prefixes;      /* ms_cidr_t, unique */
    int have_prefixes;
    int weight, have_weight;
    int64_t max_size;
    int have_max_size;
    int scope, have_scope;
    const char *other;                 /* "AT,CH" or "" */
    int have_other;
    int fallback;                      /* -1: not given */
    int enabled;                       /* -1: not given */
    ms_cmd_scanopts_t scan;            /* --ca-file, --ssh-key, --known-hosts */
} mirror_opts_t;

enum {
    OPT_URL = 0x100, OPT_SCAN_URL, OPT_COUNTRY, OPT_CONTINENT, OPT_LAT, OPT_LON,
    OPT_NO_COORDS, OPT_ASN, OPT_PREFIX, OPT_CLEAR_PREFIXES, OPT_WEIGHT,
    OPT_MAX_SIZE, OPT_SCOPE, OPT_OTHER, OPT_FALLBACK, OPT_NO_FALLBACK,
    OPT_DISABLED, OPT_ENABLED,
};

static void mirror_usage(FILE *out)
{
    fputs(
"usage: mirrorsel mirror add NAME --url URL [--url URL] [options]\n"
"       mirrorsel mirror edit NAME [options]\n"
"       mirrorsel mirror enable|disable|remove NAME\n"
"       mirrorsel mirror list [--json]\n"
"       mirrorsel mirror show NAME [--json]\n"
"\n"
"NAME is 1-64 characters of A-Z a-z 0-9 . _ -\n"
"options of add and edit:\n"
" --url URL                 base URL for users, http:// and/or https:// (one\n"
"                           of each); on edit, the URLs given replace the\n"
"                           mirror's URLs\n"
" --scan-url URL            where the scanner lists the tree (rsync ftp ftps http\n"
"                           https sftp); default: the first --url\n"
" --country CC              ISO 3166-1 country code\n"
" --continent CC            AF AN AS EU NA OC SA (default: the country's)\n"
" --lat DEG --lon DEG       coordinates (given together)\n"
" --asn N                   AS number\n"
"                           Location options left out of add are filled from the\n"
"                           geo databases (--geoip, --asn-db) by the URL's host.\n"
" --prefix CIDR             client network the mirror serves first (repeatable;\n"
"                           on edit, replaces the mirror's prefixes)\n"
" --weight N                share of traffic in its band, 0-1000000 (default 100)\n"
" --max-size BYTES          largest file sent there, suffix K M G T (0: no limit)\n"
" --scope S                 world|continent|country|asn|prefix: the widest tier\n"
"                           it serves\n"
" --other-countries CC,CC   countries it also serves when theirs has no mirror\n"
" --fallback                assumed to hold everything; used when no mirror\n"
"                           qualifies\n"
" --disabled                registered but not used\n"
"options of edit only:\n"
" --no-fallback             no longer a fallback mirror\n"
" --enabled                 used again (as mirror enable)\n"
" --clear-prefixes          drop the mirror's prefixes\n"
" --no-coords               drop the coordinates (distance is then unknown)\n"
"scan and probe settings (the file must be readable now; '' clears on edit):\n",
          out);
    fputs(ms_cmd_scanopts_usage, out);
}

/* --- validating single values --- */

static int name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n < 1 || n > 64)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._-") == n;
}

int ms_cmd_mirror_name_check(const char *cmd, const char *name)
{
    if (!name_valid(name))
        return ms_cmd_fail(MS_EXIT_USAGE, "%s: '%s': not a valid mirror name (1-64 "
                           "characters of A-Z a-z 0-9 . _ -)", cmd, name);
    return MS_EXIT_OK;
}

static int is_hex(int c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* The characters a base URL may hold: printable ASCII without space and
 * without the ones RFC 3986 never allows; '%' only as %XX. */
static const char *url_chars_check(const char *s)
{
    const unsigned char *c;

    for (c = (const unsigned char *)s; *c; c++) {
        if (*c <= 0x20 || *c >= 0x7f)
            return "holds a space, a control or a non-ASCII byte (percent-encode it)";
        if (strchr("\"<>\\^`{|}", *c))
            return "holds a character not allowed in URLs";
        if (*c == '%' && (!is_hex(c[1]) || !is_hex(c[2])))
            return "holds a '%' that is not followed by two hex digits";
    }
    return NULL;
}

static const char *host_check(const char *host)
{
    ms_addr_t a;

    if (strchr(host, ':'))
        return (ms_addr_parse(&a, host) == 0) ? NULL : "has a malformed IPv6 address";
    if (strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789.-_") != strlen(host))
        return "has a malformed host name";
    return NULL;
}

static const char *path_check(const char *path)
{
    const char *seg = path;
    size_t n;

    while (*seg) {
        seg += (*seg == '/');
        n = strcspn(seg, "/");
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return "has a '.' or '..' path segment";
        seg += n;
    }
    return NULL;
}

static const char *port_check(const char *port)
{
    int64_t v;

    if (!port || !*port)
        return NULL;
    if (strspn(port, "0123456789") != strlen(port) || ms_cmd_parse_int(&v, port, 1, 65535))
        return "has a bad port";
    return NULL;
}

/* The URL's scheme, lower-cased, if it is one of the allowed; else NULL. */
static const char *scheme_check(const char *scheme, int scan, apr_pool_t *p)
{
    static const char *const user_schemes[] = { "http", "https", NULL };
    static const char *const scan_schemes[] = {
        "rsync", "ftp", "ftps", "http", "https", "sftp", NULL };
    const char *const *sch;
    char *lower = apr_pstrdup(p, scheme), *c;

    for (c = lower; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    for (sch = scan ? scan_schemes : user_schemes; *sch; sch++)
        if (!strcmp(*sch, lower))
            return lower;
    return NULL;
}

/* scheme://[user[:password]@]host[:port]/path/ with the host lower-cased
 * (and bracketed when IPv6) and the path ending in '/'. */
static const char *url_rebuild(const char *scheme, const apr_uri_t *u, const char *host,
                               apr_pool_t *p)
{
    const char *auth = "", *path = (u->path && *u->path) ? u->path : "/";
    int v6 = strchr(host, ':') != NULL;
    int port = u->port_str && *u->port_str;

    if (u->user || u->password)
        auth = apr_pstrcat(p, u->user ? u->user : "", u->password ? ":" : "",
                           u->password ? u->password : "", "@", NULL);
    return apr_pstrcat(p, scheme, "://", auth, v6 ? "[" : "", host, v6 ? "]" : "",
                       port ? ":" : "", port ? u->port_str : "", path,
                       path[strlen(path) - 1] == '/' ? "" : "/", NULL);
}

/* What a URL of scheme may hold of a login; NULL when it may hold what it
 * does. A download URL holds none (it is handed to clients). A scan URL:
 * rsync, ftp and ftps a user and a password (the scanner logs in with them);
 * sftp only the user (the login is the key of --ssh-key: a password would
 * be ignored, so it is refused rather than stored and shown to nobody);
 * http and https none (the listing is the mirror's public tree, a scan URL
 * defaults to a download URL, and Basic credentials would go with every
 * request, over plain http in clear). */
const char *ms_cmd_login_check(const char *scheme, const apr_uri_t *u, int scan)
{
    if (!u->user && !u->password)
        return NULL;
    if (!scan)
        return "must not hold a user name or password";
    if (!strcmp(scheme, "sftp"))
        return u->password ? "must not hold a password: an sftp:// scan URL logs in with "
                             "the key of --ssh-key (give only the user, sftp://USER@HOST/)"
                           : NULL;
    if (!strcmp(scheme, "http") || !strcmp(scheme, "https"))
        return "must not hold a user name or password: only rsync://, ftp:// and ftps:// "
               "scan URLs carry a login (an http(s) listing must be open to the scanner)";
    return NULL;
}

/* Check a URL and normalise it (url_rebuild). scan: the scan URL (more
 * schemes, logins as ms_cmd_login_check allows). Returns NULL and sets *out and
 * *host, or returns what is wrong. */
static const char *url_check(const char **out, const char **host, const char *s,
                             int scan, apr_pool_t *p)
{
    const char *why, *scheme;
    apr_uri_t u;
    char *h;

    if ((why = url_chars_check(s)) != NULL)
        return why;
    memset(&u, 0, sizeof(u));
    if (apr_uri_parse(p, s, &u) != APR_SUCCESS || !u.scheme)
        return "is not an absolute URL";
    if (!(scheme = scheme_check(u.scheme, scan, p)))
        return scan ? "scheme must be one of rsync ftp ftps http https sftp"
                    : "scheme must be http or https";
    if (!u.hostname || !*u.hostname || !u.hostinfo)
        return "has no host";
    if (u.query)
        return "must not have a query ('?')";
    if (u.fragment)
        return "must not have a fragment ('#')";
    if ((why = ms_cmd_login_check(scheme, &u, scan)) != NULL)
        return why;
    if ((why = port_check(u.port_str)) != NULL || (why = host_check(u.hostname)) != NULL
        || (why = path_check(u.path ? u.path : "")) != NULL)
        return why;
    for (*host = h = apr_pstrdup(p, u.hostname); *h; h++)
        *h = (char)tolower((unsigned char)*h);
    *out = url_rebuild(scheme, &u, *host, p);
    return NULL;
}

/* --- parsing the options of add and edit --- */

static int opt_url(mirror_opts_t *o, const char *cmd, const char *arg, apr_pool_t *p)
{
    const char *url, *host, *why, **slot;
    int https;

    if ((why = url_check(&url, &host, arg, 0, p)) != NULL)
        return ms_cmd_fail(MS_EXIT_USAGE, "%s: --url '%s': %s", cmd,
                           ms_url_hide_password(arg, arg, p), why);
    https = !strncmp(url, "https:", 6);
    slot = https ? &o->https_url : &o->http_url;
    if (*slot)
        return ms_cmd_fail(MS_EXIT_USAGE, "%s: --url '%s': a second %s URL (at most "
                           "one http and one https)", cmd, ms_url_hide_password(arg, arg, p),
                           https ? "https" : "http");
    *slot = url;
    if (!o->first_url) {
        o->first_url = url;
        o->first_host = host;
    }
    o->have_urls = 1;
    return MS_EXIT_OK;
}

static int opt_scan_url(mirror_opts_t *o, const char *cmd, const char *arg, apr_pool_t *p)
{
    const char *why, *host;

    if ((why = url_check(&o->scan_url, &host, arg, 1, p)) != NULL)
        return ms_cmd_fail(MS_EXIT_USAGE, "%s: --scan-url '%s': %s", cmd,
                           ms_url_hide_password(arg, arg, p), why);
    return MS_EXIT_OK;
}

static int opt_prefix(mirror_opts_t *o, const char *cmd, const char *arg)
{
    ms_cidr_t c;
    char a[64], b[64];
    int i;

    if (ms_cidr_parse(&c, arg) != 0)
        return ms_cmd_fail(MS_EXIT_USAGE, "%s: --prefix '%s': not a CIDR prefix "
                           "(a.b.c.d/n or x:y::/n, with the host bits zero)", cmd, arg);
    ms_cidr_format(&c, a, sizeof(a));
    for (i = 0; i < o->prefixes->nelts; i++) {
        ms_cidr_format(&APR_ARRAY_IDX(o->prefixes, i, ms_cidr_t), b, sizeof(b));
        if (!strcmp(a, b))
            return MS_EXIT_OK;      /* given twice: once is enough */
    }
    APR_ARRAY_PUSH(o->prefixes, ms_cidr_t) = c;
    o->have_prefixes = 1;
    return MS_EXIT_OK;
}

/* "at, ch,AT" -> "AT,CH"; "" clears. */
static int opt_other(mirror_opts_t *o, const char *cmd, const char *arg, apr_pool_t *p)
{
    apr_array_header_t *codes = apr_array_make(p, 4, sizeof(const char *));
    char *list = apr_pstrdup(p, arg), *tok, *last;
    const char *cc;
    int i;

    for (tok = apr_strtok(list, ", ", &last); tok; tok = apr_strtok(NULL, ", ", &last)) {
        if (!(cc = ms_cmd_country(tok, p)))
            return ms_cmd_fail(MS_EXIT_USAGE, "%s: --other-countries: '%s' is not an "
                               "ISO 3166-1 country code", cmd, tok);
        for (i = 0; i < codes->nelts && strcmp(APR_ARRAY_IDX(codes, i, const char *), cc); i++)
            ;
        if (i == codes->nelts)
            APR_ARRAY_PUSH(codes, const char *) = cc;
    }
    o->other = apr_array_pstrcat(p, codes, ',');
    o->have_other = 1;
    return MS_EXIT_OK;
}

static int opt_country(const char **out, const char *cmd, const char *arg, apr_pool_t *p)
{
    if (!*arg) {
        *out = "";
        return MS_EXIT_OK;
    }
    if (!(*out = ms_cmd_country(arg, p)))
        return ms_cmd_fail(MS_EXIT_USAGE, "%s: --country '%s': not an ISO 3166-1 "
                           "country code", cmd, arg);
    return MS_EXIT_OK;
}

static int opt_continent(const char **out, const char *cmd, const char *arg, apr_pool_t *p)
{
    char *cc;

    if (*arg && (strlen(arg) != 2 || !ms_continent_valid(arg)))
        return ms_cmd_fail(MS_EXIT_USAGE, "%s: --continent '%s': not one of "
                           "AF AN AS EU NA OC SA", cmd, arg);
    cc = apr_pstrdup(p, arg);
    if (*cc) {
        cc[0] = (char)toupper((unsigned char)cc[0]);
        cc[1] = (char)toupper((unsigned char)cc[1]);
    }
    *out = cc;
    return MS_EXIT_OK;
}

/* Numbers and words. Returns an MS_EXIT_* code. */
static int opt_value(mirror_opts_t *o, const char *cmd, int c, const char *arg)
{
    int64_t v;

    switch (c) {
    case OPT_LAT:
        if (ms_cmd_parse_double(&o->lat, arg, -90, 90))
            return ms_cmd_fail(MS_EXIT_USAGE, "%s: --lat '%s': not a latitude in "
                               "[-90, 90]", cmd, arg);
        o->have_lat = 1;
        break;
    case OPT_LON:
        if (ms_cmd_parse_double(&o->lon, arg, -180, 180))
            return ms_cmd_fail(MS_EXIT_USAGE, "%s: --lon '%s': not a longitude in "
                               "[-180, 180]", cmd, arg);
        o->have_lon = 1;
        break;
    case OPT_ASN:
        if (ms_cmd_parse_int(&v, (arg[0] | 0x20) == 'a' && (arg[1] | 0x20) == 's'
                             ? arg + 2 : arg, 0, 4294967295LL))
            return ms_cmd_fail(MS_EXIT_USAGE, "%s: --asn '%s': not an AS number "
                               "(0-4294967295)", cmd, arg);
        o->asn = (uint32_t)v;
        o->have_asn = 1;
        break;
    case OPT_WEIGHT:
        if (ms_cmd_parse_int(&v, arg, 0, 1000000))
            return ms_cmd_fail(MS_EXIT_USAGE, "%s: --weight '%s': not an integer "
                               "from 0 to 1000000", cmd, arg);
        o->weight = (int)v;
        o->have_weight = 1;
        break;
    case OPT_MAX_SIZE:
        if (ms_cmd_parse_size(&o->max_size, arg))
            return ms_cmd_fail(MS_EXIT_USAGE, "%s: --max-size '%s': not a byte count "
                               "(an integer >= 0, optionally with K, M, G or T)", cmd, arg);
        o->have_max_size = 1;
        break;
    case OPT_SCOPE:
        if ((o->scope = ms_scope_parse(arg)) < 0)
            return ms_cmd_fail(MS_EXIT_USAGE, "%s: --scope '%s': not one of "
                               "world continent country asn prefix", cmd, arg);
        o->have_scope = 1;
        break;
    }
    return MS_EXIT_OK;
}

static int opt_one(mirror_opts_t *o, const char *cmd, int c, const char *arg, apr_pool_t *p)
{
    switch (c) {
    case OPT_URL:            return opt_url(o, cmd, arg, p);
    case OPT_SCAN_URL:       return opt_scan_url(o, cmd, arg, p);
    case OPT_PREFIX:         return opt_prefix(o, cmd, arg);
    case OPT_OTHER:          return opt_other(o, cmd, arg, p);
    case OPT_COUNTRY:
        o->have_country = 1;
        return opt_country(&o->country, cmd, arg, p);
    case OPT_CONTINENT:
        o->have_continent = 1;
        return opt_continent(&o->continent, cmd, arg, p);
    case OPT_NO_COORDS:      o->no_coords = 1;      break;
    case OPT_CLEAR_PREFIXES: o->have_prefixes = 1;  break;
    case OPT_FALLBACK:       o->fallback = 1;       break;
    case OPT_NO_FALLBACK:    o->fallback = 0;       break;
    case OPT_DISABLED:       o->enabled = 0;        break;
    case OPT_ENABLED:        o->enabled = 1;        break;
    default:                 return opt_value(o, cmd, c, arg);
    }
    return MS_EXIT_OK;
}

/* Checks between options, once all are read. */
static int opts_check(const mirror_opts_t *o, const char *cmd)
{
    if (o->have_lat != o->have_lon)
        return ms_cmd_fail(MS_EXIT_USAGE, "%s: --lat and --lon go together", cmd);
    if (o->have_lat && o->no_coords)
        return ms_cmd_fail(MS_EXIT_USAGE, "%s: --no-coords contradicts --lat/--lon", cmd);
    return MS_EXIT_OK;
}

#define OPTS_HELP (-1)

static int opts_parse(mirror_opts_t *o, const char **name, ms_cmd_ctx_t *ctx,
                      const char *cmd, int argc, char **argv)
{
    static const struct option longopts[] = {
        MS_GLOBAL_LONGOPTS,
        { "url",             required_argument, NULL, OPT_URL },
        { "scan-url",        required_argument, NULL, OPT_SCAN_URL },
        { "country",         required_argument, NULL, OPT_COUNTRY },
        { "continent",       required_argument, NULL, OPT_CONTINENT },
        { "lat",             required_argument, NULL, OPT_LAT },
        { "lon",             required_argument, NULL, OPT_LON },
        { "no-coords",       no_argument,       NULL, OPT_NO_COORDS },
        { "asn",             required_argument, NULL, OPT_ASN },
        { "prefix",          required_argument, NULL, OPT_PREFIX },
        { "clear-prefixes",  no_argument,       NULL, OPT_CLEAR_PREFIXES },
        { "weight",          required_argument, NULL, OPT_WEIGHT },
        { "max-size",        required_argument, NULL, OPT_MAX_SIZE },
        { "scope",           required_argument, NULL, OPT_SCOPE },
        { "other-countries", required_argument, NULL, OPT_OTHER },
        { "fallback",        no_argument,       NULL, OPT_FALLBACK },
        { "no-fallback",     no_argument,       NULL, OPT_NO_FALLBACK },
        { "disabled",        no_argument,       NULL, OPT_DISABLED },
        { "enabled",         no_argument,       NULL, OPT_ENABLED },
        MS_SCAN_LONGOPTS,
        { "help",            no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c, rc;

    memset(o, 0, sizeof(*o));
    o->prefixes = apr_array_make(ctx->pool, 4, sizeof(ms_cidr_t));
    o->fallback = o->enabled = -1;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ms_cmd_global_opt(ctx, c, optarg))
            continue;
        if (c == 'h') {
            mirror_usage(stdout);
            return OPTS_HELP;
        }
        if (c == '?' || c == ':')
            return ms_cmd_bad_opt(cmd, c, argv);
        if ((rc = ms_cmd_scanopt(&o->scan, c, optarg, ctx->pool)) != 0) {
            if (rc < 0)
                return MS_EXIT_USAGE;       /* message printed */
            continue;
        }
        if ((rc = opt_one(o, cmd, c, optarg, ctx->pool)) != MS_EXIT_OK)
            return rc;
    }
    if (optind != argc - 1)
        return ms_cmd_fail(MS_EXIT_USAGE, optind >= argc ? "%s: the mirror's NAME is missing"
                           : "%s: one mirror NAME expected", cmd);
    *name = argv[optind];
    if ((rc = ms_cmd_mirror_name_check(cmd, *name)) != MS_EXIT_OK)
        return rc;
    return opts_check(o, cmd);
}

/* --- applying options to a mirror --- */

static void set_code(char dst[3], const char *cc)
{
    apr_cpystrn(dst, cc ? cc : "", 3);
}

/* On edit, a scan URL that was defaulted to a user URL follows the new URLs. */
static void apply_urls(ms_mirror_t *m, const mirror_opts_t *o)
{
    int defaulted = m->scan_url
        && ((m->http_url && !strcmp(m->scan_url, m->http_url))
            || (m->https_url && !strcmp(m->scan_url, m->https_url)));

    if (o->have_urls) {
        m->http_url = o->http_url;
        m->https_url = o->https_url;
        if (defaulted || !m->scan_url)
            m->scan_url = o->first_url;
    }
    if (o->scan_url)
        m->scan_url = o->scan_url;
}

static void apply_location(ms_mirror_t *m, const mirror_opts_t *o)
{
    if (o->have_country) {
        set_code(m->country, o->country);
        if (!o->have_continent && *o->country)
            set_code(m->continent, ms_country_continent(o->country));
    }
    if (o->have_continent)
        set_code(m->continent, o->continent);
    if (o->no_coords)
        m->has_coords = 0;
    if (o->have_lat) {
        m->has_coords = 1;
        m->lat = o->lat;
        m->lon = o->lon;
    }
    if (o->have_asn)
        m->asn = o->asn;
}

static void opts_apply(ms_mirror_t *m, const mirror_opts_t *o)
{
    apply_urls(m, o);
    apply_location(m, o);
    if (o->have_prefixes)
        m->prefixes = o->prefixes;
    if (o->have_weight)
        m->weight = o->weight;
    if (o->have_max_size)
        m->max_size = o->max_size;
    if (o->have_scope)
        m->scope = o->scope;
    if (o->have_other)
        m->other_countries = o->other;
    if (o->fallback >= 0)
        m->fallback = o->fallback;
    if (o->enabled >= 0)
        m->enabled = o->enabled;
}

static int opts_empty(const mirror_opts_t *o)
{
    return !(o->have_urls || o->scan_url || o->have_country || o->have_continent
             || o->have_lat || o->no_coords || o->have_asn || o->have_prefixes
             || o->have_weight || o->have_max_size || o->have_scope || o->have_other
             || o->fallback >= 0 || o->enabled >= 0 || o->scan.given);
}

static ms_mirror_t *mirror_new(const char *name, apr_pool_t *p)
{
    ms_mirror_t *m = apr_pcalloc(p, sizeof(*m));

    m->name = name;
    m->prefixes = apr_array_make(p, 1, sizeof(ms_cidr_t));
    m->weight = 100;
    m->scope = MS_SCOPE_WORLD;
    m->other_countries = "";
    m->enabled = 1;
    return m;
}

/* --- filling the location from the geo databases --- */

/* Resolve host and look each address up until one is known. Returns NULL
 * and fills *out, or says why nothing was found. */
static const char *locate_host(ms_location_t *out, const ms_geo_t *geo, const char *host,
                               apr_pool_t *p)
{
    struct addrinfo hints, *res = NULL, *ai;
    char buf[INET6_ADDRSTRLEN];
    const void *sa;
    ms_addr_t addr;
    ms_geo_error_t gerr;
    int rc;
    const char *why;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0)
        return apr_psprintf(p, "cannot resolve %s: %s", host, gai_strerror(rc));
    why = apr_psprintf(p, "%s is not in the geo databases", host);
    for (ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET)
            sa = &((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr;
        else if (ai->ai_family == AF_INET6)
            sa = &((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
        else
            continue;
        if (!inet_ntop(ai->ai_family, sa, buf, sizeof(buf)) || ms_addr_parse(&addr, buf))
            continue;
        if (ms_geo_lookup(out, geo, &addr, &gerr) != 0) {
            why = apr_psprintf(p, "geo database %s: %s", gerr.path, gerr.reason);
            break;
        }
        if (out->country[0] || out->has_coords || out->asn) {
            why = NULL;
            break;
        }
    }
    freeaddrinfo(res);
    return why;
}

/* What add left out, filled from loc; says what stays unknown. */
static int fill_from(ms_mirror_t *m, const mirror_opts_t *o, const ms_location_t *loc)
{
    const char *cont;
    int coords_ok = 1;

    if (!o->have_country && loc->country[0])
        set_code(m->country, loc->country);
    if (!o->have_continent && !o->have_country) {
        cont = loc->continent[0] ? loc->continent
             : m->country[0] ? ms_country_continent(m->country) : "";
        set_code(m->continent, cont);
    }
    if (o->have_country && o->country[0] && loc->country[0]
        && strcmp(o->country, loc->country)) {
        coords_ok = 0;
        ms_cmd_warn("mirror %s: the geo databases place %s in %s, not %s: its "
                    "coordinates are left unknown", m->name, o->first_host,
                    loc->country, o->country);
    }
    if (!o->have_lat && !o->no_coords && loc->has_coords && coords_ok) {
        m->has_coords = 1;
        m->lat = loc->lat;
        m->lon = loc->lon;
    }
    if (!o->have_asn && loc->asn)
        m->asn = loc->asn;
    return coords_ok;
}

static void warn_unknown(const ms_mirror_t *m, const mirror_opts_t *o, int coords_ok,
                         const char *why, apr_pool_t *p)
{
    const char *miss = "";

    if (!o->have_country && !m->country[0])
        miss = apr_pstrcat(p, miss, ", country", NULL);
    if (!o->have_continent && !o->have_country && !m->continent[0])
        miss = apr_pstrcat(p, miss, ", continent", NULL);
    if (!o->have_lat && !o->no_coords && !m->has_coords && coords_ok)
        miss = apr_pstrcat(p, miss, ", coordinates", NULL);
    if (!o->have_asn && !m->asn)
        miss = apr_pstrcat(p, miss, ", asn", NULL);
    if (*miss)
        ms_cmd_warn("mirror %s: %s left unknown (%s)", m->name, miss + 2, why);
}

static int locate_fill(ms_mirror_t *m, const mirror_opts_t *o, ms_cmd_ctx_t *ctx)
{
    ms_geo_t *geo = NULL;
    ms_location_t loc;
    const char *why;
    int rc, coords_ok;

    if (o->have_country && (o->have_lat || o->no_coords) && o->have_asn)
        return MS_EXIT_OK;
    if ((rc = ms_cmd_open_geo(&geo, ctx)) != MS_EXIT_OK)
        return rc;
    memset(&loc, 0, sizeof(loc));
    if (!geo)
        why = "no geo database given: --geoip, --asn-db";
    else
        why = locate_host(&loc, geo, o->first_host, ctx->pool);
    coords_ok = fill_from(m, o, &loc);
    warn_unknown(m, o, coords_ok, why ? why : apr_psprintf(ctx->pool, "the geo databases know "
                                                "no more of %s", o->first_host), ctx->pool);
    return MS_EXIT_OK;
}

/* --- one change, one transaction --- */

/* Called inside the transaction with the mirror named, or NULL when there is
 * none; prints its own errors and returns an MS_EXIT_* code. */
typedef int change_fn(ms_db_t *db, ms_mirror_t *m, const char *name, void *baton);

static int db_fail(ms_db_t *db)
{
    return ms_cmd_fail(MS_EXIT_FAIL, "%s", ms_db_errmsg(db));
}

static int not_found(const char *name)
{
    return ms_cmd_fail(MS_EXIT_FAIL, "mirror %s: no such mirror", name);
}

static int mirror_txn(ms_db_t *db, const char *name, change_fn *fn, void *baton,
                      apr_pool_t *p)
{
    ms_mirror_t *m = NULL;
    int rc;

    if (ms_db_begin(db) != MS_OK)
        return db_fail(db);
    rc = ms_db_mirror_get(&m, db, name, p);
    if (rc != MS_OK && rc != MS_NOTFOUND) {
        rc = db_fail(db);
        goto leave;
    }
    if ((rc = fn(db, rc == MS_OK ? m : NULL, name, baton)) != MS_EXIT_OK)
        goto leave;
    if (ms_db_commit(db) != MS_OK)
        rc = db_fail(db);
leave:
    if (rc != MS_EXIT_OK)
        ms_db_rollback(db);
    return rc;
}

/* What add stores: the new mirror and its scan settings. */
typedef struct add_baton {
    ms_mirror_t *m;
    const ms_cmd_scanopts_t *scan;
} add_baton_t;

/* Once mirror name is added or changed: say so when it will be scanned over
 * sftp:// with no known_hosts of its own (the scan then checks the host key
 * against the scanning user's ~/.ssh/known_hosts, and fails when that does
 * not hold it). Nothing when it cannot be read back: the change is made. */
static void warn_sftp_unchecked(ms_db_t *db, const char *name, apr_pool_t *p)
{
    ms_scan_conf_t *conf;
    ms_mirror_t *m;

    if (ms_db_mirror_get(&m, db, name, p) != MS_OK || !m->scan_url
        || strncasecmp(m->scan_url, "sftp:", 5) != 0
        || ms_db_scan_conf_get(&conf, db, m->id, p) != MS_OK)
        return;
    if (!conf->known_hosts || !*conf->known_hosts)
        ms_cmd_warn("mirror %s: an sftp:// scan URL without --known-hosts: scans check "
                    "the host key against ~/.ssh/known_hosts of the user who runs them",
                    name);
}

static int change_add(ms_db_t *db, ms_mirror_t *old, const char *name, void *baton)
{
    add_baton_t *b = baton;

    if (old)
        return ms_cmd_fail(MS_EXIT_FAIL, "mirror %s exists", name);
    if (ms_db_mirror_insert(db, b->m) != MS_OK
        || ms_cmd_scanopts_store(db, b->m->id, b->scan) != MS_OK)
        return db_fail(db);
    return MS_EXIT_OK;
}

static int change_edit(ms_db_t *db, ms_mirror_t *m, const char *name, void *baton)
{
    const mirror_opts_t *o = baton;

    if (!m)
        return not_found(name);
    opts_apply(m, o);
    if (ms_db_mirror_update(db, m) != MS_OK
        || ms_cmd_scanopts_store(db, m->id, &o->scan) != MS_OK)
        return db_fail(db);
    return MS_EXIT_OK;
}

static int change_enable(ms_db_t *db, ms_mirror_t *m, const char *name, void *baton)
{
    if (!m)
        return not_found(name);
    m->enabled = *(const int *)baton;
    return ms_db_mirror_update(db, m) == MS_OK ? MS_EXIT_OK : db_fail(db);
}

static int change_remove(ms_db_t *db, ms_mirror_t *m, const char *name, void *baton)
{
    if (!m)
        return not_found(name);
    return ms_db_mirror_remove(db, m->id) == MS_OK ? MS_EXIT_OK : db_fail(db);
}

/* --- the commands --- */

static const char *fmt_or_dash(const char *s)
{
    return (s && *s) ? s : "-";
}

static int precheck_absent(ms_db_t *db, const char *name, apr_pool_t *p)
{
    ms_mirror_t *m = NULL;

    switch (ms_db_mirror_get(&m, db, name, p)) {
    case MS_NOTFOUND: return MS_EXIT_OK;
    case MS_OK:       return ms_cmd_fail(MS_EXIT_FAIL, "mirror %s exists", name);
    default:          return db_fail(db);
    }
}

static int mirror_add(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    mirror_opts_t o;
    const char *name = NULL;
    ms_mirror_t *m;
    ms_db_t *db = NULL;
    add_baton_t b;
    int rc;

    if ((rc = opts_parse(&o, &name, ctx, "mirror add", argc, argv)) != MS_EXIT_OK)
        return rc == OPTS_HELP ? MS_EXIT_OK : rc;
    if (!o.have_urls)
        return ms_cmd_fail(MS_EXIT_USAGE, "mirror add: %s: --url is required", name);
    m = mirror_new(name, ctx->pool);
    opts_apply(m, &o);
    b.m = m;
    b.scan = &o.scan;
    if ((rc = ms_cmd_open_db(&db, ctx, MS_DB_READWRITE)) != MS_EXIT_OK)
        return rc;
    /* Said before the geo lookup; said again, race-free, in the transaction. */
    if ((rc = precheck_absent(db, name, ctx->pool)) == MS_EXIT_OK
        && (rc = locate_fill(m, &o, ctx)) == MS_EXIT_OK
        && (rc = mirror_txn(db, name, change_add, &b, ctx->pool)) == MS_EXIT_OK) {
        printf("added mirror %s: country %s, continent %s, coordinates %s, asn %s\n",
               name, fmt_or_dash(m->country), fmt_or_dash(m->continent),
               m->has_coords ? apr_psprintf(ctx->pool, "%.4f,%.4f", m->lat, m->lon) : "-",
               m->asn ? apr_psprintf(ctx->pool, "%u", (unsigned)m->asn) : "-");
        warn_sftp_unchecked(db, name, ctx->pool);
    }
    ms_db_close(db);
    return rc;
}

static int mirror_edit(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    mirror_opts_t o;
    const char *name = NULL;
    ms_db_t *db = NULL;
    int rc;

    if ((rc = opts_parse(&o, &name, ctx, "mirror edit", argc, argv)) != MS_EXIT_OK)
        return rc == OPTS_HELP ? MS_EXIT_OK : rc;
    if (opts_empty(&o))
        return ms_cmd_fail(MS_EXIT_USAGE, "mirror edit: %s: nothing to change", name);
    if ((rc = ms_cmd_open_db(&db, ctx, MS_DB_READWRITE)) != MS_EXIT_OK)
        return rc;
    if ((rc = mirror_txn(db, name, change_edit, &o, ctx->pool)) == MS_EXIT_OK) {
        printf("updated mirror %s\n", name);
        warn_sftp_unchecked(db, name, ctx->pool);
    }
    ms_db_close(db);
    return rc;
}

/* Parse "CMD NAME" with only the global options and --help. */
static int name_only(const char **name, ms_cmd_ctx_t *ctx, const char *cmd,
                     int argc, char **argv)
{
    static const struct option longopts[] = {
        MS_GLOBAL_LONGOPTS,
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ms_cmd_global_opt(ctx, c, optarg))
            continue;
        if (c == 'h') {
            mirror_usage(stdout);
            return OPTS_HELP;
        }
        return ms_cmd_bad_opt(cmd, c, argv);
    }
    if (optind != argc - 1)
        return ms_cmd_fail(MS_EXIT_USAGE, optind >= argc ? "%s: the mirror's NAME is missing"
                           : "%s: one mirror NAME expected", cmd);
    *name = argv[optind];
    return ms_cmd_mirror_name_check(cmd, *name);
}

static int mirror_simple(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    const char *name = NULL, *cmd = apr_pstrcat(ctx->pool, "mirror ", argv[0], NULL);
    int enable = !strcmp(argv[0], "enable");
    int removing = !strcmp(argv[0], "remove");
    ms_db_t *db = NULL;
    int rc;

    if ((rc = name_only(&name, ctx, cmd, argc, argv)) != MS_EXIT_OK)
        return rc == OPTS_HELP ? MS_EXIT_OK : rc;
    if ((rc = ms_cmd_open_db(&db, ctx, MS_DB_READWRITE)) != MS_EXIT_OK)
        return rc;
    rc = mirror_txn(db, name, removing ? change_remove : change_enable, &enable, ctx->pool);
    if (rc == MS_EXIT_OK)
        printf("%s mirror %s\n", removing ? "removed" : enable ? "enabled" : "disabled", name);
    ms_db_close(db);
    return rc;
}

int ms_cmd_mirror(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct {
        const char *name;
        ms_cmd_fn *fn;
    } subs[] = {
        { "add",     mirror_add },
        { "edit",    mirror_edit },
        { "enable",  mirror_simple },
        { "disable", mirror_simple },
        { "remove",  mirror_simple },
        { "list",    ms_cmd_mirror_list },
        { "show",    ms_cmd_mirror_show },
    };
    size_t i;

    if (argc < 2) {
        mirror_usage(stderr);
        return MS_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        mirror_usage(stdout);
        return MS_EXIT_OK;
    }
    for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (!strcmp(argv[1], subs[i].name)) {
            optind = 0;
            return subs[i].fn(ctx, argc - 1, argv + 1);
        }
    }
    return ms_cmd_fail(MS_EXIT_USAGE, "mirror: unknown command '%s' (see mirrorsel "
                       "mirror --help)", argv[1]);
}
