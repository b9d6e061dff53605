#!/usr/bin/env bash
# Installs PostgreSQL 15 + pgvector (built from Debian's source package) and Redis. Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PGVECTOR_MIN="0.8"

pgvector_installed() {
  local control="/usr/share/postgresql/15/extension/vector.control"
  [ -f "$control" ] || return 1
  local v
  v="$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$control")"
  # version compare: installed >= minimum
  [ "$(printf '%s\n%s\n' "$PGVECTOR_MIN" "$v" | sort -V | head -n1)" = "$PGVECTOR_MIN" ]
}

install_pgvector() {
  pgvector_installed && return 0
  log "building pgvector from Debian's source package"
  apt_install postgresql-server-dev-15 build-essential dpkg-dev
  local src_list=/etc/apt/sources.list.d/autonomos-trixie-src.sources
  if [ ! -f "$src_list" ]; then
    as_root tee "$src_list" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  local work="$STATE_DIR/build/pgvector"
  rm -rf "$work" && mkdir -p "$work"
  (cd "$work" && apt-get source -qq pgvector >/dev/null 2>&1 || (cd "$work" && apt-get source pgvector))
  local dir
  dir="$(find "$work" -maxdepth 1 -mindepth 1 -type d -name 'pgvector-*' | head -n1)"
  [ -n "$dir" ] || { log "pgvector source not found"; exit 1; }
  make -s -C "$dir" PG_CONFIG="$PG_BIN/pg_config" OPTFLAGS="" >/dev/null
  as_root make -s -C "$dir" PG_CONFIG="$PG_BIN/pg_config" install >/dev/null
  pgvector_installed || { log "pgvector install did not produce version >= $PGVECTOR_MIN"; exit 1; }
}

apt_install postgresql-15 postgresql-client-15 redis-server
install_pgvector
log "services installed (PostgreSQL 15 + pgvector, Redis)"
