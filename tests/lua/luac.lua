-- Precompiled chunks (runtime/lua/luac.c, docs/runtime.md "Precompiled
-- chunks"): this archive's .lua files are precompiled at build time
-- (tools/mkarchive.py --luac), and loading one that is the archive's own
-- gives exactly what compiling its bytes gives: the same function, dumped
-- byte for byte the same, the same chunk name, lines and locals; the same
-- answers to modes and errors. A file of the RAM tree over the archive's
-- is compiled from its own bytes (files_test.lua's files_shadow_archive).
local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

local function eq(got, want, what)
  if got ~= want then
    error(("%s: got %s, want %s"):format(what or "value", tostring(got), tostring(want)), 2)
  end
end

local function source(name)
  local f = assert(io.open(name, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- The system's modules and this suite's, each by its name and by "./name".
local NAMES = {"service.lua", "names.lua", "supervisor.lua", "debugger.lua", "files.lua",
               "luac/mod.lua", "luac.lua", "./service.lua", "/luac/mod.lua"}

case("luac_same_as_compiled", function()
  for _, n in ipairs(NAMES) do
    local f = assert(loadfile(n))
    local g = assert(load(source(n), "@" .. n))
    eq(string.dump(f) == string.dump(g), true, n .. ": the dump of loadfile's function")
    eq(string.dump(f, true) == string.dump(g, true), true, n .. ": its stripped dump")
    local fi, gi = debug.getinfo(f, "S"), debug.getinfo(g, "S")
    eq(fi.source, "@" .. n, n .. ": source")
    eq(fi.short_src, gi.short_src, n .. ": short_src")
    eq(fi.lastlinedefined, gi.lastlinedefined, n .. ": lastlinedefined")
  end
end)

case("luac_lines_and_locals", function()
  package.loaded["luac.mod"] = nil
  local m = require "luac.mod"
  local ok, err = pcall(m.boom, "here")
  eq(ok, false)
  eq(err, "luac/mod.lua:6: boom: here", "the error's position")
  local tb
  xpcall(m.boom, function(e) tb = debug.traceback(e) end, "x")
  assert(tb:find("luac/mod.lua:6: in function 'luac.mod.boom'", 1, true) or
         tb:find("luac/mod.lua:6: in field 'boom'", 1, true) or
         tb:find("luac/mod.lua:6: in function", 1, true), tb)
  local w = m.where()
  eq(w.source, "@luac/mod.lua", "require's chunk name")
  eq(w.currentline, 10, "the current line")
  eq(w.linedefined, 9, "linedefined")
  eq(debug.getlocal(m.boom, 1), "what", "a parameter's name")
  local loader, path = package.searchers[2]("luac.mod")
  eq(type(loader), "function"); eq(path, "luac/mod.lua", "the searcher's file")
end)

case("luac_first_line_comment", function()
  local f = assert(loadfile("luac/shebang.lua"))()
  local ok, err = pcall(f)
  eq(err, "luac/shebang.lua:3: from line 3", "lines counted past the # line")
  eq(ok, false)
end)

case("luac_modes", function()
  assert(loadfile("service.lua", "t"), "text mode loads a text file")
  assert(loadfile("service.lua", "bt"))
  local f, err = loadfile("service.lua", "b")
  eq(f, nil)
  local _, want = load(source("service.lua"), "@service.lua", "b")
  eq(err, want, "binary mode refuses the text file")
  eq(err, "attempt to load a text chunk (mode is 'b')")
end)

case("luac_errors_as_ever", function()
  local f, err = loadfile("luac/broken.lua")
  eq(f, nil)
  eq(err, "luac/broken.lua:3: <name> expected near '='", "a file that does not compile")
  local _, want = load(source("luac/broken.lua"), "@luac/broken.lua")
  eq(err, want)
  f, err = loadfile("luac/none.lua")
  eq(f, nil)
  eq(err, "cannot open luac/none.lua: No such file or directory", "a file that is not there")
  local ok, e = pcall(dofile, "luac/broken.lua")
  eq(ok, false); eq(e, want, "dofile")
end)

return cases
