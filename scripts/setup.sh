#!/usr/bin/env bash
# Installs every Debian 12 package ccwpass needs to build, test and demo.
# Idempotent and quiet when everything is there; run as root or with sudo.
set -euo pipefail

PACKAGES=(
  # build: Bazel on Debian's packaged toolchain and libraries (docs/building.md)
  bazel-bootstrap bazel-rules-java bazel-rules-proto pkg-config g++ git
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  libabsl-dev libudev-dev uuid-dev prometheus-cpp-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  # sd_notify readiness for the systemd unit (deploy/systemd); systemd-analyze checks the unit,
  # python3 stands in for systemd in the readiness test
  libsystemd-dev systemd python3
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev libcurl4-openssl-dev
  # fuzzing: libFuzzer with ASan/UBSan
  clang libclang-rt-14-dev
  # 3390 DASD images made by the real Hercules dasdinit
  hercules
  # metrics: a real Prometheus (and promtool), its consoles rendered in headless Chromium
  prometheus chromium fonts-dejavu-core curl jq
  # access control: test certificates
  openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
