# Freestanding test guests: tests/guest/<name>.c plus the kit in
# tests/guest/kit/ make $(BUILD)/guests/<name>.bin, a bzImage that devisor
# and QEMU -kernel boot like Linux. Included by the top Makefile.
#
# The guests have flags of their own, never $(CFLAGS): sanitizers and host
# options have no place in a guest, and `make SAN=1` must build the same
# bytes. GUEST_CFLAGS_<name> adds flags for one guest.

GUEST_CC	?= gcc
GUEST_OBJCOPY	?= objcopy
GUEST_SRC	:= tests/guest
GUEST_OUT	:= $(BUILD)/guests

GUEST_CFLAGS	:= -std=gnu11 -m64 -O2 -ffreestanding -nostdlib -fno-pic \
		   -fno-pie -mno-red-zone -mgeneral-regs-only \
		   -fno-stack-protector -fno-asynchronous-unwind-tables \
		   -fcf-protection=none -fno-common -Wall -Wextra -Werror \
		   -Wno-unused-parameter -I$(GUEST_SRC)/kit -MMD -MP
GUEST_ASFLAGS	:= -m64 -fno-pic -I$(GUEST_SRC)/kit -MMD -MP
GUEST_LDFLAGS	:= -m64 -nostdlib -static -no-pie -Wl,--build-id=none \
		   -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments \
		   -Wl,-z,max-page-size=4096

GUEST_NAMES	:= $(sort $(basename $(notdir $(wildcard $(GUEST_SRC)/*.c))))
GUEST_BINS	:= $(GUEST_NAMES:%=$(GUEST_OUT)/%.bin)
GUEST_ELFS	:= $(GUEST_NAMES:%=$(GUEST_OUT)/%.elf)
GUEST_KIT_OBJS	:= $(patsubst $(GUEST_SRC)/kit/%,$(GUEST_OUT)/kit/%.o,\
		   $(sort $(filter-out %.ld.S,\
		   $(wildcard $(GUEST_SRC)/kit/*.c $(GUEST_SRC)/kit/*.S))))
GUEST_LDS	:= $(GUEST_OUT)/kit/guest.ld

guests: $(GUEST_BINS)

$(GUEST_OUT)/kit/%.c.o: $(GUEST_SRC)/kit/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/kit/%.S.o: $(GUEST_SRC)/kit/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_ASFLAGS) -c -o $@ $<

$(GUEST_LDS): $(GUEST_SRC)/kit/guest.ld.S $(GUEST_SRC)/kit/boot.h
	@mkdir -p $(dir $@)
	$(GUEST_CC) -E -P -x c -I$(GUEST_SRC)/kit -o $@ $<

$(GUEST_OUT)/obj/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_CFLAGS_$*) -c -o $@ $<

$(GUEST_OUT)/%.elf: $(GUEST_OUT)/obj/%.o $(GUEST_KIT_OBJS) $(GUEST_LDS)
	$(GUEST_CC) $(GUEST_LDFLAGS) -T $(GUEST_LDS) -o $@ \
		$(filter %.o,$^)

$(GUEST_OUT)/%.bin: $(GUEST_OUT)/%.elf
	$(GUEST_OBJCOPY) -O binary $< $@

# Keep the ELFs (symbols for objdump/gdb) and objects between builds.
.SECONDARY: $(GUEST_ELFS) $(GUEST_NAMES:%=$(GUEST_OUT)/obj/%.o) \
	    $(GUEST_KIT_OBJS) $(GUEST_LDS)

-include $(wildcard $(GUEST_OUT)/obj/*.d $(GUEST_OUT)/kit/*.d)
