-- Fault isolation under the supervisor (issue 9; docs/reliability.md
-- "Fault isolation"): a service, "victim" (services_crash.lua, mode
-- "serve"), is crashed in each way a service can die, one case per kind;
-- the supervisor must notice, log the reason and restart it under the
-- same name, while a client task calls another service, "witness"
-- (services/echo.lua), without pause and must never miss an answer.
-- It runs its own name service and supervisor (services.lua's keep
-- running beside them) and prints the figures ("isolation: ...").
local service = require "service"
local names = require "names"
local supervisor = require "supervisor"

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

local function check(cond, fmt, ...)
  if not cond then error(fmt and fmt:format(...) or "check failed", 2) end
end

local labels = dofile("services_crash.lua").labels
local STATS, STOP = 1, 2                        -- isolation_client.lua
local PORT = 0x2e8                              -- COM4's first port: no one uses it
local BACKOFF = 10                              -- ms, the victim's back-off, fixed

local sup_id, names_id, names_before, client, witness
local figures = {}

local function now_ms() return l4.clock() / 1000 end

local wait_for = require("bindings_util").wait_for

-- The supervisor's entry of name (asked by id: service.lua caches names).
local function status_of(name)
  local from, label, text = l4.call(sup_id, {timeout = 2000}, supervisor.STATUS)
  assert(from and label == 0, "the supervisor does not answer")
  for _, s in ipairs(service.decode(text)) do
    if s.name == name then return s end
  end
end

-- The client's counts: calls, misses, slowest (µs), last miss.
local function client_stats(label)
  local from, l, calls, misses, slowest, last = l4.call(client, {timeout = 3000}, label or STATS)
  assert(from and l == 0, "the client does not answer: " .. tostring(l))
  return {calls = calls, misses = misses, slowest = slowest, last = last}
end

-- The pager of thread id (the root's pager thread, for a Lua task).
local function pager_of(id)
  for _, t in ipairs(l4.sys.threads()) do
    if t.id == id then return assert(t.pager, "the thread has no pager") end
  end
  error("no thread " .. tostring(id))
end

local function answers(id, label)
  local from, l, v = l4.call(id, {timeout = 500}, label or labels.PING)
  return from and l == 0 and v
end

case("isolation_start", function()
  names_before = names.server()
  names_id = assert(l4.task.spawn{script = "service_task.lua", name = "names-isolation",
                                  args = {"names", "names.lua", false, false, false, n = 5},
                                  memcap = 4 << 20})
  names.use(names_id)
  check(service.wait("names", 3000), "the name service did not answer")
  sup_id = assert(supervisor.start{names = names_id, prio = 160, services = {
    {name = "witness", script = "services/echo.lua", restart = "always", memcap = 4 << 20},
    -- below the client: a runaway victim delays no one (docs/reliability.md)
    {name = "victim", script = "services_crash.lua", restart = "always", memcap = 4 << 20,
     prio = l4.thread.schedule(l4.self()) - 10,
     backoff = BACKOFF, backoff_max = BACKOFF, limit = 20, config = {mode = "serve", port = PORT},
     hang = 2500, ping_every = 250,     -- found hung 2.5 s after its last answer
     io = {{PORT, 1}}},
  }})
  for _, n in ipairs{"supervisor", "witness", "victim"} do
    check(service.wait(n, 5000), "%s did not come up", n)
  end
  witness = assert(names.lookup("witness"))
  client = assert(l4.task.spawn{script = "isolation_client.lua", name = "isolation-client",
                                memcap = 4 << 20, args = {names_id.raw, "witness", l4.self().raw}})
  check(wait_for(2000, function() return client_stats().calls >= 20 end), "the client does not run")
  -- the victim holds its port: a read works
  check(answers(names.lookup("victim"), labels.INB), "the victim cannot read its port")
end)

-- Each kind: the label that crashes the victim, what the test does
-- first, the supervisor's reason (a pattern).
local kinds = {
  {"lua_error", "failed: crash: a Lua error on purpose"},
  {"null", "failed: page fault at 0x100000000000 .*nothing is mapped there"},
  {"write", "failed: page fault at .*write to read%-only memory"},
  {"stack", "failed: page fault at .*stack overflow"},
  {"runaway", "failed: the request ran out of its instruction budget"},
  {"memory", "failed: not enough memory"},
  {"port_refused", "failed: .*I/O port 0x60 is not held by this task"},
  {"port_gp", "failed: exception at .*vector 13",
   function() assert(l4.unmap(l4.iofpage(PORT, 0))) end},
  {"opcode", "failed: exception at .*vector 6"},
  {"hang", "did not answer for %d+ ms %(hung: [^)]+%): deleted"},
}

for _, k in ipairs(kinds) do
  local kind, reason, before = k[1], k[2], k[3]
  case("isolation_" .. kind, function()
    check(client, "no client (isolation_start failed)")
    local old = assert(names.lookup("victim"))
    check(answers(old), "the victim does not answer before")
    local s0, c0 = status_of("victim"), client_stats()
    if before then before() end
    local t0 = now_ms()
    local from, label, msg = l4.call(old, {timeout = 3000}, labels[kind], pager_of(old).raw)
    local new
    check(wait_for(5000, function()
      new = names.lookup("victim")
      return new and new ~= old and answers(new)
    end), "%s: the victim was not restarted (%s)", kind, service.encode(status_of("victim")))
    local t1 = now_ms()
    local s = status_of("victim")
    check(s.state == "running" and s.id == new.raw and s.restarts == s0.restarts + 1,
          "%s: %s, id %s, %d restarts", kind, s.state, tostring(s.id), s.restarts)
    check(s.reason:find(reason), "%s: the reason is %q", kind, s.reason)
    -- everything else answered throughout
    local c1 = client_stats()
    check(c1.misses == 0, "%s: the client missed %d answers (%s)", kind, c1.misses, c1.last)
    check(c1.calls > c0.calls, "%s: the client made no calls meanwhile", kind)
    check(names.lookup("witness") == witness and answers(witness, 2), "%s: the witness changed", kind)
    check(status_of("witness").restarts == 0, "%s: the witness was restarted", kind)
    figures[#figures + 1] = ("isolation: %-12s %5.0f ms to an answer again, %4d client calls meanwhile, "
                             .. "reason: %s"):format(kind, t1 - t0, c1.calls - c0.calls, s.reason)
  end)
end

case("isolation_client_missed_nothing", function()
  check(client, "no client")
  local c = client_stats(STOP)
  check(c.misses == 0, "the client missed %d answers (%s)", c.misses, c.last)
  local how, status = l4.task.wait(client, 3000)
  l4.task.delete(client)
  check(how == "exited" and status == 0, "the client: %s %s", tostring(how), tostring(status))
  for _, line in ipairs(figures) do print(line) end
  print(("isolation: the client made %d calls to the witness, none missed, the slowest answer "
         .. "in %d ms (l4.clock counts whole ms)"):format(c.calls, c.slowest // 1000))
  check(#figures == #kinds, "%d of %d kinds survived", #figures, #kinds)
  if names_before then names.use(names_before) end
end)

return cases
