/* mod_mirrorsel.c — the httpd glue: directives, per-process state, handler.
 *
 * Nothing clever lives here. The handler finds the origin file a request is
 * about and what is wanted of it (the file itself, or a document about it:
 * FILE.meta4, FILE.mirrorlist, FILE.sha256, ?meta4, ?mirrorlist[=json], or
 * a Metalink/JSON asked for by Accept), turns that into an ms_request_t,
 * asks ms_lookup() (the same call `mirrorsel explain` makes) and turns the
 * answer into a response with the core's writers, one small function per
 * output kind: a 302 to the chosen mirror with Link and Digest headers, a
 * document, a 404 for a document about a file not in the index, or DECLINED
 * so that httpd serves the file itself. Every decision under MirrorSelEngine
 * on is made visible in MIRRORSEL_* environment variables.
 *
 * Per process: the geo databases are opened once (child_init), with a cache
 * of the mirrors' order per client location (ms_order_cache) and a watcher
 * thread keeping the view of the database (ms_view: identity, generations,
 * mirrors). The file cache (ms_cache: each file's fresh holders) lives in
 * shared memory the parent makes in post_config, one for all children. A
 * redirect whose file is in it is answered from the view and the caches
 * alone, the view's snapshot referenced until the reply is built. Otherwise
 * a database handle is taken from a resource list (each in a pool of its
 * own with its own allocator, so a handle never shares memory with another
 * thread), for one lookup, and given back once the response's headers and
 * body are built into r->pool, because the mirror snapshot that answer
 * points into belongs to the handle. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "ap_regex.h"
#include "util_script.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <apr_atomic.h>
#include <apr_fnmatch.h>
#include <apr_lib.h>
#include <apr_reslist.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "ms_buf.h"
#include "ms_cache.h"
#include "ms_order_cache.h"
#include "ms_country.h"
#include "ms_db.h"
#include "ms_geo.h"
#include "ms_links.h"
#include "ms_lookup.h"
#include "ms_meta4.h"
#include "ms_mirrorlist.h"
#include "ms_net.h"
#include "ms_path.h"
#include "ms_select.h"

/* The project's own log numbers ("MS00001: ..."); APLOGNO is httpd's. */
#define MSLOGNO(n) "MS" #n ": "

#define MS_UNSET             (-1)
#define MS_DEFAULT_MIN_SIZE  4096
#define MS_DEFAULT_LINKS     5
#define MS_DEFAULT_SPREAD_F  1.5
#define MS_DEFAULT_SPREAD_KM 250.0
#define MS_MAX_LINKS         100
/* The caches' sizes, measured with `make bench` (1,000,000 files, 500
 * mirrors, 5,000 clients; a hot set of 1,000 files takes 70 % of the
 * requests, a tail of 100,000 the rest; event MPM, 2 children):
 * - files (MirrorSelCacheFiles, shared by all children): 256 bytes an entry
 *   (the fresh holders as a bitmap of ids up to 1023, the SHA-256 as 32
 *   bytes), 4-way sets; 131,072 hold the hot set and the tail (32 MB, one
 *   copy; a child maps only the pages it touched).
 * - orders (per child): ~2 KB per location with 500 mirrors (4 bytes a
 *   mirror), made only for locations seen (the bench's clients make ~2,600);
 *   the slots are pointers, in two-way pairs, and 8192 of them overflowed
 *   for 2 % of the locations (each miss ranks every mirror anew): 32768.
 * - addresses (per child): 72 bytes a slot, two-way; 32768 slots (2.4 MB)
 *   keep the bench's 5,000 clients (direct-mapped, 8 % of them collided).
 * The rest of a child's resident memory is the mmdb (GeoLite2-City, 61 MB
 * mapped, ~54 MB of it touched by clients from 238 countries: shared page
 * cache, half of it in each child's PSS) and SQLite's page cache (1 MB per
 * handle, MS_MAX_HANDLES, and the watcher's). */
#define MS_DEFAULT_CACHE_FILES 131072        /* files remembered, all children */
#define MS_ORDER_SLOTS       32768           /* client locations remembered */
#define MS_GEO_SLOTS         32768           /* client addresses remembered */
#define MS_LOG_INTERVAL      60              /* seconds between repeats of one kind */
#define MS_PROBES_LOG_INTERVAL 600           /* ... of MS00022, a lasting condition */
#define MS_ACQUIRE_TIMEOUT   apr_time_from_sec(10)
#define MS_MAX_HANDLES       8               /* database handles per process */

APLOG_USE_MODULE(mirrorsel);

/* ------------------------------------------------------------------ */
/* configuration                                                       */

/* Per-process state of one set of server paths (shared by the virtual
 * hosts that name the same files). Set in child_init. */
typedef struct ms_proc ms_proc_t;

typedef struct ms_srv_conf {
    const char *db_path;        /* NULL: unset */
    const char *geoip_path;     /* NULL: unset */
    const char *asn_path;       /* NULL: unset */
    int cache_files;            /* MirrorSelCacheFiles (main server); MS_UNSET */
    int probe_warn_age;         /* MirrorSelProbeWarnAge (main server); MS_UNSET */
    ms_proc_t *proc;            /* per process, not merged */
} ms_srv_conf_t;

typedef struct ms_regex {
    ap_regex_t *re;             /* NULL: none */
    const char *src;            /* as configured ("none" clears); NULL: unset */
} ms_regex_t;

typedef struct ms_dir_conf {
    int engine;                 /* MS_UNSET, 0, 1 */
    const char *root;           /* "/srv/pub/": set together with engine */
    apr_off_t min_size;         /* MS_UNSET: 4096 */
    ms_regex_t file_mask;
    ms_regex_t ua_mask;
    apr_array_header_t *nets;   /* ms_cidr_t; NULL: unset; empty: "none" */
    int link_headers;           /* MS_UNSET: 5 */
    double spread_f;            /* < 0: unset */
    double spread_km;
} ms_dir_conf_t;

static void *create_srv_conf(apr_pool_t *p, server_rec *s)
{
    ms_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->cache_files = MS_UNSET;
    c->probe_warn_age = MS_UNSET;
    return c;
}

static void *merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    const ms_srv_conf_t *base = basev, *add = addv;
    ms_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->db_path    = add->db_path    ? add->db_path    : base->db_path;
    c->geoip_path = add->geoip_path ? add->geoip_path : base->geoip_path;
    c->asn_path   = add->asn_path   ? add->asn_path   : base->asn_path;
    c->cache_files = base->cache_files;
    c->probe_warn_age = base->probe_warn_age;
    return c;
}

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    ms_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->engine = MS_UNSET;
    c->min_size = MS_UNSET;
    c->link_headers = MS_UNSET;
    c->spread_f = MS_UNSET;
    c->spread_km = MS_UNSET;
    return c;
}

/* The root travels with the engine switch: a subdirectory that only tunes
 * MirrorSelMinSize keeps the root of the section that said "on". */
static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const ms_dir_conf_t *base = basev, *add = addv;
    ms_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    if (add->engine != MS_UNSET) {
        c->engine = add->engine;
        c->root = add->root;
    }
    else {
        c->engine = base->engine;
        c->root = base->root;
    }
    c->min_size = add->min_size != MS_UNSET ? add->min_size : base->min_size;
    c->file_mask = add->file_mask.src ? add->file_mask : base->file_mask;
    c->ua_mask = add->ua_mask.src ? add->ua_mask : base->ua_mask;
    c->nets = add->nets ? add->nets : base->nets;
    c->link_headers = add->link_headers != MS_UNSET ? add->link_headers
                                                    : base->link_headers;
    if (add->spread_f >= 0) {
        c->spread_f = add->spread_f;
        c->spread_km = add->spread_km;
    }
    else {
        c->spread_f = base->spread_f;
        c->spread_km = base->spread_km;
    }
    return c;
}

static apr_off_t dc_min_size(const ms_dir_conf_t *dc)
{
    return dc->min_size != MS_UNSET ? dc->min_size : MS_DEFAULT_MIN_SIZE;
}

static int dc_links(const ms_dir_conf_t *dc)
{
    return dc->link_headers != MS_UNSET ? dc->link_headers : MS_DEFAULT_LINKS;
}

static ms_spread_t dc_spread(const ms_dir_conf_t *dc)
{
    ms_spread_t s;

    s.factor = dc->spread_f >= 0 ? dc->spread_f : MS_DEFAULT_SPREAD_F;
    s.km = dc->spread_f >= 0 ? dc->spread_km : MS_DEFAULT_SPREAD_KM;
    return s;
}

