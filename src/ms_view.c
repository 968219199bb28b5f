/* ms_view.c — the process's current view of the database (see ms_view.h).
 *
 * Why a request may trust the snapshot: the watcher marks itself busy
 * (checking = 1) before it consumes inotify events, and clears the mark only
 * after it has published what it read. A request looks, in this order, at the
 * events not yet consumed (FIONREAD), at the mark, and at the snapshot. An
 * event queued before the request began is therefore either still unread
 * (the request sees it and asks the database), being handled (it sees the
 * mark), or handled (it sees the snapshot published for it). Every commit
 * writes the -wal, and every replacement renames over the file, both in the
 * watched directory, so each queues an event before its writer returns.
 *
 * Snapshots are referenced by the requests using them; a replaced one is
 * freed by the watcher once nobody holds it and no request can still be
 * about to take it. A request counts itself in v->acquiring from before it
 * reads the pointer until it has incremented the snapshot's count; once the
 * watcher has seen that counter at zero after the swap (every operation
 * here is sequentially consistent), whoever read the old pointer has
 * counted itself in it, and a zero count then stays zero. So a replaced
 * snapshot lives for as long as a request holds it plus one turn of the
 * watcher, however fast changes come: a script registering 500 mirrors
 * one command at a time leaves no trail of 500 copies of the mirror table
 * (a fixed grace of 10 s, as before, kept every one of them that long). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "ms_view.h"

#define MS_VIEW_RECHECK_MS  1000   /* read the generations at least this often */
#define MS_VIEW_SETTLE_MS   5      /* after a check, before the next one */
#define MS_VIEW_PROBES_S    10     /* read the latest probe's time this often */

#define LOAD(x)      __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v)  __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

struct ms_view {
    const char *path;
    const char *dir;
    int ifd;                        /* inotify, non-blocking */
    int watch_errno;                /* why the last inotify_add_watch failed */
    int wd;                         /* the directory's watch; -1: none */
    int stopfd;                     /* eventfd: the watcher's stop signal */
    apr_thread_t *thread;
    ms_snap_t *cur;                 /* atomic; NULL: ask the database */
    apr_uint32_t checking;          /* atomic; 1 while events are handled */
    uint64_t published, pending;    /* atomic counters */
    apr_uint32_t retained;          /* atomic: replaced, not yet freed */
    /* atomic: ms_view_probes' answer; probes_known 0 until first read */
    int64_t probes_latest;
    apr_uint32_t probes_enabled, probes_known;
    /* the watcher's own */
    time_t probes_read;             /* when the above were read */
    ms_snap_t *retired;
    apr_pool_t *db_pool;
    ms_db_t *db;
    /* atomic: requests between reading cur and counting themselves in it;
     * a cache line away from cur, which every request reads and few write */
    char pad[64];
    apr_uint32_t acquiring;
};

/* --- snapshots --- */

static void snap_free(ms_snap_t *s)
{
    if (s)
        apr_pool_destroy(s->pool);
}

/* Make s (NULL: none, requests ask the database) the current snapshot. */
static void swap_in(ms_view_t *v, ms_snap_t *s)
{
    ms_snap_t *old = __atomic_exchange_n(&v->cur, s, __ATOMIC_SEQ_CST);

    if (s)
        __atomic_add_fetch(&v->published, 1, __ATOMIC_RELAXED);
    if (!old)
        return;
    old->retired = 1;
    old->next = v->retired;
    v->retired = old;
    __atomic_add_fetch(&v->retained, 1, __ATOMIC_RELAXED);
}

/* The same, and with no snapshot (no usable database) no probe times
 * either. */
static void publish(ms_view_t *v, ms_snap_t *s)
{
    if (!s) {
        STORE(v->probes_known, 0);
        v->probes_read = 0;
    }
    swap_in(v, s);
}

/* Free the retired snapshots nobody holds any more and nobody can still take
 * (all: at the end, when no request runs). A snapshot retired before this
 * call is quiet once v->acquiring is seen at zero; one seen busy waits for
 * a later call. */
static void reclaim(ms_view_t *v, int all)
{
    ms_snap_t **pp = &v->retired, *s;
    int quiet = all || LOAD(v->acquiring) == 0;

    while ((s = *pp) != NULL) {
        if (quiet)
            s->retired = 2;
        if (all || (s->retired == 2 && LOAD(s->refs) == 0)) {
            *pp = s->next;
            snap_free(s);
            __atomic_sub_fetch(&v->retained, 1, __ATOMIC_RELAXED);
        }
        else
            pp = &s->next;
    }
}

