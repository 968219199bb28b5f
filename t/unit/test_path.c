/* test_path.c — path normalisation, percent-encoding, URL joining (ms_path.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "tap.h"
#include "ms_path.h"

static apr_pool_t *pool;

/* The normalised form, or NULL when refused (and then *out must be NULL too). */
static const char *norm(const char *path)
{
    const char *out = "untouched";

    if (ms_path_normalise(&out, path, pool) != 0)
        return out == NULL ? NULL : "refused, but *out was set";
    return out;
}

static void test_normalise_plain(void)
{
    is_str(norm(""), "", "empty path is the root");
    is_str(norm("/"), "", "/ is the root");
    is_str(norm("///"), "", "/// is the root");
    is_str(norm("."), "", ". is the root");
    is_str(norm("/./."), "", "/./. is the root");
    is_str(norm("a"), "a", "a");
    is_str(norm("dir/file.iso"), "dir/file.iso", "already normal");
    is_str(norm("/a/b"), "a/b", "leading slash dropped");
    is_str(norm("//a//b"), "a/b", "repeated slashes collapse");
    is_str(norm("./a"), "a", "leading ./ dropped");
    is_str(norm("a/./b"), "a/b", "inner . dropped");
    is_str(norm("a/b/"), "a/b", "trailing slash dropped");
    is_str(norm("a/b/."), "a/b", "trailing . dropped");
    is_str(norm("/pub//./linux/./iso//x.iso"), "pub/linux/iso/x.iso", "mixed noise");
    is_str(norm("..."), "...", "... is an ordinary name");
    is_str(norm("..a/a../.hidden"), "..a/a../.hidden", "names that merely start or end with dots");
    is_str(norm(". ./ .."), ". ./ ..", "dots with spaces are ordinary names");
    is_str(norm("%2e%2e/x"), "%2e%2e/x",
           "a literal %%2e%%2e (not decoded) is a file name, kept as it is");
    is_str(norm("a b/c d"), "a b/c d", "spaces are kept");
    is_str(norm("caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80"), "caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80",
           "valid UTF-8 of 2, 3 and 4 bytes is kept");
    is_str(norm("\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"),
           "\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf",
           "UTF-8 boundaries U+0080 U+07FF U+0800 U+D7FF U+E000 U+FFFF are valid");
    is_str(norm("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"), "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
           "UTF-8 boundaries U+10000 and U+10FFFF are valid");
    is_str(norm("a\0/../b"), "a", "a C string ends at its NUL: nothing after it is read");
}

