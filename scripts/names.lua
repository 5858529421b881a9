-- names.lua: the name service (docs/services.md "The name service"): a
-- service of its own task (init.lua starts it first, through
-- service_task.lua, which serves names.service), and its client functions:
--
--   local names = require "names"
--   names.register("echo", id)      -> true | nil, message, code
--   names.lookup("echo")            -> id | nil, message, code
--   names.unregister("echo", [id])  -> true | nil, message, code
--   names.list()                    -> {{name, id, since}, ...}
--   names.use(id)                   -- the name service to ask, in this task
--
-- A name maps to one thread id. Anyone may take a free name; a taken one
-- only its holder's task, a thread of the root task (the supervisor
-- re-registers a restarted service), or anyone once the holder no longer
-- exists. Entries are not removed when a task dies: the supervisor
-- unregisters what it supervises; a lookup can give the id of a dead
-- thread, whose calls then fail with "no partner" (service.call looks up
-- again). The server answers at once and calls no one but the root's
-- pager thread (the store, which never calls anyone), so it cannot be
-- caught in a cycle of calls. Its table is kept in the root's store: it
-- comes back with every name when the service is restarted.
local l4 = require "l4"

local M = {}
-- Labels (integers travel before strings): REGISTER raw id, s name -> 0, 1;
-- LOOKUP s name -> 0, raw id (0: none); LIST -> 0, s list (service.encode);
-- UNREGISTER raw id (0: any), s name -> 0, 1 (0: not registered so).
M.REGISTER, M.LOOKUP, M.LIST, M.UNREGISTER = 1, 2, 3, 4
M.E_NONAME = 103

local ROOT_TASK = l4.kip.root and l4.kip.root.task
local server = nil

-- The name service this task asks: set by use(), else where the root
-- says it is (l4.sys.where: the supervisor tells the root when it
-- restarts it), else (in the root task) the running task named "names".
function M.use(id) server = id end

function M.server()
  if server then return server end
  local where = l4.sys.where()
  if where and where.names then server = where.names; return server end
  if l4.self().task == ROOT_TASK then
    for _, t in ipairs(l4.task.list() or {}) do
      if t.name == "names" and t.state == "running" then server = t.id; return server end
    end
  end
  return nil, "no name service known to this task (require('names').use(id))"
end

-- A call; one that finds the server gone asks where it is now and, if it
-- was restarted elsewhere, is made once more there: clients need do
-- nothing when the name service comes back.
local function call(label, ...)
  local s, err = M.server()
  if not s then return nil, err, M.E_NONAME end
  local from, l, a, b = l4.call(s, {timeout = 2000}, label, ...)
  if not from and (a == 1 or a == 10 or a == 11) then
    server = nil                                      -- it is gone: find it anew
    local s2 = M.server()
    if s2 and s2 ~= s then from, l, a, b = l4.call(s2, {timeout = 2000}, label, ...) end
  end
  if not from then return nil, "name service: " .. tostring(l), a end
  if l ~= 0 then return nil, tostring(a), 101 end
  return a, b
end

function M.register(name, id)
  local ok, err, code = call(M.REGISTER, id.raw, name)
  if not ok then return nil, err, code end
  return true
end

function M.lookup(name)
  local raw, err, code = call(M.LOOKUP, name)
  if not raw then return nil, err, code end
  if raw == 0 then return nil, ("no service named %s"):format(name), M.E_NONAME end
  return l4.id(raw)
end

function M.unregister(name, id)
  local ok, err, code = call(M.UNREGISTER, id and id.raw or 0, name)
  if not ok then return nil, err, code end
  if ok == 0 then return nil, ("%s is not registered%s"):format(name, id and " to " .. tostring(id) or ""),
                         M.E_NONAME end
  return true
end

function M.list()
  local text, err, code = call(M.LIST)
  if not text then return nil, err, code end
  local t, derr = require("service").decode(text)
  if not t then return nil, derr end    -- (no memory to decode it: a result, not a raise)
  for _, e in ipairs(t) do e.id = l4.id(e.id) end
  return t
end

-- The server -------------------------------------------------------------

local function exists(raw)
  return l4.nearest(l4.id(raw)) ~= nil
end

-- The table outlives the service: each change is written through to the
-- root's store (l4.sys.store_put, docs/recovery.md "What outlives a
-- component"), under this task's name; a restarted name service (the
-- supervisor spawns it under the same name) starts from it. A store that
-- refuses (full) costs only the write-through: the service goes on.
local KEY = "table"

local function keep(state)
  local ok, why = l4.sys.store_put(KEY, require("service").encode(state.names))
  if not ok and not state.store_failed then
    print("names: cannot keep the table in the store: " .. tostring(why))
  end
  state.store_failed = not ok
end

M.service = {
  name = "names",
  version = 1,
  init = function(state)
    state.names = {}            -- name -> {raw = id.raw, since = l4.clock()}
    local kept = l4.sys.store_get(KEY)
    local t = kept and require("service").decode(kept)
    if type(t) == "table" then
      for name, e in pairs(t) do
        if type(name) == "string" and type(e) == "table" and math.type(e.raw) == "integer" then
          state.names[name] = {raw = e.raw, since = e.since}
        end
      end
    end
    state.names.names = {raw = l4.self().raw, since = l4.clock()}
    keep(state)
  end,
  handlers = {
    [M.REGISTER] = function(state, from, raw, name)
      assert(type(name) == "string" and #name > 0 and #name <= 64, "a name is a string of 1-64 bytes")
      assert(math.type(raw) == "integer" and raw ~= 0, "an id (raw value) to register")
      local e = state.names[name]
      if e and e.raw ~= raw and from.task ~= ROOT_TASK and l4.id(e.raw).task ~= from.task
         and exists(e.raw) then
        error(("%s is taken by %s"):format(name, tostring(l4.id(e.raw))), 0)
      end
      state.names[name] = {raw = raw, since = l4.clock()}
      keep(state)
      return 1
    end,
    [M.LOOKUP] = function(state, from, name)
      local e = state.names[name]
      return e and e.raw or 0
    end,
    [M.UNREGISTER] = function(state, from, raw, name)
      local e = state.names[name]
      if not e or (raw ~= 0 and raw ~= e.raw) then return 0 end
      if from.task ~= ROOT_TASK and l4.id(e.raw).task ~= from.task and exists(e.raw) then
        error(("only %s or the root task may unregister %s"):format(tostring(l4.id(e.raw)), name), 0)
      end
      state.names[name] = nil
      keep(state)
      return 1
    end,
    [M.LIST] = function(state)
      local out = {}
      for name, e in pairs(state.names) do out[#out + 1] = {name = name, id = e.raw, since = e.since} end
      table.sort(out, function(a, b) return a.name < b.name end)
      return require("service").encode(out)
    end,
  },
}

return M
