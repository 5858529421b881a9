-- Output through a console server that does not answer
-- (runtime/lua/console.c): the first write waits its one-second timeout
-- and goes to the kernel's log instead; the output of the next 5 s goes
-- there at once; nothing is lost. Times are guest time (l4.clock, us).
-- Returns the cases, {name, function}; init.lua runs them.
local l4 = require "l4"

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

case("console_dead_server_falls_back_to_the_kernel", function()
  -- a "server" that takes one message and never answers it
  local dead = assert(l4.thread.create{code = "l4.receive() l4.sleep()"})
  local _, pos = l4.sys.klog()
  assert(l4.sys.set_console(dead, "thread"))
  local ok, err = pcall(function()
    local t0 = l4.clock()
    io.write("console-fallback-one\n"); io.stdout:flush()
    local t1 = l4.clock()
    io.write("console-fallback-two\n"); io.stdout:flush()
    local t2 = l4.clock()
    assert(t1 - t0 >= 900000, ("the first write waited %d us, not its timeout"):format(t1 - t0))
    assert(t2 - t1 < 100000, ("the second write waited %d us"):format(t2 - t1))
  end)
  l4.sys.set_console(nil, "thread")
  assert(ok, err)
  local text = l4.sys.klog(pos)
  assert(text:find("console-fallback-one\n", 1, true), "the first line is in the kernel's log")
  assert(text:find("console-fallback-two\n", 1, true), "the second line is in the kernel's log")
  l4.thread.kill(dead)
end)

return cases
