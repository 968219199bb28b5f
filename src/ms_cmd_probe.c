/* ms_cmd_probe.c — `mirrorsel probe [NAME...] [--jobs N]`: health-check
 * mirrors over each scheme they offer and each address family their hosts
 * resolve to, all at once, and record the results in one short transaction.
 *
 * The request is a HEAD of the small file the mirror's latest scan saw fresh
 * (ms_db_probe_file); a mirror that holds no file fresh is probed at its base
 * URL, which then only has to answer 200. A family the host no longer
 * resolves to is recorded down where it had been probed before. */
#include <getopt.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "ms_cmd_scan.h"
#include "ms_path.h"
#include "ms_probe.h"
#include "ms_scan.h"

typedef struct probe_run {
    ms_cmd_ctx_t *ctx;
    ms_db_t *db;
    apr_array_header_t *probes;     /* ms_probe_t * */
    apr_array_header_t *owners;     /* const ms_mirror_t *, parallel to probes */
    apr_array_header_t *unreached;  /* ms_probe_t *: families gone, recorded down */
    apr_array_header_t *unreached_owners;
    apr_hash_t *resolved;           /* host -> ms_resolved_t (resolve_all) */
} probe_run_t;

static const char *const scheme_names[2] = { "http", "https" };

/* What resolve_all found for url's host; NULL and *err when the URL has
 * none. */
static const ms_resolved_t *host_resolved(probe_run_t *r, const char *url, const char **err)
{
    apr_pool_t *p = r->ctx->pool;
    const char *host = ms_url_host(url, p);
    const ms_resolved_t *res;

    if (!host) {
        *err = apr_psprintf(p, "%s: no host in the URL", url);
        return NULL;
    }
    if (!(res = apr_hash_get(r->resolved, host, APR_HASH_KEY_STRING)))
        *err = apr_psprintf(p, "%s was not resolved", host);   /* resolve_all saw every URL */
    else if (!res->fams)
        *err = res->why;
    return res;
}

/* Every host the mirrors' download URLs name, resolved at once into
 * r->resolved (host_resolved then finds them there). */
static void resolve_all(probe_run_t *r, const ms_mirror_t *const *mirrors, int n)
{
    apr_pool_t *p = r->ctx->pool;
    apr_array_header_t *hosts = apr_array_make(p, 2 * n + 1, sizeof(const char *));
    apr_hash_t *seen = apr_hash_make(p);
    ms_resolved_t *res;
    int i, s;

    for (i = 0; i < n; i++)
        for (s = MS_HTTP; s <= MS_HTTPS; s++) {
            const char *base = s == MS_HTTPS ? mirrors[i]->https_url : mirrors[i]->http_url;
            const char *host = base ? ms_url_host(base, p) : NULL;

            if (host && !apr_hash_get(seen, host, APR_HASH_KEY_STRING)) {
                apr_hash_set(seen, host, APR_HASH_KEY_STRING, host);
                APR_ARRAY_PUSH(hosts, const char *) = host;
            }
        }
    res = apr_pcalloc(p, (apr_size_t)hosts->nelts * sizeof(*res) + 1);
    ms_probe_resolve_all(res, (const char *const *)hosts->elts, hosts->nelts, p);
    for (i = 0; i < hosts->nelts; i++)
        apr_hash_set(r->resolved, APR_ARRAY_IDX(hosts, i, const char *), APR_HASH_KEY_STRING,
                     &res[i]);
}

