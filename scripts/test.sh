#!/usr/bin/env bash
# Builds, then runs every test (unit, integration against vsftpd, mount tests with FUSE) and prints a
# summary per label. Exits non-zero if any test failed.
# FTPFS_REQUIRE_ALL=1 turns "skipped: vsftpd or /dev/fuse missing" into failures (CI sets it), and
# also fails a label that has no tests at all.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build.sh

total_timeout=${FTPFS_TEST_TIMEOUT:-3600}
require_all=${FTPFS_REQUIRE_ALL:-0}
failed=0
summary=()
for label in unit integration mount; do
  echo "=== ${label} tests ==="
  log=$(mktemp)
  set +e
  timeout --kill-after=30 "$total_timeout" \
    ctest --test-dir build --output-on-failure -j2 -L "^${label}\$" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  line=$(grep -E '^[0-9]+% tests passed' "$log" | tail -n1 || true)
  if grep -q 'No tests were found' "$log"; then
    line="no tests"
    if [[ $require_all != 0 && $require_all != "" ]]; then rc=1; fi
  fi
  skipped=$(grep -c '\*\*\*Skipped\|Not Run (Disabled)' "$log" || true)
  summary+=("$(printf '%-12s %s%s' "$label" "${line:-ctest failed (exit $rc)}" \
    "$([[ $skipped -gt 0 ]] && echo ", $skipped skipped")")")
  [[ $rc -ne 0 ]] && failed=1
  rm -f "$log"
done

echo
echo "=== summary ==="
printf '%s\n' "${summary[@]}"
if [[ $failed -ne 0 ]]; then
  echo "FAILED"
  exit 1
fi
echo "OK"
