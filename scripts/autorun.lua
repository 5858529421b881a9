-- The user's autorun (docs/recovery.md "Safe boot"): init.lua starts this
-- thread last, once the consoles and the REPLs are up, with the path of
-- the user's init.lua (user/init.lua: `make run SCRIPTS=dir` packs the
-- folder under user/). It runs that script in this thread's own state
-- (memory cap and priority below the REPLs', set by init.lua). Whatever
-- goes wrong (it does not compile, raises, runs out of memory, or loops
-- without a pause) is printed with its traceback and one line on how to
-- boot without it; the REPL is not touched. Ctrl-C typed at an empty
-- prompt interrupts it (scripts/session.lua: l4.thread.interrupt with
-- "interrupted@<the key's time>"), which is reported the same way;
-- `kill autorun` stops it silently.
local path = ...

-- How to get back to the standard boot plan: printed after any failure.
local BACK = "autorun: the REPL is yours; to boot without your scripts: " ..
             "safe mode (`make run SAFE=1`, GRUB's \"L4ua (safe mode)\", or a key " ..
             "typed in the first second), or `make run` without SCRIPTS="

-- A loop that computes for BUSY_US without a pause (sleeping, waiting for
-- a message) is stopped: an autorun sets things up and returns, or waits;
-- long work goes into l4.thread.create / l4.task.spawn of its own.
local BUSY_US = 5000000
local PERIOD_US = 500000    -- how often the guard looks at the CPU time
local HOOK_COUNT = 10000    -- VM instructions between two calls of the guard

local function report(text)
  print(text)
  print(BACK)
end

-- The script is loaded and run in a coroutine: after any error, memory
-- errors too (which skip a message handler), its stack is still there to
-- show; a script that does not compile shows where it was loaded.
local main = coroutine.running()
local co = coroutine.create(function()
  local chunk, err = loadfile(path)
  if not chunk then error(err, 0) end
  chunk()     -- not a tail call: the traceback shows the script's frame
end)
local busy, last_wall, last_cpu = 0, l4.clock(), os.clock()
local stop_why

-- The guard, every HOOK_COUNT instructions of the script: stops it when
-- this thread was asked to stop (l4.thread.kill or interrupt set their
-- hook on the main coroutine, which does not run while the script does),
-- or when it was busy for BUSY_US.
local stop_msg
-- Once stopped, the error is raised again at every instruction of the
-- script: a pcall of the script's catches it only for it to be raised
-- at the next instruction outside that pcall, and so on up to the
-- script's top, which ends it (a pcall-wrapped loop cannot keep
-- Ctrl-C, a kill or the runaway guard from stopping it).
local function again() error(stop_msg, 2) end
local function stop(why, msg)
  stop_why, stop_msg = why, msg
  debug.sethook(co, again, "", 1)
  local running = coroutine.running()
  if running ~= co then debug.sethook(running, again, "", 1) end  -- a coroutine of the script's
  error(msg, 3)
end
local function guard()
  if debug.gethook(main) then stop("stopped", "stopped") end
  local now = l4.clock()
  if now - last_wall < PERIOD_US then return end
  local cpu = os.clock()
  if (cpu - last_cpu) * 1e6 >= (now - last_wall) // 2 then
    busy = busy + (now - last_wall)
  else
    busy = 0
  end
  last_wall, last_cpu = now, cpu
  if busy >= BUSY_US then
    stop("busy", ("computed for %d s without a pause (a runaway loop?): stopped"):format(BUSY_US // 1000000))
  end
end
debug.sethook(co, guard, "", HOOK_COUNT)

-- Room for the report when the script filled this state up to its cap.
local reserve = string.rep("r", 256 << 10)

-- The script runs; afterwards this (main) coroutine runs again, and an
-- interrupt of this thread, which hooked it, raises here: run() is
-- called protected. (A kill ends the thread there instead.)
local function run()
  local ok, e = coroutine.resume(co)
  if ok and coroutine.status(co) == "suspended" then
    ok, e = false, "attempt to yield from outside a coroutine"
  end
  return ok, e
end

local done, ok, e = pcall(run)
reserve = nil
collectgarbage()
if not done and tostring(ok):find("interrupted", 1, true) then
  local at = tonumber(tostring(ok):match("interrupted@(%d+)"))
  local when = at and at > 0 and (" (%d ms after Ctrl-C)"):format((l4.clock() - at) // 1000) or ""
  report(("autorun: %s interrupted%s\n%s"):format(path, when, debug.traceback(co)))
  return
end
if not done then ok, e = false, ok end      -- (run itself failed)
if ok or stop_why == "stopped" then
  co = nil
  return    -- a kill: the main coroutine's hook ends this thread now
end
local msg = type(e) == "string" and e or ("(error object is a %s value)"):format(type(e))
report("autorun: " .. path .. " failed: " .. debug.traceback(co, msg))
