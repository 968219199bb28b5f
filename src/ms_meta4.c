/* ms_meta4.c — the Metalink 4 document (RFC 5854) of an answer. */
#include <string.h>

#include <apr_lib.h>

#include "ms_meta4.h"
#include "ms_path.h"
#include "ms_xml.h"

#define META4_NS "urn:ietf:params:xml:ns:metalink"

/* The lower-case country code for location="", or NULL when unknown. */
static const char *meta4_location(const ms_mirror_t *m, char *buf)
{
    if (!m || strlen(m->country) != 2)
        return NULL;
    buf[0] = (char)apr_tolower(m->country[0]);
    buf[1] = (char)apr_tolower(m->country[1]);
    buf[2] = '\0';
    return buf;
}

static void meta4_url(ms_xml_t *x, const char *url, const char *location, int priority)
{
    ms_xml_start(x, "url");
    ms_xml_attr(x, "location", location);
    ms_xml_attr_int(x, "priority", priority);
    ms_xml_text(x, url);
    ms_xml_end(x);
}

/* One <url> per ranked mirror, priority 1 first; returns the next priority. */
static int meta4_mirror_urls(ms_xml_t *x, const ms_answer_t *a, apr_pool_t *p)
{
    const char *rel = ms_path_escape(a->file->path, p);
    char cc[3];
    int i, n = a->choice ? a->choice->ranked->nelts : 0;

    for (i = 0; i < n; i++) {
        const ms_ranked_t *r = &APR_ARRAY_IDX(a->choice->ranked, i, ms_ranked_t);

        meta4_url(x, ms_url_join(r->base_url, rel, p), meta4_location(r->mirror, cc), i + 1);
    }
    return n + 1;
}

static void meta4_file(ms_xml_t *x, const ms_answer_t *a, const char *origin_url,
                       apr_pool_t *p)
{
    int next;

    ms_xml_start(x, "file");
    ms_xml_attr(x, "name", ms_basename(a->file->path));
    ms_xml_start(x, "size");
    ms_xml_textf(x, "%lld", (long long)a->file->size);
    ms_xml_end(x);
    if (a->file->sha256) {
        ms_xml_start(x, "hash");
        ms_xml_attr(x, "type", "sha-256");
        ms_xml_text(x, a->file->sha256);
        ms_xml_end(x);
    }
    next = meta4_mirror_urls(x, a, p);
    if (origin_url)
        meta4_url(x, origin_url, NULL, next);
    ms_xml_end(x);
}

int ms_meta4_write(ms_buf_t *out, const ms_answer_t *a, const char *origin_url,
                   const char *generator)
{
    char when[MS_TIME_LEN];
    ms_xml_t x;

    if (!a || !a->file)
        return -1;
    ms_xml_init(&x, out, MS_XML_XML);
    ms_xml_raw(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    ms_xml_start(&x, "metalink");
    ms_xml_attr(&x, "xmlns", META4_NS);
    ms_xml_leaf(&x, "generator", generator ? generator : "mod_mirrorsel");
    ms_xml_leaf(&x, "published", ms_time_rfc3339(when, a->file->mtime));
    meta4_file(&x, a, origin_url, out->pool);
    ms_xml_end(&x);
    return ms_xml_finish(&x);
}
