-- The service framework, the name service, the supervisor and hot reload
-- (scripts/service.lua, names.lua, supervisor.lua; docs/services.md), in
-- the test boot's root task: it starts its own name service and
-- supervisor with a plan of test services, then reloads, breaks and kills
-- them. Prints the figures ("services: ...") for docs/services.md.
local service = require "service"
local names = require "names"
local supervisor = require "supervisor"

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

local function check(cond, fmt, ...)
  if not cond then error(fmt and fmt:format(...) or "check failed", 2) end
end

local ECHO, COUNT, FAIL = 1, 2, 3
local names_id

local function status_of(name)
  for _, s in ipairs(assert(supervisor.status())) do
    if s.name == name then return s end
  end
end

local wait_for = require("bindings_util").wait_for

local function source_of(path)
  return assert(service.read_source(path))
end

case("services_start", function()
  names_id = assert(l4.task.spawn{script = "service_task.lua", name = "names",
                                  args = {"names", "names.lua", false, false, false, n = 5},
                                  memcap = 4 << 20})
  names.use(names_id)
  check(service.wait("names", 3000), "the name service did not answer")
  assert(supervisor.start{names = names_id, prio = 160, services = {
    {name = "echo", script = "services/echo.lua", restart = "always", backoff = 20, memcap = 4 << 20},
    {name = "ham", script = "services_ham.lua", restart = "always", memcap = 8 << 20},
    {name = "crash", script = "services_crash.lua", restart = "always", backoff = 10, limit = 2},
    {name = "quits", script = "services_crash.lua", restart = "on-failure", config = {mode = "exit"}},
    {name = "sched", script = "sched_policy.lua", thread = true, restart = "on-failure", prio = 170,
     memcap = 2 << 20, config = {high = 30}},
  }})
  for _, n in ipairs{"supervisor", "echo", "ham", "sched"} do
    check(service.wait(n, 5000), "%s did not come up", n)
  end
end)

case("services_names", function()
  local echo = assert(names.lookup("echo"))
  local st = status_of("echo")
  check(st and st.id == echo, "the supervisor and the name service disagree on echo's id")
  local id, msg, code = names.lookup("nobody")
  check(id == nil and code == names.E_NONAME and msg:find("nobody"), "lookup of nobody: %s", tostring(msg))
  assert(names.register("test.me", l4.self()))
  check(names.lookup("test.me") == l4.self(), "a registered name does not look up")
  assert(names.unregister("test.me"))
  check(names.lookup("test.me") == nil, "an unregistered name still looks up")
  local list = assert(names.list())
  local seen = {}
  for _, e in ipairs(list) do seen[e.name] = e.id end
  check(seen.names and seen.echo and seen.supervisor and seen.sched, "list lacks a service")
  local n, a, b = service.call("echo", ECHO, 7, "seven")
  check(n == 1 and a == 7 and b == "seven", "echo answered %s %s %s", tostring(n), tostring(a), tostring(b))
  local x, err, c = service.call("echo", FAIL, "no good")
  check(x == nil and err == "no good" and c == service.E_HANDLER, "an error reply: %s %s", tostring(err), tostring(c))
  x, err, c = service.call("echo", 99)
  check(x == nil and c == service.E_UNKNOWN, "an unknown label: %s", tostring(err))
  -- a late reply (label 0, its caller gone) is dropped, not answered:
  -- sent as a late replier's reply_wait sends it, waiting right after
  local from, label, what = l4.call(echo, {timeout = 300}, 0, "a late reply")
  check(from == nil, "a late reply was answered: label %s, %s", tostring(label), tostring(what))
  local i = assert(service.info("echo"))
  check(i.version == "1" and i.requests == 2 and i.errors == 1, "INFO: %s %d %d", i.version, i.requests, i.errors)
  local l = assert(service.list())
  local e
  for _, s in ipairs(l) do if s.name == "echo" then e = s end end
  check(e and e.version == "1" and e.requests == 2 and e.state == "running" and e.restarts == 0,
        "service.list: %s", service.encode(e or {}))
end)

