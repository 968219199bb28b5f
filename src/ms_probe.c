/* ms_probe.c — health probes through curl multi (see ms_probe.h). */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <apr_strings.h>

#include "ms_db.h"
#include "ms_probe.h"

#ifndef MS_VERSION
#define MS_VERSION "0.1.0"
#endif

const char *ms_url_host(const char *url, apr_pool_t *p)
{
    const char *s = strstr(url, "://"), *end, *at;

    if (!s)
        return NULL;
    s += 3;
    end = s + strcspn(s, "/?#");
    at = memchr(s, '@', (size_t)(end - s));
    if (at)
        s = at + 1;
    if (*s == '[') {
        const char *close = memchr(s, ']', (size_t)(end - s));
        if (!close || close == s + 1)
            return NULL;
        return apr_pstrndup(p, s + 1, (size_t)(close - s - 1));
    }
    end = s + strcspn(s, ":/?#");
    if (end == s)
        return NULL;
    return apr_pstrndup(p, s, (size_t)(end - s));
}

static void resolve_hints(struct addrinfo *hints)
{
    memset(hints, 0, sizeof(*hints));
    hints->ai_family = AF_UNSPEC;
    hints->ai_socktype = SOCK_STREAM;
}

/* An address as text, or NULL for another family. */
static const char *addr_text(const struct addrinfo *ai, apr_pool_t *p)
{
    char text[INET6_ADDRSTRLEN];
    const void *bin = ai->ai_family == AF_INET
                    ? (const void *)&((const struct sockaddr_in *)ai->ai_addr)->sin_addr
                    : (const void *)&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

    if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
        || !inet_ntop(ai->ai_family, bin, text, sizeof(text)))
        return NULL;
    return apr_pstrdup(p, text);
}

/* getaddrinfo's answer rc, res (freed here) as out: its families and its
 * addresses, each once, in the resolver's order. */
static void resolved_of(ms_resolved_t *out, int rc, struct addrinfo *res, const char *host,
                        apr_pool_t *p)
{
    apr_array_header_t *all = apr_array_make(p, 4, sizeof(const char *));
    apr_array_header_t *fam[2] = { apr_array_make(p, 2, sizeof(const char *)),
                                   apr_array_make(p, 2, sizeof(const char *)) };
    const struct addrinfo *ai;
    int i;

    memset(out, 0, sizeof(*out));
    if (rc != 0) {
        out->why = apr_psprintf(p, "cannot resolve %s: %s", host, gai_strerror(rc));
        return;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        const char *one = addr_text(ai, p);
        int v6 = ai->ai_family == AF_INET6;

        if (!one)
            continue;
        out->fams |= v6 ? MS_HAS_V6 : MS_HAS_V4;
        for (i = 0; i < fam[v6]->nelts && strcmp(APR_ARRAY_IDX(fam[v6], i, const char *), one); i++)
            ;
        if (i < fam[v6]->nelts)
            continue;           /* once, not per socket type and protocol */
        APR_ARRAY_PUSH(fam[v6], const char *) = one;
        APR_ARRAY_PUSH(all, const char *) = v6 ? apr_pstrcat(p, "[", one, "]", NULL) : one;
    }
    freeaddrinfo(res);
    if (!out->fams) {
        out->why = apr_psprintf(p, "%s has no IPv4 or IPv6 address", host);
        return;
    }
    out->addrs = apr_array_pstrcat(p, all, ',');
    out->v4 = fam[0]->nelts ? apr_array_pstrcat(p, fam[0], ',') : NULL;
    out->v6 = fam[1]->nelts ? apr_array_pstrcat(p, fam[1], ',') : NULL;
}

/* One host, the plain way. */
static void resolve_one(ms_resolved_t *out, const char *host, apr_pool_t *p)
{
    struct addrinfo hints, *res = NULL;
    int rc;

    resolve_hints(&hints);
    rc = getaddrinfo(host, NULL, &hints, &res);
    resolved_of(out, rc, res, host, p);
}

void ms_probe_resolve_all(ms_resolved_t *out, const char *const *hosts, int n, apr_pool_t *p)
{
    struct gaicb *cb, **list;
    struct addrinfo hints;
    int i;

    if (n <= 0)
        return;
    resolve_hints(&hints);
    cb = apr_pcalloc(p, (apr_size_t)n * sizeof(*cb));
    list = apr_palloc(p, (apr_size_t)n * sizeof(*list));
    for (i = 0; i < n; i++) {
        cb[i].ar_name = hosts[i];
        cb[i].ar_request = &hints;
        list[i] = &cb[i];
    }
    /* What it returns does not matter here: each request tells. One that
     * could not be queued (no memory or threads for the queue) has neither
     * an error nor an answer, and is looked up here on its own. */
    getaddrinfo_a(GAI_WAIT, list, n, NULL);
    for (i = 0; i < n; i++) {
        const struct gaicb *one = &cb[i];
        int rc;

        while ((rc = gai_error(&cb[i])) == EAI_INPROGRESS)
            gai_suspend(&one, 1, NULL);   /* GAI_WAIT interrupted by a signal */
        if (rc == 0 && !cb[i].ar_result)
            resolve_one(&out[i], hosts[i], p);
        else
            resolved_of(&out[i], rc, cb[i].ar_result, hosts[i], p);
    }
}

typedef struct slot {
    CURL *h;
    ms_probe_t *probe;
    struct curl_slist *resolve;     /* the probe's CURLOPT_RESOLVE, or NULL */
    char err[CURL_ERROR_SIZE];
} slot;

