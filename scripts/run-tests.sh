#!/bin/sh
# run-tests.sh BUILD — run every test with one `prove`: the C unit tests
# (BUILD/t/test_*, one TAP program per t/unit/*.c), the fuzzing harnesses
# over their corpus (BUILD/t/fuzz_*, fuzz/replay.c), the integration tests
# (t/integration/*.t, each against a real httpd running BUILD/mod_mirrorsel.so)
# and every other t/*/*.t (the scanner's, against real mirror servers).
#
#   make all unit && sh scripts/run-tests.sh build          (make test does both)
#   make SANITIZE=1 all unit && sh scripts/run-tests.sh build-asan
#       the same under AddressSanitizer/UBSan: the harness preloads the
#       sanitizer runtimes into httpd, and every error log is searched for
#       their reports.
#   MS_BUILD=build prove -I t/support t/integration/10-tiers.t
#       one file, by hand, as a user other than root
#
# httpd and the harness must not run as root. Run as root (as CI does), this
# script makes the system user mirrorsel-test when missing, copies the tree
# (with BUILD) to a fresh directory under /tmp that the user owns, and runs
# itself there as that user, after running t/root/*.t (which needs root to
# run commands as two users) itself. Every httpd the tests start is stopped by its
# pid (the harness does it; the trap below catches what a killed test left).
#
# Environment: PROVE_JOBS (default 2), MS_KEEP=1 keeps the work directories,
# TEST_TIMEOUT seconds for the whole prove run (default 480).
set -eu

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TEST_USER=mirrorsel-test

# Stop what the tests started and left running (a killed test's httpd, a
# server or client a test lost track of): every process whose command line
# names the run's own temporary tree ($1, unique to this run), by its pid;
# SIGTERM, then SIGKILL for what is still there a second later.
stop_strays() {
    for sig in TERM KILL; do
        found=""
        for d in /proc/[0-9]*; do
            pid=${d#/proc/}
            [ "$pid" = "$$" ] && continue
            [ -r "$d/cmdline" ] || continue
            if tr '\0' ' ' < "$d/cmdline" 2>/dev/null | grep -qF -- "$1"; then
                kill -s "$sig" "$pid" 2>/dev/null && found=1
            fi
        done
        [ -n "$found" ] || return 0
        [ "$sig" = TERM ] && sleep 1
    done
    return 0
}

# --- as root: drop to the test user in a copy of the tree ----------------------
if [ "$(id -u)" -eq 0 ]; then
    if ! id "$TEST_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$TEST_USER"
    fi
    WORK=$(mktemp -d /tmp/mirrorsel-test.XXXXXX)
    stop_work() {
        stop_strays "$WORK/tree/t/tmp"
    }
    trap 'stop_work' EXIT
    trap 'stop_work; rm -rf "$WORK"; exit 130' INT
    trap 'stop_work; rm -rf "$WORK"; exit 143' TERM

    case "$BUILD" in
        /*) build_abs=$BUILD ;;
        *)  build_abs=$ROOT/$BUILD ;;
    esac
    [ -d "$build_abs" ] || { echo "run-tests.sh: $build_abs: no such build directory" >&2; exit 1; }
    case "$build_abs" in
        "$ROOT"/*) rel_build=${build_abs#"$ROOT"/} ;;
        *)         rel_build=.build/$(basename "$build_abs") ;;
    esac
    mkdir "$WORK/tree"
    # what the tests read: the tests, the scripts, the configuration they
    # load, the sources and README (t/scan/cli.t checks the option tables of
    # src/ against --help and README's synopsis); not .git, build trees,
    # benchmark data or old test output
    (cd "$ROOT" && tar --exclude=./t/tmp --exclude='./t/tmp-*' -cf - \
        ./Makefile ./conf ./scripts ./schema ./t ./fuzz ./src ./README.md) | \
        (cd "$WORK/tree" && tar -xf -)
    # from BUILD only what the tests run (it may hold benchmark trees too)
    mkdir -p "$WORK/tree/$rel_build"
    (cd "$build_abs" && tar -cf - mod_mirrorsel.so mirrorsel t) | \
        (cd "$WORK/tree/$rel_build" && tar -xf -)
    chown -R "$TEST_USER:" "$WORK"
    chmod 0755 "$WORK"

    set +e
    # What needs root: the database shared by the tool's user and httpd's
    # (t/root/*.t runs commands as each).
    MS_BUILD="$WORK/tree/$rel_build" prove "$WORK/tree/t/root/" </dev/null
    root_rc=$?
    runuser -u "$TEST_USER" -- env HOME="$WORK" PATH="$PATH" LANG=C \
        PROVE_JOBS="${PROVE_JOBS:-2}" MS_KEEP="${MS_KEEP:-}" \
        TEST_TIMEOUT="${TEST_TIMEOUT:-480}" \
        sh "$WORK/tree/scripts/run-tests.sh" "$rel_build" </dev/null
    rc=$?
    [ "$rc" -eq 0 ] && rc=$root_rc
    set -e
    stop_work
    if [ "$rc" -eq 0 ] && [ -z "${MS_KEEP:-}" ]; then
        rm -rf "$WORK"
    else
        echo "run-tests.sh: the test tree and its logs are kept in $WORK/tree/t/tmp" >&2
    fi
    trap - EXIT
    exit "$rc"
fi

# --- as a normal user ----------------------------------------------------------------
cd "$ROOT"
BUILD=${BUILD%/}
case "$BUILD" in
    "$ROOT"/*) BUILD=${BUILD#"$ROOT"/} ;;
esac
TMPDIR_T=$ROOT/t/tmp
mkdir -p "$TMPDIR_T"

stop_all() {
    stop_strays "$TMPDIR_T/"
}
trap 'stop_all' EXIT
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

for f in "$BUILD/mod_mirrorsel.so" "$BUILD/mirrorsel" "$BUILD/t/ms_fixture"; do
    [ -e "$f" ] || { echo "run-tests.sh: $f is missing: build first (make all unit)" >&2; exit 1; }
done

# Shared, generated test data: geolocation databases and a TLS certificate.
rm -rf "$TMPDIR_T/geo" "$TMPDIR_T/ssl"
perl scripts/mkmmdb.pl "$TMPDIR_T/geo"
mkdir -p "$TMPDIR_T/ssl"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' \
    -addext 'basicConstraints=critical,CA:FALSE' \
    -keyout "$TMPDIR_T/ssl/key.pem" -out "$TMPDIR_T/ssl/cert.pem" 2>/dev/null

# The C unit tests, one TAP program per t/unit/*.c, and the fuzzing
# harnesses over their corpus (fuzz/replay.c), one per fuzz/fuzz_*.c.
units=""
for src in t/unit/*.c fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    bin=$BUILD/t/$(basename "$src" .c)
    if [ ! -x "$bin" ]; then
        echo "run-tests.sh: $bin is missing: build first (make unit)" >&2
        exit 1
    fi
    units="$units $bin"
done

# The Perl tests: every t/<dir>/*.t but the unit tests' directory.
tests=""
for f in t/*/*.t; do
    case "$f" in t/unit/*|t/tmp*) continue ;; esac
    if [ -e "$f" ]; then tests="$tests $f"; fi
done

export MS_BUILD="$BUILD" MS_TMP="$TMPDIR_T"
# prove runs the .t files with perl and the unit test programs as executables.
# shellcheck disable=SC2086
timeout --kill-after=20 "${TEST_TIMEOUT:-480}" \
    prove -j"${PROVE_JOBS:-2}" --timer -I t/support $tests $units
