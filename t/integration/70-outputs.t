# What clients see besides the redirect (SPEC "Outputs"): the Link, Digest
# and Repr-Digest headers of a redirect; FILE.meta4, ?meta4 and Accept:
# application/metalink4+xml (checked with xmllint against RFC 5854's
# elements); FILE.mirrorlist, ?mirrorlist, ?mirrorlist=json and Accept:
# application/json (JSON::PP); FILE.sha256. Real files of those names are
# served as themselves; documents about files not in the index are 404.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use MSTest;
use MSOutputs;

my $t = MSTest->new;
$t->standard_origin;
$t->origin_file('big/other.iso.meta4', \"a real metalink file on the origin\n");
$t->origin_file('big/file.iso.sha256', \"the origin's own checksum file\n");
$t->origin_file('links2/two.iso', 30000);
$t->origin_file('links0/none.iso', 30000);
$t->origin_file('big/nohash.iso', 30000);
$t->origin_file('big/lonely.iso', 30000);
$t->init;
my @mirrors = (
    [ 'de1', 'berlin' ], [ 'de2', 'munich' ], [ 'fr', 'paris' ], [ 'at', 'vienna' ],
    [ 'gb', 'london' ], [ 'us', 'newyork' ], [ 'jp', 'tokyo' ],
);
$t->mirror($_->[0], MSTest::at($_->[1])) for @mirrors;
$t->index_origin;
for my $m (map { $_->[0] } @mirrors) {
    $t->fixture('copy-all', $m);
    $t->fixture('all-up', $m);
    $t->fixture('uncopy', $m, 'big/lonely.iso');
}
MSOutputs::tamper($t, 'nohash', 'big/nohash.iso');
$t->origin_file('big/late.iso', 30000);          # on disk, not in the index
my $root = $t->origin;
$t->start(extra => <<"EOF");
<Directory "$root/links2">
    MirrorSelLinkHeaders 2
</Directory>
<Directory "$root/links0">
    MirrorSelLinkHeaders 0
</Directory>
EOF

my $berlin = MSTest::client('berlin');
my $port = $t->port;
my $origin_base = "http://127.0.0.1:$port";
my $file = 'big/file.iso';
my $url = MSTest::url($file);
my $bytes = $t->origin_bytes($file);
my $M = \&MSOutputs::ml;
my $URLS = '/' . $M->('metalink') . '/' . $M->('file') . '/' . $M->('url');

