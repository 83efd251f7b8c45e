// SPDX-License-Identifier: GPL-2.0
/*
 * 8042 keyboard controller with empty keyboard and mouse ports.
 *
 * The controller's own commands work, including the AUX loopback Linux
 * uses to find the mouse port. A byte sent to either device gets what a
 * real controller reports when nothing answers: 0xfe with the timeout bit,
 * so Linux's atkbd and psmouse give up at once instead of waiting out
 * their timeouts.
 */
#include "hw/i8042.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "bus/device.h"
#include "kvm/irq.h"
#include "kvm/vm.h"
#include "util/common.h"
#include "util/log.h"

#define STR_OBF 0x01
#define STR_SYSFLAG 0x04
#define STR_CMDDAT 0x08 /* last write went to the command port */
#define STR_KEYLOCK 0x10 /* set: keyboard not inhibited */
#define STR_AUXDATA 0x20
#define STR_TIMEOUT 0x40

#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_SYSFLAG 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40

#define CMD_READ_RAM 0x20 /* 0x20-0x3f; byte 0 is the CTR */
#define CMD_WRITE_RAM 0x60 /* 0x60-0x7f */
#define CMD_PASSWORD_TEST 0xa4
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_INPUT 0xc0
#define CMD_READ_OUTPUT 0xd0
#define CMD_WRITE_OUTPUT 0xd1
#define CMD_WRITE_KBD_OBUF 0xd2
#define CMD_WRITE_AUX_OBUF 0xd3
#define CMD_WRITE_AUX 0xd4
#define CMD_A20_DISABLE 0xdd
#define CMD_A20_ENABLE 0xdf
#define CMD_READ_TEST 0xe0
#define CMD_PULSE 0xf0 /* 0xf0-0xff: pulse output bits 3-0 low */

#define OUT_RESET 0x01 /* active low */
#define OUT_A20 0x02
#define OUT_KBD_OBF 0x10
#define OUT_AUX_OBF 0x20

#define RET_SELF_TEST_OK 0x55
#define RET_NO_DEVICE 0xfe

struct i8042 {
	struct device dev;
	struct vm *vm;
	pthread_mutex_t lock;
	struct irq_line kbd_irq, aux_irq;
	int kbd_level, aux_level;

	uint8_t ram[32]; /* ram[0] is the controller configuration byte */
	uint8_t outport;
	uint8_t obuf;
	bool obf, obuf_aux, timeout, cmd_last;
	uint8_t pending; /* command waiting for its data byte, or 0 */
};

static void irq_update(struct i8042 *k)
{
	int kbd = k->obf && !k->obuf_aux && (k->ram[0] & CTR_KBDINT);
	int aux = k->obf && k->obuf_aux && (k->ram[0] & CTR_AUXINT);

	if (kbd != k->kbd_level) {
		k->kbd_level = kbd;
		irq_line_set(&k->kbd_irq, kbd);
	}
	if (aux != k->aux_level) {
		k->aux_level = aux;
		irq_line_set(&k->aux_irq, aux);
	}
}

/* One output buffer, as on the real part: a new byte replaces the old. */
static void queue(struct i8042 *k, uint8_t v, bool aux, bool timeout)
{
	k->obuf = v;
	k->obf = true;
	k->obuf_aux = aux;
	k->timeout = timeout;
}

static uint8_t status(const struct i8042 *k)
{
	uint8_t s = STR_KEYLOCK;

	if (k->obf)
		s |= STR_OBF | (k->obuf_aux ? STR_AUXDATA : 0);
	if (k->ram[0] & CTR_SYSFLAG)
		s |= STR_SYSFLAG;
	if (k->cmd_last)
		s |= STR_CMDDAT;
	if (k->timeout)
		s |= STR_TIMEOUT;
	return s;
}

static void write_outport(struct i8042 *k, uint8_t v)
{
	k->outport = v;
	if (!(v & OUT_RESET))
		vm_stop(k->vm, VM_STOP_RESET, 0,
			"guest requested reset (i8042)");
}

static void command(struct i8042 *k, uint8_t cmd)
{
	uint8_t out;

	k->pending = 0;
	if (cmd >= CMD_READ_RAM && cmd < CMD_READ_RAM + 0x20) {
		queue(k, k->ram[cmd - CMD_READ_RAM], false, false);
		return;
	}
	if ((cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + 0x20) ||
	    cmd == CMD_WRITE_OUTPUT || cmd == CMD_WRITE_KBD_OBUF ||
	    cmd == CMD_WRITE_AUX_OBUF || cmd == CMD_WRITE_AUX) {
		k->pending = cmd;
		return;
	}
	if (cmd >= CMD_PULSE) {
		/* Pulsing bit 0 (the reset line) low is the 0xfe command. */
		if (!(cmd & OUT_RESET))
			vm_stop(k->vm, VM_STOP_RESET, 0,
				"guest requested reset (i8042)");
		return;
	}
	switch (cmd) {
	case CMD_PASSWORD_TEST:
		queue(k, 0xf1, false, false); /* no password installed */
		break;
	case CMD_AUX_DISABLE:
		k->ram[0] |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		k->ram[0] &= ~CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
	case CMD_READ_TEST:
		queue(k, 0x00, false, false); /* lines fine, nothing there */
		break;
	case CMD_SELF_TEST:
		k->ram[0] |= CTR_SYSFLAG;
		queue(k, RET_SELF_TEST_OK, false, false);
		break;
	case CMD_KBD_DISABLE:
		k->ram[0] |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ram[0] &= ~CTR_KBDDIS;
		break;
	case CMD_READ_INPUT:
		queue(k, 0x80, false, false); /* keyboard not inhibited */
		break;
	case CMD_READ_OUTPUT:
		out = k->outport & ~(OUT_KBD_OBF | OUT_AUX_OBF);
		if (k->obf)
			out |= k->obuf_aux ? OUT_AUX_OBF : OUT_KBD_OBF;
		queue(k, out, false, false);
		break;
	case CMD_A20_DISABLE:
		k->outport &= ~OUT_A20;
		break;
	case CMD_A20_ENABLE:
		k->outport |= OUT_A20;
		break;
	default:
		pr_debug_ratelimited("i8042: unknown command %#x", cmd);
		break;
	}
}

