/* ms_fixture — write scan and probe results for the integration tests,
 * through the core's own write functions (no SQL here), until the scanner
 * and prober write them for real.
 *
 *   ms_fixture DB copy MIRROR PATH SIZE MTIME PRECISION
 *   ms_fixture DB copy-origin MIRROR PATH [PRECISION]   the origin's size and mtime: fresh
 *   ms_fixture DB copy-all MIRROR [PRECISION]           copy-origin for every indexed file
 *   ms_fixture DB uncopy MIRROR PATH
 *   ms_fixture DB health MIRROR http|https 4|6 up|down
 *   ms_fixture DB all-up MIRROR                         up for each scheme it has, IPv4 and IPv6
 *   ms_fixture DB all-down MIRROR
 *
 * One command is one transaction. Exit 0 on success, 1 on a failure, 2 on
 * a usage error; errors are one line on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "ms_db.h"

static const char *prog = "ms_fixture";

static int usage(void)
{
    fprintf(stderr,
            "usage: %s DB copy MIRROR PATH SIZE MTIME PRECISION\n"
            "       %s DB copy-origin MIRROR PATH [PRECISION]\n"
            "       %s DB copy-all MIRROR [PRECISION]\n"
            "       %s DB uncopy MIRROR PATH\n"
            "       %s DB health MIRROR http|https 4|6 up|down\n"
            "       %s DB all-up|all-down MIRROR\n",
            prog, prog, prog, prog, prog, prog);
    return 2;
}

static int parse_i64(int64_t *out, const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int fail(ms_db_t *db, const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, db ? ms_db_errmsg(db) : "?");
    return 1;
}

static int put_health(ms_db_t *db, int64_t mirror_id, int scheme, int family, int up)
{
    ms_health_t h;
    memset(&h, 0, sizeof h);
    h.known = 1;
    h.up = up;
    h.checked = (int64_t)time(NULL);
    h.latency_ms = up ? 5 : 0;
    h.failures = up ? 0 : 1;
    h.status = up ? 200 : 0;
    h.error = up ? "" : "fixture: marked down";
    return ms_db_health_put(db, mirror_id, scheme, family, &h);
}

static int put_copy(ms_db_t *db, int64_t mirror_id, const ms_file_t *f,
                    int64_t size, int64_t mtime, int precision)
{
    ms_copy_t c;
    memset(&c, 0, sizeof c);
    c.mirror_id = mirror_id;
    c.size = size;
    c.mtime = mtime;
    c.precision = precision;
    c.seen = (int64_t)time(NULL);
    return ms_db_copy_put(db, f->id, &c);
}

typedef struct {
    ms_db_t *db;
    int64_t mirror_id;
    int precision;
    int count;
} copy_all_t;

static int copy_all_one(void *baton, const ms_file_t *f)
{
    copy_all_t *ca = baton;
    ca->count++;
    return put_copy(ca->db, ca->mirror_id, f, f->size, f->mtime, ca->precision) == MS_OK
        ? 0 : 1;
}

/* The file at path, or a message and NULL. */
static ms_file_t *file_get(ms_db_t *db, const char *path, apr_pool_t *p)
{
    ms_file_t *f = NULL;
    int rv = ms_db_file_get(&f, db, path, p);
    if (rv == MS_NOTFOUND) {
        fprintf(stderr, "%s: %s: not in the origin index\n", prog, path);
        return NULL;
    }
    if (rv != MS_OK) {
        fail(db, path);
        return NULL;
    }
    return f;
}

