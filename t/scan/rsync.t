#!/usr/bin/perl
# Scanning over rsync://: fresh, stale, missing and extra files; a scan URL
# that maps to a sub-tree; --path; files the mirror dropped; --jobs; disabled
# mirrors left out.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP;
use ScanTest;
use Test::More;

my $t = ScanTest->new->standard_world;
my $m1 = $t->standard_mirror('m1');
my $m2 = $t->mirror_tree('m2');
system('mkdir', '-p', "$t->{dir}/trees/deep/pub/mirror") == 0 or die;
system('cp', '-a', "$m2/.", "$t->{dir}/trees/deep/pub/mirror/") == 0 or die;
# a mirror whose tree holds 300 symbolic links beside the files
system('mkdir', '-p', "$t->{dir}/trees/links/l") == 0 or die;
system('cp', '-a', "$m2/.", "$t->{dir}/trees/links/") == 0 or die;
symlink("../top.iso", "$t->{dir}/trees/links/l/$_") or die "symlink: $!" for 1 .. 300;
my $port = $t->rsyncd(m1 => $m1, m2 => $m2, deep => "$t->{dir}/trees/deep",
                      links => "$t->{dir}/trees/links",
                      private => { path => $m2, auth => 'mirror:s3cr@t!' });

$t->add_mirror('m1', "rsync://127.0.0.1:$port/m1/");
$t->add_mirror('m2', "rsync://127.0.0.1:$port/m2");
$t->add_mirror('deep', "rsync://127.0.0.1:$port/deep/pub/mirror/");
# a disabled mirror (its scan URL a closed port) is left out of a scan of all
my $closed = ScanTest::free_port();
$t->add_mirror('off', "rsync://127.0.0.1:$closed/m1/");
$t->tool('mirror', 'disable', 'off');

my ($rc, $out, $err) = $t->run_tool('scan', '--jobs', '3');
is($rc, 0, 'scan of three mirrors at once exits 0') or diag($err);
is($t->last_run('off'), undef, 'a disabled mirror is not scanned by a scan of all');
like($out, qr/^m1: ok: 5 files seen: 3 fresh, 2 stale, 1 missing, 1 extra/m, 'summary line');
$t->check_standard('m1', 'rsync', precision => '1');
is($t->last_run('m2')->{fresh}, 6, 'full mirror: all 6 fresh');
is($t->last_run('deep')->{fresh}, 6, 'scan URL pointing into a module sub-tree');

# The mirror drops a file and syncs another: a rescan follows.
unlink "$m1/top.iso";
system('cp', '-a', $t->origin . '/a/f2', "$m1/a/f2") == 0 or die;
($rc, $out, $err) = $t->run_tool('scan', 'm1');
is($rc, 0, 'rescan');
ok(!exists $t->copies('m1')->{'top.iso'}, 'a file the mirror no longer has is dropped');
is($t->last_run('m1')->{fresh}, 3, 'synced file now fresh, dropped one gone');

# --path rescans a sub-tree only; copies elsewhere stay.
system('cp', '-a', $t->origin . '/a/f3', "$m1/a/f3") == 0 or die;
unlink "$m1/sp ace/\x{c3}\x{bc}.bin";
($rc, $out, $err) = $t->run_tool('scan', 'm1', '--path', 'a');
is($rc, 0, 'scan --path a') or diag($err);
my $r = $t->last_run('m1');
is("$r->{seen}/$r->{fresh}/$r->{stale}/$r->{missing}", '3/3/0/1', '--path counts the sub-tree only');
ok(exists $t->copies('m1')->{"sp ace/\x{c3}\x{bc}.bin"}, 'copies outside --path untouched');

like($t->tool('mirror', 'show', 'm1'),
     qr/^last scan: +\S+ ok: 3 files seen, 3 fresh, 0 stale, 1 missing, 0 extra$/m,
     'mirror show: the latest scan');
like($t->tool('mirror', 'list'),
     qr/^m1 +enabled .* \S+ ok 3 seen 3 fresh 0 stale 1 missing /m,
     'mirror list: the latest scan, compact');
my $list = JSON::PP->new->decode($t->tool('mirror', 'list', '--json'));
my ($j) = grep { $_->{name} eq 'm1' } @{ $list->{mirrors} };
is(join('/', map { $j->{last_scan}{$_} } qw(files_seen fresh stale missing extra)), '3/3/0/1/0',
   'mirror list --json: last_scan counts');
ok($j->{last_scan}{ok} && $j->{last_scan}{started} && $j->{last_scan}{finished},
   'mirror list --json: last_scan ok, started and finished');
ok(exists $j->{ca_file} && !defined $j->{ca_file}, 'mirror list --json: no CA file set');

