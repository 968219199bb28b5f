/* ms_cmd_index.c — `mirrorsel index ROOT`: the origin file index.
 *
 * Walks ROOT without following any symbolic link and records every regular
 * file's normalised relative path, size, mtime and SHA-256. Incremental: the
 * index is loaded first, and a file whose size and mtime (whole seconds, as
 * the index stores them) are the ones indexed is not read again, unless it
 * was read less than a whole second after its mtime's second: a write after
 * that read could have kept both (see settled()). Files gone from ROOT are
 * removed from the index, except
 * below a directory that could not be read (a transient permission problem
 * must not drop the mirrors' records of a whole subtree).
 *
 * Files are read and hashed by --jobs threads (default: one per CPU, at most
 * 8), so a cold index of a large tree uses every core and keeps several reads
 * in flight; the walk and every database write stay on the main thread.
 *
 * The rows are written in batches (2000 files or 64 MiB read), so a large
 * first index is not lost to an interruption and does not hold one giant
 * transaction. A batch is gathered in memory and written in one short
 * transaction of its own: the database is never write-locked while a file
 * is read or the walk waits for the hashers, so probe, scan and mirror
 * commands (10 s busy timeout) go on while a large file is hashed. Each row
 * is written whole; removals come only after a walk that completed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <openssl/evp.h>

#include "ms_cmd.h"
#include "ms_path.h"

#define HASH_BUF      (1024 * 1024)
#define BATCH_FILES   2000
#define BATCH_BYTES   (64LL * 1024 * 1024)
#define MAX_JOBS      64
#define DEFAULT_JOBS  8       /* at most, by default: one per CPU below that */

/* A row to write: a file read (put), or one gone (remove_id). */
typedef struct pending {
    int64_t remove_id;         /* > 0: remove this file; else put f */
    ms_file_t f;               /* path and sha256 in the batch's pool */
} pending_t;

/* A file as the index had it before this run. */
typedef struct known {
    int64_t id, size, mtime, indexed;
    int hashed;
    int seen;                  /* found in ROOT (or kept) this run */
} known_t;

typedef struct index_run {
    ms_db_t *db;
    apr_pool_t *pool;
    apr_hash_t *known;         /* path -> known_t */
    apr_array_header_t *unread;     /* relative dirs that could not be read */
    unsigned char *buf;        /* without hashers: the walk's read buffer */
    pending_t *batch;          /* BATCH_FILES rows not written yet */
    int batch_files;
    int64_t batch_bytes;
    apr_pool_t *batch_pool;    /* their strings; cleared once written */
    int64_t added, updated, removed, unchanged, skipped, found;
    int64_t bytes_hashed;      /* atomic: the hashers add to it */
    struct hashers *hashers;   /* NULL: files are hashed on the walk's thread */
    int failed;                /* a database write failed: stop */
    int tty;
    apr_time_t started, shown;
} index_run_t;

/* --- progress, on a terminal only --- */

static void progress(index_run_t *r, int force)
{
    apr_time_t now;

    if (!r->tty)
        return;
    now = apr_time_now();
    if (!force && now - r->shown < apr_time_from_msec(100))
        return;
    r->shown = now;
    fprintf(stderr, "\rindexing: %lld files, %lld added, %lld updated, %.1f MiB hashed\033[K",
            (long long)r->found, (long long)r->added, (long long)r->updated,
            (double)__atomic_load_n(&r->bytes_hashed, __ATOMIC_RELAXED) / (1024.0 * 1024.0));
}

static void progress_done(index_run_t *r)
{
    if (r->tty)
        fputs("\r\033[K", stderr);
}

static void skip(index_run_t *r, const char *rel, const char *why, apr_pool_t *p)
{
    progress_done(r);
    ms_cmd_warn("index: skipping %s: %s", ms_cmd_printable(rel, p), why);
    r->skipped++;
}

/* --- the index as it was --- */

static int load_known(void *baton, const ms_file_t *f)
{
    index_run_t *r = baton;
    known_t *k = apr_pcalloc(r->pool, sizeof(*k));

    k->id = f->id;
    k->size = f->size;
    k->mtime = f->mtime;
    k->indexed = f->indexed;
    k->hashed = f->sha256 != NULL && *f->sha256;
    apr_hash_set(r->known, apr_pstrdup(r->pool, f->path), APR_HASH_KEY_STRING, k);
    return 0;
}

