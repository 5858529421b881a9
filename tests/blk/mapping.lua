-- A driver's view of its mappings (cases.lua "devmgr_bar_uncached"):
-- the page table entry of a memory BAR the device manager mapped into
-- this task is uncached, its DMA memory write-back (the test kernel's
-- l4.debug.mapping reads the task's own entry; docs/drivers.md "Device
-- memory is uncached"). QEMU's standard VGA function is free here (no
-- console drives it in this boot): its smallest memory BAR.
local l4 = require "l4"
local device = require "device"
local vga = assert(device.claim(0x1234, 0x1111))
local bar
for _, b in ipairs(vga.bars) do
  if b.kind ~= "io" and (not bar or b.size < bar.size) then bar = b end
end
assert(bar, "the VGA function has no memory BAR")
local m, off, size = assert(vga:bar(bar.index))
local rights, kind, pat = assert(l4.debug.mapping(m:base() + off))
print(("mapping: BAR%d, %d bytes at 0x%x: %s, %s (PAT index %d)"):format(
  bar.index, size, m:phys() + off, rights, kind, pat))
assert(rights == "rw", "the BAR is not mapped read-write: " .. rights)
assert(kind == "uncached-minus" or kind == "uncached", "the BAR is mapped " .. kind)
-- its last page too (a BAR of several pages is mapped whole)
local last = select(2, assert(l4.debug.mapping(m:base() + off + size - 1)))
assert(last == kind, "the BAR's last page is " .. last)
local dma = assert(vga:dma(12))
rights, kind, pat = assert(l4.debug.mapping(dma:base()))
print(("mapping: DMA page at 0x%x: %s, %s (PAT index %d)"):format(dma:phys(), rights, kind, pat))
assert(rights == "rw" and kind == "write-back", "DMA memory mapped " .. rights .. " " .. kind)
-- nothing at 0: an error, not a value
local none, msg = l4.debug.mapping(0)
assert(none == nil and msg:find("nothing mapped"), tostring(msg))
os.exit(0)
