#!/usr/bin/perl
# Probing: up, down (closed port), hanging (bounded by --timeout), wrong size,
# redirect elsewhere, TLS refused without the CA and accepted with it;
# an HTTP error; a certificate for another host name; consecutive failures;
# disabled mirrors left out; many mirrors at once take about one timeout; IPv6;
# host names, resolved all at once; a family the host lost recorded down.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use ScanTest;
use Test::More;
use Time::HiRes qw(time);

my $t = ScanTest->new->standard_world;
my $tree = $t->mirror_tree('full');
my $rp = $t->rsyncd(full => $tree);
my $scan = "rsync://127.0.0.1:$rp/full/";

# A tree where every file has another size: what a broken mirror serves.
my $wrong = "$t->{dir}/trees/wrong";
ScanTest::write_file("$wrong/a/b/s.txt", 7, undef, 'w');
my $np = $t->nginx($tree);
my $wp = $t->nginx($wrong, label => 'nginx-wrong');
my ($cert, $key) = $t->self_signed;
my $sp = $t->apache($tree, label => 'apache-tls', cert => $cert, key => $key);
my $closed = ScanTest::free_port();
my $hang = $t->hanging_server;
my $redir = $t->http_server(sub { ('302 Found', { Location => 'http://elsewhere.invalid/x' }, '') });

$t->add_mirror('up', $scan, urls => ["http://127.0.0.1:$np/"]);
$t->add_mirror('closed', $scan, urls => ["http://127.0.0.1:$closed/"]);
$t->add_mirror('hang', $scan, urls => ["http://127.0.0.1:$hang/"]);
$t->add_mirror('wrongsize', $scan, urls => ["http://127.0.0.1:$wp/"]);
$t->add_mirror('redirect', $scan, urls => ["http://127.0.0.1:$redir/"]);
$t->add_mirror('tls', $scan, urls => ["https://127.0.0.1:$sp/"]);
$t->add_mirror('tls-ca', $scan, urls => ["https://127.0.0.1:$sp/", "http://127.0.0.1:$np/"],
               ca_file => $cert);
my ($rc, $out, $err) = $t->run_tool('scan');
is($rc, 0, 'all mirrors scanned') or diag($err);
my ($pf) = $t->sql("SELECT f.path FROM mirror_scan s JOIN files f ON f.id = s.probe_file_id "
                   . "WHERE s.mirror_id = (SELECT id FROM mirrors WHERE name = 'up')");
is($pf->[0], 'a/b/s.txt', 'the smallest fresh file is remembered for probing');

my $t0 = time;
($rc, $out, $err) = $t->run_tool('probe', '--timeout', '3');
my $took = time - $t0;
is($rc, 0, 'probe exits 0 with mirrors down') or diag($err);
cmp_ok($took, '<', 6, "one probe run is bounded by the timeout ($took s)");
like($out, qr/^probed 8: 3 up, 5 down/m, 'summary line') or diag($out);

my $h = $t->health('up');
is($h->{'http/4'}{up}, 1, 'up: http over IPv4 up');
is($h->{'http/4'}{status}, 200, 'status recorded');
ok(!exists $h->{'http/6'}, 'an IPv4 literal is not probed over IPv6');
$h = $t->health('closed');
is($h->{'http/4'}{up}, 0, 'closed port: down');
like($h->{'http/4'}{error}, qr/refused|connect/i, 'closed port: error recorded');
$h = $t->health('hang');
is($h->{'http/4'}{up}, 0, 'hanging: down');
like($h->{'http/4'}{error}, qr/timed out|timeout/i, 'hanging: timeout recorded');
$h = $t->health('wrongsize');
is($h->{'http/4'}{up}, 0, 'wrong size: down');
like($h->{'http/4'}{error}, qr/wrong size: 7 bytes, expected 6/, 'wrong size: error');
$h = $t->health('redirect');
is($h->{'http/4'}{up}, 0, 'redirect: down');
is($h->{'http/4'}{status}, 302, 'redirect: status kept');
like($h->{'http/4'}{error}, qr/redirected to http:\/\/elsewhere.invalid/, 'redirect: target named');
$h = $t->health('tls');
is($h->{'https/4'}{up}, 0, 'self-signed without CA: down');
like($h->{'https/4'}{error}, qr/certificate|SSL/i, 'TLS error recorded');
$h = $t->health('tls-ca');
is($h->{'https/4'}{up}, 1, 'self-signed with the mirror\'s CA: up');
is($h->{'http/4'}{up}, 1, 'both schemes probed');
my $list = $t->tool('mirror', 'list');
like($list, qr/^tls-ca +.* https\/4:up https\/6:never .* ok 6 seen 6 fresh 0 stale 0 missing /m,
     'mirror list: health per scheme and family, and the latest scan');
