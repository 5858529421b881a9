-- A module for tests/lua/luac.lua: its lines are asserted there.
local M = {}

function M.boom(what)
  local reason = "boom: " .. what
  error(reason)
end

function M.where()
  return debug.getinfo(1, "Sl")
end

return M
