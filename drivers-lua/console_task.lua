-- The console driver task (scripts/init.lua spawns it): a console server
-- over a UART (args: "uart", base port, IRQ, [name]) or the VGA screen and
-- PS/2 keyboard (args: "vga", [name]). The screen's page and the CRT
-- controller's ports come from the device manager (device.vga()), the
-- keyboard's ports with the task (spawn's io). The first clears the
-- screen; one started again keeps what it shows and goes on below it.
local kind, base, irq, name = ...
local backend
if kind == "vga" then
  local mem, again = assert(require("device").vga())
  backend, name = assert(require("vgacon").new{mem = mem, clear = not again}), base or "screen"
else
  backend = assert(require("uart16550").new(base, irq))
  name = name or (base == 0x2f8 and "com2" or "console")
end
require("console_server").serve(backend, {name = name})
