-- A REPL session on one console (scripts/init.lua starts it in a thread
-- of its own): the console server's id, and a name for the greeting.
local server, name = ...
local con = require("console").open(server)
con:write(("\nL4ua REPL on the %s console: Lua %s; `help` lists commands\n")
          :format(name or "?", _VERSION:match("[%d.]+$")))
require("repl").run(con, _G)
