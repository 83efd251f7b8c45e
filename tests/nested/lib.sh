# shellcheck shell=bash
# Shared helpers for the nested Linux test tier (tests/nested/*).
# Sourced, not executed. Callers run with `set -euo pipefail`.

NESTED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$NESTED_DIR/../.." && pwd)
CACHE=${DEVISOR_CACHE:-$REPO/.cache/nested}
BUILD=${DEVISOR_BUILD:-$REPO/build}
# shellcheck disable=SC2034 # used by the scripts that source this
NBUILD=$BUILD/nested

log() { printf '%s\n' "nested: $*" >&2; }
die() { printf '%s\n' "nested: error: $*" >&2; exit 1; }

# Load the paths that tests/nested/fetch recorded (KREL, VMLINUZ, VMLINUX,
# MODDIR, MODDEP, BUSYBOX). Runs fetch first if nothing was fetched yet.
load_fetched() {
	if [[ ! -f $CACHE/current.env ]]; then
		"$NESTED_DIR/fetch" >&2
	fi
	# shellcheck source=/dev/null
	. "$CACHE/current.env"
	: "${KREL:?}" "${VMLINUZ:?}" "${VMLINUX:?}" "${MODDIR:?}" "${MODDEP:?}" "${BUSYBOX:?}"
}

# Make a busybox root in $1: busybox at /bin/busybox, one symlink per applet,
# the usual directories and a /dev/console node (needed for init's stdio
# before devtmpfs is mounted; skipped when not root).
make_busybox_root() {
	local root=$1 applet
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc/devisor,lib/modules}
	install -m 0755 "$BUSYBOX" "$root/bin/busybox"
	# Applets live in the four directories made above; no fork per link
	# but ln's own (this runs for every initramfs, the demo's included).
	while read -r applet; do
		[[ $applet == /bin/busybox || -e $root$applet ]] && continue
		ln -s /bin/busybox "$root$applet"
	done < <("$BUSYBOX" --list-full | sed 's|^|/|')
	mknod -m 0600 "$root/dev/console" c 5 1 2>/dev/null || true
	mknod -m 0666 "$root/dev/null" c 1 3 2>/dev/null || true
}

# Copy kernel modules named in "$@" (names as modprobe spells them, - or _;
# one built into the kernel, as modules.builtin says, is skipped)
# and everything they depend on (modules.dep of the fetched kernel) into
# root $1, decompressed, and append them in load order to
# $1/etc/devisor/modules (one path per line, insmod'ed by the inits).
add_modules() {
	local root=$1; shift
	local dep=$MODDEP
	[[ -f $dep ]] || die "no $dep (run tests/nested/fetch)"
	local -A seen=()
	local order=()
	_mod_path() { # module name -> path relative to MODDIR, from modules.dep
		# - and _ are the same in module names.
		local re=${1//[-_]/[-_]} p
		p=$(grep -m1 -oE "^([^:]*/)?${re}\.ko(\.[a-z]+)?:" "$dep") || return 1
		printf '%s\n' "${p%:}"
	}
	_mod_visit() {
		local p=$1 d deps
		[[ -n ${seen[$p]:-} ]] && return 0
		seen[$p]=1
		deps=$(grep -m1 "^$p:" "$dep" | cut -d: -f2-)
		for d in $deps; do _mod_visit "$d"; done
		order+=("$p")
	}
	local m p
	for m in "$@"; do
		if ! p=$(_mod_path "$m"); then
			# Built into this kernel (6.12's virtio_pci): nothing to load.
			if grep -qE "/${m//[-_]/[-_]}\.ko\$" "$MODDIR/modules.builtin" 2>/dev/null; then
				continue
			fi
			die "module $m not in $dep"
		fi
		_mod_visit "$p"
	done
	local dst=$root/lib/modules/$KREL out
	mkdir -p "$dst"
	touch "$root/etc/devisor/modules"
	for p in "${order[@]}"; do
		out=$(basename "$p"); out=${out%%.ko*}.ko
		grep -qx "/lib/modules/$KREL/$out" "$root/etc/devisor/modules" && continue
		case $p in
		*.ko.xz) xz -dc "$MODDIR/$p" > "$dst/$out" ;;
		*.ko.zst) zstd -qdc "$MODDIR/$p" > "$dst/$out" ;;
		*.ko.gz) gzip -dc "$MODDIR/$p" > "$dst/$out" ;;
		*) cp "$MODDIR/$p" "$dst/$out" ;;
		esac
		echo "/lib/modules/$KREL/$out" >> "$root/etc/devisor/modules"
	done
}

# Copy an executable and every shared library ldd lists for it (and the
# dynamic loader) into root $1 at the same paths. $2 is the source path,
# $3 the path inside the root (default: same as $2).
add_binary() {
	local root=$1 src=$2 dstp=${3:-$2} lib
	mkdir -p "$root$(dirname "$dstp")"
	install -m 0755 "$src" "$root$dstp"
	# ldd prints "name => /path (addr)" or "/path (addr)"; a static binary
	# makes it fail, which is fine.
	while read -r lib; do
		[[ -z $lib || -e $root$lib ]] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done < <(ldd "$src" 2>/dev/null | sed -n 's|.*=> \(/[^ ]*\).*|\1|p; s|^[[:space:]]*\(/[^ ]*\) (.*|\1|p' | sort -u)
	[[ ${4:-} == nodl ]] && return 0
	# Libraries the program dlopen()s by name (devisor: libmicrohttpd.so.12
	# for --api-socket), with theirs, where this host has them.
	local name
	while read -r name; do
		# All of ldconfig's output read (no early exit: pipefail).
		lib=$(ldconfig -p | awk -v n="$name" '$1 == n && /x86-64/ && !p { p = $NF } END { print p }')
		[[ -n $lib && ! -e $root$lib ]] && add_binary "$root" "$lib" "$lib" nodl
	done < <(grep -ao 'lib[A-Za-z0-9_+-]*\.so\.[0-9][0-9.]*' "$src" | sort -u)
	return 0
}

# Write a newc cpio of directory $1 to file $2 (uncompressed: the kernel
# unpacks it with a plain copy, fastest under TCG).
make_cpio() {
	local root=$1 out=$2
	mkdir -p "$(dirname "$out")"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) > "$out.tmp"
	mv "$out.tmp" "$out"
}
