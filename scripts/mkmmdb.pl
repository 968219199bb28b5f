#!/usr/bin/perl
# mkmmdb.pl OUTDIR — write the test geolocation databases:
#   OUTDIR/test-city.mmdb   database_type GeoLite2-City
#   OUTDIR/test-asn.mmdb    database_type GeoLite2-ASN
#
# Only documentation and other non-routed ranges are used, so nothing here
# points at a real network. The output is deterministic (fixed build epoch).
# The integration tests (t/integration) and the demo rely on this table:
#
#  network              cc  cont  city          lat      lon      ASN    AS organisation
#  -------------------- --  ----  ------------  -------  -------  -----  ----------------
#  192.0.2.0/26         DE  EU    Berlin         52.52    13.40   64501  Example Carrier EU
#  192.0.2.64/26        DE  EU    Munich         48.14    11.58   64502  Example Bavaria Net
#  192.0.2.128/26       FR  EU    Paris          48.86     2.35   64503  Example Telecom FR
#  192.0.2.192/26       AT  EU    Vienna         48.21    16.37   64501  Example Carrier EU
#  198.51.100.0/26      GB  EU    London         51.51    -0.13   64504  Example Thames Net
#  198.51.100.64/26     US  NA    New York       40.71   -74.01   64510  Example Coast to Coast
#  198.51.100.128/26    US  NA    Los Angeles    34.05  -118.24   64510  Example Coast to Coast
#  198.51.100.192/26    JP  AS    Tokyo          35.68   139.69   64520  Example Kanto Net
#  203.0.113.0/26       AU  OC    Sydney        -33.87   151.21   64530  Example Harbour Net
#  203.0.113.64/26      BR  SA    Sao Paulo     -23.55   -46.63   64540  Example Paulista Net
#  203.0.113.128/26     CH  EU    (country only, no coordinates, no ASN)
#  203.0.113.192/26     -- not in either database (an unlocated client)
#
#  2001:db8:de::/48     DE  EU    Berlin         52.52    13.40   64501  Example Carrier EU
#  2001:db8:de01::/48   DE  EU    Munich         48.14    11.58   64502  Example Bavaria Net
#  2001:db8:fa::/48     FR  EU    Paris          48.86     2.35   64503  Example Telecom FR
#  2001:db8:a5::/48     US  NA    New York       40.71   -74.01   64510  Example Coast to Coast
#  2001:db8:1a::/48     JP  AS    Tokyo          35.68   139.69   64520  Example Kanto Net
#  2001:db8:a0::/48     AU  OC    Sydney        -33.87   151.21   64530  Example Harbour Net
#  2001:db8:b2::/48     BR  SA    Sao Paulo     -23.55   -46.63   64540  Example Paulista Net
#  2001:db8:ff::/48     -- not in either database
#
# Private ranges (10/8, 172.16/12, 192.168/16, fd00::/8) are deliberately left
# out: the module's configuration excludes them from redirection.
use strict;
use warnings;
use utf8;
use MaxMind::DB::Writer::Tree;

my $out = shift @ARGV or die "usage: mkmmdb.pl OUTDIR\n";
-d $out or mkdir $out or die "mkmmdb.pl: $out: $!\n";

my %city = (
    berlin  => [ 'DE', 'EU', 'Berlin',      52.52,   13.40,  64501, 'Example Carrier EU' ],
    munich  => [ 'DE', 'EU', 'Munich',      48.14,   11.58,  64502, 'Example Bavaria Net' ],
    paris   => [ 'FR', 'EU', 'Paris',       48.86,    2.35,  64503, 'Example Telecom FR' ],
    vienna  => [ 'AT', 'EU', 'Vienna',      48.21,   16.37,  64501, 'Example Carrier EU' ],
    london  => [ 'GB', 'EU', 'London',      51.51,   -0.13,  64504, 'Example Thames Net' ],
    newyork => [ 'US', 'NA', 'New York',    40.71,  -74.01,  64510, 'Example Coast to Coast' ],
    la      => [ 'US', 'NA', 'Los Angeles', 34.05, -118.24,  64510, 'Example Coast to Coast' ],
    tokyo   => [ 'JP', 'AS', 'Tokyo',       35.68,  139.69,  64520, 'Example Kanto Net' ],
    sydney  => [ 'AU', 'OC', 'Sydney',     -33.87,  151.21,  64530, 'Example Harbour Net' ],
    saopaulo=> [ 'BR', 'SA', 'Sao Paulo',  -23.55,  -46.63,  64540, 'Example Paulista Net' ],
    swiss   => [ 'CH', 'EU', undef,         undef,   undef,  0,     undef ],
);

