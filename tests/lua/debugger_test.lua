-- The debugger's API (scripts/debugger.lua, docs/debugger.md) against a
-- task that knows nothing of it (debug_target.lua) and a root thread:
-- function breakpoints, varargs, upvalues, tables expanded, a local
-- changed by eval and the caller seeing it, step over, pause of a thread
-- in a long run of Lua, errors caught by pcall, the thread's exit, and a
-- waiting root thread paused in its receive. The test's thread is the
-- debugger; clients are threads of their own that send their results
-- back to it.
local l4 = require "l4"
local dbg = require "debugger"

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

local function check(cond, fmt, ...)
  if not cond then error(fmt and fmt:format(...) or "check failed", 2) end
end

local target, s

-- A root thread that calls the target with label, n and sends what came
-- back to this thread.
local function client(label, n)
  return assert(l4.thread.create{args = {target.raw, l4.self().raw, label, n}, code = [[
    local t, me, label, n = ...
    local r = table.pack(l4.call(l4.id(t), {timeout = 20000}, label, n))
    l4.send(l4.id(me), 0, table.unpack(r, 3, r.n))
  ]]})
end

local function answer(from)
  return select(3, assert(l4.receive(from, 20000)))
end

local function find(list, name)
  for _, v in ipairs(list) do if v.name == name then return v end end
end

case("debugger_attach_a_task", function()
  target = assert(l4.task.spawn{script = "debug_target.lua", memcap = 4 << 20})
  local err
  s, err = dbg.attach(target)
  check(s, "attach: %s", tostring(err))
  check(dbg.attach(l4.self()) == nil, "a thread attached to itself")
  local st = s:poll()
  check(st and st.state == "running", "poll: %s", tostring(st and st.state))
end)

