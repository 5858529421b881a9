-- The test archive's init.lua (tests/run.py boots lua-root.elf with this
-- archive as "scripts"): runs LPeg's own test suite (lpeg-test.lua, put
-- into the archive at build time from the dependency cache), the tests of
-- the l4 bindings (bindings*.lua) and smoke.lua, prints "ok <name>" /
-- "FAIL <name>: <why>" per case and the summary line "ktest: N passed,
-- M failed", then ends QEMU with the status.
local passed, failed = 0, 0

local function run(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    passed = passed + 1
    if err ~= "printed" then print("ok " .. name) end
  else
    failed = failed + 1
    print(("FAIL %s: %s"):format(name, tostring(err)))
  end
end

-- LPeg's suite prints as it goes and raises an error on the first failure.
run("lpeg_own_test_suite", function() dofile("lpeg-test.lua") end)

-- tests/scripts/, packed as a user's `make SCRIPTS=folder` is: its .lua
-- files under user/, nothing else; package.path looks there first.
run("scripts_folder", function()
  local m = require "mymod.deep"
  assert(m.where == "tests/scripts/mymod/deep.lua" and m.name == "mymod.deep", m.where)
  assert(package.searchpath("mymod.deep", package.path) == "user/mymod/deep.lua")
  assert(dofile("user/userscript.lua") == "userscript ran")
  assert(io.open("userscript.lua") == nil, "a file of SCRIPTS was packed at the root")
  assert(io.open("user/notes.txt") == nil, "a non-.lua file of SCRIPTS was packed")
  assert(io.open("user/.hidden/skip.lua") == nil, "a hidden folder of SCRIPTS was packed")
end)

-- The bindings' tests come before smoke.lua, whose last case takes all of
-- sigma0's memory.
for _, m in ipairs{"bindings", "bindings_ipc", "bindings_dev", "drivers"} do
  for _, c in ipairs(require(m)) do run(c[1], c[2]) end
end

-- Allocation failure at each allocation of every l4 function that
-- allocates: a memory error and nothing held after (tests/lua/memerr.lua).
for _, c in ipairs(require "memerr") do run(c[1], c[2]) end

-- Lua tasks (l4.task): before smoke.lua too, as they need memory.
for _, c in ipairs(require "tasks") do run(c[1], c[2]) end
-- Task numbers taken in turn, past 2048; everything after runs at such
-- numbers (tests/lua/task_numbers.lua).
for _, c in ipairs(require "task_numbers") do run(c[1], c[2]) end

-- Random calls of every binding from a task; resource exhaustion.
for _, c in ipairs(require "fuzz") do run(c[1], c[2]) end

-- Threads of this task that run Lua (l4.thread.create).
for _, c in ipairs(require "threads") do run(c[1], c[2]) end
for _, c in ipairs(require "console_out") do run(c[1], c[2]) end
for _, c in ipairs(require "console_keeps") do run(c[1], c[2]) end
for _, c in ipairs(require "thread_control") do run(c[1], c[2]) end

-- The debugger (scripts/debugger.lua) against a task and a root thread.
for _, c in ipairs(require "debugger_test") do run(c[1], c[2]) end

-- The Lua pager (scripts/pager_zero.lua) with a C and a task client.
for _, c in ipairs(require "pager") do run(c[1], c[2]) end

-- The file service (scripts/files.lua) and io.open for writing over it.
for _, c in ipairs(require "files_test") do run(c[1], c[2]) end
-- The same service on a disk in memory (an ext4 image, scripts/ramdisk.lua).
for _, c in ipairs(require "files_disk") do run(c[1], c[2]) end

-- The ext2 module (bindings/ext2.c) on images in memory (tests/lua/
-- ramdisk.lua, scripts/), made by the host's mke2fs; the host runs the same cases
-- with 1,000 damaged images and e2fsck after (tests/run.py "storage").
do
  local images = {}
  for _, kind in ipairs{"ext2", "ext4"} do
    local f = assert(io.open(kind .. ".img", "rb"))
    images[kind] = f:read("a")
    f:close()
  end
  for _, c in ipairs(require("ext2_cases")(images, {damaged = 50})) do run(c[1], c[2]) end
end

-- Services: the framework, the name service, the supervisor, hot reload
-- (scripts/service.lua, names.lua, supervisor.lua; tests/lua/services.lua).
for _, c in ipairs(require "services") do run(c[1], c[2]) end
-- Allocation failure in the clients of the services, the name and file
-- services and the console: after services.lua, whose servers it calls
-- (tests/lua/memerr_services.lua).
for _, c in ipairs(require "memerr_services") do run(c[1], c[2]) end
-- The pager as a memory-policy service, reloaded while it serves
-- (tests/lua/pager_service.lua; after services: it uses the name service).
for _, c in ipairs(require "pager_service") do run(c[1], c[2]) end
-- Fault isolation: a service crashed each way is restarted, the others
-- keep answering (tests/lua/isolation.lua).
for _, c in ipairs(require "isolation") do run(c[1], c[2]) end
-- Every core component comes back with what it held: plain plan entries,
-- the supervisor's guard, names, files, sched, pager (tests/lua/comeback.lua).
for _, c in ipairs(require "comeback") do run(c[1], c[2]) end

-- compare.lua prints "cmp| ..." lines that tests/run.py compares with the
-- host's lua5.4 running the same file. After the bindings' tests (its
-- garbage upsets l4_id_weak's heap accounting), before smoke.lua.
run("compare_with_host_ran", function() dofile("compare.lua") end)

-- Precompiled chunks: loading an archive file gives what compiling it
-- gives (tests/lua/luac.lua). After the bindings' tests too (the modules
-- it loads leave garbage), before smoke.lua.
for _, c in ipairs(require "luac") do run(c[1], c[2]) end

for _, c in ipairs(require "smoke") do run(c[1], c[2]) end

print(("ktest: %d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
