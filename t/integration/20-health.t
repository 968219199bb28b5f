# Which mirrors may serve a file: scheme (https never to an http-only
# mirror, over a real mod_ssl port), address family, health, enabled,
# freshness (the origin changed after the scan; mtime precision), max-size,
# fallback. Each file is held by its own set of mirrors, so each case is
# decided by one rule. Changes made while httpd runs are seen without restart.
# MirrorSelProbeWarnAge warns when the probes stopped.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use MSTest;

my $t = MSTest->new;
$t->standard_origin;
my %file = (
    https     => 'h/https.iso',      httpsonly => 'h/httpsonly.iso',
    httponly  => 'h/httponly.iso',   v6        => 'h/v6.iso',
    down      => 'h/down.iso',       disabled  => 'h/disabled.iso',
    stale     => 'h/stale.iso',      touch     => 'h/touch.iso',
    prec      => 'h/prec.iso',       maxsize   => 'h/maxsize.iso',
    maxok     => 'h/maxok.iso',      none      => 'h/none.iso',
);
$t->origin_file($file{$_}, $_ eq 'maxok' ? 8000 : 20000) for sort keys %file;
$t->init;

my %B = MSTest::at('berlin');
$t->mirror('near-http',      %B, https => 0);
$t->mirror('httpsonly-near', %B, http => 0);
$t->mirror('far-both',       MSTest::at('newyork'));
$t->mirror('v4only',         %B);
$t->mirror('v6never',        %B);
$t->mirror('down',           %B);
$t->mirror('disabled',       %B, disabled => 1);
$t->mirror('stale-near',     %B);
$t->mirror('touch-near',     %B);
$t->mirror('p60',            %B);
$t->mirror('p1',             %B);
$t->mirror('p60size',        %B);
$t->mirror('pday',           MSTest::at('munich'));
$t->mirror('small-max',      %B, max_size => 10000);
$t->index_origin;

my %holders = (
    https     => [qw(near-http far-both)],
    httpsonly => [qw(httpsonly-near)],
    httponly  => [qw(near-http)],
    v6        => [qw(v4only v6never far-both)],
    down      => [qw(down far-both)],
    disabled  => [qw(disabled far-both)],
    stale     => [qw(stale-near far-both)],
    touch     => [qw(touch-near far-both)],
    maxsize   => [qw(small-max far-both)],
    maxok     => [qw(small-max far-both)],
    none      => [],
);
for my $k (sort keys %holders) {
    $t->fixture('copy-origin', $_, $file{$k}) for @{ $holders{$k} };
}
# mtime precision: the scan saw the file 30 s off the origin's mtime
my $mt = 1700000000;
my $sz = 20000;
$t->fixture('copy', 'p60',     $file{prec}, $sz,     $mt - 30,    60);
$t->fixture('copy', 'p1',      $file{prec}, $sz,     $mt - 30,    1);
$t->fixture('copy', 'p60size', $file{prec}, $sz + 1, $mt,         60);
$t->fixture('copy', 'pday',    $file{prec}, $sz,     $mt - 50000, 86400);

for my $m (qw(near-http httpsonly-near far-both disabled stale-near touch-near
              p60 p1 p60size pday small-max)) {
    $t->fixture('all-up', $m);
}
# up over IPv4 only; v6never was never probed over IPv6
for my $s (qw(http https)) {
    $t->fixture('health', 'v4only', $s, 4, 'up');
    $t->fixture('health', 'v4only', $s, 6, 'down');
    $t->fixture('health', 'v6never', $s, 4, 'up');
}
$t->fixture('all-down', 'down');
$t->start;

my $berlin  = MSTest::client('berlin');
my $berlin6 = MSTest::client('berlin6');
sub u { MSTest::url($file{ $_[0] }) }

