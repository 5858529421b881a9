-- A task that tests/lua/fuzz_l4.lua may spawn: it ends at once.
return 0
