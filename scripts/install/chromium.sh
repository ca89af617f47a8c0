#!/usr/bin/env bash
# Install Debian's chromium (used by tests/loadtest to open the load-test report headless and check
# that its charts are drawn). Idempotent: does nothing when /usr/bin/chromium is already there.
# Needs root and apt-get; otherwise it says why and exits 0, and the browser test skips with that
# reason. Never downloads a browser any other way (no `playwright install`).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium: not installed and not root; tests needing a browser will be skipped"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium: apt-get not available; tests needing a browser will be skipped"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Other installers may hold the dpkg lock: wait for it rather than fail.
APT=(apt-get -o DPkg::Lock::Timeout=600)
if ! "${APT[@]}" install -y --no-install-recommends chromium >/dev/null 2>&1; then
  "${APT[@]}" update -qq
  "${APT[@]}" install -y --no-install-recommends chromium >/dev/null
fi
echo "chromium: installed ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
