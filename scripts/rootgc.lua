-- The collector of a long-lived Lua thread of the root task. Every Lua
-- thread of the root has a Lua state of its own, all in the root's one
-- malloc heap, which never shrinks (runtime/lua/mem.c: nothing goes back
-- to sigma0), so the heap keeps the largest sum of their sizes it ever
-- saw. With Lua's default pause (200%) an idle state that makes a little
-- garbage (a REPL session's half-second reads, the supervisor's tick)
-- swings between its live data and twice that, one swing taking minutes,
-- and that sum kept rising as the swings of a dozen states met anew
-- (make soak: docs/reliability.md "Soak"). A pause of 110% keeps each
-- state within a tenth of its live data, for a little more collecting.
--
--   require("rootgc").settle()   -- once, at the thread's start
local M = {}

M.PAUSE = 110   -- percent: a new cycle once memory is 1.1 times the live data

function M.settle()
  collectgarbage("incremental", M.PAUSE)
  -- the pause sets the threshold at the end of a cycle: one now
  collectgarbage()
end

return M
