-- The disk boot's cases (tests/blk/init.lua runs them in the root task):
-- the block driver through scripts/blk.lua as a client uses it, several
-- clients at once, errors, the driver killed mid-request and restarted,
-- and the device manager's refusals to a hostile task.
local l4 = require "l4"
local blk = require "blk"
local names = require "names"
local service = require "service"
local P = require "pattern"

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

local function check(cond, fmt, ...)
  if not cond then error(fmt and fmt:format(...) or "check failed", 2) end
end

local function wait_for(ms, fn)
  local deadline = l4.clock() + ms * 1000
  while l4.clock() < deadline do
    if fn() then return true end
    l4.sleep(10)
  end
  return fn()
end

local SECTORS = 16384                   -- the runner's 8 MiB image

local function open()
  local d
  check(wait_for(5000, function() d = blk.open("disk0"); return d end), "no disk0")
  return d
end

case("pci_find_the_disk", function()
  local b, d, f = require("pci").find(0x1af4, {[0x1001] = true, [0x1042] = true})
  check(b == 0 and d == 3 and f == 0, "virtio-blk at %s:%s.%s", b, d, f)
end)

case("blk_info", function()
  local d = open()
  local i = assert(d:info())
  check(i.sectors == SECTORS and i.sector_size == 512 and i.readonly == false,
        "info: %d sectors of %d", i.sectors, i.sector_size)
end)

case("blk_read_host_bytes", function()
  local d = open()
  check(assert(d:read(0, 1)) == P.host(0), "sector 0")
  check(assert(d:read(SECTORS - 1, 1)) == P.host(SECTORS - 1), "the last sector")
  -- 100 KiB: two requests
  local got = assert(d:read(300, 200))
  check(got == P.range(P.host, 300, 200), "sectors 300-499")
end)

-- Written here, checked by the runner in the image after QEMU ended.
case("blk_write_read_back", function()
  local d = open()
  local four = P.range(P.guest, 1000, 8, "guest")
  check(assert(d:write(1000, four)), "write 4 KiB")
  local big = P.range(P.guest, 2000, 200, "big")      -- 100 KiB: two requests
  check(assert(d:write(2000, big)), "write 100 KiB")
  check(assert(d:flush()), "flush")
  check(assert(d:read(1000, 8)) == four, "read back 4 KiB")
  check(assert(d:read(2000, 200)) == big, "read back 100 KiB")
  check(assert(d:read(999, 1)) == P.host(999), "the sector before is the host's")
  check(assert(d:read(1008, 1)) == P.host(1008), "the sector after is the host's")
end)

case("blk_errors", function()
  local d = open()
  local function refused(want, ok, msg, code)
    check(ok == nil and code == want, "want nil, code %d; got %s, %s, %s", want,
          tostring(ok), tostring(msg), tostring(code))
    return msg
  end
  local m = refused(22, d:read(SECTORS, 1))
  check(m:find("beyond the disk's end"), m)
  refused(22, d:read(SECTORS - 4, 8))
  refused(22, d:write(SECTORS - 1, ("x"):rep(1024)))
  refused(22, d:read(-1, 1))
  refused(22, d:read(0, 0))
  refused(22, d:write(0, "not a sector"))
  refused(22, d:write(0, ""))
  -- a request the driver does not know, sent by hand
  local id = names.lookup("disk0")
  local from, label, code, msg = l4.call(id, 99, 1)
  check(from and label == 1 and code == 22 and msg:find("no request"), tostring(msg))
  -- the driver goes on serving
  check(assert(d:read(0, 1)) == P.host(0), "sector 0 after the errors")
end)

-- Clients in tasks of their own, each reading and writing its own range:
-- requests of four clients in the device at once.

local function spawn(script, name, ...)
  return assert(l4.task.spawn{script = script, name = name, args = table.pack(...),
                              memcap = 4 << 20})
end

case("blk_several_clients", function()
  local ids = {}
  for i = 1, 4 do ids[i] = spawn("reader.lua", "reader", 4000 + 256 * i, 128, "c" .. i) end
  for i = 1, 4 do
    local how, status = l4.task.wait(ids[i], 20000)
    check(how == "exited" and status == 0, "client %d: %s %s", i, tostring(how), tostring(status))
  end
  local d = open()
  for i = 1, 4 do
    check(assert(d:read(4000 + 256 * i, 128)) == P.range(P.guest, 4000 + 256 * i, 128, "c" .. i .. 4),
          "client %d's last round", i)
  end
end)

