# What is served locally, untouched, with the origin's own bytes: files
# below MirrorSelMinSize, paths matching MirrorSelExcludeFileMask, clients
# matching MirrorSelExcludeUserAgent or inside MirrorSelExcludeNetwork (the
# values of conf/mirrorsel.conf), directories, missing files, files not in the
# index, other methods, and everything outside the MirrorSelEngine directory.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use MSTest;

my $t = MSTest->new;
$t->standard_origin;
# larger than MirrorSelMinSize, so only the file mask keeps them local
$t->origin_file($_, 5000) for qw(big/file.iso.sha256 big/file.iso.asc big/file.iso.sig
                                 big/SHA256SUMS.sha256sum big/x.torrent big/x.md5);
$t->origin_file('big/sha256-in-the-name.iso', 5000);     # mask is anchored at the end
# under a <Directory> that clears the inherited exclusions with "none"
$t->origin_file($_, 5000) for qw(big/free/SUMS.sha256 big/free/x.iso);
# under a <Directory> that raises MirrorSelMinSize to 8192
$t->origin_file('big/min8k/5000.bin', 5000);
$t->origin_file('big/min8k/9000.bin', 9000);
# under a <Directory> whose mask is anchored at the start of the origin-relative path
$t->origin_file('big/masked/x.iso', 5000);
# a file given a handler of its own (as PHP is through SetHandler proxy:fcgi)
$t->origin_file('big/handled.iso', 9000);
$t->init;
$t->mirror('m', MSTest::at('berlin'));
$t->index_origin;
$t->fixture('copy-all', 'm');
$t->fixture('all-up', 'm');
# on the origin, but not in the index
$t->origin_file('big/notindexed.iso', 20000);
# outside the MirrorSelEngine directory
open my $fh, '>', $t->dir . '/htdocs/outside.iso' or die $!;
print $fh 'o' x 20000;
close $fh;
my $root = $t->origin;
$t->start(extra => <<"EOF");
<Directory "$root/big/free">
    MirrorSelExcludeFileMask none
    MirrorSelExcludeUserAgent none
    MirrorSelExcludeNetwork none
</Directory>
<Directory "$root/big/min8k">
    MirrorSelMinSize 8192
</Directory>
<Directory "$root/big/masked">
    MirrorSelExcludeFileMask "^big/masked/"
</Directory>
<Directory "$root/big">
    <Files "handled.iso">
        SetHandler server-status
    </Files>
</Directory>
EOF

my $berlin = MSTest::client('berlin');
my $big = MSTest::url('big/file.iso');

# sanity: the same file does redirect for a plain client
$t->redirects_to($t->get($big, ip => $berlin), 'm', 'country', 'big/file.iso', 'plain client');

# --- MirrorSelMinSize 4096 -----------------------------------------------------
$t->served_locally($t->get(MSTest::url('big/below-min.bin'), ip => $berlin),
                   'big/below-min.bin', '4095 bytes: below MirrorSelMinSize');
$t->served_locally($t->head(MSTest::url('big/below-min.bin'), ip => $berlin),
                   'big/below-min.bin', 'HEAD of 4095 bytes', method => 'HEAD');
$t->served_locally($t->get(MSTest::url('small/readme.txt'), ip => $berlin),
                   'small/readme.txt', '100 bytes');
$t->redirects_to($t->get(MSTest::url('big/exactly-min.bin'), ip => $berlin), 'm', 'country',
                 'big/exactly-min.bin', '4096 bytes: not below MirrorSelMinSize');

# --- MirrorSelExcludeFileMask ----------------------------------------------------
for my $f (qw(big/file.iso.sha256 big/file.iso.asc big/file.iso.sig big/SHA256SUMS.sha256sum
              big/x.torrent big/x.md5)) {
    $t->served_locally($t->get(MSTest::url($f), ip => $berlin), $f, "$f: matches the file mask");
}
$t->redirects_to($t->get(MSTest::url('big/sha256-in-the-name.iso'), ip => $berlin), 'm', 'country',
                 'big/sha256-in-the-name.iso', 'mask is anchored at the end of the path');

# --- MirrorSelExcludeUserAgent "(?i)^(lftp|mirrorsel)/" --------------------------------
for my $ua ('lftp/4.9.2', 'LFTP/4.8', 'mirrorsel/0.1.0', 'MirrorSel/1') {
    $t->served_locally($t->get($big, ip => $berlin, ua => $ua), 'big/file.iso',
                       "User-Agent '$ua': excluded");
}
for my $ua ('curl/8.5.0 lftp/1', 'Wget/1.21.3', 'aria2/1.36.0', '') {
    $t->redirects_to($t->get($big, ip => $berlin, ua => $ua), 'm', 'country', 'big/file.iso',
                     "User-Agent '$ua': not excluded");
}

# --- MirrorSelExcludeNetwork 10.0.0.0/8 192.168.0.0/16 fd00::/8 --------------------------
for my $ip ('10.0.0.1', '10.255.255.254', '192.168.1.20', 'fd00::1', 'fdff:1234::5') {
    $t->served_locally($t->get($big, ip => $ip), 'big/file.iso', "client $ip: excluded network");
}
for my $ip ('172.16.0.1', '192.169.0.1', 'fe80::1', '2001:db8:ff::1') {
    my $r = $t->get($big, ip => $ip);
    $t->redirects_to($r, 'm', undef, 'big/file.iso', "client $ip: outside the excluded networks");
}

