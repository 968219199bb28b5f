#!/usr/bin/perl
# The `mirrorsel` tool's own commands (SPEC "mirrorsel"):
#   - explain PATH, text and --json, over a database of mirrors with fixture
#     copies and health: the chosen mirror and tier per client of the test
#     geo database, every excluded mirror with its reason, --country, --https,
#     a path not indexed, refused arguments; then checked against the module
#     itself (one httpd): the same mirror, tier, Link order and result;
#   - mirror add/edit/enable/disable/remove: every refusal has its exit code,
#     one line on stderr naming the problem, and leaves the database as it was;
#     remove takes the mirror's copies, health and prefixes with it;
#   - locations filled from the geo databases when add is given none;
#   - MIRRORSEL_DB, MIRRORSEL_GEOIP, MIRRORSEL_ASNDB, and the options over them;
#   - --version; errors in the options before the command;
#   - every option of every parser (read from src/) accepted by the tool and
#     named in `mirrorsel --help`, README's synopsis and COMMAND --help.
use strict;
use warnings;
use Encode qw(decode_utf8);
use FindBin;
use lib "$FindBin::Bin/../support";
use MSOutputs;
use MSTest;
use Test::More;

my $t = MSTest->new(name => 'scan-cli');
$t->standard_origin->init;

# --- the world -----------------------------------------------------------------
#
#   de1    Berlin      http only; up over IPv4, down over IPv6
#   de2    Munich      504 km from Berlin
#   fr     Paris       holds big/file.iso stale (another mtime)
#   us     New York    down
#   la     Los Angeles AS64510, the New York clients' AS
#   jp     Tokyo       scope country
#   at     Vienna      scope country, other countries CH
#   pfx    London      scope prefix, 192.0.2.32/27
#   small  Copenhagen  max-size 50000 (big/file.iso is 65536 bytes)
#   off    Paris       disabled
#   fb     Sao Paulo   fallback, holds nothing
# Every mirror but fb holds every file indexed before late/new.iso fresh.
$t->mirror('de1', MSTest::at('berlin'), https => 0);
$t->mirror('de2', MSTest::at('munich'));
$t->mirror('fr', MSTest::at('paris'));
$t->mirror('us', MSTest::at('newyork'));
$t->mirror('la', MSTest::at('la'), asn => 64510);
$t->mirror('jp', MSTest::at('tokyo'), scope => 'country');
$t->mirror('at', MSTest::at('vienna'), scope => 'country', other => 'CH');
$t->mirror('pfx', MSTest::at('london'), scope => 'prefix', prefix => ['192.0.2.32/27']);
$t->mirror('small', MSTest::at('copenhagen'), max_size => 50000);
$t->mirror('off', MSTest::at('paris'), disabled => 1);
$t->mirror('fb', MSTest::at('saopaulo'), fallback => 1);
$t->index_origin;
for my $m (qw(de1 de2 fr us la jp at pfx small off)) {
    $t->fixture('copy-all', $m);
}
$t->fixture('all-up', $_) for qw(de1 de2 fr la jp at pfx small off fb);
$t->fixture('all-down', 'us');
$t->fixture('health', 'de1', 'http', 6, 'down');
$t->fixture('copy', 'fr', 'big/file.iso', 65536, 1600000000, 60);
$t->origin_file('late/new.iso', 20000);      # indexed after the copies: nobody holds it
$t->index_origin;
$t->origin_file('late/unindexed.iso', 20000);  # on the origin, not in the index

my $FILE = 'big/file.iso';
my %ip = map { $_ => MSTest::client($_) } keys %MSTest::CLIENT;

# --- explain: helpers --------------------------------------------------------------

