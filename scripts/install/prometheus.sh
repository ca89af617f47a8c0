#!/usr/bin/env bash
# Install the Prometheus server from Debian (used by tests/observability to scrape mobu's /metrics).
# Idempotent: does nothing when the binary is already there. Needs root and apt-get; otherwise it
# says why and exits 0, and the Prometheus test skips with that reason.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1; then
  echo "prometheus: already installed ($(prometheus --version 2>&1 | head -1))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "prometheus: not installed and not root; tests needing Prometheus will be skipped"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "prometheus: apt-get not available; tests needing Prometheus will be skipped"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Other installers may hold the dpkg lock: wait for it rather than fail.
APT=(apt-get -o DPkg::Lock::Timeout=600)
if ! "${APT[@]}" install -y --no-install-recommends prometheus >/dev/null 2>&1; then
  "${APT[@]}" update -qq
  "${APT[@]}" install -y --no-install-recommends prometheus >/dev/null
fi
# Debian never starts services here (policy-rc.d); the tests start their own instance on a free
# loopback port, so nothing else is needed.
echo "prometheus: installed ($(prometheus --version 2>&1 | head -1))"
