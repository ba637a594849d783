#!/bin/busybox sh
# /init of the s390x test guest (tests/qemu/e2e.sh builds the initramfs).
# Loads the VFIO modules, brings up the network QEMU forwards the host's port
# to, starts ccw-agent, then runs commands from the console: each input line is
# "ID COMMAND..."; the output is framed by "@@BEGIN ID" and "@@END ID RC".
# Besides busybox, the commands are the functions below (agent_start,
# agent_stop, agent_restart) and the test tools in /bin.
/bin/busybox --install -s /bin
export PATH=/bin LD_LIBRARY_PATH=/lib
mkdir -p /proc /sys /dev /tmp /run/ccwpass /var/lib/ccwpass
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
exec </dev/console >/dev/console 2>&1
stty -echo
dmesg -n 1   # kernel messages stay in dmesg, out of the command output

for m in vfio vfio_iommu_type1 mdev vfio_ccw; do
  insmod /lib/modules/$m.ko || echo "@@FAIL insmod $m"
done
ifconfig lo 127.0.0.1 up
ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up || echo "@@FAIL eth0"

AGENT_PORT=7443
# The host's ccwctl comes in over QEMU's user network with mutual TLS: its
# certificate (CN e2e-admin, signed by the test's CA, e2e.sh) has the admin
# role (docs/security.md).
printf 'access:\n  - role: admin\n    users: ["0"]\n    certificates: [e2e-admin]\n' >/etc/ccwpass/access.yaml
agent_start() {
  /bin/ccw-agent --sysfs-root /sys --dev-root /dev --run-dir /run/ccwpass --state-dir /var/lib/ccwpass \
    --listen-tcp 0.0.0.0:$AGENT_PORT --tls-cert /etc/ccwpass/tls/ccw-agent.crt \
    --tls-key /etc/ccwpass/tls/ccw-agent.key --tls-client-ca /etc/ccwpass/tls/e2e-ca.crt \
    --access-config /etc/ccwpass/access.yaml "$@" >>/tmp/agent.log 2>&1 &
  echo $! >/run/agent.pid
  # Ready when both listeners are: the Unix socket file appears before the
  # gRPC server has bound its TCP port, and on an emulated CPU the gap can be
  # long enough for the host's first call to find nothing listening.
  i=0
  while ! agent_listening && [ $i -lt 1200 ]; do
    [ -e /proc/$(cat /run/agent.pid) ] || break
    sleep 0.1
    i=$((i + 1))
  done
  agent_listening || { echo "ccw-agent did not start:"; cat /tmp/agent.log; return 1; }
}
# The Unix socket exists and TCP port $AGENT_PORT is in LISTEN state (0A) on
# the wildcard address (/proc/net/tcp and tcp6: hex address:port, remote
# address:port, state; gRPC binds 0.0.0.0 as a dual-stack IPv6 socket).
agent_listening() {
  [ -S /run/ccwpass/agent.sock ] &&
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    grep -qE "^ *[0-9]+: 0+:$(printf '%04X' $AGENT_PORT) 0+:0000 0A "
}
# Until the agent has exited: gone, or a zombie (its parent may be this shell,
# which reaps only when it next waits).
agent_stop() {
  pid=$(cat /run/agent.pid) && kill "$pid" || return 1
  while [ -e /proc/$pid ] && [ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" != Z ]; do sleep 0.1; done
}
agent_restart() { agent_stop && agent_start; }

agent_start || echo "@@FAIL agent"
echo "@@READY $(cut -d' ' -f1 /proc/uptime)"
while read -r id cmd; do
  echo "@@BEGIN $id"
  (eval "$cmd") </dev/null   # a subshell: a syntax error must not end init
  echo "@@END $id $?"
done
poweroff -f
