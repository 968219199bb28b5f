#!/usr/bin/perl
# `mirrorsel index ROOT`: what it records (path, size, mtime, SHA-256), what it
# leaves out (symbolic links, special files, names it cannot carry), what an
# incremental run reads again, and what it refuses to lose (files under a
# directory it cannot read, the whole index when ROOT is empty).
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Basename ();
use File::Path qw(remove_tree make_path);
use POSIX qw(mkfifo);
use ScanTest;
use Test::More;
use IO::Handle;
use POSIX qw(_exit);
use Time::HiRes ();

my $t = ScanTest->new->init;
my $o = $t->origin;

sub file_sha {
    open my $fh, '<', $_[0] or die "$_[0]: $!";
    binmode $fh;
    local $/;
    my $d = <$fh>;
    return sha256_hex($d // '');
}

# The index as { path => "size mtime sha256" }.
sub indexed {
    return { map { $_->[0] => "$_->[1] $_->[2] $_->[3]" }
             $t->sql('SELECT path, size, mtime, sha256 FROM files') };
}

sub ids { return { map { $_->[0] => $_->[1] } $t->sql('SELECT path, id FROM files') } }

# What the tree holds, computed here: { path => "size mtime sha256" }.
sub expected {
    my %e;
    for my $rel (@_) {
        my $p = "$o/$rel";
        my @st = stat $p or die "$p: $!";
        $e{$rel} = join ' ', $st[7], $st[9], file_sha($p);
    }
    return \%e;
}

# `mirrorsel index @args ROOT` in the background: its pid (output in run/bg.*).
sub index_bg {
    my @args = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $t->dir . '/run/bg.out';
        open STDERR, '>', $t->dir . '/run/bg.err';
        { exec "$t->{build}/mirrorsel", '--db', $t->db, 'index', @args, $o }
        _exit(127);
    }
    return $pid;
}

# The bytes a process has read so far (page cache included), undef once it is gone.
sub bytes_read {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/io" or return undef;
    while (<$fh>) { return $1 if /^rchar:\s*(\d+)/ }
    return undef;
}

# Wait until the process has read $n bytes (it is hashing a big file).
sub wait_read {
    my ($pid, $n) = @_;
    my $until = Time::HiRes::time() + 60;
    while (Time::HiRes::time() < $until) {
        my $got = bytes_read($pid) // return undef;
        return $got if $got >= $n;
        Time::HiRes::sleep(0.01);
    }
    return undef;
}

sub sparse_file {
    my ($path, $size, $mtime) = @_;
    make_path(File::Basename::dirname($path));
    open my $fh, '>', $path or die "$path: $!";
    truncate $fh, $size or die "truncate $path: $!";
    close $fh;
    utime $mtime, $mtime, $path;
}

sub run_index {
    my @args = @_;
    my ($rc, $out, $err) = $t->run_tool('index', @args, $o);
    return ($rc, $out, $err);
}

# Empty the index through the tool (an empty ROOT and --force): schema 005's
# triggers need the tool's SQL functions, which the sqlite3 shell lacks.
my $empty_root = $t->dir . '/empty-root';
make_path($empty_root);
sub empty_index {
    my ($rc, $out, $err) = $t->run_tool('index', '--force', $empty_root);
    die "emptying the index: $err" if $rc;
    return;
}

# --- a first index --------------------------------------------------------

$t->origin_file('os/x.iso', 3 * 1024 * 1024 + 17);         # more than one read buffer
$t->origin_file('os/sub/y.img', 12345, 1700000000);
$t->origin_file('empty', 0);
$t->origin_file("caf\x{c3}\x{a9}/ok.txt", 5000);            # UTF-8 is a name like any other
my @files = ('os/x.iso', 'os/sub/y.img', 'empty', "caf\x{c3}\x{a9}/ok.txt");

symlink("$o/os/x.iso", "$o/os/link.iso") or die "symlink: $!";
symlink("$o/os", "$o/linkdir") or die "symlink: $!";
mkfifo("$o/os/fifo", 0600) or die "mkfifo: $!";
$t->origin_file("bad\\name", 100);                          # a backslash
$t->origin_file("ctl\x01name", 100);                        # a control byte
$t->origin_file("latin\xe9.txt", 100);                      # not UTF-8

