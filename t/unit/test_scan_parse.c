/* test_scan_parse.c — the listing parsers of the scanner (ms_scan_parse.c):
 * rsync --list-only lines, MLSD, LIST in the Unix style and its variants
 * (proftpd, vsftpd, numeric owners, no group, old "Mon DD YYYY" entries) and
 * the DOS style, autoindex pages of nginx, Apache and lighttpd, and the
 * check every listed name passes before it becomes a path. */
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "ms_scan.h"
#include "tap.h"

static apr_pool_t *pool;

#define T_2024_05_01_1120 1714562400LL   /* 2024-05-01 11:20:00 UTC */

static ms_listent_t *find(apr_array_header_t *a, const char *name)
{
    int i;
    for (i = 0; a && i < a->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(a, i, ms_listent_t).name, name))
            return &APR_ARRAY_IDX(a, i, ms_listent_t);
    return NULL;
}

static void test_rsync(void)
{
    ms_listent_t e;
    const char *err = NULL;
    int skip;

    ok(ms_parse_rsync_line(&e, &skip, "-rw-r--r--        123,456 2024/05/01 11:20:30 a/big.iso",
                           pool, &err) == 0 && !skip, "rsync: file line");
    is_str(e.name, "a/big.iso", "rsync: path");
    ok(e.size == 123456 && e.mtime == T_2024_05_01_1120 + 30 && e.precision == 1,
       "rsync: size with commas, mtime to the second");
    ok(ms_parse_rsync_line(&e, &skip, "drwxr-xr-x           4096 2024/05/01 11:20:30 a",
                           pool, &err) == 0 && e.is_dir, "rsync: directory");
    ok(ms_parse_rsync_line(&e, &skip, "lrwxrwxrwx              3 2024/05/01 11:20:30 link",
                           pool, &err) == 0 && skip, "rsync: symlink skipped");
    ok(ms_parse_rsync_line(&e, &skip, "-rw-r--r--              3 2024/05/01 11:20:30 x\\#012y",
                           pool, &err) == 0 && !strcmp(e.name, "x\ny"),
       "rsync: \\#012 decoded to a newline (for the walk to refuse)");
    ok(ms_parse_rsync_line(&e, &skip, "this is a motd line", pool, &err) != 0 && err,
       "rsync: malformed line refused");
    ok(ms_parse_rsync_line(&e, &skip, "-rw-r--r--  12 2024/13/01 11:20:30 x", pool, &err) != 0,
       "rsync: impossible date refused");
}

static void test_mlsd(void)
{
    static const char mlsd[] =
        "modify=20240501112030;perm=adfrw;size=5000;type=file;UNIX.mode=0644; f1\r\n"
        "modify=20240501112030.123;size=7;type=file; name with spaces\r\n"
        "modify=20240501112030;type=dir; sub\r\n"
        "modify=20240501112030;type=cdir; .\r\n"
        "modify=20240501112030;type=pdir; ..\r\n"
        "modify=20240501112030;type=OS.unix=symlink;size=3; link\r\n";
    apr_array_header_t *a = NULL;
    const char *err = NULL;
    ms_listent_t *e;

    ok(ms_parse_mlsd(&a, mlsd, sizeof(mlsd) - 1, pool, &err) == 0, "MLSD parsed");
    is_int(a ? a->nelts : -1, 3, "MLSD: files and directories only");
    e = find(a, "f1");
    ok(e && e->size == 5000 && e->mtime == T_2024_05_01_1120 + 30 && e->precision == 1,
       "MLSD: size, mtime to the second");
    ok(find(a, "name with spaces") != NULL, "MLSD: name with spaces");
    ok((e = find(a, "sub")) && e->is_dir, "MLSD: directory");
    ok(ms_parse_mlsd(&a, "type=file;modify=20240501112030; nosize\r\n", 40, pool, &err) != 0,
       "MLSD: file without a size refused");
    ok(ms_parse_mlsd(&a, "garbage\r\n", 9, pool, &err) != 0, "MLSD: garbage refused");
}

