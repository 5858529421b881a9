-- The dashboard's HTTP server on the host, over Debian's LuaSocket, for
-- tests/host/net/test_httpd.py and browser.py:
--   lua5.4 tests/host/net/serve.lua [lua]
-- prints "port N" once it listens on 127.0.0.1 (a free port), then serves.
-- scripts/httpd.lua and dashboard.lua run as they are in the guest; only
-- the provider differs: here a small model of a system (tasks and
-- threads whose CPU time grows with the wall clock, an echo service whose
-- version a reload raises), since the host has no L4ua to read. The
-- figures of a real system are tested in the guest (tests/repl/cases.py
-- sysinfo_*, and the same browser test against a booted system).
-- scripts/ last: its socket.lua is the guest's (over IPC); here LuaSocket's
package.path = package.path .. ";scripts/?.lua"
local socket = require "socket"
local httpd = require "httpd"
local dashboard = require "dashboard"

local lua_on = arg[1] == "lua"
-- the tests shorten the limits they drive (seconds, connections)
httpd.IDLE = tonumber(os.getenv("HTTPD_IDLE")) or httpd.IDLE
httpd.WHOLE = tonumber(os.getenv("HTTPD_WHOLE")) or httpd.WHOLE
httpd.CONNS = tonumber(os.getenv("HTTPD_CONNS")) or httpd.CONNS
local t0 = socket.gettime()
local echo = {name = "echo", version = "1", requests = 0, errors = 0, reloads = 0, restarts = 0,
              state = "running"}
local provider = {}
function provider.snapshot()
  local ms = math.floor((socket.gettime() - t0) * 1000)
  echo.requests = echo.requests + 1
  return {
    uptime_ms = ms,
    tasks = {{task = 3, name = "console", state = "running", pages = 40, heap = 200000, memcap = 8 << 20},
             {task = 7, name = "echo", state = "running", pages = 20, heap = 90000, memcap = 4 << 20}},
    threads = {{task = 3, name = "console", id = "3.0.0001", state = "receive", prio = 200, cpu_ms = ms // 50},
               {task = 7, name = "echo", id = "7.0.0001", state = "receive", prio = 100, cpu_ms = ms // 100}},
    services = {echo},
    memory = {["pool KiB"] = 4096, ["pool free KiB"] = 1024},
    irqs = {{line = 4, owner = "3.0.0001", task = "console", count = ms // 10}},
    klog = "kernel: booted\n", conlog = "> 6 * 7\n42\n",
    lua_enabled = lua_on,
  }
end
function provider.reload(name)
  if name ~= "echo" then return nil, "no service " .. name end
  echo.version = tostring(tonumber(echo.version) + 1)
  echo.reloads = echo.reloads + 1
  return echo.version
end
function provider.lua(line)
  if not lua_on then return nil, "running Lua from the dashboard is off", true end
  local env = setmetatable({}, {__index = _G})
  local f, err = load("return " .. line, "=dashboard", "t", env)
  if not f then f, err = load(line, "=dashboard", "t", env) end
  if not f then return nil, err end
  local ok, v = pcall(f)
  if not ok then return nil, tostring(v) end
  return tostring(v)
end

-- a service that serves HTTP (/app/hello/...), and none other
function provider.app(name, method, path, query, body)
  if name ~= "hello" then return nil, "no service named " .. name end
  return 200, "text/plain", ("%s %s ?%s [%s]"):format(method, path, query, body)
end

local srv = httpd.new(function() end)
srv.handler = dashboard.app(provider, srv)
assert(srv:listen("127.0.0.1", 0))
local _, port = srv.sock:getsockname()
print("port " .. port)
io.stdout:flush()
srv:run()
