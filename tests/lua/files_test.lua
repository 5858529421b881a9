-- The file service (scripts/files.lua, docs/services.md "The file
-- service") and io.open over it in every task (runtime/lua/files.c,
-- syscalls.c; docs/runtime.md "Files"). Returns the cases in order; the
-- first starts the service as a task, the last stops it and forgets it
-- (l4.sys.set_files(nil)), so the suites after these see the archive
-- alone, as before.
local l4 = require "l4"
local files = require "files"

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

local util = require "bindings_util"
local eq, has = util.eq, util.has

local server

-- A task running files_child.lua in `mode`; its exit status.
local function child(...) return util.child("files_child.lua", ...) end

case("files_without_service", function()
  eq(l4.sys.files(), nil, "no file service named yet")
  local f, msg = io.open("new.txt", "w")
  eq(f, nil)
  has(msg, "Read-only file system")
  assert(io.open("smoke.lua"), "archive files still read")
  local ok, why = os.remove("smoke.lua")
  eq(ok, nil); has(why, "Read-only file system")
end)

case("files_service_starts", function()
  server = assert(l4.task.spawn{script = "files.lua", args = {"serve", 256 << 10},
                                name = "files", memcap = 8 << 20})
  assert(l4.sys.set_files(server))
  eq(l4.sys.files(), server)
  local i = assert(files.info())
  eq(i.used, 0); eq(i.quota, 256 << 10); eq(i.files, 0)
end)

case("files_client", function()
  assert(files.write("notes/a.txt", "hello"))
  eq(files.read("notes/a.txt"), "hello")
  eq(files.read("/notes//./a.txt"), "hello", "a path with / and .")
  local st = assert(files.stat("notes/a.txt"))
  eq(st.size, 5); eq(st.kind, "file"); eq(st.where, "ram")
  st = assert(files.stat("smoke.lua"))
  eq(st.where, "archive"); eq(st.kind, "file")
  eq(assert(files.stat("notes")).kind, "folder")
  eq(table.concat(files.list("notes"), ","), "a.txt")
  local root = table.concat(files.list(""), ",")
  has(root, "notes/", "the root lists the RAM folder"); has(root, "smoke.lua", "and archive files")
  local r, msg, code = files.read("nothing.txt")
  eq(r, nil); has(msg, "no such file"); eq(code, files.ENOENT)
  r, msg, code = files.write("../up", "x")
  eq(r, nil); eq(code, files.EINVAL)
  r, msg, code = files.remove("smoke.lua")
  eq(r, nil); eq(code, files.EROFS, "an archive file cannot be removed")
  r, msg, code = files.read("notes")
  eq(code, files.EISDIR)
  -- a file larger than a piece (48 KiB) in both directions
  local big = ("0123456789abcdef"):rep(8192)      -- 128 KiB
  assert(files.write("big.bin", big))
  eq(files.read("big.bin"), big, "128 KiB back")
  assert(files.remove("big.bin"))
  assert(files.remove("notes/a.txt"))
  eq(files.read("notes/a.txt"), nil, "removed")
  -- a late reply (label 0, its caller gone) is dropped, not answered:
  -- sent as a late replier's reply_wait sends it, waiting right after
  local from, label, what = l4.call(server, {timeout = 300}, 0, "a late reply")
  eq(from, nil, ("a late reply was answered: label %s, %s"):format(tostring(label), tostring(what)))
  assert(files.info(), "and it serves on")
end)

case("files_quota", function()
  local r, msg, code = files.write("huge.bin", ("x"):rep(300 << 10))
  eq(r, nil); eq(code, files.ENOSPC); has(msg, "quota")
  eq(files.info().used, 0, "nothing of a refused write is kept")
  eq(files.read("huge.bin"), nil)
  local f = assert(io.open("huge.bin", "w"))
  f:write(("y"):rep(300 << 10))
  local ok, why = f:close()
  eq(ok, nil, "close reports the quota"); has(why, "No space left")
  assert(os.remove("huge.bin"))     -- made empty at open
end)

