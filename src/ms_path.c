/* ms_path.c — origin-relative paths: normalisation and percent-encoding.
 *
 * A path reaches us percent-decoded by httpd (or typed by an operator), and
 * leaves us inside a Location header pointing at someone else's server. So
 * normalisation refuses rather than repairs anything that could change which
 * file is meant or smuggle bytes into a header: ".." segments, control bytes
 * (CR/LF above all), backslashes (a separator on some mirrors' servers) and
 * malformed UTF-8 (overlong forms and surrogates have been used to hide "/"
 * and ".." from filters). Harmless noise — repeated slashes and "." — is
 * dropped, so the same file always has the same spelling, which is also what
 * the index and the seeded draw key on. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include "ms_path.h"

/* Length of the UTF-8 sequence starting at s (1–4), or 0 when it is not a
 * well-formed sequence in the sense of RFC 3629: no overlong forms, no
 * surrogates (U+D800–U+DFFF), nothing above U+10FFFF, no stray continuation
 * bytes. The bounds on the second byte follow the RFC's table. */
static size_t utf8_sequence_len(const unsigned char *s)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t n, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;               /* continuation byte, C0/C1 overlongs, F5–FF */

    if (c == 0xe0)
        lo = 0xa0;              /* overlong 3-byte form */
    else if (c == 0xed)
        hi = 0x9f;              /* surrogates */
    else if (c == 0xf0)
        lo = 0x90;              /* overlong 4-byte form */
    else if (c == 0xf4)
        hi = 0x8f;              /* above U+10FFFF */

    if (s[1] < lo || s[1] > hi)
        return 0;               /* also stops at the terminating NUL */
    for (i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return n;
}

/* 0 when every byte of s may appear in a path, -1 otherwise. */
static int path_bytes_valid(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;

    while (*u) {
        size_t n;

        if (*u < 0x20 || *u == 0x7f || *u == '\\')
            return -1;
        n = utf8_sequence_len(u);
        if (n == 0)
            return -1;
        u += n;
    }
    return 0;
}

int ms_path_normalise(const char **out, const char *path, apr_pool_t *p)
{
    char *buf, *w;
    const char *seg;

    *out = NULL;
    if (path == NULL || path_bytes_valid(path) != 0)
        return -1;

    /* The result is never longer than the input. */
    buf = apr_palloc(p, strlen(path) + 1);
    w = buf;
    seg = path;
    while (*seg) {
        size_t len = strcspn(seg, "/");

        if (len == 2 && seg[0] == '.' && seg[1] == '.')
            return -1;
        if (len > 0 && !(len == 1 && seg[0] == '.')) {
            if (w != buf)
                *w++ = '/';
            memcpy(w, seg, len);
            w += len;
        }
        seg += len;
        if (*seg == '/')
            seg++;
    }
    *w = '\0';
    *out = buf;
    return 0;
}

/* RFC 3986 section 2.3. Written out rather than with isalnum(), whose answer
 * depends on the locale. */
static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        || c == '-' || c == '.' || c == '_' || c == '~';
}

/* What of real (a resolved path) lies below top, or NULL when real is not
 * under it: top is "/", or real goes on from it with '/'. top may end in
 * slashes. */
static const char *below(const char *real, const char *top)
{
    size_t n = strlen(top);

    while (n > 1 && top[n - 1] == '/')
        n--;
    if (strncmp(real, top, n) != 0)
        return NULL;
    if (n == 1 && top[0] == '/')
        return real + 1;
    return real[n] == '/' ? real + n + 1 : NULL;
}

const char *ms_path_resolve_under(const char *file, const char *root, apr_pool_t *p)
{
    char *real = realpath(file, NULL), *top = NULL;
    const char *rest, *rel = NULL;

    if (!real)
        return NULL;
    /* A resolved path holds no link, so when it starts with root as written
     * that root holds none either, and resolving it too (a few more lstat()
     * calls on every unindexed request) would only give it back. */
    if (!(rest = below(real, root)) && (top = realpath(root, NULL)) != NULL)
        rest = below(real, top);
    if (rest && ms_path_normalise(&rel, rest, p) != 0)
        rel = NULL;
    free(real);
    free(top);
    return rel;
}