/* --- writing in batches --- */

/* Write the batch in one transaction, taken only now: the rows are at hand,
 * so the write lock is held for the writes alone. */
static int batch_write(index_run_t *r)
{
    pending_t *w;
    int i, rc = MS_OK;

    if (r->batch_files == 0 || r->failed)
        return r->failed ? -1 : 0;
    if (ms_db_begin(r->db) != MS_OK) {
        r->failed = 1;
        return -1;
    }
    for (i = 0; i < r->batch_files && rc == MS_OK; i++) {
        w = &r->batch[i];
        rc = w->remove_id > 0 ? ms_db_file_remove(r->db, w->remove_id)
                              : ms_db_file_put(r->db, &w->f);
    }
    if (rc != MS_OK || ms_db_commit(r->db) != MS_OK) {
        ms_db_rollback(r->db);  /* the message of what failed is kept */
        r->failed = 1;
        return -1;
    }
    r->batch_files = 0;
    r->batch_bytes = 0;
    apr_pool_clear(r->batch_pool);
    return 0;
}

/* A slot for one more row, the batch written first when it is full. */
static pending_t *batch_slot(index_run_t *r, int64_t bytes)
{
    pending_t *w;

    if (r->batch_files >= BATCH_FILES && batch_write(r) != 0)
        return NULL;
    w = &r->batch[r->batch_files++];
    memset(w, 0, sizeof(*w));
    r->batch_bytes += bytes;
    return w;
}

/* Write the batch once it holds enough. */
static void batch_maybe_write(index_run_t *r)
{
    if (r->batch_files >= BATCH_FILES || r->batch_bytes >= BATCH_BYTES)
        batch_write(r);
}

/* --- one file --- */

/* SHA-256 of an open file as 64 hex digits in hex[65], read through buf
 * (HASH_BUF bytes). Returns 0 or errno. On a hasher's thread (show 0) it
 * touches nothing of r but the atomic byte count. */
static int hash_fd(index_run_t *r, int fd, unsigned char *buf, char hex[65], int show)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    EVP_MD_CTX *md_ctx = EVP_MD_CTX_new();
    ssize_t n;
    int rc = 0;

    if (!md_ctx || !EVP_DigestInit_ex(md_ctx, EVP_sha256(), NULL)) {
        rc = ENOMEM;
        goto leave;
    }
    for (;;) {
        n = read(fd, buf, HASH_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = errno;
            goto leave;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(md_ctx, buf, (size_t)n);
        __atomic_add_fetch(&r->bytes_hashed, (int64_t)n, __ATOMIC_RELAXED);
        if (show)
            progress(r, 0);
    }
    if (!EVP_DigestFinal_ex(md_ctx, md, &len) || len != 32) {
        rc = EIO;
        goto leave;
    }
    for (i = 0; i < len; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
leave:
    EVP_MD_CTX_free(md_ctx);
    return rc;
}

/* Open the file for reading and check it is still a regular file: the fd,
 * or -1 with *why set. */
static int open_file(struct stat *before, int dfd, const char *name, const char **why)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

    *why = NULL;
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    if (fstat(fd, before) != 0)
        *why = strerror(errno);
    else if (!S_ISREG(before->st_mode))
        *why = "no longer a regular file";
    if (*why) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether the file is the one it was: same inode, size, mtime and ctime to
 * the nanosecond. A rewrite in place within one second at the same size
 * keeps the size and the mtime's second; the nanoseconds or the ctime
 * (which a write, and setting the mtime back, change) tell it. */
static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size
        && a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec
        && a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Hash the open file (closed here) and fill size, mtime and sha256 = hex.
 * Returns NULL or why it was skipped (perhaps in errbuf); show: on the
 * walk's thread, which may show progress. */
static const char *hash_file(ms_file_t *f, index_run_t *r, int fd, const struct stat *before,
                             unsigned char *buf, char hex[65], char errbuf[128], int show)
{
    struct stat after;
    const char *why = NULL;
    int64_t began = (int64_t)time(NULL);
    int err;

    if ((err = hash_fd(r, fd, buf, hex, show)) != 0)
        why = strerror_r(err, errbuf, 128);
    else if (fstat(fd, &after) != 0)
        why = strerror_r(errno, errbuf, 128);
    else if (!same_file(before, &after))
        why = "changed while it was read (index again later)";
    else {
        f->size = before->st_size;
        f->mtime = before->st_mtime;
        f->sha256 = hex;
        f->indexed = began;
    }
    close(fd);
    return why;
}

/* --- the hashers: --jobs threads reading and hashing while the walk goes on --- */

typedef struct hash_job {
    struct hash_job *next;
    int fd;
    struct stat before;
    int known;                 /* the index had the file: an update */
    char *rel;
    ms_file_t f;
    const char *why;           /* when it was skipped */
    char hex[65];
    char errbuf[128];
} hash_job_t;

/* Plain POSIX threads: they use no APR pool, so none is shared across
 * threads (APR's thread objects allocate from and destroy pools). */
typedef struct hashers {
    pthread_mutex_t lock;
    pthread_cond_t work;       /* signalled: a job to do, or stop */
    pthread_cond_t done;       /* signalled: a job done */
    hash_job_t *todo, **todo_tail, *finished;
    int queued;                /* jobs given and not yet collected */
    int max_queued;
    int stop;
    int n;
    pthread_t threads[MAX_JOBS];
    index_run_t *run;
} hashers_t;

static void *hasher(void *data)
{
    hashers_t *h = data;
    unsigned char *buf = malloc(HASH_BUF);
    hash_job_t *j;

    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (!h->todo && !h->stop)
            pthread_cond_wait(&h->work, &h->lock);
        if (!h->todo)
            break;
        j = h->todo;
        if (!(h->todo = j->next))
            h->todo_tail = &h->todo;
        pthread_mutex_unlock(&h->lock);

        j->f.path = j->rel;
        if (buf)
            j->why = hash_file(&j->f, h->run, j->fd, &j->before, buf, j->hex, j->errbuf, 0);
        else {
            close(j->fd);
            j->why = "out of memory";
        }

        pthread_mutex_lock(&h->lock);
        j->next = h->finished;
        h->finished = j;
        pthread_cond_signal(&h->done);
    }
    pthread_mutex_unlock(&h->lock);
    free(buf);
    return NULL;
}

