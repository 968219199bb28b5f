/* ms_buf.h — a growable output buffer in an APR pool: the sink every writer
 * of the core (ms_json, ms_xml, ms_meta4, ms_mirrorlist) writes to. The
 * module turns it into a response body, the tool writes it to stdout.
 *
 * The contents are always NUL-terminated (not counted in the length), so a
 * buffer of text can be used as a C string. Memory comes from the pool the
 * buffer was made in; nothing needs freeing. */
#ifndef MS_BUF_H
#define MS_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>

typedef struct ms_buf {
    apr_pool_t *pool;
    char *data;                /* NUL-terminated */
    size_t len;                /* bytes written, without the NUL */
    size_t cap;                /* bytes available, without the NUL */
} ms_buf_t;

/* A new, empty buffer; hint is the expected size (0: a small default). */
ms_buf_t *ms_buf_make(apr_pool_t *p, size_t hint);

void ms_buf_add(ms_buf_t *b, const void *data, size_t n);
void ms_buf_adds(ms_buf_t *b, const char *s);          /* NULL adds nothing */
void ms_buf_addc(ms_buf_t *b, char c);
void ms_buf_printf(ms_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void ms_buf_vprintf(ms_buf_t *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The contents and their length. */
const char *ms_buf_str(const ms_buf_t *b);
size_t ms_buf_len(const ms_buf_t *b);

/* --- helpers the text writers share --- */

/* Length (1–4) of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0 when the bytes at s are
 * not one (a NUL is not one). If cp is not NULL it gets the code point. */
size_t ms_utf8_len(const char *s, uint32_t *cp);

/* RFC 3339 UTC time "2024-05-01T12:00:00Z" of unix seconds t, into buf of
 * at least MS_TIME_LEN bytes. Returns buf. */
#define MS_TIME_LEN 32
const char *ms_time_rfc3339(char *buf, int64_t t);

/* The last segment of a slash-separated path ("x.iso" of "pub/x.iso"). */
const char *ms_basename(const char *path);

#endif
