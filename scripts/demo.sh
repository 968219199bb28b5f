#!/usr/bin/env bash
# make demo — a real httpd with mod_mirrorsel on 127.0.0.1:$DEMO_PORT (8080)
# over a small download tree, three real local mirrors (Apache virtual hosts on
# the next three ports, one of them deliberately stale), registered, indexed,
# scanned and probed with `mirrorsel`. Prints curl commands that show clients
# from different countries going to different mirrors, then stays in the
# foreground until Ctrl-C, which stops everything it started.
#
#   DEMO_PORT   origin port (mirrors use DEMO_PORT+1 .. +3)     default 8080
#   DEMO_DIR    working directory                               default /tmp/mirrorsel-demo
#   DEMO_ONCE=1 print the demo and stop instead of waiting for Ctrl-C
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$TOP" && cd "$BUILD" && pwd)
PORT=${DEMO_PORT:-8080}
DIR=${DEMO_DIR:-/tmp/mirrorsel-demo}
MS="$BUILD/mirrorsel"
APACHE=/usr/sbin/apache2
MODULES=/usr/lib/apache2/modules
PIDS=()

say() { printf '%s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

stop_all() {
    local f
    for f in "$DIR"/run/*.pid; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    done
}
trap stop_all EXIT
trap 'say; say "stopping"; exit 0' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$PORT" $((PORT + 1)) $((PORT + 2)) $((PORT + 3)); do
    port_free "$p" || die "port $p is in use; set DEMO_PORT to another base port"
done

# --- a clean working directory the httpd user can read ---
rm -rf "$DIR"
mkdir -p "$DIR"/{origin/pub,run,logs,geo,db} "$DIR"/mirror-{berlin,newyork,tokyo}
chmod 755 "$DIR"
USER_LINE=""
if [ "$(id -u)" = 0 ]; then
    # httpd drops to www-data; it only reads, but SQLite's readers need the
    # database directory (for -shm) or a persistent -wal/-shm pair.
    USER_LINE="User www-data
Group www-data"
    chown www-data "$DIR/db" "$DIR/logs"
fi

# --- the origin tree: two ISOs, a tarball, small files served locally ---
say "== building the demo tree in $DIR/origin/pub"
mk() { # path size-in-KiB seed
    mkdir -p "$(dirname "$1")"
    perl -e 'srand($ARGV[1]); print pack("C*", map { int(rand(256)) } 1..1024) for 1..$ARGV[0]' \
        "$2" "$3" > "$1"
    touch -d '2026-11-01 12:00:00 UTC' "$1"
}
ORIGIN="$DIR/origin/pub"
mk "$ORIGIN/iso/demo-os-1.0-x86_64.iso" 4096 1
mk "$ORIGIN/iso/demo-os-1.0-aarch64.iso" 3072 2
mk "$ORIGIN/packages/hello-2.12.tar.gz" 256 3
echo "Demo OS downloads — files above 4 KiB are redirected to mirrors." > "$ORIGIN/README.txt"

# Mirrors copy the tree (mtimes kept). Tokyo's aarch64 ISO is an older build.
for m in berlin newyork tokyo; do
    mkdir -p "$DIR/mirror-$m/pub"
    cp -a "$ORIGIN/." "$DIR/mirror-$m/pub/"
done
mk "$DIR/mirror-tokyo/pub/iso/demo-os-1.0-aarch64.iso" 3000 9
touch -d '2026-10-01 12:00:00 UTC' "$DIR/mirror-tokyo/pub/iso/demo-os-1.0-aarch64.iso"

# --- geolocation: the suite's generated database (see scripts/mkmmdb.pl) ---
perl "$TOP/scripts/mkmmdb.pl" "$DIR/geo" >/dev/null
GEO="$DIR/geo/test-city.mmdb"
ASN="$DIR/geo/test-asn.mmdb"

# --- the mirrors: one Apache with three virtual hosts, autoindex on ---
cat > "$DIR/mirrors.conf" <<EOF
ServerRoot "$DIR"
PidFile "$DIR/run/mirrors.pid"
ErrorLog "$DIR/logs/mirrors-error.log"
$USER_LINE
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule mime_module $MODULES/mod_mime.so
LoadModule dir_module $MODULES/mod_dir.so
LoadModule autoindex_module $MODULES/mod_autoindex.so
TypesConfig /etc/mime.types
Listen 127.0.0.1:$((PORT + 1))
Listen 127.0.0.1:$((PORT + 2))
Listen 127.0.0.1:$((PORT + 3))
ServerName localhost
CustomLog "$DIR/logs/mirrors-access.log" "%{local}p %h \"%r\" %>s %b"
<Directory "$DIR">
    Require all granted
    Options +Indexes
</Directory>
<VirtualHost 127.0.0.1:$((PORT + 1))>
    DocumentRoot "$DIR/mirror-berlin"
</VirtualHost>
<VirtualHost 127.0.0.1:$((PORT + 2))>
    DocumentRoot "$DIR/mirror-newyork"
</VirtualHost>
<VirtualHost 127.0.0.1:$((PORT + 3))>
    DocumentRoot "$DIR/mirror-tokyo"
</VirtualHost>
EOF

# --- the origin: conf/mirrorsel.load and conf/mirrorsel.conf as shipped ---
cat > "$DIR/origin.conf" <<EOF
ServerRoot "$DIR"
PidFile "$DIR/run/origin.pid"
ErrorLog "$DIR/logs/origin-error.log"
LogLevel warn
$USER_LINE
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule mime_module $MODULES/mod_mime.so
LoadModule alias_module $MODULES/mod_alias.so
LoadModule dir_module $MODULES/mod_dir.so
LoadModule autoindex_module $MODULES/mod_autoindex.so
LoadModule remoteip_module $MODULES/mod_remoteip.so
TypesConfig /etc/mime.types
Listen 127.0.0.1:$PORT
ServerName localhost
DocumentRoot "$DIR/origin"
# The demo's clients are faked with X-Forwarded-For from loopback.
RemoteIPHeader X-Forwarded-For
RemoteIPInternalProxy 127.0.0.1
Define MIRRORSEL_MODULE $BUILD/mod_mirrorsel.so
Define MIRRORSEL_DB $DIR/db/mirrorsel.db
Define MIRRORSEL_GEOIP $GEO
Define MIRRORSEL_ASNDB $ASN
Define MIRRORSEL_ROOT $ORIGIN
Define MIRRORSEL_URI /pub
Include "$TOP/conf/mirrorsel.load"
Include "$TOP/conf/mirrorsel.conf"
LogFormat "%a \"%r\" %>s result=%{MIRRORSEL_RESULT}e mirror=%{MIRRORSEL_MIRROR}e tier=%{MIRRORSEL_TIER}e country=%{MIRRORSEL_COUNTRY}e" mirrorsel
CustomLog "$DIR/logs/origin-access.log" mirrorsel
EOF

# --- the database, through the tool ---
export MIRRORSEL_DB="$DIR/db/mirrorsel.db" MIRRORSEL_GEOIP="$GEO" MIRRORSEL_ASNDB="$ASN"
say "== mirrorsel init, mirror add, index"
"$MS" init
"$MS" mirror add berlin  --url "http://127.0.0.1:$((PORT + 1))/pub/" \
    --country DE --lat 52.52 --lon 13.40
"$MS" mirror add newyork --url "http://127.0.0.1:$((PORT + 2))/pub/" \
    --country US --lat 40.71 --lon -74.01
"$MS" mirror add tokyo   --url "http://127.0.0.1:$((PORT + 3))/pub/" \
    --country JP --lat 35.68 --lon 139.69
"$MS" index "$ORIGIN"
[ "$(id -u)" = 0 ] && chown -R www-data "$DIR/db"

say "== starting the mirrors (ports $((PORT + 1))-$((PORT + 3))) and the origin (port $PORT)"
"$APACHE" -f "$DIR/mirrors.conf" -k start
"$APACHE" -f "$DIR/origin.conf" -k start
for i in $(seq 50); do
    [ -f "$DIR/run/origin.pid" ] && [ -f "$DIR/run/mirrors.pid" ] && break
    sleep 0.1
done

say "== mirrorsel scan, probe"
"$MS" scan
"$MS" probe
[ "$(id -u)" = 0 ] && chown -R www-data "$DIR/db"
"$MS" mirror list

URL="http://127.0.0.1:$PORT/pub"
show() { # description, client address, URL (printed as a command to paste)
    local what=$1 ip=$2 url=$3
    say ""
    say "# $what"
    say "curl -sI -H 'X-Forwarded-For: $ip' '$url'"
    curl -sI -H "X-Forwarded-For: $ip" "$url" \
        | grep -iE '^(HTTP/|Location|X-MirrorSel|Content-Length|Link|Digest)' | tr -d '\r' | sed 's/^/    /'
}
say ""
say "== clients from different countries (addresses from the demo geo database)"
show "a client in Berlin (192.0.2.10) gets the Berlin mirror" \
    192.0.2.10 "$URL/iso/demo-os-1.0-x86_64.iso"
show "a client in New York (198.51.100.70) gets the New York mirror" \
    198.51.100.70 "$URL/iso/demo-os-1.0-x86_64.iso"
show "a client in Tokyo (198.51.100.200) gets the Tokyo mirror" \
    198.51.100.200 "$URL/iso/demo-os-1.0-x86_64.iso"
show "but not for the aarch64 ISO: Tokyo's copy is stale, so a fresh mirror elsewhere serves it" \
    198.51.100.200 "$URL/iso/demo-os-1.0-aarch64.iso"
show "a client in Paris (192.0.2.130): no French mirror, same continent wins" \
    192.0.2.130 "$URL/packages/hello-2.12.tar.gz"
show "?country=JP overrides the location" \
    192.0.2.10 "$URL/iso/demo-os-1.0-x86_64.iso?country=JP"
show "a small file is served by the origin itself" \
    192.0.2.10 "$URL/README.txt"
say ""
say "# download clients that know Metalink (aria2c, zypper) get every mirror and the hash"
say "curl -s -H 'X-Forwarded-For: 192.0.2.10' $URL/iso/demo-os-1.0-x86_64.iso.meta4"
curl -s -H 'X-Forwarded-For: 192.0.2.10' "$URL/iso/demo-os-1.0-x86_64.iso.meta4" | sed 's/^/    /'
say "# a person gets the same as a page: $URL/iso/demo-os-1.0-x86_64.iso.mirrorlist (JSON: ?mirrorlist=json)"
say ""
say "# why: mirrorsel explain shows every mirror and the reason it was left out"
say "# (--root: the origin file is checked on disk, as the module does)"
say "$MS --db $MIRRORSEL_DB --geoip $GEO --asn-db $ASN explain /iso/demo-os-1.0-aarch64.iso --ip 198.51.100.200 --root $ORIGIN"
"$MS" explain /iso/demo-os-1.0-aarch64.iso --ip 198.51.100.200 --root "$ORIGIN" | sed 's/^/    /'
say ""
say "Logs: $DIR/logs/origin-access.log (with the MIRRORSEL_* variables)"
if [ "${DEMO_ONCE:-0}" = 1 ]; then
    exit 0
fi
say "The demo keeps running; try the commands above. Ctrl-C stops it."
while :; do sleep 3600 & wait $!; done
