/* ms_mirrorlist.c — the mirror list of an answer, as HTML and as JSON.
 *
 * Both documents are built from the same small accessors below (the mirror's
 * full URL, its scheme, whether a value is known), so they cannot drift
 * apart. Everything taken from the answer goes through ms_xml or ms_jw. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <apr_strings.h>

#include "ms_json.h"
#include "ms_mirrorlist.h"
#include "ms_path.h"
#include "ms_xml.h"

/* ------------------------------------------------------------------ */
/* shared accessors                                                    */

static int ranked_count(const ms_answer_t *a)
{
    return a->choice && a->choice->ranked ? a->choice->ranked->nelts : 0;
}

static const ms_ranked_t *ranked_at(const ms_answer_t *a, int i)
{
    return &APR_ARRAY_IDX(a->choice->ranked, i, ms_ranked_t);
}

/* A two-letter code, or NULL when unknown. */
static const char *code_or_null(const char *cc)
{
    return cc && cc[0] ? cc : NULL;
}

static const char *ranked_url(const ms_ranked_t *r, const char *rel, apr_pool_t *p)
{
    return ms_url_join(r->base_url, rel, p);
}

static const char *ranked_scheme(const ms_ranked_t *r)
{
    return r->https ? "https" : "http";
}

static const char *continent_name(const char *code)
{
    static const char *const names[][2] = {
        { "AF", "Africa" }, { "AN", "Antarctica" }, { "AS", "Asia" },
        { "EU", "Europe" }, { "NA", "North America" }, { "OC", "Oceania" },
        { "SA", "South America" },
    };
    size_t i;

    for (i = 0; code && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(code, names[i][0]) == 0)
            return names[i][1];
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* text for people                                                     */

/* 4500000000 -> "4,500,000,000" */
static const char *grouped(int64_t v, apr_pool_t *p)
{
    char digits[32], *out;
    int n, i, j, neg = v < 0;

    n = snprintf(digits, sizeof(digits), "%llu",
                 neg ? 0ULL - (unsigned long long)v : (unsigned long long)v);
    out = apr_palloc(p, (apr_size_t)(n + n / 3 + 2));
    j = 0;
    if (neg)
        out[j++] = '-';
    for (i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[j++] = ',';
        out[j++] = digits[i];
    }
    out[j] = '\0';
    return out;
}

/* 4500000000 -> "4.2 GiB"; below 1 KiB, "512 bytes". */
static const char *human_size(int64_t v, apr_pool_t *p)
{
    static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    double d = (double)v;
    int u = -1;

    if (v < 1024)
        return apr_psprintf(p, "%" APR_INT64_T_FMT " byte%s", v, v == 1 ? "" : "s");
    while (d >= 1024 && u < 5) {
        d /= 1024;
        u++;
    }
    return apr_psprintf(p, d < 10 ? "%.1f %s" : "%.0f %s", d, unit[u]);
}

/* "2024-05-01 12:00 UTC" */
static const char *human_time(int64_t t, apr_pool_t *p)
{
    char iso[MS_TIME_LEN];

    ms_time_rfc3339(iso, t);
    return apr_psprintf(p, "%.10s %.5s UTC", iso, iso + 11);
}

/* "just now", "12 min ago", "3 h ago", "5 days ago"; NULL without now. */
static const char *human_age(int64_t when, int64_t now, apr_pool_t *p)
{
    int64_t s = now - when;

    if (now <= 0)
        return NULL;
    if (s < 0)
        return "in the future";
    if (s < 60)
        return "just now";
    if (s < 3600)
        return apr_psprintf(p, "%" APR_INT64_T_FMT " min ago", s / 60);
    if (s < 2 * 86400)
        return apr_psprintf(p, "%" APR_INT64_T_FMT " h ago", s / 3600);
    return apr_psprintf(p, "%" APR_INT64_T_FMT " days ago", s / 86400);
}

/* ------------------------------------------------------------------ */
/* HTML                                                                */

static const char html_css[] =
    ":root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--mute:#57606a;"
    "--line:#d0d7de;--head:#f3f5f7;--link:#0a58ca}"
    "@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;"
    "--mute:#9ba6b1;--line:#30363d;--head:#161b22;--link:#6cb6ff}}"
    "body{margin:0;background:var(--bg);color:var(--fg);"
    "font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}"
    "main{max-width:72rem;margin:0 auto;padding:1.5rem 1rem 3rem}"
    "h1{font-size:1.6rem;margin:0 0 .25rem;overflow-wrap:anywhere}"
    "h2{font-size:1.15rem;margin:2rem 0 .5rem}"
    "a{color:var(--link)}"
    "code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
    "font-size:.9em;overflow-wrap:anywhere}"
    ".sub{color:var(--mute);margin:0}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.25rem;margin:0}"
    "dt{color:var(--mute)}dd{margin:0;overflow-wrap:anywhere}"
    ".scroll{overflow-x:auto}"
    "table{border-collapse:collapse;width:100%;font-size:.95rem}"
    "caption{text-align:left;color:var(--mute);padding:0 0 .5rem}"
    "th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid var(--line);"
    "vertical-align:top}"
    "thead th{background:var(--head);white-space:nowrap}"
    "tbody th{font-weight:600}"
    ".num{text-align:right;white-space:nowrap}"
    "td.url{overflow-wrap:anywhere;min-width:16rem}"
    ".chosen{background:color-mix(in srgb,var(--link) 8%,transparent)}"
    ".tag{display:inline-block;font-size:.8em;padding:0 .4em;border:1px solid var(--line);"
    "border-radius:.3em;color:var(--mute)}"
    "footer{margin-top:2rem;color:var(--mute);font-size:.9rem}";

/* The relative link "./NAME<suffix>" to a document about the file, NAME
 * being the last segment of the URL the page is about (already escaped):
 * for a symbolic link (latest.iso -> big/x-1.2.iso) that is the link's own
 * name, whose documents the origin answers next to the page, not the
 * target's. Without an origin URL, the indexed file's name. */
static const char *sibling_href(const ms_answer_t *a, const char *origin_url,
                                const char *suffix, apr_pool_t *p)
{
    if (origin_url) {
        size_t end = strcspn(origin_url, "?#"), at = end;

        while (at > 0 && origin_url[at - 1] != '/')
            at--;
        if (at > 0 && at < end)
            return apr_pstrcat(p, "./", apr_pstrndup(p, origin_url + at, end - at),
                               suffix, NULL);
    }
    return apr_pstrcat(p, "./", ms_path_escape(ms_basename(a->file->path), p), suffix, NULL);
}

static void html_link(ms_xml_t *x, const char *href, const char *text)
{
    ms_xml_start(x, "a");
    ms_xml_attr(x, "href", href);
    ms_xml_text(x, text);
    ms_xml_end(x);
}

/* <time datetime="RFC 3339">2024-05-01 12:00 UTC</time> */
static void html_time(ms_xml_t *x, int64_t t, apr_pool_t *p)
{
    char iso[MS_TIME_LEN];

    ms_xml_start(x, "time");
    ms_xml_attr(x, "datetime", ms_time_rfc3339(iso, t));
    ms_xml_text(x, human_time(t, p));
    ms_xml_end(x);
}

/* One <dt>term</dt><dd>text</dd>; the dd is left open when text is NULL. */
static void html_term(ms_xml_t *x, const char *term, const char *text)
{
    ms_xml_leaf(x, "dt", term);
    ms_xml_start(x, "dd");
    if (text) {
        ms_xml_text(x, text);
        ms_xml_end(x);
    }
}

static void html_head(ms_xml_t *x, const ms_answer_t *a)
{
    ms_xml_start(x, "head");
    ms_xml_start(x, "meta");
    ms_xml_attr(x, "charset", "utf-8");
    ms_xml_end(x);
    ms_xml_start(x, "meta");
    ms_xml_attr(x, "name", "viewport");
    ms_xml_attr(x, "content", "width=device-width, initial-scale=1");
    ms_xml_end(x);
    ms_xml_start(x, "meta");
    ms_xml_attr(x, "name", "robots");
    ms_xml_attr(x, "content", "noindex");
    ms_xml_end(x);
    ms_xml_start(x, "title");
    ms_xml_textf(x, "Mirrors of %s", ms_basename(a->file->path));
    ms_xml_end(x);
    ms_xml_start(x, "style");
    ms_xml_raw(x, html_css);
    ms_xml_end(x);
    ms_xml_end(x);
}

static void html_file(ms_xml_t *x, const ms_answer_t *a, const char *origin_url,
                      apr_pool_t *p)
{
    const ms_file_t *f = a->file;

    ms_xml_start(x, "section");
    ms_xml_attr(x, "aria-labelledby", "h-file");
    ms_xml_start(x, "h2");
    ms_xml_attr(x, "id", "h-file");
    ms_xml_text(x, "File");
    ms_xml_end(x);
    ms_xml_start(x, "dl");
    html_term(x, "Path", NULL);
    ms_xml_start(x, "code");
    ms_xml_textf(x, "/%s", f->path);
    ms_xml_end(x);
    ms_xml_end(x);
    html_term(x, "Size", apr_psprintf(p, "%s (%s bytes)", human_size(f->size, p),
                                      grouped(f->size, p)));
    html_term(x, "Last modified", NULL);
    html_time(x, f->mtime, p);
    ms_xml_end(x);
    html_term(x, "SHA-256", f->sha256 ? NULL : "not known");
    if (f->sha256) {
        ms_xml_leaf(x, "code", f->sha256);
        ms_xml_end(x);
    }
    if (origin_url) {
        html_term(x, "Origin", NULL);
        html_link(x, origin_url, origin_url);
        ms_xml_end(x);
    }
    ms_xml_end(x);
    ms_xml_end(x);
}

static void html_client(ms_xml_t *x, const ms_answer_t *a, apr_pool_t *p)
{
    const ms_location_t *loc = &a->client.loc;
    const char *continent = continent_name(loc->continent);

    ms_xml_start(x, "section");
    ms_xml_attr(x, "aria-labelledby", "h-client");
    ms_xml_start(x, "h2");
    ms_xml_attr(x, "id", "h-client");
    ms_xml_text(x, "Your location");
    ms_xml_end(x);
    ms_xml_start(x, "dl");
    html_term(x, "Address", NULL);
    ms_xml_leaf(x, "code", a->client.addr_text && *a->client.addr_text
                               ? a->client.addr_text : "unknown");
    ms_xml_end(x);
    html_term(x, "Country", loc->country[0] ? loc->country : "unknown");
    html_term(x, "Continent", continent ? continent : "unknown");
    html_term(x, "Coordinates", loc->has_coords
              ? apr_psprintf(p, "%.4f, %.4f", loc->lat, loc->lon) : "unknown");
    html_term(x, "Network", loc->asn ? apr_psprintf(p, "AS%u", (unsigned)loc->asn)
                                     : "unknown");
    html_term(x, "Connection", a->client.https ? "HTTPS" : "HTTP");
    ms_xml_end(x);
    ms_xml_end(x);
}

static void html_cell(ms_xml_t *x, const char *cls, const char *text)
{
    ms_xml_start(x, "td");
    ms_xml_attr(x, "class", cls);
    ms_xml_text(x, text);
    ms_xml_end(x);
}

static void html_th_col(ms_xml_t *x, const char *cls, const char *text)
{
    ms_xml_start(x, "th");
    ms_xml_attr(x, "scope", "col");
    ms_xml_attr(x, "class", cls);
    ms_xml_text(x, text);
    ms_xml_end(x);
}

static void html_mirror_head(ms_xml_t *x)
{
    ms_xml_start(x, "thead");
    ms_xml_start(x, "tr");
    html_th_col(x, "num", "Rank");
    html_th_col(x, NULL, "Mirror");
    html_th_col(x, NULL, "Tier");
    html_th_col(x, NULL, "Country");
    html_th_col(x, "num", "Distance");
    html_th_col(x, NULL, "Scheme");
    html_th_col(x, NULL, "URL");
    html_th_col(x, NULL, "Last seen fresh");
    ms_xml_end(x);
    ms_xml_end(x);
}

static const char *html_country(const ms_mirror_t *m, apr_pool_t *p)
{
    const char *continent = continent_name(m->continent);

    if (!m->country[0])
        return continent ? apr_pstrcat(p, "unknown, ", continent, NULL) : "unknown";
    return continent ? apr_pstrcat(p, m->country, ", ", continent, NULL) : m->country;
}

static void html_seen(ms_xml_t *x, const ms_ranked_t *r, int64_t now, apr_pool_t *p)
{
    const char *age;

    ms_xml_start(x, "td");
    if (!r->copy) {
        ms_xml_start(x, "span");
        ms_xml_attr(x, "class", "tag");
        ms_xml_attr(x, "title", "a fallback mirror, assumed to hold every file");
        ms_xml_text(x, "fallback");
        ms_xml_end(x);
    }
    else {
        html_time(x, r->copy->seen, p);
        age = human_age(r->copy->seen, now, p);
        if (age)
            ms_xml_textf(x, " (%s)", age);
    }
    ms_xml_end(x);
}

static void html_mirror_row(ms_xml_t *x, const ms_answer_t *a, int i, const char *rel,
                            int64_t now, apr_pool_t *p)
{
    const ms_ranked_t *r = ranked_at(a, i);
    const char *url = ranked_url(r, rel, p);

    ms_xml_start(x, "tr");
    if (i == 0 && a->result == MS_RESULT_REDIRECT)
        ms_xml_attr(x, "class", "chosen");
    html_cell(x, "num", apr_psprintf(p, "%d", i + 1));
    ms_xml_start(x, "th");
    ms_xml_attr(x, "scope", "row");
    ms_xml_text(x, r->mirror->name);
    ms_xml_end(x);
    html_cell(x, NULL, ms_tier_name(r->tier));
    html_cell(x, NULL, html_country(r->mirror, p));
    html_cell(x, "num", r->distance_km < 0 || !isfinite(r->distance_km) ? "unknown"
              : apr_psprintf(p, "%s km", grouped((int64_t)llround(r->distance_km), p)));
    html_cell(x, NULL, ranked_scheme(r));
    ms_xml_start(x, "td");
    ms_xml_attr(x, "class", "url");
    html_link(x, url, url);
    ms_xml_end(x);
    html_seen(x, r, now, p);
    ms_xml_end(x);
}

static void html_mirror_intro(ms_xml_t *x, const ms_answer_t *a, int n)
{
    ms_xml_start(x, "p");
    if (n == 0)
        ms_xml_text(x, "No mirror holds a fresh copy of this file right now; "
                       "it is served by the origin.");
    else if (a->choice->fallback)
        ms_xml_text(x, "No mirror was seen holding a fresh copy of this file; "
                       "these fallback mirrors are assumed to hold everything.");
    else
        ms_xml_textf(x, "%d mirror%s hold%s a fresh copy of this file.",
                     n, n == 1 ? "" : "s", n == 1 ? "s" : "");
    if (n > 0 && a->result == MS_RESULT_REDIRECT)
        ms_xml_textf(x, " Your download goes to %s (rank 1); the others, in this "
                        "order, are where download clients fail over to.",
                     ranked_at(a, 0)->mirror->name);
    ms_xml_end(x);
}

static void html_mirrors(ms_xml_t *x, const ms_answer_t *a, int64_t now, apr_pool_t *p)
{
    const char *rel = ms_path_escape(a->file->path, p);
    int i, n = ranked_count(a);

    ms_xml_start(x, "section");
    ms_xml_attr(x, "aria-labelledby", "h-mirrors");
    ms_xml_start(x, "h2");
    ms_xml_attr(x, "id", "h-mirrors");
    ms_xml_text(x, "Mirrors");
    ms_xml_end(x);
    html_mirror_intro(x, a, n);
    if (n > 0) {
        ms_xml_start(x, "div");
        ms_xml_attr(x, "class", "scroll");
        ms_xml_start(x, "table");
        ms_xml_start(x, "caption");
        ms_xml_textf(x, "Mirrors of %s, best first", ms_basename(a->file->path));
        ms_xml_end(x);
        html_mirror_head(x);
        ms_xml_start(x, "tbody");
        for (i = 0; i < n; i++)
            html_mirror_row(x, a, i, rel, now, p);
        ms_xml_end(x);
        ms_xml_end(x);
        ms_xml_end(x);
    }
    ms_xml_end(x);
}

static void html_footer(ms_xml_t *x, const ms_answer_t *a, const char *origin_url,
                        int64_t now, apr_pool_t *p)
{
    ms_xml_start(x, "footer");
    ms_xml_start(x, "p");
    ms_xml_text(x, "Also as ");
    html_link(x, sibling_href(a, origin_url, ".meta4", p), "Metalink");
    ms_xml_text(x, " (for aria2, dnf, zypper), ");
    if (a->file->sha256) {
        html_link(x, sibling_href(a, origin_url, ".sha256", p), "SHA-256 sum");
        ms_xml_text(x, ", ");
    }
    html_link(x, sibling_href(a, origin_url, "?mirrorlist=json", p), "JSON");
    ms_xml_text(x, ".");
    if (now > 0) {
        ms_xml_text(x, " Generated ");
        html_time(x, now, p);
        ms_xml_text(x, ".");
    }
    ms_xml_end(x);
    ms_xml_end(x);
}

static void html_body(ms_xml_t *x, const ms_answer_t *a, const char *origin_url,
                      int64_t now, apr_pool_t *p)
{
    ms_xml_start(x, "body");
    ms_xml_start(x, "main");
    ms_xml_start(x, "h1");
    ms_xml_text(x, ms_basename(a->file->path));
    ms_xml_end(x);
    ms_xml_start(x, "p");
    ms_xml_attr(x, "class", "sub");
    ms_xml_text(x, "Mirror list");
    ms_xml_end(x);
    html_file(x, a, origin_url, p);
    html_client(x, a, p);
    html_mirrors(x, a, now, p);
    html_footer(x, a, origin_url, now, p);
    ms_xml_end(x);
    ms_xml_end(x);
}

int ms_mirrorlist_html(ms_buf_t *out, const ms_answer_t *a, const char *origin_url,
                       int64_t now)
{
    ms_xml_t x;

    if (!a || !a->file)
        return -1;
    ms_xml_init(&x, out, MS_XML_HTML);
    ms_xml_raw(&x, "<!DOCTYPE html>");
    ms_xml_start(&x, "html");
    ms_xml_attr(&x, "lang", "en");
    html_head(&x, a);
    html_body(&x, a, origin_url, now, out->pool);
    ms_xml_end(&x);
    return ms_xml_finish(&x);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

/* A time as RFC 3339, or null. */
static void json_time(ms_jw_t *j, const char *key, int64_t t, int known)
{
    char iso[MS_TIME_LEN];

    ms_jw_str(j, key, known ? ms_time_rfc3339(iso, t) : NULL);
}

static void json_file(ms_jw_t *j, const ms_answer_t *a, const char *origin_url)
{
    const ms_file_t *f = a->file;

    ms_jw_object(j, "file");
    ms_jw_str(j, "path", f->path);
    ms_jw_str(j, "name", ms_basename(f->path));
    ms_jw_str(j, "url", origin_url);
    ms_jw_int(j, "size", f->size);
    ms_jw_int(j, "mtime", f->mtime);
    json_time(j, "modified", f->mtime, 1);
    ms_jw_str(j, "sha256", f->sha256);
    ms_jw_end(j);
}

static void json_client(ms_jw_t *j, const ms_answer_t *a)
{
    const ms_location_t *loc = &a->client.loc;

    ms_jw_object(j, "client");
    ms_jw_str(j, "address", a->client.addr_text);
    ms_jw_str(j, "country", code_or_null(loc->country));
    ms_jw_str(j, "continent", code_or_null(loc->continent));
    ms_jw_num(j, "lat", loc->has_coords ? loc->lat : NAN);
    ms_jw_num(j, "lon", loc->has_coords ? loc->lon : NAN);
    if (loc->asn)
        ms_jw_int(j, "asn", loc->asn);
    else
        ms_jw_null(j, "asn");
    ms_jw_bool(j, "https", a->client.https);
    ms_jw_end(j);
}

static void json_mirror(ms_jw_t *j, const ms_answer_t *a, int i, const char *rel,
                        apr_pool_t *p)
{
    const ms_ranked_t *r = ranked_at(a, i);

    ms_jw_object(j, NULL);
    ms_jw_int(j, "rank", i + 1);
    ms_jw_str(j, "name", r->mirror->name);
    ms_jw_str(j, "url", ranked_url(r, rel, p));
    ms_jw_str(j, "base_url", r->base_url);
    ms_jw_str(j, "scheme", ranked_scheme(r));
    ms_jw_str(j, "tier", ms_tier_name(r->tier));
    ms_jw_str(j, "country", code_or_null(r->mirror->country));
    ms_jw_str(j, "continent", code_or_null(r->mirror->continent));
    ms_jw_num(j, "distance_km", r->distance_km < 0 ? NAN : r->distance_km);
    if (r->copy)
        ms_jw_int(j, "seen", r->copy->seen);
    else
        ms_jw_null(j, "seen");
    json_time(j, "seen_utc", r->copy ? r->copy->seen : 0, r->copy != NULL);
    ms_jw_bool(j, "fallback", r->copy == NULL);
    ms_jw_end(j);
}

int ms_mirrorlist_json(ms_buf_t *out, const ms_answer_t *a, const char *origin_url,
                       int64_t now)
{
    const char *rel;
    ms_jw_t j;
    int i, n;

    if (!a || !a->file)
        return -1;
    rel = ms_path_escape(a->file->path, out->pool);
    n = ranked_count(a);
    ms_jw_init(&j, out);
    ms_jw_object(&j, NULL);
    json_file(&j, a, origin_url);
    json_client(&j, a);
    ms_jw_str(&j, "result", ms_result_name(a->result));
    ms_jw_bool(&j, "fallback", a->choice && a->choice->fallback);
    json_time(&j, "generated", now, now > 0);
    ms_jw_array(&j, "mirrors");
    for (i = 0; i < n; i++)
        json_mirror(&j, a, i, rel, out->pool);
    ms_jw_end(&j);
    ms_jw_end(&j);
    return ms_jw_finish(&j);
}
