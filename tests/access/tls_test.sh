#!/usr/bin/env bash
# Mutual TLS on the agent's TCP listener, with certificates made at test time
# by Debian's openssl: a CA, the agent's server certificate, client
# certificates "ci-admin" (admin), "viewer" (read-only), "stranger" (no role),
# and one from a rogue CA. The real ccw-agent (simulated host) and ccwctl.
#   - without TLS the agent refuses to listen beyond loopback; half the TLS flags are refused;
#   - with TLS it listens on every address; each certificate gets exactly its role;
#   - no certificate, or one the CA did not sign, never reaches a service;
#   - the owner of an attach over TLS is "cert:<CN>".
set -euo pipefail

die() { echo "FAIL: $*" >&2; exit 1; }
runfiles=${TEST_SRCDIR:-$PWD/..}/ccwpass
agent_bin=$runfiles/agent/main/ccw-agent
ccwctl_bin=$runfiles/ctl/ccwctl
command -v openssl >/dev/null || die "openssl is not installed (scripts/setup.sh installs it)"
work=$(mktemp -d /tmp/ccwpass-tls.XXXXXX)
agent_pid=""
cleanup() {
  if [[ -n $agent_pid ]]; then kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

# --- certificates ------------------------------------------------------------
source "$runfiles/testing/certs.sh"  # ca, cert (into the current directory)
ca ccwpass-ca
ca rogue-ca
cert agent ccwpass-ca "IP:127.0.0.1,DNS:localhost"
cert ci-admin ccwpass-ca
cert viewer ccwpass-ca
cert stranger ccwpass-ca
cert rogue rogue-ca

cat >host.yaml <<'HOST'
channel_paths:
  - chpid: 0x40
subchannels:
  - schid: 0.0.0100
    devno: 0.0.e000
    chpids: [0x40]
    device: {kind: dasd3390, cylinders: 10}
HOST
cat >access.yaml <<'ACCESS'
access:
  - role: admin
    users: [root]
    certificates: [ci-admin]
  - role: read-only
    certificates: [viewer]
ACCESS

port=$((20000 + RANDOM % 40000))
# exec: in the background the agent itself gets the pid (and the SIGTERM), not a subshell.
agent() { exec "$agent_bin" --sim host.yaml --run-dir "$work/run" --state-dir "" --metrics-address "" "$@"; }

# --- refusals at start ------------------------------------------------------------
set +e
out=$( (agent --listen-tcp "0.0.0.0:$port") 2>&1); rc=$?
set -e
[[ $rc == 1 ]] || die "listening beyond loopback without TLS: exit $rc"
[[ $out == "ccw-agent: --listen-tcp 0.0.0.0:$port: refusing to listen beyond loopback without TLS (give --tls-cert, --tls-key and --tls-client-ca)" ]] ||
  die "unexpected refusal: $out"
set +e
out=$( (agent --listen-tcp "0.0.0.0:$port" --tls-cert agent.crt) 2>&1); rc=$?
set -e
[[ $rc == 1 && $out == "ccw-agent: mutual TLS needs --tls-cert, --tls-key and --tls-client-ca; missing --tls-key, --tls-client-ca" ]] ||
  die "half the TLS flags: exit $rc: $out"
set +e
out=$( (agent --listen-tcp "0.0.0.0:$port" --tls-cert agent.crt --tls-key agent.csr --tls-client-ca ccwpass-ca.crt) 2>&1); rc=$?
set -e
# A CSR is PEM but not a key: gRPC refuses it when the server starts.
[[ $rc == 1 ]] || die "a CSR given as the key was accepted: $out"
set +e
out=$( (agent --listen-tcp "0.0.0.0:$port" --tls-cert agent.crt --tls-key host.yaml --tls-client-ca ccwpass-ca.crt) 2>&1); rc=$?
set -e
[[ $rc == 1 && $out == "ccw-agent: --tls-key host.yaml: no PEM block (-----BEGIN ...)" ]] || die "a YAML key: exit $rc: $out"

# --- the agent with mutual TLS on every address ------------------------------------
(agent --listen-tcp "0.0.0.0:$port" --tls-cert agent.crt --tls-key agent.key --tls-client-ca ccwpass-ca.crt \
  --access-config access.yaml) >agent.log 2>&1 &
agent_pid=$!
for _ in $(seq 100); do grep -q "listening on" agent.log && break; sleep 0.1; done
grep -q "and 0.0.0.0:$port (mutual TLS)" agent.log || { cat agent.log; die "the agent does not say it listens with mutual TLS"; }

# ccwctl as CN: run ARGS, set $out and $rc.
as() {
  local who=$1; shift
  set +e
  out=$("$ccwctl_bin" --agent "127.0.0.1:$port" --timeout 5s --tls-cert "$who.crt" --tls-key "$who.key" \
    --tls-ca ccwpass-ca.crt "$@" 2>&1)
  rc=$?
  set -e
}
as viewer list -o json
[[ $rc == 0 ]] || die "viewer list: exit $rc: $out"
[[ $(grep -c '"schid": "0.0.0100"' <<<"$out") == 1 ]] || die "viewer list lacks 0.0.0100: $out"
as viewer attach 0.0.0100
[[ $rc == 1 ]] || die "viewer attach: exit $rc: $out"
[[ $out == "ccwctl: certificate viewer has role read-only; Attach needs admin
the agent's --access-config gives roles (docs/security.md)" ]] || die "viewer attach: $out"
as stranger list
[[ $rc == 1 && $out == "ccwctl: certificate stranger has no role; ListSubchannels needs read-only
the agent's --access-config gives roles (docs/security.md)" ]] || die "stranger list: exit $rc: $out"
as ci-admin attach 0.0.0100 -o json
[[ $rc == 0 ]] || die "admin attach: exit $rc: $out"
as ci-admin get 0.0.0100 -o json
owner=$(sed -n 's/.*"owner": "\(.*\)".*/\1/p' <<<"$out")
[[ $owner == "cert:ci-admin" ]] || die "owner is '$owner', not cert:ci-admin"
as ci-admin io sense-id 0.0.0100
[[ $rc == 0 ]] || die "admin sense-id: exit $rc: $out"
as viewer io sense-id 0.0.0100
[[ $rc == 1 && $out == "ccwctl: certificate viewer has role read-only; StartProgram needs operator
the agent's --access-config gives roles (docs/security.md)" ]] ||
  die "viewer sense-id: exit $rc: $out"

# Not signed by our CA, or no certificate at all: the handshake fails; no service is reached.
as rogue list
[[ $rc == 3 ]] || die "rogue certificate: exit $rc: $out"
set +e
out=$("$ccwctl_bin" --agent "127.0.0.1:$port" --timeout 3s list 2>&1); rc=$?
set -e
[[ $rc == 3 ]] || die "no certificate: exit $rc: $out"
# The server's name is checked: "agent" is not a name in its certificate.
as viewer list --tls-server-name wrong.example
[[ $rc == 3 ]] || die "wrong server name accepted: exit $rc: $out"
as viewer list --tls-server-name localhost
[[ $rc == 0 ]] || die "the certificate's DNS name refused: exit $rc: $out"
# Half a client configuration is a usage error.
set +e
out=$("$ccwctl_bin" --agent "127.0.0.1:$port" --tls-cert viewer.crt list 2>&1); rc=$?
set -e
[[ $rc == 2 && $out == "ccwctl: mutual TLS needs --tls-cert, --tls-key and --tls-ca (or \$CCWPASS_TLS_CERT, _KEY, _CA)" ]] ||
  die "half the client TLS flags: exit $rc: $out"
echo "PASS: mutual TLS, roles by certificate, owner cert:ci-admin"
