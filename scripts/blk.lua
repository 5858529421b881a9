-- blk.lua: the client of a block driver (drivers-lua/virtio_blk.lua's
-- protocol; docs/drivers.md "The block protocol"):
--
--   local blk = require "blk"
--   local d = assert(blk.open("disk0"))      -- by service name
--   d:info()            --> {sectors = n, sector_size = 512, readonly = false}
--   d:read(lba, count)  --> string of count*sector_size bytes | nil, msg, code
--   d:write(lba, data)  --> true | nil, msg, code   (#data a multiple of sector_size)
--   d:flush()           --> true | nil, msg, code
--   d:stats()           --> {requests, errors, device, resets}: the driver's counts
--                           (device: the TSC while requests were in the device)
--
-- A read or write of more than 64 KiB is several requests, one after the
-- other (each a call that blocks until the device is done); the first
-- that fails ends it (sectors before it were read or written). Codes are
-- errnos (5 EIO, 22 EINVAL, 30 EROFS, 95 EOPNOTSUPP, 16 EBUSY) or, when
-- the driver could not be reached, the IPC code (1 no partner, 10/11
-- aborted: it died; the next request looks its name up again, so it
-- reaches a driver the supervisor restarted).
local l4 = require "l4"

local M = {}
M.INFO, M.READ, M.WRITE, M.FLUSH, M.STATS = 1, 2, 3, 4, 5
M.SECTOR = 512
M.MAX_BYTES = 64 << 10          -- a request's data: one message string

local Disk = {}
Disk.__index = Disk

-- One call to the driver -> the reply's values, or nil, message, code.
local function call(d, label, ...)
  if not d.id then
    local id, err, code = require("names").lookup(d.name)
    if not id then return nil, ("%s: %s"):format(d.name, err), code end
    d.id = id
  end
  local from, l, a, b, c, e = l4.call(d.id, label, ...)
  if from == nil then
    d.id = nil                  -- gone? look the name up again next time
    return nil, ("%s: %s"):format(d.name, l), a
  end
  if l == 0 then return true, a, b, c, e end
  if l == 1 then return nil, ("%s: %s"):format(d.name, tostring(b)), a end
  return nil, ("%s: unexpected reply label %s"):format(d.name, tostring(l)), 22
end

-- blk.open(name) -> a disk, or nil, message, code (no such name, or its
-- driver does not answer)
function M.open(name)
  local d = setmetatable({name = name}, Disk)
  local ok, err, code = d:info()
  if not ok then return nil, err, code end
  return d
end

function Disk:info()
  local ok, sectors, size, ro = call(self, M.INFO)
  if not ok then return nil, sectors, size end
  return {sectors = sectors, sector_size = size, readonly = ro == 1}
end

function Disk:read(lba, count)
  local per = M.MAX_BYTES // M.SECTOR
  if math.type(count) ~= "integer" or count < 1 then
    return nil, self.name .. ": count must be an integer >= 1", 22
  end
  local parts = {}
  while count > 0 do
    local n = math.min(count, per)
    local ok, bytes, code = call(self, M.READ, lba, n)
    if not ok then return nil, bytes, code end
    parts[#parts + 1] = bytes
    lba, count = lba + n, count - n
  end
  return table.concat(parts)
end

function Disk:write(lba, data)
  if type(data) ~= "string" or #data == 0 or #data % M.SECTOR ~= 0 then
    return nil, ("%s: data must be a non-empty multiple of %d bytes"):format(self.name,
      M.SECTOR), 22
  end
  for at = 1, #data, M.MAX_BYTES do
    local piece = data:sub(at, at + M.MAX_BYTES - 1)
    local ok, err, code = call(self, M.WRITE, lba + (at - 1) // M.SECTOR, piece)
    if not ok then return nil, err, code end
  end
  return true
end

function Disk:stats()
  local ok, requests, errors, device, resets = call(self, M.STATS)
  if not ok then return nil, requests, errors end
  return {requests = requests, errors = errors, device = device, resets = resets}
end

function Disk:flush()
  local ok, err, code = call(self, M.FLUSH)
  if not ok then return nil, err, code end
  return true
end

return M