static void test_list(void)
{
    /* now: 2024-06-01 00:00 UTC */
    const int64_t now = 1717200000;
    static const char unixls[] =
        "total 24\r\n"
        "drwxr-xr-x   3 mirror   root         4096 May  1 11:20 a\r\n"           /* proftpd */
        "-rw-r--r--    1 1000     1000         5000 May 01 11:20 f1\r\n"        /* vsftpd */
        "-rw-r--r--   1 owner  5001 May  1 11:20 nogroup\r\n"                   /* no group */
        "-rw-r--r-- owner group 5002 May  1 11:20 nolinks\r\n"                 /* no link count */
        "-rw-r--r--   1 ftp      ftp         123 Dec 24  2019 old.txt\r\n"      /* old entry */
        "-rw-r--r--   1 ftp      ftp         9 Jul  4 10:00 lastyear\r\n"      /* future → last year */
        "-rw-r--r--   1 ftp      ftp         9 May  1 11:20 with  two spaces\r\n"
        "lrwxrwxrwx   1 ftp      ftp         3 May  1 11:20 link -> f1\r\n"
        "drwxr-xr-x   2 ftp      ftp      4096 May  1 11:20 .\r\n"
        "drwxr-xr-x   2 ftp      ftp      4096 May  1 11:20 ..\r\n";
    static const char dos[] =
        "05-01-24  11:20AM                 5000 f1.iso\r\n"
        "05-01-24  01:05PM       <DIR>          sub dir\r\n"
        "12-24-2019  12:00AM              123 old.txt\r\n";
    apr_array_header_t *a = NULL;
    const char *err = NULL;
    ms_listent_t *e;

    ok(ms_parse_ftp_list(&a, unixls, sizeof(unixls) - 1, now, pool, &err) == 0,
       "LIST (Unix) parsed%s%s", err ? ": " : "", err ? err : "");
    is_int(a ? a->nelts : -1, 7, "LIST: symlink, . and .. left out");
    ok((e = find(a, "a")) && e->is_dir, "LIST: directory");
    ok((e = find(a, "f1")) && e->size == 5000 && e->mtime == T_2024_05_01_1120
       && e->precision == 60, "LIST: vsftpd style, minute precision");
    ok((e = find(a, "nogroup")) && e->size == 5001, "LIST: without group");
    ok((e = find(a, "nolinks")) && e->size == 5002, "LIST: without link count");
    ok((e = find(a, "old.txt")) && e->precision == 86400 && e->mtime == 1577145600,
       "LIST: \"Mon DD YYYY\" has a day's precision");
    ok((e = find(a, "lastyear")) && e->mtime == 1688464800, "LIST: date in the future is last year's");
    ok(find(a, "with  two spaces") != NULL, "LIST: name with inner spaces kept");
    ok(ms_parse_ftp_list(&a, dos, sizeof(dos) - 1, now, pool, &err) == 0, "LIST (DOS) parsed");
    ok((e = find(a, "f1.iso")) && e->size == 5000 && e->mtime == T_2024_05_01_1120,
       "DOS: file, AM time");
    ok((e = find(a, "sub dir")) && e->is_dir && e->mtime == 1714568700, "DOS: <DIR>, PM time");
    ok((e = find(a, "old.txt")) && e->mtime == 1577145600, "DOS: four-digit year");
    ok(ms_parse_ftp_list(&a, "<html>\r\n", 8, now, pool, &err) != 0 && err,
       "LIST: garbage refused");
}