static void data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + 0x20) {
		k->ram[cmd - CMD_WRITE_RAM] = v;
		return;
	}
	switch (cmd) {
	case CMD_WRITE_OUTPUT:
		write_outport(k, v);
		break;
	case CMD_WRITE_KBD_OBUF:
		queue(k, v, false, false);
		break;
	case CMD_WRITE_AUX_OBUF:
		queue(k, v, true, false);
		break;
	case CMD_WRITE_AUX:
		queue(k, RET_NO_DEVICE, true, true);
		break;
	default:
		/* A byte for the keyboard, which is not there. */
		queue(k, RET_NO_DEVICE, false, true);
		break;
	}
}

static uint64_t i8042_data_read(void *opaque, uint64_t offset,
				unsigned int size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	/* An empty buffer reads back its last byte. */
	v = k->obuf;
	k->obf = false;
	k->timeout = false;
	irq_update(k);
	pthread_mutex_unlock(&k->lock);
	return v;
}

static void i8042_data_write(void *opaque, uint64_t offset, uint64_t value,
			     unsigned int size)
{
	struct i8042 *k = opaque;

	pthread_mutex_lock(&k->lock);
	k->cmd_last = false;
	data_write(k, value);
	irq_update(k);
	pthread_mutex_unlock(&k->lock);
}

static uint64_t i8042_status_read(void *opaque, uint64_t offset,
				  unsigned int size)
{
	struct i8042 *k = opaque;
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	v = status(k);
	pthread_mutex_unlock(&k->lock);
	return v;
}

static void i8042_command_write(void *opaque, uint64_t offset, uint64_t value,
				unsigned int size)
{
	struct i8042 *k = opaque;

	pthread_mutex_lock(&k->lock);
	k->cmd_last = true;
	command(k, value);
	irq_update(k);
	pthread_mutex_unlock(&k->lock);
}

static const struct bus_ops i8042_data_ops = {
	.read = i8042_data_read,
	.write = i8042_data_write,
};

static const struct bus_ops i8042_cmd_ops = {
	.read = i8042_status_read,
	.write = i8042_command_write,
};

/* What a BIOS leaves behind: translation on, interrupts on, POST done. */
static void i8042_reset_locked(struct i8042 *k)
{
	memset(k->ram, 0, sizeof(k->ram));
	k->ram[0] = CTR_XLATE | CTR_SYSFLAG | CTR_AUXINT | CTR_KBDINT;
	k->outport = OUT_RESET | OUT_A20;
	k->obuf = 0;
	k->obf = false;
	k->obuf_aux = false;
	k->timeout = false;
	k->cmd_last = false;
	k->pending = 0;
	irq_update(k);
}

static void i8042_reset(struct device *dev)
{
	struct i8042 *k = container_of(dev, struct i8042, dev);

	pthread_mutex_lock(&k->lock);
	i8042_reset_locked(k);
	pthread_mutex_unlock(&k->lock);
}

static void i8042_destroy(struct device *dev)
{
	struct i8042 *k = container_of(dev, struct i8042, dev);

	bus_unregister(&k->vm->pio, I8042_DATA_PORT, k);
	bus_unregister(&k->vm->pio, I8042_CMD_PORT, k);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static int i8042_describe(struct device *dev, struct device_desc *d)
{
	static const struct aml_io_range io[] = { { I8042_DATA_PORT, 1 },
						  { I8042_CMD_PORT, 1 } };

	if (d->aml)
		aml_isa_device(d->aml, "KBD", "PNP0303", -1, io, 2,
			       I8042_KBD_GSI);
	return 0;
}

struct i8042 *i8042_create(struct vm *vm)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int ret;

	if (!k)
		return NULL;
	k->vm = vm;
	pthread_mutex_init(&k->lock, NULL);
	vm_irq_line_init(vm, &k->kbd_irq, I8042_KBD_GSI);
	vm_irq_line_init(vm, &k->aux_irq, I8042_AUX_GSI);
	i8042_reset_locked(k);

	/*
	 * Two one-byte regions: 0x61-0x63 in between belong to others
	 * (0x61 to the in-kernel PIT).
	 */
	ret = bus_register(&vm->pio, I8042_DATA_PORT, 1, &i8042_data_ops, k,
			   "i8042");
	if (!ret) {
		ret = bus_register(&vm->pio, I8042_CMD_PORT, 1, &i8042_cmd_ops,
				   k, "i8042");
		if (ret)
			bus_unregister(&vm->pio, I8042_DATA_PORT, k);
	}
	if (ret) {
		pr_err("i8042: cannot claim ports: %s", strerror(-ret));
		pthread_mutex_destroy(&k->lock);
		free(k);
		return NULL;
	}
	k->dev.name = "i8042";
	k->dev.kind = DEV_PLATFORM;
	k->dev.reset = i8042_reset;
	k->dev.destroy = i8042_destroy;
	k->dev.describe = i8042_describe;
	device_register(vm, &k->dev);
	return k;
}
