# MSTest — the integration tests' harness: an origin tree, a mirrorsel
# database, and a real httpd (/usr/sbin/apache2) running the built module.
#
# Each test file makes its own world in a directory of its own under t/tmp/,
# so test files can run in parallel. httpd is started in the foreground of a
# forked child (so its pid is known), listens on 127.0.0.1 only, on ports
# chosen free, and is stopped by that pid, also when the test dies. The
# configuration loads exactly conf/mirrorsel.load and conf/mirrorsel.conf,
# with the Defines they expect set first.
#
#   my $t = MSTest->new;                       # workdir, geo databases
#   $t->standard_origin;                        # the files the tests use
#   $t->init;                                   # mirrorsel init
#   $t->mirror('de', MSTest::at('berlin'));     # mirrorsel mirror add
#   $t->index_origin;                           # mirrorsel index
#   $t->fixture('copy-all', 'de'); $t->fixture('all-up', 'de');   # ms_fixture
#   $t->start;
#   my $r = $t->get('/pub/big/file.iso', ip => '192.0.2.10');
#   $t->redirects_to($r, 'de', 'country', 'big/file.iso', 'Berlin client');
#   $t->finish;                                 # stop, check the error log, done_testing
#
# Scan and probe results are written by build/t/ms_fixture through the
# core's own functions (t/support/ms_fixture.c), never by SQL here. Client
# addresses reach httpd in X-Forwarded-For (mod_remoteip); the geo databases
# are scripts/mkmmdb.pl's, whose table %CLIENT and %CITY below follow.
# MSTest::MirrorServer (at the end) is a real mirror: a plain httpd serving a
# copy of the origin over http and https.
#
# Environment: MS_BUILD (build directory, default "build"), MS_TMP (default
# t/tmp), MS_KEEP=1 keeps the work directory.
package MSTest;

use strict;
use warnings;
use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname basename);
use File::Path qw(make_path remove_tree);
use File::Spec;
use IO::Socket::IP;
use IO::Select;
use POSIX qw(WNOHANG _exit);
use Test::More;
use Time::HiRes qw(sleep time);

our $ROOT = abs_path(File::Spec->catdir(dirname(__FILE__), '..', '..'));

my @LIVE;    # harnesses whose httpd may be running, for END and signals

# Defaults of the standard world ------------------------------------------

our $URI = '/pub';

sub new {
    my ($class, %o) = @_;
    my $name = $o{name} || basename($0, '.t');
    $name =~ s/[^A-Za-z0-9_.-]/_/g;
    my $build = $ENV{MS_BUILD} || 'build';
    $build = File::Spec->rel2abs($build, $ROOT);
    my $tmp = $ENV{MS_TMP} ? File::Spec->rel2abs($ENV{MS_TMP}, $ROOT) : "$ROOT/t/tmp";
    my $dir = "$tmp/$name";
    remove_tree($dir) if -e $dir;
    make_path("$dir/pub", "$dir/htdocs", "$dir/run", "$dir/logs");
    my $self = bless {
        name    => $name,
        build   => $build,
        tmp     => $tmp,
        dir     => $dir,
        origin  => "$dir/pub",
        db      => "$dir/mirrorsel.db",
        geoip   => "$tmp/geo/test-city.mmdb",
        asndb   => "$tmp/geo/test-asn.mmdb",
        mirrors => {},
        files   => {},
        pid     => undef,
    }, $class;
    for my $bin ("$build/mirrorsel", "$build/mod_mirrorsel.so", "$build/t/ms_fixture") {
        croak "MSTest: $bin is missing: run make first" unless -e $bin;
    }
    $self->_geo;
    $self->_ssl_cert;
    return $self;
}

sub dir    { $_[0]{dir} }
sub origin { $_[0]{origin} }
sub db     { $_[0]{db} }
sub port   { $_[0]{port} }

# Shared, generated once per run (scripts/run-tests.sh makes them first; a
# single test run by hand makes them itself).
sub _geo {
    my ($self) = @_;
    return if -s $self->{geoip} && -s $self->{asndb};
    my $out = dirname($self->{geoip});
    make_path($out);
    system($^X, "$ROOT/scripts/mkmmdb.pl", $out) == 0
        or croak "MSTest: scripts/mkmmdb.pl failed";
}

