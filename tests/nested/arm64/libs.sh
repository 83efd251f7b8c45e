#!/bin/bash
# copy an arm64 ELF's shared libraries (recursively) into root $1
root=$1; shift
declare -A seen
find_lib() { for d in /lib/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/aarch64-linux-gnu/lib; do [ -e "$d/$1" ] && { echo "$d/$1"; return; }; done; }
walk() {
  for n in $(aarch64-linux-gnu-readelf -d "$1" 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
    [ -n "${seen[$n]:-}" ] && continue; seen[$n]=1
    p=$(find_lib "$n"); [ -z "$p" ] && { echo "MISSING $n" >&2; continue; }
    mkdir -p "$root/lib/aarch64-linux-gnu"; cp -L "$p" "$root/lib/aarch64-linux-gnu/$n"; walk "$p"
  done
}
# What a binary dlopen()s by name (devisor: libslirp.so.0 for --net user,
# libmicrohttpd.so.12 for --api-socket), where this host has it.
dlopened() {
  local n p
  for n in $(grep -ao 'lib[A-Za-z0-9_+-]*\.so\.[0-9][0-9.]*' "$1" | sort -u); do
    [ -n "${seen[$n]:-}" ] && continue
    p=$(find_lib "$n"); [ -z "$p" ] && continue
    seen[$n]=1
    mkdir -p "$root/lib/aarch64-linux-gnu"; cp -L "$p" "$root/lib/aarch64-linux-gnu/$n"; walk "$p"
  done
}
for f in "$@"; do walk "$f"; dlopened "$f"; done
mkdir -p "$root/lib"; cp -L $(find_lib ld-linux-aarch64.so.1) "$root/lib/ld-linux-aarch64.so.1"
