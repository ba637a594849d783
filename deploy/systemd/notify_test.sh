#!/usr/bin/env bash
# ccw-agent speaks systemd's readiness protocol (Type=notify): with
# NOTIFY_SOCKET set it sends READY=1 once its gRPC socket listens, and
# STOPPING=1 on SIGTERM. A Python datagram socket stands in for systemd.
set -euo pipefail
agent=$(realpath "$1")
dir=$(mktemp -d /tmp/ccwnotify-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/host.yaml" <<'HOST'
channel_paths:
  - chpid: 0x40
subchannels:
  - schid: 0.0.0100
    devno: 0.0.0191
    chpids: [0x40]
    device: {kind: dasd3390, cylinders: 10}
HOST
python3 - "$dir" "$agent" <<'PY'
import os, signal, socket, subprocess, sys, time
d, agent = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(d + "/notify")
s.settimeout(20)
env = dict(os.environ, NOTIFY_SOCKET=d + "/notify")
p = subprocess.Popen([agent, "--sim", d + "/host.yaml", "--run-dir", d + "/run", "--state-dir", "",
                      "--metrics-address", ""], env=env)
try:
    msg = s.recv(4096).decode()
    assert "READY=1" in msg.split("\n"), "first notification: %r" % msg
    assert os.path.exists(d + "/run/agent.sock"), "READY=1 before the socket listens"
    p.send_signal(signal.SIGTERM)
    msg = s.recv(4096).decode()
    assert "STOPPING=1" in msg.split("\n"), "on SIGTERM: %r" % msg
    assert p.wait(timeout=20) == 0
finally:
    if p.poll() is None:
        p.kill()
print("READY=1 after agent.sock existed; STOPPING=1 on SIGTERM; exit 0")
PY
