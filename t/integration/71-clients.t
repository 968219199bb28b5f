# Real download clients against real mirrors (one httpd per mirror, see
# t/support/MSMirrors.pm): aria2c through the Metalink (FILE.meta4, and the
# plain URL by content negotiation) verifies the SHA-256, fails over when the
# first mirror is down, and rejects a corrupted copy; curl -L and wget follow
# the redirect and get the origin's bytes from the mirror.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use MSTest;
use MSMirrors;
use MSOutputs;

for my $bin (qw(aria2c curl wget)) {
    plan skip_all => "$bin is not installed (scripts/deps.sh installs it)"
        unless grep { -x "$_/$bin" } split /:/, $ENV{PATH};
}

my $t = MSTest->new;
$t->standard_origin;
my $file = 'big/large.iso';
$t->origin_file($file, 700_000);
$t->init;
my $ms = MSMirrors->new($t);
$ms->add('m1', MSTest::at('berlin'));
$ms->add('m2', MSTest::at('paris'));
$ms->add('m3', MSTest::at('newyork'));
$t->index_origin;
for my $m (qw(m1 m2 m3)) {
    $t->fixture('copy-all', $m);
    $t->fixture('all-up', $m);
}
$t->start;

my $ip = MSTest::client('berlin');
my $origin = 'http://127.0.0.1:' . $t->port;
my $url = $origin . MSTest::url($file);
my $want = $t->origin_bytes($file);
my $n = 0;

sub slurp { open my $fh, '<:raw', $_[0] or return undef; local $/; scalar <$fh> }

# GETs of the file each mirror has served so far.
sub served_now {
    my ($m) = @_;
    return scalar grep { m{^GET /pub/\Q$file\E 20[06]$} } $ms->requests($m);
}

# How many times mirror $m served the file, once the count reaches $want or
# 5 s pass: httpd logs a request after its last byte is sent, so a client
# may be done before the line is written.
sub served {
    my ($m, $want) = @_;
    MSTest::eventually(5, sub { served_now($m) >= $want });
    return served_now($m);
}

# aria2c URL into a fresh directory: (exit code, directory, its log).
sub aria2c {
    my ($u) = @_;
    my $dir = $t->dir . '/aria2c-' . ++$n;
    mkdir $dir or die "$dir: $!";
    my ($rc, $out, $err) = MSOutputs::run($dir, 'aria2c', '--no-conf', "--dir=$dir",
        '--header', "X-Forwarded-For: $ip", '--follow-metalink=mem', '--max-tries=2',
        '--retry-wait=1', '--connect-timeout=3', '--timeout=10', '--split=1',
        '--max-connection-per-server=1', '--file-allocation=none', '--summary-interval=0',
        '--console-log-level=warn', '--auto-file-renaming=false', '--log', "$dir/aria2c.log",
        '--log-level=info', $u);
    return ($rc, $dir, slurp("$dir/aria2c.log") // "$out$err");
}

# --- aria2c through FILE.meta4: from the first mirror, hash verified ------------------------
{
    my ($rc, $dir, $log) = aria2c("$url.meta4");
    is($rc, 0, 'aria2c FILE.meta4: exit 0') or diag($log);
    ok((slurp("$dir/large.iso") // '') eq $want, 'aria2c FILE.meta4: the origin bytes');
    like($log, qr/Verification finished successfully/, 'aria2c FILE.meta4: the SHA-256 was checked')
        or diag($log);
    is(served('m1', 1), 1, 'aria2c FILE.meta4: fetched from m1, the first of the list');
    is(served_now('m2') + served_now('m3'), 0, 'aria2c FILE.meta4: not from the others');
}

# --- aria2c on the plain URL: negotiates the Metalink (Accept) and uses it --------------------
{
    my ($rc, $dir, $log) = aria2c($url);
    is($rc, 0, 'aria2c plain URL: exit 0') or diag($log);
    ok((slurp("$dir/large.iso") // '') eq $want, 'aria2c plain URL: the origin bytes');
    like($log, qr/Download complete: \[MEMORY\]/, 'aria2c plain URL: went through the Metalink');
    like($log, qr/Verification finished successfully/, 'aria2c plain URL: the SHA-256 was checked');
    is(served('m1', 2), 2, 'aria2c plain URL: fetched from m1');
}

# --- the first mirror stopped: aria2c fails over to the next and still verifies -----------
{
    $ms->stop('m1');
    my ($rc, $dir, $log) = aria2c("$url.meta4");
    is($rc, 0, 'm1 down: aria2c exit 0') or diag($log);
    like($log, qr/127\.0\.0\.1:\Q@{[ $ms->port('m1') ]}\E/, 'm1 down: aria2c tried m1 first');
    ok((slurp("$dir/large.iso") // '') eq $want, 'm1 down: the origin bytes');
    is(served('m2', 1), 1, 'm1 down: fetched from m2, the next of the list');
    like($log, qr/Verification finished successfully/, 'm1 down: the SHA-256 was checked');
}

# --- a corrupted copy (same size, other bytes) on the mirror used: not accepted ----------
{
    $ms->corrupt('m2', $file);
    my ($rc, $dir, $log) = aria2c("$url.meta4");
    is(served('m2', 2), 2, 'corrupted m2: aria2c did fetch the corrupted copy');
    isnt($rc, 0, "corrupted m2: aria2c fails (exit $rc)");
    like($log, qr/Checksum validation failed|Checksum error/, 'corrupted m2: because the hash differs')
        or diag($log);
    ok(-e "$dir/large.iso.aria2", 'corrupted m2: the download is left unfinished (.aria2 control file)');
    $ms->start('m1');
}

# --- curl -L and wget follow the redirect ----------------------------------------------------
{
    my $dir = $t->dir;
    my ($rc, $out, $err) = MSOutputs::run($dir, 'curl', '-sS', '-L', '-H', "X-Forwarded-For: $ip",
        '-o', "$dir/curl.out", '-w', '%{url_effective} %{num_redirects}', $url);
    is($rc, 0, 'curl -L: exit 0') or diag($err);
    is($out, $ms->url('m1') . $file . ' 1', 'curl -L: one redirect, to m1');
    ok((slurp("$dir/curl.out") // '') eq $want, 'curl -L: the origin bytes');
    is(served('m1', 3), 3, 'curl -L: m1 served it');

    ($rc, $out, $err) = MSOutputs::run($dir, 'wget', '-nv', '--header', "X-Forwarded-For: $ip",
        '-O', "$dir/wget.out", $url);
    is($rc, 0, 'wget: exit 0') or diag($err);
    ok((slurp("$dir/wget.out") // '') eq $want, 'wget: the origin bytes');
    is(served('m1', 4), 4, 'wget: m1 served it');

    my $r = $t->get(MSTest::url($file), ip => $ip);
    $t->redirects_to($r, 'm1', 'country', $file, 'the redirect curl and wget followed');
}

$ms->stop_all;
for my $m (qw(m1 m2 m3)) {
    unlike($ms->error_log($m), qr/\[(?:\w+:)?(?:crit|alert|emerg)\]|Segmentation/, "mirror $m: error log clean");
}
$t->finish;
