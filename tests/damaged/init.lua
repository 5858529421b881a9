-- The autorun of the damaged-disk test (tests/repl/damaged_disk.py;
-- docs/storage.md "A damaged disk"): the system booted on a disk whose
-- file system the host damaged (random bytes over its metadata). The disk
-- holds, after the file system, a copy of it undamaged and a control
-- block (its last 64 KiB):
--
--   L4UA-DAMAGE\n{fs = <sectors of the file system>, copy = <first sector
--   of the copy>, seed = <n>, runs = <n>, regions = {{"superblock",
--   {byte offset, length}, ...}, ...}}\0
--
-- Variant 0 is the disk as booted. Each further one writes the copy back
-- over the file system and random bytes over its metadata: one kind of
-- region drawn (the superblock, the group descriptor, the bitmaps, the
-- inode table's used part, the folders' blocks), 1 to 8 pieces of 1 to
-- 16 bytes in it; then it kills the file service: the supervisor starts
-- it again, and the new one mounts the disk at its first request, as at
-- boot. For every variant the same requests are made (io.open, fs.list,
-- fs.stat, a write, fs.mkdir, os.rename, os.remove, fs.sync): each must
-- answer (a value, or nil and a message), never raise; the file service
-- must not fail or hang (the supervisor's restart count: ours only);
-- and the rest of the system goes on (echo answers, a task is spawned
-- from a script and prints). One line a variant:
--
--   damaged <v>: <pieces> | <the disk's state> | <n> answered, <n> errors | <first error>
--   damaged-fail <v>: <why>                 (the host fails the test)
--   damaged-end <runs> variants: <n> mounted, <n> refused, ...
local l4 = require "l4"
local blk = require "blk"
local files = require "files"
local fs = require "fs"
local service = require "service"
local supervisor = require "supervisor"

local CHUNK = blk.MAX_BYTES // blk.SECTOR    -- sectors a request

local d
for _ = 1, 200 do
  d = blk.open("disk0")
  if d then break end
  l4.sleep(50)
end
assert(d, "damaged: no disk0")
local sectors = d:info().sectors
local text = assert(d:read(sectors - CHUNK, CHUNK)):match("^L4UA%-DAMAGE\n([^%z]*)")
assert(text, "damaged: no control block at the disk's end")
local plan = assert(load("return " .. text, "=control", "t", {}))()

-- The undamaged file system, in CHUNK-sector pieces.
local copy = {}
for at = 0, plan.fs - 1, CHUNK do
  copy[#copy + 1] = assert(d:read(plan.copy + at, math.min(CHUNK, plan.fs - at)))
end

-- xorshift64 (13, 7, 17); draw(n): 0 .. n-1
local x = plan.seed
local function draw(n)
  x = x ~ (x << 13)
  x = x ~ (x >> 7)
  x = x ~ (x << 17)
  return (x >> 1) % n
end

-- The copy written back, then 1-8 pieces of random bytes over one kind
-- of region. -> what was written, as "kind: offset+length ...".
local function damage()
  local kind = plan.regions[draw(#plan.regions) + 1]
  local pieces, said = {}, {kind[1] .. ":"}
  for _ = 1, 1 + draw(8) do
    local r = kind[draw(#kind - 1) + 2]
    local len = 1 + draw(16)
    local at = r[1] + draw(math.max(1, r[2] - len + 1))
    local junk = {}
    for j = 1, len do junk[j] = string.char(draw(256)) end
    pieces[#pieces + 1] = {at, table.concat(junk)}
    said[#said + 1] = ("%d+%d"):format(at, len)
  end
  local bytes = CHUNK * blk.SECTOR
  local chunks = {}
  for i, c in ipairs(copy) do chunks[i] = c end
  for _, p in ipairs(pieces) do
    local at, s = p[1], p[2]
    while #s > 0 do                     -- a piece may cross two chunks
      local i, off = at // bytes + 1, at % bytes
      local n = math.min(#s, bytes - off)
      chunks[i] = chunks[i]:sub(1, off) .. s:sub(1, n) .. chunks[i]:sub(off + n + 1)
      at, s = at + n, s:sub(n + 1)
    end
  end
  for i, c in ipairs(chunks) do
    assert(d:write((i - 1) * CHUNK, c))
  end
  assert(d:flush())
  return table.concat(said, " ")
end

local function files_entry()
  for _, e in ipairs(supervisor.status() or {}) do
    if e.name == "files" then return e end
  end
end

-- The requests every variant makes: a value is an answer, nil and a
-- string an error; anything raised is a failure of the test.
local function read(path)
  local f, why = io.open(path, "rb")
  if not f then return nil, why end
  local s, err = f:read("a")
  f:close()
  return s, err
end
local REQUESTS = {
  function() return read("hello.txt") end,
  function() return read("big.bin") end,
  function() return read("sub/deeper/b.txt") end,
  function() return fs.list("") end,
  function() return fs.list("many") end,
  function() return fs.stat("sub/a.txt") end,
  function()
    local f, why = io.open("new.txt", "wb")
    if not f then return nil, why end
    f:write(("new "):rep(2000))
    return f:close()
  end,
  function() return fs.mkdir("made") end,
  function() return os.rename("sub/a.txt", "sub/moved.txt") end,
  function() return os.remove("many/f7") end,
  function() return fs.sync() end,
}

-- The rest of the system: echo answers, a task runs from a script.
local function others()
  local n, v = service.call({"echo", timeout = 2000}, 1, "still here")
  if v ~= "still here" then return ("echo did not answer: %s %s"):format(tostring(n), tostring(v)) end
  local id, why = l4.task.spawn{script = "user/task.lua", name = "damaged-task"}
  if not id then return "no task: " .. tostring(why) end
  local how, status = l4.task.wait(id, 10000)
  if how ~= "exited" or status ~= 0 then
    return ("the task %s (%s)"):format(tostring(how), tostring(status))
  end
end

local totals = {mounted = 0, refused = 0, answered = 0, errors = 0, fails = 0}
local function variant(v, pieces, restarts)
  local answered, errors, first = 0, 0, nil
  local id = files_entry().id
  for i, req in ipairs(REQUESTS) do
    local ok, r, why = pcall(req)
    if not ok then
      totals.fails = totals.fails + 1
      print(("damaged-fail %d: request %d raised: %s"):format(v, i, tostring(r)))
    elseif r then
      answered = answered + 1
    elseif type(why) == "string" then
      errors = errors + 1
      first = first or why
    else
      totals.fails = totals.fails + 1
      print(("damaged-fail %d: request %d: nil without a message"):format(v, i))
    end
  end
  local state = (files.info() or {}).disk or "?"
  if state:match("^mounted") then totals.mounted = totals.mounted + 1
  else totals.refused = totals.refused + 1 end
  totals.answered, totals.errors = totals.answered + answered, totals.errors + errors
  local e = files_entry()
  if not e or e.id ~= id or e.restarts ~= restarts or e.state ~= "running" then
    totals.fails = totals.fails + 1
    print(("damaged-fail %d: the file service failed (%s, %d restarts, %s)"):format(v,
      e and e.state or "gone", e and e.restarts or -1, e and e.reason or ""))
  end
  local bad = others()
  if bad then
    totals.fails = totals.fails + 1
    print(("damaged-fail %d: %s"):format(v, bad))
  end
  print(("damaged %d: %s | %s | %d answered, %d errors | %s"):format(v, pieces, state,
    answered, errors, first or "-"))
end

local e0 = files_entry()
variant(0, "as booted", e0.restarts)
for v = 1, plan.runs do
  local pieces = damage()
  local before = files_entry()
  l4.task.delete(before.id)
  -- back: a new instance running and answering
  local e
  for _ = 1, 400 do
    l4.sleep(20)
    e = files_entry()
    if e and e.state == "running" and e.id and e.id ~= before.id
       and l4.call(e.id, {timeout = 200}, service.PING) then
      break
    end
  end
  if not (e and e.restarts == before.restarts + 1) then
    totals.fails = totals.fails + 1
    print(("damaged-fail %d: the file service did not come back"):format(v))
    break
  end
  variant(v, pieces, e.restarts)
end
print(("damaged-end %d variants: %d mounted, %d refused; %d requests answered, %d errors; %d failures")
  :format(plan.runs + 1, totals.mounted, totals.refused, totals.answered, totals.errors, totals.fails))
