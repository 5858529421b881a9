-- A REPL session on one console (scripts/init.lua starts one per console,
-- each in a thread of its own): the console server's id and its name.
-- What this thread prints goes to that console too.
local server, name = ...
l4.sys.set_console(server, "thread")
local con = require("console").open(server)
con:write(("\nL4ua REPL on the %s console: Lua %s; `help` lists commands\n")
          :format(name or "?", _VERSION:match("[%d.]+$")))
-- make bench reads this (boot_to_prompt): the guest TSC just before the
-- first prompt; under icount, instructions since QEMU's reset
if name == "serial" then boot_tsc = l4.debug.rdtsc() end
require("repl").run(con, _G)
