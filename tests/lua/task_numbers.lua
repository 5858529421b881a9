-- Task numbers are taken in turn (runtime/lua/tasktab.c; docs/runtime.md
-- "Lua tasks"): tasks spawned and ended one after the other get number
-- after number, past 2048, and a name service and a file service there
-- answer as fast as anywhere. A file service started with the id of its
-- dead predecessor and named to the root before it has read its own
-- script (what the supervisor's restart does, with its started hook)
-- serves at once: it asked "where", was told itself, and called itself
-- until its 4 s timeout, with the root's io.open (holding the libc lock)
-- waiting on it and the supervisor found hung behind that lock.
local u = require "bindings_util"
local cases, case = u.cases()
local files = require "files"

local CHILD = "task_child.lua"
local REGISTER, LOOKUP, UNREGISTER = 1, 2, 4     -- scripts/names.lua

local function check(cond, fmt, ...)
  if not cond then error(fmt:format(...), 2) end
end
local function ms() return l4.clock() / 1000 end

local function spawn_files(name)
  local id = assert(l4.task.spawn{script = "files.lua", name = name, args = {"serve", 1 << 20},
                                  memcap = 8 << 20})
  return id
end

case("task_numbers_in_turn_past_2048", function()
  local last, n, t0 = nil, 0, ms()
  repeat
    local id = assert(l4.task.spawn{script = CHILD, args = {"return"}})
    check(not last or id.task > last or id.task < 100, "task %d after task %d: not in turn",
          id.task, last or 0)
    last, n = id.task, n + 1
    check(l4.task.wait(id, 10000) == "exited", "task %d did not end", id.task)
    assert(l4.task.delete(id))
  until last >= 2100 or n > 4200
  check(last >= 2100, "numbers stopped at %d", last)
  print(("  %d tasks spawned and ended one after the other in %.1f s: the last is task %d")
    :format(n, (ms() - t0) / 1000, last))
  -- a name service up there: lookups as fast as anywhere
  local ns = assert(l4.task.spawn{script = "service_task.lua", name = "tn-names",
                                  args = {"tn-names", "names.lua", false, false, false, n = 5},
                                  memcap = 4 << 20})
  check(ns.task > 2048, "the name service is task %d", ns.task)
  local from, label = l4.call(ns, {timeout = 3000}, REGISTER, l4.self().raw, "tn.probe")
  check(from and label == 0, "REGISTER: %s", tostring(label))
  t0 = ms()
  for _ = 1, 200 do
    local f, l, raw = l4.call(ns, {timeout = 1000}, LOOKUP, "tn.probe")
    check(f and l == 0 and raw == l4.self().raw, "LOOKUP: %s %s", tostring(l), tostring(raw))
  end
  local per = (ms() - t0) / 200
  print(("  a lookup at task %d: %.2f ms"):format(ns.task, per))
  check(per < 5, "a lookup at task %d takes %.2f ms", ns.task, per)
  l4.call(ns, {timeout = 1000}, UNREGISTER, 0, "tn.probe")
  l4.task.delete(ns)
end)

case("task_numbers_files_restarted_with_its_own_id", function()
  local before = l4.sys.files()
  local a = spawn_files("tn-files")
  check(l4.call(a, {timeout = 3000}, files.INFO), "the first file service does not answer")
  l4.sys.set_files(a)
  local f = assert(io.open("tn/probe.txt", "w"))
  assert(f:write("kept"))
  assert(f:close())
  -- it dies; the next starts with its dead id (spawn hands the root's
  -- file service to a task) and is named before it runs (it runs at
  -- this thread's priority: not before this thread waits)
  assert(l4.task.delete(a))
  local b = spawn_files("tn-files")
  check(b.task ~= a.task, "the new file service has the number of the old (%d)", b.task)
  l4.sys.set_files(b)
  local t0 = ms()
  local g = io.open("tn/probe.txt")
  local took = ms() - t0
  local text = g and g:read("a")
  if g then g:close() end
  print(("  a file service restarted at task %d answered in %.0f ms"):format(b.task, took))
  check(text == "kept", "tn/probe.txt read %s", tostring(text))
  check(took < 1000, "the restarted file service answered after %.0f ms", took)
  assert(os.remove("tn/probe.txt"))
  l4.sys.set_files(before)
  l4.task.delete(b)
  for key in pairs(assert(l4.sys.store_list("tn-files/"))) do l4.sys.store_remove(key) end
end)

return cases
