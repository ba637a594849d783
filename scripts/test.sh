#!/usr/bin/env bash
# Runs every test of ccwpass: the Bazel test suite (warnings are errors), a
# short bounded run of each libFuzzer target, and the end-to-end test on the
# real vfio_ccw driver in an s390x guest under QEMU (tests/qemu/e2e.sh; the
# first run on a machine builds the guest kernel, ~15-20 min on a busy 2-core
# machine). Installs what it needs first.
# Usage: scripts/test.sh            (from anywhere; CCWPASS_SKIP_QEMU=1 skips the QEMU test)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

status=0
bazel test --config=ci //... || status=$?

# One line that counts the test cases run, from the JUnit XML Bazel writes: the
# first <testsuites> or <testsuite> element with a tests= count in each file.
# Only the files of this workspace's current test targets count (not those
# left by earlier --runs_per_test runs or by targets since removed).
passed=0 failed=0
attr() { grep -o " $1=\"[0-9]*\"" <<<"$2" | grep -o '[0-9]*' || echo 0; }
while IFS= read -r xml; do
  head_tag=$(grep -o '<testsuites\? [^>]*tests="[0-9]*"[^>]*>' "$xml" | head -n 1 || true)
  [ -n "$head_tag" ] || continue
  t=$(attr tests "$head_tag") f=$(attr failures "$head_tag") e=$(attr errors "$head_tag")
  passed=$((passed + t - f - e))
  failed=$((failed + f + e))
done < <(bazel query 'tests(//...)' --output=label 2>/dev/null | sed -E 's#^//##; s#:#/#' |
  while IFS= read -r t; do
    ls bazel-testlogs/"$t"/test.xml bazel-testlogs/"$t"/shard_*/test.xml 2>/dev/null || true
  done)

if [ -x tools/fuzz.sh ]; then
  tools/fuzz.sh "${CCWPASS_FUZZ_SECONDS:-20}" || status=$?
fi

if [ "${CCWPASS_SKIP_QEMU:-}" != 1 ]; then
  qemu_log=$(mktemp)
  CCWPASS_BAZEL_FLAGS=--config=ci timeout --kill-after=30 3600 tests/qemu/e2e.sh 2>&1 | tee "$qemu_log" || status=1
  line=$(grep -E '^qemu-e2e: [0-9]+ passed, [0-9]+ failed$' "$qemu_log" | tail -n 1 || true)
  if [ -n "$line" ]; then
    passed=$((passed + $(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")))
    failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
  else
    failed=$((failed + 1))  # it did not get as far as its checks
  fi
  rm -f "$qemu_log"
fi

echo "tests: ${passed} passed, ${failed} failed"
exit $status
