-- Interrupts, I/O ports and device memory through the l4 table
-- (bindings/irq.c, io.c, mem.c).
local u = require "bindings_util"
local eq, fails, raises = u.eq, u.fails, u.raises
local cases, case = u.cases()

case("irq_attach_wait_detach", function()
  local h = assert(l4.irq.attach(9))
  eq(tostring(h), "irq 9 (attached)"); eq(h:line(), 9)
  assert(rawequal(l4.irq.attach(9), h), "attached already: the same handle")
  fails("timeout", 3, l4.irq.wait(9, 0))
  fails("timeout", 3, h:wait(2))
  eq(l4.debug.raise_irq(9), true)
  eq(l4.irq.wait(h, 100), true)
  eq(l4.debug.raise_irq(9), true)                -- the wait acknowledged it
  eq(h:wait(), true)
  eq(l4.irq.detach(9), true)
  eq(tostring(h), "irq 9 (detached)")
  raises({"bad argument #1", "IRQ 9 is not attached"}, l4.irq.wait, 9)
  raises("bad argument #1 to 'wait' (IRQ 9 is not attached (l4.irq.attach it first))",
         function() return l4.irq.wait(9) end)
  raises("IRQ 9 is not attached", function() return h:detach() end)
  fails("taken or not attachable", 1, l4.irq.attach(0))
  fails("taken or not attachable", 1, l4.irq.attach(2))
  raises({"bad argument #1", "IRQ 16 out of range"}, l4.irq.attach, 16)
  raises({"bad argument #1", "number expected"}, l4.irq.attach, "x")
end)

case("irq_open_receive", function()
  local h = assert(l4.irq.attach(10))
  eq(l4.debug.raise_irq(10), true)
  local from, kind, n = l4.receive(nil, 100)
  eq(from, l4.irq_id(10)); eq(kind, "irq"); eq(n, 10)
  eq(l4.debug.raise_irq(10), true)               -- a closed receive from the IRQ id
  from, kind, n = l4.receive(l4.irq_id(10), 100)
  eq(from, l4.irq_id(10)); eq(kind, "irq"); eq(n, 10)
  eq(h:detach(), true)
end)

case("irq_close", function()
  do
    local h <close> = assert(l4.irq.attach(11))
    eq(l4.debug.raise_irq(11), true)
    eq(h:wait(100), true)
  end
  raises("IRQ 11 is not attached", l4.irq.wait, 11)
  local h = assert(l4.irq.attach(11), "free again")
  eq(h:detach(), true)
end)

case("irq_grant", function()
  -- l4.irq.grant: only the granted task's threads may attach the line
  -- (the device manager's hand-over of a driver's line)
  local LINE = 12
  local function child(ms)
    return assert(l4.task.spawn{script = "irq_grant_child.lua", args = {LINE, ms}})
  end
  local function tries(t)        -- the child's attach: 0 attached, 1 refused
    local from, l = l4.call(t, 1)
    assert(from, "no answer from the child: " .. tostring(l))
    return l
  end
  -- granted to the root: a task is refused, a root thread may
  eq(l4.irq.grant(LINE, l4.self()), true)
  local a = child()
  eq(tries(a), 1, "a task's attach of a line granted to the root")
  eq(l4.task.wait(a, 5000), "exited")
  local h = assert(l4.irq.attach(LINE)); eq(h:detach(), true)
  -- granted to task b: b attaches and gets the interrupt
  local b = child(5000)
  eq(l4.irq.grant(LINE, b), true)
  eq(tries(b), 0, "the granted task's attach")
  fails("taken or not attachable", 1, l4.irq.attach(LINE))   -- the root's, too, while b holds it
  eq(l4.debug.raise_irq(LINE), true)
  local how, status = l4.task.wait(b, 5000)
  eq(how, "exited"); eq(status, 0, "b got its interrupt")
  -- a task attached before the grant loses the line to it
  eq(l4.irq.grant(LINE, nil), true)
  local c = child(60000)
  eq(tries(c), 0, "any task's attach of a line not granted")
  local owner
  for _, r in ipairs(l4.sys.irqs()) do if r.line == LINE then owner = r.owner end end
  eq(owner and owner.task, c.task, "c holds the line")
  eq(l4.irq.grant(LINE, l4.self()), true)
  for _, r in ipairs(l4.sys.irqs()) do assert(r.line ~= LINE, "the grant detached c") end
  eq(l4.debug.raise_irq(LINE), true)         -- c's wait does not get it
  how, status = l4.task.wait(c, 200)
  eq(how, nil, "c still waits (for nothing)"); l4.task.delete(c)
  -- a deleted granted task's line goes back to the root
  local d = child()
  eq(l4.irq.grant(LINE, d), true)
  l4.task.delete(d)
  local e = child()
  eq(tries(e), 1, "a task after the granted one was deleted")
  eq(l4.task.wait(e, 5000), "exited")
  h = assert(l4.irq.attach(LINE)); eq(h:detach(), true)
  eq(l4.irq.grant(LINE, nil), true)
  fails("not attachable", 20, l4.irq.grant(0, nil))
  raises({"bad argument #1", "IRQ 16 out of range"}, l4.irq.grant, 16)
end)

