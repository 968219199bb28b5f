# Every ranking tier, IPv4 and IPv6 clients, ?country= override, the headers
# and environment variables of a redirect, and the determinism of the draw.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use MSTest;

my $t = MSTest->new;
$t->standard_origin;
$t->origin_file($_, 30000) for 'big/no-extension', 'big/image.unknowntype';
$t->init;
$t->mirror('de-berlin', MSTest::at('berlin'), asn => 65001, other => 'GB');
$t->mirror('fr-paris',  MSTest::at('paris'),  asn => 65002);
$t->mirror('us-ny',     MSTest::at('newyork'), asn => 65003);
$t->mirror('jp-tokyo',  MSTest::at('tokyo'),  asn => 65004);
# same AS as the Munich clients (64502), only for them
$t->mirror('carrier',   MSTest::at('copenhagen'), asn => 64502, scope => 'asn');
# in Los Angeles, but the first choice of two client networks in Berlin
$t->mirror('pfx', MSTest::at('la'), asn => 65010, scope => 'prefix',
           prefix => [ '192.0.2.32/27', '2001:db8:de:1::/64' ]);
$t->index_origin;
for my $m (qw(de-berlin fr-paris us-ny jp-tokyo carrier pfx)) {
    $t->fixture('copy-all', $m);
    $t->fixture('all-up', $m);
}
$t->start;

my $file = 'big/file.iso';
my $url  = MSTest::url($file);
my @world_mirrors = qw(de-berlin fr-paris us-ny jp-tokyo);

my @cases = (
    # client           mirror(s)                    tier             why
    [ 'berlin_pfx',    'pfx',                        'prefix',        'client inside a mirror prefix (v4)' ],
    [ 'munich',        'carrier',                    'asn',           'same AS as the client' ],
    [ 'berlin',        'de-berlin',                  'country',       'mirror in the client country' ],
    [ 'newyork',       'us-ny',                      'country',       'US client: prefix-scope mirror in US not used' ],
    [ 'la',            'us-ny',                      'country',       'LA client goes to NY, not the prefix-only LA mirror' ],
    [ 'tokyo',         'jp-tokyo',                   'country',       'JP client' ],
    [ 'london',        'de-berlin',                  'other-country', 'GB in de-berlin --other-countries, ahead of nearer Paris' ],
    [ 'vienna',        'de-berlin',                  'continent',     'AT client: nearest EU mirror, Paris outside the band' ],
    [ 'swiss',         [qw(de-berlin fr-paris)],     'continent',     'CH client without coordinates: any EU mirror' ],
    [ 'sydney',        'jp-tokyo',                   'world',         'AU client: no OC mirror, nearest is Tokyo' ],
    [ 'nowhere',       \@world_mirrors,              'world',         'unlocated client: a world-scope mirror' ],
    [ 'berlin6',       'de-berlin',                  'country',       'IPv6 client in DE' ],
    [ 'munich6',       'carrier',                    'asn',           'IPv6 client in AS64502' ],
    [ 'tokyo6',        'jp-tokyo',                   'country',       'IPv6 client in JP' ],
    [ 'sydney6',       'jp-tokyo',                   'world',         'IPv6 client in AU' ],
    [ 'nowhere6',      \@world_mirrors,              'world',         'unlocated IPv6 client' ],
);
for my $c (@cases) {
    my ($client, $m, $tier, $why) = @$c;
    my $r = $t->get($url, ip => MSTest::client($client));
    $t->redirects_to($r, $m, $tier, $file, "$client: $why");
}

# prefix tier over IPv6
{
    my $r = $t->get($url, ip => '2001:db8:de:1::5');
    $t->redirects_to($r, 'pfx', 'prefix', $file, 'IPv6 client inside a mirror prefix');
}

# HEAD answers the same as GET
{
    my $r = $t->head($url, ip => MSTest::client('berlin'));
    $t->redirects_to($r, 'de-berlin', 'country', $file, 'HEAD from Berlin');
}

# Another file, a deeper path
{
    my $r = $t->get(MSTest::url('dir/sub/deep.tar.gz'), ip => MSTest::client('paris'));
    $t->redirects_to($r, 'fr-paris', 'country', 'dir/sub/deep.tar.gz', 'deep path from Paris');
}

# A file whose type httpd does not know is a download like any other.
for my $f ('big/no-extension', 'big/image.unknowntype') {
    my $r = $t->get(MSTest::url($f), ip => MSTest::client('berlin'));
    $t->redirects_to($r, 'de-berlin', 'country', $f, "$f (no content type)");
}

