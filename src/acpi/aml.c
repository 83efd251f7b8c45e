// SPDX-License-Identifier: GPL-2.0
#include "acpi/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/common.h"

/* Opcodes and prefixes, ACPI 6.x section 20 */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_ROOT_CHAR '\\'
#define AML_PARENT_PREFIX '^'
#define AML_RETURN_OP 0xa4
#define AML_ONES_OP 0xff
#define AML_EXT_DEVICE_OP 0x82

/* Resource descriptor tags, ACPI 6.x section 6.4 */
#define RES_IO 0x47 /* small item 0x08, length 7 */
#define RES_END_TAG 0x79 /* small item 0x0f, length 1 */
#define RES_MEMORY32_FIXED 0x86
#define RES_DWORD_ADDR 0x87
#define RES_WORD_ADDR 0x88
#define RES_EXT_IRQ 0x89
#define RES_QWORD_ADDR 0x8a

#define PKGLEN_MAX 0x0fffffffu

enum aml_frame_kind {
	FRAME_PLAIN, /* Scope, Device, Method: PkgLength only */
	FRAME_PACKAGE, /* PkgLength, NumElements */
	FRAME_BUFFER, /* PkgLength, BufferSize */
	FRAME_RESTEMP, /* a Buffer that must end with an EndTag */
};

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

