-- A small HTTP/1.1 server (docs/network.md "The dashboard"), on the
-- socket module's LuaSocket names only (socket.tcp, bind, listen,
-- accept, settimeout, receive, send, close, socket.select), so the same
-- file runs in the guest over the network service and on the host over
-- Debian's LuaSocket (the host tests, tests/host/net/).
--
--   local srv = httpd.new(function(req) return 200, {["Content-Type"] = "text/plain"}, "hi" end)
--   assert(srv:listen("*", 80))
--   srv:run()                   -- until the network goes; or srv:step(seconds) in a loop
--
-- A request is {method, path, query = {k = v}, rawquery (the text after
-- "?"), headers = {lowercase = v}, body, peer}; the handler returns
-- status, headers, body (a string).
-- One thread serves every connection: sockets are non-blocking and one
-- socket.select waits on all of them, so a slow or silent client holds
-- nothing but its own slot. Limits, each refusal counted in srv.stats
-- (the dashboard shows them):
--   - a request head over HEAD_MAX bytes: 431; a body over BODY_MAX: 413;
--   - a head that does not parse, or a method with a body and no
--     Content-Length: 400; Transfer-Encoding (chunked): 501;
--   - a connection that has not sent a whole request IDLE seconds after
--     its last byte is closed (a slowloris client trickles bytes: it is
--     closed WHOLE seconds after it connected whatever it sends);
--   - beyond CONNS open connections, a new one gets 503 and is closed.
-- Every response closes its connection (Connection: close): the page
-- polls, and a connection per request keeps no idle state in the guest.
local socket = require "socket"

local M = {}
M.HEAD_MAX = 8192       -- bytes of request line and headers
M.BODY_MAX = 64 << 10   -- bytes of a request body
M.CONNS = 64            -- connections open at once
M.IDLE = 10             -- s without a byte before a request is whole
M.WHOLE = 30            -- s from connect to a whole request, at most

local reasons = {[200] = "OK", [204] = "No Content", [400] = "Bad Request",
                 [403] = "Forbidden", [404] = "Not Found", [405] = "Method Not Allowed",
                 [408] = "Request Timeout", [413] = "Content Too Large",
                 [431] = "Request Header Fields Too Large", [500] = "Internal Server Error",
                 [501] = "Not Implemented", [502] = "Bad Gateway", [503] = "Service Unavailable"}

-- Seconds, as a float: LuaSocket's clock on the host, the kernel's in the guest.
local now = socket.gettime or function() return l4.clock() / 1e6 end

