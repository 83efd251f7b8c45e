# shellcheck shell=bash
# balloon-612: the balloon case under Debian's 6.12 kernel.
# shellcheck source=SCRIPTDIR/balloon.sh
. "$NESTED_DIR/checks/balloon.sh"
