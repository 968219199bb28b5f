/* ms_cmd_mirror_show.c — `mirrorsel mirror list|show [--json]`: the registry
 * as a table, one mirror in full, or either as JSON. Each mirror comes with
 * its health per scheme and address family, its latest scan and its scan
 * settings (CA file, SSH key, known_hosts). */
#include <getopt.h>
#include <string.h>

#include <apr_strings.h>

#include "ms_cmd.h"
#include "ms_cmd_scan.h"
#include "ms_net.h"
#include "ms_path.h"

static const char *const scheme_names[2] = { "http", "https" };
static const char *const family_keys[2] = { "ipv4", "ipv6" };
static const char *const family_names[2] = { "IPv4", "IPv6" };

static const char *scheme_url(const ms_mirror_t *m, int scheme)
{
    return scheme == MS_HTTPS ? m->https_url : m->http_url;
}

static const char *health_state(const ms_health_t *h)
{
    return !h->known ? "never" : h->up ? "up" : "down";
}

/* --- JSON --- */

static void json_health(ms_jw_t *j, const ms_mirror_t *m)
{
    const ms_health_t *h;
    int s, f;

    ms_jw_object(j, "health");
    for (s = 0; s < 2; s++) {
        if (!scheme_url(m, s))
            continue;
        ms_jw_object(j, scheme_names[s]);
        for (f = 0; f < 2; f++) {
            h = &m->health[s][f];
            ms_jw_object(j, family_keys[f]);
            ms_jw_str(j, "state", health_state(h));
            if (h->known) {
                ms_jw_int(j, "checked", h->checked);
                ms_jw_int(j, "latency_ms", h->latency_ms);
                ms_jw_int(j, "failures", h->failures);
                ms_jw_int(j, "status", h->status);
                ms_jw_str(j, "error", (h->error && *h->error) ? h->error : NULL);
            }
            ms_jw_end(j);
        }
        ms_jw_end(j);
    }
    ms_jw_end(j);
}

static void json_codes(ms_jw_t *j, const char *key, const char *list, apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, list ? list : ""), *tok, *last;

    ms_jw_array(j, key);
    for (tok = apr_strtok(copy, ",", &last); tok; tok = apr_strtok(NULL, ",", &last))
        ms_jw_str(j, NULL, tok);
    ms_jw_end(j);
}

static void json_prefixes(ms_jw_t *j, const ms_mirror_t *m)
{
    char buf[64];
    int i;

    ms_jw_array(j, "prefixes");
    for (i = 0; m->prefixes && i < m->prefixes->nelts; i++)
        ms_jw_str(j, NULL, ms_cidr_format(&APR_ARRAY_IDX(m->prefixes, i, ms_cidr_t),
                                            buf, sizeof(buf)));
    ms_jw_end(j);
}

/* The scan settings: "ca_file", "ssh_key", "known_hosts" (null when unset). */
static void json_scan_conf(ms_jw_t *j, ms_db_t *db, int64_t mirror_id, apr_pool_t *p)
{
    ms_scan_conf_t *c = NULL;

    if (ms_db_scan_conf_get(&c, db, mirror_id, p) != MS_OK)
        c = apr_pcalloc(p, sizeof(*c));
    ms_jw_str(j, "ca_file", (c->ca_file && *c->ca_file) ? c->ca_file : NULL);
    ms_jw_str(j, "ssh_key", (c->ssh_key && *c->ssh_key) ? c->ssh_key : NULL);
    ms_jw_str(j, "known_hosts", (c->known_hosts && *c->known_hosts) ? c->known_hosts : NULL);
}

/* One mirror as a JSON object; key as for ms_jw_object. */
static void json_mirror(ms_jw_t *j, const char *key, ms_db_t *db, const ms_mirror_t *m,
                        apr_pool_t *p)
{
    ms_jw_object(j, key);
    ms_jw_int(j, "id", m->id);
    ms_jw_str(j, "name", m->name);
    ms_jw_bool(j, "enabled", m->enabled);
    ms_jw_str(j, "http_url", m->http_url);
    ms_jw_str(j, "https_url", m->https_url);
    ms_jw_str(j, "scan_url", ms_url_hide_password(m->scan_url, m->scan_url, p));
    json_scan_conf(j, db, m->id, p);
    ms_jw_str(j, "country", m->country[0] ? m->country : NULL);
    ms_jw_str(j, "continent", m->continent[0] ? m->continent : NULL);
    if (m->has_coords) {
        ms_jw_num(j, "lat", m->lat);
        ms_jw_num(j, "lon", m->lon);
    }
    else {
        ms_jw_null(j, "lat");
        ms_jw_null(j, "lon");
    }
    if (m->asn)
        ms_jw_int(j, "asn", m->asn);
    else
        ms_jw_null(j, "asn");
    json_prefixes(j, m);
    ms_jw_int(j, "weight", m->weight);
    ms_jw_int(j, "max_size", m->max_size);
    ms_jw_str(j, "scope", ms_scope_name(m->scope));
    json_codes(j, "other_countries", m->other_countries, p);
    ms_jw_bool(j, "fallback", m->fallback);
    json_health(j, m);
    ms_cmd_scan_show_json(j, db, m, p);
    ms_jw_end(j);
}

