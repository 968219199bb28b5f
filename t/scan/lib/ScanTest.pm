# ScanTest — real servers on loopback for the scanner and prober tests:
# rsync daemon, proftpd (MLSD, or LIST only), Apache, nginx and lighttpd with
# autoindex, sshd for SFTP, and small Perl servers for what no real server
# does on purpose (hang, send hostile listings, redirect).
#
# Every server runs in the foreground of a forked child, listens on
# 127.0.0.1 at a free port, and is stopped by its pid (TERM, then KILL) at
# the end of the test or when the test dies. Nothing is left behind.
#
#   my $t = ScanTest->new;                  # work dir, database, origin
#   $t->origin_file('a/f1', 5000);         # origin tree
#   $t->mirror_tree('m1', from => 'origin');
#   my $port = $t->rsyncd(m1 => $t->tree('m1'));
#   $t->tool(qw(mirror add m1 --url), "http://127.0.0.1:$port/", ...);
package ScanTest;

use strict;
use warnings;
use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Spec;
use IO::Socket::IP;
use POSIX qw(WNOHANG _exit setpgid);
use Test::More;
use Time::HiRes qw(sleep time);

our $ROOT = abs_path(File::Spec->catdir(dirname(__FILE__), '..', '..', '..'));
my @PIDS;
my %GROUP;          # pid => 1: a server spawned in a process group of its own

