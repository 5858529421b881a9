-- The device memory rows of make bench (tests/bench/blk/init.lua spawns
-- this task): a driver's accesses from Lua through its l4.mem handles
-- (bindings/mem.c), in a task of its own that claimed QEMU's standard
-- VGA function from the device manager as a driver claims its device:
--   mmio_read32_lua   m:read32(off) of a register of its 4 KiB MMIO BAR
--                     (BAR2, the Bochs display registers: reading has no
--                     side effect), per read: the Lua call, the binding's
--                     checks, the uncached load (QEMU's device model runs
--                     outside the guest: not counted)
--   mem_read_kib_lua  m:read(off, 1024) of its DMA memory (RAM: memcpy
--                     into a new string), per KiB
--   mmio_read_kib_lua m:read(off, 1024) of the BAR, per KiB: device
--                     memory is read one byte access at a time (a
--                     register may count its reads)
-- The loop's own cost (a call of a Lua function doing nothing) is
-- printed on a line of its own, not taken off. Prints "bench <name> <n>".
local l4 = require "l4"
local device = require "device"
local rdtsc = l4.debug.rdtsc

local vga = assert(device.claim(0x1234, 0x1111))
local bar
for _, b in ipairs(vga.bars) do
  if b.kind ~= "io" and b.size == 4096 then bar = b end
end
assert(bar, "the VGA function has no 4 KiB memory BAR")
local m, off = assert(vga:bar(bar.index))
local REG = off + 0x500                 -- the Bochs display's ID register
assert(m:read32(REG) & 0xfff0 == 0xb0c0, ("BAR%d+0x500: 0x%x, not a Bochs ID"):format(
  bar.index, m:read32(REG)))
local dma = assert(vga:dma(12))
dma:fill(0, 4096, 0x5a)

local function per(n, fn)
  fn(n // 10)                           -- warm
  local t0 = rdtsc()
  fn(n)
  return (rdtsc() - t0) // n
end

local nothing = function() end
local loop = per(20000, function(n) for _ = 1, n do nothing(m, REG) end end)
local r32 = per(20000, function(n)
  for _ = 1, n do m:read32(REG) end
end)
local ram = per(2000, function(n)
  for _ = 1, n do dma:read(1024, 1024) end
end)
local dev = per(200, function(n)
  for _ = 1, n do m:read(off, 1024) end
end)
assert(dma:read(1024, 1024) == ("Z"):rep(1024))
print(("bench mmio_read32_lua %d"):format(r32))
print(("bench mem_read_kib_lua %d"):format(ram))
print(("bench mmio_read_kib_lua %d"):format(dev))
print(("  (mmio_read32_lua: of which the loop and a call of a Lua function that does nothing %d)")
      :format(loop))
os.exit(0)
