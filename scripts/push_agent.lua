-- The push agent (docs/services.md "Pushing scripts: tools/l4ua"): a
-- thread of the root task (scripts/init.lua) that serves COM2, the line
-- tools/l4ua talks to, through the console protocol. Argument: COM2's
-- console server.
--
-- The host speaks in lines; the agent answers each with one line:
--
--   L4UA-PUSH <name> <length> <crc32, 8 hex digits>\n<length bytes>
--       store the bytes as the script of service <name> in the file
--       service (service_keep.lua: the supervisor's path of it, else
--       services/<name>.lua) and reload the service with them -> "OK
--       <version>" or "ERR <why>"
--   L4UA-DEBUG <length> <crc32>\n<length bytes>
--       a request of the host's debugger (tools/l4ua dap, profile), checked
--       as a push is; debug_remote.lua answers it -> "OK <JSON>" or
--       "ERR <why>"
--   L4UA-LS <folder>
--   L4UA-GET <path>
--       a folder's names or a file's bytes (files.list/stat, files.read)
--       -> "OK <length> <crc32>\n", then the bytes in base64 (RFC 4648)
--       and "\n"; or "ERR <why>"
--   L4UA-PUT <length> <crc32> <path>\n<length bytes>
--       store the bytes as the file <path> (files.write: on the disk when
--       there is one) -> "OK <length>" or "ERR <why>"
--   PING -> "PONG"
--   CONSOLE -> a REPL on COM2 (no answer line: its banner and prompt),
--       until the host sends Ctrl-] (byte 0x1d); then "[left the REPL]",
--       no edit line up, and lines again
--   anything else -> "ERR not a frame: ..."
--
-- Paths are the rest of the line. An ERR of a file request ends in the
-- file service's code by name: "(ENOENT)", "(ENOSPC)", "(EROFS)"... The
-- bytes go out in base64 because the console server sends "\n" as
-- "\r\n"; they come in as they are (a console server with no INTR thread,
-- as COM2's, keeps every byte, Ctrl-C included). An LS answer is one line
-- per name: name (folders end in "/"), kind, size, where, tab-separated.
--
-- A push changes nothing unless it is whole and right: the bytes must
-- arrive within BYTE_WAIT ms of each other, number exactly <length> and
-- have the CRC-32 (zlib's) given; and a reload that fails puts back the
-- file service's previous state of the script (the old version keeps
-- running: service.reload leaves it untouched). Each push is logged on
-- the root's console (COM1) with its time from the last byte to the new
-- version serving.
--
-- When COM2's driver dies (its task is deleted: a read from it fails at
-- once) the agent goes on with the new one the console guardian starts
-- (scripts/consoles.lua), found by name within 3 s; a push in flight then
-- fails and the host tool says so, a COM2 REPL goes on on the new driver
-- (docs/console.md "Consoles and sessions"). If none comes, the agent
-- fails, and the guardian starts a new agent once a driver serves.
--
-- Over TCP (scripts/tcp_console.lua) the same agent serves one
-- connection: its argument is then the connection's console server (a raw
-- id, not a name) and "repl": it starts in the REPL (a person with telnet
-- or nc lands at a prompt), Ctrl-] leaves it for the frames above
-- (tools/l4ua push --tcp), CONSOLE goes back; Ctrl-C interrupts a chunk.
-- When the connection ends the agent ends, quietly.
local com2_name, mode = ...
com2_name = com2_name or "com2"
local console = require "console"
local consoles = require "consoles"
local files = require "files"

local com2, con
local in_repl = false               -- a COM2 REPL prints to COM2 (session below)
local fixed = math.type(com2_name) == "integer" and l4.id(com2_name) or nil  -- a TCP line

-- Finds the COM2 server that runs now (another than `gone`), waiting up
-- to 3 s (a restarted driver may not be listed yet) -> whether it did.
-- A TCP line's server is the one it was given, and is not started again.
local function find(gone)
  if fixed then
    if gone then return false end
    com2, con = fixed, console.open(fixed)
    return true
  end
  for _ = 1, 60 do
    local id = consoles.find(com2_name)
    if id and id ~= gone then
      com2, con = id, console.open(id)
      if in_repl then l4.sys.set_console(id, "thread") end
      return true
    end
    l4.sleep(50)
  end
  return false
