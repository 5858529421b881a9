-- Every core component comes back, with what it held (issue 14;
-- docs/recovery.md "Who watches whom", docs/services.md "Plan entries"):
-- the supervisor's plain entries (a task and a root thread that are not
-- framework services) restarted on death, its guard starting the
-- supervisor again, ... Each comeback is timed with l4.clock and must
-- take under 1 s of guest time; the figures print as "comeback: ...".
local service = require "service"
local names = require "names"
local supervisor = require "supervisor"
local util = require "bindings_util"
local wait_for = util.wait_for

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

local function check(cond, fmt, ...)
  if not cond then error(fmt and fmt:format(...) or "check failed", 2) end
end

local figures = {}
local names_before, names_id, guard, plan
local function now_ms() return l4.clock() / 1000 end

local function status_of(name)
  local sup = assert(names.lookup("supervisor"))
  local from, label, text = l4.call(sup, {timeout = 2000}, supervisor.STATUS)
  assert(from and label == 0, "the supervisor does not answer")
  for _, s in ipairs(service.decode(text)) do
    if s.name == name then return s end
  end
end

-- Waits until name is held by another id than old, for which ok(id) is
-- true; -> the new id and the ms it took from t0.
local function back(name, old, t0, ok, limit)
  local new
  check(wait_for(limit or 3000, function()
    new = names.lookup(name)
    return new and new ~= old and (not ok or ok(new))
  end), "%s did not come back (%s)", name, service.encode(status_of(name) or {}))
  return new, now_ms() - t0
end

local function plain_answers(id)
  local from, label, n, a1, a2, a3 = l4.call(id, {timeout = 500}, 1)
  return from and label == 0 and {n = n, a1, a2, a3}
end

