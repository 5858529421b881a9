-- virtio.lua: virtio 1.x over PCI, the modern interface, with split
-- virtqueues in DMA memory (docs/drivers.md "virtio"). A driver in its own
-- task claims its function from the device manager (device.lua) and hands
-- it here:
--
--   local v = assert(virtio.open(dev))        -- caps found, BARs mapped
--   v:reset()                                  -- status 0, device idle
--   local feats = assert(v:negotiate(want))    -- ACKNOWLEDGE, DRIVER,
--                                              -- features, FEATURES_OK
--   local q = assert(v:queue(0, 64, mem, off)) -- a split queue in mem
--   v:ready()                                  -- DRIVER_OK
--   q:add{{phys, len, write}, ...} -> head | nil ("full")
--   q:kick()                                   -- tell the device
--   q:collect(function(head, len) ... end)     -- chains the device used
--   v:isr()                                    -- read (and so acknowledge)
--   v:cfg8/cfg16/cfg32/cfg64(off)              -- the device-specific config
--
-- The PCI capabilities (vendor-specific, id 0x09) say where each
-- structure lies: cfg_type 1 common, 2 notify (with its multiplier), 3
-- ISR, 4 device-specific; each names a BAR, an offset and a length.
-- Memory is little-endian as x86 is; stores reach memory in program order
-- (x86 keeps stores in order, and each access here is a call into C), so
-- a descriptor is written before the ring entry that names it, and the
-- ring entry before the index that publishes it.
local l4 = require "l4"

local M = {}

-- Device status bits and the feature every modern device offers.
M.ACKNOWLEDGE, M.DRIVER, M.DRIVER_OK, M.FEATURES_OK, M.NEEDS_RESET, M.FAILED =
  1, 2, 4, 8, 64, 128
M.F_VERSION_1 = 1 << 32

-- Offsets in the common configuration structure.
local DFSELECT, DF, GFSELECT, GF, MSIX, NUMQ, STATUS = 0x00, 0x04, 0x08, 0x0c, 0x10, 0x12, 0x14
local QSELECT, QSIZE, QMSIX, QENABLE, QNOTIFY_OFF = 0x16, 0x18, 0x1a, 0x1c, 0x1e
local QDESC, QDRIVER, QDEVICE = 0x20, 0x28, 0x30
local NO_VECTOR = 0xffff

-- Descriptor flags.
local NEXT, WRITE = 1, 2

local Dev, Queue = {}, {}
Dev.__index, Queue.__index = Dev, Queue

-- A structure of a capability: the BAR's mapping and the offset in it.
local function region(v, bar, off)
  local m = v.maps[bar]
  if not m then
    local delta, code
    m, delta, code = v.dev:bar(bar)
    if not m then return nil, ("BAR%d: %s"):format(bar, tostring(delta)), code end
    v.maps[bar], v.deltas[bar] = m, delta
  end
  return m, v.deltas[bar] + off
end

-- virtio.open(dev) -> a virtio device (not reset yet), or nil, message
function M.open(dev)
  local v = setmetatable({dev = dev, maps = {}, deltas = {}, r = {}}, Dev)
  local st = assert(dev:config_read(0x04))
  if st >> 20 & 1 == 0 then return nil, "virtio: no PCI capability list" end
  local ptr = assert(dev:config_read(0x34)) & 0xfc
  local seen = 0
  while ptr ~= 0 and seen < 48 do
    seen = seen + 1
    local w0 = assert(dev:config_read(ptr))
    if w0 & 0xff == 0x09 then
      local cfg_type = w0 >> 24 & 0xff
      local bar = assert(dev:config_read(ptr + 4)) & 0xff
      local off = assert(dev:config_read(ptr + 8))
      local what = ({"common", "notify", "isr", "device"})[cfg_type]
      if what and not v.r[what] then
        local m, at, code = region(v, bar, off)
        if not m then return nil, "virtio: " .. at, code end
        v.r[what] = {m = m, off = at}
        if what == "notify" then v.notify_mul = assert(dev:config_read(ptr + 16)) end
      end
    end
    ptr = w0 >> 8 & 0xfc
  end
  for _, what in ipairs{"common", "notify", "isr"} do
    if not v.r[what] then return nil, ("virtio: no %s configuration capability (not a "
                                     .. "modern device?)"):format(what) end
  end
  local c = v.r.common
  v.cm, v.co = c.m, c.off
  return v
