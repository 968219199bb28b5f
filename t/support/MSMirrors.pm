# MSMirrors — real mirror servers for the integration tests that download
# through the redirector with real clients (aria2c, curl, wget).
#
# Each mirror is an httpd of its own (/usr/sbin/apache2, mpm_event, no
# mirrorsel) on a free 127.0.0.1 port, serving a copy of the origin tree
# under /pub/, so one mirror can be stopped (its port closed) while the
# others keep serving. Its access log tells which files it was asked for.
# The mirror is registered in the harness's database with its real URL
# (http://127.0.0.1:PORT/pub/), and entered in the harness's table of
# mirrors so that MSTest's redirects_to and location_safe know its URL.
#
#   my $ms = MSMirrors->new($t);               # $t: an MSTest
#   $ms->add('m1', MSTest::at('berlin'));        # copy of the origin, running
#   $ms->corrupt('m1', 'big/file.iso');          # same size, other bytes
#   $ms->stop('m1');  $ms->start('m1');
#   my @paths = $ms->requests('m1');             # "GET /pub/big/file.iso 200" …
#
# Mirrors are stopped with the harness (END, signals) by their pids.
package MSMirrors;

use strict;
use warnings;
use Carp qw(croak);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Find qw(find);
use File::Path qw(make_path);
use IO::Socket::IP;
use POSIX qw(WNOHANG _exit);
use Time::HiRes qw(sleep time);

my @LIVE;

sub new {
    my ($class, $t) = @_;
    return bless { t => $t, m => {} }, $class;
}

sub _free_port {
    my $s = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0,
                                Proto => 'tcp', Listen => 1)
        or croak "MSMirrors: no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# Copy the origin tree (as it is now) to the mirror's document root,
# keeping mtimes, so the copies are byte for byte the origin's.
sub _copy_tree {
    my ($from, $to) = @_;
    find({ no_chdir => 1, wanted => sub {
        my $rel = substr($File::Find::name, length $from);
        return if $rel eq '';
        if (-d $_) { make_path("$to$rel"); return }
        return unless -f $_;
        make_path(dirname("$to$rel"));
        copy($_, "$to$rel") or croak "MSMirrors: copy $rel: $!";
        my @st = stat $_;
        utime $st[9], $st[9], "$to$rel";
    } }, $from);
}

# Add a mirror NAME with location options as MSTest::mirror takes them
# (country, continent, lat, lon, asn, weight), a copy of the origin, its
# httpd started, and the mirror registered with its real URL.
sub add {
    my ($self, $name, %o) = @_;
    my $t = $self->{t};
    my $dir = $t->dir . "/mirror-$name";
    make_path("$dir/htdocs/pub", "$dir/logs", "$dir/run");
    _copy_tree($t->origin, "$dir/htdocs/pub");
    my $m = { name => $name, dir => $dir, port => _free_port() };
    $m->{url} = "http://127.0.0.1:$m->{port}/pub/";
    $self->{m}{$name} = $m;
    my @a = ('mirror', 'add', $name, '--url', $m->{url});
    push @a, '--country', $o{country} if defined $o{country};
    push @a, '--continent', $o{continent} if defined $o{continent};
    push @a, '--lat', $o{lat}, '--lon', $o{lon} if defined $o{lat};
    push @a, '--asn', $o{asn} // 65000;
    push @a, '--weight', $o{weight} if defined $o{weight};
    $t->tool(@a);
    $t->{mirrors}{$name} = { http => $m->{url} };   # what redirects_to reads
    $self->start($name);
    return $m->{url};
}

sub url  { $_[0]{m}{ $_[1] }{url} }
sub port { $_[0]{m}{ $_[1] }{port} }
sub path { my ($s, $n, $rel) = @_; "$s->{m}{$n}{dir}/htdocs/pub/$rel" }

# Replace the mirror's copy of $rel by other bytes of the same size (and the
# same mtime): a scan cannot tell, only a hash can.
sub corrupt {
    my ($self, $name, $rel) = @_;
    my $p = $self->path($name, $rel);
    my @st = stat $p or croak "MSMirrors: $p: $!";
    open my $fh, '+<:raw', $p or croak "MSMirrors: $p: $!";
    local $/;
    my $d = <$fh>;
    my $bad = $d;
    substr($bad, length($bad) / 2, 16) = 'CORRUPTED BYTES!';
    croak 'MSMirrors: corruption changed nothing' if $bad eq $d;
    seek $fh, 0, 0;
    print $fh $bad;
    close $fh or croak "MSMirrors: $p: $!";
    utime $st[9], $st[9], $p;
}