local function figure(what, ms)
  check(ms < 1000, "%s took %.0f ms (at most 1000)", what, ms)
  figures[#figures + 1] = ("comeback: %-40s %5.0f ms"):format(what, ms)
end

case("comeback_plan_start", function()
  names_before = names.server()
  names_id = assert(l4.task.spawn{script = "service_task.lua", name = "names-comeback",
                                  args = {"names", "names.lua", false, false, false, n = 5},
                                  memcap = 4 << 20})
  names.use(names_id)
  check(service.wait("names", 3000), "the name service did not answer")
  -- the guard runs in a thread, as the root's main thread runs it
  plan = {names = names_id, prio = 160, hang = 1500, services = {
    {name = "cb-echo", script = "services/echo.lua", restart = "always", memcap = 4 << 20},
    {name = "cb-task", script = "comeback_plain.lua", ping = false, restart = "always",
     args = {"one", 2, nil, n = 3}, memcap = 4 << 20, backoff = 20},
    {name = "cb-thread", code = "return loadfile('comeback_plain.lua')(...)", thread = true,
     ping = false, restart = "always", args = {"t", 7}, memcap = 2 << 20, backoff = 20,
     started = "local id, name = ...; require('names').register(name .. '.hook', id)"},
  }}
  guard = assert(l4.thread.create{
    code = "local plan = require('service').decode(...); require('supervisor').guard(plan)",
    args = {service.encode(plan)}, prio = 165, memcap = 4 << 20})
  for _, n in ipairs{"supervisor", "cb-echo"} do
    check(service.wait(n, 5000), "%s did not come up", n)
  end
  local t = assert(names.lookup("cb-task"))
  local r = plain_answers(t)
  check(r and r.n == 3 and r[1] == "one" and r[2] == "2" and r[3] == "nil",
        "the plain task got its args wrong: %s", service.encode(r or {}))
  local th = assert(names.lookup("cb-thread"))
  check(th.task == l4.self().task, "cb-thread is not a thread of the root")
  r = plain_answers(th)
  check(r and r.n == 2 and r[1] == "t" and r[2] == "7", "the plain thread's args: %s",
        service.encode(r or {}))
  check(names.lookup("cb-thread.hook") == th, "the started hook did not run")
  local s = status_of("cb-task")
  check(s.kind == "task" and s.ping == false and s.state == "running", "cb-task: %s",
        service.encode(s))
end)

case("comeback_plain_task_killed", function()
  local old = assert(names.lookup("cb-task"))
  local t0 = now_ms()
  assert(l4.task.delete(old))
  local new, ms = back("cb-task", old, t0, plain_answers)
  figure("a plain task, deleted", ms)
  local s = status_of("cb-task")
  check(s.restarts == 1 and s.reason:find("was killed"), "cb-task: %s", service.encode(s))
end)

case("comeback_plain_thread_killed_and_failed", function()
  local old = assert(names.lookup("cb-thread"))
  local t0 = now_ms()
  assert(l4.thread.kill(old))
  local new, ms = back("cb-thread", old, t0, plain_answers)
  figure("a plain root thread, killed", ms)
  check(names.lookup("cb-thread.hook") == new, "the started hook did not run again")
  -- a Lua error in it: that thread alone fails
  t0 = now_ms()
  l4.call(new, {timeout = 200}, 2)
  local newer
  newer, ms = back("cb-thread", new, t0, plain_answers)
  figure("a plain root thread, a Lua error", ms)
  local s = status_of("cb-thread")
  check(s.restarts == 2 and s.reason:find("failed"), "cb-thread: %s", service.encode(s))
end)

-- The guard starts the supervisor again; the new one takes over what
-- runs: nothing else is restarted.
case("comeback_supervisor_killed", function()
  local old = assert(names.lookup("supervisor"))
  local echo, task = assert(names.lookup("cb-echo")), assert(names.lookup("cb-task"))
  local t0 = now_ms()
  assert(l4.thread.kill(old))
  local new, ms = back("supervisor", old, t0, function(id)
    local from, label = l4.call(id, {timeout = 200}, supervisor.STATUS)
    return from and label == 0
  end)
  figure("the supervisor, killed", ms)
  check(names.lookup("cb-echo") == echo and names.lookup("cb-task") == task,
        "the new supervisor restarted what was running")
  check(status_of("cb-echo").state == "running", "cb-echo is not supervised")
  -- and it supervises: a death after the takeover is restarted
  t0 = now_ms()
  assert(l4.task.delete(task))
  local _, ms2 = back("cb-task", task, t0, plain_answers)
  figure("a plain task, after the supervisor's comeback", ms2)
end)

-- A version of the supervisor whose tick raises, with on_error = "exit":
-- its thread fails with a Lua error; the guard starts the script again.
local function reload_supervisor(tick, extra)
  local old = assert(names.lookup("supervisor"))
  local src = "local d = require('supervisor').service; return {name = 'supervisor', "
    .. "version = 'broken', handlers = d.handlers, period = 100, " .. (extra or "")
    .. "tick = function() " .. tick .. " end}"
  local from, label, why = l4.call(old, {timeout = 2000}, service.RELOAD, src, "=broken")
  check(from and label == 0, "the reload was refused: %s %s", tostring(label), tostring(why))
  return old
end

case("comeback_supervisor_lua_error", function()
  local old = reload_supervisor("error('a Lua error on purpose')", "on_error = 'exit', ")
  local t0 = now_ms()
  local new, ms = back("supervisor", old, t0)
  figure("the supervisor, a Lua error", ms)
  check(service.info(new).version == "1", "the new supervisor is not the script's")
end)

case("comeback_supervisor_memory", function()
  local old = reload_supervisor("local t = {} for i = 1, math.maxinteger do t[i] = ('x'):rep(4096) .. i end",
                                "on_error = 'exit', ")
  local t0 = now_ms()
  local new, ms = back("supervisor", old, t0)
  figure("the supervisor, its memory cap", ms)
  check(service.info(new).version == "1", "the new supervisor is not the script's")
end)

-- A version whose tick never ends (no budget): it stops answering; the
-- guard (hang = 1500 ms here) kills it and starts the script again.
-- A version whose tick never ends (no budget): it stops answering; the
-- guard (hang = 1500 ms here) kills it and starts the script again.
case("comeback_supervisor_hung", function()
  local old = reload_supervisor("while true do end")
  local t0 = now_ms()
  local new, ms = back("supervisor", old, t0, nil, 6000)
  check(ms < 3500, "the hung supervisor was replaced after %.0f ms", ms)
  figures[#figures + 1] = ("comeback: %-40s %5.0f ms (hang = 1500 ms)"):format(
    "the supervisor, a runaway loop", ms)
  check(service.info(new).version == "1", "the new supervisor is not the script's")
end)

case("comeback_plan_end", function()
  assert(l4.thread.kill(guard))
  local sup = names.lookup("supervisor")
  if sup then l4.thread.kill(sup) end
  for _, n in ipairs{"cb-echo", "cb-task"} do
    local id = names.lookup(n)
    if id then l4.task.delete(id) end
  end
  local th = names.lookup("cb-thread")
  if th then l4.thread.kill(th) end
  l4.task.delete(names_id)
  if names_before then names.use(names_before) end
  for _, line in ipairs(figures) do print(line) end
end)

return cases
