#!/usr/bin/perl
# Scanning over http:// and https:// against real autoindex listings:
# nginx (exact sizes, GMT), Apache (rounded sizes, local time: confirmed by
# HEAD) and lighttpd; HTTPS with a self-signed certificate is refused by
# default and accepted with the mirror's CA file.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use ScanTest;
use Test::More;

my $t = ScanTest->new->standard_world;
my $tree = $t->standard_mirror('m');

my $np = $t->nginx($tree);
$t->add_mirror('nginx', "http://127.0.0.1:$np/");
my $ap = $t->apache($tree);
$t->add_mirror('apache', "http://127.0.0.1:$ap");
my $lp = $t->lighttpd($tree);
$t->add_mirror('lighttpd', "http://127.0.0.1:$lp/");

my ($rc, $out, $err) = $t->run_tool('scan', 'nginx', 'apache', 'lighttpd', '--jobs', '3');
is($rc, 0, 'three HTTP mirrors scanned') or diag($err);
$t->check_standard('nginx', 'nginx', precision => '60');
$t->check_standard('apache', 'apache', precision => '1');
$t->check_standard('lighttpd', 'lighttpd', precision => '1');
like($out, qr/^apache: ok: .*\(\S+ s, (\d+) requests, \S+ s writing\)/m, 'apache summary');

# A mirror's sub-tree URL.
my $sp = $t->nginx("$t->{dir}/trees", label => 'nginx-sub');
$t->add_mirror('sub', "http://127.0.0.1:$sp/m/");
($rc, $out, $err) = $t->run_tool('scan', 'sub');
is($rc, 0, 'scan URL below the server root') or diag($err);
is($t->last_run('sub')->{fresh}, 3, 'sub-tree URL: 3 fresh');

# HTTPS with a self-signed certificate.
my ($cert, $key) = $t->self_signed;
my $hp = $t->apache($tree, label => 'apache-tls', cert => $cert, key => $key);
$t->add_mirror('tls', "https://127.0.0.1:$hp/");
$t->add_mirror('tls-ca', "https://127.0.0.1:$hp/", ca_file => $cert);
($rc, $out, $err) = $t->run_tool('scan', 'tls');
is($rc, 1, 'self-signed certificate refused by default');
like($err, qr/scan tls: .*(certificate|SSL)/i, 'error names the TLS failure');
my $r = $t->last_run('tls');
is($r->{ok}, 0, 'failed run recorded');
like($r->{error}, qr/certificate|SSL/i, 'run error recorded');
is(scalar keys %{ $t->copies('tls') }, 0, 'no copies from a refused scan');
($rc, $out, $err) = $t->run_tool('scan', 'tls-ca');
is($rc, 0, 'accepted with the mirror\'s CA file') or diag($err);
$t->check_standard('tls-ca', 'https+ca', precision => '1');

done_testing;
