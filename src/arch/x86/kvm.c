// SPDX-License-Identifier: GPL-2.0
/* The x86 side of kvm/arch.h: a PC's irqchip, PIT, RAM map and GSI routes. */
#include "kvm/arch.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/procfs.h>
#include <sys/user.h>
#include <linux/kvm.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "kvm/coredump.h"
#include "kvm/irq.h"
#include "kvm/memory.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "util/log.h"

const struct arch_kvm_cap arch_kvm_caps[] = {
	{ KVM_CAP_IRQCHIP, "in-kernel irqchip" },
	{ KVM_CAP_PIT2, "in-kernel PIT" },
	{ KVM_CAP_SET_TSS_ADDR, "TSS address" },
};
const unsigned int arch_nr_kvm_caps =
	sizeof(arch_kvm_caps) / sizeof(arch_kvm_caps[0]);

const bool arch_rom_reads_coherent = true;

const char arch_pc_name[] = "RIP";

int arch_vm_setup(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity = KVM_IDENTITY_MAP_ADDR;

	/* Real-mode emulation on VMX without unrestricted guest needs these. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) <
		    0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) {
		pr_err("KVM_SET_TSS_ADDR/IDENTITY_MAP_ADDR: %s",
		       strerror(errno));
		return -errno;
	}
	/* The irqchip must exist before vCPUs so they get an in-kernel LAPIC. */
	if (vm->split_irqchip) {
		/*
		 * Local APICs only: the IOAPIC is ours (hw/ioapic.c) and its
		 * pins are the first GSIs, MSI routes KVM scans for the
		 * level-triggered vectors whose EOI it reports
		 * (KVM_EXIT_IOAPIC_EOI). No PIC and no PIT: the MADT says
		 * there is no 8259, Linux finds none, and the LAPIC timer on
		 * the TSC deadline is the clock.
		 */
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_SPLIT_IRQCHIP,
			.args = { X86_IOAPIC_PINS },
		};

		if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
			pr_err("KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): %s",
			       strerror(errno));
			return -errno;
		}
		vm_irq_reserve_gsis(vm, X86_IOAPIC_PINS);
		return 0;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		pr_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		pr_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* RAM from 0 up to the 32-bit PCI hole; what is left goes above 4 GiB. */
int arch_ram_map(uint64_t ram_size, struct mem_region *map, unsigned int max)
{
	uint64_t low = ram_size < PCI_HOLE_START ? ram_size : PCI_HOLE_START;
	uint64_t high = ram_size - low;

	if (!ram_size || max < 1 + !!high ||
	    (high && PCI_HOLE_END + high < PCI_HOLE_END))
		return -EINVAL;
	map[0] = (struct mem_region){ .gpa = 0, .size = low };
	if (!high)
		return 1;
	map[1] = (struct mem_region){ .gpa = PCI_HOLE_END, .size = high };
	return 2;
}

/*
 * Above 4 GiB, after RAM, 1 GiB aligned (a whole number of Linux's
 * 128 MiB memory blocks, huge-page friendly), below the 64-bit PCI window
 * the board puts after it, and within 2^40.
 */
uint64_t arch_hotplug_gpa(uint64_t ram_end, uint64_t size)
{
	return pc_high_range(ram_end, size);
}

uint64_t x86_low_ram_end(const struct guest_mem *mem)
{
	return mem->regions[0].gpa + mem->regions[0].size;
}

static void add_irqchip(struct kvm_irq_routing_entry *e, unsigned int gsi,
			unsigned int chip, unsigned int pin)
{
	*e = (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_IRQCHIP,
		.u.irqchip = { .irqchip = chip, .pin = pin },
	};
}