/* --- the watcher's database handle --- */

static void db_close(ms_view_t *v)
{
    if (v->db_pool)
        apr_pool_destroy(v->db_pool);
    v->db_pool = NULL;
    v->db = NULL;
}

static int db_ready(ms_view_t *v)
{
    if (v->db && !ms_db_replaced(v->db))
        return 0;
    db_close(v);
    if (apr_pool_create_unmanaged_ex(&v->db_pool, NULL, NULL) != APR_SUCCESS) {
        v->db_pool = NULL;
        return -1;
    }
    if (ms_db_open(&v->db, v->path, MS_DB_READONLY, v->db_pool, NULL) != MS_OK) {
        db_close(v);
        return -1;
    }
    return 0;
}

/* The buckets of one data generation, shared by its snapshots: a probe
 * verdict makes a new snapshot (the mirrors) but leaves the buckets as they
 * were. Only the watcher makes and frees snapshots, so the count needs no
 * atomics. The array is a mapping of its own, given back to the system with
 * the last snapshot: 128 KB from malloc for each data generation left the
 * heap fragmented, and the children's private memory grew. */
typedef struct ms_view_buckets {
    int64_t *gens;
    unsigned refs;
} ms_view_buckets_t;

#define BUCKETS_BYTES (MS_DATA_BUCKETS * sizeof(int64_t))

static apr_status_t buckets_release(void *data)
{
    ms_view_buckets_t *b = data;

    if (--b->refs == 0) {
        munmap(b->gens, BUCKETS_BYTES);
        free(b);
    }
    return APR_SUCCESS;
}

/* s takes b, until its pool goes. */
static void buckets_share(ms_snap_t *s, ms_view_buckets_t *b)
{
    b->refs++;
    s->shared = b;
    s->data.buckets = b->gens;
    apr_pool_cleanup_register(s->pool, b, buckets_release, apr_pool_cleanup_null);
}

/* New buckets for s, zeroed; NULL when there is no memory. */
static int64_t *buckets_new(ms_snap_t *s)
{
    ms_view_buckets_t *b = calloc(1, sizeof(*b));
    void *mem;

    if (!b)
        return NULL;
    mem = mmap(NULL, BUCKETS_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
               -1, 0);
    if (mem == MAP_FAILED) {
        free(b);
        return NULL;
    }
    b->gens = mem;
    buckets_share(s, b);
    return b->gens;
}

/* The buckets' generations at data_gen into s: the current snapshot cur's,
 * when it is of the same file at the same floor, shared when only the
 * mirrors changed, else copied with what changed since it was read; else
 * all of them, read anew. (A file rewritten in place, keeping its inode,
 * whose generation went back reads them all too; README asks for a
 * rename.) */
static int buckets_read(ms_view_t *v, ms_snap_t *s, const ms_snap_t *cur, int64_t data_gen)
{
    int64_t *gens, floor;

    if (cur && cur->shared && cur->data.ident == s->data.ident
        && cur->data.data_gen <= data_gen) {
        if (cur->data.data_gen == data_gen) {
            if (ms_db_data_buckets(v->db, data_gen, NULL, &floor) != MS_OK)
                return MS_ERR;
            if (floor == cur->data.data_floor) {
                s->data.data_floor = floor;
                buckets_share(s, cur->shared);
                return MS_OK;
            }
        }
        else {
            if (!(gens = buckets_new(s)))
                return MS_ERR;
            memcpy(gens, cur->data.buckets, BUCKETS_BYTES);
            if (ms_db_data_buckets(v->db, cur->data.data_gen, gens, &s->data.data_floor)
                != MS_OK)
                return MS_ERR;
            if (s->data.data_floor == cur->data.data_floor)
                return MS_OK;
            memset(gens, 0, BUCKETS_BYTES);      /* the floor moved: all of them */
            return ms_db_data_buckets(v->db, -1, gens, &s->data.data_floor);
        }
    }
    if (!(gens = buckets_new(s)))
        return MS_ERR;
    return ms_db_data_buckets(v->db, -1, gens, &s->data.data_floor);
}

