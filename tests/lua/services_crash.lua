-- A service that cannot stay up. Its configuration says how it ends:
--   mode "error": a Lua error at start (tests/lua/services.lua)
--   mode "exit":  os.exit(0) at start (tests/lua/services.lua)
--   mode "serve": it serves, and each label below crashes it another way
--                 (tests/lua/isolation.lua); label 1 answers "pong".
-- on_error = "exit": a handler's error ends the task, for the supervisor
-- to restart it. A request runs at most BUDGET instructions.
local PING, INB, CRASH = 1, 2, 10
local BUDGET = 5000000

-- The address l4.debug.fault's thread reads: in the free area, where
-- nothing is mapped in a Lua task.
local NOWHERE = 0x100000000000

local kinds = {
  -- a Lua error in a handler
  lua_error = function() error("crash: a Lua error on purpose", 0) end,
  -- a C thread of the task reads where nothing is mapped; its pager is
  -- the task's (the root's pager thread: the test names it), which ends
  -- the task, as for a null pointer
  null = function(state, from, pager)
    assert(l4.debug.fault(NOWHERE, 0, l4.id(pager)))
    l4.sleep(2000)
    error("the faulting thread did not end the task", 0)
  end,
  -- C code storing through a bad pointer (into its read-only text)
  write = function() l4.task._fault("write") end,
  -- C recursion past the stack, into the unmapped gap below it
  stack = function() l4.task._fault("stack") end,
  -- a loop without end: the framework's instruction budget stops it
  runaway = function() while true do end end,
  -- a heap beyond the task's memory cap
  memory = function()
    local t = {}
    for i = 1, math.maxinteger do t[i] = ("x"):rep(64 * 1024) .. i end
  end,
  -- a port the task does not hold: the bindings refuse it (a Lua error)
  port_refused = function() return l4.io.inb(0x60) end,
  -- a port taken back from the task behind the bindings' record (the
  -- test unmaps it): a real `in`, a #GP
  port_gp = function(state) return l4.io.inb(state.config.port) end,
  -- an invalid opcode (ud2), #UD
  opcode = function() l4.task._fault("exception") end,
  -- waits for ever in IPC: no instruction runs, so no budget stops it;
  -- only the supervisor's PING finds it hung
  hang = function() l4.sleep() end,
}

local handlers = {
  [PING] = function() return "pong" end,
  [INB] = function(state) return l4.io.inb(state.config.port) end,
}
local order = {"lua_error", "null", "write", "stack", "runaway", "memory", "port_refused",
               "port_gp", "opcode", "hang"}
for i, k in ipairs(order) do handlers[CRASH + i - 1] = kinds[k] end

return {
  name = "crash",
  version = 1,
  init = function(state)
    local mode = state.config and state.config.mode or "error"
    if mode == "exit" then os.exit(0) end
    if mode ~= "serve" then error("crash: broken on purpose", 0) end
  end,
  on_error = "exit",
  budget = BUDGET,
  handlers = handlers,
  -- for tests/lua/isolation.lua: the label of each kind
  labels = (function()
    local t = {PING = PING, INB = INB}
    for i, k in ipairs(order) do t[k] = CRASH + i - 1 end
    return t
  end)(),
}