/* KVM's own defaults: ISA IRQs to both PICs and the IOAPIC. */
unsigned int arch_irq_default_routes(struct kvm_irq_routing_entry *e)
{
	unsigned int n = 0;

	_Static_assert(15 + X86_IOAPIC_PINS <= ARCH_MAX_IRQ_ROUTES, "routes");
	for (unsigned int i = 0; i < 16; i++) {
		if (i != 2)
			add_irqchip(&e[n++], i,
				    i < 8 ? KVM_IRQCHIP_PIC_MASTER :
					    KVM_IRQCHIP_PIC_SLAVE,
				    i % 8);
	}
	for (unsigned int i = 0; i < X86_IOAPIC_PINS; i++)
		add_irqchip(&e[n++], i, KVM_IRQCHIP_IOAPIC, i);
	return n;
}

uint32_t arch_irq_line(unsigned int gsi)
{
	return gsi;
}

uint64_t arch_vcpu_pc(struct vcpu *v)
{
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return regs.rip;
}

static void __attribute__((format(printf, 4, 5)))
append(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (*n >= len)
		return;
	va_start(ap, fmt);
	r = vsnprintf(buf + *n, len - *n, fmt, ap);
	va_end(ap);
	if (r > 0)
		*n += (size_t)r;
}

/* The highest vector set in a 256-bit LAPIC register (ISR, IRR), or -1. */
static int lapic_top(const struct kvm_lapic_state *l, unsigned int base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w;

		memcpy(&w, &l->regs[base + 16 * i], sizeof(w));
		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

static const char *mp_state_name(uint32_t s)
{
	switch (s) {
	case KVM_MP_STATE_RUNNABLE:
		return "runnable";
	case KVM_MP_STATE_UNINITIALIZED:
		return "waiting for INIT";
	case KVM_MP_STATE_INIT_RECEIVED:
		return "INIT received";
	case KVM_MP_STATE_HALTED:
		return "halted";
	case KVM_MP_STATE_SIPI_RECEIVED:
		return "SIPI received";
	default:
		return "?";
	}
}

/*
 * The bytes at a guest virtual address, through the vCPU's own page tables:
 * a hang report that names the instruction needs no symbol table.
 */
static void append_code(struct vcpu *v, char *buf, size_t len, size_t *n,
			uint64_t gva)
{
	struct kvm_translation t = { .linear_address = gva };
	uint8_t code[16];
	size_t want = sizeof(code);

	if (ioctl(v->fd, KVM_TRANSLATE, &t) < 0 || !t.valid) {
		append(buf, len, n, "; code: not mapped");
		return;
	}
	/* Stop at the page end: the next page may translate elsewhere. */
	if ((gva & 4095) + want > 4096)
		want = 4096 - (gva & 4095);
	if (guest_read(&v->vm->mem, t.physical_address, code, want) < 0) {
		append(buf, len, n, "; code: GPA %#llx outside RAM",
		       (unsigned long long)t.physical_address);
		return;
	}
	append(buf, len, n,
	       "; code at GPA %#llx:", (unsigned long long)t.physical_address);
	for (size_t i = 0; i < want; i++)
		append(buf, len, n, " %02x", code[i]);
}

const bool arch_has_nmi = true;

int arch_vcpu_nmi(struct vcpu *v)
{
	return ioctl(v->fd, KVM_NMI) < 0 ? -errno : 0;
}

void arch_vcpu_describe(struct vcpu *v, char *buf, size_t len)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_mp_state mp;
	struct kvm_vcpu_events ev;
	struct kvm_lapic_state l;
	size_t n = 0;
	bool have_regs;

	buf[0] = '\0';
	have_regs = ioctl(v->fd, KVM_GET_REGS, &r) == 0;
	if (have_regs)
		append(buf, len, &n, "RIP %#llx RSP %#llx RFLAGS %#llx (IF %u)",
		       (unsigned long long)r.rip, (unsigned long long)r.rsp,
		       (unsigned long long)r.rflags,
		       (unsigned int)(r.rflags >> 9) & 1);
	if (ioctl(v->fd, KVM_GET_SREGS, &s) == 0) {
		append(buf, len, &n,
		       " CS %#x CR0 %#llx CR2 %#llx CR3 %#llx CR4 %#llx",
		       s.cs.selector, (unsigned long long)s.cr0,
		       (unsigned long long)s.cr2, (unsigned long long)s.cr3,
		       (unsigned long long)s.cr4);
		/*
		 * No guest pages its tables from outside its RAM: seen when a
		 * nested host's emulated VM exit saved its own state as ours.
		 */
		if ((s.cr0 & (1ull << 31)) && /* CR0.PG */
		    !gpa_to_hva(&v->vm->mem, s.cr3 & ~0xfffull, 4096))
			append(buf, len, &n,
			       " (CR3 outside guest RAM: not a state the "
			       "guest made)");
	}
	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0)
		append(buf, len, &n, "; %s", mp_state_name(mp.mp_state));
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) == 0) {
		if (ev.interrupt.injected)
			append(buf, len, &n, ", injecting vector %u",
			       ev.interrupt.nr);
		if (ev.interrupt.shadow)
			append(buf, len, &n, ", interrupt shadow");
		if (ev.nmi.pending || ev.nmi.injected)
			append(buf, len, &n, ", NMI %s",
			       ev.nmi.injected ? "injected" : "pending");
		if (ev.nmi.masked)
			append(buf, len, &n, ", NMIs masked");
		if (ev.exception.injected || ev.exception.pending)
			append(buf, len, &n, ", exception %u", ev.exception.nr);
		if ((ev.exception.injected || ev.exception.pending) &&
		    ev.exception.has_error_code)
			append(buf, len, &n, " (error code %#x)",
			       ev.exception.error_code);
	}
	/* The LAPIC page is in xAPIC layout even in x2APIC mode. */
	if (ioctl(v->fd, KVM_GET_LAPIC, &l) == 0) {
		uint32_t tpr, lvtt, tmict;

		memcpy(&tpr, &l.regs[0x80], 4);
		memcpy(&lvtt, &l.regs[0x320], 4);
		memcpy(&tmict, &l.regs[0x380], 4);
		append(buf, len, &n,
		       "; LAPIC: top ISR %d, top IRR %d, TPR %#x, timer LVT %#x "
		       "count %u",
		       lapic_top(&l, 0x100), lapic_top(&l, 0x200), tpr & 0xff,
		       lvtt, tmict);
	}
	if (have_regs)
		append_code(v, buf, len, &n, r.rip);
}

