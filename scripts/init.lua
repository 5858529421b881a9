-- The boot plan: the first script of the Lua root task (runtime/lua/main.c
-- runs it from the scripts archive). Read it like an rc file: what starts,
-- in what order, with what it is handed. docs/console.md tells the story.
local lpeg = require "lpeg"

print("")
print("L4ua: Lua is running as the root task")
print(("  %s, LPeg %s, started %s UTC"):format(_VERSION, lpeg.version(),
                                              os.date("!%Y-%m-%d %H:%M:%S")))

-- Tasks started here, by name (the shell's `services` lists them).
local started = {}
local function start(spec)
  local id, err = l4.task.spawn(spec)
  if not id then
    print(("init: cannot start %s: %s"):format(spec.name, err))
    return nil
  end
  started[spec.name] = id
  return id
end

-- 1. The serial console: the COM1 driver, in its own task, owning only
--    COM1's eight ports; it serves the console protocol (console.lua).
local console = start{name = "console", script = "console_task.lua",
                      args = {"uart", 0x3f8, 4}, io = {{0x3f8, 8}},
                      prio = 200, memcap = 8 << 20}
if not console then
  print("init: no console driver; the kernel keeps the serial line")
  return
end

-- Its first answer says it is serving; from then on it alone drives
-- COM1: the kernel writes its log to its ring, and this task and every
-- task spawned after this point print through the driver.
local ready, why = l4.call(console, {timeout = 5000}, require("console").INFO)
if not ready then
  local i = l4.task.info(console)
  print(("init: the console driver does not answer (%s): %s %s"):format(
        why, i.state, i.message or ""))
  for _, t in ipairs(l4.sys.threads() or {}) do
    if t.task == console.task then
      print(("  thread %s: %s, waits for %s"):format(t.id, t.state, t.partner or "-"))
    end
  end
  return
end
assert(l4.sys.release_serial(true))
l4.sys.set_console(console)

-- 2. The kernel's log still reaches the screen: a thread copies what the
--    kernel writes from its ring to the console; the same thread turns a
--    Ctrl-C typed while a chunk runs into an interrupt of the REPL.
-- 3. The REPL, in a thread of its own with a memory cap of its own, so
--    that nothing typed at it can take the root task's memory.
local repl = assert(l4.thread.create{script = "session.lua",
                                     args = {console, "serial"},
                                     memcap = 64 << 20, prio = 100})
assert(l4.thread.create{script = "watch.lua", args = {console, repl}, prio = 150})

-- This thread's work is done; it stays (the task lives while it does).
l4.sleep()
