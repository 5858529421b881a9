-- The first script of the Lua root task (runtime/lua/main.c runs it from
-- the scripts archive). For now it greets; the REPL comes with console
-- input (the UART driver).
local lpeg = require "lpeg"

print("")
print("L4ua: Lua is running as the root task")
print(("  %s, LPeg %s, started %s UTC"):format(_VERSION, lpeg.version(),
                                              os.date("!%Y-%m-%d %H:%M:%S")))
print(("  %d KiB of Lua heap in use"):format(collectgarbage("count") // 1))
print("  a REPL is coming; for now there is no console input")
