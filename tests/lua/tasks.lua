-- Lua tasks (l4.task, docs/runtime.md "Lua tasks"): tasks that run the
-- Lua runtime with a script of the archive (task_child.lua here), paged
-- by the root's pager thread. Returns the cases in order, {name,
-- function}; init.lua runs them. Every case waits for the tasks it
-- spawns, so that no task prints while the root prints its "ok" line.
local l4 = require "l4"
local T = l4.task
local CHILD = "task_child.lua"

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

local function eq(got, want, what)
  if got ~= want or math.type(got) ~= math.type(want) then
    error(("%s: got %s (%s), want %s (%s)"):format(what or "value",
      tostring(got), math.type(got) or type(got),
      tostring(want), math.type(want) or type(want)), 2)
  end
end

local has = require("bindings_util").has

local function raises(text, fn, ...)
  local ok, e = pcall(fn, ...)
  if ok then error("no error raised", 2) end
  has(tostring(e), text, "error")
end

-- A task running task_child.lua in `mode` with the other arguments.
local function spawn(opts, mode, ...)
  opts.script = CHILD
  opts.args = table.pack(mode, ...)
  local id, msg, code = T.spawn(opts)
  if not id then error(("spawn %s: %s (%s)"):format(mode, msg, code), 2) end
  return id
end

case("task_spawn_exit", function()
  local id = spawn({}, "echo", "text", 42, 1.5, true, nil)
  eq(getmetatable(id), getmetatable(l4.self()), "an l4.id")
  assert(id.task >= 16 and id.lthread == 0, tostring(id))
  local how, status = T.wait(id)
  eq(how, "exited"); eq(status, 7, "os.exit's status")
  eq(T.info(id).state, "exited")
  -- the end of the script is exit 0
  eq(select(2, T.wait(spawn({}, "return"))), 0, "a script that returns")
  -- the root's wall clock goes to the task
  eq(select(2, T.wait(spawn({}, "time", os.time()))), 0, "os.time in a task")
  -- a task spawns its own tasks, and sees only those
  eq(select(2, T.wait(spawn({}, "spawn", id.raw))), 0, "spawn in a task")
end)

case("task_spawn_misuse", function()
  raises("table expected", T.spawn, "task_child.lua")
  raises("field 'script' must be a string", T.spawn, {})
  raises("field 'memcap' must be an integer", T.spawn, {script = CHILD, memcap = 0})
  raises("field 'prio' must be an integer from 0 to 255", T.spawn, {script = CHILD, prio = 256})
  raises("field 'args' must be a table", T.spawn, {script = CHILD, args = "x"})
  raises("args[2] is a function", T.spawn, {script = CHILD, args = {1, print}})
  raises("the arguments are too large", T.spawn,
         {script = CHILD, args = {("x"):rep(300 * 1024)}})
  local id, msg = T.spawn{script = "no/such.lua"}
  eq(id, nil); eq(msg, "no script no/such.lua (in the file service or the archive)")
  raises("l4.id expected", T.wait, 5)
  raises("timeout must be a number of milliseconds", T.wait, l4.self(), -1)
  local ok, why = T.wait(l4.self())
  eq(ok, nil); eq(why, "no such task")
  ok, why = T.delete(l4.id(40, 0, 1))
  eq(ok, nil); eq(why, "no such task")
end)

case("task_error_reported", function()
  local id = spawn({}, "error")
  local how, msg = T.wait(id)
  eq(how, "failed")
  has(msg, "task_child.lua:29: boom from a task")
  has(msg, "stack traceback:")
  eq(T.info(id).message, msg)
  eq(T.info(id).status, 1)
end)

