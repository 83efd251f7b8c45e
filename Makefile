# devisor build. `make` builds build/devisor; `make SAN=1` builds the
# ASan+UBSan flavour into build-asan/; `make check` builds the unit tests
# and test guests; `make fuzz` builds the libFuzzer targets of tests/fuzz/
# with clang into build-fuzz/ (docs/fuzzing.md). The README's test command
# is scripts/test.

CC	?= gcc
AR	?= ar
SAN	?= 0
# One architecture is linked in: src/arch/$(ARCH)/ implements kvm/arch.h
# and the board (arch_board(), board.h). ARCH=arm64 cross-builds with
# Debian's gcc-aarch64-linux-gnu and the :arm64 -dev packages into
# build-arm64/ (README, "Cross-building for arm64").
ARCH	?= x86
ifeq ($(ARCH),arm64)
ifneq ($(shell uname -m),aarch64)
CROSS_COMPILE ?= aarch64-linux-gnu-
CC	:= $(CROSS_COMPILE)gcc
AR	:= $(CROSS_COMPILE)ar
# The target's .pc files only, never the host's.
PKG_CONFIG := PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig pkg-config
endif
BUILD	?= build-arm64
endif
FUZZ	?= 0
ifeq ($(FUZZ),1)
# libFuzzer targets (tests/fuzz/): `make fuzz` builds them into build-fuzz/
# with clang, ASan and UBSan; the library is instrumented, not linked with
# libFuzzer's main.
CC	:= clang
BUILD	?= build-fuzz
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined \
	    -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SAN),1)
BUILD	?= build-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=undefined
else
BUILD	?= build
SANFLAGS :=
endif

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

# Optional libraries are found by pkg-config; a feature whose library is
# missing is compiled out and says so at run time.
PKG_CONFIG ?= pkg-config
PKGS := $(foreach p,liburing slirp libfdt libcjson libseccomp libmicrohttpd,\
	  $(if $(shell $(PKG_CONFIG) --exists $(p) 2>/dev/null && echo y),$(p)))
PKG_CFLAGS := $(if $(PKGS),$(shell $(PKG_CONFIG) --cflags $(PKGS)))
# libmicrohttpd is dlopen()ed for --api-socket only (src/api/server.c),
# libslirp for --net user only (src/backend/net_slirp.c).
# libseccomp is used at build time only (sandbox-gen, below).
PKG_LINKED := $(filter-out libmicrohttpd slirp libseccomp,$(PKGS))
PKG_LIBS := $(if $(PKG_LINKED),$(shell $(PKG_CONFIG) --libs $(PKG_LINKED)))
PKG_DEFS := $(foreach p,$(PKGS),-DHAVE_$(shell echo $(p) | tr a-z- A-Z_)=1)
# Debian's libfdt-dev has no .pc file, and its :amd64 and :arm64 packages
# conflict: libfdt is found by its header (the same for both), and a cross
# build links libfdt1:arm64's library.
ifeq ($(filter libfdt,$(PKGS)),)
ifneq ($(wildcard /usr/include/libfdt.h),)
ifeq ($(CROSS_COMPILE),)
PKG_DEFS += -DHAVE_LIBFDT=1
PKG_LIBS += -lfdt
else ifneq ($(wildcard /usr/lib/aarch64-linux-gnu/libfdt.so.1),)
PKG_DEFS += -DHAVE_LIBFDT=1
PKG_LIBS += -l:libfdt.so.1
endif
endif
endif
ifeq ($(ARCH),arm64)
ifeq ($(findstring HAVE_LIBFDT,$(PKG_DEFS)),)
$(error ARCH=arm64 needs libfdt: libfdt-dev (headers) and libfdt1:arm64)
endif
endif

CFLAGS	:= -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow \
	   -Wno-unused-parameter -Wmissing-prototypes -Wstrict-prototypes \
	   -D_GNU_SOURCE \
	   -Isrc $(PKG_CFLAGS) $(PKG_DEFS) -pthread -MMD -MP $(SANFLAGS) \
	   $(EXTRA_CFLAGS)
