-- silence.lua: a watched component has been silent for its `hang` ms;
-- is it hung, or only starved? (docs/recovery.md "Hangs"). One rule for
-- every watcher in the root: the supervisor (its components), its guard
-- (the supervisor) and the consoles' guardian (the console servers).
--
-- A thread that is ready (runnable), got under a tenth of the silence in
-- CPU, the kernel's own check passing, is starved by threads above it,
-- not hung: a new one would starve the same. It is left running, and the
-- log says what took the CPU. Anything else silent that long is hung, and
-- the log says what it was doing, as the kernel sees it.
--
--   local before = silence.cpu()           -- when the silence began
--   ...
--   local starved, what = silence.judge(id, before, quiet_ms)
--
-- Root only (l4.sys.threads, l4.debug.kcheck). Loaded with the watcher,
-- never at a hang: a module is read through the file service, which may
-- be the hung one.
local l4 = require "l4"

local M = {}

-- Every thread's CPU time (ms), by id.
function M.cpu()
  local r = {}
  for _, t in ipairs(l4.sys.threads()) do r[tostring(t.id)] = t.cpu_ms end
  return r
end

-- The three threads that took most CPU since `before` (a record of
-- M.cpu()), with their priorities: what ran while a component that was
-- ready got none.
function M.cpu_since(before)
  local d = {}
  for _, t in ipairs(l4.sys.threads()) do
    local k = tostring(t.id)
    local n = t.cpu_ms - (before[k] or 0)
    if n > 0 then d[#d + 1] = {k, n, t.prio} end
  end
  table.sort(d, function(a, b) return a[2] > b[2] end)
  local out = {}
  for i = 1, math.min(3, #d) do out[i] = ("%s (prio %d) %d ms"):format(d[i][1], d[i][3], d[i][2]) end
  return "CPU meanwhile: " .. (#out > 0 and table.concat(out, ", ") or "none")
end

-- What thread id is doing, as the kernel sees it, for the log of a hang:
-- the IPC it waits in and with whom ("receive from 2.1.0101"), or
-- "ready" with its priority and the kernel's self-check (a thread ready
-- yet silent for so long is starved, or the scheduler lost it: the check
-- says which).
function M.doing(id)
  for _, t in ipairs(l4.sys.threads()) do
    if t.id == id then
      if t.state == "ready" then
        local ok, good = pcall(l4.debug.kcheck)
        return ("ready, prio %d; kernel check %s"):format(t.prio,
          not ok and "not run" or good and "ok" or "FAILED")
      end
      return t.partner and ("%s %s %s"):format(t.state, t.state == "send" and "to" or "from",
                                               tostring(t.partner)) or t.state
    end
  end
  return "gone"
end

-- Thread id, silent for `quiet` ms since the record `before` (M.cpu(),
-- or nil if none was taken) -> starved, what:
--   true, "ready but has had N ms of CPU in M ms (CPU meanwhile: ...)";
--   false, what it is doing ("receive from ...", "ready, prio 190;
--   kernel check ok; CPU meanwhile: ...") for the hang's log.
function M.judge(id, before, quiet)
  local doing = M.doing(id)
  if doing:match("^ready") and before then
    local own = (M.cpu()[tostring(id)] or 0) - (before[tostring(id)] or 0)
    if own * 10 < quiet and doing:match("check ok") then
      return true, ("ready but has had %d ms of CPU in %d ms (%s)"):format(own, quiet,
                                                                          M.cpu_since(before))
    end
    doing = doing .. "; " .. M.cpu_since(before)
  end
  return false, doing
end

return M
