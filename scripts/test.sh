#!/usr/bin/env bash
# Runs every test of ccwpass: the Bazel test suite (warnings are errors) and a
# short bounded run of each libFuzzer target. Installs what it needs first.
# Usage: scripts/test.sh            (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

status=0
bazel test --config=ci //... || status=$?

# One line that counts the test cases run (from the JUnit XML Bazel writes).
passed=0 failed=0
while IFS= read -r xml; do
  t=$(grep -o '<testsuites[^>]*' "$xml" | grep -o ' tests="[0-9]*"' | grep -o '[0-9]*' | head -1)
  f=$(grep -o '<testsuites[^>]*' "$xml" | grep -o ' failures="[0-9]*"' | grep -o '[0-9]*' | head -1)
  e=$(grep -o '<testsuites[^>]*' "$xml" | grep -o ' errors="[0-9]*"' | grep -o '[0-9]*' | head -1)
  t=${t:-0} f=${f:-0} e=${e:-0}
  passed=$((passed + t - f - e))
  failed=$((failed + f + e))
done < <(find -L bazel-testlogs/ -name test.xml 2>/dev/null)

if [ -x tools/fuzz.sh ]; then
  tools/fuzz.sh "${CCWPASS_FUZZ_SECONDS:-20}" || status=$?
fi

echo "tests: ${passed} passed, ${failed} failed"
exit $status