static void hashers_stop(hashers_t *h)
{
    int i;

    pthread_mutex_lock(&h->lock);
    h->stop = 1;
    pthread_cond_broadcast(&h->work);
    pthread_mutex_unlock(&h->lock);
    for (i = 0; i < h->n; i++)
        pthread_join(h->threads[i], NULL);
    pthread_cond_destroy(&h->done);
    pthread_cond_destroy(&h->work);
    pthread_mutex_destroy(&h->lock);
}

/* Start n hashers; NULL when threads cannot be had (then the walk hashes). */
static hashers_t *hashers_start(index_run_t *r, int n)
{
    hashers_t *h = apr_pcalloc(r->pool, sizeof(*h));

    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->work, NULL);
    pthread_cond_init(&h->done, NULL);
    h->todo_tail = &h->todo;
    h->max_queued = 2 * n;
    h->run = r;
    for (h->n = 0; h->n < n; h->n++)
        if (pthread_create(&h->threads[h->n], NULL, hasher, h) != 0)
            break;
    if (h->n == 0) {
        hashers_stop(h);
        return NULL;
    }
    return h;
}

/* A file read: its row to the batch, on the walk's thread. */
static void file_done(index_run_t *r, const ms_file_t *f, int known)
{
    pending_t *w = batch_slot(r, f->size);

    if (!w)
        return;
    w->f.path = apr_pstrdup(r->batch_pool, f->path);
    w->f.size = f->size;
    w->f.mtime = f->mtime;
    w->f.sha256 = apr_pstrdup(r->batch_pool, f->sha256);
    w->f.indexed = f->indexed;
    if (known)
        r->updated++;
    else
        r->added++;
    r->found++;
    batch_maybe_write(r);
    progress(r, 0);
}

/* Write (or, after a failed write, drop) the finished jobs; returns how many.
 * p: scratch for the warnings. */
static int jobs_written(index_run_t *r, hash_job_t *list, apr_pool_t *p)
{
    hash_job_t *j;
    int n = 0;

    while ((j = list) != NULL) {
        list = j->next;
        if (j->why)
            skip(r, j->rel, j->why, p);
        else if (!r->failed)
            file_done(r, &j->f, j->known);
        free(j->rel);
        free(j);
        n++;
    }
    return n;
}

/* Wait (lock held) for a job to finish; on a terminal at most 100 ms, so
 * that the progress line moves while a large file is hashed. */