case("irq_rtc", function()
  -- a real device interrupt: the CMOS RTC's periodic one (IRQ 8)
  local h = assert(l4.irq.attach(8))
  eq(l4.debug.rtc_irq(true), true)
  local ok, msg, code = h:wait(1000)
  eq(l4.debug.rtc_irq(false), true)
  eq(h:detach(), true)
  assert(ok, ("no RTC interrupt: %s %s"):format(tostring(msg), tostring(code)))
end)

case("io_ports", function()
  eq(l4.io.holds(0x3f8), false)
  raises({"I/O port 0x3ff is not held by this task"}, l4.io.inb, 0x3ff)
  eq(l4.io.request(0x3f8, 3), true)              -- COM1
  eq(l4.io.holds(0x3f8, 8), true); eq(l4.io.holds(0x3f8, 9), false)
  l4.io.outb(0x3ff, 0x5a)                        -- the scratch register
  eq(l4.io.inb(0x3ff), 0x5a)
  l4.io.outb(0x3ff, 0xa5)
  eq(l4.io.inb(0x3ff), 0xa5)
  eq(math.type(l4.io.inw(0x3fe)), "integer")
  eq(l4.io.inw(0x3fe) >> 8, 0xa5)
  l4.io.outw(0x3fe, 0x3400)                      -- the modem status register ignores it
  eq(l4.io.inb(0x3ff), 0x34)
  eq(l4.io.inl(0x3fc) >> 24, 0x34)
  -- ports in a message: echo maps them back (the same task: no change);
  -- taking mappings, ports too, needs a window
  local echo = l4.debug.echo()
  fails("map failed", 12, l4.call(echo, {receive = 100}, 1, l4.iofpage(0x3f8, 3)))
  local win = l4.fpage(l4.mem.reserve(12), 12)
  local from, label, fp = l4.call(echo, {window = win}, 1, l4.iofpage(0x3f8, 3))
  eq(from, echo); eq(fp, l4.iofpage(0x3f8, 3)); eq(fp.is_io, true)
  eq(l4.io.holds(0x3f8, 8), true)
  raises("I/O port 0x400 is not held", l4.io.inl, 0x3fe)
  raises("I/O port 0x400 is not held", l4.io.outw, 0x3ff, 0)
  raises("I/O port 0x60 is not held", l4.io.inb, 0x60)
  raises("I/O port 0x3f7 is not held", l4.io.outl, 0x3f7, 0)
  raises({"bad argument #2", "value 256 out of range (0 to 255)"}, l4.io.outb, 0x3ff, 256)
  raises({"bad argument #2", "value -1 out of range"}, l4.io.outl, 0x3f8, -1)
  raises({"bad argument #1", "port 65536 out of range"}, l4.io.inb, 65536)
  raises({"bad argument #1", "port 0x3f9 not aligned to its count 2^3"},
         l4.io.request, 0x3f9, 3)
  raises({"bad argument #2", "log2 count 17 out of range"}, l4.io.request, 0, 17)
  fails("taken", 3, l4.io.request(0x3f8, 3))
  fails("held by the kernel", 2, l4.io.request(0x20, 1))   -- the PIC
  fails("held by the kernel", 2, l4.io.request(0x40, 2))   -- the PIT
  -- giving them up: the record follows
  eq(l4.unmap(l4.iofpage(0x3f8, 3), "flush", true), true)
  eq(l4.io.holds(0x3f8), false)
  raises("I/O port 0x3ff is not held", l4.io.inb, 0x3ff)
  fails("taken", 3, l4.io.request(0x3f8, 3))     -- sigma0 hands ports out once
end)

