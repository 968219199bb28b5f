# The database replaced by rename while httpd runs: the new contents are
# seen without a restart, by every child, and requests racing the
# replacement never fail. Also written over in place, by the tool and by
# `sqlite3 .restore` of another database.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use File::Copy qw(copy);
use POSIX qw(_exit);
use Time::HiRes qw(sleep);
use MSTest;

my $t = MSTest->new;
$t->standard_origin;

# A complete database at $path whose only mirror is $name (in Berlin),
# holding every file, up.
sub build_db {
    my ($path, $name) = @_;
    unlink $path, "$path-wal", "$path-shm";
    local $t->{db} = $path;
    $t->init;
    if ($name) {
        $t->mirror($name, MSTest::at('berlin'));
        $t->index_origin;
        $t->fixture('copy-all', $name);
        $t->fixture('all-up', $name);
    }
    else {
        $t->index_origin;
    }
}

my $dir = $t->dir;
# The sqlite3 shell waits for a lock as the tool does (a writer's last close
# checkpoints the -wal, and a reader opening meanwhile is told "busy").
my $SQLITE = "-cmd '.timeout 10000'";
build_db($t->db, 'alpha');
build_db("$dir/beta.db", 'beta');
build_db("$dir/gamma.db", 'gamma');
build_db("$dir/nobody.db", undef);      # indexed, but no mirror at all
$t->start;

my $berlin = MSTest::client('berlin');
my $file = 'big/file.iso';
my $url = MSTest::url($file);

sub mirror_now {
    my $r = $t->get($url, @_ ? (ip => $_[0]) : (ip => $berlin));
    return MSTest::hdr($r, 'X-MirrorSel-Mirror') // "status $r->{status}";
}

# Every one of 20 requests (spread over both children) sees $want.
sub all_see {
    my ($want, $name) = @_;
    my $ok = MSTest::eventually(10, sub { mirror_now() eq $want });
    my %seen;
    $seen{ mirror_now("192.0.2.$_") }++ for 1 .. 20;
    ok($ok && join(',', keys %seen) eq $want, $name)
        or diag(join ', ', map { "$_=$seen{$_}" } sort keys %seen);
}

$t->redirects_to($t->get($url, ip => $berlin), 'alpha', 'country', $file, 'before: alpha');

# replace by rename
my $db = $t->db;
copy("$dir/beta.db", "$db.new") or die $!;
rename "$db.new", $db or die $!;
all_see('beta', 'replaced by rename: every request sees beta');
$t->redirects_to($t->get($url, ip => $berlin), 'beta', 'country', $file, 'after the rename: beta');

copy("$dir/gamma.db", "$db.new") or die $!;
rename "$db.new", $db or die $!;
all_see('gamma', 'replaced again: gamma');

# a database without mirrors: served locally
copy("$dir/nobody.db", "$db.new") or die $!;
rename "$db.new", $db or die $!;
MSTest::eventually(10, sub { $t->get($url, ip => $berlin)->{status} == 200 });
$t->served_locally($t->get($url, ip => $berlin), $file, 'replaced by one without mirrors: served locally');

# back to a database with mirrors
copy("$dir/beta.db", "$db.new") or die $!;
rename "$db.new", $db or die $!;
all_see('beta', 'and back: beta');

