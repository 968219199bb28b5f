#!/usr/bin/perl
# `mirrorsel probe` resolves every mirror's host at once (getaddrinfo_a) and
# hands curl the addresses (CURLOPT_RESOLVE), so a run behind a slow resolver
# takes about one lookup, not one per host, and each host is asked for once.
#
# A DNS server on 127.83.1.1:53 answers NAME.slow.test after $DELAY seconds
# (A: 127.0.0.1; other types: no data) and counts the queries; the probe
# runs in a mount namespace of its own whose /etc/resolv.conf names that
# server. The mirrors' port is closed, so a resolved host is "refused" and
# an unresolved one says "cannot resolve". NAME.dual.test has both an A and
# an AAAA record, at once, for the families' probes. Needs root (port 53, the mount
# namespace); scripts/run-tests.sh runs t/root/*.t as root.
use strict;
use warnings;
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::IP;
use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(time);

plan skip_all => 'needs root (run by scripts/run-tests.sh as root)' if $> != 0;

my $build = $ENV{MS_BUILD} or die "MS_BUILD: the build directory holding mirrorsel\n";
my $tool = "$build/mirrorsel";
my ($DNS, $DELAY, $N) = ('127.83.1.1', 2, 20);
my $top = tempdir('/tmp/mirrorsel-dns.XXXXXX', CLEANUP => 1);

my $udp = IO::Socket::IP->new(LocalHost => $DNS, LocalPort => 53, Proto => 'udp')
    or plan skip_all => "cannot listen on $DNS:53: $!";
my $unshare_ok = system('unshare', '-m', 'true') == 0;
plan skip_all => 'no mount namespace (unshare -m)' unless $unshare_ok;

# --- the slow DNS server ------------------------------------------------------------
my $log = "$top/queries";
my $dns_pid = fork // die "fork: $!";
if (!$dns_pid) {
    serve($udp, $log);
    _exit(0);
}
close $udp;

# Answer each query $DELAY s after it came, all of them concurrently.
sub serve {
    my ($s, $file) = @_;
    my $sel = IO::Select->new($s);
    my @due;                                 # [ time, reply, peer ]
    open my $lf, '>>', $file or die;
    $lf->autoflush(1);
    while (1) {
        my $wait = @due ? $due[0][0] - time : 1;
        if ($sel->can_read($wait > 0 ? $wait : 0)) {
            my $peer = $s->recv(my $q, 512) // next;
            my ($reply, $slow) = answer($q) or next;
            my ($name, $type) = question($q);
            print $lf "$type $name\n";
            if ($slow) {
                push @due, [ time + $DELAY, $reply, $peer ];
                @due = sort { $a->[0] <=> $b->[0] } @due;
            }
            else {
                $s->send($reply, 0, $peer);
            }
        }
        while (@due && $due[0][0] <= time) {
            my $d = shift @due;
            $s->send($d->[1], 0, $d->[2]);
        }
    }
}

sub question {
    my ($q) = @_;
    my ($i, @labels) = (12);
    while ($i < length $q && (my $n = ord substr $q, $i, 1)) {
        push @labels, substr $q, $i + 1, $n;
        $i += 1 + $n;
    }
    my $type = $i + 3 <= length $q ? unpack('n', substr $q, $i + 1, 2) : 0;
    return (lc join('.', @labels), $type, $i + 5);
}

# The reply to query $q, and whether it is one to delay.
sub answer {
    my ($q) = @_;
    return if length $q < 17;
    my ($name, $type, $qend) = question($q);
    my $id = substr $q, 0, 2;
    my $qd = substr $q, 12, $qend - 12;
    if ($name =~ /\.dual\.test$/) {              # at once: A 127.0.0.1, AAAA ::1
        my $rr = $type == 1 ? pack('nnnNn', 0xc00c, 1, 1, 60, 4) . pack('C4', 127, 0, 0, 1)
               : $type == 28 ? pack('nnnNn', 0xc00c, 28, 1, 60, 16) . pack('n8', 0, 0, 0, 0, 0, 0, 0, 1)
               : '';
        return ($id . pack('nnnnn', 0x8180, 1, $rr ? 1 : 0, 0, 0) . $qd . $rr, 0);
    }
    if ($name !~ /\.slow\.test$/) {
        return ($id . pack('nnnnn', 0x8183, 1, 0, 0, 0) . $qd, 0);       # NXDOMAIN
    }
    if ($type == 1) {
        my $rr = pack('nnnNn', 0xc00c, 1, 1, 60, 4) . pack('C4', 127, 0, 0, 1);
        return ($id . pack('nnnnn', 0x8180, 1, 1, 0, 0) . $qd . $rr, 1);
    }
    return ($id . pack('nnnnn', 0x8180, 1, 0, 0, 0) . $qd, 1);           # no data
}

