#!/usr/bin/perl
# Scans that fail leave the mirror's records exactly as they were and record
# the error on the scan run: a closed port, a server that accepts and never
# answers (bounded by --timeout), a HEAD refused (403), hostile listings
# (garbage, 10^6 entries, over-long pages, names no directory holds: "..",
# with %2f); links that loop are not followed. Names a tree may hold but the index never does (newline,
# backslash, control byte, invalid UTF-8) are skipped, over HTTP and rsync:
# the scan goes on, says so in one line, and records the rest. A file gone
# between its listing and its HEAD (404) is missing, not a failure.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use ScanTest;
use Test::More;
use Time::HiRes qw(time);

my $t = ScanTest->new->standard_world;
my $tree = $t->standard_mirror('m');
my $np = $t->nginx($tree);
$t->add_mirror('m', "http://127.0.0.1:$np/");
my ($rc, $out, $err) = $t->run_tool('scan', 'm');
is($rc, 0, 'first scan succeeds') or diag($err);
my $before = $t->copies('m');
is(scalar keys %$before, 5, '5 copies recorded');

# Point the mirror's scan URL elsewhere; scan; the records must not move.
sub fails_unchanged {
    my ($url, $label, $re, @opts) = @_;
    $t->tool('mirror', 'edit', 'm', '--scan-url', $url);
    my $t0 = time;
    my ($rc2, $out2, $err2) = $t->run_tool('scan', 'm', @opts);
    my $took = time - $t0;
    is($rc2, 1, "$label: exit 1");
    like($err2, $re, "$label: error says why") or diag($err2);
    unlike($err2, qr/\n./, "$label: error is one line");
    my $r = $t->last_run('m');
    is($r->{ok}, 0, "$label: run recorded as failed");
    like($r->{error}, $re, "$label: run error recorded");
    is_deeply($t->copies('m'), $before, "$label: records unchanged");
    return $took;
}

my $closed = ScanTest::free_port();
fails_unchanged("http://127.0.0.1:$closed/", 'http closed port', qr/refused|connect/i);
fails_unchanged("rsync://127.0.0.1:$closed/m/", 'rsync closed port', qr/refused|connect/i);
fails_unchanged("ftp://127.0.0.1:$closed/", 'ftp closed port', qr/refused|connect/i);

my $hang = $t->hanging_server;
my $took = fails_unchanged("http://127.0.0.1:$hang/", 'http hanging', qr/timed out|timeout/i,
                           '--timeout', '2');
cmp_ok($took, '<', 8, "http hanging: bounded by the timeout ($took s)");
$took = fails_unchanged("rsync://127.0.0.1:$hang/m/", 'rsync hanging',
                        qr/no answer|timeout|timed out/i, '--timeout', '2');
cmp_ok($took, '<', 8, "rsync hanging: bounded by the timeout ($took s)");
$took = fails_unchanged("ftp://127.0.0.1:$hang/", 'ftp hanging', qr/timed out|timeout/i,
                        '--timeout', '2');
cmp_ok($took, '<', 8, "ftp hanging: bounded by the timeout ($took s)");

# Hostile listings from a server of our own.
my $big_entries;
my $hp = $t->http_server(sub {
    my ($method, $path) = @_;
    return ('200 OK', {}, "<html><body><p>Hello, this is no listing</p></body></html>")
        if $path eq '/garbage/';
    return ('200 OK', {}, join('', map { chr(int(rand(256))) } 1 .. 5000) . "\0")
        if $path eq '/binary/';
    if ($path eq '/million/') {
        $big_entries //= "<html><title>Index of /</title><pre>\n"
            . join('', map { "<a href=\"f$_\">f$_</a> 01-May-2024 11:20 1\n" } 1 .. 1_000_000);
        return ('200 OK', {}, $big_entries);
    }
    if ($path =~ m{^/loop/}) {
        return ('200 OK', {}, "<title>Index of $path</title>\n<a href=\"../\">../</a>\n"
                . "<a href=\"loop/\">loop/</a> 01-May-2024 11:20 -\n"
                . "<a href=\"a/\">a/</a> 01-May-2024 11:20 -\n");
    }
    # an Apache-style page (local time: every file confirmed by HEAD)
    # listing top.iso, whose HEAD is refused (403) or finds it gone (404)
    return ('403 Forbidden', {}, 'forbidden') if $path eq '/forbidden/top.iso';
    return ('200 OK', {}, "<title>Index of $path</title>\n<a href=\"top.iso\">top.iso</a> "
            . "2024-05-01 11:20 98K\n") if $path eq '/forbidden/' || $path eq '/vanished/';
    my %names = ('/dotdot/' => '%2e%2e/', '/slash/' => 'a%2fb',
                 '/bsslash/' => 'back%5c%2fslash');
    return ('200 OK', {}, "<title>Index of $path</title>\n<a href=\"$names{$path}\">x</a> "
            . "01-May-2024 11:20 1\n") if $names{$path};
    return ('404 Not Found', {}, 'no');
});
fails_unchanged("http://127.0.0.1:$hp/garbage/", 'garbage HTML', qr/not a directory listing/);
fails_unchanged("http://127.0.0.1:$hp/binary/", 'binary data', qr/not a directory listing|binary/);
$took = fails_unchanged("http://127.0.0.1:$hp/million/", '10^6 entries',
                        qr/over the bound of \d+ entries/);
