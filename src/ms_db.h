/* ms_db.h — the SQLite database: schema migrations, mirrors, origin files,
 * mirrors' copies of files, health, scan runs.
 *
 * Every query of the project lives in ms_db.c, as a prepared statement with
 * bound parameters. A handle is used by one thread at a time; the module keeps
 * one handle per concurrently running request (a resource list), never shares
 * one across threads, and never writes. */
#ifndef MS_DB_H
#define MS_DB_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "ms_net.h"

#define MS_OK        0
#define MS_ERR     (-1)
#define MS_NOTFOUND  1

typedef struct ms_db ms_db_t;

enum {
    MS_DB_READONLY  = 0,       /* the module: read-only, schema must be current */
    MS_DB_READWRITE = 1,       /* the tool: schema must be current */
    MS_DB_CREATE    = 2,       /* mirrorsel init: create or migrate */
};

/* Scopes, numbered as the tiers they allow at most (see ms_select.h). */
enum {
    MS_SCOPE_PREFIX    = 1,
    MS_SCOPE_ASN       = 2,
    MS_SCOPE_COUNTRY   = 3,
    MS_SCOPE_CONTINENT = 5,
    MS_SCOPE_WORLD     = 6,
};
const char *ms_scope_name(int scope);
int ms_scope_parse(const char *s);          /* -1 when unknown */

/* Health of one mirror for one scheme and address family. */
typedef struct ms_health {
    int known;                 /* 0: never probed (so not up) */
    int up;
    int64_t checked;           /* unix time of the latest probe */
    int latency_ms;
    int failures;              /* consecutive failed probes */
    int status;                /* HTTP status of the latest probe, 0 if none */
    const char *error;         /* "" when none */
} ms_health_t;

#define MS_HTTP   0
#define MS_HTTPS  1
#define MS_FAM(f) ((f) == 6 ? 1 : 0)   /* index of address family 4 / 6 */

typedef struct ms_mirror {
    /* What a redirect reads of each mirror it places, first (64 bytes). */
    int64_t id;
    const char *name;
    const char *http_url;      /* NULL when the mirror has none */
    const char *https_url;     /* NULL when the mirror has none */
    int64_t max_size;          /* 0: no limit */
    double lat, lon;
    int weight;
    int has_coords;
    /* The rest. */
    unsigned text;             /* MS_TEXT_*: which strings are fit for a
                                * header, judged once by loading and by
                                * ms_mirrors_prepare; 0: not judged */
    char country[3];           /* "" unknown */
    char continent[3];         /* "" unknown */
    const char *scan_url;
    uint32_t asn;              /* 0 unknown */
    apr_array_header_t *prefixes;   /* ms_cidr_t */
    int scope;                 /* MS_SCOPE_* */
    const char *other_countries;    /* "" or upper-case "AT,CH" */
    int fallback;
    int enabled;
    ms_health_t health[2][2];  /* [MS_HTTP|MS_HTTPS][MS_FAM(4|6)] */
} ms_mirror_t;

/* ms_mirror_t.text: the name is printable ASCII (0x20-0x7e); a URL is
 * visible ASCII (0x21-0x7e), and for a Link also free of '<' and '>'. */
enum {
    MS_TEXT_JUDGED = 1, MS_TEXT_NAME = 2,
    MS_TEXT_HTTP = 4, MS_TEXT_HTTP_LINK = 8,
    MS_TEXT_HTTPS = 16, MS_TEXT_HTTPS_LINK = 32
};

/* 1 when s is non-empty and every byte lies in lo..0x7e, none in `no`
 * (lo 0x20: printable; 0x21: visible, no space). */
int ms_text_fit(const char *s, unsigned char lo, const char *no);

/* MS_TEXT_* of m, judged now. */
unsigned ms_mirror_text(const ms_mirror_t *m);

/* Is url, one of m's base URLs, fit for a header value (link 0) or for a
 * Link between '<' and '>' (link 1)? From m->text when m's set judged it;
 * a URL that is not m's own is judged now. */
int ms_mirror_url_fit(const ms_mirror_t *m, const char *url, int link);

/* All mirrors, with prefixes and health, as of one database generation. */
/* One --prefix of an enabled mirror, in the snapshot's flat table. */
typedef struct ms_prefix_entry {
    ms_cidr_t cidr;
    int index;                 /* the mirror's position in ms_mirrors_t.mirror */
} ms_prefix_entry_t;

