-- What the soak kills and crashes (soak/main.lua picks one kind at
-- random per round). One table, one entry per kind; `on = false` keeps a
-- kind out, with the reason. A kind names its component and how it is
-- hit; main.lua finds the target, hits it, then waits until the
-- component is back (a new id under its name that answers).
--
--   component  the name it is found under: the system supervisor's
--              entry (supervisor = "system"), the soak's own
--              supervisor's ("soak"), the name service's ("names": the
--              supervisor itself, which the boot thread starts again,
--              and the console servers, which the consoles' guardian
--              does), or the consoles' guardian's ("consoles":
--              consoles.find, for the REPL sessions and the push agent,
--              which are not named)
--   probe      how to ask whether it answers: the framework's PING,
--              "files" (the file service's INFO), "console" (the
--              console protocol's INFO) or "alive" (a root thread that
--              serves nobody: running is all it can show)
--   how        "kill": l4.task.delete of its task, as the REPL's `kill`;
--              "kill thread": l4.thread.kill of its root thread;
--              "interrupt": l4.thread.interrupt, a Lua error raised in
--              the thread; "crash": the soak victim's label of that crash
--              kind (tests/lua/services_crash.lua, as lua.isolation_*)
--   root       a thread of the root task (its lthread and kernel thread
--              are reclaimed when it ends: docs/runtime.md "Threads")
--   same_id    restarted in place, under the id it had (keep_id): back
--              when its supervisor's restart count went up
--   backoff    its plan entry keeps the supervisor's default back-off
--              (100 ms, doubled at each restart within 10 s of the last,
--              up to 5 s): back within 10 s, not 1 s, when killed again
--              and again (the core services' entries wait 200 ms at most)
return {
  -- echo, the example service: a task under the system's supervisor
  {component = "echo", supervisor = "system", how = "kill", backoff = true, on = true},
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
  -- Root threads that are restarted: the scheduling policy and the Lua
  -- pager (in place, keeping its id) under the supervisor, the supervisor
  -- under the boot thread's guard.
  {component = "sched", supervisor = "system", how = "kill thread", root = true, on = true},
  {component = "sched", supervisor = "system", how = "interrupt", root = true, on = true},
  {component = "pager", supervisor = "system", how = "kill thread", root = true, same_id = true,
   on = true},
  {component = "supervisor", supervisor = "names", how = "kill thread", root = true, on = true},
  -- The consoles' guardian (scripts/consoles.lua) brings back the COM1
  -- and COM2 console servers and the screen's (tasks), the REPL sessions
  -- and the push agent (root threads).
  {component = "console", supervisor = "names", how = "kill", probe = "console", on = true},
  -- COM2's driver: the push agent goes on with the new one
  -- (repl.com2_and_push_agent_killed).
  {component = "com2", supervisor = "names", how = "kill", probe = "console", on = true},
  -- The screen: a task since the VGA console left the root (it gets the
  -- text page and the CRT ports from the device manager again).
  {component = "screen", supervisor = "names", how = "kill", probe = "console", on = true},
  -- The REPL sessions and the push agent: root threads the consoles'
  -- guardian keeps (found by consoles.find), killed (an interrupt is no
  -- Lua error for them: a session takes one as Ctrl-C, the push agent
  -- only when a line comes on COM2); and the watcher, a plain entry of
  -- the system's supervisor. These are the root's largest states: each
  -- restart used to leave the root's one malloc heap larger (8 to 20 MiB
  -- at 1/5), until each root state got an arena of its own
  -- (runtime/lua/arena.c, docs/runtime.md "The heap").
  {component = "repl.serial", supervisor = "consoles", how = "kill thread", probe = "alive",
   root = true, on = true},
  {component = "repl.screen", supervisor = "consoles", how = "kill thread", probe = "alive",
   root = true, on = true},
  {component = "push", supervisor = "consoles", how = "kill thread", probe = "alive", root = true,
   on = true},
  {component = "watch", supervisor = "system", how = "kill thread", probe = "alive", root = true,
   on = true},
}
