-- The file service on a disk (scripts/files.lua, docs/storage.md "The file
-- service on the disk"): a service started on "image:ext4.img" (a disk in
-- memory holding the test archive's ext4 image, tests/lua/ext2_cases.lua's)
-- serves io.open, io.lines, os.remove, os.rename and the fs module from
-- it, in the root and in tasks, over the archive. Run after files_test.lua,
-- whose last case forgets its service; the last case here does the same.
local l4 = require "l4"
local files = require "files"
local fs = require "fs"

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

local util = require "bindings_util"
local eq, has = util.eq, util.has

local server

-- A task running files_child.lua in `mode`; its exit status.
local function child(...) return util.child("files_child.lua", ...) end

case("files_disk_service_mounts", function()
  server = assert(l4.task.spawn{script = "files.lua", args = {"serve", 4 << 20, "image:ext4.img"},
                                name = "files", memcap = 16 << 20})
  assert(l4.sys.set_files(server))
  local i = assert(files.info())
  has(i.disk, "mounted: image:ext4.img")
  -- the host's files are there, and the archive's under them
  eq(io.open("hello.txt"):read("a"), "hello from the host\n")
  eq(table.concat(fs.list("sub"), ","), "deep.txt")
  eq(fs.stat("sub/deep.txt").where, "disk")
  eq(fs.stat("smoke.lua").where, "archive")
  local root = table.concat(fs.list(""), ",")
  has(root, "hello.txt"); has(root, "lost+found/"); has(root, "smoke.lua")
end)

case("files_disk_io", function()
  local f = assert(io.open("notes/a.txt", "w"))       -- its folder is made
  f:write("line 1\n", 42, "\n")
  assert(f:close())
  eq(fs.stat("notes/a.txt").where, "disk")
  eq(fs.stat("notes").kind, "folder")
  local lines = {}
  for l in io.lines("notes/a.txt") do lines[#lines + 1] = l end
  eq(table.concat(lines, "|"), "line 1|42")
  f = assert(io.open("notes/a.txt", "a"))
  f:write("more\n")
  f:close()
  eq(io.open("notes/a.txt"):read("a"), "line 1\n42\nmore\n", "append")
  -- a file larger than a piece of the protocol (48 KiB), both ways
  local big = ("0123456789abcdef"):rep(8192)
  f = assert(io.open("notes/big.bin", "wb"))
  f:write(big)
  assert(f:close())
  eq(io.open("notes/big.bin", "rb"):read("a"), big, "128 KiB back")
  -- os.rename and os.remove
  assert(os.rename("notes/a.txt", "notes/b.txt"))
  eq(io.open("notes/a.txt"), nil, "renamed away")
  eq(io.open("notes/b.txt"):read("l"), "line 1")
  assert(os.remove("notes/b.txt"))
  local ok, why = os.remove("notes/b.txt")
  eq(ok, nil); has(why, "No such file")
  -- the fs module: folders and renames on the disk
  assert(fs.mkdir("notes/old"))
  assert(fs.rename("notes/big.bin", "notes/old/big.bin"))
  eq(table.concat(fs.list("notes"), ","), "old/")
  eq(fs.stat("notes/old/big.bin").size, #big)
  local r, msg, code = fs.mkdir("notes/old")
  eq(r, nil); has(msg, "exists"); eq(code, files.EINVAL)
  r, msg, code = fs.remove("notes")
  eq(r, nil); has(msg, "not empty")
  assert(fs.remove("notes/old/big.bin") and fs.remove("notes/old") and fs.remove("notes"))
  eq(fs.stat("notes"), nil)
  assert(fs.sync())
end)

case("files_disk_in_a_task", function()
  eq(child("write", "shared/from_task.txt", "task says hi"), 0)
  eq(fs.stat("shared/from_task.txt").where, "disk")
  eq(io.open("shared/from_task.txt"):read("a"), "task says hi")
  assert(files.write("shared/from_root.txt", "root says hi"))
  eq(child("read", "shared/from_root.txt", "root says hi"), 0)
  assert(os.remove("shared/from_task.txt") and os.remove("shared/from_root.txt"))
  assert(fs.remove("shared"))
end)

case("files_disk_shadows_the_archive", function()
  eq(dofile("files_mod.lua").version, 1)
  assert(files.write("files_mod.lua", "return {version = 2}"))
  eq(fs.stat("files_mod.lua").where, "disk")
  eq(dofile("files_mod.lua").version, 2, "dofile sees the disk's file")
  package.loaded.files_mod = nil
  eq(require("files_mod").version, 2, "require sees it")
  assert(os.remove("files_mod.lua"))
  eq(dofile("files_mod.lua").version, 1, "removing it shows the archive's again")
  package.loaded.files_mod = nil
  local r, msg, code = files.remove("smoke.lua")
  eq(r, nil); eq(code, files.EROFS, "an archive file cannot be removed")
end)

case("files_disk_full", function()
  -- 1.5 MiB does not fit on the 1 MiB disk: close says so, nothing is left
  local f = assert(io.open("huge.bin", "wb"))
  f:write(("y"):rep(1536 << 10))
  local ok, why = f:close()
  eq(ok, nil, "close reports the full disk"); has(why, "No space left")
  assert(os.remove("huge.bin"))     -- made empty at open
  eq(fs.stat("huge.bin"), nil)
  assert(files.write("after.txt", "fits"))
  eq(io.open("after.txt"):read("a"), "fits")
  assert(os.remove("after.txt"))
end)

case("files_disk_service_stops", function()
  l4.task.delete(server)
  assert(l4.sys.set_files(nil))
  eq(l4.sys.files(), nil)
end)

return cases
