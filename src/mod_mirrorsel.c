/* mod_mirrorsel.c — the httpd glue: directives, per-process state, handler.
 *
 * Nothing clever lives here. The handler turns a request into an
 * ms_request_t, asks ms_lookup() (the same call `mirrorsel explain` makes)
 * and turns the answer into a response: a 302 to the chosen mirror, or
 * DECLINED so that httpd serves the file itself. Every decision under
 * MirrorSelEngine on is made visible in MIRRORSEL_* environment variables.
 *
 * Per process: the geo databases are opened once (child_init); database
 * handles live in a resource list, one per concurrently running request,
 * each in a pool of its own with its own allocator, so a handle never shares
 * memory with another thread. A handle is taken for one lookup and given
 * back straight after; everything the response needs is copied out of the
 * answer into r->pool first, because the mirror snapshot an answer points
 * into belongs to the handle. */
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

#include <apr_atomic.h>
#include <apr_fnmatch.h>
#include <apr_lib.h>
#include <apr_reslist.h>
#include <apr_strings.h>

#include "ms_country.h"
#include "ms_db.h"
#include "ms_geo.h"
#include "ms_lookup.h"
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
#define MS_LOG_INTERVAL      60              /* seconds between repeats of one kind */
#define MS_ACQUIRE_TIMEOUT   apr_time_from_sec(10)

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
    ms_proc_t *proc;            /* per process, not merged */
} ms_srv_conf_t;

typedef struct ms_regex {
    ap_regex_t *re;             /* NULL: unset */
    const char *src;            /* as configured, for the debug log */
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
    return apr_pcalloc(p, sizeof(ms_srv_conf_t));
}

static void *merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    const ms_srv_conf_t *base = basev, *add = addv;
    ms_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->db_path    = add->db_path    ? add->db_path    : base->db_path;
    c->geoip_path = add->geoip_path ? add->geoip_path : base->geoip_path;
    c->asn_path   = add->asn_path   ? add->asn_path   : base->asn_path;
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
    c->file_mask = add->file_mask.re ? add->file_mask : base->file_mask;
    c->ua_mask = add->ua_mask.re ? add->ua_mask : base->ua_mask;
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

/* A regex directive: cmd->info is the offset of its ms_regex_t. */
static const char *set_regex(cmd_parms *cmd, void *mconfig, const char *arg)
{
    int offset = (int)(long)cmd->info;
    ms_regex_t *slot = (ms_regex_t *)((char *)mconfig + offset);
    ap_regex_t *re;

    if (!*arg)
        return apr_psprintf(cmd->pool, "%s: empty regular expression", cmd->cmd->name);
    re = ap_pregcomp(cmd->pool, arg, AP_REG_EXTENDED | AP_REG_NOSUB);
    if (!re)
        return apr_psprintf(cmd->pool, "%s: cannot compile regular expression '%s'",
                            cmd->cmd->name, arg);
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
    AP_INIT_TAKE1("MirrorSelMinSize", set_min_size, NULL, DIR_CTX,
                  "BYTES: smaller files are served locally (default 4096)"),
    AP_INIT_TAKE1("MirrorSelExcludeFileMask", set_regex,
                  (void *)APR_OFFSETOF(ms_dir_conf_t, file_mask), DIR_CTX,
                  "REGEX: matching origin-relative paths are served locally"),
    AP_INIT_TAKE1("MirrorSelExcludeUserAgent", set_regex,
                  (void *)APR_OFFSETOF(ms_dir_conf_t, ua_mask), DIR_CTX,
                  "REGEX: clients whose User-Agent matches are served locally"),
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
    int max_handles;
    apr_uint32_t logged[MS_LOG_KINDS];   /* when each kind was last logged */
};

/* One database handle, in an unmanaged pool of its own. */
typedef struct ms_handle {
    apr_pool_t *pool;
    ms_db_t *db;
} ms_handle_t;

/* 1 when a message of this kind may be logged now (and claims the slot). */
static int log_allowed(ms_proc_t *proc, int kind)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&proc->logged[kind]);

    if (last && now - last < MS_LOG_INTERVAL)
        return 0;
    return apr_atomic_cas32(&proc->logged[kind], now, last) == last;
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
    }
}

static void proc_create_dbs(ms_proc_t *proc, apr_pool_t *p)
{
    int threads = 1;
    apr_status_t rv;

    if (!proc->db_path)
        return;
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1)
        threads = 1;
    /* Room for mod_http2's own workers, which may outnumber ThreadsPerChild.
     * Handles are opened on demand (min 0: a missing database must not stop
     * the child) and kept while idle (smax = hmax, no ttl). */
    proc->max_handles = 2 * threads;
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

