# End to end with real peers: real download clients (curl, wget, aria2c)
# ask the origin, follow the redirect to a real mirror (a plain httpd on
# loopback holding a copy of the tree), and end with the origin's bytes;
# over http and https. A mirror holding an outdated copy is never used.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use Digest::SHA qw(sha256_hex);
use MSTest;

my $aria2_runs = 0;    # a fresh download directory per aria2c run

my $t = MSTest->new;
$t->standard_origin;
$t->origin_file('big/changing.iso', 50000);

# two real mirrors, both synced with the origin as it is now
my $near = MSTest::MirrorServer->new($t, 'near')->sync($t);
my $far  = MSTest::MirrorServer->new($t, 'far')->sync($t);
$near->start;
$far->start;

$t->init;
$t->mirror('near', MSTest::at('berlin'), http_url => $near->url, https_url => $near->https_url);
$t->mirror('far',  MSTest::at('newyork'), http_url => $far->url, https_url => $far->https_url);

# The origin changes big/changing.iso; only "far" syncs the new version.
$t->origin_file('big/changing.iso', \('new version ' x 5000), mtime => 1700100000);
system('cp', '-a', $t->origin . '/big/changing.iso', $far->root . '/big/changing.iso') == 0
    or die 'cp failed';
$t->index_origin;
for my $m (qw(near far)) {
    $t->fixture('copy-all', $m);        # what a scan of each would record…
    $t->fixture('all-up', $m);
}
# …except that "near" still holds the old changing.iso
$t->fixture('copy', 'near', 'big/changing.iso', 50000, 1700000000, 1);
$t->start;

my $base = 'http://127.0.0.1:' . $t->port;
my $sbase = 'https://127.0.0.1:' . $t->{sslport};
my $berlin = MSTest::client('berlin');
my $out = $t->dir . '/download';
mkdir $out;

sub file_is {
    my ($path, $rel, $name) = @_;
    my $got = -e $path ? MSTest::_slurp($path) : undef;
    ok(defined $got && sha256_hex($got) eq sha256_hex($t->origin_bytes($rel)),
       "$name: the origin's bytes of $rel") or diag(defined $got ? length($got) . ' bytes' : 'no file');
}

sub run_client {
    my (@cmd) = @_;
    my ($rc, $stdout, $stderr) = $t->_run(@cmd);
    return ($rc, $stdout, $stderr);
}

for my $case ([ 'big/file.iso', $near ], [ 'big/changing.iso', $far ], [ 'dir/sub/deep.tar.gz', $near ]) {
    my ($rel, $srv) = @$case;
    my $u = $base . MSTest::url($rel);
    my $want_host = qr{^http://127\.0\.0\.1:$srv->{port}/pub/};

    # curl -L
    my ($rc, $eff, $err) = run_client('curl', '-sS', '-fL', '--max-time', '20',
                                      '-H', "X-Forwarded-For: $berlin",
                                      '-o', "$out/curl", '-w', '%{url_effective}', $u);
    is($rc, 0, "curl $rel: exit 0") or diag($err);
    like($eff, $want_host, "curl $rel: ended at mirror $srv->{name}");
    file_is("$out/curl", $rel, "curl $rel");

    # curl over https (the origin's mod_ssl port, the mirror's https URL)
    ($rc, $eff, $err) = run_client('curl', '-sS', '-fLk', '--max-time', '20',
                                   '-H', "X-Forwarded-For: $berlin",
                                   '-o', "$out/curls", '-w', '%{url_effective}',
                                   $sbase . MSTest::url($rel));
    is($rc, 0, "curl https $rel: exit 0") or diag($err);
    like($eff, qr{^https://127\.0\.0\.1:$srv->{sslport}/pub/}, "curl https $rel: ended at the mirror's https URL");
    file_is("$out/curls", $rel, "curl https $rel");

    # wget
    unlink "$out/wget";
    ($rc, undef, $err) = run_client('wget', '-q', '--tries=1', '--timeout=20',
                                    "--header=X-Forwarded-For: $berlin", '-O', "$out/wget", $u);
    is($rc, 0, "wget $rel: exit 0") or diag($err);
    file_is("$out/wget", $rel, "wget $rel");

    # aria2c (it asks for a Metalink and follows it when the origin offers
    # one; either way the file it leaves must be the origin's)
    my $ad = "$out/aria2-" . ++$aria2_runs;
    mkdir $ad;
    ($rc, undef, $err) = run_client('aria2c', '-q', '--allow-overwrite=true', '--timeout=20',
                                    '--max-tries=1', '--check-certificate=false',
                                    "--header=X-Forwarded-For: $berlin", '-d', $ad, $u);
    is($rc, 0, "aria2c $rel: exit 0") or diag($err);
    (my $base = $rel) =~ s{.*/}{};
    file_is("$ad/$base", $rel, "aria2c $rel");
}

# a resumed download (Range) stays on the same mirror and completes
{
    my $rel = 'big/file.iso';
    my $bytes = $t->origin_bytes($rel);
    open my $fh, '>:raw', "$out/resume" or die $!;
    print $fh substr($bytes, 0, 10000);
    close $fh;
    my ($rc, $eff, $err) = run_client('curl', '-sS', '-fL', '-C', '-', '--max-time', '20',
                                      '-H', "X-Forwarded-For: $berlin",
                                      '-o', "$out/resume", '-w', '%{url_effective}',
                                      $base . MSTest::url($rel));
    is($rc, 0, 'curl -C - (resume): exit 0') or diag($err);
    like($eff, qr{^http://127\.0\.0\.1:$near->{port}/}, 'resume: the same mirror');
    file_is("$out/resume", $rel, 'resumed download');
}

# a small file comes from the origin itself
{
    my ($rc, $eff, $err) = run_client('curl', '-sS', '-fL', '--max-time', '20',
                                      '-H', "X-Forwarded-For: $berlin",
                                      '-o', "$out/small", '-w', '%{url_effective}',
                                      $base . MSTest::url('small/readme.txt'));
    is($rc, 0, 'curl small file: exit 0') or diag($err);
    like($eff, qr{^\Q$base\E/pub/}, 'small file: served by the origin');
    file_is("$out/small", 'small/readme.txt', 'small file');
}

$near->stop;
$far->stop;
$t->finish;
