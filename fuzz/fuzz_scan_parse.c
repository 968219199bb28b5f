/* fuzz_scan_parse.c — libFuzzer harness for the listing parsers a remote
 * mirror feeds (ms_scan_parse.c) and for the name check the walk applies to
 * what they return.
 *
 * The first byte chooses the target (its value modulo 5) and, for LIST, the
 * "now" that decides the year of "Mon DD HH:MM" entries; the rest is the
 * listing, handed over as the scanner does (buf, len) but in a buffer of
 * exactly len bytes, so any read past len is an ASan report. rsync gets the
 * rest as one line (a C string: it ends at the first NUL).
 *
 * The parsers are neutral about names (the walk checks them), so what is
 * asserted is what ms_scan.h and the parsers' comments promise:
 *   - a refusal sets *err; an acceptance sets *out;
 *   - every entry has a name, is_dir and size_approx are 0 or 1, size and
 *     mtime are -1 or >= 0, and a time comes with its listing kind's precision
 *     (rsync and MLSD: 1 s; LIST: 60 s or a day; DOS and autoindex: 60 s);
 *   - rsync: a file or directory line has a size, a time and a non-empty name,
 *     and the name is the whole "\#ooo"-decoded rest of the line;
 *   - MLSD: "file" entries have a size and a time (else the line is refused);
 *   - LIST: every entry has a size and a time, and "." and ".." never appear;
 *   - autoindex: entries without a time, with a local time or (files) without
 *     a size are marked to be confirmed; names are non-empty;
 *   - the same input parses the same way twice;
 *   - ms_scan_name_ok accepts exactly the names that are not "", "." or "..",
 *     hold no "/", backslash or control byte, and normalise to themselves;
 *     ms_scan_name_check refuses exactly "", ".", ".." and the names with a
 *     "/", takes what ms_scan_name_ok accepts and skips the rest. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "ms_path.h"
#include "ms_scan.h"
#include "fuzz.h"

enum { T_RSYNC, T_MLSD, T_LIST, T_AUTOINDEX, T_NAME, T_COUNT };

/* Moments for LIST's "Mon DD HH:MM": mid-year, just after New Year (the
 * "in the future: last year's" rule crosses a year), the epoch (last year
 * is before 1970) and the last day the parser's year range allows. */
static const int64_t nows[] = {
    1717200000,          /* 2024-06-01 00:00:00 UTC */
    1735689630,          /* 2025-01-01 00:00:30 UTC */
    0,                   /* 1970-01-01 00:00:00 UTC */
    253402214400,        /* 9999-12-31 00:00:00 UTC */
};

/* The fields every entry of every parser must satisfy. */
static void check_entry(const ms_listent_t *e)
{
    CHECK(e->name != NULL);
    CHECK(e->is_dir == 0 || e->is_dir == 1);
    CHECK(e->size_approx == 0 || e->size_approx == 1);
    CHECK(e->size >= -1);
    CHECK(e->mtime >= -1);
    /* utc_time allows years up to 9999 */
    CHECK(e->mtime <= 253402300800LL);
    if (e->mtime >= 0)
        CHECK(e->precision == MS_PREC_EXACT || e->precision == MS_PREC_MINUTE
              || e->precision == MS_PREC_DAY);
}

static int same_entry(const ms_listent_t *a, const ms_listent_t *b)
{
    return strcmp(a->name, b->name) == 0 && a->is_dir == b->is_dir && a->size == b->size
        && a->size_approx == b->size_approx && a->mtime == b->mtime
        && a->precision == b->precision;
}

static void check_same(const apr_array_header_t *a, const apr_array_header_t *b)
{
    int i;

    CHECK(a->nelts == b->nelts);
    for (i = 0; i < a->nelts; i++)
        CHECK(same_entry(&APR_ARRAY_IDX(a, i, ms_listent_t),
                         &APR_ARRAY_IDX(b, i, ms_listent_t)));
}

/* The length the rsync name must have: the line's rest after mode, size and
 * date, with each "\#ooo" (first digit 0-3) counted as one byte. */
static size_t rsync_name_len(const char *line)
{
    const char *s = line + 10;
    size_t n = 0;

    while (*s == ' ')
        s++;
    while (*s && *s != ' ')
        s++;
    s += 21;
    while (*s) {
        if (s[0] == '\\' && s[1] == '#' && s[2] >= '0' && s[2] <= '3'
            && s[3] >= '0' && s[3] <= '7' && s[4] >= '0' && s[4] <= '7')
            s += 5;
        else
            s++;
        n++;
    }
    return n;
}

