/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_HW_I8042_H
#define DEVISOR_HW_I8042_H

/*
 * A PS/2 (8042) keyboard controller with nothing plugged in: enough for
 * Linux's i8042 driver to probe quickly and cleanly, and for the guest to
 * reset the machine through it. Ports 0x60 (data) and 0x64 (status and
 * command); IRQ 1 and 12. Port 0x61 is left to KVM's in-kernel PIT, which
 * the VM must create with KVM_PIT_SPEAKER_DUMMY.
 */
#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_KBD_GSI 1
#define I8042_AUX_GSI 12

struct i8042;
struct vm;

/* Claims the ports and registers the device. NULL on error. */
struct i8042 *i8042_create(struct vm *vm);

#endif
