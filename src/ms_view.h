/* ms_view.h — a process's current view of the database, so that a
 * redirect answered from the per-process caches needs no database handle,
 * no lock held across the request and no system call but one ioctl.
 *
 * A watcher thread keeps the view: it reads the database's generations and
 * its mirrors into a snapshot, and reads them again whenever the database's
 * directory changes (inotify: a commit writes the -wal, a replacement renames
 * over the file) and at least once a second. A request takes the current
 * snapshot only while no change is waiting to be read (ms_view_acquire);
 * otherwise it returns NULL and the request asks the database itself, so a
 * change committed before a request arrived is always seen by it. */
#ifndef MS_VIEW_H
#define MS_VIEW_H

#include <stdint.h>
#include <apr_pools.h>
#include <apr_atomic.h>
#include "ms_db.h"

typedef struct ms_snap ms_snap_t;

typedef struct ms_view_data {
    uint64_t ident;                 /* ms_db_identity of the file read */
    int64_t data_gen;               /* the data generation it was read at */
    const ms_mirrors_t *mirrors;    /* every mirror at that generation */
    /* A cached file read at generation g is true at data_gen when
     * g >= data_floor and g >= buckets[ms_path_bucket(its path)]
     * (MS_DATA_BUCKETS entries; ms_db_data_buckets). */
    int64_t data_floor;
    const int64_t *buckets;
} ms_view_data_t;

struct ms_snap {
    ms_view_data_t data;
    /* private to ms_view.c */
    apr_pool_t *pool;
    volatile apr_uint32_t refs;
    int retired;                    /* 0 while current, 1 replaced, 2 and
                                     * no request can still take it */
    ms_snap_t *next;                /* on the retired list */
    struct ms_view_buckets *shared; /* data.buckets, shared by the snapshots
                                     * of one data generation */
};

typedef struct ms_view ms_view_t;

/* Start watching the database at path (which need not exist yet). Returns
 * 0, or -1 with *err set when the process cannot watch (no inotify, no
 * thread): callers then ask the database on every request. On 0, *err is
 * NULL, or says why the database's directory is not watched yet (say, it
 * cannot be read): until the watcher, retrying each second, manages to,
 * ms_view_acquire gives NULL. The watcher stops, and every snapshot is
 * freed, when p is cleared. */
int ms_view_start(ms_view_t **out, const char *path, apr_pool_t *p, const char **err);

/* The current snapshot, referenced until ms_view_release; NULL when a change
 * is waiting to be read or there is no usable database (ask the database).
 * Thread-safe, lock-free. */
ms_snap_t *ms_view_acquire(ms_view_t *v);
void ms_view_release(ms_view_t *v, ms_snap_t *s);

/* Counters for the log at child exit: snapshots published, requests that
 * found a change pending (and asked the database). */
void ms_view_stats(ms_view_t *v, uint64_t *published, uint64_t *pending);

/* How many mirrors are enabled and when the latest probe of any of them was
 * made (unix time, 0: never), as the watcher read them at most
 * MS_VIEW_PROBES_S (10 s) ago or when the mirrors last changed. -1 before the
 * watcher first read them. */
int ms_view_probes(ms_view_t *v, int *enabled, int64_t *latest);

/* How many replaced snapshots are not freed yet: those a request still
 * holds, and those replaced since the watcher's last turn. */
unsigned ms_view_retained(ms_view_t *v);

#endif
