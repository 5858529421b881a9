# L4ua: one top-level Makefile, out-of-tree build in $(BUILD).
#   make run     set up everything, boot the GRUB ISO in QEMU (serial on the terminal);
#                SCRIPTS=dir adds your scripts (dir/init.lua: the autorun), SAFE=1 boots
#                in safe mode (none of them run; docs/recovery.md); DISK=image attaches
#                that disk instead of $(BUILD)/disk.img (docs/drivers.md), DISK_RO=1
#                attaches it read-only (docs/storage.md)
#   make test    build everything and run all tests; last line "N passed, N failed"
#   make debug   like run, halted for gdb (see docs/debugging.md)
#   make clean   remove $(BUILD) (the dependency cache stays)
#   make V=1     show full commands

BUILD   ?= build
CACHE   ?= $(or $(L4UA_CACHE),$(XDG_CACHE_HOME),$(HOME)/.cache)/l4ua
PYTHON  ?= /usr/bin/python3
QEMU    ?= qemu-system-x86_64
MEM     ?= 256M
ifeq ($(V),1)
Q :=
else
Q := @
endif

.DEFAULT_GOAL := all
.PHONY: all run run-vga debug test deps iso kernel clean FORCE
.SUFFIXES:
.SECONDARY:

GCC_INC := $(shell gcc -print-file-name=include)

# ---- host packages and third-party code (tools/deps/) ----
# Both scripts are cheap when nothing is missing; build.sh rewrites deps.mk
# (NEWLIB_DIR, LUA_DIR, TARGET_CFLAGS) only when it changes, so make does
# not restart needlessly after remaking this included file.
$(BUILD)/deps.mk: FORCE
	$(Q)mkdir -p $(@D)
	$(Q)sh tools/deps/packages.sh
	$(Q)sh tools/deps/build.sh $(CACHE) $@
deps: $(BUILD)/deps.mk
ifeq ($(filter clean,$(MAKECMDGOALS)),)
include $(BUILD)/deps.mk
endif

# ---- the kernel ----
KERNEL_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -nostdinc \
	-isystem $(GCC_INC) -fno-stack-protector -fno-pic -fno-pie -mno-red-zone \
	-mcmodel=kernel -mgeneral-regs-only -fno-omit-frame-pointer \
	-fno-asynchronous-unwind-tables -MMD -MP
KERNEL_LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack --build-id=none \
	-T kernel/arch/x86_64/kernel.ld

