/* ms_path.h — origin-relative paths: normalisation and percent-encoding. */
#ifndef MS_PATH_H
#define MS_PATH_H

#include <apr_pools.h>

/* Normalise an already percent-decoded path relative to the origin root:
 * leading and repeated slashes and "." segments are dropped; a ".." segment,
 * a NUL, any control byte (< 0x20, 0x7f), a backslash or invalid UTF-8 is
 * refused. Returns 0 and sets *out ("dir/file.iso", never with a leading
 * slash; "" for the root itself), or -1. */
int ms_path_normalise(const char **out, const char *path, apr_pool_t *p);

/* The origin-relative path (normalised) of what file resolves to, every
 * symbolic link on its way followed (realpath), when that is under root
 * (resolved too); NULL when it is elsewhere, is the root itself, or cannot
 * be resolved. How the module and `mirrorsel explain` find a link's target. */
const char *ms_path_resolve_under(const char *file, const char *root, apr_pool_t *p);

/* Percent-encode a normalised relative path for use in a URL: every byte
 * outside RFC 3986 unreserved characters and "/" is encoded. */
const char *ms_path_escape(const char *rel, apr_pool_t *p);

/* Join a mirror base URL and an escaped relative path with exactly one "/". */
const char *ms_url_join(const char *base, const char *escaped_rel, apr_pool_t *p);

/* The join's parts, for a caller writing it into a buffer of its own: the
 * length of base without its trailing slashes, and *escaped_rel moved past
 * its leading ones (a NULL one becomes ""). The URL is the base's first
 * that many bytes, "/", then *escaped_rel. */
size_t ms_url_join_parts(const char *base, const char **escaped_rel);

/* text with passwords hidden: each ":PASSWORD@" of it, PASSWORD being the
 * password in url's user information as written there (url may be NULL),
 * and the password of any other URL written in text ("scheme://user:PW@")
 * become ":***@"; text itself when there is none. What the tool prints of
 * a scan URL and of the errors made with it goes through this: the
 * password is kept in the mirrors table only. */
const char *ms_url_hide_password(const char *text, const char *url, apr_pool_t *p);

#endif
