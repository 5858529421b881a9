# Host smoke test of the cached newlib + Lua + LPeg builds: link them into a
# static Linux executable (own crt0 and Linux-syscall stubs, no glibc) and
# run Lua scripts with it. Included by the top-level Makefile, which provides
# BUILD, Q and (from $(BUILD)/deps.mk) NEWLIB_DIR, LUA_DIR, TARGET_CFLAGS.
# Stand-alone use:
#   make -f build/deps.mk -f tests/host/lua/lua.mk build/lua-host/lua
# Run:
#   build/lua-host/lua tests/host/lua/smoke.lua build/lua-host/tmp
#   build/lua-host/lua build/lua-host/share/test.lua
BUILD ?= build

LUA_HOST := $(BUILD)/lua-host
LUA_HOST_OBJ := $(LUA_HOST)/crt0.o $(LUA_HOST)/main.o $(LUA_HOST)/syscalls.o \
	$(LUA_HOST)/ext2.o $(LUA_HOST)/ext2_io.o
# Deferred (=): deps.mk may be included after this file.
LUA_HOST_CFLAGS = $(TARGET_CFLAGS) -std=gnu11 -g -Wall -Wextra -Werror -MMD -MP \
	-nostdinc -isystem $(NEWLIB_DIR)/include -isystem $(shell gcc -print-file-name=include) \
	-I$(LUA_DIR)/include
LUA_HOST_LIBS = $(LUA_DIR)/lib/liblpeg.a $(LUA_DIR)/lib/liblua.a $(E2FS_DIR)/lib/libext2fs.a \
	$(NEWLIB_DIR)/lib/libc.a $(NEWLIB_DIR)/lib/libm.a $(shell gcc -print-libgcc-file-name)

# Objects depend on deps.mk: a new cache entry means new headers and flags.
$(LUA_HOST)/%.o: tests/host/lua/%.c $(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)gcc $(LUA_HOST_CFLAGS) -c $< -o $@
# The ext2 module (bindings/ext2*.c) on the target's libext2fs: the
# storage stage's host tests (tests/host/lua/ext2.lua) run it here.
$(LUA_HOST)/ext2.o $(LUA_HOST)/ext2_io.o: $(LUA_HOST)/%.o: bindings/%.c bindings/ext2b.h $(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  CC      $< (host)"
	$(Q)gcc $(LUA_HOST_CFLAGS) -I$(E2FS_DIR)/include -c $< -o $@
$(LUA_HOST)/%.o: tests/host/lua/%.S $(BUILD)/deps.mk
	@mkdir -p $(@D)
	@echo "  AS      $<"
	$(Q)gcc $(LUA_HOST_CFLAGS) -c $< -o $@

# share/ (next to the binary, main.c's default package.path) gets re.lua and
# LPeg's own test.lua; tmp/ is the writable dir smoke.lua is given.
$(LUA_HOST)/lua: $(LUA_HOST_OBJ) $(BUILD)/deps.mk
	@echo "  LD      $@"
	$(Q)gcc -nostdlib -static -no-pie -Wl,-z,noexecstack -Wl,--build-id=none -o $@ \
		$(LUA_HOST_OBJ) -Wl,--start-group $(LUA_HOST_LIBS) -Wl,--end-group
	$(Q)mkdir -p $(LUA_HOST)/share $(LUA_HOST)/tmp
	$(Q)cp $(LUA_DIR)/share/re.lua $(LUA_DIR)/share/test.lua $(LUA_HOST)/share/

-include $(wildcard $(LUA_HOST)/*.d)