sub new {
    my ($class, %o) = @_;
    my $name = $o{name} || do { my $n = $0; $n =~ s{.*/}{}; $n =~ s/\.t$//; "scan-$n" };
    my $build = File::Spec->rel2abs($ENV{MS_BUILD} || 'build', $ROOT);
    my $tmp = $ENV{MS_TMP} ? File::Spec->rel2abs($ENV{MS_TMP}, $ROOT) : "$ROOT/t/tmp";
    my $dir = "$tmp/$name";
    remove_tree($dir) if -e $dir;
    make_path("$dir/origin", "$dir/run");
    my $self = bless { dir => $dir, build => $build, db => "$dir/mirrorsel.db" }, $class;
    croak "ScanTest: $build/mirrorsel is missing: run make" unless -x "$build/mirrorsel";
    $ENV{TZ} = 'UTC';
    return $self;
}

sub dir    { $_[0]{dir} }
sub db     { $_[0]{db} }
sub origin { "$_[0]{dir}/origin" }
sub tree   { "$_[0]{dir}/trees/$_[1]" }

# --- files ---------------------------------------------------------------

sub write_file {
    my ($path, $size, $mtime, $seed) = @_;
    make_path(dirname($path));
    open my $fh, '>', $path or croak "$path: $!";
    binmode $fh;
    my $unit = sprintf("%s-%08d\n", $seed // 'x', length($path));
    my $data = $unit x (int($size / length($unit)) + 1);
    print $fh substr($data, 0, $size);
    close $fh;
    utime $mtime, $mtime, $path if defined $mtime;
}

# An origin file of $size bytes (mtime default: a fixed second, not minute
# aligned, so a minute-precision listing has to be judged within precision).
sub origin_file {
    my ($self, $rel, $size, $mtime) = @_;
    write_file($self->origin . "/$rel", $size, $mtime // 1714564830, 'o');
}

# Copy the origin into a mirror tree (with mtimes).
sub mirror_tree {
    my ($self, $name) = @_;
    my $dst = $self->tree($name);
    remove_tree($dst) if -e $dst;
    make_path($dst);
    system('cp', '-a', $self->origin . '/.', $dst) == 0 or croak "cp failed";
    return $dst;
}

# --- the tool -------------------------------------------------------------

sub run_tool {
    my ($self, @args) = @_;
    my $out = "$self->{dir}/run/tool.out";
    my $err = "$self->{dir}/run/tool.err";
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>', $err;
        { exec "$self->{build}/mirrorsel", '--db', $self->{db}, @args }
        _exit(127);
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    return ($rc, _slurp($out), _slurp($err));
}

sub tool {
    my ($self, @args) = @_;
    my ($rc, $out, $err) = $self->run_tool(@args);
    croak "mirrorsel @args: exit $rc: $err" if $rc != 0;
    return $out;
}

sub _slurp {
    open my $fh, '<', $_[0] or return '';
    local $/;
    my $s = <$fh>;
    return $s // '';
}

sub init { my $s = shift; $s->tool('init'); $s }

# Register a mirror through the tool; ca_file, ssh_key and known_hosts go
# in as `mirror add --ca-file/--ssh-key/--known-hosts`.
sub add_mirror {
    my ($self, $name, $scan_url, %o) = @_;
    my @urls = map { ('--url', $_) } @{ $o{urls} || ['http://127.0.0.1:9/'] };
    my @scan = map { defined $o{$_} ? ('--' . ($_ =~ tr/_/-/r), $o{$_}) : () }
        qw(ca_file ssh_key known_hosts);
    $self->tool('mirror', 'add', $name, @urls, '--scan-url', $scan_url,
                '--country', $o{country} || 'DE', @scan);
}

# Read the database through the sqlite3 shell (to check what the tool
# wrote; tests write only through the tool); rows as arrays of columns.
sub sql {
    my ($self, $sql) = @_;
    open my $fh, '-|', 'sqlite3', '-separator', '|', $self->{db}, $sql
        or croak "sqlite3: $!";
    my @rows = map { chomp; [split /\|/, $_, -1] } <$fh>;
    close $fh;
    croak "sqlite3 failed: $sql" if $?;
    return @rows;
}

# The mirror's copies: { path => "size mtime precision" }.
sub copies {
    my ($self, $name) = @_;
    my %c = map { $_->[0] => "$_->[1] $_->[2] $_->[3]" } $self->sql(
        "SELECT f.path, c.size, c.mtime, c.precision FROM mirror_files c "
        . "JOIN files f ON f.id = c.file_id JOIN mirrors m ON m.id = c.mirror_id "
        . "WHERE m.name = '$name'");
    return \%c;
}

# The latest scan run of a mirror as a hash.
sub last_run {
    my ($self, $name) = @_;
    my ($r) = $self->sql(
        "SELECT ok, files_seen, fresh, stale, missing, extra, error FROM scan_runs "
        . "WHERE mirror_id = (SELECT id FROM mirrors WHERE name = '$name') "
        . "ORDER BY id DESC LIMIT 1");
    return undef unless $r;
    my %h;
    @h{qw(ok seen fresh stale missing extra error)} = @$r;
    return \%h;
}

# The fresh-file count as the selector judges it (size equal, mtime within
# precision), from the database.
sub fresh_count {
    my ($self, $name) = @_;
    my ($r) = $self->sql(
        "SELECT count(*) FROM mirror_files c JOIN files f ON f.id = c.file_id "
        . "WHERE c.mirror_id = (SELECT id FROM mirrors WHERE name = '$name') "
        . "AND c.size = f.size AND abs(c.mtime - f.mtime) < c.precision");
    return $r->[0];
}

sub health {
    my ($self, $name) = @_;
    my %h = map { ("$_->[0]/$_->[1]" => { up => $_->[2], status => $_->[3],
                                          error => $_->[4], failures => $_->[5] }) }
        $self->sql("SELECT scheme, family, up, status, error, failures FROM mirror_health "
                   . "WHERE mirror_id = (SELECT id FROM mirrors WHERE name = '$name')");
    return \%h;
}

# --- processes --------------------------------------------------------------

sub free_port {
    my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0, Listen => 1,
                                ReuseAddr => 1) or croak "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub wait_port {
    my ($port, $secs) = @_;
    my $until = time + ($secs || 10);
    while (time < $until) {
        my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
                                    Timeout => 1);
        return 1 if $c;
        sleep 0.05;
    }
    return 0;
}

# Start @cmd in the foreground of a child; returns its pid once $port answers.
# The child leads a process group of its own, so that what the server forks
# per connection (rsync daemon, sshd) is stopped with it.
sub spawn {
    my ($self, $label, $port, @cmd) = @_;
    my $log = "$self->{dir}/run/$label.log";
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>>', $log;
        { exec @cmd }
        _exit(127);
    }
    setpgid($pid, $pid);
    $GROUP{$pid} = 1;
    push @PIDS, $pid;
    $self->{pids}{$label} = $pid;
    if (defined $port && !wait_port($port, 15)) {
        diag("$label did not start: " . _slurp($log));
        croak "$label did not start on port $port";
    }
    return $pid;
}

