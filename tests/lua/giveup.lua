-- Root threads stopped inside C (runtime/lua/threads.c, states.c): a
-- kill that finds no safe point (a long C call) stops the thread where it
-- is, a fault stops it where it faulted; either way its Lua state is
-- given up, not closed, and its memory must still come back to the
-- root's heap, whole (docs/runtime.md "Threads"). Each thread below holds
-- some 900 KiB of Lua data when it is stopped: were its state leaked, 20
-- of them would take some 18 MiB; the heap (mapped, and in use in
-- malloc's blocks) must be back within 1% of where it was.
local u = require "bindings_util"
local eq = u.eq
local cases, case = u.cases()

local main = l4.self()
local recv, wait_end = u.recv, u.wait_end

-- A thread that fills its state, tells main how much it holds, then
-- stops inside C: `how` is "c" (a string.find that backtracks for ages:
-- no Lua instruction, so no safe point) or "fault" (a store to
-- read-only text: its pager stops it).
local BODY = [[
  local main, how = ...
  local hold = {}
  for i = 1, 6000 do hold[i] = ("g"):rep(80) .. i end
  l4.send(main, 1, collectgarbage("count") * 1024 // 1)
  if how == "fault" then l4.task._fault("write") end
  local s = ("a"):rep(40)
  s:find(("a*"):rep(40) .. "b")     -- C(80, 40) tries: never ends
  l4.send(main, 2)                  -- never
]]

-- One thread stopped inside C; -> the bytes its state held.
local function stop_one(how)
  -- at main's priority with a short timeslice: each of the kill's 200
  -- rounds lends it the CPU until its slice ends, some 1 ms (a thread
  -- below main, alone at its priority, kept the CPU it was lent: the
  -- kernel ends a slice only for a thread of the same priority)
  local t = assert(l4.thread.create{code = BODY, args = {main, how}})
  l4.thread.schedule(t, nil, 100)
  local _, label, had = recv(t)
  eq(label, 1)
  assert(had > 500000, "it held " .. had)
  if how == "c" then
    -- main waits, so the thread (below it) runs on into the C call: a
    -- kill before that would find a safe point and close the state
    l4.sleep(20)
    eq(l4.thread.kill(t), true)
    eq(l4.thread.status(t), "killed")
  else
    eq(wait_end(t), "failed")
  end
  eq(l4.thread.info(t).memory, 0, "a stopped thread's memory")
  return had
end

local function heap()
  collectgarbage(); collectgarbage()
  local mapped, taken, inuse, given_up = l4.sys.heap()
  return {mapped = mapped, taken = taken, inuse = inuse, given_up = given_up}
end

case("thread_giveup_memory_comes_back", function()
  stop_one("c"); stop_one("fault")       -- the heap grows to hold one: before the count
  local before = heap()
  local held, t0 = 0, l4.clock()
  for _ = 1, 10 do
    held = held + stop_one("c") + stop_one("fault")
  end
  local after = heap()
  print(("giveup: 20 root threads stopped inside C (10 kills without a safe point, 10 faults), "
         .. "%d KiB of Lua state in all, in %d ms; the heap: mapped %d -> %d KiB, "
         .. "in use %d -> %d KiB"):format(held // 1024, (l4.clock() - t0) // 1000,
        before.mapped // 1024, after.mapped // 1024, before.inuse // 1024, after.inuse // 1024))
  assert(held > 20 * 500000, "the threads held " .. held)
  eq(after.given_up - before.given_up, 20, "states given up and freed")
  assert(u.near(after.mapped, before.mapped, before.mapped),
         ("mapped %d -> %d"):format(before.mapped, after.mapped))
  assert(u.near(after.inuse, before.inuse, before.inuse),
         ("in use %d -> %d"):format(before.inuse, after.inuse))
  -- and the root still makes threads that run
  local n = assert(l4.thread.create{script = "threads_body.lua", args = {main, 3}})
  local _, lab, a = recv(n)
  eq(lab, 42); eq(a, 6)
end)

return cases
