-- The root's watcher thread (scripts/init.lua): shows the kernel's log on
-- the serial console (the kernel no longer writes COM1 itself) and turns
-- Ctrl-C, which a console server reports while no one reads, into an
-- interrupt of the running chunk of that console's REPL thread.
-- Arguments: pairs of (console server, REPL thread); the first console
-- gets the kernel's log.
local console = require "console"
local args = table.pack(...)
local repl_of, log_con = {}, nil
for i = 1, args.n, 2 do
  local con = console.open(args[i])
  con:on_interrupt(l4.self())
  repl_of[args[i]] = args[i + 1]
  log_con = log_con or con
end

local _, pos = l4.sys.klog(0)       -- what the kernel wrote so far was shown
local POLL = {receive = 200}
while true do
  local from, label, typed_at = l4.receive(nil, POLL)
  if from and label == console.NOTE and repl_of[from] then
    -- the REPL says how long after the key it stopped the chunk
    l4.thread.interrupt(repl_of[from], ("interrupted@%d"):format(typed_at or 0))
  end
  local text
  text, pos = l4.sys.klog(pos)
  -- straight to the server: if it fails, the runtime's fallback would put
  -- the text back into the kernel's ring, to be copied again
  if #text > 0 then pcall(log_con.write, log_con, text) end
end
