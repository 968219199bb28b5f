# Hostile text end to end: a mirror whose name and base URL hold <, >, &, ",
# ' and non-ASCII (written into the database behind the tool's back, with
# t/support/ms_tamper), and an origin file named the same way. Every output
# carries them escaped for its context: headers (skipped or percent-encoded),
# Metalink XML, the HTML page, JSON; parsed back, the values are the same.
use strict;
use warnings;
use utf8;
use FindBin;
use lib "$FindBin::Bin/../support";
use Encode qw(encode_utf8 decode_utf8);
use Test::More;
use MSTest;
use MSOutputs;

my $t = MSTest->new;
$t->standard_origin;
my $rel = encode_utf8(q{esc/a<b>&"q'é.iso});       # bytes on disk and in the index
my $base_name = encode_utf8(q{a<b>&"q'é.iso});
$t->origin_file($rel, 30000);
$t->init;
$t->mirror('evil', MSTest::at('berlin'));
$t->mirror('m', MSTest::at('munich'));
$t->index_origin;
for my $m (qw(evil m)) {
    $t->fixture('copy-all', $m);
    $t->fixture('all-up', $m);
}
my $evil_name = q{ev<i>l&"'é};                      # characters
my $evil_url  = q{http://evil.mirror.test/p"a<t>h&'/};
MSOutputs::tamper($t, 'url', 'evil', $evil_url);
MSOutputs::tamper($t, 'name', 'evil', encode_utf8($evil_name));
$t->start;

my $berlin = MSTest::client('berlin');
my $origin = 'http://127.0.0.1:' . $t->port;
my $url = MSTest::url($rel);
my $esc_path = $rel;
$esc_path =~ s{([^A-Za-z0-9._~/-])}{sprintf '%%%02X', ord $1}ge;
my $evil_file_url = "$evil_url$esc_path";
my $M = \&MSOutputs::ml;
my $URLS = '/' . $M->('metalink') . '/' . $M->('file') . '/' . $M->('url');

# --- headers: the hostile mirror is left out, the path is percent-encoded ------------------
{
    my $r = $t->get($url, ip => $berlin);
    $t->redirects_to($r, 'm', undef, $rel, 'redirect with a hostile first mirror');
    my @links = MSOutputs::links($r);
    ok(scalar @links >= 2, 'Link headers present');
    for my $v (MSOutputs::all_hdr($r, 'Link'), MSTest::hdr($r, 'Location')) {
        my $inner = $v;
        $inner =~ s/^<([^>]*)>.*$/$1/;
        unlike($inner, qr/[<>"'&\s\x80-\xff]/, "header value carries no raw hostile byte: $v");
    }
    ok(!(grep { $_->{url} =~ /evil/ } @links), 'the mirror unfit for headers gets no Link');
    my ($d) = grep { $_->{rel} eq 'describedby' } @links;
    is($d->{url}, "$origin$url.meta4" =~ s/%([0-9a-f]{2})/%\U$1/gr, 'describedby: the percent-encoded .meta4 URL');
}

# --- Metalink: escaped, and parsed back to the same values -----------------------------------
{
    my $r = $t->get("$url.meta4", ip => $berlin);
    is($r->{status}, 200, 'meta4: 200');
    my $f = MSOutputs::meta4_ok($t, $r->{body}, 'hostile meta4');
    unlike($r->{body}, qr/<[bit]>|p"a|a<b/, 'meta4: no raw <b>, <i>, <t> or quote from the data');
    like($r->{body}, qr/p&quot;a&lt;t&gt;h&amp;(?:'|&#39;|&apos;)/, 'meta4: the URL escaped as XML text');
    my @urls = MSOutputs::xpath_list($f, $URLS);
    is($urls[0], $evil_file_url, 'meta4: first URL parses back to the hostile URL + encoded path');
    is($urls[-1], "$origin$url", 'meta4: the origin URL, percent-encoded');
    is(MSOutputs::xpath($f, 'string(/' . $M->('metalink') . '/' . $M->('file') . '/@name)'), $base_name,
       'meta4: the file name parses back unchanged');
}

# --- JSON -----------------------------------------------------------------------------------
{
    my $r = $t->get("$url?mirrorlist=json", ip => $berlin);
    is($r->{status}, 200, 'json: 200');
    unlike($r->{body}, qr/[<>]/, 'json: no raw < or > (written as \\u escapes)');
    my $doc = MSOutputs::json_ok($r->{body}, 'hostile json');
    is($doc->{mirrors}[0]{name}, $evil_name, 'json: the mirror name parses back unchanged');
    is($doc->{mirrors}[0]{base_url}, $evil_url, 'json: the base URL parses back unchanged');
    is($doc->{mirrors}[0]{url}, $evil_file_url, 'json: the file URL: base + percent-encoded path');
    is($doc->{file}{path}, decode_utf8($rel), 'json: the path parses back unchanged');
    is($doc->{file}{name}, decode_utf8($base_name), 'json: the name parses back unchanged');
}

# --- HTML ------------------------------------------------------------------------------------
{
    my $r = $t->get("$url.mirrorlist", ip => $berlin);
    is($r->{status}, 200, 'html: 200');
    my $b = $r->{body};
    unlike($b, qr/<[bit]>/, 'html: no <b>, <i> or <t> element born of the data');
    unlike($b, qr/p"a|ev<|a<b/, 'html: no raw hostile text');
    like($b, qr/ev&lt;i&gt;l&amp;(?:&quot;|")(?:&#39;|&#x27;|&apos;|')/, 'html: the mirror name escaped');
    like($b, qr/\Q@{[ encode_utf8('é') ]}\E/, 'html: non-ASCII as UTF-8');
    like($b, qr/a&lt;b&gt;&amp;/, 'html: the file name escaped');
    my $hf = $t->dir . '/page.html';
    open my $fh, '>:raw', $hf or die;
    print $fh $b;
    close $fh;
    my ($rc, $out, $err) = MSOutputs::run($t->dir, 'xmllint', '--html', '--noout', $hf);
    # libxml2's HTML parser knows HTML 4 only: HTML5 elements are no error.
    my @errs = grep { /error/ && !/Tag (?:main|section|time|footer|header|nav) invalid/ } split /\n/, $err;
    ok(!@errs, 'html: xmllint --html reports no parse error but unknown HTML5 tags')
        or diag(join "\n", @errs);
    my $names = MSOutputs::xpath_html($hf, 'string(//tbody/tr[1])');
    like(decode_utf8($names // ''), qr/\Q$evil_name\E/, 'html: the first row reads as the hostile name, as text');
}

# --- .sha256 ---------------------------------------------------------------------------------
{
    my $r = $t->get("$url.sha256", ip => $berlin);
    is($r->{body}, MSOutputs::hex_of($t->origin_bytes($rel)) . "  $base_name\n",
       '.sha256: the hash and the name as sha256sum writes them');
}

$t->finish(allow => [ qr/MS00009/ ]);
