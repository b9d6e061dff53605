#!/usr/bin/env bash
# Installs the command-line tools the justfile and CI need. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v just >/dev/null 2>&1; then
  log "installing just"
  apt_install just 2>/dev/null || cargo install --locked just
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    rustup component add "$component"
  fi
done
bash "$(dirname "${BASH_SOURCE[0]}")/install-ws-client.sh"
