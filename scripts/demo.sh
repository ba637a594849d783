#!/usr/bin/env bash
# The demo of ccwpass's main job on any machine: ccw-agent serving a simulated
# s390 host whose 3390 volumes are made by Hercules' dasdinit, driven by
# ccwctl: list, attach, SENSE ID, reading the VOL1 label with a channel
# program, events, detach. Installs what it needs first. Each step prints the
# command and its output.
#
#   scripts/demo.sh            # the demo in a temporary directory (removed at the end)
#   CCWPASS_DEMO_DIR=DIR scripts/demo.sh   # keep the volumes, host file, state and agent log in DIR
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== building ccw-agent and ccwctl"
bazel build //agent/main:ccw-agent //ctl:ccwctl >/dev/null 2>&1 || bazel build //agent/main:ccw-agent //ctl:ccwctl
agent_bin=$PWD/bazel-bin/agent/main/ccw-agent
ccwctl_bin=$PWD/bazel-bin/ctl/ccwctl

keep=${CCWPASS_DEMO_DIR:-}
work=${keep:-$(mktemp -d -t ccwpass-demo.XXXXXX)}
mkdir -p "$work"
agent_pid=
cleanup() {
  [[ -n $agent_pid ]] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  [[ -z $keep ]] && rm -rf "$work"
  return 0
}
trap cleanup EXIT

step() { echo; echo "\$ $*"; }
ccwctl() { "$ccwctl_bin" "$@"; }

echo "== a simulated host in $work"
cd "$work"
rm -f lnx001.3390 vol001.3390
step dasdinit -linux lnx001.3390 3390 LNX001 10
dasdinit -linux lnx001.3390 3390 LNX001 10 2>&1 | tail -1
step dasdinit vol001.3390 3390 VOL001 10
dasdinit vol001.3390 3390 VOL001 10 2>&1 | tail -1
cat > host.yaml <<'HOST'
# Two channel paths; two 3390 volumes made by dasdinit; a console; an OSA
# (QDIO), which vfio_ccw refuses. docs/host-description.md has every key.
channel_paths:
  - chpid: 0x40
  - chpid: 0x41
subchannels:
  - schid: 0.0.0100
    devno: 0.0.0191
    chpids: [0x40, 0x41]
    device: {kind: dasd3390, image: lnx001.3390, cu_model: 0xc2}
  - schid: 0.0.0101
    devno: 0.0.0192
    chpids: [0x40, 0x41]
    device: {kind: dasd3390, image: vol001.3390}
  - schid: 0.0.0102
    devno: 0.0.0009
    chpids: [0x41]
    device: {kind: console}
  - schid: 0.0.0103
    devno: 0.0.f500
    chpids: [0x40, 0x41]
    qdio: true
HOST
step cat host.yaml
cat host.yaml

metrics_port=${CCWPASS_DEMO_METRICS_PORT:-9810}
step ccw-agent --sim host.yaml --run-dir "$work/run" --state-dir "$work/state" --metrics-address 127.0.0.1:$metrics_port '&'
"$agent_bin" --sim host.yaml --run-dir "$work/run" --state-dir "$work/state" \
  --metrics-address "127.0.0.1:$metrics_port" >agent.log 2>&1 &
agent_pid=$!
export CCWPASS_AGENT="unix://$work/run/agent.sock"
for _ in $(seq 50); do [[ -S $work/run/agent.sock ]] && break; sleep 0.1; done
sed 's/^/    /' agent.log

step ccwctl list
ccwctl list
step ccwctl attach 0.0.0100
ccwctl attach 0.0.0100
# Watch the events of what follows in the background.
ccwctl events --for 3s >events.txt 2>&1 &
events_pid=$!
sleep 0.3
step ccwctl get 0.0.0100
ccwctl get 0.0.0100
step ccwctl io sense-id 0.0.0100
ccwctl io sense-id 0.0.0100
step ccwctl io rdc 0.0.0100
ccwctl io rdc 0.0.0100
step cat "$OLDPWD/docs/examples/vol1-label.json"
cat "$OLDPWD/docs/examples/vol1-label.json"
step ccwctl io run 0.0.0100 docs/examples/vol1-label.json --data
ccwctl io run 0.0.0100 "$OLDPWD/docs/examples/vol1-label.json" --data
step ccwctl schib 0.0.0100
ccwctl schib 0.0.0100
step ccwctl stats   '# the I/O statistics the host no longer has for a passed-through device'
ccwctl stats
step curl -s http://127.0.0.1:$metrics_port/metrics '| grep ccw_programs'
curl -s "http://127.0.0.1:$metrics_port/metrics" | grep '^ccw_programs' || true
step ccwctl attach 0.0.0103
ccwctl attach 0.0.0103 || echo "(exit $?: refused, as the kernel would)"
step ccwctl detach 0.0.0100
ccwctl detach 0.0.0100
wait "$events_pid" || true
step ccwctl events   '# what the events stream showed meanwhile'
cat events.txt
step ccwctl list --attached
ccwctl list --attached
echo
echo "== done; the agent's log:"
sed 's/^/    /' agent.log
