# Hostile request paths, queries and headers: never a 5xx, never a header
# born of request bytes, and every Location under a registered base URL (or
# this server), with the path normalised and percent-encoded.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use MSTest;

my $t = MSTest->new;
$t->standard_origin;
$t->init;
$t->mirror('m', MSTest::at('berlin'));
$t->mirror('m2', MSTest::at('paris'));
$t->index_origin;
for my $m (qw(m m2)) {
    $t->fixture('copy-all', $m);
    $t->fixture('all-up', $m);
}
$t->start;
my $berlin = MSTest::client('berlin');

# --- names that need escaping are redirected, encoded -------------------------------
for my $f ('names/with space & more+plus%percent.iso', "names/caf\xc3\xa9.iso") {
    my $r = $t->get(MSTest::url($f), ip => $berlin);
    $t->redirects_to($r, 'm', 'country', $f, "escaped name '$f'");
    my $loc = MSTest::hdr($r, 'Location') // '';
    unlike($loc, qr/[ &+]|%(?![0-9A-Fa-f]{2})/, "'$f': space, &, + and % are percent-encoded in Location");
}

# --- paths that normalise to a real file: redirected, normalised --------------------
for my $p ('/pub//big///file.iso', '/pub/./big/./file.iso', '/pub/small/../big/file.iso',
           '/pub/big/%2e/file.iso', '/pub/small/%2e%2e/big/file.iso',
           '/pub/small/%2E%2E/big/file.iso', '/pub/small/.%2e/big/file.iso',
           '/pub/%62ig/file%2Eiso', '/pub/' . ('./' x 3000) . 'big/file.iso') {
    my $r = $t->get($p, ip => $berlin);
    my $name = 'normalised ' . (length $p > 80 ? substr($p, 0, 40) . '...(' . length($p) . ' bytes)' : $p);
    ok($r->{status} == 302 || $r->{status} == 400 || $r->{status} == 404,
       "$name: 302, 400 or 404 (got $r->{status})");
    if ($r->{status} == 302) {
        $t->redirects_to($r, 'm', 'country', 'big/file.iso', $name);
    }
    else {
        $t->location_safe($r, $name);
    }
}

