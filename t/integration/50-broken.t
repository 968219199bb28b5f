# A database or mmdb that is missing, unreadable or corrupt never makes a
# request fail: the file is served locally (200, the origin's bytes), httpd
# does not crash, the error is logged naming the file, rate-limited, and a
# database that becomes usable is used without a restart.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use File::Copy qw(copy);
use MSTest;

my $t = MSTest->new;
$t->standard_origin;
my $dir = $t->dir;

# the good database, built once
$t->init;
$t->mirror('m', MSTest::at('berlin'));
$t->index_origin;
$t->fixture('copy-all', 'm');
$t->fixture('all-up', 'm');
my $good = "$dir/good.db";
copy($t->db, $good) or die $!;

my $berlin = MSTest::client('berlin');
my $file = 'big/file.iso';
my $url = MSTest::url($file);
my @provoked;      # paths whose errors this test provokes

sub garbage {
    my ($path, $bytes) = @_;
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh substr(('not a database, not an mmdb: garbage ' x 1000), 0, $bytes);
    close $fh;
}

# Serve locally, $n times, GET and HEAD; httpd stays up.
sub local_ok {
    my ($name, $n) = @_;
    for my $i (1 .. ($n || 1)) {
        my $r = $t->get($url, ip => "192.0.2." . (1 + $i % 60));
        if ($i == 1) {
            $t->served_locally($r, $file, $name);
        }
        elsif ($r->{status} != 200 || $r->{body} ne $t->origin_bytes($file)) {
            fail("$name: request $i: status $r->{status}");
            return;
        }
    }
    $t->served_locally($t->head($url, ip => $berlin), $file, "$name (HEAD)", method => 'HEAD');
    ok($t->running, "$name: httpd still running");
}

sub redirect_ok {
    my ($name) = @_;
    MSTest::eventually(10, sub { $t->get($url, ip => $berlin)->{status} == 302 });
    $t->redirects_to($t->get($url, ip => $berlin), 'm', 'country', $file, $name);
}

