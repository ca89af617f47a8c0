#!/usr/bin/env bash
# Install what the GitLFS tests and demo need: git-lfs (Debian) and giftless + gunicorn in their own
# venv under $MOBU_PLATFORM_DIR/giftless-venv (default .services/; giftless pins old Flask/PyJWT,
# which must not reach the project's venv). Idempotent: a second run checks versions and returns at once.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${MOBU_PLATFORM_DIR:-$ROOT/.services}/giftless-venv"
STAMP="$VENV/.mobu-installed"
# giftless 0.6.2 declares no dependencies: upstream's requirements, resolved and pinned exactly here.
# PyJWT stays at 2.9.0: 2.10 rejects giftless's upload tokens ("sub": null), so pushes fail with 401.
PACKAGES=(
    giftless==0.6.2 figcan==0.0.4 Flask==2.3.3 Flask-Classful==0.16.0 flask-marshmallow==0.15.0
    marshmallow==3.26.2 webargs==8.7.1 Werkzeug==3.1.9 PyYAML==6.0.4 PyJWT==2.9.0
    python-dotenv==1.2.4 python-dateutil==2.9.0.post0 typing_extensions==4.16.0 cachetools==5.5.2
    importlib_metadata==10.2.0 gunicorn==23.0.0 blinker==1.9.0 click==8.5.1 itsdangerous==2.2.0
    Jinja2==3.1.6 MarkupSafe==3.0.4 packaging==26.4 six==1.17.0 zipp==4.1.2 lazy-importer==0.1.0
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
