-- device.lua: a driver's side of the device manager (devmgr.lua; docs/
-- drivers.md "The device manager"), for a driver in a Lua task of its own:
--
--   local device = require "device"
--   local dev = assert(device.claim(0x1af4, 0x1001))   -- vendor, device, [n]
--   dev.bus, dev.dev, dev.fn, dev.irq, dev.bars        -- what the manager said
--   dev:config_read(off)          -> dword | nil, message, code
--   dev:config_write(off, value)  -> true  | nil, message, code
--   dev:bar(index)                -> an l4.mem of the BAR (device memory,
--                                    uncached) | nil, message, code
--   dev:ports(index)              -> base, count: the BAR's ports, now held
--   dev:dma(log2)                 -> an l4.mem of 2^log2 bytes of zeroed RAM;
--                                    m:phys() is the address a device uses
--   dev:release()                 -> true: the function reset, given back
--   device.vga([manager])         -> the legacy VGA text screen: an l4.mem of
--                                    its page at 0xB8000 (device memory), and
--                                    the CRT controller's ports 0x3D4-0x3D5,
--                                    now held; one task at a time; and true
--                                    if a task of this name held it before
--
-- Expected failures (the manager refused, or is gone) return nil, message,
-- code: the manager's refusal has code 101 (service.E_HANDLER).
local l4 = require "l4"

local M = {}
-- The manager's labels (devmgr.lua says what each carries).
M.CLAIM, M.CONFIG_READ, M.CONFIG_WRITE, M.BAR, M.PORTS, M.DMA, M.RELEASE, M.LIST =
  1, 2, 3, 4, 5, 6, 7, 8
M.VGA_TEXT, M.VGA_PORTS = 9, 10
M.NAME = "devices"                  -- the manager's name in the name service
M.E_REFUSED = 101

local Device = {}
Device.__index = Device

-- One request: the reply's values after the label, or nil, message, code.
local function call(manager, opts, label, ...)
  local r = table.pack(l4.call(manager, opts, label, ...))
  if r[1] == nil then return nil, "device manager: " .. tostring(r[2]), r[3] end
  if r[2] == 0 then return table.unpack(r, 3, r.n) end
  return nil, tostring(r[3] or "refused"), M.E_REFUSED
end

local NOOPTS = {}

-- A request that brings a mapping of 2^k bytes: it lands in address space
-- reserved for it here (its window, for this call only).
local function mapping(self, k, label, ...)
  local base, err, code = l4.mem.reserve(k)
  if not base then return nil, err, code end
  local r = table.pack(call(self.manager, {window = l4.fpage(base, k)}, label, ...))
  return table.unpack(r, 1, r.n)
end

local function manager_id(manager)
  if manager then return manager end
  local id, err, code = require("names").lookup(M.NAME)
  if not id then return nil, "device manager: " .. tostring(err), code end
  return id
end

-- device.claim(vendor, device, [n], [manager]) -> a device: the n-th
-- (from 0) function vendor:device, which no other task holds.
function M.claim(vendor, devid, n, manager)
  local err, code
  manager, err, code = manager_id(manager)
  if not manager then return nil, err, code end
  local desc, err, code = call(manager, NOOPTS, M.CLAIM, vendor, devid, n or 0)
  if not desc then return nil, err, code end
  local d = require("service").decode(desc)
  d.manager = manager
  return setmetatable(d, Device)
end

function Device:config_read(off)
  return call(self.manager, NOOPTS, M.CONFIG_READ, off)
end

function Device:config_write(off, value)
  local ok, err, code = call(self.manager, NOOPTS, M.CONFIG_WRITE, off, value)
  if not ok then return nil, err, code end
  return true
end

local function bar_info(self, index)
  for _, b in ipairs(self.bars) do
    if b.index == index then return b end
  end
end

function Device:bar(index)
  local b = bar_info(self, index)
  if not b then return nil, ("no BAR%s"):format(tostring(index)), M.E_REFUSED end
  local k = 12
  while (1 << k) < b.size do k = k + 1 end
  local phys, size, fp = mapping(self, k, M.BAR, index)
  if not phys then return nil, size, fp end
  local m = l4.mem.adopt(fp, phys & ~((1 << k) - 1), "device")
  return m, phys - m:phys(), size
end

function Device:ports(index)
  local base, count, fp = mapping(self, 12, M.PORTS, index)
  if not base then return nil, count, fp end
  return base, count
end

function Device:dma(k)
  local phys, fp, code = mapping(self, k, M.DMA, k)
  if not phys then return nil, fp, code end
  return l4.mem.adopt(fp, phys, "ram")
end

function Device:release()
  local ok, err, code = call(self.manager, NOOPTS, M.RELEASE)
  if not ok then return nil, err, code end
  return true
end

-- device.vga([manager]) -> mem, again: the text screen's page (80x25 cells
-- of two bytes from offset 0), the CRTC's ports held, and whether a task
-- of this name held them before (a restart); or nil, message, code
function M.vga(manager)
  local err, code
  manager, err, code = manager_id(manager)
  if not manager then return nil, err, code end
  local self = {manager = manager}
  local phys, again, fp = mapping(self, 12, M.VGA_TEXT)
  if not phys then return nil, again, fp end
  local m = l4.mem.adopt(fp, phys, "device")
  local base, count
  base, count, code = mapping(self, 12, M.VGA_PORTS)
  if not base then return nil, count, code end
  return m, again == 1
end

return M
