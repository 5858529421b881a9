-- blk_seq_read_mib_files of make bench (tests/bench/blk/init.lua spawns
-- this task once the file service serves the disk): io.open("big.bin"),
-- read it all in 1 MiB reads, close; twice after one warm-up, per
-- MiB, minus the time disk0's requests spent in the device (d:stats(),
-- as blk_seq_read_mib). The runtime's io asks the file service for the
-- file in 48 KiB pieces (runtime/lua/files.c); the file service reads each
-- through libext2fs, one 4 KiB block a request to disk0. The bytes are
-- checked once, outside the count. Exits 0, or fails.
local l4 = require "l4"
local d = assert(require("blk").open("disk0"))
local rdtsc = l4.debug.rdtsc
local BIG, N = 4, 2                      -- MiB in big.bin; runs counted

local function read_all()
  local f = assert(io.open("big.bin", "rb"))
  local parts = {}
  while true do
    local s = f:read(1 << 20)
    if not s then break end
    parts[#parts + 1] = s
  end
  f:close()
  return parts
end

-- big.bin as tests/bench/run.py wrote it: 4 KiB block j is the line
-- ("%07d\n"):format(j) 512 times
local parts = read_all()
assert(#parts == BIG, ("big.bin: %d pieces of 1 MiB"):format(#parts))
for m, s in ipairs(parts) do
  assert(#s == 1 << 20, ("big.bin: MiB %d is %d bytes"):format(m, #s))
  for k = 0, 255 do
    local j = (m - 1) * 256 + k
    assert(s:sub(k * 4096 + 1, (k + 1) * 4096) == ("%07d\n"):format(j):rep(512),
           "big.bin: block " .. j .. " differs")
  end
end
parts = nil

local s0 = assert(d:stats())
local t0 = rdtsc()
for _ = 1, N do read_all() end
local t = rdtsc() - t0
local s1 = assert(d:stats())
local device, ops = s1.device - s0.device, N * BIG
print(("bench blk_seq_read_mib_files %d"):format((t - device) // ops))
print(("  blk_seq_read_mib_files: %d in all, of which %d in the device (excluded), %d requests to disk0"):format(
      t // ops, device // ops, (s1.requests - s0.requests) // ops))