static void test_autoindex(void)
{
    static const char nginx[] =
        "<html>\r\n<head><title>Index of /pub/</title></head>\r\n<body>\r\n"
        "<h1>Index of /pub/</h1><hr><pre><a href=\"../\">../</a>\r\n"
        "<a href=\"a/\">a/</a>                                                 01-May-2024 11:20                   -\r\n"
        "<a href=\"sp%20ace%2B%C3%BC.bin\">sp ace+\xc3\xbc.bin</a>               01-May-2024 11:20                3000\r\n"
        "<a href=\"top.iso\">top.iso</a>                                      01-May-2024 11:20              100000\r\n"
        "</pre><hr></body>\r\n</html>\r\n";
    static const char apache[] =
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 3.2 Final//EN\">\n<html>\n <head>\n"
        "  <title>Index of /pub</title>\n </head>\n <body>\n<h1>Index of /pub</h1>\n"
        "  <table>\n   <tr><th valign=\"top\"><img src=\"/icons/blank.gif\" alt=\"[ICO]\"></th>"
        "<th><a href=\"?C=N;O=D\">Name</a></th><th><a href=\"?C=M;O=A\">Last modified</a></th>"
        "<th><a href=\"?C=S;O=A\">Size</a></th></tr>\n"
        "<tr><td valign=\"top\"><img src=\"/icons/back.gif\" alt=\"[PARENTDIR]\"></td>"
        "<td><a href=\"/\">Parent Directory</a></td><td>&nbsp;</td><td align=\"right\">  - </td></tr>\n"
        "<tr><td valign=\"top\"><img src=\"/icons/folder.gif\" alt=\"[DIR]\"></td>"
        "<td><a href=\"a/\">a/</a></td><td align=\"right\">2024-05-01 11:20  </td>"
        "<td align=\"right\">  - </td></tr>\n"
        "<tr><td valign=\"top\"><img src=\"/icons/unknown.gif\" alt=\"[   ]\"></td>"
        "<td><a href=\"top.iso\">top.iso</a></td><td align=\"right\">2024-05-01 11:20  </td>"
        "<td align=\"right\"> 98K</td></tr>\n"
        "<tr><td><a href=\"./a:b\">a:b</a></td><td align=\"right\">2024-05-01 11:20  </td>"
        "<td align=\"right\"> 12 </td></tr>\n"
        "</table>\n</body></html>\n";
    static const char lighttpd[] =
        "<tr class=\"d\"><td class=\"n\"><a href=\"../\">..</a>/</td><td class=\"m\">&nbsp;</td>"
        "<td class=\"s\">- &nbsp;</td><td class=\"t\">Directory</td></tr>\n"
        "<tr><td class=\"n\"><a href=\"top.iso\">top.iso</a></td><td class=\"m\">2024-May-01 11:20:30</td>"
        "<td class=\"s\">97.6K</td><td class=\"t\">application/octet-stream</td></tr>\n";
    apr_array_header_t *a = NULL;
    const char *err = NULL;
    ms_listent_t *e;

    ok(ms_parse_autoindex(&a, nginx, sizeof(nginx) - 1, pool, &err) == 0, "nginx page parsed");
    is_int(a ? a->nelts : -1, 3, "nginx: parent link left out");
    ok((e = find(a, "top.iso")) && e->size == 100000 && !e->size_approx
       && e->mtime == T_2024_05_01_1120 && e->precision == 60,
       "nginx: exact size, GMT minute: no confirmation needed");
    ok(find(a, "sp ace+\xc3\xbc.bin") != NULL, "nginx: href percent-decoded");
    ok((e = find(a, "a")) && e->is_dir, "nginx: directory");

    ok(ms_parse_autoindex(&a, apache, sizeof(apache) - 1, pool, &err) == 0, "Apache page parsed");
    is_int(a ? a->nelts : -1, 3, "Apache: sort links and parent left out");
    ok((e = find(a, "top.iso")) && e->size_approx, "Apache: rounded size to be confirmed");
    ok((e = find(a, "a:b")) && e->size == 12 && e->size_approx,
       "Apache: \"./a:b\" is a:b; local time to be confirmed");

    ok(ms_parse_autoindex(&a, lighttpd, sizeof(lighttpd) - 1, pool, &err) == 0,
       "lighttpd page parsed");
    ok((e = find(a, "top.iso")) && e->size_approx && e->mtime == T_2024_05_01_1120 + 30,
       "lighttpd: date with seconds, rounded size");

    ok(ms_parse_autoindex(&a, "<html><body>hello</body></html>", 31, pool, &err) != 0,
       "garbage HTML refused");
    ok(ms_parse_autoindex(&a, "<a href=\"x%zz\">x</a>", 20, pool, &err) != 0,
       "malformed percent escape refused");
    ok(ms_parse_autoindex(&a, "<a href=\"%2e%2e/\">x</a>", 23, pool, &err) == 0
       && a->nelts == 1 && ms_scan_name_ok(APR_ARRAY_IDX(a, 0, ms_listent_t).name) != 0,
       "%%2e%%2e decodes to .., which the name check refuses");
}

