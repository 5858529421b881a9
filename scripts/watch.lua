-- The root's watcher thread (scripts/init.lua): shows the kernel's log on
-- the console (the kernel no longer writes COM1 itself) and turns Ctrl-C,
-- which the console server reports while no one reads, into an
-- interrupt of the REPL thread's running chunk.
local server, repl = ...
local console = require "console"
local con = console.open(server)
con:on_interrupt(l4.self())

local _, pos = l4.sys.klog(0)       -- what the kernel wrote so far was shown
local POLL = {receive = 200}
while true do
  local from, label = l4.receive(server, POLL)
  if from and label == console.NOTE then
    l4.thread.interrupt(repl)
  end
  local text
  text, pos = l4.sys.klog(pos)
  -- straight to the server: if it fails, the runtime's fallback would put
  -- the text back into the kernel's ring, to be copied again
  if #text > 0 then pcall(con.write, con, text) end
end
