/* ms_cmd.h — the `mirrorsel` command-line tool: what its command families
 * (ms_cmd_*.c) share. The tool is a thin layer over the core: it parses and
 * validates arguments, then calls ms_db_* / ms_lookup like the module does. */
#ifndef MS_CMD_H
#define MS_CMD_H

#include <stdint.h>
#include <stdio.h>
#include <apr_pools.h>
#include <apr_uri.h>
#include "ms_db.h"
#include "ms_geo.h"
#include "ms_json.h"

#ifndef MS_VERSION
#define MS_VERSION "0.1.0"
#endif

#define MS_DEFAULT_DB "/var/lib/mirrorsel/mirrorsel.db"

/* Exit codes of every command. */
enum {
    MS_EXIT_OK    = 0,
    MS_EXIT_FAIL  = 1,         /* operational failure: database, not found, I/O */
    MS_EXIT_USAGE = 2,         /* bad arguments; nothing was changed */
};

/* What a command runs with: the global options and one pool. */
typedef struct ms_cmd_ctx {
    apr_pool_t *pool;
    const char *db_path;
    const char *geoip_path;    /* NULL when not given */
    const char *asn_path;      /* NULL when not given */
} ms_cmd_ctx_t;

/* A command: argv[0] is the command's own name; returns an MS_EXIT_* code. */
typedef int ms_cmd_fn(ms_cmd_ctx_t *ctx, int argc, char **argv);

ms_cmd_fn ms_cmd_init;
ms_cmd_fn ms_cmd_restore;            /* ms_cmd_init.c */
ms_cmd_fn ms_cmd_mirror;
ms_cmd_fn ms_cmd_index;
ms_cmd_fn ms_cmd_explain;
ms_cmd_fn ms_cmd_mirror_list;      /* ms_cmd_mirror_show.c, called by ms_cmd_mirror */
ms_cmd_fn ms_cmd_mirror_show;
/* MS_EXIT_OK, or the usage error (printed) when name is not a mirror name. */
int ms_cmd_mirror_name_check(const char *cmd, const char *name);
/* What a URL of (lower-case) scheme may not hold of a login, as a phrase
 * ("must not hold ..."); NULL when it may hold what it does. scan: a scan
 * URL. `mirror add` and `edit` refuse such URLs; `scan` refuses those an
 * earlier version stored. (ms_cmd_mirror.c) */
const char *ms_cmd_login_check(const char *scheme, const apr_uri_t *u, int scan);

/* --- messages (ms_cmd_util.c) --- */

/* "mirrorsel: <fmt>\n" on stderr; returns code, so `return ms_cmd_fail(…)`. */
int ms_cmd_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "mirrorsel: warning: <fmt>\n" on stderr. */
void ms_cmd_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- options every command accepts (--db, --geoip, --asn-db) --- */

enum {
    MS_OPT_DB = 0x1000,
    MS_OPT_GEOIP,
    MS_OPT_ASNDB,
};
#define MS_GLOBAL_LONGOPTS \
    { "db",     required_argument, NULL, MS_OPT_DB },    \
    { "geoip",  required_argument, NULL, MS_OPT_GEOIP }, \
    { "asn-db", required_argument, NULL, MS_OPT_ASNDB }

/* 1 if opt was one of the global options (and is now set in ctx), else 0. */
int ms_cmd_global_opt(ms_cmd_ctx_t *ctx, int opt, const char *arg);
/* Report a getopt error ('?' or ':') for command cmd (NULL: the options
 * before the command); returns MS_EXIT_USAGE. */
int ms_cmd_bad_opt(const char *cmd, int opt, char **argv);

/* --- the database and the geo data --- */

/* Open the database of ctx for mode (MS_DB_READONLY/READWRITE). A missing
 * file is reported with the advice to run `mirrorsel init`. Returns an
 * MS_EXIT_* code; on failure the message is already printed. */
int ms_cmd_open_db(ms_db_t **out, ms_cmd_ctx_t *ctx, int mode);

/* Open the geo databases named in ctx; *out is NULL when none was given.
 * A given file that fails to open, or is not of its kind (a City or Country
 * mmdb for --geoip, an ASN one for --asn-db), is an error (printed;
 * MS_EXIT_FAIL). */
int ms_cmd_open_geo(ms_geo_t **out, ms_cmd_ctx_t *ctx);

/* --- parsing --- */

int ms_cmd_parse_int(int64_t *out, const char *s, int64_t min, int64_t max);
/* A byte count with an optional K, M, G or T suffix (1024-based). */
int ms_cmd_parse_size(int64_t *out, const char *s);
int ms_cmd_parse_double(double *out, const char *s, double min, double max);
/* An upper-cased copy of a two-letter country code, or NULL if unknown. */
const char *ms_cmd_country(const char *s, apr_pool_t *p);

/* --- formatting --- */

/* "2024-05-01T12:00:00Z" from unix seconds. */
const char *ms_cmd_time(int64_t t, apr_pool_t *p);

/* s as a terminal may show it: valid UTF-8 kept (names stay readable),
 * control characters, invalid bytes and '\\' as \\xNN. */
const char *ms_cmd_printable(const char *s, apr_pool_t *p);

/* --- JSON: through the core's one writer (ms_json.h) --- */

/* A writer on a new buffer in p; ms_cmd_json_print checks the document and
 * writes it to stdout (MS_EXIT_OK, or MS_EXIT_FAIL when it is unbalanced). */
void ms_cmd_json_begin(ms_jw_t *j, apr_pool_t *p);
int ms_cmd_json_print(const ms_jw_t *j);

#endif