/* A string literal and its length, for the (buf, len) parsers. */
#define LIT(s) s, sizeof(s) - 1

/* Found by fuzz/fuzz_scan_parse.c: strstr() looked for the title past len. */
static void test_autoindex_len(void)
{
    static const char page[] = "<html>hello</html>Index of /beyond";
    apr_array_header_t *a = NULL;
    const char *err = NULL;

    /* Only len bytes are the page: "Index of" after them must not count. */
    ok(ms_parse_autoindex(&a, page, 18, pool, &err) != 0,
       "autoindex: nothing past len is read (no title within len)");
}

/* Found by fuzz/fuzz_scan_parse.c: "\#000" cut the decoded name short. */
static void test_rsync_encoded_nul(void)
{
    ms_listent_t e;
    const char *err = NULL;
    int skip;

    ok(ms_parse_rsync_line(&e, &skip, "-rw-r--r--  3 2024/05/01 11:20:30 x\\#000/../y",
                           pool, &err) != 0,
       "rsync: an encoded NUL is refused, not decoded into a shorter name");
    ok(ms_parse_rsync_line(&e, &skip, "-rw-r--r--  3 2024/05/01 11:20:30 \\#000",
                           pool, &err) != 0, "rsync: a name of one encoded NUL is refused");
}

/* Found by fuzz/fuzz_scan_parse.c (UBSan): a size past int64_t was converted. */
static void test_autoindex_huge_size(void)
{
    apr_array_header_t *a = NULL;
    const char *err = NULL;
    ms_listent_t *f;

    ok(ms_parse_autoindex(&a, LIT("<a href=\"big.iso\">big.iso</a> 2024-05-01 11:20 9e18T\n"),
                          pool, &err) == 0 && a->nelts == 1, "autoindex: a huge size parses");
    f = a && a->nelts == 1 ? &APR_ARRAY_IDX(a, 0, ms_listent_t) : NULL;
    ok(f && f->size == -1 && f->size_approx, "autoindex: a size past int64 is none, to confirm");
    ok(ms_parse_autoindex(&a, LIT("<a href=\"big.iso\">big.iso</a> 2024-05-01 11:20 8e18\n"),
                          pool, &err) == 0 && a->nelts == 1
       && APR_ARRAY_IDX(a, 0, ms_listent_t).size == 8000000000000000000LL,
       "autoindex: a size just within int64 is kept");
}

/* An <a> without href (a HEADER.html anchor) is passed over: the links
 * after it are still read; a tag that never ends stops the page. */
static void test_autoindex_anchor(void)
{
    apr_array_header_t *a = NULL;
    const char *err = NULL;

    ok(ms_parse_autoindex(&a, LIT("<title>Index of /pub/</title><pre><a name=\"top\"></a>"
                                  "<a href=\"../\">../</a>\n"
                                  "<a href=\"a.txt\">a.txt</a> 01-May-2024 10:40 100\n"
                                  "<a href=\"sub/\">sub/</a> 01-May-2024 10:40 -\n"),
                          pool, &err) == 0 && a->nelts == 2,
       "autoindex: an <a name> before the entries is passed over, both entries read");
    ok(ms_parse_autoindex(&a, LIT("<title>Index of /pub/</title><pre>"
                                  "<a href=\"a.txt\">a.txt</a> 01-May-2024 10:40 100\n<a name=\"x\""),
                          pool, &err) == 0 && a->nelts == 1,
       "autoindex: a tag that never ends ends the page, the entries before it kept");
}