/* --- text --- */

/* "http/4:up http/6:never https/4:down ..." for the schemes the mirror
 * offers, or "-" when it offers none. */
static const char *health_summary(const ms_mirror_t *m, apr_pool_t *p)
{
    const char *s = "";
    int sc, f;

    for (sc = 0; sc < 2; sc++)
        for (f = 0; f < 2; f++)
            if (scheme_url(m, sc))
                s = apr_psprintf(p, "%s %s/%d:%s", s, scheme_names[sc], f ? 6 : 4,
                                 health_state(&m->health[sc][f]));
    return *s ? s + 1 : "-";
}

static const char *urls_text(const ms_mirror_t *m, apr_pool_t *p)
{
    if (m->http_url && m->https_url)
        return apr_pstrcat(p, m->http_url, " ", m->https_url, NULL);
    return m->http_url ? m->http_url : m->https_url ? m->https_url : "-";
}

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

static void text_list(ms_db_t *db, const ms_mirrors_t *ms, apr_pool_t *p)
{
    const ms_mirror_t *m;
    const char **health = apr_pcalloc(p, sizeof(char *) * (size_t)(ms->count + 1));
    const char **scan = apr_pcalloc(p, sizeof(char *) * (size_t)(ms->count + 1));
    int i, w = 4, wh = 6, ws = 9;

    for (i = 0; i < ms->count; i++) {
        m = ms->mirror[i];
        health[i] = health_summary(m, p);
        scan[i] = ms_cmd_scan_summary(db, m, p);
        w = max_int(w, (int)strlen(m->name));
        wh = max_int(wh, (int)strlen(health[i]));
        ws = max_int(ws, (int)strlen(scan[i]));
    }
    printf("%-*s  %-8s  %-2s  %-4s  %-10s  %7s  %-9s  %-8s  %-*s  %-*s  %s\n", w, "NAME",
           "STATE", "CC", "CONT", "ASN", "WEIGHT", "SCOPE", "FALLBACK", wh, "HEALTH",
           ws, "LAST SCAN", "URLS");
    for (i = 0; i < ms->count; i++) {
        m = ms->mirror[i];
        printf("%-*s  %-8s  %-2s  %-4s  %-10s  %7d  %-9s  %-8s  %-*s  %-*s  %s\n", w, m->name,
               m->enabled ? "enabled" : "disabled", m->country[0] ? m->country : "-",
               m->continent[0] ? m->continent : "-",
               m->asn ? apr_psprintf(p, "%u", (unsigned)m->asn) : "-", m->weight,
               ms_scope_name(m->scope), m->fallback ? "yes" : "no", wh, health[i],
               ws, scan[i], urls_text(m, p));
    }
}

static void text_health(const ms_mirror_t *m, apr_pool_t *p)
{
    const ms_health_t *h;
    int s, f;

    printf("health:\n");
    for (s = 0; s < 2; s++) {
        if (!scheme_url(m, s))
            continue;
        for (f = 0; f < 2; f++) {
            h = &m->health[s][f];
            printf("  %-5s  %s  ", scheme_names[s], family_names[f]);
            if (!h->known) {
                printf("never probed\n");
                continue;
            }
            printf("%-4s  checked %s  latency %d ms  failures %d  status %d%s%s\n",
                   health_state(h), ms_cmd_time(h->checked, p), h->latency_ms,
                   h->failures, h->status, (h->error && *h->error) ? "  error: " : "",
                   (h->error && *h->error) ? ms_cmd_printable(h->error, p) : "");
        }
    }
}

static const char *prefixes_text(const ms_mirror_t *m, apr_pool_t *p)
{
    const char *s = "";
    char buf[64];
    int i;

    for (i = 0; m->prefixes && i < m->prefixes->nelts; i++)
        s = apr_pstrcat(p, s, " ", ms_cidr_format(&APR_ARRAY_IDX(m->prefixes, i, ms_cidr_t),
                                                  buf, sizeof(buf)), NULL);
    return *s ? s + 1 : "-";
}

