-- supervisor.lua: starts the components of the boot plan and restarts
-- those that die, per their policy (docs/services.md "Supervision"). It is
-- a service itself, run by the framework in a thread of the root task (it
-- spawns, watches and deletes tasks: l4.task.* are the root's), every 100
-- ms a tick that looks at each entry:
--
--   a task:   l4.task.info(id): "exited" / "failed" / gone (deleted, `kill`),
--             and (a framework service) every second a PING: no answer
--             for 5 s is a hang
--   a thread: l4.thread.status(id): "ended" / "failed" / "killed", and
--             (a framework service) the same PING
--
-- Polling, not a waiting thread per service: one thread, no lthreads used
-- up, a death noticed within a tick. A death is logged with its reason
-- and, per the policy, followed by a restart after a back-off (doubling up
-- to a maximum), unless the service restarted `limit` times within
-- `window` ms: then it gives up.
--
-- A plan entry is a framework service (the default: its script returns a
-- service definition, run by service_task.lua; PINGed, reloadable) or,
-- with ping = false, a plain task or root thread (a driver, a REPL
-- session, a pager): its script or code runs with `args` as `...`, and it
-- is restarted on death only, or also when it stops answering the label
-- given as ping = <label> (docs/services.md "Plan entries"):
--
--   {name = "com1", script = "console_task.lua" | code = "lua source",
--    thread = false, args = {"uart", 0x3f8, 4, n = 3}, io = {{0x3f8, 8}},
--    restart = "always", prio = 200, memcap = 8 << 20, ping = false,
--    id = <a running instance to adopt instead of starting one>,
--    started = "local id, name = ...; l4.sys.set_console(id)"}
--
--   local sup = require("supervisor").start{names = names_id, services = {...}}
--   require("supervisor").status()   -- {{name, state, restarts, ...}, ...}
--   require("supervisor").guard(plan) -- the root's main thread: keeps one running
local l4 = require "l4"
-- Loaded before this module (service.lua loads it): nothing is read
-- through the file service at a hang, when the file service may be the
-- hung one (the debugger module was: the supervisor waited 4 s for it,
-- and its guard took it for hung). Nor at this module's load: a plan
-- whose file service mounts a disk this supervisor has not started yet
-- would wait for it.
local proto = require "service_proto"
-- Read with this module (service.main reads this module's own source
-- through the file service at the same moment), never at a hang.
local silence = require "silence"

local M = {}
M.STATUS, M.RELOADED, M.RESTART = 1, 2, 3

M.defaults = {
  restart = "on-failure",   -- "always" | "on-failure" | "never"
  backoff = 100,            -- ms before the first restart; doubles each time
  backoff_max = 5000,       -- ms, the longest back-off
  limit = 5,                -- restarts within `window` ms, then give up
  window = 30000,
  reset_after = 10000,      -- ms up: the back-off starts again from `backoff`
  memcap = 8 << 20,
  -- A service in a task that does not answer PING for `hang` ms (asked
  -- every `ping_every` ms, 200 ms each) is hung (a loop in C, a deadlock,
  -- waiting for ever in IPC): it is deleted and handled as a failure.
  -- false: never asked. A handler that may rightly take longer needs a
  -- larger `hang` in its plan entry.
  hang = 5000,
  ping_every = 1000,
}
-- A PING's wait (silence only counts towards `hang`: one slow answer is
-- not a hang). Not shorter: at 50 ms make bench's disk boot failed one
-- time in three (its file service found no file on a disk it had
-- mounted), not understood yet (docs/recovery.md "Hangs").
local PING_OPTS = {timeout = 200}
-- An entry not named yet is asked at every tick, so a short wait: one
-- that cannot answer yet (a driver waiting in its claim for a hung device
-- manager) held each tick 200 ms, the guard's PING went unanswered, and
-- the guard killed this supervisor as hung again and again, before the
-- manager's own hang was ever seen (repl.plan_components_crash).
local FIRST_OPTS = {timeout = 20}

local function now_ms() return l4.clock() // 1000 end

-- The thread body of services that run in the root (and the supervisor).
local BODY = "require('service').main(...)"

