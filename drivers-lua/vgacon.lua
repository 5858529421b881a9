-- The VGA console backend: the screen (vga.lua) for output, the PS/2
-- keyboard (ps2kbd.lua) for input, behind the interface a console server
-- drives any backend with. A backend object has:
--
--   b:write(bytes)   puts output on the device: text, "\r", "\n" (a new
--                    line at column 0), "\b" (left), "\t", and the escape
--                    sequences of a line editor (ESC[K, ESC[nA/B/C/D,
--                    ESC[H, ESC[2J, ...; docs/drivers.md). Sequences may be
--                    split across calls. Never blocks.
--   b:irq_line()     the IRQ whose interrupts mean input: 1
--   b:on_irq()       call after each interrupt of irq_line() (the server
--                    attaches and waits: l4.irq.attach(b:irq_line()),
--                    h:wait() or an open receive) -> the input bytes that
--                    arrived, as a serial terminal sends them ("\r" for
--                    Enter, "\127" Backspace, "\3" Ctrl-C, "\27[A" Up,
--                    ...); "" if none. Never blocks.
--   b:ports()        -> {{first, count}, ...}: the I/O ports it uses,
--                    here {0x60, 1}, {0x64, 1}, {0x3d4, 2}
--   b:phys()         -> {{base, size}, ...}: the device memory it maps,
--                    here {0xb8000, 4096}
--
-- ports() and phys() are also module functions (vgacon.ports(),
-- vgacon.phys()): what to give a task before it calls vgacon.new() there.
-- new() takes the ports from sigma0 unless this task holds them already
-- (l4.io.holds), so a task that received them in a message uses those.
local vga = require "vga"
local ps2kbd = require "ps2kbd"

local M = {}

local B = {}
B.__index = B

-- vgacon.new([{clear = true, attr = 0x07, mem = m}]) -> backend, or nil,
-- message, code (mem: the text screen's page, as vga.new takes it)
function M.new(opts)
  opts = opts or {}
  local screen, msg, code = vga.new{clear = opts.clear ~= false, attr = opts.attr, mem = opts.mem}
  if not screen then return nil, msg, code end
  local kbd
  kbd, msg, code = ps2kbd.new()
  if not kbd then return nil, msg, code end
  return setmetatable({screen = screen, kbd = kbd}, B)
end

function M.ports()
  return {{0x60, 1}, {0x64, 1}, {0x3d4, 2}}
end

function M.phys()
  return {{vga.PHYS, 4096}}
end

function B:write(bytes) self.screen:write(bytes) end
function B:irq_line() return self.kbd:irq_line() end
function B:on_irq() return self.kbd:on_irq() end
B.ports = M.ports
B.phys = M.phys

return M