/* --- directive handlers --- */

/* A server-wide path: relative paths are taken from ServerRoot. The file
 * need not exist yet; it is opened at run time. */
static const char *set_srv_path(cmd_parms *cmd, void *mconfig, const char *arg)
{
    ms_srv_conf_t *sc = ap_get_module_config(cmd->server->module_config,
                                             &mirrorsel_module);
    const char *path = ap_server_root_relative(cmd->pool, arg);
    int offset = (int)(long)cmd->info;

    if (!path || !*arg)
        return apr_psprintf(cmd->pool, "%s: invalid path '%s'", cmd->cmd->name, arg);
    *(const char **)((char *)sc + offset) = path;
    return NULL;
}

/* A main-server number directive: where it goes, its largest value, and
 * what a bad value is told. */
typedef struct ms_count_directive {
    size_t offset;              /* in ms_srv_conf_t */
    long max;
    const char *usage;
} ms_count_directive_t;

static const ms_count_directive_t cache_files_directive = {
    APR_OFFSETOF(ms_srv_conf_t, cache_files), 64L * 1024 * 1024,
    "MirrorSelCacheFiles: a number of files from 0 to 67108864"
};
static const ms_count_directive_t probe_warn_age_directive = {
    APR_OFFSETOF(ms_srv_conf_t, probe_warn_age), 366L * 86400,
    "MirrorSelProbeWarnAge: a number of seconds from 0 (off) to 31622400"
};

static const char *set_global_count(cmd_parms *cmd, void *mconfig, const char *arg)
{
    const ms_count_directive_t *d = cmd->info;
    ms_srv_conf_t *sc = ap_get_module_config(cmd->server->module_config,
                                             &mirrorsel_module);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    char *end;
    long n;

    if (err)
        return err;
    errno = 0;
    n = strtol(arg, &end, 10);
    if (errno || end == arg || *end || n < 0 || n > d->max)
        return d->usage;
    *(int *)((char *)sc + d->offset) = (int)n;
    return NULL;
}

static int is_conditional(const ap_directive_t *d)
{
    static const char *const names[] = {
        "<IfModule", "<IfDefine", "<IfVersion", "<IfFile", "<IfDirective",
        "<IfSection", NULL
    };
    int i;

    for (i = 0; names[i]; i++) {
        if (!strcasecmp(d->directive, names[i]))
            return 1;
    }
    return 0;
}

/* The filesystem path of the plain <Directory> section a directive sits
 * in, with a trailing "/"; NULL inside anything else (<Location>, <Files>,
 * <If>, a regex or wildcard <Directory>, the server config). */
static const char *directory_root(cmd_parms *cmd)
{
    const ap_directive_t *d = cmd->directive->parent;
    const char *args, *first;

    while (d && is_conditional(d))
        d = d->parent;
    if (!d || strcasecmp(d->directive, "<Directory") != 0)
        return NULL;
    args = d->args;
    first = ap_getword_conf(cmd->temp_pool, &args);
    if (!strcmp(first, "~") || !cmd->path || cmd->path[0] != '/'
        || apr_fnmatch_test(cmd->path))
        return NULL;
    if (cmd->path[strlen(cmd->path) - 1] == '/')
        return cmd->path;
    return apr_pstrcat(cmd->pool, cmd->path, "/", NULL);
}

static const char *set_engine(cmd_parms *cmd, void *mconfig, int on)
{
    ms_dir_conf_t *dc = mconfig;
    const char *root = directory_root(cmd);

    if (!root)
        return apr_psprintf(cmd->pool, "%s: must be set directly inside a "
                            "<Directory /path> section (not <Location>, <Files>, "
                            "<If> or a regex/wildcard <Directory>): that path is "
                            "the root the database's paths are relative to",
                            cmd->cmd->name);
    dc->engine = on;
    dc->root = root;
    return NULL;
}

static const char *set_min_size(cmd_parms *cmd, void *mconfig, const char *arg)
{
    ms_dir_conf_t *dc = mconfig;
    apr_off_t n;
    char *end;

    if (apr_strtoff(&n, arg, &end, 10) != APR_SUCCESS || *end || end == arg || n < 0)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a size in bytes",
                            cmd->cmd->name, arg);
    dc->min_size = n;
    return NULL;
}

/* The masks are matched on every request (MirrorSelExcludeFileMask against
 * every path), so they are JIT-compiled when httpd's regex library is PCRE2:
 * ap_regexec then runs the machine code, about a quarter of the time of the
 * interpreter for the packaged file mask. ap_regex_t.re_pcre is the
 * pcre2_code of an httpd built with PCRE2 (its version is 10.x); with an
 * older httpd, or where executable memory is refused, the pattern stays
 * interpreted, with the same matches. */
static void regex_jit(ap_regex_t *re)
{
    const char *v = ap_pcre_version_string(AP_REG_PCRE_COMPILED);

    if (v && !strncmp(v, "10.", 3) && re->re_pcre)
        (void)pcre2_jit_compile((pcre2_code *)re->re_pcre, PCRE2_JIT_COMPLETE);
}

/* A regex directive: cmd->info is the offset of its ms_regex_t. */
static const char *set_regex(cmd_parms *cmd, void *mconfig, const char *arg)
{
    int offset = (int)(long)cmd->info;
    ms_regex_t *slot = (ms_regex_t *)((char *)mconfig + offset);
    ap_regex_t *re;

    if (!*arg)
        return apr_psprintf(cmd->pool, "%s: empty regular expression", cmd->cmd->name);
    if (!strcmp(arg, "none")) {         /* clears an inherited one */
        slot->re = NULL;
        slot->src = arg;
        return NULL;
    }
    re = ap_pregcomp(cmd->pool, arg, AP_REG_EXTENDED | AP_REG_NOSUB);
    if (!re)
        return apr_psprintf(cmd->pool, "%s: cannot compile regular expression '%s'",
                            cmd->cmd->name, arg);
    regex_jit(re);
    slot->re = re;
    slot->src = arg;
    return NULL;
}

/* Several on one line or several lines add up within one section; an inner
 * section's list replaces the outer one; "none" clears it. */
static const char *add_exclude_net(cmd_parms *cmd, void *mconfig, const char *arg)
{
    ms_dir_conf_t *dc = mconfig;
    ms_cidr_t cidr;

    if (!dc->nets)
        dc->nets = apr_array_make(cmd->pool, 4, sizeof(ms_cidr_t));
    if (!strcasecmp(arg, "none")) {
        apr_array_clear(dc->nets);
        return NULL;
    }
    if (ms_cidr_parse(&cidr, arg) != 0)
        return apr_psprintf(cmd->pool, "%s: '%s' is not an IPv4 or IPv6 prefix "
                            "(ADDRESS/LENGTH with the host bits clear, or an address)",
                            cmd->cmd->name, arg);
    APR_ARRAY_PUSH(dc->nets, ms_cidr_t) = cidr;
    return NULL;
}

static const char *set_link_headers(cmd_parms *cmd, void *mconfig, const char *arg)
{
    ms_dir_conf_t *dc = mconfig;
    char *end;
    long n = strtol(arg, &end, 10);

    if (!*arg || *end || n < 0 || n > MS_MAX_LINKS)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number from 0 to %d",
                            cmd->cmd->name, arg, MS_MAX_LINKS);
    dc->link_headers = (int)n;
    return NULL;
}

static int parse_double(double *out, const char *s)
{
    char *end;
    double d = strtod(s, &end);

    if (!*s || *end || d != d || d > 1e9 || d < -1e9)
        return -1;
    *out = d;
    return 0;
}

static const char *set_spread(cmd_parms *cmd, void *mconfig, const char *f,
                              const char *km)
{
    ms_dir_conf_t *dc = mconfig;
    double factor, dist;

    if (parse_double(&factor, f) != 0 || factor < 1.0)
        return apr_psprintf(cmd->pool, "%s: factor '%s' is not a number >= 1",
                            cmd->cmd->name, f);
    if (parse_double(&dist, km) != 0 || dist < 0)
        return apr_psprintf(cmd->pool, "%s: distance '%s' is not a number of km >= 0",
                            cmd->cmd->name, km);
    dc->spread_f = factor;
    dc->spread_km = dist;
    return NULL;
}

#define DIR_CTX (RSRC_CONF | ACCESS_CONF)