static void set_err(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

int aml_finish(struct aml *a)
{
	if (a->depth)
		set_err(a, -EINVAL);
	return a->err;
}

static bool reserve(struct aml *a, size_t more)
{
	size_t cap;
	uint8_t *n;

	if (a->err)
		return false;
	if (more > PKGLEN_MAX || a->len + more > PKGLEN_MAX) {
		set_err(a, -E2BIG);
		return false;
	}
	if (a->len + more <= a->cap)
		return true;
	cap = a->cap ? a->cap : 256;
	while (cap < a->len + more)
		cap *= 2;
	n = realloc(a->buf, cap);
	if (!n) {
		set_err(a, -ENOMEM);
		return false;
	}
	a->buf = n;
	a->cap = cap;
	return true;
}

void aml_raw(struct aml *a, const void *data, size_t len)
{
	if (!len || !reserve(a, len))
		return;
	memcpy(a->buf + a->len, data, len);
	a->len += len;
}

static void put8(struct aml *a, uint8_t v)
{
	aml_raw(a, &v, 1);
}

static void emit_le(struct aml *a, uint64_t v, unsigned int bytes)
{
	uint8_t b[8];

	put_le(b, v, bytes);
	aml_raw(a, b, bytes);
}

/* A data object starts here: count it if we are directly in a Package. */
static void element(struct aml *a)
{
	if (a->depth && a->frames[a->depth - 1].kind == FRAME_PACKAGE)
		a->frames[a->depth - 1].count++;
}

unsigned int aml_pkglen_encode(uint8_t out[4], uint32_t len)
{
	unsigned int n;

	if (len <= 0x3f) {
		out[0] = len;
		return 1;
	}
	if (len <= 0xfff)
		n = 2;
	else if (len <= 0xfffff)
		n = 3;
	else if (len <= PKGLEN_MAX)
		n = 4;
	else
		return 0;
	/* Lead byte: count of following bytes, then the low nibble. */
	out[0] = ((n - 1) << 6) | (len & 0x0f);
	for (unsigned int i = 1; i < n; i++)
		out[i] = len >> (4 + 8 * (i - 1));
	return n;
}

/* PkgLength for a body of @body bytes; it counts its own bytes too. */
static unsigned int pkglen_for_body(uint8_t out[4], size_t body)
{
	static const uint32_t max[] = { 0x3f, 0xfff, 0xfffff, PKGLEN_MAX };

	for (unsigned int n = 1; n <= 4; n++)
		if (body + n <= max[n - 1])
			return aml_pkglen_encode(out, body + n);
	return 0;
}

static bool seg_char_ok(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* Emits a NameString; see aml_path() for the accepted forms. */
static void name_string(struct aml *a, const char *path)
{
	char segs[255][4];
	unsigned int nr = 0;
	const char *p = path;

	if (a->err)
		return;
	if (!path) {
		set_err(a, -EINVAL);
		return;
	}
	if (*p == AML_ROOT_CHAR) {
		put8(a, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == AML_PARENT_PREFIX) {
			put8(a, AML_PARENT_PREFIX);
			p++;
		}
	}
	while (*p) {
		unsigned int n = 0;

		if (nr == 255)
			goto bad;
		while (*p && *p != '.') {
			if (n == 4 || !seg_char_ok(*p, n == 0))
				goto bad;
			segs[nr][n++] = *p++;
		}
		if (!n)
			goto bad;
		while (n < 4)
			segs[nr][n++] = '_';
		nr++;
		if (*p == '.' && !*++p)
			goto bad;
	}

	if (nr == 0) {
		/* NullName: only meaningful after a prefix, e.g. "\\". */
		if (p == path)
			goto bad;
		put8(a, 0x00);
	} else if (nr == 2) {
		put8(a, AML_DUAL_NAME_PREFIX);
	} else if (nr > 2) {
		put8(a, AML_MULTI_NAME_PREFIX);
		put8(a, nr);
	}
	aml_raw(a, segs, 4 * nr);
	return;
bad:
	set_err(a, -EINVAL);
}

void aml_zero(struct aml *a)
{
	element(a);
	put8(a, AML_ZERO_OP);
}

void aml_one(struct aml *a)
{
	element(a);
	put8(a, AML_ONE_OP);
}

void aml_ones(struct aml *a)
{
	element(a);
	put8(a, AML_ONES_OP);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_zero(a);
	} else if (v == 1) {
		aml_one(a);
	} else if (v == UINT64_MAX) {
		aml_ones(a);
	} else if (v <= UINT8_MAX) {
		element(a);
		put8(a, AML_BYTE_PREFIX);
		emit_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		element(a);
		put8(a, AML_WORD_PREFIX);
		emit_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_dword(a, v);
	} else {
		element(a);
		put8(a, AML_QWORD_PREFIX);
		emit_le(a, v, 8);
	}
}

void aml_dword(struct aml *a, uint32_t v)
{
	element(a);
	put8(a, AML_DWORD_PREFIX);
	emit_le(a, v, 4);
}

void aml_string(struct aml *a, const char *s)
{
	if (!s) {
		set_err(a, -EINVAL);
		return;
	}
	for (const unsigned char *p = (const void *)s; *p; p++) {
		if (*p > 0x7f) {
			set_err(a, -EINVAL);
			return;
		}
	}
	element(a);
	put8(a, AML_STRING_PREFIX);
	aml_raw(a, s, strlen(s) + 1);
}

void aml_path(struct aml *a, const char *path)
{
	element(a);
	name_string(a, path);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int aml_eisaid_value(const char *id, uint32_t *out)
{
	uint8_t b[4];
	int h[4];

	if (!id || strlen(id) != 7)
		return -EINVAL;
	for (int i = 0; i < 3; i++)
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
	for (int i = 0; i < 4; i++) {
		h[i] = hexval(id[3 + i]);
		if (h[i] < 0)
			return -EINVAL;
	}
	/* Three 5-bit letters ('A' == 1), then the product number. */
	b[0] = ((id[0] - 0x40) << 2) | ((id[1] - 0x40) >> 3);
	b[1] = (((id[1] - 0x40) & 7) << 5) | (id[2] - 0x40);
	b[2] = (h[0] << 4) | h[1];
	b[3] = (h[2] << 4) | h[3];
	*out = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v;

	if (aml_eisaid_value(id, &v)) {
		set_err(a, -EINVAL);
		return;
	}
	/* Must stay a DWordConst: that is how an EISA id is recognised. */
	aml_dword(a, v);
}

static void frame_begin(struct aml *a, enum aml_frame_kind kind)
{
	if (a->err)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		set_err(a, -E2BIG);
		return;
	}
	a->frames[a->depth++] =
		(struct aml_frame){ .start = a->len, .kind = kind };
}

void aml_package_begin(struct aml *a)
{
	element(a);
	put8(a, AML_PACKAGE_OP);
	frame_begin(a, FRAME_PACKAGE);
}

void aml_buffer_begin(struct aml *a)
{
	element(a);
	put8(a, AML_BUFFER_OP);
	frame_begin(a, FRAME_BUFFER);
}

void aml_buffer(struct aml *a, const void *data, size_t len)
{
	aml_buffer_begin(a);
	aml_raw(a, data, len);
	aml_end(a);
}

void aml_scope_begin(struct aml *a, const char *path)
{
	put8(a, AML_SCOPE_OP);
	frame_begin(a, FRAME_PLAIN);
	name_string(a, path);
}

void aml_device_begin(struct aml *a, const char *path)
{
	put8(a, AML_EXT_OP_PREFIX);
	put8(a, AML_EXT_DEVICE_OP);
	frame_begin(a, FRAME_PLAIN);
	name_string(a, path);
}

void aml_method_begin(struct aml *a, const char *path, unsigned int nargs,
		      bool serialized)
{
	if (nargs > 7) {
		set_err(a, -EINVAL);
		return;
	}
	put8(a, AML_METHOD_OP);
	frame_begin(a, FRAME_PLAIN);
	name_string(a, path);
	/* ArgCount in bits 0-2, SerializeFlag bit 3, SyncLevel 0. */
	put8(a, nargs | (serialized ? 0x08 : 0));
}

/* Close the innermost frame, slotting PkgLength and @prefix before it. */
static void frame_close(struct aml *a, const uint8_t *prefix,
			unsigned int prefix_len)
{
	struct aml_frame *f = &a->frames[a->depth - 1];
	uint8_t hdr[4 + 9];
	size_t body = a->len - f->start;
	unsigned int n;

	n = pkglen_for_body(hdr, body + prefix_len);
	if (!n) {
		set_err(a, -E2BIG);
		return;
	}
	memcpy(hdr + n, prefix, prefix_len);
	n += prefix_len;
	if (!reserve(a, n))
		return;
	memmove(a->buf + f->start + n, a->buf + f->start, body);
	memcpy(a->buf + f->start, hdr, n);
	a->len += n;
	a->depth--;
}

/* The BufferSize TermArg, in the shortest integer encoding. */
static unsigned int buffer_size_prefix(uint8_t *out, size_t size)
{
	unsigned int n;

	if (size == 0) {
		out[0] = AML_ZERO_OP;
		return 1;
	}
	if (size == 1) {
		out[0] = AML_ONE_OP;
		return 1;
	}
	if (size <= UINT8_MAX) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (size <= UINT16_MAX) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	}
	put_le(out + 1, size, n);
	return 1 + n;
}

