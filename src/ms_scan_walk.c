/* ms_scan_walk.c — one mirror's walk: bounds, the origin's want set, and the
 * choice of transport by the scan URL's scheme. */
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include "ms_scan.h"

void ms_scan_limits_default(ms_scan_limits_t *lim)
{
    lim->timeout = 60;
    lim->total_timeout = 3600;
    lim->max_listing = 64 << 20;
    lim->max_entries = 0;          /* 0: 2 × the origin's files + 100,000 */
    lim->max_depth = 64;
    lim->parallel = 8;
}

int64_t ms_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ms_scan_want_add(ms_scan_want_t *w, const char *path, apr_pool_t *p)
{
    char *dir = apr_pstrdup(p, path), *slash;

    apr_hash_set(w->files, apr_pstrdup(p, path), APR_HASH_KEY_STRING, "");
    while ((slash = strrchr(dir, '/')) != NULL) {
        *slash = '\0';
        if (apr_hash_get(w->dirs, dir, APR_HASH_KEY_STRING))
            break;                      /* its parents are in already */
        apr_hash_set(w->dirs, apr_pstrdup(p, dir), APR_HASH_KEY_STRING, "");
    }
    apr_hash_set(w->dirs, "", APR_HASH_KEY_STRING, "");
}

int ms_walk_count(ms_walk_t *w)
{
    if (++w->found->entries > w->lim->max_entries) {
        w->err = apr_psprintf(w->pool, "listing over the bound of %" APR_INT64_T_FMT
                              " entries", (apr_int64_t)w->lim->max_entries);
        return -1;
    }
    return 0;
}

int ms_walk_take(ms_walk_t *w, const char *rel, const ms_listent_t *e)
{
    ms_scan_found_t *f = w->found;

    if (ms_walk_count(w) != 0)
        return -1;
    if (e->is_dir)
        return 0;
    if (apr_hash_get(w->want->files, rel, APR_HASH_KEY_STRING)) {
        ms_listent_t *copy = apr_pmemdup(w->pool, e, sizeof(*e));
        copy->name = rel;
        apr_hash_set(f->files, rel, APR_HASH_KEY_STRING, copy);
    }
    else
        f->extra++;
    return 0;
}

int ms_walk_skip(ms_walk_t *w, const char *rel)
{
    ms_scan_found_t *f = w->found;

    if (ms_walk_count(w) != 0)
        return -1;
    if (f->skipped++ == 0)
        f->skipped_example = apr_pstrdup(w->pool, rel);
    return 0;
}

static int scheme_is(const char *url, const char *scheme)
{
    size_t n = strlen(scheme);
    return strncasecmp(url, scheme, n) == 0 && !strncmp(url + n, "://", 3);
}

int ms_scan_walk(ms_scan_found_t **out, const char *url, const char *subdir,
                 const ms_scan_want_t *want, const ms_scan_auth_t *auth,
                 const ms_scan_limits_t *lim, apr_pool_t *p, const char **err)
{
    ms_walk_t w;
    ms_scan_limits_t bounds = *lim;
    int rc;

    *out = NULL;
    if (bounds.max_entries <= 0)
        bounds.max_entries = 2 * (int64_t)apr_hash_count(want->files) + 100000;
    memset(&w, 0, sizeof(w));
    w.url = url[0] && url[strlen(url) - 1] == '/' ? url : apr_pstrcat(p, url, "/", NULL);
    w.subdir = subdir ? subdir : "";
    w.want = want;
    w.auth = auth;
    w.lim = &bounds;
    w.deadline = ms_now_ms() + (int64_t)bounds.total_timeout * 1000;
    w.pool = p;
    w.found = apr_pcalloc(p, sizeof(*w.found));
    w.found->files = apr_hash_make(p);

    if (scheme_is(url, "rsync"))
        rc = ms_scan_rsync(&w);
    else if (scheme_is(url, "http") || scheme_is(url, "https") || scheme_is(url, "ftp")
             || scheme_is(url, "ftps") || scheme_is(url, "sftp"))
        rc = ms_scan_curl(&w);
    else {
        w.err = apr_psprintf(p, "%s: unsupported scan URL scheme", url);
        rc = -1;
    }
    if (rc != 0) {
        *err = w.err ? w.err : "scan failed";
        return -1;
    }
    *out = w.found;
    return 0;
}
