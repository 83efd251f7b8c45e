# shellcheck shell=bash disable=SC2154 # clog and name are the run's
# vsock: Linux's virtio-vsock driver against devisor's --vsock
# socket=PATH (l3-steps/vsock.sh in L3, l2-bin/vsock-vm in L2): a token
# and 16 MiB each way, guest- and host-initiated, echoed intact; a host
# end that closes mid-stream ends the guest's stream with an error.
vs_l2() { sed -n "s/.*DEVISOR-L2 $1=//p" "$clog" | tail -n1; }

vs_checks() {
	local v
	v=$(marker "$clog" vsock-dev)
	if [[ $v == "node=yes driver=vmw_vsock_virtio_transport" ]]; then
		pass "$name/vsock-bound"
	else
		fail "$name/vsock-bound" "vsock-dev=${v:-none}, want /dev/vsock and the driver bound"
	fi
	v=$(marker "$clog" vsock-g2h)
	if [[ $v == "ok g-connect token="*"-g2h bytes="* ]]; then
		pass "$name/vsock-guest-to-host"
	else
		fail "$name/vsock-guest-to-host" "L3: vsock-g2h=${v:-none}; L2: vsock-serve=$(vs_l2 vsock-serve)"
	fi
	v=$(marker "$clog" vsock-drop)
	if [[ $v == "ok g-drop peer gone"* ]]; then
		pass "$name/vsock-peer-gone"
	else
		fail "$name/vsock-peer-gone" "L3: vsock-drop=${v:-none}; L2: vsock-drop=$(vs_l2 vsock-drop)"
	fi
	v=$(vs_l2 vsock-connect)
	if [[ $v == "ok h-connect token="*"-h2g bytes="* ]]; then
		pass "$name/vsock-host-to-guest"
	else
		fail "$name/vsock-host-to-guest" "L2: vsock-connect=${v:-none}; L3: vsock-h2g=$(marker "$clog" vsock-h2g)"
	fi
	[[ ${vs_vhost:-0} == 1 ]] && return
	v=$(vs_l2 vsock-socket-left)
	if [[ $v == no ]]; then
		pass "$name/vsock-socket-removed"
	else
		fail "$name/vsock-socket-removed" "the socket file is still there after exit: ${v:-none}"
	fi
}
vs_checks