-- Wrong values written to the device's registers (the driver's FAULT,
-- drivers-lua/virtio_blk.lua; docs/reliability.md "Wrong values in device
-- registers"), 10 times each of the four, in turn, five rounds while two
-- clients read and five alone: the root arms one, writes 8 sectors (a new
-- place each time) and reads them back. Each write must be acknowledged within
-- 5 s and read back right; the driver must have reset and set up the
-- device again once for each fault that left a wrong status (a reset,
-- FAILED: after the next INFO at the latest), and not for the others (a
-- lost notify is told again; feature bits written after FEATURES_OK are
-- ignored by the device); the readers see no error. The runner checks
-- the 320 sectors on the host after (tests/run.py). Alone, a notify of
-- the wrong queue must hold the write until the watch (100 ms) tells the
-- device again. Before the driver watched the device nothing noticed a
-- reset (its loop received with no timeout: read, not run).
case("blk_wrong_register_values", function()
  local FAULT = require("service_proto").FAULT
  local d = open()
  local driver = assert(names.lookup("disk0"))
  local readers = {}
  for i = 1, 2 do readers[i] = spawn("loop.lua", "loop") end
  local KINDS = {[0] = "reset", "failed", "notify", "features"}
  local times = {[true] = {}, [false] = {}}   -- with the readers, alone: kind -> ms
  local written = 0
  local function readers_done()
    for i = 1, 2 do
      local how, status = l4.task.wait(readers[i], 20000)
      check(how == "exited" and status == 0, "reader %d: %s %s", i, tostring(how), tostring(status))
    end
  end
  for round = 1, 10 do
    -- the second half alone: a notify lost is then no other client's
    -- notify's to make up for, and the watch must tell the device again
    if round == 6 then readers_done() end
    local busy = round <= 5
    for n = 0, 3 do
      local before = assert(d:stats()).resets
      local from, label = l4.call(driver, {timeout = 2000}, FAULT, n, "register")
      check(from == driver and label == 0, "%s: FAULT not taken (%s)", KINDS[n], tostring(label))
      local lba = 9000 + 8 * written
      local t0 = l4.clock()
      local ok, err = d:write(lba, P.range(P.guest, lba, 8, "reg"))
      local ms = (l4.clock() - t0) // 1000
      check(ok, "%s, round %d: the write failed: %s", KINDS[n], round, tostring(err))
      check(ms < 5000, "%s, round %d: the write took %d ms", KINDS[n], round, ms)
      written = written + 1
      local t = times[busy]
      t[n] = t[n] or {}
      t[n][#t[n] + 1] = ms
      check(assert(d:read(lba, 8)) == P.range(P.guest, lba, 8, "reg"),
            "%s, round %d: the write did not read back", KINDS[n], round)
      assert(d:info())                -- the driver looks at the status then too
      local resets = assert(d:stats()).resets - before
      local want = (n == 0 or n == 1) and 1 or 0
      check(resets == want, "%s, round %d: the device set up again %d times, not %d",
            KINDS[n], round, resets, want)
    end
  end
  for i = 0, written - 1 do
    local lba = 9000 + 8 * i
    check(assert(d:read(lba, 8)) == P.range(P.guest, lba, 8, "reg"), "the write at %d after", lba)
  end
  check(names.lookup("disk0") == driver, "the driver was restarted")
  for _, busy in ipairs{true, false} do
    local parts = {}
    for n = 0, 3 do
      local t = times[busy][n]
      table.sort(t)
      parts[#parts + 1] = ("%s median %d ms, max %d ms"):format(KINDS[n], t[(#t + 1) // 2], t[#t])
    end
    print(("blk: wrong register values, %s, time to the write acknowledged: %s"):format(
      busy and "2 readers busy" or "alone", table.concat(parts, "; ")))
  end
  -- alone, a notify of the wrong queue leaves the write waiting until
  -- the watch tells the device again (else the fault did nothing); most
  -- of the time: a device set up again just before (FAILED's repair, at
  -- the INFO before) may look at its queue once by itself as it starts
  local t = times[false][2]
  check(t[3] >= 50, "a wrong notify, alone: the write done in %d ms (the median)", t[3])
end)

local function manager_list()
  return assert(service.call("devices", require("device").LIST))
end

-- The driver task deleted while clients' requests are in it: each request
-- ends (data or an error, never a hang), the supervisor starts a new
-- driver, the manager resets the function and gives it, with the same
-- DMA memory, to the new one; the disk reads as before.

case("blk_driver_killed_mid_request", function()
  local before = manager_list()
  local old = assert(names.lookup("disk0"))
  local ids = {}
  for i = 1, 3 do ids[i] = spawn("loop.lua", "loop") end
  l4.sleep(300)
  assert(l4.task.delete(old))
  local errors = 0
  for i = 1, 3 do
    local how, status = l4.task.wait(ids[i], 30000)
    check(how == "exited", "client %d: %s %s", i, tostring(how), tostring(status))
    errors = errors + status
  end
  check(errors > 0, "no client saw the driver die")
  local new
  check(wait_for(5000, function()
    new = names.lookup("disk0")
    return new and new ~= old and blk.open("disk0")
  end), "no new driver")
  local d = open()
  check(assert(d:read(1000, 8)) == P.range(P.guest, 1000, 8, "guest"), "the disk after")
  local after = manager_list()
  check(after:find("held by " .. tostring(new), 1, true), after)
  -- the DMA memory went back to the manager and to the new driver: no
  -- more taken from sigma0 than before
  local function taken(s) return tonumber(s:match("dma taken (%d+)")) end
  check(taken(after) == taken(before), "DMA taken %s, before %s", taken(after), taken(before))
end)

-- The device manager killed, three times: each new one turns bus mastering
-- off and gives the DMA memory of the one before back to sigma0; disk0
-- (whose mappings went with it) fails, comes back and claims again. What
-- sigma0 has handed out is what it was, but for the root's heap and pool
-- growing: before, each kill lost the driver's 516 KiB of DMA memory.

case("devices_killed_gives_dma_back", function()
  local d = open()
  check(assert(d:read(1000, 8)) == P.range(P.guest, 1000, 8, "guest"), "the disk before")
  local function taken()     -- RAM sigma0 handed out, less the root's heap and pool
    local mapped = l4.sys.heap()
    return -assert(l4.mem.available()) - mapped - l4.task.stats().pool * 4096
  end
  local before = taken()
  for round = 1, 3 do
    local old = assert(names.lookup("devices"))
    check(l4.thread.kill(old), "kill devices")
    local new
    check(wait_for(10000, function()
      new = names.lookup("devices")
      if not new or new == old then return false end
      local dd = blk.open("disk0")
      local got = dd and dd:read(1000, 8)
      return got == P.range(P.guest, 1000, 8, "guest")
    end), "round %d: no disk after the manager came back", round)
    local list = manager_list()
    local back = tonumber(list:match("(%d+) given back at start"))
    check(back and back > 0, "round %d: %s", round, list)
  end
  local lost = taken() - before
  check(lost < 64 << 10, "%d bytes more handed out by sigma0 after 3 kills", lost)
  print(("  devices killed 3 times: sigma0's RAM handed out changed by %d bytes"):format(lost))
end)

-- A driver's memory BAR is uncached in its own page table, its DMA memory
-- cached (sigma0 maps device memory with PCD; each mapping passes it on).

case("devmgr_bar_uncached", function()
  local id = spawn("mapping.lua", "mapping")
  local how, status = l4.task.wait(id, 20000)
  check(how == "exited" and status == 0, "the mapping task: %s %s", tostring(how), tostring(status))
end)

-- A hostile task: asks for what is not its own.

case("devmgr_refusals", function()
  local id = spawn("hostile.lua", "hostile")
  local how, status = l4.task.wait(id, 20000)
  check(how == "exited" and status == 0, "the hostile task: %s %s", tostring(how), tostring(status))
  -- it ended: the IDE controller is kept for a task of its name
  local list = manager_list()
  check(list:find("00:01.1 8086:7010 irq %S+ free"), list)
  -- a task of another name cannot take it
  local other = spawn("other.lua", "other")
  local how2, st2 = l4.task.wait(other, 20000)
  check(how2 == "exited", "%s %s", tostring(how2), tostring(st2))
  -- in the root, adopt is refused (a fault there would stop the thread)
  local ok, err = pcall(l4.mem.adopt, l4.fpage(l4.mem.reserve(12), 12), 0, "ram")
  check(not ok and err:find("not in the root task"), tostring(err))
end)

return cases
