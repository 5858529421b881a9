-- Threads of the root task that run Lua (l4.thread.create, kill, status;
-- runtime/lua/threads.c): call/reply with the main thread, coroutines,
-- an error in a thread, allocation in three threads at once, kill.
local u = require "bindings_util"
local eq, fails, raises = u.eq, u.fails, u.raises
local cases, case = u.cases()

local main = l4.self()

local recv, wait_end = u.recv, u.wait_end

case("thread_create_misuse", function()
  raises({"bad argument #1", "table expected"}, l4.thread.create, "x = 1")
  raises({"bad argument #1", "either 'script'"}, l4.thread.create, {})
  raises({"bad argument #1", "either 'script'"}, l4.thread.create, {script = "a", code = "b"})
  raises({"bad argument #1", "option 'prio'"}, l4.thread.create, {code = "", prio = 256})
  raises({"bad argument #1", "option 'stack'"}, l4.thread.create, {code = "", stack = 1})
  raises({"bad argument #1", "args[2]"}, l4.thread.create, {code = "", args = {1, {}}})
  local ok, msg, code = l4.thread.create{code = "this is not Lua"}
  eq(ok, nil); eq(code, 20)
  assert(msg:find("thread:1:", 1, true), msg)
  ok, msg, code = l4.thread.create{script = "no_such_script.lua"}
  eq(ok, nil); eq(code, 20)
  assert(msg:find("no_such_script", 1, true), msg)
  fails("not a Lua thread of this task", 21, l4.thread.kill(main))
  fails("not a Lua thread of this task", 21, l4.thread.status(main))
  fails("not a Lua thread of this task", 21, l4.thread.status(l4.debug.echo()))
end)

case("thread_call_reply", function()
  local body = [[
    local main, k = ...
    for i = 1, 5 do
      local from, label, a = l4.call(main, 100 + k, i, i * k)
      assert(from == main and label == 200 + k and a == i + i * k, "bad reply")
    end
    l4.send(main, 300 + k, k * 1000, l4.self() ~= main and 1 or 0)
  ]]
  local t1 = assert(l4.thread.create{code = body, args = {main, 1}})
  local t2 = assert(l4.thread.create{code = body, args = {main, 2}})
  assert(t1 ~= t2 and t1 ~= main)
  eq(l4.thread.status(t1), "running")
  local calls, done = {0, 0}, {}
  while not (done[1] and done[2]) do
    local from, label, a, b = recv()
    local k = from == t1 and 1 or from == t2 and 2
    assert(k, "message from a stranger " .. tostring(from))
    if label == 100 + k then
      calls[k] = calls[k] + 1
      eq(a, calls[k], "call number"); eq(b, a * k, "second word")
      assert(l4.reply(from, 200 + k, a + b))
    else
      eq(label, 300 + k, "done label"); eq(a, k * 1000); eq(b, 1)
      done[k] = true
    end
  end
  eq(calls[1], 5); eq(calls[2], 5)
  eq(wait_end(t1), "ended"); eq(wait_end(t2), "ended")
  -- an ended thread is gone: no partner, or not receiving
  local r = l4.send(t1, {timeout = 0}, 1)
  eq(r, nil)
end)

case("thread_script", function()
  local t = assert(l4.thread.create{script = "threads_body.lua", args = {main, 21}})
  local from, label, a, extra = recv(t)
  eq(from, t); eq(label, 42); eq(a, 42); eq(extra, nil)
  eq(wait_end(t), "ended")
end)

case("thread_coroutines", function()
  local t = assert(l4.thread.create{code = [[
    local main = ...
    local co = coroutine.wrap(function(a)
      local s = a
      for _ = 1, 5 do s = s + coroutine.yield(s) end
      return s * 1000
    end)
    local v = co(1)
    for i = 1, 5 do v = co(i) end
    local gen = coroutine.create(function() for i = 1, 3 do coroutine.yield(i) end end)
    local n = 0
    while true do
      local ok, x = coroutine.resume(gen)
      if not x then break end
      n = n + x
    end
    l4.send(main, 1, v, n, coroutine.isyieldable() and 1 or 0)
  ]], args = {main}})
  local from, label, v, n, y = recv(t)
  eq(from, t); eq(label, 1); eq(v, 16000); eq(n, 6); eq(y, 0)
  eq(wait_end(t), "ended")
end)

case("thread_error", function()
  local t = assert(l4.thread.create{code = [[
    local main = ...
    l4.send(main, 5, 1)
    local function deep() error("boom in a thread (this error is expected)") end
    deep()
  ]], args = {main}})
  local from, label = recv(t)
  eq(from, t); eq(label, 5)
  eq(wait_end(t), "failed")
  -- the main thread and the heap are fine
  local s = {}
  for i = 1, 1000 do s[i] = tostring(i) end
  eq(table.concat(s):len(), 2893)
end)

