-- The boot plan: the first script of the Lua root task (runtime/lua/main.c
-- runs it from the scripts archive). Read it like an rc file: what starts,
-- in what order, with what it is handed. docs/console.md tells the story.
-- It is ours whatever the user packs (make run SCRIPTS=dir puts their files
-- under user/): it must be done within main.c's deadline, else main.c runs
-- the rescue plan (rescue.lua); and so must an error here. The user's own
-- init.lua runs last, as the autorun (docs/recovery.md).
local mode, why = ...       -- "normal", or "safe" and why (main.c)
local lpeg = require "lpeg"

print("")
print("L4ua: Lua is running as the root task")
print(("  %s, LPeg %s, started %s UTC"):format(_VERSION, lpeg.version(),
                                              os.date("!%Y-%m-%d %H:%M:%S")))
if mode == "safe" then
  print(("L4ua: safe mode (%s): none of your scripts run (no autorun, no user/ modules);"):format(why))
  print("  to leave it, reboot normally: `make run`, or the first GRUB entry, typing no key")
end

-- Starts a task (the shell's `ps` and `services` show it by its name).
local function start(spec)
  local id, err = l4.task.spawn(spec)
  if not id then
    print(("init: cannot start %s: %s"):format(spec.name, err))
  end
  return id
end

-- 0. The name service: first, so that everything after it can register
--    and look up names (names.lua, served by the framework, service.lua).
--    The root remembers where it is (l4.sys.set_names): a task that loses
--    it asks the root (l4.sys.where) after the supervisor restarted it.
local names = start{name = "names", script = "service_task.lua",
                    args = {"names", "names.lua", false, false, false, n = 5},
                    prio = 190, memcap = 4 << 20}
if names then l4.sys.set_names(names) end

-- 1. The serial console: the COM1 driver, in its own task, owning only
--    COM1's eight ports; it serves the console protocol (console.lua).
--    scripts/consoles.lua holds how each console, REPL session and the
--    push agent is started, here and whenever one dies (the watcher, 5,
--    starts it again and points what used it at the new one).
local consoles = require "consoles"
local plan_of = consoles.by_name
-- Its first answer says it is serving; from then on it alone drives
-- COM1: the kernel writes its log to its ring, and this task and every
-- task spawned after this point print through the driver (start() does
-- the hand-over: l4.sys.release_serial, l4.sys.set_console) and it is
-- named "console".
local console, why = consoles.start(plan_of.console)
if not console then
  print(("init: no console driver (%s); the kernel keeps the serial line"):format(why))
  return
end

-- 1b. The file service: the boot archive under the disk, when the
--     machine has one (a virtio block function, 1af4:1001 or 1af4:1042,
--     served by disk0: 6a), under a RAM tree that shadows them
--     (scripts/files.lua, docs/storage.md), 4 MiB of RAM files at most.
--     Every task spawned after set_files opens, writes and requires
--     through it; this task too (docs/services.md "The file service").
local has_disk = require("pci").find(0x1af4, {[0x1001] = true, [0x1042] = true})
local has_net = require("pci").find(0x1af4, {[0x1000] = true, [0x1041] = true})
local files_args = {"serve", 4 << 20, has_disk and "blk:disk0" or false}
local files = start{name = "files", script = "files.lua", args = files_args,
                    prio = 180, memcap = 16 << 20}
if files then l4.sys.set_files(files) end

-- 2. COM2, the line `tools/l4ua` talks to (make run puts it on a socket
--    in the build folder): the same driver, its own task and ports,
--    named "com2".
local com2
com2, why = consoles.start(plan_of.com2)
if not com2 then
  print(("init: no COM2 (QEMU was started without a second serial port: %s)"):format(why))
end

-- 2b. The push agent on COM2: tools/l4ua push stores a script in the
--     file service and reloads its service; tools/l4ua console gets a
--     REPL there (scripts/push_agent.lua). A thread of this task, which
--     may reload services.
local push
if com2 then
  push, why = consoles.start(plan_of.push)
  if not push then print("init: no push agent: " .. why) end
end

-- The file service by name (the consoles name themselves).
local name_of = names and require "names"
if name_of then
  name_of.use(names)
  if files then name_of.register("files", files) end      -- the file service
end

-- 2c. A REPL on each console, in a thread of its own with a memory cap of
--     its own, so that nothing typed at it can take the root task's
--     memory; its history is kept by the console server. The serial
--     console's first, before the device manager and the screen (2d, 3,
--     4): this thread steps below the session's priority until it has
--     drawn its prompt and waits for a key, then goes on with the plan.
--     The first line typed waits for the plan's services: PLAN_UP in the
--     root's store says "starting" until the supervisor has started them
--     (6), and a session holds its first line until then
--     (scripts/session.lua). Before, whether the prompt came before or
--     after echo's start (the same priority as the sessions) was a matter
--     of timing.
if name_of then l4.sys.store_put(require("service_proto").PLAN_UP, "starting") end
local repl = assert(consoles.start(plan_of["repl.serial"]))
do
  local mine = l4.thread.schedule(l4.self())
  l4.thread.schedule(l4.self(), plan_of["repl.serial"].create.prio - 1)
  l4.thread.schedule(l4.self(), mine)
