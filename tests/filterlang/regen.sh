#!/usr/bin/env bash
# Regenerates tests/filterlang/cases/*/expected with real Exim (exim-oracle).
# Usage: tests/filterlang/regen.sh [CASE...]     (default: every case)
# Each case's args always carry explicit --sender/--local-part/--domain/--home
# so the output does not depend on who runs it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
oracle="${EXIM_ORACLE:-$here/../../../shared/tools/exim-oracle}"
[ -x "$oracle" ] || oracle=/work/shared/tools/exim-oracle
cd "$here/cases"
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(*)
for c in "${cases[@]}"; do
  (
    cd "$c"
    eval "set -- $(cat args)"
    set +e
    "$oracle" filter "$@" < message > expected 2>/dev/null
    rc=$?
    set -e
    echo "exit: $rc" >> expected
  )
done
echo "regenerated ${#cases[@]} cases"