static const command_rec ms_cmds[] = {
    AP_INIT_FLAG("MirrorSelEngine", set_engine, NULL, ACCESS_CONF,
                 "on|off: redirect downloads under this <Directory> to mirrors "
                 "(default off)"),
    AP_INIT_TAKE1("MirrorSelDatabase", set_srv_path,
                  (void *)APR_OFFSETOF(ms_srv_conf_t, db_path), RSRC_CONF,
                  "PATH of the mirrorsel SQLite database (opened read-only)"),
    AP_INIT_TAKE1("MirrorSelGeoIPDatabase", set_srv_path,
                  (void *)APR_OFFSETOF(ms_srv_conf_t, geoip_path), RSRC_CONF,
                  "PATH of a MaxMind City or Country database (.mmdb)"),
    AP_INIT_TAKE1("MirrorSelASNDatabase", set_srv_path,
                  (void *)APR_OFFSETOF(ms_srv_conf_t, asn_path), RSRC_CONF,
                  "PATH of a MaxMind ASN database (.mmdb), optional"),
    AP_INIT_TAKE1("MirrorSelCacheFiles", set_global_count, (void *)&cache_files_directive,
                  RSRC_CONF,
                  "N: files whose mirrors are remembered in memory shared by "
                  "all children, 256 bytes each (default 131072; 0: none)"),
    AP_INIT_TAKE1("MirrorSelProbeWarnAge", set_global_count,
                  (void *)&probe_warn_age_directive, RSRC_CONF,
                  "SECONDS: warn when no enabled mirror was probed for this long "
                  "(default 0: off)"),
    AP_INIT_TAKE1("MirrorSelMinSize", set_min_size, NULL, DIR_CTX,
                  "BYTES: smaller files are served locally (default 4096)"),
    AP_INIT_TAKE1("MirrorSelExcludeFileMask", set_regex,
                  (void *)APR_OFFSETOF(ms_dir_conf_t, file_mask), DIR_CTX,
                  "REGEX: matching origin-relative paths are served locally "
                  "('none' clears an inherited one)"),
    AP_INIT_TAKE1("MirrorSelExcludeUserAgent", set_regex,
                  (void *)APR_OFFSETOF(ms_dir_conf_t, ua_mask), DIR_CTX,
                  "REGEX: clients whose User-Agent matches are served locally "
                  "('none' clears an inherited one)"),
    AP_INIT_ITERATE("MirrorSelExcludeNetwork", add_exclude_net, NULL, DIR_CTX,
                    "CIDR...: clients inside these prefixes are served locally "
                    "('none' clears an inherited list)"),
    AP_INIT_TAKE1("MirrorSelLinkHeaders", set_link_headers, NULL, DIR_CTX,
                  "N: how many rel=duplicate Link headers a redirect carries "
                  "(default 5)"),
    AP_INIT_TAKE2("MirrorSelSpread", set_spread, NULL, DIR_CTX,
                  "F K: mirrors within max(F x nearest, nearest + K km) share the "
                  "traffic by weight (default 1.5 250)"),
    { NULL }
};

/* ------------------------------------------------------------------ */
/* per-process state                                                   */

/* Kinds of trouble, each logged at most once per MS_LOG_INTERVAL. */
enum {
    MS_LOG_DB_OPEN,             /* the database cannot be opened */
    MS_LOG_DB_HANDLE,           /* no handle to be had (timeout, ...) */
    MS_LOG_DB_QUERY,            /* a lookup failed */
    MS_LOG_GEO,                 /* a configured mmdb is unusable */
    MS_LOG_CONFIG,              /* engine on, but no database or root */
    MS_LOG_BAD_VALUE,           /* a database value unfit for a header */
    MS_LOG_PROBES,              /* no probe for MirrorSelProbeWarnAge */
    MS_LOG_KINDS
};

struct ms_proc {
    server_rec *s;
    const char *db_path;
    const char *geoip_path;
    const char *asn_path;
    ms_geo_t *geo;              /* NULL when no mmdb is configured or usable */
    const char *geo_err;        /* set when a configured mmdb is unusable */
    apr_reslist_t *dbs;         /* ms_handle_t; NULL without a database */
    ms_cache_t *cache;          /* files' fresh holders; NULL: none */
    ms_order_cache_t *orders;   /* mirrors' order per client location; NULL: none */
    ms_view_t *view;            /* the database's generations and mirrors, kept
                                 * by a watcher thread; NULL: ask on each request */
    int max_handles;
    apr_uint32_t logged[MS_LOG_KINDS];   /* when each kind was last logged */
};

/* One database handle, in an unmanaged pool of its own. */
typedef struct ms_handle {
    apr_pool_t *pool;
    ms_db_t *db;
} ms_handle_t;

/* 1 when a message of this kind may be logged now, interval seconds after
 * the last (and claims the slot). */
static int log_allowed_every(ms_proc_t *proc, int kind, apr_uint32_t interval)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&proc->logged[kind]);

    if (last && now - last < interval)
        return 0;
    return apr_atomic_cas32(&proc->logged[kind], now, last) == last;
}

static int log_allowed(ms_proc_t *proc, int kind)
{
    return log_allowed_every(proc, kind, MS_LOG_INTERVAL);
}

/* Reslist constructor: runs under the reslist's own lock. */
static apr_status_t handle_open(void **resource, void *params, apr_pool_t *unused)
{
    ms_proc_t *proc = params;
    ms_handle_t *h;
    apr_pool_t *pool;
    const char *err = NULL;
    ms_db_t *db;

    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS)
        return APR_ENOMEM;
    apr_pool_tag(pool, "mirrorsel-db");
    if (ms_db_open(&db, proc->db_path, MS_DB_READONLY, pool, &err) != MS_OK) {
        if (log_allowed(proc, MS_LOG_DB_OPEN))
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, proc->s, MSLOGNO(00003)
                         "cannot open MirrorSelDatabase: %s; serving files "
                         "locally (repeats are not logged for %d s)",
                         err ? err : proc->db_path, MS_LOG_INTERVAL);
        apr_pool_destroy(pool);
        return APR_EGENERAL;
    }
    h = apr_palloc(pool, sizeof(*h));
    h->pool = pool;
    h->db = db;
    *resource = h;
    return APR_SUCCESS;
}

static apr_status_t handle_close(void *resource, void *params, apr_pool_t *unused)
{
    ms_handle_t *h = resource;

    ms_db_close(h->db);
    apr_pool_destroy(h->pool);
    return APR_SUCCESS;
}

/* Open a configured mmdb set. A configured file that cannot be opened is
 * remembered in geo_err: requests are then served locally (SPEC: a missing
 * mmdb never fails a request, and the file is served locally). */
static void proc_open_geo(ms_proc_t *proc, apr_pool_t *p)
{
    const char *err = NULL;

    if (!proc->geoip_path && !proc->asn_path)
        return;
    if (ms_geo_open(&proc->geo, proc->geoip_path, proc->asn_path, p, &err) != 0) {
        proc->geo = NULL;
        proc->geo_err = err ? err : "cannot open the geo databases";
        /* This counts as the kind's first message: requests repeat it later. */
        proc->logged[MS_LOG_GEO] = (apr_uint32_t)apr_time_sec(apr_time_now());
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, proc->s, MSLOGNO(00001)
                     "cannot open the geo databases: %s; files under "
                     "MirrorSelEngine on are served locally until httpd is "
                     "restarted with a usable file", proc->geo_err);
        return;
    }
    /* A database of another kind (an ASN file as MirrorSelGeoIPDatabase)
     * opens and finds nothing: every client would be ranked as if it were
     * nowhere. Said once per process; requests go on as before. */
    if (ms_geo_check_types(proc->geo, p, &err) != 0)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, proc->s, MSLOGNO(00021)
                     "%s; clients will not be located through it", err);
    ms_geo_cache_enable(proc->geo, MS_GEO_SLOTS, p);   /* failing: slower, not wrong */
}

