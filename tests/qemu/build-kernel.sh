#!/usr/bin/env bash
# Builds the s390x test guest's kernel and its VFIO modules from Debian's
# linux-source-6.1, once per machine: the result is cached outside the checkout
# in ${CCWPASS_CACHE:-$HOME/.cache/ccwpass}/s390x-kernel-<hash>, the hash over
# guest-kernel.config, the linux-source version and KERNEL_RECIPE below.
# Prints the cache directory (bzImage, modules/*.ko, config, build-seconds).
# Usage: tests/qemu/build-kernel.sh            (needs scripts/setup.sh --qemu)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${CCWPASS_CACHE:-${HOME:-/tmp}/.cache/ccwpass}
src_tar=/usr/src/linux-source-6.1.tar.xz
[ -f "$src_tar" ] || { echo "build-kernel: $src_tar missing (apt-get install linux-source-6.1)" >&2; exit 1; }
version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
# Bump when a change to this script changes the kernel or modules it makes.
KERNEL_RECIPE=1
key=$( (cat "$here/guest-kernel.config"; echo "$version $KERNEL_RECIPE") | sha256sum | cut -c1-16)
out=$cache/s390x-kernel-$key
if [ -f "$out/bzImage" ]; then echo "$out"; exit 0; fi

mkdir -p "$cache"
exec 9>"$cache/s390x-kernel.lock"
flock 9   # a second run waits for the first instead of building twice
if [ -f "$out/bzImage" ]; then echo "$out"; exit 0; fi

work=$(mktemp -d "$cache/s390x-kernel-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
echo "build-kernel: building the s390x guest kernel (linux-source-6.1 $version, once per machine; 11-20 min on a busy 2-core machine)" >&2
tar -xJf "$src_tar" -C "$work"
cd "$work/linux-source-6.1"
mk=(make -s ARCH=s390 CROSS_COMPILE=s390x-linux-gnu- -j"${CCWPASS_KERNEL_JOBS:-2}")
"${mk[@]}" tinyconfig >/dev/null
scripts/kconfig/merge_config.sh -m .config "$here/guest-kernel.config" >/dev/null
"${mk[@]}" olddefconfig >/dev/null
# Every line of the fragment must have survived olddefconfig (a dependency
# missing would silently drop it).
while IFS= read -r line; do
  case "$line" in CONFIG_*) grep -qx "$line" .config || { echo "build-kernel: $line did not survive olddefconfig" >&2; exit 1; } ;; esac
done <"$here/guest-kernel.config"
"${mk[@]}" bzImage modules >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }
stage=$work/out
mkdir -p "$stage/modules"
cp arch/s390/boot/bzImage "$stage/bzImage"
cp .config "$stage/config"
find . -name '*.ko' -exec cp {} "$stage/modules/" \;
echo $(( $(date +%s) - start )) >"$stage/build-seconds"
mv "$stage" "$out"
echo "build-kernel: done in $(cat "$out/build-seconds") s: $out" >&2
echo "$out"
