/* ms_scan_curl.c — http://, https://, ftp://, ftps:// and sftp:// scan URLs,
 * through libcurl.
 *
 * One easy handle walks the tree breadth first, directory by directory, so
 * its connection (TCP, TLS, the FTP control connection, the SSH session) is
 * reused. Only directories the origin has are entered. Every transfer has a
 * timeout (the smaller of the per-transfer one and what is left of the
 * scan's) and a byte bound enforced in the write callback; redirects are not
 * followed; TLS is verified (with the mirror's CA file when it has one) and
 * SSH host keys are checked against a known_hosts file (the mirror's, else
 * the user's ~/.ssh/known_hosts; without either, no sftp:// scan).
 *
 * Sizes an autoindex page rounds, and dates it prints in the server's local
 * time, are confirmed by HEAD requests run in parallel over kept-alive
 * connections (curl multi); these ask for no content encoding, so the
 * Content-Length is the file's own. SFTP listings give minutes only; the files that
 * matter are stat()ed (a body-less request with the file time) for seconds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <apr_strings.h>

#include "ms_path.h"
#include "ms_scan.h"

#ifndef MS_VERSION
#define MS_VERSION "0.1.0"
#endif

enum { K_HTTP, K_FTP, K_SFTP };

typedef struct buffer {
    char *data;
    size_t len, cap;
    int64_t max;
    int over;
} buffer;

typedef struct curl_walk {
    ms_walk_t *w;
    CURL *h;
    int kind;
    int mlsd;                  /* FTP: -1 not known yet, 0 LIST, 1 MLSD */
    buffer body;
    const char *known_hosts;   /* sftp: the file host keys are checked against */
    int khmatch;               /* sftp: how the last host key matched, -1 none */
    char curlerr[CURL_ERROR_SIZE];
} curl_walk;

static size_t write_cb(char *ptr, size_t size, size_t n, void *baton)
{
    buffer *b = baton;
    size_t add = size * n;

    if ((int64_t)(b->len + add) > b->max) {
        b->over = 1;
        return 0;                            /* curl stops: CURLE_WRITE_ERROR */
    }
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        char *grown;
        while (cap < b->len + add + 1)
            cap *= 2;
        if (!(grown = realloc(b->data, cap)))
            return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

static size_t discard_cb(char *ptr, size_t size, size_t n, void *baton)
{
    return size * n;
}

/* Milliseconds one more transfer may take; 0 when the scan is over time. */
static long transfer_ms(const ms_walk_t *w)
{
    int64_t left = w->deadline - ms_now_ms();
    int64_t per = (int64_t)w->lim->timeout * 1000;

    if (left <= 0)
        return 0;
    return (long)(left < per ? left : per);
}

/* Only a host key that known_hosts holds for the host is accepted: a
 * missing one is not added, a changed one not replaced. */
static int host_key_check(CURL *h, const struct curl_khkey *known,
                          const struct curl_khkey *found, enum curl_khmatch match,
                          void *baton)
{
    *(int *)baton = (int)match;
    return match == CURLKHMATCH_OK ? CURLKHSTAT_FINE : CURLKHSTAT_REJECT;
}

/* The options every handle of a walk has. */
static void common_options(CURL *h, curl_walk *cw, char *errbuf)
{
    const ms_walk_t *w = cw->w;
    int kind = cw->kind;

    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mirrorsel/" MS_VERSION " (scan)");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)w->lim->timeout * 1000);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
                     kind == K_HTTP ? "http,https" : kind == K_FTP ? "ftp,ftps" : "sftp");
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (w->auth && w->auth->ca_file && *w->auth->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, w->auth->ca_file);
    if (kind == K_HTTP)
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    if (kind == K_FTP) {
        curl_easy_setopt(h, CURLOPT_FTP_FILEMETHOD, (long)CURLFTPMETHOD_SINGLECWD);
        curl_easy_setopt(h, CURLOPT_FTP_RESPONSE_TIMEOUT, (long)w->lim->timeout);
    }
    if (kind == K_SFTP) {
        curl_easy_setopt(h, CURLOPT_SSH_AUTH_TYPES, (long)CURLSSH_AUTH_PUBLICKEY);
        if (w->auth && w->auth->ssh_key && *w->auth->ssh_key) {
            curl_easy_setopt(h, CURLOPT_SSH_PRIVATE_KEYFILE, w->auth->ssh_key);
            curl_easy_setopt(h, CURLOPT_SSH_PUBLIC_KEYFILE,
                             apr_pstrcat(w->pool, w->auth->ssh_key, ".pub", NULL));
        }
        curl_easy_setopt(h, CURLOPT_SSH_KNOWNHOSTS, cw->known_hosts);
        curl_easy_setopt(h, CURLOPT_SSH_KEYFUNCTION, host_key_check);
        curl_easy_setopt(h, CURLOPT_SSH_KEYDATA, &cw->khmatch);
    }
}

