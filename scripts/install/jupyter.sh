#!/usr/bin/env bash
# Install configurable-http-proxy (npm) for the local JupyterHub used by the tests and `mobu demo`.
# Idempotent: a second run returns at once. Installs into $MOBU_PLATFORM_DIR/jupyter/ (default
# .services/jupyter/, git-ignored).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="${MOBU_PLATFORM_DIR:-$ROOT/.services}/jupyter"
VERSION="5.3.0"
BIN="$DEST/node_modules/.bin/configurable-http-proxy"
if [ -x "$BIN" ] && grep -q "\"version\": \"$VERSION\"" "$DEST/node_modules/configurable-http-proxy/package.json" 2>/dev/null; then
    echo "jupyter: configurable-http-proxy $VERSION already installed in $DEST"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "jupyter: installing nodejs and npm from Debian"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null || true
    fi
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "jupyter: npm is not available and cannot be installed here (not root or no apt-get);"
    echo "jupyter: the JupyterHub tests will be skipped"
    exit 0
fi
mkdir -p "$DEST"
cd "$DEST"
[ -f package.json ] || echo '{"name": "mobu-jupyter-services", "private": true}' > package.json
if ! npm install --no-fund --no-audit --loglevel=error "configurable-http-proxy@$VERSION"; then
    echo "jupyter: npm install of configurable-http-proxy failed; the JupyterHub tests will be skipped"
    exit 0
fi
echo "jupyter: configurable-http-proxy $VERSION installed at $BIN"
