-- The root's watcher thread (scripts/init.lua): every 100 ms
--   - shows the kernel's log on COM1 (the kernel no longer writes COM1
--     itself while a driver has the line);
--   - turns Ctrl-C, which a console server reports while no one reads,
--     into an interrupt of the running chunk of that console's REPL;
--   - is the console guardian (scripts/consoles.lua): the consoles, the
--     REPL sessions and the push agent that die are started again, and
--     it points itself (Ctrl-C, the log) at the new ones.
-- Arguments: pairs (component name, its id or its raw value, false if it
-- is not there), what init.lua started; ids that no longer run are found
-- again by name (a watcher the supervisor started again after it died).
local console = require "console"
local consoles = require "consoles"
local proto = require "service_proto"

local args = table.pack(...)
local ids = {}
for i = 1, args.n, 2 do
  local v = args[i + 1]
  if args[i] then ids[args[i]] = math.type(v) == "integer" and l4.id(v) or v end
end
local g = consoles.new(ids)

-- The REPL session of the console server `from`: its entry (a session
-- thread of the guardian's list) and that thread's id, if one runs.
local function session_of(from)
  for _, e in ipairs(g.list) do
    if e.server and e.id == from then
      for _, s in ipairs(g.list) do
        if s.on == e.name and s.create.script == "session.lua" then return s.id, s end
      end
    end
  end
end

-- Ctrl-C: each console server with a REPL session tells this thread. Not
-- COM2's (its bytes are tools/l4ua's transfers, where 0x03 is data: a
-- server with no INTR thread keeps it as input).
local function point(id)
  if select(2, session_of(id)) then
    pcall(function() console.open(id):on_interrupt(l4.self()) end)
  end
end
for _, e in ipairs(g.list) do
  if e.server and e.id then point(e.id) end
end

local com1 = g.by.console
local function to_com1(text)
  return com1.id ~= nil and pcall(function() console.open(com1.id):write(text) end)
end
-- Skips what the kernel wrote to the line itself.
local function skip(pos)
  repeat local text; text, pos = l4.sys.klog(pos) until #text == 0
  return pos
end

local pos = skip(0)                 -- what the kernel wrote so far was shown
local unshown                       -- read from the ring, not taken by a driver
-- COM1 changes hands (consoles.lua): to the kernel (false), which writes
-- the line itself from then on: what was not shown yet goes with it; to
-- a new driver (true): what the kernel wrote itself was shown.
function g.on_serial(to_driver)
  if to_driver then pos = skip(pos) return end
  local parts = {unshown}
  unshown = nil
  repeat
    local text
    text, pos = l4.sys.klog(pos)
    parts[#parts + 1] = text
  until #text == 0
  return table.concat(parts)
end
local POLL = {receive = 100}
while true do
  local from, label, typed_at = l4.receive(nil, POLL)
  if from and label == console.NOTE then
    -- the REPL says how long after the key it stopped the chunk
    local repl = session_of(from)
    if repl then l4.thread.interrupt(repl, ("interrupted@%d"):format(typed_at or 0)) end
  elseif from and label ~= "irq" and not proto.late_reply(label) then    -- a late reply: dropped
    l4.reply(from, proto.UNKNOWN)   -- not a service (`services` asks): unknown request
  end
  local text
  text, pos = l4.sys.klog(pos)
  -- straight to the server: if it fails, the runtime's fallback would put
  -- the text back into the kernel's ring, to be copied again
  if #text > 0 and not to_com1(text) then unshown = (unshown or "") .. text end
  for _, f in ipairs(consoles.guard(g)) do point(f.id) end
  if unshown and to_com1(unshown) then unshown = nil end   -- a new driver
  -- no COM1 driver: the kernel writes the line itself, and its ring
  if not com1.id then pos = skip(pos) end
end