static void wait_finished(hashers_t *h, index_run_t *r)
{
    struct timespec until;

    if (!r->tty) {
        pthread_cond_wait(&h->done, &h->lock);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100 * 1000 * 1000;
    if (until.tv_nsec >= 1000 * 1000 * 1000) {
        until.tv_sec++;
        until.tv_nsec -= 1000 * 1000 * 1000;
    }
    pthread_cond_timedwait(&h->done, &h->lock, &until);
    progress(r, 0);
}

/* Collect the finished jobs, on the walk's thread. Waits until there is room
 * for one more job, or with all until every job given is collected. */
static void hashers_collect(index_run_t *r, int all, apr_pool_t *p)
{
    hashers_t *h = r->hashers;
    hash_job_t *list;
    int n;

    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (!h->finished && (all ? h->queued > 0 : h->queued >= h->max_queued))
            wait_finished(h, r);
        if (!h->finished)
            break;
        list = h->finished;
        h->finished = NULL;
        pthread_mutex_unlock(&h->lock);
        n = jobs_written(r, list, p);
        pthread_mutex_lock(&h->lock);
        h->queued -= n;
    }
    pthread_mutex_unlock(&h->lock);
}

/* Give the open file to the hashers (they close it). */
static void hashers_give(index_run_t *r, int fd, const struct stat *before, const char *rel,
                         int known, apr_pool_t *p)
{
    hashers_t *h = r->hashers;
    hash_job_t *j = calloc(1, sizeof(*j));

    if (!j || !(j->rel = strdup(rel))) {
        free(j);
        close(fd);
        skip(r, rel, "out of memory", p);
        return;
    }
    j->fd = fd;
    j->before = *before;
    j->known = known;
    hashers_collect(r, 0, p);
    pthread_mutex_lock(&h->lock);
    *h->todo_tail = j;
    h->todo_tail = &j->next;
    h->queued++;
    pthread_cond_signal(&h->work);
    pthread_mutex_unlock(&h->lock);
}

/* Whether the indexed record still stands for a file of the same size and
 * mtime second: only if it was read a whole second or more after that
 * second ended. A file written again in the second it was read (a sync job
 * rewriting a file, the index run right after) keeps its size and its mtime
 * in whole seconds; such a record is read again, as git treats a "racily
 * clean" entry. One second more than strictly needed: file times come from
 * the kernel's coarse clock, which may lag time() by a tick. A file whose
 * mtime was set back by hand (touch -d, rsync -t) to the indexed second at
 * the same size is not told apart: rsync's own quick check would not either. */
static int settled(const known_t *k, const struct stat *st)
{
    return k->hashed && k->size == (int64_t)st->st_size && k->mtime == (int64_t)st->st_mtime
        && k->indexed > k->mtime + 1;
}

static void index_file(index_run_t *r, int dfd, const char *name, const char *rel,
                       const struct stat *st, apr_pool_t *p)
{
    known_t *k = apr_hash_get(r->known, rel, APR_HASH_KEY_STRING);
    struct stat before;
    ms_file_t f;
    const char *why;
    char hex[65], errbuf[128];
    int fd;

    if (k)
        k->seen = 1;           /* kept even when it cannot be read now */
    if (k && settled(k, st)) {
        r->unchanged++;
        r->found++;
        return;
    }
    if ((fd = open_file(&before, dfd, name, &why)) < 0) {
        skip(r, rel, why, p);
        return;
    }
    if (r->hashers) {
        hashers_give(r, fd, &before, rel, k != NULL, p);
        return;
    }
    memset(&f, 0, sizeof(f));
    f.path = rel;
    if ((why = hash_file(&f, r, fd, &before, r->buf, hex, errbuf, 1)) != NULL) {
        skip(r, rel, why, p);
        return;
    }
    file_done(r, &f, k != NULL);
}

/* --- the walk --- */

static void walk_dir(index_run_t *r, int dfd, const char *rel, apr_pool_t *parent);

static const char *child_path(const char *rel, const char *name, apr_pool_t *p)
{
    return *rel ? apr_pstrcat(p, rel, "/", name, NULL) : apr_pstrdup(p, name);
}

static void unreadable(index_run_t *r, const char *rel, const char *why, apr_pool_t *p)
{
    skip(r, rel, why, p);
    APR_ARRAY_PUSH(r->unread, const char *) = apr_pstrdup(r->pool, rel);
}