/* The known_hosts an sftp:// walk checks host keys against: the mirror's,
 * else the scanning user's own (~/.ssh/known_hosts, as ssh reads it). NULL
 * and w->err when there is none: never scanned unchecked. */
static const char *known_hosts_of(ms_walk_t *w)
{
    const char *home = getenv("HOME");
    const char *own;

    if (w->auth && w->auth->known_hosts && *w->auth->known_hosts)
        return w->auth->known_hosts;
    if (!home || !*home) {
        w->err = "sftp: no known_hosts to check the host key against (HOME is not set): "
                 "give the mirror --known-hosts FILE";
        return NULL;
    }
    own = apr_pstrcat(w->pool, home, "/.ssh/known_hosts", NULL);
    if (access(own, R_OK) != 0) {
        w->err = apr_psprintf(w->pool, "sftp: no known_hosts to check the host key against "
                              "(%s: %s): give the mirror --known-hosts FILE", own,
                              strerror(errno));
        return NULL;
    }
    return own;
}

/* Why a host key was refused, or NULL when it was not. */
static const char *host_key_failure(const curl_walk *cw, CURLcode rc)
{
    if (cw->kind != K_SFTP || rc != CURLE_PEER_FAILED_VERIFICATION)
        return NULL;
    if (cw->khmatch == CURLKHMATCH_MISMATCH)
        return apr_psprintf(cw->w->pool, "the host key differs from the one in %s "
                            "(changed, or not the mirror)", cw->known_hosts);
    if (cw->khmatch == CURLKHMATCH_MISSING)
        return apr_psprintf(cw->w->pool, "the host key is not in %s", cw->known_hosts);
    return NULL;
}

/* "what failed" for a transfer that did not complete. */
static const char *curl_failure(curl_walk *cw, CURLcode rc, const char *url)
{
    ms_walk_t *w = cw->w;
    const char *why = host_key_failure(cw, rc);

    if (!why)
        why = cw->curlerr[0] ? cw->curlerr : curl_easy_strerror(rc);

    if (rc == CURLE_WRITE_ERROR && cw->body.over)
        return apr_psprintf(w->pool, "%s: listing over the bound of %" APR_INT64_T_FMT
                            " bytes", url, (apr_int64_t)cw->body.max);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return apr_psprintf(w->pool, "%s: timed out: %s", url, why);
    return apr_psprintf(w->pool, "%s: %s", url, why);
}

/* The URL of a directory (rel "" is the scan URL itself). */
static const char *dir_url(const ms_walk_t *w, const char *rel)
{
    if (!*rel)
        return w->url;
    return apr_pstrcat(w->pool, w->url, ms_path_escape(rel, w->pool), "/", NULL);
}

/* Fetch one listing into cw->body. Returns 0 with *missing set when the
 * directory is not there (HTTP 404, FTP 550), -1 on failure. */