like($list, qr/^closed +.* http\/4:down http\/6:never /m, 'mirror list: a mirror down');

# Consecutive failures count; recovery resets them.
($rc) = $t->run_tool('probe', 'closed', '--timeout', '2');
is($t->health('closed')->{'http/4'}{failures}, 2, 'consecutive failures counted');
my $np2 = $t->nginx($tree, label => 'nginx-2');
$t->tool('mirror', 'edit', 'closed', '--url', "http://127.0.0.1:$np2/");
($rc) = $t->run_tool('probe', 'closed');
is($t->health('closed')->{'http/4'}{up}, 1, 'back up');
is($t->health('closed')->{'http/4'}{failures}, 0, 'failures reset');

# A mirror never scanned is probed at its base URL.
$t->add_mirror('unscanned', $scan, urls => ["http://127.0.0.1:$np/"]);
($rc, $out) = $t->run_tool('probe', 'unscanned', '--verbose');
is($t->health('unscanned')->{'http/4'}{up}, 1, 'never scanned: base URL answers 200 → up');

# Down as well: an HTTP error (the probe file deleted: 404), and a
# certificate that a trusted CA signed for another host name (the name is
# checked, not only the chain).
my $gone = $t->http_server(sub { ('404 Not Found', {}, 'no such file') });
my ($ocert, $okey) = $t->self_signed(dns => 'other.test');
my $op = $t->apache($tree, label => 'apache-other', cert => $ocert, key => $okey);
$t->add_mirror('notfound', $scan, urls => ["http://127.0.0.1:$gone/"]);
$t->add_mirror('othername', $scan, urls => ["https://127.0.0.1:$op/"], ca_file => $ocert);
($rc, $out, $err) = $t->run_tool('scan', 'notfound', 'othername');
is($rc, 0, 'notfound, othername: scanned') or diag($err);
($rc, $out, $err) = $t->run_tool('probe', 'notfound', 'othername', '--timeout', '3');
like($out, qr/^probed 2: 0 up, 2 down/m, 'a 404 and a certificate for another name: down')
    or diag($out);
$h = $t->health('notfound');
is($h->{'http/4'}{up}, 0, '404: down');
is($h->{'http/4'}{status}, 404, '404: status kept');
like($h->{'http/4'}{error}, qr/^HTTP 404$/, '404: error recorded');
$h = $t->health('othername');
is($h->{'https/4'}{up}, 0, 'certificate for another host name: down');
like($h->{'https/4'}{error}, qr/certificate|SSL|match|name/i, 'certificate name: error recorded');

# A disabled mirror is not probed by a run over every mirror.
$t->add_mirror('off', $scan, urls => ["http://127.0.0.1:$np/"]);
$t->tool('mirror', 'disable', 'off');

# Many mirrors at once: 60 mirrors, a third hanging, take about one timeout.
for my $i (1 .. 60) {
    my $port = $i % 3 == 0 ? $hang : $i % 3 == 1 ? $np : $closed;
    $t->add_mirror("many$i", $scan, urls => ["http://127.0.0.1:$port/"]);
}
$t0 = time;
($rc, $out) = $t->run_tool('probe', '--timeout', '3');
$took = time - $t0;
is($rc, 0, '70 mirrors probed');
is(scalar keys %{ $t->health('off') }, 0, 'a disabled mirror is not probed');
cmp_ok($took, '<', 6, "70 mirrors with 20 hanging: $took s for a 3 s timeout");

