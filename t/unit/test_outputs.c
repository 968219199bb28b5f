/* test_outputs.c — what clients see (ms_buf, ms_json, ms_xml, ms_meta4,
 * ms_mirrorlist, ms_links): an answer is built in memory with hostile values
 * — a mirror named <b>&"'x, URLs with quotes, a path with non-ASCII and '<',
 * unknown countries, invalid UTF-8, a file without a hash — and every format
 * must come out escaped for its context. The Metalink is checked with
 * xmllint and the JSON is parsed back with Perl's JSON::PP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "tap.h"
#include "ms_buf.h"
#include "ms_json.h"
#include "ms_links.h"
#include "ms_meta4.h"
#include "ms_mirrorlist.h"
#include "ms_xml.h"

/* One of the two digest header values of ms_links_digests. */
static const char *digest_of(int repr, const char *sha256_hex, apr_pool_t *p)
{
    const char *digest, *repr_digest;

    ms_links_digests(&digest, &repr_digest, sha256_hex, p);
    return repr ? repr_digest : digest;
}

static apr_pool_t *pool;
static char dir[] = "/tmp/ms-test-outputs-XXXXXX";

#define HOSTILE_NAME "<b>&\"'x"
#define HOSTILE_PATH "pub/caf\xc3\xa9 <x>&.iso"
#define HOSTILE_BASE "https://m1.example/pub\"q'/"
#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define EMPTY_B64 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

/* ------------------------------------------------------------------ */
/* a fake answer                                                       */

static ms_mirror_t *mirror(const char *name, const char *cc, const char *continent)
{
    ms_mirror_t *m = apr_pcalloc(pool, sizeof(*m));

    m->name = name;
    apr_cpystrn(m->country, cc, sizeof(m->country));
    apr_cpystrn(m->continent, continent, sizeof(m->continent));
    m->enabled = 1;
    return m;
}

static void add_ranked(ms_answer_t *a, ms_mirror_t *m, const char *base, int tier,
                       double km, int64_t seen)
{
    ms_ranked_t *r = apr_array_push(a->choice->ranked);
    ms_copy_t *c = NULL;

    if (seen) {
        c = apr_pcalloc(pool, sizeof(*c));
        c->seen = seen;
        c->precision = 1;
    }
    memset(r, 0, sizeof(*r));
    r->mirror = m;
    r->base_url = base;
    r->https = strncmp(base, "https:", 6) == 0;
    r->tier = tier;
    r->distance_km = km;
    r->copy = c;
}

/* Four mirrors: hostile name and URL; unknown country, no distance,
 * fallback-style (no copy); a space in its URL; a '>' in its URL. */