end

local function c8(v, r) return v.cm:read8(v.co + r) end
local function c16(v, r) return v.cm:read16(v.co + r) end
local function c32(v, r) return v.cm:read32(v.co + r) end
local function w8(v, r, x) v.cm:write8(v.co + r, x) end
local function w16(v, r, x) v.cm:write16(v.co + r, x) end
local function w32(v, r, x) v.cm:write32(v.co + r, x) end

function Dev:status() return c8(self, STATUS) end

-- Resets the device: status 0, then waits until it reads back 0.
function Dev:reset()
  w8(self, STATUS, 0)
  for _ = 1, 1000 do
    if c8(self, STATUS) == 0 then return true end
    l4.sleep(1)
  end
  return nil, "virtio: the device does not come out of reset"
end

-- The device's 64 feature bits.
function Dev:features()
  w32(self, DFSELECT, 0)
  local lo = c32(self, DF)
  w32(self, DFSELECT, 1)
  return c32(self, DF) << 32 | lo
end

-- Acknowledges the device and agrees on want & offered (VERSION_1 is
-- always wanted) -> the features taken, or nil, message (and FAILED set).
function Dev:negotiate(want)
  w8(self, STATUS, M.ACKNOWLEDGE)
  w8(self, STATUS, M.ACKNOWLEDGE | M.DRIVER)
  local offered = self:features()
  if offered & M.F_VERSION_1 == 0 then
    w8(self, STATUS, M.FAILED)
    return nil, "virtio: the device does not offer VERSION_1 (legacy only)"
  end
  local take = offered & (want | M.F_VERSION_1)
  w32(self, GFSELECT, 0); w32(self, GF, take & 0xffffffff)
  w32(self, GFSELECT, 1); w32(self, GF, take >> 32)
  w8(self, STATUS, M.ACKNOWLEDGE | M.DRIVER | M.FEATURES_OK)
  if c8(self, STATUS) & M.FEATURES_OK == 0 then
    w8(self, STATUS, M.FAILED)
    return nil, "virtio: the device refused the features"
  end
  w16(self, MSIX, NO_VECTOR)        -- no MSI-X: INTx, acknowledged by reading the ISR
  self.feats = take
  return take
end

function Dev:ready()
  w8(self, STATUS, M.ACKNOWLEDGE | M.DRIVER | M.FEATURES_OK | M.DRIVER_OK)
end

function Dev:num_queues() return c16(self, NUMQ) end

