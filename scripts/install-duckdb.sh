#!/usr/bin/env bash
# Installs the prebuilt DuckDB C library (libduckdb.so) from the npm registry, where DuckDB's
# own Node bindings ship it. Compiling DuckDB's bundled C++ takes longer than CI allows on a
# small machine. The version must match the `duckdb` crate (1.10506.x ↔ DuckDB 1.5.6). Idempotent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DUCKDB_VERSION="1.5.6"
PACKAGE="@duckdb/node-bindings-linux-x64@${DUCKDB_VERSION}-r.1"
DEST="${DUCKDB_LIB_DIR:-$HOME/.cache/autonomos/duckdb/$DUCKDB_VERSION}"

if [ -f "$DEST/libduckdb.so" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { log "npm is needed to fetch DuckDB"; exit 1; }
log "installing DuckDB $DUCKDB_VERSION ($PACKAGE) into $DEST"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null && tar xzf ./*.tgz)
mkdir -p "$DEST"
cp "$work/package/libduckdb.so" "$DEST/libduckdb.so.tmp"
mv "$DEST/libduckdb.so.tmp" "$DEST/libduckdb.so"