-- In the root task (init.lua): starts the supervisor thread with the plan
-- (plan.names: the name service's id; plan.prio, plan.memcap: the
-- supervisor's own) -> its id. It starts the plan's services in order.
function M.start(plan)
  local service = require "service"
  local names = plan.names or require("names").server()
  if math.type(names) == "integer" then names = l4.id(names) end
  local p = {}
  for k, v in pairs(plan) do if k ~= "names" then p[k] = v end end
  return l4.thread.create{code = BODY, prio = plan.prio or 160, memcap = plan.memcap or (8 << 20),
                          args = {"supervisor", "supervisor.lua", names and names.raw or false,
                                  service.encode(p), false}}
end

-- The guard: the last link of the chain (docs/recovery.md "Who watches
-- whom"), run by the root's main thread at the end of init.lua. It starts
-- the supervisor and starts it again, with the same plan, whenever its
-- thread ends, fails, is killed or has not answered PING (asked every
-- plan.ping_every ms, 1000) for plan.hang ms (5000; until its first
-- answer, plan.ready ms, 3000, per entry of the plan: it starts them in
-- order). The new
-- supervisor takes over every component that still runs (adopt above),
-- so only the dead are started. Never returns; an error of the loop
-- itself (or an interrupt of this thread) is printed and the loop goes on.
function M.guard(plan)
  require("rootgc").settle()    -- the root's main thread, for ever
  local hang, ping_every = plan.hang or 5000, plan.ping_every or 1000
  local grace = ((plan.ready or 3000) * (#(plan.services or {}) + 1))
  local sup, up_since, last_answer, next_ping, starved_said
  plan.guard = l4.self().raw    -- the supervisor answers it within a long tick too
  -- above the supervisor, so that a supervisor in a runaway loop cannot
  -- keep this thread from running
  l4.thread.schedule(l4.self(), math.min(254, (plan.prio or 160) + 5))
  local function launch(why)
    local id, err = M.start(plan)
    local now = now_ms()
    if not id then
      print(("init: cannot start the supervisor: %s; trying again in 1 s"):format(tostring(err)))
      sup, next_ping = nil, now + 1000
      return
    end
    if why then print(("init: the supervisor %s; started it again (%s)"):format(why, tostring(id))) end
    -- until its first answer it may be starting the plan: `grace` ms
    sup, up_since, last_answer, next_ping = id, now, nil, now + 100
  end
  local function step()
    local now = now_ms()
    if not sup then
      if now >= next_ping then launch() end
      return
    end
    local st = l4.thread.status(sup)
    if st ~= "running" then
      return launch(st == "ended" and "ended" or st == "killed" and "was killed"
                    or "failed (its error is on the console)")
    end
    if now < next_ping then return end
    next_ping = now + (last_answer and ping_every or 100)
    -- Silence counts from the last answer. PINGs follow each other
    -- with no pause until one is answered or the silence reaches its
    -- limit: a PING always waits, so the supervisor's first receive
    -- after a long tick (200 ms on a hung component's PING) answers it,
    -- and a hung supervisor is seen when its `hang` ms are up, not a
    -- PING's wait and a round later.
    -- A guard held up itself (its round late) does not count its own
    -- delay: silence counts from no earlier than a ping period before
    -- this round's first PING.
    -- The CPU the threads took is recorded at the first PING left
    -- unanswered (silence.lua: starved or hung?), and weighed against the
    -- time since.
    local limit, since = last_answer and hang or grace, last_answer or up_since
    since = math.max(since, now - ping_every)
    local cpu, cpu_at
    while true do
      local t = now_ms()
      local left = limit - (t - since)
      if left <= 0 then break end
      local from, label = l4.call(sup, {timeout = math.min(200, left)}, require("service").PING)
      if from and label == 0 then last_answer = now_ms(); return end
      if l4.thread.status(sup) ~= "running" then return end   -- the next round starts one
      if not cpu then cpu, cpu_at = silence.cpu(), now_ms() end
      if now_ms() - t < 5 then l4.sleep(10) end                -- refused at once: no spinning
    end
    local quiet = now_ms() - since
    local starved, doing = silence.judge(sup, cpu, now_ms() - (cpu_at or since))
    if starved then
      -- ready, given no CPU by threads above it: a new supervisor would
      -- starve the same. Left running; said once per silence.
      if starved_said ~= (last_answer or up_since) then
        starved_said = last_answer or up_since
        print(("init: the supervisor did not answer for %d ms: it is %s: starved, not hung; "
               .. "left running"):format(quiet, doing))
      end
      return
    end
    l4.thread.kill(sup)
    launch(("did not answer for %d ms (hung: %s): killed"):format(quiet, doing))
  end
  -- a round and its wait under pcall: an error (even an interrupt sent
  -- to this thread, raised when its sleep returns) ends one round only
  local function round() step(); l4.sleep(100) end
  launch()
  while true do
    local ok, err = pcall(round)
    if not ok then print("init: guard: " .. tostring(err)) end
  end
end

-- Clients ------------------------------------------------------------------

-- -> a list of {name, kind, state, restarts, reason, script, restart, id}
-- (nil, message if there is no supervisor).
function M.status()
  local service = require "service"
  local text, err = service.call({"supervisor", timeout = 2000}, M.STATUS)
  if not text then return nil, err end
  local t = service.decode(text)
  for _, s in ipairs(t or {}) do if s.id then s.id = l4.id(s.id) end end
  return t
end

-- Starts a service that gave up (or stopped) again, its history cleared.
function M.restart(name)
  return require("service").call({"supervisor", timeout = 5000}, M.RESTART, name)
end

-- The server ---------------------------------------------------------------

local function log(fmt, ...) print(("supervisor: " .. fmt):format(...)) end

local function first_line(s)
  s = tostring(s or "")
  return s:match("^[^\n]*")
end

-- Starts (or restarts) s, from its script or from the source given.
local function start(state, s, source, chunkname)
  local service = require "service"
  local names = require "names"
  local ns = names.server()
  -- A framework service started from its file starts from the text read
  -- now, which is what generation 1 is: a restart after a rollback runs
  -- that text again, not what the file holds by then (a pushed version
  -- that failed its first request stays in the file service).
  if s.ping and not source and s.script then
    local text = service.read_source(s.script)
    if text then source, chunkname = text, "@" .. s.script end
  end
  local args = {s.name, s.script, ns and ns.raw or false,
                s.config and service.encode(s.config) or false, source or false,
                chunkname or false, n = 6}
  local id, err
  if s.plain then                                   -- a plain task or thread
    if s.kind == "thread" then
      -- keep_id: restarted in the same thread, under the id others hold
      -- (the pager of tasks); a new one if that thread is gone
      local spec = {script = s.script, code = s.code, args = s.args, prio = s.prio,
                    memcap = s.memcap, keep_id = s.keep_id, id = s.keep_id and s.last_id or nil}
      id, err = l4.thread.create(spec)
      if not id and spec.id then
        log("%s: cannot restart in thread %s (%s): a new thread", s.name, tostring(spec.id), err)
        spec.id = nil
        id, err = l4.thread.create(spec)
      end
    else
      id, err = l4.task.spawn{script = s.script, name = s.name, args = s.args,
                              prio = s.prio, mcp = s.mcp, memcap = s.memcap, io = s.io}
    end
  elseif s.kind == "thread" then
    id, err = l4.thread.create{code = BODY, args = args, prio = s.prio, memcap = s.memcap}
  else
    id, err = l4.task.spawn{script = "service_task.lua", name = s.name, args = args,
                            prio = s.prio, mcp = s.mcp, memcap = s.memcap, io = s.io}
  end
  s.started_at = now_ms()
  s.restart_at = nil
  if not id then
    s.state = "failed"
    s.reason = "cannot start: " .. tostring(err)
    log("%s: %s", s.name, s.reason)
    return nil
  end
  s.id = id
  s.state = "running"
  s.last_answer, s.next_ping = s.started_at, s.started_at + s.ping_every
  -- generation 1 of this incarnation is what it started with
  s.sources = {[1] = {source = source, chunkname = chunkname}}
  s.gen, s.good_gen = 1, 1
  -- the hook first: it may tell the root where the name service now is
  if s.started then
    local ok, why = pcall(s.started, id, s.name)
    if not ok then log("%s: its started hook failed: %s", s.name, first_line(why)) end
  end
  -- A plain entry asked a label (a driver) is named only once it answers
  -- it (answers(), or the plan's first wait): until then it may still be
  -- reading its scripts through the file service, and a client that found
  -- it by name (the file service mounting the disk) would wait for it
  -- while it waits for that client (docs/storage.md "The boot order").
  s.unnamed = s.register and s.plain and s.ping_label ~= nil and not s.keep_id
  if s.register and not s.unnamed then names.register(s.name, id) end
  return id
end

-- Registers s under its name once it first answers (see start()).
local function named(s)
  if s.unnamed then
    s.unnamed = nil
    require("names").register(s.name, s.id)
  end
end

-- Whether id is a running instance of s (a task, or a Lua thread of the
-- root) that can be taken over instead of starting one.
local function running(s, id)
  if math.type(id) == "integer" then id = l4.id(id) end
  if type(id) ~= "userdata" then return false end
  if s.kind == "thread" then
    return id.task == l4.self().task and l4.thread.status(id) == "running"
  end
  local info = l4.task.info(id)
  return info ~= nil and info.state == "running" and info.id == id
end

-- Takes over a running instance: the plan's id, or (a supervisor started
-- again by the guard) the one registered under s.name.
local function adopt(s, id)
  if not running(s, id) then
    id = s.register and require("names").lookup(s.name)
    if not id or not running(s, id) then return nil end
  end
  if math.type(id) == "integer" then id = l4.id(id) end
  local now = now_ms()
  s.id, s.state, s.started_at = id, "running", now
  s.last_answer, s.next_ping = now, now + s.ping_every
  if next(s.sources) == nil then s.sources = {[1] = {}} end   -- else what the store kept
  if s.register then require("names").register(s.name, id) end
  s.unnamed = nil
  return id
end

-- Whether s still runs; else why not, and whether that is a failure.
local function probe(s)
  if s.kind == "thread" then
    local st = l4.thread.status(s.id)
    if st == "running" then return true end
    if st == "ended" then return false, "ended", false end
    if st == "killed" then return false, "was killed", true end
    return false, "failed (its error is on the console)", true
  end
  local info = l4.task.info(s.id)
  if not info then return false, "was killed (its task was deleted)", true end
  if info.state == "running" then return true end
  l4.task.delete(s.id)                              -- forget it: free its slot
  if info.state == "exited" then
    return false, ("exited (status %d)"):format(info.status or 0), (info.status or 0) ~= 0
  end
  return false, "failed: " .. first_line(info.message), true
end

local function died(state, s, reason, failure)
  state.dirty = true
  local names = require "names"
  -- one restarted in its own thread (keep_id) keeps its name: the id is
  -- the same, and what finds it meanwhile waits for the new body
  if s.register and not s.keep_id then names.unregister(s.name, s.id) end
  s.last_id = s.id
  s.id = nil
  s.reason = reason
  s.state = failure and "failed" or "exited"
  if s.restart == "never" or (s.restart == "on-failure" and not failure) then
    log("%s %s; policy %s: not restarted", s.name, reason, s.restart)
    return
  end
  local now = now_ms()
  -- The version to start: the last good one. A reloaded version that had
  -- not yet served a request successfully is not trusted.
  local src = s.sources[s.good_gen] or s.sources[1]
  local note = ""
  if s.gen ~= s.good_gen then
    note = ("; rolling back to its last good version (generation %d)"):format(s.good_gen)
  end
  s.next_source = src
  local recent = {}
  for _, t in ipairs(s.history) do
    if now - t < s.window then recent[#recent + 1] = t end
  end
  s.history = recent
  if #recent >= s.limit then
    s.state = "given up"
    log("%s %s; %d restarts within %d s: giving up", s.name, reason, #recent, s.window // 1000)
    return
  end
  if now - (s.started_at or now) >= s.reset_after then s.backoff = s.backoff0 end
  local delay = s.backoff
  s.backoff = math.min(s.backoff * 2, s.backoff_max)
  s.history[#s.history + 1] = now
  s.restarts = s.restarts + 1
  s.state = "restarting"
  s.restart_at = now + delay
  log("%s %s%s; restarting in %d ms (%d of %d)", s.name, reason, note, delay, #s.history, s.limit)
end

-- Whether a running service in a task still answers; deletes it if it
-- has not for its `hang` ms. -> false if it was found hung.
local function answers(state, s, now)
  -- one not named yet is asked at every tick: named as soon as it answers
  if not s.ping_label or (not s.hang and not s.unnamed) or (now < s.next_ping and not s.unnamed) then
    return true
  end
  s.next_ping = now + s.ping_every
  local asked = now_ms()
  local from, label = l4.call(s.id, s.unnamed and FIRST_OPTS or PING_OPTS, s.ping_label)
  if from and label == 0 then
    s.last_answer = now
    named(s)
    return true
  end
  -- Silence counts from the last answer, to the end of the failed call
  -- (it waited up to 200 ms), but from no earlier than a ping period
  -- before the first PING left unanswered since: a supervisor held up
  -- itself (a tick late by 350 ms) does not count its own delay, and one
  -- unanswered PING is not a hang.
  if not s.silent_from or s.silent_from < s.last_answer then
    s.silent_from = math.max(s.last_answer, asked - s.ping_every)
    s.silent_cpu = silence.cpu()  -- what it and the others run meanwhile (starved or hung?)
  end
  local quiet = now_ms() - s.silent_from
  if not s.hang or quiet < s.hang then return true end
  -- held by a debugger (debugger.lua) whose thread still runs: it may
  -- be stopped at a breakpoint, not hung
  local key = proto.held_key(s.id)
  local by = math.tointeger(l4.sys.store_get(key))
  if by then
    if l4.thread.status(l4.id(by)) == "running" then
      s.last_answer = now
      return true
    end
    l4.sys.store_remove(key)
  end
  -- Ready but given (almost) no CPU, the kernel's check passing: it is
  -- starved by threads above it, not hung, and a new one would starve
  -- the same. Left running (said once per silence).
  local starved, doing = silence.judge(s.id, s.silent_cpu, quiet)
  if starved then
    if s.starved_said ~= s.silent_from then
      s.starved_said = s.silent_from
      log("%s is %s: starved, not hung; left running", s.name, doing)
    end
    return true
  end
  if s.kind == "thread" then l4.thread.kill(s.id) else l4.task.delete(s.id) end
  died(state, s, ("did not answer for %d ms (hung: %s): %s"):format(quiet, doing,
       s.kind == "thread" and "killed" or "deleted"), true)
  return false
end

-- What the supervisor knows that the components do not (restart counts
-- and history, the sources of reloaded versions) outlives it: it is kept
-- in the root's store (docs/recovery.md "What outlives a component") at
-- each change, one record per component under "<plan.store>/<name>"
-- (default plan.store: "supervisor/state"), and a supervisor that starts
-- (the guard's restart) takes it back for the entries of the same name.
-- Each version's source lies raw under "<plan.store>/<name>/<generation>",
-- written once (as Lua text in the record, every save of a reload cost
-- some 230,000 instructions: docs/performance.md); the record names the
-- generations and their chunk names. A reload rewrites its component's
-- record alone.
local function keep_sources(state, s)
  local kept, base = s.kept or {}, state.key .. "/" .. s.name .. "/"
  s.kept = kept
  for g, src in pairs(s.sources) do
    if kept[g] ~= src then          -- a new version, or a new incarnation's first
      if src.source then
        local ok, why = l4.sys.store_put(base .. g, src.source)
        if not ok then log("cannot keep %s's version %d in the store: %s", s.name, g, tostring(why)) end
      else
        l4.sys.store_remove(base .. g)
      end
      kept[g] = src
    end
  end
  for g in pairs(kept) do
    if not s.sources[g] then
      l4.sys.store_remove(base .. g)
      kept[g] = nil
    end
  end
end

-- The record as Lua text, made with few allocations (each costs a root
-- thread's collector, at a pause of 110%, some thousand instructions:
-- service.encode's tables and sorts made it 125,000).
local function record_text(s)
  local gens = {}
  for g, src in pairs(s.sources) do gens[#gens + 1] = ("[%d]=%q"):format(g, src.chunkname or false) end
  return ("return {restarts=%d,history={%s},reason=%q,gen=%d,good_gen=%d,id=%q,sources={%s}}")
    :format(s.restarts, table.concat(s.history, ","), s.reason, s.gen, s.good_gen,
            s.id and s.id.raw, table.concat(gens, ","))
end

local function save_one(state, s)
  keep_sources(state, s)
  local ok, why = l4.sys.store_put(state.key .. "/" .. s.name, record_text(s))
  if not ok then log("cannot keep what it knows of %s in the store: %s", s.name, tostring(why)) end
end

local function save(state)
  for _, s in ipairs(state.list) do save_one(state, s) end
  state.dirty = false
end

-- name's record, its sources read back (and known to be kept), or nil.
local function restore(state, s)
  local text = l4.sys.store_get(state.key .. "/" .. s.name)
  local rec = text and require("service").decode(text)
  if type(rec) ~= "table" or type(rec.sources) ~= "table" then return nil end
  local base, kept = state.key .. "/" .. s.name .. "/", {}
  for g, chunkname in pairs(rec.sources) do
    local src = {source = (l4.sys.store_get(base .. g)), chunkname = chunkname or nil}
    rec.sources[g], kept[g] = src, src
  end
  s.kept = kept
  return rec
end

-- The guard's PING, answered between two entries once a tick has run
-- 50 ms: a tick that waits on a few slow components (a PING's 200 ms
-- each: the file service writing a file of some MiB, a service being
-- reloaded) must not leave the guard without an answer for its 600 ms,
-- for which it killed a supervisor that was only waiting (and the next,
-- which met the same components, four times in a row).
local function answer_guard(state, began)
  if not state.guard or now_ms() - began < 50 then return end
  local from, label = l4.receive(state.guard, 0)
  if from then
    l4.reply(from, proto.ping("supervisor", tostring(M.service.version)))
  end
end

local function check(state)
  local now = now_ms()
  for _, s in ipairs(state.list) do
    answer_guard(state, now)
    if s.id then
      local alive, reason, failure = probe(s)
      if not alive then
        died(state, s, reason, failure)
      elseif not answers(state, s, now) then
        -- deleted as hung; restarted per its policy
      elseif s.gen ~= s.good_gen then
        -- a reloaded version on probation: has it served a request yet?
        local i = require("service").info(s.id, 50)
        if i then
          state.dirty = state.dirty or s.good_gen ~= i.good
          s.gen, s.good_gen = i.generation, i.good
          for g in pairs(s.sources) do
            if g ~= s.gen and g ~= s.good_gen then s.sources[g] = nil end
          end
        end
      end
    elseif s.restart_at and now >= s.restart_at then
      local src = s.next_source or {}
      start(state, s, src.source, src.chunkname)
      state.dirty = true
    end
  end
  if state.dirty then save(state) end
end

-- A plan entry's fields, checked (docs/services.md "Plan entries").
local function entry(spec)
  local d = M.defaults
  -- ping: true (the default) a framework service; false a plain entry;
  -- an integer a plain entry asked that label instead of PING (any
  -- answer with label 0 is alive; no answer for `hang` ms is hung)
  local plain = spec.ping ~= nil and spec.ping ~= true
  assert(spec.ping == nil or type(spec.ping) == "boolean" or math.type(spec.ping) == "integer",
         ("%s: ping must be true, false or a label (an integer)"):format(tostring(spec.name)))
  local s = {
    name = spec.name, code = plain and spec.code or nil,
    script = spec.script or (not (plain and spec.code) and ("services/" .. tostring(spec.name) .. ".lua"))
             or nil,
    kind = spec.thread and "thread" or "task", plain = plain, args = spec.args,
    ping = spec.ping == nil or spec.ping,
    ping_label = not plain and require("service").PING or math.tointeger(spec.ping) or nil,
    register = spec.register ~= false, adopt_id = spec.id, keep_id = spec.keep_id and spec.thread,
    restart = spec.restart or d.restart,
    backoff0 = spec.backoff or d.backoff, backoff_max = spec.backoff_max or d.backoff_max,
    limit = spec.limit or d.limit, window = spec.window or d.window,
    reset_after = spec.reset_after or d.reset_after,
    hang = spec.hang == nil and d.hang or spec.hang, ping_every = spec.ping_every or d.ping_every,
    prio = spec.prio, mcp = spec.mcp, memcap = spec.memcap or d.memcap, io = spec.io,
    config = spec.config,
    restarts = 0, history = {}, state = "starting", sources = {}, gen = 1, good_gen = 1,
  }
  assert(s.name, "a service of the plan has no name")
  assert(s.restart == "always" or s.restart == "on-failure" or s.restart == "never",
         ("%s: restart must be \"always\", \"on-failure\" or \"never\""):format(s.name))
  assert(not (plain and spec.thread == false and spec.code),
         ("%s: a task runs a script (code = is for a thread)"):format(s.name))
  assert(s.args == nil or type(s.args) == "table", ("%s: args must be a table"):format(s.name))
  if s.args and not s.args.n then s.args.n = #s.args end
  if spec.started ~= nil then
    local fn, err = load(spec.started, "=" .. s.name .. " started", "t")
    assert(fn, ("%s: its started hook does not compile: %s"):format(s.name, tostring(err)))
    s.started = fn
  end
  s.backoff = s.backoff0
  return s
end

M.service = {
  name = "supervisor",
  version = 1,
  period = 100,
  init = function(state)
    local plan = state.config or {}
    state.list, state.by_name = {}, {}
    state.guard = math.tointeger(plan.guard) and l4.id(plan.guard)
    state.key = plan.store or "supervisor/state"
    for _, spec in ipairs(plan.services or {}) do
      local s = entry(spec)
      state.list[#state.list + 1] = s
      state.by_name[s.name] = s
      local k = restore(state, s)
      if type(k) == "table" and type(k.sources) == "table" then
        s.restarts, s.history, s.reason = k.restarts or 0, k.history or {}, k.reason
        s.gen, s.good_gen, s.sources = k.gen or 1, k.good_gen or 1, k.sources
      end
      -- in order: each answers PING (a plain entry asked a label: that
      -- label, and it is named then) before the next starts (at most
      -- plan.ready ms, default 3000), so later ones can look it up; one
      -- that already runs (the plan's id, or the name's holder when the
      -- guard starts a supervisor again) is taken over as it is
      -- (an entry the name service does not know, telnet or httpd, is
      -- found by the id the last supervisor kept: without it a second
      -- listener was started beside the first, failed on its port and was
      -- given up, and the first ran on unsupervised)
      local id = adopt(s, s.adopt_id or (type(k) == "table" and math.tointeger(k.id)) or nil)
      local wait = false
      if not id then
        local src = s.sources[s.good_gen] or {}          -- its last good version
        id = start(state, s, src.source, src.chunkname)
        wait = not s.plain or s.unnamed
      end
      if id and wait then
        local deadline = l4.clock() + (plan.ready or 3000) * 1000
        while l4.clock() < deadline do
          local from, label = l4.call(id, {timeout = 100}, s.ping_label)
          if from and label == 0 then named(s); break end
          if s.kind == "task" and (l4.task.info(id) or {}).state ~= "running" then break end
          l4.sleep(5)
        end
      end
    end
    save(state)
    -- the plan is up: a session's first line waits for it; with the
    -- guest TSC (make bench's boot_to_plan_up)
    pcall(l4.sys.store_put, require("service_proto").PLAN_UP, "up " .. l4.debug.rdtsc())
  end,
  tick = check,
  handlers = {
    [M.STATUS] = function(state)
      local out = {}
      for _, s in ipairs(state.list) do
        out[#out + 1] = {name = s.name, id = s.id and s.id.raw, kind = s.kind, ping = s.ping,
                         state = s.state,
                         restarts = s.restarts, reason = s.reason, script = s.script,
                         restart = s.restart, generation = s.gen, good = s.good_gen}
      end
      return require("service").encode(out)
    end,
    -- service.reload tells: generation, s name, s source, s chunkname
    -- good: the generation the service falls back to (service.reload
    -- passes what the framework's RELOAD answered); only it and gen can
    -- be started again, so the others go now, not at the next tick
    -- (back-to-back reloads piled sources up, and each save wrote them
    -- all). Without good (a RELOAD of its own: the pager, the console)
    -- the tick prunes, once INFO said which generation is good.
    [M.RELOADED] = function(state, from, gen, good, ...)
      local name, source, chunkname = ...
      if math.type(good) ~= "integer" then     -- (integers travel first)
        name, source, chunkname, good = good, ...
      end
      local s = state.by_name[name]
      if not s then return 0 end
      s.sources[gen] = {source = source, chunkname = chunkname}
      s.gen = gen
      if good and s.sources[good] then
        s.good_gen = good
        for g in pairs(s.sources) do
          if g ~= gen and g ~= good then s.sources[g] = nil end
        end
      end
      save_one(state, s)
      return 1
    end,
    [M.RESTART] = function(state, from, name)
      local s = state.by_name[name]
      if not s then error("no service " .. tostring(name) .. " in the plan", 0) end
      if s.id then return 0 end
      s.history, s.backoff = {}, s.backoff0
      local src = s.next_source or {}
      return start(state, s, src.source, src.chunkname) and 1 or 0
    end,
  },
}

return M
