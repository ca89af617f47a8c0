#!/usr/bin/env bash
# Install GAVO DaCHS (TAP + UWS + SIA v2) from Debian for the IVOA tests and the demo.
#
# Idempotent: a second run only checks that the package is installed. Needs root and apt-get;
# without them it says why and exits 0 (the tests marked "dachs" are then skipped).
#
# Gotcha: the package's postinst creates its database, so the system PostgreSQL cluster must be
# running while it configures. Nothing starts services by itself here (policy-rc.d), so this
# script starts the cluster for the install and stops it again if it was down before. The
# server the tests use runs on its own PostgreSQL data directory under .services/dachs/
# (see src/mobu/platform/dachs/), not on this cluster.
set -euo pipefail

log() { printf '[dachs-install] %s\n' "$*"; }

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

if installed gavodachs2-server && command -v dachs >/dev/null 2>&1; then
  log "gavodachs2-server is installed ($(dpkg-query -W -f='${Version}' gavodachs2-server))"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  log "not root: cannot apt-get install gavodachs2-server; the IVOA (dachs) tests will be skipped"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  log "no apt-get on this machine; the IVOA (dachs) tests will be skipped"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
t0=$SECONDS
if ! apt-cache show gavodachs2-server >/dev/null 2>&1; then
  apt-get update -q >/dev/null
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  apt-get install -y -q --no-install-recommends postgresql >/dev/null
fi

# The postinst needs a running cluster; start the default one for the duration of the install.
version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
cluster=$(pg_lsclusters -h | awk 'NR==1 {print $2}')
if [ -z "$version" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  cluster=main
  pg_createcluster "$version" "$cluster" >/dev/null
fi
started=0
if ! pg_ctlcluster "$version" "$cluster" status >/dev/null 2>&1; then
  pg_ctlcluster "$version" "$cluster" start
  started=1
fi
stop_cluster() {
  if [ "$started" = 1 ]; then
    pg_ctlcluster "$version" "$cluster" stop || true
  fi
}
trap stop_cluster EXIT

apt_log=$(mktemp /tmp/dachs-apt.XXXXXX.log)
if ! apt-get install -y -q --no-install-recommends gavodachs2-server >"$apt_log" 2>&1; then
  log "apt-get install failed (log: $apt_log); retrying the package configuration"
  dpkg --configure -a >>"$apt_log" 2>&1
fi
installed gavodachs2-server || { log "gavodachs2-server did not install; see $apt_log"; exit 1; }
log "installed gavodachs2-server $(dpkg-query -W -f='${Version}' gavodachs2-server) in $((SECONDS - t0)) s"
