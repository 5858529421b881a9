-- The l4 table (bindings/, docs/lua-api.md): thread ids, flexpages, the
-- KIP, threads, the debug calls. IPC is in bindings_ipc.lua, interrupts,
-- ports and memory in bindings_dev.lua.
local u = require "bindings_util"
local eq, fails, raises = u.eq, u.fails, u.raises
local cases, case = u.cases()

case("l4_loaded", function()
  eq(type(l4), "table")
  eq(require "l4", l4, "require 'l4' gives the global")
  for _, k in ipairs{"thread", "irq", "io", "mem", "debug", "kip"} do
    eq(type(l4[k]), "table", "l4." .. k)
  end
end)

case("l4_id", function()
  local me = l4.self()
  eq(me.task, 2); eq(me.lthread, 0); eq(math.type(me.version), "integer")
  eq(tostring(me), ("2.0.%04x"):format(me.version))
  local id = l4.id(0x12, 0x34, 0x5678)
  eq(tostring(id), "12.34.5678")
  eq(id.task, 0x12); eq(id.lthread, 0x34); eq(id.version, 0x5678)
  eq(id.raw, 0x12345678)
  eq(id.nosuchfield, nil)
  eq(l4.id(0x12345678), id, "from the raw value")
  assert(rawequal(l4.id(2, me.lthread, me.version), me), "interned: the same userdata")
  eq(l4.id(2, me.lthread, me.version) == me, true)
  eq(l4.id(2, 0, 2) ~= me, true)
  eq(tostring(l4.nilthread), "nilthread"); eq(l4.nilthread.raw, 0)
  eq(tostring(l4.anythread), "anythread"); eq(l4.anythread.raw, -1)
  eq(l4.id(0, 0, 0), l4.nilthread)
  local irq = l4.irq_id(5)
  eq(tostring(irq), "irq 5"); eq(irq.irq, 5); eq(irq.raw, 6); eq(me.irq, nil)
  -- ids as table keys
  local t = {[me] = "me", [l4.kip.sigma0] = "s0"}
  eq(t[l4.self()], "me"); eq(t[l4.id(1, 0, l4.kip.sigma0.version)], "s0")
end)

case("l4_id_misuse", function()
  raises({"bad argument #1", "task 4096 out of range"}, l4.id, 4096, 0, 0)
  raises({"bad argument #2", "lthread 256 out of range"}, l4.id, 1, 256, 0)
  raises({"bad argument #3", "version -1 out of range"}, l4.id, 1, 0, -1)
  raises({"bad argument #3", "number expected, got no value"}, l4.id, 1, 0)
  raises({"bad argument #1", "not a thread id"}, l4.id, 1 << 40)
  raises({"bad argument #1", "IRQ 16 out of range"}, l4.irq_id, 16)
  raises({"bad argument #1", "l4.id expected, got number"}, l4.send, 5, 0)
end)

case("l4_id_weak", function()
  -- interned ids are collected when unused: after the first round the
  -- intern table has its size, and further rounds add nothing
  local function round(from)
    for v = from, from + 4999 do local _ = l4.id(3, 1, v) end
    collectgarbage(); collectgarbage()
    return collectgarbage("count")
  end
  local base = round(1)
  for r = 1, 3 do
    local now = round(r * 5000 + 1)
    assert(now - base < 16, ("round %d: ids not collected (%.1f KiB more)"):format(r, now - base))
  end
end)

case("l4_nearest", function()
  local near, kind = l4.nearest(l4.kip.sigma0)
  eq(near, l4.kip.sigma0); eq(kind, "same")
  fails("no such thread", 21, l4.nearest(l4.id(77, 0, 1)))
end)

