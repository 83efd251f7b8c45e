# shellcheck shell=bash
# vsock-vhost: the vsock case on the kernel's vhost-vsock (--vsock cid=N
# without socket=): L2's AF_VSOCK sockets are the host ends.
vs_vhost=1
# shellcheck source=SCRIPTDIR/vsock.sh
. "$NESTED_DIR/checks/vsock.sh"
