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
-- What the test boot had before: the root's name and file services.
local root_names, root_files, files_id, client
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

local STATS, READ, WRITE = 1, 2, 3           -- comeback_client.lua
local function client_stats()
  local from, l, calls, misses, since, last = l4.call(client, {timeout = 3000}, STATS)
  assert(from and l == 0, "the client does not answer: " .. tostring(l))
  return {calls = calls, misses = misses, since = since, last = last}
end

local function figure(what, ms)
  check(ms < 1000, "%s took %.0f ms (at most 1000)", what, ms)
  figures[#figures + 1] = ("comeback: %-40s %5.0f ms"):format(what, ms)
end

-- The crash matrix's kinds (docs/recovery.md "The crash matrix"), as Lua
-- source run inside the component (by a request that runs it, or a
-- reloaded version whose handler or tick does): the kinds of
-- lua.isolation_*. A runaway loop and a hang are found only by PING: a
-- component's `hang` ms of silence (HANG below, as scripts/init.lua's
-- plan has them), then its restart.
local KINDS = {
  {"lua_error", "error('a Lua error on purpose', 0)"},
  {"bad_memory", "l4.task._fault('write')"},         -- a store to read-only text
  {"stack", "l4.task._fault('stack')"},              -- C recursion past the stack
  {"runaway", "while true do end"},
  {"memory", "local t = {} for i = 1, math.maxinteger do t[i] = ('x'):rep(65536) .. i end"},
  {"bad_port", "l4.io.inb(0x2e8)"},                  -- COM4's: no one holds it
  {"opcode", "l4.task._fault('exception')"},         -- ud2
  {"hang", "l4.sleep()"},
}
local HANG = {names = 400, files = 400, sched = 400, pager = 400, supervisor = 600}
local SILENT = {runaway = true, hang = true}

