# shellcheck shell=sh
# L2 step (sourced by l2-init before the cases): a random token for this
# boot's virtio disk patterns. Cases pass it to L3 as devisor.blk=TOKEN
# and tests/nested/l2-bin/nested-vm reads it from the environment, so the
# bytes L3 writes and L2 finds are this run's.
NESTED_TOKEN=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
export NESTED_TOKEN
