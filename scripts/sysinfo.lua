-- sysinfo.lua: the system's figures for the dashboard (docs/network.md
-- "The dashboard"), a service in a thread of the root task (init.lua's
-- plan: thread = true). Only the root may read the kernel's thread list,
-- interrupt lines and log and reload services; the HTTP server, a task
-- facing the network, asks this service and holds no such right itself.
-- What a request may do here is this file's policy:
--
--   SNAPSHOT -> the system now (service.encode of a table): uptime,
--     tasks (pages, heap, cap), threads (state, priority, CPU ms),
--     services (version, requests, errors, restarts, state), memory, the
--     interrupt lines with their counts, the network's counters (lwIP's,
--     the network service's, the driver's), the kernel log's tail and the
--     COM1 console's tail (its server keeps what it showed: TAIL)
--   RELOAD_SERVICE name -> the new generation and version
--     (service.reload_file), or an error; said on the console either way
--   LUA line -> "ok", output | "error", why | "off", why: runs the line in
--     this thread (as the REPL would: an expression's values, print's
--     output), only once ALLOW_LUA has turned it on
--   ALLOW_LUA 1|0 -> 1|0: on or off, from a thread of the root task only (init.lua,
--     the user's autorun: sysinfo.allow_lua(true)), never from a task
--
-- Each request runs under an instruction budget: a line of Lua that
-- loops is stopped and answered with the error, the service goes on.
local l4 = require "l4"

local M = {}
M.SNAPSHOT, M.RELOAD_SERVICE, M.LUA, M.ALLOW_LUA = 1, 2, 3, 4
M.LOG_TAIL = 4096       -- bytes of each log in a snapshot

local function kib(b) return b and (b + 1023) // 1024 or nil end

-- The services as the REPL's `services` shows them (service.list), but
-- without asking this thread itself, which is busy answering, nor the
-- client that asked (`from`: it waits for our reply, and a request from
-- us would reach it as that reply).
local function services(from)
  local service = require "service"
  local ok, entries = pcall(require("names").list)
  if not ok or type(entries) ~= "table" then return {} end
  local sup = {}
  local has, supervisor = pcall(require, "supervisor")
  local st = has and supervisor.status() or nil
  for _, s in ipairs(st or {}) do sup[s.name] = s end
  local me, out, seen = l4.self(), {}, {}
  for _, e in ipairs(entries) do
    seen[e.name] = true
    local row = {name = e.name, id = tostring(e.id), state = "running"}
    local i, _, code
    local s = sup[e.name]
    if e.id == me then
      i = {version = M.service.version, requests = M.requests, errors = M.errors}
    elseif e.id == from then
      row.state = "running"     -- the client (the HTTP server) is asking
    else
      i, _, code = service.info(e.id, 200)
    end
    if i then
      row.version, row.requests, row.errors = i.version and tostring(i.version), i.requests, i.errors
      row.reloads = i.reloads
    elseif code then
      row.state = code == service.E_NOTSERVICE and "not a service" or "no answer"
    end
    if s then
      if s.state ~= "running" then row.state = s.state end
      row.restarts = s.restarts
    end
    out[#out + 1] = row
  end
  for name, s in pairs(sup) do
    if not seen[name] then out[#out + 1] = {name = name, state = s.state, restarts = s.restarts} end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

-- The network's counters, flat ("ip.chkerr" = n): lwIP's per protocol
-- (what it received, sent and rejected, and why), the network service's
-- own (net.lua: requests, refusals, sockets of dead tasks closed, frames
-- the driver did not take) and the driver's (net0: frames received, sent,
-- dropped). Counters still 0 are left out; empty when the machine has no
-- network. Each asked with a timeout: a network service that hangs holds
-- no snapshot.
local function network()
  local names, out = require("names"), {}
  local net = names.lookup("net")
  if net then
    local P = require "net_proto"
    local from, label, text = l4.call(net, {timeout = 200}, P.STATS)
    local s = from and label == 0 and type(text) == "string" and require("service").decode(text)
    for k, v in pairs(type(s) == "table" and s or {}) do
      if type(v) == "table" then
        for f, n in pairs(v) do if math.type(n) == "integer" and n ~= 0 then out[k .. "." .. f] = n end end
      elseif math.type(v) == "integer" and v ~= 0 then
        out["net." .. k] = v
      end
    end
  end
  local drv = names.lookup("net0")
  if drv then
    local from, label, rx, tx, rx_drop, tx_drop = l4.call(drv, {timeout = 200}, require("nic").STATS)
    if from and label == 0 then
      for k, n in pairs{rx = rx, tx = tx, rx_drop = rx_drop, tx_drop = tx_drop} do
        if math.type(n) == "integer" and n ~= 0 then out["net0." .. k] = n end
      end
    end
  end
  return out
end

-- The COM1 console's last bytes (its server's TAIL), or "".
local function console_tail()
  local console = require "console"
  local id = require("consoles").find("console")
  if not id then return "" end
  local from, label, text = l4.call(id, {timeout = 200}, console.TAIL, M.LOG_TAIL)
  return from and label == console.OK and text or ""
end

-- The system now, as a table of plain values (ids as text).
function M.snapshot(state, from)
  local names = {}
  names[l4.kip.root.task], names[l4.kip.sigma0.task] = "root", "sigma0"
  local tasks = {}
  for _, t in ipairs(l4.task.list() or {}) do
    names[t.id.task] = t.name
    tasks[#tasks + 1] = {task = t.id.task, name = t.name, state = t.state, pages = t.pages,
                         heap = t.heap, memcap = t.memcap}
  end
  local threads = {}
  for _, t in ipairs(l4.sys.threads() or {}) do
    threads[#threads + 1] = {task = t.task, name = names[t.task], id = tostring(t.id),
                             state = t.state, prio = t.prio, cpu_ms = t.cpu_ms}
  end
  local irqs = {}
  for _, q in ipairs(l4.sys.irqs() or {}) do
    if q.owner then
      irqs[#irqs + 1] = {line = q.line, owner = tostring(q.owner), count = q.count,
                         task = names[q.owner.task] or tostring(q.owner.task)}
    end
  end
  local s = l4.task.stats()
  local kused, klimit = l4.sys.kmem()
  local mapped = l4.sys.heap()
  local klog = l4.sys.klog()
  return {
    uptime_ms = l4.clock() // 1000,
    tasks = tasks, threads = threads, irqs = irqs, services = services(from),
    memory = {["pool KiB"] = s.pool * 4, ["pool free KiB"] = s.free * 4,
              ["reserved for heaps KiB"] = s.reserved * 4, ["tasks running"] = s.tasks,
              ["kernel heap KiB"] = kib(kused), ["kernel heap max KiB"] = kib(klimit),
              ["root heap KiB"] = kib(mapped)},
    net = network(),
    klog = klog:sub(-M.LOG_TAIL), conlog = console_tail(),
    lua_enabled = state and state.lua or false,
  }
end

-- Runs one line as the REPL would: an expression's values, or a
-- statement; what it prints is kept. -> "ok", text | "error", why
local function run_line(line)
  local out = {}
  local function keep(...)
    local t = table.pack(...)
    for i = 1, t.n do t[i] = tostring(t[i]) end
    out[#out + 1] = table.concat(t, "\t", 1, t.n)
  end
  local env = setmetatable({print = keep}, {__index = _G})
  local f, err = load("return " .. line, "=dashboard", "t", env)
  if not f then f, err = load(line, "=dashboard", "t", env) end
  if not f then return "error", err end
  local r = table.pack(pcall(f))
  if not r[1] then return "error", tostring(r[2]) end
  if r.n > 1 then
    local ok, text = pcall(require("pretty").results, r.n - 1, table.unpack(r, 2, r.n))
    out[#out + 1] = ok and text or tostring(r[2])
  end
  return "ok", table.concat(out, "\n")
end

-- Clients --------------------------------------------------------------------

-- sysinfo.allow_lua(on): turns the dashboard's Lua box on or off (from a
-- thread of the root task: init.lua or the user's autorun).
-- -> whether it is on now; nil, why, code
function M.allow_lua(on)
  local now, why, code = require("service").call("sysinfo", M.ALLOW_LUA, on and 1 or 0)
  if now == nil then return nil, why, code end
  return now == 1
end

-- sysinfo.get() -> the snapshot (a table), or nil, why.
function M.get()
  local service = require "service"
  local text, why = service.call({"sysinfo", timeout = 5000}, M.SNAPSHOT)
  if not text then return nil, why end
  return service.decode(text)
end

-- The service --------------------------------------------------------------
M.requests, M.errors = 0, 0

M.service = {
  name = "sysinfo",
  version = 1,
  budget = 20000000,      -- instructions a request may run (a line of Lua)
  init = function(state) state.lua = false end,
  migrate = function(old) return {lua = old.lua or false} end,
  handlers = {
    [M.SNAPSHOT] = function(state, from)
      M.requests = M.requests + 1
      return require("service").encode(M.snapshot(state, from))
    end,
    [M.RELOAD_SERVICE] = function(state, from, name)
      M.requests = M.requests + 1
      if type(name) ~= "string" or name == "sysinfo" then
        M.errors = M.errors + 1
        error("reload: a service's name wanted (not sysinfo's own)", 0)
      end
      local v, why = require("service").reload_file(name)
      if not v then
        M.errors = M.errors + 1
        print(("sysinfo: reload %s asked by %s failed: %s"):format(name, tostring(from), tostring(why)))
        error(tostring(why), 0)
      end
      -- said on the console: a reload from the network is seen where a
      -- person types (the generation says which reload this was)
      print(("sysinfo: %s reloaded (asked by %s): version %s, generation %s"):format(
            name, tostring(from), tostring(v), tostring(why)))
      return why, v           -- a reply carries its numbers before its strings
    end,
    [M.LUA] = function(state, from, line)
      M.requests = M.requests + 1
      if not state.lua then
        return "off", "running Lua from the dashboard is off: sysinfo.allow_lua(true) in init.lua turns it on"
      end
      if type(line) ~= "string" then return "error", "a line of Lua wanted" end
      return run_line(line)
    end,
    [M.ALLOW_LUA] = function(state, from, on)
      if from.task ~= l4.kip.root.task then
        error("only a thread of the root task may turn the dashboard's Lua on", 0)
      end
      state.lua = on == 1          -- a message carries numbers, not booleans
      return state.lua and 1 or 0
    end,
  },
}

return M
