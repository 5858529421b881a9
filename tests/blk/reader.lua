-- A client of the disk boot (cases.lua "blk_several_clients"): writes and
-- reads back its own range four times, and reads sectors of the host.
local lba, count, tag = ...
local blk = require "blk"
local P = require "pattern"
local d = assert(blk.open("disk0"))
for round = 1, 4 do
  local data = P.range(P.guest, lba, count, tag .. round)
  assert(d:write(lba, data))
  assert(d:read(lba, count) == data, "read back")
  assert(d:read(300, 16) == P.range(P.host, 300, 16), "host sectors")
end
os.exit(0)
