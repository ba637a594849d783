#!/usr/bin/env bash
# The agent's metrics read back through a real Prometheus server, and the
# ccwpass consoles rendered by that Prometheus in headless Chromium.
#
#  1. ccw-agent on a simulated host (two in-memory 3390s, one with 2 ms latency)
#     with --metrics-address on an ephemeral port; ccwctl attaches both and runs
#     SENSE ID and RDC programs.
#  2. promtool check metrics finds nothing to complain about in /metrics.
#  3. Prometheus (Debian's package) scrapes the agent every second; its HTTP
#     API returns exactly the numbers the programs imply.
#  4. Prometheus serves deploy/prometheus/consoles; the overview's server-side
#     tables hold the same numbers, and Chromium renders both pages with their
#     graphs (SVG drawn by Prometheus' console JavaScript). Screenshots go to
#     $TEST_UNDECLARED_OUTPUTS_DIR (Bazel's test outputs) and, when set, to
#     $CCWPASS_SCREENSHOT_DIR.
set -euo pipefail

die() { echo "FAIL: $*" >&2; exit 1; }
runfiles=${TEST_SRCDIR:-$PWD/..}/ccwpass
[[ -d $runfiles ]] || runfiles=$PWD
agent_bin=$runfiles/agent/main/ccw-agent
ccwctl_bin=$runfiles/ctl/ccwctl
consoles=$runfiles/deploy/prometheus/consoles
libraries=$runfiles/deploy/prometheus/console_libraries
for tool in prometheus promtool curl jq; do
  command -v "$tool" >/dev/null || die "$tool is not installed (scripts/setup.sh installs it)"
done