my ($rc, $out, $err) = run_index();
is($rc, 0, 'first index: exit 0') or diag($err);
like($out, qr/indexed 4 files \(4 added, 0 updated, 0 removed, 0 unchanged\)/,
     'first index: 4 files added');
is_deeply(indexed(), expected(@files),
          'each regular file with its size, mtime and SHA-256 (also past one read buffer, '
          . 'and the empty file)');
like($err, qr/skipping bad\\x5cname: name not allowed/, 'a backslash in a name: skipped, said (printably)');
like($err, qr/skipping ctl.*name: name not allowed/, 'a control byte in a name: skipped, said');
like($err, qr/skipping latin.*: name not allowed/, 'a name that is not UTF-8: skipped, said');
like($err, qr/index: 3 entries skipped/, 'the skipped entries counted');
unlike($err, qr/link|fifo/, 'symbolic links and a fifo are left out without a word');
my $first_ids = ids();

# --- incremental ------------------------------------------------------------

($rc, $out, $err) = run_index();
is($rc, 0, 'again, nothing changed: exit 0');
like($out, qr/indexed 4 files \(0 added, 0 updated, 0 removed, 4 unchanged\)/,
     'again: every file unchanged, none read');
is_deeply(ids(), $first_ids, 'again: the rows are the same rows');

unlink "$o/bad\\name", "$o/ctl\x01name", "$o/latin\xe9.txt";
$t->origin_file('os/sub/y.img', 12345, 1700000100);        # touched: same size, new mtime
ScanTest::write_file("$o/os/x.iso", 4000, 1714564999, 'new'); # new content and size
$t->origin_file('os/z.iso', 70000);                         # new
unlink "$o/empty";                                          # gone
@files = ('os/x.iso', 'os/sub/y.img', "caf\x{c3}\x{a9}/ok.txt", 'os/z.iso');
($rc, $out, $err) = run_index();
is($rc, 0, 'after changes: exit 0') or diag($err);
like($out, qr/indexed 4 files \(1 added, 2 updated, 1 removed, 1 unchanged\)/,
     'after changes: one added, two read again, one removed, one unchanged');
is_deeply(indexed(), expected(@files), 'after changes: the index is the tree');
is(ids()->{'os/x.iso'}, $first_ids->{'os/x.iso'}, 'a changed file keeps its row');

# --- what it refuses to lose --------------------------------------------------

SKIP: {
    skip 'root reads any directory and file', 7 if $> == 0;
    $t->origin_file('os/subx.txt', 10);     # beside os/sub, its name starting alike
    run_index();
    unlink "$o/os/subx.txt";
    chmod 0000, "$o/os/sub" or die;
    ($rc, $out, $err) = run_index();
    chmod 0755, "$o/os/sub";
    is($rc, 0, 'a directory that cannot be read: exit 0');
    like($err, qr/skipping os\/sub: Permission denied/, 'the directory is named');
    ok(exists indexed()->{'os/sub/y.img'}, 'the files under it stay in the index');
    ok(!exists indexed()->{'os/subx.txt'},
       'a file gone beside it (os/subx.txt, not below os/sub/) is removed');

    ScanTest::write_file("$o/os/z.iso", 80000, 1714565999, 'z2');
    chmod 0000, "$o/os/z.iso" or die;
    ($rc, $out, $err) = run_index();
    chmod 0644, "$o/os/z.iso";
    is($rc, 0, 'a changed file that cannot be read: exit 0');
    like($err, qr/skipping os\/z\.iso: Permission denied/, 'the file is named');
    is((split ' ', indexed()->{'os/z.iso'})[0], 70000, 'its old row is kept as it was');
}
($rc, $out, $err) = run_index();
is_deeply(indexed(), expected(@files), 'readable again: the index is the tree');

# Another size with the mtime kept (a sync preserving mtimes): read again,
# as a size or an mtime that differs makes it.
my ($zsize, $zmtime) = (stat "$o/os/z.iso")[7, 9];
ScanTest::write_file("$o/os/z.iso", $zsize + 1, $zmtime, 'same mtime');
($rc, $out, $err) = run_index();
like($out, qr/\(0 added, 1 updated, 0 removed, 3 unchanged\)/,
     'another size, the same mtime: read again');