# --- the mirrors ----------------------------------------------------------------------
my $closed = do {
    my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 1)
        or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    $p;
};
my $db = "$top/mirrorsel.db";
sub tool {
    my $out = `'$tool' --db '$db' @_ 2>&1`;
    return ($? >> 8, $out);
}
my ($rc, $out) = tool('init');
is($rc, 0, 'database created') or diag($out);
for my $i (1 .. $N) {
    ($rc, $out) = tool('mirror', 'add', "m$i", '--url', "http://m$i.slow.test:$closed/",
                       '--country', 'DE', '--lat', '52.5', '--lon', '13.4', '--asn', '64501');
    $rc == 0 or diag($out);
}
($rc, $out) = tool('mirror', 'add', 'nowhere', '--url', "http://nowhere.invalid:$closed/",
                   '--country', 'DE', '--lat', '52.5', '--lon', '13.4', '--asn', '64501');
is($rc, 0, "$N mirrors on slow host names and one that does not resolve, added");

# --- the probe, behind the slow resolver -------------------------------------------------
open my $rf, '>', "$top/resolv.conf" or die;
print $rf "nameserver $DNS\noptions timeout:10 attempts:1\n";
close $rf;
my $t0 = time;
$out = `unshare -m sh -c 'mount --bind "$top/resolv.conf" /etc/resolv.conf && exec "$tool" --db "$db" probe --timeout 5' 2>&1`;
$rc = $? >> 8;
my $took = time - $t0;

is($rc, 0, 'probe ran') or diag($out);
like($out, qr/^probed @{[$N + 1]}: 0 up, @{[$N + 1]} down/m, 'every probe made and recorded')
    or diag($out);
my $refused = () = $out =~ /^m\d+ http IPv4: down: Failed to connect to m\d+\.slow\.test port $closed\b.*\(\d+ ms, 127\.0\.0\.1\)$/mg;
is($refused, $N, "each slow name resolved to 127.0.0.1 (curl was refused there, and says where)")
    or diag($out);
like($out, qr/^nowhere http IPv4: down: cannot resolve nowhere\.invalid: /m,
     'the name that does not resolve is down, saying so') or diag($out);
cmp_ok($took, '<', 1.75 * $DELAY,
       sprintf('%d names at %d s per answer took %.2f s: looked up together, once', $N, $DELAY, $took));

open my $lf, '<', $log or die;
my %asked;
while (<$lf>) {
    my ($type, $name) = split;
    $asked{"$type $name"}++ if $name =~ /\.slow\.test$/;
}
my @a = grep { /^1 / } keys %asked;
is(scalar @a, $N, "an A query for each of the $N names");
is_deeply([ grep { $asked{$_} > 1 } sort keys %asked ], [],
          'no name asked for twice (curl is handed the addresses, it does not resolve again)')
    or diag(explain \%asked);

# --- each family probed over its own addresses only ----------------------------------
# dual.dual.test has 127.0.0.1 and ::1; the server listens on 127.0.0.1
# only. Each probe is handed all the host's addresses (CURLOPT_RESOLVE), so
# it is CURLOPT_IPRESOLVE that keeps the IPv6 probe on ::1, refused there,
# instead of reaching the server over IPv4 and recording IPv6 up.
my $srv = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 8,
                              ReuseAddr => 1) or die "listen: $!";
my $port4 = $srv->sockport;
my $http_pid = fork // die "fork: $!";
if (!$http_pid) {
    while (my $c = $srv->accept) {
        my $req = '';
        while ($req !~ /\r\n\r\n/ && defined(my $line = <$c>)) { $req .= $line }
        print $c "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        close $c;
    }
    _exit(0);
}
close $srv;
($rc, $out) = tool('mirror', 'add', 'dual', '--url', "http://dual.dual.test:$port4/",
                   '--country', 'DE', '--lat', '52.5', '--lon', '13.4', '--asn', '64501');
is($rc, 0, 'a mirror on a name with an IPv4 and an IPv6 address, added') or diag($out);
$out = `unshare -m sh -c 'mount --bind "$top/resolv.conf" /etc/resolv.conf && exec "$tool" --db "$db" probe dual --timeout 5 --verbose' 2>&1`;
is($? >> 8, 0, 'dual probed') or diag($out);
like($out, qr/^dual http IPv4: up \(\d+ ms, 127\.0\.0\.1\)$/m,
     'over IPv4: up, at 127.0.0.1') or diag($out);
like($out, qr/^dual http IPv6: down: .*\(\d+ ms, ::1\)$/m,
     'over IPv6: down, refused at ::1 (not reached over IPv4)') or diag($out);
kill 'TERM', $http_pid, $dns_pid;
waitpid $_, 0 for $http_pid, $dns_pid;

done_testing;
