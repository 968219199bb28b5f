/* ms_cmd_scan.c — `mirrorsel scan [NAME...] [--jobs N] [--path SUBDIR]`:
 * list mirrors' trees and record what they hold.
 *
 * Each mirror is scanned in a worker process of its own (at most --jobs at
 * once), with a database handle of its own: a crash, a hang or a memory
 * blow-up stays with one mirror. A worker records the scan run's start,
 * walks the tree without holding any lock, then writes the mirror's results
 * in one short transaction: copies seen are stored, copies no longer listed
 * are dropped, the run's counts are recorded. A walk that fails writes only
 * its error on the run; the mirror's copies stay as they were. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "ms_cmd_scan.h"
#include "ms_path.h"
#include "ms_scan.h"
#include "ms_select.h"

typedef struct scan_job {
    int64_t id;
    const char *name;
    const char *scan_url;
} scan_job_t;

typedef struct scan_opts {
    const char *subdir;        /* normalised; "" for the whole tree */
    ms_scan_limits_t lim;
    int jobs;
    int tty;
} scan_opts_t;

/* --- scan settings of `mirror add/edit` --- */

const char ms_cmd_scanopts_usage[] =
"  --ca-file PATH       PEM CA bundle trusted for the mirror's TLS (scan, probe)\n"
"  --ssh-key PATH       private key for an sftp:// scan URL (PATH.pub beside it)\n"
"  --known-hosts PATH   OpenSSH known_hosts holding the mirror's SSH host key\n";

static const char *absolute_file(const char *opt, const char *arg, apr_pool_t *p)
{
    char *abs = NULL;
    apr_finfo_t fi;

    if (!*arg)
        return "";
    if (apr_filepath_merge(&abs, NULL, arg, APR_FILEPATH_NOTRELATIVE, p) != APR_SUCCESS
        && apr_filepath_merge(&abs, NULL, arg, 0, p) != APR_SUCCESS) {
        ms_cmd_fail(MS_EXIT_USAGE, "--%s %s: not a usable path", opt, arg);
        return NULL;
    }
    if (abs[0] != '/') {
        char *cwd = NULL;
        if (apr_filepath_get(&cwd, 0, p) == APR_SUCCESS)
            abs = apr_pstrcat(p, cwd, "/", abs, NULL);
    }
    if (apr_stat(&fi, abs, APR_FINFO_TYPE, p) != APR_SUCCESS || fi.filetype != APR_REG
        || access(abs, R_OK) != 0) {
        ms_cmd_fail(MS_EXIT_USAGE, "--%s %s: not a readable file", opt,
                    ms_cmd_printable(arg, p));
        return NULL;
    }
    /* libcurl (libssh2) reads the public half from PATH.pub */
    if (!strcmp(opt, "ssh-key")) {
        const char *pub = apr_pstrcat(p, abs, ".pub", NULL);
        if (apr_stat(&fi, pub, APR_FINFO_TYPE, p) != APR_SUCCESS || fi.filetype != APR_REG
            || access(pub, R_OK) != 0) {
            ms_cmd_fail(MS_EXIT_USAGE, "--%s %s: no readable public key %s.pub beside it",
                        opt, ms_cmd_printable(arg, p), ms_cmd_printable(arg, p));
            return NULL;
        }
    }
    return abs;
}

int ms_cmd_scanopt(ms_cmd_scanopts_t *o, int opt, const char *arg, apr_pool_t *p)
{
    const char **slot, *name;

    switch (opt) {
    case MS_OPT_CA_FILE:     slot = &o->ca_file;     name = "ca-file";     break;
    case MS_OPT_SSH_KEY:     slot = &o->ssh_key;     name = "ssh-key";     break;
    case MS_OPT_KNOWN_HOSTS: slot = &o->known_hosts; name = "known-hosts"; break;
    default:
        return 0;
    }
    if (!(*slot = absolute_file(name, arg, p)))
        return -1;
    o->given = 1;
    return 1;
}

