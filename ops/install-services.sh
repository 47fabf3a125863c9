#!/bin/sh
# Install the services Sésame's integration tests and sandbox run for real: a Samba AD DC, Redis, PostgreSQL
# (the ledger's tests run on it as well as SQLite: tests/fixtures/postgres.py starts a private cluster with the
# package's initdb/pg_ctl), and Debian's chromium, which the dashboard's browser tests drive headless
# (tests/integration/test_dashboard_browser.py).
#
# Idempotent and quiet when everything is present. As root, installs what is missing with apt-get
# (Debian/Ubuntu) without letting the packages start any daemon, now or at boot: the tests start their own
# Samba, Redis and PostgreSQL on loopback and own their PIDs. As another user, prints what to install and exits 1.
set -eu

PACKAGES="samba samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind ldb-tools redis-server postgresql chromium"
POLICY_RC=/usr/sbin/policy-rc.d

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
    for package in $PACKAGES; do
        installed "$package" || missing="$missing $package"
    done
else
    # Not a dpkg system: judge by the commands the tests run.
    for command in samba samba-tool ldbsearch redis-server chromium; do
        PATH="$PATH:/usr/sbin:/sbin" command -v "$command" >/dev/null 2>&1 || missing="$missing $command"
    done
    server=""
    for initdb in /usr/lib/postgresql/*/bin/initdb; do
        [ -x "$initdb" ] && server="$initdb"
    done
    [ -n "$server" ] || missing="$missing postgresql"
fi
missing="${missing# }"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    # printf '%s\n' rather than echo: dash's echo would expand the \n meant for the reader's shell.
    printf '%s\n' >&2 \
        "install-services: missing: $missing" \
        "install them as root, without starting their daemons, e.g. on Debian 12:" \
        "  [ -e $POLICY_RC ] || { printf '#!/bin/sh\\nexit 101\\n' > $POLICY_RC && chmod +x $POLICY_RC; }" \
        "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing"
    exit 1
fi

# policy-rc.d exiting 101 tells dpkg not to start services (no nmbd broadcasting, no Redis on :6379).
# One we create is removed afterwards, so the machine's later installs behave as before.
if [ ! -e "$POLICY_RC" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$POLICY_RC"
    chmod +x "$POLICY_RC"
    trap 'rm -f "$POLICY_RC"' EXIT
fi

echo "install-services: installing $missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086  # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing

# Debian's postgresql creates a "main" cluster that would start at boot: make it manual (the tests never use it).
for start_conf in /etc/postgresql/*/*/start.conf; do
    [ -f "$start_conf" ] || continue
    grep -qx manual "$start_conf" || echo manual > "$start_conf"
done