sub stop {
    my ($self, $label) = @_;
    my $pid = delete $self->{pids}{$label} or return;
    _stop_pid($pid);
    @PIDS = grep { $_ != $pid } @PIDS;
}

# TERM the server (its process group when it has one), KILL it when it
# lingers, then KILL what is left of its group (per-connection children).
sub _stop_pid {
    my ($pid) = @_;
    my $group = delete $GROUP{$pid};
    my $target = $group ? -$pid : $pid;
    kill 'TERM', $target;
    my $gone = 0;
    for (1 .. 100) {
        if (waitpid($pid, WNOHANG) != 0) { $gone = 1; last }
        sleep 0.05;
    }
    if (!$gone) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
    kill 'KILL', -$pid if $group;
}

sub stop_all { _stop_pid($_) for @PIDS; @PIDS = () }

END { my $rc = $?; stop_all(); $? = $rc }
$SIG{$_} = sub { stop_all(); exit 1 } for qw(INT TERM);

sub _write {
    my ($path, $text) = @_;
    make_path(dirname($path));
    open my $fh, '>', $path or croak "$path: $!";
    print $fh $text;
    close $fh;
}

sub user  { scalar getpwuid($<) }
sub group { scalar getgrgid((split ' ', $()[0]) }

# --- rsync ------------------------------------------------------------------

sub rsyncd {
    my ($self, %modules) = @_;
    my $port = free_port();
    my $conf = "port = $port\naddress = 127.0.0.1\nuse chroot = no\n"
             . "pid file = $self->{dir}/run/rsyncd.pid\n";
    for my $name (sort keys %modules) {
        # a module is a path, or { path => ..., auth => 'user:password' }
        my $m = ref $modules{$name} ? $modules{$name} : { path => $modules{$name} };
        $conf .= "[$name]\npath = $m->{path}\nread only = yes\n";
        next unless $m->{auth};
        my ($user) = split /:/, $m->{auth}, 2;
        my $secrets = "$self->{dir}/run/rsyncd-$name.secrets";
        _write($secrets, "$m->{auth}\n");
        chmod 0600, $secrets;
        $conf .= "auth users = $user\nsecrets file = $secrets\n";
    }
    _write("$self->{dir}/run/rsyncd.conf", $conf);
    unlink "$self->{dir}/run/rsyncd.pid";
    $self->spawn('rsyncd', $port, 'rsync', '--daemon', '--no-detach',
                 "--config=$self->{dir}/run/rsyncd.conf");
    return $port;
}

# --- proftpd: MLSD, or with list_only => 1 a server that only offers LIST ---

sub proftpd {
    my ($self, $root, %o) = @_;
    my $label = $o{label} || 'proftpd';
    my $d = "$self->{dir}/run/$label";
    make_path($d);
    my $port = free_port();
    my $hash = crypt('secret', '$6$mirrorsl$');
    _write("$d/passwd", "mirror:$hash:$<:" . (split ' ', $()[0] . "::$root:/bin/sh\n");
    _write("$d/group", group() . ":x:" . (split ' ', $()[0] . ":\n");
    chmod 0600, "$d/passwd", "$d/group";
    my $u = user();
    my $g = group();
    my $pasv = 30000 + int(rand(20000));
    my $conf = <<"EOF";
ServerName "mirrorsel test"
ServerType standalone
DefaultServer on
Port $port
DefaultAddress 127.0.0.1
SocketBindTight on
UseIPv6 off
User $u
Group $g
PidFile $d/proftpd.pid
ScoreboardFile $d/proftpd.scoreboard
DelayTable none
WtmpLog off
TransferLog none
SystemLog $d/proftpd.log
UseReverseDNS off
AuthOrder mod_auth_file.c
AuthUserFile $d/passwd
AuthGroupFile $d/group
RequireValidShell off
RootLogin on
TimesGMT on
PassivePorts $pasv @{[ $pasv + 200 ]}
<Limit WRITE SITE_CHMOD>
  DenyAll
</Limit>
EOF
    # tls => [cert, key]: implicit FTPS (ftps://), TLS from the first byte on
    # the control and every data connection.
    $conf .= <<"EOF" if $o{tls};
<IfModule mod_dso.c>
  LoadModule mod_tls.c
</IfModule>
<IfModule mod_tls.c>
  TLSEngine on
  TLSLog $d/tls.log
  TLSProtocol TLSv1.2 TLSv1.3
  TLSRSACertificateFile $o{tls}[0]
  TLSRSACertificateKeyFile $o{tls}[1]
  TLSOptions UseImplicitSSL NoSessionReuseRequired
  TLSRequired on
  TLSVerifyClient off
</IfModule>
EOF
    $conf .= <<'EOF' if $o{list_only};
<IfModule mod_facts.c>
  FactsAdvertise off
</IfModule>
<Limit MLSD MLST>
  DenyAll
</Limit>
EOF
    _write("$d/proftpd.conf", $conf);
    $self->spawn($label, $port, 'proftpd', '-n', '-q', '-c', "$d/proftpd.conf");
    return $port;
}

# --- HTTP servers with directory listings -------------------------------------

sub nginx {
    my ($self, $root, %o) = @_;
    my $label = $o{label} || 'nginx';
    my $d = "$self->{dir}/run/$label";
    make_path("$d/tmp");
    my $port = free_port();
    my $exact = $o{exact_size} // 1 ? 'on' : 'off';
    my $listen6 = $o{v6} ? "\n        listen [::1]:$port;" : '';   # the same port over IPv6
    _write("$d/nginx.conf", <<"EOF");
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $d/tmp;
    proxy_temp_path $d/tmp;
    fastcgi_temp_path $d/tmp;
    uwsgi_temp_path $d/tmp;
    scgi_temp_path $d/tmp;
    server {
        listen 127.0.0.1:$port;$listen6
        root $root;
        autoindex on;
        autoindex_exact_size $exact;
        index index.html;
    }
}
EOF
    $self->spawn($label, $port, 'nginx', '-e', "$d/error.log", '-p', $d, '-c', "$d/nginx.conf");
    return $port;
}

sub apache {
    my ($self, $root, %o) = @_;
    my $label = $o{label} || 'apache';
    my $d = "$self->{dir}/run/$label";
    make_path($d);
    my $port = free_port();
    my $m = '/usr/lib/apache2/modules';
    my $ssl = '';
    if ($o{cert}) {
        $ssl = "LoadModule socache_shmcb_module $m/mod_socache_shmcb.so\n"
             . "LoadModule ssl_module $m/mod_ssl.so\n"
             . "SSLEngine on\nSSLCertificateFile $o{cert}\nSSLCertificateKeyFile $o{key}\n"
             . "SSLSessionCache none\n";
    }
    my $extra = $o{conf} || '';
    _write("$d/httpd.conf", <<"EOF");
ServerRoot $d
ServerName 127.0.0.1
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule dir_module $m/mod_dir.so
LoadModule mime_module $m/mod_mime.so
LoadModule autoindex_module $m/mod_autoindex.so
LoadModule alias_module $m/mod_alias.so
$ssl
Listen 127.0.0.1:$port
PidFile $d/httpd.pid
ErrorLog $d/error_log
DefaultRuntimeDir $d
TypesConfig /etc/mime.types
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
KeepAlive On
DocumentRoot "$root"
<Directory "$root">
    Options +Indexes
    IndexOptions FancyIndexing VersionSort HTMLTable NameWidth=* DescriptionWidth=* Charset=UTF-8
    Require all granted
</Directory>
$extra
EOF
    $self->spawn($label, $port, '/usr/sbin/apache2', '-f', "$d/httpd.conf", '-DFOREGROUND');
    return $port;
}

sub lighttpd {
    my ($self, $root, %o) = @_;
    my $label = $o{label} || 'lighttpd';
    my $d = "$self->{dir}/run/$label";
    make_path($d);
    my $port = free_port();
    _write("$d/lighttpd.conf", <<"EOF");
server.modules = ( "mod_dirlisting" )
server.document-root = "$root"
server.bind = "127.0.0.1"
server.port = $port
server.pid-file = "$d/lighttpd.pid"
server.errorlog = "$d/error.log"
dir-listing.activate = "enable"
mimetype.assign = ( "" => "application/octet-stream" )
EOF
    $self->spawn($label, $port, '/usr/sbin/lighttpd', '-D', '-f', "$d/lighttpd.conf");
    return $port;
}

# --- TLS ------------------------------------------------------------------------

# A self-signed certificate for 127.0.0.1; returns (cert, key).
# A self-signed certificate for 127.0.0.1, or with dns => NAME for that host
# name only (a certificate that a client connecting to 127.0.0.1 must refuse).
sub self_signed {
    my ($self, %o) = @_;
    my $d = "$self->{dir}/run/ssl" . ($o{dns} ? "-$o{dns}" : '');
    my $subj = $o{dns} ? "/CN=$o{dns} -addext subjectAltName=DNS:$o{dns}"
                       : "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1";
    make_path($d);
    system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj $subj "
           . "-keyout '$d/key.pem' -out '$d/cert.pem' "
           . "2>/dev/null") == 0
        or croak 'openssl failed';
    return ("$d/cert.pem", "$d/key.pem");
}

# --- sshd for sftp:// --------------------------------------------------------------

# Returns (port, private key, known_hosts) for logging in as the current user.
sub sshd {
    my ($self) = @_;
    my $d = "$self->{dir}/run/sshd";
    make_path($d);
    chmod 0700, $d;
    my $port = free_port();
    for my $k ("$d/host_key", "$d/user_key") {
        system('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', $k) == 0
            or croak 'ssh-keygen failed';
    }
    system("cp '$d/user_key.pub' '$d/authorized_keys'") == 0 or croak;
    chmod 0600, "$d/authorized_keys";
    open my $pk, '<', "$d/host_key.pub" or croak;
    my ($type, $key) = split ' ', scalar <$pk>;
    _write("$d/known_hosts", "[127.0.0.1]:$port $type $key\n");
    my $user = user();
    _write("$d/sshd_config", <<"EOF");
Port $port
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
AllowUsers $user
Subsystem sftp internal-sftp
LogLevel ERROR
EOF
    # privilege separation wants its empty directory when run as root
    make_path('/run/sshd') if $< == 0 && !-d '/run/sshd';
    $self->spawn('sshd', $port, '/usr/sbin/sshd', '-D', '-e', '-f', "$d/sshd_config");
    return ($port, "$d/user_key", "$d/known_hosts");
}

# --- Perl servers for misbehaviour ---------------------------------------------------

# A server that accepts connections and never answers.
sub hanging_server {
    my ($self) = @_;
    my $port = free_port();
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        my $l = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => $port,
                                    Listen => 64, ReuseAddr => 1) or _exit(1);
        my @keep;
        while (my $c = $l->accept) { push @keep, $c }
        _exit(0);
    }
    push @PIDS, $pid;
    $self->{pids}{"hang$port"} = $pid;
    wait_port($port, 5) or croak 'hanging server did not start';
    return $port;
}