typedef struct ms_mirrors {
    apr_pool_t *pool;
    int64_t generation;
    int64_t order_gen;         /* the database's mirror_set generation: it
                                * moves with the mirrors and their prefixes,
                                * not with their health (probe verdicts), so
                                * the orders of ms_select_order, which leave
                                * health to the walk, hold for every set of
                                * the same order_gen */
    int count;
    ms_mirror_t **mirror;      /* ordered by id */
    int64_t max_id;            /* by_id has max_id + 1 slots, or is NULL */
    ms_mirror_t **by_id;       /* mirror by id, NULL where none */
    uint32_t *ids;             /* mirror[i]->id, side by side, so a walk over
                                * the order reads ids without touching every
                                * mirror; NULL (sets not prepared, ids
                                * beyond 32 bits): ms_select_ordered
                                * declines, ms_select answers */
    ms_prefix_entry_t *prefixes;   /* every enabled mirror's prefixes, by
                                    * position, side by side (a request
                                    * tests them all); NULL in a set not
                                    * prepared */
    int prefix_count;
} ms_mirrors_t;

/* The mirror with this id, or NULL. */
const ms_mirror_t *ms_mirrors_find(const ms_mirrors_t *ms, int64_t id);

/* Fill a set's indexes (by_id, ids, prefixes) from count and mirror[], as
 * loading does: for sets made by hand (tests). Allocates from ms->pool.
 * An order_gen of 0 becomes the generation. */
void ms_mirrors_prepare(ms_mirrors_t *ms);

typedef struct ms_file {
    int64_t id;
    const char *path;          /* normalised, origin-relative */
    int64_t size;
    int64_t mtime;             /* unix seconds */
    const char *sha256;        /* 64 lower-case hex digits, or NULL */
    const unsigned char *sha256_raw;    /* the same as 32 bytes when the file
                                         * cache had them at hand, or NULL */
    int64_t indexed;           /* unix second the index began reading it;
                                * read by ms_db_files_each only (else 0), and
                                * 0 to ms_db_file_put means "now" */
} ms_file_t;

/* What a scan saw of one file on one mirror. */
typedef struct ms_copy {
    int64_t mirror_id;
    int64_t size;
    int64_t mtime;
    int precision;             /* seconds: 1, 60 or 86400 */
    int64_t seen;              /* unix time of the scan that saw it */
} ms_copy_t;

/* The mirrors holding a file fresh (ms_copy_fresh), as ascending mirror ids
 * or as a bitmap of ids (the file cache's form): all a redirect needs of the
 * copies. */
typedef struct ms_holders {
    int count;                 /* holders (set bits, in the bitmap form) */
    const int64_t *id;         /* count ids, or NULL when given as bits: */
    const unsigned char *bits; /*   bit (id & 7) of byte id >> 3 set for a holder */
    int bits_len;              /*   bytes of bits */
} ms_holders_t;

/* The largest mirror id a holders bitmap holds (128 KiB of bits): schema
 * 003's functions refuse larger ones. The tool numbers mirrors from 1. */
#define MS_HOLDERS_MAX_ID 1048575

/* --- handles --- */

/* Open a database. Errors name the path and the reason; they are kept in
 * *err (allocated from p). A read-only or read-write open of a database whose
 * schema is older or newer than this program's is an error. */
int ms_db_open(ms_db_t **out, const char *path, int mode, apr_pool_t *p,
               const char **err);
void ms_db_close(ms_db_t *db);   /* also done by a cleanup on the open pool */

/* The message of the handle's latest failure ("path: what failed: why"). */
const char *ms_db_errmsg(const ms_db_t *db);

/* 1 when the file at the handle's path is no longer the file it opened
 * (replaced by rename, or removed): the caller should open it anew. */
int ms_db_replaced(const ms_db_t *db);

/* The identity of the database the handle reads: the file it opened
 * (device, inode and the inode's birth time or generation), so caches can
 * tell a database replaced by rename from the one before, also when the new
 * file is given an inode number an earlier database had; and the epoch read
 * with the generations (schema 006), so they can tell another database
 * written over this one in place. */
uint64_t ms_db_identity(const ms_db_t *db);

int ms_db_schema_current(void);  /* the schema version this program writes */
/* Write the database from is over db's, in place and in one transaction
 * (SQLite's backup API: readers see the old or the new), then give it a new
 * epoch. On MS_ERR db is as it was, unless only the new epoch failed. */