/* Numeric character references are digits up to ";" inside the href. */
static void test_autoindex_charref(void)
{
    apr_array_header_t *a = NULL;
    const char *err = NULL;

    /* Not references (before, strtol read "A", "B", "C" into them); as
     * written they hold a "#", so the links count as fragments. */
    ok(ms_parse_autoindex(&a, LIT("<a href=&#x 41;>x</a>\n"), pool, &err) == 0 && a->nelts == 0,
       "autoindex: a character reference takes no digits from outside the href");
    ok(ms_parse_autoindex(&a, LIT("<a href=\"&#+65;&# 66;&#x0x43;\">x</a>\n"), pool, &err) == 0
       && a->nelts == 0, "autoindex: signs, blanks and 0x are no part of a character reference");
    ok(ms_parse_autoindex(&a, LIT("<a href=\"&#65;&#x42;&#X43;\">x</a>\n"), pool, &err) == 0
       && a->nelts == 1 && !strcmp(APR_ARRAY_IDX(a, 0, ms_listent_t).name, "ABC"),
       "autoindex: decimal and hexadecimal references still decode");
}

/* Found by fuzz/fuzz_scan_parse.c: DOS-style "." and ".." became entries. */
static void test_list_dos_dots(void)
{
    static const char dos[] =
        "05-01-24  01:05PM       <DIR>          .\r\n"
        "05-01-24  01:05PM       <DIR>          ..\r\n"
        "05-01-24  11:20AM                 5000 f1.iso\r\n";
    apr_array_header_t *a = NULL;
    const char *err = NULL;

    ok(ms_parse_ftp_list(&a, dos, sizeof(dos) - 1, 1717200000, pool, &err) == 0,
       "LIST (DOS) with . and .. parsed");
    ok(a && a->nelts == 1 && find(a, "f1.iso"), "DOS: . and .. left out, as in the Unix style");
}

/* Cases a mutation run found unguarded: each parser change below went
 * unnoticed, and would have recorded a wrong time or name, or failed (or
 * cut short) a listing that is fine. */
static void test_list_edges(void)
{
    const int64_t now = 1717200000;         /* 2024-06-01 00:00 UTC */
    static const char nul_list[] =
        "-rw-r--r--   1 ftp ftp 9 May  1 11:20 a\r\n\0"
        "-rw-r--r--   1 ftp ftp 9 May  1 11:20 b\r\n";
    static const char nul_mlsd[] =
        "modify=20240501112030;size=7;type=file; a\r\n\0"
        "modify=20240501112030;size=7;type=file; b\r\n";
    apr_array_header_t *a = NULL;
    const char *err = NULL;
    ms_listent_t *e;

    /* A server clock a little ahead: an "HH:MM" entry hours past now is
     * this year's (up to a day ahead), not last year's. */
    ok(ms_parse_ftp_list(&a, LIT("-rw-r--r--   1 ftp ftp 9 Jun  1 02:00 ahead\r\n"), now,
                         pool, &err) == 0
       && (e = find(a, "ahead")) && e->mtime == now + 7200,
       "LIST: a time two hours ahead of now is this year's, not last year's");
    /* Exactly one blank after the time: the rest, blanks and all, is the name. */
    ok(ms_parse_ftp_list(&a, LIT("-rw-r--r--   1 ftp ftp 9 May  1 11:20  lead\r\n"), now,
                         pool, &err) == 0 && find(a, " lead") != NULL,
       "LIST: a name's leading blank is part of the name");
    /* 12:30PM is half past noon, not an impossible 24:30. */
    ok(ms_parse_ftp_list(&a, LIT("05-01-24  12:30PM                 5000 noon.iso\r\n"), now,
                         pool, &err) == 0
       && (e = find(a, "noon.iso")) && e->mtime == T_2024_05_01_1120 + 70 * 60,
       "DOS: 12:30PM is 12:30");
    /* A NUL byte is no listing: refused, not read up to the NUL. */
    ok(ms_parse_ftp_list(&a, nul_list, sizeof(nul_list) - 1, now, pool, &err) != 0,
       "LIST: a listing holding a NUL byte is refused, not cut short at it");
    ok(ms_parse_mlsd(&a, nul_mlsd, sizeof(nul_mlsd) - 1, pool, &err) != 0,
       "MLSD: a listing holding a NUL byte is refused, not cut short at it");
    /* A file's time is as required as its size. */
    ok(ms_parse_mlsd(&a, LIT("size=5;type=file; nomodify\r\n"), pool, &err) != 0,
       "MLSD: a file without a modify fact is refused");
}

