-- The autorun of make crash-disk (tests/repl/crash_disk.py; docs/storage.md
-- "Durability"): booted on a disk that the last run left (QEMU killed with
-- SIGKILL in the middle of this workload, then e2fsck -fy on the host),
-- it prints what the disk holds under w/, one line a file:
--
--   crash-state <path> <size> <crc32, 8 hex digits>   ... then crash-state-end
--
-- then a seed and runs a workload drawn from it until QEMU is killed:
-- writes (io.open, write, close), renames (fs.rename), removes
-- (os.remove) and fs.sync() over twelve paths, printing "crash-done <n>"
-- after each. The host draws the same operations from the seed (the same
-- xorshift, the same choices) to know what each done operation left.
local fs = require "fs"
local crc32 = require "crc32"

local PATHS = {}
for i = 0, 7 do PATHS[#PATHS + 1] = "w/f" .. i end
for i = 0, 3 do PATHS[#PATHS + 1] = "w/d/f" .. i end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- What the disk holds: every file under w/, sorted by path.
local exists = {}
local function walk(folder)
  local names = fs.list(folder) or {}
  for _, name in ipairs(names) do
    local path = folder .. "/" .. name
    if name:sub(-1) == "/" then
      walk(path:sub(1, -2))
    else
      local s = read(path)
      print(("crash-state %s %d %08x"):format(path, #s, crc32(s)))
      exists[path] = true
    end
  end
end
if fs.stat("w") then walk("w") end
print("crash-state-end")

-- xorshift64 (13, 7, 17); draw(n): 0 .. n-1. The host's is the same.
local x = (l4.clock() * 2654435761 + os.time()) & 0x7fffffffffffffff
if x == 0 then x = 1 end
print("crash-seed " .. x)
local function draw(n)
  x = x ~ (x << 13)
  x = x ~ (x >> 7)
  x = x ~ (x << 17)
  return (x >> 1) % n
end

-- The bytes of write number i: its tag repeated, n bytes.
local function content(i, n)
  local tag = ("<%d>"):format(i)
  return tag:rep(n // #tag + 1):sub(1, n)
end

for _, f in ipairs{"w", "w/d"} do
  if not fs.stat(f) then assert(fs.mkdir(f)) end
end
local i = 0
while true do
  i = i + 1
  local r = draw(100)
  if r < 50 then
    local p, n = PATHS[draw(#PATHS) + 1], draw(20000)
    local f = assert(io.open(p, "wb"))
    f:write(content(i, n))
    assert(f:close())
    exists[p] = true
  elseif r < 70 then
    local a, b = PATHS[draw(#PATHS) + 1], PATHS[draw(#PATHS) + 1]
    if exists[a] and a ~= b then
      assert(fs.rename(a, b))
      exists[a], exists[b] = nil, true
    end
  elseif r < 85 then
    local p = PATHS[draw(#PATHS) + 1]
    if exists[p] then
      assert(os.remove(p))
      exists[p] = nil
    end
  else
    assert(fs.sync())
  end
  print("crash-done " .. i)
end
