/* test_cache.c — the per-process file cache gives back what was put in:
 * the file and its fresh holders' ids, kept as a bitmap or as ids whichever
 * is smaller; misses for another generation, database or path; remembers
 * "not indexed"; a newcomer replaces its slot's entry. */
#include <string.h>

#include <apr_general.h>

#include "tap.h"
#include "ms_cache.h"

static int same_holders(const ms_holders_t *a, const int64_t *id, int n)
{
    int i;

    if (a->count != n)
        return 0;
    for (i = 0; i < n; i++)
        if (a->id[i] != id[i])
            return 0;
    return 1;
}

static void check_round_trip(ms_cache_t *c, const char *what, const int64_t *id, int n,
                             apr_pool_t *p)
{
    ms_file_t f = { 42, "pub/a.iso", 1000, 1700000000,
                    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" };
    ms_holders_t in = { n, id }, out;
    ms_file_t *got;

    ms_cache_put(c, 7, 3, "pub/a.iso", &f, &in);
    ok(ms_cache_get(c, 7, 3, "pub/a.iso", &got, &out, p) && got && got->id == 42
       && got->size == 1000 && !strcmp(got->path, "pub/a.iso")
       && !strcmp(got->sha256, f.sha256) && same_holders(&out, id, n),
       "%s: %d holders back as put", what, n);
}

int main(void)
{
    apr_pool_t *p;
    ms_cache_t *c;
    ms_file_t f = { 1, "b", 5, 6, NULL }, *got;
    ms_holders_t out;
    int64_t dense[300], sparse[3] = { 3, 70000, 9000000000LL }, dup[4] = { 5, 5, 6, 9 };
    int i;

    apr_initialize();
    apr_pool_create(&p, NULL);
    for (i = 0; i < 300; i++)
        dense[i] = 1 + i + i / 2;
    ok(ms_cache_create(&c, 1000, p) == 0, "cache created");
    check_round_trip(c, "dense ids (a bitmap)", dense, 300, p);
    check_round_trip(c, "sparse ids (an array)", sparse, 3, p);
    check_round_trip(c, "id 0", (int64_t[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8 }, 9, p);
    check_round_trip(c, "no holder", NULL, 0, p);
    ok(!ms_cache_get(c, 7, 4, "pub/a.iso", &got, &out, p), "another generation misses");
    ok(!ms_cache_get(c, 8, 3, "pub/a.iso", &got, &out, p), "another database misses");
    ok(!ms_cache_get(c, 7, 3, "pub/b.iso", &got, &out, p), "another path misses");

    ms_cache_put(c, 7, 3, "gone", NULL, NULL);
    ok(ms_cache_get(c, 7, 3, "gone", &got, &out, p) && !got && out.count == 0,
       "\"not indexed\" is remembered");
    ms_cache_put(c, 7, 3, "dup", &f, &(ms_holders_t){ 4, dup });
    ok(ms_cache_get(c, 7, 3, "dup", &got, &out, p) && out.count == 3 && out.id[0] == 5
       && out.id[1] == 6 && out.id[2] == 9, "a repeated id counts once");

    ms_cache_create(&c, 1, p);
    ms_cache_put(c, 1, 1, "x", &f, &(ms_holders_t){ 3, sparse });
    ms_cache_put(c, 1, 1, "y", &f, &(ms_holders_t){ 3, sparse });
    ok(!ms_cache_get(c, 1, 1, "x", &got, &out, p) && ms_cache_get(c, 1, 1, "y", &got, &out, p),
       "one slot: the newcomer replaces the entry");
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
