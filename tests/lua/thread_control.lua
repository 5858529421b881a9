-- Lua threads, continued (runtime/lua/threads.c): interrupts
-- (l4.thread.interrupt), a memory cap per Lua state (the memcap option,
-- l4.thread.info), kills that free the killed thread's state, and stacks
-- with a guard gap. Returns the cases in order; init.lua runs them.
local u = require "bindings_util"
local eq, fails, raises = u.eq, u.fails, u.raises
local cases, case = u.cases()

local main = l4.self()

local recv, wait_end = u.recv, u.wait_end

case("thread_interrupt_loop", function()
  -- an endless loop in a thread, stopped by this thread; its pcall sees
  -- the message and it goes on
  local t = assert(l4.thread.create{code = [[
    local main = ...
    local ok, e = pcall(function()
      l4.send(main, 1)
      while true do end
    end)
    l4.send(main, 2, ok and "returned" or e)
    ok, e = pcall(function() l4.send(main, 3); while true do end end)
    l4.send(main, 4, e)
  ]], args = {main}})
  eq(select(2, recv(t)), 1)
  l4.sleep(20)                                  -- it spins meanwhile
  eq(l4.thread.interrupt(t), true)
  local _, label, e = recv(t)
  eq(label, 2); eq(e, "interrupted")
  eq(select(2, recv(t)), 3)
  eq(l4.thread.interrupt(t, "stop, please"), true)
  _, label, e = recv(t)
  eq(label, 4); eq(e, "stop, please")
  eq(wait_end(t), "ended")
  fails("the thread has ended", 20, l4.thread.interrupt(t))
end)

case("thread_interrupt_main", function()
  -- the main thread (lthread 0) too, from a watcher thread: as the REPL's
  -- Ctrl-C does
  local w = assert(l4.thread.create{code = [[
    local main = ...
    l4.sleep(20)
    assert(l4.thread.interrupt(main, "main interrupted"))
  ]], args = {main}})
  local n = 0
  local ok, e = pcall(function() while true do n = n + 1 end end)
  eq(ok, false); eq(e, "main interrupted")
  assert(n > 1000, "it ran " .. n)
  eq(wait_end(w), "ended")
  -- and the loop after it runs on as usual
  local s = 0
  for i = 1, 1000 do s = s + i end
  eq(s, 500500)
end)

case("thread_interrupt_blocked", function()
  -- a thread waiting in a binding's IPC has that wait cancelled: the
  -- error comes at once, not when the wait would have ended (Ctrl-C of
  -- a chunk waiting at the REPL)
  local t = assert(l4.thread.create{code = [[
    local main = ...
    local ok, e = pcall(function()
      l4.send(main, 1)
      local from, label = l4.receive(main)
      l4.send(main, 2, label)                     -- never: interrupted before
    end)
    l4.send(main, 3, e)
  ]], args = {main}})
  eq(select(2, recv(t)), 1)
  l4.sleep(10)                                    -- it waits in its receive
  eq(select(4, l4.thread.schedule(t)), "receiving", "waits in its receive")
  eq(l4.thread.interrupt(t, "wake up"), true)
  local _, label, e = recv(t)
  eq(label, 3); eq(e, "wake up")
  eq(wait_end(t), "ended")
end)

case("thread_interrupt_misuse", function()
  raises({"bad argument #1", "l4.id expected"}, l4.thread.interrupt, 5)
  raises({"bad argument #2"}, l4.thread.interrupt, main, {})
  fails("not a Lua thread of this task", 21, l4.thread.interrupt(l4.debug.echo()))
  fails("not a Lua thread of this task", 21, l4.thread.interrupt(l4.id(40, 0, 1)))
end)

