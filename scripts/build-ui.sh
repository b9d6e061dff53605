#!/usr/bin/env bash
# Builds the reporting UI into frontend/dist (served by the API at `/`), installing what it
# needs first: npm packages from the registry, Debian's Chromium for the browser tests. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ui="$(cd "$(dirname "${BASH_SOURCE[0]}")/../frontend" && pwd)"
if ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium (browser tests)"
  apt_install chromium
fi
if [ ! -d "$ui/node_modules/vite" ] || [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
  log "installing the UI's npm packages"
  # `npm install`, not `npm ci`: the lock names rollup's native builds for every platform, and
  # npm ci refuses a lock that lists optional packages it did not resolve here.
  (cd "$ui" && npm install --no-audit --no-fund --loglevel=error)
fi
log "building the UI"
(cd "$ui" && npm run --silent build >/dev/null)
