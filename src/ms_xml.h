/* ms_xml.h — THE XML and HTML writer of the core: Metalink documents and the
 * HTML mirror list are both written through it, so every piece of text and
 * every attribute value is escaped the same way.
 *
 *   ms_xml_t x;
 *   ms_xml_init(&x, buf, MS_XML_XML);
 *   ms_xml_start(&x, "url");
 *     ms_xml_attr(&x, "location", "de");
 *     ms_xml_attr_int(&x, "priority", 1);
 *     ms_xml_text(&x, url);
 *   ms_xml_end(&x);                     -> <url location="de" priority="1">…</url>
 *
 * Element and attribute names are the caller's literals and are written as
 * they are; text and attribute values are escaped: & < > " ' as references,
 * tab/LF/CR kept in text (CR as &#13;) and written as references in
 * attribute values, other control characters (C0, DEL, C1) dropped, U+FFFE
 * and U+FFFF and every byte of invalid UTF-8 replaced by U+FFFD.
 *
 * Layout: elements are put on lines of their own, indented, unless their
 * parent already holds text (mixed content is never re-spaced). In HTML
 * mode a void element (meta, br, …) gets no end tag and an empty element
 * gets an explicit one; in XML mode an empty element is written "<x/>". */
#ifndef MS_XML_H
#define MS_XML_H

#include <stdint.h>
#include "ms_buf.h"

enum {
    MS_XML_XML  = 0,
    MS_XML_HTML = 1,
};

#define MS_XML_DEPTH 32

typedef struct ms_xml {
    ms_buf_t *out;
    int html;                  /* MS_XML_HTML */
    int depth;
    int tag_open;              /* "<name attrs" written, its '>' not yet */
    int error;                 /* nesting too deep, unbalanced, misplaced attribute */
    const char *name[MS_XML_DEPTH];
    char children[MS_XML_DEPTH];   /* the element holds elements */
    char text[MS_XML_DEPTH];       /* the element holds text */
} ms_xml_t;

void ms_xml_init(ms_xml_t *x, ms_buf_t *out, int mode);

void ms_xml_start(ms_xml_t *x, const char *name);
/* Only right after ms_xml_start. A NULL value leaves the attribute out. */
void ms_xml_attr(ms_xml_t *x, const char *name, const char *value);
void ms_xml_attr_int(ms_xml_t *x, const char *name, int64_t value);
void ms_xml_text(ms_xml_t *x, const char *s);             /* NULL: nothing */
void ms_xml_textf(ms_xml_t *x, const char *fmt, ...)      /* formatted, then escaped */
    __attribute__((format(printf, 2, 3)));
void ms_xml_end(ms_xml_t *x);                             /* closes the innermost */
/* <name>text</name> */
void ms_xml_leaf(ms_xml_t *x, const char *name, const char *text);
/* Trusted markup written as it is: a doctype, a declaration, a style sheet.
 * Never pass data through this. */
void ms_xml_raw(ms_xml_t *x, const char *markup);

/* 0 when every element was closed and nothing went wrong, else -1. */
int ms_xml_finish(const ms_xml_t *x);

/* Append s escaped for element content (attr 0) or a quoted attribute value
 * (attr 1), as described above. */
void ms_xml_escape(ms_buf_t *out, const char *s, int attr);

#endif