int ms_db_restore(ms_db_t *db, ms_db_t *from);
/* Create or migrate (MS_DB_CREATE handles only). Sets *from and *to. */
int ms_db_migrate(ms_db_t *db, int *from, int *to);

/* Process-wide settings, before the first ms_db_open (the module: once per
 * child). Optional: without it everything works, a little slower. */
void ms_db_process_init(void);

int ms_db_begin(ms_db_t *db);    /* BEGIN IMMEDIATE on writers, BEGIN on readers */
int ms_db_commit(ms_db_t *db);
void ms_db_rollback(ms_db_t *db);

/* --- mirrors --- */

/* The database's generations, in one cheap query: `mirrors` moves when
 * mirrors, prefixes or up/down states change; `data` on any change the
 * module reads (mirrors, files, copies). Kept by triggers. */
int ms_db_generation(ms_db_t *db, int64_t *mirrors, int64_t *data);
/* The same, always asking SQLite (ms_db_generation trusts a -wal that has
 * not moved since the last call). */
int ms_db_generation_now(ms_db_t *db, int64_t *mirrors, int64_t *data);

/* Paths fall in MS_DATA_BUCKETS buckets (schema 005): FNV-1a 64 of the
 * path's n bytes, modulo MS_DATA_BUCKETS. The schema fixes the function, so
 * every build of the tool and the module agrees on it. */
#define MS_DATA_BUCKETS 16384
unsigned ms_path_bucket(const char *path, size_t n);

/* Inside the caller's read transaction: the generation below which every
 * cached file is stale (*floor), and into gens (MS_DATA_BUCKETS entries) the
 * generation of each bucket whose last change came after `since` (all of
 * them for since < 0; those not listed are left as they were; gens NULL:
 * the floor alone). A file read at generation g is still true while
 * g >= *floor and g >= gens[its bucket]. */
int ms_db_data_buckets(ms_db_t *db, int64_t since, int64_t *gens, int64_t *floor);
/* The same rule for one path, as a single statement of its own: *since is
 * the larger of the floor and the path's bucket. Read after the data
 * generation D it is used with, it can only be as late or later, so an entry
 * read at g with *since <= g <= D is true at D. */
int ms_db_bucket_since(ms_db_t *db, const char *path, int64_t *since);

/* The handle's snapshot of all mirrors, loaded anew when the database's
 * generation (bumped by triggers on any change to mirrors, prefixes or
 * health) moved since the last call. Valid until the next call on db. */
int ms_db_mirrors(const ms_mirrors_t **out, ms_db_t *db);
/* The same for a mirrors generation the caller has just read. */
int ms_db_mirrors_at(const ms_mirrors_t **out, ms_db_t *db, int64_t gen);
/* All mirrors for the generation gen the caller read in the same
 * transaction, allocated from pool and owned by the caller. */
int ms_db_mirrors_load(ms_mirrors_t **out, ms_db_t *db, int64_t gen, apr_pool_t *pool);

/* One mirror by name, allocated from p; MS_NOTFOUND when there is none. */
int ms_db_mirror_get(ms_mirror_t **out, ms_db_t *db, const char *name, apr_pool_t *p);
/* Insert m (m->id is set) or update the mirror with m->id, prefixes included. */
int ms_db_mirror_insert(ms_db_t *db, ms_mirror_t *m);
int ms_db_mirror_update(ms_db_t *db, const ms_mirror_t *m);
int ms_db_mirror_remove(ms_db_t *db, int64_t id);

/* --- origin files --- */

int ms_db_file_get(ms_file_t **out, ms_db_t *db, const char *path, apr_pool_t *p);
/* Insert or update by path; sets f->id. A changed size or mtime leaves the
 * mirrors' copies as they are: they are judged against the new version. */
int ms_db_file_put(ms_db_t *db, ms_file_t *f);
int ms_db_file_remove(ms_db_t *db, int64_t id);
/* Call fn for every indexed file, in path order; fn returning non-zero stops
 * the walk and is returned. The ms_file_t passed is valid during the call. */
int ms_db_files_each(ms_db_t *db, int (*fn)(void *baton, const ms_file_t *f),
                     void *baton);
int ms_db_file_count(ms_db_t *db, int64_t *count);

/* --- mirrors' copies of files --- */

/* Every recorded copy of a file, as an array of ms_copy_t ordered by mirror id. */
int ms_db_copies(apr_array_header_t **out, ms_db_t *db, int64_t file_id, apr_pool_t *p);
/* The ids of the mirrors whose copy matches f (same size, |mtime
 * difference| < precision), ascending, from p, judged from the copies at
 * this call: the reference that test_db holds files.holders to (the
 * redirect reads the bitmap, ms_db_file_holders). */
