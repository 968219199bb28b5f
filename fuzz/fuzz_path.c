/* fuzz_path.c — libFuzzer harness for the request-path functions of
 * ms_path.c: ms_path_normalise, ms_path_escape, ms_url_join and
 * ms_url_join_parts.
 *
 * The input up to its first NUL is the path (as httpd hands it over, already
 * percent-decoded); what follows that NUL, up to the next one, is a mirror
 * base URL for the join. Asserted, against oracles written here rather than
 * borrowed from ms_path.c:
 *   - normalise accepts exactly the paths without a ".." segment, control
 *     byte, DEL or backslash whose bytes are well-formed UTF-8 (RFC 3629,
 *     decoded here by code point); on refusal *out is NULL;
 *   - an accepted path becomes its non-empty, non-"." segments joined by one
 *     "/": so no leading, trailing or doubled "/", no "." or ".." segment, no
 *     longer than the input, and normalising it again gives the same string;
 *   - escape keeps only RFC 3986 unreserved bytes and "/", writes every other
 *     byte as "%" and two upper-case hex digits (so never CR, LF, space or a
 *     control byte), and percent-decoding it gives back the input;
 *   - join is the base without its trailing slashes, one "/", and the
 *     escaped path without its leading slashes, as join_parts says. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "ms_path.h"
#include "fuzz.h"

/* 1 when s is well-formed UTF-8: decode each sequence to its code point and
 * refuse overlong forms, surrogates and anything above U+10FFFF. */
static int utf8_ok(const unsigned char *s)
{
    static const uint32_t min_of[5] = { 0, 0, 0x80, 0x800, 0x10000 };

    while (*s) {
        uint32_t cp;
        int n, i;

        if (*s < 0x80) {
            s++;
            continue;
        }
        if ((*s & 0xe0) == 0xc0)
            n = 2, cp = *s & 0x1f;
        else if ((*s & 0xf0) == 0xe0)
            n = 3, cp = *s & 0x0f;
        else if ((*s & 0xf8) == 0xf0)
            n = 4, cp = *s & 0x07;
        else
            return 0;
        for (i = 1; i < n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;               /* also a NUL: truncated */
            cp = cp << 6 | (s[i] & 0x3f);
        }
        if (cp < min_of[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        s += n;
    }
    return 1;
}

/* The normal form by the header's rules, or NULL when path must be refused. */
static char *oracle_normalise(const char *path)
{
    const unsigned char *u;
    char *out = malloc(strlen(path) + 1), *w = out;
    const char *seg = path;

    if (!out)
        abort();
    for (u = (const unsigned char *)path; *u; u++) {
        if (*u < 0x20 || *u == 0x7f || *u == '\\') {
            free(out);
            return NULL;
        }
    }
    if (!utf8_ok((const unsigned char *)path)) {
        free(out);
        return NULL;
    }
    while (*seg) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);

        if (len == 2 && !memcmp(seg, "..", 2)) {
            free(out);
            return NULL;
        }
        if (len && !(len == 1 && *seg == '.')) {
            if (w != out)
                *w++ = '/';
            memcpy(w, seg, len);
            w += len;
        }
        seg += len;
        if (*seg)
            seg++;
    }
    *w = '\0';
    return out;
}

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
        || c == '-' || c == '.' || c == '_' || c == '~';
}

static int upper_hex(unsigned char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void check_escape(const char *rel, apr_pool_t *p)
{
    const char *esc = ms_path_escape(rel, p);
    const unsigned char *u;
    char *dec, *d;

    CHECK(esc != NULL);
    CHECK(strlen(esc) <= 3 * strlen(rel));
    dec = d = malloc(strlen(esc) + 1);
    if (!dec)
        abort();
    for (u = (const unsigned char *)esc; *u; ) {
        if (*u == '%') {
            int hi = upper_hex(u[1]), lo = hi < 0 ? -1 : upper_hex(u[2]);

            CHECK(hi >= 0 && lo >= 0);
            /* an escape only where it was needed: the decoded byte is not kept as is */
            CHECK(!is_unreserved((unsigned char)(hi * 16 + lo)) && hi * 16 + lo != '/');
            *d++ = (char)(hi * 16 + lo);
            u += 3;
        }
        else {
            CHECK(is_unreserved(*u) || *u == '/');
            *d++ = (char)*u++;
        }
    }
    *d = '\0';
    CHECK(strcmp(dec, rel) == 0);
    free(dec);
}

static void check_join(const char *base, const char *esc, apr_pool_t *p)
{
    const char *url = ms_url_join(base, esc, p), *rest = esc;
    size_t blen = strlen(base), rlen;

    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    while (*rest == '/')
        rest++;
    rlen = strlen(rest);
    CHECK(url != NULL);
    CHECK(strlen(url) == blen + 1 + rlen);
    CHECK(memcmp(url, base, blen) == 0 && url[blen] == '/');
    CHECK(strcmp(url + blen + 1, rest) == 0);
    {
        const char *r = esc;

        CHECK(ms_url_join_parts(base, &r) == blen && r == rest);
        r = NULL;
        CHECK(ms_url_join_parts(base, &r) == blen && r != NULL && *r == '\0');
    }
    CHECK(ms_url_join(NULL, esc, p) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *copy = malloc(size + 2);
    const char *path, *base, *out = "untouched", *again = "untouched";
    char *want;
    int rc;

    if (!copy)
        abort();
    memcpy(copy, data, size);
    copy[size] = '\0';
    copy[size + 1] = '\0';
    path = copy;
    base = copy + strlen(copy) + (strlen(copy) < size ? 1 : 0);
    if (apr_pool_create(&p, fuzz_root_pool()) != APR_SUCCESS)
        abort();

    want = oracle_normalise(path);
    rc = ms_path_normalise(&out, path, p);
    if (want == NULL) {
        CHECK(rc == -1 && out == NULL);
    }
    else {
        CHECK(rc == 0 && out != NULL);
        CHECK(strcmp(out, want) == 0);
        CHECK(strlen(out) <= strlen(path));
        CHECK(out[0] != '/' && strstr(out, "//") == NULL);
        CHECK(!*out || out[strlen(out) - 1] != '/');
        CHECK(ms_path_normalise(&again, out, p) == 0 && strcmp(again, out) == 0);
        check_escape(out, p);
        check_join(base, ms_path_escape(out, p), p);
    }
    /* escape is defined for any string, normalised or not */
    check_escape(path, p);
    check_join(base, ms_path_escape(path, p), p);
    CHECK(ms_path_escape(NULL, p) == NULL);

    free(want);
    apr_pool_destroy(p);
    free(copy);
    return 0;
}