sub _ssl_cert {
    my ($self) = @_;
    my $d = "$self->{tmp}/ssl";
    $self->{cert} = "$d/cert.pem";
    $self->{key}  = "$d/key.pem";
    return if -s $self->{cert} && -s $self->{key};
    make_path($d);
    my $tmpk = "$d/key.pem.$$";
    my $tmpc = "$d/cert.pem.$$";
    open my $olderr, '>&', \*STDERR or croak "MSTest: dup: $!";
    open STDERR, '>', '/dev/null';
    my $rc = system('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
           '-subj', '/CN=127.0.0.1', '-keyout', $tmpk, '-out', $tmpc,
           '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
           '-addext', 'basicConstraints=critical,CA:FALSE');
    open STDERR, '>&', $olderr;
    $rc == 0 or croak 'MSTest: openssl could not make a test certificate';
    rename $tmpk, $self->{key};
    rename $tmpc, $self->{cert};
}

# Origin tree ---------------------------------------------------------------

# The bytes of a test file: deterministic, distinct per path.
sub content_for {
    my ($rel, $size) = @_;
    my $seed = "mod_mirrorsel test file $rel\n";
    my $s = $seed x (int($size / length($seed)) + 1);
    return substr($s, 0, $size);
}

# Write ROOT/$rel. $what is a byte count or the content itself (a ref to a
# string). mtime defaults to a fixed past time, so precision tests can reason.
sub origin_file {
    my ($self, $rel, $what, %o) = @_;
    my $path = "$self->{origin}/$rel";
    make_path(dirname($path));
    my $data = ref $what ? $$what : content_for($rel, $what);
    open my $fh, '>:raw', $path or croak "MSTest: $path: $!";
    print $fh $data;
    close $fh or croak "MSTest: $path: $!";
    my $mtime = exists $o{mtime} ? $o{mtime} : 1700000000;
    utime $mtime, $mtime, $path if defined $mtime;
    $self->{files}{$rel} = $data;
    return $path;
}

sub origin_bytes {
    my ($self, $rel) = @_;
    my $path = "$self->{origin}/$rel";
    open my $fh, '<:raw', $path or croak "MSTest: $path: $!";
    local $/;
    my $d = <$fh>;
    return $d;
}

# The files every test world has: sizes around MirrorSelMinSize (4096),
# directories, names that need escaping, names the FileMask excludes.
our @STANDARD = (
    [ 'big/file.iso'             => 65536 ],
    [ 'big/other.iso'            => 40000 ],
    [ 'big/exactly-min.bin'      => 4096 ],
    [ 'big/below-min.bin'        => 4095 ],
    [ 'small/readme.txt'         => 100 ],
    [ 'dir/sub/deep.tar.gz'      => 20000 ],
    [ 'names/with space & more+plus%percent.iso' => 8192 ],
    [ "names/caf\xc3\xa9.iso"    => 8192 ],
);

sub standard_origin {
    my ($self) = @_;
    $self->origin_file(@$_) for @STANDARD;
    make_path("$self->{origin}/emptydir");
    return $self;
}

# The tool and the fixture -----------------------------------------------

sub _run {
    my ($self, @cmd) = @_;
    my $out = "$self->{dir}/cmd.out";
    my $err = "$self->{dir}/cmd.err";
    my $pid = fork // croak "MSTest: fork: $!";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>', $err;
        exec @cmd or _exit(127);
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    $rc = 128 + ($? & 127) if $? & 127;
    return ($rc, _slurp($out), _slurp($err));
}

sub _slurp {
    my ($f) = @_;
    open my $fh, '<:raw', $f or return '';
    local $/;
    my $d = <$fh>;
    return defined $d ? $d : '';
}

# Run `mirrorsel --db … --geoip … --asn-db … ARGS`; returns (rc, out, err).
sub tool_run {
    my ($self, @args) = @_;
    return $self->_run("$self->{build}/mirrorsel", '--db', $self->{db},
                       '--geoip', $self->{geoip}, '--asn-db', $self->{asndb}, @args);
}

# The same, dying (with the tool's stderr) unless it exits 0. Returns stdout.
sub tool {
    my ($self, @args) = @_;
    my ($rc, $out, $err) = $self->tool_run(@args);
    croak "MSTest: mirrorsel @args: exit $rc: $err" if $rc;
    return $out;
}

sub init  { $_[0]->tool('init'); $_[0] }
sub index_origin { $_[0]->tool('index', $_[0]{origin}); $_[0] }

# A world where each named mirror (registered already) holds every file
# fresh and is up: the origin indexed, then copy-all and all-up for each.
sub serving {
    my ($self, @names) = @_;
    $self->index_origin;
    for my $m (@names) {
        $self->fixture('copy-all', $m);
        $self->fixture('all-up', $m);
    }
    return $self;
}

sub fixture {
    my ($self, @args) = @_;
    my ($rc, $out, $err) = $self->_run("$self->{build}/t/ms_fixture", $self->{db}, @args);
    croak "MSTest: ms_fixture @args: exit $rc: $err" if $rc;
    return $self;
}

