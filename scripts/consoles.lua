-- The consoles and their sessions (docs/console.md "Consoles and
-- sessions"): what runs each of them, how a thread finds the one that
-- runs now, and the guardian that brings each back when it dies. The
-- boot plan (scripts/init.lua) starts them with start(); the watch
-- thread (scripts/watch.lua) runs the guardian every 200 ms.
--
--   name          kind    what
--   console       task    COM1's console server: the root's console, the kernel's log
--   com2          task    COM2's console server: the line tools/l4ua talks to
--   screen        task    the VGA screen and PS/2 keyboard (the screen from the device manager)
--   repl.serial   thread  the REPL session on console (session.lua)
--   repl.screen   thread  the REPL session on screen
--   push          thread  the push agent on com2 (push_agent.lua)
--
-- A component that dies (ends, fails, is killed or deleted) is started
-- again at once (found within a tick); one that died QUICK times in a
-- row within RESET_AFTER ms of its start, or does not start, after a
-- back-off doubling from 100 ms up to 2 s. It is never given up (COM1
-- must end at a prompt whatever a script did). A console server that does not answer
-- INFO for HANG ms is hung: it is deleted (killed) and started again;
-- unless it is ready and got under a tenth of that time in CPU (the
-- supervisor's rule, silence.lua): starved by threads above it, not
-- hung, it is left running and the log says what took the CPU.
-- What depends on a component is pointed at the new one:
--   - COM1: while no driver runs the kernel writes the serial line again
--     (l4.sys.release_serial(false)) and the root's output goes to the
--     kernel; the new driver gets the line, the root's console, the name;
--   - every console server: its name, and the watcher as its Ctrl-C
--     thread (watch.lua does that with what guard() returns);
--   - sessions and the push agent find their console by name (find()) and
--     open the new one themselves: they need nothing from the guardian.
-- A console server's name is registered again at each tick until the
-- name service took it: a registration the name service missed (it was
-- restarting, or failed in the middle of it) would leave the name on the
-- dead server for good (make faultinject found it).
-- The guardian keeps only ids, and a copy of them in the root's store; a
-- restarted watcher finds them again (new(): the tasks by their task
-- names, the threads in the store), so nothing is started twice.
local console = require "console"
-- starved or hung (the supervisor's rule): read now, never at a hang
local silence = require "silence"

local M = {}

M.HANG = 500            -- ms without an answer to INFO: a console server is hung
M.PING_EVERY = 100      -- ms between two INFO to a console server
M.BACKOFF, M.BACKOFF_MAX, M.RESET_AFTER = 100, 2000, 1000   -- ms
M.QUICK = 5             -- deaths in a row right after the start before a back-off
local READY_WAIT = 5000 -- ms a new console server has to answer its first INFO

local ROOT = l4.kip.root.task

M.plan = {
  -- COM1's server, below the core services as COM2's (a REPL printing
  -- MiBs kept it busy at 200: names, files and sched starved, the
  -- supervisor's log waited on it), above the sessions (100): a key is
  -- answered while a task spins at the default priority
  -- (docs/recovery.md "Who watches whom").
  {name = "console", kind = "task", server = true, serial = true,
   spawn = {script = "console_task.lua", args = {"uart", 0x3f8, 4}, io = {{0x3f8, 8}},
            prio = 165, memcap = 8 << 20}},
  -- COM2 is the machine line (tools/l4ua put, get, push): below the
  -- core services (names 190, files 180, sched and the pager 170). QEMU's
  -- UART sends and takes bytes as fast as the driver moves them, so a
  -- transfer of some MiB kept its server busy for seconds: at 200 it
  -- starved the name service (ready, no CPU for 899 ms: COM2's server
  -- took 592 ms of it), the supervisor waited on it, and its guard
  -- killed the supervisor as hung.
  {name = "com2", kind = "task", server = true, optional = true, uart = 0x2f8,
   spawn = {script = "console_task.lua", args = {"uart", 0x2f8, 3}, io = {{0x2f8, 8}},
            prio = 165, memcap = 8 << 20}},
  -- the screen's page and the CRTC's ports from the device manager
  -- (device.vga()), the keyboard controller's two ports given here
  {name = "screen", kind = "task", server = true, optional = true,
   spawn = {script = "console_task.lua", args = {"vga"}, io = {{0x60, 1}, {0x64, 1}},
            prio = 200, memcap = 8 << 20}},
  {name = "repl.serial", kind = "thread", on = "console",
   create = {script = "session.lua", args = {"console", "serial"}, memcap = 64 << 20, prio = 100}},
  {name = "repl.screen", kind = "thread", on = "screen",
   create = {script = "session.lua", args = {"screen", "screen"}, memcap = 32 << 20, prio = 100}},
  {name = "push", kind = "thread", on = "com2",
   create = {script = "push_agent.lua", args = {"com2"}, memcap = 64 << 20, prio = 100}},
}
local by_name = {}
for _, e in ipairs(M.plan) do by_name[e.name] = e end
M.by_name = by_name

local function now_ms() return l4.clock() // 1000 end

local function log(fmt, ...) print(("consoles: " .. fmt):format(...)) end

-- The name service, if one runs (a failure is only a missed name: the
-- guardian registers again at the next restart, find() falls back).
local function names() return require "names" end

-- Whether the thread or task `id` still runs.
function M.alive(id)
  if not id then return false end
  if id.task == ROOT then return l4.thread.status(id) == "running" end
  local i = l4.task.info(id)
  return i ~= nil and i.state == "running"
end

-- The guardian's ids, kept in the root's store (runtime/lua/keeper.c),
-- which outlives the watcher: ";name=raw id;..." under STORE_KEY.
local STORE_KEY = "consoles/ids"

local function stored(name)
  local ok, text = pcall(l4.sys.store_get, STORE_KEY)
  local raw = ok and type(text) == "string"
              and text:match(";" .. name:gsub("%p", "%%%0") .. "=(%d+);")
  return raw and l4.id(math.tointeger(tonumber(raw))) or nil
end

-- The id of the component `name` that runs now, or nil: a task by its
-- task name (kernel-held, needs no service); a thread by the ids the
-- guardian keeps in the root's store, else by the name service (the
-- console servers are named there: `reload screen`; the sessions and
-- the push agent are not services, so `services` does not list them).
function M.find(name)
  local e = by_name[name]
  if e and e.kind == "task" then
    for _, t in ipairs(l4.task.list() or {}) do
      if t.name == name and t.state == "running" then return t.id end
    end
    return nil
  end
  local id = stored(name)
  if M.alive(id) then return id end
  local ok
  ok, id = pcall(names().lookup, name)
  if ok and id and M.alive(id) then return id end
  return nil
end

-- Keeps the ids of g in the root's store.
local function save(g)
  local parts = {}
  for _, e in ipairs(g.list) do
    if e.id then parts[#parts + 1] = ("%s=%d;"):format(e.name, e.id.raw) end
  end
  pcall(l4.sys.store_put, STORE_KEY, ";" .. table.concat(parts))
end

-- Hands COM1 to the driver `id` (nil: back to the kernel).
local function serial_to(id)
  l4.sys.set_console(id)
  l4.sys.release_serial(id ~= nil)
end

-- Starts e -> its id, or nil and why. A console server must answer INFO
-- within READY_WAIT ms (it answers once its device is set up). g: the
-- guardian's state, whose on_serial(true) runs just before COM1 goes to
-- a new driver.
-- Whether a 16550 is at base: its scratch register keeps a byte (QEMU
-- makes COM2 only when asked to; ports with no device read 0xff). Looked
-- at before a driver task is spawned for an optional line, which cost
-- some 2.1 million instructions of each boot without COM2 to fail
-- (docs/performance.md). The root keeps the ports; the task gets them as
-- ever (spawn's io: sigma0 says they are the root's, which maps them on).
local function uart_there(base)
  if not l4.io.holds(base, 8) and not l4.io.request(base, 3) then return true end  -- the driver tells
  l4.io.outb(base + 7, 0x5a)
  return l4.io.inb(base + 7) == 0x5a
end

function M.start(e, g)
  local id, err
  if e.uart and not uart_there(e.uart) then return nil, ("no UART at 0x%x"):format(e.uart) end
  if e.kind == "task" then
    local spec = {name = e.name}
    for k, v in pairs(e.spawn) do spec[k] = v end
    id, err = l4.task.spawn(spec)
  else
    id, err = l4.thread.create(e.create)
  end
  if not id then return nil, tostring(err) end
  if e.server then
    local from, why = l4.call(id, {timeout = READY_WAIT}, console.INFO)
    if not from then
      local state, msg
      if e.kind == "task" then
        local i = l4.task.info(id) or {}
        state, msg = i.state, i.message
        l4.task.delete(id)
      else
        state = l4.thread.status(id)
        l4.thread.kill(id)
      end
      return nil, ("it does not answer (%s): %s %s"):format(tostring(why), tostring(state),
                                                           msg or "")
    end
    if e.serial then
      if g and g.on_serial then g.on_serial(true) end
      serial_to(id)
    end
  end
  return id, nil, e.server and M.register(e.name, id)
end

-- Names the console server `id` `name` -> whether the name service took it.
function M.register(name, id)
  local ok, done = pcall(names().register, name, id)
  return ok and done == true
end

-- Why e (whose id no longer runs) stopped; frees a task's slot.
local function reason(e)
  if e.kind == "thread" then
    local st = l4.thread.status(e.id)
    if st == "killed" then return "was killed" end
    if st == "ended" then return "ended" end
    return "failed (its error is on the console)"
  end
  local i = l4.task.info(e.id)
  if not i then return "was killed (its task was deleted)" end
  l4.task.delete(e.id)
  if i.state == "exited" then return ("exited (status %d)"):format(i.status or 0) end
  return "failed: " .. tostring(i.message or "?"):match("^[^\n]*")
end

-- The guardian's state: ids of the plan's components, taken from `ids`
-- (name -> id, what init started), else found running (find).
function M.new(ids)
  local g = {list = {}, by = {}}
  for _, p in ipairs(M.plan) do
    local e = setmetatable({backoff = M.BACKOFF, started_at = now_ms()}, {__index = p})
    local id = ids and ids[p.name]
    if not M.alive(id) then id = M.find(p.name) end
    e.id = id
    e.named = false                     -- (registered again at the first look)
    e.last_answer = now_ms()
    e.next_ping = e.last_answer + M.PING_EVERY
    -- an optional console that is not there (no COM2, no screen) and what
    -- runs on it are not started again
    local on = p.on and g.by[p.on]
    e.off = (ids and ids[p.name] == false) or (on and on.off) or false
    g.by[p.name] = e
    g.list[#g.list + 1] = e
  end
  save(g)
  return g
end

-- e died: why, and when to start it again.
-- When COM1's driver dies the kernel gets the line back at once:
-- g.on_serial(false) returns what the watcher had not shown yet, which
-- then goes out through the kernel, as everything after it does.
local function died(g, e, why, now)
  if e.serial then
    local unshown = g.on_serial and g.on_serial(false)
    serial_to(nil)
    if unshown and #unshown > 0 then io.write(unshown) io.flush() end
  end
  log("%s %s; starting it again", e.name, why)
  e.id, e.died_at = nil, now
  -- at once, unless it keeps dying right after its start (QUICK times in
  -- a row, within RESET_AFTER ms each): then after a back-off
  e.quick = now - e.started_at < M.RESET_AFTER and (e.quick or 0) + 1 or 0
  if e.quick < M.QUICK then
    e.backoff, e.restart_at = M.BACKOFF, now
  else
    e.restart_at = now + e.backoff
    e.backoff = math.min(e.backoff * 2, M.BACKOFF_MAX)
  end
  e.restarts = (e.restarts or 0) + 1
end

-- Whether a console server answers; kills it once it has not for HANG ms
-- (-> false), unless it is only starved (silence.lua).
local function answers(e, now)
  if now < e.next_ping then return true end
  e.next_ping = now + M.PING_EVERY
  local from = l4.call(e.id, {timeout = 100}, console.INFO)
  if from then e.last_answer = now return true end
  -- silence from the last answer, but from no earlier than a ping period
  -- before the first unanswered INFO (a late look is not the server's)
  if not e.silent_from or e.silent_from < e.last_answer then
    e.silent_from = math.max(e.last_answer, now - M.PING_EVERY)
    e.silent_cpu = silence.cpu()    -- what it and the others run meanwhile
  end
  local quiet = now - e.silent_from
  if quiet < M.HANG then return true end
  local starved, doing = silence.judge(e.id, e.silent_cpu, quiet)
  if starved then
    if e.starved_said ~= e.silent_from then   -- said once per silence
      e.starved_said = e.silent_from
      log("%s is %s: starved, not hung; left running", e.name, doing)
    end
    return true
  end
  if e.kind == "task" then l4.task.delete(e.id) else l4.thread.kill(e.id) end
  return false
end

-- One look at every component: restarts what died. -> a list of the
-- console servers started anew ({name, id}), for the watcher to point
-- itself at.
function M.guard(g)
  local now, fresh, changed = now_ms(), {}, false
  for _, e in ipairs(g.list) do
    if e.off then
      -- not there at boot: nothing to keep
    elseif e.id and not M.alive(e.id) then
      died(g, e, reason(e), now)
    elseif e.id and e.server and not answers(e, now) then
      died(g, e, ("did not answer for %d ms (hung): %s"):format(now - e.silent_from,
           e.kind == "task" and "deleted" or "killed"), now)
    elseif e.id and e.server and not e.named then
      e.named = M.register(e.name, e.id)
    end
    if not e.off and not e.id and now >= (e.restart_at or 0) then
      local on = e.on and g.by[e.on]
      if not on or on.id then           -- a session waits for its console
        local id, why, named = M.start(e, g)
        now = now_ms()
        e.started_at = now
        if id then
          changed = true
          e.named = named
          e.id, e.last_answer, e.next_ping = id, now, now + M.PING_EVERY
          log("%s is back: %s (%d ms after it was found dead)", e.name, tostring(id),
              now - (e.died_at or now))
          if e.server then fresh[#fresh + 1] = {name = e.name, id = id} end
        else
          log("%s does not start: %s", e.name, why)
          e.restart_at = now + e.backoff
          e.backoff = math.min(e.backoff * 2, M.BACKOFF_MAX)
        end
      end
    end
  end
  if changed then save(g) end
  return fresh
end

-- The id of each component, name -> id (false: not there).
function M.ids(g)
  local t = {}
  for _, e in ipairs(g.list) do t[e.name] = e.id or (e.off and false) or nil end
  return t
end

return M