static int fetch(curl_walk *cw, const char *url, int *missing, const char *custom)
{
    ms_walk_t *w = cw->w;
    long ms = transfer_ms(w), code = 0;
    CURLcode rc;

    *missing = 0;
    if (ms <= 0) {
        w->err = apr_psprintf(w->pool, "scan over its time bound of %d s",
                              w->lim->total_timeout);
        return -1;
    }
    cw->body.len = 0;
    cw->body.over = 0;
    if (cw->body.data)
        cw->body.data[0] = '\0';
    cw->curlerr[0] = '\0';
    curl_easy_setopt(cw->h, CURLOPT_URL, url);
    curl_easy_setopt(cw->h, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(cw->h, CURLOPT_CUSTOMREQUEST, custom);
    rc = curl_easy_perform(cw->h);
    w->found->requests++;
    curl_easy_getinfo(cw->h, CURLINFO_RESPONSE_CODE, &code);
    if (cw->kind == K_HTTP && rc == CURLE_OK) {
        if (code == 200)
            return 0;
        if (code == 404 || code == 410) {
            *missing = 1;
            return 0;
        }
        w->err = apr_psprintf(w->pool, "%s: HTTP status %ld", url, code);
        return -1;
    }
    if (rc == CURLE_OK)
        return 0;
    if (cw->kind == K_FTP && rc == CURLE_REMOTE_ACCESS_DENIED && code == 550) {
        *missing = 1;
        return 0;
    }
    if (cw->kind == K_SFTP && rc == CURLE_REMOTE_FILE_NOT_FOUND) {
        *missing = 1;
        return 0;
    }
    w->err = curl_failure(cw, rc, url);
    return -1;
}

/* List one directory: fetch and parse by the kind of server. */
static int list_dir(curl_walk *cw, const char *rel, apr_array_header_t **entries,
                    apr_pool_t *scratch)
{
    ms_walk_t *w = cw->w;
    const char *url = dir_url(w, rel), *err = NULL;
    int missing = 0, rc;

    *entries = NULL;
    if (cw->kind == K_FTP && cw->mlsd != 0) {
        const char *keep_err;
        if (fetch(cw, url, &missing, "MLSD") == 0) {
            cw->mlsd = 1;
            goto parse;
        }
        keep_err = w->err;
        if (cw->mlsd == 1)
            return -1;
        /* Refused with a 5xx (not understood, not permitted): a LIST-only
         * server. Anything else (refused connection, timeout, TLS, login) is
         * the answer for this mirror. */
        {
            long code = 0;
            curl_easy_getinfo(cw->h, CURLINFO_RESPONSE_CODE, &code);
            if (code < 500 || code > 599) {
                w->err = keep_err;
                return -1;
            }
        }
        cw->mlsd = 0;
    }
    if (fetch(cw, url, &missing, NULL) != 0)
        return -1;
parse:
    if (missing) {
        if (!*rel) {
            w->err = apr_psprintf(w->pool, "%s: not found", url);
            return -1;
        }
        return 0;
    }
    if (cw->kind == K_HTTP)
        rc = ms_parse_autoindex(entries, cw->body.data ? cw->body.data : "", cw->body.len,
                                scratch, &err);
    else if (cw->kind == K_FTP && cw->mlsd == 1)
        rc = ms_parse_mlsd(entries, cw->body.data ? cw->body.data : "", cw->body.len,
                           scratch, &err);
    else
        rc = ms_parse_ftp_list(entries, cw->body.data ? cw->body.data : "", cw->body.len,
                               (int64_t)time(NULL), scratch, &err);
    if (rc != 0) {
        w->err = apr_psprintf(w->pool, "%s: %s", url, err);
        return -1;
    }
    return 0;
}

static int depth_of(const char *rel)
{
    int d = *rel ? 1 : 0;
    for (; *rel; rel++)
        d += *rel == '/';
    return d;
}

/* Walk breadth first from w->subdir. Found files needing confirmation are
 * collected into confirm. */
static int walk_tree(curl_walk *cw, apr_array_header_t *confirm)
{
    ms_walk_t *w = cw->w;
    apr_array_header_t *queue = apr_array_make(w->pool, 64, sizeof(const char *));
    int next = 0, i;

    *(const char **)apr_array_push(queue) = w->subdir;
    while (next < queue->nelts) {
        const char *rel = APR_ARRAY_IDX(queue, next, const char *);
        apr_array_header_t *entries;
        apr_pool_t *scratch;

        next++;
        apr_pool_create(&scratch, w->pool);
        if (list_dir(cw, rel, &entries, scratch) != 0) {
            apr_pool_destroy(scratch);
            return -1;
        }
        for (i = 0; entries && i < entries->nelts; i++) {
            ms_listent_t *e = &APR_ARRAY_IDX(entries, i, ms_listent_t);
            const char *path;
            ms_listent_t *kept;
            int check = ms_scan_name_check(e->name);

            /* The name as it is: whoever prints the error makes it printable. */
            if (check == MS_NAME_HOSTILE) {
                w->err = apr_psprintf(w->pool, "%s: malformed listing: unsafe name \"%s\"",
                                      dir_url(w, rel), e->name);
                goto fail;
            }
            path = *rel ? apr_pstrcat(scratch, rel, "/", e->name, NULL) : e->name;
            if (check == MS_NAME_SKIP) {
                if (ms_walk_skip(w, path) != 0)
                    goto fail;
                continue;
            }
            if (e->is_dir) {
                if (ms_walk_take(w, path, e) != 0)
                    goto fail;
                if (apr_hash_get(w->want->dirs, path, APR_HASH_KEY_STRING)) {
                    if (depth_of(path) > w->lim->max_depth) {
                        w->err = apr_psprintf(w->pool, "listing deeper than %d levels",
                                              w->lim->max_depth);
                        goto fail;
                    }
                    *(const char **)apr_array_push(queue) = apr_pstrdup(w->pool, path);
                }
                continue;
            }
            if (apr_hash_get(w->want->files, path, APR_HASH_KEY_STRING))
                path = apr_pstrdup(w->pool, path);
            if (ms_walk_take(w, path, e) != 0)
                goto fail;
            kept = apr_hash_get(w->found->files, path, APR_HASH_KEY_STRING);
            if (kept && (kept->size_approx || cw->kind == K_SFTP || kept->size < 0))
                *(ms_listent_t **)apr_array_push(confirm) = kept;
        }
        apr_pool_destroy(scratch);
        continue;
fail:
        apr_pool_destroy(scratch);
        return -1;
    }
    return 0;
}

/* --- confirmation: HEAD (HTTP) or stat (SFTP) of found files, in parallel --- */

typedef struct slot {
    CURL *h;
    ms_listent_t *e;
    const char *url;
    char err[CURL_ERROR_SIZE];
} slot;

static int start_slot(curl_walk *cw, CURLM *multi, slot *s, ms_listent_t *e)
{
    ms_walk_t *w = cw->w;
    long ms = transfer_ms(w);

    if (ms <= 0) {
        w->err = apr_psprintf(w->pool, "scan over its time bound of %d s",
                              w->lim->total_timeout);
        return -1;
    }
    s->e = e;
    s->err[0] = '\0';
    s->url = apr_pstrcat(w->pool, w->url, ms_path_escape(e->name, w->pool), NULL);
    curl_easy_setopt(s->h, CURLOPT_URL, s->url);
    curl_easy_setopt(s->h, CURLOPT_TIMEOUT_MS, ms);
    curl_multi_add_handle(multi, s->h);
    w->found->requests++;
    return 0;
}

/* Record what a finished confirmation says; -1 (w->err) when it failed. */
static int finish_slot(curl_walk *cw, slot *s, CURLcode rc)
{
    ms_walk_t *w = cw->w;
    long code = 0;
    curl_off_t len = -1, ftime = -1;

    curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_REMOTE_FILE_NOT_FOUND
        || (rc == CURLE_OK && cw->kind == K_HTTP && (code == 404 || code == 410))) {
        apr_hash_set(w->found->files, s->e->name, APR_HASH_KEY_STRING, NULL);
        return 0;                       /* gone since the listing */
    }
    if (rc != CURLE_OK) {
        const char *why = host_key_failure(cw, rc);

        w->err = apr_psprintf(w->pool, "%s: %s", s->url,
                              why ? why : s->err[0] ? s->err : curl_easy_strerror(rc));
        return -1;
    }
    if (cw->kind == K_HTTP && code != 200) {
        w->err = apr_psprintf(w->pool, "%s: HTTP status %ld", s->url, code);
        return -1;
    }
    curl_easy_getinfo(s->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
    curl_easy_getinfo(s->h, CURLINFO_FILETIME_T, &ftime);
    if (len >= 0) {
        s->e->size = (int64_t)len;
        s->e->size_approx = 0;
    }
    else if (s->e->size_approx || s->e->size < 0) {
        w->err = apr_psprintf(w->pool, "%s: no size in the answer", s->url);
        return -1;
    }
    if (ftime >= 0) {
        s->e->mtime = (int64_t)ftime;
        s->e->precision = MS_PREC_EXACT;
    }
    else if (s->e->mtime < 0) {
        w->err = apr_psprintf(w->pool, "%s: no modification time in the answer", s->url);
        return -1;
    }
    return 0;
}

static int confirm(curl_walk *cw, apr_array_header_t *todo)
{
    ms_walk_t *w = cw->w;
    int nslots = w->lim->parallel > 0 ? w->lim->parallel : 1, i, next = 0, running = 0;
    int rc = 0, active = 0;
    CURLM *multi;
    slot *slots;

    if (todo->nelts == 0)
        return 0;
    if (cw->kind == K_SFTP && nslots > 4)
        nslots = 4;                     /* each is an SSH session of its own */
    if (nslots > todo->nelts)
        nslots = todo->nelts;
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)nslots);
    slots = apr_pcalloc(w->pool, sizeof(slot) * (size_t)nslots);
    for (i = 0; i < nslots; i++) {
        slots[i].h = curl_easy_init();
        common_options(slots[i].h, cw, slots[i].err);
        curl_easy_setopt(slots[i].h, CURLOPT_NOBODY, 1L);
        /* The size of the file, not of an encoding of it: a HEAD that
         * offers gzip is answered by mod_deflate and the like with the
         * compressed length. No Accept-Encoding: the identity. Listings
         * (the walk's handle) may still come compressed. */
        curl_easy_setopt(slots[i].h, CURLOPT_ACCEPT_ENCODING, NULL);
        curl_easy_setopt(slots[i].h, CURLOPT_FILETIME, 1L);
        curl_easy_setopt(slots[i].h, CURLOPT_WRITEFUNCTION, discard_cb);
        curl_easy_setopt(slots[i].h, CURLOPT_PRIVATE, &slots[i]);
    }
    for (i = 0; i < nslots && next < todo->nelts; i++, next++, active++)
        if (start_slot(cw, multi, &slots[i], APR_ARRAY_IDX(todo, next, ms_listent_t *)) != 0) {
            rc = -1;
            goto leave;
        }
    while (active > 0) {
        CURLMsg *msg;
        int left;

        if (curl_multi_perform(multi, &running) != CURLM_OK) {
            w->err = "curl multi failed";
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
            if (finish_slot(cw, s, msg->data.result) != 0) {
                rc = -1;
                goto leave;
            }
            if (next < todo->nelts) {
                if (start_slot(cw, multi, s, APR_ARRAY_IDX(todo, next, ms_listent_t *)) != 0) {
                    rc = -1;
                    goto leave;
                }
                next++;
                active++;
            }
        }
        if (active > 0 && running > 0)
            curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
leave:
    for (i = 0; i < nslots; i++) {
        curl_multi_remove_handle(multi, slots[i].h);
        curl_easy_cleanup(slots[i].h);
    }
    curl_multi_cleanup(multi);
    return rc;
}

int ms_scan_curl(ms_walk_t *w)
{
    curl_walk cw;
    apr_array_header_t *todo = apr_array_make(w->pool, 64, sizeof(ms_listent_t *));
    int rc = -1;

    memset(&cw, 0, sizeof(cw));
    cw.w = w;
    cw.mlsd = -1;
    cw.kind = !strncasecmp(w->url, "sftp:", 5) ? K_SFTP
            : !strncasecmp(w->url, "ftp", 3) ? K_FTP : K_HTTP;
    cw.body.max = w->lim->max_listing;
    cw.khmatch = -1;
    if (cw.kind == K_SFTP && !(cw.known_hosts = known_hosts_of(w)))
        return -1;
    if (!(cw.h = curl_easy_init())) {
        w->err = "cannot start libcurl";
        return -1;
    }
    common_options(cw.h, &cw, cw.curlerr);
    curl_easy_setopt(cw.h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(cw.h, CURLOPT_WRITEDATA, &cw.body);
    if (walk_tree(&cw, todo) == 0 && confirm(&cw, todo) == 0)
        rc = 0;
    curl_easy_cleanup(cw.h);
    free(cw.body.data);
    return rc;
}