/* A new snapshot of what the handle's open transaction sees, or NULL. */
static ms_snap_t *snap_read(ms_view_t *v, const ms_snap_t *cur, int64_t mirrors_gen,
                            int64_t data_gen)
{
    apr_pool_t *pool;
    ms_mirrors_t *ms;
    ms_snap_t *s;

    if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS)
        return NULL;
    apr_pool_tag(pool, "mirrorsel-view");
    if (ms_db_mirrors_load(&ms, v->db, mirrors_gen, pool) != MS_OK) {
        apr_pool_destroy(pool);
        return NULL;
    }
    s = apr_pcalloc(pool, sizeof(*s));
    s->pool = pool;
    s->data.ident = ms_db_identity(v->db);
    s->data.data_gen = data_gen;
    s->data.mirrors = ms;
    if (buckets_read(v, s, cur, data_gen) != MS_OK) {
        apr_pool_destroy(pool);
        return NULL;
    }
    return s;
}

/* The latest probe's time, inside refresh's transaction: every
 * MS_VIEW_PROBES_S, or now (force) when the mirrors (or the database)
 * changed. A probe that finds a mirror as it was moves no generation, so
 * the snapshot does not tell how recent the probes are. */
static int probes_due(const ms_view_t *v, time_t now)
{
    return !v->probes_read || now < v->probes_read || now - v->probes_read >= MS_VIEW_PROBES_S;
}

static void read_probes(ms_view_t *v, int force)
{
    time_t now = time(NULL);
    int64_t latest;
    int enabled;

    if (!force && !probes_due(v, now))
        return;
    if (ms_db_probes_latest(v->db, &enabled, &latest) != MS_OK)
        return;
    STORE(v->probes_latest, latest);
    STORE(v->probes_enabled, (apr_uint32_t)enabled);
    STORE(v->probes_known, 1);
    v->probes_read = now;
}

/* Read the generations; publish a new snapshot when they (or the file)
 * changed, none when the database is unusable. */
static void refresh(ms_view_t *v)
{
    const ms_snap_t *cur = LOAD(v->cur);
    int64_t mirrors_gen, data_gen;
    ms_snap_t *s;

    if (v->wd < 0) {
        v->wd = inotify_add_watch(v->ifd, v->dir, IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE
                                  | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB
                                  | IN_DELETE_SELF | IN_MOVE_SELF);
        v->watch_errno = v->wd < 0 ? errno : 0;
    }
    if (db_ready(v) != 0) {
        publish(v, NULL);           /* unusable: ask the database */
        return;
    }
    if (v->wd < 0) {                /* unwatched: ask the database, but the */
        swap_in(v, NULL);           /* latest probe is still read here */
        if (probes_due(v, time(NULL)) && ms_db_begin(v->db) == MS_OK) {
            read_probes(v, 1);
            ms_db_rollback(v->db);
        }
        return;
    }
    if (ms_db_begin(v->db) != MS_OK
        || ms_db_generation_now(v->db, &mirrors_gen, &data_gen) != MS_OK) {
        ms_db_rollback(v->db);
        db_close(v);
        publish(v, NULL);
        return;
    }
    if (cur && cur->data.ident == ms_db_identity(v->db) && cur->data.data_gen == data_gen
        && cur->data.mirrors->generation == mirrors_gen) {
        read_probes(v, 0);
        ms_db_rollback(v->db);
        return;
    }
    read_probes(v, !cur || cur->data.ident != ms_db_identity(v->db)
                   || cur->data.mirrors->generation != mirrors_gen);
    s = snap_read(v, cur, mirrors_gen, data_gen);
    ms_db_rollback(v->db);
    if (!s)
        db_close(v);
    publish(v, s);
}

/* Consume every queued event. A watch that ended (the directory removed or
 * moved away) is added again by the next refresh. */
static void drain(ms_view_t *v)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    while ((n = read(v->ifd, buf, sizeof(buf))) > 0) {
        char *p = buf;

        while (p < buf + n) {
            const struct inotify_event *ev = (const struct inotify_event *)p;

            if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
                if (v->wd >= 0 && !(ev->mask & IN_IGNORED))
                    inotify_rm_watch(v->ifd, v->wd);
                v->wd = -1;
            }
            p += sizeof(*ev) + ev->len;
        }
    }
}

/* 1 when the stop signal came within ms milliseconds. */
static int wait_stop(ms_view_t *v, int ms)
{
    struct pollfd pfd = { v->stopfd, POLLIN, 0 };

    return poll(&pfd, 1, ms) > 0;
}

