-- A Lua task for tests/lua/bindings_dev.lua "irq_grant": waits for the
-- root's call, tries to attach the IRQ line it names and answers 0 (it
-- is attached) or 1 (refused); attached, it then waits for the line's
-- interrupt for `ms` and exits 0 if it came, 2 if the wait failed (the
-- root's grant took the line away).
local line, ms = ...
local from = l4.receive()
local h = l4.irq.attach(line)
l4.reply(from, h and 0 or 1)
if not h then os.exit(1) end
if not ms then os.exit(0) end
os.exit(l4.irq.wait(h, ms) and 0 or 2)