int ms_cmd_scanopts_store(ms_db_t *db, int64_t mirror_id, const ms_cmd_scanopts_t *o)
{
    ms_scan_conf_t *cur, next;
    apr_pool_t *p;
    int rc;

    if (!o->given)
        return MS_OK;
    apr_pool_create(&p, NULL);
    rc = ms_db_scan_conf_get(&cur, db, mirror_id, p);
    if (rc == MS_OK) {
        next = *cur;
        if (o->ca_file)
            next.ca_file = o->ca_file;
        if (o->ssh_key)
            next.ssh_key = o->ssh_key;
        if (o->known_hosts)
            next.known_hosts = o->known_hosts;
        rc = ms_db_scan_conf_put(db, mirror_id, &next);
    }
    apr_pool_destroy(p);
    return rc;
}

/* --- the latest scan, for `mirror show` and `mirror list` --- */

/* The latest run of mirror m, its error with m's password hidden. */
static int last_run(ms_scan_run_t **r, ms_db_t *db, const ms_mirror_t *m, apr_pool_t *p)
{
    int rc = ms_db_scan_run_last(r, db, m->id, p);

    if (rc == MS_OK && (*r)->error)
        (*r)->error = ms_url_hide_password((*r)->error, m->scan_url, p);
    return rc;
}

void ms_cmd_scan_show_text(FILE *out, ms_db_t *db, const ms_mirror_t *m, apr_pool_t *p)
{
    ms_scan_run_t *r = NULL;
    ms_scan_conf_t *c = NULL;
    int rc = last_run(&r, db, m, p);

    if (rc == MS_NOTFOUND)
        fprintf(out, "last scan:       never\n");
    else if (rc != MS_OK)
        fprintf(out, "last scan:       ? (%s)\n", ms_db_errmsg(db));
    else if (!r->finished)
        fprintf(out, "last scan:       started %s, not finished\n", ms_cmd_time(r->started, p));
    else if (!r->ok)
        fprintf(out, "last scan:       %s failed: %s\n", ms_cmd_time(r->started, p),
                ms_cmd_printable(r->error, p));
    else
        fprintf(out, "last scan:       %s ok: %" APR_INT64_T_FMT " files seen, %"
                APR_INT64_T_FMT " fresh, %" APR_INT64_T_FMT " stale, %" APR_INT64_T_FMT
                " missing, %" APR_INT64_T_FMT " extra\n", ms_cmd_time(r->started, p),
                (apr_int64_t)r->files_seen, (apr_int64_t)r->fresh, (apr_int64_t)r->stale,
                (apr_int64_t)r->missing, (apr_int64_t)r->extra);
    if (ms_db_scan_conf_get(&c, db, m->id, p) == MS_OK
        && (c->ca_file || c->ssh_key || c->known_hosts)) {
        fprintf(out, "ca file:         %s\n", c->ca_file ? c->ca_file : "-");
        fprintf(out, "ssh key:         %s\n", c->ssh_key ? c->ssh_key : "-");
        fprintf(out, "known hosts:     %s\n", c->known_hosts ? c->known_hosts : "-");
    }
}

void ms_cmd_scan_show_json(ms_jw_t *j, ms_db_t *db, const ms_mirror_t *m, apr_pool_t *p)
{
    ms_scan_run_t *r = NULL;

    if (last_run(&r, db, m, p) != MS_OK) {
        ms_jw_null(j, "last_scan");
        return;
    }
    ms_jw_object(j, "last_scan");
    ms_jw_str(j, "started", ms_cmd_time(r->started, p));
    if (r->finished)
        ms_jw_str(j, "finished", ms_cmd_time(r->finished, p));
    else
        ms_jw_null(j, "finished");
    ms_jw_bool(j, "ok", r->ok);
    ms_jw_int(j, "files_seen", r->files_seen);
    ms_jw_int(j, "fresh", r->fresh);
    ms_jw_int(j, "stale", r->stale);
    ms_jw_int(j, "missing", r->missing);
    ms_jw_int(j, "extra", r->extra);
    ms_jw_str(j, "error", *r->error ? r->error : NULL);
    ms_jw_end(j);
}