/* kvmclock: what a Linux guest's clocksource and sched_clock read. */
void arch_clock_save(struct vm *vm)
{
	struct kvm_clock_data c = { 0 };

	vm->clock_saved = false;
	if (vm->vm_fd < 0)
		return;
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &c) < 0) {
		pr_warn("KVM_GET_CLOCK: %s; the guest's clock runs on while "
			"paused",
			strerror(errno));
		return;
	}
	vm->paused_clock = c.clock;
	vm->clock_saved = true;
}

void arch_clock_restore(struct vm *vm)
{
	struct kvm_clock_data c = { .clock = vm->paused_clock };

	if (vm->vm_fd < 0 || !vm->clock_saved)
		return;
	vm->clock_saved = false;
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &c) < 0)
		pr_warn("KVM_SET_CLOCK: %s; the guest's clock jumps over the "
			"pause",
			strerror(errno));
}

/* vm.coredump ------------------------------------------------------------ */

const uint16_t arch_elf_machine = EM_X86_64;

/*
 * The "QEMU" note crash(8) reads for what NT_PRSTATUS lacks (CR3 above
 * all, to find a KASLR kernel): QEMU's QEMUCPUState, version 1.
 */
struct qemu_cpu_segment {
	uint32_t selector, limit, flags, pad;
	uint64_t base;
};

struct qemu_cpu_state {
	uint32_t version, size;
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	struct qemu_cpu_segment cs, ds, es, fs, gs, ss, ldt, tr, gdt, idt;
	uint64_t cr[5];
	uint64_t kernel_gs_base;
};

#define MSR_KERNEL_GS_BASE 0xc0000102

