# MirrorSelSpread with other values than conf/mirrorsel.conf's 1.5 250: the
# band of mirrors that share a tier's traffic, set per directory. Berlin
# clients, three German mirrors: de-berlin (0 km), de-potsdam (27 km) and
# de-munich (504 km). With 1.5 250 the band is 250 km: Berlin and Potsdam
# share the clients; under a directory with 100 20000 all three do; with
# 1 0 only the nearest, Berlin. Bad values stop httpd with the directive's
# message.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use MSTest;

my $t = MSTest->new;
$t->origin_file($_, 30000) for 'big/file.iso', 'wide/file.iso', 'exact/file.iso';
$t->init;
$t->mirror('de-berlin', MSTest::at('berlin'));
$t->mirror('de-potsdam', country => 'DE', continent => 'EU', lat => 52.39, lon => 13.06);
$t->mirror('de-munich', MSTest::at('munich'));
$t->index_origin;
for my $m (qw(de-berlin de-potsdam de-munich)) {
    $t->fixture('copy-all', $m);
    $t->fixture('all-up', $m);
}
my $root = $t->{origin};
$t->start(extra => <<"EOF");
<Directory "$root/wide">
    MirrorSelSpread 100 20000
</Directory>
<Directory "$root/exact">
    MirrorSelSpread 1 0
</Directory>
EOF

# 30 Berlin clients (192.0.2.0/26 in the test geo database): the mirrors
# each path's redirects went to, and how often.
sub chosen {
    my ($rel) = @_;
    my %seen;
    for my $i (1 .. 30) {
        my $r = $t->get(MSTest::url($rel), ip => "192.0.2.$i");
        is($r->{status}, 302, "$rel, client 192.0.2.$i: redirected") or next;
        $seen{ MSTest::hdr($r, 'X-MirrorSel-Mirror') // '-' }++;
    }
    return \%seen;
}

my $big = chosen('big/file.iso');
is_deeply([ sort keys %$big ], [ 'de-berlin', 'de-potsdam' ],
          'MirrorSelSpread 1.5 250 (conf/mirrorsel.conf): Berlin and Potsdam share; Munich, 504 km, is outside the band')
    or diag(explain $big);

my $wide = chosen('wide/file.iso');
is_deeply([ sort keys %$wide ], [ 'de-berlin', 'de-munich', 'de-potsdam' ],
          'MirrorSelSpread 100 20000 in a subdirectory: all three share the clients')
    or diag(explain $wide);
cmp_ok($wide->{'de-munich'} // 0, '>=', 3, 'and Munich gets a real share (equal weights)')
    or diag(explain $wide);

my $exact = chosen('exact/file.iso');
is_deeply([ sort keys %$exact ], ['de-berlin'], 'MirrorSelSpread 1 0: only the nearest, not Potsdam at 27 km')
    or diag(explain $exact);

# explain with the same band gives the same answer as the module
for my $i (1 .. 5) {
    my $ip = "192.0.2.$i";
    my ($rc, $out) = $t->tool_run('explain', 'wide/file.iso', '--ip', $ip, '--spread', '100',
                                  '20000');
    my ($want) = $out =~ /^result:\s+redirect to (\S+)/m;
    my $r = $t->get(MSTest::url('wide/file.iso'), ip => $ip);
    is(MSTest::hdr($r, 'X-MirrorSel-Mirror'), $want, "client $ip: explain --spread 100 20000 agrees");
}
$t->stop;

# Values httpd must refuse, with the directive's message
for my $bad ([ '0.5 10', qr/factor '0\.5' is not a number >= 1/ ],
             [ '1.5 -1', qr/distance '-1' is not a number of km >= 0/ ],
             [ 'x 10',   qr/factor 'x' is not a number >= 1/ ]) {
    my ($args, $re) = @$bad;
    my $before = -s $t->dir . '/logs/httpd.out' // 0;
    is($t->start(extra => "<Directory \"$root/wide\">\n    MirrorSelSpread $args\n</Directory>\n",
                 expect_fail => 1), 0, "MirrorSelSpread $args: httpd does not start");
    open my $fh, '<', $t->dir . '/logs/httpd.out' or die $!;
    seek $fh, $before, 0;
    my $out = do { local $/; <$fh> };
    like($out, $re, "MirrorSelSpread $args: says why");
}

$t->finish;