# A binary names only the libraries it calls: x86's devisor not libfdt,
# which only the arm64 board's tree needs (and the tests of it here).
LDFLAGS	:= -pthread -Wl,--as-needed $(SANFLAGS)
LDLIBS	:= $(PKG_LIBS)

# Devices that only a PC has: the i8042, the CMOS RTC's port I/O (arm64
# has the PL031) and VT-d. The other devices build for every ARCH.
X86_ONLY_SRCS := src/hw/i8042.c src/hw/rtc.c $(wildcard src/iommu/vtd*.c)
SRCS	:= $(shell find src -path src/arch -prune -o -name '*.c' -print | sort) \
	   $(shell find src/arch/$(ARCH) -name '*.c' | sort)
ifneq ($(ARCH),x86)
SRCS	:= $(filter-out $(X86_ONLY_SRCS),$(SRCS))
endif
# The seccomp filters are compiled when devisor is built: sandbox-gen (the
# allow-lists, with libseccomp) runs as a program of the target, through
# qemu-user for a cross build, and writes $(BUILD)/gen/sandbox_bpf.c, which
# devisor loads as it is (util/sandbox.c, docs/sandbox.md).
SANDBOX_GEN_SRCS := src/util/sandbox_gen.c src/arch/$(ARCH)/sandbox.c
SRCS	:= $(filter-out $(SANDBOX_GEN_SRCS),$(SRCS))
LIBSRCS	:= $(filter-out src/main.c,$(SRCS))
LIBOBJS	:= $(LIBSRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/version.o
ifneq ($(filter libseccomp,$(PKGS)),)
LIBOBJS	+= $(BUILD)/gen/sandbox_bpf.o
SANDBOX_GEN_LIBS := $(shell $(PKG_CONFIG) --libs libseccomp)
ifneq ($(CROSS_COMPILE),)
SANDBOX_GEN_RUN := qemu-aarch64 -L /usr/aarch64-linux-gnu
endif
endif

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
# The device tree's test reads it back with libfdt.
ifeq ($(findstring HAVE_LIBFDT,$(PKG_DEFS)),)
UNIT_SRCS := $(filter-out tests/unit/test_arm64_fdt.c,$(UNIT_SRCS))
endif
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
# Helpers shared by the unit tests (not test_*.c: not programs of their own).
UNIT_HELPER_SRCS := $(wildcard tests/unit/helpers/*.c)
UNIT_HELPER_OBJS := $(UNIT_HELPER_SRCS:%.c=$(BUILD)/%.o)

# One program per tests/fuzz/fuzz_*.c; the other tests/fuzz/*.c (fuzz.c:
# the VM, back-ends, input reader and access interpreter) go into each.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_COMMON := $(filter-out tests/fuzz/fuzz_%,$(wildcard tests/fuzz/*.c))
FUZZ_COMMON_OBJS := $(FUZZ_COMMON:%.c=$(BUILD)/%.o)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=$(BUILD)/fuzz/%)

BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

all: $(BUILD)/devisor

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/sandbox-gen: $(SANDBOX_GEN_SRCS:%.c=$(BUILD)/%.o)
	$(CC) $(LDFLAGS) -o $@ $^ $(SANDBOX_GEN_LIBS)

$(BUILD)/gen/sandbox_bpf.c: $(BUILD)/sandbox-gen
	@mkdir -p $(dir $@)
	ASAN_OPTIONS=detect_leaks=0 $(SANDBOX_GEN_RUN) $< > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/sandbox_bpf.o: $(BUILD)/gen/sandbox_bpf.c
	$(CC) $(CFLAGS) -c -o $@ $<

# Rewritten only when `git describe` changes (src/version.h says why).
$(BUILD)/gen/version.c: FORCE
	@mkdir -p $(dir $@)
	@printf '#include "version.h"\nconst char devisor_version[] = "%s";\n' \
		'$(VERSION)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/gen/version.o: $(BUILD)/gen/version.c
	$(CC) $(CFLAGS) -c -o $@ $<

FORCE:

$(BUILD)/libdevisor.a: $(LIBOBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# devisor links its objects in this order: what every VM runs first, what
# a VM may never use last (passthrough, NVMe, the IOMMUs, vhost, the API,
# virtio devices and their back-ends). The kernel maps a binary's text
# 64 KiB around each page touched (fault-around), so code that sits among
# the start-up code is resident whether it runs or not: grouped at the end
# it stays out of a small VM's memory (bench/run startup: 80 KiB less peak
# RSS for the tiny guest).
COLD_SRCS := $(filter src/api/% src/vfio/% src/iommu/% src/hw/nvme/% \
	       src/vhost/% src/virtio/blk.c src/virtio/console.c \
	       src/virtio/iommu.c src/virtio/net.c src/virtio/rng.c \
	       src/virtio/vhost_user_blk.c src/virtio/vhost_vsock.c \
	       src/virtio/vsock.c src/virtio/virtio.c src/virtio/queue.c \
	       src/virtio/mmio.c src/virtio/pci.c src/kvm/dma.c \
	       src/util/iov.c src/pci/msix.c src/backend/block% \
	       src/backend/net% src/backend/vsock_unix.c src/pci/sriov.c,\
	       $(LIBSRCS))
ifeq ($(ARCH),x86)
COLD_SRCS += src/hw/pl011.c src/hw/pl031.c
endif
COLD_OBJS := $(COLD_SRCS:%.c=$(BUILD)/%.o)
DEVISOR_OBJS := $(BUILD)/src/main.o $(filter-out $(COLD_OBJS),$(LIBOBJS)) \
		$(COLD_OBJS)

$(BUILD)/devisor: $(DEVISOR_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT_HELPER_OBJS): CFLAGS += -Itests/unit

# The arm64 board's parts that need no KVM, tested on any host: linked
# into their tests when another ARCH is the one in libdevisor.a.
ARM64_PURE_SRCS := src/arch/arm64/fdt.c src/arch/arm64/image.c
ifneq ($(ARCH),arm64)
ARM64_PURE_OBJS := $(ARM64_PURE_SRCS:%.c=$(BUILD)/%.o)
$(filter $(BUILD)/tests/unit/test_arm64_%,$(UNIT_BINS)): $(ARM64_PURE_OBJS)
endif

$(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_HELPER_OBJS) $(BUILD)/libdevisor.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< \
		$(UNIT_HELPER_OBJS) $(filter $(BUILD)/src/arch/arm64/%.o,$^) \
		$(BUILD)/libdevisor.a $(LDLIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(BUILD)/libdevisor.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libdevisor.a $(LDLIBS)

unit: $(UNIT_BINS)
bench: $(BENCH_BINS)

$(FUZZ_COMMON_OBJS): CFLAGS += -Itests/fuzz

$(BUILD)/fuzz/%: tests/fuzz/fuzz_%.c $(FUZZ_COMMON_OBJS) $(BUILD)/libdevisor.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/fuzz $(LDFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_COMMON_OBJS) $(BUILD)/libdevisor.a $(LDLIBS)

ifeq ($(FUZZ),1)
fuzz: $(FUZZ_BINS)
else
fuzz:
	$(MAKE) FUZZ=1 fuzz
endif

# Freestanding test guests (tests/guest/); same build in either flavour.
-include tests/guest/guest.mk

check: all unit guests

FORMAT_FILES = $(shell git ls-files 'src/*.[ch]' 'tests/unit/*.c' 'bench/*.c' \
		 'tests/fuzz/*.[ch]')

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf build build-asan build-fuzz build-arm64

.PHONY: all unit bench check clean format format-check guests fuzz

-include $(shell find $(BUILD)/src $(BUILD)/tests/unit $(BUILD)/tests/fuzz $(BUILD)/fuzz \
	   $(BUILD)/bench -name '*.d' -type f 2>/dev/null)