static void walk_entry(index_run_t *r, int dfd, const char *name, const char *rel,
                       apr_pool_t *p)
{
    struct stat st;
    const char *norm;
    int fd;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        unreadable(r, rel, strerror(errno), p);
        return;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return;                /* symbolic links, devices, fifos, sockets */
    if (ms_path_normalise(&norm, rel, p) != 0 || strcmp(norm, rel)) {
        skip(r, rel, "name not allowed (control byte, backslash or invalid UTF-8)", p);
        return;
    }
    if (S_ISREG(st.st_mode)) {
        index_file(r, dfd, name, rel, &st, p);
        return;
    }
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        unreadable(r, rel, strerror(errno), p);
        return;
    }
    walk_dir(r, fd, rel, p);
}

/* Walk the directory open at dfd (closed here), rel its relative path. */
static void walk_dir(index_run_t *r, int dfd, const char *rel, apr_pool_t *parent)
{
    apr_pool_t *p, *iter;
    struct dirent *de;
    DIR *d = fdopendir(dfd);

    if (!d) {
        close(dfd);
        unreadable(r, rel, strerror(errno), parent);
        return;
    }
    apr_pool_create(&p, parent);
    apr_pool_create(&iter, p);
    while (!r->failed) {
        errno = 0;
        if (!(de = readdir(d))) {
            if (errno)
                unreadable(r, rel, strerror(errno), p);
            break;
        }
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        apr_pool_clear(iter);
        walk_entry(r, dirfd(d), de->d_name, child_path(rel, de->d_name, iter), iter);
    }
    closedir(d);
    apr_pool_destroy(p);
}

/* --- files gone --- */

static int under_unread(const index_run_t *r, const char *path)
{
    const char *dir;
    size_t n;
    int i;

    for (i = 0; i < r->unread->nelts; i++) {
        dir = APR_ARRAY_IDX(r->unread, i, const char *);
        n = strlen(dir);
        if (n == 0)
            return 1;          /* the root itself */
        if (!strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0'))
            return 1;
    }
    return 0;
}

/* Whether the known file is gone: not found in ROOT (nor kept because it
 * could not be read) and not below a directory that could not be read. */
static int gone(const index_run_t *r, const char *path, const known_t *k)
{
    return !k->seen && !under_unread(r, path);
}

/* How many files the index would hold after this run: those found and
 * those kept (below a directory that could not be read). */
static int64_t remaining(index_run_t *r)
{
    apr_hash_index_t *hi;
    const void *key;
    void *val;
    int64_t n = r->added;

    for (hi = apr_hash_first(r->pool, r->known); hi; hi = apr_hash_next(hi)) {
        apr_hash_this(hi, &key, NULL, &val);
        if (!gone(r, key, val))
            n++;
    }
    return n;
}

static void remove_gone(index_run_t *r)
{
    apr_hash_index_t *hi;
    const void *key;
    void *val;
    known_t *k;
    pending_t *w;

    for (hi = apr_hash_first(r->pool, r->known); hi && !r->failed; hi = apr_hash_next(hi)) {
        apr_hash_this(hi, &key, NULL, &val);
        k = val;
        if (!gone(r, key, k))
            continue;
        if (!(w = batch_slot(r, 0)))
            return;
        w->remove_id = k->id;
        r->removed++;
    }
}

/* --- the command --- */

static void index_usage(FILE *out)
{
    fputs("usage: mirrorsel index [--force] [--jobs N] ROOT\n"
          "  Index the regular files under ROOT (symbolic links are not followed):\n"
          "  path, size, mtime, SHA-256. Unchanged files (same size and mtime) are not\n"
          "  read again; files gone from ROOT are removed from the index.\n"
          "  -f, --force  allow a run that finds no file to index to empty a\n"
          "               non-empty index\n"
          "  --jobs N     files read and hashed at once (default: one per CPU, at\n"
          "               most 8; 1 on a single spinning disk)\n", out);
}

/* One hasher per CPU, at most DEFAULT_JOBS. */
static int default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > DEFAULT_JOBS ? DEFAULT_JOBS : (int)n;
}

