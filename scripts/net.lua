-- net.lua: the network service, a Lua task of its own (the plan's "net";
-- docs/network.md). lwIP (require "lwip", bindings/lwip.c) holds the
-- protocols; this loop holds the policy: it moves frames between lwIP and
-- the card's driver (nic.lua's protocol, the task net0), runs lwIP's
-- timers, and serves the sockets of Lua tasks (net_proto.lua's protocol;
-- scripts/socket.lua is the client).
--
-- One thread, one loop, nothing blocks in it: a request that cannot be
-- answered yet (an accept with none waiting, a receive with no data, a
-- send with a full buffer, a connect under way, a name being resolved) is
-- kept as pending and answered (l4.reply) once it can be, or when its
-- timeout ends. Its client waits in its call meanwhile, as a client of
-- virtio_blk.lua does.
--
-- Ownership: a socket belongs to the task that made it (an accepted one
-- to the listener's); a request that names another task's socket, or one
-- that does not exist, is refused ("no such socket"). Once a second the
-- loop checks that the owners still exist (l4.nearest, as names.lua
-- does): the sockets of a task that died are closed. A task is known by
-- the threads that used its sockets (a service sees no other sign of a
-- task's life): its sockets go when none of them exists any more, not
-- when the one that opened the first ends (the root's TCP REPL listener,
-- killed, took every session's connection with it). Limits: PER_TASK
-- sockets a task, SOCKETS in all.
-- Arguments: the driver's name ("net0").
local l4 = require "l4"
local lwip = require "lwip"
local nic = require "nic"
local P = require "net_proto"
local service = require "service"
local SP = require "service_proto"

local nic_name = ... or "net0"
local PER_TASK, SOCKETS = 64, 512
local CHUNK = P.CHUNK

local function now() return l4.clock() // 1000 end

-- The driver: found by name (the plan starts it first), asked for the MAC
-- and attached (it sends us what it receives).
local drv
local function attach()
  local id = require("names").lookup(nic_name)
  if not id then return nil end
  local from, label, _, mac = l4.call(id, {timeout = 1000}, nic.INFO)
  if not from or label ~= 0 or type(mac) ~= "string" then return nil end
  from, label = l4.call(id, {timeout = 1000}, nic.ATTACH)
  if not from or label ~= 0 then return nil end
  drv = id
  return mac
end

local mac
for _ = 1, 50 do
  mac = attach()
  if mac then break end
  l4.sleep(100)
end
if not mac then error(("net: no network driver named %s answers"):format(nic_name), 0) end
assert(lwip.start(mac, {hostname = "l4ua"}))

local counts = {requests = 0, refused = 0, closed_dead = 0, tx_retry = 0, drv_lost = 0}

-- Frames lwIP sent, to the driver. A call with a send timeout of 0 (nic.lua
-- says why): a driver busy right now gets the batch at the next turn.
local XMIT_OPTS = {send = 0, receive = 1000}
local held                      -- a batch the driver did not take yet
local function flush()
  while drv do
    local batch = held or lwip.output(nic.MAX)
    if not batch then return end
    local from, _, code = l4.call(drv, XMIT_OPTS, nic.XMIT, batch)
    if from then
      held = nil
    elseif code == l4.E.snd_timeout then
      held = batch
      counts.tx_retry = counts.tx_retry + 1
      return
    else                        -- the driver died: a restarted one is attached below
      held, drv = nil, nil
      counts.drv_lost = counts.drv_lost + 1
    end
  end
  -- no driver: what lwIP sends is lost (TCP sends it again)
  while lwip.output(nic.MAX) do end
end

-- Sockets -------------------------------------------------------------------

local socks = {}                -- handle -> {h, kind = "tcp" | "udp", s, task, owner}
local by_task = {}              -- task number -> {count, users = {[raw id] = id}}
local nsocks = 0
-- Handles start at a value of this boot and incarnation (the clock), so a
-- handle of a service that died is not one of its successor's.
local next_handle = (l4.clock() % (1 << 30)) * 1024 + 1

-- A failure's reply (net_proto.lua: the integers first).
local function fail(from, msg, code, sent)
  l4.reply(from, 1, code, sent or 0, msg)
end

-- A refused request (bad input: counted).
local function refused(from, msg, code)
  counts.refused = counts.refused + 1
  fail(from, msg, code)
end

local function new_socket(from, kind, s)
  local t = by_task[from.task]
  if nsocks >= SOCKETS or (t and t.count >= PER_TASK) then
    s:close()
    return nil, ("too many sockets (%d a task, %d in all)"):format(PER_TASK, SOCKETS)
  end
  if not t then
    t = {count = 0, users = {}}
    by_task[from.task] = t
  end
  t.users[from.raw] = from
  local h = next_handle
  next_handle = next_handle + 1
  socks[h] = {h = h, kind = kind, s = s, task = from.task}
  t.count, nsocks = t.count + 1, nsocks + 1
  return h
end

local function close_socket(k)
  socks[k.h] = nil
  k.s:close()
  nsocks = nsocks - 1
  local t = by_task[k.task]
  t.count = t.count - 1
  if t.count == 0 then by_task[k.task] = nil end
end

-- The socket `h` of the caller's task, of `kind` if given; or nil after
-- a refusal sent.
local function mine(from, h, kind)
  local k = math.type(h) == "integer" and socks[h]
  if not k or k.task ~= from.task then
    refused(from, ("no such socket %s (closed, or not this task's)"):format(tostring(h)), P.E_CLOSED)
    return nil
  end
  if kind and k.kind ~= kind then
    refused(from, ("socket %d is %s, not %s"):format(h, k.kind, kind), P.E_INVAL)
    return nil
  end
  by_task[k.task].users[from.raw] = from       -- a thread of the owner
  return k
end

local function addr_ok(from, addr, port, need_port)
  if type(addr) ~= "string" or math.type(port) ~= "integer" or port < 0 or port > 65535
      or (need_port and port == 0) then
    refused(from, ("bad address %s port %s (an IPv4 address and a port 1-65535)"):format(
      tostring(addr), tostring(port)), P.E_INVAL)
    return false
  end
  return true
end

-- lwIP's expected failures as a refusal (nil, message, code from lwip).
local function refuse(from, _, msg)
  local code = P.E_INVAL
  if msg == "address already in use" then code = P.E_INUSE
  elseif msg == "connection reset" or msg == "closed" or msg == "connection aborted" then
    code = P.E_CLOSED
  elseif msg == "not enough memory" then code = P.E_LIMIT end
  fail(from, msg, code)
end

-- Pending requests ------------------------------------------------------------

local pending = {}              -- list of {from, try = fn(p) -> done, deadline, ...}
local orphans = {}              -- DNS requests whose client went: polled until done

local function defer(p, timeout)
  if math.type(timeout) ~= "integer" then timeout = P.FOREVER end
  p.deadline = timeout >= 0 and now() + timeout or math.huge
  if not p:try() then pending[#pending + 1] = p end
end

local function timeout_reply(p)
  if p.on_timeout then return p:on_timeout() end
  fail(p.from, "timeout", P.E_TIMEOUT)
end

-- Answers what can be answered; the others wait on. -> ms to the first deadline
local function progress()
  local t, first = now(), math.huge
  local keep = {}
  for _, p in ipairs(pending) do
    if p:try() then -- answered
    elseif t >= p.deadline then timeout_reply(p)
    else
      keep[#keep + 1] = p
      if p.deadline < first then first = p.deadline end
    end
  end
  pending = keep
  for i = #orphans, 1, -1 do
    if lwip.resolved(orphans[i]) ~= nil then table.remove(orphans, i) end
  end
  return first == math.huge and first or math.max(0, first - t)
end

-- Whether socket k is readable / writable (for select).
local function readable(k)
  if k.kind == "udp" then return k.s:pending() > 0 end
  local st = k.s:status()
  if st == "closed" then return true end
  local bytes, waiting = k.s:pending()
  if st == "listening" then return waiting > 0 end
  if bytes > 0 then return true end
  local _, eof = k.s:recv(1 << 30)    -- "" while no data; says whether the peer closed
  return eof
end

local function writable(k)
  if k.kind == "udp" then return true end
  local st = k.s:status()
  return st == "closed" or (st == "connected" and k.s:sendroom() > 0)
end

-- The requests ------------------------------------------------------------------

local handlers = {}

handlers[P.STATUS] = function(from)
  local c = lwip.ifconfig()
  c.sockets = nsocks
  l4.reply(from, 0, service.encode(c))
end

handlers[P.STATS] = function(from)
  local s = lwip.stats()
  for k, v in pairs(counts) do s[k] = v end
  s.sockets, s.pending, s.tasks = nsocks, #pending, 0
  for _ in pairs(by_task) do s.tasks = s.tasks + 1 end
  l4.reply(from, 0, service.encode(s))
end

local function opener(kind)
  return function(from)
    local s, err = lwip[kind]()
    if not s then return fail(from, err, P.E_LIMIT) end
    local h, why = new_socket(from, kind, s)
    if not h then return fail(from, why, P.E_LIMIT) end
    l4.reply(from, 0, h)
  end
end
handlers[P.TCP], handlers[P.UDP] = opener("tcp"), opener("udp")

handlers[P.BIND] = function(from, h, port, addr)
  local k = mine(from, h)
  if not k or not addr_ok(from, addr, port) then return end
  local ok, a, b = pcall(k.s.bind, k.s, addr, port)
  if not ok then return fail(from, tostring(a), P.E_INVAL) end
  if not a then return refuse(from, nil, b) end
  l4.reply(from, 0)
end

handlers[P.LISTEN] = function(from, h, backlog)
  local k = mine(from, h, "tcp")
  if not k then return end
  if math.type(backlog) ~= "integer" or backlog < 1 then backlog = 32 end
  local ok, a, b = pcall(k.s.listen, k.s, math.min(backlog, 128))
  if not ok then return fail(from, tostring(a), P.E_INVAL) end
  if not a then return refuse(from, nil, b) end
  l4.reply(from, 0)
end

handlers[P.ACCEPT] = function(from, h, timeout)
  local k = mine(from, h, "tcp")
  if not k then return end
  if k.s:status() ~= "listening" then return fail(from, "not listening", P.E_INVAL) end
  defer({from = from, try = function(p)
    if not socks[h] then fail(p.from, "closed", P.E_CLOSED); return true end
    local n = k.s:accept()
    if not n then return false end
    local nh, why = new_socket(from, "tcp", n)
    if not nh then fail(p.from, why, P.E_LIMIT) else l4.reply(p.from, 0, nh) end
    return true
  end}, timeout)
end

handlers[P.CONNECT] = function(from, h, port, timeout, addr)
  local k = mine(from, h, "tcp")
  if not k or not addr_ok(from, addr, port, true) then return end
  local ok, a, b = pcall(k.s.connect, k.s, addr, port)
  if not ok then return fail(from, tostring(a), P.E_INVAL) end
  if not a then return refuse(from, nil, b) end
  defer({from = from, try = function(p)
    if not socks[h] then fail(p.from, "closed", P.E_CLOSED); return true end
    local st, why = k.s:status()
    if st == "connected" then l4.reply(p.from, 0); return true end
    if st == "closed" then
      fail(p.from, why == "connection reset" and "connection refused" or why or "closed",
           P.E_REFUSED)
      return true
    end
    return false
  end}, timeout)
end

handlers[P.SEND] = function(from, h, timeout, data)
  local k = mine(from, h, "tcp")
  if not k then return end
  if type(data) ~= "string" then return fail(from, "SEND wants a string", P.E_INVAL) end
  local sent = 0
  defer({from = from, try = function(p)
    if not socks[h] then fail(p.from, "closed", P.E_CLOSED, sent); return true end
    while sent < #data do
      local n, err = k.s:send(data, sent + 1)
      if not n then fail(p.from, err == "not connected" and err or "closed", P.E_CLOSED, sent)
        return true
      end
      if n == 0 then return false end
      sent = sent + n
    end
    l4.reply(p.from, 0, sent)
    return true
  end, on_timeout = function(p) fail(p.from, "timeout", P.E_TIMEOUT, sent) end},
  timeout)
end

handlers[P.RECV] = function(from, h, max, timeout)
  local k = mine(from, h, "tcp")
  if not k then return end
  if math.type(max) ~= "integer" or max < 1 then return fail(from, "RECV wants a count >= 1", P.E_INVAL) end
  max = math.min(max, CHUNK)
  if k.s:status() == "listening" then return fail(from, "a listening socket has no data", P.E_INVAL) end
  defer({from = from, try = function(p)
    if not socks[h] then fail(p.from, "closed", P.E_CLOSED); return true end
    local bytes, eof = k.s:recv(max)
    if #bytes > 0 then l4.reply(p.from, 0, bytes); return true end
    if eof then fail(p.from, "closed", P.E_CLOSED); return true end
    local st = k.s:status()
    if st == "idle" then fail(p.from, "not connected", P.E_CLOSED); return true end
    return false
  end}, timeout)
end

handlers[P.CLOSE] = function(from, h)
  local k = mine(from, h)
  if not k then return end
  close_socket(k)
  l4.reply(from, 0)
end

local function names_of(method)
  return function(from, h)
    local k = mine(from, h)
    if not k then return end
    local m = k.s[method]
    if not m then return fail(from, ("a %s socket has no %s"):format(k.kind, method), P.E_INVAL) end
    local addr, port = m(k.s)
    if not addr then return fail(from, port or "not connected", P.E_CLOSED) end
    l4.reply(from, 0, port, addr)
  end
end
handlers[P.SOCKNAME], handlers[P.PEERNAME] = names_of("sockname"), names_of("peername")

handlers[P.SENDTO] = function(from, h, port, data, addr)
  local k = mine(from, h, "udp")
  if not k or not addr_ok(from, addr, port, true) then return end
  if type(data) ~= "string" then return fail(from, "SENDTO wants a string", P.E_INVAL) end
  local ok, a, b = pcall(k.s.sendto, k.s, data, addr, port)
  if not ok then return fail(from, tostring(a), P.E_INVAL) end
  if not a then return refuse(from, nil, b) end
  l4.reply(from, 0)
end

handlers[P.RECVFROM] = function(from, h, timeout)
  local k = mine(from, h, "udp")
  if not k then return end
  defer({from = from, try = function(p)
    if not socks[h] then fail(p.from, "closed", P.E_CLOSED); return true end
    local data, addr, port = k.s:recvfrom()
    if not data then return false end
    l4.reply(p.from, 0, port, data, addr)
    return true
  end}, timeout)
end

handlers[P.SELECT] = function(from, timeout, rs, ws)
  local rl, wl = P.unpack_handles(rs), P.unpack_handles(ws)
  for _, list in ipairs{rl, wl} do
    for _, h in ipairs(list) do
      if not mine(from, h) then return end
    end
  end
  local function ready(p, final)
    local r, w = {}, {}
    for _, h in ipairs(rl) do
      local k = socks[h]
      if not k or readable(k) then r[#r + 1] = h end
    end
    for _, h in ipairs(wl) do
      local k = socks[h]
      if not k or writable(k) then w[#w + 1] = h end
    end
    if #r + #w == 0 and not final then return false end
    l4.reply(p.from, 0, P.pack_handles(r), P.pack_handles(w))
    return true
  end
  defer({from = from, try = ready, on_timeout = function(p) ready(p, true) end}, timeout)
end

handlers[P.RESOLVE] = function(from, timeout, name)
  if type(name) ~= "string" then return fail(from, "RESOLVE wants a host name", P.E_INVAL) end
  local r, err = lwip.resolve(name)
  if not r then return fail(from, err, P.E_NOTFOUND) end
  if type(r) == "string" then return l4.reply(from, 0, r) end
  defer({from = from, try = function(p)
    local addr, why = lwip.resolved(r)
    if addr == nil then return false end
    if addr then l4.reply(p.from, 0, addr) else fail(p.from, why, P.E_NOTFOUND) end
    return true
  end, on_timeout = function(p)
    orphans[#orphans + 1] = r
    fail(p.from, "timeout", P.E_TIMEOUT)
  end}, timeout)
end

-- A socket handed to another task (a server that accepts in one task and
-- serves each connection in a task of its own): the owner gives, the
-- other task adopts the handle (socket.adopt).
handlers[P.GIVE] = function(from, h, raw)
  local k = mine(from, h)
  if not k then return end
  local ok, to = pcall(l4.id, raw)
  if math.type(raw) ~= "integer" or not ok or not l4.nearest(to) then
    return refused(from, ("no such task %s to give socket %d to"):format(tostring(raw), h), P.E_INVAL)
  end
  local t = by_task[to.task]
  if to.task ~= k.task and t and t.count >= PER_TASK then
    return fail(from, ("task %s has %d sockets already"):format(tostring(to), PER_TASK), P.E_LIMIT)
  end
  if to.task ~= k.task then
    local old = by_task[k.task]
    old.count = old.count - 1
    if old.count == 0 then by_task[k.task] = nil end
    if not t then
      t = {count = 0, users = {}}
      by_task[to.task] = t
    end
    t.count = t.count + 1
    t.users[to.raw] = to
    k.task = to.task
  end
  l4.reply(from, 0)
end

-- The owners that died: their sockets closed, their requests dropped. A
-- thread that ended is forgotten; a task none of whose known threads
-- exists has died.
local function sweep()
  for task, t in pairs(by_task) do
    for raw, id in pairs(t.users) do
      if not l4.nearest(id) then t.users[raw] = nil end
    end
    if next(t.users) == nil then
      for h, k in pairs(socks) do
        if k.task == task then
          close_socket(k)
          counts.closed_dead = counts.closed_dead + 1
          socks[h] = nil
        end
      end
      by_task[task] = nil
    end
  end
  local keep = {}
  for _, p in ipairs(pending) do
    if l4.nearest(p.from) then keep[#keep + 1] = p end
  end
  pending = keep
end

-- The loop ------------------------------------------------------------------------

-- Quiet, as disk0 is: the console is a person's (socket.status() shows the
-- address DHCP gave).
local next_sweep = now() + 1000
while true do
  local wait = lwip.poll()
  wait = math.min(wait, progress())
  flush()
  if held then wait = math.min(wait, 1) end
  local t = now()
  if t >= next_sweep then
    sweep()
    -- a driver that died (restarted: a new id) is attached anew
    if drv and not l4.nearest(drv) then drv, held = nil, nil end
    if not drv then attach() end
    next_sweep = t + 1000
  end
  wait = math.max(0, math.min(wait, next_sweep - t))
  local from, label, a, b, c, d = l4.receive(nil, wait)
  if from == nil then
    -- the timeout (or a cancelled receive): the loop's turn
  elseif label == nic.RX then
    -- frames: from the attached driver only (a new one is attached above)
    if from == drv and type(a) == "string" then lwip.input(a) end
  elseif math.type(label) == "integer" and handlers[label] then
    counts.requests = counts.requests + 1
    local ok, err = pcall(handlers[label], from, a, b, c, d)
    if not ok then fail(from, tostring(err), P.E_INVAL) end
  elseif label == SP.PING or label == SP.INFO then
    -- the framework's questions (sysinfo asks INFO of every named server
    -- for `services` and the dashboard): answered, not counted as refused
    -- input, which the dashboard's figure of rejected input would then be
    if label == SP.PING then l4.reply(from, SP.ping("net", "1"))
    else l4.reply(from, SP.info{requests = counts.requests, errors = counts.refused,
                                generation = 1, reloads = 0, name = "net", version = "1"}) end
  elseif math.type(label) == "integer" and not SP.late_reply(label) then  -- a late reply: dropped
    refused(from, ("no request %s"):format(tostring(label)), P.E_INVAL)
  end
end