-- "a%20b" -> "a b"; "+" is a space in a query or form.
local function unescape(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end
M.unescape = unescape

-- "a=1&b=x%20y" -> {a = "1", b = "x y"}
function M.form(s)
  local t = {}
  for pair in (s or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    t[unescape(k)] = unescape(v)
  end
  return t
end

local Server = {}
Server.__index = Server

-- httpd.new(handler) -> a server (not listening yet).
function M.new(handler)
  return setmetatable({handler = handler, conns = {}, nconns = 0,
                       stats = {connections = 0, open = 0, requests = 0, errors = 0,
                                bad_request = 0, too_large = 0, timed_out = 0,
                                refused = 0, unsupported = 0}}, Server)
end

-- Listens on host:port ("*": every address) -> true; nil, why.
function Server:listen(host, port)
  local s, err = socket.tcp()
  if not s then return nil, err end
  if s.setoption then pcall(s.setoption, s, "reuseaddr", true) end
  local ok
  ok, err = s:bind(host, port)
  if not ok then s:close() return nil, ("bind %s:%s: %s"):format(host, port, err) end
  ok, err = s:listen(32)
  if not ok then s:close() return nil, "listen: " .. tostring(err) end
  s:settimeout(0)
  self.sock = s
  return true
end

function Server:close_conn(c)
  if self.conns[c.sock] then
    self.conns[c.sock] = nil
    self.nconns = self.nconns - 1
    self.stats.open = self.nconns
  end
  c.sock:close()
end

-- Queues a response on c; the connection closes once it is sent.
local function respond(c, status, headers, body)
  body = body or ""
  local out = {("HTTP/1.1 %d %s\r\n"):format(status, reasons[status] or "Status")}
  headers = headers or {}
  if not headers["Content-Type"] then headers["Content-Type"] = "text/plain; charset=utf-8" end
  headers["Content-Length"] = #body
  headers["Connection"] = "close"
  headers["Cache-Control"] = headers["Cache-Control"] or "no-store"
  local names = {}
  for k in pairs(headers) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do out[#out + 1] = ("%s: %s\r\n"):format(k, headers[k]) end
  out[#out + 1] = "\r\n"
  out[#out + 1] = body
  c.out, c.sent, c.status = table.concat(out), 0, status
end

-- A refusal: counted under `kind`, answered with status and a line why.
function Server:refuse(c, kind, status, why)
  self.stats[kind] = self.stats[kind] + 1
  respond(c, status, nil, why .. "\n")
end

-- Parses the head of c.inbuf once it is whole -> the request, or nil
-- (more bytes needed, or refused: c.out is set then).
function Server:parse(c)
  local buf = c.inbuf
  local stop, after = buf:find("\r?\n\r?\n")
  if not stop then
    if #buf > M.HEAD_MAX then self:refuse(c, "too_large", 431, "request head over " .. M.HEAD_MAX .. " bytes") end
    return nil
  end
  if stop > M.HEAD_MAX then
    self:refuse(c, "too_large", 431, "request head over " .. M.HEAD_MAX .. " bytes")
    return nil
  end
  local lines = {}
  for l in (buf:sub(1, stop - 1) .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l:gsub("\r$", "") end
  local method, target, version = (lines[1] or ""):match("^(%u+) (%S+) HTTP/(%d%.%d)$")
  if not method or target:sub(1, 1) ~= "/" then
    self:refuse(c, "bad_request", 400, "not an HTTP request line")
    return nil
  end
  local headers = {}
  for i = 2, #lines do
    local k, v = lines[i]:match("^([%w!#$%%&'*+.^_`|~-]+):[ \t]*(.-)[ \t]*$")
    if not k then
      self:refuse(c, "bad_request", 400, "a header line that does not parse")
      return nil
    end
    headers[k:lower()] = v
  end
  if headers["transfer-encoding"] then
    self:refuse(c, "unsupported", 501, "Transfer-Encoding is not supported: send Content-Length")
    return nil
  end
  local len = 0
  if headers["content-length"] then
    len = headers["content-length"]:match("^%d+$") and math.tointeger(tonumber(headers["content-length"]))
    if not len then
      self:refuse(c, "bad_request", 400, "Content-Length is not a number")
      return nil
    end
  end
  if len > M.BODY_MAX then
    self:refuse(c, "too_large", 413, "request body over " .. M.BODY_MAX .. " bytes")
    return nil
  end
  if #buf - after < len then return nil end
  local path, q = target:match("^([^?]*)%??(.*)$")
  return {method = method, path = unescape(path), query = M.form(q), rawquery = q, version = version,
          headers = headers, body = buf:sub(after + 1, after + len), peer = c.peer}
end

function Server:dispatch(c, req)
  self.stats.requests = self.stats.requests + 1
  local ok, status, headers, body = pcall(self.handler, req)
  if not ok or math.type(status) ~= "integer" then
    self.stats.errors = self.stats.errors + 1
    respond(c, 500, nil, "the handler failed: " .. tostring(ok and "no status" or status) .. "\n")
    return
  end
  respond(c, status, headers, body)
end

function Server:accept()
  while true do
    local s = self.sock:accept()
    if not s then return end
    s:settimeout(0)
    local c = {sock = s, inbuf = "", born = now()}
    c.seen = c.born
    local ok, host, port = pcall(s.getpeername, s)
    c.peer = ok and host and (tostring(host) .. ":" .. tostring(port)) or "?"
    self.stats.connections = self.stats.connections + 1
    self.conns[s] = c
    self.nconns = self.nconns + 1
    self.stats.open = self.nconns
    if self.nconns > M.CONNS then
      self:refuse(c, "refused", 503, "too many connections")
    end
  end
end

function Server:read(c)
  local data, err, partial = c.sock:receive(4096)
  data = data or partial
  if data and #data > 0 then
    c.seen = now()
    c.inbuf = c.inbuf .. data
    local req = self:parse(c)
    if req then self:dispatch(c, req) end
  end
  if err == "closed" and not c.out then self:close_conn(c) end
end

function Server:write(c)
  local last, err, partial = c.sock:send(c.out, c.sent + 1)
  c.sent = last or partial or c.sent
  if c.sent >= #c.out or (err and err ~= "timeout") then self:close_conn(c) end
end

-- One round: waits up to `wait` s for sockets to be ready, serves them,
-- and closes the connections that idled too long. -> true; nil, why when
-- select fails (the network service went away, and every socket with it)
function Server:step(wait)
  local recvt, sendt = {self.sock}, {}
  for s, c in pairs(self.conns) do
    if c.out then sendt[#sendt + 1] = s else recvt[#recvt + 1] = s end
  end
  local readable, writable, err = socket.select(recvt, sendt, wait)
  if err and err ~= "timeout" and #readable == 0 and #writable == 0 then return nil, err end
  for _, s in ipairs(writable or {}) do
    local c = self.conns[s]
    if c and c.out then self:write(c) end
  end
  for _, s in ipairs(readable or {}) do
    if s == self.sock then
      self:accept()
    else
      local c = self.conns[s]
      if c and not c.out then self:read(c) end
    end
  end
  local t = now()
  for _, c in pairs(self.conns) do
    if not c.out and (t - c.seen > M.IDLE or t - c.born > M.WHOLE) then
      self.stats.timed_out = self.stats.timed_out + 1
      self:close_conn(c)
    end
  end
  return true
end

-- The open connections, oldest first -> {{peer = "a.b.c.d:port", age = s
-- since it came, silent = s since its last byte, sending = a response is
-- queued}, ...}: what the limits above act on, for a person or a test to
-- see that none outstays them.
function Server:connections()
  local t, out = now(), {}
  for _, c in pairs(self.conns) do
    out[#out + 1] = {peer = c.peer, age = t - c.born, silent = t - c.seen, sending = c.out ~= nil}
  end
  table.sort(out, function(a, b) return a.age > b.age end)
  return out
end

-- Closes every connection and the listener.
function Server:shutdown()
  for _, c in pairs(self.conns) do self:close_conn(c) end
  if self.sock then self.sock:close() end
  self.sock = nil
end

-- Serves until select fails -> nil, why, every socket closed (listen
-- again to serve on).
function Server:run()
  while true do
    local ok, err = self:step(1)
    if not ok then
      self:shutdown()
      return nil, err
    end
  end
end

return M
