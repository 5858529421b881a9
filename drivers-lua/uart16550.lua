-- The 16550 UART (COM1 at 0x3f8 / IRQ 4, COM2 at 0x2f8 / IRQ 3) as a
-- console backend (console_server.lua): 115200 baud 8N1, FIFOs on,
-- interrupts for received bytes and for an empty transmitter. Output is
-- queued and sent 16 bytes (the FIFO) per "transmitter empty"; input is
-- read until the receiver is empty at each interrupt. The task must hold
-- the 8 ports (handed at spawn, or l4.io.request here).
local io_ = l4.io

local RBR, THR, IER, IIR, FCR, LCR, MCR, LSR = 0, 0, 1, 2, 2, 3, 4, 5
local LSR_DR, LSR_THRE = 0x01, 0x20
local IER_RX, IER_TX = 0x01, 0x02

local Uart = {}
Uart.__index = Uart

local M = {}

function M.new(base, irq)
  base, irq = base or 0x3f8, irq or 4
  if not io_.holds(base, 8) then assert(io_.request(base, 3)) end
  local u = setmetatable({base = base, line = irq, out = {}, out_head = 1, out_tail = 0,
                          pending = "", tx_irq = false}, Uart)
  local inb, outb = io_.inb, io_.outb
  -- No UART there (QEMU makes COM2 only when asked to): ports that float
  -- would read as endless input. The scratch register tells.
  outb(base + 7, 0x5a)
  if inb(base + 7) ~= 0x5a then return nil, ("no UART at 0x%x"):format(base) end
  -- What was typed before this driver ran (into the kernel's polled
  -- UART, or while a driver that died is being replaced) waits in the
  -- receive FIFO: it is input (u.early, the console server's first), not
  -- noise to clear.
  outb(base + LCR, 0x03)
  local early = {}
  while inb(base + LSR) & LSR_DR ~= 0 and #early < 256 do early[#early + 1] = inb(base + RBR) end
  u.early = string.char(table.unpack(early))
  outb(base + IER, 0)
  outb(base + LCR, 0x80)          -- divisor latch
  outb(base + 0, 1)               -- 115200 baud
  outb(base + 1, 0)
  outb(base + LCR, 0x03)          -- 8N1
  outb(base + FCR, 0xc7)          -- FIFOs on, cleared, receive trigger at 14
  outb(base + MCR, 0x0b)          -- DTR, RTS, OUT2 (the PC's interrupt gate)
  while inb(base + LSR) & LSR_DR ~= 0 do inb(base + RBR) end
  inb(base + IIR)
  outb(base + IER, IER_RX)
  return u
end

function Uart:irq_line() return self.line end

function Uart:ports() return {{self.base, 8}} end

function Uart:phys() return {} end

-- Sends what the FIFO takes now; asks for an interrupt if more is left.
function Uart:pump()
  local base, outb, inb = self.base, io_.outb, io_.inb
  while inb(base + LSR) & LSR_THRE ~= 0 do
    local s = self.pending
    if #s == 0 then
      s = self.out[self.out_head]
      if not s then break end
      self.out[self.out_head] = nil
      self.out_head = self.out_head + 1
    end
    for i = 1, math.min(16, #s) do outb(base + THR, s:byte(i)) end
    self.pending = s:sub(17)
  end
  local more = #self.pending > 0 or self.out[self.out_head] ~= nil
  if not more then self.out, self.out_head, self.out_tail = {}, 1, 0 end
  if more ~= self.tx_irq then
    self.tx_irq = more
    outb(base + IER, IER_RX | (more and IER_TX or 0))
  end
end

-- The queue is out[out_head .. out_tail]. Not out[#out + 1]: once the
-- slots before out_head are nil, # may name one of them, and a string
-- put there is never sent (a 32 KiB piece of a tools/l4ua get was lost).
function Uart:write(s)
  if #s == 0 then return end
  self.out[self.out_tail + 1] = s       -- (the slot first: if it fails, no hole in the queue)
  self.out_tail = self.out_tail + 1
  self:pump()
end

-- The interrupt: received bytes (returned), and room in the transmitter.
function Uart:on_irq()
  local base, inb = self.base, io_.inb
  local got, n = {}, 0
  while inb(base + LSR) & LSR_DR ~= 0 do
    n = n + 1
    got[n] = inb(base + RBR)
    if n == 4096 then break end
  end
  self:pump()
  if n == 0 then return "" end
  local parts = {}
  for i = 1, n, 200 do parts[#parts + 1] = string.char(table.unpack(got, i, math.min(n, i + 199))) end
  return table.concat(parts)
end

return M
