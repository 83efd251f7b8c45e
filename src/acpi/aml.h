/* SPDX-License-Identifier: GPL-2.0 */
#ifndef DEVISOR_ACPI_AML_H
#define DEVISOR_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A small AML (ACPI Machine Language) byte-code writer for the DSDT.
 *
 * Objects are emitted in order into one growable buffer. Objects that own a
 * PkgLength (Scope, Device, Method, Package, Buffer) are opened with
 * aml_*_begin() and closed with aml_end(); the PkgLength is only known at
 * the close, so aml_end() inserts it in front of the body. Anything emitted
 * between begin and end becomes the body, so callers nest freely:
 *
 *	aml_scope_begin(a, "\\_SB");
 *	aml_device_begin(a, "COM1");
 *	aml_name_eisaid(a, "_HID", "PNP0501");
 *	aml_name(a, "_CRS");
 *	aml_restemp_begin(a);
 *	aml_res_io(a, 0x3f8, 0x3f8, 1, 8);
 *	aml_restemp_end(a);
 *	aml_end(a);	// Device
 *	aml_end(a);	// Scope
 *
 * Errors are sticky: the first one (-ENOMEM, -EINVAL for a bad name or
 * unbalanced begin/end, -E2BIG for an oversized object) is kept in ->err,
 * later calls do nothing, and aml_finish() reports it. So a caller checks
 * once at the end instead of after every call.
 */

#define AML_MAX_DEPTH 16

struct aml_frame {
	size_t start; /* where the PkgLength goes */
	uint8_t kind; /* enum aml_frame_kind (aml.c) */
	unsigned int count; /* elements, for Package */
};

struct aml {
	uint8_t *buf;
	size_t len, cap;
	int err;
	unsigned int depth;
	struct aml_frame frames[AML_MAX_DEPTH];
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
/* 0 when everything was closed and nothing failed, else the first error. */
int aml_finish(struct aml *a);

/* Raw bytes; not counted as a Package element. */
void aml_raw(struct aml *a, const void *data, size_t len);

/*
 * Encodes the PkgLength value @len (which, per the spec, counts the
 * PkgLength bytes themselves) into @out. Returns the number of bytes (1-4),
 * or 0 when @len does not fit in 28 bits.
 */
unsigned int aml_pkglen_encode(uint8_t out[4], uint32_t len);

/*
 * Data objects. Each counts as one element when emitted directly inside a
 * Package.
 */
void aml_zero(struct aml *a);
void aml_one(struct aml *a);
/* All ones: 64 bits wide in a revision >= 2 DSDT, which is what we build. */
void aml_ones(struct aml *a);
/* Shortest encoding: Zero, One, Ones, Byte, Word, DWord or QWord const. */
void aml_integer(struct aml *a, uint64_t v);
/* Always a DWordConst, for fields that must be 32 bits wide. */
void aml_dword(struct aml *a, uint32_t v);
/* Printable ASCII only. */
void aml_string(struct aml *a, const char *s);
void aml_buffer(struct aml *a, const void *data, size_t len);
/*
 * A NameString used as a value (e.g. a link device in a _PRT entry):
 * "\\_SB.PCI0", "^FOO", "COM1", "_SB" (short segments are padded with '_').
 */
void aml_path(struct aml *a, const char *path);

/*
 * Compressed EISA id ("PNP0501" -> 0x0105d041), as _HID/_CID use it.
 * aml_eisaid_value() returns -EINVAL for a malformed id.
 */
int aml_eisaid_value(const char *id, uint32_t *out);
void aml_eisaid(struct aml *a, const char *id);

/* Containers, each closed by aml_end(). */
void aml_package_begin(struct aml *a);
void aml_buffer_begin(struct aml *a);
void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *path);
void aml_method_begin(struct aml *a, const char *path, unsigned int nargs,
		      bool serialized);
void aml_end(struct aml *a);

/* Name(path, <next object>): the caller emits the value right after. */
void aml_name(struct aml *a, const char *path);
void aml_name_integer(struct aml *a, const char *path, uint64_t v);
void aml_name_string(struct aml *a, const char *path, const char *s);
void aml_name_eisaid(struct aml *a, const char *path, const char *id);

/* Return(<next object>) */
void aml_return(struct aml *a);

/*
 * ResourceTemplate () { ... }: a Buffer of resource descriptors that
 * aml_restemp_end() terminates with an EndTag whose checksum makes the
 * descriptor bytes sum to zero.
 */
void aml_restemp_begin(struct aml *a);
void aml_restemp_end(struct aml *a);

/* IO (Decode16, min, max, align, len) */
void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len);

/* Flags for aml_res_interrupt(); zero is Producer, Level, ActiveHigh. */
#define AML_INT_CONSUMER (1u << 0)
#define AML_INT_EDGE (1u << 1)
#define AML_INT_ACTIVE_LOW (1u << 2)
#define AML_INT_SHARED (1u << 3)
#define AML_INT_WAKE (1u << 4)

