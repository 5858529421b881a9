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
local feats = assert(v:negotiate(F_MAC | F_STATUS))

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

local tx_free, tx_head = {}, {}
for s = TX_SLOTS - 1, 0, -1 do tx_free[#tx_free + 1] = s end
local stats = {rx = 0, tx = 0, rx_drop = 0, tx_drop = 0}
local user                              -- the thread that ATTACHed
local RX_OPTS = {send = nic.RX_WAIT}

local function reap_tx()
  txq:collect(function(head)
    tx_free[#tx_free + 1] = tx_head[head]
    tx_head[head] = nil
  end)
end

-- The frames the device received since the last call, to the user.
local function receive()
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
  rxq:kick()
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
      tx_head[assert(txq:add{{txmem:phys() + at, HDR + #f, false}})] = slot
      sent = sent + 1
    else
      dropped = dropped + 1
    end
  end
  if sent > 0 then txq:kick() end
  stats.tx, stats.tx_drop = stats.tx + sent, stats.tx_drop + dropped
  l4.reply(from, 0, sent, dropped)
end

local handlers = {
  [nic.INFO] = function(from) l4.reply(from, 0, 1500, mac) end,
  [nic.ATTACH] = function(from) user = from; l4.reply(from, 0) end,
  [nic.XMIT] = xmit,
  [nic.STATS] = function(from)
    l4.reply(from, 0, stats.rx, stats.tx, stats.rx_drop, stats.tx_drop)
  end,
}

while true do
  local from, label, a = l4.receive()
  if from == nil then
    -- a cancelled receive: receive again
  elseif label == "irq" then
    v:isr()                                  -- acknowledges the device
    reap_tx()
    receive()
  else
    local h = handlers[label]
    if h then h(from, a)
    else l4.reply(from, 1, ("no request %s"):format(tostring(label))) end
  end
end
