-- Nothing lost, nothing corrupted (docs/storage.md "Durability"), on the
-- host: tests/run.py kills this workload with SIGKILL at a random moment,
-- repairs the image with e2fsck -fy, and runs this again to check it.
--
--   lua -L tests/lua tests/host/lua/ext2_crash.lua work <image> <log> <seed>
--     writes, replaces, renames and removes files in the image for ever;
--     before each operation it appends "begin <op>" to the log, after it
--     returned "done": the log reaches the host's kernel at once (no
--     buffer), so what it says done was done before the kill.
--   lua -L tests/lua tests/host/lua/ext2_crash.lua check <image> <log>
--     every file a finished operation left must read back intact, every
--     file it removed must be gone; the operation cut off by the kill
--     may show its old or its new state. Prints "crash-check: ok ..." or
--     "crash-check: FAIL ...".
local mode, image, logpath, seed, limit = arg[1], arg[2], arg[3], tonumber(arg[4]), tonumber(arg[5])
package.path = package.path .. ";scripts/?.lua;tests/host/lua/?.lua"
local ext2 = require "ext2"

local file_device = require "file_device"  -- unbuffered: each write reaches the host's kernel

-- The contents written at generation gen (each write has its own; a
-- rename carries them to the new name).
local function contents(gen)
  local n = (gen * 7919) % 20000 + 1
  return (("gen %d|"):format(gen)):rep(n // 6 + 1):sub(1, n)
end

if mode == "work" then
  local log = assert(io.open(logpath, "w"))
  log:setvbuf("no")
  local fs = assert(ext2.open(file_device(image)))
  assert(fs:mkdir("d") or true)
  local x = seed
  local function rnd(m)
    x = (x * 1103515245 + 12345) & 0x7fffffff
    return (x >> 8) % m
  end
  local gen = 0
  while not limit or gen < limit do
    gen = gen + 1
    local a, b = ("d/f%d"):format(rnd(12)), ("d/f%d"):format(rnd(12))
    local op = rnd(10)
    if op < 6 then
      log:write(("begin write %s %d\n"):format(a, gen))
      local ok, why, code = fs:write(a, contents(gen))
      log:write(ok and "done\n" or ("failed %s %s\n"):format(code, why))
    elseif op < 8 then
      log:write(("begin rename %s %s\n"):format(a, b))
      local ok, why, code = fs:rename(a, b)
      log:write(ok and "done\n" or ("failed %s %s\n"):format(code, why))
    else
      log:write(("begin remove %s\n"):format(a))
      local ok, why, code = fs:remove(a)
      log:write(ok and "done\n" or ("failed %s %s\n"):format(code, why))
    end
  end
elseif mode == "check" then
  -- the state the finished operations left: name -> generation
  local have, cut, ops = {}, nil, 0
  local f = assert(io.open(logpath, "r"))
  local pending
  for line in f:lines() do
    local kind, rest = line:match("^(%a+)%s*(.*)$")
    if kind == "begin" then
      pending = rest
    elseif kind == "done" then
      local op, p1, p2 = pending:match("^(%a+) (%S+) (%S+)$")
      if not op then op, p1 = pending:match("^(%a+) (%S+)$") end
      if op == "write" then have[p1] = tonumber(p2)
      elseif op == "rename" and p1 ~= p2 then have[p2], have[p1] = have[p1], nil
      elseif op == "remove" then have[p1] = nil end
      pending, ops = nil, ops + 1
    elseif kind == "failed" then
      pending = nil
    end
  end
  f:close()
  cut = pending     -- the operation the kill cut off, if any
  -- what each name it touched may show: its state before or after it
  -- (a cut rename may leave both names: e2fsck counts the links again)
  local may = {}
  if cut then
    local op, p1, p2 = cut:match("^(%a+) (%S+) (%S+)$")
    if not op then op, p1 = cut:match("^(%a+) (%S+)$") end
    if op == "write" then may[p1] = {have[p1], tonumber(p2)}
    elseif op == "rename" and p1 ~= p2 then may[p1] = {have[p1], false}; may[p2] = {have[p2], have[p1]}
    elseif op == "remove" then may[p1] = {have[p1], false} end
  end
  local fs, why = ext2.open(file_device(image, true))
  if not fs then
    print("crash-check: FAIL the repaired image does not open: " .. tostring(why))
    os.exit(1)
  end
  local bad = {}
  for i = 0, 11 do
    local name = ("d/f%d"):format(i)
    local got = fs:read(name)
    local states = may[name] or {have[name]}
    local ok = false
    for j = 1, 2 do
      local gen = states[j]
      if j == 1 or states[j] ~= nil then
        local want = gen and contents(gen) or nil
        if got == want then ok = true end
      end
    end
    if not ok then
      bad[#bad + 1] = ("%s: %s, want %s"):format(name, got and #got .. " bytes" or "absent",
                                                have[name] and "generation " .. have[name] or "absent")
    end
  end
  if #bad > 0 then
    print("crash-check: FAIL after " .. ops .. " operations (cut: " .. tostring(cut) .. "): " ..
          table.concat(bad, "; "))
    os.exit(1)
  end
  print(("crash-check: ok after %d operations (cut: %s)"):format(ops, tostring(cut)))
  os.exit(0)
end