end

-- 2d. The device manager, a root thread (it has sigma0: it maps device
--     memory and DMA memory and hands each driver task exactly its
--     device's: docs/drivers.md), named "devices": the screen console (3)
--     gets the screen from it, the disk's driver (6a) its PCI function.
--     Started here, the supervisor takes it over (6).
local devices = name_of and l4.thread.create{code = "require('service').main(...)",
                                             args = {"devices", "devmgr.lua", names.raw, false,
                                                     false, false, n = 6},
                                             prio = 175, memcap = 4 << 20}
if devices then name_of.register("devices", devices) end

-- 3. The screen and keyboard: a console server over VGA text mode and the
--    PS/2 keyboard (make run-vga shows it in a window), named "screen", in
--    a task of its own: the device manager hands it the screen's page and
--    the CRT controller's ports, the plan the keyboard's ports.
local screen
screen, why = consoles.start(plan_of.screen)
if not screen then print("init: no screen console: " .. why) end

-- 4. The screen's REPL (the serial console's came first: 2c).
local repl2 = screen and assert(consoles.start(plan_of["repl.screen"]))

-- 5. The watcher: the kernel's log to the serial console, Ctrl-C typed at
--    a console to an interrupt of its REPL, and the console guardian: a
--    console, session or push agent that dies is started again within a
--    tick (200 ms). It gets what runs (false: not there, not restarted).
--    The supervisor (6) starts it again if it dies.
local watch_args = {"console", console, "com2", com2 or false, "push", push or false,
                    "screen", screen or false, "repl.serial", repl, "repl.screen", repl2 or false}
local watch = assert(l4.thread.create{script = "watch.lua", prio = 150, memcap = 8 << 20,
                                      args = watch_args})

