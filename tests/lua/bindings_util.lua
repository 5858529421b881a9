-- Helpers of the Lua tests (bindings*.lua, threads.lua, thread_control.lua,
-- services.lua, isolation.lua, ...): each test file returns its cases in
-- order, {name, function}; init.lua runs them.
local M = {}

function M.eq(got, want, what)
  if got ~= want or math.type(got) ~= math.type(want) then
    error(("%s: got %s (%s), want %s (%s)"):format(what or "value",
      tostring(got), math.type(got) or type(got),
      tostring(want), math.type(want) or type(want)), 2)
  end
end

-- An expected failure: nil, exactly `msg`, `code`.
function M.fails(msg, code, ok, got_msg, got_code, ...)
  if ok ~= nil or got_msg ~= msg or got_code ~= code then
    error(("want nil, %q, %s; got %s, %s, %s"):format(msg, tostring(code),
      tostring(ok), tostring(got_msg), tostring(got_code)), 2)
  end
end

-- s is a string holding text (a message, an error).
function M.has(s, text, what)
  if type(s) ~= "string" or not s:find(text, 1, true) then
    error(("%s: %q lacks %q"):format(what or "message", tostring(s), text), 2)
  end
end

-- A task running `script` with the arguments, waited for (10 s) and
-- deleted; -> its exit status (it must have exited).
function M.child(script, ...)
  local id = assert(l4.task.spawn{script = script, args = table.pack(...)})
  local how, status = l4.task.wait(id, 10000)
  l4.task.delete(id)
  M.eq(how, "exited", ("the child %s %s (%s)"):format(script, tostring((...)), tostring(status)))
  return status
end

-- Misuse: fn(...) raises an error whose message contains each text.
function M.raises(texts, fn, ...)
  local ok, e = pcall(fn, ...)
  if ok then error("no error raised", 2) end
  e = tostring(e)
  for _, t in ipairs(type(texts) == "table" and texts or {texts}) do
    if not e:find(t, 1, true) then
      error(("error %q lacks %q"):format(e, t), 2)
    end
  end
  return e
end

-- Waits (up to 10 s) for a message from `from` (any if nil) and returns
-- its values; a failed receive is an error.
function M.recv(from)
  local r = table.pack(l4.receive(from, 10000))
  assert(r[1], ("receive: %s (%s)"):format(tostring(r[2]), tostring(r[3])))
  return table.unpack(r, 1, r.n)
end

-- Waits (up to some 2 s) until thread t's status is not "running"; -> it.
function M.wait_end(t)
  for _ = 1, 2000 do
    local st = l4.thread.status(t)
    if st ~= "running" then return st end
    l4.sleep(1)
  end
  return "running"
end

-- Waits until fn() is true (polling every 5 ms), at most `limit` ms.
function M.wait_for(limit, fn)
  local deadline = l4.clock() + limit * 1000
  while l4.clock() < deadline do
    if fn() then return true end
    l4.sleep(5)
  end
  return fn()
end

function M.cases()
  local cases = {}
  return cases, function(name, fn) cases[#cases + 1] = {name, fn} end
end

-- Whether a and b differ by at most 1% of total (at least 1): "back to
-- where it was" for resources that are counted.
function M.near(a, b, total) return math.abs(a - b) <= math.max(1, total // 100) end

-- The resources a task or thread gives back when it ends, after a full
-- collection: pool pages in use and the pool's size, the pager's task
-- records, kernel frames used and their limit, this state's Lua KiB.
function M.usage()
  collectgarbage(); collectgarbage()
  local st = l4.task.stats()
  local kmem, klimit = l4.debug.kmem()
  -- (pool pages in use: the tasks'; the root's arena chunks hold the rest)
  return {used = st.pool - st.free - st.arenas, pool = st.pool, records = st.records, kmem = kmem,
          klimit = klimit, lua = collectgarbage("count")}
end

return M
