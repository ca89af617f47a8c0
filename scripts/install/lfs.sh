#!/usr/bin/env bash
# Install what the GitLFS tests and demo need: git-lfs (Debian) and giftless + gunicorn in their own
# venv under .services/giftless-venv (giftless pins old Flask/PyJWT, which must not reach the
# project's venv). Idempotent: a second run checks versions and returns at once.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="$ROOT/.services/giftless-venv"
STAMP="$VENV/.mobu-installed"
# giftless 0.6.2 declares no dependencies: these are upstream's pins, with PyJWT 2.9.0 (2.10 rejects
# giftless's upload tokens, so pushes fail with 401).
PACKAGES=(
    "giftless==0.6.2" "figcan==0.0.4" "flask~=2.3" "flask-marshmallow~=0.15.0" "marshmallow~=3.21"
    "webargs~=8.4" "flask-classful~=0.16" "werkzeug~=3.0" "pyyaml~=6.0" "PyJWT==2.9.0"
    "python-dotenv~=1.0" "python-dateutil~=2.8" "typing-extensions" "cachetools~=5.3"
    "importlib-metadata" "gunicorn==23.0.0"
)
WANT="${PACKAGES[*]}"

if ! command -v git-lfs >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "lfs: installing git-lfs from Debian"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q --no-install-recommends git-lfs >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends git-lfs >/dev/null; } \
            || true
    fi
fi
if ! command -v git-lfs >/dev/null 2>&1; then
    echo "lfs: git-lfs is not available and cannot be installed here (not root or no apt-get);"
    echo "lfs: the GitLFS tests will be skipped"
    exit 0
fi

if [ -x "$VENV/bin/gunicorn" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    echo "lfs: git-lfs $(git-lfs version | cut -d' ' -f1) and giftless already installed in $VENV"
    exit 0
fi
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -m venv --help >/dev/null 2>&1; then
    echo "lfs: $PYTHON cannot create venvs; the GitLFS tests will be skipped"
    exit 0
fi
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PYTHON" -m venv "$VENV"
if ! "$VENV/bin/pip" install -q --disable-pip-version-check "${PACKAGES[@]}"; then
    echo "lfs: pip install of giftless failed; the GitLFS tests will be skipped"
    rm -rf "$VENV"
    exit 0
fi
echo "$WANT" > "$STAMP"
echo "lfs: giftless installed in $VENV ($("$VENV/bin/gunicorn" --version 2>&1 | head -1))"