KERNEL_SRC := $(wildcard kernel/*.c kernel/arch/x86_64/*.c kernel/arch/x86_64/*.S)
KERNEL_OBJ := $(patsubst %,$(BUILD)/%.o,$(basename $(KERNEL_SRC)))
KTEST_SRC  := $(wildcard tests/guest/*.c)
KTEST_OBJ  := $(patsubst %,$(BUILD)/%.o,$(basename $(KTEST_SRC)))

$(BUILD)/kernel/%.o: kernel/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)gcc $(KERNEL_CFLAGS) -c $< -o $@
# The IPC fast path's C part is called only from fastpath.S, which needs
# no register kept: no saves of callee-saved registers, no frame pointer;
# and it leaves r13-r15 alone (as does every function it calls: they are
# callee-saved), so that three of the sender's message registers go out
# to the receiver as they came (kernel/fastpath.c). (r12 too made the
# compiler spill: more instructions, not fewer.)
FASTPATH_CFLAGS := -fcall-used-rbx -fcall-used-r12 -ffixed-r13 -ffixed-r14 \
	-ffixed-r15 -fomit-frame-pointer
$(BUILD)/kernel/fastpath.o: KERNEL_CFLAGS += $(FASTPATH_CFLAGS)
$(BUILD)/kernel/%.o: kernel/%.S
	@mkdir -p $(@D)
	@echo "  AS      $<"
	$(Q)gcc $(KERNEL_CFLAGS) -c $< -o $@
$(BUILD)/tests/guest/%.o: tests/guest/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)gcc $(KERNEL_CFLAGS) -c $< -o $@

# Two link passes: the second adds the symbol table of the first (.ksyms
# lies after text and data, so no function moves).
define kernel_link
	@echo "  LD      $(1)"
	$(Q)sh tools/ksyms.sh > $(1).ksyms0.S
	$(Q)gcc -c $(1).ksyms0.S -o $(1).ksyms0.o
	$(Q)ld $(KERNEL_LDFLAGS) -o $(1).pass1 $(2) $(1).ksyms0.o
	$(Q)sh tools/ksyms.sh $(1).pass1 > $(1).ksyms.S
	$(Q)gcc -c $(1).ksyms.S -o $(1).ksyms.o
	$(Q)ld $(KERNEL_LDFLAGS) -o $(1) $(2) $(1).ksyms.o
	$(Q)cmp -s <(nm $(1).pass1 | grep -i ' t ') <(nm $(1) | grep -i ' t ') || \
		{ echo "ksyms: second link moved functions" >&2; exit 1; }
endef
SHELL := /bin/bash

$(BUILD)/kernel.elf: $(KERNEL_OBJ) tools/ksyms.sh kernel/arch/x86_64/kernel.ld
	$(call kernel_link,$@,$(KERNEL_OBJ))
$(BUILD)/kernel-test.elf: $(KERNEL_OBJ) $(KTEST_OBJ) tools/ksyms.sh kernel/arch/x86_64/kernel.ld
	$(call kernel_link,$@,$(KERNEL_OBJ) $(KTEST_OBJ))
# make fuzz's coverage kernel: the test kernel with kernel/'s C compiled
# with -fsanitize-coverage=trace-pc and tests/fuzz/kcov.c's probe, which
# counts new blocks and edges for the debug op L4_KDEBUG_COV (a fuzzer's
# feedback: docs/reliability.md "Guided by coverage").
KCOV_OBJ := $(patsubst $(BUILD)/kernel/%,$(BUILD)/kcov/kernel/%,$(KERNEL_OBJ))
$(BUILD)/kcov/kernel/%.o: kernel/%.c
	@mkdir -p $(@D)
	@echo "  CC      $< (coverage)"
	$(Q)gcc $(KERNEL_CFLAGS) -fsanitize-coverage=trace-pc -c $< -o $@
$(BUILD)/kcov/kernel/%.o: kernel/%.S
	@mkdir -p $(@D)
	$(Q)gcc $(KERNEL_CFLAGS) -c $< -o $@
$(BUILD)/kcov/kernel/fastpath.o: KERNEL_CFLAGS += $(FASTPATH_CFLAGS)
$(BUILD)/tests/fuzz/kcov.o: tests/fuzz/kcov.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)gcc $(KERNEL_CFLAGS) -c $< -o $@
$(BUILD)/kernel-cov.elf: $(KCOV_OBJ) $(KTEST_OBJ) $(BUILD)/tests/fuzz/kcov.o tools/ksyms.sh \
		kernel/arch/x86_64/kernel.ld
	$(call kernel_link,$@,$(KCOV_OBJ) $(KTEST_OBJ) $(BUILD)/tests/fuzz/kcov.o)
# QEMU's -kernel takes only 32-bit ELF (multiboot1): same image, 32-bit wrapper.
$(BUILD)/%32.elf: $(BUILD)/%.elf
	$(Q)objcopy -O elf32-i386 $< $@
kernel: $(BUILD)/kernel.elf

# ---- the boot image ----
# GRUB loads the kernel and three modules: sigma0, the Lua root task and
# the scripts archive it runs (tools/grub.cfg). `make run SAFE=1` boots a
# second ISO, the same but for a grub.cfg whose default is the safe-mode
# entry (docs/recovery.md); `make run` itself is unchanged.
ISO := $(BUILD)/l4ua.iso
ISO_SAFE := $(BUILD)/l4ua-safe.iso
RUN_ISO := $(if $(filter-out 0,$(SAFE)),$(ISO_SAFE),$(ISO))
# $(call make_iso,iso,staging folder,grub.cfg's first line)
define make_iso
	@echo "  ISO     $(1)"
	$(Q)rm -rf $(2) && mkdir -p $(2)/boot/grub
	$(Q)strip -o $(2)/boot/kernel.elf $(BUILD)/kernel.elf
	$(Q)strip -o $(2)/boot/sigma0.elf $(BUILD)/sigma0.elf
	$(Q)strip -o $(2)/boot/lua-root.elf $(BUILD)/lua-root.elf
	$(Q)cp $(BUILD)/scripts.arc $(2)/boot/scripts.arc
	$(Q){ $(3) cat tools/grub.cfg; } > $(2)/boot/grub/grub.cfg
	$(Q)grub-mkrescue -o $(1) --install-modules="multiboot2 normal iso9660 biosdisk serial" \
		--fonts= --locales= --themes= --compress=xz $(2) 2>$(1).log || \
		{ cat $(1).log; exit 1; }
endef
ISO_DEPS := $(BUILD)/kernel.elf $(BUILD)/sigma0.elf $(BUILD)/lua-root.elf $(BUILD)/scripts.arc \
	tools/grub.cfg
$(ISO): $(ISO_DEPS) | $(BUILD)/deps.mk
	$(call make_iso,$@,$(BUILD)/iso,)
$(ISO_SAFE): $(ISO_DEPS) | $(BUILD)/deps.mk
	$(call make_iso,$@,$(BUILD)/iso-safe,echo 'set default=1';)
iso: $(ISO)

all: $(ISO) $(BUILD)/kernel-test32.elf $(BUILD)/deps.mk

QEMU_BASE := -m $(MEM) -no-reboot -net none -device isa-debug-exit,iobase=0xf4,iosize=0x04
QEMU_FLAGS := $(QEMU_BASE) -display none

# Serial on the terminal (COM1). QEMU's escape key is Ctrl-] (-echr 29), not its
# usual Ctrl-A, which the REPL's line editor needs: Ctrl-] X quits, Ctrl-]
# C the QEMU monitor; every other key, Ctrl-C included, goes to the guest.
# COM2 is a socket in $(BUILD) for tools/l4ua (docs/console.md).
QEMU_TERM := -serial mon:stdio -echr 29 -serial unix:$(BUILD)/com2.sock,server=on,wait=off
# The disk (docs/drivers.md "virtio-blk"): a raw image on virtio-blk-pci,
# driven by drivers-lua/virtio_blk.lua ("disk0"), where the file service
# keeps files (docs/storage.md). DISK=path takes another image; the
# default one is made on first use and kept: 64 MiB of ext4 without a
# journal, made by the host's mke2fs (e2fsck and debugfs read it).
# DISK_RO=1 attaches it read-only (the device says so; writes fail EROFS).
DISK ?= $(BUILD)/disk.img
QEMU_DISK = -drive file=$(DISK),if=none,id=disk0,format=raw$(if $(DISK_RO),$(COMMA)readonly=on) \
	-device virtio-blk-pci,drive=disk0
COMMA := ,
MKE2FS ?= /usr/sbin/mke2fs
$(BUILD)/disk.img:
	@mkdir -p $(@D)
	@echo "  DISK    $@ (64 MiB, ext4)"
	$(Q)rm -f $@.tmp && truncate -s 64M $@.tmp && \
		$(MKE2FS) -q -F -t ext4 -O ^has_journal -b 4096 -L l4ua $@.tmp && mv $@.tmp $@
DISK_DEP := $(if $(filter $(BUILD)/disk.img,$(DISK)),$(DISK))
# The network (docs/network.md): a virtio-net card on QEMU's user-mode
# network (the guest is 10.0.2.15 by DHCP, the host 10.0.2.2, DNS 10.0.2.3),
# driven by drivers-lua/virtio_net.lua ("net0") and scripts/net.lua ("net").
# The host's localhost reaches the guest's TCP port 23 (the REPL) on
# REPL_PORT and its port 80 (HTTP) on HTTP_PORT; nothing else from outside.
# The card sits in PCI slot 5, whose interrupt line (10) is not the disk's
# (slot 3, line 11): an interrupt line has one driver task.
REPL_PORT ?= 2323
HTTP_PORT ?= 8080
QEMU_NET = -netdev user,id=net0,hostfwd=tcp:127.0.0.1:$(REPL_PORT)-:23,hostfwd=tcp:127.0.0.1:$(HTTP_PORT)-:80 \
	-device virtio-net-pci,netdev=net0,addr=5
run: $(RUN_ISO) $(BUILD)/deps.mk $(DISK_DEP)
	@echo "L4ua: booting in QEMU$(if $(filter $(ISO_SAFE),$(RUN_ISO)), in safe mode); quit with Ctrl-] then X"
	$(Q)$(QEMU) $(QEMU_FLAGS) -cdrom $(RUN_ISO) $(QEMU_TERM) $(QEMU_DISK) $(QEMU_NET); \
		s=$$?; [ $$s -eq 0 ] || [ $$s -eq 33 ] || echo "QEMU exited with status $$s"

# The same system in a QEMU window: a second REPL on the VGA screen and
# the PS/2 keyboard (the serial one stays on the terminal).
run-vga: $(RUN_ISO) $(BUILD)/deps.mk $(DISK_DEP)
	@echo "L4ua: booting in a QEMU window; the serial console stays here (Ctrl-] X quits)"
	$(Q)$(QEMU) $(QEMU_BASE) -cdrom $(RUN_ISO) $(QEMU_TERM) $(QEMU_DISK) $(QEMU_NET); \
		s=$$?; [ $$s -eq 0 ] || [ $$s -eq 33 ] || echo "QEMU exited with status $$s"

debug: $(ISO) $(DISK_DEP)
	@echo "L4ua: QEMU halted for gdb on :1234; in another terminal run:"
	@echo "    gdb -ex 'target remote :1234' $(BUILD)/kernel.elf"
	$(Q)$(QEMU) $(QEMU_FLAGS) -cdrom $(ISO) $(QEMU_TERM) $(QEMU_DISK) $(QEMU_NET) -s -S

# ---- sigma0, the initial pager (task 1; docs/memory.md) ----
# A static ELF like the test programs, linked above L4_SIGMA0_BASE: below
# it, sigma0's virtual addresses are the physical ones it hands out.
SIGMA0_CFLAGS = $(USER_CFLAGS) -mcmodel=large
SIGMA0_OBJ := $(patsubst sigma0/%,$(BUILD)/sigma0/%.o,$(basename $(wildcard sigma0/*.c sigma0/*.S)))
$(BUILD)/sigma0/%.o: sigma0/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)gcc $(SIGMA0_CFLAGS) -c $< -o $@
$(BUILD)/sigma0/%.o: sigma0/%.S
	@mkdir -p $(@D)
	$(Q)gcc $(SIGMA0_CFLAGS) -c $< -o $@
$(BUILD)/sigma0.elf: $(SIGMA0_OBJ) sigma0/sigma0.ld
	@echo "  LD      $@"
	$(Q)ld -nostdlib -static -z noexecstack --build-id=none -T sigma0/sigma0.ld -o $@ $(SIGMA0_OBJ)
all: $(BUILD)/sigma0.elf

# ---- disk images (docs/storage.md) ----
# The ext2 module's test images: 512 KiB of ext2 and 1 MiB of ext4 (no
# journal), both of 1 KiB blocks, holding tests/host/lua/ext2-tree/, made
# the same every time (fixed UUID, hash seed and clock).
MKE2FS_FIXED := E2FSPROGS_FAKE_TIME=1700000000 /usr/sbin/mke2fs -q -F -b 1024 \
	-d tests/host/lua/ext2-tree
TEST_IMAGES := $(BUILD)/tests/ext2/ext2.img $(BUILD)/tests/ext2/ext4.img
EXT2_TREE := $(shell find tests/host/lua/ext2-tree -type f)
$(BUILD)/tests/ext2/ext2.img: $(EXT2_TREE)
	@mkdir -p $(@D)
	@echo "  MKE2FS  $@"
	$(Q)rm -f $@ && truncate -s 512K $@ && $(MKE2FS_FIXED) -t ext2 -L small-ext2 \
		-U 6c347561-0000-4000-8000-000000000002 -E hash_seed=6c347561-0000-4000-8000-000000000012 $@
$(BUILD)/tests/ext2/ext4.img: $(EXT2_TREE)
	@mkdir -p $(@D)
	@echo "  MKE2FS  $@"
	$(Q)rm -f $@ && truncate -s 1M $@ && $(MKE2FS_FIXED) -t ext4 -O ^has_journal -L small-ext4 \
		-U 6c347561-0000-4000-8000-000000000004 -E hash_seed=6c347561-0000-4000-8000-000000000014 $@
all: $(TEST_IMAGES)

# ---- the Lua root task (task 2) and its scripts archives ----
include runtime/lua/lua-root.mk

# ---- user-mode test programs (root tasks of test boots) ----
USER_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -nostdinc \
	-isystem $(GCC_INC) -fno-stack-protector -fno-pic -fno-pie -mno-red-zone \
	-fno-omit-frame-pointer -fno-asynchronous-unwind-tables -MMD -MP
USER_LIB_OBJ := $(BUILD)/tests/user/crt0.o $(BUILD)/tests/user/ulib.o
USER_TESTS := $(patsubst tests/user/%_test.c,$(BUILD)/tests/user/%.elf,$(wildcard tests/user/*_test.c))
$(BUILD)/tests/user/%.o: tests/user/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)gcc $(USER_CFLAGS) -c $< -o $@
$(BUILD)/tests/user/%.o: tests/user/%.S
	@mkdir -p $(@D)
	$(Q)gcc $(USER_CFLAGS) -c $< -o $@
$(BUILD)/tests/user/%.elf: $(BUILD)/tests/user/%_test.o $(USER_LIB_OBJ) tests/user/user.ld
	@echo "  LD      $@"
	$(Q)ld -nostdlib -static -z noexecstack --build-id=none -T tests/user/user.ld -o $@ \
		$(USER_LIB_OBJ) $<
all: $(USER_TESTS)

# Benchmarks: built by `make test` (so they keep building), run by `make bench`.
BENCH_ELF := $(patsubst tests/bench/%.c,$(BUILD)/tests/bench/%.elf,$(wildcard tests/bench/*_bench.c))
$(BUILD)/tests/bench/%.o: tests/bench/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)gcc $(USER_CFLAGS) -c $< -o $@
$(BUILD)/tests/bench/%.elf: $(BUILD)/tests/bench/%.o $(USER_LIB_OBJ) tests/user/user.ld
	@echo "  LD      $@"
	$(Q)ld -nostdlib -static -z noexecstack --build-id=none -T tests/user/user.ld -o $@ \
		$(USER_LIB_OBJ) $<
all: $(BENCH_ELF)
# How kernel costs grow with the system's size: make bench-scale only.
SCALE_ELF := $(BUILD)/tests/bench/s0_scale.elf
all: $(SCALE_ELF)

# The Lua benchmarks: lua-root.elf with this archive as "scripts" (run.py).
$(BUILD)/tests/bench/lua-bench.arc: $(shell find tests/bench/lua -type f) scripts/pager_zero.lua \
		scripts/service_proto.lua tools/mkarchive.py
	@mkdir -p $(@D)
	@echo "  ARC     $@"
	$(Q)$(MKARCHIVE) -o $@ pager_zero.lua=scripts/pager_zero.lua \
		service_proto.lua=scripts/service_proto.lua tests/bench/lua
all: $(BUILD)/tests/bench/lua-bench.arc
# The disk benchmarks: the system's scripts with tests/bench/blk/ over them
# (its init.lua the plan), booted with a disk (run.py).
$(BUILD)/tests/bench/blk-bench.arc: $(SCRIPT_FILES) $(shell find tests/bench/blk -type f) \
		$(ARC_TOOLS) $(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  ARC     $@"
	$(Q)$(MKARCHIVE) $(LUAC) -o $@ re.lua=$(LUA_DIR)/share/re.lua $(SCRIPT_DIRS) tests/bench/blk
all: $(BUILD)/tests/bench/blk-bench.arc
# The service benchmarks: the system's scripts with tests/bench/svc/ over
# them (its init.lua the plan: names, the supervisor, echo; run.py).
$(BUILD)/tests/bench/svc-bench.arc: $(SCRIPT_FILES) $(shell find tests/bench/svc -type f) \
		$(ARC_TOOLS) $(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  ARC     $@"
	$(Q)$(MKARCHIVE) $(LUAC) -o $@ re.lua=$(LUA_DIR)/share/re.lua $(SCRIPT_DIRS) tests/bench/svc
all: $(BUILD)/tests/bench/svc-bench.arc
# The network benchmarks: the system's scripts with tests/bench/net/ over
# them, booted with a network card (run.py).
$(BUILD)/tests/bench/net-bench.arc: $(SCRIPT_FILES) $(shell find tests/bench/net -type f) \
		$(ARC_TOOLS) $(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  ARC     $@"
	$(Q)$(MKARCHIVE) $(LUAC) -o $@ re.lua=$(LUA_DIR)/share/re.lua $(SCRIPT_DIRS) tests/bench/net
all: $(BUILD)/tests/bench/net-bench.arc

.PHONY: bench
bench: $(BUILD)/kernel-test32.elf $(BUILD)/sigma0.elf $(BENCH_ELF) $(BUILD)/lua-root.elf \
		$(BUILD)/tests/bench/lua-bench.arc $(BUILD)/tests/bench/blk-bench.arc \
		$(BUILD)/tests/bench/svc-bench.arc $(BUILD)/tests/bench/net-bench.arc \
		$(BUILD)/kernel32.elf \
		$(BUILD)/scripts.arc $(ISO)
	$(Q)$(PYTHON) tests/bench/run.py --build $(BUILD) --qemu $(QEMU) --cache $(CACHE)

# The scaling curves (docs/performance.md "How costs grow"): one boot in
# 1 GiB of RAM, then the service boots (tests/bench/scale_svc/: archives
# run.py packs with mkarchive.py), a few minutes.
.PHONY: bench-scale
bench-scale: $(BUILD)/kernel-test32.elf $(BUILD)/sigma0.elf $(SCALE_ELF) $(BUILD)/lua-root.elf \
		$(BUILD)/kernel32.elf $(ARC_TOOLS) $(BUILD)/deps.mk
	$(Q)$(PYTHON) tests/bench/run.py --build $(BUILD) --qemu $(QEMU) --cache $(CACHE) --scale

# ---- make profile-boot: where boot_to_prompt's instructions go, by
# function (tests/bench/profile_boot.py; a TCG plugin counts them) ----
$(BUILD)/tests/bench/prof_plugin.so: tests/bench/prof_plugin.c
	@mkdir -p $(@D)
	@echo "  HOSTCC  $<"
	$(Q)gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o $@ $<
.PHONY: profile-boot
profile-boot: $(BUILD)/kernel32.elf $(BUILD)/sigma0.elf $(BUILD)/lua-root.elf $(BUILD)/scripts.arc \
		$(BUILD)/tests/bench/prof_plugin.so
	$(Q)$(PYTHON) tests/bench/profile_boot.py --build $(BUILD) --qemu $(QEMU) \
		--plugin $(BUILD)/tests/bench/prof_plugin.so

# ---- make netstorm: the network's bad-input campaign, long ----
# (docs/network.md "Bad input"): the whole system under `make run` with
# its card on a hub shared with QEMU's restricted user network and a
# frame injector on 127.0.0.1; rounds of every phase for NETSTORM_SECONDS.
# make test runs one short round (stage netstorm).
NETSTORM_SECONDS ?= 600
.PHONY: netstorm
netstorm: all
	$(Q)$(PYTHON) tests/net/storm.py --build $(BUILD) --long $(NETSTORM_SECONDS)

# ---- make soak: weeks of use in minutes (docs/reliability.md "Soak") ----
# The real system's scripts (scripts/init.lua packed as system-init.lua)
# with tests/soak/'s .lua files over them, at the archive's root (not a
# user's folder: its init.lua is this boot's plan): it boots the system
# plan in a thread, then runs the soak. SOAK_SCALE=N runs 1/N of the full figures
# (make test runs 1/20: tests/run.py stage "soak"); the figure is packed
# as soak_config.lua, one archive per scale. The soak's crash victim is
# the isolation tests' (tests/lua/services_crash.lua).
SOAK_SCALE ?= 1
SOAK_FILES := $(shell find tests/soak -type f -name '*.lua' | sort)
$(BUILD)/tests/soak/soak-%.arc: $(SCRIPT_FILES) $(SOAK_FILES) tests/lua/services_crash.lua \
		$(ARC_TOOLS) $(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  ARC     $@"
	$(Q)echo 'return {scale = $*}' > $(@D)/config-$*.lua
	$(Q)$(MKARCHIVE) $(LUAC) -o $@ re.lua=$(LUA_DIR)/share/re.lua $(SCRIPT_DIRS) \
		system-init.lua=scripts/init.lua soak_config.lua=$(@D)/config-$*.lua \
		services_crash.lua=tests/lua/services_crash.lua \
		$(foreach f,$(SOAK_FILES),$(f:tests/soak/%=%)=$(f))
all: $(BUILD)/tests/soak/soak-20.arc

.PHONY: soak
soak: $(BUILD)/kernel-test32.elf $(BUILD)/sigma0.elf $(BUILD)/lua-root.elf \
		$(BUILD)/tests/soak/soak-$(SOAK_SCALE).arc
	$(Q)$(PYTHON) tests/soak/run.py --build $(BUILD) --qemu $(QEMU) --scale $(SOAK_SCALE)

# ---- tests ----
# Host unit tests of the kernel's pure logic (docs/reliability.md "Host
# side"), with AddressSanitizer and UBSan; any sanitizer report fails the
# test. L4UA_HOST: arch/x86_64/cpu.h models CR3 and invlpg. A test may name
# more sources in HOST_EXTRA and flags in HOST_EXTRA_CFLAGS (below).
HOST_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined \
	-fno-sanitize-recover=all -DL4UA_HOST -Ikernel -Iinclude
HOST_TESTS := $(patsubst tests/host/%.c,$(BUILD)/tests/host/%,$(wildcard tests/host/test_*.c))
HOST_TEST_LIBSRC := kernel/fmt.c kernel/bootinfo.c kernel/memmap.c kernel/pmm.c
HOST_TEST_HDRS := $(wildcard tests/host/*.h kernel/*.h kernel/arch/x86_64/*.h include/l4/*.h)
$(BUILD)/tests/host/%: tests/host/%.c $(HOST_TEST_HDRS) $(HOST_TEST_LIBSRC)
	@mkdir -p $(@D)
	@echo "  HOSTCC  $<"
	$(Q)gcc $(HOST_CFLAGS) $(HOST_EXTRA_CFLAGS) -o $@ $< $(HOST_TEST_LIBSRC) $(HOST_EXTRA) \
		tests/host/panic_stub.c
# The memory code (mapping database, flexpages, I/O ports, ELF loader) on
# the host model of frames, page tables and spaces in tests/host/kshim.c.
HOST_KMEM := kernel/mdb.c kernel/map.c kernel/io.c kernel/elf.c kernel/arch/x86_64/paging.c \
	tests/host/kshim.c
HOST_KMEM_TESTS := $(addprefix $(BUILD)/tests/host/,test_mdb test_fpage test_elf)
$(HOST_KMEM_TESTS): HOST_EXTRA := $(HOST_KMEM)
$(HOST_KMEM_TESTS): $(HOST_KMEM)
# IPC and the scheduler: the real ipc.c, fastpath.c, sched.c, thread.c,
# space.c, syscall.c (and the self-check, check.c) run by host threads
# (tests/host/kthreads.c: ucontexts, the fast switches modelled) over the
# same model of memory (space.c in place of kshim.c's stand-ins).
HOST_IPC := kernel/ipc.c kernel/fastpath.c kernel/sched.c kernel/thread.c kernel/space.c \
	kernel/syscall.c kernel/irq.c kernel/check.c tests/host/kthreads.c $(HOST_KMEM)
$(BUILD)/tests/host/test_ipc: HOST_EXTRA := $(HOST_IPC)
$(BUILD)/tests/host/test_ipc: HOST_EXTRA_CFLAGS := -Itests/host -DSHIM_REAL_SPACE \
	-Dkmem_used=shim_pool_used
$(BUILD)/tests/host/test_ipc: $(HOST_IPC)
# Timeouts: encoded by bindings/l4.c (with Lua's headers, a few stand-ins
# for its library), decoded by kernel/sched.c.
HOST_TIMEOUT := kernel/sched.c bindings/l4.c tests/host/timeout_stubs.c
$(BUILD)/tests/host/test_timeout: HOST_EXTRA := $(HOST_TIMEOUT)
$(BUILD)/tests/host/test_timeout: HOST_EXTRA_CFLAGS = -Ibindings -I$(LUA_DIR)/include
$(BUILD)/tests/host/test_timeout: $(HOST_TIMEOUT) bindings/l4b.h $(BUILD)/deps.mk
# lwIP is Debian's source with Debian's patches (tests/host/lwip_source.sh):
# a host test program that runs it on this build's lwIP entry and tree.
HOST_TESTS += $(BUILD)/tests/host/test_lwip_source
$(BUILD)/tests/host/test_lwip_source: tests/host/lwip_source.sh $(BUILD)/deps.mk
	@mkdir -p $(@D)
	$(Q)printf '#!/bin/sh\nexec sh "%s" "%s" "%s"\n' "$(abspath tests/host/lwip_source.sh)" \
		"$(LWIP_DIR)" "$(LWIP_SRC)" > $@ && chmod +x $@
# The scripts archive parser (the test includes runtime/lua/archive.c).
$(BUILD)/tests/host/test_archive: HOST_EXTRA_CFLAGS := -Iruntime/lua
$(BUILD)/tests/host/test_archive: runtime/lua/archive.c runtime/lua/rt.h

include tests/host/lua/lua.mk

# ---- fuzzing (docs/reliability.md) ----
# make fuzz: the syscall campaign, FUZZ_CALLS calls (make test runs
# 100,000 of the same fuzzer); FUZZ_SEED=random takes a new seed, printed
# first. LONG=1: FUZZ_RUNS (5) new seeds of 2,000,001 calls each (three
# fuzzer tasks make a third each, rounded down: 2,000,000 gave 1,999,998,
# five seeds 10 calls short of 10 million). It boots
# the coverage kernel (build/kernel-cov.elf, below), whose counts of new
# kernel code guide the fuzzer (make test's user.fuzz boots the plain test
# kernel: the same fuzzer, unguided). Every run measures the coverage of
# kernel/ (a QEMU plugin, tests/fuzz/cov.py); FUZZ_COV_LIST=1 lists the
# lines not reached. A seed that reached new lines is kept in FUZZ_CORPUS;
# FUZZ_SEED=corpus runs those seeds again.
FUZZ_SEED ?= 0x4c347561
FUZZ_RUNS ?= 5
# The seeds that reached new lines of kernel/ (tests/fuzz/run.py --corpus).
FUZZ_CORPUS := tests/fuzz/corpus/syscall
ifeq ($(LONG),1)
FUZZ_CALLS ?= 2000001
FUZZ_SEEDS := $(foreach s,$(shell od -An -N$$(( 4 * $(FUZZ_RUNS) )) -tx4 /dev/urandom),0x$(s))
else
FUZZ_CALLS ?= 1000000
FUZZ_SEEDS := $(if $(filter random,$(FUZZ_SEED)),0x$(shell od -An -N4 -tx4 /dev/urandom | tr -d ' '),\
	$(if $(filter corpus,$(FUZZ_SEED)),$(shell cut -d' ' -f1 $(FUZZ_CORPUS)/seeds),$(FUZZ_SEED)))
endif
# FUZZ_GUIDE=0: the fuzzer ignores the coverage (the baseline guidance is
# measured against: docs/reliability.md "Guided by coverage").
FUZZ_GUIDE ?= 1
FUZZ_ELF = $(BUILD)/tests/fuzz/fuzz-$(1)-$(FUZZ_CALLS)-g$(FUZZ_GUIDE).elf
FUZZ_ELFS := $(foreach s,$(FUZZ_SEEDS),$(call FUZZ_ELF,$(s)))
# fuzz-<seed>-<calls>-g<guide>.elf
$(BUILD)/tests/fuzz/fuzz-%.elf: tests/user/fuzz_test.c $(USER_LIB_OBJ) tests/user/user.ld
	@mkdir -p $(@D)
	@echo "  CC      $< (seed $(word 1,$(subst -, ,$*)), $(word 2,$(subst -, ,$*)) calls)"
	$(Q)gcc $(USER_CFLAGS) -MF /dev/null -DFUZZ_CALLS=$(word 2,$(subst -, ,$*)) \
		-DFUZZ_SEED=$(word 1,$(subst -, ,$*)) -DFUZZ_GUIDE=$(patsubst g%,%,$(word 3,$(subst -, ,$*))) \
		-c $< -o $(@:.elf=.o)
	$(Q)ld -nostdlib -static -z noexecstack --build-id=none -T tests/user/user.ld -o $@ \
		$(USER_LIB_OBJ) $(@:.elf=.o)
$(BUILD)/tests/fuzz/cov_plugin.so: tests/fuzz/cov_plugin.c
	@mkdir -p $(@D)
	@echo "  HOSTCC  $<"
	$(Q)gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o $@ $<
.PHONY: fuzz
fuzz: $(BUILD)/kernel-cov32.elf $(FUZZ_ELFS) $(BUILD)/tests/fuzz/cov_plugin.so
	$(Q)$(PYTHON) tests/fuzz/run.py --build $(BUILD) --calls $(FUZZ_CALLS) --qemu $(QEMU) \
		--plugin $(BUILD)/tests/fuzz/cov_plugin.so --kernel $(BUILD)/kernel-cov32.elf \
		--kernel-elf $(BUILD)/kernel-cov.elf $(if $(FUZZ_COV_LIST),--unreached) \
		$(if $(filter 1,$(FUZZ_GUIDE)),--guided --corpus $(FUZZ_CORPUS)) \
		$(foreach s,$(FUZZ_SEEDS),--run $(s)=$(call FUZZ_ELF,$(s)))

# make fuzz-lua: the Lua fuzz of the l4 table (tests/lua/fuzz_l4.lua, a
# hostile Lua task) for LUA_FUZZ_RUNS new seeds (10) of LUA_FUZZ_CALLS
# calls (100,000) each, one after the other in one boot
# (tests/lua/fuzz_long.lua checks the system after each); make test runs
# 4,000 calls of one seed (lua.fuzz_l4_bindings_from_a_task).
LUA_FUZZ_CALLS ?= 100000
LUA_FUZZ_RUNS ?= 10
ifeq ($(origin LUA_FUZZ_SEEDS),undefined)      # drawn once (:=), not at each use
LUA_FUZZ_SEEDS := $(foreach s,$(shell od -An -N$$(( 4 * $(LUA_FUZZ_RUNS) )) -tx4 /dev/urandom),0x$(s))
endif
.PHONY: fuzz-lua
fuzz-lua: $(BUILD)/kernel-test32.elf $(BUILD)/sigma0.elf $(BUILD)/lua-root.elf tests/lua/fuzz_long.lua \
		tests/lua/fuzz_l4.lua tests/lua/fuzz_l4_child.lua tests/lua/bindings_util.lua
	@mkdir -p $(BUILD)/tests/fuzz
	$(Q)printf 'return {calls = %d, seeds = {%s}}\n' $(LUA_FUZZ_CALLS) \
		"$$(echo $(LUA_FUZZ_SEEDS) | tr ' ' ',')" > $(BUILD)/tests/fuzz/fuzz_long_conf.lua
	$(Q)$(MKARCHIVE) -o $(BUILD)/tests/fuzz/fuzz-lua.arc init.lua=tests/lua/fuzz_long.lua \
		fuzz_l4.lua=tests/lua/fuzz_l4.lua fuzz_l4_child.lua=tests/lua/fuzz_l4_child.lua \
		bindings_util.lua=tests/lua/bindings_util.lua \
		fuzz_long_conf.lua=$(BUILD)/tests/fuzz/fuzz_long_conf.lua
	$(Q)$(PYTHON) tests/fuzz/lua_run.py --build $(BUILD) --qemu $(QEMU) \
		--archive $(BUILD)/tests/fuzz/fuzz-lua.arc --seeds "$(LUA_FUZZ_SEEDS)"

# make faultinject: FAULTS faults (100,000) injected into the name service,
# two echo services, the file service and COM1's and COM2's console servers
# (and their UARTs' registers) and, with a disk (FAULT_DISK=1, the default:
# the file service on it), the disk's driver's registers, and with a
# network card (FAULT_NET=1, the default: a TCP client through the network
# service to an echo on the host), the network driver's registers, while
# the clients use them and the host types at COM1 (tests/faultinject/,
# docs/reliability.md "Fault injection"); FAULT_SEED repeats a run. make
# test runs 300 (stage faultinject), without the disk or the network.
FAULTS ?= 100000
FAULT_DISK ?= 1
FAULT_NET ?= 1
ifeq ($(origin FAULT_SEED),undefined)
FAULT_SEED := 0x$(shell od -An -N4 -tx4 /dev/urandom | tr -d ' ')
endif
FAULTINJECT_FILES := tests/faultinject/init.lua tests/faultinject/client.lua tests/faultinject/fclient.lua \
	tests/faultinject/cclient.lua tests/faultinject/nclient.lua
$(BUILD)/tests/faultinject/fi-%.arc: $(SCRIPT_FILES) $(FAULTINJECT_FILES) $(ARC_TOOLS) \
		$(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  ARC     $@"
	$(Q)echo 'return {faults = $(word 1,$(subst -, ,$*)), seed = $(word 2,$(subst -, ,$*))}' \
		> $(@D)/conf-$*.lua
	$(Q)$(MKARCHIVE) $(LUAC) -o $@ re.lua=$(LUA_DIR)/share/re.lua $(SCRIPT_DIRS) \
		init.lua=tests/faultinject/init.lua faultinject/client.lua=tests/faultinject/client.lua \
		faultinject/fclient.lua=tests/faultinject/fclient.lua \
		faultinject/cclient.lua=tests/faultinject/cclient.lua \
		faultinject/nclient.lua=tests/faultinject/nclient.lua \
		faultinject_conf.lua=$(@D)/conf-$*.lua
all: $(BUILD)/tests/faultinject/fi-300-0x46494e4a.arc
.PHONY: faultinject
faultinject: $(BUILD)/kernel-test32.elf $(BUILD)/sigma0.elf $(BUILD)/lua-root.elf \
		$(BUILD)/tests/faultinject/fi-$(FAULTS)-$(FAULT_SEED).arc
	$(Q)$(PYTHON) tests/faultinject/run.py --build $(BUILD) --qemu $(QEMU) \
		--archive $(BUILD)/tests/faultinject/fi-$(FAULTS)-$(FAULT_SEED).arc $(if $(filter 1,$(FAULT_DISK)),--disk) \
		$(if $(filter 1,$(FAULT_NET)),--net) \
		--seeds "$(FAULT_SEED) ($(FAULTS) faults$(if $(filter 1,$(FAULT_DISK)),$(COMMA) a disk)$(if \
		$(filter 1,$(FAULT_NET)),$(COMMA) a network card); repeat with FAULT_SEED=$(FAULT_SEED))"

# make fuzz-host: libFuzzer (clang) on the ELF loader and the scripts
# archive parser, FUZZ_SECONDS each (docs/reliability.md "Host side");
# fails on a crash or sanitizer report. Seeds: tests/fuzz/corpus/<target>/
# (read only) and, for the loader, our own ELF images, stripped at build
# time; what the fuzzers find grows $(BUILD)/tests/fuzz/work/<target>/.
FUZZ_SECONDS ?= 60
FUZZ_HOST_CFLAGS := -g -O1 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-DL4UA_HOST -Ikernel -Iinclude -Itests/host
FUZZ_HOST := $(BUILD)/tests/fuzz/host/fuzz_elf $(BUILD)/tests/fuzz/host/fuzz_archive
$(BUILD)/tests/fuzz/host/fuzz_elf: tests/fuzz/host/fuzz_elf.c $(HOST_KMEM) $(HOST_TEST_HDRS)
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)clang $(FUZZ_HOST_CFLAGS) -o $@ $< $(HOST_KMEM) tests/host/panic_stub.c
$(BUILD)/tests/fuzz/host/fuzz_archive: tests/fuzz/host/fuzz_archive.c runtime/lua/archive.c \
		runtime/lua/rt.h tests/host/archive_host.h
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)clang $(FUZZ_HOST_CFLAGS) -Iruntime/lua -o $@ $<
# The file system (fuzz_ext2.c): the ext2 module, libext2fs and Lua from
# the cache's sources, all built again here with the sanitizers and
# libFuzzer's coverage (their own warnings off: not our code). Seeds: the
# first 48 KiB of the test images (made at build time).
FUZZ_DEP_CFLAGS := -g -O1 -w -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_E2FS_C := $(if $(E2FS_DIR),$(shell cat $(E2FS_DIR)/sources 2>/dev/null))
FUZZ_E2FS_OBJ := $(patsubst lib/%.c,$(BUILD)/tests/fuzz/host/e2fs/%.o,$(FUZZ_E2FS_C)) \
	$(BUILD)/tests/fuzz/host/e2fs/ext2_err.o
FUZZ_LUA_OBJ := $(patsubst %.c,$(BUILD)/tests/fuzz/host/lua/%.o,$(filter-out lua.c luac.c onelua.c,\
	$(notdir $(wildcard $(LUA_SRC)/*.c))))
FUZZ_E2FS_INC = -DHAVE_CONFIG_H -Ulinux -U__linux -U__linux__ -U__gnu_linux__ -I$(E2FS_DIR)/gen \
	-I$(E2FS_DIR)/include -I$(E2FS_DIR)/include/ext2fs -I$(E2FS_SRC)/lib -I$(E2FS_SRC)/lib/et
$(BUILD)/tests/fuzz/host/e2fs/%.o: $(E2FS_SRC)/lib/%.c $(BUILD)/deps.mk
	@mkdir -p $(@D)
	$(Q)clang $(FUZZ_DEP_CFLAGS) $(FUZZ_E2FS_INC) -c $< -o $@
$(BUILD)/tests/fuzz/host/e2fs/ext2_err.o: $(E2FS_DIR)/gen/ext2_err.c $(BUILD)/deps.mk
	@mkdir -p $(@D)
	$(Q)clang $(FUZZ_DEP_CFLAGS) $(FUZZ_E2FS_INC) -c $< -o $@
$(BUILD)/tests/fuzz/host/lua/%.o: $(LUA_SRC)/%.c $(BUILD)/deps.mk
	@mkdir -p $(@D)
	$(Q)clang $(FUZZ_DEP_CFLAGS) -DLUA_COMPAT_5_3 -DLUA_USE_POSIX -I$(LUA_DIR)/include -c $< -o $@
FUZZ_HOST += $(BUILD)/tests/fuzz/host/fuzz_ext2
$(BUILD)/tests/fuzz/host/fuzz_ext2: tests/fuzz/host/fuzz_ext2.c bindings/ext2.c bindings/ext2_io.c \
		bindings/ext2b.h $(FUZZ_E2FS_OBJ) $(FUZZ_LUA_OBJ)
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	$(Q)clang $(filter-out -I%,$(FUZZ_HOST_CFLAGS)) -Ibindings -I$(LUA_DIR)/include -I$(E2FS_DIR)/include -o $@ \
		tests/fuzz/host/fuzz_ext2.c bindings/ext2.c bindings/ext2_io.c $(FUZZ_E2FS_OBJ) $(FUZZ_LUA_OBJ) -lm
# Its seeds, from the images the tests use; tests/fuzz/corpus/ext2/ holds
# inputs that found bugs (nul-in-a-name: a folder entry whose name has a
# NUL byte was listed, and its path then refused).
$(BUILD)/tests/fuzz/seeds/ext2/ext2 $(BUILD)/tests/fuzz/seeds/ext2/ext4: $(BUILD)/tests/fuzz/seeds/ext2/%: \
		$(BUILD)/tests/ext2/%.img
	@mkdir -p $(@D)
	$(Q)head -c 49152 $< > $@

# ---- make crash-disk: QEMU killed at random while the guest writes ----
# CRASH_RUNS (100) kills of QEMU during tests/crash/init.lua's workload on
# one disk image, e2fsck -fy and a check at the next boot after each
# (tests/repl/crash_disk.py; docs/storage.md "Durability"); make test runs 3.
.PHONY: crash-disk
crash-disk: all
	$(Q)STAGES=crash CRASH_DISK_RUNS=$(or $(CRASH_RUNS),100) $(PYTHON) tests/run.py \
		--build $(BUILD) --qemu $(QEMU)

# ---- make damaged-disk: a damaged disk never crashes the system ----
# DAMAGED_RUNS (1000) variants of random bytes over the file system's
# metadata, in one boot (tests/damaged/init.lua, tests/repl/damaged_disk.py;
# docs/storage.md "A damaged disk"); make test runs 20. DAMAGED_SEED= draws others.
.PHONY: damaged-disk
damaged-disk: all
	$(Q)STAGES=damaged DAMAGED_RUNS=$(or $(DAMAGED_RUNS),1000) $(PYTHON) tests/run.py \
		--build $(BUILD) --qemu $(QEMU)

.PHONY: fuzz-host
fuzz-host: $(FUZZ_HOST) $(BUILD)/sigma0.elf $(BUILD)/lua-root.elf $(BUILD)/tests/user/smoke.elf \
		$(BUILD)/tests/fuzz/seeds/ext2/ext2 $(BUILD)/tests/fuzz/seeds/ext2/ext4
	$(Q)w=$(BUILD)/tests/fuzz/work; mkdir -p $$w/elf $$w/archive $$w/ext2 && \
	for e in sigma0 lua-root tests/user/smoke; do \
		strip -o $$w/elf/own-$$(basename $$e).elf $(BUILD)/$$e.elf || exit 1; done && \
	cp $(BUILD)/tests/fuzz/seeds/ext2/* $$w/ext2/ && \
	for t in elf archive ext2; do \
		echo "fuzz-host: $$t for $(FUZZ_SECONDS) s"; \
		$(BUILD)/tests/fuzz/host/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-timeout=20 -artifact_prefix=$(BUILD)/tests/fuzz/crash-$$t- $$w/$$t \
			$$(ls -d tests/fuzz/corpus/$$t 2>/dev/null) \
			2>$(BUILD)/tests/fuzz/fuzz_$$t.log || \
			{ tail -n 60 $(BUILD)/tests/fuzz/fuzz_$$t.log; echo "fuzz-host: $$t FAILED"; exit 1; }; \
		grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' \
			$(BUILD)/tests/fuzz/fuzz_$$t.log | sed "s/^/  $$t /"; \
	done

# The DAP client of the repl stage's dap cases (tests/dap/echo_test.js):
# npm's @vscode/debugadapter-testsupport, the versions of tests/dap's
# package-lock.json, in a folder of the build (node and npm: packages.sh dap).
DAP_CLIENT := $(BUILD)/dap/node_modules/@vscode/debugadapter-testsupport/package.json
$(DAP_CLIENT): tests/dap/package.json tests/dap/package-lock.json
	$(Q)sh tools/deps/packages.sh dap
	@mkdir -p $(BUILD)/dap
	@echo "  NPM     $(BUILD)/dap"
	$(Q)cp tests/dap/package.json tests/dap/package-lock.json $(BUILD)/dap/
	$(Q)npm ci --prefix $(BUILD)/dap --no-audit --no-fund --loglevel=error >/dev/null
	$(Q)touch $@
dap-client: $(DAP_CLIENT)

test: all $(HOST_TESTS) $(BUILD)/lua-host/lua $(TEST_IMAGES) $(BUILD)/tests/fuzz/host/fuzz_ext2 $(FUZZ_HOST) \
		$(BUILD)/tests/fuzz/seeds/ext2/ext2 $(BUILD)/tests/fuzz/seeds/ext2/ext4 $(DAP_CLIENT) \
		$(BUILD)/kernel32.elf
	$(Q)$(PYTHON) tests/run.py --build $(BUILD) --qemu $(QEMU)

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/sigma0/*.d $(BUILD)/kernel/*.d $(BUILD)/kernel/arch/x86_64/*.d \
	$(BUILD)/kcov/kernel/*.d $(BUILD)/kcov/kernel/arch/x86_64/*.d $(BUILD)/tests/fuzz/*.d $(BUILD)/tests/guest/*.d $(BUILD)/tests/user/*.d $(BUILD)/tests/bench/*.d)
