-- The console driver task (scripts/init.lua spawns it): a console server
-- over a UART (args: "uart", base port, IRQ, [name]) or the VGA screen and
-- PS/2 keyboard (args: "vga", [name]).
local kind, base, irq, name = ...
local backend
if kind == "vga" then
  backend, name = require("vgacon").new(), base or "screen"
else
  backend = assert(require("uart16550").new(base, irq))
  name = name or (base == 0x2f8 and "com2" or "console")
end
require("console_server").serve(backend, {name = name})
