-- The HTTP server of the bench's http_requests (tests/bench/net/init.lua
-- spawns it): a task of its own, as the dashboard's server is, running
-- scripts/httpd.lua on port 80 with a small handler: GET /hello?name=x
-- answers "hello x, request n\n". The runner checks every answer.
local httpd = require "httpd"

local n = 0
local srv = httpd.new(function(req)
  if req.path ~= "/hello" then return 404, nil, "no such page\n" end
  n = n + 1
  return 200, {["Content-Type"] = "text/plain"},
         ("hello %s, request %d\n"):format(req.query.name or "you", n)
end)
assert(srv:listen("*", 80))
assert(srv:run())
