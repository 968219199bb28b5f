/* ms_cache.c — the file cache (see ms_cache.h).
 *
 * Layout: a header, then sets of MS_CACHE_WAYS entries of 256 bytes (four
 * cache lines), picked by the path's hash. An entry holds no pointer: the
 * path is known by two independent 64-bit hashes (a false match needs both
 * to collide), the SHA-256 as its 32 bytes, the holders as a bitmap of ids
 * 0..MS_CACHE_MAX_ID or a short list of ids.
 *
 * Concurrency (threads and processes alike): an entry's seq is even when it
 * is stable. A writer claims it by moving seq to odd with a compare-and-swap
 * (a writer that loses simply does not cache), writes, and publishes seq + 2.
 * A reader copies the entry between two reads of seq and keeps the copy only
 * when both were the same even value. Nobody waits for anybody.
 *
 * Replacement: a set gives way in the order entries were written (each
 * write takes the next stamp of a counter in the header), so a path read
 * again after its eviction comes back as the newest. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include "ms_cache.h"
#include "ms_stripes.h"

#define MS_CACHE_WAYS   4
#define MS_CACHE_MAGIC  0x6d73636163686531ULL     /* "mscache1" */
#define KEY1_SEED       0xcbf29ce484222325ULL     /* the two hashes' seeds */
#define KEY2_SEED       0x84222325cbf29ce4ULL

enum { E_USED = 1, E_INDEXED = 2, E_SHA = 4, E_BITS = 8 };

typedef struct entry {
    uint32_t seq;              /* odd while written */
    uint16_t flags;            /* E_* */
    uint16_t count;            /* holders */
    uint64_t key1, key2;       /* the path's two hashes */
    uint64_t ident;            /* database identity */
    int64_t gen;               /* data generation */
    int64_t id, size, mtime;   /* the file's index record */
    uint64_t stamp;            /* when written (for replacement) */
    unsigned char sha[32];
    union {
        unsigned char bits[(MS_CACHE_MAX_ID + 1) / 8];
        int64_t ids[MS_CACHE_IDS];
    } held;
    unsigned char pad[24];
} entry;

typedef struct header {
    uint64_t magic;
    uint64_t sets;
    uint64_t stamp;            /* atomic */
    unsigned char pad[40];
} header;

struct ms_cache {
    header *h;
    entry *e;
    uint64_t mask;             /* sets - 1 */
    uint64_t hits, misses;     /* atomic; this process's */
};

_Static_assert(sizeof(entry) == MS_CACHE_ENTRY_BYTES, "an entry is four cache lines");
_Static_assert(sizeof(header) == MS_CACHE_HEADER_BYTES, "the header is one cache line");
_Static_assert(offsetof(entry, seq) == 0, "the sequence counter comes first");

static uint64_t sets_for(int entries)
{
    uint64_t sets = 1;

    while (sets * MS_CACHE_WAYS < (uint64_t)(entries > 0 ? entries : 1))
        sets <<= 1;
    return sets;
}

size_t ms_cache_bytes(int entries)
{
    return sizeof(header) + sets_for(entries) * MS_CACHE_WAYS * sizeof(entry);
}

int ms_cache_init(ms_cache_t **out, void *mem, int entries, apr_pool_t *p)
{
    ms_cache_t *c;

    *out = NULL;
    if (!mem)
        return -1;
    c = apr_pcalloc(p, sizeof(*c));
    c->h = mem;
    c->e = (entry *)(c->h + 1);
    c->h->sets = sets_for(entries);
    c->h->magic = MS_CACHE_MAGIC;
    c->mask = c->h->sets - 1;
    *out = c;
    return 0;
}

static apr_status_t free_mem(void *mem)
{
    free(mem);
    return APR_SUCCESS;
}

int ms_cache_create(ms_cache_t **out, int entries, apr_pool_t *p)
{
    size_t n = ms_cache_bytes(entries);
    void *mem = NULL;

    *out = NULL;
    if (posix_memalign(&mem, 64, n) != 0)
        return -1;
    memset(mem, 0, n);
    apr_pool_cleanup_register(p, mem, free_mem, apr_pool_cleanup_null);
    return ms_cache_init(out, mem, entries, p);
}