void aml_end(struct aml *a)
{
	struct aml_frame *f;
	uint8_t prefix[5];
	unsigned int prefix_len = 0;

	if (a->err)
		return;
	if (!a->depth) {
		set_err(a, -EINVAL);
		return;
	}
	f = &a->frames[a->depth - 1];
	switch (f->kind) {
	case FRAME_PACKAGE:
		/* NumElements is a byte; VarPackage is not needed yet. */
		if (f->count > UINT8_MAX) {
			set_err(a, -E2BIG);
			return;
		}
		prefix[0] = f->count;
		prefix_len = 1;
		break;
	case FRAME_BUFFER:
		prefix_len = buffer_size_prefix(prefix, a->len - f->start);
		break;
	case FRAME_RESTEMP:
		/* Only aml_restemp_end() may close it: it owes an EndTag. */
		set_err(a, -EINVAL);
		return;
	default:
		break;
	}
	frame_close(a, prefix, prefix_len);
}

void aml_name(struct aml *a, const char *path)
{
	put8(a, AML_NAME_OP);
	name_string(a, path);
}

void aml_name_integer(struct aml *a, const char *path, uint64_t v)
{
	aml_name(a, path);
	aml_integer(a, v);
}

void aml_name_string(struct aml *a, const char *path, const char *s)
{
	aml_name(a, path);
	aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *path, const char *id)
{
	aml_name(a, path);
	aml_eisaid(a, id);
}

void aml_return(struct aml *a)
{
	put8(a, AML_RETURN_OP);
}

void aml_restemp_begin(struct aml *a)
{
	element(a);
	put8(a, AML_BUFFER_OP);
	frame_begin(a, FRAME_RESTEMP);
}

void aml_restemp_end(struct aml *a)
{
	struct aml_frame *f;
	uint8_t sum = 0;

	if (a->err)
		return;
	if (!a->depth || a->frames[a->depth - 1].kind != FRAME_RESTEMP) {
		set_err(a, -EINVAL);
		return;
	}
	f = &a->frames[a->depth - 1];
	put8(a, RES_END_TAG);
	for (size_t i = f->start; i < a->len; i++)
		sum += a->buf[i];
	put8(a, -sum);
	f->kind = FRAME_BUFFER;
	aml_end(a);
}

