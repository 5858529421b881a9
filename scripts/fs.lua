-- fs: the files and folders of the running system, for scripts and the
-- REPL (docs/storage.md "The file service on the disk"): the file
-- service's client (scripts/files.lua) under short names.
--
--   local fs = require "fs"
--   fs.list("scripts")          --> {"a.lua", "old/"}   (every layer: RAM, disk, archive)
--   fs.stat("scripts/a.lua")    --> {size = 120, kind = "file", where = "disk"}
--   fs.mkdir("scripts/old")     --> true      (on the disk)
--   fs.rename("scripts/a.lua", "scripts/old/a.lua")
--   fs.remove("scripts/old/a.lua")
--   fs.sync()                   --> true: what is on the disk is flushed from its cache
-- Files themselves: io.open, io.lines, os.remove and os.rename, in every task.
local files = require "files"

return {
  list = files.list,
  stat = files.stat,
  mkdir = files.mkdir,
  rename = files.rename,
  remove = files.remove,
  sync = files.sync,
  info = files.info,
}