static void keys(const char *path, uint64_t *k1, uint64_t *k2)
{
    size_t n = strlen(path);

    *k1 = ms_hash64(KEY1_SEED, path, n);
    *k2 = ms_hash64(KEY2_SEED, path, n) ^ ((uint64_t)n << 48);
}

static entry *set_of(const ms_cache_t *c, uint64_t k1)
{
    return c->e + (k1 & c->mask) * MS_CACHE_WAYS;
}

static int matches(const entry *x, uint64_t k1, uint64_t k2, uint64_t ident, int64_t lo,
                   int64_t hi)
{
    return (x->flags & E_USED) && x->key1 == k1 && x->key2 == k2 && x->ident == ident
           && x->gen >= lo && x->gen <= hi;
}

/* A stable copy of x into out; 0 when x was being written. */
static int read_entry(entry *out, const entry *x)
{
    uint32_t s1 = __atomic_load_n(&x->seq, __ATOMIC_ACQUIRE), s2;

    if (s1 & 1)
        return 0;
    memcpy(out, x, sizeof(*out));
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    s2 = __atomic_load_n(&x->seq, __ATOMIC_RELAXED);
    return s1 == s2;
}

static const char hex[] = "0123456789abcdef";

/* The entry's file and holders, allocated from p. */
static void copy_out(const entry *x, const char *path, ms_file_t **file,
                     ms_holders_t *holders, apr_pool_t *p)
{
    ms_file_t *f;
    int i, n;

    *file = NULL;
    memset(holders, 0, sizeof(*holders));
    if (!(x->flags & E_INDEXED))
        return;
    *file = f = apr_pcalloc(p, sizeof(*f));
    f->id = x->id;
    f->path = apr_pstrdup(p, path);
    f->size = x->size;
    f->mtime = x->mtime;
    if (x->flags & E_SHA) {
        char *s = apr_palloc(p, 65);

        f->sha256_raw = apr_pmemdup(p, x->sha, sizeof(x->sha));
        for (i = 0; i < 32; i++) {
            s[2 * i] = hex[x->sha[i] >> 4];
            s[2 * i + 1] = hex[x->sha[i] & 15];
        }
        s[64] = '\0';
        f->sha256 = s;
    }
    if (!x->count)
        return;
    if (x->flags & E_BITS) {
        /* as a bitmap, up to its last set byte: the walk reads it as is */
        for (n = (int)sizeof(x->held.bits); n > 0 && !x->held.bits[n - 1]; n--)
            ;
        holders->bits = apr_pmemdup(p, x->held.bits, n);
        holders->bits_len = n;
    }
    else
        holders->id = apr_pmemdup(p, x->held.ids, x->count * sizeof(*x->held.ids));
    holders->count = x->count;
}

int ms_cache_get(ms_cache_t *c, uint64_t db_ident, int64_t gen, const char *path,
                 ms_file_t **file, ms_holders_t *holders, apr_pool_t *p)
{
    return ms_cache_get_range(c, db_ident, gen, gen, path, file, holders, NULL, p);
}

int ms_cache_get_range(ms_cache_t *c, uint64_t db_ident, int64_t lo, int64_t hi,
                       const char *path, ms_file_t **file, ms_holders_t *holders,
                       int64_t *read_at, apr_pool_t *p)
{
    uint64_t k1, k2;
    entry *set, copy;
    int w;

    keys(path, &k1, &k2);
    set = set_of(c, k1);
    for (w = 0; w < MS_CACHE_WAYS; w++) {
        if (__atomic_load_n(&set[w].key1, __ATOMIC_RELAXED) != k1)
            continue;
        if (read_entry(&copy, &set[w]) && matches(&copy, k1, k2, db_ident, lo, hi)) {
            copy_out(&copy, path, file, holders, p);
            if (read_at)
                *read_at = copy.gen;
            else
                ms_cache_count(c, 1);
            return 1;
        }
    }
    if (!read_at)
        ms_cache_count(c, 0);
    return 0;
}

