#!/bin/sh
# check-install.sh DESTDIR — after `make install DESTDIR=...`: every program
# and module the files in conf/ name (the module mirrorsel.load loads, the
# programs the systemd units start) was installed where they look for it.
set -eu
DEST=${1:?usage: check-install.sh DESTDIR}
cd "$(dirname "$0")/.."
fail=0
check() {   # check FILE PATH
    if [ -e "$DEST$2" ]; then
        echo "ok: $1 names $2, installed"
    else
        echo "check-install: $1 names $2, which make install did not install" >&2
        fail=1
    fi
}
module=$(sed -n 's/^ *Define MIRRORSEL_MODULE \(\/[^ ]*\).*/\1/p' conf/mirrorsel.load)
[ -n "$module" ] || { echo "check-install: no module path in conf/mirrorsel.load" >&2; exit 1; }
check conf/mirrorsel.load "$module"
n=0
for unit in conf/*.service; do
    for prog in $(sed -n 's/^ExecStart=\(\/[^ ]*\).*/\1/p' "$unit"); do
        check "$unit" "$prog"
        n=$((n + 1))
    done
done
[ "$n" -gt 0 ] || { echo "check-install: no ExecStart in conf/*.service" >&2; exit 1; }
exit $fail
