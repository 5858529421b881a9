-- The init.lua of a boot of its own at 1 GiB (tests/run.py, lua.many_tasks):
-- tasks are limited only by memory (runtime/lua/tasktab.c). Spawns small
-- Lua tasks that sleep until it is refused (or until MAX), all at once;
-- prints how many and what one costs (pool pages and kernel frames);
-- deletes them and checks that the pool's pages in use are back where
-- they were (within 1%); then does it again: as many fit, and the kernel
-- frames too are back; ends QEMU with the status.
local l4 = require "l4"
local T = l4.task
local MAX, WANT = 5000, 1000
local failed = 0

local u = require "bindings_util"
local near, usage = u.near, u.usage

local function round(k)
  local u0 = usage()
  local t0, ids, why = l4.clock(), {}, nil
  while #ids < MAX do
    local id, msg = T.spawn{script = "exhaust.lua", args = {"idle"}, memcap = 64 << 10,
                            name = "many"}
    if not id then why = msg break end
    ids[#ids + 1] = id
  end
  local u1 = usage()
  -- At the edge a task may have started and then failed (a page the
  -- kernel could not map: its pool is what runs out first): count those.
  local n, lost = 0, 0
  for _, id in ipairs(ids) do
    if T.info(id).state == "running" then n = n + 1 else lost = lost + 1 end
  end
  local secs = (l4.clock() - t0) / 1e6
  print(("many_tasks: round %d: %d tasks running at once (%d more failed at the edge; then: %s) "
    .. "in %.1f s; per task %.1f pool pages and %.1f kernel frames (%d KiB together); "
    .. "pool %d pages, kernel pool %d of %d frames")
    :format(k, n, lost, why or ("the test's own limit " .. MAX), secs, (u1.used - u0.used) / #ids,
            (u1.kmem - u0.kmem) / #ids, ((u1.used - u0.used) + (u1.kmem - u0.kmem)) * 4 // #ids,
            u1.pool, u1.kmem, u1.klimit))
  assert(lost <= 8, lost .. " tasks failed")
  for _, id in ipairs(ids) do assert(T.delete(id)) end
  local u2 = usage()
  print(("many_tasks: round %d: deleted; pool pages in use %d -> %d, kernel frames %d -> %d, "
    .. "records %d -> %d"):format(k, u0.used, u2.used, u0.kmem, u2.kmem, u0.records, u2.records))
  assert(near(u0.used, u2.used, u2.pool), "pool pages not given back")
  -- The first round grows the pool (and the root's page tables and the
  -- kernel's records of the pool's mappings, and the pager's records),
  -- which stay for reuse: from the second on, all comes back.
  if k > 1 then
    assert(near(u0.kmem, u2.kmem, u2.klimit), "kernel frames not given back")
    assert(near(u0.records, u2.records, u2.records), "the pager's records grew")
  end
  assert(l4.debug.mdb_check(), "mapping database inconsistent")
  return n
end

local function run(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  print(ok and ("ok " .. name) or ("FAIL " .. name .. ": " .. tostring(err)))
  if not ok then failed = failed + 1 end
end

local n1
run("many_tasks_at_once", function()
  n1 = round(1)
  assert(n1 >= WANT, ("only %d tasks at once (want %d)"):format(n1, WANT))
end)
run("many_tasks_again", function()
  local n2 = round(2)
  -- as many as the first time, give or take the edge: up to 8 tasks may
  -- start and then fail there (round), so the count that runs may differ
  -- by a few from round to round (1954 then 1953 was seen)
  assert(n2 + 8 >= (n1 or WANT), ("round 2: %d tasks, round 1 %d"):format(n2, n1 or 0))
end)
print(("ktest: %d passed, %d failed"):format(2 - failed, failed))
os.exit(failed == 0 and 0 or 1)