-- Each thread (and the main thread meanwhile) builds and drops tables
-- and strings for a while; all must get the same sums.
local WORK = [[
  local function work(k, n)
    local sum = 0
    for i = 1, n do
      local t = {}
      for j = 1, 40 do t[j] = {j, tostring(j * k + i), ("%g"):format(j / 8)} end
      for j = 1, 40 do
        sum = sum + t[j][1] + #t[j][2] + math.floor(tonumber(t[j][3]) * 8)
      end
      if i % 100 == 0 then collectgarbage("step") end
    end
    return sum
  end
]]

case("thread_alloc_concurrent", function()
  local work = load(WORK .. " return work")()
  local N = 600
  local body = WORK .. [[
    local main, k, n = ...
    l4.send(main, 10 + k, work(k, n), collectgarbage("count") > 0 and 1 or 0)
  ]]
  local t1 = assert(l4.thread.create{code = body, args = {main, 3, N}})
  local t2 = assert(l4.thread.create{code = body, args = {main, 7, N}})
  local c0 = l4.clock()
  local mine = work(5, N)
  -- they ran while this thread worked: their CPU time grew meanwhile
  local cpu1, cpu2 = select(3, l4.thread.schedule(t1)), select(3, l4.thread.schedule(t2))
  assert(cpu1 > 0 and cpu2 > 0, ("threads' CPU time %d, %d us"):format(cpu1, cpu2))
  eq(mine, work(5, N), "the main thread's sum")
  local got = {}
  for _ = 1, 2 do
    local from, label, sum, ok = recv()
    assert(from == t1 or from == t2, "from " .. tostring(from))
    got[label] = sum
    eq(ok, 1)
  end
  eq(got[13], work(3, N), "thread 1's sum")
  eq(got[17], work(7, N), "thread 2's sum")
  eq(wait_end(t1), "ended"); eq(wait_end(t2), "ended")
  assert(l4.clock() - c0 > 0)
end)

case("thread_kill", function()
  -- a thread busy allocating
  local busy = assert(l4.thread.create{code = [[
    local main = ...
    l4.send(main, 1)
    while true do
      local t = {}
      for i = 1, 100 do t[i] = {i} end
    end
  ]], args = {main}})
  eq(select(2, recv(busy)), 1)
  l4.sleep(30)
  eq(l4.thread.status(busy), "running")
  eq(l4.thread.kill(busy), true)
  eq(l4.thread.status(busy), "killed")
  -- its L4 thread is gone (deleted by its killer, once parked)
  eq(l4.thread.schedule(busy), nil, "the killed thread is still in the kernel")
  eq(l4.thread.kill(busy), true)      -- again: nothing more to do
  -- a thread waiting in a receive
  local waiting = assert(l4.thread.create{code = [[
    local main = ...
    l4.send(main, 2)
    l4.receive(main)
    l4.send(main, 3)    -- never: killed first
  ]], args = {main}})
  eq(select(2, recv(waiting)), 2)
  eq(l4.thread.kill(waiting), true)
  eq(l4.thread.status(waiting), "killed")
  -- gone from the kernel: no partner, at once
  fails("no partner", 1, l4.send(waiting, {timeout = 0}, 9))
  fails("no partner", 1, l4.receive(waiting, 20))
  -- the heap is whole: allocate some more, then a new thread still works
  local s = {}
  for i = 1, 20000 do s[i] = {i} end
  collectgarbage()
  local t = assert(l4.thread.create{script = "threads_body.lua", args = {main, 5}})
  local _, label, a = recv(t)
  eq(label, 42); eq(a, 10)
end)

-- keep_id: an ended thread's id waits for a new body (id =), which runs
-- under that id; a thread without it, a running one, or one killed after
-- its end cannot be restarted so.
case("thread_keep_id", function()
  local body = "local main, n = ...; l4.send(main, n)"
  local t = assert(l4.thread.create{code = body, args = {main, 1}, keep_id = true})
  eq(select(2, recv(t)), 1)
  wait_end(t)
  local again = assert(l4.thread.create{code = body, args = {main, 2}, id = t})
  eq(again, t)
  eq(select(2, recv(t)), 2)
  wait_end(t)
  -- killed while it runs: the same
  local loop = "local main = ...; l4.send(main, 3); while true do end"
  assert(l4.thread.create{code = loop, args = {main}, id = t})
  eq(select(2, recv(t)), 3)
  fails("the thread of option 'id' still runs", 24, l4.thread.create{code = body, id = t})
  eq(l4.thread.kill(t), true)
  eq(l4.thread.status(t), "killed")
  assert(l4.thread.create{code = body, args = {main, 4}, id = t})
  eq(select(2, recv(t)), 4)
  wait_end(t)
  -- a kill of the ended thread lets the id go
  eq(l4.thread.kill(t), true)
  fails("option 'id' is no ended thread of this task made with keep_id", 20,
        l4.thread.create{code = body, id = t})
  local plain = assert(l4.thread.create{code = body, args = {main, 5}})
  eq(select(2, recv(plain)), 5)
  wait_end(plain)
  fails("option 'id' is no ended thread of this task made with keep_id", 20,
        l4.thread.create{code = body, id = plain})
  raises({"bad argument #1", "option 'id' must be a thread id"}, l4.thread.create,
         {code = body, id = 7})
end)