# Register a mirror. Options: http => 0|1 (default 1), https => 0|1 (default
# 1), http_url, https_url (instead of the made-up ones), country, continent, lat, lon, asn, prefix => [..], weight, max_size,
# scope, other => 'AT,CH', fallback, disabled. Every location field is given,
# so nothing is looked up by host name. URLs: http(s)://NAME.mirror.test/pub/
sub mirror {
    my ($self, $name, %o) = @_;
    my $host = lc($name) . '.mirror.test';
    my %url;
    $url{http}  = $o{http_url}  // "http://$host/pub/"  if $o{http}  // 1;
    $url{https} = $o{https_url} // "https://$host/pub/" if $o{https} // 1;
    my @a = ('mirror', 'add', $name);
    push @a, '--url', $url{$_} for grep { $url{$_} } qw(http https);
    push @a, '--country', $o{country} if defined $o{country};
    push @a, '--continent', $o{continent} if defined $o{continent};
    push @a, '--lat', $o{lat}, '--lon', $o{lon} if defined $o{lat};
    push @a, '--asn', $o{asn} // 65000;
    push @a, '--prefix', $_ for @{ $o{prefix} || [] };
    push @a, '--weight', $o{weight} if defined $o{weight};
    push @a, '--max-size', $o{max_size} if defined $o{max_size};
    push @a, '--scope', $o{scope} if defined $o{scope};
    push @a, '--other-countries', $o{other} if defined $o{other};
    push @a, '--fallback' if $o{fallback};
    push @a, '--disabled' if $o{disabled};
    $self->tool(@a);
    $self->{mirrors}{$name} = \%url;
    return $self;
}

# Cities of scripts/mkmmdb.pl, for mirrors placed there.
our %CITY = (
    berlin   => [ 'DE', 'EU', 52.52, 13.40 ],
    munich   => [ 'DE', 'EU', 48.14, 11.58 ],
    paris    => [ 'FR', 'EU', 48.86, 2.35 ],
    vienna   => [ 'AT', 'EU', 48.21, 16.37 ],
    london   => [ 'GB', 'EU', 51.51, -0.13 ],
    newyork  => [ 'US', 'NA', 40.71, -74.01 ],
    la       => [ 'US', 'NA', 34.05, -118.24 ],
    tokyo    => [ 'JP', 'AS', 35.68, 139.69 ],
    sydney   => [ 'AU', 'OC', -33.87, 151.21 ],
    saopaulo => [ 'BR', 'SA', -23.55, -46.63 ],
    copenhagen => [ 'DK', 'EU', 55.68, 12.57 ],
);

sub at {
    my ($city) = @_;
    my $c = $CITY{$city} or croak "MSTest: unknown city $city";
    return (country => $c->[0], continent => $c->[1], lat => $c->[2], lon => $c->[3]);
}

# Clients of scripts/mkmmdb.pl's table.
our %CLIENT = (
    berlin      => '192.0.2.10',     # DE, AS64501
    berlin_pfx  => '192.0.2.40',     # DE, AS64501, inside 192.0.2.32/27
    munich      => '192.0.2.70',     # DE, AS64502
    paris       => '192.0.2.130',    # FR, AS64503
    vienna      => '192.0.2.200',    # AT, AS64501
    london      => '198.51.100.10',  # GB, AS64504
    newyork     => '198.51.100.70',  # US, AS64510
    la          => '198.51.100.130', # US, AS64510
    tokyo       => '198.51.100.200', # JP, AS64520
    sydney      => '203.0.113.10',   # AU, AS64530
    saopaulo    => '203.0.113.70',   # BR, AS64540
    swiss       => '203.0.113.130',  # CH, no coordinates, no ASN
    nowhere     => '203.0.113.200',  # in no database
    berlin6     => '2001:db8:de::10',
    munich6     => '2001:db8:de01::10',
    paris6      => '2001:db8:fa::10',
    newyork6    => '2001:db8:a5::10',
    tokyo6      => '2001:db8:1a::10',
    sydney6     => '2001:db8:a0::10',
    nowhere6    => '2001:db8:ff::10',
);

sub client {
    my ($name) = @_;
    return $CLIENT{$name} // croak "MSTest: unknown client $name";
}

# httpd ---------------------------------------------------------------------

sub _free_port {
    my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0,
                                Proto => 'tcp', Listen => 1, ReuseAddr => 0)
        or croak "MSTest: no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub _asan_preload {
    my ($self) = @_;
    my $ldd = `ldd '$self->{build}/mod_mirrorsel.so' 2>/dev/null`;
    return undef unless $ldd =~ /libasan/;
    my @libs;
    for my $lib (qw(libasan.so libubsan.so)) {
        next unless $ldd =~ /\Q$lib\E/;
        chomp(my $p = `gcc -print-file-name=$lib`);
        push @libs, $p if $p && -e $p;
    }
    return join ':', @libs;
}

