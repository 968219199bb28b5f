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

#include "ms_cmd.h"
#include "ms_country.h"

/* --- messages --- */

int ms_cmd_fail(int code, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("mirrorsel: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

void ms_cmd_warn(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("mirrorsel: warning: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
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

/* Call right after getopt_long returned '?' or ':' (optstring starting ':'). */
int ms_cmd_bad_opt(const char *cmd, int opt, char **argv)
{
    const char *arg = argv[optind - 1];

    if (opt == ':')
        return ms_cmd_fail(MS_EXIT_USAGE, "%s: option %s needs a value", cmd, arg);
    if (optopt && optopt < 0x100 && arg[0] == '-' && arg[1] != '-')
        return ms_cmd_fail(MS_EXIT_USAGE, "%s: unknown option -%c (see --help)",
                           cmd, optopt);
    return ms_cmd_fail(MS_EXIT_USAGE, "%s: unknown option %s (see --help)", cmd, arg);
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
    if (ms_geo_open(out, ctx->geoip_path, ctx->asn_path, ctx->pool, &err) != 0) {
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
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[32];

    if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return apr_psprintf(p, "@%" APR_INT64_T_FMT, (apr_int64_t)t);
    return apr_pstrdup(p, buf);
}

/* --- JSON --- */

/* Length of the valid UTF-8 sequence at s (1–4), or 0 if it is not one. */
static int utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    int n, i;
    unsigned cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)      { n = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 4; cp = c & 0x07; }
    else
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))
        || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void ms_json_escape(FILE *out, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    int n;

    fputc('"', out);
    while (*u) {
        if (*u == '"' || *u == '\\') {
            fputc('\\', out);
            fputc(*u++, out);
        }
        else if (*u < 0x20 || *u == 0x7f) {
            fprintf(out, "\\u%04x", *u++);
        }
        else if ((n = utf8_len(u)) > 0) {
            fwrite(u, 1, (size_t)n, out);
            u += n;
        }
        else {
            fputs("\\ufffd", out);
            u++;
        }
    }
    fputc('"', out);
}

void ms_json_init(ms_json_t *j, FILE *out)
{
    memset(j, 0, sizeof(*j));
    j->out = out;
}

/* Comma, newline and indentation before a value; then its key, if any. */
static void json_member(ms_json_t *j, const char *key)
{
    if (j->depth > 0) {
        fputs(j->count[j->depth]++ ? ",\n" : "\n", j->out);
        fprintf(j->out, "%*s", 2 * j->depth, "");
    }
    if (key) {
        ms_json_escape(j->out, key);
        fputs(": ", j->out);
    }
}

static void json_open(ms_json_t *j, const char *key, int opener)
{
    json_member(j, key);
    fputc(opener, j->out);
    if (j->depth + 1 < (int)(sizeof(j->count) / sizeof(j->count[0])))
        j->depth++;
    j->count[j->depth] = 0;
}

void ms_json_object(ms_json_t *j, const char *key) { json_open(j, key, '{'); }
void ms_json_array(ms_json_t *j, const char *key)  { json_open(j, key, '['); }

void ms_json_end(ms_json_t *j, int closer)
{
    int had = j->count[j->depth];

    if (j->depth > 0)
        j->depth--;
    if (had)
        fprintf(j->out, "\n%*s", 2 * j->depth, "");
    fputc(closer, j->out);
    if (j->depth == 0)
        fputc('\n', j->out);
}

void ms_json_str(ms_json_t *j, const char *key, const char *s)
{
    json_member(j, key);
    if (s)
        ms_json_escape(j->out, s);
    else
        fputs("null", j->out);
}

void ms_json_int(ms_json_t *j, const char *key, int64_t v)
{
    json_member(j, key);
    fprintf(j->out, "%lld", (long long)v);
}

void ms_json_num(ms_json_t *j, const char *key, double v)
{
    json_member(j, key);
    if (isfinite(v))
        fprintf(j->out, "%.10g", v);
    else
        fputs("null", j->out);
}

void ms_json_bool(ms_json_t *j, const char *key, int v)
{
    json_member(j, key);
    fputs(v ? "true" : "false", j->out);
}

void ms_json_null(ms_json_t *j, const char *key)
{
    json_member(j, key);
    fputs("null", j->out);
}