# An HTTP/1.0 server answering every request with $handler->($method, $path),
# which returns (status, headers-hashref, body).
sub http_server {
    my ($self, $handler) = @_;
    my $port = free_port();
    my $pid = fork // croak "fork: $!";
    if (!$pid) {
        my $l = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => $port,
                                    Listen => 64, ReuseAddr => 1) or _exit(1);
        $SIG{PIPE} = 'IGNORE';
        while (my $c = $l->accept) {
            my $req = <$c> // '';
            while (my $h = <$c>) { last if $h =~ /^\r?\n$/ }
            my ($method, $path) = split(" ", $req);
            $method //= "";
            $path //= "/";
            my ($status, $hdr, $body) = $handler->($method // '', $path // '/');
            $body //= '';
            my $head = "HTTP/1.0 $status\r\nConnection: close\r\n";
            $head .= "Content-Length: " . length($body) . "\r\n"
                unless exists $hdr->{'Content-Length'};
            $head .= "$_: $hdr->{$_}\r\n" for sort keys %$hdr;
            print $c "$head\r\n";
            print $c $body if $method ne 'HEAD';
            close $c;
        }
        _exit(0);
    }
    push @PIDS, $pid;
    $self->{pids}{"http$port"} = $pid;
    wait_port($port, 5) or croak 'http server did not start';
    return $port;
}

