#!/usr/bin/env bash
# Install the PostgreSQL server from Debian (used by tests/history to run the history store on a
# real PostgreSQL; mobu.platform.postgres makes a throwaway cluster on a free loopback port).
# Idempotent: does nothing when initdb and postgres are already there. Needs root and apt-get;
# otherwise it says why and exits 0, and the PostgreSQL tests skip with that reason.
set -euo pipefail

find_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

BIN=$(find_bin || true)
if [ -n "$BIN" ] && [ -x "$BIN/initdb" ] && [ -x "$BIN/postgres" ]; then
  echo "postgres: already installed ($("$BIN/postgres" --version))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "postgres: not installed and not root; tests needing PostgreSQL will be skipped"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "postgres: apt-get not available; tests needing PostgreSQL will be skipped"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Other installers may hold the dpkg lock: wait for it rather than fail.
APT=(apt-get -o DPkg::Lock::Timeout=600)
if ! "${APT[@]}" install -y --no-install-recommends postgresql >/dev/null 2>&1; then
  "${APT[@]}" update -qq
  "${APT[@]}" install -y --no-install-recommends postgresql >/dev/null
fi
# Debian never starts services here (policy-rc.d), and the tests do not use its cluster: they
# make their own with initdb, so nothing else is needed.
BIN=$(find_bin)
echo "postgres: installed ($("$BIN/postgres" --version))"