static int run(ms_db_t *db, int argc, char **argv, apr_pool_t *p)
{
    const char *cmd = argv[2];
    ms_mirror_t *m = NULL;
    ms_file_t *f;
    int rv;

    rv = ms_db_mirror_get(&m, db, argv[3], p);
    if (rv == MS_NOTFOUND) {
        fprintf(stderr, "%s: mirror %s: not registered\n", prog, argv[3]);
        return 1;
    }
    if (rv != MS_OK)
        return fail(db, argv[3]);

    if (!strcmp(cmd, "copy")) {
        int64_t size, mtime, prec;
        if (argc != 8 || parse_i64(&size, argv[5]) || parse_i64(&mtime, argv[6])
            || parse_i64(&prec, argv[7]) || prec <= 0)
            return usage();
        if (!(f = file_get(db, argv[4], p)))
            return 1;
        return put_copy(db, m->id, f, size, mtime, (int)prec) == MS_OK ? 0 : fail(db, "copy");
    }
    if (!strcmp(cmd, "copy-origin")) {
        int64_t prec = 1;
        if ((argc != 5 && argc != 6) || (argc == 6 && (parse_i64(&prec, argv[5]) || prec <= 0)))
            return usage();
        if (!(f = file_get(db, argv[4], p)))
            return 1;
        return put_copy(db, m->id, f, f->size, f->mtime, (int)prec) == MS_OK
            ? 0 : fail(db, "copy-origin");
    }
    if (!strcmp(cmd, "copy-all")) {
        int64_t prec = 1;
        copy_all_t ca;
        if ((argc != 4 && argc != 5) || (argc == 5 && (parse_i64(&prec, argv[4]) || prec <= 0)))
            return usage();
        ca.db = db;
        ca.mirror_id = m->id;
        ca.precision = (int)prec;
        ca.count = 0;
        if (ms_db_files_each(db, copy_all_one, &ca) != 0)
            return fail(db, "copy-all");
        if (ca.count == 0) {
            fprintf(stderr, "%s: copy-all: the origin index is empty\n", prog);
            return 1;
        }
        return 0;
    }
    if (!strcmp(cmd, "uncopy")) {
        if (argc != 5)
            return usage();
        if (!(f = file_get(db, argv[4], p)))
            return 1;
        return ms_db_copy_remove(db, m->id, f->id) == MS_OK ? 0 : fail(db, "uncopy");
    }
    if (!strcmp(cmd, "health")) {
        int scheme, family, up;
        if (argc != 7)
            return usage();
        if (!strcmp(argv[4], "http"))
            scheme = MS_HTTP;
        else if (!strcmp(argv[4], "https"))
            scheme = MS_HTTPS;
        else
            return usage();
        if (!strcmp(argv[5], "4"))
            family = 4;
        else if (!strcmp(argv[5], "6"))
            family = 6;
        else
            return usage();
        if (!strcmp(argv[6], "up"))
            up = 1;
        else if (!strcmp(argv[6], "down"))
            up = 0;
        else
            return usage();
        return put_health(db, m->id, scheme, family, up) == MS_OK ? 0 : fail(db, "health");
    }
    if (!strcmp(cmd, "all-up") || !strcmp(cmd, "all-down")) {
        int up = !strcmp(cmd, "all-up");
        int scheme, fam;
        if (argc != 4)
            return usage();
        for (scheme = MS_HTTP; scheme <= MS_HTTPS; scheme++) {
            const char *url = scheme == MS_HTTP ? m->http_url : m->https_url;
            if (!url && up)
                continue;       /* a scheme the mirror does not offer is never up */
            for (fam = 4; fam <= 6; fam += 2)
                if (put_health(db, m->id, scheme, fam, up) != MS_OK)
                    return fail(db, cmd);
        }
        return 0;
    }
    return usage();
}

int main(int argc, char **argv)
{
    apr_pool_t *pool = NULL;
    ms_db_t *db = NULL;
    const char *err = NULL;
    int rc;

    if (argc < 4)
        return usage();
    if (apr_app_initialize(&argc, (const char *const **)&argv, NULL) != APR_SUCCESS
        || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
        fprintf(stderr, "%s: cannot initialise APR\n", prog);
        return 1;
    }
    if (ms_db_open(&db, argv[1], MS_DB_READWRITE, pool, &err) != MS_OK) {
        fprintf(stderr, "%s: %s\n", prog, err ? err : argv[1]);
        rc = 1;
        goto leave;
    }
    if (ms_db_begin(db) != MS_OK) {
        rc = fail(db, "begin");
        goto leave;
    }
    rc = run(db, argc, argv, pool);
    if (rc == 0 && ms_db_commit(db) != MS_OK)
        rc = fail(db, "commit");
    else if (rc != 0)
        ms_db_rollback(db);
leave:
    if (db)
        ms_db_close(db);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
