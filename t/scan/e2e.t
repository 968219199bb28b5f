#!/usr/bin/perl
# End to end with the module: add mirrors → index → scan → probe → requests
# redirected; change a file on the origin and index → no redirect to mirrors
# not yet synced; sync one mirror and `scan --path` → it gets the traffic
# again; stop a mirror and probe → no more traffic to it; start it again and
# probe → back; a mirror on [::1] only gets IPv6 clients. The mirrors are
# real httpds with autoindex listings.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use MSTest;
use Test::More;

my $t = MSTest->new(name => 'scan-e2e');
$t->standard_origin->init;
my %srv;
for my $n (qw(a b)) {
    $srv{$n} = MSTest::MirrorServer->new($t, $n);
    $srv{$n}->sync($t);
    $srv{$n}->start;
}
$t->mirror('a', https => 0, http_url => $srv{a}->url, MSTest::at('berlin'));
$t->mirror('b', https => 0, http_url => $srv{b}->url, MSTest::at('munich'));
$t->index_origin;
my $out = $t->tool('scan');
like($out, qr/^a: ok: 8 files seen: 8 fresh/m, 'scan a: all fresh') or diag($out);
like($out, qr/^b: ok: 8 files seen: 8 fresh/m, 'scan b: all fresh');
$out = $t->tool('probe');
like($out, qr/^probed 2: 2 up, 0 down/m, 'both mirrors up');
$t->start;

my $berlin = MSTest::client('berlin');
my $munich = MSTest::client('munich');
my $r = $t->get('/pub/big/file.iso', ip => $berlin);
$t->redirects_to($r, 'a', 'country', 'big/file.iso', 'scanned and probed: Berlin → a');
$r = $t->get('/pub/big/file.iso', ip => $munich);
$t->redirects_to($r, 'b', 'country', 'big/file.iso', 'Munich → b');

# The origin changes a file: no mirror has the new version yet.
$t->origin_file('big/file.iso', 65536, mtime => 1700005000);
$t->index_origin;
$r = $t->get('/pub/big/file.iso', ip => $berlin);
$t->served_locally($r, 'big/file.iso', 'changed on the origin: not sent to unsynced mirrors');

# Mirror a syncs; a rescan of that sub-tree sends traffic there again.
$srv{a}->sync($t);
$out = $t->tool('scan', 'a', '--path', 'big');
like($out, qr/^a: ok: 4 files seen: 4 fresh/m, 'scan a --path big');
$r = $t->get('/pub/big/file.iso', ip => $munich);
$t->redirects_to($r, 'a', 'country', 'big/file.iso', 'synced a gets the traffic, even from Munich');

# Mirror a goes down: the prober notices; traffic goes to b.
$srv{a}->stop;
$out = $t->tool('probe');
like($out, qr/^probed 2: 1 up, 1 down/m, 'probe: a down');
$r = $t->get('/pub/big/other.iso', ip => $berlin);
$t->redirects_to($r, 'b', 'country', 'big/other.iso', 'a down: Berlin → b');
$r = $t->get('/pub/big/file.iso', ip => $berlin);
$t->served_locally($r, 'big/file.iso', 'a down, b stale: served locally');

# Mirror a comes back (on a new port: registered anew) and is probed up.
$srv{a}->start;
$t->tool('mirror', 'edit', 'a', '--url', $srv{a}->url);
$t->{mirrors}{a}{http} = $srv{a}->url;
$out = $t->tool('probe');
like($out, qr/^probed 2: 2 up, 0 down/m, 'probe: a back up');
$r = $t->get('/pub/big/other.iso', ip => $berlin);
$t->redirects_to($r, 'a', 'country', 'big/other.iso', 'a back: Berlin → a');

# A mirror reachable over IPv6 only ([::1]): scanned and probed there, it is
# up over IPv6 and never probed over IPv4. An IPv6 client from Berlin goes to
# it, the only mirror up over IPv6; an IPv4 client from Berlin never does.
$srv{c} = MSTest::MirrorServer->new($t, 'c', v6 => 1);
$srv{c}->sync($t);
$srv{c}->start;
$t->mirror('c', https => 0, http_url => $srv{c}->url6, MSTest::at('paris'));
$out = $t->tool('scan', 'c');
like($out, qr/^c: ok: 8 files seen: 8 fresh/m, 'scan c over IPv6: all fresh') or diag($out);
$out = $t->tool('probe', 'c');
like($out, qr/^probed 1: 1 up, 0 down/m, 'probe c over IPv6: up') or diag($out);
my $show = $t->tool('mirror', 'show', 'c');
like($show, qr/^ +http +IPv6 +up +.*status 200$/m, 'c: up over IPv6');
like($show, qr/^ +http +IPv4 +never probed$/m, 'c: never probed over IPv4');
$r = $t->get('/pub/big/other.iso', ip => MSTest::client('berlin6'));
$t->redirects_to($r, 'c', 'continent', 'big/other.iso',
                 'IPv6 client from Berlin: c, the only mirror up over IPv6');
$r = $t->get('/pub/big/other.iso', ip => $berlin);
$t->redirects_to($r, 'a', 'country', 'big/other.iso',
                 'IPv4 client from Berlin: a (c was never probed over IPv4)');

$srv{$_}->stop for qw(a b c);
$t->finish;