my @networks = (
    [ '192.0.2.0/26'       => 'berlin' ],
    [ '192.0.2.64/26'      => 'munich' ],
    [ '192.0.2.128/26'     => 'paris' ],
    [ '192.0.2.192/26'     => 'vienna' ],
    [ '198.51.100.0/26'    => 'london' ],
    [ '198.51.100.64/26'   => 'newyork' ],
    [ '198.51.100.128/26'  => 'la' ],
    [ '198.51.100.192/26'  => 'tokyo' ],
    [ '203.0.113.0/26'     => 'sydney' ],
    [ '203.0.113.64/26'    => 'saopaulo' ],
    [ '203.0.113.128/26'   => 'swiss' ],
    [ '2001:db8:de::/48'   => 'berlin' ],
    [ '2001:db8:de01::/48' => 'munich' ],
    [ '2001:db8:fa::/48'   => 'paris' ],
    [ '2001:db8:a5::/48'   => 'newyork' ],
    [ '2001:db8:1a::/48'   => 'tokyo' ],
    [ '2001:db8:a0::/48'   => 'sydney' ],
    [ '2001:db8:b2::/48'   => 'saopaulo' ],
);

my %types = (
    country                        => 'map',
    continent                      => 'map',
    city                           => 'map',
    location                       => 'map',
    names                          => 'map',
    en                             => 'utf8_string',
    iso_code                       => 'utf8_string',
    code                           => 'utf8_string',
    latitude                       => 'double',
    longitude                      => 'double',
    accuracy_radius                => 'uint16',
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);

sub tree {
    my ($type, $desc) = @_;
    my $t = MaxMind::DB::Writer::Tree->new(
        ip_version               => 6,
        record_size              => 28,
        database_type            => $type,
        languages                => ['en'],
        description              => { en => $desc },
        map_key_type_callback    => sub { $types{ $_[0] } },
        alias_ipv6_to_ipv4       => 1,
        remove_reserved_networks => 0,
    );
    $t->_set_build_epoch(1700000000);    # deterministic output
    return $t;
}

my $ct = tree('GeoLite2-City', 'mod_mirrorsel test city database');
my $at = tree('GeoLite2-ASN',  'mod_mirrorsel test ASN database');

for my $n (@networks) {
    my ($net, $key) = @$n;
    my ($cc, $cont, $name, $lat, $lon, $asn, $org) = @{ $city{$key} };
    my %rec = (
        country   => { iso_code => $cc, names => { en => $cc } },
        continent => { code => $cont },
    );
    if (defined $name) {
        $rec{city}     = { names => { en => $name } };
        $rec{location} = { latitude => $lat + 0.0, longitude => $lon + 0.0,
                           accuracy_radius => 50 };
    }
    $ct->insert_network($net, \%rec);
    $at->insert_network($net, { autonomous_system_number => $asn,
                                autonomous_system_organization => $org }) if $asn;
}

for ([ $ct, 'test-city.mmdb' ], [ $at, 'test-asn.mmdb' ]) {
    my ($t, $file) = @$_;
    my $tmp = "$out/$file.tmp.$$";
    open my $fh, '>:raw', $tmp or die "mkmmdb.pl: $tmp: $!\n";
    $t->write_tree($fh);
    close $fh or die "mkmmdb.pl: $tmp: $!\n";
    rename $tmp, "$out/$file" or die "mkmmdb.pl: $out/$file: $!\n";
}