# Whether the module under test is built with AddressSanitizer: memory
# figures then measure its quarantine of freed blocks, not the module.
sub sanitized { defined $_[0]->_asan_preload }

our @MODULES = qw(mpm_event authz_core authz_host mime dir autoindex alias env
                  setenvif headers remoteip socache_shmcb ssl status);

sub _conf {
    my ($self, %o) = @_;
    my $d = $self->{dir};
    my $moddir = '/usr/lib/apache2/modules';
    my $conf = '';
    $conf .= "# written by t/support/MSTest.pm for $self->{name}\n";
    $conf .= "ServerRoot \"$d\"\n";
    $conf .= "ServerName 127.0.0.1\n";
    $conf .= "DefaultRuntimeDir \"$d/run\"\n";
    $conf .= "PidFile \"$d/run/httpd.pid\"\n";
    $conf .= "ErrorLog \"$d/logs/error_log\"\n";
    $conf .= "LogLevel " . ($o{loglevel} || 'info') . "\n";
    # $o{mpm}: event (the default), worker or prefork; the same two
    # children (prefork: up to four, one request each) in every case.
    my $mpm = $o{mpm} || 'event';
    croak "MSTest: unknown MPM $mpm" unless $mpm =~ /^(?:event|worker|prefork)$/;
    for my $m (map { $_ eq 'mpm_event' ? "mpm_$mpm" : $_ } @MODULES) {
        $conf .= "LoadModule ${m}_module $moddir/mod_$m.so\n";
    }
    $conf .= $mpm eq 'prefork' ? <<"PREFORK" : <<"THREADED";
StartServers 2
ServerLimit 4
MaxRequestWorkers 4
MinSpareServers 2
MaxSpareServers 4
PREFORK
StartServers 2
ServerLimit 2
ThreadsPerChild 10
MaxRequestWorkers 20
MinSpareThreads 5
MaxSpareThreads 20
THREADED
    $conf .= <<"EOF";
Timeout 20
KeepAlive On
GracefulShutdownTimeout 5
TypesConfig /etc/mime.types
Listen 127.0.0.1:$self->{port}
Listen 127.0.0.1:$self->{sslport} https
${\ ($self->{v6} ? "Listen [::1]:$self->{port}" : '') }
DocumentRoot "$d/htdocs"
<Directory />
    Options None
    AllowOverride None
    Require all denied
</Directory>
<Directory "$d/htdocs">
    Require all granted
</Directory>
RemoteIPHeader X-Forwarded-For
RemoteIPInternalProxy 127.0.0.1 ::1
LogFormat "%a\\t%>s\\t%U%q\\t%{MIRRORSEL_RESULT}e\\t%{MIRRORSEL_MIRROR}e\\t%{MIRRORSEL_TIER}e\\t%{MIRRORSEL_COUNTRY}e\\t%{MIRRORSEL_ASN}e\\t%{Location}o" mstest
CustomLog "$d/logs/access_log" mstest
SSLSessionCache none
SSLRandomSeed startup builtin
EOF
    my %def = (
        MIRRORSEL_MODULE => "$self->{build}/mod_mirrorsel.so",
        MIRRORSEL_DB     => $o{db}    // $self->{db},
        MIRRORSEL_GEOIP  => $o{geoip} // $self->{geoip},
        MIRRORSEL_ASNDB  => $o{asndb} // $self->{asndb},
        MIRRORSEL_ROOT   => $self->{origin},
        MIRRORSEL_URI    => $URI,
    );
    $conf .= "Define $_ \"$def{$_}\"\n" for sort keys %def;
    $conf .= "Include \"$ROOT/conf/mirrorsel.load\"\n";
    $conf .= "Include \"$ROOT/conf/mirrorsel.conf\"\n";
    $conf .= $o{extra} if $o{extra};
    $conf .= <<"EOF";
<VirtualHost 127.0.0.1:$self->{sslport}>
    ServerName 127.0.0.1
    SSLEngine on
    SSLCertificateFile "$self->{cert}"
    SSLCertificateKeyFile "$self->{key}"
</VirtualHost>
EOF
    return $conf;
}

# Start httpd. Options: db, geoip, asndb (paths, to point at missing or
# broken files), extra (configuration text appended), loglevel,
# expect_fail (return 0 instead of dying when httpd does not come up).
sub start {
    my ($self, %o) = @_;
    # A port found free may be taken by a parallel test before httpd binds
    # it: try again with other ports.
    for my $try (1 .. 4) {
        my $r = $self->_start_once(%o, _last_try => $try == 4);
        return $r unless defined $r && $r eq 'busy';
    }
}

