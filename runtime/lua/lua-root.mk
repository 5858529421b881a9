# The Lua root task (runtime/lua/) and the scripts archives it reads.
# Included by the top-level Makefile, which provides BUILD, Q, GCC_INC and
# (from $(BUILD)/deps.mk) NEWLIB_DIR, LUA_DIR, TARGET_CFLAGS.
#   build/lua-root.elf          the root task: Lua 5.4 + LPeg on newlib over L4
#   build/scripts.arc           scripts/ (+ drivers-lua/, shell/ if present) + LPeg's
#                               re.lua + the .lua files of $(SCRIPTS), if given, under
#                               user/: module "scripts" of the ISO
#   build/tests/lua/many.arc    the 1 GiB boot's: tests/lua/many_tasks.lua as init.lua
#   build/tests/lua/tests.arc   tests/lua/ + drivers-lua/ + re.lua + LPeg's test.lua (as
#                               lpeg-test.lua) + tests/scripts/ (as a SCRIPTS folder):
#                               the "scripts" of the test boot

LUA_ROOT_OBJ := $(patsubst runtime/lua/%,$(BUILD)/runtime/lua/%.o,\
	$(basename $(wildcard runtime/lua/*.c runtime/lua/*.S)))
# Deferred (=): deps.mk is included after this file may be read. No frame
# pointer, as Lua's own objects (tools/deps/build.sh, docs/build.md).
LUA_ROOT_CFLAGS = $(TARGET_CFLAGS) -fomit-frame-pointer -std=gnu11 -g -Wall -Wextra -Werror -MMD -MP \
	-nostdinc -isystem $(NEWLIB_DIR)/include -isystem $(GCC_INC) \
	-I$(LUA_DIR)/include -Iinclude
LUA_ROOT_LIBS = $(LUA_DIR)/lib/liblpeg.a $(LUA_DIR)/lib/liblua.a $(E2FS_DIR)/lib/libext2fs.a $(LWIP_DIR)/lib/liblwip.a \
	$(NEWLIB_DIR)/lib/libc.a $(NEWLIB_DIR)/lib/libm.a $(shell gcc -print-libgcc-file-name)

# newlib calls that share state between threads run under the libc lock
# (libc.c): ld sends every call of them in our objects, Lua and LPeg to
# the __wrap_ versions there.
LUA_ROOT_WRAP := $(addprefix --wrap=,fwrite fread fputs fgets getc ungetc fflush fopen \
	freopen fclose fseek ftell setvbuf tmpfile feof ferror clearerr strtod fprintf snprintf)
# Every load of a Lua file by name goes through luac.c, which loads the
# archive's precompiled chunk of an unchanged archive file.
LUA_ROOT_WRAP += --wrap=luaL_loadfilex

# Objects depend on deps.mk: a new cache entry means new headers and flags.
# Layers call down only (docs/architecture.md): the bindings see the
# runtime through rt.h; of the runtime, only the start-up (main.c) sees
# the bindings, through the one header they export (bindings/l4lib.h).
$(BUILD)/runtime/lua/main.o: LUA_ROOT_CFLAGS += -Ibindings
$(BUILD)/runtime/lua/%.o: runtime/lua/%.c $(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)gcc $(LUA_ROOT_CFLAGS) -c $< -o $@
$(BUILD)/runtime/lua/%.o: runtime/lua/%.S $(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  AS      $<"
	$(Q)gcc $(LUA_ROOT_CFLAGS) -c $< -o $@

$(BUILD)/lua-root.elf: $(LUA_ROOT_OBJ) runtime/lua/lua-root.ld $(BUILD)/deps.mk
	@echo "  LD      $@"
	$(Q)ld -nostdlib -static -z noexecstack --build-id=none -T runtime/lua/lua-root.ld $(LUA_ROOT_WRAP) -o $@ \
		$(LUA_ROOT_OBJ) --start-group $(LUA_ROOT_LIBS) --end-group

# Every archive of the system's scripts gets its Lua files precompiled by
# the host build of the same Lua (tools/luac.lua; runtime/lua/luac.c loads
# them, docs/runtime.md "Precompiled chunks"): $(LUAC) is mkarchive's
# option, $(ARC_TOOLS) what such an archive is made with.
MKARCHIVE := $(PYTHON) tools/mkarchive.py
LUAC_HOST := $(BUILD)/lua-host/lua
LUAC := --luac $(LUAC_HOST)
ARC_TOOLS := tools/mkarchive.py tools/luac.lua $(LUAC_HOST)
# The system's folders (drivers-lua/ and shell/ once they exist), then the
# user's: `make run SCRIPTS=~/my-scripts` adds that folder's .lua files
# under user/ (a/b.lua is user/a/b.lua, require "a.b"; package.path looks
# in user/ first, so a module of yours shadows ours of the same name); the
# boot plan stays scripts/init.lua and runs your init.lua last, as the
# autorun (docs/recovery.md).
SCRIPT_DIRS := scripts $(wildcard drivers-lua shell)
# make cannot name a folder with spaces; files with spaces inside it are
# packed, but only the others are prerequisites (editing those rebuilds).
ifneq ($(word 2,$(SCRIPTS)),)
$(error SCRIPTS=$(SCRIPTS): a folder whose name has spaces is not supported)
endif
SCRIPTS_DIR := $(if $(SCRIPTS),$(abspath $(patsubst ~%,$(HOME)%,$(SCRIPTS))))
SCRIPTS_LUA := $(if $(SCRIPTS_DIR),$(shell find '$(SCRIPTS_DIR)' -name '.*' -prune -o \
	-type f -name '*.lua' ! -path '* *' -print 2>/dev/null | sort))
SCRIPT_FILES := $(shell find $(SCRIPT_DIRS) -type f | sort)
# The list of inputs (SCRIPTS and every file), rewritten only when it
# changes: a new SCRIPTS, or a file added or removed, rebuilds the archive.
$(BUILD)/scripts.inputs: FORCE
	@mkdir -p $(@D)
	$(Q)printf '%s\n' 'SCRIPTS=$(SCRIPTS_DIR)' $(SCRIPT_FILES) $(SCRIPTS_LUA) > $@.tmp
	$(Q)cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@
# docs/lua-api.md goes in as doc/lua-api.md: the REPL's `help` reads it
# (shell/help.lua), so the help text and the reference are one text.
$(BUILD)/scripts.arc: $(SCRIPT_FILES) $(SCRIPTS_LUA) $(BUILD)/scripts.inputs \
		$(ARC_TOOLS) $(BUILD)/deps.mk docs/lua-api.md
	@echo "  ARC     $@$(if $(SCRIPTS_DIR), (with SCRIPTS=$(SCRIPTS_DIR)))"
	$(Q)$(MKARCHIVE) $(LUAC) -o $@ re.lua=$(LUA_DIR)/share/re.lua doc/lua-api.md=docs/lua-api.md $(SCRIPT_DIRS) \
		$(if $(SCRIPTS_DIR),-L '$(SCRIPTS_DIR)')
# LPeg's test.lua comes from the cache at build time; it is never committed.
# tests/scripts/ stands for a user's SCRIPTS folder: packed with -L (under
# user/), as `make SCRIPTS=tests/scripts` would, so the test boot requires
# from it. The test archive has no rescue.lua: an error ends that boot.
# The service framework's scripts (tests/lua/services*.lua) come from scripts/.
TEST_SERVICE_SCRIPTS := service.lua service_keep.lua service_proto.lua service_task.lua names.lua \
	supervisor.lua rootgc.lua sched_policy.lua services/echo.lua ramdisk.lua fs.lua debugger.lua \
	debug_agent.lua fault.lua silence.lua
# The ext2 module's cases (tests/lua/ext2_cases.lua) read ext2.img and
# ext4.img, small images the host's mke2fs makes (Makefile: TEST_IMAGES).
$(BUILD)/tests/lua/tests.arc: $(shell find tests/lua tests/scripts drivers-lua -type f) scripts/pager_zero.lua scripts/files.lua \
		$(addprefix scripts/,$(TEST_SERVICE_SCRIPTS)) $(ARC_TOOLS) $(BUILD)/deps.mk $(TEST_IMAGES)
	@mkdir -p $(@D)
	@echo "  ARC     $@"
	$(Q)$(MKARCHIVE) $(LUAC) -o $@ re.lua=$(LUA_DIR)/share/re.lua \
		ext2.img=$(BUILD)/tests/ext2/ext2.img ext4.img=$(BUILD)/tests/ext2/ext4.img \
		lpeg-test.lua=$(LUA_DIR)/share/test.lua pager_zero.lua=scripts/pager_zero.lua files.lua=scripts/files.lua \
		$(foreach f,$(TEST_SERVICE_SCRIPTS),$(f)=scripts/$(f)) drivers-lua tests/lua \
		-L tests/scripts

# The 1 GiB boot of tests/run.py's lua.many_tasks: as many Lua tasks at once
# as memory allows.
$(BUILD)/tests/lua/many.arc: tests/lua/many_tasks.lua tests/lua/exhaust.lua tests/lua/bindings_util.lua \
		tools/mkarchive.py
	@mkdir -p $(@D)
	@echo "  ARC     $@"
	$(Q)$(MKARCHIVE) -o $@ init.lua=tests/lua/many_tasks.lua exhaust.lua=tests/lua/exhaust.lua \
		bindings_util.lua=tests/lua/bindings_util.lua

# The disk boot of tests/run.py's lua.blk: the system's scripts, with
# tests/blk/ over them (its init.lua the plan: the disk's entries and the
# cases).
$(BUILD)/tests/blk/blk.arc: $(SCRIPT_FILES) $(shell find tests/blk -type f) $(ARC_TOOLS) \
		$(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  ARC     $@"
	$(Q)$(MKARCHIVE) $(LUAC) -o $@ re.lua=$(LUA_DIR)/share/re.lua $(SCRIPT_DIRS) tests/blk

# The network boot of tests/run.py's stage net: the system's scripts, with
# tests/net/ over them (its init.lua the plan: the network's entries and
# the cases).
$(BUILD)/tests/net/net.arc: $(SCRIPT_FILES) $(shell find tests/net -type f) $(ARC_TOOLS) \
		$(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  ARC     $@"
	$(Q)$(MKARCHIVE) $(LUAC) -o $@ re.lua=$(LUA_DIR)/share/re.lua $(SCRIPT_DIRS) tests/net

all: $(BUILD)/lua-root.elf $(BUILD)/scripts.arc $(BUILD)/tests/lua/tests.arc $(BUILD)/tests/lua/many.arc \
	$(BUILD)/tests/blk/blk.arc $(BUILD)/tests/net/net.arc

-include $(wildcard $(BUILD)/runtime/lua/*.d)

# ---- bindings/: the l4 Lua table (docs/lua-api.md), linked into lua-root.elf ----
L4B_OBJ := $(patsubst bindings/%.c,$(BUILD)/bindings/%.o,$(wildcard bindings/*.c))
LUA_ROOT_OBJ += $(L4B_OBJ)
$(BUILD)/bindings/%.o: bindings/%.c $(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)gcc $(LUA_ROOT_CFLAGS) -Iruntime/lua -c $< -o $@
$(BUILD)/lua-root.elf: $(L4B_OBJ)
# The ext2 module (bindings/ext2*.c, docs/storage.md) on libext2fs from the cache.
# ipc.c reads and writes its arguments and results in Lua's stack
# (bindings/lstack.h): the internal headers of the Lua it links with.
$(BUILD)/bindings/ipc.o: LUA_ROOT_CFLAGS += -I$(LUA_SRC) -fno-tree-slp-vectorize
$(BUILD)/bindings/ext2.o $(BUILD)/bindings/ext2_io.o: LUA_ROOT_CFLAGS += -I$(E2FS_DIR)/include
# The lwip module (bindings/lwip*.c, docs/network.md) on lwIP from the cache.
$(BUILD)/bindings/lwip.o $(BUILD)/bindings/lwip_sock.o: LUA_ROOT_CFLAGS += -I$(LWIP_DIR)/include
-include $(wildcard $(BUILD)/bindings/*.d)
