#!/usr/bin/env bash
# Runs every test of ccwpass: the Bazel test suite (warnings are errors) and a
# short bounded run of each libFuzzer target. Installs what it needs first.
# Usage: scripts/test.sh            (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

status=0
bazel test --config=ci //... || status=$?

# One line that counts the test cases run, from the JUnit XML Bazel writes: the
# first <testsuites> or <testsuite> element with a tests= count in each file.
passed=0 failed=0
attr() { grep -o " $1=\"[0-9]*\"" <<<"$2" | grep -o '[0-9]*' || echo 0; }
while IFS= read -r xml; do
  head_tag=$(grep -o '<testsuites\? [^>]*tests="[0-9]*"[^>]*>' "$xml" | head -n 1 || true)
  [ -n "$head_tag" ] || continue
  t=$(attr tests "$head_tag") f=$(attr failures "$head_tag") e=$(attr errors "$head_tag")
  passed=$((passed + t - f - e))
  failed=$((failed + f + e))
done < <(find -L bazel-testlogs/ -name test.xml 2>/dev/null)

if [ -x tools/fuzz.sh ]; then
  tools/fuzz.sh "${CCWPASS_FUZZ_SECONDS:-20}" || status=$?
fi

echo "tests: ${passed} passed, ${failed} failed"
exit $status
