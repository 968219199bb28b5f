#!/usr/bin/perl
# `mirrorsel init`: creates the database (in WAL mode, which the module
# relies on) or migrates it, and refuses what is not a mirrorsel database,
# leaving that file exactly as it was. `mirrorsel restore`: a backup written
# over the database in place, with a new epoch.
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX qw(_exit);
use ScanTest;
use Test::More;

my $t = ScanTest->new;
my $d = $t->dir;
my $schema;

# mirrorsel @args: (exit code, stdout, stderr).
sub tool {
    my @args = @_;
    my ($out, $err) = ("$d/run/out", "$d/run/err");
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>', $err;
        { exec "$t->{build}/mirrorsel", @args }
        _exit(127);
    }
    waitpid $pid, 0;
    return ($? >> 8, ScanTest::_slurp($out), ScanTest::_slurp($err));
}

sub init { return tool('--db', $_[0], 'init') }

# The sqlite3 shell's answer to one statement, chomped.
sub sqlite {
    my ($db, $sql) = @_;
    open my $fh, '-|', 'sqlite3', $db, $sql or die "sqlite3: $!";
    local $/;
    my $s = <$fh> // '';
    close $fh;
    $s =~ s/\n\z//;
    return $s;
}

# The file's bytes, as a digest, and the files beside it.
sub state {
    my ($db) = @_;
    open my $fh, '<', $db or die "$db: $!";
    binmode $fh;
    local $/;
    my $bytes = <$fh> // '';
    return join ' ', sha256_hex($bytes), map { -e "$db$_" ? $_ : () } qw(-wal -shm -journal);
}

# --- a new database ----------------------------------------------------------

my ($rc, $out, $err) = init("$d/new.db");
is($rc, 0, 'a new database: exit 0') or diag($err);
like($out, qr/^created schema (\d+)$/, 'says "created schema N"');
($schema) = $out =~ /(\d+)/;
is(sqlite("$d/new.db", 'PRAGMA journal_mode'), 'wal', 'in WAL mode (the module reads while the tool writes)');
($rc, $out, $err) = init("$d/new.db");
is("$rc $out", "0 schema $schema is current\n", 'again: the schema is current');

open my $fh, '>', "$d/empty.db" or die;
close $fh;
($rc, $out, $err) = init("$d/empty.db");
is("$rc $out", "0 created schema $schema\n", 'an empty file: the schema created in it') or diag($err);
is(sqlite("$d/empty.db", 'PRAGMA journal_mode'), 'wal', 'in WAL mode');

# --- another program's SQLite database: refused, untouched -------------------

sqlite("$d/foreign.db", 'CREATE TABLE notes(x); INSERT INTO notes VALUES (42)');
my $before = state("$d/foreign.db");
($rc, $out, $err) = init("$d/foreign.db");
is($rc, 1, 'a database of another program (tables, schema version 0): exit 1');
like($err, qr/\Amirrorsel: init: \Q$d\E\/foreign\.db: not a mirrorsel database\b[^\n]*\n\z/,
     'one line on stderr naming the file and why') or diag($err);
is($out, '', 'nothing on stdout');
is(state("$d/foreign.db"), $before, 'the file is left exactly as it was (and no -wal beside it)');
is(sqlite("$d/foreign.db", 'PRAGMA journal_mode'), 'delete', 'not switched to WAL');
is(sqlite("$d/foreign.db", "SELECT group_concat(name) FROM sqlite_master"), 'notes',
   'no mirrorsel table added beside its own');
($rc, $out, $err) = tool('--db', "$d/foreign.db", 'mirror', 'list');
ok($rc == 1 && $err =~ /foreign\.db: not a mirrorsel database/ && $err !~ /run 'mirrorsel init'/,
   'other commands: not a mirrorsel database, without advising init') or diag($err);

# --- an init that fails leaves the file as it was ------------------------------

sqlite("$d/newer.db", 'PRAGMA user_version = 999');
$before = state("$d/newer.db");
($rc, $out, $err) = init("$d/newer.db");
is($rc, 1, 'a schema newer than the program: exit 1');
like($err, qr/newer\.db: schema version 999 is newer/, 'says so') or diag($err);
is(state("$d/newer.db"), $before, 'the file is left exactly as it was');
is(sqlite("$d/newer.db", 'PRAGMA journal_mode'), 'delete', 'not switched to WAL');

# another program's database that keeps its own number in user_version
sqlite("$d/numbered.db", 'CREATE TABLE notes(x); PRAGMA user_version = 2');
$before = state("$d/numbered.db");
($rc, $out, $err) = init("$d/numbered.db");
is($rc, 1, "another program's database with a schema version of its own: exit 1");
like($err, qr/\Amirrorsel: init: \Q$d\E\/numbered\.db: not a mirrorsel database: schema version 2, but not mirrorsel's tables\n\z/,
     'says it is not a mirrorsel database') or diag($err);
is(state("$d/numbered.db"), $before, 'the file is left exactly as it was');
($rc, $out, $err) = tool('--db', "$d/numbered.db", 'mirror', 'list');
ok($rc == 1 && $err =~ /numbered\.db: not a mirrorsel database/, 'other commands: the same') or diag($err);

