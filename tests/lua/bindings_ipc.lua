-- IPC through the l4 table (bindings/ipc.c): failure paths against
-- nobody or this thread itself, requests to sigma0, and messages of every
-- kind through l4.debug.echo(), a C thread of this task that answers each
-- message with the same message.
local u = require "bindings_util"
local eq, fails, raises = u.eq, u.fails, u.raises
local cases, case = u.cases()
local E = l4.E

case("ipc_timeout", function()
  fails("timeout", E.rcv_timeout, l4.receive(nil, 0))
  fails("timeout", E.rcv_timeout, l4.receive(l4.anythread, 0))
  fails("timeout", E.rcv_timeout, l4.receive(nil, {timeout = 0}))
  fails("timeout", E.rcv_timeout, l4.receive(l4.nilthread, 0.5))      -- a sleep
  local c0 = l4.clock()
  fails("timeout", E.rcv_timeout, l4.receive(l4.nilthread, 4))
  assert(l4.clock() - c0 >= 3000, "4 ms receive took " .. (l4.clock() - c0) .. " us")
  -- a send to myself: I am not receiving
  fails("timeout", E.snd_timeout, l4.send(l4.self(), {timeout = 0}, 1, 2))
  fails("timeout", E.snd_timeout, l4.reply(l4.self(), 1))
  fails("timeout", E.snd_timeout, l4.call(l4.self(), {send = 0}, 1))
  eq(l4.sleep(0), true); eq(l4.sleep(1.5), true)
end)

case("ipc_no_partner", function()
  fails("no partner", E.nopartner, l4.send(l4.nilthread, 1))
  fails("no partner", E.nopartner, l4.call(l4.id(77, 0, 1), 1, 2))
  fails("no partner", E.nopartner, l4.receive(l4.id(77, 0, 1), 10))
  fails("timeout", E.rcv_timeout, l4.receive(l4.debug.echo(), 0))     -- exists, sends nothing
  fails("no partner", E.nopartner, l4.reply_wait(l4.id(2, 200, 1), 0))
end)

case("ipc_misuse", function()
  local echo = l4.debug.echo()
  raises({"bad argument #2", "label 4294967296 out of range"}, l4.send, echo, 1 << 32)
  raises({"bad argument #2", "number expected, got no value"}, l4.call, echo)
  raises({"bad argument #3", "number expected, got no value"}, l4.call, echo, {})
  raises({"bad argument #3", "number has no integer representation"}, l4.call, echo, 1, 2.5)
  raises({"bad argument #4", "integer, string, fpage or item"}, l4.call, echo, 1, 2, {})
  raises({"bad argument #3", "integer, string, fpage or item"}, l4.send, echo, 1, true)
  raises({"bad argument #2", "option 'timeout' must be a number"},
         l4.call, echo, {timeout = "soon"}, 1)
  raises({"bad argument #2", "timeout must be a number of milliseconds >= 0"},
         l4.send, echo, {send = -1}, 1)
  raises({"bad argument #2", "timeout must be a number of milliseconds >= 0"},
         l4.receive, nil, 0 / 0)
  raises({"bad argument #2", "number of milliseconds or nil expected"}, l4.receive, nil, "soon")
  raises({"bad argument #2", "option 'pagefault' must be a number"},
         l4.call, echo, {pagefault = true}, 1)
  raises({"bad argument #2", "option 'window' must be a memory fpage"},
         l4.call, echo, {window = l4.iofpage(0, 0)}, 1)
  raises({"bad argument #1", "l4.id expected"}, l4.receive, 5)
  raises({"bad argument #1", "IRQ 3 is not attached"}, l4.receive, l4.irq_id(3), 0)
  raises({"bad argument #2", "option 'window' must lie in"},
         l4.call, echo, {window = l4.fpage(0x200000000, 12)}, 1)
  local words = {}
  for i = 1, 65 do words[i] = i end
  raises({"bad argument #67", "message too long"}, l4.send, echo, 1, table.unpack(words))
  words[64] = "s"         -- 63 words and a string: 65
  raises({"bad argument #66", "message too long"}, l4.send, echo, 1,
         table.unpack(words, 1, 64))
  local s = {}
  for i = 1, 9 do s[i] = "s" end
  raises({"bad argument #11", "more than 8 strings"}, l4.send, echo, 1, table.unpack(s))
  raises({"bad argument #1", "window must lie in"}, l4.set_window, l4.fpage(0x200000000, 12))
  raises({"bad argument #1", "memory fpage"}, l4.set_window, l4.iofpage(0, 0))
  raises({"bad argument #1", "count 9 out of range"}, l4.set_buffers, 9, 4096)
  raises({"bad argument #2", "size 4194305 out of range"}, l4.set_buffers, 1, (4 << 20) + 1)
end)

