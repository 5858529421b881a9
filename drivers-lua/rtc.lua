-- The CMOS real-time clock: port 0x70 selects a register (bit 7 would
-- mask NMIs: kept clear), port 0x71 reads it. Registers: 0x00 seconds,
-- 0x02 minutes, 0x04 hours (bit 7: PM in 12-hour mode), 0x07 day, 0x08
-- month, 0x09 year in the century, 0x32 century (ACPI's; PCs and QEMU
-- have it); status A bit 7: an update is in progress; status B bit 1:
-- 24-hour mode, bit 2: binary (else BCD). The RTC is taken to hold UTC
-- (QEMU's default), as runtime/lua/clock.c does for os.time.
--
-- Ports: the root task's runtime takes 0x70-0x71 from sigma0 at start
-- (clock.c) without telling the bindings' record, so l4.io.request finds
-- them taken there; rtc.lua works in a task that holds them in the
-- record (requested, or received in a message).
local l4 = require "l4"

local M = {}

local INDEX, DATA = 0x70, 0x71
M.PORTS = {{INDEX, 2}}

local function claim()
  if l4.io.holds(INDEX, 2) then return true end
  local ok, msg, code = l4.io.request(INDEX, 1)
  if not ok then return nil, "rtc: ports 0x70-0x71: " .. msg, code end
  return true
end

local function cmos(reg)
  l4.io.outb(INDEX, reg)
  return l4.io.inb(DATA)
end

-- One snapshot of the registers, taken outside an update cycle.
local function snapshot()
  for _ = 1, 1000000 do
    if cmos(0x0a) & 0x80 == 0 then break end
  end
  return {cmos(0x00), cmos(0x02), cmos(0x04), cmos(0x07), cmos(0x08), cmos(0x09),
          cmos(0x32)}
end

local function same(a, b)
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

local function bcd(v) return (v >> 4) * 10 + (v & 15) end

-- rtc.now() -> {year, month, day, hour, min, sec} (UTC), or nil, message, code
function M.now()
  local ok, msg, code = claim()
  if not ok then return nil, msg, code end
  local a, b = nil, snapshot()
  repeat                    -- two equal snapshots: no update came between reads
    a, b = b, snapshot()
  until same(a, b)
  local regb = cmos(0x0b)
  local sec, min, hour, day, month, year, century = table.unpack(b)
  local pm = hour & 0x80 ~= 0
  hour = hour & 0x7f
  if regb & 0x04 == 0 then
    sec, min, hour, day, month, year, century =
      bcd(sec), bcd(min), bcd(hour), bcd(day), bcd(month), bcd(year), bcd(century)
  end
  if regb & 0x02 == 0 then hour = hour % 12 + (pm and 12 or 0) end   -- 12 AM is 0
  if century < 19 or century > 30 then century = 20 end
  return {year = century * 100 + year, month = month, day = day, hour = hour, min = min,
          sec = sec}
end

-- Days from 1970-01-01 to a date of the proleptic Gregorian calendar
-- (the count of days in whole 400-year eras plus the rest, with years
-- starting in March so the leap day comes last).
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = (153 * mp + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end
M.days_from_civil = days_from_civil

-- rtc.epoch(t) -> seconds since 1970 of a UTC date table
function M.epoch(t)
  return ((days_from_civil(t.year, t.month, t.day) * 24 + t.hour) * 60 + t.min) * 60 + t.sec
end

-- rtc.time() -> seconds since 1970 (UTC), or nil, message, code
function M.time()
  local t, msg, code = M.now()
  if not t then return nil, msg, code end
  return M.epoch(t)
end

return M
