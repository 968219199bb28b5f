/* ms_cache.h — the cache of what the redirect path reads from the database
 * for one file: the file's index record and which mirrors hold it fresh.
 *
 * It lives in one block of memory of fixed size, with no pointers inside, so
 * the module places it in shared memory made before the children fork: every
 * child process reads and fills the same entries, and a file read by one is a
 * hit for all. Readers take no lock (each entry has a sequence counter that a
 * writer makes odd while it writes; a reader retries or misses when it saw
 * it move). Entries are tagged with the database file's identity and the
 * data generation they were read at (bumped by triggers on every change of
 * what the redirect reads of a file), so a change is seen by the next
 * request: a reader asks for entries read at one generation, or at any of a
 * range it knows the file did not change in (ms_cache_get_range). */
#ifndef MS_CACHE_H
#define MS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "ms_db.h"

typedef struct ms_cache ms_cache_t;

/* Mirror ids a cached file's holders may have, as a bitmap: a file held by
 * a mirror with a larger id is kept only when its holders fit in the short
 * list of ids instead (MS_CACHE_IDS), else it is not cached (asked anew). */
#define MS_CACHE_MAX_ID   1023
#define MS_CACHE_IDS      16

/* The memory's format (for tools and tests that look inside): a 64-byte
 * header, then sets of 4 entries of 256 bytes, each entry starting with its
 * 32-bit sequence counter (odd while a writer writes it). */
#define MS_CACHE_HEADER_BYTES 64
#define MS_CACHE_ENTRY_BYTES  256

/* Bytes of memory a cache of `entries` files takes (entries rounded up to
 * a power of two, at least one set of ways). */
size_t ms_cache_bytes(int entries);

/* A cache over mem (ms_cache_bytes(entries) bytes, zeroed, suitably aligned
 * for 64-bit words), e.g. shared memory. The handle (and its hit and miss
 * counters) is allocated from p; after fork each process's copy counts for
 * itself. Returns 0, or -1 when mem is NULL. */
int ms_cache_init(ms_cache_t **out, void *mem, int entries, apr_pool_t *p);

/* The same in private memory (freed by a cleanup on p). */
int ms_cache_create(ms_cache_t **out, int entries, apr_pool_t *p);

/* Look a file up for database db_ident at data generation gen. On a hit
 * returns 1 and sets *file and *holders (the ids of the mirrors holding it
 * fresh against the indexed file, ascending), allocated from p; *file is
 * NULL for a path remembered as not indexed. Else returns 0. */
int ms_cache_get(ms_cache_t *c, uint64_t db_ident, int64_t gen, const char *path,
                 ms_file_t **file, ms_holders_t *holders, apr_pool_t *p);

/* The same for an entry read at any generation from lo to hi: the caller
 * knows nothing the entry depends on changed in between (schema 005's
 * buckets). With read_at, *read_at is the generation it was read at, for
 * the caller to judge, and to count with ms_cache_count; without, the
 * lookup counts itself. */
int ms_cache_get_range(ms_cache_t *c, uint64_t db_ident, int64_t lo, int64_t hi,
                       const char *path, ms_file_t **file, ms_holders_t *holders,
                       int64_t *read_at, apr_pool_t *p);

/* Remember a file and its fresh holders (judged against f) as read in data
 * generation gen. A NULL file remembers "not indexed". Holders that fit
 * neither form above are not remembered. */
void ms_cache_put(ms_cache_t *c, uint64_t db_ident, int64_t gen, const char *path,
                  const ms_file_t *f, const ms_holders_t *holders);

/* Count a hit (hit != 0) or a miss in this process's statistics. */
void ms_cache_count(ms_cache_t *c, int hit);

/* This process's hits and misses so far. */
void ms_cache_stats(ms_cache_t *c, uint64_t *hits, uint64_t *misses);

#endif
