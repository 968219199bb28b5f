/* ms_scan.h — listing a mirror's tree: the listing parsers (rsync, FTP MLSD
 * and LIST, HTTP autoindex) and the walk over rsync://, ftp://, ftps://,
 * http://, https:// and sftp:// scan URLs.
 *
 * A walk enters only directories that the origin has (so a mirror's extra
 * trees, loops and endless generated depth cost nothing), keeps only files
 * the origin has (the others are counted as extra), and is bounded in time
 * (per transfer and per scan), in bytes (per listing) and in entries (per
 * scan). Every name a listing offers is checked before it becomes a path
 * (ms_scan_name_check): a name no directory can hold ("", ".", "..", a "/"
 * in it) is a server lying about its tree, and the scan fails as a whole; a
 * name a directory can hold but the origin index never does (a control
 * byte, a backslash, invalid UTF-8: `index` skips those) is skipped and
 * counted, and the rest of the listing is taken. */
#ifndef MS_SCAN_H
#define MS_SCAN_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_hash.h>
#include <apr_tables.h>

/* mtime precisions of the listing kinds, in seconds (SPEC "Freshness"). */
#define MS_PREC_EXACT  1           /* rsync, SFTP, MLSD, HTTP Last-Modified */
#define MS_PREC_MINUTE 60          /* HTTP autoindex, FTP LIST "Mon DD HH:MM" */
#define MS_PREC_DAY    86400       /* FTP LIST "Mon DD YYYY" */

/* One entry of one listing, as a parser returns it. */
typedef struct ms_listent {
    const char *name;          /* decoded; a relative path for rsync */
    int is_dir;
    int64_t size;              /* -1 when the listing shows none */
    int size_approx;           /* rounded ("1.2M"): to be confirmed */
    int64_t mtime;             /* unix seconds; -1 when none */
    int precision;             /* MS_PREC_* */
} ms_listent_t;

/* --- parsers (ms_scan_parse.c); each returns 0, or -1 with *err set --- */

/* One line of `rsync --list-only` output (TZ=UTC), e.g.
 * "-rw-r--r--      1,234 2024/05/01 12:00:00 dir/file". *skip is set for
 * entries that are neither a file nor a directory (symlinks, devices). */
int ms_parse_rsync_line(ms_listent_t *e, int *skip, const char *line,
                        apr_pool_t *p, const char **err);
/* A whole MLSD answer ("type=file;size=1;modify=20240501120000; name"). */
int ms_parse_mlsd(apr_array_header_t **out, const char *buf, size_t len,
                  apr_pool_t *p, const char **err);
/* A whole LIST answer: Unix "ls -l" style with its common variants (numeric
 * or missing owner/group, no link count) and the DOS/IIS style. now decides
 * the year of "Mon DD HH:MM" entries. */
int ms_parse_ftp_list(apr_array_header_t **out, const char *buf, size_t len,
                      int64_t now, apr_pool_t *p, const char **err);
/* An Apache, nginx or lighttpd autoindex page: the links to direct children
 * with the date and size printed after them. Links that are not direct
 * children (sorting queries, parent, absolute or other-host URLs) are left
 * out; a page that does not look like a listing is an error. */
int ms_parse_autoindex(apr_array_header_t **out, const char *buf, size_t len,
                       apr_pool_t *p, const char **err);

/* 0 when name may be one path segment of a listing (not "", ".", "..", no
 * "/", backslash, control byte, invalid UTF-8); -1 otherwise. */
int ms_scan_name_ok(const char *name);

/* How the walk takes one name a listing offers. */
enum {
    MS_NAME_OK = 0,            /* ms_scan_name_ok: a name the index may hold */
    MS_NAME_SKIP,              /* a legal file name the index never holds (a
                                * control byte, a backslash, invalid UTF-8):
                                * skipped, as `index` skips it */
    MS_NAME_HOSTILE            /* no directory holds it (NULL, "", ".", "..",
                                * a "/" in it): the listing is refused */
};
int ms_scan_name_check(const char *name);

