-- The REPL over TCP (docs/network.md "The REPL over TCP"): telnet, nc or
-- `tools/l4ua console --tcp` reach the same REPL as the serial line, with
-- its line editing, history, Ctrl-C and commands, several at once.
--
-- Nothing here is a second REPL: each connection gets what COM2 has, a
-- console server (console_server.lua) and the push agent on it
-- (push_agent.lua, in "repl" mode: a prompt at once; Ctrl-] leaves it for
-- tools/l4ua's checked frames, `push --tcp`). Only the line differs: the
-- server's backend writes to the socket, and a pump thread reads the
-- socket and hands the bytes to the server (console.INPUT), since a
-- socket is no interrupt line. All are threads of the root task: the
-- REPL needs the root's rights, and the accepted socket is the root's
-- (net.lua: a socket belongs to its task), which its threads share by
-- handle (getfd, socket.adopt).
--
-- Roles (the first argument):
--   "listen", port, max   the listener: a root thread under the
--                         supervisor ("telnet"); at most `max` sessions
--   "server", fd          a connection's console server
--   "pump", fd, server, agent   reads the connection; when it ends: ends
--                         the agent, tells the server (HANGUP), closes it
--
-- Telnet: the server says WILL ECHO and WILL SUPPRESS-GO-AHEAD, so a
-- telnet client sends each key as typed and echoes nothing (the line
-- editor draws the line); the pump drops telnet's commands from the
-- input (IAC IP, telnet's Ctrl-C, becomes byte 3). nc shows those six
-- bytes once and works as is.
local role = ...
local socket = require "socket"
local console = require "console"

local IAC, WILL, WONT, DO, DONT, SB, SE, IP = 255, 251, 252, 253, 254, 250, 240, 244
local MAX_RESTARTS = 20         -- a session's REPL started again at most this often
local ECHO, SGA = 1, 3

-- The connection `fd` (getfd) of this task as a socket object of this
-- thread's Lua state: the threads of a task share its sockets.
local function adopt(fd)
  return socket.adopt(fd)
end

-- Drops telnet's commands from bytes that arrived. state carries a
-- command cut between two reads. -> the plain bytes
local function untelnet(st, data)
  if not data:find("\255", 1, true) and not st.cut then return data end
  data = (st.cut or "") .. data
  st.cut = nil
  local out, i, n = {}, 1, #data
  while i <= n do
    local j = data:find("\255", i, true)
    if not j then out[#out + 1] = data:sub(i) break end
    out[#out + 1] = data:sub(i, j - 1)
    local c = data:byte(j + 1)
    if not c then st.cut = data:sub(j) break end
    if c == IAC then out[#out + 1] = "\255"; i = j + 2
    elseif c == IP then out[#out + 1] = "\3"; i = j + 2
    elseif c == WILL or c == WONT or c == DO or c == DONT then
      if j + 2 > n then st.cut = data:sub(j) break end
      i = j + 3
    elseif c == SB then
      local e = data:find("\255\240", j + 2, true)
      if not e then
        if n - j > 256 then i = n + 1 else st.cut = data:sub(j) end   -- a runaway subnegotiation
        break
      end
      i = e + 2
    else
      i = j + 2
    end
  end
  return table.concat(out)
end

local function server(fd)
  local sock = adopt(fd)
  sock:settimeout(5)            -- a client that reads nothing stalls its own session only
  sock:send(string.char(IAC, WILL, ECHO, IAC, WILL, SGA))
  local backend = {}
  function backend.write(_, s) sock:send(s) end
  local ok, peer, port = pcall(sock.getpeername, sock)
  require("console_server").serve(backend, {name = ok and peer and ("tcp:%s:%s"):format(peer, port) or "tcp"})
end

local function pump(fd, server_raw, agent_raw)
  local sock = adopt(fd)
  local srv, agent = l4.id(server_raw), l4.id(agent_raw)
  local st = {}
  while true do
    local r, _, err = socket.select({sock}, nil)
    -- no timeout: a failure means the connection is gone (the network
    -- service went away, and its sockets with it)
    if #r == 0 and err then break end
    if #r > 0 then
      sock:settimeout(0)
      local data, err, partial = sock:receive(4096)
      data = data or partial
      if data and #data > 0 then
        data = untelnet(st, data)
        if #data > 0 and not l4.call(srv, {timeout = 5000}, console.INPUT, data) then break end
      end
      if err == "closed" then break end
    end
  end
  l4.thread.kill(agent)
  l4.call(srv, {timeout = 1000}, console.HANGUP)
  sock:close()
end

-- The listening socket on port, once the network service answers (one
-- restarting answers "closed": this thread is supervised, and waiting for
-- the network is all it can do). Its handle is kept in the root's store.
local function open(port, key)
  local lsock, err = socket.bind("*", port)
  while not lsock and err == "closed" do
    l4.sleep(200)
    lsock, err = socket.bind("*", port)
  end
  assert(lsock, err)
  l4.sys.store_put(key, tostring(lsock:getfd()))
  lsock:settimeout(0.2)         -- a failed session's REPL is started again within this
  return lsock
end

-- The listener: accepts, starts a session's threads, starts a session's
-- REPL again when it failed, and ends the threads of sessions that are
-- over (a pump whose line closed ends them itself; an agent that ended,
-- `os.exit` at its REPL, has its line closed here within 0.2 s).
local function listen(port, max)
  port, max = port or 23, max or 8
  -- The listening socket is the root task's, which never dies: a listener
  -- killed (`kill telnet`) leaves it open in the network service while a
  -- session's threads use the root's sockets (net.lua). Its handle is in
  -- the root's store; the next listener closes it first (a restarted
  -- network service knows it no more: "closed", nothing to do).
  local key = ("telnet/%d"):format(port)
  local old = math.tointeger(tonumber((l4.sys.store_get(key))))
  if old then socket.adopt(old):close() end
  local lsock = open(port, key)
  -- nothing printed: the console is a person's (and doctest's), and
  -- `services` shows the listener running
  local sessions = {}
  local function alive(id) return id and l4.thread.status(id) == "running" end
  local function over(s)
    for _, id in ipairs{s.pump, s.agent} do if alive(id) then l4.thread.kill(id) end end
    if alive(s.server) then l4.call(s.server, {timeout = 1000}, console.HANGUP) end
    if s.sock then s.sock:close() end
  end
  local function agent(server)
    return l4.thread.create{script = "push_agent.lua", args = {server.raw, "repl"},
                            prio = 100, memcap = 64 << 20}
  end
  while true do
    local c, err = lsock:accept()
    if not c and (err == "closed" or tostring(err):match("^no such socket")) then
      -- the network service went away (`kill net`), its sockets with it:
      -- listen again on its successor (the sessions' pumps end theirs)
      lsock:close()
      l4.sleep(200)
      lsock = open(port, key)
    end
    for i = #sessions, 1, -1 do
      local s = sessions[i]
      -- a session's REPL that failed (a fault typed at it) or was killed,
      -- on a line still open: a new one on the same server, which keeps
      -- the history (docs/recovery.md); one that ended (os.exit) ends it
      local st = l4.thread.status(s.agent)
      if (st == "failed" or st == "killed") and alive(s.pump) and alive(s.server)
         and (s.restarts or 0) < MAX_RESTARTS then
        s.restarts = (s.restarts or 0) + 1
        s.agent = agent(s.server) or s.agent
      end
      if not (alive(s.pump) and alive(s.agent) and alive(s.server)) then
        over(s)
        table.remove(sessions, i)
      end
    end
    if c and #sessions >= max then
      c:send(("L4ua: %d sessions are open, the most there may be; try again later\r\n"):format(max))
      c:close()
    elseif c then
      local s = {sock = c}
      local fd = c:getfd()
      local err
      s.server, err = l4.thread.create{script = "tcp_console.lua", args = {"server", fd},
                                       prio = 200, memcap = 8 << 20}
      if s.server then
        -- the server answers once it serves; the agent opens it then
        l4.call(s.server, {timeout = 5000}, console.INFO)
        s.agent, err = agent(s.server)
      end
      if s.agent then
        s.pump, err = l4.thread.create{script = "tcp_console.lua",
                                       args = {"pump", fd, s.server.raw, s.agent.raw},
                                       prio = 200, memcap = 2 << 20}
      end
      if s.pump then
        sessions[#sessions + 1] = s
      else
        print("telnet: cannot start a session: " .. tostring(err))
        over(s)
      end
    end
  end
end

if role == "server" then server(select(2, ...))
elseif role == "pump" then pump(select(2, ...))
else listen(select(2, ...)) end