# A configuration httpd must refuse: starting with $extra added fails, and
# what httpd printed meanwhile matches $why. Two assertions named $name.
sub start_refused {
    my ($self, $extra, $why, $name) = @_;
    my $out = "$self->{dir}/logs/httpd.out";
    my $before = -s $out // 0;
    is($self->start(extra => $extra, expect_fail => 1), 0, "$name: httpd refuses to start");
    open my $fh, '<', $out or croak "MSTest: $out: $!";
    seek $fh, $before, 0;
    my $said = do { local $/; <$fh> } // '';
    like($said, $why, '  and says why');
}

sub _start_once {
    my ($self, %o) = @_;
    croak 'MSTest: httpd already running' if $self->{pid};
    $self->{port}    = _free_port();
    $self->{sslport} = _free_port();
    $self->{sslport} = _free_port() while $self->{sslport} == $self->{port};
    my $confpath = "$self->{dir}/httpd.conf";
    open my $fh, '>', $confpath or croak "MSTest: $confpath: $!";
    print $fh $self->_conf(%o);
    close $fh;
    $self->{conf_opts} = \%o;
    my $preload = $self->_asan_preload;
    my $pid = fork // croak "MSTest: fork: $!";
    if (!$pid) {
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$self->{dir}/logs/httpd.out";
        open STDERR, '>>', "$self->{dir}/logs/httpd.out";
        if ($preload) {
            $ENV{LD_PRELOAD} = $preload;
            $ENV{ASAN_OPTIONS} = 'detect_leaks=0:abort_on_error=0';
        }
        $ENV{LANG} = 'C';
        exec '/usr/sbin/apache2', '-d', $self->{dir}, '-f', $confpath, '-DFOREGROUND'
            or _exit(127);
    }
    $self->{pid} = $pid;
    push @LIVE, $self;
    my $deadline = time + 15;
    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            $self->{pid} = undef;
            my $why = _slurp("$self->{dir}/logs/httpd.out") . _tail("$self->{dir}/logs/error_log");
            return 'busy' if $why =~ /Address already in use/ && !$o{_last_try};
            return 0 if $o{expect_fail};
            croak "MSTest: httpd exited at start-up: $why";
        }
        my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $self->{port},
                                    Proto => 'tcp', Timeout => 1);
        if ($s) {
            close $s;
            return 1;
        }
        sleep 0.05;
    }
    $self->stop;
    croak 'MSTest: httpd did not come up in 15 s';
}

sub _tail {
    my ($f) = @_;
    my $d = _slurp($f);
    return length($d) > 4000 ? substr($d, -4000) : $d;
}

# The pids of the running httpd's children (from /proc).
sub children {
    my ($self) = @_;
    my $ppid = $self->{pid} or return ();
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        push @kids, $1 if $line =~ /^(\d+) \(.*\) \S (\d+) / && $2 == $ppid;
    }
    return @kids;
}

sub running {
    my ($self) = @_;
    return 0 unless $self->{pid};
    return waitpid($self->{pid}, WNOHANG) == 0;
}

# Stop httpd by its pid: a graceful stop (SIGWINCH: connections still in
# their lingering close are finished, so an immediate stop racing them does
# not log errors of its own), then SIGTERM, then SIGKILL to its process group.
sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    $self->{pid} = undef;
    @LIVE = grep { $_ != $self } @LIVE;
    for my $step ([ 'WINCH', 8 ], [ 'TERM', 5 ]) {
        my ($sig, $secs) = @$step;
        kill $sig, $pid;
        my $deadline = time + $secs;
        while (time < $deadline) {
            my $w = waitpid($pid, WNOHANG);
            return if $w == $pid || $w == -1;
            sleep 0.05;
        }
    }
    kill 'KILL', -$pid;
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

sub restart {
    my ($self, %o) = @_;
    $self->stop;
    return $self->start(%o);
}

sub _cleanup_all {
    $_->stop for @LIVE;
}

END {
    my $rc = $?;
    _cleanup_all();
    $? = $rc;
}
for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub { _cleanup_all(); $SIG{$sig} = 'DEFAULT'; kill $sig, $$; };
}

# HTTP client ------------------------------------------------------------------