static void *APR_THREAD_FUNC watch(apr_thread_t *t, void *data)
{
    ms_view_t *v = data;

    for (;;) {
        struct pollfd pfd[2] = { { v->ifd, POLLIN, 0 }, { v->stopfd, POLLIN, 0 } };
        int n = poll(pfd, 2, MS_VIEW_RECHECK_MS);

        if (n < 0 && errno != EINTR) {
            if (wait_stop(v, MS_VIEW_RECHECK_MS))
                break;
            continue;
        }
        if (pfd[1].revents)
            break;
        if (n > 0 && pfd[0].revents) {
            STORE(v->checking, 1);
            drain(v);
            refresh(v);
            STORE(v->checking, 0);
            /* A long write (a scan) writes the -wal many times: look again
             * only after a pause. Requests meanwhile see the events pending
             * and ask the database themselves. */
            if (wait_stop(v, MS_VIEW_SETTLE_MS))
                break;
        }
        else
            refresh(v);
        reclaim(v, 0);
    }
    /* A plain return, not apr_thread_exit: pthread_exit would unwind past
     * frames AddressSanitizer still counts as live, and it then reports its
     * own thread teardown. The thread's pool goes with p. */
    return NULL;
}

/* --- the view --- */

static apr_status_t view_stop(void *data)
{
    ms_view_t *v = data;
    apr_status_t rv;
    uint64_t one = 1;

    if (v->thread) {
        if (write(v->stopfd, &one, sizeof(one)) == (ssize_t)sizeof(one))
            apr_thread_join(&rv, v->thread);
        v->thread = NULL;
    }
    publish(v, NULL);
    reclaim(v, 1);
    db_close(v);
    if (v->ifd >= 0)
        close(v->ifd);
    if (v->stopfd >= 0)
        close(v->stopfd);
    v->ifd = v->stopfd = -1;
    return APR_SUCCESS;
}

int ms_view_start(ms_view_t **out, const char *path, apr_pool_t *p, const char **err)
{
    ms_view_t *v = apr_pcalloc(p, sizeof(*v));
    char *slash;

    *out = NULL;
    v->path = apr_pstrdup(p, path);
    v->dir = apr_pstrdup(p, path);
    slash = strrchr((char *)v->dir, '/');
    if (!slash)
        v->dir = ".";
    else if (slash == v->dir)
        v->dir = "/";
    else
        *slash = '\0';
    v->wd = -1;
    v->stopfd = -1;
    if ((v->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0
        || (v->stopfd = eventfd(0, EFD_CLOEXEC)) < 0) {
        *err = apr_psprintf(p, "inotify: %s", strerror(errno));
        if (v->ifd >= 0)
            close(v->ifd);
        return -1;
    }
    apr_pool_pre_cleanup_register(p, v, view_stop);
    refresh(v);                     /* the first snapshot, before any request */
    *err = v->wd < 0 ? apr_psprintf(p, "inotify_add_watch %s: %s", v->dir,
                                    strerror(v->watch_errno)) : NULL;
    if (apr_thread_create(&v->thread, NULL, watch, v, p) != APR_SUCCESS) {
        v->thread = NULL;
        *err = "cannot start the watcher thread";
        return -1;                  /* the cleanup closes what is open */
    }
    *out = v;
    return 0;
}

ms_snap_t *ms_view_acquire(ms_view_t *v)
{
    ms_snap_t *s;
    int queued = 0;

    if (ioctl(v->ifd, FIONREAD, &queued) != 0 || queued > 0 || LOAD(v->checking)) {
        __atomic_add_fetch(&v->pending, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    __atomic_add_fetch(&v->acquiring, 1, __ATOMIC_SEQ_CST);
    if ((s = LOAD(v->cur)) != NULL)
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_SEQ_CST);
    __atomic_sub_fetch(&v->acquiring, 1, __ATOMIC_SEQ_CST);
    return s;
}

void ms_view_release(ms_view_t *v, ms_snap_t *s)
{
    if (s)
        __atomic_sub_fetch(&s->refs, 1, __ATOMIC_SEQ_CST);
}

int ms_view_probes(ms_view_t *v, int *enabled, int64_t *latest)
{
    if (!LOAD(v->probes_known))
        return -1;
    *enabled = (int)LOAD(v->probes_enabled);
    *latest = LOAD(v->probes_latest);
    return 0;
}

unsigned ms_view_retained(ms_view_t *v)
{
    return __atomic_load_n(&v->retained, __ATOMIC_RELAXED);
}

void ms_view_stats(ms_view_t *v, uint64_t *published, uint64_t *pending)
{
    *published = __atomic_load_n(&v->published, __ATOMIC_RELAXED);
    *pending = __atomic_load_n(&v->pending, __ATOMIC_RELAXED);
}