case("debugger_function_breakpoint_vars_eval", function()
  local id = assert(s:break_func("work"))
  local c = client(1, 10)
  local ev = assert(s:wait(5000))
  check(ev.reason == "breakpoint" and ev.breakpoint == id and ev.name == "work",
        "stop: %s %s %s", ev.reason, tostring(ev.breakpoint), tostring(ev.name))
  local locals = assert(s:vars(1, "locals"))
  check(find(locals, "n") and find(locals, "n").value == "10", "local n")
  local va = assert(s:vars(1, "varargs"))
  check(#va == 2 and va[1].value == '"a"' and va[2].value == '"b"', "varargs: %d", #va)
  local ups = assert(s:vars(1, "upvalues"))
  check(find(ups, "counter") and find(ups, "counter").value == "0", "upvalue counter")
  local globals = assert(s:vars(1, "globals"))
  check(find(globals, "l4") and find(globals, "pcall"), "globals")
  -- over, line by line, to the `counter` line: info and total exist then
  for _ = 1, 40 do
    assert(s:step("over"))
    ev = assert(s:wait(5000))
    check(ev.reason == "step" and ev.file == "debug_target.lua", "step: %s %s", ev.reason, ev.file)
    if ev.line == 14 then break end
  end
  check(ev.line == 14, "never reached line 14 (at %d)", ev.line)
  local st = assert(s:stack())
  check(st[1].name == "work" and st[1].source:find("counter = counter %+ 1"), "stack: %s",
        tostring(st[1].source))
  check(st[2].line == 27 and st[2].what == "main", "the caller's frame: %s", tostring(st[2].line))
  local info = find(assert(s:vars(1, "locals")), "info")
  check(info.ref, "a table has a ref")
  local fields = assert(s:expand(info.ref))
  check(#fields == 2 and fields[1].name == "kind" and fields[2].value == "10", "expand")
  local ok, v = s:eval(1, "total")
  check(ok and v == "55", "eval total: %s %s", tostring(ok), tostring(v))
  check(s:eval(1, "total = 1000"), "assignment")
  ok, v = s:eval(1, "nosuch.field")
  check(ok == false and v:find("attempt to index"), "an eval's error: %s", tostring(v))
  check(s:eval(1, "counter = 41"), "upvalue assignment")
  assert(s:break_clear(id))
  assert(s:continue())
  local total, nargs = answer(c)
  check(total == 1000 and nargs == 2, "the reply: %s %s", tostring(total), tostring(nargs))
  c = client(1, 3)
  check(answer(c) == 6, "served again without a stop")
  assert(s:break_func("work", "n == 4"))
  c = client(1, 3)
  check(answer(c) == 6, "the condition is false: no stop")
  c = client(1, 4)
  ev = assert(s:wait(5000))
  check(ev.reason == "breakpoint", "conditional stop")
  ok, v = s:eval(1, "n")
  check(v == "4", "n at the conditional stop: %s", tostring(v))
  ok, v = s:eval(1, "counter")
  check(v == "44", "the upvalue changed before: %s", tostring(v))
  assert(s:continue())
  check(answer(c) == 10, "after the conditional stop")
end)

case("debugger_pause_a_long_run", function()
  local c = client(2, 0)
  l4.sleep(50)                       -- it spins now
  local p = assert(s:profile(300, 1000, true))
  check(p.samples > 50 and p.funcs[1].where == "debug_target.lua:18 spin"
        and p.funcs[1].instructions > p.instructions * 0.9,
        "profile: %d samples, %s", p.samples, tostring(p.funcs[1] and p.funcs[1].where))
  check(p.lines[1].where == "debug_target.lua:20", "the hot line: %s", tostring(p.lines[1].where))
  check(p.stacks[1].where:find("debug_target.lua:0 [^;]*;debug_target.lua:18 spin$"),
        "folded stack: %s", tostring(p.stacks[1].where))
  assert(s:pause())
  local ev = assert(s:wait(5000))
  check(ev.reason == "pause" and ev.name == "spin", "pause: %s in %s", ev.reason, tostring(ev.name))
  local ok, v = s:eval(1, "x > 0")
  check(ok and v == "true", "x: %s", tostring(v))
  check(s:eval(1, "x = -1000"), "assign x")
  assert(s:continue())
  -- -999 if it stopped right before the loop's increment
  local x = answer(c)
  check(x == -1000 or x == -999, "the loop ended with x as set: %s", tostring(x))
end)

case("debugger_stops_at_caught_errors", function()
  assert(s:on_error("all"))
  local c = client(3, 0)
  local ev = assert(s:wait(5000))
  check(ev.reason == "error" and ev.message == "caught here" and ev.line == 31,
        "error stop: %s %s %s", ev.reason, tostring(ev.message), tostring(ev.line))
  assert(s:continue())
  local okv, err = answer(c)
  check(okv == 0 and err == "caught here", "pcall still caught it")
  assert(s:on_error("none"))
  c = client(3, 0)
  check(answer(c) == 0, "no stop with none")
  check(s:wait(300) == nil, "a stop with none")
end)

-- The target stops (a client's call reaches a breakpoint) before the
-- debugger has seen the stop: continue(true) leaves it stopped and says
-- so, and the wait returns that stop (the REPL's `c` typed in that moment
-- ran past the stop unseen: repl.debug_* failed so when timing changed).
case("debugger_continue_keeps_an_unseen_stop", function()
  local id = assert(s:break_func("work"))
  local c = client(1, 3)
  local st
  for _ = 1, 500 do
    st = s:poll()
    if st and st.state == "stopped" then break end
    l4.sleep(10)
  end
  check(st and st.state == "stopped", "it did not stop")
  check(s:continue(true) == false, "continued past a stop the debugger had not seen")
  local ev = assert(s:wait(1000))
  check(ev.reason == "breakpoint" and ev.breakpoint == id, "the stop: %s %s", ev.reason,
        tostring(ev.breakpoint))
  assert(s:break_clear(id))
  check(s:continue(true) == true, "a seen stop is continued")
  check(answer(c) == 6, "served after the stop")
end)

-- The host's DAP adapter looks with s:poll, never s:wait, and continues
-- with the seq of the stop it showed the editor: that stop is continued;
-- with an older seq (the target stopped again since) it stays stopped.
case("debugger_continue_with_the_stop_shown", function()
  local id = assert(s:break_func("work"))
  local c = client(1, 3)
  local st
  for _ = 1, 500 do
    st = s:poll()
    if st and st.state == "stopped" then break end
    l4.sleep(10)
  end
  check(st and st.state == "stopped" and math.type(st.seq) == "integer", "it did not stop")
  check(s:continue(st.seq - 1) == false, "continued past a stop newer than the one shown")
  local again = s:poll()
  check(again and again.state == "stopped" and again.seq == st.seq, "the stop is not kept")
  assert(s:break_clear(id))
  check(s:continue(st.seq) == true, "the stop shown is not continued")
  check(answer(c) == 6, "served after the stop")
  local ok, err = s:continue("1")
  check(ok == nil and tostring(err):find("seq", 1, true), "a seen that is not a seq: %s", tostring(err))
end)

case("debugger_traces_ipc", function()
  assert(s:trace(true, 3))
  local c = client(1, 5)
  check(answer(c) == 15, "traced call")
  local r = assert(s:trace_read())
  check(#r.entries == 2 and r.dropped == 0, "entries: %d, dropped %d", #r.entries, r.dropped)
  local i, o = r.entries[1], r.entries[2]
  check(i.dir == "in" and i.label == 1 and i.partner == tostring(c) and i.size == 8,
        "in: %s %s %s %s", i.dir, tostring(i.label), i.partner, tostring(i.size))
  check(o.dir == "out" and o.label == 0 and o.partner == tostring(c) and o.size == 16 and o.t >= i.t,
        "out: %s %s %s", o.dir, tostring(o.label), tostring(o.size))
  for n = 1, 3 do c = client(1, n); answer(c) end
  r = assert(s:trace_read())
  check(#r.entries == 3 and r.dropped == 3, "a ring of 3: %d entries, %d dropped", #r.entries, r.dropped)
  assert(s:trace(false))
  c = client(1, 2)
  answer(c)
  check(s:trace_read() == nil, "read with the trace off")
end)

case("debugger_sees_the_exit", function()
  local c = client(4, 0)
  answer(c)
  local ev = assert(s:wait(5000))
  check(ev.reason == "exit", "exit: %s", tostring(ev.reason))
  s:detach()
end)

case("debugger_pauses_a_waiting_root_thread", function()
  local t = assert(l4.thread.create{code = [[
    local n = 0
    while true do
      local from, label = l4.receive()
      n = n + 1
      if from then l4.reply(from, 0, n) end
    end
  ]]})
  l4.sleep(20)
  local r = assert(dbg.attach(t))
  assert(r:pause())
  local ev = assert(r:wait(2000))
  check(ev.reason == "pause" and ev.name == "receive", "paused in: %s", tostring(ev.name))
  local st = assert(r:stack())
  check(st[2] and st[2].line == 3, "the caller of receive: %s", tostring(st[2] and st[2].line))
  assert(r:step("over"))
  -- a real message ends the receive; the step stops at the next line
  local c = l4.thread.create{args = {t.raw}, code = "l4.call(l4.id(...), {timeout = 5000}, 7)"}
  ev = assert(r:wait(5000))
  check(ev.reason == "step" and ev.line == 4, "step after the receive: %s", tostring(ev.line))
  assert(r:detach())
  local from, label, n = l4.call(t, {timeout = 2000}, 1)
  check(from and n == 2, "serves after detach: %s", tostring(n))
  l4.thread.kill(t)
end)

return cases
