#!/usr/bin/env bash
# Runs `ccwctl program check` on every example program in docs/examples/ and
# compares its exit code and its one JSON line with the expectations below.
# The expectations are written by hand from the references (counts worked out
# in README.md), not computed by the code under test. `ccwctl program show`
# must agree on the exit code. An example without an expectation fails the test.
set -u

root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
ccwctl="$root/ctl/ccwctl"
dir="$root/docs/examples"
failures=0
checked=()

# expect FILE EXIT_CODE JSON_LINE
expect() {
  local file=$1 want_rc=$2 want=$3 got rc show_rc
  checked+=("$file")
  got=$("$ccwctl" program check "$dir/$file" 2>&1)
  rc=$?
  if [[ "$rc" != "$want_rc" || "$got" != "$want" ]]; then
    echo "FAIL check $file"
    echo "  want (exit $want_rc): $want"
    echo "  got  (exit $rc): $got"
    failures=$((failures + 1))
  fi
  "$ccwctl" program show "$dir/$file" >/dev/null 2>&1
  show_rc=$?
  if [[ "$show_rc" != "$want_rc" ]]; then
    echo "FAIL show $file: exit $show_rc, want $want_rc"
    failures=$((failures + 1))
  fi
}

expect sense-id.json 0 \
  '{"verdict":"accepted","chains":1,"ccws":1,"idaws":1,"bytes":256}'
expect sense-id-raw.json 0 \
  '{"verdict":"accepted","chains":1,"ccws":1,"idaws":1,"bytes":256}'
# DE (track 0 only) + LR (orient to R3, read data, 1 record, TLF 80) + READ DATA 80:
# three data-moving CCWs, one IDAW each (16 + 16 + 80 bytes within one arena page).
expect vol1-label.json 0 \
  '{"verdict":"accepted","chains":1,"ccws":3,"idaws":3,"bytes":112}'
expect dasd-read-4k.json 0 \
  '{"verdict":"accepted","chains":1,"ccws":3,"idaws":4,"bytes":4128}'
expect dasd-write-4k.json 0 \
  '{"verdict":"accepted","chains":1,"ccws":3,"idaws":4,"bytes":4128}'
expect ipl-eckd.json 0 \
  '{"verdict":"accepted","chains":1,"ccws":4,"idaws":3,"bytes":115}'
expect tic-loop.json 0 \
  '{"verdict":"accepted","chains":2,"ccws":5,"idaws":4,"bytes":4107}'
expect rejected-chain-too-long.json 1 \
  '{"verdict":"rejected","errno":"EINVAL","rule":"chain-too-long","reason":"ccw 256 at 0x1800: the chain at 0x1000 continues past 256 CCWs [EINVAL]","ccw_addr":"0x1800","ccw_index":256}'
expect rejected-transport-mode.json 1 \
  '{"verdict":"rejected","errno":"EOPNOTSUPP","rule":"transport-mode","reason":"transport-mode ORB (B bit set): vfio-ccw runs command-mode programs only [EOPNOTSUPP]"}'
expect rejected-data-outside.json 1 \
  '{"verdict":"rejected","errno":"EFAULT","rule":"data-outside-memory","reason":"ccw 0 at 0x1000: data at 0x2000 (256 bytes) is outside the client'"'"'s memory of 0x2000 bytes [EFAULT]","ccw_addr":"0x1000","ccw_index":0}'

# Every example must have an expectation.
for path in "$dir"/*.json; do
  name=$(basename "$path")
  found=0
  for c in "${checked[@]}"; do [[ "$c" == "$name" ]] && found=1; done
  if [[ $found == 0 ]]; then
    echo "FAIL $name has no expectation in examples_test.sh"
    failures=$((failures + 1))
  fi
done

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all ${#checked[@]} examples as expected"
