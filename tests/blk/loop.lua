-- A client of the disk boot (cases.lua "blk_driver_killed_mid_request"):
-- reads 64 KiB for 3 s; its status is 1 if a request failed.
local blk = require "blk"
local d = assert(blk.open("disk0"))
local ok, errs = 0, 0
local deadline = l4.clock() + 3000000
while l4.clock() < deadline do
  local data = d:read(0, 128)
  if data then
    assert(#data == 65536, "a short read")
    ok = ok + 1
  else
    errs = errs + 1
  end
end
os.exit(errs > 0 and 1 or 0)