/* An error cut to n bytes (at a UTF-8 boundary), as a terminal may show it. */
static const char *short_error(const char *e, size_t n, apr_pool_t *p)
{
    size_t len = strlen(e);

    if (len > n) {
        while (n > 0 && ((unsigned char)e[n] & 0xC0) == 0x80)
            n--;
        return apr_pstrcat(p, ms_cmd_printable(apr_pstrndup(p, e, n), p), "...", NULL);
    }
    return ms_cmd_printable(e, p);
}

const char *ms_cmd_scan_summary(ms_db_t *db, const ms_mirror_t *m, apr_pool_t *p)
{
    ms_scan_run_t *r = NULL;
    int rc = last_run(&r, db, m, p);

    if (rc == MS_NOTFOUND)
        return "never";
    if (rc != MS_OK)
        return "?";
    if (!r->finished)
        return apr_pstrcat(p, ms_cmd_time(r->started, p), " running", NULL);
    if (!r->ok)
        return apr_pstrcat(p, ms_cmd_time(r->started, p), " failed: ",
                           short_error(r->error ? r->error : "", 60, p), NULL);
    return apr_psprintf(p, "%s ok %" APR_INT64_T_FMT " seen %" APR_INT64_T_FMT " fresh %"
                        APR_INT64_T_FMT " stale %" APR_INT64_T_FMT " missing",
                        ms_cmd_time(r->started, p), (apr_int64_t)r->files_seen,
                        (apr_int64_t)r->fresh, (apr_int64_t)r->stale,
                        (apr_int64_t)r->missing);
}

/* --- one mirror --- */

/* Write what the walk found, in one transaction. */
static int apply(ms_db_t *db, const scan_job_t *job, const scan_opts_t *o,
                 const ms_scan_found_t *found, ms_scan_run_t *run, apr_pool_t *p)
{
    apr_array_header_t *targets;
    const ms_file_t *probe = NULL;
    int64_t now = (int64_t)time(NULL);
    int i;

    if (ms_db_begin(db) != MS_OK)
        return MS_ERR;
    if (ms_db_scan_targets(&targets, db, job->id, o->subdir, p) != MS_OK)
        goto fail;
    for (i = 0; i < targets->nelts; i++) {
        ms_scan_target_t *t = &APR_ARRAY_IDX(targets, i, ms_scan_target_t);
        ms_listent_t *e = apr_hash_get(found->files, t->file.path, APR_HASH_KEY_STRING);
        ms_copy_t c;

        if (!e) {
            run->missing++;
            if (t->has_copy && ms_db_copy_remove(db, job->id, t->file.id) != MS_OK)
                goto fail;
            continue;
        }
        memset(&c, 0, sizeof(c));
        c.mirror_id = job->id;
        c.size = e->size;
        c.mtime = e->mtime;
        c.precision = e->precision > 0 ? e->precision : 1;
        c.seen = now;
        run->files_seen++;
        if (ms_copy_fresh(&t->file, &c)) {
            run->fresh++;
            if (t->file.size > 0 && (!probe || t->file.size < probe->size))
                probe = &t->file;
        }
        else
            run->stale++;
        if (ms_db_copy_put(db, t->file.id, &c) != MS_OK)
            goto fail;
    }
    run->extra = found->extra;
    if (probe && ms_db_probe_file_set(db, job->id, probe->id) != MS_OK)
        goto fail;
    run->ok = 1;
    run->finished = (int64_t)time(NULL);
    run->error = "";
    if (ms_db_scan_run_finish(db, run) != MS_OK || ms_db_commit(db) != MS_OK)
        goto fail;
    return MS_OK;
fail:
    ms_db_rollback(db);
    return MS_ERR;
}

/* A scan URL with a login that `mirror add` and `edit` refuse now
 * (ms_cmd_login_check) but an earlier version stored: what to say, or NULL.
 * An http(s) scan would send it as Basic credentials with every request. */
static const char *stored_login_refused(const char *name, const char *url, apr_pool_t *p)
{
    const char *why;
    apr_uri_t u;
    char *c;

    memset(&u, 0, sizeof(u));
    if (apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.scheme)
        return NULL;                   /* the scanner says what is wrong */
    for (c = u.scheme; *c; c++)
        *c = (char)apr_tolower(*c);
    if (!(why = ms_cmd_login_check(u.scheme, &u, 1)))
        return NULL;
    return apr_psprintf(p, "the scan URL %s, stored by an earlier version, %s; give it "
                        "anew: mirrorsel mirror edit %s --scan-url URL",
                        ms_url_hide_password(url, url, p), why, name);
}