# Requests racing ten replacements: each is a redirect to alpha or beta,
# never an error.
{
    copy("$dir/beta.db", "$dir/b2.db") or die $!;
    build_db("$dir/a2.db", 'alpha');
    my $out = "$dir/race.txt";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open my $fh, '>', $out or _exit(1);
        for my $i (1 .. 300) {
            my $ip = '192.0.2.' . (1 + $i % 60);
            my $r = $t->get($url, ip => $ip);
            printf $fh "%s %s\n", $r->{status}, MSTest::hdr($r, 'X-MirrorSel-Mirror') // '-';
        }
        close $fh;
        _exit(0);
    }
    for my $i (1 .. 10) {
        my $src = $i % 2 ? "$dir/a2.db" : "$dir/b2.db";
        copy($src, "$db.new") or die $!;
        rename "$db.new", $db or die $!;
        sleep 0.1;
    }
    waitpid $pid, 0;
    is($?, 0, 'the racing client finished');
    open my $fh, '<', $out or die $!;
    my @lines = <$fh>;
    is(scalar @lines, 300, '300 racing requests answered');
    my @bad = grep { !/^(?:302 (?:alpha|beta)|200 -)$/ } @lines;
    ok(!@bad, 'every racing request was a redirect to alpha or beta (or served locally)')
        or diag(join '', @bad[0 .. ($#bad > 9 ? 9 : $#bad)]);
    my @local = grep { /^200/ } @lines;
    ok(@local <= 30, 'at most a few racing requests fell back to local (' . scalar(@local) . ')');
}

# the tool rewriting the database in place is seen too
{
    copy("$dir/beta.db", "$db.new") or die $!;
    rename "$db.new", $db or die $!;
    all_see('beta', 'settled on beta');
    my ($rc, undef, $err) = $t->tool_run('mirror', 'disable', 'beta');
    is($rc, 0, 'mirrorsel mirror disable beta, on the replaced database') or diag($err);
    MSTest::eventually(10, sub { $t->get($url, ip => $berlin)->{status} == 200 });
    $t->served_locally($t->get($url, ip => $berlin), $file, 'beta disabled in place: served locally');
    ($rc, undef, $err) = $t->tool_run('mirror', 'enable', 'beta');
    is($rc, 0, 'mirrorsel mirror enable beta') or diag($err);
    all_see('beta', 'beta enabled in place: redirected again');
}

# Another database written over this one in place (`sqlite3 DB .restore`
# keeps the file). alpha and gamma were made by the same steps, so their
# generations are equal: only the epoch each drew when it was made (schema
# 006) tells the children's caches that gamma is not alpha.
{
    my $gens = sub { scalar `sqlite3 $SQLITE '$_[0]' 'SELECT mirrors, data FROM generation'` };
    is($gens->("$dir/a2.db"), $gens->("$dir/gamma.db"),
       'alpha and gamma have the same generations (' . ($gens->("$dir/gamma.db") =~ s/\n//r) . ')');
    my $ino = (stat $db)[1];
    for my $case (['a2.db', 'alpha'], ['gamma.db', 'gamma']) {
        my ($src, $want) = @$case;
        is(system("sqlite3 $SQLITE '$db' '.restore $dir/$src'"), 0, "sqlite3 .restore $src in place");
        all_see($want, "restored in place: every request sees $want");
    }
    is((stat $db)[1], $ino, 'the file was written in place (the same inode)');
    $t->redirects_to($t->get($url, ip => $berlin), 'gamma', 'country', $file,
                     'after the restore: gamma, as gamma has it');
}

# A backup of this same database put back, then written again: the new
# writes use again generations the lost history had used, with other
# contents. `mirrorsel restore` gives the restored database a new epoch, so
# what the children cached from the lost history is not taken for the new.
{
    my $gen = sub { 0 + `sqlite3 $SQLITE '$db' 'SELECT data FROM generation'` };
    is(system("sqlite3 $SQLITE '$db' '.backup $dir/gamma-backup.db'"), 0,
       'a backup of the live database');
    $t->fixture('uncopy', 'gamma', $file);
    MSTest::eventually(10, sub { $t->get($url, ip => $berlin)->{status} == 200 });
    $t->served_locally($t->get($url, ip => $berlin), $file,
                       'after the backup gamma loses the file: served locally');
    my $lost = $gen->();
    my ($rc, undef, $err) = $t->tool_run('restore', "$dir/gamma-backup.db");
    is($rc, 0, 'mirrorsel restore of the backup, in place') or diag($err);
    my $n = 0;
    $t->fixture(++$n % 2 ? 'uncopy' : 'copy-origin', 'gamma', 'big/other.iso')
        while $gen->() <= $lost + 1 && $n < 50;
    cmp_ok($gen->(), '>', $lost, "another file's changes took the generation past the "
           . "lost history's ($lost)");
    all_see('gamma', 'the file, held by gamma in the restored database: every request to gamma');
}

$t->finish;