/* Interrupt (...) {irqs}: the extended interrupt descriptor, GSIs. */
void aml_res_interrupt(struct aml *a, unsigned int flags, const uint32_t *irqs,
		       unsigned int nr);
/* The common case: one exclusive, edge, active-high GSI the device uses. */
void aml_res_irq(struct aml *a, uint32_t irq);

/* Memory32Fixed (ReadWrite/ReadOnly, base, len) */
void aml_res_memory32_fixed(struct aml *a, bool writable, uint32_t base,
			    uint32_t len);

/*
 * Device (@name) { _HID EisaId (@hid), _UID @uid (none when < 0), _CRS {
 * IO (Decode16) per port range, Interrupt (@irq) } }: a legacy device at
 * fixed ports with one edge-triggered IRQ.
 */
struct aml_io_range {
	uint16_t base;
	uint8_t len;
};
void aml_isa_device(struct aml *a, const char *name, const char *hid, int uid,
		    const struct aml_io_range *io, unsigned int nr_io,
		    uint32_t irq);

/*
 * Word/DWord/QWord address space descriptors, as a PCI root bridge's _CRS
 * lists its bus, I/O and memory windows.
 */
enum aml_addr_width { AML_ADDR_WORD, AML_ADDR_DWORD, AML_ADDR_QWORD };

#define AML_ADDR_SPACE_MEMORY 0
#define AML_ADDR_SPACE_IO 1
#define AML_ADDR_SPACE_BUS 2

/* General flags */
#define AML_ADDR_CONSUMER (1u << 0) /* clear: ResourceProducer */
#define AML_ADDR_SUB_DECODE (1u << 1)
#define AML_ADDR_MIN_FIXED (1u << 2)
#define AML_ADDR_MAX_FIXED (1u << 3)

/* Type-specific flags for memory */
#define AML_MEM_RW (1u << 0)
#define AML_MEM_NONCACHEABLE (0u << 1)
#define AML_MEM_CACHEABLE (1u << 1)
#define AML_MEM_WRITE_COMBINING (2u << 1)
#define AML_MEM_PREFETCHABLE (3u << 1)
/* Type-specific flags for I/O: decode both ISA and non-ISA ranges. */
#define AML_IO_ENTIRE_RANGE 3u

void aml_res_addr_space(struct aml *a, enum aml_addr_width width, uint8_t type,
			uint8_t gen_flags, uint8_t type_flags, uint64_t gran,
			uint64_t min, uint64_t max, uint64_t translation,
			uint64_t len);

/* Producer windows with fixed bounds, [min, max] inclusive. */
void aml_res_word_bus_number(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_io(struct aml *a, uint32_t min, uint32_t max);
void aml_res_dword_memory(struct aml *a, uint8_t type_flags, uint32_t min,
			  uint32_t max);
void aml_res_qword_memory(struct aml *a, uint8_t type_flags, uint64_t min,
			  uint64_t max);

/*
 * Named objects and code for methods, enough for hotplug (acpi/pcihp.c).
 * Operators that take operands are written in prefix order: emit the
 * opcode with its helper, then each operand, e.g. Store (PCIU, Local0):
 *
 *	aml_store(a); aml_path(a, "PCIU"); aml_local(a, 0);
 */

/* OperationRegion (@name, @space, @offset, @len) */
#define AML_REGION_SYSTEM_MEMORY 0
#define AML_REGION_SYSTEM_IO 1
void aml_opregion(struct aml *a, const char *name, uint8_t space,
		  uint64_t offset, uint64_t len);

/* Field (@region, @flags) { units... } with each unit @bits wide. */
#define AML_FIELD_ANY_ACC 0
#define AML_FIELD_BYTE_ACC 1
#define AML_FIELD_WORD_ACC 2
#define AML_FIELD_DWORD_ACC 3
#define AML_FIELD_WRITE_AS_ZEROS (2u << 5)
struct aml_field_unit {
	const char *name; /* a NameSeg, 1-4 characters; NULL: reserved */
	uint32_t bits;
};
void aml_field(struct aml *a, const char *region, uint8_t flags,
	       const struct aml_field_unit *units, unsigned int nr);

/* LocalN (0-7) and ArgN (0-6) as operands or targets. */
void aml_local(struct aml *a, unsigned int n);
void aml_arg(struct aml *a, unsigned int n);

/* Store (src, dst): two operands follow. */
void aml_store(struct aml *a);
/* And (x, y, target) / ShiftLeft (x, n, target): three operands follow. */
void aml_and(struct aml *a);
void aml_shift_left(struct aml *a);
/* The "no target" operand, for And() and friends used as a value. */
void aml_null_target(struct aml *a);
/* Notify (object, value): two operands follow. Values: ACPI 6.5, 5.6.6. */
#define AML_NOTIFY_DEVICE_CHECK 1
#define AML_NOTIFY_EJECT_REQUEST 3
void aml_notify(struct aml *a);
/* If (predicate) { ... }: the predicate, then the body, then aml_end(). */
void aml_if_begin(struct aml *a);
/* A call to method @path; its @nargs arguments follow (the caller's). */
void aml_call(struct aml *a, const char *path);

#endif