/* --- the walk --- */

typedef struct ms_scan_limits {
    int timeout;               /* seconds for one transfer, connect included */
    int total_timeout;         /* seconds for one mirror's whole scan */
    int64_t max_listing;       /* bytes of one listing page (rsync: whole output) */
    int64_t max_entries;       /* listing entries in one scan */
    int max_depth;             /* directory levels below the scan URL */
    int parallel;              /* connections for HEAD confirmations */
} ms_scan_limits_t;

void ms_scan_limits_default(ms_scan_limits_t *lim);

/* How to reach a mirror beyond its URL (per mirror, from the database). */
typedef struct ms_scan_auth {
    const char *ca_file;       /* PEM CA bundle trusted for this mirror's TLS */
    const char *ssh_key;       /* private key for sftp:// (public: key + ".pub") */
    const char *known_hosts;   /* OpenSSH known_hosts for sftp:// */
} ms_scan_auth_t;

/* What the origin has under the scanned sub-tree. */
typedef struct ms_scan_want {
    apr_hash_t *dirs;          /* "" and every directory holding origin files */
    apr_hash_t *files;         /* path -> anything non-NULL */
} ms_scan_want_t;

/* Add an origin file's path (and its parent directories) to a want set. */
void ms_scan_want_add(ms_scan_want_t *w, const char *path, apr_pool_t *p);

/* What one walk saw. */
typedef struct ms_scan_found {
    apr_hash_t *files;         /* path -> ms_listent_t*, origin files only */
    int64_t entries;           /* entries listed in total */
    int64_t extra;             /* files listed that the origin does not have */
    int64_t skipped;           /* entries skipped for their names (MS_NAME_SKIP) */
    const char *skipped_example; /* the first of them, a relative path; NULL */
    int64_t requests;          /* transfers made */
} ms_scan_found_t;

/* Walk url (the mirror's scan URL, standing for the origin root), from the
 * sub-tree subdir ("" for all). Found files carry exact sizes: rounded ones
 * are confirmed by HEAD requests. Returns 0, or -1 with *err saying what
 * failed, in one line. */
int ms_scan_walk(ms_scan_found_t **out, const char *url, const char *subdir,
                 const ms_scan_want_t *want, const ms_scan_auth_t *auth,
                 const ms_scan_limits_t *lim, apr_pool_t *p, const char **err);

/* --- the transports (ms_scan_rsync.c, ms_scan_curl.c) --- */

typedef struct ms_walk {
    const char *url;           /* scan URL, ending in "/" */
    const char *subdir;        /* "" or "a/b" */
    const ms_scan_want_t *want;
    const ms_scan_auth_t *auth;
    const ms_scan_limits_t *lim;
    int64_t deadline;          /* monotonic milliseconds */
    ms_scan_found_t *found;
    apr_pool_t *pool;
    const char *err;
} ms_walk_t;

int ms_scan_rsync(ms_walk_t *w);
int ms_scan_curl(ms_walk_t *w);

/* Take one entry at relative path rel into w->found: kept when the origin
 * has it, else counted as extra. Returns -1 (w->err set) over the bounds. */
int ms_walk_take(ms_walk_t *w, const char *rel, const ms_listent_t *e);
/* Count one entry at rel skipped for its name (MS_NAME_SKIP); the first is
 * kept as the example. Returns -1 (w->err set) over the entry bound. */
int ms_walk_skip(ms_walk_t *w, const char *rel);
/* Count one entry of a listing that is neither taken nor skipped (a
 * symbolic link, a device): every entry counts against max_entries.
 * Returns -1 (w->err set) over the bound. */
int ms_walk_count(ms_walk_t *w);
int64_t ms_now_ms(void);       /* CLOCK_MONOTONIC, milliseconds */

#endif
