-- Reliability from Lua (docs/reliability.md): random calls of every l4
-- binding from a Lua task (fuzz_l4.lua), and resource exhaustion by a Lua
-- task (exhaust.lua): it gets an error when its quota or the pool runs
-- out, the system stays usable meanwhile, and the memory comes back when
-- it is deleted (free pool pages and kernel pool within 1% of before).
local l4 = require "l4"
local T = l4.task

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

local FUZZ_SEED, FUZZ_CALLS = 0x4c75, 4000
local VERBOSE_FUZZ = false

local function spawn(script, args, memcap)
  local id, msg, code = T.spawn{script = script, args = args, memcap = memcap}
  assert(id, ("spawn %s: %s (%s)"):format(script, msg, code))
  return id
end

case("fuzz_l4_bindings_from_a_task", function()
  local id = spawn("fuzz_l4.lua", {FUZZ_SEED, FUZZ_CALLS, VERBOSE_FUZZ}, 16 << 20)
  local how, st = T.wait(id, 150000)
  assert(how == "exited" and st == 0, ("the fuzzing task ended %s %s"):format(how, st))
  assert(l4.debug.mdb_check(), "mapping database inconsistent after the Lua fuzz")
  -- the root and the pager still serve
  local id2 = spawn("fuzz_l4_child.lua", {}, 1 << 20)
  assert(T.wait(id2, 10000) == "exited")
end)

local function near(a, b, total) return math.abs(a - b) <= math.max(1, total // 100) end

-- A task hogs one resource until refused; meanwhile the root still does
-- IPC and (unless task slots are what ran out) another task starts and
-- ends; deleting the hog gives everything back. Run twice: the first
-- run grows the pager's pool (kept for reuse, docs/runtime.md), the
-- second is measured: pages in use and kernel frames as before, within 1%.
local function hog(mode, memcap)
  collectgarbage()
  local st0, kmem0 = T.stats(), l4.debug.kmem()
  local id = spawn("exhaust.lua", {mode, l4.self().raw}, memcap)
  local from, label, n, why = l4.receive(id, {timeout = 100000})
  assert(from, ("the %s hog did not report: %s"):format(mode, tostring(label)))
  assert(n > 0 and why ~= "no limit met", why)
  local _, _, echoed = l4.call(l4.debug.echo(), {timeout = 1000}, 1, 42)
  assert(echoed == 42, "the root's IPC failed while the hog held everything")
  if mode ~= "tasks" then
    local other = spawn("fuzz_l4_child.lua", {}, 1 << 20)
    local how = T.wait(other, 20000)
    assert(how == "exited", "a task could not run while the hog held everything: " .. tostring(how))
  end
  T.delete(id)
  for _, t in ipairs(T.list()) do      -- the tasks the hog spawned are the root's
    if t.name == "exhaust-idle" then T.delete(t.id) end
  end
  for _, t in ipairs(T.list()) do if t.state ~= "running" then T.delete(t.id) end end
  collectgarbage()
  local st1, kmem1 = T.stats(), l4.debug.kmem()
  return n, why, st0.pool - st0.free - st0.arenas, st1.pool - st1.free - st1.arenas, st1.pool,
    kmem0, kmem1
end

local function exhaust(mode, memcap)
  hog(mode, memcap)
  local n, why, used0, used1, pool, kmem0, kmem1 = hog(mode, memcap)
  print(("  %s: %d taken, then refused: %s; pool pages in use %d before, %d after (of %d); "
    .. "kernel frames %d before, %d after"):format(mode, n, why, used0, used1, pool, kmem0, kmem1))
  assert(near(used1, used0, pool), "pool pages not given back")
  local _, limit = l4.debug.kmem()
  assert(near(kmem1, kmem0, limit), "kernel pool frames not given back")
  assert(l4.debug.mdb_check())
end

case("exhaust_lua_threads", function() exhaust("threads", 64 << 20) end)
case("exhaust_tasks", function() exhaust("tasks", 8 << 20) end)
case("exhaust_heap", function() exhaust("heap", 8 << 20) end)

return cases
