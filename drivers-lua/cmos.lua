-- cmos.lua: the CMOS clock and its registers as a service in a task of its
-- own (docs/tutorial-driver.md builds it step by step). The task is given
-- exactly the two ports of the device at its spawn (io = {{0x70, 2}});
-- everything else of the machine stays out of its reach. Requests:
--
--   TIME  (1)              -> year, month, day, hour, min, sec (UTC)
--   READ  (2) reg          -> the byte of register reg (0x00-0x7f)
--   EPOCH (3)              -> seconds since 1970 (UTC)
--
-- A bad register is an error of that request alone ("cmos: register 200
-- out of range 0-127"); the service goes on.
local l4 = require "l4"
local rtc = require "rtc"

local TIME, READ, EPOCH = 1, 2, 3
local INDEX, DATA = 0x70, 0x71

-- Register reg: select it at the index port (bit 7 clear: NMIs stay
-- enabled), read it at the data port.
local function register(reg)
  if math.type(reg) ~= "integer" or reg < 0 or reg > 0x7f then
    error(("cmos: register %s out of range 0-127"):format(tostring(reg)), 0)
  end
  l4.io.outb(INDEX, reg)
  return l4.io.inb(DATA)
end

return {
  name = "cmos",
  version = 1,

  -- first start only: the ports must be this task's (spawn's io)
  init = function(state)
    assert(l4.io.holds(INDEX, 2), "cmos: this task was not given ports 0x70-0x71")
    state.reads = 0
  end,

  handlers = {
    [TIME] = function(state)
      local t = assert(rtc.now())
      state.reads = state.reads + 1
      return t.year, t.month, t.day, t.hour, t.min, t.sec
    end,
    [READ] = function(state, from, reg)
      state.reads = state.reads + 1
      return register(reg)
    end,
    [EPOCH] = function(state)
      state.reads = state.reads + 1
      return assert(rtc.time())
    end,
  },
}
