/* ms_probe.h — health probes: one small request per mirror, scheme and
 * address family, all run concurrently through curl multi, each bounded by
 * a timeout, so a run takes about as long as its slowest probe.
 *
 * A probe is up iff the answer is 200 (or 206 to a range request) with the
 * expected size, without a redirect and over verified TLS. */
#ifndef MS_PROBE_H
#define MS_PROBE_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>

typedef struct ms_probe {
    /* what to probe */
    int64_t mirror_id;
    int scheme;                /* MS_HTTP or MS_HTTPS (ms_db.h) */
    int family;                /* 4 or 6: forced with CURLOPT_IPRESOLVE */
    const char *url;           /* the probe file's URL, or the base URL */
    int64_t expect_size;       /* -1: any size (a base URL) */
    const char *ca_file;       /* NULL: the system's CAs */
    /* what came back */
    int up;
    int status;                /* HTTP status, 0 if none */
    int latency_ms;
    const char *error;         /* "" when up */
} ms_probe_t;

/* The address families host resolves to: bit 0 IPv4, bit 1 IPv6; 0 when it
 * does not resolve (*err says why). */
#define MS_HAS_V4 1
#define MS_HAS_V6 2
int ms_probe_families(const char *host, const char **err, apr_pool_t *p);

/* The same for n hosts at once (glibc's getaddrinfo_a: its resolver threads
 * look them up in parallel, and all are waited for): fams[i] and, when 0,
 * errs[i] for hosts[i]. A run of the resolver takes about its slowest
 * lookup, where one host after the other took the sum. */
void ms_probe_families_all(int *fams, const char **errs, const char *const *hosts, int n,
                           apr_pool_t *p);

/* The host part of an http(s) URL ("[::1]" without brackets), or NULL. */
const char *ms_url_host(const char *url, apr_pool_t *p);

/* Run every probe of the array (ms_probe_t *), at most parallel at once,
 * each within timeout_ms; fills their results. Returns 0, or -1 when curl
 * itself cannot run. */
int ms_probe_run(apr_array_header_t *probes, int parallel, long timeout_ms,
                 apr_pool_t *p);

#endif
