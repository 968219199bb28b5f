/* ms_xml.c — the XML and HTML writer. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ms_xml.h"

#define MS_UFFFD "\xef\xbf\xbd"

/* The escape of one ASCII byte: NULL when it stands for itself, "" when it
 * is dropped. */
static const char *xml_ascii_escape(unsigned char c, int attr)
{
    switch (c) {
    case '&':  return "&amp;";
    case '<':  return "&lt;";
    case '>':  return "&gt;";
    case '"':  return "&quot;";
    case '\'': return "&#39;";
    case '\r': return "&#13;";
    case '\t': return attr ? "&#9;" : NULL;
    case '\n': return attr ? "&#10;" : NULL;
    default:
        return (c < 0x20 || c == 0x7f) ? "" : NULL;
    }
}

void ms_xml_escape(ms_buf_t *out, const char *s, int attr)
{
    const char *esc;
    uint32_t cp;
    size_t n;

    while (s && *s) {
        if ((unsigned char)*s < 0x80) {
            esc = xml_ascii_escape((unsigned char)*s, attr);
            if (esc)
                ms_buf_adds(out, esc);
            else
                ms_buf_addc(out, *s);
            s++;
            continue;
        }
        n = ms_utf8_len(s, &cp);
        if (n == 0) {
            ms_buf_adds(out, MS_UFFFD);       /* one invalid byte */
            s++;
            continue;
        }
        if (cp == 0xfffe || cp == 0xffff)
            ms_buf_adds(out, MS_UFFFD);       /* not XML characters */
        else if (cp > 0x9f)
            ms_buf_add(out, s, n);
        /* else: a C1 control, dropped */
        s += n;
    }
}

void ms_xml_init(ms_xml_t *x, ms_buf_t *out, int mode)
{
    memset(x, 0, sizeof(*x));
    x->out = out;
    x->html = mode == MS_XML_HTML;
}

/* HTML elements that have no content and no end tag. */
static int html_void(const char *name)
{
    static const char *const names[] = {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr",
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) == 0)
            return 1;
    }
    return 0;
}

/* Finish a pending start tag before content follows. */
static void xml_close_tag(ms_xml_t *x)
{
    if (x->tag_open) {
        ms_buf_addc(x->out, '>');
        x->tag_open = 0;
    }
}

static void xml_newline(ms_xml_t *x, int level)
{
    ms_buf_printf(x->out, "\n%*s", 2 * level, "");
}

void ms_xml_start(ms_xml_t *x, const char *name)
{
    xml_close_tag(x);
    if (x->depth + 1 >= MS_XML_DEPTH) {
        x->error = 1;
        return;
    }
    if (!x->text[x->depth] && ms_buf_len(x->out) > 0)
        xml_newline(x, x->depth);
    x->children[x->depth] = 1;
    x->depth++;
    x->name[x->depth] = name;
    x->children[x->depth] = 0;
    x->text[x->depth] = 0;
    ms_buf_printf(x->out, "<%s", name);
    x->tag_open = 1;
}

void ms_xml_attr(ms_xml_t *x, const char *name, const char *value)
{
    if (!x->tag_open) {
        x->error = 1;
        return;
    }
    if (!value)
        return;
    ms_buf_printf(x->out, " %s=\"", name);
    ms_xml_escape(x->out, value, 1);
    ms_buf_addc(x->out, '"');
}

void ms_xml_attr_int(ms_xml_t *x, const char *name, int64_t value)
{
    char num[24];

    snprintf(num, sizeof(num), "%lld", (long long)value);
    ms_xml_attr(x, name, num);
}

void ms_xml_text(ms_xml_t *x, const char *s)
{
    if (!s || !*s)
        return;
    xml_close_tag(x);
    x->text[x->depth] = 1;
    ms_xml_escape(x->out, s, 0);
}

void ms_xml_textf(ms_xml_t *x, const char *fmt, ...)
{
    ms_buf_t *tmp = ms_buf_make(x->out->pool, 0);
    va_list ap;

    va_start(ap, fmt);
    ms_buf_vprintf(tmp, fmt, ap);
    va_end(ap);
    ms_xml_text(x, ms_buf_str(tmp));
}

void ms_xml_end(ms_xml_t *x)
{
    const char *name;
    int empty;

    if (x->depth == 0) {
        x->error = 1;
        return;
    }
    name = x->name[x->depth];
    empty = x->tag_open;
    if (empty && x->html && html_void(name))
        ms_buf_addc(x->out, '>');
    else if (empty && !x->html)
        ms_buf_adds(x->out, "/>");
    else {
        xml_close_tag(x);
        if (x->children[x->depth] && !x->text[x->depth])
            xml_newline(x, x->depth - 1);
        ms_buf_printf(x->out, "</%s>", name);
    }
    x->tag_open = 0;
    x->depth--;
    if (x->depth == 0)
        ms_buf_addc(x->out, '\n');
}

void ms_xml_leaf(ms_xml_t *x, const char *name, const char *text)
{
    ms_xml_start(x, name);
    ms_xml_text(x, text);
    ms_xml_end(x);
}

void ms_xml_raw(ms_xml_t *x, const char *markup)
{
    xml_close_tag(x);
    if (x->depth > 0)
        x->text[x->depth] = 1;
    ms_buf_adds(x->out, markup);
}

int ms_xml_finish(const ms_xml_t *x)
{
    return (x->error || x->depth != 0 || x->tag_open) ? -1 : 0;
}
