-- The file service and its client (docs/services.md "The file service",
-- docs/storage.md "The file service on the disk").
--
-- One name space: the scripts archive (read-only, what the system booted
-- with) under the disk (an ext2/ext4 file system through the ext2 module,
-- when a disk is there: see "The disk" below) under a RAM tree, each
-- shadowing the ones below. Writing "uart16550.lua" puts a
-- file in RAM that from then on is what io.open, dofile and require see
-- in every task (the runtime's open asks this service: runtime/lua/files.c);
-- removing it shows the archive's file again. Paths are relative to the
-- root ("/x", "./x" and "x" are the same file); ".." is refused. The RAM
-- tree has a quota (bytes of file data, pieces of writes in progress
-- included).
--
-- As a task (scripts/init.lua): l4.task.spawn{script = "files.lua",
-- args = {"serve", quota_bytes}}; the root then names it with
-- l4.sys.set_files(id) so that the runtime of every task spawned later
-- uses it. As a module: require("files") is the client:
--
--   local files = require "files"
--   files.write("notes/a.txt", "hello")      --> true
--   files.read("notes/a.txt")                --> "hello"
--   files.list("notes")                      --> {"a.txt"}
--   files.stat("init.lua")                   --> {size = 3120, kind = "file", where = "archive"}
--   files.remove("notes/a.txt")              --> true
--   files.read("nothing")                    --> nil, "no such file: nothing", 1
--   files.mkdir("notes/old")  files.rename("notes/a.txt", "notes/old/a.txt")
--   files.sync()                             --> true: the disk's cache flushed
local M = {}

-- Requests (labels); the runtime's C client knows READ, WRITE, REMOVE.
M.READ = 0x201    -- w0 offset, w1 1: may answer "in the archive"; s path
                  --   -> 0, size, where (1 RAM, 2 archive), [s bytes from offset]
M.WRITE = 0x202   -- w0 offset, w1 1: last piece; s path, s bytes -> 0, bytes so far
M.REMOVE = 0x203  -- s path -> 0
M.LIST = 0x204    -- s folder -> 0, s names ("\n" between; folders end in "/")
M.STAT = 0x205    -- s path -> 0, size, kind (1 file, 2 folder), where (1 RAM, 2 archive, 0)
M.INFO = 0x206    -- -> 0, bytes used, quota, files in RAM, [s the disk's state, if it has one]
M.MKDIR = 0x207   -- s path -> 0 (on the disk)
M.SYNC = 0x208    -- -> 0: the disk's changes flushed from its cache too
M.RENAME = 0x209  -- s from, s to -> 0 (on the disk: files and folders)
M.CHUNK = 48 * 1024   -- most bytes of a piece: a 64 KiB receive buffer takes it
-- Failures: label = code, s message.
M.ENOENT, M.EROFS, M.ENOSPC, M.EINVAL, M.EISDIR, M.EFBIG, M.EIO = 1, 2, 3, 4, 5, 6, 7
local RAM, ARCHIVE, DISK = 1, 2, 3

-- ---- the client ----

local function server()
  local id = M.server or l4.sys.files()
  if not id then error("files: no file service is running", 3) end
  return id
end

local TIMEOUT = {timeout = 4000}

-- One request, answered within `opts`' timeout: true and the reply's
-- values after the label, or nil, message, code. A write's last piece
-- waits 4 s and 4 s a MiB: the service writes the whole file to the disk
-- then (runtime/lua/files.c writing_time).
local function call_within(opts, ...)
  local id = server()
  local r = table.pack(l4.call(id, opts, ...))
  if not r[1] and not M.server then
    -- restarted elsewhere? the root knows where it is now (l4.sys.where)
    local where = l4.sys.where()
    if where and where.files and where.files ~= id then
      l4.sys.set_files(where.files)
      r = table.pack(l4.call(where.files, opts, ...))
    end
  end
  if not r[1] then return nil, "file service: " .. r[2], r[3] end
  if r[2] ~= 0 then return nil, r[3], r[2] end
  return true, table.unpack(r, 3, r.n)
end
local function call(...) return call_within(TIMEOUT, ...) end

function M.read(path)
  local ok, size, where, data = call(M.READ, 0, 0, path)
  if not ok then return nil, size, where end
  local parts, n = {data}, #data
  while n < size do
    local ok, s, _, more = call(M.READ, n, 0, path)
    if not ok then return nil, s, _ end
    if s ~= size or #more == 0 then return nil, "files: " .. path .. " changed while read", M.EINVAL end
    parts[#parts + 1] = more
    n = n + #more
  end
  return table.concat(parts)
end

function M.write(path, data)
  assert(type(data) == "string", "files.write: data must be a string")
  local off = 0
  repeat
    local piece = data:sub(off + 1, off + M.CHUNK)
    local last = off + #piece == #data
    local ok, why, code = call_within(last and {timeout = 4000 + #data // 256} or TIMEOUT,
                                      M.WRITE, off, last and 1 or 0, path, piece)
    if not ok then return nil, why, code end
    off = off + #piece
  until last
  return true
end

function M.remove(path)
  local ok, why, code = call(M.REMOVE, path)
  if not ok then return nil, why, code end
  return true
end

function M.list(folder)
  local ok, names, code = call(M.LIST, folder or "")
  if not ok then return nil, names, code end
  local t = {}
  for name in names:gmatch("[^\n]+") do t[#t + 1] = name end
  return t
end

function M.stat(path)
  local ok, size, kind, where = call(M.STAT, path)
  if not ok then return nil, size, kind end
  return {size = size, kind = kind == 2 and "folder" or "file",
          where = where == RAM and "ram" or where == ARCHIVE and "archive"
                  or where == DISK and "disk" or nil}
end

function M.info()
  local ok, used, quota, count, disk = call(M.INFO)
  if not ok then return nil, used, quota end
  return {used = used, quota = quota, files = count, disk = disk}
end

function M.mkdir(path)
  local ok, why, code = call(M.MKDIR, path)
  if not ok then return nil, why, code end
  return true
end

function M.rename(from, to)
  local ok, why, code = call(M.RENAME, from, to)
  if not ok then return nil, why, code end
  return true
end

function M.sync()
  local ok, why, code = call(M.SYNC)
  if not ok then return nil, why, code end
  return true
end

-- ---- the service ----

-- "a//b/./c" -> "a/b/c"; nil for "..", a bad type or a long name.
local function norm(path)
  if type(path) ~= "string" or #path > 1024 then return nil end
  local parts = {}
  for c in path:gmatch("[^/]+") do
    if c == ".." then return nil end
    if c ~= "." then parts[#parts + 1] = c end
  end
  return table.concat(parts, "/")
end

-- The RAM tree outlives the server: every file written is kept whole in
-- the root's store (l4.sys.store_put, under this task's name: "files/"
-- and the path; docs/recovery.md "What outlives a component") before the
-- write is answered, every removal is removed there, and a server that
-- starts (the supervisor restarts it under the same name) loads the tree
-- from it. A write the store refuses (full) fails with ENOSPC and changes
-- nothing.
local function load_kept()
  local ram, used, count = {}, 0, 0
  local list, why = l4.sys.store_list()
  if not list then
    print("files: the store cannot be read (" .. tostring(why) .. "); starting empty")
    return ram, used, count
  end
  for path in pairs(list) do
    local bytes = l4.sys.store_get(path)
    if bytes then
      ram[path], used, count = bytes, used + #bytes, count + 1
    end
  end
  return ram, used, count
end

-- The disk. `disk` (the task's third argument) names it: "blk:<name>",
-- the block driver registered as <name> (scripts/blk.lua), or, for tests,
-- "image:<file>", a disk in memory holding a file of the archive (lost
-- when the task ends). It is mounted at the first request that needs it.
-- While the driver's name is not registered (the supervisor names a
-- driver once it answers: it is coming up) every request tries again,
-- one lookup each, so the first request after the driver is up finds the
-- disk; after any other failure, at most once a second. This loop never
-- calls a driver that is not serving: one that is still reading its
-- scripts from us is not named yet (docs/storage.md "The boot order").
-- In safe mode (l4.kip.safe) the disk lies under
-- the archive instead of over it: the system's own scripts are the
-- archive's, whatever the disk holds; its other files are still served.
--
-- Once mounted, the driver may go away (killed, crashed: the supervisor
-- restarts it). A call of the file system that fails with EIO while the
-- device does not answer its info request raises AWAY instead of
-- returning: the server holds that request and runs it again once the
-- device answers (see `hold` in serve), so a file that lives on the disk
-- is never "no such file" while its driver restarts.
local EXT2_CODES                            -- the ext2 module's codes -> ours
local AWAY = setmetatable({}, {__tostring = function() return "the disk is away" end})
local function disk_layer(spec)
  local self = {spec = spec, fs = nil, next_try = spec and 0 or math.huge,
                state = spec and "not mounted" or "none"}
  local kind, name = tostring(spec):match("^(%a+):(.+)$")
  local dev, mounted, real                  -- the device, its state line, the ext2 handle
  -- d, its methods calling self.between() first (serve sets it: a long
  -- write answers the supervisor's ping between two device requests).
  local function watched(d)
    return setmetatable({}, {__index = function(t, k)
      local v = d[k]
      if type(v) ~= "function" then return v end
      local f = function(_, ...)
        if self.between then self.between() end
        return v(d, ...)
      end
      t[k] = f
      return f
    end})
  end
  local function open_device()
    if kind == "blk" then
      local ok, blk = pcall(require, "blk")
      if not ok then return nil, "no block client (blk.lua)" end
      local d, why, code = blk.open(name)
      if not d then return nil, why, code end
      return watched(d)
    elseif kind == "image" then
      local f, why = io.open(name, "rb")
      if not f then return nil, why end
      local bytes = f:read("a")
      f:close()
      return watched(require("ramdisk").new(bytes))
    end
    return nil, "unknown disk " .. tostring(spec)
  end
  -- Whether the device answers now (one info request; for blk, a name
  -- lookup first when the last call failed). Sets or clears self.away
  -- (the l4.clock of the first failure) and the state line.
  function self.answers()
    local ok, why = dev:info()
    if ok then
      if self.away then
        print(("files: the disk %s answers again after %d ms"):format(spec,
          (l4.clock() - self.away) // 1000))
      end
      self.away, self.state = nil, mounted
      return true
    end
    if not self.away then
      self.away = l4.clock()
      print(("files: the disk %s does not answer (%s): requests for it wait"):format(spec,
        tostring(why)))
    end
    self.state = "away: " .. spec .. " does not answer (" .. tostring(why) .. ")"
    return false
  end
  -- The mounted file system's methods, each raising AWAY where the
  -- device does not answer (before the call when it was away already).
  local proxy = setmetatable({}, {__index = function(t, m)
    local f = function(_, ...)
      if self.away and not self.answers() then error(AWAY, 0) end
      local r = table.pack(real[m](real, ...))
      if r[1] == nil and r[3] == require("ext2").EIO and not self.answers() then
        error(AWAY, 0)
      end
      return table.unpack(r, 1, r.n)
    end
    t[m] = f
    return f
  end})
  -- The file system, or nil (self.state says why).
  function self.get()
    if real then return proxy end
    local now = l4.clock()
    if now < self.next_try then return nil end
    local d, why, code = open_device()
    if not d then
      self.state = "no disk: " .. tostring(why)
      if code ~= require("names").E_NONAME then self.next_try = now + 1000000 end
      return nil
    end
    local ext2 = require "ext2"
    local fs, err = ext2.open(d)
    if not fs then
      self.state = "not mounted: " .. tostring(err)
      print("files: the disk " .. spec .. " is " .. self.state)
      self.next_try = math.huge          -- a bad file system stays bad: no retries
      return nil
    end
    EXT2_CODES = {[ext2.ENOENT] = M.ENOENT, [ext2.EROFS] = M.EROFS, [ext2.ENOSPC] = M.ENOSPC,
                  [ext2.EINVAL] = M.EINVAL, [ext2.EISDIR] = M.EISDIR, [ext2.EFBIG] = M.EFBIG,
                  [ext2.ENOTDIR] = M.ENOENT, [ext2.EEXIST] = M.EINVAL, [ext2.ENOTEMPTY] = M.EINVAL}
    local i = fs:info()
    dev, real = d, fs
    mounted = ("mounted: %s, %d of %d KiB free%s"):format(spec, i.free_blocks * i.block_size >> 10,
      i.blocks * i.block_size >> 10, i.was_clean and "" or " (it was not closed cleanly: e2fsck it)")
    self.state = mounted
    print("files: the disk is " .. self.state)
    return proxy
  end
  -- The task of the disk's driver (nil while none is known): its own
  -- requests are never served from the disk (serve's on_disk).
  function self.driver_task()
    local id = dev and dev.id
    return id and id.task
  end
  -- A failure of the ext2 module as our reply.
  function self.fail(msg, code)
    return EXT2_CODES and EXT2_CODES[code] or M.EIO, "disk: " .. tostring(msg)
  end
  return self
end

local function serve(quota, disk_spec)
  quota = math.tointeger(quota) or (4 << 20)
  l4.sys.set_files(nil)                     -- this task's own io.open: the archive
  local archive = l4.sys.archive()          -- name -> size
  local ram, used, count = load_kept()      -- path -> bytes; their bytes and number
  local pending, pending_bytes = {}, 0      -- writes in progress, by client and path
  -- A write in pieces whose next piece has not come for STALE us is given
  -- up: its client was killed or stopped between two pieces (a close of
  -- a file over 48 KiB), and no later thread has its id. A client sends
  -- each piece as soon as the last is answered, and gives up if it cannot
  -- within 4 s (runtime/lua/files.c); one kept from the CPU for longer
  -- gets "out of order" for its next piece: its close fails.
  local STALE = 10 * 1000000
  local disk = disk_layer(disk_spec)
  local safe = l4.kip.safe
  -- The disk's entry for p: its stat, or nil; in safe mode nothing of the
  -- archive's names (the archive shadows the disk). While the disk is
  -- away, a name the archive has is the archive's (the driver coming back
  -- reads its scripts through us: holding those reads would deadlock it);
  -- for any other name this raises AWAY and the request waits. A failure
  -- other than "not there" (a damaged folder or inode: EIO, libext2fs's
  -- words) comes back as nil, nil, message, code: it is the answer when
  -- no other layer has p (not "no such file").
  -- A request of the disk's driver itself (its scripts; a debugger's
  -- agent loaded into it) sees no disk: asking the disk for it would wait
  -- on the driver, which waits on us (the supervisor then took the file
  -- service for hung). `asker`: the client of the request being run.
  local asker
  local function on_disk(p)
    if asker and asker.task == disk.driver_task() then return nil end
    local fs = disk.get()
    if not fs or (safe and archive[p]) then return nil end
    local ok, st, why, code = pcall(fs.stat, fs, p)
    if ok then
      local ext2 = require "ext2"
      if st or code == ext2.ENOENT or code == ext2.ENOTDIR then return st, fs end
      return nil, nil, why, code
    end
    if st == AWAY and archive[p] then return nil end
    error(st, 0)
  end

  local function is_folder(p)
    if p == "" then return true end
    local st = on_disk(p)
    if st and st.kind == "folder" then return true end
    local pre = p .. "/"
    for name in pairs(ram) do if name:sub(1, #pre) == pre then return true end end
    for name in pairs(archive) do if name:sub(1, #pre) == pre then return true end end
    return false
  end

  local function archive_bytes(p)
    local f = io.open(p, "rb")
    if not f then return nil end
    local data = f:read("a")
    f:close()
    return data
  end

  local function drop(key)
    local w = pending[key]
    if w then
      pending_bytes = pending_bytes - w.n
      pending[key] = nil
    end
  end

  local function drop_stale(now)
    for key, w in pairs(pending) do
      if now - w.at > STALE then drop(key) end
    end
  end

  local handlers = {}
  local settle

  handlers[M.READ] = function(from, off, flags, path)
    local p = norm(path)
    if not p then return M.EINVAL, "bad path: " .. tostring(path):sub(1, 100) end
    local data, where = ram[p], RAM
    if not data then
      local st, fs, why, code = on_disk(p)
      if st and st.kind == "file" then
        off = math.max(0, off or 0)
        local bytes, why, code = fs:read(p, off, M.CHUNK)
        if not bytes then return disk.fail(why, code) end
        return 0, st.size, DISK, bytes
      end
      if why and not archive[p] then return disk.fail(why, code) end
    end
    if not data and archive[p] then
      if flags == 1 then return 0, archive[p], ARCHIVE end
      data, where = archive_bytes(p), ARCHIVE
    end
    if not data then
      if is_folder(p) then return M.EISDIR, "a folder: " .. p end
      return M.ENOENT, "no such file: " .. p
    end
    off = math.max(0, off or 0)
    return 0, #data, where, data:sub(off + 1, off + M.CHUNK)
  end

  handlers[M.WRITE] = function(from, off, flags, path, data)
    local p = norm(path)
    if not p or p == "" or type(data) ~= "string" then
      return M.EINVAL, "bad path: " .. tostring(path):sub(1, 100)
    end
    if archive[p] == nil and ram[p] == nil and is_folder(p) then
      return M.EISDIR, "a folder: " .. p
    end
    local key = tostring(from) .. "\0" .. p
    local now = l4.clock()
    drop_stale(now)
    if off == 0 then
      drop(key)
      pending[key] = {parts = {}, n = 0, at = now}
    end
    local w = pending[key]
    if not w or w.n ~= off then
      drop(key)
      return M.EINVAL, "write of " .. p .. " out of order"
    end
    w.at = now
    local old = ram[p] and #ram[p] or 0
    if used - old + pending_bytes + #data > quota then
      drop(key)
      return M.ENOSPC, ("quota of %d bytes reached (%d used)"):format(quota, used)
    end
    w.parts[#w.parts + 1] = data
    w.n = w.n + #data
    pending_bytes = pending_bytes + #data
    if flags ~= 1 then return 0, w.n end
    -- a big file: the garbage of the last one goes first (a 3 MiB write
    -- that failed, then a 2 MiB one, ran out of the task's 16 MiB)
    if w.n > (1 << 20) then collectgarbage() end
    local bytes = table.concat(w.parts)
    drop(key)
    local r = table.pack(pcall(settle, p, bytes))
    if r[1] then return table.unpack(r, 2, r.n) end
    -- held: what runs again is the storing of the whole file, not this piece
    if r[2] == AWAY then error({retry = function() return settle(p, bytes) end}, 0) end
    error(r[2], 0)
  end

  -- A whole file written: on the disk, or in the RAM tree (and the store).
  function settle(p, bytes)
    local old = ram[p] and #ram[p] or 0
    local fs = disk.get()
    if fs and not ram[p] then
      -- on the disk, its folders made as needed (as the RAM tree's are)
      local folder = ""
      for part in p:gmatch("([^/]+)/") do
        folder = folder == "" and part or folder .. "/" .. part
        local st = fs:stat(folder)
        if not st then
          local ok, why, code = fs:mkdir(folder)
          if not ok then return disk.fail(why, code) end
        elseif st.kind ~= "folder" then
          return M.EINVAL, "not a folder: " .. folder
        end
      end
      local ok, why, code = fs:write(p, bytes)
      if not ok then return disk.fail(why, code) end
      return 0, #bytes
    end
    local kept, why = l4.sys.store_put(p, bytes)
    if not kept then return M.ENOSPC, ("%s not kept: %s"):format(p, tostring(why)) end
    if not ram[p] then count = count + 1 end
    used = used - old + #bytes
    ram[p] = bytes
    return 0, #bytes
  end

  handlers[M.REMOVE] = function(from, path)
    local p = norm(path)
    if not p then return M.EINVAL, "bad path: " .. tostring(path):sub(1, 100) end
    if ram[p] then
      l4.sys.store_remove(p)
      used, count = used - #ram[p], count - 1
      ram[p] = nil
      return 0
    end
    local st, fs = on_disk(p)
    if st then
      local ok, why, code = fs:remove(p)
      if not ok then return disk.fail(why, code) end
      return 0
    end
    if archive[p] then return M.EROFS, "a file of the boot archive: " .. p end
    return M.ENOENT, "no such file: " .. p
  end

  -- Folders and renames are the disk's: the RAM tree and the archive
  -- have folders only as parts of their names.
  handlers[M.MKDIR] = function(from, path)
    local p = norm(path)
    if not p or p == "" then return M.EINVAL, "bad path: " .. tostring(path):sub(1, 100) end
    local fs = disk.get()
    if not fs then return M.EROFS, "no disk (" .. disk.state .. ")" end
    local ok, why, code = fs:mkdir(p)
    if not ok then return disk.fail(why, code) end
    return 0
  end

  handlers[M.RENAME] = function(from, a, b)
    local pa, pb = norm(a), norm(b)
    if not pa or not pb or pa == "" or pb == "" then return M.EINVAL, "bad path" end
    local st, fs = on_disk(pa)
    if not st then
      if ram[pa] or archive[pa] then return M.EROFS, pa .. " is not on the disk" end
      return M.ENOENT, "no such file: " .. pa
    end
    local ok, why, code = fs:rename(pa, pb)
    if not ok then return disk.fail(why, code) end
    return 0
  end

  handlers[M.SYNC] = function()
    local fs = disk.get()
    if not fs then return 0 end
    local ok, why, code = fs:sync()
    if not ok then return disk.fail(why, code) end
    return 0
  end

  handlers[M.LIST] = function(from, folder)
    local p = norm(folder or "")
    if not p then return M.EINVAL, "bad path: " .. tostring(folder):sub(1, 100) end
    local st = p ~= "" and on_disk(p)
    if ram[p] or archive[p] or (st and st.kind ~= "folder") then
      return M.EINVAL, "not a folder: " .. p
    end
    local pre = p == "" and "" or p .. "/"
    local seen = {}
    local function add(name)
      if name:sub(1, #pre) == pre then
        local rest = name:sub(#pre + 1)
        local first, sub = rest:match("^([^/]+)(/?)")
        if first then seen[first .. sub] = true end
      end
    end
    for name in pairs(ram) do add(name) end
    for name in pairs(archive) do add(name) end
    local fs, on = disk.get(), false
    local listed, why, code
    if fs then listed, why, code = fs:list(p) end
    for _, name in ipairs(listed or {}) do
      on = true
      seen[name] = true
    end
    local names = {}
    for name in pairs(seen) do names[#names + 1] = name end
    if #names == 0 and p ~= "" and not on then
      -- a damaged folder: the disk's words, not "no such folder"
      local ext2 = require "ext2"
      if why and code ~= ext2.ENOENT and code ~= ext2.ENOTDIR then return disk.fail(why, code) end
      return M.ENOENT, "no such folder: " .. p
    end
    table.sort(names)
    return 0, table.concat(names, "\n")
  end

  handlers[M.STAT] = function(from, path)
    local p = norm(path)
    if not p then return M.EINVAL, "bad path: " .. tostring(path):sub(1, 100) end
    if ram[p] then return 0, #ram[p], 1, RAM end
    local st, _, why, code = on_disk(p)
    if st then return 0, st.size, st.kind == "folder" and 2 or 1, DISK end
    if archive[p] then return 0, archive[p], 1, ARCHIVE end
    if is_folder(p) then return 0, 0, 2, 0 end
    if why then return disk.fail(why, code) end
    return M.ENOENT, "no such file: " .. p
  end

  -- The supervisor's ping (init.lua's plan): answered from RAM alone, so
  -- that it never waits on the disk nor mounts it; a handler looping for
  -- ever leaves it unanswered and the file service is replaced.
  local proto = require "service_proto"
  handlers[proto.PING] = function() return proto.ping("files", "1") end
  -- One request may keep the disk busy for seconds (a file of a few MiB
  -- is written whole at its last piece: 1.4 s a MiB on TCG); between two
  -- of its device requests, at most every 50 ms, the thread that pinged
  -- last gets its answer if it is asking now (a receive from it alone,
  -- not waiting): busy on the disk is not hung. A loop that makes no
  -- device request still leaves the ping unanswered.
  local pinger, looked = nil, 0
  disk.between = function()
    local now = l4.clock()
    if not pinger or now - looked < 50000 then return end
    looked = now
    local from, label, code = l4.receive(pinger, 0)
    if from then
      if label == proto.PING then l4.reply(from, proto.ping("files", "1"))
      else l4.reply(from, M.EINVAL, "busy on the disk: ask again") end
    elseif code == l4.E.nopartner then
      -- that supervisor is gone (its guard started another): the new one
      -- asks now, and would find this service hung after 400 ms
      pinger = require("names").lookup("supervisor") or pinger
    end
  end

  handlers[M.INFO] = function()
    if not disk_spec then return 0, used, quota, count end
    if disk.get() and disk.away then disk.answers() end
    return 0, used, quota, count, disk.state
  end

  -- Requests held while the disk is away, in the order they came:
  -- {from =, retry = function -> the reply's values, since = l4.clock}.
  -- Each is run again once the device answers; one held HOLD ms gets EIO.
  -- Clients wait 4 s for an answer (TIMEOUT; runtime/lua/files.c).
  local held, HOLD = {}, 3000
  local TICK, OPEN = {receive = 20}, {}

  -- Runs a request; -> the reply's values packed, or nil when it is held.
  local function run(from, retry, since)
    asker = from
    local r = table.pack(pcall(retry))
    asker = nil
    if r[1] then return table.pack(table.unpack(r, 2, r.n)) end
    local e = r[2]
    if e == AWAY or (type(e) == "table" and e.retry) then
      if (l4.clock() - since) // 1000 < HOLD then
        held[#held + 1] = {from = from, retry = e == AWAY and retry or e.retry, since = since}
        return nil
      end
      return table.pack(M.EIO, ("disk: %s did not answer for %d ms"):format(disk_spec, HOLD))
    end
    return table.pack(M.EINVAL, tostring(e))
  end

  -- The held requests again, if the disk answers, else only the ones
  -- that waited too long (they fail in run).
  local function rerun()
    local now, back = l4.clock(), disk.answers()
    local was = held
    held = {}
    for _, h in ipairs(was) do
      if back or (now - h.since) // 1000 >= HOLD then
        local r = run(h.from, h.retry, h.since)
        if r then l4.reply(h.from, table.unpack(r, 1, r.n)) end
      else
        held[#held + 1] = h
      end
    end
  end

  -- Fault injection (make faultinject; docs/reliability.md "Fault
  -- injection"): FAULT from the root arms one fault (fault.lua), which the
  -- next request but a PING meets. No doubled replies here: a reply
  -- carries no request number, so a doubled one would be the client's
  -- next answer, and a write it acknowledged would not have run.
  local fault = require("fault").new{raise = true, memcap = true, exit = true, drop = true,
                                     corrupt = true}

  local from, label, a, b, c, d = l4.receive()
  while true do
    local r
    if from then
      local h = handlers[label]
      if label == proto.PING then pinger = from end
      if label == proto.FAULT then
        r = table.pack(fault:arm(from, a, b))
      elseif not h and proto.late_reply(label) then
        r = nil                 -- a late reply (service_proto.lua): dropped, not answered
      elseif not h then
        r = table.pack(M.EINVAL, "unknown request")
      else
        local x, y, z, w = a, b, c, d
        local function go() return h(from, x, y, z, w) end
        if fault.armed and label ~= proto.PING then
          r = fault:meet(run, from, go, l4.clock())
        else
          r = run(from, go, l4.clock())
        end
      end
    end
    if #held > 0 then rerun() end
    local opts = #held > 0 and TICK or OPEN
    if r then
      from, label, a, b, c, d = l4.reply_wait(from, opts, table.unpack(r, 1, r.n))
    else
      from, label, a, b, c, d = l4.receive(nil, opts)
    end
  end
end

if select(1, ...) == "serve" then
  serve(select(2, ...), select(3, ...))
end
return M