static void proc_create_dbs(ms_proc_t *proc, apr_pool_t *p)
{
    int threads = 1;
    apr_status_t rv;

    if (!proc->db_path)
        return;
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1)
        threads = 1;
    /* A handle is held only while a lookup runs and its reply is built (tens
     * of microseconds, no network I/O), so a few handles serve any number of
     * threads: a thread finding none waits on the list's condition variable
     * (MS_ACQUIRE_TIMEOUT) for one to come back. Each handle costs its own
     * page cache and statements, and its own map of the file (RSS grows
     * with handles × pages touched), so their number no longer grows with
     * ThreadsPerChild (or mod_http2's workers). Handles are opened on demand
     * (min 0: a missing database must not stop the child) and kept while
     * idle (smax = hmax, no ttl). */
    proc->max_handles = threads < MS_MAX_HANDLES ? threads : MS_MAX_HANDLES;
    rv = apr_reslist_create(&proc->dbs, 0, proc->max_handles, proc->max_handles, 0,
                            handle_open, handle_close, proc, p);
    if (rv != APR_SUCCESS) {
        proc->dbs = NULL;
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, proc->s, MSLOGNO(00002)
                     "cannot create the database handle list for %s", proc->db_path);
        return;
    }
    apr_reslist_timeout_set(proc->dbs, MS_ACQUIRE_TIMEOUT);
}

/* The file cache, in shared memory made by the parent at each (re)start and
 * inherited by the children (NULL: each child makes a private one of
 * cache_files entries, or none for 0). */
static ms_cache_t *shared_cache;
static int cache_files;
static int probe_warn_age;      /* MirrorSelProbeWarnAge; 0: off */

static int ms_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    shared_cache = NULL;
    cache_files = 0;
    probe_warn_age = 0;
    return OK;
}

static int ms_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *main_s)
{
    const ms_srv_conf_t *msc = ap_get_module_config(main_s->module_config,
                                                    &mirrorsel_module);
    apr_shm_t *shm = NULL;
    apr_status_t rv;
    server_rec *s;
    size_t bytes;

    cache_files = msc->cache_files == MS_UNSET ? MS_DEFAULT_CACHE_FILES : msc->cache_files;
    probe_warn_age = msc->probe_warn_age == MS_UNSET ? 0 : msc->probe_warn_age;
    for (s = main_s; s; s = s->next) {
        const ms_srv_conf_t *sc = ap_get_module_config(s->module_config, &mirrorsel_module);
        if (sc->db_path)
            break;
    }
    if (!s || cache_files == 0)
        return OK;              /* no database anywhere, or no cache wanted */
    bytes = ms_cache_bytes(cache_files);
    rv = apr_shm_create(&shm, bytes, NULL, pconf);   /* anonymous: no file */
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, main_s, MSLOGNO(00016)
                     "cannot make %" APR_SIZE_T_FMT " bytes of shared memory for "
                     "the file cache; each child keeps its own", bytes);
        return OK;
    }
    /* Anonymous shared memory comes zeroed; writing it here would make
     * every child map all of it from the start. */
    ms_cache_init(&shared_cache, apr_shm_baseaddr_get(shm), cache_files, pconf);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, main_s, MSLOGNO(00017)
                 "file cache: %d files in %" APR_SIZE_T_FMT " bytes shared by "
                 "all children", cache_files, bytes);
    return OK;
}

/* At a child's exit, how the per-process caches did: what an operator sizing
 * them (MirrorSelCacheFiles; MS_ORDER_SLOTS, MS_GEO_SLOTS) needs to know. */
static apr_status_t proc_log_caches(void *data)
{
    ms_proc_t *proc = data;
    uint64_t fh = 0, fm = 0, oh = 0, om = 0, gh = 0, gm = 0, vp = 0, vq = 0;

    if (proc->view)
        ms_view_stats(proc->view, &vp, &vq);
    if (proc->cache)
        ms_cache_stats(proc->cache, &fh, &fm);
    if (proc->orders)
        ms_order_cache_stats(proc->orders, &oh, &om);
    ms_geo_cache_stats(proc->geo, &gh, &gm);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, proc->s, MSLOGNO(00014)
                 "cache hits/misses at child exit: files %" APR_UINT64_T_FMT "/%"
                 APR_UINT64_T_FMT ", mirror orders %" APR_UINT64_T_FMT "/%"
                 APR_UINT64_T_FMT ", locations %" APR_UINT64_T_FMT "/%" APR_UINT64_T_FMT
                 "; database views read %" APR_UINT64_T_FMT ", requests that found "
                 "a change pending %" APR_UINT64_T_FMT,
                 fh, fm, oh, om, gh, gm, vp, vq);
    return APR_SUCCESS;
}

static ms_proc_t *proc_create(apr_pool_t *pchild, server_rec *s, const ms_srv_conf_t *sc)
{
    const char *err = NULL;
    apr_pool_t *p;
    ms_proc_t *proc;

    apr_pool_create(&p, pchild);
    apr_pool_tag(p, "mirrorsel-proc");
    proc = apr_pcalloc(p, sizeof(*proc));
    proc->s = s;
    proc->db_path = sc->db_path;
    proc->geoip_path = sc->geoip_path;
    proc->asn_path = sc->asn_path;
    /* Before anything of p is freed (pre-cleanups run first, the last
     * registered first: this one after the view's watcher stopped). */
    if (sc->db_path)
        apr_pool_pre_cleanup_register(p, proc, proc_log_caches);
    proc_open_geo(proc, p);
    proc_create_dbs(proc, p);
    if (proc->dbs && ms_order_cache_create(&proc->orders, MS_ORDER_SLOTS, p) != 0)
        proc->orders = NULL;    /* slower, not wrong: ms_select ranks each time */
    proc->cache = shared_cache;
    if (proc->dbs && !proc->cache && cache_files > 0
        && ms_cache_create(&proc->cache, cache_files, p) != 0) {
        proc->cache = NULL;     /* slower, not wrong */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, proc->s, MSLOGNO(00013)
                     "cannot create the file cache; reading every "
                     "request from %s", proc->db_path);
    }
    if (!proc->dbs)
        proc->cache = NULL;
    if (proc->cache && ms_view_start(&proc->view, proc->db_path, p, &err) != 0) {
        proc->view = NULL;      /* slower, not wrong: each request asks the database */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, proc->s, MSLOGNO(00015)
                     "cannot watch %s (%s); every request asks the database "
                     "whether it changed", proc->db_path, err);
    }
    else if (proc->view && err)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, proc->s, MSLOGNO(00018)
                     "cannot watch %s (%s); every request asks the database "
                     "whether it changed until it can (retried each second)",
                     proc->db_path, err);
    return proc;
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static int same_paths(const ms_srv_conf_t *a, const ms_srv_conf_t *b)
{
    return same_str(a->db_path, b->db_path) && same_str(a->geoip_path, b->geoip_path)
           && same_str(a->asn_path, b->asn_path);
}

/* One ms_proc_t per distinct set of paths; virtual hosts that inherit the
 * main server's paths share its state (before, a virtual host sharing the
 * main server's record reset it and made a second state, watcher thread
 * and all, per child). Closed by cleanups on pchild. */
static void ms_child_init(apr_pool_t *pchild, server_rec *main_s)
{
    server_rec *s, *t;

    ms_db_process_init();
    for (s = main_s; s; s = s->next) {
        ms_srv_conf_t *sc = ap_get_module_config(s->module_config, &mirrorsel_module);

        /* A virtual host without directives of its own shares the main
         * server's configuration record: already given its state. */
        for (t = main_s; t != s; t = t->next)
            if (ap_get_module_config(t->module_config, &mirrorsel_module) == sc)
                break;
        if (t != s)
            continue;
        sc->proc = NULL;
        for (t = main_s; t != s && !sc->proc; t = t->next) {
            ms_srv_conf_t *tc = ap_get_module_config(t->module_config, &mirrorsel_module);
            if (same_paths(sc, tc))
                sc->proc = tc->proc;
        }
        if (!sc->proc)
            sc->proc = proc_create(pchild, s, sc);
    }
}

/* ------------------------------------------------------------------ */
/* the request                                                         */

/* What the client asked for. The file itself is a redirect; the others are
 * documents about the file, written by the core's writers. */
typedef enum {
    MS_WANT_FILE,               /* a 302 with Link and Digest headers */
    MS_WANT_META4,              /* FILE.meta4, ?meta4, Accept: metalink4 */
    MS_WANT_HTML,               /* FILE.mirrorlist, ?mirrorlist */
    MS_WANT_JSON,               /* ?mirrorlist=json, Accept: application/json */
    MS_WANT_SHA256,             /* FILE.sha256 */
} ms_want_t;

static const char *const want_names[] = {
    [MS_WANT_FILE] = "redirect", [MS_WANT_META4] = "meta4",
    [MS_WANT_HTML] = "mirrorlist", [MS_WANT_JSON] = "json",
    [MS_WANT_SHA256] = "sha256",
};

