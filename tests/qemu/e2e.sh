#!/usr/bin/env bash
# The end-to-end test on the real Linux vfio_ccw driver: ccw-agent in an s390x
# guest under qemu-system-s390x (TCG), driven from the host by the host-built
# ccwctl over QEMU's user network (a port of 127.0.0.1 forwarded to the guest),
# with mutual TLS: the guest's agent listens beyond loopback, so only with it.
# What it proves and what the real kernel showed: docs/qemu-e2e.md.
#
# It builds what it needs (host ccwctl and bench; the s390x agent and test tools
# with --config=s390x; the guest kernel once per machine, tests/qemu/build-kernel.sh),
# makes the initramfs, starts QEMU, runs the suite, and always stops QEMU.
# Prints one line per check and "qemu-e2e: N passed, N failed"; exit 1 on a failure.
#
# Usage: tests/qemu/e2e.sh     (after scripts/setup.sh; scripts/test.sh runs it)
# Environment: CCWPASS_BAZEL_FLAGS (e.g. --config=ci), CCWPASS_CACHE (kernel and
# sysroot cache), CCWPASS_QEMU_SECONDS (QEMU's hard limit, default 900),
# CCWPASS_LATENCY_N (SENSE IDs per latency run, default 200),
# CCWPASS_QEMU_KEEP=1 (keep the work directory: console log, initramfs).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
t_start=$(date +%s)
N=${CCWPASS_LATENCY_N:-200}
read -r -a bflags <<<"${CCWPASS_BAZEL_FLAGS:-}"

log() { echo "qemu-e2e: $*" >&2; }

# ---- Build ----------------------------------------------------------------
log "building (host: ccwctl, sense_id_bench; s390x: ccw-agent, vfio_sense_id, agent_bench)"
sysroot=$(third_party/s390x/sysroot.sh)
kernel=$(tests/qemu/build-kernel.sh)
bazel build --jobs=2 "${bflags[@]}" //ctl:ccwctl //tests/qemu:sense_id_bench >/dev/null 2>&1 ||
  bazel build --jobs=2 "${bflags[@]}" //ctl:ccwctl //tests/qemu:sense_id_bench
bazel build --jobs=2 "${bflags[@]}" --config=s390x //agent/main:ccw-agent //tests/qemu:vfio_sense_id \
  //tests/qemu:agent_bench >/dev/null 2>&1 ||
  bazel build --jobs=2 "${bflags[@]}" --config=s390x //agent/main:ccw-agent //tests/qemu:vfio_sense_id \
    //tests/qemu:agent_bench
ctl_bin=$repo/bazel-bin/ctl/ccwctl
bench_bin=$repo/bazel-bin/tests/qemu/sense_id_bench
t_built=$(date +%s)

