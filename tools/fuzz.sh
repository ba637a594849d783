#!/usr/bin/env bash
# Builds the libFuzzer targets of translate/fuzz and sim/fuzz (clang, ASan + UBSan, --config=fuzz)
# in a separate Bazel output base and runs each for a bounded time on a copy of
# its seed corpus. Exits non-zero if any fuzzer finds a crash, a leak, a timeout
# or an out-of-memory, and prints the executions of each. See docs/fuzzing.md.
#
#   tools/fuzz.sh                      # every fuzzer, 20 s each (CI)
#   tools/fuzz.sh 600 translate_fuzzer # one fuzzer, 10 minutes
#   tools/fuzz.sh --build-only         # just build
#
# Environment:
#   CCWPASS_FUZZ_OUTPUT_BASE  Bazel output base (default ~/.cache/ccwpass-fuzz-<hash of the
#                             checkout's path>: one per work tree, never shared)
#   CCWPASS_FUZZ_WORKDIR      where the working corpora, logs and crash inputs go
#                             (default: a new temporary directory, kept and printed)
#   CCWPASS_FUZZ_JOBS         parallel fuzzing processes per target (default 1)
#   CCWPASS_FUZZ_FLAGS        more libFuzzer flags (e.g. "-max_len=70000")
set -euo pipefail

cd "$(dirname "$0")/.."
readonly ALL_TARGETS=(translate_fuzzer decoders_fuzzer program_file_fuzzer host_config_fuzzer sysfs_attr_fuzzer
  state_file_fuzzer program_proto_fuzzer)
# The package each fuzzer lives in; its seeds are in <package>/corpus/<fuzzer>.
pkg_of() {
  case "$1" in
    host_config_fuzzer) echo sim/fuzz ;;
    sysfs_attr_fuzzer|state_file_fuzzer|program_proto_fuzzer) echo agent/fuzz ;;
    *) echo translate/fuzz ;;
  esac
}

build_only=0
seconds=20
targets=()
for arg in "$@"; do
  case "$arg" in
    --build-only) build_only=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    ''|*[!0-9]*) targets+=("$arg") ;;
    *) seconds="$arg" ;;
  esac
done
[[ ${#targets[@]} -eq 0 ]] && targets=("${ALL_TARGETS[@]}")

output_base="${CCWPASS_FUZZ_OUTPUT_BASE:-$HOME/.cache/ccwpass-fuzz-$(pwd -P | md5sum | cut -c1-8)}"
jobs="${CCWPASS_FUZZ_JOBS:-1}"
# The fuzz server idles out after 15 minutes: it holds ~250 MB.
bazel_fuzz() { bazel --output_base="$output_base" --max_idle_secs=900 "$@"; }

labels=()
for t in "${targets[@]}"; do labels+=("//$(pkg_of "$t"):$t"); done
echo "== building ${labels[*]} (clang, --config=fuzz, output base $output_base)"
bazel_fuzz build --config=fuzz "${labels[@]}"
bin_root="$(bazel_fuzz info --config=fuzz bazel-bin 2>/dev/null)"
[[ $build_only -eq 1 ]] && { echo "built in $bin_root"; exit 0; }

workdir="${CCWPASS_FUZZ_WORKDIR:-$(mktemp -d -t ccwpass-fuzz.XXXXXX)}"
mkdir -p "$workdir"
failed=()
summary=()
for t in "${targets[@]}"; do
  corpus="$workdir/corpus/$t"
  artifacts="$workdir/artifacts/$t/"
  log="$workdir/$t.log"
  mkdir -p "$corpus" "$artifacts"
  # A working copy: the checked-in seeds are never modified.
  pkg="$(pkg_of "$t")"
  bin="$bin_root/$pkg"
  if [[ -d "$pkg/corpus/$t" ]]; then cp -n "$pkg"/corpus/"$t"/* "$corpus"/ 2>/dev/null || true; fi
  echo "== $t: ${seconds}s, corpus $corpus, log $log"
  parallel=()
  # With -jobs, libFuzzer runs workers that log to fuzz-N.log in the current directory.
  [[ $jobs -gt 1 ]] && parallel=(-jobs="$jobs" -workers="$jobs")
  set +e
  # shellcheck disable=SC2086
  (cd "$workdir" && rm -f fuzz-*.log && exec "$bin/$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 "${parallel[@]}" -artifact_prefix="$artifacts" \
    ${CCWPASS_FUZZ_FLAGS:-} "$corpus") >"$log" 2>&1
  rc=$?
  set -e
  if [[ $jobs -gt 1 ]]; then cat "$workdir"/fuzz-*.log >>"$log" 2>/dev/null || true; fi
  execs=$(awk '/^stat::number_of_executed_units:/ {s += $2} END {print s + 0}' "$log")
  rate=$(awk '/^stat::average_exec_per_sec:/ {s += $2} END {print s + 0}' "$log")
  last=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
  crashes=$(find "$artifacts" -type f | wc -l)
  line=$(printf '%-22s %4ss  execs %-10s exec/s %-7s cov %-6s ft %-6s corpus %-12s findings %s' \
    "$t" "$seconds" "$execs" "$rate" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes")
  summary+=("$line")
  if [[ $rc -ne 0 || $crashes -ne 0 ]]; then
    failed+=("$t")
    echo "!! $t failed (exit $rc); artifacts:" && find "$artifacts" -type f
    grep -E 'ERROR|SUMMARY|invariant violated|runtime error' "$log" | head -20 || true
  fi
done

echo
echo "== results (work dir $workdir)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "no crashes"
