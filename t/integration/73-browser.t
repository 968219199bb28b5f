# The mirror list page in a real browser: headless Chromium loads
# FILE.mirrorlist from the module, renders it (DOM dump and screenshot) and
# logs no console message (no error, no CSP violation, no failed load). A
# control page with a console error proves the check can fail.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../support";
use Test::More;
use MSTest;
use MSOutputs;

my ($chromium) = grep { -x } map { ("$_/chromium", "$_/chromium-browser") } split /:/, $ENV{PATH};
plan skip_all => 'chromium is not installed (scripts/deps.sh installs Debian\'s chromium): '
    . 'the mirror list page is not checked in a browser' unless $chromium;

my $t = MSTest->new;
$t->standard_origin;
$t->init;
$t->mirror('de', MSTest::at('berlin'));
$t->mirror('fr', MSTest::at('paris'));
$t->mirror('evil', MSTest::at('tokyo'));
$t->index_origin;
for my $m (qw(de fr evil)) {
    $t->fixture('copy-all', $m);
    $t->fixture('all-up', $m);
}
MSOutputs::tamper($t, 'name', 'evil', q{<script>console.error("xss")</script><img src=x>});
$t->start;

my $n = 0;

# Load a URL in headless Chromium: (exit code, DOM, console lines, stderr).
sub browse {
    my ($url, @extra) = @_;
    my $dir = $t->dir . '/chromium-' . ++$n;
    mkdir $dir or die "$dir: $!";
    local $ENV{HOME} = $dir;
    my ($rc, $out, $err) = MSOutputs::run($dir, 'timeout', '-k', '10', '90', $chromium,
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--disable-dev-shm-usage', "--user-data-dir=$dir/profile",
        '--enable-logging=stderr', '--v=0', @extra, $url);
    my @console = grep { /CONSOLE|Refused to|Failed to load/ } split /\n/, $err;
    return ($rc, $out, \@console, $err, $dir);
}

# --- the control: a page with a console error is caught ----------------------------------
{
    my $bad = $t->dir . '/bad.html';
    open my $fh, '>', $bad or die;
    print $fh qq{<!DOCTYPE html><html lang="en"><title>x</title><script>console.error("control error")</script>};
    close $fh;
    my ($rc, $dom, $console, $err) = browse("file://$bad", '--dump-dom');
    is($rc, 0, 'control page: chromium ran') or diag($err);
    ok((grep { /control error/ } @$console), 'control page: its console error is seen')
        or diag($err);
}

# --- the mirror list ---------------------------------------------------------------------------
my $url = 'http://127.0.0.1:' . $t->port . MSTest::url('big/file.iso') . '.mirrorlist';
{
    my ($rc, $dom, $console, $err) = browse($url, '--dump-dom');
    is($rc, 0, 'mirror list: chromium loaded it') or diag($err);
    is_deeply($console, [], 'mirror list: no console message (error, CSP violation, failed load)')
        or diag(join "\n", @$console);
    like($dom, qr{<title>Mirrors of file\.iso</title>}, 'mirror list: rendered, with its title');
    my $rows = () = $dom =~ m{<tr[ >]}g;
    ok($rows >= 4, "mirror list: the table is in the DOM ($rows rows: a head and three mirrors)");
    unlike($dom, qr{<script|<img}i, 'mirror list: the hostile name made no element');
    like($dom, qr{&lt;script&gt;console\.error}, 'mirror list: the hostile name is text');
    for my $mirror ('de.mirror.test', 'fr.mirror.test') {
        like($dom, qr/\Q$mirror\E/, "mirror list: lists $mirror");
    }
}
{
    my $png = $t->dir . '/mirrorlist.png';
    my ($rc, $out, $console, $err) = browse($url, "--screenshot=$png", '--window-size=1280,900');
    ok(-s $png && -s $png > 10_000, 'mirror list: a screenshot of the rendered page (' . (-s $png // 0) . ' bytes)')
        or diag($err);
    is_deeply($console, [], 'screenshot run: no console message') or diag(join "\n", @$console);
}

$t->finish;