is_deeply(indexed(), expected(@files), 'another size, the same mtime: the index is the tree');

my $before = indexed();
remove_tree($o);
make_path($o);
($rc, $out, $err) = run_index();
is($rc, 1, 'an empty ROOT over a non-empty index: exit 1');
like($err, qr/holds no files but the index has 4.*--force/, 'says why and what to do');
is_deeply(indexed(), $before, 'the index is left as it was');
($rc, $out, $err) = run_index('--force');
is($rc, 0, '--force: exit 0');
like($out, qr/4 removed/, '--force: every file removed');
is(scalar keys %{ indexed() }, 0, '--force: the index is empty');

($rc, $out, $err) = $t->run_tool('index', "$o/missing");
is($rc, 1, 'a ROOT that does not exist: exit 1');
like($err, qr/missing: No such file or directory/, 'says so');

# --- files hashed by several threads: the same index as by one ----------------

remove_tree($o);
my @many;
for my $i (1 .. 300) {
    my $rel = sprintf('many/d%02d/f%03d.bin', $i % 17, $i);
    # sizes around the 1 MiB read buffer and small ones, each content its own
    ScanTest::write_file("$o/$rel", ($i % 7 == 0) ? 1024 * 1024 + $i : 1000 + 37 * $i,
                         1714560000 + $i, "m$i");
    push @many, $rel;
}
my %by_jobs;
for my $jobs (1, 4, 64) {
    empty_index();
    ($rc, $out, $err) = run_index('--jobs', $jobs);
    is($rc, 0, "--jobs $jobs: exit 0") or diag($err);
    like($out, qr/indexed 300 files \(300 added/, "--jobs $jobs: 300 files added");
    $by_jobs{$jobs} = indexed();
}
is_deeply($by_jobs{1}, expected(@many), '--jobs 1: the index is the tree');
is_deeply($by_jobs{4}, $by_jobs{1}, '--jobs 4: the same index');
is_deeply($by_jobs{64}, $by_jobs{1}, '--jobs 64 (more threads than files at once): the same');

# several threads and files that cannot be read or change: each said, none lost
SKIP: {
    skip 'root reads any file', 3 if $> == 0;
    ScanTest::write_file("$o/$many[5]", 4321, 1714569999, 'changed');
    chmod 0000, "$o/$many[5]" or die;
    ScanTest::write_file("$o/$many[6]", 5432, 1714569999, 'changed');
    ($rc, $out, $err) = run_index('--jobs', 4);
    chmod 0644, "$o/$many[5]";
    is($rc, 0, '--jobs 4, one changed file unreadable: exit 0');
    like($err, qr/skipping \Q$many[5]\E: Permission denied/, 'the unreadable one is named');
    is((split ' ', indexed()->{$many[6]})[0], 5432, 'the readable changed one is read again');
}

# a file written to while it is read: skipped with a word, never half-recorded
# (a writer appends a byte every millisecond to 16 MiB: the read takes longer)
for my $jobs (1, 4) {
    my $grow = "$o/many/growing.bin";
    ScanTest::write_file($grow, 16 * 1024 * 1024, undef, "g$jobs");
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open my $fh, '>>', $grow or POSIX::_exit(1);
        $fh->autoflush(1);
        for (1 .. 20000) { print $fh 'x'; select(undef, undef, undef, 0.001) }
        POSIX::_exit(0);
    }
    select(undef, undef, undef, 0.01) until -s $grow > 16 * 1024 * 1024;   # it writes
    ($rc, $out, $err) = run_index('--jobs', $jobs);
    kill 'TERM', $pid;
    waitpid $pid, 0;
    is($rc, 0, "--jobs $jobs, a file growing while read: exit 0") or diag($err);
    like($err, qr/skipping many\/growing\.bin: changed while it was read/,
         "--jobs $jobs: the growing file is named");
    ok(!exists indexed()->{'many/growing.bin'}, "--jobs $jobs: and not recorded");
    unlink $grow;
}