/* The probes of one mirror. */
static int plan_mirror(probe_run_t *r, const ms_mirror_t *m)
{
    apr_pool_t *p = r->ctx->pool;
    ms_file_t *file = NULL;
    ms_scan_conf_t *conf;
    int rc, s, f;

    rc = ms_db_probe_file(&file, r->db, m->id, p);
    if (rc == MS_ERR || ms_db_scan_conf_get(&conf, r->db, m->id, p) != MS_OK)
        return ms_cmd_fail(MS_EXIT_FAIL, "%s", ms_db_errmsg(r->db));
    for (s = MS_HTTP; s <= MS_HTTPS; s++) {
        const char *base = s == MS_HTTPS ? m->https_url : m->http_url, *err = NULL;
        const ms_resolved_t *res;
        int fams;

        if (!base)
            continue;
        res = host_resolved(r, base, &err);
        fams = res ? res->fams : 0;
        for (f = 0; f < 2; f++) {
            int family = f ? 6 : 4;
            int has = fams & (f ? MS_HAS_V6 : MS_HAS_V4);
            ms_probe_t *pr;

            if (!has && !(m->health[s][f].known || (!fams && family == 4)))
                continue;
            pr = apr_pcalloc(p, sizeof(*pr));
            pr->mirror_id = m->id;
            pr->scheme = s;
            pr->family = family;
            pr->ca_file = conf->ca_file;
            pr->addrs = res ? res->addrs : NULL;
            pr->family_addrs = res ? (family == 6 ? res->v6 : res->v4) : NULL;
            pr->url = file ? ms_url_join(base, ms_path_escape(file->path, p), p) : base;
            pr->expect_size = file ? file->size : -1;
            if (!has) {
                pr->error = fams ? apr_psprintf(p, "host has no IPv%d address", family)
                                 : (err ? err : "cannot resolve the host");
                *(ms_probe_t **)apr_array_push(r->unreached) = pr;
                *(const ms_mirror_t **)apr_array_push(r->unreached_owners) = m;
                continue;
            }
            *(ms_probe_t **)apr_array_push(r->probes) = pr;
            *(const ms_mirror_t **)apr_array_push(r->owners) = m;
        }
    }
    return MS_EXIT_OK;
}

static int store(probe_run_t *r, apr_array_header_t *probes, apr_array_header_t *owners,
                 int64_t now, int verbose, int *up, int *down)
{
    int i;

    for (i = 0; i < probes->nelts; i++) {
        ms_probe_t *pr = APR_ARRAY_IDX(probes, i, ms_probe_t *);
        const ms_mirror_t *m = APR_ARRAY_IDX(owners, i, const ms_mirror_t *);
        const ms_health_t *prev = &m->health[pr->scheme][MS_FAM(pr->family)];
        ms_health_t h;

        memset(&h, 0, sizeof(h));
        h.up = pr->up;
        h.checked = now;
        h.latency_ms = pr->latency_ms;
        h.failures = pr->up ? 0 : (prev->known ? prev->failures : 0) + 1;
        h.status = pr->status;
        h.error = pr->error ? pr->error : "";
        if (ms_db_health_put(r->db, m->id, pr->scheme, pr->family, &h) != MS_OK)
            return MS_ERR;
        if (pr->up)
            (*up)++;
        else
            (*down)++;
        if (verbose || !pr->up)
            printf("%s %s IPv%d: %s%s%s (%d ms%s%s)\n", m->name, scheme_names[pr->scheme],
                   pr->family, pr->up ? "up" : "down", pr->up ? "" : ": ",
                   pr->up ? "" : ms_cmd_printable(h.error, r->ctx->pool), pr->latency_ms,
                   pr->addr && *pr->addr ? ", " : "", pr->addr ? pr->addr : "");
    }
    return MS_OK;
}

static void usage(FILE *out)
{
    fputs(
"usage: mirrorsel probe [NAME...] [--jobs N] [--timeout S] [--verbose]\n"
"Health-check mirrors (every enabled mirror when no NAME is given): a HEAD of\n"
"a small file each holds fresh, over http and https and over IPv4 and IPv6 as\n"
"its host resolves, all at once. Down: no answer in time, an HTTP error, a\n"
"redirect, a wrong size or a TLS failure. Prints the down ones.\n"
"  --jobs N       probes in flight at once (default 256)\n"
"  --timeout S    bound of one probe, in seconds (default 10)\n"
"  -v, --verbose  print every probe, up ones too, with the address probed\n", out);
}

enum { OPT_JOBS = 1, OPT_TIMEOUT, OPT_VERBOSE };

