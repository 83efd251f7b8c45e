# shellcheck shell=bash disable=SC2154 # clog, name, pass and fail are the run's
# Helpers of the control API's cases (api.sh, api-create.sh): the markers
# l2-bin/api-vm prints in L2, "DEVISOR-L2 KEY=VALUE".
ap_l2() { sed -n "s/.*DEVISOR-L2 $1=//p" "$clog" | tail -n1; }
ap_want() { # NAME L2-MARKER GLOB WHY
	local v
	v=$(ap_l2 "$2")
	# shellcheck disable=SC2053 # $3 is a glob
	if [[ $v == $3 ]]; then
		pass "$name/$1"
	else
		fail "$name/$1" "$2=${v:-none}, want $4"
	fi
}