int ms_db_fresh_holders(ms_holders_t *out, ms_db_t *db, const ms_file_t *f, apr_pool_t *p);
/* The same holders as kept for each file by schema 003's triggers
 * (files.holders), read with the file in one row: what the redirect's miss
 * path reads. *out and *holders (bitmap form, from p) as ms_db_file_get and
 * ms_db_fresh_holders give them; MS_NOTFOUND when the path is not indexed. */
int ms_db_file_holders(ms_file_t **out, ms_holders_t *holders, ms_db_t *db, const char *path,
                       apr_pool_t *p);
int ms_db_copy_put(ms_db_t *db, int64_t file_id, const ms_copy_t *c);
int ms_db_copy_remove(ms_db_t *db, int64_t mirror_id, int64_t file_id);

/* --- health --- */

int ms_db_health_put(ms_db_t *db, int64_t mirror_id, int scheme, int family,
                     const ms_health_t *h);

/* --- scans and probes (ms_scan) --- */

/* One scan of one mirror (table scan_runs). */
typedef struct ms_scan_run {
    int64_t id;
    int64_t mirror_id;
    int64_t started, finished;     /* unix seconds; finished 0 while running */
    int ok;
    int64_t files_seen;            /* origin files the mirror listed */
    int64_t fresh, stale, missing, extra;
    const char *error;             /* "" when none */
} ms_scan_run_t;

/* Record that a scan started (its own short transaction); sets r->id. */
int ms_db_scan_run_start(ms_db_t *db, ms_scan_run_t *r);
/* Record its end: ok or the error, and the counts; of the mirror's earlier
 * runs only the latest MS_SCAN_RUNS_KEPT are kept (a mirror scanned hourly
 * would otherwise add 8,760 rows a year). */
#define MS_SCAN_RUNS_KEPT 50
int ms_db_scan_run_finish(ms_db_t *db, const ms_scan_run_t *r);
/* The latest scan of a mirror, from p; MS_NOTFOUND when never scanned. */
int ms_db_scan_run_last(ms_scan_run_t **out, ms_db_t *db, int64_t mirror_id,
                        apr_pool_t *p);

/* An origin file under a scanned sub-tree, with this mirror's copy. */
typedef struct ms_scan_target {
    ms_file_t file;
    int has_copy;
    ms_copy_t copy;
} ms_scan_target_t;

/* Every origin file under prefix ("" for all; "a/b" for a/b/...), in path
 * order, with the mirror's recorded copy, as an array of ms_scan_target_t
 * from p. */
int ms_db_scan_targets(apr_array_header_t **out, ms_db_t *db, int64_t mirror_id,
                       const char *prefix, apr_pool_t *p);

/* Per-mirror settings of the scanner and prober (table mirror_scan). */
typedef struct ms_scan_conf {
    const char *ca_file;           /* NULL: the system's CAs */
    const char *ssh_key;           /* NULL: none */
    const char *known_hosts;       /* NULL: ~/.ssh/known_hosts */
    int64_t probe_file_id;         /* 0: none remembered */
} ms_scan_conf_t;

/* The mirror's settings (all NULL/0 when it has none), from p. */
int ms_db_scan_conf_get(ms_scan_conf_t **out, ms_db_t *db, int64_t mirror_id,
                        apr_pool_t *p);
/* Store ca_file, ssh_key and known_hosts (NULL or "" clears one); the
 * remembered probe file is kept. */
int ms_db_scan_conf_put(ms_db_t *db, int64_t mirror_id, const ms_scan_conf_t *c);
/* Remember the file the prober should request (0 forgets it). */
int ms_db_probe_file_set(ms_db_t *db, int64_t mirror_id, int64_t file_id);
/* The file to probe the mirror with: the remembered one while the mirror
 * still holds it fresh, else the smallest non-empty file it holds fresh.
 * MS_NOTFOUND when it holds none. */
int ms_db_probe_file(ms_file_t **out, ms_db_t *db, int64_t mirror_id, apr_pool_t *p);
/* How many mirrors are enabled, and when the latest probe of any of them
 * was made (unix time; 0 when none of them was ever probed). */
int ms_db_probes_latest(ms_db_t *db, int *enabled, int64_t *latest);

#endif
