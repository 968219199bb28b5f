/* outputs_bench — the cost and size of each output of the module for one
 * answer of 50 ranked mirrors, built through the same core calls the module
 * makes (mod_mirrorsel.c: build_redirect, build_meta4, build_html,
 * build_json, build_sha256), each in a fresh request-sized pool.
 *
 *   build/outputs_bench [ITERATIONS]      (default 20000)
 *
 * Prints, per output, microseconds per build and the bytes it adds to the
 * response (for the redirect: the header lines the module sets). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "ms_buf.h"
#include "ms_links.h"
#include "ms_meta4.h"
#include "ms_mirrorlist.h"
#include "ms_path.h"
#include "ms_select.h"

#define MIRRORS 50
#define LINKS   5              /* MirrorSelLinkHeaders default */
#define ORIGIN  "https://download.example.org/pub/distro/releases/42/iso/distro-42-x86_64-dvd.iso"

static const char *const cc[] = { "DE", "FR", "NL", "SE", "US", "JP", "BR", "AU", "GB", "CZ" };
static const char *const cont[] = { "EU", "EU", "EU", "EU", "NA", "AS", "SA", "OC", "EU", "EU" };

static ms_answer_t *answer(apr_pool_t *p)
{
    ms_answer_t *a = apr_pcalloc(p, sizeof(*a));
    ms_file_t *f = apr_pcalloc(p, sizeof(*f));
    int i;

    f->path = "distro/releases/42/iso/distro-42-x86_64-dvd.iso";
    f->size = 4700000000LL;
    f->mtime = 1714564800;
    f->sha256 = "7fe1b271cfd2723c577e4b21a03bd2d696182e7ce9339487a90cbc8a79735276";
    a->file = f;
    a->result = MS_RESULT_REDIRECT;
    a->client.addr_text = "192.0.2.10";
    memcpy(a->client.loc.country, "DE", 3);
    memcpy(a->client.loc.continent, "EU", 3);
    a->client.loc.has_coords = 1;
    a->client.loc.lat = 52.52;
    a->client.loc.lon = 13.40;
    a->client.loc.asn = 64501;
    a->choice = apr_pcalloc(p, sizeof(*a->choice));
    a->choice->ranked = apr_array_make(p, MIRRORS, sizeof(ms_ranked_t));
    for (i = 0; i < MIRRORS; i++) {
        ms_mirror_t *m = apr_pcalloc(p, sizeof(*m));
        ms_copy_t *c = apr_pcalloc(p, sizeof(*c));
        ms_ranked_t *r = apr_array_push(a->choice->ranked);

        m->id = i + 1;
        m->name = apr_psprintf(p, "mirror%02d.example.net", i);
        memcpy(m->country, cc[i % 10], 3);
        memcpy(m->continent, cont[i % 10], 3);
        m->enabled = 1;
        c->mirror_id = m->id;
        c->size = f->size;
        c->mtime = f->mtime;
        c->precision = 1;
        c->seen = 1714600000 + i;
        memset(r, 0, sizeof(*r));
        r->mirror = m;
        r->base_url = apr_psprintf(p, "https://mirror%02d.example.net/pub/distro/", i);
        r->https = 1;
        r->tier = i < 5 ? MS_TIER_COUNTRY : i < 25 ? MS_TIER_CONTINENT : MS_TIER_WORLD;
        r->distance_km = 10.0 + 97.0 * i;
        r->copy = c;
    }
    return a;
}

/* The header lines build_redirect gives the response. */
static size_t redirect(const ms_answer_t *a, apr_pool_t *p)
{
    const ms_ranked_t *first = &APR_ARRAY_IDX(a->choice->ranked, 0, ms_ranked_t);
    const char *loc = ms_url_join(first->base_url, ms_path_escape(a->file->path, p), p);
    apr_array_header_t *links = ms_links_duplicates(a, NULL, LINKS, p);
    const char *d = ms_links_describedby(apr_pstrcat(p, ORIGIN, ".meta4", NULL), p);
    const char *dg, *rd;
    size_t n;
    int i;

    ms_links_digests(&dg, &rd, a->file->sha256, p);
    n = strlen("Location: \r\n") + strlen(loc) + strlen("Link: \r\n") + strlen(d)
               + strlen("Digest: \r\n") + strlen(dg) + strlen("Repr-Digest: \r\n") + strlen(rd)
               + strlen("X-MirrorSel-Mirror: \r\n") + strlen(first->mirror->name)
               + strlen("X-MirrorSel-Tier: country\r\n") + strlen("Cache-Control: private\r\n")
               + strlen("Vary: Accept\r\n");

    for (i = 0; i < links->nelts; i++)
        n += strlen("Link: \r\n") + strlen(APR_ARRAY_IDX(links, i, const char *));
    return n;
}

static size_t meta4(const ms_answer_t *a, apr_pool_t *p)
{
    ms_buf_t *b = ms_buf_make(p, 4096);
    ms_meta4_write(b, a, ORIGIN, NULL);
    return ms_buf_len(b);
}

static size_t html(const ms_answer_t *a, apr_pool_t *p)
{
    ms_buf_t *b = ms_buf_make(p, 16384);
    ms_mirrorlist_html(b, a, ORIGIN, 1714700000);
    return ms_buf_len(b);
}

static size_t json(const ms_answer_t *a, apr_pool_t *p)
{
    ms_buf_t *b = ms_buf_make(p, 8192);
    ms_mirrorlist_json(b, a, ORIGIN, 1714700000);
    return ms_buf_len(b);
}

static size_t sha256(const ms_answer_t *a, apr_pool_t *p)
{
    return strlen(ms_links_sha256_body(a->file, NULL, p));
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        size_t (*build)(const ms_answer_t *, apr_pool_t *);
    } outputs[] = {
        { "redirect headers (5 Link + describedby + Digest + Repr-Digest)", redirect },
        { "meta4", meta4 },
        { "mirrorlist html", html },
        { "mirrorlist json", json },
        { "sha256", sha256 },
    };
    int iterations = argc > 1 ? atoi(argv[1]) : 20000;
    apr_pool_t *root, *p;
    ms_answer_t *a;
    size_t i;
    int k;

    if (iterations < 1)
        iterations = 1;
    apr_initialize();
    apr_pool_create(&root, NULL);
    a = answer(root);
    apr_pool_create(&p, root);
    printf("outputs_bench: one answer of %d ranked mirrors, %d builds each\n", MIRRORS,
           iterations);
    printf("%-64s %10s %8s\n", "output", "us/build", "bytes");
    for (i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++) {
        size_t bytes = 0;
        double t0 = now_us();

        for (k = 0; k < iterations; k++) {
            bytes = outputs[i].build(a, p);
            apr_pool_clear(p);
        }
        printf("%-64s %10.2f %8zu\n", outputs[i].name, (now_us() - t0) / iterations, bytes);
    }
    apr_pool_destroy(root);
    apr_terminate();
    return 0;
}
