-- What the soak kills and crashes (soak/main.lua picks one kind at
-- random per round). One table, one entry per kind; `on = false` keeps a
-- kind out, with the reason. A kind names its component and how it is
-- hit; main.lua finds the target, hits it, then waits until the
-- component is back (a new id under its name that answers).
--
--   component  the name it is found under: the system supervisor's
--              entry (supervisor = "system"), the soak's own
--              supervisor's ("soak"), or the name service's ("names":
--              the supervisor itself, which the boot thread starts again,
--              and the consoles, which the consoles' guardian does)
--   probe      how to ask whether it answers: the framework's PING,
--              "files" (the file service's INFO) or "console" (the
--              console protocol's INFO)
--   how        "kill": l4.task.delete of its task, as the REPL's `kill`;
--              "kill thread": l4.thread.kill of its root thread;
--              "interrupt": l4.thread.interrupt, a Lua error raised in
--              the thread; "crash": the soak victim's label of that crash
--              kind (tests/lua/services_crash.lua, as lua.isolation_*)
--   root       a thread of the root task: each restart takes an lthread
--              of the root, which is never given back yet (docs/runtime.md
--              "Threads", 252 per task), so main.lua stops picking these
--              kinds after ROOT_THREAD_RESTARTS of them
-- A root thread that ended keeps its kernel thread (TCB, UTCB) and its
-- stack for good: each restart of a root thread leaves some 25 KiB of the
-- kernel pool behind and one thread more (make soak found it:
-- docs/reliability.md "Soak").
local KILLED_ROOT_THREADS_STAY = "a killed root thread's kernel thread and stack are never "
  .. "given back (each restart keeps a thread and ~25 KiB of the kernel pool more)"

return {
  -- echo, the example service: a task under the system's supervisor
  {component = "echo", supervisor = "system", how = "kill", on = true},
  -- the name service and the file service: tasks under the system's
  -- supervisor, back with every name and every file (docs/recovery.md)
  {component = "names", supervisor = "system", how = "kill", on = true},
  {component = "files", supervisor = "system", how = "kill", probe = "files", on = true},
  -- the soak's own service, crashed each way lua.isolation_* crashes one
  {component = "soak-victim", supervisor = "soak", how = "crash", crash = "lua_error", on = true},
  {component = "soak-victim", supervisor = "soak", how = "crash", crash = "null", on = true},
  {component = "soak-victim", supervisor = "soak", how = "crash", crash = "write", on = true},
  {component = "soak-victim", supervisor = "soak", how = "crash", crash = "stack", on = true},
  {component = "soak-victim", supervisor = "soak", how = "crash", crash = "runaway", on = true},
  {component = "soak-victim", supervisor = "soak", how = "crash", crash = "memory", on = true},
  {component = "soak-victim", supervisor = "soak", how = "crash", crash = "port_refused", on = true},
  {component = "soak-victim", supervisor = "soak", how = "crash", crash = "port_gp", on = true},
  {component = "soak-victim", supervisor = "soak", how = "crash", crash = "opcode", on = true},
  {component = "soak-victim", supervisor = "soak", how = "crash", crash = "hang", on = true},
  -- Root threads that are restarted (the scheduling policy and the Lua
  -- pager under the supervisor, the supervisor under the boot thread's
  -- guard): off until a root thread's end gives its resources back.
  {component = "sched", supervisor = "system", how = "kill thread", root = true, on = false,
   why = KILLED_ROOT_THREADS_STAY},
  {component = "sched", supervisor = "system", how = "interrupt", root = true, on = false,
   why = KILLED_ROOT_THREADS_STAY},
  {component = "pager", supervisor = "system", how = "kill thread", root = true, on = false,
   why = KILLED_ROOT_THREADS_STAY},
  {component = "supervisor", supervisor = "names", how = "kill thread", root = true, on = false,
   why = KILLED_ROOT_THREADS_STAY},
  -- The consoles' guardian (scripts/consoles.lua) brings back the COM1
  -- and COM2 console servers (tasks) and the screen, the REPL sessions
  -- and the push agent (root threads: off as above).
  {component = "console", supervisor = "names", how = "kill", probe = "console", on = true},
  -- Off: when COM2's server is killed the push agent fails
  -- ("push_agent.lua:79: COM2: aborted") instead of opening the new one,
  -- and the guardian restarts it: a root thread left behind per kill.
  {component = "com2", supervisor = "names", how = "kill", probe = "console", on = false,
   why = "the push agent fails when COM2's server dies (push_agent.lua:79: COM2: aborted) and "
     .. "is restarted: a root thread left behind each time"},
  {component = "screen", supervisor = "names", how = "kill thread", root = true, on = false,
   why = KILLED_ROOT_THREADS_STAY},
  {component = "repl.serial", supervisor = "names", how = "kill thread", root = true, on = false,
   why = KILLED_ROOT_THREADS_STAY},
  {component = "repl.screen", supervisor = "names", how = "kill thread", root = true, on = false,
   why = KILLED_ROOT_THREADS_STAY},
  {component = "push", supervisor = "names", how = "kill thread", root = true, on = false,
   why = KILLED_ROOT_THREADS_STAY},
}
