/* ms_cmd_init.c — `mirrorsel init`: create the database, or migrate it. */
#include <getopt.h>
#include <string.h>

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

static void init_usage(FILE *out)
{
    fputs("usage: mirrorsel [--db PATH] init\n"
          "  Creates the database, or migrates it to the current schema. Prints\n"
          "  \"created schema N\", \"migrated from A to B\" or \"schema N is current\".\n",
          out);
}

int ms_cmd_init(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {
        MS_GLOBAL_LONGOPTS,
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    ms_db_t *db = NULL;
    const char *err = NULL;
    int c, from = 0, to = 0, rc;

    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (ms_cmd_global_opt(ctx, c, optarg))
            continue;
        if (c == 'h') {
            init_usage(stdout);
            return MS_EXIT_OK;
        }
        return ms_cmd_bad_opt("init", c, argv);
    }
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
