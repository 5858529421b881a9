-- Run as a Lua task by tests/lua/fuzz.lua: takes one resource without end
-- until it is refused, tells the root (args: mode, the root's thread) how
-- far it got and what the refusal said, then sleeps until deleted.
-- Modes: "threads" (Lua threads running at once), "tasks" (tasks that
-- sleep, at once), "heap" (Lua memory), "idle" (only sleeps). Threads and
-- tasks that come and go are not used up: tests/lua/threads.lua and
-- tasks.lua loop on them, many_tasks.lua takes every task memory allows.
local l4 = require "l4"
local mode, root = ...
root = root and l4.id(root)
if mode == "idle" then l4.sleep() end
local n, why, hold = 0, nil, {}
while true do
  local ok, r, msg, code = pcall(function()
    if mode == "threads" then
      return l4.thread.create{code = "require('l4').sleep()", stack = 64 * 1024}
    elseif mode == "tasks" then
      return l4.task.spawn{script = "exhaust.lua", args = {"idle"}, memcap = 1 << 20,
                           name = "exhaust-idle"}
    else
      return ("x"):rep(60000) .. n
    end
  end)
  if not ok then why = "an error: " .. tostring(r) break end
  if r == nil then why = ("%s (%s)"):format(msg, code) break end
  n = n + 1
  hold[n] = r
  if n > 100000 then why = "no limit met" break end
end
l4.send(root, {timeout = 10000}, 1, n, why)
l4.sleep()
