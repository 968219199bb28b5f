#!/usr/bin/perl
# Scanning over ftp:// against proftpd: with MLSD (1 s precision) and
# configured to offer only LIST (MLSD neither advertised nor allowed, as on
# a LIST-only server): the scanner falls back to LIST (60 s precision); and
# ftps:// (implicit TLS) with and without the mirror's CA.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use ScanTest;
use Test::More;

my $t = ScanTest->new->standard_world;
my $tree = $t->standard_mirror('m');

my $mp = $t->proftpd($tree, label => 'mlsd');
my $lp = $t->proftpd($tree, label => 'list', list_only => 1);
$t->add_mirror('mlsd', "ftp://mirror:secret\@127.0.0.1:$mp/");
$t->add_mirror('list', "ftp://mirror:secret\@127.0.0.1:$lp/");
$t->add_mirror('badlogin', "ftp://mirror:wrong\@127.0.0.1:$mp/");

my ($rc, $out, $err) = $t->run_tool('scan', 'mlsd', 'list', '--jobs', '2');
is($rc, 0, 'both FTP mirrors scanned') or diag($err);
$t->check_standard('mlsd', 'ftp MLSD', precision => '1');
# the files are older than six months: LIST shows "Mon DD YYYY", a day's precision
$t->check_standard('list', 'ftp LIST', precision => '86400');

($rc, $out, $err) = $t->run_tool('scan', 'badlogin');
is($rc, 1, 'wrong password: scan fails');
like($err, qr/scan badlogin: .*(login|denied|530)/i, 'error says the login failed');
is($t->last_run('badlogin')->{ok}, 0, 'failed run recorded');

# The scan URL's password stays in the mirrors table: what the tool prints
# and records shows the URL with the password hidden.
like($err, qr{ftp://mirror:\*\*\*\@127\.0\.0\.1:$mp/}, 'the error shows the URL, password hidden');
unlike($err, qr/wrong/, 'and not the password');
like($t->last_run('badlogin')->{error}, qr{mirror:\*\*\*\@}, 'the recorded error too');
unlike($t->last_run('badlogin')->{error}, qr/wrong/, 'without the password');
is(($t->sql("SELECT scan_url FROM mirrors WHERE name = 'badlogin'"))[0][0],
   "ftp://mirror:wrong\@127.0.0.1:$mp/", 'the password is kept for the next scan');
for my $show (['mirror', 'show', 'badlogin'], ['mirror', 'show', 'badlogin', '--json'],
              ['mirror', 'list'], ['mirror', 'list', '--json']) {
    ($rc, $out, $err) = $t->run_tool(@$show);
    is($rc, 0, "@$show: exit 0") or diag($err);
    unlike($out, qr/wrong|secret/, "@$show: shows no password");
}
($rc, $out) = $t->run_tool('mirror', 'show', 'badlogin');
like($out, qr{^scan url: +ftp://mirror:\*\*\*\@127\.0\.0\.1:$mp/$}m, 'the scan URL, password hidden');
like($out, qr{^last scan: .* failed: ftp://mirror:\*\*\*\@}m, 'and the last error');
($rc, $out, $err) = $t->run_tool('mirror', 'add', 'bad-url', '--url', 'http://127.0.0.1:9/',
                                 '--scan-url', 'ftp://mirror:hunter2@127.0.0.1:99999/');
is($rc, 2, 'a bad scan URL: a usage error');
like($err, qr{--scan-url 'ftp://mirror:\*\*\*\@127\.0\.0\.1:99999/'}, 'echoed with the password hidden');
unlike($err, qr/hunter2/, 'and not the password');

# ftps:// (implicit TLS) against proftpd's mod_tls with a self-signed
# certificate: refused without the mirror's CA, scanned with it.
my ($cert, $key) = $t->self_signed;
my $sp = $t->proftpd($tree, label => 'ftps', tls => [$cert, $key]);
$t->add_mirror('ftps', "ftps://mirror:secret\@127.0.0.1:$sp/");
$t->add_mirror('ftps-ca', "ftps://mirror:secret\@127.0.0.1:$sp/", ca_file => $cert);
($rc, $out, $err) = $t->run_tool('scan', 'ftps');
is($rc, 1, 'ftps without the CA: scan fails');
like($err, qr/scan ftps: .*(certificate|SSL|TLS)/i, 'error says the certificate was refused');
($rc, $out, $err) = $t->run_tool('scan', 'ftps-ca');
is($rc, 0, 'ftps with the CA: scanned') or diag($err);
$t->check_standard('ftps-ca', 'ftps MLSD', precision => '1');

done_testing;
