-- sched_policy.lua: the scheduling-policy service (docs/services.md
-- "Policies"). Every second it reads each thread's CPU time
-- (l4.sys.threads) and lowers, by `step`, the priority of a thread of a
-- Lua task that used more than `high` percent of the last period; one
-- that used less than `low` percent gets `step` back, up to the
-- priority it had when the policy first saw it. A priority never goes
-- below `floor`, nor more than `max_drop` below where it started.
--
-- It must run in the root task: l4.sys.threads is the root's, and
-- thread_schedule reaches only threads of the caller's task and of its
-- subclans (every Lua task is the root's). The plan starts it as a root
-- thread (thread = true). Change it live: edit, then `reload sched`; the
-- state (what it saw, the base priorities, the configuration) is kept.
local l4 = require "l4"

local CONFIG, STATS, TICK = 1, 2, 3

local defaults = {
  high = 50,          -- % of a period: above, the thread is lowered
  low = 10,           -- % of a period: below, it gets priority back
  step = 10,          -- priority levels per period
  floor = 10,         -- never below this priority
  max_drop = 50,      -- never more than this below its base priority
  exempt = {console = true, com2 = true, names = true},  -- task names left alone
  verbose = false,    -- print each change on the console
}

local function note(state, text)
  local ev = state.events
  ev[#ev + 1] = text
  if #ev > 16 then table.remove(ev, 1) end
  if state.config.verbose then print("sched: " .. text) end
end

local function policy(state)
  local c = state.config
  local now = l4.clock()
  local elapsed_ms = math.max(1, (now - (state.last or now)) // 1000)
  state.last = now
  local names = {}
  for _, t in ipairs(l4.task.list() or {}) do
    if t.state == "running" then names[t.id.task] = t.name or "?" end
  end
  local threads = l4.sys.threads()
  if not threads then return end
  local alive = {}
  for _, t in ipairs(threads) do
    local name = names[t.task]
    if name and not c.exempt[name] then
      local raw = t.id.raw
      alive[raw] = true
      local s = state.seen[raw]
      if not s then
        state.seen[raw] = {cpu = t.cpu_ms, base = t.prio}
      else
        local used = (t.cpu_ms - s.cpu) * 100 // elapsed_ms
        s.cpu = t.cpu_ms
        local lowest = math.max(c.floor, s.base - c.max_drop)
        local new
        if used > c.high and t.prio > lowest then
          new = math.max(lowest, t.prio - c.step)
        elseif used < c.low and t.prio < s.base then
          new = math.min(s.base, t.prio + c.step)
        end
        if new and l4.thread.schedule(t.id, new) then
          state.changes = state.changes + 1
          note(state, ("%s %s (%s): %d%% of %d ms -> priority %d"):format(
            new < t.prio and "lowered" or "raised", tostring(t.id), name, used, elapsed_ms, new))
        end
      end
    end
  end
  for raw in pairs(state.seen) do
    if not alive[raw] then state.seen[raw] = nil end
  end
  state.ticks = state.ticks + 1
end

return {
  name = "sched",
  version = 1,
  period = 1000,

  init = function(state)
    local c = {}
    for k, v in pairs(defaults) do c[k] = v end
    for k, v in pairs(state.config or {}) do c[k] = v end
    state.config = c
    state.seen, state.events, state.ticks, state.changes = {}, {}, 0, 0
  end,

  tick = policy,

  handlers = {
    -- value, s key: set a number (or verbose 0/1) of the configuration;
    -- without them, nothing -> the configuration (service.encode)
    [CONFIG] = function(state, from, value, key)
      local c = state.config
      if key ~= nil then
        if key == "verbose" then c.verbose = value ~= 0
        elseif type(c[key]) == "number" and math.type(value) == "integer" then c[key] = value
        else error(("no number %s in the configuration"):format(tostring(key)), 0) end
      end
      return require("service").encode(c)
    end,
    -- -> {ticks, changes, managed, events} (service.encode)
    [STATS] = function(state)
      local managed = 0
      for _ in pairs(state.seen) do managed = managed + 1 end
      return require("service").encode{ticks = state.ticks, changes = state.changes,
                                        managed = managed, events = state.events}
    end,
    -- run the policy now
    [TICK] = function(state)
      policy(state)
      return state.changes
    end,
  },
}
