-- service_keep.lua: a reloaded version kept as its service's script, so
-- that what a user reloads is what runs after a reboot (docs/services.md
-- "Hot reload", docs/storage.md "Scripts on the disk"). service.reload
-- calls it before it sends RELOAD, whoever asked for the reload (`reload
-- echo` at the REPL, service.reload, tools/l4ua push, the dashboard):
--
--   local keep = require "service_keep"
--   local undo, why, code = keep.keep("echo", source, [path])
--   -- undo: a function that puts back what the script was (call it when
--   -- the reload is rejected); false: nothing was written; nil: the
--   -- version could not be kept (why, code as files.write gives them)
--
-- The script is written through the file service: on the disk when there
-- is one (it shadows the archive's file from then on), else in the RAM
-- tree (lost at reboot). In safe mode (l4.kip.safe) nothing is kept: the
-- archive lies over the disk's scripts, and a reload there lasts until
-- the next boot.
local l4 = require "l4"

local M = {}

-- The script name starts from: the supervisor's script of it, else
-- services/<name>.lua (as service.reload_file finds it). -> path, and
-- whether the supervisor starts name from it; nil when the supervisor
-- starts name from code of the plan (the pager), not a script.
function M.script_of(name)
  local ok, sup = pcall(require, "supervisor")
  local st = ok and type(sup) == "table" and sup.status and sup.status()
  for _, s in ipairs(type(st) == "table" and st or {}) do
    if s.name == name then
      if s.script then return s.script, true end
      return nil
    end
  end
  return "services/" .. name .. ".lua", false
end

-- keep(name, source, [path]) -> undo | false | nil, message, code: the
-- source written as path (default: name's script). Nothing is written in
-- safe mode, when there is no file service (a test boot's own plan, the
-- benchmarks), when name has no script and no path is given (started
-- from code of the plan: the pager; or not the supervisor's and no
-- services/<name>.lua: `reload console console_server.lua`), or when the
-- file already holds these bytes (`reload echo` of the file itself: a
-- read-only disk does not refuse it).
function M.keep(name, source, path)
  if l4.kip.safe or not l4.sys.files() then return false end
  local files = require "files"
  local planned = path ~= nil
  if not path then path, planned = M.script_of(name) end
  if not path then return false end
  local st = files.stat(path)
  if not (planned or st) then return false end
  -- the bytes to put back: the RAM tree's or the disk's file (the
  -- archive's needs nothing: removing ours shows it again)
  local old = st and st.kind == "file" and files.read(path) or nil
  if old == source then return false end
  if st and st.where == "archive" then old = nil end
  local ok, why, code = files.write(path, source)
  if not ok then return nil, ("cannot store %s: %s"):format(path, tostring(why)), code end
  return function()
    if old then files.write(path, old) else files.remove(path) end
  end
end

return M
