#!/usr/bin/env bash
# The demo of ccwpass's main job, on any machine: installs what it needs,
# builds ccwctl, and shows then checks each example channel program in
# docs/examples/ the way the agent polices and translates it for vfio-ccw.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bazel build //ctl:ccwctl >/dev/null 2>&1 || bazel build //ctl:ccwctl
ccwctl=bazel-bin/ctl/ccwctl

for f in docs/examples/*.json; do
  echo
  echo "=== $f"
  echo "\$ ccwctl program show $f"
  "$ccwctl" program show "$f" || true
  echo "\$ ccwctl program check $f"
  rc=0
  "$ccwctl" program check "$f" || rc=$?
  echo "(exit $rc)"
done
