// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-hold: runs in L2 for the whole nested run and holds one KVM VM with
 * an in-kernel irqchip and one vCPU that never runs.
 *
 * Why: KVM turns static keys on and off as VMs come and go: the first VM
 * enables preempt notifiers (preempt_notifier_key, tested inside
 * __schedule()), the last one's exit disables them, and a new vCPU's
 * software-disabled local APIC counts in apic_sw_disabled. Each flip
 * patches L2's kernel text with text_poke_bp(): an int3 on the
 * instruction and IPIs to sync the other CPU. Under QEMU TCG (multi-
 * threaded, 7.2) patching __schedule(), which both CPUs run all the time,
 * now and then leaves both L2 CPUs hitting that int3 for good: L2 stops,
 * no soft-lockup report (tests/nested/stall-dump showed both CPUs in
 * asm_exc_int3/exc_int3 over __schedule+0x2ab, twice in five runs). With
 * one VM held for the whole run no count falls to zero, so the hundreds
 * of short-lived VMs of a run patch nothing. Creating this first VM
 * still flips the keys once, so l2-init starts it with the other CPUs
 * offline and brings them back once it says it holds the VM.
 * It is a property of the test platform, not of devisor: on a real host
 * nothing needs it.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm, vcpu;

	if (kvm < 0) {
		perror("kvm-hold: /dev/kvm");
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		perror("kvm-hold: KVM_CREATE_VM/IRQCHIP");
		return 1;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		perror("kvm-hold: KVM_CREATE_VCPU");
		return 1;
	}
	printf("DEVISOR-L2 kvm-hold: holding a VM with one idle vCPU\n");
	fflush(stdout);
	for (;;)
		pause();
}
