-- devmgr.lua: the device manager (docs/drivers.md "The device manager"),
-- a service in a thread of the root task (the plan's "devices"): the root
-- has sigma0, so it alone can map device memory and take RAM whose
-- physical address is known. It gives a driver in its own task exactly
-- what its PCI function needs, and nothing else:
--   - the function's configuration space, read and written through it
--     (the BARs, the expansion ROM and the header's fixed fields stay as
--     the firmware set them: a driver cannot move its BAR over another
--     device or over RAM);
--   - its memory BARs, mapped into the task (uncached: sigma0 maps device
--     memory with PCD, and a mapping keeps its caching bits);
--   - its I/O BARs' ports;
--   - its interrupt line: the manager grants it to the task (l4.irq.grant:
--     from then on the kernel lets only that task's threads attach it,
--     and takes it from a thread of another task that had attached it);
--     once the holder is gone the line stays the manager's (the root
--     task's) until the next holder. A line two held functions share
--     (PCI INTx) goes to the first holder only;
--   - DMA memory, whole naturally aligned blocks of RAM with their
--     physical addresses, up to a budget per device.
-- A function goes to the first task that claims it, and to no other task
-- while that task runs. Once it ended, only a task of the same name (the
-- supervisor restarts a driver under its name) may claim it: the manager
-- first resets the function (bus mastering, decoding off: no more DMA or
-- MMIO), takes back what was mapped on from the BARs, the ports and the
-- DMA memory (in every task), and zeroes the DMA memory, which it keeps
-- for the next holder: nothing the dead driver held is leaked. Nor does
-- a manager that dies leak its DMA memory: it keeps a list of the blocks
-- it took from sigma0 in the root's store, and the next one first turns
-- bus mastering off on every function (no device writes into them any
-- more) and gives them back to sigma0 (l4.mem.give_back).
--
-- Requests (integers before strings, as messages carry them); every one
-- but CLAIM and LIST comes from the holder's task only:
--   CLAIM vendor, device, [n]  -> s description (service.encode: bus, dev,
--        fn, vendor, device, irq, bars = {{index, kind, base, size}})
--   CONFIG_READ off            -> the dword at off (0-0xfc, a multiple of 4)
--   CONFIG_WRITE off, value    -> 1 (off 0x04, 0x0c, or 0x40-0xfc)
--   BAR index                  -> phys, size + a map item of the BAR (a
--        whole page or more: a BAR below 4 KiB brings its page with it)
--   PORTS index                -> base, count + a map item of the ports
--   DMA log2 (12-22)           -> phys + a map item of 2^log2 bytes of
--        zeroed RAM (rwx; the holder's window must take it)
--   RELEASE                    -> 1: the function reset, free for anyone
--   VGA_TEXT                   -> phys, again (1: a task of this name held it
--        before) + a map item of the legacy VGA text
--        screen's page (0xB8000, device memory): the screen console's; one
--        task holds it (and VGA_PORTS) at a time, kept for a task of the
--        same name once it ended, as a function is
--   VGA_PORTS                  -> base, count + a map item of the CRT
--        controller's ports 0x3D4-0x3D5 (the holder of VGA_TEXT only)
--   LIST                       -> s the DMA memory taken from sigma0, and a
--        line per function and its holder
local l4 = require "l4"
local pci = require "pci"
local service = require "service"
local P = require "device"          -- the labels, with the client side

local DMA_BUDGET = 8 << 20          -- bytes of DMA memory per function, by default
local STORE_KEY = "devices/dma"     -- the DMA blocks taken from sigma0: "phys:log2;..."

local function key(f) return ("%02x:%02x.%d"):format(f.bus, f.dev, f.fn) end

-- The running task of thread `from` as l4.task.list shows it, or nil.
local function task_of(from)
  for _, t in ipairs(l4.task.list()) do
    if t.id.task == from.task and t.state == "running" then return t end
  end
end

local function alive(d)
  if not d.holder then return false end
  local info = l4.task.info(d.holder)
  return info ~= nil and info.state == "running"
end

-- Another function on d's interrupt line that has a running holder, or nil.
local function sharer(state, d)
  for _, o in pairs(state.devices) do
    if o ~= d and o.irq == d.irq and alive(o) then return o end
  end
end

-- Takes everything back from the holder and resets the function.
local function reset(state, d)
  local cmd = pci.read32(d.f.bus, d.f.dev, d.f.fn, 0x04)
  -- bus master, memory and I/O decoding off, INTx masked (bit 10);
  -- writing the status half back as 0 clears none of its bits
  pci.write32(d.f.bus, d.f.dev, d.f.fn, 0x04, (cmd & 0xfff8 | 0x400) & 0xffff)
  for _, m in pairs(d.bars) do l4.unmap(m:fpage(), "flush") end
  for _, p in pairs(d.ports) do l4.unmap(p, "flush") end
  for _, m in ipairs(d.dma) do
    l4.unmap(m:fpage(), "flush")
    m:fill(0, m:size())
    local free = state.free[m:size()] or {}
    state.free[m:size()] = free
    free[#free + 1] = m
  end
  d.dma, d.dma_bytes, d.holder = {}, 0, nil
  if d.irq then             -- the line: a sharer's, else kept for the next holder
    local o = sharer(state, d)
    l4.irq.grant(d.irq, o and o.holder or l4.self())
  end
end

-- The function thread `from`'s task holds (after reclaiming dead holders),
-- or nil, message.
local function held(state, from)
  for _, d in pairs(state.devices) do
    if d.holder and d.holder.task == from.task then
      if alive(d) then return d end
      reset(state, d)
    end
  end
  return nil, "this task holds no device (devices: CLAIM first)"
end

local function describe(d)
  local bars = {}
  for _, b in ipairs(d.f.bars) do
    bars[#bars + 1] = {index = b.index, kind = b.kind, base = b.base, size = b.size}
  end
  local f = d.f
  return service.encode{bus = f.bus, dev = f.dev, fn = f.fn, vendor = f.vendor,
                        device = f.device, irq = d.irq, bars = bars}
end

local function claim(state, from, vendor, device, n)
  n = n or 0
  if math.type(vendor) ~= "integer" or math.type(device) ~= "integer"
      or math.type(n) ~= "integer" then
    error("CLAIM wants integers: vendor, device, [n]", 0)
  end
  local t = task_of(from)
  if not t then error("no such task", 0) end
  if from.task == l4.self().task then error("the root task maps devices itself", 0) end
  local i = 0
  for _, d in ipairs(state.order) do
    if d.f.vendor == vendor and d.f.device == device then
      if i == n then
        if d.holder and alive(d) then
          if d.holder.task == from.task then return describe(d) end
          error(("%s is held by task %s (%s)"):format(key(d.f), d.holder, d.name), 0)
        end
        if d.holder then reset(state, d) end
        if d.name and d.name ~= t.name then
          error(("%s is kept for a task named %s (it held it before)"):format(key(d.f), d.name), 0)
        end
        d.holder, d.name = t.id, t.name
        if d.irq and not sharer(state, d) then assert(l4.irq.grant(d.irq, t.id)) end
        return describe(d)
      end
      i = i + 1
    end
  end
  error(("no device %04x:%04x #%d"):format(vendor, device, n), 0)
end

-- Offsets of the header a driver may write: command, cache line size and
-- latency, and the device-specific part (capabilities).
local function writable(off)
  return off == 0x04 or off == 0x0c or off >= 0x40
end

local function check_off(off)
  if math.type(off) ~= "integer" or off < 0 or off > 0xfc or off % 4 ~= 0 then
    error("config offset must be 0-0xfc, a multiple of 4", 0)
  end
end

local function bar_of(d, index)
  for _, b in ipairs(d.f.bars) do
    if b.index == index then return b end
  end
  error(("%s has no BAR%s"):format(key(d.f), tostring(index)), 0)
end

-- The legacy VGA text screen: not a PCI function's BAR (the VGA function
-- decodes it for the ISA era), handed out as one (state.vga: holder, name,
-- mem and ports, mapped in the root once).
local VGA_PHYS, CRTC = 0xb8000, 0x3d4

local function vga_of(state, from)
  local v = state.vga
  if v.holder and v.holder.task ~= from.task and alive(v) then
    error(("the VGA text screen is held by task %s (%s)"):format(v.holder, v.name), 0)
  end
  if v.holder and v.holder.task ~= from.task then     -- its holder ended
    if v.mem then l4.unmap(v.mem:fpage(), "flush") end
    if v.ports then l4.unmap(v.ports, "flush") end
    v.holder = nil
  end
  if not v.holder then
    local t = task_of(from)
    if not t then error("no such task", 0) end
    if from.task == l4.self().task then error("the root task maps devices itself", 0) end
    if v.name and v.name ~= t.name then
      error(("the VGA text screen is kept for a task named %s (it held it before)"):format(v.name), 0)
    end
    v.again = v.name ~= nil           -- a task of this name held it before
    v.holder, v.name = t.id, t.name
  end
  return v
end

-- The DMA blocks a manager that ran before this one took from sigma0 (the
-- root's store): every function's bus mastering off, then each given back.
-- -> bytes given back.
local function dma_back(functions)
  local ok, list = pcall(l4.sys.store_get, STORE_KEY)
  if not ok or type(list) ~= "string" or list == "" then return 0 end
  for _, f in ipairs(functions) do
    if f.header == 0 then
      local cmd = pci.read32(f.bus, f.dev, f.fn, 0x04)
      pci.write32(f.bus, f.dev, f.fn, 0x04, cmd & 0xfffb)    -- status half 0: clears none
    end
  end
  local bytes = 0
  for phys, k in list:gmatch("(%d+):(%d+);") do
    phys, k = math.tointeger(tonumber(phys)), math.tointeger(tonumber(k))
    if l4.mem.give_back(phys, k) then bytes = bytes + (1 << k) end
  end
  l4.sys.store_put(STORE_KEY, ";")
  return bytes
end

-- Keeps m (taken from sigma0) on the store's list.
local function dma_note(state, m)
  local k = 12
  while (1 << k) < m:size() do k = k + 1 end
  state.dma_list = state.dma_list .. ("%d:%d;"):format(m:phys(), k)
  pcall(l4.sys.store_put, STORE_KEY, state.dma_list)
end

local function log2_of(size)
  local k = 12
  while (1 << k) < size do k = k + 1 end
  return k
end

return {
  name = "devices", version = 1,
  init = function(state)
    state.devices, state.order, state.free, state.taken = {}, {}, {}, 0
    state.vga = {}
    local functions = assert(pci.list())
    state.given_back, state.dma_list = dma_back(functions), ";"
    for _, f in ipairs(functions) do
      if f.header == 0 then
        local irq = pci.read32(f.bus, f.dev, f.fn, 0x3c)
        local d = {f = f, irq = (irq >> 8 & 0xff) ~= 0 and irq & 0xff or false,
                   bars = {}, ports = {}, dma = {}, dma_bytes = 0,
                   budget = state.config and state.config.dma_budget or DMA_BUDGET}
        state.devices[key(f)] = d
        state.order[#state.order + 1] = d
      end
    end
  end,
  handlers = {
    [P.CLAIM] = claim,
    [P.CONFIG_READ] = function(state, from, off)
      local d = assert(held(state, from))
      check_off(off)
      return pci.read32(d.f.bus, d.f.dev, d.f.fn, off)
    end,
    [P.CONFIG_WRITE] = function(state, from, off, value)
      local d = assert(held(state, from))
      check_off(off)
      if math.type(value) ~= "integer" or value < 0 or value > 0xffffffff then
        error("config value must be a 32-bit integer", 0)
      end
      if not writable(off) then
        error(("config offset 0x%02x is not the driver's to write (BARs, ROM and "
               .. "header stay as the firmware set them)"):format(off), 0)
      end
      return pci.write32(d.f.bus, d.f.dev, d.f.fn, off, value)
    end,
    [P.BAR] = function(state, from, index)
      local d = assert(held(state, from))
      local b = bar_of(d, index)
      if b.kind == "io" then error(("BAR%d is I/O ports (PORTS)"):format(index), 0) end
      local m = d.bars[index]
      if not m then
        local k = log2_of(b.size)
        local base = b.base & ~((1 << k) - 1)
        m = assert(l4.mem.map_phys(base, k))
        d.bars[index] = m
      end
      service.reply(from, b.base, b.size, m:fpage(0, nil, "rw"):map_item())
    end,
    [P.PORTS] = function(state, from, index)
      local d = assert(held(state, from))
      local b = bar_of(d, index)
      if b.kind ~= "io" then error(("BAR%d is memory (BAR)"):format(index), 0) end
      local p = d.ports[index]
      if not p then
        local k = 0
        while (1 << k) < b.size do k = k + 1 end
        if not l4.io.holds(b.base, b.size) then assert(l4.io.request(b.base, k)) end
        p = l4.iofpage(b.base, k)
        d.ports[index] = p
      end
      service.reply(from, b.base, b.size, p:map_item())
    end,
    [P.DMA] = function(state, from, k)
      local d = assert(held(state, from))
      if math.type(k) ~= "integer" or k < 12 or k > 22 then
        error("DMA log2 size must be 12-22", 0)
      end
      if d.dma_bytes + (1 << k) > d.budget then
        error(("DMA budget of %s exceeded (%d of %d bytes taken)"):format(key(d.f),
              d.dma_bytes, d.budget), 0)
      end
      local free = state.free[1 << k]
      local m = free and table.remove(free)
      if not m then
        m = assert(l4.mem.alloc(k))
        state.taken = state.taken + (1 << k)
        dma_note(state, m)
      end
      d.dma[#d.dma + 1] = m
      d.dma_bytes = d.dma_bytes + (1 << k)
      -- read-write, not executable: RAM from sigma0 is rwx, a driver's
      -- DMA memory holds data only
      service.reply(from, m:phys(), m:fpage(0, nil, "rw"):map_item())
    end,
    [P.RELEASE] = function(state, from)
      local d = assert(held(state, from))
      reset(state, d)
      d.name = nil
      return 1
    end,
    [P.VGA_TEXT] = function(state, from)
      local v = vga_of(state, from)
      v.mem = v.mem or assert(l4.mem.map_phys(VGA_PHYS, 12))
      service.reply(from, VGA_PHYS, v.again and 1 or 0, v.mem:fpage(0, nil, "rw"):map_item())
    end,
    [P.VGA_PORTS] = function(state, from)
      local v = vga_of(state, from)
      if not v.ports then
        if not l4.io.holds(CRTC, 2) then assert(l4.io.request(CRTC, 1)) end
        v.ports = l4.iofpage(CRTC, 1)
      end
      service.reply(from, CRTC, 2, v.ports:map_item())
    end,
    [P.LIST] = function(state)
      local lines = {("dma taken %d bytes from sigma0, %d given back at start"):format(
        state.taken, state.given_back)}
      for _, d in ipairs(state.order) do
        local f = d.f
        lines[#lines + 1] = ("%s %04x:%04x irq %s %s"):format(key(f), f.vendor, f.device,
          d.irq or "-", alive(d) and ("held by %s (%s)"):format(d.holder, d.name) or "free")
      end
      local v = state.vga
      lines[#lines + 1] = "vga text " .. (alive(v) and ("held by %s (%s)"):format(v.holder, v.name)
                                          or "free")
      return table.concat(lines, "\n") .. "\n"
    end,
  },
}
