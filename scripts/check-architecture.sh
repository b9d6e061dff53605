#!/usr/bin/env bash
# The house rules as a check (part of `just lint`): no domain imports the app state, infra
# imports no domain, no source file passes 600 lines. Files that broke a rule before the check
# existed are listed in scripts/architecture-debt.txt; the list may only shrink: a new breach
# fails, and so does an entry whose file now keeps the rule (delete its line).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MAX_LINES=600
debt=scripts/architecture-debt.txt

current() {
  grep -rl --include='*.rs' -E 'crate::state\b|crate::state::' src/domains | sed 's/^/state-import /' || true
  grep -rl --include='*.rs' -E 'crate::domains' src/infra | sed 's/^/infra-imports-domain /' || true
  find src -name '*.rs' -print0 | xargs -0 wc -l | awk -v max="$MAX_LINES" '$2 != "total" && $1 > max { print "over-" max "-lines " $2 }'
}

found=$(current | sort -u)
allowed=$(grep -v '^#' "$debt" | sed '/^$/d' | sort -u)
new=$(comm -23 <(printf '%s\n' "$found") <(printf '%s\n' "$allowed") | sed '/^$/d')
paid=$(comm -13 <(printf '%s\n' "$found") <(printf '%s\n' "$allowed") | sed '/^$/d')
status=0
if [ -n "$new" ]; then
  printf 'architecture: new breaches of the house rules (see ARCHITECTURE.md):\n%s\n' "$new" >&2
  status=1
fi
if [ -n "$paid" ]; then
  printf 'architecture: these no longer breach a rule; delete their lines from %s:\n%s\n' "$debt" "$paid" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "architecture: ok ($(printf '%s\n' "$allowed" | sed '/^$/d' | wc -l) known breaches left)"
exit "$status"