-- 6. Services and the plain tasks and threads the supervisor watches (a
--    thread of this task: it spawns, watches and deletes tasks), started
--    in this order and restarted per their policy: restart = "always" |
--    "on-failure" | "never", back-off from 100 ms doubling to 5 s, at most
--    5 restarts in 30 s (docs/services.md "Supervision"). A framework
--    service runs in its own task (its chief: this task); `thread = true`
--    runs it in a thread of this task instead, for a policy that needs the
--    root's rights; `ping = false` is a plain task or thread (not a
--    framework service): restarted on death only; `id =` takes over one
--    that already runs.
-- The supervisor runs above what it watches (a runaway component cannot
-- starve it), the guard (this thread) above the supervisor.
-- The guard asks the supervisor PING every 100 ms; 600 ms without an
-- answer is a hang (a supervisor's tick may wait 200 ms on each PING of a
-- hung component): back within 1 s (docs/recovery.md "Hangs").
local plan = {names = names, prio = 210, memcap = 8 << 20, hang = 600, ping_every = 100,
              services = {
  -- the name service and the file service, started above: taken over
  -- (id =). Their state is in the root's store (docs/recovery.md): a
  -- restarted one comes back with every name, every file; the started
  -- hook tells the root where it is now, for the tasks that ask.
  -- (core: back within 1 s however often it fails; never given up)
  -- Each core one is asked PING every 100 ms and is hung after 400 ms
  -- without an answer (docs/recovery.md "Hangs": back within 1 s).
  {name = "names", script = "names.lua", id = names, restart = "always",
   prio = 190, memcap = 4 << 20, backoff_max = 200, limit = 1000, hang = 400, ping_every = 100,
   started = "local id = ...; l4.sys.set_names(id); require('names').use(id)"},
  -- files: a plain task asked the framework's PING; every 100 ms, and none
  -- answered for 400 ms is a hang (a loop for ever): back within 1 s
  {name = "files", script = "files.lua", args = files_args, id = files,
   ping = require("service_proto").PING, hang = 400, ping_every = 100,
   restart = "always", prio = 180, memcap = 16 << 20, backoff_max = 200, limit = 1000,
   started = "l4.sys.set_files((...))"},
  {name = "echo",  script = "services/echo.lua",              restart = "always",
   prio = 100, memcap = 4 << 20},
  -- the scheduling policy: reads every thread's CPU time, sets priorities
  {name = "sched", script = "sched_policy.lua", thread = true, restart = "always",
   prio = 170, memcap = 2 << 20, backoff_max = 200, limit = 1000, hang = 400, ping_every = 100},
  -- the system's figures for the dashboard (tasks, threads' CPU time,
  -- services, memory, interrupts, the logs' tails) and its reload button:
  -- a root thread, since only the root reads them; the HTTP server asks it
  {name = "sysinfo", script = "sysinfo.lua", thread = true, restart = "always",
   prio = 100, memcap = 4 << 20},
  -- 6b. The memory policy: the Lua demand-zero pager (pager_zero.lua), 64
  --     pages a client task, in a thread of this task (the pages it maps
  --     on are the root's). A task spawned with pager = the id of "pager"
  --     gets its pages from it. It runs pager_zero's loop, not the
  --     framework's: a plain thread, asked the framework's PING (which
  --     that loop answers between faults: hung after 400 ms of silence),
  --     restarted when it dies or hangs, named and reloaded like a
  --     service: `reload pager pager_zero.lua`.
  --     keep_id: restarted in the same thread, so the tasks that have its
  --     id as their pager go on faulting pages in (docs/recovery.md).
  {name = "pager", code = "require('pager_zero').main(...)", args = {"pager", 64},
   thread = true, ping = require("service_proto").PING, hang = 400, ping_every = 100,
   restart = "always", prio = 170, memcap = 8 << 20, backoff_max = 200, limit = 1000,
   keep_id = true},
  -- 5 (above): the watcher, the console guardian; started again with the
  -- ids of boot, it finds those that changed by name (scripts/watch.lua)
  {name = "watch", script = "watch.lua", args = watch_args, id = watch, thread = true,
   ping = false, restart = "always", backoff_max = 200, limit = 1000, prio = 150,
   memcap = 8 << 20},
}}

-- 6a. Devices: the device manager (2d, taken over), then, when the
--     machine has a disk (make run attaches one: a virtio block function,
--     1af4:1001 or 1af4:1042), the disk's driver, the virtio-blk driver in
--     a task of its own, asked
--     INFO (label 1) as its ping (docs/drivers.md). Right after the file
--     service: the supervisor starts the next entry once disk0 answers
--     (and names it then), so the file service has the disk mounted when
--     the services after it read their scripts: a script written on the
--     disk (a pushed service) is the one they run (docs/storage.md).
do
  local s, at = plan.services, 1
  while s[at].name ~= "files" do at = at + 1 end
  if devices then
    -- never given up, nor the drivers: a new manager takes the devices'
    -- memory back from the drivers, which fail and are started again
    -- (docs/recovery.md); the default limit (5 in 30 s) lost the disk
    -- for good after a few manager restarts
    table.insert(s, at + 1, {name = "devices", script = "devmgr.lua", thread = true, id = devices,
                             restart = "always", prio = 175, memcap = 4 << 20,
                             backoff_max = 200, limit = 1000})
    at = at + 1
  end
  if has_disk then
    table.insert(s, at + 1, {name = "disk0", script = "virtio_blk.lua", args = {"disk0"},
                             ping = 1, restart = "on-failure", prio = 160, memcap = 8 << 20,
                             backoff_max = 200, limit = 1000})
    at = at + 1
  end
  -- 6c. The network (docs/network.md), when the machine has a virtio
  --     network function (make run attaches one, on QEMU's user network):
  --     its driver, net0, a task asked INFO (label 1) as its ping, then the
  --     network service, net (lwIP in a task: DHCP, DNS, TCP, UDP; the
  --     sockets of scripts/socket.lua), asked STATUS (label 1). A killed
  --     one comes back; the sockets of its clients are then "closed".
  if has_net then
    table.insert(s, at + 1, {name = "net0", script = "virtio_net.lua", args = {"net0"}, ping = 1,
                             restart = "on-failure", prio = 160, memcap = 8 << 20,
                             backoff_max = 200, limit = 1000})
    table.insert(s, at + 2, {name = "net", script = "net.lua", args = {"net0"}, ping = 1,
                             restart = "always", prio = 155, memcap = 32 << 20})
    -- 6d. What a person reaches over the network (docs/network.md), last:
    --     the REPL on TCP port 23 (tcp_console.lua: a root thread, as the
    --     REPL needs the root's rights; each connection gets a console
    --     server and a REPL session of its own, 8 at most), and the
    --     dashboard on port 80 (dashboard_task.lua: a task of its own that
    --     holds no right of the root; it asks sysinfo). Not named: they
    --     answer no request (each waits in its socket), so `services`
    --     shows them (with their ids) from the supervisor, without asking
    --     them, and `kill telnet` / `kill httpd` find them there.
    table.insert(s, {name = "telnet", script = "tcp_console.lua", args = {"listen", 23, 8},
                     thread = true, ping = false, restart = "always", prio = 120,
                     memcap = 4 << 20, register = false})
    table.insert(s, {name = "httpd", script = "dashboard_task.lua", args = {80}, ping = false,
                     restart = "always", prio = 90, memcap = 16 << 20, register = false})
  end
end

-- The plan is done: main.c's deadline ends here (its count hook). The
-- supervisor module is loaded first, within it.
local supervisor = names and require("supervisor")
debug.sethook()

-- 7. The user's autorun: their init.lua (user/init.lua of the archive), in
--    a thread of its own below the REPLs' priority with a memory cap;
--    what it does wrong is shown on the console and the REPL stays
--    (scripts/autorun.lua; `kill autorun` stops it). Not in safe mode.
if mode ~= "safe" then
  local f = io.open("user/init.lua")
  if f then
    f:close()
    local autorun, err = l4.thread.create{script = "autorun.lua", args = {"user/init.lua"},
                                          memcap = 32 << 20, prio = 90}
    if not autorun then
      print("init: cannot start the autorun (user/init.lua): " .. tostring(err))
    elseif name_of then
      name_of.register("autorun", autorun)
    end
  end
end

-- The last link of the chain (docs/recovery.md "Who watches whom"): this
-- thread starts the supervisor and starts it again whenever it dies or
-- hangs; it never returns.
if supervisor then supervisor.guard(plan) end
l4.sleep()      -- no name service: nothing to supervise; the task lives on
