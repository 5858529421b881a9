-- The console driver task (scripts/init.lua spawns it): a console server
-- over a UART (args: "uart", base port, IRQ) or the VGA screen and PS/2
-- keyboard (args: "vga").
local kind, base, irq = ...
local backend
if kind == "vga" then
  backend = require("vgacon").new()
else
  backend = assert(require("uart16550").new(base, irq))
end
require("console_server").serve(backend)
