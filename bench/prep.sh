# shellcheck shell=bash
# Shared by the benchmarks that boot Linux as the guest (bench/linux.sh,
# bench/l3.sh), sourced on the build host by their `prepare`.
#   bench_install PKG...        Debian packages that are missing, with apt
#                               (as scripts/install-deps installs packages)
#   bench_tools_disk IMG PROG...  an ext4 image (label benchtools) with the
#                               host's PROGs in /bin, every library they
#                               load in /lib and the loader in /lib64: too
#                               big for an initramfs that is timed
#   bench_up_to_date 'OUT...' IN...  true when every OUT exists and is newer
#                               than every IN: bench/run prepares on every
#                               run, under the nested lock, and a rebuild
#                               takes minutes
bench_install() {
	local p missing=() sudo=
	for p in "$@"; do
		command -v "$p" > /dev/null || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	echo "bench: installing ${missing[*]}" >&2
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" > /dev/null
}

bench_tools_disk() {
	local img=$1 troot=$1.root p l kb
	shift
	rm -rf "$troot"
	mkdir -p "$troot/bin" "$troot/lib" "$troot/lib64"
	for p in "$@"; do
		cp "$(command -v "$p")" "$troot/bin/$p"
		ldd "$(command -v "$p")" | awk '/=> \//{ print $3 }' | while read -r l; do
			cp -L "$l" "$troot/lib/"
		done
	done
	cp -L /lib64/ld-linux-x86-64.so.2 "$troot/lib64/"
	kb=$(du -sk "$troot" | cut -f1)
	rm -f "$img"
	mke2fs -q -t ext4 -d "$troot" -L benchtools "$img" $((kb * 5 / 4 + 8192))k
	resize2fs -M "$img" 2> /dev/null || true
	rm -rf "$troot"
}

bench_up_to_date() {
	local outs=$1 f d
	shift
	for f in $outs; do
		[ -e "$f" ] || return 1
		for d in "$@"; do
			[ "$f" -nt "$d" ] || return 1
		done
	done
}
