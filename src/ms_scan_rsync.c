/* ms_scan_rsync.c — rsync:// scan URLs, through the rsync program:
 * `rsync --list-only --recursive` with TZ=UTC, read as it streams (nothing
 * but the origin's files is kept), bounded by an idle timeout, the scan's
 * deadline and the entry bound; the child is killed when a bound is hit.
 * A daemon login in the URL (rsync://user:password@host/module/) is passed
 * as rsync expects it: the user in the URL, the password in RSYNC_PASSWORD.
 * A user without a password uses RSYNC_PASSWORD from the tool's environment,
 * or an empty one, so that rsync fails at once rather than ask a terminal. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_escape.h>
#include <apr_strings.h>
#include <apr_uri.h>

#include "ms_scan.h"

#define LINE_MAX_BYTES 16384

typedef struct rsync_run {
    ms_walk_t *w;
    char line[LINE_MAX_BYTES];
    size_t used;
    char errtail[512];             /* the end of rsync's stderr */
    size_t errlen;
    int64_t errbytes;              /* all of it, bounded by MAX_MESSAGES */
} rsync_run;

/* rsync's stderr carries the daemon's messages too; a daemon that keeps
 * sending them would keep the idle timer from running out. */
#define MAX_MESSAGES (1024 * 1024)

/* Check each segment of an rsync path: MS_NAME_OK, MS_NAME_SKIP when a
 * segment is a name the index never holds, -1 with w->err when a segment is
 * one no directory holds (or the path is too deep). The path goes into the
 * error as it is: whoever prints the error makes it printable. */
static int path_check(ms_walk_t *w, const char *path, apr_pool_t *scratch)
{
    char *copy = apr_pstrdup(scratch, path), *seg, *last;
    int depth = 0, rc = MS_NAME_OK;

    for (seg = apr_strtok(copy, "/", &last); seg; seg = apr_strtok(NULL, "/", &last)) {
        int check = ms_scan_name_check(seg);

        if (check == MS_NAME_HOSTILE)
            goto unsafe;
        if (check == MS_NAME_SKIP)
            rc = MS_NAME_SKIP;
        depth++;
    }
    if (depth == 0 || path[0] == '/' || path[strlen(path) - 1] == '/')
        goto unsafe;
    if (depth > w->lim->max_depth + 1) {
        w->err = apr_psprintf(w->pool, "listing deeper than %d levels", w->lim->max_depth);
        return -1;
    }
    return rc;
unsafe:
    w->err = apr_psprintf(w->pool, "malformed listing: unsafe name \"%s\"", path);
    return -1;
}

static int take_line(rsync_run *r, const char *line)
{
    ms_walk_t *w = r->w;
    ms_listent_t e;
    int skip;
    const char *err = NULL, *rel;
    apr_pool_t *scratch;
    int rc = 0, check;

    apr_pool_create(&scratch, w->pool);
    if (ms_parse_rsync_line(&e, &skip, line, scratch, &err) != 0) {
        w->err = apr_pstrdup(w->pool, err);
        rc = -1;
        goto leave;
    }
    if (!strcmp(e.name, ".") || skip) {
        rc = ms_walk_count(w);         /* links and devices count too */
        goto leave;
    }
    if ((check = path_check(w, e.name, scratch)) < 0) {
        rc = -1;
        goto leave;
    }
    rel = *w->subdir ? apr_pstrcat(scratch, w->subdir, "/", e.name, NULL) : e.name;
    if (check == MS_NAME_SKIP) {
        rc = ms_walk_skip(w, rel);
        goto leave;
    }
    if (!e.is_dir && apr_hash_get(w->want->files, rel, APR_HASH_KEY_STRING))
        rel = apr_pstrdup(w->pool, rel);   /* kept: must outlive scratch */
    rc = ms_walk_take(w, rel, &e);
leave:
    apr_pool_destroy(scratch);
    return rc;
}

/* Feed bytes from rsync's stdout; complete lines are parsed. */
static int feed(rsync_run *r, const char *buf, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            r->line[r->used] = '\0';
            r->used = 0;
            if (r->line[0] && take_line(r, r->line) != 0)
                return -1;
        }
        else if (r->used + 1 >= sizeof(r->line)) {
            r->w->err = "malformed rsync listing: a line over 16 KiB";
            return -1;
        }
        else
            r->line[r->used++] = buf[i];
    }
    return 0;
}

static void keep_stderr(rsync_run *r, const char *buf, size_t n)
{
    if (n >= sizeof(r->errtail) - 1) {
        buf += n - (sizeof(r->errtail) - 1);
        n = sizeof(r->errtail) - 1;
    }
    if (r->errlen + n >= sizeof(r->errtail)) {
        size_t drop = r->errlen + n - (sizeof(r->errtail) - 1);
        memmove(r->errtail, r->errtail + drop, r->errlen - drop);
        r->errlen -= drop;
    }
    memcpy(r->errtail + r->errlen, buf, n);
    r->errlen += n;
    r->errtail[r->errlen] = '\0';
}

/* rsync's first error line, made one line. */
static const char *rsync_error(rsync_run *r, int status)
{
    char *msg = apr_pstrdup(r->w->pool, r->errtail), *nl;
    char *start = strstr(msg, "rsync: ");
    char *errline = strstr(msg, "@ERROR");

    if (errline)
        start = errline;
    if (!start)
        start = msg;
    while (*start == '\n')
        start++;
    if ((nl = strchr(start, '\n')))
        *nl = '\0';
    if (!*start)
        return apr_psprintf(r->w->pool, "rsync exited with status %d", status);
    return apr_psprintf(r->w->pool, "rsync (exit %d): %s", status, start);
}

