-- make faultinject (docs/reliability.md "Fault injection"): faults
-- injected into services and drivers while they work, in the spirit of
-- MINIX 3's campaign (3,400,000 faults into its drivers, DSN'09). The
-- boot's plan: the name service, two echo services (services/echo.lua)
-- and the file service under a supervisor, as the system's plan has them
-- (restart always, back-off at most 500 ms); COM1's and COM2's console
-- servers (the UART driver, console_server.lua) as the system has them,
-- COM1 handed over (the root's output goes through it), with the
-- system's watcher (watch.lua: the console guardian, the kernel's log);
-- four client tasks (faultinject/client.lua) calling echo, echo2 and the
-- name service all the while, two (faultinject/fclient.lua) writing,
-- reading and removing files, two (faultinject/cclient.lua) writing
-- numbered records to both consoles and one reading what the host types
-- at COM1 (tests/faultinject/run.py types, and checks that every
-- acknowledged record came out on its line); with a disk (run.py --disk)
-- the file service keeps its files on it and the disk's driver is a
-- target; with a network card (run.py --net) the network service and its
-- driver run, one client (faultinject/nclient.lua) talks TCP through
-- them to an echo on the host all the while, and the driver is a target;
-- and this thread, which
-- injects FAULTS faults, one at a time, each into a service picked at
-- random, through the service framework's FAULT request (service.lua
-- "Fault injection"; the file service's loop arms it with fault.lua):
-- the next request the service takes meets it.
--
-- Kinds (weights in KINDS): raise, an error after a random number of VM
-- instructions (mostly in the handler, else past it in the framework's
-- own code, which ends the task); corrupt, every value of the reply changed; double, the reply sent twice;
-- drop, no reply; memcap, the service's allocation after a random number
-- more fails; exit, the task ends in the middle of the request; and, into
-- COM1's and COM2's console servers only, register: a wrong value
-- written into their 16550 at once (FAULT n, "register": the line control
-- register with the divisor latch open, the interrupt enable register 0,
-- the modem control register 0, the divisor 12; n in turn per console),
-- which the driver must find (before its next use of the UART, or at the
-- guardian's next INFO) and set the UART up again, once; and into the
-- disk's and the network card's drivers, register only: a virtio
-- device's wrong values (fault.lua's REGISTER), each found and the
-- device set up again as it must (a reset or FAILED: once; a wrong
-- notify or feature bits: not at all).
--
-- After each fault this thread asks the service (a probe, which may be
-- the request that meets the fault) until an answer is right again: the
-- time from the probe to that answer is the fault's recovery time, kept
-- per kind (median, p99, max printed at the end). After a register fault
-- the answer is right when the console server says it set the UART up
-- again (INFO w0 = 1: its count, without the look that would find it)
-- and a write is answered; its time is kept per register. Checks at the end: no
-- crash of anything but the service a fault went into (the clients, the
-- supervisor and this thread go on; the kernel's and the mapping
-- database's checks pass); every service answers; the clients' outcomes
-- are explained by the faults: no request without an answer or a clear
-- error (timeouts at most the drops, wrong answers at most the
-- corruptions, strays at most the doubles, nothing odd); every write a
-- file client was told was done is there, intact; the kernel pool
-- and the pager's pool back within 1% of where they were after the
-- warm-up. Prints "faultinject: PASS" or "faultinject: FAIL" and ends
-- QEMU with the status. faultinject_conf.lua (packed by the Makefile):
-- {faults = n, seed = s}.
debug.sethook()
local l4 = require "l4"
local service = require "service"
local names_mod = require "names"
local supervisor = require "supervisor"
local files_mod = require "files"
local blk = require "blk"
local nic = require "nic"
local socket = require "socket"
local conf = require "faultinject_conf"

local FAULTS, SEED = conf.faults, conf.seed
local CLIENTS, FILE_CLIENTS, CONSOLE_WRITERS = 4, 2, 2
local STATS, STOP = 1, 2
local ECHO = 1
local TARGETS = {"names", "echo", "echo2", "files", "console", "com2"}
-- A disk (make faultinject attaches one; make test's short run does not:
-- it would double its wall time): the file service keeps its files on it,
-- and its driver is a target too, picked half as often as the others (it
-- takes one kind only, and its faults cost more guest time).
local HAS_DISK = require("pci").find(0x1af4, {[0x1001] = true, [0x1042] = true}) and true or false
if HAS_DISK then TARGETS[#TARGETS + 1] = "disk0" end
-- A network card (make faultinject's FAULT_NET=1: run.py --net, QEMU's
-- user network with an echo on the host): the network service and its
-- driver run as the system's plan has them, a client talks TCP through
-- them all the while (faultinject/nclient.lua), and the driver is a
-- target as the disk's is (register only, picked half as often).
local HAS_NET = require("pci").find(0x1af4, {[0x1000] = true, [0x1041] = true}) and true or false
if HAS_NET then TARGETS[#TARGETS + 1] = "net0" end
local TARGET_WEIGHTS = {names = 2, echo = 2, echo2 = 2, files = 2, console = 2, com2 = 2, disk0 = 1,
                        net0 = 1}
-- the file service runs a loop of its own (fault.lua): no doubled replies
local ALLOWED = {files = {raise = true, corrupt = true, drop = true, memcap = true, exit = true}}
local KINDS = {{"raise", 35}, {"corrupt", 20}, {"double", 20}, {"drop", 5}, {"memcap", 15},
               {"exit", 2}, {"register", 20}}
-- the wrong register values (FAULT n, "register"): uart16550.lua's
-- REGISTER for the consoles, fault.lua's REGISTER (a virtio device's) for
-- the disk's and the network card's drivers, with the set-ups each must
-- cause (a virtio device ignores wrong feature bits; a wrong notify costs
-- a notify again)
local UART_REGS = {[0] = "lcr", [1] = "ier", [2] = "mcr", [3] = "divisor"}
local DISK_REGS = {[0] = "reset", [1] = "failed", [2] = "notify", [3] = "features"}
local DISK_SETUPS = {[0] = 1, [1] = 1, [2] = 0, [3] = 0}
local REGS = {console = UART_REGS, com2 = UART_REGS, disk0 = DISK_REGS, net0 = DISK_REGS}
local VIRTIO = {disk0 = true, net0 = true}
local REG_TARGETS = {"console", "com2"}     -- the targets that take register faults
if HAS_DISK then REG_TARGETS[#REG_TARGETS + 1] = "disk0" end
if HAS_NET then REG_TARGETS[#REG_TARGETS + 1] = "net0" end
local REG_KEYS = {"register lcr", "register ier", "register mcr", "register divisor",
                  "register reset", "register failed", "register notify", "register features",
                  "register net reset", "register net failed", "register net notify",
                  "register net features"}
local function allowed_kind(name, kind)
  if kind == "register" then return REGS[name] ~= nil end
  if VIRTIO[name] then return false end   -- the virtio drivers take register only
  return not ALLOWED[name] or ALLOWED[name][kind]
end
local BACK_MS = 10000           -- a service must answer right again within this
math.randomseed(SEED)

local failures = {}
local function fail(fmt, ...)
  failures[#failures + 1] = fmt:format(...)
  print("faultinject: PROBLEM: " .. failures[#failures])
end
local function say(fmt, ...) print(("faultinject: " .. fmt):format(...)) end

local function main()
  -- the plan, as scripts/init.lua has its core entries
  local ns = assert(l4.task.spawn{name = "names", script = "service_task.lua",
                                  args = {"names", "names.lua", false, false, false, n = 5},
                                  prio = 190, memcap = 4 << 20})
  l4.sys.set_names(ns)
  names_mod.use(ns)
  assert(service.wait("names", 3000), "the name service did not answer")
  -- the consoles as init.lua starts them (COM1 handed over, both named),
  -- and the watcher, their guardian, with no session, screen or push agent
  local consoles = require "consoles"
  local com1 = assert(consoles.start(consoles.by_name.console))
  local com2 = assert(consoles.start(consoles.by_name.com2))
  assert(l4.thread.create{script = "watch.lua", prio = 150, memcap = 8 << 20,
                          args = {"console", com1, "com2", com2, "push", false, "screen", false,
                                  "repl.serial", false, "repl.screen", false}})
  -- the file service on the disk if there is one (tests/faultinject/run.py
  -- --disk attaches a fresh ext4 image on virtio-blk), with the device
  -- manager and the disk's driver as the system's plan has them; else in
  -- RAM (kept in the root's store as in the system)
  local files_args = {"serve", 4 << 20, HAS_DISK and "blk:disk0" or false}
  local fs = assert(l4.task.spawn{name = "files", script = "files.lua", args = files_args,
                                  prio = 180, memcap = 16 << 20})
  l4.sys.set_files(fs)
  local plan = {
    {name = "names", script = "names.lua", id = ns, restart = "always", prio = 190,
     memcap = 4 << 20, backoff_max = 500, limit = 100000,
     started = "local id = ...; l4.sys.set_names(id); require('names').use(id)"},
    {name = "echo", script = "services/echo.lua", restart = "always", prio = 100,
     memcap = 4 << 20, backoff_max = 500, limit = 100000},
    {name = "echo2", script = "services/echo.lua", restart = "always", prio = 100,
     memcap = 4 << 20, backoff_max = 500, limit = 100000},
    {name = "files", script = "files.lua", args = files_args, id = fs,
     ping = service.PING, hang = 400, ping_every = 100, restart = "always", prio = 180,
     memcap = 16 << 20, backoff_max = 500, limit = 100000, started = "l4.sys.set_files((...))"},
  }
  if HAS_DISK or HAS_NET then
    table.insert(plan, 2, {name = "devices", script = "devmgr.lua", thread = true,
                           restart = "always", prio = 175, memcap = 4 << 20, backoff_max = 200,
                           limit = 1000})
  end
  if HAS_NET then    -- (net0 pinged every 100 ms, as disk0 below)
    table.insert(plan, 3, {name = "net0", script = "virtio_net.lua", args = {"net0"}, ping = 1,
                           ping_every = 100, restart = "on-failure", prio = 160,
                           memcap = 8 << 20, backoff_max = 200, limit = 1000})
    table.insert(plan, 4, {name = "net", script = "net.lua", args = {"net0"}, ping = 1,
                           restart = "always", prio = 155, memcap = 32 << 20})
  end
  if HAS_DISK then
    -- (pinged every 100 ms, not every second as in the system: a FAILED
    -- status, which the device serves on with, is found at a ping)
    table.insert(plan, 3, {name = "disk0", script = "virtio_blk.lua", args = {"disk0"}, ping = 1,
                           ping_every = 100, restart = "on-failure", prio = 160,
                           memcap = 8 << 20, backoff_max = 200, limit = 1000})
  end
  assert(supervisor.start{names = ns, prio = 210, memcap = 8 << 20, services = plan})
  for _, n in ipairs(TARGETS) do
    if VIRTIO[n] then      -- (they answer their protocol's INFO, not PING)
      local t_disk = l4.clock()
      while not names_mod.lookup(n) and l4.clock() - t_disk < 5000000 do l4.sleep(10) end
      assert(names_mod.lookup(n), n .. " did not come up")
    elseif n ~= "files" then
      assert(service.wait(n, 5000), n .. " did not come up")
    end
  end

  local me = l4.self()
  local clients = {}
  for i = 1, CLIENTS do
    clients[i] = assert(l4.task.spawn{script = "faultinject/client.lua", name = "fi-client",
                                      args = {i, names_mod.server().raw, me.raw}, prio = 90,
                                      memcap = 4 << 20})
  end
  local fclients = {}
  for i = 1, FILE_CLIENTS do
    fclients[i] = assert(l4.task.spawn{script = "faultinject/fclient.lua", name = "fi-files",
                                       args = {i, names_mod.server().raw, me.raw}, prio = 90,
                                       memcap = 8 << 20})
  end

  -- The id a fault for `name` is armed at: the file service is not named
  -- (the supervisor knows it by id; the root's l4.sys.files follows it).
  local function target(name)
    if name == "files" then return l4.sys.files() end
    return names_mod.lookup(name)
  end
  local console = require "console"
  local cwriters, reader = {}, nil
  for i = 1, CONSOLE_WRITERS do
    cwriters[i] = assert(l4.task.spawn{script = "faultinject/cclient.lua", name = "fi-cwrite",
                                       args = {i, "write", names_mod.server().raw, me.raw},
                                       prio = 90, memcap = 8 << 20})
  end
  reader = assert(l4.task.spawn{script = "faultinject/cclient.lua", name = "fi-cread",
                                args = {0, "read", names_mod.server().raw, me.raw}, prio = 90,
                                memcap = 8 << 20})
  local nclient = HAS_NET and assert(l4.task.spawn{script = "faultinject/nclient.lua",
                                                   name = "fi-net",
                                                   args = {1, names_mod.server().raw, me.raw},
                                                   prio = 90, memcap = 8 << 20})

  -- The network's probe: a line sent on this thread's own connection to
  -- the host's echo and read back within 300 ms. A line that comes late
  -- (a probe before that timed out) is skipped; any other line is a loss
  -- no error told of, and fails the run.
  local nconn, nprobes = nil, 0
  local function probe_net()
    if not nconn then
      local c = socket.tcp()
      if not c then return false end
      c:settimeout(1)
      if not c:connect("10.0.2.100", 7) then c:close() return false end
      nconn = c
    end
    nprobes = nprobes + 1
    local want = "p" .. nprobes
    nconn:settimeout(0.3)
    if not nconn:send(want .. "\n") then nconn:close() nconn = nil return false end
    while true do
      local got, err = nconn:receive("*l")
      if got == want then return true end
      if not got then
        if err ~= "timeout" then nconn:close() nconn = nil end
        return false
      end
      local k = tonumber(got:match("^p(%d+)$"))
      if not k or k >= nprobes then
        fail("the network's probe %s read back %q", want, got:sub(1, 40))
        nconn:close() nconn = nil
        return false
      end
    end
  end

  -- A probe of a service: true if its answer is right.
  local probes = 0
  local function probe(name)
    if name == "files" then
      local id = l4.sys.files()
      if not id then return false end
      probes = probes + 1
      local text = "probe " .. probes
      local from, label = l4.call(id, {timeout = 300}, files_mod.WRITE, 0, 1, "fi/probe", text)
      if from ~= id or label ~= 0 then return false end
      local size, where, data
      from, label, size, where, data = l4.call(id, {timeout = 300}, files_mod.READ, 0, 0, "fi/probe")
      return from == id and label == 0 and size == #text and data == text
    end
    if name == "names" then
      -- asked directly, with the 100 ms the echo services' probe waits:
      -- names.lookup waits 2 s for an answer, so a reply dropped to the
      -- probe cost 2 s of every run's time and its "recovery" for nothing
      -- (a third of the guest time of make faultinject FAULTS=1000
      -- FAULT_DISK=0 FAULT_NET=0 FAULT_SEED=0x5eed01)
      local s = names_mod.server()
      if not s then return false end
      local from, label, raw = l4.call(s, {timeout = 100}, names_mod.LOOKUP, "echo")
      if not from then
        names_mod.use(nil)        -- (found anew next time: it may have been restarted)
        return false
      end
      return from == s and label == 0 and math.type(raw) == "integer" and raw ~= 0
             and l4.nearest(l4.id(raw)) ~= nil
    end
    if name == "disk0" then return probe("files") end   -- a file written and read on it
    if name == "net0" then return probe_net() end
    if name == "console" or name == "com2" then    -- a write of nothing: label 0, 0 bytes
      local id = names_mod.lookup(name)
      if not id then return false end
      local from, label, taken = l4.call(id, {timeout = 100}, console.WRITE, "")
      return from == id and label == 0 and taken == 0
    end
    local id = names_mod.lookup(name)
    if not id then return false end
    local from, label, _, who, seq = l4.call(id, {timeout = 100}, ECHO, 0, 77)
    return from == id and label == 0 and who == 0 and seq == 77
  end

  -- the network up (the service's DHCP done, the host's echo there)
  -- before the first fault, so a fault's recovery is not the boot's
  if HAS_NET then
    local t_net = l4.clock()
    while not probe_net() and l4.clock() - t_net < 30000000 do l4.sleep(20) end
    assert(nprobes > 0 and probe_net(), "the network did not come up (the host's echo over TCP)")
  end

  local function pick_kind(name)
    local total = 0
    for _, k in ipairs(KINDS) do
      if allowed_kind(name, k[1]) then total = total + k[2] end
    end
    local r = math.random(total)
    for _, k in ipairs(KINDS) do
      if allowed_kind(name, k[1]) then
        r = r - k[2]
        if r <= 0 then return k[1] end
      end
    end
  end

  -- A console server's set-ups of its UART (INFO w0 = 1: the count, no
  -- look at the registers), the disk driver's of its device (STATS: the
  -- resets; INFO would look) -> the count and the server's id, or nil.
  local function set_ups(name)
    local id = names_mod.lookup(name)
    if not id then return nil end
    if name == "disk0" then
      local from, label, _, _, _, n = l4.call(id, {timeout = 300}, blk.STATS)
      if from ~= id or label ~= 0 then return nil end
      return n, id
    end
    if name == "net0" then
      local from, label, _, _, _, _, n = l4.call(id, {timeout = 300}, nic.STATS)
      if from ~= id or label ~= 0 then return nil end
      return n, id
    end
    local from, label, _, _, _, _, n = l4.call(id, {timeout = 100}, console.INFO, 1)
    if from ~= id or label ~= 0 then return nil end
    return n, id
  end

  local function usage()
    collectgarbage(); collectgarbage()
    local st = l4.task.stats()
    local tasks, held = {}, 0
    for _, t in ipairs(l4.task.list()) do
      tasks[#tasks + 1] = ("%s %s %d"):format(t.name, t.state, t.pages or 0)
      held = held + (t.pages or 0)
    end
    -- pages in use that no task holds: what a lost task or a leak keeps
    return {kmem = l4.debug.kmem(), held = held, orphan = st.pool - st.free - st.arenas - held, pool = st.pool,
            tasks = table.concat(tasks, ", ")}
  end

  local injected, times, counts, into = 0, {}, {}, {}
  for _, k in ipairs(KINDS) do times[k[1]], counts[k[1]] = {}, 0 end
  for _, key in ipairs(REG_KEYS) do times[key] = {} end
  for _, name in ipairs(TARGETS) do into[name] = {} end
  local reg_next = {console = 0, com2 = 0, disk0 = 0, net0 = 0}
  local reg_into = {console = {}, com2 = {}, disk0 = {}, net0 = {}}
  local base
  local warmup = math.max(1, FAULTS // 10)
  local t_all = l4.clock()
  for i = 1, FAULTS do
    local name = not (HAS_DISK or HAS_NET) and TARGETS[math.random(#TARGETS)]
    if not name then
      local total = 0
      for _, t in ipairs(TARGETS) do total = total + TARGET_WEIGHTS[t] end
      local r = math.random(total)
      for _, t in ipairs(TARGETS) do
        r = r - TARGET_WEIGHTS[t]
        if r <= 0 then name = t break end
      end
    end
    local kind = pick_kind(name)
    local n = kind == "raise" and (math.random(10) <= 7 and math.random(0, 12) or math.random(0, 400))
              or kind == "memcap" and math.random(0, 60) or 0
    local ups_before, ups_id        -- a register fault: the set-ups before it
    if kind == "register" then
      n = reg_next[name]
      reg_next[name] = (n + 1) % 4
      local t_ups = l4.clock()
      repeat
        ups_before, ups_id = set_ups(name)
        if not ups_before then l4.sleep(5) end
      until ups_before or l4.clock() - t_ups > BACK_MS * 1000
      if not ups_before then
        fail("could not ask %s its set-ups before fault %d (register)", name, i)
        break
      end
    end
    -- arm it (a service restarting may not answer yet: wait for it)
    local armed, why = false, nil
    local t_arm = l4.clock()
    repeat
      local id, lwhy = target(name)
      if ups_id then id = ups_id end  -- (written once, below: a restart is then the fault's)
      if id then
        local from, label, x, y = l4.call(id, {timeout = 300}, service.FAULT, n, kind)
        armed = from ~= nil and label == service.OK
        why = ("%s answered %s, %s, %s"):format(tostring(id), tostring(label), tostring(x), tostring(y))
      else
        why = "no id: " .. tostring(lwhy)
      end
      if not armed then l4.sleep(5) end
    until armed or ups_id or l4.clock() - t_arm > BACK_MS * 1000
    if not armed and ups_id then     -- (not in the loop: a restart there is the fault's)
      fail("could not write register fault %d into %s: %s", i, name, why)
      break
    elseif not armed then
      fail("could not arm fault %d (%s into %s) within %d ms: %s", i, kind, name, BACK_MS, why)
      break
    end
    injected = injected + 1
    counts[kind] = counts[kind] + 1
    into[name][kind] = (into[name][kind] or 0) + 1
    local t0 = l4.clock()
    local key = kind
    local back = false
    if kind == "register" then
      -- written now: the driver must find it and set its device up again
      -- (once; the disk: not for a wrong notify or feature bits), staying
      -- the same task, and then answer (a console a write; the disk a file
      -- written and read through the file service)
      local what = REGS[name][n]
      local want = VIRTIO[name] and DISK_SETUPS[n] or 1
      key = (name == "net0" and "register net " or "register ") .. what
      reg_into[name][n] = (reg_into[name][n] or 0) + 1
      local ups, id
      repeat
        -- (the probe first: its request may be what finds the wrong value)
        local right = probe(name)
        ups, id = set_ups(name)
        back = right and ups ~= nil and (ups ~= ups_before or want == 0)
        if not back then l4.sleep(2) end
      until back or (id and id ~= ups_id) or l4.clock() - t0 > BACK_MS * 1000
      if id and id ~= ups_id then
        fail("%s was restarted after register fault %d (%s): its driver did not survive it", name,
             i, what)
        break
      elseif back and ups ~= ups_before + want then
        fail("%s set its device up %d times for register fault %d (%s), not %d", name,
             ups - ups_before, i, what, want)
      end
    else
      if i % 2 == 0 then l4.sleep(2) end   -- a client's request may meet it first
      repeat
        back = probe(name)
        if not back then l4.sleep(2) end
      until back or l4.clock() - t0 > BACK_MS * 1000
    end
    local ms = (l4.clock() - t0) / 1000
    if not back then
      fail("%s did not answer right within %d ms of fault %d (%s)", name, BACK_MS, i, key)
      break
    end
    local tk = times[key]
    tk[#tk + 1] = ms
    if i == warmup then base = usage() end
    if i % 1000 == 0 then
      say("%d faults, %d ms of guest time", i, (l4.clock() - t_all) // 1000)
    end
  end
  local guest_ms = (l4.clock() - t_all) // 1000

  -- The console client's counts: requests, ok, gone, noname, handler,
  -- timeout, wrong, stray, odd, records, mangled, last record,
  -- acknowledged records on console and on com2, the console server's
  -- "not enough memory" replies, the last odd outcome.
  local CKEYS = {"requests", "ok", "gone", "noname", "handler", "timeout", "wrong", "stray", "odd",
                 "records", "mangled", "last_seq", "console", "com2", "nomem"}
  local function cstats(c, label)
    local r = table.pack(l4.call(c, {timeout = 5000}, label))
    if not r[1] then return nil, tostring(r[2]) end
    local t = {}
    for k, key in ipairs(CKEYS) do t[key] = r[2 + k] end
    t.last = r[3 + #CKEYS]
    return t
  end
  -- Keys typed after the last fault are read again: the console works
  -- (the host types all the while; no bound but the runner's timeout,
  -- as how fast keys come in guest time is the host's)
  -- (not after a failure: keys may never come if a wrong register was
  -- not found, and the run has failed anyway)
  -- The network after the last fault, while the clients still work: its
  -- probe is a round trip through the host, and a guest left idle (the
  -- clients stopped, below) runs its clock ahead under icount (sleep=off)
  -- while it waits, so the probe's 300 ms timed out at the end of make
  -- faultinject FAULTS=2000 FAULT_SEED=0x5e11a2, which had passed every
  -- fault (its 141 into net0) and whose client had all its 20,610 lines
  -- back. Tried until BACK_MS, as after a fault.
  if HAS_NET and #failures == 0 then
    local t_net, up = l4.clock(), false
    repeat
      up = probe_net()
      if not up then l4.sleep(20) end
    until up or l4.clock() - t_net > BACK_MS * 1000
    if not up then fail("net0 does not answer right after the last fault") end
  end
  local rs = cstats(reader, STATS)
  local typed_from = rs and rs.records or 0
  local t_keys = l4.clock()
  while rs and #failures == 0 and rs.records < typed_from + 20 do
    l4.sleep(20)
    rs = cstats(reader, STATS)
  end
  if rs then
    say("the console reader read %d records typed after the last fault (%d ms of guest time)",
        rs.records - typed_from, (l4.clock() - t_keys) // 1000)
  else
    fail("the console reader did not answer")
  end
  local now = usage()         -- (the clients still hold their pages, as at the warm-up)

  -- the clients' counts
  local sum = {requests = 0, ok = 0, gone = 0, noname = 0, handler = 0, timeout = 0, wrong = 0,
               stray = 0, odd = 0}
  local keys = {"requests", "ok", "gone", "noname", "handler", "timeout", "wrong", "stray", "odd"}
  for i, c in ipairs(clients) do
    local r = table.pack(l4.call(c, {timeout = 5000}, STOP))
    if not r[1] then
      fail("client %d did not answer: %s", i, tostring(r[2]))
    else
      for k, key in ipairs(keys) do sum[key] = sum[key] + r[2 + k] end
      local odd, last = r[2 + #keys], r[3 + #keys]
      if odd > 0 then fail("client %d: %d odd outcomes, the last: %s", i, odd, tostring(last)) end
    end
    l4.task.wait(c, 2000)
    l4.task.delete(c)
  end

  -- the file clients' counts, and what they were told was written
  local fsum = {requests = 0, ok = 0, gone = 0, noname = 0, handler = 0, timeout = 0, wrong = 0,
                stray = 0, odd = 0}
  local holdings = {}
  for i, c in ipairs(fclients) do
    local r = table.pack(l4.call(c, {timeout = 5000}, STOP))
    if not r[1] then
      fail("file client %d did not answer: %s", i, tostring(r[2]))
    else
      for k, key in ipairs(keys) do fsum[key] = fsum[key] + r[2 + k] end
      local odd, last = r[2 + #keys], r[3 + #keys]
      if odd > 0 then fail("file client %d: %d odd outcomes, the last: %s", i, odd, tostring(last)) end
      if last ~= "" then say("file client %d: the last outcome not ok: %s", i, last) end
      for line in (r[4 + #keys] or ""):gmatch("[^\n]+") do holdings[#holdings + 1] = line end
    end
    l4.task.wait(c, 2000)
    l4.task.delete(c)
  end
  -- every acknowledged write is there, read afresh now: a file holds what
  -- its client was last told, or what a request that failed since may
  -- have left (a CRC-32 and a length each; "-": no such file)
  local crc32 = require "crc32"
  local lost = 0
  for _, line in ipairs(holdings) do
    local path, may = line:match("^(.-)=(.*)$")
    local data, why, code
    local t0 = l4.clock()
    repeat      -- the file service may be restarting from the last fault
      data, why, code = files_mod.read(path)
      local ipc = not data and type(why) == "string" and why:find("^file service: ")
      if ipc then l4.sleep(20) end
    until not ipc or l4.clock() - t0 > BACK_MS * 1000
    local have = data and ("%d:%d"):format(crc32(data), #data)
                 or code == files_mod.ENOENT and "-" or ("error " .. tostring(why))
    local fine = false
    for m in may:gmatch("[^|]+") do if m == have then fine = true end end
    if not fine then
      lost = lost + 1
      if lost <= 5 then fail("%s holds %s, not what was acknowledged (%s)", path, have, may) end
    end
  end

  -- the console clients' counts; the writers print what was acknowledged
  -- (for the host's check) when they stop
  local csum = {}
  for _, key in ipairs(CKEYS) do csum[key] = 0 end
  for i, c in ipairs(cwriters) do
    local t, why = cstats(c, STOP)
    if not t then
      fail("console writer %d did not answer: %s", i, why)
    else
      for _, key in ipairs(CKEYS) do csum[key] = csum[key] + t[key] end
      if t.odd > 0 then fail("console writer %d: %d odd outcomes, the last: %s", i, t.odd, t.last) end
      say("console writer %d acknowledged console %d com2 %d", i, t.console, t.com2)
      if t.console == 0 or t.com2 == 0 then fail("console writer %d: a console acknowledged nothing", i) end
    end
    l4.task.wait(c, 10000)
    l4.task.delete(c)
  end
  local rsum = cstats(reader, STOP)
  if not rsum then fail("the console reader did not answer")
  elseif rsum.odd > 0 then fail("the console reader: %d odd outcomes, the last: %s", rsum.odd, rsum.last) end
  l4.task.wait(reader, 2000)
  l4.task.delete(reader)
  -- the network client's counts (it may be in a request: up to its 10 s)
  local nsum
  if nclient then
    local r = table.pack(l4.call(nclient, {timeout = 25000}, STOP))
    if not r[1] then
      fail("the network client did not answer: %s", tostring(r[2]))
    else
      nsum = {requests = r[3], ok = r[4], closed = r[5], down = r[6], timeout = r[7], wrong = r[8],
              odd = r[9], connects = r[10], last = r[11]}
      if nsum.odd > 0 then fail("the network client: %d odd outcomes, the last: %s", nsum.odd, nsum.last) end
      if nsum.wrong > 0 then
        fail("the network client: %d lines read back wrong (lost or changed without an error), "
             .. "the last: %s", nsum.wrong, nsum.last)
      end
      if nsum.ok == 0 then fail("the network client had no line back") end
    end
    l4.task.wait(nclient, 2000)
    l4.task.delete(nclient)
  end

  -- the figures
  say("%d faults injected in %d ms of guest time (%s)", injected, guest_ms,
      table.concat((function()
        local t = {}
        for _, k in ipairs(KINDS) do t[#t + 1] = ("%s %d"):format(k[1], counts[k[1]]) end
        return t
      end)(), ", "))
  local shown = {}
  for _, k in ipairs(KINDS) do shown[#shown + 1] = k[1] end
  table.move(REG_KEYS, 1, #REG_KEYS, #shown + 1, shown)
  for _, key in ipairs(shown) do
    local t = times[key]
    table.sort(t)
    if #t > 0 then
      local function at(p) return t[math.max(1, math.ceil(#t * p))] end
      say("recovery after %s: median %.1f ms, p99 %.1f ms, max %.1f ms (%d faults)", key, at(0.5),
          at(0.99), t[#t], #t)
    end
  end
  for _, name in ipairs(REG_TARGETS) do
    local r, regs = reg_into[name], REGS[name]
    say("register faults into %s: %s %d, %s %d, %s %d, %s %d (each found, the device set up "
        .. "again as it must, the driver the same task)", name, regs[0], r[0] or 0, regs[1],
        r[1] or 0, regs[2], r[2] or 0, regs[3], r[3] or 0)
  end
  say("client requests %d: ok %d, the partner gone %d, no such name (yet) %d, handler errors %d, "
      .. "timeouts %d, wrong %d, stray %d, odd %d", sum.requests, sum.ok, sum.gone, sum.noname,
      sum.handler, sum.timeout, sum.wrong, sum.stray, sum.odd)
  say("file requests %d: ok %d, the service gone %d, error replies %d, timeouts %d, wrong %d, "
      .. "stray %d, odd %d; %d faults into the file service; %d files checked, %d acknowledged "
      .. "writes lost", fsum.requests, fsum.ok, fsum.gone, fsum.handler, fsum.timeout, fsum.wrong,
      fsum.stray, fsum.odd, (function()
        local t = 0
        for _, c in pairs(into.files) do t = t + c end
        return t
      end)(), #holdings, lost)
  local function into_sum(names, kind)
    local t = 0
    for _, name in ipairs(names) do
      for k, c in pairs(into[name]) do if not kind or k == kind then t = t + c end end
    end
    return t
  end
  local CONS = {"console", "com2"}
  say("console writes %d: ok %d, the server gone %d, no such name (yet) %d, the name service's "
      .. "errors %d, not enough memory %d, timeouts %d, wrong %d, stray %d, odd %d; %d faults into "
      .. "the console servers (console %d, com2 %d)",
      csum.requests, csum.ok, csum.gone, csum.noname, csum.handler, csum.nomem, csum.timeout, csum.wrong,
      csum.stray, csum.odd, into_sum(CONS), into_sum{"console"}, into_sum{"com2"})
  if rsum then
    say("console reads %d: ok %d, the server gone %d, no such name (yet) %d, the name service's "
        .. "errors %d, not enough memory %d, timeouts %d, corrupted %d, odd %d; %d typed records "
        .. "read, the last t%d; %d mangled lines (keys lost with a server, a dropped or corrupted "
        .. "reply, a new driver's cleared FIFO)",
        rsum.requests, rsum.ok, rsum.gone, rsum.noname, rsum.handler, rsum.nomem, rsum.timeout,
        rsum.wrong, rsum.odd, rsum.records, rsum.last_seq, rsum.mangled)
  end
  if nsum then
    say("network requests %d: ok %d, closed %d, no route (yet) %d, timeouts %d, wrong %d, odd %d; "
        .. "%d connections; %d faults into net0; the probe's lines %d", nsum.requests, nsum.ok,
        nsum.closed, nsum.down, nsum.timeout, nsum.wrong, nsum.odd, nsum.connects,
        into_sum{"net0"}, nprobes)
  end
  for _, st in ipairs(supervisor.status() or {}) do
    say("service %s: %s, %d restarts", st.name, tostring(st.state), st.restarts or 0)
  end

  -- the checks
  if injected < FAULTS then fail("only %d of %d faults injected", injected, FAULTS) end
  -- make test's 300 must have put each wrong value into each UART
  if FAULTS >= 300 and injected == FAULTS then
    for _, name in ipairs(REG_TARGETS) do
      for v = 0, 3 do
        if not reg_into[name][v] then fail("no %s register fault into %s", REGS[name][v], name) end
      end
    end
  end
  if sum.odd > 0 then fail("%d client outcomes no fault explains", sum.odd) end
  if sum.timeout > counts.drop then
    fail("%d timeouts, but only %d replies dropped", sum.timeout, counts.drop)
  end
  if sum.wrong > counts.corrupt then
    fail("%d wrong answers, but only %d replies corrupted", sum.wrong, counts.corrupt)
  end
  if sum.stray > counts.double then
    fail("%d stray messages, but only %d replies doubled", sum.stray, counts.double)
  end
  local f = into.files
  if fsum.odd > 0 then fail("%d file client outcomes no fault explains", fsum.odd) end
  if fsum.timeout > (f.drop or 0) then
    fail("%d file timeouts, but only %d of the file service's replies dropped", fsum.timeout, f.drop or 0)
  end
  if fsum.wrong > (f.corrupt or 0) then
    fail("%d wrong file answers, but only %d of its replies corrupted", fsum.wrong, f.corrupt or 0)
  end
  if fsum.stray > 0 then fail("%d stray messages at the file clients", fsum.stray) end
  if lost > 0 then fail("%d acknowledged writes lost", lost) end
  if #holdings == 0 then fail("the file clients acknowledged no write") end
  -- a console's "not enough memory" reply: a memcap fault met the request
  if csum.nomem + (rsum and rsum.nomem or 0) > into_sum(CONS, "memcap") then
    fail("%d console replies \"not enough memory\", but only %d memcap faults into the consoles",
         csum.nomem + (rsum and rsum.nomem or 0), into_sum(CONS, "memcap"))
  end
  if csum.timeout > into_sum(CONS, "drop") then
    fail("%d console write timeouts, but only %d of the consoles' replies dropped", csum.timeout,
         into_sum(CONS, "drop"))
  end
  if csum.wrong > into_sum(CONS, "corrupt") then
    fail("%d wrong console write answers, but only %d of the consoles' replies corrupted",
         csum.wrong, into_sum(CONS, "corrupt"))
  end
  if csum.stray > into_sum(CONS, "double") then
    fail("%d stray messages at the console writers, but only %d of the consoles' replies doubled",
         csum.stray, into_sum(CONS, "double"))
  end
  if rsum then
    if rsum.wrong > into_sum({"console"}, "corrupt") then
      fail("%d corrupted reads, but only %d of COM1's replies corrupted", rsum.wrong,
           into_sum({"console"}, "corrupt"))
    end
    -- keys are lost in at most three runs per fault into COM1 (its queue,
    -- the FIFO a new driver clears, what the kernel's line held between)
    if rsum.mangled > 3 * into_sum{"console"} + 3 then
      fail("%d mangled lines read, more than %d faults into COM1 explain", rsum.mangled,
           into_sum{"console"})
    end
    if rsum.records == 0 then fail("the console reader read no typed record") end
  end
  if sum.ok < sum.requests // 2 then fail("only %d of %d client requests answered right", sum.ok, sum.requests) end
  for _, name in ipairs(TARGETS) do    -- (net0: checked above, before the clients stopped)
    if name ~= "net0" and not probe(name) then fail("%s does not answer right at the end", name) end
  end
  if not l4.debug.mdb_check() then fail("the mapping database check failed") end
  if base then
    say("kernel pool in use %d -> %d frames; the pager's pool: pages the tasks hold %d -> %d "
        .. "(the clients' heaps grow to their working size and keep it), pages no task holds "
        .. "%d -> %d (of %d)", base.kmem, now.kmem, base.held, now.held, base.orphan, now.orphan,
        now.pool)
    say("tasks and their pages after the warm-up: %s", base.tasks)
    say("tasks and their pages at the end: %s", now.tasks)
    local _, klimit = l4.debug.kmem()
    if math.abs(now.kmem - base.kmem) > math.max(1, klimit // 100) then
      fail("the kernel pool in use moved from %d to %d frames", base.kmem, now.kmem)
    end
    if math.abs(now.orphan - base.orphan) > math.max(1, now.pool // 100) then
      fail("pages no task holds moved from %d to %d", base.orphan, now.orphan)
    end
  end
end

local ok, err = xpcall(main, debug.traceback)
if not ok then fail("the driver failed: %s", tostring(err)) end
print("faultinject: " .. (#failures == 0 and "PASS" or "FAIL"))
-- the summary tests/fuzz/lua_run.py reads, as the other boots print it
print(#failures == 0 and "ok faultinject.campaign" or ("FAIL faultinject.campaign: " .. failures[1]))
print(("ktest: %d passed, %d failed"):format(#failures == 0 and 1 or 0, #failures == 0 and 0 or 1))
os.exit(#failures == 0 and 0 or 1)