# explain's text output as a hash: client location, result, ranked, excluded.
sub text_doc {
    my $out = decode_utf8($_[0]);
    my %d = (ranked => [], excluded => []);
    my $section = '';
    for my $l (split /\n/, $out) {
        if ($l =~ /^location:\s+country (\S+), continent (\S+), coordinates (\S+), asn (\S+)$/) {
            @d{qw(country continent coords asn)} = ($1, $2, $3, $4);
        }
        elsif ($l =~ /^file:\s+(.*)$/) {
            $d{file} = $1;
        }
        elsif ($l =~ /^result:\s+(\S+)(?: to (\S+) \(tier (\S+?)(, fallback)?; (\d+) mirrors? shared the draw\))?/) {
            @d{qw(result mirror tier fallback band)} = ($1, $2, $3, $4 ? 1 : 0, $5);
        }
        elsif ($l =~ /^(ranked|excluded)/) {
            $section = $1;
        }
        elsif ($section eq 'ranked' && $l =~ /^\s+(\d+)([* ])\s+(\S+)\s+(\S+)\s+(?:-|(\d+) km)\s+(\S+)/) {
            push @{ $d{ranked} }, { rank => $1, chosen => $2 eq '*', name => $3, tier => $4,
                                    km => $5, url => $6 };
        }
        elsif ($section eq 'excluded' && $l =~ /^  (\S+)  +(\S+)(?:  +(.*))?$/) {
            push @{ $d{excluded} }, { name => $1, reason => $2, detail => $3 // '' };
        }
    }
    return \%d;
}

# Run explain twice, as text and as JSON; checks both exit 0, the JSON
# parses, and the two say the same. Returns (text doc, JSON doc).
sub run_explain {
    my ($name, $path, @opt) = @_;
    my ($rc, $out, $err) = $t->tool_run('explain', $path, @opt);
    is($rc, 0, "$name: explain exits 0") or diag($err);
    my $txt = text_doc($out);
    ($rc, my $jout, $err) = $t->tool_run('explain', $path, @opt, '--json');
    is($rc, 0, "$name: explain --json exits 0") or diag($err);
    my $js = MSOutputs::json_ok($jout, "$name: --json");
    agree($txt, $js, $name) or diag("text:\n$out\njson:\n$jout");
    return ($txt, $js);
}

# The text and the JSON of one explain tell the same.
sub agree {
    my ($x, $j, $name) = @_;
    my @why;
    my $c = $j->{client} || {};
    push @why, 'country' if ($x->{country} // '') ne ($c->{country} // '-');
    push @why, 'continent' if ($x->{continent} // '') ne ($c->{continent} // '-');
    push @why, 'asn' if ($x->{asn} // '') ne ($c->{asn} // '-');
    push @why, 'coordinates' if ($x->{coords} // '') ne
        (defined $c->{lat} ? sprintf('%.4f,%.4f', $c->{lat}, $c->{lon}) : '-');
    push @why, 'result' if ($x->{result} // '') ne ($j->{result} // '');
    push @why, 'mirror' if ($x->{mirror} // '') ne ($j->{mirror} // '');
    push @why, 'tier' if ($x->{tier} // '') ne ($j->{tier} // '');
    push @why, 'fallback' if $x->{fallback} xor $j->{fallback};
    push @why, 'band' if defined $x->{band} && $x->{band} != $j->{band};
    my @jr = @{ $j->{ranked} || [] };
    my @xr = @{ $x->{ranked} };
    push @why, 'ranked count' if @jr != @xr;
    for my $i (0 .. ($#xr < $#jr ? $#xr : $#jr)) {
        my ($p, $q) = ($xr[$i], $jr[$i]);
        push @why, "ranked $i"
            if $p->{name} ne $q->{name} || $p->{tier} ne $q->{tier} || $p->{url} ne $q->{url}
            || $p->{rank} != $q->{rank} || ($p->{chosen} xor $q->{chosen})
            || (defined $p->{km} xor defined $q->{distance_km})
            || (defined $p->{km} && abs($p->{km} - $q->{distance_km}) > 0.55);
    }
    my @je = @{ $j->{excluded} || [] };
    my @xe = @{ $x->{excluded} };
    push @why, 'excluded count' if @je != @xe;
    for my $i (0 .. ($#xe < $#je ? $#xe : $#je)) {
        push @why, "excluded $i"
            if join("\t", @{ $xe[$i] }{qw(name reason detail)})
            ne join("\t", @{ $je[$i] }{qw(name reason detail)});
    }
    return ok(!@why, "$name: the text and the JSON agree") || diag("differ in: @why");
}

sub excluded_as {
    my ($j, $m) = @_;
    my ($e) = grep { $_->{name} eq $m } @{ $j->{excluded} || [] };
    return $e ? $e->{reason} : 'not excluded';
}

# --- explain: who gets which mirror -------------------------------------------------

my @cases = (
    # client        options              mirror(s)       tier             why
    [ 'berlin',     [],                  'de1',          'country',       'the mirror in Berlin' ],
    [ 'berlin_pfx', [],                  'pfx',          'prefix',        'client inside pfx\'s --prefix' ],
    [ 'newyork',    [],                  'la',           'asn',           'same AS (us is down)' ],
    [ 'swiss',      [],                  'at',           'other-country', 'CH is in at\'s --other-countries' ],
    [ 'tokyo',      [],                  'jp',           'country',       'scope-country mirror, own country' ],
    [ 'paris',      [],                  [qw(de1 de2)],  'continent',     'fr stale: the EU band of two' ],
    [ 'berlin6',    [],                  'de2',          'country',       'IPv6: de1 down over IPv6' ],
    [ 'berlin',     ['--https'],         'de2',          'country',       'https: de1 has no https URL' ],
    [ 'paris',      ['--country', 'JP'], 'jp',           'country',       '--country JP' ],
    [ 'nowhere',    [],                  [qw(de1 de2 la)], 'world',        'unlocated client' ],
);
my %explained;
for my $c (@cases) {
    my ($client, $opt, $m, $tier, $why) = @$c;
    my $name = join ' ', 'explain', $client, @$opt;
    my ($x, $j) = run_explain($name, $FILE, '--ip', $ip{$client}, @$opt);
    $explained{"$client @$opt"} = $j;
    is($j->{result}, 'redirect', "$name: result redirect");
    if (ref $m) {
        ok((grep { $_ eq ($j->{mirror} // '') } @$m), "$name: $why: one of @$m")
            or diag("chose " . ($j->{mirror} // 'none'));
    }
    else {
        is($j->{mirror}, $m, "$name: $why: $m");
    }
    is($j->{tier}, $tier, "$name: tier $tier");
    is($j->{ranked}[0]{url}, ($j->{ranked}[0]{https} ? "https" : "http") . "://$j->{mirror}.mirror.test/pub/$FILE",
       "$name: the chosen mirror's URL of the file")
        if $j->{mirror};
}

# what the client is, as explain sees it
{
    my $j = $explained{'berlin '};
    is_deeply([ map { ref $_ ? ($_ ? 1 : 0) : $_ } @{ $j->{client} }{qw(ip family https country continent lat lon asn)} ],
              [ $ip{berlin}, 4, 0, 'DE', 'EU', 52.52, 13.4, 64501 ],
              'explain --json: the client located in the test geo database');
    is_deeply($j->{file}, { path => $FILE, size => 65536, mtime => 1700000000,
                            sha256 => MSOutputs::hex_of($t->origin_bytes($FILE)) },
              'explain --json: the file as indexed');
    is_deeply([ map { "$_->{name} $_->{tier}" } @{ $j->{ranked} } ],
              [ 'de1 country', 'de2 country', 'la world' ],
              'explain --json: every qualifying mirror ranked, tier by tier')
        or diag(explain_names($j));
    is($explained{'berlin6 '}{client}{family}, 6, 'IPv6 client: family 6');
    is($explained{'berlin --https'}{ranked}[0]{url}, "https://de2.mirror.test/pub/$FILE",
       '--https: the https URL');
    ok($explained{'berlin --https'}{client}{https}, '--https: client https in the JSON');
}
sub explain_names { join ' ', map { "$_->{name}/$_->{tier}" } @{ $_[0]{ranked} } }

# every excluded mirror, with its reason
{
    my $j = $explained{'berlin '};
    my %want = (fr => 'stale', us => 'down', small => 'max-size', off => 'disabled',
                jp => 'scope', at => 'scope', pfx => 'scope', fb => 'not-held');
    is_deeply({ map { $_->{name} => $_->{reason} } @{ $j->{excluded} } }, \%want,
              'Berlin client: every other mirror excluded, each with its reason')
        or diag(join " ", map { "$_->{name}=$_->{reason}" } @{ $j->{excluded} });
    my %detail = map { $_->{name} => $_->{detail} } @{ $j->{excluded} };
    like($detail{fr}, qr/^mirror has size 65536 mtime 1600000000 \(.{1,2}60 s\), origin size 65536 mtime 1700000000$/,
         'stale: what the mirror has and what the origin has');
    is($detail{us}, 'http over IPv4', 'down: the scheme and family it is down for');
    is($detail{small}, '65536 > 50000', 'max-size: the sizes');
    like($detail{jp}, qr/^scope country, client would be tier world$/, 'scope: the scope and the tier');
    is(excluded_as($explained{'berlin6 '}, 'de1'), 'down', 'IPv6 client: de1 excluded as down');
    is(excluded_as($explained{'berlin --https'}, 'de1'), 'no-url', 'https client: de1 excluded, no https URL');
    my ($rc, $out) = $t->tool_run('explain', $FILE, '--ip', $ip{berlin});
    like($out, qr/^  fr +stale +mirror has size 65536 mtime 1600000000 \(.{1,2}60 s\), origin size 65536 mtime 1700000000$/m,
         'text: the stale mirror, its reason and why');
    like($out, qr/^  us +down +http over IPv4$/m, 'text: the down mirror and why');
    like($out, qr/^  off +disabled$/m, 'text: the disabled mirror');
    like($out, qr/^result: +redirect to de1 \(tier country; 1 mirror shared the draw\)$/m,
         'text: the result line');
    like($out, qr/^ +1\* +de1 +country +0 km +http:\/\/de1\.mirror\.test\/pub\/big\/file\.iso$/m,
         'text: the chosen mirror first, starred');
}

# --country: the override wins over the address, and drops its coordinates
{
    my $j = $explained{'paris --country JP'};
    is($j->{client}{country_override}, 'JP', '--country JP: the override in the JSON');
    is_deeply([ @{ $j->{client} }{qw(country continent lat lon asn)} ], [ 'JP', 'AS', undef, undef, undef ],
              '--country JP: country and continent of JP, no coordinates, no AS');
    my (undef, $j2) = run_explain('explain --country jp (lower case)', $FILE, '--ip', $ip{paris}, '--country', 'jp');
    is($j2->{mirror}, 'jp', '--country jp: the same as JP');
    my (undef, $j3) = run_explain('explain --country without --ip', $FILE, '--country', 'CH');
    is("$j3->{mirror} $j3->{tier}", 'at other-country', '--country CH without an address: at, other-country');
}

# the band: two mirrors share the Paris clients; the draw is the same every time
{
    my $j = $explained{'paris '};
    is($j->{band}, 2, 'Paris: de1 (877 km) and de2 (685 km) share the band');
    is(excluded_as($j, 'fr'), 'stale', 'Paris: fr (0 km) excluded as stale');
    my %seen;
    for my $i (131 .. 154) {
        my ($rc, $out) = $t->tool_run('explain', $FILE, '--ip', "192.0.2.$i", '--json');
        my $first = MSOutputs::json_ok($out, "explain 192.0.2.$i")->{mirror} // '';
        ($rc, $out) = $t->tool_run('explain', $FILE, '--ip', "192.0.2.$i", '--json');
        my $again = (eval { JSON::PP->new->decode($out) } || {})->{mirror} // '';
        $seen{$first}++ if $first eq $again;
    }
    is(($seen{de1} // 0) + ($seen{de2} // 0), 24, '24 Paris clients: each gets the same mirror twice, de1 or de2');
    ok($seen{de1} && $seen{de2}, 'the draw spreads them (de1 ' . ($seen{de1} // 0) . ', de2 ' . ($seen{de2} // 0) . ')');
}

# fallback: nobody holds late/new.iso
{
    my ($x, $j) = run_explain('explain a file only fallback mirrors serve', 'late/new.iso', '--ip', $ip{berlin});
    ok($j->{fallback} && ($j->{mirror} // '') eq 'fb', 'no holder: the fallback mirror, flagged')
        or diag(explain_names($j));
    is(excluded_as($j, 'de1'), 'not-held', 'no holder: de1 excluded as not-held');

    # the fallback mirror down: it exists, it does not qualify, and explain
    # says so; without one, that none exists
    $t->fixture('all-down', 'fb');
    ($x, $j) = run_explain('explain with the fallback mirror down', 'late/new.iso', '--ip', $ip{berlin});
    is($j->{result}, 'nomirror', 'fallback down: result nomirror');
    is(excluded_as($j, 'fb'), 'down', 'fallback down: fb excluded as down');
    my ($rc, $out) = $t->tool_run('explain', 'late/new.iso', '--ip', $ip{berlin});
    like($out, qr/^result: +nomirror \(neither a mirror nor a fallback mirror qualifies: served locally\)$/m,
         'fallback down: the text says no fallback mirror qualifies, not that none exists');
    $t->tool('mirror', 'edit', 'fb', '--no-fallback');
    ($rc, $out) = $t->tool_run('explain', 'late/new.iso', '--ip', $ip{berlin});
    like($out, qr/^result: +nomirror \(no mirror qualifies and no fallback mirror exists: served locally\)$/m,
         'no fallback mirror: the text says none exists');
    $t->tool('mirror', 'edit', 'fb', '--fallback');
    $t->fixture('all-up', 'fb');
}

# a path that is not in the index
for my $p ('late/unindexed.iso', 'no/such/file.iso') {
    my ($x, $j) = run_explain("explain $p", $p, '--ip', $ip{berlin});
    is($j->{result}, 'nomirror', "$p: result nomirror (served locally)");
    ok(!defined $j->{file} && !@{ $j->{ranked} } && !defined $j->{mirror}, "$p: no file, no mirror");
    like($x->{file}, qr/^\Q$p\E: not in the index$/, "$p: the text says it is not in the index");
}

# path spellings the module normalises too
{
    my ($x, $j) = run_explain('explain /big//./file.iso', '/big//./file.iso', '--ip', $ip{berlin});
    is("$j->{path} " . ($j->{mirror} // ''), "$FILE de1", 'a leading slash, // and /./ are normalised');
}

# refused: the exit code, one line on stderr naming what is wrong, nothing on stdout
my @refused = (
    [ [ '../etc/passwd' ],                      2, qr/'\.\.\/etc\/passwd': not a file path/ ],
    [ [ 'big/../../x' ],                        2, qr/not a file path/ ],
    [ [ 'a\\b' ],                               2, qr/not a file path/ ],
    [ [ '/' ],                                  2, qr/'\/': not a file path/ ],
    [ [ '' ],                                   2, qr/'': not a file path/ ],
    [ [],                                       2, qr/explain: PATH is missing/ ],
    [ [ $FILE, 'big/other.iso' ],               2, qr/explain: one PATH expected/ ],
    [ [ $FILE, '--ip', '192.0.2.300' ],         2, qr/--ip '192\.0\.2\.300': not an IPv4 or IPv6 address/ ],
    [ [ $FILE, '--ip', 'berlin' ],              2, qr/--ip 'berlin': not an IPv4 or IPv6 address/ ],
    [ [ $FILE, '--ip', '2001:db8::1::2' ],      2, qr/--ip '2001:db8::1::2'/ ],
    [ [ $FILE, '--ip' ],                        2, qr/--ip needs a value/ ],
    [ [ $FILE, '--country', 'XX' ],             2, qr/--country 'XX': not an ISO 3166-1 country code/ ],
    [ [ $FILE, '--country', 'DEU' ],            2, qr/--country 'DEU'/ ],
    [ [ $FILE, '--spread', '0.5', '10' ],       2, qr/--spread takes F K/ ],
    [ [ $FILE, '--frobnicate' ],                2, qr/unknown option --frobnicate/ ],
);
for my $c (@refused) {
    my ($args, $code, $re) = @$c;
    my $name = 'explain ' . join(' ', map { "'$_'" } @$args);
    my ($rc, $out, $err) = $t->tool_run('explain', @$args);
    is($rc, $code, "$name: exit $code");
    ok($err =~ /\A[^\n]*\n\z/ && $err =~ $re, "$name: one line on stderr naming the problem")
        or diag("stderr: $err");
    is($out, '', "$name: nothing on stdout");
}
{
    my ($rc, $out, $err) = $t->_run("$t->{build}/mirrorsel", '--db', $t->dir . '/none.db',
                                    'explain', $FILE, '--ip', $ip{berlin});
    is($rc, 1, 'explain with no database: exit 1');
    like($err, qr/\A[^\n]*none\.db: does not exist[^\n]*\n\z/, 'explain with no database: says which, one line');
    ok(!-e $t->dir . '/none.db', 'explain creates no database');
    ($rc, $out, $err) = $t->_run("$t->{build}/mirrorsel", '--db', $t->db, '--geoip', $t->dir . '/none.mmdb',
                                 'explain', $FILE, '--ip', $ip{berlin});
    is($rc, 1, 'explain with a geo database missing: exit 1');
    like($err, qr/\A[^\n]*none\.mmdb[^\n]*\n\z/, 'explain with a geo database missing: names it, one line');
}

# Hostile bytes in an argument: the error must still be one line, the bytes
# shown escaped as \xNN (ms_cmd_fail escapes every control byte), no
# terminal escape passed on.
for my $args ([ 'explain', "big\nfile\e[31m.iso" ], [ 'explain', $FILE, '--ip', "192.0.2.1\nx" ],
              [ 'mirror', 'add', "a\nb", '--url', 'http://x.mirror.test/' ],
              [ 'mirror', 'add', 'ab', '--url', "http://x.mirror.test/\e[2J" ]) {
    my $name = 'hostile argument: ' . explain_bytes(join ' ', @$args);
    my ($rc, $out, $err) = $t->tool_run(@$args);
    is($rc, 2, "$name: exit 2");
    ok($err =~ /\A[^\n]*\n\z/ && $err !~ /[\x00-\x09\x0b-\x1f\x7f]/, "$name: one line, no control byte")
        or diag(explain_bytes($err));
    like($err, qr/\\x(0a|1b)/, "$name: the byte shown escaped") or diag(explain_bytes($err));
}
sub explain_bytes { my $s = shift; $s =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge; $s }

# --- explain against the module: the same answer --------------------------------------

$t->start;
{
    my @req;      # [ name, explain JSON, request path, request options ]
    for my $c (@cases) {
        my ($client, $opt) = @$c;
        my %o = (ip => $ip{$client});
        my $path = MSTest::url($FILE);
        $o{ssl} = 1 if grep { $_ eq '--https' } @$opt;
        $path .= '?country=JP' if grep { $_ eq 'JP' } @$opt;
        push @req, [ join(' ', $client, @$opt), $explained{"$client @$opt"}, $path, %o ];
    }
    for my $i (131 .. 142) {
        my ($rc, $out) = $t->tool_run('explain', $FILE, '--ip', "192.0.2.$i", '--json');
        push @req, [ "192.0.2.$i", MSOutputs::json_ok($out, "explain 192.0.2.$i"),
                     MSTest::url($FILE), ip => "192.0.2.$i" ];
    }
    for my $p ('late/new.iso', 'late/unindexed.iso') {
        my ($rc, $out) = $t->tool_run('explain', $p, '--ip', $ip{berlin}, '--json');
        push @req, [ "$p from Berlin", MSOutputs::json_ok($out, "explain $p"), MSTest::url($p),
                     ip => $ip{berlin} ];
    }
    # --root: the origin file as the module sees it. A link is answered as
    # its target; a file changed since the index is judged against the disk
    # (every copy stale: the fallback mirror); a missing one is httpd's 404.
    my $root = $t->{origin};
    symlink 'file.iso', "$root/big/latest.iso" or die "symlink: $!";
    utime 1700000500, 1700000500, "$root/dir/sub/deep.tar.gz" or die;
    my ($rc, $out) = $t->tool_run('explain', 'big/latest.iso', '--ip', $ip{berlin}, '--json');
    is(MSOutputs::json_ok($out, 'explain a link without --root')->{result}, 'nomirror',
       'explain without --root: a link is not in the index');
    ($rc, $out) = $t->tool_run('explain', 'big/latest.iso', '--ip', $ip{berlin}, '--root', $root);
    like($out, qr{^origin: +\Q$root\E/big/latest\.iso: 65536 bytes, mtime .*; a link to big/file\.iso, answered as that file$}m,
         'explain --root: the link and its target') or diag($out);
    like($out, qr{^ *1\*? .*/big/file\.iso$}m, 'explain --root: mirror URLs of the target') or diag($out);
    my $lj = MSOutputs::json_ok(scalar(($t->tool_run('explain', 'big/latest.iso', '--ip', $ip{berlin},
                                                      '--root', $root, '--json'))[1]), 'explain --root --json');
    is($lj->{origin}{link_to}, 'big/file.iso', 'explain --root --json: origin.link_to');
    is($lj->{result}, 'redirect', 'explain --root --json: a link is redirected');
    push @req, [ 'a link, --root', $lj, MSTest::url('big/latest.iso'), ip => $ip{berlin} ];
    ($rc, $out) = $t->tool_run('explain', 'dir/sub/deep.tar.gz', '--ip', $ip{berlin}, '--json');
    is(MSOutputs::json_ok($out, 'explain a changed file without --root')->{result}, 'redirect',
       'explain without --root: a file changed on disk is taken as indexed');
    my $cj = MSOutputs::json_ok(scalar(($t->tool_run('explain', 'dir/sub/deep.tar.gz', '--ip', $ip{berlin},
                                                      '--root', $root, '--json'))[1]), 'explain changed --root');
    is($cj->{origin}{mtime}, 1700000500, 'explain --root --json: the mtime on disk');
    ok($cj->{fallback} && $cj->{mirror} eq 'fb', 'explain --root: every copy stale, the fallback mirror')
        or diag(explain $cj);
    push @req, [ 'a file changed on disk, --root', $cj, MSTest::url('dir/sub/deep.tar.gz'), ip => $ip{berlin} ];
    {
        local $ENV{MIRRORSEL_ROOT} = $root;
        ($rc, $out) = $t->tool_run('explain', 'big/nothere.iso', '--ip', $ip{berlin});
    }
    is($rc, 0, 'explain, MIRRORSEL_ROOT: a path missing on the origin: exit 0');
    like($out, qr{^origin: +\Q$root\E/big/nothere\.iso: No such file or directory: not redirected, httpd answers it itself$}m,
         'explain, MIRRORSEL_ROOT: says the file is missing') or diag($out);
    like($out, qr/^result: +local \(not a file on the origin\)$/m, 'explain: result local');

    for my $q (@req) {
        my ($name, $j, $path, %o) = @$q;
        my $n0 = () = $t->access_entries;
        my $r = $t->get($path, %o);
        MSTest::eventually(5, sub { scalar($t->access_entries) > $n0 });
        my @log = $t->access_entries;
        my $result = @log > $n0 ? $log[-1]{result} : '(no log line)';
        is($result, $j->{result}, "module and explain, $name: result $j->{result}");
        if ($j->{result} eq 'redirect') {
            is(join(' ', MSTest::hdr($r, 'X-MirrorSel-Mirror') // '-', MSTest::hdr($r, 'X-MirrorSel-Tier') // '-'),
               "$j->{mirror} $j->{tier}", "module and explain, $name: mirror and tier");
            my @links = map { $_->{url} } sort { $a->{pri} <=> $b->{pri} }
                grep { ($_->{rel} // '') eq 'duplicate' } MSOutputs::links($r);
            my @want = map { $_->{url} } @{ $j->{ranked} };
            splice @want, 5 if @want > 5;
            is_deeply(\@links, \@want, "module and explain, $name: the same order (Link headers)");
        }
        else {
            is($r->{status}, 200, "module and explain, $name: served locally");
        }
    }
}
$t->stop;

# --- mirror add / edit / enable / disable / remove ---------------------------------

sub list_json {
    my ($rc, $out, $err) = $t->tool_run('mirror', 'list', '--json');
    die "mirror list --json: exit $rc: $err" if $rc;
    return $out;
}
sub show {
    my ($rc, $out, $err) = $t->tool_run('mirror', 'show', $_[0], '--json');
    return $rc ? undef : JSON::PP->new->decode($out);
}

my @L = ('--country', 'DE', '--lat', '50', '--lon', '10', '--asn', '65000');   # nothing looked up
my @U = ('--url', 'http://new.mirror.test/pub/');
my @bad = (
    # arguments                                               exit  stderr
    [ [ 'add', 'new', @U, @L[2 .. 7], '--country', 'XX' ],      2, qr/--country 'XX': not an ISO 3166-1 country code/ ],
    [ [ 'add', 'new', @U, @L[2 .. 7], '--country', 'DEU' ],     2, qr/--country 'DEU'/ ],
    [ [ 'add', 'new', @U, @L, '--continent', 'XX' ],           2, qr/--continent 'XX': not one of AF AN AS EU NA OC SA/ ],
    [ [ 'add', 'new', @U, @L, '--continent', 'Europe' ],       2, qr/--continent 'Europe'/ ],
    [ [ 'add', 'new', @U, '--country', 'DE', '--lat', '50' ],  2, qr/--lat and --lon go together/ ],
    [ [ 'add', 'new', @U, '--country', 'DE', '--lon', '10' ],  2, qr/--lat and --lon go together/ ],
    [ [ 'add', 'new', @U, '--country', 'DE', '--lat', '91', '--lon', '0' ], 2, qr/--lat '91': not a latitude/ ],
    [ [ 'add', 'new', @U, '--country', 'DE', '--lat', '0', '--lon', '-181' ], 2, qr/--lon '-181': not a longitude/ ],
    [ [ 'add', 'new', @U, '--country', 'DE', '--lat', 'north', '--lon', '0' ], 2, qr/--lat 'north'/ ],
    [ [ 'add', 'new', @U, @L, '--asn', 'AS-1' ],                2, qr/--asn 'AS-1': not an AS number/ ],
    [ [ 'add', 'new', @U, @L, '--prefix', '192.0.2.1/24' ],     2, qr/--prefix '192\.0\.2\.1\/24': not a CIDR prefix/ ],
    [ [ 'add', 'new', @U, @L, '--prefix', '192.0.2.0/33' ],     2, qr/--prefix '192\.0\.2\.0\/33': not a CIDR prefix/ ],
    [ [ 'add', 'new', @U, @L, '--prefix', '300.1.2.0/24' ],     2, qr/--prefix '300\.1\.2\.0\/24'/ ],
    [ [ 'add', 'new', @U, @L, '--prefix', '2001:db8::1/32' ],   2, qr/--prefix '2001:db8::1\/32'/ ],
    [ [ 'add', 'new', @U, @L, '--prefix', 'lan' ],              2, qr/--prefix 'lan'/ ],
    [ [ 'add', 'new', @U, @L, '--other-countries', 'AT,XX' ],   2, qr/--other-countries: 'XX' is not an ISO 3166-1 country code/ ],
    [ [ 'add', 'new', @U, @L, '--scope', 'galaxy' ],            2, qr/--scope 'galaxy': not one of world continent country asn prefix/ ],
    [ [ 'add', 'new', @U, @L, '--scope', 'World' ],             2, qr/--scope 'World'/ ],
    [ [ 'add', 'new', @U, @L, '--max-size', '-1' ],             2, qr/--max-size '-1': not a byte count/ ],
    [ [ 'add', 'new', @U, @L, '--max-size', '10Q' ],            2, qr/--max-size '10Q'/ ],
    [ [ 'add', 'new', @U, @L, '--max-size', '1.5G' ],           2, qr/--max-size '1\.5G'/ ],
    [ [ 'add', 'new', @U, @L, '--max-size', '99999999999999T' ], 2, qr/--max-size '99999999999999T'/ ],
    [ [ 'add', 'new', @U, @L, '--weight', '-1' ],               2, qr/--weight '-1': not an integer from 0 to 1000000/ ],
    [ [ 'add', 'new', @U, @L, '--weight', '1000001' ],          2, qr/--weight '1000001'/ ],
    [ [ 'add', 'new', @U, @L, '--weight', '1.5' ],              2, qr/--weight '1\.5'/ ],
    [ [ 'add', 'new', @U, @L, '--weight', '' ],                 2, qr/--weight '': not an integer/ ],
    [ [ 'add', 'bad name', @U, @L ],                            2, qr/'bad name': not a valid mirror name/ ],
    [ [ 'add', 'a/b', @U, @L ],                                 2, qr/'a\/b': not a valid mirror name/ ],
    [ [ 'add', '', @U, @L ],                                    2, qr/'': not a valid mirror name/ ],
    [ [ 'add', 'x' x 65, @U, @L ],                              2, qr/'x{65}': not a valid mirror name/ ],
    [ [ 'add', 'new', @L ],                                     2, qr/new: --url is required/ ],
    [ [ 'add', 'new', '--url', 'ftp://new.mirror.test/pub/', @L ],   2, qr/--url 'ftp:\/\/new\.mirror\.test\/pub\/': scheme must be http or https/ ],
    [ [ 'add', 'new', '--url', 'rsync://new.mirror.test/pub/', @L ], 2, qr/--url 'rsync:.*scheme must be http or https/ ],
    [ [ 'add', 'new', '--url', 'file:///srv/pub/', @L ],             2, qr/--url 'file:.*scheme must be http or https/ ],
    [ [ 'add', 'new', '--url', 'new.mirror.test/pub/', @L ],         2, qr/--url 'new\.mirror\.test\/pub\/': is not an absolute URL/ ],
    [ [ 'add', 'new', '--url', 'http://u:pw@new.mirror.test/', @L ], 2,
      qr/--url 'http:\/\/u:\*\*\*\@new\.mirror\.test\/': must not hold a user name or password/ ],
    [ [ 'add', 'new', '--url', 'http://new.mirror.test/?a=b', @L ],  2, qr/must not have a query/ ],
    [ [ 'add', 'new', '--url', 'http://new.mirror.test:0/', @L ],    2, qr/has a bad port/ ],
    [ [ 'add', 'new', '--url', 'http://new.mirror.test/a b/', @L ],  2, qr/holds a space/ ],
    # what a base URL may not hold, since it goes into Location, Link (<...>)
    # and HTML as it is: each check of the URL seen to refuse
    [ [ 'add', 'new', '--url', 'http://new.mirror.test/#top', @L ],  2, qr/must not have a fragment/ ],
    [ [ 'add', 'new', '--url', 'http://new.mirror.test/a>b/', @L ],  2, qr/holds a character not allowed in URLs/ ],
    [ [ 'add', 'new', '--url', 'http://new.mirror.test/a%zz/', @L ], 2, qr/holds a '%' that is not followed by two hex digits/ ],
    [ [ 'add', 'new', '--url', 'http://new.mirror.test/pub/../x/', @L ], 2, qr/has a '\.' or '\.\.' path segment/ ],
    [ [ 'add', 'new', '--url', 'http://new!mirror.test/', @L ],      2, qr/has a malformed host name/ ],
    [ [ 'add', 'new', '--url', 'http://[1:2:3]/', @L ],              2, qr/has a malformed IPv6 address/ ],
    [ [ 'add', 'new', @U, '--url', 'http://other.mirror.test/', @L ], 2, qr/a second http URL/ ],
    [ [ 'add', 'new', @U, '--scan-url', 'gopher://new.mirror.test/', @L ], 2, qr/--scan-url 'gopher:.*scheme must be one of/ ],
    # a login only where the scanner uses it: rsync and FTP a user and a
    # password, SFTP the user (the key logs in), HTTP none; the password is
    # never echoed
    [ [ 'add', 'new', @U, '--scan-url', 'sftp://u:pw@new.mirror.test/pub/', @L ], 2,
      qr/--scan-url 'sftp:\/\/u:\*\*\*\@new\.mirror\.test\/pub\/': must not hold a password: an sftp:\/\/ scan URL logs in with the key of --ssh-key/ ],
    [ [ 'add', 'new', @U, '--scan-url', 'https://u:pw@new.mirror.test/', @L ], 2,
      qr/--scan-url 'https:\/\/u:\*\*\*\@new\.mirror\.test\/': must not hold a user name or password: only rsync:\/\/, ftp:\/\/ and ftps:\/\/ scan URLs carry a login/ ],
    [ [ 'add', 'new', @U, '--scan-url', 'http://u@new.mirror.test/', @L ], 2,
      qr/--scan-url 'http:\/\/u\@new\.mirror\.test\/': must not hold a user name or password/ ],
    [ [ 'add', 'new', @U, @L, '--frobnicate' ],                 2, qr/unknown option --frobnicate/ ],
    [ [ 'add', 'new', '--url' ],                                2, qr/option --url needs a value/ ],
    [ [ 'add', 'de1', '--url', 'http://de1b.mirror.test/', @L ], 1, qr/mirror de1 exists/ ],
    [ [ 'edit', 'de1' ],                                        2, qr/edit: de1: nothing to change/ ],
    [ [ 'edit', 'nosuch', '--weight', '5' ],                    1, qr/mirror nosuch: no such mirror/ ],
    [ [ 'edit', 'de1', '--weight', '5', '--country', 'XX' ],    2, qr/--country 'XX'/ ],
    [ [ 'edit', 'de1', '--weight', '-5' ],                      2, qr/--weight '-5'/ ],
    [ [ 'edit', 'de1', '--lat', '5' ],                          2, qr/--lat and --lon go together/ ],
    [ [ 'edit', 'de1', '--prefix', '10.0.0.1/8' ],              2, qr/--prefix '10\.0\.0\.1\/8'/ ],
    [ [ 'edit', 'de1', '--other-countries', 'ZZ' ],             2, qr/--other-countries: 'ZZ'/ ],
    [ [ 'edit', 'de1', '--scope', 'planet' ],                   2, qr/--scope 'planet'/ ],
    [ [ 'edit', 'de1', '--max-size', 'big' ],                   2, qr/--max-size 'big'/ ],
    [ [ 'edit', 'de1', '--url', 'ftp://de1.mirror.test/' ],     2, qr/--url 'ftp:.*scheme must be http or https/ ],
    [ [ 'edit', 'de1', '--scan-url', 'sftp://u:pw@de1.mirror.test/' ], 2, qr/--scan-url 'sftp:\/\/u:\*\*\*\@.*must not hold a password/ ],
    [ [ 'edit', 'de1', '--scan-url', 'https://u:pw@de1.mirror.test/' ], 2, qr/--scan-url 'https:\/\/u:\*\*\*\@.*must not hold a user name or password/ ],
    [ [ 'edit', 'de1', '--lat', '1', '--lon', '1', '--no-coords' ], 2, qr/--no-coords contradicts --lat\/--lon/ ],
    [ [ 'edit', 'bad name', '--weight', '5' ],                  2, qr/'bad name': not a valid mirror name/ ],
    [ [ 'remove', 'nosuch' ],                                   1, qr/mirror nosuch: no such mirror/ ],
    [ [ 'enable', 'nosuch' ],                                   1, qr/mirror nosuch: no such mirror/ ],
    [ [ 'disable', 'nosuch' ],                                  1, qr/mirror nosuch: no such mirror/ ],
    [ [ 'remove' ],                                             2, qr/remove: the mirror's NAME is missing/ ],
    [ [ 'remove', 'de1', 'de2' ],                               2, qr/remove: one mirror NAME expected/ ],
    [ [ 'disable', 'bad name' ],                                2, qr/'bad name': not a valid mirror name/ ],
    [ [ 'show', 'nosuch' ],                                     1, qr/mirror nosuch: no such mirror/ ],
    [ [ 'show', 'bad name' ],                                   2, qr/mirror show: 'bad name': not a valid mirror name/ ],
    [ [ 'frob', 'de1' ],                                        2, qr/mirror: unknown command 'frob'/ ],
);
for my $c (@bad) {
    my ($args, $code, $re) = @$c;
    my $name = 'mirror ' . join(' ', map { length($_) > 20 ? substr($_, 0, 17) . '...' : "'$_'" } @$args);
    my $before = list_json();
    my ($rc, $out, $err) = $t->tool_run('mirror', @$args);
    is($rc, $code, "$name: exit $code");
    ok($err =~ /\A[^\n]*\n\z/ && $err =~ $re, "$name: one line on stderr naming the problem")
        or diag("stderr: $err");
    is(list_json(), $before, "$name: the database as it was");
}

# what add and edit store
{
    my ($rc, $out, $err) = $t->tool_run('mirror', 'add', 'reg', '--url', 'HTTP://Reg.Mirror.TEST/pub',
        '--url', 'https://reg.mirror.test/pub/', '--country', 'at', '--lat', '48.21', '--lon', '16.37',
        '--asn', 'AS64501', '--prefix', '192.0.2.64/26', '--prefix', '2001:db8:de01::/48',
        '--other-countries', 'ch, li', '--scope', 'country', '--weight', '0', '--max-size', '1G');
    is($rc, 0, 'mirror add with every option: exit 0') or diag($err);
    like($out, qr/^added mirror reg: country AT, continent EU, coordinates 48\.2100,16\.3700, asn 64501$/,
         'mirror add: says what it stored');
    my $m = show('reg');
    is_deeply([ @{$m}{qw(http_url https_url scan_url country continent lat lon asn weight max_size scope)}, $m->{enabled} ? 1 : 0 ],
              [ 'http://reg.mirror.test/pub/', 'https://reg.mirror.test/pub/', 'http://reg.mirror.test/pub/',
                'AT', 'EU', 48.21, 16.37, 64501, 0, 1073741824, 'country', 1 ],
              'stored normalised: URLs, codes, the continent of the country, AS, weight 0, 1G')
        or diag(explain($m));
    is_deeply($m->{prefixes}, [ '192.0.2.64/26', '2001:db8:de01::/48' ], 'the prefixes');
    is_deeply($m->{other_countries}, [ 'CH', 'LI' ], 'the other countries, upper case');

    ($rc, $out, $err) = $t->tool_run('mirror', 'edit', 'reg', '--country', 'US', '--weight', '7',
                                     '--prefix', '198.51.100.64/26');
    is($rc, 0, 'mirror edit: exit 0') or diag($err);
    my $e = show('reg');
    is_deeply([ @{$e}{qw(country continent weight scope max_size https_url)} ],
              [ 'US', 'NA', 7, 'country', 1073741824, 'https://reg.mirror.test/pub/' ],
              'mirror edit: the fields given change (the continent follows the country), the others stay');
    is_deeply($e->{prefixes}, [ '198.51.100.64/26' ], 'mirror edit --prefix replaces the prefixes');

    # enable / disable: the flag, and what explain makes of it
    $t->fixture('copy-all', 'reg');
    $t->fixture('all-up', 'reg');
    ($rc, $out) = $t->tool_run('mirror', 'disable', 'reg');
    is("$rc $out", "0 disabled mirror reg\n", 'mirror disable: exit 0, says so');
    ok(!show('reg')->{enabled}, 'disabled: enabled false');
    ($rc, $out) = $t->tool_run('explain', $FILE, '--ip', $ip{newyork}, '--json');
    is(excluded_as(JSON::PP->new->decode($out), 'reg'), 'disabled', 'disabled: explain excludes it as disabled');
    ($rc, $out) = $t->tool_run('mirror', 'enable', 'reg');
    is("$rc $out", "0 enabled mirror reg\n", 'mirror enable: exit 0, says so');
    ok(show('reg')->{enabled}, 'enabled: enabled true');
    ($rc, $out) = $t->tool_run('explain', $FILE, '--ip', $ip{newyork}, '--json');
    my $j = JSON::PP->new->decode($out);
    is("$j->{mirror} $j->{tier}", 'reg prefix', 'enabled: explain sends the New York client to it (its --prefix)');

    # remove: the mirror, and its copies, health and prefixes with it
    my $id = show('reg')->{id};
    my $rows = sub {
        my ($rc, $out, $err) = MSOutputs::run($t->dir, 'sqlite3', $t->db,
            join(' UNION ALL ', map { "SELECT '$_', count(*) FROM $_ WHERE mirror_id = $id" }
                 qw(mirror_files mirror_health mirror_prefixes)));
        return $rc ? "sqlite3: $err" : join ' ', map { (split /\|/)[1] } split /\n/, $out;
    };
    like($rows->(), qr/^[1-9]\d* [1-9]\d* [1-9]\d*$/, 'before remove: the mirror has copies, health and prefixes');
    my $n = @{ JSON::PP->new->decode(list_json())->{mirrors} };
    ($rc, $out, $err) = $t->tool_run('mirror', 'remove', 'reg');
    is("$rc $out", "0 removed mirror reg\n", 'mirror remove: exit 0, says so') or diag($err);
    ($rc, $out, $err) = $t->tool_run('mirror', 'show', 'reg');
    is($rc, 1, 'removed: mirror show exits 1');
    like($err, qr/^mirrorsel: mirror reg: no such mirror$/, 'removed: and says so');
    my @left = map { $_->{name} } @{ JSON::PP->new->decode(list_json())->{mirrors} };
    ok(@left == $n - 1 && !grep({ $_ eq 'reg' } @left), 'removed: not in mirror list');
    is($rows->(), '0 0 0', 'removed: its copies, health and prefixes are gone');
    ($rc, $out) = $t->tool_run('explain', $FILE, '--ip', $ip{newyork}, '--json');
    $j = JSON::PP->new->decode($out);
    ok(!grep({ $_->{name} eq 'reg' } @{ $j->{ranked} }, @{ $j->{excluded} }), 'removed: explain knows it no more');
    # added again under the same name: a new mirror, nothing of the old one
    $t->tool('mirror', 'add', 'reg', '--url', 'http://reg.mirror.test/pub/', '--country', 'US',
             '--lat', '40.71', '--lon', '-74.01', '--asn', '65000');
    $m = show('reg');
    is_deeply([ map { $_->{state} } map { values %$_ } values %{ $m->{health} } ], [ ('never') x 2 ],
              'added again: never probed') or diag(explain($m->{health}));
    ($rc, $out) = $t->tool_run('explain', $FILE, '--ip', $ip{newyork}, '--json');
    is(excluded_as(JSON::PP->new->decode($out), 'reg'), 'not-held', 'added again: holds nothing');
    $t->tool('mirror', 'remove', 'reg');
}

# --- locations filled from the geo databases ----------------------------------------

{
    my @cases = (
        # URL                          country cont. coordinates        asn    warning
        [ 'http://192.0.2.10/pub/',    'DE', 'EU', '52.5200,13.4000',   64501, undef ],
        [ 'https://198.51.100.200/',   'JP', 'AS', '35.6800,139.6900',  64520, undef ],
        [ 'http://[2001:db8:fa::10]:8080/pub/', 'FR', 'EU', '48.8600,2.3500', 64503, undef ],
        [ 'http://203.0.113.130/',     'CH', 'EU', '-',                 '-',   qr/coordinates, asn left unknown/ ],
        [ 'http://203.0.113.200/',     '-',  '-',  '-',                 '-',
          qr/country, continent, coordinates, asn left unknown \(203\.0\.113\.200 is not in the geo databases\)/ ],
    );
    my $i = 0;
    for my $c (@cases) {
        my ($url, $cc, $cont, $coords, $asn, $warn) = @$c;
        my $name = 'geo' . ++$i;
        my ($rc, $out, $err) = $t->tool_run('mirror', 'add', $name, '--url', $url);
        is($rc, 0, "mirror add --url $url, no location: exit 0") or diag($err);
        is($out, "added mirror $name: country $cc, continent $cont, coordinates $coords, asn $asn\n",
           "$url: the location of its address in the test geo database");
        my $m = show($name) || {};
        is(join(' ', map { $_ // '-' } @{$m}{qw(country continent lat lon asn)}),
           join(' ', $cc, $cont, $coords eq '-' ? ('-', '-') : (map { $_ + 0 } split /,/, $coords), $asn),
           "$url: stored so");
        if ($warn) {
            like($err, qr/^mirrorsel: warning: mirror $name: .*$warn/, "$url: a warning says what is unknown");
        }
        else {
            is($err, '', "$url: no warning");
        }
    }
    # given fields win; the rest is still filled
    my ($rc, $out, $err) = $t->tool_run('mirror', 'add', 'geo-asn', '--url', 'http://192.0.2.70/', '--asn', '7');
    like($out, qr/country DE, continent EU, coordinates 48\.1400,11\.5800, asn 7$/,
         '--asn given: kept; country and coordinates from the geo database');
    ($rc, $out, $err) = $t->tool_run('mirror', 'add', 'geo-cc', '--url', 'http://192.0.2.70/', '--country', 'FR');
    like($out, qr/country FR, continent EU, coordinates -, asn 64502$/,
         '--country disagreeing with the geo database: kept, coordinates left unknown');
    like($err, qr/place 192\.0\.2\.70 in DE, not FR/, 'and a warning says why');
    ($rc, $out, $err) = $t->tool_run('mirror', 'add', 'geo-ll', '--url', 'http://192.0.2.70/',
                                     '--lat', '1', '--lon', '2');
    like($out, qr/country DE, continent EU, coordinates 1\.0000,2\.0000, asn 64502$/,
         '--lat/--lon given: kept; country and AS from the geo database');
    # without geo databases nothing is looked up, and that is said
    ($rc, $out, $err) = bare({}, '--db', $t->db, 'mirror', 'add', 'geo-none', '--url', 'http://192.0.2.10/');
    is($rc, 0, 'no geo database: mirror add still exits 0');
    like($out, qr/country -, continent -, coordinates -, asn -$/, 'no geo database: the location stays unknown');
    like($err, qr/left unknown \(no geo database given/, 'no geo database: a warning says so');
    $t->tool('mirror', 'remove', $_) for map({ "geo$_" } 1 .. 5), qw(geo-asn geo-cc geo-ll geo-none);
}

# --- MIRRORSEL_DB, MIRRORSEL_GEOIP, MIRRORSEL_ASNDB ---------------------------------

# Run the tool with exactly these MIRRORSEL_* variables and no global option
# unless given in @args.
sub bare {
    my ($env, @args) = @_;
    local %ENV = %ENV;
    delete @ENV{qw(MIRRORSEL_DB MIRRORSEL_GEOIP MIRRORSEL_ASNDB)};
    %ENV = (%ENV, %$env);
    return $t->_run("$t->{build}/mirrorsel", @args);
}
{
    my $db = $t->db;
    my ($geo, $asn) = @{$t}{qw(geoip asndb)};
    my $none = $t->dir . '/none';
    my @ex = ('explain', $FILE, '--ip', $ip{berlin}, '--json');
    my ($rc0, $want) = $t->tool_run(@ex);
    my $list = list_json();

    my ($rc, $out, $err) = bare({ MIRRORSEL_DB => $db }, 'mirror', 'list', '--json');
    is("$rc $out", "0 $list", 'MIRRORSEL_DB: the same mirror list as --db');
    ($rc, $out, $err) = bare({ MIRRORSEL_DB => "$none.db" }, 'mirror', 'list', '--json');
    is($rc, 1, 'MIRRORSEL_DB naming no database: exit 1');
    like($err, qr/none\.db: does not exist/, 'MIRRORSEL_DB naming no database: that path is named');
    ($rc, $out, $err) = bare({ MIRRORSEL_DB => "$none.db" }, '--db', $db, 'mirror', 'list', '--json');
    is("$rc $out", "0 $list", '--db overrides MIRRORSEL_DB');
    ($rc, $out, $err) = bare({ MIRRORSEL_DB => "$none.db" }, 'mirror', 'list', '--json', '--db', $db);
    is("$rc $out", "0 $list", '--db after the command overrides MIRRORSEL_DB too');
    SKIP: {
        skip '/var/lib/mirrorsel/mirrorsel.db exists here', 1 if -e '/var/lib/mirrorsel/mirrorsel.db';
        ($rc, $out, $err) = bare({}, 'mirror', 'list');
        like("$rc $err", qr/^1 .*\/var\/lib\/mirrorsel\/mirrorsel\.db: does not exist/,
             'neither: the default database /var/lib/mirrorsel/mirrorsel.db');
    }
    ($rc, $out, $err) = bare({ MIRRORSEL_DB => "$none-init.db" }, 'init');
    ok($rc == 0 && -s "$none-init.db", 'MIRRORSEL_DB: init creates the database there') or diag($err);

    ($rc, $out, $err) = bare({ MIRRORSEL_DB => $db, MIRRORSEL_GEOIP => $geo, MIRRORSEL_ASNDB => $asn }, @ex);
    is("$rc $out", "0 $want", 'MIRRORSEL_GEOIP and MIRRORSEL_ASNDB: the same explain as --geoip and --asn-db');
    my $j = JSON::PP->new->decode($want);
    is("$j->{client}{country} $j->{client}{asn}", 'DE 64501', '(which located the client and its AS)');
    ($rc, $out, $err) = bare({ MIRRORSEL_DB => $db, MIRRORSEL_GEOIP => $geo }, @ex);
    $j = eval { JSON::PP->new->decode($out) } || {};
    ok($rc == 0 && $j->{client}{country} eq 'DE' && !defined $j->{client}{asn},
       'MIRRORSEL_GEOIP alone: located, no AS') or diag($err);
    ($rc, $out, $err) = bare({ MIRRORSEL_DB => $db, MIRRORSEL_ASNDB => $asn }, @ex);
    $j = eval { JSON::PP->new->decode($out) } || {};
    ok($rc == 0 && !defined $j->{client}{country} && ($j->{client}{asn} // 0) == 64501,
       'MIRRORSEL_ASNDB alone: the AS, no location') or diag($err);
    ($rc, $out, $err) = bare({ MIRRORSEL_DB => $db, MIRRORSEL_GEOIP => "$none.mmdb",
                               MIRRORSEL_ASNDB => "$none-asn.mmdb" }, '--geoip', $geo, '--asn-db', $asn, @ex);
    is("$rc $out", "0 $want", '--geoip and --asn-db override MIRRORSEL_GEOIP and MIRRORSEL_ASNDB');
    ($rc, $out, $err) = bare({ MIRRORSEL_DB => $db, MIRRORSEL_GEOIP => "$none.mmdb" }, @ex);
    ok($rc == 1 && $err =~ /none\.mmdb/, 'MIRRORSEL_GEOIP naming no file: exit 1, the file named') or diag($err);
    ($rc, $out, $err) = bare({ MIRRORSEL_DB => $db, MIRRORSEL_GEOIP => $geo, MIRRORSEL_ASNDB => "$none-asn.mmdb" },
                             @ex);
    ok($rc == 1 && $err =~ /none-asn\.mmdb/, 'MIRRORSEL_ASNDB naming no file: exit 1, the file named') or diag($err);

    # a database of the wrong kind is refused, not read as finding nothing
    ($rc, $out, $err) = bare({ MIRRORSEL_DB => $db }, '--geoip', $asn, @ex);
    ok($rc == 1 && $out eq '' && $err =~ /\A[^\n]*\n\z/
       && $err =~ /the GeoIP database \Q$asn\E is of type "GeoLite2-ASN": not a City or Country database/,
       '--geoip naming the ASN database: exit 1, one line naming file, type and the kind wanted') or diag($err);
    ($rc, $out, $err) = bare({ MIRRORSEL_DB => $db, MIRRORSEL_GEOIP => $geo, MIRRORSEL_ASNDB => $geo }, @ex);
    ok($rc == 1 && $err =~ /the ASN database \Q$geo\E is of type "GeoLite2-City": not an ASN database/,
       'MIRRORSEL_ASNDB naming the City database: exit 1, said') or diag($err);
    ($rc, $out, $err) = bare({ MIRRORSEL_DB => $db }, '--geoip', $asn, 'mirror', 'add', 'geo-wrong',
                             '--url', 'http://198.51.100.70/');
    ok($rc == 1 && $err =~ /not a City or Country database/, 'mirror add with the wrong kind of --geoip: exit 1')
        or diag($err);
    is(list_json(), $list, 'mirror add with the wrong kind of --geoip: the database as it was');

    ($rc, $out, $err) = bare({ MIRRORSEL_DB => $db, MIRRORSEL_GEOIP => $geo, MIRRORSEL_ASNDB => $asn },
                             'mirror', 'add', 'geo-env', '--url', 'http://198.51.100.70/');
    is($out, "added mirror geo-env: country US, continent NA, coordinates 40.7100,-74.0100, asn 64510\n",
       'mirror add locates the mirror with MIRRORSEL_GEOIP and MIRRORSEL_ASNDB') or diag($err);
    $t->tool('mirror', 'remove', 'geo-env');
}

# --- --version, --help ----------------------------------------------------------------

{
    my ($rc, $out, $err) = bare({}, '--version');
    is($rc, 0, '--version: exit 0');
    like($out, qr/\Amirrorsel \d+\.\d+\.\d+\b.*\n\z/, '--version: "mirrorsel X.Y.Z" on stdout, one line');
    is($err, '', '--version: nothing on stderr');
    ($rc, $out, $err) = bare({}, '--help');
    ok($rc == 0 && $out =~ /^usage: mirrorsel / && $out =~ /^ explain PATH/m, '--help: usage on stdout, exit 0');
    ($rc, $out, $err) = bare({});
    ok($rc == 2 && $out eq '' && $err =~ /^usage: mirrorsel /, 'no command: usage on stderr, exit 2');
    ($rc, $out, $err) = bare({}, 'frobnicate');
    ok($rc == 2 && $err =~ /^mirrorsel: unknown command 'frobnicate'/, 'unknown command: exit 2, named');
    # the tool's own options, before the command: "mirrorsel: " once
    ($rc, $out, $err) = bare({}, '--bogus', 'init');
    is("$rc $err", "2 mirrorsel: unknown option --bogus (see --help)\n", 'unknown option before the command: one prefix');
    ($rc, $out, $err) = bare({}, '-x', 'init');
    is("$rc $err", "2 mirrorsel: unknown option -x (see --help)\n", 'unknown short option before the command: one prefix');
    ($rc, $out, $err) = bare({}, '--db');
    is("$rc $err", "2 mirrorsel: option --db needs a value\n", 'a global option without its value: one prefix');
    ($rc, $out, $err) = bare({}, 'init', '--bogus');
    is("$rc $err", "2 mirrorsel: init: unknown option --bogus (see --help)\n", 'after the command: the command named');
}

# --- every option the parsers accept, in --help and README's synopsis -------------
#
# The options are read from the parsers themselves (each `longopts[]` table of
# src/, with the macros of src/*.h expanded); each must be accepted by the
# built tool, appear in its command's entry of `mirrorsel --help`, of README's
# synopsis and of `mirrorsel COMMAND --help`; and every option those three
# name must be one the parser accepts.
{
    my $src = "$MSTest::ROOT/src";
    my $slurp = sub { open my $fh, '<', $_[0] or die "$_[0]: $!"; local $/; scalar <$fh> };
    my %macro;
    for my $h (glob "$src/*.h") {
        my $text = $slurp->($h);
        while ($text =~ /^#define (MS_\w+_LONGOPTS)[ \t]*\\\n((?:[^\n]*\\\n)*[^\n]*)/mg) {
            my ($name, $body) = ($1, $2);
            $macro{$name} = [ $body =~ /\{\s*"([^"]+)"/g ];
        }
    }
    ok($macro{MS_GLOBAL_LONGOPTS} && @{ $macro{MS_GLOBAL_LONGOPTS} } == 3,
       'parsers: the global options macro read from src/ms_cmd.h');
    # the parsers, file by file, in order; and the command(s) each one serves
    my %serves = (
        'mirrorsel.c'         => [ 'GLOBAL' ],
        'ms_cmd_init.c'       => [ 'init+restore' ],
        'ms_cmd_mirror.c'     => [ 'mirror add+edit', 'mirror enable|disable|remove' ],
        'ms_cmd_mirror_show.c'=> [ 'mirror list+show' ],
        'ms_cmd_index.c'      => [ 'index' ],
        'ms_cmd_scan.c'       => [ 'scan' ],
        'ms_cmd_probe.c'      => [ 'probe' ],
        'ms_cmd_explain.c'    => [ 'explain' ],
    );
    my %parser;     # command => { option => 1 }
    for my $c (sort glob "$src/*.c") {
        my $file = $c =~ s{.*/}{}r;
        my @blocks;
        my $text = $slurp->($c);
        while ($text =~ /struct option longopts\[\] = \{(.*?)\n\s*\};/sg) {
            my $block = $1;
            my @names = $block =~ /\{\s*"([^"]+)"/g;
            push @names, @{ $macro{$_} || die "unknown macro $_" } for $block =~ /\b(MS_\w+_LONGOPTS)\b/g;
            push @blocks, { map { $_ => 1 } @names };
        }
        next unless @blocks || $serves{$file};
        is(scalar @blocks, scalar @{ $serves{$file} || [] },
           "parsers: $file has the option tables this test knows of") or next;
        @parser{ @{ $serves{$file} } } = @blocks;
    }
    # init and restore share one table (neither has options of its own)
    $parser{init} = $parser{restore} = $parser{'init+restore'};
    my %global = map { $_ => 1 } @{ $macro{MS_GLOBAL_LONGOPTS} }, 'help';
    my %edit_only = map { $_ => 1 } qw(no-fallback enabled clear-prefixes no-coords);

    # Split a synopsis into its commands' entries (continuation lines are
    # indented deeper; two commands may share a line, split at 3+ spaces).
    my $cmd_re = qr/init|restore|mirror (?:add|edit|enable\|disable\|remove|list|show)|index|scan|probe|explain/;
    my $entries = sub {
        my (%e, $cur);
        for my $line (split /\n/, $_[0]) {
            if ($line =~ /^ ($cmd_re)\b/) {
                for my $part (split /\s{3,}(?=(?:$cmd_re)\b)/, substr($line, 1)) {
                    ($cur) = $part =~ /^($cmd_re)\b/;
                    $e{$cur} .= "$part\n";
                }
            }
            elsif (defined $cur && $line =~ /^ {2,}\S/) { $e{$cur} .= "$line\n" }
            else { undef $cur }
        }
        return \%e;
    };
    my $has = sub { $_[0] =~ /(?:^|[\s\[|])--\Q$_[1]\E(?![\w-])/ };
    my $tokens = sub { $_[0] =~ /--([a-z][\w-]*)/g };

    my ($rc, $help) = bare({}, '--help');
    my ($global_help) = $help =~ /^(global options.*?)(?:\n\n|\z)/ms;
    my $readme = -e "$MSTest::ROOT/README.md" ? $slurp->("$MSTest::ROOT/README.md") : '';
    my ($synopsis) = $readme =~ /^## The `mirrorsel` tool\n\n```\n(.*?)```/ms;
    ok(defined $synopsis, "README.md: the tool's synopsis found");
    my %doc = ('mirrorsel --help' => $entries->($help), 'README' => $entries->($synopsis // ''));
    my $nodb = $t->dir . '/no/such/dir/x.db';      # nothing the probes below run opens a database

    # which entries show a parser's options, and how the tool is called for it
    my %where = (
        'init'                         => [ ['init'],                 ['init'] ],
        'restore'                      => [ ['restore'],              ['restore'] ],
        'mirror add+edit'              => [ ['mirror add', 'mirror edit'], ['mirror', 'add'] ],
        'mirror enable|disable|remove' => [ ['mirror enable|disable|remove'], ['mirror', 'remove'] ],
        'mirror list+show'             => [ ['mirror list', 'mirror show'], ['mirror', 'show'] ],
        'index'                        => [ ['index'],                ['index'] ],
        'scan'                         => [ ['scan'],                 ['scan'] ],
        'probe'                        => [ ['probe'],                ['probe'] ],
        'explain'                      => [ ['explain'],              ['explain'] ],
    );
    for my $p (sort keys %where) {
        my ($names, $call) = @{ $where{$p} };
        my $opts = $parser{$p} || {};
        my @own = grep { !$global{$_} } sort keys %$opts;
        my (@unknown, @bad_value);
        for my $o (sort keys %$opts) {
            next if $o eq 'help';
            my ($orc, $oout, $oerr) = bare({}, '--db', $nodb, @$call, "--$o");
            push @unknown, $o if $oerr =~ /unknown option/;
        }
        is("@unknown", '', "parser of $p: the built tool accepts every option of its table");
        my ($hrc, $own_help) = bare({}, @$call, '--help');
        for my $doc (sort keys %doc) {
            my @missing;
            for my $o (@own) {
                # the options of mirror add and edit: edit's own in edit's entry
                my @in = $p eq 'mirror add+edit' ? ($edit_only{$o} ? 'mirror edit' : 'mirror add')
                       : @$names;
                push @missing, $o if grep { !$has->($doc{$doc}{$_} // '', $o) } @in;
            }
            is("@missing", '', "$doc: every option of $p in its synopsis");
            my @phantom = grep { !$opts->{$_} } map { $tokens->($doc{$doc}{$_} // '') } @$names;
            is("@phantom", '', "$doc: every option its synopsis of $p names is accepted");
        }
        my @missing = grep { !$has->($own_help, $_) } @own;
        is("@missing", '', "mirrorsel @$call --help: every option of $p");
    }
    # every --help fits a terminal of 80 columns
    for my $call ([], ['init'], ['restore'], ['mirror', 'add'], ['mirror', 'show'], ['index'], ['scan'],
                  ['probe'], ['explain']) {
        my (undef, $help) = bare({}, @$call, '--help');
        my @wide = grep { length($_) > 80 } split /\n/, $help;
        ok(length($help) > 20 && !@wide, "mirrorsel @$call --help: no line over 80 columns")
            or diag(join "\n", @wide);
    }
    # the global options: in the usage line and the global section
    my @missing = grep { !$has->($global_help // '', $_) } sort keys %{ $parser{GLOBAL} || {} };
    is("@missing", '', 'mirrorsel --help: every global option in its global section');
    @missing = grep { !$has->($synopsis // '', $_) } @{ $macro{MS_GLOBAL_LONGOPTS} };
    is("@missing", '', 'README: every global option in the synopsis');
}

$t->finish;
