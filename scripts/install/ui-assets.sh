#!/usr/bin/env bash
# Vendor the dashboard's front-end pieces (docs/history.md, "Dashboard") from the npm registry:
# htmx (live updates) and uPlot (time-series charts), pinned, into
# $MOBU_PLATFORM_DIR/ui-assets/vendor (default ./.services/ui-assets/vendor), where `mobu serve`
# finds them (MOBU_UI_ASSETS_DIR overrides). No build step, no CDN: once installed the dashboard
# works offline. Idempotent; without npm it says why and exits 0 (the pages then render and say
# that the assets are missing).
set -euo pipefail

HTMX_VERSION=2.0.11
UPLOT_VERSION=1.6.32

root="${MOBU_PLATFORM_DIR:-$PWD/.services}/ui-assets"
vendor="$root/vendor"
stamp="$vendor/.versions"
want="htmx.org@$HTMX_VERSION uplot@$UPLOT_VERSION"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "ui-assets: already installed ($want) in $vendor"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "ui-assets: npm not available; the dashboard will render without charts and live updates"
  exit 0
fi
mkdir -p "$root"
npm install --silent --no-audit --no-fund --no-save --prefix "$root" \
  "htmx.org@$HTMX_VERSION" "uplot@$UPLOT_VERSION" >/dev/null
rm -rf "$vendor.new"
mkdir -p "$vendor.new"
cp "$root/node_modules/htmx.org/dist/htmx.min.js" "$vendor.new/htmx.min.js"
cp "$root/node_modules/uplot/dist/uPlot.iife.min.js" "$vendor.new/uPlot.iife.min.js"
cp "$root/node_modules/uplot/dist/uPlot.min.css" "$vendor.new/uPlot.min.css"
cp "$root/node_modules/htmx.org/LICENSE" "$vendor.new/htmx.LICENSE"
cp "$root/node_modules/uplot/LICENSE" "$vendor.new/uPlot.LICENSE"
echo "$want" > "$vendor.new/.versions"
rm -rf "$vendor"
mv "$vendor.new" "$vendor"
echo "ui-assets: installed $want in $vendor"
