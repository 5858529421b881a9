-- A block device held in memory, of the shape the ext2 module reads and
-- writes (docs/storage.md "The block device"): for the tests of ext2 and
-- of the file service ("image:<file>" disks, scripts/files.lua).
--
--   local ramdisk = require "ramdisk"
--   local d = ramdisk.new(image [, sector_size])  -- image: the bytes, a whole number of sectors
--   d:info() d:read(lba, count) d:write(lba, data) d:flush()
--   d:image()                 --> the bytes now
--   d.readonly = true         -- info says so; writes fail with EROFS
--   d.log = {}                -- every write is appended: {lba, data}
--   d.fail_in = n             -- the n-th request from now, and every one after, fails with EIO
--   d.reads, d.writes, d.flushes   -- requests served
local M = {}
local EIO, EINVAL, EROFS = 5, 22, 30

local Dev = {}
Dev.__index = Dev

function M.new(image, sector)
  sector = sector or 512
  assert(#image % sector == 0, "ramdisk: the image is not a whole number of sectors")
  local d = setmetatable({sector = sector, sectors = #image // sector, s = {},
                          zero = ("\0"):rep(sector), reads = 0, writes = 0, flushes = 0}, Dev)
  for i = 0, d.sectors - 1 do                -- only the sectors that are not zero
    local b = image:sub(i * sector + 1, (i + 1) * sector)
    if b ~= d.zero then d.s[i] = b end
  end
  return d
end

-- The injected failure, if it is due.
local function failing(d)
  if d.fail_in then
    d.fail_in = d.fail_in - 1
    if d.fail_in <= 0 then return true end
  end
  return false
end

function Dev:info()
  return {sectors = self.sectors, sector_size = self.sector, readonly = self.readonly or nil}
end

function Dev:read(lba, count)
  if math.type(lba) ~= "integer" or math.type(count) ~= "integer" or lba < 0 or count < 1
     or lba + count > self.sectors then
    return nil, ("read of %s sectors at %s: outside the disk"):format(count, lba), EINVAL
  end
  if failing(self) then return nil, "injected read failure", EIO end
  self.reads = self.reads + 1
  local t = {}
  for i = lba, lba + count - 1 do t[#t + 1] = self.s[i] or self.zero end
  return table.concat(t)
end

function Dev:write(lba, data)
  local n = type(data) == "string" and #data // self.sector
  if math.type(lba) ~= "integer" or not n or #data % self.sector ~= 0 or lba < 0
     or lba + n > self.sectors then
    return nil, ("write at %s: outside the disk or not whole sectors"):format(lba), EINVAL
  end
  if self.readonly then return nil, "read-only disk", EROFS end
  if failing(self) then return nil, "injected write failure", EIO end
  self.writes = self.writes + 1
  if self.log then self.log[#self.log + 1] = {lba, data} end
  for i = 0, n - 1 do
    local b = data:sub(i * self.sector + 1, (i + 1) * self.sector)
    self.s[lba + i] = b ~= self.zero and b or nil
  end
  return true
end

function Dev:flush()
  if failing(self) then return nil, "injected flush failure", EIO end
  self.flushes = self.flushes + 1
  return true
end

function Dev:image()
  local t = {}
  for i = 0, self.sectors - 1 do t[#t + 1] = self.s[i] or self.zero end
  return table.concat(t)
end

return M
