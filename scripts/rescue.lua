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
-- console a REPL and a watcher (which restarts them if they die). Tasks
-- the plan spawned keep running, unsupervised.
local err, mode, late = ...

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

-- No supervisor will mark the plan up: a session here runs its first
-- line at once (init.lua's step 2c left the mark at "starting").
pcall(l4.sys.store_remove, require("service_proto").PLAN_UP)

-- 1. Every Lua thread of this task but this one stops.
local me = l4.self()
for _, t in ipairs(l4.sys.threads() or {}) do
  if t.task == me.task and t.id ~= me and l4.thread.status(t.id) == "running" then
    l4.thread.kill(t.id)
  end
end

-- 2. A fresh console driver on COM1 (a stuck or broken one cannot be
--    trusted), started as the console guardian starts it
--    (scripts/consoles.lua: it takes the serial line and the root's
--    output). The kernel has the line meanwhile, and keeps it if the
--    driver does not answer.
local consoles = require "consoles"
l4.sys.set_console(nil)
l4.sys.release_serial(false)
for _, t in ipairs(l4.task.list() or {}) do
  if t.name == "console" and t.state == "running" then l4.task.delete(t.id) end
end
local con, why = consoles.start(consoles.by_name.console)

print("")
print("rescue: the boot plan " .. (late and "did not finish" or "failed") ..
      (mode == "safe" and " (in safe mode)" or "") .. ": " .. tostring(err))
if not con then
  print("rescue: no console driver (" .. tostring(why) .. "): the kernel keeps the serial line; no REPL")
  print(BACK)
  return
end
print("rescue: this is the rescue plan: the serial console and its REPL only")
print(BACK)

-- 3. The REPL on it, and the watcher (the kernel's log, Ctrl-C, and the
--    console guardian for these two only), as init.lua starts them.
local repl = assert(consoles.start(consoles.by_name["repl.serial"]))
assert(l4.thread.create{script = "watch.lua", prio = 150, memcap = 8 << 20,
                        args = {"console", con, "repl.serial", repl, "com2", false,
                                "push", false, "screen", false, "repl.screen", false}})

l4.sleep()      -- the task lives on