# --- the redirect's headers ----------------------------------------------------------
my $redirect = $t->get($url, ip => $berlin);
$t->redirects_to($redirect, 'de1', 'country', $file, 'plain request');
my @links = MSOutputs::links($redirect);
my @dup = grep { ($_->{rel} // '') eq 'duplicate' } @links;
is(scalar @dup, 5, 'MirrorSelLinkHeaders 5: five rel=duplicate Links of seven mirrors');
is_deeply([ map { $_->{pri} } @dup ], [ 1 .. 5 ], 'pri=1..5 in order');
is($dup[0]{url}, MSTest::hdr($redirect, 'Location'), 'pri=1 is the Location');
is($dup[0]{geo}, 'de', 'geo=de for the Berlin mirror (lower case)');
my %base = map { $_->[0] => "http://$_->[0].mirror.test/pub/" } @mirrors;
for my $l (@dup) {
    ok((grep { $l->{url} eq "$_$file" } values %base), "Link $l->{pri}: a registered mirror's URL of the file")
        or diag($l->{url});
    like($l->{geo} // '', qr/^[a-z]{2}$/, "Link $l->{pri}: geo is a lower-case country");
}
my %seen_url;
ok(!(grep { $seen_url{ $_->{url} }++ } @dup), 'no mirror listed twice');
my ($described) = grep { ($_->{rel} // '') eq 'describedby' } @links;
ok($described, 'a rel=describedby Link');
is($described->{url}, "$origin_base$url.meta4", 'describedby: the absolute URL of the .meta4');
is($described->{type}, 'application/metalink4+xml', 'describedby: type="application/metalink4+xml"');
is(MSTest::hdr($redirect, 'Digest'), MSOutputs::digest($bytes), 'Digest: SHA-256 of the origin bytes (base64)');
is(MSTest::hdr($redirect, 'Repr-Digest'), MSOutputs::repr_digest($bytes),
   'Repr-Digest: sha-256=:base64: of the origin bytes');
like(MSTest::hdr($redirect, 'Vary') // '', qr/\bAccept\b/, 'redirect: Vary: Accept');

# The Link order is the head of the full ranking (the redirect ranks only
# what it lists, a document ranks everything: the two must agree).
my $m4 = $t->get("$url.meta4", ip => $berlin);
is($m4->{status}, 200, 'FILE.meta4: 200');
is(MSTest::hdr($m4, 'Content-Type'), 'application/metalink4+xml', 'FILE.meta4: Content-Type');
like(MSTest::hdr($m4, 'Cache-Control') // '', qr/private/, 'FILE.meta4: Cache-Control: private');
ok(!defined MSTest::hdr($m4, 'Vary'), 'FILE.meta4: no Vary (not negotiated)');
my $f = MSOutputs::meta4_ok($t, $m4->{body}, 'FILE.meta4');
my @urls = MSOutputs::xpath_list($f, $URLS);
is(scalar @urls, 8, 'meta4: seven mirrors and the origin');
is_deeply([ @urls[0 .. 4] ], [ map { $_->{url} } @dup ], 'meta4: its first five URLs are the Link headers, in order');
is($urls[-1], "$origin_base$url", 'meta4: the origin URL last');
is_deeply([ MSOutputs::xpath_list($f, "$URLS/\@priority") ], [ 1 .. 8 ], 'meta4: priorities 1..8');
is_deeply([ MSOutputs::xpath_list($f, "$URLS/\@location") ], [qw(de de at fr gb us jp)],
          'meta4: location of each mirror, none for the origin');
is(MSOutputs::xpath($f, 'string(/' . $M->('metalink') . '/' . $M->('file') . '/@name)'), 'file.iso',
   'meta4: file name');
is(MSOutputs::xpath($f, 'string(//' . $M->('size') . ')'), length $bytes, 'meta4: size');
is(MSOutputs::xpath($f, 'string(//' . $M->('hash') . "[\@type='sha-256'])"), MSOutputs::hex_of($bytes),
   'meta4: sha-256 hash of the origin bytes');

# ?meta4 and Accept give the same document; negotiation says Vary.
my $q = $t->get("$url?meta4", ip => $berlin);
is($q->{status}, 200, '?meta4: 200');
is($q->{body}, $m4->{body}, '?meta4: the same document as FILE.meta4');
for my $accept ('application/metalink4+xml', '*/*,application/metalink4+xml,application/metalink+xml',
                'application/json;q=0.5, application/metalink4+xml') {
    my $r = $t->get($url, ip => $berlin, headers => [ Accept => $accept ]);
    is($r->{status}, 200, "Accept: $accept: 200");
    is(MSTest::hdr($r, 'Content-Type'), 'application/metalink4+xml', "Accept: $accept: a Metalink");
    is($r->{body}, $m4->{body}, "Accept: $accept: the same document");
    like(MSTest::hdr($r, 'Vary') // '', qr/\bAccept\b/, "Accept: $accept: Vary: Accept");
    like(MSTest::hdr($r, 'Content-Disposition') // '', qr/^attachment; filename="file\.iso\.meta4"/,
         "Accept: $accept: saved as file.iso.meta4, not as the file");
}
for my $accept ('*/*', 'text/html,application/xhtml+xml,*/*;q=0.8', 'application/metalink4+xml;q=0',
                'application/*') {
    my $r = $t->get($url, ip => $berlin, headers => [ Accept => $accept ]);
    is($r->{status}, 302, "Accept: $accept: the redirect");
}

# --- JSON ------------------------------------------------------------------------------------
my $json = $t->get("$url?mirrorlist=json", ip => $berlin);
is($json->{status}, 200, '?mirrorlist=json: 200');
like(MSTest::hdr($json, 'Content-Type') // '', qr{^application/json}, '?mirrorlist=json: Content-Type');
is(MSTest::hdr($json, 'X-Content-Type-Options'), 'nosniff', '?mirrorlist=json: nosniff');
my $doc = MSOutputs::json_ok($json->{body}, '?mirrorlist=json');
is($doc->{file}{path}, $file, 'json: file.path');
is($doc->{file}{size}, length $bytes, 'json: file.size');
is($doc->{file}{sha256}, MSOutputs::hex_of($bytes), 'json: file.sha256');
is($doc->{file}{url}, "$origin_base$url", 'json: file.url');
is($doc->{file}{mtime}, 1700000000, 'json: file.mtime');
is($doc->{client}{country}, 'DE', 'json: client.country');
is($doc->{client}{address}, $berlin, 'json: client.address');
is(scalar @{ $doc->{mirrors} || [] }, 7, 'json: seven mirrors');
is_deeply([ map { $_->{url} } @{ $doc->{mirrors} } ], [ @urls[0 .. 6] ], 'json: the meta4 order');
is($doc->{mirrors}[0]{tier}, 'country', 'json: first mirror in tier country');
ok(defined $doc->{mirrors}[0]{seen} && $doc->{mirrors}[0]{seen} > 1700000000,
   'json: when a scan last saw the copy (not lost to a cache)') or diag(explain $doc->{mirrors}[0]);
for my $accept ('application/json', 'application/json, text/plain, */*') {
    my $r = $t->get($url, ip => $berlin, headers => [ Accept => $accept ]);
    like(MSTest::hdr($r, 'Content-Type') // '', qr{^application/json}, "Accept: $accept: JSON");
    like(MSTest::hdr($r, 'Vary') // '', qr/\bAccept\b/, "Accept: $accept: Vary: Accept");
    my $d = MSOutputs::json_ok($r->{body}, "Accept: $accept");
    is_deeply([ map { $_->{name} } @{ $d->{mirrors} || [] } ], [ map { $_->{name} } @{ $doc->{mirrors} } ],
              "Accept: $accept: the same mirrors");
}

# The mirror list asked for by URL, as JSON to a program that names it
# above text/html (SPEC: "Accept: application/json gives the same as JSON").
for my $u ("$url.mirrorlist", "$url?mirrorlist") {
    for my $accept ('application/json', 'text/html;q=0.5, application/json') {
        my $r = $t->get($u, ip => $berlin, headers => [ Accept => $accept ]);
        like(MSTest::hdr($r, 'Content-Type') // '', qr{^application/json}, "$u, Accept: $accept: JSON");
        like(MSTest::hdr($r, 'Vary') // '', qr/\bAccept\b/, "$u, Accept: $accept: Vary: Accept");
        my $d = MSOutputs::json_ok($r->{body}, "$u, Accept: $accept");
        is($d->{file}{url}, "$origin_base$url", "$u, Accept: $accept: the file's origin URL");
    }
    # JSON only for a q *higher* than text/html's (README): a tie is HTML
    for my $accept ('text/html,application/xhtml+xml,*/*;q=0.8', 'application/json;q=0.5, text/html',
                    '*/*', 'application/json, text/html', 'text/html;q=0.7, application/json;q=0.7') {
        my $r = $t->get($u, ip => $berlin, headers => [ Accept => $accept ]);
        is(MSTest::hdr($r, 'Content-Type'), 'text/html; charset=utf-8', "$u, Accept: $accept: HTML");
    }
}

# --- HTML ----------------------------------------------------------------------------------
for my $u ("$url.mirrorlist", "$url?mirrorlist") {
    my $r = $t->get($u, ip => $berlin);
    is($r->{status}, 200, "$u: 200");
    is(MSTest::hdr($r, 'Content-Type'), 'text/html; charset=utf-8', "$u: text/html; charset=utf-8");
    like(MSTest::hdr($r, 'Content-Security-Policy') // '', qr/default-src 'none'/, "$u: a strict CSP");
    like($r->{body}, qr/^<!DOCTYPE html>/i, "$u: an HTML5 document");
    like($r->{body}, qr/\Q@{[ MSOutputs::hex_of($bytes) ]}\E/, "$u: shows the SHA-256");
    my $rows = () = $r->{body} =~ /<tr\b/g;
    ok($rows >= 8, "$u: a table row per mirror ($rows rows)");
    like($r->{body}, qr{href="\./file\.iso\.meta4"}, "$u: links the .meta4");
}

# --- FILE.sha256 ------------------------------------------------------------------------------
{
    my $r = $t->get(MSTest::url('big/other.iso') . '.sha256', ip => $berlin);
    is($r->{status}, 200, 'FILE.sha256: 200');
    like(MSTest::hdr($r, 'Content-Type') // '', qr{^text/plain}, 'FILE.sha256: text/plain');
    is($r->{body}, MSOutputs::hex_of($t->origin_bytes('big/other.iso')) . "  other.iso\n",
       'FILE.sha256: "<hex>  <basename>\n" of the origin bytes');
    open my $fh, '>', $t->dir . '/other.iso.sha256' or die;
    print $fh $r->{body};
    close $fh;
    my ($rc, $out, $err) = MSOutputs::run([ $t->dir, $t->origin . '/big' ], 'sha256sum', '--check', '--strict',
                                          $t->dir . '/other.iso.sha256');
    is($rc, 0, 'FILE.sha256: sha256sum --check accepts it against the origin file') or diag("$out$err");
}

# --- real files of those names are served as themselves -------------------------------------
$t->served_locally($t->get(MSTest::url('big/other.iso.meta4'), ip => $berlin), 'big/other.iso.meta4',
                   'a real FILE.meta4 on the origin');
$t->served_locally($t->get(MSTest::url('big/file.iso.sha256'), ip => $berlin), 'big/file.iso.sha256',
                   'a real FILE.sha256 on the origin');

# --- MirrorSelLinkHeaders per directory -------------------------------------------------------
{
    my $r = $t->get(MSTest::url('links2/two.iso'), ip => $berlin);
    is($r->{status}, 302, 'links2: redirect');
    my @l = MSOutputs::links($r);
    is(scalar(grep { $_->{rel} eq 'duplicate' } @l), 2, 'MirrorSelLinkHeaders 2: two rel=duplicate');
    is(scalar(grep { $_->{rel} eq 'describedby' } @l), 1, 'MirrorSelLinkHeaders 2: the describedby');
    $r = $t->get(MSTest::url('links0/none.iso'), ip => $berlin);
    $t->redirects_to($r, 'de1', 'country', 'links0/none.iso', 'MirrorSelLinkHeaders 0');
    @l = MSOutputs::links($r);
    is(scalar(grep { $_->{rel} eq 'duplicate' } @l), 0, 'MirrorSelLinkHeaders 0: no rel=duplicate');
    is(scalar(grep { $_->{rel} eq 'describedby' } @l), 1, 'MirrorSelLinkHeaders 0: still the describedby');
    $r = $t->get(MSTest::url('links0/none.iso') . '.meta4', ip => $berlin);
    my $g = MSOutputs::meta4_ok($t, $r->{body}, 'links0 meta4');
    is(scalar(() = MSOutputs::xpath_list($g, $URLS)), 8, 'MirrorSelLinkHeaders 0: the meta4 lists all');
}

# --- a file without a known hash -----------------------------------------------------------
{
    my $nh = MSTest::url('big/nohash.iso');
    my $r = $t->get($nh, ip => $berlin);
    $t->redirects_to($r, 'de1', 'country', 'big/nohash.iso', 'no hash: still redirected');
    ok(!defined MSTest::hdr($r, 'Digest') && !defined MSTest::hdr($r, 'Repr-Digest'),
       'no hash: no Digest, no Repr-Digest');
    is(scalar(grep { $_->{rel} eq 'duplicate' } MSOutputs::links($r)), 5, 'no hash: Link headers');
    $r = $t->get("$nh.meta4", ip => $berlin);
    my $g = MSOutputs::meta4_ok($t, $r->{body}, 'no hash meta4');
    is(MSOutputs::xpath($g, 'count(//' . $M->('hash') . ')'), 0, 'no hash: no <hash> in the meta4');
    is(scalar(() = MSOutputs::xpath_list($g, $URLS)), 8, 'no hash: the meta4 lists the mirrors');
    $r = $t->get("$nh?mirrorlist=json", ip => $berlin);
    my $d = MSOutputs::json_ok($r->{body}, 'no hash json');
    ok(exists $d->{file}{sha256} && !defined $d->{file}{sha256}, 'no hash: json sha256 is null');
    is($t->get("$nh.sha256", ip => $berlin)->{status}, 404, 'no hash: FILE.sha256 is 404');
}

# --- files not in the index, and names that are no file ------------------------------------
for my $u (MSTest::url('big/late.iso') . '.meta4', MSTest::url('big/late.iso') . '?meta4',
           MSTest::url('big/late.iso') . '.mirrorlist', MSTest::url('big/late.iso') . '?mirrorlist=json',
           MSTest::url('big/late.iso') . '.sha256', MSTest::url('big/missing.iso') . '.meta4',
           MSTest::url('big') . '.meta4', MSTest::url('emptydir') . '.mirrorlist',
           MSTest::url('big/file.iso.meta4') . '.meta4') {
    is($t->get($u, ip => $berlin)->{status}, 404, "$u: 404");
}
$t->served_locally($t->get(MSTest::url('big/late.iso'), ip => $berlin), 'big/late.iso',
                   'not indexed: the file itself');
$t->served_locally($t->get(MSTest::url('big/late.iso'), ip => $berlin,
                           headers => [ Accept => 'application/metalink4+xml' ]),
                   'big/late.iso', 'not indexed, Accept metalink: the file itself');

# --- held by no mirror: the document lists the origin only --------------------------------
{
    my $r = $t->get(MSTest::url('big/lonely.iso') . '.meta4', ip => $berlin);
    my $g = MSOutputs::meta4_ok($t, $r->{body}, 'no mirror meta4');
    is_deeply([ MSOutputs::xpath_list($g, $URLS) ], [ $origin_base . MSTest::url('big/lonely.iso') ],
              'no mirror: the meta4 lists the origin alone');
    $t->served_locally($t->get(MSTest::url('big/lonely.iso'), ip => $berlin), 'big/lonely.iso',
                       'no mirror: the file itself');
}

# --- documents for what is not redirected ------------------------------------------------------
{
    my $r = $t->get(MSTest::url('small/readme.txt') . '.meta4', ip => $berlin);
    is($r->{status}, 200, 'below MirrorSelMinSize: FILE.meta4 answered');
    my $g = MSOutputs::meta4_ok($t, $r->{body}, 'small meta4');
    is(MSOutputs::xpath($g, 'string(//' . $M->('size') . ')'), 100, 'below MirrorSelMinSize: its size');
    $t->served_locally($t->get(MSTest::url('small/readme.txt'), ip => $berlin), 'small/readme.txt',
                       'below MirrorSelMinSize: the file itself');

    my $small = $t->get(MSTest::url('small/readme.txt'), ip => $berlin);
    is(MSTest::hdr($small, 'Cache-Control'), undef,
       'below MirrorSelMinSize: served to everyone alike, no Cache-Control: private');
    is(MSTest::hdr($small, 'Vary'), undef, 'below MirrorSelMinSize: no Vary');

    my $lan = '10.1.2.3';
    my $ex = $t->get($url, ip => $lan);
    $t->served_locally($ex, $file, 'excluded client: the file itself');
    is(MSTest::hdr($ex, 'Cache-Control'), 'private',
       'excluded client: Cache-Control: private (others are redirected)');
    like(MSTest::hdr($ex, 'Vary') // '', qr/\bAccept\b/, 'excluded client: Vary: Accept');
    my $lonely = $t->get(MSTest::url('big/lonely.iso'), ip => $berlin);
    $t->served_locally($lonely, 'big/lonely.iso', 'held by no mirror: the file itself');
    is(MSTest::hdr($lonely, 'Cache-Control'), 'private', 'held by no mirror: Cache-Control: private');
    like(MSTest::hdr($lonely, 'Vary') // '', qr/\bAccept\b/,
         'held by no mirror: Vary: Accept (a Metalink for a client that asks)');
    $t->served_locally($t->get($url, ip => $lan, headers => [ Accept => 'application/metalink4+xml' ]),
                       $file, 'excluded client, Accept metalink: the file itself (no negotiation)');
    $r = $t->get("$url.meta4", ip => $lan);
    is($r->{status}, 200, 'excluded client: FILE.meta4 answered');
    MSOutputs::meta4_ok($t, $r->{body}, 'excluded client meta4');
    $r = $t->get("$url.sha256.meta4", ip => $berlin);     # the real .sha256 is a file too
    is($r->{status}, 200, 'FILE.meta4 of a file the FileMask excludes: answered');
}

# --- HEAD, https, ?country ---------------------------------------------------------------------
{
    my $h = $t->head("$url.meta4", ip => $berlin);
    is($h->{status}, 200, 'HEAD FILE.meta4: 200');
    is(MSTest::hdr($h, 'Content-Length'), length $m4->{body}, 'HEAD: the GET body length');
    is($h->{body}, '', 'HEAD: no body');

    my $s = $t->get("$url.meta4", ip => $berlin, ssl => 1);
    my $g = MSOutputs::meta4_ok($t, $s->{body}, 'https meta4');
    my @su = MSOutputs::xpath_list($g, $URLS);
    is(scalar(grep { m{^https://} } @su), 8, 'https: every URL https, the origin too')
        or diag(join "\n", @su);

    my $c = $t->get("$url.meta4?country=JP", ip => $berlin);
    $g = MSOutputs::meta4_ok($t, $c->{body}, '?country=JP meta4');
    is((MSOutputs::xpath_list($g, $URLS))[0], "http://jp.mirror.test/pub/$file", '?country=JP: jp first');
}

$t->finish;