static void test_normalise_dotdot(void)
{
    static const char *const bad[] = {
        "..", "/..", "../", "../a", "a/..", "a/../b", "/a/b/../../..", "a/./../b",
        "a//..//b", "./..",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_str(norm(bad[i]), NULL, "'%s' is refused", bad[i]);
    /* "%2e%2e" as httpd hands it over, i.e. already decoded */
    is_str(norm("pub/%2e%2e"), "pub/%2e%2e", "undecoded %%2e%%2e stays a name");
    is_str(norm("pub/\x2e\x2e/etc/passwd"), NULL, "decoded %%2e%%2e is a .. and refused");
    is_str(norm("pub/\xc0\xae\xc0\xae/etc"), NULL, "overlong-encoded .. is refused");
    is_str(norm("pub\xc0\xaf..\xc0\xaf" "etc"), NULL, "overlong-encoded / is refused");
}

static void test_normalise_bytes(void)
{
    char path[8];
    int c, refused = 0;

    is_str(norm("a\nb"), NULL, "LF refused");
    is_str(norm("a\rb"), NULL, "CR refused");
    is_str(norm("a\r\nLocation: x"), NULL, "CRLF header injection refused");
    is_str(norm("a\tb"), NULL, "TAB refused");
    is_str(norm("\x1b[31m"), NULL, "ESC refused");
    is_str(norm("a\x7f"), NULL, "DEL refused");
    is_str(norm("a\\b"), NULL, "backslash refused");
    is_str(norm("..\\..\\windows"), NULL, "backslash traversal refused");
    for (c = 1; c < 0x20; c++) {
        snprintf(path, sizeof(path), "x%cy", c);
        refused += norm(path) == NULL;
    }
    is_int(refused, 31, "every control byte 0x01-0x1f is refused");
}

static void test_normalise_utf8(void)
{
    static const char *const bad[] = {
        "\x80", "a\xbf", "\xc0\x80", "\xc0\xae", "\xc1\xbf", "\xe0\x80\xae",
        "\xe0\x9f\xbf", "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf", "\xed\xa0\x80",
        "\xed\xbf\xbf", "\xed\xb0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
        "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80", "\xfe", "\xff", "\xc3",
        "x\xc3", "\xc3" "a", "\xe2\x82", "\xe2\x82" "a", "\xf0\x9f\x98", "\xf0\x9f\x98/",
        "\xc3\xa9\xa9", "\xe2\x28\xa1", "latin1 caf\xe9",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_str(norm(bad[i]), NULL, "invalid UTF-8 #%zu refused", i);
}

static void test_normalise_long(void)
{
    char *big = apr_palloc(pool, 8193);
    char *want = apr_palloc(pool, 8193);
    size_t i;

    for (i = 0; i < 8192; i += 2) {
        big[i] = 'a';
        big[i + 1] = '/';
    }
    big[8192] = '\0';
    memcpy(want, big, 8191);
    want[8191] = '\0';
    is_str(norm(big), want, "8 KB of a/a/a/... keeps every segment, drops the trailing slash");

    memset(big, '/', 8192);
    is_str(norm(big), "", "8 KB of slashes is the root");

    memset(big, 'x', 8192);
    is_str(norm(big), big, "one 8 KB segment is kept whole");

    for (i = 0; i + 2 <= 8192; i += 2) {
        big[i] = '.';
        big[i + 1] = '/';
    }
    is_str(norm(big), "", "8 KB of ./ is the root");
    memcpy(big + 8190, "..", 2);
    is_str(norm(big), NULL, "a .. at the end of 8 KB is still found");

    memset(big, 'x', 8192);
    big[8191] = '\n';
    is_str(norm(big), NULL, "a LF at the end of 8 KB is still found");
    big[8191] = 'x';
    big[8190] = '\xc3';
    is_str(norm(big), NULL, "a broken UTF-8 sequence at the end of 8 KB is still found");
}

static void test_escape(void)
{
    char in[2], want[4];
    int c, good = 0;

    is_str(ms_path_escape("dir/file-1.2_3~x.iso", pool), "dir/file-1.2_3~x.iso",
           "unreserved characters and / are left alone");
    is_str(ms_path_escape("", pool), "", "empty stays empty");
    is_str(ms_path_escape("a b", pool), "a%20b", "space");
    is_str(ms_path_escape("100%", pool), "100%25", "percent");
    is_str(ms_path_escape("%2e%2e", pool), "%252e%252e", "a literal %%2e is not decoded later");
    is_str(ms_path_escape("a?b", pool), "a%3Fb", "question mark");
    is_str(ms_path_escape("a#b", pool), "a%23b", "hash");
    is_str(ms_path_escape("\"it's\"", pool), "%22it%27s%22", "quotes");
    is_str(ms_path_escape("a\r\nb", pool), "a%0D%0Ab", "CR LF");
    is_str(ms_path_escape("<a>&b;c=d", pool), "%3Ca%3E%26b%3Bc%3Dd", "HTML/query characters");
    is_str(ms_path_escape("a+b:c@d,e!f$g*h(i)j[k]l", pool),
           "a%2Bb%3Ac%40d%2Ce%21f%24g%2Ah%28i%29j%5Bk%5Dl", "sub-delims and gen-delims");
    is_str(ms_path_escape("caf\xc3\xa9 \xe2\x82\xac", pool), "caf%C3%A9%20%E2%82%AC",
           "non-ASCII UTF-8 bytes, upper-case hex");
    is_str(ms_path_escape("\x7f\xff\x01", pool), "%7F%FF%01", "DEL, 0xff, 0x01");
    ok(ms_path_escape(NULL, pool) == NULL, "NULL gives NULL");

    for (c = 1; c < 256; c++) {
        int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~' || c == '/';

        in[0] = (char)c;
        in[1] = '\0';
        if (keep)
            snprintf(want, sizeof(want), "%c", c);
        else
            snprintf(want, sizeof(want), "%%%02X", c);
        if (strcmp(ms_path_escape(in, pool), want) == 0)
            good++;
        else
            diag("byte 0x%02x escaped as '%s'", c, ms_path_escape(in, pool));
    }
    is_int(good, 255, "every byte 0x01-0xff is kept or encoded exactly as RFC 3986 says");
}

static void test_join(void)
{
    is_str(ms_url_join("http://m.example/pub", "a/b", pool), "http://m.example/pub/a/b",
           "base without slash");
    is_str(ms_url_join("http://m.example/pub/", "a/b", pool), "http://m.example/pub/a/b",
           "base with slash");
    is_str(ms_url_join("http://m.example/pub//", "a/b", pool), "http://m.example/pub/a/b",
           "base with two slashes");
    is_str(ms_url_join("http://m.example", "a", pool), "http://m.example/a", "host-only base");
    is_str(ms_url_join("http://m.example/", "a", pool), "http://m.example/a",
           "host-only base with slash");
    is_str(ms_url_join("http://m.example/pub", "", pool), "http://m.example/pub/",
           "the root gives the base with one slash");
    is_str(ms_url_join("http://m.example/pub/", "/a", pool), "http://m.example/pub/a",
           "a stray leading slash on the path does not double");
}

static void test_hide_password(void)
{
    const char *url = "ftp://mirror:s3cr%40t@ftp.example.net:2121/pub/";
    const char *plain = "rsync://rsync.example.net/pub/";

    is_str(ms_url_hide_password(url, url, pool), "ftp://mirror:***@ftp.example.net:2121/pub/",
           "the URL itself: the password, as written, is hidden; the user stays");
    is_str(ms_url_hide_password("ftp://mirror:s3cr%40t@ftp.example.net:2121/pub/a%20b.iso: "
                                "530 Login incorrect (ftp://mirror:s3cr%40t@ftp.example.net"
                                ":2121/pub/)", url, pool),
           "ftp://mirror:***@ftp.example.net:2121/pub/a%20b.iso: 530 Login incorrect "
           "(ftp://mirror:***@ftp.example.net:2121/pub/)",
           "every occurrence in an error made with it");
    ok(ms_url_hide_password(plain, plain, pool) == plain, "no user information: the same text");
    url = "sftp://mirror@sftp.example.net/pub/";
    ok(ms_url_hide_password(url, url, pool) == url, "a user without a password: the same text");
    url = "ftp://mirror:@ftp.example.net/";
    ok(ms_url_hide_password(url, url, pool) == url, "an empty password: nothing to hide");
    url = "ftp://u:x@[2001:db8::1]:21/pub/";
    is_str(ms_url_hide_password("connect to ftp://u:x@[2001:db8::1]:21/pub/ failed", url, pool),
           "connect to ftp://u:***@[2001:db8::1]:21/pub/ failed",
           "a one-letter password (the mask is longer) and an IPv6 host");
    is_str(ms_url_hide_password("timed out", url, pool), "timed out",
           "a text without the URL is left as it is");
    ok(ms_url_hide_password(NULL, url, pool) == NULL, "no text: NULL");
    is_str(ms_url_hide_password("x", NULL, pool), "x", "no URL: the text");
    /* any URL's password, not only the current one's: an error recorded
     * before the scan URL was edited names the older password */
    url = "ftp://mirror:new@ftp.example.net/pub/";
    is_str(ms_url_hide_password("ftp://mirror:old%21pw@ftp.example.net/pub/: 530 Login "
                                "incorrect", url, pool),
           "ftp://mirror:***@ftp.example.net/pub/: 530 Login incorrect",
           "an older password in a recorded error is hidden too");
    is_str(ms_url_hide_password("rsync://a:1@h/m/ and ftp://b@h/ and ftps://c:22@[::1]:21/x",
                                NULL, pool),
           "rsync://a:***@h/m/ and ftp://b@h/ and ftps://c:***@[::1]:21/x",
           "every URL of the text, without a URL given; a user alone stays");
    is_str(ms_url_hide_password("see http://host:8080/path@x and mailto:u:p@h", NULL, pool),
           "see http://host:8080/path@x and mailto:u:p@h",
           "a port is not a password: an '@' after the host's end does not count");
    plain = "ftp://u:***@h/";
    ok(ms_url_hide_password(plain, NULL, pool) == plain, "already hidden: the same text");
}

static void test_pipeline(void)
{
    const char *rel = NULL;

    ok(ms_path_normalise(&rel, "//pub dir/./x y#1?.iso", pool) == 0, "hostile-looking name normalises");
    is_str(ms_url_join("https://m.example/mirror/", ms_path_escape(rel, pool), pool),
           "https://m.example/mirror/pub%20dir/x%20y%231%3F.iso",
           "normalise, escape, join");
}

/* A tree with links: root/a/x.iso, root/latest.iso -> a/x.iso,
 * root/cur -> a, root/out.iso -> a file outside the root, a dangling link. */
static void test_resolve_under(void)
{
    char tmpl[] = "/tmp/ms-test-path-XXXXXX";
    char *top = mkdtemp(tmpl);
    const char *root, *out;
    FILE *f;

    if (!top) {
        ok(0, "mkdtemp");
        return;
    }
    root = apr_pstrcat(pool, top, "/root", NULL);
    out = apr_pstrcat(pool, top, "/outside.iso", NULL);
    mkdir(root, 0755);
    mkdir(apr_pstrcat(pool, root, "/a", NULL), 0755);
    if ((f = fopen(apr_pstrcat(pool, root, "/a/x.iso", NULL), "w")))
        fclose(f);
    if ((f = fopen(out, "w")))
        fclose(f);
    ok(symlink("a/x.iso", apr_pstrcat(pool, root, "/latest.iso", NULL)) == 0
       && symlink("a", apr_pstrcat(pool, root, "/cur", NULL)) == 0
       && symlink(out, apr_pstrcat(pool, root, "/out.iso", NULL)) == 0
       && symlink("nowhere", apr_pstrcat(pool, root, "/dangling", NULL)) == 0,
       "resolve_under: the links made");

    is_str(ms_path_resolve_under(apr_pstrcat(pool, root, "/a/x.iso", NULL), root, pool),
           "a/x.iso", "resolve_under: a plain file is itself");
    is_str(ms_path_resolve_under(apr_pstrcat(pool, root, "/latest.iso", NULL), root, pool),
           "a/x.iso", "resolve_under: a file link leads to its target");
    is_str(ms_path_resolve_under(apr_pstrcat(pool, root, "/cur/x.iso", NULL), root, pool),
           "a/x.iso", "resolve_under: through a directory link");
    is_str(ms_path_resolve_under(apr_pstrcat(pool, root, "/cur/x.iso", NULL),
                                 apr_pstrcat(pool, root, "/", NULL), pool),
           "a/x.iso", "resolve_under: a root written with a trailing slash");
    ok(ms_path_resolve_under(apr_pstrcat(pool, root, "/out.iso", NULL), root, pool) == NULL,
       "resolve_under: a link out of the root: NULL");
    ok(ms_path_resolve_under(apr_pstrcat(pool, root, "/dangling", NULL), root, pool) == NULL,
       "resolve_under: a dangling link: NULL");
    ok(ms_path_resolve_under(root, root, pool) == NULL, "resolve_under: the root itself: NULL");
    ok(ms_path_resolve_under(apr_pstrcat(pool, root, "x", NULL), root, pool) == NULL,
       "resolve_under: a sibling whose name starts like the root: NULL");
    is_str(ms_path_resolve_under(out, "/", pool), out + 1, "resolve_under: the root \"/\"");
    ok(symlink(root, apr_pstrcat(pool, top, "/rootlink", NULL)) == 0, "resolve_under: a link to the root");
    is_str(ms_path_resolve_under(apr_pstrcat(pool, top, "/rootlink/latest.iso", NULL),
                                 apr_pstrcat(pool, top, "/rootlink", NULL), pool),
           "a/x.iso", "resolve_under: a root written through a link is resolved too");
    unlink(apr_pstrcat(pool, top, "/rootlink", NULL));

    unlink(apr_pstrcat(pool, root, "/dangling", NULL));
    unlink(apr_pstrcat(pool, root, "/out.iso", NULL));
    unlink(apr_pstrcat(pool, root, "/cur", NULL));
    unlink(apr_pstrcat(pool, root, "/latest.iso", NULL));
    unlink(apr_pstrcat(pool, root, "/a/x.iso", NULL));
    rmdir(apr_pstrcat(pool, root, "/a", NULL));
    rmdir(root);
    unlink(out);
    rmdir(top);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);

    test_normalise_plain();
    test_normalise_dotdot();
    test_normalise_bytes();
    test_normalise_utf8();
    test_normalise_long();
    test_escape();
    test_join();
    test_hide_password();
    test_pipeline();
    test_resolve_under();

    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