# --- scheme -------------------------------------------------------------------
{
    my $r = $t->get(u('https'), ip => $berlin);
    $t->redirects_to($r, 'near-http', 'country', $file{https}, 'http request: the near http-only mirror');
    $r = $t->get(u('https'), ip => $berlin, ssl => 1);
    $t->redirects_to($r, 'far-both', 'world', $file{https},
                     'https request: never the http-only mirror', scheme => 'https');
    like(MSTest::hdr($r, 'Location') // '', qr{^https://}, 'https request: an https Location');
    for my $i (11 .. 30) {
        $r = $t->get(u('https'), ip => "192.0.2.$i", ssl => 1);
        my $loc = MSTest::hdr($r, 'Location') // '';
        ok($r->{status} == 302 && $loc =~ m{^https://far-both\.}, "https client 192.0.2.$i: https far-both")
            or diag("$r->{status} $loc");
    }

    $r = $t->get(u('httpsonly'), ip => $berlin);
    $t->redirects_to($r, 'httpsonly-near', 'country', $file{httpsonly},
                     'http request to an https-only mirror: its https URL', scheme => 'https');
    $r = $t->get(u('httpsonly'), ip => $berlin, ssl => 1);
    $t->redirects_to($r, 'httpsonly-near', 'country', $file{httpsonly},
                     'https request to an https-only mirror', scheme => 'https');

    $r = $t->get(u('httponly'), ip => $berlin, ssl => 1);
    $t->served_locally($r, $file{httponly}, 'https request, only an http-only mirror holds the file');
    $r = $t->get(u('httponly'), ip => $berlin);
    $t->redirects_to($r, 'near-http', 'country', $file{httponly}, 'http request, the http-only mirror');
}

# --- address family -------------------------------------------------------------
{
    my $r = $t->get(u('v6'), ip => $berlin);
    $t->redirects_to($r, [qw(v4only v6never)], 'country', $file{v6}, 'IPv4 client: a near mirror up over IPv4');
    $r = $t->get(u('v6'), ip => $berlin6);
    $t->redirects_to($r, 'far-both', 'world', $file{v6}, 'IPv6 client: only the mirror up over IPv6');
    for my $i (1 .. 20) {
        my $ip = sprintf '2001:db8:de::%x', 0x100 + $i;
        $r = $t->get(u('v6'), ip => $ip);
        is(MSTest::hdr($r, 'X-MirrorSel-Mirror'), 'far-both', "IPv6 client $ip: far-both");
    }
    $r = $t->get(u('v6'), ip => $berlin6, ssl => 1);
    $t->redirects_to($r, 'far-both', 'world', $file{v6}, 'IPv6 client over https', scheme => 'https');
}

# --- health, changed while httpd runs --------------------------------------------
{
    my $r = $t->get(u('down'), ip => $berlin);
    $t->redirects_to($r, 'far-both', 'world', $file{down}, 'down mirror skipped');
    $t->fixture('health', 'down', 'http', 4, 'up');
    my $got = MSTest::eventually(10, sub {
        ($t->get(u('down'), ip => $berlin)->{headers}{'x-mirrorsel-mirror'} // [''])->[0] eq 'down';
    });
    ok($got, 'mirror marked up over http/IPv4 is used (seen without restart)');
    $r = $t->get(u('down'), ip => $berlin6);
    $t->redirects_to($r, 'far-both', 'world', $file{down}, 'still down over IPv6: IPv6 client not sent there');
    $r = $t->get(u('down'), ip => $berlin, ssl => 1);
    $t->redirects_to($r, 'far-both', 'world', $file{down}, 'still down over https: https client not sent there',
                     scheme => 'https');
    $t->fixture('all-down', 'down');
    $got = MSTest::eventually(10, sub {
        ($t->get(u('down'), ip => $berlin)->{headers}{'x-mirrorsel-mirror'} // [''])->[0] eq 'far-both';
    });
    ok($got, 'mirror marked down again is skipped');
}

# --- enabled / disabled ------------------------------------------------------------
{
    my $r = $t->get(u('disabled'), ip => $berlin);
    $t->redirects_to($r, 'far-both', 'world', $file{disabled}, 'disabled mirror skipped');
    $t->tool('mirror', 'enable', 'disabled');
    my $got = MSTest::eventually(10, sub {
        ($t->get(u('disabled'), ip => $berlin)->{headers}{'x-mirrorsel-mirror'} // [''])->[0] eq 'disabled';
    });
    ok($got, 'mirror enable: used without restart');
    $t->tool('mirror', 'disable', 'disabled');
    $got = MSTest::eventually(10, sub {
        ($t->get(u('disabled'), ip => $berlin)->{headers}{'x-mirrorsel-mirror'} // [''])->[0] eq 'far-both';
    });
    ok($got, 'mirror disable: skipped again');
}

# --- freshness: the origin changed after the scan -----------------------------------
{
    my $r = $t->get(u('stale'), ip => $berlin);
    $t->redirects_to($r, 'stale-near', 'country', $file{stale}, 'fresh copy before the change');

    # new content and size, not yet re-indexed: the file httpd would serve wins
    $t->origin_file($file{stale}, \('changed! ' x 3000), mtime => 1700009999);
    $r = $t->get(u('stale'), ip => $berlin);
    $t->served_locally($r, $file{stale}, 'changed on the origin, not re-indexed: no mirror has it');
    $t->index_origin;
    $r = $t->get(u('stale'), ip => $berlin);
    $t->served_locally($r, $file{stale}, 'changed and re-indexed: the old copies are stale');
    $t->fixture('copy-origin', 'far-both', $file{stale});
    $r = $t->get(u('stale'), ip => $berlin);
    $t->redirects_to($r, 'far-both', 'world', $file{stale}, 'a scan saw the new version on far-both only');
    for my $i (41 .. 60) {
        $r = $t->get(u('stale'), ip => "192.0.2.$i");
        isnt(MSTest::hdr($r, 'X-MirrorSel-Mirror') // '', 'stale-near', "client 192.0.2.$i: never the stale mirror");
    }

    # same size, newer mtime (touch)
    $r = $t->get(u('touch'), ip => $berlin);
    $t->redirects_to($r, 'touch-near', 'country', $file{touch}, 'fresh copy before touch');
    utime 1700000000 + 3600, 1700000000 + 3600, $t->origin . "/$file{touch}";
    $r = $t->get(u('touch'), ip => $berlin);
    $t->served_locally($r, $file{touch}, 'touched on the origin, not re-indexed: not sent to the old copies');
    $t->index_origin;
    $r = $t->get(u('touch'), ip => $berlin);
    $t->served_locally($r, $file{touch}, 'touched and re-indexed: not sent to the old copies');
    $t->fixture('copy-origin', 'far-both', $file{touch}, 60);
    $r = $t->get(u('touch'), ip => $berlin);
    $t->redirects_to($r, 'far-both', 'world', $file{touch}, 'touched: only the rescanned mirror');
}

# --- mtime precision -------------------------------------------------------------------
{
    my %seen;
    for my $i (70 .. 100) {
        my $r = $t->get(u('prec'), ip => "192.0.2.$i");     # .64/26 is Munich
        my $ip = "192.0.2.$i";
        $seen{ MSTest::hdr($r, 'X-MirrorSel-Mirror') // "status $r->{status}" }++;
    }
    is_deeply([ sort keys %seen ], ['pday'],
              'Munich clients: pday (seen 50000 s off, precision 1 day) is fresh')
        or diag(join ', ', map { "$_=$seen{$_}" } sort keys %seen);
    %seen = ();
    for my $i (1 .. 30) {
        my $r = $t->get(u('prec'), ip => "192.0.2.$i");
        $seen{ MSTest::hdr($r, 'X-MirrorSel-Mirror') // "status $r->{status}" }++;
    }
    is_deeply([ sort keys %seen ], ['p60'],
              'Berlin clients: only p60 (30 s off, precision 60 s); never p1 (precision 1 s) or p60size (size differs)')
        or diag(join ', ', map { "$_=$seen{$_}" } sort keys %seen);
}

# --- max-size -----------------------------------------------------------------------------
{
    my $r = $t->get(u('maxsize'), ip => $berlin);
    $t->redirects_to($r, 'far-both', 'world', $file{maxsize}, '20000-byte file: not to the 10000-byte max-size mirror');
    $r = $t->get(u('maxok'), ip => $berlin);
    $t->redirects_to($r, 'small-max', 'country', $file{maxok}, '8000-byte file: to the max-size mirror');
}

# --- symbolic links: answered as their target under the root ----------------------------
# `mirrorsel index` leaves links out; a link such as latest.iso -> a
# versioned file, or a directory link, is redirected as the file it leads to.
{
    symlink 'https.iso', "$t->{origin}/h/latest.iso" or die "symlink: $!";
    symlink 'h', "$t->{origin}/current" or die "symlink: $!";
    my $outside = "$t->{dir}/outside.iso";
    open my $fh, '>', $outside or die;
    print $fh 'x' x 20000;
    close $fh;
    symlink $outside, "$t->{origin}/h/outside.iso" or die "symlink: $!";

    my $r = $t->get(MSTest::url('h/latest.iso'), ip => $berlin);
    $t->redirects_to($r, 'near-http', 'country', $file{https},
                     'a link to an indexed file: redirected as its target');
    $r = $t->get(MSTest::url('current/https.iso'), ip => $berlin);
    $t->redirects_to($r, 'near-http', 'country', $file{https},
                     'a file under a directory link: redirected as its target');
    $r = $t->get(MSTest::url('h/latest.iso') . '.meta4', ip => $berlin);
    is($r->{status}, 200, 'a link: its .meta4 too');
    like($r->{body}, qr{<url[^>]*>[^<]*/h/https\.iso</url>}, 'naming the target on the mirrors');
    $r = $t->get(MSTest::url('h/outside.iso'), ip => $berlin);
    $t->served_locally($r, 'h/outside.iso', 'a link that leaves the root: served locally');

    # A link into another directory: its documents are asked for, and
    # linked from its mirror list, under the link's own name, and its
    # .sha256 names the file as the client saves it (curl -O, wget).
    symlink 'h/https.iso', "$t->{origin}/latest.iso" or die "symlink: $!";
    $r = $t->get(MSTest::url('latest.iso'), ip => $berlin);
    $t->redirects_to($r, 'near-http', 'country', $file{https}, 'a link into a subdirectory: its target');
    $r = $t->get(MSTest::url('latest.iso') . '.mirrorlist', ip => $berlin);
    is($r->{status}, 200, 'a link into a subdirectory: its .mirrorlist');
    my @hrefs = $r->{body} =~ m{<footer>.*?</footer>}s ? ($& =~ m{href="([^"]*)"}g) : ();
    is_deeply(\@hrefs, [ './latest.iso.meta4', './latest.iso.sha256', './latest.iso?mirrorlist=json' ],
              "the mirror list's links to the documents: under the link's name") or diag($r->{body});
    for my $h (@hrefs) {
        (my $rel = $h) =~ s{^\./}{};
        my $d = $t->get(MSTest::url('') . $rel, ip => $berlin);
        is($d->{status}, 200, "the mirror list's link $h answers");
    }
    $r = $t->get(MSTest::url('latest.iso') . '.sha256', ip => $berlin);
    like($r->{body}, qr{^[0-9a-f]{64}  latest\.iso\n\z}, '.sha256 of a link: the link\'s own name');
    my $saved = "$t->{dir}/saved";
    mkdir $saved or die "mkdir: $!";
    open my $out, '>', "$saved/latest.iso" or die;
    print $out $t->origin_bytes($file{https});
    close $out;
    open $out, '>', "$saved/latest.iso.sha256" or die;
    print $out $r->{body};
    close $out;
    my $rc = system("cd '$saved' && sha256sum --check --status latest.iso.sha256");
    is($rc, 0, 'sha256sum --check accepts it beside the file saved as latest.iso');
}

# --- nobody holds it; then a fallback mirror ----------------------------------------------
{
    my $r = $t->get(u('none'), ip => $berlin);
    $t->served_locally($r, $file{none}, 'no mirror holds the file and no fallback: served locally');
    my $url = u('none');
    MSTest::eventually(5, sub { grep { $_->{uri} eq $url } $t->access_entries });
    my $e = (grep { $_->{uri} eq $url } $t->access_entries)[-1] || {};
    is($e->{result}, 'nomirror', 'and logged as MIRRORSEL_RESULT=nomirror');
    is($e->{mirror}, '-', 'with no mirror');
    is($e->{country}, 'DE', "but the client's country");
    $t->mirror('fb', MSTest::at('paris'), fallback => 1);
    $t->fixture('all-up', 'fb');
    my $got = MSTest::eventually(10, sub { $t->get(u('none'), ip => $berlin)->{status} == 302 });
    $r = $t->get(u('none'), ip => $berlin);
    $t->redirects_to($r, 'fb', undef, $file{none}, 'no mirror holds the file: the fallback mirror');
    $r = $t->get(u('httponly'), ip => $berlin, ssl => 1);
    $t->redirects_to($r, 'fb', undef, $file{httponly},
                     'https request, only an http-only holder: the fallback over https', scheme => 'https');
    $r = $t->get(u('maxsize'), ip => $berlin);
    $t->redirects_to($r, 'far-both', 'world', $file{maxsize}, 'fallback not used while a holder qualifies');
}

# --- MirrorSelProbeWarnAge (the shipped configuration: 3600 s) ----------------------------
# A probe that finds a mirror as it was moves no generation, so the watcher
# reads the latest probe's time itself; at start, then every 10 s.
{
    my $db = $t->db;
    my $sql = sub { system('sqlite3', '-cmd', '.timeout 10000', $db, @_) == 0
                        or die "sqlite3 @_ failed" };
    my $enabled = `sqlite3 -cmd '.timeout 10000' '$db' 'SELECT count(*) FROM mirrors WHERE enabled'` + 0;
    cmp_ok($enabled, '>', 0, "the enabled mirrors counted ($enabled)");
    # (log offset, configuration added): MS00022 lines after 20 requests
    my $run = sub {
        my (%o) = @_;
        $t->stop;
        my $from = length $t->error_log;
        $t->start(%o);
        my @st = map { $t->get(u('maxsize'), ip => $berlin)->{status} } 1 .. 20;
        $t->stop;
        return ([ substr($t->error_log, $from) =~ /(MS00022: [^\n]*)/g ], \@st);
    };
    my ($w, $st) = $run->();
    is(scalar @$w, 0, 'MirrorSelProbeWarnAge 3600, probes made just now: nothing logged')
        or diag(join "\n", @$w);
    $sql->('UPDATE mirror_health SET checked = checked - 7200');
    ($w, $st) = $run->();
    ok(@$w >= 1 && @$w <= 2, 'probes two hours old: MS00022, once per child ('
       . scalar(@$w) . ')') or diag(join "\n", @$w);
    like($w->[0] // '', qr/the latest probe of the $enabled enabled mirrors in \S*mirrorsel\.db is 72\d\d s old \(MirrorSelProbeWarnAge 3600\): each stays up or down as it left it; is 'mirrorsel probe' running \(mirrorsel-probe\.timer\)\?/,
         '  saying how old, and what to look at');
    is(join(',', grep { $_ != 302 } @$st), '', '  and the mirrors are used as the probes left them');
    ($w) = $run->(extra => "MirrorSelProbeWarnAge 0\n");
    is(scalar @$w, 0, 'MirrorSelProbeWarnAge 0: off');
    ($w) = $run->(extra => "MirrorSelProbeWarnAge 86400\n");
    is(scalar @$w, 0, 'MirrorSelProbeWarnAge 86400: two hours is within it');
    $sql->('DELETE FROM mirror_health');
    ($w, $st) = $run->();
    like($w->[0] // '', qr/none of the $enabled enabled mirrors in \S*mirrorsel\.db was ever probed: each counts as down, so files are served locally/,
         'no probe at all: MS00022 says every mirror counts as down');
    is(join(',', grep { $_ != 200 } @$st), '', '  and files are served locally');
    for my $case (['soon', 'not a number'], ['-5', 'negative'], ['99999999999', 'too large']) {
        $t->start_refused("MirrorSelProbeWarnAge $case->[0]\n",
                          qr/MirrorSelProbeWarnAge: a number of seconds/,
                          "MirrorSelProbeWarnAge $case->[0] ($case->[1])");
    }
    $t->start_refused("<VirtualHost 127.0.0.1:1>\n    MirrorSelProbeWarnAge 60\n</VirtualHost>\n",
                      qr/MirrorSelProbeWarnAge cannot occur within <VirtualHost> section/,
                      'MirrorSelProbeWarnAge inside <VirtualHost> (one value for the server)');
    $t->start;
}

$t->finish;