void ms_cache_count(ms_cache_t *c, int hit)
{
    __atomic_add_fetch(hit ? &c->hits : &c->misses, 1, __ATOMIC_RELAXED);
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* The SHA-256's bytes from 64 lower-case hex digits; 0 when it is not that. */
static int sha_bytes(unsigned char out[32], const char *s)
{
    int i;

    if (!s || strlen(s) != 64)
        return 0;
    for (i = 0; i < 32; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}

/* The holders (ascending ids, or a bitmap with count bits set) into x as a
 * bitmap or a list; 0 when they fit neither. A repeated id counts once. */
static int pack_holders(entry *x, const ms_holders_t *h)
{
    int i, n = 0, fits_bits = 1;

    memset(&x->held, 0, sizeof(x->held));
    if (!h->id) {              /* a bitmap (the database's): as it is if it fits, */
        for (i = (int)sizeof(x->held.bits); i < h->bits_len && !h->bits[i]; i++)
            ;
        if (i >= h->bits_len) {
            memcpy(x->held.bits, h->bits,
                   (size_t)(h->bits_len < (int)sizeof(x->held.bits) ? h->bits_len
                                                                   : (int)sizeof(x->held.bits)));
            x->flags |= E_BITS;
            x->count = (uint16_t)h->count;
            return 1;
        }
        for (i = 0; i < h->bits_len * 8; i++) {       /* else as a list */
            if (!(h->bits[i >> 3] & (1u << (i & 7))))
                continue;
            if (n == MS_CACHE_IDS)
                return 0;
            x->held.ids[n++] = i;
        }
        x->count = (uint16_t)n;
        return 1;
    }
    for (i = 0; i < h->count; i++)
        if (h->id[i] < 0 || h->id[i] > MS_CACHE_MAX_ID)
            fits_bits = 0;
    if (fits_bits) {
        x->flags |= E_BITS;
        for (i = 0; i < h->count; i++) {
            unsigned char *byte = &x->held.bits[h->id[i] >> 3], bit = 1u << (h->id[i] & 7);

            n += !(*byte & bit);
            *byte |= bit;
        }
    }
    else {
        for (i = 0; i < h->count; i++) {
            if (n > 0 && x->held.ids[n - 1] == h->id[i])
                continue;
            if (n == MS_CACHE_IDS)
                return 0;
            x->held.ids[n++] = h->id[i];
        }
    }
    x->count = (uint16_t)n;
    return 1;
}

/* The way to write: the path's own entry, else the one written longest ago
 * (an unused one first). */
static entry *victim(entry *set, uint64_t k1, uint64_t k2)
{
    entry *v = &set[0];
    int w;

    for (w = 0; w < MS_CACHE_WAYS; w++) {
        if (set[w].key1 == k1 && set[w].key2 == k2)
            return &set[w];
        if (set[w].stamp < v->stamp)
            v = &set[w];
    }
    return v;
}

void ms_cache_put(ms_cache_t *c, uint64_t db_ident, int64_t gen, const char *path,
                  const ms_file_t *f, const ms_holders_t *holders)
{
    uint64_t k1, k2;
    entry staged, *x;
    uint32_t seq;

    if (holders && holders->count > 0xffff)
        return;
    keys(path, &k1, &k2);
    memset(&staged, 0, sizeof(staged));
    staged.flags = E_USED;
    staged.key1 = k1;
    staged.key2 = k2;
    staged.ident = db_ident;
    staged.gen = gen;
    if (f) {
        staged.flags |= E_INDEXED;
        staged.id = f->id;
        staged.size = f->size;
        staged.mtime = f->mtime;
        if (sha_bytes(staged.sha, f->sha256))
            staged.flags |= E_SHA;
        if (holders && holders->count > 0 && !pack_holders(&staged, holders))
            return;            /* fits neither form: not cached */
    }

    x = victim(set_of(c, k1), k1, k2);
    seq = __atomic_load_n(&x->seq, __ATOMIC_RELAXED);
    if ((seq & 1)
        || !__atomic_compare_exchange_n(&x->seq, &seq, seq + 1, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
        return;                /* somebody else is writing it */
    staged.seq = seq + 1;
    staged.stamp = __atomic_add_fetch(&c->h->stamp, 1, __ATOMIC_RELAXED);
    memcpy((char *)x + sizeof(x->seq), (char *)&staged + sizeof(staged.seq),
           sizeof(*x) - sizeof(x->seq));
    __atomic_store_n(&x->seq, seq + 2, __ATOMIC_RELEASE);
}

void ms_cache_stats(ms_cache_t *c, uint64_t *hits, uint64_t *misses)
{
    *hits = __atomic_load_n(&c->hits, __ATOMIC_RELAXED);
    *misses = __atomic_load_n(&c->misses, __ATOMIC_RELAXED);
}