/* Resource descriptors only make sense inside a ResourceTemplate. */
static bool in_restemp(struct aml *a)
{
	if (a->err)
		return false;
	if (!a->depth || a->frames[a->depth - 1].kind != FRAME_RESTEMP) {
		set_err(a, -EINVAL);
		return false;
	}
	return true;
}

void aml_res_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len)
{
	if (!in_restemp(a))
		return;
	put8(a, RES_IO);
	put8(a, 0x01); /* 16-bit decode */
	emit_le(a, min, 2);
	emit_le(a, max, 2);
	put8(a, align);
	put8(a, len);
}

void aml_res_interrupt(struct aml *a, unsigned int flags, const uint32_t *irqs,
		       unsigned int nr)
{
	if (!in_restemp(a))
		return;
	if (nr == 0 || nr > UINT8_MAX || flags > 0x1f) {
		set_err(a, -EINVAL);
		return;
	}
	put8(a, RES_EXT_IRQ);
	emit_le(a, 2 + 4 * nr, 2);
	put8(a, flags);
	put8(a, nr);
	for (unsigned int i = 0; i < nr; i++)
		emit_le(a, irqs[i], 4);
}

void aml_res_irq(struct aml *a, uint32_t irq)
{
	aml_res_interrupt(a, AML_INT_CONSUMER | AML_INT_EDGE, &irq, 1);
}

void aml_res_memory32_fixed(struct aml *a, bool writable, uint32_t base,
			    uint32_t len)
{
	if (!in_restemp(a))
		return;
	put8(a, RES_MEMORY32_FIXED);
	emit_le(a, 9, 2);
	put8(a, writable ? 1 : 0);
	emit_le(a, base, 4);
	emit_le(a, len, 4);
}

void aml_isa_device(struct aml *a, const char *name, const char *hid, int uid,
		    const struct aml_io_range *io, unsigned int nr_io,
		    uint32_t irq)
{
	aml_device_begin(a, name);
	aml_name_eisaid(a, "_HID", hid);
	if (uid >= 0)
		aml_name_integer(a, "_UID", uid);
	aml_name(a, "_CRS");
	aml_restemp_begin(a);
	for (unsigned int i = 0; i < nr_io; i++)
		aml_res_io(a, io[i].base, io[i].base, 1, io[i].len);
	aml_res_irq(a, irq);
	aml_restemp_end(a);
	aml_end(a);
}

void aml_res_addr_space(struct aml *a, enum aml_addr_width width, uint8_t type,
			uint8_t gen_flags, uint8_t type_flags, uint64_t gran,
			uint64_t min, uint64_t max, uint64_t translation,
			uint64_t len)
{
	static const struct {
		uint8_t tag;
		unsigned int size;
	} w[] = {
		[AML_ADDR_WORD] = { RES_WORD_ADDR, 2 },
		[AML_ADDR_DWORD] = { RES_DWORD_ADDR, 4 },
		[AML_ADDR_QWORD] = { RES_QWORD_ADDR, 8 },
	};
	uint64_t limit;
	unsigned int sz;

	if (!in_restemp(a))
		return;
	if ((unsigned int)width > AML_ADDR_QWORD) {
		set_err(a, -EINVAL);
		return;
	}
	sz = w[width].size;
	limit = sz == 8 ? UINT64_MAX : (1ull << (8 * sz)) - 1;
	if (gran > limit || min > limit || max > limit || translation > limit ||
	    len > limit) {
		set_err(a, -EINVAL);
		return;
	}
	put8(a, w[width].tag);
	emit_le(a, 3 + 5 * sz, 2);
	put8(a, type);
	put8(a, gen_flags);
	put8(a, type_flags);
	emit_le(a, gran, sz);
	emit_le(a, min, sz);
	emit_le(a, max, sz);
	emit_le(a, translation, sz);
	emit_le(a, len, sz);
}

#define PRODUCER_FIXED (AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED)

void aml_res_word_bus_number(struct aml *a, uint16_t min, uint16_t max)
{
	aml_res_addr_space(a, AML_ADDR_WORD, AML_ADDR_SPACE_BUS, PRODUCER_FIXED,
			   0, 0, min, max, 0, (uint64_t)max - min + 1);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	aml_res_addr_space(a, AML_ADDR_WORD, AML_ADDR_SPACE_IO, PRODUCER_FIXED,
			   AML_IO_ENTIRE_RANGE, 0, min, max, 0,
			   (uint64_t)max - min + 1);
}

