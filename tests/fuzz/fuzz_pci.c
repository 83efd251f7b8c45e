// SPDX-License-Identifier: GPL-2.0
/*
 * The PCI side as a guest reaches it: CONFIG_ADDRESS/CONFIG_DATA and ECAM
 * config cycles (BARs, capabilities, MSI-X, power management, FLR), the
 * MSI-X tables and PBAs, the virtio-pci common/notify/ISR/device regions
 * of virtio-rng and virtio-console, and the NVMe controller's registers
 * and doorbells, with admin and I/O commands, PRP lists and SGLs read from
 * guest memory the input writes (hook ops). Built once; each input starts
 * from a machine reset with the BARs where firmware put them.
 */
#include <linux/pci_regs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/device.h"
#include "hw/nvme/pci.h"
#include "kvm/irq.h"
#include "kvm/vm.h"
#include "pci/pci.h"
#include "util/evloop.h"
#include "virtio/console.h"
#include "virtio/pci.h"
#include "virtio/rng.h"

#include "fuzz.h"

#define RAM (1ull << 20)
#define DISK (1ull << 20)
#define MAXW 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* arch/x86/machine.h's; its layout.h clashes with <linux/pci_regs.h>. */
void pc_pci_host_config(struct pci_host_config *cfg);

static struct vm vm;
static struct pci_host host;
static struct evloop *loop;
static struct fz_window w[MAXW];
static unsigned int nw;
/* Each function's config header as firmware left it. */
static struct pci_dev *fns[4];
static uint32_t saved[4][16];
static unsigned int nfns;

static void add_fn(struct pci_dev *pdev)
{
	fns[nfns] = pdev;
	pci_cfg_write(pdev, PCI_COMMAND,
		      PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER,
		      2);
	for (unsigned int i = 0; i < 16; i++)
		saved[nfns][i] = pci_cfg_read(pdev, 4 * i, 4);
	for (unsigned int b = 0; b < PCI_STD_NUM_BARS && nw < MAXW; b++) {
		uint32_t lo = saved[nfns][4 + b];
		uint64_t addr;

		if (!pdev->bars[b].size || (lo & PCI_BASE_ADDRESS_SPACE_IO))
			continue;
		addr = lo & ~0xfull;
		if ((lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
		    PCI_BASE_ADDRESS_MEM_TYPE_64)
			addr |= (uint64_t)saved[nfns][5 + b] << 32;
		if (addr)
			w[nw++] = (struct fz_window){ true, addr,
						      pdev->bars[b].size };
	}
	nfns++;
}

static void build(void)
{
	struct pci_host_config cfg;
	struct nvme_config nc = { .name = "nvme-fuzz", .max_ioq = 4 };
	struct virtio_pci *vp;
	struct blk_backend *be;
	int null_fd;

	fz_vm_init(&vm, RAM);
	vm.irq_ops = &fz_nop_irq_ops;
	pc_pci_host_config(&cfg);
	if (pci_host_init(&host, &vm, &cfg))
		abort();
	loop = fz_loop();
	null_fd = fz_null_fd();
	be = fz_disk(DISK);
	w[nw++] = (struct fz_window){ false, PCI_CONF1_PORT, PCI_CONF1_SIZE };
	w[nw++] = (struct fz_window){ true, cfg.ecam_base, 0x10000 };
	vp = virtio_pci_create(&vm, &host, virtio_rng_create(&vm), loop);
	if (!vp)
		abort();
	add_fn(virtio_pci_pdev(vp));
	vp = virtio_pci_create(&vm, &host, virtio_console_create(&vm, null_fd),
			       loop);
	if (!vp)
		abort();
	add_fn(virtio_pci_pdev(vp));
	{
		struct nvme_pci *np =
			nvme_pci_create(&vm, &host, be, &nc, loop, -1);

		if (!np)
			abort();
		add_fn(nvme_pci_pdev(np));
	}
	add_fn(pci_host_find(&host, 0, 0));
	/* ECAM of slots 2 and 3 (slots 0 and 1 are window 1). */
	w[nw++] = (struct fz_window){ true, cfg.ecam_base + 0x10000, 0x10000 };
	if (getenv("FUZZ_VERBOSE"))
		for (unsigned int i = 0; i < nw; i++)
			fprintf(stderr, "window %u: %s %#llx+%#llx\n", i,
				w[i].mmio ? "mmio" : "pio",
				(unsigned long long)w[i].base,
				(unsigned long long)w[i].len);
}

/*
 * A dword at 0xcfa is bytes 0xcfa-0xcfd, whatever CONFIG_ADDRESS selects:
 * the same as four byte reads (issue 12: the split ORed in all ones).
 */
static void conf1_oracle(void)
{
	uint32_t dw = 0;
	uint8_t b[4] = { 0 };

	bus_read(&vm.pio, 0xcfa, &dw, 4);
	for (unsigned int i = 0; i < 4; i++)
		bus_read(&vm.pio, 0xcfa + i, &b[i], 1);
	if (dw !=
	    (uint32_t)(b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24)) {
		fprintf(stderr, "0xcfa: dword %#x, bytes %02x %02x %02x %02x\n",
			dw, b[0], b[1], b[2], b[3]);
		abort();
	}
}

static void hook(void *arg, uint8_t op)
{
	struct fz *in = arg;

	switch (op % 4) {
	case 0:
	case 1:
		/* The guest writes memory: queue entries, PRP lists, SGLs. */
		fz_mem_write(&vm.mem, RAM, in, 1 + (op >> 2) % 64);
		break;
	case 2:
		/* Let the I/O thread catch up (completions, kicks): 0-1 ms. */
		usleep((op >> 2) * 20);
		break;
	default:
		if (op & 4)
			conf1_oracle();
		else
			devices_reset(&vm);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };

	if (!nw)
		build();
	devices_reset(&vm);
	memset(gpa_to_hva(&vm.mem, 0, RAM), 0, RAM);
	for (unsigned int f = 0; f < nfns; f++)
		for (unsigned int i = 1; i < 16; i++)
			pci_cfg_write(fns[f], 4 * i, saved[f][i], 4);
	fz_run_io(&vm, w, nw, &in, hook, &in);
	return 0;
}