static ms_proc_t *proc_create(apr_pool_t *pchild, server_rec *s, const ms_srv_conf_t *sc)
{
    apr_pool_t *p;
    ms_proc_t *proc;

    apr_pool_create(&p, pchild);
    apr_pool_tag(p, "mirrorsel-proc");
    proc = apr_pcalloc(p, sizeof(*proc));
    proc->s = s;
    proc->db_path = sc->db_path;
    proc->geoip_path = sc->geoip_path;
    proc->asn_path = sc->asn_path;
    proc_open_geo(proc, p);
    proc_create_dbs(proc, p);
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
 * main server's paths share its state. Closed by cleanups on pchild. */
static void ms_child_init(apr_pool_t *pchild, server_rec *main_s)
{
    server_rec *s, *t;

    for (s = main_s; s; s = s->next) {
        ms_srv_conf_t *sc = ap_get_module_config(s->module_config, &mirrorsel_module);

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

/* How a request is answered. The later outputs (Link headers, Metalink,
 * mirror list) become further kinds, each with its own answer function. */
typedef enum {
    MS_ANSWER_LOCAL,            /* DECLINED: httpd serves the file */
    MS_ANSWER_REDIRECT,         /* 302 to targets[0] */
} ms_answer_kind_t;

/* A ranked mirror, copied out of the handle's snapshot into r->pool. */
typedef struct ms_target {
    const char *name;
    const char *base_url;
    int tier;
    double distance_km;         /* < 0 unknown */
    char country[3];
} ms_target_t;

/* Everything the response needs, in r->pool. */
typedef struct ms_reply {
    int result;                 /* MS_RESULT_* */
    ms_answer_kind_t kind;
    const char *why;            /* for the debug log: what decided it */
    const char *path;           /* origin-relative, normalised; NULL before */
    char country[3];            /* client's, "" unknown */
    uint32_t asn;               /* client's, 0 unknown */
    const ms_file_t *file;      /* origin file as indexed, or NULL */
    apr_array_header_t *targets;    /* ms_target_t, chosen first */
} ms_reply_t;

/* 1 when every byte of s is printable ASCII (0x20-0x7e; no space when
 * url): fit for a response header, whatever the database holds. */
static int header_safe(const char *s, int url)
{
    const unsigned char *u = (const unsigned char *)s;

    if (!s || !*s)
        return 0;
    for (; *u; u++) {
        if (*u < 0x20 || *u > 0x7e || (url && *u == ' '))
            return 0;
    }
    return 1;
}

/* The origin-relative path of r->filename under the engine's root;
 * -1 when it is not under the root or does not normalise. */
static int origin_path(const char **out, request_rec *r, const ms_dir_conf_t *dc)
{
    size_t n = strlen(dc->root);

    if (strncmp(r->filename, dc->root, n) != 0)
        return -1;
    return ms_path_normalise(out, r->filename + n, r->pool);
}

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

/* Copy what the response needs out of the answer, which points into the
 * handle's mirror snapshot. Entries unfit for a header are skipped. */
static void take_answer(ms_reply_t *rep, const ms_answer_t *a, ms_proc_t *proc,
                        request_rec *r)
{
    int i, n;

    rep->result = a->result;
    rep->file = a->file;
    memcpy(rep->country, a->client.loc.country, sizeof(rep->country));
    rep->asn = a->client.loc.asn;
    if (a->result != MS_RESULT_REDIRECT)
        return;
    n = a->choice->ranked->nelts;
    rep->targets = apr_array_make(r->pool, n, sizeof(ms_target_t));
    for (i = 0; i < n; i++) {
        const ms_ranked_t *rk = &APR_ARRAY_IDX(a->choice->ranked, i, ms_ranked_t);
        ms_target_t *t;

        if (!header_safe(rk->mirror->name, 0) || !header_safe(rk->base_url, 1)) {
            if (log_allowed(proc, MS_LOG_BAD_VALUE))
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, MSLOGNO(00009)
                              "mirror #%" APR_INT64_T_FMT " has a name or base URL "
                              "with bytes unfit for a header; skipped",
                              (apr_int64_t)rk->mirror->id);
            continue;
        }
        t = apr_array_push(rep->targets);
        t->name = apr_pstrdup(r->pool, rk->mirror->name);
        t->base_url = apr_pstrdup(r->pool, rk->base_url);
        t->tier = rk->tier;
        t->distance_km = rk->distance_km;
        memcpy(t->country, rk->mirror->country, sizeof(t->country));
    }
    if (rep->targets->nelts == 0)
        rep->result = MS_RESULT_ERROR;
}

/* Ask the core. On any trouble the reply says MS_RESULT_ERROR. */
static void lookup(ms_reply_t *rep, request_rec *r, const ms_dir_conf_t *dc,
                   ms_proc_t *proc)
{
    ms_request_t req;
    ms_answer_t *a;
    ms_handle_t *h;

    memset(&req, 0, sizeof(req));
    req.path = rep->path;
    req.client_ip = r->useragent_ip;
    req.country = country_override(r);
    req.https = !strcmp(ap_http_scheme(r), "https");
    req.have_stat = 1;
    req.size = r->finfo.size;
    req.mtime = apr_time_sec(r->finfo.mtime);
    req.spread = dc_spread(dc);

    if (!(h = db_acquire(proc, r))) {
        rep->result = MS_RESULT_ERROR;
        return;
    }
    ms_lookup(&a, h->db, proc->geo, &req, r->pool);
    take_answer(rep, a, proc, r);
    if (a->result == MS_RESULT_ERROR) {
        /* A handle that failed may be broken (corrupt file, schema changed
         * under it): the next request opens a new one. */
        apr_reslist_invalidate(proc->dbs, h);
        if (log_allowed(proc, MS_LOG_DB_QUERY))
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, MSLOGNO(00005)
                          "lookup of %s failed: %s; serving locally (repeats are "
                          "not logged for %d s)", rep->path,
                          a->error ? a->error : "unknown error", MS_LOG_INTERVAL);
    }
    else
        apr_reslist_release(proc->dbs, h);
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
 * request path: not a file, too small, the exclusions, then the lookup. */
static void decide(ms_reply_t *rep, request_rec *r, const ms_dir_conf_t *dc,
                   ms_proc_t *proc)
{
    rep->result = MS_RESULT_LOCAL;
    rep->kind = MS_ANSWER_LOCAL;
    if (r->finfo.filetype != APR_REG || !r->filename) {
        rep->why = "not a regular file";
        return;
    }
    if (r->path_info && *r->path_info) {
        rep->why = "path info after the file name";
        return;
    }
    if (r->finfo.size < dc_min_size(dc)) {
        rep->why = "smaller than MirrorSelMinSize";
        return;
    }
    if (origin_path(&rep->path, r, dc) != 0) {
        rep->path = NULL;
        rep->why = "no usable origin-relative path";
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, MSLOGNO(00011)
                      "%s: no usable path under %s",
                      ap_escape_logitem(r->pool, r->filename), dc->root);
        return;
    }
    rep->result = MS_RESULT_EXCLUDED;
    if (dc->file_mask.re && !ap_regexec(dc->file_mask.re, rep->path, 0, NULL, 0)) {
        rep->why = "MirrorSelExcludeFileMask";
        return;
    }
    if ((rep->why = client_excluded(r, dc)) != NULL)
        return;
    rep->result = MS_RESULT_ERROR;
    if ((rep->why = unusable(r, proc)) != NULL)
        return;
    lookup(rep, r, dc, proc);
    if (rep->result == MS_RESULT_REDIRECT)
        rep->kind = MS_ANSWER_REDIRECT;
}

/* MIRRORSEL_* for LogFormat; "-" stands for unknown or not applicable. */
static void set_env(request_rec *r, const ms_reply_t *rep)
{
    const ms_target_t *t = NULL;
    apr_table_t *e = r->subprocess_env;

    if (rep->result == MS_RESULT_REDIRECT && rep->targets && rep->targets->nelts)
        t = &APR_ARRAY_IDX(rep->targets, 0, ms_target_t);
    apr_table_setn(e, "MIRRORSEL_RESULT", ms_result_name(rep->result));
    apr_table_setn(e, "MIRRORSEL_MIRROR", t ? t->name : "-");
    apr_table_setn(e, "MIRRORSEL_TIER", t ? ms_tier_name(t->tier) : "-");
    apr_table_setn(e, "MIRRORSEL_COUNTRY",
                   rep->country[0] ? apr_pstrdup(r->pool, rep->country) : "-");
    apr_table_setn(e, "MIRRORSEL_ASN",
                   rep->asn ? apr_psprintf(r->pool, "%u", (unsigned)rep->asn) : "-");
}

static int answer_redirect(request_rec *r, const ms_reply_t *rep)
{
    const ms_target_t *t = &APR_ARRAY_IDX(rep->targets, 0, ms_target_t);
    const char *url = ms_url_join(t->base_url, ms_path_escape(rep->path, r->pool),
                                  r->pool);

    /* ap_die() keeps Location from headers_out; the rest must sit in
     * err_headers_out to survive the generated 302 response. */
    apr_table_setn(r->headers_out, "Location", url);
    apr_table_setn(r->err_headers_out, "X-MirrorSel-Mirror", t->name);
    apr_table_setn(r->err_headers_out, "X-MirrorSel-Tier", ms_tier_name(t->tier));
    apr_table_setn(r->err_headers_out, "Cache-Control", "private");
    return HTTP_MOVED_TEMPORARILY;
}

static int respond(request_rec *r, const ms_reply_t *rep)
{
    switch (rep->kind) {
    case MS_ANSWER_REDIRECT:
        return answer_redirect(r, rep);
    case MS_ANSWER_LOCAL:
    default:
        return DECLINED;
    }
}

/* Only what the default handler would serve: no explicit handler other
 * than one derived from the content type. */
static int plain_file_handler(const request_rec *r)
{
    const char *h = r->handler;

    return !h || !strcmp(h, "default-handler")
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
                  "%s: %s%s%s (mirror %s, tier %s, country %s)",
                  rep.path ? rep.path : ap_escape_logitem(r->pool, r->uri),
                  ms_result_name(rep.result), rep.why ? ": " : "",
                  rep.why ? rep.why : "",
                  apr_table_get(r->subprocess_env, "MIRRORSEL_MIRROR"),
                  apr_table_get(r->subprocess_env, "MIRRORSEL_TIER"),
                  apr_table_get(r->subprocess_env, "MIRRORSEL_COUNTRY"));
    return respond(r, &rep);
}

static void ms_register_hooks(apr_pool_t *p)
{
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