work=$(mktemp -d /tmp/ccwpass-qemu-XXXXXX)
qemu_pid=""
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$qemu_pid" 2>/dev/null || true
  fi
  [ -n "$qemu_pid" ] && wait "$qemu_pid" 2>/dev/null || true
  exec 8>&- 2>/dev/null || true
  if [ "${CCWPASS_QEMU_KEEP:-}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- Certificates (made now, valid for two days) ----------------------------------
# A CA for the agent and its clients; the agent's certificate names it
# ccw-agent.guest; e2e-admin is the host's client (admin in the guest's
# access config); rogue is signed by another CA and must be refused.
tls=$work/tls
mkdir -p "$tls"
source testing/certs.sh  # ca, cert
CERT_DIR=$tls
ca e2e-ca
ca rogue-ca
cert ccw-agent e2e-ca "DNS:ccw-agent.guest"
cert e2e-admin e2e-ca
cert rogue rogue-ca

# ---- The initramfs ----------------------------------------------------------
root=$work/initramfs
mkdir -p "$root/bin" "$root/lib/modules" "$root/etc/ccwpass/tls"
cp "$tls/ccw-agent.crt" "$tls/ccw-agent.key" "$tls/e2e-ca.crt" "$root/etc/ccwpass/tls/"
cp "$sysroot/bin/busybox" "$root/bin/busybox"
install -m 0755 tests/qemu/guest-init.sh "$root/init"
for b in agent/main/ccw-agent tests/qemu/vfio_sense_id tests/qemu/agent_bench; do
  s390x-linux-gnu-strip -o "$root/bin/${b##*/}" "bazel-s390x-bin/$b"
done
for m in vfio vfio_iommu_type1 mdev vfio_ccw; do cp "$kernel/modules/$m.ko" "$root/lib/modules/"; done
# The shared libraries the binaries need, transitively: the sysroot's, then the
# cross toolchain's glibc and libstdc++.
libdirs=("$sysroot/usr/lib/s390x-linux-gnu" "$sysroot/lib/s390x-linux-gnu" /usr/s390x-linux-gnu/lib)
queue=("$root"/bin/ccw-agent "$root"/bin/vfio_sense_id "$root"/bin/agent_bench)
while [ ${#queue[@]} -gt 0 ]; do
  f=${queue[0]}
  queue=("${queue[@]:1}")
  for lib in $(s390x-linux-gnu-readelf -d "$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
    [ -e "$root/lib/$lib" ] && continue
    found=""
    for d in "${libdirs[@]}"; do [ -e "$d/$lib" ] && found=$d/$lib && break; done
    [ -n "$found" ] || { log "no $lib for $f in ${libdirs[*]}"; exit 1; }
    s390x-linux-gnu-strip -o "$root/lib/$lib" "$found"
    queue+=("$root/lib/$lib")
  done
done
cp -L /usr/s390x-linux-gnu/lib/ld64.so.1 "$root/lib/ld64.so.1"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"
truncate -s 16M "$work/disk.raw"

# ---- QEMU -------------------------------------------------------------------
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkfifo "$work/console.in"
exec 8<>"$work/console.in"
# Subchannels are numbered in plug order: 0.0.0000 net, 0.0.0001 blk,
# 0.0.0002 rng, 0.0.0003 rng (unplugged by test 7).
timeout --kill-after=5 "${CCWPASS_QEMU_SECONDS:-900}" qemu-system-s390x \
  -M s390-ccw-virtio -cpu max -smp 1 -m 1024 -nographic -no-reboot -nodefaults -serial stdio \
  -kernel "$kernel/bzImage" -initrd "$work/initrd.gz" -append "console=ttysclp0" \
  -qmp "unix:$work/qmp.sock,server=on,wait=off" \
  -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:7443" \
  -device virtio-net-ccw,netdev=n0,devno=fe.0.0000 \
  -drive "file=$work/disk.raw,format=raw,if=none,id=d0" -device virtio-blk-ccw,drive=d0,devno=fe.0.0001 \
  -device virtio-rng-ccw,id=rng0,devno=fe.0.0002 \
  -device virtio-rng-ccw,id=rng1,devno=fe.0.0003 \
  <"$work/console.in" >"$work/console.log" 2>&1 &
qemu_pid=$!

console() { tr -d '\r' <"$work/console.log"; }
# wait_for SECONDS REGEX: until a console line matches (exit 1 on timeout or QEMU gone).
wait_for() {
  local end=$((SECONDS + $1))
  while ! console | grep -qE "$2"; do
    kill -0 "$qemu_pid" 2>/dev/null || { log "QEMU exited; console:"; console | tail -40 >&2; return 1; }
    [ $SECONDS -lt $end ] || { log "no '$2' within $1 s; console:"; console | tail -40 >&2; return 1; }
    sleep 0.1
  done
}
# guest [--timeout S] COMMAND: runs COMMAND in the guest's init shell; prints
# its output; returns its exit status.
# (The command number lives in a file: guest often runs in a $(...) subshell.)
echo 0 >"$work/cmd_id"
guest() {
  local t=120 id
  [ "$1" = --timeout ] && t=$2 && shift 2
  id=$(($(cat "$work/cmd_id") + 1))
  echo "$id" >"$work/cmd_id"
  printf '%s %s\n' "$id" "$*" >&8
  wait_for "$t" "^@@END $id [0-9]+$" || return 99
  console | sed -n "/^@@BEGIN $id\$/,/^@@END $id /p" | sed '1d;$d'
  return "$(console | sed -n "s/^@@END $id \([0-9]*\)$/\1/p")"
}
# The host's client: certificate e2e-admin, the agent's name ccw-agent.guest.
tls_flags=(--tls-cert "$tls/e2e-admin.crt" --tls-key "$tls/e2e-admin.key" --tls-ca "$tls/e2e-ca.crt"
  --tls-server-name ccw-agent.guest)
ctl() { "$ctl_bin" --agent "127.0.0.1:$port" --timeout 60s "${tls_flags[@]}" "$@"; }

wait_for 300 '^@@READY' || exit 1
t_ready=$(date +%s)
if console | grep -q '^@@FAIL'; then log "guest setup failed; the console's end:"; console | tail -40 >&2; exit 1; fi
log "guest up in $((t_ready - t_built)) s (agent at 127.0.0.1:$port)"
# The guest says READY once the agent listens on its TCP port; the host's side
# of the forward is QEMU's. One call through it proves the whole path before
# the checks start (60 s: an emulated CPU on a loaded host is slow).
reach_end=$((SECONDS + 60))
until "$ctl_bin" --agent "127.0.0.1:$port" --timeout 5s "${tls_flags[@]}" list >/dev/null 2>"$work/reach.err"; do
  if [ $SECONDS -ge $reach_end ]; then
    log "the agent in the guest is not reachable through 127.0.0.1:$port:"
    cat "$work/reach.err" >&2
    log "the agent's log in the guest:"
    guest 'cat /tmp/agent.log' >&2
    exit 1
  fi
  sleep 0.5
done

# ---- Checks -----------------------------------------------------------------
passed=0 failed=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then
    passed=$((passed + 1))
    echo "ok    $1"
  else
    failed=$((failed + 1))
    echo "FAIL  $1"
    echo "      expected: $2"
    echo "      actual:   $3"
  fi
}
j() { jq -r "$2" <<<"$1" 2>/dev/null || echo "(not JSON: $1)"; }  # j JSON FILTER
b64hex() { base64 -d 2>/dev/null | od -An -tx1 -v | tr -d ' \n'; }  # base64 on stdin -> hex
json() { ctl "$@" -o json 2>&1; }

set +e
echo "== 1 list: the guest's subchannels and their CU types"
out=$(json list)
check "1 list: schids" '["0.0.0000","0.0.0001","0.0.0002","0.0.0003"]' "$(j "$out" '[.subchannels[].schid]|tojson')"
check "1 list: devnos" '["0.0.0000","0.0.0001","0.0.0002","0.0.0003"]' "$(j "$out" '[.subchannels[].devno]|tojson')"
check "1 list: CU types (net, blk, rng, rng)" '["3832/01","3832/02","3832/04","3832/04"]' \
  "$(j "$out" '[.subchannels[].cu_type]|tojson')"
check "1 list: drivers" '["io_subchannel","io_subchannel","io_subchannel","io_subchannel"]' \
  "$(j "$out" '[.subchannels[].driver]|tojson')"
check "1 list: states" '["DETACHED","DETACHED","DETACHED","DETACHED"]' "$(j "$out" '[.subchannels[].state]|tojson')"
check "1 list: PIM PAM POM and CHPIDs of 0.0.0001" '[128,128,255,[0,0,0,0,0,0,0,0]]' \
  "$(j "$out" '.subchannels[1]|[.pim,.pam,.pom,.chpids]|tojson')"
check "1 list: online ccw devices" '[true,true,true,true]' "$(j "$out" '[.subchannels[].online]|tojson')"

echo "== 0 mutual TLS: the agent in the guest listens beyond loopback, so only with it"
check "0 guest: the agent listens on 0.0.0.0:7443 with mutual TLS" "yes" \
  "$(guest 'grep -q "and 0.0.0.0:7443 (mutual TLS)" /tmp/agent.log && echo yes')"
out=$("$ctl_bin" --agent "127.0.0.1:$port" --timeout 10s list 2>&1)
check "0 a client without a certificate is refused (exit 3: the handshake fails)" "3" "$?"
out=$("$ctl_bin" --agent "127.0.0.1:$port" --timeout 10s --tls-cert "$tls/rogue.crt" --tls-key "$tls/rogue.key" \
  --tls-ca "$tls/e2e-ca.crt" --tls-server-name ccw-agent.guest list 2>&1)
check "0 a certificate of another CA is refused (exit 3)" "3" "$?"
out=$(json get 0.0.0001)
check "0 e2e-admin's certificate: get works" "0.0.0001" "$(j "$out" '.schid')"

echo "== 2 attach 0.0.0001: the real driver binds, the mdev appears, VFIO opens"
out=$(json attach 0.0.0001)
uuid=$(j "$out" '.subchannel.mdev_uuid')
group=$(j "$out" '.subchannel.iommu_group')
check "2 attach: state, mode, driver" '["ATTACHED","ATTACH_MODE_AGENT","vfio_ccw"]' \
  "$(j "$out" '.subchannel|[.state,.mode,.driver]|tojson')"
check "2 attach: FSM state (the VFIO device is open)" "IDLE" "$(j "$out" '.subchannel.fsm_state')"
check "2 attach: regions and IRQs the real driver offers" \
  '{"async_region":true,"schib_region":true,"crw_region":true,"crw_irq":true,"req_irq":true}' \
  "$(j "$out" '.subchannel.capabilities|tojson')"
check "2 guest: the subchannel's driver" "vfio_ccw" \
  "$(guest 'basename $(readlink /sys/bus/css/devices/0.0.0001/driver)')"
check "2 guest: the mdev, its parent and its IOMMU group" "0.0.0001 $group" \
  "$(guest "basename \$(dirname \$(readlink -f /sys/bus/mdev/devices/$uuid)) && basename \$(readlink /sys/bus/mdev/devices/$uuid/iommu_group)" | tr '\n' ' ' | sed 's/ $//')"
check "2 guest: /dev/vfio/<group> exists" "yes" "$(guest "[ -c /dev/vfio/$group ] && echo yes")"
check "2 guest: mdev type name, device_api, instances left" "I/O subchannel (Non-QDIO)|vfio-ccw|0" \
  "$(guest 'd=/sys/bus/css/devices/0.0.0001/mdev_supported_types/vfio_ccw-io; echo "$(cat $d/name)|$(cat $d/device_api)|$(cat $d/available_instances)"')"

echo "== 3 io sense-id 0.0.0001: through the real I/O region and eventfd"
out=$(json io sense-id 0.0.0001)
check "3 sense-id: bytes read" "256" "$(j "$out" '.bytes_read')"
check "3 sense-id: first 7 bytes (ff, CU 3832 model 02, device type/model 0000/00)" "ff383202000000" \
  "$(j "$out" '.transfers[0].data' | b64hex | cut -c1-14)"
check "3 sense-id: SCSW function, status, device status, CPA, residual" '[4,7,12,4104,0]' \
  "$(j "$out" '.irb.scsw|[.fctl,.stctl,.dstat,.cpa,.count]|tojson')"
out=$(json get 0.0.0001)
check "3 get: CU type learned by SENSE ID" "3832/02" "$(j "$out" '.cu_type')"

echo "== 4 a structural program with chained CCWs and a TIC; a policed program"
cat >"$work/chain-tic.json" <<'EOF'
{"ccws": [
  {"cmd": "0x03", "flags": ["CC"]},
  {"cmd": "0xe4", "flags": ["CC", "SLI"], "count": 7},
  {"tic": 4},
  {"cmd": "0x03"},
  {"cmd": "0x04", "flags": ["SLI"], "count": 32}
]}
EOF
out=$(json io run 0.0.0001 "$work/chain-tic.json")
check "4 chain+TIC: last CCW executed (after the TIC)" "4" "$(j "$out" '.last_ccw_index')"
check "4 chain+TIC: transfers (index, cmd, bytes)" '[[1,228,7],[4,4,32]]' \
  "$(j "$out" '[.transfers[]|[.index,.cmd,.bytes]]|tojson')"
check "4 chain+TIC: SENSE ID data" "ff383202000000" "$(j "$out" '.transfers[0].data' | b64hex)"
check "4 chain+TIC: device status CE DE, subchannel status 0, residual 0" '[12,0,0]' \
  "$(j "$out" '.irb.scsw|[.dstat,.cstat,.count]|tojson')"
out=$(ctl io run 0.0.0001 docs/examples/rejected-chain-too-long.json 2>&1)
rc=$?
check "4 policed: exit code 1 (refused)" "1" "$rc"
check "4 policed: the CCW, the rule and the kernel's errno" \
  "ccw 256 at 0x1800: the chain at 0x1000 continues past 256 CCWs [EINVAL]" \
  "$(grep -o 'ccw 256 at 0x1800: the chain at 0x1000 continues past 256 CCWs \[EINVAL\]' <<<"$out" || echo "$out")"

echo "== 5 halt, clear, schib"
out=$(json halt 0.0.0001)
check "5 halt: SCSW function halt, status pending" '[2,1]' "$(j "$out" '.irb.scsw|[.fctl,.stctl]|tojson')"
out=$(json clear 0.0.0001)
check "5 clear: SCSW function clear, status pending" '[1,1]' "$(j "$out" '.irb.scsw|[.fctl,.stctl]|tojson')"
out=$(json schib 0.0.0001)
schib_raw=$(j "$out" '.raw' | b64hex)
echo "      SCHIB of 0.0.0001 (STSCH through the SCHIB region): $schib_raw"
check "5 schib: PMCW device number, valid, enabled, ISC, subchannel type" '[1,true,true,3,0]' \
  "$(j "$out" '.pmcw|[.dev,.dnv,.ena,.isc,.st]|tojson')"
check "5 schib: PIM PAM POM LPM, CHPIDs" '[128,128,255,128,[0,0,0,0,0,0,0,0]]' \
  "$(j "$out" '.pmcw|[.pim,.pam,.pom,.lpm,.chpids]|tojson')"
check "5 schib: 52 bytes" "104" "${#schib_raw}"
check "5 schib: LPUM, concurrent sense, SCSW CCW format (as the real SCHIB has them)" '[128,true,true]' \
  "$(j "$out" '[.pmcw.lpum,.pmcw.csense,.scsw.fmt]|tojson')"
echo "$schib_raw" >"$work/schib.hex"

echo "== 6 detach 0.0.0001: back to io_subchannel, the virtio device online again"
out=$(json detach 0.0.0001)
check "6 detach: state and driver" '["DETACHED","io_subchannel",""]' \
  "$(j "$out" '.subchannel|[.state,.driver,.mdev_uuid]|tojson')"
check "6 guest: the mdev is gone" "gone" "$(guest "[ -e /sys/bus/mdev/devices/$uuid ] || echo gone")"
check "6 guest: ccw device 0.0.0001 online (virtio_ccw)" "1 virtio_ccw" \
  "$(guest 'for i in $(seq 50); do [ "$(cat /sys/bus/ccw/devices/0.0.0001/online)" = 1 ] && break; sleep 0.1; done; echo $(cat /sys/bus/ccw/devices/0.0.0001/online) $(basename $(readlink /sys/bus/ccw/devices/0.0.0001/driver))')"
out=$(json get 0.0.0001)
check "6 get: online" "true" "$(j "$out" '.online')"

echo "== 8 restart of the agent with a device attached"
out=$(json attach 0.0.0002)
uuid2=$(j "$out" '.subchannel.mdev_uuid')
check "8 attach 0.0.0002" "ATTACHED" "$(j "$out" '.subchannel.state')"
check "8 sense-id before the restart: CU 3832 model 04" "ff383204" \
  "$(json io sense-id 0.0.0002 | jq -r '.transfers[0].data' | b64hex | cut -c1-8)"
guest --timeout 180 agent_restart >/dev/null
check "8 guest: agent restarted" "0" "$?"
out=$(json get 0.0.0002)
check "8 after restart: still attached, same mdev, device open" "[\"ATTACHED\",\"$uuid2\",\"IDLE\"]" \
  "$(j "$out" '[.state,.mdev_uuid,.fsm_state]|tojson')"
out=$(json io sense-id 0.0.0002)
check "8 after restart: sense-id works" "256 ff383204" \
  "$(j "$out" '.bytes_read') $(j "$out" '.transfers[0].data' | b64hex | cut -c1-8)"

echo "== latency: SENSE ID through the agent (gRPC from the host; in-process in the guest) vs direct VFIO"
lat_grpc=$("$bench_bin" --agent "127.0.0.1:$port" "${tls_flags[@]}" --schid 0.0.0002 --count "$N")
echo "$lat_grpc" | sed 's/^/      /'
check "latency: gRPC bench read CU 3832/04" "sense-id cu=3832/04 bytes=256" "$(head -1 <<<"$lat_grpc")"
echo "== 9 metrics: the agent's endpoint in the guest counts the I/O"
# Counters start at the restart (test 8): the agent's own SENSE ID when it
# re-opened the device (it learns the CU type), test 8's SENSE ID, then the
# bench's warm-up and N timed ones.
metrics=$(guest 'wget -q -O - http://127.0.0.1:9810/metrics' | grep -E '^ccw_(programs_(started|completed)|read_bytes)_total\{schid="0\.0\.0002"')
check "9 metrics: programs started, completed and bytes read on 0.0.0002" \
  "ccw_programs_started_total{schid=\"0.0.0002\"} $((N + 3))|ccw_programs_completed_total{schid=\"0.0.0002\"} $((N + 3))|ccw_read_bytes_total{schid=\"0.0.0002\"} $((256 * (N + 3)))" \
  "$(grep started <<<"$metrics")|$(grep completed <<<"$metrics")|$(grep read_bytes <<<"$metrics")"
check "9 metrics: no failed programs" "" \
  "$(guest 'wget -q -O - http://127.0.0.1:9810/metrics' | grep '^ccw_programs_failed_total{schid="0.0.0002"' || true)"
json detach 0.0.0002 >/dev/null
lat_inproc=$(guest --timeout 600 "agent_bench --schid 0.0.0002 --count $N")
echo "$lat_inproc" | sed 's/^/      /'
check "latency: in-process bench read CU 3832/04" "sense-id cu=3832/04 bytes=256" \
  "$(grep '^sense-id' <<<"$lat_inproc")"
out=$(json attach 0.0.0002 --handoff)
uuid3=$(j "$out" '.subchannel.mdev_uuid')
check "latency: hand-off attach for the direct client" '["HANDED_OFF","ATTACH_MODE_HANDOFF"]' \
  "$(j "$out" '.subchannel|[.state,.mode]|tojson')"
lat_direct=$(guest --timeout 600 "vfio_sense_id --mdev $uuid3 --count $N")
echo "$lat_direct" | sed 's/^/      /'
check "latency: direct client read CU 3832/04, the SCSW as the reference shows" \
  "sense-id cu=3832/04 dev=0000/00 bytes=256 scsw=00804007000010080c000000" \
  "$(grep '^sense-id' <<<"$lat_direct")"
check "4 kernel: a chain of 257 CCWs refused with the errno the agent gives" "chain 257: start errno=22 (EINVAL)" \
  "$(guest "vfio_sense_id --mdev $uuid3 --chain 257")"
check "4 kernel: a chain of 256 CCWs runs (the agent's limit)" "chain 256: start ok" \
  "$(guest "vfio_sense_id --mdev $uuid3 --chain 256")"
json detach 0.0.0002 >/dev/null
median() { sed -n "s/^latency $1 .*median_us=\([0-9.]*\).*/\1/p" <<<"$2"; }
m_grpc=$(median agent-grpc "$lat_grpc")
m_inproc=$(median agent-in-process "$lat_inproc")
m_direct=$(median direct-vfio "$lat_direct")
if [ -n "$m_grpc" ] && [ -n "$m_inproc" ] && [ -n "$m_direct" ]; then
  echo "      SENSE ID median: direct VFIO ${m_direct} us, agent in-process ${m_inproc} us" \
    "($(awk "BEGIN{printf \"%.2f\", $m_inproc/$m_direct}")x), agent over gRPC from the host ${m_grpc} us" \
    "($(awk "BEGIN{printf \"%.2f\", $m_grpc/$m_direct}")x)"
fi

echo "== 7 hot-unplug through QMP device_del: REQ IRQ, the agent releases, an event, gone from the list"
out=$(json attach 0.0.0003)
check "7 attach 0.0.0003" "ATTACHED" "$(j "$out" '.subchannel.state')"
ctl events --for 20s -o json >"$work/events.jsonl" 2>&1 &
events_pid=$!
sleep 1
check "7 QMP device_del rng1" '{"return": {}}' \
  "$(/usr/bin/python3 tests/qemu/qmp.py "$work/qmp.sock" '{"execute": "device_del", "arguments": {"id": "rng1"}}')"
gone=""
for _ in $(seq 150); do
  json list | jq -e '[.subchannels[].schid] | index("0.0.0003") == null' >/dev/null && gone=yes && break
  sleep 0.1
done
check "7 list: 0.0.0003 is gone" '["0.0.0000","0.0.0001","0.0.0002"]' \
  "$(json list | jq -c '[.subchannels[].schid]')"
wait "$events_pid"
check "7 event: DEVICE_REQUEST for 0.0.0003" "DEVICE_REQUEST 0.0.0003" \
  "$(jq -r 'select(.kind=="DEVICE_REQUEST") | "\(.kind) \(.schid)"' "$work/events.jsonl" | head -1)"
echo "      events:"
jq -r '"      \(.kind) \(.schid) \(.message)"' "$work/events.jsonl" 2>/dev/null


# ---- Shutdown ---------------------------------------------------------------
guest 'cat /tmp/agent.log' >"$work/agent.log"
guest 'dmesg' >"$work/dmesg.txt"
printf '0 poweroff -f\n' >&8 2>/dev/null
qemu_rc=""
for _ in $(seq 100); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
if ! kill -0 "$qemu_pid" 2>/dev/null; then
  wait "$qemu_pid"
  qemu_rc=$?
  qemu_pid=""
fi
check "QEMU ended by the guest's poweroff with status 0" "0" "$qemu_rc"
t_end=$(date +%s)
log "build $((t_built - t_start)) s, boot $((t_ready - t_built)) s, suite $((t_end - t_ready)) s, total $((t_end - t_start)) s"
if [ "$failed" -ne 0 ]; then
  log "the agent's log in the guest (last 60 lines):"
  tail -60 "$work/agent.log" >&2
fi
echo "qemu-e2e: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