-- A root thread's L4 thread goes when it ends, however it ends (returns,
-- fails, overflows its stack into the guard gap, is killed), with no later
-- l4.thread.create: the kernel lists it no more, and its kernel frames are
-- back (runtime/lua/threads.c park_notify, pager.c pager_reap).
case("thread_reclaimed_when_it_ends", function()
  local function in_kernel(id)
    for _, t in ipairs(l4.sys.threads()) do if t.id == id then return true end end
    return false
  end
  local bodies = {
    {"ended", "return"},
    {"failed", "error('on purpose', 0)"},
    {"failed", [[local lpeg, p = require "lpeg", nil
      p = lpeg.Cmt(lpeg.P(1), function(s, i) return lpeg.match(p, s, i) ~= nil end)
      lpeg.match(p, string.rep("x", 1000))]], 64 << 10},
    {"killed", "local main = ...; l4.send(main, 1); while true do end"},
  }
  local function round()
    for _, b in ipairs(bodies) do
      local t = assert(l4.thread.create{code = b[2], args = {main}, stack = b[3]})
      if b[1] == "killed" then
        eq(select(2, recv(t)), 1)
        eq(l4.thread.kill(t), true)
      end
      eq(wait_end(t), b[1])
      assert(u.wait_for(100, function() return not in_kernel(t) end),
             ("a thread that %s is still in the kernel"):format(b[1]))
      eq(l4.thread.status(t), b[1])     -- how it ended is still known
    end
  end
  round()                               -- the stack slots' page tables made once
  local before = l4.debug.kmem()
  round()
  local after = l4.debug.kmem()
  print(("  4 threads ended (returned, failed, overflowed, killed): kernel pool in use %d -> %d")
    :format(before, after))
  eq(after, before, "kernel frames not given back")
end)

-- Thread numbers are reused (runtime/lua/threads.c): a loop of create
-- and end goes on far beyond the 252 lthreads, with nothing used up; a
-- stale id does not reach the new thread of its number. In the root,
-- and in a Lua task. Pool pages, kernel frames and the root's Lua memory
-- back to where they were, within 1%.
local near, usage = u.near, u.usage
local LOOPS = 1000

local function same_usage(a, b, what)
  print(("  %s: pool pages in use %d -> %d (of %d), kernel frames %d -> %d, root Lua KiB %.0f -> %.0f")
    :format(what, a.used, b.used, b.pool, a.kmem, b.kmem, a.lua, b.lua))
  assert(near(a.used, b.used, b.pool), "pool pages not given back")
  assert(near(a.kmem, b.kmem, b.klimit), "kernel frames not given back")
  assert(math.abs(a.lua - b.lua) <= math.max(64, a.lua / 100), "the root's Lua memory grew")
end

case("thread_numbers_reused_in_the_root", function()
  local loop = require "thread_loop"
  loop(20)                              -- stacks and states made once
  local before = usage()
  local t0 = l4.clock()
  local r = loop(LOOPS)
  local after = usage()
  print(("  %d threads created and ended in %.2f s; at most %d on one lthread; a stale id: no partner")
    :format(r.threads, (l4.clock() - t0) / 1e6, r.max_per_lthread))
  assert(r.max_per_lthread >= 3, "the lthreads were not reused")
  same_usage(before, after, "root")
  assert(l4.debug.mdb_check())
end)

case("thread_numbers_reused_in_a_task", function()
  local before = usage()
  local id = assert(l4.task.spawn{script = "task_child.lua", args = {"thread_loop", LOOPS},
                                  memcap = 8 << 20})
  local how, status, msg = l4.task.wait(id, 120000)
  eq(how, "exited", "the task: " .. tostring(msg)); eq(status, 0)
  local info = l4.task.info(id)
  print(("  a task created and ended %d threads; it held %d pages at its end")
    :format(LOOPS, info.pages))
  l4.task.delete(id)
  same_usage(before, usage(), "task")
end)

case("thread_os_exit_ends_the_thread", function()
  -- os.exit in a Lua thread ends that thread, not the task: to-be-closed
  -- variables still close (the state is closed), the root runs on
  local t = assert(l4.thread.create{code = [[
    local main = ...
    local _ <close> = setmetatable({}, {__close = function() l4.send(main, 77) end})
    os.exit()
    error("os.exit returned")
  ]], args = {main}})
  local from, label = recv(t)
  eq(label, 77)
  eq(wait_end(t), "ended")
  for _, code in ipairs({"os.exit(3)", "os.exit(false)"}) do
    t = assert(l4.thread.create{code = code})
    eq(wait_end(t), "failed", code)
  end
  eq(wait_end(assert(l4.thread.create{code = "os.exit(true)"})), "ended")
  eq(l4.self(), main)
end)

case("thread_in_a_lua_task", function()
  local id = assert(l4.task.spawn{script = "task_child.lua", args = {"threads"}})
  local how, status, msg = l4.task.wait(id)
  eq(how, "exited", "how the task ended: " .. tostring(msg)); eq(status, 0)
end)

return cases
