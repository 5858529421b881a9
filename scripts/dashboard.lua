-- The dashboard (docs/network.md "The dashboard"): what the HTTP server
-- (httpd.lua) answers. The figures come from a provider; in the guest it
-- is the root's sysinfo service (scripts/sysinfo.lua), asked over IPC,
-- since only the root task may read the kernel's thread list and reload
-- services; this task only speaks HTTP.
--
--   GET  /             the page (dashboard_page.lua): it polls /api/state
--   GET  /api/state    the system now, as JSON (sysinfo.snapshot), with
--                      this server's own counts under "httpd"; with
--                      ?conns=1 its open connections too ("httpd_conns")
--   POST /api/reload   body or query name=<service>: reload it from its
--                      script -> {"ok":true,"version":...} or 4xx/5xx
--   POST /api/lua      body: one line of Lua, run in the root -> {"ok",
--                      "output"}; 403 unless enabled in init.lua
--                      (sysinfo.allow_lua), since it gives whoever can
--                      reach the port the root task's power
--   any  /app/NAME/... a page of the service NAME, if it serves HTTP: it
--                      is asked with label M.HTTP (below) and answers it
--
-- provider: {snapshot() -> table; reload(name) -> version | nil, why;
-- lua(line) -> output | nil, why, refused (true: not enabled);
-- app(name, method, path, query, body) -> status, content type, body |
-- nil, why}.
local httpd = require "httpd"
local json = require "json"

local M = {}

-- The label a service's HTTP handler answers (docs/network.md "Pages of
-- your own"): [M.HTTP] = function(state, from, method, path, query, body)
-- -> status (an integer), content type, body. "HTTP" in ASCII; a service
-- without such a handler is not reachable this way.
M.HTTP = 0x48545450

local JSON = {["Content-Type"] = "application/json"}

local function reply(status, t)
  return status, {["Content-Type"] = "application/json"}, json.encode(t)
end

-- dashboard.app(provider, [server]) -> the handler for httpd.new. server:
-- the httpd whose stats the state shows.
function M.app(provider, server)
  local page = require "dashboard_page"
  return function(req)
    local path, method = req.path, req.method
    if path == "/" or path == "/index.html" then
      if method ~= "GET" and method ~= "HEAD" then return reply(405, {error = "GET only"}) end
      return 200, {["Content-Type"] = "text/html; charset=utf-8"}, method == "GET" and page or ""
    elseif path == "/api/state" then
      if method ~= "GET" then return reply(405, {error = "GET only"}) end
      local st, why = provider.snapshot()
      if not st then return reply(502, {error = tostring(why)}) end
      st.httpd = server and server.stats or nil
      if server and req.query.conns then st.httpd_conns = server:connections() end
      return 200, JSON, json.encode(st)
    elseif path == "/api/reload" then
      if method ~= "POST" then return reply(405, {error = "POST only"}) end
      local name = req.query.name or httpd.form(req.body).name
      if not name or not name:match("^[%w_.%-]+$") then
        return reply(400, {error = "name=<service> wanted"})
      end
      local v, why = provider.reload(name)
      if not v then return reply(409, {error = ("reload %s: %s"):format(name, tostring(why))}) end
      return reply(200, {ok = true, name = name, version = tostring(v)})
    elseif path == "/api/lua" then
      if method ~= "POST" then return reply(405, {error = "POST only"}) end
      local out, why, refused = provider.lua(req.body)
      if refused then return reply(403, {error = why}) end
      if not out then return reply(200, {ok = false, error = tostring(why)}) end
      return reply(200, {ok = true, output = out})
    elseif path:match("^/app/") then
      local name, rest = path:match("^/app/([%w_.%-]+)(/?.*)$")
      if not name or not provider.app then return reply(404, {error = "/app/<service>/... wanted"}) end
      local status, ctype, body = provider.app(name, method, rest == "" and "/" or rest,
                                               req.rawquery or "", req.body or "")
      if math.type(status) ~= "integer" or status < 100 or status > 599 then
        -- the service is not there, did not answer in time, failed, or
        -- answered no status: its error says which
        return reply(502, {error = ("%s: %s"):format(name, tostring(ctype or "no status"))})
      end
      return status, {["Content-Type"] = type(ctype) == "string" and ctype ~= "" and ctype
                        or "text/html; charset=utf-8"}, tostring(body or "")
    end
    return reply(404, {error = "no such page: " .. path})
  end
end

-- In the guest: the provider is the sysinfo service.
local function sysinfo_provider()
  local service = require "service"
  local S = require "sysinfo"
  local function call(...)
    local r = table.pack(service.call({"sysinfo", timeout = 5000}, ...))
    return table.unpack(r, 1, r.n)
  end
  return {
    snapshot = function()
      local text, why = call(S.SNAPSHOT)
      if not text then return nil, why end
      return service.decode(text)
    end,
    reload = function(name)
      local gen, v = call(S.RELOAD_SERVICE, name)   -- numbers come before strings
      if not gen then return nil, v end
      return v
    end,
    lua = function(line)
      local status, text = call(S.LUA, line)
      if status == "ok" then return text end
      if status == "off" then return nil, text, true end
      return nil, text          -- "error", or the service did not answer
    end,
    -- asked by this task itself, not through sysinfo: a service's page
    -- needs no right of the root. 2 s at most: this one thread serves
    -- every connection meanwhile.
    app = function(name, method, path, query, body)
      return service.call({name, timeout = 2000}, M.HTTP, method, path, query, body)
    end,
  }
end

-- The task's body: serves the dashboard on `port` for ever, listening
-- again when the network service went away and came back (`kill net`).
function M.main(port)
  local srv = httpd.new(function() end)
  srv.handler = M.app(sysinfo_provider(), srv)
  while true do
    -- while the network service restarts it answers "closed": wait for
    -- it; the listener of a server killed just before holds the port
    -- until the service's sweep (a second) closes the dead task's sockets
    local ok, err = srv:listen("*", port or 80)
    local until_ms = l4.clock() // 1000 + 5000
    while not ok and (tostring(err):match("closed$")
                      or (tostring(err):match("address already in use$")
                          and l4.clock() // 1000 < until_ms)) do
      l4.sleep(200)
      ok, err = srv:listen("*", port or 80)
    end
    assert(ok, err)
    srv:run()
    l4.sleep(200)
  end
end

return M
