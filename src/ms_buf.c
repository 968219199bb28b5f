/* ms_buf.c — a growable output buffer in an APR pool. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ms_buf.h"

#define MS_BUF_MIN 256

ms_buf_t *ms_buf_make(apr_pool_t *p, size_t hint)
{
    ms_buf_t *b = apr_pcalloc(p, sizeof(*b));

    b->pool = p;
    b->cap = hint > MS_BUF_MIN ? hint : MS_BUF_MIN;
    b->data = apr_palloc(p, b->cap + 1);
    b->data[0] = '\0';
    return b;
}

/* Make room for n more bytes (and the NUL). The old block stays in the pool:
 * doubling bounds what is left behind by the final size. */
static void buf_reserve(ms_buf_t *b, size_t n)
{
    size_t cap = b->cap;
    char *data;

    if (b->len + n <= b->cap)
        return;
    while (cap < b->len + n)
        cap *= 2;
    data = apr_palloc(b->pool, cap + 1);
    memcpy(data, b->data, b->len + 1);
    b->data = data;
    b->cap = cap;
}

void ms_buf_add(ms_buf_t *b, const void *data, size_t n)
{
    if (n == 0)
        return;
    buf_reserve(b, n);
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void ms_buf_adds(ms_buf_t *b, const char *s)
{
    if (s)
        ms_buf_add(b, s, strlen(s));
}

void ms_buf_addc(ms_buf_t *b, char c)
{
    ms_buf_add(b, &c, 1);
}

void ms_buf_vprintf(ms_buf_t *b, const char *fmt, va_list ap)
{
    va_list again;
    int n;

    va_copy(again, ap);
    n = vsnprintf(b->data + b->len, b->cap - b->len + 1, fmt, ap);
    if (n < 0)
        b->data[b->len] = '\0';
    else if ((size_t)n > b->cap - b->len) {
        buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, b->cap - b->len + 1, fmt, again);
    }
    va_end(again);
    if (n > 0)
        b->len += (size_t)n;
}

void ms_buf_printf(ms_buf_t *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ms_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

const char *ms_buf_str(const ms_buf_t *b)
{
    return b->data;
}

size_t ms_buf_len(const ms_buf_t *b)
{
    return b->len;
}

size_t ms_utf8_len(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char lo = 0x80, hi = 0xbf;
    uint32_t c = u[0];
    size_t n, i;

    if (c < 0x80) {
        n = c ? 1 : 0;
        goto leave;
    }
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, c &= 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, c &= 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, c &= 0x07;
    else
        return 0;               /* continuation byte, C0/C1 overlongs, F5–FF */

    if (u[0] == 0xe0)
        lo = 0xa0;              /* overlong 3-byte form */
    else if (u[0] == 0xed)
        hi = 0x9f;              /* surrogates */
    else if (u[0] == 0xf0)
        lo = 0x90;              /* overlong 4-byte form */
    else if (u[0] == 0xf4)
        hi = 0x8f;              /* above U+10FFFF */
    if (u[1] < lo || u[1] > hi)
        return 0;               /* also stops at a NUL */
    for (i = 1; i < n; i++) {
        if (u[i] < 0x80 || u[i] > 0xbf)
            return 0;
        c = (c << 6) | (u[i] & 0x3f);
    }
leave:
    if (cp)
        *cp = c;
    return n;
}

const char *ms_time_rfc3339(char *buf, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) || !strftime(buf, MS_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, MS_TIME_LEN, "1970-01-01T00:00:00Z");
    return buf;
}

const char *ms_basename(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}