case("mem_vga", function()
  local m = assert(l4.mem.map_phys(0xb8000, 12))
  eq(m:size(), 4096); eq(m:phys(), 0xb8000)
  assert(m:base() >= 0x100000000000 and m:base() < 0x200000000000, m:base())
  eq(tostring(m), ("mem(phys 0xb8000, 2^12 bytes at 0x%x)"):format(m:base()))
  m:write16(0, 0x0748)
  eq(m:read16(0), 0x0748)
  eq(m:read8(0), 0x48)
  m:write(2, "i\7!\7")
  eq(m:read(0, 6), "H\7i\7!\7")
  m:write32(8, 0xdeadbeef); eq(m:read32(8), 0xdeadbeef)
  m:write64(16, -2); eq(m:read64(16), -2)
  eq(m:read16(4094), m:read8(4094) | m:read8(4095) << 8)
  eq(m:fpage(), l4.fpage(m:base(), 12, "rw"), "device memory is rw")
  -- misuse, as a method call names it
  raises("bad argument #1 to 'read8' (offset 0x1000 out of range (1 bytes at it, size 0x1000))",
         function() return m:read8(4096) end)
  raises({"bad argument #1 to 'read32'", "offset 0xffe out of range"},
         function() return m:read32(4094) end)
  raises("bad argument #1 to 'read16' (offset 0x1 not aligned to 2)",
         function() return m:read16(1) end)
  raises({"bad argument #1", "offset 0xffffffffffffffff out of range"},
         function() return m:write8(-1, 0) end)
  raises("bad argument #2 to 'write8' (value 256 out of range (0 to 255))",
         function() return m:write8(0, 256) end)
  raises({"bad argument #1 to 'write'", "out of range"}, function() return m:write(4095, "ab") end)
  raises({"bad argument #2 to 'read'", "length 4097 out of range"},
         function() return m:read(0, 4097) end)
  raises({"bad argument #1", "l4.mem expected, got number"}, m.read8, 0, 0)
  -- a second mapping of the same device page sees the same memory
  local m2 = assert(l4.mem.map_phys(0xb8000, 12))
  eq(m2:read(0, 6), "H\7i\7!\7")
  m2:unmap(); m2:unmap()
  raises("attempt to use unmapped memory", m2.read8, m2, 0)
  eq(tostring(m2):find("unmapped", 1, true) ~= nil, true)
  eq(m:read8(0), 0x48, "the first mapping stays")
  do local m3 <close> = assert(l4.mem.map_phys(0xb9000, 12)); m3:write8(0, 1) end
  m:write16(0, 0x0720); m:write(2, " \7 \7")
end)

case("mem_failures", function()
  raises({"bad argument #1", "base 0xb8001 not aligned to its size 2^12"},
         l4.mem.map_phys, 0xb8001, 12)
  raises({"bad argument #2", "log2 size 31 out of range (12 to 30)"}, l4.mem.map_phys, 0, 31)
  raises({"bad argument #1", "log2 size 23 out of range (12 to 22)"}, l4.mem.alloc, 23)
  -- the kernel keeps its image (from 1 MiB) and pool
  fails("held by the kernel", 2, l4.mem.map_phys(0x100000, 12))
  fails("invalid request", 1, l4.mem.map_phys(l4.kip.memory.phys_end, 12))
end)

case("mem_alloc", function()
  local m = assert(l4.mem.alloc(13))
  eq(m:size(), 8192)
  eq(m:read64(0), 0); eq(m:read64(8184), 0, "zeroed")
  m:write64(4096, 42); eq(m:read64(4096), 42)
  eq(m:fpage().rights, "rwx")
  eq(m:fpage(4096, 12), l4.fpage(m:base() + 4096, 12, "rwx"))
  eq(m:fpage(0, 12, "r").rights, "r")
  raises({"bad argument #1 to 'fpage'", "offset must be aligned"},
         function() return m:fpage(100, 12) end)
  raises({"bad argument #2 to 'fpage'", "log2 size 14 out of range (12 to 13)"},
         function() return m:fpage(0, 14) end)
  local r = l4.mem.reserve(20)
  eq(r % (1 << 20), 0); assert(r >= 0x100000000000)
  assert(l4.mem.reserve(20) ~= r, "handed out once")
  m:unmap()
  eq(l4.debug.mdb_check(), true)
end)

return cases
