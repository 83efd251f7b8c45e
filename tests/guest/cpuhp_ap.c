// SPDX-License-Identifier: GPL-2.0
/*
 * Starts vCPU 1 itself, INIT, SIPI, SIPI through the local APIC's ICR, as
 * a hostile guest would start a CPU it was not given. The AP's real-mode
 * trampoline stores a flag. `ap=ran`: it must run (--cpus 2: the sequence
 * works); `ap=idle`: it must not (--cpus boot=1,max=2: vCPU 1 exists in
 * KVM but was never plugged, so devisor never lets it enter KVM_RUN).
 */
#include "guest.h"
#include "tsc.h"

#define TRAMPOLINE 0x10000 /* SIPI vector 0x10 */
#define FLAG (TRAMPOLINE + 0x100)
#define FLAG_VALUE 0x1234
#define LAPIC 0xfee00000ul
#define ICR_LO 0x300
#define ICR_HI 0x310

static void icr(uint8_t apic_id, uint32_t lo)
{
	volatile uint32_t *apic = (volatile uint32_t *)LAPIC;

	apic[ICR_HI / 4] = (uint32_t)apic_id << 24;
	apic[ICR_LO / 4] = lo;
}

static void wait_ms(uint64_t ms)
{
	uint64_t end = tsc_deadline_ms(ms);

	while (!tsc_passed(end))
		;
}

int guest_main(void)
{
	/* mov ax,cs; mov ds,ax; mov word [0x100],0x1234; hlt; jmp $-1 */
	static const uint8_t code[] = { 0x8c, 0xc8, 0x8e, 0xd8, 0xc7, 0x06,
					0x00, 0x01, 0x34, 0x12, 0xf4, 0xeb,
					0xfd };
	volatile uint16_t *flag = (volatile uint16_t *)FLAG;
	char want[8];
	bool ran = false;
	uint64_t end;

	if (cmdline_arg("ap", want, sizeof(want)) < 0 ||
	    (strcmp(want, "ran") && strcmp(want, "idle"))) {
		printf("cpuhp_ap: need ap=ran or ap=idle (got '%s')\n",
		       cmdline());
		return GUEST_FAIL;
	}
	memcpy((void *)TRAMPOLINE, code, sizeof(code));
	*flag = 0;
	icr(1, 0x00004500); /* INIT, assert */
	wait_ms(10);
	for (int i = 0; i < 2; i++) {
		icr(1, 0x00004600 | (TRAMPOLINE >> 12)); /* SIPI */
		wait_ms(1);
	}
	/* Far longer than an AP needs to run three instructions. */
	end = tsc_deadline_ms(500);
	while (!(ran = *flag == FLAG_VALUE) && !tsc_passed(end))
		;
	printf("cpuhp_ap: vCPU 1 %s\n", ran ? "ran" : "did not run");
	return ran == !strcmp(want, "ran") ? GUEST_PASS : GUEST_FAIL;
}