# --- directories, missing files, the index ----------------------------------------------
{
    my $r = $t->get(MSTest::url('big') . '/', ip => $berlin);
    is($r->{status}, 200, 'directory: 200 (autoindex)');
    like($r->{body}, qr/file\.iso/, 'directory: the listing names its files');
    ok(!defined MSTest::hdr($r, 'X-MirrorSel-Mirror') && !defined MSTest::hdr($r, 'Location'),
       'directory: no redirect headers');

    $r = $t->get(MSTest::url('big'), ip => $berlin);
    is($r->{status}, 301, 'directory without slash: mod_dir 301');
    like(MSTest::hdr($r, 'Location') // '', qr{^http://127\.0\.0\.1:\d+/pub/big/$},
         'directory without slash: to itself with a slash');
    ok(!defined MSTest::hdr($r, 'X-MirrorSel-Mirror'), 'directory without slash: no mirror');

    for my $d ('/pub/', '/pub/emptydir/', '/pub/dir/sub/') {
        $r = $t->get($d, ip => $berlin);
        is($r->{status}, 200, "$d: 200");
        ok(!defined MSTest::hdr($r, 'X-MirrorSel-Mirror'), "$d: no mirror");
    }
    for my $p ('/pub/nope.iso', '/pub/big/nope/file.iso', '/pub/big/file.iso.missing',
               '/pub/big/file.iso/extra') {
        $r = $t->get($p, ip => $berlin);
        is($r->{status}, 404, "$p: 404");
        ok(!defined MSTest::hdr($r, 'X-MirrorSel-Mirror') && !defined MSTest::hdr($r, 'Location'),
           "$p: no redirect headers");
    }
    $t->served_locally($t->get(MSTest::url('big/notindexed.iso'), ip => $berlin),
                       'big/notindexed.iso', 'on the origin but not indexed');
}

# --- outside the MirrorSelEngine directory, other methods -------------------------------
{
    my $r = $t->get('/outside.iso', ip => $berlin);
    is($r->{status}, 200, 'outside the engine directory: 200');
    is(length $r->{body}, 20000, 'outside the engine directory: the whole file');
    ok(!defined MSTest::hdr($r, 'X-MirrorSel-Mirror'), 'outside the engine directory: no mirror');

    for my $m (qw(POST PUT DELETE OPTIONS)) {
        $r = $t->request($big, method => $m, ip => $berlin,
                         headers => [ 'Content-Length' => 0 ]);
        ok($r->{status} > 0 && $r->{status} < 500 && $r->{status} != 302,
           "$m: not redirected, no 5xx (status $r->{status})");
        ok(!defined MSTest::hdr($r, 'X-MirrorSel-Mirror'), "$m: no mirror");
    }
}

# --- what the access log says ----------------------------------------------------------
{
    my %result;
    MSTest::eventually(5, sub {
        %result = ();
        for my $e ($t->access_entries) {
            $result{"$e->{uri}|$e->{ip}"} = $e->{result};
        }
        exists $result{"/pub/big/x.md5|$berlin"};
    });
    is($result{"/pub/big/below-min.bin|$berlin"}, 'local', 'MIRRORSEL_RESULT=local below MinSize');
    is($result{"/pub/big/x.md5|$berlin"}, 'excluded', 'MIRRORSEL_RESULT=excluded for the file mask');
    is($result{'/pub/big/file.iso|10.0.0.1'}, 'excluded', 'MIRRORSEL_RESULT=excluded for a network');
    is($result{'/pub/big/file.iso|172.16.0.1'}, 'redirect', 'MIRRORSEL_RESULT=redirect');
}

# --- "none" clears what a <Directory> inherits ------------------------------------------------
$t->redirects_to($t->get(MSTest::url('big/free/SUMS.sha256'), ip => $berlin), 'm', 'country',
                 'big/free/SUMS.sha256', 'MirrorSelExcludeFileMask none: a .sha256 is redirected there');
$t->redirects_to($t->get(MSTest::url('big/free/x.iso'), ip => $berlin, ua => 'lftp/4.9.2'), 'm',
                 'country', 'big/free/x.iso', 'MirrorSelExcludeUserAgent none: lftp is redirected there');
$t->redirects_to($t->get(MSTest::url('big/free/x.iso'), ip => '10.1.2.3'),
                 'm', 'world', 'big/free/x.iso', 'MirrorSelExcludeNetwork none: the LAN is redirected there');
$t->served_locally($t->get(MSTest::url('big/file.iso.sha256'), ip => $berlin), 'big/file.iso.sha256',
                   'outside it, the inherited mask still applies');

# --- a nested <Directory> overrides the inherited MirrorSelMinSize --------------------------
$t->served_locally($t->get(MSTest::url('big/min8k/5000.bin'), ip => $berlin), 'big/min8k/5000.bin',
                   'MirrorSelMinSize 8192 in a nested <Directory>: 5000 bytes served locally');
$t->redirects_to($t->get(MSTest::url('big/min8k/9000.bin'), ip => $berlin), 'm', 'country',
                 'big/min8k/9000.bin', 'MirrorSelMinSize 8192 in a nested <Directory>: 9000 bytes redirected');

# --- the file mask sees the origin-relative path (README), not the file system's ----------
$t->served_locally($t->get(MSTest::url('big/masked/x.iso'), ip => $berlin), 'big/masked/x.iso',
                   'MirrorSelExcludeFileMask "^big/masked/": matched from the start of the relative path');

# --- a file with a handler of its own is that handler's, not the mirrors' ----------
{
    my $r = $t->get(MSTest::url('big/handled.iso'), ip => $berlin);
    is($r->{status}, 200, 'a file given SetHandler server-status: answered by that handler');
    like($r->{body}, qr/Apache Server Status/, 'its page, not the file and not a redirect');
    ok(!defined MSTest::hdr($r, 'Location'), 'no Location');
}

$t->finish;