case("thread_memcap", function()
  -- a thread with a cap of 1 MiB allocates more: "not enough memory" in
  -- its state only; the creator goes on and can allocate
  local t = assert(l4.thread.create{memcap = 1 << 20, code = [[
    local main = ...
    local ok, e = pcall(function()
      local t = {}
      for i = 1, 1e6 do t[i] = ("x"):rep(100) .. i end
    end)
    collectgarbage()
    local used = collectgarbage("count") * 1024
    l4.send(main, 1, math.floor(used), ok and "no error" or e)
    local _, label = l4.receive(main)
    -- it can still allocate within its cap
    local s = {}
    for i = 1, 1000 do s[i] = tostring(i) end
    l4.send(main, 2, #table.concat(s))
  ]], args = {main}})
  local _, label, used, e = recv(t)
  eq(label, 1); eq(e, "not enough memory")
  assert(used < 1 << 20, "used " .. used)
  local i = l4.thread.info(t)
  eq(i.state, "running"); eq(i.memcap, 1 << 20)
  assert(i.memory > 0 and i.memory <= 1 << 20, "memory " .. i.memory)
  eq(i.stack, 1 << 20, "the default stack")
  -- the creator allocates 3 MB meanwhile
  local big = {}
  for k = 1, 30000 do big[k] = ("y"):rep(100) .. k end
  eq(#big, 30000)
  assert(l4.send(t, 1))
  _, label, e = recv(t)
  eq(label, 2); eq(e, 2893)
  eq(wait_end(t), "ended")
  eq(l4.thread.info(t).memory, 0, "a closed state holds nothing")
  -- the main thread's state (the boot plan's): half of sigma0's RAM at
  -- most (runtime/lua/main.c; docs/recovery.md)
  local m = l4.thread.info(main)
  eq(m.state, "running"); eq(m.memcap, l4.kip.memory.sigma0 // 2)
  assert(m.memory > 1000000, "main's memory " .. m.memory)
  -- a cap too small for the libraries
  fails("not enough memory", 23, l4.thread.create{memcap = 4096, code = "x = 1"})
  raises({"bad argument #1", "option 'memcap'"}, l4.thread.create, {code = "", memcap = -1})
  fails("not a Lua thread of this task", 21, l4.thread.info(l4.debug.echo()))
end)

case("thread_kill_frees_state", function()
  -- a thread in an endless Lua loop holding 2 MB: killed at its next
  -- instruction, it closes its state (its memory goes back)
  local t = assert(l4.thread.create{code = [[
    local main = ...
    local hold = {}
    for i = 1, 20000 do hold[i] = ("z"):rep(100) .. i end
    l4.send(main, 1, collectgarbage("count") * 1024 // 1)
    while true do end
  ]], args = {main}})
  local _, label, had = recv(t)
  eq(label, 1)
  assert(had > 2000000, "it held " .. had)
  assert(l4.thread.info(t).memory >= had, "info")
  eq(l4.thread.kill(t), true)
  eq(l4.thread.status(t), "killed")
  eq(l4.thread.info(t).memory, 0, "its state is closed")
  -- one blocked in IPC: its receive is cancelled, then it ends the same way
  local b = assert(l4.thread.create{code = [[
    local main = ...
    local hold = {}
    for i = 1, 1000 do hold[i] = tostring(i) end
    l4.send(main, 2)
    l4.receive(main)
    l4.send(main, 3)     -- never
  ]], args = {main}})
  eq(select(2, recv(b)), 2)
  eq(l4.thread.kill(b), true)
  eq(l4.thread.info(b).memory, 0)
  eq(l4.thread.status(b), "killed")
  fails("no partner", 1, l4.receive(b, 20))    -- its killer deleted its L4 thread
  -- the stack slots and the heap serve new threads
  for k = 1, 3 do
    local n = assert(l4.thread.create{script = "threads_body.lua", args = {main, k}})
    local _, lab, a = recv(n)
    eq(lab, 42); eq(a, 2 * k)
  end
end)

-- The root's Lua states each have an arena (runtime/lua/arena.c): what a
-- thread's state held goes back whole when it ends, however it ends, and
-- its chunks serve the next state; the root's heap does not grow with
-- threads that come and go (l4.sys.heap(): mapped, taken, the arenas'
-- bytes, their spare chunks).
local function arenas()
  local mapped, _, held, spare = l4.sys.heap()
  assert(held and spare, "l4.sys.heap() gives no arena figures")
  return mapped, held, spare
end

-- A body that holds some 2.5 MB in small blocks, says so, then waits
-- for a word of this thread, and returns.
local HOLDER = [[
  local main = ...
  local hold = {}
  for i = 1, 12000 do hold[i] = {("z"):rep(60) .. i} end
  l4.send(main, 1, collectgarbage("count") * 1024 // 1)
  l4.receive(main)
]]

case("thread_arena_comes_back", function()
  local function round(how)
    local _, held0 = arenas()
    local t = assert(l4.thread.create{code = HOLDER, args = {main}})
    local _, label, had = recv(t)
    eq(label, 1)
    assert(had > 1500000, "it held " .. had)
    local _, held1 = arenas()
    if how == "kill" then eq(l4.thread.kill(t), true) else assert(l4.send(t, 0)) end
    eq(wait_end(t), how == "kill" and "killed" or "ended")
    local _, held2, spare = arenas()
    -- (made, the new state also freed the arenas of states given up
    -- before: held0 to held1 is not its size alone)
    assert(held1 - held2 >= had, ("%d bytes came back when a state of %d ended (%d, %d, %d)")
           :format(held1 - held2, had, held0, held1, held2))
    -- the other states (this test's own) may have taken a chunk or two
    assert(held2 - held0 < 256 << 10, ("%d bytes still held after it ended"):format(held2 - held0))
    assert(spare > 0, "no spare chunk for the next state")
    return held1 - held2
  end
  round("kill"); round("end")                   -- the heap at its working size
  local mapped0 = arenas()
  local grew = 0
  for k = 1, 10 do grew = math.max(grew, round(k % 2 == 0 and "kill" or "end")) end
  local mapped1, held, spare = arenas()
  print(("  10 states of %d bytes came and went: heap mapped %d -> %d; arenas hold %d, %d spare")
    :format(grew, mapped0, mapped1, held, spare))
  -- other threads may have taken memory meanwhile: one more 4 MiB block
  -- of the heap at most (HEAP_BLOCK of soak/main.lua)
  assert(mapped1 - mapped0 <= 4 << 20, "the root's heap grew by " .. mapped1 - mapped0)
end)

-- What a root Lua state's arena held goes back to the pager's pool when
-- the state ends (all but the spare chunks kept for the next states), and
-- serves any task from there: a task that then takes most of it gets it
-- without the pool growing.
case("thread_arena_pages_serve_tasks", function()
  local t = assert(l4.thread.create{args = {main}, code = [[
    local main = ...
    local hold = {}
    for i = 1, 12000 do hold[i] = {("z"):rep(60) .. i} end
    l4.send(main, 1, collectgarbage("count") * 1024 // 1)
    l4.receive(main)
  ]]})
  local _, label, had = recv(t)
  eq(label, 1)
  local s1 = l4.task.stats()
  assert(s1.arenas * 4096 >= had, ("the arenas hold %d pages for a state of %d bytes")
         :format(s1.arenas, had))
  assert(l4.send(t, 0))
  eq(wait_end(t), "ended")
  local s2 = l4.task.stats()
  local back = s1.arenas - s2.arenas
  -- all but the spare chunks (16 of 64 KiB), its large blocks (malloc's:
  -- the table's array, 192 KiB) and what others took meanwhile
  assert(back * 4096 >= had - (1 << 20) - (512 << 10),
         ("%d pages came back to the pool when a state of %d bytes ended"):format(back, had))
  assert(s2.free - s1.free >= back - 64, ("the pool's free pages %d -> %d, %d came back")
         :format(s1.free, s2.free, back))
  local want = back * 4096 * 2 // 3 // 1040
  local id = assert(l4.task.spawn{script = "task_child.lua", args = {"fill", want},
                                  memcap = 64 << 20})
  local how, status = l4.task.wait(id, 30000)
  l4.task.delete(id)
  eq(how, "exited", tostring(status))
  eq(status, 0)
  local s3 = l4.task.stats()
  print(("  a root state of %d bytes: the arenas %d -> %d pages, the pool's free %d -> %d; "
         .. "a task of %d strings after it: the pool %d -> %d pages")
        :format(had, s1.arenas, s2.arenas, s1.free, s2.free, want, s2.pool, s3.pool))
  eq(s3.pool, s2.pool)
end)

-- Its large blocks too: a root state of 8 strings of 600 KiB and a table
-- whose array grew to 4 MiB holds them in runs of pool pages, not in the
-- root's heap, and gives them back to the pool when it ends.
case("thread_arena_large_blocks_come_back", function()
  local heap0 = l4.sys.heap()
  local t = assert(l4.thread.create{args = {main}, code = [[
    local main = ...
    local hold, big = {}, {}
    for i = 1, 8 do hold[i] = ("%06d"):format(i):rep(600 * 1024 // 6) end
    for i = 1, 256 * 1024 do big[i] = i end
    l4.send(main, 1, collectgarbage("count") * 1024 // 1)
    l4.receive(main)
  ]]})
  local _, label, had = recv(t)
  eq(label, 1)
  assert(had > 7 << 20, "it held " .. had)
  local s1, heap1 = l4.task.stats(), l4.sys.heap()
  assert(s1.arenas * 4096 >= had, ("the arenas hold %d pages for a state of %d bytes")
         :format(s1.arenas, had))
  assert(l4.send(t, 0))
  eq(wait_end(t), "ended")
  local s2, heap2 = l4.task.stats(), l4.sys.heap()
  local back = s1.arenas - s2.arenas
  print(("  a root state of %d bytes in large blocks: the arenas %d -> %d pages, the pool's free "
         .. "%d -> %d; the root's heap %d -> %d -> %d bytes mapped")
        :format(had, s1.arenas, s2.arenas, s1.free, s2.free, heap0, heap1, heap2))
  -- all but the spare chunks (1 MiB) and what others took meanwhile
  assert(back * 4096 >= had - (1 << 20) - (512 << 10),
         ("%d pages came back to the pool when a state of %d bytes ended"):format(back, had))
  assert(s2.free - s1.free >= back - 64, ("the pool's free pages %d -> %d, %d came back")
         :format(s1.free, s2.free, back))
  -- one more 4 MiB block of the heap at most (other threads)
  assert(heap1 - heap0 <= 4 << 20, "the root's heap grew by " .. heap1 - heap0)
end)

-- Starts a thread that runs `first` (Lua code), sends 1 here, then, told
-- to, opens stuck.txt for writing again and again in a coroutine, while
-- the file service is `mute` (a task that takes each request and never
-- answers): it waits in the file call of an fopen's open. Kills it: each
-- cancelled call fails and the loop opens again; the kill's hook does
-- not reach the coroutine, so after 200 rounds the kill stops the thread
-- where it is, in its next call, and its Lua state is given up.
local function stop_in_fopen(mute, first)
  local t = assert(l4.thread.create{code = "local main = ...\n" .. first .. [[
    l4.send(main, 1)
    assert(l4.receive(main, 10000))
    coroutine.wrap(function()
      while true do io.open("stuck.txt", "w") end
    end)()
  ]], args = {main}})
  eq(select(2, recv(t)), 1)
  local files, used = l4.sys.files(), select(6, l4.sys.heap())
  assert(l4.sys.set_files(mute))
  assert(l4.send(t, 2))
  local waiting                 -- newlib's FILEs in use: one more, its fopen's
  for _ = 1, 200 do
    waiting = select(6, l4.sys.heap())
    if waiting > used then break end
    l4.sleep(10)
  end
  local ok, err = pcall(l4.thread.kill, t)
  l4.sys.set_files(files)
  assert(ok, err)
  eq(waiting, used + 1)
  eq(l4.thread.status(t), "killed")
end

-- A thread stopped for good while it waits in a file call (a kill that
-- finds no safe point in time), two more files open: its state is given
-- up, never closed, and the files it opened come back to the task's
-- table (16 at once) at the next open (runtime/lua/syscalls.c). Before,
-- each such stop kept its slots, and 16 of them left no open to any
-- thread of the task.
case("thread_forced_stop_gives_its_files_back", function()
  local function free_fds()
    local t = {}
    while true do
      local f = io.open("smoke.lua")
      if not f then break end
      t[#t + 1] = f
    end
    for _, f in ipairs(t) do f:close() end
    return #t
  end
  local before = free_fds()
  local mute = assert(l4.task.spawn{script = "task_child.lua", args = {"mute"}, name = "mute-files"})
  stop_in_fopen(mute, 'held = {io.open("smoke.lua"), io.open("smoke.lua")}\n')
  l4.task.delete(mute)
  local after = free_fds()
  print(("  free file slots: %d before, %d after the stop"):format(before, after))
  eq(after, before)
end)

-- The FILE newlib reserved for the fopen a thread was stopped in has no
-- fd yet; the slot it waited with recorded it, and the task's next open
-- frees it (runtime/lua/syscalls.c). 20 such stops: newlib's FILEs made
-- and in use (l4.sys.heap()'s last two figures) are as they were.
-- Before, each stop left its FILE in use: 24 in use after the 20 stops,
-- 4 before, and newlib had made 28 FILEs, 24 before (4 more whenever all
-- are in use).
case("thread_stopped_in_fopen_gives_its_file_back", function()
  local function streams()
    assert(io.open("smoke.lua")):close()  -- an open: what was stopped is taken back
    local made, used = select(5, l4.sys.heap())
    return assert(made), assert(used)
  end
  local mute = assert(l4.task.spawn{script = "task_child.lua", args = {"mute"}, name = "mute-files"})
  local made0, used0 = streams()
  local made, used
  for _ = 1, 20 do
    stop_in_fopen(mute, "")
    made, used = streams()
  end
  l4.task.delete(mute)
  print(("  newlib's FILEs after 20 stops inside fopen: %d made, %d in use (before: %d, %d)")
        :format(made, used, made0, used0))
  eq(used, used0)
  eq(made, made0)
end)

-- A state given up (its thread stopped inside C: a stack overflow into
-- the guard gap here) is not closed, but its arena is freed all the same,
-- at the next state made.
case("thread_giveup_arena_comes_back", function()
  local _, held0 = arenas()
  local t = assert(l4.thread.create{stack = 64 << 10, args = {main}, code = [[
    local main = ...
    local hold = {}
    for i = 1, 12000 do hold[i] = {("z"):rep(60) .. i} end
    l4.send(main, 1, collectgarbage("count") * 1024 // 1)
    local lpeg, p = require "lpeg", nil
    p = lpeg.Cmt(lpeg.P(1), function(s, i) return lpeg.match(p, s, i) ~= nil end)
    lpeg.match(p, string.rep("x", 1000))
    l4.send(main, 2)       -- never
  ]]})
  local _, label, had = recv(t)
  eq(label, 1)
  eq(wait_end(t), "failed")
  local _, held1 = arenas()
  -- the next state made frees it (if no other thread made one meanwhile)
  local n = assert(l4.thread.create{code = "return"})
  eq(wait_end(n), "ended")
  local _, held2 = arenas()
  print(("  a given-up state of %d bytes: arenas %d -> %d -> %d"):format(had, held0, held1, held2))
  assert(held2 - held0 < 256 << 10, ("%d bytes still held"):format(held2 - held0))
end)

-- C recursion without end in a thread with a small stack: LPeg's match
-- (a frame of some 10 KiB) nested through Cmt captures.
local DEEP = [[
  local main = ...
  l4.send(main, 1)
  local lpeg = require "lpeg"
  local p
  p = lpeg.Cmt(lpeg.P(1), function(s, i) return lpeg.match(p, s, i) ~= nil end)
  lpeg.match(p, string.rep("x", 1000))
  l4.send(main, 2)       -- never
]]

case("thread_stack_guard", function()
  -- a 64 KiB stack overflows into its guard gap: that thread fails, the
  -- rest goes on
  local t = assert(l4.thread.create{code = DEEP, args = {main}, stack = 64 << 10})
  eq(select(2, recv(t)), 1)
  eq(wait_end(t), "failed")
  eq(l4.thread.info(t).stack, 64 << 10)
  -- the pager thread deletes its L4 thread (at once, or once the libc
  -- lock is free)
  assert(u.wait_for(100, function() return l4.thread.schedule(t) == nil end), "still in the kernel")
  fails("no partner", 1, l4.receive(t, 20))
  -- a 4 MiB stack holds Lua's deepest C recursion: Lua's own error
  local d = assert(l4.thread.create{stack = 4 << 20, args = {main}, code = [[
    local main = ...
    local lpeg, p = require "lpeg", nil
    p = lpeg.Cmt(lpeg.P(1), function(s, i) return lpeg.match(p, s, i) ~= nil end)
    local ok, e = pcall(lpeg.match, p, string.rep("x", 1000))
    l4.send(main, 3, tostring(e))
  ]]})
  local _, label, e = recv(d)
  eq(label, 3)
  assert(e:find("C stack overflow", 1, true), e)
  eq(wait_end(d), "ended")
end)

case("thread_stack_guard_in_a_task", function()
  local id = assert(l4.task.spawn{script = "task_child.lua", args = {"tstack"}})
  local how, msg = l4.task.wait(id)
  eq(how, "failed")
  assert(msg:find("stack overflow of a Lua thread", 1, true), msg)
end)

return cases