# ?country=CC overrides the client's country (coordinates dropped)
{
    my $r = $t->get("$url?country=JP", ip => MSTest::client('berlin'));
    $t->redirects_to($r, 'jp-tokyo', 'country', $file, 'Berlin client with ?country=JP');
    $r = $t->get("$url?country=US", ip => MSTest::client('nowhere'));
    $t->redirects_to($r, 'us-ny', 'country', $file, 'unlocated client with ?country=US');
    $r = $t->get("$url?country=AT", ip => MSTest::client('tokyo'));
    $t->redirects_to($r, [qw(de-berlin fr-paris)], 'continent', $file,
                     'Tokyo client with ?country=AT: an EU mirror');
    $r = $t->get("$url?country=GB", ip => MSTest::client('newyork'));
    $t->redirects_to($r, 'de-berlin', 'other-country', $file, 'NY client with ?country=GB');
    for my $q ('country=ZZ', 'country=', 'country=DEU', 'country=%0d%0aX-Injected:%201',
               'country=%3Cscript%3E', 'country=de&country=jp') {
        $r = $t->get("$url?$q", ip => MSTest::client('berlin'));
        ok($r->{status} == 302 || $r->{status} == 200, "?$q: 302 or 200 (got $r->{status})");
        $t->location_safe($r, "?$q");
    }
}

# ?country= leaves the address's coordinates and AS number behind (README,
# "How a request is decided"). Berlin clients asking for AT are ranked
# without coordinates, so both EU mirrors share them (measured from Berlin,
# only de-berlin would be in the band); a Munich client, in the carrier's AS,
# asking for FR is not sent to the AS-scope mirror.
{
    my %share;
    for my $i (1 .. 30) {
        my $r = $t->get("$url?country=AT", ip => "192.0.2.$i");
        $share{ MSTest::hdr($r, 'X-MirrorSel-Mirror') // 'none' }++;
    }
    is_deeply([ sort keys %share ], [qw(de-berlin fr-paris)],
              '?country=AT from 30 Berlin clients: spread over both EU mirrors, no distance')
        or diag(join ', ', map { "$_=$share{$_}" } sort keys %share);
    my $r = $t->get("$url?country=FR", ip => MSTest::client('munich'));
    $t->redirects_to($r, 'fr-paris', 'country', $file,
                     'Munich client (AS64502) with ?country=FR: not the AS mirror');
}

# One client gets the same mirror for the same file, every time.
{
    my %seen;
    for (1 .. 8) {
        my $r = $t->get($url, ip => MSTest::client('nowhere'));
        $seen{ MSTest::hdr($r, 'X-MirrorSel-Mirror') // 'none' }++;
    }
    is(scalar(keys %seen), 1, 'the same client and path always get the same mirror')
        or diag(join ', ', map { "$_=$seen{$_}" } sort keys %seen);
}

# Many unlocated clients spread over the world-scope mirrors (equal weights).
{
    my %share;
    for my $i (193 .. 254) {
        my $r = $t->get($url, ip => "203.0.113.$i");
        $share{ MSTest::hdr($r, 'X-MirrorSel-Mirror') // 'none' }++;
    }
    is_deeply([ sort keys %share ], [ sort @world_mirrors ],
              '62 unlocated clients are spread over all four world mirrors')
        or diag(join ', ', map { "$_=$share{$_}" } sort keys %share);
}

# Environment variables reach the access log (through LogFormat %{…}e).
{
    my $r = $t->get("$url?log=1", ip => MSTest::client('berlin'));
    is($r->{status}, 302, 'logged redirect');
    $r = $t->get(MSTest::url('small/readme.txt') . '?log=2', ip => MSTest::client('berlin'));
    is($r->{status}, 200, 'logged local answer');
    my ($red, $loc);
    MSTest::eventually(5, sub {
        for my $e ($t->access_entries) {
            $red = $e if ($e->{uri} // '') eq "$url?log=1";
            $loc = $e if ($e->{uri} // '') eq MSTest::url('small/readme.txt') . '?log=2';
        }
        $red && $loc;
    });
    ok($red, 'access log has the redirect') and do {
        is($red->{result}, 'redirect', 'MIRRORSEL_RESULT=redirect');
        is($red->{mirror}, 'de-berlin', 'MIRRORSEL_MIRROR=de-berlin');
        is($red->{tier}, 'country', 'MIRRORSEL_TIER=country');
        is($red->{country}, 'DE', 'MIRRORSEL_COUNTRY=DE');
        is($red->{asn}, '64501', 'MIRRORSEL_ASN=64501');
        is($red->{ip}, MSTest::client('berlin'), 'the client address came through X-Forwarded-For');
        like($red->{location}, qr{^http://de-berlin\.mirror\.test/pub/big/file\.iso$}, 'logged Location');
    };
    ok($loc, 'access log has the local answer') and do {
        like($loc->{result}, qr/^(?:local|excluded)$/, "MIRRORSEL_RESULT of a small file is local or excluded ($loc->{result})");
        ok(!defined $loc->{mirror} || $loc->{mirror} eq '-' || $loc->{mirror} eq '',
           'no MIRRORSEL_MIRROR on a local answer');
    };
}

$t->finish;
