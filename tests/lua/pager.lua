-- The demand-zero pager written in Lua (scripts/pager_zero.lua, put into
-- the test archive as pager_zero.lua) serving real clients:
--  * a C thread of this task (l4.debug.fault, lthread 254) whose pager is
--    this thread;
--  * the same C thread started inside a spawned Lua task, with this thread
--    as its pager: a client in another address space;
--  * a Lua task whose pager is this thread (l4.task.spawn{pager = ...}):
--    the faults of its runtime (text, data, heap, stack) are forwarded to
--    the root's C pager (pager_zero.runtime_forward, l4.task.resolve), its
--    C thread's faults in the pager's region are served with a quota.
-- Returns the cases in order, {name, function}; init.lua runs them.
local l4 = require "l4"
local pager_zero = require "pager_zero"
local DONE = l4.debug.FAULT_DONE

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

local function eq(got, want, what)
  if got ~= want then
    error(("%s: got %s, want %s"):format(what or "value", tostring(got), tostring(want)), 2)
  end
end

-- run() until the faulting thread reports: its FAULT_DONE message.
local function until_done(p)
  return p:run(function(from, label) return label == DONE end)
end

case("pager_zero_c_client", function()
  local base = l4.mem.reserve(16)          -- 16 pages of address space
  local p = pager_zero.new{quota = 2, lo = base, hi = base + (1 << 16), timeout = 1000}
  local me = l4.self().task
  -- a read of a fresh page: zero
  local t = assert(l4.debug.fault(base + 0x18))
  local from, label, value = until_done(p)
  eq(from, t); eq(label, DONE); eq(value, 0, "a demand-zero page reads 0")
  eq(p:used(me), 1); eq(p.served, 1)
  -- a write, then the read back, on a second page
  assert(l4.debug.fault(base + 0x1000, 0x5a5a))
  from, label, value = until_done(p)
  eq(label, DONE); eq(value, 0x5a5a, "it wrote and read its page")
  eq(p:used(me), 2)
  -- the same pages again cost nothing (they are mapped: no fault at all)
  assert(l4.debug.fault(base + 0x20))
  from, label, value = until_done(p)
  eq(label, DONE); eq(value, 0); eq(p.served, 2)
  -- a third page is beyond the quota: the fault is not answered
  assert(l4.debug.fault(base + 0x2000))
  from, label, value = until_done(p)
  eq(from, nil, "run ends by its receive timeout"); eq(label, "timeout")
  eq(p.refused, 1); eq(p.last_refused[3], "quota"); eq(p.last_refused[2], base + 0x2000)
  eq(select(4, l4.thread.schedule(t)), "receiving", "the client waits in its fault")
  -- outside the region: not answered either
  assert(l4.debug.fault(0x7e0000000000))              -- restarts the thread
  eq(until_done(p), nil); eq(p.last_refused[3], "outside")
  -- giving the pages back makes room: zeroed, served again
  eq(p:release(me), 2)
  eq(#p.free, 2)
  assert(l4.debug.fault(base + 0x2000))
  from, label, value = until_done(p)
  eq(label, DONE); eq(value, 0, "a page given back is zero again")
  eq(p:release(me), 1)
  eq(l4.debug.mdb_check(), true)
end)

case("pager_zero_pool", function()
  -- a pool taken before any fault: whole chunks, the lowest page first,
  -- and faults take from it without asking sigma0 again
  local base = l4.mem.reserve(16)
  local p = assert(pager_zero.new{quota = 8, lo = base, hi = base + (1 << 16),
                                  timeout = 1000, chunk_log2 = 14, pool = 5})
  eq(#p.chunks, 2, "chunks of 4 pages for 5 pages"); eq(#p.free, 8, "pages ready")
  local lowest = p.chunks[1]:base()
  eq(p.free[#p.free], lowest, "the lowest page comes first")
  assert(l4.debug.fault(base, 0x77))
  local from, label, value = until_done(p)
  eq(label, DONE); eq(value, 0x77); eq(#p.free, 7); eq(#p.chunks, 2, "no new chunk")
  eq(p:backing(l4.self().task, base), lowest)
  eq(p:backing(l4.self().task, base + 4096), nil)
  eq(p:release(l4.self().task), 1)
  -- p:grow takes more at once
  assert(p:grow(1)); eq(#p.chunks, 3); eq(#p.free, 12)
end)

case("pager_zero_task_client", function()
  local base = l4.mem.reserve(16)
  local p = pager_zero.new{quota = 1, lo = base, hi = base + (1 << 16), timeout = 2000}
  local id = assert(l4.task.spawn{script = "task_child.lua",
    args = {"paged", l4.self().raw, base + 0x100, 0x77, base + 0x1000}})
  -- the task's fault thread: a write+read of a zero page in that task
  local from, label, value = until_done(p)
  eq(label, DONE, "the task's thread reported"); eq(from.task, id.task)
  eq(value, 0x77)
  eq(p:used(id.task), 1)
  -- next: a second page, beyond its quota of 1
  assert(l4.send(id, 1))
  eq(until_done(p), nil, "not answered")
  eq(p.last_refused[3], "quota"); eq(p.last_refused[1].task, id.task)
  eq(p.last_refused[2], base + 0x1000)
  assert(l4.send(id, 2))                   -- the task may end now
  eq(l4.task.wait(id, 2000), "exited")
  eq(p:release(id.task), 1)
  eq(l4.debug.mdb_check(), true)
end)

case("pager_zero_lua_task", function()
  local base = l4.mem.reserve(16)
  local p = pager_zero.new{quota = 2, lo = base, hi = base + (1 << 16), timeout = 3000,
                           forward = pager_zero.runtime_forward}
  local id = assert(l4.task.spawn{script = "task_child.lua", pager = l4.self(),
                                  name = "lua-paged", args = {"lua_paged", l4.self().raw, base}})
  -- One step of the task: serve (and forward) faults until its C thread
  -- reported (FAULT_DONE: the word it read) and its main thread asks to
  -- go on (a call, answered after the checks). -> the word, or nil if
  -- run() timed out first.
  local done, waiting
  local function other(from, label, a)
    if label == DONE then done = a elseif label == 10 then waiting = from end
    return done ~= nil and waiting ~= nil
  end
  local function step()
    done, waiting = nil, nil
    return p:run(other) and done
  end
  -- its runtime starts through this pager (forwarded), then its thread
  -- writes and reads the first page of the region
  eq(step(), 0x55, "the first page")
  assert(p.forwarded > 20, "faults forwarded " .. p.forwarded)
  eq(p:used(id.task), 1)
  assert(l4.reply(waiting, 0))
  eq(step(), 0x66, "the second page"); eq(p:used(id.task), 2)
  assert(l4.reply(waiting, 0))
  -- the third page is beyond its quota: not answered, the task waits
  eq(step(), nil, "not answered")
  eq(p.last_refused[3], "quota"); eq(p.last_refused[2], base + 0x2000)
  local i = l4.task.info(id)
  eq(i.state, "running"); eq(i.name, "lua-paged")
  assert(i.pages > 10, "private pages " .. i.pages)
  assert(l4.task.delete(id) > 0)
  eq(p:release(id.task), 2)
  eq(l4.debug.mdb_check(), true)
end)

return cases
