#!/usr/bin/env bash
# Shared paths and helpers for the service scripts. Sourced, never run.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${AUTONOMOS_STATE_DIR:-$REPO_ROOT/.state}"
PG_PORT="${AUTONOMOS_PG_PORT:-54329}"
REDIS_PORT="${AUTONOMOS_REDIS_PORT:-63790}"
PG_BIN="/usr/lib/postgresql/15/bin"
PG_DATA="$STATE_DIR/postgres/data"
PG_SOCKET_DIR="$STATE_DIR/postgres/socket"
PG_LOG="$STATE_DIR/postgres/postgres.log"
REDIS_DIR="$STATE_DIR/redis"

log() { printf '[services] %s\n' "$*" >&2; }

# Run a command as root when we are not root already (apt-get needs it).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# PostgreSQL refuses to run as root, so the server runs as the `postgres` OS user.
as_postgres() {
  if [ "$(id -un)" = "postgres" ]; then "$@"; else as_root runuser -u postgres -- "$@"; fi
}

APT_UPDATED=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    # `dpkg -s` also succeeds for removed packages whose config files remain.
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  log "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
