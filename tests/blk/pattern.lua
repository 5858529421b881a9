-- The bytes the runner (tests/run.py) writes into sector n of the disk
-- before the boot, and those the cases write: 512 bytes a sector.
local M = {}

function M.host(n)          -- the image as the runner made it
  return (("host sector %08d "):format(n)):rep(26):sub(1, 512)
end

function M.guest(n, tag)    -- what a case writes
  return (("%s %08d "):format(tag, n)):rep(40):sub(1, 512)
end

function M.range(fn, lba, count, tag)
  local t = {}
  for i = 0, count - 1 do t[#t + 1] = fn(lba + i, tag) end
  return table.concat(t)
end

return M
