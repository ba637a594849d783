#!/bin/sh
# Runs every benchmark of docs/performance.md and prints one table with the
# machine (cores, CPU, memory), the date and the load average:
#   tools/bench.sh                         # everything (~4 min)
#   tools/bench.sh --sections io --duration 2s
#   tools/bench.sh --sections scale --scale-sizes 1024,8192,65536
# Numbers taken while other work runs on the machine are noisy: the load
# average is printed before and after; repeat and compare.
set -eu
cd "$(dirname "$0")/.."
bazel build -c opt //bench:all
exec bazel-bin/bench/all "$@"
