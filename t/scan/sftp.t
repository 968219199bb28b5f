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
is(scalar keys %{ $t->copies('stranger') }, 0, 'no copies recorded');

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
