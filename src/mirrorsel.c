/* mirrorsel.c — the `mirrorsel` tool: global options and the command table.
 * Each command family lives in its own ms_cmd_*.c. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "ms_cmd.h"
#include "ms_cmd_scan.h"

static const struct {
    const char *name;
    ms_cmd_fn *fn;
} commands[] = {
    { "init",    ms_cmd_init },
    { "restore", ms_cmd_restore },
    { "mirror",  ms_cmd_mirror },
    { "index",   ms_cmd_index },
    { "scan",    ms_cmd_scan },
    { "probe",   ms_cmd_probe },
    { "explain", ms_cmd_explain },
};

static void usage(FILE *out)
{
    fputs(
"usage: mirrorsel [--db PATH] [--geoip PATH] [--asn-db PATH] COMMAND ...\n"
"   (env MIRRORSEL_DB, MIRRORSEL_GEOIP, MIRRORSEL_ASNDB;\n"
"    default db " MS_DEFAULT_DB ")\n"
"\n"
"commands (each explains its options with COMMAND --help):\n"
" init                          create the database, or migrate it to the current\n"
"                               schema\n"
" restore BACKUP                write a backup over the database, in place, with\n"
"                               a new epoch for the module's caches\n"
" mirror add NAME --url URL [--url URL] [--scan-url URL] [--country CC]\n"
"            [--continent CC] [--lat DEG --lon DEG] [--asn N] [--prefix CIDR]...\n"
"            [--weight N] [--max-size BYTES]\n"
"            [--scope world|continent|country|asn|prefix]\n"
"            [--other-countries CC,CC] [--fallback] [--disabled]\n"
"            [--ca-file PATH] [--ssh-key PATH] [--known-hosts PATH]\n"
"                               register a mirror\n"
" mirror edit NAME [the options of add] [--no-fallback] [--enabled]\n"
"            [--clear-prefixes] [--no-coords]\n"
"                               change the fields given\n"
" mirror enable|disable|remove NAME\n"
" mirror list [--json]          all mirrors, with health and latest scan\n"
" mirror show NAME [--json]     one mirror, with prefixes, health and latest scan\n"
" index ROOT [--jobs N] [--force]\n"
"                               index the origin tree (incremental: unchanged\n"
"                               files are not rehashed)\n"
" scan [NAME...] [--jobs N] [--path SUBDIR] [--timeout S] [--total-timeout S]\n"
"      [--max-entries N] [--max-listing BYTES]\n"
"                               list mirrors' trees and record what they hold\n"
" probe [NAME...] [--jobs N] [--timeout S] [--verbose]\n"
"                               health-check mirrors\n"
" explain PATH [--ip ADDR] [--country CC] [--https] [--spread F K] [--root DIR]\n"
"         [--json]\n"
"                               rank mirrors for that client exactly as the\n"
"                               module would, with every excluded mirror and the\n"
"                               reason\n"
"\n"
"global options (also accepted after the command):\n"
" --db PATH       the SQLite database\n"
" --geoip PATH    City or Country mmdb (locates mirrors and clients)\n"
" --asn-db PATH   ASN mmdb\n"
" -h, --help      this text (COMMAND --help: the command's)\n"
" -V, --version   the version\n"
"\n"
"exit codes: 0 success, 1 operational failure, 2 usage error\n", out);
}

static void ctx_defaults(ms_cmd_ctx_t *ctx)
{
    const char *v;

    ctx->db_path = ((v = getenv("MIRRORSEL_DB")) && *v) ? v : MS_DEFAULT_DB;
    ctx->geoip_path = ((v = getenv("MIRRORSEL_GEOIP")) && *v) ? v : NULL;
    ctx->asn_path = ((v = getenv("MIRRORSEL_ASNDB")) && *v) ? v : NULL;
}

static int dispatch(ms_cmd_ctx_t *ctx, int argc, char **argv)
{
    size_t i;

    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(argv[0], commands[i].name)) {
            optind = 0;        /* glibc: restart getopt for the command's own options */
            return commands[i].fn(ctx, argc, argv);
        }
    }
    return ms_cmd_fail(MS_EXIT_USAGE, "unknown command '%s' (see mirrorsel --help)", argv[0]);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        MS_GLOBAL_LONGOPTS,
        { "help",    no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    ms_cmd_ctx_t ctx;
    int c, rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx_defaults(&ctx);
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:hV", longopts, NULL)) != -1) {
        if (ms_cmd_global_opt(&ctx, c, optarg))
            continue;
        switch (c) {
        case 'h':
            usage(stdout);
            return MS_EXIT_OK;
        case 'V':
            printf("mirrorsel %s (schema %d)\n", MS_VERSION, ms_db_schema_current());
            return MS_EXIT_OK;
        default:
            return ms_cmd_bad_opt(NULL, c, argv);
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return MS_EXIT_USAGE;
    }
    if (apr_initialize() != APR_SUCCESS
        || apr_pool_create(&ctx.pool, NULL) != APR_SUCCESS)
        return ms_cmd_fail(MS_EXIT_FAIL, "cannot initialise APR");
    rc = dispatch(&ctx, argc - optind, argv + optind);
    fflush(stdout);
    apr_pool_destroy(ctx.pool);
    apr_terminate();
    if (ferror(stdout))
        return ms_cmd_fail(MS_EXIT_FAIL, "writing the output failed");
    return rc;
}
