#!/usr/bin/env bash
# Installs every Debian 12 package ccwpass needs to build, test and demo.
# Idempotent and quiet when everything is there; run as root or with sudo.
set -euo pipefail

PACKAGES=(
  # build: Bazel on Debian's packaged toolchain and libraries (docs/building.md)
  bazel-bootstrap bazel-rules-java bazel-rules-proto pkg-config g++ git
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  libabsl-dev libudev-dev uuid-dev prometheus-cpp-dev libcivetweb-dev zlib1g-dev
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
  # the end-to-end test on the real vfio_ccw driver in an s390x guest (docs/qemu-e2e.md):
  # QEMU, the s390x cross compiler, what a kernel build needs, the kernel source
  qemu-system-misc crossbuild-essential-s390x bc bison flex libelf-dev libssl-dev cpio
  linux-source-6.1 python3-minimal
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# The s390x guest's libraries and busybox are apt-get download-ed (never
# installed) from Debian's s390x packages (third_party/s390x/sysroot.sh): the
# architecture must be known to apt and its package lists fetched.
need_s390x=""
if ! dpkg --print-foreign-architectures | grep -qx s390x ||
  ! apt-cache show busybox-static:s390x >/dev/null 2>&1; then
  need_s390x=yes
fi
[ ${#missing[@]} -eq 0 ] && [ -z "$need_s390x" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]} ${need_s390x:+(and the s390x architecture)}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
if [ -n "$need_s390x" ]; then
  echo "setup: adding the s390x architecture for the QEMU end-to-end test's guest packages" >&2
  $SUDO dpkg --add-architecture s390x
fi
$SUDO apt-get update -qq >/dev/null
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: done" >&2
