/* ms_json.c — the JSON writer. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ms_json.h"

/* The escape of one ASCII byte, or NULL when it stands for itself. The
 * HTML-significant characters are escaped too, so a JSON document can never
 * close a <script> element or open a tag wherever it is pasted. */
static const char *json_ascii_escape(unsigned char c, char *tmp)
{
    switch (c) {
    case '"':  return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '<': case '>': case '&': case 0x7f:
        break;
    default:
        if (c >= 0x20)
            return NULL;
    }
    snprintf(tmp, 8, "\\u%04x", c);
    return tmp;
}

void ms_jw_escape(ms_buf_t *out, const char *s)
{
    char tmp[8];
    const char *esc;
    uint32_t cp;
    size_t n;

    ms_buf_addc(out, '"');
    while (s && *s) {
        if ((unsigned char)*s < 0x80) {
            esc = json_ascii_escape((unsigned char)*s, tmp);
            if (esc)
                ms_buf_adds(out, esc);
            else
                ms_buf_addc(out, *s);
            s++;
            continue;
        }
        n = ms_utf8_len(s, &cp);
        if (n == 0) {
            ms_buf_adds(out, "\\ufffd");     /* one invalid byte */
            s++;
        }
        else {
            if (cp == 0x2028 || cp == 0x2029)
                ms_buf_printf(out, "\\u%04x", (unsigned)cp);
            else
                ms_buf_add(out, s, n);
            s += n;
        }
    }
    ms_buf_addc(out, '"');
}

void ms_jw_init(ms_jw_t *j, ms_buf_t *out)
{
    memset(j, 0, sizeof(*j));
    j->out = out;
}

/* Comma, newline and indentation before a value; then its key, if any. */
static void jw_member(ms_jw_t *j, const char *key)
{
    if (j->depth > 0) {
        ms_buf_adds(j->out, j->count[j->depth]++ ? ",\n" : "\n");
        ms_buf_printf(j->out, "%*s", 2 * j->depth, "");
        if (j->closer[j->depth] == '}') {      /* keys only inside objects */
            ms_jw_escape(j->out, key ? key : "");
            ms_buf_adds(j->out, ": ");
        }
    }
}

/* A scalar value at the top level ends the document. */
static void jw_done_value(ms_jw_t *j)
{
    if (j->depth == 0)
        ms_buf_addc(j->out, '\n');
}

static void jw_open(ms_jw_t *j, const char *key, char opener, char closer)
{
    jw_member(j, key);
    ms_buf_addc(j->out, opener);
    if (j->depth + 1 >= MS_JW_DEPTH) {
        /* Too deep to track: close it at once so the text stays valid JSON. */
        j->error = 1;
        ms_buf_addc(j->out, closer);
        return;
    }
    j->depth++;
    j->count[j->depth] = 0;
    j->closer[j->depth] = closer;
}

void ms_jw_object(ms_jw_t *j, const char *key) { jw_open(j, key, '{', '}'); }
void ms_jw_array(ms_jw_t *j, const char *key)  { jw_open(j, key, '[', ']'); }

void ms_jw_end(ms_jw_t *j)
{
    char closer;

    if (j->depth == 0) {
        j->error = 1;
        return;
    }
    closer = j->closer[j->depth];
    if (j->count[j->depth])
        ms_buf_printf(j->out, "\n%*s", 2 * (j->depth - 1), "");
    j->depth--;
    ms_buf_addc(j->out, closer);
    jw_done_value(j);
}

void ms_jw_str(ms_jw_t *j, const char *key, const char *s)
{
    jw_member(j, key);
    if (s)
        ms_jw_escape(j->out, s);
    else
        ms_buf_adds(j->out, "null");
    jw_done_value(j);
}

void ms_jw_int(ms_jw_t *j, const char *key, int64_t v)
{
    jw_member(j, key);
    ms_buf_printf(j->out, "%lld", (long long)v);
    jw_done_value(j);
}

void ms_jw_num(ms_jw_t *j, const char *key, double v)
{
    jw_member(j, key);
    if (isfinite(v))
        ms_buf_printf(j->out, "%.10g", v);
    else
        ms_buf_adds(j->out, "null");
    jw_done_value(j);
}

void ms_jw_bool(ms_jw_t *j, const char *key, int v)
{
    jw_member(j, key);
    ms_buf_adds(j->out, v ? "true" : "false");
    jw_done_value(j);
}

void ms_jw_null(ms_jw_t *j, const char *key)
{
    jw_member(j, key);
    ms_buf_adds(j->out, "null");
    jw_done_value(j);
}

int ms_jw_finish(const ms_jw_t *j)
{
    return (j->error || j->depth != 0) ? -1 : 0;
}