-- A write in pieces that its client never finishes (a thread killed
-- between two pieces of a close: here one that sends the first piece and
-- ends): its 48 KiB count against the quota until the service drops them,
-- 10 s after that piece (scripts/files.lua, STALE). Before, they counted
-- until the service restarted.
case("files_unfinished_write_dropped", function()
  local t = assert(l4.thread.create{code = [[
    local server, label = ...
    local from, r = l4.call(server, {timeout = 4000}, label, 0, 0, "gone.bin", ("g"):rep(48 << 10))
    assert(from and r == 0, "the first piece: " .. tostring(r))
  ]], args = {server, files.WRITE}})
  eq(util.wait_end(t), "ended")
  local fits = (256 << 10) - files.info().used - (16 << 10)  -- 16 KiB under the quota
  local r, _, code = files.write("after.bin", ("a"):rep(fits))
  eq(r, nil, "the unfinished write's 48 KiB count"); eq(code, files.ENOSPC)
  l4.sleep(10500)
  assert(files.write("after.bin", ("a"):rep(fits)))
  assert(files.remove("after.bin"))
end)

case("files_io_open_write", function()
  local f = assert(io.open("/ram/out.txt", "w"))
  f:write("line 1\n", 42, "\n")
  assert(f:close())
  eq(files.read("ram/out.txt"), "line 1\n42\n", "close writes it back")
  f = assert(io.open("ram/out.txt", "a"))
  f:write("more\n"); f:close()
  eq(io.open("ram/out.txt"):read("a"), "line 1\n42\nmore\n", "append")
  f = assert(io.open("ram/out.txt", "r+"))
  f:seek("set", 5); f:write("X"); f:close()
  eq(io.open("ram/out.txt"):read("l"), "line X", "r+ writes in place")
  eq(io.open("ram/out.txt"):seek("end"), 15, "seek to the end")
  -- "w" makes the file at once, as POSIX does
  f = assert(io.open("ram/empty.txt", "w"))
  eq(assert(files.stat("ram/empty.txt")).size, 0, "created at open")
  f:close()
  eq(io.open("ram/nothing.txt", "r"), nil)
  local g, msg = io.open("ram/nothing.txt", "r+")
  eq(g, nil); has(msg, "No such file")
  assert(os.rename("ram/empty.txt", "ram/moved.txt"))
  eq(io.open("ram/empty.txt"), nil, "renamed away")
  assert(os.remove("ram/moved.txt"))
  assert(os.remove("ram/out.txt"))
  local ok, why = os.remove("ram/out.txt")
  eq(ok, nil); has(why, "No such file")
  eq(files.info().files, 0)
end)

case("files_shadow_archive", function()
  -- a file of the RAM tree hides the archive's, for require and dofile too
  local before = dofile("files_mod.lua")
  eq(before.version, 1)
  assert(files.write("files_mod.lua", "return {version = 2}"))
  eq(dofile("files_mod.lua").version, 2, "dofile sees the RAM file")
  package.loaded.files_mod = nil
  eq(require("files_mod").version, 2, "require sees it")
  eq(files.stat("files_mod.lua").where, "ram")
  assert(os.remove("files_mod.lua"))
  eq(dofile("files_mod.lua").version, 1, "removing it shows the archive's again")
  package.loaded.files_mod = nil
end)

case("files_in_a_task", function()
  -- a task spawned after set_files uses the service: what it writes the
  -- root reads, and the other way round
  assert(files.write("shared/from_root.txt", "root says hi"))
  eq(child("write", "shared/from_task.txt", "task says hi"), 0)
  eq(files.read("shared/from_task.txt"), "task says hi")
  eq(child("read", "shared/from_root.txt", "root says hi"), 0)
  eq(child("require"), 0)
  files.remove("shared/from_root.txt"); files.remove("shared/from_task.txt")
  files.remove("files_mod.lua")
end)

case("files_service_gone", function()
  -- the service is deleted: writes fail clearly, archive reads go on
  l4.task.delete(server)
  local f, msg = io.open("x.txt", "w")
  eq(f, nil); has(msg, "I/O error")
  assert(io.open("smoke.lua"), "archive reads without the service")
  local r, why = files.read("smoke.lua")
  eq(r, nil); has(why, "file service:")
  assert(l4.sys.set_files(nil))
  eq(l4.sys.files(), nil)
end)

return cases