/* Scan one mirror; the worker's exit code. */
static int scan_one(ms_cmd_ctx_t *ctx, const scan_job_t *job, const scan_opts_t *o)
{
    ms_db_t *db;
    ms_scan_run_t run;
    ms_scan_conf_t *conf;
    ms_scan_auth_t auth;
    ms_scan_want_t want;
    ms_scan_found_t *found = NULL;
    apr_array_header_t *targets;
    const char *err = NULL;
    int64_t t0 = ms_now_ms(), t_write;
    int i, rc;

    if ((rc = ms_cmd_open_db(&db, ctx, MS_DB_READWRITE)) != MS_EXIT_OK)
        return rc;
    memset(&run, 0, sizeof(run));
    run.mirror_id = job->id;
    run.started = (int64_t)time(NULL);
    if (ms_db_scan_run_start(db, &run) != MS_OK
        || ms_db_scan_conf_get(&conf, db, job->id, ctx->pool) != MS_OK
        || ms_db_scan_targets(&targets, db, job->id, o->subdir, ctx->pool) != MS_OK)
        return ms_cmd_fail(MS_EXIT_FAIL, "scan %s: %s", job->name, ms_db_errmsg(db));

    want.dirs = apr_hash_make(ctx->pool);
    want.files = apr_hash_make(ctx->pool);
    apr_hash_set(want.dirs, "", APR_HASH_KEY_STRING, "");
    for (i = 0; i < targets->nelts; i++)
        ms_scan_want_add(&want, APR_ARRAY_IDX(targets, i, ms_scan_target_t).file.path,
                         ctx->pool);
    auth.ca_file = conf->ca_file;
    auth.ssh_key = conf->ssh_key;
    auth.known_hosts = conf->known_hosts;

    if (o->tty)
        fprintf(stderr, "scanning %s (%s) ...\n", job->name,
                ms_url_hide_password(job->scan_url, job->scan_url, ctx->pool));
    if ((err = stored_login_refused(job->name, job->scan_url, ctx->pool)) != NULL
        || ms_scan_walk(&found, job->scan_url, o->subdir, &want, &auth, &o->lim,
                        ctx->pool, &err) != 0) {
        /* the URLs in it are the scan URL's, password and all */
        err = ms_url_hide_password(err, job->scan_url, ctx->pool);
        run.finished = (int64_t)time(NULL);
        run.error = err;
        if (ms_db_scan_run_finish(db, &run) != MS_OK)
            ms_cmd_warn("scan %s: %s", job->name, ms_db_errmsg(db));
        return ms_cmd_fail(MS_EXIT_FAIL, "scan %s: %s", job->name,
                           ms_cmd_printable(err, ctx->pool));
    }
    if (found->skipped > 0)
        ms_cmd_warn("scan %s: %" APR_INT64_T_FMT " %s skipped: name not allowed (control "
                    "byte, backslash or invalid UTF-8; index skips such names too), "
                    "such as %s", job->name, (apr_int64_t)found->skipped,
                    found->skipped == 1 ? "entry" : "entries",
                    ms_cmd_printable(found->skipped_example, ctx->pool));
    t_write = ms_now_ms();
    if (apply(db, job, o, found, &run, ctx->pool) != MS_OK) {
        const char *why = apr_pstrdup(ctx->pool, ms_db_errmsg(db));
        run.files_seen = run.fresh = run.stale = run.missing = run.extra = 0;
        run.ok = 0;
        run.finished = (int64_t)time(NULL);
        run.error = why;
        ms_db_scan_run_finish(db, &run);
        return ms_cmd_fail(MS_EXIT_FAIL, "scan %s: %s", job->name, why);
    }
    /* the skipped names on stdout too, where a cron job's report looks */
    printf("%s: ok: %" APR_INT64_T_FMT " files seen: %" APR_INT64_T_FMT " fresh, %"
           APR_INT64_T_FMT " stale, %" APR_INT64_T_FMT " missing, %" APR_INT64_T_FMT
           " extra%s (%.2f s, %" APR_INT64_T_FMT " requests, %.3f s writing)\n", job->name,
           (apr_int64_t)run.files_seen, (apr_int64_t)run.fresh, (apr_int64_t)run.stale,
           (apr_int64_t)run.missing, (apr_int64_t)run.extra,
           found->skipped > 0 ? apr_psprintf(ctx->pool, ", %" APR_INT64_T_FMT " names skipped",
                                             (apr_int64_t)found->skipped) : "",
           (double)(ms_now_ms() - t0) / 1000.0, (apr_int64_t)found->requests,
           (double)(ms_now_ms() - t_write) / 1000.0);
    fflush(stdout);
    ms_db_close(db);
    return MS_EXIT_OK;
}