/* A NUL decoded into an href would cut the name short, so the listing would
 * name another file than the server meant ("x.iso%00.bak" read as x.iso). */
static void test_autoindex_nul(void)
{
    apr_array_header_t *a = NULL;
    const char *err = NULL;

    ok(ms_parse_autoindex(&a, LIT("<a href=\"x.iso%00.bak\">x</a> 01-May-2024 11:20 5\n"),
                          pool, &err) != 0, "autoindex: an encoded NUL (%%00) is refused");
    ok(ms_parse_autoindex(&a, LIT("<a href=\"x.iso&#0;.bak\">x</a> 01-May-2024 11:20 5\n"),
                          pool, &err) == 0 && a->nelts == 0,
       "autoindex: &#0; is no character reference (the href keeps its '#': not an entry)");
}

static void test_names(void)
{
    ok(ms_scan_name_ok("file.iso") == 0, "plain name ok");
    ok(ms_scan_name_ok("sp ace \xc3\xbc") == 0, "spaces and UTF-8 ok");
    ok(ms_scan_name_ok("") != 0, "empty refused");
    ok(ms_scan_name_ok(".") != 0 && ms_scan_name_ok("..") != 0, ". and .. refused");
    ok(ms_scan_name_ok("a/b") != 0, "slash refused");
    ok(ms_scan_name_ok("a\\b") != 0, "backslash refused");
    ok(ms_scan_name_ok("a\nb") != 0 && ms_scan_name_ok("a\rb") != 0, "CR, LF refused");
    ok(ms_scan_name_ok("a\xff" "b") != 0, "invalid UTF-8 refused");

    /* What the walk does with each: take, skip (a legal name the index never
     * holds), or refuse the listing (a name no directory holds). */
    ok(ms_scan_name_check("file.iso") == MS_NAME_OK, "check: plain name taken");
    ok(ms_scan_name_check("a\\b") == MS_NAME_SKIP, "check: backslash skipped");
    ok(ms_scan_name_check("a\nb") == MS_NAME_SKIP && ms_scan_name_check("a\x01") == MS_NAME_SKIP
       && ms_scan_name_check("a\x7f") == MS_NAME_SKIP, "check: control bytes skipped");
    ok(ms_scan_name_check("a\xff" "b") == MS_NAME_SKIP
       && ms_scan_name_check("\xc0\xaf") == MS_NAME_SKIP, "check: invalid UTF-8 skipped");
    ok(ms_scan_name_check(NULL) == MS_NAME_HOSTILE && ms_scan_name_check("") == MS_NAME_HOSTILE,
       "check: no name refused");
    ok(ms_scan_name_check(".") == MS_NAME_HOSTILE && ms_scan_name_check("..") == MS_NAME_HOSTILE,
       "check: . and .. refused");
    ok(ms_scan_name_check("a/b") == MS_NAME_HOSTILE
       && ms_scan_name_check("a\\/b\n") == MS_NAME_HOSTILE, "check: a slash refused, odd or not");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_rsync();
    test_mlsd();
    test_list();
    test_autoindex();
    test_autoindex_len();
    test_rsync_encoded_nul();
    test_autoindex_huge_size();
    test_autoindex_anchor();
    test_autoindex_charref();
    test_list_dos_dots();
    test_list_edges();
    test_autoindex_nul();
    test_names();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
