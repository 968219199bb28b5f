/* test_cache.c — the file cache gives back what was put in: the file and
 * its fresh holders' ids, kept as a bitmap or as a short list; misses for
 * another generation, database or path; remembers "not indexed"; a full set
 * gives way in the order its entries were written. An entry a writer holds
 * is neither read nor written by others; threads writing and reading one
 * entry at once never see a mix of two writes (this catches writers that do
 * not exclude each other; a reader ignoring the sequence counter hardly ever
 * meets a write in progress, hence the test after it), and in shared memory
 * a file put by one process is a hit for another. */
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_thread_proc.h>

#include "tap.h"
#include "ms_cache.h"

/* The holders as put, whichever form the cache gave them back in. */
static int same_holders(const ms_holders_t *a, const int64_t *id, int n)
{
    int i, k = 0;

    if (a->count != n)
        return 0;
    if (!a->id) {
        for (i = 0; i < a->bits_len * 8; i++)
            if ((a->bits[i >> 3] & (1u << (i & 7))) && (k >= n || id[k++] != i))
                return 0;
        return k == n;
    }
    for (i = 0; i < n; i++)
        if (a->id[i] != id[i])
            return 0;
    return 1;
}

static void check_round_trip(ms_cache_t *c, const char *what, const int64_t *id, int n,
                             apr_pool_t *p)
{
    ms_file_t f = { 42, "pub/a.iso", 1000, 1700000000,
                    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", NULL, 0 };
    ms_holders_t in = { .count = n, .id = id }, out;
    ms_file_t *got;

    ms_cache_put(c, 7, 3, "pub/a.iso", &f, &in);
    ok(ms_cache_get(c, 7, 3, "pub/a.iso", &got, &out, p) && got && got->id == 42
       && got->size == 1000 && !strcmp(got->path, "pub/a.iso")
       && !strcmp(got->sha256, f.sha256) && same_holders(&out, id, n),
       "%s: %d holders back as put", what, n);
    ok(got && got->sha256_raw && got->sha256_raw[0] == 0x00 && got->sha256_raw[1] == 0x11
       && got->sha256_raw[31] == 0xff, "%s: the hash also as its 32 bytes", what);

    /* The same holders as the database gives them (files.holders: a bitmap
     * without trailing zero bytes), kept in whichever form fits. */
    if (!n || id[n - 1] <= MS_HOLDERS_MAX_ID) {
        int len = n ? (int)(id[n - 1] >> 3) + 1 : 0, i;
        unsigned char *bits = apr_pcalloc(p, len ? len : 1);

        for (i = 0; i < n; i++)
            bits[id[i] >> 3] |= (unsigned char)(1u << (id[i] & 7));
        in = (ms_holders_t){ .count = n, .bits = bits, .bits_len = len };
        ms_cache_put(c, 7, 3, "pub/a.iso", &f, &in);
        ok(ms_cache_get(c, 7, 3, "pub/a.iso", &got, &out, p) && got && got->id == 42
           && same_holders(&out, id, n), "%s: %d holders back, put as a bitmap", what, n);
    }
}

/* --- threads racing on one entry --- */

#define RACE_ROUNDS 200000
static int64_t race_a[100], race_b[50];

typedef struct race {
    ms_cache_t *c;
    int writer;
    int torn;                  /* a reader saw neither A nor B */
    int hits;
} race_t;

static void *APR_THREAD_FUNC racer(apr_thread_t *t, void *data)
{
    race_t *r = data;
    ms_file_t fa = { 1, "race", 10, 20, NULL, NULL, 0 }, *got;
    ms_file_t fb = { 2, "race", 30, 40, NULL, NULL, 0 };
    ms_holders_t out;
    apr_pool_t *p;
    int i;

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    for (i = 0; i < RACE_ROUNDS; i++) {
        if (r->writer) {
            if (i & 1)
                ms_cache_put(r->c, 1, 1, "race", &fa, &(ms_holders_t){ .count = 100, .id = race_a });
            else
                ms_cache_put(r->c, 1, 1, "race", &fb, &(ms_holders_t){ .count = 50, .id = race_b });
            continue;
        }
        if (!ms_cache_get(r->c, 1, 1, "race", &got, &out, p))
            continue;
        r->hits++;
        if (!((got->id == 1 && got->size == 10 && same_holders(&out, race_a, 100))
              || (got->id == 2 && got->size == 30 && same_holders(&out, race_b, 50))))
            r->torn++;
        if ((i & 1023) == 0)
            apr_pool_clear(p);
    }
    apr_pool_destroy(p);
    (void)t;
    return NULL;
}

static void check_race(apr_pool_t *p)
{
    race_t r[4];
    apr_thread_t *t[4];
    apr_status_t rv;
    ms_cache_t *c;
    int i, torn = 0, hits = 0;

    for (i = 0; i < 100; i++)
        race_a[i] = i;
    for (i = 0; i < 50; i++)
        race_b[i] = 500 + i;
    ms_cache_create(&c, 4, p);
    for (i = 0; i < 4; i++) {
        r[i] = (race_t){ c, i < 2, 0, 0 };
        apr_thread_create(&t[i], NULL, racer, &r[i], p);
    }
    for (i = 0; i < 4; i++) {
        apr_thread_join(&rv, t[i]);
        torn += r[i].torn;
        hits += r[i].hits;
    }
    ok(torn == 0 && hits > 0, "2 writers and 2 readers on one entry: %d hits, %d torn",
       hits, torn);
}

/* --- an entry a writer is writing --- */

/* The race above can hardly catch a reader that ignores a write in progress
 * (a write is a 256-byte copy); this puts an entry in the state a writer leaves it in while copying, in
 * memory the test owns, and back. */
static void check_writer_in_progress(apr_pool_t *p)
{
    size_t n = ms_cache_bytes(4);
    void *mem = NULL;
    ms_file_t f = { 5, "busy.iso", 10, 20, NULL, NULL, 0 }, *got;
    int64_t id[2] = { 1, 2 };
    ms_holders_t out;
    ms_cache_t *c;
    uint32_t *seq;

    if (posix_memalign(&mem, 64, n) != 0)
        bail_out("posix_memalign");
    memset(mem, 0, n);
    ms_cache_init(&c, mem, 4, p);          /* one set; an empty set's first way */
    ms_cache_put(c, 1, 1, "busy.iso", &f, &(ms_holders_t){ .count = 2, .id = id });
    seq = (uint32_t *)((char *)mem + MS_CACHE_HEADER_BYTES);
    ok(*seq == 2 && ms_cache_get(c, 1, 1, "busy.iso", &got, &out, p),
       "written once: sequence 2, a hit");
    *seq = 3;                              /* a writer has claimed it */
    ok(!ms_cache_get(c, 1, 1, "busy.iso", &got, &out, p),
       "while a writer holds the entry (odd sequence): a miss, not its half-written bytes");
    ms_cache_put(c, 1, 1, "busy.iso", &f, &(ms_holders_t){ .count = 2, .id = id });
    ok(*seq == 3, "and a second writer leaves it alone");
    *seq = 4;                              /* the writer is done */
    ok(ms_cache_get(c, 1, 1, "busy.iso", &got, &out, p) && same_holders(&out, id, 2),
       "once written (even sequence): a hit again");
    free(mem);
}

/* --- processes sharing the memory --- */

static void check_shared(apr_pool_t *p)
{
    size_t n = ms_cache_bytes(64);
    void *mem = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ms_file_t f = { 9, "shared.iso", 123, 456, NULL, NULL, 0 }, *got;
    int64_t id[2] = { 4, 700 };
    ms_holders_t out;
    ms_cache_t *c;
    pid_t pid;
    int status = -1;

    if (mem == MAP_FAILED || ms_cache_init(&c, mem, 64, p) != 0) {
        ok(0, "shared memory for the cache");
        return;
    }
    if ((pid = fork()) == 0) {
        ms_cache_put(c, 5, 6, "shared.iso", &f, &(ms_holders_t){ .count = 2, .id = id });
        _exit(0);
    }
    waitpid(pid, &status, 0);
    ok(status == 0 && ms_cache_get(c, 5, 6, "shared.iso", &got, &out, p) && got
       && got->id == 9 && same_holders(&out, id, 2),
       "a file put by another process is a hit");
    munmap(mem, n);
}

int main(void)
{
    apr_pool_t *p;
    ms_cache_t *c;
    ms_file_t f = { 1, "b", 5, 6, NULL, NULL, 0 }, *got;
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
    check_round_trip(c, "sparse ids a bitmap can hold (an array)",
                     (int64_t[]){ 3, 2000, 70000 }, 3, p);
    check_round_trip(c, "id 0", (int64_t[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8 }, 9, p);
    check_round_trip(c, "no holder", NULL, 0, p);
    ok(!ms_cache_get(c, 7, 4, "pub/a.iso", &got, &out, p), "another generation misses");
    ok(ms_cache_get_range(c, 7, 2, 9, "pub/a.iso", &got, &out, NULL, p) && got && got->id == 42,
       "a range of generations holding the entry's hits");
    ok(ms_cache_get_range(c, 7, 3, 3, "pub/a.iso", &got, &out, NULL, p),
       "so does one that starts and ends with it");
    ok(!ms_cache_get_range(c, 7, 4, 9, "pub/a.iso", &got, &out, NULL, p),
       "one starting after it misses (the file changed since)");
    ok(!ms_cache_get_range(c, 7, 1, 2, "pub/a.iso", &got, &out, NULL, p),
       "one ending before it misses");
    {
        int64_t at = -1;
        uint64_t h0, m0, h1, m1;

        ms_cache_stats(c, &h0, &m0);
        ok(ms_cache_get_range(c, 7, 0, 9, "pub/a.iso", &got, &out, &at, p) && at == 3,
           "the generation an entry was read at, for the caller to judge");
        ms_cache_stats(c, &h1, &m1);
        ok(h1 == h0 && m1 == m0, "and the caller counts it (ms_cache_count), not the lookup");
    }
    ms_cache_put(c, 7, 5, "not-there", NULL, NULL);
    ok(ms_cache_get_range(c, 7, 2, 8, "not-there", &got, &out, NULL, p) && !got,
       "\"not indexed\" within a range: remembered");
    ok(!ms_cache_get_range(c, 7, 6, 8, "not-there", &got, &out, NULL, p),
       "and not after its path's bucket moved");
    ok(!ms_cache_get(c, 8, 3, "pub/a.iso", &got, &out, p), "another database misses");
    ok(!ms_cache_get(c, 7, 3, "pub/b.iso", &got, &out, p), "another path misses");

    ms_cache_put(c, 7, 3, "gone", NULL, NULL);
    ok(ms_cache_get(c, 7, 3, "gone", &got, &out, p) && !got && out.count == 0,
       "\"not indexed\" is remembered");
    ms_cache_put(c, 7, 3, "dup", &f, &(ms_holders_t){ .count = 4, .id = dup });
    ok(ms_cache_get(c, 7, 3, "dup", &got, &out, p)
       && same_holders(&out, (int64_t[]){ 5, 6, 9 }, 3), "a repeated id counts once");

    for (i = 0; i < 17; i++)
        dense[i] = 5000 + i;
    ms_cache_put(c, 7, 3, "many-far", &f, &(ms_holders_t){ .count = 17, .id = dense });
    ok(!ms_cache_get(c, 7, 3, "many-far", &got, &out, p),
       "17 holders beyond the bitmap's ids: not cached");

    ms_cache_create(&c, 1, p);      /* one set */
    ms_cache_put(c, 1, 1, "v", &f, &(ms_holders_t){ .count = 3, .id = sparse });
    ms_cache_put(c, 1, 1, "w", &f, &(ms_holders_t){ .count = 3, .id = sparse });
    ms_cache_put(c, 1, 1, "x", &f, &(ms_holders_t){ .count = 3, .id = sparse });
    ms_cache_put(c, 1, 1, "y", &f, &(ms_holders_t){ .count = 3, .id = sparse });
    ms_cache_put(c, 1, 1, "v", &f, &(ms_holders_t){ .count = 3, .id = sparse });   /* v again: newest */
    ms_cache_put(c, 1, 1, "z", &f, &(ms_holders_t){ .count = 3, .id = sparse });
    ok(!ms_cache_get(c, 1, 1, "w", &got, &out, p) && ms_cache_get(c, 1, 1, "v", &got, &out, p)
       && ms_cache_get(c, 1, 1, "x", &got, &out, p) && ms_cache_get(c, 1, 1, "y", &got, &out, p)
       && ms_cache_get(c, 1, 1, "z", &got, &out, p),
       "a full set: the entry written longest ago gives way");
    check_race(p);
    check_writer_in_progress(p);
    check_shared(p);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
