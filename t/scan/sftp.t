#!/usr/bin/perl
# Scanning over sftp:// against a real sshd on loopback (own host key, user
# key generated here): key authentication and host key checking per mirror.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP;
use ScanTest;
use Test::More;

my $t = ScanTest->new->standard_world;
my $tree = $t->standard_mirror('m');
my ($port, $key, $known) = $t->sshd;
my $user = ScanTest::user();

$t->add_mirror('sftp', "sftp://$user\@127.0.0.1:$port$tree/", ssh_key => $key,
               known_hosts => $known);
my ($rc, $out, $err) = $t->run_tool('scan', 'sftp');
is($rc, 0, 'sftp scan') or diag($err);
$t->check_standard('sftp', 'sftp', precision => '1');

# An unknown host key is refused.
open my $fh, '>', "$t->{dir}/run/empty_known_hosts" or die;
close $fh;
$t->add_mirror('stranger', "sftp://$user\@127.0.0.1:$port$tree/", ssh_key => $key,
               known_hosts => "$t->{dir}/run/empty_known_hosts");
($rc, $out, $err) = $t->run_tool('scan', 'stranger');
is($rc, 1, 'unknown host key: scan fails');
like($out . $err, qr{the host key is not in \Q$t->{dir}\E/run/empty_known_hosts},
     'unknown host key: says so') or diag($out . $err);
is(scalar keys %{ $t->copies('stranger') }, 0, 'no copies recorded');

# Without --known-hosts, the scanning user's ~/.ssh/known_hosts is read, as
# ssh reads it; without that either, there is no sftp scan, never an
# unchecked one.
my $home = "$t->{dir}/run/home";
mkdir $home or die "$home: $!";
$t->add_mirror('bykey', "sftp://$user\@127.0.0.1:$port$tree/", ssh_key => $key);
sub scan_as_home {
    local $ENV{HOME} = $home;
    return $t->run_tool('scan', @_);
}
($rc, $out, $err) = scan_as_home('bykey');
is($rc, 1, 'no known_hosts at all: scan fails');
like($out . $err, qr{no known_hosts to check the host key against \(\Q$home\E/\.ssh/known_hosts: No such file or directory\): give the mirror --known-hosts FILE},
     'no known_hosts at all: says what to do') or diag($out . $err);
is(scalar keys %{ $t->copies('bykey') }, 0, 'no known_hosts at all: no copies recorded');
mkdir "$home/.ssh" or die;
system('cp', $known, "$home/.ssh/known_hosts") == 0 or die;
($rc, $out, $err) = scan_as_home('bykey');
is($rc, 0, "the user's own known_hosts holds the key: scan ok") or diag($out . $err);
$t->check_standard('bykey', "sftp with the user's known_hosts", precision => '1');
my $held = scalar keys %{ $t->copies('bykey') };
# The same host with another key (the user key's, as if the server changed)
open my $uk, '<', "$key.pub" or die;
my ($ktype, $kbody) = split ' ', scalar <$uk>;
close $uk;
open $fh, '>', "$home/.ssh/known_hosts" or die;
print $fh "[127.0.0.1]:$port $ktype $kbody\n";
close $fh;
($rc, $out, $err) = scan_as_home('bykey');
is($rc, 1, 'changed host key: scan fails');
like($out . $err, qr{the host key differs from the one in \Q$home\E/\.ssh/known_hosts},
     'changed host key: says so') or diag($out . $err);
is(scalar keys %{ $t->copies('bykey') }, $held, 'changed host key: the copies recorded before stay');

# mirror add/edit warn when an sftp:// mirror has no known_hosts of its own
# (its scans will read the scanning user's), and not otherwise.
($rc, $out, $err) = $t->run_tool('mirror', 'add', 'warned', '--url', 'http://127.0.0.1:9/',
                                 '--scan-url', "sftp://$user\@127.0.0.1:$port$tree/",
                                 '--ssh-key', $key, '--country', 'DE');
is($rc, 0, 'sftp mirror without --known-hosts: added');
like($err, qr{^mirrorsel: warning: mirror warned: an sftp:// scan URL without --known-hosts: scans check the host key against ~/\.ssh/known_hosts of the user who runs them$}m,
     'and warned that the scanning user\'s known_hosts will be read') or diag($err);
($rc, $out, $err) = $t->run_tool('mirror', 'edit', 'warned', '--known-hosts', $known);
is($rc, 0, 'known_hosts given by edit');
unlike($err, qr/without --known-hosts/, 'then no warning');
($rc, $out, $err) = $t->run_tool('mirror', 'edit', 'warned', '--known-hosts', '');
like($err, qr/mirror warned: an sftp:\/\/ scan URL without --known-hosts/,
     'known_hosts cleared by edit: the warning again');
($rc, $out, $err) = $t->run_tool('mirror', 'add', 'plain', '--url', 'http://127.0.0.1:9/',
                                 '--country', 'DE');
unlike($err, qr/known-hosts/, 'a mirror scanned over http: no such warning');

# The SSH settings are the mirror's, shown and changed through the tool.
my $m = JSON::PP->new->decode($t->tool('mirror', 'show', 'stranger', '--json'));
is($m->{ssh_key}, $key, 'mirror show --json: the SSH key');
is($m->{known_hosts}, "$t->{dir}/run/empty_known_hosts", 'mirror show --json: known_hosts');
($rc, $out, $err) = $t->run_tool('mirror', 'edit', 'stranger', '--ssh-key', "$t->{dir}/run/nokey");
is($rc, 2, 'mirror edit --ssh-key with a missing file: usage error');
$t->tool('mirror', 'edit', 'stranger', '--known-hosts', $known);
($rc, $out, $err) = $t->run_tool('scan', 'stranger');
is($rc, 0, 'host key known after mirror edit --known-hosts: scan ok') or diag($err);
$t->check_standard('stranger', 'sftp after edit', precision => '1');
like($t->tool('mirror', 'show', 'stranger'), qr/^known hosts: +\Q$known\E$/m,
     'mirror show: known hosts');

done_testing;