const char *ms_path_escape(const char *rel, apr_pool_t *p)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *u;
    char *buf, *w;

    if (rel == NULL)
        return NULL;
    buf = apr_palloc(p, strlen(rel) * 3 + 1);
    w = buf;
    for (u = (const unsigned char *)rel; *u; u++) {
        if (is_unreserved(*u) || *u == '/') {
            *w++ = (char)*u;
        }
        else {
            *w++ = '%';
            *w++ = hex[*u >> 4];
            *w++ = hex[*u & 0x0f];
        }
    }
    *w = '\0';
    return buf;
}

size_t ms_url_join_parts(const char *base, const char **escaped_rel)
{
    size_t blen = strlen(base);

    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    if (*escaped_rel == NULL)
        *escaped_rel = "";
    while (**escaped_rel == '/')
        (*escaped_rel)++;
    return blen;
}

const char *ms_url_join(const char *base, const char *escaped_rel, apr_pool_t *p)
{
    size_t blen, rlen;
    char *url;

    if (base == NULL)
        return NULL;
    blen = ms_url_join_parts(base, &escaped_rel);
    rlen = strlen(escaped_rel);
    url = apr_palloc(p, blen + 1 + rlen + 1);
    memcpy(url, base, blen);
    url[blen] = '/';
    memcpy(url + blen + 1, escaped_rel, rlen + 1);
    return url;
}

/* The password of every URL written in text ("scheme://user:PASSWORD@host")
 * as ":***@"; text itself when there is none. An error recorded before a
 * mirror's scan URL was changed names the older password, which the
 * current URL cannot tell. */
static const char *hide_any(const char *text, apr_pool_t *p)
{
    const char *scan = text, *copied = text, *scheme, *auth, *end, *at, *colon;
    char *out = NULL, *o = NULL;

    while ((scheme = strstr(scan, "://")) != NULL) {
        auth = scheme + 3;
        end = auth + strcspn(auth, "/?# \t\r\n\"'<>()[]");
        at = memchr(auth, '@', (size_t)(end - auth));
        colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        scan = at ? at : auth;
        if (!colon || colon + 1 == at
            || (at - colon - 1 == 3 && !memcmp(colon + 1, "***", 3)))
            continue;
        if (!out)      /* a one-byte password grows by two */
            o = out = apr_palloc(p, 3 * strlen(text) + 1);
        memcpy(o, copied, (size_t)(colon + 1 - copied));
        o += colon + 1 - copied;
        memcpy(o, "***", 3);
        o += 3;
        copied = at;
    }
    if (!out)
        return text;
    strcpy(o, copied);
    return out;
}

static const char *hide_current(const char *text, const char *url, apr_pool_t *p)
{
    static const char mask[] = ":***@";
    const char *from, *at;
    char *needle, *out, *o;
    size_t nlen, count = 0;
    apr_uri_t u;

    if (!text || !url)
        return text;
    memset(&u, 0, sizeof(u));
    if (apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.password || !*u.password)
        return text;
    needle = apr_pstrcat(p, ":", u.password, "@", NULL);
    nlen = strlen(needle);
    for (from = text; (at = strstr(from, needle)) != NULL; from = at + nlen)
        count++;
    if (count == 0)
        return text;
    o = out = apr_palloc(p, strlen(text) + count * (sizeof(mask) - 1) + 1);
    for (from = text; (at = strstr(from, needle)) != NULL; from = at + nlen) {
        memcpy(o, from, (size_t)(at - from));
        o += at - from;
        memcpy(o, mask, sizeof(mask) - 1);
        o += sizeof(mask) - 1;
    }
    strcpy(o, from);
    return out;
}

const char *ms_url_hide_password(const char *text, const char *url, apr_pool_t *p)
{
    return text ? hide_any(hide_current(text, url, p), p) : NULL;
}
