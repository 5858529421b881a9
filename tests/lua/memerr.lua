-- Allocation failure in every l4 function that allocates, in the spirit
-- of Lua's testes/memerr.lua: each function runs with this state's
-- allocations failing after n of them (l4.debug.alloc_limit), for n = 0,
-- 1, 2, ... until a run gets through. Every run that fails must raise
-- Lua's "not enough memory" (nothing else, no crash), and after it, with
-- the garbage collected, nothing may be left held: no pool page, task
-- record or kernel frame, no sigma0 memory, IRQ line or I/O port, no Lua
-- thread or task, no memory of this Lua state. The
-- resource a function takes comes first and its handle after
-- (docs/lua-api.md "Handles before resources"), so the failing runs take
-- nothing; a run that gets through takes the resource once.
local u = require "bindings_util"
local eq = u.eq
local cases, case = u.cases()

local m = require "memerr_util"
local NOMEM, snapshot, leaks, each_failure = m.NOMEM, m.snapshot, m.leaks, m.each_failure
local IRQ = 5                     -- a line nothing attaches in the test boot
local PORT, PORTS_LOG2 = 0x278, 3 -- LPT2's ports: nothing else takes them (sigma0
                                  -- hands ports out once: these are used up here)

-- Functions that take no resource: the failing runs leave nothing, the
-- last run returns what it should.
case("memerr_values", function()
  local echo = l4.debug.echo()
  assert(l4.sys.store_put("memerr/key", ("v"):rep(5000)))
  local calls = {
    {"l4.id", function() return l4.id(3, 4, 5) end},
    {"l4.id(raw)", function() return l4.id(0x123456) end},
    {"l4.self", function() return l4.self() end},
    {"l4.fpage", function() return l4.fpage(0x100000000000, 12, "rw") end},
    {"fpage:map_item", function() return l4.fpage(0x100000000000, 12):map_item(0) end},
    {"l4.map_item", function() return l4.map_item(0x100000000000, 12, "r", 0) end},
    {"l4.iofpage", function() return l4.iofpage(PORT, PORTS_LOG2) end},
    {"l4.call(echo)", function()
      local from, label, a, b = l4.call(echo, 7, 1, "two")
      return from == echo and label == 7 and a == 1 and b == "two"
    end},
    {"l4.set_buffers", function() return l4.set_buffers(2, 4096) end},
    {"l4.kip", function() return l4.kip.memory.regions[1].base end},
    {"l4.task.stats", function() return l4.task.stats().pool end},
    {"l4.task.list", function() return #l4.task.list() + 1 end},
    {"l4.thread.info", function() return l4.thread.info(l4.self()).state end},
    {"l4.sys.threads", function() return #l4.sys.threads() end},
    {"l4.sys.irqs", function() return #l4.sys.irqs() + 1 end},
    {"l4.sys.store_get", function() return l4.sys.store_get("memerr/key") == ("v"):rep(5000) end},
    {"l4.sys.store_list", function() return l4.sys.store_list("memerr/")["memerr/key"] end},
    {"l4.sys.archive", function() return l4.sys.archive()["memerr.lua"] end},
    {"l4.E", function() return l4.E.sigma0.etaken end},
  }
  local runs = 0
  for _, c in ipairs(calls) do
    local n, got = each_failure(c[1], {}, c[2])
    assert(got, c[1] .. " returned nothing")
    runs = runs + n
  end
  assert(l4.set_buffers(4, 64 << 10))     -- the defaults, for the tests after
  assert(l4.sys.store_remove("memerr/key"))
  assert(runs > #calls, ("only %d failing runs for %d functions"):format(runs, #calls))
  print(("ok memerr_values (%d functions, %d failing runs)"):format(#calls, runs))
  return "printed"
end)

-- l4.mem.alloc: sigma0's RAM is taken by the run that gets through only.
case("memerr_mem_alloc", function()
  local before
  local n, m = each_failure("l4.mem.alloc", {after = function(m) m:unmap() end,
                                             measure = function()
    before = before or l4.mem.available()
    return l4.mem.available()
  end}, l4.mem.alloc, 12)
  assert(n > 0, "l4.mem.alloc made no allocation to fail")
  eq(getmetatable(m).__name, "l4.mem")
  m:write32(0, 0x1234)
  eq(m:read32(0), 0x1234)
  m:unmap()
  eq(before - l4.mem.available(), 4096, "bytes taken from sigma0 by all the runs")
end)

case("memerr_mem_map_phys", function()
  local n, m = each_failure("l4.mem.map_phys", {after = function(m) m:unmap() end},
                            l4.mem.map_phys, 0xba000, 12)
  assert(n > 0)
  eq(m:phys(), 0xba000)
  m:unmap()
end)

-- l4.irq.attach: a failed run holds no line, and the next attach works
-- at once (not only once the lost handle is collected); the handle of
-- the run that got through holds it.
case("memerr_irq_attach", function()
  local function line_held()
    for _, i in ipairs(l4.sys.irqs()) do
      if i.line == IRQ then return true end
    end
    return false
  end
  local function again()
    local h, why = l4.irq.attach(IRQ)
    if getmetatable(h) == nil or getmetatable(h).__name ~= "l4.irq" then
      return ("attach gave %s, %s"):format(tostring(h), tostring(why))
    end
    h:detach()
  end
  local n, h = each_failure("l4.irq.attach", {measure = line_held, again = again,
                                              after = function(h) h:detach() end},
                            l4.irq.attach, IRQ)
  assert(n > 0)
  eq(tostring(h), ("irq %d (attached)"):format(IRQ))
  assert(line_held(), "the line is not attached")
  assert(rawequal(l4.irq.attach(IRQ), h), "attached already: the same handle")
  assert(h:detach())
  assert(not line_held(), "detached, but the kernel has it attached")
  local again <close> = assert(l4.irq.attach(IRQ))    -- free for anyone again
end)

-- l4.io.request: ports go out once, to the run that got through.
case("memerr_io_request", function()
  local held = function() return l4.io.holds(PORT, 1 << PORTS_LOG2) end
  local n, ok = each_failure("l4.io.request", {measure = held, warm = false},
                             l4.io.request, PORT, PORTS_LOG2)
  eq(ok, true, "the request that got through")
  assert(held())
  u.fails("taken", 3, l4.io.request(PORT, PORTS_LOG2))
  assert(l4.unmap(l4.iofpage(PORT, PORTS_LOG2), nil, true))     -- given up again
  assert(not l4.io.holds(PORT, 1))
  assert(n >= 0)
end)

-- l4.thread.create: a failed run leaves no state and no thread running;
-- one that started the thread but could not push its id kills it.
case("memerr_thread_create", function()
  -- a thread that runs until killed: one left running shows
  local body = {code = "local a, b = ... assert(b == 'two') l4.sleep()", args = {1, "two"},
                stack = 64 << 10}
  local function stop(t)
    assert(l4.thread.kill(t))
    eq(u.wait_end(t), "killed")
  end
  -- kernel frames: a thread's stack slot keeps its mapping, and so the
  -- page tables under it, for the next thread of the slot (runtime.md
  -- "Threads"), and the slots are taken in turn: bounded, not a leak
  local base = snapshot()
  local skip = {kmem = true}
  local n, t = each_failure("l4.thread.create", {after = stop, skip = skip},
                            l4.thread.create, body)
  assert(n > 0)
  eq(l4.thread.status(t), "running")
  stop(t)
  local bad
  u.wait_for(2000, function() bad = leaks(base, snapshot(), skip); return not bad end)
  assert(not bad, bad)
  local now = snapshot()
  assert(u.near(base.kmem, now.kmem, now.klimit), ("kernel frames %d -> %d"):format(base.kmem, now.kmem))
end)

-- l4.task.spawn: a failed run spawns nothing, or deletes what it spawned.
case("memerr_task_spawn", function()
  local n, id = each_failure("l4.task.spawn", {after = function(id) l4.task.delete(id) end},
    l4.task.spawn, {script = "exhaust.lua", args = {"idle"}, memcap = 1 << 20, name = "memerr"})
  assert(n > 0)
  eq(l4.task.info(id).state, "running")
  assert(l4.task.delete(id))
  u.fails("no such task", 3, l4.task.info(id))
end)

return cases
