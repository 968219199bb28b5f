/* ms_cmd_util.c — what the `mirrorsel` commands share: messages, opening
 * the database and geo data, number parsing, the JSON writer. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include <apr_strings.h>

#include "ms_buf.h"
#include "ms_cmd.h"
#include "ms_country.h"

/* --- messages --- */

/* One line on stderr: "mirrorsel: " prefix message, whatever bytes the
 * arguments bring (a path or a name as given on the command line): control
 * characters, C1 ones included, are shown as \xNN, so a message is always
 * one line and never drives the terminal. Backslashes are left alone:
 * arguments already made printable (ms_cmd_printable) stay as they are. */
static void message(const char *prefix, const char *fmt, va_list ap)
{
    char *text = NULL;
    const unsigned char *u;

    fflush(stdout);
    fputs("mirrorsel: ", stderr);
    fputs(prefix, stderr);
    if (vasprintf(&text, fmt, ap) < 0) {
        fputs("(message lost: out of memory)\n", stderr);
        return;
    }
    for (u = (const unsigned char *)text; *u; u++) {
        if (*u < 0x20 || *u == 0x7f)
            fprintf(stderr, "\\x%02x", *u);
        else if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] < 0xa0) {
            fprintf(stderr, "\\x%02x\\x%02x", u[0], u[1]);
            u++;
        }
        else
            fputc(*u, stderr);
    }
    fputc('\n', stderr);
    free(text);
}

int ms_cmd_fail(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message("", fmt, ap);
    va_end(ap);
    return code;
}

void ms_cmd_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    message("warning: ", fmt, ap);
    va_end(ap);
}

/* --- options --- */

int ms_cmd_global_opt(ms_cmd_ctx_t *ctx, int opt, const char *arg)
{
    switch (opt) {
    case MS_OPT_DB:    ctx->db_path = arg;    return 1;
    case MS_OPT_GEOIP: ctx->geoip_path = arg; return 1;
    case MS_OPT_ASNDB: ctx->asn_path = arg;   return 1;
    default:           return 0;
    }
}

/* Call right after getopt_long returned '?' or ':' (optstring starting ':').
 * cmd NULL: the tool's own options, before the command; every message
 * starts with "mirrorsel: " already, so nothing more is put before it. */
int ms_cmd_bad_opt(const char *cmd, int opt, char **argv)
{
    const char *arg = argv[optind - 1];
    const char *who = cmd ? cmd : "", *colon = cmd ? ": " : "";

    if (opt == ':')
        return ms_cmd_fail(MS_EXIT_USAGE, "%s%soption %s needs a value", who, colon, arg);
    if (optopt && optopt < 0x100 && arg[0] == '-' && arg[1] != '-')
        return ms_cmd_fail(MS_EXIT_USAGE, "%s%sunknown option -%c (see --help)",
                           who, colon, optopt);
    return ms_cmd_fail(MS_EXIT_USAGE, "%s%sunknown option %s (see --help)", who, colon, arg);
}

/* --- database and geo data --- */

int ms_cmd_open_db(ms_db_t **out, ms_cmd_ctx_t *ctx, int mode)
{
    struct stat st;
    const char *err = NULL;

    if (stat(ctx->db_path, &st) != 0) {
        if (errno == ENOENT)
            return ms_cmd_fail(MS_EXIT_FAIL, "database %s: does not exist "
                               "(run `mirrorsel init` to create it)", ctx->db_path);
        return ms_cmd_fail(MS_EXIT_FAIL, "database %s: %s", ctx->db_path,
                           strerror(errno));
    }
    if (ms_db_open(out, ctx->db_path, mode, ctx->pool, &err) != MS_OK)
        return ms_cmd_fail(MS_EXIT_FAIL, "%s", err ? err : "cannot open the database");
    return MS_EXIT_OK;
}

int ms_cmd_open_geo(ms_geo_t **out, ms_cmd_ctx_t *ctx)
{
    const char *err = NULL;

    *out = NULL;
    if (!ctx->geoip_path && !ctx->asn_path)
        return MS_EXIT_OK;
    /* a database of the wrong kind would open and find nothing, silently */
    if (ms_geo_open(out, ctx->geoip_path, ctx->asn_path, ctx->pool, &err) != 0
        || ms_geo_check_types(*out, ctx->pool, &err) != 0) {
        *out = NULL;
        return ms_cmd_fail(MS_EXIT_FAIL, "opening the geo databases: %s",
                           err ? err : "unknown error");
    }
    return MS_EXIT_OK;
}

/* --- parsing --- */

int ms_cmd_parse_int(int64_t *out, const char *s, int64_t min, int64_t max)
{
    char *end;
    long long v;

    if (!s || !*s || (*s != '-' && *s != '+' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int ms_cmd_parse_size(int64_t *out, const char *s)
{
    static const char units[] = "KMGT";
    char *end;
    const char *u;
    unsigned long long v;
    int shift = 0;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    if (*end) {
        u = strchr(units, *end & ~0x20);
        if (!u || !*u)
            return -1;
        shift = 10 * (int)(u - units + 1);
        end++;
        if ((*end & ~0x20) == 'B' || (*end == 'i' && (end[1] & ~0x20) == 'B'))
            end += (*end == 'i') ? 2 : 1;
        if (*end)
            return -1;
    }
    if (v > ((unsigned long long)INT64_MAX >> shift))
        return -1;
    *out = (int64_t)(v << shift);
    return 0;
}

int ms_cmd_parse_double(double *out, const char *s, double min, double max)
{
    char *end;
    double v;

    if (!s || !*s)
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

const char *ms_cmd_country(const char *s, apr_pool_t *p)
{
    char *cc;

    if (!s || strlen(s) != 2 || !ms_country_continent(s))
        return NULL;
    cc = apr_pstrdup(p, s);
    cc[0] = (char)(cc[0] & ~0x20);
    cc[1] = (char)(cc[1] & ~0x20);
    return cc;
}

/* --- formatting --- */

const char *ms_cmd_time(int64_t t, apr_pool_t *p)
{
    char buf[MS_TIME_LEN];

    return apr_pstrdup(p, ms_time_rfc3339(buf, t));
}

/* s as a terminal may show it: valid UTF-8 kept except controls (C0, DEL,
 * C1); other bytes and '\\' as \\xNN. */
const char *ms_cmd_printable(const char *s, apr_pool_t *p)
{
    const unsigned char *u = (const unsigned char *)s;
    char *out, *o;
    int n;

    out = o = apr_palloc(p, strlen(s) * 4 + 1);
    while (*u) {
        n = (int)ms_utf8_len((const char *)u, NULL);
        if (n == 0 || *u < 0x20 || *u == 0x7f || *u == '\\'
            || (n == 2 && u[0] == 0xc2 && u[1] < 0xa0)) {
            o += sprintf(o, "\\x%02x", *u++);
            continue;
        }
        memcpy(o, u, (size_t)n);
        o += n;
        u += n;
    }
    *o = '\0';
    return out;
}

void ms_cmd_json_begin(ms_jw_t *j, apr_pool_t *p)
{
    ms_jw_init(j, ms_buf_make(p, 4096));
}

int ms_cmd_json_print(const ms_jw_t *j)
{
    if (ms_jw_finish(j) != 0)
        return ms_cmd_fail(MS_EXIT_FAIL, "writing JSON: unbalanced document");
    fwrite(ms_buf_str(j->out), 1, ms_buf_len(j->out), stdout);
    return MS_EXIT_OK;
}
