-- Shell commands for a person at the REPL: ps, mem, irq, lspci, services,
-- reload, kill, help. A line is a command when the whole of it matches the grammar
-- below and its first word names a command: `ps`, `kill 5`, `help l4.task`.
-- Anything else is Lua: `ps()`, `x = ps`, `mem = 3`, `=ps`. Each command is
-- also a Lua function (ps(), kill(5), kill("uart"), help("l4.task")); they
-- print and return nothing. The data come from env.l4 (l4.sys, l4.task)
-- and env.require("pci"), looked up at each call.
-- Captured now: a person at the prompt may change the globals.
local error, ipairs, pairs, pcall, require, setmetatable, tonumber, tostring, type =
  error, ipairs, pairs, pcall, require, setmetatable, tonumber, tostring, type
local math = { type = math.type, huge = math.huge, min = math.min, max = math.max,
               tointeger = math.tointeger }
local table = { concat = table.concat, sort = table.sort, pack = table.pack,
                unpack = table.unpack, move = table.move, remove = table.remove }
local here = (...) or ""
local prefix = here:match("^(.-)[^.]*$")
local re = require "re"
local help_text = require(prefix .. "help")

local commands = {}

-- word args...: args are runs of letters, digits and _ . : / - or "quoted".
local grammar = re.compile([[
  line <- %s* {name} {| (%s+ arg)* |} %s* !.
  name <- [_%a] [_%w]*
  arg  <- '"' {[^"]*} '"' / {[_.:/%w-]+}
]])

local Commands = {}
Commands.__index = Commands

local function field(v, k)
  local ok, x = pcall(function() return v[k] end)
  if ok then return x end
end

local function kib(bytes) return bytes and (bytes + 1023) // 1024 or 0 end

-- The registry: name, usage, one-line description, function(self, ...).
-- opts.lua = false: not put into env as a function (`debug` would hide
-- Lua's debug library); opts.more: help's text beyond the line.
local list = {}
local function command(name, usage, desc, fn, opts)
  opts = opts or {}
  list[#list + 1] = { name = name, usage = usage, desc = desc, fn = fn, lua = opts.lua ~= false,
                      more = opts.more }
end
commands.list = list

function Commands:l4()
  local l4 = field(self.env, "l4")
  if type(l4) ~= "table" then error("there is no l4 table here", 0) end
  return l4
end

-- Calls l4.<sub>.<fn>(...): its results, or raises the failure as a message.
function Commands:sys(sub, fn, ...)
  local t = field(self:l4(), sub)
  local f = type(t) == "table" and t[fn]
  if type(f) ~= "function" then error(("l4.%s.%s is not there"):format(sub, fn), 0) end
  local r = table.pack(f(...))
  if r[1] == nil and r.n > 1 then
    error(("l4.%s.%s: %s"):format(sub, fn, tostring(r[2])), 0)
  end
  return table.unpack(r, 1, r.n)
end

-- Names of tasks by number: the named tasks of l4.task.list(), the root
-- and sigma0 from the KIP.
function Commands:task_names()
  local names = {}
  local l4 = self:l4()
  local kip = field(l4, "kip")
  for _, who in ipairs({ "root", "sigma0" }) do
    local id = kip and field(kip, who)
    local t = id and field(id, "task")
    if t then names[t] = who end
  end
  local ok, tasks = pcall(self.sys, self, "task", "list")
  if ok and type(tasks) == "table" then
    for _, t in ipairs(tasks) do
      local n = field(t.id, "task")
      if n and t.name then names[n] = t.name end
    end
  end
  return names
end

-- Finds the task a person named: a number (the task), an id, or a name.
function Commands:find_task(what)
  local tasks = self:sys("task", "list")
  local n = math.tointeger(tonumber(what))
  for _, t in ipairs(tasks) do
    if t.id == what or t.name == what or (n and field(t.id, "task") == n)
       or tostring(t.id) == what then
      return t
    end
  end
end

command("ps", "ps", "threads: task (and its name), thread id, state, priority, CPU ms",
  function(self)
    local threads = self:sys("sys", "threads")
    local names = self:task_names()
    table.sort(threads, function(a, b)
      if a.task ~= b.task then return a.task < b.task end
      return a.lthread < b.lthread
    end)
    local out = { ("%4s %-12s %-12s %-9s %4s %9s"):format("TASK", "NAME", "THREAD", "STATE", "PRIO", "CPU ms") }
    for _, t in ipairs(threads) do
      out[#out + 1] = ("%4d %-12s %-12s %-9s %4d %9d"):format(t.task, names[t.task] or "-",
        tostring(t.id), t.state, t.prio, t.cpu_ms)
    end
    self.out(table.concat(out, "\n") .. "\n")
  end)

command("mem", "mem", "memory: pages, heap and cap per task, the free pool, the kernel heap",
  function(self)
    local tasks = self:sys("task", "list")
    -- the name column as wide as the longest name (services/echo.lua...)
    local w = 12
    for _, t in ipairs(tasks) do w = math.max(w, #tostring(t.name or "-")) end
    local head = "%4s %-" .. w .. "s %-8s %6s %9s %11s"
    local row = "%4d %-" .. w .. "s %-8s %6d %9d %11d"
    local out = { head:format("TASK", "NAME", "STATE", "PAGES", "HEAP KiB", "MEMCAP KiB") }
    for _, t in ipairs(tasks) do
      out[#out + 1] = row:format(field(t.id, "task") or -1,
        tostring(t.name or "-"), t.state or "?", t.pages or 0, kib(t.heap), kib(t.memcap))
    end
    local s = self:sys("task", "stats")
    out[#out + 1] = ("pool: %d pages (%d KiB), %d free, %d reserved for heaps; %d tasks running")
      :format(s.pool, s.pool * 4, s.free, s.reserved, s.tasks)
    out[#out + 1] = ("image: %d text pages shared by all tasks, %d data pages per task")
      :format(s.text_pages, s.data_pages)
    local used, limit = self:sys("sys", "kmem")
    out[#out + 1] = ("kernel heap: %d KiB used of %d KiB (%d%%)")
      :format(kib(used), kib(limit), limit > 0 and used * 100 // limit or 0)
    self.out(table.concat(out, "\n") .. "\n")
  end)

command("irq", "irq", "interrupt lines attached: owner thread and task, count",
  function(self)
    local irqs = self:sys("sys", "irqs")
    local names = self:task_names()
    local out = { ("%4s %-12s %-12s %10s"):format("LINE", "OWNER", "TASK", "COUNT") }
    for _, q in ipairs(irqs) do
      if q.owner ~= nil then
        local task = field(q.owner, "task")
        out[#out + 1] = ("%4d %-12s %-12s %10d"):format(q.line, tostring(q.owner),
          task and (names[task] or tostring(task)) or "-", q.count or 0)
      end
    end
    if #out == 1 then out[1] = "no interrupt line is attached" end
    self.out(table.concat(out, "\n") .. "\n")
  end)

-- PCI class names (class, subclass), for the classes QEMU's machines show.
local pci_classes = {
  [0x0100] = "SCSI controller", [0x0101] = "IDE controller", [0x0105] = "ATA controller",
  [0x0106] = "SATA controller", [0x0108] = "NVM controller", [0x0180] = "storage controller",
  [0x0200] = "Ethernet controller", [0x0280] = "network controller",
  [0x0300] = "VGA compatible controller", [0x0380] = "display controller",
  [0x0401] = "audio device", [0x0403] = "audio device", [0x0500] = "RAM controller",
  [0x0600] = "host bridge", [0x0601] = "ISA bridge", [0x0604] = "PCI bridge",
  [0x0680] = "bridge", [0x0700] = "serial controller", [0x0880] = "system peripheral",
  [0x0c03] = "USB controller", [0x0c05] = "SMBus", [0x00ff] = "unclassified device",
}
commands.pci_classes = pci_classes

command("lspci", "lspci", "PCI devices: bus:dev.fn vendor:device class (drivers-lua/pci.lua)",
  function(self)
    local req = field(self.env, "require") or require
    local ok, pci = pcall(req, "pci")
    if not ok then
      self.out("lspci: the PCI driver did not load: " .. tostring(pci) .. "\n")
      return
    end
    local devs, err = pci.list()
    if not devs then self.out("lspci: " .. tostring(err) .. "\n") return end
    local out = {}
    for _, d in ipairs(devs) do
      out[#out + 1] = ("%02x:%02x.%d %04x:%04x class %02x.%02x.%02x %s"):format(
        d.bus, d.dev, d.fn, d.vendor, d.device, d.class, d.subclass, d.progif or 0,
        pci_classes[d.class * 256 + d.subclass] or "device")
    end
    if #out == 0 then out[1] = "no PCI devices" end
    self.out(table.concat(out, "\n") .. "\n")
  end)

-- The framework's modules (scripts/service.lua, supervisor.lua), through
-- env.require: the host tests fake them.
function Commands:service()
  local req = field(self.env, "require") or require
  local ok, svc = pcall(req, "service")
  if not ok or type(svc) ~= "table" then error("no service framework here: " .. tostring(svc), 0) end
  return svc
end

command("services", "services", "services: version, requests, errors, state, restarts (name service, supervisor)",
  function(self)
    local list, err = self:service().list()
    if not list then self.out("services: " .. tostring(err) .. "\n") return end
    local out = { ("%-12s %-8s %8s %6s %4s %-12s %s"):format("NAME", "VERSION", "REQUESTS", "ERRORS",
                                                            "RST", "ID", "STATE") }
    for _, e in ipairs(list) do
      local state = e.state or "?"
      if e.reason and state ~= "running" then state = state .. ": " .. tostring(e.reason) end
      out[#out + 1] = ("%-12s %-8s %8s %6s %4s %-12s %s"):format(e.name, tostring(e.version or "-"),
        tostring(e.requests or "-"), tostring(e.errors or "-"), tostring(e.restarts or "-"),
        e.id and tostring(e.id) or "-", state)
    end
    if #out == 1 then out[1] = "no services are registered" end
    self.out(table.concat(out, "\n") .. "\n")
  end)

command("reload", "reload <service> [script]",
  "loads a service's script anew into the running service (state kept; a bad version is refused)",
  function(self, name, path)
    if name == nil then self.out("usage: reload <service> [script]\n") return end
    local v, err = self:service().reload_file(tostring(name), path)
    if v then
      self.out(("reloaded %s: version %s\n"):format(tostring(name), tostring(v)))
    else
      self.out(("reload %s: %s\n"):format(tostring(name), tostring(err)))
    end
  end)

-- A Lua thread of this task a person named: a name the name service
-- gives to a thread of this task (the supervisor, sched, pager), a console
-- part the console guardian keeps (repl.serial, push; scripts/consoles.lua),
-- a plain thread of the supervisor's plan (telnet), or its id.
function Commands:find_thread(what)
  local l4 = self:l4()
  local thread, self_ = field(l4, "thread"), field(l4, "self")
  if type(thread) ~= "table" or type(self_) ~= "function" then return nil end
  local me = field(self_(), "task")
  local req = field(self.env, "require") or require
  local ok, names = pcall(req, "names")
  local id = ok and type(names) == "table" and names.lookup and names.lookup(tostring(what))
  if not id then          -- a console part that is no service (scripts/consoles.lua)
    local has, consoles = pcall(req, "consoles")
    id = has and type(consoles) == "table" and consoles.find and consoles.find(tostring(what))
  end
  if not id then          -- a thread the supervisor started and did not name (telnet)
    local has, sup = pcall(req, "supervisor")
    local list = has and type(sup) == "table" and type(sup.status) == "function" and sup.status()
    for _, e in ipairs(type(list) == "table" and list or {}) do
      if type(e) == "table" and e.name == what then id = e.id end
    end
  end
  if not id then
    local got, threads = pcall(self.sys, self, "sys", "threads")
    for _, t in ipairs(got and threads or {}) do
      if type(t) == "table" and tostring(t.id) == what then id = t.id end
    end
  end
  if id and field(id, "task") == me and thread.status(id) == "running" then return id end
end

command("kill", "kill <task number | id | name>",
  "deletes a task (l4.task.delete), or ends a thread of this task (l4.thread.kill)",
  function(self, what)
    if what == nil then self.out("usage: kill <task number | id | name>\n") return end
    local t = self:find_task(what)
    local th = not t and self:find_thread(what)
    -- The console this REPL types on may go too: the console guardian
    -- (scripts/consoles.lua) starts it again within a tick and this
    -- session goes on there; the answer shows on the new one.
    local sys = field(self:l4(), "sys")
    local mine = type(sys) == "table" and type(sys.console) == "function" and sys.console()
    local again = "; it served this console, which is started again"
    if th then
      local ok, err = self:l4().thread.kill(th)
      if ok then self.out(("killed thread %s (%s)%s\n"):format(tostring(th), tostring(what),
                                                               mine == th and again or ""))
      else self.out(("kill: thread %s: %s\n"):format(tostring(th), tostring(err))) end
      return
    end
    if not t then self.out(("kill: no task %s\n"):format(tostring(what))) return end
    local label = ("task %s%s"):format(tostring(field(t.id, "task") or t.id),
                                       t.name and " (" .. t.name .. ")" or "")
    mine = mine and field(mine, "task") == field(t.id, "task")
    local pages, err, code = self:l4().task.delete(t.id)
    if pages == nil then
      self.out(("kill: %s: %s%s\n"):format(label, tostring(err), code and " (" .. code .. ")" or ""))
    else
      self.out(("killed %s: %d pages back%s\n"):format(label, pages, mine and again or ""))
    end
  end)

command("debug", "debug <service | task number | thread id>",
  "attaches the debugger: breakpoints, steps, the stack, variables (help debug; q leaves)",
  function(self, what)
    if what == nil then self.out("usage: debug <service | task number | thread id>\n") return end
    local req = field(self.env, "require") or require
    local s, err = req("debugger").attach(what)
    if not s then self.out(("debug %s: %s\n"):format(tostring(what), tostring(err))) return end
    self.mode = require(prefix .. "debug_mode").new(s, self.out, self.env, s.script)
    self.out(("attached to %s (thread %s%s); it runs on. help lists the commands, q leaves\n")
      :format(s.name, tostring(s.id), s.script and ", " .. s.script or ""))
  end, { lua = false, more = require(prefix .. "debug_mode").help })

command("profile", "profile <service | task number | thread id> [seconds]",
  "where a thread's time goes, by function and by line: its CPU time (the kernel's ticks) and Lua instructions, sampled",
  function(self, what, seconds)
    if what == nil then self.out("usage: profile <name> [seconds]\n") return end
    local secs = tonumber(seconds or 2)
    if not secs or secs <= 0 or secs > 600 then self.out("profile: seconds from 0 to 600\n") return end
    local req = field(self.env, "require") or require
    local r, err = req("debugger").profile(what, secs * 1000)
    if not r then self.out(("profile %s: %s\n"):format(tostring(what), tostring(err))) return end
    local cpu = r.cpu_us or 0
    local out = { ("profile of %s: %d samples, one every %d Lua instructions at most, %d instructions and %d ms of CPU in %g s")
                  :format(r.name, r.samples, r.count, r.instructions, cpu // 1000, secs) }
    if r.samples == 0 then out[#out + 1] = "(it ran no Lua: it waited the whole time)" end
    for _, part in ipairs({ { "FUNCTION", r.funcs }, { "LINE", r.lines } }) do
      if #part[2] > 0 then
        out[#out + 1] = ("%8s %6s %12s %6s  %s"):format("CPU ms", "%", "INSTRUCTIONS", "%", part[1])
        for i = 1, math.min(#part[2], 10) do
          local e = part[2][i]
          out[#out + 1] = ("%8d %5.1f%% %12d %5.1f%%  %s"):format((e.cpu_us or 0) // 1000,
            100 * (e.cpu_us or 0) / math.max(1, cpu), e.instructions,
            100 * e.instructions / math.max(1, r.instructions), e.where)
        end
      end
    end
    self.out(table.concat(out, "\n") .. "\n")
  end)

command("trace", "trace <service | task number | thread id> [seconds]",
  "its IPC for a while: each message in and out, with time, label, partner and size",
  function(self, what, seconds)
    if what == nil then self.out("usage: trace <name> [seconds]\n") return end
    local secs = tonumber(seconds or 2)
    if not secs or secs <= 0 or secs > 600 then self.out("trace: seconds from 0 to 600\n") return end
    local req = field(self.env, "require") or require
    local r, err = req("debugger").trace(what, secs * 1000, 500)
    if not r then self.out(("trace %s: %s\n"):format(tostring(what), tostring(err))) return end
    local out = { ("%10s %-3s %10s %-12s %6s"):format("MS", "DIR", "LABEL", "PARTNER", "BYTES") }
    local t0 = r.entries[1] and r.entries[1].t or 0
    for _, e in ipairs(r.entries) do
      out[#out + 1] = ("%10.3f %-3s %10s %-12s %6d"):format((e.t - t0) / 1000, e.dir,
        math.type(e.label) and ("0x%x"):format(e.label) or tostring(e.label), e.partner, e.size)
    end
    out[#out + 1] = ("%d messages of %s in %g s%s"):format(#r.entries, r.name, secs,
      r.dropped > 0 and (" (%d earlier ones dropped: the ring keeps 500)"):format(r.dropped) or "")
    self.out(table.concat(out, "\n") .. "\n")
  end)

command("help", "help [command | l4.name]", "this list; help kill, help l4.task: more on one",
  function(self, topic)
    self.out(help_text.render(self, topic))
  end)

-- commands.new(env, out) -> the commands, printing through out(text).
function commands.new(env, out)
  local self = setmetatable({ env = env, out = out, fn = {}, by_name = {}, order = list }, Commands)
  for _, c in ipairs(list) do
    self.by_name[c.name] = c
    -- a failure prints one line; an interrupt goes on to the REPL
    self.fn[c.name] = function(...)
      local ok, e = pcall(c.fn, self, ...)
      if not ok then
        if type(e) == "string" and e:find("interrupted", 1, true) then error(e, 0) end
        out(("%s: %s\n"):format(c.name, tostring(e)))
      end
    end
  end
  return self
end

-- Puts each command into env as a function.
function Commands:install(env)
  for name, f in pairs(self.fn) do
    if self.by_name[name].lua then env[name] = f end
  end
end

-- The command a line is, and its arguments: name, {args}; nil for Lua.
function Commands:parse(line)
  local name, args = grammar:match(line)
  if name and self.by_name[name] then return name, args end
end

return commands
