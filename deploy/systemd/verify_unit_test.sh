#!/usr/bin/env bash
# Checks deploy/systemd/ccw-agent.service with systemd's own parser: no
# warning at all from `systemd-analyze verify` (unknown keys and bad values are
# only warnings there, so any output fails), and an exposure score of
# `systemd-analyze security` no worse than 3.5 ("OK"). The unit's ExecStart
# is pointed at the freshly built ccw-agent (verify checks it is executable).
set -euo pipefail
unit="$1" agent="$2"
if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze is missing (Debian package systemd; scripts/setup.sh installs it)" >&2
  exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/bin/ccw-agent|$(realpath "$agent")|" "$unit" > "$dir/ccw-agent.service"
out=$(systemd-analyze verify --man=no "$dir/ccw-agent.service" 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then
  echo "systemd-analyze verify complains:"
  echo "$out"
  exit 1
fi
grep -q '^Type=notify$' "$unit" || { echo "the unit must be Type=notify (sd_notify READY=1)"; exit 1; }
score=$(systemd-analyze security --offline=true "$dir/ccw-agent.service" 2>&1 |
        sed -n 's/.*Overall exposure level for ccw-agent.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || { echo "no exposure score from systemd-analyze security"; exit 1; }
awk -v s="$score" 'BEGIN { exit !(s <= 3.5) }' || { echo "exposure $score is worse than 3.5"; exit 1; }
echo "ccw-agent.service: verify clean, exposure $score"
