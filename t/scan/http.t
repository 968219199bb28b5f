#!/usr/bin/perl
# Scanning over http:// and https:// against real autoindex listings:
# nginx (exact sizes, GMT), Apache (rounded sizes, local time: confirmed by
# HEAD) and lighttpd; HTTPS with a self-signed certificate is refused by
# default and accepted with the mirror's CA file; an Apache mirror with
# mod_deflate on text/plain: the HEAD confirmations get the file's own size.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP;
use ScanTest;
use Test::More;

my $t = ScanTest->new->standard_world;
my $tree = $t->standard_mirror('m');

my $np = $t->nginx($tree);
$t->add_mirror('nginx', "http://127.0.0.1:$np/");
my $ap = $t->apache($tree);
$t->add_mirror('apache', "http://127.0.0.1:$ap");
my $lp = $t->lighttpd($tree);
$t->add_mirror('lighttpd', "http://127.0.0.1:$lp/");

my ($rc, $out, $err) = $t->run_tool('scan', 'nginx', 'apache', 'lighttpd', '--jobs', '3');
is($rc, 0, 'three HTTP mirrors scanned') or diag($err);
$t->check_standard('nginx', 'nginx', precision => '60');
$t->check_standard('apache', 'apache', precision => '1');
$t->check_standard('lighttpd', 'lighttpd', precision => '1');
like($out, qr/^apache: ok: .*\(\S+ s, (\d+) requests, \S+ s writing\)/m, 'apache summary');

# A mirror's sub-tree URL.
my $sp = $t->nginx("$t->{dir}/trees", label => 'nginx-sub');
$t->add_mirror('sub', "http://127.0.0.1:$sp/m/");
($rc, $out, $err) = $t->run_tool('scan', 'sub');
is($rc, 0, 'scan URL below the server root') or diag($err);
is($t->last_run('sub')->{fresh}, 3, 'sub-tree URL: 3 fresh');

# HTTPS with a self-signed certificate.
my ($cert, $key) = $t->self_signed;
my $hp = $t->apache($tree, label => 'apache-tls', cert => $cert, key => $key);
$t->add_mirror('tls', "https://127.0.0.1:$hp/");
$t->add_mirror('tls-ca', "https://127.0.0.1:$hp/", ca_file => $cert);
($rc, $out, $err) = $t->run_tool('scan', 'tls');
is($rc, 1, 'self-signed certificate refused by default');
like($err, qr/scan tls: .*(certificate|SSL)/i, 'error names the TLS failure');
my $r = $t->last_run('tls');
is($r->{ok}, 0, 'failed run recorded');
like($r->{error}, qr/certificate|SSL/i, 'run error recorded');
is(scalar keys %{ $t->copies('tls') }, 0, 'no copies from a refused scan');
($rc, $out, $err) = $t->run_tool('scan', 'tls-ca');
is($rc, 0, 'accepted with the mirror\'s CA file') or diag($err);
$t->check_standard('tls-ca', 'https+ca', precision => '1');

# The CA file is a setting of the mirror: shown, changed and cleared with
# `mirror edit`; a file that cannot be read is refused and changes nothing.
my $show = sub { JSON::PP->new->decode($t->tool('mirror', 'show', $_[0], '--json')) };
is($show->('tls-ca')->{ca_file}, $cert, 'mirror show --json: the CA file');
like($t->tool('mirror', 'show', 'tls-ca'), qr/^ca file: +\Q$cert\E$/m, 'mirror show: the CA file');
($rc, $out, $err) = $t->run_tool('mirror', 'add', 'tls-bad', '--url', 'http://127.0.0.1:9/',
                                 '--country', 'DE', '--ca-file', "$t->{dir}/run/nosuch.pem");
is($rc, 2, 'mirror add --ca-file with a missing file: usage error');
like($err, qr/--ca-file .*nosuch\.pem: not a readable file/, 'the error names the option and file');
($rc) = $t->run_tool('mirror', 'show', 'tls-bad');
is($rc, 1, 'the refused mirror was not added');
($rc, $out, $err) = $t->run_tool('mirror', 'edit', 'tls', '--weight', '7',
                                 '--ca-file', "$t->{dir}/run");