case("ipc_sigma0", function()
  local s0 = l4.kip.sigma0
  local from, label, code = l4.call(s0, 99, 1)   -- an unknown request
  eq(from, s0); eq(label, 0); eq(code, 1, "L4_SIGMA0_EINVAL")
  fails("message cut", E.snd_cut, l4.call(s0, 1, "no strings for sigma0"))
  -- a page of RAM, into a window
  local base = l4.mem.reserve(16)
  eq(l4.set_window(l4.fpage(base, 16)), nil, "no window before")
  local from2, label2, code2, fp = l4.call(s0, 1, 12)     -- L4_SIGMA0_ANY, 4 KiB
  eq(from2, s0); eq(label2, 0); eq(code2, 0)
  eq(getmetatable(fp), getmetatable(l4.fpage(0, 12)))
  eq(fp.size, 4096); eq(fp.rights, "rwx")
  assert(fp.base >= base and fp.base < base + 65536, tostring(fp))
  eq(tostring(l4.set_window(nil)), ("fpage(0x%x, 2^16, rwx)"):format(base))
  eq(l4.unmap(fp, "flush", true), true)
  -- a one-off window
  local _, _, c, fp2 = l4.call(s0, {window = l4.fpage(base, 12)}, 1, 12)
  eq(c, 0); eq(fp2, l4.fpage(base, 12, "rwx"))
  eq(l4.unmap(fp2, true), true)
  eq(l4.debug.mdb_check(), true)
end)

