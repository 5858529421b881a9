-- The ext2 module on the host (tests/run.py stage "storage"): the cases
-- of tests/lua/ext2_cases.lua on the target's libext2fs in our host Lua,
-- then a disk image file written through a device over io.open. Every
-- image a case leaves is written to <out>/ for e2fsck (run.py).
--   lua -L tests/lua tests/host/lua/ext2.lua <images dir> <out dir> [damaged variants]
local imgdir, out, damaged = arg[1], arg[2], tonumber(arg[3]) or 1000
package.path = package.path .. ";scripts/?.lua;tests/host/lua/?.lua"     -- ramdisk.lua, file_device.lua
local ext2 = require "ext2"

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function save(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

local images = {ext2 = slurp(imgdir .. "/ext2.img"), ext4 = slurp(imgdir .. "/ext4.img")}
local kept = {}
local cases = require("ext2_cases")(images, {
  damaged = damaged,
  keep = function(name, d) kept[#kept + 1] = name; save(out .. "/" .. name .. ".img", d:image()) end,
})

local file_device = require "file_device"       -- an image file as a block device

cases[#cases + 1] = {"ext2_an_image_file_through_io", function()
  local path = out .. "/file-device.img"
  save(path, images.ext4)
  local d = file_device(path)
  local fs = assert(ext2.open(d))
  assert(fs:mkdir("scripts"))
  for i = 1, 40 do assert(fs:write(("scripts/s%d.lua"):format(i), ("return %d\n"):format(i):rep(i * 50))) end
  for i = 1, 40, 3 do assert(fs:remove(("scripts/s%d.lua"):format(i))) end
  assert(fs:rename("scripts/s2.lua", "two.lua"))
  assert(fs:close())
  d:close()
  d = file_device(path)
  fs = assert(ext2.open(d, {readonly = true}))
  assert(fs:read("two.lua") == ("return 2\n"):rep(100))
  assert(#fs:list("scripts") == 40 - 14 - 1)
  fs:close()
  d:close()
  kept[#kept + 1] = "file-device"
end}

local passed, failed = 0, 0
for _, c in ipairs(cases) do
  local ok, err = xpcall(c[2], debug.traceback)
  if ok then
    passed = passed + 1
    print("ok " .. c[1])
  else
    failed = failed + 1
    print(("FAIL %s: %s"):format(c[1], tostring(err)))
  end
end
save(out .. "/kept.txt", table.concat(kept, "\n") .. "\n")
print(("ext2-host: %d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
