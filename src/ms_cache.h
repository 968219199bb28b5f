/* ms_cache.h — a per-process cache of what the redirect path reads from the
 * database for one file: the file's index record and which mirrors hold it
 * fresh. Shared by the threads of one process; a short mutex guards it, never
 * held across a query. Entries are tagged with the database's data
 * generation (bumped by triggers on every change of mirrors, files or
 * copies), so a change is seen by the next request. */
#ifndef MS_CACHE_H
#define MS_CACHE_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "ms_db.h"

typedef struct ms_cache ms_cache_t;

/* A direct-mapped cache of `slots` entries (rounded up to a power of two);
 * a new entry replaces the one in its slot. Freed by a cleanup on p. */
int ms_cache_create(ms_cache_t **out, int slots, apr_pool_t *p);

/* Entries are tagged with the database file's identity (ms_db_identity: a
 * database replaced by rename is another file whose counters start anew) and
 * its data generation.
 *
 * Look a file up for database db_ident at data generation gen. On a hit returns 1 and sets *file
 * and *holders (the ids of the mirrors holding it fresh against the indexed
 * file), allocated from p. Else returns 0. */
int ms_cache_get(ms_cache_t *c, uint64_t db_ident, int64_t gen, const char *path, ms_file_t **file,
                 ms_holders_t *holders, apr_pool_t *p);

/* Remember a file and its fresh holders (judged against f) as read in data
 * generation gen. A NULL file remembers "not indexed". */
void ms_cache_put(ms_cache_t *c, uint64_t db_ident, int64_t gen, const char *path, const ms_file_t *f,
                  const ms_holders_t *holders);

/* Hits and misses so far (for the benchmark and debug logging). */
void ms_cache_stats(ms_cache_t *c, uint64_t *hits, uint64_t *misses);

#endif