is($rc, 2, 'mirror edit --ca-file with a directory: usage error');
is($show->('tls')->{weight}, 100, 'the refused edit changed nothing');
$t->tool('mirror', 'edit', 'tls', '--ca-file', $cert);
is($show->('tls')->{ca_file}, $cert, 'mirror edit --ca-file sets it');
($rc, $out, $err) = $t->run_tool('scan', 'tls');
is($rc, 0, 'with the CA set by edit, the scan is accepted') or diag($err);
my $ls = $show->('tls')->{last_scan};
is(join('/', map { $ls->{$_} } qw(files_seen fresh stale missing extra)), '5/3/2/1/1',
   'mirror show --json: last_scan counts');
ok($ls->{ok} && !defined $ls->{error}, 'mirror show --json: last_scan ok, no error');
$t->tool('mirror', 'edit', 'tls', '--ca-file', '');
is($show->('tls')->{ca_file}, undef, "mirror edit --ca-file '' clears it");
($rc) = $t->run_tool('scan', 'tls');
is($rc, 1, 'cleared: the self-signed certificate is refused again');
$ls = $show->('tls')->{last_scan};
ok(!$ls->{ok} && $ls->{error} =~ /certificate|SSL/i, 'mirror show --json: failed last_scan with its error');
like($t->tool('mirror', 'list'), qr/^tls +.* \S+ failed: .*(certificate|SSL)/mi,
     'mirror list: the failed scan and its error');

# An Apache mirror compressing text/plain with mod_deflate: its listing may
# come compressed, but a HEAD that asked for compression would get the
# compressed length, so the text file would be recorded at the wrong size and
# never be fresh. The confirmations ask for the identity encoding.
my $z = ScanTest->new(name => 'scan-http-deflate');
$z->origin_file('pub/SHA256SUMS.txt', 34001);
$z->origin_file('pub/big.iso', 50000);
$z->init;
$z->tool('index', $z->origin);
my $zt = $z->mirror_tree('deflate');
my $m = '/usr/lib/apache2/modules';
my $zp = $z->apache($zt, label => 'apache-deflate', conf => <<"CONF");
LoadModule filter_module $m/mod_filter.so
LoadModule deflate_module $m/mod_deflate.so
AddOutputFilterByType DEFLATE text/plain text/html
CONF
my $gz = `curl -s -I -H 'Accept-Encoding: gzip' http://127.0.0.1:$zp/pub/SHA256SUMS.txt`;
like($gz, qr/^Content-Encoding: gzip/mi, 'deflate mirror: compresses text/plain when asked');
$z->add_mirror('deflate', "http://127.0.0.1:$zp/");
($rc, $out, $err) = $z->run_tool('scan', 'deflate');
is($rc, 0, 'deflate mirror: scanned') or diag($err);
my $zc = $z->copies('deflate');
is($zc->{'pub/SHA256SUMS.txt'}, '34001 1714564830 1', 'deflate mirror: the text file at its own size');
is($zc->{'pub/big.iso'}, '50000 1714564830 1', 'deflate mirror: the other file too');
is($z->last_run('deflate')->{fresh}, 2, 'deflate mirror: both fresh');

# A scan URL with a login, left by a version before `mirror add` refused
# one for http(s) (written here by hand, as such a database holds it): the
# scan refuses it rather than send Basic credentials with every request,
# says what to do, and does not show the password. The server would list.
$t->add_mirror('old-login', "http://127.0.0.1:$np/");
$t->sql("UPDATE mirrors SET scan_url = 'http://scanner:s3cret\@127.0.0.1:$np/' "
        . "WHERE name = 'old-login'");
($rc, $out, $err) = $t->run_tool('scan', 'old-login');
is($rc, 1, 'an http scan URL with a login: the scan fails');
like($err, qr/scan old-login: .*user name or password.*mirror edit old-login --scan-url/,
     'it says why and what to do');
unlike($err . $out . ($t->last_run('old-login')->{error} // ''), qr/s3cret/,
       'the password is shown nowhere, nor recorded');
is(scalar keys %{ $t->copies('old-login') }, 0, 'no copies recorded');

done_testing;