-- Fault injection only (docs/reliability.md "Wrong values in device
-- registers"): writes a wrong value into a register that cannot make the
-- device reach memory it was not given. "reset": status 0 (the device
-- forgets its queues); "failed": the FAILED bit set in the status;
-- "features": the driver's feature bits 0-31 written as 0 after
-- FEATURES_OK (the spec lets a device ignore it; QEMU does). Never the
-- queue, descriptor or ring addresses: without an IOMMU a wrong one
-- makes the device read or write any physical memory.
function Dev:wrong_register(what)
  if what == "reset" then
    w8(self, STATUS, 0)
  elseif what == "failed" then
    w8(self, STATUS, c8(self, STATUS) | M.FAILED)
  elseif what == "features" then
    w32(self, GFSELECT, 0)
    w32(self, GF, 0)
  else
    error("wrong_register: reset, failed or features", 2)
  end
end

-- Reads the ISR status (bit 0 a queue, bit 1 the configuration changed);
-- reading it deasserts the interrupt line.
function Dev:isr() return self.r.isr.m:read8(self.r.isr.off) end

function Dev:cfg8(off) return self.r.device.m:read8(self.r.device.off + off) end
function Dev:cfg16(off) return self.r.device.m:read16(self.r.device.off + off) end
function Dev:cfg32(off) return self.r.device.m:read32(self.r.device.off + off) end
function Dev:cfg64(off)
  local d = self.r.device
  return d.m:read32(d.off + off + 4) << 32 | d.m:read32(d.off + off)
end

-- The sizes of a split queue of n entries (virtio 1.x 2.7): descriptor
-- table 16n (16-aligned), driver ring 6 + 2n (2-aligned), device ring
-- 6 + 8n (4-aligned); all in one block from `off`.
function M.queue_bytes(n)
  local used = (16 * n + 6 + 2 * n + 3) & ~3
  return used + 6 + 8 * n
end

-- v:queue(index, n, mem, [off]) -> a queue of n entries (a power of two,
-- at most what the device allows) laid out in DMA memory mem at off.
function Dev:queue(index, n, mem, off)
  off = off or 0
  w16(self, QSELECT, index)
  local max = c16(self, QSIZE)
  if max == 0 then return nil, ("virtio: no queue %d"):format(index) end
  if n > max then n = max end
  if n & (n - 1) ~= 0 then return nil, "virtio: a queue's size must be a power of two" end
  if off % 16 ~= 0 or off + M.queue_bytes(n) > mem:size() then
    return nil, "virtio: the queue does not fit in its memory"
  end
  mem:fill(off, M.queue_bytes(n))
  local q = setmetatable({v = self, index = index, n = n, mem = mem, desc = off,
                          avail = off + 16 * n, used = off + ((16 * n + 6 + 2 * n + 3) & ~3),
                          free = {}, next_avail = 0, last_used = 0, chains = {}}, Queue)
  for i = n - 1, 0, -1 do q.free[#q.free + 1] = i end
  local phys = mem:phys()
  w16(self, QSIZE, n)
  w16(self, QMSIX, NO_VECTOR)
  for _, r in ipairs{{QDESC, q.desc}, {QDRIVER, q.avail}, {QDEVICE, q.used}} do
    local a = phys + r[2]
    w32(self, r[1], a & 0xffffffff)
    w32(self, r[1] + 4, a >> 32)
  end
  local noff = c16(self, QNOTIFY_OFF)
  q.nm, q.noff = self.r.notify.m, self.r.notify.off + noff * self.notify_mul
  w16(self, QENABLE, 1)
  return q
end

-- Free descriptors.
function Queue:room() return #self.free end

-- q:add(chain) -> the head descriptor's number, or nil, "full": chain is
-- a list of {phys, len, write} (write: the device writes it), readable
-- parts first, as the spec requires.
function Queue:add(chain)
  local k = #chain
  if k == 0 or k > #self.free then return nil, "full" end
  local m, free = self.mem, self.free
  local ids = {}
  for i = 1, k do ids[i] = table.remove(free) end
  for i = 1, k do
    local b, d = chain[i], self.desc + 16 * ids[i]
    m:write64(d, b[1])
    m:write32(d + 8, b[2])
    m:write16(d + 12, (b[3] and WRITE or 0) | (i < k and NEXT or 0))
    m:write16(d + 14, i < k and ids[i + 1] or 0)
  end
  local head = ids[1]
  self.chains[head] = ids
  m:write16(self.avail + 4 + 2 * (self.next_avail % self.n), head)
  self.next_avail = (self.next_avail + 1) & 0xffff
  m:write16(self.avail + 2, self.next_avail)
  return head
end

-- Tells the device the driver ring moved.
function Queue:kick()
  self.nm:write16(self.noff, self.index)
end

-- Fault injection only: a notify of queue `index` instead of this one
-- (a wrong queue index: the device looks at another queue, or none, and
-- this one's new requests wait). At queue index's notify address, taken
-- to be index * the multiplier as QEMU lays them out (QEMU reads the
-- queue from the address, not from the value written), within the
-- notify structure; MMIO only, no memory of the device's moves.
function Queue:kick_wrong(index)
  self.nm:write16(self.noff + (index - self.index) * self.v.notify_mul, index)
end

-- Calls fn(head, len) for each chain the device gave back since the last
-- call (len: the bytes it wrote), freeing their descriptors first.
-- Returns how many.
function Queue:collect(fn)
  local m, count = self.mem, 0
  local idx = m:read16(self.used + 2)
  while self.last_used ~= idx do
    local e = self.used + 4 + 8 * (self.last_used % self.n)
    local head, len = m:read32(e), m:read32(e + 4)
    self.last_used = (self.last_used + 1) & 0xffff
    local ids = self.chains[head]
    if ids then
      self.chains[head] = nil
      for i = #ids, 1, -1 do self.free[#self.free + 1] = ids[i] end
      count = count + 1
      fn(head, len)
    end
  end
  return count
end

return M