($rc, $out, $err) = $t->run_tool('index', '--jobs', '0', $o);
is($rc, 2, '--jobs 0: a usage error');
like($err, qr/--jobs takes 1 to 64/, 'says what it takes');

# --- a ROOT where nothing can be indexed is as empty as an empty one ----------
# (an entry skipped must not let the index be emptied without --force)

remove_tree($o);
empty_index();
$t->origin_file('keep/a.bin', 5000);
($rc, $out, $err) = run_index();
is($rc, 0, 'one file indexed') or diag($err);
$before = indexed();
remove_tree("$o/keep");
$t->origin_file("bad\x01", 100);
($rc, $out, $err) = run_index();
is($rc, 1, 'a ROOT holding only a name it cannot carry, over a non-empty index: exit 1');
like($err, qr/holds no files but the index has 1.*--force/, 'says why and what to do');
is_deeply(indexed(), $before, 'the index is left as it was');
SKIP: {
    skip 'root reads any directory', 3 if $> == 0;
    unlink "$o/bad\x01";
    $t->origin_file('locked/b.bin', 100);
    chmod 0000, "$o/locked" or die;
    ($rc, $out, $err) = run_index();
    chmod 0755, "$o/locked";
    is($rc, 1, 'a ROOT holding only a directory it cannot read (the indexed files elsewhere): exit 1');
    like($err, qr/skipping locked: Permission denied/, 'the directory is named');
    is_deeply(indexed(), $before, 'the index is left as it was');
    remove_tree("$o/locked");
    $t->origin_file("bad\x01", 100);
}
($rc, $out, $err) = run_index('--force');
is($rc, 0, 'the same with --force: exit 0') or diag($err);
is(scalar keys %{ indexed() }, 0, '--force: the index is empty');

# --- a file rewritten in place while it is read, same size, same mtime second ----
# (the mtime is compared to the nanosecond, and the ctime and inode too: the
# write below sets the mtime back into its second, as a rewrite within one
# second leaves it)

remove_tree($o);
my $racy = "$o/big/racy.iso";
sparse_file($racy, 1024 ** 3, 1714564830);
my $pid = index_bg('--jobs', 1);
ok(wait_read($pid, 64 * 1024 ** 2), 'index is reading a 1 GiB file');
{
    open my $fh, '+<', $racy or die "$racy: $!";
    syswrite $fh, 'x';            # in place: the size stays
    close $fh;
    Time::HiRes::utime(1714564830.5, 1714564830.5, $racy) or die "utime: $!";
}
waitpid $pid, 0;
is($? >> 8, 0, 'a file rewritten while it is read: exit 0');
like(ScanTest::_slurp($t->dir . '/run/bg.err'),
     qr/skipping big\/racy\.iso: changed while it was read/,
     'rewritten within the same second at the same size: skipped, said');
ok(!exists indexed()->{'big/racy.iso'}, 'and not recorded (its hash would be stale for good)');
unlink $racy;

# --- a file rewritten after it was read, within the second it was read ----------
# (a sync job writes a file and runs index at once, then writes it again at the
# same size before the second is over: size and mtime second are the same as
# indexed, yet the bytes are not. The record of a file read less than a whole
# second after its mtime's second is not trusted: the next run reads it again,
# as git does with a "racily clean" entry. A settled file is not read again.)

empty_index();
my $now = time;
ScanTest::write_file("$o/fresh/latest.txt", 5000, $now, 'one');
ScanTest::write_file("$o/fresh/old.txt", 5000, 1714564830, 'old');
($rc, $out, $err) = run_index();
is($rc, 0, 'a file written this second: exit 0') or diag($err);
is_deeply(indexed(), expected('fresh/latest.txt', 'fresh/old.txt'), 'both indexed');
my ($read_at) = map { $_->[0] } $t->sql("SELECT indexed FROM files WHERE path = 'fresh/latest.txt'");
ok($read_at >= $now && $read_at <= time, 'files.indexed is the second the read began')
    or diag("indexed $read_at, file written at $now");
