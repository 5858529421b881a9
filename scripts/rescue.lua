-- The rescue plan (docs/recovery.md "Safe boot"): runtime/lua/main.c runs
-- it in a fresh state of the root task's main thread when the boot plan
-- (init.lua, or a module it requires) raised an error or was not done by
-- its deadline. It gets the plan's error (with its traceback), the boot's
-- mode ("normal" or "safe") and whether the deadline stopped the plan.
-- The user's modules are off package.path here and in what it starts.
--
-- What the failed plan started may be in any state, so it starts again
-- from what cannot be broken: it stops every Lua thread of this task
-- (the REPLs, the watcher, the supervisor, ...), replaces the COM1 console
-- driver with a fresh one (the kernel keeps the serial line if even that
-- cannot start), prints the error and how to go back, and gives the
-- console a REPL and a watcher. Tasks the plan spawned keep running.
local err, mode, late = ...
local console = require "console"

local BACK = "rescue: to get the standard boot plan back, reboot: in safe mode (`make run SAFE=1`, " ..
             "GRUB's \"L4ua (safe mode)\", or a key typed in the first second) if one of your " ..
             "modules (user/) broke it, else once the module named above is fixed"

-- The file service, if it still answers (main.c took it away: a broken
-- one would fail every require); else the archive, read-only.
for _, t in ipairs(l4.task.list() or {}) do
  if t.name == "files" and t.state == "running" then
    l4.sys.set_files(t.id)
    local ok, f = pcall(io.open, "rescue.lua")
    if ok and f then f:close() else l4.sys.set_files(nil) end
    break
  end
end

-- 1. Every Lua thread of this task but this one stops.
local me = l4.self()
for _, t in ipairs(l4.sys.threads() or {}) do
  if t.task == me.task and t.id ~= me and l4.thread.status(t.id) == "running" then
    l4.thread.kill(t.id)
  end
end

-- 2. A fresh console driver on COM1 (a stuck or broken one, or one with
--    a reader that is gone, cannot be trusted). The kernel has the line
--    meanwhile, and keeps it if the driver does not answer.
l4.sys.release_serial(false)
l4.sys.set_console(nil)
for _, t in ipairs(l4.task.list() or {}) do
  if t.name == "console" and t.state == "running" then l4.task.delete(t.id) end
end
local con, why = l4.task.spawn{name = "console", script = "console_task.lua",
                               args = {"uart", 0x3f8, 4}, io = {{0x3f8, 8}},
                               prio = 200, memcap = 8 << 20}
if con and not l4.call(con, {timeout = 5000}, console.INFO) then
  local i = l4.task.info(con)
  why = ("it does not answer (%s %s)"):format(i and i.state or "?", i and i.message or "")
  l4.task.delete(con)
  con = nil
end

print("")
print("rescue: the boot plan " .. (late and "did not finish" or "failed") ..
      (mode == "safe" and " (in safe mode)" or "") .. ": " .. tostring(err))
if not con then
  print("rescue: no console driver (" .. tostring(why) .. "): the kernel keeps the serial line; no REPL")
  print(BACK)
  return
end
l4.sys.release_serial(true)
l4.sys.set_console(con)
print("rescue: this is the rescue plan: the serial console and its REPL only")
print(BACK)

-- 3. The REPL on it, and the watcher (kernel log, Ctrl-C), as init.lua
--    starts them.
local repl = assert(l4.thread.create{script = "session.lua", args = {con, "serial"},
                                     memcap = 64 << 20, prio = 100})
assert(l4.thread.create{script = "watch.lua", args = {con, repl}, prio = 150})

l4.sleep()      -- the task lives on