1;

package ScanTest;

# --- the standard scenario ---------------------------------------------------------
#
# origin: a/f1, a/f2, a/f3, a/b/s.txt, top.iso, "sp ace/ü.bin"
# mirror: a/f1, top.iso and "sp ace/ü.bin" fresh; a/f2 older by a day (stale),
#         a/f3 of another size (stale), a/b/s.txt missing, extra.txt extra.
our %STANDARD = (
    'a/f1' => 5000, 'a/f2' => 10000, 'a/f3' => 15000, 'a/b/s.txt' => 6,
    'top.iso' => 100000, "sp ace/\x{fc}.bin" => 3000,
);

sub standard_world {
    my ($self) = @_;
    for my $p (sort keys %STANDARD) {
        my $bytes = $p;
        utf8::encode($bytes);
        $self->origin_file($bytes, $STANDARD{$p});
    }
    $self->init;
    $self->tool('index', $self->origin);
    return $self;
}

sub standard_mirror {
    my ($self, $name) = @_;
    my $t = $self->mirror_tree($name);
    utime 1714564830 - 86400, 1714564830 - 86400, "$t/a/f2";
    write_file("$t/a/f3", 14999, 1714564830, 'o');
    unlink "$t/a/b/s.txt";
    write_file("$t/extra.txt", 100, 1714564830, 'e');
    return $t;
}

# Check a scan's outcome against the standard scenario.
sub check_standard {
    my ($self, $name, $label, %o) = @_;
    my $r = $self->last_run($name);
    is($r->{ok}, 1, "$label: scan ok") or diag("error: $r->{error}");
    is("$r->{seen}/$r->{fresh}/$r->{stale}/$r->{missing}/$r->{extra}", '5/3/2/1/1',
       "$label: seen/fresh/stale/missing/extra");
    is($self->fresh_count($name), 3, "$label: 3 copies fresh as the selector judges");
    my $c = $self->copies($name);
    my $p = $o{precision};
    if (defined $p) {
        my %prec = map { (split ' ', $_)[2] => 1 } values %$c;
        is(join(',', sort keys %prec), $p, "$label: precision $p");
    }
    ok(!exists $c->{'a/b/s.txt'}, "$label: missing file has no copy");
    my $u = "sp ace/\x{fc}.bin";
    utf8::encode($u);
    ok(exists $c->{$u}, "$label: name with space and UTF-8 recorded");
}
