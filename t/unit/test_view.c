/* test_view.c — the watched view of the database (ms_view.c): it reads the
 * mirrors and generations at start; after any commit a request taking the
 * view at once gets either nothing (ask the database) or a snapshot of that
 * commit, never an older one, however soon it asks; it follows a database
 * replaced by rename and one that disappears; a replaced snapshot is freed
 * as soon as no request holds it, however many commits come, and not
 * before; stopping it frees everything (the suite runs under ASan too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <sqlite3.h>
#include "tap.h"
#include "ms_db.h"
#include "ms_view.h"

static char dir[] = "/tmp/ms-test-view-XXXXXX";

static ms_db_t *create(const char *path, apr_pool_t *p)
{
    ms_db_t *db;
    int from, to;

    if (ms_db_open(&db, path, MS_DB_CREATE, p, NULL) != MS_OK
        || ms_db_migrate(db, &from, &to) != MS_OK)
        bail_out("cannot create %s", path);
    return db;
}

static int64_t data_gen(ms_db_t *db)
{
    int64_t m, d;

    if (ms_db_generation_now(db, &m, &d) != MS_OK)
        bail_out("generation: %s", ms_db_errmsg(db));
    return d;
}

/* One committed change: a file indexed anew. */
static void commit_change(ms_db_t *db, int i)
{
    ms_file_t f = { 0, "pub/x.iso", 1000 + i, 1700000000, NULL, NULL, 0 };

    if (ms_db_begin(db) != MS_OK || ms_db_file_put(db, &f) != MS_OK || ms_db_commit(db) != MS_OK)
        bail_out("commit: %s", ms_db_errmsg(db));
}

/* Requests on threads of their own, as the event MPM's workers: each takes
 * the view, reads through the snapshot and gives it back, until told to
 * stop, while commits replace snapshots under them. A snapshot freed while
 * taken is a use after free (the suite runs under ASan too); one older than
 * a snapshot the same thread already had means the view went back. (The
 * window between reading the pointer and counting in is nanoseconds wide:
 * ms_view.c argues why it is safe; this loop cannot force a thread to stop
 * inside it. Built with -fsanitize=thread, the loop shows no data race.) */
typedef struct reader {
    ms_view_t *v;
    int *stop;                 /* atomic */
    long taken, went_back;
} reader_t;

static void *APR_THREAD_FUNC read_loop(apr_thread_t *t, void *data)
{
    reader_t *r = data;
    int64_t last = 0;

    (void)t;
    while (!__atomic_load_n(r->stop, __ATOMIC_RELAXED)) {
        ms_snap_t *s = ms_view_acquire(r->v);

        if (s) {
            volatile int n = s->data.mirrors ? s->data.mirrors->count : 0;

            (void)n;
            if (s->data.data_gen < last)
                r->went_back++;
            last = s->data.data_gen;
            r->taken++;
        }
        ms_view_release(r->v, s);
    }
    return NULL;
}

/* Wait up to 2 s for the view to hold generation gen. */
static ms_snap_t *settled(ms_view_t *v, int64_t gen)
{
    int i;

    for (i = 0; i < 400; i++) {
        ms_snap_t *s = ms_view_acquire(v);

        if (s && s->data.data_gen == gen)
            return s;
        ms_view_release(v, s);
        usleep(5000);
    }
    return NULL;
}

/* Wait up to 2 s for the view to hold count mirrors. */
static ms_snap_t *with_mirrors(ms_view_t *v, int count)
{
    int i;

    for (i = 0; i < 400; i++) {
        ms_snap_t *s = ms_view_acquire(v);

        if (s && s->data.mirrors->count == count)
            return s;
        ms_view_release(v, s);
        usleep(5000);
    }
    return NULL;
}

/* One committed change of the mirrors alone: a mirror added; its id. */
static int64_t add_mirror(ms_db_t *db, const char *name, apr_pool_t *p)
{
    ms_mirror_t m;

    memset(&m, 0, sizeof(m));
    m.name = name;
    m.http_url = apr_psprintf(p, "http://%s.example.org/pub/", name);
    m.scan_url = m.http_url;
    m.weight = 100;
    m.enabled = 1;
    if (ms_db_begin(db) != MS_OK || ms_db_mirror_insert(db, &m) != MS_OK
        || ms_db_commit(db) != MS_OK)
        bail_out("mirror: %s", ms_db_errmsg(db));
    return m.id;
}

