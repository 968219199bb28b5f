/* ms_json.h — THE JSON writer of the core: every JSON document the project
 * produces is written through it, so every string is escaped the same way.
 *
 *   ms_jw_t j;
 *   ms_jw_init(&j, buf);
 *   ms_jw_object(&j, NULL);
 *     ms_jw_str(&j, "name", m->name);
 *     ms_jw_array(&j, "urls");
 *       ms_jw_str(&j, NULL, url);
 *     ms_jw_end(&j);
 *   ms_jw_end(&j);                  top-level value done: a newline follows
 *
 * The output is indented by two spaces per level (the layout the tool has
 * always printed). Strings are escaped so the document may be embedded in
 * HTML <script> or served to any parser: '"', '\' and control bytes, plus
 * '<', '>', '&', U+2028 and U+2029 as \uXXXX; valid UTF-8 is kept as it is,
 * each invalid byte becomes U+FFFD. */
#ifndef MS_JSON_H
#define MS_JSON_H

#include <stdint.h>
#include "ms_buf.h"

#define MS_JW_DEPTH 32

typedef struct ms_jw {
    ms_buf_t *out;
    int depth;
    int count[MS_JW_DEPTH];    /* values written so far at each depth */
    char closer[MS_JW_DEPTH];  /* '}' or ']' of each open container */
    int error;                 /* nesting too deep or unbalanced */
} ms_jw_t;

void ms_jw_init(ms_jw_t *j, ms_buf_t *out);

/* key is the member name inside an object; NULL inside an array or at top. */
void ms_jw_object(ms_jw_t *j, const char *key);
void ms_jw_array(ms_jw_t *j, const char *key);
void ms_jw_end(ms_jw_t *j);                       /* closes the innermost */
void ms_jw_str(ms_jw_t *j, const char *key, const char *s);   /* NULL: null */
void ms_jw_int(ms_jw_t *j, const char *key, int64_t v);
void ms_jw_num(ms_jw_t *j, const char *key, double v);        /* NaN/inf: null */
void ms_jw_bool(ms_jw_t *j, const char *key, int v);
void ms_jw_null(ms_jw_t *j, const char *key);

/* 0 when every container was closed and nothing went wrong, else -1. */
int ms_jw_finish(const ms_jw_t *j);

/* Append s as a quoted JSON string literal, escaped as described above. */
void ms_jw_escape(ms_buf_t *out, const char *s);

#endif
