-- The boot plan: the first script of the Lua root task (runtime/lua/main.c
-- runs it from the scripts archive). Read it like an rc file: what starts,
-- in what order, with what it is handed. docs/console.md tells the story.
local lpeg = require "lpeg"

print("")
print("L4ua: Lua is running as the root task")
print(("  %s, LPeg %s, started %s UTC"):format(_VERSION, lpeg.version(),
                                              os.date("!%Y-%m-%d %H:%M:%S")))

-- Starts a task (the shell's `ps` and `services` show it by its name).
local function start(spec)
  local id, err = l4.task.spawn(spec)
  if not id then
    print(("init: cannot start %s: %s"):format(spec.name, err))
  end
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

-- 2. COM2, the line `tools/l4ua` talks to (make run puts it on a socket
--    in the build folder): the same driver, its own task and ports.
local com2 = start{name = "com2", script = "console_task.lua",
                   args = {"uart", 0x2f8, 3}, io = {{0x2f8, 8}},
                   prio = 200, memcap = 8 << 20}
if com2 and not l4.call(com2, {timeout = 2000}, require("console").INFO) then
  print("init: no COM2 (QEMU was started without a second serial port)")
  l4.task.delete(com2)
  com2 = nil
end

-- 3. The screen and keyboard: a console server over VGA text mode and the
--    PS/2 keyboard (make run-vga shows it in a window). A thread of this
--    task, which can map the screen's memory (sigma0 serves the root).
local screen = assert(l4.thread.create{script = "console_task.lua", args = {"vga"},
                                       prio = 200})

-- 4. A REPL on each console, in a thread of its own with a memory cap of
--    its own, so that nothing typed at it can take the root task's memory.
local repl = assert(l4.thread.create{script = "session.lua", args = {console, "serial"},
                                     memcap = 64 << 20, prio = 100})
local repl2 = assert(l4.thread.create{script = "session.lua", args = {screen, "screen"},
                                      memcap = 32 << 20, prio = 100})

-- 5. The watcher: the kernel's log to the serial console, Ctrl-C typed at
--    a console to an interrupt of its REPL.
assert(l4.thread.create{script = "watch.lua", args = {console, repl, screen, repl2},
                        prio = 150})

l4.sleep()      -- this thread's work is done; the task lives on
