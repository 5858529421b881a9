-- The script of the Lua tasks that tests/lua/tasks.lua spawns: its first
-- argument says what to do. A check that fails raises an error, so the
-- task fails and the root's wait gets the message.
local l4 = require "l4"
local args = table.pack(...)
local mode = args[1]

local function check(cond, what)
  if not cond then error(what, 2) end
end

if mode == "echo" then
  -- the arguments as the root gave them, also in `arg`, and the archive
  check(args.n == 6, "args.n " .. args.n)
  check(args[2] == "text", "string")
  check(args[3] == 42 and math.type(args[3]) == "integer", "integer")
  check(args[4] == 1.5 and math.type(args[4]) == "float", "float")
  check(args[5] == true and args[6] == nil, "boolean, nil")
  check(arg[0] == "task_child.lua" and arg[1] == "echo" and arg[3] == 42, "arg")
  check(require("testpkg").answer == 42, "require from the archive")
  local f = assert(io.open("data/hello.txt"))
  check(#f:read("a") > 0, "io.open on the archive")
  f:close()
  print(("task_child: echo from task %d"):format(l4.self().task))
  os.exit(7)
elseif mode == "return" then
  return
elseif mode == "error" then
  error("boom from a task")
elseif mode == "hog" then
  -- more than its memory cap: "not enough memory", in this task only
  local t = {}
  for i = 1, math.huge do t[i] = ("x"):rep(1000) .. i end
elseif mode == "fill" then
  -- args[2] strings of some 1,000 bytes, held until it exits
  local t = {}
  for i = 1, args[2] do t[i] = ("x"):rep(1000) .. i end
  os.exit(#t == args[2] and 0 or 1)
elseif mode == "probe" then
  -- .data is a copy of the initial one, whatever the root wrote since;
  -- what this task writes stays here
  local v = l4.task._probe(42)
  check(v == 0x5eed, ("the task's .data holds %#x, not the initial 0x5eed"):format(v))
  check(l4.task._probe() == 42, "written")
  os.exit(0)
elseif mode == "time" then
  local root = args[2]
  check(math.abs(os.time() - root) <= 2, ("os.time() %d, the root's %d"):format(os.time(), root))
  check(os.clock() >= 0, "os.clock")
  os.exit(0)
elseif mode == "serve" then
  -- answers n calls: label 1, words a, b -> label 0, a + 1, b * 2
  local n = args[2]
  local from, label, a, b = l4.receive()
  for i = 1, n do
    check(label == 1, "label " .. tostring(label))
    if i < n then
      from, label, a, b = l4.reply_wait(from, 0, a + 1, b * 2)
    else
      assert(l4.reply(from, 0, a + 1, b * 2))
    end
  end
  os.exit(0)
elseif mode == "call" then
  local server, n = l4.id(args[2]), args[3]
  for i = 1, n do
    local from, label, a, b = l4.call(server, 1, i, i * 10)
    check(from == server and label == 0 and a == i + 1 and b == i * 20,
          ("reply %s %s %s %s"):format(tostring(from), label, a, b))
  end
  os.exit(0)
elseif mode == "block" then
  check(select(2, l4.receive(nil, 1)) == "timeout", "a receive of 1 ms")
  assert(l4.send(l4.id(args[2]), 1))     -- to the root: about to block
  l4.receive()      -- nobody sends: until the root deletes this task
  error("a receive from nobody returned")
elseif mode == "mute" then
  -- takes every message and answers none: a file service that hangs
  while true do l4.receive() end
elseif mode == "fault" then
  l4.task._fault(args[2])
  error("no fault")
elseif mode == "paged" then
  -- a C thread of this task whose pager is args[2] (the root's Lua pager,
  -- tests/lua/pager.lua): writes args[4] at args[3] and reads it back;
  -- at the root's word, the same at args[5] (read only); then ends
  local pager = l4.id(args[2])
  assert(l4.debug.fault(args[3], args[4], pager))
  check(select(2, l4.receive(pager)) == 1, "go on")
  assert(l4.debug.fault(args[5], 0, pager))
  check(select(2, l4.receive(pager)) == 2, "end")
  os.exit(0)
elseif mode == "spawn" then
  -- a Lua task spawns one of its own: it sees that one only
  local id = assert(l4.task.spawn{script = "task_child.lua", args = {"return"},
                                  name = "grandchild"})
  check(l4.task.wait(id) == "exited", "the grandchild's end")
  local l = l4.task.list()
  check(#l == 1 and l[1].id == id and l[1].name == "grandchild", "list: " .. #l)
  check(l4.task.info(id).name == "grandchild", "info")
  check(select(2, l4.task.info(l4.id(args[2]))) == "no such task", "another's task")
  check(select(2, l4.task.delete(l4.id(args[2]))) == "no such task", "delete another's task")
  check(l4.task.delete(id) == 0, "delete")
  check(#l4.task.list() == 0, "forgotten")
  -- no higher than its own mcp (spawn's default: its priority)
  local mine, why = l4.thread.schedule(l4.self())
  check(mine, "my priority: " .. tostring(why))
  local g = assert(l4.task.spawn{script = "task_child.lua", args = {"prio"}, prio = 250, mcp = 250})
  local how, status = l4.task.wait(g)
  check(mine < 250 and how == "exited" and status == mine,
        ("a grandchild asked for 250: %s (mine %d)"):format(status, mine))
  l4.task.delete(g)
  -- ports: only among those it was given (none)
  local ok, msg = l4.task.spawn{script = "task_child.lua", args = {"return"}, io = {{0x3f8, 8}}}
  check(ok == nil and msg == "I/O ports not available", tostring(msg))
  check(select(2, l4.task.resolve(l4.self(), 0x1000, 0, "r")) == "only the root task does this",
        "resolve")
  os.exit(0)
elseif mode == "io" then
  -- the ports of spawn's io option (COM4's, no device behind them in
  -- QEMU), there before the script runs
  check(l4.io.holds(0x2e8, 8), "holds COM4's ports")
  check(math.type(l4.io.inb(0x2ef)) == "integer", "reads a port")
  l4.io.outb(0x2ef, 0x42)
  check(not l4.io.holds(0x60), "holds 0x60")
  check(not pcall(l4.io.inb, 0x60), "reads 0x60")
  os.exit(0)
elseif mode == "lua_paged" then
  -- a task whose pager is a Lua pager of the root (tests/lua/pager.lua):
  -- its own pages (image, heap, stack) came through it, forwarded; then
  -- its C thread (with the task's pager, the Lua pager, as its pager)
  -- touches the Lua pager's region: two pages within the quota, a third
  -- beyond
  local root, base = l4.id(args[2]), args[3]
  local t = {}
  for i = 1, 3000 do t[i] = ("x"):rep(40) .. i end
  check(#table.concat(t) > 120000, "heap")
  -- (a call, not a receive, to go on: the pager must never wait for this
  -- thread, which may fault meanwhile)
  assert(l4.debug.fault(base + 0x100, 0x55, root))
  l4.call(root, 10)
  assert(l4.debug.fault(base + 0x1000, 0x66, root))
  l4.call(root, 10)
  assert(l4.debug.fault(base + 0x2000, 0x77, root))
  l4.call(root, 10)   -- no answer: the root deletes this task
elseif mode == "threads" then
  -- a Lua thread in a Lua task (tests/lua/threads.lua): its stack is
  -- demand-zero heap from the root's pager
  local t = assert(l4.thread.create{code = [[
    local main = ...
    local s = {}
    for i = 1, 5000 do s[i] = tostring(i) end
    local _, label, a = l4.call(main, 1, #table.concat(s))
    assert(label == 2 and a == 3, "bad reply")
  ]], args = {l4.self()}})
  local from, label, n = l4.receive(t, 10000)
  check(from == t and label == 1 and n == 18893, "call from the thread: " .. tostring(n))
  l4.reply(from, 2, 3)
  for _ = 1, 1000 do
    if l4.thread.status(t) ~= "running" then break end
    l4.sleep(1)
  end
  check(l4.thread.status(t) == "ended", "status " .. l4.thread.status(t))
  os.exit(0)
elseif mode == "tstack" then
  -- a Lua thread whose 64 KiB stack overflows: the pager ends this task
  local t = assert(l4.thread.create{stack = 64 << 10, code = [[
    local lpeg, p = require "lpeg", nil
    p = lpeg.Cmt(lpeg.P(1), function(s, i) return lpeg.match(p, s, i) ~= nil end)
    lpeg.match(p, string.rep("x", 1000))
  ]]})
  l4.receive(t, 10000)
  error("the thread's overflow did not end the task")
elseif mode == "prio" then
  -- ends with its priority as the status, or 1000 + it if it could rise to 250
  local prio = l4.thread.schedule(l4.self())
  os.exit((l4.thread.schedule(l4.self(), 250) and 1000 or 0) + (prio or 999))
elseif mode == "thread_loop" then
  -- tests/lua/threads.lua: thread numbers reused in a task too
  local r = require("thread_loop")(args[2])
  check(r.max_per_lthread >= 3, "the lthreads were not reused")
  os.exit(0)
else
  error("unknown mode " .. tostring(mode))
end
