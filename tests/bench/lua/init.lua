-- The Lua benchmarks of `make bench` (tests/bench/run.py boots sigma0,
-- lua-root.elf and build/tests/bench/lua-bench.arc, this folder plus
-- scripts/pager_zero.lua, under -icount shift=0, where the TSC counts
-- guest instructions; l4.debug.rdtsc reads it). Prints
-- "bench <name> <instructions>" lines (indented lines break them down),
-- then ends QEMU (status 0).
--   ipc_rtt_lua_cross_task  call + reply with 2 integers each way between
--                   two Lua tasks (both spawned by this root; bench_child.lua)
--   ipc_rtt_lua_to_c  this root's Lua thread calling the C echo thread of
--                   l4.debug.echo, 2 integers each way
--   pagefault_lua_pager  a page fault of a C thread resolved by the Lua
--                   pager (scripts/pager_zero.lua, its p:run() in
--                   l4.pager_loop) running in this root:
--                   the loop with faults minus the same loop on mapped
--                   pages (l4.debug.fault's thread start and its report to
--                   the pager are in both)
--   irq_to_lua      l4.debug.raise_irq(n) to l4.irq.wait returning in the
--                   Lua thread attached to IRQ n (the same thread: the
--                   interrupt is pending when it waits)
local l4 = require "l4"
local rdtsc = l4.debug.rdtsc
local ROUNDS = 10000

-- 1. Lua task to Lua task
local server = assert(l4.task.spawn{script = "bench_child.lua", args = {"serve"}})
local client = assert(l4.task.spawn{script = "bench_child.lua",
                                    args = {"client", server.raw, ROUNDS}})
print("bench: client", l4.task.wait(client, 60000))
l4.task.delete(server)

-- for comparison: the root's Lua thread calling the C echo thread of its
-- own task (l4.debug.echo), 2 integers each way
do
  local echo, call = l4.debug.echo(), l4.call
  for i = 1, 200 do call(echo, 1, i, i) end
  local t0 = rdtsc()
  for i = 1, ROUNDS do call(echo, 1, i, 7) end
  print(("bench ipc_rtt_lua_to_c %d"):format((rdtsc() - t0) // ROUNDS))
end

-- 2. the Lua pager. Its pool is taken from sigma0 before the loop, as
-- s0_mem_bench.c's C pager has its pool before it measures; the same loop
-- with the pool growing a 4 MiB chunk at a time inside it follows. Its
-- receives wait for ever, as the C pager's and the boot plan's pager's
-- do (a finite receive timeout takes the kernel's general path: the
-- timeout list); a pager that stops answering ends in the runner's
-- timeout.
local pager_zero = require "pager_zero"
local N, M = 10240, 1024                 -- faults measured; policy-only calls
local DONE = l4.debug.FAULT_DONE
local function stop(_, label) return label == DONE end
local function measure(pool)
  local base = l4.mem.reserve(26)       -- 16,384 pages: N + 8 + M fit
  local p = assert(pager_zero.new{quota = N + 8 + M, lo = base, hi = base + (1 << 26),
                                  chunk_log2 = 22, pool = pool and N + 8 + M or nil})
  local function touch(addr)
    assert(l4.debug.fault(addr))
    local from, label = p:run(stop)
    assert(label == DONE, tostring(label))
  end
  for i = N, N + 7 do touch(base + i * 4096) end       -- warm up
  local t0 = rdtsc()
  for i = 0, N - 1 do touch(base + i * 4096) end       -- a fault each
  local faulting = rdtsc() - t0
  t0 = rdtsc()
  for i = 0, N - 1 do touch(base + i * 4096) end       -- mapped now: no fault
  local mapped = rdtsc() - t0
  assert(p.served == N + 8, p.served)
  return p, base, faulting, mapped
end
local p, base, faulting, mapped = measure(true)
print(("bench pagefault_lua_pager %d"):format((faulting - mapped) // N))
print(("  (with l4.debug.fault's thread start: %d)"):format(faulting // N))
-- the pager's own Lua work per fault (its handler: the policy, a page
-- from the pool, the bookkeeping), without the IPC and l4.pager_loop
local me = l4.self()
local handler, task = pager_zero.handler(p), me.task
local t0 = rdtsc()
for i = 0, M - 1 do handler(me, base + (N + 8 + i) * 4096, 0, "r", task) end
print(("  (the pager's handler alone, no IPC: %d)"):format((rdtsc() - t0) // M))
local _, _, gfaulting, gmapped = measure(false)
print(("  (the pool growing from sigma0 inside the loop: %d)"):format((gfaulting - gmapped) // N))

-- 3. interrupt to Lua
do
  local h = assert(l4.irq.attach(9))
  local raise, wait = l4.debug.raise_irq, l4.irq.wait
  for _ = 1, 200 do raise(9); assert(wait(h)) end
  local t0 = rdtsc()
  for _ = 1, ROUNDS do raise(9); wait(h) end
  print(("bench irq_to_lua %d"):format((rdtsc() - t0) // ROUNDS))
  l4.irq.detach(h)
end
print("bench: done")
os.exit(0)