static void text_show(const ms_mirror_t *m, apr_pool_t *p)
{
    printf("name:            %s\n", m->name);
    printf("id:              %lld\n", (long long)m->id);
    printf("state:           %s\n", m->enabled ? "enabled" : "disabled");
    printf("http url:        %s\n", m->http_url ? m->http_url : "-");
    printf("https url:       %s\n", m->https_url ? m->https_url : "-");
    printf("scan url:        %s\n",
           m->scan_url ? ms_url_hide_password(m->scan_url, m->scan_url, p) : "-");
    printf("country:         %s\n", m->country[0] ? m->country : "-");
    printf("continent:       %s\n", m->continent[0] ? m->continent : "-");
    if (m->has_coords)
        printf("coordinates:     %.4f, %.4f\n", m->lat, m->lon);
    else
        printf("coordinates:     -\n");
    if (m->asn)
        printf("asn:             %u\n", (unsigned)m->asn);
    else
        printf("asn:             -\n");
    printf("prefixes:        %s\n", prefixes_text(m, p));
    printf("weight:          %d\n", m->weight);
    if (m->max_size)
        printf("max size:        %lld\n", (long long)m->max_size);
    else
        printf("max size:        0 (no limit)\n");
    printf("scope:           %s\n", ms_scope_name(m->scope));
    printf("other countries: %s\n", *m->other_countries ? m->other_countries : "-");
    printf("fallback:        %s\n", m->fallback ? "yes" : "no");
    text_health(m, p);
}

/* --- the commands --- */

static int list_show_args(int *json, const char **name, ms_cmd_ctx_t *ctx,
                          const char *cmd, int argc, char **argv)
{
    static const struct option longopts[] = {
        MS_GLOBAL_LONGOPTS,
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c, want = name ? 1 : 0;

    *json = 0;
    while ((c = getopt_long(argc, argv, ":hj", longopts, NULL)) != -1) {
        if (ms_cmd_global_opt(ctx, c, optarg))
            continue;
        if (c == 'j') {
            *json = 1;
            continue;
        }
        if (c == 'h') {
            printf("usage: mirrorsel %s%s [--json]\n"
                   "  -j, --json  as one JSON document\n", cmd, name ? " NAME" : "");
            return -1;
        }
        return ms_cmd_bad_opt(cmd, c, argv);
    }
    if (argc - optind != want)
        return ms_cmd_fail(MS_EXIT_USAGE, want ? "%s: one mirror NAME expected"
                           : "%s: unexpected argument", cmd);
    if (name)
        *name = argv[optind];
    return MS_EXIT_OK;
}

int ms_cmd_mirror_list(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    const ms_mirrors_t *ms = NULL;
    ms_db_t *db = NULL;
    ms_jw_t j;
    int json, rc, i;

    if ((rc = list_show_args(&json, NULL, ctx, "mirror list", argc, argv)) != MS_EXIT_OK)
        return rc < 0 ? MS_EXIT_OK : rc;
    if ((rc = ms_cmd_open_db(&db, ctx, MS_DB_READONLY)) != MS_EXIT_OK)
        return rc;
    if (ms_db_mirrors(&ms, db) != MS_OK) {
        rc = ms_cmd_fail(MS_EXIT_FAIL, "%s", ms_db_errmsg(db));
        goto leave;
    }
    if (json) {
        ms_cmd_json_begin(&j, ctx->pool);
        ms_jw_object(&j, NULL);
        ms_jw_array(&j, "mirrors");
        for (i = 0; i < ms->count; i++)
            json_mirror(&j, NULL, db, ms->mirror[i], ctx->pool);
        ms_jw_end(&j);
        ms_jw_end(&j);
        rc = ms_cmd_json_print(&j);
    }
    else {
        text_list(db, ms, ctx->pool);
    }
leave:
    ms_db_close(db);
    return rc;
}

int ms_cmd_mirror_show(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    ms_mirror_t *m = NULL;
    const char *name = NULL;
    ms_db_t *db = NULL;
    ms_jw_t j;
    int json, rc;

    if ((rc = list_show_args(&json, &name, ctx, "mirror show", argc, argv)) != MS_EXIT_OK)
        return rc < 0 ? MS_EXIT_OK : rc;
    if ((rc = ms_cmd_mirror_name_check("mirror show", name)) != MS_EXIT_OK)
        return rc;
    if ((rc = ms_cmd_open_db(&db, ctx, MS_DB_READONLY)) != MS_EXIT_OK)
        return rc;
    rc = ms_db_mirror_get(&m, db, name, ctx->pool);
    if (rc == MS_NOTFOUND) {
        rc = ms_cmd_fail(MS_EXIT_FAIL, "mirror %s: no such mirror", name);
        goto leave;
    }
    if (rc != MS_OK) {
        rc = ms_cmd_fail(MS_EXIT_FAIL, "%s", ms_db_errmsg(db));
        goto leave;
    }
    if (json) {
        ms_cmd_json_begin(&j, ctx->pool);
        json_mirror(&j, NULL, db, m, ctx->pool);
        rc = ms_cmd_json_print(&j);
    }
    else {
        text_show(m, ctx->pool);
        ms_cmd_scan_show_text(stdout, db, m, ctx->pool);
    }
leave:
    ms_db_close(db);
    return rc;
}
