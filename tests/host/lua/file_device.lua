-- A disk image file as a block device (the shape of scripts/ramdisk.lua),
-- for the host's tests of the ext2 module (ext2.lua, ext2_crash.lua).
-- Unbuffered: each write reaches the host's kernel before it returns, as
-- a device's would reach its disk. With readonly, info() says so.
--   local file_device = require "file_device"
--   local d = file_device("disk.img" [, readonly])   -- d:close() when done
return function(path, readonly)
  local f = assert(io.open(path, readonly and "rb" or "r+b"))
  f:setvbuf("no")
  local size = f:seek("end")
  local d = {}
  function d:info() return {sectors = size // 512, sector_size = 512, readonly = readonly} end
  function d:read(lba, count)
    f:seek("set", lba * 512)
    local s = f:read(count * 512)
    if not s or #s ~= count * 512 then return nil, "short read", 5 end
    return s
  end
  function d:write(lba, data)
    f:seek("set", lba * 512)
    local ok, why = f:write(data)
    if not ok then return nil, why, 5 end
    return true
  end
  function d:flush()
    local ok, why = f:flush()
    if not ok then return nil, why, 5 end
    return true
  end
  function d:close() f:close() end
  return d
end
