# The Lua root task (runtime/lua/) and the scripts archives it reads.
# Included by the top-level Makefile, which provides BUILD, Q, GCC_INC and
# (from $(BUILD)/deps.mk) NEWLIB_DIR, LUA_DIR, TARGET_CFLAGS.
#   build/lua-root.elf          the root task: Lua 5.4 + LPeg on newlib over L4
#   build/scripts.arc           scripts/ + LPeg's re.lua: module "scripts" of the ISO
#   build/tests/lua/tests.arc   tests/lua/ + re.lua + LPeg's test.lua (as
#                               lpeg-test.lua): the "scripts" of the test boot

LUA_ROOT_OBJ := $(patsubst runtime/lua/%,$(BUILD)/runtime/lua/%.o,\
	$(basename $(wildcard runtime/lua/*.c runtime/lua/*.S)))
# Deferred (=): deps.mk is included after this file may be read.
LUA_ROOT_CFLAGS = $(TARGET_CFLAGS) -std=gnu11 -g -Wall -Wextra -Werror -MMD -MP \
	-nostdinc -isystem $(NEWLIB_DIR)/include -isystem $(GCC_INC) \
	-I$(LUA_DIR)/include -Iinclude
LUA_ROOT_LIBS = $(LUA_DIR)/lib/liblpeg.a $(LUA_DIR)/lib/liblua.a \
	$(NEWLIB_DIR)/lib/libc.a $(NEWLIB_DIR)/lib/libm.a $(shell gcc -print-libgcc-file-name)

# Objects depend on deps.mk: a new cache entry means new headers and flags.
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
	$(Q)ld -nostdlib -static -z noexecstack --build-id=none -T runtime/lua/lua-root.ld -o $@ \
		$(LUA_ROOT_OBJ) --start-group $(LUA_ROOT_LIBS) --end-group

MKARCHIVE := $(PYTHON) tools/mkarchive.py
$(BUILD)/scripts.arc: $(shell find scripts -type f) tools/mkarchive.py $(BUILD)/deps.mk
	@echo "  ARC     $@"
	$(Q)$(MKARCHIVE) -o $@ re.lua=$(LUA_DIR)/share/re.lua scripts
# LPeg's test.lua comes from the cache at build time; it is never committed.
$(BUILD)/tests/lua/tests.arc: $(shell find tests/lua -type f) tools/mkarchive.py $(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  ARC     $@"
	$(Q)$(MKARCHIVE) -o $@ re.lua=$(LUA_DIR)/share/re.lua \
		lpeg-test.lua=$(LUA_DIR)/share/test.lua tests/lua

all: $(BUILD)/lua-root.elf $(BUILD)/scripts.arc $(BUILD)/tests/lua/tests.arc

-include $(wildcard $(BUILD)/runtime/lua/*.d)

# ---- bindings/: the l4 Lua table (docs/lua-api.md), linked into lua-root.elf ----
L4B_OBJ := $(patsubst bindings/%.c,$(BUILD)/bindings/%.o,$(wildcard bindings/*.c))
LUA_ROOT_OBJ += $(L4B_OBJ)
$(BUILD)/bindings/%.o: bindings/%.c $(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)gcc $(LUA_ROOT_CFLAGS) -Iruntime/lua -c $< -o $@
$(BUILD)/lua-root.elf: $(L4B_OBJ)
-include $(wildcard $(BUILD)/bindings/*.d)