void aml_res_dword_io(struct aml *a, uint32_t min, uint32_t max)
{
	aml_res_addr_space(a, AML_ADDR_DWORD, AML_ADDR_SPACE_IO, PRODUCER_FIXED,
			   AML_IO_ENTIRE_RANGE, 0, min, max, 0,
			   (uint64_t)max - min + 1);
}

void aml_res_dword_memory(struct aml *a, uint8_t type_flags, uint32_t min,
			  uint32_t max)
{
	aml_res_addr_space(a, AML_ADDR_DWORD, AML_ADDR_SPACE_MEMORY,
			   PRODUCER_FIXED, type_flags, 0, min, max, 0,
			   (uint64_t)max - min + 1);
}

void aml_res_qword_memory(struct aml *a, uint8_t type_flags, uint64_t min,
			  uint64_t max)
{
	aml_res_addr_space(a, AML_ADDR_QWORD, AML_ADDR_SPACE_MEMORY,
			   PRODUCER_FIXED, type_flags, 0, min, max, 0,
			   max - min + 1);
}

#define AML_EXT_REGION_OP 0x80
#define AML_EXT_FIELD_OP 0x81
#define AML_LOCAL0_OP 0x60
#define AML_ARG0_OP 0x68
#define AML_STORE_OP 0x70
#define AML_SHIFT_LEFT_OP 0x79
#define AML_AND_OP 0x7b
#define AML_NOTIFY_OP 0x86
#define AML_IF_OP 0xa0

void aml_opregion(struct aml *a, const char *name, uint8_t space,
		  uint64_t offset, uint64_t len)
{
	put8(a, AML_EXT_OP_PREFIX);
	put8(a, AML_EXT_REGION_OP);
	name_string(a, name);
	put8(a, space);
	aml_integer(a, offset);
	aml_integer(a, len);
}

void aml_field(struct aml *a, const char *region, uint8_t flags,
	       const struct aml_field_unit *units, unsigned int nr)
{
	put8(a, AML_EXT_OP_PREFIX);
	put8(a, AML_EXT_FIELD_OP);
	frame_begin(a, FRAME_PLAIN);
	name_string(a, region);
	put8(a, flags);
	for (unsigned int i = 0; i < nr && !a->err; i++) {
		const char *n = units[i].name;
		uint8_t len[4];
		unsigned int ln = aml_pkglen_encode(len, units[i].bits);
		char seg[4] = { '_', '_', '_', '_' };
		size_t sl = n ? strlen(n) : 0;

		if (!ln || !units[i].bits) {
			set_err(a, -EINVAL);
			return;
		}
		if (!n) {
			put8(a, 0x00); /* ReservedField */
		} else {
			if (!sl || sl > 4) {
				set_err(a, -EINVAL);
				return;
			}
			for (size_t k = 0; k < sl; k++) {
				if (!seg_char_ok(n[k], k == 0)) {
					set_err(a, -EINVAL);
					return;
				}
				seg[k] = n[k];
			}
			aml_raw(a, seg, 4);
		}
		aml_raw(a, len, ln);
	}
	aml_end(a);
}

void aml_local(struct aml *a, unsigned int n)
{
	if (n > 7)
		set_err(a, -EINVAL);
	else
		put8(a, AML_LOCAL0_OP + n);
}

void aml_arg(struct aml *a, unsigned int n)
{
	if (n > 6)
		set_err(a, -EINVAL);
	else
		put8(a, AML_ARG0_OP + n);
}

void aml_store(struct aml *a)
{
	put8(a, AML_STORE_OP);
}

void aml_and(struct aml *a)
{
	put8(a, AML_AND_OP);
}

void aml_shift_left(struct aml *a)
{
	put8(a, AML_SHIFT_LEFT_OP);
}

void aml_null_target(struct aml *a)
{
	put8(a, 0x00);
}

void aml_notify(struct aml *a)
{
	put8(a, AML_NOTIFY_OP);
}

void aml_if_begin(struct aml *a)
{
	put8(a, AML_IF_OP);
	frame_begin(a, FRAME_PLAIN);
}

void aml_call(struct aml *a, const char *path)
{
	name_string(a, path);
}
