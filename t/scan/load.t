#!/usr/bin/perl
# Scans write while httpd redirects: with WAL and one short transaction per
# mirror, requests made during repeated scans of a 20,000-file tree all get
# their redirect. Prints how long the scans' write transactions took.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use MSTest;
use File::Path qw(make_path);
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(time);

my $t = MSTest->new(name => 'scan-load');
$t->standard_origin->init;
my $n = 20000;
for my $i (0 .. $n - 1) {
    my $d = sprintf('%s/bulk/d%02d', $t->origin, $i % 40);
    make_path($d) if $i < 40;
    open my $fh, '>', "$d/f$i.bin" or die;
    print $fh 'y' x (5000 + $i % 100);
    close $fh;
}
my $srv = MSTest::MirrorServer->new($t, 'a');
$srv->sync($t);
$srv->start;
$t->mirror('a', https => 0, http_url => $srv->url, MSTest::at('berlin'));
$t->index_origin;
$t->tool('scan');
$t->tool('probe');
$t->start;

my $berlin = MSTest::client('berlin');
my $r = $t->get('/pub/big/file.iso', ip => $berlin);
$t->redirects_to($r, 'a', 'country', 'big/file.iso', 'before the scans');

# Scans in a loop in the background; requests in the foreground.
my $pid = fork // die;
if (!$pid) {
    for (1 .. 4) {
        $t->tool_run('scan', 'a');
    }
    POSIX::_exit(0);
}
my ($total, $bad, $t0) = (0, 0, time);
while (waitpid($pid, WNOHANG) == 0) {
    my $res = $t->get($total % 2 ? '/pub/big/file.iso' : '/pub/big/other.iso', ip => $berlin);
    $total++;
    $bad++ if $res->{status} != 302;
    last if time - $t0 > 120;
}
waitpid $pid, 0;
my $dt = time - $t0;
cmp_ok($total, '>', 20, "$total requests during 4 scans of $n files ($dt s)");
is($bad, 0, 'no request failed or fell back while scans wrote');
my ($rc, $out) = $t->tool_run('scan', 'a');
like($out, qr/^a: ok: (\d+) files seen: \1 fresh/m, 'the scan itself ok');
diag("scan: " . ($out =~ /^(a: .*)$/m)[0]);
$srv->stop;
$t->finish;