-- A figure of a kind found only by PING: at most its hang time and 1 s
-- (the supervisor: 1 s in all, its guard sees the silence when its hang
-- time is up, docs/recovery.md "Hangs").
local function hang_figure(what, ms, hang, within)
  within = within or hang + 1000
  check(ms < within, "%s took %.0f ms (at most %d ms; hang = %d ms)", what, ms, within, hang)
  figures[#figures + 1] = ("comeback: %-40s %5.0f ms (hang = %d ms)"):format(what, ms, hang)
end

-- The store itself (runtime/lua/keeper.c): whole blobs of any size, a
-- task's keys under its name, none for a task's task, clear refusals.
case("comeback_store", function()
  local big = {}
  for i = 1, 20000 do big[i] = ("%05d\n"):format(i) end
  big = table.concat(big)                         -- 120,000 bytes: three pieces
  assert(l4.sys.store_put("cb/big", big))
  check(l4.sys.store_get("cb/big") == big, "a 120,000-byte blob came back changed")
  assert(l4.sys.store_put("cb/big", "small now"))
  check(l4.sys.store_get("cb/big") == "small now", "a put does not replace")
  assert(l4.sys.store_put("cb/empty", ""))
  check(l4.sys.store_get("cb/empty") == "", "an empty blob")
  local list = assert(l4.sys.store_list("cb/"))
  check(list["cb/big"] == 9 and list["cb/empty"] == 0, "list: %s", service.encode(list))
  assert(l4.sys.store_remove("cb/big"))
  local v, why, code = l4.sys.store_get("cb/big")
  check(v == nil and why == "no such key in the store" and code == 1, "a removed key: %s", tostring(why))
  v, why = l4.sys.store_put(("k"):rep(1025), "x")
  check(v == nil and why:find("1 to 1024 bytes"), "a long key: %s", tostring(why))
  check(not pcall(l4.sys.store_put, "k"), "store_put without data raised no error")
  assert(l4.sys.store_remove("cb/empty"))
  -- a task: its own keys, under its name
  local t = assert(l4.task.spawn{script = "comeback_store.lua", args = {"spawn"}, name = "cb-store",
                                 memcap = 4 << 20})
  local how, status = l4.task.wait(t, 10000)
  local info = l4.task.info(t)
  l4.task.delete(t)
  check(how == "exited" and status == 0, "the store task: %s %s %s", tostring(how), tostring(status),
        info and info.message or "")
  check(l4.sys.store_get("cb-store/k") == "from the task", "the task's key is not under its name")
  assert(l4.sys.store_remove("cb-store/k"))
end)

case("comeback_plan_start", function()
  names_before = names.server()
  root_names, root_files = l4.sys.names(), l4.sys.files()
  -- the store of a task is under its name: start from none ("names",
  -- "files" are the names the supervisor spawns them under)
  for _, prefix in ipairs{"names/", "files/"} do
    for key in pairs(assert(l4.sys.store_list(prefix))) do assert(l4.sys.store_remove(key)) end
  end
  names_id = assert(l4.task.spawn{script = "service_task.lua", name = "names",
                                  args = {"names", "names.lua", false, false, false, n = 5},
                                  memcap = 4 << 20})
  names.use(names_id)
  l4.sys.set_names(names_id)
  check(service.wait("names", 3000), "the name service did not answer")
  -- the file service as is, with a request that makes it loop for ever
  files_id = assert(l4.task.spawn{script = "files_loop.lua", name = "files",
                                  args = {"serve", 1 << 20}, memcap = 8 << 20, prio = 150})
  l4.sys.set_files(files_id)
  -- the guard runs in a thread, as the root's main thread runs it
  plan = {names = names_id, prio = 160, hang = HANG.supervisor, ping_every = 100, services = {
    {name = "names", script = "names.lua", id = names_id, restart = "always", memcap = 4 << 20,
     backoff = 100, backoff_max = 200, limit = 50, hang = HANG.names, ping_every = 100,
     started = "local id = ...; l4.sys.set_names(id); require('names').use(id)"},
    -- asked PING, found hung as scripts/init.lua's is
    {name = "files", script = "files_loop.lua", args = {"serve", 1 << 20}, id = files_id,
     ping = require("service_proto").PING, hang = HANG.files, ping_every = 100, restart = "always",
     prio = 150, memcap = 8 << 20, backoff = 100, backoff_max = 200, limit = 50,
     started = "l4.sys.set_files((...))"},
    {name = "cb-sched", script = "sched_policy.lua", thread = true, restart = "always",
     prio = 150, memcap = 2 << 20, backoff = 100, backoff_max = 200, limit = 50,
     hang = HANG.sched, ping_every = 100},
    {name = "cb-pager", code = "require('pager_zero').main(...)", args = {"cb-pager", 16},
     thread = true, ping = require("service_proto").PING, hang = HANG.pager, ping_every = 100,
     prio = 150,       -- below the supervisor, as in the boot plan: a runaway loop starves no watcher
     restart = "always", memcap = 4 << 20, backoff = 100, backoff_max = 200, limit = 50,
     keep_id = true},
    {name = "cb-echo", script = "services/echo.lua", restart = "always", memcap = 4 << 20},
    {name = "cb-task", script = "comeback_plain.lua", ping = 1, hang = 1000, ping_every = 200,
     restart = "always", args = {"one", 2, nil, n = 3}, memcap = 4 << 20, backoff = 20},
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
  check(s.kind == "task" and s.ping == 1 and s.state == "running", "cb-task: %s",
        service.encode(s))
  check(status_of("names").id == names_id.raw and status_of("files").id == files_id.raw,
        "the supervisor did not take over names and files")
  client = assert(l4.task.spawn{script = "comeback_client.lua", name = "cb-client",
                                memcap = 4 << 20, args = {l4.self().raw}})
  check(wait_for(2000, function() return client_stats().since >= 20 end), "the client does not run")
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

-- A plain entry asked a label of its own (ping = 1): hung, it is found.
case("comeback_plain_task_hung", function()
  local old = assert(names.lookup("cb-task"))
  local t0 = now_ms()
  l4.call(old, {timeout = 100}, 3)
  local _, ms = back("cb-task", old, t0, plain_answers)
  check(ms < 2000, "the hung plain task was replaced after %.0f ms", ms)
  figures[#figures + 1] = ("comeback: %-40s %5.0f ms (hang = 1000 ms)"):format("a plain task, hung", ms)
  check(status_of("cb-task").reason:find("hung"), "cb-task: %s", status_of("cb-task").reason)
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
  -- an interrupt of the guard ends one round of its loop, not the guard
  assert(l4.thread.interrupt(guard, "an interrupt of the guard"))
  l4.sleep(300)
  check(l4.thread.status(guard) == "running", "the guard ended: %s", l4.thread.status(guard))
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

-- What the supervisor knew outlives it: restart counts, and the reloaded
-- version of a service, which a later restart starts from.
case("comeback_supervisor_keeps_what_it_knew", function()
  local src = assert(service.read_source("services/echo.lua")):gsub("version = 1", "version = 2")
  local v = assert(service.reload("cb-echo", src, "=echo v2"))
  check(v == "2", "the reload gave version %s", tostring(v))
  assert(service.call("cb-echo", 1, "x"))           -- it served: a good version
  check(wait_for(2000, function()
    local s = status_of("cb-echo")
    return s.generation == 2 and s.good == 2
  end), "the supervisor did not learn of the reload")
  local restarts = status_of("cb-task").restarts
  local old = assert(names.lookup("supervisor"))
  assert(l4.thread.kill(old))
  local _, ms = back("supervisor", old, now_ms(), function(id)
    local from, label = l4.call(id, {timeout = 200}, supervisor.STATUS)
    return from and label == 0
  end)
  check(status_of("cb-task").restarts == restarts, "the restart count was lost: %d, was %d",
        status_of("cb-task").restarts, restarts)
  local echo = assert(names.lookup("cb-echo"))
  local t0 = now_ms()
  assert(l4.task.delete(echo))
  local new
  new, ms = back("cb-echo", echo, t0, function(id)
    local i = service.info(id, 200)
    return i and i.version == "2"
  end)
  figure("a reloaded service, after the supervisor's comeback", ms)
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
-- guard (plan.hang, as the boot plan's) kills it and starts the script again.
case("comeback_supervisor_hung", function()
  local old = reload_supervisor("while true do end")
  local t0 = now_ms()
  local new, ms = back("supervisor", old, t0, nil, 6000)
  hang_figure("the supervisor, a runaway loop", ms, HANG.supervisor, 1000)
  check(service.info(new).version == "1", "the new supervisor is not the script's")
end)

-- A supervisor starved on purpose: a root thread spins at a priority
-- between it (160) and its guard (165) for twice the guard's 600 ms. The
-- guard sees it ready and given no CPU: it leaves it running and says so,
-- once, with what took the CPU (silence.lua). A hung one is still
-- replaced (comeback_supervisor_hung).
case("comeback_supervisor_starved", function()
  local old = assert(names.lookup("supervisor"))
  -- the guard has had this supervisor's first answer (until then it
  -- gives it its start's grace, 3 s an entry: the case before started it)
  l4.sleep(1000)
  local _, pos = l4.sys.klog()
  local spin = assert(l4.thread.create{
    code = "local t = l4.clock() while l4.clock() - t < 1200000 do end", prio = 162})
  check(wait_for(5000, function() return l4.thread.status(spin) ~= "running" end), "the spinner spins on")
  local text = l4.sys.klog(pos)
  l4.sleep(300)
  check(names.lookup("supervisor") == old, "the starved supervisor was replaced: %s",
        text:match("init: the supervisor [^\n]*") or "?")
  local from, label = l4.call(old, {timeout = 2000}, supervisor.STATUS)
  check(from and label == 0, "the supervisor does not answer after the spin")
  local line = text:match("init: the supervisor did not answer for %d+ ms: it is ready but has had "
                          .. "%d+ ms of CPU in %d+ ms %(CPU meanwhile: [^\n]*%(prio 162%)[^\n]*%): "
                          .. "starved, not hung; left running")
  check(line, "no starved line from the guard: %s", text:sub(-400))
  local _, n = text:gsub("init: the supervisor did not answer", "")
  check(n == 1, "the guard said it %d times", n)
  figures[#figures + 1] = "comeback: " .. line
end)

-- The client's calls go on: after a comeback it gets answers again,
-- with no action of its own.
local function client_recovers(what)
  local c0 = client_stats()
  check(wait_for(3000, function()
    local c = client_stats()
    return c.calls > c0.calls + 10 and c.since >= 10
  end), "%s: the client's calls do not work again (%s)", what, service.encode(client_stats()))
end

-- The name service: killed, then crashed each way it can be; each time
-- back under 1 s with every name, found by clients that do nothing.
case("comeback_names_killed", function()
  assert(names.register("cb.probe", l4.self()))
  local old = assert(names.lookup("names"))
  check(old == names_id, "names is not the one started")
  local t0 = now_ms()
  assert(l4.task.delete(old))
  local got
  check(wait_for(3000, function()
    got = names.lookup("cb.probe")      -- the old server is gone: asks where it is now
    return got ~= nil
  end), "the names did not come back")
  figure("names, deleted: its names resolve again", now_ms() - t0)
  check(got == l4.self(), "cb.probe came back as %s", tostring(got))
  local new = l4.sys.names()
  check(new and new ~= old and names.server() == new, "the root was not told the new name service")
  check(names.lookup("cb-echo") and names.lookup("supervisor"), "names of the plan are lost")
  client_recovers("names deleted")
end)

-- A version of the name service with the crash handlers of
-- services_crash.lua and on_error = "exit", put in by a bare RELOAD (the
-- supervisor is not told: it restarts the script).
local CRASHABLE = [[
  local d = require('names').service
  local crash = dofile('services_crash.lua')
  local h = {}
  for k, v in pairs(d.handlers) do h[k] = v end
  for k, v in pairs(crash.handlers) do if k >= 10 then h[k] = v end end
  return {name = 'names', version = 'crashable', handlers = h, on_error = 'exit',
          budget = 5000000}
]]
local labels = dofile("services_crash.lua").labels

-- The root's pager thread (the pager of every Lua task's threads).
local function pager_of(id)
  for _, t in ipairs(l4.sys.threads()) do
    if t.id == id then return t.pager end
  end
end

for _, kind in ipairs{"lua_error", "null", "write", "stack", "runaway", "memory", "port_refused",
                      "opcode", "hang"} do
  case("comeback_names_" .. kind, function()
    local old = assert(l4.sys.names())
    local from, label, why = l4.call(old, {timeout = 3000}, service.RELOAD, CRASHABLE, "=crashable")
    check(from and label == 0, "the crashable version was refused: %s %s", tostring(label), tostring(why))
    -- one good request first: a version that fails its first is rolled back
    check(names.lookup("cb.probe") == l4.self(), "the crashable version does not serve")
    local t0 = now_ms()
    l4.call(old, {timeout = 300}, labels[kind], pager_of(old).raw)
    local got
    check(wait_for(5000, function()
      local now = l4.sys.names()
      got = now ~= old and names.lookup("cb.probe")
      return got
    end), "%s: names did not come back (%s)", kind, service.encode(status_of("names") or {}))
    local ms = now_ms() - t0
    local s = status_of("names")
    if kind == "hang" then
      hang_figure("names, " .. kind, ms, HANG.names)
    else
      figure("names, " .. kind, ms)
    end
    check(got == l4.self(), "%s: cb.probe came back as %s", kind, tostring(got))
    check(service.info(l4.sys.names()).version == "1", "%s: names did not restart from its script", kind)
    client_recovers("names " .. kind)
  end)
end

-- The file service: deleted; what was written is there, new writes work,
-- from this thread and from the client task (io.open, through the
-- runtime's C client: runtime/lua/files.c).
case("comeback_files_killed", function()
  local f = assert(io.open("cb/before.txt", "w"))
  assert(f:write(("kept across the crash\n"):rep(3000)))
  assert(f:close())
  local from, l, why = l4.call(client, {timeout = 5000}, WRITE, "cb/client.txt", "from the client")
  check(from and l == 0, "the client cannot write: %s", tostring(why))
  local old = l4.sys.files()
  local t0 = now_ms()
  assert(l4.task.delete(old))
  local text
  check(wait_for(3000, function()
    local g = io.open("cb/before.txt")
    text = g and g:read("a")
    if g then g:close() end
    return text
  end), "the file is not back")
  figure("files, deleted: a file written before reads", now_ms() - t0)
  check(text == ("kept across the crash\n"):rep(3000), "the file came back changed (%d bytes)", #text)
  check(l4.sys.files() ~= old, "the root was not told the new file service")
  -- the client task still has the old id: its runtime asks where, once
  local from2, l2, data = l4.call(client, {timeout = 5000}, READ, "cb/client.txt")
  check(from2 and l2 == 0 and data == "from the client", "the client reads %s %s",
        tostring(l2), tostring(data))
  from2, l2, why = l4.call(client, {timeout = 5000}, WRITE, "cb/after.txt", "written after")
  check(from2 and l2 == 0, "the client cannot write after: %s", tostring(why))
  local g = assert(io.open("cb/after.txt"))
  check(g:read("a") == "written after", "the new write did not land")
  g:close()
  assert(os.remove("cb/before.txt"))
  check(io.open("cb/before.txt") == nil, "a removed file is still there")
  client_recovers("files deleted")
end)

-- The file service loops for ever (files_loop.lua's LOOP: a bug in a
-- handler): it answers no PING, the supervisor deletes it after its
-- `hang` (400 ms) and starts another, which has every file; all within
-- 1 s.
case("comeback_files_hung", function()
  local f = assert(io.open("cb/hung.txt", "w"))
  assert(f:write(("written before the loop\n"):rep(500)))
  assert(f:close())
  local old = l4.sys.files()
  local t0 = now_ms()
  assert(l4.send(old, {timeout = 500}, 0x2ff))     -- files_loop.lua's LOOP
  local text
  check(wait_for(3000, function()
    if l4.sys.files() == old then return false end  -- not yet replaced: it would not answer
    local g = io.open("cb/hung.txt")
    text = g and g:read("a")
    if g then g:close() end
    return text
  end), "files did not come back (%s)", service.encode(status_of("files") or {}))
  figure("files, a loop for ever: a file written before reads", now_ms() - t0)
  check(text == ("written before the loop\n"):rep(500), "the file came back changed (%d bytes)",
        #text)
  local s = status_of("files")
  check(s.reason:find("hung", 1, true), "files: %s", tostring(s.reason))
  check((l4.task.info(old) or {}).state ~= "running", "the looping server still runs")
  assert(os.remove("cb/hung.txt"))
  client_recovers("files hung")
end)

-- A removed file stays removed across a restart; the store holds just
-- the files there are.
case("comeback_files_remove_kept", function()
  local old = l4.sys.files()
  assert(l4.task.delete(old))
  check(wait_for(3000, function() return l4.sys.files() ~= old end), "files did not come back")
  check(wait_for(3000, function()
    local g = io.open("cb/after.txt")
    if g then g:close() end
    return g ~= nil
  end), "cb/after.txt is not back")
  check(io.open("cb/before.txt") == nil, "a removed file came back")
  local kept = assert(l4.sys.store_list("files/"))
  check(kept["files/cb/after.txt"] == #"written after" and kept["files/cb/before.txt"] == nil,
        "the store holds %s", service.encode(kept))
end)

-- sched and the pager: threads of the root. Killed; sched also a Lua
-- error and a runaway loop in its tick (found hung: it is PINGed).
local function thread_back(name, old, t0, limit)
  local new
  check(wait_for(limit or 3000, function()
    new = names.lookup(name)
    return new and new ~= old and l4.thread.status(new) == "running"
  end), "%s did not come back (%s)", name, service.encode(status_of(name) or {}))
  return new, now_ms() - t0
end

case("comeback_sched_killed", function()
  local old = assert(names.lookup("cb-sched"))
  local t0 = now_ms()
  assert(l4.thread.kill(old))
  local _, ms = thread_back("cb-sched", old, t0)
  figure("cb-sched, killed", ms)
end)

-- The pager (keep_id): restarted in the same thread, so a task spawned
-- with it as its pager before the kill, which holds its id, goes on
-- faulting pages in after it (its heap grows: faults forwarded to the
-- root's pager through the new one).
case("comeback_pager_killed_keeps_its_tasks", function()
  local pager = assert(names.lookup("cb-pager"))
  local t = assert(l4.task.spawn{script = "comeback_paged.lua", pager = pager, name = "cb-paged",
                                 memcap = 16 << 20})
  local function grow(kib)
    local from, label, total = l4.call(t, {timeout = 1000}, 1, kib)
    return from and label == 0 and total
  end
  check(grow(256), "the task paged by cb-pager does not answer")
  local t0 = now_ms()
  assert(l4.thread.kill(pager))
  local total
  check(wait_for(3000, function()
    total = grow(256)
    return total
  end), "the task paged by the killed pager does not answer (%s; the task: %s)",
        service.encode(status_of("cb-pager") or {}), service.encode(l4.task.info(t) or {}))
  figure("cb-pager, killed: its task faults again", now_ms() - t0)
  check(total >= 512 * 1024, "the task holds %d bytes", total)
  check(names.lookup("cb-pager") == pager and l4.thread.status(pager) == "running",
        "the pager came back as %s", tostring(names.lookup("cb-pager")))
  for _ = 1, 4 do check(grow(256), "the task stopped answering") end
  -- the restarted pager serves a task spawned now too
  local n = assert(l4.task.spawn{script = "task_child.lua", pager = pager, args = {"return"},
                                 name = "cb-paged2"})
  local how = l4.task.wait(n, 5000)
  l4.task.delete(n)
  check(how == "exited", "a task paged by the restarted pager: %s", tostring(how))
  local _, label, served, refused, forwarded = l4.call(pager, {timeout = 2000}, 1)
  check(label == 0 and forwarded > 20, "the restarted pager's STATS: %s %s", tostring(label),
        tostring(forwarded))
  check(l4.task.info(t).state == "running", "the first task: %s", l4.task.info(t).state)
  l4.task.delete(t)
end)

-- The pager killed while a task waits in a fault it got: the fault is
-- not lost with the old body. A version of cb-pager that refuses every
-- page of its region (the fault waits, unanswered) is killed; the kernel
-- tells the faulter its pager started afresh ("aborted", the pager still
-- there), the faulter faults again, and the new body serves it.
local CLOSED = [[
  local M = dofile('pager_zero.lua')
  M.VERSION = 'closed'
  function M.policy(p, page)
    if page < p.lo or page >= p.hi then return nil, 'outside' end
    return nil, 'closed'
  end
  return M
]]
case("comeback_pager_killed_while_a_task_faults", function()
  local pager = assert(names.lookup("cb-pager"))
  local function stats()
    local from, label, served, refused = l4.call(pager, {timeout = 500}, 1)
    return from and label == 0 and {served = served, refused = refused}
  end
  local from, label, why = l4.call(pager, {timeout = 3000}, service.RELOAD, CLOSED, "=closed")
  check(from and label == 0, "the closed version was refused: %s %s", tostring(label), tostring(why))
  local t = assert(l4.task.spawn{script = "comeback_paged.lua", pager = pager, name = "cb-paged3",
                                 memcap = 16 << 20})
  local f, l = l4.call(t, {timeout = 2000}, 2, 0x200000000000, pager.raw)
  check(f and l == 0, "the task paged by cb-pager does not answer: %s", tostring(l))
  local before
  check(wait_for(2000, function()
    before = stats()
    return before and before.refused >= 1
  end), "the fault was not refused (%s)", service.encode(before or {}))
  local t0 = now_ms()
  assert(l4.thread.kill(pager))
  local after
  check(wait_for(3000, function()
    after = l4.thread.status(pager) == "running" and stats()
    return after and after.served >= 1
  end), "the fault waiting when the pager was killed was never served (%s; the task: %s)",
        service.encode(after or {}), service.encode(l4.task.info(t) or {}))
  figure("cb-pager, killed in a fault: it is served", now_ms() - t0)
  check(service.info(pager).version == "1", "cb-pager did not restart from its code")
  check(l4.task.info(t).state == "running", "the task: %s", l4.task.info(t).state)
  local _, l2, total = l4.call(t, {timeout = 2000}, 1, 64)
  check(l2 == 0 and total >= 64 * 1024, "the task does not grow after it: %s", tostring(l2))
  l4.task.delete(t)
end)

local function reload_sched(tick)
  local old = assert(names.lookup("cb-sched"))
  local src = "local d = dofile('sched_policy.lua'); return {name = 'sched', version = 'broken', "
    .. "handlers = d.handlers, period = 50, on_error = 'exit', tick = function() " .. tick .. " end}"
  local from, label, why = l4.call(old, {timeout = 2000}, service.RELOAD, src, "=broken")
  check(from and label == 0, "the reload was refused: %s %s", tostring(label), tostring(why))
  return old
end

-- A version of sched whose label 9 does each kind of the crash matrix
-- (on_error = "exit"); its runaway loop is comeback_sched_runaway's, in
-- its tick.
for _, k in ipairs(KINDS) do
  local kind, body = k[1], k[2]
  if kind ~= "runaway" then case("comeback_sched_" .. kind, function()
    local old = assert(names.lookup("cb-sched"))
    local src = "local d = dofile('sched_policy.lua'); local h = {} "
      .. "for k, v in pairs(d.handlers) do h[k] = v end "
      .. "h[9] = function() " .. body .. " end "
      .. "return {name = 'sched', version = 'broken', handlers = h, on_error = 'exit'}"
    local from, label, why = l4.call(old, {timeout = 2000}, service.RELOAD, src, "=broken")
    check(from and label == 0, "the reload was refused: %s %s", tostring(label), tostring(why))
    -- one good request first: a version that fails its first is rolled back
    check(service.call({"cb-sched", timeout = 2000}, 2), "the broken version does not serve")
    local t0 = now_ms()
    l4.call(old, {timeout = 300}, 9)
    local _, ms = thread_back("cb-sched", old, t0)
    if SILENT[kind] then
      hang_figure("cb-sched, " .. kind, ms, HANG.sched)
      check(status_of("cb-sched").reason:find("hung"), "cb-sched: %s", status_of("cb-sched").reason)
    else
      figure("cb-sched, " .. kind, ms)
      check(status_of("cb-sched").reason:find("failed"), "cb-sched: %s", status_of("cb-sched").reason)
    end
  end) end
end

-- The file service crashed each way (files_loop.lua's CRASH runs the
-- kind in its receive loop; its runaway loop is comeback_files_hung's):
-- back with every file, the client's calls go on.
for _, k in ipairs(KINDS) do
  local kind, body = k[1], k[2]
  if kind ~= "runaway" then case("comeback_files_" .. kind, function()
    local text0 = ("written before: %s\n"):format(kind):rep(200)
    local f = assert(io.open("cb/matrix.txt", "w"))
    assert(f:write(text0))
    assert(f:close())
    local old = l4.sys.files()
    local t0 = now_ms()
    assert(l4.send(old, {timeout = 500}, 0x2fe, body))     -- files_loop.lua's CRASH
    local text
    check(wait_for(3000, function()
      if l4.sys.files() == old then return false end
      local g = io.open("cb/matrix.txt")
      text = g and g:read("a")
      if g then g:close() end
      return text
    end), "%s: files did not come back (%s)", kind, service.encode(status_of("files") or {}))
    local ms = now_ms() - t0
    if SILENT[kind] then hang_figure("files, " .. kind, ms, HANG.files)
    else figure("files, " .. kind, ms) end
    check(text == text0, "%s: the file came back changed (%d bytes)", kind, #text)
    local s = status_of("files")
    check(s.reason:find(SILENT[kind] and "hung" or "failed", 1, true), "files: %s", tostring(s.reason))
    client_recovers("files " .. kind)
  end) end
end

-- The Lua pager (keep_id): a version whose run() takes CRASH s (a send)
-- and runs s in the pager's thread. It comes back in the same thread,
-- from its code; a task it pages goes on faulting pages in.
local CRASHY_PAGER = [[
  local M = dofile('pager_zero.lua')
  M.VERSION = 'crashy'
  local run = M.Pager.run
  function M.Pager.run(self, other)
    return run(self, function(from, label, a, ...)
      if label == 0x2fe then assert(load(a, '=crash'))() end
      return other(from, label, a, ...)
    end)
  end
  return M
]]
local paged                   -- a task paged by cb-pager, for every kind
for _, k in ipairs(KINDS) do
  local kind, body = k[1], k[2]
  case("comeback_pager_" .. kind, function()
    local pager = assert(names.lookup("cb-pager"))
    if not paged then
      paged = assert(l4.task.spawn{script = "comeback_paged.lua", pager = pager,
                                   name = "cb-paged-matrix", memcap = 32 << 20})
    end
    local function grow(kib)
      local from, label, total = l4.call(paged, {timeout = 500}, 1, kib)
      return from and label == 0 and total
    end
    check(grow(16), "the task paged by cb-pager does not answer")
    local from, label, why = l4.call(pager, {timeout = 3000}, service.RELOAD, CRASHY_PAGER, "=crashy")
    check(from and label == 0, "the crashy version was refused: %s %s", tostring(label), tostring(why))
    local restarts = status_of("cb-pager").restarts
    local t0 = now_ms()
    assert(l4.send(pager, {timeout = 500}, 0x2fe, body))
    check(wait_for(3000, function()
      local s = status_of("cb-pager")
      if not (s and s.restarts > restarts and l4.thread.status(pager) == "running") then return false end
      local i = service.info(pager, 100)
      return i and i.version == "1"
    end), "%s: cb-pager did not come back (%s)", kind, service.encode(status_of("cb-pager") or {}))
    local ms = now_ms() - t0
    if SILENT[kind] then hang_figure("cb-pager, " .. kind, ms, HANG.pager)
    else figure("cb-pager, " .. kind, ms) end
    check(names.lookup("cb-pager") == pager, "the pager came back as another thread")
    check(grow(16), "%s: the task it pages does not grow after it", kind)
    if kind == KINDS[#KINDS][1] then l4.task.delete(paged) end
  end)
end

-- The supervisor, each kind it has no case of above: a version whose tick
-- does it (on_error = "exit"); the guard starts the script again.
for _, k in ipairs(KINDS) do
  local kind, body = k[1], k[2]
  if kind ~= "lua_error" and kind ~= "memory" and kind ~= "runaway" then
    case("comeback_supervisor_" .. kind, function()
      local old = reload_supervisor(body, "on_error = 'exit', ")
      local t0 = now_ms()
      local new, ms = back("supervisor", old, t0, nil, 5000)
      if SILENT[kind] then hang_figure("the supervisor, " .. kind, ms, HANG.supervisor, 1000)
      else figure("the supervisor, " .. kind, ms) end
      check(service.info(new).version == "1", "the new supervisor is not the script's")
    end)
  end
end

case("comeback_sched_runaway", function()
  local old = reload_sched("while true do end")
  local t0 = now_ms()
  local _, ms = thread_back("cb-sched", old, t0, 5000)
  -- from the reload: up to one period of the old version (1 s) until the
  -- first tick, then hang without an answer, then the restart
  check(ms < 3500, "the runaway sched was replaced after %.0f ms", ms)
  figures[#figures + 1] = ("comeback: %-40s %5.0f ms (from the reload; hang = %d ms)"):format(
    "cb-sched, a runaway loop", ms, HANG.sched)
  check(service.info(names.lookup("cb-sched")).version == "1", "sched did not restart from its script")
end)

case("comeback_plan_end", function()
  if client then l4.task.delete(client) end
  assert(l4.thread.kill(guard))
  local sup = names.lookup("supervisor")
  if sup then l4.thread.kill(sup) end
  for _, n in ipairs{"cb-echo", "cb-task", "cb-sched", "cb-pager", "cb-thread"} do
    local id = names.lookup(n)
    if id and id.task == l4.self().task then l4.thread.kill(id)
    elseif id then l4.task.delete(id) end
  end
  local f = l4.sys.files()
  if f and f ~= root_files then l4.task.delete(f) end
  l4.sys.set_files(root_files)
  l4.task.delete(assert(l4.sys.names()))
  l4.sys.set_names(root_names)
  names.use(names_before)
  for _, line in ipairs(figures) do print(line) end
end)

return cases