sub _conf {
    my ($m) = @_;
    my $moddir = '/usr/lib/apache2/modules';
    return <<"EOF";
ServerRoot "$m->{dir}"
ServerName 127.0.0.1
DefaultRuntimeDir "$m->{dir}/run"
PidFile "$m->{dir}/run/httpd.pid"
ErrorLog "$m->{dir}/logs/error_log"
LoadModule mpm_event_module $moddir/mod_mpm_event.so
LoadModule authz_core_module $moddir/mod_authz_core.so
LoadModule mime_module $moddir/mod_mime.so
StartServers 1
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
MinSpareThreads 1
MaxSpareThreads 8
TypesConfig /etc/mime.types
Listen 127.0.0.1:$m->{port}
DocumentRoot "$m->{dir}/htdocs"
<Directory "$m->{dir}/htdocs">
    Require all granted
</Directory>
LogFormat "%m %U %>s" mirror
CustomLog "$m->{dir}/logs/access_log" mirror
EOF
}

sub start {
    my ($self, $name) = @_;
    my $m = $self->{m}{$name} or croak "MSMirrors: no mirror $name";
    croak "MSMirrors: $name already running" if $m->{pid};
    open my $fh, '>', "$m->{dir}/httpd.conf" or croak "MSMirrors: $!";
    print $fh _conf($m);
    close $fh;
    my $pid = fork // croak "MSMirrors: fork: $!";
    if (!$pid) {
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$m->{dir}/logs/httpd.out";
        open STDERR, '>>', "$m->{dir}/logs/httpd.out";
        delete $ENV{LD_PRELOAD};
        exec '/usr/sbin/apache2', '-d', $m->{dir}, '-f', "$m->{dir}/httpd.conf",
             '-DFOREGROUND' or _exit(127);
    }
    $m->{pid} = $pid;
    push @LIVE, $m;
    my $deadline = time + 15;
    while (time < $deadline) {
        croak "MSMirrors: mirror $name: httpd exited at start-up"
            if waitpid($pid, WNOHANG) == $pid;
        my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $m->{port},
                                    Proto => 'tcp', Timeout => 1);
        if ($s) { close $s; return 1 }
        sleep 0.05;
    }
    croak "MSMirrors: mirror $name did not come up in 15 s";
}

# Stop the mirror's httpd by its pid; its port is closed afterwards.
sub stop {
    my ($self, $name) = @_;
    _stop($self->{m}{$name});
}

sub _stop {
    my ($m) = @_;
    my $pid = $m->{pid} or return;
    $m->{pid} = undef;
    @LIVE = grep { $_ != $m } @LIVE;
    kill 'TERM', $pid;
    my $deadline = time + 10;
    while (time < $deadline) {
        my $w = waitpid($pid, WNOHANG);
        return if $w == $pid || $w == -1;
        sleep 0.05;
    }
    kill 'KILL', -$pid;
    waitpid($pid, 0);
}

sub stop_all { my ($self) = @_; _stop($_) for values %{ $self->{m} } }

# The requests the mirror served so far: "GET /pub/big/file.iso 200", …
sub requests {
    my ($self, $name) = @_;
    open my $fh, '<', "$self->{m}{$name}{dir}/logs/access_log" or return ();
    chomp(my @l = <$fh>);
    return @l;
}

# Its error log holds no crash (the mirrors run no code of ours).
sub error_log {
    my ($self, $name) = @_;
    open my $fh, '<', "$self->{m}{$name}{dir}/logs/error_log" or return '';
    local $/;
    return scalar <$fh> // '';
}

END {
    my $rc = $?;
    _stop($_) for @LIVE;
    $? = $rc;
}
# Before MSTest's own handlers (which stop its httpd and re-raise).
for my $sig (qw(INT TERM HUP)) {
    my $prev = $SIG{$sig};
    $SIG{$sig} = sub {
        _stop($_) for @LIVE;
        if (ref $prev eq 'CODE') { $prev->(@_) }
        else { $SIG{$sig} = 'DEFAULT'; kill $sig, $$ }
    };
}

1;
