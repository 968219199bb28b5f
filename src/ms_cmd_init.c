/* ms_cmd_init.c — `mirrorsel init`: create the database, or migrate it. */
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "ms_cmd.h"

/* Create the database's directory when it is missing (a fresh install). */
static int make_parent(const char *path, apr_pool_t *p)
{
    const char *slash = strrchr(path, '/');
    const char *dir;
    apr_finfo_t fi;
    apr_status_t rv;
    char buf[256];

    if (!slash || slash == path)
        return MS_EXIT_OK;
    dir = apr_pstrndup(p, path, (apr_size_t)(slash - path));
    if (apr_stat(&fi, dir, APR_FINFO_TYPE, p) == APR_SUCCESS)
        return MS_EXIT_OK;
    rv = apr_dir_make_recursive(dir, APR_OS_DEFAULT, p);
    if (rv != APR_SUCCESS)
        return ms_cmd_fail(MS_EXIT_FAIL, "init: creating directory %s: %s", dir,
                           apr_strerror(rv, buf, sizeof(buf)));
    return MS_EXIT_OK;
}

/* The options of a command that has none of its own (init, restore): the
 * global ones and --help. Returns -1 when the command goes on (its
 * arguments from optind), else the exit code (help printed, or a bad
 * option). */
static int help_only(ms_cmd_ctx_t *ctx, const char *cmd, void (*usage)(FILE *), int argc,
                     char **argv)
{
    static const struct option longopts[] = {
        MS_GLOBAL_LONGOPTS,
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int c;

    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ms_cmd_global_opt(ctx, c, optarg))
            continue;
        if (c == 'h') {
            usage(stdout);
            return MS_EXIT_OK;
        }
        return ms_cmd_bad_opt(cmd, c, argv);
    }
    return -1;
}

static void init_usage(FILE *out)
{
    fputs("usage: mirrorsel [--db PATH] init\n"
          "  Creates the database, or migrates it to the current schema. Prints\n"
          "  \"created schema N\", \"migrated from A to B\" or \"schema N is current\".\n",
          out);
}

int ms_cmd_init(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    ms_db_t *db = NULL;
    const char *err = NULL;
    int from = 0, to = 0, rc;

    if ((rc = help_only(ctx, "init", init_usage, argc, argv)) >= 0)
        return rc;
    if (optind < argc)
        return ms_cmd_fail(MS_EXIT_USAGE, "init: unexpected argument '%s'", argv[optind]);

    if ((rc = make_parent(ctx->db_path, ctx->pool)) != MS_EXIT_OK)
        return rc;
    if (ms_db_open(&db, ctx->db_path, MS_DB_CREATE, ctx->pool, &err) != MS_OK)
        return ms_cmd_fail(MS_EXIT_FAIL, "init: %s", err ? err : ctx->db_path);
    if (ms_db_migrate(db, &from, &to) != MS_OK) {
        rc = ms_cmd_fail(MS_EXIT_FAIL, "init: %s", ms_db_errmsg(db));
        goto leave;
    }
    if (from > to) {
        rc = ms_cmd_fail(MS_EXIT_FAIL, "init: %s: schema %d is newer than this "
                         "program's %d; use a newer mirrorsel", ctx->db_path, from, to);
        goto leave;
    }
    if (from == 0)
        printf("created schema %d\n", to);
    else if (from < to)
        printf("migrated from %d to %d\n", from, to);
    else
        printf("schema %d is current\n", to);
    rc = MS_EXIT_OK;
leave:
    ms_db_close(db);
    return rc;
}

static void restore_usage(FILE *out)
{
    fputs("usage: mirrorsel [--db PATH] restore BACKUP\n"
          "  Writes the database BACKUP (a copy made with sqlite3's .backup, or a\n"
          "  file of another host) over the database, in place: httpd may go on\n"
          "  reading it, and sees the old or the new one whole. The restored\n"
          "  database is given a new epoch, so the module's caches drop what they\n"
          "  read from the old one. Both must be mirrorsel databases at the current\n"
          "  schema (run init on a copy of an older backup first). Prints\n"
          "  \"restored BACKUP: N mirrors, M files\".\n",
          out);
}

int ms_cmd_restore(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    ms_db_t *db = NULL, *from = NULL;
    const ms_mirrors_t *ms;
    const char *err = NULL, *backup;
    int64_t files = 0;
    int rc;

    if ((rc = help_only(ctx, "restore", restore_usage, argc, argv)) >= 0)
        return rc;
    if (optind >= argc)
        return ms_cmd_fail(MS_EXIT_USAGE, "restore: which backup? (restore BACKUP)");
    if (optind + 1 < argc)
        return ms_cmd_fail(MS_EXIT_USAGE, "restore: unexpected argument '%s'",
                           argv[optind + 1]);
    backup = argv[optind];
    {
        struct stat a, b;

        if (stat(backup, &a) == 0 && stat(ctx->db_path, &b) == 0 && a.st_dev == b.st_dev
            && a.st_ino == b.st_ino)
            return ms_cmd_fail(MS_EXIT_USAGE, "restore: %s is the database itself", backup);
    }

    /* Both opened as the module and the tool open them: each must be a
     * mirrorsel database at this program's schema. */
    if (ms_db_open(&from, backup, MS_DB_READONLY, ctx->pool, &err) != MS_OK)
        return ms_cmd_fail(MS_EXIT_FAIL, "restore: %s", err ? err : backup);
    if (ms_db_open(&db, ctx->db_path, MS_DB_READWRITE, ctx->pool, &err) != MS_OK) {
        rc = ms_cmd_fail(MS_EXIT_FAIL, "restore: %s", err ? err : ctx->db_path);
        goto leave;
    }
    if (ms_db_restore(db, from) != MS_OK) {
        rc = ms_cmd_fail(MS_EXIT_FAIL, "restore: %s", ms_db_errmsg(db));
        goto leave;
    }
    if (ms_db_mirrors(&ms, db) != MS_OK || ms_db_file_count(db, &files) != MS_OK) {
        rc = ms_cmd_fail(MS_EXIT_FAIL, "restore: reading the restored database: %s",
                         ms_db_errmsg(db));
        goto leave;
    }
    printf("restored %s: %d mirrors, %lld files\n", backup, ms->count, (long long)files);
    rc = MS_EXIT_OK;
leave:
    if (db)
        ms_db_close(db);
    ms_db_close(from);
    return rc;
}
