#!/usr/bin/env bash
# Assembles a sysroot of s390x shared libraries for --config=s390x from Debian's
# s390x packages: `apt-get download` (not install: the -dev:s390x packages do not
# co-install with the amd64 ones, see ../../../shared/reference/qemu-s390x.md) and
# `dpkg-deb -x`, then a lib<name>.so link next to each shared library so that
# `-l<name>` finds it. Headers come from the amd64 -dev packages in /usr/include.
#
# The sysroot is cached outside the checkout, in
#   ${CCWPASS_CACHE:-$HOME/.cache/ccwpass}/s390x-sysroot-<hash>
# keyed by sysroot-packages.txt and this script, and made once (atomically).
# Prints its path. Needs `dpkg --add-architecture s390x` and an apt-get update
# (scripts/setup.sh --qemu does both).
# Usage: third_party/s390x/sysroot.sh [--path]   (--path: print the path only, make nothing)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${CCWPASS_CACHE:-${HOME:-/tmp}/.cache/ccwpass}
key=$(cat "$here/sysroot-packages.txt" "$here/sysroot.sh" | sha256sum | cut -c1-16)
out=$cache/s390x-sysroot-$key
if [ "${1:-}" = --path ] || [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi

mkdir -p "$cache"
exec 9>"$cache/s390x-sysroot.lock"
flock 9
if [ -f "$out/.complete" ]; then echo "$out"; exit 0; fi

# The packages and their dependencies, less what the cross toolchain brings.
mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' -e 's/$/:s390x/' "$here/sysroot-packages.txt")
mapfile -t pkgs < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances "${wanted[@]}" | grep -E '^[a-z0-9].*:s390x$' |
  grep -vE '^(libc6|libgcc-s1|libstdc\+\+6|gcc-12-base):' | sort -u)
[ ${#pkgs[@]} -ge ${#wanted[@]} ] || { echo "sysroot: apt-cache knows no s390x packages: run scripts/setup.sh --qemu (dpkg --add-architecture s390x; apt-get update)" >&2; exit 1; }

work=$(mktemp -d "$cache/s390x-sysroot-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/root"
echo "sysroot: downloading ${#pkgs[@]} s390x packages" >&2
(cd "$work/debs" && apt-get download -qq "${pkgs[@]}" 2>&1 | grep -v 'Download is performed unsandboxed' >&2 || true)
n=$(ls "$work/debs"/*.deb 2>/dev/null | wc -l)
[ "$n" -eq ${#pkgs[@]} ] || { echo "sysroot: downloaded $n of ${#pkgs[@]} packages: ${pkgs[*]}" >&2; exit 1; }
for deb in "$work/debs"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
printf '%s\n' "${pkgs[@]}" >"$work/root/.packages"
# -l<name> needs lib<name>.so: link it to the library's SONAME file.
for dir in "$work/root/usr/lib/s390x-linux-gnu" "$work/root/lib/s390x-linux-gnu"; do
  [ -d "$dir" ] || continue
  for lib in "$dir"/lib*.so.*; do
    base=${lib##*/}
    dev=${base%%.so.*}.so
    [ -e "$dir/$dev" ] || ln -s "$base" "$dir/$dev"
  done
done
rm -rf "$work/root/usr/share"
touch "$work/root/.complete"
mv "$work/root" "$out"
echo "$out"
