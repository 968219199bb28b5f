#!/usr/bin/perl
# The database shared by two users, as in a real install: the tool writes it
# as its own user, httpd reads it as another. In WAL mode a reader writes the
# -shm file and creates -wal and -shm when they are missing, so the layout
# README's "Permissions" gives must let each side write what the other made,
# and anything else must fail with an error that says what to fix.
#
# Needs root (it runs commands as other users); scripts/run-tests.sh runs it
# as root before the rest of the suite drops to the test user. The reader
# here is `mirrorsel mirror list`, which opens the database read-only through
# the same ms_db_open the module uses.
use strict;
use warnings;
use File::Temp qw(tempdir);
use Test::More;

plan skip_all => 'needs root (run by scripts/run-tests.sh as root)' if $> != 0;

my $build = $ENV{MS_BUILD} or die "MS_BUILD: the build directory holding mirrorsel\n";
my $tool = "$build/mirrorsel";
-x $tool or die "$tool: not built\n";
my $READER = 'mirrorsel-test';           # httpd's user in the suite
my $WRITER = 'mirrorsel-test-tool';      # the tool's user, with its own group
for my $u ($READER, $WRITER) {
    next if getpwnam($u);
    system('useradd', '--system', '--user-group', '--no-create-home', '--home-dir',
           '/nonexistent', '--shell', '/usr/sbin/nologin', $u) == 0 or die "useradd $u\n";
}

my $top = tempdir('/tmp/mirrorsel-perm.XXXXXX', CLEANUP => 1);
chmod 0755, $top;

# Run the tool as a user (with extra groups), capturing its output.
sub as_user {
    my ($user, $groups, @args) = @_;
    my @g = map { ('-G', $_) } @$groups;
    my $out = "$top/out";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>&', \*STDOUT;
        exec 'runuser', '-u', $user, @g, '--', $tool, @args;
        exit 127;
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    open my $fh, '<', $out or die;
    local $/;
    return ($rc, scalar <$fh> // '');
}

# A reader that keeps the database open for a while (as httpd does), having
# made -wal and -shm: the sqlite3 shell, read-only, waiting on its input.
sub hold_open {
    my ($user, $groups, $db) = @_;
    my @g = map { ('-G', $_) } @$groups;
    pipe my $r, my $w or die;
    my $pid = fork // die;
    if (!$pid) {
        close $w;
        open STDIN, '<&', $r;
        open STDOUT, '>', '/dev/null';
        exec 'runuser', '-u', $user, @g, '--', 'sqlite3', '-readonly', $db;
        exit 127;
    }
    close $r;
    syswrite $w, "SELECT count(*) FROM mirrors;\n";
    for (1 .. 50) {                      # until the shell has made them
        last if -e "$db-shm" && -e "$db-wal";
        select undef, undef, undef, 0.1;
    }
    return sub { close $w; waitpid $pid, 0 };
}

my $hint = qr/this user must be able to write the database's -wal and -shm files, and to create them in its directory; see README, "Permissions"/;
my ($rc, $out);

# --- the layout README gives --------------------------------------------------
my $dir = "$top/lib";
mkdir $dir or die;
system('chown', "$WRITER:$WRITER", $dir) == 0 or die;
chmod 02775, $dir;
my $db = "$dir/mirrorsel.db";
($rc, $out) = as_user($WRITER, [], '--db', $db, 'init');
is($rc, 0, 'layout: the tool creates the database') or diag($out);
chmod 0664, $db;
($rc, $out) = as_user($WRITER, [], '--db', $db, 'mirror', 'add', 'm1', '--url',
                      'http://127.0.0.1:9/', '--country', 'DE');
is($rc, 0, 'layout: the tool writes') or diag($out);

my $release = hold_open($READER, [$WRITER], $db);
ok(-e "$db-shm", 'layout: the reader made -shm');
is((stat "$db-shm")[4], scalar getpwnam($READER), '-shm belongs to the reader');
is((stat "$db-shm")[5], scalar getgrnam($WRITER), "-shm has the directory's group");
is((stat "$db-shm")[2] & 0777, 0664, "-shm has the database's mode");
($rc, $out) = as_user($WRITER, [], '--db', $db, 'mirror', 'disable', 'm1');
is($rc, 0, 'layout: the tool writes while the reader holds the files it made') or diag($out);
($rc, $out) = as_user($READER, [$WRITER], '--db', $db, 'mirror', 'list');
is($rc, 0, 'layout: a second reader reads') or diag($out);
like($out, qr/^m1 +disabled /m, 'layout: and sees the change');
$release->();
($rc, $out) = as_user($WRITER, [], '--db', $db, 'mirror', 'enable', 'm1');
is($rc, 0, 'layout: the tool writes after the reader is gone') or diag($out);
ok(!-e "$db-shm" && !-e "$db-wal", 'layout: and, closing last, removes -wal and -shm');

# --- a reader outside the group: refused, saying why -----------------------------
($rc, $out) = as_user($READER, [], '--db', $db, 'mirror', 'list');
is($rc, 1, 'a reader that may not write -shm: fails');
like($out, $hint, 'a reader that may not write -shm: says what to fix') or diag($out);

# --- no shared group: the reader's files lock the tool out, and it says so -----------
my $open = "$top/open";
mkdir $open or die;
chmod 0777, $open;
my $db2 = "$open/mirrorsel.db";
($rc, $out) = as_user($WRITER, [], '--db', $db2, 'init');
is($rc, 0, 'no group: the tool creates the database') or diag($out);
chmod 0644, $db2;
$release = hold_open($READER, [], $db2);
($rc, $out) = as_user($WRITER, [], '--db', $db2, 'mirror', 'add', 'm2', '--url',
                      'http://127.0.0.1:9/', '--country', 'DE');
is($rc, 1, "no group: the tool cannot write the reader's -shm");
like($out, $hint, 'no group: says what to fix') or diag($out);
$release->();

done_testing;
