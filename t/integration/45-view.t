# What each child keeps of the database between requests (ms_view.c, the
# shared file cache): a change committed before a request is seen by that
# request, whichever child answers, however quickly the request follows;
# a file read by one child is a cache hit for the other; MirrorSelCacheFiles
# sizes the shared cache, 0 turns it off, and bad values stop httpd at start.
# Without the watcher (the directory cannot be read), the same guarantees
# hold through the database itself, and the reason is logged.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use MSTest;

my $t = MSTest->new;
$t->standard_origin;
$t->init;
$t->mirror('near', MSTest::at('berlin'));
$t->mirror('far', MSTest::at('paris'));
$t->serving(qw(near far));
$t->start;

my $file = 'big/file.iso';
my $url = MSTest::url($file);
my $berlin = MSTest::client('berlin');

sub mirror_now {
    my $r = $t->get($url, ip => $berlin);
    return MSTest::hdr($r, 'X-MirrorSel-Mirror') // "status $r->{status}";
}

is(mirror_now(), 'near', 'Berlin goes to the mirror in Berlin');

# Each change is made by another process and committed before the next
# request is sent: no request may see the state before it. (A mirror is
# down only when both its sides are: an http request may go to its https
# side.) Health and
# freshness alternate, so both the mirrors snapshot and the file cache are
# put to the test; every change leaves 'near' usable or not.
my @steps = (
    [ [ 'all-down', 'near' ],                   'far' ],
    [ [ 'all-up', 'near' ],                     'near' ],
    [ [ 'uncopy', 'near', $file ],              'far' ],
    [ [ 'copy-origin', 'near', $file ],         'near' ],
);
# The steps, $rounds times: one is() over every change.
sub changes_seen {
    my ($rounds, $what) = @_;
    my ($right, $seen, @wrong) = (0, 0);
    for my $round (1 .. $rounds) {
        for my $s (@steps) {
            $t->fixture(@{ $s->[0] });
            my $got = mirror_now();
            $seen++;
            if ($got eq $s->[1]) { $right++ }
            else { push @wrong, "round $round, after @{ $s->[0] }: $got, not $s->[1]" }
        }
    }
    is($right, $seen, "${what}each of $seen changes is seen by the request right after it")
        or diag(join "\n", @wrong[0 .. ($#wrong < 4 ? $#wrong : 4)]);
}

# The children's MS00014 lines in $log: (lines, file-cache hits, misses).
sub file_cache_stats {
    my ($log) = @_;
    my @exit = $log =~ /MS00014: cache hits\/misses at child exit: files (\d+)\/(\d+)/g;
    my ($hits, $misses) = (0, 0);
    for (my $i = 0; $i < @exit; $i += 2) {
        $hits += $exit[$i];
        $misses += $exit[$i + 1];
    }
    return (@exit / 2, $hits, $misses);
}

changes_seen(10, '');

# A file read by one child is a hit for the other: after a fresh start,
# 40 requests for one file (spread over both children by new connections)
# read it from the database once, whichever child came first.
$t->stop;
my $before = length $t->error_log;
$t->start;
my $ok = 0;
$ok += (mirror_now() eq 'near') for 1 .. 40;
is($ok, 40, '40 requests for one file, all to near');
$t->stop;
my ($lines, $hits, $misses) = file_cache_stats(substr($t->error_log, $before));
# One line per child: the TLS virtual host shares the main server's state.
is($lines, 2, 'each of the two children logged its cache statistics once');
is($misses, 1, "the file was read from the database once for both children "
   . "(files hits/misses over the children: $hits/$misses)");

# A change to another file leaves this one cached (schema 005: a change
# empties only its own path's bucket of the cache). Ten changes to
# other.iso (another bucket), then two to the file: it is read from the
# database once, then once after each change of its own, and other.iso
# once. Before schema 005, each change emptied all. With the view and
# without it (every request then asks the database, which judges an entry
# by its path's bucket the same way).
sub other_file_changes {
    my ($what) = @_;
    my $from = length $t->error_log;
    my @seq = ([ 'first request', mirror_now() ]);
    for my $i (0 .. 9) {
        $t->fixture($i % 2 ? 'copy-origin' : 'uncopy', 'near', 'big/other.iso');
        select(undef, undef, undef, 0.3);          # the view settled
        push @seq, [ "after other.iso's change $i", mirror_now() ];
    }
    for my $step (['uncopy', 'after its own copy went'], ['copy-origin', 'after it came back']) {
        $t->fixture($step->[0], 'near', $file);
        select(undef, undef, undef, 0.3);
        push @seq, [ $step->[1], mirror_now() ];
    }
    my $other = $t->get(MSTest::url('big/other.iso'), ip => $berlin);
    is_deeply([ map { $_->[1] } @seq ], [ ('near') x 11, 'far', 'near' ],
              "${what}ten changes to another file, then two to this one: the answers follow")
        or diag(join ', ', map { "$_->[0]: $_->[1]" } @seq);
    is(MSTest::hdr($other, 'X-MirrorSel-Mirror'), 'near',
       "${what}and the other file is answered as it is");
    $t->stop;
    my (undef, $h, $m) = file_cache_stats(substr($t->error_log, $from));
    is($m, 4, "${what}read from the database 4 times: the file at first and after each "
       . "of its own changes, the other file once (files hits/misses: $h/$m)");
}
$t->start;
other_file_changes('');

# MirrorSelCacheFiles 0: no file cache, the same answers.
$t->start(extra => "MirrorSelCacheFiles 0\n");
is(mirror_now(), 'near', 'MirrorSelCacheFiles 0: still redirected');
$t->fixture('all-down', 'near');
is(mirror_now(), 'far', 'MirrorSelCacheFiles 0: a change is seen');
$t->fixture('all-up', 'near');
$t->stop;
like(($t->error_log =~ /.*(MS00014: [^\n]*)/s)[0] // '', qr/files 0\/0,/,
     'MirrorSelCacheFiles 0: no cache was asked');

# Bad values stop httpd at start-up with the directive's name.
for my $case (['lots', 'not a number'], ['-1', 'negative'], ['99999999999', 'too large']) {
    $t->start_refused("MirrorSelCacheFiles $case->[0]\n", qr/MirrorSelCacheFiles: a number of files/,
                      "MirrorSelCacheFiles $case->[0] ($case->[1])");
}
$t->start_refused("<VirtualHost 127.0.0.1:1>\n    MirrorSelCacheFiles 10\n</VirtualHost>\n",
                  qr/MirrorSelCacheFiles cannot occur within <VirtualHost> section/,
                  'MirrorSelCacheFiles inside <VirtualHost> (one cache for the whole server)');

$t->start;
is(mirror_now(), 'near', 'a normal start after the refusals');

# Without the watcher (inotify refused: the database's directory cannot be
# read, only entered and written, as SQLite needs), each request asks the
# database whether it changed; the shared file cache still answers, and a
# change is still seen by the very next request.
$t->stop;
$before = length $t->error_log;
chmod 0300, $t->dir or die "chmod: $!";
$t->start;
my $noview_ok = eval {
    changes_seen(3, 'without the watcher: ');
    $ok = 0;
    $ok += (mirror_now() eq 'near') for 1 .. 20;
    $t->stop;
    1;
};
chmod 0755, $t->dir or die "chmod: $!";
ok($noview_ok, 'without the watcher: the requests ran') or diag($@);
my $log = substr($t->error_log, $before);
like($log, qr/MS00018: cannot watch \S+mirrorsel\.db \(inotify[^)]*\); every request asks/,
     'without the watcher: the reason is logged at start');
is($ok, 20, 'without the watcher: 20 requests for one file, all to near');
($lines, $hits, $misses) = file_cache_stats($log);
cmp_ok($hits, '>=', 15, "without the watcher: the file cache still answers "
       . "(files hits/misses over the children: $hits/$misses)");

# MirrorSelProbeWarnAge (3600 s, as shipped) without the watcher: the
# view still reads the latest probe (its thread retries the watch each
# second and reads the database meanwhile).
{
    my $sql = sub { system('sqlite3', '-cmd', '.timeout 10000', $t->db, $_[0]) == 0
                        or die "sqlite3 $_[0] failed" };
    $sql->('UPDATE mirror_health SET checked = checked - 7200');
    my $from = length $t->error_log;
    chmod 0300, $t->dir or die "chmod: $!";
    my $ran = eval {
        $t->start;
        mirror_now() for 1 .. 10;
        $t->stop;
        1;
    };
    chmod 0755, $t->dir or die "chmod: $!";
    ok($ran, 'without the watcher, probes two hours old: the requests ran') or diag($@);
    my $log = substr($t->error_log, $from);
    like($log, qr/MS00018: cannot watch/, '  (the watcher is off)');
    like($log, qr/MS00022: the latest probe of the \d+ enabled mirrors in \S+ is 72\d\d s old/,
         '  and MS00022 still says how old the probes are');
    $sql->("UPDATE mirror_health SET checked = CAST(strftime('%s', 'now') AS INTEGER)");
}

chmod 0300, $t->dir or die "chmod: $!";
$t->start;
my $noview_changes = eval { other_file_changes('without the watcher: '); 1 };
chmod 0755, $t->dir or die "chmod: $!";
ok($noview_changes, 'without the watcher: the changes ran') or diag($@);

$t->start;
is(mirror_now(), 'near', 'the watcher is back once the directory can be read');
$t->finish;