int ms_cmd_probe(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        MS_GLOBAL_LONGOPTS,
        { "jobs",    required_argument, NULL, OPT_JOBS },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "verbose", no_argument,       NULL, OPT_VERBOSE },
        { "help",    no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    probe_run_t r;
    const ms_mirrors_t *all;
    apr_array_header_t *chosen;
    int64_t v, t0;
    int c, rc, i, jobs = 256, timeout = 10, verbose = 0, up = 0, down = 0;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
        if (ms_cmd_global_opt(ctx, c, optarg))
            continue;
        switch (c) {
        case 'h':
            usage(stdout);
            return MS_EXIT_OK;
        case OPT_JOBS:
            if (ms_cmd_parse_int(&v, optarg, 1, 4096) != 0)
                return ms_cmd_fail(MS_EXIT_USAGE, "probe: --jobs takes 1 to 4096");
            jobs = (int)v;
            break;
        case OPT_TIMEOUT:
            if (ms_cmd_parse_int(&v, optarg, 1, 600) != 0)
                return ms_cmd_fail(MS_EXIT_USAGE, "probe: --timeout takes 1 to 600 seconds");
            timeout = (int)v;
            break;
        case 'v':
        case OPT_VERBOSE:
            verbose = 1;
            break;
        default:
            return ms_cmd_bad_opt("probe", c, argv);
        }
    }
    memset(&r, 0, sizeof(r));
    r.ctx = ctx;
    r.probes = apr_array_make(ctx->pool, 64, sizeof(ms_probe_t *));
    r.owners = apr_array_make(ctx->pool, 64, sizeof(const ms_mirror_t *));
    r.unreached = apr_array_make(ctx->pool, 4, sizeof(ms_probe_t *));
    r.unreached_owners = apr_array_make(ctx->pool, 4, sizeof(const ms_mirror_t *));
    r.resolved = apr_hash_make(ctx->pool);
    if ((rc = ms_cmd_open_db(&r.db, ctx, MS_DB_READWRITE)) != MS_EXIT_OK)
        return rc;
    chosen = apr_array_make(ctx->pool, 64, sizeof(const ms_mirror_t *));
    if (optind < argc) {
        for (i = optind; i < argc; i++) {
            ms_mirror_t *m;
            rc = ms_db_mirror_get(&m, r.db, argv[i], ctx->pool);
            if (rc == MS_NOTFOUND)
                return ms_cmd_fail(MS_EXIT_FAIL, "probe: no mirror named '%s'",
                                   ms_cmd_printable(argv[i], ctx->pool));
            if (rc != MS_OK)
                return ms_cmd_fail(MS_EXIT_FAIL, "%s", ms_db_errmsg(r.db));
            APR_ARRAY_PUSH(chosen, const ms_mirror_t *) = m;
        }
    }
    else {
        if (ms_db_mirrors(&all, r.db) != MS_OK)
            return ms_cmd_fail(MS_EXIT_FAIL, "%s", ms_db_errmsg(r.db));
        for (i = 0; i < all->count; i++)
            if (all->mirror[i]->enabled)
                APR_ARRAY_PUSH(chosen, const ms_mirror_t *) = all->mirror[i];
    }
    resolve_all(&r, (const ms_mirror_t *const *)chosen->elts, chosen->nelts);
    for (i = 0; i < chosen->nelts; i++)
        if ((rc = plan_mirror(&r, APR_ARRAY_IDX(chosen, i, const ms_mirror_t *))) != MS_EXIT_OK)
            return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ms_cmd_fail(MS_EXIT_FAIL, "probe: cannot initialise libcurl");
    t0 = ms_now_ms();
    if (isatty(2))
        fprintf(stderr, "probing %d targets ...\n", r.probes->nelts);
    rc = ms_probe_run(r.probes, jobs, (long)timeout * 1000, ctx->pool);
    curl_global_cleanup();
    if (rc != 0)
        return ms_cmd_fail(MS_EXIT_FAIL, "probe: libcurl failed");
    /* The snapshot's health (for the failure counts) must stay valid while
     * storing: named mirrors are our own copies; a snapshot is not reloaded
     * by writes within this transaction. */
    if (ms_db_begin(r.db) != MS_OK
        || store(&r, r.probes, r.owners, (int64_t)time(NULL), verbose, &up, &down) != MS_OK
        || store(&r, r.unreached, r.unreached_owners, (int64_t)time(NULL), verbose,
                 &up, &down) != MS_OK
        || ms_db_commit(r.db) != MS_OK) {
        ms_db_rollback(r.db);
        return ms_cmd_fail(MS_EXIT_FAIL, "probe: %s", ms_db_errmsg(r.db));
    }
    printf("probed %d: %d up, %d down (%.2f s)\n", up + down, up, down,
           (double)(ms_now_ms() - t0) / 1000.0);
    return MS_EXIT_OK;
}