static int index_args(const char **root, int *force, int *jobs, ms_cmd_ctx_t *ctx, int argc,
                      char **argv)
{
    static const struct option longopts[] = {
        MS_GLOBAL_LONGOPTS,
        { "force", no_argument, NULL, 'f' },
        { "jobs",  required_argument, NULL, 'j' },
        { "help",  no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int64_t v;
    int c;

    *force = 0;
    *jobs = default_jobs();
    while ((c = getopt_long(argc, argv, ":hf", longopts, NULL)) != -1) {
        if (ms_cmd_global_opt(ctx, c, optarg))
            continue;
        if (c == 'f') {
            *force = 1;
            continue;
        }
        if (c == 'j') {
            if (ms_cmd_parse_int(&v, optarg, 1, MAX_JOBS) != 0)
                return ms_cmd_fail(MS_EXIT_USAGE, "index: --jobs takes 1 to %d", MAX_JOBS);
            *jobs = (int)v;
            continue;
        }
        if (c == 'h') {
            index_usage(stdout);
            return -1;
        }
        return ms_cmd_bad_opt("index", c, argv);
    }
    if (argc - optind != 1)
        return ms_cmd_fail(MS_EXIT_USAGE, argc == optind ? "index: ROOT is missing"
                           : "index: one ROOT expected");
    *root = argv[optind];
    return MS_EXIT_OK;
}

static int index_finish(index_run_t *r, const char *root, int force)
{
    int64_t had = apr_hash_count(r->known);

    /* Whatever was skipped: a ROOT holding only a name that cannot be
     * carried or a directory that cannot be read is as empty as an empty
     * one (an unmounted tree, a wrong ROOT). */
    if (!r->failed && had > 0 && !force && remaining(r) == 0)
        return ms_cmd_fail(MS_EXIT_FAIL, "index: %s holds no files but the index has "
                           "%lld: not removing them all (is the tree mounted? use "
                           "--force to empty the index)", root, (long long)had);
    if (!r->failed)
        remove_gone(r);
    batch_write(r);
    if (r->failed) {
        progress_done(r);
        return ms_cmd_fail(MS_EXIT_FAIL, "index: %s", ms_db_errmsg(r->db));
    }
    return MS_EXIT_OK;
}

int ms_cmd_index(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    index_run_t r;
    const char *root = NULL;
    int rc, force, jobs, fd;

    if ((rc = index_args(&root, &force, &jobs, ctx, argc, argv)) != MS_EXIT_OK)
        return rc < 0 ? MS_EXIT_OK : rc;
    memset(&r, 0, sizeof(r));
    r.pool = ctx->pool;
    r.started = apr_time_now();
    r.tty = isatty(2);
    if ((rc = ms_cmd_open_db(&r.db, ctx, MS_DB_READWRITE)) != MS_EXIT_OK)
        return rc;
    fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = ms_cmd_fail(MS_EXIT_FAIL, "index: %s: %s", root, strerror(errno));
        goto leave;
    }
    r.known = apr_hash_make(r.pool);
    r.batch = apr_palloc(r.pool, BATCH_FILES * sizeof(*r.batch));
    apr_pool_create(&r.batch_pool, r.pool);
    r.unread = apr_array_make(r.pool, 4, sizeof(const char *));
    if (ms_db_files_each(r.db, load_known, &r) != MS_OK) {
        close(fd);
        rc = ms_cmd_fail(MS_EXIT_FAIL, "index: %s", ms_db_errmsg(r.db));
        goto leave;
    }
    progress(&r, 1);
    if (jobs > 1)
        r.hashers = hashers_start(&r, jobs);
    if (!r.hashers)            /* the walk's thread hashes, through its own buffer */
        r.buf = apr_palloc(r.pool, HASH_BUF);
    walk_dir(&r, fd, "", r.pool);
    if (r.hashers) {
        hashers_collect(&r, 1, r.pool);
        hashers_stop(r.hashers);
        r.hashers = NULL;
    }
    if ((rc = index_finish(&r, root, force)) != MS_EXIT_OK)
        goto leave;
    progress_done(&r);
    if (r.skipped)
        ms_cmd_warn("index: %lld entries skipped", (long long)r.skipped);
    printf("indexed %lld files (%lld added, %lld updated, %lld removed, %lld unchanged) "
           "in %.1f s\n", (long long)r.found, (long long)r.added, (long long)r.updated,
           (long long)r.removed, (long long)r.unchanged,
           (double)(apr_time_now() - r.started) / APR_USEC_PER_SEC);
leave:
    ms_db_close(r.db);
    return rc;
}
