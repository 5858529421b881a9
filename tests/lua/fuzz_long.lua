-- The init.lua of make fuzz-lua's boot (tests/fuzz/lua_run.py): the Lua
-- fuzz of the l4 table (fuzz_l4.lua, which make test runs for 4,000 calls
-- in lua.fuzz_l4_bindings_from_a_task) for many seeds and many calls: one
-- hostile task per seed, one after the other. After each, whatever it
-- did: the task ended with status 0 (every call came back), the mapping
-- database is consistent, the kernel's self-check passes, the root and
-- the pager still serve (a child task runs and ends), and the kernel
-- frames and the pool's pages in use are back where they were (within
-- 1%). The seeds and calls come from fuzz_long_conf.lua, which the
-- Makefile writes. Prints "ok fuzz_lua.seed_<seed> ..." per seed, the
-- totals, "ktest: N passed, M failed", and ends QEMU with the status.
local l4 = require "l4"
local T = l4.task
local u = require "bindings_util"
local conf = require "fuzz_long_conf"

local passed, failed, total, t_all = 0, 0, 0, l4.clock()

local function one(seed)
  collectgarbage(); collectgarbage()
  local before = u.usage()
  local t0 = l4.clock()
  local id = assert(T.spawn{script = "fuzz_l4.lua", args = {seed, conf.calls, false},
                            memcap = 16 << 20})
  -- a generous limit: 100,000 calls take some minutes of guest time
  local how, st = T.wait(id, conf.calls * 20)
  if how ~= "exited" then T.delete(id) end
  assert(how == "exited" and st == 0, ("the fuzzing task ended %s %s"):format(how, tostring(st)))
  T.delete(id)
  assert(l4.debug.mdb_check(), "the mapping database is inconsistent")
  local child = assert(T.spawn{script = "fuzz_l4_child.lua", args = {}, memcap = 1 << 20})
  assert(T.wait(child, 10000) == "exited", "a task could not run after the fuzzer")
  T.delete(child)
  for _, t in ipairs(T.list()) do              -- what the fuzzer spawned is the root's now
    if t.id ~= l4.self() and t.name ~= "names" then T.delete(t.id) end
  end
  local after
  u.wait_for(2000, function()
    after = u.usage()
    return u.near(before.kmem, after.kmem, after.klimit) and u.near(before.used, after.used, after.pool)
  end)
  assert(u.near(before.kmem, after.kmem, after.klimit),
         ("kernel frames %d -> %d"):format(before.kmem, after.kmem))
  assert(u.near(before.used, after.used, after.pool),
         ("pool pages in use %d -> %d"):format(before.used, after.used))
  return l4.clock() - t0
end

for _, seed in ipairs(conf.seeds) do
  local ok, r = pcall(one, seed)
  if ok then
    passed = passed + 1
    total = total + conf.calls
    print(("ok fuzz_lua.seed_%x: %d calls in %d ms of guest time"):format(seed, conf.calls, r // 1000))
  else
    failed = failed + 1
    print(("FAIL fuzz_lua.seed_%x: %s"):format(seed, tostring(r)))
  end
end
local ms = (l4.clock() - t_all) // 1000
print(("fuzz-lua: %d calls over %d seeds in %d ms of guest time (%d calls/s)")
      :format(total, #conf.seeds, ms, ms > 0 and total * 1000 // ms or 0))
print(("ktest: %d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