/* How a request is answered. */
typedef enum {
    MS_ANSWER_LOCAL,            /* DECLINED: httpd serves (or 404s) it */
    MS_ANSWER_NOT_FOUND,        /* a document about a file not in the index */
    MS_ANSWER_REDIRECT,         /* 302 to the chosen mirror */
    MS_ANSWER_DOCUMENT,         /* 200 with a body built by the core */
} ms_answer_kind_t;

/* Everything the response needs, in r->pool: built while the database
 * handle is held (the ranked mirrors point into its snapshot), sent after
 * it is given back. */
typedef struct ms_reply {
    int result;                 /* MS_RESULT_* */
    ms_answer_kind_t kind;
    const char *why;            /* for the debug log: what decided it */
    /* the origin file the request is about */
    ms_want_t want;
    int negotiated;             /* want came from Accept: answer Vary */
    int by_url;                 /* want came from the URL (suffix, query) */
    int per_client;             /* the file's URL gives other clients, or
                                 * other Accept headers, another answer */
    const char *filename;       /* on disk */
    const char *uri;            /* its URL path, decoded */
    apr_finfo_t finfo;
    const char *path;           /* origin-relative, normalised; NULL before */
    /* the client, as located */
    char country[3];            /* "" unknown */
    uint32_t asn;               /* 0 unknown */
    /* a redirect */
    const char *location;
    const char *mirror;         /* name of the chosen mirror */
    const char *tier;
    apr_array_header_t *links;  /* const char *: Link values */
    const char *digest;         /* NULL: hash unknown */
    const char *repr_digest;
    /* a document */
    const char *content_type;
    const char *disposition;    /* NULL: none */
    const char *body;
    apr_size_t body_len;
} ms_reply_t;

/* The origin-relative path of filename under the engine's root;
 * -1 when it is not under the root or does not normalise. */
static int origin_path(const char **out, const char *filename, const ms_dir_conf_t *dc,
                       apr_pool_t *p)
{
    size_t n = strlen(dc->root);

    if (strncmp(filename, dc->root, n) != 0)
        return -1;
    return ms_path_normalise(out, filename + n, p);
}

/* --- what was asked --- */

/* The quality (0-1000) the Accept header gives exactly this media type
 * (wildcards do not count), or -1 when it does not name it. */
static int accept_q(request_rec *r, const char *accept, const char *type)
{
    char *list = apr_pstrdup(r->pool, accept), *state, *range;

    for (range = apr_strtok(list, ",", &state); range;
         range = apr_strtok(NULL, ",", &state)) {
        char *params = strchr(range, ';'), *q;
        double v = 1.0;

        if (params)
            *params++ = '\0';
        apr_collapse_spaces(range, range);
        if (strcasecmp(range, type) != 0)
            continue;
        q = params ? ap_strcasestr(params, "q=") : NULL;
        if (q)
            v = strtod(q + 2, NULL);
        return v <= 0 || v != v ? 0 : v >= 1 ? 1000 : (int)(v * 1000);
    }
    return -1;
}

/* Content negotiation on a plain request: Metalink for a client that names
 * it (aria2 does), JSON for one that names application/json. */
static ms_want_t want_by_accept(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");
    int meta4, json;

    if (!accept)
        return MS_WANT_FILE;
    meta4 = accept_q(r, accept, MS_META4_TYPE);
    json = accept_q(r, accept, MS_MIRRORLIST_JSON_TYPE);
    if (meta4 > 0 && meta4 >= json)
        return MS_WANT_META4;
    return json > 0 ? MS_WANT_JSON : MS_WANT_FILE;
}

/* The mirror list asked for by URL (FILE.mirrorlist, ?mirrorlist): as JSON
 * to a client that names application/json above text/html, else HTML. */
static ms_want_t want_list_by_accept(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");
    int json;

    if (!accept || (json = accept_q(r, accept, MS_MIRRORLIST_JSON_TYPE)) <= 0)
        return MS_WANT_HTML;
    return json > accept_q(r, accept, "text/html") ? MS_WANT_JSON : MS_WANT_HTML;
}

/* "?meta4", "?mirrorlist", "?mirrorlist=json"; MS_WANT_FILE otherwise. */
static ms_want_t want_by_query(request_rec *r)
{
    apr_table_t *args;
    const char *list;

    if (!r->args || !*r->args)
        return MS_WANT_FILE;
    ap_args_to_table(r, &args);
    if (apr_table_get(args, "meta4"))
        return MS_WANT_META4;
    if (!(list = apr_table_get(args, "mirrorlist")))
        return MS_WANT_FILE;
    return strcasecmp(list, "json") ? MS_WANT_HTML : MS_WANT_JSON;
}

static const struct {
    const char *suffix;
    ms_want_t want;
} suffixes[] = {
    { ".meta4", MS_WANT_META4 },
    { ".mirrorlist", MS_WANT_HTML },
    { ".sha256", MS_WANT_SHA256 },
};

/* FILE.meta4, FILE.mirrorlist, FILE.sha256 for a FILE that exists when the
 * name asked for does not (a real x.iso.sha256 is served as itself). The
 * FILE is looked up as a subrequest, so its own access rules apply. Returns
 * 1 and fills the target when it is such a request. */
static int target_by_suffix(ms_reply_t *rep, request_rec *r)
{
    const char *base = strrchr(r->filename, '/');
    size_t i, n, len;
    request_rec *rr;
    int ok;

    if (r->finfo.filetype != APR_NOFILE || !base || (r->path_info && *r->path_info))
        return 0;
    base++;
    len = strlen(base);
    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        n = strlen(suffixes[i].suffix);
        if (len > n && !strcmp(base + len - n, suffixes[i].suffix))
            break;
    }
    if (i == sizeof(suffixes) / sizeof(suffixes[0]))
        return 0;
    rr = ap_sub_req_lookup_file(apr_pstrndup(r->pool, base, len - n), r, NULL);
    ok = rr->status == HTTP_OK && rr->finfo.filetype == APR_REG && rr->filename
         && !(rr->path_info && *rr->path_info);
    if (ok) {
        /* into r's pool: rr's goes with it below */
        rep->want = suffixes[i].want;
        rep->by_url = 1;
        rep->filename = apr_pstrdup(r->pool, rr->filename);
        rep->uri = apr_pstrdup(r->pool, rr->uri);
        rep->finfo = rr->finfo;
        rep->finfo.pool = r->pool;
        rep->finfo.fname = rep->filename;
        rep->finfo.name = NULL;
    }
    ap_destroy_sub_req(rr);
    return ok;
}

/* The origin file the request is about and what is wanted of it; 0 when
 * this is no request for the module (httpd answers it as usual). */
static int find_target(ms_reply_t *rep, request_rec *r)
{
    if (!r->filename)
        return 0;
    if (target_by_suffix(rep, r))
        return 1;
    if (r->finfo.filetype != APR_REG || (r->path_info && *r->path_info))
        return 0;
    rep->filename = r->filename;
    rep->uri = r->uri;
    rep->finfo = r->finfo;
    rep->want = want_by_query(r);
    rep->by_url = rep->want != MS_WANT_FILE;
    return 1;
}

/* --- decisions --- */

/* "?country=CC": an assigned ISO 3166-1 code, upper-cased; else NULL. */
static const char *country_override(request_rec *r)
{
    apr_table_t *args;
    const char *cc;
    char *up;

    if (!r->args || !*r->args)
        return NULL;
    ap_args_to_table(r, &args);
    cc = apr_table_get(args, "country");
    if (!cc || strlen(cc) != 2 || !apr_isalpha(cc[0]) || !apr_isalpha(cc[1])
        || !ms_country_continent(cc))
        return NULL;
    up = apr_pstrdup(r->pool, cc);
    up[0] = (char)apr_toupper(up[0]);
    up[1] = (char)apr_toupper(up[1]);
    return up;
}

/* The exclusion rule the client falls under, or NULL. */
static const char *client_excluded(request_rec *r, const ms_dir_conf_t *dc)
{
    const char *ua;
    ms_addr_t addr;
    int i;

    if (dc->nets && dc->nets->nelts > 0 && r->useragent_ip
        && ms_addr_parse(&addr, r->useragent_ip) == 0) {
        for (i = 0; i < dc->nets->nelts; i++) {
            if (ms_cidr_contains(&APR_ARRAY_IDX(dc->nets, i, ms_cidr_t), &addr))
                return "MirrorSelExcludeNetwork";
        }
    }
    if (dc->ua_mask.re && (ua = apr_table_get(r->headers_in, "User-Agent"))
        && !ap_regexec(dc->ua_mask.re, ua, 0, NULL, 0))
        return "MirrorSelExcludeUserAgent";
    return NULL;
}

