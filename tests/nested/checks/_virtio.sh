# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# Checks shared by the virtio cases (checks/virtio-*.sh, qemu-virtio-*.sh),
# sourced by tests/nested/run inside its case loop: $name, $clog, pass,
# fail and marker are the run's. Runs under `set -euo pipefail`, so every
# lookup that may find nothing ends in `|| true`. What L3 reports is
# described in tests/nested/l3-steps/virtio.sh.

# Value of the last "DEVISOR-L2 KEY=VALUE" marker in the case's log.
vc_l2() { sed -n "s/.*DEVISOR-L2 $1=//p" "$clog" | tail -n1; }

# The device list, for the failure messages.
vc_devices() { marker "$clog" virtio-devices; }

# vc_virtio_device TYPE TRANSPORT: such a device is bound to its driver.
vc_virtio_device() {
	local v
	v=$(vc_devices)
	if [[ ",$v," == *",$1@$2:virtio_"* ]]; then
		pass "$name/virtio-$1-$2"
	else
		fail "$name/virtio-$1-$2" "no $1@$2 bound to a driver: virtio-devices=${v:-none}"
	fi
}

vc_pci_ids() {
	local v id missing=
	v=$(marker "$clog" pci-ids)
	# net, blk, console, rng (modern virtio-pci: 0x1040 + device type)
	for id in 1af4:1041 1af4:1042 1af4:1043 1af4:1044; do
		[[ ",$v," == *",$id,"* ]] || missing+=" $id"
	done
	if [[ -z $missing ]]; then
		pass "$name/pci-ids"
	else
		fail "$name/pci-ids" "missing$missing in pci-ids=${v:-none}"
	fi
	v=$(marker "$clog" pci-virtio-bound)
	if [[ $v =~ ^([0-9]+)/([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 4 && BASH_REMATCH[1] == BASH_REMATCH[2])); then
		pass "$name/pci-bound"
	else
		fail "$name/pci-bound" "pci-virtio-bound=${v:-none}, want all (>= 4) 1af4 functions bound to virtio-pci"
	fi
}

# devisor's virtio-pci functions are PCIe integrated endpoints (QEMU's on
# q35's root bus are plain PCI, so the peer does not run this check).
vc_pcie_extcfg() {
	local v
	v=$(marker "$clog" pci-virtio-extcfg)
	if [[ $v =~ ^([0-9]+)/([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 4 && BASH_REMATCH[1] == BASH_REMATCH[2])); then
		pass "$name/pcie-extcfg"
	else
		fail "$name/pcie-extcfg" "pci-virtio-extcfg=${v:-none}, want every virtio function to show 4 KiB (PCIe) config space"
	fi
}

vc_msix() {
	local vec lines irqs
	vec=$(marker "$clog" msix-vectors)
	lines=$(marker "$clog" msix-irq-lines)
	irqs=$(marker "$clog" msix-interrupts)
	if [[ $vec =~ ^[0-9]+$ && $lines =~ ^[0-9]+$ && $irqs =~ ^[0-9]+$ ]] &&
		((vec > 0 && lines > 0 && irqs > 0)); then
		pass "$name/msix"
	else
		fail "$name/msix" "msix-vectors=${vec:-none} msix-irq-lines=${lines:-none} msix-interrupts=${irqs:-none}, want all > 0"
	fi
}

vc_hwrng() {
	local cur bytes nz
	cur=$(marker "$clog" rng-current)
	bytes=$(marker "$clog" hwrng-bytes)
	nz=$(marker "$clog" hwrng-nonzero-bytes)
	if [[ $cur == virtio_rng* && $bytes == 4096 && $nz =~ ^[0-9]+$ ]] && ((nz > 3900)); then
		pass "$name/hwrng"
	else
		fail "$name/hwrng" "rng-current=${cur:-none} hwrng-bytes=${bytes:-none} hwrng-nonzero-bytes=${nz:-none}, want virtio_rng.*, 4096, > 3900"
	fi
}

vc_hvc() {
	local con act stdio
	con=$(marker "$clog" console)
	act=$(marker "$clog" console-active)
	stdio=$(marker "$clog" stdio)
	# init writes its markers to /dev/console; hvc0 being the only console
	# means they came over virtio-console.
	if [[ $con == hvc0 && $act == hvc0 && -z $stdio ]]; then
		pass "$name/console-hvc0"
	else
		fail "$name/console-hvc0" "console=${con:-none} console-active=${act:-none}${stdio:+ stdio=$stdio}, want hvc0 only"
	fi
}

# Each L3 marker named is "ok": a check of the same name for each.
vc_markers_ok() {
	local k v
	for k in "$@"; do
		v=$(marker "$clog" "$k")
		if [[ $v == ok ]]; then pass "$name/$k"; else fail "$name/$k" "$k=${v:-none}"; fi
	done
}

# vc_disk [PREFIX]: the disk L3 found is PREFIX* (vd: a virtio disk).
vc_disk() {
	local v k p=${1:-vd}
	v=$(marker "$clog" disk)
	if [[ $v == "$p"* ]]; then pass "$name/disk-found"; else fail "$name/disk-found" "disk=${v:-none}"; fi
	if [[ -z $v || $v == missing ]]; then
		# One reason for the checks that need the disk in L3.
		for k in disk-size disk-seed disk-write disk-readback; do
			fail "$name/$k" "no virtio disk in L3"
		done
		v=$(vc_l2 disk-verified)
		fail "$name/disk-persist" "no virtio disk in L3; L2 after the VM exited: disk-verified=${v:-none}"
		return
	fi
	v=$(marker "$clog" disk-sectors)
	if [[ $v == 32768 ]]; then pass "$name/disk-size"; else fail "$name/disk-size" "disk-sectors=${v:-none}, want 32768 (16 MiB)"; fi
	vc_markers_ok disk-seed disk-write disk-readback
	v=$(vc_l2 disk-verified)
	if [[ $v == yes* ]]; then
		pass "$name/disk-persist"
	else
		fail "$name/disk-persist" "L2 after the VM exited: disk-verified=${v:-none}"
	fi
}

vc_net() {
	local v ip gw dns bytes md5 want secs
	v=$(marker "$clog" net)
	if [[ -z $v || $v == missing* ]]; then
		fail "$name/net-dhcp" "no virtio NIC in L3: net=${v:-none}"
		fail "$name/net-http" "no virtio NIC in L3"
		return
	fi
	v=$(marker "$clog" net-dhcp)
	ip=$(marker "$clog" net-ip)
	gw=$(marker "$clog" net-gw)
	dns=$(marker "$clog" net-dns)
	if [[ $v == ok && $ip == 10.0.2.15/24 && $gw == 10.0.2.2 && $dns == 10.0.2.3 ]]; then
		pass "$name/net-dhcp"
	else
		fail "$name/net-dhcp" "net-dhcp=${v:-none} net-ip=${ip:-none} net-gw=${gw:-none} net-dns=${dns:-none}, want ok 10.0.2.15/24 10.0.2.2 10.0.2.3"
	fi
	bytes=$(marker "$clog" net-bytes)
	md5=$(marker "$clog" net-md5)
	secs=$(marker "$clog" net-seconds)
	want=$(vc_l2 http-blob-md5)
	if [[ $bytes =~ ^[0-9]+$ ]] && ((bytes >= 10000000)) && [[ -n $want && $md5 == "$want" ]]; then
		pass "$name/net-http"
		log "case $name: fetched $bytes bytes over virtio-net in ${secs:-?}s of L3 time"
	else
		fail "$name/net-http" "net-bytes=${bytes:-none} net-md5=${md5:-none}, want >= 10000000 bytes with L2's md5 ${want:-none} (http=$(vc_l2 http || true))"
	fi
}

# vc_net_static ADDR/LEN [BLOB MIN_BYTES]: L3 took the address on L2's
# tap and fetched the blob (or BLOB, devisor.netblob=) with L2's md5
# (devisor.net=ADDR/LEN@PEER).
vc_net_static() {
	local v ip bytes md5 secs want blob=${2:-blob} min=${3:-10000000}
	v=$(marker "$clog" net-static)
	ip=$(marker "$clog" net-ip)
	if [[ $v == ok && $ip == "$1" ]]; then
		pass "$name/net-static"
	else
		fail "$name/net-static" "net-static=${v:-none} net-ip=${ip:-none}, want ok $1 (net=$(marker "$clog" net || true))"
	fi
	bytes=$(marker "$clog" net-bytes)
	md5=$(marker "$clog" net-md5)
	secs=$(marker "$clog" net-seconds)
	want=$(vc_l2 "http-$blob-md5")
	if [[ $bytes =~ ^[0-9]+$ ]] && ((bytes >= min)) && [[ -n $want && $md5 == "$want" ]]; then
		pass "$name/net-http"
		log "case $name: fetched $bytes bytes over the tap in ${secs:-?}s of L3 time"
	else
		fail "$name/net-http" "net-bytes=${bytes:-none} net-md5=${md5:-none}, want >= $min bytes with L2's md5 ${want:-none} (http=$(vc_l2 http || true))"
	fi
}

# vc_vhost_bypass TAP: devisor -v said vhost-net served TAP and that its
# own I/O thread handled no frame (virtio/net.c, at exit).
vc_vhost_bypass() {
	local v
	v=$(grep -o "vhost-net served $1; devisor's I/O thread handled [0-9]* rx and [0-9]* tx frames" "$clog" | tail -n1 || true)
	if [[ $v == *"handled 0 rx and 0 tx frames" ]]; then
		pass "$name/vhost-bypass"
		log "case $name: $v"
	else
		fail "$name/vhost-bypass" "want devisor's 'vhost-net served $1; ... handled 0 rx and 0 tx frames', got: ${v:-nothing}"
	fi
}

vc_mmio() {
	local acpi bound
	acpi=$(marker "$clog" mmio-acpi)
	bound=$(marker "$clog" mmio-bound)
	if [[ $acpi == *LNRO0005:* && $bound =~ ^[0-9]+$ ]] && ((bound >= 1)); then
		pass "$name/mmio-acpi"
	else
		fail "$name/mmio-acpi" "mmio-acpi=${acpi:-none} mmio-bound=${bound:-none}, want LNRO0005:* bound to virtio-mmio"
	fi
}

# acpi=off: the VMM announces its virtio-mmio windows on the command line
# (virtio_mmio.device=SIZE@BASE:IRQ) and not in a DSDT. The disk checks
# apply only when the kernel can take such announcements: Debian's cloud
# kernel is built without VIRTIO_MMIO_CMDLINE_DEVICES (mmio-cmdline-param=no).
vc_mmio_cmdline() {
	local list acpi param d bad=
	list=$(marker "$clog" mmio-cmdline)
	acpi=$(marker "$clog" mmio-acpi)
	param=$(marker "$clog" mmio-cmdline-param)
	if [[ -z $list || $list == none ]]; then
		bad="no virtio_mmio.device= on the kernel command line"
	else
		for d in ${list//,/ }; do
			[[ $d =~ ^[0-9]+[KkMm]?@0x[0-9a-fA-F]+:[0-9]+$ ]] || bad+="; malformed $d"
		done
	fi
	[[ -z $acpi || $acpi == none ]] || bad+="; platform devices with acpi=off: $acpi"
	if [[ -z $bad ]]; then
		pass "$name/mmio-cmdline"
	else
		fail "$name/mmio-cmdline" "${bad#; } (mmio-cmdline=${list:-none})"
	fi
	if [[ $param == yes ]]; then
		vc_virtio_device blk mmio
		vc_disk
	else
		log "case $name: the kernel's virtio_mmio has no device= parameter (VIRTIO_MMIO_CMDLINE_DEVICES unset), so no disk checks"
	fi
}
