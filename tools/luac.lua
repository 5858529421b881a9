-- Precompiles the scripts archive's Lua files (tools/mkarchive.py --luac),
-- run by the host build of the target's own Lua (build/lua-host/lua: the
-- same liblua.a, so the same version, configuration and bytecode):
--
--     lua luac.lua FILE...
--
-- For each FILE, in order, writes to stdout a 32-bit little-endian length
-- and that many bytes: string.dump of loadfile(FILE) with its debug
-- information (line numbers, local and upvalue names: tracebacks and the
-- debugger need them); or length 0 if FILE does not compile (the target
-- then compiles it and reports the error itself) or is not text (a
-- binary chunk: a load in text mode must refuse it, as ever). loadfile
-- reads the file as the target's luaL_loadfilex does (a first line
-- starting with '#' skipped). The chunk's name in the dump is this
-- host's path: runtime/lua/luac.c puts the target's name in its place.
local out = io.stdout
out:setvbuf("full")

-- What luaL_loadfilex's skipcomment leaves: no UTF-8 BOM, no '#' line.
local function body(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  s = s:gsub("^\239\187\191", "")
  if s:sub(1, 1) == "#" then s = s:match("^[^\n]*\n?(.*)$") end
  return s
end

for i = 1, #arg do
  local s = body(arg[i])
  local f = s and s:sub(1, 1) ~= "\27" and loadfile(arg[i], "t")
  out:write(string.pack("<s4", f and string.dump(f, false) or ""))
end
out:close()