local echo_v2 = [[
return {
  name = "echo", version = 2,
  init = function(state) state.count, state.seen = 0, {} end,
  migrate = function(old) return {count = old.count, seen = {}} end,
  handlers = {
    [1] = function(state, from, x)
      state.count = state.count + 1
      state.seen[#state.seen + 1] = x
      return state.count, #state.seen, "v2:" .. tostring(x)
    end,
    [2] = function(state) return state.count end,
  },
}
]]

-- A service that starts while the name service does not answer (it is
-- being restarted) registers after a later PING (the supervisor's, every
-- second), without anything done by it or its clients. Before, it printed
-- "cannot register" and stayed unnamed for good (make faultinject's
-- 100,000-fault run: echo2 started while names was restarting).
case("services_register_again_after_a_ping", function()
  local FAKE = [[
    l4.sleep(2500)                          -- not answering: the first REGISTER times out
    local got
    local from, label, a, b = l4.receive()
    while true do
      if label == 1 then got = b; from, label, a, b = l4.reply_wait(from, 0, 1)
      elseif label == 99 then from, label, a, b = l4.reply_wait(from, 0, got or "")
      else from, label, a, b = l4.reply_wait(from, 1, "no") end
    end
  ]]
  local fake = assert(l4.thread.create{code = FAKE, prio = 150})
  local svc = assert(l4.thread.create{code = ([[
    require("names").use(l4.id(%d))
    require("service").run{name = "lazy", handlers = {[1] = function() return 1 end}}
  ]]):format(fake.raw), prio = 150})
  local got, t0 = "", l4.clock()
  while got ~= "lazy" and l4.clock() - t0 < 15000000 do
    local from = l4.call(svc, {timeout = 3000}, service.PING)
    check(from, "the service does not answer PING")
    local f, _, name = l4.call(fake, {timeout = 1000}, 99)
    got = f and name or got
    l4.sleep(200)
  end
  check(got == "lazy", "not registered after %d ms", (l4.clock() - t0) // 1000)
  print(("services: lazy registered %d ms after it started"):format((l4.clock() - t0) // 1000))
  l4.thread.kill(svc)
  l4.thread.kill(fake)
end)

case("services_reload_migrates_state", function()
  local before = assert(service.call("echo", COUNT))
  local v, gen = service.reload("echo", echo_v2, "=echo v2")
  check(v == "2" and gen == 2, "reload: %s %s", tostring(v), tostring(gen))
  local n, seen, s = service.call("echo", ECHO, "a")
  check(n == before + 1 and s == "v2:a" and seen == 1, "v2 answered %s %s %s", tostring(n), tostring(s), tostring(seen))
  local id = names.lookup("echo")
  check(id == status_of("echo").id, "the reload changed echo's id")
end)

case("services_reload_rejected", function()
  local count = assert(service.call("echo", COUNT))
  local v, err, code = service.reload("echo", "return {name = 'echo', version = 3, handlers = {", "=broken")
  check(v == nil and code == service.E_REJECTED and err:find("broken"), "syntax error: %s", tostring(err))
  v, err = service.reload("echo", [[return {version = 3, handlers = {},
    migrate = function(old) return old.nothing.here end}]])
  check(v == nil and err:find("^migrate:"), "migrate error: %s", tostring(err))
  v, err = service.reload("echo", "error('top level fails')")
  check(v == nil and err:find("top level fails"), "load error: %s", tostring(err))
  v, err = service.reload("echo", "return 42")
  check(v == nil and err:find("no service definition"), "no definition: %s", tostring(err))
  v, err = service.reload("echo", "while true do end")
  check(v == nil and err:find("instruction budget"), "a runaway top level: %s", tostring(err))
  -- one byte over what a reload carries: refused before it is sent, said so
  local big = echo_v2 .. "--" .. ("x"):rep(service.RELOAD_MAX - #echo_v2 - 1)
  v, err, code = service.reload("echo", big)
  check(v == nil and code == service.E_REJECTED and
        err == ("echo: a version of %d bytes: a reload carries at most %d (split it into modules)")
               :format(service.RELOAD_MAX + 1, service.RELOAD_MAX), "a big version: %s", tostring(err))
  local n, _, s = service.call("echo", ECHO, "b")
  check(n == count + 1 and s == "v2:b", "after rejected reloads: %s %s", tostring(n), tostring(s))
  local i = service.info("echo")
  check(i.version == "2" and i.generation == 2, "version %s generation %d", i.version, i.generation)
end)

case("services_rollback_on_first_request_error", function()
  local count = assert(service.call("echo", COUNT))
  local v = assert(service.reload("echo", [[
    return {name = "echo", version = 3,
            migrate = function(old) return {count = old.count + 1000, seen = old.seen} end,
            handlers = {[1] = function(state, from, x) return nil + x end,
                        [2] = function(state) return state.count end}}]], "=echo v3"))
  check(v == "3", "v3 not taken")
  local x, err, code = service.call("echo", ECHO, 1)
  check(x == nil and code == service.E_HANDLER and err:find("arithmetic"), "v3's first request: %s", tostring(err))
  local i = service.info("echo")
  check(i.version == "2" and i.rollbacks == 1 and i.generation == 2, "after the rollback: version %s, %d rollbacks",
        i.version, i.rollbacks)
  local n, _, s = service.call("echo", ECHO, "c")
  check(n == count + 1 and s == "v2:c", "v2 again, its state as before v3: %s %s", tostring(n), tostring(s))
end)

case("services_rollback_on_death", function()
  local old = status_of("echo").id
  assert(service.reload("echo", [[
    return {name = "echo", version = 4,
            handlers = {[1] = function() os.exit(3) end, [2] = function() os.exit(3) end}}]], "=echo v4"))
  local x, err, code = service.call("echo", ECHO, 1)
  check(x == nil, "v4 answered")
  check(wait_for(3000, function()
    local s = status_of("echo")
    return s.state == "running" and s.id ~= old
  end), "echo was not restarted")
  local s = status_of("echo")
  check(s.reason == "exited (status 3)" and s.restarts == 1, "reason %s, %d restarts", tostring(s.reason), s.restarts)
  check(service.wait("echo", 3000), "the restarted echo does not answer")
  -- restarted from the last good version (2), not the script (1) nor 4
  local i = service.info("echo")
  local n, _, t = service.call("echo", ECHO, "d")
  check(i.version == "2" and t == "v2:d", "restarted as version %s: %s", i.version, tostring(t))
end)

case("services_kill_restarts_with_the_name_kept", function()
  local old = assert(names.lookup("echo"))
  assert(service.call("echo", ECHO, 1))
  assert(l4.task.delete(old))                      -- what `kill echo` does
  local x, err, code = l4.call(old, {timeout = 100}, ECHO, 1)
  check(x == nil and code == 1, "a call to the dead echo: %s %s", tostring(err), tostring(code))
  local new
  check(wait_for(3000, function()
    new = names.lookup("echo")
    return new and new ~= old and service.wait("echo", 10)
  end), "echo did not come back under its name")
  local s = status_of("echo")
  check(s.reason == "was killed (its task was deleted)" and s.restarts == 2, "reason %s restarts %d",
        tostring(s.reason), s.restarts)
  -- the client helper: its cached id is the dead one; it looks up again
  -- and sends its values again (kept for the retry; version 2, restarted,
  -- answers the first)
  local n, _, s = service.call("echo", ECHO, 5, 6, 7, 8)
  check(math.type(n) == "integer" and s == "v2:5", "service.call after the restart: %s %s",
        tostring(n), tostring(s))
end)

case("services_policies_and_limit", function()
  check(wait_for(3000, function() return status_of("crash").state == "given up" end),
        "crash: %s", status_of("crash").state)
  local c = status_of("crash")
  check(c.restarts == 2 and c.reason:find("broken on purpose"), "crash: %d restarts, %s", c.restarts, tostring(c.reason))
  local q = status_of("quits")
  check(q.state == "exited" and q.restarts == 0, "quits (on-failure, exit 0): %s, %d restarts", q.state, q.restarts)
  check(names.lookup("crash") == nil, "a service that gave up is still registered")
end)

-- Reloads ham n times in a row, from version `from` on.
local ham_src
local function ham_version(v)
  return (ham_src:gsub("local VERSION = 1", "local VERSION = " .. v))
end

case("services_reload_time", function()
  ham_src = source_of("services_ham.lua")
  local id = assert(names.lookup("ham"))
  local total, swap = 0, 0
  local N = 10
  for k = 1, N do
    local src = ham_version(1000 + k)
    local t0 = l4.debug.rdtsc()
    local v = assert(service.reload("ham", src, "=ham"))
    local t1 = l4.debug.rdtsc()
    local from, label, seq, ver = l4.call(id, 1, k)
    local t2 = l4.debug.rdtsc()
    check(ver == 1000 + k, "version %s served", tostring(ver))
    total, swap = total + (t2 - t0), swap + (t1 - t0)
  end
  print(("services: reload of a %d-byte service: %d instructions from service.reload to the new "
         .. "version's first reply (%d in the reload call)"):format(#ham_src, total // N, swap // N))
  -- the same through the RELOAD message alone (no supervisor notice)
  local t0 = l4.debug.rdtsc()
  local from, label, gen, good, v = l4.call(id, service.RELOAD, ham_version(1), "=ham")
  local t1 = l4.debug.rdtsc()
  check(label == 0 and v == "1", "RELOAD: %s %s", tostring(label), tostring(v))
  -- the generation it falls back to: the one that served the last request
  check(good == gen - 1, "RELOAD: generation %s, falls back to %s", tostring(gen), tostring(good))
  print(("services: RELOAD message alone (compile, migrate, swap): %d instructions"):format(t1 - t0))
end)

local function spawn_clients(k, n, mode)
  local ids = {}
  for i = 1, k do
    ids[i] = assert(l4.task.spawn{script = "services_client.lua", memcap = 4 << 20,
                                  args = {names_id.raw, "ham", n, i, mode}})
  end
  return ids
end

local function wait_clients(ids)
  for i, id in ipairs(ids) do
    local how, what = l4.task.wait(id, 60000)
    l4.task.delete(id)
    check(how == "exited" and what == 0, "client %d: %s %s", i, tostring(how), tostring(what))
  end
end

case("services_throughput", function()
  local K, N = 4, 500
  for _, mode in ipairs{"raw", "helper"} do
    local c0 = assert(service.call("ham", 2))
    local ids = spawn_clients(K, N, mode)
    -- measure in the middle: after 200 requests, over the next 1,000
    wait_for(10000, function() return service.call("ham", 2) >= c0 + 200 end)
    local r0, t0 = service.call("ham", 2), l4.debug.rdtsc()
    wait_for(10000, function() return service.call("ham", 2) >= r0 + 1000 end)
    local r1, t1 = service.call("ham", 2), l4.debug.rdtsc()
    wait_clients(ids)
    local per = (t1 - t0) // (r1 - r0)
    print(("services: %d Lua client tasks (%s), %d requests: %d instructions a request, "
           .. "%d requests/s at 1 instruction/ns (icount)"):format(K, mode == "raw" and "l4.call" or "service.call",
           r1 - r0, per, 1000000000 // per))
    local c1 = service.call("ham", 2)
    check(c1 == c0 + K * N, "served %d requests, sent %d", c1 - c0, K * N)
  end
end)

case("services_hammer_100_reloads", function()
  local K, N = 4, 1000
  local c0, m0 = service.call("ham", 2)
  local ids = spawn_clients(K, N, "helper")
  local reloads, during, last = 0, 0, c0
  local t0 = l4.debug.rdtsc()
  while reloads < 100 do
    local c = service.call("ham", 2)
    if c >= last + 25 or c >= c0 + K * N then
      reloads = reloads + 1
      local v, err = service.reload("ham", ham_version(reloads + 1), "=ham")
      check(v == tostring(reloads + 1), "reload %d: %s", reloads, tostring(err))
      if c < c0 + K * N then during = during + 1 end
      last = c
    else
      -- the clients' turn (they run at this thread's priority): a yield,
      -- not a sleep, which lasts to the next timer tick, 1 ms, some 200
      -- requests (the reloads used to give them their turn only because
      -- service.reload asked the name service, at that priority too,
      -- twice; without that, 27 of the 100 reloads met the requests)
      l4.thread.switch()
    end
  end
  wait_clients(ids)
  local t1 = l4.debug.rdtsc()
  local c1, m1 = service.call("ham", 2)
  check(c1 == c0 + K * N, "served %d requests, sent %d", c1 - c0, K * N)
  check(m1 == m0 + 100, "%d migrations, want 100", m1 - m0)
  local i = service.info("ham")
  check(i.version == "101" and i.reloads >= 100, "version %s after the hammer", i.version)
  print(("services: hammer: %d clients x %d requests, each answered once and in order, %d reloads "
         .. "(%d while requests were coming), %d instructions in all"):format(K, N, reloads, during, t1 - t0))
  check(during >= 50, "only %d reloads happened under load", during)
end)

-- The framework's request loop serves requests of integers to a handler
-- in C (l4.serve, bindings/ipc.c) between those it serves in Lua. Two
-- services with the same handlers, one with an instruction budget (so
-- every request goes through service.lua's loop, as budgets are its
-- policy), answer the same mix of requests alike: integers, strings,
-- booleans, an id, too many values, a float, errors, a reply given later,
-- a handler that makes IPC of its own, unknown labels and PINGs between;
-- INFO counts the same requests and errors.
case("services_served_in_c_as_in_lua", function()
  local BODY = [[
    local l4, service = require "l4", require "service"
    local budget = ...
    local pending
    local echo = l4.debug.echo()
    service.run{name = "mix", budget = budget or nil, handlers = {
      [1] = function(_, _, a, b) return a + b, a - b end,
      [2] = function(_, _, n, s) return #s, s:upper(), n end,  -- (words first, then strings)
      [3] = function() return true, false end,
      [4] = function(_, _, x) error("four: " .. x, 0) end,
      [5] = function(_, from) pending = from end,
      [6] = function(_, _, x)
        if not pending then return 0 end
        service.reply(pending, x * 2); pending = nil
        return 1
      end,
      [7] = function() return l4.self() end,
      [8] = function(_, _, x) local _, _, a = l4.call(echo, 1, x); return a + 1 end,
      [9] = function() return 1, 2, 3, 4, 5, 6, 7 end,
      [10] = function() return 1.5 end,
      [11] = function() return 2.0 end,
      [12] = function() return {} end,
      [13] = function(_, _, ...) return select("#", ...), ... end,
    }}
  ]]
  local function run(svc)
    local out, sent = {}, 0
    local function call(label, ...)
      local r = table.pack(l4.call(svc, {timeout = 3000}, label, ...))
      check(r[1] ~= nil, "call %s: %s", tostring(label), tostring(r[2]))
      if label < 99 then sent = sent + 1 end        -- a request to a handler
      local parts = {}
      for k = 2, r.n do     -- (the service's own id: each has its own)
        local v = r[k]
        parts[#parts + 1] = v == svc.raw and "self" or (math.type(v) or type(v)) .. ":" .. tostring(v)
      end
      out[#out + 1] = table.concat(parts, " ")
    end
    for i = 1, 40 do call(1, i, 3) end          -- a run served in C
    call(2, 5, "abc"); call(1, 2, 2)
    call(3); call(1, 1, 1)
    call(4, "x"); call(1, 5, 5); call(4, "y")
    call(7); call(8, 41); call(8, 42); call(1, 0, 0)
    call(9); call(10); call(11); call(12); call(1, 3, 4)
    call(13); call(13, 1, 2, 3, 4, 5); call(13, 1, 2, 3, 4, 5, 6); call(1, 9, 9)
    call(99, 1); call(service.PING); call(1, 8, 1)
    -- a reply later: a second thread waits on 5 until 6 answers it
    local me = l4.self()
    local waiter = assert(l4.thread.create{args = {me, svc}, code = [[
      local me, svc = ...
      local _, label, v = l4.call(svc, 5)
      l4.send(me, 77, label, v)
    ]]})
    local got
    for _ = 1, 100 do
      got = select(3, l4.call(svc, {timeout = 3000}, 6, 21))
      sent = sent + 1
      if got == 1 then break end
      l4.sleep(10)
    end
    sent = sent + 1                 -- the waiter's
    check(got == 1, "the waiter's request never came")
    local f, l, label, v = l4.receive(waiter, 3000)
    check(f and l == 77, "the waiter: %s", tostring(l))
    out[#out + 1] = ("later: %s %s"):format(label, v)
    call(1, 100, 1)
    local _, label2, req, errs = l4.call(svc, {timeout = 3000}, service.INFO)
    check(label2 == service.OK, "INFO: %s", tostring(label2))
    check(req == sent, "INFO counts %d requests, %d were sent", req, sent)
    out[#out + 1] = ("errors %d"):format(errs)
    return out
  end
  local fast = assert(l4.thread.create{code = BODY, args = {false}, prio = 150})
  local slow = assert(l4.thread.create{code = BODY, args = {1000000000}, prio = 150})
  local a, b = run(fast), run(slow)
  l4.thread.kill(fast)
  l4.thread.kill(slow)
  check(#a == #b, "%d replies against %d", #a, #b)
  for i = 1, #a do
    check(a[i] == b[i], "reply %d: %s (in C) against %s (in Lua)", i, a[i], b[i])
  end
  check(a[1] == "integer:0 integer:4 integer:-2", "1, 1, 3: %s", a[1])
  check(a[#a] == "errors 3", "INFO: %s", a[#a])      -- 4 twice, and 12's table
end)

case("services_sched_policy", function()
  local SCHED_STATS, SCHED_TICK = 2, 3
  local me = l4.self()
  local myprio = l4.thread.schedule(me)
  local busy = assert(l4.task.spawn{script = "services_busy.lua", args = {200}, prio = myprio - 10})
  l4.sleep(20)
  assert(service.call("sched", SCHED_TICK))      -- sees it: the base priority
  l4.sleep(50)
  local changes = assert(service.call("sched", SCHED_TICK))
  local prio = l4.thread.schedule(busy)
  check(prio and prio < myprio - 10, "the busy task's priority is %s (was %d)", tostring(prio), myprio - 10)
  -- change the policy live: a period of 50 ms, raising back quickly
  local src = source_of("sched_policy.lua"):gsub("version = 1,", "version = 2,")
                                            :gsub("period = 1000,", "period = 50,")
  check(service.reload("sched", src, "@sched_policy.lua") == "2", "sched v2 rejected")
  local stats = service.decode(assert(service.call("sched", SCHED_STATS)))
  check(stats.changes == changes and #stats.events >= 1, "the state did not survive the reload")
  local conf = service.decode(assert(service.call("sched", 1)))
  check(conf.high == 30, "the configuration did not survive the reload: high %s", tostring(conf.high))
  l4.task.wait(busy, 5000)
  l4.task.delete(busy)
end)

return cases