case("task_faults_fail_alone", function()
  -- the pager ends a task that faults where nothing is (or may be)
  -- mapped, or raises an exception; its pages come back
  for _, k in ipairs{{"write", "write to read-only memory"}, {"stack", "stack overflow"},
                     {"exception", "vector 6"}} do
    local how, msg = T.wait(spawn({}, "fault", k[1]))
    eq(how, "failed", k[1]); has(msg, k[2], k[1])
  end
  raises("for Lua tasks and Lua threads of the root only", T._fault, "write")   -- the main thread
  raises("invalid option 'x'", T._fault, "x")
  local s = T.stats()
  -- (the root's Lua states' arena chunks hold the pages in use)
  eq(s.free + s.arenas, s.pool, "every page back in the pool"); eq(s.tasks, 0)
end)

case("task_memcap", function()
  -- one task passes its cap and fails alone; another, at the same time,
  -- and the root go on
  local s0 = T.stats()
  local cap = 2 << 20
  local hog = spawn({memcap = cap}, "hog")
  local other = spawn({}, "echo", "text", 42, 1.5, true, nil)
  local how, msg = T.wait(hog)
  eq(how, "failed"); has(msg, "not enough memory")
  local i = T.info(hog)
  eq(i.memcap, cap)
  assert(i.heap <= cap and i.heap > cap // 2, "heap granted " .. i.heap)
  eq(select(2, T.wait(other)), 7, "the other task")
  local t = {}
  for k = 1, 20000 do t[k] = ("y"):rep(100) .. k end     -- ~2.5 MB in the root
  eq(#t, 20000)
  local s1 = T.stats()
  eq(s1.tasks, 0, "tasks running"); eq(s1.reserved, 0, "pages promised")
  eq(s1.free + s1.arenas, s1.pool, "every page back in the pool")
  assert(s1.pool >= s0.pool, "the pool")
end)

case("task_call_reply", function()
  -- two Lua tasks: one serves three calls, the other makes them
  local server = spawn({}, "serve", 3)
  local client = spawn({}, "call", server.raw, 3)
  eq(select(2, T.wait(client)), 0, "the client")
  eq(select(2, T.wait(server)), 0, "the server")
end)

case("task_text_shared_data_private", function()
  local st = T.stats()
  local id = spawn({}, "echo", "text", 42, 1.5, true, nil)
  eq(select(2, T.wait(id)), 7)
  local i = T.info(id)
  -- the text and read-only data were mapped (the root's pages), not
  -- copied: the only pages copied are .data's
  assert(i.shared >= 64, "shared pages " .. i.shared)
  assert(i.copied >= 1 and i.copied <= st.data_pages,
         ("copied %d of %d data pages"):format(i.copied, st.data_pages))
  assert(i.pages < st.text_pages + i.copied + 256, "private pages " .. i.pages)
  -- .data: the task sees the initial value, not the root's, and its
  -- write does not reach the root
  local initial = T._probe(7)
  eq(initial, 0x5eed)
  eq(select(2, T.wait(spawn({}, "probe"))), 0, "the task's .data")
  eq(T._probe(initial), 7, "the root's .data")
end)

case("task_delete_returns_pages", function()
  -- a task that says when it is about to block (its receive buffers
  -- allocated), then blocks for good
  local id = spawn({}, "block", l4.self().raw)
  local from, label = l4.receive(id, 5000)
  eq(from, id, "the task's message"); eq(label, 1)
  local ok, why = T.wait(id, 50)
  eq(ok, nil); eq(why, "timeout")
  ok, why = T.wait(id, 0)
  eq(ok, nil); eq(why, "timeout")
  local i = T.info(id)
  eq(i.state, "running")
  assert(i.pages > 0, "private pages " .. i.pages)
  local before = T.stats()
  eq(before.tasks, 1)
  eq(T.delete(id), i.pages, "pages given back")
  local after = T.stats()
  eq(after.free - before.free, i.pages, "free pages")
  eq(after.reserved, 0); eq(after.tasks, 0)
  eq(select(2, T.info(id)), "no such task")
  eq(select(2, T.wait(id)), "no such task")
  -- the next task takes pages from the free list: the pool does not grow
  eq(select(2, T.wait(spawn({}, "echo", "text", 42, 1.5, true, nil))), 7)
  eq(T.stats().pool, after.pool, "pool pages")
  -- an ended task is forgotten by delete
  local e = spawn({}, "return")
  T.wait(e)
  eq(T.delete(e), 0)
  eq(select(2, T.info(e)), "no such task")
end)

case("task_spawn_options", function()
  local id = spawn({name = "named one"}, "return")
  T.wait(id)
  local i = T.info(id)
  eq(i.name, "named one"); eq(i.id, id)
  local d = spawn({chief = l4.self()}, "return")
  T.wait(d)
  eq(T.info(d).name, CHILD, "the default name")
  local seen = {}
  for _, e in ipairs(T.list()) do seen[e.id] = e end
  assert(seen[id] and seen[d], "both listed")
  eq(seen[id].name, "named one"); eq(seen[id].state, "exited"); eq(seen[id].memcap, 32 << 20)
  eq(seen[d].message, nil, "list has no messages")
  eq(T.delete(id), 0); eq(T.delete(d), 0)
  for _, e in ipairs(T.list()) do assert(e.id ~= id and e.id ~= d, "still listed") end
  raises("field 'pager' must be a thread id", T.spawn, {script = CHILD, pager = 1})
  raises("the chief of a Lua task is the root task", T.spawn,
         {script = CHILD, chief = l4.id(40, 0, 1)})
  raises("field 'name' must be a string", T.spawn, {script = CHILD, name = {}})
  raises("field 'name': at most 31 bytes", T.spawn, {script = CHILD, name = ("n"):rep(32)})
  raises("field 'io' must be a list", T.spawn, {script = CHILD, io = 5})
  raises("io[1]: ports must lie in 0-0xffff", T.spawn, {script = CHILD, io = {{0xffff, 2}}})
  raises("io[2] must be {first_port, count}", T.spawn, {script = CHILD, io = {{1, 1}, 3}})
  raises("l4.id expected", T.resolve, 1, 0, 0, "r")
  eq(select(2, T.resolve(l4.self(), 0x1000, 0, "r")), "no such task")
end)

-- Nothing is used up by tasks that come and go (runtime/lua/tasktab.c):
-- 1,000 spawns, each waited for and deleted, far beyond the kernel's
-- task numbers' first round; the pool's pages in use, its records and
-- the kernel frames are back where they were (within 1%), and an old id
-- names no task.
case("task_spawn_end_1000", function()
  local usage, near = require("bindings_util").usage, require("bindings_util").near
  T.wait(spawn({}, "return"))           -- the pool's first pages
  local u0, t0, first = usage(), l4.clock(), nil
  for i = 1, 1000 do
    local id = spawn({}, "return")
    local how, st = T.wait(id, 10000)
    if how ~= "exited" or st ~= 0 then error(("task %d: %s %s"):format(i, how, st)) end
    first = first or id
    assert(T.delete(id))
  end
  local u1 = usage()
  print(("  1000 tasks spawned, ended and deleted in %.1f s; pool pages in use %d -> %d (of %d), "
    .. "records %d -> %d, kernel frames %d -> %d"):format((l4.clock() - t0) / 1e6, u0.used,
    u1.used, u1.pool, u0.records, u1.records, u0.kmem, u1.kmem))
  assert(near(u0.used, u1.used, u1.pool), "pool pages not given back")
  assert(near(u0.records, u1.records, u1.pool), "the pager's records grew")
  assert(near(u0.kmem, u1.kmem, u1.klimit), "kernel frames not given back")
  eq(select(2, T.info(first)), "no such task")
  eq(l4.send(first, {timeout = 0}, 1), nil, "a send to an old task's id")
end)

case("task_spawn_io", function()
  -- COM4's ports handed at spawn; the kernel's own (the PIT) cannot be
  eq(select(2, T.wait(spawn({io = {{0x2e8, 8}}}, "io"))), 0, "the task's port checks")
  local id, msg, code = T.spawn{script = CHILD, args = {"return"}, io = {{0x40, 4}}}
  eq(id, nil); eq(msg, "I/O ports not available"); eq(code, 10)
end)

return cases
