-- virtio_blk.lua: the virtio-blk driver, a Lua task of its own (the plan's
-- "disk0"; docs/drivers.md "virtio-blk, a worked example"). It claims the
-- n-th virtio block function from the device manager, drives it through
-- virtio.lua with one request queue, and serves the block protocol
-- (scripts/blk.lua is the client):
--
--   INFO                -> 0, sectors, sector size (512), read-only (0/1)
--   READ lba, count     -> 0, s the count * 512 bytes
--   WRITE lba, s data   -> 0                 (#data a multiple of 512)
--   FLUSH               -> 0
--   STATS               -> 0, requests, errors, the device's time (the TSC
--                          from each request's notify to its interrupt,
--                          summed: under make bench's icount, virtual time
--                          the CPU spent waiting, not instructions), the
--                          times the device was set up again (below)
--   FAULT n, s "register"  (service_proto.lua; the root task only) -> 0:
--                          writes wrong value n (0 a reset, 1 the FAILED
--                          bit, 3 the feature bits: now; 2: the next
--                          request's notify names queue 5):
--                          docs/reliability.md "Wrong values in device
--                          registers"
--   an error            -> 1, code (an errno: 5 EIO, 22 EINVAL, 30 EROFS,
--                             95 EOPNOTSUPP, 16 EBUSY), s message
--
-- A request is 1-128 sectors (64 KiB: what a message's string carries).
-- Its data travels in the message as a string (copied by the kernel into
-- this task's receive buffer, then by l4.mem into DMA memory; a read the
-- other way) and the client blocks in its call until the device is done:
-- SLOTS requests are in the device at once, the others wait here in
-- order. Arguments: the name ("disk0"), which virtio block function (0).
--
-- The device is watched: when requests are in it and none has come back
-- for WATCH_MS, and at each INFO (the supervisor's ping), the driver reads
-- the device's status; if it is not what the driver set (a reset, FAILED,
-- NEEDS_RESET: a wrong value written to a register, or the device's own
-- trouble) it resets the device, sets it up again in the same DMA memory
-- and gives it again the requests it held, in the order they came (a
-- write done twice writes the same bytes); if the status is right, it
-- notifies the queue again (a notify lost). A client sees its request
-- take longer, never fail or vanish.
local l4 = require "l4"
local device = require "device"
local virtio = require "virtio"
local blk = require "blk"

local name, which = ...
name, which = name or "disk0", which or 0

local SECTOR, MAX = blk.SECTOR, blk.MAX_BYTES
local SLOTS = 8                          -- requests in the device at once
local WAITING_MAX = 256                  -- requests waiting for a slot
local T_IN, T_OUT, T_FLUSH = 0, 1, 4     -- virtio-blk request types
local S_OK, S_UNSUPP = 0, 2              -- and statuses
local F_RO, F_BLK_SIZE, F_FLUSH = 1 << 5, 1 << 6, 1 << 9
local EIO, EINVAL, EROFS, EOPNOTSUPP, EBUSY = 5, 22, 30, 95, 16
local WATCH_MS = 100                     -- a request in the device this long: look
local FAULT = require("service_proto").FAULT
-- Loaded now, not at the first FAULT: the file service, on this disk,
-- may be in a call to this driver then, and a require (a read through
-- the file service) sent to it meanwhile lands as that call's reply (the
-- file service took the disk for gone, the require failed, and the
-- driver with it: make faultinject with its disk, fault 13 of seed
-- 0x5e10d1)
local fault = require "fault"

local function log(fmt, ...) print(("%s: " .. fmt):format(name, ...)) end

-- The function: a transitional (0x1001) or modern-only (0x1042) device.
local dev, err, code = device.claim(0x1af4, 0x1001, which)
if not dev then dev, err, code = device.claim(0x1af4, 0x1042, which) end
if not dev and code == device.E_REFUSED then
  log("no disk: %s", tostring(err))
  return            -- exits: nothing to drive (the plan restarts it on failure only)
elseif not dev then  -- no manager (yet): a failure, restarted after a back-off
  error(("%s: %s"):format(name, tostring(err)), 0)
end

-- Bus mastering and memory decoding on (the manager turns them off
-- between holders), INTx unmasked.
local cmd = assert(dev:config_read(0x04))
assert(dev:config_write(0x04, (cmd & 0xffff & ~0x400) | 0x6))

local v = assert(virtio.open(dev))
assert(v:reset())
local WANT = F_RO | F_BLK_SIZE | F_FLUSH
local feats = assert(v:negotiate(WANT))
local SET = virtio.ACKNOWLEDGE | virtio.DRIVER | virtio.FEATURES_OK | virtio.DRIVER_OK

-- DMA memory: one page for the queue, the request headers (16 bytes a
-- slot, at 2048) and the status bytes (at 3072); SLOTS * 64 KiB of data.
local ring = assert(dev:dma(12))
local data = assert(dev:dma(19))
local HDR, STATUS = 2048, 3072
local q = assert(v:queue(0, 64, ring, 0))
local irq <close> = assert(l4.irq.attach(dev.irq))  -- held for the task's life
v:ready()

local sectors = v:cfg64(0)
local readonly = feats & F_RO ~= 0

local free = {}                  -- slot numbers not in the device
for s = SLOTS - 1, 0, -1 do free[#free + 1] = s end
local by_head = {}               -- descriptor head -> the request in the device
local waiting, first, last = {}, 1, 0   -- requests waiting for a slot, FIFO

local rdtsc = l4.debug.rdtsc
local stats = {requests = 0, errors = 0, device = 0, resets = 0}
local progress = l4.clock()      -- when a request last came back (or went into an idle device)
local seq = 0                    -- requests started, numbered in order
local wrong_kick = false         -- FAULT 2: the next notify names a wrong queue

local function fail(from, errno, msg)
  stats.errors = stats.errors + 1
  l4.reply(from, 1, errno, msg)
end

-- Puts a request into the device in slot s.
local function submit(r, s)
  local h = HDR + 16 * s
  ring:write32(h, r.type)
  ring:write32(h + 4, 0)
  ring:write64(h + 8, r.lba)
  ring:write8(STATUS + s, 0xff)
  local chain = {{ring:phys() + h, 16, false}}
  if r.type == T_OUT then
    data:write(s * MAX, r.data)
    chain[2] = {data:phys() + s * MAX, #r.data, false}
  elseif r.type == T_IN then
    chain[2] = {data:phys() + s * MAX, r.count * SECTOR, true}
  end
  chain[#chain + 1] = {ring:phys() + STATUS + s, 1, true}
  if next(by_head) == nil then progress = l4.clock() end
  r.slot = s
  by_head[assert(q:add(chain))] = r
  if wrong_kick then
    wrong_kick = false
    q:kick_wrong(5)
  else
    q:kick()
  end
  r.t0 = rdtsc()
end

local function start(r)
  seq = seq + 1
  r.seq = seq
  if #free > 0 then return submit(r, table.remove(free)) end
  if last - first + 1 >= WAITING_MAX then
    return fail(r.from, EBUSY, "too many requests waiting")
  end
  last = last + 1
  waiting[last] = r
end

-- A request the device gave back: the reply to its client.
local function done(head, _, now)
  local r = by_head[head]
  if not r then return end       -- (a chain given before a reset, back late)
  by_head[head] = nil
  progress = l4.clock()
  stats.device = stats.device + (now - r.t0)
  local s = r.slot
  local st = ring:read8(STATUS + s)
  if st == S_OK then
    if r.type == T_IN then
      l4.reply(r.from, 0, data:read(s * MAX, r.count * SECTOR))
    else
      l4.reply(r.from, 0)
    end
  elseif st == S_UNSUPP then
    fail(r.from, EOPNOTSUPP, "the disk does not support this request")
  else
    fail(r.from, EIO, ("I/O error (status %d) at sector %d"):format(st, r.lba))
  end
  free[#free + 1] = s
  if first <= last then
    local w = waiting[first]
    waiting[first] = nil
    first = first + 1
    submit(w, table.remove(free))
  end
end

-- Checks a sector range: nil, or the errno and message to answer.
local function range(lba, count)
  if math.type(lba) ~= "integer" or math.type(count) ~= "integer" or lba < 0 or count < 1 then
    return EINVAL, "lba and count must be integers, lba >= 0, count >= 1"
  end
  if count * SECTOR > MAX then
    return EINVAL, ("at most %d sectors a request"):format(MAX // SECTOR)
  end
  if lba > sectors - count then
    return EINVAL, ("sectors %d-%d beyond the disk's end (%d sectors)"):format(lba,
      lba + count - 1, sectors)
  end
end

-- The device's status is not what the driver set: reset, set up again
-- (the same queue memory, the same features), and the requests it held
-- given again in the order they came.
local function set_up_again(status)
  stats.resets = stats.resets + 1
  local held = {}
  for _, r in pairs(by_head) do held[#held + 1] = r end
  table.sort(held, function(x, y) return x.seq < y.seq end)
  log("the device's status reads 0x%02x, not 0x%02x: reset and set up again, %d requests given again",
      status, SET, #held)
  by_head = {}
  assert(v:reset())
  local got = assert(v:negotiate(WANT))
  assert(got == feats, "the device offers other features now")
  q = assert(v:queue(0, 64, ring, 0))
  v:ready()
  for _, r in ipairs(held) do submit(r, r.slot) end
  progress = l4.clock()
end

-- Looks at the device: its status, and a request that waits too long.
local function watch(stalled)
  local st = v:status()
  if st ~= SET then return set_up_again(st) end
  if stalled then q:kick() end    -- a notify lost: tell the device again
end

-- FAULT n, "register": a wrong value written now (scripts/fault.lua
-- checks who asks and what).
local function inject(from, n, kind)
  local what, why = fault.register(from, n, kind)
  if not what then return fail(from, EINVAL, why) end
  if what == "notify" then wrong_kick = true else v:wrong_register(what) end
  l4.reply(from, 0)
end

local handlers = {
  [blk.INFO] = function(from)
    watch(false)
    l4.reply(from, 0, sectors, SECTOR, readonly and 1 or 0)
  end,
  [blk.READ] = function(from, lba, count)
    local e, m = range(lba, count)
    if e then return fail(from, e, m) end
    start{from = from, type = T_IN, lba = lba, count = count}
  end,
  [blk.WRITE] = function(from, lba, bytes)
    if type(bytes) ~= "string" or #bytes == 0 or #bytes % SECTOR ~= 0 then
      return fail(from, EINVAL, ("data must be a non-empty multiple of %d bytes"):format(SECTOR))
    end
    local e, m = range(lba, #bytes // SECTOR)
    if e then return fail(from, e, m) end
    if readonly then return fail(from, EROFS, "the disk is read-only") end
    start{from = from, type = T_OUT, lba = lba, data = bytes}
  end,
  [blk.STATS] = function(from)
    l4.reply(from, 0, stats.requests, stats.errors, stats.device, stats.resets)
  end,
  [FAULT] = inject,
  [blk.FLUSH] = function(from)
    -- without F_FLUSH the device writes through: nothing to wait for
    if feats & F_FLUSH == 0 then return l4.reply(from, 0) end
    start{from = from, type = T_FLUSH, lba = 0}
  end,
}

local IRQ = "irq"
while true do
  local from, label, a, b
  if next(by_head) then
    from, label, a, b = l4.receive(nil, WATCH_MS)
  else
    from, label, a, b = l4.receive()
  end
  if from == nil then
    -- a failed receive (cancelled), or the watch's timeout
    if next(by_head) and l4.clock() - progress >= WATCH_MS * 1000 then
      watch(true)
      progress = l4.clock()
    end
  elseif label == IRQ then
    local now = rdtsc()
    v:isr()                                  -- acknowledges the device
    q:collect(function(head, len) done(head, len, now) end)
  else
    stats.requests = stats.requests + 1
    local h = handlers[label]
    if h then h(from, a, b)
    else fail(from, EINVAL, ("no request %s"):format(tostring(label))) end
  end
end
