#!/usr/bin/env bash
# The standard graphql-ws npm client the subscription tests drive, and the Standard Webhooks
# verifier the webhook tests check signatures with (npm registry only). Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ws_client="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/ws-client" && pwd)"
if [ ! -d "$ws_client/node_modules/graphql-ws" ] || [ ! -d "$ws_client/node_modules/standardwebhooks" ] || [ "$ws_client/package-lock.json" -nt "$ws_client/node_modules/.package-lock.json" ]; then
  log "installing the graphql-ws test client"
  (cd "$ws_client" && npm ci --no-audit --no-fund --loglevel=error)
fi
