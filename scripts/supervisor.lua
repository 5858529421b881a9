-- supervisor.lua: starts the services of the boot plan and restarts those
-- that die, per their policy (docs/services.md "Supervision"). It is a
-- service itself, run by the framework in a thread of the root task (it
-- spawns, watches and deletes tasks: l4.task.* are the root's), every 100
-- ms a tick that looks at each service:
--
--   a task:   l4.task.info(id): "exited" / "failed" / gone (deleted, `kill`),
--             and every second a PING: no answer for 5 s is a hang
--   a thread: l4.thread.status(id): "ended" / "failed" / "killed"
--
-- Polling, not a waiting thread per service: one thread, no lthreads used
-- up (a root thread's lthread is never reused), a death noticed within a
-- tick. A death is logged with its reason and, per the policy, followed
-- by a restart after a back-off (doubling up to a maximum), unless the
-- service restarted `limit` times within `window` ms: then it gives up.
--
--   local sup = require("supervisor").start{names = names_id, services = {
--     {name = "echo", script = "services/echo.lua", restart = "always",
--      prio = 100, memcap = 4 << 20},
--   }}
--   require("supervisor").status()   -- {{name, state, restarts, ...}, ...}
local l4 = require "l4"

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
local PING_OPTS = {timeout = 200}

-- The thread body of services that run in the root (and the supervisor).
local BODY = "require('service').main(...)"

-- In the root task (init.lua): starts the supervisor thread with the plan
-- (plan.names: the name service's id; plan.prio, plan.memcap: the
-- supervisor's own) -> its id. It starts the plan's services in order.
function M.start(plan)
  local service = require "service"
  local names = plan.names or require("names").server()
  local p = {}
  for k, v in pairs(plan) do if k ~= "names" then p[k] = v end end
  return l4.thread.create{code = BODY, prio = plan.prio or 160, memcap = plan.memcap or (8 << 20),
                          args = {"supervisor", "supervisor.lua", names and names.raw or false,
                                  service.encode(p), false}}
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

local function now_ms() return l4.clock() // 1000 end

local function first_line(s)
  s = tostring(s or "")
  return s:match("^[^\n]*")
end

-- Starts (or restarts) s, from its script or from the source given.
local function start(state, s, source, chunkname)
  local service = require "service"
  local names = require "names"
  local ns = names.server()
  local args = {s.name, s.script, ns and ns.raw or false,
                s.config and service.encode(s.config) or false, source or false}
  local id, err
  if s.kind == "thread" then
    id, err = l4.thread.create{code = BODY, args = args, prio = s.prio, memcap = s.memcap}
  else
    args.n = 5
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
  names.register(s.name, id)
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
  local names = require "names"
  names.unregister(s.name, s.id)
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
  if s.kind ~= "task" or not s.hang or now < s.next_ping then return true end
  s.next_ping = now + s.ping_every
  local from, label = l4.call(s.id, PING_OPTS, require("service").PING)
  if from and label == 0 then
    s.last_answer = now
    return true
  end
  local quiet = now - s.last_answer
  if quiet < s.hang then return true end
  l4.task.delete(s.id)
  died(state, s, ("did not answer for %d ms (hung): deleted"):format(quiet), true)
  return false
end

local function check(state)
  local now = now_ms()
  for _, s in ipairs(state.list) do
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
          s.gen, s.good_gen = i.generation, i.good
          for g in pairs(s.sources) do
            if g ~= s.gen and g ~= s.good_gen then s.sources[g] = nil end
          end
        end
      end
    elseif s.restart_at and now >= s.restart_at then
      local src = s.next_source or {}
      start(state, s, src.source, src.chunkname)
    end
  end
end

local function entry(spec)
  local d = M.defaults
  local s = {
    name = spec.name, script = spec.script or ("services/" .. spec.name .. ".lua"),
    kind = spec.thread and "thread" or "task",
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
    for _, spec in ipairs(plan.services or {}) do
      local s = entry(spec)
      state.list[#state.list + 1] = s
      state.by_name[s.name] = s
      -- in order: each answers PING before the next starts (at most
      -- plan.ready ms, default 3000), so later ones can look it up
      local id = start(state, s)
      if id then
        local deadline = l4.clock() + (plan.ready or 3000) * 1000
        while l4.clock() < deadline do
          local from, label = l4.call(id, {timeout = 100}, require("service").PING)
          if from and label == 0 then break end
          if s.kind == "task" and (l4.task.info(id) or {}).state ~= "running" then break end
          l4.sleep(5)
        end
      end
    end
  end,
  tick = check,
  handlers = {
    [M.STATUS] = function(state)
      local out = {}
      for _, s in ipairs(state.list) do
        out[#out + 1] = {name = s.name, id = s.id and s.id.raw, kind = s.kind, state = s.state,
                         restarts = s.restarts, reason = s.reason, script = s.script,
                         restart = s.restart, generation = s.gen, good = s.good_gen}
      end
      return require("service").encode(out)
    end,
    -- service.reload tells: generation, s name, s source, s chunkname
    [M.RELOADED] = function(state, from, gen, name, source, chunkname)
      local s = state.by_name[name]
      if not s then return 0 end
      s.sources[gen] = {source = source, chunkname = chunkname}
      s.gen = gen
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