# Send one request with the raw target $path (sent as given: the hostile path
# tests rely on that) and return
#   { status, reason, head (raw header block), headers {lc name => [values]},
#     body, error }
# Options: ip (X-Forwarded-For), ua, method, headers => [name, value, …],
# ssl => 1, timeout.
sub request {
    my ($self, $path, %o) = @_;
    my $method = $o{method} || 'GET';
    my $port = $o{ssl} ? $self->{sslport} : $self->{port};
    my $sock;
    if ($o{ssl}) {
        require IO::Socket::SSL;
        $sock = IO::Socket::SSL->new(
            PeerHost => '127.0.0.1', PeerPort => $port, Timeout => $o{timeout} || 20,
            SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
            SSL_hostname => '',
        );
    }
    else {
        $sock = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
                                    Proto => 'tcp', Timeout => $o{timeout} || 20);
    }
    return { status => 0, error => "connect: $! " . ($o{ssl} ? IO::Socket::SSL::errstr() : ''),
             headers => {}, head => '', body => '' } unless $sock;
    my $req = "$method $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nConnection: close\r\n";
    $req .= "X-Forwarded-For: $o{ip}\r\n" if defined $o{ip};
    $req .= 'User-Agent: ' . ($o{ua} // 'mstest/1.0') . "\r\n";
    my @h = @{ $o{headers} || [] };
    while (my ($k, $v) = splice @h, 0, 2) {
        $req .= "$k: $v\r\n";
    }
    $req .= "\r\n";
    $sock->syswrite($req);
    my $raw = '';
    my $deadline = time + ($o{timeout} || 20);
    my $sel = IO::Select->new($sock);
    while (time < $deadline) {
        if (!($o{ssl} && $sock->pending) && !$sel->can_read(0.5)) {
            next;
        }
        my $n = $sock->sysread(my $buf, 65536);
        if (!defined $n) {
            next if $!{EINTR} || $!{EAGAIN};
            last;
        }
        last if $n == 0;
        $raw .= $buf;
    }
    close $sock;
    return _parse($raw, $method);
}

