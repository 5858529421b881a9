-- CRC-32 (IEEE 802.3, as zlib.crc32 and Python's zlib): what tools/l4ua
-- checks its transfers with (scripts/push_agent.lua) and the crash test
-- digests files with (tests/crash/init.lua).
--
--   local crc32 = require "crc32"
--   crc32("hello")              --> 0x3610a686
--   crc32(" world", 0x3610a686) --> crc32("hello world"): a running CRC
local table_ = {}
for i = 0, 255 do
  local c = i
  for _ = 1, 8 do
    c = (c & 1) ~= 0 and (0xedb88320 ~ (c >> 1)) or (c >> 1)
  end
  table_[i] = c
end

return function(s, crc)
  local c = (crc or 0) ~ 0xffffffff
  local t = table_
  for i = 1, #s do
    c = t[(c ~ s:byte(i)) & 0xff] ~ (c >> 8)
  end
  return c ~ 0xffffffff
end