case("ipc_echo_words", function()
  local echo = l4.debug.echo()
  eq(tostring(echo), ("2.ff.%04x"):format(echo.version))
  local from, label, a, b = l4.call(echo, 7, 1, 2)
  eq(from, echo); assert(rawequal(from, echo)); eq(label, 7); eq(a, 1); eq(b, 2)
  local r = {l4.call(echo, 0xffffffff)}        -- a label of all ones, no words
  eq(#r, 2); eq(r[2], 0xffffffff)
  r = {l4.call(echo, 3, -1, math.mininteger, math.maxinteger, 0, 2.0)}
  eq(#r, 7); eq(r[3], -1); eq(r[4], math.mininteger); eq(r[5], math.maxinteger)
  eq(r[6], 0); eq(r[7], 2, "2.0 went as the integer 2")
  local words = {}
  for i = 1, 64 do words[i] = i * 1000003 end   -- all 64: 6 in registers, 58 in the UTCB
  r = {l4.call(echo, 64, table.unpack(words))}
  eq(#r, 66)
  for i = 1, 64 do eq(r[i + 2], words[i], "word " .. i) end
  eq(l4.send(echo, 1, 2), true)                  -- its reply finds nobody: dropped
  -- echo has the message but has not run yet: a reply (not waiting) fails
  fails("timeout", E.snd_timeout, l4.reply(echo, 1, 2))
  eq(l4.thread.switch(echo), true)               -- it answers (nobody) and waits again
  eq(l4.reply(echo, 1, 2), true)
  eq(l4.thread.switch(echo), true)
  -- reply_wait: echo takes it as a request, and its answer arrives in
  -- the open receive
  from, label, a = l4.reply_wait(echo, 9, 99)
  eq(from, echo); eq(label, 9); eq(a, 99)
end)

case("ipc_echo_strings", function()
  local echo = l4.debug.echo()
  local big = ("0123456789abcdef"):rep(4096)     -- 64 KiB, a buffer exactly
  local from, label, w, s1, s2, s3 = l4.call(echo, 5, "hello", 1, "", big)
  eq(from, echo); eq(label, 5); eq(w, 1, "words come first")
  eq(s1, "hello"); eq(s2, ""); eq(s3, big)
  local r = {l4.call(echo, 8, "a\0b", "c", "d", "e")}
  eq(table.concat(r, ",", 3), "a\0b,c,d,e")
  fails("message cut", E.snd_cut, l4.call(echo, 1, big .. "x"))  -- beyond echo's buffer
  fails("message cut", E.snd_cut, l4.call(echo, 1, "1", "2", "3", "4", "5"))  -- echo has 4
  -- my buffers: one of 16 bytes
  eq(l4.set_buffers(1, 16), true)
  eq(select(3, l4.call(echo, 1, ("z"):rep(16))), ("z"):rep(16))
  fails("message cut", E.rcv_cut, l4.call(echo, {receive = 100}, 1, ("z"):rep(17)))
  fails("message cut", E.rcv_cut, l4.call(echo, {receive = 100}, 1, "a", "b"))
  eq(l4.set_buffers(0, 0), true)
  fails("message cut", E.rcv_cut, l4.call(echo, {receive = 100}, 1, "a"))
  eq(l4.set_buffers(4, 65536), true)
  eq(select(3, l4.call(echo, 1, "back")), "back")
end)

case("ipc_echo_map", function()
  local echo = l4.debug.echo()
  local m = assert(l4.mem.alloc(12))
  m:write64(0, 0x1122334455667788)
  local win = l4.mem.reserve(22)
  eq(l4.set_window(l4.fpage(win, 22)), nil)
  -- my page to echo, and echo maps it back into my window
  local from, label, fp = l4.call(echo, 4, m:fpage())
  eq(from, echo); eq(label, 4)
  eq(fp.size, 4096); eq(fp.is_io, false)
  eq(fp.base, win + m:base() % (1 << 22), "lands at window + send base mod its size")
  local _, _, fp2 = l4.call(echo, 4, m:fpage():map_item(win + 0x5000))
  eq(fp2.base, win + 0x5000)
  local _, _, fp3 = l4.call(echo, 4, m:fpage(0, 12, "r"):grant_item(win + 0x7000))
  eq(fp3, l4.fpage(win + 0x7000, 12, "r"))
  eq(l4.debug.mdb_check(), true)
  eq(l4.set_window(nil), l4.fpage(win, 22))
  -- without a window, a map item cannot land
  fails("map failed", E.map_failed, l4.call(echo, {receive = 100}, 4, m:fpage()))
  eq(l4.unmap(l4.fpage(win, 22), true), true)
  m:unmap()
  eq(l4.debug.mdb_check(), true)
end)

case("ipc_kernel_labels", function()
  -- the kernel's message shapes, echoed, arrive decoded
  local echo, PF, EXC = l4.debug.echo(), l4.label.pagefault, l4.label.exception
  eq(PF, 0xfffffffe); eq(EXC, 0xfffffffd); eq(l4.label.irq, 0xffffffff)
  local from, kind, addr, ip, access = l4.call(echo, PF, 0x5003, 0x401000)
  eq(from, echo); eq(kind, "pagefault"); eq(addr, 0x5000); eq(ip, 0x401000)
  eq(access, "w")
  eq(select(5, l4.call(echo, PF, 0x6001, 0)), "x")
  eq(select(5, l4.call(echo, PF, 0x6000, 0)), "r")
  local r = {l4.call(echo, EXC, 13, 0, 0x401234, 0x401234)}
  eq(r[2], "exception"); eq(r[3], 13); eq(r[4], 0); eq(r[5], 0x401234); eq(#r, 6)
  -- other shapes stay numbers
  r = {l4.call(echo, PF, 1)}
  eq(r[2], PF); eq(r[3], 1)
  eq(select(2, l4.call(echo, l4.label.irq)), l4.label.irq, "not from an IRQ id")
end)

case("error_constants", function()
  -- l4.E names the codes the calls really return
  fails("timeout", E.rcv_timeout, l4.receive(nil, 0))
  fails("no partner", E.nopartner, l4.send(l4.nilthread, 1))
  eq(E.rcv_timeout, 3); eq(E.map_failed, 12); eq(E.inval_msg, 13)
  eq(E.einval, 20); eq(E.eperm, 22); eq(E.ebusy, 24); eq(E.sigma0.etaken, 3)
end)

case("ipc_call_timeout", function()
  local echo = l4.debug.echo()
  local c0 = l4.clock()
  fails("timeout", E.rcv_timeout, l4.call(echo, {receive = 5}, l4.debug.ECHO_SWALLOW))
  assert(l4.clock() - c0 >= 4000)
  eq(select(2, l4.call(echo, 1)), 1, "echo serves on")
end)

-- This thread as a pager: a C thread of the task (l4.debug.fault) faults
-- on a page, the fault arrives here decoded, one reply_wait maps a page.
case("ipc_pager", function()
  local pool = assert(l4.mem.alloc(13))
  pool:write64(0x18, 1234)
  local addr = l4.mem.reserve(12) + 0x18
  local t = assert(l4.debug.fault(addr))
  local from, kind, a, ip, access = l4.receive(nil, 1000)
  eq(from, t); eq(kind, "pagefault"); eq(a, addr); eq(access, "r")
  assert(ip >= 0x400000 and ip < 0x1000000, ip)
  local from2, label, value = l4.reply_wait(from, 0, pool:fpage(0, 12):map_item(a))
  eq(from2, t); eq(label, l4.debug.FAULT_DONE); eq(value, 1234, "it read my page")
  -- a write fault, into a read-only mapping first
  local addr2 = l4.mem.reserve(12)
  assert(l4.debug.fault(addr2, 77))
  from, kind, a, ip, access = l4.receive(nil, 1000)
  eq(kind, "pagefault"); eq(a, addr2); eq(access, "w")
  from, kind, a, ip, access = l4.reply_wait(from, 0, pool:fpage(4096, 12, "r"):map_item(a))
  eq(kind, "pagefault", "read-only is not enough"); eq(access, "w")
  from, label, value = l4.reply_wait(from, 0, l4.map_item(pool:base() + 4096, 12, "rw", a))
  eq(label, l4.debug.FAULT_DONE); eq(value, 77)
  eq(pool:read64(4096), 77, "it wrote my page")
  eq(l4.unmap(l4.fpage(addr - 0x18, 12), true), true)
  eq(l4.unmap(l4.fpage(addr2, 12), true), true)
  pool:unmap()
  eq(l4.debug.mdb_check(), true)
end)

-- l4.pager_loop: the receive, the call of the handler and the reply with
-- the map item are C; what each handler result does, its errors, and the
-- messages it hands back.
case("ipc_pager_loop", function()
  local PAGE = 4096
  local pool = assert(l4.mem.alloc(14))          -- 4 pages
  pool:write64(0x18, 4321)
  local region = l4.mem.reserve(14)
  local loop, DONE = l4.pager_loop, l4.debug.FAULT_DONE
  -- an integer: that page, mapped rw at the fault; the next message
  -- (the faulting thread's report) ends the loop
  local seen = {}
  local t = assert(l4.debug.fault(region + 0x18))
  local from, label, value = loop(function(...)
    seen[#seen + 1] = {...}
    return pool:base()
  end, {receive = 1000})
  eq(from, t); eq(label, DONE); eq(value, 4321, "it read the pool page")
  eq(#seen, 1); eq(seen[1][1], t); eq(seen[1][2], region + 0x18); eq(seen[1][4], "r")
  eq(seen[1][5], l4.self().task, "the task number")
  assert(seen[1][3] >= 0x400000 and seen[1][3] < 0x1000000, seen[1][3])
  -- an item: read-only is not enough for a write, so a second fault,
  -- answered with an integer (rw)
  local n = 0
  t = assert(l4.debug.fault(region + PAGE, 77))
  from, label, value = loop(function(_, addr, _, access)
    n = n + 1
    if n == 1 then
      eq(access, "w")
      return l4.map_item(pool:base() + PAGE, 12, "r", addr)
    end
    return pool:base() + PAGE
  end, {receive = 1000})
  eq(n, 2, "two faults"); eq(label, DONE); eq(value, 77); eq(pool:read64(PAGE), 77)
  -- nil: no answer; the loop receives on (here until its timeout) and
  -- the thread waits in its fault until someone answers
  t = assert(l4.debug.fault(region + 2 * PAGE))
  fails("timeout", E.rcv_timeout, loop(function() return nil end, {receive = 50}))
  from, label = l4.reply_wait(t, {receive = 1000}, 0, l4.map_item(pool:base() + 2 * PAGE, 12, "rw",
                                                                region + 2 * PAGE))
  eq(from, t); eq(label, DONE)
  -- an error in the handler: false, the error, and the fault, not
  -- answered (its thread waits for a reply; the loop will not see it again)
  local function refused(handler, why)
    local th = assert(l4.debug.fault(region + 3 * PAGE + 8))
    local ok, err, f, addr, ip, access = loop(handler, {receive = 1000})
    eq(ok, false); assert(tostring(err):find(why, 1, true), err)
    eq(f, th); eq(addr, region + 3 * PAGE + 8); eq(access, "r"); eq(math.type(ip), "integer")
    fails("timeout", E.rcv_timeout, loop(function() return pool:base() end, {receive = 20}))
    from, label = l4.reply_wait(th, {receive = 1000}, 0,
                                l4.map_item(pool:base() + 3 * PAGE, 12, "rw", region + 3 * PAGE))
    eq(from, th); eq(label, DONE, "answered by hand")
    eq(l4.unmap(l4.fpage(region + 3 * PAGE, 12), true), true)
  end
  refused(function() error("no page for you") end, "no page for you")
  -- results that are no answer are errors too
  refused(function() return pool:base() + 8 end, "not the address of a page")
  refused(function() return "a page" end, "returned a string")
  refused(function() return l4.iofpage(0x80, 0) end, "not a page address, a memory item")
  -- bad arguments
  raises({"bad argument #1", "function expected"}, loop)
  raises({"bad argument #2", "table expected"}, loop, function() end, 5)
  for i = 0, 2 do eq(l4.unmap(l4.fpage(region + i * PAGE, 12), true), true) end
  pool:unmap()
  eq(l4.debug.mdb_check(), true)
end)

-- A call with two integers each way allocates nothing (issue 5).
-- l4.call and l4.reply_wait with the last id and integers only take a
-- shorter way through the binding (bindings/ipc.c fast_op); everything
-- else it hands to the general one. The results must be the same.
case("ipc_fast_and_general_agree", function()
  local echo = l4.debug.echo()
  eq(select(2, l4.call(echo, 1, 5)), 1)         -- echo is the last id from here on
  local from, label, a = l4.call(echo, "7", 5)  -- a label as the general path takes it
  eq(from, echo); assert(rawequal(from, echo)); eq(label, 7); eq(a, 5)
  eq(select(2, l4.call(echo, 7.0, 1)), 7)
  raises({"bad argument #2", "label 4294967296 out of range"}, l4.call, echo, 1 << 32, 1)
  raises({"bad argument #2", "label -1 out of range"}, l4.reply_wait, echo, -1)
  eq(select(3, l4.call(echo, 1, "5")), "5", "a string stays a string")
  eq(select(3, l4.call(echo, 1, 5.0)), 5, "an integral float goes as its integer")
  raises({"bad argument #4", "integer, string, fpage or item"}, l4.call, echo, 1, 2, nil, 3)
  raises({"bad argument #3", "number has no integer representation"}, l4.call, echo, 1, 0.5)
  local r = {l4.call(echo, 1, 1, 2, 3, 4, 5, 6)}                -- all register words
  eq(#r, 8); eq(r[8], 6)
  r = {l4.call(echo, 1, 1, 2, 3, 4, 5, 6, 7)}                   -- one more: the UTCB
  eq(#r, 9); eq(r[9], 7)
  r = {l4.call(echo, l4.label.pagefault, 0x7003, 0x401000)}     -- decoded on the way back
  eq(r[2], "pagefault"); eq(r[3], 0x7000); eq(r[5], "w")
  -- two clients, each calling twice (the second time with what it got):
  -- each answer by reply_wait to the last sender receives the next call,
  -- which at some point is the other client's (pushed as its interned id)
  local me = l4.self()
  local body = "local me, n = ...; local _, _, x = l4.call(me, 3, n); l4.call(me, 4, x)"
  local ta = assert(l4.thread.create{args = {me, 10}, code = body})
  local tb = assert(l4.thread.create{args = {me, 20}, code = body})
  local want = {}                   -- client -> the value of its second call
  local switched = false
  local ok, err = pcall(function()
    local from, label, n = l4.receive(nil, 2000)
    for i = 1, 4 do
      assert(rawequal(from, ta) or rawequal(from, tb), "a call from a client: " .. tostring(from))
      if label == 3 then
        eq(n, rawequal(from, ta) and 10 or 20); want[from] = n + 1
      else
        eq(label, 4); eq(n, want[from])
      end
      if i == 4 then break end
      local f, l, x = l4.reply_wait(from, 0, n + 1)
      assert(f, l)
      switched = switched or f ~= from
      from, label, n = f, l, x
    end
    eq(l4.reply(from, 0), true)
  end)
  if not ok then                    -- no client left calling the next cases' threads
    pcall(l4.thread.kill, ta); pcall(l4.thread.kill, tb)
    error(err, 0)
  end
  assert(switched, "the clients' calls came one after the other")
end)

case("ipc_no_alloc", function()
  local echo, s0 = l4.debug.echo(), l4.kip.sigma0
  local call = l4.call
  for i = 1, 100 do call(echo, 1, i, i) end      -- warm up
  collectgarbage(); collectgarbage("stop")
  local before = collectgarbage("count")
  local sum = 0
  for i = 1, 1000 do
    local _, _, a, b = call(echo, 1, i, i + 1)
    sum = sum + a + b
  end
  for i = 1, 1000 do call(s0, 99, i) end         -- 2 words out, 1 back
  local grown = collectgarbage("count") - before
  collectgarbage("restart")
  eq(sum, 1002000)
  assert(grown < 0.5, ("2000 calls allocated %.2f KiB"):format(grown))
end)

return cases
