/* ms_links.h — the header values of a redirect and the `.sha256` body:
 *
 *   Link: <https://m1/pub/x.iso>; rel=duplicate; pri=1; geo=de     RFC 6249
 *   Link: <https://origin/pub/x.iso.meta4>; rel=describedby; type="application/metalink4+xml"
 *   Digest: SHA-256=<base64 of the 32 raw bytes>                   RFC 3230
 *   Repr-Digest: sha-256=:<base64 of the 32 raw bytes>:            RFC 9530
 *
 * Every value returned is fit for a header: URLs are checked byte by byte
 * (ms_links_url_safe) and a value that fails is left out (NULL or skipped),
 * never repaired. All results are allocated from p. */
#ifndef MS_LINKS_H
#define MS_LINKS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "ms_lookup.h"

/* 1 when url may stand between '<' and '>' in a header: non-empty, every
 * byte visible ASCII (0x21–0x7e), no '<' or '>'. Else 0. */
int ms_links_url_safe(const char *url);

/* The rel=duplicate Link values (const char *) for the first max mirrors of
 * a->choice->ranked, "<url>; rel=duplicate; pri=N; geo=cc": url is the
 * mirror's full URL for a->file, N its rank (1 for the chosen mirror), geo
 * its lower-case country (left out when unknown). A mirror whose URL is not
 * header-safe is skipped. Empty (never NULL) when there is nothing to list.
 * rel: a->file->path percent-encoded (ms_path_escape), when the caller made
 * it already for Location; NULL: encoded here. */
apr_array_header_t *ms_links_duplicates(const ms_answer_t *a, const char *rel, int max,
                                        apr_pool_t *p);

/* "<meta4_url>; rel=describedby; type=\"application/metalink4+xml\"", or NULL
 * when meta4_url (the percent-encoded URL of the file's .meta4) is unsafe. */
const char *ms_links_describedby(const char *meta4_url, apr_pool_t *p);

/* The Digest value "SHA-256=<base64>" (RFC 3230) and the Repr-Digest value
 * "sha-256=:<base64>:" (RFC 9530), the hash decoded once; NULLs when the
 * hash is unknown or not 64 hex digits. */
void ms_links_digests(const char **digest, const char **repr_digest,
                      const char *sha256_hex, apr_pool_t *p);
/* The same for f, from f->sha256_raw when the cache gave it (no decoding). */
void ms_links_file_digests(const char **digest, const char **repr_digest,
                           const ms_file_t *f, apr_pool_t *p);

/* The body of FILE.sha256 in sha256sum(1) format: "<hex>  <name>\n"
 * (a name holding '\', LF or CR is written in sha256sum's escaped form,
 * "\<hex>  a\\nb\n"). name: the name the client saves the file under
 * (for a symbolic link, the link's); NULL for the basename of f->path.
 * NULL when the hash is unknown. */
const char *ms_links_sha256_body(const ms_file_t *f, const char *name, apr_pool_t *p);

#endif