# Over IPv6: an [::1] URL is probed over IPv6 only, against a server that
# listens there; a closed port there is down.
my $np6 = $t->nginx($tree, label => 'nginx-v6', v6 => 1);
my $closed6 = ScanTest::free_port();
# Add mirrors (name => base URL), scan them and probe them with --verbose;
# the probe's output.
sub add_scan_probe {
    my ($what, %urls) = @_;
    $t->add_mirror($_, $scan, urls => [ $urls{$_} ]) for sort keys %urls;
    my ($rc, $out, $err) = $t->run_tool('scan', sort keys %urls);
    is($rc, 0, "$what scanned") or diag($err);
    ($rc, $out, $err) = $t->run_tool('probe', sort(keys %urls), '--timeout', '3', '--verbose');
    is($rc, 0, "$what probed") or diag($err);
    return $out;
}
$out = add_scan_probe('IPv6 mirrors', up6 => "http://[::1]:$np6/", closed6 => "http://[::1]:$closed6/");
like($out, qr/^probed 2: 1 up, 1 down/m, 'IPv6: summary line') or diag($out);
like($out, qr/^up6 http IPv6: up \(\d+ ms, ::1\)$/m, 'IPv6: --verbose names the address probed')
    or diag($out);
$h = $t->health('up6');
is($h->{'http/6'}{up}, 1, 'IPv6: up over IPv6');
is($h->{'http/6'}{status}, 200, 'IPv6: status recorded');
ok(!exists $h->{'http/4'}, 'an IPv6 literal is not probed over IPv4');
$h = $t->health('closed6');
is($h->{'http/6'}{up}, 0, 'IPv6: closed port down');
like($h->{'http/6'}{error}, qr/refused|connect/i, 'IPv6: error recorded');
like($t->tool('mirror', 'list'), qr/^up6 +.* http\/4:never http\/6:up /m,
     'mirror list: up over IPv6, never probed over IPv4');

# Host names: every host is resolved before the probes, all at once;
# 'localhost' is probed over the families it resolves to (IPv4 at least, up:
# nginx listens on 127.0.0.1), a name that does not resolve is down, saying so.
$out = add_scan_probe('mirrors by host name', named => "http://localhost:$np/",
                      nowhere => "http://no-such-host.invalid:$np/");
# curl is handed the addresses resolved before (CURLOPT_RESOLVE) and says
# which one it connected to
like($out, qr/^named http IPv4: up \(\d+ ms, 127\.0\.0\.1\)$/m,
     'localhost: --verbose names the address probed') or diag($out);
like($out, qr/^nowhere http IPv4: down: cannot resolve no-such-host\.invalid: .* \(0 ms\)$/m,
     'a host that does not resolve: no address to name') or diag($out);
$h = $t->health('named');
is($h->{'http/4'}{up}, 1, 'localhost: up over IPv4');
is($h->{'http/4'}{status}, 200, 'localhost: status recorded');
$h = $t->health('nowhere');
is($h->{'http/4'}{up}, 0, 'a host that does not resolve: down');
like($h->{'http/4'}{error}, qr/^cannot resolve no-such-host\.invalid: /, 'and why');
ok(!exists $h->{'http/6'}, 'recorded once, not per family');

# A family the host no longer has is recorded down where it was probed:
# 'named' was up over IPv4; its URL now names an IPv6 address only.
$t->tool('mirror', 'edit', 'named', '--url', "http://[::1]:$np6/");
($rc, $out, $err) = $t->run_tool('probe', 'named', '--timeout', '3');
is($rc, 0, 'named, moved to an IPv6 address: probed') or diag($err);
$h = $t->health('named');
is($h->{'http/6'}{up}, 1, 'moved to IPv6: up over IPv6');
is($h->{'http/4'}{up}, 0, 'moved to IPv6: IPv4, up before, now recorded down');
like($h->{'http/4'}{error}, qr/host has no IPv4 address/, 'moved to IPv6: and why');

($rc) = $t->run_tool('probe', 'nosuch');
is($rc, 1, 'unknown mirror: exit 1');
($rc) = $t->run_tool('probe', '--timeout', 'x');
is($rc, 2, 'bad --timeout: exit 2');

done_testing;