int main(void)
{
    apr_pool_t *p, *vp;
    ms_view_t *v;
    ms_db_t *db;
    ms_snap_t *s;
    const char *err = NULL, *path, *other;
    int i, stale = 0, fresh = 0, asked = 0;
    int64_t gen0;
    uint64_t published, pending;

    apr_initialize();
    apr_pool_create(&p, NULL);
    if (!mkdtemp(dir))
        bail_out("mkdtemp");
    path = apr_pstrcat(p, dir, "/mirrorsel.db", NULL);
    other = apr_pstrcat(p, dir, "/other.db", NULL);
    db = create(path, p);
    gen0 = data_gen(db);
    ms_db_close(db);             /* the last connection: the -wal is gone */

    apr_pool_create(&vp, p);
    ok(ms_view_start(&v, path, vp, &err) == 0, "the view starts%s%s", err ? ": " : "",
       err ? err : "");
    s = settled(v, gen0);
    ok(s && s->data.mirrors && s->data.mirrors->count == 0, "a snapshot of the database as it is");
    ms_view_release(v, s);

    /* Replaced by rename, as the tool's users do it: the new file written
     * elsewhere, closed, and renamed over the old one. (Not while a writer
     * has commits in the old file's -wal: SQLite would read them over the
     * new file; see README.) */
    {
        ms_db_t *db2 = create(other, p);

        add_mirror(db2, "newcomer", p);
        ms_db_close(db2);
        if (rename(other, path) != 0)
            bail_out("rename");
        s = with_mirrors(v, 1);
        ok(s && !strcmp(s->data.mirrors->mirror[0]->name, "newcomer"),
           "a database replaced by rename: the new one's mirrors");
        ms_view_release(v, s);
    }

    /* The race the view is built for: a commit, then at once a request. */
    if (ms_db_open(&db, path, MS_DB_READWRITE, p, NULL) != MS_OK)
        bail_out("cannot open %s", path);
    for (i = 0; i < 300; i++) {
        int64_t gen;

        commit_change(db, i);
        gen = data_gen(db);
        s = ms_view_acquire(v);
        if (!s)
            asked++;
        else if (s->data.data_gen == gen)
            fresh++;
        else
            stale++;
        ms_view_release(v, s);
        if (i % 3 == 0)
            usleep(2000);        /* now and then give the watcher time */
    }
    is_int(stale, 0, "300 commits, each followed at once by a request: never an older "
           "snapshot (%d asked the database, %d had the new one)", asked, fresh);
    s = settled(v, data_gen(db));
    ok(s && s->data.ident == ms_db_identity(db), "the view catches up with the last commit");
    ms_view_release(v, s);

    /* The buckets (schema 005), read anew only where they moved: after
     * commits to other paths, seen one at a time, the same as read whole. */
    {
        int64_t *whole = apr_pcalloc(p, MS_DATA_BUCKETS * sizeof(*whole)), floor = -1;

        for (i = 0; i < 20; i++) {
            ms_file_t f = { 0, apr_psprintf(p, "pub/y%d.iso", i), 10 + i, 1700000000,
                            NULL, NULL, 0 };

            if (ms_db_begin(db) != MS_OK || ms_db_file_put(db, &f) != MS_OK
                || ms_db_commit(db) != MS_OK)
                bail_out("commit: %s", ms_db_errmsg(db));
            usleep(8000);
        }
        s = settled(v, data_gen(db));
        if (ms_db_data_buckets(db, -1, whole, &floor) != MS_OK)
            bail_out("buckets: %s", ms_db_errmsg(db));
        ok(s && s->data.buckets && s->data.data_floor == floor
           && !memcmp(s->data.buckets, whole, MS_DATA_BUCKETS * sizeof(*whole)),
           "the snapshot's buckets, kept up commit by commit, are the database's");
        ok(s && s->data.buckets[ms_path_bucket("pub/y19.iso", 11)] == s->data.data_gen,
           "the last path written has the snapshot's generation");

        /* A change of the mirrors alone (a probe verdict, here a mirror
         * added): a new snapshot, the same buckets, not a copy of them. */
        {
            const int64_t *before = s ? s->data.buckets : NULL;
            int count = s ? s->data.mirrors->count : -1;
            int64_t id;

            ms_view_release(v, s);
            id = add_mirror(db, "probed", p);
            s = with_mirrors(v, count + 1);
            ok(s && before && s->data.buckets == before,
               "a change of the mirrors alone shares the buckets of the snapshot before");
            ms_view_release(v, s);
            if (ms_db_begin(db) != MS_OK || ms_db_mirror_remove(db, id) != MS_OK
                || ms_db_commit(db) != MS_OK)
                bail_out("mirror: %s", ms_db_errmsg(db));
            s = with_mirrors(v, count);                /* as it was, for what follows */
        }
    }

    /* Memory: a request holding a snapshot (s) through 50 more commits keeps
     * that one alive; every other replaced snapshot is freed within a turn
     * of the watcher (up to a second), not kept for a grace period: a
     * script of many small commits must not pile up copies of the mirrors. */
    {
        ms_snap_t *held = s, *last;
        unsigned retained = 0;

        for (i = 0; i < 50; i++) {
            commit_change(db, 1000 + i);
            usleep(8000);        /* each commit seen apart: a snapshot each */
        }
        last = settled(v, data_gen(db));
        ms_view_release(v, last);
        for (i = 0; i < 300 && (retained = ms_view_retained(v)) > 1; i++)
            usleep(10000);
        is_int(retained, 1, "after 50 commits, only the snapshot a request holds is kept");
        ok(held->data.mirrors && held->data.mirrors->count == 1
           && !strcmp(held->data.mirrors->mirror[0]->name, "newcomer"),
           "and it is whole while held");
        ms_view_release(v, held);
        for (i = 0; i < 300 && (retained = ms_view_retained(v)) > 0; i++)
            usleep(10000);
        is_int(retained, 0, "released: freed too");
    }

    /* Four request threads against 200 commits: snapshots are replaced and
     * freed under them as fast as the watcher goes. */
    {
        enum { READERS = 4 };
        apr_thread_t *th[READERS];
        reader_t rd[READERS];
        int stop = 0;
        long taken = 0, went_back = 0;
        apr_status_t rv;
        unsigned retained = 0;

        for (i = 0; i < READERS; i++) {
            rd[i].v = v;
            rd[i].stop = &stop;
            rd[i].taken = rd[i].went_back = 0;
            if (apr_thread_create(&th[i], NULL, read_loop, &rd[i], p) != APR_SUCCESS)
                bail_out("thread");
        }
        for (i = 0; i < 200; i++) {
            commit_change(db, 2000 + i);
            if (i % 4 == 0)
                usleep(3000);
        }
        usleep(200000);
        __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
        for (i = 0; i < READERS; i++) {
            apr_thread_join(&rv, th[i]);
            taken += rd[i].taken;
            went_back += rd[i].went_back;
        }
        ok(taken > 0 && went_back == 0, "4 request threads through 200 commits: %ld snapshots "
           "taken, none older than one taken before", taken);
        for (i = 0; i < 300 && (retained = ms_view_retained(v)) > 0; i++)
            usleep(10000);
        is_int(retained, 0, "and every replaced snapshot freed once they stopped");
    }
    gen0 = data_gen(db);
    ms_db_close(db);

    /* Replaced by another file whose generation is higher and whose buckets
     * moved elsewhere: the view reads its buckets whole, not as changes
     * since the old file's generation. */
    {
        int64_t *whole = apr_pcalloc(p, MS_DATA_BUCKETS * sizeof(*whole)), floor = -1, g;
        ms_db_t *db2 = create(other, p);

        for (i = 0; data_gen(db2) <= gen0 + 10; i++) {
            ms_file_t f = { 0, apr_psprintf(p, "pub/z%d.iso", i % 7), 10 + i, 1700000000,
                            NULL, NULL, 0 };

            if (ms_db_begin(db2) != MS_OK || ms_db_file_put(db2, &f) != MS_OK
                || ms_db_commit(db2) != MS_OK)
                bail_out("commit: %s", ms_db_errmsg(db2));
        }
        g = data_gen(db2);
        if (ms_db_data_buckets(db2, -1, whole, &floor) != MS_OK)
            bail_out("buckets: %s", ms_db_errmsg(db2));
        ms_db_close(db2);
        /* As README asks: the old file's -wal emptied first (the watcher's
         * handle keeps it), or SQLite would read it over the new file. */
        {
            sqlite3 *raw;

            if (sqlite3_open(path, &raw) != SQLITE_OK
                || sqlite3_exec(raw, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
                                NULL) != SQLITE_OK)
                bail_out("checkpoint: %s", sqlite3_errmsg(raw));
            sqlite3_close(raw);
        }
        if (rename(other, path) != 0)
            bail_out("rename");
        s = settled(v, g);
        if (!s)
            diag("no snapshot at generation %lld", (long long)g);
        else if (s->data.data_floor != floor)
            diag("floor %lld, not %lld", (long long)s->data.data_floor, (long long)floor);
        else
            for (i = 0; i < MS_DATA_BUCKETS; i++)
                if (s->data.buckets[i] != whole[i]) {
                    diag("first difference: bucket %d at %lld, not %lld", i,
                         (long long)s->data.buckets[i], (long long)whole[i]);
                    break;
                }
        ok(s && s->data.data_floor == floor
           && !memcmp(s->data.buckets, whole, MS_DATA_BUCKETS * sizeof(*whole)),
           "a database replaced by one at a higher generation: its own buckets, whole");
        ms_view_release(v, s);
    }

    /* The latest probe (MirrorSelProbeWarnAge): read again when the
     * mirrors change, and every MS_VIEW_PROBES_S (10 s) otherwise, since a
     * probe that finds a mirror as it was moves no generation. */
    {
        ms_db_t *rw;
        ms_health_t h = { 1, 1, 1700000000, 5, 0, 200, "" };
        int64_t id, latest = -1, mg, dg, mg2 = -1, dg2;
        int enabled = -1, before = -1;

        if (ms_db_open(&rw, path, MS_DB_READWRITE, p, NULL) != MS_OK)
            bail_out("open: %s", path);
        for (i = 0; i < 400 && ms_view_probes(v, &before, &latest) != 0; i++)
            usleep(5000);
        id = add_mirror(rw, "probed", p);
        for (i = 0; i < 400; i++) {
            if (ms_view_probes(v, &enabled, &latest) == 0 && enabled == before + 1)
                break;
            usleep(5000);
        }
        ok(enabled == before + 1 && latest == 0,
           "a mirror added: %d enabled, none probed (latest %lld)", enabled, (long long)latest);
        if (ms_db_begin(rw) != MS_OK || ms_db_health_put(rw, id, MS_HTTP, 4, &h) != MS_OK
            || ms_db_commit(rw) != MS_OK)
            bail_out("health: %s", ms_db_errmsg(rw));
        for (i = 0; i < 400 && !(ms_view_probes(v, &enabled, &latest) == 0
                                 && latest == h.checked); i++)
            usleep(5000);
        is_int(latest, h.checked, "its first probe (a new verdict) is seen at once");
        ms_db_generation_now(rw, &mg, &dg);
        h.checked += 100;
        if (ms_db_begin(rw) != MS_OK || ms_db_health_put(rw, id, MS_HTTP, 4, &h) != MS_OK
            || ms_db_commit(rw) != MS_OK)
            bail_out("health: %s", ms_db_errmsg(rw));
        ms_db_generation_now(rw, &mg2, &dg2);
        ok(mg2 == mg, "a probe that finds it up again moves no generation");
        for (i = 0; i < 1400 && !(ms_view_probes(v, &enabled, &latest) == 0
                                  && latest == h.checked); i++)
            usleep(10000);
        ok(latest == h.checked && i > 0, "and is seen by the watcher's own reading, "
           "%.1f s later (every 10 s)", i / 100.0);
        ms_db_close(rw);
    }

    /* Gone: no snapshot, requests ask the database (and serve locally). */
    unlink(path);
    for (i = 0; i < 400 && (s = ms_view_acquire(v)) != NULL; i++) {
        ms_view_release(v, s);
        usleep(5000);
    }
    ok(s == NULL, "a removed database: no snapshot");
    {
        int enabled, known = 1;
        int64_t latest;

        for (i = 0; i < 400 && (known = ms_view_probes(v, &enabled, &latest) == 0); i++)
            usleep(5000);
        ok(!known,
           "and no probe times (MirrorSelProbeWarnAge says nothing of a database it lacks)");
    }

    ms_view_stats(v, &published, &pending);
    ok(published >= 2, "snapshots published: %llu; requests that found a change pending: %llu",
       (unsigned long long)published, (unsigned long long)pending);
    apr_pool_destroy(vp);        /* stops the watcher, frees the snapshots */
    ok(1, "the view stopped");

    unlink(apr_pstrcat(p, path, "-wal", NULL));
    unlink(apr_pstrcat(p, path, "-shm", NULL));
    unlink(apr_pstrcat(p, other, "-wal", NULL));
    unlink(apr_pstrcat(p, other, "-shm", NULL));
    rmdir(dir);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
