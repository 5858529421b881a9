-- A Lua task for tests/lua/bindings.lua: the debug operations that are
-- the root's (kernel/kdebug.h) refuse a task that is not; the bounded
-- ones answer it. Exits 0 if all went as expected.
local function refused(what, ok, msg, code)
  assert(ok == nil and msg == "not permitted" and code == l4.E.eperm,
         ("%s: want nil, not permitted, %d; got %s, %s, %s"):format(what, l4.E.eperm,
         tostring(ok), tostring(msg), tostring(code)))
end
refused("mdb_check", l4.debug.mdb_check())
refused("kcheck", l4.debug.kcheck())
refused("raise_irq", l4.debug.raise_irq(5))
refused("rtc_irq", l4.debug.rtc_irq(true))
refused("irq.grant", l4.irq.grant(5, nil))
local used, limit = l4.debug.kmem()
assert(used > 0 and limit >= used, "kmem answers every task")