# A module with a login: the password goes to rsync through RSYNC_PASSWORD
# (rsync takes none in the URL), percent-decoded; nothing prints it.
$t->add_mirror('private', "rsync://mirror:s3cr%40t!\@127.0.0.1:$port/private/");
$t->add_mirror('private-bad', "rsync://mirror:wrong\@127.0.0.1:$port/private/");
$t->add_mirror('private-nopw', "rsync://mirror\@127.0.0.1:$port/private/");
($rc, $out, $err) = $t->run_tool('scan', 'private');
is($rc, 0, 'a module with a login: scanned') or diag($err);
is($t->last_run('private')->{fresh}, 6, 'a module with a login: all 6 fresh');
($rc, $out, $err) = $t->run_tool('scan', 'private-bad');
is($rc, 1, 'a wrong password: the scan fails');
like($err, qr/scan private-bad: .*auth failed/, 'the error says the login failed');
unlike($err . $t->last_run('private-bad')->{error}, qr/wrong/, 'and shows no password');
my $t0 = time;
($rc, $out, $err) = $t->run_tool('scan', 'private-nopw');
is($rc, 1, 'a user without a password: the scan fails');
like($err, qr/auth failed/, 'as a failed login');
cmp_ok(time - $t0, '<', 10, 'at once, without a terminal');
# With a terminal, rsync would ask it for the password and wait there until
# the scan's timeout; script(1) gives the scan one.
{
    local $ENV{RSYNC_PASSWORD};
    delete $ENV{RSYNC_PASSWORD};
    $t0 = time;
    my $tty = `script -qec '$t->{build}/mirrorsel --db $t->{db} scan private-nopw --timeout 5' /dev/null </dev/null 2>&1`;
    my $took = time - $t0;
    like($tty, qr/auth failed/, 'with a terminal: a failed login, not a prompt') or diag($tty);
    cmp_ok($took, '<', 4, "with a terminal: at once ($took s; the scan's timeout is 5 s)");
}
{
    local $ENV{RSYNC_PASSWORD} = 's3cr@t!';
    ($rc, $out, $err) = $t->run_tool('scan', 'private-nopw');
}
is($rc, 0, 'a user without a password, RSYNC_PASSWORD in the environment: scanned')
    or diag($err);
unlike($t->tool('mirror', 'show', 'private') . $t->tool('mirror', 'list'), qr/s3cr/,
       'mirror show and list show no password');

# RSYNC_PASSWORD in the environment is for URLs that name a user: a
# daemon behind a URL without one gets no password (rsync would log in as
# $USER with it), and the scan fails as a failed login.
$t->add_mirror('private-nouser', "rsync://127.0.0.1:$port/private/");
{
    local $ENV{RSYNC_PASSWORD} = 's3cr@t!';
    local $ENV{USER} = 'mirror';
    local $ENV{LOGNAME} = 'mirror';
    ($rc, $out, $err) = $t->run_tool('scan', 'private-nouser');
}
is($rc, 1, 'a URL without a user: the environment\'s RSYNC_PASSWORD is not given to rsync');
like($err, qr/auth failed/, 'so the daemon that asks for a login refuses');

# Every entry counts against --max-entries, symbolic links too; and when a
# bound stops the scan, rsync goes with every process it forked.
$t->add_mirror('links', "rsync://127.0.0.1:$port/links/");
($rc, $out, $err) = $t->run_tool('scan', 'links', '--max-entries', '100');
is($rc, 1, '300 symbolic links against --max-entries 100: the scan fails');
like($err, qr/listing over the bound of 100 entries/, 'over the bound of entries');
($rc, $out, $err) = $t->run_tool('scan', 'links', '--max-entries', '3');
like($err, qr/listing over the bound of 3 entries/, 'a bound met by the files themselves');
my @left;
for (1 .. 20) {
    @left = ();
    for my $d (glob '/proc/[0-9]*') {
        open my $fh, '<', "$d/cmdline" or next;
        local $/;
        my $cmd = <$fh> // '';
        push @left, $d if $cmd =~ m{rsync://127\.0\.0\.1:$port/links/};
    }
    last unless @left;
    select undef, undef, undef, 0.1;
}
is(scalar @left, 0, 'no rsync process of that scan is left running') or diag("@left");
($rc, $out, $err) = $t->run_tool('scan', 'links');
is($rc, 0, 'the same mirror within the default bound: scanned') or diag($err);
is($t->last_run('links')->{fresh}, 6, 'its 6 files fresh, the links passed over');

# Unknown mirror name, bad option.
($rc) = $t->run_tool('scan', 'nosuch');
is($rc, 1, 'unknown mirror: exit 1');
($rc) = $t->run_tool('scan', '--jobs', '0');
is($rc, 2, 'bad --jobs: exit 2');
($rc) = $t->run_tool('scan', '--path', '../x');
is($rc, 2, '--path with ..: exit 2');

done_testing;