/* The URL for rsync, and in *password the URL's password: rsync takes a
 * daemon's password from RSYNC_PASSWORD, never from the URL, so a URL's
 * "user:password@" goes to rsync as "user@" (the password percent-decoded).
 * *user: the URL names a user. */
static const char *login(const char **password, int *user, ms_walk_t *w, const char *url)
{
    apr_uri_t u;

    *password = NULL;
    *user = 0;
    memset(&u, 0, sizeof(u));
    if (apr_uri_parse(w->pool, url, &u) != APR_SUCCESS || !u.user)
        return url;
    *user = 1;
    if (u.password && !(*password = apr_punescape_url(w->pool, u.password, NULL, NULL, 0)))
        *password = u.password;           /* not escaped as a URL: as written */
    return apr_uri_unparse(w->pool, &u, APR_URI_UNP_OMITPASSWORD);
}

static pid_t spawn(ms_walk_t *w, int *out_fd, int *err_fd)
{
    int out[2], err[2];
    pid_t pid;
    char timeout[32], contimeout[32];
    const char *password;
    int user;
    const char *url = login(&password, &user, w, *w->subdir
                            ? apr_pstrcat(w->pool, w->url, w->subdir, "/", NULL) : w->url);

    if (pipe(out) != 0)
        return -1;
    if (pipe(err) != 0) {
        close(out[0]);
        close(out[1]);
        return -1;
    }
    snprintf(timeout, sizeof(timeout), "--timeout=%d", w->lim->timeout);
    snprintf(contimeout, sizeof(contimeout), "--contimeout=%d", w->lim->timeout);
    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]); close(out[1]); close(err[0]); close(err[1]);
        /* A session of its own: no terminal to ask a password on, and one
         * process group, so that a bound kills rsync's forked receiver
         * with it (kill(-pid) below). */
        setsid();
        setenv("TZ", "UTC", 1);
        setenv("LC_ALL", "C", 1);
        /* The environment's RSYNC_PASSWORD only for a URL that names a
         * user: any other daemon that asks gets none (and rsync fails
         * at once) rather than a password meant for another mirror. */
        if (password)
            setenv("RSYNC_PASSWORD", password, 1);
        else if (!user || !getenv("RSYNC_PASSWORD"))
            setenv("RSYNC_PASSWORD", "", 1);
        execlp("rsync", "rsync", "--list-only", "--recursive", "--no-motd",
               "--no-human-readable", timeout, contimeout, "--", url, (char *)NULL);
        dprintf(2, "rsync: cannot run rsync: %s\n", strerror(errno));
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    if (pid < 0) {
        close(out[0]);
        close(err[0]);
        return -1;
    }
    *out_fd = out[0];
    *err_fd = err[0];
    return pid;
}

int ms_scan_rsync(ms_walk_t *w)
{
    rsync_run *r = apr_pcalloc(w->pool, sizeof(*r));
    struct pollfd pfd[2];
    char buf[65536];
    int out_fd = -1, err_fd = -1, status = 0, rc = -1, open_fds = 2;
    int64_t idle_until;
    pid_t pid;

    r->w = w;
    if ((pid = spawn(w, &out_fd, &err_fd)) < 0) {
        w->err = apr_psprintf(w->pool, "cannot start rsync: %s", strerror(errno));
        return -1;
    }
    pfd[0].fd = out_fd;
    pfd[1].fd = err_fd;
    pfd[0].events = pfd[1].events = POLLIN;
    idle_until = ms_now_ms() + (int64_t)w->lim->timeout * 1000;
    while (open_fds > 0) {
        int64_t now = ms_now_ms(), wait = idle_until < w->deadline ? idle_until : w->deadline;
        int i, n;

        if (now >= wait) {
            w->err = now >= w->deadline
                     ? apr_psprintf(w->pool, "scan over its time bound of %d s",
                                    w->lim->total_timeout)
                     : apr_psprintf(w->pool, "rsync: no answer for %d s", w->lim->timeout);
            goto kill;
        }
        n = poll(pfd, 2, (int)(wait - now));
        if (n < 0 && errno != EINTR) {
            w->err = apr_psprintf(w->pool, "poll: %s", strerror(errno));
            goto kill;
        }
        for (i = 0; n > 0 && i < 2; i++) {
            ssize_t got;
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            got = read(pfd[i].fd, buf, sizeof(buf));
            if (got <= 0) {
                if (got < 0 && errno == EINTR)
                    continue;
                close(pfd[i].fd);
                pfd[i].fd = -1;
                open_fds--;
                continue;
            }
            idle_until = ms_now_ms() + (int64_t)w->lim->timeout * 1000;
            if (i == 1) {
                keep_stderr(r, buf, (size_t)got);
                if ((r->errbytes += got) > MAX_MESSAGES) {
                    w->err = apr_psprintf(w->pool, "rsync: over %d bytes of messages",
                                          MAX_MESSAGES);
                    goto kill;
                }
            }
            else if (feed(r, buf, (size_t)got) != 0)
                goto kill;
        }
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        w->err = rsync_error(r, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    if (r->used > 0 && feed(r, "\n", 1) != 0)
        return -1;
    w->found->requests = 1;
    return 0;

kill:
    kill(-pid, SIGKILL);                /* rsync and the receiver it forked */
    kill(pid, SIGKILL);                 /* in case it had not reached setsid() */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (pfd[0].fd >= 0)
        close(pfd[0].fd);
    if (pfd[1].fd >= 0)
        close(pfd[1].fd);
    return rc;
}