static ms_answer_t *hostile_answer(const char *sha256)
{
    ms_answer_t *a = apr_pcalloc(pool, sizeof(*a));
    ms_file_t *f = apr_pcalloc(pool, sizeof(*f));

    f->path = HOSTILE_PATH;
    f->size = 4500000000LL;
    f->mtime = 1714564800;          /* 2024-05-01T12:00:00Z */
    f->sha256 = sha256;
    a->file = f;
    a->result = MS_RESULT_REDIRECT;
    a->client.addr_text = "192.0.2.1";
    strcpy(a->client.loc.country, "DE");
    strcpy(a->client.loc.continent, "EU");
    a->client.loc.has_coords = 1;
    a->client.loc.lat = 52.52;
    a->client.loc.lon = 13.405;
    a->client.loc.asn = 3320;
    a->client.https = 1;
    a->choice = apr_pcalloc(pool, sizeof(*a->choice));
    a->choice->ranked = apr_array_make(pool, 4, sizeof(ms_ranked_t));
    add_ranked(a, mirror(HOSTILE_NAME, "DE", "EU"), HOSTILE_BASE, MS_TIER_COUNTRY,
               12.3, 1714560000);
    add_ranked(a, mirror("bad\xff utf8 \xe2\x80\xa8 \x01", "", ""), "http://m2.example/",
               MS_TIER_WORLD, -1, 0);
    add_ranked(a, mirror("spaced", "FR", "EU"), "http://m3 example/", MS_TIER_WORLD, 900, 1);
    add_ranked(a, mirror("angle", "US", "NA"), "http://m4.example/>x/", MS_TIER_WORLD, 7000, 1);
    return a;
}

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static int contains(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;

    while (hay && (hay = strstr(hay, needle)) != NULL) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

static const char *write_tmp(const char *name, const char *text)
{
    const char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    FILE *f = fopen(path, "w");

    if (!f)
        bail_out("cannot write %s", path);
    fputs(text, f);
    fclose(f);
    return path;
}

/* The first line of a command's stdout, or NULL when it failed. */
static const char *run(const char *cmd)
{
    char line[4096];
    FILE *f = popen(cmd, "r");
    const char *out = NULL;

    if (!f)
        return NULL;
    if (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        out = apr_pstrdup(pool, line);
    }
    if (pclose(f) != 0)
        return NULL;
    return out ? out : "";
}

static const char *json_of(const char *s)
{
    ms_buf_t *b = ms_buf_make(pool, 0);

    ms_jw_escape(b, s);
    return ms_buf_str(b);
}

static const char *xml_of(const char *s, int attr)
{
    ms_buf_t *b = ms_buf_make(pool, 0);

    ms_xml_escape(b, s, attr);
    return ms_buf_str(b);
}

/* ------------------------------------------------------------------ */
/* the writers                                                         */

static void test_buf(void)
{
    ms_buf_t *b = ms_buf_make(pool, 1);
    int i;

    is_str(ms_buf_str(b), "", "a new buffer is empty");
    for (i = 0; i < 1000; i++)
        ms_buf_printf(b, "%04d,", i);
    ms_buf_adds(b, NULL);
    ms_buf_add(b, "ab", 2);
    ms_buf_addc(b, 'c');
    is_int(ms_buf_len(b), 5002 + 1, "printf, add and addc grow the buffer");
    ok(strncmp(ms_buf_str(b), "0000,0001,", 10) == 0
       && strcmp(ms_buf_str(b) + 4995, "0999,abc") == 0, "contents survive growth");
    is_int(strlen(ms_buf_str(b)), ms_buf_len(b), "contents stay NUL-terminated");
    is_str(ms_basename("a/b/c.iso"), "c.iso", "basename of a path");
    is_str(ms_basename("c.iso"), "c.iso", "basename of a bare name");
}

static void test_json_escape(void)
{
    is_str(json_of(HOSTILE_NAME), "\"\\u003cb\\u003e\\u0026\\\"'x\"",
           "JSON: < > & escaped as \\u, \" escaped, ' kept");
    is_str(json_of("a\\b\n\t\x01\x7f"), "\"a\\\\b\\n\\t\\u0001\\u007f\"",
           "JSON: backslash and control bytes escaped");
    is_str(json_of("caf\xc3\xa9 \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"",
           "JSON: valid UTF-8 kept");
    is_str(json_of("a\xe2\x80\xa8" "b\xe2\x80\xa9"), "\"a\\u2028b\\u2029\"",
           "JSON: U+2028 and U+2029 escaped");
    is_str(json_of("x\xff\xc0\xaf\xed\xa0\x80y"),
           "\"x\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffdy\"",
           "JSON: invalid bytes, overlong and surrogate forms become U+FFFD each");
    is_str(json_of("</script>"), "\"\\u003c/script\\u003e\"", "JSON: cannot close a script");
}

static void test_json_writer(void)
{
    ms_buf_t *b = ms_buf_make(pool, 0);
    ms_jw_t j;

    ms_jw_init(&j, b);
    ms_jw_object(&j, NULL);
    ms_jw_int(&j, "i", -42);
    ms_jw_num(&j, "nan", 0.0 / 0.0);
    ms_jw_num(&j, "x", 1.5);
    ms_jw_array(&j, "a");
    ms_jw_str(&j, NULL, "s");
    ms_jw_str(&j, "ignored in arrays", NULL);
    ms_jw_bool(&j, NULL, 1);
    ms_jw_end(&j);
    ms_jw_object(&j, "e");
    ms_jw_end(&j);
    ms_jw_end(&j);
    is_str(ms_buf_str(b),
           "{\n  \"i\": -42,\n  \"nan\": null,\n  \"x\": 1.5,\n  \"a\": [\n    \"s\",\n"
           "    null,\n    true\n  ],\n  \"e\": {}\n}\n",
           "JSON writer: layout, null for NaN, keys only in objects");
    is_int(ms_jw_finish(&j), 0, "JSON writer: balanced");
    ms_jw_end(&j);
    is_int(ms_jw_finish(&j), -1, "JSON writer: an extra end is an error");
}

static void test_xml_escape(void)
{
    is_str(xml_of(HOSTILE_NAME, 0), "&lt;b&gt;&amp;&quot;&#39;x", "XML: the five escaped");
    is_str(xml_of("a\tb\nc\rd\x01\x1f\x7f" "e", 0), "a\tb\nc&#13;de",
           "XML text: tab and LF kept, CR as reference, other controls dropped");
    is_str(xml_of("a\tb\nc", 1), "a&#9;b&#10;c", "XML attribute: tab and LF as references");
    is_str(xml_of("caf\xc3\xa9 \xc2\x85!", 0), "caf\xc3\xa9 !", "XML: UTF-8 kept, C1 dropped");
    is_str(xml_of("x\xff\xef\xbf\xbey", 0), "x\xef\xbf\xbd\xef\xbf\xbdy",
           "XML: invalid bytes and U+FFFE become U+FFFD");
}

static void test_xml_writer(void)
{
    ms_buf_t *b = ms_buf_make(pool, 0);
    ms_xml_t x;

    ms_xml_init(&x, b, MS_XML_XML);
    ms_xml_start(&x, "a");
    ms_xml_attr(&x, "k", "v\"<");
    ms_xml_attr(&x, "none", NULL);
    ms_xml_start(&x, "empty");
    ms_xml_end(&x);
    ms_xml_start(&x, "p");
    ms_xml_text(&x, "t ");
    ms_xml_leaf(&x, "b", "&");
    ms_xml_end(&x);
    ms_xml_end(&x);
    is_str(ms_buf_str(b), "<a k=\"v&quot;&lt;\">\n  <empty/>\n  <p>t <b>&amp;</b></p>\n</a>\n",
           "XML writer: attributes, empty element, mixed content kept on one line");
    is_int(ms_xml_finish(&x), 0, "XML writer: balanced");

    b = ms_buf_make(pool, 0);
    ms_xml_init(&x, b, MS_XML_HTML);
    ms_xml_start(&x, "p");
    ms_xml_start(&x, "meta");
    ms_xml_attr(&x, "charset", "utf-8");
    ms_xml_end(&x);
    ms_xml_start(&x, "td");
    ms_xml_end(&x);
    ms_xml_end(&x);
    is_str(ms_buf_str(b), "<p>\n  <meta charset=\"utf-8\">\n  <td></td>\n</p>\n",
           "HTML writer: void elements have no end tag, empty ones an explicit one");
    ms_xml_attr(&x, "late", "x");
    is_int(ms_xml_finish(&x), -1, "XML writer: an attribute after content is an error");
}

/* ------------------------------------------------------------------ */
/* the formats                                                         */

static void test_links(void)
{
    ms_answer_t *a = hostile_answer(EMPTY_SHA);
    apr_array_header_t *links = ms_links_duplicates(a, NULL, 5, pool);
    ms_file_t nameless = { 0, "dir/a\nb\\c", 0, 0, EMPTY_SHA, NULL, 0 };
    ms_answer_t empty = { 0 };

    is_int(links->nelts, 2, "Link: mirrors with a space or '>' in their URL are skipped");
    is_str(APR_ARRAY_IDX(links, 0, const char *),
           "<https://m1.example/pub\"q'/pub/caf%C3%A9%20%3Cx%3E%26.iso>; rel=duplicate; pri=1; geo=de",
           "Link: full URL, path percent-encoded, pri 1, lower-case geo");
    is_str(APR_ARRAY_IDX(links, 1, const char *),
           "<http://m2.example/pub/caf%C3%A9%20%3Cx%3E%26.iso>; rel=duplicate; pri=2"
           "", "Link: no geo when the country is unknown");
    links = ms_links_duplicates(a, NULL, 1, pool);
    is_int(links->nelts, 1, "Link: only the first N");
    is_int(ms_links_duplicates(&empty, NULL, 5, pool)->nelts, 0, "Link: none without a file");
    is_int(ms_links_url_safe("http://a/\x7f"), 0, "url_safe: DEL refused");
    is_int(ms_links_url_safe("http://a/\xc3\xa9"), 0, "url_safe: non-ASCII refused");
    is_int(ms_links_url_safe(""), 0, "url_safe: empty refused");
    is_str(ms_links_describedby("https://o.example/pub/x.iso.meta4", pool),
           "<https://o.example/pub/x.iso.meta4>; rel=describedby; "
           "type=\"application/metalink4+xml\"", "describedby link");
    is_str(ms_links_describedby("https://o.example/a\r\nX: y", pool), NULL,
           "describedby: CR LF refused");
    is_str(digest_of(0, EMPTY_SHA, pool), "SHA-256=" EMPTY_B64, "Digest (RFC 3230)");
    is_str(digest_of(1, EMPTY_SHA, pool), "sha-256=:" EMPTY_B64 ":",
           "Repr-Digest (RFC 9530)");
    is_str(digest_of(0, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                     pool), "SHA-256=" EMPTY_B64, "upper-case hex is read too");
    is_str(digest_of(0, NULL, pool), NULL, "no Digest without a hash");
    is_str(digest_of(1, "abc", pool), NULL, "no Repr-Digest for a short hash");
    is_str(digest_of(0, EMPTY_SHA "0", pool), NULL, "no Digest for a long hash");
    is_str(digest_of(0, "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                           pool), NULL, "no Digest for a non-hex hash");
    is_str(ms_links_sha256_body(a->file, NULL, pool), EMPTY_SHA "  caf\xc3\xa9 <x>&.iso\n",
           ".sha256 body: hex, two spaces, basename");
    is_str(ms_links_sha256_body(a->file, "latest.iso", pool), EMPTY_SHA "  latest.iso\n",
           ".sha256 body: the name given (a symbolic link's own)");
    is_str(ms_links_sha256_body(hostile_answer(NULL)->file, NULL, pool), NULL,
           ".sha256 body: none without a hash");
    is_str(ms_links_sha256_body(&nameless, NULL, pool), "\\" EMPTY_SHA "  a\\nb\\\\c\n",
           ".sha256 body: sha256sum's escaped form for LF and backslash");
}

/* Link values built in one piece: the base's trailing slashes and the path's
 * leading ones give one slash, and a pri of two digits is written whole. */
static void test_links_joined(void)
{
    ms_answer_t *a = hostile_answer(EMPTY_SHA);
    apr_array_header_t *links;
    int i;

    apr_array_clear(a->choice->ranked);
    for (i = 0; i < 12; i++)
        add_ranked(a, mirror("m", i % 2 ? "nl" : "", "EU"),
                   i % 3 == 0 ? "http://m.example/pub//" : "http://m.example/pub",
                   MS_TIER_WORLD, i, 1);
    links = ms_links_duplicates(a, "/dir/f.iso", 12, pool);
    is_int(links->nelts, 12, "Link: twelve values for twelve mirrors");
    is_str(APR_ARRAY_IDX(links, 0, const char *),
           "<http://m.example/pub/dir/f.iso>; rel=duplicate; pri=1",
           "Link: base's trailing slashes and path's leading one make one slash");
    is_str(APR_ARRAY_IDX(links, 9, const char *),
           "<http://m.example/pub/dir/f.iso>; rel=duplicate; pri=10; geo=nl",
           "Link: pri 10 written whole, geo lower-cased");
    is_str(APR_ARRAY_IDX(links, 11, const char *),
           "<http://m.example/pub/dir/f.iso>; rel=duplicate; pri=12; geo=nl", "Link: pri 12");
    is_int(ms_links_url_safe("http://a/<"), 0, "url_safe: '<' refused");
    is_int(ms_links_url_safe("http://a/>"), 0, "url_safe: '>' refused");
    is_int(ms_links_url_safe("http://a/~!$&'()*+,;=:@%20"), 1,
           "url_safe: other visible ASCII kept");
    is_int(ms_text_fit("a b", 0x20, ""), 1, "text_fit: space allowed from 0x20");
    is_int(ms_text_fit("a b", 0x21, ""), 0, "text_fit: space refused from 0x21");
}

/* A mirror's strings judged once (MS_TEXT_*) give the same Links as judging
 * every URL on every request; the hash taken as bytes from the cache gives
 * the same Digest values as the hex. */
static void test_judged_text(void)
{
    ms_answer_t *a = hostile_answer(EMPTY_SHA), *b = hostile_answer(EMPTY_SHA);
    apr_array_header_t *la, *lb;
    ms_mirror_t *m;
    ms_file_t raw_file;
    const char *d1, *r1, *d2, *r2;
    unsigned char raw[32];
    int i, same;

    for (i = 0; i < b->choice->ranked->nelts; i++) {
        ms_ranked_t *r = &APR_ARRAY_IDX(b->choice->ranked, i, ms_ranked_t);

        m = apr_pmemdup(pool, r->mirror, sizeof(*m));
        if (r->https)
            m->https_url = r->base_url;
        else
            m->http_url = r->base_url;
        m->text = ms_mirror_text(m);
        r->mirror = m;
    }
    la = ms_links_duplicates(a, NULL, 10, pool);
    lb = ms_links_duplicates(b, NULL, 10, pool);
    same = la->nelts == lb->nelts;
    for (i = 0; same && i < la->nelts; i++)
        same = !strcmp(APR_ARRAY_IDX(la, i, const char *), APR_ARRAY_IDX(lb, i, const char *));
    ok(same && la->nelts == 2, "judged mirrors: the same %d Links (space and '>' left out)",
       la->nelts);

    m = mirror("ok name", "DE", "EU");
    m->http_url = "http://m.example/a<b/";
    m->https_url = "https://m.example/pub/";
    m->text = ms_mirror_text(m);
    is_int(m->text, MS_TEXT_JUDGED | MS_TEXT_NAME | MS_TEXT_HTTP | MS_TEXT_HTTPS
           | MS_TEXT_HTTPS_LINK, "judged: '<' keeps a URL out of Links only");
    m = mirror("bad\nname", "DE", "EU");
    m->name = "bad\nname";
    m->http_url = "http://m.example/a b/";
    is_int(ms_mirror_text(m), MS_TEXT_JUDGED,
           "judged: LF unfits a name, a space a URL; no URL, no bit");
    m->name = "spaced name";
    is_int(ms_mirror_text(m) & MS_TEXT_NAME, MS_TEXT_NAME, "judged: a space fits a name");

    for (i = 0; i < 32; i++)
        raw[i] = (unsigned char)strtol(apr_pstrndup(pool, EMPTY_SHA + 2 * i, 2), NULL, 16);
    memset(&raw_file, 0, sizeof(raw_file));
    raw_file.sha256 = EMPTY_SHA;
    raw_file.sha256_raw = raw;
    ms_links_file_digests(&d1, &r1, &raw_file, pool);
    ms_links_digests(&d2, &r2, EMPTY_SHA, pool);
    ok(d1 && r1 && !strcmp(d1, d2) && !strcmp(r1, r2) && !strcmp(r1, "sha-256=:" EMPTY_B64 ":"),
       "digests from the bytes equal digests from the hex");
    raw_file.sha256 = NULL;            /* the file changed on disk since: no hash */
    ms_links_file_digests(&d1, &r1, &raw_file, pool);
    ok(!d1 && !r1, "no digests when the hash was dropped, bytes or not");
}

static void test_meta4(void)
{
    ms_answer_t *a = hostile_answer(EMPTY_SHA);
    ms_buf_t *b = ms_buf_make(pool, 0);
    const char *doc, *file, *cmd;
    ms_answer_t empty = { 0 };

    is_int(ms_meta4_write(b, a, "https://o.example/pub/caf%C3%A9%20%3Cx%3E%26.iso", NULL), 0,
           "meta4 written");
    doc = ms_buf_str(b);
    ok(strncmp(doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metalink "
                    "xmlns=\"urn:ietf:params:xml:ns:metalink\">", 83) == 0,
       "meta4: declaration and namespace");
    ok(contains(doc, "<published>2024-05-01T12:00:00Z</published>"), "meta4: published");
    ok(contains(doc, "<file name=\"caf\xc3\xa9 &lt;x&gt;&amp;.iso\">"),
       "meta4: file name is the escaped basename");
    ok(contains(doc, "<size>4500000000</size>"), "meta4: size");
    ok(contains(doc, "<hash type=\"sha-256\">" EMPTY_SHA "</hash>"), "meta4: hash");
    ok(contains(doc, "<url location=\"de\" priority=\"1\">https://m1.example/pub&quot;q&#39;/"
                     "pub/caf%C3%A9%20%3Cx%3E%26.iso</url>"),
       "meta4: first mirror, quotes escaped, lower-case location");
    ok(contains(doc, "<url priority=\"2\">http://m2.example/pub/caf%C3%A9%20%3Cx%3E%26.iso</url>"),
       "meta4: no location when the country is unknown");
    ok(contains(doc, "<url priority=\"5\">https://o.example/pub/caf%C3%A9%20%3Cx%3E%26.iso"
                     "</url>\n  </file>"), "meta4: origin last, lowest priority");
    ok(!contains(doc, HOSTILE_NAME), "meta4: nothing unescaped");

    file = write_tmp("x.meta4", doc);
    if (access("/usr/bin/xmllint", X_OK) == 0) {
        cmd = apr_psprintf(pool, "/usr/bin/xmllint --noout '%s' 2>&1", file);
        is_str(run(cmd), "", "meta4: xmllint finds it well-formed");
        cmd = apr_psprintf(pool, "/usr/bin/xmllint --xpath \"count(/*[local-name()='metalink' "
                           "and namespace-uri()='urn:ietf:params:xml:ns:metalink']"
                           "/*[local-name()='file']/*[local-name()='url'])\" '%s'", file);
        is_str(run(cmd), "5", "meta4: xmllint sees 5 url elements in the metalink namespace");
    }
    else {
        ok(1, "# SKIP no xmllint");
        ok(1, "# SKIP no xmllint");
    }

    b = ms_buf_make(pool, 0);
    ms_meta4_write(b, hostile_answer(NULL), NULL, "gen<>");
    ok(!contains(ms_buf_str(b), "<hash"), "meta4: no hash element when the hash is unknown");
    ok(contains(ms_buf_str(b), "<generator>gen&lt;&gt;</generator>"), "meta4: generator escaped");
    ok(!contains(ms_buf_str(b), "priority=\"5\""), "meta4: no origin url when none is given");
    is_int(ms_meta4_write(ms_buf_make(pool, 0), &empty, NULL, NULL), -1,
           "meta4: refused without a file");
}

static void test_html(void)
{
    ms_answer_t *a = hostile_answer(EMPTY_SHA);
    ms_buf_t *b = ms_buf_make(pool, 0);
    const char *doc, *file, *cmd;

    is_int(ms_mirrorlist_html(b, a, "https://o.example/pub/x.iso?a=1&b=\"2\"", 1714571000), 0,
           "HTML written");
    doc = ms_buf_str(b);
    file = write_tmp("mirrorlist.html", doc);
    if (access("/usr/bin/xmllint", X_OK) == 0) {
        /* libxml2's HTML parser knows HTML 4 only: its complaints about
         * HTML5 element names are expected, anything else is a fault. */
        cmd = apr_psprintf(pool, "/usr/bin/xmllint --html --noout '%s' 2>&1 | grep 'error' "
                           "| grep -v 'Tag [a-z]* invalid' | head -1", file);
        is_str(run(cmd), "", "HTML: xmllint --html finds no parse error");
    }
    else
        ok(1, "# SKIP no xmllint");
    ok(strncmp(doc, "<!DOCTYPE html>\n<html lang=\"en\">", 32) == 0, "HTML: doctype and lang");
    ok(contains(doc, "<meta charset=\"utf-8\">"), "HTML: charset");
    ok(contains(doc, "<title>Mirrors of caf\xc3\xa9 &lt;x&gt;&amp;.iso</title>"),
       "HTML: title escaped");
    ok(contains(doc, "<th scope=\"row\">&lt;b&gt;&amp;&quot;&#39;x</th>"),
       "HTML: hostile mirror name escaped in its row header");
    ok(!contains(doc, "<b>"), "HTML: no markup from data");
    ok(contains(doc, "href=\"https://m1.example/pub&quot;q&#39;/pub/caf%C3%A9%20%3Cx%3E%26.iso\""),
       "HTML: hostile URL escaped in href");
    ok(contains(doc, "href=\"https://o.example/pub/x.iso?a=1&amp;b=&quot;2&quot;\""),
       "HTML: origin URL escaped");
    ok(contains(doc, "href=\"./x.iso.meta4\""),
       "HTML: metalink link named as the origin URL names the file (a link's own name)");
    ok(contains(doc, "href=\"./x.iso?mirrorlist=json\""), "HTML: JSON link, the URL's query left out");
    ok(contains(doc, "bad\xef\xbf\xbd utf8 \xe2\x80\xa8 </th>"),
       "HTML: invalid UTF-8 replaced, control dropped");
    ok(contains(doc, "<caption>") && count_of(doc, "<th scope=\"col\"") == 8,
       "HTML: caption and 8 column headers");
    is_int(count_of(doc, "<tr"), 5, "HTML: header row and 4 mirror rows");
    is_int(count_of(doc, "<tr"), count_of(doc, "</tr>"), "HTML: rows closed");
    ok(contains(doc, "4.2 GiB (4,500,000,000 bytes)"), "HTML: human and exact size");
    ok(contains(doc, "<time datetime=\"2024-05-01T12:00:00Z\">2024-05-01 12:00 UTC</time>"),
       "HTML: mtime");
    ok(contains(doc, EMPTY_SHA), "HTML: SHA-256 shown");
    ok(contains(doc, "52.5200, 13.4050") && contains(doc, "AS3320") && contains(doc, "Europe"),
       "HTML: client coordinates, ASN and continent");
    ok(contains(doc, "12 km") && contains(doc, "7,000 km") && contains(doc, ">unknown</td>"),
       "HTML: distances, unknown when not known");
    ok(contains(doc, "(3 h ago)"), "HTML: age of the copy");
    ok(contains(doc, ">fallback</span>"), "HTML: a mirror without a copy is marked fallback");
    ok(!contains(doc, "<script") && !contains(doc, "src=") && !contains(doc, "<link"),
       "HTML: self-contained, no script");

    b = ms_buf_make(pool, 0);
    a = hostile_answer(NULL);
    apr_array_clear(a->choice->ranked);
    a->result = MS_RESULT_NOMIRROR;
    strcpy(a->client.loc.country, "");
    a->client.loc.has_coords = 0;
    ms_mirrorlist_html(b, a, NULL, 0);
    doc = ms_buf_str(b);
    ok(contains(doc, "not known") && !contains(doc, ".sha256"),
       "HTML: no hash, no .sha256 link");
    ok(contains(doc, "No mirror holds") && !contains(doc, "<table"),
       "HTML: no mirrors, no table");
    ok(contains(doc, "href=\"./caf%C3%A9%20%3Cx%3E%26.iso.meta4\""),
       "HTML: without an origin URL, the metalink link names the indexed file, escaped");
}

/* Parse the JSON with JSON::PP and print one value, to compare bytes. */
static const char *perl_get(const char *file, const char *expr)
{
    return run(apr_psprintf(pool, "perl -MJSON::PP -e 'local $/; open my $f, \"<\", $ARGV[0] "
                            "or die; my $d = JSON::PP->new->utf8->decode(<$f>); my $v = %s; binmode STDOUT, \":utf8\"; "
                            "print defined $v ? $v : \"(null)\"' '%s'", expr, file));
}

static void test_json(void)
{
    ms_answer_t *a = hostile_answer(EMPTY_SHA);
    ms_buf_t *b = ms_buf_make(pool, 0);
    const char *doc, *file;

    is_int(ms_mirrorlist_json(b, a, "https://o.example/x", 1714571000), 0, "JSON written");
    doc = ms_buf_str(b);
    ok(!contains(doc, "<") && !contains(doc, ">") && !contains(doc, "&"),
       "JSON: no raw < > & anywhere");
    file = write_tmp("mirrorlist.json", doc);
    is_str(perl_get(file, "$d->{mirrors}[0]{name}"), HOSTILE_NAME,
           "JSON round trip: hostile name");
    is_str(perl_get(file, "$d->{file}{path}"), HOSTILE_PATH, "JSON round trip: path");
    is_str(perl_get(file, "$d->{mirrors}[0]{url}"),
           "https://m1.example/pub\"q'/pub/caf%C3%A9%20%3Cx%3E%26.iso", "JSON round trip: url");
    is_str(perl_get(file, "$d->{mirrors}[1]{name}"), "bad\xef\xbf\xbd utf8 \xe2\x80\xa8 \x01",
           "JSON round trip: U+FFFD, U+2028 and a control byte");
    is_str(perl_get(file, "$d->{mirrors}[1]{country} // \"(null)\""), "(null)",
           "JSON: unknown country is null");
    is_str(perl_get(file, "$d->{mirrors}[1]{distance_km} // \"(null)\""), "(null)",
           "JSON: unknown distance is null");
    is_str(perl_get(file, "$d->{mirrors}[1]{fallback} ? 1 : 0"), "1",
           "JSON: a mirror without a copy is fallback");
    is_str(perl_get(file, "$d->{mirrors}[0]{seen_utc}"), "2024-05-01T10:40:00Z",
           "JSON: seen time");
    is_str(perl_get(file, "scalar @{$d->{mirrors}}"), "4", "JSON: four mirrors");
    is_str(perl_get(file, "$d->{client}{asn} . \" \" . $d->{client}{country}"), "3320 DE",
           "JSON: client");
    is_str(perl_get(file, "$d->{file}{size}"), "4500000000", "JSON: 64-bit size");

    b = ms_buf_make(pool, 0);
    ms_mirrorlist_json(b, hostile_answer(NULL), NULL, 0);
    file = write_tmp("nohash.json", ms_buf_str(b));
    is_str(perl_get(file, "($d->{file}{sha256} // \"(null)\") . ($d->{generated} // \"(null)\")"),
           "(null)(null)", "JSON: no hash and no time are null");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (!mkdtemp(dir))
        bail_out("mkdtemp: %s", strerror(errno));

    test_buf();
    test_json_escape();
    test_json_writer();
    test_xml_escape();
    test_xml_writer();
    test_links();
    test_links_joined();
    test_judged_text();
    test_meta4();
    test_html();
    test_json();

    if (!getenv("KEEP")) run(apr_psprintf(pool, "rm -rf '%s'", dir));
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
