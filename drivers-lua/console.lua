-- The console protocol (docs/console.md), client side: what a task needs
-- to use a console server (console_server.lua) as a terminal.
--
--   local con = require("console").open(server)   -- server: a thread id
--   con:write("hello\n")     -- "\n" becomes "\r\n" on the line
--   local keys = con:read()  -- waits for at least one byte of input
--   con:edit("> pri", 5)     -- the line being edited, cursor at column 5
--   con:done()               -- that line is finished: a new line follows
--   con:on_interrupt(id)     -- Ctrl-C while no one reads: notify id
--   con:history()            -- the REPL history the server keeps: {lines}
--   con:remember(line)       -- adds a line to it
--
-- Most tasks never use this: their print and io.write reach the console
-- through the runtime (runtime/lua/console.c, label WRITE). The REPL
-- uses it to read keys and to keep its edit line intact.
local M = {}

-- Labels: the runtime's C side knows WRITE (rt.h RT_CON_WRITE).
M.WRITE = 0x101     -- string: bytes to show -> 0, bytes taken
M.READ = 0x102      -- w0: most bytes wanted -> 0, string (at least 1 byte)
M.EDIT = 0x103      -- w0: cursor column, string: the edit line -> 0
M.DONE = 0x104      -- the edit line is finished -> 0
M.INTR = 0x105      -- w0: a thread to notify of Ctrl-C (0: none), w1: 1 to interrupt it -> 0
M.INFO = 0x106      -- -> 0, bytes in, bytes out, interrupts, input dropped, the times
                    --    the backend was set up again (its registers read wrong);
                    --    the server looks at the registers first, unless w0 is 1
M.NOTE = 0x107      -- server -> the INTR thread: Ctrl-C typed at w0 (l4.clock(), us)
-- The REPL's history, kept by the server so that it outlives the session
-- (a restarted session reloads it; a session that outlives its server
-- gives its copy to the new one): lines without "\n", oldest first.
M.HIST_ADD = 0x108  -- string: one line -> 0
M.HIST_GET = 0x109  -- -> 0, string: the lines joined by "\n"
M.HIST_SET = 0x10a  -- string: the lines joined by "\n" (replaces them) -> 0
-- What the console showed last (the dashboard's console tail): written
-- bytes and finished edit lines, without the edit line's redraws.
M.TAIL = 0x10b      -- w0: most bytes wanted (<= TAIL_MAX) -> 0, string
M.TAIL_MAX = 8192
-- A backend without an interrupt (a TCP connection: scripts/tcp_console.lua)
-- has a thread of the server's own task that reads the line and hands
-- the bytes over; only such a thread may (input is the REPL's: the root's
-- power).
M.INPUT = 0x10c     -- string: bytes that arrived -> 0
M.HANGUP = 0x10d    -- the line is gone -> 0; the server's thread ends
-- Reply labels: done; a READ taken over by another client; no such
-- request; the request failed, a string says why (the server ran out of
-- memory: nothing of it was done; the server goes on).
M.OK, M.TAKEN, M.UNKNOWN, M.ERROR = 0, 1, 2, 3
M.READ_MAX = 4096
M.HIST_MAX = 200    -- lines the server keeps
M.HIST_BYTES = 32 << 10   -- and bytes (one reply carries them all)

local Con = {}
Con.__index = Con

function M.open(server)
  return setmetatable({server = server}, Con)
end

local why = {[M.TAKEN] = "another client reads now", [M.UNKNOWN] = "unknown request"}

local function call(self, ...)
  local from, label, a, b, c, d, e = l4.call(self.server, ...)
  if not from then error("console: " .. label, 3) end
  if label == M.ERROR then error("console: " .. tostring(a), 3) end
  if label ~= 0 then error("console: " .. (why[label] or "error " .. label), 3) end
  return a, b, c, d, e
end

function Con:write(s)
  s = tostring(s)
  local i = 1
  while i <= #s do      -- a receive buffer takes 64 KiB
    call(self, M.WRITE, s:sub(i, i + 49151))
    i = i + 49152
  end
end

function Con:read(max)
  return call(self, M.READ, max or M.READ_MAX)
end

function Con:edit(text, col)
  call(self, M.EDIT, col or #text, text)
end

function Con:done()
  call(self, M.DONE)
end

-- direct: the server interrupts id itself (l4.thread.interrupt) rather
-- than sending it NOTE: for a server and a REPL in the root task with no
-- watcher between them (a TCP session).
function Con:on_interrupt(id, direct)
  call(self, M.INTR, id and id.raw or 0, direct and 1 or 0)
end

function Con:history()
  local text = call(self, M.HIST_GET)
  local lines = {}
  for l in (text or ""):gmatch("[^\n]+") do lines[#lines + 1] = l end
  return lines
end

function Con:remember(line)
  call(self, M.HIST_ADD, (tostring(line):gsub("\n", " ")))
end

function Con:set_history(lines)
  call(self, M.HIST_SET, table.concat(lines, "\n"))
end

function Con:info()
  local bin, bout, intr, dropped, set_ups = call(self, M.INFO)
  return {bytes_in = bin, bytes_out = bout, interrupts = intr, dropped = dropped,
          set_ups = set_ups}
end

return M