/* --- the workers --- */

static int run_jobs(ms_cmd_ctx_t *ctx, apr_array_header_t *jobs, const scan_opts_t *o)
{
    int next = 0, running = 0, failed = 0;

    fflush(stdout);
    fflush(stderr);
    while (next < jobs->nelts || running > 0) {
        int status;
        pid_t pid;

        while (running < o->jobs && next < jobs->nelts) {
            const scan_job_t *job = &APR_ARRAY_IDX(jobs, next, scan_job_t);
            pid = fork();
            if (pid == 0) {
                int rc = scan_one(ctx, job, o);
                fflush(stdout);
                fflush(stderr);
                _exit(rc);
            }
            if (pid < 0)
                return ms_cmd_fail(MS_EXIT_FAIL, "scan: cannot start a worker: %s",
                                   strerror(errno));
            next++;
            running++;
        }
        pid = wait(&status);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        running--;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            failed++;
            if (WIFSIGNALED(status))
                ms_cmd_warn("scan: a worker died of signal %d", WTERMSIG(status));
        }
    }
    return failed ? MS_EXIT_FAIL : MS_EXIT_OK;
}

/* The mirrors to scan: the named ones (in order), else every enabled one. */
static int collect(apr_array_header_t **out, ms_db_t *db, char **names, int n,
                   apr_pool_t *p)
{
    apr_array_header_t *jobs = apr_array_make(p, 16, sizeof(scan_job_t));
    int i;

    if (n > 0) {
        for (i = 0; i < n; i++) {
            ms_mirror_t *m;
            scan_job_t *j;
            int rc = ms_db_mirror_get(&m, db, names[i], p);
            if (rc == MS_NOTFOUND)
                return ms_cmd_fail(MS_EXIT_FAIL, "scan: no mirror named '%s'",
                                   ms_cmd_printable(names[i], p));
            if (rc != MS_OK)
                return ms_cmd_fail(MS_EXIT_FAIL, "%s", ms_db_errmsg(db));
            j = apr_array_push(jobs);
            j->id = m->id;
            j->name = m->name;
            j->scan_url = m->scan_url;
        }
    }
    else {
        const ms_mirrors_t *all;
        if (ms_db_mirrors(&all, db) != MS_OK)
            return ms_cmd_fail(MS_EXIT_FAIL, "%s", ms_db_errmsg(db));
        for (i = 0; i < all->count; i++) {
            scan_job_t *j;
            if (!all->mirror[i]->enabled)
                continue;
            j = apr_array_push(jobs);
            j->id = all->mirror[i]->id;
            j->name = apr_pstrdup(p, all->mirror[i]->name);
            j->scan_url = apr_pstrdup(p, all->mirror[i]->scan_url);
        }
    }
    *out = jobs;
    return MS_EXIT_OK;
}

static void usage(FILE *out)
{
    fputs(
"usage: mirrorsel scan [NAME...] [--jobs N] [--path SUBDIR] [--timeout S]\n"
"                      [--total-timeout S] [--max-entries N]\n"
"                      [--max-listing BYTES]\n"
"List mirrors' trees (every enabled mirror when no NAME is given) over\n"
"rsync://, ftp://, ftps://, http://, https:// or sftp:// and record, for each\n"
"file of the origin index, the size and mtime the mirror shows.\n"
"  --jobs N             scan N mirrors at once (default 4)\n"
"  --path SUBDIR        rescan only this sub-tree of the origin\n"
"  --timeout S          bound of one transfer, in seconds (default 60)\n"
"  --total-timeout S    bound of one mirror's scan, in seconds (default 3600)\n"
"  --max-entries N      bound of listed entries per mirror\n"
"                       (default 2 x the origin's files + 100000)\n"
"  --max-listing BYTES  bound of one listing page (default 64M)\n"
"Exit 1 when any mirror's scan failed (its records are left as they were).\n",
          out);
}