/* A segment as QEMU keeps it: the descriptor's attribute bits in place. */
static struct qemu_cpu_segment qemu_seg(const struct kvm_segment *s)
{
	return (struct qemu_cpu_segment){
		.selector = s->selector,
		.limit = s->limit,
		.flags = (uint32_t)s->type << 8 | (uint32_t)s->s << 12 |
			 (uint32_t)s->dpl << 13 | (uint32_t)s->present << 15 |
			 (uint32_t)s->avl << 20 | (uint32_t)s->l << 21 |
			 (uint32_t)s->db << 22 | (uint32_t)s->g << 23,
		.base = s->base,
	};
}

ssize_t arch_vcpu_core_notes(struct vcpu *v, void *buf, size_t len)
{
	/* struct kvm_msrs and its one entry, as KVM reads them. */
	union {
		struct kvm_msrs h;
		uint8_t bytes[sizeof(struct kvm_msrs) +
			      sizeof(struct kvm_msr_entry)];
	} msrs = { .h.nmsrs = 1 };
	struct kvm_msr_entry *gs_base = &msrs.h.entries[0];
	struct user_regs_struct u;
	struct elf_prstatus pr;
	struct qemu_cpu_state q;
	struct kvm_regs r;
	struct kvm_sregs s;
	size_t a, b;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	gs_base->index = MSR_KERNEL_GS_BASE;
	/* Without it the note says 0: crash needs CR3, not this. */
	if (ioctl(v->fd, KVM_GET_MSRS, &msrs) != 1)
		gs_base->data = 0;

	u = (struct user_regs_struct){
		.r15 = r.r15,
		.r14 = r.r14,
		.r13 = r.r13,
		.r12 = r.r12,
		.rbp = r.rbp,
		.rbx = r.rbx,
		.r11 = r.r11,
		.r10 = r.r10,
		.r9 = r.r9,
		.r8 = r.r8,
		.rax = r.rax,
		.rcx = r.rcx,
		.rdx = r.rdx,
		.rsi = r.rsi,
		.rdi = r.rdi,
		.rip = r.rip,
		.cs = s.cs.selector,
		.eflags = r.rflags,
		.rsp = r.rsp,
		.ss = s.ss.selector,
		.fs_base = s.fs.base,
		.gs_base = s.gs.base,
		.ds = s.ds.selector,
		.es = s.es.selector,
		.fs = s.fs.selector,
		.gs = s.gs.selector,
	};
	memset(&pr, 0, sizeof(pr));
	pr.pr_pid = v->id + 1;
	memcpy(&pr.pr_reg, &u, sizeof(u));

	q = (struct qemu_cpu_state){
		.version = 1,
		.size = sizeof(q),
		.rax = r.rax,
		.rbx = r.rbx,
		.rcx = r.rcx,
		.rdx = r.rdx,
		.rsi = r.rsi,
		.rdi = r.rdi,
		.rsp = r.rsp,
		.rbp = r.rbp,
		.r8 = r.r8,
		.r9 = r.r9,
		.r10 = r.r10,
		.r11 = r.r11,
		.r12 = r.r12,
		.r13 = r.r13,
		.r14 = r.r14,
		.r15 = r.r15,
		.rip = r.rip,
		.rflags = r.rflags,
		.cs = qemu_seg(&s.cs),
		.ds = qemu_seg(&s.ds),
		.es = qemu_seg(&s.es),
		.fs = qemu_seg(&s.fs),
		.gs = qemu_seg(&s.gs),
		.ss = qemu_seg(&s.ss),
		.ldt = qemu_seg(&s.ldt),
		.tr = qemu_seg(&s.tr),
		.gdt = { .limit = s.gdt.limit, .base = s.gdt.base },
		.idt = { .limit = s.idt.limit, .base = s.idt.base },
		.cr = { s.cr0, 0, s.cr2, s.cr3, s.cr4 },
		.kernel_gs_base = gs_base->data,
	};

	a = elf_note_put(buf, len, "CORE", NT_PRSTATUS, &pr, sizeof(pr));
	b = a ? elf_note_put((uint8_t *)buf + a, len - a, "QEMU", 0, &q,
			     sizeof(q)) :
		0;
	return b ? (ssize_t)(a + b) : -ENOSPC;
}