static void fuzz_rsync(const char *line, apr_pool_t *p)
{
    ms_listent_t e, again;
    const char *err = NULL;
    int skip = -1, skip2 = -1, rc;

    rc = ms_parse_rsync_line(&e, &skip, line, p, &err);
    CHECK(skip == 0 || skip == 1);
    if (rc != 0) {
        CHECK(rc == -1 && err != NULL);
        return;
    }
    check_entry(&e);
    CHECK(*e.name != '\0');
    CHECK(e.size >= 0 && e.mtime >= 0 && e.precision == MS_PREC_EXACT);
    CHECK(!e.size_approx);
    CHECK(e.is_dir == (line[0] == 'd'));
    CHECK(skip == (line[0] != '-' && line[0] != 'd'));
    CHECK(strlen(e.name) == rsync_name_len(line));
    CHECK(ms_parse_rsync_line(&again, &skip2, line, p, &err) == 0 && skip2 == skip);
    CHECK(same_entry(&e, &again));
}

/* The listing parser that which names. */
static int parse(int which, apr_array_header_t **out, const char *buf, size_t len,
                 int64_t now, apr_pool_t *p, const char **err)
{
    if (which == T_MLSD)
        return ms_parse_mlsd(out, buf, len, p, err);
    if (which == T_LIST)
        return ms_parse_ftp_list(out, buf, len, now, p, err);
    return ms_parse_autoindex(out, buf, len, p, err);
}

static void fuzz_list(int which, const char *buf, size_t len, int64_t now, apr_pool_t *p)
{
    apr_array_header_t *out = NULL, *again = NULL;
    const char *err = NULL;
    int rc, i;

    rc = parse(which, &out, buf, len, now, p, &err);
    if (rc != 0) {
        CHECK(rc == -1 && err != NULL);
        return;
    }
    CHECK(out != NULL);
    for (i = 0; i < out->nelts; i++) {
        const ms_listent_t *e = &APR_ARRAY_IDX(out, i, ms_listent_t);

        check_entry(e);
        switch (which) {
        case T_MLSD:
            if (e->mtime >= 0)
                CHECK(e->precision == MS_PREC_EXACT);
            if (!e->is_dir)
                CHECK(e->size >= 0 && e->mtime >= 0);
            CHECK(!e->size_approx);
            break;
        case T_LIST:
            CHECK(*e->name != '\0');
            CHECK(strcmp(e->name, ".") != 0 && strcmp(e->name, "..") != 0);
            CHECK(e->size >= 0 && e->mtime >= 0);
            CHECK(e->precision == MS_PREC_MINUTE || e->precision == MS_PREC_DAY);
            CHECK(!e->size_approx);
            break;
        default:
            CHECK(*e->name != '\0');
            if (e->mtime >= 0)
                CHECK(e->precision == MS_PREC_MINUTE);
            if (e->mtime < 0 || (e->size < 0 && !e->is_dir))
                CHECK(e->size_approx);
            break;
        }
    }
    rc = parse(which, &again, buf, len, now, p, &err);
    CHECK(rc == 0 && again != NULL);
    check_same(out, again);
}

/* What ms_scan_name_ok promises, spelled out independently of it. */
static void fuzz_name(const char *name, apr_pool_t *p)
{
    const unsigned char *u;
    const char *norm = NULL;
    int bytes_ok = *name && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
    int ok = ms_scan_name_ok(name) == 0;

    for (u = (const unsigned char *)name; *u; u++)
        if (*u < 0x20 || *u == 0x7f || *u == '/' || *u == '\\')
            bytes_ok = 0;
    CHECK(ok == (bytes_ok && ms_path_normalise(&norm, name, p) == 0
                 && strcmp(norm, name) == 0));
    CHECK(ms_scan_name_ok(NULL) != 0);
    CHECK(ms_scan_name_check(name)
          == (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/')
              ? MS_NAME_HOSTILE : ok ? MS_NAME_OK : MS_NAME_SKIP));
    CHECK(ms_scan_name_check(NULL) == MS_NAME_HOSTILE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *buf, *str;
    int which;
    size_t len;

    if (size < 1)
        return 0;
    which = data[0] % T_COUNT;
    len = size - 1;
    /* Exactly len bytes for the (buf, len) parsers; a C string for the others. */
    buf = malloc(len ? len : 1);
    str = malloc(len + 1);
    if (!buf || !str)
        abort();
    memcpy(buf, data + 1, len);
    memcpy(str, data + 1, len);
    str[len] = '\0';
    if (apr_pool_create(&p, fuzz_root_pool()) != APR_SUCCESS)
        abort();
    switch (which) {
    case T_RSYNC:
        fuzz_rsync(str, p);
        break;
    case T_MLSD:
    case T_LIST:
    case T_AUTOINDEX:
        fuzz_list(which, buf, len, nows[(data[0] / T_COUNT) % 4], p);
        break;
    default:
        fuzz_name(str, p);
        break;
    }
    apr_pool_destroy(p);
    free(buf);
    free(str);
    return 0;
}