/* Why the file itself is served locally whoever asks (SPEC's request path:
 * too small, path masked), or NULL. Sets rep->result. */
static const char *file_excluded(ms_reply_t *rep, const ms_dir_conf_t *dc)
{
    if (rep->finfo.size < dc_min_size(dc))
        return "smaller than MirrorSelMinSize";
    rep->result = MS_RESULT_EXCLUDED;
    if (dc->file_mask.re && !ap_regexec(dc->file_mask.re, rep->path, 0, NULL, 0))
        return "MirrorSelExcludeFileMask";
    return NULL;
}

/* --- the database --- */

/* A database handle that still reads the file at the configured path:
 * handles opened before the database was replaced by rename are dropped. */
static ms_handle_t *db_acquire(ms_proc_t *proc, request_rec *r)
{
    ms_handle_t *h;
    apr_status_t rv;
    int i;

    for (i = 0; i <= proc->max_handles; i++) {
        rv = apr_reslist_acquire(proc->dbs, (void **)&h);
        if (rv != APR_SUCCESS) {
            /* APR_EGENERAL: handle_open failed and logged why. */
            if (rv != APR_EGENERAL && log_allowed(proc, MS_LOG_DB_HANDLE))
                ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, MSLOGNO(00004)
                              "no database handle for %s; serving locally",
                              proc->db_path);
            return NULL;
        }
        if (!ms_db_replaced(h->db))
            return h;
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, MSLOGNO(00012)
                      "%s was replaced or removed; reopening", proc->db_path);
        apr_reslist_invalidate(proc->dbs, h);
    }
    return NULL;
}

/* --- building the answer (the handle is held) --- */

/* The file's absolute URL on the origin, percent-encoded. */
static const char *origin_url(const ms_reply_t *rep, request_rec *r)
{
    return ap_construct_url(r->pool, ms_path_escape(rep->uri, r->pool), r);
}

/* The answer with only the mirrors whose name and URL are fit for response
 * headers, so that Location, X-MirrorSel-Mirror and the Link headers agree
 * on who is first. A tool-registered mirror always is. */
static int ranked_fit(const ms_ranked_t *rk)
{
    const ms_mirror_t *m = rk->mirror;
    unsigned text = m->text & MS_TEXT_JUDGED ? m->text : ms_mirror_text(m);

    return (text & MS_TEXT_NAME) && ms_mirror_url_fit(m, rk->base_url, 0);
}

static const ms_answer_t *header_fit(const ms_answer_t *a, ms_proc_t *proc,
                                     request_rec *r)
{
    ms_answer_t *fit;
    ms_choice_t *choice;
    int i, n = a->choice->ranked->nelts;

    for (i = 0; i < n && ranked_fit(&APR_ARRAY_IDX(a->choice->ranked, i, ms_ranked_t)); i++)
        ;
    if (i == n)
        return a;               /* every one fit, as tool-registered mirrors are */
    fit = apr_pmemdup(r->pool, a, sizeof(*a));
    choice = apr_pmemdup(r->pool, a->choice, sizeof(*a->choice));

    choice->ranked = apr_array_make(r->pool, n > 0 ? n : 1, sizeof(ms_ranked_t));
    for (i = 0; i < n; i++) {
        const ms_ranked_t *rk = &APR_ARRAY_IDX(a->choice->ranked, i, ms_ranked_t);

        if (ranked_fit(rk)) {
            APR_ARRAY_PUSH(choice->ranked, ms_ranked_t) = *rk;
            continue;
        }
        if (log_allowed(proc, MS_LOG_BAD_VALUE))
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, MSLOGNO(00009)
                          "mirror #%" APR_INT64_T_FMT " has a name or base URL "
                          "with bytes unfit for a header; skipped",
                          (apr_int64_t)rk->mirror->id);
    }
    fit->choice = choice;
    return fit;
}

/* 302 to the first mirror; Link: rel=duplicate for the first links of the
 * list and rel=describedby to the .meta4; Digest and Repr-Digest when the
 * hash is known. */
static void build_redirect(ms_reply_t *rep, const ms_answer_t *a, int links,
                           ms_proc_t *proc, request_rec *r)
{
    const ms_answer_t *fit = header_fit(a, proc, r);
    const ms_ranked_t *first;
    const char *describedby, *rel;

    if (fit->choice->ranked->nelts == 0) {
        rep->result = MS_RESULT_ERROR;
        rep->why = "no mirror with a name and URL fit for a header";
        return;
    }
    first = &APR_ARRAY_IDX(fit->choice->ranked, 0, ms_ranked_t);
    rel = ms_path_escape(rep->path, r->pool);
    rep->location = ms_url_join(first->base_url, rel, r->pool);
    rep->mirror = apr_pstrdup(r->pool, first->mirror->name);
    rep->tier = ms_tier_name(first->tier);
    rep->links = ms_links_duplicates(fit, rel, links, r->pool);
    describedby = ms_links_describedby(apr_pstrcat(r->pool, origin_url(rep, r),
                                                   ".meta4", NULL), r->pool);
    if (describedby)
        APR_ARRAY_PUSH(rep->links, const char *) = describedby;
    ms_links_file_digests(&rep->digest, &rep->repr_digest, a->file, r->pool);
    rep->kind = MS_ANSWER_REDIRECT;
}

static void set_body(ms_reply_t *rep, const char *type, const ms_buf_t *b)
{
    rep->kind = MS_ANSWER_DOCUMENT;
    rep->content_type = type;
    rep->body = ms_buf_str(b);
    rep->body_len = ms_buf_len(b);
}

static void build_meta4(ms_reply_t *rep, const ms_answer_t *a, request_rec *r)
{
    ms_buf_t *b = ms_buf_make(r->pool, 4096);
    const char *name = ms_path_escape(ms_basename(a->file->path), r->pool);

    if (ms_meta4_write(b, a, origin_url(rep, r), NULL) != 0)
        return;
    set_body(rep, MS_META4_TYPE, b);
    /* Saved as NAME.meta4, not as NAME: aria2 asks for the Metalink on the
     * file's own URL and would otherwise name the Metalink like the file. */
    rep->disposition = apr_pstrcat(r->pool, "attachment; filename=\"", name,
                                   ".meta4\"; filename*=UTF-8''", name, ".meta4", NULL);
}

static void build_html(ms_reply_t *rep, const ms_answer_t *a, request_rec *r)
{
    ms_buf_t *b = ms_buf_make(r->pool, 16384);

    if (ms_mirrorlist_html(b, a, origin_url(rep, r), apr_time_sec(r->request_time)) == 0)
        set_body(rep, MS_MIRRORLIST_HTML_TYPE, b);
}

static void build_json(ms_reply_t *rep, const ms_answer_t *a, request_rec *r)
{
    ms_buf_t *b = ms_buf_make(r->pool, 8192);

    if (ms_mirrorlist_json(b, a, origin_url(rep, r), apr_time_sec(r->request_time)) == 0)
        set_body(rep, MS_MIRRORLIST_JSON_TYPE, b);
}

/* No known hash, no .sha256: as if the file did not exist. The file is
 * named as the URL names it (a link's own name: what `curl -O` and wget
 * save it as, so that `sha256sum -c` finds it). */
static void build_sha256(ms_reply_t *rep, const ms_answer_t *a, request_rec *r)
{
    const char *body = ms_links_sha256_body(a->file, ms_basename(rep->uri), r->pool);

    if (!body) {
        rep->kind = MS_ANSWER_NOT_FOUND;
        rep->why = "SHA-256 not known";
        return;
    }
    rep->kind = MS_ANSWER_DOCUMENT;
    rep->content_type = "text/plain; charset=utf-8";
    rep->body = body;
    rep->body_len = strlen(body);
}

/* Turn the core's answer into the reply, one function per output kind. A
 * document needs an indexed file; a redirect needs a ranked mirror. */