cmp_ok($took, '<', 30, "10^6 entries: bounded time ($took s)");
fails_unchanged("http://127.0.0.1:$hp/million/", '10^6 entries, page bound',
                qr/over the bound of \d+ bytes/, '--max-listing', '1M');
fails_unchanged("http://127.0.0.1:$hp/forbidden/", 'HEAD refused (403)',
                qr/top\.iso: HTTP status 403/);
fails_unchanged("http://127.0.0.1:$hp/dotdot/", 'name ..', qr/unsafe name/);
fails_unchanged("http://127.0.0.1:$hp/slash/", 'name with %2f', qr/unsafe name/);
# the name escaped once on stderr (\x5c, not \x5c\x5c), recorded as it is
fails_unchanged("http://127.0.0.1:$hp/bsslash/", 'name with %5c and %2f',
                qr/unsafe name "back(?:\\x5c|\\)\/slash"$/);

# Odd but legal names in a real tree, listed by nginx, an rsync daemon and
# proftpd: skipped, the rest recorded as from the standard mirror. (Not a
# newline over FTP: its listings are lines, a newline in a name breaks one.)
my ($odd, $oddftp) = map { $t->standard_mirror($_) } qw(odd oddftp);
for my $n ("a/back\\slash.txt", "a/latin\xe9.txt", "a/ctl\x01name", "odd\\dir/f") {
    ScanTest::write_file("$_/$n", 10, 1714564830, 'x') for $odd, $oddftp;
}
ScanTest::write_file("$odd/a/new\nline", 10, 1714564830, 'x');
my $printable = qr{(?:a/back\\x5cslash\.txt|a/new\\x0aline|a/latin\\xe9\.txt|a/ctl\\x01name
                     |odd\\x5cdir(?:/f)?)}x;
my $op = $t->nginx($odd, label => 'nginx-odd');
my $rp = $t->rsyncd(odd => $odd);
my $fp = $t->proftpd($oddftp);
for my $case (["http://127.0.0.1:$op/", 'http', 5], ["rsync://127.0.0.1:$rp/odd/", 'rsync', 6],
              ["ftp://mirror:secret\@127.0.0.1:$fp/", 'ftp', 4]) {
    my ($url, $label, $n) = @$case;
    $t->tool('mirror', 'edit', 'm', '--scan-url', $url);
    my ($rc2, $out2, $err2) = $t->run_tool('scan', 'm');
    is($rc2, 0, "$label, odd names: the scan succeeds") or diag($err2);
    $t->check_standard('m', "$label, odd names");
    like($err2, qr/^mirrorsel: warning: scan m: $n entries skipped: name not allowed .* such as $printable\n\z/,
         "$label, odd names: one warning line, with an example")
        or diag($err2);
    unlike($err2, qr/x5c\\x5c/, "$label, odd names: a backslash escaped once");
    like($out2, qr/^m: ok: .* extra, $n names skipped \(/m,
         "$label, odd names: the count in the summary on stdout too");
}

# Links that loop: never followed (not in the origin), the scan finishes.
$t->tool('mirror', 'edit', 'm', '--scan-url', "http://127.0.0.1:$hp/loop/");
($rc, $out, $err) = $t->run_tool('scan', 'm');
is($rc, 0, 'looping links: scan finishes') or diag($err);
like($out, qr/\((\S+) s, ([1-9]) requests,/, 'looping links: only the origin\'s directories listed');

# A file listed, then gone when confirmed (HEAD: 404): missing, not a failure.
$t->tool('mirror', 'edit', 'm', '--scan-url', "http://127.0.0.1:$hp/vanished/");
($rc, $out, $err) = $t->run_tool('scan', 'm');
is($rc, 0, 'a file gone between listing and HEAD: the scan succeeds') or diag($err);
is($t->last_run('m')->{missing}, 6, 'the gone file counts as missing');
ok(!exists $t->copies('m')->{'top.iso'}, 'and has no copy');

done_testing;
