-- PCI configuration space through configuration mechanism #1: a 32-bit
-- address written to port 0xCF8 selects bus, device, function and a
-- register (dword aligned); port 0xCFC then reads or writes that dword.
-- The address is 0x80000000 | bus << 16 | dev << 11 | fn << 8 | offset.
-- The module takes ports 0xCF8-0xCFF from sigma0 at its first access
-- (ports go out once per system: the task that loads this module first
-- owns the configuration space). docs/drivers.md has the whole API.
local l4 = require "l4"

local M = {}

local ADDR, DATA = 0xcf8, 0xcfc

-- Takes the ports unless held -> true, or nil, message, code (another
-- task has them).
local function claim()
  if l4.io.holds(ADDR, 8) then return true end
  local ok, msg, code = l4.io.request(ADDR, 3)
  -- "taken" may be a sibling thread of this task that asked sigma0 just
  -- before and has not noted them yet (the record is the task's): wait
  -- for its note a little before saying another task holds them
  for _ = 1, 20 do
    if ok or code ~= 3 then break end
    l4.sleep(1)
    ok = l4.io.holds(ADDR, 8)
  end
  if not ok then return nil, "pci: ports 0xcf8-0xcff: " .. msg, code end
  return true
end

local function address(bus, dev, fn, off)
  if math.type(bus) ~= "integer" or bus < 0 or bus > 255
      or math.type(dev) ~= "integer" or dev < 0 or dev > 31
      or math.type(fn) ~= "integer" or fn < 0 or fn > 7
      or math.type(off) ~= "integer" or off < 0 or off > 0xfc or off % 4 ~= 0 then
    error(("pci: bad address %s:%s.%s offset %s (bus 0-255, dev 0-31, fn 0-7, "
           .. "offset 0-0xfc, a multiple of 4)"):format(bus, dev, fn, off), 3)
  end
  return 0x80000000 | bus << 16 | dev << 11 | fn << 8 | off
end

-- pci.read32(bus, dev, fn, off) -> the dword at config offset off
function M.read32(bus, dev, fn, off)
  local a = address(bus, dev, fn, off)
  local ok, msg, code = claim()
  if not ok then return nil, msg, code end
  l4.io.outl(ADDR, a)
  return l4.io.inl(DATA)
end

-- pci.write32(bus, dev, fn, off, value) -> true
function M.write32(bus, dev, fn, off, value)
  local a = address(bus, dev, fn, off)
  local ok, msg, code = claim()
  if not ok then return nil, msg, code end
  l4.io.outl(ADDR, a)
  l4.io.outl(DATA, value & 0xffffffff)
  return true
end

local read32, write32 = M.read32, M.write32

-- The size a BAR decodes: write all ones, read back the writable bits,
-- restore. mask is the BAR's address bits (low type bits cleared).
local function probe(bus, dev, fn, off, mask)
  local orig = read32(bus, dev, fn, off)
  write32(bus, dev, fn, off, 0xffffffff)
  local v = read32(bus, dev, fn, off) & mask
  write32(bus, dev, fn, off, orig)
  return orig, v
end

-- The BARs of a function: 6 of a device (header 0), 2 of a bridge
-- (header 1), none of a CardBus bridge. Decoding is off meanwhile (the
-- command register's I/O and memory bits), so a half-written BAR never
-- claims addresses.
local function bars(bus, dev, fn, header)
  local n = header == 0 and 6 or header == 1 and 2 or 0
  local list = {}
  if n == 0 then return list end
  local cmd = read32(bus, dev, fn, 0x04)
  write32(bus, dev, fn, 0x04, cmd & 0xfffc)   -- status: its bits clear when written 1
  local i = 0
  while i < n do
    local off = 0x10 + 4 * i
    local orig = read32(bus, dev, fn, off)
    local bar
    if orig & 1 == 1 then                             -- I/O space
      local _, v = probe(bus, dev, fn, off, 0xfffffffc)
      if v ~= 0 then
        if v & 0xffff0000 == 0 then v = v | 0xffff0000 end   -- 16-bit decoders
        bar = {index = i, kind = "io", base = orig & 0xfffffffc,
               size = (~v + 1) & 0xffffffff, prefetch = false}
      end
      i = i + 1
    else
      local typ = orig >> 1 & 3
      local prefetch = orig & 8 == 8
      local _, lo = probe(bus, dev, fn, off, 0xfffffff0)
      if typ == 2 and i + 1 < n then                  -- 64 bits: this BAR and the next
        local hi_orig, hi = probe(bus, dev, fn, off + 4, 0xffffffff)
        local v = hi << 32 | lo
        if v ~= 0 then
          bar = {index = i, kind = "mem64", base = hi_orig << 32 | (orig & 0xfffffff0),
                 size = ~v + 1, prefetch = prefetch}
        end
        i = i + 2
      else
        if lo ~= 0 then
          bar = {index = i, kind = "mem32", base = orig & 0xfffffff0,
                 size = (~lo + 1) & 0xffffffff, prefetch = prefetch}
        end
        i = i + 1
      end
    end
    list[#list + 1] = bar
  end
  write32(bus, dev, fn, 0x04, cmd & 0xffff)
  return list
end

-- One function's record, or nil if nothing answers there.
local function func(bus, dev, fn)
  local id = read32(bus, dev, fn, 0x00)
  if id & 0xffff == 0xffff then return nil end
  local cls = read32(bus, dev, fn, 0x08)
  local hdr = read32(bus, dev, fn, 0x0c) >> 16 & 0xff
  local f = {bus = bus, dev = dev, fn = fn, vendor = id & 0xffff, device = id >> 16,
             class = cls >> 24, subclass = cls >> 16 & 0xff, progif = cls >> 8 & 0xff,
             revision = cls & 0xff, header = hdr & 0x7f, multifunction = hdr & 0x80 ~= 0}
  f.bars = bars(bus, dev, fn, f.header)
  if f.header == 1 then
    f.secondary = read32(bus, dev, fn, 0x18) >> 8 & 0xff
  end
  return f
end

-- Scans one bus, and the buses behind its PCI-to-PCI bridges.
local function scan(bus, out, seen)
  if seen[bus] then return end
  seen[bus] = true
  for dev = 0, 31 do
    local f0 = func(bus, dev, 0)
    if f0 then
      local fns = {f0}
      if f0.multifunction then      -- functions 1-7 only of a multi-function device
        for fn = 1, 7 do fns[#fns + 1] = func(bus, dev, fn) end
      end
      for _, f in ipairs(fns) do
        out[#out + 1] = f
        if f.header == 1 and f.secondary and f.secondary ~= 0 then
          scan(f.secondary, out, seen)
        end
      end
    end
  end
end

-- pci.list() -> array of functions, in bus, device, function order:
-- {bus, dev, fn, vendor, device, class, subclass, progif, revision,
--  header (0 device, 1 bridge, 2 CardBus), multifunction, bars = {...},
--  secondary (bridges)}. Each BAR: {index, kind = "io" | "mem32" | "mem64",
-- base, size, prefetch}; unimplemented BARs are left out. Or nil,
-- message, code if another task holds the ports.
function M.list()
  local ok, msg, code = claim()
  if not ok then return nil, msg, code end
  local out, seen = {}, {}
  local host = func(0, 0, 0)
  if host and host.multifunction then   -- several host bridges: function n is bus n
    for fn = 0, 7 do
      if func(0, 0, fn) then scan(fn, out, seen) end
    end
  else
    scan(0, out, seen)
  end
  table.sort(out, function(a, b)
    if a.bus ~= b.bus then return a.bus < b.bus end
    if a.dev ~= b.dev then return a.dev < b.dev end
    return a.fn < b.fn
  end)
  return out
end

-- pci.find(vendor, ids) -> bus, dev, fn of the first function whose
-- vendor is `vendor` and whose device id is a key of `ids` (bus 0 and the
-- buses behind its bridges, in list()'s order); nil if none (or nil,
-- message, code: the ports are another task's). Reads IDs only: no BAR
-- probe, no tables (the boot plan asks it whether a disk is there).
function M.find(vendor, ids)
  local ok, msg, code = claim()
  if not ok then return nil, msg, code end
  local seen = {}
  local function scan_bus(bus)
    if seen[bus] then return end
    seen[bus] = true
    for dev = 0, 31 do
      local id0 = read32(bus, dev, 0, 0x00)
      if id0 & 0xffff ~= 0xffff then
        local last = read32(bus, dev, 0, 0x0c) >> 16 & 0x80 ~= 0 and 7 or 0
        for fn = 0, last do
          local id = fn == 0 and id0 or read32(bus, dev, fn, 0x00)
          if id & 0xffff ~= 0xffff then
            if id & 0xffff == vendor and ids[id >> 16] then return bus, dev, fn end
            if read32(bus, dev, fn, 0x0c) >> 16 & 0x7f == 1 then     -- a bridge
              local sec = read32(bus, dev, fn, 0x18) >> 8 & 0xff
              if sec ~= 0 then
                local b, d, f = scan_bus(sec)
                if b then return b, d, f end
              end
            end
          end
        end
      end
    end
  end
  return scan_bus(0)
end

-- Names by class.subclass, then by class alone.
local NAMES = {
  [0x0001] = "VGA-compatible device",
  [0x0100] = "SCSI controller", [0x0101] = "IDE controller",
  [0x0105] = "ATA controller", [0x0106] = "SATA controller",
  [0x0107] = "SAS controller", [0x0108] = "NVMe controller",
  [0x0200] = "ethernet controller",
  [0x0300] = "VGA controller", [0x0302] = "3D controller",
  [0x0401] = "audio device", [0x0403] = "audio device",
  [0x0600] = "host bridge", [0x0601] = "ISA bridge", [0x0604] = "PCI bridge",
  [0x0680] = "bridge",
  [0x0700] = "serial controller",
  [0x0c03] = "USB controller", [0x0c05] = "SMBus controller",
}
local CLASSES = {
  [0x00] = "unclassified device", [0x01] = "mass storage controller",
  [0x02] = "network controller", [0x03] = "display controller",
  [0x04] = "multimedia controller", [0x05] = "memory controller", [0x06] = "bridge",
  [0x07] = "communication controller", [0x08] = "system peripheral",
  [0x09] = "input device", [0x0c] = "serial bus controller",
}

-- pci.class_name(class, subclass) -> a short name
function M.class_name(class, subclass)
  return NAMES[class << 8 | subclass] or CLASSES[class] or ("class %02x"):format(class)
end

local function size_text(n)
  for _, u in ipairs{{2^30, "GiB"}, {2^20, "MiB"}, {2^10, "KiB"}} do
    if n >= u[1] and n % u[1] == 0 then return ("%d %s"):format(n // u[1], u[2]) end
  end
  return ("%d bytes"):format(n)
end

-- pci.lspci([list]) -> text, a line per function and one per BAR (or
-- nil, message, code, as list):
--   00:02.0 1234:1111 class 03.00.00 VGA controller
--       BAR0 mem32 0xfd000000 (16 MiB, prefetchable)
function M.lspci(list)
  local msg, code
  if not list then
    list, msg, code = M.list()
    if not list then return nil, msg, code end
  end
  local lines = {}
  for _, f in ipairs(list) do
    lines[#lines + 1] = ("%02x:%02x.%d %04x:%04x class %02x.%02x.%02x %s"):format(
      f.bus, f.dev, f.fn, f.vendor, f.device, f.class, f.subclass, f.progif,
      M.class_name(f.class, f.subclass))
    for _, b in ipairs(f.bars) do
      lines[#lines + 1] = ("    BAR%d %-5s 0x%x (%s%s)"):format(b.index, b.kind, b.base,
        size_text(b.size), b.prefetch and ", prefetchable" or "")
    end
  end
  return table.concat(lines, "\n") .. (#lines > 0 and "\n" or "")
end

return M
