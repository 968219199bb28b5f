/* ms_scan_parse.c — the listing parsers: rsync --list-only, FTP MLSD, FTP
 * LIST (Unix and DOS styles) and HTTP autoindex pages (Apache, nginx,
 * lighttpd).
 *
 * Parsers are strict about structure and neutral about names: they return
 * names decoded but unchecked; the walk checks each with ms_scan_name_check
 * (rsync paths segment by segment), refuses the listing on a name no
 * directory can hold and skips the names the index never holds. Times are read as UTC; a listing whose times are the server's local
 * time (Apache, lighttpd) marks its entries to be confirmed by HEAD. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>

#include "ms_path.h"
#include "ms_scan.h"

/* --- small helpers --- */

static const char *const months[12] = {
    "jan", "feb", "mar", "apr", "may", "jun",
    "jul", "aug", "sep", "oct", "nov", "dec",
};

/* 0–11 for a three-letter English month name (any case), else -1. */
static int month_of(const char *s, size_t len)
{
    int i;

    if (len != 3)
        return -1;
    for (i = 0; i < 12; i++)
        if (strncasecmp(s, months[i], 3) == 0)
            return i;
    return -1;
}

/* Unix seconds of a UTC civil time; -1 when a field is out of range. */
static int64_t utc_time(int year, int mon, int day, int hour, int min, int sec)
{
    struct tm tm;

    if (year < 1970 || year > 9999 || mon < 0 || mon > 11 || day < 1 || day > 31
        || hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    return (int64_t)timegm(&tm);
}

/* Parse exactly n digits at s; -1 when they are not all digits. */
static int digits(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* A non-negative decimal integer; digit-group commas allowed when commas. */
static int parse_count(int64_t *out, const char *s, size_t len, int commas)
{
    int64_t v = 0;
    size_t i, nd = 0;

    if (len == 0)
        return -1;
    for (i = 0; i < len; i++) {
        if (commas && s[i] == ',' && nd > 0)
            continue;
        if (s[i] < '0' || s[i] > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
        nd++;
    }
    *out = v;
    return 0;
}

int ms_scan_name_ok(const char *name)
{
    const unsigned char *u = (const unsigned char *)name;
    const char *norm;
    apr_pool_t *p;
    int rc;

    if (!name || !*name || !strcmp(name, ".") || !strcmp(name, ".."))
        return -1;
    for (; *u; u++)
        if (*u < 0x20 || *u == 0x7f || *u == '/' || *u == '\\')
            return -1;
    /* UTF-8 validity: the path normaliser is the one judge of that. */
    if (apr_pool_create(&p, NULL) != APR_SUCCESS)
        return -1;
    rc = ms_path_normalise(&norm, name, p) == 0 && strcmp(norm, name) == 0 ? 0 : -1;
    apr_pool_destroy(p);
    return rc;
}

int ms_scan_name_check(const char *name)
{
    if (!name || !*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/'))
        return MS_NAME_HOSTILE;
    return ms_scan_name_ok(name) == 0 ? MS_NAME_OK : MS_NAME_SKIP;
}

/* Split buf into lines (LF, optional CR before it); calls fn for each. */
typedef int line_fn(void *baton, char *line);

static int each_line(const char *buf, size_t len, line_fn *fn, void *baton,
                     apr_pool_t *p)
{
    char *copy = apr_pstrmemdup(p, buf, len), *line = copy, *nl;
    int rc;

    if (memchr(buf, '\0', len))
        return -1;                          /* binary data is no listing */
    while (line && *line) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (nl && nl > line && nl[-1] == '\r')
            nl[-1] = '\0';
        else if (!nl && *line && line[strlen(line) - 1] == '\r')
            line[strlen(line) - 1] = '\0';
        if (*line && (rc = fn(baton, line)) != 0)
            return rc;
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* --- rsync --- */

/* rsync escapes unprintable bytes in names as "\#ooo" (octal). NULL for
 * "\#000": no name holds a NUL, and decoding one would cut the name short,
 * so the listing would name another file than the server meant. */
static const char *rsync_unescape(const char *s, apr_pool_t *p)
{
    char *out = apr_palloc(p, strlen(s) + 1), *o = out;

    while (*s) {
        if (s[0] == '\\' && s[1] == '#' && s[2] >= '0' && s[2] <= '3'
            && s[3] >= '0' && s[3] <= '7' && s[4] >= '0' && s[4] <= '7') {
            *o = (char)((s[2] - '0') * 64 + (s[3] - '0') * 8 + (s[4] - '0'));
            if (*o++ == '\0')
                return NULL;
            s += 5;
        }
        else
            *o++ = *s++;
    }
    *o = '\0';
    return out;
}

int ms_parse_rsync_line(ms_listent_t *e, int *skip, const char *line,
                        apr_pool_t *p, const char **err)
{
    const char *s = line, *tok;
    int y, mo, d, h, mi, se;

    memset(e, 0, sizeof(*e));
    *skip = 0;
    /* mode: ten characters, then blanks */
    if (strlen(s) < 11 || !strchr("-dlbcps", s[0]) || s[10] != ' ')
        goto bad;
    if (s[0] != '-' && s[0] != 'd')
        *skip = 1;
    e->is_dir = s[0] == 'd';
    s += 10;
    while (*s == ' ')
        s++;
    tok = s;
    while (*s && *s != ' ')
        s++;
    if (parse_count(&e->size, tok, (size_t)(s - tok), 1) != 0)
        goto bad;
    /* " YYYY/MM/DD HH:MM:SS " */
    if (strlen(s) < 21 || s[0] != ' ' || s[5] != '/' || s[8] != '/' || s[11] != ' '
        || s[14] != ':' || s[17] != ':' || s[20] != ' ')
        goto bad;
    y = digits(s + 1, 4); mo = digits(s + 6, 2); d = digits(s + 9, 2);
    h = digits(s + 12, 2); mi = digits(s + 15, 2); se = digits(s + 18, 2);
    if ((e->mtime = utc_time(y, mo - 1, d, h, mi, se)) < 0)
        goto bad;
    e->precision = MS_PREC_EXACT;
    e->name = rsync_unescape(s + 21, p);
    if (!e->name || !*e->name)
        goto bad;
    return 0;

bad:
    *err = apr_psprintf(p, "malformed rsync listing line: %.80s", line);
    return -1;
}

/* --- MLSD (RFC 3659) --- */

typedef struct list_ctx {
    apr_array_header_t *out;
    apr_pool_t *p;
    int64_t now;
    const char *err;
} list_ctx;

static int mlsd_line(void *baton, char *line)
{
    list_ctx *c = baton;
    ms_listent_t e;
    char *sp = strchr(line, ' '), *fact, *last;
    const char *type = NULL;

    memset(&e, 0, sizeof(e));
    e.size = -1;
    e.mtime = -1;
    e.precision = MS_PREC_EXACT;
    if (!sp || sp == line) {
        c->err = apr_psprintf(c->p, "malformed MLSD line: %.80s", line);
        return -1;
    }
    *sp = '\0';
    e.name = apr_pstrdup(c->p, sp + 1);
    for (fact = apr_strtok(line, ";", &last); fact; fact = apr_strtok(NULL, ";", &last)) {
        char *eq = strchr(fact, '=');
        if (!eq)
            continue;
        *eq++ = '\0';
        if (!strcasecmp(fact, "type"))
            type = eq;
        else if (!strcasecmp(fact, "size") || !strcasecmp(fact, "sizd")) {
            if (parse_count(&e.size, eq, strlen(eq), 0) != 0)
                goto bad;
        }
        else if (!strcasecmp(fact, "modify")) {
            if (strlen(eq) < 14 || (eq[14] && eq[14] != '.'))
                goto bad;
            e.mtime = utc_time(digits(eq, 4), digits(eq + 4, 2) - 1, digits(eq + 6, 2),
                               digits(eq + 8, 2), digits(eq + 10, 2), digits(eq + 12, 2));
            if (e.mtime < 0)
                goto bad;
        }
    }
    if (!type)
        goto bad;
    if (!strcasecmp(type, "cdir") || !strcasecmp(type, "pdir"))
        return 0;
    if (!strcasecmp(type, "dir"))
        e.is_dir = 1;
    else if (strcasecmp(type, "file") != 0)
        return 0;                           /* OS.unix=symlink and the like */
    else if (e.size < 0 || e.mtime < 0)
        goto bad;
    *(ms_listent_t *)apr_array_push(c->out) = e;
    return 0;

bad:
    c->err = apr_psprintf(c->p, "malformed MLSD line for %.80s", e.name);
    return -1;
}

int ms_parse_mlsd(apr_array_header_t **out, const char *buf, size_t len,
                  apr_pool_t *p, const char **err)
{
    list_ctx c = { apr_array_make(p, 64, sizeof(ms_listent_t)), p, 0, NULL };

    if (each_line(buf, len, mlsd_line, &c, p) != 0) {
        *err = c.err ? c.err : "malformed MLSD listing (binary data)";
        return -1;
    }
    *out = c.out;
    return 0;
}

/* --- LIST --- */

typedef struct token {
    const char *s;
    size_t len;
} token;

/* Up to max blank-separated tokens of line; returns how many. */
static int tokenize(token *t, int max, const char *line)
{
    int n = 0;

    while (*line && n < max) {
        while (*line == ' ' || *line == '\t')
            line++;
        if (!*line)
            break;
        t[n].s = line;
        while (*line && *line != ' ' && *line != '\t')
            line++;
        t[n].len = (size_t)(line - t[n].s);
        n++;
    }
    return n;
}

/* "Mon DD HH:MM" (within the last year of now) or "Mon DD YYYY". */
static int unix_date(ms_listent_t *e, const token *t, int64_t now)
{
    int mon = month_of(t[0].s, t[0].len), day, year, h, mi;
    int64_t v;
    struct tm tm;
    time_t tnow = (time_t)now;

    if (mon < 0 || t[1].len < 1 || t[1].len > 2)
        return -1;
    day = t[1].len == 1 ? digits(t[1].s, 1) : digits(t[1].s, 2);
    if (t[2].len == 5 && t[2].s[2] == ':') {
        h = digits(t[2].s, 2);
        mi = digits(t[2].s + 3, 2);
        gmtime_r(&tnow, &tm);
        year = tm.tm_year + 1900;
        v = utc_time(year, mon, day, h, mi, 0);
        if (v > now + 86400)                /* in the future: last year's */
            v = utc_time(year - 1, mon, day, h, mi, 0);
        e->precision = MS_PREC_MINUTE;
    }
    else if (t[2].len == 4 && (year = digits(t[2].s, 4)) >= 0) {
        v = utc_time(year, mon, day, 0, 0, 0);
        e->precision = MS_PREC_DAY;
    }
    else
        return -1;
    if (v < 0)
        return -1;
    e->mtime = v;
    return 0;
}

/* Unix style: the date is the first "Mon DD time" run after the mode; the
 * size is the token just before it; the name is what follows the date. */
static int list_unix(list_ctx *c, char *line)
{
    token t[12];
    int n = tokenize(t, 12, line), i;
    ms_listent_t e;
    const char *name;

    memset(&e, 0, sizeof(e));
    if (n < 5 || t[0].len != 10)
        return -1;
    for (i = 2; i + 2 < n; i++) {
        if (month_of(t[i].s, t[i].len) >= 0 && unix_date(&e, &t[i], c->now) == 0)
            break;
    }
    if (i + 2 >= n || parse_count(&e.size, t[i - 1].s, t[i - 1].len, 0) != 0)
        return -1;
    name = t[i + 2].s + t[i + 2].len;
    if (*name != ' ' && *name != '\t')
        return -1;
    name++;                                 /* exactly one separator */
    if (!*name)
        return -1;
    if (line[0] == 'l' || (line[0] != '-' && line[0] != 'd'))
        return 0;                           /* symlinks, devices: not files */
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return 0;                           /* "ls -a" style listings */
    e.is_dir = line[0] == 'd';
    e.name = apr_pstrdup(c->p, name);
    *(ms_listent_t *)apr_array_push(c->out) = e;
    return 0;
}

/* DOS/IIS style: "05-01-24  12:00PM       1234 name" or "<DIR>". */
static int list_dos(list_ctx *c, char *line)
{
    token t[4];
    int n = tokenize(t, 3, line), mo, d, y, h, mi;
    ms_listent_t e;
    const char *name;

    memset(&e, 0, sizeof(e));
    if (n < 3 || t[0].len < 8 || t[0].s[2] != '-' || t[0].s[5] != '-')
        return -1;
    mo = digits(t[0].s, 2);
    d = digits(t[0].s + 3, 2);
    y = t[0].len == 10 ? digits(t[0].s + 6, 4) : digits(t[0].s + 6, 2);
    if (y >= 0 && t[0].len == 8)
        y += y < 70 ? 2000 : 1900;
    if (t[1].len < 5 || t[1].s[2] != ':')
        return -1;
    h = digits(t[1].s, 2);
    mi = digits(t[1].s + 3, 2);
    if (t[1].len == 7 && h >= 1 && h <= 12) {
        if (toupper((unsigned char)t[1].s[5]) == 'P' && h != 12)
            h += 12;
        else if (toupper((unsigned char)t[1].s[5]) == 'A' && h == 12)
            h = 0;
    }
    if ((e.mtime = utc_time(y, mo - 1, d, h, mi, 0)) < 0)
        return -1;
    e.precision = MS_PREC_MINUTE;
    if (t[2].len == 5 && !strncasecmp(t[2].s, "<DIR>", 5))
        e.is_dir = 1;
    else if (parse_count(&e.size, t[2].s, t[2].len, 0) != 0)
        return -1;
    name = t[2].s + t[2].len;
    while (*name == ' ' || *name == '\t')
        name++;
    if (!*name)
        return -1;
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return 0;                           /* Windows "dir" lists them too */
    e.name = apr_pstrdup(c->p, name);
    *(ms_listent_t *)apr_array_push(c->out) = e;
    return 0;
}

static int list_line(void *baton, char *line)
{
    list_ctx *c = baton;

    if (!strncmp(line, "total ", 6))
        return 0;
    if (strchr("-dlbcps", line[0]) && list_unix(c, line) == 0)
        return 0;
    if (isdigit((unsigned char)line[0]) && list_dos(c, line) == 0)
        return 0;
    c->err = apr_psprintf(c->p, "malformed LIST line: %.80s", line);
    return -1;
}

int ms_parse_ftp_list(apr_array_header_t **out, const char *buf, size_t len,
                      int64_t now, apr_pool_t *p, const char **err)
{
    list_ctx c = { apr_array_make(p, 64, sizeof(ms_listent_t)), p, now, NULL };

    if (each_line(buf, len, list_line, &c, p) != 0) {
        *err = c.err ? c.err : "malformed LIST listing (binary data)";
        return -1;
    }
    *out = c.out;
    return 0;
}

/* --- HTTP autoindex --- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode the HTML character references that servers put into hrefs. A
 * numeric one ("&#65;", "&#x41;") is digits only, up to ";", inside s's len
 * bytes: no blanks, signs or "0x" (strtol would take them, and read past the
 * end of an attribute value to find its digits). */
static char *html_unescape(const char *s, size_t len, apr_pool_t *p)
{
    static const struct { const char *name; char c; } ents[] = {
        { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' },
        { "apos;", '\'' }, { "nbsp;", ' ' },
    };
    char *out = apr_palloc(p, len + 1), *o = out;
    size_t i = 0, k;

    while (i < len) {
        if (s[i] == '&') {
            int done = 0;
            for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
                size_t n = strlen(ents[k].name);
                if (i + 1 + n <= len && !strncmp(s + i + 1, ents[k].name, n)) {
                    *o++ = ents[k].c;
                    i += 1 + n;
                    done = 1;
                    break;
                }
            }
            if (!done && i + 2 < len && s[i + 1] == '#') {
                int base = s[i + 2] == 'x' || s[i + 2] == 'X' ? 16 : 10, d;
                size_t j = i + (base == 16 ? 3 : 2), start = j;
                long v = 0;

                while (j < len && j - start < 8 && (d = hexval(s[j])) >= 0 && d < base) {
                    v = v * base + d;
                    j++;
                }
                if (j > start && j < len && s[j] == ';' && v > 0 && v < 0x80) {
                    *o++ = (char)v;
                    i = j + 1;
                    done = 1;
                }
            }
            if (done)
                continue;
        }
        *o++ = s[i++];
    }
    *o = '\0';
    return out;
}

/* Percent-decode; -1 on a malformed escape or an encoded NUL. */
static int pct_decode(char **out, const char *s, apr_pool_t *p)
{
    char *o = apr_palloc(p, strlen(s) + 1);
    *out = o;
    while (*s) {
        if (*s == '%') {
            int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            *o++ = (char)(hi * 16 + lo);
            s += 3;
        }
        else
            *o++ = *s++;
    }
    *o = '\0';
    return 0;
}

/* The date in text: "YYYY-MM-DD HH:MM[:SS]" (Apache 2.4), "DD-Mon-YYYY
 * HH:MM[:SS]" (nginx, Apache 2.2), "YYYY-Mon-DD HH:MM:SS" (lighttpd). Sets
 * *local for the styles whose servers print local time. Returns where the
 * date ends, or NULL. */
static const char *find_date(int64_t *t, int *local, const char *s)
{
    size_t rem = strlen(s);

    for (; rem >= 16; s++, rem--) {
        int y = -1, mo = -1, d = -1, h, mi, se = 0;
        const char *tm;

        if (isdigit((unsigned char)s[0]) && s[4] == '-' && s[7] == '-'
            && (y = digits(s, 4)) >= 0 && (mo = digits(s + 5, 2)) >= 1
            && (d = digits(s + 8, 2)) >= 0) {
            tm = s + 10;
            *local = 1;
            mo--;
        }
        else if (isdigit((unsigned char)s[0]) && s[4] == '-' && s[8] == '-'
                 && (y = digits(s, 4)) >= 0 && (mo = month_of(s + 5, 3)) >= 0
                 && (d = digits(s + 9, 2)) >= 0) {
            tm = s + 11;
            *local = 1;
        }
        else if (isdigit((unsigned char)s[0]) && s[2] == '-' && s[6] == '-'
                 && (d = digits(s, 2)) >= 0 && (mo = month_of(s + 3, 3)) >= 0
                 && (y = digits(s + 7, 4)) >= 0) {
            tm = s + 11;
            *local = 0;
        }
        else
            continue;
        if (tm[0] != ' ' || tm[3] != ':' || (h = digits(tm + 1, 2)) < 0
            || (mi = digits(tm + 4, 2)) < 0)
            continue;
        tm += 6;
        if (tm[0] == ':' && tm[1] && (se = digits(tm + 1, 2)) >= 0)
            tm += 3;
        else
            se = 0;
        if ((*t = utc_time(y, mo, d, h, mi, se)) < 0)
            continue;
        return tm;
    }
    return NULL;
}

/* The size after the date: "1234" exact, "1.2K"/"121M" rounded, "-" none.
 * A size past what int64_t holds ("9e18T") is none: converting it would be
 * undefined. */
static void find_size(ms_listent_t *e, const char *s)
{
    double v;
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    e->size = -1;
    if (!isdigit((unsigned char)*s))
        return;
    v = strtod(s, &end);
    if (end == s || v < 0 || v > 9e18)
        return;
    switch (toupper((unsigned char)*end)) {
    case 'K': v *= 1024.0; e->size_approx = 1; break;
    case 'M': v *= 1048576.0; e->size_approx = 1; break;
    case 'G': v *= 1073741824.0; e->size_approx = 1; break;
    case 'T': v *= 1099511627776.0; e->size_approx = 1; break;
    default:
        if (memchr(s, '.', (size_t)(end - s)))
            e->size_approx = 1;
        break;
    }
    if (!(v < 9e18))
        return;
    e->size = (int64_t)v;
}

/* The text after a link up to the next link or line end, tags removed. */
static char *tail_text(const char *s, const char *end, apr_pool_t *p)
{
    const char *stop = s;
    char *out, *o;
    int in_tag = 0;

    if (end - s > 512)
        end = s + 512;                      /* a date and a size fit */
    while (stop < end && *stop != '\n' && strncasecmp(stop, "<a ", 3) != 0)
        stop++;
    o = out = apr_palloc(p, (size_t)(stop - s) + 1);
    for (; s < stop; s++) {
        if (*s == '<')
            in_tag = 1;
        else if (*s == '>')
            in_tag = 0, *o++ = ' ';
        else if (!in_tag)
            *o++ = *s;
    }
    *o = '\0';
    return html_unescape(out, strlen(out), p);
}

/* The href value of an "<a" tag starting at s; NULL when it has none.
 * *after: just past the tag's ">", NULL when the tag does not end. */
static const char *href_of(const char *s, const char *end, const char **after,
                           apr_pool_t *p)
{
    const char *gt = s, *h;
    char q;

    *after = NULL;
    while (gt < end && *gt != '>')
        gt++;
    if (gt >= end)
        return NULL;
    *after = gt + 1;
    for (h = s; h + 5 < gt; h++) {
        if (strncasecmp(h, "href=", 5) == 0 && (h == s || isspace((unsigned char)h[-1]))) {
            const char *v = h + 5, *ve;
            q = *v;
            if (q == '"' || q == '\'') {
                v++;
                for (ve = v; ve < gt && *ve != q; ve++)
                    ;
            }
            else
                for (ve = v; ve < gt && !isspace((unsigned char)*ve); ve++)
                    ;
            return html_unescape(v, (size_t)(ve - v), p);
        }
    }
    return NULL;
}

int ms_parse_autoindex(apr_array_header_t **out, const char *buf, size_t len,
                       apr_pool_t *p, const char **err)
{
    apr_array_header_t *list = apr_array_make(p, 64, sizeof(ms_listent_t));
    const char *s, *end, *after;
    int links = 0, titled;

    if (memchr(buf, '\0', len)) {
        *err = "not a directory listing (binary data)";
        return -1;
    }
    /* A terminated copy: the string functions below stop at its NUL, never
     * past len, whether the caller's buffer is terminated or not. */
    buf = apr_pstrmemdup(p, buf, len);
    s = buf;
    end = buf + len;
    titled = strstr(buf, "Index of") || strstr(buf, "index of");
    while ((s = memchr(s, '<', (size_t)(end - s))) != NULL) {
        const char *href, *close;
        char *name, *text;
        const char *date_end;
        size_t n;
        ms_listent_t e;
        int local = 0;

        if (end - s < 3 || strncasecmp(s, "<a ", 3) != 0) {
            s++;
            continue;
        }
        if (!(href = href_of(s, end, &after, p))) {
            if (!after)
                break;                      /* the tag never ends */
            s = after;                      /* <a name=...>: not a link */
            continue;
        }
        s = after;
        links++;
        /* Direct children only: relative, no query, no fragment, no
         * scheme, at most one trailing "/". "./a:b" is Apache's way of
         * writing a name with a colon. */
        if (!strncmp(href, "./", 2))
            href += 2;
        else if (strchr(href, ':'))
            continue;                       /* a scheme: another host */
        n = strlen(href);
        if (n == 0 || href[0] == '/' || href[0] == '?' || href[0] == '#'
            || strpbrk(href, "?#") || !strcmp(href, "../") || !strcmp(href, "./"))
            continue;
        if (memchr(href, '/', n - 1))
            continue;                       /* deeper paths */
        memset(&e, 0, sizeof(e));
        e.is_dir = href[n - 1] == '/';
        if (pct_decode(&name, apr_pstrndup(p, href, n - (size_t)e.is_dir), p) != 0) {
            *err = apr_psprintf(p, "malformed link in listing: %.80s", href);
            return -1;
        }
        e.name = name;
        e.mtime = -1;
        e.size = -1;
        close = s;
        while (close < end && *close != '\n' && strncasecmp(close, "</a>", 4) != 0)
            close++;
        text = tail_text(close < end && *close != '\n' ? close + 4 : close, end, p);
        if ((date_end = find_date(&e.mtime, &local, text)) != NULL) {
            e.precision = MS_PREC_MINUTE;
            find_size(&e, date_end);
        }
        if (e.mtime < 0 || local || (e.size < 0 && !e.is_dir))
            e.size_approx = 1;              /* confirm by HEAD */
        *(ms_listent_t *)apr_array_push(list) = e;
    }
    if (!links && !titled) {
        *err = "not a directory listing (no links)";
        return -1;
    }
    *out = list;
    return 0;
}
