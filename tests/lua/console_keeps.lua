-- What a console server keeps for its clients (drivers-lua/console_server.lua,
-- docs/console.md "Consoles and sessions"): the REPL's history, input
-- typed before it ran, its reader slot for a new reader when the old one
-- is gone, and the instruction budget that fails a runaway version
-- rather than let it starve every thread below priority 200. A server in
-- a thread of this task over a backend that shows nothing and gets its
-- "interrupts" from a line nobody raises. Returns the cases, {name,
-- function}; init.lua runs them.
local l4 = require "l4"
local proto = require "console"

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

local function check(cond, fmt, ...)
  if not cond then error(fmt and fmt:format(...) or "check failed", 2) end
end

-- A server thread; `early`: bytes its backend had before it ran.
local SERVER = [[
  local early = ...
  local lines = {7, 10, 11, 12, 5}
  local backend = {early = early, written = {}}
  function backend:write(s) self.written[#self.written + 1] = s end
  function backend:on_irq() return "" end
  function backend:irq_line()
    for _, n in ipairs(lines) do          -- a line no one else holds
      local h = l4.irq.attach(n)
      if h then l4.irq.detach(h) return n end
    end
    error("no free interrupt line for the test")
  end
  require("console_server").serve(backend, {name = "test-console"})
]]

local function server(early)
  local id = assert(l4.thread.create{code = SERVER, args = {early or ""}, prio = 200,
                                     memcap = 4 << 20})
  check(l4.call(id, {timeout = 2000}, proto.INFO), "the server does not answer")
  return id
end

case("console_server_keeps_the_history", function()
  local id = server()
  local con = proto.open(id)
  check(#con:history() == 0, "a new server has a history")
  for _, l in ipairs{"1+1", "x = 2", "x = 2", "  ", "print(x)"} do con:remember(l) end
  local h = con:history()
  check(table.concat(h, "|") == "1+1|x = 2|print(x)", "history %s", table.concat(h, "|"))
  -- a session that outlived its server gives its copy to the new one
  con:set_history({"a", "b"})
  check(table.concat(con:history(), "|") == "a|b", "set_history")
  local many = {}
  for i = 1, proto.HIST_MAX + 50 do many[i] = "line " .. i end
  con:set_history(many)
  h = con:history()
  check(#h == proto.HIST_MAX and h[1] == "line 51" and h[#h] == "line " .. (proto.HIST_MAX + 50),
        "%d lines kept, from %s", #h, h[1])
  con:remember(("y"):rep(proto.HIST_BYTES))       -- one line beyond the bytes kept
  h = con:history()
  check(#h <= 1, "the history holds %d lines beyond its bytes", #h)
  l4.thread.kill(id)
end)

case("console_server_early_input_is_read", function()
  local id = server("typed early\r")
  local from, label, s = l4.call(id, {timeout = 1000}, proto.READ, 100)
  check(from and label == 0 and s == "typed early\r", "READ: %s %s %q", tostring(from),
        tostring(label), tostring(s))
  l4.thread.kill(id)
end)

case("console_server_a_new_reader_takes_over", function()
  local id = server()
  -- a reader that waits, then is gone without a word (killed)
  local gone = assert(l4.thread.create{code = [[
    local id = ...
    l4.call(id, require("console").READ, 10)
  ]], args = {id}})
  -- a reader that waits and is taken over: it gets label 1
  local first = assert(l4.thread.create{code = [[
    local id, test = ...
    l4.sleep(50)
    local from, label = l4.call(id, require("console").READ, 10)
    l4.send(test, 1, label or -1)
  ]], args = {id, l4.self()}})
  l4.sleep(20)
  l4.thread.kill(gone)
  l4.sleep(80)
  -- this thread reads now: the first reader is told
  local from, label = l4.call(id, {receive = 200}, proto.READ, 10)
  check(not from and label == "timeout", "this read got %s %s", tostring(from), tostring(label))
  local who, l, got = l4.receive(first, {receive = 2000})
  check(who and got == 1, "the reader taken over got %s", tostring(got))
  l4.thread.kill(id)
end)

case("console_server_runaway_version_fails", function()
  local id = server()
  local t0 = l4.clock()
  local from, label = l4.call(id, {timeout = 2000}, require("service_proto").RELOAD,
                              "return {run = function() while true do end end}", "=runaway")
  check(from and label == 0, "the reload was refused: %s", tostring(label))
  local st
  repeat l4.sleep(10) st = l4.thread.status(id) until st ~= "running" or l4.clock() - t0 > 5e6
  check(st == "failed", "the runaway server is %s", st)
  print(("console_keeps: a runaway console server failed %d ms after its reload"):format(
        (l4.clock() - t0) // 1000))
end)

-- Input queued faster than its reader takes it, in pieces of every size,
-- read back in pieces of every size: every byte comes out once, in order,
-- and a drained queue gives nothing more (a READ then waits). Before the
-- queue kept its end explicitly, a chunk queued while the slots before
-- `head` were nil could land where no read looked, while the byte count
-- still held it: a push of 18 KB over COM2 lost bytes and its agent then
-- read "" for ever.
local PUMPED = [[
  local backend = {written = {}}
  function backend:write(s) self.written[#self.written + 1] = s end
  require("console_server").serve(backend, {name = "test-pumped"})
]]
case("console_server_queue_keeps_every_byte", function()
  local id = assert(l4.thread.create{code = PUMPED, prio = 200, memcap = 4 << 20})
  check(l4.call(id, {timeout = 2000}, proto.INFO), "the server does not answer")
  local seed, sent, got = 12345, {}, {}
  local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n + 1 end
  local n_sent, n_got = 0, 0
  for i = 1, 3000 do
    if rnd(10) <= 7 then
      local s = string.char(65 + i % 26):rep(rnd(30)) .. tostring(i)
      local from, label = l4.call(id, {timeout = 2000}, proto.INPUT, s)
      check(from and label == proto.OK, "INPUT %d: %s", i, tostring(label))
      sent[#sent + 1] = s
      n_sent = n_sent + #s
    elseif n_got < n_sent then
      local from, label, data = l4.call(id, {timeout = 2000}, proto.READ, rnd(200))
      check(from and label == proto.OK, "READ: %s", tostring(label))
      got[#got + 1] = data
      n_got = n_got + #data
    end
  end
  while n_got < n_sent do
    local from, label, data = l4.call(id, {timeout = 2000}, proto.READ, proto.READ_MAX)
    check(from and label == proto.OK, "READ at %d of %d bytes: %s", n_got, n_sent, tostring(label))
    check(#data > 0, "an empty READ at %d of %d bytes", n_got, n_sent)
    got[#got + 1] = data
    n_got = n_got + #data
  end
  check(table.concat(got) == table.concat(sent), "the bytes read are not the bytes queued")
  local from = l4.call(id, {timeout = 100}, proto.READ, 10)
  check(not from, "a READ of a drained queue answered")
  l4.thread.kill(id)
end)

return cases
