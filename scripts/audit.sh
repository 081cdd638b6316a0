#!/usr/bin/env bash
# Supply chain check: known vulnerabilities (high or critical) in the packages
# Parley ships (dev tools excluded). A finding fails. A registry that does not
# serve the audit endpoint (some mirrors answer 405) cannot say either way: that
# is printed loudly and passes, unless PARLEY_REQUIRE_AUDIT=1 makes it fail.
set -uo pipefail
cd "$(dirname "$0")/.."

output=$(npm audit --omit=dev --audit-level=high 2>&1)
status=$?
echo "$output"
if [ $status -ne 0 ] && grep -q "audit endpoint returned an error" <<<"$output"; then
  echo "!!! audit: the registry did not answer the audit endpoint — vulnerabilities NOT checked" >&2
  [ "${PARLEY_REQUIRE_AUDIT:-0}" = "1" ] && exit 1
  exit 0
fi
exit $status