# How many error lines name $path; they must be few (rate-limited).
sub logged_rate_limited {
    my ($path, $name, $max) = @_;
    my @l = grep { /\Q$path\E/ && /:(?:error|crit|alert|emerg)\]|\[(?:error|warn)\]|:warn\]/ }
            split /\n/, $t->error_log;
    ok(@l >= 1, "$name: the error is logged with the file's path");
    ok(@l <= $max, "$name: logged at most $max times for 30+ requests (" . scalar(@l) . ')')
        or diag(join "\n", @l[0 .. ($#l > 9 ? 9 : $#l)]);
}

# --- database missing at start, then appearing ---------------------------------
{
    my $db = "$dir/later.db";
    push @provoked, $db;
    $t->start(db => $db);
    local_ok('database missing', 30);
    my $e = (grep { $_->{uri} eq $url } $t->access_entries)[0] || {};
    is($e->{result}, 'error', 'database missing: MIRRORSEL_RESULT=error');
    logged_rate_limited($db, 'database missing', 6);
    copy($good, "$db.tmp") or die $!;
    rename "$db.tmp", $db or die $!;
    redirect_ok('database appeared: used without restart');
    $t->stop;
}

# --- corrupt database at start; corrupt, truncated or empty replacements --------
{
    my $db = "$dir/corrupt.db";
    push @provoked, $db;
    garbage($db, 8192);
    $t->start(db => $db);
    local_ok('database corrupt (garbage)', 30);
    logged_rate_limited($db, 'database corrupt', 6);

    copy($good, "$db.tmp") or die $!;
    rename "$db.tmp", $db or die $!;
    redirect_ok('good database renamed over the corrupt one');

    garbage("$db.tmp", 8192);
    rename "$db.tmp", $db or die $!;
    MSTest::eventually(10, sub { $t->get($url, ip => $berlin)->{status} == 200 });
    local_ok('garbage renamed over the database', 10);

    # an SQLite header, then the file ends
    open my $in, '<:raw', $good or die $!;
    read $in, my $head, 2048;
    close $in;
    open my $out, '>:raw', "$db.tmp" or die $!;
    print $out $head;
    close $out;
    rename "$db.tmp", $db or die $!;
    local_ok('truncated database renamed over it', 10);

    # a valid database that is not ours (no schema)
    open $out, '>:raw', "$db.tmp" or die $!;
    close $out;
    rename "$db.tmp", $db or die $!;
    local_ok('empty file renamed over it', 10);

    unlink $db;
    local_ok('database removed', 10);

    copy($good, "$db.tmp") or die $!;
    rename "$db.tmp", $db or die $!;
    redirect_ok('good database back');
    $t->stop;
}

# --- database of an older schema ----------------------------------------------------------
# A database the tool has not migrated yet (schema 2: no holders bitmap)
# is refused with the command that fixes it, and files are served locally.
{
    my $db = "$dir/old-schema.db";
    push @provoked, $db;
    copy($good, $db) or die $!;
    system('sqlite3', $db, 'PRAGMA user_version = 2') == 0 or die "sqlite3 failed";
    $t->start(db => $db);
    local_ok('database of schema 2', 10);
    my @l = grep { /\Q$db\E/ } split /\n/, $t->error_log;
    ok((grep { /schema version 2 is older than \d+; run 'mirrorsel init' to migrate/ } @l),
       'schema 2: the log names the database and says to run mirrorsel init')
        or diag(join "\n", @l[0 .. ($#l > 4 ? 4 : $#l)]);
    $t->stop;
}

# --- unreadable database ---------------------------------------------------------------
SKIP: {
    skip 'root reads any file', 4 if $> == 0;
    my $db = "$dir/unreadable.db";
    push @provoked, $db;
    copy($good, $db) or die $!;
    chmod 0000, $db;
    $t->start(db => $db);
    local_ok('database unreadable', 10);
    $t->stop;
}

# --- City mmdb missing, corrupt ----------------------------------------------------------
{
    my $mm = "$dir/missing-city.mmdb";
    push @provoked, $mm;
    $t->start(db => $good, geoip => $mm);
    local_ok('City mmdb missing', 30);
    logged_rate_limited($mm, 'City mmdb missing', 6);
    $t->stop;

    $mm = "$dir/corrupt-city.mmdb";
    push @provoked, $mm;
    garbage($mm, 4096);
    $t->start(db => $good, geoip => $mm);
    local_ok('City mmdb corrupt', 30);
    logged_rate_limited($mm, 'City mmdb corrupt', 6);
    $t->stop;

    # It opens (its metadata is whole) but its search tree is not: every
    # lookup fails. Served locally and logged, not ranked as if the client
    # were nowhere (the world tier).
    $mm = "$dir/damaged-city.mmdb";
    push @provoked, $mm;
    copy($t->{geoip}, $mm) or die $!;
    open my $fh, '+<:raw', $mm or die "$mm: $!";
    print $fh "\xff" x 2048;
    close $fh;
    $t->start(db => $good, geoip => $mm);
    local_ok('City mmdb damaged inside', 30);
    logged_rate_limited($mm, 'City mmdb damaged inside', 6);
    like($t->error_log, qr/MS00020: geo database \Q$mm\E: .*; serving locally/,
         "City mmdb damaged inside: the log names the file and libmaxminddb's reason");
    my $e = (grep { $_->{uri} eq $url } $t->access_entries)[0] || {};
    is($e->{result}, 'error', 'City mmdb damaged inside: MIRRORSEL_RESULT=error');
    $t->stop;
    {
        # A database of another kind as MirrorSelGeoIPDatabase: it opens and
        # finds nothing; a warning at start, requests answered as before.
        my $asn = $t->{asndb};
        push @provoked, $asn;
        $t->start(db => $good, geoip => $asn);
        my $r = $t->get($url, ip => $berlin);
        is($r->{status}, 302, 'an ASN mmdb as the GeoIP database: still redirected');
        like($t->error_log, qr/\[mirrorsel:warn\].*MS00021: .*\Q$asn\E.*not a City or Country database; clients will not be located/,
             'an ASN mmdb as the GeoIP database: a warning naming the file and its kind');
        $t->stop;
    }
    local $t->{geoip} = $mm;
    my ($rc, $out, $err) = $t->tool_run('explain', $file, '--ip', $berlin);
    is($rc, 1, 'City mmdb damaged inside: explain fails (exit 1)');
    like($err, qr/^mirrorsel: explain: geo database \Q$mm\E: \S.*\n\z/,
         'explain: one line naming the file and the reason');
}

# --- ASN mmdb missing, corrupt ------------------------------------------------------
# conf/mirrorsel.conf configures the optional ASN database only when the file
# exists at start-up (<IfFile>): without it, requests are still redirected,
# without the asn tier. A file that is there but corrupt is an unusable
# configured mmdb: served locally, logged.
{
    my $mm = "$dir/missing-asn.mmdb";
    $t->start(db => $good, asndb => $mm);
    my $r = $t->get($url, ip => MSTest::client('munich'));
    $t->redirects_to($r, 'm', 'country', $file, 'ASN mmdb missing: still redirected, no asn tier');
    $r = $t->get("$url?asnlog=1", ip => $berlin);
    is($r->{status}, 302, 'ASN mmdb missing: redirect');
    my $e;
    MSTest::eventually(5, sub {
        ($e) = grep { $_->{uri} eq "$url?asnlog=1" } $t->access_entries;
        $e;
    });
    is($e && $e->{asn}, '-', 'ASN mmdb missing: MIRRORSEL_ASN is "-"');
    is($e && $e->{country}, 'DE', 'ASN mmdb missing: MIRRORSEL_COUNTRY still DE');
    ok($t->running, 'ASN mmdb missing: httpd still running');
    $t->stop;

    $mm = "$dir/corrupt-asn.mmdb";
    push @provoked, $mm;
    garbage($mm, 4096);
    $t->start(db => $good, asndb => $mm);
    local_ok('ASN mmdb corrupt', 30);
    logged_rate_limited($mm, 'ASN mmdb corrupt', 6);
    $t->stop;
}

# --- and all is well again with good files ----------------------------------------------
$t->start(db => $good);
redirect_ok('good files: redirected');

my $alt = join '|', map { quotemeta } @provoked;
$t->finish(allow => [ qr/\[mirrorsel:(?:error|warn)\].*(?:$alt)/ ]);