enum { OPT_JOBS = 1, OPT_PATH, OPT_TIMEOUT, OPT_TOTAL, OPT_MAX_ENTRIES, OPT_MAX_LISTING };

int ms_cmd_scan(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        MS_GLOBAL_LONGOPTS,
        { "jobs",          required_argument, NULL, OPT_JOBS },
        { "path",          required_argument, NULL, OPT_PATH },
        { "timeout",       required_argument, NULL, OPT_TIMEOUT },
        { "total-timeout", required_argument, NULL, OPT_TOTAL },
        { "max-entries",   required_argument, NULL, OPT_MAX_ENTRIES },
        { "max-listing",   required_argument, NULL, OPT_MAX_LISTING },
        { "help",          no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    scan_opts_t o;
    apr_array_header_t *jobs = NULL;
    ms_db_t *db;
    int64_t v;
    int c, rc;

    memset(&o, 0, sizeof(o));
    ms_scan_limits_default(&o.lim);
    o.jobs = 4;
    o.subdir = "";
    o.tty = isatty(2);
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ms_cmd_global_opt(ctx, c, optarg))
            continue;
        switch (c) {
        case 'h':
            usage(stdout);
            return MS_EXIT_OK;
        case OPT_JOBS:
            if (ms_cmd_parse_int(&v, optarg, 1, 256) != 0)
                return ms_cmd_fail(MS_EXIT_USAGE, "scan: --jobs takes 1 to 256");
            o.jobs = (int)v;
            break;
        case OPT_PATH:
            if (ms_path_normalise(&o.subdir, optarg, ctx->pool) != 0)
                return ms_cmd_fail(MS_EXIT_USAGE, "scan: --path %s: not a valid path",
                                   ms_cmd_printable(optarg, ctx->pool));
            break;
        case OPT_TIMEOUT:
        case OPT_TOTAL:
            if (ms_cmd_parse_int(&v, optarg, 1, 86400) != 0)
                return ms_cmd_fail(MS_EXIT_USAGE, "scan: %s takes 1 to 86400 seconds",
                                   c == OPT_TIMEOUT ? "--timeout" : "--total-timeout");
            if (c == OPT_TIMEOUT)
                o.lim.timeout = (int)v;
            else
                o.lim.total_timeout = (int)v;
            break;
        case OPT_MAX_ENTRIES:
            if (ms_cmd_parse_int(&v, optarg, 1, INT64_MAX) != 0)
                return ms_cmd_fail(MS_EXIT_USAGE, "scan: --max-entries takes a count");
            o.lim.max_entries = v;
            break;
        case OPT_MAX_LISTING:
            if (ms_cmd_parse_size(&v, optarg) != 0 || v < 1024)
                return ms_cmd_fail(MS_EXIT_USAGE, "scan: --max-listing takes bytes (>= 1K)");
            o.lim.max_listing = v;
            break;
        default:
            return ms_cmd_bad_opt("scan", c, argv);
        }
    }
    if ((rc = ms_cmd_open_db(&db, ctx, MS_DB_READWRITE)) != MS_EXIT_OK)
        return rc;
    rc = collect(&jobs, db, argv + optind, argc - optind, ctx->pool);
    ms_db_close(db);            /* workers open their own handles */
    if (rc != MS_EXIT_OK)
        return rc;
    if (jobs->nelts == 0) {
        ms_cmd_warn("scan: no enabled mirror");
        return MS_EXIT_OK;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ms_cmd_fail(MS_EXIT_FAIL, "scan: cannot initialise libcurl");
    rc = run_jobs(ctx, jobs, &o);
    curl_global_cleanup();
    return rc;
}
