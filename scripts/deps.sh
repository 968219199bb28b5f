#!/bin/sh
# deps.sh — make sure the Debian packages the project needs are installed.
#
# Quiet when everything is present. As root, installs what is missing with
# apt-get (running `apt-get update` first when the package lists look empty,
# or again when an install fails). As another user, prints the exact command
# to run and exits 1.
set -eu

PACKAGES="
build-essential
apache2
apache2-dev
libapr1-dev
libaprutil1-dev
libpcre2-dev
libmaxminddb-dev
mmdb-bin
libsqlite3-dev
sqlite3
libcurl4-openssl-dev
libssl-dev
openssl
libmaxmind-db-writer-perl
libmaxmind-db-reader-perl
libnet-works-perl
libjson-perl
libio-socket-ssl-perl
perl
curl
rsync
aria2
wrk
libxml2-utils
chromium
wget
proftpd-core
proftpd-mod-crypto
nginx-light
lighttpd
openssh-server
openssh-client
"

missing=""
for pkg in $PACKAGES; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing="$missing $pkg"
    fi
done

[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing Debian packages:$missing" >&2
    echo "deps.sh: run as root: DEBIAN_FRONTEND=noninteractive $cmd" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps.sh: installing:$missing"
# Wait for another apt/dpkg run (unattended upgrades, a parallel install)
# instead of failing at once on its lock.
APT="apt-get -q -o DPkg::Lock::Timeout=600"

# Installing a server package (apache2, nginx, lighttpd, sshd, proftpd) must
# not start it: several would fight over port 80, and the tests start their
# own on free ports. Unless the machine has a policy already, forbid starts
# for the duration of the install.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# written by mod_mirrorsel scripts/deps.sh during an install\nexit 101\n' \
        > /usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    trap 'rm -f /usr/sbin/policy-rc.d; exit 130' INT
    trap 'rm -f /usr/sbin/policy-rc.d; exit 143' TERM
fi

# Empty package lists (a fresh container) make every install fail: update first.
lists_empty() {
    ! ls /var/lib/apt/lists/ 2>/dev/null | grep -q '_Packages'
}
if lists_empty; then
    $APT update
fi
# shellcheck disable=SC2086
if ! $APT install -y --no-install-recommends $missing; then
    echo "deps.sh: install failed; updating the package lists and retrying" >&2
    $APT update
    # shellcheck disable=SC2086
    $APT install -y --no-install-recommends $missing
fi
