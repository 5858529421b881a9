-- socket.lua: sockets for Lua tasks, with LuaSocket's names and return
-- conventions (docs/network.md "The socket module"), as clients of the
-- network service (scripts/net.lua) over IPC:
--
--   local socket = require "socket"
--   local c = assert(socket.connect("10.0.2.2", 8000))   -- or socket.tcp() + c:connect
--   c:settimeout(2)                        -- seconds; nil or < 0: block
--   c:send("hello\n")                      --> last byte index sent | nil, err, last
--   c:receive("*l") / ("*a") / (n)         --> data | nil, "closed" | "timeout", partial
--   local s = assert(socket.bind("*", 23)) -- or socket.tcp() + s:bind + s:listen
--   local client = s:accept()              --> a socket | nil, "timeout"
--   local u = socket.udp(); u:setsockname("*", 9)
--   u:sendto(data, ip, port); u:receivefrom() --> data, ip, port | nil, err
--   socket.dns.toip("example.org")         --> "a.b.c.d", info | nil, "host not found"
--   socket.select(recvt, sendt, [timeout]) --> readable, writable, err ("timeout")
--   socket.gettime(), socket.sleep(s), socket.try / newtry / protect / skip
--   c:give(task_id) -> handle, buffered; socket.adopt(handle, buffered): a
--   socket handed to another task (L4ua's, not LuaSocket's)
--
-- Errors are LuaSocket's words: "closed" (the connection, the socket, or the
-- network service itself is gone: a restarted service knows none of the
-- sockets of the one before), "timeout", "connection refused", "address
-- already in use", "host not found"; misuse (a wrong argument type)
-- raises an error, as LuaSocket does. Received data is buffered here, in
-- the client (the patterns work on that buffer), as LuaSocket buffers it
-- in its own userdata; select counts a socket with buffered data as
-- readable.
local l4 = require "l4"
local P = require "net_proto"

local M = {_VERSION = "LuaSocket 3.0 (L4ua)"}
M.dns = {}

local server                    -- the service's id, looked up at first use

-- One request: the reply's values after label 0, or nil, message, code.
local function call(label, ...)
  if not server then
    local id = require("names").lookup(P.NAME)
    if not id then return nil, "closed", P.E_CLOSED end
    server = id
  end
  local r = table.pack(l4.call(server, label, ...))
  if r[1] == nil then
    server = nil                -- gone: a restarted service is looked up next time
    return nil, "closed", P.E_CLOSED
  end
  if r[2] == 0 then return true, table.unpack(r, 3, r.n) end
  return nil, r[5], r[3], r[4]          -- message, code, bytes sent
end

