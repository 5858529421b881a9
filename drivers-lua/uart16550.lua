-- The 16550 UART (COM1 at 0x3f8 / IRQ 4, COM2 at 0x2f8 / IRQ 3) as a
-- console backend (console_server.lua): 115200 baud 8N1, FIFOs on,
-- interrupts for received bytes and for an empty transmitter. Output is
-- queued and sent 16 bytes (the FIFO) per "transmitter empty"; input is
-- read until the receiver is empty at each interrupt. The task must hold
-- the 8 ports (handed at spawn, or l4.io.request here).
--
-- The UART is watched (docs/reliability.md "Wrong values in device
-- registers"): before each use (pump, on_irq) the line control register
-- must read what was set, and at each watch() (the console server's INFO,
-- the guardian's ping every 100 ms) the interrupt enable and modem
-- control registers and the divisor too; a wrong one (written by anyone:
-- the fault injector's wrong_register) makes the driver set the UART up
-- again, keeping what waits in its receive FIFO.
local io_ = l4.io

local RBR, THR, IER, IIR, FCR, LCR, MCR, LSR = 0, 0, 1, 2, 2, 3, 4, 5
local DLL, DLM = 0, 1                   -- the divisor latch, while LCR_DLAB is set
local LSR_DR, LSR_THRE = 0x01, 0x20
local IER_RX, IER_TX = 0x01, 0x02
local LCR_8N1, LCR_DLAB = 0x03, 0x80
local MCR_ON = 0x0b                     -- DTR, RTS, OUT2 (the PC's interrupt gate)
local DIVISOR = 1                       -- 115200 baud

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
  u:program(0xc7)                 -- FIFOs on, cleared, receive trigger at 14
  while inb(base + LSR) & LSR_DR ~= 0 do inb(base + RBR) end
  inb(base + IIR)
  outb(base + IER, IER_RX)
  return u
end

-- Line, divisor, FIFOs, modem control: what the driver sets (the
-- interrupts off; the caller enables them).
function Uart:program(fcr)
  local base, outb = self.base, io_.outb
  outb(base + IER, 0)
  outb(base + LCR, LCR_DLAB)      -- divisor latch
  outb(base + DLL, DIVISOR & 0xff)
  outb(base + DLM, DIVISOR >> 8)
  outb(base + LCR, LCR_8N1)       -- 8N1
  outb(base + FCR, fcr)
  outb(base + MCR, MCR_ON)
end

-- Sets the UART up again after a wrong value was found in `what`: the
-- same settings, the FIFOs on without clearing them (typed bytes that
-- wait are input), the interrupts as they were.
function Uart:set_up_again(what)
  self.set_ups = (self.set_ups or 0) + 1
  self.wrong = what
  self:program(0xc1)
  io_.outb(self.base + IER, IER_RX | (self.tx_irq and IER_TX or 0))
end

-- The line control register as set, else set up again (one port read:
-- before each use, since a divisor latch left open takes what is sent
-- and gives the divisor for what is received).
function Uart:check_line()
  local lcr = io_.inb(self.base + LCR)
  if lcr ~= LCR_8N1 then self:set_up_again(("LCR 0x%02x"):format(lcr)) end
end

-- Every register the driver set, read back -> what was wrong (and set
-- up again), or nil.
function Uart:watch()
  local base, inb, outb = self.base, io_.inb, io_.outb
  local before = self.set_ups
  self:check_line()
  if self.set_ups ~= before then return self.wrong end
  local want = IER_RX | (self.tx_irq and IER_TX or 0)
  local ier, mcr = inb(base + IER) & 0x0f, inb(base + MCR) & 0x1f
  outb(base + LCR, LCR_8N1 | LCR_DLAB)
  local div = inb(base + DLL) | inb(base + DLM) << 8
  outb(base + LCR, LCR_8N1)
  local what = ier ~= want and ("IER 0x%02x"):format(ier)
    or mcr ~= MCR_ON and ("MCR 0x%02x"):format(mcr)
    or div ~= DIVISOR and ("divisor %d"):format(div)
  if what then self:set_up_again(what) end
  return what or nil
end

-- Fault injection only (docs/reliability.md "Wrong values in device
-- registers"): port I/O, no DMA, so every register may take a wrong
-- value. "lcr": the divisor latch left open (what is sent would go into
-- the divisor); "ier": no interrupts; "mcr": 0 (OUT2 off: on a PC the
-- interrupt gate shut); "divisor": 12 (9,600 baud).
Uart.REGISTER = {[0] = "lcr", [1] = "ier", [2] = "mcr", [3] = "divisor"}
function Uart:wrong_register(what)
  local base, outb = self.base, io_.outb
  if what == "lcr" then
    outb(base + LCR, LCR_8N1 | LCR_DLAB)
  elseif what == "ier" then
    outb(base + IER, 0)
  elseif what == "mcr" then
    outb(base + MCR, 0)
  elseif what == "divisor" then
    outb(base + LCR, LCR_8N1 | LCR_DLAB)
    outb(base + DLL, 12)
    outb(base + DLM, 0)
    outb(base + LCR, LCR_8N1)
  else
    error("wrong_register: lcr, ier, mcr or divisor", 2)
  end
end

function Uart:irq_line() return self.line end

function Uart:ports() return {{self.base, 8}} end

function Uart:phys() return {} end

-- Sends what the FIFO takes now, PUMP_MAX bytes at most; asks for an
-- interrupt if more is left. At most: QEMU's UART takes bytes as fast as
-- they come, so "while the FIFO takes more" drained the whole queue in
-- one request: a REPL printing MiBs kept the server inside one call for
-- seconds, and a root thread's write (the supervisor's log) waited that
-- long for its answer (its guard found it silent). The string being sent
-- is pending, its next byte at pending_at: not the rest cut off at every
-- 16 bytes (s:sub(17) copied some 8 MB for a 16 KiB write).
local PUMP_MAX = 256
function Uart:pump()
  local base, outb, inb = self.base, io_.outb, io_.inb
  self:check_line()
  local s, at, sent = self.pending, self.pending_at or 1, 0
  while sent < PUMP_MAX and inb(base + LSR) & LSR_THRE ~= 0 do
    if at > #s then
      s, at = self.out[self.out_head], 1
      if not s then s = "" break end
      self.out[self.out_head] = nil
      self.out_head = self.out_head + 1
    end
    local last = math.min(at + 15, #s)
    for i = at, last do outb(base + THR, s:byte(i)) end
    sent = sent + last - at + 1
    at = last + 1
  end
  self.pending, self.pending_at = s, at
  local more = at <= #s or self.out[self.out_head] ~= nil
  if not more then self.out, self.out_head, self.out_tail = {}, 1, 0 end
  if more and sent >= PUMP_MAX and self.tx_irq then
    -- stopped with the FIFO taking more: its interrupt asked anew (off
    -- and on: a new edge), so the next bytes go at the next interrupt
    outb(base + IER, IER_RX)
    outb(base + IER, IER_RX | IER_TX)
  elseif more ~= self.tx_irq then
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
  self:check_line()
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
