# MSOutputs — checks of the module's documents with outside tools, shared by
# the output tests: xmllint (well-formedness, RELAX NG of RFC 5854, XPath),
# JSON::PP, and the expected digest values of origin bytes.
#
#   my $f = MSOutputs::meta4_ok($t, $body, 'name');   # well-formed + valid
#   my @urls = MSOutputs::xpath_list($f, MSOutputs::ml('file') . '/' . MSOutputs::ml('url'));
#   my $doc = MSOutputs::json_ok($body, 'name');
package MSOutputs;

use strict;
use warnings;
use Digest::SHA qw(sha256 sha256_hex);
use File::Basename qw(dirname);
use File::Spec;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use POSIX qw(_exit);
use Test::More;

our $NS = 'urn:ietf:params:xml:ns:metalink';
our $RNG = dirname(__FILE__) . '/metalink4.rng';

# Run a command without a shell, its output kept in files in $dir; returns
# (exit code, stdout, stderr). $dir may be [ $dir, $cwd ] to run it in $cwd.
sub run {
    my ($dir, @cmd) = @_;
    my $cwd;
    ($dir, $cwd) = @$dir if ref $dir;
    my ($out, $err) = ("$dir/run.out", "$dir/run.err");
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        chdir $cwd or _exit(126) if defined $cwd;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>', $err;
        exec @cmd or _exit(127);
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    return ($rc, _slurp($out), _slurp($err));
}

sub _slurp {
    open my $fh, '<:raw', $_[0] or return '';
    local $/;
    return scalar(<$fh>) // '';
}

# Run t/support/ms_tamper on the harness's database (what the tool refuses
# to write: hostile names, unchecked URLs, a forgotten hash); dies on failure.
sub tamper {
    my ($t, @args) = @_;
    my $build = File::Spec->rel2abs($ENV{MS_BUILD} || 'build', $MSTest::ROOT);
    my ($rc, $out, $err) = run($t->dir, "$build/t/ms_tamper", $t->db, @args);
    die "ms_tamper @args: exit $rc: $err" if $rc;
}

# An XPath step for a Metalink element, namespace included.
sub ml { "*[namespace-uri()='$NS' and local-name()='$_[0]']" }

my $n = 0;

# Write the body to a file, check it is well-formed XML and valid Metalink 4
# (RELAX NG of RFC 5854 with xmllint). Returns the file's path.
sub meta4_ok {
    my ($t, $body, $name) = @_;
    my $f = $t->dir . '/doc' . ++$n . '.meta4';
    open my $fh, '>:raw', $f or die "$f: $!";
    print $fh $body;
    close $fh;
    my ($rc, $out, $err) = run($t->dir, 'xmllint', '--noout', $f);
    is($rc, 0, "$name: well-formed XML (xmllint)") or diag($err);
    ($rc, $out, $err) = run($t->dir, 'xmllint', '--noout', '--relaxng', $RNG, $f);
    is($rc, 0, "$name: valid Metalink 4 (RFC 5854 RELAX NG)") or diag($err);
    is(xpath($f, 'namespace-uri(/*)'), $NS, "$name: root in namespace $NS");
    is(xpath($f, 'local-name(/*)'), 'metalink', "$name: root element metalink");
    return $f;
}

# The string value of an XPath expression on a file (xmllint --xpath).
sub xpath {
    my ($f, $expr) = @_;
    my ($rc, $out) = run(dirname($f), 'xmllint', '--xpath', $expr, $f);
    return undef if $rc != 0;
    $out =~ s/\n\z//;             # xmllint ends its answer with one
    return $out;
}

# The same for an HTML file (xmllint --html).
sub xpath_html {
    my ($f, $expr) = @_;
    my ($rc, $out) = run(dirname($f), 'xmllint', '--html', '--xpath', $expr, $f);
    return undef if $rc != 0;
    $out =~ s/\n\z//;
    return $out;
}

# The string values of the nodes an XPath selects, in document order.
sub xpath_list {
    my ($f, $expr) = @_;
    my $count = xpath($f, "count($expr)") // 0;
    return map { xpath($f, "string(($expr)[$_])") } 1 .. $count;
}

sub json_ok {
    my ($body, $name) = @_;
    my $doc = eval { JSON::PP->new->utf8->decode($body) };
    ok($doc && ref $doc eq 'HASH', "$name: parses as a JSON object (JSON::PP)")
        or diag($@ || substr($body, 0, 300));
    return $doc || {};
}

# Expected header values for bytes.
sub digest      { 'SHA-256=' . encode_base64(sha256($_[0]), '') }
sub repr_digest { 'sha-256=:' . encode_base64(sha256($_[0]), '') . ':' }
sub hex_of      { sha256_hex($_[0]) }

# All values of a response header, in order.
sub all_hdr {
    my ($r, $name) = @_;
    return @{ $r->{headers}{ lc $name } || [] };
}

# Link header values split into { url, params => { rel, pri, geo, type } }.
sub links {
    my ($r) = @_;
    my @l;
    for my $v (all_hdr($r, 'Link')) {
        for my $one (split /,\s*(?=<)/, $v) {
            next unless $one =~ /^<([^>]*)>\s*(.*)$/;
            my ($url, $rest) = ($1, $2);
            my %p;
            for my $kv (split /\s*;\s*/, $rest) {
                next unless length $kv;
                my ($k, $val) = split /=/, $kv, 2;
                $val //= '';
                $val =~ s/^"(.*)"$/$1/;
                $p{ lc $k } = $val;
            }
            push @l, { url => $url, %p };
        }
    }
    return @l;
}

1;