case("l4_fpage", function()
  local f = l4.fpage(0x200000, 21, "rw")
  eq(f.base, 0x200000); eq(f.size, 0x200000); eq(f.log2, 21)
  eq(f.rights, "rw"); eq(f.is_io, false)
  eq(tostring(f), "fpage(0x200000, 2^21, rw-)")
  eq(f, l4.fpage(0x200000, 21, "wr"), "__eq by value")
  eq(f == l4.fpage(0x200000, 21, "r"), false)
  eq(l4.fpage(0x1000, 12).rights, "rwx", "default rights")
  eq(l4.fpage(0x1000, 12, "").rights, "")
  eq(l4.fpage(0, 47).size, 1 << 47, "the whole space")
  local io = l4.iofpage(0x3f8, 3)
  eq(io.base, 0x3f8); eq(io.size, 8); eq(io.is_io, true); eq(io.rights, "")
  eq(tostring(io), "iofpage(0x3f8, 2^3)")
  eq(tostring(f:map_item(0x7000)), "map item of fpage(0x200000, 2^21, rw-) at 0x7000")
  eq(tostring(f:grant_item()), "grant item of fpage(0x200000, 2^21, rw-) at 0x200000")
  eq(tostring(l4.fpage(0x3000, 12):map_item(0x5123)),
     "map item of fpage(0x3000, 2^12, rwx) at 0x5000", "send base rounded to its page")
  -- l4.map_item: the same item without the fpage
  eq(tostring(l4.map_item(0x200000, 21, "rw", 0x7000)), tostring(f:map_item(0x7000)))
  eq(tostring(l4.map_item(0x3000, 12, nil, 0x5123)),
     "map item of fpage(0x3000, 2^12, rwx) at 0x5000", "default rights; send base rounded")
  eq(tostring(l4.map_item(0x3000, 12, "r")), "map item of fpage(0x3000, 2^12, r--) at 0x3000",
     "default send base")
end)

case("l4_fpage_misuse", function()
  raises({"bad argument #1", "base 0x201000 not aligned to its size 2^21"},
         l4.fpage, 0x201000, 21)
  raises({"bad argument #2", "log2 size 11 out of range (12 to 47)"}, l4.fpage, 0, 11)
  raises({"bad argument #3", "rights must be letters of \"rwx\""}, l4.fpage, 0, 12, "rq")
  raises({"bad argument #3", "each once"}, l4.fpage, 0, 12, "rr")
  raises({"bad argument #1", "beyond user memory"}, l4.fpage, 0x7ffe00000000, 12)
  raises({"bad argument #1", "beyond user memory"}, l4.fpage, 1 << 46, 46)
  raises({"bad argument #1", "port 0x3f9 not aligned"}, l4.iofpage, 0x3f9, 3)
  raises({"bad argument #2", "log2 count 17 out of range"}, l4.iofpage, 0, 17)
  raises({"bad argument #1", "port 65536 out of range"}, l4.iofpage, 0x10000, 0)
  raises({"bad argument #1", "l4.fpage expected"}, l4.unmap, 5)
  raises({"bad argument #1", "base 0x201000 not aligned to its size 2^21"},
         l4.map_item, 0x201000, 21, "rw", 0)
  raises({"bad argument #3", "rights must be letters"}, l4.map_item, 0, 12, "rq", 0)
  raises({"bad argument #4", "number expected"}, l4.map_item, 0x1000, 12, "r", "x")
  raises({"bad argument #2", "invalid option 'erase'"}, l4.unmap, l4.fpage(0, 12), "erase")
  raises({"bad argument #1", "must lie in"}, l4.unmap, l4.fpage(0x200000000, 12), "flush", true)
end)