/* "HOST:PORT:ADDRS" for url's host, or NULL when the host is an address or
 * the URL has no host. */
static struct curl_slist *resolve_entry(const char *url, const char *addrs, apr_pool_t *p)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    struct curl_slist *list = NULL;
    unsigned char bin[sizeof(struct in6_addr)];

    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK
        && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK
        && curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK
        && host[0] != '[' && inet_pton(AF_INET, host, bin) != 1)
        list = curl_slist_append(NULL, apr_pstrcat(p, host, ":", port, ":", addrs, NULL));
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return list;
}

static size_t discard(char *ptr, size_t size, size_t n, void *baton)
{
    return size * n;
}

static void prepare(slot *s, ms_probe_t *pr, long timeout_ms, apr_pool_t *p)
{
    CURL *h = s->h;

    curl_easy_reset(h);
    curl_slist_free_all(s->resolve);
    s->resolve = pr->addrs ? resolve_entry(pr->url, pr->addrs, p) : NULL;
    s->probe = pr;
    s->err[0] = '\0';
    /* Every probe of a host is handed all its addresses: curl's cache of
     * them is the multi handle's, one entry per host and port, and
     * CURLOPT_IPRESOLVE picks the family's. */
    if (s->resolve)
        curl_easy_setopt(h, CURLOPT_RESOLVE, s->resolve);
    curl_easy_setopt(h, CURLOPT_URL, pr->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, s->err);
    curl_easy_setopt(h, CURLOPT_PRIVATE, s);
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_IPRESOLVE,
                     pr->family == 6 ? CURL_IPRESOLVE_V6 : CURL_IPRESOLVE_V4);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (pr->ca_file && *pr->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, pr->ca_file);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mirrorsel/" MS_VERSION " (probe)");
}

/* Judge one finished probe. */
static void judge(slot *s, CURLcode rc, apr_pool_t *p)
{
    ms_probe_t *pr = s->probe;
    long code = 0;
    curl_off_t len = -1, total = 0;
    char *location = NULL, *ip = NULL;

    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(s->h, CURLINFO_TOTAL_TIME_T, &total);
    /* curl names the address only once connected: for a probe that never
     * connected, the addresses it had to try */
    curl_easy_getinfo(s->h, CURLINFO_PRIMARY_IP, &ip);
    pr->addr = ip && *ip ? apr_pstrdup(p, ip) : pr->family_addrs ? pr->family_addrs : "";
    pr->status = (int)code;
    pr->latency_ms = (int)(total / 1000);
    pr->up = 0;
    if (rc != CURLE_OK) {
        pr->error = apr_pstrdup(p, s->err[0] ? s->err : curl_easy_strerror(rc));
        return;
    }
    if (code >= 300 && code < 400) {
        curl_easy_getinfo(s->h, CURLINFO_REDIRECT_URL, &location);
        pr->error = apr_psprintf(p, "HTTP %ld: redirected to %.200s", code,
                                 location ? location : "(no Location)");
        return;
    }
    if (code != 200 && code != 206) {
        pr->error = apr_psprintf(p, "HTTP %ld", code);
        return;
    }
    curl_easy_getinfo(s->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
    if (pr->expect_size >= 0 && len != pr->expect_size) {
        pr->error = len < 0 ? apr_pstrdup(p, "no Content-Length in the answer")
                  : apr_psprintf(p, "wrong size: %" CURL_FORMAT_CURL_OFF_T
                                 " bytes, expected %" APR_INT64_T_FMT,
                                 len, (apr_int64_t)pr->expect_size);
        return;
    }
    pr->up = 1;
    pr->error = "";
}

int ms_probe_run(apr_array_header_t *probes, int parallel, long timeout_ms,
                 apr_pool_t *p)
{
    CURLM *multi;
    slot *slots;
    int nslots, i, next = 0, active = 0, running = 0, rc = 0;

    if (probes->nelts == 0)
        return 0;
    nslots = parallel > 0 && parallel < probes->nelts ? parallel : probes->nelts;
    if (!(multi = curl_multi_init()))
        return -1;
    slots = apr_pcalloc(p, sizeof(slot) * (size_t)nslots);
    for (i = 0; i < nslots; i++) {
        if (!(slots[i].h = curl_easy_init())) {
            rc = -1;
            goto leave;
        }
    }
    for (i = 0; i < nslots; i++, next++, active++) {
        prepare(&slots[i], APR_ARRAY_IDX(probes, next, ms_probe_t *), timeout_ms, p);
        curl_multi_add_handle(multi, slots[i].h);
    }
    while (active > 0) {
        CURLMsg *msg;
        int left;

        if (curl_multi_perform(multi, &running) != CURLM_OK) {
            rc = -1;
            goto leave;
        }
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            slot *s = NULL;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            curl_multi_remove_handle(multi, s->h);
            active--;
            judge(s, msg->data.result, p);
            if (next < probes->nelts) {
                prepare(s, APR_ARRAY_IDX(probes, next, ms_probe_t *), timeout_ms, p);
                curl_multi_add_handle(multi, s->h);
                next++;
                active++;
            }
        }
        if (active > 0)
            curl_multi_poll(multi, NULL, 0, 200, NULL);
    }
leave:
    for (i = 0; i < nslots; i++) {
        if (slots[i].h) {
            curl_multi_remove_handle(multi, slots[i].h);
            curl_easy_cleanup(slots[i].h);
        }
        curl_slist_free_all(slots[i].resolve);
    }
    curl_multi_cleanup(multi);
    return rc;
}
