-- A client task of tests/lua/services.lua: n requests to service `name`,
-- each with a sequence number the reply must echo, from versions that
-- never go back. Ends with status 0, or fails with what was wrong.
-- mode "helper": service.call; "raw": l4.call to the id looked up once.
local names_raw, name, n, who, mode = ...
local names = require "names"
names.use(l4.id(names_raw))
local service = require "service"
l4.set_buffers(0, 0)
local last_v = 0
local id = assert(names.lookup(name))
for seq = 1, n do
  local rseq, v, total
  if mode == "raw" then
    local from, label
    from, label, rseq, v, total = l4.call(id, 1, seq)
    if not from or label ~= 0 then
      error(("client %d: request %d: %s %s"):format(who, seq, tostring(label), tostring(rseq)), 0)
    end
  else
    rseq, v, total = service.call(name, 1, seq)
  end
  if rseq ~= seq then
    error(("client %d: request %d got the reply %s (%s)"):format(who, seq, tostring(rseq), tostring(v)), 0)
  end
  if v < last_v then
    error(("client %d: request %d answered by version %d after version %d"):format(who, seq, v, last_v), 0)
  end
  last_v = v
end
os.exit(0)