# Under /tmp, not $TEST_TMPDIR: a Unix socket path must fit in 107 bytes.
work=$(mktemp -d /tmp/ccwpass-prom.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A TCP port nobody listens on (bash's /dev/tcp connect fails).
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  die "no free port"
}

# --- 1. the agent and some I/O ---------------------------------------------
cat >"$work/host.yaml" <<'HOST'
channel_paths:
  - chpid: 0x40
  - chpid: 0x41
subchannels:
  - schid: 0.0.0100
    devno: 0.0.e000
    chpids: [0x40, 0x41]
    device: {kind: dasd3390, cylinders: 10}
  - schid: 0.0.0101
    devno: 0.0.e001
    chpids: [0x41]
    latency_us: 2000
    device: {kind: dasd3390, cylinders: 10}
HOST
"$agent_bin" --sim "$work/host.yaml" --run-dir "$work/run" --state-dir "$work/state" \
  --metrics-address 127.0.0.1:0 >"$work/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "metrics on http" "$work/agent.log" && [[ -S $work/run/agent.sock ]] && break; sleep 0.1; done
metrics_port=$(sed -n 's|.*metrics on http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$work/agent.log")
[[ -n $metrics_port ]] || { cat "$work/agent.log"; die "the agent did not say where its metrics are"; }
export CCWPASS_AGENT="unix://$work/run/agent.sock"

# Prometheus scrapes from before the I/O on, so that its rates see it happen.
prom_port=$(free_port)
cat >"$work/prometheus.yml" <<CFG
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: ccw-agent
    static_configs:
      - targets: ["127.0.0.1:$metrics_port"]
CFG
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" --web.console.templates="$consoles" \
  --web.console.libraries="$libraries" >"$work/prometheus.log" 2>&1 &
pids+=($!)
api="http://127.0.0.1:$prom_port/api/v1"

# The value of an instant query with one result ("" while it has none).
query() { curl -sfG "$api/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // ""'; }
# Waits (30 s at most) until `query` returns `want`.
expect() {
  local got=""
  for _ in $(seq 300); do
    got=$(query "$1" 2>/dev/null || true)
    [[ $got == "$2" ]] && { echo "ok: $1 = $2"; return; }
    sleep 0.1
  done
  tail -5 "$work/prometheus.log" >&2
  die "Prometheus says $1 = '$got', want $2"
}

for _ in $(seq 100); do [[ $(query 'up{job="ccw-agent"}' 2>/dev/null || true) == 1 ]] && break; sleep 0.1; done
"$ccwctl_bin" attach 0.0.0100 >/dev/null
"$ccwctl_bin" attach 0.0.0101 >/dev/null
sense_id_bytes=$("$ccwctl_bin" io sense-id 0.0.0100 -o json | jq -r '.transfers[0].bytes')
[[ $sense_id_bytes =~ ^[0-9]+$ && $sense_id_bytes -gt 0 ]] || die "SENSE ID moved '$sense_id_bytes' bytes"
# Spread over a few scrapes, so that rates and quantiles have something to show.
sleep 1.5
for _ in $(seq 19); do "$ccwctl_bin" io sense-id 0.0.0100 >/dev/null; sleep 0.1; done
rdc_bytes=$("$ccwctl_bin" io rdc 0.0.0100 -o json | jq -r '.transfers[0].bytes')
[[ $rdc_bytes == 64 ]] || die "RDC moved $rdc_bytes bytes, not 64"
"$ccwctl_bin" io sense-id 0.0.0101 >/dev/null
"$ccwctl_bin" io sense-id 0.0.0101 >/dev/null
# 0.0.0100: the attach's own SENSE ID + 20 + RDC; 0.0.0101: the attach's + 2.
want_completed_100=22
want_read_100=$((21 * sense_id_bytes + 64))
want_completed_101=3

# --- 2. promtool -----------------------------------------------------------
curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$work/metrics.txt" || die "GET /metrics failed"
grep -q "^ccw_programs_completed_total{schid=\"0.0.0100\"} $want_completed_100\$" "$work/metrics.txt" ||
  die "/metrics does not say 0.0.0100 completed $want_completed_100 programs"
lint=$(promtool check metrics <"$work/metrics.txt" 2>&1) || die "promtool check metrics failed: $lint"
[[ -z $lint ]] || die "promtool check metrics complains: $lint"

# --- 3. the numbers through Prometheus' API -------------------------------
expect "ccw_programs_completed_total{schid=\"0.0.0100\"}" "$want_completed_100"
expect "ccw_programs_completed_total{schid=\"0.0.0101\"}" "$want_completed_101"
expect "ccw_read_bytes_total{schid=\"0.0.0100\"}" "$want_read_100"
expect "sum(ccw_programs_started_total)" 25
expect "sum(ccw_programs_failed_total) or vector(0)" 0
expect "ccw_attaches_total{result=\"ok\"}" 2
expect "ccw_attached_subchannels{mode=\"agent\"}" 2
expect "count(ccw_subchannel_info{devno=\"0.0.e001\",chpids=\"41\",mode=\"agent\"})" 1
# 0.0.0101 takes 2 ms per program: none within 1 ms, all three within 10 s.
expect "ccw_program_duration_seconds_bucket{schid=\"0.0.0101\",le=\"0.001\"}" 0
expect "ccw_program_duration_seconds_bucket{schid=\"0.0.0101\",le=\"10\"}" 3
expect "up{job=\"ccw-agent\"}" 1

# --- 4. the consoles -------------------------------------------------------
overview="http://127.0.0.1:$prom_port/consoles/ccwpass-overview.html"
detail="http://127.0.0.1:$prom_port/consoles/ccwpass-subchannel.html?instance=127.0.0.1:$metrics_port&schid=0.0.0100"
page=$(curl -sf "$overview") || die "GET $overview failed"
grep -q "<td class=\"completed\">$want_completed_100</td>" <<<"$page" || die "the overview does not show $want_completed_100 programs for 0.0.0100"
grep -q "<td class=\"attach-ok\">2</td>" <<<"$page" || die "the overview does not show 2 attaches"
page=$(curl -sf "$detail") || die "GET $detail failed"
grep -q "<td class=\"started\">$want_completed_100</td>" <<<"$page" || die "the subchannel page does not show $want_completed_100 started"
grep -q "<th>Device</th><td>3390/02</td>" <<<"$page" || die "the subchannel page does not show device type 3390/02"

chromium_bin=$(command -v chromium || true)
[[ -n $chromium_bin ]] || die "chromium is not installed (scripts/setup.sh installs it)"
shots=${TEST_UNDECLARED_OUTPUTS_DIR:-$work}
# Chromium as the probe starts it: headless, no sandbox (root), no network
# chatter, a fresh profile; it waits for the graphs' queries to finish.
browse() {
  HOME="$work" timeout 60 "$chromium_bin" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage \
    --user-data-dir="$work/chromium" --hide-scrollbars --window-size=1400,1200 \
    --virtual-time-budget=5000 "$@" 2>>"$work/chromium.log"
}
dom=$(browse --dump-dom "$overview") || die "chromium could not load $overview"
grep -q "<svg" <<<"$dom" || die "the overview's graphs did not render (no SVG)"
grep -q "0.0.0101" <<<"$dom" || die "the rendered overview lacks 0.0.0101"
dom=$(browse --dump-dom "$detail") || die "chromium could not load $detail"
grep -q "<svg" <<<"$dom" || die "the subchannel page's graphs did not render (no SVG)"
browse --screenshot="$shots/ccwpass-overview.png" "$overview" >/dev/null || die "no overview screenshot"
browse --screenshot="$shots/ccwpass-subchannel.png" "$detail" >/dev/null || die "no subchannel screenshot"
for f in ccwpass-overview.png ccwpass-subchannel.png; do
  [[ $(stat -c %s "$shots/$f") -gt 20000 ]] || die "$f is suspiciously small"
  [[ -n ${CCWPASS_SCREENSHOT_DIR:-} ]] && cp "$shots/$f" "$CCWPASS_SCREENSHOT_DIR/"
done
echo "PASS: metrics through Prometheus, promtool clean, consoles rendered ($shots)"
