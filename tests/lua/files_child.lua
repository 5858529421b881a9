-- A Lua task for tests/lua/files.lua: io.open over the file service that
-- the root named before spawning it. Exits 0 if all went as expected.
local mode, path, text = ...
if mode == "write" then
  local f = assert(io.open(path, "w"))
  f:write(text)
  assert(f:close())
elseif mode == "read" then
  local f = assert(io.open(path))
  assert(f:read("a") == text, "not the root's text")
  f:close()
elseif mode == "require" then
  local files = require "files"
  assert(files.write("files_mod.lua", "return {version = 3}"))
  assert(require("files_mod").version == 3, "require in a task sees the RAM file")
end
os.exit(0)
