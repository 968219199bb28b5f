#!/bin/sh
# bench-scan.sh [BUILD] — the scanner's and prober's figures on loopback:
# scan rate (files/s) of a 100,000-file tree over rsync, FTP (MLSD) and HTTP
# (nginx autoindex; Apache autoindex, whose rounded sizes cost a HEAD per
# file), and the time to probe 200 mirrors of which some refuse connections
# and some never answer. Servers are started here on free 127.0.0.1 ports
# and stopped by pid. Env: BENCH_FILES (default 100000), BENCH_KEEP=1.
set -eu
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
[ -x "$BUILD/mirrorsel" ] || { echo "bench-scan.sh: $BUILD/mirrorsel missing: run make" >&2; exit 1; }
MS_BUILD=$BUILD exec perl -I "$ROOT/t/scan/lib" - "${BENCH_FILES:-100000}" <<'EOF'
use strict;
use warnings;
use ScanTest;
use File::Path qw(make_path remove_tree);
use Time::HiRes qw(time);

my $n = shift;
my $t = ScanTest->new(name => 'bench-scan');
my $origin = $t->origin;
my $per_dir = 1000;
my $t0 = time;
for my $i (0 .. $n - 1) {
    my $dir = sprintf('%s/d%03d', $origin, int($i / $per_dir));
    make_path($dir) unless $i % $per_dir;
    my $f = sprintf('%s/file-%06d.bin', $dir, $i);
    open my $fh, '>', $f or die "$f: $!";
    print $fh 'x' x (1 + $i % 97);
    close $fh;
    utime 1714564830, 1714564830, $f;
}
$t->init;
$t->tool('index', $origin);
printf "tree: %d files in %d directories (made and indexed in %.1f s)\n",
    $n, int(($n + $per_dir - 1) / $per_dir), time - $t0;

my $rp = $t->rsyncd(pub => $origin);
my $fp = $t->proftpd($origin);
my $lp = $t->proftpd($origin, label => 'proftpd-list', list_only => 1);
my $np = $t->nginx($origin);
my $ap = $t->apache($origin);
my %url = (
    'rsync'                    => "rsync://127.0.0.1:$rp/pub/",
    'ftp (proftpd, MLSD)'      => "ftp://mirror:secret\@127.0.0.1:$fp/",
    'ftp (proftpd, LIST only)' => "ftp://mirror:secret\@127.0.0.1:$lp/",
    'http (nginx autoindex)'   => "http://127.0.0.1:$np/",
    'http (Apache autoindex + HEAD per file)' => "http://127.0.0.1:$ap/",
);
my $k = 0;
for my $label ('rsync', 'ftp (proftpd, MLSD)', 'ftp (proftpd, LIST only)',
               'http (nginx autoindex)',
               'http (Apache autoindex + HEAD per file)') {
    my $name = 'm' . $k++;
    $t->add_mirror($name, $url{$label});
    my $s = time;
    my ($rc, $out, $err) = $t->run_tool('scan', $name, '--timeout', '120');
    my $dt = time - $s;
    die "scan over $label failed: $err" if $rc;
    my $r = $t->last_run($name);
    die "scan over $label saw $r->{fresh} fresh of $n\n" if $r->{fresh} != $n;
    my ($write) = $out =~ /, (\S+) s writing\)/;
    printf "scan %-42s %7.2f s  %8.0f files/s  (database write %s s)\n", $label, $dt,
        $n / $dt, $write // '?';
}

$t->tool('mirror', 'disable', "m$_") for 0 .. $k - 1;

# 200 mirrors: 140 answering, 40 refusing, 20 hanging; timeout 5 s.
my $closed = ScanTest::free_port();
my $hang = $t->hanging_server;
my $np2 = $t->nginx($origin, label => 'nginx-2');
for my $i (1 .. 200) {
    my $port = $i <= 140 ? ($i % 2 ? $np : $np2) : $i <= 180 ? $closed : $hang;
    $t->tool('mirror', 'add', "p$i", '--url', "http://127.0.0.1:$port/",
             '--scan-url', "rsync://127.0.0.1:$rp/pub/", '--country', 'DE');
}
# What each holds, as a scan of one directory over rsync records it (the
# prober asks for a file a scan saw fresh).
my ($rc, $out, $err) = $t->run_tool('scan', (map { "p$_" } 1 .. 200), '--path', 'd000',
                                 '--jobs', '8', '--timeout', '60');
die "scan of the probe mirrors failed: $err" if $rc;
my $s = time;
($rc, $out, $err) = $t->run_tool('probe', '--timeout', '5');
my $dt = time - $s;
die "probe failed: $err" if $rc;
my ($line) = $out =~ /^(probed .*)$/m;
printf "probe 200 mirrors (140 up, 40 refusing, 20 hanging; timeout 5 s): %.2f s  [%s]\n",
    $dt, $line // '';
ScanTest::stop_all();
remove_tree($t->dir) unless $ENV{BENCH_KEEP};
EOF
