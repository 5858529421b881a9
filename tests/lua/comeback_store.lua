-- A task of tests/lua/comeback.lua's store case: uses the root's store
-- (l4.sys.store_*) as a task: its keys are its own, under its name; with
-- "spawn" it also spawns a task of its own, which has no store.
local what = ...
assert(l4.sys.store_put("k", "from the task"))
assert(l4.sys.store_get("k") == "from the task", "get")
local list = assert(l4.sys.store_list())
assert(list.k == #"from the task" and next(list, next(list)) == nil, "a task sees only its keys")
if what == "spawn" then
  local t = assert(l4.task.spawn{script = "comeback_store.lua", args = {"child"},
                                 name = "cb-store-child", memcap = 2 << 20})
  local how, status = l4.task.wait(t, 5000)
  l4.task.delete(t)
  assert(how == "failed", "the child has a store: " .. tostring(how) .. " " .. tostring(status))
end
