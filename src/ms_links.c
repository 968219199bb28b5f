/* ms_links.c — redirect header values and the .sha256 body. */
#include <stdlib.h>
#include <string.h>

#include <apr_base64.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "ms_buf.h"
#include "ms_links.h"
#include "ms_meta4.h"
#include "ms_path.h"

int ms_links_url_safe(const char *url)
{
    return ms_text_fit(url, 0x21, "<>");
}

/* "; geo=xx" for a mirror with a two-letter country, else "" (into buf). */
static const char *links_geo(char buf[10], const ms_mirror_t *m)
{
    if (!m || strlen(m->country) != 2 || !apr_isalpha(m->country[0])
        || !apr_isalpha(m->country[1]))
        return "";
    memcpy(buf, "; geo=", 6);
    buf[6] = (char)apr_tolower(m->country[0]);
    buf[7] = (char)apr_tolower(m->country[1]);
    buf[8] = '\0';
    return buf;
}

/* "<BASE/REL>; rel=duplicate; pri=N[; geo=xx]" in one allocation, the URL
 * joined as ms_url_join does. */
static const char *duplicate_value(const char *base, const char *rel, int pri,
                                   const char *geo, apr_pool_t *p)
{
    static const char mid[] = ">; rel=duplicate; pri=";
    size_t blen = ms_url_join_parts(base, &rel);
    const char *digits = apr_itoa(p, pri);
    struct iovec v[7] = {
        { "<", 1 }, { (void *)base, blen }, { "/", 1 }, { (void *)rel, strlen(rel) },
        { (void *)mid, sizeof(mid) - 1 }, { (void *)digits, strlen(digits) },
        { (void *)geo, strlen(geo) },
    };

    return apr_pstrcatv(p, v, 7, NULL);
}

apr_array_header_t *ms_links_duplicates(const ms_answer_t *a, const char *rel, int max,
                                        apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, max > 0 ? max : 1, sizeof(const char *));
    int i, n;

    if (!a || !a->file || !a->choice || max <= 0)
        return out;
    if (!rel)
        rel = ms_path_escape(a->file->path, p);
    n = a->choice->ranked->nelts < max ? a->choice->ranked->nelts : max;
    for (i = 0; i < n; i++) {
        const ms_ranked_t *r = &APR_ARRAY_IDX(a->choice->ranked, i, ms_ranked_t);
        char geo[10];

        /* rel, made by ms_path_escape, is fit: the mirror's URL decides */
        if (!r->base_url || !(r->mirror ? ms_mirror_url_fit(r->mirror, r->base_url, 1)
                                        : ms_links_url_safe(r->base_url)))
            continue;
        APR_ARRAY_PUSH(out, const char *) =
            duplicate_value(r->base_url, rel, i + 1, links_geo(geo, r->mirror), p);
    }
    return out;
}

const char *ms_links_describedby(const char *meta4_url, apr_pool_t *p)
{
    if (!ms_links_url_safe(meta4_url))
        return NULL;
    return apr_pstrcat(p, "<", meta4_url, ">; rel=describedby; type=\"" MS_META4_TYPE "\"",
                       NULL);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* 0 and the 32 bytes when hex is exactly 64 hex digits, else -1. */
static int sha256_decode(unsigned char *raw, const char *hex)
{
    int i;

    if (!hex || strlen(hex) != 64)
        return -1;
    for (i = 0; i < 32; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        raw[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* Both values around the base64 of raw, in one allocation. */
static void digests_of(const char **digest, const char **repr_digest,
                       const unsigned char raw[32], apr_pool_t *p)
{
    /* "SHA-256=" b64 NUL "sha-256=:" b64 ":" NUL; b64 is 44 bytes */
    char *d = apr_palloc(p, 8 + 44 + 1 + 9 + 44 + 2), *r = d + 8 + 44 + 1;

    memcpy(d, "SHA-256=", 8);
    apr_base64_encode_binary(d + 8, raw, 32);     /* writes its NUL */
    memcpy(r, "sha-256=:", 9);
    memcpy(r + 9, d + 8, 44);
    memcpy(r + 9 + 44, ":", 2);
    *digest = d;
    *repr_digest = r;
}

void ms_links_digests(const char **digest, const char **repr_digest,
                      const char *sha256_hex, apr_pool_t *p)
{
    unsigned char raw[32];

    *digest = *repr_digest = NULL;
    if (sha256_decode(raw, sha256_hex) == 0)
        digests_of(digest, repr_digest, raw, p);
}

void ms_links_file_digests(const char **digest, const char **repr_digest,
                           const ms_file_t *f, apr_pool_t *p)
{
    if (f && f->sha256 && f->sha256_raw)
        digests_of(digest, repr_digest, f->sha256_raw, p);
    else
        ms_links_digests(digest, repr_digest, f ? f->sha256 : NULL, p);
}

/* The name in sha256sum's escaped form: '\' -> "\\", LF -> "\n", CR -> "\r". */
static const char *sha256sum_escape(const char *name, apr_pool_t *p)
{
    ms_buf_t *b = ms_buf_make(p, strlen(name) * 2);

    for (; *name; name++) {
        if (*name == '\\')
            ms_buf_adds(b, "\\\\");
        else if (*name == '\n')
            ms_buf_adds(b, "\\n");
        else if (*name == '\r')
            ms_buf_adds(b, "\\r");
        else
            ms_buf_addc(b, *name);
    }
    return ms_buf_str(b);
}

const char *ms_links_sha256_body(const ms_file_t *f, const char *name, apr_pool_t *p)
{
    unsigned char raw[32];
    char *hex;
    int i;

    if (!f || sha256_decode(raw, f->sha256) != 0)
        return NULL;
    hex = apr_pstrdup(p, f->sha256);
    for (i = 0; hex[i]; i++)
        hex[i] = (char)apr_tolower(hex[i]);
    if (!name || !*name)
        name = ms_basename(f->path);
    if (strpbrk(name, "\\\n\r"))
        return apr_psprintf(p, "\\%s  %s\n", hex, sha256sum_escape(name, p));
    return apr_psprintf(p, "%s  %s\n", hex, name);
}