case("l4_unmap", function()
  -- nothing mapped there: a no-op that succeeds; flush and read-only
  local f = l4.fpage(0x100000000000, 20)
  eq(l4.unmap(f), true)
  eq(l4.unmap(f, "readonly"), true)
  eq(l4.unmap(f, "flush", true), true)
  eq(l4.unmap(f, true), true)
  -- the heap without own: nothing was mapped on from it, nothing changes
  eq(l4.unmap(l4.fpage(0x200000000, 22), "readonly"), true)
  local t = {}; for i = 1, 1000 do t[i] = i end   -- the heap is still writable
  eq(#t, 1000)
end)

case("l4_kip", function()
  local k = l4.kip
  eq(k.version, 1); eq(k.page_size, 4096); eq(k.tick_us, 1000)
  eq(k.root, l4.self(), "the root task's first thread is me")
  assert(rawequal(k.root, l4.self()))
  eq(k.sigma0.task, 1)
  assert(k.memory.total > 0 and k.memory.kernel_pool > 0 and k.memory.sigma0 > 0)
  assert(k.memory.total >= k.memory.sigma0 + k.memory.kernel_pool // 2)
  assert(k.memory.phys_end >= 1 << 32)
  assert(#k.memory.regions >= 2)
  for _, r in ipairs(k.memory.regions) do
    assert(r.type == "sigma0" or r.type == "kernel", r.type)
    eq(r.base % 4096, 0); assert(r.size > 0)
  end
  eq(k.scripts.base, 0x100000000); assert(k.scripts.size > 0)
  local c0 = k.clock
  eq(math.type(c0), "integer")
  assert(c0 > 0 and math.abs(l4.clock() - c0) < 1000000)
  eq(l4.sleep(3), true)
  assert(k.clock - c0 >= 2000, "the clock did not advance while sleeping 3 ms: " ..
         (k.clock - c0))
  -- the timer measures the TSC's rate in the boot's first 12 ms; under
  -- icount shift=0 the TSC counts 1,000 per microsecond
  while k.clock < 20000 do l4.sleep(1) end
  local r = k.tsc_per_us
  assert(math.type(r) == "integer" and r >= 990 and r <= 1010, "tsc_per_us " .. tostring(r))
end)

case("l4_thread_schedule", function()
  local prio, slice, cpu, state, partner = l4.thread.schedule(l4.self())
  eq(math.type(prio), "integer"); eq(slice, 10000)
  assert(cpu > 0); eq(state, "ready"); eq(partner, nil)
  -- set and restore the timeslice; the old values come back
  eq(select(2, l4.thread.schedule(l4.self(), nil, 5000)), 10000)
  eq(select(2, l4.thread.schedule(l4.self(), prio, 10000)), 5000)
  local echo = l4.debug.echo()
  l4.call(echo, 1)                         -- it has run, and waits again
  local _, _, _, st, p = l4.thread.schedule(echo)
  eq(st, "receiving"); eq(p, l4.anythread, "open receive")
  fails("no such thread", 21, l4.thread.schedule(l4.id(2, 200, 1)))
  fails("not permitted", 22, l4.thread.schedule(l4.kip.sigma0))
  raises({"bad argument #2", "priority 256 out of range"}, l4.thread.schedule, l4.self(), 256)
  raises({"bad argument #3", "timeslice (us) 99 out of range"},
         l4.thread.schedule, l4.self(), nil, 99)
  raises({"bad argument #1", "l4.id expected"}, l4.thread.schedule)
end)

case("l4_thread_switch", function()
  eq(l4.thread.switch(), true)
  eq(l4.thread.switch(l4.debug.echo()), true)
  fails("no such thread", 21, l4.thread.switch(l4.id(2, 200, 1)))
  raises({"bad argument #1", "l4.id expected"}, l4.thread.switch, "x")
end)

case("l4_debug", function()
  local used, limit = l4.debug.kmem()
  assert(used > 0 and limit >= used, used .. "/" .. limit)
  eq(l4.debug.mdb_check(), true)
  eq(l4.debug.kcheck(), true)
  raises({"bad argument #1", "IRQ 0 out of range (1 to 15)"}, l4.debug.raise_irq, 0)
  raises({"bad argument #1", "boolean expected"}, l4.debug.rtc_irq, 1)
end)

case("l4_debug_root_only", function()
  -- a Lua task that is not the root: refused what would walk every
  -- mapping or is the test kernel's (tests/lua/kdebug_child.lua)
  local id = assert(l4.task.spawn{script = "kdebug_child.lua"})
  local how, status = l4.task.wait(id, 10000)
  l4.task.delete(id)
  eq(how, "exited", "kdebug_child: " .. tostring(status))
  eq(status, 0)
end)

return cases
