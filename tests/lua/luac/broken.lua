-- tests/lua/luac.lua: this file does not compile (line 3)
local x = 1
local = 2
