#!/usr/bin/env bash
# The house rules as a check (part of `just lint`; see ARCHITECTURE.md): no domain imports the
# app state, infra and the tenancy kernel import no domain, only auth mints a TenantScope, and
# no source file passes 600 lines.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MAX_LINES=600

breaches() {
  grep -rl --include='*.rs' -E 'crate::state\b' src/domains | sed 's/^/a domain imports the app state: /' || true
  grep -rl --include='*.rs' -E 'crate::domains' src/infra src/tenancy.rs | sed 's/^/imports a domain: /' || true
  grep -rl --include='*.rs' -E 'TenantScope::mint' src | grep -v -E '^src/(domains/auth/|tenancy\.rs)' \
    | sed 's/^/mints a TenantScope outside auth: /' || true
  find src bench/src -name '*.rs' -print0 | xargs -0 wc -l \
    | awk -v max="$MAX_LINES" '$2 != "total" && $1 > max { print "over " max " lines: " $2 }'
}

found=$(breaches)
if [ -n "$found" ]; then
  printf 'architecture: breaches of the house rules:\n%s\n' "$found" >&2
  exit 1
fi
echo "architecture: ok"
