-- A REPL session on one console (scripts/consoles.lua starts one per
-- console, each in a thread of its own): the console's name ("console",
-- "screen") and what the banner calls it. What this thread prints goes
-- to that console too.
--
-- The session outlives its console server, and its history outlives the
-- session (docs/console.md "Consoles and sessions"): the console is
-- found by name (consoles.find) at each call that fails, so when the
-- driver is restarted the session goes on with the new one: it hands it
-- the history (the server keeps a copy) and draws the edit line again.
-- A restarted session takes the history from the server.
local con_name, label = ...
local console = require "console"
local consoles = require "consoles"

local server            -- the console server in use
local hist = {}         -- this session's copy of the history
local edit_line         -- {text, col}: the edit line up, if one is

local function attach(id)
  local again = server ~= nil
  server = id
  l4.sys.set_console(id, "thread")
  local c = console.open(id)
  local ok, theirs = pcall(c.history, c)
  if ok and #theirs == 0 and #hist > 0 then pcall(c.set_history, c, hist) end
  if again then
    pcall(c.write, c, "\n[the console's driver was started again; this session goes on]\n")
  end
  if edit_line then pcall(c.edit, c, edit_line[1], edit_line[2]) end
end

-- Finds the server that runs now under con_name, waiting up to `ms`;
-- -> whether there is one (attached if it is a new one).
local function connect(ms)
  local deadline = l4.clock() + ms * 1000
  while true do
    local id = consoles.find(con_name)
    if id then
      if id ~= server then attach(id) end
      return true
    end
    if l4.clock() >= deadline then return false end
    l4.sleep(50)
  end
end

local why = {[1] = "another client reads now", [2] = "unknown request"}

-- A call to the server; a failed one (the server died, or is being
-- replaced) is made again to the server found by name. With a timeout:
-- a killed server thread is parked, not gone, and never answers.
local OPTS = {timeout = 3000}
local function call(...)
  for _ = 1, 2 do
    local from, l, a, b = l4.call(server, OPTS, ...)
    if from then
      if l ~= 0 then error("console: " .. (why[l] or "error " .. l), 0) end
      return true, a, b
    end
    if not connect(3000) then return false, l end
  end
  return false, "the console does not answer"
end

local con = {}

-- At boot the prompt comes before the plan is up (init.lua's step 2c lets
-- the serial session draw it first); the first line typed waits until the
-- supervisor has started the plan's services (PLAN_UP in the root's
-- store), so that a command at the prompt finds them answering. Keys
-- before the Enter (editing, Ctrl-C) go on at once. 10 s at most: a plan
-- whose services do not come up must not keep the REPL away.
local PLAN_UP = require("service_proto").PLAN_UP
local plan_pending = l4.sys.store_get(PLAN_UP) == "starting"
local function wait_for_plan()
  local deadline = l4.clock() + 10000000
  while l4.sys.store_get(PLAN_UP) == "starting" and l4.clock() < deadline do l4.sleep(1) end
  plan_pending = false
end

-- The REPL's reads: half a second at a time, so that a server that
-- stopped answering (a killed thread never replies) is noticed and
-- replaced. A server's task that is deleted ends the read at once.
-- Between two turns a debugger that holds this thread is let in
-- (debug_door.lua: `debug repl.screen`); while one holds it the turns are
-- 50 ms. No key is lost by a turn: a line the server could not hand over
-- (this thread was between two READs, or stopped in the debugger) stays
-- queued there for the next READ.
local door = require "debug_door"
local READ_OPTS = {send = 3000, receive = door.TURN}
-- The collector of a long-lived root thread (rootgc.lua), set at the
-- first read: the shell's modules are loaded then, and the prompt drawn.
-- Set at the start, its pause of 110% ran a cycle at each tenth of growth
-- while they loaded.
local settled = false
function con:read(max)
  if not settled then settled = true; require("rootgc").settle() end
  while true do
    local from, l, s = l4.call(server, READ_OPTS, console.READ, max or console.READ_MAX)
    if from then
      if l ~= 0 then error("console: " .. (why[l] or "error " .. l), 0) end
      if plan_pending and s and s:find("[\r\n]") then wait_for_plan() end
      return s
    end
    READ_OPTS.receive = door.turn(door.knock())
    if not connect(10000) then error("console: " .. con_name .. " is not there", 0) end
  end
end

function con:write(s)
  s = tostring(s)
  for i = 1, #s, 49152 do
    local part = s:sub(i, i + 49151)
    if not call(console.WRITE, part) then
      io.stderr:write(part)     -- to the kernel's log: shown once a console is back
    end
  end
end

function con:edit(text, col)
  edit_line = {text, col or #text}
  call(console.EDIT, col or #text, text)
end

function con:done()
  edit_line = nil
  call(console.DONE)
end

function con:history()
  local ok, text = call(console.HIST_GET)
  hist = {}
  for l in (ok and text or ""):gmatch("[^\n]+") do hist[#hist + 1] = l end
  return {table.unpack(hist)}
end

function con:remember(line)
  line = tostring(line):gsub("\n", " ")
  if hist[#hist] ~= line then
    hist[#hist + 1] = line
    if #hist > console.HIST_MAX then table.remove(hist, 1) end
  end
  call(console.HIST_ADD, line)
end

function con:on_interrupt(id)
  call(console.INTR, id and id.raw or 0)
end

assert(connect(10000), "session: no console named " .. tostring(con_name))
local restarted = #con:history() > 0
con:write(("\nL4ua REPL on the %s console: Lua %s; `help` lists commands%s\n")
          :format(label or con_name, _VERSION:match("[%d.]+$"),
                  restarted and ("; history kept (%d lines)"):format(#hist) or ""))
-- make bench reads this (boot_to_prompt): the guest TSC just before the
-- first prompt; under icount, instructions since QEMU's reset
if label == "serial" then boot_tsc = l4.debug.rdtsc() end
-- Ctrl-C at an empty prompt stops the user's autorun while it runs
-- (scripts/autorun.lua says so, with the way back): what Ctrl-C does to
-- a board's main script. A chunk of this REPL is interrupted as before
-- (scripts/watch.lua); Ctrl-C with text on the line only drops the line.
local function interrupt_autorun()
  local id = require("names").lookup("autorun")
  if id and id.task == l4.self().task and l4.thread.status(id) == "running" then
    l4.thread.interrupt(id, ("interrupted@%d"):format(l4.clock()))
  end
end
require("repl").run(con, _G, {on_interrupt = interrupt_autorun})
