-- The disk benchmarks of `make bench` (tests/bench/run.py boots sigma0,
-- lua-root.elf and build/tests/bench/blk-bench.arc, the system's scripts
-- with this folder over them, with an 8 MiB image on virtio-blk-pci,
-- under -icount shift=0: rdtsc counts guest instructions). The plan's two
-- disk entries under a supervisor, as tests/blk/init.lua starts them;
-- then, from this root's Lua thread through scripts/blk.lua:
--   blk_read_4k   d:read of 8 sectors (4 KiB), one request at a time
--   blk_write_4k  d:write of 4 KiB, one request at a time
-- each the whole request: the client's call, the driver task's copy into
-- or out of DMA memory, the virtqueue, the device's interrupt, the reply;
-- minus the time the request spent in the device (from the driver's
-- notify to the interrupt reaching it, which the driver sums: d:stats()).
-- While the CPU waits for QEMU's I/O it halts, and icount moves the
-- clock on to the next timer event: that wait is virtual time, not
-- instructions, and depends on the host; it is printed, not counted.
-- Prints "bench <name> <instructions>" and ends QEMU (status 0).
local l4 = require "l4"
local names = assert(l4.task.spawn{script = "service_task.lua", name = "names",
                                   args = {"names", "names.lua", false, false, false, n = 5},
                                   prio = 190, memcap = 4 << 20})
require("names").use(names)
l4.sys.set_names(names)
assert(require("supervisor").start{names = names, prio = 210, services = {
  {name = "devices", script = "devmgr.lua", thread = true, restart = "always",
   prio = 175, memcap = 4 << 20},
  {name = "disk0", script = "virtio_blk.lua", args = {"disk0"}, ping = 1,
   restart = "on-failure", prio = 160, memcap = 8 << 20},
}})
local blk = require "blk"
local d
for _ = 1, 500 do
  d = blk.open("disk0")
  if d then break end
  l4.sleep(10)
end
assert(d, "no disk0")
local rdtsc = l4.debug.rdtsc
local N, WARM = 500, 20
local SPAN = 16384 // 8                  -- 4 KiB blocks on the disk

local function measure(name, fn)
  for i = 1, WARM do fn(i) end
  local s0 = assert(d:stats())
  local t0 = rdtsc()
  for i = 1, N do fn(i) end
  local t = rdtsc() - t0
  local s1 = assert(d:stats())
  local device = s1.device - s0.device
  print(("bench %s %d"):format(name, (t - device) // N))
  print(("  %s: %d in all a request, of which %d in the device (excluded)"):format(name,
        t // N, device // N))
end

measure("blk_read_4k", function(i) assert(#d:read(8 * (i % SPAN), 8) == 4096) end)
local block = ("w"):rep(4096)
measure("blk_write_4k", function(i) assert(d:write(8 * (i % SPAN), block)) end)
os.exit(0)
