-- A user's loop, run in the root (threads.lua) and in a Lua task
-- (task_child.lua "thread_loop"): create a Lua thread, wait for its end,
-- repeat, n times; the thread numbers are reused (runtime/lua/threads.c).
-- Then a thread is made on the lthread of the first one, and a message
-- sent to the first one's id must fail ("no partner") and never reach
-- it. Returns a table of what it saw; raises on a wrong answer.
local l4 = require "l4"

local BODY = [[
  local main, i, target = ...
  l4.send(main, 7, i, l4.self().lthread)
  if l4.self().lthread ~= target then return end
  -- the thread on the first thread's number: does a message reach it?
  local from, label = l4.receive(nil, 300)
  l4.send(main, 9, from and label or 0)
]]

-- Lets t run until it has ended (it sent its last message already).
local function join(t)
  for _ = 1, 10000 do
    local st = l4.thread.status(t)
    if st ~= "running" then return st end
    l4.thread.switch(t)
  end
  error("thread " .. tostring(t) .. " did not end")
end

local function one(main, i, target)
  local t, msg, code = l4.thread.create{code = BODY, args = {main, i, target or -1},
                                        stack = 64 * 1024}
  assert(t, ("thread %d: %s (%s)"):format(i, tostring(msg), tostring(code)))
  local from, label, a, lt = l4.receive(t, 5000)
  assert(from == t and label == 7 and a == i,
         ("thread %d: got %s %s %s"):format(i, tostring(from), tostring(label), tostring(a)))
  return t, lt
end

return function(n)
  local main = l4.self()
  local first, versions = nil, {}
  for i = 1, n do
    local t = one(main, i)
    assert(join(t) == "ended", "thread " .. i .. " did not end well")
    first = first or t
    versions[t.lthread] = (versions[t.lthread] or 0) + 1
  end
  local reused = 0
  for _, k in pairs(versions) do reused = math.max(reused, k) end
  for i = 1, 300 do
    local t = one(main, n + i, first.lthread)
    if t.lthread == first.lthread then
      -- the first id is stale now: its number serves another thread
      assert(t ~= first and t.version ~= first.version, "the same id again")
      assert(l4.thread.status(first) == nil, ("the first thread's id %s still names a thread (%s)")
        :format(tostring(first), tostring(l4.thread.status(first))))
      local ok, why = l4.send(first, {timeout = 100}, 5)
      assert(not ok and why == "no partner", "a send to the stale id: " .. tostring(why))
      local from, label, got = l4.receive(t, 5000)
      assert(from == t and label == 9, "no report from the new thread")
      assert(got == 0, "the stale id reached the new thread (label " .. tostring(got) .. ")")
      join(t)
      return {threads = n + i, max_per_lthread = reused, lthread = t.lthread}
    end
    join(t)
  end
  error("no thread got the first thread's lthread again")
end