# --- hostile paths -------------------------------------------------------------------------
my @hostile = (
    '/pub/big/file.iso%00',
    '/pub/big/file.iso%00.txt',
    '/pub/%00/big/file.iso',
    '/pub/big/file.iso%0d%0aX-Injected:%20yes',
    '/pub/big/file.iso%0D%0ASet-Cookie:%20a=b',
    '/pub/big/%0d%0aX-Injected:%20yes/file.iso',
    '/pub/big/file.iso%0aX-Injected:%20yes',
    '/pub/big/file.iso%0dX-Injected:%20yes',
    '/pub/big/file.iso%250d%250aX-Injected:%20yes',
    '/pub/../etc/passwd',
    '/pub/../../../../etc/passwd',
    '/pub/%2e%2e/%2e%2e/etc/passwd',
    '/pub/%2E%2E/%2E%2E/etc/passwd',
    '/pub/big/%252e%252e/%252e%252e/etc/passwd',
    '/pub/big/%252e%252e/file.iso',
    '/pub/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd',
    '/pub/big/%c0%ae%c0%ae/file.iso',
    '/pub/%c0%af../etc/passwd',
    '/pub/%e0%80%ae%e0%80%ae/etc/passwd',
    '/pub/big/..%2ffile.iso',
    '/pub/big/..%2f..%2f..%2fetc%2fpasswd',
    '/pub/big/..%5c..%5cfile.iso',
    '/pub/big/..\\..\\file.iso',
    '/pub/big/.%2e/.%2e/etc/passwd',
    '/pub/big/%2e%2e%2ffile.iso',
    '/pub/big/%ff%fe.iso',
    '/pub/big/%c3%28.iso',
    '/pub/big/%e2%82.iso',
    '/pub/big/%f0%28%8c%bc.iso',
    '/pub/big/%ed%a0%80.iso',
    "/pub/big/\xff\xfe.iso",
    "/pub/big/file.iso\x80",
    '/pub/big/file.iso%',
    '/pub/big/file.iso%zz',
    '/pub/big/file.iso%2',
    '/pub/big/file.iso;jsessionid=1',
    '/pub/big/file.iso#frag',
    '/pub/big/file.iso/',
    '/pub/big/file.iso/.',
    '/pub/big/file.iso/..',
    '/pub/big/file.iso%2f',
    '/pub/big/<script>alert(1)</script>.iso',
    '/pub/big/%3Cscript%3E.iso',
    '/pub/big/"quote".iso',
    '/pub/big/file.iso?x=%0d%0aX-Injected:%201',
    '/pub/big/file.iso?country=%00',
    '/pub/big/file.iso?' . ('a' x 7000),
    '/pub/' . ('a' x 8000),
    '/pub/' . ('a/' x 4000),
    '/pub/' . ('%41' x 2600),
    '/pub/' . ('%c3%a9' x 1300),
    '/pub/' . ('../' x 2600),
    '/pub/' . ('%2e%2e/' x 1100),
    '//pub/big/file.iso',
    '/PUB/big/file.iso',
    'pub/big/file.iso',
    'http://evil.example/pub/big/file.iso',
    '*',
);
my $i = 0;
for my $p (@hostile) {
    $i++;
    my $shown = $p;
    $shown =~ s/([^\x21-\x7e])/sprintf '\\x%02x', ord $1/ge;
    $shown = substr($shown, 0, 60) . '...(' . length($p) . ' bytes)' if length $shown > 70;
    my $name = "hostile #$i $shown";
    my $r = $t->get($p, ip => $berlin);
    ok($r->{status} >= 200 && $r->{status} < 500, "$name: answered, no 5xx (status $r->{status})")
        or diag($r->{error} // $r->{head});
    $t->location_safe($r, $name);
    if ($r->{status} == 302 && defined MSTest::hdr($r, 'X-MirrorSel-Mirror')) {
        my $loc = MSTest::hdr($r, 'Location') // '';
        like($loc, qr{^http://m2?\.mirror\.test/pub/(?:big/file\.iso|[^?#]*)$},
             "$name: redirect to a mirror base URL and a plain path");
        unlike($loc, qr{%0[0ad]|passwd|%2e%2e|\.\./}i, "$name: nothing smuggled into Location");
    }
    if ($r->{status} == 200) {
        unlike($r->{body}, qr/^root:/m, "$name: no file outside the tree served");
    }
}

# --- hostile headers --------------------------------------------------------------------
my @xff = ('garbage', '999.1.1.1', '192.0.2.10, 198.51.100.10', '::ffff:192.0.2.10',
           '[2001:db8:de::1]', '2001:db8:de::1%eth0', ('9' x 300), '', ' , , ',
           '192.0.2.10:8080', 'unknown');
for my $x (@xff) {
    my $r = $t->get(MSTest::url('big/file.iso'), ip => $x);
    ok($r->{status} == 302 || $r->{status} == 200 || $r->{status} == 400,
       "X-Forwarded-For '" . substr($x, 0, 40) . "': 302, 200 or 400 (got $r->{status})");
    $t->location_safe($r, "X-Forwarded-For '" . substr($x, 0, 40) . "'");
}
for my $ua ("\xff\xfe\x80", 'a' x 7000, 'lftp/' . ('x' x 5000)) {
    my $r = $t->get(MSTest::url('big/file.iso'), ip => $berlin, ua => $ua);
    ok($r->{status} == 302 || $r->{status} == 200, 'odd User-Agent: 302 or 200');
    $t->location_safe($r, 'odd User-Agent');
}
for my $h (['Accept', 'application/metalink4+xml, */*'], ['Accept', "\x80\xff"],
           ['Range', 'bytes=0-9'], ['Range', 'bytes=99999999-'], ['If-None-Match', '*'],
           ['If-Modified-Since', 'Sat, 29 Oct 2094 19:43:31 GMT'], ['Host', 'evil.example']) {
    my $r = $t->get(MSTest::url('big/file.iso'), ip => $berlin, headers => $h);
    ok($r->{status} > 0 && $r->{status} < 500, "header $h->[0]: no 5xx (got $r->{status})");
    $t->location_safe($r, "header $h->[0]");
}

# --- still alive, still right ------------------------------------------------------------
ok($t->running, 'httpd survived every hostile request');
$t->redirects_to($t->get(MSTest::url('big/file.iso'), ip => $berlin), 'm', 'country', 'big/file.iso',
                 'after the hostile requests');

$t->finish(allow => \@MSTest::CORE_REFUSALS);
