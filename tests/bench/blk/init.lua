-- The disk benchmarks of `make bench` (tests/bench/run.py boots sigma0,
-- lua-root.elf and build/tests/bench/blk-bench.arc, the system's scripts
-- with this folder over them, with a 24 MiB image on virtio-blk-pci
-- whose first 16 MiB are an ext4 file system holding big.bin, 4 MiB; the
-- other 8 MiB are raw sectors; under -icount shift=0: rdtsc counts guest
-- instructions). The plan's two disk entries under a supervisor, as
-- tests/blk/init.lua starts them, and the file service on the disk
-- ("blk:disk0", as scripts/init.lua starts it); then, from this root's
-- Lua thread:
--   blk_read_4k       d:read of 8 sectors (4 KiB), one request at a time
--   blk_write_4k      d:write of 4 KiB, one request at a time (in the raw
--                     8 MiB: the file system stays whole)
--   blk_seq_read_mib  d:read of 2048 sectors (1 MiB) from sector 0 on, one
--                     after the other (blk.lua: 16 requests of 64 KiB)
--   blk_seq_read_mib_files  io.open("big.bin"), read it all, close: per
--                     MiB, in a task of its own (files_reader.lua)
--   mmio_read32_lua, mem_read_kib_lua, mmio_read_kib_lua  a driver task's
--                     reads of its device memory and DMA memory (mmio.lua)
-- each the whole path: the client's call, the driver task's copy into
-- or out of DMA memory, the virtqueue, the device's interrupt, the reply;
-- minus the time the requests spent in the device (from the driver's
-- notify to the interrupt reaching it, which the driver sums: d:stats();
-- the file service's requests go through the same driver).
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
-- hang: under icount a request's time in the device is the host's, and a
-- loaded host makes it seconds of guest time: the supervisor's default 5 s
-- without an answer then took the manager, which waited for the root's
-- libc lock, for hung, and its restart reset the disk under the benchmark
-- (hang in each entry)
assert(require("supervisor").start{names = names, prio = 210, services = {
  {name = "devices", script = "devmgr.lua", thread = true, restart = "always",
   prio = 175, memcap = 4 << 20, hang = 120000},
  {name = "disk0", script = "virtio_blk.lua", args = {"disk0"}, ping = 1,
   restart = "on-failure", prio = 160, memcap = 8 << 20, hang = 120000},
}})
-- the file service on the disk, and this task's io through it
local files = assert(l4.task.spawn{name = "files", script = "files.lua",
                                   args = {"serve", 4 << 20, "blk:disk0"},
                                   prio = 180, memcap = 16 << 20})
require("names").register("files", files)
l4.sys.set_files(files)
local blk = require "blk"
local d
for _ = 1, 500 do
  d = blk.open("disk0")
  if d then break end
  l4.sleep(10)
end
assert(d, "no disk0")
local rdtsc = l4.debug.rdtsc
local RAW, SPAN = 32768, 16384 // 8     -- the raw sectors' first; 4 KiB blocks there
local MIB = 2048                         -- sectors

-- n runs of fn after warm runs; per = the operations one run counts
local function measure(name, n, warm, fn, per)
  per = per or 1
  for i = 1, warm do fn(i) end
  local s0 = assert(d:stats())
  local t0 = rdtsc()
  for i = 1, n do fn(i) end
  local t = rdtsc() - t0
  local s1 = assert(d:stats())
  local device = s1.device - s0.device
  local ops = n * per
  print(("bench %s %d"):format(name, (t - device) // ops))
  print(("  %s: %d in all, of which %d in the device (excluded), %d requests to disk0"):format(
        name, t // ops, device // ops, (s1.requests - s0.requests) // ops))
end

measure("blk_read_4k", 500, 20, function(i) assert(#d:read(RAW + 8 * (i % SPAN), 8) == 4096) end)
local block = ("w"):rep(4096)
measure("blk_write_4k", 500, 20, function(i) assert(d:write(RAW + 8 * (i % SPAN), block)) end)
-- the 16 MiB of the file system, again and again
measure("blk_seq_read_mib", 16, 1, function(i)
  assert(#d:read(MIB * (i % 16), MIB) == 1 << 20)
end)
-- Through the file service, from a task of its own (files_reader.lua): a
-- root thread's io.open holds the root's libc lock until the file service
-- answered, so reading 4 MiB from here (seconds of guest time when QEMU's
-- I/O is slow) keeps the device manager, a root thread, from answering
-- the supervisor's ping, which then restarts it (and resets the disk).
local reader = assert(l4.task.spawn{name = "reader", script = "files_reader.lua",
                                    memcap = 48 << 20, prio = 100})
local how, status = l4.task.wait(reader)
assert(how == "exited" and status == 0, ("files_reader.lua: %s %s"):format(how, status))
-- A driver's device memory from Lua (mmio.lua: the mmio_* rows)
local mmio = assert(l4.task.spawn{name = "mmio", script = "mmio.lua", memcap = 8 << 20,
                                  prio = 100})
how, status = l4.task.wait(mmio)
assert(how == "exited" and status == 0, ("mmio.lua: %s %s"):format(how, status))
os.exit(0)
