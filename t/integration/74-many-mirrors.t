# The documents of a file held by many mirrors: 60 mirrors make the lookup
# and the documents need several blocks of the request's pool, which is
# where an origin URL kept in a destroyed subrequest's pool turned into
# heap garbage (FILE.meta4 and FILE.mirrorlist are found by a subrequest
# for FILE). Every document names the origin URL exactly, request after
# request, and lists every mirror.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use MSTest;
use MSOutputs;

my $t = MSTest->new;
$t->standard_origin;
$t->init;
my @cities = sort keys %MSTest::CITY;
my @names = map { sprintf 'm%02d', $_ } 1 .. 60;
for my $i (0 .. $#names) {
    $t->mirror($names[$i], MSTest::at($cities[$i % @cities]));
}
$t->index_origin;
for my $m (@names) {
    $t->fixture('copy-all', $m);
    $t->fixture('all-up', $m);
}
$t->start;

my $berlin = MSTest::client('berlin');
my $origin_base = 'http://127.0.0.1:' . $t->port;
my $M = \&MSOutputs::ml;
my $URLS = '/' . $M->('metalink') . '/' . $M->('file') . '/' . $M->('url');

for my $file ('big/file.iso', 'dir/sub/deep.tar.gz') {
    my $url = MSTest::url($file);
    my (%meta4_origin, %list_origin, %sha_name, $meta4_urls, $list_rows);
    for my $round (1 .. 10) {
        my $r = $t->get("$url.meta4", ip => $berlin);
        my $g = MSOutputs::meta4_ok($t, $r->{body}, "$file.meta4 round $round");
        my @u = MSOutputs::xpath_list($g, $URLS);
        $meta4_origin{ $u[-1] // '(none)' }++;
        $meta4_urls = @u;

        $r = $t->get("$url.mirrorlist", ip => $berlin, headers => [ Accept => "application/json" ]);
        my $d = eval { JSON::PP->new->utf8->decode($r->{body}) } || {};
        $list_origin{ $d->{file}{url} // '(none)' }++;
        $list_rows = scalar @{ $d->{mirrors} || [] };

        $r = $t->get("$url.mirrorlist", ip => $berlin);
        my ($href) = $r->{body} =~ m{href="(\Q$origin_base\E[^"]*)"};
        $list_origin{ $href // '(none in HTML)' }++;

        $r = $t->get("$url.sha256", ip => $berlin);
        $sha_name{ ($r->{body} =~ /^[0-9a-f]{64}  (.*)\n\z/s)[0] // '(none)' }++;
    }
    is_deeply(\%meta4_origin, { "$origin_base$url" => 10 },
              "$file.meta4: the origin URL exactly, in all 10 rounds");
    is($meta4_urls, 61, "$file.meta4: 60 mirrors and the origin");
    is_deeply(\%list_origin, { "$origin_base$url" => 20 },
              "$file.mirrorlist (JSON and HTML): the origin URL exactly, in all 10 rounds");
    is($list_rows, 60, "$file.mirrorlist: all 60 mirrors");
    (my $base = $file) =~ s{.*/}{};
    is_deeply(\%sha_name, { $base => 10 }, "$file.sha256: its name, in all 10 rounds");
}

$t->finish;
