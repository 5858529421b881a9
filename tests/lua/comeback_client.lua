-- The client task of tests/lua/comeback.lua: it was given no name service
-- and no ids but the test's; it finds "cb-echo" by name (service.call:
-- the name service as the root says it is, l4.sys.where) and calls it
-- without pause, each call with a sequence number the reply must echo.
-- Between two calls it waits 1 ms for the test (thread `test`):
--   STATS -> 0, calls, misses, calls answered since the last miss, the last miss
--   READ  s path -> 0, s the file's bytes (io.open) | 1, s why
--   WRITE s path, s bytes -> 0 | 1, s why
local test = l4.id((...))
local service = require "service"
local STATS, READ, WRITE = 1, 2, 3
local calls, misses, since, last_miss = 0, 0, 0, ""
while true do
  calls = calls + 1
  local n, seq = service.call({"cb-echo", timeout = 500}, 1, calls)
  if seq == calls then
    since = since + 1
  else
    misses, since = misses + 1, 0
    last_miss = ("call %d: %s"):format(calls, tostring(seq))
  end
  local who, what, a, b = l4.receive(test, 1)
  if who and what == STATS then
    l4.reply(who, 0, calls, misses, since, last_miss)
  elseif who and what == READ then
    local f, why = io.open(a, "rb")
    local data = f and f:read("a")
    if f then f:close() end
    if data then l4.reply(who, 0, data) else l4.reply(who, 1, tostring(why)) end
  elseif who and what == WRITE then
    local f, why = io.open(a, "wb")
    local ok, err = f and f:write(b), why
    if f then ok, err = f:close() end
    if ok then l4.reply(who, 0) else l4.reply(who, 1, tostring(err)) end
  end
end