sub _parse {
    my ($raw, $method) = @_;
    my %r = (status => 0, headers => {}, head => '', body => '', raw => $raw);
    my $i = index($raw, "\r\n\r\n");
    if ($i < 0) {
        $r{error} = 'no complete response head';
        $r{head} = $raw;
        return \%r;
    }
    $r{head} = substr($raw, 0, $i);
    my $body = substr($raw, $i + 4);
    my @lines = split /\r\n/, $r{head};
    my $status = shift @lines;
    if ($status =~ m{^HTTP/1\.[01] (\d{3})(?: (.*))?$}) {
        ($r{status}, $r{reason}) = ($1, $2 // '');
    }
    else {
        $r{error} = "bad status line: $status";
    }
    for my $l (@lines) {
        if ($l =~ /^([!#\$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/s) {
            push @{ $r{headers}{ lc $1 } }, $2;
        }
        else {
            $r{bad_header_lines}++;
        }
    }
    if (($r{headers}{'transfer-encoding'}[0] // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/^([0-9A-Fa-f]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr($body, 0, $n);
            substr($body, 0, $n + 2) = '';
        }
        $body = $out;
    }
    $r{body} = $body;
    return \%r;
}

sub get  { my ($s, $p, %o) = @_; $s->request($p, %o, method => 'GET') }
sub head { my ($s, $p, %o) = @_; $s->request($p, %o, method => 'HEAD') }

# URL path of an origin-relative path, percent-encoded the way a client would.
sub url {
    my ($rel) = @_;
    my $e = $rel;
    $e =~ s{([^A-Za-z0-9._~/-])}{sprintf '%%%02X', ord $1}ge;
    return "$URI/$e";
}

sub hdr {
    my ($r, $name) = @_;
    my $v = $r->{headers}{ lc $name };
    return $v ? $v->[0] : undef;
}

# Assertions ----------------------------------------------------------------

sub _join_url {
    my ($base, $rel) = @_;
    my $e = $rel;
    $e =~ s{([^A-Za-z0-9._~/-])}{sprintf '%%%02X', ord $1}ge;
    $base =~ s{/+$}{};
    return "$base/$e";
}

# Decode percent escapes (for comparing URLs whose escapes differ only in case).
sub _unescape { my $s = shift; $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; $s }

# The response is a redirect to mirror $m (a name, or an array of names of
# which any may be chosen) in tier $tier, for origin path $rel. $scheme
# selects the base URL expected (default: http when the mirror has one).
# Returns the chosen mirror's name.
sub redirects_to {
    my ($self, $r, $m, $tier, $rel, $name, %o) = @_;
    my @allowed = ref $m ? @$m : ($m);
    my $ok = 1;
    my $chosen = hdr($r, 'X-MirrorSel-Mirror') // '';
    $ok &&= is($r->{status}, 302, "$name: status 302")
        or diag(_summary($r));
    if (@allowed == 1) {
        $ok &&= is($chosen, $allowed[0], "$name: X-MirrorSel-Mirror is $allowed[0]");
    }
    else {
        $ok &&= ok((grep { $_ eq $chosen } @allowed),
                   "$name: X-MirrorSel-Mirror '$chosen' is one of @allowed");
    }
    $ok &&= is(hdr($r, 'X-MirrorSel-Tier'), $tier, "$name: X-MirrorSel-Tier is $tier")
        if defined $tier;
    my $urls = $self->{mirrors}{$chosen} || {};
    my $scheme = $o{scheme} || ($urls->{http} ? 'http' : 'https');
    my $base = $urls->{$scheme};
    my $loc = hdr($r, 'Location') // '';
    if ($base) {
        my $want = _join_url($base, $rel);
        $ok &&= ok(_unescape($loc) eq _unescape($want) && $loc =~ m{^\Q$base\E},
                   "$name: Location is $want") or diag("Location: $loc");
    }
    else {
        $ok &&= fail("$name: mirror '$chosen' has no $scheme URL (Location: $loc)");
    }
    $ok &&= like(hdr($r, 'Cache-Control') // '', qr/\bprivate\b/i,
                 "$name: Cache-Control: private");
    $self->location_safe($r, $name);
    return $chosen;
}

# The response is the origin's own file $rel: 200, the exact bytes, no
# redirect headers.
sub served_locally {
    my ($self, $r, $rel, $name, %o) = @_;
    my $ok = is($r->{status}, 200, "$name: status 200 (served locally)")
        or diag(_summary($r));
    my $want = $self->origin_bytes($rel);
    if (($o{method} || 'GET') eq 'HEAD') {
        $ok &&= is(hdr($r, 'Content-Length'), length($want), "$name: Content-Length");
    }
    else {
        $ok &&= ok($r->{body} eq $want, "$name: body is the origin's bytes of $rel")
            or diag('got ' . length($r->{body}) . ' bytes, want ' . length($want));
    }
    $ok &&= ok(!defined hdr($r, 'Location'), "$name: no Location");
    $ok &&= ok(!defined hdr($r, 'X-MirrorSel-Mirror'), "$name: no X-MirrorSel-Mirror");
    return $ok;
}

# Every Location points at a registered base URL or at this server, and no
# response header was born of request bytes (CR/LF smuggling).
sub location_safe {
    my ($self, $r, $name) = @_;
    my $loc = hdr($r, 'Location');
    my @bases = map { values %$_ } values %{ $self->{mirrors} };
    if (defined $loc) {
        my @why;
        my $local = qr{^(?:https?://127\.0\.0\.1:(?:$self->{port}|$self->{sslport}))?/};
        my ($base) = grep { index($loc, $_) == 0 } @bases;
        push @why, 'not under a registered base URL or this server'
            unless $base || $loc =~ $local;
        push @why, 'raw control, space or 8-bit byte' if $loc =~ /[\x00-\x20\x7f-\xff]/;
        if ($base) {
            my $rest = substr($loc, length $base);
            push @why, '.. segment after the base URL' if _unescape($rest) =~ m{(?:^|/)\.\.(?:/|$)};
            push @why, 'query or fragment after the base URL' if $rest =~ /[?#]/;
            push @why, 'an escaped CR, LF or NUL' if $rest =~ /%(?:0[0ad])/i;
        }
        ok(!@why, "$name: Location is safe") or diag("Location: $loc: " . join '; ', @why);
    }
    my @evil = grep { exists $r->{headers}{$_} } qw(x-injected set-cookie x-evil);
    ok(!$r->{bad_header_lines} && !@evil,
       "$name: no malformed or injected response header")
        or diag("injected: @evil\n$r->{head}");
}

sub _summary {
    my ($r) = @_;
    my $s = "status $r->{status}" . ($r->{error} ? " ($r->{error})" : '') . "\n$r->{head}\n";
    return $s;
}

# Retry $code (returning true when the expected state is seen) for up to
# $secs seconds; returns the last result. For changes httpd picks up on its own.
sub eventually {
    my ($secs, $code) = @_;
    my $deadline = time + $secs;
    my $v;
    while (1) {
        $v = $code->();
        return $v if $v || time >= $deadline;
        sleep 0.2;
    }
}

# Logs -------------------------------------------------------------------------

sub error_log  { _slurp("$_[0]{dir}/logs/error_log") }
sub access_log { _slurp("$_[0]{dir}/logs/access_log") }

# Parsed access log lines: { ip, status, uri, result, mirror, tier, country, asn, location }
sub access_entries {
    my ($self) = @_;
    my @e;
    for my $l (split /\n/, $self->access_log) {
        my @f = split /\t/, $l, -1;
        my %e;
        @e{qw(ip status uri result mirror tier country asn location)} = @f;
        push @e, \%e;
    }
    return @e;
}

# The error log holds no crash, sanitizer report, assertion or unexpected
# error. $allow: regexes of [error] lines a test provoked on purpose.
sub check_error_log {
    my ($self, @allow) = @_;
    my $log = $self->error_log . _slurp("$self->{dir}/logs/httpd.out");
    my @bad;
    for my $l (split /\n/, $log) {
        if ($l =~ /Segmentation fault|AddressSanitizer|LeakSanitizer|runtime error|exit signal|
                    [Aa]ssertion|core dumped|double free|stack smashing|buffer overflow/x) {
            push @bad, $l;
            next;
        }
        if ($l =~ /\[[\w-]*:(error|crit|alert|emerg)\]/ || $l =~ /\[(error|crit|alert|emerg)\]/) {
            next if grep { $l =~ $_ } @allow;
            push @bad, $l;
        }
    }
    ok(!@bad, "$self->{name}: error log holds no crash, assertion or unexpected error")
        or diag(join "\n", map { length > 300 ? substr($_, 0, 300) . '...' : $_ }
                          @bad[0 .. ($#bad > 19 ? 19 : $#bad)]);
    return !@bad;
}

# The errors httpd's core itself logs when it refuses a hostile request
# (invalid URI path, name too long to map): for tests that provoke them.
our @CORE_REFUSALS = (qr/\[core:error\].*\b(?:AH10244|AH00127|AH00036|AH00126|AH00037)\b/);

# Stop httpd, check the error log, end the test.
sub finish {
    my ($self, %o) = @_;
    $self->stop;
    $self->check_error_log(@{ $o{allow} || [] });
    if (Test::More->builder->is_passing && !$ENV{MS_KEEP}) {
        remove_tree($self->{dir});
    }
    else {
        diag("kept $self->{dir}");
    }
    done_testing();
}

# A real mirror: a plain httpd (no mod_mirrorsel) serving a copy of the
# origin tree at /pub/ over http and https, on ports of its own.
#   my $srv = MSTest::MirrorServer->new($t, 'a');
#   $srv->sync($t);  $srv->start;  $t->mirror('a', http_url => $srv->url, ...)
package MSTest::MirrorServer;
our @ISA = ('MSTest');
use File::Path qw(make_path remove_tree);
use Carp qw(croak);

sub new {
    my ($class, $t, $name, %o) = @_;
    my $dir = "$t->{dir}/mirror-$name";
    remove_tree($dir) if -e $dir;
    make_path("$dir/htdocs/pub", "$dir/run", "$dir/logs");
    return bless {
        name => "mirror-$name", dir => $dir, root => "$dir/htdocs/pub",
        cert => $t->{cert}, key => $t->{key}, pid => undef,
        mirrors => {}, v6 => $o{v6},     # v6: also listen on [::1]
    }, $class;
}

sub root { $_[0]{root} }

# Copy the origin tree (mtimes kept), as a completed rsync would.
sub sync {
    my ($self, $t) = @_;
    system('cp', '-a', "$t->{origin}/.", "$self->{root}/") == 0
        or croak "MSTest: cp to $self->{root} failed";
    return $self;
}

sub url       { "http://127.0.0.1:$_[0]{port}/pub/" }
sub https_url { "https://127.0.0.1:$_[0]{sslport}/pub/" }
sub url6      { "http://[::1]:$_[0]{port}/pub/" }

sub _asan_preload { undef }

sub _conf {
    my ($self) = @_;
    my $d = $self->{dir};
    my $moddir = '/usr/lib/apache2/modules';
    my $conf = "ServerRoot \"$d\"\nServerName 127.0.0.1\n";
    $conf .= "DefaultRuntimeDir \"$d/run\"\nPidFile \"$d/run/httpd.pid\"\n";
    $conf .= "ErrorLog \"$d/logs/error_log\"\nLogLevel warn\n";
    $conf .= "LoadModule ${_}_module $moddir/mod_$_.so\n"
        for qw(mpm_event authz_core mime dir autoindex socache_shmcb ssl);
    $conf .= <<"EOF";
StartServers 1
ServerLimit 1
ThreadsPerChild 10
MaxRequestWorkers 10
GracefulShutdownTimeout 5
TypesConfig /etc/mime.types
Listen 127.0.0.1:$self->{port}
Listen 127.0.0.1:$self->{sslport} https
${\ ($self->{v6} ? "Listen [::1]:$self->{port}" : '') }
DocumentRoot "$d/htdocs"
<Directory "$d/htdocs">
    Options Indexes
    Require all granted
</Directory>
SSLSessionCache none
<VirtualHost 127.0.0.1:$self->{sslport}>
    SSLEngine on
    SSLCertificateFile "$self->{cert}"
    SSLCertificateKeyFile "$self->{key}"
</VirtualHost>
EOF
    return $conf;
}

1;
