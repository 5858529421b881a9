-- Run by dofile("userscript.lua") in the test boot (tests/lua/init.lua).
return "userscript ran"
