-- virtio_net.lua: the virtio-net driver, a Lua task of its own (the plan's
-- "net0"; docs/network.md, docs/drivers.md). It claims the n-th virtio
-- network function from the device manager, drives it through virtio.lua
-- with one receive queue (0) and one transmit queue (1), and speaks the
-- frame protocol of scripts/nic.lua with the network service.
--
-- Buffers: RX_SLOTS receive buffers of BUF bytes and TX_SLOTS transmit
-- buffers, in DMA memory. Every buffer starts with the 12-byte virtio-net
-- header (VERSION_1: the header has num_buffers; no offloads are taken,
-- so a transmitted header is all zero and a received one is skipped).
-- A received frame is copied out of its buffer and the buffer goes back
-- to the device at once; the frames of one interrupt go to the user in
-- one message. A frame to send waits for a free transmit buffer in the
-- device no longer than the XMIT call: one that finds none is dropped
-- (counted), as a full NIC drops, and TCP sends it again.
--
-- Besides nic.lua's requests: STATS gives a fifth count, the times the
-- device was set up again (below), and FAULT n, "register"
-- (service_proto.lua; the root task only; scripts/fault.lua) -> 0 writes
-- wrong value n: 0 a reset, 1 the FAILED bit, 3 the feature bits: now;
-- 2: the next transmit notify names queue 5 (docs/reliability.md "Wrong
-- values in device registers").
--
-- The device is watched: when frames to send are in it and none has
-- come back for WATCH_MS, and at each INFO (the supervisor's ping), the
-- driver reads the device's status; if it is not what the driver set (a
-- reset, FAILED, NEEDS_RESET: a wrong value written to a register, or
-- the device's own trouble) it hands the user what the device received
-- before, resets the device, sets it up again in the same DMA memory
-- with every receive buffer, and gives it again the frames to send it
-- held, in the order they came (one the device sent just before the
-- reset goes twice: the network may double a frame); if the status is
-- right and frames wait, it notifies the transmit queue again (a notify
-- lost).
-- Arguments: the name ("net0"), which virtio network function (0).
local l4 = require "l4"
local device = require "device"
local virtio = require "virtio"
local nic = require "nic"

local name, which = ...
name, which = name or "net0", which or 0

local HDR = 12                          -- struct virtio_net_hdr with num_buffers
local BUF = 2048                        -- a buffer: header + a 1514-byte frame, rounded
local RX_SLOTS, TX_SLOTS = 64, 64
local F_MAC, F_STATUS = 1 << 5, 1 << 16
local FRAME_MIN, FRAME_MAX = 14, 1514   -- an Ethernet header; the MTU's frame
local WATCH_MS = 100                    -- frames to send in the device this long: look

local function log(fmt, ...) print(("%s: " .. fmt):format(name, ...)) end

-- A transitional (0x1000) or modern-only (0x1041) network function.
local dev, err, code = device.claim(0x1af4, 0x1000, which)
if not dev then dev, err, code = device.claim(0x1af4, 0x1041, which) end
if not dev and code == device.E_REFUSED then
  log("no network card: %s", tostring(err))
  return            -- exits: nothing to drive
elseif not dev then
  error(("%s: %s"):format(name, tostring(err)), 0)
end

local cmd = assert(dev:config_read(0x04))
assert(dev:config_write(0x04, (cmd & 0xffff & ~0x400) | 0x6))

local v = assert(virtio.open(dev))
assert(v:reset())
local WANT = F_MAC | F_STATUS
local feats = assert(v:negotiate(WANT))
local SET = virtio.ACKNOWLEDGE | virtio.DRIVER | virtio.FEATURES_OK | virtio.DRIVER_OK

-- DMA memory: one page for each queue, RX_SLOTS and TX_SLOTS buffers.
local rings = assert(dev:dma(13))
local rxmem = assert(dev:dma(17))       -- 64 * 2 KiB
local txmem = assert(dev:dma(17))
local rxq = assert(v:queue(0, RX_SLOTS, rings, 0))
local txq = assert(v:queue(1, TX_SLOTS, rings, 4096))
local irq <close>, why = l4.irq.attach(dev.irq or -1)
if not irq then error(("%s: interrupt line %s: %s"):format(name, tostring(dev.irq), why), 0) end

-- The MAC address from the config space (F_MAC), else a fixed local one.
local mac
if feats & F_MAC ~= 0 then
  local b = {}
  for i = 0, 5 do b[#b + 1] = string.char(v:cfg8(i)) end
  mac = table.concat(b)
else
  mac = "\x52\x54\x00\x12\x34\x56"
end

local rx_head = {}                      -- descriptor head -> buffer slot
local function give_rx(slot)
  local head = assert(rxq:add{{rxmem:phys() + slot * BUF, BUF, true}})
  rx_head[head] = slot
end
for s = 0, RX_SLOTS - 1 do give_rx(s) end
v:ready()
rxq:kick()

local tx_free, tx_head = {}, {}          -- free slots; descriptor head -> slot
local tx_len, tx_seq, seq = {}, {}, 0   -- a slot's bytes, its place in the order sent
for s = TX_SLOTS - 1, 0, -1 do tx_free[#tx_free + 1] = s end
local stats = {rx = 0, tx = 0, rx_drop = 0, tx_drop = 0, resets = 0}
local tx_since = l4.clock()             -- when a sent frame last came back (or went into an idle device)
local wrong_kick = false                -- FAULT 2: the next transmit notify names a wrong queue
local user                              -- the thread that ATTACHed
local RX_OPTS = {send = nic.RX_WAIT}

local function reap_tx()
  if txq:collect(function(head)
    tx_free[#tx_free + 1] = tx_head[head]
    tx_head[head] = nil
  end) > 0 then
    tx_since = l4.clock()
  end
end

-- The frames the device received since the last call (their buffers
-- given back to it).
local function take_rx()
  local frames = {}
  rxq:collect(function(head, len)
    local slot = rx_head[head]
    rx_head[head] = nil
    local n = len - HDR
    if n >= FRAME_MIN and n <= FRAME_MAX then
      frames[#frames + 1] = rxmem:read(slot * BUF + HDR, n)
    else
      stats.rx_drop = stats.rx_drop + 1
    end
    give_rx(slot)
  end)
  return frames
end

-- Frames received, to the user.
local function deliver(frames)
  if #frames == 0 then return end
  if not user then
    stats.rx_drop = stats.rx_drop + #frames
    return
  end
  stats.rx = stats.rx + #frames
  for _, batch in ipairs(nic.pack(frames)) do
    local ok, _, c = l4.send(user, RX_OPTS, nic.RX, batch)
    if not ok then
      stats.rx_drop = stats.rx_drop + #nic.unpack(batch)
      if c == l4.E.nopartner then user = nil end
    end
  end
end

local function receive()
  local frames = take_rx()
  rxq:kick()
  deliver(frames)
end

local function xmit(from, packed)
  if type(packed) ~= "string" then
    return l4.reply(from, 1, "XMIT wants a string of packed frames")
  end
  reap_tx()
  local sent, dropped = 0, 0
  for _, f in ipairs(nic.unpack(packed)) do
    local slot = #f >= FRAME_MIN and #f <= FRAME_MAX and table.remove(tx_free)
    if slot then
      local at = slot * BUF
      txmem:fill(at, HDR)
      txmem:write(at + HDR, f)
      if next(tx_head) == nil then tx_since = l4.clock() end
      seq = seq + 1
      tx_len[slot], tx_seq[slot] = HDR + #f, seq
      tx_head[assert(txq:add{{txmem:phys() + at, HDR + #f, false}})] = slot
      sent = sent + 1
    else
      dropped = dropped + 1
    end
  end
  if sent > 0 then
    if wrong_kick then
      wrong_kick = false
      txq:kick_wrong(5)
    else
      txq:kick()
    end
  end
  stats.tx, stats.tx_drop = stats.tx + sent, stats.tx_drop + dropped
  l4.reply(from, 0, sent, dropped)
end

-- The device's status is not what the driver set: what it received
-- before to the user; reset; set up again (the same memory, the same
-- features, every receive buffer); the frames to send it held given
-- again in the order they came.
local function set_up_again(status)
  stats.resets = stats.resets + 1
  reap_tx()
  local frames = take_rx()
  local held = {}
  for _, slot in pairs(tx_head) do held[#held + 1] = slot end
  table.sort(held, function(x, y) return tx_seq[x] < tx_seq[y] end)
  log("the device's status reads 0x%02x, not 0x%02x: reset and set up again, %d frames given again",
      status, SET, #held)
  tx_head, rx_head = {}, {}
  assert(v:reset())
  local got = assert(v:negotiate(WANT))
  assert(got == feats, "the device offers other features now")
  rxq = assert(v:queue(0, RX_SLOTS, rings, 0))
  txq = assert(v:queue(1, TX_SLOTS, rings, 4096))
  for s = 0, RX_SLOTS - 1 do give_rx(s) end
  v:ready()
  rxq:kick()
  for _, slot in ipairs(held) do
    tx_head[assert(txq:add{{txmem:phys() + slot * BUF, tx_len[slot], false}})] = slot
  end
  if #held > 0 then txq:kick() end
  tx_since = l4.clock()
  deliver(frames)
end

-- Looks at the device: its status, and frames to send that wait too long.
local function watch(stalled)
  local st = v:status()
  if st ~= SET then return set_up_again(st) end
  if stalled then txq:kick() end    -- a notify lost: tell the device again
end

-- FAULT n, "register": a wrong value written now (scripts/fault.lua
-- checks who asks and what; loaded at the start, not here: a require is
-- a read through the file service, which must not meet a server while
-- it serves, as virtio_blk.lua says).
local fault = require "fault"
local function inject(from, n, kind)
  local what, why = fault.register(from, n, kind)
  if not what then return l4.reply(from, 1, why) end
  if what == "notify" then wrong_kick = true else v:wrong_register(what) end
  l4.reply(from, 0)
end

local handlers = {
  [nic.INFO] = function(from)
    l4.reply(from, 0, 1500, mac)
    watch(false)
  end,
  [nic.ATTACH] = function(from) user = from; l4.reply(from, 0) end,
  [nic.XMIT] = xmit,
  [nic.STATS] = function(from)
    l4.reply(from, 0, stats.rx, stats.tx, stats.rx_drop, stats.tx_drop, stats.resets)
  end,
  [require("service_proto").FAULT] = inject,
}

while true do
  local from, label, a, b
  if next(tx_head) then
    from, label, a, b = l4.receive(nil, WATCH_MS)
  else
    from, label, a, b = l4.receive()
  end
  if next(tx_head) and l4.clock() - tx_since >= WATCH_MS * 1000 then
    reap_tx()                                -- (back, and no interrupt seen yet?)
    if next(tx_head) then watch(true) end
    tx_since = l4.clock()
  end
  if from == nil then
    -- a cancelled receive, or the watch's timeout: receive again
  elseif label == "irq" then
    v:isr()                                  -- acknowledges the device
    reap_tx()
    receive()
  else
    local h = handlers[label]
    if h then h(from, a, b)
    else l4.reply(from, 1, ("no request %s"):format(tostring(label))) end
  end
end