# (mirrorsel's tables at a version older than they are: a migration fails)
($rc) = init("$d/broken.db");
is($rc, 0, 'a database made by init');
sqlite("$d/broken.db", 'PRAGMA user_version = 1');
$before = state("$d/broken.db");
($rc, $out, $err) = init("$d/broken.db");
is($rc, 1, 'a migration that fails: exit 1');
like($err, qr/\Amirrorsel: init: .*broken\.db.*\n\z/, 'one line on stderr naming the file') or diag($err);
is(state("$d/broken.db"), $before, 'the file is left exactly as it was');
is(sqlite("$d/broken.db", 'PRAGMA user_version'), 1, 'its schema version too');

# --- the permission hint only where it applies ----------------------------------

my $hint = qr/-wal and -shm files/;
mkdir "$d/adir" or die;
($rc, $out, $err) = init("$d/adir");
is($rc, 1, 'init on a directory: exit 1');
like($err, qr/\Amirrorsel: init: \Q$d\E\/adir: is a directory\b[^\n]*\n\z/, 'says it is a directory')
    or diag($err);
unlike($err, $hint, 'no word of -wal and -shm');
($rc, $out, $err) = tool('--db', "$d/adir", 'mirror', 'list');
ok($rc == 1 && $err =~ /adir: is a directory/ && $err !~ $hint, 'other commands: the same') or diag($err);
SKIP: {
    skip 'root writes any directory', 7 if $> == 0;
    mkdir "$d/ro" or die;
    chmod 0555, "$d/ro";
    ($rc, $out, $err) = init("$d/ro/x.db");
    is($rc, 1, 'init in a directory this user cannot write: exit 1');
    like($err, qr/ro\/x\.db.*cannot create it in \Q$d\E\/ro: Permission denied/, 'says so') or diag($err);
    unlike($err, $hint, 'no word of -wal and -shm (there is no database yet)');

    # where it applies: a database whose directory this user cannot write,
    # without -shm (every reader must create it)
    ($rc, $out, $err) = init("$d/ro2.db");
    mkdir "$d/ro2" or die;
    rename "$d/ro2.db", "$d/ro2/x.db" or die;
    chmod 0555, "$d/ro2";
    ($rc, $out, $err) = tool('--db', "$d/ro2/x.db", 'mirror', 'list');
    is($rc, 1, 'a database in a directory where -shm cannot be made: exit 1');
    like($err, $hint, 'the hint says what to fix') or diag($err);
    chmod 0755, "$d/ro2";
    chmod 0444, "$d/ro2/x.db";
    ($rc, $out, $err) = tool('--db', "$d/ro2/x.db", 'mirror', 'add', 'm1', '--url',
                             'http://127.0.0.1:9/', '--country', 'DE');
    ok($rc == 1 && $err !~ $hint, 'a database file this user cannot write (the directory writable): '
       . 'fails, without that hint') or diag($err);
    like($err, qr/this user may not write the database file/, 'but saying what is wrong');
    chmod 0755, "$d/ro";
}

# --- restore: a backup written over the live database, with a new epoch ---------------
{
    my ($live, $bk) = ("$d/live.db", "$d/live-backup.db");
    my $add = sub { tool('--db', $live, 'mirror', 'add', $_[0], '--url', "http://$_[0].example/pub/",
                         '--country', 'DE', '--continent', 'EU', '--lat', 1, '--lon', 1,
                         '--asn', 1) };
    init($live);
    $add->('before');
    system('sqlite3', $live, ".backup $bk") == 0 or die "sqlite3 .backup failed";
    $add->('after');
    my $epoch = sqlite($live, 'SELECT epoch FROM generation');
    my $ino = (stat $live)[1];
    my ($rc, $out, $err) = tool('--db', $live, 'restore', $bk);
    is($rc, 0, 'restore BACKUP: exit 0') or diag($err);
    is($out, "restored $bk: 1 mirrors, 0 files\n", '  saying what it restored');
    is(sqlite($live, 'SELECT group_concat(name) FROM mirrors'), 'before', '  the backup\'s content');
    is((stat $live)[1], $ino, '  written in place (the same inode)');
    isnt(sqlite($live, 'SELECT epoch FROM generation'), $epoch, '  with a new epoch');
    isnt(sqlite($live, 'SELECT epoch FROM generation'), sqlite($bk, 'SELECT epoch FROM generation'),
         '  which is not the backup\'s either');
    my $sum = sha256_hex(ScanTest::_slurp($live));
    for my $case ([[$live], 2, qr/restore: \Q$live\E is the database itself/, 'the database itself'],
                  [["$d/nosuch.db"], 1, qr/restore: \Q$d\E\/nosuch\.db: No such file/, 'a missing backup'],
                  [["$d/newer.db"], 1, qr/schema version 999 is newer/, 'a backup of a newer schema'],
                  [[], 2, qr/restore: which backup\?/, 'no backup named'],
                  [[$bk, 'more'], 2, qr/unexpected argument 'more'/, 'two of them']) {
        my ($args, $code, $why, $name) = @$case;
        ($rc, $out, $err) = tool('--db', $live, 'restore', @$args);
        is($rc, $code, "restore, $name: exit $code");
        like($err, $why, '  saying why') or diag($err);
    }
    is(sha256_hex(ScanTest::_slurp($live)), $sum, 'and the database was left as it was');
    ($rc, $out, $err) = tool('--db', "$d/not-there.db", 'restore', $bk);
    ok($rc == 1 && !-e "$d/not-there.db", 'restore onto no database: exit 1, nothing made')
        or diag($err);
}

done_testing;