ScanTest::write_file("$o/fresh/latest.txt", 5000, $now, 'two');  # same size, same second
($rc, $out, $err) = run_index();
is($rc, 0, 'rewritten at the same size in the same second: exit 0') or diag($err);
like($out, qr/indexed 2 files \(0 added, 1 updated, 0 removed, 1 unchanged\)/,
     'the file read in its own second is read again; the old one is not');
is_deeply(indexed(), expected('fresh/latest.txt', 'fresh/old.txt'),
          'the index has the new bytes\' SHA-256');
$t->sql("UPDATE files SET indexed = mtime + 2 WHERE path = 'fresh/latest.txt'");
($rc, $out, $err) = run_index();
like($out, qr/indexed 2 files \(0 added, 0 updated, 0 removed, 2 unchanged\)/,
     'read two seconds after its mtime: settled, not read again');
remove_tree("$o/fresh");

# --- the database is not write-locked while files are read --------------------
# (rows are written in short transactions between reads: a command that
# writes while index hashes a big file goes ahead at once, rather than
# waiting for the index's batch and failing after its 10 s busy timeout)

remove_tree($o);
empty_index();
$t->origin_file(sprintf('small/s%02d.bin', $_), 1000 + $_) for 1 .. 20;
my $BIG = 2 * 1024 ** 3;
sparse_file("$o/big/huge.iso", $BIG, 1714564830);
$pid = index_bg('--jobs', 2);
ok(wait_read($pid, 64 * 1024 ** 2), 'index is reading a 2 GiB file');
my $t0 = Time::HiRes::time();
($rc, $out, $err) = $t->run_tool('mirror', 'add', 'during-index', '--url', 'http://127.0.0.1:9/',
                                 '--country', 'DE');
my $took = Time::HiRes::time() - $t0;
my $read = bytes_read($pid);
waitpid $pid, 0;
my $index_rc = $? >> 8;
is($rc, 0, 'mirror add while index reads a big file: exit 0') or diag($err);
ok(defined $read && $read < $BIG, 'and done before index had read that file')
    or diag(sprintf('mirror add took %.2f s; index had read %s bytes', $took, $read // 'all'));
is($index_rc, 0, 'the index: exit 0');
like(ScanTest::_slurp($t->dir . '/run/bg.out'), qr/indexed 21 files \(21 added/,
     'the index: every file added');
is(scalar keys %{ indexed() }, 21, 'every row written');
$t->tool('mirror', 'remove', 'during-index');
unlink "$o/big/huge.iso";

# --- a killed index leaves the old index plus whole rows of full batches ---------
# (2,000 files a batch: with 2,100 small files and a big one being read,
# the first batch is in the database and the rest is not; nothing removed)

remove_tree($o);
empty_index();
$t->origin_file('old/gone.bin', 3000);
($rc, $out, $err) = run_index();
is($rc, 0, 'a file indexed') or diag($err);
remove_tree("$o/old");
my @batch = map { sprintf('batch/d%02d/f%04d.bin', $_ % 20, $_) } 1 .. 2100;
ScanTest::write_file("$o/$_", 200 + length($_), 1714564830, $_) for @batch;
sparse_file("$o/big/huge.iso", $BIG, 1714564830);
$pid = index_bg('--jobs', 2);
my $until = Time::HiRes::time() + 60;
my $rows = 0;
while (Time::HiRes::time() < $until) {
    ($rows) = map { $_->[0] } $t->sql('SELECT count(*) FROM files');
    last if $rows > 1;
    Time::HiRes::sleep(0.02);
}
kill 'KILL', $pid;
waitpid $pid, 0;
is($? & 127, 9, 'index killed while it reads the big file');
my $left = indexed();
is(scalar keys %$left, 2001, 'the old row and one batch of 2,000 rows');
ok(exists $left->{'old/gone.bin'}, 'a file gone from ROOT is not removed by an unfinished walk');
delete $left->{'old/gone.bin'};
is_deeply($left, expected(grep { $left->{$_} } @batch), 'each row written whole and right');
($rc, $out, $err) = run_index();
is($rc, 0, 'the next run: exit 0') or diag($err);
like($out, qr/indexed 2101 files \(101 added, 0 updated, 1 removed, 2000 unchanged\)/,
     'the next run takes it from there');
unlink "$o/big/huge.iso";

done_testing;