static void build(ms_reply_t *rep, const ms_answer_t *a, const ms_dir_conf_t *dc,
                  ms_proc_t *proc, request_rec *r)
{
    if (a->result == MS_RESULT_ERROR)
        return;
    if (rep->want != MS_WANT_FILE && !a->file) {
        /* Asked by URL: there is no such document. Negotiated: the file. */
        rep->kind = rep->by_url ? MS_ANSWER_NOT_FOUND : MS_ANSWER_LOCAL;
        rep->why = "not in the index";
        return;
    }
    switch (rep->want) {
    case MS_WANT_FILE:
        if (a->result == MS_RESULT_REDIRECT)
            build_redirect(rep, a, dc_links(dc), proc, r);
        break;
    case MS_WANT_META4:
        build_meta4(rep, a, r);
        break;
    case MS_WANT_HTML:
        build_html(rep, a, r);
        break;
    case MS_WANT_JSON:
        build_json(rep, a, r);
        break;
    case MS_WANT_SHA256:
        build_sha256(rep, a, r);
        break;
    }
}

/* The core's answer into the reply (the mirrors it points to still held). */
static void answered(ms_reply_t *rep, const ms_answer_t *a, const ms_dir_conf_t *dc,
                     ms_proc_t *proc, request_rec *r)
{
    rep->result = a->result;
    memcpy(rep->country, a->client.loc.country, sizeof(rep->country));
    rep->asn = a->client.loc.asn;
    build(rep, a, dc, proc, r);
}

/* What an answer was read from and points into, held until the reply is
 * built: the view's snapshot (an answer from the caches names its mirrors)
 * or a database handle (one read from the database names the handle's). */
typedef struct ms_hold {
    ms_snap_t *snap;
    ms_handle_t *h;
} ms_hold_t;

/* MirrorSelProbeWarnAge: say (rate-limited) when no enabled mirror was
 * probed for that long. Every mirror is up or down as its latest probe left
 * it, so a probe timer that stopped leaves mirrors up that may have died. */
static void warn_probes(request_rec *r, ms_proc_t *proc)
{
    apr_int64_t now = apr_time_sec(r->request_time), latest;
    int enabled;

    if (ms_view_probes(proc->view, &enabled, &latest) != 0 || enabled == 0
        || now - latest <= probe_warn_age
        || !log_allowed_every(proc, MS_LOG_PROBES, MS_PROBES_LOG_INTERVAL))
        return;
    if (latest == 0)
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, MSLOGNO(00022)
                      "none of the %d enabled mirrors in %s was ever probed: "
                      "each counts as down, so files are served locally; run "
                      "'mirrorsel probe' (mirrorsel-probe.timer) (repeats are not "
                      "logged for %d s)",
                      enabled, proc->db_path, MS_PROBES_LOG_INTERVAL);
    else
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, MSLOGNO(00022)
                      "the latest probe of the %d enabled mirrors in %s is %"
                      APR_INT64_T_FMT " s old (MirrorSelProbeWarnAge %d): each "
                      "stays up or down as it left it; is 'mirrorsel probe' "
                      "running (mirrorsel-probe.timer)? (repeats are not logged "
                      "for %d s)", enabled,
                      proc->db_path, now - latest, probe_warn_age,
                      MS_PROBES_LOG_INTERVAL);
}

/* The core's answer to req: from the process's view and caches when they
 * hold the file, else from a database handle; what it came from stays held
 * in *hold until give_back. NULL when no handle could be had. */
static ms_answer_t *ask(ms_request_t *req, request_rec *r, ms_proc_t *proc,
                        ms_hold_t *hold)
{
    ms_answer_t *a;
    ms_snap_t *snap;

    hold->snap = NULL;
    hold->h = NULL;
    req->missed = 0;
    if (probe_warn_age && proc->view)
        warn_probes(r, proc);
    if (req->cache && proc->view && (snap = ms_view_acquire(proc->view)) != NULL) {
        int done = ms_lookup_cached(&a, &snap->data, proc->geo, req, r->pool);

        if (done == 1) {
            hold->snap = snap;
            return a;
        }
        if (done == 0) {
            req->missed = 1;
            req->missed_ident = snap->data.ident;
            req->missed_gen = snap->data.data_gen;
        }
        ms_view_release(proc->view, snap);
    }

    if (!(hold->h = db_acquire(proc, r)))
        return NULL;
    ms_lookup(&a, hold->h->db, proc->geo, req, r->pool);
    return a;
}

/* Give back what answer a was read from, once nothing uses a any more. A
 * failed lookup is logged (rate-limited); a handle whose lookup failed may
 * be broken (corrupt file, schema changed under it) and is dropped, so the
 * next request opens a new one, unless it was the geo database that failed. */
static void give_back(ms_hold_t *hold, const ms_answer_t *a, const ms_request_t *req,
                      request_rec *r, ms_proc_t *proc)
{
    int failed = a->result == MS_RESULT_ERROR;
    int geo = failed && a->client.geo_err.path;

    if (hold->snap)
        ms_view_release(proc->view, hold->snap);
    if (hold->h && failed && !geo)
        apr_reslist_invalidate(proc->dbs, hold->h);
    else if (hold->h)
        apr_reslist_release(proc->dbs, hold->h);
    if (failed && (geo || hold->h) && log_allowed(proc, geo ? MS_LOG_GEO : MS_LOG_DB_QUERY)) {
        if (geo)
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, MSLOGNO(00020)
                          "%s; serving locally (repeats are not logged for %d s)",
                          a->error, MS_LOG_INTERVAL);
        else
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, MSLOGNO(00005)
                          "lookup of %s failed: %s; serving locally (repeats are "
                          "not logged for %d s)", req->path,
                          a->error ? a->error : "unknown error", MS_LOG_INTERVAL);
    }
    hold->snap = NULL;
    hold->h = NULL;
}

/* The origin-relative path of the file that rep's resolves to, when a
 * symbolic link on its way (the file itself or a directory) leads to
 * another path under the root; NULL otherwise. `mirrorsel index` records
 * files under their own names and leaves links out, so a link such as
 * latest.iso -> x-1.2.iso is answered as its target. Asked only when the
 * path asked for is not indexed. */
static const char *link_target(const ms_reply_t *rep, const ms_dir_conf_t *dc,
                               apr_pool_t *p)
{
    const char *rel = ms_path_resolve_under(rep->filename, dc->root, p);

    return rel && strcmp(rel, rep->path) != 0 ? rel : NULL;
}

/* Ask the core and build the reply; on any trouble the reply says
 * MS_RESULT_ERROR and httpd serves the request. */
static void lookup(ms_reply_t *rep, request_rec *r, const ms_dir_conf_t *dc,
                   ms_proc_t *proc)
{
    ms_request_t req;
    ms_answer_t *a;
    ms_hold_t hold;
    const char *target;

    memset(&req, 0, sizeof(req));
    req.path = rep->path;
    req.client_ip = r->useragent_ip;
    req.country = country_override(r);
    req.https = !strcmp(ap_http_scheme(r), "https");
    req.have_stat = 1;
    req.size = rep->finfo.size;
    req.mtime = apr_time_sec(rep->finfo.mtime);
    req.spread = dc_spread(dc);
    /* A redirect needs only its Link headers' worth of the ranking, and may
     * take the file's holders from the cache. A document lists every mirror
     * with when a scan last saw its copy, which the cache does not keep. */
    if (rep->want == MS_WANT_FILE) {
        req.limit = dc_links(dc) > 1 ? dc_links(dc) : 1;
        req.cache = proc->cache;
        req.orders = proc->orders;
    }

    a = ask(&req, r, proc, &hold);
    /* httpd followed the link to a regular file (rep->finfo is the
     * target's): the target is what mirrors hold. */
    if (a && a->result == MS_RESULT_NOMIRROR && !a->file
        && (target = link_target(rep, dc, r->pool)) != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, MSLOGNO(00019) "%s: a link to %s",
                      rep->path, target);
        give_back(&hold, a, &req, r, proc);
        rep->path = req.path = target;
        a = ask(&req, r, proc, &hold);
    }
    if (!a) {
        rep->result = MS_RESULT_ERROR;
        return;
    }
    answered(rep, a, dc, proc, r);      /* while its source is held */
    give_back(&hold, a, &req, r, proc);
}

