-- A hostile task (cases.lua "devmgr_refusals"): asks the device manager
-- for what is not its own; every refusal is checked.
local l4 = require "l4"
local device = require "device"
local function refused(what, ok, msg, code)
  assert(ok == nil, what .. ": not refused")
  print("hostile: " .. what .. ": " .. tostring(msg))
  return msg
end
-- the disk is held by the driver
refused("claim the disk", device.claim(0x1af4, 0x1001))
-- no device yet: nothing to ask
local manager = assert(require("names").lookup("devices"))
-- the disk's interrupt line: the manager granted it to the driver's task
local list = assert(require("service").call("devices", device.LIST))
local line = assert(tonumber(list:match("1af4:1001 irq (%d+) held")), list)
refused("attach the disk's IRQ " .. line, l4.irq.attach(line))
local from, label, msg = l4.call(manager, device.CONFIG_READ, 0)
assert(from and label == 1 and msg:find("holds no device"), tostring(msg))
-- the IDE controller is free: it takes it
local ide = assert(device.claim(0x8086, 0x7010))
refused("BAR4 of the IDE controller as memory", ide:bar(4))
refused("a BAR it has not", ide:bar(0))
local base, count = assert(ide:ports(4))
assert(base == 0xc080 or base > 0, "ports")
assert(l4.io.holds(base, count), "ports held")
l4.io.inb(base + 7)                                   -- its status register
assert(not pcall(l4.io.inb, 0xcfc), "PCI's data port")
-- config space: reads yes, the BARs and the ROM no
assert(ide:config_read(0) == 0x70108086, "vendor and device")
refused("move BAR4", ide:config_write(0x20, 0xd000))
refused("the ROM", ide:config_write(0x30, 0))
refused("offset out of range", ide:config_read(0x100))
-- DMA: within the budget, then refused
local m = assert(ide:dma(12))
assert(m:phys() > 0 and m:size() == 4096)
assert(m:read64(0) == 0, "zeroed")
m:write64(8, 42)
assert(m:read64(8) == 42)
assert(not pcall(m.read8, m, 4096), "read beyond the end")
assert(not pcall(m.write32, m, 4094, 1), "write across the end")
assert(not pcall(m.read16, m, 1), "misaligned")
refused("DMA of 8 MiB", ide:dma(23))
assert(ide:dma(22)); assert(ide:dma(21)); assert(ide:dma(20))
refused("DMA past the budget", ide:dma(20))
os.exit(0)
