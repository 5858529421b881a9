-- A short-lived task of the soak (soak/main.lua spawns ten a
-- round). Its first argument says what it does; it ends with os.exit(0)
-- once all of it worked (an error fails the task with the message).
--   "threads", n: creates n Lua threads, BATCH at a time; each
--       sends its number times 3 back and ends; every one must answer
--       right and end ("ended")
--   "call", names raw id, token: looks up echo and calls it
--       once with token (the answer must carry it back; echo may be
--       down, being killed: a clear error is fine)
local l4 = require "l4"
local mode = ...
local BATCH = 4
local BODY = "local parent, i = ...; l4.send(parent, {timeout = 10000}, 0, i * 3)"

if mode == "threads" then
  local _, n = ...
  local me = l4.self()
  local made = 0
  while made < n do
    local batch = {}
    for i = made + 1, math.min(n, made + BATCH) do
      local t, err, code = l4.thread.create{code = BODY, args = {me, i}, stack = 64 << 10,
                                            memcap = 1 << 20}
      if not t then error(("thread %d of %d: %s (%s)"):format(i, n, err, code), 0) end
      batch[t] = i
    end
    for t, i in pairs(batch) do
      local from, label, v = l4.receive(t, 10000)
      if not from or v ~= i * 3 then
        error(("thread %d: %s %s %s"):format(i, tostring(from), tostring(label), tostring(v)), 0)
      end
    end
    for t, i in pairs(batch) do
      local st = l4.thread.status(t)
      for _ = 1, 1000 do
        if st ~= "running" then break end
        l4.thread.switch(t)
        st = l4.thread.status(t)
      end
      if st ~= "ended" then error(("thread %d is %s after its answer"):format(i, st), 0) end
      made = made + 1
    end
  end
  os.exit(0)
elseif mode == "call" then
  local _, names_raw, token = ...
  local names = require "names"
  names.use(l4.id(names_raw))
  local id = names.lookup("echo")
  if id then
    local from, label, _, got = l4.call(id, {timeout = 5000}, 1, token)
    if from and label == 0 and got ~= token then
      error(("echo answered %s for %d"):format(tostring(got), token), 0)
    elseif not from and (label == "timeout") then
      error("echo did not answer in 5 s", 0)
    end
  end
  os.exit(0)
end
error("job: unknown mode " .. tostring(mode), 0)