local function ms(deadline)
  if not deadline then return P.FOREVER end
  return math.max(0, (deadline - l4.clock()) // 1000)
end

local function checkaddr(addr, fname)
  if addr == "*" or addr == "0.0.0.0" then return "0.0.0.0" end
  if type(addr) ~= "string" then
    error(("bad argument #1 to '%s' (string expected, got %s)"):format(fname, type(addr)), 3)
  end
  if addr:match("^%d+%.%d+%.%d+%.%d+$") then return addr end
  local ip, err = M.dns.toip(addr)
  if not ip then return nil, err end
  return ip
end

local function checkport(port, fname)
  local p = math.tointeger(tonumber(port))
  if not p then
    error(("bad argument #2 to '%s' (number expected, got %s)"):format(fname, type(port)), 3)
  end
  return p
end

---------------------------------------------------------------------------
local Tcp, Udp = {}, {}
Tcp.__index, Udp.__index = Tcp, Udp

local function tcp_of(h) return setmetatable({h = h, buf = "", timeout = nil}, Tcp) end

function M.tcp()
  local ok, h = call(P.TCP)
  if not ok then return nil, h end
  return tcp_of(h)
end
M.tcp4 = M.tcp

function Tcp:__tostring()
  return ("tcp{%s}: %s"):format(self.listening and "server" or self.connected and "client"
                                or "master", tostring(self.h))
end

-- The deadline of an operation now (settimeout's seconds), or nil.
local function deadline(self)
  if not self.timeout then return nil end
  return l4.clock() + math.floor(self.timeout * 1e6)
end

local function closed_check(self)
  if not self.h then return nil, "closed" end
  return true
end

function Tcp:settimeout(t, _mode)
  if t == nil or t < 0 then self.timeout = nil else self.timeout = t end
  return 1
end

function Tcp:bind(addr, port)
  local ok, err = closed_check(self)
  if not ok then return nil, err end
  local ip; ip, err = checkaddr(addr, "bind")
  if not ip then return nil, err end
  ok, err = call(P.BIND, self.h, checkport(port, "bind"), ip)
  if not ok then return nil, err end
  return 1
end

function Tcp:listen(backlog)
  local ok, err = closed_check(self)
  if not ok then return nil, err end
  ok, err = call(P.LISTEN, self.h, math.tointeger(backlog) or 32)
  if not ok then return nil, err end
  self.listening = true
  return 1
end

function Tcp:accept()
  local ok, err = closed_check(self)
  if not ok then return nil, err end
  local h
  ok, h = call(P.ACCEPT, self.h, ms(deadline(self)))
  if not ok then return nil, h end
  local c = tcp_of(h)
  c.connected = true
  return c
end

function Tcp:connect(addr, port)
  local ok, err = closed_check(self)
  if not ok then return nil, err end
  local ip; ip, err = checkaddr(addr, "connect")
  if not ip then return nil, err end
  ok, err = call(P.CONNECT, self.h, checkport(port, "connect"), ms(deadline(self)), ip)
  if not ok then return nil, err end
  self.connected = true
  return 1
end

-- c:send(data, [i, [j]]) -> the last byte index sent, or nil, err, last
function Tcp:send(data, i, j)
  if type(data) ~= "string" and type(data) ~= "number" then
    error(("bad argument #1 to 'send' (string expected, got %s)"):format(type(data)), 2)
  end
  data = tostring(data)
  i, j = math.tointeger(i) or 1, math.tointeger(j) or #data
  if i < 0 then i = math.max(#data + i + 1, 1) elseif i == 0 then i = 1 end
  if j < 0 then j = #data + j + 1 elseif j > #data then j = #data end
  local ok, err = closed_check(self)
  if not ok then return nil, err, i - 1 end
  local at, dl = i, deadline(self)
  while at <= j do
    local piece = data:sub(at, math.min(j, at + P.CHUNK - 1))
    local sent, code
    ok, sent, code, err = call(P.SEND, self.h, ms(dl), piece)
    if not ok then return nil, sent, at - 1 + (math.tointeger(err) or 0), code end
    at = at + sent
  end
  return j
end

-- More data into the buffer (for a line): true, or nil, err.
local function fill(self, dl)
  local ok, data = call(P.RECV, self.h, P.CHUNK, ms(dl))
  if not ok then return nil, data end
  self.buf = self.buf .. data
  return true
end

-- c:receive([pattern, [prefix]]) -> data, or nil, err, partial
function Tcp:receive(pattern, prefix)
  pattern = pattern or "*l"
  prefix = prefix or ""
  local ok, err = closed_check(self)
  if not ok then return nil, err, prefix end
  local dl = deadline(self)
  if pattern == "*l" or pattern == "l" then
    while true do
      local nl = self.buf:find("\n", 1, true)
      if nl then
        local line = self.buf:sub(1, nl - 1):gsub("\r", "")
        self.buf = self.buf:sub(nl + 1)
        return prefix .. line
      end
      ok, err = fill(self, dl)
      if not ok then
        local part = self.buf:gsub("\r", "")
        self.buf = ""
        return nil, err, prefix .. part
      end
    end
  elseif pattern == "*a" or pattern == "a" then
    -- pieces in a list, joined once (no copy of all so far per piece)
    local parts = {self.buf}
    self.buf = ""
    while true do
      local data
      ok, data = call(P.RECV, self.h, P.CHUNK, ms(dl))
      if not ok then
        local all = table.concat(parts)
        if data == "closed" then return prefix .. all end
        return nil, data, prefix .. all
      end
      parts[#parts + 1] = data
    end
  else
    local n = math.tointeger(tonumber(pattern))
    if not n or n < 0 then
      error("bad argument #1 to 'receive' (invalid receive pattern)", 2)
    end
    local parts, have = {self.buf}, #self.buf
    self.buf = ""
    while have < n do           -- asks for no more than is missing
      local data
      ok, data = call(P.RECV, self.h, math.min(n - have, P.CHUNK), ms(dl))
      if not ok then return nil, data, prefix .. table.concat(parts) end
      parts[#parts + 1] = data
      have = have + #data
    end
    local all = table.concat(parts)
    self.buf = all:sub(n + 1)
    return prefix .. all:sub(1, n)
  end
end

function Tcp:close()
  if self.h then
    call(P.CLOSE, self.h)
    self.h = nil
  end
  return 1
end
Tcp.__close = Tcp.close

function Tcp:getsockname()
  if not self.h then return nil, "closed" end
  local ok, port, addr = call(P.SOCKNAME, self.h)
  if not ok then return nil, addr end
  return addr, port, "inet"
end

function Tcp:getpeername()
  if not self.h then return nil, "closed" end
  local ok, port, addr = call(P.PEERNAME, self.h)
  if not ok then return nil, addr end
  return addr, port, "inet"
end

-- L4ua's: c:give(id) hands the socket to the task of thread id (this
-- object is closed after it) -> the handle and the data received and not
-- yet read here, for socket.adopt in that task; or nil, err.
function Tcp:give(id)
  if not self.h then return nil, "closed" end
  local ok, err = call(P.GIVE, self.h, id.raw)
  if not ok then return nil, err end
  local h, buf = self.h, self.buf
  self.h, self.buf = nil, ""
  return h, buf
end

function Tcp:setoption() return 1 end
function Tcp:dirty() return #self.buf > 0 end
function Tcp:getfd() return self.h or -1 end

-- socket.adopt(handle, [buffered]) -> a TCP socket object for a handle
-- another task gave this one (c:give), with the data it had buffered.
function M.adopt(h, buffered)
  if math.type(h) ~= "integer" then
    error(("bad argument #1 to 'adopt' (integer expected, got %s)"):format(type(h)), 2)
  end
  local c = tcp_of(h)
  c.buf = type(buffered) == "string" and buffered or ""
  c.connected = true
  return c
end

---------------------------------------------------------------------------
function M.udp()
  local ok, h = call(P.UDP)
  if not ok then return nil, h end
  return setmetatable({h = h, timeout = nil}, Udp)
end
M.udp4 = M.udp

function Udp:__tostring() return ("udp{unconnected}: %s"):format(tostring(self.h)) end
Udp.settimeout = Tcp.settimeout
Udp.getsockname = Tcp.getsockname
Udp.getfd = Tcp.getfd
Udp.setoption = Tcp.setoption
function Udp:dirty() return false end

function Udp:setsockname(addr, port)
  local ok, err = closed_check(self)
  if not ok then return nil, err end
  local ip; ip, err = checkaddr(addr, "setsockname")
  if not ip then return nil, err end
  ok, err = call(P.BIND, self.h, checkport(port, "setsockname"), ip)
  if not ok then return nil, err end
  return 1
end

function Udp:setpeername(addr, port)
  local ip, err = checkaddr(addr, "setpeername")
  if not ip then return nil, err end
  self.peer, self.peer_port = ip, checkport(port, "setpeername")
  return 1
end

function Udp:sendto(data, addr, port)
  if type(data) ~= "string" then
    error(("bad argument #1 to 'sendto' (string expected, got %s)"):format(type(data)), 2)
  end
  local ok, err = closed_check(self)
  if not ok then return nil, err end
  local ip; ip, err = checkaddr(addr, "sendto")
  if not ip then return nil, err end
  ok, err = call(P.SENDTO, self.h, checkport(port, "sendto"), data, ip)
  if not ok then return nil, err end
  return 1
end

function Udp:send(data)
  if not self.peer then return nil, "not connected" end
  return self:sendto(data, self.peer, self.peer_port)
end

function Udp:receivefrom(size)
  local ok, err = closed_check(self)
  if not ok then return nil, err end
  local data, addr, port
  ok, port, data, addr = call(P.RECVFROM, self.h, ms(deadline(self)))
  if not ok then return nil, data end
  if size and #data > size then data = data:sub(1, size) end
  return data, addr, port
end

function Udp:receive(size)
  local data, err = self:receivefrom(size)
  return data, err
end

function Udp:close()
  if self.h then
    call(P.CLOSE, self.h)
    self.h = nil
  end
  return 1
end
Udp.__close = Udp.close

---------------------------------------------------------------------------
function M.connect(addr, port, laddr, lport)
  local c, err = M.tcp()
  if not c then return nil, err end
  if laddr then
    local ok; ok, err = c:bind(laddr, lport or 0)
    if not ok then c:close(); return nil, err end
  end
  local ok; ok, err = c:connect(addr, port)
  if not ok then c:close(); return nil, err end
  return c
end
M.connect4 = M.connect

function M.bind(addr, port, backlog)
  local s, err = M.tcp()
  if not s then return nil, err end
  local ok; ok, err = s:bind(addr, port)
  if ok then ok, err = s:listen(backlog or 32) end
  if not ok then s:close(); return nil, err end
  return s
end

-- socket.dns.toip(name) -> address, {name =, alias = {}, ip = {address}} | nil, err
function M.dns.toip(name)
  if type(name) ~= "string" then
    error(("bad argument #1 to 'toip' (string expected, got %s)"):format(type(name)), 2)
  end
  local ok, addr = call(P.RESOLVE, 10000, name)
  if not ok then
    return nil, addr == "timeout" and "timeout" or "host not found"
  end
  return addr, {name = name, alias = {}, ip = {addr}}
end

function M.dns.gethostname() return "l4ua" end

-- socket.select(recvt, sendt, [timeout]) -> readable, writable, err
function M.select(recvt, sendt, timeout)
  recvt, sendt = recvt or {}, sendt or {}
  local rl, wl, by = {}, {}, {}
  local r, w = {}, {}
  for _, s in ipairs(recvt) do
    if s.h then
      if s.dirty and s:dirty() then r[#r + 1] = s; r[s] = true end
      rl[#rl + 1] = s.h; by[s.h] = s
    end
  end
  for _, s in ipairs(sendt) do
    if s.h then wl[#wl + 1] = s.h; by[s.h] = s end
  end
  if #rl + #wl == 0 and #r == 0 then
    if timeout and timeout >= 0 then M.sleep(timeout) end
    return {}, {}, "timeout"
  end
  local t = #r > 0 and 0 or (timeout and timeout >= 0 and math.floor(timeout * 1000)) or P.FOREVER
  local ok, rs, ws = call(P.SELECT, t, P.pack_handles(rl), P.pack_handles(wl))
  if not ok then return r, w, #r > 0 and nil or rs end
  for _, h in ipairs(P.unpack_handles(rs)) do
    local s = by[h]
    if s and not r[s] then r[#r + 1] = s; r[s] = true end
  end
  for _, h in ipairs(P.unpack_handles(ws)) do
    local s = by[h]
    if s then w[#w + 1] = s; w[s] = true end
  end
  if #r + #w == 0 then return r, w, "timeout" end
  return r, w
end

local epoch = os.time() - l4.clock() / 1e6    -- the wall clock at boot, in s
function M.gettime() return epoch + l4.clock() / 1e6 end
function M.sleep(s) if s and s > 0 then l4.sleep(math.floor(s * 1000)) end end

-- LuaSocket's helpers for error handling: try raises a failure (nil,
-- message) as an error that protect turns back into nil, message.
function M.skip(d, ...) return select(d + 1, ...) end

function M.newtry(finalizer)
  return function(...)
    if not (...) then
      if finalizer then pcall(finalizer) end
      error({(select(2, ...))}, 0)
    end
    return ...
  end
end
M.try = M.newtry()

function M.protect(f)
  return function(...)
    local r = table.pack(pcall(f, ...))
    if r[1] then return table.unpack(r, 2, r.n) end
    if type(r[2]) == "table" then return nil, r[2][1] end
    error(r[2], 0)
  end
end

-- The service's view of the interface (address, DHCP, DNS servers).
function M.status()
  local ok, s = call(P.STATUS)
  if not ok then return nil, s end
  return require("service").decode(s)
end

-- The service's counters (lwIP's per protocol, sockets open, ...).
function M.stats()
  local ok, s = call(P.STATS)
  if not ok then return nil, s end
  return require("service").decode(s)
end

return M