end
assert(find(), "push agent: no console server named " .. tostring(com2_name))
local MAX = 1 << 20                 -- bytes of a pushed script
local FILE_MAX = 4 << 20            -- bytes of a file put or got
local BYTE_WAIT = 2000              -- ms between two pieces of a transfer
local LINE_MAX = 4096
local DETACH = "\29"                -- Ctrl-]: the host leaves the REPL

local crc32 = require "crc32"          -- zlib's CRC-32

-- Input: what arrived and was not used yet.
local pending = ""

-- Reads more input; with `wait` (ms), false if nothing came in time.
-- The wait is made in turns, and between two a debugger that holds this
-- thread is let in (debug_door.lua: `debug push`, or a TCP session by its
-- id); keys that came meanwhile stay queued in the server.
local door = require "debug_door"
local function fill(wait)
  local from, label, s
  local deadline = wait and l4.clock() + wait * 1000
  local turn = door.TURN
  while true do
    local ms = wait and math.max(1, math.min(turn, (deadline - l4.clock()) // 1000)) or turn
    from, label, s = l4.call(com2, {receive = ms}, console.READ, console.READ_MAX)
    if from or label ~= "timeout" then break end
    turn = door.turn(door.knock())
    if wait and l4.clock() >= deadline then break end
  end
  if not from then
    if wait and label == "timeout" then return false end
    if not find(com2) then error("COM2: " .. tostring(label)) end
    pending = ""                    -- a new line: what came before is gone
    return not wait and fill() or false
  end
  if label ~= 0 then error("COM2: another client reads now") end
  pending = pending .. s
  return true
end

local function reply(s)
  con:write(s .. "\n")
end

local function line()
  while true do
    local i = pending:find("\n", 1, true)
    if i then
      local l = pending:sub(1, i - 1):gsub("\r$", "")
      pending = pending:sub(i + 1)
      return l
    end
    if #pending > LINE_MAX then pending = "" end     -- noise, not a frame
    fill()
  end
end

-- Exactly n bytes, each piece within BYTE_WAIT ms; nil, why if not.
-- Pieces are gathered in a table: a megabyte comes in some 250 of them.
local function bytes(n)
  local parts, got = {pending}, #pending
  pending = ""
  while got < n do
    if not fill(BYTE_WAIT) then
      pending = ""
      return nil, ("timeout: got %d of %d bytes"):format(got, n)
    end
    parts[#parts + 1], got = pending, got + #pending
    pending = ""
  end
  local s = table.concat(parts)
  pending = s:sub(n + 1)
  return s:sub(1, n)
end

-- base64 of s (RFC 4648, padded), two characters per 12 bits.
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local b64_12 = {}
for v = 0, 4095 do
  b64_12[v] = B64:sub((v >> 6) + 1, (v >> 6) + 1) .. B64:sub((v & 63) + 1, (v & 63) + 1)
end
local function base64(s)
  local out, whole = {}, #s - #s % 3
  for i = 1, whole, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a << 16 | b << 8 | c
    out[#out + 1] = b64_12[v >> 12] .. b64_12[v & 4095]
  end
  local a, b = s:byte(whole + 1, whole + 2)
  if b then
    local v = a << 16 | b << 8
    out[#out + 1] = b64_12[v >> 12] .. B64:sub((v >> 6 & 63) + 1, (v >> 6 & 63) + 1) .. "="
  elseif a then
    out[#out + 1] = b64_12[a << 4] .. "=="
  end
  return table.concat(out)
end

-- The file service's failure codes by name (files.lua: M.ENOENT...).
local CODE_NAMES = {}
for _, k in ipairs{"ENOENT", "EROFS", "ENOSPC", "EINVAL", "EISDIR", "EFBIG", "EIO"} do
  CODE_NAMES[files[k]] = k
end
local function refusal(path, why, code)
  return ("ERR %s: %s%s"):format(path, tostring(why):gsub("\n", " "),
    CODE_NAMES[code] and " (" .. CODE_NAMES[code] .. ")" or "")
end

-- An answer with bytes: the header line, the base64 in pieces, "\n".
local function send_bytes(data)
  reply(("OK %d %08x"):format(#data, crc32(data)))
  local text = base64(data)
  for i = 1, #text, 32768 do con:write(text:sub(i, i + 32767)) end
  con:write("\n")
end

local function get(path)
  local st, why, code = files.stat(path)
  if not st then return reply(refusal(path, why, code)) end
  if st.kind == "folder" then return reply(refusal(path, "a folder (tools/l4ua ls lists it)", files.EISDIR)) end
  if st.size > FILE_MAX then
    return reply(refusal(path, ("too large: %d bytes (at most %d)"):format(st.size, FILE_MAX), files.EFBIG))
  end
  local data
  data, why, code = files.read(path)
  if not data then return reply(refusal(path, why, code)) end
  send_bytes(data)
end

local function ls(folder)
  local names, why, code = files.list(folder)
  if not names then return reply(refusal(folder, why, code)) end
  local lines = {}
  for _, name in ipairs(names) do
    local st = files.stat((folder == "" and "" or folder .. "/") .. name) or {}
    lines[#lines + 1] = ("%s\t%s\t%s\t%s"):format(name, st.kind or "?", st.size or "?",
                                                 st.where or "-")
  end
  send_bytes(table.concat(lines, "\n"))
end

local function put(len, sum, path)
  len = math.tointeger(tonumber(len))
  if not len or len > FILE_MAX then
    bytes(len and math.min(len, FILE_MAX) or 0)
    pending = ""
    return reply(refusal(path, ("too large: %s bytes (at most %d)"):format(tostring(len), FILE_MAX),
                         files.EFBIG))
  end
  local data, why = bytes(len)
  if not data then return reply("ERR " .. why) end
  if crc32(data) ~= tonumber(sum, 16) then
    return reply(("ERR checksum mismatch: got %08x, want %s"):format(crc32(data), sum:lower()))
  end
  local ok, code
  ok, why, code = files.write(path, data)
  if not ok then return reply(refusal(path, why, code)) end
  reply("OK " .. len)
end

-- Stores the bytes as name's script and reloads the service; puts the
-- old file back if the reload fails. -> "OK version" or "ERR why". The
-- store is service_keep's, which service.reload also calls (finding the
-- bytes there, it writes nothing); the push names the file itself so
-- that a service started from code of the plan (the pager) gets
-- services/<name>.lua, where `reload pager` reads.
local function push(name, source)
  local t0 = l4.clock()
  local has, service = pcall(require, "service")
  if not has or type(service) ~= "table" or type(service.reload) ~= "function" then
    return "ERR no service framework to reload " .. name .. " (scripts/service.lua)"
  end
  local keep = require "service_keep"
  local path = keep.script_of(name) or ("services/" .. name .. ".lua")
  local undo, why = keep.keep(name, source, path)
  if undo == nil then return "ERR " .. tostring(why) end
  local done, version, msg = pcall(service.reload, name, source, "@" .. path)
  if not done or not version then
    if undo then undo() end
    return "ERR " .. tostring(done and msg or version):gsub("\n", " | ")
  end
  print(("push: %s version %s (%d bytes) serving %d us after the last byte"):format(
        name, tostring(version), #source, l4.clock() - t0))
  return "OK " .. tostring(version)
end

-- The REPL's input: the keys that came (up to a Ctrl-]), or nil and
-- "detached" (Ctrl-] was typed: leave the REPL) or "lost: why" (the line
-- is gone).
local function keys()
  if #pending == 0 then
    local ok, e = pcall(fill)
    if not ok then return nil, "lost: " .. tostring(e) end
  end
  local i = pending:find(DETACH, 1, true)
  if i == 1 then
    pending = pending:sub(2)
    return nil, "detached"
  end
  local s = pending:sub(1, (i or #pending + 1) - 1)
  pending = pending:sub(#s + 1)
  return s
end

local function session()
  l4.sys.set_console(com2, "thread")
  in_repl = true
  if fixed then
    pcall(con.on_interrupt, con, l4.self(), true)   -- Ctrl-C: the server interrupts us
    con:write(("\nL4ua REPL over TCP: Lua %s; `help` lists commands\n"):format(_VERSION:match("[%d.]+$")))
  else
    con:write(("\nL4ua REPL on COM2: Lua %s; Ctrl-] leaves\n"):format(_VERSION:match("[%d.]+$")))
  end
  -- The REPL runs on this thread's own Lua state, not in a coroutine: an
  -- interrupt (Ctrl-C, l4.thread.interrupt) hooks the thread's main state,
  -- and a coroutine made before it would not see it. Each turn is
  -- protected, as repl.run's are: an interrupt that lands between two
  -- chunks is reported, not fatal.
  local r = require("repl").new(con, _G)
  local why
  while not why do
    local ok, e = pcall(function()
      local s
      s, why = keys()
      if s then r:feed(s) end
    end)
    if not ok then r:recover(e) end
  end
  in_repl = false
  l4.sys.set_console(nil, "thread")
  if why:find("^lost") then error("push agent: " .. why, 0) end
  -- The REPL left its edit line up (it was reading); while one is up the
  -- server redraws it after every write, so each answer line would come
  -- out as "\r\27[KOK 3\r\n\r> " and tools/l4ua would never find it.
  con:done()
  con:write("[left the REPL]\n")
end

local function frames()
  if mode == "repl" then session() end
  while true do
    local l = line()
    local name, len, sum = l:match("^L4UA%-PUSH ([%w_%.%-]+) (%d+) (%x+)$")
    if name then
      len = math.tointeger(tonumber(len))
      if not len or len > MAX then
        bytes(len and math.min(len, MAX) or 0)
        pending = ""
        reply(("ERR too large: %s bytes (at most %d)"):format(tostring(len), MAX))
      else
        local data, why = bytes(len)
        if not data then
          reply("ERR " .. why)
        elseif crc32(data) ~= tonumber(sum, 16) then
          reply(("ERR checksum mismatch: got %08x, want %s"):format(crc32(data), sum:lower()))
        else
          reply(push(name, data))
        end
      end
    elseif l:match("^L4UA%-DEBUG ") then
      local dlen, dsum = l:match("^L4UA%-DEBUG (%d+) (%x+)$")
      dlen = math.tointeger(tonumber(dlen))
      local data, why
      if dlen and dlen <= MAX then data, why = bytes(dlen) end
      if not dlen or dlen > MAX then
        pending = ""
        reply("ERR not a debug frame: " .. l:sub(1, 60))
      elseif not data then
        reply("ERR " .. why)
      elseif crc32(data) ~= tonumber(dsum, 16) then
        reply(("ERR checksum mismatch: got %08x, want %s"):format(crc32(data), dsum:lower()))
      else
        reply(require("debug_remote").frame(data))
      end
    elseif l:match("^L4UA%-LS ?") then
      ls(l:match("^L4UA%-LS ?(.*)$"))
    elseif l:match("^L4UA%-GET ") then
      get(l:match("^L4UA%-GET (.*)$"))
    elseif l:match("^L4UA%-PUT ") then
      local len, sum, path = l:match("^L4UA%-PUT (%d+) (%x+) (.+)$")
      if len then put(len, sum, path) else reply("ERR not a frame: " .. l:sub(1, 60)) end
    elseif l == "PING" then
      reply("PONG")
    elseif l == "CONSOLE" then
      session()
    elseif l ~= "" and l ~= DETACH then   -- tools/l4ua starts with Ctrl-]: out of a REPL
      reply("ERR not a frame: " .. l:sub(1, 60))
    end
  end
end

-- A TCP line that is gone ends the agent without an error (nothing failed);
-- COM2 that does not come back is a failure, for the guardian to see.
if fixed then pcall(frames) else frames() end
