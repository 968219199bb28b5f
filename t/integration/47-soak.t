# No memory kept across requests: after a warm-up that fills every cache the
# children have (file cache, locations, mirror orders, the view's snapshot),
# tens of thousands more requests of every kind (redirects from clients all
# over, IPv6, documents, negotiation, 404s, exclusions, hostile paths), with
# the database changing every few hundred requests, leave the children's
# private memory where it was. A leak of a few dozen bytes per request, or
# of a snapshot per database change, shows as growth phase after phase
# (not measured under AddressSanitizer, whose quarantine keeps freed blocks;
# there the requests still run, and ASan reports what they leak or misuse).
# Under prefork (one thread a child: the plainest measure) and event (the
# MPM the benchmark and most sites run).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use POSIX ();
use MSTest;

my $t = MSTest->new;
$t->standard_origin;
my @files = map { sprintf('soak/d%02d/file-%03d.iso', $_ % 10, $_) } 1 .. 120;
$t->origin_file($_, 5000 + length $_) for @files;
$t->init;
my @mirrors = (
    [ 'berlin', 'berlin' ], [ 'paris', 'paris' ], [ 'newyork', 'newyork' ],
    [ 'tokyo', 'tokyo' ], [ 'sydney', 'sydney' ], [ 'saopaulo', 'saopaulo' ],
);
$t->mirror($_->[0], MSTest::at($_->[1])) for @mirrors;
$t->serving(map { $_->[0] } @mirrors);

my @clients = map { MSTest::client($_) } sort keys %MSTest::CLIENT;
my @kinds = (
    sub { $t->get(MSTest::url($_[0]), ip => $_[1]) },
    sub { $t->head(MSTest::url($_[0]), ip => $_[1]) },
    sub { $t->get(MSTest::url($_[0]) . '.meta4', ip => $_[1]) },
    sub { $t->get(MSTest::url($_[0]) . '?mirrorlist', ip => $_[1]) },
    sub { $t->get(MSTest::url($_[0]) . '?mirrorlist=json', ip => $_[1]) },
    sub { $t->get(MSTest::url($_[0]) . '.sha256', ip => $_[1]) },
    sub { $t->get(MSTest::url($_[0]), ip => $_[1],
                  headers => [ Accept => 'application/metalink4+xml' ]) },
    sub { $t->get(MSTest::url($_[0]) . '?country=jp', ip => $_[1]) },
    sub { $t->get(MSTest::url('soak/missing-' . int(rand 1000) . '.iso'), ip => $_[1]) },
    sub { $t->get(MSTest::url('small/readme.txt'), ip => $_[1]) },
    sub { $t->get(MSTest::url('soak/d01/../d02/%2e%2e/x%00.iso'), ip => $_[1]) },
    sub { $t->get(MSTest::url($_[0]), ip => $_[1], ua => 'lftp/4.9') },
);

# Every child's private (anonymous) resident memory, in kB, by pid.
sub children_anon {
    my %anon;
    for my $pid ($t->children) {
        open my $st, '<', "/proc/$pid/status" or next;
        for (<$st>) { $anon{$pid} = $1 if /^RssAnon:\s+(\d+)/ }
    }
    return \%anon;
}

my ($requests, $bad, $changes) = (0, 0, 0);
my @why;
srand(47);
sub phase {
    my ($n) = @_;
    for my $i (1 .. $n) {
        my $file = $files[rand @files];
        my $r = $kinds[$i % @kinds]->($file, $clients[rand @clients]);
        $requests++;
        if (!$r->{status} || $r->{status} >= 500) {
            $bad++;
            push @why, "status $r->{status}" . ($r->{error} ? " ($r->{error})" : '');
        }
        if ($i % 100 == 0) {            # a probe's result: the view and caches move on
            $t->fixture($changes++ % 2 ? 'all-up' : 'all-down', 'tokyo');
        }
    }
}

# Every worker busy at once, so that each has its stack and allocator in use
# before the first measure (a thread first used later shows as growth).
sub burst {
    my @kids;
    for my $k (1 .. 24) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            srand(1000 + $k);
            for my $i (1 .. 60) {
                $kinds[$i % @kinds]->($files[rand @files], $clients[rand @clients]);
            }
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    waitpid $_, 0 for @kids;
}

for my $mpm (qw(prefork event)) {
    ($requests, $bad, $changes, @why) = (0, 0, 0);
    $t->start(mpm => $mpm);
    burst();
    phase(4000);                            # warm-up: caches, snapshot, allocators
    my $m0 = children_anon();
    my @rounds;
    for my $round (1 .. 4) {
        phase(4000);
        push @rounds, children_anon();
    }
    is($bad, 0, "$mpm: $requests requests, none failed or answered 5xx")
        or diag(join "\n", @why[0 .. ($#why < 4 ? $#why : 4)]);

    # The children that lived through every round (prefork keeps them: no
    # MaxConnectionsPerChild); their summed private memory after each round.
    my @pids = grep { my $p = $_; !grep { !exists $_->{$p} } @rounds } keys %$m0;
    ok(@pids >= 1, "$mpm: the children measured lived through all rounds (" . scalar(@pids) . ')');
    my @sum = map { my $m = $_; my $s = 0; $s += $m->{$_} for @pids; $s } ($m0, @rounds);
    note("$mpm: children's RssAnon after warm-up and each round of 4,000 requests: @sum kB");
    my $growth = $sum[-1] - $sum[-3];
    SKIP: {
        skip "$mpm: memory under AddressSanitizer is its quarantine", 1 if $t->sanitized;
        cmp_ok($growth, '<', 128,
               "$mpm: private memory over the last two rounds (8,000 requests, $changes "
               . "database changes in all) grew by less than 128 kB ($sum[-3] kB, then "
               . "$sum[-1] kB)");
    }
    $t->stop;
}
$t->finish(allow => \@MSTest::CORE_REFUSALS);
