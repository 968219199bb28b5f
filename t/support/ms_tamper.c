/* ms_tamper — put into the database what the `mirrorsel` tool refuses to
 * write, for the tests that prove the outputs escape whatever the database
 * holds: through the core's own write functions (no SQL here).
 *
 *   ms_tamper DB name MIRROR NEWNAME    rename, any bytes (e.g. <, &, ", é)
 *   ms_tamper DB url MIRROR URL         set the http base URL, unchecked
 *   ms_tamper DB nohash PATH            forget an indexed file's SHA-256
 *
 * One command is one transaction. Exit 0 on success, 1 on a failure, 2 on
 * a usage error; errors are one line on stderr. */
#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "ms_db.h"

static int usage(void)
{
    fputs("usage: ms_tamper DB name MIRROR NEWNAME\n"
          "       ms_tamper DB url MIRROR URL\n"
          "       ms_tamper DB nohash PATH\n", stderr);
    return 2;
}

static int fail(ms_db_t *db, const char *what)
{
    fprintf(stderr, "ms_tamper: %s: %s\n", what, ms_db_errmsg(db));
    return 1;
}

static int tamper_mirror(ms_db_t *db, const char *cmd, const char *name,
                         const char *value, apr_pool_t *p)
{
    ms_mirror_t *m;

    if (ms_db_mirror_get(&m, db, name, p) != MS_OK)
        return fail(db, name);
    if (!strcmp(cmd, "name"))
        m->name = value;
    else
        m->http_url = value;
    return ms_db_mirror_update(db, m) == MS_OK ? 0 : fail(db, "update");
}

static int tamper_file(ms_db_t *db, const char *path, apr_pool_t *p)
{
    ms_file_t *f;

    if (ms_db_file_get(&f, db, path, p) != MS_OK)
        return fail(db, path);
    f->sha256 = NULL;
    return ms_db_file_put(db, f) == MS_OK ? 0 : fail(db, "update");
}

int main(int argc, char **argv)
{
    apr_pool_t *pool;
    const char *err = NULL;
    ms_db_t *db;
    int rc;

    if (argc < 4 || (!strcmp(argv[2], "nohash") ? argc != 4 : argc != 5)
        || (strcmp(argv[2], "name") && strcmp(argv[2], "url") && strcmp(argv[2], "nohash")))
        return usage();
    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (ms_db_open(&db, argv[1], MS_DB_READWRITE, pool, &err) != MS_OK) {
        fprintf(stderr, "ms_tamper: %s\n", err ? err : argv[1]);
        return 1;
    }
    if (ms_db_begin(db) != MS_OK)
        return fail(db, "begin");
    if (!strcmp(argv[2], "nohash"))
        rc = tamper_file(db, argv[3], pool);
    else
        rc = tamper_mirror(db, argv[2], argv[3], argv[4], pool);
    if (rc == 0 && ms_db_commit(db) != MS_OK)
        rc = fail(db, "commit");
    if (rc)
        ms_db_rollback(db);
    ms_db_close(db);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
