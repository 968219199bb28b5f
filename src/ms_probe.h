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
    const char *addrs;         /* the host's addresses as ms_probe_resolve_all
                                * found them, handed to curl (CURLOPT_RESOLVE)
                                * so that it does not look the host up again;
                                * NULL: curl looks it up */
    const char *family_addrs;  /* this family's of them, for the report */
    /* what came back */
    int up;
    int status;                /* HTTP status, 0 if none */
    int latency_ms;
    const char *error;         /* "" when up */
    const char *addr;          /* the address connected to; when none was
                                * reached, family_addrs; "" when none */
} ms_probe_t;

/* What a host resolved to. */
#define MS_HAS_V4 1
#define MS_HAS_V6 2
typedef struct ms_resolved {
    int fams;                  /* MS_HAS_V4 | MS_HAS_V6; 0: it does not resolve */
    const char *addrs;         /* "ADDR[,ADDR]...", IPv6 in brackets, as
                                * CURLOPT_RESOLVE takes them; NULL when none */
    const char *v4, *v6;       /* each family's, as written, comma-separated;
                                * NULL when none */
    const char *why;           /* when it does not resolve */
} ms_resolved_t;

/* n hosts looked up at once (glibc's getaddrinfo_a: its resolver threads,
 * 20 by default, look them up in parallel, and all are waited for, so a run
 * takes about its slowest lookup per 20 hosts, not the sum): out[i] for
 * hosts[i]. */
void ms_probe_resolve_all(ms_resolved_t *out, const char *const *hosts, int n, apr_pool_t *p);

/* The host part of an http(s) URL ("[::1]" without brackets), or NULL. */
const char *ms_url_host(const char *url, apr_pool_t *p);

/* Run every probe of the array (ms_probe_t *), at most parallel at once,
 * each within timeout_ms; fills their results. Returns 0, or -1 when curl
 * itself cannot run. */
int ms_probe_run(apr_array_header_t *probes, int parallel, long timeout_ms,
                 apr_pool_t *p);

#endif