/* Why this process cannot look anything up (logged rate-limited), or NULL. */
static const char *unusable(request_rec *r, ms_proc_t *proc)
{
    const char *why = NULL;

    if (!proc)
        why = "no per-process state (child_init did not run)";
    else if (!proc->db_path)
        why = "MirrorSelEngine is on but MirrorSelDatabase is not set";
    else if (!proc->dbs)
        why = "the database handle list could not be created";
    else if (proc->geo_err)
        why = proc->geo_err;
    if (why && proc && log_allowed(proc, proc->geo_err ? MS_LOG_GEO : MS_LOG_CONFIG))
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, MSLOGNO(00006)
                      "%s; serving locally (repeats are not logged for %d s)",
                      why, MS_LOG_INTERVAL);
    return why;
}

/* Decide: fills rep->result, rep->kind and rep->why. Order as in SPEC's
 * request path: not a file, too small, the exclusions, then the lookup.
 *
 * Documents asked for by URL (FILE.meta4, ?meta4, FILE.mirrorlist,
 * ?mirrorlist[=json], FILE.sha256) are answered for any indexed file, also
 * below MirrorSelMinSize, matching MirrorSelExcludeFileMask or for an
 * excluded client: they only describe the file and its mirrors; what those
 * rules suppress is the redirect. Accept negotiation replaces the redirect,
 * so it applies only where a redirect would. */
static void decide(ms_reply_t *rep, request_rec *r, const ms_dir_conf_t *dc,
                   ms_proc_t *proc)
{
    rep->result = MS_RESULT_LOCAL;
    rep->kind = MS_ANSWER_LOCAL;
    if (!find_target(rep, r)) {
        rep->why = "not a regular file";
        return;
    }
    if (origin_path(&rep->path, rep->filename, dc, r->pool) != 0) {
        rep->path = NULL;
        rep->why = "no usable origin-relative path";
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, MSLOGNO(00011)
                      "%s: no usable path under %s",
                      ap_escape_logitem(r->pool, rep->filename), dc->root);
        return;
    }
    if (!rep->by_url) {
        if ((rep->why = file_excluded(rep, dc)) != NULL)
            return;
        /* From here on the file's URL answers each client its own way. */
        rep->per_client = 1;
        if ((rep->why = client_excluded(r, dc)) != NULL)
            return;
        rep->want = want_by_accept(r);
        rep->negotiated = 1;
    }
    else if (rep->want == MS_WANT_HTML) {
        rep->want = want_list_by_accept(r);
        rep->negotiated = 1;
    }
    rep->result = MS_RESULT_ERROR;
    if ((rep->why = unusable(r, proc)) != NULL)
        return;
    lookup(rep, r, dc, proc);
}

/* --- the response (the handle is given back) --- */

/* MIRRORSEL_* for LogFormat; "-" stands for unknown or not applicable. */
static void set_env(request_rec *r, const ms_reply_t *rep)
{
    apr_table_t *e = r->subprocess_env;
    int redirect = rep->kind == MS_ANSWER_REDIRECT;

    apr_table_setn(e, "MIRRORSEL_RESULT", ms_result_name(rep->result));
    apr_table_setn(e, "MIRRORSEL_MIRROR", redirect ? rep->mirror : "-");
    apr_table_setn(e, "MIRRORSEL_TIER", redirect ? rep->tier : "-");
    apr_table_setn(e, "MIRRORSEL_COUNTRY",
                   rep->country[0] ? apr_pstrdup(r->pool, rep->country) : "-");
    apr_table_setn(e, "MIRRORSEL_ASN",
                   rep->asn ? apr_psprintf(r->pool, "%u", (unsigned)rep->asn) : "-");
    apr_table_setn(e, "MIRRORSEL_OUTPUT",
                   redirect || rep->kind == MS_ANSWER_DOCUMENT ? want_names[rep->want]
                   : rep->kind == MS_ANSWER_NOT_FOUND ? "notfound" : "local");
}

static int answer_redirect(request_rec *r, const ms_reply_t *rep)
{
    int i;

    /* ap_die() keeps Location from headers_out; the rest must sit in
     * err_headers_out to survive the generated 302 response. */
    apr_table_setn(r->headers_out, "Location", rep->location);
    apr_table_setn(r->err_headers_out, "X-MirrorSel-Mirror", rep->mirror);
    apr_table_setn(r->err_headers_out, "X-MirrorSel-Tier", rep->tier);
    apr_table_setn(r->err_headers_out, "Cache-Control", "private");
    /* The same URL gives a Metalink or JSON to a client that asks for it. */
    apr_table_mergen(r->err_headers_out, "Vary", "Accept");
    for (i = 0; i < rep->links->nelts; i++)
        apr_table_addn(r->err_headers_out, "Link",
                       APR_ARRAY_IDX(rep->links, i, const char *));
    if (rep->digest) {
        apr_table_setn(r->err_headers_out, "Digest", rep->digest);
        apr_table_setn(r->err_headers_out, "Repr-Digest", rep->repr_digest);
    }
    return HTTP_MOVED_TEMPORARILY;
}

/* 200 with the body built earlier. It depends on the client's location,
 * so it is private; HTML and JSON are never sniffed into something else,
 * and the HTML page may load nothing (it needs only its inline style). */
static int answer_document(request_rec *r, const ms_reply_t *rep)
{
    ap_set_content_type(r, rep->content_type);
    ap_set_content_length(r, (apr_off_t)rep->body_len);
    apr_table_setn(r->headers_out, "Cache-Control", "private");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    if (rep->want == MS_WANT_HTML)
        apr_table_setn(r->headers_out, "Content-Security-Policy",
                       "default-src 'none'; style-src 'unsafe-inline'; "
                       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    if (rep->negotiated)
        apr_table_mergen(r->headers_out, "Vary", "Accept");
    if (rep->disposition)
        apr_table_setn(r->headers_out, "Content-Disposition", rep->disposition);
    if (!r->header_only)
        ap_rwrite(rep->body, (int)rep->body_len, r);
    return OK;
}

static int respond(request_rec *r, const ms_reply_t *rep)
{
    switch (rep->kind) {
    case MS_ANSWER_REDIRECT:
        return answer_redirect(r, rep);
    case MS_ANSWER_DOCUMENT:
        return answer_document(r, rep);
    case MS_ANSWER_NOT_FOUND:
        return HTTP_NOT_FOUND;
    case MS_ANSWER_LOCAL:
    default:
        /* Served here to this client (excluded, no mirror for it, trouble),
         * redirected for others: no shared cache may keep it for them. */
        if (rep->per_client) {
            apr_table_setn(r->headers_out, "Cache-Control", "private");
            apr_table_mergen(r->headers_out, "Vary", "Accept");
        }
        return DECLINED;
    }
}

/* Only what the default handler would serve: no explicit handler other
 * than one derived from the content type (empty when httpd knows no type
 * for the file). */
static int plain_file_handler(const request_rec *r)
{
    const char *h = r->handler;

    return !h || !*h || !strcmp(h, "default-handler")
           || (ap_strchr_c(h, '/') && strncmp(h, "proxy:", 6) != 0);
}

static int ms_handler(request_rec *r)
{
    const ms_dir_conf_t *dc = ap_get_module_config(r->per_dir_config, &mirrorsel_module);
    const ms_srv_conf_t *sc;
    ms_reply_t rep;

    if (dc->engine != 1 || !dc->root || r->method_number != M_GET || r->main
        || !plain_file_handler(r))
        return DECLINED;
    sc = ap_get_module_config(r->server->module_config, &mirrorsel_module);
    memset(&rep, 0, sizeof(rep));
    decide(&rep, r, dc, sc->proc);
    set_env(r, &rep);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, MSLOGNO(00010)
                  "%s: %s%s%s (output %s, mirror %s, tier %s, country %s)",
                  rep.path ? rep.path : ap_escape_logitem(r->pool, r->uri),
                  ms_result_name(rep.result), rep.why ? ": " : "",
                  rep.why ? rep.why : "",
                  apr_table_get(r->subprocess_env, "MIRRORSEL_OUTPUT"),
                  apr_table_get(r->subprocess_env, "MIRRORSEL_MIRROR"),
                  apr_table_get(r->subprocess_env, "MIRRORSEL_TIER"),
                  apr_table_get(r->subprocess_env, "MIRRORSEL_COUNTRY"));
    return respond(r, &rep);
}

static void ms_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(ms_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(ms_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(ms_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(ms_handler, NULL, NULL, APR_HOOK_FIRST);
}

module AP_MODULE_DECLARE_DATA mirrorsel_module = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    create_srv_conf,
    merge_srv_conf,
    ms_cmds,
    ms_register_hooks,
    AP_MODULE_FLAG_NONE
};
